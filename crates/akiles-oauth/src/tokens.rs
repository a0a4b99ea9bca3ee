//! [`ConnectionTokens`]: the access token of one tenant's Akiles connection, refreshed
//! before it expires, for the typed Akiles client ([`TokenSource`]).
//!
//! Akiles rotates refresh tokens: a refresh token works once, and two refreshes racing
//! with the same token break each other. So at most one refresh per connection runs at a
//! time, across tasks and across instances sharing the store:
//!
//! 1. Inside the process, one `tokio` mutex per `ConnectionTokens`; whoever gets it second
//!    reloads the connection and usually finds fresh tokens.
//! 2. Across instances, the refresher first *claims* the connection: it saves it unchanged
//!    with a compare-and-swap on its revision, which bumps the revision and `updated_at`.
//!    A connection whose tokens are due and whose `updated_at` is younger than the claim
//!    lease (20 s) is being refreshed by someone else: wait for their tokens (or use the
//!    current access token while it still works) instead of refreshing again.
//! 3. The rotated tokens are saved with a compare-and-swap against the claim's revision.
//!    If another write got there first, the connection is reloaded: a different refresh
//!    token there wins (someone connected again); otherwise ours are merged in.
//!
//! `invalid_grant` marks the connection "reconnect needed" (one WARN line); a transient
//! failure leaves the connection alone and answers [`TokenError::Unavailable`].

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use akiles_client::{TokenError, TokenSource};
use futures_util::future::BoxFuture;
use hr_domain::Clock;
use secrecy::{ExposeSecret, SecretString};
use sync_store::{Connection, ConnectionState, Store, StoreError};
use tokio::time::Instant;
use tracing::{debug, error, warn};

use crate::client::{AkilesOAuth, TokenSet};
use crate::error::OAuthError;

/// How long before expiry an access token is refreshed when no margin is given.
pub const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

/// How long a claim to refresh keeps other instances waiting. Longer than one token
/// request may take (15 s), so a claim only lapses when its holder is gone.
const CLAIM_LEASE: time::Duration = time::Duration::seconds(20);

/// How long a caller waits for another instance's refresh before giving up for now.
const MAX_WAIT: Duration = Duration::from_secs(25);

/// First and longest pause between looks at the store while waiting.
const FIRST_PAUSE: Duration = Duration::from_millis(20);
const LONGEST_PAUSE: Duration = Duration::from_millis(500);

/// Attempts to save rotated tokens when the store fails or the revision moved.
const SAVE_ATTEMPTS: usize = 3;

/// Shown to admins when Akiles refuses the refresh token.
const REASON_REFUSED: &str = "Akiles refused the refresh token (revoked or expired); connect again";

/// Shown to admins when there is no refresh token to use.
const REASON_NO_REFRESH_TOKEN: &str =
    "the access token expired and Akiles gave no refresh token; connect again";

/// Why no token could be had for now; the source of [`TokenError::Unavailable`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RefreshError {
    /// The store failed.
    #[error("the connection could not be read or saved")]
    Store(#[source] StoreError),
    /// The token endpoint failed in a way that may pass, or refused our client.
    #[error("refreshing the access token failed")]
    OAuth(#[source] OAuthError),
    /// Another instance holds the claim to refresh and did not finish in time.
    #[error("another worker is refreshing the access token; gave up waiting")]
    Busy,
}

/// How usable the stored access token is.
enum Freshness {
    /// Works and is not due for refresh.
    Fresh(SecretString),
    /// Works, but expires within the margin.
    Expiring(SecretString),
    /// Missing, expired or rejected by the API.
    Unusable,
}

/// What to do after one refresh attempt.
enum Step {
    Done(SecretString),
    /// The stored connection changed under us; look again.
    Reload,
}

/// The refreshing token source of one tenant's Akiles connection.
///
/// Create one per tenant per process and share it (`Arc`): the single-flight guarantee
/// inside a process holds per instance. Separate instances (other processes) coordinate
/// through the store.
pub struct ConnectionTokens {
    store: Arc<dyn Store>,
    tenant: String,
    oauth: Arc<AkilesOAuth>,
    clock: Arc<dyn Clock>,
    margin: time::Duration,
    /// Held while refreshing; holds the revision of this instance's last claim.
    refresh_lock: tokio::sync::Mutex<Option<i64>>,
    /// The token last handed out, to tell whether a rejection is about the current one.
    issued: Mutex<Option<SecretString>>,
    /// A token the API refused; it is not handed out again.
    rejected: Mutex<Option<SecretString>>,
    refreshes: AtomicU64,
    client_refusal_logged: AtomicBool,
}

impl fmt::Debug for ConnectionTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionTokens")
            .field("tenant", &self.tenant)
            .field("margin", &self.margin)
            .field("refreshes", &self.refreshes())
            .finish_non_exhaustive()
    }
}

