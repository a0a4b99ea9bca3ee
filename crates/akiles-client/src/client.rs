//! The [`Client`] and the request loop every call goes through: rate limit, token,
//! send, classify the answer, retry where that is safe.

use std::fmt;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::time::Instant;
use tracing::{Instrument, debug, warn};
use url::Url;

use crate::config::{ClientConfig, RetryPolicy};
use crate::error::{BuildError, ClientError, error_from_response};
use crate::retry::{backoff_ceiling, full_jitter, parse_retry_after};
use crate::token::{TokenError, TokenSource};

/// A typed client for one Akiles organization.
///
/// Cloning is cheap and clones share the connection pool, the rate budget and the
/// statistics. Use one `Client` per organization so each organization gets its own
/// budget.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base_url: Url,
    token: Arc<dyn TokenSource>,
    limiter: DefaultDirectRateLimiter,
    /// Set by a 429: no request of this client goes out before this instant.
    blocked_until: Mutex<Option<Instant>>,
    retry: RetryPolicy,
    counters: Counters,
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    retries: AtomicU64,
    rate_limited: AtomicU64,
    waited_ms: AtomicU64,
}

/// Totals since the client was built, shared by all its clones.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// HTTP attempts sent, retries included.
    pub requests: u64,
    /// Attempts that repeated an earlier one (after a 429, 5xx, timeout, transport
    /// error or 401).
    pub retries: u64,
    /// 429 answers received.
    pub rate_limited: u64,
    /// Milliseconds spent waiting for the rate limiter, a `Retry-After` or a backoff.
    pub waited_ms: u64,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url.as_str())
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Builds a client for the organization that `token` belongs to.
    pub fn new(config: ClientConfig, token: Arc<dyn TokenSource>) -> Result<Self, BuildError> {
        let scheme_ok = matches!(config.base_url.scheme(), "http" | "https");
        if config.base_url.cannot_be_a_base() || !scheme_ok {
            return Err(BuildError::InvalidBaseUrl);
        }
        let (Some(per_second), Some(burst)) = (
            NonZeroU32::new(config.rate.per_second),
            NonZeroU32::new(config.rate.burst),
        ) else {
            return Err(BuildError::InvalidRateLimit);
        };

        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(config.user_agent.as_str())
            .build()
            .map_err(BuildError::Http)?;

        let inner = Inner {
            http,
            base_url: config.base_url,
            token,
            limiter: RateLimiter::direct(Quota::per_second(per_second).allow_burst(burst)),
            blocked_until: Mutex::new(None),
            retry: config.retry,
            counters: Counters::default(),
        };
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// Request, retry and wait totals so far.
    pub fn stats(&self) -> ClientStats {
        let c = &self.inner.counters;
        ClientStats {
            requests: c.requests.load(Ordering::Relaxed),
            retries: c.retries.load(Ordering::Relaxed),
            rate_limited: c.rate_limited.load(Ordering::Relaxed),
            waited_ms: c.waited_ms.load(Ordering::Relaxed),
        }
    }

    /// Runs `call` (with retries) and decodes the JSON answer.
    pub(crate) async fn send<T: DeserializeOwned>(&self, call: Call) -> Result<T, ClientError> {
        let span = tracing::info_span!(
            "akiles_call",
            http.method = %call.method,
            http.route = call.route,
        );
        async {
            let body = self.run(&call).await?;
            serde_json::from_slice(&body).map_err(|source| ClientError::Decode { source })
        }
        .instrument(span)
        .await
    }

    async fn run(&self, call: &Call) -> Result<Vec<u8>, ClientError> {
        let mut progress = RetryProgress::default();
        loop {
            self.wait_turn().await;
            let token = self
                .inner
                .token
                .access_token()
                .await
                .map_err(ClientError::Token)?;

            let failure = match self.attempt(call, &token).await {
                Ok(body) => return Ok(body),
                Err(failure) => failure,
            };
            let Some(wait) = self.plan_retry(failure.retry, &token, &mut progress) else {
                return Err(failure.error);
            };

            self.inner.counters.retries.fetch_add(1, Ordering::Relaxed);
            let delay_ms = millis(wait.delay());
            let reason = failure.reason;
            warn!(
                http.method = %call.method,
                http.route = call.route,
                retry = progress.retries,
                delay_ms,
                reason = %reason,
                "Retrying {} {} in {delay_ms} ms after {reason}",
                call.method,
                call.route,
            );
            if let Wait::Backoff(delay) = wait {
                self.pause(delay).await;
            }
        }
    }

    /// Decides whether a failed attempt is repeated and how long to wait first;
    /// `None` means give up.
    fn plan_retry(
        &self,
        retry: Retry,
        token: &SecretString,
        progress: &mut RetryProgress,
    ) -> Option<Wait> {
        let policy = &self.inner.retry;
        let budget_left = progress.retries < policy.max_retries;
        let wait = match retry {
            Retry::WithNewToken if !progress.token_renewed => {
                progress.token_renewed = true;
                self.inner.token.token_rejected(token);
                return Some(Wait::Now);
            }
            Retry::AfterBlock(hint) => {
                // The whole organization is throttled: hold back every call of this
                // client, whether or not this one is repeated.
                let delay = hint.unwrap_or_else(|| backoff_ceiling(policy, progress.retries));
                self.block_for(delay);
                self.inner
                    .counters
                    .rate_limited
                    .fetch_add(1, Ordering::Relaxed);
                Wait::Blocked(delay)
            }
            Retry::AfterBackoff(hint) => {
                let ceiling = backoff_ceiling(policy, progress.retries);
                Wait::Backoff(hint.unwrap_or_else(|| full_jitter(ceiling)))
            }
            Retry::WithNewToken | Retry::No => return None,
        };
        if !budget_left {
            return None;
        }
        progress.retries += 1;
        Some(wait)
    }

    /// One HTTP exchange, classified.
    async fn attempt(&self, call: &Call, token: &SecretString) -> Result<Vec<u8>, Failure> {
        let request = self.request(call, token)?;
        self.inner.counters.requests.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();

        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => {
                let label = if error.is_timeout() {
                    "timeout"
                } else {
                    "transport"
                };
                record_attempt(call, label, started);
                return Err(transport_failure(error, call.replay));
            }
        };
        let status = response.status();
        record_attempt(call, status.as_str(), started);
        let retry_after = retry_after(response.headers(), self.inner.retry.max_retry_after);
        // The status line arrived, so the request certainly reached the server.
        let body = response
            .bytes()
            .await
            .map_err(|e| transport_failure(e, call.replay))?;
        debug!(
            http.status_code = status.as_u16(),
            duration_ms = millis(started.elapsed()),
            "Akiles answered {status} to {} {}",
            call.method,
            call.route,
        );

        if status.is_success() {
            return Ok(body.to_vec());
        }
        Err(status_failure(status, retry_after, &body, call.replay))
    }

    fn request(
        &self,
        call: &Call,
        token: &SecretString,
    ) -> Result<reqwest::RequestBuilder, Failure> {
        let url =
            build_url(&self.inner.base_url, &call.path, &call.query).map_err(Failure::stop)?;
        // Kept in a secret so the temporary copy is wiped when dropped.
        let bearer = SecretString::from(format!("Bearer {}", token.expose_secret()));
        let mut auth = HeaderValue::from_str(bearer.expose_secret())
            .map_err(|_| Failure::stop(ClientError::Token(TokenError::Malformed)))?;
        auth.set_sensitive(true);

        let mut request = self
            .inner
            .http
            .request(call.method.clone(), url)
            .header(header::AUTHORIZATION, auth)
            .header(header::ACCEPT, "application/json");
        if let Some(body) = &call.body {
            request = request
                .header(header::CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        Ok(request)
    }

    /// Waits until a 429 block has passed and the rate limiter grants a slot.
    async fn wait_turn(&self) {
        let started = Instant::now();
        loop {
            if let Some(until) = self.blocked_until()
                && until > Instant::now()
            {
                tokio::time::sleep_until(until).await;
                continue;
            }
            self.inner.limiter.until_ready().await;
            // A 429 may have arrived while this call queued for the limiter.
            match self.blocked_until() {
                Some(until) if until > Instant::now() => continue,
                _ => break,
            }
        }
        self.add_waited(started.elapsed());
    }

    async fn pause(&self, delay: Duration) {
        tokio::time::sleep(delay).await;
        self.add_waited(delay);
    }

    fn blocked_until(&self) -> Option<Instant> {
        *self
            .inner
            .blocked_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Holds back every request of this client for `delay`.
    fn block_for(&self, delay: Duration) {
        let until = Instant::now() + delay;
        let mut blocked = self
            .inner
            .blocked_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *blocked = Some(blocked.map_or(until, |current| current.max(until)));
    }

    fn add_waited(&self, waited: Duration) {
        self.inner
            .counters
            .waited_ms
            .fetch_add(millis(waited), Ordering::Relaxed);
    }
}

/// Counts one attempt in the `metrics` facade: `akiles_requests_total` and
/// `akiles_request_duration_seconds`, labelled with the method, the path template
/// (`route`, never the real path) and the status (`200`, `429`, `timeout`, `transport`).
fn record_attempt(call: &Call, status: &str, started: Instant) {
    let method = call.method.as_str().to_owned();
    metrics::counter!(
        "akiles_requests_total",
        "method" => method.clone(),
        "route" => call.route,
        "status" => status.to_owned(),
    )
    .increment(1);
    metrics::histogram!(
        "akiles_request_duration_seconds",
        "method" => method,
        "route" => call.route,
    )
    .record(started.elapsed().as_secs_f64());
}

/// Whether repeating a request can cause a second effect on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Replay {
    /// Repeating cannot change the outcome: GET, PATCH, DELETE and the reveal POSTs.
    Safe,
    /// A repeat may create a duplicate (POST create): repeat only what never left.
    Unsafe,
}

/// One API operation, ready to send (and to send again).
#[derive(Debug, Clone)]
pub(crate) struct Call {
    method: Method,
    /// Path template for logs, e.g. `/members/{member_id}/pins`; never the real path.
    route: &'static str,
    path: Vec<String>,
    query: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    replay: Replay,
}

impl Call {
    fn new(method: Method, route: &'static str, path: &[&str], replay: Replay) -> Self {
        let path = path.iter().map(|s| (*s).to_owned()).collect();
        Self {
            method,
            route,
            path,
            query: Vec::new(),
            body: None,
            replay,
        }
    }

    /// `GET`.
    pub(crate) fn get(route: &'static str, path: &[&str]) -> Self {
        Self::new(Method::GET, route, path, Replay::Safe)
    }

    /// `DELETE`.
    pub(crate) fn delete(route: &'static str, path: &[&str]) -> Self {
        Self::new(Method::DELETE, route, path, Replay::Safe)
    }

    /// `PATCH` with a JSON body.
    pub(crate) fn patch(
        route: &'static str,
        path: &[&str],
        body: &impl Serialize,
    ) -> Result<Self, ClientError> {
        Self::new(Method::PATCH, route, path, Replay::Safe).json(body)
    }

    /// `POST` that creates an object: not repeated once it may have reached the server.
    pub(crate) fn create(
        route: &'static str,
        path: &[&str],
        body: &impl Serialize,
    ) -> Result<Self, ClientError> {
        Self::new(Method::POST, route, path, Replay::Unsafe).json(body)
    }

    /// `POST …/reveal` with `{}`: reads a secret, so repeating it is harmless.
    pub(crate) fn reveal(route: &'static str, path: &[&str]) -> Self {
        let mut call = Self::new(Method::POST, route, path, Replay::Safe);
        call.body = Some(b"{}".to_vec());
        call
    }

    /// Adds query parameters.
    pub(crate) fn with_query(mut self, pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        self.query.extend(pairs);
        self
    }

    fn json(mut self, body: &impl Serialize) -> Result<Self, ClientError> {
        let bytes = serde_json::to_vec(body).map_err(|source| ClientError::Encode { source })?;
        self.body = Some(bytes);
        Ok(self)
    }
}

/// Joins the base URL, the percent-encoded path segments and the query.
pub(crate) fn build_url(
    base: &Url,
    path: &[String],
    query: &[(String, String)],
) -> Result<Url, ClientError> {
    let mut url = base.clone();
    url.path_segments_mut()
        .map_err(|()| ClientError::Protocol("base URL cannot take a path".to_owned()))?
        .pop_if_empty()
        .extend(path);
    if !query.is_empty() {
        url.query_pairs_mut().extend_pairs(query);
    }
    Ok(url)
}

/// A failed attempt: the error to return, and whether and how it may be retried.
struct Failure {
    error: ClientError,
    retry: Retry,
    reason: Reason,
}

impl Failure {
    fn stop(error: ClientError) -> Self {
        Self {
            error,
            retry: Retry::No,
            reason: Reason::Fatal,
        }
    }
}

/// What a call has used up of its retries.
#[derive(Debug, Default)]
struct RetryProgress {
    /// Retries after 429, 5xx, timeouts and transport errors so far.
    retries: u32,
    /// Whether the one retry with a fresh token after a 401 was used.
    token_renewed: bool,
}

/// How a retry waits.
#[derive(Debug, Clone, Copy)]
enum Wait {
    /// Straight away (a fresh token after 401).
    Now,
    /// Until the client-wide 429 block passes; `wait_turn` does the waiting.
    Blocked(Duration),
    /// This call sleeps for the backoff.
    Backoff(Duration),
}

impl Wait {
    fn delay(self) -> Duration {
        match self {
            Wait::Now => Duration::ZERO,
            Wait::Blocked(delay) | Wait::Backoff(delay) => delay,
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Retry {
    No,
    /// 401: ask the token source for a new token and try once more.
    WithNewToken,
    /// 429: block the whole client for the `Retry-After` (or a backoff), then retry.
    AfterBlock(Option<Duration>),
    /// 5xx, timeout, transport: retry this call after the hint or a jittered backoff.
    AfterBackoff(Option<Duration>),
}

/// Why an attempt is repeated, for the log line.
#[derive(Debug, Clone, Copy)]
enum Reason {
    Status(StatusCode),
    Timeout,
    Connect,
    Transport,
    Fatal,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Status(status) => write!(f, "HTTP {}", status.as_u16()),
            Reason::Timeout => f.write_str("a timeout"),
            Reason::Connect => f.write_str("a connection failure"),
            Reason::Transport => f.write_str("a transport error"),
            Reason::Fatal => f.write_str("a fatal error"),
        }
    }
}

fn transport_failure(error: reqwest::Error, replay: Replay) -> Failure {
    // Only a failure to connect proves the request never left this process.
    let sent = !error.is_connect();
    let timed_out = error.is_timeout();
    let source = error.without_url();

    let (error, reason) = match (timed_out, sent) {
        (true, _) => (ClientError::Timeout { sent, source }, Reason::Timeout),
        (false, false) => (ClientError::Transport { sent, source }, Reason::Connect),
        (false, true) => (ClientError::Transport { sent, source }, Reason::Transport),
    };
    let retry = match (sent, replay) {
        (false, _) | (true, Replay::Safe) => Retry::AfterBackoff(None),
        (true, Replay::Unsafe) => Retry::No,
    };
    Failure {
        error,
        retry,
        reason,
    }
}

fn status_failure(
    status: StatusCode,
    retry_after: Option<Duration>,
    body: &[u8],
    replay: Replay,
) -> Failure {
    let reason = Reason::Status(status);
    let code = status.as_u16();

    if !status.is_client_error() && !status.is_server_error() {
        let error = ClientError::Protocol(format!("unexpected HTTP status {code}"));
        return Failure {
            error,
            retry: Retry::No,
            reason,
        };
    }
    if status == StatusCode::TOO_MANY_REQUESTS {
        let error = ClientError::RateLimited { retry_after };
        return Failure {
            error,
            retry: Retry::AfterBlock(retry_after),
            reason,
        };
    }

    let error = error_from_response(code, body);
    let retry = match (code, replay) {
        (401, _) => Retry::WithNewToken,
        (503, Replay::Safe) => Retry::AfterBackoff(retry_after),
        (500 | 502 | 504, Replay::Safe) => Retry::AfterBackoff(None),
        _ => Retry::No,
    };
    Failure {
        error,
        retry,
        reason,
    }
}

/// The `Retry-After` of a response, measured from its `Date` header when present so
/// that clock skew between us and the server does not matter.
fn retry_after(headers: &HeaderMap, cap: Duration) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?;
    let now = headers
        .get(header::DATE)
        .and_then(|date| date.to_str().ok())
        .and_then(|date| httpdate::parse_http_date(date).ok())
        .unwrap_or_else(wall_clock);
    parse_retry_after(value, now, cap)
}

#[expect(
    clippy::disallowed_methods,
    reason = "an HTTP-date Retry-After without a Date header can only be read against the wall clock"
)]
fn wall_clock() -> SystemTime {
    SystemTime::now()
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(url: &str) -> Url {
        Url::parse(url).unwrap()
    }

    fn owned(parts: &[&str]) -> Vec<String> {
        parts.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn url_joins_base_path_and_encoded_query() {
        let query = vec![
            ("metadata.employee_id".to_owned(), "E 1&2".to_owned()),
            ("email".to_owned(), "ann+x@example.com".to_owned()),
            ("expand".to_owned(), "emails,pins".to_owned()),
        ];

        let url = build_url(&base("http://127.0.0.1:9/v2"), &owned(&["members"]), &query);

        assert_eq!(
            url.unwrap().as_str(),
            "http://127.0.0.1:9/v2/members?metadata.employee_id=E+1%262\
             &email=ann%2Bx%40example.com&expand=emails%2Cpins"
        );
    }

    #[test]
    fn url_tolerates_a_trailing_slash_and_encodes_ids() {
        let path = owned(&["members", "mem_1/../x", "pins"]);

        let url = build_url(&base("https://api.akiles.app/v2/"), &path, &[]).unwrap();

        assert_eq!(
            url.as_str(),
            "https://api.akiles.app/v2/members/mem_1%2F..%2Fx/pins"
        );
    }

    #[test]
    fn server_errors_are_retried_only_when_replay_is_safe() {
        let status = StatusCode::BAD_GATEWAY;

        let safe = status_failure(status, None, b"", Replay::Safe);
        let create = status_failure(status, None, b"", Replay::Unsafe);

        assert!(matches!(safe.retry, Retry::AfterBackoff(None)));
        assert!(matches!(create.retry, Retry::No));
        assert!(create.error.may_have_applied());
    }

    #[test]
    fn rate_limit_is_retried_for_every_method_and_keeps_retry_after() {
        let wait = Some(Duration::from_secs(1));

        let failure = status_failure(StatusCode::TOO_MANY_REQUESTS, wait, b"", Replay::Unsafe);

        assert!(matches!(failure.retry, Retry::AfterBlock(Some(_))));
        assert!(
            matches!(failure.error, ClientError::RateLimited { retry_after } if retry_after == wait)
        );
    }

    #[test]
    fn client_errors_are_not_retried_but_401_asks_for_a_new_token() {
        let bad = status_failure(StatusCode::BAD_REQUEST, None, b"{}", Replay::Safe);
        let unauthorized = status_failure(StatusCode::UNAUTHORIZED, None, b"{}", Replay::Unsafe);
        let not_impl = status_failure(StatusCode::NOT_IMPLEMENTED, None, b"{}", Replay::Safe);

        assert!(matches!(bad.retry, Retry::No));
        assert!(matches!(unauthorized.retry, Retry::WithNewToken));
        assert!(matches!(not_impl.retry, Retry::No));
    }

    #[test]
    fn redirect_status_is_a_protocol_error() {
        let failure = status_failure(StatusCode::FOUND, None, b"", Replay::Safe);

        assert!(matches!(failure.error, ClientError::Protocol(_)));
    }

    #[test]
    fn retry_after_date_is_measured_from_the_date_header() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut headers = HeaderMap::new();
        let date = httpdate::fmt_http_date(now);
        let later = httpdate::fmt_http_date(now + Duration::from_secs(3));
        headers.insert(header::DATE, HeaderValue::from_str(&date).unwrap());
        headers.insert(header::RETRY_AFTER, HeaderValue::from_str(&later).unwrap());

        let delay = retry_after(&headers, Duration::from_secs(60));

        assert_eq!(delay, Some(Duration::from_secs(3)));
    }

    fn assert_send<T: Send>(_: &T) {}

    #[test]
    fn calls_and_lists_can_move_between_threads() {
        let token: Arc<dyn TokenSource> = Arc::new(crate::StaticToken::new("k".to_owned()));
        let client = Client::new(ClientConfig::new(base("http://127.0.0.1:9/v2")), token).unwrap();
        let member = akiles_types::NewMember::default();

        let create = client.create_member(&member);
        let list = client.list_members(&crate::MemberQuery::default());

        assert_send(&create);
        assert_send(&list);
    }

    #[test]
    fn invalid_configuration_is_refused() {
        let token: Arc<dyn TokenSource> = Arc::new(crate::StaticToken::new("k".to_owned()));
        let mut config = ClientConfig::new(base("http://127.0.0.1:9/v2"));
        config.rate.per_second = 0;

        let zero_rate = Client::new(config, token.clone());
        let mailto = Client::new(ClientConfig::new(base("mailto:a@example.com")), token);

        assert!(matches!(zero_rate, Err(BuildError::InvalidRateLimit)));
        assert!(matches!(mailto, Err(BuildError::InvalidBaseUrl)));
    }
}
