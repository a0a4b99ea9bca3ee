//! The push API end to end: a change is accepted, a worker applies it to Akiles.

use reqwest::StatusCode;
use serde_json::json;
use sync_store::Store;

use crate::helpers::{TENANT, TestApp, employee, eventually, json_of, spawn_app};

#[tokio::test]
async fn an_upsert_is_accepted_and_a_worker_creates_the_member_with_its_groups() {
    let app = spawn_app().await;

    let response = app
        .put_employee(
            "E-1001",
            &employee("Marta Quiroga", &["HQ-Staff", "Sales"], 1),
        )
        .await;

    let body = json_of(response, StatusCode::ACCEPTED).await;
    assert_eq!(body["status"], "accepted");
    app.wait_until_in_sync("E-1001").await;
    let members = app.members_of("E-1001");
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].name, "Marta Quiroga");
    let mut expected = vec![app.group_id("Production"), app.group_id("Sales")];
    expected.sort();
    assert_eq!(TestApp::groups_of(&members[0]), expected);

    let state = json_of(
        app.employee_state_as(&app.api_key, "E-1001").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(state["state"], "in_sync");
    assert_eq!(state["member_id"], members[0].id.as_str());
    assert_eq!(state["pending_job"], false);
    assert!(state["last_applied_at"].is_string());
    let id = hr_domain::EmployeeId::parse("E-1001").unwrap();
    let history = app.store.history(TENANT, &id, 50).await.unwrap();
    let kinds: Vec<&str> = history.iter().map(|h| h.entry.kind.as_str()).collect();
    assert_eq!(kinds.first(), Some(&"hr_change"), "{kinds:?}");
    assert!(
        kinds.contains(&"plan") && kinds.contains(&"call"),
        "{kinds:?}"
    );
    assert_eq!(history[0].entry.detail["action"], "upsert");
    assert_eq!(history[0].entry.detail["version"], 1);
    app.shutdown().await;
}

#[tokio::test]
async fn a_transfer_deletes_one_association_and_creates_one() {
    let app = spawn_app().await;
    app.put_employee("E-1002", &employee("Jonas Peltier", &["HQ-Staff"], 1))
        .await;
    app.wait_until_in_sync("E-1002").await;
    app.emulator.reset_calls();

    let response = app
        .put_employee("E-1002", &employee("Jonas Peltier", &["Sales"], 2))
        .await;

    assert_eq!(response.status(), StatusCode::ACCEPTED);
    app.wait_until_in_sync("E-1002").await;
    let deleted = app
        .calls("DELETE /v2/members/{member_id}/group_associations/{member_group_association_id}");
    let created = app.calls("POST /v2/members/{member_id}/group_associations");
    assert_eq!((deleted, created), (1, 1), "{:?}", app.emulator.calls());
    assert_eq!(app.emulator.write_calls(), 2);
    let members = app.members_of("E-1002");
    assert_eq!(TestApp::groups_of(&members[0]), vec![app.group_id("Sales")]);
    app.shutdown().await;
}

#[tokio::test]
async fn a_delete_removes_the_member() {
    let app = spawn_app().await;
    app.put_employee("E-1003", &employee("Ann Leaver", &["HQ-Staff"], 1))
        .await;
    app.wait_until_in_sync("E-1003").await;

    let response = app.delete_employee("E-1003", 2).await;

    assert_eq!(
        json_of(response, StatusCode::ACCEPTED).await["status"],
        "accepted"
    );
    eventually("the member to be deleted", || async {
        app.members_of("E-1003").is_empty()
    })
    .await;
    app.wait_until_in_sync("E-1003").await;
    app.shutdown().await;
}

#[tokio::test]
async fn a_stale_version_is_ignored_and_the_same_content_is_unchanged() {
    let app = spawn_app().await;
    app.put_employee("E-1004", &employee("New Name", &["HQ-Staff"], 10))
        .await;
    app.wait_until_in_sync("E-1004").await;

    let stale = app
        .put_employee("E-1004", &employee("Old Name", &["Sales"], 9))
        .await;
    let same = app
        .put_employee("E-1004", &employee("New Name", &["HQ-Staff"], 11))
        .await;

    assert_eq!(json_of(stale, StatusCode::OK).await["status"], "stale");
    assert_eq!(json_of(same, StatusCode::OK).await["status"], "unchanged");
    app.wait_for_idle_queue().await;
    let members = app.members_of("E-1004");
    assert_eq!(members[0].name, "New Name");
    assert_eq!(
        TestApp::groups_of(&members[0]),
        vec![app.group_id("Production")]
    );
    app.shutdown().await;
}

