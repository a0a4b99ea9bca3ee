//! The management API (`/api/v1/manage`): tenants, their settings, connection status,
//! API keys, signing secret, jobs, reconciles, previews, held deletions, and credential
//! e-mails (SMTP password, deliveries). Authenticated with the `management_token` setting
//! as a Bearer token; when that setting is absent the whole API answers 404.

pub mod delivery;
pub mod held;
pub mod jobs;
pub mod keys;
pub mod reconcile;
pub mod settings;
pub mod tenants;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use sync_store::Tenant;

use crate::error::ApiError;
use crate::routes::push::bearer;
use crate::state::AppState;

/// Middleware: lets only requests bearing the management token through.
pub async fn require_management_token(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(expected) = &state.settings.management_token else {
        return ApiError::not_found("route").into_response();
    };
    let given = bearer(request.headers()).unwrap_or_default();
    if !same_secret(given.as_bytes(), expected.expose_secret().as_bytes()) {
        return ApiError::unauthorized("send the management token as a Bearer token")
            .into_response();
    }
    next.run(request).await
}

/// Compares two secrets without an early exit (their SHA-256, byte by byte).
fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    let (a, b) = (Sha256::digest(given), Sha256::digest(expected));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |diff, (x, y)| diff | (x ^ y))
        == 0
}

/// The tenant named in the path, or 404.
pub async fn existing_tenant(state: &AppState, key: &str) -> Result<Tenant, ApiError> {
    state
        .store
        .tenant(key)
        .await?
        .ok_or_else(|| ApiError::not_found("tenant"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_by_content() {
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abc", b"abd"));
        assert!(!same_secret(b"", b"abc"));
    }
}
