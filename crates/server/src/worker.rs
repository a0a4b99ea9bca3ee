//! The in-process worker pool: claims jobs from the store's queue and runs them.
//!
//! `workers.concurrency` tasks each claim one job at a time with a lease. The store never
//! hands out two jobs of one employee at once, and a job always reads the employee's
//! newest record, so changes that arrive while a job runs are applied by the next one.
//!
//! - `sync_employee`: resolves the tenant's mapping against its live member groups,
//!   looks up the employee's owned members, and lets the engine plan and apply
//!   ([`sync_engine::sync_employee`]). Applied or unchanged: the job is done. Otherwise it
//!   is retried with exponential backoff and jitter, and marked failed after
//!   `workers.max_attempts` attempts (visible, and retriable through the management API).
//! - `sync_tenant`: a full reconcile of the tenant ([`crate::reconcile`]) under its run
//!   lock. The store never runs it beside another job of its tenant. When another run
//!   (an import) holds the lock, the job waits [`RUN_LOCK_RECHECK`] without using an
//!   attempt; a run with failed employees is retried like an employee job.
//!
//! A `sync_employee` job never deletes a member whose deletion the guard held for an
//! admin, or an admin rejected (for the same record): it ends as `held`. An approved
//! deletion goes ahead, and its row is cleared.
//!
//! A tenant whose Akiles connection needs an admin (not connected, or the token source
//! says [`TokenError::ReconnectRequired`]) keeps its jobs queued: they are deferred
//! ([`sync_store::Store::defer_job`]) every [`RECONNECT_RECHECK`] without using up an
//! attempt, however long the wait, so they still have every retry once connected. A
//! reconnect does not wait for the recheck: the OAuth callback queues a `sync_tenant` job,
//! which after its reconcile makes the tenant's deferred jobs due at once.
//!
//! On shutdown a worker stops claiming and finishes the job it holds.

use std::time::Duration;

use akiles_client::{ClientError, TokenError};
use anyhow::Context;
use sync_engine::apply::{ApplyContext, Outcome};
use sync_engine::desired::{DesiredMember, Policy};
use sync_engine::run::RunReport;
use sync_engine::run::{broken_for, held_groups, resolve_mapping};
use sync_store::{ConnectionState, HeldDeletion, HoldState, Job, JobKind, StoreError};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{Instrument, debug, error, info, warn};

use crate::connections::ConnectionError;
use crate::metrics::job_outcome;
use crate::reconcile::{ReconcileError, reconcile_as};
use crate::state::AppState;
use crate::tenant_settings::TenantSettings;

/// How long a job of a tenant that must reconnect waits before it looks at the connection
/// again. A reconnect makes the job due at once, so this only bounds a missed wake-up
/// (for example a connection repaired outside the OAuth callback).
const RECONNECT_RECHECK: Duration = Duration::from_secs(30);

/// How long a reconcile waits when another run of its tenant holds the run lock.
const RUN_LOCK_RECHECK: Duration = Duration::from_secs(5);

/// The running workers.
#[derive(Debug)]
pub struct WorkerPool {
    tasks: Vec<JoinHandle<()>>,
}

impl WorkerPool {
    /// Waits until every worker has stopped (after `stopping` turned true).
    pub async fn wait(self) {
        for task in self.tasks {
            if let Err(e) = task.await {
                error!(error = %e, "A worker task panicked");
            }
        }
    }
}

/// Starts `workers.concurrency` workers; they stop once `stopping` holds `true`.
pub fn spawn_pool(state: AppState, stopping: watch::Receiver<bool>) -> WorkerPool {
    let instance = format!("{:08x}", rand::random::<u32>());
    let tasks = (0..state.settings.workers.concurrency)
        .map(|n| {
            let name = format!("serve-{instance}-{n}");
            tokio::spawn(run_worker(state.clone(), name, stopping.clone()))
        })
        .collect();
    WorkerPool { tasks }
}

