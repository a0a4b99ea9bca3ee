//! The acceptance run: the HR data set imported into the emulator.

use std::path::Path;

use akiles_emulator::{EmulatorConfig, RunningEmulator};

use crate::{example, run_cli, shared_data, text};

async fn import(
    emulator: &RunningEmulator,
    dir: &Path,
    file: &Path,
    extra: &[&str],
) -> std::process::Output {
    let url = emulator.base_url();
    let key = emulator.api_key();
    let config = example("hrdataset_v14.toml");
    let mut args = vec![
        "import",
        file.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
        "--akiles-url",
        &url,
        "--akiles-token",
        &key,
    ];
    args.extend_from_slice(extra);
    run_cli(dir, &args).await
}

/// The data set with one day of changes: 3 transfers, 2 leavers, 1 hire, 1 rename.
fn changed_dataset(path: &Path) {
    let mut reader = csv::Reader::from_path(shared_data("HRDataset_v14.csv")).unwrap();
    let headers = reader.headers().unwrap().clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim_start_matches('\u{feff}') == name)
            .unwrap()
    };
    let (id, name, dept, status, term) = (
        col("EmpID"),
        col("Employee_Name"),
        col("Department"),
        col("EmploymentStatus"),
        col("DateofTermination"),
    );
    let mut rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();

    let mut active: Vec<usize> = (0..rows.len())
        .filter(|&i| rows[i][status] == "Active" && rows[i][dept].trim() == "Production")
        .collect();
    active.truncate(6);
    for &i in &active[..3] {
        rows[i][dept] = "Sales".into();
    }
    for &i in &active[3..5] {
        rows[i][status] = "Voluntarily Terminated".into();
        rows[i][term] = "11/30/2026".into();
    }
    rows[active[5]][name] = "Renamed, Someone".into();
    let mut hire = rows[active[5]].clone();
    hire[id] = "10400".into();
    hire[name] = "Newcomer, Wilhelmina".into();
    rows.push(hire);

    let mut writer = csv::Writer::from_path(path).unwrap();
    writer.write_record(&headers).unwrap();
    for row in rows {
        writer.write_record(row).unwrap();
    }
    writer.flush().unwrap();
}

