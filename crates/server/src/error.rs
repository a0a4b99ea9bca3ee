//! The one error type of the HTTP boundary.
//!
//! Handlers return `Result<_, ApiError>` and use `?`; the `From` conversions below are the
//! only place where a domain or store error becomes a status code. The client gets a
//! stable JSON body:
//!
//! ```json
//! {"error": {"code": "invalid_input", "message": "…", "field": "email",
//!            "problems": [{"field": "email", "message": "…"}], "request_id": "…"}}
//! ```
//!
//! A 5xx body says only that something failed; the detail is attached to the response
//! (as [`ErrorDetail`]) and written once by the request-log middleware.

use std::sync::Arc;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sync_store::StoreError;

/// One problem with the input, naming the field (`employees[3].email` in a snapshot).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub field: String,
    pub message: String,
}

impl Problem {
    /// A problem with `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// An error answered to an API client.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    problems: Vec<Problem>,
    /// What went wrong inside; logged, never sent.
    internal: Option<Arc<anyhow::Error>>,
}

/// The internal detail of a failed request, picked up by the request log.
#[derive(Debug, Clone)]
pub struct ErrorDetail(pub Arc<anyhow::Error>);

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            problems: Vec::new(),
            internal: None,
        }
    }

    /// 400: the body is not JSON, or a header is malformed.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 422: the input is well-formed but some fields are wrong.
    pub fn invalid(problems: Vec<Problem>) -> Self {
        let message = match problems.as_slice() {
            [one] => format!("{}: {}", one.field, one.message),
            many => format!("{} fields are not valid", many.len()),
        };
        let mut error = Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", message);
        error.problems = problems;
        error
    }

    /// 422 with a message that names no single field.
    pub fn refused(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "refused", message)
    }

    /// The message of a [`ApiError::refused`] error, if it is one.
    pub fn refusal(&self) -> Option<&str> {
        (self.code == "refused").then_some(self.message.as_str())
    }

    /// 401: no credential, or a wrong one.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 404.
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    /// 409.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// 413.
    pub fn too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            "the request body is too large",
        )
    }

    /// 500 with a generic message; `error` goes to the log.
    pub fn internal(error: impl Into<anyhow::Error>) -> Self {
        let mut api = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the request could not be handled; see the request id in the service log",
        );
        api.internal = Some(Arc::new(error.into()));
        api
    }

    /// 503 with a generic message; `error` goes to the log.
    pub fn unavailable(error: impl Into<anyhow::Error>) -> Self {
        let mut api = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the service cannot handle requests right now",
        );
        api.internal = Some(Arc::new(error.into()));
        api
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The stable error code.
    pub fn code(&self) -> &'static str {
        self.code
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

#[derive(Serialize)]
struct Body<'a> {
    error: BodyInner<'a>,
}

#[derive(Serialize)]
struct BodyInner<'a> {
    code: &'static str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    #[serde(skip_serializing_if = "<[Problem]>::is_empty")]
    problems: &'a [Problem],
    /// The id the request log shows for this request.
    request_id: Option<String>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let field = match self.problems.as_slice() {
            [one] => Some(one.field.as_str()),
            _ => None,
        };
        let body = Body {
            error: BodyInner {
                code: self.code,
                message: &self.message,
                field,
                problems: &self.problems,
                request_id: crate::request_log::current_request_id(),
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        response.extensions_mut().insert(ErrorCode(self.code));
        if let Some(internal) = self.internal {
            response.extensions_mut().insert(ErrorDetail(internal));
        }
        response
    }
}

/// The error code of a response, for the request log.
#[derive(Debug, Clone, Copy)]
pub struct ErrorCode(pub &'static str);

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::UnknownTenant(_) => ApiError::not_found("tenant"),
            StoreError::Database(_) => ApiError::unavailable(error),
            other => ApiError::internal(other),
        }
    }
}

impl From<crate::reconcile::ReconcileError> for ApiError {
    fn from(error: crate::reconcile::ReconcileError) -> Self {
        use crate::reconcile::ReconcileError;
        use sync_engine::run::RunError;
        match error {
            ReconcileError::UnknownTenant(_) => ApiError::not_found("tenant"),
            ReconcileError::Busy(_) => ApiError::conflict(error.to_string()),
            ReconcileError::ReconnectNeeded => {
                ApiError::conflict("the tenant's Akiles connection needs to be (re)connected first")
            }
            ReconcileError::Run(RunError::AmbiguousGroup { .. } | RunError::BlankHrGroup) => {
                let message = std::error::Error::source(&error)
                    .map(ToString::to_string)
                    .unwrap_or_default();
                ApiError::invalid(vec![Problem::new("mapping", message)])
            }
            ReconcileError::Run(RunError::Read { .. }) | ReconcileError::Connection(_) => {
                ApiError::unavailable(error)
            }
            ReconcileError::Store(e) => e.into(),
            other => ApiError::internal(other),
        }
    }
}

impl From<axum::extract::rejection::BytesRejection> for ApiError {
    fn from(error: axum::extract::rejection::BytesRejection) -> Self {
        if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::too_large()
        } else {
            ApiError::bad_request(error.body_text())
        }
    }
}

impl From<axum::extract::rejection::JsonRejection> for ApiError {
    fn from(error: axum::extract::rejection::JsonRejection) -> Self {
        use axum::extract::rejection::JsonRejection;
        match error {
            JsonRejection::JsonDataError(e) => {
                ApiError::invalid(vec![Problem::new("body", e.body_text())])
            }
            JsonRejection::BytesRejection(e) => e.into(),
            other => ApiError::bad_request(other.body_text()),
        }
    }
}

impl From<axum::extract::rejection::QueryRejection> for ApiError {
    fn from(error: axum::extract::rejection::QueryRejection) -> Self {
        ApiError::invalid(vec![Problem::new("query", error.body_text())])
    }
}

impl From<axum::extract::rejection::PathRejection> for ApiError {
    fn from(error: axum::extract::rejection::PathRejection) -> Self {
        ApiError::invalid(vec![Problem::new("path", error.body_text())])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_of(error: ApiError) -> (StatusCode, serde_json::Value) {
        let response = error.into_response();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 10_000)
            .await
            .unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn one_problem_names_its_field() {
        let error = ApiError::invalid(vec![Problem::new("email", "is not valid")]);

        let (status, body) = body_of(error).await;

        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["error"]["code"], "invalid_input");
        assert_eq!(body["error"]["field"], "email");
    }

    #[tokio::test]
    async fn a_server_error_hides_its_cause() {
        let error = ApiError::internal(anyhow::anyhow!("disk on fire at /var/secret"));

        let (status, body) = body_of(error).await;

        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!body.to_string().contains("secret"));
    }

    #[test]
    fn an_unknown_tenant_is_not_found() {
        let error = ApiError::from(StoreError::UnknownTenant("acme".into()));

        assert_eq!(error.status(), StatusCode::NOT_FOUND);
    }
}
