//! Sync runs: opening, closing and listing.

use serde_json::json;
use sync_store::{RunId, StoreError};

use crate::harness::{ACME, START, TestStore};

store_tests!(
    a_started_run_is_open_with_an_empty_summary,
    finishing_a_run_records_its_end_and_summary,
    runs_are_listed_newest_first_up_to_the_limit,
    runs_of_another_tenant_are_not_listed,
    finishing_a_run_that_does_not_exist_fails,
    one_run_lock_per_tenant_until_released_or_expired,
    one_service_per_database_until_released_or_expired,
);

async fn a_started_run_is_open_with_an_empty_summary(store: &TestStore) {
    let store = store.with_acme().await;

    let run = store.start_run(ACME, "import").await.unwrap();

    let runs = store.runs(ACME, 10).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].id, run);
    assert_eq!(runs[0].tenant, ACME);
    assert_eq!(runs[0].kind, "import");
    assert_eq!(runs[0].started_at, START);
    assert_eq!(runs[0].finished_at, None);
    assert_eq!(runs[0].summary, json!({}));
}

async fn finishing_a_run_records_its_end_and_summary(store: &TestStore) {
    let store = store.with_acme().await;
    let run = store.start_run(ACME, "reconcile").await.unwrap();
    let end = store.at_minute(2);
    let summary = json!({"created": 3, "deleted": 0, "failed": 1});

    store.finish_run(run, &summary).await.unwrap();

    let runs = store.runs(ACME, 10).await.unwrap();
    assert_eq!(runs[0].finished_at, Some(end));
    assert_eq!(runs[0].summary, summary);
}

async fn runs_are_listed_newest_first_up_to_the_limit(store: &TestStore) {
    let store = store.with_acme().await;
    let mut started = Vec::new();
    for minute in 0..4 {
        store.at_minute(minute);
        started.push(store.start_run(ACME, "push").await.unwrap());
    }

    let runs = store.runs(ACME, 3).await.unwrap();

    let ids: Vec<RunId> = runs.iter().map(|run| run.id).collect();
    assert_eq!(ids, [started[3], started[2], started[1]]);
}

async fn runs_of_another_tenant_are_not_listed(store: &TestStore) {
    let store = store.with_acme().await;
    store.ensure_tenant("globex").await.unwrap();
    store.start_run("globex", "import").await.unwrap();

    assert!(store.runs(ACME, 10).await.unwrap().is_empty());
}

async fn finishing_a_run_that_does_not_exist_fails(store: &TestStore) {
    let store = store.with_acme().await;
    let run = store.start_run(ACME, "import").await.unwrap();
    let missing = RunId(run.0 + 1000);

    let result = store.finish_run(missing, &json!({})).await;

    assert!(matches!(result, Err(StoreError::UnknownRun(found)) if found == missing));
}

async fn one_run_lock_per_tenant_until_released_or_expired(store: &TestStore) {
    let store = store.with_acme().await;
    store.ensure_tenant("globex").await.unwrap();
    let lease = std::time::Duration::from_secs(120);

    assert!(store.try_lock_runs(ACME, "import-1", lease).await.unwrap());
    assert!(!store.try_lock_runs(ACME, "import-2", lease).await.unwrap());
    assert!(
        store
            .try_lock_runs("globex", "import-2", lease)
            .await
            .unwrap()
    );
    assert!(
        store.try_lock_runs(ACME, "import-1", lease).await.unwrap(),
        "renewal"
    );

    store.at_minute(1);
    assert!(!store.try_lock_runs(ACME, "import-2", lease).await.unwrap());
    store.at_minute(3);
    assert!(
        store.try_lock_runs(ACME, "import-2", lease).await.unwrap(),
        "expired lease"
    );

    store.unlock_runs(ACME, "import-1").await.unwrap();
    assert!(
        !store.try_lock_runs(ACME, "import-3", lease).await.unwrap(),
        "not the holder"
    );
    store.unlock_runs(ACME, "import-2").await.unwrap();
    assert!(store.try_lock_runs(ACME, "import-3", lease).await.unwrap());
    assert!(matches!(
        store.try_lock_runs("nobody", "x", lease).await,
        Err(StoreError::UnknownTenant(_))
    ));
}

async fn one_service_per_database_until_released_or_expired(store: &TestStore) {
    let lease = std::time::Duration::from_secs(30);

    let first = store.try_hold_instance("serve-a", lease).await.unwrap();
    let holder = store.instance_holder().await.unwrap();
    let second = store.try_hold_instance("serve-b", lease).await.unwrap();
    let renewed = store.try_hold_instance("serve-a", lease).await.unwrap();
    store.at_minute(1);
    let after_expiry = store.try_hold_instance("serve-b", lease).await.unwrap();
    store.release_instance("serve-b").await.unwrap();
    let after_release = store.try_hold_instance("serve-c", lease).await.unwrap();

    assert!(first);
    assert_eq!(holder.as_deref(), Some("serve-a"));
    assert!(
        !second,
        "a second service is refused while the first holds the lease"
    );
    assert!(renewed);
    assert!(after_expiry, "a dead holder's lease expires");
    assert!(after_release);
}