#[tokio::test]
async fn hr_dataset_import_creates_207_members_then_nothing_then_exactly_the_changes() {
    let emulator = akiles_emulator::spawn(EmulatorConfig::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let dataset = shared_data("HRDataset_v14.csv");

    let first = import(&emulator, dir.path(), &dataset, &[]).await;
    assert!(first.status.success(), "{}", text(&first));
    assert_eq!(emulator.write_calls(), 828, "{:?}", emulator.calls());
    let members: Vec<_> = emulator
        .members()
        .into_iter()
        .filter(|m| !m.is_deleted)
        .collect();
    assert_eq!(members.len(), 207);
    for member in &members {
        assert_eq!(member.metadata["managed_by"], "akiles-hr-sync");
        let live_assocs = member
            .group_associations
            .iter()
            .flatten()
            .filter(|a| !a.is_deleted);
        assert_eq!(live_assocs.count(), 2, "member {}", member.id);
        assert_eq!(
            member
                .pins
                .iter()
                .flatten()
                .filter(|p| !p.is_deleted)
                .count(),
            1
        );
    }

    emulator.reset_calls();
    let second = import(&emulator, dir.path(), &dataset, &[]).await;
    assert!(second.status.success(), "{}", text(&second));
    assert_eq!(emulator.write_calls(), 0, "{:?}", emulator.calls());

    let changed = dir.path().join("changed.csv");
    changed_dataset(&changed);
    emulator.reset_calls();
    let third = import(&emulator, dir.path(), &changed, &[]).await;
    assert!(third.status.success(), "{}", text(&third));
    let calls = emulator.calls();
    assert_eq!(emulator.write_calls(), 13, "{calls:?}");
    assert_eq!(
        calls["DELETE /v2/members/{member_id}/group_associations/{member_group_association_id}"],
        3
    );
    assert_eq!(calls["POST /v2/members/{member_id}/group_associations"], 5);
    assert_eq!(calls["DELETE /v2/members/{member_id}"], 2);
    assert_eq!(calls["POST /v2/members"], 1);
    assert_eq!(calls["POST /v2/members/{member_id}/pins"], 1);
    assert_eq!(calls["PATCH /v2/members/{member_id}"], 1);
}

#[tokio::test]
async fn dry_run_prints_the_plan_and_changes_nothing() {
    let emulator = akiles_emulator::spawn(EmulatorConfig::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();

    let output = import(
        &emulator,
        dir.path(),
        &shared_data("HRDataset_v14.csv"),
        &["--dry-run", "-v"],
    )
    .await;

    assert!(output.status.success(), "{}", text(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains(
        "create member: 207, create association: 414, create PIN: 207 (828 write calls)"
    ));
    assert!(
        stdout.contains("  10026:\n    - create member\n"),
        "{stdout}"
    );
    assert!(stdout.contains("Dry run: nothing was changed."));
    assert_eq!(emulator.write_calls(), 0);
}

#[tokio::test]
async fn a_file_with_bad_rows_is_refused_whole_with_every_line_named() {
    let emulator = akiles_emulator::spawn(EmulatorConfig::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let text_in = std::fs::read_to_string(shared_data("HRDataset_v14.csv")).unwrap();
    let mut lines: Vec<String> = text_in.lines().map(str::to_owned).collect();
    lines[2] = lines[2].replacen(",10084,", ",,", 1);
    lines[1] = lines[1].replace("7/5/2011", "7/35/2011");
    lines[7] = lines[7].rsplitn(3, ',').nth(2).unwrap().to_owned();
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, lines.join("\r\n")).unwrap();

    let output = import(&emulator, dir.path(), &bad, &[]).await;

    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("3 problem(s) in 3 row(s); nothing was imported"),
        "{stderr}"
    );
    assert!(
        stderr.contains("line 3: column \"EmpID\": employee id is empty"),
        "{stderr}"
    );
    assert!(
        stderr.contains("line 2: column \"DateofHire\": \"7/35/2011\" is not a date"),
        "{stderr}"
    );
    assert!(
        stderr.contains("line 8: has 34 fields, the header has 36"),
        "{stderr}"
    );
    assert_eq!(emulator.write_calls(), 0);
    assert!(
        emulator.calls().is_empty(),
        "not even a read: {:?}",
        emulator.calls()
    );
}

#[tokio::test]
async fn a_header_only_export_deletes_nobody() {
    let emulator = akiles_emulator::spawn(EmulatorConfig::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let first = import(
        &emulator,
        dir.path(),
        &shared_data("HRDataset_v14.csv"),
        &[],
    )
    .await;
    assert!(first.status.success(), "{}", text(&first));
    let header = std::fs::read_to_string(shared_data("HRDataset_v14.csv")).unwrap();
    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, header.lines().next().unwrap()).unwrap();
    emulator.reset_calls();

    let output = import(&emulator, dir.path(), &empty, &[]).await;

    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(
        String::from_utf8_lossy(&output.stdout)
            .contains("Refused: the snapshot holds no employees")
    );
    assert_eq!(emulator.write_calls(), 0);
    assert_eq!(
        emulator.members().iter().filter(|m| !m.is_deleted).count(),
        207
    );
}

#[tokio::test]
async fn a_second_import_of_the_same_tenant_waits_its_turn_instead_of_racing() {
    let emulator = akiles_emulator::spawn(EmulatorConfig::default())
        .await
        .unwrap();
    emulator.set_faults(akiles_emulator::Faults {
        latency_ms: 15,
        ..akiles_emulator::Faults::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let dataset = shared_data("HRDataset_v14.csv");
    let first = tokio::spawn({
        let (dir, dataset) = (dir.path().to_owned(), dataset.clone());
        let emulator_url = emulator.base_url();
        let key = emulator.api_key();
        async move {
            let config = example("hrdataset_v14.toml");
            let args = [
                "import",
                dataset.to_str().unwrap(),
                "--config",
                config.to_str().unwrap(),
                "--akiles-url",
                &emulator_url,
                "--akiles-token",
                &key,
            ];
            run_cli(&dir, &args).await
        }
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while emulator
        .calls()
        .get("POST /v2/members")
        .copied()
        .unwrap_or(0)
        == 0
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the first import never started writing"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    let second = import(&emulator, dir.path(), &dataset, &[]).await;

    assert_eq!(second.status.code(), Some(2), "{}", text(&second));
    assert!(String::from_utf8_lossy(&second.stderr).contains("another sync run for tenant"));
    let first = first.await.unwrap();
    assert!(first.status.success(), "{}", text(&first));
    let live = emulator
        .members()
        .into_iter()
        .filter(|m| !m.is_deleted)
        .count();
    assert_eq!(live, 207, "one member per active employee, no duplicates");
}
