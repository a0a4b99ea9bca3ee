//! `ConnectionTokens`: proactive refresh, rotation, single flight, reconnect and
//! transient failures.

use std::time::Duration;

use akiles_client::{TokenError, TokenSource};
use akiles_oauth::{OAuthError, begin_connect, disconnect, finish_connect};
use secrecy::{ExposeSecret, SecretString};
use sync_store::ConnectionState;

use crate::harness::{LogCapture, TENANT, TestOAuth};

/// Past the access token's expiry (1 h).
const EXPIRED: Duration = Duration::from_secs(2 * 3600);
/// Four minutes before expiry: within the default 5-minute margin.
const DUE: Duration = Duration::from_secs(56 * 60);

fn same(a: &SecretString, b: &SecretString) -> bool {
    a.expose_secret() == b.expose_secret()
}

#[tokio::test]
async fn a_fresh_token_comes_from_the_store_without_refreshing() {
    let test = TestOAuth::spawn().await;
    let connection = test.connect_tenant().await;
    let tokens = test.tokens();

    let token = tokens.access_token().await.unwrap();

    assert!(same(&token, connection.access_token.as_ref().unwrap()));
    assert_eq!(tokens.refreshes(), 0);
    assert_eq!(test.token_requests(), 0);
}

#[tokio::test]
async fn a_token_due_within_the_margin_is_refreshed_before_it_expires() {
    let test = TestOAuth::spawn().await;
    let before = test.connect_tenant().await;
    let tokens = test.tokens();

    test.advance(DUE);
    let token = tokens.access_token().await.unwrap();

    assert!(!same(&token, before.access_token.as_ref().unwrap()));
    assert_eq!(tokens.refreshes(), 1);
    assert_eq!(test.emulator.token_refreshes(), 1);
    assert_eq!(test.api_status(&token).await, 200);
    let after = test.connection().await;
    assert!(same(after.access_token.as_ref().unwrap(), &token));
    assert!(after.access_expires_at > before.access_expires_at);
}

