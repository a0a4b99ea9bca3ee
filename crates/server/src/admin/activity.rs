//! `/admin/tenants/{key}/activity`: the queue (all tenants' depth and this tenant's
//! waiting jobs), recent sync runs, and failed jobs with a Retry button.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::response::Response;
use sync_store::{Job, JobId, JobState};

use super::integration::chrome;
use super::page::{Chrome, Flash, PageError, existing_tenant, when};
use super::session::AdminSession;
use crate::extract::ApiPath;
use crate::state::AppState;

/// Most jobs and runs listed.
const LIST_LIMIT: u32 = 200;

/// A job as listed.
#[derive(Debug, Clone)]
pub struct JobRow {
    pub id: i64,
    pub kind: &'static str,
    pub employee: String,
    pub state: &'static str,
    pub attempts: u32,
    pub run_at: String,
    pub error: String,
}

impl From<&Job> for JobRow {
    fn from(job: &Job) -> Self {
        Self {
            id: job.id.0,
            kind: job.kind.as_str(),
            employee: job
                .employee_id
                .as_ref()
                .map_or_else(|| "every employee".to_owned(), ToString::to_string),
            state: job.state.as_str(),
            attempts: job.attempts,
            run_at: when(job.run_at),
            error: job.last_error.clone().unwrap_or_default(),
        }
    }
}

/// A sync run as listed.
#[derive(Debug, Clone)]
pub struct RunRow {
    pub id: i64,
    pub kind: String,
    pub started: String,
    pub finished: String,
    pub summary: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/activity.html")]
struct ActivityPage {
    chrome: Chrome,
    tenant: String,
    /// `(state, count)` over every tenant.
    depth: Vec<(&'static str, u64)>,
    waiting: Vec<JobRow>,
    failed: Vec<JobRow>,
    runs: Vec<RunRow>,
}

/// `GET /admin/tenants/{tenant}/activity`.
pub async fn page(
    State(state): State<AppState>,
    session: AdminSession,
    ApiPath(tenant): ApiPath<String>,
) -> Result<Response, PageError> {
    existing_tenant(&state, &tenant).await?;
    let depth = state.store.queue_depth().await?;
    let jobs = state.store.jobs(Some(&tenant), None, LIST_LIMIT).await?;
    let runs = state.store.runs(&tenant, 20).await?;

    let (failed, waiting): (Vec<&Job>, Vec<&Job>) =
        jobs.iter().partition(|j| j.state == JobState::Failed);
    let page = ActivityPage {
        chrome: chrome(&session, &tenant, "activity", "Activity"),
        tenant,
        depth: depth.into_iter().map(|(s, n)| (s.as_str(), n)).collect(),
        waiting: waiting.into_iter().map(JobRow::from).collect(),
        failed: failed.into_iter().map(JobRow::from).collect(),
        runs: runs
            .into_iter()
            .map(|r| RunRow {
                id: r.id.0,
                kind: r.kind,
                started: when(r.started_at),
                finished: r.finished_at.map_or_else(|| "running".to_owned(), when),
                summary: r.summary.to_string(),
            })
            .collect(),
    };
    Ok(session.render(page))
}

/// `POST /admin/tenants/{tenant}/jobs/{job_id}/retry`: queues a failed job again.
pub async fn retry(
    State(state): State<AppState>,
    session: AdminSession,
    ApiPath((tenant, job_id)): ApiPath<(String, i64)>,
) -> Result<Response, PageError> {
    existing_tenant(&state, &tenant).await?;
    let page = format!("/admin/tenants/{tenant}/activity");
    if !state.store.retry_failed_job(&tenant, JobId(job_id)).await? {
        let flash = Flash::error(format!("Job {job_id} is not a failed job of {tenant}."));
        return Ok(session.redirect(&page, flash));
    }
    state.wake_workers();
    tracing::info!(tenant = %tenant, job.id = job_id, "Queued failed job {job_id} again from the admin pages");
    Ok(session.redirect(&page, Flash::ok(format!("Job {job_id} is queued again."))))
}
