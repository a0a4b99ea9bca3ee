//! `/healthz` (the process answers), `/readyz` (the store answers) and `/metrics`.

use anyhow::Context;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use sync_store::JobState;

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
