//! `reconcile`, `plan` and `deletions`: a full pass over the stored records, a preview of
//! a configuration's effect, and the admin's answer to held deletions.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use hr_domain::{Clock, EmployeeId, SystemClock};
use sync_store::{HoldDecision, HoldState};

use crate::import::{self, Records, Target};
use crate::output;

/// Options of `akiles-hr-sync reconcile`: a configuration file (as for `import`), or a
/// tenant of the service.
#[derive(Debug, Args)]
pub struct ReconcileArgs {
    /// The configuration file (TOML): columns, mapping, credentials, Akiles.
    #[arg(long, required_unless_present = "tenant", conflicts_with = "tenant")]
    pub config: Option<PathBuf>,
    /// Akiles API base URL (overrides `akiles.url`).
    #[arg(long, env = "AKILES_URL")]
    pub akiles_url: Option<String>,
    /// Akiles Bearer token: an OAuth access token or an API key (overrides `akiles.token`).
    #[arg(long, env = "AKILES_TOKEN", hide_env_values = true)]
    pub akiles_token: Option<String>,
    /// Store URL (overrides `database`; default sqlite://akiles-hr-sync.db?mode=rwc).
    #[arg(long, env = "AKILES_HR_SYNC_DATABASE")]
    pub database: Option<String>,
    /// A tenant of the service, reconciled through its Akiles connection with its stored
    /// settings (instead of --config).
    #[arg(long, value_name = "TENANT")]
    pub tenant: Option<String>,
    /// With --tenant: the service's settings file (TOML), as for `serve --config`.
    #[arg(long, value_name = "FILE", requires = "tenant")]
    pub settings: Option<PathBuf>,
    /// Print the plan and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the plan of every employee.
    #[arg(short, long)]
    pub verbose: bool,
}

/// Runs `reconcile`: compares every owned member with the stored employee records and
/// repairs the difference (deletions subject to the guard).
pub async fn run(args: ReconcileArgs) -> anyhow::Result<ExitCode> {
    if let Some(tenant) = &args.tenant {
        let settings = args.settings.clone();
        return crate::tenant_reconcile::run(tenant, settings, args.dry_run, args.verbose).await;
    }
    let Some(config) = args.config else {
        anyhow::bail!("give --config FILE or --tenant TENANT");
    };
    let target = Target {
        config,
        akiles_url: args.akiles_url,
        akiles_token: args.akiles_token,
        database: args.database,
    };
    let config = target.config()?;
    let opened = target.open(config).await?;
    let outcome = import::run_sync(
        &opened.config,
        Records::Stored,
        &opened.client,
        opened.store.as_ref(),
        args.dry_run,
        args.verbose,
    )
    .await;
    import::finish(outcome)
}

/// Options of `akiles-hr-sync plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// An HR export to preview as the next import; without it, the stored records are
    /// previewed under the configuration's settings (a settings change).
    pub file: Option<PathBuf>,
    #[command(flatten)]
    pub target: Target,
}

/// Runs `plan`: prints the effect of a file or of the configuration's settings, computed
/// by the planner the runs use. Changes nothing.
pub async fn plan(args: PlanArgs) -> anyhow::Result<ExitCode> {
    let config = args.target.config()?;
    let records = match &args.file {
        Some(file) => match import::read_export(file, &config) {
            Ok(employees) => Records::Snapshot(employees),
            Err(error) => {
                eprintln!("error: {}: {error}", file.display());
                return Ok(ExitCode::from(2));
            }
        },
        None => Records::Stored,
    };
    let opened = args.target.open(config).await?;
    let store = opened.store.as_ref();
    store
        .ensure_tenant(&opened.config.tenant)
        .await
        .context("cannot prepare the tenant")?;
    let clock = SystemClock;
    let ctx = import::context(&opened.config, &opened.client, store, &clock);
    let prepared = match import::prepare(ctx, records, clock.now()).await {
        Ok(prepared) => prepared,
        Err(error) => return import::finish(Err(error)),
    };
    say!("Preview (nothing was changed):");
    for line in prepared.preview().lines() {
        say!("  {line}");
    }
    let mut report = prepared.plan_report(&sync_engine::run::NoProgress);
    // Held deletions are already a line of the preview; nothing is stored to review yet.
    report.held_deletions.clear();
    output::print_problems(&report);
    Ok(ExitCode::SUCCESS)
}

/// Options of `akiles-hr-sync deletions`.
#[derive(Debug, Args)]
pub struct DeletionsArgs {
    #[command(subcommand)]
    pub action: DeletionsAction,
}

#[derive(Debug, Subcommand)]
pub enum DeletionsAction {
    /// List the deletions the guard held, and the decisions taken.
    List(DecisionTarget),
    /// Approve held deletions; the next run (or `reconcile`) deletes those members.
    Approve(DecisionTarget),
    /// Reject held deletions; the members are kept while the employees' records stay as
    /// they are.
    Reject(DecisionTarget),
}

