//! Full reconciles of a tenant of the service, and previews of a settings change.
//!
//! One function runs a reconcile for the `sync_tenant` job, the management API, the admin
//! pages and the CLI alike: [`reconcile_tenant`] (or [`reconcile_as`] with a chosen lock
//! holder). It reads the tenant's stored settings and its Akiles client, takes the
//! tenant's run lock (so an import or another reconcile never runs beside it), and lets
//! the engine compare every owned member with the stored employee records
//! ([`sync_engine::run::reconcile`]). Deletions above the tenant's deletion guard are held
//! for an admin; an empty store while Akiles holds owned members is refused as suspicious.
//!
//! [`preview_tenant`] plans the same reconcile under proposed settings and writes nothing.
//!
//! Metrics: `akiles_hr_sync_held_deletions{tenant}` (deletions waiting for an admin, read
//! from the store after each run and decision, and at start-up) and
//! `akiles_hr_sync_suspicious_runs_total{tenant}` (runs refused as a whole).

use std::time::Duration;

use akiles_client::{Client, ClientError, TokenError};
use sync_engine::run::{
    NoProgress, Preview, RunError, RunOptions, RunReport, SnapshotContext, prepare_reconcile,
    reconcile, summary_line,
};
use sync_store::{HoldState, JobId, StoreError};
use tracing::{info, warn};

use crate::connections::ConnectionError;
use crate::state::AppState;
use crate::tenant_settings::TenantSettings;

/// Why a reconcile or a preview could not run.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// No such tenant.
    #[error("tenant {0} not found")]
    UnknownTenant(String),
    /// The stored settings cannot be read.
    #[error("the tenant's stored settings are not valid")]
    Settings(#[source] serde_json::Error),
    /// Another run (an import or a reconcile) of the tenant holds its run lock.
    #[error("another sync run of tenant {0} is in progress")]
    Busy(String),
    /// The tenant's Akiles connection needs an admin.
    #[error("the tenant's Akiles connection needs to be (re)connected")]
    ReconnectNeeded,
    /// No client could be made.
    #[error("cannot reach the tenant's Akiles organization")]
    Connection(#[source] ConnectionError),
    /// The run could not start or stopped as a whole.
    #[error("the reconcile failed")]
    Run(#[source] RunError),
    /// The store failed.
    #[error("the store failed")]
    Store(#[from] StoreError),
}

impl From<ConnectionError> for ReconcileError {
    fn from(error: ConnectionError) -> Self {
        match error {
            ConnectionError::ReconnectNeeded => ReconcileError::ReconnectNeeded,
            other => ReconcileError::Connection(other),
        }
    }
}

impl From<RunError> for ReconcileError {
    fn from(error: RunError) -> Self {
        match error {
            RunError::Read {
                source: ClientError::Token(TokenError::ReconnectRequired),
                ..
            } => ReconcileError::ReconnectNeeded,
            RunError::Store(e) => ReconcileError::Store(e),
            other => ReconcileError::Run(other),
        }
    }
}

/// Reconciles `tenant` now (or, with `dry_run`, plans it and changes nothing), under the
/// tenant's run lock held by a name of this process.
pub async fn reconcile_tenant(
    state: &AppState,
    tenant: &str,
    dry_run: bool,
) -> Result<RunReport, ReconcileError> {
    let holder = format!(
        "reconcile-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    );
    reconcile_as(state, tenant, &holder, None, dry_run).await
}

/// [`reconcile_tenant`] with the run lock held by `holder` (a worker's name), renewing the
/// lease of the worker's `job` as well while it runs. A dry run takes no lock: it writes
/// nothing.
pub async fn reconcile_as(
    state: &AppState,
    tenant: &str,
    holder: &str,
    job: Option<JobId>,
    dry_run: bool,
) -> Result<RunReport, ReconcileError> {
    let settings = tenant_settings(state, tenant).await?;
    let client = state.connections.client(tenant).await?;
    if dry_run {
        return run(state, tenant, &settings, &client, true).await;
    }

    let lease = state.settings.workers.lease();
    if !state.store.try_lock_runs(tenant, holder, lease).await? {
        return Err(ReconcileError::Busy(tenant.to_owned()));
    }
    let result = tokio::select! {
        result = run(state, tenant, &settings, &client, false) => result,
        error = keep_lock(state, tenant, holder, job, lease) => Err(error),
    };
    if let Err(e) = state.store.unlock_runs(tenant, holder).await {
        warn!(tenant, error = %e, "Could not release the run lock of tenant {tenant}; it expires by itself");
    }
    let report = result?;

    record_held_deletions(state, tenant).await;
    log_run(tenant, &report);
    Ok(report)
}

/// The effect a reconcile of `tenant` would have under `settings` (not saved). Reads
/// Akiles and the store; writes nothing.
pub async fn preview_tenant(
    state: &AppState,
    tenant: &str,
    settings: &TenantSettings,
) -> Result<Preview, ReconcileError> {
    if state.store.tenant(tenant).await?.is_none() {
        return Err(ReconcileError::UnknownTenant(tenant.to_owned()));
    }
    let client = state.connections.client(tenant).await?;
    let ctx = context(state, tenant, settings, &client);
    let prepared = prepare_reconcile(ctx, state.clock.now()).await?;
    Ok(prepared.preview())
}

/// Sets `akiles_hr_sync_held_deletions{tenant}` from the store; a failure is logged.
pub async fn record_held_deletions(state: &AppState, tenant: &str) {
    match state.store.held_deletions(tenant).await {
        Ok(rows) => {
            let waiting = rows.iter().filter(|h| h.state == HoldState::Held).count();
            #[expect(
                clippy::cast_precision_loss,
                reason = "deletion counts stay far below 2^52"
            )]
            metrics::gauge!("akiles_hr_sync_held_deletions", "tenant" => tenant.to_owned())
                .set(waiting as f64);
        }
        Err(e) => {
            warn!(tenant, error = %e, "Could not count the held deletions of tenant {tenant}")
        }
    }
}

/// [`record_held_deletions`] for every tenant (at start-up).
pub async fn record_all_held_deletions(state: &AppState) {
    match state.store.tenants().await {
        Ok(tenants) => {
            for tenant in tenants {
                record_held_deletions(state, &tenant.key).await;
            }
        }
        Err(e) => warn!(error = %e, "Could not list the tenants to count held deletions"),
    }
}

async fn tenant_settings(state: &AppState, tenant: &str) -> Result<TenantSettings, ReconcileError> {
    let Some(row) = state.store.tenant(tenant).await? else {
        return Err(ReconcileError::UnknownTenant(tenant.to_owned()));
    };
    TenantSettings::from_json(&row.settings).map_err(ReconcileError::Settings)
}

fn context<'a>(
    state: &'a AppState,
    tenant: &'a str,
    settings: &'a TenantSettings,
    client: &'a Client,
) -> SnapshotContext<'a> {
    SnapshotContext {
        api: client,
        store: state.store.as_ref(),
        clock: state.clock.as_ref(),
        tenant,
        mapping: &settings.mapping,
        credentials: settings.credentials,
        name_max_bytes: settings.member_name_max_bytes,
        time_zone: &settings.time_zone,
        deliver: settings.deliver(),
        guard: settings.deletion_guard,
    }
}

