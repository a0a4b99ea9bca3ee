//! Fresh stores, a settable clock and made-up employees for the suite.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use hr_domain::{Email, Employee, EmployeeId, EmploymentStatus, FixedClock, HrGroup, PersonName};
use sync_store::{DataKey, SqliteStore, Store};
use tempfile::TempDir;
use time::macros::{date, datetime};
use time::{Duration, OffsetDateTime};

/// The suite's clock starts here.
pub const START: OffsetDateTime = datetime!(2026-03-01 09:00 UTC);

/// The tenant most tests use.
pub const ACME: &str = "acme";

/// A store on a fresh database, its clock, and whatever keeps the database alive.
pub struct TestStore {
    pub store: Arc<dyn Store>,
    pub clock: Arc<FixedClock>,
    _dir: TempDir,
}

impl TestStore {
    /// Moves the clock to `minutes` after [`START`] and returns that instant.
    pub fn at_minute(&self, minutes: i64) -> OffsetDateTime {
        let at = START + Duration::minutes(minutes);
        self.clock.set(at);
        at
    }

    /// A store with the tenant [`ACME`] already created.
    pub async fn with_acme(&self) -> &Self {
        self.store.ensure_tenant(ACME).await.unwrap();
        self
    }
}

impl std::ops::Deref for TestStore {
    type Target = dyn Store;

    fn deref(&self) -> &Self::Target {
        self.store.as_ref()
    }
}

/// An SQLite database file in its own temporary directory, removed on drop.
pub struct SqliteFile {
    pub dir: TempDir,
    pub key: DataKey,
    pub clock: Arc<FixedClock>,
}

impl SqliteFile {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            key: DataKey::generate(),
            clock: Arc::new(FixedClock::new(START)),
        }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().join("sync.db")
    }

    pub fn url(&self) -> String {
        format!("sqlite://{}?mode=rwc", self.path().display())
    }

    /// Opens the file with this file's data key.
    pub async fn open(&self) -> SqliteStore {
        self.open_with(self.key.clone()).await
    }

    /// Opens the file with another data key.
    pub async fn open_with(&self, key: DataKey) -> SqliteStore {
        SqliteStore::connect(&self.url(), key, self.clock.clone())
            .await
            .unwrap()
    }
}

/// A store on a fresh SQLite file.
pub async fn sqlite_store() -> TestStore {
    let file = SqliteFile::new();
    let store = file.open().await;
    TestStore {
        store: Arc::new(store),
        clock: file.clock,
        _dir: file.dir,
    }
}

/// The suite's only real-looking person; tests look for these bytes at rest.
pub const NAME: &str = "Zoë Dvořák";
pub const EMAIL: &str = "zoe.dvorak@example.com";

pub fn id(text: &str) -> EmployeeId {
    EmployeeId::parse(text).unwrap()
}

/// An active employee with a name, an e-mail, one group and one attribute.
pub fn employee(employee_id: &str) -> Employee {
    Employee {
        id: id(employee_id),
        name: PersonName::parse(NAME).unwrap(),
        email: Some(Email::parse(EMAIL).unwrap()),
        groups: BTreeSet::from([HrGroup::parse("Production").unwrap()]),
        status: EmploymentStatus::Active,
        start_date: Some(date!(2026 - 01 - 05)),
        end_date: None,
        card: None,
        attributes: vec![("cost_center".to_owned(), "CC-42".to_owned())],
    }
}

/// The same employee under another name.
pub fn renamed(employee_id: &str, name: &str) -> Employee {
    Employee {
        name: PersonName::parse(name).unwrap(),
        ..employee(employee_id)
    }
}
