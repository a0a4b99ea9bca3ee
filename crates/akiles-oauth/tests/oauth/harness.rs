//! The emulator with a registered application, a fixed clock, and a scripted "browser"
//! that answers the consent page the way a person would.

use std::sync::Arc;
use std::time::Duration;

use akiles_emulator::{
    EmulatorConfig, FaultEffect, FaultRule, Faults, OAuthClient, RunningEmulator,
};
use akiles_oauth::{AkilesOAuth, ConnectionTokens, OAuthSettings, TokenSet};
use hr_domain::FixedClock;
use secrecy::{ExposeSecret, SecretString};
use sync_store::{Connection, DataKey, SqliteStore, Store};
use tempfile::TempDir;
use time::OffsetDateTime;
use time::macros::datetime;
use url::Url;

pub const CLIENT_ID: &str = "app_hrsynctest000000001";
pub const CLIENT_SECRET: &str = "emulator-client-secret-1";
/// Never contacted: the browser stops at the redirect and reads its query.
pub const REDIRECT_URI: &str = "http://127.0.0.1:9/akiles/callback";
pub const START: OffsetDateTime = datetime!(2026-03-02 08:00 UTC);
/// Lifetime of the emulator's access tokens in these tests.
pub const ACCESS_TTL: Duration = Duration::from_secs(3600);
pub const TENANT: &str = "acme";

/// What the consent page sent the browser back with.
#[derive(Debug)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
}

/// A running emulator and an [`AkilesOAuth`] registered with it.
pub struct TestOAuth {
    pub emulator: RunningEmulator,
    pub oauth: Arc<AkilesOAuth>,
    pub clock: Arc<FixedClock>,
    /// A fresh SQLite file with the tenant [`TENANT`], on the same clock.
    pub store: Arc<SqliteStore>,
    browser: reqwest::Client,
    _dir: TempDir,
}

impl TestOAuth {
    pub async fn spawn() -> Self {
        let config = EmulatorConfig {
            oauth_clients: vec![OAuthClient {
                client_id: CLIENT_ID.into(),
                client_secret: CLIENT_SECRET.into(),
                redirect_uris: vec![REDIRECT_URI.into()],
            }],
            access_token_ttl: ACCESS_TTL,
            ..EmulatorConfig::default()
        };
        let emulator = akiles_emulator::spawn(config).await.unwrap();
        let clock = Arc::new(FixedClock::new(START));
        let oauth = AkilesOAuth::new(settings_for(&emulator, CLIENT_SECRET))
            .unwrap()
            .with_clock(clock.clone());
        let browser = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("store.db").display()
        );
        let store = SqliteStore::connect(&url, DataKey::generate(), clock.clone())
            .await
            .unwrap();
        store.ensure_tenant(TENANT).await.unwrap();

