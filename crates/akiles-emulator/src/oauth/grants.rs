//! The OAuth server's memory: pending authorization codes, grants (one per approved
//! consent, holding the current refresh token) and access tokens.
//!
//! Everything here is pure: the caller passes the current time and the lifetimes, so the
//! rules (single-use codes, expiry, rotation, revocation) are unit-tested without a server.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::pkce::{CodeChallenge, is_pkce_string};

/// The scope that makes the token response carry a refresh token.
pub const OFFLINE_SCOPE: &str = "offline";

/// What a user approved on the consent page, remembered with the code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    /// The application the code is for.
    pub client_id: String,
    /// The redirect URI of the authorization request.
    pub redirect_uri: String,
    /// The organization the user picked.
    pub org_id: String,
    /// Granted scopes, space-separated.
    pub scope: String,
    /// PKCE challenge, when the request had one.
    #[serde(default)]
    pub challenge: Option<CodeChallenge>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct AuthCode {
    approval: Approval,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
}

/// One approved consent: the organization, the scopes and the current refresh token.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Grant {
    client_id: String,
    org_id: String,
    scope: String,
    #[serde(default)]
    refresh_token: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct AccessToken {
    grant_id: String,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
}

/// Codes, grants and access tokens; persisted with the rest of the store.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct OAuthState {
    #[serde(default)]
    codes: BTreeMap<String, AuthCode>,
    #[serde(default)]
    grants: BTreeMap<String, Grant>,
    #[serde(default)]
    access_tokens: BTreeMap<String, AccessToken>,
    #[serde(default)]
    next_grant: u64,
}

/// The lifetimes the server was configured with.
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    /// How long an access token works.
    pub access_token: Duration,
    /// How long an authorization code can be exchanged.
    pub auth_code: Duration,
}

/// Tokens handed out by a successful exchange or refresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedTokens {
    /// New access token.
    pub access_token: String,
    /// New refresh token, when the grant has the `offline` scope.
    pub refresh_token: Option<String>,
    /// The grant's scopes.
    pub scope: String,
}

/// A code exchange as the token endpoint received it.
#[derive(Debug, Clone, Copy)]
pub struct CodeExchange<'a> {
    /// The authenticated client.
    pub client_id: &'a str,
    /// The `code` parameter.
    pub code: &'a str,
    /// The `redirect_uri` parameter, when sent.
    pub redirect_uri: Option<&'a str>,
    /// The `code_verifier` parameter, when sent.
    pub code_verifier: Option<&'a str>,
}

/// Why a code exchange or refresh was refused, as an RFC 6749 error code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantError {
    /// `invalid_grant`: unknown, expired, used, revoked or mismatched.
    Unusable(String),
    /// `invalid_request`: a malformed parameter.
    Malformed(String),
    /// `invalid_scope`: a refresh asked for scopes the grant does not hold.
    ScopeNotGranted(String),
}

/// What a Bearer token is worth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenCheck {
    /// The token works for this organization.
    Valid(String),
    /// The token was issued but its lifetime is over.
    Expired,
    /// The token was never issued, or was revoked.
    Unknown,
}

/// Which grants to revoke.
#[derive(Debug, Clone, Copy)]
pub enum Revocation<'a> {
    /// Every grant, and every pending code.
    All,
    /// The grant whose current refresh token this is.
    RefreshToken(&'a str),
}

impl OAuthState {
    /// Remembers an approval and returns the code for it.
    pub fn issue_code(
        &mut self,
        approval: Approval,
        now: OffsetDateTime,
        lifetimes: Lifetimes,
    ) -> String {
        self.prune(now);
        let code = random_token("emu_code_");
        let expires_at = after(now, lifetimes.auth_code);
        self.codes.insert(
            code.clone(),
            AuthCode {
                approval,
                expires_at,
            },
        );
        code
    }

    /// Redeems a code once. A refused attempt leaves the code usable, except when expired.
    pub fn exchange_code(
        &mut self,
        exchange: CodeExchange<'_>,
        now: OffsetDateTime,
        lifetimes: Lifetimes,
    ) -> Result<IssuedTokens, GrantError> {
        let invalid = |why: &str| GrantError::Unusable(why.to_owned());
        let Some(code) = self.codes.get(exchange.code) else {
            return Err(invalid("unknown, used or revoked authorization code"));
        };
        if now >= code.expires_at {
            self.codes.remove(exchange.code);
            return Err(invalid("the authorization code has expired"));
        }
        check_exchange(&code.approval, exchange)?;

        let Some(AuthCode { approval, .. }) = self.codes.remove(exchange.code) else {
            return Err(invalid("unknown, used or revoked authorization code"));
        };
        let grant_id = self.add_grant(approval);
        Ok(self.issue_tokens(&grant_id, now, lifetimes))
    }

