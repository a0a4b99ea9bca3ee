//! Per-member credentials: e-mails, magic links, PINs and cards.

use akiles_client::types::{
    MetadataOnlyPatch, MetadataPatch, NewMemberCard, NewMemberEmail, NewMemberMagicLink,
    NewMemberPin,
};
use akiles_client::{ClientError, MemberExpand};

use crate::support::{new_member, spawn};

fn tag(key: &str, value: &str) -> MetadataOnlyPatch {
    MetadataOnlyPatch {
        metadata: MetadataPatch::from([(key.to_owned(), Some(value.to_owned()))]),
    }
}

#[tokio::test]
async fn member_email_lifecycle() {
    let app = spawn().await;
    let member = app
        .client
        .create_member(&new_member("Mail", "email"))
        .await
        .unwrap();
    let new = NewMemberEmail {
        email: "mail.user@example.com".to_owned(),
        ..Default::default()
    };

    let created = app
        .client
        .create_member_email(&member.id, &new)
        .await
        .unwrap();
    let listed = app.client.list_member_emails_all(&member.id).await.unwrap();
    let updated = app
        .client
        .update_member_email(&member.id, &created.id, &tag("primary", "yes"))
        .await
        .unwrap();
    let deleted = app
        .client
        .delete_member_email(&member.id, &created.id)
        .await
        .unwrap();
    let listed_after = app.client.list_member_emails_all(&member.id).await.unwrap();

    assert_eq!(created.email, "mail.user@example.com");
    assert_eq!(
        listed.iter().map(|e| &e.id).collect::<Vec<_>>(),
        vec![&created.id]
    );
    assert_eq!(
        updated.metadata.get("primary").map(String::as_str),
        Some("yes")
    );
    assert!(deleted.is_deleted);
    assert!(listed_after.is_empty());
    app.shutdown().await;
}

#[tokio::test]
async fn magic_link_is_revealed_only_on_request() {
    let app = spawn().await;
    let member = app
        .client
        .create_member(&new_member("Link", "link"))
        .await
        .unwrap();

    let created = app
        .client
        .create_member_magic_link(&member.id, &NewMemberMagicLink::default())
        .await
        .unwrap();
    let listed = app
        .client
        .list_member_magic_links_all(&member.id)
        .await
        .unwrap();
    let revealed = app
        .client
        .reveal_magic_link(&member.id, &created.id)
        .await
        .unwrap();
    let updated = app
        .client
        .update_member_magic_link(&member.id, &created.id, &tag("sent", "no"))
        .await
        .unwrap();
    let deleted = app
        .client
        .delete_member_magic_link(&member.id, &created.id)
        .await
        .unwrap();

    assert_eq!(listed.len(), 1);
    assert!(
        listed[0].link.is_none(),
        "lists never carry the secret link"
    );
    assert!(
        revealed
            .link
            .as_deref()
            .is_some_and(|l| l.starts_with("https://"))
    );
    assert_eq!(updated.metadata.get("sent").map(String::as_str), Some("no"));
    assert!(deleted.is_deleted);
    app.shutdown().await;
}

#[tokio::test]
async fn generated_pin_is_revealed_on_create_and_on_reveal() {
    let app = spawn().await;
    let member = app
        .client
        .create_member(&new_member("Keypad", "pin"))
        .await
        .unwrap();
    let new = NewMemberPin {
        length: Some(6),
        ..NewMemberPin::default()
    };

    let created = app
        .client
        .create_member_pin(&member.id, &new)
        .await
        .unwrap();
    let revealed = app
        .client
        .reveal_member_pin(&member.id, &created.id)
        .await
        .unwrap();
    let listed = app.client.list_member_pins_all(&member.id).await.unwrap();

    let digits = created.pin.clone().expect("create returns the digits");
    assert_eq!(digits.len(), 6);
    assert!(digits.bytes().all(|b| b.is_ascii_digit()));
    assert_eq!(revealed.pin, Some(digits));
    assert_eq!(listed.len(), 1);
    assert!(listed[0].pin.is_none(), "lists never carry the digits");
    app.shutdown().await;
}

#[tokio::test]
async fn chosen_pin_is_kept_and_a_duplicate_is_refused() {
    let app = spawn().await;
    let first = app
        .client
        .create_member(&new_member("First", "dup"))
        .await
        .unwrap();
    let second = app
        .client
        .create_member(&new_member("Second", "dup"))
        .await
        .unwrap();
    let chosen = NewMemberPin {
        pin: Some("0481516".to_owned()),
        ..NewMemberPin::default()
    };

    let created = app
        .client
        .create_member_pin(&first.id, &chosen)
        .await
        .unwrap();
    let duplicate = app
        .client
        .create_member_pin(&second.id, &chosen)
        .await
        .unwrap_err();

    assert_eq!(created.pin.as_deref(), Some("0481516"));
    assert!(
        matches!(duplicate, ClientError::Api { status: 400, .. }),
        "{duplicate:?}"
    );
    assert_eq!(duplicate.error_type(), Some("invalid_request"));
    assert!(!duplicate.may_have_applied());
    app.shutdown().await;
}

#[tokio::test]
async fn pin_metadata_update_and_delete() {
    let app = spawn().await;
    let member = app
        .client
        .create_member(&new_member("Pin edit", "pinedit"))
        .await
        .unwrap();
    let new = NewMemberPin {
        length: Some(8),
        ..NewMemberPin::default()
    };
    let pin = app
        .client
        .create_member_pin(&member.id, &new)
        .await
        .unwrap();

    let updated = app
        .client
        .update_member_pin(&member.id, &pin.id, &tag("k", "v"))
        .await
        .unwrap();
    let deleted = app
        .client
        .delete_member_pin(&member.id, &pin.id)
        .await
        .unwrap();
    let expanded = app
        .client
        .member(&member.id, &[MemberExpand::Pins])
        .await
        .unwrap();

    assert_eq!(updated.metadata.get("k").map(String::as_str), Some("v"));
    assert!(updated.pin.is_none());
    assert!(deleted.is_deleted);
    assert!(
        expanded
            .pins
            .unwrap_or_default()
            .iter()
            .all(|p| p.id != pin.id || p.is_deleted)
    );
    app.shutdown().await;
}

#[tokio::test]
async fn member_card_lifecycle() {
    let app = spawn().await;
    let member = app
        .client
        .create_member(&new_member("Badge", "card"))
        .await
        .unwrap();
    let new = NewMemberCard {
        uid: Some("04a1b2c3d4e5f6".to_owned()),
        ..NewMemberCard::default()
    };

    let created = app
        .client
        .create_member_card(&member.id, &new)
        .await
        .unwrap();
    let listed = app.client.list_member_cards_all(&member.id).await.unwrap();
    let updated = app
        .client
        .update_member_card(&member.id, &created.id, &tag("desk", "12"))
        .await
        .unwrap();
    let deleted = app
        .client
        .delete_member_card(&member.id, &created.id)
        .await
        .unwrap();
    let listed_after = app.client.list_member_cards_all(&member.id).await.unwrap();

    assert_eq!(created.member_id, member.id);
    assert_eq!(
        listed.iter().map(|c| &c.id).collect::<Vec<_>>(),
        vec![&created.id]
    );
    assert_eq!(updated.metadata.get("desk").map(String::as_str), Some("12"));
    assert!(deleted.is_deleted);
    assert!(listed_after.is_empty());
    app.shutdown().await;
}
