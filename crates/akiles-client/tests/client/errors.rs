//! Error mapping: unknown ids, refused tokens, the token refresh hook.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use akiles_client::types::{MemberPatch, NewMemberPin};
use akiles_client::{Client, ClientError, TokenError, TokenSource};
use futures_util::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};

use crate::support::{client_for, spawn, test_config};

#[tokio::test]
async fn unknown_ids_map_to_not_found() {
    let app = spawn().await;
    let missing = "mem_1111111111111111111x";

    let get = app.client.member(missing, &[]).await.unwrap_err();
    let delete = app.client.delete_member(missing).await.unwrap_err();
    let patch = app
        .client
        .update_member(missing, &MemberPatch::default())
        .await
        .unwrap_err();
    let pin = app
        .client
        .create_member_pin(missing, &NewMemberPin::default())
        .await
        .unwrap_err();

    for err in [&get, &delete, &patch, &pin] {
        assert!(err.is_not_found(), "{err:?}");
        assert_eq!(err.status(), Some(404));
        assert!(!err.may_have_applied());
    }
    assert_eq!(app.client.stats().retries, 0, "a 404 is final");
    app.shutdown().await;
}

#[tokio::test]
async fn bad_key_is_unauthorized_after_one_retry() {
    let app = spawn().await;
    let client = client_for(&app.emulator.base_url(), "ak_not_a_real_key", |_| {});

    let err = client.organization().await.unwrap_err();

    assert!(matches!(err, ClientError::Unauthorized { .. }), "{err:?}");
    assert_eq!(err.status(), Some(401));
    assert_eq!(client.stats().requests, 2);
    assert_eq!(app.calls("GET /v2/organization"), 2);
    app.shutdown().await;
}

/// Hands out a stale token until told it was rejected, then the good one.
struct RotatingToken {
    good: String,
    rejected: AtomicUsize,
}

impl TokenSource for RotatingToken {
    fn access_token(&self) -> BoxFuture<'_, Result<SecretString, TokenError>> {
        let token = match self.rejected.load(Ordering::SeqCst) {
            0 => "stale-token".to_owned(),
            _ => self.good.clone(),
        };
        Box::pin(async move { Ok(SecretString::from(token)) })
    }

    fn token_rejected(&self, token: &SecretString) {
        assert_eq!(token.expose_secret(), "stale-token");
        self.rejected.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn rejected_token_is_reported_and_the_call_retried_with_a_fresh_one() {
    let app = spawn().await;
    let source = Arc::new(RotatingToken {
        good: app.emulator.api_key(),
        rejected: 0.into(),
    });
    let client = Client::new(test_config(&app.emulator.base_url()), source.clone()).unwrap();

    let member = client
        .create_member(&crate::support::new_member("Fresh", "token"))
        .await;

    assert!(member.is_ok(), "{member:?}");
    assert_eq!(source.rejected.load(Ordering::SeqCst), 1);
    assert_eq!(client.stats().retries, 1);
    assert_eq!(app.calls("POST /v2/members"), 2);
    app.shutdown().await;
}

/// A source that cannot produce a token.
struct Disconnected;

impl TokenSource for Disconnected {
    fn access_token(&self) -> BoxFuture<'_, Result<SecretString, TokenError>> {
        Box::pin(async { Err(TokenError::ReconnectRequired) })
    }

    fn token_rejected(&self, _token: &SecretString) {}
}

#[tokio::test]
async fn missing_token_fails_before_any_request() {
    let app = spawn().await;
    let client = Client::new(
        test_config(&app.emulator.base_url()),
        Arc::new(Disconnected),
    )
    .unwrap();

    let err = client.organization().await.unwrap_err();

    assert!(
        matches!(err, ClientError::Token(TokenError::ReconnectRequired)),
        "{err:?}"
    );
    assert_eq!(client.stats().requests, 0);
    app.shutdown().await;
}
