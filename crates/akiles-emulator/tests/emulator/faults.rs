//! Auth, injected faults, rate limits and call counting.

use std::time::Duration;

use akiles_emulator::{EmulatorConfig, FaultEffect, FaultRule, Faults, RateLimit};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::TestApi;

fn rule(method: &str, path: &str, nth: Option<Vec<u64>>, effect: FaultEffect) -> FaultRule {
    FaultRule {
        method: method.into(),
        path: path.into(),
        nth,
        body_contains: None,
        effect,
    }
}

#[tokio::test]
async fn missing_or_unknown_bearer_tokens_are_unauthorized() {
    let api = TestApi::start().await;
    let url = format!("{}/members", api.emulator.base_url());

    let missing = api.http.get(&url).send().await.unwrap();
    let wrong = api
        .http
        .get(&url)
        .bearer_auth("ak_wrong")
        .send()
        .await
        .unwrap();
    let wrong_status = wrong.status();
    let body: Value = wrong.json().await.unwrap();

    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(wrong_status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["type"], "unauthorized");
}

#[tokio::test]
async fn nth_rule_answers_429_with_retry_after_without_touching_state() {
    let api = TestApi::start().await;
    let effect = FaultEffect::Status {
        status: 429,
        retry_after: Some("1".into()),
        kind: None,
    };
    api.emulator.set_faults(Faults {
        rules: vec![rule("POST", "/v2/members", Some(vec![2, 3]), effect)],
        ..Faults::default()
    });
    let url = format!("{}/members", api.emulator.base_url());

    let mut statuses = Vec::new();
    let mut retry_after = None;
    for n in 0..4 {
        let response = api
            .http
            .post(&url)
            .bearer_auth(api.emulator.api_key())
            .json(&json!({"name": format!("M{n}")}))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            retry_after = response.headers().get("retry-after").cloned();
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["type"], "rate_limited");
        }
    }

    assert_eq!(statuses, vec![200, 429, 429, 200]);
    assert_eq!(retry_after.unwrap(), "1");
    assert_eq!(api.emulator.members().len(), 2);
    assert_eq!(api.emulator.calls()["POST /v2/members"], 4);
}

#[tokio::test]
async fn body_contains_narrows_a_rule_to_matching_bodies() {
    let api = TestApi::start().await;
    let mut fault = rule(
        "POST",
        "/v2/members",
        None,
        FaultEffect::Status {
            status: 503,
            retry_after: None,
            kind: Some("unavailable".into()),
        },
    );
    fault.body_contains = Some("Mallory".into());
    api.emulator.set_faults(Faults {
        rules: vec![fault],
        ..Faults::default()
    });

    let (blocked, body) = api.post("/members", json!({"name": "Mallory"})).await;
    let (allowed, _) = api.post("/members", json!({"name": "Alice"})).await;

    assert_eq!(
        (blocked, body["type"].clone()),
        (StatusCode::SERVICE_UNAVAILABLE, json!("unavailable"))
    );
    assert_eq!(allowed, StatusCode::OK);
}

#[tokio::test]
async fn apply_then_hang_applies_the_change_although_the_client_times_out() {
    let api = TestApi::start().await;
    let effect = FaultEffect::ApplyThenHang {
        apply_then_hang_ms: 30_000,
    };
    api.emulator.set_faults(Faults {
        rules: vec![rule("POST", "/v2/members", None, effect)],
        ..Faults::default()
    });

    let result = api
        .http
        .post(format!("{}/members", api.emulator.base_url()))
        .bearer_auth(api.emulator.api_key())
        .timeout(Duration::from_millis(300))
        .json(&json!({"name": "Ghost"}))
        .send()
        .await;

    assert!(result.unwrap_err().is_timeout());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while api.emulator.members().is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the member never appeared"
        );
        tokio::task::yield_now().await;
    }
    assert_eq!(api.emulator.members()[0].name, "Ghost");
}

