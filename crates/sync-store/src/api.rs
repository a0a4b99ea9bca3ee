//! The store interface and the records it exchanges.

use std::collections::BTreeMap;
use std::fmt;

use async_trait::async_trait;
use hr_domain::{Employee, EmployeeId};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Errors of the store. Variants name the situation, not the driver.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The tenant does not exist.
    #[error("tenant {0} does not exist")]
    UnknownTenant(String),
    /// A sealed value could not be opened: wrong data key, or the row was tampered with.
    #[error("stored data for {what} cannot be decrypted with this data key")]
    Decrypt { what: String },
    /// A stored value is not what this version of the program expects.
    #[error("stored data for {what} is corrupt")]
    Corrupt {
        what: String,
        #[source]
        source: serde_json::Error,
    },
    /// A sync run does not exist, or belongs to another tenant.
    #[error("sync run {} does not exist", .0.0)]
    UnknownRun(RunId),
    /// A value could not be sealed before writing.
    #[error("data for {what} cannot be encrypted")]
    Encrypt {
        what: String,
        #[source]
        source: crate::crypto::SealError,
    },
    /// A value could not be turned into JSON before writing.
    #[error("data for {what} cannot be encoded")]
    Encode {
        what: String,
        #[source]
        source: serde_json::Error,
    },
    /// A stored value is outside what it may be (an id, a state name, a time).
    #[error("stored data for {what} is invalid: {reason}")]
    Invalid { what: String, reason: &'static str },
    /// The worker no longer holds the job's lease (it expired and another worker claimed
    /// the job, or the job is gone); nothing was changed.
    #[error("job {} is no longer held by this worker", .0.0)]
    LostLease(JobId),
    /// A `sync_employee` job needs an employee id and a `sync_tenant` job takes none.
    #[error("a {} job was given the wrong employee argument", .0.as_str())]
    JobSubject(JobKind),
    /// Migrations failed.
    #[error("database migration failed")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    /// The database could not be reached or answered with an error.
    #[error("database error")]
    Database(#[source] sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(value: sqlx::Error) -> Self {
        StoreError::Database(value)
    }
}

/// A tenant: one customer organization with its own settings and employees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    /// Stable key, e.g. `acme` (letters, digits, `-`, `_`).
    pub key: String,
    /// Settings as JSON (their shape belongs to the engine).
    pub settings: serde_json::Value,
    pub created_at: OffsetDateTime,
}

/// What happened to an employee record that was offered to the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    /// New, or a newer version that differs: stored.
    Stored,
    /// A newer version with the same content: only the version moved.
    Unchanged,
    /// Older than (or equal to) the stored version: ignored.
    Stale,
}

/// An employee record as stored, with its version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEmployee {
    pub employee: Employee,
    /// The source's version: a change time in ms, a counter, or a snapshot number.
    pub version: i64,
    /// False once the employee left the source (deleted or missing from a snapshot).
    pub present: bool,
    pub updated_at: OffsetDateTime,
}

/// How far Akiles matches an employee's record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncState {
    /// Akiles matched the record after the last pass.
    InSync,
    /// A change is waiting to be applied.
    Pending,
    /// Part of the plan was applied and part failed; the next pass finishes it.
    Incomplete,
    /// The last pass failed before changing anything.
    Failed,
}

impl SyncState {
    /// The snake_case name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            SyncState::InSync => "in_sync",
            SyncState::Pending => "pending",
            SyncState::Incomplete => "incomplete",
            SyncState::Failed => "failed",
        }
    }

    /// Parses the stored name.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "in_sync" => SyncState::InSync,
            "pending" => SyncState::Pending,
            "incomplete" => SyncState::Incomplete,
            "failed" => SyncState::Failed,
            _ => return None,
        })
    }
}

/// The Akiles objects the sync created for one employee, by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnedObjects {
    /// member group id → association id
    #[serde(default)]
    pub associations: BTreeMap<String, String>,
    #[serde(default)]
    pub emails: Vec<String>,
    #[serde(default)]
    pub pins: Vec<String>,
    #[serde(default)]
    pub magic_links: Vec<String>,
    #[serde(default)]
    pub cards: Vec<String>,
}

