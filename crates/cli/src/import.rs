//! `akiles-hr-sync import FILE --config CONFIG`: a file export as a complete snapshot.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use akiles_client::{Client, ClientConfig, ClientError, RateLimit, StaticToken};
use anyhow::{Context, bail};
use clap::Args;
use hr_domain::{Clock, Employee, SystemClock};
use sync_engine::run::{
    NoProgress, PreparedSnapshot, RunError, SnapshotContext, prepare_reconcile, prepare_snapshot,
};
use sync_engine::{Config, RunReport, source};
use sync_store::{SqliteStore, Store};

use crate::{keys, output};

/// Default store: a SQLite file in the current directory.
pub const DEFAULT_DATABASE: &str = "sqlite://akiles-hr-sync.db?mode=rwc";

/// Options of `akiles-hr-sync import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The HR export: CSV or JSON, read as the complete list of employees.
    pub file: PathBuf,
    #[command(flatten)]
    pub target: Target,
    /// Print the plan and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the plan of every employee.
    #[arg(short, long)]
    pub verbose: bool,
}

/// The configuration file and the overrides of where Akiles and the store are.
#[derive(Debug, Args)]
pub struct Target {
    /// The configuration file (TOML): columns, mapping, credentials, Akiles.
    #[arg(long)]
    pub config: PathBuf,
    /// Akiles API base URL (overrides `akiles.url`).
    #[arg(long, env = "AKILES_URL")]
    pub akiles_url: Option<String>,
    /// Akiles Bearer token: an OAuth access token or an API key (overrides `akiles.token`).
    #[arg(long, env = "AKILES_TOKEN", hide_env_values = true)]
    pub akiles_token: Option<String>,
    /// Store URL (overrides `database`; default sqlite://akiles-hr-sync.db?mode=rwc).
    #[arg(long, env = "AKILES_HR_SYNC_DATABASE")]
    pub database: Option<String>,
}

/// The configuration, an Akiles client and the store of one run.
pub struct Opened {
    pub config: Config,
    pub client: Client,
    pub store: Arc<dyn Store>,
}

impl Target {
    /// Loads the configuration (without connecting to anything).
    pub fn config(&self) -> anyhow::Result<Config> {
        Ok(Config::load(&self.config)?)
    }

    /// Builds the client and opens the store named by the configuration and overrides.
    pub async fn open(self, config: Config) -> anyhow::Result<Opened> {
        let url = self.akiles_url.or_else(|| config.akiles.url.clone());
        let token = self.akiles_token.or_else(|| config.akiles.token.clone());
        let database = self.database.or_else(|| config.database.clone());
        let client = build_client(&config, url.as_deref(), token.as_deref())?;
        let store = open_store(database.as_deref().unwrap_or(DEFAULT_DATABASE)).await?;
        Ok(Opened {
            config,
            client,
            store,
        })
    }
}

/// Runs `import`.
pub async fn run(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let config = args.target.config()?;
    let employees = match read_export(&args.file, &config) {
        Ok(employees) => employees,
        Err(error) => {
            eprintln!(
                "error: {}: {:#}",
                args.file.display(),
                anyhow::Error::new(error)
            );
            return Ok(ExitCode::from(2));
        }
    };
    let opened = args.target.open(config).await?;
    let outcome = import(
        &opened.config,
        employees,
        &opened.client,
        opened.store.as_ref(),
        args.dry_run,
        args.verbose,
    )
    .await;
    finish(outcome)
}

/// The exit code of a run's outcome, printing a failure's cause.
pub fn finish(outcome: anyhow::Result<RunReport>) -> anyhow::Result<ExitCode> {
    match outcome {
        Ok(report) => Ok(exit_code(&report)),
        Err(error) => match failure_kind(&error) {
            Failure::Input => Err(error),
            Failure::Service { hint } => {
                eprintln!("error: {error:#}");
                if let Some(hint) = hint {
                    eprintln!("hint: {hint}");
                }
                Ok(ExitCode::from(1))
            }
        },
    }
}

