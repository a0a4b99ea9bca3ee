//! The Akiles OAuth 2.0 server: `/oauth2/auth` (consent page), `/oauth2/token`, and the
//! hooks that revoke grants and expire access tokens.
//!
//! Registered applications come from [`crate::EmulatorConfig::oauth_clients`]. A user
//! approving the consent page picks one organization; every token of that grant sees only
//! that organization on `/v2`, like the static API keys see the default one. Codes,
//! grants and tokens live in the store ([`grants::OAuthState`]) and are saved with it.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use url::Url;

use crate::error::ApiError;
use crate::state::Shared;

mod authorize;
mod error;
pub(crate) mod grants;
mod page;
mod pkce;
mod token;

pub(crate) use error::OAuthError;
pub(crate) use grants::{Lifetimes, OAuthState, Revocation, TokenCheck};

/// Scopes the consent page accepts; anything else is `invalid_scope`.
pub const KNOWN_SCOPES: [&str; 3] = ["full_read_write", "full_read_only", "offline"];

/// An application registered with the emulator's OAuth server.
#[derive(Clone, PartialEq, Eq)]
pub struct OAuthClient {
    /// Public client id, e.g. `app_…`.
    pub client_id: String,
    /// Client secret, checked at the token endpoint.
    pub client_secret: String,
    /// Redirect URIs; the authorization request must name one of them exactly.
    pub redirect_uris: Vec<String>,
}

impl fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthClient")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("redirect_uris", &self.redirect_uris)
            .finish()
    }
}

/// The OAuth part of the configuration, checked once at start.
#[derive(Debug, Clone)]
pub(crate) struct OAuthSettings {
    /// Registered applications.
    pub clients: Vec<OAuthClient>,
    /// Token and code lifetimes.
    pub lifetimes: Lifetimes,
}

impl OAuthSettings {
    /// Checks the registered clients: unique non-empty ids and secrets, absolute
    /// redirect URIs without a fragment.
    pub fn new(clients: &[OAuthClient], lifetimes: Lifetimes) -> io::Result<Self> {
        let bad = |why: String| io::Error::new(io::ErrorKind::InvalidInput, why);
        let mut seen = Vec::new();
        for client in clients {
            if client.client_id.is_empty() || client.client_secret.is_empty() {
                return Err(bad("an OAuth client needs a client id and a secret".into()));
            }
            if seen.contains(&&client.client_id) {
                return Err(bad(format!(
                    "OAuth client {} is registered twice",
                    client.client_id
                )));
            }
            seen.push(&client.client_id);
            for uri in &client.redirect_uris {
                check_redirect_uri(uri).map_err(|why| bad(format!("redirect URI {uri}: {why}")))?;
            }
        }
        Ok(Self {
            clients: clients.to_vec(),
            lifetimes,
        })
    }

    /// The registered client with this id.
    pub fn client(&self, client_id: &str) -> Option<&OAuthClient> {
        self.clients.iter().find(|c| c.client_id == client_id)
    }
}

/// Whether a redirect URI can be registered: absolute, no fragment (RFC 6749 §3.1.2).
pub fn check_redirect_uri(uri: &str) -> Result<(), String> {
    let url = Url::parse(uri).map_err(|e| e.to_string())?;
    if url.fragment().is_some() {
        return Err("a redirect URI must not have a fragment".into());
    }
    if url.cannot_be_a_base() {
        return Err("a redirect URI must be a hierarchical URL".into());
    }
    Ok(())
}

/// The `/oauth2/*` routes, without middleware.
pub fn oauth_routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/oauth2/auth", get(authorize::show_consent))
        .route("/oauth2/auth/decision", post(authorize::decide))
        .route("/oauth2/token", post(token::issue_token))
}

/// Revokes grants (and their refresh and access tokens); returns how many grants.
pub(crate) fn revoke(shared: &Shared, which: Revocation<'_>) -> Result<usize, ApiError> {
    shared.write_store(|store| Ok::<_, ApiError>(store.oauth.revoke(which)))
}

/// Makes every live access token expire now; returns how many there were.
pub(crate) fn expire_access_tokens(shared: &Shared) -> Result<usize, ApiError> {
    let now = shared.now();
    shared.write_store(|store| Ok::<_, ApiError>(store.oauth.expire_access_tokens(now)))
}

/// Form or query parameters, each at most once; an empty value counts as absent
/// (RFC 6749 §3.1).
#[derive(Debug, Default)]
pub(crate) struct Params(BTreeMap<String, String>);

impl Params {
    /// Parses `application/x-www-form-urlencoded` bytes; a repeated name is an error.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        let mut params = BTreeMap::new();
        for (name, value) in url::form_urlencoded::parse(bytes) {
            if value.is_empty() {
                continue;
            }
            if params
                .insert(name.to_string(), value.into_owned())
                .is_some()
            {
                return Err(format!("parameter `{name}` is repeated"));
            }
        }
        Ok(Self(params))
    }

    /// The non-empty value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

/// Normalises a space-separated scope list: known scopes only, each once, in order.
pub(crate) fn parse_scope(scope: Option<&str>) -> Result<String, String> {
    let Some(scope) = scope else {
        return Err("scope is missing".into());
    };
    let mut scopes: Vec<&str> = Vec::new();
    for item in scope.split(' ').filter(|s| !s.is_empty()) {
        if !KNOWN_SCOPES.contains(&item) {
            return Err(format!("unknown scope `{item}`"));
        }
        if !scopes.contains(&item) {
            scopes.push(item);
        }
    }
    if scopes.is_empty() {
        return Err("scope is empty".into());
    }
    Ok(scopes.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_treat_empty_values_as_absent_and_refuse_repeats() {
        let params = Params::parse(b"a=1&b=&c=x+y%21").unwrap();

        assert_eq!(params.get("a"), Some("1"));
        assert_eq!(params.get("b"), None);
        assert_eq!(params.get("c"), Some("x y!"));
        assert!(Params::parse(b"a=1&a=2").is_err());
    }

    #[test]
    fn scopes_are_known_deduplicated_and_ordered() {
        assert_eq!(
            parse_scope(Some("full_read_write  offline full_read_write")),
            Ok("full_read_write offline".into())
        );
        assert!(parse_scope(Some("admin")).is_err());
        assert!(parse_scope(Some(" ")).is_err());
        assert!(parse_scope(None).is_err());
    }

    #[test]
    fn redirect_uris_must_be_absolute_without_fragment() {
        assert!(check_redirect_uri("http://127.0.0.1:8765/callback").is_ok());
        assert!(check_redirect_uri("/callback").is_err());
        assert!(check_redirect_uri("https://example.com/cb#x").is_err());
        assert!(check_redirect_uri("mailto:a@example.com").is_err());
    }
}