/// The link from an employee to the Akiles member that stands for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberLink {
    pub employee_id: EmployeeId,
    /// `None` when there is no live member (never created, or deleted).
    pub member_id: Option<String>,
    pub owned: OwnedObjects,
    pub state: SyncState,
    /// Why the last pass failed; free of personal data.
    pub last_error: Option<String>,
    pub updated_at: OffsetDateTime,
}

/// Identifies one sync run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RunId(pub i64);

/// A finished or running sync run.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncRun {
    pub id: RunId,
    pub tenant: String,
    /// e.g. `import`, `reconcile`, `push`.
    pub kind: String,
    pub started_at: OffsetDateTime,
    pub finished_at: Option<OffsetDateTime>,
    /// Counts and outcome, as JSON (no personal data).
    pub summary: serde_json::Value,
}

/// One entry of an employee's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// `hr_change`, `plan`, `call` or `result`.
    pub kind: String,
    /// Details as JSON. Sealed at rest because it may hold personal data.
    pub detail: serde_json::Value,
}

/// A history entry as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryRecord {
    pub id: i64,
    pub run: Option<RunId>,
    pub at: OffsetDateTime,
    pub entry: HistoryEntry,
}

/// Where a held deletion stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldState {
    /// Waiting for an admin.
    Held,
    /// An admin approved: the next run deletes the member.
    Approved,
    /// An admin rejected: the member is kept while the employee's record is unchanged.
    Rejected,
}

impl HoldState {
    /// The snake_case name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            HoldState::Held => "held",
            HoldState::Approved => "approved",
            HoldState::Rejected => "rejected",
        }
    }

    /// Parses the stored name.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "held" => HoldState::Held,
            "approved" => HoldState::Approved,
            "rejected" => HoldState::Rejected,
            _ => return None,
        })
    }
}

/// An admin's answer to held deletions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldDecision {
    Approve,
    Reject,
}

/// A deletion to hold: the employee, their owned members, and the version of their stored
/// record (a rejection lasts while it is unchanged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewHold {
    pub employee_id: EmployeeId,
    pub member_ids: Vec<String>,
    pub record_version: Option<i64>,
}

/// A deletion the guard held, with the admin's decision if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeldDeletion {
    pub employee_id: EmployeeId,
    pub member_ids: Vec<String>,
    pub state: HoldState,
    #[serde(skip)]
    pub record_version: Option<i64>,
    /// Why the run held it (counts and limits; no personal data).
    pub reason: String,
    pub run: Option<RunId>,
    #[serde(with = "time::serde::rfc3339")]
    pub held_at: OffsetDateTime,
    pub decided_by: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub decided_at: Option<OffsetDateTime>,
}

/// Identifies one job of the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct JobId(pub i64);

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// Make Akiles match one employee's newest record.
    SyncEmployee,
    /// Reconcile every employee of a tenant (after a mapping or settings change).
    SyncTenant,
}

impl JobKind {
    /// The snake_case name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::SyncEmployee => "sync_employee",
            JobKind::SyncTenant => "sync_tenant",
        }
    }

    /// Parses the stored name.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "sync_employee" => JobKind::SyncEmployee,
            "sync_tenant" => JobKind::SyncTenant,
            _ => return None,
        })
    }
}

/// Where a job is in its life. A completed job is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for `run_at` and a free worker.
    Queued,
    /// Claimed by a worker whose lease runs until `locked_until`.
    Running,
    /// Gave up after its last retry; kept until retried or replaced by a newer change.
    Failed,
}

impl JobState {
    /// Every state, in order.
    pub const ALL: [JobState; 3] = [JobState::Queued, JobState::Running, JobState::Failed];

    /// The snake_case name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Failed => "failed",
        }
    }

    /// Parses the stored name.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "queued" => JobState::Queued,
            "running" => JobState::Running,
            "failed" => JobState::Failed,
            _ => return None,
        })
    }
}

