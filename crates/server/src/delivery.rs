//! The delivery loop: sends the due credential e-mails of every tenant.
//!
//! One task, beside the worker pool. It looks for due deliveries every workers' poll
//! interval, and also when `jobs_ready` wakes it (a change arrived, so credentials may be
//! created soon); the poll still bounds the wait, because a delivery is queued while its
//! job runs, after that wake. Per tenant it reads the settings, the Akiles client and
//! the sealed SMTP password, then lets [`credential_delivery::send_due`] do the work. A
//! tenant that must reconnect Akiles keeps its deliveries pending. It stops on shutdown
//! after the tenant it is sending for.

use std::collections::BTreeSet;

use anyhow::Context;
use credential_delivery::{SendContext, SendReport, send_due};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{debug, warn};

use crate::connections::ConnectionError;
use crate::metrics::delivery_outcomes;
use crate::state::AppState;
use crate::tenant_settings::TenantSettings;

/// Deliveries looked at per tenant per pass.
const BATCH: u32 = 100;

/// Due deliveries read per pass to find the tenants that have some.
const SCAN: u32 = 1_000;

/// Starts the delivery loop; it stops once `stopping` holds `true`.
pub fn spawn_delivery_loop(state: AppState, mut stopping: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        debug!("The delivery loop started");
        while !*stopping.borrow() {
            if let Err(e) = deliver_due(&state).await {
                warn!(
                    error = format!("{e:#}"),
                    "Could not send the due credential e-mails"
                );
            }
            tokio::select! {
                () = state.jobs_ready.notified() => {}
                () = tokio::time::sleep(state.settings.workers.poll_interval()) => {}
                changed = stopping.changed() => if changed.is_err() { break },
            }
        }
        debug!("The delivery loop stopped");
    })
}

/// Sends what is due for every tenant that has something due; returns the counts.
pub async fn deliver_due(state: &AppState) -> anyhow::Result<SendReport> {
    let now = state.clock.now();
    let due = state
        .store
        .due_deliveries(None, now, SCAN)
        .await
        .context("reading the due deliveries")?;
    let tenants: BTreeSet<String> = due.into_iter().map(|d| d.tenant).collect();

    let mut total = SendReport::default();
    for tenant in &tenants {
        match deliver_for(state, tenant).await {
            Ok(report) => total.add(report),
            Err(e) => warn!(
                tenant = %tenant,
                error = format!("{e:#}"),
                "Could not send the credential e-mails of tenant {tenant}"
            ),
        }
    }
    Ok(total)
}

/// Sends one tenant's due deliveries.
async fn deliver_for(state: &AppState, tenant: &str) -> anyhow::Result<SendReport> {
    let Some(row) = state.store.tenant(tenant).await? else {
        return Ok(SendReport::default());
    };
    let settings = TenantSettings::from_json(&row.settings)
        .context("the tenant's stored settings are not valid")?;
    let client = match state.connections.client(tenant).await {
        Ok(client) => client,
        Err(ConnectionError::ReconnectNeeded) => {
            debug!(
                tenant,
                "Tenant {tenant} must reconnect Akiles; its e-mails wait"
            );
            return Ok(SendReport::default());
        }
        Err(e) => return Err(anyhow::Error::new(e).context("connecting to Akiles")),
    };
    let password = state
        .store
        .smtp_password(tenant)
        .await
        .context("reading the SMTP password")?;

    let ctx = SendContext {
        store: state.store.as_ref(),
        api: &client,
        clock: state.clock.as_ref(),
        tenant,
        settings: &settings.delivery,
        password: password.as_ref(),
    };
    let report = send_due(ctx, BATCH).await?;
    delivery_outcomes(&report);
    Ok(report)
}
