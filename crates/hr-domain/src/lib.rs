//! Domain types of akiles-hr-sync, with no I/O.
//!
//! An [`Employee`] is the desired state one HR source gives for one person. Every text
//! value that enters the system is normalised here ([`normalize_text`]), and values with
//! rules are newtypes that can only be built by parsing ([`EmployeeId::parse`],
//! [`Email::parse`], [`CardCredential::parse`]). The [`Mapping`] says which Akiles member
//! groups each HR group grants, and [`CredentialSettings`] which credentials members get.

mod clock;
pub mod delivery;
mod mapping;
mod text;
mod unique;
mod zone;

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use time::Date;

pub use clock::{Clock, FixedClock, SystemClock};
pub use delivery::DeliverySettings;
pub use mapping::{CredentialSettings, Mapping, MappingError, PinLength};
pub use text::{has_control_character, normalize_text, truncate_utf8};
pub use unique::{Repeat, RepeatedField, UniqueValues};
pub use zone::{TimeZone, UnknownTimeZone};

/// Why a value could not be parsed into a domain type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("{field} is empty")]
    Empty { field: &'static str },
    #[error("{field} is longer than {max} bytes")]
    TooLong { field: &'static str, max: usize },
    #[error("{field} contains a control character")]
    ControlCharacter { field: &'static str },
    #[error("e-mail address is not valid: {reason}")]
    InvalidEmail { reason: &'static str },
    #[error("card is not valid: {reason}")]
    InvalidCard { reason: &'static str },
}

/// The HR system's id of an employee: the key of everything, never a name or an e-mail.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmployeeId(String);

impl EmployeeId {
    /// Longest id accepted, in bytes.
    pub const MAX_BYTES: usize = 128;

    /// Trims and checks an id: non-empty, at most [`Self::MAX_BYTES`], and no control
    /// character inside it. The raw value is checked, so a tab or line break within the id
    /// is refused rather than collapsed to a space; white space around it is trimmed.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let inner = raw.trim_matches(char::is_whitespace);
        if inner
            .chars()
            .any(|c| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}'))
        {
            return Err(DomainError::ControlCharacter {
                field: "employee id",
            });
        }
        let value = normalize_text(raw);
        if value.is_empty() {
            return Err(DomainError::Empty {
                field: "employee id",
            });
        }
        if value.len() > Self::MAX_BYTES {
            return Err(DomainError::TooLong {
                field: "employee id",
                max: Self::MAX_BYTES,
            });
        }
        Ok(Self(value))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for EmployeeId {
    type Error = DomainError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<EmployeeId> for String {
    fn from(value: EmployeeId) -> Self {
        value.0
    }
}

impl fmt::Display for EmployeeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A person's name as HR writes it, normalised (trimmed, inner whitespace collapsed).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PersonName(String);

impl PersonName {
    /// Longest name accepted, in bytes (the name sent to Akiles may be capped shorter).
    pub const MAX_BYTES: usize = 1024;

    /// Normalises and checks a name: not blank (invisible characters alone are blank), no
    /// control character, at most [`Self::MAX_BYTES`].
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        if has_control_character(raw) {
            return Err(DomainError::ControlCharacter { field: "name" });
        }
        let value = normalize_text(raw);
        if value.is_empty() {
            return Err(DomainError::Empty { field: "name" });
        }
        if value.len() > Self::MAX_BYTES {
            return Err(DomainError::TooLong {
                field: "name",
                max: Self::MAX_BYTES,
            });
        }
        Ok(Self(value))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PersonName {
    type Error = DomainError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<PersonName> for String {
    fn from(value: PersonName) -> Self {
        value.0
    }
}

impl fmt::Debug for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PersonName([redacted])")
    }
}

/// A work e-mail address. It keeps the case it was given; comparisons ignore case.
#[derive(Clone, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    /// Longest address accepted (RFC 5321 path limit).
    pub const MAX_BYTES: usize = 254;

    /// Trims (including non-breaking spaces) and checks the shape `local@domain`.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        if has_control_character(raw) {
            return Err(DomainError::ControlCharacter { field: "email" });
        }
        let value = normalize_text(raw);
        if value.is_empty() {
            return Err(DomainError::Empty { field: "email" });
        }
        if value.len() > Self::MAX_BYTES {
            return Err(DomainError::TooLong {
                field: "email",
                max: Self::MAX_BYTES,
            });
        }
        if value.chars().any(char::is_whitespace) {
            return Err(DomainError::InvalidEmail {
                reason: "it contains a space",
            });
        }
        let Some((local, domain)) = value.split_once('@') else {
            return Err(DomainError::InvalidEmail {
                reason: "it has no @",
            });
        };
        if local.is_empty() || domain.is_empty() || domain.contains('@') {
            return Err(DomainError::InvalidEmail {
                reason: "it is not local@domain",
            });
        }
        if !domain.contains('.') || domain.starts_with('.') || domain.ends_with('.') {
            return Err(DomainError::InvalidEmail {
                reason: "the domain has no dot",
            });
        }
        Ok(Self(value))
    }

    /// The address as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when both name the same mailbox (case-insensitive).
    pub fn same_address(&self, other: &str) -> bool {
        self.0.to_lowercase() == normalize_text(other).to_lowercase()
    }
}

impl PartialEq for Email {
    fn eq(&self, other: &Self) -> bool {
        self.same_address(&other.0)
    }
}

impl TryFrom<String> for Email {
    type Error = DomainError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Email> for String {
    fn from(value: Email) -> Self {
        value.0
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Email([redacted])")
    }
}

/// A group in the HR system (department, team, location…). Two groups are the same when
/// their normalised names match ignoring case, so `"Production   "` and `"production"` agree.
#[derive(Clone, Serialize, Deserialize)]
pub struct HrGroup {
    key: String,
    name: String,
}

impl HrGroup {
    /// Longest group name accepted, in bytes.
    pub const MAX_BYTES: usize = 200;

    /// Normalises and checks a group name read from HR data: `None` when it is blank, an
    /// error when it holds a control character or is longer than [`Self::MAX_BYTES`].
    pub fn try_parse(raw: &str) -> Result<Option<Self>, DomainError> {
        if has_control_character(raw) {
            return Err(DomainError::ControlCharacter { field: "HR group" });
        }
        let name = normalize_text(raw);
        if name.len() > Self::MAX_BYTES {
            return Err(DomainError::TooLong {
                field: "HR group",
                max: Self::MAX_BYTES,
            });
        }
        if name.is_empty() {
            return Ok(None);
        }
        Ok(Some(Self {
            key: name.to_lowercase(),
            name,
        }))
    }

    /// Normalises a group name without the checks of [`Self::try_parse`], for looking up a
    /// name that is already known (a mapping key, a stored record); `None` when blank.
    /// Values from an HR export or a push go through [`Self::try_parse`].
    pub fn parse(raw: &str) -> Option<Self> {
        let name = normalize_text(raw);
        if name.is_empty() {
            return None;
        }
        Some(Self {
            key: name.to_lowercase(),
            name,
        })
    }

    /// The comparison key (normalised, lower case).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The name as HR writes it (normalised).
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl PartialEq for HrGroup {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for HrGroup {}

impl PartialOrd for HrGroup {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for HrGroup {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key.cmp(&other.key)
    }
}

impl fmt::Debug for HrGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HrGroup({:?})", self.name)
    }
}

/// Whether the employee should have access now (subject to dates).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmploymentStatus {
    Active,
    Terminated,
}

/// How a card is identified to Akiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardKind {
    /// ISO 14443 UID in hex: 4, 7 or 10 bytes.
    Uid,
    /// The code printed on an Akiles card.
    PrintedCode,
}

/// A physical card the employee carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardCredential {
    pub kind: CardKind,
    /// Normalised value: a UID in lower-case hex without separators, or the printed code.
    pub value: String,
}

impl CardCredential {
    /// Parses a card value. A UID may contain `:`, `-` or spaces between hex pairs.
    pub fn parse(kind: CardKind, raw: &str) -> Result<Self, DomainError> {
        if has_control_character(raw) {
            return Err(DomainError::ControlCharacter { field: "card" });
        }
        let text = normalize_text(raw);
        if text.is_empty() {
            return Err(DomainError::Empty { field: "card" });
        }
        let value = match kind {
            CardKind::Uid => parse_uid(&text)?,
            CardKind::PrintedCode => {
                if text.len() > 64 {
                    return Err(DomainError::TooLong {
                        field: "card",
                        max: 64,
                    });
                }
                text
            }
        };
        Ok(Self { kind, value })
    }
}

fn parse_uid(text: &str) -> Result<String, DomainError> {
    let hex: String = text
        .chars()
        .filter(|c| !matches!(c, ':' | '-' | ' '))
        .collect();
    if !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(DomainError::InvalidCard {
            reason: "a UID must be hexadecimal",
        });
    }
    if !matches!(hex.len(), 8 | 14 | 20) {
        return Err(DomainError::InvalidCard {
            reason: "a UID must be 4, 7 or 10 bytes",
        });
    }
    Ok(hex.to_ascii_lowercase())
}

