//! The control endpoints under `/_emulator/` (no auth): call counters, faults, state dump,
//! and the OAuth hooks (revoke grants, expire access tokens).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use crate::body::JsonBody;
use crate::error::ApiError;
use crate::faults::Faults;
use crate::oauth::{self, Revocation};
use crate::state::Shared;

/// The `/_emulator/*` routes.
pub fn control_routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/_emulator/calls", get(get_calls))
        .route("/_emulator/reset", post(reset_calls))
        .route("/_emulator/faults", get(get_faults).post(set_faults))
        .route("/_emulator/state", get(get_state))
        .route("/_emulator/oauth/revoke", post(revoke_grants))
        .route(
            "/_emulator/oauth/expire_access_tokens",
            post(expire_access_tokens),
        )
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

/// Body of `POST /_emulator/oauth/revoke`: exactly one of the two.
#[derive(Debug, Deserialize)]
struct RevokeRequest {
    #[serde(default)]
    all: bool,
    #[serde(default)]
    refresh_token: Option<String>,
}

#[derive(Debug, Serialize)]
struct RevokeResponse {
    revoked: usize,
}

#[derive(Debug, Serialize)]
struct ExpireResponse {
    expired: usize,
}

async fn revoke_grants(
    State(shared): State<Arc<Shared>>,
    JsonBody(request): JsonBody<RevokeRequest>,
) -> Result<Json<RevokeResponse>, ApiError> {
    let which = match (request.all, request.refresh_token.as_deref()) {
        (true, None) => Revocation::All,
        (false, Some(token)) => Revocation::RefreshToken(token),
        _ => {
            return Err(ApiError::invalid(
                "body",
                r#"send either {"all": true} or {"refresh_token": "..."}"#,
            ));
        }
    };
    let revoked = oauth::revoke(&shared, which)?;
    Ok(Json(RevokeResponse { revoked }))
}

async fn expire_access_tokens(
    State(shared): State<Arc<Shared>>,
) -> Result<Json<ExpireResponse>, ApiError> {
    let expired = oauth::expire_access_tokens(&shared)?;
    Ok(Json(ExpireResponse { expired }))
}
