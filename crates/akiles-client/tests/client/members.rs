//! Member create, read, update and delete.

use akiles_client::MemberExpand;
use akiles_client::types::{MemberPatch, MetadataPatch};
use time::macros::datetime;

use crate::support::{new_member, spawn};

#[tokio::test]
async fn created_member_can_be_read_back() {
    let app = spawn().await;
    let mut new = new_member("Ann Example", "crud");
    new.ends_at = Some(datetime!(2031-01-01 00:00 UTC));

    let created = app.client.create_member(&new).await.unwrap();
    let read = app.client.member(&created.id, &[]).await.unwrap();

    assert!(created.id.starts_with("mem_"));
    assert_eq!(read.name, "Ann Example");
    assert_eq!(read.ends_at, Some(datetime!(2031-01-01 00:00 UTC)));
    assert_eq!(read.metadata.get("batch").map(String::as_str), Some("crud"));
    assert_eq!(read.organization_id, app.emulator.default_org_id());
    app.shutdown().await;
}

#[tokio::test]
async fn patch_renames_clears_end_and_merges_metadata() {
    let app = spawn().await;
    let mut new = new_member("Old name", "patch");
    new.ends_at = Some(datetime!(2031-01-01 00:00 UTC));
    new.metadata.insert("drop".to_owned(), "me".to_owned());
    let member = app.client.create_member(&new).await.unwrap();

    let metadata = MetadataPatch::from([
        ("added".to_owned(), Some("yes".to_owned())),
        ("drop".to_owned(), None),
    ]);
    let patch = MemberPatch {
        name: Some("New name".to_owned()),
        ends_at: Some(None),
        metadata: Some(metadata),
        ..MemberPatch::default()
    };
    let updated = app.client.update_member(&member.id, &patch).await.unwrap();

    assert_eq!(updated.name, "New name");
    assert_eq!(updated.ends_at, None);
    assert_eq!(
        updated.metadata.get("added").map(String::as_str),
        Some("yes")
    );
    assert_eq!(
        updated.metadata.get("batch").map(String::as_str),
        Some("patch")
    );
    assert!(!updated.metadata.contains_key("drop"));
    app.shutdown().await;
}

#[tokio::test]
async fn deleted_member_is_still_readable_and_marked_deleted() {
    let app = spawn().await;
    let member = app
        .client
        .create_member(&new_member("Leaver", "delete"))
        .await
        .unwrap();

    let deleted = app.client.delete_member(&member.id).await.unwrap();
    let read = app.client.member(&member.id, &[]).await.unwrap();

    assert!(deleted.is_deleted);
    assert!(read.is_deleted);
    app.shutdown().await;
}

#[tokio::test]
async fn get_member_expands_the_requested_arrays() {
    let app = spawn().await;
    let member = app
        .client
        .create_member(&new_member("Expanded", "expand"))
        .await
        .unwrap();

    let plain = app.client.member(&member.id, &[]).await.unwrap();
    let full = app
        .client
        .member(&member.id, &MemberExpand::ALL)
        .await
        .unwrap();

    assert!(plain.emails.is_none() && plain.group_associations.is_none());
    assert_eq!(full.emails, Some(Vec::new()));
    assert_eq!(full.pins, Some(Vec::new()));
    assert_eq!(full.magic_links, Some(Vec::new()));
    assert_eq!(full.cards, Some(Vec::new()));
    assert_eq!(full.group_associations, Some(Vec::new()));
    app.shutdown().await;
}
