//! Each HR change costs the fewest calls: nothing that matches is recreated.

use akiles_types::{Metadata, NewMemberPin};

use crate::harness::{
    EmployeeExt, TestEngine, association_groups, employee, live, live_emails, live_pins,
};

const CREATE_ASSOCIATION: &str = "POST /v2/members/{member_id}/group_associations";
const DELETE_ASSOCIATION: &str =
    "DELETE /v2/members/{member_id}/group_associations/{member_group_association_id}";
const CREATE_PIN: &str = "POST /v2/members/{member_id}/pins";
const DELETE_PIN: &str = "DELETE /v2/members/{member_id}/pins/{member_pin_id}";

#[tokio::test]
async fn a_transfer_deletes_one_association_and_creates_one() {
    let engine = TestEngine::spawn().await;
    let ana = employee("E-1", "Ana Pérez", &["Production", "IT/IS"]);
    engine.sync([ana.clone()]).await;
    engine.emulator.reset_calls();

    let report = engine.sync(&[ana.in_groups(&["Sales", "IT/IS"])]).await;

    assert_eq!(engine.calls(DELETE_ASSOCIATION), 1);
    assert_eq!(engine.calls(CREATE_ASSOCIATION), 1);
    assert_eq!(
        engine.emulator.write_calls(),
        2,
        "{:?}",
        engine.emulator.calls()
    );
    let groups = association_groups(&engine.member_of("E-1"));
    assert_eq!(
        groups,
        [engine.group_id("Sales"), engine.group_id("IT/IS")].into()
    );
    assert_eq!(report.failures().count(), 0);
}

#[tokio::test]
async fn a_rename_is_one_patch_of_the_member() {
    let engine = TestEngine::spawn().await;
    let ana = employee("E-1", "Ana Pérez", &["Production"]);
    engine.sync([ana.clone()]).await;
    engine.emulator.reset_calls();

    engine.sync(&[ana.named("Ana Pérez Soler")]).await;

    assert_eq!(engine.calls("PATCH /v2/members/{member_id}"), 1);
    assert_eq!(
        engine.emulator.write_calls(),
        1,
        "{:?}",
        engine.emulator.calls()
    );
    assert_eq!(engine.member_of("E-1").name, "Ana Pérez Soler");
}

#[tokio::test]
async fn a_termination_is_one_delete_of_the_member_and_nothing_else() {
    let mut engine = TestEngine::spawn().await;
    engine.credentials.email = true;
    engine.credentials.pin = true;
    let ana = employee("E-1", "Ana Pérez", &["Production", "Sales"]).email("ana@example.com");
    let bo = employee("E-2", "Bo Lind", &["Sales"]);
    engine.sync(&[ana.clone(), bo.clone()]).await;
    engine.emulator.reset_calls();

    engine.sync(&[ana.terminated(), bo]).await;

    assert_eq!(engine.calls("DELETE /v2/members/{member_id}"), 1);
    assert_eq!(
        engine.emulator.write_calls(),
        1,
        "{:?}",
        engine.emulator.calls()
    );
    assert!(engine.owned_members_of("E-1").is_empty());
    engine.member_of("E-2");
}

#[tokio::test]
async fn an_unchanged_employee_costs_no_write_at_all() {
    let mut engine = TestEngine::spawn().await;
    engine.credentials.email = true;
    engine.credentials.pin = true;
    engine.credentials.magic_link = true;
    engine.credentials.card = true;
    let ana = employee("E-1", "Zoë Þórhallsdóttir", &["Production", "IT/IS"])
        .email("Zoe@Example.com")
        .card("04:A1:B2:C3");
    engine.sync([ana.clone()]).await;
    engine.emulator.reset_calls();

    let report = engine.sync(&[ana]).await;

    assert_eq!(
        engine.emulator.write_calls(),
        0,
        "{:?}",
        engine.emulator.calls()
    );
    assert!(report.planned().is_empty());
}

#[tokio::test]
async fn turning_pins_on_creates_one_per_member_and_off_deletes_only_owned_ones() {
    let mut engine = TestEngine::spawn().await;
    let staff = [
        employee("E-1", "Ana Pérez", &["Production"]),
        employee("E-2", "Bo Lind", &["Sales"]),
        employee("E-3", "王小明", &["IT/IS"]),
    ];
    engine.sync(&staff).await;
    engine.emulator.reset_calls();

    engine.credentials.pin = true;
    engine.sync(&staff).await;

    assert_eq!(engine.calls(CREATE_PIN), 3);
    assert_eq!(engine.emulator.write_calls(), 3);
    for e in &staff {
        assert_eq!(live_pins(&engine.member_of(e.id.as_str())), 1);
    }

    let bo = engine.member_of("E-2");
    let by_hand = NewMemberPin {
        length: Some(8),
        pin: None,
        metadata: Metadata::new(),
    };
    let hand_pin = engine
        .client
        .create_member_pin(&bo.id, &by_hand)
        .await
        .unwrap()
        .id;
    engine.emulator.reset_calls();
    engine.credentials.pin = false;
    engine.sync(&staff).await;

    assert_eq!(engine.calls(DELETE_PIN), 3);
    assert_eq!(engine.emulator.write_calls(), 3);
    let bo = engine.member_of("E-2");
    let pins: Vec<_> = live(&bo.pins, |p| p.is_deleted);
    assert_eq!(pins.len(), 1);
    assert_eq!(pins[0].id, hand_pin);
    assert!(live_emails(&bo).is_empty());
}
