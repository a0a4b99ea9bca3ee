//! Push API keys and the push signing secret.

use secrecy::{ExposeSecret, SecretString};
use sync_store::{ApiKey, ApiKeyId, StoreError};

use crate::harness::{ACME, START, TestStore};

store_tests!(
    a_created_key_authenticates_as_its_tenant,
    a_key_is_shown_with_a_prefix_only,
    last_use_is_noted_at_most_once_a_minute,
    an_unknown_or_revoked_secret_does_not_authenticate,
    one_tenants_key_never_authenticates_as_or_revokes_for_another,
    a_signing_secret_is_set_read_and_cleared,
    key_and_secret_methods_refuse_an_unknown_tenant,
);

async fn a_created_key_authenticates_as_its_tenant(store: &TestStore) {
    let store = store.with_acme().await;

    let (key, secret) = store.create_api_key(ACME, "payroll").await.unwrap();
    let found = store
        .authenticate_api_key(secret.expose_secret())
        .await
        .unwrap()
        .unwrap();

    assert_eq!(key.tenant, ACME);
    assert_eq!(key.label, "payroll");
    assert_eq!(key.created_at, START);
    assert_eq!(key.last_used_at, None);
    assert_eq!(found.id, key.id);
    assert_eq!(found.tenant, ACME);
    assert_eq!(found.last_used_at, Some(START));
    assert_eq!(store.api_keys(ACME).await.unwrap(), vec![found]);
}

async fn a_key_is_shown_with_a_prefix_only(store: &TestStore) {
    let store = store.with_acme().await;

    let (key, secret) = store.create_api_key(ACME, "payroll").await.unwrap();

    let secret = secret.expose_secret();
    assert!(secret.starts_with(ApiKey::SECRET_PREFIX));
    assert_eq!(secret.len(), ApiKey::SECRET_PREFIX.len() + 43);
    assert_eq!(key.prefix, secret[..ApiKey::PREFIX_LEN]);
    let (_, other) = store.create_api_key(ACME, "payroll").await.unwrap();
    assert_ne!(other.expose_secret(), secret);
}

async fn last_use_is_noted_at_most_once_a_minute(store: &TestStore) {
    let store = store.with_acme().await;
    let (_, secret) = store.create_api_key(ACME, "payroll").await.unwrap();
    let secret = secret.expose_secret();
    store.authenticate_api_key(secret).await.unwrap();

    let seconds = |s| START + time::Duration::seconds(s);
    store.clock.set(seconds(59));
    let soon = store.authenticate_api_key(secret).await.unwrap().unwrap();
    store.clock.set(seconds(60));
    let later = store.authenticate_api_key(secret).await.unwrap().unwrap();

    assert_eq!(soon.last_used_at, Some(START));
    assert_eq!(later.last_used_at, Some(seconds(60)));
    let listed = store.api_keys(ACME).await.unwrap();
    assert_eq!(listed[0].last_used_at, Some(seconds(60)));
}

async fn an_unknown_or_revoked_secret_does_not_authenticate(store: &TestStore) {
    let store = store.with_acme().await;
    let (key, secret) = store.create_api_key(ACME, "payroll").await.unwrap();
    let (kept, kept_secret) = store.create_api_key(ACME, "scim").await.unwrap();

    let revoked = store.revoke_api_key(ACME, key.id).await.unwrap();
    let again = store.revoke_api_key(ACME, key.id).await.unwrap();

    assert!(revoked);
    assert!(!again);
    let secret = secret.expose_secret();
    assert_eq!(store.authenticate_api_key(secret).await.unwrap(), None);
    let unknown = "ahs_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    assert_eq!(store.authenticate_api_key(unknown).await.unwrap(), None);
    assert_eq!(store.authenticate_api_key("").await.unwrap(), None);
    let listed = store.api_keys(ACME).await.unwrap();
    assert_eq!(listed.iter().map(|k| k.id).collect::<Vec<_>>(), [kept.id]);
    let found = store
        .authenticate_api_key(kept_secret.expose_secret())
        .await;
    assert_eq!(found.unwrap().map(|k| k.id), Some(kept.id));
}

async fn one_tenants_key_never_authenticates_as_or_revokes_for_another(store: &TestStore) {
    let store = store.with_acme().await;
    store.ensure_tenant("globex").await.unwrap();
    let (acme_key, acme_secret) = store.create_api_key(ACME, "payroll").await.unwrap();
    let (globex_key, globex_secret) = store.create_api_key("globex", "payroll").await.unwrap();

    let as_acme = store
        .authenticate_api_key(acme_secret.expose_secret())
        .await
        .unwrap()
        .unwrap();
    let as_globex = store
        .authenticate_api_key(globex_secret.expose_secret())
        .await
        .unwrap()
        .unwrap();
    let cross_revoke = store.revoke_api_key("globex", acme_key.id).await.unwrap();

    assert_eq!((as_acme.tenant.as_str(), as_acme.id), (ACME, acme_key.id));
    assert_eq!(
        (as_globex.tenant.as_str(), as_globex.id),
        ("globex", globex_key.id)
    );
    assert!(!cross_revoke);
    assert_eq!(store.api_keys("globex").await.unwrap().len(), 1);
    assert_eq!(store.api_keys(ACME).await.unwrap()[0].id, acme_key.id);
}

async fn a_signing_secret_is_set_read_and_cleared(store: &TestStore) {
    let store = store.with_acme().await;
    store.ensure_tenant("globex").await.unwrap();
    let secret = SecretString::from("whsec-acme-signing-1");

    let before = store.signing_secret(ACME).await.unwrap();
    store.set_signing_secret(ACME, Some(&secret)).await.unwrap();
    let read = store.signing_secret(ACME).await.unwrap().unwrap();
    let other = store.signing_secret("globex").await.unwrap();
    store.set_signing_secret(ACME, None).await.unwrap();
    let cleared = store.signing_secret(ACME).await.unwrap();

    assert!(before.is_none());
    assert_eq!(read.expose_secret(), "whsec-acme-signing-1");
    assert!(other.is_none());
    assert!(cleared.is_none());
}

async fn key_and_secret_methods_refuse_an_unknown_tenant(store: &TestStore) {
    let store = store.with_acme().await;
    let t = "globex";
    let secret = SecretString::from("s");

    let results = [
        store.create_api_key(t, "x").await.err(),
        store.api_keys(t).await.err(),
        store.revoke_api_key(t, ApiKeyId(1)).await.err(),
        store.set_signing_secret(t, Some(&secret)).await.err(),
        store.signing_secret(t).await.err(),
    ];

    for (index, result) in results.into_iter().enumerate() {
        assert!(
            matches!(&result, Some(StoreError::UnknownTenant(key)) if key == t),
            "call {index} gave {result:?}"
        );
    }
}
