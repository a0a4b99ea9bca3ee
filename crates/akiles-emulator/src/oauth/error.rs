//! Error answers of the token endpoint, shaped as RFC 6749 §5.2 says:
//! `{"error": "...", "error_description": "..."}` with `Cache-Control: no-store`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::error::ApiError;

/// An OAuth error answer.
#[derive(Debug, Clone)]
pub struct OAuthError {
    status: StatusCode,
    error: String,
    description: String,
    basic_challenge: bool,
    retry_after: Option<String>,
}

#[derive(Serialize)]
struct OAuthErrorBody<'a> {
    error: &'a str,
    error_description: &'a str,
}

impl OAuthError {
    fn new(status: StatusCode, error: &str, description: impl Into<String>) -> Self {
        Self {
            status,
            error: error.to_owned(),
            description: description.into(),
            basic_challenge: false,
            retry_after: None,
        }
    }

    /// 400 `invalid_request`: a missing, repeated or malformed parameter.
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    /// 400 `invalid_grant`: the code or refresh token cannot be used.
    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_grant", description)
    }

    /// 400 `invalid_scope`.
    pub fn invalid_scope(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_scope", description)
    }

    /// 400 `unsupported_grant_type`.
    pub fn unsupported_grant_type(grant_type: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            format!("grant_type `{grant_type}` is not supported"),
        )
    }

    /// 401 `invalid_client`; `basic` adds the `WWW-Authenticate: Basic` challenge.
    pub fn invalid_client(description: impl Into<String>, basic: bool) -> Self {
        let mut error = Self::new(StatusCode::UNAUTHORIZED, "invalid_client", description);
        error.basic_challenge = basic;
        error
    }

    /// An injected fault: this status, the rule's error code or one derived from the status.
    pub fn injected(status: StatusCode, code: Option<String>, retry_after: Option<String>) -> Self {
        let code = code.unwrap_or_else(|| default_code_for(status).to_owned());
        let mut error = Self::new(status, &code, "injected fault");
        error.retry_after = retry_after;
        error
    }
}

/// The `error` code an injected fault on an `/oauth2` route answers with by default.
fn default_code_for(status: StatusCode) -> &'static str {
    match status.as_u16() {
        401 => "invalid_client",
        429 | 503 => "temporarily_unavailable",
        _ if status.is_server_error() => "server_error",
        _ => "invalid_request",
    }
}

impl From<ApiError> for OAuthError {
    // Only internal failures (a poisoned lock, a failed save) reach here.
    fn from(error: ApiError) -> Self {
        Self::new(error.status, "server_error", error.body.message)
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = OAuthErrorBody {
            error: &self.error,
            error_description: &self.description,
        };
        let mut response = (self.status, Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if self.basic_challenge {
            let challenge = HeaderValue::from_static("Basic realm=\"akiles-emulator\"");
            headers.insert(header::WWW_AUTHENTICATE, challenge);
        }
        let retry_after = self
            .retry_after
            .and_then(|v| HeaderValue::from_str(&v).ok());
        if let Some(value) = retry_after {
            headers.insert(header::RETRY_AFTER, value);
        }
        response
    }
}
