//! Members: pagination, filters, expand, soft delete and metadata.

use reqwest::StatusCode;
use serde_json::json;

use crate::{TestApi, ids};

#[tokio::test]
async fn pagination_with_limit_two_sees_every_member_once_despite_creates_between_pages() {
    let api = TestApi::start().await;
    let mut created = Vec::new();
    for n in 0..5 {
        created.push(api.create_member(&format!("Member {n}"), json!({})).await);
    }

    let (_, first) = api.get("/members?limit=2").await;
    api.create_member("Late arrival", json!({})).await;
    let mut seen = ids(&first);
    let mut cursor = first["cursor_next"].as_str().map(str::to_owned);
    while let Some(c) = cursor {
        let (status, page) = api.get(&format!("/members?limit=2&cursor={c}")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page["data"].as_array().unwrap().len() <= 2);
        seen.extend(ids(&page));
        cursor = page["cursor_next"].as_str().map(str::to_owned);
        assert_eq!(cursor.is_some(), page["has_next"].as_bool().unwrap());
    }

    created.reverse();
    assert_eq!(seen, created, "newest first, no duplicates, no misses");
}

#[tokio::test]
async fn limit_outside_one_to_hundred_is_an_invalid_request() {
    let api = TestApi::start().await;

    for limit in ["0", "101", "x"] {
        let (status, body) = api.get(&format!("/members?limit={limit}")).await;

        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["type"], "invalid_request");
        assert_eq!(body["args"]["field"], "limit");
    }
}

