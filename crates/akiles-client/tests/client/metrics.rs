//! Each attempt is counted by route template and status in the `metrics` facade.

use akiles_client::MemberQuery;
use akiles_emulator::{FaultEffect, FaultRule, Faults};
use metrics_exporter_prometheus::PrometheusBuilder;

use crate::support::{new_member, spawn};

#[test]
fn attempts_are_counted_by_route_template_and_status() {
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();

    metrics::with_local_recorder(&recorder, || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let app = spawn().await;
            let created = app
                .client
                .create_member(&new_member("Counted", "metrics"))
                .await
                .unwrap();
            app.emulator.set_faults(Faults {
                rules: vec![FaultRule {
                    method: "GET".into(),
                    path: "/v2/members/{member_id}".into(),
                    nth: Some(vec![1]),
                    body_contains: None,
                    effect: FaultEffect::Status {
                        status: 500,
                        retry_after: None,
                        kind: None,
                    },
                }],
                ..Faults::default()
            });
            app.client.member(&created.id, &[]).await.unwrap();
            let _ = app.client.list_members_all(&MemberQuery::default()).await;
            app.shutdown().await;
        });
    });

    let text = handle.render();
    let line = |route: &str, method: &str, status: &str| {
        text.lines().any(|l| {
            l.starts_with("akiles_requests_total{")
                && l.contains(&format!("route=\"{route}\""))
                && l.contains(&format!("method=\"{method}\""))
                && l.contains(&format!("status=\"{status}\""))
        })
    };
    assert!(line("/members", "POST", "200"), "{text}");
    assert!(line("/members/{member_id}", "GET", "500"), "{text}");
    assert!(line("/members/{member_id}", "GET", "200"), "{text}");
    assert!(
        !text.contains("mem_"),
        "a real id leaked into a label: {text}"
    );
    assert!(text.contains("akiles_request_duration_seconds"), "{text}");
}
