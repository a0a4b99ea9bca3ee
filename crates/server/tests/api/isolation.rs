//! Tenant isolation and management authentication.

use reqwest::{Method, StatusCode};
use serde_json::json;
use sync_store::Store;

use crate::helpers::{
    Options, TENANT, employee, json_of, prepare_tenant, spawn_app, spawn_app_with,
};

#[tokio::test]
async fn one_tenants_key_can_neither_read_nor_change_another_tenants_employees() {
    let app = spawn_app().await;
    let other_key = prepare_tenant(app.store.as_ref(), &app.emulator, "globex", false).await;
    app.put_employee("E-3001", &employee("Acme Person", &["Sales"], 1))
        .await;
    app.wait_until_in_sync("E-3001").await;

    let read = app.employee_state_as(&other_key, "E-3001").await;
    let write = app
        .put_employee_as(
            &other_key,
            "E-3001",
            &employee("Hijacked", &["HQ-Staff"], 99),
        )
        .await;

    assert_eq!(read.status(), StatusCode::NOT_FOUND);
    assert_eq!(write.status(), StatusCode::ACCEPTED);
    let id = hr_domain::EmployeeId::parse("E-3001").unwrap();
    let acme = app.store.employee(TENANT, &id).await.unwrap().unwrap();
    assert_eq!(acme.version, 1);
    assert_eq!(acme.employee.name.as_str(), "Acme Person");
    let globex = app.store.employee("globex", &id).await.unwrap().unwrap();
    assert_eq!(globex.employee.name.as_str(), "Hijacked");
    app.shutdown().await;
}

#[tokio::test]
async fn a_missing_or_wrong_key_is_unauthorized() {
    let app = spawn_app().await;

    let none = app
        .http
        .put(app.url("/api/v1/employees/E-1"))
        .json(&employee("A", &[], 1))
        .send()
        .await
        .unwrap();
    let wrong = app
        .put_employee_as("ahs_not_a_key", "E-1", &employee("A", &[], 1))
        .await;

    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        json_of(wrong, StatusCode::UNAUTHORIZED).await["error"]["code"],
        "unauthorized"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn the_management_api_needs_the_management_token() {
    let app = spawn_app().await;

    let anonymous = app.get("/api/v1/manage/tenants").await;
    let push_key = app
        .http
        .get(app.url("/api/v1/manage/tenants"))
        .bearer_auth(&app.api_key)
        .send()
        .await
        .unwrap();
    let listed = app.manage(Method::GET, "/tenants").send().await.unwrap();

    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(push_key.status(), StatusCode::UNAUTHORIZED);
    let listed = json_of(listed, StatusCode::OK).await;
    assert_eq!(listed[0]["key"], TENANT);
    app.shutdown().await;
}

#[tokio::test]
async fn without_a_management_token_the_management_api_is_not_there() {
    let options = Options {
        management_token: false,
        ..Options::default()
    };
    let app = spawn_app_with(options).await;

    let response = app.manage(Method::GET, "/tenants").send().await.unwrap();

    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    app.shutdown().await;
}

#[tokio::test]
async fn tenants_keys_and_connection_status_are_managed_without_showing_tokens() {
    let app = spawn_app().await;

    let created = app
        .manage(Method::POST, "/tenants")
        .json(&json!({"key": "initech"}))
        .send()
        .await
        .unwrap();
    let duplicate = app
        .manage(Method::POST, "/tenants")
        .json(&json!({"key": "initech"}))
        .send()
        .await
        .unwrap();
    let key = app
        .manage(Method::POST, "/tenants/initech/api-keys")
        .json(&json!({"label": "hr system"}))
        .send()
        .await
        .unwrap();
    let detail = app
        .manage(Method::GET, "/tenants/acme")
        .send()
        .await
        .unwrap();

    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(duplicate.status(), StatusCode::CONFLICT);
    let key = json_of(key, StatusCode::CREATED).await;
    let secret = key["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("ahs_"));
    let push = app
        .put_employee_as(&secret, "E-1", &employee("Initech Person", &[], 1))
        .await;
    assert_eq!(push.status(), StatusCode::ACCEPTED);
    let detail_text = detail.text().await.unwrap();
    assert!(detail_text.contains("\"connected\""), "{detail_text}");
    assert!(
        !detail_text.contains(&app.emulator.api_key()),
        "a token leaked"
    );
    let keys = app
        .manage(Method::GET, "/tenants/initech/api-keys")
        .send()
        .await
        .unwrap();
    let keys_text = keys.text().await.unwrap();
    assert!(!keys_text.contains(&secret), "a key secret leaked");

    let revoked = app
        .manage(
            Method::DELETE,
            &format!("/tenants/initech/api-keys/{}", key["id"]),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    let refused = app
        .put_employee_as(&secret, "E-1", &employee("Initech Person", &[], 2))
        .await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    app.shutdown().await;
}
