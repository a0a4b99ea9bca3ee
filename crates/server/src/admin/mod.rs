//! The admin pages: server-rendered HTML for people running the service.
//!
//! - `/admin/login`, `/admin/logout`: a session for an admin of the store (argon2 hash),
//!   kept in an encrypted cookie ([`session`]).
//! - `/admin`: tenants ([`tenants`]).
//! - `/admin/tenants/{key}`: the integration page: connection, credential types,
//!   mapping, API keys ([`integration`]); "Connect Akiles" and the OAuth callback at
//!   `/oauth/callback` ([`connect`]).
//! - `/admin/tenants/{key}/employees[/{id}]`: sync state and history ([`employees`]).
//! - `/admin/tenants/{key}/activity`: queue, runs, failed jobs ([`activity`]).
//! - `/admin/tenants/{key}/deletions`: deletions held by the guard, approve or reject
//!   ([`deletions`]); `/admin/tenants/{key}/settings/preview`: the effect of proposed
//!   settings before they are saved ([`preview`]).
//!
//! Every form posts and answers `303 See Other` with a flash message. Cross-site form
//! posts are refused by tower-http's `Sec-Fetch-Site`/`Origin` check on every admin route.

pub mod activity;
pub mod connect;
pub mod deletions;
pub mod delivery;
pub mod employees;
pub mod integration;
pub mod page;
pub mod preview;
pub mod run_settings;
pub mod session;
pub mod tenants;

use std::sync::Arc;

use akiles_oauth::{AkilesOAuth, OAuthSettings};
use axum::Router;
use axum::routing::{get, post};
use axum_extra::extract::cookie::Key;
use tower_http::csrf::CsrfLayer;

pub use session::{hash_password, verify_password};

use crate::settings::Settings;
use crate::state::AppState;

/// The path Akiles sends the browser back to after the consent page.
pub const CALLBACK_PATH: &str = "/oauth/callback";

/// What the admin pages need besides [`AppState`]; built once with the router.
#[derive(Clone)]
pub struct AdminContext {
    /// Encrypts the session and flash cookies.
    pub key: Key,
    /// Whether cookies get the `Secure` flag (the public URL is https).
    pub secure_cookies: bool,
    /// The OAuth client; `None` when `akiles.client_id` or `client_secret` is not set.
    pub oauth: Option<Arc<AkilesOAuth>>,
}

impl std::fmt::Debug for AdminContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminContext")
            .field("secure_cookies", &self.secure_cookies)
            .field("oauth", &self.oauth)
            .finish_non_exhaustive()
    }
}

impl AdminContext {
    /// The context for `settings`. The cookie key's length was checked with the settings.
    pub fn from_settings(settings: &Settings, clock: Arc<dyn hr_domain::Clock>) -> Self {
        let oauth = oauth_client(settings, clock);
        Self {
            key: Key::from(settings.cookie_key.bytes()),
            secure_cookies: settings.public_url.scheme() == "https",
            oauth,
        }
    }
}

/// The OAuth client of the settings, or `None` (with a warning) when it cannot be made.
/// Token expiry is computed on `clock`, the clock the token sources compare it with.
pub fn oauth_client(
    settings: &Settings,
    clock: Arc<dyn hr_domain::Clock>,
) -> Option<Arc<AkilesOAuth>> {
    let akiles = &settings.akiles;
    let (Some(id), Some(secret)) = (&akiles.client_id, &akiles.client_secret) else {
        tracing::warn!(
            "akiles.client_id or akiles.client_secret is not set: Connect Akiles is off"
        );
        return None;
    };
    let redirect = settings
        .public_url
        .join(CALLBACK_PATH.trim_start_matches('/'));
    let redirect = match redirect {
        Ok(url) => url,
        Err(e) => {
            tracing::warn!(error = %e, "No OAuth callback URL from public_url; Connect Akiles is off");
            return None;
        }
    };
    let oauth_settings = OAuthSettings::new(
        id.clone(),
        secret.clone(),
        akiles.authorize_url.clone(),
        akiles.token_url.clone(),
        redirect,
    );
    match AkilesOAuth::new(oauth_settings) {
        Ok(oauth) => Some(Arc::new(oauth.with_clock(clock))),
        Err(e) => {
            tracing::warn!(error = %e, "The OAuth client cannot be built; Connect Akiles is off");
            None
        }
    }
}

/// The admin pages and the OAuth callback, behind the cross-site request check.
pub fn router(state: AppState) -> Router<AppState> {
    let context = Arc::new(AdminContext::from_settings(
        &state.settings,
        state.clock.clone(),
    ));
    Router::new()
        .route(
            "/admin/login",
            get(session::login_form).post(session::login),
        )
        .route("/admin/logout", post(session::logout))
        .route("/admin", get(tenants::list))
        .route("/admin/tenants", post(tenants::create))
        .route("/admin/tenants/{tenant}", get(integration::page))
        .route("/admin/tenants/{tenant}/settings", post(integration::save))
        .route("/admin/tenants/{tenant}/sync", post(integration::sync_now))
        .route(
            "/admin/tenants/{tenant}/api-keys",
            post(integration::create_key),
        )
        .route(
            "/admin/tenants/{tenant}/api-keys/{key_id}/revoke",
            post(integration::revoke_key),
        )
        .route(
            "/admin/tenants/{tenant}/signing-secret",
            post(integration::signing_secret),
        )
        .route("/admin/tenants/{tenant}/connect", post(connect::connect))
        .route(
            "/admin/tenants/{tenant}/disconnect",
            post(connect::disconnect),
        )
        .route(CALLBACK_PATH, get(connect::callback))
        .route("/admin/tenants/{tenant}/employees", get(employees::list))
        .route(
            "/admin/tenants/{tenant}/employees/{employee_id}",
            get(employees::detail),
        )
        .route("/admin/tenants/{tenant}/activity", get(activity::page))
        .route(
            "/admin/tenants/{tenant}/jobs/{job_id}/retry",
            post(activity::retry),
        )
        .merge(guard_routes())
        .merge(delivery_routes())
        .route("/admin/static/admin.css", get(page::stylesheet))
        .layer(CsrfLayer::new())
        .layer(axum::Extension(context))
}

/// The held deletions and the settings preview.
fn guard_routes() -> Router<AppState> {
    Router::new()
        .route(
            "/admin/tenants/{tenant}/settings/preview",
            post(preview::preview),
        )
        .route("/admin/tenants/{tenant}/deletions", get(deletions::page))
        .route(
            "/admin/tenants/{tenant}/deletions/approve",
            post(deletions::approve),
        )
        .route(
            "/admin/tenants/{tenant}/deletions/reject",
            post(deletions::reject),
        )
}

/// The SMTP password and the retry of a failed delivery.
fn delivery_routes() -> Router<AppState> {
    Router::new()
        .route(
            "/admin/tenants/{tenant}/smtp-password",
            post(delivery::smtp_password),
        )
        .route(
            "/admin/tenants/{tenant}/deliveries/{delivery_id}/retry",
            post(delivery::retry),
        )
}
