//! What every admin page shares: the flash message, the error page, the navigation and
//! the stylesheet.

use std::sync::Arc;

use askama::Template;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use sync_store::{StoreError, Tenant};

use crate::error::ErrorDetail;
use crate::state::AppState;

/// A one-time message shown at the top of the next page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flash {
    /// `ok` or `error`; also the CSS class.
    pub kind: &'static str,
    pub message: String,
}

impl Flash {
    /// Something worked.
    pub fn ok(message: impl Into<String>) -> Self {
        Self {
            kind: "ok",
            message: message.into(),
        }
    }

    /// Something did not work.
    pub fn error(message: impl Into<String>) -> Self {
        Self {
            kind: "error",
            message: message.into(),
        }
    }

    /// The cookie value.
    pub fn encode(&self) -> String {
        format!("{}|{}", self.kind, self.message)
    }

    /// Reads a cookie value.
    pub fn decode(value: &str) -> Option<Self> {
        let (kind, message) = value.split_once('|')?;
        let kind = match kind {
            "ok" => "ok",
            "error" => "error",
            _ => return None,
        };
        Some(Self {
            kind,
            message: message.to_owned(),
        })
    }
}

/// The header and navigation of a page: who is logged in, which tenant and tab.
#[derive(Debug, Clone)]
pub struct Chrome {
    pub username: String,
    pub flash: Option<Flash>,
    /// The tenant the page is about, if any.
    pub tenant: Option<String>,
    /// `tenants`, `integration`, `employees`, `activity` or `deletions`.
    pub tab: &'static str,
    pub title: String,
}

/// A page that could not be shown: an HTML error page with a status.
#[derive(Debug)]
pub struct PageError {
    status: StatusCode,
    message: String,
    internal: Option<Arc<anyhow::Error>>,
}

impl PageError {
    /// 404 for `what`.
    pub fn not_found(what: &str) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            message: format!("No such {what}."),
            internal: None,
        }
    }

    /// 500; `error` goes to the request log only.
    pub fn internal(error: impl Into<anyhow::Error>) -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: "Something went wrong; the service log has the details.".to_owned(),
            internal: Some(Arc::new(error.into())),
        }
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl From<StoreError> for PageError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::UnknownTenant(_) => PageError::not_found("tenant"),
            other => PageError::internal(other),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/error.html")]
struct ErrorPage<'a> {
    status: u16,
    message: &'a str,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let page = ErrorPage {
            status: self.status.as_u16(),
            message: &self.message,
        };
        let body = page
            .render()
            .unwrap_or_else(|_| "Something went wrong.".to_owned());
        let html = [(header::CONTENT_TYPE, "text/html; charset=utf-8")];
        let mut response = (self.status, html, body).into_response();
        if let Some(internal) = self.internal {
            response.extensions_mut().insert(ErrorDetail(internal));
        }
        response
    }
}

/// The tenant named in the path, or a 404 page.
pub async fn existing_tenant(state: &AppState, key: &str) -> Result<Tenant, PageError> {
    state
        .store
        .tenant(key)
        .await?
        .ok_or_else(|| PageError::not_found("tenant"))
}

/// `GET /admin/static/admin.css`.
pub async fn stylesheet() -> Response {
    let css = include_str!("../../static/admin.css");
    let headers = [
        (header::CONTENT_TYPE, "text/css; charset=utf-8"),
        (header::CACHE_CONTROL, "max-age=300"),
    ];
    (headers, css).into_response()
}

/// A time for people: `2026-03-02 08:00:05 UTC`.
pub fn when(at: time::OffsetDateTime) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    at.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_else(|_| at.unix_timestamp().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flash_survives_its_cookie() {
        let flash = Flash::error("Saved | or not");

        assert_eq!(Flash::decode(&flash.encode()), Some(flash));
        assert_eq!(Flash::decode("weird|x"), None);
    }
}
