//! The two halves of "Connect Akiles" for the server, and "Disconnect".
//!
//! [`begin_connect`] makes the authorization URL and keeps its `state` and PKCE verifier
//! in the store (not in process memory, so any instance can take the callback);
//! [`finish_connect`] checks the callback's `state`, redeems the code and saves the
//! connection. Reading the organization's name with the new token is the caller's job.

use std::time::Duration;

use hr_domain::Clock;
use sync_store::{Connection, ConnectionState, Store, StoreError};
use tracing::info;
use url::Url;

use crate::client::AkilesOAuth;
use crate::error::OAuthError;

/// How long the browser has to come back from Akiles.
pub const STATE_TTL: Duration = Duration::from_secs(10 * 60);

/// Why connecting failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The callback's `state` is unknown, already used or expired: not a reply to a
    /// request we made (or too late). Start again.
    #[error("the OAuth state does not match a pending connect request")]
    StateMismatch,
    /// Akiles did not exchange the code for tokens.
    #[error("the authorization code could not be exchanged")]
    Exchange(#[source] OAuthError),
    /// The store failed.
    #[error("the connection could not be read or saved")]
    Store(#[source] StoreError),
}

/// Starts connecting `tenant`: returns the Akiles URL to send the browser to. The state
/// and PKCE verifier are stored for [`STATE_TTL`].
pub async fn begin_connect(
    store: &dyn Store,
    tenant: &str,
    oauth: &AkilesOAuth,
    clock: &dyn Clock,
) -> Result<Url, ConnectError> {
    let request = oauth.authorization_request();
    let expires_at = clock.now() + STATE_TTL;
    store
        .save_oauth_state(&request.state, tenant, &request.pkce_verifier, expires_at)
        .await
        .map_err(ConnectError::Store)?;

    info!(tenant = %tenant, "Started connecting tenant {tenant} to Akiles");
    Ok(request.url)
}

/// Finishes connecting with the callback's `state` and `code`: takes the pending state
/// (once), redeems the code and saves the connection as `Connected`. Returns the tenant
/// the state belonged to. The organization id and name are left empty for the caller.
pub async fn finish_connect(
    store: &dyn Store,
    oauth: &AkilesOAuth,
    clock: &dyn Clock,
    state: &str,
    code: &str,
) -> Result<String, ConnectError> {
    let pending = store
        .take_oauth_state(state)
        .await
        .map_err(ConnectError::Store)?;
    let Some((tenant, verifier)) = pending else {
        return Err(ConnectError::StateMismatch);
    };

    let tokens = oauth
        .exchange_code(code, &verifier)
        .await
        .map_err(ConnectError::Exchange)?;

    // The organization a live connection syncs is kept, so the caller can tell when the
    // new grant is for another one (its members would be orphaned); after an explicit
    // disconnect any organization may be chosen.
    let previous = store
        .connection(&tenant)
        .await
        .map_err(ConnectError::Store)?;
    let kept = previous.filter(|c| c.state != ConnectionState::Disconnected);
    let connection = Connection {
        tenant: tenant.clone(),
        state: ConnectionState::Connected,
        organization_id: kept.as_ref().and_then(|c| c.organization_id.clone()),
        organization_name: kept.and_then(|c| c.organization_name),
        access_token: Some(tokens.access_token),
        refresh_token: tokens.refresh_token,
        access_expires_at: tokens.expires_at,
        scope: tokens.scope,
        reason: None,
        revision: 0,
        updated_at: clock.now(),
    };
    let revision = store
        .save_connection(&connection)
        .await
        .map_err(ConnectError::Store)?;

    info!(tenant = %tenant, revision, "Connected tenant {tenant} to Akiles");
    Ok(tenant)
}

/// Forgets `tenant`'s tokens and marks the connection `Disconnected`. Members already in
/// Akiles stay as they are. Idempotent.
pub async fn disconnect(store: &dyn Store, tenant: &str) -> Result<(), StoreError> {
    let existing = store.connection(tenant).await?;
    let mut connection = match existing {
        Some(connection) => connection,
        None => Connection {
            tenant: tenant.to_owned(),
            state: ConnectionState::Disconnected,
            organization_id: None,
            organization_name: None,
            access_token: None,
            refresh_token: None,
            access_expires_at: None,
            scope: None,
            reason: None,
            revision: 0,
            updated_at: time::OffsetDateTime::UNIX_EPOCH,
        },
    };
    connection.state = ConnectionState::Disconnected;
    connection.access_token = None;
    connection.refresh_token = None;
    connection.access_expires_at = None;
    connection.scope = None;
    connection.reason = None;
    store.save_connection(&connection).await?;

    info!(tenant = %tenant, "Disconnected tenant {tenant} from Akiles");
    Ok(())
}
