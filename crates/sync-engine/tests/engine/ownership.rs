//! The sync changes or deletes only what carries its marker, and repairs what it owns.

use akiles_types::{Metadata, NewGroupAssociation, NewMember, NewMemberEmail, NewMemberPin};

use crate::harness::{
    EmployeeExt, TENANT, TestEngine, association_groups, employee, live, live_emails,
};

fn metadata(pairs: &[(&str, &str)]) -> Metadata {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

async fn member_by_hand(engine: &TestEngine, name: &str, meta: Metadata) -> String {
    let body = NewMember {
        name: name.to_owned(),
        starts_at: None,
        ends_at: None,
        language: None,
        metadata: meta,
    };
    engine.client.create_member(&body).await.unwrap().id
}

#[tokio::test]
async fn a_hand_made_member_without_the_marker_is_never_changed_or_deleted() {
    let engine = TestEngine::spawn().await;
    let hand = member_by_hand(&engine, "Ana by hand", metadata(&[("employee_id", "E-1")])).await;
    let ana = employee("E-1", "Ana Pérez", &["Production"]);
    let bo = employee("E-2", "Bo Lind", &["Sales"]);

    engine.sync(&[ana.clone(), bo.clone()]).await;
    engine.sync(&[ana.terminated(), bo.clone()]).await;
    engine.sync(&[bo]).await;

    let hand_now = engine.live_members().into_iter().find(|m| m.id == hand);
    let hand_now = hand_now.expect("the hand-made member is still live");
    assert_eq!(hand_now.name, "Ana by hand");
    assert_eq!(hand_now.metadata, metadata(&[("employee_id", "E-1")]));
    assert!(association_groups(&hand_now).is_empty());
}

#[tokio::test]
async fn hand_made_association_pin_and_email_on_an_owned_member_are_left_alone() {
    let mut engine = TestEngine::spawn().await;
    engine.credentials.email = true;
    engine.credentials.pin = true;
    let ana = employee("E-1", "Ana Pérez", &["Production"]).email("ana@example.com");
    engine.sync([ana.clone()]).await;
    let member = engine.member_of("E-1");
    let admin_group = engine.group_id("Executive Office");
    let assoc = NewGroupAssociation {
        member_group_id: admin_group.clone(),
        starts_at: None,
        ends_at: None,
        metadata: Metadata::new(),
    };
    let client = &engine.client;
    client
        .create_group_association(&member.id, &assoc)
        .await
        .unwrap();
    let pin = NewMemberPin {
        length: Some(9),
        pin: None,
        metadata: Metadata::new(),
    };
    let hand_pin = client.create_member_pin(&member.id, &pin).await.unwrap().id;
    let email = NewMemberEmail {
        email: "ana.private@example.org".to_owned(),
        metadata: Metadata::new(),
    };
    client
        .create_member_email(&member.id, &email)
        .await
        .unwrap();

    engine.credentials.pin = false;
    let moved = ana.in_groups(&["Sales"]).email("ana.perez@example.com");
    engine.sync(&[moved]).await;

    let member = engine.member_of("E-1");
    let groups = association_groups(&member);
    assert_eq!(groups, [admin_group, engine.group_id("Sales")].into());
    let pins: Vec<_> = live(&member.pins, |p| p.is_deleted);
    assert_eq!(pins.len(), 1);
    assert_eq!(pins[0].id, hand_pin);
    let mut emails = live_emails(&member);
    emails.sort();
    assert_eq!(emails, ["ana.perez@example.com", "ana.private@example.org"]);
}

#[tokio::test]
async fn two_owned_members_for_one_employee_are_reduced_to_the_first() {
    let engine = TestEngine::spawn().await;
    let ana = employee("E-1", "Ana Pérez", &["Production"]);
    engine.sync([ana.clone()]).await;
    let first = engine.member_of("E-1").id;
    let marker = [
        ("managed_by", "akiles-hr-sync"),
        ("sync_tenant", TENANT),
        ("employee_id", "E-1"),
    ];
    let duplicate = member_by_hand(&engine, "Ana Pérez", metadata(&marker)).await;
    engine.emulator.reset_calls();

    let report = engine.sync(&[ana]).await;

    assert_eq!(engine.member_of("E-1").id, first);
    assert!(
        engine
            .owned_members_of("E-1")
            .iter()
            .all(|m| m.id != duplicate)
    );
    assert_eq!(engine.calls("DELETE /v2/members/{member_id}"), 1);
    assert_eq!(engine.emulator.write_calls(), 1);
    assert_eq!(report.failures().count(), 0);
}

#[tokio::test]
async fn a_member_deleted_by_hand_is_recreated_by_the_next_run() {
    let engine = TestEngine::spawn().await;
    let ana = employee("E-1", "Ana Pérez", &["Production"]);
    engine.sync([ana.clone()]).await;
    let gone = engine.member_of("E-1").id;
    engine.client.delete_member(&gone).await.unwrap();

    engine.sync(&[ana]).await;

    let member = engine.member_of("E-1");
    assert_ne!(member.id, gone);
    assert_eq!(
        association_groups(&member),
        [engine.group_id("Production")].into()
    );
}

#[tokio::test]
async fn an_owned_member_whose_employee_id_has_stray_spaces_is_adopted_not_duplicated() {
    let engine = TestEngine::spawn().await;
    let marker = [
        ("managed_by", "akiles-hr-sync"),
        ("sync_tenant", TENANT),
        ("employee_id", " E-1007\u{a0}"),
    ];
    let old = member_by_hand(&engine, "Tomás Herrera", metadata(&marker)).await;
    engine.emulator.reset_calls();

    let report = engine
        .sync(&[employee("E-1007", "Tomás Herrera", &["Production"])])
        .await;

    assert_eq!(
        engine.calls("POST /v2/members"),
        0,
        "{:?}",
        engine.emulator.calls()
    );
    let member = engine.member_of("E-1007");
    assert_eq!(member.id, old);
    assert_eq!(engine.live_members().len(), 1);
    assert_eq!(report.failures().count(), 0);
}
