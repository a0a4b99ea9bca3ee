//! Dated access: HR start and end dates read in the tenant's time zone become the member's
//! `starts_at` / `ends_at` in UTC; pre-hires, leavers with a future or past last day, and
//! rehires (field case B24).

use hr_domain::{Employee, TimeZone};
use sync_engine::{Outcome, RunReport};
use sync_store::Store;
use time::macros::{date, datetime};
use time::{Date, OffsetDateTime};

use crate::harness::{
    EmployeeExt, NOW, TENANT, TestEngine, association_groups, employee, id, live, live_emails,
    mapping,
};

const CREATE_MEMBER: &str = "POST /v2/members";
const UPDATE_MEMBER: &str = "PATCH /v2/members/{member_id}";
const DELETE_MEMBER: &str = "DELETE /v2/members/{member_id}";
const CREATE_EMAIL: &str = "POST /v2/members/{member_id}/emails";

/// Start and end dates on an employee.
trait Dated: Sized {
    fn starting(self, day: Date) -> Self;
    fn ending(self, day: Date) -> Self;
}

impl Dated for Employee {
    fn starting(mut self, day: Date) -> Self {
        self.start_date = Some(day);
        self
    }

    fn ending(mut self, day: Date) -> Self {
        self.end_date = Some(day);
        self
    }
}

fn zone(name: &str) -> TimeZone {
    TimeZone::parse(name).unwrap()
}

/// An engine reading HR dates in `zone_name`, its clock at `now`.
async fn engine_in(zone_name: &str, now: OffsetDateTime) -> TestEngine {
    let mut engine = TestEngine::spawn().await;
    engine.time_zone = zone(zone_name);
    engine.clock.set(now);
    engine
}

fn window(
    engine: &TestEngine,
    employee_id: &str,
) -> (Option<OffsetDateTime>, Option<OffsetDateTime>) {
    let member = engine.member_of(employee_id);
    (member.starts_at, member.ends_at)
}

fn outcome(report: &RunReport, employee_id: &str) -> Outcome {
    let found = report
        .employees
        .iter()
        .find(|e| e.employee_id.as_str() == employee_id);
    found
        .unwrap_or_else(|| panic!("{employee_id} is not in the report"))
        .outcome
}

async fn linked_member(engine: &TestEngine, employee_id: &str) -> Option<String> {
    let link = engine.store.link(TENANT, &id(employee_id)).await.unwrap();
    link.and_then(|l| l.member_id)
}

async fn assert_second_run_writes_nothing(engine: &TestEngine, staff: impl AsRef<[Employee]>) {
    engine.emulator.reset_calls();
    let report = engine.sync(staff).await;
    assert_eq!(
        engine.emulator.write_calls(),
        0,
        "{:?}",
        engine.emulator.calls()
    );
    assert!(report.planned().is_empty(), "{:?}", report.planned());
}

// Daylight saving and zones far from UTC.

#[tokio::test]
async fn madrid_dates_on_both_daylight_saving_days_become_exact_utc_instants() {
    let engine = engine_in("Europe/Madrid", NOW).await;
    // 2026-03-29: 02:00 becomes 03:00 (+01:00 → +02:00); 2026-10-25: 03:00 becomes 02:00.
    let spring = employee("E-1", "Ana Pérez", &["Production"])
        .starting(date!(2026 - 03 - 29))
        .ending(date!(2026 - 10 - 25));
    let autumn = employee("E-2", "Bo Lind", &["Sales"])
        .starting(date!(2026 - 10 - 25))
        .ending(date!(2027 - 03 - 28));
    let staff = [spring, autumn];

    engine.sync(&staff).await;

    assert_eq!(
        window(&engine, "E-1"),
        (
            Some(datetime!(2026-03-28 23:00 UTC)),
            Some(datetime!(2026-10-25 23:00 UTC))
        ),
        "opens at local midnight (+01:00), closes at the midnight after the fall-back day"
    );
    assert_eq!(
        window(&engine, "E-2"),
        (
            Some(datetime!(2026-10-24 22:00 UTC)),
            Some(datetime!(2027-03-28 22:00 UTC))
        ),
        "opens at local midnight (+02:00), closes at the midnight after spring-forward"
    );
    assert_second_run_writes_nothing(&engine, &staff).await;
}

