//! Checks that look inside the SQLite file: sealing at rest, the data key, the write lock.

use std::sync::Arc;

use serde_json::json;
use sqlx::Row;
use sync_store::{
    DataKey, HistoryEntry, MemberLink, OwnedObjects, PutOutcome, Store, StoreError, SyncState,
};
use tokio::task::JoinSet;

use crate::harness::{ACME, EMAIL, NAME, START, SqliteFile, employee, id};

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
