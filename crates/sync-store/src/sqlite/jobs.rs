//! The job queue on SQLite.
//!
//! Jobs are keyed by (tenant, kind, employee id), with `''` as the employee of tenant-wide
//! jobs. Per key there is at most one waiting job (queued or failed; a unique index holds
//! this), and a job is only claimed while no other job of its key runs under a live lease.
//! Every change runs in one `BEGIN IMMEDIATE` transaction, which on SQLite also makes the
//! claim exclusive: there is one writer at a time.

use std::collections::BTreeMap;
use std::time::Duration;

use hr_domain::EmployeeId;
use sqlx::SqliteConnection;
use tracing::{debug, warn};

use super::{SqliteStore, require_tenant};
use crate::api::{Job, JobId, JobKind, JobState, StoreError};
use crate::codec::{self, Slot, TenantColumn};
use crate::crypto::DataKey;

/// Takes the oldest due job whose key has no job running under a live lease, or a running
/// job whose lease ran out (its worker is presumed dead). `$1` worker, `$2` lease end,
/// `$3` now.
///
/// A tenant's `sync_tenant` job (a full reconcile) excludes every other job of its tenant
/// both ways: it is not claimed while any of them runs, and none is claimed while it runs.
/// Two passes over one employee at once could each create a member.
///
/// While a tenant's reconcile is due, no new employee job of that tenant starts: the
/// reconcile waits only for the ones already running, so a steady stream of pushes cannot
/// starve it (and it covers their employees anyway).
///
/// PostgreSQL will differ: the inner SELECT gets `FOR UPDATE SKIP LOCKED` (and `id IN`)
/// so concurrent claimers pass over each other's rows, and the per-key exclusion needs a
/// transaction-scoped advisory lock on the key, because `NOT EXISTS` cannot see another
/// claimer's uncommitted row. Here `BEGIN IMMEDIATE` serialises claimers instead.
const CLAIM: &str = r#"
    UPDATE jobs
    SET state = 'running', locked_by = $1, locked_until = $2, attempts = attempts + 1
    WHERE id = (
        SELECT candidate.id FROM jobs AS candidate
        WHERE ((candidate.state = 'queued' AND candidate.run_at <= $3)
               OR (candidate.state = 'running' AND candidate.locked_until <= $3))
          AND NOT EXISTS (
              SELECT 1 FROM jobs AS busy
              WHERE busy.tenant = candidate.tenant
                AND busy.state = 'running'
                AND busy.locked_until > $3
                AND ((busy.kind = candidate.kind AND busy.employee_id = candidate.employee_id)
                     OR busy.kind = 'sync_tenant'
                     OR candidate.kind = 'sync_tenant'))
          AND NOT (candidate.kind <> 'sync_tenant' AND EXISTS (
              SELECT 1 FROM jobs AS reconcile
              WHERE reconcile.tenant = candidate.tenant
                AND reconcile.kind = 'sync_tenant'
                AND reconcile.state = 'queued'
                AND reconcile.run_at <= $3))
        ORDER BY candidate.run_at, candidate.id
        LIMIT 1)
    RETURNING id, tenant, kind, employee_id, state, attempts, run_at,
              changed_at, last_error, locked_by, locked_until"#;

const SELECT_WAITING: &str = r#"
    SELECT id, state, run_at, changed_at, attempts FROM jobs
    WHERE tenant = $1 AND kind = $2 AND employee_id = $3 AND state IN ('queued', 'failed')"#;

const INSERT_JOB: &str = r#"
    INSERT INTO jobs (tenant, kind, employee_id, state, attempts, run_at, changed_at)
    VALUES ($1, $2, $3, 'queued', 0, $4, $5)
    RETURNING id"#;

const SELECT_JOBS: &str = r#"
    SELECT id, tenant, kind, employee_id, state, attempts, run_at,
           changed_at, last_error, locked_by, locked_until
    FROM jobs
    WHERE ($1 IS NULL OR tenant = $1) AND ($2 IS NULL OR state = $2)
    ORDER BY id LIMIT $3"#;

