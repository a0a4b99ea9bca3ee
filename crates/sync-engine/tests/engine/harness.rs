//! The engine under test, wired to real pieces: an emulator on port 0, the real client,
//! and an SQLite store on a temporary file. Plus terse builders for employees and helpers
//! that read the emulator's state.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use akiles_client::{Client, ClientConfig, NewMemberGroup, RateLimit, RetryPolicy, StaticToken};
use akiles_emulator::{EmulatorConfig, Faults, RunningEmulator};
use akiles_types::Member;
use hr_domain::{
    CardCredential, CardKind, CredentialSettings, Email, Employee, EmployeeId, EmploymentStatus,
    FixedClock, HrGroup, PersonName, TimeZone,
};
use sync_engine::desired::DEFAULT_NAME_MAX_BYTES;
use sync_engine::run::{NoProgress, RunOptions, SnapshotContext};
use sync_engine::{Akiles, MappingSpec, RunReport, sync_snapshot};
use sync_store::{DataKey, SqliteStore, Store};
use tempfile::TempDir;
use time::macros::{date, datetime};
use time::{Date, OffsetDateTime};

/// The suite's "now" and calendar day.
pub const NOW: OffsetDateTime = datetime!(2026-03-02 08:00 UTC);
pub const TODAY: Date = date!(2026 - 03 - 02);

/// The tenant every test uses.
pub const TENANT: &str = "acme";

/// Per-attempt timeout of the test client: short, so a hung reply costs little.
pub const CLIENT_TIMEOUT: Duration = Duration::from_millis(800);

/// One engine wired to its own emulator and store.
pub struct TestEngine {
    pub emulator: RunningEmulator,
    pub client: Client,
    pub store: Arc<SqliteStore>,
    pub clock: Arc<FixedClock>,
    pub mapping: MappingSpec,
    pub credentials: CredentialSettings,
    pub name_max_bytes: usize,
    pub concurrency: usize,
    pub time_zone: TimeZone,
    pub guard: sync_engine::DeletionGuard,
    _dir: TempDir,
}

impl TestEngine {
    /// An engine on a fresh emulator, with the HR groups "Production", "Sales" and
    /// "IT/IS" mapped to the seeded groups of the same name and no credentials enabled.
    pub async fn spawn() -> Self {
        let emulator = akiles_emulator::spawn(EmulatorConfig::default())
            .await
            .unwrap();
        let client = test_client(&emulator);
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(FixedClock::new(NOW));
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("sync.db").display());
        let store = SqliteStore::connect(&url, DataKey::generate(), clock.clone())
            .await
            .unwrap();
        store.ensure_tenant(TENANT).await.unwrap();