impl ConnectionTokens {
    /// The token source of `tenant`'s connection, refreshing
    /// [`DEFAULT_REFRESH_MARGIN`] before expiry.
    pub fn new(
        store: Arc<dyn Store>,
        tenant: impl Into<String>,
        oauth: Arc<AkilesOAuth>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            tenant: tenant.into(),
            oauth,
            clock,
            margin: to_time(DEFAULT_REFRESH_MARGIN),
            refresh_lock: tokio::sync::Mutex::new(None),
            issued: Mutex::new(None),
            rejected: Mutex::new(None),
            refreshes: AtomicU64::new(0),
            client_refusal_logged: AtomicBool::new(false),
        }
    }

    /// Refreshes `margin` before the access token expires.
    pub fn with_refresh_margin(mut self, margin: Duration) -> Self {
        self.margin = to_time(margin);
        self
    }

    /// The tenant whose connection this is.
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// How many refreshes this instance completed (for metrics).
    pub fn refreshes(&self) -> u64 {
        self.refreshes.load(Ordering::Relaxed)
    }

    /// A working access token, refreshed first when it is due or was rejected.
    pub async fn token(&self) -> Result<SecretString, TokenError> {
        let connection = self.load().await?;
        let token = match self.assess(&connection) {
            Freshness::Fresh(token) => token,
            _ => self.refresh_once().await?,
        };
        *lock(&self.issued) = Some(token.clone());
        Ok(token)
    }

    /// Refreshes unless someone else did or does; one caller at a time.
    async fn refresh_once(&self) -> Result<SecretString, TokenError> {
        let mut own_claim = self.refresh_lock.lock().await;
        let deadline = Instant::now() + MAX_WAIT;
        let mut pause = FIRST_PAUSE;

        loop {
            let connection = self.load().await?;
            let freshness = self.assess(&connection);
            if let Freshness::Fresh(token) = freshness {
                return Ok(token);
            }

            if self.claimed_by_another(&connection, *own_claim) {
                if let Freshness::Expiring(token) = freshness {
                    return Ok(token);
                }
                if Instant::now() >= deadline {
                    return Err(unavailable(RefreshError::Busy));
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(LONGEST_PAUSE);
                continue;
            }

            let claim = self
                .store
                .save_connection_if_revision(&connection, connection.revision)
                .await
                .map_err(|e| unavailable(RefreshError::Store(e)))?;
            let Some(claim) = claim else { continue };
            *own_claim = Some(claim);

            match self.refresh_claimed(connection, claim, freshness).await? {
                Step::Done(token) => return Ok(token),
                Step::Reload if Instant::now() >= deadline => {
                    return Err(unavailable(RefreshError::Busy));
                }
                Step::Reload => continue,
            }
        }
    }

    /// Redeems the refresh token of `connection`, which this instance has claimed at
    /// revision `claim`, and saves the result.
    async fn refresh_claimed(
        &self,
        connection: Connection,
        claim: i64,
        freshness: Freshness,
    ) -> Result<Step, TokenError> {
        let Some(refresh_token) = connection.refresh_token.clone() else {
            if let Freshness::Expiring(token) = freshness {
                return Ok(Step::Done(token));
            }
            return self.flag_reconnect(None, REASON_NO_REFRESH_TOKEN).await;
        };

        match self.oauth.refresh(&refresh_token).await {
            Ok(tokens) => {
                self.refreshes.fetch_add(1, Ordering::Relaxed);
                debug!(tenant = %self.tenant, "Refreshed the Akiles access token of tenant {}", self.tenant);
                self.save_tokens(connection, claim, tokens).await
            }
            Err(OAuthError::InvalidGrant) => {
                self.flag_reconnect(Some(&refresh_token), REASON_REFUSED)
                    .await
            }
            Err(failure) => {
                self.note_failure(&failure);
                match freshness {
                    Freshness::Expiring(token) => Ok(Step::Done(token)),
                    _ => Err(unavailable(RefreshError::OAuth(failure))),
                }
            }
        }
    }

    /// Saves rotated `tokens` onto `base` (claimed at revision `expected`), merging them
    /// into the stored connection when something else changed it meanwhile.
    async fn save_tokens(
        &self,
        mut base: Connection,
        mut expected: i64,
        tokens: TokenSet,
    ) -> Result<Step, TokenError> {
        let mut last_error = None;
        for _ in 0..SAVE_ATTEMPTS {
            let updated = with_tokens(&base, &tokens);
            match self
                .store
                .save_connection_if_revision(&updated, expected)
                .await
            {
                Ok(Some(_)) => return Ok(Step::Done(tokens.access_token)),
                Ok(None) => {}
                Err(failure) => {
                    last_error = Some(failure);
                    continue;
                }
            }

            let current = self.load().await?;
            if !same_secret(&current.refresh_token, &base.refresh_token) {
                // Someone stored other tokens (a new connect): theirs win.
                return Ok(Step::Reload);
            }
            expected = current.revision;
            base = current;
        }

        // TODO(robustness): rotated tokens that cannot be saved are lost, and the old
        // refresh token no longer works; the next refresh will ask for a reconnect.
        error!(tenant = %self.tenant, "Could not save the refreshed Akiles tokens of tenant {}", self.tenant);
        let cause = last_error.map_or(RefreshError::Busy, RefreshError::Store);
        Err(unavailable(cause))
    }

    /// Marks the connection "reconnect needed" unless its refresh token is no longer
    /// `used` (someone stored new tokens: then it is looked at again). Logs one WARN when this call flipped the state.
    async fn flag_reconnect(
        &self,
        used: Option<&SecretString>,
        reason: &str,
    ) -> Result<Step, TokenError> {
        for _ in 0..SAVE_ATTEMPTS {
            let current = self.load().await?;
            if !same_secret(&current.refresh_token, &used.cloned()) {
                return Ok(Step::Reload);
            }

            let flagged = reconnect_needed(current.clone(), reason);
            let saved = self
                .store
                .save_connection_if_revision(&flagged, current.revision)
                .await
                .map_err(|e| unavailable(RefreshError::Store(e)))?;
            if saved.is_some() {
                warn!(
                    tenant = %self.tenant,
                    "Akiles connection of tenant {} needs reconnecting: {reason}",
                    self.tenant
                );
                return Err(TokenError::ReconnectRequired);
            }
        }
        Err(TokenError::ReconnectRequired)
    }

    /// Logs a refresh failure that is not the connection's fault.
    fn note_failure(&self, failure: &OAuthError) {
        if matches!(failure, OAuthError::InvalidClient) {
            if !self.client_refusal_logged.swap(true, Ordering::Relaxed) {
                error!(tenant = %self.tenant, "Akiles refused our OAuth client id or secret; check the OAuth settings");
            }
            return;
        }
        debug!(tenant = %self.tenant, error = %failure, "Could not refresh the Akiles access token of tenant {}", self.tenant);
    }

    /// The stored connection, if it is usable at all.
    async fn load(&self) -> Result<Connection, TokenError> {
        let connection = self
            .store
            .connection(&self.tenant)
            .await
            .map_err(|e| unavailable(RefreshError::Store(e)))?;
        match connection {
            Some(connection) if connection.state == ConnectionState::Connected => Ok(connection),
            _ => Err(TokenError::ReconnectRequired),
        }
    }

    fn assess(&self, connection: &Connection) -> Freshness {
        let Some(token) = connection.access_token.clone() else {
            return Freshness::Unusable;
        };
        if same_secret(&lock(&self.rejected), &Some(token.clone())) {
            return Freshness::Unusable;
        }
        let Some(expires_at) = connection.access_expires_at else {
            return Freshness::Fresh(token);
        };

        let now = self.clock.now();
        let due = expires_at.checked_sub(self.margin);
        if now >= expires_at {
            Freshness::Unusable
        } else if due.is_none_or(|due| now >= due) {
            Freshness::Expiring(token)
        } else {
            Freshness::Fresh(token)
        }
    }

    /// Whether another holder's claim to refresh is still running: the connection was
    /// written within the lease, and not by this instance's own claim.
    // TODO(robustness): any recent write (e.g. the organization name) looks like a claim,
    // so a token rejected within 20 s of such a write waits for the lease to pass; a
    // lease column in the store would tell claims apart.
    fn claimed_by_another(&self, connection: &Connection, own_claim: Option<i64>) -> bool {
        own_claim != Some(connection.revision)
            && self.clock.now() < connection.updated_at + CLAIM_LEASE
    }
}