    /// Trades a refresh token for new tokens; the old refresh token stops working.
    pub fn refresh(
        &mut self,
        client_id: &str,
        refresh_token: &str,
        requested_scope: Option<&str>,
        now: OffsetDateTime,
        lifetimes: Lifetimes,
    ) -> Result<IssuedTokens, GrantError> {
        let Some((grant_id, grant)) = self.grant_by_refresh_token(refresh_token) else {
            return Err(GrantError::Unusable(
                "unknown, rotated or revoked refresh token".into(),
            ));
        };
        if grant.client_id != client_id {
            return Err(GrantError::Unusable(
                "the refresh token was issued to another client".into(),
            ));
        }
        if let Some(requested) = requested_scope {
            let held: Vec<&str> = grant.scope.split(' ').collect();
            if let Some(extra) = requested
                .split(' ')
                .find(|s| !s.is_empty() && !held.contains(s))
            {
                return Err(GrantError::ScopeNotGranted(format!(
                    "scope `{extra}` was not granted"
                )));
            }
        }

        let grant_id = grant_id.clone();
        self.prune(now);
        Ok(self.issue_tokens(&grant_id, now, lifetimes))
    }

    /// The organization a Bearer token works for, if it does.
    pub fn check_access_token(&self, token: &str, now: OffsetDateTime) -> TokenCheck {
        let Some(access) = self.access_tokens.get(token) else {
            return TokenCheck::Unknown;
        };
        if now >= access.expires_at {
            return TokenCheck::Expired;
        }
        match self.grants.get(&access.grant_id) {
            Some(grant) => TokenCheck::Valid(grant.org_id.clone()),
            None => TokenCheck::Unknown,
        }
    }

    /// Revokes grants with their refresh and access tokens; returns how many grants.
    pub fn revoke(&mut self, which: Revocation<'_>) -> usize {
        let revoked: Vec<String> = match which {
            Revocation::All => {
                self.codes.clear();
                self.grants.keys().cloned().collect()
            }
            Revocation::RefreshToken(token) => self
                .grant_by_refresh_token(token)
                .map(|(id, _)| id.clone())
                .into_iter()
                .collect(),
        };
        for grant_id in &revoked {
            self.grants.remove(grant_id);
        }
        self.access_tokens
            .retain(|_, access| self.grants.contains_key(&access.grant_id));
        revoked.len()
    }

    /// Makes every live access token expire at `now`; returns how many there were.
    pub fn expire_access_tokens(&mut self, now: OffsetDateTime) -> usize {
        let live = self
            .access_tokens
            .values_mut()
            .filter(|access| access.expires_at > now);
        live.map(|access| access.expires_at = now).count()
    }

    fn grant_by_refresh_token(&self, token: &str) -> Option<(&String, &Grant)> {
        self.grants
            .iter()
            .find(|(_, grant)| grant.refresh_token.as_deref() == Some(token))
    }

    fn add_grant(&mut self, approval: Approval) -> String {
        self.next_grant += 1;
        let grant_id = format!("grant_{}", self.next_grant);
        let grant = Grant {
            client_id: approval.client_id,
            org_id: approval.org_id,
            scope: approval.scope,
            refresh_token: None,
        };
        self.grants.insert(grant_id.clone(), grant);
        grant_id
    }

    /// A fresh access token and, for offline grants, a fresh refresh token that
    /// replaces the previous one.
    fn issue_tokens(
        &mut self,
        grant_id: &str,
        now: OffsetDateTime,
        lifetimes: Lifetimes,
    ) -> IssuedTokens {
        let access_token = random_token("emu_at_");
        self.access_tokens.insert(
            access_token.clone(),
            AccessToken {
                grant_id: grant_id.to_owned(),
                expires_at: after(now, lifetimes.access_token),
            },
        );

        let grant = self.grants.get_mut(grant_id);
        let scope = grant.as_ref().map(|g| g.scope.clone()).unwrap_or_default();
        let offline = scope.split(' ').any(|s| s == OFFLINE_SCOPE);
        let refresh_token = offline.then(|| random_token("emu_rt_"));
        if let Some(grant) = grant {
            grant.refresh_token = refresh_token.clone();
        }
        IssuedTokens {
            access_token,
            refresh_token,
            scope,
        }
    }

