//! Planner benchmark: how planning compares with decoding what Akiles sends.
//!
//! `cargo bench -p sync-engine --bench plan` times, for a company of N employees:
//! - **baseline**: decoding the JSON of N owned members with their sub-objects expanded
//!   (work every run must do anyway);
//! - **plan, nothing changed**: planning every employee against matching members;
//! - **plan, all new**: planning every employee with no member yet;
//! - **plan, 10 % changed**: transfers and renames mixed in.
//!
//! Results are printed as ratios to the baseline measured in the same run (medians of
//! several rounds), never as absolute timings to compare across machines. Without
//! `--bench` (as `cargo test --benches` runs it) it does one small round as a smoke test.

use std::collections::BTreeSet;
use std::hint::black_box;
use std::time::{Duration, Instant};

use akiles_types::{GroupAssociation, Member, MemberPin};
use hr_domain::{
    CredentialSettings, Employee, EmployeeId, EmploymentStatus, HrGroup, Mapping, PersonName,
};
use sync_engine::desired::{DesiredMember, Policy};
use sync_engine::ownership::owned_marker;
use sync_engine::plan;
use time::macros::{date, datetime};

const DEPARTMENTS: [&str; 6] = [
    "Production",
    "IT/IS",
    "Sales",
    "Engineering",
    "Admin",
    "Exec",
];

fn policy() -> Policy {
    let mut mapping = Mapping::new();
    mapping.every_employee.insert("mg_all".to_owned());
    for dept in DEPARTMENTS {
        mapping
            .map(dept, [format!("mg_{dept}")])
            .expect("valid group");
    }
    let credentials = CredentialSettings {
        pin: true,
        ..CredentialSettings::default()
    };
    Policy {
        tenant: "bench".to_owned(),
        mapping,
        credentials,
        name_max_bytes: 255,
        time_zone: hr_domain::TimeZone::utc(),
    }
}

fn employee(i: usize) -> Employee {
    Employee {
        id: EmployeeId::parse(&format!("E-{i}")).expect("valid id"),
        name: PersonName::parse(&format!("Person Number {i}")).expect("valid name"),
        email: None,
        groups: HrGroup::parse(DEPARTMENTS[i % DEPARTMENTS.len()])
            .into_iter()
            .collect(),
        status: EmploymentStatus::Active,
        start_date: Some(date!(2020 - 01 - 01)),
        end_date: None,
        card: None,
        attributes: vec![("position".to_owned(), "Technician".to_owned())],
    }
}

/// The member Akiles would hold once `desired` was applied.
fn member_for(desired: &DesiredMember, i: usize) -> Member {
    let associations = desired
        .groups
        .iter()
        .enumerate()
        .map(|(n, group)| GroupAssociation {
            id: format!("mga_{i}_{n}"),
            organization_id: "org_1".to_owned(),
            member_id: format!("mem_{i}"),
            member_group_id: group.clone(),
            starts_at: None,
            ends_at: None,
            is_deleted: false,
            created_at: None,
            metadata: owned_marker(),
        })
        .collect();
    let pin = MemberPin {
        id: format!("mp_{i}"),
        organization_id: "org_1".to_owned(),
        member_id: format!("mem_{i}"),
        length: 6,
        is_deleted: false,
        created_at: None,
        metadata: owned_marker(),
        pin: None,
    };
    Member {
        id: format!("mem_{i}"),
        organization_id: "org_1".to_owned(),
        name: desired.name.clone(),
        starts_at: desired.starts_at,
        ends_at: desired.ends_at,
        language: None,
        is_deleted: false,
        created_at: None,
        metadata: desired.metadata.clone(),
        emails: Some(Vec::new()),
        magic_links: Some(Vec::new()),
        pins: Some(vec![pin]),
        cards: Some(Vec::new()),
        group_associations: Some(associations),
    }
}

struct Company {
    desired: Vec<DesiredMember>,
    changed: Vec<DesiredMember>,
    members: Vec<Member>,
    json: Vec<u8>,
}

fn company(size: usize) -> Company {
    let policy = policy();
    let today = datetime!(2026-12-04 12:00 UTC);
    let desired: Vec<DesiredMember> = (0..size)
        .filter_map(|i| DesiredMember::from_employee(&employee(i), &policy, today))
        .collect();
    let members: Vec<Member> = desired
        .iter()
        .enumerate()
        .map(|(i, d)| member_for(d, i))
        .collect();
    let changed = (0..size)
        .filter_map(|i| {
            let mut e = employee(i);
            if i % 10 == 0 {
                e.groups = HrGroup::parse("Sales").into_iter().collect();
                e.name = PersonName::parse(&format!("Renamed {i}")).expect("valid name");
            }
            DesiredMember::from_employee(&e, &policy, today)
        })
        .collect();
    let json = serde_json::to_vec(&members).expect("members serialise");
    Company {
        desired,
        changed,
        members,
        json,
    }
}

fn plan_all(desired: &[DesiredMember], members: Option<&[Member]>) -> usize {
    let held = BTreeSet::new();
    let mut steps = 0;
    for (i, d) in desired.iter().enumerate() {
        let observed = members.map(|m| std::slice::from_ref(&m[i])).unwrap_or(&[]);
        steps += plan("bench", &d.employee_id, Some(d), observed, &held)
            .steps
            .len();
    }
    steps
}

fn median(rounds: usize, mut work: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            work();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (size, rounds) = if full { (5_000, 15) } else { (200, 3) };
    let company = company(size);

    let baseline = median(rounds, || {
        let members: Vec<Member> = serde_json::from_slice(&company.json).expect("valid json");
        black_box(members);
    });
    let unchanged = median(rounds, || {
        black_box(plan_all(&company.desired, Some(&company.members)));
    });
    let all_new = median(rounds, || {
        black_box(plan_all(&company.desired, None));
    });
    let some_changed = median(rounds, || {
        black_box(plan_all(&company.changed, Some(&company.members)));
    });

    assert_eq!(
        plan_all(&company.desired, Some(&company.members)),
        0,
        "a no-op plan is empty"
    );
    let ratio = |d: Duration| d.as_secs_f64() / baseline.as_secs_f64().max(f64::EPSILON);
    println!("planner benchmark, {size} employees, median of {rounds} rounds");
    println!("  baseline: decode the members' JSON      1.00");
    println!(
        "  plan, nothing changed                   {:.2}",
        ratio(unchanged)
    );
    println!(
        "  plan, all new                           {:.2}",
        ratio(all_new)
    );
    println!(
        "  plan, 10 % changed                      {:.2}",
        ratio(some_changed)
    );
}
