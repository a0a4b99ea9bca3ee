//! `/healthz` (the process answers), `/readyz` (the store answers) and `/metrics`.

use anyhow::Context;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use sync_store::{ConnectionState, JobState};

use crate::error::ApiError;
use crate::state::AppState;

/// `GET /healthz`: alive.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// `GET /readyz`: the store can be queried.
pub async fn readyz(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    state
        .store
        .queue_depth()
        .await
        .context("the store does not answer")
        .map_err(ApiError::unavailable)?;
    Ok("ready\n")
}

/// Sets `akiles_hr_sync_connections{state}`: how many tenants are connected, need a
/// reconnect (an alert on this is how an operator learns a grant was revoked), or are
/// disconnected or were never connected.
async fn record_connections(state: &AppState) -> Result<(), ApiError> {
    let mut counts = [0u64; 4];
    for tenant in state.store.tenants().await? {
        let index = match state.store.connection(&tenant.key).await? {
            Some(c) if c.state == ConnectionState::Connected => 0,
            Some(c) if c.state == ConnectionState::ReconnectNeeded => 1,
            Some(_) => 2,
            None => 3,
        };
        counts[index] += 1;
    }
    let names = [
        "connected",
        "reconnect_needed",
        "disconnected",
        "never_connected",
    ];
    for (name, count) in names.into_iter().zip(counts) {
        #[expect(
            clippy::cast_precision_loss,
            reason = "tenant counts stay far below 2^52"
        )]
        metrics::gauge!("akiles_hr_sync_connections", "state" => name).set(count as f64);
    }
    Ok(())
}

/// `GET /metrics`: Prometheus text, with the queue depth read now.
pub async fn metrics(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let depth = state.store.queue_depth().await?;
    for job_state in JobState::ALL {
        let count = depth.get(&job_state).copied().unwrap_or(0);
        #[expect(
            clippy::cast_precision_loss,
            reason = "queue depths stay far below 2^52"
        )]
        metrics::gauge!("akiles_hr_sync_jobs", "state" => job_state.as_str()).set(count as f64);
    }
    record_connections(&state).await?;
    state.metrics.run_upkeep();
    let body = state.metrics.render();
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    ))
}
