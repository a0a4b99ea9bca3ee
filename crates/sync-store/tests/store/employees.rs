//! Employee records: versions, staleness, removal and listing.

use hr_domain::Email;
use sync_store::PutOutcome;

use crate::harness::{ACME, START, TestStore, employee, id, renamed};

store_tests!(
    a_new_employee_is_stored_and_read_back,
    a_newer_version_that_differs_is_stored,
    a_newer_version_with_the_same_content_only_moves_the_version,
    an_older_version_after_a_newer_one_is_ignored,
    an_equal_version_is_stale,
    a_change_of_email_case_is_stored,
    an_employee_that_was_never_stored_reads_as_none,
    removing_an_employee_keeps_the_last_record_and_marks_it_absent,
    a_removal_older_than_the_record_is_ignored,
    removing_an_unknown_employee_writes_nothing,
    a_create_older_than_the_removal_of_an_unknown_employee_is_stale,
    a_create_newer_than_the_removal_of_an_unknown_employee_is_stored,
    a_removal_at_or_below_a_tombstone_is_stale,
    deleting_a_tenant_drops_its_tombstones,
    removing_a_removed_employee_only_moves_the_version,
    an_employee_removed_and_added_again_is_present,
    employees_are_listed_by_id_including_absent_ones,
    one_tenants_employees_are_invisible_to_another,
);

async fn a_new_employee_is_stored_and_read_back(store: &TestStore) {
    let store = store.with_acme().await;
    store.at_minute(5);

    let outcome = store
        .put_employee(ACME, &employee("E-1"), 100)
        .await
        .unwrap();

    let stored = store.employee(ACME, &id("E-1")).await.unwrap().unwrap();
    assert_eq!(outcome, PutOutcome::Stored);
    assert_eq!(stored.employee, employee("E-1"));
    assert_eq!(stored.version, 100);
    assert!(stored.present);
    assert_eq!(stored.updated_at, START + time::Duration::minutes(5));
}

async fn a_newer_version_that_differs_is_stored(store: &TestStore) {
    let store = store.with_acme().await;
    store.put_employee(ACME, &employee("E-1"), 1).await.unwrap();
    let later = store.at_minute(10);

    let outcome = store
        .put_employee(ACME, &renamed("E-1", "Zoë Novak"), 2)
        .await
        .unwrap();

    let stored = store.employee(ACME, &id("E-1")).await.unwrap().unwrap();
    assert_eq!(outcome, PutOutcome::Stored);
    assert_eq!(stored.employee, renamed("E-1", "Zoë Novak"));
    assert_eq!(stored.version, 2);
    assert_eq!(stored.updated_at, later);
}

async fn a_newer_version_with_the_same_content_only_moves_the_version(store: &TestStore) {
    let store = store.with_acme().await;
    store.put_employee(ACME, &employee("E-1"), 1).await.unwrap();
    store.at_minute(10);

    let outcome = store.put_employee(ACME, &employee("E-1"), 2).await.unwrap();

    let stored = store.employee(ACME, &id("E-1")).await.unwrap().unwrap();
    assert_eq!(outcome, PutOutcome::Unchanged);
    assert_eq!(stored.version, 2);
    assert_eq!(stored.updated_at, START, "content did not change");
}

async fn an_older_version_after_a_newer_one_is_ignored(store: &TestStore) {
    let store = store.with_acme().await;
    store
        .put_employee(ACME, &renamed("E-1", "New Name"), 7)
        .await
        .unwrap();

    let outcome = store
        .put_employee(ACME, &renamed("E-1", "Old Name"), 6)
        .await
        .unwrap();

    let stored = store.employee(ACME, &id("E-1")).await.unwrap().unwrap();
    assert_eq!(outcome, PutOutcome::Stale);
    assert_eq!(stored.employee.name.as_str(), "New Name");
    assert_eq!(stored.version, 7);
}

async fn an_equal_version_is_stale(store: &TestStore) {
    let store = store.with_acme().await;
    store
        .put_employee(ACME, &renamed("E-1", "First"), 7)
        .await
        .unwrap();

    let outcome = store
        .put_employee(ACME, &renamed("E-1", "Second"), 7)
        .await
        .unwrap();

    let stored = store.employee(ACME, &id("E-1")).await.unwrap().unwrap();
    assert_eq!(outcome, PutOutcome::Stale);
    assert_eq!(stored.employee.name.as_str(), "First");
}