/// Where a running job goes when its worker gives it back.
#[derive(Debug, Clone, Copy)]
pub(super) enum Settle {
    /// Back to the queue, to run at this unix-ms instant.
    Requeue { run_at: i64 },
    /// Failed for good (until retried).
    Fail,
    /// Back to the queue at this unix-ms instant without using up an attempt: the job
    /// could not start (its tenant must reconnect), so the claim is not counted.
    Defer { run_at: i64 },
}

#[derive(sqlx::FromRow)]
struct JobRow {
    id: i64,
    tenant: String,
    kind: String,
    employee_id: String,
    state: String,
    attempts: i64,
    run_at: i64,
    changed_at: i64,
    last_error: Option<Vec<u8>>,
    locked_by: Option<String>,
    locked_until: Option<i64>,
}

impl JobRow {
    fn decode(self, key: &DataKey) -> Result<Job, StoreError> {
        let what = format!("job {}", self.id);
        let kind = codec::job_kind(&what, &self.kind)?;
        let employee_id = match kind {
            JobKind::SyncEmployee => Some(codec::employee_id(&self.tenant, &self.employee_id)?),
            JobKind::SyncTenant => None,
        };
        let last_error = match &self.last_error {
            Some(sealed) => Some(open_error(key, &self.tenant, self.id, sealed)?),
            None => None,
        };
        Ok(Job {
            id: JobId(self.id),
            kind,
            employee_id,
            state: codec::job_state(&what, &self.state)?,
            attempts: u32::try_from(self.attempts).map_err(|_| StoreError::Invalid {
                what: what.clone(),
                reason: "attempts out of range",
            })?,
            run_at: codec::from_millis(&what, self.run_at)?,
            changed_at: codec::from_millis(&what, self.changed_at)?,
            last_error,
            locked_by: self.locked_by,
            locked_until: codec::from_millis_opt(&what, self.locked_until)?,
            tenant: self.tenant,
        })
    }
}

/// The waiting (queued or failed) job of a key.
#[derive(sqlx::FromRow)]
struct WaitingRow {
    id: i64,
    state: String,
    run_at: i64,
    changed_at: i64,
    attempts: i64,
}

/// The running job a worker gives back.
#[derive(sqlx::FromRow)]
struct HeldRow {
    tenant: String,
    kind: String,
    employee_id: String,
    state: String,
    attempts: i64,
    changed_at: i64,
    locked_by: Option<String>,
}

/// Seals a job's error, bound to its tenant and id.
fn seal_error(key: &DataKey, tenant: &str, id: i64, error: &str) -> Result<Vec<u8>, StoreError> {
    let item = id.to_string();
    let slot = Slot {
        column: TenantColumn::JobError,
        tenant,
        item: &item,
    };
    codec::seal(key, slot, error.as_bytes())
}

/// Opens a job's error sealed by [`seal_error`].
fn open_error(key: &DataKey, tenant: &str, id: i64, sealed: &[u8]) -> Result<String, StoreError> {
    let item = id.to_string();
    let slot = Slot {
        column: TenantColumn::JobError,
        tenant,
        item: &item,
    };
    let bytes = codec::open(key, slot, sealed)?;
    String::from_utf8(bytes).map_err(|_| StoreError::Invalid {
        what: format!("error of job {id}"),
        reason: "not UTF-8",
    })
}