        Self {
            emulator,
            oauth: Arc::new(oauth),
            clock,
            store: Arc::new(store),
            browser,
            _dir: dir,
        }
    }

    /// Connects [`TENANT`] through `begin_connect`, the consent page and `finish_connect`,
    /// then zeroes the emulator's call counters.
    pub async fn connect_tenant(&self) -> Connection {
        let url = akiles_oauth::begin_connect(&*self.store, TENANT, &self.oauth, &*self.clock)
            .await
            .unwrap();
        let callback = self.approve(&url).await;
        let (state, code) = (callback.state.unwrap(), callback.code.unwrap());
        let store = &*self.store;
        akiles_oauth::finish_connect(store, &self.oauth, &*self.clock, &state, &code)
            .await
            .unwrap();
        self.emulator.reset_calls();
        self.connection().await
    }

    /// The stored connection of [`TENANT`].
    pub async fn connection(&self) -> Connection {
        self.store.connection(TENANT).await.unwrap().unwrap()
    }

    /// A token source for [`TENANT`], as one worker process would build it.
    pub fn tokens(&self) -> ConnectionTokens {
        ConnectionTokens::new(
            self.store.clone(),
            TENANT,
            self.oauth.clone(),
            self.clock.clone(),
        )
    }

    /// Moves the test clock (not the emulator's) forward.
    pub fn advance(&self, by: Duration) {
        use hr_domain::Clock;
        self.clock.set(self.clock.now() + by);
    }

    /// Settings for this emulator with another client secret.
    pub fn settings_with_secret(&self, secret: &str) -> OAuthSettings {
        settings_for(&self.emulator, secret)
    }

    /// Opens `url`, picks the preselected organization and presses Approve.
    pub async fn approve(&self, url: &Url) -> Callback {
        self.decide(url, "approve").await
    }

    /// Opens `url` and presses Deny.
    pub async fn deny(&self, url: &Url) -> Callback {
        self.decide(url, "deny").await
    }

    /// The whole flow: authorization request, approval, code exchange.
    pub async fn connect(&self) -> TokenSet {
        let request = self.oauth.authorization_request();
        let callback = self.approve(&request.url).await;
        assert_eq!(callback.state.as_deref(), Some(request.state.as_str()));
        let code = callback.code.expect("approval returns a code");
        self.oauth
            .exchange_code(&code, &request.pkce_verifier)
            .await
            .unwrap()
    }

    /// The status of `GET /v2/organization` with `token`.
    pub async fn api_status(&self, token: &SecretString) -> u16 {
        let url = format!("{}/organization", self.emulator.base_url());
        let response = self
            .browser
            .get(url)
            .bearer_auth(token.expose_secret())
            .send()
            .await
            .unwrap();
        response.status().as_u16()
    }

    /// Makes every `POST /oauth2/token` answer `status`.
    pub fn fail_token_endpoint(&self, status: u16) {
        self.emulator.set_faults(Faults {
            rules: vec![FaultRule {
                method: "POST".into(),
                path: "/oauth2/token".into(),
                nth: None,
                body_contains: None,
                effect: FaultEffect::Status {
                    status,
                    retry_after: Some("3".into()),
                    kind: None,
                },
            }],
            ..Faults::default()
        });
    }

    /// Removes injected faults.
    pub fn heal_token_endpoint(&self) {
        self.emulator.set_faults(Faults::default());
    }

    /// How many `POST /oauth2/token` requests reached the emulator.
    pub fn token_requests(&self) -> u64 {
        let calls = self.emulator.calls();
        calls.get("POST /oauth2/token").copied().unwrap_or(0)
    }

    async fn decide(&self, url: &Url, decision: &str) -> Callback {
        let page = self.browser.get(url.clone()).send().await.unwrap();
        assert_eq!(page.status(), 200, "the consent page is shown");
        let html = page.text().await.unwrap();

        let consent = akiles_emulator::ConsentForm::parse(&html).expect("the page has a form");
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in consent.answer(decision) {
            form.append_pair(&name, &value);
        }
        let action = url.join(&consent.action).unwrap();
        let answer = self
            .browser
            .post(action)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form.finish())
            .send()
            .await
            .unwrap();

        assert_eq!(answer.status(), 302, "the decision redirects back");
        let location = answer.headers()["location"].to_str().unwrap();
        callback(&Url::parse(location).unwrap())
    }
}

fn settings_for(emulator: &RunningEmulator, secret: &str) -> OAuthSettings {
    OAuthSettings::new(
        CLIENT_ID,
        SecretString::from(secret),
        Url::parse(&emulator.auth_url()).unwrap(),
        Url::parse(&emulator.token_url()).unwrap(),
        Url::parse(REDIRECT_URI).unwrap(),
    )
}

fn callback(location: &Url) -> Callback {
    let get = |name: &str| {
        let mut pairs = location.query_pairs();
        pairs.find(|(n, _)| n == name).map(|(_, v)| v.into_owned())
    };
    Callback {
        code: get("code"),
        state: get("state"),
        error: get("error"),
    }
}

/// Log lines written while a [`LogCapture`] is the thread's default subscriber.
#[derive(Clone, Default)]
pub struct LogCapture(Arc<std::sync::Mutex<Vec<u8>>>);

impl LogCapture {
    /// Captures every event of every crate, TRACE included, on this thread until the
    /// guard drops. Tests using it run on the current-thread runtime.
    pub fn start() -> (Self, tracing::subscriber::DefaultGuard) {
        let capture = Self::default();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(capture.clone())
            .finish();
        (capture, tracing::subscriber::set_default(subscriber))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    /// Lines at WARN level.
    pub fn warnings(&self) -> Vec<String> {
        let text = self.text();
        text.lines()
            .filter(|line| line.contains(" WARN "))
            .map(str::to_owned)
            .collect()
    }
}

impl std::io::Write for LogCapture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogCapture {
    type Writer = LogCapture;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
