//! Member links and the Akiles objects the sync owns.

use std::collections::BTreeMap;

use sync_store::{MemberLink, OwnedObjects, SyncState};
use time::OffsetDateTime;

use crate::harness::{ACME, START, TestStore, id};

store_tests!(
    a_link_round_trips_with_its_owned_objects_and_error,
    saving_a_link_again_replaces_it,
    a_link_without_a_member_reads_back_without_one,
    an_employee_without_a_link_reads_as_none,
    links_are_listed_by_employee_id_per_tenant,
);

fn owned_objects() -> OwnedObjects {
    OwnedObjects {
        associations: BTreeMap::from([
            ("mg_floor3".to_owned(), "assoc_1".to_owned()),
            ("mg_garage".to_owned(), "assoc_2".to_owned()),
        ]),
        emails: vec!["mem_email_1".to_owned()],
        pins: vec!["pin_1".to_owned()],
        magic_links: vec!["ml_1".to_owned()],
        cards: vec!["card_1".to_owned(), "card_2".to_owned()],
    }
}

fn link(employee_id: &str, member_id: Option<&str>, at: OffsetDateTime) -> MemberLink {
    MemberLink {
        employee_id: id(employee_id),
        member_id: member_id.map(str::to_owned),
        owned: owned_objects(),
        state: SyncState::Incomplete,
        last_error: Some("POST /members/mem_1/pins answered 500".to_owned()),
        updated_at: at,
    }
}

async fn a_link_round_trips_with_its_owned_objects_and_error(store: &TestStore) {
    let store = store.with_acme().await;
    let saved = link("E-1", Some("mem_1"), START);

    store.save_link(ACME, &saved).await.unwrap();

    assert_eq!(store.link(ACME, &id("E-1")).await.unwrap(), Some(saved));
}

async fn saving_a_link_again_replaces_it(store: &TestStore) {
    let store = store.with_acme().await;
    store
        .save_link(ACME, &link("E-1", Some("mem_1"), START))
        .await
        .unwrap();
    let later = store.at_minute(3);
    let in_sync = MemberLink {
        owned: OwnedObjects {
            pins: Vec::new(),
            ..owned_objects()
        },
        state: SyncState::InSync,
        last_error: None,
        ..link("E-1", Some("mem_1"), later)
    };

    store.save_link(ACME, &in_sync).await.unwrap();

    assert_eq!(store.link(ACME, &id("E-1")).await.unwrap(), Some(in_sync));
    assert_eq!(store.links(ACME).await.unwrap().len(), 1);
}

async fn a_link_without_a_member_reads_back_without_one(store: &TestStore) {
    let store = store.with_acme().await;
    let failed = MemberLink {
        owned: OwnedObjects::default(),
        state: SyncState::Failed,
        ..link("E-1", None, START)
    };

    store.save_link(ACME, &failed).await.unwrap();

    let read = store.link(ACME, &id("E-1")).await.unwrap().unwrap();
    assert_eq!(read.member_id, None);
    assert_eq!(read, failed);
}

async fn an_employee_without_a_link_reads_as_none(store: &TestStore) {
    let store = store.with_acme().await;

    assert_eq!(store.link(ACME, &id("E-1")).await.unwrap(), None);
}

async fn links_are_listed_by_employee_id_per_tenant(store: &TestStore) {
    let store = store.with_acme().await;
    store.ensure_tenant("globex").await.unwrap();
    store
        .save_link(ACME, &link("E-2", Some("mem_2"), START))
        .await
        .unwrap();
    store
        .save_link(ACME, &link("E-1", Some("mem_1"), START))
        .await
        .unwrap();
    store
        .save_link("globex", &link("E-9", Some("mem_9"), START))
        .await
        .unwrap();

    let listed = store.links(ACME).await.unwrap();

    let ids: Vec<_> = listed
        .iter()
        .map(|link| link.employee_id.as_str())
        .collect();
    assert_eq!(ids, ["E-1", "E-2"]);
}