/// What a failed run says about its cause, which sets the exit code.
#[derive(Debug, PartialEq, Eq)]
enum Failure {
    /// The input or the configuration is wrong: exit 2 (`main` prints it).
    Input,
    /// Akiles or the store failed although the input was fine: exit 1.
    Service { hint: Option<&'static str> },
}

fn failure_kind(error: &anyhow::Error) -> Failure {
    match error.downcast_ref::<RunError>() {
        Some(RunError::Read { source, .. }) => Failure::Service {
            hint: akiles_hint(source),
        },
        Some(RunError::Store(_)) => Failure::Service { hint: None },
        // A mapping Akiles cannot resolve is a configuration error.
        _ => Failure::Input,
    }
}

/// The likeliest fix when reading from Akiles failed.
fn akiles_hint(error: &ClientError) -> Option<&'static str> {
    match error {
        ClientError::NotFound { .. } => Some("check that the Akiles URL ends in /v2"),
        ClientError::Unauthorized { .. } => {
            Some("check the Akiles token (--akiles-token or AKILES_TOKEN)")
        }
        ClientError::Transport { .. } | ClientError::Timeout { .. } => {
            Some("check the Akiles URL and that the server is reachable")
        }
        _ => None,
    }
}

/// Reads and validates the export named on the command line.
pub fn read_export(file: &Path, config: &Config) -> Result<Vec<Employee>, source::SourceError> {
    source::read_file(file, &config.source)
}

/// A client for the configured organization.
pub fn build_client(
    config: &Config,
    url: Option<&str>,
    token: Option<&str>,
) -> anyhow::Result<Client> {
    let Some(url) = url else {
        bail!("no Akiles URL: set akiles.url in the configuration, --akiles-url or AKILES_URL");
    };
    let Some(token) = token.filter(|t| !t.trim().is_empty()) else {
        bail!("no Akiles token: set --akiles-token or AKILES_TOKEN (or akiles.token)");
    };
    let url =
        url::Url::parse(url).with_context(|| format!("the Akiles URL {url:?} is not a URL"))?;
    let mut client_config = ClientConfig::new(url);
    client_config.timeout = Duration::from_secs(config.akiles.timeout_secs);
    let rate = config.akiles.rate_per_second;
    client_config.rate = RateLimit {
        per_second: rate,
        burst: rate,
    };
    client_config.user_agent = concat!("akiles-hr-sync/", env!("CARGO_PKG_VERSION")).to_owned();
    let token = Arc::new(StaticToken::new(token.trim().to_owned()));
    Client::new(client_config, token).context("cannot build the Akiles client")
}

/// Opens (and migrates) the store.
pub async fn open_store(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    if !url.starts_with("sqlite:") {
        bail!("unsupported database URL {url:?}: only sqlite: URLs are supported so far");
    }
    let key = keys::data_key(url)?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = SqliteStore::connect(url, key, clock)
        .await
        .with_context(|| format!("cannot open the database {}", redact_url(url)))?;
    Ok(Arc::new(store))
}

fn redact_url(url: &str) -> String {
    url.split('?').next().unwrap_or(url).to_owned()
}

/// Where a run's employee records come from.
#[derive(Debug)]
pub enum Records {
    /// A complete export, stored and applied (`import`).
    Snapshot(Vec<Employee>),
    /// The records already in the store (`reconcile`).
    Stored,
}

/// Plans, prints the plan, applies it (unless dry run) and prints the outcome.
pub async fn import(
    config: &Config,
    employees: Vec<Employee>,
    client: &Client,
    store: &dyn Store,
    dry_run: bool,
    verbose: bool,
) -> anyhow::Result<RunReport> {
    let records = Records::Snapshot(employees);
    run_sync(config, records, client, store, dry_run, verbose).await
}

/// The fixed inputs of a run of `config`.
pub fn context<'a>(
    config: &'a Config,
    client: &'a Client,
    store: &'a dyn Store,
    clock: &'a SystemClock,
) -> SnapshotContext<'a> {
    SnapshotContext {
        api: client,
        store,
        clock,
        tenant: &config.tenant,
        mapping: &config.mapping,
        credentials: config.credentials,
        name_max_bytes: config.sync.member_name_max_bytes,
        time_zone: &config.sync.time_zone,
        deliver: sync_engine::apply::Deliver {
            pin: config.delivery.pin,
            magic_link: config.delivery.magic_link,
        },
        guard: config.deletion_guard,
    }
}

