//! Wire types of the Akiles API v2 (`https://api.akiles.app/v2`).
//!
//! These are the JSON shapes the API sends and accepts, shared by `akiles-client` and
//! `akiles-emulator` so that both speak exactly the same language. They follow
//! `akiles-api.md`: snake_case fields, RFC 3339 UTC timestamps, `metadata` as a flat
//! string map, and the cursor page envelope.
//!
//! Tolerance rules (Akiles adds fields and enum values without a version bump):
//! - no type uses `deny_unknown_fields`; unknown fields are ignored;
//! - every enum is open: an unknown value is kept as `Unknown(String)`;
//! - optional and expandable fields default when absent.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Object metadata: a flat map of string keys to string values (limit 1024 bytes per object).
pub type Metadata = BTreeMap<String, String>;

/// A metadata change sent in a PATCH: keys are merged into the stored map; `None`
/// (JSON `null`) deletes the key.
pub type MetadataPatch = BTreeMap<String, Option<String>>;

/// Timestamp fields as the API writes them (RFC 3339, UTC).
pub type Timestamp = OffsetDateTime;

/// The cursor-paginated list envelope every list endpoint returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    /// Items of this page, newest first.
    pub data: Vec<T>,
    /// Whether a further page exists.
    #[serde(default)]
    pub has_next: bool,
    /// Opaque cursor of the next page; present only when `has_next` is true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor_next: Option<String>,
}

/// The error body every non-2xx response carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Machine-readable code, e.g. `invalid_request`, `not_found`. An open set.
    #[serde(rename = "type", default)]
    pub kind: String,
    /// Human-readable text.
    #[serde(default)]
    pub message: String,
    /// Extra string details, e.g. the offending field.
    #[serde(default)]
    pub args: BTreeMap<String, String>,
}

impl ErrorBody {
    /// An error body with no args.
    pub fn new(kind: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            message: message.into(),
            args: BTreeMap::new(),
        }
    }

    /// Adds one arg.
    pub fn with_arg(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.args.insert(key.into(), value.into());
        self
    }
}

/// `GET /organization`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Organization {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub is_deleted: bool,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub created_at: Option<Timestamp>,
    #[serde(default)]
    pub metadata: Metadata,
}

/// A physical place (building, floor) that holds gadgets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Site {
    pub id: String,
    #[serde(default)]
    pub organization_id: String,
    #[serde(default)]
    pub name: String,
    /// IANA time zone of the site, e.g. `Europe/Madrid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    #[serde(default)]
    pub is_deleted: bool,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub created_at: Option<Timestamp>,
    #[serde(default)]
    pub metadata: Metadata,
}

/// One action a gadget can run, e.g. `open`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GadgetAction {
    pub id: String,
    #[serde(default)]
    pub name: String,
}

/// A controllable mechanism on a device, e.g. a door.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gadget {
    pub id: String,
    #[serde(default)]
    pub organization_id: String,
    #[serde(default)]
    pub site_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub actions: Vec<GadgetAction>,
    #[serde(default)]
    pub is_deleted: bool,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub created_at: Option<Timestamp>,
    #[serde(default)]
    pub metadata: Metadata,
}

/// Whether a permission rule requires the member to be on site.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum Presence {
    #[default]
    None,
    Gps,
    /// A value this crate does not know yet.
    Unknown(String),
}

impl From<String> for Presence {
    fn from(value: String) -> Self {
        match value.as_str() {
            "none" => Presence::None,
            "gps" => Presence::Gps,
            _ => Presence::Unknown(value),
        }
    }
}

impl From<Presence> for String {
    fn from(value: Presence) -> Self {
        match value {
            Presence::None => "none".to_owned(),
            Presence::Gps => "gps".to_owned(),
            Presence::Unknown(other) => other,
        }
    }
}

/// Which opening methods a permission rule allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AccessMethods {
    #[serde(default)]
    pub online: bool,
    #[serde(default)]
    pub bluetooth: bool,
    #[serde(default)]
    pub mobile_nfc: bool,
    #[serde(default)]
    pub pin: bool,
    #[serde(default)]
    pub card: bool,
}

/// One rule of a member group: what it opens, when, and how.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PermissionRule {
    #[serde(default)]
    pub site_id: Option<String>,
    #[serde(default)]
    pub gadget_id: Option<String>,
    #[serde(default)]
    pub action_id: Option<String>,
    #[serde(default)]
    pub schedule_id: Option<String>,
    #[serde(default)]
    pub presence: Presence,
    #[serde(default)]
    pub access_methods: AccessMethods,
}

