//! What Akiles should show for one employee: the record turned into Akiles terms.

use std::collections::BTreeSet;

use akiles_types::{Metadata, Timestamp};
use hr_domain::{
    CardCredential, CardKind, CredentialSettings, Email, Employee, EmployeeId, Mapping, PinLength,
    TimeZone, truncate_utf8,
};
use time::OffsetDateTime;

use crate::ownership::{EMPLOYEE_ID_KEY, MANAGED_BY_KEY, MANAGED_BY_VALUE, TENANT_KEY};

/// Akiles' documented limit on one object's metadata, counted as the UTF-8 bytes of the
/// JSON-encoded map.
pub const METADATA_LIMIT_BYTES: usize = 1024;

/// Default cap on the member name sent to Akiles (the full name stays in our store).
pub const DEFAULT_NAME_MAX_BYTES: usize = 255;

/// The rules that turn records into desired member state, for one tenant.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The tenant whose members these are (written into member metadata).
    pub tenant: String,
    pub mapping: Mapping,
    pub credentials: CredentialSettings,
    /// Longest member name sent to Akiles, in bytes.
    pub name_max_bytes: usize,
    /// The zone HR dates are calendar days in.
    pub time_zone: TimeZone,
}

/// Something worth telling the admin about one employee; never personal data.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Warning {
    /// The member name was cut to fit the cap.
    NameTruncated { max_bytes: usize },
    /// Optional metadata keys were dropped or shortened to stay within 1024 bytes.
    MetadataTrimmed {
        dropped: Vec<String>,
        shortened: Vec<String>,
    },
    /// HR groups with no mapping (they grant nothing).
    UnmappedGroups(Vec<String>),
    /// A credential type is on but the record lacks what it needs (`e-mail`, `card`).
    MissingCredentialData { credential: &'static str },
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Warning::NameTruncated { max_bytes } => {
                write!(f, "name cut to {max_bytes} bytes for Akiles")
            }
            Warning::MetadataTrimmed { dropped, shortened } => write!(
                f,
                "metadata over {METADATA_LIMIT_BYTES} bytes: dropped [{}], shortened [{}]",
                dropped.join(", "),
                shortened.join(", ")
            ),
            Warning::UnmappedGroups(groups) => {
                write!(f, "HR groups without a mapping: {}", groups.join(", "))
            }
            Warning::MissingCredentialData { credential } => {
                write!(
                    f,
                    "{credential} credentials are on, but the record has no {credential}"
                )
            }
        }
    }
}

/// The member state Akiles should hold for one employee who has access.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredMember {
    pub employee_id: EmployeeId,
    /// The name as sent to Akiles (possibly truncated).
    pub name: String,
    pub starts_at: Option<Timestamp>,
    pub ends_at: Option<Timestamp>,
    /// Every metadata key the sync sets on the member.
    pub metadata: Metadata,
    /// Member group ids.
    pub groups: BTreeSet<String>,
    pub email: Option<Email>,
    pub pin: Option<PinLength>,
    pub magic_link: bool,
    pub card: Option<CardCredential>,
    pub warnings: Vec<Warning>,
}

impl DesiredMember {
    /// The desired state for `employee` at `now`; `None` when they should have no access
    /// (terminated, or past the end of their last day in the tenant's time zone). A
    /// pre-hire gets a member whose validity opens at the start of their first day.
    pub fn from_employee(
        employee: &Employee,
        policy: &Policy,
        now: OffsetDateTime,
    ) -> Option<Self> {
        let zone = &policy.time_zone;
        if !employee.has_access_on(zone.date_at(now)) {
            return None;
        }
        let mut warnings = Vec::new();

        let full_name = employee.name.as_str();
        let name = truncate_utf8(full_name, policy.name_max_bytes)
            .trim_end()
            .to_owned();
        if name.len() < full_name.len() {
            warnings.push(Warning::NameTruncated {
                max_bytes: policy.name_max_bytes,
            });
        }

        let (metadata, trimmed) = member_metadata(employee, &policy.tenant);
        warnings.extend(trimmed);

        let (groups, unmapped) = policy.mapping.member_groups_for(employee);
        if !unmapped.is_empty() {
            let names = unmapped.iter().map(|g| g.name().to_owned()).collect();
            warnings.push(Warning::UnmappedGroups(names));
        }

        let creds = &policy.credentials;
        if creds.email && employee.email.is_none() {
            warnings.push(Warning::MissingCredentialData {
                credential: "e-mail",
            });
        }
        if creds.card && employee.card.is_none() {
            warnings.push(Warning::MissingCredentialData { credential: "card" });
        }
        Some(Self {
            employee_id: employee.id.clone(),
            name,
            starts_at: employee.start_date.map(|d| zone.start_of(d)),
            ends_at: employee.end_date.map(|d| zone.end_of(d)),
            metadata,
            groups,
            email: employee.email.clone().filter(|_| creds.email),
            pin: creds.pin.then_some(creds.pin_length),
            magic_link: creds.magic_link,
            card: employee.card.clone().filter(|_| creds.card),
            warnings,
        })
    }
}