/// One job of the durable queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: JobId,
    pub tenant: String,
    pub kind: JobKind,
    /// `Some` for [`JobKind::SyncEmployee`], `None` for tenant-wide jobs.
    pub employee_id: Option<EmployeeId>,
    pub state: JobState,
    /// How many times the job was claimed since it was enqueued or retried.
    pub attempts: u32,
    /// The job is not claimed before this instant.
    pub run_at: OffsetDateTime,
    /// When the oldest HR change this job covers was received (for the
    /// change-to-applied latency).
    pub changed_at: OffsetDateTime,
    /// Why the last attempt failed. Sealed at rest.
    pub last_error: Option<String>,
    /// The worker holding the job while it runs.
    pub locked_by: Option<String>,
    /// When the running worker's lease ends; after that another worker may reclaim it.
    pub locked_until: Option<OffsetDateTime>,
}

/// Identifies one API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ApiKeyId(pub i64);

/// A push API key of a tenant, without its secret (only a hash of it is stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub tenant: String,
    /// What the admin called it.
    pub label: String,
    /// The first [`ApiKey::PREFIX_LEN`] characters of the secret, to recognise it.
    pub prefix: String,
    pub created_at: OffsetDateTime,
    /// Updated at most once a minute.
    pub last_used_at: Option<OffsetDateTime>,
}

impl ApiKey {
    /// How many leading characters of the secret are kept for display.
    pub const PREFIX_LEN: usize = 10;
    /// How every secret starts.
    pub const SECRET_PREFIX: &'static str = "ahs_";
}

/// Whether a tenant's Akiles connection can be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionState {
    /// Tokens are present and were last known to work.
    Connected,
    /// Refresh failed for good (revoked, `invalid_grant`); an admin must connect again.
    ReconnectNeeded,
    /// The admin disconnected; no tokens are kept.
    Disconnected,
}

impl ConnectionState {
    /// The snake_case name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionState::Connected => "connected",
            ConnectionState::ReconnectNeeded => "reconnect_needed",
            ConnectionState::Disconnected => "disconnected",
        }
    }

    /// Parses the stored name.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "connected" => ConnectionState::Connected,
            "reconnect_needed" => ConnectionState::ReconnectNeeded,
            "disconnected" => ConnectionState::Disconnected,
            _ => return None,
        })
    }
}

/// A tenant's connection to its Akiles organization. Tokens are sealed at rest and
/// `Debug` shows only whether they are present.
#[derive(Clone)]
pub struct Connection {
    pub tenant: String,
    pub state: ConnectionState,
    pub organization_id: Option<String>,
    pub organization_name: Option<String>,
    pub access_token: Option<SecretString>,
    pub refresh_token: Option<SecretString>,
    pub access_expires_at: Option<OffsetDateTime>,
    pub scope: Option<String>,
    /// Why a reconnect is needed; never holds a secret.
    pub reason: Option<String>,
    /// Bumped on every write; the compare-and-swap of
    /// [`Store::save_connection_if_revision`] checks it.
    pub revision: i64,
    pub updated_at: OffsetDateTime,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |token: &Option<SecretString>| token.as_ref().map(|_| "[redacted]");
        f.debug_struct("Connection")
            .field("tenant", &self.tenant)
            .field("state", &self.state)
            .field("organization_id", &self.organization_id)
            .field("organization_name", &self.organization_name)
            .field("access_token", &redacted(&self.access_token))
            .field("refresh_token", &redacted(&self.refresh_token))
            .field("access_expires_at", &self.access_expires_at)
            .field("scope", &self.scope)
            .field("reason", &self.reason)
            .field("revision", &self.revision)
            .field("updated_at", &self.updated_at)
            .finish()
    }
}

/// A person who may log in to the admin pages. `Debug` hides the hash.
#[derive(Clone, PartialEq, Eq)]
pub struct Admin {
    pub username: String,
    /// A PHC string (argon2), made by the caller; the store never sees the password.
    pub password_hash: String,
    pub created_at: OffsetDateTime,
}