#[derive(Debug, Args)]
pub struct DecisionTarget {
    /// The configuration file (TOML) of the tenant, as for `import`.
    #[arg(long, required_unless_present = "tenant", conflicts_with = "tenant")]
    pub config: Option<PathBuf>,
    /// Store URL (overrides `database`; default sqlite://akiles-hr-sync.db?mode=rwc).
    #[arg(long, env = "AKILES_HR_SYNC_DATABASE", conflicts_with = "tenant")]
    pub database: Option<String>,
    /// A tenant of the service (instead of --config); an approval queues its reconcile.
    #[arg(long, value_name = "TENANT")]
    pub tenant: Option<String>,
    /// With --tenant: the service's settings file (TOML), as for `serve --config`.
    #[arg(long, value_name = "FILE", requires = "tenant")]
    pub settings: Option<PathBuf>,
    /// Only these employees (repeat); default: every held deletion.
    #[arg(long = "employee", value_name = "ID")]
    pub employees: Vec<String>,
    /// Who decides, for the record.
    #[arg(long, env = "USER", default_value = "cli")]
    pub by: String,
}

/// The store and tenant a `deletions` command works on, and whether it is the service's.
async fn decision_store(
    target: &DecisionTarget,
) -> anyhow::Result<(std::sync::Arc<dyn sync_store::Store>, String, bool)> {
    if let Some(tenant) = &target.tenant {
        let (_, store) = crate::serve::settings_and_store(target.settings.clone(), None).await?;
        if store.tenant(tenant).await?.is_none() {
            anyhow::bail!("the service has no tenant {tenant:?}");
        }
        return Ok((store, tenant.clone(), true));
    }
    let Some(path) = &target.config else {
        anyhow::bail!("give --config FILE or --tenant TENANT");
    };
    let config = sync_engine::Config::load(path)?;
    let database = target.database.clone().or_else(|| config.database.clone());
    let store = import::open_store(database.as_deref().unwrap_or(import::DEFAULT_DATABASE)).await?;
    store.ensure_tenant(&config.tenant).await?;
    Ok((store, config.tenant, false))
}

/// Runs `deletions list|approve|reject`.
pub async fn deletions(args: DeletionsArgs) -> anyhow::Result<ExitCode> {
    let (target, decision) = match args.action {
        DeletionsAction::List(target) => (target, None),
        DeletionsAction::Approve(target) => (target, Some(HoldDecision::Approve)),
        DeletionsAction::Reject(target) => (target, Some(HoldDecision::Reject)),
    };
    let ids = target
        .employees
        .iter()
        .map(|raw| EmployeeId::parse(raw).with_context(|| format!("--employee {raw:?}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let (store, tenant, service) = decision_store(&target).await?;
    let held = store.held_deletions(&tenant).await?;

    let unknown: Vec<&str> = ids
        .iter()
        .filter(|id| !held.iter().any(|h| &h.employee_id == *id))
        .map(EmployeeId::as_str)
        .collect();
    if !unknown.is_empty() {
        eprintln!(
            "error: no held deletion for employee(s) {} of tenant {tenant}; nothing was \
             changed (see `akiles-hr-sync deletions list`)",
            unknown.join(", ")
        );
        return Ok(ExitCode::from(2));
    }

    if let Some(decision) = decision {
        let only = (!ids.is_empty()).then_some(ids.as_slice());
        let changed = store
            .decide_deletions(&tenant, only, decision, &target.by)
            .await?;
        let next = match (decision, service) {
            (HoldDecision::Approve, true) => {
                store
                    .enqueue(&tenant, sync_store::JobKind::SyncTenant, None)
                    .await?;
                "the service's reconcile (queued now) deletes those members"
            }
            (HoldDecision::Approve, false) => {
                "the next import or `reconcile` deletes those members"
            }
            (HoldDecision::Reject, _) => {
                "those members are kept while the employees' records stay as they are"
            }
        };
        let word = match decision {
            HoldDecision::Approve => "Approved",
            HoldDecision::Reject => "Rejected",
        };
        say!("{word} {changed} held deletion(s); {next}.");
        if changed == 0 {
            say!("Nothing was waiting for that decision.");
        }
        return Ok(ExitCode::SUCCESS);
    }

    if held.is_empty() {
        say!("No held deletions for tenant {tenant}.");
        return Ok(ExitCode::SUCCESS);
    }
    let waiting = held.iter().filter(|h| h.state == HoldState::Held).count();
    say!(
        "{} held deletion(s) for tenant {tenant}, {waiting} waiting:",
        held.len()
    );
    for hold in &held {
        let decided = hold
            .decided_by
            .as_deref()
            .map(|by| format!(" by {by}"))
            .unwrap_or_default();
        say!(
            "  {} {} (members: {}){decided}",
            hold.employee_id,
            hold.state.as_str(),
            hold.member_ids.join(", ")
        );
    }
    if let Some(reason) = held.first().map(|h| &h.reason) {
        say!("Why: {reason}.");
    }
    Ok(ExitCode::SUCCESS)
}
