//! "Connect Akiles", the OAuth callback, and "Disconnect".
//!
//! Connect (and Reconnect, the same button while a connection record exists) always
//! starts a new authorization-code flow: a stored connection says nothing about whether
//! its tokens still work. The callback checks `state` (single use, stored server-side
//! with the PKCE verifier), redeems the code, then reads the organization with the new
//! token so the page can name it. Afterwards a sync of the whole tenant is queued, which
//! also wakes jobs that were waiting for the connection.

use std::sync::Arc;

use akiles_client::{Client, ClientConfig, StaticToken};
use akiles_oauth::ConnectError;
use axum::extract::{Extension, Query, State};
use axum::response::{Redirect, Response};
use secrecy::SecretString;
use serde::Deserialize;
use sync_store::{ConnectionState, JobKind};

use super::AdminContext;
use super::page::{Flash, PageError, existing_tenant};
use super::session::AdminSession;
use crate::extract::ApiPath;
use crate::state::AppState;

/// `POST /admin/tenants/{tenant}/connect`: `303` to the Akiles consent page.
pub async fn connect(
    State(state): State<AppState>,
    Extension(context): Extension<Arc<AdminContext>>,
    session: AdminSession,
    ApiPath(tenant): ApiPath<String>,
) -> Result<Response, PageError> {
    existing_tenant(&state, &tenant).await?;
    let page = format!("/admin/tenants/{tenant}");
    let Some(oauth) = &context.oauth else {
        let flash = Flash::error(
            "Connecting is off: set akiles.client_id and akiles.client_secret in the settings.",
        );
        return Ok(session.redirect(&page, flash));
    };

    let url = akiles_oauth::begin_connect(&*state.store, &tenant, oauth, &*state.clock).await;
    match url {
        Ok(url) => Ok(session.render(Redirect::to(url.as_str()))),
        Err(e) => Err(PageError::internal(e)),
    }
}

/// What Akiles sends back to the callback.
#[derive(Deserialize)]
pub struct CallbackQuery {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
}

impl std::fmt::Debug for CallbackQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallbackQuery")
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

const RESTART: &str = "This connection attempt is unknown, expired or already used; \
    nothing was changed. Start again with Connect Akiles.";

/// `GET /oauth/callback?code&state` (or `?error&state`): finishes connecting.
pub async fn callback(
    State(state): State<AppState>,
    Extension(context): Extension<Arc<AdminContext>>,
    session: AdminSession,
    Query(query): Query<CallbackQuery>,
) -> Result<Response, PageError> {
    let (Some(oauth), Some(oauth_state)) = (&context.oauth, query.state.as_deref()) else {
        return Ok(session.redirect("/admin", Flash::error(RESTART)));
    };
    if let Some(error) = &query.error {
        return refused(&state, session, oauth_state, error).await;
    }
    let Some(code) = query.code.as_deref() else {
        return Ok(session.redirect("/admin", Flash::error(RESTART)));
    };

    let store = &*state.store;
    let finished = akiles_oauth::finish_connect(store, oauth, &*state.clock, oauth_state, code);
    let tenant = match finished.await {
        Ok(tenant) => tenant,
        Err(ConnectError::StateMismatch) => {
            tracing::warn!("Refused an OAuth callback whose state matches no pending request");
            return Ok(session.redirect("/admin", Flash::error(RESTART)));
        }
        Err(ConnectError::Exchange(e)) => {
            tracing::warn!(error = %e, "Akiles did not exchange the authorization code");
            let flash = Flash::error(format!(
                "Akiles did not accept the authorization ({e}); nothing was saved. Try again."
            ));
            return Ok(session.redirect("/admin", flash));
        }
        Err(e) => return Err(PageError::internal(e)),
    };

    let flash = after_connect(&state, &tenant).await?;
    Ok(session.redirect(&format!("/admin/tenants/{tenant}"), flash))
}

/// The admin denied access on the consent page (or Akiles refused): forget the attempt.
async fn refused(
    state: &AppState,
    session: AdminSession,
    oauth_state: &str,
    error: &str,
) -> Result<Response, PageError> {
    let Some((tenant, _verifier)) = state.store.take_oauth_state(oauth_state).await? else {
        return Ok(session.redirect("/admin", Flash::error(RESTART)));
    };
    tracing::info!(tenant = %tenant, oauth.error = %error, "Connecting tenant {tenant} was not approved");
    let message = if error == "access_denied" {
        "Access was denied on the Akiles page; nothing was connected.".to_owned()
    } else {
        format!("Akiles answered {error:?}; nothing was connected.")
    };
    let page = format!("/admin/tenants/{tenant}");
    Ok(session.redirect(&page, Flash::error(message)))
}

/// Names the organization, drops cached clients, and queues a sync of the tenant.
async fn after_connect(state: &AppState, tenant: &str) -> Result<Flash, PageError> {
    let named = name_organization(state, tenant).await;
    state.connections.forget(tenant);
    if let Err(OrganizationError::Changed { kept, offered }) = &named {
        return Ok(Flash::error(format!(
            "That authorization is for {offered}, but this tenant syncs {kept}: nothing was \
             changed in either. Reconnect choosing {kept}, or Disconnect first to move to \
             another organization (members already in {kept} then stay as they are)."
        )));
    }
    state
        .store
        .enqueue(tenant, JobKind::SyncTenant, None)
        .await?;
    state.wake_workers();

    Ok(match named {
        Ok(name) => Flash::ok(format!(
            "Connected to {name}. A sync of every employee is queued."
        )),
        Err(e) => {
            tracing::warn!(tenant = %tenant, error = %e, "Could not read the organization of tenant {tenant}");
            Flash::ok("Connected to Akiles (its name could not be read yet).")
        }
    })
}