#[tokio::test]
async fn the_rotated_refresh_token_is_stored_and_the_old_one_is_dead() {
    let test = TestOAuth::spawn().await;
    let before = test.connect_tenant().await;
    let old_refresh = before.refresh_token.clone().unwrap();
    let tokens = test.tokens();

    test.advance(EXPIRED);
    tokens.access_token().await.unwrap();

    let after = test.connection().await;
    let new_refresh = after.refresh_token.clone().unwrap();
    assert!(!same(&new_refresh, &old_refresh));
    assert!(after.revision > before.revision);
    let replay = test.oauth.refresh(&old_refresh).await;
    assert!(matches!(replay, Err(OAuthError::InvalidGrant)));
    assert!(test.oauth.refresh(&new_refresh).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_tasks_and_workers_on_an_expired_token_refresh_exactly_once() {
    let test = TestOAuth::spawn().await;
    let before = test.connect_tenant().await;
    let worker_a = test.tokens();
    let worker_b = test.tokens();
    test.emulator.expire_access_tokens();
    test.advance(EXPIRED);

    let (a1, a2, b1, b2) = tokio::join!(
        worker_a.access_token(),
        worker_a.access_token(),
        worker_b.access_token(),
        worker_b.access_token(),
    );

    assert_eq!(test.emulator.token_refreshes(), 1);
    assert_eq!(test.token_requests(), 1, "one token request reached Akiles");
    assert_eq!(worker_a.refreshes() + worker_b.refreshes(), 1);
    let stored = test.connection().await.access_token.unwrap();
    for token in [a1, a2, b1, b2] {
        let token = token.unwrap();
        assert!(same(&token, &stored));
        assert!(!same(&token, before.access_token.as_ref().unwrap()));
    }
    assert_eq!(test.api_status(&stored).await, 200);
    assert_eq!(test.connection().await.state, ConnectionState::Connected);
}

#[tokio::test]
async fn a_rejected_current_token_is_refreshed_on_the_next_call() {
    let test = TestOAuth::spawn().await;
    test.connect_tenant().await;
    let tokens = test.tokens();
    let first = tokens.access_token().await.unwrap();
    // Past the claim lease: a connection written seconds ago with an unusable token
    // looks like another worker's refresh in progress (see the crate README).
    test.advance(Duration::from_secs(60));

    tokens.token_rejected(&SecretString::from("some-older-token"));
    let unchanged = tokens.access_token().await.unwrap();
    tokens.token_rejected(&first);
    let replaced = tokens.access_token().await.unwrap();

    assert!(
        same(&unchanged, &first),
        "an old token's rejection changes nothing"
    );
    assert!(!same(&replaced, &first));
    assert_eq!(tokens.refreshes(), 1);
}

#[tokio::test]
async fn a_revoked_grant_needs_a_reconnect_and_warns_once() {
    let test = TestOAuth::spawn().await;
    test.connect_tenant().await;
    let tokens = test.tokens();
    test.emulator.revoke_oauth_grants();
    test.advance(EXPIRED);
    let (logs, _guard) = LogCapture::start();

    let first = tokens.access_token().await;
    let second = tokens.access_token().await;
    let other_worker = test.tokens().access_token().await;

    assert!(matches!(first, Err(TokenError::ReconnectRequired)));
    assert!(matches!(second, Err(TokenError::ReconnectRequired)));
    assert!(matches!(other_worker, Err(TokenError::ReconnectRequired)));
    let connection = test.connection().await;
    assert_eq!(connection.state, ConnectionState::ReconnectNeeded);
    assert!(
        connection
            .reason
            .as_deref()
            .unwrap()
            .contains("connect again")
    );
    assert!(connection.refresh_token.is_none() && connection.access_token.is_none());
    assert_eq!(
        test.token_requests(),
        1,
        "later calls do not ask Akiles again"
    );
    let warnings = logs.warnings();
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert!(warnings[0].contains(TENANT));
}

#[tokio::test]
async fn connecting_again_after_a_revocation_works() {
    let test = TestOAuth::spawn().await;
    test.connect_tenant().await;
    let tokens = test.tokens();
    test.emulator.revoke_oauth_grants();
    test.advance(EXPIRED);
    assert!(tokens.access_token().await.is_err());

    let connection = test.connect_tenant().await;
    let token = tokens.access_token().await.unwrap();

    assert_eq!(connection.state, ConnectionState::Connected);
    assert_eq!(connection.reason, None);
    assert_eq!(test.api_status(&token).await, 200);
}

#[tokio::test]
async fn an_unavailable_token_endpoint_leaves_the_connection_alone() {
    let test = TestOAuth::spawn().await;
    let before = test.connect_tenant().await;
    let tokens = test.tokens();
    test.advance(EXPIRED);
    test.fail_token_endpoint(503);

    let failed = tokens.access_token().await;

    assert!(matches!(failed, Err(TokenError::Unavailable(_))));
    let connection = test.connection().await;
    assert_eq!(connection.state, ConnectionState::Connected);
    assert_eq!(connection.reason, None);
    assert!(same(
        connection.refresh_token.as_ref().unwrap(),
        before.refresh_token.as_ref().unwrap()
    ));

    test.heal_token_endpoint();
    let token = tokens.access_token().await.unwrap();
    assert_eq!(test.api_status(&token).await, 200);
}

#[tokio::test]
async fn a_failed_early_refresh_keeps_serving_the_still_valid_token() {
    let test = TestOAuth::spawn().await;
    let before = test.connect_tenant().await;
    let tokens = test.tokens();
    test.advance(DUE);
    test.fail_token_endpoint(503);

    let token = tokens.access_token().await.unwrap();

    assert!(same(&token, before.access_token.as_ref().unwrap()));
    assert_eq!(test.connection().await.state, ConnectionState::Connected);
}

#[tokio::test]
async fn a_disconnected_or_unknown_connection_needs_a_reconnect() {
    let test = TestOAuth::spawn().await;
    let tokens = test.tokens();
    let never_connected = tokens.access_token().await;
    test.connect_tenant().await;

    disconnect(&*test.store, TENANT).await.unwrap();
    let disconnected = tokens.access_token().await;

    assert!(matches!(
        never_connected,
        Err(TokenError::ReconnectRequired)
    ));
    assert!(matches!(disconnected, Err(TokenError::ReconnectRequired)));
    assert_eq!(test.token_requests(), 0);
}

#[tokio::test]
async fn no_token_code_state_or_secret_reaches_the_logs_or_debug_output() {
    let test = TestOAuth::spawn().await;
    let (logs, _guard) = LogCapture::start();
    let store = &*test.store;

    let url = begin_connect(store, TENANT, &test.oauth, &*test.clock)
        .await
        .unwrap();
    let callback = test.approve(&url).await;
    let (state, code) = (callback.state.unwrap(), callback.code.unwrap());
    finish_connect(store, &test.oauth, &*test.clock, &state, &code)
        .await
        .unwrap();
    let first = test.connection().await;
    let tokens = test.tokens();
    test.advance(EXPIRED);
    tokens.access_token().await.unwrap();
    let second = test.connection().await;
    test.emulator.revoke_oauth_grants();
    test.advance(EXPIRED);
    let revoked = tokens.access_token().await.unwrap_err();

    let printed = format!(
        "{} {first:?} {second:?} {tokens:?} {:?} {revoked:?} {revoked}",
        logs.text(),
        test.oauth
    );
    let mut secrets = vec![state, code, crate::harness::CLIENT_SECRET.to_owned()];
    for connection in [&first, &second] {
        let access = connection.access_token.as_ref().unwrap();
        let refresh = connection.refresh_token.as_ref().unwrap();
        secrets.push(access.expose_secret().to_owned());
        secrets.push(refresh.expose_secret().to_owned());
    }
    assert!(
        logs.text().contains("Connected tenant acme"),
        "logs were captured"
    );
    for secret in secrets {
        assert!(
            !printed.contains(&secret),
            "a secret leaked into logs or Debug"
        );
    }
}
