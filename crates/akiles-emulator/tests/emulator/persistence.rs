//! Seeding and the state file.

use std::path::PathBuf;

use akiles_emulator::{EmulatorConfig, GROUP_NAMES, ORG_NAME, spawn};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::TestApi;

async fn seeded_ids(seed: u64) -> Vec<String> {
    let api = TestApi::start_with(EmulatorConfig {
        seed,
        ..EmulatorConfig::default()
    })
    .await;
    let mut ids = vec![api.emulator.default_org_id()];
    for path in ["/sites", "/gadgets", "/member_groups"] {
        let (_, page) = api.get(path).await;
        ids.extend(crate::ids(&page));
    }
    ids
}

#[tokio::test]
async fn seeded_ids_are_identical_across_starts_with_the_same_seed() {
    let first = seeded_ids(7).await;
    let second = seeded_ids(7).await;
    let other = seeded_ids(8).await;

    assert_eq!(first, second);
    assert_ne!(first, other);
    assert_eq!(first.len(), 1 + 2 + 6 + 7);
}

#[tokio::test]
async fn seeded_org_has_sites_gadgets_and_one_group_per_department() {
    let api = TestApi::start().await;

    let (_, org) = api.get("/organization").await;
    let (_, sites) = api.get("/sites").await;
    let (_, gadgets) = api.get("/gadgets").await;
    let site_id = sites["data"][0]["id"].as_str().unwrap();
    let (site_status, _) = api.get(&format!("/sites/{site_id}")).await;

    assert_eq!(org["name"], ORG_NAME);
    assert!(org["id"].as_str().unwrap().starts_with("org_"));
    assert_eq!(sites["data"].as_array().unwrap().len(), 2);
    assert_eq!(site_status, StatusCode::OK);
    assert!(
        gadgets["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["actions"][0]["id"] == "open")
    );
    for name in GROUP_NAMES {
        assert!(api.emulator.member_group_id(name).is_some(), "{name}");
    }
}

#[tokio::test]
async fn organization_patch_merges_metadata() {
    let api = TestApi::start().await;

    let (_, first) = api
        .patch("/organization", json!({"metadata": {"a": "1"}}))
        .await;
    let (_, second) = api
        .patch("/organization", json!({"metadata": {"b": "2", "a": null}}))
        .await;

    assert_eq!(first["metadata"], json!({"a": "1"}));
    assert_eq!(second["metadata"], json!({"b": "2"}));
}

struct TempState(PathBuf);

impl Drop for TempState {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[tokio::test]
async fn state_file_round_trips_members_and_keeps_ids_growing() {
    let dir = tempfile::tempdir().unwrap();
    let path = TempState(dir.path().join("emulator-state.json"));
    let config = EmulatorConfig {
        state_file: Some(path.0.clone()),
        ..EmulatorConfig::default()
    };

    let api = TestApi::start_with(config.clone()).await;
    let id = api
        .create_member("Persisted", json!({"employee_id": "E9"}))
        .await;
    let (_, pin) = api
        .post(&format!("/members/{id}/pins"), json!({"pin": "9876"}))
        .await;
    api.emulator.shutdown().await;
    assert!(path.0.exists());

    let restarted = spawn(config).await.unwrap();
    let members = restarted.members();
    let client = reqwest::Client::new();
    let response = client
        .post(format!("{}/members", restarted.base_url()))
        .bearer_auth(restarted.api_key())
        .json(&json!({"name": "Later"}))
        .send()
        .await
        .unwrap();
    let later: Value = response.json().await.unwrap();

    assert_eq!(members.len(), 1);
    assert_eq!(members[0].id, id);
    assert_eq!(members[0].metadata["employee_id"], "E9");
    let pins = members[0].pins.as_ref().unwrap();
    assert_eq!(pins[0].id, pin["id"].as_str().unwrap());
    assert!(later["id"].as_str().unwrap() > id.as_str());
    restarted.shutdown().await;
}