/// A member group: the unit that grants doors to members.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberGroup {
    pub id: String,
    #[serde(default)]
    pub organization_id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub permissions: Vec<PermissionRule>,
    #[serde(default)]
    pub is_deleted: bool,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub created_at: Option<Timestamp>,
    #[serde(default)]
    pub metadata: Metadata,
}

/// A person with access. Expandable arrays are `None` unless requested with `expand`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    pub id: String,
    #[serde(default)]
    pub organization_id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub starts_at: Option<Timestamp>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub ends_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default)]
    pub is_deleted: bool,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub created_at: Option<Timestamp>,
    #[serde(default)]
    pub metadata: Metadata,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emails: Option<Vec<MemberEmail>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub magic_links: Option<Vec<MemberMagicLink>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pins: Option<Vec<MemberPin>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cards: Option<Vec<MemberCard>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_associations: Option<Vec<GroupAssociation>>,
}

/// Body of `POST /members`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct NewMember {
    pub name: String,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub starts_at: Option<Timestamp>,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub ends_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default)]
    pub metadata: Metadata,
}

/// Body of `PATCH /members/{id}`. A field left `None` is not sent and stays as it is;
/// `Some(None)` on a time clears that bound.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MemberPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, with = "patch_time", skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<Option<Timestamp>>,
    #[serde(default, with = "patch_time", skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<Option<Timestamp>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<MetadataPatch>,
}

impl MemberPatch {
    /// True when the patch would change nothing.
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.starts_at.is_none()
            && self.ends_at.is_none()
            && self.metadata.as_ref().is_none_or(|m| m.is_empty())
    }
}

/// An e-mail address that lets a member log in to the Akiles app.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberEmail {
    pub id: String,
    #[serde(default)]
    pub organization_id: String,
    #[serde(default)]
    pub member_id: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub is_deleted: bool,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub created_at: Option<Timestamp>,
    #[serde(default)]
    pub metadata: Metadata,
}

/// Body of `POST /members/{id}/emails`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct NewMemberEmail {
    pub email: String,
    #[serde(default)]
    pub metadata: Metadata,
}

/// A magic link. `link` is present only in the revealed form (`…/reveal`, and in the
/// emulator also on create).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberMagicLink {
    pub id: String,
    #[serde(default)]
    pub organization_id: String,
    #[serde(default)]
    pub member_id: String,
    #[serde(default)]
    pub is_deleted: bool,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub created_at: Option<Timestamp>,
    #[serde(default)]
    pub metadata: Metadata,
    /// The secret URL; never log it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

impl fmt::Debug for MemberMagicLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemberMagicLink")
            .field("id", &self.id)
            .field("member_id", &self.member_id)
            .field("is_deleted", &self.is_deleted)
            .field("metadata", &self.metadata)
            .field("link", &self.link.as_ref().map(|_| "[redacted]"))
            .finish_non_exhaustive()
    }
}

/// Body of `POST /members/{id}/magic_links`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct NewMemberMagicLink {
    #[serde(default)]
    pub metadata: Metadata,
}

/// A keypad PIN. `pin` is present only in the revealed form (create and `…/reveal`).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberPin {
    pub id: String,
    #[serde(default)]
    pub organization_id: String,
    #[serde(default)]
    pub member_id: String,
    #[serde(default)]
    pub length: i32,
    #[serde(default)]
    pub is_deleted: bool,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub created_at: Option<Timestamp>,
    #[serde(default)]
    pub metadata: Metadata,
    /// The digits; never log or store them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin: Option<String>,
}

impl fmt::Debug for MemberPin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemberPin")
            .field("id", &self.id)
            .field("member_id", &self.member_id)
            .field("length", &self.length)
            .field("is_deleted", &self.is_deleted)
            .field("metadata", &self.metadata)
            .field("pin", &self.pin.as_ref().map(|_| "[redacted]"))
            .finish_non_exhaustive()
    }
}

/// Body of `POST /members/{id}/pins`: send `length` to let Akiles generate the digits,
/// or `pin` to choose them.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct NewMemberPin {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin: Option<String>,
    #[serde(default)]
    pub metadata: Metadata,
}

impl fmt::Debug for NewMemberPin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewMemberPin")
            .field("length", &self.length)
            .field("pin", &self.pin.as_ref().map(|_| "[redacted]"))
            .field("metadata", &self.metadata)
            .finish()
    }
}

/// A physical card bound to a member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberCard {
    pub id: String,
    #[serde(default)]
    pub organization_id: String,
    #[serde(default)]
    pub member_id: String,
    #[serde(default)]
    pub card_id: String,
    #[serde(default)]
    pub is_deleted: bool,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub created_at: Option<Timestamp>,
    #[serde(default)]
    pub metadata: Metadata,
}