/// Why the organization of a new grant was not recorded.
#[derive(Debug, thiserror::Error)]
enum OrganizationError {
    /// The grant is for another organization than the one the tenant syncs.
    #[error("the grant is for {offered}, not {kept}")]
    Changed { kept: String, offered: String },
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// Reads `GET /organization` with the new token and saves its id and name. A grant for
/// another organization than a live connection's is refused: its tokens are dropped and
/// the connection waits for a reconnect, so no member is orphaned in the old one.
async fn name_organization(state: &AppState, tenant: &str) -> Result<String, OrganizationError> {
    let Some(mut connection) = state
        .store
        .connection(tenant)
        .await
        .map_err(anyhow::Error::from)?
    else {
        return Err(anyhow::anyhow!("the connection just saved is missing").into());
    };
    let Some(token) = connection.access_token.clone() else {
        return Err(anyhow::anyhow!("the connection just saved has no access token").into());
    };
    let client = organization_client(state, token)?;
    let organization = client.organization().await.map_err(anyhow::Error::from)?;
    if let Some(kept) = connection
        .organization_id
        .clone()
        .filter(|id| *id != organization.id)
    {
        let kept_name = connection.organization_name.clone().unwrap_or(kept);
        connection.state = ConnectionState::ReconnectNeeded;
        connection.reason = Some(format!(
            "the last authorization was for {}, not {kept_name}",
            organization.name
        ));
        connection.access_token = None;
        connection.refresh_token = None;
        state
            .store
            .save_connection(&connection)
            .await
            .map_err(anyhow::Error::from)?;
        tracing::warn!(tenant = %tenant, "Refused a grant for another organization than tenant {tenant}'s");
        return Err(OrganizationError::Changed {
            kept: kept_name,
            offered: organization.name,
        });
    }

    connection.organization_id = Some(organization.id);
    connection.organization_name = Some(organization.name.clone());
    let saved = state
        .store
        .save_connection_if_revision(&connection, connection.revision)
        .await
        .map_err(anyhow::Error::from)?;
    if saved.is_none() {
        return Err(
            anyhow::anyhow!("the connection changed while its organization was read").into(),
        );
    }
    tracing::info!(tenant = %tenant, "Tenant {tenant} is connected to its Akiles organization");
    Ok(organization.name)
}

fn organization_client(state: &AppState, token: SecretString) -> anyhow::Result<Client> {
    let mut config = ClientConfig::new(state.settings.akiles.api_url.clone());
    config.timeout = state.settings.akiles.timeout();
    Ok(Client::new(config, Arc::new(StaticToken::new(token)))?)
}

/// `POST /admin/tenants/{tenant}/disconnect`: forgets the tokens.
pub async fn disconnect(
    State(state): State<AppState>,
    session: AdminSession,
    ApiPath(tenant): ApiPath<String>,
) -> Result<Response, PageError> {
    existing_tenant(&state, &tenant).await?;
    akiles_oauth::disconnect(&*state.store, &tenant).await?;
    state.connections.forget(&tenant);

    let flash = Flash::ok(
        "Disconnected: the tokens are forgotten. Members already in Akiles stay as they are; \
         changes from HR wait until Akiles is connected again.",
    );
    Ok(session.redirect(&format!("/admin/tenants/{tenant}"), flash))
}

/// Whether the tenant's jobs can run now, in words for the pages.
pub fn connection_words(connection: Option<&sync_store::Connection>) -> ConnectionView {
    match connection {
        Some(c) if c.state == ConnectionState::Connected => ConnectionView {
            state: "connected",
            headline: format!(
                "Connected to {}",
                c.organization_name.as_deref().unwrap_or("Akiles")
            ),
            reason: None,
            record_exists: true,
        },
        Some(c) if c.state == ConnectionState::ReconnectNeeded => ConnectionView {
            state: "reconnect_needed",
            headline: "Reconnect needed".to_owned(),
            reason: Some(
                c.reason
                    .clone()
                    .unwrap_or_else(|| "Akiles refused the tokens".into()),
            ),
            record_exists: true,
        },
        Some(_) => ConnectionView {
            state: "disconnected",
            headline: "Not connected".to_owned(),
            reason: None,
            record_exists: true,
        },
        None => ConnectionView {
            state: "not_connected",
            headline: "Not connected".to_owned(),
            reason: None,
            record_exists: false,
        },
    }
}

/// A connection as the pages show it.
#[derive(Debug, Clone)]
pub struct ConnectionView {
    /// `connected`, `reconnect_needed`, `disconnected` or `not_connected`.
    pub state: &'static str,
    /// "Not connected", "Connected to Acme", "Reconnect needed".
    pub headline: String,
    /// Why a reconnect is needed.
    pub reason: Option<String>,
    /// A connection record exists (the button says "Reconnect").
    pub record_exists: bool,
}
