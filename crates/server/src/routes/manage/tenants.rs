//! Tenants: list, create, get, delete.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use sync_store::Tenant;
use time::OffsetDateTime;

use super::existing_tenant;
use super::settings::{ConnectionResponse, connection_response};
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;
use crate::tenant_settings::TenantSettings;

/// A tenant as listed.
#[derive(Debug, Serialize)]
pub struct TenantResponse {
    pub key: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<&Tenant> for TenantResponse {
    fn from(tenant: &Tenant) -> Self {
        Self {
            key: tenant.key.clone(),
            created_at: tenant.created_at,
        }
    }
}

/// A tenant with its settings and connection status.
#[derive(Debug, Serialize)]
pub struct TenantDetailResponse {
    #[serde(flatten)]
    pub tenant: TenantResponse,
    pub settings: serde_json::Value,
    pub connection: ConnectionResponse,
}

/// `GET /api/v1/manage/tenants`.
pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<TenantResponse>>, ApiError> {
    let tenants = state.store.tenants().await?;
    Ok(Json(tenants.iter().map(TenantResponse::from).collect()))
}

/// The body of a tenant creation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTenantRequest {
    pub key: String,
}

/// `POST /api/v1/manage/tenants`.
pub async fn create(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<CreateTenantRequest>,
) -> Result<(StatusCode, Json<TenantResponse>), ApiError> {
    let key = request.key.trim();
    if let Some(reason) = tenant_key_problem(key) {
        return Err(ApiError::invalid(vec![Problem::new("key", reason)]));
    }
    if state.store.tenant(key).await?.is_some() {
        return Err(ApiError::conflict(format!("tenant {key} already exists")));
    }
    let tenant = state.store.ensure_tenant(key).await?;
    tracing::info!(tenant = %key, "Created tenant {key}");
    Ok((StatusCode::CREATED, Json(TenantResponse::from(&tenant))))
}

/// Why `key` cannot name a tenant, if it cannot.
pub fn tenant_key_problem(key: &str) -> Option<&'static str> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if key.is_empty() || key.len() > 64 {
        Some("must be 1 to 64 characters")
    } else if !key.chars().all(allowed) {
        Some("may hold only letters, digits, - and _")
    } else {
        None
    }
}

/// `GET /api/v1/manage/tenants/{tenant}`.
pub async fn get(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
) -> Result<Json<TenantDetailResponse>, ApiError> {
    let tenant = existing_tenant(&state, &key).await?;
    let settings = TenantSettings::from_json(&tenant.settings)
        .map(|s| s.to_json())
        .unwrap_or_else(|_| tenant.settings.clone());
    let connection = state.store.connection(&key).await?;
    Ok(Json(TenantDetailResponse {
        tenant: TenantResponse::from(&tenant),
        settings,
        connection: connection_response(connection.as_ref()),
    }))
}

/// `DELETE /api/v1/manage/tenants/{tenant}`: forgets the tenant and everything of it
/// here; members already in Akiles stay as they are.
pub async fn delete(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    if !state.store.delete_tenant(&key).await? {
        return Err(ApiError::not_found("tenant"));
    }
    state.connections.forget(&key);
    tracing::info!(tenant = %key, "Deleted tenant {key}");
    Ok(StatusCode::NO_CONTENT)
}
