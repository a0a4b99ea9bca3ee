//! Retries, failed jobs, "sync now", metrics and health.

use akiles_emulator::{FaultEffect, FaultRule, Faults};
use reqwest::{Method, StatusCode};
use serde_json::json;
use sync_store::Store;

use crate::helpers::{TENANT, employee, eventually, json_of, spawn_app};

fn failing_member_creates() -> Faults {
    Faults {
        rules: vec![FaultRule {
            method: "POST".into(),
            path: "/v2/members".into(),
            nth: None,
            body_contains: None,
            effect: FaultEffect::Status {
                status: 500,
                retry_after: None,
                kind: None,
            },
        }],
        ..Faults::default()
    }
}

#[tokio::test]
async fn a_job_failing_against_akiles_is_retried_then_failed_then_retried_by_hand() {
    let app = spawn_app().await;
    app.set_faults(failing_member_creates());

    app.put_employee("E-4001", &employee("Unlucky Person", &["Sales"], 1))
        .await;

    eventually("the job to be marked failed", || async {
        let failed = app
            .manage(Method::GET, "/tenants/acme/jobs?state=failed")
            .send()
            .await
            .unwrap();
        json_of(failed, StatusCode::OK)
            .await
            .as_array()
            .is_some_and(|j| j.len() == 1)
    })
    .await;
    let failed = app
        .manage(Method::GET, "/tenants/acme/jobs")
        .send()
        .await
        .unwrap();
    let failed = json_of(failed, StatusCode::OK).await;
    let job = &failed[0];
    assert_eq!(job["attempts"], 3);
    assert_eq!(job["employee_id"], "E-4001");
    assert!(job["last_error"].as_str().is_some_and(|e| !e.is_empty()));
    let state = json_of(
        app.employee_state_as(&app.api_key, "E-4001").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(state["failed_job"], true);

    app.set_faults(Faults::default());
    let retried = app
        .manage(
            Method::POST,
            &format!("/tenants/acme/jobs/{}/retry", job["id"]),
        )
        .send()
        .await
        .unwrap();

    assert_eq!(retried.status(), StatusCode::ACCEPTED);
    app.wait_until_in_sync("E-4001").await;
    assert_eq!(app.members_of("E-4001").len(), 1);
    let metrics = app.get("/metrics").await.text().await.unwrap();
    for expected in [
        "akiles_hr_sync_jobs{state=\"queued\"}",
        "akiles_hr_sync_jobs{state=\"failed\"}",
        "akiles_hr_sync_job_outcomes_total",
        "outcome=\"failed\"",
        "outcome=\"retried\"",
        "outcome=\"applied\"",
        "akiles_hr_sync_change_to_applied_seconds",
        "akiles_requests_total",
    ] {
        assert!(
            metrics.contains(expected),
            "{expected} missing from:\n{metrics}"
        );
    }
    app.shutdown().await;
}

#[tokio::test]
async fn saving_settings_queues_a_tenant_sync_that_follows_the_new_mapping() {
    let app = spawn_app().await;
    app.put_employee("E-4002", &employee("Mapped Later", &["Support"], 1))
        .await;
    app.wait_until_in_sync("E-4002").await;
    assert!(crate::helpers::TestApp::groups_of(&app.members_of("E-4002")[0]).is_empty());

    let saved = app
        .manage(Method::PUT, "/tenants/acme/settings")
        .json(&json!({"mapping": {"groups": {"Support": ["IT/IS"]}}}))
        .send()
        .await
        .unwrap();

    assert_eq!(saved.status(), StatusCode::ACCEPTED);
    eventually("the new mapping to be applied", || async {
        crate::helpers::TestApp::groups_of(&app.members_of("E-4002")[0])
            == vec![app.group_id("IT/IS")]
    })
    .await;
    let now = app
        .manage(Method::POST, "/tenants/acme/sync")
        .send()
        .await
        .unwrap();
    assert_eq!(now.status(), StatusCode::ACCEPTED);
    app.wait_for_idle_queue().await;
    app.shutdown().await;
}

#[tokio::test]
async fn jobs_of_a_disconnected_tenant_wait_instead_of_failing() {
    let app = spawn_app().await;
    let mut connection = app.store.connection(TENANT).await.unwrap().unwrap();
    connection.state = sync_store::ConnectionState::ReconnectNeeded;
    app.store.save_connection(&connection).await.unwrap();

    app.put_employee("E-4003", &employee("Patient Person", &["Sales"], 1))
        .await;
    eventually(
        "the job to be put back to wait for the connection",
        || async {
            let jobs = app.store.jobs(Some(TENANT), None, 10).await.unwrap();
            jobs.first().is_some_and(|j| {
                j.state == sync_store::JobState::Queued
                    && j.run_at - j.changed_at >= time::Duration::seconds(10)
            })
        },
    )
    .await;
    let jobs = app.store.jobs(Some(TENANT), None, 10).await.unwrap();
    assert_eq!(
        jobs.len(),
        1,
        "a job failed while waiting for the connection"
    );
    assert_eq!(
        jobs[0].attempts, 0,
        "waiting for the connection used up an attempt"
    );
    assert_eq!(jobs[0].state, sync_store::JobState::Queued);

    // What the OAuth callback does after a reconnect: queue a sync of the tenant. The
    // waiting job must run now, not when its recheck comes due (after the test deadline),
    // and it still has every retry: the first two attempts after reconnecting fail.
    app.set_faults(Faults {
        rules: vec![FaultRule {
            nth: Some(vec![1, 2]),
            ..failing_member_creates().rules.remove(0)
        }],
        ..Faults::default()
    });
    connection.state = sync_store::ConnectionState::Connected;
    app.store.save_connection(&connection).await.unwrap();
    let sync = app
        .manage(Method::POST, "/tenants/acme/sync")
        .send()
        .await
        .unwrap();
    assert_eq!(sync.status(), StatusCode::ACCEPTED);
    app.wait_until_in_sync("E-4003").await;
    assert_eq!(app.members_of("E-4003").len(), 1);
    app.shutdown().await;
}

#[tokio::test]
async fn health_readiness_and_the_openapi_document_are_served() {
    let app = spawn_app().await;

    let healthz = app.get("/healthz").await;
    let readyz = app.get("/readyz").await;
    let openapi = app.get("/api/openapi.yaml").await;
    let unknown = app.get("/nope").await;

    assert_eq!(healthz.status(), StatusCode::OK);
    assert_eq!(readyz.status(), StatusCode::OK);
    assert!(healthz.headers().contains_key("x-request-id"));
    assert!(openapi.text().await.unwrap().starts_with("openapi: 3.1.0"));
    assert_eq!(
        json_of(unknown, StatusCode::NOT_FOUND).await["error"]["code"],
        "not_found"
    );
    app.shutdown().await;
}
