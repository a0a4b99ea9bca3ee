//! What every handler and worker shares.

use std::sync::Arc;

use hr_domain::Clock;
use metrics_exporter_prometheus::PrometheusHandle;
use sync_store::Store;
use tokio::sync::Notify;

use crate::connections::{Connections, TokenSourceFactory};
use crate::settings::Settings;
use crate::signature::ReplayGuard;

/// The service's shared state; cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub settings: Arc<Settings>,
    pub clock: Arc<dyn Clock>,
    /// Akiles clients and member groups per tenant.
    pub connections: Arc<Connections>,
    /// Renders `/metrics`.
    pub metrics: PrometheusHandle,
    /// Woken when a job is enqueued, so an idle worker claims it at once.
    pub jobs_ready: Arc<Notify>,
    /// Push signatures accepted within the tolerance window, so each is used once.
    pub replays: Arc<ReplayGuard>,
}

impl AppState {
    /// State over `store`, with tokens from `tokens` (see
    /// [`crate::connections::StoredAccessTokens`]).
    pub fn new(
        settings: Settings,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        tokens: Arc<dyn TokenSourceFactory>,
    ) -> Self {
        let connections = Connections::new(settings.akiles.clone(), store.clone(), tokens);
        Self {
            store,
            settings: Arc::new(settings),
            clock,
            connections: Arc::new(connections),
            metrics: crate::metrics::handle(),
            jobs_ready: Arc::new(Notify::new()),
            replays: Arc::new(ReplayGuard::default()),
        }
    }

    /// Tells the workers that a job is waiting.
    pub fn wake_workers(&self) {
        self.jobs_ready.notify_waiters();
        self.jobs_ready.notify_one();
    }
}
