//! The outbox of credential e-mails and the sealed SMTP password.

use secrecy::{ExposeSecret, SecretString};
use sync_store::{CredentialKind, DeliveryId, DeliveryState, NewDelivery, StoreError};
use time::Duration;

use crate::harness::{ACME, START, TestStore, id};

store_tests!(
    a_queued_delivery_is_pending_and_due_at_once,
    a_credential_is_queued_only_once,
    a_delivery_is_not_due_before_its_next_attempt,
    a_sent_delivery_is_no_longer_due,
    a_rescheduled_delivery_keeps_its_error_and_counts_the_attempt,
    a_failed_delivery_stays_until_retried,
    a_cancelled_delivery_cannot_be_sent_or_retried,
    only_a_pending_delivery_changes_state,
    retrying_is_refused_for_other_tenants_and_other_states,
    deliveries_are_listed_newest_first_per_tenant_and_employee,
    due_deliveries_of_every_tenant_or_of_one,
    deleting_a_tenant_deletes_its_deliveries,
    an_smtp_password_is_set_read_and_cleared_per_tenant,
    delivery_methods_refuse_an_unknown_tenant,
);

fn new_delivery(employee: &str, credential: CredentialKind, credential_id: &str) -> NewDelivery {
    NewDelivery {
        employee_id: id(employee),
        credential,
        member_id: format!("mem_{employee}"),
        credential_id: credential_id.to_owned(),
    }
}

fn pin(employee: &str, pin_id: &str) -> NewDelivery {
    new_delivery(employee, CredentialKind::Pin, pin_id)
}

async fn a_queued_delivery_is_pending_and_due_at_once(store: &TestStore) {
    let store = store.with_acme().await;

    let queued = store
        .queue_delivery(ACME, &pin("E-1", "mp_1"))
        .await
        .unwrap();
    let due = store.due_deliveries(Some(ACME), START, 10).await.unwrap();

    assert_eq!(due.len(), 1);
    let delivery = &due[0];
    assert_eq!(delivery.id, queued);
    assert_eq!(delivery.tenant, ACME);
    assert_eq!(delivery.employee_id, id("E-1"));
    assert_eq!(delivery.credential, CredentialKind::Pin);
    assert_eq!(delivery.member_id, "mem_E-1");
    assert_eq!(delivery.credential_id, "mp_1");
    assert_eq!(delivery.state, DeliveryState::Pending);
    assert_eq!(delivery.attempts, 0);
    assert_eq!(
        (delivery.next_attempt_at, delivery.created_at),
        (START, START)
    );
    assert_eq!(
        (delivery.last_error.as_deref(), delivery.sent_at),
        (None, None)
    );
}

async fn a_credential_is_queued_only_once(store: &TestStore) {
    let store = store.with_acme().await;

    let first = store
        .queue_delivery(ACME, &pin("E-1", "mp_1"))
        .await
        .unwrap();
    let again = store
        .queue_delivery(ACME, &pin("E-1", "mp_1"))
        .await
        .unwrap();
    let link = new_delivery("E-1", CredentialKind::MagicLink, "mp_1");
    let other_kind = store.queue_delivery(ACME, &link).await.unwrap();

    assert_eq!(first, again);
    assert_ne!(first, other_kind);
    assert_eq!(store.deliveries(ACME, None, 10).await.unwrap().len(), 2);
}

async fn a_delivery_is_not_due_before_its_next_attempt(store: &TestStore) {
    let store = store.with_acme().await;
    let queued = store
        .queue_delivery(ACME, &pin("E-1", "mp_1"))
        .await
        .unwrap();
    let later = START + Duration::minutes(5);

    store
        .reschedule_delivery(queued, "server busy", later)
        .await
        .unwrap();

    let before = store.due_deliveries(Some(ACME), START, 10).await.unwrap();
    let at = store.due_deliveries(Some(ACME), later, 10).await.unwrap();
    assert!(before.is_empty());
    assert_eq!(at.len(), 1);
}

