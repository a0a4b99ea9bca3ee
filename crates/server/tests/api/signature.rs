//! Push signatures over the raw body (field case B20).

use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use serde_json::json;
use sync_server::signature::sign;
use sync_store::Store;

use crate::helpers::{TENANT, TestApp, json_of, spawn_app};

const SECRET: &str = "whsec_test_0123456789";

async fn with_secret() -> TestApp {
    let app = spawn_app().await;
    let set = app
        .manage(Method::PUT, "/tenants/acme/signing-secret")
        .json(&json!({"secret": SECRET}))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), StatusCode::NO_CONTENT);
    app
}

fn unix_now() -> i64 {
    hr_domain::Clock::now(&hr_domain::SystemClock).unix_timestamp()
}

fn now() -> String {
    unix_now().to_string()
}

async fn signed_put(
    app: &TestApp,
    id: &str,
    body: &[u8],
    timestamp: &str,
    signature: &str,
) -> reqwest::Response {
    app.http
        .put(app.url(&format!("/api/v1/employees/{id}")))
        .bearer_auth(&app.api_key)
        .header("content-type", "application/json")
        .header("x-signature-timestamp", timestamp)
        .header("x-signature", signature)
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
}

async fn stored_name(app: &TestApp, id: &str) -> Option<String> {
    let id = hr_domain::EmployeeId::parse(id).unwrap();
    let stored = app.store.employee(TENANT, &id).await.unwrap();
    stored.map(|s| s.employee.name.as_str().to_owned())
}

#[tokio::test]
async fn bodies_signed_over_their_exact_bytes_are_accepted() {
    let app = with_secret().await;
    let secret = SecretString::from(SECRET);
    let spaced = "{\"name\":   \"Zoë Dvořák\",  \"status\":\"active\" , \"version\": 1}";
    let escaped = r#"{"name":"Zo\u00eb Dvo\u0159\u00e1k","status":"active","version":1}"#;
    let ts = now();

    let first = signed_put(
        &app,
        "E-1017",
        spaced.as_bytes(),
        &ts,
        &sign(&secret, &ts, spaced.as_bytes()),
    )
    .await;
    let second = signed_put(
        &app,
        "E-1018",
        escaped.as_bytes(),
        &ts,
        &sign(&secret, &ts, escaped.as_bytes()),
    )
    .await;

    assert_eq!(
        json_of(first, StatusCode::ACCEPTED).await["status"],
        "accepted"
    );
    assert_eq!(
        json_of(second, StatusCode::ACCEPTED).await["status"],
        "accepted"
    );
    assert_eq!(
        stored_name(&app, "E-1017").await.as_deref(),
        Some("Zoë Dvořák")
    );
    assert_eq!(
        stored_name(&app, "E-1018").await.as_deref(),
        Some("Zoë Dvořák")
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_changed_byte_or_an_old_timestamp_is_refused_without_side_effects() {
    let app = with_secret().await;
    let secret = SecretString::from(SECRET);
    let body = "{\"name\":\"Zoë Dvořák\",\"status\":\"active\",\"version\":1}";
    let tampered = body.replace("\"version\":1", "\"version\":7");
    let ts = now();
    let old = (unix_now() - 301).to_string();

    let changed = signed_put(
        &app,
        "E-1019",
        tampered.as_bytes(),
        &ts,
        &sign(&secret, &ts, body.as_bytes()),
    )
    .await;
    let expired = signed_put(
        &app,
        "E-1019",
        body.as_bytes(),
        &old,
        &sign(&secret, &old, body.as_bytes()),
    )
    .await;
    let unsigned = app
        .put_employee("E-1019", &serde_json::from_str(body).unwrap())
        .await;

    assert_eq!(changed.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(expired.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unsigned.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(stored_name(&app, "E-1019").await, None);
    assert!(
        app.store
            .jobs(Some(TENANT), None, 100)
            .await
            .unwrap()
            .is_empty()
    );
    app.shutdown().await;
}
