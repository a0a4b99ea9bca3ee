//! The authorization endpoint. `GET /oauth2/auth` checks the request and shows the
//! consent page; its form posts to `POST /oauth2/auth/decision`, which checks the same
//! parameters again (they come back from the browser) and redirects to the application.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use url::Url;

use super::grants::Approval;
use super::page::{Consent, consent_page, error_page};
use super::pkce::{ChallengeMethod, CodeChallenge};
use super::{OAuthSettings, Params, parse_scope};
use crate::state::Shared;

/// An authorization request whose client and redirect URI are known to be registered.
#[derive(Debug)]
struct AuthRequest {
    client_id: String,
    redirect_uri: String,
    scope: String,
    state: Option<String>,
    challenge: Option<CodeChallenge>,
}

/// Why an authorization request stops.
#[derive(Debug)]
enum Refusal {
    /// The client or redirect URI cannot be trusted: an error page, never a redirect.
    Page(String),
    /// The application hears about it at its redirect URI (RFC 6749 §4.1.2.1).
    Redirect {
        redirect_uri: String,
        error: &'static str,
        description: String,
        state: Option<String>,
    },
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::Page(message) => error_page(&message),
            Refusal::Redirect {
                redirect_uri,
                error,
                description,
                state,
            } => {
                let mut pairs = vec![("error", error), ("error_description", &description)];
                pairs.extend(state.as_deref().map(|s| ("state", s)));
                redirect(&redirect_uri, &pairs)
            }
        }
    }
}

impl AuthRequest {
    fn check(settings: &OAuthSettings, params: &Params) -> Result<Self, Refusal> {
        let page = |message: &str| Refusal::Page(message.to_owned());
        let client_id = params
            .get("client_id")
            .ok_or_else(|| page("client_id is missing"))?;
        let client = settings
            .client(client_id)
            .ok_or_else(|| page("client_id is not a registered application"))?;
        let redirect_uri = params
            .get("redirect_uri")
            .ok_or_else(|| page("redirect_uri is missing"))?;
        if !client.redirect_uris.iter().any(|uri| uri == redirect_uri) {
            return Err(page("redirect_uri is not registered for this application"));
        }

        let state = params.get("state").map(str::to_owned);
        let refuse = |error: &'static str, description: &str| Refusal::Redirect {
            redirect_uri: redirect_uri.to_owned(),
            error,
            description: description.to_owned(),
            state: state.clone(),
        };
        match params.get("response_type") {
            Some("code") => {}
            Some(_) => {
                return Err(refuse(
                    "unsupported_response_type",
                    "only `code` is supported",
                ));
            }
            None => return Err(refuse("invalid_request", "response_type is missing")),
        }
        let scope =
            parse_scope(params.get("scope")).map_err(|why| refuse("invalid_scope", &why))?;
        let challenge = CodeChallenge::parse(
            params.get("code_challenge"),
            params.get("code_challenge_method"),
        )
        .map_err(|why| refuse("invalid_request", &why))?;

        Ok(Self {
            client_id: client_id.to_owned(),
            redirect_uri: redirect_uri.to_owned(),
            scope,
            state,
            challenge,
        })
    }

    /// The parameters the consent form posts back.
    fn hidden_fields(&self) -> Vec<(&str, &str)> {
        let mut fields = vec![
            ("client_id", self.client_id.as_str()),
            ("redirect_uri", self.redirect_uri.as_str()),
            ("response_type", "code"),
            ("scope", self.scope.as_str()),
        ];
        fields.extend(self.state.as_deref().map(|s| ("state", s)));
        if let Some(challenge) = &self.challenge {
            let method = match challenge.method {
                ChallengeMethod::Plain => "plain",
                ChallengeMethod::S256 => "S256",
            };
            fields.push(("code_challenge", challenge.challenge.as_str()));
            fields.push(("code_challenge_method", method));
        }
        fields
    }

    /// Redirects to the application with `pairs`, then `state` when the request had one.
    fn answer(&self, pairs: &[(&str, &str)]) -> Response {
        let mut pairs = pairs.to_vec();
        pairs.extend(self.state.as_deref().map(|s| ("state", s)));
        redirect(&self.redirect_uri, &pairs)
    }
}

/// `GET /oauth2/auth`: the consent page.
pub(super) async fn show_consent(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
) -> Response {
    let query = query.unwrap_or_default();
    let request = match checked_request(&shared, query.as_bytes()) {
        Ok((request, _)) => request,
        Err(refusal) => return refusal.into_response(),
    };
    let organizations = match shared.organizations() {
        Ok(organizations) => organizations,
        Err(error) => return error.into_response(),
    };

    let consent = Consent {
        client_id: &request.client_id,
        scope: &request.scope,
        hidden: request.hidden_fields(),
        organizations: &organizations,
    };
    consent_page(&consent).into_response()
}

/// `POST /oauth2/auth/decision`: the consent form's answer.
pub(super) async fn decide(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let (request, params) = match checked_request(&shared, &body) {
        Ok(checked) => checked,
        Err(refusal) => return refusal.into_response(),
    };
    match params.get("decision") {
        Some("approve") => approve(&shared, &request, params.get("organization_id")),
        Some("deny") => request.answer(&[("error", "access_denied")]),
        _ => error_page("the decision must be `approve` or `deny`"),
    }
}

fn checked_request(shared: &Shared, bytes: &[u8]) -> Result<(AuthRequest, Params), Refusal> {
    let params = Params::parse(bytes).map_err(Refusal::Page)?;
    let request = AuthRequest::check(&shared.oauth, &params)?;
    Ok((request, params))
}

fn approve(shared: &Shared, request: &AuthRequest, org_id: Option<&str>) -> Response {
    let Some(org_id) = org_id else {
        return error_page("choose an organization");
    };
    match shared.organizations() {
        Ok(organizations) if organizations.iter().any(|(id, _)| id == org_id) => {}
        Ok(_) => return error_page("unknown organization"),
        Err(error) => return error.into_response(),
    }

    let approval = Approval {
        client_id: request.client_id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        org_id: org_id.to_owned(),
        scope: request.scope.clone(),
        challenge: request.challenge.clone(),
    };
    let now = shared.now();
    let lifetimes = shared.oauth.lifetimes;
    let issued = shared.write_store(|store| {
        Ok::<_, crate::ApiError>(store.oauth.issue_code(approval, now, lifetimes))
    });
    match issued {
        Ok(code) => request.answer(&[("code", &code), ("scope", &request.scope)]),
        Err(error) => error.into_response(),
    }
}

/// A `302 Found` to `redirect_uri` with `pairs` appended to its query.
fn redirect(redirect_uri: &str, pairs: &[(&str, &str)]) -> Response {
    let Ok(mut url) = Url::parse(redirect_uri) else {
        return error_page("the registered redirect_uri is not a URL");
    };
    url.query_pairs_mut().extend_pairs(pairs);
    match HeaderValue::from_str(url.as_str()) {
        Ok(location) => (StatusCode::FOUND, [(header::LOCATION, location)]).into_response(),
        Err(_) => error_page("the redirect URL cannot be sent as a header"),
    }
}