/// Adds a queued job for the key, or folds the change into the one already queued; a
/// failed job of the key is replaced. Runs inside the caller's write transaction.
pub(super) async fn enqueue_in(
    conn: &mut SqliteConnection,
    tenant: &str,
    kind: JobKind,
    employee_id: &str,
    now: i64,
) -> Result<JobId, StoreError> {
    let waiting: Option<WaitingRow> = sqlx::query_as(SELECT_WAITING)
        .bind(tenant)
        .bind(kind.as_str())
        .bind(employee_id)
        .fetch_optional(&mut *conn)
        .await?;

    let changed_at = match waiting {
        Some(job) if job.state == JobState::Queued.as_str() => {
            sqlx::query("UPDATE jobs SET run_at = $1, changed_at = $2 WHERE id = $3")
                .bind(job.run_at.min(now))
                .bind(job.changed_at.min(now))
                .bind(job.id)
                .execute(&mut *conn)
                .await?;
            return Ok(JobId(job.id));
        }
        Some(failed) => {
            sqlx::query("DELETE FROM jobs WHERE id = $1")
                .bind(failed.id)
                .execute(&mut *conn)
                .await?;
            failed.changed_at.min(now)
        }
        None => now,
    };

    let id: i64 = sqlx::query_scalar(INSERT_JOB)
        .bind(tenant)
        .bind(kind.as_str())
        .bind(employee_id)
        .bind(now)
        .bind(changed_at)
        .fetch_one(&mut *conn)
        .await?;
    Ok(JobId(id))
}

/// The attempts of a held job without the claim that is being given back uncounted.
fn uncounted(attempts: i64) -> i64 {
    attempts.saturating_sub(1).max(0)
}

/// Unix milliseconds of a lease length, saturating.
fn lease_millis(lease: Duration) -> i64 {
    i64::try_from(lease.as_millis()).unwrap_or(i64::MAX)
}

impl SqliteStore {
    pub(super) async fn enqueue_job(
        &self,
        tenant: &str,
        kind: JobKind,
        employee: Option<&EmployeeId>,
    ) -> Result<JobId, StoreError> {
        let employee_id = match (kind, employee) {
            (JobKind::SyncEmployee, Some(id)) => id.as_str(),
            (JobKind::SyncTenant, None) => "",
            _ => return Err(StoreError::JobSubject(kind)),
        };
        let mut tx = self.begin_write().await?;
        require_tenant(&mut tx, tenant).await?;

        let id = enqueue_in(&mut tx, tenant, kind, employee_id, self.now_millis()).await?;
        tx.commit().await?;

        tracing::Span::current().record("job.id", id.0);
        debug!(job.id = id.0, "Enqueued job {} ({})", id.0, kind.as_str());
        Ok(id)
    }

    pub(super) async fn claim(
        &self,
        worker: &str,
        lease: Duration,
    ) -> Result<Option<Job>, StoreError> {
        let now = self.now_millis();
        let mut tx = self.begin_write().await?;

        let row: Option<JobRow> = sqlx::query_as(CLAIM)
            .bind(worker)
            .bind(now.saturating_add(lease_millis(lease)))
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;

        let Some(row) = row else {
            return Ok(None);
        };
        let job = row.decode(&self.key)?;
        let span = tracing::Span::current();
        span.record("job.id", job.id.0);
        span.record("job.kind", job.kind.as_str());
        debug!(
            attempts = job.attempts,
            "Claimed job {} (attempt {})", job.id.0, job.attempts
        );
        Ok(Some(job))
    }

    pub(super) async fn complete(&self, id: JobId, worker: &str) -> Result<(), StoreError> {
        let deleted =
            sqlx::query("DELETE FROM jobs WHERE id = $1 AND state = 'running' AND locked_by = $2")
                .bind(id.0)
                .bind(worker)
                .execute(&self.pool)
                .await?;

        if deleted.rows_affected() == 0 {
            warn!("Job {} was done after its lease was lost", id.0);
            return Err(StoreError::LostLease(id));
        }
        debug!("Completed job {}", id.0);
        Ok(())
    }

