//! Fault injection and the request pipelines the `/v2` and `/oauth2` routes run through.
//!
//! In order, for each request that matched a `/v2` route: count the call, wait the
//! configured latency, apply the first fault rule that selects the request, then the rate
//! limit, then the random error rate, then check the Bearer token and run the handler.
//! Faults that answer an error do so before the handler runs, so state is untouched.
//!
//! `/oauth2` routes (the auth server, a separate host at Akiles) are counted and obey fault
//! rules, answered in the OAuth error shape; latency, rate limit and error rate model the
//! API host and do not apply to them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, to_bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::EmulatorConfig;
use crate::body::BODY_LIMIT_BYTES;
use crate::error::{ApiError, default_kind_for};
use crate::oauth::{OAuthError, TokenCheck};
use crate::state::Shared;

/// A token-bucket rate limit: `per_second` requests a second (also the burst size).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimit {
    /// Requests allowed per second.
    pub per_second: u32,
    /// Seconds sent in `Retry-After` on a 429.
    pub retry_after_secs: u32,
}

/// The whole fault set, as read and replaced by `/_emulator/faults`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Faults {
    /// Delay added before every `/v2` response.
    #[serde(default)]
    pub latency_ms: u64,
    /// Share (0.0..=1.0) of `/v2` requests answered with a 500 before touching state.
    #[serde(default)]
    pub error_rate: f64,
    /// Optional rate limit.
    #[serde(default)]
    pub rate_limit: Option<RateLimit>,
    /// Targeted faults, checked in order.
    #[serde(default)]
    pub rules: Vec<FaultRule>,
}

/// A fault aimed at some requests of one route.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultRule {
    /// HTTP method, case-insensitive.
    pub method: String,
    /// Route template (`/v2/members/{member_id}/pins`) or a concrete path.
    pub path: String,
    /// Which matching requests (1-based, counted since the rules were installed) are hit;
    /// absent means all.
    #[serde(default)]
    pub nth: Option<Vec<u64>>,
    /// Only requests whose raw body contains this text match.
    #[serde(default)]
    pub body_contains: Option<String>,
    /// What happens to a selected request.
    pub effect: FaultEffect,
}

/// What a fault rule does to a selected request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FaultEffect {
    /// Answer this status with an error body, without touching state.
    Status {
        /// HTTP status code.
        status: u16,
        /// `Retry-After` header value, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after: Option<String>,
        /// Error `type`; defaults from the status.
        #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
        kind: Option<String>,
    },
    /// Run the request normally, then hold the response this long (a reply lost after
    /// the server applied the change).
    ApplyThenHang {
        /// Delay in milliseconds.
        apply_then_hang_ms: u64,
    },
    /// Wait this long before handling the request.
    Hang {
        /// Delay in milliseconds.
        hang_ms: u64,
    },
}

impl Faults {
    /// Checks values a request could get wrong.
    pub fn validate(&self) -> Result<(), ApiError> {
        if !(0.0..=1.0).contains(&self.error_rate) {
            return Err(ApiError::invalid(
                "error_rate",
                "error_rate must be within 0.0..=1.0",
            ));
        }
        for rule in &self.rules {
            if let FaultEffect::Status { status, .. } = rule.effect
                && !(400..=599).contains(&status)
            {
                return Err(ApiError::invalid(
                    "rules",
                    "a fault status must be within 400..=599",
                ));
            }
        }
        Ok(())
    }
}

/// Installed faults plus their running counters.
#[derive(Debug)]
pub struct FaultState {
    faults: Faults,
    rule_hits: Vec<u64>,
    bucket: Option<Bucket>,
    rng: StdRng,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    refilled_at: Instant,
}

/// What the pipeline must do with one request.
#[derive(Debug, Default)]
struct Decision {
    latency: Duration,
    reject: Option<ApiError>,
    hang_before: Option<Duration>,
    hang_after: Option<Duration>,
}