/// The value stored under [`crate::ownership::CARD_KEY`] on an owned member card.
pub fn card_marker(card: &CardCredential) -> String {
    let kind = match card.kind {
        CardKind::Uid => "uid",
        CardKind::PrintedCode => "printed_code",
    };
    format!("{kind}:{}", card.value)
}

fn metadata_bytes(metadata: &Metadata) -> usize {
    serde_json::to_string(metadata).map_or(usize::MAX, |s| s.len())
}

/// Builds member metadata within [`METADATA_LIMIT_BYTES`].
///
/// `managed_by`, `sync_tenant` and `employee_id` are always kept. Optional attributes are taken in their
/// priority order; one that does not fit whole is shortened to what fits (at least 8 bytes
/// of value), otherwise dropped. The result depends only on the record, so a second run
/// produces identical metadata and never flip-flops.
pub fn member_metadata(employee: &Employee, tenant: &str) -> (Metadata, Option<Warning>) {
    let mut metadata = Metadata::from([
        (MANAGED_BY_KEY.to_owned(), MANAGED_BY_VALUE.to_owned()),
        (TENANT_KEY.to_owned(), tenant.to_owned()),
        (EMPLOYEE_ID_KEY.to_owned(), employee.id.as_str().to_owned()),
    ]);
    let (mut dropped, mut shortened) = (Vec::new(), Vec::new());

    for (key, value) in &employee.attributes {
        if metadata.contains_key(key) {
            dropped.push(key.clone());
            continue;
        }
        metadata.insert(key.clone(), value.clone());
        if metadata_bytes(&metadata) <= METADATA_LIMIT_BYTES {
            continue;
        }
        match longest_fitting_prefix(&mut metadata, key, value) {
            Some(_) => shortened.push(key.clone()),
            None => {
                metadata.remove(key);
                dropped.push(key.clone());
            }
        }
    }

    let warning = (!dropped.is_empty() || !shortened.is_empty())
        .then_some(Warning::MetadataTrimmed { dropped, shortened });
    (metadata, warning)
}

