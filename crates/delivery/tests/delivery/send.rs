//! New credentials reach a real SMTP server, and every outcome is recorded.

use std::time::Duration;

use credential_delivery::{MAX_ATTEMPTS, SmtpSettings};
use secrecy::SecretString;
use sync_store::{CredentialKind, DeliveryState, Store, SyncState};

use crate::harness::{
    ANA_EMAIL, LINKS, NOTHING, PINS, TENANT, World, ana, employee, settings, settings_at,
};
use crate::smtp::{BlackHole, SmtpServer};

#[tokio::test]
async fn a_pin_created_by_a_sync_is_sent_to_the_work_email() {
    let world = World::spawn().await;
    let server = SmtpServer::start();
    world.sync(&[ana()], PINS).await;

    let report = world.send(&settings(&server), None).await;

    let member = world.member_id("E-1").await;
    let delivery = &world.deliveries().await[0];
    let revealed = world
        .client
        .reveal_member_pin(&member, &delivery.credential_id)
        .await
        .unwrap();
    let pin = revealed.pin.unwrap();
    let received = server.received();
    assert_eq!((report.sent, report.retrying, report.failed), (1, 0, 0));
    assert_eq!(received.len(), 1);
    let message = &received[0];
    assert_eq!(message.rcpt_tos, [ANA_EMAIL]);
    assert_eq!(message.to, ANA_EMAIL);
    assert_eq!(message.mail_from, "doors@example.com");
    assert!(message.from.contains("Acme Doors"));
    assert_eq!(message.subject, "Your door access PIN");
    assert_eq!(message.content_type, "multipart/alternative");
    let text = message.text.as_deref().unwrap();
    assert!(text.lines().any(|line| line.trim() == pin), "{text:?}");
    assert!(message.text.as_deref().unwrap().contains("Hello Ana López"));
    let html = message.html.as_deref().unwrap();
    assert!(html.contains(&format!("<strong>{pin}</strong>")));
    assert_eq!(delivery.state, DeliveryState::Sent);
    assert_eq!(delivery.credential, CredentialKind::Pin);
}

