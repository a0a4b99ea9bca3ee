//! What can go wrong talking to the Akiles token endpoint, sorted by what the caller should
//! do about it: reconnect ([`OAuthError::InvalidGrant`]), fix the configuration
//! ([`OAuthError::InvalidClient`]), try again later ([`OAuthError::Transient`]) or report a
//! server that does not speak OAuth as expected ([`OAuthError::Protocol`]).
//!
//! No variant carries a token, a code or a response body: those may hold secrets, and these
//! errors end up in logs.

use std::time::Duration;

/// Why a token request failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OAuthError {
    /// The authorization code or refresh token was refused (`invalid_grant`): it is unknown,
    /// used up, expired, rotated or revoked. A person has to connect Akiles again.
    #[error("Akiles refused the authorization grant (invalid_grant)")]
    InvalidGrant,
    /// Akiles does not accept our client id and secret (`invalid_client`).
    #[error("Akiles refused the OAuth client credentials (invalid_client)")]
    InvalidClient,
    /// The token endpoint could not be reached or was briefly unable to answer (network
    /// error, timeout, 429, 5xx). Retry later; the connection itself is fine.
    #[error("the Akiles token endpoint is unavailable")]
    Transient(#[source] TransientError),
    /// The token endpoint answered in a way this client does not understand.
    #[error("the Akiles token endpoint answered unexpectedly")]
    Protocol(#[source] ProtocolError),
}

impl OAuthError {
    /// True when retrying later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, OAuthError::Transient(_))
    }
}

/// A failure that may pass on its own.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransientError {
    /// Connecting, sending or reading failed, or the request timed out.
    #[error("the request to the token endpoint failed")]
    Transport(#[source] reqwest::Error),
    /// The endpoint answered 429 or a 5xx.
    #[error("the token endpoint answered HTTP {status}")]
    Status {
        /// The HTTP status code.
        status: u16,
        /// How long the server asked us to wait (`Retry-After` in seconds), if it said.
        retry_after: Option<Duration>,
    },
    /// The endpoint answered with an OAuth error that means "not now"
    /// (`temporarily_unavailable`, `server_error`).
    #[error("the token endpoint answered `{code}`")]
    ServerBusy {
        /// The OAuth `error` code.
        code: String,
    },
}

/// An answer that does not fit the OAuth token protocol.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// An OAuth error this client has no remedy for (e.g. `invalid_request`,
    /// `invalid_scope`, `unsupported_grant_type`).
    #[error("the token endpoint answered `{code}`")]
    ErrorResponse {
        /// The OAuth `error` code.
        code: String,
    },
    /// The JSON body did not have the expected shape; only the failing path is kept,
    /// because the body may hold tokens.
    #[error("the token response is malformed at `{path}`")]
    MalformedBody {
        /// Where in the JSON document decoding failed.
        path: String,
    },
    /// The answer was not usable for another reason (wrong content type, empty error body).
    #[error("unusable token response: {0}")]
    Unusable(String),
    /// A redirect (3xx): the token endpoint must answer directly.
    #[error("the token endpoint answered with a redirect (HTTP {status})")]
    Redirected {
        /// The HTTP status code.
        status: u16,
    },
}
