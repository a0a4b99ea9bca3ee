//! [`AkilesOAuth`]: the authorization-code flow and the refresh grant against Akiles'
//! `/oauth2/auth` and `/oauth2/token`, on top of the `oauth2` crate.
//!
//! Akiles expects the client secret in the form body, the `redirect_uri` on the code
//! exchange, and the scopes `full_read_write offline` (the second one yields a refresh
//! token). PKCE (S256) is always sent; Akiles tolerates it.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use hr_domain::{Clock, SystemClock};
use oauth2::basic::{BasicClient, BasicErrorResponse, BasicErrorResponseType, BasicTokenResponse};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet,
    EndpointSet, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError,
    Scope, TokenResponse, TokenUrl,
};
use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;
use url::Url;

use crate::error::{OAuthError, ProtocolError, TransientError};
use crate::http::{HttpFailure, Sender};

/// The scopes asked for when the settings name none: full access, plus a refresh token.
pub const DEFAULT_SCOPES: [&str; 2] = ["full_read_write", "offline"];

/// How long one token request may take, connecting included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// How long connecting to the token endpoint may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The oauth2 client with an authorization and a token endpoint set.
type ConfiguredClient =
    BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// Our application as registered in the Akiles Developer Center, and where Akiles is.
#[derive(Debug, Clone)]
pub struct OAuthSettings {
    /// The public client id (`app_…`).
    pub client_id: String,
    /// The client secret; sent in the token request body only.
    pub client_secret: SecretString,
    /// The authorization endpoint, e.g. `https://auth.akiles.app/oauth2/auth`.
    pub authorize_url: Url,
    /// The token endpoint, e.g. `https://auth.akiles.app/oauth2/token`.
    pub token_url: Url,
    /// Our callback, exactly as registered with Akiles.
    pub redirect_uri: Url,
    /// Scopes to ask for; [`DEFAULT_SCOPES`] unless changed.
    pub scopes: Vec<String>,
}

impl OAuthSettings {
    /// Settings with the [`DEFAULT_SCOPES`].
    pub fn new(
        client_id: impl Into<String>,
        client_secret: SecretString,
        authorize_url: Url,
        token_url: Url,
        redirect_uri: Url,
    ) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret,
            authorize_url,
            token_url,
            redirect_uri,
            scopes: DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
        }
    }
}

/// Why [`AkilesOAuth::new`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OAuthSetupError {
    /// The HTTP client (TLS included) could not be built.
    #[error("the HTTP client for the Akiles token endpoint cannot be built")]
    HttpClient(#[source] reqwest::Error),
    /// A setting is unusable.
    #[error("invalid OAuth setting `{field}`: {reason}")]
    Invalid {
        /// The setting's name.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// What the browser needs to start connecting, and what we must keep until it comes back.
pub struct AuthorizationRequest {
    /// Where to send the browser.
    pub url: Url,
    /// The random `state` in `url`; the callback must bring back exactly this value.
    pub state: String,
    /// The PKCE verifier matching the challenge in `url`; needed for the code exchange.
    pub pkce_verifier: SecretString,
}

impl fmt::Debug for AuthorizationRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL carries only the state and the public challenge, but the state is what
        // ties a callback to this request: keep both out of logs.
        f.debug_struct("AuthorizationRequest")
            .field("url", &"[redacted]")
            .field("state", &"[redacted]")
            .field("pkce_verifier", &"[redacted]")
            .finish()
    }
}

/// Tokens from one successful token request.
#[derive(Clone)]
pub struct TokenSet {
    /// The Bearer token for the Akiles API.
    pub access_token: SecretString,
    /// The token for the next refresh; `None` when the grant has none (no `offline`).
    pub refresh_token: Option<SecretString>,
    /// When the access token stops working, if the server said (`expires_in`), counted
    /// from just before the request was sent.
    pub expires_at: Option<OffsetDateTime>,
    /// The granted scopes, space-separated, if the server said.
    pub scope: Option<String>,
}

impl fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let refresh = self.refresh_token.as_ref().map(|_| "[redacted]");
        f.debug_struct("TokenSet")
            .field("access_token", &"[redacted]")
            .field("refresh_token", &refresh)
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .finish()
    }
}

/// The OAuth client for Akiles: builds authorization URLs and redeems codes and refresh
/// tokens. Cheap to share behind an `Arc`; it holds no per-tenant state.
pub struct AkilesOAuth {
    client: ConfiguredClient,
    http: Sender,
    scopes: Vec<Scope>,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for AkilesOAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AkilesOAuth")
            .field("client_id", &self.client.client_id().as_str())
            .field("token_url", &self.client.token_uri().as_str())
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

impl AkilesOAuth {
    /// Builds the client. Its HTTP client never follows redirects and times out after
    /// 15 s (5 s to connect). Expiry times are read from the system clock; see
    /// [`with_clock`](Self::with_clock).
    pub fn new(settings: OAuthSettings) -> Result<Self, OAuthSetupError> {
        check(&settings)?;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(OAuthSetupError::HttpClient)?;

        let secret = settings.client_secret.expose_secret().to_owned();
        let client = BasicClient::new(ClientId::new(settings.client_id))
            .set_client_secret(ClientSecret::new(secret))
            .set_auth_type(AuthType::RequestBody)
            .set_auth_uri(AuthUrl::from_url(settings.authorize_url))
            .set_token_uri(TokenUrl::from_url(settings.token_url))
            .set_redirect_uri(RedirectUrl::from_url(settings.redirect_uri));
        let scopes = settings.scopes.into_iter().map(Scope::new).collect();

        Ok(Self {
            client,
            http: Sender(http),
            scopes,
            clock: Arc::new(SystemClock),
        })
    }