#[tokio::test]
async fn a_last_day_ending_on_the_spring_forward_night_closes_an_hour_earlier_in_utc() {
    let engine = engine_in("Europe/Madrid", NOW).await;
    let ana = employee("E-1", "Ana Pérez", &["Production"]).ending(date!(2026 - 03 - 28));
    let bo = employee("E-2", "Bo Lind", &["Production"]).ending(date!(2026 - 03 - 29));

    engine.sync([ana.clone(), bo.clone()]).await;

    // The day after 03-28 starts at +01:00; the day after 03-29 starts at +02:00.
    assert_eq!(
        window(&engine, "E-1").1,
        Some(datetime!(2026-03-28 23:00 UTC))
    );
    assert_eq!(
        window(&engine, "E-2").1,
        Some(datetime!(2026-03-29 22:00 UTC))
    );

    engine.clock.set(datetime!(2026-03-29 21:59:59 UTC));
    engine.emulator.reset_calls();
    engine.sync([ana.clone(), bo.clone()]).await;
    assert_eq!(
        engine.calls(DELETE_MEMBER),
        1,
        "only E-1's last day is over"
    );
    assert!(engine.owned_members_of("E-1").is_empty());
    engine.member_of("E-2");

    engine.clock.set(datetime!(2026-03-29 22:00 UTC));
    engine.sync([ana, bo]).await;
    assert!(engine.owned_members_of("E-2").is_empty());
}

#[tokio::test]
async fn in_kiritimati_a_last_day_ends_while_the_utc_date_is_still_that_day() {
    // Kiritimati is UTC+14: 2026-03-02 08:00 UTC is 22:00 on 03-02 locally.
    let engine = engine_in("Pacific/Kiritimati", datetime!(2026-03-02 08:00 UTC)).await;
    let ana = employee("E-1", "Ana Pérez", &["Production"])
        .starting(date!(2026 - 03 - 02))
        .ending(date!(2026 - 03 - 02));

    engine.sync([ana.clone()]).await;

    assert_eq!(
        window(&engine, "E-1"),
        (
            Some(datetime!(2026-03-01 10:00 UTC)),
            Some(datetime!(2026-03-02 10:00 UTC))
        )
    );

    engine.clock.set(datetime!(2026-03-02 09:59:59 UTC));
    assert_second_run_writes_nothing(&engine, [ana.clone()]).await;

    // 10:00 UTC on 03-02 is midnight of 03-03 in Kiritimati: the last day is over.
    engine.clock.set(datetime!(2026-03-02 10:00 UTC));
    engine.emulator.reset_calls();
    let report = engine.sync([ana]).await;

    assert_eq!(outcome(&report, "E-1"), Outcome::Applied);
    assert_eq!(engine.calls(DELETE_MEMBER), 1);
    assert_eq!(engine.emulator.write_calls(), 1);
    assert!(engine.owned_members_of("E-1").is_empty());
}

#[tokio::test]
async fn in_pago_pago_a_last_day_goes_on_after_the_utc_date_has_passed() {
    // Pago Pago is UTC−11: 2026-03-03 05:00 UTC is 18:00 on 03-02 locally.
    let engine = engine_in("Pacific/Pago_Pago", datetime!(2026-03-03 05:00 UTC)).await;
    let ana = employee("E-1", "Ana Pérez", &["Production"]).ending(date!(2026 - 03 - 02));

    let report = engine.sync([ana.clone()]).await;

    assert_eq!(outcome(&report, "E-1"), Outcome::Applied);
    assert_eq!(
        window(&engine, "E-1"),
        (None, Some(datetime!(2026-03-03 11:00 UTC)))
    );

    engine.clock.set(datetime!(2026-03-03 10:59:59 UTC));
    assert_second_run_writes_nothing(&engine, [ana.clone()]).await;

    engine.clock.set(datetime!(2026-03-03 11:00 UTC));
    engine.sync([ana]).await;
    assert!(engine.owned_members_of("E-1").is_empty());
}

// Pre-hires and leavers.

#[tokio::test]
async fn a_pre_hire_is_created_ahead_with_access_opening_on_day_one() {
    let engine = engine_in("Europe/Madrid", NOW).await;
    let ana =
        employee("E-1", "Ana Pérez", &["Production", "Sales"]).starting(date!(2026 - 04 - 01));

    let report = engine.sync([ana.clone()]).await;

    assert_eq!(outcome(&report, "E-1"), Outcome::Applied);
    assert_eq!(engine.calls(CREATE_MEMBER), 1);
    let member = engine.member_of("E-1");
    assert_eq!(member.starts_at, Some(datetime!(2026-03-31 22:00 UTC)));
    assert_eq!(member.ends_at, None);
    assert_eq!(
        association_groups(&member),
        [engine.group_id("Production"), engine.group_id("Sales")].into()
    );
    assert_second_run_writes_nothing(&engine, [ana.clone()]).await;

    engine.clock.set(datetime!(2026-04-01 09:00 UTC));
    assert_second_run_writes_nothing(&engine, [ana]).await;
}