        Self {
            emulator,
            client,
            store: Arc::new(store),
            clock,
            mapping: mapping(&[
                ("Production", "Production"),
                ("Sales", "Sales"),
                ("IT/IS", "IT/IS"),
            ]),
            credentials: CredentialSettings::default(),
            name_max_bytes: DEFAULT_NAME_MAX_BYTES,
            concurrency: 4,
            time_zone: TimeZone::utc(),
            guard: sync_engine::DeletionGuard::default(),
            _dir: dir,
        }
    }

    /// Runs a snapshot through the real client.
    pub async fn sync(&self, employees: impl AsRef<[Employee]>) -> RunReport {
        self.sync_via(&self.client, employees).await
    }

    /// Runs a snapshot through any [`Akiles`] (e.g. a fault-injecting wrapper).
    pub async fn sync_via(&self, api: &dyn Akiles, employees: impl AsRef<[Employee]>) -> RunReport {
        self.run(api, employees.as_ref(), false).await
    }

    /// Runs a snapshot for another tenant on the same emulator and store.
    pub async fn sync_as(&self, tenant: &str, employees: impl AsRef<[Employee]>) -> RunReport {
        let ctx = SnapshotContext {
            api: &self.client,
            store: self.store.as_ref(),
            clock: self.clock.as_ref(),
            tenant,
            mapping: &self.mapping,
            credentials: self.credentials,
            name_max_bytes: self.name_max_bytes,
            time_zone: &self.time_zone,
            deliver: sync_engine::apply::Deliver::default(),
            guard: self.guard,
        };
        let options = RunOptions {
            dry_run: false,
            concurrency: self.concurrency,
            now: hr_domain::Clock::now(self.clock.as_ref()),
        };
        sync_snapshot(ctx, employees.as_ref().to_vec(), options, &NoProgress)
            .await
            .unwrap()
    }

    /// Plans a snapshot without changing anything.
    pub async fn dry_run(&self, employees: impl AsRef<[Employee]>) -> RunReport {
        self.run(&self.client, employees.as_ref(), true).await
    }

    /// A full reconcile of the stored records against the emulator.
    pub async fn reconcile(&self) -> RunReport {
        let options = RunOptions {
            dry_run: false,
            concurrency: self.concurrency,
            now: hr_domain::Clock::now(self.clock.as_ref()),
        };
        sync_engine::run::reconcile(self.context(&self.client), options, &NoProgress)
            .await
            .unwrap()
    }

    /// The preview of a snapshot (`Some`) or of a reconcile (`None`); changes nothing.
    pub async fn preview(&self, employees: Option<&[Employee]>) -> sync_engine::run::Preview {
        let ctx = self.context(&self.client);
        let now = hr_domain::Clock::now(self.clock.as_ref());
        let prepared = match employees {
            Some(employees) => {
                sync_engine::run::prepare_snapshot(ctx, employees.to_vec(), now).await
            }
            None => sync_engine::run::prepare_reconcile(ctx, now).await,
        };
        prepared.unwrap().preview()
    }

    fn context<'a>(&'a self, api: &'a dyn Akiles) -> SnapshotContext<'a> {
        SnapshotContext {
            api,
            store: self.store.as_ref(),
            clock: self.clock.as_ref(),
            tenant: TENANT,
            mapping: &self.mapping,
            credentials: self.credentials,
            name_max_bytes: self.name_max_bytes,
            time_zone: &self.time_zone,
            deliver: sync_engine::apply::Deliver::default(),
            guard: self.guard,
        }
    }

    async fn run(&self, api: &dyn Akiles, employees: &[Employee], dry_run: bool) -> RunReport {
        let ctx = SnapshotContext {
            api,
            store: self.store.as_ref(),
            clock: self.clock.as_ref(),
            tenant: TENANT,
            mapping: &self.mapping,
            credentials: self.credentials,
            name_max_bytes: self.name_max_bytes,
            time_zone: &self.time_zone,
            deliver: sync_engine::apply::Deliver::default(),
            guard: self.guard,
        };
        let options = RunOptions {
            dry_run,
            concurrency: self.concurrency,
            now: hr_domain::Clock::now(self.clock.as_ref()),
        };
        sync_snapshot(ctx, employees.to_vec(), options, &NoProgress)
            .await
            .unwrap()
    }

    /// Creates a member group in Akiles and returns its id.
    pub async fn create_group(&self, name: &str) -> String {
        let body = NewMemberGroup {
            name: name.to_owned(),
            ..NewMemberGroup::default()
        };
        self.client.create_member_group(&body).await.unwrap().id
    }

    /// The id of a live member group.
    pub fn group_id(&self, name: &str) -> String {
        self.emulator
            .member_group_id(name)
            .unwrap_or_else(|| panic!("no member group {name:?}"))
    }

    /// Installs `rules` as the emulator's only faults.
    pub fn set_faults(&self, rules: Vec<akiles_emulator::FaultRule>) {
        self.emulator.set_faults(Faults {
            rules,
            ..Faults::default()
        });
    }

    /// How often the emulator saw `"METHOD /v2/route/{template}"` since the last reset.
    pub fn calls(&self, route: &str) -> u64 {
        self.emulator.calls().get(route).copied().unwrap_or(0)
    }

    /// Every live member.
    pub fn live_members(&self) -> Vec<Member> {
        let members = self.emulator.members().into_iter();
        members.filter(|m| !m.is_deleted).collect()
    }

    /// The live members carrying the ownership marker and this employee id.
    pub fn owned_members_of(&self, employee_id: &str) -> Vec<Member> {
        let is_theirs = |m: &Member| {
            m.metadata.get("managed_by").map(String::as_str) == Some("akiles-hr-sync")
                && m.metadata.get("employee_id").map(String::as_str) == Some(employee_id)
        };
        self.live_members().into_iter().filter(is_theirs).collect()
    }

    /// The one live owned member of an employee; fails the test otherwise.
    pub fn member_of(&self, employee_id: &str) -> Member {
        let mut members = self.owned_members_of(employee_id);
        assert_eq!(members.len(), 1, "live owned members of {employee_id}");
        members.remove(0)
    }
}

