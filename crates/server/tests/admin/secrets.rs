//! A full run's logs hold no secret and no personal data: every log line of connecting,
//! pushing, syncing with every credential type and refreshing the token is captured at
//! TRACE and searched for each token, key, PIN, link, name and e-mail.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use secrecy::ExposeSecret;
use serde_json::json;
use sync_store::{Store, SyncState};
use tracing_subscriber::fmt::MakeWriter;

use crate::harness::{AdminApp, TENANT, spawn_admin_app};

const PAGE: &str = "/admin/tenants/acme";
const NAME: &str = "Zoë Dvořák";
const EMAIL: &str = "zoe.dvorak@example.com";

/// Every log line, in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(bytes);
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
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner)).into()
    }
}

async fn push(app: &AdminApp, key: &str, name: &str, version: i64) {
    let body = json!({"name": name, "email": EMAIL, "groups": ["Sales"],
                      "status": "active", "version": version});
    let response = reqwest::Client::new()
        .put(format!("{}/api/v1/employees/E-1", app.base))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::ACCEPTED);
}

async fn wait_in_sync(app: &AdminApp) {
    app.until("E-1 in sync", || async {
        let jobs = app.store.jobs(Some(TENANT), None, 10).await.unwrap();
        let links = app.store.links(TENANT).await.unwrap();
        jobs.is_empty() && links.iter().all(|l| l.state == SyncState::InSync) && !links.is_empty()
    })
    .await;
}

// The process-wide subscriber (no other test of this binary sets one): a thread-local one
// misses events whose callsites another test's thread registered first, and the store logs
// from its own threads. Other tests' lines land here too, which only adds to the search.
#[tokio::test]
async fn a_full_run_logs_no_token_key_pin_link_name_or_email() {
    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(logs.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber)
        .expect("the log capture must be the process-wide subscriber: run without TEST_LOG");

    let app = spawn_admin_app().await;
    app.login().await;
    app.connect().await;
    let sales = app.emulator.member_group_id("Sales").unwrap();
    let form = [
        ("pin", "on"),
        ("pin_length", "6"),
        ("magic_link", "on"),
        ("email", "on"),
        ("hr.0", "Sales"),
        ("to.0", sales.as_str()),
    ];
    let saved = app.post(&format!("{PAGE}/settings"), &form).await;
    assert!(app.follow(saved).await.contains("Saved"));
    let (_, api_key) = app.store.create_api_key(TENANT, "HR system").await.unwrap();
    let first = app.store.connection(TENANT).await.unwrap().unwrap();

    push(&app, api_key.expose_secret(), NAME, 1).await;
    wait_in_sync(&app).await;
    app.clock.advance(Duration::from_secs(2 * 3600));
    push(&app, api_key.expose_secret(), "Zoë Dvořák-Lind", 2).await;
    wait_in_sync(&app).await;
    let refreshed = app.store.connection(TENANT).await.unwrap().unwrap();

    let mut secrets: Vec<String> = vec![
        api_key.expose_secret().to_owned(),
        "admin-test-client-secret".to_owned(),
        NAME.to_owned(),
        "Dvořák-Lind".to_owned(),
        EMAIL.to_owned(),
    ];
    for connection in [&first, &refreshed] {
        let tokens = [&connection.access_token, &connection.refresh_token];
        secrets.extend(
            tokens
                .into_iter()
                .flatten()
                .map(|t| t.expose_secret().to_owned()),
        );
    }
    let first_access = first
        .access_token
        .as_ref()
        .map(|t| t.expose_secret().to_owned());
    let refreshed_access = refreshed
        .access_token
        .as_ref()
        .map(|t| t.expose_secret().to_owned());
    assert_ne!(
        first_access, refreshed_access,
        "the run refreshed the token"
    );
    let members = app.emulator.members();
    let member = members.iter().find(|m| !m.is_deleted).unwrap();
    let pins = member.pins.iter().flatten().filter_map(|p| p.pin.clone());
    let links = member
        .magic_links
        .iter()
        .flatten()
        .filter_map(|l| l.link.clone());
    let credentials: Vec<String> = pins.chain(links).collect();
    assert_eq!(
        credentials.len(),
        2,
        "one PIN and one magic link were created"
    );
    secrets.extend(credentials);

    let text = logs.text();
    assert!(text.lines().count() > 50, "the logs were captured");
    for secret in &secrets {
        assert!(
            !text.contains(secret.as_str()),
            "a secret or personal value reached the logs"
        );
    }
}
