//! Issue 4's acceptance run: drift repaired by `reconcile`, and the deletion guard on
//! broken exports of the HR data set.

use std::path::Path;
use std::sync::Arc;

use akiles_client::{Client, ClientConfig, StaticToken};
use akiles_emulator::{EmulatorConfig, RunningEmulator};
use akiles_types::{Metadata, NewGroupAssociation};

use crate::{example, run_cli, shared_data, text};

const DELETE_MEMBER: &str = "DELETE /v2/members/{member_id}";

/// Runs `command [file] --config examples/hrdataset_v14.toml` against `emulator`.
async fn cli(
    emulator: &RunningEmulator,
    dir: &Path,
    command: &[&str],
) -> (std::process::Output, String) {
    let url = emulator.base_url();
    let key = emulator.api_key();
    let config = example("hrdataset_v14.toml");
    let mut args = command.to_vec();
    args.extend([
        "--config",
        config.to_str().unwrap(),
        "--akiles-url",
        &url,
        "--akiles-token",
        &key,
    ]);
    let output = run_cli(dir, &args).await;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    (output, stdout)
}

/// Runs `deletions …` on the tenant of examples/hrdataset_v14.toml (no Akiles needed).
async fn deletions(dir: &Path, action: &[&str]) -> (std::process::Output, String) {
    let config = example("hrdataset_v14.toml");
    let mut args = vec!["deletions"];
    args.extend_from_slice(action);
    args.extend(["--config", config.to_str().unwrap()]);
    let output = run_cli(dir, &args).await;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    (output, stdout)
}

fn hand_client(emulator: &RunningEmulator) -> Client {
    let url = url::Url::parse(&emulator.base_url()).unwrap();
    Client::new(
        ClientConfig::new(url),
        Arc::new(StaticToken::new(emulator.api_key())),
    )
    .unwrap()
}

fn live_owned(emulator: &RunningEmulator) -> Vec<akiles_types::Member> {
    emulator
        .members()
        .into_iter()
        .filter(|m| !m.is_deleted && m.metadata.contains_key("managed_by"))
        .collect()
}

/// The data set with only the header, or with `share` of its active rows left out.
fn trimmed_dataset(path: &Path, keep_rows: bool, drop_percent: usize) -> usize {
    let mut reader = csv::Reader::from_path(shared_data("HRDataset_v14.csv")).unwrap();
    let headers = reader.headers().unwrap().clone();
    let status = headers
        .iter()
        .position(|h| h == "EmploymentStatus")
        .unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let active = rows.iter().filter(|r| &r[status] == "Active").count();
    let drop = active * drop_percent / 100;
    let mut writer = csv::Writer::from_path(path).unwrap();
    writer.write_record(&headers).unwrap();
    let mut dropped = 0;
    for row in rows.iter().filter(|_| keep_rows) {
        if &row[status] == "Active" && dropped < drop {
            dropped += 1;
            continue;
        }
        writer.write_record(row).unwrap();
    }
    writer.flush().unwrap();
    dropped
}

