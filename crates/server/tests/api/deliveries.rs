//! Credential e-mails through the service: settings, the write-only SMTP password, the
//! worker queueing and the delivery loop sending to a real SMTP server.

use reqwest::{Method, StatusCode};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use sync_store::{CredentialKind, DeliveryState, NewDelivery, Store};

use std::time::Duration;

use crate::helpers::{TENANT, TestApp, eventually, json_of, prepare_tenant, spawn_app};

#[path = "../../../delivery/tests/delivery/smtp.rs"]
#[expect(
    dead_code,
    reason = "the SMTP helper is shared with the delivery suite"
)]
mod smtp;

use smtp::{BlackHole, SmtpServer};

fn settings_body(port: u16, delivery_extra: Value) -> Value {
    let mut delivery = json!({
        "pin": true,
        "smtp": {
            "host": "127.0.0.1",
            "port": port,
            "security": "none",
            "username": "mailer",
            "from": "Acme Doors <doors@example.com>",
        },
    });
    if let (Some(base), Some(extra)) = (delivery.as_object_mut(), delivery_extra.as_object()) {
        base.extend(extra.clone());
    }
    json!({
        "mapping": {"groups": {"Sales": ["Sales"]}},
        "credentials": {"pin": true},
        "member_name_max_bytes": 255,
        "reconcile_every_minutes": 0,
        "delivery": delivery,
    })
}

