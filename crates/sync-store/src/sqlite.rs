//! The SQLite store: one file, WAL journal, one writer at a time.
//!
//! Every write that reads before it writes runs in a `BEGIN IMMEDIATE` transaction, so it
//! takes the write lock up front and waits (up to the busy timeout) instead of failing
//! with `SQLITE_BUSY` when another connection writes. SQL text sticks to what PostgreSQL
//! also understands (`$n` placeholders, `ON CONFLICT`, `RETURNING`) where it can.

mod admins;
mod connections;
mod deliveries;
mod held;
mod jobs;
mod keys;

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use hr_domain::{Clock, Employee, EmployeeId};
use secrecy::SecretString;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, SqliteConnection, Transaction};
use time::OffsetDateTime;
use tracing::{debug, info, instrument};

use crate::api::{
    Admin, ApiKey, ApiKeyId, Connection, HeldDeletion, HistoryEntry, HistoryRecord, HoldDecision,
    Job, JobId, JobKind, JobState, MemberLink, NewHold, PutOutcome, RunId, Store, StoreError,
    StoredEmployee, SyncRun, Tenant,
};
use crate::api::{Delivery, DeliveryId, NewDelivery};
use crate::codec::{self, Column, Place};
use crate::crypto::DataKey;
use jobs::Settle;

/// How long a statement waits for another connection's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// SQLite has one writer; a few connections are enough for concurrent reads.
const MAX_CONNECTIONS: u32 = 4;

/// The [`Store`] on an SQLite database file (or an in-memory database, for tests).
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    key: DataKey,
    clock: Arc<dyn Clock>,
}

impl SqliteStore {
    /// Opens (with `?mode=rwc`: creates) the database at `url`, such as
    /// `sqlite://sync.db?mode=rwc` or `sqlite::memory:`, and applies pending migrations.
    ///
    /// Personal data is sealed and opened with `key`; times come from `clock`.
    pub async fn connect(
        url: &str,
        key: DataKey,
        clock: Arc<dyn Clock>,
    ) -> Result<SqliteStore, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        let pool = pool_options(is_in_memory(url))
            .connect_with(options)
            .await?;

        migrate(&pool).await?;
        Ok(SqliteStore { pool, key, clock })
    }

    /// Closes every connection; later calls fail.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    fn now_millis(&self) -> i64 {
        codec::to_millis(self.clock.now())
    }
}

/// Applies pending migrations. Two processes opening a new database at once race on
/// them (one sees "table already exists" half-way); the loser tries again after the
/// winner has finished, when the migrations are found applied.
async fn migrate(pool: &SqlitePool) -> Result<(), StoreError> {
    const ATTEMPTS: u32 = 5;
    let mut attempt = 1;
    loop {
        match sqlx::migrate!("./migrations/sqlite").run(pool).await {
            Ok(()) => return Ok(()),
            Err(error) if attempt < ATTEMPTS => {
                debug!(attempt, error = %error, "Migrations raced another process; retrying");
                tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
                attempt += 1;
            }
            Err(error) => return Err(StoreError::Migrate(error)),
        }
    }
}

/// An in-memory database lives as long as its connections, and each one would get its own
/// private database without the shared cache: keep exactly one connection open forever.
fn pool_options(in_memory: bool) -> SqlitePoolOptions {
    if in_memory {
        SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
    } else {
        SqlitePoolOptions::new().max_connections(MAX_CONNECTIONS)
    }
}

fn is_in_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

/// Fails with [`StoreError::UnknownTenant`] unless the tenant exists.
async fn require_tenant(conn: &mut SqliteConnection, tenant: &str) -> Result<(), StoreError> {
    let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM tenants WHERE key = $1")
        .bind(tenant)
        .fetch_optional(conn)
        .await?;
    found
        .map(|_| ())
        .ok_or_else(|| StoreError::UnknownTenant(tenant.to_owned()))
}

/// Fails with [`StoreError::UnknownRun`] unless the run exists and belongs to the tenant.
async fn require_run(
    conn: &mut SqliteConnection,
    tenant: &str,
    run: RunId,
) -> Result<(), StoreError> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM sync_runs WHERE id = $1 AND tenant = $2")
            .bind(run.0)
            .bind(tenant)
            .fetch_optional(conn)
            .await?;
    found.map(|_| ()).ok_or(StoreError::UnknownRun(run))
}

#[derive(sqlx::FromRow)]
struct TenantRow {
    key: String,
    settings: String,
    created_at: i64,
}

impl TenantRow {
    fn decode(self) -> Result<Tenant, StoreError> {
        let what = format!("tenant {}", self.key);
        Ok(Tenant {
            settings: codec::from_json(&what, self.settings.as_bytes())?,
            created_at: codec::from_millis(&what, self.created_at)?,
            key: self.key,
        })
    }
}

#[derive(sqlx::FromRow)]
struct EmployeeRow {
    employee_id: String,
    record: Vec<u8>,
    version: i64,
    present: bool,
    updated_at: i64,
}

