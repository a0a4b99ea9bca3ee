//! `akiles-hr-sync reconcile --tenant T`: a full reconcile of a tenant of the service,
//! through the tenant's Akiles connection, with the service's settings (the `--settings`
//! file and the `AKILES_HR_SYNC__…` variables, as for `serve`).
//!
//! It runs the service's own reconcile ([`sync_server::reconcile::reconcile_tenant`]):
//! the tenant's stored mapping, credentials and deletion guard, under its run lock.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use hr_domain::{Clock, SystemClock};
use sync_server::AppState;
use sync_server::reconcile::{ReconcileError, reconcile_tenant};

use crate::{import, output};

/// Reconciles `tenant` (or with `dry_run` prints its plan); exit 0 when all is applied, 1
/// when something needs an admin, 2 for a wrong tenant or a run already going.
// TODO(correctness): this runs outside the service's job queue, so a per-employee job of
// the running service may pass over the same employee at the same time; the engine's
// lookup before a create narrows, but does not close, the window for a second member.
pub async fn run(
    tenant: &str,
    settings: Option<PathBuf>,
    dry_run: bool,
    verbose: bool,
) -> anyhow::Result<ExitCode> {
    let (settings, store) = crate::serve::settings_and_store(settings, None).await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let tokens = sync_server::token_sources(&settings, store.clone(), clock.clone());
    let state = AppState::new(settings, store, clock, tokens);

    let report = match reconcile_tenant(&state, tenant, dry_run).await {
        Ok(report) => report,
        Err(error) => return Ok(failure(error)),
    };
    if dry_run {
        output::print_plan(&report, verbose);
        output::print_problems(&report);
        say!("Dry run: nothing was changed.");
    } else {
        if verbose {
            output::print_plan(&report, true);
        }
        let stats = match state.connections.client(tenant).await {
            Ok(client) => client.stats(),
            Err(_) => akiles_client::ClientStats::default(),
        };
        output::print_result(&report, &stats);
    }
    Ok(import::exit_code(&report))
}

/// Prints why the run did not happen; the exit code says whose move it is.
fn failure(error: ReconcileError) -> ExitCode {
    let code = match &error {
        ReconcileError::UnknownTenant(_)
        | ReconcileError::Settings(_)
        | ReconcileError::Busy(_) => 2,
        _ => 1,
    };
    let hint = match &error {
        ReconcileError::ReconnectNeeded => Some("connect Akiles on the tenant's admin page"),
        ReconcileError::Busy(_) => Some("try again when the other run has finished"),
        _ => None,
    };
    eprintln!("error: {:#}", anyhow::Error::new(error));
    if let Some(hint) = hint {
        eprintln!("hint: {hint}");
    }
    ExitCode::from(code)
}
