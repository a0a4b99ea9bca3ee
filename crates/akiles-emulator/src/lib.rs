//! A faithful, in-memory local emulator of the Akiles API v2.
//!
//! It serves the same paths, ids, page envelopes, errors and soft-delete behaviour as
//! `https://api.akiles.app/v2` (as described in `akiles-api.md`), starts with a seeded
//! "Office"-like default organization and a "Hotel"-like second one, and has switches for
//! latency, rate limits and injected faults. It also plays the Akiles OAuth 2.0 server
//! (`/oauth2/auth`, `/oauth2/token`) for the applications in
//! [`EmulatorConfig::oauth_clients`]. Tests start it on port 0 with [`spawn`]; the CLI
//! serves it with [`serve`].
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let emulator = akiles_emulator::spawn(Default::default()).await?;
//! let base_url = emulator.base_url(); // "http://127.0.0.1:PORT/v2"
//! let api_key = emulator.api_key(); // send as `Authorization: Bearer <key>`
//! # let _ = (base_url, api_key);
//! emulator.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! Every behaviour `akiles-api.md` leaves open is decided here and listed in the crate's
//! README as a guess.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

mod body;
mod consent_form;
mod control;
mod error;
mod faults;
mod ids;
mod list;
mod oauth;
mod routes;
mod seed;
mod state;

pub use consent_form::ConsentForm;
pub use error::ApiError;
pub use faults::{FaultEffect, FaultRule, Faults, RateLimit};
pub use oauth::{KNOWN_SCOPES, OAuthClient};
pub use seed::{GROUP_NAMES, HOTEL_ORG_NAME, ORG_NAME};

use crate::oauth::Revocation;
use crate::routes::members::{Expand, View, expand_member};
use crate::state::{Shared, Store};

/// The API key accepted when the config does not name any.
pub const DEFAULT_API_KEY: &str = "ak_emulator_test_key";

/// The seed used when the config does not name one.
pub const DEFAULT_SEED: u64 = 0x00ac_1e55;

/// Access token lifetime when the config does not name one (Akiles documents 1 hour).
pub const DEFAULT_ACCESS_TOKEN_TTL: Duration = Duration::from_secs(3600);

/// Authorization code lifetime when the config does not name one (Akiles: 15 minutes).
pub const DEFAULT_AUTH_CODE_TTL: Duration = Duration::from_secs(15 * 60);

/// How to run an emulator.
#[derive(Clone)]
pub struct EmulatorConfig {
    /// Static Bearer keys accepted for the default organization.
    pub api_keys: Vec<String>,
    /// Delay added to every `/v2` response.
    pub latency: Duration,
    /// Optional token-bucket rate limit (429 with `Retry-After` when exceeded).
    pub rate_limit: Option<RateLimit>,
    /// Share (0.0..=1.0) of `/v2` requests answered with a 500 before touching state.
    pub error_rate: f64,
    /// RNG seed; the seeded organization's ids depend only on it.
    pub seed: u64,
    /// When set: load the state from it at start if it exists, and save after every change.
    pub state_file: Option<PathBuf>,
    /// Applications registered with the OAuth server (none by default).
    pub oauth_clients: Vec<OAuthClient>,
    /// How long an OAuth access token works (`expires_in`).
    pub access_token_ttl: Duration,
    /// How long an authorization code can be exchanged.
    pub auth_code_ttl: Duration,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            api_keys: vec![DEFAULT_API_KEY.to_owned()],
            latency: Duration::ZERO,
            rate_limit: None,
            error_rate: 0.0,
            seed: DEFAULT_SEED,
            state_file: None,
            oauth_clients: Vec::new(),
            access_token_ttl: DEFAULT_ACCESS_TOKEN_TTL,
            auth_code_ttl: DEFAULT_AUTH_CODE_TTL,
        }
    }
}

impl fmt::Debug for EmulatorConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmulatorConfig")
            .field(
                "api_keys",
                &format_args!("[{} redacted]", self.api_keys.len()),
            )
            .field("latency", &self.latency)
            .field("rate_limit", &self.rate_limit)
            .field("error_rate", &self.error_rate)
            .field("seed", &self.seed)
            .field("state_file", &self.state_file)
            .field("oauth_clients", &self.oauth_clients)
            .field("access_token_ttl", &self.access_token_ttl)
            .field("auth_code_ttl", &self.auth_code_ttl)
            .finish()
    }
}

/// The emulator's full router (`/v2/*`, `/oauth2/*` and `/_emulator/*`), with fresh state
/// from `config`. Fails when the state file cannot be read or an OAuth client is invalid.
pub fn router(config: &EmulatorConfig) -> io::Result<Router> {
    Ok(build(config)?.0)
}

fn build(config: &EmulatorConfig) -> io::Result<(Router, Arc<Shared>)> {
    let shared = Arc::new(Shared::new(config)?);
    let router = routes::api_routes()
        .route_layer(from_fn_with_state(shared.clone(), faults::pipeline))
        .merge(
            oauth::oauth_routes()
                .route_layer(from_fn_with_state(shared.clone(), faults::oauth_pipeline)),
        )
        .merge(control::control_routes())
        .fallback(unknown_route)
        .method_not_allowed_fallback(wrong_method)
        .with_state(shared.clone());
    Ok((router, shared))
}

async fn unknown_route(State(shared): State<Arc<Shared>>) -> ApiError {
    faults::fallback_latency(&shared).await;
    ApiError::not_found("route")
}

async fn wrong_method() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "method not allowed",
    )
}

/// Serves the emulator on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    config: EmulatorConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let (router, _) = build(&config)?;
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "Akiles emulator listening on http://{addr}/v2");
    }
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

