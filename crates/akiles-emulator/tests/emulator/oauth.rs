//! The OAuth server: consent page, code exchange, PKCE, refresh rotation, expiry,
//! revocation and faults on the token endpoint.

use std::collections::BTreeMap;
use std::time::Duration;

use akiles_emulator::{
    EmulatorConfig, FaultEffect, FaultRule, Faults, HOTEL_ORG_NAME, OAuthClient, ORG_NAME,
    RunningEmulator, spawn,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{StatusCode, header};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use url::Url;
use url::form_urlencoded::Serializer;

const CLIENT_ID: &str = "app_emulatortest00001";
const CLIENT_SECRET: &str = "test-secret-not-real";
const REDIRECT_URI: &str = "http://127.0.0.1:9/callback?from=test";
const SCOPE: &str = "full_read_write offline";

/// An emulator with one registered application, and a client that does not follow
/// redirects (the redirect target does not exist).
struct OAuthApp {
    emulator: RunningEmulator,
    http: reqwest::Client,
}

/// The consent page's form, as a browser would see it.
#[derive(Debug)]
struct ConsentForm {
    action: String,
    hidden: Vec<(String, String)>,
    /// Radio choices: organization id → visible name.
    organizations: Vec<(String, String)>,
}

impl OAuthApp {
    async fn start() -> Self {
        Self::start_with(EmulatorConfig::default()).await
    }

    async fn start_with(config: EmulatorConfig) -> Self {
        let client = OAuthClient {
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
            redirect_uris: vec![REDIRECT_URI.into()],
        };
        let config = EmulatorConfig {
            oauth_clients: vec![client],
            ..config
        };
        let emulator = spawn(config).await.expect("emulator starts");
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self { emulator, http }
    }

    /// `GET /oauth2/auth` with the usual parameters, `overrides` replacing or adding some.
    async fn authorize(&self, overrides: &[(&str, &str)]) -> reqwest::Response {
        let mut params = vec![
            ("client_id", CLIENT_ID),
            ("redirect_uri", REDIRECT_URI),
            ("response_type", "code"),
            ("scope", SCOPE),
            ("state", "st-123"),
        ];
        for (name, value) in overrides {
            params.retain(|(n, _)| n != name);
            params.push((name, value));
        }
        let query = Serializer::new(String::new())
            .extend_pairs(&params)
            .finish();
        let url = format!("{}?{query}", self.emulator.auth_url());
        self.http.get(url).send().await.unwrap()
    }

    async fn consent_form(&self, overrides: &[(&str, &str)]) -> ConsentForm {
        let response = self.authorize(overrides).await;
        assert_eq!(response.status(), StatusCode::OK);
        parse_form(&response.text().await.unwrap())
    }

    /// Submits the consent form with `decision`, choosing the organization named
    /// `org_name`; returns the redirect's query parameters.
    async fn decide(
        &self,
        form: &ConsentForm,
        decision: &str,
        org_name: &str,
    ) -> BTreeMap<String, String> {
        let (org_id, _) = form
            .organizations
            .iter()
            .find(|(_, name)| name == org_name)
            .expect("the organization is offered");
        let mut fields = form.hidden.clone();
        fields.push(("organization_id".into(), org_id.clone()));
        fields.push(("decision".into(), decision.into()));
        let url = format!("http://{}{}", self.emulator.addr(), form.action);
        let response = self.post_form(&url, &fields).await;
        assert_eq!(response.status(), StatusCode::FOUND);
        redirect_params(&response)
    }

    /// The whole browser part: consent page, approve `org_name`; returns the code.
    async fn approve(&self, org_name: &str, overrides: &[(&str, &str)]) -> String {
        let form = self.consent_form(overrides).await;
        let params = self.decide(&form, "approve", org_name).await;
        params["code"].clone()
    }

    async fn post_form(&self, url: &str, fields: &[(String, String)]) -> reqwest::Response {
        let body = Serializer::new(String::new()).extend_pairs(fields).finish();
        self.http
            .post(url)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// `POST /oauth2/token` with the client credentials in the body plus `fields`.
    async fn token(&self, fields: &[(&str, &str)]) -> (StatusCode, Value) {
        let mut all = vec![
            ("client_id".to_owned(), CLIENT_ID.to_owned()),
            ("client_secret".to_owned(), CLIENT_SECRET.to_owned()),
        ];
        all.extend(fields.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let response = self.post_form(&self.emulator.token_url(), &all).await;
        (response.status(), response.json().await.unwrap())
    }

    async fn exchange(&self, code: &str) -> (StatusCode, Value) {
        let grant = [("grant_type", "authorization_code"), ("code", code)];
        self.token(&grant).await
    }

    async fn refresh(&self, refresh_token: &str) -> (StatusCode, Value) {
        let grant = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ];
        self.token(&grant).await
    }

    /// Approves `org_name` and exchanges the code: the token response.
    async fn connect(&self, org_name: &str) -> Value {
        let code = self.approve(org_name, &[]).await;
        let (status, tokens) = self.exchange(&code).await;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        tokens
    }

    /// `GET /v2/organization` with a Bearer token.
    async fn organization(&self, token: &Value) -> (StatusCode, Value) {
        let token = token.as_str().expect("a token string");
        let url = format!("{}/organization", self.emulator.base_url());
        let response = self.http.get(url).bearer_auth(token).send().await.unwrap();
        (response.status(), response.json().await.unwrap())
    }
}

fn redirect_params(response: &reqwest::Response) -> BTreeMap<String, String> {
    let location = response.headers()[header::LOCATION].to_str().unwrap();
    let url = Url::parse(location).unwrap();
    assert_eq!(url.path(), "/callback");
    url.query_pairs().into_owned().collect()
}

/// Reads the consent form out of the page: the action, the hidden inputs, the radios.
fn parse_form(html: &str) -> ConsentForm {
    let form_tag = html
        .split("<form")
        .nth(1)
        .unwrap()
        .split('>')
        .next()
        .unwrap();
    let mut form = ConsentForm {
        action: attribute(form_tag, "action").unwrap(),
        hidden: Vec::new(),
        organizations: Vec::new(),
    };
    for input in html.split("<input").skip(1) {
        let (tag, rest) = input.split_once('>').unwrap();
        let name = attribute(tag, "name").unwrap();
        let value = attribute(tag, "value").unwrap();
        match attribute(tag, "type").as_deref() {
            Some("hidden") => form.hidden.push((name, value)),
            Some("radio") => {
                let label = rest.split("</label>").next().unwrap().trim();
                form.organizations.push((value, unescape(label)));
            }
            _ => {}
        }
    }
    form
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let end = tag[start..].find('"')? + start;
    Some(unescape(&tag[start..end]))
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn token_fault(nth: Option<Vec<u64>>, status: u16) -> Faults {
    Faults {
        rules: vec![FaultRule {
            method: "POST".into(),
            path: "/oauth2/token".into(),
            nth,
            body_contains: None,
            effect: FaultEffect::Status {
                status,
                retry_after: Some("2".into()),
                kind: None,
            },
        }],
        ..Faults::default()
    }
}

#[tokio::test]
async fn code_flow_gives_a_token_bound_to_the_chosen_organization() {
    let app = OAuthApp::start().await;

    let page = app.authorize(&[]).await;
    let content_type = page.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_owned();
    let html = page.text().await.unwrap();
    let form = parse_form(&html);
    let redirect = app.decide(&form, "approve", HOTEL_ORG_NAME).await;
    let (status, tokens) = app.exchange(&redirect["code"]).await;
    let (org_status, org) = app.organization(&tokens["access_token"]).await;

    assert!(content_type.starts_with("text/html"));
    assert!(html.contains(">Approve</button>") && html.contains(">Deny</button>"));
    assert!(html.contains(CLIENT_ID) && html.contains("full_read_write"));
    let names: Vec<&str> = form.organizations.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(names, vec![ORG_NAME, HOTEL_ORG_NAME]);
    assert_eq!(redirect["state"], "st-123");
    assert_eq!(redirect["scope"], SCOPE);
    assert_eq!(redirect["from"], "test");
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["token_type"], "bearer");
    assert_eq!(tokens["expires_in"], 3600);
    assert_eq!(tokens["scope"], SCOPE);
    assert!(tokens["refresh_token"].is_string());
    assert_eq!(org_status, StatusCode::OK);
    assert_eq!(org["name"], HOTEL_ORG_NAME);
    assert_eq!(
        app.emulator.organization_id(HOTEL_ORG_NAME).as_deref(),
        org["id"].as_str()
    );
}

#[tokio::test]
async fn oauth_calls_are_counted_but_are_not_writes() {
    let app = OAuthApp::start().await;

    let tokens = app.connect(ORG_NAME).await;
    let (status, org) = app.organization(&tokens["access_token"]).await;

    let calls = app.emulator.calls();
    assert_eq!(
        (status, org["name"].as_str()),
        (StatusCode::OK, Some(ORG_NAME))
    );
    assert_eq!(calls["GET /oauth2/auth"], 1);
    assert_eq!(calls["POST /oauth2/auth/decision"], 1);
    assert_eq!(calls["POST /oauth2/token"], 1);
    assert_eq!(calls["GET /v2/organization"], 1);
    assert_eq!(app.emulator.write_calls(), 0);
}

#[tokio::test]
async fn deny_redirects_with_access_denied_and_the_state() {
    let app = OAuthApp::start().await;

    let form = app.consent_form(&[("state", "keep me")]).await;
    let redirect = app.decide(&form, "deny", ORG_NAME).await;

    assert_eq!(redirect["error"], "access_denied");
    assert_eq!(redirect["state"], "keep me");
    assert!(!redirect.contains_key("code"));
}

#[tokio::test]
async fn unregistered_redirect_uri_or_client_gets_an_error_page_not_a_redirect() {
    let app = OAuthApp::start().await;

    let other_uri = app
        .authorize(&[("redirect_uri", "http://127.0.0.1:9/elsewhere")])
        .await;
    let unknown_client = app.authorize(&[("client_id", "app_unknown")]).await;

    for response in [other_uri, unknown_client] {
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert!(response.headers().get(header::LOCATION).is_none());
        let content_type = &response.headers()[header::CONTENT_TYPE];
        assert!(content_type.to_str().unwrap().starts_with("text/html"));
    }
}

#[tokio::test]
async fn bad_response_type_or_scope_is_reported_at_the_redirect_uri() {
    let app = OAuthApp::start().await;

    let implicit = app.authorize(&[("response_type", "token")]).await;
    let bad_scope = app.authorize(&[("scope", "admin")]).await;

    assert_eq!(implicit.status(), StatusCode::FOUND);
    let params = redirect_params(&implicit);
    assert_eq!(params["error"], "unsupported_response_type");
    assert_eq!(params["state"], "st-123");
    assert_eq!(redirect_params(&bad_scope)["error"], "invalid_scope");
}

#[tokio::test]
async fn consent_page_escapes_what_it_echoes_and_the_state_round_trips() {
    let app = OAuthApp::start().await;
    let state = "\"><script>alert(1)</script>&x='y'";

    let html = app
        .authorize(&[("state", state)])
        .await
        .text()
        .await
        .unwrap();
    let form = parse_form(&html);
    let redirect = app.decide(&form, "approve", ORG_NAME).await;

    assert!(!html.contains("<script>"));
    assert_eq!(redirect["state"], state);
}

#[tokio::test]
async fn a_code_works_once() {
    let app = OAuthApp::start().await;
    let code = app.approve(ORG_NAME, &[]).await;

    let (first, _) = app.exchange(&code).await;
    let (second, error) = app.exchange(&code).await;

    assert_eq!(first, StatusCode::OK);
    assert_eq!(second, StatusCode::BAD_REQUEST);
    assert_eq!(error["error"], "invalid_grant");
    assert!(error["error_description"].is_string());
}

#[tokio::test]
async fn a_code_expires_after_the_configured_lifetime() {
    let app = OAuthApp::start_with(EmulatorConfig {
        auth_code_ttl: Duration::from_secs(60),
        ..EmulatorConfig::default()
    })
    .await;
    let code = app.approve(ORG_NAME, &[]).await;

    app.emulator.advance_oauth_clock(Duration::from_secs(61));
    let (status, error) = app.exchange(&code).await;

    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["error"], "invalid_grant");
}

#[tokio::test]
async fn redirect_uri_in_the_exchange_is_optional_but_must_match() {
    let app = OAuthApp::start().await;
    let code = app.approve(ORG_NAME, &[]).await;
    let with_uri = |uri| {
        [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", uri),
        ]
    };

    let (wrong, error) = app.token(&with_uri("http://127.0.0.1:9/callback")).await;
    let (right, _) = app.token(&with_uri(REDIRECT_URI)).await;
    let other_code = app.approve(ORG_NAME, &[]).await;
    let (without, _) = app.exchange(&other_code).await;

    assert_eq!(
        (wrong, error["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    assert_eq!(right, StatusCode::OK);
    assert_eq!(without, StatusCode::OK);
}

#[tokio::test]
async fn pkce_s256_needs_the_matching_verifier() {
    let app = OAuthApp::start().await;
    let verifier = "a-verifier-of-at-least-43-characters-0123456789";
    let challenge = s256(verifier);
    let pkce = [
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let code = app.approve(ORG_NAME, &pkce).await;
    let exchange = |verifier| {
        [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("code_verifier", verifier),
        ]
    };

    let (missing, missing_error) = app.exchange(&code).await;
    let wrong_verifier = "b-verifier-of-at-least-43-characters-0123456789";
    let (wrong, wrong_error) = app.token(&exchange(wrong_verifier)).await;
    let (right, tokens) = app.token(&exchange(verifier)).await;

    assert_eq!(missing, StatusCode::BAD_REQUEST);
    assert_eq!(missing_error["error"], "invalid_grant");
    assert_eq!(wrong, StatusCode::BAD_REQUEST);
    assert_eq!(wrong_error["error"], "invalid_grant");
    assert_eq!(right, StatusCode::OK, "{tokens}");
}

#[tokio::test]
async fn pkce_plain_is_accepted_too() {
    let app = OAuthApp::start().await;
    let verifier = "plain-verifier-of-at-least-43-characters-012345";
    let pkce = [
        ("code_challenge", verifier),
        ("code_challenge_method", "plain"),
    ];
    let code = app.approve(ORG_NAME, &pkce).await;

    let fields = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("code_verifier", verifier),
    ];
    let (status, _) = app.token(&fields).await;

    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn client_secret_is_accepted_via_basic_and_via_the_body() {
    let app = OAuthApp::start().await;
    let basic_code = app.approve(ORG_NAME, &[]).await;
    let body_code = app.approve(ORG_NAME, &[]).await;
    let basic = |code: &str, secret: &str| {
        let body = Serializer::new(String::new())
            .extend_pairs([("grant_type", "authorization_code"), ("code", code)])
            .finish();
        app.http
            .post(app.emulator.token_url())
            .basic_auth(CLIENT_ID, Some(secret))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };

    let wrong_basic = basic(&basic_code, "wrong").await.unwrap();
    let wrong_challenge = wrong_basic.headers().get(header::WWW_AUTHENTICATE).cloned();
    let wrong_basic_body: Value = wrong_basic.json().await.unwrap();
    let via_basic = basic(&basic_code, CLIENT_SECRET).await.unwrap();
    let (via_body, _) = app.exchange(&body_code).await;
    let wrong_body = [
        ("client_id".to_owned(), CLIENT_ID.to_owned()),
        ("client_secret".to_owned(), "wrong".to_owned()),
        ("grant_type".to_owned(), "refresh_token".to_owned()),
        ("refresh_token".to_owned(), "x".to_owned()),
    ];
    let wrong_body = app.post_form(&app.emulator.token_url(), &wrong_body).await;

    assert_eq!(wrong_basic_body["error"], "invalid_client");
    assert!(wrong_challenge.is_some());
    assert_eq!(via_basic.status(), StatusCode::OK);
    assert_eq!(via_body, StatusCode::OK);
    assert_eq!(wrong_body.status(), StatusCode::UNAUTHORIZED);
    let error: Value = wrong_body.json().await.unwrap();
    assert_eq!(
        error,
        json!({"error": "invalid_client", "error_description": error["error_description"]})
    );
}

#[tokio::test]
async fn token_endpoint_rejects_malformed_requests() {
    let app = OAuthApp::start().await;

    let (unknown_grant, unknown) = app.token(&[("grant_type", "client_credentials")]).await;
    let (no_code, missing) = app.token(&[("grant_type", "authorization_code")]).await;
    let json_body = app
        .http
        .post(app.emulator.token_url())
        .json(&json!({"grant_type": "refresh_token", "client_id": CLIENT_ID}))
        .send()
        .await
        .unwrap();
    let json_status = json_body.status();
    let json_error: Value = json_body.json().await.unwrap();

    assert_eq!(unknown_grant, StatusCode::BAD_REQUEST);
    assert_eq!(unknown["error"], "unsupported_grant_type");
    assert_eq!(no_code, StatusCode::BAD_REQUEST);
    assert_eq!(missing["error"], "invalid_request");
    assert_eq!(json_status, StatusCode::BAD_REQUEST);
    assert_eq!(json_error["error"], "invalid_request");
}

#[tokio::test]
async fn without_offline_scope_there_is_no_refresh_token() {
    let app = OAuthApp::start().await;
    let code = app.approve(ORG_NAME, &[("scope", "full_read_only")]).await;

    let (status, tokens) = app.exchange(&code).await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(tokens["scope"], "full_read_only");
    assert!(tokens.get("refresh_token").is_none());
}

#[tokio::test]
async fn refresh_rotates_the_refresh_token_and_keeps_the_organization() {
    let app = OAuthApp::start().await;
    let first = app.connect(HOTEL_ORG_NAME).await;
    let old = first["refresh_token"].as_str().unwrap();

    let (status, second) = app.refresh(old).await;
    let (reuse_status, reuse) = app.refresh(old).await;
    let new = second["refresh_token"].as_str().unwrap();
    let (again_status, third) = app.refresh(new).await;
    let (_, org) = app.organization(&third["access_token"]).await;

    assert_eq!(status, StatusCode::OK, "{second}");
    assert_ne!(old, new);
    assert_eq!(second["scope"], SCOPE);
    assert_eq!(reuse_status, StatusCode::BAD_REQUEST);
    assert_eq!(reuse["error"], "invalid_grant");
    assert_eq!(again_status, StatusCode::OK);
    assert_eq!(org["name"], HOTEL_ORG_NAME);
    assert_eq!(app.emulator.token_refreshes(), 2);
}

#[tokio::test]
async fn expired_access_token_is_refused_and_a_refreshed_one_works() {
    let app = OAuthApp::start().await;
    let first = app.connect(ORG_NAME).await;

    let expired = app
        .http
        .post(format!(
            "http://{}/_emulator/oauth/expire_access_tokens",
            app.emulator.addr()
        ))
        .send()
        .await
        .unwrap();
    let expired: Value = expired.json().await.unwrap();
    let (old_status, old_error) = app.organization(&first["access_token"]).await;
    let (_, refreshed) = app.refresh(first["refresh_token"].as_str().unwrap()).await;
    let (new_status, _) = app.organization(&refreshed["access_token"]).await;

    assert_eq!(expired, json!({"expired": 1}));
    assert_eq!(old_status, StatusCode::UNAUTHORIZED);
    assert_eq!(old_error["type"], "unauthorized");
    assert_eq!(new_status, StatusCode::OK);
}

#[tokio::test]
async fn access_tokens_live_for_the_configured_ttl() {
    let app = OAuthApp::start_with(EmulatorConfig {
        access_token_ttl: Duration::from_secs(60),
        ..EmulatorConfig::default()
    })
    .await;
    let tokens = app.connect(ORG_NAME).await;

    let (before, _) = app.organization(&tokens["access_token"]).await;
    app.emulator.advance_oauth_clock(Duration::from_secs(60));
    let (after, _) = app.organization(&tokens["access_token"]).await;

    assert_eq!(tokens["expires_in"], 60);
    assert_eq!(before, StatusCode::OK);
    assert_eq!(after, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn revoking_a_grant_kills_its_refresh_and_access_tokens() {
    let app = OAuthApp::start().await;
    let revoked = app.connect(ORG_NAME).await;
    let kept = app.connect(HOTEL_ORG_NAME).await;
    let refresh_token = revoked["refresh_token"].as_str().unwrap();

    let answer = app
        .http
        .post(format!(
            "http://{}/_emulator/oauth/revoke",
            app.emulator.addr()
        ))
        .json(&json!({"refresh_token": refresh_token}))
        .send()
        .await
        .unwrap();
    let answer: Value = answer.json().await.unwrap();
    let (refresh_status, refresh_error) = app.refresh(refresh_token).await;
    let (access_status, _) = app.organization(&revoked["access_token"]).await;
    let (kept_status, _) = app.organization(&kept["access_token"]).await;

    assert_eq!(answer, json!({"revoked": 1}));
    assert_eq!(refresh_status, StatusCode::BAD_REQUEST);
    assert_eq!(refresh_error["error"], "invalid_grant");
    assert_eq!(access_status, StatusCode::UNAUTHORIZED);
    assert_eq!(kept_status, StatusCode::OK);
}

#[tokio::test]
async fn revoking_all_grants_leaves_the_static_api_key_working() {
    let app = OAuthApp::start().await;
    let tokens = app.connect(HOTEL_ORG_NAME).await;

    let revoked = app.emulator.revoke_oauth_grants();
    let (refresh_status, error) = app.refresh(tokens["refresh_token"].as_str().unwrap()).await;
    let (access_status, _) = app.organization(&tokens["access_token"]).await;
    let (key_status, org) = app.organization(&json!(app.emulator.api_key())).await;

    assert_eq!(revoked, 1);
    assert_eq!(
        (refresh_status, error["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    assert_eq!(access_status, StatusCode::UNAUTHORIZED);
    assert_eq!(key_status, StatusCode::OK);
    assert_eq!(org["name"], ORG_NAME);
}

#[tokio::test]
async fn an_injected_503_on_the_token_endpoint_is_answered_before_the_grant_is_used() {
    let app = OAuthApp::start().await;
    let code = app.approve(ORG_NAME, &[]).await;
    app.emulator.set_faults(token_fault(Some(vec![1]), 503));

    let (failed, error) = app.exchange(&code).await;
    let (retried, tokens) = app.exchange(&code).await;

    assert_eq!(failed, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(error["error"], "temporarily_unavailable");
    assert_eq!(retried, StatusCode::OK, "{tokens}");
    assert_eq!(app.emulator.calls()["POST /oauth2/token"], 2);
    assert_eq!(app.emulator.write_calls(), 0);
}

#[tokio::test]
async fn grants_survive_a_restart_with_a_state_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = EmulatorConfig {
        state_file: Some(dir.path().join("state.json")),
        ..EmulatorConfig::default()
    };
    let app = OAuthApp::start_with(config.clone()).await;
    let tokens = app.connect(HOTEL_ORG_NAME).await;
    app.emulator.shutdown().await;

    let restarted = OAuthApp::start_with(config).await;
    let (access_status, org) = restarted.organization(&tokens["access_token"]).await;
    let (refresh_status, _) = restarted
        .refresh(tokens["refresh_token"].as_str().unwrap())
        .await;

    assert_eq!(access_status, StatusCode::OK);
    assert_eq!(org["name"], HOTEL_ORG_NAME);
    assert_eq!(refresh_status, StatusCode::OK);
    restarted.emulator.shutdown().await;
}
