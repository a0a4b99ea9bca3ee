//! The bridge between `oauth2` (which builds `http` requests) and reqwest 0.13 (which sends
//! them). oauth2's own reqwest feature pins an older reqwest and another TLS provider, so
//! the crate is used without it and this module does the sending.
//!
//! Answers that mean "try later" (429, 5xx) and redirects are turned into errors here,
//! where the status code is still known; everything else goes back to oauth2 to parse.

use std::time::Duration;

use futures_util::future::BoxFuture;
use oauth2::http::{HeaderMap, StatusCode, header};
use oauth2::{AsyncHttpClient, HttpRequest, HttpResponse};

/// reqwest as oauth2's HTTP client. A named type rather than a closure, so the futures
/// that use it stay `Send` for every lifetime.
#[derive(Debug, Clone)]
pub(crate) struct Sender(pub reqwest::Client);

impl<'c> AsyncHttpClient<'c> for Sender {
    type Error = HttpFailure;
    type Future = BoxFuture<'c, Result<HttpResponse, HttpFailure>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(send(&self.0, request))
    }
}

/// A token request that did not produce an answer oauth2 should parse.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HttpFailure {
    /// Connecting, sending or reading failed, or it took too long.
    #[error("the request failed")]
    Transport(#[source] reqwest::Error),
    /// 429 or 5xx.
    #[error("HTTP {status}")]
    Busy {
        status: u16,
        retry_after: Option<Duration>,
    },
    /// A 3xx; redirects are never followed.
    #[error("redirected with HTTP {status}")]
    Redirected { status: u16 },
}

/// Sends `request` with `client` and hands the answer back in `http` types.
async fn send(client: &reqwest::Client, request: HttpRequest) -> Result<HttpResponse, HttpFailure> {
    let request = reqwest::Request::try_from(request).map_err(HttpFailure::Transport)?;
    let response = client
        .execute(request)
        .await
        .map_err(HttpFailure::Transport)?;

    let status = response.status();
    if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
        let retry_after = retry_after(response.headers());
        return Err(HttpFailure::Busy {
            status: status.as_u16(),
            retry_after,
        });
    }
    if status.is_redirection() {
        return Err(HttpFailure::Redirected {
            status: status.as_u16(),
        });
    }

    let headers = response.headers().clone();
    let body = response.bytes().await.map_err(HttpFailure::Transport)?;
    let mut answer = HttpResponse::new(body.to_vec());
    *answer.status_mut() = status;
    *answer.headers_mut() = headers;
    Ok(answer)
}

/// `Retry-After` as a number of seconds (the HTTP-date form is ignored).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use oauth2::http::HeaderValue;

    use super::*;

    #[test]
    fn retry_after_reads_seconds_only() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);

        headers.insert(header::RETRY_AFTER, HeaderValue::from_static(" 7 "));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));

        let date = HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT");
        headers.insert(header::RETRY_AFTER, date);
        assert_eq!(retry_after(&headers), None);
    }
}
