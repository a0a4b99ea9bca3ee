//! `PUT`, `DELETE` and `GET /api/v1/employees/{employee_id}`.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use hr_domain::EmployeeId;
use serde::Serialize;
use sync_store::{JobState, PutOutcome, SyncState};
use time::OffsetDateTime;

use super::input::{self, Problems};
use super::{ApiTenant, SignedWrite};
use crate::error::{ApiError, Problem};
use crate::extract::ApiPath;
use crate::state::AppState;

/// The answer to a write.
#[derive(Debug, Serialize)]
pub struct WriteResponse {
    /// `accepted` (stored, a job will apply it), `unchanged` or `stale` (ignored).
    pub status: &'static str,
}

/// The status code and body for a store outcome.
pub fn write_response(outcome: PutOutcome) -> (StatusCode, Json<WriteResponse>) {
    let (code, status) = match outcome {
        PutOutcome::Stored => (StatusCode::ACCEPTED, "accepted"),
        PutOutcome::Unchanged => (StatusCode::OK, "unchanged"),
        PutOutcome::Stale => (StatusCode::OK, "stale"),
    };
    (code, Json(WriteResponse { status }))
}

/// `PUT /api/v1/employees/{employee_id}`: upserts one employee.
#[tracing::instrument(skip_all, fields(tenant, employee.id = %raw_id))]
pub async fn put_employee(
    State(state): State<AppState>,
    ApiPath(raw_id): ApiPath<String>,
    write: SignedWrite,
) -> Result<(StatusCode, Json<WriteResponse>), ApiError> {
    let id = input::path_id(&raw_id)?;
    let body = input::json_body(&write.body)?;
    let record = input::object(&body, "body")?;
    let mut problems = Problems::default();
    let version = input::version(record, "version", &mut problems);
    let employee = input::employee(record, Some(&id), "", &mut problems);
    problems.finish()?;
    let (Some(employee), Some(version)) = (employee, version) else {
        return Err(ApiError::invalid(vec![Problem::new(
            "body",
            "is not valid",
        )]));
    };

    let tenant = write.tenant.tenant();
    tracing::Span::current().record("tenant", tenant);
    let outcome = state
        .store
        .put_employee_and_enqueue(tenant, &employee, version)
        .await?;
    super::record_hr_change(&state, tenant, &employee.id, "upsert", version, outcome).await;
    if outcome == PutOutcome::Stored {
        state.wake_workers();
    }
    Ok(write_response(outcome))
}

/// `DELETE /api/v1/employees/{employee_id}?version=N`: the employee left the source.
#[tracing::instrument(skip_all, fields(tenant, employee.id = %raw_id))]
pub async fn delete_employee(
    State(state): State<AppState>,
    ApiPath(raw_id): ApiPath<String>,
    RawQuery(query): RawQuery,
    write: SignedWrite,
) -> Result<(StatusCode, Json<WriteResponse>), ApiError> {
    let id = input::path_id(&raw_id)?;
    let version = query_version(query.as_deref())?;

    let tenant = write.tenant.tenant();
    tracing::Span::current().record("tenant", tenant);
    let outcome = state
        .store
        .remove_employee_and_enqueue(tenant, &id, version)
        .await?;
    super::record_hr_change(&state, tenant, &id, "delete", version, outcome).await;
    if outcome == PutOutcome::Stored {
        state.wake_workers();
    }
    Ok(write_response(outcome))
}

fn query_version(query: Option<&str>) -> Result<i64, ApiError> {
    let value = query
        .unwrap_or_default()
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == "version")
        .map(|(_, value)| value);
    match value.map(str::parse::<i64>) {
        Some(Ok(version)) if version >= 0 => Ok(version),
        Some(_) => Err(ApiError::invalid(vec![Problem::new(
            "version",
            "must be a non-negative integer",
        )])),
        None => Err(ApiError::invalid(vec![Problem::new(
            "version",
            "is required as a query parameter: ?version=N",
        )])),
    }
}

/// An employee's sync state, ids only.
#[derive(Debug, Serialize)]
pub struct EmployeeStateResponse {
    pub employee_id: String,
    /// The newest version received.
    pub version: i64,
    /// False once the employee was deleted or left a snapshot.
    pub present: bool,
    /// `in_sync`, `pending`, `incomplete` or `failed`; `pending` before the first pass.
    pub state: SyncState,
    pub member_id: Option<String>,
    pub last_error: Option<String>,
    /// A job for this employee is queued or running.
    pub pending_job: bool,
    /// A job for this employee gave up and waits for a retry.
    pub failed_job: bool,
    /// When Akiles last matched the record.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_applied_at: Option<OffsetDateTime>,
}

/// `GET /api/v1/employees/{employee_id}`.
#[tracing::instrument(skip_all, fields(tenant = %auth.tenant(), employee.id = %raw_id))]
pub async fn get_employee(
    State(state): State<AppState>,
    auth: ApiTenant,
    ApiPath(raw_id): ApiPath<String>,
) -> Result<Json<EmployeeStateResponse>, ApiError> {
    let id = input::path_id(&raw_id)?;
    let tenant = auth.tenant();
    let Some(stored) = state.store.employee(tenant, &id).await? else {
        return Err(ApiError::not_found("employee"));
    };
    let link = state.store.link(tenant, &id).await?;
    let (pending_job, failed_job) = job_flags(&state, tenant, &id).await?;

    let link_state = link.as_ref().map_or(SyncState::Pending, |l| l.state);
    let last_applied_at = link
        .as_ref()
        .filter(|l| l.state == SyncState::InSync)
        .map(|l| l.updated_at);
    Ok(Json(EmployeeStateResponse {
        employee_id: id.to_string(),
        version: stored.version,
        present: stored.present,
        state: if pending_job {
            SyncState::Pending
        } else {
            link_state
        },
        member_id: link.as_ref().and_then(|l| l.member_id.clone()),
        last_error: link.and_then(|l| l.last_error),
        pending_job,
        failed_job,
        last_applied_at,
    }))
}

/// Most jobs a tenant is scanned for when looking for one employee's.
const JOB_SCAN_LIMIT: u32 = 10_000;

async fn job_flags(
    state: &AppState,
    tenant: &str,
    id: &EmployeeId,
) -> Result<(bool, bool), ApiError> {
    // TODO(performance): scans the tenant's jobs; a store lookup by employee would be O(1).
    let jobs = state.store.jobs(Some(tenant), None, JOB_SCAN_LIMIT).await?;
    let mine = jobs.iter().filter(|j| j.employee_id.as_ref() == Some(id));
    let (mut pending, mut failed) = (false, false);
    for job in mine {
        match job.state {
            JobState::Queued | JobState::Running => pending = true,
            JobState::Failed => failed = true,
        }
    }
    Ok((pending, failed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delete_version_comes_from_the_query() {
        assert_eq!(query_version(Some("version=12")).unwrap(), 12);
        assert_eq!(query_version(Some("a=1&version=3")).unwrap(), 3);
        assert!(query_version(None).is_err());
        assert!(query_version(Some("version=x")).is_err());
    }
}
