//! Tenants, their settings, and refusing work for tenants that do not exist.

use serde_json::json;
use sync_store::{HistoryEntry, MemberLink, OwnedObjects, RunId, StoreError, SyncState};

use crate::harness::{ACME, START, TestStore, employee, id};

store_tests!(
    ensuring_a_new_tenant_creates_it_with_empty_settings,
    ensuring_an_existing_tenant_keeps_its_creation_time_and_settings,
    saved_settings_are_read_back,
    a_tenant_that_was_never_created_reads_as_none,
    saving_settings_of_an_unknown_tenant_fails,
    every_tenant_scoped_method_refuses_an_unknown_tenant,
);

async fn ensuring_a_new_tenant_creates_it_with_empty_settings(store: &TestStore) {
    let created = store.ensure_tenant(ACME).await.unwrap();

    let read = store.tenant(ACME).await.unwrap();

    assert_eq!(created.key, ACME);
    assert_eq!(created.settings, json!({}));
    assert_eq!(created.created_at, START);
    assert_eq!(read, Some(created));
}

async fn ensuring_an_existing_tenant_keeps_its_creation_time_and_settings(store: &TestStore) {
    store.ensure_tenant(ACME).await.unwrap();
    store
        .save_tenant_settings(ACME, &json!({"dry_run": true}))
        .await
        .unwrap();
    store.at_minute(30);

    let again = store.ensure_tenant(ACME).await.unwrap();

    assert_eq!(again.created_at, START);
    assert_eq!(again.settings, json!({"dry_run": true}));
}

async fn saved_settings_are_read_back(store: &TestStore) {
    store.ensure_tenant(ACME).await.unwrap();
    let settings = json!({"mapping": {"production": ["mg_1", "mg_2"]}, "pin_length": 6});

    store.save_tenant_settings(ACME, &settings).await.unwrap();

    assert_eq!(
        store.tenant(ACME).await.unwrap().unwrap().settings,
        settings
    );
}

async fn a_tenant_that_was_never_created_reads_as_none(store: &TestStore) {
    store.ensure_tenant(ACME).await.unwrap();

    assert_eq!(store.tenant("globex").await.unwrap(), None);
}

async fn saving_settings_of_an_unknown_tenant_fails(store: &TestStore) {
    let result = store.save_tenant_settings("globex", &json!({})).await;

    assert!(matches!(result, Err(StoreError::UnknownTenant(key)) if key == "globex"));
}

async fn every_tenant_scoped_method_refuses_an_unknown_tenant(store: &TestStore) {
    let store = &**store;
    let (t, e) = ("globex", &id("E-1"));
    let entry = HistoryEntry {
        kind: "plan".into(),
        detail: json!({}),
    };
    let link = MemberLink {
        employee_id: e.clone(),
        member_id: None,
        owned: OwnedObjects::default(),
        state: SyncState::Pending,
        last_error: None,
        updated_at: START,
    };

    let results = [
        store.put_employee(t, &employee("E-1"), 1).await.err(),
        store.remove_employee(t, e, 1).await.err(),
        store.employee(t, e).await.err(),
        store.employees(t).await.err(),
        store.link(t, e).await.err(),
        store.links(t).await.err(),
        store.save_link(t, &link).await.err(),
        store.start_run(t, "import").await.err(),
        store.runs(t, 10).await.err(),
        store.append_history(t, e, None, &entry).await.err(),
        store
            .append_history(t, e, Some(RunId(1)), &entry)
            .await
            .err(),
        store.history(t, e, 10).await.err(),
    ];

    for (index, result) in results.into_iter().enumerate() {
        assert!(
            matches!(&result, Some(StoreError::UnknownTenant(key)) if key == t),
            "call {index} gave {result:?}"
        );
    }
}