impl EmployeeRow {
    fn decode(self, key: &DataKey, tenant: &str) -> Result<StoredEmployee, StoreError> {
        let id = codec::employee_id(tenant, &self.employee_id)?;
        let place = Place {
            column: Column::Employee,
            tenant,
            employee: &id,
        };
        Ok(StoredEmployee {
            employee: codec::open_json(key, place, &self.record)?,
            version: self.version,
            present: self.present,
            updated_at: codec::from_millis(&format!("employee {id}"), self.updated_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct LinkRow {
    employee_id: String,
    member_id: Option<String>,
    owned: String,
    state: String,
    last_error: Option<Vec<u8>>,
    updated_at: i64,
}

impl LinkRow {
    fn decode(self, key: &DataKey, tenant: &str) -> Result<MemberLink, StoreError> {
        let id = codec::employee_id(tenant, &self.employee_id)?;
        let what = format!("member link of employee {id} of tenant {tenant}");
        let place = Place {
            column: Column::LinkError,
            tenant,
            employee: &id,
        };
        let last_error = match self.last_error {
            Some(sealed) => Some(codec::open_json(key, place, &sealed)?),
            None => None,
        };
        Ok(MemberLink {
            member_id: self.member_id,
            owned: codec::from_json(&what, self.owned.as_bytes())?,
            state: codec::sync_state(&what, &self.state)?,
            last_error,
            updated_at: codec::from_millis(&what, self.updated_at)?,
            employee_id: id,
        })
    }
}

#[derive(sqlx::FromRow)]
struct RunRow {
    id: i64,
    tenant: String,
    kind: String,
    started_at: i64,
    finished_at: Option<i64>,
    summary: String,
}

impl RunRow {
    fn decode(self) -> Result<SyncRun, StoreError> {
        let what = format!("sync run {}", self.id);
        Ok(SyncRun {
            id: RunId(self.id),
            started_at: codec::from_millis(&what, self.started_at)?,
            finished_at: self
                .finished_at
                .map(|at| codec::from_millis(&what, at))
                .transpose()?,
            summary: codec::from_json(&what, self.summary.as_bytes())?,
            tenant: self.tenant,
            kind: self.kind,
        })
    }
}

#[derive(sqlx::FromRow)]
struct HistoryRow {
    id: i64,
    run_id: Option<i64>,
    at: i64,
    kind: String,
    detail: Vec<u8>,
}

impl HistoryRow {
    fn decode(self, key: &DataKey, place: Place<'_>) -> Result<HistoryRecord, StoreError> {
        let what = format!("history entry {}", self.id);
        Ok(HistoryRecord {
            id: self.id,
            run: self.run_id.map(RunId),
            at: codec::from_millis(&what, self.at)?,
            entry: HistoryEntry {
                kind: self.kind,
                detail: codec::open_json(key, place, &self.detail)?,
            },
        })
    }
}

const SELECT_TENANT: &str = "SELECT key, settings, created_at FROM tenants WHERE key = $1";

const SELECT_EMPLOYEE: &str = r#"
    SELECT employee_id, record, version, present, updated_at
    FROM employees WHERE tenant = $1 AND employee_id = $2"#;

const SELECT_EMPLOYEES: &str = r#"
    SELECT employee_id, record, version, present, updated_at
    FROM employees WHERE tenant = $1 ORDER BY employee_id"#;

const UPSERT_EMPLOYEE: &str = r#"
    INSERT INTO employees (tenant, employee_id, record, version, present, updated_at)
    VALUES ($1, $2, $3, $4, $5, $6)
    ON CONFLICT (tenant, employee_id) DO UPDATE SET
        record = excluded.record,
        version = excluded.version,
        present = excluded.present,
        updated_at = excluded.updated_at"#;

const SELECT_LINK: &str = r#"
    SELECT employee_id, member_id, owned, state, last_error, updated_at
    FROM member_links WHERE tenant = $1 AND employee_id = $2"#;

const SELECT_LINKS: &str = r#"
    SELECT employee_id, member_id, owned, state, last_error, updated_at
    FROM member_links WHERE tenant = $1 ORDER BY employee_id"#;

const UPSERT_LINK: &str = r#"
    INSERT INTO member_links
        (tenant, employee_id, member_id, owned, state, last_error, updated_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7)
    ON CONFLICT (tenant, employee_id) DO UPDATE SET
        member_id = excluded.member_id,
        owned = excluded.owned,
        state = excluded.state,
        last_error = excluded.last_error,
        updated_at = excluded.updated_at"#;

const SELECT_RUNS: &str = r#"
    SELECT id, tenant, kind, started_at, finished_at, summary
    FROM sync_runs WHERE tenant = $1 ORDER BY id DESC LIMIT $2"#;

const INSERT_HISTORY: &str = r#"
    INSERT INTO employee_history (tenant, employee_id, run_id, at, kind, detail)
    VALUES ($1, $2, $3, $4, $5, $6)"#;

const SELECT_HISTORY: &str = r#"
    SELECT id, run_id, at, kind, detail
    FROM employee_history WHERE tenant = $1 AND employee_id = $2
    ORDER BY id DESC LIMIT $3"#;

/// Everything of a tenant but the tenant row, children before parents; each takes the key.
const DELETE_TENANT_ROWS: [&str; 11] = [
    "DELETE FROM held_deletions WHERE tenant = $1",
    "DELETE FROM run_locks WHERE tenant = $1",
    "DELETE FROM employee_tombstones WHERE tenant = $1",
    "DELETE FROM jobs WHERE tenant = $1",
    "DELETE FROM api_keys WHERE tenant = $1",
    "DELETE FROM connections WHERE tenant = $1",
    "DELETE FROM oauth_states WHERE tenant = $1",
    "DELETE FROM employee_history WHERE tenant = $1",
    "DELETE FROM sync_runs WHERE tenant = $1",
    "DELETE FROM member_links WHERE tenant = $1",
    "DELETE FROM employees WHERE tenant = $1",
];

#[async_trait]
impl Store for SqliteStore {
    #[instrument(skip_all, fields(tenant = %key))]
    async fn ensure_tenant(&self, key: &str) -> Result<Tenant, StoreError> {
        let mut tx = self.begin_write().await?;

        let inserted = sqlx::query(
            "INSERT INTO tenants (key, settings, created_at) VALUES ($1, '{}', $2) \
             ON CONFLICT (key) DO NOTHING",
        )
        .bind(key)
        .bind(self.now_millis())
        .execute(&mut *tx)
        .await?;
        let row: TenantRow = sqlx::query_as(SELECT_TENANT)
            .bind(key)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;

        if inserted.rows_affected() > 0 {
            debug!("Created tenant {key}");
        }
        row.decode()
    }

    #[instrument(skip_all, fields(tenant = %key))]
    async fn tenant(&self, key: &str) -> Result<Option<Tenant>, StoreError> {
        let row: Option<TenantRow> = sqlx::query_as(SELECT_TENANT)
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        row.map(TenantRow::decode).transpose()
    }

    #[instrument(skip_all, fields(tenant = %key))]
    async fn save_tenant_settings(
        &self,
        key: &str,
        settings: &serde_json::Value,
    ) -> Result<(), StoreError> {
        let settings = codec::to_json_text(&format!("settings of tenant {key}"), settings)?;

        let updated = sqlx::query("UPDATE tenants SET settings = $1 WHERE key = $2")
            .bind(settings)
            .bind(key)
            .execute(&self.pool)
            .await?;

        if updated.rows_affected() == 0 {
            return Err(StoreError::UnknownTenant(key.to_owned()));
        }
        Ok(())
    }

    #[instrument(
        skip_all,
        fields(tenant = %tenant, employee.id = %employee.id, version = version)
    )]
    async fn put_employee(
        &self,
        tenant: &str,
        employee: &Employee,
        version: i64,
    ) -> Result<PutOutcome, StoreError> {
        self.offer(tenant, Offer::Put(employee), version, false)
            .await
    }

    #[instrument(skip_all, fields(tenant = %tenant, employee.id = %id, version = version))]
    async fn remove_employee(
        &self,
        tenant: &str,
        id: &EmployeeId,
        version: i64,
    ) -> Result<PutOutcome, StoreError> {
        self.offer(tenant, Offer::Remove(id), version, false).await
    }

    #[instrument(skip_all, fields(tenant = %tenant, employee.id = %id))]
    async fn employee(
        &self,
        tenant: &str,
        id: &EmployeeId,
    ) -> Result<Option<StoredEmployee>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        require_tenant(&mut conn, tenant).await?;

        let row: Option<EmployeeRow> = sqlx::query_as(SELECT_EMPLOYEE)
            .bind(tenant)
            .bind(id.as_str())
            .fetch_optional(&mut *conn)
            .await?;
        row.map(|row| row.decode(&self.key, tenant)).transpose()
    }

    #[instrument(skip_all, fields(tenant = %tenant))]
    async fn employees(&self, tenant: &str) -> Result<Vec<StoredEmployee>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        require_tenant(&mut conn, tenant).await?;

        let rows: Vec<EmployeeRow> = sqlx::query_as(SELECT_EMPLOYEES)
            .bind(tenant)
            .fetch_all(&mut *conn)
            .await?;
        rows.into_iter()
            .map(|row| row.decode(&self.key, tenant))
            .collect()
    }

    #[instrument(skip_all, fields(tenant = %tenant, employee.id = %id))]
    async fn link(&self, tenant: &str, id: &EmployeeId) -> Result<Option<MemberLink>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        require_tenant(&mut conn, tenant).await?;

        let row: Option<LinkRow> = sqlx::query_as(SELECT_LINK)
            .bind(tenant)
            .bind(id.as_str())
            .fetch_optional(&mut *conn)
            .await?;
        row.map(|row| row.decode(&self.key, tenant)).transpose()
    }

