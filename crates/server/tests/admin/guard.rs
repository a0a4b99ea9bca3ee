//! The deletion guard's pages, the preview of a settings change, and the run fields of
//! the settings form (time zone, guard limits, reconcile interval).

use hr_domain::EmployeeId;
use reqwest::StatusCode;
use sync_store::{HoldState, JobKind, NewHold, Store, SyncState};

use crate::harness::{ADMIN, AdminApp, TENANT, spawn_admin_app};

const PAGE: &str = "/admin/tenants/acme";

async fn stored_settings(app: &AdminApp) -> serde_json::Value {
    app.store.tenant(TENANT).await.unwrap().unwrap().settings
}

async fn hold(app: &AdminApp, ids: &[&str]) {
    let holds: Vec<NewHold> = ids
        .iter()
        .enumerate()
        .map(|(n, id)| NewHold {
            employee_id: EmployeeId::parse(id).unwrap(),
            member_ids: vec![format!("mem_held{n}")],
            record_version: Some(1),
        })
        .collect();
    let reason = "3 of the 4 members the sync owns would be deleted";
    app.store
        .hold_deletions(TENANT, &holds, None, reason)
        .await
        .unwrap();
}

async fn hold_state(app: &AdminApp, id: &str) -> HoldState {
    let held = app.store.held_deletions(TENANT).await.unwrap();
    held.iter()
        .find(|h| h.employee_id.as_str() == id)
        .map(|h| h.state)
        .unwrap()
}

/// Maps the HR group Sales to the Akiles group Sales with PINs on (and the `extra`
/// fields), pushes `people` in Sales, and waits until every one is in sync and the queue
/// is empty.
async fn connect_and_sync_sales(app: &AdminApp, people: &[(&str, &str)], extra: &[(&str, &str)]) {
    app.connect().await;
    let sales = app.emulator.member_group_id("Sales").unwrap();
    let mut form = vec![("pin", "on"), ("hr.0", "Sales"), ("to.0", sales.as_str())];
    form.extend_from_slice(extra);
    let saved = app.post(&format!("{PAGE}/settings"), &form).await;
    assert!(app.follow(saved).await.contains("Saved."));
    for (id, name) in people {
        app.push(id, name, &["Sales"], 1).await;
    }
    wait_until_idle(app, people.len()).await;
}

async fn live_members(app: &AdminApp) -> usize {
    app.emulator
        .members()
        .iter()
        .filter(|m| !m.is_deleted)
        .count()
}

/// Waits until the queue is empty and `employees` employees are in sync.
async fn wait_until_idle(app: &AdminApp, employees: usize) {
    app.until("every employee in sync", || async {
        let links = app.store.links(TENANT).await.unwrap();
        let jobs = app.store.jobs(Some(TENANT), None, 10).await.unwrap();
        jobs.is_empty()
            && links.len() == employees
            && links.iter().all(|l| l.state == SyncState::InSync)
    })
    .await;
}

#[tokio::test]
async fn held_deletions_are_listed_and_the_integration_page_warns() {
    let app = spawn_admin_app().await;
    app.login().await;
    hold(&app, &["E-1", "a/b", "E-3"]).await;

    let list = app.page(&format!("{PAGE}/deletions")).await;
    let integration = app.page(PAGE).await;

    assert!(
        list.contains("data-employee=\"E-1\" data-state=\"held\""),
        "{list}"
    );
    assert!(list.contains("href=\"/admin/tenants/acme/employees/a%2Fb\""));
    assert!(list.contains("mem_held2"));
    assert!(list.contains("3 of the 4 members the sync owns would be deleted"));
    assert!(list.contains(">Approve all</button>") && list.contains(">Reject all</button>"));
    assert!(integration.contains("3 member deletions are held for your approval."));
    assert!(integration.contains("href=\"/admin/tenants/acme/deletions\""));
}

#[tokio::test]
async fn approving_a_held_deletion_records_who_and_queues_a_reconcile() {
    let app = spawn_admin_app().await;
    app.login().await;
    hold(&app, &["E-1", "E-2"]).await;

    let approved = app
        .post(&format!("{PAGE}/deletions/approve"), &[("employee", "E-1")])
        .await;
    let page = app.follow(approved).await;

    assert!(page.contains("Approved 1 held deletion; queued a full reconcile"));
    assert_eq!(hold_state(&app, "E-1").await, HoldState::Approved);
    assert_eq!(hold_state(&app, "E-2").await, HoldState::Held);
    assert!(
        page.contains(&format!("{ADMIN} at ")),
        "the decider is shown"
    );
    let jobs = app.store.jobs(Some(TENANT), None, 10).await.unwrap();
    // Not connected: the reconcile waits in the queue for Akiles.
    assert!(
        jobs.iter().any(|j| j.kind == JobKind::SyncTenant),
        "{jobs:?}"
    );
}

