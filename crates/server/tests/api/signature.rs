//! Push signatures over the method, the request target and the raw body (field case B20
//! and the cross-request replays of the security review).

use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use serde_json::json;
use sync_server::signature::{SignedRequest, sign};
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

/// `X-Signature` for `method target` with `body`, signed at `timestamp`.
fn signature(method: &str, target: &str, body: &[u8], timestamp: &str) -> String {
    let request = SignedRequest {
        method,
        target,
        body,
    };
    sign(&SecretString::from(SECRET), timestamp, request)
}

/// Sends `method target` with `body` and the given signature headers.
async fn send_signed(
    app: &TestApp,
    method: Method,
    target: &str,
    body: &[u8],
    timestamp: &str,
    signature: &str,
) -> reqwest::Response {
    app.http
        .request(method, app.url(target))
        .bearer_auth(&app.api_key)
        .header("content-type", "application/json")
        .header("x-signature-timestamp", timestamp)
        .header("x-signature", signature)
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
}

/// A `PUT` of employee `id`, signed for exactly that request.
async fn signed_put(app: &TestApp, id: &str, body: &str) -> reqwest::Response {
    let target = format!("/api/v1/employees/{id}");
    let ts = now();
    let sig = signature("PUT", &target, body.as_bytes(), &ts);
    send_signed(app, Method::PUT, &target, body.as_bytes(), &ts, &sig).await
}

fn record(name: &str, version: i64) -> String {
    format!("{{\"name\":\"{name}\",\"status\":\"active\",\"version\":{version}}}")
}

/// `(version, present)` of the stored employee.
async fn stored(app: &TestApp, id: &str) -> Option<(i64, bool)> {
    let id = hr_domain::EmployeeId::parse(id).unwrap();
    let stored = app.store.employee(TENANT, &id).await.unwrap();
    stored.map(|s| (s.version, s.present))
}

async fn stored_name(app: &TestApp, id: &str) -> Option<String> {
    let id = hr_domain::EmployeeId::parse(id).unwrap();
    let stored = app.store.employee(TENANT, &id).await.unwrap();
    stored.map(|s| s.employee.name.as_str().to_owned())
}

async fn job_count(app: &TestApp) -> usize {
    app.store.jobs(Some(TENANT), None, 100).await.unwrap().len()
}

/// Changes stored for one employee. Unlike the queue (a worker may already have finished
/// the job), this does not move once the request is answered.
async fn stored_changes(app: &TestApp, employee: &str) -> usize {
    let id = hr_domain::EmployeeId::parse(employee).unwrap();
    let history = app.store.history(TENANT, &id, 100).await.unwrap();
    history
        .iter()
        .filter(|h| h.entry.kind == "hr_change")
        .count()
}

