//! One structured log line per request, and the request id that ties it to error bodies.
//!
//! The line carries the method, the matched route template (never the concrete path,
//! which may hold an employee id), the status, `duration_ms`, the request id and, for a
//! failed request, the error code and the internal detail attached by
//! [`crate::error::ApiError`]. 5xx answers are logged at ERROR, the rest at INFO.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;

use crate::error::{ErrorCode, ErrorDetail};

/// The header carrying the request id (set when the client did not send one).
pub const REQUEST_ID_HEADER: &str = "x-request-id";

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being handled, if called inside one.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// Middleware: handles the request with its id in scope, then writes the log line.
pub async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let request_id = request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_owned();

    let response = REQUEST_ID
        .scope(request_id.clone(), next.run(request))
        .await;

    let status = response.status().as_u16();
    let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let code = response.extensions().get::<ErrorCode>().map(|c| c.0);
    let detail = response
        .extensions()
        .get::<ErrorDetail>()
        .map(|d| format!("{:#}", d.0));
    metrics::counter!(
        "akiles_hr_sync_http_requests_total",
        "method" => method.to_string(),
        "route" => route.clone(),
        "status" => status.to_string(),
    )
    .increment(1);

    if status >= 500 {
        tracing::error!(
            http.method = %method, http.route = %route, http.status_code = status,
            duration_ms, request_id = %request_id, error.code = code, error.detail = detail,
            "{method} {route} failed with {status} in {duration_ms} ms"
        );
    } else {
        tracing::info!(
            http.method = %method, http.route = %route, http.status_code = status,
            duration_ms, request_id = %request_id, error.code = code,
            "{method} {route} answered {status} in {duration_ms} ms"
        );
    }
    response
}
