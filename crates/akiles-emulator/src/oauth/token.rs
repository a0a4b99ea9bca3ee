//! The token endpoint, `POST /oauth2/token`: client authentication (form body or HTTP
//! Basic), then the `authorization_code` or `refresh_token` grant.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;

use super::grants::{CodeExchange, GrantError, IssuedTokens};
use super::{OAuthClient, OAuthError, OAuthSettings, Params};
use crate::state::Shared;

/// A successful token answer (RFC 6749 §5.1).
#[derive(Debug, Serialize)]
struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    scope: String,
}

impl IntoResponse for TokenResponse {
    fn into_response(self) -> Response {
        let mut response = Json(self).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        response
    }
}

impl From<GrantError> for OAuthError {
    fn from(error: GrantError) -> Self {
        match error {
            GrantError::Unusable(why) => OAuthError::invalid_grant(why),
            GrantError::Malformed(why) => OAuthError::invalid_request(why),
            GrantError::ScopeNotGranted(why) => OAuthError::invalid_scope(why),
        }
    }
}

/// `POST /oauth2/token`.
pub(super) async fn issue_token(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthError> {
    check_content_type(&headers)?;
    let params = Params::parse(&body).map_err(OAuthError::invalid_request)?;
    let client = authenticate_client(&shared.oauth, &headers, &params)?;

    let grant_type = params
        .get("grant_type")
        .ok_or_else(|| OAuthError::invalid_request("grant_type is missing"))?;
    let issued = match grant_type {
        "authorization_code" => exchange_code(&shared, client, &params)?,
        "refresh_token" => refresh(&shared, client, &params)?,
        other => return Err(OAuthError::unsupported_grant_type(other)),
    };

    let expires_in = shared.oauth.lifetimes.access_token.as_secs();
    Ok(TokenResponse {
        access_token: issued.access_token,
        token_type: "bearer",
        expires_in,
        refresh_token: issued.refresh_token,
        scope: issued.scope,
    }
    .into_response())
}

fn exchange_code(
    shared: &Shared,
    client: &OAuthClient,
    params: &Params,
) -> Result<IssuedTokens, OAuthError> {
    let code = params
        .get("code")
        .ok_or_else(|| OAuthError::invalid_request("code is missing"))?;
    let exchange = CodeExchange {
        client_id: &client.client_id,
        code,
        redirect_uri: params.get("redirect_uri"),
        code_verifier: params.get("code_verifier"),
    };
    let now = shared.now();
    let lifetimes = shared.oauth.lifetimes;
    shared.write_store(|store| Ok(store.oauth.exchange_code(exchange, now, lifetimes)?))
}

fn refresh(
    shared: &Shared,
    client: &OAuthClient,
    params: &Params,
) -> Result<IssuedTokens, OAuthError> {
    let refresh_token = params
        .get("refresh_token")
        .ok_or_else(|| OAuthError::invalid_request("refresh_token is missing"))?;
    let scope = params.get("scope");
    let now = shared.now();
    let lifetimes = shared.oauth.lifetimes;
    let issued = shared.write_store::<_, OAuthError>(|store| {
        let oauth = &mut store.oauth;
        Ok(oauth.refresh(&client.client_id, refresh_token, scope, now, lifetimes)?)
    })?;
    shared.token_refreshes.fetch_add(1, Ordering::Relaxed);
    Ok(issued)
}

fn check_content_type(headers: &HeaderMap) -> Result<(), OAuthError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        Ok(())
    } else {
        Err(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ))
    }
}

/// Finds the client from HTTP Basic or from `client_id` + `client_secret` in the body.
/// When both are sent they must agree.
fn authenticate_client<'a>(
    settings: &'a OAuthSettings,
    headers: &HeaderMap,
    params: &Params,
) -> Result<&'a OAuthClient, OAuthError> {
    let basic = basic_credentials(headers)?;
    let via_basic = basic.is_some();
    let refuse = |why: &str| OAuthError::invalid_client(why, via_basic);

    let candidates = match basic {
        Some(candidates) => {
            let body_id = params.get("client_id");
            let body_secret = params.get("client_secret");
            let agrees = |(id, secret): &(String, String)| {
                body_id.is_none_or(|b| b == id) && body_secret.is_none_or(|b| b == secret)
            };
            if !candidates.iter().any(agrees) {
                return Err(refuse(
                    "the body's client credentials differ from HTTP Basic",
                ));
            }
            candidates
        }
        None => {
            let id = params.get("client_id");
            let id = id.ok_or_else(|| refuse("client authentication is missing"))?;
            let secret = params.get("client_secret");
            let secret = secret.ok_or_else(|| refuse("client_secret is missing"))?;
            vec![(id.to_owned(), secret.to_owned())]
        }
    };

    candidates
        .iter()
        .find_map(|(id, secret)| {
            settings
                .client(id)
                .filter(|client| &client.client_secret == secret)
        })
        .ok_or_else(|| refuse("unknown client or wrong client secret"))
}

/// The HTTP Basic credentials, if sent: the form-decoded pair (RFC 6749 §2.3.1) and,
/// when different, the pair as sent (many clients do not encode).
fn basic_credentials(headers: &HeaderMap) -> Result<Option<Vec<(String, String)>>, OAuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let malformed = || OAuthError::invalid_client("malformed HTTP Basic credentials", true);
    let value = value.to_str().map_err(|_| malformed())?;
    let Some((scheme, encoded)) = value.split_once(' ') else {
        return Err(malformed());
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::invalid_client(
            "only HTTP Basic client authentication is supported",
            true,
        ));
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;

    let raw = (id.to_owned(), secret.to_owned());
    let form = (form_decode(id), form_decode(secret));
    let mut candidates = vec![form];
    if candidates[0] != raw {
        candidates.push(raw);
    }
    Ok(Some(candidates))
}

/// Decodes `application/x-www-form-urlencoded` text: `+` is a space, `%XX` a byte.
fn form_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (other, _) => {
                out.push(other);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_decode_handles_plus_percent_and_stray_percent() {
        assert_eq!(form_decode("a+b%3Ac%2"), "a b:c%2");
        assert_eq!(form_decode("plain"), "plain");
    }

    #[test]
    fn basic_credentials_are_offered_decoded_then_raw() {
        let mut headers = HeaderMap::new();
        let encoded = STANDARD.encode("app_1:s+cret");
        let value = HeaderValue::from_str(&format!("Basic {encoded}")).unwrap();
        headers.insert(header::AUTHORIZATION, value);

        let candidates = basic_credentials(&headers).unwrap().unwrap();

        assert_eq!(
            candidates,
            vec![
                ("app_1".to_owned(), "s cret".to_owned()),
                ("app_1".to_owned(), "s+cret".to_owned())
            ]
        );
    }
}
