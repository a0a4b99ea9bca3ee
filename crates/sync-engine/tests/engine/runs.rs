//! Whole runs: a dry run changes nothing, and a snapshot that looks broken is refused.

use sync_store::Store;

use crate::harness::{EmployeeExt, TENANT, TestEngine, employee, live_emails};

#[tokio::test]
async fn a_dry_run_changes_nothing_and_plans_exactly_what_the_real_run_applies() {
    let mut engine = TestEngine::spawn().await;
    engine.credentials.pin = true;
    engine.credentials.email = true;
    let staff = [
        employee("E-1", "Ana Pérez", &["Production"]).email("ana@example.com"),
        employee("E-2", "Bo Lind", &["Sales", "IT/IS"]),
        employee("E-3", "王小明", &["IT/IS"]).terminated(),
    ];

    let dry = engine.dry_run(&staff).await;

    assert_eq!(
        engine.emulator.write_calls(),
        0,
        "{:?}",
        engine.emulator.calls()
    );
    assert!(engine.store.employees(TENANT).await.unwrap().is_empty());
    assert!(engine.store.links(TENANT).await.unwrap().is_empty());
    assert!(engine.store.runs(TENANT, 10).await.unwrap().is_empty());
    assert!(dry.dry_run && dry.run.is_none());
    assert!(!dry.planned().is_empty());

    let real = engine.sync(&staff).await;

    assert_eq!(real.applied(), dry.planned());
    assert_eq!(real.failures().count(), 0);
}

#[tokio::test]
async fn a_dry_run_of_changes_plans_what_the_real_run_then_applies() {
    let engine = TestEngine::spawn().await;
    let ana = employee("E-1", "Ana Pérez", &["Production"]);
    let bo = employee("E-2", "Bo Lind", &["Sales"]);
    engine.sync(&[ana.clone(), bo.clone()]).await;
    let runs_before = engine.store.runs(TENANT, 10).await.unwrap().len();
    let changed = [
        ana.in_groups(&["Sales"]).named("Ana Soler"),
        employee("E-3", "Cy", &[]),
    ];
    engine.emulator.reset_calls();

    let dry = engine.dry_run(&changed).await;

    assert_eq!(engine.emulator.write_calls(), 0);
    assert_eq!(
        engine.store.runs(TENANT, 10).await.unwrap().len(),
        runs_before
    );
    let real = engine.sync(&changed).await;
    assert_eq!(real.applied(), dry.planned());
    assert!(
        engine.owned_members_of("E-2").is_empty(),
        "E-2 left the snapshot"
    );
}

#[tokio::test]
async fn an_empty_snapshot_deletes_nobody_and_is_refused() {
    let engine = TestEngine::spawn().await;
    let staff = [
        employee("E-1", "Ana Pérez", &["Production"]),
        employee("E-2", "Bo Lind", &["Sales"]),
    ];
    engine.sync(&staff).await;
    engine.emulator.reset_calls();

    let report = engine.sync(Vec::new()).await;

    assert!(report.refused.is_some());
    assert!(report.has_problems());
    assert_eq!(engine.emulator.write_calls(), 0);
    assert_eq!(engine.live_members().len(), 2);
    let stored = engine.store.employees(TENANT).await.unwrap();
    assert!(
        stored.iter().all(|e| e.present),
        "the store still lists everyone"
    );
}

#[tokio::test]
async fn an_email_and_a_card_passed_from_a_leaver_to_a_hire_move_in_one_run() {
    let mut engine = TestEngine::spawn().await;
    engine.credentials.email = true;
    engine.credentials.card = true;
    let leaver = employee("E-1", "Ana Pérez", &["Production"])
        .email("desk@example.com")
        .card("04a1b2c3");
    engine.sync([leaver.clone()]).await;
    let slow_delete = akiles_emulator::FaultRule {
        method: "DELETE".to_owned(),
        path: "/v2/members/{member_id}".to_owned(),
        nth: None,
        body_contains: None,
        effect: akiles_emulator::FaultEffect::Hang { hang_ms: 300 },
    };
    engine.set_faults(vec![slow_delete]);
    let hire = employee("E-9", "Bo Lind", &["Production"])
        .email("desk@example.com")
        .card("04a1b2c3");

    let report = engine.sync([hire, leaver.terminated()]).await;

    let failed: Vec<_> = report.failures().map(|f| &f.errors).collect();
    assert!(failed.is_empty(), "{failed:?}");
    assert!(engine.owned_members_of("E-1").is_empty());
    let member = engine.member_of("E-9");
    assert_eq!(live_emails(&member), ["desk@example.com"]);
}

#[tokio::test]
async fn a_snapshot_listing_an_employee_twice_is_refused_before_any_member_is_made() {
    let engine = TestEngine::spawn().await;
    let ana = employee("E-1", "Ana Pérez", &["Production"]);

    let report = engine.sync([ana.clone(), ana.named("Ana Soler")]).await;

    assert!(report.refused.is_some());
    assert!(engine.live_members().is_empty(), "{:?}", report.outcomes());
    assert_eq!(engine.emulator.write_calls(), 0);
}

#[tokio::test]
async fn two_tenants_on_one_organization_never_touch_each_others_members() {
    let engine = TestEngine::spawn().await;
    engine
        .sync([employee("E-1", "Ana Pérez", &["Production"])])
        .await;
    let alpha_member = engine.member_of("E-1").id;
    engine.store.ensure_tenant("beta").await.unwrap();
    engine.emulator.reset_calls();

    let beta = engine
        .sync_as("beta", [employee("B-7", "Bo Lind", &["Sales"])])
        .await;

    assert_eq!(
        beta.planned().values().sum::<usize>(),
        2,
        "{:?}",
        beta.planned()
    );
    assert_eq!(engine.calls("DELETE /v2/members/{member_id}"), 0);
    assert_eq!(engine.member_of("E-1").id, alpha_member);
    let again = engine
        .sync([employee("E-1", "Ana Pérez", &["Production"])])
        .await;
    assert!(again.planned().is_empty(), "{:?}", again.planned());
}