    /// Uses `clock` to turn `expires_in` into [`TokenSet::expires_at`].
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// A fresh authorization URL with a random `state` and an S256 PKCE challenge.
    pub fn authorization_request(&self) -> AuthorizationRequest {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state) = self
            .client
            .authorize_url(CsrfToken::new_random)
            .add_scopes(self.scopes.iter().cloned())
            .set_pkce_challenge(challenge)
            .url();

        AuthorizationRequest {
            url,
            state: state.into_secret(),
            pkce_verifier: SecretString::from(verifier.into_secret()),
        }
    }

    /// Redeems the `code` from the callback, with the PKCE verifier kept since
    /// [`authorization_request`](Self::authorization_request). Sends our `redirect_uri`.
    pub async fn exchange_code(
        &self,
        code: &str,
        pkce_verifier: &SecretString,
    ) -> Result<TokenSet, OAuthError> {
        let sent_at = self.clock.now();
        let verifier = PkceCodeVerifier::new(pkce_verifier.expose_secret().to_owned());
        let response = self
            .client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .set_pkce_verifier(verifier)
            .request_async(&self.http)
            .await
            .map_err(classify)?;

        Ok(token_set(&response, sent_at, None))
    }

    /// Redeems `refresh_token` for new tokens. Akiles rotates refresh tokens, so the
    /// answer's refresh token replaces the old one; when the answer has none, the old
    /// one is kept in the result.
    pub async fn refresh(&self, refresh_token: &SecretString) -> Result<TokenSet, OAuthError> {
        let sent_at = self.clock.now();
        let token = RefreshToken::new(refresh_token.expose_secret().to_owned());
        let response = self
            .client
            .exchange_refresh_token(&token)
            .request_async(&self.http)
            .await
            .map_err(classify)?;

        Ok(token_set(&response, sent_at, Some(refresh_token)))
    }
}

/// Refuses settings that cannot work.
fn check(settings: &OAuthSettings) -> Result<(), OAuthSetupError> {
    let invalid = |field, reason| Err(OAuthSetupError::Invalid { field, reason });
    if settings.client_id.trim().is_empty() {
        return invalid("client_id", "must not be empty");
    }
    if settings.client_secret.expose_secret().is_empty() {
        return invalid("client_secret", "must not be empty");
    }
    if settings
        .scopes
        .iter()
        .any(|s| s.is_empty() || s.contains(' '))
    {
        return invalid("scopes", "each scope must be one non-empty word");
    }
    let urls = [
        ("authorize_url", &settings.authorize_url),
        ("token_url", &settings.token_url),
        ("redirect_uri", &settings.redirect_uri),
    ];
    for (field, url) in urls {
        if !matches!(url.scheme(), "http" | "https") {
            return invalid(field, "must be an http or https URL");
        }
    }
    Ok(())
}

/// Turns a token answer into a [`TokenSet`]; `previous` is the refresh token to keep when
/// the answer has no new one.
fn token_set(
    response: &BasicTokenResponse,
    sent_at: OffsetDateTime,
    previous: Option<&SecretString>,
) -> TokenSet {
    let access_token = SecretString::from(response.access_token().secret().as_str());
    let refresh_token = match response.refresh_token() {
        Some(token) => Some(SecretString::from(token.secret().as_str())),
        None => previous.cloned(),
    };
    let expires_at = response
        .expires_in()
        .and_then(|ttl| time::Duration::try_from(ttl).ok())
        .and_then(|ttl| sent_at.checked_add(ttl));
    let scope = response.scopes().map(|scopes| {
        let names: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
        names.join(" ")
    });

    TokenSet {
        access_token,
        refresh_token,
        expires_at,
        scope,
    }
}

/// Sorts an oauth2 failure into an [`OAuthError`], dropping anything that may hold a
/// secret (response bodies, server descriptions).
fn classify(error: RequestTokenError<HttpFailure, BasicErrorResponse>) -> OAuthError {
    match error {
        RequestTokenError::ServerResponse(response) => from_error_code(response.error()),
        RequestTokenError::Request(HttpFailure::Transport(source)) => {
            OAuthError::Transient(TransientError::Transport(source))
        }
        RequestTokenError::Request(HttpFailure::Busy {
            status,
            retry_after,
        }) => OAuthError::Transient(TransientError::Status {
            status,
            retry_after,
        }),
        RequestTokenError::Request(HttpFailure::Redirected { status }) => {
            OAuthError::Protocol(ProtocolError::Redirected { status })
        }
        RequestTokenError::Parse(source, _body) => {
            OAuthError::Protocol(ProtocolError::MalformedBody {
                path: source.path().to_string(),
            })
        }
        RequestTokenError::Other(message) => OAuthError::Protocol(ProtocolError::Unusable(message)),
    }
}

