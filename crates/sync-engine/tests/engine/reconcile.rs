//! Full reconcile (drift repair from the stored records), the deletion guard, and
//! previews computed by the same planner as the runs.

use akiles_types::{Metadata, NewGroupAssociation};
use hr_domain::{CredentialSettings, Employee};
use sync_engine::DeletionGuard;
use sync_engine::plan::StepKind;
use sync_store::{HoldDecision, HoldState, Store};

use crate::harness::{
    EmployeeExt, TENANT, TestEngine, association_groups, employee, id, live, live_pins,
};

const DELETE_MEMBER: &str = "DELETE /v2/members/{member_id}";
const CREATE_MEMBER: &str = "POST /v2/members";
const CREATE_ASSOCIATION: &str = "POST /v2/members/{member_id}/group_associations";
const CREATE_PIN: &str = "POST /v2/members/{member_id}/pins";

fn staff(count: usize) -> Vec<Employee> {
    (0..count)
        .map(|n| {
            let group = ["Production", "Sales", "IT/IS"][n % 3];
            employee(&format!("E-{n:04}"), &format!("Person {n}"), &[group])
        })
        .collect()
}

/// Moves the engine's clock on, so the next snapshot is a newer version.
fn later(engine: &TestEngine, minutes: i64) {
    use hr_domain::Clock;
    let now = engine.clock.now();
    engine.clock.set(now + time::Duration::minutes(minutes));
}

fn b15_guard() -> DeletionGuard {
    DeletionGuard {
        max_deletions: 5,
        max_deletion_percent: 10,
    }
}

#[tokio::test]
async fn one_reconcile_repairs_drift_and_leaves_unowned_access_alone() {
    let mut engine = TestEngine::spawn().await;
    engine.credentials = CredentialSettings {
        pin: true,
        ..CredentialSettings::default()
    };
    let people = [
        employee("E-1", "Ana Pérez", &["Production", "IT/IS"]),
        employee("E-2", "Bo Lindqvist", &["Production", "IT/IS"]),
        employee("E-3", "Chen Wei", &["Production"]),
    ];
    engine.sync(&people).await;
    // By hand in Akiles: a member deleted, an owned association removed, an unowned
    // association added.
    let ana = engine.member_of("E-1");
    engine.client.delete_member(&ana.id).await.unwrap();
    let bo = engine.member_of("E-2");
    let bo_assoc = &live(&bo.group_associations, |a| a.is_deleted)[0].id;
    engine
        .client
        .delete_group_association(&bo.id, bo_assoc)
        .await
        .unwrap();
    let chen = engine.member_of("E-3");
    let by_hand = NewGroupAssociation {
        member_group_id: engine.group_id("Sales"),
        starts_at: None,
        ends_at: None,
        metadata: Metadata::new(),
    };
    engine
        .client
        .create_group_association(&chen.id, &by_hand)
        .await
        .unwrap();
    engine.emulator.reset_calls();

    let report = engine.reconcile().await;

    assert_eq!(engine.calls(CREATE_MEMBER), 1);
    assert_eq!(engine.calls(CREATE_ASSOCIATION), 3, "2 for Ana, 1 for Bo");
    assert_eq!(engine.calls(CREATE_PIN), 1);
    assert_eq!(
        engine.emulator.write_calls(),
        5,
        "{:?}",
        engine.emulator.calls()
    );
    assert_eq!(live_pins(&engine.member_of("E-1")), 1);
    assert_eq!(association_groups(&engine.member_of("E-2")).len(), 2);
    assert!(
        association_groups(&engine.member_of("E-3")).contains(&engine.group_id("Sales")),
        "the hand-made association is not the sync's to remove"
    );
    assert_eq!(report.failures().count(), 0);

    engine.emulator.reset_calls();
    engine.reconcile().await;
    assert_eq!(
        engine.emulator.write_calls(),
        0,
        "a second pass has nothing to do"
    );
}

