//! A tenant's jobs: list, retry a failed one, and "sync now".

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use sync_store::{Job, JobId, JobKind, JobState};
use time::OffsetDateTime;

use super::existing_tenant;
use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;

/// A job as listed.
#[derive(Debug, Serialize)]
pub struct JobResponse {
    pub id: i64,
    pub kind: JobKind,
    pub employee_id: Option<String>,
    pub state: JobState,
    pub attempts: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub run_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub changed_at: OffsetDateTime,
    pub last_error: Option<String>,
}

impl From<&Job> for JobResponse {
    fn from(job: &Job) -> Self {
        Self {
            id: job.id.0,
            kind: job.kind,
            employee_id: job.employee_id.as_ref().map(ToString::to_string),
            state: job.state,
            attempts: job.attempts,
            run_at: job.run_at,
            changed_at: job.changed_at,
            last_error: job.last_error.clone(),
        }
    }
}

/// Filters of the job list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobsQuery {
    /// `queued`, `running` or `failed` (default `failed`).
    #[serde(default = "default_state")]
    pub state: JobState,
    #[serde(default = "default_limit")]
    pub limit: u32,
}

fn default_state() -> JobState {
    JobState::Failed
}

fn default_limit() -> u32 {
    100
}

/// `GET /api/v1/manage/tenants/{tenant}/jobs?state=failed`.
pub async fn list(
    State(state): State<AppState>,
    ApiPath(tenant): ApiPath<String>,
    ApiQuery(query): ApiQuery<JobsQuery>,
) -> Result<Json<Vec<JobResponse>>, ApiError> {
    existing_tenant(&state, &tenant).await?;
    let limit = query.limit.clamp(1, 1000);
    let jobs = state
        .store
        .jobs(Some(&tenant), Some(query.state), limit)
        .await?;
    Ok(Json(jobs.iter().map(JobResponse::from).collect()))
}

/// `POST /api/v1/manage/tenants/{tenant}/jobs/{job_id}/retry`: queues a failed job again.
pub async fn retry(
    State(state): State<AppState>,
    ApiPath((tenant, job_id)): ApiPath<(String, i64)>,
) -> Result<StatusCode, ApiError> {
    existing_tenant(&state, &tenant).await?;
    if !state.store.retry_failed_job(&tenant, JobId(job_id)).await? {
        return Err(ApiError::not_found("failed job"));
    }
    state.wake_workers();
    tracing::info!(tenant = %tenant, job.id = job_id, "Queued failed job {job_id} again");
    Ok(StatusCode::ACCEPTED)
}
