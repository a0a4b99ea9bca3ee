//! `begin_connect`, `finish_connect` and `disconnect` with the store.

use std::time::Duration;

use akiles_oauth::{ConnectError, OAuthError, begin_connect, disconnect, finish_connect};
use sync_store::{ConnectionState, Store};

use crate::harness::{ACCESS_TTL, START, TENANT, TestOAuth};

#[tokio::test]
async fn connecting_stores_a_connected_connection_with_working_tokens() {
    let test = TestOAuth::spawn().await;
    let store = &*test.store;

    let url = begin_connect(store, TENANT, &test.oauth, &*test.clock)
        .await
        .unwrap();
    let callback = test.approve(&url).await;
    let (state, code) = (callback.state.unwrap(), callback.code.unwrap());
    let tenant = finish_connect(store, &test.oauth, &*test.clock, &state, &code)
        .await
        .unwrap();

    assert_eq!(tenant, TENANT);
    let connection = test.connection().await;
    assert_eq!(connection.state, ConnectionState::Connected);
    assert!(connection.revision >= 1);
    assert!(connection.refresh_token.is_some());
    assert_eq!(connection.access_expires_at, Some(START + ACCESS_TTL));
    assert_eq!(connection.scope.as_deref(), Some("full_read_write offline"));
    assert_eq!(connection.reason, None);
    let token = connection.access_token.unwrap();
    assert_eq!(test.api_status(&token).await, 200);
}

#[tokio::test]
async fn an_unknown_state_is_rejected_and_leaves_the_real_one_usable() {
    let test = TestOAuth::spawn().await;
    let store = &*test.store;
    let url = begin_connect(store, TENANT, &test.oauth, &*test.clock)
        .await
        .unwrap();
    let callback = test.approve(&url).await;
    let (state, code) = (callback.state.unwrap(), callback.code.unwrap());

    let forged = finish_connect(store, &test.oauth, &*test.clock, "forged-state", &code).await;
    let real = finish_connect(store, &test.oauth, &*test.clock, &state, &code).await;

    assert!(matches!(forged, Err(ConnectError::StateMismatch)));
    assert_eq!(real.unwrap(), TENANT);
}

#[tokio::test]
async fn a_state_works_only_once() {
    let test = TestOAuth::spawn().await;
    let store = &*test.store;
    let url = begin_connect(store, TENANT, &test.oauth, &*test.clock)
        .await
        .unwrap();
    let callback = test.approve(&url).await;
    let (state, code) = (callback.state.unwrap(), callback.code.unwrap());
    finish_connect(store, &test.oauth, &*test.clock, &state, &code)
        .await
        .unwrap();
    let revision = test.connection().await.revision;

    let replay = finish_connect(store, &test.oauth, &*test.clock, &state, &code).await;

    assert!(matches!(replay, Err(ConnectError::StateMismatch)));
    assert_eq!(test.connection().await.revision, revision);
    assert_eq!(test.token_requests(), 1, "the replay never reached Akiles");
}

#[tokio::test]
async fn a_state_expires_after_ten_minutes() {
    let test = TestOAuth::spawn().await;
    let store = &*test.store;
    let url = begin_connect(store, TENANT, &test.oauth, &*test.clock)
        .await
        .unwrap();
    let callback = test.approve(&url).await;
    let (state, code) = (callback.state.unwrap(), callback.code.unwrap());

    test.advance(Duration::from_secs(10 * 60 + 1));
    let late = finish_connect(store, &test.oauth, &*test.clock, &state, &code).await;

    assert!(matches!(late, Err(ConnectError::StateMismatch)));
    assert!(store.connection(TENANT).await.unwrap().is_none());
}

#[tokio::test]
async fn an_expired_code_fails_the_exchange_without_saving() {
    let test = TestOAuth::spawn().await;
    let store = &*test.store;
    let url = begin_connect(store, TENANT, &test.oauth, &*test.clock)
        .await
        .unwrap();
    let callback = test.approve(&url).await;
    let (state, code) = (callback.state.unwrap(), callback.code.unwrap());

    test.emulator
        .advance_oauth_clock(Duration::from_secs(16 * 60));
    let finished = finish_connect(store, &test.oauth, &*test.clock, &state, &code).await;

    assert!(matches!(
        finished,
        Err(ConnectError::Exchange(OAuthError::InvalidGrant))
    ));
    assert!(store.connection(TENANT).await.unwrap().is_none());
}

#[tokio::test]
async fn disconnecting_forgets_the_tokens() {
    let test = TestOAuth::spawn().await;
    let before = test.connect_tenant().await;

    disconnect(&*test.store, TENANT).await.unwrap();

    let after = test.connection().await;
    assert_eq!(after.state, ConnectionState::Disconnected);
    assert!(after.access_token.is_none());
    assert!(after.refresh_token.is_none());
    assert!(after.access_expires_at.is_none());
    assert!(after.revision > before.revision);
}

#[tokio::test]
async fn disconnecting_a_tenant_never_connected_records_it_as_disconnected() {
    let test = TestOAuth::spawn().await;

    disconnect(&*test.store, TENANT).await.unwrap();

    assert_eq!(test.connection().await.state, ConnectionState::Disconnected);
}
