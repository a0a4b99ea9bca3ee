//! A tenant's push API keys and signing secret.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sync_store::{ApiKey, ApiKeyId};
use time::OffsetDateTime;

use super::existing_tenant;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;

/// An API key without its secret.
#[derive(Debug, Serialize)]
pub struct ApiKeyResponse {
    pub id: i64,
    pub label: String,
    /// The first characters of the secret, to recognise it.
    pub prefix: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
}

impl From<&ApiKey> for ApiKeyResponse {
    fn from(key: &ApiKey) -> Self {
        Self {
            id: key.id.0,
            label: key.label.clone(),
            prefix: key.prefix.clone(),
            created_at: key.created_at,
            last_used_at: key.last_used_at,
        }
    }
}

/// A new API key, with the secret shown this once.
#[derive(Debug, Serialize)]
pub struct CreatedApiKeyResponse {
    #[serde(flatten)]
    pub key: ApiKeyResponse,
    pub secret: String,
}

/// The body of a key creation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKeyRequest {
    pub label: String,
}

/// `GET /api/v1/manage/tenants/{tenant}/api-keys`.
pub async fn list(
    State(state): State<AppState>,
    ApiPath(tenant): ApiPath<String>,
) -> Result<Json<Vec<ApiKeyResponse>>, ApiError> {
    existing_tenant(&state, &tenant).await?;
    let keys = state.store.api_keys(&tenant).await?;
    Ok(Json(keys.iter().map(ApiKeyResponse::from).collect()))
}

/// `POST /api/v1/manage/tenants/{tenant}/api-keys`.
pub async fn create(
    State(state): State<AppState>,
    ApiPath(tenant): ApiPath<String>,
    ApiJson(request): ApiJson<CreateApiKeyRequest>,
) -> Result<(StatusCode, Json<CreatedApiKeyResponse>), ApiError> {
    existing_tenant(&state, &tenant).await?;
    let label = request.label.trim();
    if label.is_empty() || label.len() > 200 {
        return Err(ApiError::invalid(vec![Problem::new(
            "label",
            "must be 1 to 200 characters",
        )]));
    }
    let (key, secret) = state.store.create_api_key(&tenant, label).await?;
    tracing::info!(tenant = %tenant, api_key.id = key.id.0, "Created API key {} for tenant {tenant}", key.id.0);
    let response = CreatedApiKeyResponse {
        key: ApiKeyResponse::from(&key),
        secret: secret.expose_secret().to_owned(),
    };
    Ok((StatusCode::CREATED, Json(response)))
}

/// `DELETE /api/v1/manage/tenants/{tenant}/api-keys/{key_id}`.
pub async fn revoke(
    State(state): State<AppState>,
    ApiPath((tenant, key_id)): ApiPath<(String, i64)>,
) -> Result<StatusCode, ApiError> {
    existing_tenant(&state, &tenant).await?;
    if !state
        .store
        .revoke_api_key(&tenant, ApiKeyId(key_id))
        .await?
    {
        return Err(ApiError::not_found("API key"));
    }
    tracing::info!(tenant = %tenant, api_key.id = key_id, "Revoked API key {key_id} of tenant {tenant}");
    Ok(StatusCode::NO_CONTENT)
}

/// The body that sets a signing secret.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigningSecretRequest {
    pub secret: SecretString,
}

/// Shortest signing secret accepted.
const MIN_SECRET_LEN: usize = 16;

/// `PUT /api/v1/manage/tenants/{tenant}/signing-secret`: from now on every push write
/// of the tenant must be signed with it.
pub async fn set_signing_secret(
    State(state): State<AppState>,
    ApiPath(tenant): ApiPath<String>,
    ApiJson(request): ApiJson<SigningSecretRequest>,
) -> Result<StatusCode, ApiError> {
    existing_tenant(&state, &tenant).await?;
    if request.secret.expose_secret().len() < MIN_SECRET_LEN {
        return Err(ApiError::invalid(vec![Problem::new(
            "secret",
            format!("must be at least {MIN_SECRET_LEN} characters"),
        )]));
    }
    state
        .store
        .set_signing_secret(&tenant, Some(&request.secret))
        .await?;
    tracing::info!(tenant = %tenant, "Set the signing secret of tenant {tenant}");
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /api/v1/manage/tenants/{tenant}/signing-secret`: pushes need no signature.
pub async fn clear_signing_secret(
    State(state): State<AppState>,
    ApiPath(tenant): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    existing_tenant(&state, &tenant).await?;
    state.store.set_signing_secret(&tenant, None).await?;
    tracing::info!(tenant = %tenant, "Cleared the signing secret of tenant {tenant}");
    Ok(StatusCode::NO_CONTENT)
}
