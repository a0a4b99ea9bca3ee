//! Full reconciles: drift repaired on demand, the schedule, and a preview that matches
//! what the following reconcile applies.

use std::sync::Arc;

use akiles_emulator::EmulatorConfig;
use hr_domain::{Clock, FixedClock};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sync_server::{AppState, StoredAccessTokens};
use sync_store::{JobKind, SqliteStore, Store};
use time::macros::datetime;
use tokio::sync::watch;

use crate::helpers::{
    Options, TENANT, TestApp, employee, eventually, json_of, prepare_tenant, spawn_app,
    test_settings,
};

/// Sends a `/v2` request to the emulator as an admin would by hand.
async fn by_hand(app: &TestApp, method: Method, path: &str, body: Option<Value>) {
    let url = format!("{}{path}", app.emulator.base_url());
    let mut request = app
        .http
        .request(method, url)
        .bearer_auth(app.emulator.api_key());
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    assert!(response.status().is_success(), "{}", response.status());
}

async fn reconcile_now(app: &TestApp) {
    let response = app
        .manage(Method::POST, "/tenants/acme/reconcile")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    app.wait_for_idle_queue().await;
}

#[tokio::test]
async fn a_reconcile_recreates_a_member_deleted_by_hand_and_keeps_a_hand_made_association() {
    let app = spawn_app().await;
    for id in ["E-3001", "E-3002"] {
        app.put_employee(id, &employee("Drifting Person", &["Sales"], 1))
            .await;
        app.wait_until_in_sync(id).await;
    }
    let deleted = app.members_of("E-3001")[0].id.clone();
    let kept = app.members_of("E-3002")[0].id.clone();
    let it = app.group_id("IT/IS");
    by_hand(&app, Method::DELETE, &format!("/members/{deleted}"), None).await;
    let association = json!({"member_group_id": it});
    let path = format!("/members/{kept}/group_associations");
    by_hand(&app, Method::POST, &path, Some(association)).await;

    reconcile_now(&app).await;

    let recreated = app.members_of("E-3001");
    assert_eq!(recreated.len(), 1);
    assert_ne!(recreated[0].id, deleted);
    assert_eq!(
        TestApp::groups_of(&recreated[0]),
        vec![app.group_id("Sales")]
    );
    let mut expected = vec![it, app.group_id("Sales")];
    expected.sort();
    assert_eq!(TestApp::groups_of(&app.members_of("E-3002")[0]), expected);

    let writes = app.emulator.write_calls();
    reconcile_now(&app).await;
    assert_eq!(
        app.emulator.write_calls(),
        writes,
        "an unchanged state was written"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn the_schedule_queues_a_reconcile_for_each_connected_tenant_that_is_due() {
    let emulator = akiles_emulator::spawn(EmulatorConfig::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}?mode=rwc", dir.path().join("s.db").display());
    let settings = test_settings(&emulator, &database, &Options::default());
    let start = datetime!(2026-03-02 08:00 UTC);
    let fixed = Arc::new(FixedClock::new(start));
    let clock: Arc<dyn Clock> = fixed.clone();
    let store = SqliteStore::connect(&database, settings.data_key.clone(), clock.clone())
        .await
        .unwrap();
    let store = Arc::new(store);
    // name → (minutes between reconciles, connected, reconciled at the start)
    let tenants = [
        ("disconnected", 15, false, false),
        ("never", 15, true, false),
        ("off", 0, true, false),
        ("recent", 15, true, true),
        ("stale", 5, true, true),
    ];
    for (name, every, connected, reconciled) in tenants {
        prepare_tenant(store.as_ref(), &emulator, name, connected).await;
        let settings = json!({"reconcile_every_minutes": every});
        store.save_tenant_settings(name, &settings).await.unwrap();
        if reconciled {
            let run = store.start_run(name, "reconcile").await.unwrap();
            store.finish_run(run, &json!({})).await.unwrap();
        }
    }
    fixed.set(start + time::Duration::minutes(10));
    let tokens = Arc::new(StoredAccessTokens::new(store.clone()));
    let state = AppState::new(settings, store.clone(), clock, tokens);
    let (stop, stopping) = watch::channel(false);

    let scheduler = sync_server::scheduler::spawn_scheduler(state, stopping);

    let queued = || async {
        let jobs = store.jobs(None, None, 100).await.unwrap();
        assert!(jobs.iter().all(|j| j.kind == JobKind::SyncTenant));
        let mut tenants: Vec<String> = jobs.into_iter().map(|j| j.tenant).collect();
        tenants.sort();
        tenants
    };
    // "stale" is the last tenant of a pass, so its job means the pass is done.
    eventually("the first pass", || async {
        queued().await.contains(&"stale".to_owned())
    })
    .await;
    assert_eq!(queued().await, vec!["never", "stale"]);

    fixed.set(start + time::Duration::minutes(16));
    eventually("the pass a minute later", || async {
        queued().await.contains(&"recent".to_owned())
    })
    .await;
    assert_eq!(queued().await, vec!["never", "recent", "stale"]);
    stop.send(true).unwrap();
    scheduler.await.unwrap();
    emulator.shutdown().await;
}

/// The preview of a mapping change equals what saving it and reconciling applies.
#[tokio::test]
async fn a_preview_of_new_settings_matches_what_the_reconcile_after_saving_them_applies() {
    let app = spawn_app().await;
    for (id, group) in [
        ("E-6001", "Sales"),
        ("E-6002", "Sales"),
        ("E-6003", "Engineering"),
    ] {
        app.put_employee(id, &employee("Mapped Person", &[group], 1))
            .await;
        app.wait_until_in_sync(id).await;
    }
    let proposed = json!({
        "mapping": {"groups": {"Sales": ["Sales", "IT/IS"]}},
        "member_name_max_bytes": 255,
        "reconcile_every_minutes": 0,
    });
    let writes = app.emulator.write_calls();

    let response = app
        .manage(Method::POST, "/tenants/acme/preview")
        .json(&proposed)
        .send()
        .await
        .unwrap();
    let mut bad = proposed.clone();
    bad["deletion_guard"] = json!({"max_deletion_percent": 101});
    let invalid = app
        .manage(Method::POST, "/tenants/acme/preview")
        .json(&bad)
        .send()
        .await
        .unwrap();

    let preview = json_of(response, StatusCode::OK).await;
    assert_eq!(
        preview["steps"],
        json!({"create_association": 2, "delete_association": 1})
    );
    let lines = preview["lines"].to_string();
    assert!(lines.contains("2 members gain IT/IS"), "{lines}");
    assert!(
        lines.contains("1 member loses Software Engineering"),
        "{lines}"
    );
    assert_eq!(app.emulator.write_calls(), writes, "the preview wrote");
    let invalid = json_of(invalid, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(
        invalid["error"]["field"],
        "deletion_guard.max_deletion_percent"
    );

    let saved = app
        .manage(Method::PUT, "/tenants/acme/settings")
        .json(&proposed)
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), StatusCode::ACCEPTED);
    app.wait_for_idle_queue().await;
    let runs = app.store.runs(TENANT, 10).await.unwrap();
    let run = runs.iter().find(|r| r.kind == "reconcile").unwrap();
    let applied: serde_json::Map<String, Value> = run.summary["applied"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, n)| n.as_u64() != Some(0))
        .map(|(k, n)| (k.clone(), n.clone()))
        .collect();
    assert_eq!(Value::Object(applied), preview["steps"]);
    app.shutdown().await;
}