impl fmt::Debug for Admin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Admin")
            .field("username", &self.username)
            .field("password_hash", &"[redacted]")
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// The one storage interface; every method is scoped to one tenant.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Creates the tenant if missing (settings `{}`); returns it.
    async fn ensure_tenant(&self, key: &str) -> Result<Tenant, StoreError>;
    /// The tenant, if it exists.
    async fn tenant(&self, key: &str) -> Result<Option<Tenant>, StoreError>;
    /// Replaces a tenant's settings.
    async fn save_tenant_settings(
        &self,
        key: &str,
        settings: &serde_json::Value,
    ) -> Result<(), StoreError>;

    /// Stores a record when `version` is newer than the stored one, or than the tombstone
    /// of a removal that came before any record (a stale version is ignored); marks the
    /// employee present again.
    async fn put_employee(
        &self,
        tenant: &str,
        employee: &Employee,
        version: i64,
    ) -> Result<PutOutcome, StoreError>;
    /// Marks an employee as gone from the source, if `version` is newer. For an employee
    /// without a record it keeps a tombstone (returning [`PutOutcome::Unchanged`]), so a put
    /// or removal at or below that version is [`PutOutcome::Stale`].
    async fn remove_employee(
        &self,
        tenant: &str,
        id: &EmployeeId,
        version: i64,
    ) -> Result<PutOutcome, StoreError>;
    /// One employee record.
    async fn employee(
        &self,
        tenant: &str,
        id: &EmployeeId,
    ) -> Result<Option<StoredEmployee>, StoreError>;
    /// Every employee record of a tenant (present or not), ordered by id.
    async fn employees(&self, tenant: &str) -> Result<Vec<StoredEmployee>, StoreError>;

    /// The member link of an employee.
    async fn link(&self, tenant: &str, id: &EmployeeId) -> Result<Option<MemberLink>, StoreError>;
    /// Every member link of a tenant.
    async fn links(&self, tenant: &str) -> Result<Vec<MemberLink>, StoreError>;
    /// Inserts or replaces a member link.
    async fn save_link(&self, tenant: &str, link: &MemberLink) -> Result<(), StoreError>;

    /// Opens a sync run.
    async fn start_run(&self, tenant: &str, kind: &str) -> Result<RunId, StoreError>;
    /// Closes a sync run with its summary.
    async fn finish_run(&self, run: RunId, summary: &serde_json::Value) -> Result<(), StoreError>;
    /// The newest runs of a tenant, newest first.
    async fn runs(&self, tenant: &str, limit: u32) -> Result<Vec<SyncRun>, StoreError>;

    /// Appends to an employee's history.
    async fn append_history(
        &self,
        tenant: &str,
        id: &EmployeeId,
        run: Option<RunId>,
        entry: &HistoryEntry,
    ) -> Result<(), StoreError>;
    /// An employee's history, oldest first, at most `limit` newest entries.
    async fn history(
        &self,
        tenant: &str,
        id: &EmployeeId,
        limit: u32,
    ) -> Result<Vec<HistoryRecord>, StoreError>;

    /// Every tenant, by key.
    async fn tenants(&self) -> Result<Vec<Tenant>, StoreError>;
    /// Removes a tenant and everything of it (employees, links, runs, history, jobs, keys,
    /// connection, OAuth states) in one transaction; false if it did not exist.
    async fn delete_tenant(&self, key: &str) -> Result<bool, StoreError>;

    /// [`Store::put_employee`], and when the outcome is [`PutOutcome::Stored`], enqueues a
    /// [`JobKind::SyncEmployee`] job in the same transaction.
    async fn put_employee_and_enqueue(
        &self,
        tenant: &str,
        employee: &Employee,
        version: i64,
    ) -> Result<PutOutcome, StoreError>;
    /// [`Store::remove_employee`], and when the outcome is [`PutOutcome::Stored`], enqueues
    /// a [`JobKind::SyncEmployee`] job in the same transaction.
    async fn remove_employee_and_enqueue(
        &self,
        tenant: &str,
        id: &EmployeeId,
        version: i64,
    ) -> Result<PutOutcome, StoreError>;
    /// Enqueues a job to run now, coalescing with a queued job of the same tenant, kind and
    /// employee (which is kept and returned) and replacing a failed one. `employee` must be
    /// `Some` exactly for [`JobKind::SyncEmployee`].
    async fn enqueue(
        &self,
        tenant: &str,
        kind: JobKind,
        employee: Option<&EmployeeId>,
    ) -> Result<JobId, StoreError>;
    /// Claims the oldest due job whose employee has no job running under a live lease
    /// (including running jobs whose lease expired), for `lease`. A tenant's
    /// [`JobKind::SyncTenant`] job and its other jobs never run at once.
    async fn claim_job(
        &self,
        worker: &str,
        lease: std::time::Duration,
    ) -> Result<Option<Job>, StoreError>;
    /// Removes a finished job; [`StoreError::LostLease`] unless `worker` holds it.
    async fn complete_job(&self, id: JobId, worker: &str) -> Result<(), StoreError>;
    /// Extends the lease of a running job `worker` holds to now + `lease` (a long job
    /// renews it as it goes); [`StoreError::LostLease`] unless `worker` holds it.
    async fn renew_job_lease(
        &self,
        id: JobId,
        worker: &str,
        lease: std::time::Duration,
    ) -> Result<(), StoreError>;
    /// Puts a running job back in the queue at `run_at` with the reason it failed;
    /// [`StoreError::LostLease`] unless `worker` holds it.
    async fn reschedule_job(
        &self,
        id: JobId,
        worker: &str,
        error: &str,
        run_at: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Puts a running job back in the queue at `run_at` without counting the attempt its
    /// claim added, keeping its last error: for a job that could not start (its tenant must
    /// reconnect Akiles), however long it waits. A later enqueue of its key makes it due
    /// now. [`StoreError::LostLease`] unless `worker` holds it.
    async fn defer_job(
        &self,
        id: JobId,
        worker: &str,
        run_at: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Moves every queued job of `tenant` due before `until` to `until` (its connection
    /// must be repaired first), in one write; returns how many moved.
    async fn defer_tenant_jobs(
        &self,
        tenant: &str,
        until: OffsetDateTime,
    ) -> Result<u64, StoreError>;
    /// Makes every queued job of `tenant` waiting for a later time due now (its connection
    /// is back), in one write; returns how many moved.
    async fn wake_tenant_jobs(&self, tenant: &str) -> Result<u64, StoreError>;
    /// Marks a running job failed with its reason, kept until retried;
    /// [`StoreError::LostLease`] unless `worker` holds it.
    async fn fail_job(&self, id: JobId, worker: &str, error: &str) -> Result<(), StoreError>;
    /// Puts every running job back in the queue (attempts and last error unchanged, folded
    /// into a queued job of its key if there is one) and returns how many there were. The
    /// service's run locks (holders `serve-…`) go too, and runs left without a live run
    /// lock are closed as interrupted.
    ///
    /// Only valid at startup of the single instance of the SQLite store: it releases leases
    /// that may still be live, so it must not run while any worker could hold one. A store
    /// shared by several instances (PostgreSQL) would release only expired leases.
    async fn release_leases(&self) -> Result<u64, StoreError>;
    /// Queues a failed job of `tenant` again, to run now with its attempts reset; false if
    /// it is not a failed job of that tenant.
    async fn retry_failed_job(&self, tenant: &str, id: JobId) -> Result<bool, StoreError>;
    /// Jobs, optionally of one tenant and one state, oldest first, at most `limit`.
    async fn jobs(
        &self,
        tenant: Option<&str>,
        state: Option<JobState>,
        limit: u32,
    ) -> Result<Vec<Job>, StoreError>;
    /// The number of jobs in each state (every state present, zero included).
    async fn queue_depth(&self) -> Result<BTreeMap<JobState, u64>, StoreError>;

    /// Creates an API key for a tenant; returns it with its secret, which is shown once and
    /// never stored (only its SHA-256 is).
    async fn create_api_key(
        &self,
        tenant: &str,
        label: &str,
    ) -> Result<(ApiKey, SecretString), StoreError>;
    /// The key whose secret this is, if any; notes its use (at most once a minute).
    async fn authenticate_api_key(&self, secret: &str) -> Result<Option<ApiKey>, StoreError>;
    /// A tenant's API keys, oldest first.
    async fn api_keys(&self, tenant: &str) -> Result<Vec<ApiKey>, StoreError>;
    /// Deletes an API key of the tenant; false if the tenant has no such key.
    async fn revoke_api_key(&self, tenant: &str, id: ApiKeyId) -> Result<bool, StoreError>;
    /// Sets (or with `None` clears) the secret that signs a tenant's pushes; sealed at rest.
    async fn set_signing_secret(
        &self,
        tenant: &str,
        secret: Option<&SecretString>,
    ) -> Result<(), StoreError>;
    /// The secret that signs a tenant's pushes, if set.
    async fn signing_secret(&self, tenant: &str) -> Result<Option<SecretString>, StoreError>;

    /// A tenant's Akiles connection, if one was ever saved.
    async fn connection(&self, tenant: &str) -> Result<Option<Connection>, StoreError>;
    /// Saves a connection whatever its stored revision; returns the new revision. The
    /// `revision` and `updated_at` fields of `connection` are ignored.
    async fn save_connection(&self, connection: &Connection) -> Result<i64, StoreError>;
    /// Saves a connection only if its stored revision is `expected_revision` (0: none is
    /// stored yet); returns the new revision, or `None` when someone else wrote first.
    async fn save_connection_if_revision(
        &self,
        connection: &Connection,
        expected_revision: i64,
    ) -> Result<Option<i64>, StoreError>;

    /// Remembers an OAuth `state` (stored as its SHA-256) with its tenant and PKCE verifier
    /// (sealed) until `expires_at`.
    async fn save_oauth_state(
        &self,
        state: &str,
        tenant: &str,
        pkce_verifier: &SecretString,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Takes (deletes and returns) the tenant and verifier of an OAuth `state`; `None` if it
    /// is unknown, already taken or expired. Purges every expired state.
    async fn take_oauth_state(
        &self,
        state: &str,
    ) -> Result<Option<(String, SecretString)>, StoreError>;

    /// Creates an admin, or replaces the password hash of an existing one.
    async fn upsert_admin(&self, username: &str, password_hash: &str) -> Result<(), StoreError>;
    /// One admin.
    async fn admin(&self, username: &str) -> Result<Option<Admin>, StoreError>;
    /// Every admin, by username.
    async fn admins(&self) -> Result<Vec<Admin>, StoreError>;

    /// Takes (or renews, for the same `holder`) the tenant's run lock until now + `lease`.
    /// False when another holder's lease has not expired: a run is already going.
    async fn try_lock_runs(
        &self,
        tenant: &str,
        holder: &str,
        lease: std::time::Duration,
    ) -> Result<bool, StoreError>;
    /// Releases the tenant's run lock if `holder` has it.
    async fn unlock_runs(&self, tenant: &str, holder: &str) -> Result<(), StoreError>;
    /// Takes (or renews, for the same `holder`) the database's service lease until now +
    /// `lease`; false while another process's lease is live (one `serve` per database).
    async fn try_hold_instance(
        &self,
        holder: &str,
        lease: std::time::Duration,
    ) -> Result<bool, StoreError>;
    /// Gives the service lease up if `holder` has it.
    async fn release_instance(&self, holder: &str) -> Result<(), StoreError>;
    /// Who holds the service lease, if anyone does now.
    async fn instance_holder(&self) -> Result<Option<String>, StoreError>;

    // Held deletions
    /// Records deletions the guard held. A row an admin approved stays approved; one
    /// rejected for the same record version stays rejected; any other becomes `held`.
    async fn hold_deletions(
        &self,
        tenant: &str,
        holds: &[NewHold],
        run: Option<RunId>,
        reason: &str,
    ) -> Result<(), StoreError>;
    /// Every held, approved or rejected deletion of the tenant, by employee id.
    async fn held_deletions(&self, tenant: &str) -> Result<Vec<HeldDeletion>, StoreError>;
    /// Approves or rejects waiting deletions (of `employees`, or all when `None`); returns
    /// how many rows changed. Approving also applies to rejected rows.
    async fn decide_deletions(
        &self,
        tenant: &str,
        employees: Option<&[EmployeeId]>,
        decision: HoldDecision,
        by: &str,
    ) -> Result<usize, StoreError>;
    /// Forgets an employee's row: the deletion was applied, or they have access again.
    async fn clear_held_deletion(
        &self,
        tenant: &str,
        employee: &EmployeeId,
    ) -> Result<(), StoreError>;

    // Deliveries
    /// Queues the e-mail of a new credential, due now; a credential already queued keeps
    /// its delivery, whose id is returned.
    async fn queue_delivery(
        &self,
        tenant: &str,
        delivery: &NewDelivery,
    ) -> Result<DeliveryId, StoreError>;
    /// Pending deliveries due at `now` (of one tenant, or of all), oldest first.
    async fn due_deliveries(
        &self,
        tenant: Option<&str>,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError>;
    /// Marks a pending delivery sent, counting the attempt; false if it was not pending.
    async fn mark_delivery_sent(&self, id: DeliveryId) -> Result<bool, StoreError>;
    /// Counts a failed attempt of a pending delivery and makes it due again at `at`; the
    /// error (free of the address and the credential) is sealed. False if not pending.
    async fn reschedule_delivery(
        &self,
        id: DeliveryId,
        error: &str,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Counts a failed attempt and gives a pending delivery up, with its reason, until an
    /// admin retries it. False if it was not pending.
    async fn fail_delivery(&self, id: DeliveryId, error: &str) -> Result<bool, StoreError>;
    /// Drops a pending delivery for good (the credential is gone), with the reason. False
    /// if it was not pending.
    async fn cancel_delivery(&self, id: DeliveryId, reason: &str) -> Result<bool, StoreError>;
    /// A tenant's deliveries, optionally of one employee, newest first, at most `limit`.
    async fn deliveries(
        &self,
        tenant: &str,
        employee: Option<&EmployeeId>,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError>;
    /// Makes a failed delivery of `tenant` pending again, due now, with its attempts reset;
    /// false if it is not a failed delivery of that tenant.
    async fn retry_delivery(&self, tenant: &str, id: DeliveryId) -> Result<bool, StoreError>;
    /// Sets (or with `None` clears) the password of the tenant's SMTP account; sealed at
    /// rest.
    async fn set_smtp_password(
        &self,
        tenant: &str,
        password: Option<&SecretString>,
    ) -> Result<(), StoreError>;
    /// The password of the tenant's SMTP account, if set.
    async fn smtp_password(&self, tenant: &str) -> Result<Option<SecretString>, StoreError>;
}

/// Identifies one delivery of the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DeliveryId(pub i64);

/// Which kind of credential a delivery sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    /// A keypad PIN.
    Pin,
    /// A magic link: a secret URL that opens the doors from a phone.
    MagicLink,
}

impl CredentialKind {
    /// The snake_case name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialKind::Pin => "pin",
            CredentialKind::MagicLink => "magic_link",
        }
    }

    /// Parses the stored name.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "pin" => CredentialKind::Pin,
            "magic_link" => CredentialKind::MagicLink,
            _ => return None,
        })
    }
}