impl TokenSource for ConnectionTokens {
    fn access_token(&self) -> BoxFuture<'_, Result<SecretString, TokenError>> {
        Box::pin(self.token())
    }

    fn token_rejected(&self, token: &SecretString) {
        let current = same_secret(&lock(&self.issued), &Some(token.clone()));
        if current {
            debug!(tenant = %self.tenant, "Akiles rejected the access token of tenant {}", self.tenant);
            *lock(&self.rejected) = Some(token.clone());
        }
    }
}

/// `base` with the tokens of a refresh.
fn with_tokens(base: &Connection, tokens: &TokenSet) -> Connection {
    let mut connection = base.clone();
    connection.access_token = Some(tokens.access_token.clone());
    connection.refresh_token = tokens
        .refresh_token
        .clone()
        .or(connection.refresh_token.take());
    connection.access_expires_at = tokens.expires_at;
    if tokens.scope.is_some() {
        connection.scope = tokens.scope.clone();
    }
    connection
}

/// `connection` marked "reconnect needed", its useless tokens dropped.
fn reconnect_needed(mut connection: Connection, reason: &str) -> Connection {
    connection.state = ConnectionState::ReconnectNeeded;
    connection.reason = Some(reason.to_owned());
    connection.access_token = None;
    connection.refresh_token = None;
    connection.access_expires_at = None;
    connection
}

fn same_secret(a: &Option<SecretString>, b: &Option<SecretString>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a.expose_secret() == b.expose_secret(),
        (None, None) => true,
        _ => false,
    }
}

fn unavailable(cause: RefreshError) -> TokenError {
    TokenError::Unavailable(Box::new(cause))
}

fn to_time(duration: Duration) -> time::Duration {
    time::Duration::try_from(duration).unwrap_or(time::Duration::MAX)
}

/// Locks a plain mutex; a poisoned one still holds a usable value.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
