//! The store interface and the records it exchanges.

use std::collections::BTreeMap;

use async_trait::async_trait;
use hr_domain::{Employee, EmployeeId};
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

    /// Stores a record when `version` is newer than the stored one (a stale version is
    /// ignored); marks the employee present again.
    async fn put_employee(
        &self,
        tenant: &str,
        employee: &Employee,
        version: i64,
    ) -> Result<PutOutcome, StoreError>;
    /// Marks an employee as gone from the source, if `version` is newer.
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
}