/// Body of `POST /members/{id}/cards`: exactly one of `card_id`, `uid` (ISO 14443 UID in
/// hex, 4, 7 or 10 bytes) or `printed_code`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct NewMemberCard {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub printed_code: Option<String>,
    #[serde(default)]
    pub metadata: Metadata,
}

/// An organization-level card (`/cards`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Card {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub printed_code: Option<String>,
    #[serde(default)]
    pub is_deleted: bool,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub created_at: Option<Timestamp>,
    #[serde(default)]
    pub metadata: Metadata,
}

/// Membership of a member in a member group, with its own validity window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupAssociation {
    pub id: String,
    #[serde(default)]
    pub organization_id: String,
    #[serde(default)]
    pub member_id: String,
    #[serde(default)]
    pub member_group_id: String,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub starts_at: Option<Timestamp>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub ends_at: Option<Timestamp>,
    #[serde(default)]
    pub is_deleted: bool,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub created_at: Option<Timestamp>,
    #[serde(default)]
    pub metadata: Metadata,
}

/// Body of `POST /members/{id}/group_associations`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct NewGroupAssociation {
    pub member_group_id: String,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub starts_at: Option<Timestamp>,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub ends_at: Option<Timestamp>,
    #[serde(default)]
    pub metadata: Metadata,
}

/// Body of `PATCH /members/{id}/group_associations/{id}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct GroupAssociationPatch {
    #[serde(default, with = "patch_time", skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<Option<Timestamp>>,
    #[serde(default, with = "patch_time", skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<Option<Timestamp>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<MetadataPatch>,
}

/// Body of the PATCH endpoints that only edit metadata (emails, PINs, links, cards).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MetadataOnlyPatch {
    #[serde(default)]
    pub metadata: MetadataPatch,
}

/// Serde for PATCH time fields: absent = leave, `null` = clear, a value = set.
pub mod patch_time {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;

    /// Serialises `Some(None)` as `null` and `Some(Some(t))` as RFC 3339.
    pub fn serialize<S: Serializer>(
        value: &Option<Option<OffsetDateTime>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            None | Some(None) => serializer.serialize_none(),
            Some(Some(t)) => {
                let text = t.format(&Rfc3339).map_err(serde::ser::Error::custom)?;
                serializer.serialize_str(&text)
            }
        }
    }

    /// A present field becomes `Some(..)`; use with `#[serde(default)]` so an absent one is `None`.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Option<OffsetDateTime>>, D::Error> {
        let text: Option<String> = Option::deserialize(deserializer)?;
        match text {
            None => Ok(Some(None)),
            Some(text) => OffsetDateTime::parse(&text, &Rfc3339)
                .map(|t| Some(Some(t)))
                .map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_ignores_unknown_fields_and_reads_nanosecond_times() {
        let json = r#"{"id":"mem_3merk33gt7ml3tde71f3","organization_id":"org_1","name":"A",
            "starts_at":null,"ends_at":"2024-03-13T16:56:51.766836837Z","is_deleted":false,
            "created_at":"2024-03-13T16:56:51.766836837Z","metadata":{"k":"v"},
            "is_disabled":false,"brand_new_field":{"x":1}}"#;

        let member: Member = serde_json::from_str(json).unwrap();

        assert_eq!(member.ends_at.unwrap().nanosecond(), 766_836_837);
        assert!(member.group_associations.is_none());
    }

    #[test]
    fn unknown_presence_value_is_kept() {
        let rule: PermissionRule = serde_json::from_str(r#"{"presence":"wifi"}"#).unwrap();

        assert_eq!(rule.presence, Presence::Unknown("wifi".into()));
        assert_eq!(serde_json::to_value(&rule.presence).unwrap(), "wifi");
    }

    #[test]
    fn member_patch_distinguishes_absent_null_and_value() {
        let patch: MemberPatch = serde_json::from_str(r#"{"ends_at":null}"#).unwrap();
        assert_eq!(patch.ends_at, Some(None));
        assert_eq!(patch.starts_at, None);

        let out = serde_json::to_string(&patch).unwrap();
        assert_eq!(out, r#"{"ends_at":null}"#);
    }

    #[test]
    fn revealed_pin_is_redacted_in_debug() {
        let pin = MemberPin {
            id: "mp_1".into(),
            organization_id: String::new(),
            member_id: "mem_1".into(),
            length: 6,
            is_deleted: false,
            created_at: None,
            metadata: Metadata::new(),
            pin: Some("123456".into()),
        };

        assert!(!format!("{pin:?}").contains("123456"));
    }
}
