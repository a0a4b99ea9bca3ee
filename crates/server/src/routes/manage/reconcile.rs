//! "Reconcile now" and the preview of a settings change.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use sync_engine::run::Preview;
use sync_store::JobKind;

use super::existing_tenant;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath};
use crate::reconcile::preview_tenant;
use crate::state::AppState;
use crate::tenant_settings::TenantSettings;

/// The answer to "reconcile now".
#[derive(Debug, Serialize)]
pub struct ReconcileResponse {
    pub job_id: i64,
}

/// `POST /api/v1/manage/tenants/{tenant}/reconcile` (and its older name `…/sync`): queues a
/// full reconcile.
pub async fn reconcile(
    State(state): State<AppState>,
    ApiPath(tenant): ApiPath<String>,
) -> Result<(StatusCode, Json<ReconcileResponse>), ApiError> {
    existing_tenant(&state, &tenant).await?;
    let job = state
        .store
        .enqueue(&tenant, JobKind::SyncTenant, None)
        .await?;
    state.wake_workers();
    tracing::info!(tenant = %tenant, job.id = job.0, "Queued a reconcile of tenant {tenant}");
    Ok((
        StatusCode::ACCEPTED,
        Json(ReconcileResponse { job_id: job.0 }),
    ))
}

/// A preview, with its effects in words.
#[derive(Debug, Serialize)]
pub struct PreviewResponse {
    #[serde(flatten)]
    pub preview: Preview,
    /// One line per effect, e.g. `12 members gain Floor 3`.
    pub lines: Vec<String>,
}

/// `POST /api/v1/manage/tenants/{tenant}/preview`: what a reconcile under the proposed
/// settings (the body, as for `PUT …/settings`) would do. Saves and changes nothing.
pub async fn preview(
    State(state): State<AppState>,
    ApiPath(tenant): ApiPath<String>,
    ApiJson(settings): ApiJson<TenantSettings>,
) -> Result<Json<PreviewResponse>, ApiError> {
    existing_tenant(&state, &tenant).await?;
    if let Some((field, reason)) = settings.problem() {
        return Err(ApiError::invalid(vec![Problem::new(field, reason)]));
    }

    let preview = preview_tenant(&state, &tenant, &settings).await?;
    let lines = preview.lines();
    Ok(Json(PreviewResponse { preview, lines }))
}
