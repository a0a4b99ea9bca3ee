//! Admin login, logout and sessions.
//!
//! A session is an encrypted, authenticated cookie (`PrivateCookieJar`, keyed from the
//! `cookie_key` setting) holding the username and when the session ends: 12 hours after
//! login. It is `HttpOnly`, `SameSite=Lax`, and `Secure` when the public URL is https.
//! A wrong username and a wrong password get the same answer.
//!
//! One-time messages for the next page ("flash") travel in a second encrypted cookie.

use std::sync::Arc;

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Extension, FromRequestParts, State};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, PrivateCookieJar, SameSite};
use serde::Deserialize;
use time::OffsetDateTime;

use super::AdminContext;
use super::page::{Flash, PageError};
use crate::state::AppState;

const SESSION_COOKIE: &str = "ahs_session";
const FLASH_COOKIE: &str = "ahs_flash";

/// How long a login lasts.
pub const SESSION_LENGTH: time::Duration = time::Duration::hours(12);

/// Hashes a password into a PHC string (argon2id, fresh random salt).
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let hash = Argon2::default().hash_password(password.as_bytes())?;
    Ok(hash.to_string())
}

/// Whether `password` matches the PHC string `hash` (false for a malformed hash too).
pub fn verify_password(password: &str, hash: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), hash)
        .is_ok()
}

/// A hash checked when the username is unknown, so both failures take as long.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("not a password of anyone").unwrap_or_default())
}

/// A logged-in admin, with the cookie jar to answer with.
#[derive(Debug)]
pub struct AdminSession {
    pub username: String,
    /// The flash message left by the previous request, if any (already taken).
    pub flash: Option<Flash>,
    jar: PrivateCookieJar,
    context: Arc<AdminContext>,
}

impl AdminSession {
    /// A page response, clearing the flash message that was shown.
    pub fn render(self, page: impl IntoResponse) -> Response {
        (self.jar, page).into_response()
    }

    /// `303 See Other` to `to`, with a message for the next page.
    pub fn redirect(self, to: &str, flash: Flash) -> Response {
        let jar = self.jar.add(flash_cookie(&self.context, &flash));
        (jar, Redirect::to(to)).into_response()
    }
}

impl FromRequestParts<AppState> for AdminSession {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Some(context) = parts.extensions.get::<Arc<AdminContext>>().cloned() else {
            let missing = anyhow::anyhow!("the admin context is not installed");
            return Err(PageError::internal(missing).into_response());
        };
        let jar = PrivateCookieJar::from_headers(&parts.headers, context.key.clone());
        let now = state.clock.now();
        let username = jar
            .get(SESSION_COOKIE)
            .and_then(|cookie| live_session(cookie.value(), now));
        let Some(username) = username else {
            return Err(Redirect::to("/admin/login").into_response());
        };
        let admin = state.store.admin(&username).await;
        let admin = admin.map_err(|e| PageError::from(e).into_response())?;
        if admin.is_none() {
            return Err(Redirect::to("/admin/login").into_response());
        }

        let flash = jar.get(FLASH_COOKIE).and_then(|c| Flash::decode(c.value()));
        let jar = match flash {
            Some(_) => jar.remove(removal(&context, FLASH_COOKIE)),
            None => jar,
        };
        Ok(Self {
            username,
            flash,
            jar,
            context,
        })
    }
}

/// The username of a session cookie value `username|expires_unix` still running at `now`.
fn live_session(value: &str, now: OffsetDateTime) -> Option<String> {
    let (username, expires) = value.rsplit_once('|')?;
    let expires = expires.parse::<i64>().ok()?;
    (now.unix_timestamp() < expires).then(|| username.to_owned())
}

fn base_cookie(context: &AdminContext, name: &'static str, value: String) -> Cookie<'static> {
    Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(context.secure_cookies)
        .build()
}

fn removal(context: &AdminContext, name: &'static str) -> Cookie<'static> {
    base_cookie(context, name, String::new())
}

fn flash_cookie(context: &AdminContext, flash: &Flash) -> Cookie<'static> {
    base_cookie(context, FLASH_COOKIE, flash.encode())
}

/// The login page.
#[derive(Debug, Template, WebTemplate)]
#[template(path = "admin/login.html")]
pub struct LoginPage {
    pub error: Option<&'static str>,
    pub username: String,
}

/// `GET /admin/login`.
pub async fn login_form() -> LoginPage {
    LoginPage {
        error: None,
        username: String::new(),
    }
}

/// The login form.
#[derive(Deserialize)]
pub struct LoginForm {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for LoginForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginForm")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// `POST /admin/login`: a session cookie and `303` to `/admin`, or the form again.
pub async fn login(
    State(state): State<AppState>,
    Extension(context): Extension<Arc<AdminContext>>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, PageError> {
    let username = form.username.trim().to_owned();
    let admin = state.store.admin(&username).await?;
    let hash = admin
        .as_ref()
        .map_or(decoy_hash(), |a| a.password_hash.as_str());
    let matches = verify_password(&form.password, hash);
    if admin.is_none() || !matches {
        tracing::info!("Refused an admin login: unknown username or wrong password");
        let page = LoginPage {
            error: Some("The username or the password is not right."),
            username,
        };
        return Ok((axum::http::StatusCode::UNAUTHORIZED, page).into_response());
    }

    let expires = state.clock.now() + SESSION_LENGTH;
    let value = format!("{username}|{}", expires.unix_timestamp());
    let mut cookie = base_cookie(&context, SESSION_COOKIE, value);
    cookie.set_max_age(SESSION_LENGTH);
    tracing::info!(admin = %username, "Admin {username} logged in");
    let jar = PrivateCookieJar::from_headers(&headers, context.key.clone()).add(cookie);
    Ok((jar, Redirect::to("/admin")).into_response())
}

/// `POST /admin/logout`: ends the session.
pub async fn logout(
    Extension(context): Extension<Arc<AdminContext>>,
    headers: HeaderMap,
) -> Response {
    let jar = PrivateCookieJar::from_headers(&headers, context.key.clone());
    let jar = jar.remove(removal(&context, SESSION_COOKIE));
    (jar, Redirect::to("/admin/login")).into_response()
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn a_password_matches_its_own_hash_only() {
        let hash = hash_password("correct horse").unwrap();

        assert!(hash.starts_with("$argon2"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("correct hose", &hash));
        assert!(!verify_password("correct horse", "not a hash"));
    }

    #[test]
    fn a_session_ends_at_its_expiry() {
        let now = datetime!(2026-03-02 08:00 UTC);
        let value = format!("ana|{}", (now + SESSION_LENGTH).unix_timestamp());

        assert_eq!(live_session(&value, now).as_deref(), Some("ana"));
        assert_eq!(live_session(&value, now + SESSION_LENGTH), None);
        assert_eq!(live_session("ana", now), None);
    }
}