    #[instrument(skip_all, fields(tenant = %tenant))]
    async fn links(&self, tenant: &str) -> Result<Vec<MemberLink>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        require_tenant(&mut conn, tenant).await?;

        let rows: Vec<LinkRow> = sqlx::query_as(SELECT_LINKS)
            .bind(tenant)
            .fetch_all(&mut *conn)
            .await?;
        rows.into_iter()
            .map(|row| row.decode(&self.key, tenant))
            .collect()
    }

    /// Stores `link`; its `updated_at` is replaced by the store's clock.
    #[instrument(skip_all, fields(tenant = %tenant, employee.id = %link.employee_id))]
    async fn save_link(&self, tenant: &str, link: &MemberLink) -> Result<(), StoreError> {
        let id = &link.employee_id;
        let place = Place {
            column: Column::LinkError,
            tenant,
            employee: id,
        };
        let what = format!("member link of employee {id}");
        let owned = codec::to_json_text(&what, &link.owned)?;
        let last_error = match &link.last_error {
            Some(text) => Some(codec::seal_json(&self.key, place, text)?),
            None => None,
        };
        let mut tx = self.begin_write().await?;
        require_tenant(&mut tx, tenant).await?;

        sqlx::query(UPSERT_LINK)
            .bind(tenant)
            .bind(id.as_str())
            .bind(link.member_id.as_deref())
            .bind(owned)
            .bind(link.state.as_str())
            .bind(last_error)
            .bind(self.now_millis())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    #[instrument(skip_all, fields(tenant = %tenant, sync_run.kind = %kind, sync_run.id))]
    async fn start_run(&self, tenant: &str, kind: &str) -> Result<RunId, StoreError> {
        let mut tx = self.begin_write().await?;
        require_tenant(&mut tx, tenant).await?;

        let id: i64 = sqlx::query_scalar(
            "INSERT INTO sync_runs (tenant, kind, started_at) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(tenant)
        .bind(kind)
        .bind(self.now_millis())
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;

        tracing::Span::current().record("sync_run.id", id);
        debug!("Started sync run {id} ({kind})");
        Ok(RunId(id))
    }

    #[instrument(skip_all, fields(sync_run.id = run.0))]
    async fn finish_run(&self, run: RunId, summary: &serde_json::Value) -> Result<(), StoreError> {
        let summary = codec::to_json_text(&format!("summary of sync run {}", run.0), summary)?;

        let updated =
            sqlx::query("UPDATE sync_runs SET finished_at = $1, summary = $2 WHERE id = $3")
                .bind(self.now_millis())
                .bind(summary)
                .bind(run.0)
                .execute(&self.pool)
                .await?;

        if updated.rows_affected() == 0 {
            return Err(StoreError::UnknownRun(run));
        }
        debug!("Finished sync run {}", run.0);
        Ok(())
    }

    #[instrument(skip_all, fields(tenant = %tenant, limit = limit))]
    async fn runs(&self, tenant: &str, limit: u32) -> Result<Vec<SyncRun>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        require_tenant(&mut conn, tenant).await?;

        let rows: Vec<RunRow> = sqlx::query_as(SELECT_RUNS)
            .bind(tenant)
            .bind(i64::from(limit))
            .fetch_all(&mut *conn)
            .await?;
        rows.into_iter().map(RunRow::decode).collect()
    }

    #[instrument(
        skip_all,
        fields(tenant = %tenant, employee.id = %id, sync_run.id = run.map(|run| run.0))
    )]
    async fn append_history(
        &self,
        tenant: &str,
        id: &EmployeeId,
        run: Option<RunId>,
        entry: &HistoryEntry,
    ) -> Result<(), StoreError> {
        let place = Place {
            column: Column::History,
            tenant,
            employee: id,
        };
        let detail = codec::seal_json(&self.key, place, &entry.detail)?;
        let mut tx = self.begin_write().await?;
        require_tenant(&mut tx, tenant).await?;
        if let Some(run) = run {
            require_run(&mut tx, tenant, run).await?;
        }

        sqlx::query(INSERT_HISTORY)
            .bind(tenant)
            .bind(id.as_str())
            .bind(run.map(|run| run.0))
            .bind(self.now_millis())
            .bind(entry.kind.as_str())
            .bind(detail)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    #[instrument(skip_all, fields(tenant = %tenant, employee.id = %id, limit = limit))]
    async fn history(
        &self,
        tenant: &str,
        id: &EmployeeId,
        limit: u32,
    ) -> Result<Vec<HistoryRecord>, StoreError> {
        let place = Place {
            column: Column::History,
            tenant,
            employee: id,
        };
        let mut conn = self.pool.acquire().await?;
        require_tenant(&mut conn, tenant).await?;

        let rows: Vec<HistoryRow> = sqlx::query_as(SELECT_HISTORY)
            .bind(tenant)
            .bind(id.as_str())
            .bind(i64::from(limit))
            .fetch_all(&mut *conn)
            .await?;

        // Fetched newest first so the limit keeps the newest; returned oldest first.
        let mut records = rows
            .into_iter()
            .map(|row| row.decode(&self.key, place))
            .collect::<Result<Vec<_>, _>>()?;
        records.reverse();
        Ok(records)
    }

    #[instrument(skip_all)]
    async fn tenants(&self) -> Result<Vec<Tenant>, StoreError> {
        let rows: Vec<TenantRow> =
            sqlx::query_as("SELECT key, settings, created_at FROM tenants ORDER BY key")
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter().map(TenantRow::decode).collect()
    }

    #[instrument(skip_all, fields(tenant = %tenant))]
    async fn try_lock_runs(
        &self,
        tenant: &str,
        holder: &str,
        lease: Duration,
    ) -> Result<bool, StoreError> {
        let now = self.now_millis();
        let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
        let mut tx = self.begin_write().await?;
        require_tenant(&mut tx, tenant).await?;

        let current: Option<(String, i64)> =
            sqlx::query_as("SELECT holder, expires_at FROM run_locks WHERE tenant = $1")
                .bind(tenant)
                .fetch_optional(&mut *tx)
                .await?;
        let free = current.is_none_or(|(who, until)| who == holder || until <= now);
        if free {
            sqlx::query(
                "INSERT INTO run_locks (tenant, holder, expires_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (tenant) DO UPDATE SET holder = $2, expires_at = $3",
            )
            .bind(tenant)
            .bind(holder)
            .bind(now.saturating_add(lease_ms))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(free)
    }

    #[instrument(skip_all)]
    async fn try_hold_instance(&self, holder: &str, lease: Duration) -> Result<bool, StoreError> {
        let now = self.now_millis();
        let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
        let taken = sqlx::query(
            "INSERT INTO service_instance (id, holder, expires_at) VALUES (1, $1, $2) \
             ON CONFLICT (id) DO UPDATE SET holder = $1, expires_at = $2 \
             WHERE service_instance.holder = $1 OR service_instance.expires_at <= $3",
        )
        .bind(holder)
        .bind(now.saturating_add(lease_ms))
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(taken.rows_affected() > 0)
    }

    #[instrument(skip_all)]
    async fn instance_holder(&self) -> Result<Option<String>, StoreError> {
        let holder: Option<(String,)> =
            sqlx::query_as("SELECT holder FROM service_instance WHERE id = 1 AND expires_at > $1")
                .bind(self.now_millis())
                .fetch_optional(&self.pool)
                .await?;
        Ok(holder.map(|(h,)| h))
    }

    #[instrument(skip_all)]
    async fn release_instance(&self, holder: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM service_instance WHERE holder = $1")
            .bind(holder)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    #[instrument(skip_all, fields(tenant = %tenant))]
    async fn unlock_runs(&self, tenant: &str, holder: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM run_locks WHERE tenant = $1 AND holder = $2")
            .bind(tenant)
            .bind(holder)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    #[instrument(skip_all, fields(tenant = %tenant, holds = holds.len()))]
    async fn hold_deletions(
        &self,
        tenant: &str,
        holds: &[NewHold],
        run: Option<RunId>,
        reason: &str,
    ) -> Result<(), StoreError> {
        self.write_holds(tenant, holds, run, reason).await
    }

    #[instrument(skip_all, fields(tenant = %tenant))]
    async fn held_deletions(&self, tenant: &str) -> Result<Vec<HeldDeletion>, StoreError> {
        self.read_holds(tenant).await
    }

    #[instrument(skip_all, fields(tenant = %tenant))]
    async fn decide_deletions(
        &self,
        tenant: &str,
        employees: Option<&[EmployeeId]>,
        decision: HoldDecision,
        by: &str,
    ) -> Result<usize, StoreError> {
        self.write_decision(tenant, employees, decision, by).await
    }

    #[instrument(skip_all, fields(tenant = %tenant, employee.id = %employee))]
    async fn clear_held_deletion(
        &self,
        tenant: &str,
        employee: &EmployeeId,
    ) -> Result<(), StoreError> {
        self.delete_hold(tenant, employee).await
    }

    #[instrument(skip_all, fields(tenant = %key))]
    async fn delete_tenant(&self, key: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;

        // Children first: history points at runs, everything points at the tenant.
        for statement in DELETE_TENANT_ROWS {
            sqlx::query(statement).bind(key).execute(&mut *tx).await?;
        }
        let deleted = sqlx::query("DELETE FROM tenants WHERE key = $1")
            .bind(key)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;

        let existed = deleted.rows_affected() > 0;
        if existed {
            info!("Deleted tenant {key} and everything of it");
        }
        Ok(existed)
    }

    #[instrument(
        skip_all,
        fields(tenant = %tenant, employee.id = %employee.id, version = version)
    )]
    async fn put_employee_and_enqueue(
        &self,
        tenant: &str,
        employee: &Employee,
        version: i64,
    ) -> Result<PutOutcome, StoreError> {
        self.offer(tenant, Offer::Put(employee), version, true)
            .await
    }

    #[instrument(skip_all, fields(tenant = %tenant, employee.id = %id, version = version))]
    async fn remove_employee_and_enqueue(
        &self,
        tenant: &str,
        id: &EmployeeId,
        version: i64,
    ) -> Result<PutOutcome, StoreError> {
        self.offer(tenant, Offer::Remove(id), version, true).await
    }

    #[instrument(
        skip_all,
        fields(tenant = %tenant, job.kind = kind.as_str(), employee.id, job.id)
    )]
    async fn enqueue(
        &self,
        tenant: &str,
        kind: JobKind,
        employee: Option<&EmployeeId>,
    ) -> Result<JobId, StoreError> {
        self.enqueue_job(tenant, kind, employee).await
    }

    #[instrument(skip_all, fields(worker = %worker, job.id, job.kind))]
    async fn claim_job(
        &self,
        worker: &str,
        lease: std::time::Duration,
    ) -> Result<Option<Job>, StoreError> {
        self.claim(worker, lease).await
    }

    #[instrument(skip_all, fields(job.id = id.0, worker = %worker))]
    async fn complete_job(&self, id: JobId, worker: &str) -> Result<(), StoreError> {
        self.complete(id, worker).await
    }

    #[instrument(skip_all, fields(job.id = id.0, worker = %worker))]
    async fn renew_job_lease(
        &self,
        id: JobId,
        worker: &str,
        lease: Duration,
    ) -> Result<(), StoreError> {
        let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
        let until = self.now_millis().saturating_add(lease_ms);
        let renewed = sqlx::query(
            "UPDATE jobs SET locked_until = $1 \
             WHERE id = $2 AND state = 'running' AND locked_by = $3",
        )
        .bind(until)
        .bind(id.0)
        .bind(worker)
        .execute(&self.pool)
        .await?;
        if renewed.rows_affected() == 0 {
            return Err(StoreError::LostLease(id));
        }
        Ok(())
    }

    #[instrument(skip_all, fields(job.id = id.0, worker = %worker))]
    async fn reschedule_job(
        &self,
        id: JobId,
        worker: &str,
        error: &str,
        run_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let run_at = codec::to_millis(run_at);
        self.settle(id, worker, Some(error), Settle::Requeue { run_at })
            .await
    }

    #[instrument(skip_all, fields(job.id = id.0, worker = %worker))]
    async fn defer_job(
        &self,
        id: JobId,
        worker: &str,
        run_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let run_at = codec::to_millis(run_at);
        self.settle(id, worker, None, Settle::Defer { run_at })
            .await
    }

    #[instrument(skip_all, fields(tenant = %tenant))]
    async fn defer_tenant_jobs(
        &self,
        tenant: &str,
        until: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let until = codec::to_millis(until);
        let moved = sqlx::query(
            "UPDATE jobs SET run_at = $1 WHERE tenant = $2 AND state = 'queued' AND run_at < $1",
        )
        .bind(until)
        .bind(tenant)
        .execute(&self.pool)
        .await?;
        Ok(moved.rows_affected())
    }

    #[instrument(skip_all, fields(tenant = %tenant))]
    async fn wake_tenant_jobs(&self, tenant: &str) -> Result<u64, StoreError> {
        let now = self.now_millis();
        let moved = sqlx::query(
            "UPDATE jobs SET run_at = $1 WHERE tenant = $2 AND state = 'queued' AND run_at > $1",
        )
        .bind(now)
        .bind(tenant)
        .execute(&self.pool)
        .await?;
        Ok(moved.rows_affected())
    }

    #[instrument(skip_all, fields(job.id = id.0, worker = %worker))]
    async fn fail_job(&self, id: JobId, worker: &str, error: &str) -> Result<(), StoreError> {
        self.settle(id, worker, Some(error), Settle::Fail).await
    }

    #[instrument(skip_all)]
    async fn release_leases(&self) -> Result<u64, StoreError> {
        self.release_running().await
    }

    #[instrument(skip_all, fields(tenant = %tenant, job.id = id.0))]
    async fn retry_failed_job(&self, tenant: &str, id: JobId) -> Result<bool, StoreError> {
        self.retry_failed(tenant, id).await
    }

    #[instrument(skip_all, fields(tenant = tenant, job.state = state.map(JobState::as_str)))]
    async fn jobs(
        &self,
        tenant: Option<&str>,
        state: Option<JobState>,
        limit: u32,
    ) -> Result<Vec<Job>, StoreError> {
        self.list_jobs(tenant, state, limit).await
    }

    #[instrument(skip_all)]
    async fn queue_depth(&self) -> Result<BTreeMap<JobState, u64>, StoreError> {
        self.count_jobs().await
    }

    #[instrument(skip_all, fields(tenant = %tenant, api_key.id))]
    async fn create_api_key(
        &self,
        tenant: &str,
        label: &str,
    ) -> Result<(ApiKey, SecretString), StoreError> {
        self.new_api_key(tenant, label).await
    }

    #[instrument(skip_all, fields(tenant, api_key.id))]
    async fn authenticate_api_key(&self, secret: &str) -> Result<Option<ApiKey>, StoreError> {
        self.find_api_key(secret).await
    }

    #[instrument(skip_all, fields(tenant = %tenant))]
    async fn api_keys(&self, tenant: &str) -> Result<Vec<ApiKey>, StoreError> {
        self.list_api_keys(tenant).await
    }

    #[instrument(skip_all, fields(tenant = %tenant, api_key.id = id.0))]
    async fn revoke_api_key(&self, tenant: &str, id: ApiKeyId) -> Result<bool, StoreError> {
        self.delete_api_key(tenant, id).await
    }

    #[instrument(skip_all, fields(tenant = %tenant, set = secret.is_some()))]
    async fn set_signing_secret(
        &self,
        tenant: &str,
        secret: Option<&SecretString>,
    ) -> Result<(), StoreError> {
        self.write_signing_secret(tenant, secret).await
    }

    #[instrument(skip_all, fields(tenant = %tenant))]
    async fn signing_secret(&self, tenant: &str) -> Result<Option<SecretString>, StoreError> {
        self.read_signing_secret(tenant).await
    }

    #[instrument(skip_all, fields(tenant = %tenant))]
    async fn connection(&self, tenant: &str) -> Result<Option<Connection>, StoreError> {
        self.read_connection(tenant).await
    }

    #[instrument(skip_all, fields(tenant = %connection.tenant, state = connection.state.as_str()))]
    async fn save_connection(&self, connection: &Connection) -> Result<i64, StoreError> {
        self.write_connection(connection, None)
            .await?
            .ok_or_else(|| StoreError::UnknownTenant(connection.tenant.clone()))
    }

    #[instrument(
        skip_all,
        fields(
            tenant = %connection.tenant,
            state = connection.state.as_str(),
            expected_revision = expected_revision,
        )
    )]
    async fn save_connection_if_revision(
        &self,
        connection: &Connection,
        expected_revision: i64,
    ) -> Result<Option<i64>, StoreError> {
        self.write_connection(connection, Some(expected_revision))
            .await
    }

    #[instrument(skip_all, fields(tenant = %tenant))]
    async fn save_oauth_state(
        &self,
        state: &str,
        tenant: &str,
        pkce_verifier: &SecretString,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.insert_oauth_state(state, tenant, pkce_verifier, expires_at)
            .await
    }

    #[instrument(skip_all, fields(tenant))]
    async fn take_oauth_state(
        &self,
        state: &str,
    ) -> Result<Option<(String, SecretString)>, StoreError> {
        self.delete_oauth_state(state).await
    }

    #[instrument(skip_all)]
    async fn upsert_admin(&self, username: &str, password_hash: &str) -> Result<(), StoreError> {
        self.write_admin(username, password_hash).await
    }

    #[instrument(skip_all)]
    async fn admin(&self, username: &str) -> Result<Option<Admin>, StoreError> {
        self.read_admin(username).await
    }

    #[instrument(skip_all)]
    async fn admins(&self) -> Result<Vec<Admin>, StoreError> {
        self.read_admins().await
    }

    #[instrument(skip_all, fields(tenant = %tenant, employee.id = %delivery.employee_id, delivery.id))]
    async fn queue_delivery(
        &self,
        tenant: &str,
        delivery: &NewDelivery,
    ) -> Result<DeliveryId, StoreError> {
        self.insert_delivery(tenant, delivery).await
    }

    #[instrument(skip_all, fields(tenant = tenant))]
    async fn due_deliveries(
        &self,
        tenant: Option<&str>,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError> {
        self.select_due_deliveries(tenant, now, limit).await
    }

    #[instrument(skip_all, fields(delivery.id = id.0))]
    async fn mark_delivery_sent(&self, id: DeliveryId) -> Result<bool, StoreError> {
        self.settle_sent(id).await
    }

    #[instrument(skip_all, fields(delivery.id = id.0))]
    async fn reschedule_delivery(
        &self,
        id: DeliveryId,
        error: &str,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.settle_retry(id, error, at).await
    }

    #[instrument(skip_all, fields(delivery.id = id.0))]
    async fn fail_delivery(&self, id: DeliveryId, error: &str) -> Result<bool, StoreError> {
        self.settle_failed(id, error).await
    }

    #[instrument(skip_all, fields(delivery.id = id.0))]
    async fn cancel_delivery(&self, id: DeliveryId, reason: &str) -> Result<bool, StoreError> {
        self.settle_cancelled(id, reason).await
    }

    #[instrument(skip_all, fields(tenant = %tenant))]
    async fn deliveries(
        &self,
        tenant: &str,
        employee: Option<&EmployeeId>,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError> {
        self.select_deliveries(tenant, employee, limit).await
    }

    #[instrument(skip_all, fields(tenant = %tenant, delivery.id = id.0))]
    async fn retry_delivery(&self, tenant: &str, id: DeliveryId) -> Result<bool, StoreError> {
        self.requeue_failed_delivery(tenant, id).await
    }

    #[instrument(skip_all, fields(tenant = %tenant, set = password.is_some()))]
    async fn set_smtp_password(
        &self,
        tenant: &str,
        password: Option<&SecretString>,
    ) -> Result<(), StoreError> {
        self.write_smtp_password(tenant, password).await
    }

    #[instrument(skip_all, fields(tenant = %tenant))]
    async fn smtp_password(&self, tenant: &str) -> Result<Option<SecretString>, StoreError> {
        self.read_smtp_password(tenant).await
    }
}

/// A change to one employee record, as offered by the HR source.
#[derive(Debug, Clone, Copy)]
enum Offer<'a> {
    Put(&'a Employee),
    Remove(&'a EmployeeId),
}

impl Offer<'_> {
    fn employee_id(&self) -> &EmployeeId {
        match self {
            Offer::Put(employee) => &employee.id,
            Offer::Remove(id) => id,
        }
    }
}

impl SqliteStore {
    /// Applies an offered change in one transaction and, when `enqueue` is set and the
    /// record changed, enqueues the employee's sync job in that same transaction.
    async fn offer(
        &self,
        tenant: &str,
        offer: Offer<'_>,
        version: i64,
        enqueue: bool,
    ) -> Result<PutOutcome, StoreError> {
        let id = offer.employee_id();
        let mut tx = self.begin_write().await?;
        require_tenant(&mut tx, tenant).await?;

        let outcome = match offer {
            Offer::Put(employee) => self.put_in(&mut tx, tenant, employee, version).await?,
            Offer::Remove(id) => self.remove_in(&mut tx, tenant, id, version).await?,
        };
        let job = if enqueue && outcome == PutOutcome::Stored {
            let now = self.now_millis();
            Some(jobs::enqueue_in(&mut tx, tenant, JobKind::SyncEmployee, id.as_str(), now).await?)
        } else {
            None
        };
        tx.commit().await?;

        debug!(
            ?outcome,
            job.id = job.map(|job| job.0),
            "Offered version {version} of employee {id}: {outcome:?}"
        );
        Ok(outcome)
    }

    /// Stores a record if `version` is newer and it differs; see [`Store::put_employee`].
    async fn put_in(
        &self,
        conn: &mut SqliteConnection,
        tenant: &str,
        employee: &Employee,
        version: i64,
    ) -> Result<PutOutcome, StoreError> {
        let id = &employee.id;
        let place = Place {
            column: Column::Employee,
            tenant,
            employee: id,
        };
        let plaintext = codec::to_json(&format!("employee {id}"), employee)?;

        let stored: Option<(Vec<u8>, i64, bool)> = sqlx::query_as(
            "SELECT record, version, present FROM employees \
             WHERE tenant = $1 AND employee_id = $2",
        )
        .bind(tenant)
        .bind(id.as_str())
        .fetch_optional(&mut *conn)
        .await?;

        if stored.is_none() {
            match tombstone_version(conn, tenant, id).await? {
                Some(removed) if version <= removed => return Ok(PutOutcome::Stale),
                Some(_) => delete_tombstone(conn, tenant, id).await?,
                None => {}
            }
        }

        // Unchanged means the same JSON, not `Employee == Employee`: that equality ignores
        // the case of e-mails and group names, and the newest spelling should be kept.
        Ok(match stored {
            Some((_, stored_version, _)) if version <= stored_version => PutOutcome::Stale,
            Some((record, _, true)) if codec::open(&self.key, place, &record)? == plaintext => {
                set_employee_version(conn, tenant, id, version).await?;
                PutOutcome::Unchanged
            }
            _ => {
                sqlx::query(UPSERT_EMPLOYEE)
                    .bind(tenant)
                    .bind(id.as_str())
                    .bind(codec::seal(&self.key, place, &plaintext)?)
                    .bind(version)
                    .bind(true)
                    .bind(self.now_millis())
                    .execute(&mut *conn)
                    .await?;
                PutOutcome::Stored
            }
        })
    }

    /// Marks an employee absent if `version` is newer; see [`Store::remove_employee`].
    async fn remove_in(
        &self,
        conn: &mut SqliteConnection,
        tenant: &str,
        id: &EmployeeId,
        version: i64,
    ) -> Result<PutOutcome, StoreError> {
        let stored: Option<(i64, bool)> = sqlx::query_as(
            "SELECT version, present FROM employees WHERE tenant = $1 AND employee_id = $2",
        )
        .bind(tenant)
        .bind(id.as_str())
        .fetch_optional(&mut *conn)
        .await?;

        // An unknown employee gets a tombstone instead, so that a create older than the
        // removal, arriving after it, is recognised as stale. Nothing to sync: no record.
        Ok(match stored {
            None => match tombstone_version(conn, tenant, id).await? {
                Some(removed) if version <= removed => PutOutcome::Stale,
                _ => {
                    sqlx::query(
                        "INSERT INTO employee_tombstones \
                         (tenant, employee_id, version, removed_at) VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (tenant, employee_id) DO UPDATE SET \
                         version = excluded.version, removed_at = excluded.removed_at",
                    )
                    .bind(tenant)
                    .bind(id.as_str())
                    .bind(version)
                    .bind(self.now_millis())
                    .execute(&mut *conn)
                    .await?;
                    PutOutcome::Unchanged
                }
            },
            Some((stored_version, _)) if version <= stored_version => PutOutcome::Stale,
            Some((_, false)) => {
                set_employee_version(conn, tenant, id, version).await?;
                PutOutcome::Unchanged
            }
            Some((_, true)) => {
                sqlx::query(
                    "UPDATE employees SET present = $1, version = $2, updated_at = $3 \
                     WHERE tenant = $4 AND employee_id = $5",
                )
                .bind(false)
                .bind(version)
                .bind(self.now_millis())
                .bind(tenant)
                .bind(id.as_str())
                .execute(&mut *conn)
                .await?;
                PutOutcome::Stored
            }
        })
    }
}

/// The version of the removal recorded for an employee without a record, if any.
async fn tombstone_version(
    conn: &mut SqliteConnection,
    tenant: &str,
    id: &EmployeeId,
) -> Result<Option<i64>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT version FROM employee_tombstones WHERE tenant = $1 AND employee_id = $2",
    )
    .bind(tenant)
    .bind(id.as_str())
    .fetch_optional(conn)
    .await?)
}

