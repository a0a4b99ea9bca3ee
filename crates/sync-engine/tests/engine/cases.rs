//! The field cases B02, B06, B08, B09, B11 and B23 (see `shared/cases/README.md`), each
//! tested as given and as a kind of fault.

use std::time::Instant;

use akiles_emulator::{FaultEffect, FaultRule};
use hr_domain::Employee;
use sync_engine::apply::MAX_ATTEMPTS;
use sync_engine::run::BrokenMapping;
use sync_engine::source::{self, Format, SourceSpec};
use sync_engine::{Outcome, RunReport, Warning};
use sync_store::{Store, SyncState};

use crate::harness::{
    EmployeeExt, TENANT, TestEngine, association_groups, employee, id, live_emails, mapping,
};

const CREATE_MEMBER: &str = "POST /v2/members";
const CREATE_EMAIL: &str = "POST /v2/members/{member_id}/emails";
const CREATE_ASSOCIATION: &str = "POST /v2/members/{member_id}/group_associations";

/// A rule answering `status` to the calls named like the emulator's counters
/// (`"POST /v2/members"`).
fn status(call: &str, nth: Option<Vec<u64>>, status: u16) -> FaultRule {
    let (method, path) = call.split_once(' ').unwrap();
    FaultRule {
        method: method.to_owned(),
        path: path.to_owned(),
        nth,
        body_contains: None,
        effect: FaultEffect::Status {
            status,
            retry_after: None,
            kind: None,
        },
    }
}

fn report_of<'r>(report: &'r RunReport, employee_id: &str) -> &'r sync_engine::EmployeeReport {
    let found = report
        .employees
        .iter()
        .find(|e| e.employee_id.as_str() == employee_id);
    found.unwrap_or_else(|| panic!("{employee_id} is not in the report"))
}

// B02: partial failure halfway through creating a member.

async fn b02_engine() -> (TestEngine, Employee) {
    let mut engine = TestEngine::spawn().await;
    engine.create_group("Lab-B").await;
    engine.mapping = mapping(&[("Lab-B", "Lab-B")]);
    engine.credentials.email = true;
    let jonas = employee("E-1002", "Jonas Peltier", &["Lab-B"]).email("jonas.peltier@example.org");
    (engine, jonas)
}

