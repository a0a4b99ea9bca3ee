//! A sync engine wired to real pieces (the emulator, the real client, an SQLite file),
//! plus the delivery settings pointing at a test SMTP server.

use std::sync::Arc;
use std::time::Duration;

use akiles_client::{Client, ClientConfig, RateLimit, RetryPolicy, StaticToken};
use akiles_emulator::{EmulatorConfig, RunningEmulator};
use credential_delivery::{
    DeliverySettings, SendContext, SendReport, SmtpSecurity, SmtpSettings, send_due,
};
use hr_domain::{
    CredentialSettings, Email, Employee, EmployeeId, EmploymentStatus, FixedClock, HrGroup,
    PersonName, TimeZone,
};
use secrecy::SecretString;
use sync_engine::apply::Deliver;
use sync_engine::desired::DEFAULT_NAME_MAX_BYTES;
use sync_engine::run::{NoProgress, RunOptions, SnapshotContext};
use sync_engine::{MappingSpec, RunReport, sync_snapshot};
use sync_store::{DataKey, Delivery, HistoryRecord, SqliteStore, Store};
use tempfile::TempDir;
use time::OffsetDateTime;
use time::macros::datetime;

use crate::smtp::SmtpServer;

pub const NOW: OffsetDateTime = datetime!(2026-03-02 08:00 UTC);
pub const TENANT: &str = "acme";
pub const ANA_EMAIL: &str = "ana.lopez@example.com";

/// The engine, its emulator and store, and the credentials it creates.
pub struct World {
    _emulator: RunningEmulator,
    pub client: Client,
    pub store: Arc<SqliteStore>,
    pub clock: Arc<FixedClock>,
    pub credentials: CredentialSettings,
    mapping: MappingSpec,
    _dir: TempDir,
}

impl World {
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
        let mut mapping = MappingSpec::default();
        mapping
            .groups
            .insert("Sales".to_owned(), vec!["Sales".to_owned()]);

        Self {
            _emulator: emulator,
            client,
            store: Arc::new(store),
            clock,
            credentials: CredentialSettings {
                pin: true,
                magic_link: true,
                ..CredentialSettings::default()
            },
            mapping,
            _dir: dir,
        }
    }

    /// Runs a snapshot, queueing deliveries as `deliver` says.
    pub async fn sync(&self, employees: &[Employee], deliver: Deliver) -> RunReport {
        let ctx = SnapshotContext {
            api: &self.client,
            store: self.store.as_ref(),
            clock: self.clock.as_ref(),
            tenant: TENANT,
            mapping: &self.mapping,
            credentials: self.credentials,
            name_max_bytes: DEFAULT_NAME_MAX_BYTES,
            time_zone: &TimeZone::utc(),
            deliver,
            guard: sync_engine::DeletionGuard::default(),
        };
        let options = RunOptions {
            dry_run: false,
            concurrency: 2,
            now: NOW,
        };
        sync_snapshot(ctx, employees.to_vec(), options, &NoProgress)
            .await
            .unwrap()
    }

    /// Sends the due deliveries through `settings`.
    pub async fn send(
        &self,
        settings: &DeliverySettings,
        password: Option<&SecretString>,
    ) -> SendReport {
        let ctx = SendContext {
            store: self.store.as_ref(),
            api: &self.client,
            clock: self.clock.as_ref(),
            tenant: TENANT,
            settings,
            password,
        };
        send_due(ctx, 50).await.unwrap()
    }

    /// Moves the clock on.
    pub fn advance(&self, by: Duration) {
        self.clock
            .set(hr_domain::Clock::now(self.clock.as_ref()) + by);
    }

    pub async fn deliveries(&self) -> Vec<Delivery> {
        self.store.deliveries(TENANT, None, 50).await.unwrap()
    }

    /// The `delivery` entries of an employee's history, oldest first.
    pub async fn delivery_history(&self, employee: &str) -> Vec<HistoryRecord> {
        let history = self
            .store
            .history(TENANT, &id(employee), 100)
            .await
            .unwrap();
        history
            .into_iter()
            .filter(|record| record.entry.kind == "delivery")
            .collect()
    }

    /// The member standing for an employee.
    pub async fn member_id(&self, employee: &str) -> String {
        let link = self
            .store
            .link(TENANT, &id(employee))
            .await
            .unwrap()
            .unwrap();
        link.member_id.unwrap()
    }
}

/// Delivery of both kinds through `server`, without a login.
pub fn settings(server: &SmtpServer) -> DeliverySettings {
    settings_at(server.port)
}

/// Delivery of both kinds through the SMTP server at `port` on 127.0.0.1, without a login.
pub fn settings_at(port: u16) -> DeliverySettings {
    DeliverySettings {
        pin: true,
        magic_link: true,
        smtp: Some(SmtpSettings {
            host: "127.0.0.1".to_owned(),
            port,
            security: SmtpSecurity::None,
            username: None,
            from: "Acme Doors <doors@example.com>".to_owned(),
            timeout_secs: 10,
        }),
        templates: Default::default(),
    }
}

/// Queue deliveries of PINs only, of magic links only, or of neither.
pub const PINS: Deliver = Deliver {
    pin: true,
    magic_link: false,
};
pub const LINKS: Deliver = Deliver {
    pin: false,
    magic_link: true,
};
pub const NOTHING: Deliver = Deliver {
    pin: false,
    magic_link: false,
};

pub fn id(text: &str) -> EmployeeId {
    EmployeeId::parse(text).unwrap()
}

/// An active employee in Sales, with a work e-mail when given.
pub fn employee(employee_id: &str, name: &str, email: Option<&str>) -> Employee {
    Employee {
        id: id(employee_id),
        name: PersonName::parse(name).unwrap(),
        email: email.map(|address| Email::parse(address).unwrap()),
        groups: [HrGroup::parse("Sales").unwrap()].into_iter().collect(),
        status: EmploymentStatus::Active,
        start_date: None,
        end_date: None,
        card: None,
        attributes: Vec::new(),
    }
}

/// Ana, with a work e-mail.
pub fn ana() -> Employee {
    employee("E-1", "Ana López", Some(ANA_EMAIL))
}

fn test_client(emulator: &RunningEmulator) -> Client {
    let mut config = ClientConfig::new(emulator.base_url().parse().unwrap());
    config.timeout = Duration::from_secs(2);
    config.connect_timeout = Duration::from_secs(2);
    config.rate = RateLimit {
        per_second: 2000,
        burst: 2000,
    };
    config.retry = RetryPolicy {
        max_retries: 2,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(50),
        max_retry_after: Duration::from_secs(1),
    };
    Client::new(config, Arc::new(StaticToken::new(emulator.api_key()))).unwrap()
}
