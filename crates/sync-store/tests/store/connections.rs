//! The Akiles connection of a tenant and the OAuth state round trip.

use secrecy::{ExposeSecret, SecretString};
use sync_store::{Connection, ConnectionState, StoreError};
use time::Duration;

use crate::harness::{ACME, START, TestStore};

store_tests!(
    a_saved_connection_is_read_back_with_its_tokens,
    every_save_bumps_the_revision,
    a_compare_and_swap_on_the_current_revision_wins,
    a_compare_and_swap_on_an_old_revision_changes_nothing,
    a_first_compare_and_swap_expects_revision_zero,
    connection_debug_output_hides_the_tokens,
    connections_refuse_an_unknown_tenant,
    an_oauth_state_is_taken_once,
    an_expired_oauth_state_is_gone,
    an_unknown_oauth_state_reads_as_none,
);

/// A connected tenant with made-up tokens.
fn connected(tenant: &str, access: &str, refresh: &str) -> Connection {
    Connection {
        tenant: tenant.to_owned(),
        state: ConnectionState::Connected,
        organization_id: Some("org_1".into()),
        organization_name: Some("Office".into()),
        access_token: Some(SecretString::from(access)),
        refresh_token: Some(SecretString::from(refresh)),
        access_expires_at: Some(START + Duration::hours(1)),
        scope: Some("full_read_write offline".into()),
        reason: None,
        revision: 0,
        updated_at: START,
    }
}

fn tokens(connection: &Connection) -> (Option<&str>, Option<&str>) {
    (
        connection.access_token.as_ref().map(|t| t.expose_secret()),
        connection.refresh_token.as_ref().map(|t| t.expose_secret()),
    )
}

async fn a_saved_connection_is_read_back_with_its_tokens(store: &TestStore) {
    let store = store.with_acme().await;
    let saved_at = store.at_minute(2);

    let revision = store
        .save_connection(&connected(ACME, "at-1", "rt-1"))
        .await
        .unwrap();

    let read = store.connection(ACME).await.unwrap().unwrap();
    assert_eq!(revision, 1);
    assert_eq!(read.revision, 1);
    assert_eq!(read.state, ConnectionState::Connected);
    assert_eq!(read.organization_id.as_deref(), Some("org_1"));
    assert_eq!(read.organization_name.as_deref(), Some("Office"));
    assert_eq!(tokens(&read), (Some("at-1"), Some("rt-1")));
    assert_eq!(read.access_expires_at, Some(START + Duration::hours(1)));
    assert_eq!(read.scope.as_deref(), Some("full_read_write offline"));
    assert_eq!(read.updated_at, saved_at);
}

async fn every_save_bumps_the_revision(store: &TestStore) {
    let store = store.with_acme().await;
    store
        .save_connection(&connected(ACME, "at-1", "rt-1"))
        .await
        .unwrap();
    let lost = Connection {
        state: ConnectionState::ReconnectNeeded,
        access_token: None,
        refresh_token: None,
        reason: Some("refresh token revoked".into()),
        ..connected(ACME, "", "")
    };

    let revision = store.save_connection(&lost).await.unwrap();

    let read = store.connection(ACME).await.unwrap().unwrap();
    assert_eq!(revision, 2);
    assert_eq!(read.state, ConnectionState::ReconnectNeeded);
    assert_eq!(tokens(&read), (None, None));
    assert_eq!(read.reason.as_deref(), Some("refresh token revoked"));
}

async fn a_compare_and_swap_on_the_current_revision_wins(store: &TestStore) {
    let store = store.with_acme().await;
    let first = store
        .save_connection(&connected(ACME, "at-1", "rt-1"))
        .await
        .unwrap();

    let swapped = store
        .save_connection_if_revision(&connected(ACME, "at-2", "rt-2"), first)
        .await
        .unwrap();

    assert_eq!(swapped, Some(first + 1));
    let read = store.connection(ACME).await.unwrap().unwrap();
    assert_eq!(tokens(&read), (Some("at-2"), Some("rt-2")));
}