#[tokio::test]
async fn bodies_signed_over_their_exact_bytes_are_accepted() {
    let app = with_secret().await;
    let spaced = "{\"name\":   \"Zoë Dvořák\",  \"status\":\"active\" , \"version\": 1}";
    let escaped = r#"{"name":"Zo\u00eb Dvo\u0159\u00e1k","status":"active","version":1}"#;

    let first = signed_put(&app, "E-1017", spaced).await;
    let second = signed_put(&app, "E-1018", escaped).await;

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
    let target = "/api/v1/employees/E-1019";
    let body = "{\"name\":\"Zoë Dvořák\",\"status\":\"active\",\"version\":1}";
    let tampered = body.replace("\"version\":1", "\"version\":7");
    let ts = now();
    let old = (unix_now() - 301).to_string();

    let changed = send_signed(
        &app,
        Method::PUT,
        target,
        tampered.as_bytes(),
        &ts,
        &signature("PUT", target, body.as_bytes(), &ts),
    )
    .await;
    let expired = send_signed(
        &app,
        Method::PUT,
        target,
        body.as_bytes(),
        &old,
        &signature("PUT", target, body.as_bytes(), &old),
    )
    .await;
    let unsigned = app
        .put_employee("E-1019", &serde_json::from_str(body).unwrap())
        .await;

    assert_eq!(changed.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(expired.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unsigned.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(stored_name(&app, "E-1019").await, None);
    assert_eq!(job_count(&app).await, 0);
    app.shutdown().await;
}

#[tokio::test]
async fn a_signature_made_for_one_employee_is_refused_on_another() {
    let app = with_secret().await;
    let body = record("Zoë Dvořák", 1);
    let ts = now();
    let sig = signature("PUT", "/api/v1/employees/E-1018", body.as_bytes(), &ts);

    let moved = send_signed(
        &app,
        Method::PUT,
        "/api/v1/employees/E-ATTACK-1",
        body.as_bytes(),
        &ts,
        &sig,
    )
    .await;

    assert_eq!(moved.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(stored(&app, "E-ATTACK-1").await, None);
    assert_eq!(job_count(&app).await, 0);
    // A refused attempt does not use up the signature of the genuine request.
    let genuine = send_signed(
        &app,
        Method::PUT,
        "/api/v1/employees/E-1018",
        body.as_bytes(),
        &ts,
        &sig,
    )
    .await;
    assert_eq!(genuine.status(), StatusCode::ACCEPTED);
    app.shutdown().await;
}

#[tokio::test]
async fn a_signature_made_for_another_method_is_refused() {
    let app = with_secret().await;
    assert_eq!(
        signed_put(&app, "E-1020", &record("Ada", 1)).await.status(),
        StatusCode::ACCEPTED
    );
    let target = "/api/v1/employees/E-1020?version=99";
    let ts = now();
    let sig = signature("PUT", target, b"", &ts);

    let deleted = send_signed(&app, Method::DELETE, target, b"", &ts, &sig).await;

    assert_eq!(deleted.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(stored(&app, "E-1020").await, Some((1, true)));
    assert_eq!(stored_changes(&app, "E-1020").await, 1);
    app.shutdown().await;
}

#[tokio::test]
async fn a_signature_made_for_another_version_query_is_refused() {
    let app = with_secret().await;
    assert_eq!(
        signed_put(&app, "E-1021", &record("Ada", 1)).await.status(),
        StatusCode::ACCEPTED
    );
    let ts = now();
    let sig = signature("DELETE", "/api/v1/employees/E-1021?version=2", b"", &ts);

    let forged = send_signed(
        &app,
        Method::DELETE,
        "/api/v1/employees/E-1021?version=9223372036854775807",
        b"",
        &ts,
        &sig,
    )
    .await;
    let other_employee = send_signed(
        &app,
        Method::DELETE,
        "/api/v1/employees/E-1022?version=2",
        b"",
        &ts,
        &sig,
    )
    .await;

    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(other_employee.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(stored(&app, "E-1021").await, Some((1, true)));
    assert_eq!(stored(&app, "E-1022").await, None);
    // Nothing was locked at a huge version: the genuine delete and a later create apply.
    let genuine = send_signed(
        &app,
        Method::DELETE,
        "/api/v1/employees/E-1021?version=2",
        b"",
        &ts,
        &sig,
    )
    .await;
    assert_eq!(genuine.status(), StatusCode::ACCEPTED);
    assert_eq!(stored(&app, "E-1021").await, Some((2, false)));
    let back = signed_put(&app, "E-1021", &record("Ada", 3)).await;
    assert_eq!(
        json_of(back, StatusCode::ACCEPTED).await["status"],
        "accepted"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn the_target_is_signed_as_sent_without_decoding() {
    let app = with_secret().await;
    let body = record("Ada", 1);
    let sent = "/api/v1/employees/E%2D1023";
    let ts = now();

    let decoded = send_signed(
        &app,
        Method::PUT,
        sent,
        body.as_bytes(),
        &ts,
        &signature("PUT", "/api/v1/employees/E-1023", body.as_bytes(), &ts),
    )
    .await;
    let as_sent = send_signed(
        &app,
        Method::PUT,
        sent,
        body.as_bytes(),
        &ts,
        &signature("PUT", sent, body.as_bytes(), &ts),
    )
    .await;

    assert_eq!(decoded.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(as_sent.status(), StatusCode::ACCEPTED);
    assert_eq!(stored(&app, "E-1023").await, Some((1, true)));
    app.shutdown().await;
}

#[tokio::test]
async fn a_signed_request_replayed_within_the_window_is_refused() {
    let app = with_secret().await;
    let target = "/api/v1/employees/E-1024";
    let body = record("Ada", 1);
    let ts = now();
    let sig = signature("PUT", target, body.as_bytes(), &ts);
    let shouted = sig.replace("sha256=", "").to_uppercase();
    let shouted = format!("sha256={shouted}");

    let first = send_signed(&app, Method::PUT, target, body.as_bytes(), &ts, &sig).await;
    let again = send_signed(&app, Method::PUT, target, body.as_bytes(), &ts, &sig).await;
    let upper_hex = send_signed(&app, Method::PUT, target, body.as_bytes(), &ts, &shouted).await;

    assert_eq!(first.status(), StatusCode::ACCEPTED);
    let refused = json_of(again, StatusCode::UNAUTHORIZED).await;
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already used"),
        "{refused}"
    );
    assert_eq!(upper_hex.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(stored_changes(&app, "E-1024").await, 1);
    // The same change signed anew (another timestamp) passes the signature check and is
    // an ordinary write of a version already stored.
    let resigned_at = (unix_now() + 1).to_string();
    let resigned = send_signed(
        &app,
        Method::PUT,
        target,
        body.as_bytes(),
        &resigned_at,
        &signature("PUT", target, body.as_bytes(), &resigned_at),
    )
    .await;
    assert_eq!(json_of(resigned, StatusCode::OK).await["status"], "stale");
    app.shutdown().await;
}
