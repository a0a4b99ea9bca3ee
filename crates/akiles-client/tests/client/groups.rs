//! Member groups and group associations.

use akiles_client::types::{
    AccessMethods, GroupAssociationPatch, MetadataPatch, NewGroupAssociation, PermissionRule,
};
use akiles_client::{MemberExpand, MemberGroupPatch, MemberGroupQuery, NewMemberGroup};
use time::macros::datetime;

use crate::support::{new_member, spawn};

fn pin_only_rule(gadget_id: &str) -> PermissionRule {
    PermissionRule {
        gadget_id: Some(gadget_id.to_owned()),
        access_methods: AccessMethods {
            pin: true,
            ..AccessMethods::default()
        },
        ..PermissionRule::default()
    }
}

#[tokio::test]
async fn member_group_lifecycle() {
    let app = spawn().await;
    let gadget = app.client.list_gadgets_all().await.unwrap().remove(0);
    let mut new = NewMemberGroup {
        name: "Night shift".to_owned(),
        ..NewMemberGroup::default()
    };
    new.permissions.push(pin_only_rule(&gadget.id));
    new.metadata
        .insert("managed_by".to_owned(), "hr-sync".to_owned());

    let created = app.client.create_member_group(&new).await.unwrap();
    let read = app.client.member_group(&created.id).await.unwrap();
    let patch = MemberGroupPatch {
        name: Some("Late shift".to_owned()),
        permissions: Some(Vec::new()),
        metadata: Some(MetadataPatch::from([(
            "note".to_owned(),
            Some("x".to_owned()),
        )])),
    };
    let updated = app
        .client
        .update_member_group(&created.id, &patch)
        .await
        .unwrap();
    let managed = MemberGroupQuery {
        q: Some("shift".to_owned()),
        ..MemberGroupQuery::default()
    };
    let listed = app.client.list_member_groups_all(&managed).await.unwrap();
    let deleted = app.client.delete_member_group(&created.id).await.unwrap();
    let listed_after = app.client.list_member_groups_all(&managed).await.unwrap();

    assert_eq!(read.permissions, vec![pin_only_rule(&gadget.id)]);
    assert_eq!(updated.name, "Late shift");
    assert!(
        updated.permissions.is_empty(),
        "PATCH replaces the rule list"
    );
    assert_eq!(
        updated.metadata.get("managed_by").map(String::as_str),
        Some("hr-sync")
    );
    assert_eq!(
        listed.iter().map(|g| &g.id).collect::<Vec<_>>(),
        vec![&created.id]
    );
    assert!(deleted.is_deleted);
    assert!(listed_after.is_empty());
    app.shutdown().await;
}

#[tokio::test]
async fn seeded_groups_are_listed() {
    let app = spawn().await;
    let all_staff = app
        .emulator
        .member_group_id("All staff")
        .expect("seeded group");

    let groups = app
        .client
        .list_member_groups_all(&MemberGroupQuery::default())
        .await
        .unwrap();

    assert!(
        groups
            .iter()
            .any(|g| g.id == all_staff && g.name == "All staff")
    );
    app.shutdown().await;
}

#[tokio::test]
async fn group_association_lifecycle() {
    let app = spawn().await;
    let group_id = app
        .emulator
        .member_group_id("All staff")
        .expect("seeded group");
    let member = app
        .client
        .create_member(&new_member("Joiner", "assoc"))
        .await
        .unwrap();
    let new = NewGroupAssociation {
        member_group_id: group_id.clone(),
        starts_at: Some(datetime!(2030-01-01 08:00 UTC)),
        ..NewGroupAssociation::default()
    };

    let created = app
        .client
        .create_group_association(&member.id, &new)
        .await
        .unwrap();
    let listed = app
        .client
        .list_group_associations_all(&member.id)
        .await
        .unwrap();
    let patch = GroupAssociationPatch {
        starts_at: Some(None),
        ends_at: Some(Some(datetime!(2030-06-30 18:00 UTC))),
        metadata: None,
    };
    let updated = app
        .client
        .update_group_association(&member.id, &created.id, &patch)
        .await
        .unwrap();
    let expanded = app
        .client
        .member(&member.id, &[MemberExpand::GroupAssociations])
        .await
        .unwrap();
    let deleted = app
        .client
        .delete_group_association(&member.id, &created.id)
        .await
        .unwrap();
    let listed_after = app
        .client
        .list_group_associations_all(&member.id)
        .await
        .unwrap();

    assert_eq!(created.member_group_id, group_id);
    assert_eq!(created.member_id, member.id);
    assert_eq!(
        listed.iter().map(|a| &a.id).collect::<Vec<_>>(),
        vec![&created.id]
    );
    assert_eq!(updated.starts_at, None);
    assert_eq!(updated.ends_at, Some(datetime!(2030-06-30 18:00 UTC)));
    assert_eq!(expanded.group_associations.map(|a| a.len()), Some(1));
    assert!(deleted.is_deleted);
    assert!(listed_after.is_empty());
    app.shutdown().await;
}
