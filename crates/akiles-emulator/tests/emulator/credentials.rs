//! Credentials and associations: PIN, email, card and magic-link rules.

use reqwest::StatusCode;
use serde_json::json;

use crate::TestApi;

#[tokio::test]
async fn pin_create_returns_the_digits_but_get_and_list_never_do() {
    let api = TestApi::start().await;
    let id = api.create_member("Ana", json!({})).await;

    let (status, created) = api
        .post(&format!("/members/{id}/pins"), json!({"pin": "012345"}))
        .await;
    let pin_id = created["id"].as_str().unwrap();
    let (_, fetched) = api.get(&format!("/members/{id}/pins/{pin_id}")).await;
    let (_, listed) = api.get(&format!("/members/{id}/pins")).await;
    let (_, revealed) = api
        .post(&format!("/members/{id}/pins/{pin_id}/reveal"), json!({}))
        .await;
    let (_, revealed_again) = api
        .post(&format!("/members/{id}/pins/{pin_id}/reveal"), json!({}))
        .await;

    assert_eq!(status, StatusCode::OK);
    assert!(pin_id.starts_with("mp_"));
    assert_eq!(
        (created["pin"].clone(), created["length"].clone()),
        (json!("012345"), json!(6))
    );
    assert!(fetched.get("pin").is_none());
    assert!(listed["data"][0].get("pin").is_none());
    assert_eq!(revealed["pin"], "012345");
    assert_eq!(revealed_again["pin"], "012345");
}

#[tokio::test]
async fn pin_rules_reject_bad_digits_lengths_and_mismatches() {
    let api = TestApi::start().await;
    let id = api.create_member("Ana", json!({})).await;
    let path = format!("/members/{id}/pins");

    let cases = [
        (json!({"pin": "123"}), "pin"),
        (json!({"pin": "123456789012345678901"}), "pin"),
        (json!({"pin": "12ab"}), "pin"),
        (json!({"length": 3}), "length"),
        (json!({"length": 21}), "length"),
        (json!({"pin": "12345", "length": 6}), "length"),
        (json!({"pin": 1234}), "pin"),
    ];
    for (body, field) in cases {
        let (status, error) = api.post(&path, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(error["type"], "invalid_request");
        assert_eq!(error["args"]["field"], field, "{body}");
    }
}

#[tokio::test]
async fn pin_is_generated_from_length_or_defaults_to_six_digits() {
    let api = TestApi::start().await;
    let id = api.create_member("Ana", json!({})).await;

    let (_, eight) = api
        .post(&format!("/members/{id}/pins"), json!({"length": 8}))
        .await;
    let (_, default) = api.post(&format!("/members/{id}/pins"), json!({})).await;

    let digits = eight["pin"].as_str().unwrap();
    assert_eq!((digits.len(), eight["length"].clone()), (8, json!(8)));
    assert!(digits.bytes().all(|b| b.is_ascii_digit()));
    assert_eq!(default["pin"].as_str().unwrap().len(), 6);
}

#[tokio::test]
async fn a_pin_in_use_is_rejected_until_its_member_is_deleted() {
    let api = TestApi::start().await;
    let ana = api.create_member("Ana", json!({})).await;
    let bob = api.create_member("Bob", json!({})).await;
    api.post(&format!("/members/{ana}/pins"), json!({"pin": "4512"}))
        .await;

    let (status, error) = api
        .post(&format!("/members/{bob}/pins"), json!({"pin": "4512"}))
        .await;
    api.delete(&format!("/members/{ana}")).await;
    let (after, reused) = api
        .post(&format!("/members/{bob}/pins"), json!({"pin": "4512"}))
        .await;

    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        error["args"],
        json!({"field": "pin", "reason": "already_in_use"})
    );
    assert_eq!(
        (after, reused["pin"].clone()),
        (StatusCode::OK, json!("4512"))
    );
}

#[tokio::test]
async fn deleting_a_member_soft_deletes_everything_it_holds() {
    let api = TestApi::start().await;
    let id = api.create_member("Ana", json!({})).await;
    let group = api.emulator.member_group_id("IT/IS").unwrap();
    api.post(
        &format!("/members/{id}/emails"),
        json!({"email": "ana@example.com"}),
    )
    .await;
    api.post(&format!("/members/{id}/pins"), json!({"length": 4}))
        .await;
    api.post(&format!("/members/{id}/magic_links"), json!({}))
        .await;
    api.post(
        &format!("/members/{id}/cards"),
        json!({"printed_code": "AK-1"}),
    )
    .await;
    api.post(
        &format!("/members/{id}/group_associations"),
        json!({"member_group_id": group}),
    )
    .await;

    api.delete(&format!("/members/{id}")).await;

    let member = api.emulator.members().pop().unwrap();
    assert!(member.is_deleted);
    assert!(member.emails.unwrap().iter().all(|x| x.is_deleted));
    assert!(member.pins.unwrap().iter().all(|x| x.is_deleted));
    assert!(member.magic_links.unwrap().iter().all(|x| x.is_deleted));
    assert!(member.cards.unwrap().iter().all(|x| x.is_deleted));
    let associations = member.group_associations.unwrap();
    assert_eq!(associations.len(), 1);
    assert!(associations[0].is_deleted);
}