impl FaultState {
    /// The faults the config asks for at start.
    pub fn from_config(config: &EmulatorConfig) -> Self {
        let faults = Faults {
            latency_ms: u64::try_from(config.latency.as_millis()).unwrap_or(u64::MAX),
            error_rate: config.error_rate.clamp(0.0, 1.0),
            rate_limit: config.rate_limit.clone(),
            rules: Vec::new(),
        };
        let mut state = Self {
            faults: Faults::default(),
            rule_hits: Vec::new(),
            bucket: None,
            rng: StdRng::seed_from_u64(config.seed.rotate_left(17) ^ 0x5eed),
        };
        state.replace(faults);
        state
    }

    /// The installed faults.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Installs a new fault set; rule counters and the rate bucket start over.
    pub fn replace(&mut self, mut faults: Faults) {
        faults.error_rate = faults.error_rate.clamp(0.0, 1.0);
        self.rule_hits = vec![0; faults.rules.len()];
        self.bucket = faults.rate_limit.as_ref().map(|limit| Bucket {
            tokens: f64::from(limit.per_second.max(1)),
            refilled_at: Instant::now(),
        });
        self.faults = faults;
    }

    fn decide(&mut self, method: &Method, template: &str, path: &str, body: &[u8]) -> Decision {
        let mut decision = Decision {
            latency: Duration::from_millis(self.faults.latency_ms),
            ..Decision::default()
        };

        if let Some(effect) = self.select_rule(method, template, path, body) {
            match effect {
                FaultEffect::Status {
                    status,
                    retry_after,
                    kind,
                } => {
                    decision.reject = Some(injected_error(status, retry_after, kind));
                    return decision;
                }
                FaultEffect::ApplyThenHang { apply_then_hang_ms } => {
                    decision.hang_after = Some(Duration::from_millis(apply_then_hang_ms));
                }
                FaultEffect::Hang { hang_ms } => {
                    decision.hang_before = Some(Duration::from_millis(hang_ms));
                }
            }
        }

        if let Some(retry_after_secs) = self.take_token() {
            decision.reject = Some(ApiError::rate_limited(retry_after_secs));
        } else if self.faults.error_rate > 0.0 && self.rng.random_bool(self.faults.error_rate) {
            decision.reject = Some(ApiError::internal());
        }
        decision
    }

    /// Counts the request against every matching rule; returns the first selected effect.
    fn select_rule(
        &mut self,
        method: &Method,
        template: &str,
        path: &str,
        body: &[u8],
    ) -> Option<FaultEffect> {
        let mut selected = None;
        for (rule, hits) in self.faults.rules.iter().zip(self.rule_hits.iter_mut()) {
            if !rule_matches(rule, method, template, path, body) {
                continue;
            }
            *hits += 1;
            let chosen = rule.nth.as_ref().is_none_or(|nth| nth.contains(hits));
            if chosen && selected.is_none() {
                selected = Some(rule.effect.clone());
            }
        }
        selected
    }

    /// Takes a token; on an empty bucket returns the `Retry-After` seconds.
    fn take_token(&mut self) -> Option<u32> {
        let limit = self.faults.rate_limit.as_ref()?;
        let bucket = self.bucket.as_mut()?;
        let capacity = f64::from(limit.per_second.max(1));
        let now = Instant::now();
        let elapsed = now.duration_since(bucket.refilled_at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * capacity).min(capacity);
        bucket.refilled_at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            None
        } else {
            Some(limit.retry_after_secs)
        }
    }
}

fn rule_matches(
    rule: &FaultRule,
    method: &Method,
    template: &str,
    path: &str,
    body: &[u8],
) -> bool {
    if !rule.method.eq_ignore_ascii_case(method.as_str()) {
        return false;
    }
    if rule.path != template && rule.path != path {
        return false;
    }
    match &rule.body_contains {
        None => true,
        Some(needle) => {
            let needle = needle.as_bytes();
            needle.is_empty() || body.windows(needle.len()).any(|w| w == needle)
        }
    }
}

