//! Connect Akiles through the emulator's consent page, reconnect after a revoked grant,
//! and disconnect.

use std::time::Duration;

use akiles_emulator::ORG_NAME;
use reqwest::StatusCode;
use sync_store::{ConnectionState, JobState, Store, SyncState};

use crate::harness::{AdminApp, TENANT, location, spawn_admin_app};

const PAGE: &str = "/admin/tenants/acme";

#[tokio::test]
async fn the_page_says_not_connected_before_connecting() {
    let app = spawn_admin_app().await;
    app.login().await;

    let page = app.page(PAGE).await;

    assert!(page.contains("Not connected"));
    assert!(page.contains(">Connect Akiles</button>"));
    assert!(
        !page.contains("name=\"pin\""),
        "no settings before connecting"
    );
}

#[tokio::test]
async fn connecting_through_the_consent_page_shows_the_organization_name() {
    let app = spawn_admin_app().await;
    app.login().await;

    let page = app.connect().await;

    assert!(page.contains(&format!("Connected to {ORG_NAME}")), "{page}");
    assert!(page.contains(">Reconnect Akiles</button>"));
    assert!(page.contains("name=\"pin\""));
    assert!(
        page.contains(" Sales</label>"),
        "live member groups are offered"
    );
    let connection = app.store.connection(TENANT).await.unwrap().unwrap();
    assert_eq!(connection.state, ConnectionState::Connected);
    assert_eq!(
        connection.organization_id,
        Some(app.emulator.default_org_id())
    );
    assert!(connection.refresh_token.is_some());
}

#[tokio::test]
async fn an_unknown_or_reused_oauth_state_is_rejected_and_nothing_is_stored() {
    let app = spawn_admin_app().await;
    app.login().await;

    let forged = app.get("/oauth/callback?state=made-up&code=made-up").await;
    let forged_page = app.follow(forged).await;
    let after_forged = app.store.connection(TENANT).await.unwrap();
    let callback = app.consent("approve").await;
    let first = app.get(&callback).await;
    assert_eq!(location(&first), PAGE);
    let revision = app
        .store
        .connection(TENANT)
        .await
        .unwrap()
        .unwrap()
        .revision;
    let reused = app.get(&callback).await;
    let reused_page = app.follow(reused).await;

    assert!(forged_page.contains("unknown, expired or already used"));
    assert!(after_forged.is_none(), "a forged callback stores nothing");
    assert!(reused_page.contains("unknown, expired or already used"));
    let connection = app.store.connection(TENANT).await.unwrap().unwrap();
    assert_eq!(
        connection.revision, revision,
        "a reused state changes nothing"
    );
}

#[tokio::test]
async fn denying_on_the_consent_page_stores_nothing() {
    let app = spawn_admin_app().await;
    app.login().await;

    let callback = app.consent("deny").await;
    let page = app.follow(app.get(&callback).await).await;

    assert!(callback.contains("error=access_denied"));
    assert!(page.contains("Access was denied on the Akiles page"));
    assert!(page.contains("Not connected"));
    assert!(app.store.connection(TENANT).await.unwrap().is_none());
}

async fn map_sales_and_wait_in_sync(app: &AdminApp) {
    let sales = app.emulator.member_group_id("Sales").unwrap();
    let saved = app
        .post(
            &format!("{PAGE}/settings"),
            &[
                ("pin", "on"),
                ("pin_length", "6"),
                ("hr.0", "Sales"),
                ("to.0", &sales),
            ],
        )
        .await;
    assert!(app.follow(saved).await.contains("Saved. Queued a sync"));
    app.push("E-1", "Ana Quiroga", &["Sales"], 1).await;
    wait_in_sync(app, 1).await;
}

async fn wait_in_sync(app: &AdminApp, members: usize) {
    app.until("every employee in sync", || async {
        let links = app.store.links(TENANT).await.unwrap();
        let jobs = app.store.jobs(Some(TENANT), None, 10).await.unwrap();
        jobs.is_empty()
            && !links.is_empty()
            && links.iter().all(|l| l.state == SyncState::InSync)
            && app
                .emulator
                .members()
                .iter()
                .filter(|m| !m.is_deleted)
                .count()
                == members
    })
    .await;
}