#[tokio::test]
async fn reconcile_recreates_a_deleted_member_and_leaves_an_unowned_association() {
    let emulator = akiles_emulator::spawn(EmulatorConfig::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let dataset = shared_data("HRDataset_v14.csv");
    let (first, _) = cli(
        &emulator,
        dir.path(),
        &["import", dataset.to_str().unwrap()],
    )
    .await;
    assert!(first.status.success(), "{}", text(&first));

    let client = hand_client(&emulator);
    let members = live_owned(&emulator);
    let (gone, other) = (&members[0], &members[1]);
    client.delete_member(&gone.id).await.unwrap();
    let by_hand = NewGroupAssociation {
        member_group_id: emulator.member_group_id("Sales").unwrap(),
        starts_at: None,
        ends_at: None,
        metadata: Metadata::new(),
    };
    let unowned = client
        .create_group_association(&other.id, &by_hand)
        .await
        .unwrap();
    emulator.reset_calls();

    let (output, stdout) = cli(&emulator, dir.path(), &["reconcile"]).await;

    assert!(output.status.success(), "{}", text(&output));
    let calls = emulator.calls();
    assert_eq!(calls["POST /v2/members"], 1, "{calls:?}");
    assert_eq!(calls["POST /v2/members/{member_id}/group_associations"], 2);
    assert_eq!(calls["POST /v2/members/{member_id}/pins"], 1);
    assert_eq!(emulator.write_calls(), 4, "{calls:?}");
    assert!(stdout.contains("create member: 1"), "{stdout}");
    let still = emulator
        .members()
        .into_iter()
        .find(|m| m.id == other.id)
        .unwrap();
    let kept = still
        .group_associations
        .iter()
        .flatten()
        .any(|a| a.id == unowned.id && !a.is_deleted);
    assert!(kept, "the unowned association is left alone");
    assert_eq!(live_owned(&emulator).len(), 207);

    emulator.reset_calls();
    let (again, _) = cli(&emulator, dir.path(), &["reconcile"]).await;
    assert!(again.status.success(), "{}", text(&again));
    assert_eq!(emulator.write_calls(), 0, "{:?}", emulator.calls());
}

#[tokio::test]
async fn a_header_only_export_deletes_nothing_and_says_why() {
    let emulator = akiles_emulator::spawn(EmulatorConfig::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let dataset = shared_data("HRDataset_v14.csv");
    let (first, _) = cli(
        &emulator,
        dir.path(),
        &["import", dataset.to_str().unwrap()],
    )
    .await;
    assert!(first.status.success(), "{}", text(&first));
    let empty = dir.path().join("empty.csv");
    trimmed_dataset(&empty, false, 0);
    emulator.reset_calls();

    let (output, stdout) = cli(&emulator, dir.path(), &["import", empty.to_str().unwrap()]).await;

    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert_eq!(emulator.write_calls(), 0);
    assert!(
        stdout.contains("Refused: the snapshot holds no employees"),
        "{}",
        text(&output)
    );
    assert_eq!(live_owned(&emulator).len(), 207);
}

#[tokio::test]
async fn forty_percent_of_active_rows_missing_holds_the_deletions_for_approval() {
    let emulator = akiles_emulator::spawn(EmulatorConfig::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let dataset = shared_data("HRDataset_v14.csv");
    let (first, _) = cli(
        &emulator,
        dir.path(),
        &["import", dataset.to_str().unwrap()],
    )
    .await;
    assert!(first.status.success(), "{}", text(&first));
    let partial = dir.path().join("partial.csv");
    let dropped = trimmed_dataset(&partial, true, 40);
    emulator.reset_calls();

    let (output, stdout) = cli(
        &emulator,
        dir.path(),
        &["import", partial.to_str().unwrap()],
    )
    .await;

    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert_eq!(
        emulator.calls().get(DELETE_MEMBER),
        None,
        "{}",
        text(&output)
    );
    assert!(
        stdout.contains(&format!("Held for approval: {dropped} member deletion(s)")),
        "{}",
        text(&output)
    );
    let (listed, list) = deletions(dir.path(), &["list"]).await;
    assert!(listed.status.success(), "{}", text(&listed));
    assert!(
        list.contains(&format!("{dropped} held deletion(s)")),
        "{list}"
    );
    let (typo, _) = deletions(dir.path(), &["approve", "--employee", "99999"]).await;
    assert_eq!(typo.status.code(), Some(2), "{}", text(&typo));
    assert!(
        String::from_utf8_lossy(&typo.stderr).contains("no held deletion for employee(s) 99999"),
        "{}",
        text(&typo)
    );
    assert_eq!(
        list_closed_early(dir.path()).await.code(),
        Some(0),
        "a reader that goes away is not a crash"
    );

    let (approved, _) = deletions(dir.path(), &["approve"]).await;
    assert!(approved.status.success(), "{}", text(&approved));
    let (reconciled, _) = cli(&emulator, dir.path(), &["reconcile"]).await;
    assert!(reconciled.status.success(), "{}", text(&reconciled));
    assert_eq!(emulator.calls()[DELETE_MEMBER], dropped as u64);
    assert_eq!(live_owned(&emulator).len(), 207 - dropped);
}

/// `deletions list` with its stdout closed before it writes (as `| head -0` does).
async fn list_closed_early(dir: &Path) -> std::process::ExitStatus {
    let database = format!("sqlite://{}?mode=rwc", dir.join("test.db").display());
    let config = example("hrdataset_v14.toml");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_akiles-hr-sync"))
        .args(["deletions", "list", "--config", config.to_str().unwrap()])
        .current_dir(dir)
        .env("AKILES_HR_SYNC_DATABASE", database)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    child.wait().await.unwrap()
}

#[tokio::test]
async fn plan_previews_a_settings_change_without_changing_anything() {
    let emulator = akiles_emulator::spawn(EmulatorConfig::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let dataset = shared_data("HRDataset_v14.csv");
    let (first, _) = cli(
        &emulator,
        dir.path(),
        &["import", dataset.to_str().unwrap()],
    )
    .await;
    assert!(first.status.success(), "{}", text(&first));
    emulator.reset_calls();

    let (output, stdout) = cli(&emulator, dir.path(), &["plan", dataset.to_str().unwrap()]).await;

    assert!(output.status.success(), "{}", text(&output));
    assert_eq!(emulator.write_calls(), 0);
    assert!(stdout.contains("0 members created"), "{stdout}");
    assert!(stdout.contains("0 deletions"), "{stdout}");

    let config = example("hrdataset_v14.toml");
    let unreachable = run_cli(
        dir.path(),
        &[
            "plan",
            "--config",
            config.to_str().unwrap(),
            "--akiles-url",
            "http://127.0.0.1:9/v2",
            "--akiles-token",
            "k",
        ],
    )
    .await;
    assert_eq!(unreachable.status.code(), Some(1), "{}", text(&unreachable));
    assert!(
        String::from_utf8_lossy(&unreachable.stderr).contains("hint: check the Akiles URL"),
        "{}",
        text(&unreachable)
    );
}