/// Saves the configuration's sync settings as the tenant's.
pub async fn save_settings(config: &Config, store: &dyn Store) -> anyhow::Result<()> {
    let settings = serde_json::json!({
        "mapping": config.mapping,
        "credentials": config.credentials,
        "member_name_max_bytes": config.sync.member_name_max_bytes,
        "time_zone": config.sync.time_zone,
        "deletion_guard": config.deletion_guard,
        "delivery": config.delivery,
    });
    store
        .save_tenant_settings(&config.tenant, &settings)
        .await
        .context("cannot save the tenant's settings")
}

/// Prepares a run of `records`: reads Akiles once and plans everyone.
pub async fn prepare<'a>(
    ctx: SnapshotContext<'a>,
    records: Records,
    now: time::OffsetDateTime,
) -> anyhow::Result<PreparedSnapshot<'a>> {
    let prepared = match records {
        Records::Snapshot(employees) => prepare_snapshot(ctx, employees, now).await,
        Records::Stored => prepare_reconcile(ctx, now).await,
    };
    prepared.context("planning failed")
}

/// A sync run of `config` over `records`: plan, print, and (unless `dry_run`) apply
/// under the tenant's run lock.
pub async fn run_sync(
    config: &Config,
    records: Records,
    client: &Client,
    store: &dyn Store,
    dry_run: bool,
    verbose: bool,
) -> anyhow::Result<RunReport> {
    let clock = SystemClock;
    store
        .ensure_tenant(&config.tenant)
        .await
        .context("cannot prepare the tenant")?;
    if !dry_run {
        save_settings(config, store).await?;
    }
    let now = clock.now();
    if let Records::Snapshot(employees) = &records {
        output::print_snapshot(employees, config.sync.time_zone.date_at(now));
    }

    let ctx = context(config, client, store, &clock);
    if dry_run {
        let prepared = prepare(ctx, records, now).await?;
        let planned = prepared.plan_report(&NoProgress);
        output::print_plan(&planned, verbose);
        output::print_problems(&planned);
        say!("Dry run: nothing was changed.");
        return Ok(planned);
    }

    let holder = format!("run-{}-{:08x}", std::process::id(), rand::random::<u32>());
    let locked = store
        .try_lock_runs(&config.tenant, &holder, RUN_LOCK_LEASE)
        .await
        .context("cannot take the tenant's run lock")?;
    if !locked {
        bail!(
            "another sync run for tenant {} is in progress; try again when it has finished \
             (a stopped run's lock expires {} s after it stopped)",
            config.tenant,
            RUN_LOCK_LEASE.as_secs()
        );
    }
    let result = tokio::select! {
        result = plan_and_apply(ctx, records, now, config, client, verbose) => result,
        error = keep_lock(store, &config.tenant, &holder) => Err(error),
    };
    if let Err(e) = store.unlock_runs(&config.tenant, &holder).await {
        tracing::warn!(error = %e, "Could not release the run lock; it expires by itself");
    }
    if result.is_ok() && config.delivery.enabled() {
        send_deliveries(config, client, store, &clock).await;
    }
    result
}

/// The variable holding the password of `delivery.smtp.username`.
pub const SMTP_PASSWORD_VAR: &str = "AKILES_HR_SYNC_SMTP_PASSWORD";

/// Deliveries sent per run at most; the rest wait for the next run.
const DELIVERY_BATCH: u32 = 10_000;

/// Sends the due credential e-mails after a run and prints one line. A failure is
/// reported and tried again on the next run; it never changes the exit code.
async fn send_deliveries(config: &Config, client: &Client, store: &dyn Store, clock: &SystemClock) {
    let password = std::env::var(SMTP_PASSWORD_VAR)
        .ok()
        .filter(|p| !p.is_empty())
        .map(secrecy::SecretString::from);
    let ctx = credential_delivery::SendContext {
        store,
        api: client,
        clock,
        tenant: &config.tenant,
        settings: &config.delivery,
        password: password.as_ref(),
    };
    match credential_delivery::send_due(ctx, DELIVERY_BATCH).await {
        Ok(report) => {
            output::print_deliveries(&report);
            print_undelivered(store, &config.tenant).await;
        }
        Err(error) => eprintln!(
            "warning: credential e-mails were not sent (tried again on the next run): {:#}",
            anyhow::Error::new(error)
        ),
    }
}

