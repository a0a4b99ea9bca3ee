//! `spawn_app()`: the service wired to an emulator and a temporary store, with one helper
//! per endpoint and pollers that wait with a deadline instead of sleeping.

use std::sync::Arc;
use std::time::Duration;

use akiles_emulator::{EmulatorConfig, Faults, RunningEmulator};
use akiles_types::Member;
use figment::Figment;
use figment::providers::{Format, Toml};
use hr_domain::{Clock, EmployeeId, SystemClock};
use reqwest::{Response, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use sync_server::{AppState, Settings, StoredAccessTokens};
use sync_store::{Connection, ConnectionState, DataKey, SqliteStore, Store};
use tempfile::TempDir;
use time::OffsetDateTime;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The management token every test app accepts.
pub const MANAGEMENT_TOKEN: &str = "test-management-token";

/// The tenant every test app starts with.
pub const TENANT: &str = "acme";

/// How long a poll waits for the workers before failing the test.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// Tweaks of a test app.
#[derive(Debug, Clone)]
pub struct Options {
    pub concurrency: usize,
    pub max_attempts: u32,
    pub management_token: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            concurrency: 2,
            max_attempts: 3,
            management_token: true,
        }
    }
}

/// A running service with its emulator and store.
pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub store: Arc<SqliteStore>,
    pub emulator: RunningEmulator,
    /// The push API key of [`TENANT`].
    pub api_key: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
    _dir: TempDir,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Options::default()).await
}

pub async fn spawn_app_with(options: Options) -> TestApp {
    init_logs();
    let emulator = akiles_emulator::spawn(EmulatorConfig::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}?mode=rwc", dir.path().join("sync.db").display());
    let settings = test_settings(&emulator, &database, &options);

    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = SqliteStore::connect(&database, settings.data_key.clone(), clock.clone())
        .await
        .unwrap();
    let store = Arc::new(store);
    let api_key = prepare_tenant(store.as_ref(), &emulator, TENANT, true).await;

    let tokens = Arc::new(StoredAccessTokens::new(store.clone()));
    let state = AppState::new(settings, store.clone(), clock, tokens);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(sync_server::serve(listener, state, async move {
        let _ = stopped.await;
    }));

    TestApp {
        base,
        http: reqwest::Client::new(),
        store,
        emulator,
        api_key,
        stop: Some(stop),
        task: Some(task),
        _dir: dir,
    }
}

pub fn test_settings(emulator: &RunningEmulator, database: &str, options: &Options) -> Settings {
    let token = if options.management_token {
        format!("management_token = \"{MANAGEMENT_TOKEN}\"")
    } else {
        String::new()
    };
    let toml = format!(
        r#"
        database = "{database}"
        data_key = "{data_key}"
        cookie_key = "{cookie_key}"
        {token}
        [akiles]
        api_url = "{api_url}"
        timeout_secs = 5
        rate_per_second = 1000
        groups_cache_secs = 0
        [workers]
        concurrency = {concurrency}
        max_attempts = {max_attempts}
        lease_secs = 30
        poll_interval_ms = 20
        backoff_base_ms = 20
        backoff_max_ms = 100
        "#,
        data_key = DataKey::generate().to_base64(),
        cookie_key = "x".repeat(88),
        api_url = emulator.base_url(),
        concurrency = options.concurrency,
        max_attempts = options.max_attempts,
    );
    Settings::from_figment(Figment::new().merge(Toml::string(&toml))).unwrap()
}

/// Creates `tenant` with a mapping, when `connected` a connection to the emulator's
/// organization (its API key as the access token), and a push API key, which is returned.
pub async fn prepare_tenant(
    store: &dyn Store,
    emulator: &RunningEmulator,
    tenant: &str,
    connected: bool,
) -> String {
    store.ensure_tenant(tenant).await.unwrap();
    let settings = json!({
        "mapping": {"groups": {
            "HQ-Staff": ["Production"],
            "Sales": ["Sales"],
            "Engineering": ["Software Engineering"],
        }},
        "credentials": {},
        "member_name_max_bytes": 255,
        // Scheduled reconciles would race the tests' own jobs; tests queue them by hand.
        "reconcile_every_minutes": 0,
    });
    store.save_tenant_settings(tenant, &settings).await.unwrap();
    if connected {
        store
            .save_connection(&connection(tenant, emulator))
            .await
            .unwrap();
    }
    let (_, secret) = store.create_api_key(tenant, "tests").await.unwrap();
    secret.expose_secret().to_owned()
}

