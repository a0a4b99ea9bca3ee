//! `akiles-hr-sync reconcile --tenant T`: a tenant of the service, reconciled through its
//! stored connection with the service's settings from the environment.

use std::collections::BTreeSet;
use std::process::Output;
use std::sync::Arc;

use akiles_emulator::{EmulatorConfig, RunningEmulator};
use hr_domain::{Clock, Employee, EmployeeId, EmploymentStatus, HrGroup, PersonName, SystemClock};
use secrecy::SecretString;
use serde_json::json;
use sync_store::{Connection, ConnectionState, DataKey, SqliteStore, Store};

use crate::text;

/// A service store with tenant `acme`, connected to the emulator, and two employees.
async fn prepare(database: &str, key: &str, emulator: &RunningEmulator) {
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
    for id in ["E-1", "E-2"] {
        let employee = Employee {
            id: EmployeeId::parse(id).unwrap(),
            name: PersonName::parse("Some One").unwrap(),
            email: None,
            groups: BTreeSet::from([HrGroup::parse("Sales").unwrap()]),
            status: EmploymentStatus::Active,
            start_date: None,
            end_date: None,
            card: None,
            attributes: Vec::new(),
        };
        store.put_employee("acme", &employee, 1).await.unwrap();
    }
}

async fn reconcile(dir: &std::path::Path, env: &[(&str, String)], args: &[&str]) -> Output {
    let mut all = vec!["reconcile"];
    all.extend_from_slice(args);
    cli(dir, env, &all).await
}

#[tokio::test]
async fn a_tenant_of_the_service_is_reconciled_through_its_connection() {
    let emulator = akiles_emulator::spawn(EmulatorConfig::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}?mode=rwc", dir.path().join("s.db").display());
    let key = DataKey::generate().to_base64();
    prepare(&database, &key, &emulator).await;
    let env = [
        ("AKILES_HR_SYNC__DATABASE", database.clone()),
        ("AKILES_HR_SYNC__DATA_KEY", key.clone()),
        ("AKILES_HR_SYNC__COOKIE_KEY", "y".repeat(88)),
        ("AKILES_HR_SYNC__AKILES__API_URL", emulator.base_url()),
    ];

    let dry = reconcile(dir.path(), &env, &["--tenant", "acme", "--dry-run"]).await;
    let writes_after_dry_run = emulator.write_calls();
    let applied = reconcile(dir.path(), &env, &["--tenant", "acme"]).await;
    let unknown = reconcile(dir.path(), &env, &["--tenant", "nobody"]).await;

    assert_eq!(dry.status.code(), Some(0), "{}", text(&dry));
    assert!(text(&dry).contains("create member: 2"), "{}", text(&dry));
    assert_eq!(writes_after_dry_run, 0);
    assert_eq!(applied.status.code(), Some(0), "{}", text(&applied));
    assert!(
        text(&applied).contains("Applied: create member: 2"),
        "{}",
        text(&applied)
    );
    for id in ["E-1", "E-2"] {
        let owned = emulator
            .members()
            .into_iter()
            .filter(|m| !m.is_deleted)
            .filter(|m| m.metadata.get("employee_id").map(String::as_str) == Some(id))
            .count();
        assert_eq!(owned, 1, "{id}");
    }
    assert_eq!(unknown.status.code(), Some(2), "{}", text(&unknown));
}

async fn cli(dir: &std::path::Path, env: &[(&str, String)], args: &[&str]) -> Output {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_akiles-hr-sync"));
    command
        .args(args)
        .current_dir(dir)
        .env("RUST_LOG", "warn")
        .env_remove("AKILES_HR_SYNC_DATA_KEY")
        .env_remove("AKILES_HR_SYNC_DATABASE");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().await.expect("the binary runs")
}

#[tokio::test]
async fn held_deletions_of_a_service_tenant_are_listed_and_approved_from_the_cli() {
    let emulator = akiles_emulator::spawn(EmulatorConfig::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}?mode=rwc", dir.path().join("s.db").display());
    let key = DataKey::generate().to_base64();
    prepare(&database, &key, &emulator).await;
    let env = [
        ("AKILES_HR_SYNC__DATABASE", database.clone()),
        ("AKILES_HR_SYNC__DATA_KEY", key.clone()),
        ("AKILES_HR_SYNC__COOKIE_KEY", "y".repeat(88)),
        ("AKILES_HR_SYNC__AKILES__API_URL", emulator.base_url()),
    ];
    let open = || async {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        SqliteStore::connect(&database, DataKey::from_base64(&key).unwrap(), clock)
            .await
            .unwrap()
    };
    {
        let store = open().await;
        let first = EmployeeId::parse("E-1").unwrap();
        let mut third = store
            .employee("acme", &first)
            .await
            .unwrap()
            .unwrap()
            .employee;
        third.id = EmployeeId::parse("E-3").unwrap();
        store.put_employee("acme", &third, 1).await.unwrap();
    }
    let applied = reconcile(dir.path(), &env, &["--tenant", "acme"]).await;
    assert_eq!(applied.status.code(), Some(0), "{}", text(&applied));
    {
        let store = open().await;
        for id in ["E-1", "E-2"] {
            let id = EmployeeId::parse(id).unwrap();
            store.remove_employee("acme", &id, 2).await.unwrap();
        }
    }

    let held = reconcile(dir.path(), &env, &["--tenant", "acme"]).await;
    let listed = cli(dir.path(), &env, &["deletions", "list", "--tenant", "acme"]).await;
    let approved = cli(
        dir.path(),
        &env,
        &["deletions", "approve", "--tenant", "acme"],
    )
    .await;

    assert_eq!(held.status.code(), Some(1), "{}", text(&held));
    assert!(
        text(&held).contains("Held for approval: 2"),
        "{}",
        text(&held)
    );
    assert_eq!(listed.status.code(), Some(0), "{}", text(&listed));
    assert!(
        text(&listed).contains("2 held deletion(s)"),
        "{}",
        text(&listed)
    );
    assert_eq!(approved.status.code(), Some(0), "{}", text(&approved));
    assert!(
        text(&approved).contains("Approved 2"),
        "{}",
        text(&approved)
    );
    let jobs = open().await.jobs(Some("acme"), None, 10).await.unwrap();
    assert!(
        jobs.iter()
            .any(|j| j.kind == sync_store::JobKind::SyncTenant),
        "the approval queued the service's reconcile"
    );
    assert_eq!(
        emulator.members().iter().filter(|m| !m.is_deleted).count(),
        3,
        "nothing deleted yet"
    );
}