    /// Forgets expired codes and access tokens so a long-running emulator stays small.
    fn prune(&mut self, now: OffsetDateTime) {
        self.codes.retain(|_, code| code.expires_at > now);
        self.access_tokens
            .retain(|_, access| access.expires_at > now);
    }
}

/// Checks the parts of an exchange that must agree with the authorization request.
fn check_exchange(approval: &Approval, exchange: CodeExchange<'_>) -> Result<(), GrantError> {
    let invalid = |why: &str| Err(GrantError::Unusable(why.to_owned()));
    if approval.client_id != exchange.client_id {
        return invalid("the authorization code was issued to another client");
    }
    if exchange
        .redirect_uri
        .is_some_and(|uri| uri != approval.redirect_uri)
    {
        return invalid("redirect_uri differs from the authorization request");
    }
    let Some(challenge) = &approval.challenge else {
        return Ok(());
    };
    let Some(verifier) = exchange.code_verifier else {
        return invalid("code_verifier is required for this code");
    };
    if !is_pkce_string(verifier) {
        return Err(GrantError::Malformed(
            "code_verifier must be 43 to 128 unreserved characters".into(),
        ));
    }
    if !challenge.accepts(verifier) {
        return invalid("code_verifier does not match the code_challenge");
    }
    Ok(())
}

/// `now + ttl`, saturating far in the future for absurd lifetimes.
fn after(now: OffsetDateTime, ttl: Duration) -> OffsetDateTime {
    let far = now + time::Duration::days(365 * 100);
    time::Duration::try_from(ttl)
        .ok()
        .and_then(|ttl| now.checked_add(ttl))
        .map_or(far, |at| at.min(far))
}