#[tokio::test]
async fn the_history_says_queued_and_sent_but_never_holds_the_pin_or_address() {
    let world = World::spawn().await;
    let server = SmtpServer::start();
    world.sync(&[ana()], PINS).await;

    world.send(&settings(&server), None).await;

    let entries = world.delivery_history("E-1").await;
    let states: Vec<_> = entries
        .iter()
        .map(|r| r.entry.detail["state"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(states, ["queued", "sent"]);
    assert!(
        entries
            .iter()
            .all(|r| r.entry.detail["credential"] == "pin")
    );
    let text = server.received()[0].text.clone().unwrap();
    let pin = text
        .lines()
        .find(|l| l.chars().all(|c| c.is_ascii_digit()) && !l.is_empty());
    let history = world
        .store
        .history(TENANT, &crate::harness::id("E-1"), 100)
        .await
        .unwrap();
    let dump = format!("{history:?}");
    assert!(!dump.contains(pin.unwrap()));
    assert!(!dump.contains(ANA_EMAIL));
}

#[tokio::test]
async fn a_magic_link_created_by_a_sync_is_sent_with_its_link() {
    let world = World::spawn().await;
    let server = SmtpServer::start();
    world.sync(&[ana()], LINKS).await;

    let report = world.send(&settings(&server), None).await;

    let member = world.member_id("E-1").await;
    let delivery = &world.deliveries().await[0];
    let revealed = world
        .client
        .reveal_magic_link(&member, &delivery.credential_id)
        .await
        .unwrap();
    let link = revealed.link.unwrap();
    let message = &server.received()[0];
    assert_eq!(report.sent, 1);
    assert_eq!(delivery.credential, CredentialKind::MagicLink);
    assert_eq!(message.subject, "Your door access magic link");
    assert!(message.text.as_deref().unwrap().contains(&link));
    let escaped = link.replace('&', "&amp;");
    assert!(message.html.as_deref().unwrap().contains(&escaped));
    let history = world.delivery_history("E-1").await;
    assert_eq!(history.last().unwrap().entry.detail["state"], "sent");
    assert!(!format!("{history:?}").contains(&link));
}

#[tokio::test]
async fn with_delivery_off_nothing_is_queued_or_sent() {
    let world = World::spawn().await;
    let server = SmtpServer::start();

    let run = world.sync(&[ana()], NOTHING).await;
    let report = world.send(&settings(&server), None).await;

    assert!(!run.has_problems());
    assert!(world.deliveries().await.is_empty());
    assert!(world.delivery_history("E-1").await.is_empty());
    assert!(report.is_empty());
    assert!(server.received().is_empty());
}

#[tokio::test]
async fn a_failing_server_gets_the_message_again_later_and_the_sync_is_done() {
    let world = World::spawn().await;
    let server = SmtpServer::start();
    server.fail_with("451 4.3.0 Mailbox busy, try later");
    world.sync(&[ana()], PINS).await;

    let report = world.send(&settings(&server), None).await;

    let link = world
        .store
        .link(TENANT, &crate::harness::id("E-1"))
        .await
        .unwrap();
    assert_eq!(link.unwrap().state, SyncState::InSync);
    assert_eq!((report.sent, report.retrying), (0, 1));
    let delivery = &world.deliveries().await[0];
    assert_eq!(delivery.state, DeliveryState::Pending);
    assert_eq!(delivery.attempts, 1);
    assert!(delivery.next_attempt_at > crate::harness::NOW);
    assert!(delivery.last_error.as_deref().unwrap().contains("451"));
    let history = world.delivery_history("E-1").await;
    assert_eq!(history.last().unwrap().entry.detail["state"], "retrying");
    assert!(server.received().is_empty());
}

#[tokio::test]
async fn a_server_that_comes_back_gets_the_next_attempt() {
    let world = World::spawn().await;
    let server = SmtpServer::start();
    let settings = settings(&server);
    server.fail_with("421 4.3.2 Service shutting down");
    world.sync(&[ana()], PINS).await;
    world.send(&settings, None).await;

    let too_early = world.send(&settings, None).await;
    server.recover();
    world.advance(Duration::from_secs(60));
    let report = world.send(&settings, None).await;

    assert!(too_early.is_empty());
    assert_eq!(report.sent, 1);
    assert_eq!(server.received().len(), 1);
    let delivery = &world.deliveries().await[0];
    assert_eq!(
        (delivery.state, delivery.attempts),
        (DeliveryState::Sent, 2)
    );
}

#[tokio::test]
async fn a_delivery_out_of_attempts_is_failed_and_shown() {
    let world = World::spawn().await;
    let server = SmtpServer::start();
    let settings = settings(&server);
    server.fail_with("554 5.7.1 Relay refused");
    world.sync(&[ana()], PINS).await;

    let mut reports = Vec::new();
    for _ in 0..MAX_ATTEMPTS {
        reports.push(world.send(&settings, None).await);
        world.advance(Duration::from_secs(3600));
    }

    assert_eq!(reports.last().unwrap().failed, 1);
    let delivery = &world.deliveries().await[0];
    assert_eq!(delivery.state, DeliveryState::Failed);
    assert_eq!(delivery.attempts, MAX_ATTEMPTS);
    assert!(delivery.last_error.as_deref().unwrap().contains("554"));
    assert_eq!(
        world
            .delivery_history("E-1")
            .await
            .last()
            .unwrap()
            .entry
            .detail["state"],
        "failed"
    );
}

#[tokio::test]
async fn an_employee_without_a_work_email_is_failed_with_the_reason() {
    let world = World::spawn().await;
    let server = SmtpServer::start();
    world.sync(&[employee("E-2", "Bo Berg", None)], PINS).await;

    let report = world.send(&settings(&server), None).await;

    assert_eq!(report.failed, 1);
    let delivery = &world.deliveries().await[0];
    assert_eq!(delivery.state, DeliveryState::Failed);
    assert_eq!(
        delivery.last_error.as_deref(),
        Some("no work e-mail on record")
    );
    assert!(server.received().is_empty());
}

#[tokio::test]
async fn a_credential_deleted_before_sending_cancels_its_delivery() {
    let world = World::spawn().await;
    let server = SmtpServer::start();
    world.sync(&[ana()], PINS).await;
    let member = world.member_id("E-1").await;
    let pin_id = world.deliveries().await[0].credential_id.clone();
    world
        .client
        .delete_member_pin(&member, &pin_id)
        .await
        .unwrap();

    let report = world.send(&settings(&server), None).await;

    assert_eq!(report.cancelled, 1);
    assert_eq!(world.deliveries().await[0].state, DeliveryState::Cancelled);
    assert!(server.received().is_empty());
}

#[tokio::test]
async fn the_smtp_login_uses_the_password() {
    let world = World::spawn().await;
    let server = SmtpServer::with_login("mailer", "s3cret-smtp");
    let mut settings = settings(&server);
    let smtp = settings.smtp.as_mut().unwrap();
    *smtp = SmtpSettings {
        username: Some("mailer".to_owned()),
        ..smtp.clone()
    };
    world.sync(&[ana()], PINS).await;

    let wrong = world
        .send(&settings, Some(&SecretString::from("wrong")))
        .await;
    world.advance(Duration::from_secs(60));
    let right = world
        .send(&settings, Some(&SecretString::from("s3cret-smtp")))
        .await;

    assert_eq!((wrong.sent, wrong.retrying), (0, 1));
    assert_eq!(right.sent, 1);
    assert_eq!(server.received()[0].login.as_deref(), Some("mailer"));
}

#[tokio::test]
async fn without_smtp_settings_deliveries_wait() {
    let world = World::spawn().await;
    world.sync(&[ana()], PINS).await;
    let settings = credential_delivery::DeliverySettings {
        pin: true,
        ..Default::default()
    };

    let report = world.send(&settings, None).await;

    assert!(report.is_empty());
    assert_eq!(world.deliveries().await[0].state, DeliveryState::Pending);
}

#[tokio::test]
async fn a_login_without_a_stored_password_is_shown_on_the_delivery() {
    let world = World::spawn().await;
    let server = SmtpServer::start();
    let mut settings = settings(&server);
    let smtp = settings.smtp.as_mut().unwrap();
    *smtp = SmtpSettings {
        username: Some("mailer".to_owned()),
        ..smtp.clone()
    };
    world.sync(&[ana()], PINS).await;

    let report = world.send(&settings, None).await;

    assert_eq!(report.retrying, 1);
    let delivery = &world.deliveries().await[0];
    assert_eq!(
        delivery.last_error.as_deref(),
        Some("the SMTP password is not set")
    );
    assert!(server.received().is_empty());
}

#[tokio::test]
async fn a_server_that_never_answers_is_a_timeout_tried_again_later() {
    let world = World::spawn().await;
    let hole = BlackHole::start().await;
    let mut settings = settings_at(hole.port);
    let smtp = settings.smtp.as_mut().unwrap();
    *smtp = SmtpSettings {
        timeout_secs: 1,
        ..smtp.clone()
    };
    world.sync(&[ana()], PINS).await;

    let started = std::time::Instant::now();
    let report = tokio::time::timeout(Duration::from_secs(10), world.send(&settings, None))
        .await
        .expect("send_due returns although the server never answers");

    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!((report.sent, report.retrying), (0, 1));
    assert_eq!(hole.accepted(), 1);
    let delivery = &world.deliveries().await[0];
    assert_eq!(
        (delivery.state, delivery.attempts),
        (DeliveryState::Pending, 1)
    );
    assert!(delivery.next_attempt_at > crate::harness::NOW);
    let error = delivery.last_error.as_deref().unwrap();
    assert!(error.contains("timeout of 1 s"), "{error}");
    let history = world.delivery_history("E-1").await;
    assert_eq!(history.last().unwrap().entry.detail["state"], "retrying");
}

#[tokio::test]
async fn after_a_timeout_the_rest_of_the_pass_waits_untried() {
    let world = World::spawn().await;
    let hole = BlackHole::start().await;
    let mut settings = settings_at(hole.port);
    let smtp = settings.smtp.as_mut().unwrap();
    *smtp = SmtpSettings {
        timeout_secs: 1,
        ..smtp.clone()
    };
    let bo = employee("E-2", "Bo Berg", Some("bo.berg@example.com"));
    let cy = employee("E-3", "Cy Dahl", Some("cy.dahl@example.com"));
    world.sync(&[ana(), bo, cy], PINS).await;

    let report = tokio::time::timeout(Duration::from_secs(10), world.send(&settings, None))
        .await
        .expect("send_due returns although the server never answers");

    assert_eq!((report.sent, report.retrying, report.failed), (0, 1, 0));
    assert_eq!(hole.accepted(), 1);
    let mut attempts: Vec<_> = world
        .deliveries()
        .await
        .iter()
        .map(|d| (d.state, d.attempts))
        .collect();
    attempts.sort_by_key(|(_, attempts)| *attempts);
    assert_eq!(
        attempts,
        [
            (DeliveryState::Pending, 0),
            (DeliveryState::Pending, 0),
            (DeliveryState::Pending, 1)
        ]
    );
}
