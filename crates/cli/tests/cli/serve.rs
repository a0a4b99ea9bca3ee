//! `akiles-hr-sync serve` as a process: a change answered 202 survives a kill -9.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use akiles_emulator::{EmulatorConfig, FaultEffect, FaultRule, Faults, RunningEmulator};
use hr_domain::{Clock, SystemClock};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use sync_store::{Connection, ConnectionState, DataKey, SqliteStore, Store};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

struct Service {
    child: Child,
    base: String,
}

/// `serve` on port 0 with a store of its own, fast leases and polling.
fn serve_command(
    dir: &std::path::Path,
    database: &str,
    key: &str,
    emulator: &RunningEmulator,
) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_akiles-hr-sync"));
    command
        .args(["serve", "--listen", "127.0.0.1:0"])
        .current_dir(dir)
        .env("RUST_LOG", "warn")
        .env("AKILES_HR_SYNC__DATABASE", database)
        .env("AKILES_HR_SYNC__DATA_KEY", key)
        .env("AKILES_HR_SYNC__COOKIE_KEY", "y".repeat(88))
        .env("AKILES_HR_SYNC__AKILES__API_URL", emulator.base_url())
        .env("AKILES_HR_SYNC__WORKERS__LEASE_SECS", "1")
        .env("AKILES_HR_SYNC__WORKERS__POLL_INTERVAL_MS", "50")
        .env_remove("AKILES_HR_SYNC_DATA_KEY")
        .env_remove("AKILES_HR_SYNC_DATABASE");
    command
}

/// Starts `serve` on port 0 and reads the address it prints.
async fn start(
    dir: &std::path::Path,
    database: &str,
    key: &str,
    emulator: &RunningEmulator,
) -> Service {
    let mut child = serve_command(dir, database, key, emulator)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("the service prints its address")
        .unwrap()
        .unwrap();
    let base = line.rsplit(' ').next().unwrap().to_owned();
    Service { child, base }
}

async fn prepare(database: &str, key: &str, emulator: &RunningEmulator) -> String {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = SqliteStore::connect(database, DataKey::from_base64(key).unwrap(), clock)
        .await
        .unwrap();
    store.ensure_tenant("acme").await.unwrap();
    let settings = json!({"mapping": {"groups": {"Sales": ["Sales"]}}});
    store.save_tenant_settings("acme", &settings).await.unwrap();
    let connection = Connection {
        tenant: "acme".to_owned(),
        state: ConnectionState::Connected,
        organization_id: Some(emulator.default_org_id()),
        organization_name: None,
        access_token: Some(SecretString::from(emulator.api_key())),
        refresh_token: None,
        access_expires_at: None,
        scope: None,
        reason: None,
        revision: 0,
        updated_at: time::OffsetDateTime::UNIX_EPOCH,
    };
    store.save_connection(&connection).await.unwrap();
    let (_, secret) = store.create_api_key("acme", "crash test").await.unwrap();
    secret.expose_secret().to_owned()
}

fn live_members(emulator: &RunningEmulator, employee_id: &str) -> usize {
    emulator
        .members()
        .iter()
        .filter(|m| !m.is_deleted)
        .filter(|m| m.metadata.get("employee_id").map(String::as_str) == Some(employee_id))
        .count()
}

#[tokio::test]
async fn a_change_answered_202_is_applied_after_a_kill_and_restart() {
    let emulator = akiles_emulator::spawn(EmulatorConfig::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}?mode=rwc", dir.path().join("svc.db").display());
    let key = DataKey::generate().to_base64();
    let api_key = prepare(&database, &key, &emulator).await;
    emulator.set_faults(Faults {
        rules: vec![FaultRule {
            method: "POST".into(),
            path: "/v2/members".into(),
            nth: None,
            body_contains: None,
            effect: FaultEffect::Hang { hang_ms: 3_000 },
        }],
        ..Faults::default()
    });
    let mut service = start(dir.path(), &database, &key, &emulator).await;

    let response = reqwest::Client::new()
        .put(format!("{}/api/v1/employees/E-5001", service.base))
        .bearer_auth(&api_key)
        .json(&json!({"name": "Survives Crash", "groups": ["Sales"], "status": "active", "version": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::ACCEPTED);
    service.child.start_kill().unwrap();
    service.child.wait().await.unwrap();
    emulator.set_faults(Faults::default());

    let mut service = start(dir.path(), &database, &key, &emulator).await;

    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while live_members(&emulator, "E-5001") == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the change was lost"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A create cut off by the kill may still land; the lookup before create keeps it to one.
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    assert_eq!(live_members(&emulator, "E-5001"), 1);
    service.child.start_kill().unwrap();
    service.child.wait().await.unwrap();
}

#[tokio::test]
async fn a_second_service_on_the_same_database_refuses_to_start() {
    let emulator = akiles_emulator::spawn(EmulatorConfig::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}?mode=rwc", dir.path().join("svc.db").display());
    let key = DataKey::generate().to_base64();
    prepare(&database, &key, &emulator).await;
    let mut first = start(dir.path(), &database, &key, &emulator).await;

    let second = serve_command(dir.path(), &database, &key, &emulator)
        .output()
        .await
        .unwrap();

    assert_eq!(second.status.code(), Some(2), "{}", crate::text(&second));
    assert!(
        String::from_utf8_lossy(&second.stderr).contains("another `serve` is running"),
        "{}",
        crate::text(&second)
    );
    first.child.start_kill().unwrap();
    first.child.wait().await.unwrap();
}