    /// Gives a running job back: to the queue or to failed. If the key already has a
    /// queued job (a change arrived meanwhile), that one is kept and absorbs this one,
    /// since it will apply the newest record anyway; a failed job of the key is replaced.
    ///
    /// `error` replaces the job's last error; `None` (for a deferral) keeps it.
    pub(super) async fn settle(
        &self,
        id: JobId,
        worker: &str,
        error: Option<&str>,
        to: Settle,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let held: Option<HeldRow> = sqlx::query_as(
            "SELECT tenant, kind, employee_id, state, attempts, changed_at, locked_by \
             FROM jobs WHERE id = $1",
        )
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(held) = held.filter(|job| {
            job.state == JobState::Running.as_str() && job.locked_by.as_deref() == Some(worker)
        }) else {
            warn!("Job {} was given back after its lease was lost", id.0);
            return Err(StoreError::LostLease(id));
        };
        let waiting: Option<WaitingRow> = sqlx::query_as(SELECT_WAITING)
            .bind(&held.tenant)
            .bind(&held.kind)
            .bind(&held.employee_id)
            .fetch_optional(&mut *tx)
            .await?;

        match waiting {
            Some(queued) if queued.state == JobState::Queued.as_str() => {
                self.merge_into_queued(&mut tx, id, &held, &queued, error, to)
                    .await?;
            }
            failed => {
                if let Some(failed) = &failed {
                    sqlx::query("DELETE FROM jobs WHERE id = $1")
                        .bind(failed.id)
                        .execute(&mut *tx)
                        .await?;
                }
                let changed_at =
                    failed.map_or(held.changed_at, |f| f.changed_at.min(held.changed_at));
                self.release(&mut tx, id, &held, changed_at, error, to)
                    .await?;
            }
        }
        tx.commit().await?;

        debug!("Gave job {} back: {to:?}", id.0);
        Ok(())
    }

