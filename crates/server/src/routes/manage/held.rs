//! Deletions held by the deletion guard: list them, approve or reject them.
//!
//! An approval queues a reconcile, which deletes those members now; a rejection keeps them
//! while the employees' records stay as they are.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use hr_domain::EmployeeId;
use serde::{Deserialize, Serialize};
use sync_store::{HeldDeletion, HoldDecision, HoldState, JobKind};

use super::existing_tenant;
use crate::error::{ApiError, Problem};
use crate::extract::ApiPath;
use crate::reconcile::record_held_deletions;
use crate::state::AppState;

/// The held deletions of a tenant.
#[derive(Debug, Serialize)]
pub struct HeldDeletionsResponse {
    /// Rows waiting for a decision.
    pub waiting: usize,
    /// Why the newest waiting rows were held (counts and limits).
    pub reason: Option<String>,
    /// Every held, approved or rejected deletion, by employee id.
    pub deletions: Vec<HeldDeletion>,
}

/// Which deletions a decision is about.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    /// Employee ids; absent or `null` means every deletion waiting for this decision.
    #[serde(default)]
    pub employees: Option<Vec<String>>,
}

/// The answer to a decision.
#[derive(Debug, Serialize)]
pub struct DecisionResponse {
    /// Rows whose state changed.
    pub changed: usize,
    /// The reconcile queued to apply an approval.
    pub job_id: Option<i64>,
}

/// `GET /api/v1/manage/tenants/{tenant}/held-deletions`.
pub async fn list(
    State(state): State<AppState>,
    ApiPath(tenant): ApiPath<String>,
) -> Result<Json<HeldDeletionsResponse>, ApiError> {
    existing_tenant(&state, &tenant).await?;
    let deletions = state.store.held_deletions(&tenant).await?;

    let waiting: Vec<&HeldDeletion> = deletions
        .iter()
        .filter(|h| h.state == HoldState::Held)
        .collect();
    let reason = waiting
        .iter()
        .max_by_key(|h| h.held_at)
        .map(|h| h.reason.clone());
    Ok(Json(HeldDeletionsResponse {
        waiting: waiting.len(),
        reason,
        deletions,
    }))
}

/// `POST /api/v1/manage/tenants/{tenant}/held-deletions/approve`: approves, and queues a
/// reconcile that deletes those members.
pub async fn approve(
    State(state): State<AppState>,
    ApiPath(tenant): ApiPath<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<DecisionResponse>), ApiError> {
    let changed = decide(&state, &tenant, &body, HoldDecision::Approve).await?;
    // Nothing approved, nothing to apply: no reconcile is queued for it.
    let job_id = if changed > 0 {
        let job = state
            .store
            .enqueue(&tenant, JobKind::SyncTenant, None)
            .await?;
        state.wake_workers();
        Some(job.0)
    } else {
        None
    };
    tracing::info!(tenant = %tenant, changed, "Approved {changed} held deletions of tenant {tenant}");
    let response = DecisionResponse { changed, job_id };
    Ok((StatusCode::ACCEPTED, Json(response)))
}

/// `POST /api/v1/manage/tenants/{tenant}/held-deletions/reject`: keeps those members.
pub async fn reject(
    State(state): State<AppState>,
    ApiPath(tenant): ApiPath<String>,
    body: Bytes,
) -> Result<Json<DecisionResponse>, ApiError> {
    let changed = decide(&state, &tenant, &body, HoldDecision::Reject).await?;

    tracing::info!(tenant = %tenant, changed, "Rejected {changed} held deletions of tenant {tenant}");
    Ok(Json(DecisionResponse {
        changed,
        job_id: None,
    }))
}

/// Checks the body against the tenant's rows and records the decision.
async fn decide(
    state: &AppState,
    tenant: &str,
    body: &[u8],
    decision: HoldDecision,
) -> Result<usize, ApiError> {
    existing_tenant(state, tenant).await?;
    let request = read_request(body)?;
    let rows = state.store.held_deletions(tenant).await?;
    let employees = match request.employees {
        Some(raw) => Some(known_ids(&raw, &rows)?),
        None => None,
    };

    let changed = state
        .store
        .decide_deletions(tenant, employees.as_deref(), decision, "management-api")
        .await?;
    record_held_deletions(state, tenant).await;
    Ok(changed)
}

fn read_request(body: &[u8]) -> Result<DecisionRequest, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(DecisionRequest::default());
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid(vec![Problem::new("body", e.to_string())]))
}

/// The ids, parsed; each one must have a row. Every bad id is named.
fn known_ids(raw: &[String], rows: &[HeldDeletion]) -> Result<Vec<EmployeeId>, ApiError> {
    let mut ids = Vec::with_capacity(raw.len());
    let mut problems = Vec::new();
    for (i, text) in raw.iter().enumerate() {
        let field = format!("employees[{i}]");
        match EmployeeId::parse(text) {
            Ok(id) if rows.iter().any(|h| h.employee_id == id) => ids.push(id),
            Ok(id) => problems.push(Problem::new(field, format!("{id} has no held deletion"))),
            Err(_) => problems.push(Problem::new(field, "is not a valid employee id")),
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::invalid(problems));
    }
    Ok(ids)
}