#[tokio::test]
async fn sort_ascending_lists_oldest_first_and_other_sorts_are_rejected() {
    let api = TestApi::start().await;
    let a = api.create_member("A", json!({})).await;
    let b = api.create_member("B", json!({})).await;

    let asc = api.all_pages("/members?sort=created_at:asc&limit=1").await;
    let (status, _) = api.get("/members?sort=name:asc").await;

    let asc_ids: Vec<&str> = asc.iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(asc_ids, vec![a.as_str(), b.as_str()]);
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn metadata_filters_are_exact_and_combine_with_and() {
    let api = TestApi::start().await;
    let both = api
        .create_member("Both", json!({"employee_id": "E1", "managed_by": "sync"}))
        .await;
    api.create_member(
        "Other id",
        json!({"employee_id": "E2", "managed_by": "sync"}),
    )
    .await;
    api.create_member("Unmanaged", json!({"employee_id": "E1"}))
        .await;

    let (_, page) = api
        .get("/members?metadata.employee_id=E1&metadata.managed_by=sync")
        .await;
    let (_, partial) = api.get("/members?metadata.employee_id=e1").await;

    assert_eq!(ids(&page), vec![both]);
    assert!(ids(&partial).is_empty());
}

#[tokio::test]
async fn email_filter_matches_a_live_email_case_insensitively() {
    let api = TestApi::start().await;
    let ana = api.create_member("Ana", json!({})).await;
    api.create_member("Bob", json!({})).await;
    let (status, email) = api
        .post(
            &format!("/members/{ana}/emails"),
            json!({"email": "Ana@Example.com"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let (_, found) = api.get("/members?email=ana%40example.com").await;
    let email_id = email["id"].as_str().unwrap();
    api.delete(&format!("/members/{ana}/emails/{email_id}"))
        .await;
    let (_, after_delete) = api.get("/members?email=ana%40example.com").await;

    assert_eq!(ids(&found), vec![ana]);
    assert!(ids(&after_delete).is_empty());
}

#[tokio::test]
async fn created_at_filters_bound_the_list() {
    let api = TestApi::start().await;
    let old = api.create_member("Old", json!({})).await;
    let (_, old_member) = api.get(&format!("/members/{old}")).await;
    let cut = old_member["created_at"].as_str().unwrap().to_owned();
    let new = api.create_member("New", json!({})).await;

    let (_, after) = api.get(&format!("/members?created_at:gt={cut}")).await;
    let (_, until) = api.get(&format!("/members?created_at:le={cut}")).await;
    let (_, from) = api
        .get(&format!(
            "/members?created_at:ge={cut}&created_at:lt=2999-01-01T00:00:00%2B01:00"
        ))
        .await;
    let (status, _) = api.get("/members?created_at:gt=yesterday").await;

    assert_eq!(ids(&after), vec![new.clone()]);
    assert_eq!(ids(&until), vec![old.clone()]);
    assert_eq!(ids(&from), vec![new, old]);
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn soft_deleted_member_is_fetchable_but_hidden_from_default_lists() {
    let api = TestApi::start().await;
    let gone = api.create_member("Gone", json!({})).await;
    let kept = api.create_member("Kept", json!({})).await;

    let (status, deleted) = api.delete(&format!("/members/{gone}")).await;
    let (_, again) = api.delete(&format!("/members/{gone}")).await;
    let (get_status, fetched) = api.get(&format!("/members/{gone}")).await;
    let (_, live) = api.get("/members").await;
    let (_, any) = api.get("/members?is_deleted=any").await;
    let (_, only_deleted) = api.get("/members?is_deleted=true").await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(deleted["is_deleted"], true);
    assert_eq!(again["is_deleted"], true);
    assert_eq!(
        (get_status, fetched["is_deleted"].clone()),
        (StatusCode::OK, json!(true))
    );
    assert_eq!(ids(&live), vec![kept.clone()]);
    assert_eq!(ids(&any), vec![kept, gone.clone()]);
    assert_eq!(ids(&only_deleted), vec![gone]);
}

#[tokio::test]
async fn expand_fills_live_sub_objects_and_never_shows_secrets() {
    let api = TestApi::start().await;
    let id = api.create_member("Ana", json!({})).await;
    let group = api.emulator.member_group_id("Sales").unwrap();
    api.post(
        &format!("/members/{id}/emails"),
        json!({"email": "ana@example.com"}),
    )
    .await;
    api.post(&format!("/members/{id}/pins"), json!({"pin": "4512"}))
        .await;
    api.post(&format!("/members/{id}/magic_links"), json!({}))
        .await;
    api.post(&format!("/members/{id}/cards"), json!({"uid": "0A0B0C0D"}))
        .await;
    let (_, assoc) = api
        .post(
            &format!("/members/{id}/group_associations"),
            json!({"member_group_id": group}),
        )
        .await;
    let assoc_id = assoc["id"].as_str().unwrap();
    api.delete(&format!("/members/{id}/group_associations/{assoc_id}"))
        .await;

    let expand = "expand=emails,magic_links,pins,cards,group_associations,bogus";
    let (_, member) = api.get(&format!("/members/{id}?{expand}")).await;
    let (_, list) = api.get(&format!("/members?{expand}")).await;
    let (_, plain) = api.get(&format!("/members/{id}")).await;

    assert_eq!(member["emails"].as_array().unwrap().len(), 1);
    assert_eq!(member["pins"][0]["length"], 4);
    assert!(member["pins"][0].get("pin").is_none());
    assert!(member["magic_links"][0].get("link").is_none());
    assert_eq!(member["cards"].as_array().unwrap().len(), 1);
    assert_eq!(member["group_associations"], json!([]));
    assert_eq!(list["data"][0], member);
    assert!(plain.get("emails").is_none());
}

#[tokio::test]
async fn member_name_is_required_and_bad_bodies_are_invalid_requests() {
    let api = TestApi::start().await;

    let (missing, missing_body) = api.post("/members", json!({"metadata": {}})).await;
    let (empty, _) = api.post("/members", json!({"name": "  "})).await;
    let (wrong_type, wrong_body) = api.post("/members", json!({"name": 5})).await;
    let (unknown, _) = api
        .post("/members", json!({"name": "A", "shoe_size": 44}))
        .await;
    let malformed = api
        .http
        .post(format!("{}/members", api.emulator.base_url()))
        .bearer_auth(api.emulator.api_key())
        .body("{not json")
        .send()
        .await
        .unwrap();

    assert_eq!(
        (missing, missing_body["args"]["field"].clone()),
        (StatusCode::BAD_REQUEST, json!("name"))
    );
    assert_eq!(empty, StatusCode::BAD_REQUEST);
    assert_eq!(wrong_body["args"]["field"], "name");
    assert_eq!(wrong_type, StatusCode::BAD_REQUEST);
    assert_eq!(unknown, StatusCode::OK);
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn metadata_over_1024_bytes_is_rejected_and_patch_merges_with_null_deleting() {
    let api = TestApi::start().await;
    let big = "x".repeat(1100);
    let (status, body) = api
        .post("/members", json!({"name": "A", "metadata": {"k": big}}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["args"],
        json!({"field": "metadata", "reason": "too_large"})
    );
    let id = api.create_member("A", json!({"a": "1", "b": "2"})).await;

    let (_, patched) = api
        .patch(
            &format!("/members/{id}"),
            json!({"metadata": {"a": null, "c": "3"}}),
        )
        .await;
    let near_limit = "y".repeat(1010);
    let (too_big, _) = api
        .patch(
            &format!("/members/{id}"),
            json!({"metadata": {"d": near_limit}}),
        )
        .await;

    assert_eq!(patched["metadata"], json!({"b": "2", "c": "3"}));
    assert_eq!(too_big, StatusCode::BAD_REQUEST);
    let (_, unchanged) = api.get(&format!("/members/{id}")).await;
    assert_eq!(unchanged["metadata"], json!({"b": "2", "c": "3"}));
}

#[tokio::test]
async fn member_patch_sets_and_clears_validity_bounds() {
    let api = TestApi::start().await;
    let id = api.create_member("A", json!({})).await;

    let (_, set) = api
        .patch(
            &format!("/members/{id}"),
            json!({"name": "B", "ends_at": "2030-01-01T00:00:00Z"}),
        )
        .await;
    let (_, cleared) = api
        .patch(&format!("/members/{id}"), json!({"ends_at": null}))
        .await;

    assert_eq!(set["name"], "B");
    assert_eq!(set["ends_at"], "2030-01-01T00:00:00Z");
    assert_eq!(cleared["ends_at"], serde_json::Value::Null);
    assert_eq!(cleared["name"], "B");
}

#[tokio::test]
async fn member_groups_support_crud_search_and_permission_replacement() {
    let api = TestApi::start().await;
    let rule = json!({"gadget_id": "gad_x", "access_methods": {"pin": true}});

    let (status, group) = api
        .post(
            "/member_groups",
            json!({"name": "Night shift", "permissions": [rule, rule]}),
        )
        .await;
    let id = group["id"].as_str().unwrap().to_owned();
    let (_, found) = api.get("/member_groups?q=night").await;
    let (_, patched) = api
        .patch(
            &format!("/member_groups/{id}"),
            json!({"permissions": [rule]}),
        )
        .await;
    let (_, deleted) = api.delete(&format!("/member_groups/{id}")).await;
    let (_, live) = api.get("/member_groups?limit=100").await;

    assert_eq!(status, StatusCode::OK);
    assert!(id.starts_with("mg_"));
    assert_eq!(ids(&found), vec![id.clone()]);
    assert_eq!(patched["permissions"].as_array().unwrap().len(), 1);
    assert_eq!(deleted["is_deleted"], true);
    assert_eq!(live["data"].as_array().unwrap().len(), 7);
    assert_eq!(api.emulator.member_group_id("Night shift"), None);
}

#[tokio::test]
async fn unknown_ids_and_routes_are_not_found_and_wrong_methods_are_405() {
    let api = TestApi::start().await;

    let (unknown_id, body) = api.get("/members/mem_11111111111111111111").await;
    let (unknown_route, route_body) = api.get("/nothing_here").await;
    let (wrong_method, method_body) = api.call(reqwest::Method::PUT, "/members", None).await;

    assert_eq!(
        (unknown_id, body["type"].clone()),
        (StatusCode::NOT_FOUND, json!("not_found"))
    );
    assert_eq!(
        (unknown_route, route_body["type"].clone()),
        (StatusCode::NOT_FOUND, json!("not_found"))
    );
    assert_eq!(wrong_method, StatusCode::METHOD_NOT_ALLOWED);
    assert!(method_body["type"].is_string());
}
