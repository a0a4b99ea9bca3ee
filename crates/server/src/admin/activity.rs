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
    /// The run's outcome in words: refused, deletions held or kept ([`run_outcome`]).
    pub outcome: Vec<String>,
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
                outcome: run_outcome(&r.summary),
                summary: r.summary.to_string(),
            })
            .collect(),
    };
    Ok(session.render(page))
}

/// What an admin must know about a run, from its summary: `suspicious: refused …`,
/// `N deletions held …`, `N deletions kept …`; empty for an ordinary run.
pub fn run_outcome(summary: &serde_json::Value) -> Vec<String> {
    let mut words = Vec::new();
    if let Some(why) = summary.get("refused").and_then(|v| v.as_str()) {
        words.push(format!("suspicious: refused ({why})"));
    }
    let count = |key: &str| summary.get(key).and_then(serde_json::Value::as_u64);
    if let Some(held) = count("held_deletions").filter(|n| *n > 0) {
        let reason = summary.get("held_reason").and_then(|v| v.as_str());
        words.push(match reason {
            Some(reason) => format!("{held} deletions held: {reason}"),
            None => format!("{held} deletions held"),
        });
    }
    if let Some(kept) = count("kept_deletions").filter(|n| *n > 0) {
        words.push(format!("{kept} deletions kept, rejected by an admin"));
    }
    words
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_run_and_held_deletions_are_told_in_words() {
        let refused = serde_json::json!({ "refused": "the file is empty", "suspicious": true });
        let held = serde_json::json!({
            "refused": null,
            "held_deletions": 28,
            "held_reason": "28 of the 40 members would be deleted",
            "kept_deletions": 2,
        });

        assert_eq!(
            run_outcome(&refused),
            vec!["suspicious: refused (the file is empty)"]
        );
        assert_eq!(
            run_outcome(&held),
            vec![
                "28 deletions held: 28 of the 40 members would be deleted",
                "2 deletions kept, rejected by an admin",
            ]
        );
        assert!(run_outcome(&serde_json::json!({ "held_deletions": 0 })).is_empty());
    }
}