/// A client pointed at `emulator`: short timeout, a generous budget and fast backoff, but
/// `Retry-After` honoured as in production.
pub fn test_client(emulator: &RunningEmulator) -> Client {
    let mut config = ClientConfig::new(emulator.base_url().parse().unwrap());
    config.timeout = CLIENT_TIMEOUT;
    config.connect_timeout = Duration::from_secs(2);
    config.rate = RateLimit {
        per_second: 2000,
        burst: 2000,
    };
    config.retry = RetryPolicy {
        max_retries: 4,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(50),
        max_retry_after: Duration::from_secs(5),
    };
    Client::new(config, Arc::new(StaticToken::new(emulator.api_key()))).unwrap()
}

/// A mapping from HR group names to Akiles group references (names or `mg_…` ids).
pub fn mapping(pairs: &[(&str, &str)]) -> MappingSpec {
    let mut spec = MappingSpec::default();
    for (hr_group, akiles_group) in pairs {
        spec.groups
            .entry((*hr_group).to_owned())
            .or_default()
            .push((*akiles_group).to_owned());
    }
    spec
}

pub fn id(text: &str) -> EmployeeId {
    EmployeeId::parse(text).unwrap()
}

/// An active employee in the given HR groups, with no e-mail, card or dates.
pub fn employee(employee_id: &str, name: &str, groups: &[&str]) -> Employee {
    Employee {
        id: id(employee_id),
        name: PersonName::parse(name).unwrap(),
        email: None,
        groups: groups.iter().filter_map(|g| HrGroup::parse(g)).collect(),
        status: EmploymentStatus::Active,
        start_date: None,
        end_date: None,
        card: None,
        attributes: Vec::new(),
    }
}

/// Terse changes to an [`Employee`], each returning the changed copy.
pub trait EmployeeExt: Sized {
    fn email(self, address: &str) -> Self;
    fn card(self, uid: &str) -> Self;
    fn named(self, name: &str) -> Self;
    fn in_groups(self, groups: &[&str]) -> Self;
    fn terminated(self) -> Self;
    fn attribute(self, key: &str, value: &str) -> Self;
}

impl EmployeeExt for Employee {
    fn email(mut self, address: &str) -> Self {
        self.email = Some(Email::parse(address).unwrap());
        self
    }

    fn card(mut self, uid: &str) -> Self {
        self.card = Some(CardCredential::parse(CardKind::Uid, uid).unwrap());
        self
    }

    fn named(mut self, name: &str) -> Self {
        self.name = PersonName::parse(name).unwrap();
        self
    }

    fn in_groups(mut self, groups: &[&str]) -> Self {
        self.groups = groups.iter().filter_map(|g| HrGroup::parse(g)).collect();
        self
    }

    fn terminated(mut self) -> Self {
        self.status = EmploymentStatus::Terminated;
        self
    }

    fn attribute(mut self, key: &str, value: &str) -> Self {
        self.attributes.push((key.to_owned(), value.to_owned()));
        self
    }
}

/// The live items of an expanded sub-object list.
pub fn live<T>(items: &Option<Vec<T>>, is_deleted: impl Fn(&T) -> bool) -> Vec<&T> {
    items.iter().flatten().filter(|i| !is_deleted(i)).collect()
}

/// Member group ids of a member's live associations.
pub fn association_groups(member: &Member) -> BTreeSet<String> {
    live(&member.group_associations, |a| a.is_deleted)
        .into_iter()
        .map(|a| a.member_group_id.clone())
        .collect()
}

/// Number of live e-mails, PINs, magic links and cards of a member.
pub fn live_emails(member: &Member) -> Vec<String> {
    live(&member.emails, |e| e.is_deleted)
        .into_iter()
        .map(|e| e.email.clone())
        .collect()
}

pub fn live_pins(member: &Member) -> usize {
    live(&member.pins, |p| p.is_deleted).len()
}
