//! The control endpoints under `/_emulator/` (no auth): call counters, faults, state dump.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};

use crate::body::JsonBody;
use crate::error::ApiError;
use crate::faults::Faults;
use crate::state::Shared;

/// The `/_emulator/*` routes.
pub fn control_routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/_emulator/calls", get(get_calls))
        .route("/_emulator/reset", post(reset_calls))
        .route("/_emulator/faults", get(get_faults).post(set_faults))
        .route("/_emulator/state", get(get_state))
}

async fn get_calls(
    State(shared): State<Arc<Shared>>,
) -> Result<Json<BTreeMap<String, u64>>, ApiError> {
    let calls = shared.calls.lock().map_err(|_| ApiError::internal())?;
    Ok(Json(calls.clone()))
}

async fn reset_calls(
    State(shared): State<Arc<Shared>>,
) -> Result<Json<BTreeMap<String, u64>>, ApiError> {
    let mut calls = shared.calls.lock().map_err(|_| ApiError::internal())?;
    calls.clear();
    Ok(Json(BTreeMap::new()))
}

async fn get_faults(State(shared): State<Arc<Shared>>) -> Result<Json<Faults>, ApiError> {
    let faults = shared.faults.lock().map_err(|_| ApiError::internal())?;
    Ok(Json(faults.faults().clone()))
}

async fn set_faults(
    State(shared): State<Arc<Shared>>,
    JsonBody(faults): JsonBody<Faults>,
) -> Result<Json<Faults>, ApiError> {
    faults.validate()?;
    let mut state = shared.faults.lock().map_err(|_| ApiError::internal())?;
    state.replace(faults);
    Ok(Json(state.faults().clone()))
}

async fn get_state(State(shared): State<Arc<Shared>>) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(shared.dump()?))
}