async fn a_sent_delivery_is_no_longer_due(store: &TestStore) {
    let store = store.with_acme().await;
    let queued = store
        .queue_delivery(ACME, &pin("E-1", "mp_1"))
        .await
        .unwrap();
    let sent_at = store.at_minute(1);

    let changed = store.mark_delivery_sent(queued).await.unwrap();

    let listed = store.deliveries(ACME, None, 10).await.unwrap();
    assert!(changed);
    assert!(
        store
            .due_deliveries(None, sent_at, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(listed[0].state, DeliveryState::Sent);
    assert_eq!(listed[0].attempts, 1);
    assert_eq!(listed[0].sent_at, Some(sent_at));
}

async fn a_rescheduled_delivery_keeps_its_error_and_counts_the_attempt(store: &TestStore) {
    let store = store.with_acme().await;
    let queued = store
        .queue_delivery(ACME, &pin("E-1", "mp_1"))
        .await
        .unwrap();
    let later = START + Duration::minutes(2);

    store
        .reschedule_delivery(queued, "451 try again later", later)
        .await
        .unwrap();

    let due = store.due_deliveries(Some(ACME), later, 10).await.unwrap();
    assert_eq!(due[0].state, DeliveryState::Pending);
    assert_eq!(due[0].attempts, 1);
    assert_eq!(due[0].next_attempt_at, later);
    assert_eq!(due[0].last_error.as_deref(), Some("451 try again later"));
}

async fn a_failed_delivery_stays_until_retried(store: &TestStore) {
    let store = store.with_acme().await;
    let queued = store
        .queue_delivery(ACME, &pin("E-1", "mp_1"))
        .await
        .unwrap();

    store.fail_delivery(queued, "no work e-mail").await.unwrap();
    let failed = store.deliveries(ACME, None, 10).await.unwrap();
    let due_failed = store.due_deliveries(Some(ACME), START, 10).await.unwrap();
    let retry_at = store.at_minute(30);
    let retried = store.retry_delivery(ACME, queued).await.unwrap();
    let due = store
        .due_deliveries(Some(ACME), retry_at, 10)
        .await
        .unwrap();

    assert_eq!(failed[0].state, DeliveryState::Failed);
    assert_eq!(failed[0].attempts, 1);
    assert_eq!(failed[0].last_error.as_deref(), Some("no work e-mail"));
    assert!(due_failed.is_empty());
    assert!(retried);
    assert_eq!(due.len(), 1);
    assert_eq!((due[0].attempts, due[0].next_attempt_at), (0, retry_at));
}

async fn a_cancelled_delivery_cannot_be_sent_or_retried(store: &TestStore) {
    let store = store.with_acme().await;
    let queued = store
        .queue_delivery(ACME, &pin("E-1", "mp_1"))
        .await
        .unwrap();

    let cancelled = store
        .cancel_delivery(queued, "the PIN was deleted")
        .await
        .unwrap();
    let sent = store.mark_delivery_sent(queued).await.unwrap();
    let retried = store.retry_delivery(ACME, queued).await.unwrap();

    let listed = store.deliveries(ACME, None, 10).await.unwrap();
    assert!(cancelled);
    assert!(!sent);
    assert!(!retried);
    assert_eq!(listed[0].state, DeliveryState::Cancelled);
    assert_eq!(listed[0].last_error.as_deref(), Some("the PIN was deleted"));
}

async fn only_a_pending_delivery_changes_state(store: &TestStore) {
    let store = store.with_acme().await;
    let queued = store
        .queue_delivery(ACME, &pin("E-1", "mp_1"))
        .await
        .unwrap();
    store.mark_delivery_sent(queued).await.unwrap();

    let rescheduled = store
        .reschedule_delivery(queued, "late", START)
        .await
        .unwrap();
    let failed = store.fail_delivery(queued, "late").await.unwrap();
    let unknown = store.mark_delivery_sent(DeliveryId(999)).await.unwrap();

    let listed = store.deliveries(ACME, None, 10).await.unwrap();
    assert!(!rescheduled && !failed && !unknown);
    assert_eq!(listed[0].state, DeliveryState::Sent);
    assert_eq!(listed[0].last_error, None);
}

async fn retrying_is_refused_for_other_tenants_and_other_states(store: &TestStore) {
    let store = store.with_acme().await;
    store.ensure_tenant("globex").await.unwrap();
    let failed = store
        .queue_delivery(ACME, &pin("E-1", "mp_1"))
        .await
        .unwrap();
    let pending = store
        .queue_delivery(ACME, &pin("E-2", "mp_2"))
        .await
        .unwrap();
    store.fail_delivery(failed, "refused").await.unwrap();

    let as_other = store.retry_delivery("globex", failed).await.unwrap();
    let not_failed = store.retry_delivery(ACME, pending).await.unwrap();

    assert!(!as_other);
    assert!(!not_failed);
}

async fn deliveries_are_listed_newest_first_per_tenant_and_employee(store: &TestStore) {
    let store = store.with_acme().await;
    store.ensure_tenant("globex").await.unwrap();
    let first = store
        .queue_delivery(ACME, &pin("E-1", "mp_1"))
        .await
        .unwrap();
    let second = store
        .queue_delivery(ACME, &pin("E-2", "mp_2"))
        .await
        .unwrap();
    let third = store
        .queue_delivery(ACME, &pin("E-1", "mp_3"))
        .await
        .unwrap();
    store
        .queue_delivery("globex", &pin("E-1", "mp_4"))
        .await
        .unwrap();

    let all = store.deliveries(ACME, None, 10).await.unwrap();
    let of_e1 = store.deliveries(ACME, Some(&id("E-1")), 10).await.unwrap();
    let newest = store.deliveries(ACME, None, 1).await.unwrap();

    let ids = |list: &[sync_store::Delivery]| list.iter().map(|d| d.id).collect::<Vec<_>>();
    assert_eq!(ids(&all), [third, second, first]);
    assert_eq!(ids(&of_e1), [third, first]);
    assert_eq!(ids(&newest), [third]);
}

async fn due_deliveries_of_every_tenant_or_of_one(store: &TestStore) {
    let store = store.with_acme().await;
    store.ensure_tenant("globex").await.unwrap();
    store
        .queue_delivery(ACME, &pin("E-1", "mp_1"))
        .await
        .unwrap();
    store
        .queue_delivery("globex", &pin("E-1", "mp_2"))
        .await
        .unwrap();

    let every = store.due_deliveries(None, START, 10).await.unwrap();
    let globex = store
        .due_deliveries(Some("globex"), START, 10)
        .await
        .unwrap();
    let limited = store.due_deliveries(None, START, 1).await.unwrap();

    assert_eq!(every.len(), 2);
    assert_eq!(globex.len(), 1);
    assert_eq!(globex[0].tenant, "globex");
    assert_eq!(limited.len(), 1);
}

async fn deleting_a_tenant_deletes_its_deliveries(store: &TestStore) {
    let store = store.with_acme().await;
    store
        .queue_delivery(ACME, &pin("E-1", "mp_1"))
        .await
        .unwrap();
    let password = SecretString::from("smtp-pass-1");
    store
        .set_smtp_password(ACME, Some(&password))
        .await
        .unwrap();

    let deleted = store.delete_tenant(ACME).await.unwrap();
    store.ensure_tenant(ACME).await.unwrap();

    assert!(deleted);
    assert!(store.deliveries(ACME, None, 10).await.unwrap().is_empty());
    assert!(store.smtp_password(ACME).await.unwrap().is_none());
}

async fn an_smtp_password_is_set_read_and_cleared_per_tenant(store: &TestStore) {
    let store = store.with_acme().await;
    store.ensure_tenant("globex").await.unwrap();
    let password = SecretString::from("smtp-pass-acme");

    let before = store.smtp_password(ACME).await.unwrap();
    store
        .set_smtp_password(ACME, Some(&password))
        .await
        .unwrap();
    let read = store.smtp_password(ACME).await.unwrap().unwrap();
    let other = store.smtp_password("globex").await.unwrap();
    let signing = store.signing_secret(ACME).await.unwrap();
    store.set_smtp_password(ACME, None).await.unwrap();
    let cleared = store.smtp_password(ACME).await.unwrap();

    assert!(before.is_none());
    assert_eq!(read.expose_secret(), "smtp-pass-acme");
    assert!(other.is_none());
    assert!(signing.is_none());
    assert!(cleared.is_none());
}

async fn delivery_methods_refuse_an_unknown_tenant(store: &TestStore) {
    let password = SecretString::from("x");

    let queued = store.queue_delivery("nobody", &pin("E-1", "mp_1")).await;
    let listed = store.deliveries("nobody", None, 10).await;
    let set = store.set_smtp_password("nobody", Some(&password)).await;
    let read = store.smtp_password("nobody").await;

    assert!(matches!(queued, Err(StoreError::UnknownTenant(_))));
    assert!(matches!(listed, Err(StoreError::UnknownTenant(_))));
    assert!(matches!(set, Err(StoreError::UnknownTenant(_))));
    assert!(matches!(read, Err(StoreError::UnknownTenant(_))));
}
