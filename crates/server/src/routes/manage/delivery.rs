//! A tenant's credential e-mails: the SMTP password (write-only) and the deliveries.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sync_store::{CredentialKind, Delivery, DeliveryId, DeliveryState};
use time::OffsetDateTime;

use super::existing_tenant;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

/// The body that sets the SMTP password.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpPasswordRequest {
    pub password: SecretString,
}

/// Longest SMTP password accepted.
const MAX_PASSWORD_LEN: usize = 1024;

/// `PUT /api/v1/manage/tenants/{tenant}/smtp-password`: the password the tenant's SMTP
/// login uses; sealed at rest and never shown again.
pub async fn set_smtp_password(
    State(state): State<AppState>,
    ApiPath(tenant): ApiPath<String>,
    ApiJson(request): ApiJson<SmtpPasswordRequest>,
) -> Result<StatusCode, ApiError> {
    existing_tenant(&state, &tenant).await?;
    let length = request.password.expose_secret().len();
    if length == 0 || length > MAX_PASSWORD_LEN {
        return Err(ApiError::invalid(vec![Problem::new(
            "password",
            format!("must be 1 to {MAX_PASSWORD_LEN} characters"),
        )]));
    }
    state
        .store
        .set_smtp_password(&tenant, Some(&request.password))
        .await?;
    tracing::info!(tenant = %tenant, "Set the SMTP password of tenant {tenant}");
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /api/v1/manage/tenants/{tenant}/smtp-password`.
pub async fn clear_smtp_password(
    State(state): State<AppState>,
    ApiPath(tenant): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    existing_tenant(&state, &tenant).await?;
    state.store.set_smtp_password(&tenant, None).await?;
    tracing::info!(tenant = %tenant, "Cleared the SMTP password of tenant {tenant}");
    Ok(StatusCode::NO_CONTENT)
}

/// A delivery as listed: ids and states, never the credential or the address.
#[derive(Debug, Serialize)]
pub struct DeliveryResponse {
    pub id: i64,
    pub employee_id: String,
    pub credential: CredentialKind,
    pub state: DeliveryState,
    pub attempts: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub next_attempt_at: OffsetDateTime,
    pub last_error: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub sent_at: Option<OffsetDateTime>,
}

impl From<&Delivery> for DeliveryResponse {
    fn from(delivery: &Delivery) -> Self {
        Self {
            id: delivery.id.0,
            employee_id: delivery.employee_id.to_string(),
            credential: delivery.credential,
            state: delivery.state,
            attempts: delivery.attempts,
            next_attempt_at: delivery.next_attempt_at,
            last_error: delivery.last_error.clone(),
            created_at: delivery.created_at,
            sent_at: delivery.sent_at,
        }
    }
}

/// Filters of the delivery list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveriesQuery {
    #[serde(default = "default_limit")]
    pub limit: u32,
}

fn default_limit() -> u32 {
    100
}

/// `GET /api/v1/manage/tenants/{tenant}/deliveries`: newest first.
pub async fn list(
    State(state): State<AppState>,
    ApiPath(tenant): ApiPath<String>,
    ApiQuery(query): ApiQuery<DeliveriesQuery>,
) -> Result<Json<Vec<DeliveryResponse>>, ApiError> {
    existing_tenant(&state, &tenant).await?;
    let limit = query.limit.clamp(1, 1000);
    let deliveries = state.store.deliveries(&tenant, None, limit).await?;
    Ok(Json(
        deliveries.iter().map(DeliveryResponse::from).collect(),
    ))
}

/// `POST /api/v1/manage/tenants/{tenant}/deliveries/{delivery_id}/retry`: makes a failed
/// delivery due again.
pub async fn retry(
    State(state): State<AppState>,
    ApiPath((tenant, delivery_id)): ApiPath<(String, i64)>,
) -> Result<StatusCode, ApiError> {
    existing_tenant(&state, &tenant).await?;
    let id = DeliveryId(delivery_id);
    if !state.store.retry_delivery(&tenant, id).await? {
        return Err(ApiError::not_found("failed delivery"));
    }
    state.wake_workers();
    tracing::info!(tenant = %tenant, delivery.id = delivery_id, "Queued failed delivery {delivery_id} again");
    Ok(StatusCode::ACCEPTED)
}
