//! Admin users, listing tenants and deleting a tenant with everything of it.

use std::time::Duration;

use secrecy::SecretString;
use serde_json::json;
use sync_store::{
    Connection, ConnectionState, HistoryEntry, JobKind, MemberLink, OwnedObjects, StoreError,
    SyncState,
};

use crate::harness::{ACME, START, TestStore, employee, id};

const HASH_1: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo";
const HASH_2: &str = "$argon2id$v=19$m=19456,t=2,p=1$b3RoZXJzYWx0$bmV3aGFzaG5ld2hhc2g";

store_tests!(
    an_admin_is_created_and_read_back,
    upserting_an_admin_replaces_only_the_hash,
    admins_are_listed_by_username,
    admin_debug_output_hides_the_hash,
    tenants_are_listed_by_key,
    deleting_a_tenant_removes_everything_of_it,
    deleting_an_unknown_tenant_reports_false,
);

async fn an_admin_is_created_and_read_back(store: &TestStore) {
    store.upsert_admin("root", HASH_1).await.unwrap();

    let admin = store.admin("root").await.unwrap().unwrap();

    assert_eq!(admin.username, "root");
    assert_eq!(admin.password_hash, HASH_1);
    assert_eq!(admin.created_at, START);
    assert!(store.admin("nobody").await.unwrap().is_none());
}

async fn upserting_an_admin_replaces_only_the_hash(store: &TestStore) {
    store.upsert_admin("root", HASH_1).await.unwrap();
    store.at_minute(5);

    store.upsert_admin("root", HASH_2).await.unwrap();

    let admin = store.admin("root").await.unwrap().unwrap();
    assert_eq!(admin.password_hash, HASH_2);
    assert_eq!(admin.created_at, START);
}

async fn admins_are_listed_by_username(store: &TestStore) {
    for name in ["zed", "amy", "max"] {
        store.upsert_admin(name, HASH_1).await.unwrap();
    }

    let admins = store.admins().await.unwrap();

    let names: Vec<_> = admins.iter().map(|a| a.username.as_str()).collect();
    assert_eq!(names, ["amy", "max", "zed"]);
}

async fn admin_debug_output_hides_the_hash(store: &TestStore) {
    store.upsert_admin("root", HASH_1).await.unwrap();

    let shown = format!("{:?}", store.admin("root").await.unwrap().unwrap());

    assert!(shown.contains("root"));
    assert!(!shown.contains("argon2id"), "{shown}");
}

async fn tenants_are_listed_by_key(store: &TestStore) {
    for key in ["globex", "acme", "initech"] {
        store.ensure_tenant(key).await.unwrap();
    }

    let tenants = store.tenants().await.unwrap();

    let keys: Vec<_> = tenants.iter().map(|t| t.key.as_str()).collect();
    assert_eq!(keys, ["acme", "globex", "initech"]);
}

/// Gives a tenant one of everything the store keeps per tenant.
async fn fill_tenant(store: &TestStore, tenant: &str) {
    store.ensure_tenant(tenant).await.unwrap();
    store
        .put_employee_and_enqueue(tenant, &employee("E-1"), 1)
        .await
        .unwrap();
    store
        .enqueue(tenant, JobKind::SyncTenant, None)
        .await
        .unwrap();
    let link = MemberLink {
        employee_id: id("E-1"),
        member_id: Some("mem_1".into()),
        owned: OwnedObjects::default(),
        state: SyncState::InSync,
        last_error: None,
        updated_at: START,
    };
    store.save_link(tenant, &link).await.unwrap();
    let run = store.start_run(tenant, "import").await.unwrap();
    let entry = HistoryEntry {
        kind: "plan".into(),
        detail: json!({}),
    };
    store
        .append_history(tenant, &id("E-1"), Some(run), &entry)
        .await
        .unwrap();
    store.create_api_key(tenant, "payroll").await.unwrap();
    let secret = SecretString::from("sign");
    store
        .set_signing_secret(tenant, Some(&secret))
        .await
        .unwrap();
    let connection = Connection {
        tenant: tenant.to_owned(),
        state: ConnectionState::Connected,
        organization_id: None,
        organization_name: None,
        access_token: Some(SecretString::from("at")),
        refresh_token: None,
        access_expires_at: None,
        scope: None,
        reason: None,
        revision: 0,
        updated_at: START,
    };
    store.save_connection(&connection).await.unwrap();
    let expires = START + time::Duration::minutes(10);
    store
        .save_oauth_state(&format!("state-{tenant}"), tenant, &secret, expires)
        .await
        .unwrap();
}

async fn deleting_a_tenant_removes_everything_of_it(store: &TestStore) {
    fill_tenant(store, ACME).await;
    fill_tenant(store, "globex").await;
    let (_, acme_secret) = store.create_api_key(ACME, "scim").await.unwrap();
    let running = store
        .claim_job("w1", Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();

    let deleted = store.delete_tenant(ACME).await.unwrap();

    assert!(deleted);
    assert!(store.tenant(ACME).await.unwrap().is_none());
    assert!(matches!(
        store.employees(ACME).await,
        Err(StoreError::UnknownTenant(_))
    ));
    assert!(store.jobs(Some(ACME), None, 100).await.unwrap().is_empty());
    assert!(
        store
            .authenticate_api_key(secrecy::ExposeSecret::expose_secret(&acme_secret))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .take_oauth_state("state-acme")
            .await
            .unwrap()
            .is_none()
    );
    if running.tenant == ACME {
        assert!(matches!(
            store.complete_job(running.id, "w1").await,
            Err(StoreError::LostLease(_))
        ));
    }
    // The other tenant keeps everything.
    assert_eq!(store.employees("globex").await.unwrap().len(), 1);
    assert_eq!(store.links("globex").await.unwrap().len(), 1);
    assert_eq!(store.runs("globex", 10).await.unwrap().len(), 1);
    assert_eq!(
        store.history("globex", &id("E-1"), 10).await.unwrap().len(),
        1
    );
    assert_eq!(store.api_keys("globex").await.unwrap().len(), 1);
    assert!(store.signing_secret("globex").await.unwrap().is_some());
    assert!(store.connection("globex").await.unwrap().is_some());
    assert!(
        !store
            .jobs(Some("globex"), None, 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .take_oauth_state("state-globex")
            .await
            .unwrap()
            .is_some()
    );
    // The key can be used again for a fresh tenant.
    let fresh = store.ensure_tenant(ACME).await.unwrap();
    assert_eq!(fresh.settings, json!({}));
    assert!(store.employees(ACME).await.unwrap().is_empty());
}

async fn deleting_an_unknown_tenant_reports_false(store: &TestStore) {
    store.ensure_tenant(ACME).await.unwrap();

    assert!(!store.delete_tenant("globex").await.unwrap());
    assert!(store.tenant(ACME).await.unwrap().is_some());
}