/// One line about e-mails still waiting or given up on, from earlier runs as well.
async fn print_undelivered(store: &dyn Store, tenant: &str) {
    let deliveries = match store.deliveries(tenant, None, DELIVERY_BATCH).await {
        Ok(deliveries) => deliveries,
        Err(e) => {
            tracing::warn!(error = %e, "Could not count the deliveries still waiting");
            return;
        }
    };
    let count = |state| deliveries.iter().filter(|d| d.state == state).count();
    let (waiting, given_up) = (
        count(sync_store::DeliveryState::Pending),
        count(sync_store::DeliveryState::Failed),
    );
    if waiting + given_up > 0 {
        say!(
            "Credential e-mails not delivered yet: {waiting} waiting for a later run, \
             {given_up} given up (see the employees' history; check the SMTP settings)"
        );
    }
}

/// How long the run lock lasts without renewal; renewed every third of it.
const RUN_LOCK_LEASE: Duration = Duration::from_secs(90);

/// Renews the run lock until the run ends; returns only if the lock is lost.
async fn keep_lock(store: &dyn Store, tenant: &str, holder: &str) -> anyhow::Error {
    loop {
        tokio::time::sleep(RUN_LOCK_LEASE / 3).await;
        match store.try_lock_runs(tenant, holder, RUN_LOCK_LEASE).await {
            Ok(true) => {}
            Ok(false) => return anyhow::anyhow!("the tenant's run lock was taken over"),
            Err(e) => tracing::warn!(error = %e, "Could not renew the run lock; retrying"),
        }
    }
}

/// Reads Akiles once, prints the plan, then applies that same plan.
async fn plan_and_apply(
    ctx: SnapshotContext<'_>,
    records: Records,
    now: time::OffsetDateTime,
    config: &Config,
    client: &Client,
    verbose: bool,
) -> anyhow::Result<RunReport> {
    let prepared = prepare(ctx, records, now).await?;
    let planned = prepared.plan_report(&NoProgress);
    output::print_plan(&planned, verbose);
    if planned.refused.is_some() {
        // Recorded as a suspicious run; nothing is changed.
        let report = prepared
            .apply(config.sync.concurrency, &NoProgress)
            .await
            .context("recording the refused run failed")?;
        output::print_problems(&report);
        return Ok(report);
    }

    let progress = output::Bar::new();
    let report = prepared
        .apply(config.sync.concurrency, &progress)
        .await
        .context("the sync run failed")?;
    progress.finish();
    output::print_result(&report, &client.stats());
    Ok(report)
}

/// 0 when everything was applied, 1 when something needs an admin.
pub fn exit_code(report: &RunReport) -> ExitCode {
    if report.has_problems() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use akiles_types::ErrorBody;

    fn failed_read(source: ClientError) -> anyhow::Error {
        anyhow::Error::new(RunError::Read {
            what: "member groups",
            source,
        })
        .context("planning failed")
    }

    #[test]
    fn a_404_on_the_first_akiles_call_exits_1_with_the_v2_hint() {
        let error = failed_read(ClientError::NotFound {
            body: ErrorBody::new("not_found", "no route"),
        });

        assert_eq!(
            failure_kind(&error),
            Failure::Service {
                hint: Some("check that the Akiles URL ends in /v2")
            }
        );
    }

    #[test]
    fn a_refused_token_is_an_akiles_failure_not_an_input_error() {
        let error = failed_read(ClientError::Unauthorized {
            body: ErrorBody::new("invalid_token", "expired"),
        });

        assert!(
            matches!(failure_kind(&error), Failure::Service { hint: Some(h) } if h.contains("token"))
        );
    }

    #[test]
    fn an_ambiguous_mapping_stays_a_configuration_error() {
        let error = anyhow::Error::new(RunError::AmbiguousGroup {
            name: "Lab".into(),
            count: 2,
        })
        .context("planning failed");

        assert_eq!(failure_kind(&error), Failure::Input);
        assert_eq!(
            failure_kind(&anyhow::anyhow!("no Akiles URL")),
            Failure::Input
        );
    }
}
