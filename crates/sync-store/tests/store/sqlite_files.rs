//! Checks that look inside the SQLite file: sealing at rest, the data key, the write lock.

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use sqlx::Row;
use sync_store::{
    Connection, ConnectionState, DataKey, HistoryEntry, JobKind, MemberLink, OwnedObjects,
    PutOutcome, Store, StoreError, SyncState,
};
use tokio::task::JoinSet;

use crate::harness::{ACME, EMAIL, NAME, START, SqliteFile, employee, id};

const LEASE: std::time::Duration = std::time::Duration::from_secs(60);

const LINK_ERROR: &str = "member link failure marker 7f3a";

/// Writes one employee, a history entry and a link error: every sealed column once.
async fn write_personal_data(store: &dyn Store) {
    store.ensure_tenant(ACME).await.unwrap();
    store
        .put_employee(ACME, &employee("E-1007"), 1)
        .await
        .unwrap();
    let detail = json!({"before": null, "after": {"name": NAME, "email": EMAIL}});
    let entry = HistoryEntry {
        kind: "hr_change".into(),
        detail,
    };
    store
        .append_history(ACME, &id("E-1007"), None, &entry)
        .await
        .unwrap();
    let link = MemberLink {
        employee_id: id("E-1007"),
        member_id: Some("mem_1".into()),
        owned: OwnedObjects::default(),
        state: SyncState::Failed,
        last_error: Some(LINK_ERROR.into()),
        updated_at: START,
    };
    store.save_link(ACME, &link).await.unwrap();
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

#[tokio::test]
async fn personal_data_is_sealed_at_rest() {
    let file = SqliteFile::new();
    let store = file.open().await;
    write_personal_data(&store).await;
    store.close().await;

    let raw = sqlx::SqlitePool::connect(&file.url()).await.unwrap();
    let mut sealed: Vec<Vec<u8>> = Vec::new();
    for row in sqlx::query("SELECT record FROM employees")
        .fetch_all(&raw)
        .await
        .unwrap()
    {
        sealed.push(row.get("record"));
    }
    for row in sqlx::query("SELECT detail FROM employee_history")
        .fetch_all(&raw)
        .await
        .unwrap()
    {
        sealed.push(row.get("detail"));
    }
    for row in sqlx::query("SELECT last_error FROM member_links")
        .fetch_all(&raw)
        .await
        .unwrap()
    {
        sealed.push(row.get("last_error"));
    }
    raw.close().await;

    assert_eq!(sealed.len(), 3);
    for value in &sealed {
        assert_eq!(value[0], 1, "format byte");
        for needle in [NAME, EMAIL, "Dvořák", LINK_ERROR] {
            assert!(
                !contains(value, needle),
                "{needle:?} readable in a sealed column"
            );
        }
    }
    let mut on_disk = std::fs::read(file.path()).unwrap();
    if let Ok(wal) = std::fs::read(format!("{}-wal", file.path().display())) {
        on_disk.extend(wal);
    }
    assert!(contains(&on_disk, "E-1007"), "the scan sees unsealed ids");
    for needle in [NAME, EMAIL, "Dvořák", LINK_ERROR] {
        assert!(
            !contains(&on_disk, needle),
            "{needle:?} readable in the database files"
        );
    }
}

#[tokio::test]
async fn another_data_key_cannot_read_sealed_data() {
    let file = SqliteFile::new();
    let store = file.open().await;
    write_personal_data(&store).await;
    store.close().await;

    let wrong = file.open_with(DataKey::generate()).await;

    assert!(
        wrong.tenant(ACME).await.unwrap().is_some(),
        "tenants are not sealed"
    );
    let results = [
        wrong.employee(ACME, &id("E-1007")).await.err(),
        wrong.employees(ACME).await.err(),
        wrong.history(ACME, &id("E-1007"), 10).await.err(),
        wrong.link(ACME, &id("E-1007")).await.err(),
        wrong.put_employee(ACME, &employee("E-1007"), 2).await.err(),
    ];
    for (index, result) in results.into_iter().enumerate() {
        assert!(
            matches!(result, Some(StoreError::Decrypt { .. })),
            "call {index} gave {result:?}"
        );
    }
}

#[tokio::test]
async fn a_reopened_file_keeps_its_data() {
    let file = SqliteFile::new();
    let store = file.open().await;
    write_personal_data(&store).await;
    store.close().await;

    let reopened = file.open().await;

    let stored = reopened
        .employee(ACME, &id("E-1007"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.employee, employee("E-1007"));
    let link = reopened.link(ACME, &id("E-1007")).await.unwrap().unwrap();
    assert_eq!(link.last_error.as_deref(), Some(LINK_ERROR));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_puts_from_many_tasks_all_succeed() {
    let file = SqliteFile::new();
    let store = Arc::new(file.open().await);
    store.ensure_tenant(ACME).await.unwrap();

    let mut tasks = JoinSet::new();
    for task in 0..8_i64 {
        let store = store.clone();
        tasks.spawn(async move {
            for n in 0..20_i64 {
                let own = employee(&format!("E-{task}-{n}"));
                store.put_employee(ACME, &own, 1).await?;
                store
                    .put_employee(ACME, &employee("E-shared"), task * 100 + n)
                    .await?;
            }
            Ok::<_, StoreError>(())
        });
    }
    let results = tasks.join_all().await;

    for result in results {
        result.unwrap();
    }
    assert_eq!(store.employees(ACME).await.unwrap().len(), 8 * 20 + 1);
    let shared = store
        .employee(ACME, &id("E-shared"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(shared.version, 7 * 100 + 19);
    let again = store
        .put_employee(ACME, &employee("E-shared"), 719)
        .await
        .unwrap();
    assert_eq!(again, PutOutcome::Stale);
}

/// The database file and its write-ahead log, as bytes.
fn files_on_disk(file: &SqliteFile) -> Vec<u8> {
    let mut bytes = std::fs::read(file.path()).unwrap();
    if let Ok(wal) = std::fs::read(format!("{}-wal", file.path().display())) {
        bytes.extend(wal);
    }
    bytes
}

const ACCESS_TOKEN: &str = "access-token-marker-51c9";
const REFRESH_TOKEN: &str = "refresh-token-marker-0d2e";
const SIGNING_SECRET: &str = "signing-secret-marker-77aa";
const VERIFIER: &str = "pkce-verifier-marker-9b41";
const OAUTH_STATE: &str = "oauth-state-marker-3f10";
const JOB_ERROR: &str = "job-error-marker-e5c2";

#[tokio::test]
async fn secrets_are_hashed_or_sealed_at_rest() {
    let file = SqliteFile::new();
    let store = file.open().await;
    store.ensure_tenant(ACME).await.unwrap();
    let (_, api_secret) = store.create_api_key(ACME, "payroll").await.unwrap();
    let signing = SecretString::from(SIGNING_SECRET);
    store
        .set_signing_secret(ACME, Some(&signing))
        .await
        .unwrap();
    let connection = Connection {
        tenant: ACME.into(),
        state: ConnectionState::Connected,
        organization_id: Some("org_1".into()),
        organization_name: None,
        access_token: Some(SecretString::from(ACCESS_TOKEN)),
        refresh_token: Some(SecretString::from(REFRESH_TOKEN)),
        access_expires_at: None,
        scope: None,
        reason: None,
        revision: 0,
        updated_at: START,
    };
    store.save_connection(&connection).await.unwrap();
    let verifier = SecretString::from(VERIFIER);
    let expires = START + time::Duration::minutes(10);
    store
        .save_oauth_state(OAUTH_STATE, ACME, &verifier, expires)
        .await
        .unwrap();
    store
        .enqueue(ACME, JobKind::SyncEmployee, Some(&id("E-1")))
        .await
        .unwrap();
    let job = store.claim_job("w1", LEASE).await.unwrap().unwrap();
    store.fail_job(job.id, "w1", JOB_ERROR).await.unwrap();
    store.close().await;

    let on_disk = files_on_disk(&file);

    assert!(contains(&on_disk, "org_1"), "the scan sees unsealed values");
    let api_secret = api_secret.expose_secret();
    let secret_body = &api_secret[sync_store::ApiKey::PREFIX_LEN..];
    for needle in [
        api_secret,
        secret_body,
        SIGNING_SECRET,
        ACCESS_TOKEN,
        REFRESH_TOKEN,
        VERIFIER,
        OAUTH_STATE,
        JOB_ERROR,
    ] {
        assert!(
            !contains(&on_disk, needle),
            "{needle:?} readable in the database files"
        );
    }
    let reopened = file.open().await;
    let connection = reopened.connection(ACME).await.unwrap().unwrap();
    assert_eq!(
        connection.refresh_token.unwrap().expose_secret(),
        REFRESH_TOKEN
    );
    let failed = reopened.jobs(Some(ACME), None, 10).await.unwrap();
    assert_eq!(failed[0].last_error.as_deref(), Some(JOB_ERROR));
    let taken = reopened.take_oauth_state(OAUTH_STATE).await.unwrap();
    assert_eq!(taken.unwrap().1.expose_secret(), VERIFIER);
}

#[tokio::test]
async fn a_token_moved_to_another_tenant_does_not_open() {
    let file = SqliteFile::new();
    let store = file.open().await;
    for tenant in [ACME, "globex"] {
        store.ensure_tenant(tenant).await.unwrap();
        let connection = Connection {
            tenant: tenant.into(),
            state: ConnectionState::Connected,
            organization_id: None,
            organization_name: None,
            access_token: Some(SecretString::from(ACCESS_TOKEN)),
            refresh_token: None,
            access_expires_at: None,
            scope: None,
            reason: None,
            revision: 0,
            updated_at: START,
        };
        store.save_connection(&connection).await.unwrap();
    }
    store.close().await;

    let raw = sqlx::SqlitePool::connect(&file.url()).await.unwrap();
    sqlx::query(
        "UPDATE connections SET access_token = \
         (SELECT access_token FROM connections WHERE tenant = 'globex') WHERE tenant = 'acme'",
    )
    .execute(&raw)
    .await
    .unwrap();
    raw.close().await;
    let reopened = file.open().await;

    let result = reopened.connection(ACME).await;

    assert!(
        matches!(result, Err(StoreError::Decrypt { .. })),
        "{result:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claimers_get_disjoint_jobs() {
    let file = SqliteFile::new();
    let store = Arc::new(file.open().await);
    store.ensure_tenant(ACME).await.unwrap();
    for n in 0..40 {
        let employee = employee(&format!("E-{n}"));
        store
            .put_employee_and_enqueue(ACME, &employee, 1)
            .await
            .unwrap();
    }

    let mut tasks = JoinSet::new();
    for worker in 0..4 {
        let store = store.clone();
        tasks.spawn(async move {
            let name = format!("w{worker}");
            let mut done = Vec::new();
            while let Some(job) = store.claim_job(&name, LEASE).await? {
                store.complete_job(job.id, &name).await?;
                done.push(job.id);
            }
            Ok::<_, StoreError>(done)
        });
    }
    let results = tasks.join_all().await;

    let mut all: Vec<_> = results
        .into_iter()
        .flat_map(|result| result.unwrap())
        .collect();
    let claimed = all.len();
    all.sort();
    all.dedup();
    assert_eq!(claimed, 40, "every job claimed once");
    assert_eq!(all.len(), 40, "no job claimed twice");
    assert!(store.jobs(None, None, 100).await.unwrap().is_empty());
}

#[tokio::test]
async fn several_processes_opening_a_new_database_at_once_all_succeed() {
    let file = SqliteFile::new();
    let mut opening = JoinSet::new();
    for _ in 0..4 {
        let (url, clock) = (file.url(), file.clock.clone());
        opening.spawn(async move {
            sync_store::SqliteStore::connect(&url, DataKey::generate(), clock).await
        });
    }

    while let Some(opened) = opening.join_next().await {
        let store = opened.unwrap().expect("every opener gets a migrated store");
        store.ensure_tenant(ACME).await.unwrap();
    }
}
