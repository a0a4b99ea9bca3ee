//! Per-employee history.

use serde_json::json;
use sync_store::{HistoryEntry, StoreError};

use crate::harness::{ACME, START, TestStore, id};

store_tests!(
    history_is_read_back_oldest_first,
    the_limit_keeps_the_newest_entries,
    history_entries_remember_their_run_and_time,
    history_is_kept_per_employee_and_tenant,
    history_cannot_point_at_another_tenants_run,
);

fn entry(kind: &str, step: u32) -> HistoryEntry {
    HistoryEntry {
        kind: kind.to_owned(),
        detail: json!({"step": step, "name": "Zoë Dvořák"}),
    }
}

async fn history_is_read_back_oldest_first(store: &TestStore) {
    let store = store.with_acme().await;
    let written = [
        entry("hr_change", 1),
        entry("plan", 2),
        entry("call", 3),
        entry("result", 4),
    ];
    for item in &written {
        store
            .append_history(ACME, &id("E-1"), None, item)
            .await
            .unwrap();
    }

    let history = store.history(ACME, &id("E-1"), 10).await.unwrap();

    let entries: Vec<_> = history.iter().map(|record| record.entry.clone()).collect();
    assert_eq!(entries, written);
    assert!(history.windows(2).all(|pair| pair[0].id < pair[1].id));
}

async fn the_limit_keeps_the_newest_entries(store: &TestStore) {
    let store = store.with_acme().await;
    for step in 1..=5 {
        store
            .append_history(ACME, &id("E-1"), None, &entry("call", step))
            .await
            .unwrap();
    }

    let history = store.history(ACME, &id("E-1"), 2).await.unwrap();

    let entries: Vec<_> = history.into_iter().map(|record| record.entry).collect();
    assert_eq!(entries, [entry("call", 4), entry("call", 5)]);
}

async fn history_entries_remember_their_run_and_time(store: &TestStore) {
    let store = store.with_acme().await;
    let run = store.start_run(ACME, "reconcile").await.unwrap();
    store
        .append_history(ACME, &id("E-1"), None, &entry("hr_change", 1))
        .await
        .unwrap();
    let later = store.at_minute(7);
    store
        .append_history(ACME, &id("E-1"), Some(run), &entry("plan", 2))
        .await
        .unwrap();

    let history = store.history(ACME, &id("E-1"), 10).await.unwrap();

    assert_eq!((history[0].run, history[0].at), (None, START));
    assert_eq!((history[1].run, history[1].at), (Some(run), later));
}

async fn history_is_kept_per_employee_and_tenant(store: &TestStore) {
    let store = store.with_acme().await;
    store.ensure_tenant("globex").await.unwrap();
    store
        .append_history(ACME, &id("E-1"), None, &entry("plan", 1))
        .await
        .unwrap();
    store
        .append_history(ACME, &id("E-2"), None, &entry("plan", 2))
        .await
        .unwrap();
    store
        .append_history("globex", &id("E-1"), None, &entry("plan", 3))
        .await
        .unwrap();

    let history = store.history(ACME, &id("E-1"), 10).await.unwrap();

    assert_eq!(history.len(), 1);
    assert_eq!(history[0].entry, entry("plan", 1));
    assert!(
        store
            .history(ACME, &id("E-3"), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn history_cannot_point_at_another_tenants_run(store: &TestStore) {
    let store = store.with_acme().await;
    store.ensure_tenant("globex").await.unwrap();
    let foreign = store.start_run("globex", "import").await.unwrap();

    let result = store
        .append_history(ACME, &id("E-1"), Some(foreign), &entry("plan", 1))
        .await;

    assert!(matches!(result, Err(StoreError::UnknownRun(run)) if run == foreign));
    assert!(
        store
            .history(ACME, &id("E-1"), 10)
            .await
            .unwrap()
            .is_empty()
    );
}