#[tokio::test]
async fn rejecting_all_keeps_every_member_and_queues_nothing() {
    let app = spawn_admin_app().await;
    app.login().await;
    hold(&app, &["E-1", "E-2"]).await;

    let rejected = app
        .post(&format!("{PAGE}/deletions/reject"), &[("scope", "all")])
        .await;
    let page = app.follow(rejected).await;
    let integration = app.page(PAGE).await;

    assert!(page.contains("Rejected 2 held deletions"), "{page}");
    assert_eq!(hold_state(&app, "E-1").await, HoldState::Rejected);
    assert_eq!(hold_state(&app, "E-2").await, HoldState::Rejected);
    assert!(
        app.store
            .jobs(Some(TENANT), None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(!integration.contains("held for your approval"));
}

#[tokio::test]
async fn a_decision_without_an_employee_changes_nothing() {
    let app = spawn_admin_app().await;
    app.login().await;
    hold(&app, &["E-1"]).await;

    let page = app
        .follow(app.post(&format!("{PAGE}/deletions/approve"), &[]).await)
        .await;

    assert!(page.contains("Choose an employee, or all held deletions."));
    assert_eq!(hold_state(&app, "E-1").await, HoldState::Held);
}

#[tokio::test]
async fn an_unknown_time_zone_is_refused_naming_the_field_and_nothing_is_saved() {
    let app = spawn_admin_app().await;
    app.login().await;
    let before = stored_settings(&app).await;

    let saved = app
        .post(
            &format!("{PAGE}/settings"),
            &[("pin", "on"), ("time_zone", "Mars/Olympus_Mons")],
        )
        .await;
    let page = app.follow(saved).await;
    let previewed = app
        .post(
            &format!("{PAGE}/settings/preview"),
            &[("time_zone", "Mars/Olympus_Mons")],
        )
        .await;
    let preview_page = app.follow(previewed).await;

    assert!(page.contains("Time zone (time_zone):"), "{page}");
    assert!(page.contains("Nothing was saved."));
    assert!(preview_page.contains("Time zone (time_zone):"));
    assert_eq!(stored_settings(&app).await, before);
    assert!(
        app.store
            .jobs(Some(TENANT), None, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn the_run_fields_are_saved_and_shown_again() {
    let app = spawn_admin_app().await;
    app.login().await;
    app.connect().await;

    let saved = app
        .post(
            &format!("{PAGE}/settings"),
            &[
                ("time_zone", "europe/madrid"),
                ("max_deletions", "25"),
                ("max_deletion_percent", "30"),
                ("reconcile_every_minutes", "60"),
            ],
        )
        .await;
    let page = app.follow(saved).await;
    let stored = stored_settings(&app).await;

    assert!(page.contains("Saved."), "{page}");
    assert_eq!(stored["time_zone"], "Europe/Madrid");
    assert_eq!(stored["deletion_guard"]["max_deletions"], 25);
    assert_eq!(stored["deletion_guard"]["max_deletion_percent"], 30);
    assert_eq!(stored["reconcile_every_minutes"], 60);
    assert!(page.contains("name=\"time_zone\" list=\"time-zones\" value=\"Europe/Madrid\""));
    assert!(page.contains("name=\"reconcile_every_minutes\" min=\"0\" max=\"10080\" value=\"60\""));
}

#[tokio::test]
async fn the_preview_of_a_moved_group_counts_gains_and_losses_and_saves_nothing() {
    let app = spawn_admin_app().await;
    app.login().await;
    let people = [("E-1", "Ana Quiroga"), ("E-2", "Jonas Peltier")];
    connect_and_sync_sales(&app, &people, &[]).await;
    let before = stored_settings(&app).await;
    let engineering = app
        .emulator
        .member_group_id("Software Engineering")
        .unwrap();
    let writes_before = app.emulator.write_calls();

    let response = app
        .post(
            &format!("{PAGE}/settings/preview"),
            &[("pin", "on"), ("hr.0", "Sales"), ("to.0", &engineering)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();

    assert!(
        page.contains("<li data-preview-line>2 members gain Software Engineering</li>"),
        "{page}"
    );
    assert!(page.contains("<li data-preview-line>2 members lose Sales</li>"));
    assert!(page.contains("<li data-preview-line>0 deletions</li>"));
    assert!(page.contains(&format!("name=\"to.0\" value=\"{engineering}\"")));
    assert!(page.contains(">Save these settings</button>"));
    assert_eq!(stored_settings(&app).await, before, "nothing saved");
    assert!(
        app.store
            .jobs(Some(TENANT), None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        app.emulator.write_calls(),
        writes_before,
        "nothing written to Akiles"
    );
}

#[tokio::test]
async fn the_preview_of_a_tenant_not_connected_says_so() {
    let app = spawn_admin_app().await;
    app.login().await;

    let response = app
        .post(&format!("{PAGE}/settings/preview"), &[("pin", "on")])
        .await;
    let page = response.text().await.unwrap();

    assert!(
        page.contains("This tenant is not connected to Akiles"),
        "{page}"
    );
}

#[tokio::test]
async fn reconcile_now_says_it_runs_a_full_reconcile() {
    let app = spawn_admin_app().await;
    app.login().await;

    let page = app
        .follow(app.post(&format!("{PAGE}/sync"), &[]).await)
        .await;

    assert!(page.contains("Queued a full reconcile"), "{page}");
}

#[tokio::test]
async fn the_new_forms_refuse_a_cross_site_post() {
    let app = spawn_admin_app().await;
    app.login().await;
    hold(&app, &["E-1"]).await;

    for path in ["settings/preview", "deletions/approve", "deletions/reject"] {
        let forged = app.post_cross_site(&format!("{PAGE}/{path}")).await;

        assert_eq!(forged.status(), StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(hold_state(&app, "E-1").await, HoldState::Held);
    assert!(app.store.jobs(None, None, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_reconcile_over_the_guard_holds_deletions_until_an_admin_approves() {
    let app = spawn_admin_app().await;
    app.login().await;
    let people = [
        ("E-1", "Ana Quiroga"),
        ("E-2", "Jonas Peltier"),
        ("E-3", "Priya Natarajan"),
    ];
    let guard = [("max_deletions", "1"), ("max_deletion_percent", "100")];
    connect_and_sync_sales(&app, &people, &guard).await;
    for id in ["E-2", "E-3"] {
        let id = EmployeeId::parse(id).unwrap();
        app.store.remove_employee(TENANT, &id, 2).await.unwrap();
    }

    let reconcile = app.post(&format!("{PAGE}/sync"), &[]).await;
    assert!(
        app.follow(reconcile)
            .await
            .contains("Queued a full reconcile")
    );
    app.until("two deletions held", || async {
        app.store.held_deletions(TENANT).await.unwrap().len() == 2
    })
    .await;
    let integration = app.page(PAGE).await;
    let activity = app.page(&format!("{PAGE}/activity")).await;
    let list = app.page(&format!("{PAGE}/deletions")).await;

    assert!(integration.contains("2 member deletions are held for your approval."));
    assert!(
        activity.contains("2 deletions held: 2 of the 3 members"),
        "{activity}"
    );
    assert!(list.contains("data-employee=\"E-2\" data-state=\"held\""));
    assert!(list.contains("data-employee=\"E-3\" data-state=\"held\""));
    assert_eq!(live_members(&app).await, 3, "nothing deleted yet");

    let approved = app
        .post(&format!("{PAGE}/deletions/approve"), &[("scope", "all")])
        .await;
    assert!(
        app.follow(approved)
            .await
            .contains("Approved 2 held deletions")
    );
    app.until("the approved members to be deleted", || async {
        live_members(&app).await == 1 && app.store.held_deletions(TENANT).await.unwrap().is_empty()
    })
    .await;
}

#[tokio::test]
async fn a_reconcile_of_an_emptied_store_is_refused_and_the_activity_page_says_so() {
    let app = spawn_admin_app().await;
    app.login().await;
    connect_and_sync_sales(
        &app,
        &[("E-1", "Ana Quiroga"), ("E-2", "Jonas Peltier")],
        &[],
    )
    .await;
    for id in ["E-1", "E-2"] {
        let id = EmployeeId::parse(id).unwrap();
        app.store.remove_employee(TENANT, &id, 2).await.unwrap();
    }

    app.post(&format!("{PAGE}/sync"), &[]).await;
    app.until("the refused run", || async {
        let runs = app.store.runs(TENANT, 5).await.unwrap();
        runs.iter().any(|r| r.summary.get("suspicious").is_some())
    })
    .await;
    let activity = app.page(&format!("{PAGE}/activity")).await;

    assert!(
        activity.contains("suspicious: refused (the store holds no current employee"),
        "{activity}"
    );
    assert_eq!(live_members(&app).await, 2);
}
