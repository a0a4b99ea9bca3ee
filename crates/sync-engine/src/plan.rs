//! `plan(desired, observed)`: the pure heart of the sync.
//!
//! Given what an employee's member should look like and the members Akiles holds for that
//! employee, [`plan`] returns the fewest calls that reach the desired state:
//! - nothing for what already matches (associations and credentials are never recreated);
//! - a group change deletes only the removed associations and creates only the new ones;
//! - a changed name, validity or metadata is one `PATCH` of the member (metadata keys the
//!   record no longer has are removed: an owned member's metadata belongs to the sync);
//! - an employee without access is one `DELETE` of the member (Akiles revokes everything).
//!
//! Only objects carrying the ownership marker are ever changed or deleted. Groups listed as
//! *held* (a mapping whose Akiles group is missing) are neither created nor deleted.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use akiles_types::{
    GroupAssociation, Member, MemberCard, MemberEmail, MemberMagicLink, MemberPatch, MemberPin,
    Metadata, MetadataPatch, NewGroupAssociation, NewMember, NewMemberCard, NewMemberEmail,
    NewMemberMagicLink, NewMemberPin,
};
use hr_domain::{CardKind, EmployeeId};
use serde::Serialize;

use crate::desired::{DesiredMember, card_marker};
use crate::ownership::{CARD_KEY, is_owned, member_employee_id, owned_marker};

/// Why a member is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeleteReason {
    /// The employee has no access any more (terminated, past last day, or removed from HR).
    NoAccess,
    /// A second owned member for the same employee (left by a crash or a lost reply).
    Duplicate,
}

/// One Akiles call of a plan. Steps after [`Step::CreateMember`] act on the new member.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Step {
    CreateMember {
        #[serde(skip)]
        body: NewMember,
    },
    UpdateMember {
        member_id: String,
        /// Which fields change (names only; values are personal data).
        fields: Vec<&'static str>,
        #[serde(skip)]
        patch: MemberPatch,
    },
    DeleteMember {
        member_id: String,
        reason: DeleteReason,
    },
    CreateAssociation {
        member_group_id: String,
    },
    DeleteAssociation {
        association_id: String,
        member_group_id: String,
    },
    CreateEmail {
        #[serde(skip)]
        email: String,
    },
    DeleteEmail {
        email_id: String,
    },
    CreatePin {
        length: u8,
    },
    DeletePin {
        pin_id: String,
    },
    CreateMagicLink,
    DeleteMagicLink {
        magic_link_id: String,
    },
    CreateCard {
        #[serde(skip)]
        card: NewMemberCard,
    },
    DeleteCard {
        card_id: String,
    },
}

/// The kind of a step, for counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    CreateMember,
    UpdateMember,
    DeleteMember,
    CreateAssociation,
    DeleteAssociation,
    CreateEmail,
    DeleteEmail,
    CreatePin,
    DeletePin,
    CreateMagicLink,
    DeleteMagicLink,
    CreateCard,
    DeleteCard,
}

impl StepKind {
    /// Every kind, in display order.
    pub const ALL: [StepKind; 13] = [
        StepKind::CreateMember,
        StepKind::UpdateMember,
        StepKind::DeleteMember,
        StepKind::CreateAssociation,
        StepKind::DeleteAssociation,
        StepKind::CreateEmail,
        StepKind::DeleteEmail,
        StepKind::CreatePin,
        StepKind::DeletePin,
        StepKind::CreateMagicLink,
        StepKind::DeleteMagicLink,
        StepKind::CreateCard,
        StepKind::DeleteCard,
    ];

    /// Human label, e.g. `create association`.
    pub fn label(self) -> &'static str {
        match self {
            StepKind::CreateMember => "create member",
            StepKind::UpdateMember => "update member",
            StepKind::DeleteMember => "delete member",
            StepKind::CreateAssociation => "create association",
            StepKind::DeleteAssociation => "delete association",
            StepKind::CreateEmail => "create e-mail",
            StepKind::DeleteEmail => "delete e-mail",
            StepKind::CreatePin => "create PIN",
            StepKind::DeletePin => "delete PIN",
            StepKind::CreateMagicLink => "create magic link",
            StepKind::DeleteMagicLink => "delete magic link",
            StepKind::CreateCard => "create card",
            StepKind::DeleteCard => "delete card",
        }
    }
}

