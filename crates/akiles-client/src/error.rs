//! What can go wrong when talking to Akiles, in terms the caller can act on.

use std::time::Duration;

use akiles_types::ErrorBody;

use crate::token::TokenError;

/// A failed API call.
///
/// Match on the variant to decide what to do; use [`ClientError::may_have_applied`] before
/// repeating a create, because some failures leave the server state unknown.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The API answered with an error status (4xx or 5xx) other than 401, 404 or an
    /// exhausted 429.
    #[error("Akiles answered {status} {}: {}", body.kind, body.message)]
    Api {
        /// HTTP status code.
        status: u16,
        /// The API's error body, or a synthesised one of type `unknown`.
        body: ErrorBody,
    },
    /// The object does not exist (404). After a DELETE it means "already gone".
    #[error("not found: {}", body.message)]
    NotFound {
        /// The API's error body.
        body: ErrorBody,
    },
    /// The token was refused (401), also after one retry with a fresh token.
    #[error("unauthorised: {}", body.message)]
    Unauthorized {
        /// The API's error body.
        body: ErrorBody,
    },
    /// Still rate limited (429) when the retries ran out. Nothing was applied.
    #[error("rate limited by Akiles")]
    RateLimited {
        /// The last `Retry-After` the API sent, capped by the retry policy.
        retry_after: Option<Duration>,
    },
    /// No response within the configured timeout.
    #[error("request timed out")]
    Timeout {
        /// Whether the request may have reached the server.
        sent: bool,
        /// The underlying error, without the URL.
        #[source]
        source: reqwest::Error,
    },
    /// The connection failed or broke.
    #[error("HTTP transport failed")]
    Transport {
        /// Whether the request may have reached the server; false only when the
        /// connection could not be opened.
        sent: bool,
        /// The underlying error, without the URL.
        #[source]
        source: reqwest::Error,
    },
    /// A success response whose body is not the expected JSON. The call was applied.
    #[error("could not decode the Akiles response")]
    Decode {
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// A request body could not be serialised.
    #[error("could not encode the request body")]
    Encode {
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// The API broke its own conventions, e.g. a page with `has_next` but no cursor.
    #[error("Akiles protocol violation: {0}")]
    Protocol(String),
    /// No access token could be obtained.
    #[error("no usable access token")]
    Token(#[source] TokenError),
}

impl ClientError {
    /// The HTTP status the API answered with, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api { status, .. } => Some(*status),
            ClientError::NotFound { .. } => Some(404),
            ClientError::Unauthorized { .. } => Some(401),
            ClientError::RateLimited { .. } => Some(429),
            _ => None,
        }
    }

    /// The API's error `type` (e.g. `invalid_request`), if the API answered with an error.
    pub fn error_type(&self) -> Option<&str> {
        self.body().map(|body| body.kind.as_str())
    }

    /// The API's error body, if the API answered with an error.
    pub fn body(&self) -> Option<&ErrorBody> {
        match self {
            ClientError::Api { body, .. }
            | ClientError::NotFound { body }
            | ClientError::Unauthorized { body } => Some(body),
            _ => None,
        }
    }

    /// True for a 404: the object does not exist (or, after a DELETE, is already gone).
    pub fn is_not_found(&self) -> bool {
        matches!(self, ClientError::NotFound { .. })
    }

    /// True when the server may have carried out the request although the call failed:
    /// a timeout or broken connection after the request went out, a 5xx, or a success
    /// response that could not be decoded. Look the object up before creating it again.
    pub fn may_have_applied(&self) -> bool {
        match self {
            ClientError::Timeout { sent, .. } | ClientError::Transport { sent, .. } => *sent,
            ClientError::Api { status, .. } => *status >= 500,
            ClientError::Decode { .. } => true,
            _ => false,
        }
    }
}

/// Why a [`Client`](crate::Client) could not be built from its configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The base URL cannot take path segments (e.g. `mailto:`), or is not http(s).
    #[error("base URL must be an http(s) URL with a path, e.g. https://api.akiles.app/v2")]
    InvalidBaseUrl,
    /// `per_second` or `burst` is zero.
    #[error("rate limit needs per_second >= 1 and burst >= 1")]
    InvalidRateLimit,
    /// reqwest refused the settings (e.g. an invalid user agent).
    #[error("could not build the HTTP client")]
    Http(#[source] reqwest::Error),
}

/// Builds the error for a non-success response from its status and raw body.
///
/// A body that is not the API's JSON error shape (e.g. an HTML page from a proxy) is
/// replaced by one of type `unknown`; its text is not kept, as it may hold personal data.
pub(crate) fn error_from_response(status: u16, body: &[u8]) -> ClientError {
    let body = parse_error_body(status, body);
    match status {
        401 => ClientError::Unauthorized { body },
        404 => ClientError::NotFound { body },
        _ => ClientError::Api { status, body },
    }
}

fn parse_error_body(status: u16, raw: &[u8]) -> ErrorBody {
    match serde_json::from_slice::<ErrorBody>(raw) {
        Ok(body) if !body.kind.is_empty() => body,
        Ok(body) => ErrorBody {
            kind: "unknown".to_owned(),
            ..body
        },
        Err(_) => ErrorBody::new(
            "unknown",
            format!("HTTP {status} with a non-JSON body of {} bytes", raw.len()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_error_body_keeps_type_message_and_args() {
        let raw = br#"{"type":"invalid_request","message":"PIN in use","args":{"field":"pin"}}"#;

        let err = error_from_response(400, raw);

        assert_eq!(err.status(), Some(400));
        assert_eq!(err.error_type(), Some("invalid_request"));
        let body = err.body().unwrap();
        assert_eq!(body.message, "PIN in use");
        assert_eq!(body.args.get("field").map(String::as_str), Some("pin"));
        assert!(!err.may_have_applied());
    }

    #[test]
    fn not_found_and_unauthorized_get_their_own_variants() {
        let raw = br#"{"type":"not_found","message":"no such member"}"#;

        assert!(error_from_response(404, raw).is_not_found());
        assert!(matches!(
            error_from_response(401, raw),
            ClientError::Unauthorized { .. }
        ));
    }

    #[test]
    fn html_error_body_becomes_type_unknown_without_its_text() {
        let err = error_from_response(502, b"<html>bad gateway for ann@example.com</html>");

        let ClientError::Api { status: 502, body } = &err else {
            panic!("expected Api, got {err:?}");
        };
        assert_eq!(body.kind, "unknown");
        assert!(!body.message.contains("example.com"));
        assert!(err.may_have_applied());
    }

    #[test]
    fn json_body_without_type_becomes_type_unknown() {
        let err = error_from_response(500, br#"{"message":"oops"}"#);

        assert_eq!(err.error_type(), Some("unknown"));
        assert_eq!(err.body().unwrap().message, "oops");
    }

    #[test]
    fn empty_body_is_tolerated() {
        assert_eq!(error_from_response(503, b"").error_type(), Some("unknown"));
    }

    #[test]
    fn client_errors_do_not_claim_the_request_applied_but_server_errors_do() {
        for (status, applied) in [(400, false), (409, false), (422, false), (500, true)] {
            assert_eq!(
                error_from_response(status, b"{}").may_have_applied(),
                applied
            );
        }
        let limited = ClientError::RateLimited { retry_after: None };
        assert!(!limited.may_have_applied());
        assert_eq!(limited.status(), Some(429));
    }
}