#[tokio::test]
async fn hang_delays_before_handling_so_a_timed_out_request_changes_nothing() {
    let api = TestApi::start().await;
    let effect = FaultEffect::Hang { hang_ms: 30_000 };
    api.emulator.set_faults(Faults {
        rules: vec![rule("POST", "/v2/members", Some(vec![1]), effect)],
        ..Faults::default()
    });
    let url = format!("{}/members", api.emulator.base_url());

    let timed_out = api
        .http
        .post(&url)
        .bearer_auth(api.emulator.api_key())
        .timeout(Duration::from_millis(300))
        .json(&json!({"name": "Late"}))
        .send()
        .await;
    let (second, _) = api.post("/members", json!({"name": "On time"})).await;

    assert!(timed_out.unwrap_err().is_timeout());
    assert_eq!(second, StatusCode::OK);
    let names: Vec<String> = api.emulator.members().into_iter().map(|m| m.name).collect();
    assert_eq!(names, vec!["On time".to_owned()]);
}

#[tokio::test]
async fn error_rate_one_answers_500_before_touching_state() {
    let api = TestApi::start_with(EmulatorConfig {
        error_rate: 1.0,
        ..EmulatorConfig::default()
    })
    .await;

    let (status, body) = api.post("/members", json!({"name": "A"})).await;

    assert_eq!(
        (status, body["type"].clone()),
        (StatusCode::INTERNAL_SERVER_ERROR, json!("internal_error"))
    );
    assert!(api.emulator.members().is_empty());
}

#[tokio::test]
async fn rate_limit_answers_429_once_the_bucket_is_empty() {
    let limit = RateLimit {
        per_second: 2,
        retry_after_secs: 7,
    };
    let config = EmulatorConfig {
        rate_limit: Some(limit),
        ..EmulatorConfig::default()
    };
    let api = TestApi::start_with(config).await;
    let url = format!("{}/organization", api.emulator.base_url());

    let mut last = None;
    for _ in 0..5 {
        last = Some(
            api.http
                .get(&url)
                .bearer_auth(api.emulator.api_key())
                .send()
                .await
                .unwrap(),
        );
    }

    let last = last.unwrap();
    assert_eq!(last.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(last.headers()["retry-after"], "7");
}

#[tokio::test]
async fn faults_can_be_read_and_replaced_over_http() {
    let api = TestApi::start().await;
    let control = format!("http://{}/_emulator/faults", api.emulator.addr());
    let faults = json!({
        "latency_ms": 0, "error_rate": 0.0, "rate_limit": null,
        "rules": [{"method": "GET", "path": "/v2/organization", "nth": [1],
                   "effect": {"status": 500}}]
    });

    let set = api.http.post(&control).json(&faults).send().await.unwrap();
    let read: Value = api
        .http
        .get(&control)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (first, _) = api.get("/organization").await;
    let (second, _) = api.get("/organization").await;
    let bad = api
        .http
        .post(&control)
        .json(&json!({"error_rate": 2.0}))
        .send()
        .await
        .unwrap();

    assert_eq!(set.status(), StatusCode::OK);
    assert_eq!(read["rules"][0]["nth"], json!([1]));
    assert_eq!(
        (first, second),
        (StatusCode::INTERNAL_SERVER_ERROR, StatusCode::OK)
    );
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn calls_are_counted_per_route_template_and_reset_on_demand() {
    let api = TestApi::start().await;
    let id = api.create_member("Ana", json!({})).await;
    let group = api.emulator.member_group_id("Sales").unwrap();
    for _ in 0..2 {
        let body = json!({"member_group_id": group});
        api.post(&format!("/members/{id}/group_associations"), body)
            .await;
    }
    let (_, pin) = api.post(&format!("/members/{id}/pins"), json!({})).await;
    let pin_id = pin["id"].as_str().unwrap();
    api.post(&format!("/members/{id}/pins/{pin_id}/reveal"), json!({}))
        .await;
    api.get(&format!("/members/{id}")).await;

    let calls: Value = api
        .http
        .get(format!("http://{}/_emulator/calls", api.emulator.addr()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    assert_eq!(calls["POST /v2/members"], 1);
    assert_eq!(calls["POST /v2/members/{member_id}/group_associations"], 2);
    assert_eq!(
        calls["POST /v2/members/{member_id}/pins/{member_pin_id}/reveal"],
        1
    );
    assert_eq!(calls["GET /v2/members/{member_id}"], 1);
    assert_eq!(api.emulator.write_calls(), 4);

    let reset = api
        .http
        .post(format!("http://{}/_emulator/reset", api.emulator.addr()));
    assert_eq!(reset.send().await.unwrap().status(), StatusCode::OK);
    assert!(api.emulator.calls().is_empty());
    assert_eq!(api.emulator.members().len(), 1, "reset keeps the data");
}
