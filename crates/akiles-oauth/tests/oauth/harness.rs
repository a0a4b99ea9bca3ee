//! The emulator with a registered application, a fixed clock, and a scripted "browser"
//! that answers the consent page the way a person would.

use std::sync::Arc;
use std::time::Duration;

use akiles_emulator::{
    EmulatorConfig, FaultEffect, FaultRule, Faults, OAuthClient, RunningEmulator,
};
use akiles_oauth::{AkilesOAuth, OAuthSettings, TokenSet};
use hr_domain::FixedClock;
use secrecy::{ExposeSecret, SecretString};
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
    browser: reqwest::Client,
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

        Self {
            emulator,
            oauth: Arc::new(oauth),
            clock,
            browser,
        }
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

        let mut form = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in form_fields(&html) {
            form.append_pair(&name, &value);
        }
        form.append_pair("decision", decision);
        let action = url.join(&form_action(&html)).unwrap();
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

/// The `action` of the page's form.
fn form_action(html: &str) -> String {
    let form = &html[html.find("<form").expect("the page has a form")..];
    attribute(form, "action").expect("the form has an action")
}

/// What submitting the form sends, buttons aside: hidden fields and checked radios.
fn form_fields(html: &str) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    for chunk in html.split("<input").skip(1) {
        let tag = &chunk[..chunk.find('>').unwrap_or(chunk.len())];
        let kind = attribute(tag, "type").unwrap_or_default();
        let sent = kind == "hidden" || (kind == "radio" && tag.contains(" checked"));
        if let (true, Some(name), Some(value)) =
            (sent, attribute(tag, "name"), attribute(tag, "value"))
        {
            fields.push((name, value));
        }
    }
    fields
}

/// The unescaped value of a double-quoted attribute.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let end = start + tag[start..].find('"')?;
    Some(unescape(&tag[start..end]))
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}