#[tokio::test]
async fn sub_objects_cannot_be_created_under_a_deleted_or_unknown_member() {
    let api = TestApi::start().await;
    let id = api.create_member("Ana", json!({})).await;
    api.delete(&format!("/members/{id}")).await;

    let (deleted, body) = api
        .post(&format!("/members/{id}/pins"), json!({"length": 4}))
        .await;
    let (unknown, _) = api
        .post(
            "/members/mem_11111111111111111111/emails",
            json!({"email": "a@b.c"}),
        )
        .await;

    assert_eq!(
        (deleted, body["type"].clone()),
        (StatusCode::NOT_FOUND, json!("not_found"))
    );
    assert_eq!(unknown, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn emails_must_look_like_addresses_and_be_unique_among_live_members() {
    let api = TestApi::start().await;
    let ana = api.create_member("Ana", json!({})).await;
    let bob = api.create_member("Bob", json!({})).await;

    let (bad, bad_body) = api
        .post(&format!("/members/{ana}/emails"), json!({"email": "nope"}))
        .await;
    let (ok, _) = api
        .post(
            &format!("/members/{ana}/emails"),
            json!({"email": "a@x.io"}),
        )
        .await;
    let (taken, taken_body) = api
        .post(
            &format!("/members/{bob}/emails"),
            json!({"email": "A@X.IO"}),
        )
        .await;
    api.delete(&format!("/members/{ana}")).await;
    let (freed, _) = api
        .post(
            &format!("/members/{bob}/emails"),
            json!({"email": "a@x.io"}),
        )
        .await;

    assert_eq!(
        (bad, bad_body["args"]["field"].clone()),
        (StatusCode::BAD_REQUEST, json!("email"))
    );
    assert_eq!(ok, StatusCode::OK);
    assert_eq!(
        (taken, taken_body["type"].clone()),
        (StatusCode::CONFLICT, json!("email_in_use"))
    );
    assert_eq!(freed, StatusCode::OK);
}

#[tokio::test]
async fn email_list_supports_q_and_patch_edits_metadata() {
    let api = TestApi::start().await;
    let id = api.create_member("Ana", json!({})).await;
    let (_, work) = api
        .post(
            &format!("/members/{id}/emails"),
            json!({"email": "ana@work.io"}),
        )
        .await;
    api.post(
        &format!("/members/{id}/emails"),
        json!({"email": "ana@home.io"}),
    )
    .await;
    let work_id = work["id"].as_str().unwrap();

    let (_, found) = api.get(&format!("/members/{id}/emails?q=WORK")).await;
    let (_, patched) = api
        .patch(
            &format!("/members/{id}/emails/{work_id}"),
            json!({"metadata": {"k": "v"}}),
        )
        .await;

    assert_eq!(crate::ids(&found), vec![work_id.to_owned()]);
    assert_eq!(patched["metadata"], json!({"k": "v"}));
}

#[tokio::test]
async fn magic_link_is_revealed_only_by_reveal_and_stays_the_same() {
    let api = TestApi::start().await;
    let id = api.create_member("Ana", json!({})).await;

    let (_, created) = api
        .post(&format!("/members/{id}/magic_links"), json!({}))
        .await;
    let link_id = created["id"].as_str().unwrap();
    let reveal = format!("/members/{id}/magic_links/{link_id}/reveal");
    let (_, first) = api.post(&reveal, json!({})).await;
    let (_, second) = api.post(&reveal, json!({})).await;
    let (_, fetched) = api
        .get(&format!("/members/{id}/magic_links/{link_id}"))
        .await;

    assert!(link_id.starts_with("mml_"));
    assert!(created.get("link").is_none());
    assert!(fetched.get("link").is_none());
    let link = first["link"].as_str().unwrap();
    assert!(link.starts_with("https://link.akiles.app/#ml_"));
    assert_eq!(second["link"], first["link"]);
}

#[tokio::test]
async fn member_cards_need_exactly_one_reference_and_a_free_card() {
    let api = TestApi::start().await;
    let ana = api.create_member("Ana", json!({})).await;
    let bob = api.create_member("Bob", json!({})).await;

    let (none, _) = api.post(&format!("/members/{ana}/cards"), json!({})).await;
    let (two, _) = api
        .post(
            &format!("/members/{ana}/cards"),
            json!({"uid": "0a0b0c0d", "printed_code": "X"}),
        )
        .await;
    let (bad_uid, _) = api
        .post(&format!("/members/{ana}/cards"), json!({"uid": "0a0b0c"}))
        .await;
    let (ok, card) = api
        .post(
            &format!("/members/{ana}/cards"),
            json!({"uid": "04A1B2C3D4E5F6"}),
        )
        .await;
    let (taken, taken_body) = api
        .post(
            &format!("/members/{bob}/cards"),
            json!({"uid": "04a1b2c3d4e5f6"}),
        )
        .await;
    let card_id = card["card_id"].as_str().unwrap().to_owned();
    let (_, inventory) = api.get(&format!("/cards/{card_id}")).await;
    let (unknown_card, _) = api
        .post(
            &format!("/members/{bob}/cards"),
            json!({"card_id": "card_1111"}),
        )
        .await;

    assert_eq!([none, two, bad_uid], [StatusCode::BAD_REQUEST; 3]);
    assert_eq!(ok, StatusCode::OK);
    assert!(card["id"].as_str().unwrap().starts_with("mc_"));
    assert!(card_id.starts_with("card_"));
    assert_eq!(inventory["uid"], "04a1b2c3d4e5f6");
    assert_eq!(taken, StatusCode::BAD_REQUEST);
    assert_eq!(
        taken_body["args"],
        json!({"field": "card", "reason": "already_assigned"})
    );
    assert_eq!(unknown_card, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_card_freed_by_deletion_can_be_bound_by_card_id() {
    let api = TestApi::start().await;
    let ana = api.create_member("Ana", json!({})).await;
    let bob = api.create_member("Bob", json!({})).await;
    let (_, card) = api
        .post(
            &format!("/members/{ana}/cards"),
            json!({"printed_code": "AK-7"}),
        )
        .await;
    let member_card_id = card["id"].as_str().unwrap();

    api.delete(&format!("/members/{ana}/cards/{member_card_id}"))
        .await;
    let (status, bound) = api
        .post(
            &format!("/members/{bob}/cards"),
            json!({"card_id": card["card_id"]}),
        )
        .await;
    let (_, org_cards) = api.get("/cards").await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(bound["card_id"], card["card_id"]);
    assert_eq!(org_cards["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn association_to_a_deleted_or_unknown_group_is_not_found() {
    let api = TestApi::start().await;
    let id = api.create_member("Ana", json!({})).await;
    let (_, group) = api.post("/member_groups", json!({"name": "Temp"})).await;
    let group_id = group["id"].as_str().unwrap().to_owned();
    api.delete(&format!("/member_groups/{group_id}")).await;
    let path = format!("/members/{id}/group_associations");

    let (deleted, body) = api.post(&path, json!({"member_group_id": group_id})).await;
    let (unknown, _) = api
        .post(&path, json!({"member_group_id": "mg_11111111111111111111"}))
        .await;

    assert_eq!(deleted, StatusCode::NOT_FOUND);
    assert_eq!(body["type"], "not_found");
    assert_eq!(body["args"]["member_group_id"], group_id);
    assert_eq!(unknown, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn associations_can_be_patched_listed_and_deleted() {
    let api = TestApi::start().await;
    let id = api.create_member("Ana", json!({})).await;
    let group = api.emulator.member_group_id("Production").unwrap();
    let path = format!("/members/{id}/group_associations");
    let (_, created) = api
        .post(
            &path,
            json!({"member_group_id": group, "starts_at": "2025-01-01T00:00:00Z"}),
        )
        .await;
    let assoc = format!("{path}/{}", created["id"].as_str().unwrap());

    let (_, patched) = api
        .patch(
            &assoc,
            json!({"starts_at": null, "ends_at": "2026-01-01T00:00:00Z", "metadata": {"m": "s"}}),
        )
        .await;
    let (_, deleted) = api.delete(&assoc).await;
    let (_, live) = api.get(&path).await;
    let (_, fetched) = api.get(&assoc).await;

    assert!(created["id"].as_str().unwrap().starts_with("mga_"));
    assert_eq!(patched["starts_at"], serde_json::Value::Null);
    assert_eq!(patched["ends_at"], "2026-01-01T00:00:00Z");
    assert_eq!(patched["metadata"], json!({"m": "s"}));
    assert_eq!(deleted["is_deleted"], true);
    assert_eq!(live["data"], json!([]));
    assert_eq!(fetched["is_deleted"], true);
}
