//! Settings of a [`Client`](crate::Client): where the API lives, timeouts, the request
//! budget per organization and the retry policy.

use std::time::Duration;

use url::Url;

/// Everything a [`Client`](crate::Client) needs besides its token source.
///
/// Build it with [`ClientConfig::new`] and change the fields that differ from the defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// Base URL including the version, e.g. `https://api.akiles.app/v2`.
    pub base_url: Url,
    /// Limit for a whole attempt: connect, send and read the response (default 30 s).
    pub timeout: Duration,
    /// Limit for opening the TCP/TLS connection (default 10 s).
    pub connect_timeout: Duration,
    /// Request budget of this client, i.e. of one organization (default 20/s, burst 20).
    pub rate: RateLimit,
    /// When and how often to repeat a failed attempt.
    pub retry: RetryPolicy,
    /// Value of the `User-Agent` header.
    pub user_agent: String,
}

impl ClientConfig {
    /// Production URL of the Akiles API v2.
    pub const AKILES_BASE_URL: &'static str = "https://api.akiles.app/v2";

    /// A configuration with default timeouts, rate and retry policy for `base_url`.
    pub fn new(base_url: Url) -> Self {
        Self {
            base_url,
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            rate: RateLimit::default(),
            retry: RetryPolicy::default(),
            user_agent: concat!("akiles-client/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

/// A token bucket: `per_second` requests on average, at most `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Sustained requests per second; must be at least 1.
    pub per_second: u32,
    /// Requests that may go out back to back after a quiet period; must be at least 1.
    pub burst: u32,
}

impl Default for RateLimit {
    fn default() -> Self {
        Self {
            per_second: 20,
            burst: 20,
        }
    }
}

/// How failed attempts are repeated.
///
/// Backoff is exponential with full jitter: before retry `n` (0-based) the client waits a
/// random time between zero and `min(max_delay, base_delay * 2^n)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt; 0 disables retries (default 4).
    pub max_retries: u32,
    /// Ceiling of the first backoff (default 200 ms).
    pub base_delay: Duration,
    /// Largest backoff ceiling (default 10 s).
    pub max_delay: Duration,
    /// Longest `Retry-After` the client honours; longer values are cut to this (default 60 s).
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 4,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(60),
        }
    }
}