#[tokio::test]
async fn a_revoked_grant_shows_reconnect_needed_and_no_queued_work_is_lost() {
    let app = spawn_admin_app().await;
    app.login().await;
    app.connect().await;
    map_sales_and_wait_in_sync(&app).await;

    // A connection written in the last 20 s looks claimed by another refresher.
    app.clock.advance(Duration::from_secs(30));
    app.emulator.revoke_oauth_grants();
    app.emulator.expire_access_tokens();
    app.push("E-2", "Jonas Peltier", &["Sales"], 1).await;
    app.until("the connection to need a reconnect", || async {
        let connection = app.store.connection(TENANT).await.unwrap().unwrap();
        connection.state == ConnectionState::ReconnectNeeded
    })
    .await;
    let page = app.page(PAGE).await;
    let employees = app.page(&format!("{PAGE}/employees")).await;
    let jobs = app.store.jobs(Some(TENANT), None, 10).await.unwrap();

    assert!(page.contains("Reconnect needed"), "{page}");
    assert!(page.contains(">Reconnect Akiles</button>"));
    assert_eq!(jobs.len(), 1, "the change for E-2 still waits");
    assert_eq!(jobs[0].state, JobState::Queued);
    assert!(employees.contains("data-state=\"reconnect_needed\""));
    assert_eq!(
        app.emulator.members().len(),
        1,
        "nothing done without a connection"
    );
    app.until("the metric to show the reconnect", || async {
        let metrics = app.get("/metrics").await.text().await.unwrap();
        metrics.contains("akiles_hr_sync_connections{state=\"reconnect_needed\"} 1")
    })
    .await;

    let reconnected = app.connect().await;
    assert!(reconnected.contains(&format!("Connected to {ORG_NAME}")));
    wait_in_sync(&app, 2).await;
}

#[tokio::test]
async fn disconnect_forgets_the_tokens_and_says_members_stay() {
    let app = spawn_admin_app().await;
    app.login().await;
    app.connect().await;
    map_sales_and_wait_in_sync(&app).await;

    let response = app.post(&format!("{PAGE}/disconnect"), &[]).await;
    let page = app.follow(response).await;

    assert!(page.contains("Members already in Akiles stay as they are"));
    assert!(page.contains("Not connected"));
    let connection = app.store.connection(TENANT).await.unwrap().unwrap();
    assert_eq!(connection.state, ConnectionState::Disconnected);
    assert!(connection.access_token.is_none() && connection.refresh_token.is_none());
    let live = app
        .emulator
        .members()
        .into_iter()
        .filter(|m| !m.is_deleted)
        .count();
    assert_eq!(live, 1, "the member stays in Akiles");
    assert_eq!(app.get(PAGE).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_employee_pages_show_state_search_and_history() {
    let app = spawn_admin_app().await;
    app.login().await;
    app.connect().await;
    map_sales_and_wait_in_sync(&app).await;

    let list = app.page(&format!("{PAGE}/employees?q=quiroga")).await;
    let none = app.page(&format!("{PAGE}/employees?q=nobody")).await;
    let detail = app.page(&format!("{PAGE}/employees/E-1")).await;
    let activity = app.page(&format!("{PAGE}/activity")).await;

    assert!(list.contains("data-employee=\"E-1\" data-state=\"in_sync\""));
    assert!(none.contains("No employee matches."));
    assert!(detail.contains("create member"), "{detail}");
    assert!(detail.contains("→ ok"));
    assert!(activity.contains("Failed jobs"));
}

#[tokio::test]
async fn a_reconnect_to_another_organization_is_refused_and_orphans_nobody() {
    let app = spawn_admin_app().await;
    app.login().await;
    app.connect().await;
    map_sales_and_wait_in_sync(&app).await;
    let writes_before = app.emulator.write_calls();
    let hotel = app
        .emulator
        .organization_id(akiles_emulator::HOTEL_ORG_NAME)
        .unwrap();

    let callback = app.consent_for("approve", Some(&hotel)).await;
    let page = app.follow(app.get(&callback).await).await;

    assert!(page.contains("but this tenant syncs"), "{page}");
    let connection = app.store.connection(TENANT).await.unwrap().unwrap();
    assert_eq!(connection.state, ConnectionState::ReconnectNeeded);
    assert!(connection.access_token.is_none());
    assert_ne!(connection.organization_id.as_deref(), Some(hotel.as_str()));
    assert!(
        app.store
            .jobs(Some(TENANT), None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(app.emulator.write_calls(), writes_before);

    let back = app.connect().await;
    assert!(back.contains(&format!("Connected to {ORG_NAME}")), "{back}");
}