/// One employee as the HR source describes them: the desired state.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Employee {
    pub id: EmployeeId,
    pub name: PersonName,
    #[serde(default)]
    pub email: Option<Email>,
    #[serde(default)]
    pub groups: BTreeSet<HrGroup>,
    pub status: EmploymentStatus,
    /// First day of work (inclusive).
    #[serde(default)]
    pub start_date: Option<Date>,
    /// Last day of work (inclusive).
    #[serde(default)]
    pub end_date: Option<Date>,
    #[serde(default)]
    pub card: Option<CardCredential>,
    /// Optional extra fields copied into member metadata, in priority order (first = kept
    /// longest when metadata has to be shortened).
    #[serde(default)]
    pub attributes: Vec<(String, String)>,
}

impl fmt::Debug for Employee {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Personal data stays out of Debug output, which may end up in logs.
        f.debug_struct("Employee")
            .field("id", &self.id)
            .field("groups", &self.groups.len())
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl Employee {
    /// Whether the employee should hold access on `today` (a calendar date in the tenant's
    /// reckoning): not past the last day of work, and active — or marked terminated ahead
    /// of a last day still to come (HR often records a leaver before they leave; they keep
    /// access until the end of that day).
    pub fn has_access_on(&self, today: Date) -> bool {
        match (self.status, self.end_date) {
            (EmploymentStatus::Active, end) => end.is_none_or(|end| end >= today),
            (EmploymentStatus::Terminated, Some(end)) => end >= today,
            (EmploymentStatus::Terminated, None) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::date;

    #[test]
    fn email_is_trimmed_of_nbsp_and_keeps_its_case() {
        let email = Email::parse("\u{a0} Tomas.Herrera@Example.com ").unwrap();

        assert_eq!(email.as_str(), "Tomas.Herrera@Example.com");
        assert_eq!(email, Email::parse("tomas.herrera@example.com").unwrap());
    }

    #[test]
    fn email_without_at_or_dot_is_refused() {
        assert!(Email::parse("tomas.herrera").is_err());
        assert!(Email::parse("tomas@localhost").is_err());
        assert!(Email::parse("a b@example.com").is_err());
    }

    #[test]
    fn employee_id_is_trimmed_and_must_not_be_blank() {
        assert_eq!(EmployeeId::parse(" E-1007").unwrap().as_str(), "E-1007");
        assert_eq!(
            EmployeeId::parse(" \u{a0} "),
            Err(DomainError::Empty {
                field: "employee id"
            })
        );
    }

    #[test]
    fn employee_id_with_a_control_character_inside_is_refused() {
        let refused = Err(DomainError::ControlCharacter {
            field: "employee id",
        });

        for raw in [
            "E-1\n007",
            "E-1\t007",
            "E-1\r007",
            "E\u{7}1",
            "E-1\u{2028}7",
            "\u{1b}E-1",
        ] {
            assert_eq!(EmployeeId::parse(raw), refused, "{raw:?}");
        }
        assert_eq!(EmployeeId::parse("\tE-1007\n").unwrap().as_str(), "E-1007");
        assert_eq!(
            EmployeeId::parse("E-10\u{200b}07").unwrap().as_str(),
            "E-1007"
        );
    }

    #[test]
    fn names_and_emails_with_control_characters_are_refused() {
        assert_eq!(
            PersonName::parse("Ana\u{7} Pérez"),
            Err(DomainError::ControlCharacter { field: "name" })
        );
        assert_eq!(
            PersonName::parse("\u{1b}[2JAna"),
            Err(DomainError::ControlCharacter { field: "name" })
        );
        assert_eq!(
            Email::parse("ana\u{0}@example.com"),
            Err(DomainError::ControlCharacter { field: "email" })
        );
        assert_eq!(
            PersonName::parse("Ana\tPérez").unwrap().as_str(),
            "Ana Pérez"
        );
    }

    #[test]
    fn a_name_of_invisible_characters_only_is_empty() {
        assert_eq!(
            PersonName::parse("\u{200b}"),
            Err(DomainError::Empty { field: "name" })
        );
        assert_eq!(
            PersonName::parse("\u{feff}\u{2060} "),
            Err(DomainError::Empty { field: "name" })
        );
        let coder = "Zoë Þórhallsdóttir 👩🏽\u{200d}💻";
        assert_eq!(PersonName::parse(coder).unwrap().as_str(), coder);
    }

    #[test]
    fn hr_group_values_are_checked_for_length_and_control_characters() {
        let long = "D".repeat(HrGroup::MAX_BYTES + 1);

        assert_eq!(
            HrGroup::try_parse(&long).unwrap_err(),
            DomainError::TooLong {
                field: "HR group",
                max: HrGroup::MAX_BYTES
            }
        );
        assert_eq!(
            HrGroup::try_parse("Lab\u{7}").unwrap_err(),
            DomainError::ControlCharacter { field: "HR group" }
        );
        assert_eq!(HrGroup::try_parse(" \u{200b} "), Ok(None));
        let fits = "é".repeat(HrGroup::MAX_BYTES / 2);
        assert_eq!(HrGroup::try_parse(&fits).unwrap().unwrap().name(), fits);
    }

    #[test]
    fn hr_groups_compare_by_normalised_case_folded_name() {
        let a = HrGroup::parse("Production       ").unwrap();
        let b = HrGroup::parse("production").unwrap();

        assert_eq!(a, b);
        assert_eq!(a.name(), "Production");
    }

    #[test]
    fn uid_cards_are_normalised_to_lower_hex() {
        let card = CardCredential::parse(CardKind::Uid, "04:A2:2B:1A").unwrap();

        assert_eq!(card.value, "04a22b1a");
        assert!(CardCredential::parse(CardKind::Uid, "04A22B").is_err());
        assert!(CardCredential::parse(CardKind::Uid, "zzzzzzzz").is_err());
    }

    #[test]
    fn access_ends_after_the_last_day() {
        let mut employee = Employee {
            id: EmployeeId::parse("E-1").unwrap(),
            name: PersonName::parse("A").unwrap(),
            email: None,
            groups: BTreeSet::new(),
            status: EmploymentStatus::Active,
            start_date: None,
            end_date: Some(date!(2026 - 03 - 31)),
            card: None,
            attributes: Vec::new(),
        };

        assert!(employee.has_access_on(date!(2026 - 03 - 31)));
        assert!(!employee.has_access_on(date!(2026 - 04 - 01)));
        employee.status = EmploymentStatus::Terminated;
        assert!(
            employee.has_access_on(date!(2026 - 03 - 31)),
            "until the last day"
        );
        assert!(!employee.has_access_on(date!(2026 - 04 - 01)));
        employee.end_date = None;
        assert!(!employee.has_access_on(date!(2026 - 01 - 01)));
    }

    #[test]
    fn debug_output_hides_personal_data() {
        let name = PersonName::parse("Zoë Dvořák").unwrap();
        let email = Email::parse("zoe@example.com").unwrap();

        assert!(!format!("{name:?}{email:?}").contains("Zo"));
    }

    proptest! {
        #[test]
        fn parsed_ids_are_normalised_fixed_points(raw in "\\PC{0,40}") {
            if let Ok(id) = EmployeeId::parse(&raw) {
                prop_assert_eq!(EmployeeId::parse(id.as_str()).unwrap(), id.clone());
                prop_assert_eq!(id.as_str().trim(), id.as_str());
            }
        }
    }
}
