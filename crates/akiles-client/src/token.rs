//! Where the client gets its bearer token.
//!
//! [`StaticToken`] covers API keys and fixed access tokens. An OAuth source that refreshes
//! tokens implements [`TokenSource`] itself and plugs into the same client.

use std::error::Error as StdError;
use std::fmt;

use futures_util::future::BoxFuture;
use secrecy::SecretString;

/// Supplies the bearer token for each request.
///
/// The client calls [`access_token`](TokenSource::access_token) before every attempt, so a
/// refreshing source can hand out a new token whenever the old one expires. When the API
/// answers 401, the client calls [`token_rejected`](TokenSource::token_rejected) with the
/// refused token and retries the request once with whatever `access_token` returns next.
pub trait TokenSource: Send + Sync {
    /// The token to send now.
    fn access_token(&self) -> BoxFuture<'_, Result<SecretString, TokenError>>;

    /// The API refused `token` (401). A refreshing source should stop handing it out.
    fn token_rejected(&self, token: &SecretString);
}

/// Why no access token could be produced.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The grant is gone (e.g. the refresh token was revoked); a person has to connect the
    /// organization again.
    #[error("the Akiles connection must be authorised again")]
    ReconnectRequired,
    /// Getting a token failed for a reason that may pass (e.g. the token endpoint is down).
    #[error("could not obtain an access token")]
    Unavailable(#[source] Box<dyn StdError + Send + Sync>),
    /// The token contains bytes that cannot go into an HTTP header.
    #[error("the access token is not a valid header value")]
    Malformed,
}

/// A token that never changes: an Akiles API key or an access token obtained elsewhere.
pub struct StaticToken {
    token: SecretString,
}

impl StaticToken {
    /// Wraps `token`, which is sent as `Authorization: Bearer <token>`.
    pub fn new(token: impl Into<SecretString>) -> Self {
        Self {
            token: token.into(),
        }
    }
}

impl fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticToken")
            .field("token", &"[redacted]")
            .finish()
    }
}

impl TokenSource for StaticToken {
    fn access_token(&self) -> BoxFuture<'_, Result<SecretString, TokenError>> {
        let token = self.token.clone();
        Box::pin(async move { Ok(token) })
    }

    fn token_rejected(&self, _token: &SecretString) {
        // A fixed token cannot be replaced; the retry will fail the same way.
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[tokio::test]
    async fn static_token_returns_its_value_and_hides_it_in_debug() {
        let source = StaticToken::new("ak_secret_value".to_owned());

        let token = source.access_token().await.unwrap();

        assert_eq!(token.expose_secret(), "ak_secret_value");
        assert!(!format!("{source:?}").contains("secret_value"));
    }
}