#[tokio::test]
async fn a_future_termination_sets_ends_at_and_the_member_goes_once_it_has_passed() {
    let engine = engine_in("Europe/Madrid", NOW).await;
    let ana = employee("E-1", "Ana Pérez", &["Production"]);
    engine.sync([ana.clone()]).await;
    let member_id = engine.member_of("E-1").id;
    let leaving = ana.ending(date!(2026 - 03 - 31));
    engine.emulator.reset_calls();

    engine.sync([leaving.clone()]).await;

    assert_eq!(engine.calls(UPDATE_MEMBER), 1);
    assert_eq!(engine.emulator.write_calls(), 1);
    let member = engine.member_of("E-1");
    assert_eq!(member.id, member_id);
    assert_eq!(
        member.ends_at,
        Some(datetime!(2026-03-31 22:00 UTC)),
        "Akiles closes the door itself at local midnight, even if the sync is down"
    );

    engine.clock.set(datetime!(2026-03-31 21:59:59 UTC));
    assert_second_run_writes_nothing(&engine, [leaving.clone()]).await;

    engine.clock.set(datetime!(2026-03-31 22:00 UTC));
    engine.emulator.reset_calls();
    let report = engine.sync([leaving]).await;

    assert_eq!(outcome(&report, "E-1"), Outcome::Applied);
    assert_eq!(engine.calls(DELETE_MEMBER), 1);
    assert_eq!(engine.emulator.write_calls(), 1);
    assert!(engine.owned_members_of("E-1").is_empty());
    assert_eq!(linked_member(&engine, "E-1").await, None);
}

#[tokio::test]
async fn an_employee_whose_last_day_has_passed_gets_no_member() {
    let engine = engine_in("Europe/Madrid", NOW).await;
    let gone = employee("E-1", "Ana Pérez", &["Production"]).ending(date!(2026 - 03 - 01));
    let here = employee("E-2", "Bo Lind", &["Sales"]);

    let report = engine.sync([gone, here]).await;

    assert_eq!(outcome(&report, "E-1"), Outcome::Unchanged);
    assert!(engine.owned_members_of("E-1").is_empty());
    assert_eq!(engine.calls(CREATE_MEMBER), 1);
    engine.member_of("E-2");
}

#[tokio::test]
async fn changing_the_tenant_time_zone_patches_each_dated_member_once() {
    let mut engine = TestEngine::spawn().await;
    let staff = [
        employee("E-1", "Ana Pérez", &["Production"]).starting(date!(2026 - 04 - 01)),
        employee("E-2", "Bo Lind", &["Sales"]).ending(date!(2026 - 12 - 31)),
        employee("E-3", "Cai Wen", &["IT/IS"]),
        employee("E-4", "Dee Ortiz", &["IT/IS"])
            .starting(date!(2026 - 01 - 05))
            .ending(date!(2026 - 06 - 30)),
    ];
    engine.sync(&staff).await;
    assert_eq!(
        window(&engine, "E-4"),
        (
            Some(datetime!(2026-01-05 0:00 UTC)),
            Some(datetime!(2026-07-01 0:00 UTC))
        )
    );
    engine.emulator.reset_calls();

    engine.time_zone = zone("America/New_York");
    let report = engine.sync(&staff).await;

    assert_eq!(engine.calls(UPDATE_MEMBER), 3, "E-3 has no dates");
    assert_eq!(
        engine.emulator.write_calls(),
        3,
        "{:?}",
        engine.emulator.calls()
    );
    assert_eq!(outcome(&report, "E-3"), Outcome::Unchanged);
    assert_eq!(
        window(&engine, "E-1"),
        (Some(datetime!(2026-04-01 4:00 UTC)), None)
    );
    assert_eq!(
        window(&engine, "E-2"),
        (None, Some(datetime!(2027-01-01 5:00 UTC)))
    );
    assert_eq!(
        window(&engine, "E-4"),
        (
            Some(datetime!(2026-01-05 5:00 UTC)),
            Some(datetime!(2026-07-01 4:00 UTC))
        )
    );
    assert_second_run_writes_nothing(&engine, &staff).await;
}

// B24: a rehired employee gets a fresh member.

