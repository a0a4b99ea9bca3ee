//! `spawn_admin_app()`: the service with the refreshing OAuth token source, an emulator
//! that knows the service as an OAuth application, a tenant and an admin; and a browser
//! that keeps cookies and answers the consent page.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use akiles_emulator::{EmulatorConfig, OAuthClient, RunningEmulator};
use figment::Figment;
use figment::providers::{Format, Toml};
use hr_domain::{Clock, Employee, EmployeeId, EmploymentStatus, HrGroup, PersonName, SystemClock};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Response, StatusCode};
use sync_server::{AppState, Settings};
use sync_store::{DataKey, SqliteStore, Store};
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use url::Url;

pub const TENANT: &str = "acme";
pub const ADMIN: &str = "ana";
pub const PASSWORD: &str = "a long admin password";
const CLIENT_ID: &str = "app_hrsyncadmintest01";
const CLIENT_SECRET: &str = "admin-test-client-secret";

/// How long a poll waits before failing the test.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// The system clock plus an offset the test can grow, shared by the store, the workers
/// and the token source.
#[derive(Debug, Default)]
pub struct ShiftedClock {
    offset_secs: AtomicI64,
}

impl ShiftedClock {
    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let secs = i64::try_from(by.as_secs()).unwrap();
        self.offset_secs.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> time::OffsetDateTime {
        let offset = self.offset_secs.load(Ordering::SeqCst);
        SystemClock.now() + time::Duration::seconds(offset)
    }
}

/// A running service, its emulator and store, and a browser.
pub struct AdminApp {
    pub base: String,
    pub store: Arc<SqliteStore>,
    pub emulator: RunningEmulator,
    pub clock: Arc<ShiftedClock>,
    http: reqwest::Client,
    cookies: Mutex<BTreeMap<String, String>>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
    _dir: TempDir,
}

