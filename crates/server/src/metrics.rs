//! Prometheus metrics: one process-wide recorder, rendered by `GET /metrics`.
//!
//! Names: `akiles_hr_sync_jobs{state}` (queue depth, read from the store when scraped),
//! `akiles_hr_sync_job_outcomes_total{kind,outcome}`, `akiles_hr_sync_connections{state}`,
//! `akiles_hr_sync_change_to_applied_seconds` (HR change received → applied in Akiles),
//! `akiles_hr_sync_held_deletions{tenant}` and `akiles_hr_sync_suspicious_runs_total{tenant}`
//! (see [`crate::reconcile`]),
//! `akiles_hr_sync_deliveries_total{outcome}` (credential e-mails: `sent`, `retrying`,
//! `failed`, `cancelled`),
//! `akiles_hr_sync_http_requests_total{method,route,status}`, and from the client
//! `akiles_requests_total{method,route,status}` and
//! `akiles_request_duration_seconds{method,route}`.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Latency buckets in seconds, from a quick push to a long backoff.
const SECONDS_BUCKETS: &[f64] = &[
    0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The recorder's handle; installs the recorder on first use.
///
/// When another recorder is already installed (an embedding program's), this one is
/// kept private and `/metrics` shows only what it records.
pub fn handle() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), SECONDS_BUCKETS)
                .expect("the bucket list is not empty");
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("A metrics recorder was already installed; /metrics stays empty");
            }
            handle
        })
        .clone()
}

/// Outcome of one job, as counted.
pub fn job_outcome(kind: &'static str, outcome: &'static str) {
    metrics::counter!(
        "akiles_hr_sync_job_outcomes_total",
        "kind" => kind,
        "outcome" => outcome,
    )
    .increment(1);
}

/// Credential e-mails, counted by how each attempt ended.
pub fn delivery_outcomes(report: &credential_delivery::SendReport) {
    let counts = [
        ("sent", report.sent),
        ("retrying", report.retrying),
        ("failed", report.failed),
        ("cancelled", report.cancelled),
    ];
    for (outcome, count) in counts {
        if count > 0 {
            let count = u64::try_from(count).unwrap_or(u64::MAX);
            metrics::counter!("akiles_hr_sync_deliveries_total", "outcome" => outcome)
                .increment(count);
        }
    }
}