fn connection(tenant: &str, emulator: &RunningEmulator) -> Connection {
    Connection {
        tenant: tenant.to_owned(),
        state: ConnectionState::Connected,
        organization_id: Some(emulator.default_org_id()),
        organization_name: Some(akiles_emulator::ORG_NAME.to_owned()),
        access_token: Some(SecretString::from(emulator.api_key())),
        refresh_token: None,
        access_expires_at: None,
        scope: None,
        reason: None,
        revision: 0,
        updated_at: OffsetDateTime::UNIX_EPOCH,
    }
}

/// `TEST_LOG=1` shows the service's logs.
fn init_logs() {
    if std::env::var_os("TEST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter("info")
            .try_init();
    }
}

/// An employee body for `PUT /api/v1/employees/{id}`.
pub fn employee(name: &str, groups: &[&str], version: i64) -> Value {
    json!({"name": name, "groups": groups, "status": "active", "version": version})
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `PUT /api/v1/employees/{id}` with the tenant's key.
    pub async fn put_employee(&self, id: &str, body: &Value) -> Response {
        self.put_employee_as(&self.api_key, id, body).await
    }

    pub async fn put_employee_as(&self, key: &str, id: &str, body: &Value) -> Response {
        self.http
            .put(self.url(&format!("/api/v1/employees/{id}")))
            .bearer_auth(key)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// `DELETE /api/v1/employees/{id}?version=N`.
    pub async fn delete_employee(&self, id: &str, version: i64) -> Response {
        self.http
            .delete(self.url(&format!("/api/v1/employees/{id}?version={version}")))
            .bearer_auth(&self.api_key)
            .send()
            .await
            .unwrap()
    }

    /// `GET /api/v1/employees/{id}`.
    pub async fn employee_state_as(&self, key: &str, id: &str) -> Response {
        self.http
            .get(self.url(&format!("/api/v1/employees/{id}")))
            .bearer_auth(key)
            .send()
            .await
            .unwrap()
    }

    /// `POST /api/v1/snapshot`.
    pub async fn post_snapshot(&self, body: &Value) -> Response {
        self.http
            .post(self.url("/api/v1/snapshot"))
            .bearer_auth(&self.api_key)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// A management API request with the management token.
    pub fn manage(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(&format!("/api/v1/manage{path}")))
            .bearer_auth(MANAGEMENT_TOKEN)
    }

    /// `GET` of a plain path.
    pub async fn get(&self, path: &str) -> Response {
        self.http.get(self.url(path)).send().await.unwrap()
    }

    /// The live members the sync owns for `employee_id`.
    pub fn members_of(&self, employee_id: &str) -> Vec<Member> {
        self.emulator
            .members()
            .into_iter()
            .filter(|m| !m.is_deleted)
            .filter(|m| m.metadata.get("employee_id").map(String::as_str) == Some(employee_id))
            .collect()
    }

    /// Live group associations of a member, as member group ids.
    pub fn groups_of(member: &Member) -> Vec<String> {
        let mut groups: Vec<String> = member
            .group_associations
            .iter()
            .flatten()
            .filter(|a| !a.is_deleted)
            .map(|a| a.member_group_id.clone())
            .collect();
        groups.sort();
        groups
    }

    pub fn group_id(&self, name: &str) -> String {
        self.emulator.member_group_id(name).unwrap()
    }

    pub fn calls(&self, route: &str) -> u64 {
        self.emulator.calls().get(route).copied().unwrap_or(0)
    }

    pub fn set_faults(&self, faults: Faults) {
        self.emulator.set_faults(faults);
    }

    /// Waits until no job is queued or running, then returns.
    pub async fn wait_for_idle_queue(&self) {
        eventually("the queue to drain", || async {
            let depth = self.store.queue_depth().await.unwrap();
            let busy = depth
                .iter()
                .filter(|(state, _)| !matches!(state, sync_store::JobState::Failed))
                .map(|(_, n)| n)
                .sum::<u64>();
            busy == 0
        })
        .await;
    }

    /// Waits until the employee's sync state is `in_sync` with no job pending.
    pub async fn wait_until_in_sync(&self, id: &str) {
        let id = EmployeeId::parse(id).unwrap();
        eventually("the employee to be in sync", || async {
            let link = self.store.link(TENANT, &id).await.unwrap();
            let jobs = self.store.jobs(Some(TENANT), None, 1000).await.unwrap();
            let pending = jobs.iter().any(|j| j.employee_id.as_ref() == Some(&id));
            !pending && link.is_some_and(|l| l.state == sync_store::SyncState::InSync)
        })
        .await;
    }

    /// Stops the server and the emulator.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }
}

/// Polls `check` until it holds, failing the test after [`DEADLINE`].
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        if check().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The JSON body of a response, asserting its status.
pub async fn json_of(response: Response, status: StatusCode) -> Value {
    let actual = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(actual, status, "body: {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}