impl Step {
    /// The step's kind.
    pub fn kind(&self) -> StepKind {
        match self {
            Step::CreateMember { .. } => StepKind::CreateMember,
            Step::UpdateMember { .. } => StepKind::UpdateMember,
            Step::DeleteMember { .. } => StepKind::DeleteMember,
            Step::CreateAssociation { .. } => StepKind::CreateAssociation,
            Step::DeleteAssociation { .. } => StepKind::DeleteAssociation,
            Step::CreateEmail { .. } => StepKind::CreateEmail,
            Step::DeleteEmail { .. } => StepKind::DeleteEmail,
            Step::CreatePin { .. } => StepKind::CreatePin,
            Step::DeletePin { .. } => StepKind::DeletePin,
            Step::CreateMagicLink => StepKind::CreateMagicLink,
            Step::DeleteMagicLink { .. } => StepKind::DeleteMagicLink,
            Step::CreateCard { .. } => StepKind::CreateCard,
            Step::DeleteCard { .. } => StepKind::DeleteCard,
        }
    }
}

/// Printable without personal data: ids and field names only.
impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = self.kind().label();
        match self {
            Step::UpdateMember {
                member_id, fields, ..
            } => {
                write!(f, "{label} {member_id} ({})", fields.join(", "))
            }
            Step::DeleteMember { member_id, reason } => {
                let why = match reason {
                    DeleteReason::NoAccess => "no access",
                    DeleteReason::Duplicate => "duplicate",
                };
                write!(f, "{label} {member_id} ({why})")
            }
            Step::CreateAssociation { member_group_id } => write!(f, "{label} {member_group_id}"),
            Step::DeleteAssociation {
                association_id,
                member_group_id,
            } => {
                write!(f, "{label} {association_id} ({member_group_id})")
            }
            Step::CreatePin { length } => write!(f, "{label} ({length} digits)"),
            Step::DeleteEmail { email_id: id }
            | Step::DeletePin { pin_id: id }
            | Step::DeleteMagicLink { magic_link_id: id }
            | Step::DeleteCard { card_id: id } => write!(f, "{label} {id}"),
            Step::CreateMember { .. }
            | Step::CreateEmail { .. }
            | Step::CreateMagicLink
            | Step::CreateCard { .. } => f.write_str(label),
        }
    }
}

/// The calls that bring one employee's member to the desired state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    pub employee_id: EmployeeId,
    /// The member the steps act on, when it exists already.
    pub member_id: Option<String>,
    pub steps: Vec<Step>,
}

impl Plan {
    /// True when Akiles already matches.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Steps per kind.
    pub fn counts(&self) -> BTreeMap<StepKind, usize> {
        let mut counts = BTreeMap::new();
        for step in &self.steps {
            *counts.entry(step.kind()).or_default() += 1;
        }
        counts
    }
}

/// Plans one employee.
///
/// `desired` is `None` when the employee should have no member. `observed` are the live
/// members Akiles holds for this employee (any members passed in that are not owned by
/// the sync, or belong to another employee, are ignored), with their sub-objects
/// expanded. `held_groups` are member groups to leave alone.
pub fn plan(
    tenant: &str,
    employee_id: &EmployeeId,
    desired: Option<&DesiredMember>,
    observed: &[Member],
    held_groups: &BTreeSet<String>,
) -> Plan {
    // Ids are compared as parsed (trimmed), as the run groups members by them: a member
    // whose `employee_id` carries stray spaces is this employee's, not a stranger.
    let is_theirs = |m: &&Member| {
        let raw = member_employee_id(&m.metadata, tenant);
        !m.is_deleted
            && raw.and_then(|raw| EmployeeId::parse(raw).ok()).as_ref() == Some(employee_id)
    };
    let mut owned: Vec<&Member> = observed.iter().filter(is_theirs).collect();
    owned.sort_by(|a, b| {
        a.created_at
            .cmp(&b.created_at)
            .then_with(|| a.id.cmp(&b.id))
    });

    let mut steps = Vec::new();
    let Some(desired) = desired else {
        for member in owned {
            let member_id = member.id.clone();
            steps.push(Step::DeleteMember {
                member_id,
                reason: DeleteReason::NoAccess,
            });
        }
        return Plan {
            employee_id: employee_id.clone(),
            member_id: None,
            steps,
        };
    };

    let (keep, duplicates) = match owned.split_first() {
        Some((first, rest)) => (Some(*first), rest),
        None => (None, &[][..]),
    };
    for member in duplicates {
        let member_id = member.id.clone();
        steps.push(Step::DeleteMember {
            member_id,
            reason: DeleteReason::Duplicate,
        });
    }

    let empty = empty_member();
    let member = match keep {
        Some(member) => {
            steps.extend(update_member(member, desired));
            member
        }
        None => {
            steps.push(Step::CreateMember {
                body: new_member(desired),
            });
            &empty
        }
    };

    plan_associations(member, desired, held_groups, &mut steps);
    plan_email(member, desired, &mut steps);
    plan_pins(member, desired, &mut steps);
    plan_magic_links(member, desired, &mut steps);
    plan_cards(member, desired, &mut steps);

    Plan {
        employee_id: employee_id.clone(),
        member_id: keep.map(|m| m.id.clone()),
        steps,
    }
}