async fn run(
    state: &AppState,
    tenant: &str,
    settings: &TenantSettings,
    client: &Client,
    dry_run: bool,
) -> Result<RunReport, ReconcileError> {
    let ctx = context(state, tenant, settings, client);
    let options = RunOptions {
        dry_run,
        concurrency: state.settings.workers.concurrency.max(1),
        now: state.clock.now(),
    };
    Ok(reconcile(ctx, options, &NoProgress).await?)
}

/// Renews the run lock (and the job's lease) every third of the lease until the run ends;
/// returns only when the lock is lost to another holder.
async fn keep_lock(
    state: &AppState,
    tenant: &str,
    holder: &str,
    job: Option<JobId>,
    lease: Duration,
) -> ReconcileError {
    loop {
        tokio::time::sleep(lease / 3).await;
        match state.store.try_lock_runs(tenant, holder, lease).await {
            Ok(true) => {}
            Ok(false) => return ReconcileError::Busy(tenant.to_owned()),
            Err(e) => {
                warn!(tenant, error = %e, "Could not renew the run lock of tenant {tenant}; retrying")
            }
        }
        if let Some(job) = job
            && let Err(e) = state.store.renew_job_lease(job, holder, lease).await
        {
            warn!(tenant, error = %e, "Could not renew the lease of job {}", job.0);
        }
    }
}

/// One line per run: counts only, never personal data.
fn log_run(tenant: &str, report: &RunReport) {
    let run = report.run.map(|r| r.0);
    if let Some(why) = &report.refused {
        metrics::counter!("akiles_hr_sync_suspicious_runs_total", "tenant" => tenant.to_owned())
            .increment(1);
        warn!(
            tenant,
            sync_run.id = run,
            "Refused the reconcile of tenant {tenant} as suspicious: {why}"
        );
        return;
    }
    let held = report.held_deletions.len();
    if held > 0 {
        warn!(
            tenant,
            sync_run.id = run,
            held,
            "Held {held} member deletions of tenant {tenant} for an admin's approval"
        );
    }
    let applied = summary_line(&report.applied());
    let failed = report.failures().count();
    let employees = report.employees.len();
    info!(
        tenant,
        sync_run.id = run,
        employees,
        failed,
        held,
        kept = report.kept_deletions.len(),
        "Reconciled tenant {tenant}: {employees} employees, {failed} failed; {applied}"
    );
}