/// Shortens `metadata[key]` to the longest prefix of `value` that fits; `None` if fewer
/// than 8 bytes of it would fit.
fn longest_fitting_prefix(metadata: &mut Metadata, key: &str, value: &str) -> Option<usize> {
    const MIN_USEFUL: usize = 8;
    let (mut lo, mut hi) = (0usize, value.len());
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        metadata.insert(key.to_owned(), truncate_utf8(value, mid).to_owned());
        if metadata_bytes(metadata) <= METADATA_LIMIT_BYTES {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    let kept = truncate_utf8(value, lo);
    if kept.len() < MIN_USEFUL {
        return None;
    }
    metadata.insert(key.to_owned(), kept.to_owned());
    Some(kept.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hr_domain::{EmploymentStatus, HrGroup, PersonName};
    use time::macros::{date, datetime};

    const JAN_1: OffsetDateTime = datetime!(2026-01-01 12:00 UTC);

    fn employee(id: &str) -> Employee {
        Employee {
            id: EmployeeId::parse(id).unwrap(),
            name: PersonName::parse("Ana Pérez").unwrap(),
            email: None,
            groups: [HrGroup::parse("Lab").unwrap()].into(),
            status: EmploymentStatus::Active,
            start_date: Some(date!(2026 - 05 - 04)),
            end_date: Some(date!(2026 - 06 - 30)),
            card: None,
            attributes: Vec::new(),
        }
    }

    fn policy() -> Policy {
        Policy {
            tenant: "acme".to_owned(),
            mapping: Mapping::new(),
            credentials: CredentialSettings::default(),
            name_max_bytes: 64,
            time_zone: TimeZone::utc(),
        }
    }

    #[test]
    fn dates_become_an_inclusive_utc_window() {
        let desired = DesiredMember::from_employee(&employee("E-1"), &policy(), JAN_1).unwrap();

        assert_eq!(desired.starts_at, Some(datetime!(2026-05-04 0:00 UTC)));
        assert_eq!(desired.ends_at, Some(datetime!(2026-07-01 0:00 UTC)));
    }

    #[test]
    fn long_non_ascii_name_is_cut_on_a_character_boundary() {
        let mut e = employee("E-1008");
        e.name = PersonName::parse(&format!("{}é", "a".repeat(63))).unwrap();

        let desired = DesiredMember::from_employee(&e, &policy(), JAN_1).unwrap();

        assert_eq!(desired.name, "a".repeat(63));
        assert_eq!(
            desired.warnings,
            vec![
                Warning::NameTruncated { max_bytes: 64 },
                Warning::UnmappedGroups(vec!["Lab".into()])
            ]
        );
    }

    #[test]
    fn short_unicode_names_are_sent_byte_for_byte() {
        for name in ["Zoë Þórhallsdóttir 👩🏽‍💻", "王小明"] {
            let mut e = employee("E-1");
            e.name = PersonName::parse(name).unwrap();

            let desired = DesiredMember::from_employee(&e, &policy(), JAN_1).unwrap();

            assert_eq!(desired.name, name);
        }
    }

    #[test]
    fn oversized_metadata_keeps_ownership_and_trims_optional_fields_in_order() {
        let mut e = employee("E-1009");
        e.attributes = vec![
            ("department".into(), "d".repeat(300)),
            ("job_title".into(), "j".repeat(550)),
            ("office".into(), "o".repeat(200)),
            ("cost_center".into(), "CC-4410".into()),
            ("manager_email".into(), "boss@example.com".into()),
        ];

        let (metadata, warning) = member_metadata(&e, "acme");

        assert!(metadata_bytes(&metadata) <= METADATA_LIMIT_BYTES);
        assert_eq!(metadata["employee_id"], "E-1009");
        assert_eq!(metadata["managed_by"], "akiles-hr-sync");
        assert_eq!(metadata["department"].len(), 300);
        assert_eq!(metadata["job_title"].len(), 550);
        assert_eq!(metadata["sync_tenant"], "acme");
        assert!(metadata["office"].len() < 200);
        assert_eq!(
            warning,
            Some(Warning::MetadataTrimmed {
                dropped: vec!["cost_center".into(), "manager_email".into()],
                shortened: vec!["office".into()],
            })
        );
        assert_eq!(
            member_metadata(&e, "acme").0,
            metadata,
            "a second run gives the same metadata"
        );
    }

    #[test]
    fn enabled_credentials_without_data_are_named_not_skipped_silently() {
        let mut policy = policy();
        policy.credentials.email = true;
        policy.credentials.card = true;

        let desired = DesiredMember::from_employee(&employee("E-1"), &policy, JAN_1).unwrap();

        assert!(desired.warnings.contains(&Warning::MissingCredentialData {
            credential: "e-mail"
        }));
        assert!(
            desired
                .warnings
                .contains(&Warning::MissingCredentialData { credential: "card" })
        );
    }

    #[test]
    fn terminated_or_past_last_day_means_no_member() {
        let mut e = employee("E-1");

        assert!(
            DesiredMember::from_employee(&e, &policy(), datetime!(2026-07-01 0:00 UTC)).is_none()
        );
        e.status = EmploymentStatus::Terminated;
        e.end_date = None;
        assert!(DesiredMember::from_employee(&e, &policy(), JAN_1).is_none());
    }

    #[test]
    fn a_termination_recorded_ahead_keeps_access_until_the_last_day() {
        let mut e = employee("E-1");
        e.status = EmploymentStatus::Terminated;

        let desired = DesiredMember::from_employee(&e, &policy(), JAN_1).unwrap();

        assert_eq!(desired.ends_at, Some(datetime!(2026-07-01 0:00 UTC)));
        assert!(
            DesiredMember::from_employee(&e, &policy(), datetime!(2026-07-01 0:00 UTC)).is_none()
        );
    }
}