fn empty_member() -> Member {
    Member {
        id: String::new(),
        organization_id: String::new(),
        name: String::new(),
        starts_at: None,
        ends_at: None,
        language: None,
        is_deleted: false,
        created_at: None,
        metadata: Metadata::new(),
        emails: None,
        magic_links: None,
        pins: None,
        cards: None,
        group_associations: None,
    }
}

fn new_member(desired: &DesiredMember) -> NewMember {
    NewMember {
        name: desired.name.clone(),
        starts_at: desired.starts_at,
        ends_at: desired.ends_at,
        language: None,
        metadata: desired.metadata.clone(),
    }
}

fn update_member(member: &Member, desired: &DesiredMember) -> Option<Step> {
    let mut patch = MemberPatch::default();
    let mut fields = Vec::new();
    if member.name != desired.name {
        patch.name = Some(desired.name.clone());
        fields.push("name");
    }
    if member.starts_at != desired.starts_at {
        patch.starts_at = Some(desired.starts_at);
        fields.push("starts_at");
    }
    if member.ends_at != desired.ends_at {
        patch.ends_at = Some(desired.ends_at);
        fields.push("ends_at");
    }
    // An owned member's metadata is the sync's alone: a key HR no longer sends is removed
    // in the same PATCH, so stale personal data does not linger and the merged result
    // stays within Akiles' size limit.
    let set = desired
        .metadata
        .iter()
        .filter(|(k, v)| member.metadata.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), Some(v.clone())));
    let removed = member
        .metadata
        .keys()
        .filter(|k| !desired.metadata.contains_key(*k))
        .map(|k| (k.clone(), None));
    let changed: MetadataPatch = set.chain(removed).collect();
    if !changed.is_empty() {
        patch.metadata = Some(changed);
        fields.push("metadata");
    }
    (!fields.is_empty()).then(|| Step::UpdateMember {
        member_id: member.id.clone(),
        fields,
        patch,
    })
}

fn live<T>(items: &Option<Vec<T>>, deleted: fn(&T) -> bool) -> impl Iterator<Item = &T> {
    items.iter().flatten().filter(move |item| !deleted(item))
}

fn plan_associations(
    member: &Member,
    desired: &DesiredMember,
    held: &BTreeSet<String>,
    steps: &mut Vec<Step>,
) {
    let live_assocs = live(&member.group_associations, |a: &GroupAssociation| {
        a.is_deleted
    });
    let mut kept = BTreeSet::new();
    let mut deletes = Vec::new();
    for assoc in live_assocs.filter(|a| is_owned(&a.metadata)) {
        let group = &assoc.member_group_id;
        if held.contains(group) {
            kept.insert(group.clone());
        } else if desired.groups.contains(group) && kept.insert(group.clone()) {
            // The first owned association to a wanted group stays as it is.
        } else {
            deletes.push(Step::DeleteAssociation {
                association_id: assoc.id.clone(),
                member_group_id: group.clone(),
            });
        }
    }
    for group in desired
        .groups
        .iter()
        .filter(|g| !held.contains(*g) && !kept.contains(*g))
    {
        steps.push(Step::CreateAssociation {
            member_group_id: group.clone(),
        });
    }
    steps.extend(deletes);
}