async fn a_change_of_email_case_is_stored(store: &TestStore) {
    let store = store.with_acme().await;
    store.put_employee(ACME, &employee("E-1"), 1).await.unwrap();
    let shouting = Email::parse("Zoe.Dvorak@Example.com").unwrap();
    let changed = hr_domain::Employee {
        email: Some(shouting),
        ..employee("E-1")
    };

    let outcome = store.put_employee(ACME, &changed, 2).await.unwrap();

    let stored = store.employee(ACME, &id("E-1")).await.unwrap().unwrap();
    assert_eq!(outcome, PutOutcome::Stored);
    assert_eq!(
        stored.employee.email.unwrap().as_str(),
        "Zoe.Dvorak@Example.com"
    );
}

async fn an_employee_that_was_never_stored_reads_as_none(store: &TestStore) {
    let store = store.with_acme().await;

    assert_eq!(store.employee(ACME, &id("E-404")).await.unwrap(), None);
}

async fn removing_an_employee_keeps_the_last_record_and_marks_it_absent(store: &TestStore) {
    let store = store.with_acme().await;
    store.put_employee(ACME, &employee("E-1"), 1).await.unwrap();
    let later = store.at_minute(20);

    let outcome = store.remove_employee(ACME, &id("E-1"), 2).await.unwrap();

    let stored = store.employee(ACME, &id("E-1")).await.unwrap().unwrap();
    assert_eq!(outcome, PutOutcome::Stored);
    assert!(!stored.present);
    assert_eq!(stored.version, 2);
    assert_eq!(stored.employee, employee("E-1"));
    assert_eq!(stored.updated_at, later);
}

async fn a_removal_older_than_the_record_is_ignored(store: &TestStore) {
    let store = store.with_acme().await;
    store.put_employee(ACME, &employee("E-1"), 5).await.unwrap();

    let outcome = store.remove_employee(ACME, &id("E-1"), 4).await.unwrap();

    let stored = store.employee(ACME, &id("E-1")).await.unwrap().unwrap();
    assert_eq!(outcome, PutOutcome::Stale);
    assert!(stored.present);
    assert_eq!(stored.version, 5);
}

async fn removing_an_unknown_employee_writes_nothing(store: &TestStore) {
    let store = store.with_acme().await;

    let outcome = store.remove_employee(ACME, &id("E-404"), 3).await.unwrap();

    assert_eq!(outcome, PutOutcome::Unchanged);
    assert_eq!(store.employee(ACME, &id("E-404")).await.unwrap(), None);
    assert!(store.employees(ACME).await.unwrap().is_empty());
}

async fn a_create_older_than_the_removal_of_an_unknown_employee_is_stale(store: &TestStore) {
    let store = store.with_acme().await;
    let removed = store.remove_employee(ACME, &id("V-2"), 10).await.unwrap();

    let older = store.put_employee(ACME, &employee("V-2"), 9).await.unwrap();
    let equal = store
        .put_employee(ACME, &employee("V-2"), 10)
        .await
        .unwrap();

    assert_eq!(removed, PutOutcome::Unchanged);
    assert_eq!((older, equal), (PutOutcome::Stale, PutOutcome::Stale));
    assert_eq!(store.employee(ACME, &id("V-2")).await.unwrap(), None);
    assert!(store.employees(ACME).await.unwrap().is_empty());
}

async fn a_create_newer_than_the_removal_of_an_unknown_employee_is_stored(store: &TestStore) {
    let store = store.with_acme().await;
    store.remove_employee(ACME, &id("V-2"), 10).await.unwrap();

    let newer = store
        .put_employee(ACME, &employee("V-2"), 11)
        .await
        .unwrap();
    let removed_again = store.remove_employee(ACME, &id("V-2"), 12).await.unwrap();

    assert_eq!(newer, PutOutcome::Stored);
    assert_eq!(removed_again, PutOutcome::Stored);
    let stored = store.employee(ACME, &id("V-2")).await.unwrap().unwrap();
    assert_eq!(stored.version, 12);
    assert!(!stored.present);
}