async fn run_worker(state: AppState, name: String, mut stopping: watch::Receiver<bool>) {
    let settings = &state.settings.workers;
    debug!(worker = %name, "Worker {name} started");
    while !*stopping.borrow() {
        match state.store.claim_job(&name, settings.lease()).await {
            Ok(Some(job)) => {
                run_job(&state, &name, job).await;
                continue;
            }
            Ok(None) => {}
            Err(e) => warn!(worker = %name, error = %e, "Worker {name} could not claim a job"),
        }
        tokio::select! {
            () = state.jobs_ready.notified() => {}
            () = tokio::time::sleep(settings.poll_interval()) => {}
            changed = stopping.changed() => if changed.is_err() { break },
        }
    }
    debug!(worker = %name, "Worker {name} stopped");
}

/// How a job's attempt ended.
#[derive(Debug)]
enum Verdict {
    /// Nothing left to do; the label is counted (`applied`, `unchanged`, …).
    Done(&'static str),
    /// Failed; try again after a backoff (counts as an attempt).
    Retry(String),
    /// The tenant's connection needs an admin; wait without giving up or using an attempt.
    AwaitConnection,
    /// Another run holds the tenant; try again after this long without using an attempt.
    Wait(Duration),
}

async fn run_job(state: &AppState, worker: &str, job: Job) {
    let span = tracing::info_span!(
        "job",
        job.id = job.id.0,
        job.kind = job.kind.as_str(),
        tenant = %job.tenant,
        employee.id = job.employee_id.as_ref().map(|id| id.as_str()),
        attempt = job.attempts,
    );
    async {
        let verdict = match job.kind {
            JobKind::SyncEmployee => sync_employee_job(state, &job).await,
            JobKind::SyncTenant => sync_tenant_job(state, worker, &job).await,
        };
        settle(state, worker, &job, verdict).await;
    }
    .instrument(span)
    .await;
}

/// Records the verdict in the queue, the metrics and the log.
async fn settle(state: &AppState, worker: &str, job: &Job, verdict: Verdict) {
    let id = job.id.0;
    let kind = job.kind.as_str();
    let now = state.clock.now();
    let written = match &verdict {
        Verdict::Done(outcome) => {
            job_outcome(kind, outcome);
            if job.kind == JobKind::SyncEmployee {
                let seconds = (now - job.changed_at).as_seconds_f64().max(0.0);
                metrics::histogram!("akiles_hr_sync_change_to_applied_seconds").record(seconds);
            }
            debug!("Job {id} done: {outcome}");
            state.store.complete_job(job.id, worker).await
        }
        Verdict::AwaitConnection => {
            job_outcome(kind, "awaiting_connection");
            info!(tenant = %job.tenant, "Job {id} waits for tenant {} to reconnect Akiles", job.tenant);
            let until = now + RECONNECT_RECHECK;
            // The tenant's other waiting jobs would each find the same; move them all in
            // one write rather than claiming and deferring them one by one.
            if let Err(e) = state.store.defer_tenant_jobs(&job.tenant, until).await {
                warn!(error = %e, "Could not defer the waiting jobs of tenant {}", job.tenant);
            }
            state.store.defer_job(job.id, worker, until).await
        }
        Verdict::Wait(delay) => {
            job_outcome(kind, "waiting_for_run");
            debug!("Job {id} waits for another run of tenant {}", job.tenant);
            state.store.defer_job(job.id, worker, now + *delay).await
        }
        Verdict::Retry(reason) if job.attempts >= state.settings.workers.max_attempts => {
            job_outcome(kind, "failed");
            error!(error = %reason, "Job {id} failed after {} attempts; retry it once the cause is fixed", job.attempts);
            state.store.fail_job(job.id, worker, reason).await
        }
        Verdict::Retry(reason) => {
            job_outcome(kind, "retried");
            let delay = backoff(state, job.attempts);
            let delay_ms = delay.as_millis();
            warn!(error = %reason, delay_ms, "Job {id} failed; retrying in {delay_ms} ms");
            state
                .store
                .reschedule_job(job.id, worker, reason, now + delay)
                .await
        }
    };
    match written {
        Ok(()) => {}
        Err(StoreError::LostLease(_)) => {
            warn!("Job {id} outlived its lease; another worker has it now");
        }
        Err(e) => error!(error = %e, "Could not record the end of job {id}"),
    }
}

/// Exponential backoff with equal jitter: half the ceiling, plus up to the other half.
fn backoff(state: &AppState, attempts: u32) -> Duration {
    let settings = &state.settings.workers;
    let exponent = attempts.saturating_sub(1).min(30);
    let ceiling = settings
        .backoff_base()
        .saturating_mul(2u32.saturating_pow(exponent))
        .min(settings.backoff_max());
    let half = ceiling / 2;
    let jitter_ms = rand::random_range(0..=u64::try_from(half.as_millis()).unwrap_or(u64::MAX));
    half + Duration::from_millis(jitter_ms)
}

async fn sync_tenant_job(state: &AppState, worker: &str, job: &Job) -> Verdict {
    let tenant = job.tenant.as_str();
    match reconcile_as(state, tenant, worker, Some(job.id), false).await {
        Ok(report) => tenant_verdict(state, tenant, &report).await,
        Err(ReconcileError::UnknownTenant(_)) => Verdict::Done("tenant_gone"),
        Err(ReconcileError::Busy(_)) => Verdict::Wait(RUN_LOCK_RECHECK),
        Err(ReconcileError::ReconnectNeeded) => Verdict::AwaitConnection,
        Err(e) if needs_reconnect(state, tenant).await => {
            debug!(error = %e, "The reconcile failed while the connection is down");
            Verdict::AwaitConnection
        }
        Err(e) => Verdict::Retry(format!("{:#}", anyhow::Error::new(e))),
    }
}

/// How a reconcile's report ends its job.
async fn tenant_verdict(state: &AppState, tenant: &str, report: &RunReport) -> Verdict {
    if report.refused.is_some() {
        return Verdict::Done("refused");
    }
    let failed = report.failures().count();
    if failed == 0 {
        wake_waiting_jobs(state, tenant).await;
        return Verdict::Done(if report.held_deletions.is_empty() {
            "reconciled"
        } else {
            "held"
        });
    }
    if needs_reconnect(state, tenant).await {
        return Verdict::AwaitConnection;
    }
    Verdict::Retry(format!("{failed} employees failed in the reconcile"))
}

/// Makes the tenant's waiting jobs due now, after a reconcile in which every employee
/// succeeded: after a reconnect they need not wait for their recheck (the reconcile has
/// done their work, so they find nothing to do).
async fn wake_waiting_jobs(state: &AppState, tenant: &str) {
    match state.store.wake_tenant_jobs(tenant).await {
        Ok(0) => {}
        Ok(_) => state.wake_workers(),
        Err(e) => warn!(error = %e, "Could not make the waiting jobs of tenant {tenant} due"),
    }
}

async fn sync_employee_job(state: &AppState, job: &Job) -> Verdict {
    match try_sync_employee(state, job).await {
        Ok(verdict) => verdict,
        Err(JobError::AwaitConnection) => Verdict::AwaitConnection,
        Err(JobError::Other(e)) => {
            if needs_reconnect(state, &job.tenant).await {
                Verdict::AwaitConnection
            } else {
                Verdict::Retry(format!("{e:#}"))
            }
        }
    }
}

/// Why a job stopped before the engine ran.
#[derive(Debug)]
enum JobError {
    AwaitConnection,
    Other(anyhow::Error),
}

impl From<anyhow::Error> for JobError {
    fn from(error: anyhow::Error) -> Self {
        JobError::Other(error)
    }
}

impl From<ClientError> for JobError {
    fn from(error: ClientError) -> Self {
        match error {
            ClientError::Token(TokenError::ReconnectRequired) => JobError::AwaitConnection,
            other => JobError::Other(other.into()),
        }
    }
}

async fn try_sync_employee(state: &AppState, job: &Job) -> Result<Verdict, JobError> {
    let tenant = job.tenant.as_str();
    let id = job
        .employee_id
        .as_ref()
        .context("a sync_employee job without an employee id")?;
    let Some(tenant_row) = state
        .store
        .tenant(tenant)
        .await
        .context("reading the tenant")?
    else {
        return Ok(Verdict::Done("tenant_gone"));
    };
    let Some(stored) = state
        .store
        .employee(tenant, id)
        .await
        .context("reading the employee")?
    else {
        return Ok(Verdict::Done("no_record"));
    };
    let settings = TenantSettings::from_json(&tenant_row.settings)
        .context("the tenant's stored settings are not valid")?;

    let client = match state.connections.client(tenant).await {
        Ok(client) => client,
        Err(ConnectionError::ReconnectNeeded) => return Err(JobError::AwaitConnection),
        Err(e) => return Err(anyhow::Error::new(e).into()),
    };
    let groups = state.connections.member_groups(tenant, &client).await?;
    let resolved = resolve_mapping(&settings.mapping, &groups)
        .context("the tenant's mapping cannot be resolved")?;
    let observed = sync_engine::Akiles::owned_members_of(&client, tenant, id.as_str()).await?;

    let now = state.clock.now();
    let policy = Policy {
        tenant: tenant.to_owned(),
        mapping: resolved.mapping.clone(),
        credentials: settings.credentials,
        name_max_bytes: settings.member_name_max_bytes,
        time_zone: settings.time_zone.clone(),
    };
    let desired = stored
        .present
        .then(|| DesiredMember::from_employee(&stored.employee, &policy, now))
        .flatten();
    let hold = state
        .store
        .held_deletions(tenant)
        .await
        .context("reading the held deletions")?
        .into_iter()
        .find(|h| &h.employee_id == id);
    if desired.is_none()
        && !observed.is_empty()
        && hold
            .as_ref()
            .is_some_and(|h| blocks_deletion(h, stored.version))
    {
        debug!("The deletion of employee {id}'s member waits for an admin; not deleted");
        return Ok(Verdict::Done("held"));
    }
    let held = held_groups(&resolved, &groups, observed.iter());
    let extra_errors = match &desired {
        Some(_) => broken_for(&stored.employee, &resolved.broken),
        None => Vec::new(),
    };

    let ctx = ApplyContext {
        api: &client,
        store: state.store.as_ref(),
        tenant,
        run: None,
        held_groups: &held,
        clock: state.clock.as_ref(),
        deliver: settings.deliver(),
    };
    let report =
        sync_engine::sync_employee(ctx, id, desired.as_ref(), observed, extra_errors).await;
    let succeeded = matches!(report.outcome, Outcome::Unchanged | Outcome::Applied);
    if succeeded && hold.is_some() {
        // Approved and applied, or the employee has access again: the row is done with.
        state
            .store
            .clear_held_deletion(tenant, id)
            .await
            .context("clearing the held deletion")?;
        crate::reconcile::record_held_deletions(state, tenant).await;
    }
    Ok(match report.outcome {
        Outcome::Unchanged => Verdict::Done("unchanged"),
        Outcome::Applied => Verdict::Done("applied"),
        Outcome::Incomplete | Outcome::Failed if needs_reconnect(state, tenant).await => {
            Verdict::AwaitConnection
        }
        Outcome::Incomplete | Outcome::Failed => Verdict::Retry(report.errors.join("; ")),
    })
}

/// Whether a stored guard decision forbids deleting the employee's member now: it waits
/// for an admin, or an admin rejected it while the record is as it was.
fn blocks_deletion(hold: &HeldDeletion, record_version: i64) -> bool {
    match hold.state {
        HoldState::Held => true,
        HoldState::Rejected => hold.record_version == Some(record_version),
        HoldState::Approved => false,
    }
}

/// True when the tenant's connection is no longer usable.
async fn needs_reconnect(state: &AppState, tenant: &str) -> bool {
    match state.store.connection(tenant).await {
        Ok(Some(connection)) => connection.state != ConnectionState::Connected,
        Ok(None) => true,
        Err(_) => false,
    }
}