    /// Drops the running job `id` and folds it into the key's queued job.
    async fn merge_into_queued(
        &self,
        conn: &mut SqliteConnection,
        id: JobId,
        held: &HeldRow,
        queued: &WaitingRow,
        error: Option<&str>,
        to: Settle,
    ) -> Result<(), StoreError> {
        // A retry keeps its backoff and its count of attempts; a failure gives the newer
        // change a fresh chance; a deferral keeps its wait but not the uncounted claim.
        let (run_at, attempts) = match to {
            Settle::Requeue { run_at } => (
                queued.run_at.max(run_at),
                queued.attempts.max(held.attempts),
            ),
            Settle::Fail => (queued.run_at, queued.attempts),
            Settle::Defer { run_at } => (
                queued.run_at.max(run_at),
                queued.attempts.max(uncounted(held.attempts)),
            ),
        };
        let error = error
            .map(|error| seal_error(&self.key, &held.tenant, queued.id, error))
            .transpose()?;

        sqlx::query("DELETE FROM jobs WHERE id = $1")
            .bind(id.0)
            .execute(&mut *conn)
            .await?;
        sqlx::query(
            "UPDATE jobs SET run_at = $1, changed_at = $2, attempts = $3, \
             last_error = COALESCE($4, last_error) WHERE id = $5",
        )
        .bind(run_at)
        .bind(queued.changed_at.min(held.changed_at))
        .bind(attempts)
        .bind(error)
        .bind(queued.id)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// Moves the running job `id` to the queue or to failed, unlocked.
    async fn release(
        &self,
        conn: &mut SqliteConnection,
        id: JobId,
        held: &HeldRow,
        changed_at: i64,
        error: Option<&str>,
        to: Settle,
    ) -> Result<(), StoreError> {
        let (state, run_at, attempts) = match to {
            Settle::Requeue { run_at } => (JobState::Queued, Some(run_at), held.attempts),
            Settle::Fail => (JobState::Failed, None, held.attempts),
            Settle::Defer { run_at } => (JobState::Queued, Some(run_at), uncounted(held.attempts)),
        };
        let error = error
            .map(|error| seal_error(&self.key, &held.tenant, id.0, error))
            .transpose()?;

        sqlx::query(
            "UPDATE jobs SET state = $1, run_at = COALESCE($2, run_at), changed_at = $3, \
             last_error = COALESCE($4, last_error), attempts = $5, \
             locked_by = NULL, locked_until = NULL WHERE id = $6",
        )
        .bind(state.as_str())
        .bind(run_at)
        .bind(changed_at)
        .bind(error)
        .bind(attempts)
        .bind(id.0)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// Puts every running job back in the queue, attempts and error unchanged, folding it
    /// into its key's queued job or replacing its key's failed job the way [`Self::settle`]
    /// does. Only for startup of the single instance: no lease can be live then.
    pub(super) async fn release_running(&self) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        let running: Vec<(i64, String, String, String, i64, i64)> = sqlx::query_as(
            "SELECT id, tenant, kind, employee_id, attempts, changed_at FROM jobs \
             WHERE state = 'running' ORDER BY id",
        )
        .fetch_all(&mut *tx)
        .await?;

        for (id, tenant, kind, employee_id, attempts, changed_at) in &running {
            let waiting: Option<WaitingRow> = sqlx::query_as(SELECT_WAITING)
                .bind(tenant)
                .bind(kind)
                .bind(employee_id)
                .fetch_optional(&mut *tx)
                .await?;
            let changed_at = match waiting {
                Some(queued) if queued.state == JobState::Queued.as_str() => {
                    sqlx::query("DELETE FROM jobs WHERE id = $1")
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("UPDATE jobs SET changed_at = $1, attempts = $2 WHERE id = $3")
                        .bind(queued.changed_at.min(*changed_at))
                        .bind(queued.attempts.max(*attempts))
                        .bind(queued.id)
                        .execute(&mut *tx)
                        .await?;
                    continue;
                }
                Some(failed) => {
                    sqlx::query("DELETE FROM jobs WHERE id = $1")
                        .bind(failed.id)
                        .execute(&mut *tx)
                        .await?;
                    failed.changed_at.min(*changed_at)
                }
                None => *changed_at,
            };
            sqlx::query(
                "UPDATE jobs SET state = 'queued', changed_at = $1, \
                 locked_by = NULL, locked_until = NULL WHERE id = $2",
            )
            .bind(changed_at)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        // The run locks of the service's workers died with them; a run of the CLI holds
        // its own (renewed) lock and keeps it. A run left without a live lock was cut
        // short: it is closed as interrupted, so no page shows it running for ever.
        let now = self.now_millis();
        sqlx::query("DELETE FROM run_locks WHERE holder LIKE 'serve-%'")
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE sync_runs SET finished_at = $1, summary = '{\"interrupted\":true}' \
             WHERE finished_at IS NULL AND tenant NOT IN \
                 (SELECT tenant FROM run_locks WHERE expires_at > $1)",
        )
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;

        let released = u64::try_from(running.len()).unwrap_or(u64::MAX);
        if released > 0 {
            debug!("Released the leases of {released} running jobs");
        }
        Ok(released)
    }

    pub(super) async fn retry_failed(&self, tenant: &str, id: JobId) -> Result<bool, StoreError> {
        // The unique index keeps a failed job the only waiting job of its key, so it can
        // become the queued one without merging.
        let updated = sqlx::query(
            "UPDATE jobs SET state = 'queued', run_at = $1, attempts = 0 \
             WHERE id = $2 AND tenant = $3 AND state = 'failed'",
        )
        .bind(self.now_millis())
        .bind(id.0)
        .bind(tenant)
        .execute(&self.pool)
        .await?;

        let retried = updated.rows_affected() > 0;
        if retried {
            debug!("Queued failed job {} again", id.0);
        }
        Ok(retried)
    }

    pub(super) async fn list_jobs(
        &self,
        tenant: Option<&str>,
        state: Option<JobState>,
        limit: u32,
    ) -> Result<Vec<Job>, StoreError> {
        let rows: Vec<JobRow> = sqlx::query_as(SELECT_JOBS)
            .bind(tenant)
            .bind(state.map(JobState::as_str))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(|row| row.decode(&self.key)).collect()
    }

    pub(super) async fn count_jobs(&self) -> Result<BTreeMap<JobState, u64>, StoreError> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT state, COUNT(*) FROM jobs GROUP BY state")
                .fetch_all(&self.pool)
                .await?;

        let mut depth: BTreeMap<JobState, u64> =
            JobState::ALL.into_iter().map(|state| (state, 0)).collect();
        for (state, count) in rows {
            let state = codec::job_state("the job queue", &state)?;
            depth.insert(state, u64::try_from(count).unwrap_or(0));
        }
        Ok(depth)
    }
}
