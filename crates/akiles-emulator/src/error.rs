//! The one error type of the emulator's HTTP surface and its JSON body.
//!
//! Every non-2xx answer carries the Akiles error shape `{type, message, args}`
//! ([`akiles_types::ErrorBody`]). Handlers return `Result<_, ApiError>` and use `?`.

use akiles_types::ErrorBody;
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// An error answer: a status, the Akiles error body, and an optional `Retry-After`.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status to answer with.
    pub status: StatusCode,
    /// The JSON body.
    pub body: ErrorBody,
    /// Value of the `Retry-After` header, when set.
    pub retry_after: Option<String>,
}

impl ApiError {
    /// An error with this status, `type` and message.
    pub fn new(status: StatusCode, kind: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            body: ErrorBody::new(kind, message),
            retry_after: None,
        }
    }

    /// 400 `invalid_request` about one field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message).arg("field", field)
    }

    /// 400 `invalid_request` about one field, with a machine-readable reason.
    pub fn invalid_because(field: &str, reason: &str, message: impl Into<String>) -> Self {
        Self::invalid(field, message).arg("reason", reason)
    }

    /// 404 `not_found` for an object kind.
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    /// 401 `unauthorized`.
    pub fn unauthorized(message: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 500 `internal_error` with a generic message.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "internal error",
        )
    }

    /// 429 `rate_limited` with a `Retry-After` in seconds.
    pub fn rate_limited(retry_after_secs: u32) -> Self {
        let mut error = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many requests",
        );
        error.retry_after = Some(retry_after_secs.to_string());
        error
    }

    /// Adds one `args` entry.
    pub fn arg(mut self, key: &str, value: impl Into<String>) -> Self {
        self.body.args.insert(key.to_owned(), value.into());
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body)).into_response();
        let retry_after = self
            .retry_after
            .and_then(|v| HeaderValue::from_str(&v).ok());
        if let Some(value) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

/// The `type` an injected fault answers with when the rule does not name one.
pub fn default_kind_for(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "invalid_request",
        401 => "unauthorized",
        404 => "not_found",
        405 => "method_not_allowed",
        409 => "conflict",
        429 => "rate_limited",
        503 => "unavailable",
        _ if status.is_server_error() => "internal_error",
        _ => "error",
    }
}