pub async fn spawn_admin_app() -> AdminApp {
    if std::env::var_os("TEST_LOG").is_some() {
        let _ = tracing_subscriber::fmt().with_test_writer().try_init();
    }
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let callback = format!("{base}/oauth/callback");
    let emulator = akiles_emulator::spawn(EmulatorConfig {
        oauth_clients: vec![OAuthClient {
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
            redirect_uris: vec![callback.clone()],
        }],
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let database = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("admin.db").display()
    );
    let settings = settings(&base, &emulator, &database);
    let shifted = Arc::new(ShiftedClock::default());
    let clock: Arc<dyn Clock> = shifted.clone();
    let store = SqliteStore::connect(&database, settings.data_key.clone(), clock.clone())
        .await
        .unwrap();
    let store = Arc::new(store);
    store.ensure_tenant(TENANT).await.unwrap();
    let hash = sync_server::admin::hash_password(PASSWORD).unwrap();
    store.upsert_admin(ADMIN, &hash).await.unwrap();

    let tokens = sync_server::token_sources(&settings, store.clone(), clock.clone());
    let state = AppState::new(settings, store.clone(), clock, tokens);
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(sync_server::serve(listener, state, async move {
        let _ = stopped.await;
    }));

    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    AdminApp {
        base,
        store,
        emulator,
        clock: shifted,
        http,
        cookies: Mutex::new(BTreeMap::new()),
        stop: Some(stop),
        task: Some(task),
        _dir: dir,
    }
}

fn settings(base: &str, emulator: &RunningEmulator, database: &str) -> Settings {
    let toml = format!(
        r#"
        public_url = "{base}"
        database = "{database}"
        data_key = "{data_key}"
        cookie_key = "{cookie_key}"
        [akiles]
        api_url = "{api_url}"
        authorize_url = "{auth_url}"
        token_url = "{token_url}"
        client_id = "{CLIENT_ID}"
        client_secret = "{CLIENT_SECRET}"
        timeout_secs = 5
        rate_per_second = 1000
        groups_cache_secs = 0
        [workers]
        concurrency = 2
        max_attempts = 3
        lease_secs = 30
        poll_interval_ms = 20
        backoff_base_ms = 20
        backoff_max_ms = 100
        "#,
        data_key = DataKey::generate().to_base64(),
        cookie_key = "k".repeat(88),
        api_url = emulator.base_url(),
        auth_url = emulator.auth_url(),
        token_url = emulator.token_url(),
    );
    Settings::from_figment(Figment::new().merge(Toml::string(&toml))).unwrap()
}

impl AdminApp {
    /// `GET` a path of the service (or an absolute URL) with the browser's cookies.
    pub async fn get(&self, path_or_url: &str) -> Response {
        let request = self.http.get(self.absolute(path_or_url));
        self.send(request).await
    }

    /// `POST` a form with the browser's cookies, as a same-origin page would.
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Response {
        let request = form_body(self.http.post(self.absolute(path)), form);
        self.send(request).await
    }

    /// `POST` a form as another site's page would (the browser marks it cross-site).
    pub async fn post_cross_site(&self, path: &str) -> Response {
        let request = self
            .http
            .post(self.absolute(path))
            .header("origin", "https://evil.example")
            .header("sec-fetch-site", "cross-site");
        let request = form_body(request, &[("x", "y")]);
        self.send(request).await
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Response {
        let cookie = {
            let cookies = self.cookies.lock().unwrap();
            let pairs: Vec<String> = cookies.iter().map(|(n, v)| format!("{n}={v}")).collect();
            pairs.join("; ")
        };
        let request = if cookie.is_empty() {
            request
        } else {
            request.header(COOKIE, cookie)
        };
        let response = request.send().await.unwrap();
        if response.url().as_str().starts_with(&self.base) {
            self.keep_cookies(&response);
        }
        response
    }

    fn keep_cookies(&self, response: &Response) {
        let mut cookies = self.cookies.lock().unwrap();
        for header in response.headers().get_all(SET_COOKIE) {
            let text = header.to_str().unwrap();
            let pair = text.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            let expired = text.contains("Max-Age=0") || value.is_empty();
            if expired {
                cookies.remove(name);
            } else {
                cookies.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    fn absolute(&self, path_or_url: &str) -> String {
        if path_or_url.starts_with("http") {
            path_or_url.to_owned()
        } else {
            format!("{}{path_or_url}", self.base)
        }
    }

    /// Logs in as [`ADMIN`].
    pub async fn login(&self) {
        let response = self
            .post(
                "/admin/login",
                &[("username", ADMIN), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "login works");
    }

    /// Follows a `303` and returns the page it leads to.
    pub async fn follow(&self, response: Response) -> String {
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let page = self.get(location(&response).as_str()).await;
        assert_eq!(page.status(), StatusCode::OK);
        page.text().await.unwrap()
    }

    /// The text of a page that must answer 200.
    pub async fn page(&self, path: &str) -> String {
        let response = self.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.text().await.unwrap()
    }

    /// Presses Connect (or Reconnect) and answers the consent page with `decision`;
    /// returns the URL the emulator sends the browser back to (not yet opened).
    pub async fn consent(&self, decision: &str) -> String {
        self.consent_for(decision, None).await
    }

    /// [`Self::consent`], choosing the organization with id `organization` when given.
    pub async fn consent_for(&self, decision: &str, organization: Option<&str>) -> String {
        let started = self
            .post(&format!("/admin/tenants/{TENANT}/connect"), &[])
            .await;
        assert_eq!(started.status(), StatusCode::SEE_OTHER);
        let authorize = location(&started);
        assert!(
            authorize.starts_with(&self.emulator.auth_url()),
            "{authorize}"
        );

        let consent = self.get(&authorize).await;
        assert_eq!(consent.status(), StatusCode::OK);
        let html = consent.text().await.unwrap();
        let consent = akiles_emulator::ConsentForm::parse(&html).expect("the page has a form");
        let mut form = consent.answer(decision);
        if let Some(chosen) = organization {
            for (name, value) in &mut form {
                if name == "organization_id" {
                    *value = chosen.to_owned();
                }
            }
        }
        let action = Url::parse(&authorize)
            .unwrap()
            .join(&consent.action)
            .unwrap();
        let pairs: Vec<(&str, &str)> = form.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let answer = form_body(self.http.post(action), &pairs)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::FOUND);
        location(&answer)
    }

    /// The whole connect flow, approved; returns the page the callback leads to.
    pub async fn connect(&self) -> String {
        let callback = self.consent("approve").await;
        let response = self.get(&callback).await;
        self.follow(response).await
    }

    /// Stores an employee record and queues its sync, as a push would.
    pub async fn push(&self, id: &str, name: &str, groups: &[&str], version: i64) {
        let employee = Employee {
            id: EmployeeId::parse(id).unwrap(),
            name: PersonName::parse(name).unwrap(),
            email: None,
            groups: groups.iter().map(|g| HrGroup::parse(g).unwrap()).collect(),
            status: EmploymentStatus::Active,
            start_date: None,
            end_date: None,
            card: None,
            attributes: Vec::new(),
        };
        self.store
            .put_employee_and_enqueue(TENANT, &employee, version)
            .await
            .unwrap();
    }

    /// Waits until `check` holds, failing after [`DEADLINE`].
    pub async fn until<F, Fut>(&self, what: &str, mut check: F)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = bool>,
    {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        while !check().await {
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

impl Drop for AdminApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// `form` as an `application/x-www-form-urlencoded` body.
fn form_body(request: reqwest::RequestBuilder, form: &[(&str, &str)]) -> reqwest::RequestBuilder {
    let mut body = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in form {
        body.append_pair(name, value);
    }
    request
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.finish())
}

/// The `Location` of a redirect.
pub fn location(response: &Response) -> String {
    response.headers()[LOCATION].to_str().unwrap().to_owned()
}