#[tokio::test]
async fn bad_input_names_the_field_and_stores_nothing() {
    let app = spawn_app().await;
    let mut body = employee("Bad Mail", &["Sales"], 1);
    body["email"] = json!("not-an-address");

    let invalid = app.put_employee("E-1005", &body).await;
    let no_version = app
        .put_employee("E-1005", &json!({"name": "A", "status": "active"}))
        .await;
    let mismatch = app
        .put_employee(
            "E-1005",
            &json!({"id": "E-9", "name": "A", "status": "active", "version": 1}),
        )
        .await;
    let malformed = app
        .http
        .put(app.url("/api/v1/employees/E-1005"))
        .bearer_auth(&app.api_key)
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();

    let invalid = json_of(invalid, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(invalid["error"]["field"], "email");
    assert!(invalid["error"]["request_id"].is_string());
    let no_version = json_of(no_version, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(no_version["error"]["field"], "version");
    let mismatch = json_of(mismatch, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(mismatch["error"]["field"], "id");
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    for group in ["Ops\u{1b}[2J", &"x".repeat(201)] {
        let bad_group = app
            .put_employee("E-1005", &employee("A", &[group], 1))
            .await;
        let bad_group = json_of(bad_group, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(bad_group["error"]["field"], "groups[0]");
    }
    let id = hr_domain::EmployeeId::parse("E-1005").unwrap();
    assert!(app.store.employee(TENANT, &id).await.unwrap().is_none());
    app.shutdown().await;
}

#[tokio::test]
async fn a_snapshot_with_one_bad_record_is_refused_whole() {
    let app = spawn_app().await;
    let body = json!({"version": 1, "employees": [
        {"id": "E-2001", "name": "Good One", "status": "active"},
        {"id": "E-2002", "name": "Bad One", "status": "active", "start_date": "2026/01/01"},
    ]});

    let response = app.post_snapshot(&body).await;

    let body = json_of(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(body["error"]["field"], "employees[1].start_date");
    assert!(app.store.employees(TENANT).await.unwrap().is_empty());
    app.shutdown().await;
}

#[tokio::test]
async fn an_empty_snapshot_deletes_nobody() {
    let app = spawn_app().await;
    app.put_employee("E-2003", &employee("Stays Here", &["Sales"], 1))
        .await;
    app.wait_until_in_sync("E-2003").await;

    let response = app
        .post_snapshot(&json!({"version": 5, "employees": []}))
        .await;

    let body = json_of(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(body["error"]["code"], "refused");
    assert_eq!(app.members_of("E-2003").len(), 1);
    let runs = app.store.runs(TENANT, 5).await.unwrap();
    let push = runs
        .iter()
        .find(|r| r.kind == "push")
        .expect("a recorded run");
    assert_eq!(push.summary["suspicious"], true, "{:?}", push.summary);
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("akiles_hr_sync_suspicious_runs_total{tenant=\"acme\"}"),
        "{metrics}"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_snapshot_upserts_the_listed_and_removes_the_missing() {
    let app = spawn_app().await;
    app.put_employee("E-2004", &employee("Gone Soon", &["Sales"], 1))
        .await;
    app.wait_until_in_sync("E-2004").await;

    let response = app
        .post_snapshot(&json!({"version": 2, "employees": [
            {"id": "E-2005", "name": "New Hire", "groups": ["Sales"], "status": "active"},
        ]}))
        .await;

    let body = json_of(response, StatusCode::ACCEPTED).await;
    assert_eq!(
        (body["stored"].as_u64(), body["removed"].as_u64()),
        (Some(1), Some(1))
    );
    app.wait_for_idle_queue().await;
    eventually("the snapshot to be applied", || async {
        app.members_of("E-2004").is_empty() && app.members_of("E-2005").len() == 1
    })
    .await;
    app.shutdown().await;
}

#[tokio::test]
async fn pushes_are_held_to_the_file_import_rules() {
    let app = spawn_app().await;
    let mut backwards = employee("A", &["Sales"], 1);
    backwards["start_date"] = json!("2026-05-01");
    backwards["end_date"] = json!("2026-04-01");
    let mut reserved = employee("A", &["Sales"], 1);
    reserved["attributes"] = json!({"managed_by": "me"});
    let twice = json!({"version": 1, "employees": [
        {"id": "E-1", "name": "A", "status": "active", "email": "same@example.com"},
        {"id": "E-2", "name": "B", "status": "active", "email": "SAME@example.com"},
    ]});

    let backwards = app.put_employee("E-1006", &backwards).await;
    let reserved = app.put_employee("E-1006", &reserved).await;
    let twice = app.post_snapshot(&twice).await;

    let backwards = json_of(backwards, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(backwards["error"]["field"], "end_date");
    let reserved = json_of(reserved, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(reserved["error"]["field"], "attributes.managed_by");
    let twice = json_of(twice, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(twice.to_string().contains("employees[1].email"), "{twice}");
    assert!(app.store.employees(TENANT).await.unwrap().is_empty());
    app.shutdown().await;
}
