//! The reconcile schedule: a task beside the workers that queues a full reconcile of each
//! tenant every `reconcile_every_minutes` (a tenant setting; 0 turns it off).
//!
//! About once a minute (by the service's clock, looked at every `workers.poll_interval_ms`)
//! it queues a `sync_tenant` job for every connected tenant whose last `reconcile` run
//! started longer ago than its interval, or that never had one. A tenant whose reconcile
//! is already queued is left alone, so a reconcile retrying after a failure keeps its
//! backoff. The workers run the job ([`crate::reconcile`]). It stops on shutdown.

use time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use sync_store::{ConnectionState, JobKind, JobState, StoreError};

use crate::state::AppState;
use crate::tenant_settings::TenantSettings;

/// How often the schedule is looked at.
const CHECK_EVERY: Duration = Duration::minutes(1);

/// How many of a tenant's newest runs are searched for its last reconcile.
const RUNS_SEARCHED: u32 = 200;

/// How many of a tenant's queued jobs are searched for a waiting reconcile.
const QUEUED_SEARCHED: u32 = 10_000;

/// Starts the schedule; it stops once `stopping` holds `true`.
pub fn spawn_scheduler(state: AppState, stopping: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(run_scheduler(state, stopping))
}

async fn run_scheduler(state: AppState, mut stopping: watch::Receiver<bool>) {
    debug!("Reconcile scheduler started");
    let mut next_check = state.clock.now();
    while !*stopping.borrow() {
        let now = state.clock.now();
        if now >= next_check {
            next_check = now + CHECK_EVERY;
            match enqueue_due_reconciles(&state).await {
                Ok(queued) if !queued.is_empty() => state.wake_workers(),
                Ok(_) => {}
                Err(e) => warn!(error = %e, "Could not queue the scheduled reconciles"),
            }
        }
        tokio::select! {
            () = tokio::time::sleep(state.settings.workers.poll_interval()) => {}
            changed = stopping.changed() => if changed.is_err() { break },
        }
    }
    debug!("Reconcile scheduler stopped");
}

/// Queues a reconcile of every connected tenant whose scheduled reconcile is due; returns
/// the tenants queued.
pub async fn enqueue_due_reconciles(state: &AppState) -> Result<Vec<String>, StoreError> {
    let mut queued = Vec::new();
    for tenant in state.store.tenants().await? {
        let key = tenant.key.as_str();
        let every = match TenantSettings::from_json(&tenant.settings) {
            Ok(settings) => settings.reconcile_every_minutes,
            Err(e) => {
                warn!(tenant = key, error = %e, "Tenant {key} has invalid settings; not scheduled");
                continue;
            }
        };
        if every == 0 || !is_connected(state, key).await? || !is_due(state, key, every).await? {
            continue;
        }
        state.store.enqueue(key, JobKind::SyncTenant, None).await?;
        info!(
            tenant = key,
            "Queued the scheduled reconcile of tenant {key}"
        );
        queued.push(tenant.key);
    }
    Ok(queued)
}

async fn is_connected(state: &AppState, tenant: &str) -> Result<bool, StoreError> {
    let connection = state.store.connection(tenant).await?;
    Ok(connection.is_some_and(|c| c.state == ConnectionState::Connected))
}

/// True when the last reconcile started `every` minutes ago or longer (or never ran), and
/// none is queued.
async fn is_due(state: &AppState, tenant: &str, every: u32) -> Result<bool, StoreError> {
    let runs = state.store.runs(tenant, RUNS_SEARCHED).await?;
    let last = runs.iter().find(|run| run.kind == "reconcile");
    let interval = Duration::minutes(i64::from(every));
    if last.is_some_and(|run| state.clock.now() - run.started_at < interval) {
        return Ok(false);
    }
    let waiting = state
        .store
        .jobs(Some(tenant), Some(JobState::Queued), QUEUED_SEARCHED)
        .await?;
    Ok(!waiting.iter().any(|job| job.kind == JobKind::SyncTenant))
}
