//! The delivery loop: sends the due credential e-mails of every tenant.
//!
//! One task, beside the worker pool. It looks for due deliveries every workers' poll
//! interval, and also when `jobs_ready` wakes it (a change arrived, so credentials may be
//! created soon); the poll still bounds the wait, because a delivery is queued while its
//! job runs, after that wake. Per tenant it reads the settings, the Akiles client and
//! the sealed SMTP password, then lets [`credential_delivery::send_due`] do the work. A
//! tenant that must reconnect Akiles keeps its deliveries pending.
//!
//! Each tenant is sent for in a task of its own, at most [`CONCURRENT_TENANTS`] at once
//! and one per tenant, and the loop does not wait for them: a tenant whose SMTP server is
//! slow or silent (each send is bounded by its timeout) holds up only its own e-mails.
//! On shutdown the loop stops at once and drops the sends under way; a delivery cut off
//! that way was not recorded, so it stays due and is sent after the restart.

use std::collections::{BTreeSet, HashMap};

use anyhow::Context;
use credential_delivery::{SendContext, SendReport, send_due};
use tokio::sync::watch;
use tokio::task::{Id, JoinHandle, JoinSet};
use tracing::{debug, error, warn};

use crate::connections::ConnectionError;
use crate::metrics::delivery_outcomes;
use crate::state::AppState;
use crate::tenant_settings::TenantSettings;

/// Deliveries looked at per tenant per pass.
const BATCH: u32 = 100;

/// Due deliveries read per pass to find the tenants that have some.
const SCAN: u32 = 1_000;

/// Tenants sent for at the same time.
const CONCURRENT_TENANTS: usize = 4;

/// Starts the delivery loop; it stops once `stopping` holds `true`, also while sending.
pub fn spawn_delivery_loop(state: AppState, mut stopping: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        debug!("The delivery loop started");
        let mut sending = Sending::default();
        while !*stopping.borrow() {
            sending.reap();
            tokio::select! {
                started = start_due(&state, &mut sending) => if let Err(e) = started {
                    warn!(
                        error = format!("{e:#}"),
                        "Could not send the due credential e-mails"
                    );
                },
                changed = stopping.changed() => if changed.is_err() { break } else { continue },
            }
            tokio::select! {
                () = state.jobs_ready.notified() => {}
                () = tokio::time::sleep(state.settings.workers.poll_interval()) => {}
                changed = stopping.changed() => if changed.is_err() { break },
            }
        }
        // Aborts the sends under way and waits until they are gone.
        sending.tasks.shutdown().await;
        debug!("The delivery loop stopped");
    })
}

/// The tenants being sent for, one task each.
#[derive(Default)]
struct Sending {
    tasks: JoinSet<()>,
    tenants: HashMap<Id, String>,
}

impl Sending {
    /// Forgets the tasks that have finished.
    fn reap(&mut self) {
        while let Some(done) = self.tasks.try_join_next_with_id() {
            let id = match done {
                Ok((id, ())) => id,
                Err(e) => {
                    if e.is_panic() {
                        error!(error = %e, "A delivery task panicked");
                    }
                    e.id()
                }
            };
            self.tenants.remove(&id);
        }
    }

    fn is_sending_for(&self, tenant: &str) -> bool {
        self.tenants.values().any(|t| t == tenant)
    }
}

/// Starts sending for every tenant that has something due and nothing under way, as long
/// as fewer than [`CONCURRENT_TENANTS`] are being sent for.
async fn start_due(state: &AppState, sending: &mut Sending) -> anyhow::Result<()> {
    let tenants = due_tenants(state).await?;
    for tenant in tenants {
        if sending.tenants.len() >= CONCURRENT_TENANTS {
            break;
        }
        if sending.is_sending_for(&tenant) {
            continue;
        }
        let task_state = state.clone();
        let task_tenant = tenant.clone();
        let handle = sending.tasks.spawn(async move {
            if let Err(e) = deliver_for(&task_state, &task_tenant).await {
                warn!(
                    tenant = %task_tenant,
                    error = format!("{e:#}"),
                    "Could not send the credential e-mails of tenant {task_tenant}"
                );
            }
        });
        sending.tenants.insert(handle.id(), tenant);
    }
    Ok(())
}

/// The tenants that have deliveries due now.
async fn due_tenants(state: &AppState) -> anyhow::Result<BTreeSet<String>> {
    let now = state.clock.now();
    let due = state
        .store
        .due_deliveries(None, now, SCAN)
        .await
        .context("reading the due deliveries")?;
    Ok(due.into_iter().map(|d| d.tenant).collect())
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
