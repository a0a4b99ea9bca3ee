//! Pagination and list filters.

use std::collections::BTreeSet;

use akiles_client::{IsDeleted, MemberExpand, MemberQuery};
use futures_util::TryStreamExt;

use crate::support::{new_member, spawn};

#[tokio::test]
async fn listing_more_than_one_page_returns_every_member_once() {
    let app = spawn().await;
    let mut created = BTreeSet::new();
    for i in 0..105 {
        let member = app
            .client
            .create_member(&new_member(&format!("P{i}"), "big"))
            .await
            .unwrap();
        created.insert(member.id);
    }
    app.emulator.reset_calls();

    let listed = app
        .client
        .list_members_all(&MemberQuery::by_metadata("batch", "big"))
        .await
        .unwrap();

    let ids: BTreeSet<_> = listed.iter().map(|m| m.id.clone()).collect();
    assert_eq!(listed.len(), 105, "no duplicates");
    assert_eq!(ids, created);
    assert_eq!(app.calls("GET /v2/members"), 2);
    app.shutdown().await;
}

#[tokio::test]
async fn small_page_size_walks_all_pages_newest_first() {
    let app = spawn().await;
    let mut created = Vec::new();
    for i in 0..23 {
        created.push(
            app.client
                .create_member(&new_member(&format!("S{i}"), "small"))
                .await
                .unwrap()
                .id,
        );
    }
    app.emulator.reset_calls();
    let query = MemberQuery {
        limit: Some(5),
        ..MemberQuery::by_metadata("batch", "small")
    };

    let listed: Vec<String> = app
        .client
        .list_members(&query)
        .map_ok(|m| m.id)
        .try_collect()
        .await
        .unwrap();

    created.reverse();
    assert_eq!(listed, created);
    assert_eq!(app.calls("GET /v2/members"), 5);
    app.shutdown().await;
}

#[tokio::test]
async fn stream_fetches_only_the_pages_it_needs() {
    let app = spawn().await;
    for i in 0..6 {
        app.client
            .create_member(&new_member(&format!("L{i}"), "lazy"))
            .await
            .unwrap();
    }
    app.emulator.reset_calls();
    let query = MemberQuery {
        limit: Some(2),
        ..MemberQuery::by_metadata("batch", "lazy")
    };

    let first = app.client.list_members(&query).try_next().await.unwrap();

    assert!(first.is_some());
    assert_eq!(app.calls("GET /v2/members"), 1);
    app.shutdown().await;
}

#[tokio::test]
async fn metadata_filter_needs_every_key_to_match() {
    let app = spawn().await;
    let mut both = new_member("Both", "meta");
    both.metadata.insert("dept".to_owned(), "it".to_owned());
    let both = app.client.create_member(&both).await.unwrap();
    app.client
        .create_member(&new_member("Only batch", "meta"))
        .await
        .unwrap();
    app.client
        .create_member(&new_member("Other", "other"))
        .await
        .unwrap();

    let mut query = MemberQuery::by_metadata("batch", "meta");
    query.metadata.push(("dept".to_owned(), "it".to_owned()));
    let listed = app.client.list_members_all(&query).await.unwrap();

    assert_eq!(
        listed.iter().map(|m| &m.id).collect::<Vec<_>>(),
        vec![&both.id]
    );
    app.shutdown().await;
}

#[tokio::test]
async fn is_deleted_filter_selects_live_deleted_or_all() {
    let app = spawn().await;
    let live = app
        .client
        .create_member(&new_member("Live", "del"))
        .await
        .unwrap();
    let gone = app
        .client
        .create_member(&new_member("Gone", "del"))
        .await
        .unwrap();
    app.client.delete_member(&gone.id).await.unwrap();
    let ids = |is_deleted| {
        let query = MemberQuery {
            is_deleted,
            ..MemberQuery::by_metadata("batch", "del")
        };
        let client = app.client.clone();
        async move {
            let members = client.list_members_all(&query).await.unwrap();
            members.into_iter().map(|m| m.id).collect::<BTreeSet<_>>()
        }
    };

    let default = ids(None).await;
    let live_only = ids(Some(IsDeleted::False)).await;
    let deleted_only = ids(Some(IsDeleted::True)).await;
    let any = ids(Some(IsDeleted::Any)).await;

    assert_eq!(default, BTreeSet::from([live.id.clone()]));
    assert_eq!(live_only, BTreeSet::from([live.id.clone()]));
    assert_eq!(deleted_only, BTreeSet::from([gone.id.clone()]));
    assert_eq!(any, BTreeSet::from([live.id, gone.id]));
    app.shutdown().await;
}

#[tokio::test]
async fn email_filter_and_expand_work_on_lists() {
    let app = spawn().await;
    let ann = app
        .client
        .create_member(&new_member("Ann", "mail"))
        .await
        .unwrap();
    app.client
        .create_member(&new_member("Bob", "mail"))
        .await
        .unwrap();
    let email = akiles_client::types::NewMemberEmail {
        email: "ann.example@example.com".to_owned(),
        ..Default::default()
    };
    app.client
        .create_member_email(&ann.id, &email)
        .await
        .unwrap();

    let query = MemberQuery {
        email: Some("ann.example@example.com".to_owned()),
        expand: vec![MemberExpand::Emails],
        ..MemberQuery::default()
    };
    let listed = app.client.list_members_all(&query).await.unwrap();

    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, ann.id);
    let emails = listed[0].emails.as_ref().expect("emails expanded");
    assert_eq!(emails[0].email, "ann.example@example.com");
    assert!(
        listed[0].pins.is_none(),
        "only the requested arrays are expanded"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn sites_and_gadgets_of_the_seeded_office_are_listed() {
    let app = spawn().await;

    let sites = app.client.list_sites_all().await.unwrap();
    let gadgets = app.client.list_gadgets_all().await.unwrap();
    let organization = app.client.organization().await.unwrap();

    assert!(!sites.is_empty());
    assert!(!gadgets.is_empty());
    assert!(
        gadgets
            .iter()
            .all(|g| sites.iter().any(|s| s.id == g.site_id))
    );
    assert_eq!(organization.id, app.emulator.default_org_id());
    app.shutdown().await;
}