fn from_error_code(code: &BasicErrorResponseType) -> OAuthError {
    match code {
        BasicErrorResponseType::InvalidGrant => OAuthError::InvalidGrant,
        BasicErrorResponseType::InvalidClient => OAuthError::InvalidClient,
        BasicErrorResponseType::Extension(code)
            if code == "temporarily_unavailable" || code == "server_error" =>
        {
            OAuthError::Transient(TransientError::ServerBusy { code: code.clone() })
        }
        other => OAuthError::Protocol(ProtocolError::ErrorResponse {
            code: other.as_ref().to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> OAuthSettings {
        OAuthSettings::new(
            "app_test",
            SecretString::from("client-secret-value"),
            Url::parse("https://auth.example/oauth2/auth").unwrap(),
            Url::parse("https://auth.example/oauth2/token").unwrap(),
            Url::parse("https://hr.example/akiles/callback").unwrap(),
        )
    }

    #[test]
    fn authorization_url_carries_scopes_state_redirect_and_s256_challenge() {
        let oauth = AkilesOAuth::new(settings()).unwrap();

        let request = oauth.authorization_request();

        let pairs: Vec<(String, String)> = request.url.query_pairs().into_owned().collect();
        let get = |name: &str| {
            let pair = pairs.iter().find(|(n, _)| n == name);
            pair.map(|(_, v)| v.as_str())
        };
        assert_eq!(request.url.path(), "/oauth2/auth");
        assert_eq!(get("response_type"), Some("code"));
        assert_eq!(get("client_id"), Some("app_test"));
        assert_eq!(get("scope"), Some("full_read_write offline"));
        assert_eq!(
            get("redirect_uri"),
            Some("https://hr.example/akiles/callback")
        );
        assert_eq!(get("state"), Some(request.state.as_str()));
        assert_eq!(get("code_challenge_method"), Some("S256"));
        assert!(get("code_challenge").is_some());
        assert!(!request.url.as_str().contains("client-secret-value"));
        assert!(
            !request
                .url
                .as_str()
                .contains(request.pkce_verifier.expose_secret())
        );
    }

    #[test]
    fn every_authorization_request_has_its_own_state_and_verifier() {
        let oauth = AkilesOAuth::new(settings()).unwrap();

        let first = oauth.authorization_request();
        let second = oauth.authorization_request();

        assert_ne!(first.state, second.state);
        assert!(first.state.len() >= 16);
        assert_ne!(
            first.pkce_verifier.expose_secret(),
            second.pkce_verifier.expose_secret()
        );
    }

    #[test]
    fn unusable_settings_are_refused() {
        let mut empty_id = settings();
        empty_id.client_id = " ".into();
        let mut bad_scope = settings();
        bad_scope.scopes = vec!["full_read_write offline".into()];
        let mut bad_url = settings();
        bad_url.token_url = Url::parse("ftp://auth.example/token").unwrap();

        for broken in [empty_id, bad_scope, bad_url] {
            assert!(matches!(
                AkilesOAuth::new(broken),
                Err(OAuthSetupError::Invalid { .. })
            ));
        }
    }

    #[test]
    fn debug_output_hides_tokens_and_secrets() {
        let oauth = AkilesOAuth::new(settings()).unwrap();
        let request = oauth.authorization_request();
        let tokens = TokenSet {
            access_token: SecretString::from("access-secret"),
            refresh_token: Some(SecretString::from("refresh-secret")),
            expires_at: None,
            scope: Some("offline".into()),
        };

        let printed = format!("{oauth:?} {request:?} {tokens:?} {:?}", settings());

        for secret in ["access-secret", "refresh-secret", "client-secret-value"] {
            assert!(!printed.contains(secret), "{secret} leaked: {printed}");
        }
        assert!(!printed.contains(&request.state));
        assert!(!printed.contains(request.pkce_verifier.expose_secret()));
    }

    #[test]
    fn oauth_error_codes_map_to_what_the_caller_must_do() {
        let extension = |code: &str| BasicErrorResponseType::Extension(code.into());

        assert!(matches!(
            from_error_code(&BasicErrorResponseType::InvalidGrant),
            OAuthError::InvalidGrant
        ));
        assert!(matches!(
            from_error_code(&BasicErrorResponseType::InvalidClient),
            OAuthError::InvalidClient
        ));
        assert!(from_error_code(&extension("temporarily_unavailable")).is_transient());
        assert!(matches!(
            from_error_code(&BasicErrorResponseType::InvalidScope),
            OAuthError::Protocol(ProtocolError::ErrorResponse { .. })
        ));
    }
}