async fn put_settings(app: &TestApp, body: &Value) -> reqwest::Response {
    let path = format!("/tenants/{TENANT}/settings");
    app.manage(Method::PUT, &path)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn list_deliveries(app: &TestApp) -> reqwest::Response {
    let path = format!("/tenants/{TENANT}/deliveries");
    app.manage(Method::GET, &path).send().await.unwrap()
}

async fn put_password(app: &TestApp, password: &str) -> reqwest::Response {
    let path = format!("/tenants/{TENANT}/smtp-password");
    let body = json!({ "password": password });
    app.manage(Method::PUT, &path)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_pushed_employees_new_pin_is_sent_by_the_delivery_loop() {
    let app = spawn_app().await;
    let server = SmtpServer::with_login("mailer", "smtp-pass-1");
    let saved = put_settings(&app, &settings_body(server.port, json!({}))).await;
    assert_eq!(saved.status(), StatusCode::ACCEPTED);
    assert_eq!(
        put_password(&app, "smtp-pass-1").await.status(),
        StatusCode::NO_CONTENT
    );
    app.wait_for_idle_queue().await;

    let mut body = crate::helpers::employee("Marta Quiroga", &["Sales"], 1);
    body["email"] = json!("marta.quiroga@example.com");
    app.put_employee("E-1", &body).await;

    eventually("the PIN e-mail", || async { !server.received().is_empty() }).await;
    let message = &server.received()[0];
    assert_eq!(message.rcpt_tos, ["marta.quiroga@example.com"]);
    assert_eq!(message.login.as_deref(), Some("mailer"));
    eventually("the delivery marked sent", || async {
        let listed = list_deliveries(&app).await;
        let listed = json_of(listed, StatusCode::OK).await;
        listed[0]["state"] == "sent"
    })
    .await;
    let listed = list_deliveries(&app).await;
    let listed = json_of(listed, StatusCode::OK).await;
    assert_eq!(listed[0]["employee_id"], "E-1");
    assert_eq!(listed[0]["credential"], "pin");
    assert!(!listed.to_string().contains("marta.quiroga"));
    eventually("the sent e-mail counted", || async {
        let metrics = app.get("/metrics").await.text().await.unwrap();
        metrics.contains("akiles_hr_sync_deliveries_total{outcome=\"sent\"}")
    })
    .await;
    app.shutdown().await;
}

#[tokio::test]
async fn the_smtp_password_is_sealed_write_only_and_clearable() {
    let app = spawn_app().await;
    let path = format!("/tenants/{TENANT}/smtp-password");

    let set = put_password(&app, "smtp-pass-2").await;
    let stored = app.store.smtp_password(TENANT).await.unwrap();
    let empty = put_password(&app, "").await;
    let cleared = app.manage(Method::DELETE, &path).send().await.unwrap();
    let unknown = app
        .manage(Method::PUT, "/tenants/nobody/smtp-password")
        .json(&json!({"password": "x"}))
        .send()
        .await
        .unwrap();

    assert_eq!(set.status(), StatusCode::NO_CONTENT);
    assert_eq!(stored.unwrap().expose_secret(), "smtp-pass-2");
    let problems = json_of(empty, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(problems.to_string().contains("password"));
    assert_eq!(cleared.status(), StatusCode::NO_CONTENT);
    assert!(app.store.smtp_password(TENANT).await.unwrap().is_none());
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    app.shutdown().await;
}

#[tokio::test]
async fn delivery_settings_with_a_bad_template_or_plain_remote_smtp_are_refused() {
    let app = spawn_app().await;
    let bad_template = json!({"templates": {"text": "Hi {{nmae}}: {{value}}"}});
    let mut remote_plain = settings_body(2525, json!({}));
    remote_plain["delivery"]["smtp"]["host"] = json!("smtp.example.com");

    let template = put_settings(&app, &settings_body(2525, bad_template)).await;
    let plain = put_settings(&app, &remote_plain).await;

    let template = json_of(template, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(template.to_string().contains("delivery.templates.text"));
    let plain = json_of(plain, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(plain.to_string().contains("delivery.smtp.security"));
    assert!(plain.to_string().contains("localhost or 127.0.0.1"));
    let mut yearly = settings_body(2525, json!({}));
    yearly["reconcile_every_minutes"] = json!(99_999_999);
    let yearly = json_of(
        put_settings(&app, &yearly).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(
        yearly.to_string().contains("reconcile_every_minutes"),
        "{yearly}"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_failed_delivery_is_made_due_again_through_the_api() {
    let app = spawn_app().await;
    let new = NewDelivery {
        employee_id: hr_domain::EmployeeId::parse("E-9").unwrap(),
        credential: CredentialKind::Pin,
        member_id: "mem_9".to_owned(),
        credential_id: "mp_9".to_owned(),
    };
    let id = app.store.queue_delivery(TENANT, &new).await.unwrap();
    app.store
        .fail_delivery(id, "no work e-mail on record")
        .await
        .unwrap();
    let path = format!("/tenants/{TENANT}/deliveries/{}/retry", id.0);

    let retried = app.manage(Method::POST, &path).send().await.unwrap();
    let again = app.manage(Method::POST, &path).send().await.unwrap();

    assert_eq!(retried.status(), StatusCode::ACCEPTED);
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    let listed = app.store.deliveries(TENANT, None, 10).await.unwrap();
    assert_ne!(listed[0].state, DeliveryState::Failed);
    app.shutdown().await;
}

/// Settings of `tenant` whose SMTP server at `port` gets `timeout_secs` per send.
async fn put_settings_of(app: &TestApp, tenant: &str, port: u16, timeout_secs: u64) {
    let mut body = settings_body(port, json!({}));
    body["delivery"]["smtp"]["timeout_secs"] = json!(timeout_secs);
    let path = format!("/tenants/{tenant}/settings");
    let saved = app
        .manage(Method::PUT, &path)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), StatusCode::ACCEPTED);
    let path = format!("/tenants/{tenant}/smtp-password");
    let set = app
        .manage(Method::PUT, &path)
        .json(&json!({"password": "smtp-pass"}))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), StatusCode::NO_CONTENT);
}

/// Pushes an employee with a work e-mail, which gets a PIN to send.
async fn push_with_email(app: &TestApp, key: &str, id: &str, name: &str, email: &str) {
    let mut body = crate::helpers::employee(name, &["Sales"], 1);
    body["email"] = json!(email);
    let pushed = app.put_employee_as(key, id, &body).await;
    assert!(pushed.status().is_success(), "{}", pushed.status());
}

#[tokio::test]
async fn shutdown_does_not_wait_for_an_smtp_server_that_never_answers() {
    let app = spawn_app().await;
    let hole = BlackHole::start().await;
    put_settings_of(&app, TENANT, hole.port, 120).await;
    app.wait_for_idle_queue().await;
    let key = app.api_key.clone();
    push_with_email(
        &app,
        &key,
        "E-1",
        "Marta Quiroga",
        "marta.quiroga@example.com",
    )
    .await;
    eventually("the delivery loop connecting", || async {
        hole.accepted() > 0
    })
    .await;

    let stopped = tokio::time::timeout(Duration::from_secs(10), app.shutdown()).await;

    assert!(
        stopped.is_ok(),
        "shutdown waited for the silent SMTP server"
    );
}

#[tokio::test]
async fn a_tenant_with_a_silent_smtp_server_does_not_hold_up_another_tenants_email() {
    let app = spawn_app().await;
    let hole = BlackHole::start().await;
    let server = SmtpServer::with_login("mailer", "smtp-pass");
    let other_key = prepare_tenant(app.store.as_ref(), &app.emulator, "other", true).await;
    put_settings_of(&app, TENANT, hole.port, 120).await;
    put_settings_of(&app, "other", server.port, 10).await;
    app.wait_for_idle_queue().await;
    let key = app.api_key.clone();
    push_with_email(
        &app,
        &key,
        "E-1",
        "Marta Quiroga",
        "marta.quiroga@example.com",
    )
    .await;
    eventually("the first tenant's send hanging", || async {
        hole.accepted() > 0
    })
    .await;

    push_with_email(&app, &other_key, "E-2", "Bo Berg", "bo.berg@example.com").await;

    eventually("the other tenant's PIN e-mail", || async {
        !server.received().is_empty()
    })
    .await;
    assert_eq!(server.received()[0].rcpt_tos, ["bo.berg@example.com"]);
    app.shutdown().await;
}