fn injected_error(status: u16, retry_after: Option<String>, kind: Option<String>) -> ApiError {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let kind = kind.unwrap_or_else(|| default_kind_for(status).to_owned());
    let mut error = ApiError::new(status, &kind, "injected fault");
    error.retry_after = retry_after;
    error
}

/// The organization the request's Bearer token is bound to.
#[derive(Debug, Clone)]
pub struct OrgId(pub String);

/// Middleware around every `/v2` route: counting, faults, rate limit, auth.
pub async fn pipeline(
    State(shared): State<Arc<Shared>>,
    matched: MatchedPath,
    request: Request,
    next: Next,
) -> Response {
    let (method, template) = counted(&shared, &matched, &request);
    let response = run_pipeline(&shared, &method, &template, request, next).await;
    log_answer(&method, &template, &response);
    response
}

/// Counts the call under its route template; the method and template, for the answer.
fn counted(shared: &Shared, matched: &MatchedPath, request: &Request) -> (Method, String) {
    let method = request.method().clone();
    let template = matched.as_str().to_owned();
    count_call(shared, &method, &template);
    (method, template)
}

fn log_answer(method: &Method, template: &str, response: &Response) {
    tracing::debug!(
        http.method = %method,
        http.route = %template,
        http.status = response.status().as_u16(),
        "Emulator answered {method} {template} with {}",
        response.status()
    );
}

async fn run_pipeline(
    shared: &Shared,
    method: &Method,
    template: &str,
    request: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, BODY_LIMIT_BYTES).await else {
        return ApiError::invalid("body", "the request body could not be read").into_response();
    };

    let decision = match shared.faults.lock() {
        Ok(mut faults) => faults.decide(method, template, parts.uri.path(), &bytes),
        Err(_) => Decision {
            reject: Some(ApiError::internal()),
            ..Decision::default()
        },
    };
    sleep_if_set(Some(decision.latency)).await;
    if let Some(error) = decision.reject {
        return error.into_response();
    }
    sleep_if_set(decision.hang_before).await;

    match authenticate(shared, &parts) {
        Ok(org) => parts.extensions.insert(OrgId(org)),
        Err(error) => return error.into_response(),
    };
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;

    sleep_if_set(decision.hang_after).await;
    response
}

async fn sleep_if_set(delay: Option<Duration>) {
    if let Some(delay) = delay.filter(|d| !d.is_zero()) {
        tokio::time::sleep(delay).await;
    }
}

fn authenticate(shared: &Shared, parts: &axum::http::request::Parts) -> Result<String, ApiError> {
    let header = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let Some(header) = header else {
        return Err(ApiError::unauthorized("missing Authorization header"));
    };
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
        .ok_or_else(|| ApiError::unauthorized("expected a Bearer token"))?;
    match shared.check_token(token)? {
        TokenCheck::Valid(org_id) => Ok(org_id),
        TokenCheck::Expired => Err(ApiError::unauthorized("the access token has expired")),
        TokenCheck::Unknown => Err(ApiError::unauthorized("invalid or expired token")),
    }
}

/// Middleware around every `/oauth2` route: counting and fault rules only.
pub async fn oauth_pipeline(
    State(shared): State<Arc<Shared>>,
    matched: MatchedPath,
    request: Request,
    next: Next,
) -> Response {
    let (method, template) = counted(&shared, &matched, &request);
    let response = run_oauth_pipeline(&shared, &method, &template, request, next).await;
    log_answer(&method, &template, &response);
    response
}