fn plan_email(member: &Member, desired: &DesiredMember, steps: &mut Vec<Step>) {
    let emails: Vec<&MemberEmail> = live(&member.emails, |e: &MemberEmail| e.is_deleted).collect();
    let wanted = desired.email.as_ref();
    let is_wanted = |e: &MemberEmail| wanted.is_some_and(|w| w.same_address(&e.email));
    if let (Some(email), false) = (wanted, emails.iter().any(|e| is_wanted(e))) {
        steps.push(Step::CreateEmail {
            email: email.as_str().to_owned(),
        });
    }

    // One owned credential for the wanted address is kept (the oldest); a second one, left
    // by two passes racing, goes like any address HR no longer gives.
    let mut owned: Vec<&MemberEmail> = emails
        .into_iter()
        .filter(|e| is_owned(&e.metadata))
        .collect();
    owned.sort_by(|a, b| {
        a.created_at
            .cmp(&b.created_at)
            .then_with(|| a.id.cmp(&b.id))
    });
    let mut kept = false;
    for email in owned {
        if is_wanted(email) && !kept {
            kept = true;
            continue;
        }
        steps.push(Step::DeleteEmail {
            email_id: email.id.clone(),
        });
    }
}

/// Keeps exactly one owned credential when `wanted`, none otherwise; returns the ids of
/// owned credentials to delete and whether one must be created.
fn one_owned<'a>(owned: impl Iterator<Item = &'a str>, wanted: bool) -> (bool, Vec<String>) {
    let mut owned = owned.map(str::to_owned);
    if !wanted {
        return (false, owned.collect());
    }
    match owned.next() {
        Some(_) => (false, owned.collect()),
        None => (true, Vec::new()),
    }
}

fn plan_pins(member: &Member, desired: &DesiredMember, steps: &mut Vec<Step>) {
    let owned = live(&member.pins, |p: &MemberPin| p.is_deleted)
        .filter(|p| is_owned(&p.metadata))
        .map(|p| p.id.as_str());
    let (create, delete) = one_owned(owned, desired.pin.is_some());
    if let (true, Some(length)) = (create, desired.pin) {
        steps.push(Step::CreatePin {
            length: length.get(),
        });
    }
    steps.extend(delete.into_iter().map(|pin_id| Step::DeletePin { pin_id }));
}

fn plan_magic_links(member: &Member, desired: &DesiredMember, steps: &mut Vec<Step>) {
    let owned = live(&member.magic_links, |l: &MemberMagicLink| l.is_deleted)
        .filter(|l| is_owned(&l.metadata))
        .map(|l| l.id.as_str());
    let (create, delete) = one_owned(owned, desired.magic_link);
    if create {
        steps.push(Step::CreateMagicLink);
    }
    steps.extend(
        delete
            .into_iter()
            .map(|magic_link_id| Step::DeleteMagicLink { magic_link_id }),
    );
}

fn plan_cards(member: &Member, desired: &DesiredMember, steps: &mut Vec<Step>) {
    let marker = desired.card.as_ref().map(card_marker);
    let owned =
        live(&member.cards, |c: &MemberCard| c.is_deleted).filter(|c| is_owned(&c.metadata));
    let (matching, other): (Vec<&MemberCard>, Vec<&MemberCard>) =
        owned.partition(|c| marker.is_some() && c.metadata.get(CARD_KEY) == marker.as_ref());

    if let (Some(card), true) = (&desired.card, matching.is_empty()) {
        let mut body = NewMemberCard {
            metadata: owned_marker(),
            ..NewMemberCard::default()
        };
        body.metadata.insert(CARD_KEY.to_owned(), card_marker(card));
        match card.kind {
            CardKind::Uid => body.uid = Some(card.value.clone()),
            CardKind::PrintedCode => body.printed_code = Some(card.value.clone()),
        }
        steps.push(Step::CreateCard { card: body });
    }
    let extra = matching.iter().skip(1).chain(other.iter());
    steps.extend(extra.map(|c| Step::DeleteCard {
        card_id: c.id.clone(),
    }));
}

/// Request bodies for the create steps, with the ownership marker.
pub mod bodies {
    use super::*;

    /// `POST …/group_associations`.
    pub fn association(member_group_id: &str) -> NewGroupAssociation {
        NewGroupAssociation {
            member_group_id: member_group_id.to_owned(),
            starts_at: None,
            ends_at: None,
            metadata: owned_marker(),
        }
    }

