//! What the client writes to the log: route templates and retry reasons, never query
//! values or secrets.

use std::io::Write;
use std::sync::{Arc, Mutex};

use akiles_client::MemberQuery;
use akiles_client::types::NewMemberPin;
use akiles_emulator::{FaultEffect, FaultRule, Faults};
use tracing_subscriber::EnvFilter;

use crate::support::{new_member, spawn};

/// Collects everything the subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[tokio::test]
async fn logs_name_the_route_and_retry_but_no_query_values_or_secrets() {
    let app = spawn().await;
    let member = app
        .client
        .create_member(&new_member("Logged", "logs"))
        .await
        .unwrap();
    let failing = FaultRule {
        method: "GET".to_owned(),
        path: "/v2/members".to_owned(),
        nth: Some(vec![1]),
        body_contains: None,
        effect: FaultEffect::Status {
            status: 502,
            retry_after: None,
            kind: None,
        },
    };
    app.emulator.set_faults(Faults {
        rules: vec![failing],
        ..Faults::default()
    });
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new("akiles_client=trace"))
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let query = MemberQuery {
        email: Some("hidden.person@example.com".to_owned()),
        ..Default::default()
    };
    app.client.list_members_all(&query).await.unwrap();
    let pin = NewMemberPin {
        pin: Some("97531864".to_owned()),
        ..NewMemberPin::default()
    };
    let created = app
        .client
        .create_member_pin(&member.id, &pin)
        .await
        .unwrap();
    app.client
        .reveal_member_pin(&member.id, &created.id)
        .await
        .unwrap();

    let logs = captured.text();
    assert!(logs.contains("Retrying GET /members"), "{logs}");
    assert!(logs.contains("HTTP 502"), "{logs}");
    assert!(
        logs.contains("/members/{member_id}/pins/{member_pin_id}/reveal"),
        "{logs}"
    );
    for secret in [
        "hidden.person",
        "example.com",
        "97531864",
        &app.emulator.api_key(),
        &member.id,
    ] {
        assert!(!logs.contains(secret), "log leaks {secret:?}: {logs}");
    }
    app.shutdown().await;
}