async fn delete_tombstone(
    conn: &mut SqliteConnection,
    tenant: &str,
    id: &EmployeeId,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM employee_tombstones WHERE tenant = $1 AND employee_id = $2")
        .bind(tenant)
        .bind(id.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

async fn set_employee_version(
    conn: &mut SqliteConnection,
    tenant: &str,
    id: &EmployeeId,
    version: i64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE employees SET version = $1 WHERE tenant = $2 AND employee_id = $3")
        .bind(version)
        .bind(tenant)
        .bind(id.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use hr_domain::FixedClock;
    use time::macros::datetime;

    use super::*;

    async fn memory_store() -> SqliteStore {
        let clock = Arc::new(FixedClock::new(datetime!(2026-03-01 09:00 UTC)));
        SqliteStore::connect("sqlite::memory:", DataKey::generate(), clock)
            .await
            .unwrap()
    }

    #[test]
    fn memory_urls_are_recognised() {
        assert!(is_in_memory("sqlite::memory:"));
        assert!(is_in_memory("sqlite://?mode=memory"));
        assert!(!is_in_memory("sqlite://data/sync.db?mode=rwc"));
    }

    #[tokio::test]
    async fn an_in_memory_store_is_migrated_and_keeps_its_data() {
        let store = memory_store().await;

        store.ensure_tenant("acme").await.unwrap();
        let tenant = store.tenant("acme").await.unwrap().unwrap();

        assert_eq!(tenant.created_at, datetime!(2026-03-01 09:00 UTC));
        assert_eq!(tenant.settings, serde_json::json!({}));
    }

    #[tokio::test]
    async fn a_history_entry_cannot_point_at_another_tenants_run() {
        let store = memory_store().await;
        store.ensure_tenant("acme").await.unwrap();
        store.ensure_tenant("globex").await.unwrap();
        let run = store.start_run("globex", "import").await.unwrap();
        let id = EmployeeId::parse("E-1").unwrap();
        let entry = HistoryEntry {
            kind: "plan".into(),
            detail: serde_json::json!({}),
        };

        let result = store.append_history("acme", &id, Some(run), &entry).await;

        assert!(matches!(result, Err(StoreError::UnknownRun(found)) if found == run));
    }

    #[tokio::test]
    async fn finishing_an_unknown_run_is_an_error() {
        let store = memory_store().await;

        let result = store.finish_run(RunId(42), &serde_json::json!({})).await;

        assert!(matches!(result, Err(StoreError::UnknownRun(RunId(42)))));
    }
}