/// Binds `127.0.0.1:0` and serves in the background until dropped or shut down.
pub async fn spawn(config: EmulatorConfig) -> io::Result<RunningEmulator> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let addr = listener.local_addr()?;
    let (router, shared) = build(&config)?;
    let (stop, stopped) = oneshot::channel::<()>();

    let server = axum::serve(listener, router).with_graceful_shutdown(async move {
        let _ = stopped.await;
    });
    let task = tokio::spawn(async move { server.await });

    Ok(RunningEmulator {
        addr,
        shared,
        stop: Some(stop),
        task: Some(task),
    })
}

/// How long [`RunningEmulator::shutdown`] waits for in-flight requests.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A background emulator started by [`spawn`], with hooks for tests.
pub struct RunningEmulator {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<io::Result<()>>>,
}

impl RunningEmulator {
    /// The API base URL, `http://127.0.0.1:PORT/v2`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v2", self.addr)
    }

    /// The OAuth authorization endpoint, `http://127.0.0.1:PORT/oauth2/auth`.
    pub fn auth_url(&self) -> String {
        format!("http://{}/oauth2/auth", self.addr)
    }

    /// The OAuth token endpoint, `http://127.0.0.1:PORT/oauth2/token`.
    pub fn token_url(&self) -> String {
        format!("http://{}/oauth2/token", self.addr)
    }

    /// The address the emulator listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The first configured API key (empty when none is configured).
    pub fn api_key(&self) -> String {
        self.shared.api_keys.first().cloned().unwrap_or_default()
    }

    /// Call counters, as `GET /_emulator/calls` shows them.
    pub fn calls(&self) -> BTreeMap<String, u64> {
        self.shared
            .calls
            .lock()
            .map(|c| c.clone())
            .unwrap_or_default()
    }

    /// Sum of `/v2` POST, PATCH, PUT and DELETE calls, not counting `…/reveal`.
    pub fn write_calls(&self) -> u64 {
        let is_write = |key: &str| {
            let Some((method, path)) = key.split_once(' ') else {
                return false;
            };
            matches!(method, "POST" | "PATCH" | "PUT" | "DELETE")
                && path.starts_with("/v2/")
                && !path.ends_with("/reveal")
        };
        self.calls()
            .iter()
            .filter(|(key, _)| is_write(key))
            .map(|(_, n)| n)
            .sum()
    }

    /// Zeroes the call counters (not the data).
    pub fn reset_calls(&self) {
        if let Ok(mut calls) = self.shared.calls.lock() {
            calls.clear();
        }
    }

    /// Replaces the fault set, as `POST /_emulator/faults` does.
    pub fn set_faults(&self, faults: Faults) {
        if let Ok(mut state) = self.shared.faults.lock() {
            state.replace(faults);
        }
    }

    /// Revokes every OAuth grant (refresh and access tokens) and pending code, as a user
    /// removing the application would; returns how many grants there were.
    pub fn revoke_oauth_grants(&self) -> usize {
        oauth::revoke(&self.shared, Revocation::All).unwrap_or(0)
    }

    /// Makes every live OAuth access token expire now; returns how many there were.
    pub fn expire_access_tokens(&self) -> usize {
        oauth::expire_access_tokens(&self.shared).unwrap_or(0)
    }

    /// How many `refresh_token` grants succeeded since start.
    pub fn token_refreshes(&self) -> u64 {
        self.shared.token_refreshes.load(Ordering::Relaxed)
    }

    /// Moves the OAuth clock (code and access token expiry) forward by `by`, so tests
    /// reach an expiry without waiting. `created_at` of new objects still follows the OS
    /// clock.
    pub fn advance_oauth_clock(&self, by: Duration) {
        self.shared.advance_clock(by);
    }

    /// Id of the seeded organization with exactly this name (see [`ORG_NAME`] and
    /// [`HOTEL_ORG_NAME`]).
    pub fn organization_id(&self, name: &str) -> Option<String> {
        let store = self.store();
        let mut orgs = store.orgs.values();
        orgs.find(|org| org.organization.name == name)
            .map(|org| org.organization.id.clone())
    }

    /// Id of the seeded (default) organization.
    pub fn default_org_id(&self) -> String {
        self.store().default_org.clone()
    }

    /// Id of the live member group in the default organization with exactly this name.
    pub fn member_group_id(&self, name: &str) -> Option<String> {
        let store = self.store();
        let org = store.orgs.get(&store.default_org)?;
        let live = org.member_groups.values().filter(|g| !g.is_deleted);
        live.filter(|g| g.name == name).map(|g| g.id.clone()).next()
    }

    /// Every member of the default organization, deleted ones too, with all expand arrays
    /// filled with every item (deleted ones and PIN digits and links included).
    pub fn members(&self) -> Vec<akiles_types::Member> {
        let store = self.store();
        let Some(org) = store.orgs.get(&store.default_org) else {
            return Vec::new();
        };
        let all = org.members.values();
        all.map(|m| expand_member(org, m, Expand::all(), View::Inspect))
            .collect()
    }

    /// Stops serving and waits (a few seconds at most) for in-flight requests.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(SHUTDOWN_GRACE, task).await.is_err() {
                abort.abort();
            }
        }
    }

    /// The store for inspection; a poisoned lock is recovered because tests only read.
    fn store(&self) -> MutexGuard<'_, Store> {
        self.shared.lock_for_inspection()
    }
}

impl fmt::Debug for RunningEmulator {
    // The state holds tokens, PIN digits and links: show only where it listens.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunningEmulator")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
