//! Retries, rate limits and lost replies, with faults injected in the emulator.

use std::time::{Duration, Instant};

use akiles_client::types::MemberPatch;
use akiles_client::{ClientError, MemberQuery};
use akiles_emulator::{FaultEffect, FaultRule, Faults};

use crate::support::{client_for, new_member, spawn, spawn_with};

fn rule(method: &str, path: &str, nth: Option<Vec<u64>>, effect: FaultEffect) -> FaultRule {
    FaultRule {
        method: method.to_owned(),
        path: path.to_owned(),
        nth,
        body_contains: None,
        effect,
    }
}

fn status(status: u16, retry_after: Option<&str>) -> FaultEffect {
    FaultEffect::Status {
        status,
        retry_after: retry_after.map(str::to_owned),
        kind: None,
    }
}

fn only(rules: Vec<FaultRule>) -> Faults {
    Faults {
        rules,
        ..Faults::default()
    }
}

#[tokio::test]
async fn rate_limited_create_waits_for_retry_after_and_succeeds() {
    let app = spawn().await;
    let limited = rule("POST", "/v2/members", Some(vec![2]), status(429, Some("1")));
    app.emulator.set_faults(only(vec![limited]));
    app.client
        .create_member(&new_member("First", "429"))
        .await
        .unwrap();

    let started = Instant::now();
    let second = app.client.create_member(&new_member("Second", "429")).await;
    let took = started.elapsed();

    assert!(second.is_ok(), "{second:?}");
    assert!(took >= Duration::from_secs(1), "took {took:?}");
    let stats = app.client.stats();
    assert_eq!(stats.retries, 1);
    assert_eq!(stats.rate_limited, 1);
    assert!(stats.waited_ms >= 1000);
    assert_eq!(app.calls("POST /v2/members"), 3);
    let query = MemberQuery::by_metadata("batch", "429");
    assert_eq!(
        app.client.list_members_all(&query).await.unwrap().len(),
        2,
        "no duplicate"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_429_holds_back_the_other_requests_of_the_client() {
    let app = spawn().await;
    let limited = rule(
        "GET",
        "/v2/organization",
        Some(vec![1]),
        status(429, Some("1")),
    );
    app.emulator.set_faults(only(vec![limited]));
    let started = Instant::now();
    let client = app.client.clone();
    let first = tokio::spawn(async move { client.organization().await });
    wait_until(|| app.client.stats().rate_limited == 1).await;

    let other = app.client.list_sites_all().await;
    let took = started.elapsed();

    assert!(other.is_ok(), "{other:?}");
    assert!(took >= Duration::from_secs(1), "took {took:?}");
    assert!(first.await.unwrap().is_ok());
    app.shutdown().await;
}

#[tokio::test]
async fn rate_limit_that_outlasts_the_retries_is_reported() {
    let app = spawn().await;
    app.emulator.set_faults(only(vec![rule(
        "GET",
        "/v2/organization",
        None,
        status(429, Some("0")),
    )]));

    let err = app.client.organization().await.unwrap_err();

    let ClientError::RateLimited { retry_after } = &err else {
        panic!("expected RateLimited: {err:?}")
    };
    assert_eq!(*retry_after, Some(Duration::ZERO));
    assert!(!err.may_have_applied());
    assert_eq!(
        app.calls("GET /v2/organization"),
        4,
        "first attempt and 3 retries"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn server_error_on_a_read_is_retried() {
    let app = spawn().await;
    let member = app
        .client
        .create_member(&new_member("Reader", "500get"))
        .await
        .unwrap();
    let failing = rule(
        "GET",
        "/v2/members/{member_id}",
        Some(vec![1]),
        status(500, None),
    );
    app.emulator.set_faults(only(vec![failing]));

    let read = app.client.member(&member.id, &[]).await;

    assert!(read.is_ok(), "{read:?}");
    assert_eq!(app.client.stats().retries, 1);
    assert_eq!(app.calls("GET /v2/members/{member_id}"), 2);
    app.shutdown().await;
}

#[tokio::test]
async fn server_errors_on_a_patch_are_retried() {
    let app = spawn().await;
    let member = app
        .client
        .create_member(&new_member("Patched", "503patch"))
        .await
        .unwrap();
    let failing = rule(
        "PATCH",
        "/v2/members/{member_id}",
        Some(vec![1, 2]),
        status(503, Some("0")),
    );
    app.emulator.set_faults(only(vec![failing]));
    let patch = MemberPatch {
        name: Some("Renamed".to_owned()),
        ..MemberPatch::default()
    };

    let updated = app.client.update_member(&member.id, &patch).await.unwrap();

    assert_eq!(updated.name, "Renamed");
    assert_eq!(app.client.stats().retries, 2);
    app.shutdown().await;
}

#[tokio::test]
async fn server_error_on_create_is_not_retried() {
    let app = spawn().await;
    app.emulator.set_faults(only(vec![rule(
        "POST",
        "/v2/members",
        None,
        status(500, None),
    )]));
    app.emulator.reset_calls();

    let err = app
        .client
        .create_member(&new_member("Maybe", "500post"))
        .await
        .unwrap_err();

    assert!(
        matches!(err, ClientError::Api { status: 500, .. }),
        "{err:?}"
    );
    assert!(err.may_have_applied());
    assert_eq!(app.calls("POST /v2/members"), 1);
    assert_eq!(app.client.stats().retries, 0);
    app.shutdown().await;
}

#[tokio::test]
async fn create_whose_reply_is_lost_times_out_but_was_applied() {
    let app = spawn_with(|config| config.timeout = Duration::from_millis(300)).await;
    let hang = FaultEffect::ApplyThenHang {
        apply_then_hang_ms: 2_000,
    };
    app.emulator
        .set_faults(only(vec![rule("POST", "/v2/members", None, hang)]));

    let err = app
        .client
        .create_member(&new_member("Ghost", "lost"))
        .await
        .unwrap_err();

    assert!(
        matches!(err, ClientError::Timeout { sent: true, .. }),
        "{err:?}"
    );
    assert!(err.may_have_applied());
    assert_eq!(app.calls("POST /v2/members"), 1, "a create is not repeated");
    wait_until(|| app.emulator.members().iter().any(|m| m.name == "Ghost")).await;
    app.shutdown().await;
}

#[tokio::test]
async fn create_is_retried_when_the_connection_cannot_be_opened() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base_url = format!("http://{}/v2", listener.local_addr().unwrap());
    drop(listener);
    let client = client_for(&base_url, "ak_key", |_| {});

    let err = client
        .create_member(&new_member("Nobody", "refused"))
        .await
        .unwrap_err();

    assert!(
        matches!(err, ClientError::Transport { sent: false, .. }),
        "{err:?}"
    );
    assert!(!err.may_have_applied());
    assert_eq!(client.stats().retries, 3);
}

/// Polls `condition` until it holds; fails the test after 5 s.
async fn wait_until(condition: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !condition() {
        assert!(Instant::now() < deadline, "condition not met within 5 s");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
