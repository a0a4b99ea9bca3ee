//! The "Delivery by e-mail" section: settings through the form, the write-only SMTP
//! password, a PIN sent to a real SMTP server, and how the pages show it.

use hr_domain::{Email, Employee, EmployeeId, EmploymentStatus, HrGroup, PersonName};
use sync_store::Store;

use crate::harness::{AdminApp, TENANT, spawn_admin_app};

#[path = "../../../delivery/tests/delivery/smtp.rs"]
#[expect(
    dead_code,
    reason = "the SMTP helper is shared with the delivery suite"
)]
mod smtp;

use smtp::SmtpServer;

const PAGE: &str = "/admin/tenants/acme";

async fn save_delivery_settings(app: &AdminApp, port: &str) -> String {
    let sales = app.emulator.member_group_id("Sales").unwrap();
    let form = [
        ("pin", "on"),
        ("pin_length", "6"),
        ("hr.0", "Sales"),
        ("to.0", sales.as_str()),
        ("delivery_form", "1"),
        ("delivery_pin", "on"),
        ("smtp_host", "127.0.0.1"),
        ("smtp_port", port),
        ("smtp_security", "none"),
        ("smtp_username", "mailer"),
        ("smtp_from", "Acme Doors <doors@example.com>"),
        ("smtp_timeout_secs", "10"),
        ("template_subject", "Door {{credential}} for {{name}}"),
        ("template_text", "Your {{credential}}: {{value}}"),
        (
            "template_html",
            "<p>Your {{credential}}: <b>{{value}}</b></p>",
        ),
    ];
    let saved = app.post(&format!("{PAGE}/settings"), &form).await;
    app.follow(saved).await
}

async fn push_with_email(app: &AdminApp, id: &str, email: &str) {
    let employee = Employee {
        id: EmployeeId::parse(id).unwrap(),
        name: PersonName::parse("Marta Quiroga").unwrap(),
        email: Some(Email::parse(email).unwrap()),
        groups: [HrGroup::parse("Sales").unwrap()].into_iter().collect(),
        status: EmploymentStatus::Active,
        start_date: None,
        end_date: None,
        card: None,
        attributes: Vec::new(),
    };
    app.store
        .put_employee_and_enqueue(TENANT, &employee, 1)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_pin_is_sent_with_the_settings_and_password_from_the_page() {
    let app = spawn_admin_app().await;
    app.login().await;
    app.connect().await;
    let server = SmtpServer::with_login("mailer", "page-smtp-pass");

    let saved = save_delivery_settings(&app, &server.port.to_string()).await;
    let before = app.page(PAGE).await;
    let password = [("action", "set"), ("password", "page-smtp-pass")];
    let set = app.post(&format!("{PAGE}/smtp-password"), &password).await;
    let after = app.follow(set).await;
    push_with_email(&app, "E-7", "marta.quiroga@example.com").await;

    assert!(saved.contains("Saved"), "{saved}");
    assert!(before.contains("data-smtp-password=\"not set\""));
    assert!(after.contains("data-smtp-password=\"set\""));
    assert!(!after.contains("page-smtp-pass"));
    assert!(after.contains("Door {{credential}} for {{name}}"));
    app.until("the PIN e-mail", || async { !server.received().is_empty() })
        .await;
    let message = &server.received()[0];
    assert_eq!(message.rcpt_tos, ["marta.quiroga@example.com"]);
    assert_eq!(message.subject, "Door PIN for Marta Quiroga");
    app.until("the delivery shown as sent", || async {
        app.page(PAGE).await.contains("data-state=\"sent\"")
    })
    .await;
    let employee = app.page(&format!("{PAGE}/employees/E-7")).await;
    assert!(employee.contains("PIN sent by e-mail"), "{employee}");
    assert!(!employee.contains("marta.quiroga@example.com"));
}

#[tokio::test]
async fn an_unknown_placeholder_is_refused_on_save_and_a_failed_delivery_can_be_retried() {
    let app = spawn_admin_app().await;
    app.login().await;
    app.connect().await;
    let form = [
        ("delivery_form", "1"),
        ("template_text", "Hi {{first_name}}: {{value}}"),
    ];
    let refused = app.post(&format!("{PAGE}/settings"), &form).await;
    let refused = app.follow(refused).await;
    let new = sync_store::NewDelivery {
        employee_id: EmployeeId::parse("E-9").unwrap(),
        credential: sync_store::CredentialKind::Pin,
        member_id: "mem_9".to_owned(),
        credential_id: "mp_9".to_owned(),
    };
    let id = app.store.queue_delivery(TENANT, &new).await.unwrap();
    app.store
        .fail_delivery(id, "no work e-mail on record")
        .await
        .unwrap();

    let shown = app.page(PAGE).await;
    let retried = app
        .post(&format!("{PAGE}/deliveries/{}/retry", id.0), &[])
        .await;
    let retried = app.follow(retried).await;

    assert!(refused.contains("delivery.templates.text"), "{refused}");
    assert!(shown.contains("data-state=\"failed\""));
    assert!(shown.contains("no work e-mail on record"));
    assert!(shown.contains(&format!("/deliveries/{}/retry", id.0)));
    assert!(retried.contains("sent again shortly"), "{retried}");
    let listed = app.store.deliveries(TENANT, None, 10).await.unwrap();
    assert_ne!(listed[0].state, sync_store::DeliveryState::Failed);
}