    /// `POST …/emails`.
    pub fn email(address: &str) -> NewMemberEmail {
        NewMemberEmail {
            email: address.to_owned(),
            metadata: owned_marker(),
        }
    }

    /// `POST …/pins`, letting Akiles generate the digits.
    pub fn pin(length: u8) -> NewMemberPin {
        NewMemberPin {
            length: Some(i32::from(length)),
            pin: None,
            metadata: owned_marker(),
        }
    }

    /// `POST …/magic_links`.
    pub fn magic_link() -> NewMemberMagicLink {
        NewMemberMagicLink {
            metadata: owned_marker(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hr_domain::{Email, PinLength};
    use time::macros::datetime;

    const TENANT: &str = "acme";

    fn employee_id() -> EmployeeId {
        EmployeeId::parse("E-1").unwrap()
    }

    fn desired(email: Option<&str>) -> DesiredMember {
        let metadata = Metadata::from([
            ("managed_by".to_owned(), "akiles-hr-sync".to_owned()),
            ("sync_tenant".to_owned(), TENANT.to_owned()),
            ("employee_id".to_owned(), "E-1".to_owned()),
        ]);
        DesiredMember {
            employee_id: employee_id(),
            name: "Ana Pérez".to_owned(),
            starts_at: None,
            ends_at: None,
            metadata,
            groups: BTreeSet::new(),
            email: email.map(|e| Email::parse(e).unwrap()),
            pin: None::<PinLength>,
            magic_link: false,
            card: None,
            warnings: Vec::new(),
        }
    }

    fn email(id: &str, address: &str, owned: bool, minute: u8) -> MemberEmail {
        MemberEmail {
            id: id.to_owned(),
            organization_id: String::new(),
            member_id: "mem_1".to_owned(),
            email: address.to_owned(),
            is_deleted: false,
            created_at: Some(
                datetime!(2026-01-01 9:00 UTC)
                    .replace_minute(minute)
                    .unwrap(),
            ),
            metadata: if owned {
                owned_marker()
            } else {
                Metadata::new()
            },
        }
    }

    fn member_with(emails: Vec<MemberEmail>) -> Member {
        let wanted = desired(None);
        Member {
            id: "mem_1".to_owned(),
            name: wanted.name,
            metadata: wanted.metadata,
            emails: Some(emails),
            ..empty_member()
        }
    }

    fn plan_for(wanted: Option<&str>, emails: Vec<MemberEmail>) -> Vec<Step> {
        let desired = desired(wanted);
        let observed = [member_with(emails)];
        plan(
            TENANT,
            &employee_id(),
            Some(&desired),
            &observed,
            &BTreeSet::new(),
        )
        .steps
    }

    #[test]
    fn a_second_owned_email_for_the_wanted_address_is_deleted_keeping_the_oldest() {
        let emails = vec![
            email("me_new", "Ana@Example.com", true, 5),
            email("me_old", "ana@example.com", true, 1),
        ];

        let steps = plan_for(Some("ana@example.com"), emails);

        assert_eq!(
            steps,
            [Step::DeleteEmail {
                email_id: "me_new".to_owned()
            }]
        );
    }

    #[test]
    fn an_email_differing_only_in_case_needs_no_step() {
        let emails = vec![email("me_1", "ana.perez@example.com", true, 1)];

        assert!(plan_for(Some("Ana.Perez@EXAMPLE.com"), emails).is_empty());
    }

    #[test]
    fn a_hand_made_email_is_never_deleted_and_satisfies_its_address() {
        let emails = vec![email("me_hand", "ana@example.com", false, 1)];

        assert!(plan_for(Some("ANA@example.com"), emails.clone()).is_empty());
        assert!(plan_for(None, emails).is_empty());
    }

    #[test]
    fn a_changed_email_is_one_create_and_one_delete() {
        let emails = vec![email("me_1", "ana@example.com", true, 1)];

        let steps = plan_for(Some("Ana.Soler@example.com"), emails);

        assert_eq!(
            steps,
            [
                Step::CreateEmail {
                    email: "Ana.Soler@example.com".to_owned()
                },
                Step::DeleteEmail {
                    email_id: "me_1".to_owned()
                }
            ]
        );
    }
}