#[tokio::test]
async fn b02_a_failing_email_leaves_the_employee_incomplete_and_the_next_run_adds_only_it() {
    let (engine, jonas) = b02_engine().await;
    let every_attempt = (1..=MAX_ATTEMPTS as u64).collect();
    engine.set_faults(vec![status(CREATE_EMAIL, Some(every_attempt), 500)]);

    let first = engine.sync([jonas.clone()]).await;

    let outcome = report_of(&first, "E-1002");
    assert_eq!(outcome.outcome, Outcome::Incomplete);
    assert!(
        outcome.errors.iter().any(|e| e.contains("create e-mail")),
        "{:?}",
        outcome.errors
    );
    let link = engine
        .store
        .link(TENANT, &id("E-1002"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(link.state, SyncState::Incomplete);
    assert!(link.last_error.is_some());
    assert_eq!(engine.calls(CREATE_EMAIL), MAX_ATTEMPTS as u64);

    engine.set_faults(Vec::new());
    engine.emulator.reset_calls();
    let second = engine.sync(&[jonas]).await;

    assert_eq!(engine.calls(CREATE_MEMBER), 0);
    assert_eq!(engine.calls(CREATE_ASSOCIATION), 0);
    assert_eq!(engine.calls(CREATE_EMAIL), 1);
    assert_eq!(
        engine.emulator.write_calls(),
        1,
        "{:?}",
        engine.emulator.calls()
    );
    assert_eq!(report_of(&second, "E-1002").outcome, Outcome::Applied);
    assert_eq!(engine.live_members().len(), 1);
    let member = engine.member_of("E-1002");
    assert_eq!(association_groups(&member).len(), 1);
    assert_eq!(live_emails(&member), ["jonas.peltier@example.org"]);
    let link = engine
        .store
        .link(TENANT, &id("E-1002"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(link.state, SyncState::InSync);
    assert_eq!(link.last_error, None);
}

#[tokio::test]
async fn b02_a_single_failing_email_is_repaired_within_the_same_run_by_looking_again() {
    let (engine, jonas) = b02_engine().await;
    engine.set_faults(vec![status(CREATE_EMAIL, Some(vec![1]), 500)]);

    let report = engine.sync(&[jonas]).await;

    assert_eq!(report_of(&report, "E-1002").outcome, Outcome::Applied);
    let link = engine
        .store
        .link(TENANT, &id("E-1002"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(link.state, SyncState::InSync);
    assert_eq!(engine.calls(CREATE_MEMBER), 1);
    assert_eq!(
        engine.calls(CREATE_EMAIL),
        2,
        "the fault fired, then a second try"
    );
    let member = engine.member_of("E-1002");
    assert_eq!(live_emails(&member), ["jonas.peltier@example.org"]);
    assert_eq!(association_groups(&member).len(), 1);
}

// B06: whitespace around imported values must not fork an employee.

fn hr_export_spec() -> SourceSpec {
    toml::from_str(
        r#"
        format = "csv"
        [columns]
        id = "employee_id"
        name = "full_name"
        email = "email"
        groups = ["groups"]
        "#,
    )
    .unwrap()
}

async fn b06_engine() -> TestEngine {
    let mut engine = TestEngine::spawn().await;
    engine.create_group("HQ-Staff").await;
    engine.mapping = mapping(&[("HQ-Staff", "HQ-Staff")]);
    engine.credentials.email = true;
    let tomas =
        employee("E-1007", "Tomás Herrera", &["HQ-Staff"]).email("tomas.herrera@example.com");
    engine.sync(&[tomas]).await;
    engine.emulator.reset_calls();
    engine
}

#[tokio::test]
async fn b06_padded_csv_values_match_the_existing_member_and_change_nothing() {
    let rows = [
        r#"" E-1007","Tomás Herrera "," tomas.herrera@example.com ",HQ-Staff"#.to_owned(),
        "\"E-1007\u{a0}\",\"\u{a0}Tomás  Herrera\",\"\u{a0}tomas.herrera@example.com\u{a0}\",\" HQ-Staff\""
            .to_owned(),
    ];
    for row in rows {
        let engine = b06_engine().await;
        let csv = format!("employee_id,full_name,email,groups\n{row}\n");

        let employees = source::read_bytes(csv.as_bytes(), Format::Csv, &hr_export_spec()).unwrap();
        let report = engine.sync(&employees).await;

        assert_eq!(engine.calls(CREATE_MEMBER), 0, "row {row:?}");
        assert_eq!(engine.calls(CREATE_EMAIL), 0, "row {row:?}");
        assert_eq!(engine.emulator.write_calls(), 0, "row {row:?}");
        assert!(report.planned().is_empty(), "row {row:?}");
        let member = engine.member_of("E-1007");
        assert_eq!(member.name, "Tomás Herrera");
        assert_eq!(live_emails(&member), ["tomas.herrera@example.com"]);
        let stored = engine
            .store
            .employee(TENANT, &id("E-1007"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.employee.name.as_str(), "Tomás Herrera");
    }
}

#[tokio::test]
async fn b06_an_email_differing_only_in_case_is_the_same_credential() {
    let engine = b06_engine().await;
    let tomas =
        employee("E-1007", "Tomás Herrera", &["HQ-Staff"]).email("Tomas.Herrera@Example.COM");

    engine.sync(&[tomas]).await;

    assert_eq!(
        engine.emulator.write_calls(),
        0,
        "{:?}",
        engine.emulator.calls()
    );
    assert_eq!(
        live_emails(&engine.member_of("E-1007")),
        ["tomas.herrera@example.com"]
    );
}

// B08: long and non-ASCII names.

#[tokio::test]
async fn b08_names_are_cut_on_a_character_boundary_kept_whole_in_the_store_and_stable() {
    let mut engine = TestEngine::spawn().await;
    engine.name_max_bytes = 64;
    let long = format!("{}é", "a".repeat(63));
    let names = [long.as_str(), "Zoë Þórhallsdóttir 👩🏽‍💻", "王小明"];
    let staff: Vec<Employee> = names
        .iter()
        .enumerate()
        .map(|(i, name)| employee(&format!("E-10{i}"), name, &["Production"]))
        .collect();

    let report = engine.sync(&staff).await;

    assert_eq!(engine.member_of("E-100").name, "a".repeat(63));
    assert_eq!(
        engine.member_of("E-101").name.as_bytes(),
        names[1].as_bytes()
    );
    assert_eq!(
        engine.member_of("E-102").name.as_bytes(),
        names[2].as_bytes()
    );
    for (e, name) in staff.iter().zip(names) {
        let stored = engine.store.employee(TENANT, &e.id).await.unwrap().unwrap();
        assert_eq!(stored.employee.name.as_str(), name);
    }
    let truncated = Warning::NameTruncated { max_bytes: 64 };
    assert!(report_of(&report, "E-100").warnings.contains(&truncated));
    assert!(!report_of(&report, "E-101").warnings.contains(&truncated));
    assert_eq!(report.failures().count(), 0);

    engine.emulator.reset_calls();
    engine.sync(&staff).await;
    assert_eq!(
        engine.emulator.write_calls(),
        0,
        "{:?}",
        engine.emulator.calls()
    );
}

// B09: metadata over Akiles' 1024-byte limit.

fn metadata_bytes(member: &akiles_types::Member) -> usize {
    serde_json::to_string(&member.metadata).unwrap().len()
}

#[tokio::test]
async fn b09_oversized_attributes_are_trimmed_keeping_ownership_and_stay_stable() {
    let engine = TestEngine::spawn().await;
    let e1009 = employee("E-1009", "Mia Kowalski", &["Production"])
        .attribute("department", &"D".repeat(300))
        .attribute("job_title", &"J".repeat(600))
        .attribute("cost_center", "CC-4410")
        .attribute("manager_email", "lena.boss@example.com");

    let report = engine.sync([e1009.clone()]).await;

    let member = engine.member_of("E-1009");
    assert!(metadata_bytes(&member) <= 1024);
    assert_eq!(member.metadata["employee_id"], "E-1009");
    assert_eq!(member.metadata["managed_by"], "akiles-hr-sync");
    assert!(!member.metadata.contains_key("manager_email"));
    let warnings = &report_of(&report, "E-1009").warnings;
    let trimmed = warnings.iter().find_map(|w| match w {
        Warning::MetadataTrimmed { dropped, shortened } => Some((dropped, shortened)),
        _ => None,
    });
    let (dropped, _) = trimmed.expect("a metadata warning");
    assert!(dropped.contains(&"manager_email".to_owned()), "{dropped:?}");

    engine.emulator.reset_calls();
    engine.sync(&[e1009]).await;
    assert_eq!(
        engine.emulator.write_calls(),
        0,
        "{:?}",
        engine.emulator.calls()
    );
}

#[tokio::test]
async fn b09_an_attribute_gone_from_hr_is_removed_so_a_new_one_fits() {
    let engine = TestEngine::spawn().await;
    let before = employee("E-1009", "Mia Kowalski", &["Production"])
        .attribute("department", &"D".repeat(300))
        .attribute("job_title", &"J".repeat(600));
    engine.sync(&[before]).await;
    let after = employee("E-1009", "Mia Kowalski", &["Production"])
        .attribute("job_title", &"J".repeat(600))
        .attribute("office", &"O".repeat(300));

    let report = engine.sync([after.clone()]).await;

    assert_eq!(
        report.failures().count(),
        0,
        "{:?}",
        report_of(&report, "E-1009").errors
    );
    let member = engine.member_of("E-1009");
    assert!(!member.metadata.contains_key("department"));
    assert_eq!(member.metadata["office"].len(), 300);
    assert!(metadata_bytes(&member) <= 1024);
    engine.emulator.reset_calls();
    engine.sync(&[after]).await;
    assert_eq!(engine.emulator.write_calls(), 0);
}

// B11: rate limiting and a lost reply in a bulk run.

#[tokio::test]
async fn b11_thirty_hires_survive_two_429s_and_a_lost_create_reply_without_duplicates() {
    let engine = TestEngine::spawn().await;
    let staff: Vec<Employee> = (1100..1130)
        .map(|n| {
            employee(
                &format!("E-{n}"),
                &format!("Hire Number{n}"),
                &["Production"],
            )
        })
        .collect();
    let too_many = FaultRule {
        effect: FaultEffect::Status {
            status: 429,
            retry_after: Some("1".to_owned()),
            kind: None,
        },
        ..status(CREATE_MEMBER, Some(vec![5, 6]), 429)
    };
    let lost_reply = FaultRule {
        body_contains: Some("E-1120".to_owned()),
        effect: FaultEffect::ApplyThenHang {
            apply_then_hang_ms: 4_000,
        },
        ..status(CREATE_MEMBER, None, 500)
    };
    engine.set_faults(vec![too_many, lost_reply]);
    let started = Instant::now();

    let report = engine.sync(&staff).await;

    assert!(
        started.elapsed().as_millis() >= 1_000,
        "a Retry-After of 1 s was honoured"
    );
    assert_eq!(report.failures().count(), 0, "{:?}", report.outcomes());
    assert_eq!(engine.live_members().len(), 30);
    for e in &staff {
        engine.member_of(e.id.as_str());
    }
    let stats = engine.client.stats();
    assert_eq!(stats.rate_limited, 2);
    assert!(stats.retries >= 2, "{stats:?}");
    assert_eq!(
        engine.calls(CREATE_MEMBER),
        32,
        "30 creates and the two 429s"
    );
}

// B23: a mapped member group deleted in Akiles.

struct LabB {
    engine: TestEngine,
    lab_b: String,
    hq: String,
}

async fn lab_b_engine() -> LabB {
    let mut engine = TestEngine::spawn().await;
    let lab_b = engine.create_group("Lab-B").await;
    let hq = engine.create_group("HQ-Staff").await;
    engine.mapping = mapping(&[("Lab-B", &lab_b), ("HQ-Staff", "HQ-Staff")]);
    engine.emulator.reset_calls();
    LabB { engine, lab_b, hq }
}

fn lab_staff() -> [Employee; 3] {
    [
        employee("E-1024", "Ines Duarte", &["Lab-B", "HQ-Staff"]),
        employee("E-1025", "Kofi Mensah", &["HQ-Staff"]),
        employee("E-1026", "Lea Brandt", &["Lab-B"]),
    ]
}

#[tokio::test]
async fn b23_a_deleted_group_breaks_its_mapping_only_and_nobody_loses_their_member() {
    let LabB { engine, lab_b, hq } = lab_b_engine().await;
    let [e1024, e1025, e1026] = lab_staff();
    engine.sync([e1026.clone()]).await;
    let lea = engine.member_of("E-1026");
    engine.client.delete_member_group(&lab_b).await.unwrap();
    engine.emulator.reset_calls();

    let report = engine.sync(&[e1024, e1025, e1026]).await;

    let broken = BrokenMapping {
        hr_group: Some("Lab-B".to_owned()),
        reference: lab_b.clone(),
    };
    assert_eq!(report.broken_mappings, [broken]);
    assert_eq!(report_of(&report, "E-1025").outcome, Outcome::Applied);
    assert_eq!(
        association_groups(&engine.member_of("E-1025")),
        [hq.clone()].into()
    );
    assert_eq!(association_groups(&engine.member_of("E-1024")), [hq].into());
    for id in ["E-1024", "E-1026"] {
        let employee = report_of(&report, id);
        assert_eq!(employee.outcome, Outcome::Incomplete, "{id}");
        assert!(
            employee.errors.iter().any(|e| e.contains(&lab_b)),
            "{id}: {:?}",
            employee.errors
        );
    }
    assert_eq!(engine.member_of("E-1026").id, lea.id);
    assert_eq!(engine.calls("POST /v2/member_groups"), 0);
    assert_eq!(engine.calls("DELETE /v2/members/{member_id}"), 0);
    assert_eq!(engine.calls(CREATE_ASSOCIATION), 2);
    assert!(report.has_problems());
}

#[tokio::test]
async fn b23_a_group_deleted_during_the_run_fails_only_its_associations() {
    let LabB { engine, lab_b, hq } = lab_b_engine().await;
    let gone = FaultRule {
        body_contains: Some(lab_b.clone()),
        ..status(CREATE_ASSOCIATION, None, 404)
    };
    engine.set_faults(vec![gone]);

    let report = engine.sync(&lab_staff()).await;

    assert_eq!(report_of(&report, "E-1025").outcome, Outcome::Applied);
    for id in ["E-1024", "E-1026"] {
        let employee = report_of(&report, id);
        assert_eq!(employee.outcome, Outcome::Incomplete, "{id}");
        assert_eq!(employee.errors.len(), 1, "{id}: {:?}", employee.errors);
        assert!(employee.errors[0].contains(&lab_b), "{:?}", employee.errors);
    }
    assert_eq!(
        association_groups(&engine.member_of("E-1024")),
        [hq.clone()].into()
    );
    assert_eq!(association_groups(&engine.member_of("E-1025")), [hq].into());
    assert!(association_groups(&engine.member_of("E-1026")).is_empty());
    assert_eq!(engine.calls("POST /v2/member_groups"), 0);
}

#[tokio::test]
async fn b23_a_group_mapped_by_name_and_deleted_keeps_its_associations_untouched() {
    let mut engine = TestEngine::spawn().await;
    let lab_b = engine.create_group("Lab-B").await;
    engine.mapping = mapping(&[("Lab-B", "Lab-B")]);
    let lea = employee("E-1026", "Lea Brandt", &["Lab-B"]);
    engine.sync([lea.clone()]).await;
    engine.client.delete_member_group(&lab_b).await.unwrap();
    engine.emulator.reset_calls();

    let report = engine.sync([lea]).await;

    let broken = BrokenMapping {
        hr_group: Some("Lab-B".to_owned()),
        reference: "Lab-B".to_owned(),
    };
    assert_eq!(report.broken_mappings, [broken]);
    assert_eq!(
        engine.emulator.write_calls(),
        0,
        "{:?}",
        engine.emulator.calls()
    );
    assert_eq!(
        association_groups(&engine.member_of("E-1026")),
        [lab_b].into()
    );
}

#[tokio::test]
async fn a_renamed_group_breaks_its_mapping_but_revokes_nobodys_access() {
    let mut engine = TestEngine::spawn().await;
    engine.mapping = mapping(&[("Production", "Production"), ("Sales", "Sales")]);
    let staff = [
        employee("E-1", "Ana Pérez", &["Production"]),
        employee("E-2", "Bo Lind", &["Sales"]),
    ];
    engine.sync(&staff).await;
    let sales = engine.group_id("Sales");
    let rename = akiles_client::MemberGroupPatch {
        name: Some("Sales Team".to_owned()),
        ..akiles_client::MemberGroupPatch::default()
    };
    engine
        .client
        .update_member_group(&sales, &rename)
        .await
        .unwrap();
    engine.emulator.reset_calls();

    let report = engine.sync(&staff).await;

    assert_eq!(report.broken_mappings.len(), 1);
    assert_eq!(
        engine.emulator.write_calls(),
        0,
        "{:?}",
        engine.emulator.calls()
    );
    assert_eq!(association_groups(&engine.member_of("E-2")), [sales].into());
    assert!(report.has_problems());
}

#[tokio::test]
async fn a_group_name_differing_only_in_case_resolves_to_the_group() {
    let mut engine = TestEngine::spawn().await;
    engine.mapping = mapping(&[("Production", "production  ")]);

    let report = engine
        .sync([employee("E-1", "Ana Pérez", &["Production"])])
        .await;

    assert!(report.broken_mappings.is_empty());
    let production = engine.group_id("Production");
    assert_eq!(
        association_groups(&engine.member_of("E-1")),
        [production].into()
    );
}
