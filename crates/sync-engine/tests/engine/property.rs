//! Random snapshots, then random changes: after every run Akiles holds exactly the desired
//! state, and planning again finds nothing to do.

use std::collections::{BTreeMap, BTreeSet};

use akiles_types::Member;
use hr_domain::{CredentialSettings, Employee, truncate_utf8};
use proptest::prelude::*;
use proptest::sample::select;
use time::{Duration, Time};

use crate::harness::{EmployeeExt, TODAY, TestEngine, employee, live, live_emails, mapping};

const NAMES: [&str; 6] = [
    "Ana Pérez",
    "Zoë Þórhallsdóttir 👩🏽‍💻",
    "王小明",
    "Łukasz Żółć-Wiśniewski",
    "Séverine d'Aubigné-Lefèvre de la Tour du Pin Chambly Ørsted",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaé",
];

/// HR groups and the seeded Akiles groups they map to; "Lab" has no mapping.
const GROUPS: [(&str, &[&str]); 4] = [
    ("Production", &["Production"]),
    ("Sales", &["Sales", "Admin Offices"]),
    ("IT/IS", &["IT/IS"]),
    ("Lab", &[]),
];

/// One employee as the generator sees it; the e-mail and card carry a version so that
/// a change gives a new value that no other employee holds.
#[derive(Debug, Clone)]
struct Person {
    name: &'static str,
    groups: BTreeSet<&'static str>,
    active: bool,
    /// Days from today to the last day of work.
    last_day: Option<i64>,
    email: Option<u8>,
    card: Option<u8>,
    upper_case_email: bool,
}