async fn b24_engine() -> TestEngine {
    let mut engine = engine_in("Europe/Madrid", datetime!(2026-01-15 09:00 UTC)).await;
    engine.create_group("Lab-B").await;
    engine.mapping = mapping(&[("Lab-B", "Lab-B"), ("Sales", "Sales")]);
    engine.credentials.email = true;
    engine
}

fn kwame() -> Employee {
    employee("E-1027", "Kwame Mensah", &["Lab-B"]).email("kwame.mensah@example.com")
}

fn assert_fresh_member(engine: &TestEngine, old_id: &str) -> String {
    let member = engine.member_of("E-1027");
    assert_ne!(member.id, old_id);
    assert_eq!(
        association_groups(&member),
        [engine.group_id("Lab-B"), engine.group_id("Sales")].into()
    );
    assert_eq!(live_emails(&member), ["kwame.mensah@example.com"]);
    assert_eq!(member.starts_at, Some(datetime!(2026-05-03 22:00 UTC)));
    member.id
}

#[tokio::test]
async fn b24_a_rehired_employee_with_the_same_id_gets_one_fresh_member() {
    let engine = b24_engine().await;
    let terminated = kwame().ending(date!(2026 - 01 - 31));
    engine.sync([terminated.clone()]).await;
    let old_id = engine.member_of("E-1027").id;
    engine.clock.set(datetime!(2026-02-01 09:00 UTC));
    engine.sync([terminated]).await;
    assert!(engine.owned_members_of("E-1027").is_empty());
    let old = engine
        .emulator
        .members()
        .into_iter()
        .find(|m| m.id == old_id);
    assert!(old.expect("kept as deleted").is_deleted);

    engine.clock.set(datetime!(2026-04-20 09:00 UTC));
    engine.emulator.reset_calls();
    let rehired = kwame()
        .in_groups(&["Lab-B", "Sales"])
        .starting(date!(2026 - 05 - 04));
    let report = engine.sync([rehired.clone()]).await;

    assert_eq!(outcome(&report, "E-1027"), Outcome::Applied);
    assert_eq!(engine.calls(CREATE_MEMBER), 1);
    assert_eq!(engine.calls(CREATE_EMAIL), 1);
    let new_id = assert_fresh_member(&engine, &old_id);
    assert_eq!(linked_member(&engine, "E-1027").await, Some(new_id));
    assert_second_run_writes_nothing(&engine, [rehired]).await;
}

#[tokio::test]
async fn b24_a_member_deleted_outside_the_sync_is_replaced_and_the_link_follows() {
    let engine = b24_engine().await;
    engine.sync([kwame()]).await;
    let old_id = engine.member_of("E-1027").id;
    engine.client.delete_member(&old_id).await.unwrap();
    assert_eq!(linked_member(&engine, "E-1027").await, Some(old_id.clone()));

    engine.clock.set(datetime!(2026-04-20 09:00 UTC));
    engine.emulator.reset_calls();
    let rehired = kwame()
        .in_groups(&["Lab-B", "Sales"])
        .starting(date!(2026 - 05 - 04));
    let report = engine.sync([rehired.clone()]).await;

    assert_eq!(outcome(&report, "E-1027"), Outcome::Applied);
    assert!(
        report_errors(&report).is_empty(),
        "{:?}",
        report_errors(&report)
    );
    assert_eq!(engine.calls(CREATE_MEMBER), 1);
    assert_eq!(
        engine.calls("GET /v2/members/{member_id}"),
        0,
        "the stale link is not followed"
    );
    let new_id = assert_fresh_member(&engine, &old_id);
    assert_eq!(linked_member(&engine, "E-1027").await, Some(new_id));
    assert_second_run_writes_nothing(&engine, [rehired]).await;
}

fn report_errors(report: &RunReport) -> Vec<String> {
    report
        .employees
        .iter()
        .flat_map(|e| e.errors.clone())
        .collect()
}

