//! A tenant's sync settings and the status of its Akiles connection.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use sync_store::{Connection, JobKind};
use time::OffsetDateTime;

use super::existing_tenant;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;
use crate::tenant_settings::TenantSettings;

/// `GET /api/v1/manage/tenants/{tenant}/settings`.
pub async fn get(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
) -> Result<Json<TenantSettings>, ApiError> {
    let tenant = existing_tenant(&state, &key).await?;
    let settings = TenantSettings::from_json(&tenant.settings).map_err(|e| {
        ApiError::internal(anyhow::Error::new(e).context("stored tenant settings are invalid"))
    })?;
    Ok(Json(settings))
}

/// `PUT /api/v1/manage/tenants/{tenant}/settings`: replaces the settings and enqueues a
/// sync of the whole tenant, so Akiles follows the new mapping.
pub async fn put(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
    ApiJson(settings): ApiJson<TenantSettings>,
) -> Result<(StatusCode, Json<TenantSettings>), ApiError> {
    existing_tenant(&state, &key).await?;
    if let Some((field, reason)) = settings.problem() {
        return Err(ApiError::invalid(vec![Problem::new(field, reason)]));
    }
    state
        .store
        .save_tenant_settings(&key, &settings.to_json())
        .await?;
    state.connections.forget_groups(&key);
    state.store.enqueue(&key, JobKind::SyncTenant, None).await?;
    state.wake_workers();
    tracing::info!(tenant = %key, "Saved the settings of tenant {key}; a full sync is queued");
    Ok((StatusCode::ACCEPTED, Json(settings)))
}

/// A connection's status: never its tokens.
#[derive(Debug, Serialize)]
pub struct ConnectionResponse {
    /// `not_connected`, `connected`, `reconnect_needed` or `disconnected`.
    pub state: &'static str,
    pub organization_id: Option<String>,
    pub organization_name: Option<String>,
    /// Why a reconnect is needed.
    pub reason: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub updated_at: Option<OffsetDateTime>,
}

/// The status of `connection` (none saved: `not_connected`).
pub fn connection_response(connection: Option<&Connection>) -> ConnectionResponse {
    match connection {
        None => ConnectionResponse {
            state: "not_connected",
            organization_id: None,
            organization_name: None,
            reason: None,
            updated_at: None,
        },
        Some(c) => ConnectionResponse {
            state: c.state.as_str(),
            organization_id: c.organization_id.clone(),
            organization_name: c.organization_name.clone(),
            reason: c.reason.clone(),
            updated_at: Some(c.updated_at),
        },
    }
}

/// `GET /api/v1/manage/tenants/{tenant}/connection`.
pub async fn connection(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
) -> Result<Json<ConnectionResponse>, ApiError> {
    existing_tenant(&state, &key).await?;
    let connection = state.store.connection(&key).await?;
    Ok(Json(connection_response(connection.as_ref())))
}
