//! The deletion guard through the push and management APIs (B15), the snapshot as the
//! repair of a lost delete (B04, second part), and per-employee jobs that respect a held
//! deletion.

use hr_domain::EmployeeId;
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use sync_store::{HoldState, NewHold, Store};

use crate::helpers::{TENANT, TestApp, employee, eventually, json_of, prepare_tenant, spawn_app};

const MEMBER_DELETES: &str = "DELETE /v2/members/{member_id}";

/// A snapshot listing `E-{first}` … `E-{last}`.
fn roster(version: i64, first: u32, last: u32) -> Value {
    let employees: Vec<Value> = (first..=last)
        .map(|n| {
            json!({"id": format!("E-{n}"), "name": format!("Person {n}"),
                         "groups": ["Sales"], "status": "active"})
        })
        .collect();
    json!({"version": version, "employees": employees})
}

async fn post_snapshot_as(app: &TestApp, key: &str, body: &Value) -> Response {
    app.http
        .post(app.url("/api/v1/snapshot"))
        .bearer_auth(key)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// Creates `tenant` with the B15 limits (5 members or 10 %); returns its push key.
async fn guarded_tenant(app: &TestApp, tenant: &str) -> String {
    let key = prepare_tenant(app.store.as_ref(), &app.emulator, tenant, true).await;
    let settings = json!({
        "mapping": {"groups": {"Sales": ["Sales"]}},
        "deletion_guard": {"max_deletions": 5, "max_deletion_percent": 10},
        "reconcile_every_minutes": 0,
    });
    app.store
        .save_tenant_settings(tenant, &settings)
        .await
        .unwrap();
    key
}

fn live_members(app: &TestApp) -> usize {
    app.emulator
        .members()
        .iter()
        .filter(|m| !m.is_deleted)
        .count()
}

async fn held(app: &TestApp, tenant: &str) -> Value {
    let response = app
        .manage(Method::GET, &format!("/tenants/{tenant}/held-deletions"))
        .send()
        .await
        .unwrap();
    json_of(response, StatusCode::OK).await
}

async fn decide(app: &TestApp, tenant: &str, decision: &str, body: Value) -> Response {
    let path = format!("/tenants/{tenant}/held-deletions/{decision}");
    app.manage(Method::POST, &path)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// B15: a snapshot dropping 28 of 40 employees holds every deletion, an approval applies
/// exactly those, a single leaver is deleted at once, and a rejection keeps the members
/// through a repeated snapshot.
#[tokio::test]
async fn b15_a_snapshot_deleting_most_members_holds_the_deletions_for_an_admin() {
    // A tenant of its own, so the per-tenant metric is this test's alone.
    let tenant = "b15";
    let app = spawn_app().await;
    let key = guarded_tenant(&app, tenant).await;
    let all = post_snapshot_as(&app, &key, &roster(1, 1, 40)).await;
    assert_eq!(all.status(), StatusCode::ACCEPTED);
    app.wait_for_idle_queue().await;
    assert_eq!(live_members(&app), 40);

    let twelve = post_snapshot_as(&app, &key, &roster(2, 1, 12)).await;

    assert_eq!(twelve.status(), StatusCode::ACCEPTED);
    app.wait_for_idle_queue().await;
    assert_eq!(app.calls(MEMBER_DELETES), 0, "a held deletion was made");
    assert_eq!(live_members(&app), 40);
    let listed = held(&app, tenant).await;
    assert_eq!(listed["waiting"], 28);
    assert!(listed["reason"].as_str().unwrap().contains("28 of the 40"));
    assert_eq!(listed["deletions"][0]["state"], "held");
    eventually("the metric to show the held deletions", || async {
        let metrics = app.get("/metrics").await.text().await.unwrap();
        metrics.contains("akiles_hr_sync_held_deletions{tenant=\"b15\"} 28")
    })
    .await;

    let unknown = decide(&app, tenant, "approve", json!({"employees": ["E-99"]})).await;
    let none = decide(&app, tenant, "approve", json!({"employees": []})).await;
    let approved = decide(&app, tenant, "approve", json!({})).await;

    let unknown = json_of(unknown, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(unknown["error"]["field"], "employees[0]");
    let none = json_of(none, StatusCode::ACCEPTED).await;
    assert_eq!(none["changed"], 0);
    assert_eq!(
        none["job_id"],
        json!(null),
        "nothing approved, no reconcile queued"
    );
    assert_eq!(json_of(approved, StatusCode::ACCEPTED).await["changed"], 28);
    app.wait_for_idle_queue().await;
    assert_eq!(app.calls(MEMBER_DELETES), 28);
    assert_eq!(live_members(&app), 12);
    assert_eq!(held(&app, tenant).await["deletions"], json!([]));

    let one_leaver = post_snapshot_as(&app, &key, &roster(3, 1, 11)).await;

    assert_eq!(one_leaver.status(), StatusCode::ACCEPTED);
    app.wait_for_idle_queue().await;
    assert_eq!(app.calls(MEMBER_DELETES), 29, "a single leaver is not held");
    assert!(app.members_of("E-12").is_empty());

    let seven_leavers = roster(4, 1, 4);
    post_snapshot_as(&app, &key, &seven_leavers).await;
    app.wait_for_idle_queue().await;
    assert_eq!(held(&app, tenant).await["waiting"], 7);
    let rejected = decide(&app, tenant, "reject", json!({"employees": null})).await;
    assert_eq!(json_of(rejected, StatusCode::OK).await["changed"], 7);
    let again = post_snapshot_as(&app, &key, &seven_leavers).await;

    assert_eq!(json_of(again, StatusCode::OK).await["status"], "unchanged");
    app.wait_for_idle_queue().await;
    assert_eq!(
        app.calls(MEMBER_DELETES),
        29,
        "a rejected deletion was made"
    );
    assert_eq!(live_members(&app), 11);
    let listed = held(&app, tenant).await;
    assert_eq!(listed["waiting"], 0, "rejected deletions were held again");
    let states: Vec<&Value> = listed["deletions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["state"])
        .collect();
    assert_eq!(states, vec!["rejected"; 7]);
    app.shutdown().await;
}

/// B04, second part: the delete of E-1004 never arrives; the next snapshot, which no
/// longer lists E-1004, deletes its member exactly once.
#[tokio::test]
async fn b04_a_lost_delete_is_repaired_by_the_next_snapshot() {
    let app = spawn_app().await;
    for id in ["E-1004", "E-1005"] {
        app.put_employee(id, &employee("Some One", &["Sales"], 1))
            .await;
        app.wait_until_in_sync(id).await;
    }
    let member = app.members_of("E-1004")[0].id.clone();

    let response = app
        .post_snapshot(&json!({"version": 2, "employees": [
            {"id": "E-1005", "name": "Some One", "groups": ["Sales"], "status": "active"},
        ]}))
        .await;

    assert_eq!(json_of(response, StatusCode::ACCEPTED).await["removed"], 1);
    app.wait_for_idle_queue().await;
    assert!(app.members_of("E-1004").is_empty());
    assert_eq!(app.calls(MEMBER_DELETES), 1);
    let gone = app.emulator.members().into_iter().find(|m| m.id == member);
    assert!(gone.is_none_or(|m| m.is_deleted));
    assert_eq!(app.members_of("E-1005").len(), 1);
    app.shutdown().await;
}

/// A removal pushed for one employee whose deletion an admin has not yet approved keeps
/// the member; the approval deletes it.
#[tokio::test]
async fn an_employee_job_does_not_delete_a_member_whose_deletion_is_held() {
    let app = spawn_app().await;
    for id in ["E-5001", "E-5002"] {
        app.put_employee(id, &employee("Held Back", &["Sales"], 1))
            .await;
        app.wait_until_in_sync(id).await;
    }
    let id = EmployeeId::parse("E-5001").unwrap();
    let hold = NewHold {
        employee_id: id.clone(),
        member_ids: vec![app.members_of("E-5001")[0].id.clone()],
        record_version: Some(1),
    };
    app.store
        .hold_deletions(TENANT, &[hold], None, "held by the test")
        .await
        .unwrap();

    let removed = app.delete_employee("E-5001", 2).await;

    assert_eq!(removed.status(), StatusCode::ACCEPTED);
    app.wait_for_idle_queue().await;
    assert_eq!(
        app.members_of("E-5001").len(),
        1,
        "a held deletion was made"
    );
    assert_eq!(app.calls(MEMBER_DELETES), 0);
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("kind=\"sync_employee\",outcome=\"held\"}"),
        "{metrics}"
    );

    let approved = decide(&app, TENANT, "approve", json!({"employees": ["E-5001"]})).await;

    assert_eq!(json_of(approved, StatusCode::ACCEPTED).await["changed"], 1);
    app.wait_for_idle_queue().await;
    assert!(app.members_of("E-5001").is_empty());
    assert_eq!(app.calls(MEMBER_DELETES), 1);
    let rows = app.store.held_deletions(TENANT).await.unwrap();
    assert!(
        rows.iter().all(|h| h.state != HoldState::Approved),
        "the applied approval was not cleared"
    );
    app.shutdown().await;
}