#[tokio::test]
async fn a_no_op_reconcile_of_thousands_makes_only_list_calls() {
    let mut engine = TestEngine::spawn().await;
    engine.concurrency = 16;
    engine.sync(staff(2000)).await;
    engine.emulator.reset_calls();

    let report = engine.reconcile().await;

    let calls = engine.emulator.calls();
    assert_eq!(engine.emulator.write_calls(), 0, "{calls:?}");
    assert!(
        calls
            .keys()
            .all(|route| route == "GET /v2/members" || route == "GET /v2/member_groups"),
        "only list calls, no per-member reads: {calls:?}"
    );
    let pages: u64 = calls.values().sum();
    assert!(
        pages <= 25,
        "2000 members in pages, not one by one: {calls:?}"
    );
    assert_eq!(report.employees.len(), 2000);
}

#[tokio::test]
async fn b15_twenty_eight_of_forty_to_delete_are_held_until_approved() {
    let mut engine = TestEngine::spawn().await;
    engine.guard = b15_guard();
    let everyone = staff(40);
    engine.sync(&everyone).await;
    let mut twelve: Vec<Employee> = everyone[..12].to_vec();
    twelve[0] = twelve[0].clone().named("Renamed Person");
    engine.emulator.reset_calls();
    later(&engine, 1);

    let report = engine.sync(&twelve).await;

    assert_eq!(engine.calls(DELETE_MEMBER), 0);
    assert_eq!(report.held_deletions.len(), 28);
    assert!(
        report
            .held_reason
            .as_deref()
            .unwrap()
            .contains("28 of the 40")
    );
    assert_eq!(
        engine.calls("PATCH /v2/members/{member_id}"),
        1,
        "everything else is applied"
    );
    let held = engine.store.held_deletions(TENANT).await.unwrap();
    assert_eq!(held.len(), 28);
    assert!(held.iter().all(|h| h.state == HoldState::Held));
    // Until an admin answers, later runs hold them again and delete nothing.
    engine.reconcile().await;
    assert_eq!(engine.calls(DELETE_MEMBER), 0);

    let approved = engine
        .store
        .decide_deletions(TENANT, None, HoldDecision::Approve, "ana")
        .await
        .unwrap();
    let report = engine.reconcile().await;

    assert_eq!(approved, 28);
    assert_eq!(engine.calls(DELETE_MEMBER), 28);
    assert!(report.held_deletions.is_empty());
    assert_eq!(engine.live_members().len(), 12);
    assert!(
        engine
            .store
            .held_deletions(TENANT)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn b15_one_normal_termination_is_applied() {
    let mut engine = TestEngine::spawn().await;
    engine.guard = b15_guard();
    let mut everyone = staff(40);
    engine.sync(&everyone).await;
    everyone[7] = everyone[7].clone().terminated();
    engine.emulator.reset_calls();
    later(&engine, 1);

    let report = engine.sync(&everyone).await;

    assert_eq!(engine.calls(DELETE_MEMBER), 1);
    assert!(report.held_deletions.is_empty());
    assert!(engine.owned_members_of("E-0007").is_empty());
}

#[tokio::test]
async fn b15_rejected_deletions_are_kept_while_the_export_says_the_same() {
    let mut engine = TestEngine::spawn().await;
    engine.guard = b15_guard();
    let everyone = staff(40);
    engine.sync(&everyone).await;
    later(&engine, 1);
    engine.sync(&everyone[..12]).await;
    engine
        .store
        .decide_deletions(TENANT, None, HoldDecision::Reject, "ana")
        .await
        .unwrap();
    engine.emulator.reset_calls();

    let report = engine.sync(&everyone[..12]).await;

    assert_eq!(engine.calls(DELETE_MEMBER), 0);
    assert!(report.held_deletions.is_empty(), "not held again");
    assert_eq!(report.kept_deletions.len(), 28);
    assert_eq!(engine.live_members().len(), 40);
}

#[tokio::test]
async fn b15_a_reconcile_with_no_current_employee_is_refused() {
    let engine = TestEngine::spawn().await;
    let everyone = staff(5);
    engine.sync(&everyone).await;
    for e in &everyone {
        engine
            .store
            .remove_employee(TENANT, &e.id, i64::MAX / 2)
            .await
            .unwrap();
    }
    engine.emulator.reset_calls();

    let report = engine.reconcile().await;

    assert_eq!(engine.emulator.write_calls(), 0);
    assert!(
        report
            .refused
            .as_deref()
            .unwrap()
            .contains("no current employee")
    );
    let runs = engine.store.runs(TENANT, 1).await.unwrap();
    assert_eq!(runs[0].kind, "reconcile");
    assert_eq!(runs[0].summary["suspicious"], true, "{:?}", runs[0].summary);
}

#[tokio::test]
async fn b04_a_delete_stored_but_never_applied_is_repaired_by_the_next_pass() {
    let engine = TestEngine::spawn().await;
    let people = [
        employee("E-1004", "Dana Kim", &["Production"]),
        employee("E-1005", "Eli Cohen", &["Sales"]),
    ];
    engine.sync(&people).await;
    // The delete event was stored, but the job that would apply it was lost.
    engine
        .store
        .remove_employee(TENANT, &id("E-1004"), i64::MAX / 2)
        .await
        .unwrap();
    engine.emulator.reset_calls();

    engine.reconcile().await;

    assert_eq!(engine.calls(DELETE_MEMBER), 1);
    assert!(engine.owned_members_of("E-1004").is_empty());
    assert_eq!(engine.owned_members_of("E-1005").len(), 1);
}

#[tokio::test]
async fn b04_a_dropped_delete_is_repaired_by_the_next_full_export() {
    let engine = TestEngine::spawn().await;
    let people = [
        employee("E-1004", "Dana Kim", &["Production"]),
        employee("E-1005", "Eli Cohen", &["Sales"]),
    ];
    engine.sync(&people).await;
    engine.emulator.reset_calls();
    later(&engine, 1);

    engine.sync(&people[1..]).await;

    assert_eq!(engine.calls(DELETE_MEMBER), 1);
    assert!(engine.owned_members_of("E-1004").is_empty());
}

#[tokio::test]
async fn a_settings_preview_equals_what_the_reconcile_then_applies() {
    let mut engine = TestEngine::spawn().await;
    engine.sync(staff(30)).await;
    engine.mapping = crate::harness::mapping(&[
        ("Production", "Sales"),
        ("Sales", "Sales"),
        ("IT/IS", "IT/IS"),
    ]);
    engine.credentials.pin = true;

    let preview = engine.preview(None).await;
    let report = engine.reconcile().await;

    assert_eq!(preview.steps, report.applied());
    assert_eq!(preview.steps.get(&StepKind::CreatePin), Some(&30));
    let lines = preview.lines();
    assert!(
        lines.contains(&"10 members gain Sales".to_owned()),
        "{lines:?}"
    );
    assert!(
        lines.contains(&"10 members lose Production".to_owned()),
        "{lines:?}"
    );
    assert!(lines.contains(&"0 deletions".to_owned()), "{lines:?}");
    assert!(lines.contains(&"30 PINs created".to_owned()), "{lines:?}");
}

#[tokio::test]
async fn a_file_preview_counts_held_deletions_instead_of_deleting() {
    let mut engine = TestEngine::spawn().await;
    engine.guard = b15_guard();
    let everyone = staff(40);
    engine.sync(&everyone).await;
    engine.emulator.reset_calls();

    let preview = engine.preview(Some(&everyone[..12])).await;

    assert_eq!(preview.held_deletions, 28);
    assert_eq!(preview.steps.get(&StepKind::DeleteMember), None);
    assert_eq!(engine.emulator.write_calls(), 0);
    assert!(
        engine
            .store
            .held_deletions(TENANT)
            .await
            .unwrap()
            .is_empty(),
        "a preview stores nothing"
    );
}
