//! The logs of syncing and sending hold no PIN, link, address or SMTP password.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use credential_delivery::SmtpSettings;
use secrecy::SecretString;
use sync_engine::apply::Deliver;
use tracing_subscriber::fmt::MakeWriter;

use crate::harness::{ANA_EMAIL, World, ana, settings};
use crate::smtp::SmtpServer;

/// Every log line, in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let mut buffer = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        buffer.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Captured {
    fn text(&self) -> String {
        let buffer = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&buffer).into()
    }
}

// The subscriber is the process-wide default (no other test of this binary sets one):
// a thread-local one misses events whose callsites other tests' threads registered first,
// and the store logs from its own threads. Other tests' lines land here too, harmlessly.
#[tokio::test]
async fn sending_logs_no_pin_link_address_or_password() {
    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(logs.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();
    let world = World::spawn().await;
    let server = SmtpServer::with_login("mailer", "pw-never-logged");
    let mut settings = settings(&server);
    let smtp = settings.smtp.as_mut().unwrap();
    *smtp = SmtpSettings {
        username: Some("mailer".to_owned()),
        ..smtp.clone()
    };
    let both = Deliver {
        pin: true,
        magic_link: true,
    };
    let password = SecretString::from("pw-never-logged");

    world.sync(&[ana()], both).await;
    server.fail_with("451 4.3.0 Busy");
    world.send(&settings, Some(&password)).await;
    server.recover();
    world.advance(std::time::Duration::from_secs(60));
    let report = world.send(&settings, Some(&password)).await;

    assert_eq!(report.sent, 2);
    let received = server.received();
    let pin_text = received
        .iter()
        .find(|m| m.subject.ends_with("PIN"))
        .unwrap();
    let link_text = received
        .iter()
        .find(|m| m.subject.ends_with("link"))
        .unwrap();
    let pin = secret_line(pin_text.text.as_deref().unwrap());
    let link = secret_line(link_text.text.as_deref().unwrap());
    let text = logs.text();
    assert!(
        text.contains("Sent the pin of employee E-1"),
        "the logs were captured"
    );
    assert!(text.lines().count() > 20, "the logs were captured");
    for secret in [pin.as_str(), link.as_str(), ANA_EMAIL, "pw-never-logged"] {
        assert!(!text.contains(secret), "the logs hold {secret:?}");
    }
}

/// The line of the default template's text that holds the PIN or link.
fn secret_line(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("Here is your"))
        .unwrap();
    let secret = lines[at + 2].trim().to_owned();
    assert!(secret.len() >= 4, "{secret:?}");
    secret
}
