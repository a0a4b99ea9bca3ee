//! Deletions held by the deletion guard, and the admin's decisions.

use hr_domain::EmployeeId;
use sync_store::{HoldDecision, HoldState, NewHold, RunId};

use crate::harness::{ACME, TestStore};

store_tests!(
    held_deletions_are_listed_with_their_reason,
    approving_some_leaves_the_others_held,
    holding_again_keeps_an_approval,
    a_rejection_lasts_while_the_record_version_is_unchanged,
    clearing_forgets_the_row,
);

fn id(text: &str) -> EmployeeId {
    EmployeeId::parse(text).unwrap()
}

fn hold(employee: &str, version: i64) -> NewHold {
    NewHold {
        employee_id: id(employee),
        member_ids: vec![format!("mem_{employee}")],
        record_version: Some(version),
    }
}

async fn held_deletions_are_listed_with_their_reason(store: &TestStore) {
    let store = store.with_acme().await;

    store
        .hold_deletions(
            ACME,
            &[hold("E-2", 1), hold("E-1", 1)],
            Some(RunId(7)),
            "28 of 40",
        )
        .await
        .unwrap();

    let held = store.held_deletions(ACME).await.unwrap();
    assert_eq!(held.len(), 2);
    assert_eq!(held[0].employee_id, id("E-1"));
    assert_eq!(held[0].member_ids, vec!["mem_E-1".to_owned()]);
    assert_eq!(held[0].state, HoldState::Held);
    assert_eq!(held[0].reason, "28 of 40");
    assert_eq!(held[0].run, Some(RunId(7)));
    assert_eq!(held[0].decided_by, None);
}

async fn approving_some_leaves_the_others_held(store: &TestStore) {
    let store = store.with_acme().await;
    let holds = [hold("E-1", 1), hold("E-2", 1), hold("E-3", 1)];
    store.hold_deletions(ACME, &holds, None, "r").await.unwrap();

    let changed = store
        .decide_deletions(ACME, Some(&[id("E-2")]), HoldDecision::Approve, "ana")
        .await
        .unwrap();

    assert_eq!(changed, 1);
    let states: Vec<HoldState> = store
        .held_deletions(ACME)
        .await
        .unwrap()
        .iter()
        .map(|h| h.state)
        .collect();
    assert_eq!(
        states,
        [HoldState::Held, HoldState::Approved, HoldState::Held]
    );
    let all = store
        .decide_deletions(ACME, None, HoldDecision::Reject, "ana")
        .await
        .unwrap();
    assert_eq!(all, 2, "only waiting rows are rejected");
}

async fn holding_again_keeps_an_approval(store: &TestStore) {
    let store = store.with_acme().await;
    store
        .hold_deletions(ACME, &[hold("E-1", 1)], None, "r")
        .await
        .unwrap();
    store
        .decide_deletions(ACME, None, HoldDecision::Approve, "ana")
        .await
        .unwrap();

    store
        .hold_deletions(ACME, &[hold("E-1", 2)], None, "r")
        .await
        .unwrap();

    let held = store.held_deletions(ACME).await.unwrap();
    assert_eq!(held[0].state, HoldState::Approved);
    assert_eq!(held[0].decided_by.as_deref(), Some("ana"));
}

async fn a_rejection_lasts_while_the_record_version_is_unchanged(store: &TestStore) {
    let store = store.with_acme().await;
    store
        .hold_deletions(ACME, &[hold("E-1", 1)], None, "r")
        .await
        .unwrap();
    store
        .decide_deletions(ACME, None, HoldDecision::Reject, "ana")
        .await
        .unwrap();

    store
        .hold_deletions(ACME, &[hold("E-1", 1)], None, "r")
        .await
        .unwrap();
    assert_eq!(
        store.held_deletions(ACME).await.unwrap()[0].state,
        HoldState::Rejected
    );

    store
        .hold_deletions(ACME, &[hold("E-1", 2)], None, "r")
        .await
        .unwrap();
    let held = store.held_deletions(ACME).await.unwrap();
    assert_eq!(
        held[0].state,
        HoldState::Held,
        "a new record is judged again"
    );
    assert_eq!(held[0].decided_by, None);
}

async fn clearing_forgets_the_row(store: &TestStore) {
    let store = store.with_acme().await;
    store
        .hold_deletions(ACME, &[hold("E-1", 1)], None, "r")
        .await
        .unwrap();

    store.clear_held_deletion(ACME, &id("E-1")).await.unwrap();

    assert!(store.held_deletions(ACME).await.unwrap().is_empty());
}