async fn run_oauth_pipeline(
    shared: &Shared,
    method: &Method,
    template: &str,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, BODY_LIMIT_BYTES).await else {
        return OAuthError::invalid_request("the request body could not be read").into_response();
    };
    let effect = match shared.faults.lock() {
        Ok(mut faults) => faults.select_rule(method, template, parts.uri.path(), &bytes),
        Err(_) => return OAuthError::from(ApiError::internal()).into_response(),
    };

    let mut hang_after = None;
    match effect {
        Some(FaultEffect::Status {
            status,
            retry_after,
            kind,
        }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return OAuthError::injected(status, kind, retry_after).into_response();
        }
        Some(FaultEffect::Hang { hang_ms }) => {
            sleep_if_set(Some(Duration::from_millis(hang_ms))).await;
        }
        Some(FaultEffect::ApplyThenHang { apply_then_hang_ms }) => {
            hang_after = Some(Duration::from_millis(apply_then_hang_ms));
        }
        None => {}
    }

    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    sleep_if_set(hang_after).await;
    response
}

fn count_call(shared: &Shared, method: &Method, template: &str) {
    if let Ok(mut calls) = shared.calls.lock() {
        *calls.entry(format!("{method} {template}")).or_insert(0) += 1;
    }
}

/// Latency for answers outside the route table (the `/v2` 404 fallback).
pub async fn fallback_latency(shared: &Shared) {
    let latency = shared
        .faults
        .lock()
        .map(|f| f.faults.latency_ms)
        .unwrap_or(0);
    sleep_if_set(Some(Duration::from_millis(latency))).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(nth: Option<Vec<u64>>) -> FaultRule {
        FaultRule {
            method: "post".into(),
            path: "/v2/members".into(),
            nth,
            body_contains: None,
            effect: FaultEffect::Status {
                status: 429,
                retry_after: Some("1".into()),
                kind: None,
            },
        }
    }

    fn state_with(rules: Vec<FaultRule>) -> FaultState {
        let mut state = FaultState::from_config(&EmulatorConfig::default());
        state.replace(Faults {
            rules,
            ..Faults::default()
        });
        state
    }

    #[test]
    fn nth_selects_only_the_listed_matching_requests() {
        let mut state = state_with(vec![rule(Some(vec![2, 3]))]);

        let hits: Vec<bool> = (0..4)
            .map(|_| {
                state
                    .decide(&Method::POST, "/v2/members", "/v2/members", b"")
                    .reject
                    .is_some()
            })
            .collect();

        assert_eq!(hits, vec![false, true, true, false]);
    }

    #[test]
    fn other_methods_and_paths_do_not_match() {
        let mut state = state_with(vec![rule(None)]);

        assert!(
            state
                .decide(&Method::GET, "/v2/members", "/v2/members", b"")
                .reject
                .is_none()
        );
        assert!(
            state
                .decide(&Method::POST, "/v2/sites", "/v2/sites", b"")
                .reject
                .is_none()
        );
        assert!(
            state
                .decide(&Method::POST, "/v2/members", "/v2/members", b"")
                .reject
                .is_some()
        );
    }

    #[test]
    fn effects_parse_from_their_json_shapes() {
        let effects: Vec<FaultEffect> = serde_json::from_str(
            r#"[{"status":500},{"apply_then_hang_ms":5},{"hang_ms":7},{"status":429,"type":"x"}]"#,
        )
        .unwrap();

        assert!(matches!(
            effects[0],
            FaultEffect::Status { status: 500, .. }
        ));
        assert_eq!(
            effects[1],
            FaultEffect::ApplyThenHang {
                apply_then_hang_ms: 5
            }
        );
        assert_eq!(effects[2], FaultEffect::Hang { hang_ms: 7 });
        assert!(matches!(&effects[3], FaultEffect::Status { kind: Some(k), .. } if k == "x"));
    }

    #[test]
    fn the_rate_limit_rejects_once_the_bucket_is_empty() {
        let mut state = state_with(vec![]);
        let limit = RateLimit {
            per_second: 2,
            retry_after_secs: 3,
        };
        state.replace(Faults {
            rate_limit: Some(limit),
            ..Faults::default()
        });

        let first = state.take_token();
        let second = state.take_token();
        let third = state.take_token();

        assert_eq!((first, second), (None, None));
        assert_eq!(third, Some(3));
    }
}