/// Where a delivery is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting for `next_attempt_at`.
    Pending,
    /// The SMTP server accepted the message.
    Sent,
    /// Given up after its last attempt (or nowhere to send it); kept until retried.
    Failed,
    /// Dropped: the credential was deleted before it could be sent.
    Cancelled,
}

impl DeliveryState {
    /// The snake_case name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Sent => "sent",
            DeliveryState::Failed => "failed",
            DeliveryState::Cancelled => "cancelled",
        }
    }

    /// Parses the stored name.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "pending" => DeliveryState::Pending,
            "sent" => DeliveryState::Sent,
            "failed" => DeliveryState::Failed,
            "cancelled" => DeliveryState::Cancelled,
            _ => return None,
        })
    }
}

/// A credential to send: ids only, never the credential itself or the address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelivery {
    pub employee_id: EmployeeId,
    pub credential: CredentialKind,
    /// The Akiles member holding the credential.
    pub member_id: String,
    /// The Akiles id of the PIN or magic link.
    pub credential_id: String,
}

/// One delivery of the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: DeliveryId,
    pub tenant: String,
    pub employee_id: EmployeeId,
    pub credential: CredentialKind,
    pub member_id: String,
    pub credential_id: String,
    pub state: DeliveryState,
    /// Attempts made since it was queued or retried.
    pub attempts: u32,
    /// A pending delivery is not sent before this instant.
    pub next_attempt_at: OffsetDateTime,
    /// Why the last attempt failed or the delivery was cancelled. Sealed at rest.
    pub last_error: Option<String>,
    pub created_at: OffsetDateTime,
    pub sent_at: Option<OffsetDateTime>,
}