#[derive(Debug, Clone)]
enum Change {
    Keep,
    Transfer(BTreeSet<&'static str>),
    Terminate,
    Leave,
    Rehire,
    Rename(&'static str),
    NewEmail,
    NewCard,
    EmailCase,
}

fn person() -> impl Strategy<Value = Person> {
    let groups = prop::collection::btree_set(select(GROUPS.map(|g| g.0).to_vec()), 0..3);
    let last_day = prop_oneof![4 => Just(None), 1 => Just(Some(-3)), 1 => Just(Some(20))];
    (
        select(NAMES.to_vec()),
        groups,
        prop::bool::weighted(0.85),
        last_day,
    )
        .prop_flat_map(|(name, groups, active, last_day)| {
            let email = prop::option::of(Just(0u8));
            let card = prop::option::of(Just(0u8));
            (email, card, any::<bool>()).prop_map(move |(email, card, upper)| Person {
                name,
                groups: groups.clone(),
                active,
                last_day,
                email,
                card,
                upper_case_email: upper,
            })
        })
}

fn change() -> impl Strategy<Value = Change> {
    let groups = prop::collection::btree_set(select(GROUPS.map(|g| g.0).to_vec()), 0..3);
    prop_oneof![
        3 => Just(Change::Keep),
        2 => groups.prop_map(Change::Transfer),
        1 => Just(Change::Terminate),
        1 => Just(Change::Leave),
        1 => Just(Change::Rehire),
        1 => select(NAMES.to_vec()).prop_map(Change::Rename),
        1 => Just(Change::NewEmail),
        1 => Just(Change::NewCard),
        1 => Just(Change::EmailCase),
    ]
}

fn settings() -> impl Strategy<Value = (CredentialSettings, usize)> {
    let flags = (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>());
    (flags, select(vec![64usize, 255])).prop_map(|((email, pin, magic_link, card), cap)| {
        let credentials = CredentialSettings {
            email,
            pin,
            magic_link,
            card,
            ..CredentialSettings::default()
        };
        (credentials, cap)
    })
}

fn apply_change(mut person: Person, change: &Change) -> Option<Person> {
    match change {
        Change::Keep => {}
        Change::Transfer(groups) => person.groups = groups.clone(),
        Change::Terminate => person.active = false,
        Change::Leave => return None,
        Change::Rehire => {
            person.active = true;
            person.last_day = None;
        }
        Change::Rename(name) => person.name = name,
        Change::NewEmail => person.email = Some(person.email.map_or(0, |v| v + 1)),
        Change::NewCard => person.card = Some(person.card.map_or(0, |v| v + 1)),
        Change::EmailCase => person.upper_case_email = !person.upper_case_email,
    }
    Some(person)
}

fn to_employee(n: u8, p: &Person) -> Employee {
    let groups: Vec<&str> = p.groups.iter().copied().collect();
    let mut e = employee(&format!("E-{}", 2000 + u32::from(n)), p.name, &groups);
    if let Some(version) = p.email {
        let address = format!("person{n}.v{version}@example.com");
        let address = match p.upper_case_email {
            true => address.to_uppercase(),
            false => address,
        };
        e = e.email(&address);
    }
    if let Some(version) = p.card {
        e = e.card(&format!("04{n:02x}{version:02x}b2"));
    }
    if !p.active {
        e = e.terminated();
    }
    e.end_date = p.last_day.map(|days| TODAY + Duration::days(days));
    e
}

fn snapshot(people: &BTreeMap<u8, Person>) -> Vec<Employee> {
    people.iter().map(|(n, p)| to_employee(*n, p)).collect()
}

/// Checks one member against its record, independently of the engine's planner.
fn check_member(
    engine: &TestEngine,
    member: &Member,
    e: &Employee,
    cap: usize,
) -> Result<(), TestCaseError> {
    let who = e.id.as_str();
    let name = truncate_utf8(e.name.as_str(), cap).trim_end();
    prop_assert_eq!(&member.name, name, "{}", who);
    let ends_at = e
        .end_date
        .map(|d| d.next_day().unwrap().with_time(Time::MIDNIGHT).assume_utc());
    prop_assert_eq!(member.ends_at, ends_at, "{}", who);

    let mut groups = BTreeSet::new();
    for group in &e.groups {
        let akiles = GROUPS.iter().find(|g| g.0 == group.name()).unwrap().1;
        groups.extend(akiles.iter().map(|name| engine.group_id(name)));
    }
    prop_assert_eq!(
        crate::harness::association_groups(member),
        groups,
        "{}",
        who
    );

    let creds = engine.credentials;
    let emails = live_emails(member);
    match e.email.as_ref().filter(|_| creds.email) {
        Some(email) => {
            prop_assert_eq!(emails.len(), 1, "{}", who);
            prop_assert!(email.same_address(&emails[0]), "{}", who);
        }
        None => prop_assert!(emails.is_empty(), "{}", who),
    }
    let pins = live(&member.pins, |p| p.is_deleted).len();
    prop_assert_eq!(pins, usize::from(creds.pin), "{}", who);
    let links = live(&member.magic_links, |l| l.is_deleted).len();
    prop_assert_eq!(links, usize::from(creds.magic_link), "{}", who);
    let cards: Vec<String> = live(&member.cards, |c| c.is_deleted)
        .into_iter()
        .map(|c| c.metadata.get("card").cloned().unwrap_or_default())
        .collect();
    let wanted: Vec<String> = match e.card.as_ref().filter(|_| creds.card) {
        Some(card) => vec![format!("uid:{}", card.value)],
        None => Vec::new(),
    };
    prop_assert_eq!(cards, wanted, "{}", who);
    Ok(())
}

/// Runs a snapshot, then checks Akiles against it and plans again.
async fn sync_and_check(engine: &TestEngine, staff: &[Employee]) -> Result<(), TestCaseError> {
    let report = engine.sync(staff).await;
    let failed: Vec<_> = report
        .failures()
        .map(|f| (&f.employee_id, &f.errors))
        .collect();
    prop_assert!(failed.is_empty(), "{:?}", failed);

    let mut with_access = 0;
    for e in staff {
        let members = engine.owned_members_of(e.id.as_str());
        // Active, or terminated ahead of a last day still to come; never past that day.
        let has_access = e.end_date.is_none_or(|d| d >= TODAY)
            && (e.status == hr_domain::EmploymentStatus::Active || e.end_date.is_some());
        if !has_access {
            prop_assert!(members.is_empty(), "{} has no access", e.id);
            continue;
        }
        with_access += 1;
        prop_assert_eq!(members.len(), 1, "{}", e.id);
        check_member(engine, &members[0], e, engine.name_max_bytes)?;
    }
    prop_assert_eq!(engine.live_members().len(), with_access, "no stray members");

    let again = engine.dry_run(staff).await;
    prop_assert!(again.planned().is_empty(), "{:?}", again.planned());
    Ok(())
}

fn engine_mapping() -> sync_engine::MappingSpec {
    let pairs: Vec<(&str, &str)> = GROUPS
        .iter()
        .flat_map(|(hr, akiles)| akiles.iter().map(move |a| (*hr, *a)))
        .collect();
    mapping(&pairs)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 24,
        max_shrink_iters: 64,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_snapshots_and_changes_converge_and_leave_nothing_to_plan(
        first in prop::collection::btree_map(0u8..10, person(), 1..7),
        changes in prop::collection::vec(change(), 10),
        hires in prop::collection::btree_map(10u8..14, person(), 1..3),
        settings_first in settings(),
        settings_second in settings(),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut engine = TestEngine::spawn().await;
            engine.mapping = engine_mapping();
            // Convergence is the point here; the guard has its own tests.
            engine.guard = sync_engine::DeletionGuard {
                max_deletions: u32::MAX,
                max_deletion_percent: 100,
            };
            (engine.credentials, engine.name_max_bytes) = settings_first;
            sync_and_check(&engine, &snapshot(&first)).await?;

            let mut second: BTreeMap<u8, Person> = first
                .into_iter()
                .zip(changes.iter().cycle())
                .filter_map(|((n, p), change)| apply_change(p, change).map(|p| (n, p)))
                .collect();
            second.extend(hires);
            (engine.credentials, engine.name_max_bytes) = settings_second;
            sync_and_check(&engine, &snapshot(&second)).await
        })?;
    }
}