/// An opaque token: a readable prefix and 32 random bytes in base64url.
fn random_token(prefix: &str) -> String {
    let mut bytes = [0_u8; 32];
    rand::fill(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::pkce::s256;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);
    const LIFETIMES: Lifetimes = Lifetimes {
        access_token: Duration::from_secs(3600),
        auth_code: Duration::from_secs(900),
    };

    fn approval(scope: &str) -> Approval {
        Approval {
            client_id: "app_1".into(),
            redirect_uri: "http://127.0.0.1:9/cb".into(),
            org_id: "org_1".into(),
            scope: scope.into(),
            challenge: None,
        }
    }

    fn exchange(code: &str) -> CodeExchange<'_> {
        CodeExchange {
            client_id: "app_1",
            code,
            redirect_uri: None,
            code_verifier: None,
        }
    }

    fn seconds(n: i64) -> time::Duration {
        time::Duration::seconds(n)
    }

    #[test]
    fn a_code_works_once_and_binds_the_token_to_the_org() {
        let mut state = OAuthState::default();
        let code = state.issue_code(approval("full_read_write"), T0, LIFETIMES);

        let tokens = state.exchange_code(exchange(&code), T0, LIFETIMES).unwrap();
        let again = state.exchange_code(exchange(&code), T0, LIFETIMES);

        assert_eq!(tokens.refresh_token, None);
        assert!(matches!(again, Err(GrantError::Unusable(_))));
        assert_eq!(
            state.check_access_token(&tokens.access_token, T0),
            TokenCheck::Valid("org_1".into())
        );
    }

    #[test]
    fn a_code_expires_after_its_lifetime() {
        let mut state = OAuthState::default();
        let code = state.issue_code(approval("offline"), T0, LIFETIMES);

        let late = state.exchange_code(exchange(&code), T0 + seconds(900), LIFETIMES);

        assert!(matches!(late, Err(GrantError::Unusable(_))));
    }

    #[test]
    fn a_mismatched_redirect_uri_or_client_is_refused_without_using_the_code() {
        let mut state = OAuthState::default();
        let code = state.issue_code(approval("offline"), T0, LIFETIMES);
        let wrong_uri = CodeExchange {
            redirect_uri: Some("http://127.0.0.1:9/other"),
            ..exchange(&code)
        };
        let wrong_client = CodeExchange {
            client_id: "app_2",
            ..exchange(&code)
        };

        assert!(state.exchange_code(wrong_uri, T0, LIFETIMES).is_err());
        assert!(state.exchange_code(wrong_client, T0, LIFETIMES).is_err());
        assert!(state.exchange_code(exchange(&code), T0, LIFETIMES).is_ok());
    }

    #[test]
    fn pkce_needs_the_matching_verifier() {
        let verifier = "v".repeat(50);
        let mut with_challenge = approval("offline");
        with_challenge.challenge =
            CodeChallenge::parse(Some(&s256(&verifier)), Some("S256")).unwrap();
        let mut state = OAuthState::default();
        let code = state.issue_code(with_challenge, T0, LIFETIMES);
        let wrong = "w".repeat(50);

        let missing = state.exchange_code(exchange(&code), T0, LIFETIMES);
        let mismatched = state.exchange_code(
            CodeExchange {
                code_verifier: Some(&wrong),
                ..exchange(&code)
            },
            T0,
            LIFETIMES,
        );
        let right = state.exchange_code(
            CodeExchange {
                code_verifier: Some(&verifier),
                ..exchange(&code)
            },
            T0,
            LIFETIMES,
        );

        assert!(matches!(missing, Err(GrantError::Unusable(_))));
        assert!(matches!(mismatched, Err(GrantError::Unusable(_))));
        assert!(right.is_ok());
    }

    #[test]
    fn refresh_rotates_the_refresh_token() {
        let mut state = OAuthState::default();
        let code = state.issue_code(approval("full_read_write offline"), T0, LIFETIMES);
        let first = state.exchange_code(exchange(&code), T0, LIFETIMES).unwrap();
        let old = first.refresh_token.unwrap();

        let second = state.refresh("app_1", &old, None, T0, LIFETIMES).unwrap();
        let reused = state.refresh("app_1", &old, None, T0, LIFETIMES);
        let new = second.refresh_token.unwrap();

        assert_ne!(old, new);
        assert!(matches!(reused, Err(GrantError::Unusable(_))));
        assert!(state.refresh("app_1", &new, None, T0, LIFETIMES).is_ok());
        assert_eq!(second.scope, "full_read_write offline");
    }

    #[test]
    fn refresh_refuses_other_clients_and_wider_scopes() {
        let mut state = OAuthState::default();
        let code = state.issue_code(approval("full_read_only offline"), T0, LIFETIMES);
        let tokens = state.exchange_code(exchange(&code), T0, LIFETIMES).unwrap();
        let refresh = tokens.refresh_token.unwrap();

        let other = state.refresh("app_2", &refresh, None, T0, LIFETIMES);
        let wider = state.refresh("app_1", &refresh, Some("full_read_write"), T0, LIFETIMES);
        let narrower = state.refresh("app_1", &refresh, Some("offline"), T0, LIFETIMES);

        assert!(matches!(other, Err(GrantError::Unusable(_))));
        assert!(matches!(wider, Err(GrantError::ScopeNotGranted(_))));
        assert!(narrower.is_ok());
    }

    #[test]
    fn access_tokens_expire_and_can_be_expired_early() {
        let mut state = OAuthState::default();
        let code = state.issue_code(approval("offline"), T0, LIFETIMES);
        let tokens = state.exchange_code(exchange(&code), T0, LIFETIMES).unwrap();
        let token = tokens.access_token;

        let later = state.check_access_token(&token, T0 + seconds(3600));
        let expired = state.expire_access_tokens(T0 + seconds(1));

        assert_eq!(later, TokenCheck::Expired);
        assert_eq!(expired, 1);
        assert_eq!(
            state.check_access_token(&token, T0 + seconds(1)),
            TokenCheck::Expired
        );
    }

    #[test]
    fn revoking_a_grant_kills_its_refresh_and_access_tokens_only() {
        let mut state = OAuthState::default();
        let code_a = state.issue_code(approval("offline"), T0, LIFETIMES);
        let code_b = state.issue_code(approval("offline"), T0, LIFETIMES);
        let a = state
            .exchange_code(exchange(&code_a), T0, LIFETIMES)
            .unwrap();
        let b = state
            .exchange_code(exchange(&code_b), T0, LIFETIMES)
            .unwrap();
        let a_refresh = a.refresh_token.unwrap();

        let revoked = state.revoke(Revocation::RefreshToken(&a_refresh));

        assert_eq!(revoked, 1);
        assert_eq!(
            state.check_access_token(&a.access_token, T0),
            TokenCheck::Unknown
        );
        assert!(
            state
                .refresh("app_1", &a_refresh, None, T0, LIFETIMES)
                .is_err()
        );
        assert!(matches!(
            state.check_access_token(&b.access_token, T0),
            TokenCheck::Valid(_)
        ));
        assert_eq!(state.revoke(Revocation::All), 1);
    }
}
