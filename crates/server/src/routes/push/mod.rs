//! The push API (`/api/v1`): an HR system sends employee changes with its tenant's API
//! key. The key alone decides the tenant; no URL names one.
//!
//! Writes are answered 202 only once the change and its job are committed. When the
//! tenant has a signing secret, every write must be signed (see [`crate::signature`]);
//! the signature is checked on the raw body before anything is parsed or stored.

pub mod employees;
pub mod input;
pub mod snapshot;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, OriginalUri, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use sync_store::ApiKey;

use crate::error::ApiError;
use crate::signature::{self, Refused, SignatureError, SignatureHeaders, SignedRequest};
use crate::state::AppState;

/// The tenant whose API key authenticated the request.
#[derive(Debug, Clone)]
pub struct ApiTenant {
    pub key: ApiKey,
}

impl ApiTenant {
    /// The tenant's key.
    pub fn tenant(&self) -> &str {
        &self.key.tenant
    }
}

impl FromRequestParts<AppState> for ApiTenant {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let secret = bearer(&parts.headers)
            .ok_or_else(|| ApiError::unauthorized("send the tenant's API key as a Bearer token"))?;
        match state.store.authenticate_api_key(secret).await? {
            Some(key) => Ok(Self { key }),
            None => Err(ApiError::unauthorized("the API key is not valid")),
        }
    }
}

/// The token of `Authorization: Bearer <token>`.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// An authenticated write: the tenant and the raw body, its signature checked when the
/// tenant has a signing secret — over the method, the request target as received and
/// the raw body, each signature accepted once (see [`crate::signature`]).
#[derive(Debug)]
pub struct SignedWrite {
    pub tenant: ApiTenant,
    pub body: Bytes,
}

impl FromRequest<AppState> for SignedWrite {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let (mut parts, body) = request.into_parts();
        let tenant = ApiTenant::from_request_parts(&mut parts, state).await?;
        let method = parts.method.clone();
        let target = request_target(&parts);
        let headers = parts.headers.clone();
        let body = Bytes::from_request(Request::from_parts(parts, body), state).await?;

        if let Some(secret) = state.store.signing_secret(tenant.tenant()).await? {
            let received = SignatureHeaders {
                timestamp: header_text(&headers, signature::TIMESTAMP_HEADER),
                signature: header_text(&headers, signature::SIGNATURE_HEADER),
            };
            let request = SignedRequest {
                method: method.as_str(),
                target: &target,
                body: &body,
            };
            let now = state.clock.now();
            let tolerance = state.settings.push.signature_tolerance_secs;
            let verified = signature::verify(&secret, received, request, now, tolerance)
                .map_err(|e| ApiError::unauthorized(e.to_string()))?;
            match state
                .replays
                .admit(tenant.tenant(), verified, now, tolerance)
            {
                Ok(()) => {}
                Err(Refused::Replayed) => {
                    return Err(ApiError::unauthorized(SignatureError::Replayed.to_string()));
                }
                Err(Refused::Full) => {
                    return Err(ApiError::unavailable(anyhow::anyhow!(
                        "more than {} signed writes of one tenant within the signature window",
                        signature::MAX_SEEN_PER_TENANT
                    )));
                }
            }
        }
        Ok(Self { tenant, body })
    }
}

/// The path and query of the request as received (`/api/v1/employees/E-1?version=3`),
/// not decoded; `OriginalUri` first, in case a router nesting stripped a prefix.
fn request_target(parts: &Parts) -> String {
    let uri = parts
        .extensions
        .get::<OriginalUri>()
        .map_or(&parts.uri, |original| &original.0);
    uri.path_and_query()
        .map_or_else(|| uri.path().to_owned(), |pq| pq.as_str().to_owned())
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Writes an "HR change received" entry to the employee's history when a change was
/// stored (the admin page shows it before the plan made from it). The detail holds the
/// action, the source's version and where it came from — never the record's values.
pub async fn record_hr_change(
    state: &AppState,
    tenant: &str,
    id: &hr_domain::EmployeeId,
    action: &str,
    version: i64,
    outcome: sync_store::PutOutcome,
) {
    if outcome != sync_store::PutOutcome::Stored {
        return;
    }
    let entry = sync_store::HistoryEntry {
        kind: "hr_change".to_owned(),
        detail: serde_json::json!({ "action": action, "version": version, "source": "push_api" }),
    };
    if let Err(e) = state.store.append_history(tenant, id, None, &entry).await {
        tracing::warn!(employee.id = %id, error = %e, "Could not record the HR change of {id}");
    }
}
