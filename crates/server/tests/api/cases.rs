//! Field cases B01 and B04 (first part) through the push API and the workers.

use akiles_emulator::{FaultEffect, FaultRule, Faults};
use hr_domain::EmployeeId;
use reqwest::StatusCode;
use sync_store::Store;

use crate::helpers::{Options, TENANT, TestApp, employee, eventually, spawn_app_with};

fn hang_member_creates(ms: u64) -> Faults {
    Faults {
        rules: vec![FaultRule {
            method: "POST".into(),
            path: "/v2/members".into(),
            nth: None,
            body_contains: None,
            effect: FaultEffect::Hang { hang_ms: ms },
        }],
        ..Faults::default()
    }
}

/// B01: a create and an update 5 ms apart, two workers, a slow create: one member.
#[tokio::test]
async fn a_create_and_an_update_in_quick_succession_make_one_member() {
    let options = Options {
        concurrency: 3,
        ..Options::default()
    };
    let app = spawn_app_with(options).await;
    app.set_faults(hang_member_creates(300));

    let created = app
        .put_employee("E-1001", &employee("Marta Quiroga", &["HQ-Staff"], 1))
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let updated = app
        .put_employee("E-1001", &employee("Marta Quiroga Ruiz", &["HQ-Staff"], 2))
        .await;

    assert_eq!(created.status(), StatusCode::ACCEPTED);
    assert_eq!(updated.status(), StatusCode::ACCEPTED);
    app.wait_until_in_sync("E-1001").await;
    assert_eq!(
        app.calls("POST /v2/members"),
        1,
        "{:?}",
        app.emulator.calls()
    );
    let members = app.members_of("E-1001");
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].name, "Marta Quiroga Ruiz");
    assert_eq!(
        TestApp::groups_of(&members[0]),
        vec![app.group_id("Production")]
    );
    app.shutdown().await;
}

/// B04: a delete pushed while another employee's create is being applied is stored
/// before the 202 and applied exactly once.
#[tokio::test]
async fn a_delete_arriving_during_another_create_is_applied_exactly_once() {
    let app = spawn_app_with(Options::default()).await;
    app.put_employee("E-1004", &employee("Leaving Soon", &["Sales"], 1))
        .await;
    app.wait_until_in_sync("E-1004").await;
    app.set_faults(hang_member_creates(300));
    app.emulator.reset_calls();

    app.put_employee("E-1005", &employee("Joining Now", &["Sales"], 1))
        .await;
    eventually("the create to be in flight", || async {
        app.calls("POST /v2/members") == 1
    })
    .await;
    let deleted = app.delete_employee("E-1004", 2).await;

    assert_eq!(deleted.status(), StatusCode::ACCEPTED);
    let id = EmployeeId::parse("E-1004").unwrap();
    let stored = app.store.employee(TENANT, &id).await.unwrap().unwrap();
    assert!(
        !stored.present,
        "the delete was answered before it was stored"
    );
    app.wait_until_in_sync("E-1004").await;
    app.wait_until_in_sync("E-1005").await;
    assert_eq!(app.calls("DELETE /v2/members/{member_id}"), 1);
    assert!(app.members_of("E-1004").is_empty());
    assert_eq!(app.members_of("E-1005").len(), 1);
    app.shutdown().await;
}