#[tokio::test]
async fn b24_a_rehire_under_a_new_id_whose_email_is_still_held_is_reported_not_duplicated() {
    let engine = b24_engine().await;
    let holder = akiles_types::NewMember {
        name: "Kwame Mensah".to_owned(),
        starts_at: None,
        ends_at: None,
        language: None,
        metadata: Default::default(),
    };
    let holder = engine.client.create_member(&holder).await.unwrap().id;
    let by_hand = akiles_types::NewMemberEmail {
        email: "kwame.mensah@example.com".to_owned(),
        metadata: Default::default(),
    };
    engine
        .client
        .create_member_email(&holder, &by_hand)
        .await
        .unwrap();
    engine.emulator.reset_calls();
    let rehired = employee("E-2027", "Kwame Mensah", &["Lab-B"]).email("Kwame.Mensah@example.com");

    let report = engine.sync([rehired.clone()]).await;

    let e2027 = report
        .employees
        .iter()
        .find(|e| e.employee_id.as_str() == "E-2027")
        .unwrap();
    assert_ne!(e2027.outcome, Outcome::Applied);
    assert!(report.has_problems());
    assert!(
        e2027.errors.iter().any(|e| e.contains("email_in_use")),
        "{:?}",
        e2027.errors
    );
    let holders: Vec<_> = engine
        .live_members()
        .into_iter()
        .filter(|m| {
            live(&m.emails, |e| e.is_deleted)
                .iter()
                .any(|e| e.email.eq_ignore_ascii_case("kwame.mensah@example.com"))
        })
        .map(|m| m.id)
        .collect();
    assert_eq!(holders, [holder], "no second member holds the e-mail");
    let link = engine.store.link(TENANT, &id("E-2027")).await.unwrap();
    let link = link.expect("the employee has a link with its error");
    assert!(link.last_error.is_some_and(|e| e.contains("email_in_use")));

    engine.emulator.reset_calls();
    let again = engine.sync([rehired]).await;
    assert!(again.has_problems(), "the conflict stays visible");
    assert_eq!(engine.calls(CREATE_MEMBER), 0, "no member per run");
    assert!(
        engine.calls(CREATE_EMAIL) <= 2,
        "one try, and one more after everyone else's pass: {:?}",
        engine.emulator.calls()
    );
}

#[tokio::test]
async fn a_cancelled_termination_clears_ends_at_with_one_patch() {
    let engine = engine_in("Europe/Madrid", NOW).await;
    let ana = employee("E-1", "Ana Pérez", &["Production"]).starting(date!(2026 - 04 - 01));
    engine
        .sync([ana.clone().ending(date!(2026 - 03 - 31))])
        .await;
    let member_id = engine.member_of("E-1").id;
    engine.emulator.reset_calls();

    engine.sync([ana.clone()]).await;

    assert_eq!(engine.calls(UPDATE_MEMBER), 1);
    assert_eq!(engine.emulator.write_calls(), 1);
    let member = engine.member_of("E-1");
    assert_eq!(member.id, member_id);
    assert_eq!(
        (member.starts_at, member.ends_at),
        (Some(datetime!(2026-03-31 22:00 UTC)), None)
    );
    assert_second_run_writes_nothing(&engine, [ana]).await;
}

#[tokio::test]
async fn a_postponed_start_date_moves_starts_at_with_one_patch() {
    let engine = engine_in("Europe/Madrid", NOW).await;
    let ana = employee("E-1", "Ana Pérez", &["Production"]).starting(date!(2026 - 04 - 01));
    engine.sync([ana.clone()]).await;
    engine.emulator.reset_calls();

    let later = ana.starting(date!(2026 - 11 - 02));
    engine.sync([later.clone()]).await;

    assert_eq!(engine.calls(UPDATE_MEMBER), 1);
    assert_eq!(engine.emulator.write_calls(), 1);
    assert_eq!(
        window(&engine, "E-1"),
        (Some(datetime!(2026-11-01 23:00 UTC)), None),
        "November is back on +01:00"
    );
    assert_second_run_writes_nothing(&engine, [later]).await;
}

#[tokio::test]
async fn b24_a_rehire_under_a_new_id_in_the_snapshot_that_drops_the_old_id_takes_the_email() {
    let engine = b24_engine().await;
    engine.sync([kwame()]).await;
    let old_id = engine.member_of("E-1027").id;
    engine.emulator.reset_calls();

    let rehired = employee("E-2027", "Kwame Mensah", &["Lab-B"]).email("kwame.mensah@example.com");
    let report = engine.sync([rehired.clone()]).await;

    assert_eq!(report.failures().count(), 0, "{:?}", report_errors(&report));
    assert!(engine.owned_members_of("E-1027").is_empty());
    let member = engine.member_of("E-2027");
    assert_ne!(member.id, old_id);
    assert_eq!(live_emails(&member), ["kwame.mensah@example.com"]);
    assert_eq!(engine.calls(DELETE_MEMBER), 1);
    assert_eq!(engine.calls(CREATE_EMAIL), 1);
    assert_second_run_writes_nothing(&engine, [rehired]).await;
}