async fn a_removal_at_or_below_a_tombstone_is_stale(store: &TestStore) {
    let store = store.with_acme().await;
    store.remove_employee(ACME, &id("V-2"), 10).await.unwrap();

    let older = store.remove_employee(ACME, &id("V-2"), 9).await.unwrap();
    let equal = store.remove_employee(ACME, &id("V-2"), 10).await.unwrap();
    let newer = store.remove_employee(ACME, &id("V-2"), 20).await.unwrap();
    let create_between = store
        .put_employee(ACME, &employee("V-2"), 15)
        .await
        .unwrap();

    assert_eq!((older, equal), (PutOutcome::Stale, PutOutcome::Stale));
    assert_eq!(newer, PutOutcome::Unchanged);
    assert_eq!(create_between, PutOutcome::Stale);
    assert_eq!(store.employee(ACME, &id("V-2")).await.unwrap(), None);
}

async fn deleting_a_tenant_drops_its_tombstones(store: &TestStore) {
    let store = store.with_acme().await;
    store.remove_employee(ACME, &id("V-2"), 10).await.unwrap();

    assert!(store.delete_tenant(ACME).await.unwrap());
    store.ensure_tenant(ACME).await.unwrap();
    let outcome = store.put_employee(ACME, &employee("V-2"), 9).await.unwrap();

    assert_eq!(outcome, PutOutcome::Stored);
}

async fn removing_a_removed_employee_only_moves_the_version(store: &TestStore) {
    let store = store.with_acme().await;
    store.put_employee(ACME, &employee("E-1"), 1).await.unwrap();
    let removed_at = store.at_minute(1);
    store.remove_employee(ACME, &id("E-1"), 2).await.unwrap();
    store.at_minute(2);

    let outcome = store.remove_employee(ACME, &id("E-1"), 3).await.unwrap();

    let stored = store.employee(ACME, &id("E-1")).await.unwrap().unwrap();
    assert_eq!(outcome, PutOutcome::Unchanged);
    assert_eq!(stored.version, 3);
    assert_eq!(stored.updated_at, removed_at);
}

async fn an_employee_removed_and_added_again_is_present(store: &TestStore) {
    let store = store.with_acme().await;
    store.put_employee(ACME, &employee("E-1"), 1).await.unwrap();
    store.remove_employee(ACME, &id("E-1"), 2).await.unwrap();

    let outcome = store.put_employee(ACME, &employee("E-1"), 3).await.unwrap();

    let stored = store.employee(ACME, &id("E-1")).await.unwrap().unwrap();
    assert_eq!(
        outcome,
        PutOutcome::Stored,
        "same record, but present again"
    );
    assert!(stored.present);
    assert_eq!(stored.version, 3);
}

async fn employees_are_listed_by_id_including_absent_ones(store: &TestStore) {
    let store = store.with_acme().await;
    for employee_id in ["E-3", "E-1", "E-2"] {
        store
            .put_employee(ACME, &employee(employee_id), 1)
            .await
            .unwrap();
    }
    store.remove_employee(ACME, &id("E-2"), 2).await.unwrap();

    let listed = store.employees(ACME).await.unwrap();

    let summary: Vec<_> = listed
        .iter()
        .map(|stored| (stored.employee.id.as_str(), stored.present))
        .collect();
    assert_eq!(summary, [("E-1", true), ("E-2", false), ("E-3", true)]);
}

async fn one_tenants_employees_are_invisible_to_another(store: &TestStore) {
    let store = store.with_acme().await;
    store.ensure_tenant("globex").await.unwrap();
    store.put_employee(ACME, &employee("E-1"), 1).await.unwrap();

    let outcome = store
        .put_employee("globex", &renamed("E-1", "Someone Else"), 1)
        .await
        .unwrap();

    assert_eq!(outcome, PutOutcome::Stored);
    assert_eq!(store.employees("globex").await.unwrap().len(), 1);
    let acme = store.employee(ACME, &id("E-1")).await.unwrap().unwrap();
    assert_eq!(acme.employee, employee("E-1"));
}