async fn a_compare_and_swap_on_an_old_revision_changes_nothing(store: &TestStore) {
    let store = store.with_acme().await;
    let first = store
        .save_connection(&connected(ACME, "at-1", "rt-1"))
        .await
        .unwrap();
    let winner = store
        .save_connection_if_revision(&connected(ACME, "at-2", "rt-2"), first)
        .await
        .unwrap();

    let loser = store
        .save_connection_if_revision(&connected(ACME, "at-3", "rt-3"), first)
        .await
        .unwrap();

    assert_eq!(winner, Some(2));
    assert_eq!(loser, None);
    let read = store.connection(ACME).await.unwrap().unwrap();
    assert_eq!(read.revision, 2);
    assert_eq!(tokens(&read), (Some("at-2"), Some("rt-2")));
}

async fn a_first_compare_and_swap_expects_revision_zero(store: &TestStore) {
    let store = store.with_acme().await;

    let first = store
        .save_connection_if_revision(&connected(ACME, "at-1", "rt-1"), 0)
        .await
        .unwrap();
    let second = store
        .save_connection_if_revision(&connected(ACME, "at-2", "rt-2"), 0)
        .await
        .unwrap();

    assert_eq!(first, Some(1));
    assert_eq!(second, None);
    let read = store.connection(ACME).await.unwrap().unwrap();
    assert_eq!(tokens(&read), (Some("at-1"), Some("rt-1")));
}

async fn connection_debug_output_hides_the_tokens(store: &TestStore) {
    let store = store.with_acme().await;
    store
        .save_connection(&connected(ACME, "at-visible?", "rt-visible?"))
        .await
        .unwrap();

    let shown = format!("{:?}", store.connection(ACME).await.unwrap().unwrap());

    assert!(!shown.contains("at-visible?"), "{shown}");
    assert!(!shown.contains("rt-visible?"), "{shown}");
    assert!(shown.contains("org_1"));
}

async fn connections_refuse_an_unknown_tenant(store: &TestStore) {
    let store = store.with_acme().await;
    let other = connected("globex", "at", "rt");
    let verifier = SecretString::from("v");

    let results = [
        store.connection("globex").await.err(),
        store.save_connection(&other).await.err(),
        store.save_connection_if_revision(&other, 0).await.err(),
        store
            .save_oauth_state("s", "globex", &verifier, START)
            .await
            .err(),
    ];

    for (index, result) in results.into_iter().enumerate() {
        assert!(
            matches!(&result, Some(StoreError::UnknownTenant(key)) if key == "globex"),
            "call {index} gave {result:?}"
        );
    }
    assert!(store.connection(ACME).await.unwrap().is_none());
}

async fn an_oauth_state_is_taken_once(store: &TestStore) {
    let store = store.with_acme().await;
    let verifier = SecretString::from("pkce-verifier-abc");
    store
        .save_oauth_state("state-1", ACME, &verifier, START + Duration::minutes(10))
        .await
        .unwrap();

    let first = store.take_oauth_state("state-1").await.unwrap();
    let second = store.take_oauth_state("state-1").await.unwrap();

    let (tenant, taken) = first.unwrap();
    assert_eq!(tenant, ACME);
    assert_eq!(taken.expose_secret(), "pkce-verifier-abc");
    assert!(second.is_none());
}

async fn an_expired_oauth_state_is_gone(store: &TestStore) {
    let store = store.with_acme().await;
    let verifier = SecretString::from("v");
    let expires = START + Duration::minutes(10);
    store
        .save_oauth_state("old", ACME, &verifier, expires)
        .await
        .unwrap();
    store
        .save_oauth_state("fresh", ACME, &verifier, START + Duration::minutes(30))
        .await
        .unwrap();
    store.at_minute(10);

    let expired = store.take_oauth_state("old").await.unwrap();
    let fresh = store.take_oauth_state("fresh").await.unwrap();

    assert!(expired.is_none());
    assert!(fresh.is_some());
}

async fn an_unknown_oauth_state_reads_as_none(store: &TestStore) {
    let store = store.with_acme().await;

    assert!(
        store
            .take_oauth_state("never-saved")
            .await
            .unwrap()
            .is_none()
    );
}
