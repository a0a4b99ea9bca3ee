//! `/members`: CRUD, the list filters, `expand`, and the cascade on delete.

use std::collections::BTreeSet;
use std::sync::Arc;

use akiles_types::{Member, MemberMagicLink, MemberPatch, MemberPin, NewMember, Page};
use axum::extract::{Path, State};
use axum::{Extension, Json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::body::{JsonBody, check_metadata, merge_metadata, require_non_empty};
use crate::error::ApiError;
use crate::faults::OrgId;
use crate::list::{ListOptions, Params, paginate};
use crate::state::{OrgState, Shared, now};

type Api<T> = Result<Json<T>, ApiError>;

/// Which expand arrays to fill on a member.
#[derive(Debug, Clone, Copy, Default)]
pub struct Expand {
    emails: bool,
    magic_links: bool,
    pins: bool,
    cards: bool,
    group_associations: bool,
}

impl Expand {
    /// Every array (used by the test hook that dumps members).
    pub fn all() -> Self {
        Self {
            emails: true,
            magic_links: true,
            pins: true,
            cards: true,
            group_associations: true,
        }
    }

    fn parse(params: &Params) -> Self {
        let mut expand = Self::default();
        for value in params.list("expand") {
            match value {
                "emails" => expand.emails = true,
                "magic_links" => expand.magic_links = true,
                "pins" => expand.pins = true,
                "cards" => expand.cards = true,
                "group_associations" => expand.group_associations = true,
                _ => {}
            }
        }
        expand
    }
}

/// Whether expanded arrays include deleted items and secrets (test hook) or not (API).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// What the API shows: live items, no PIN digits or links.
    Api,
    /// Everything, for tests inspecting state.
    Inspect,
}

/// The member with the asked expand arrays filled.
pub fn expand_member(org: &OrgState, member: &Member, expand: Expand, view: View) -> Member {
    let mut member = member.clone();
    let id = member.id.clone();
    let keep = |owner: &str, deleted: bool| owner == id && (view == View::Inspect || !deleted);

    if expand.emails {
        let items = org
            .emails
            .values()
            .filter(|e| keep(&e.member_id, e.is_deleted));
        member.emails = Some(items.cloned().collect());
    }
    if expand.magic_links {
        let items = org
            .magic_links
            .values()
            .filter(|l| keep(&l.member_id, l.is_deleted));
        let shown = |l: &MemberMagicLink| {
            if view == View::Api {
                hide_link(l)
            } else {
                l.clone()
            }
        };
        member.magic_links = Some(items.map(shown).collect());
    }
    if expand.pins {
        let items = org
            .pins
            .values()
            .filter(|p| keep(&p.member_id, p.is_deleted));
        let shown = |p: &MemberPin| {
            if view == View::Api {
                hide_pin(p)
            } else {
                p.clone()
            }
        };
        member.pins = Some(items.map(shown).collect());
    }
    if expand.cards {
        let items = org
            .member_cards
            .values()
            .filter(|c| keep(&c.member_id, c.is_deleted));
        member.cards = Some(items.cloned().collect());
    }
    if expand.group_associations {
        let items = org.group_associations.values();
        let items = items.filter(|a| keep(&a.member_id, a.is_deleted));
        member.group_associations = Some(items.cloned().collect());
    }
    member
}

/// A PIN as GET and list show it: without the digits.
pub fn hide_pin(pin: &MemberPin) -> MemberPin {
    MemberPin {
        pin: None,
        ..pin.clone()
    }
}

/// A magic link as GET and list show it: without the URL.
pub fn hide_link(link: &MemberMagicLink) -> MemberMagicLink {
    MemberMagicLink {
        link: None,
        ..link.clone()
    }
}

/// The `created_at:<op>` bounds of a members list.
fn created_at_filters(params: &Params) -> Result<Vec<(String, OffsetDateTime)>, ApiError> {
    let mut bounds = Vec::new();
    for (op, text) in params.with_prefix("created_at:") {
        if !matches!(op, "gt" | "ge" | "lt" | "le") {
            return Err(ApiError::invalid(
                "created_at",
                "use created_at:gt|ge|lt|le",
            ));
        }
        // A `+` in an unencoded offset arrives as a space.
        let text = text.replace(' ', "+");
        let at = OffsetDateTime::parse(&text, &Rfc3339).map_err(|_| {
            ApiError::invalid(&format!("created_at:{op}"), "expected an RFC 3339 time")
        })?;
        bounds.push((op.to_owned(), at));
    }
    Ok(bounds)
}

fn within(created_at: Option<OffsetDateTime>, bounds: &[(String, OffsetDateTime)]) -> bool {
    let Some(at) = created_at else {
        return bounds.is_empty();
    };
    bounds.iter().all(|(op, bound)| match op.as_str() {
        "gt" => at > *bound,
        "ge" => at >= *bound,
        "lt" => at < *bound,
        _ => at <= *bound,
    })
}

/// Ids of members holding `email` (case-insensitive) as a live email.
fn members_with_email(org: &OrgState, email: &str) -> BTreeSet<String> {
    let email = email.to_lowercase();
    let live = org
        .emails
        .values()
        .filter(|e| !e.is_deleted && e.email.to_lowercase() == email);
    live.map(|e| e.member_id.clone()).collect()
}

pub(super) async fn list_members(
    State(shared): State<Arc<Shared>>,
    Extension(OrgId(org_id)): Extension<OrgId>,
    params: Params,
) -> Api<Page<Member>> {
    let options = ListOptions::parse(&params)?;
    let expand = Expand::parse(&params);
    let bounds = created_at_filters(&params)?;
    let metadata: Vec<(&str, &str)> = params.with_prefix("metadata.").collect();

    shared.read(&org_id, |org| {
        let with_email = params
            .get("email")
            .map(|email| members_with_email(org, email));
        let mut page = paginate(&org.members, &options, |member| {
            with_email
                .as_ref()
                .is_none_or(|ids| ids.contains(&member.id))
                && metadata
                    .iter()
                    .all(|(k, v)| member.metadata.get(*k).map(String::as_str) == Some(v))
                && within(member.created_at, &bounds)
        });
        for member in &mut page.data {
            *member = expand_member(org, member, expand, View::Api);
        }
        Ok(Json(page))
    })
}

pub(super) async fn get_member(
    State(shared): State<Arc<Shared>>,
    Extension(OrgId(org_id)): Extension<OrgId>,
    Path(member_id): Path<String>,
    params: Params,
) -> Api<Member> {
    let expand = Expand::parse(&params);
    shared.read(&org_id, |org| {
        let member = org.member(&member_id)?;
        Ok(Json(expand_member(org, member, expand, View::Api)))
    })
}

pub(super) async fn create_member(
    State(shared): State<Arc<Shared>>,
    Extension(OrgId(org_id)): Extension<OrgId>,
    JsonBody(new): JsonBody<NewMember>,
) -> Api<Member> {
    require_non_empty("name", &new.name)?;
    check_metadata(&new.metadata)?;

    shared.write(&org_id, |org, ids| {
        let created_at = now();
        let member = Member {
            id: ids.mint("mem", created_at),
            organization_id: org_id.clone(),
            name: new.name,
            starts_at: new.starts_at,
            ends_at: new.ends_at,
            language: new.language,
            is_deleted: false,
            created_at: Some(created_at),
            metadata: new.metadata,
            emails: None,
            magic_links: None,
            pins: None,
            cards: None,
            group_associations: None,
        };
        org.members.insert(member.id.clone(), member.clone());
        Ok(Json(member))
    })
}

pub(super) async fn patch_member(
    State(shared): State<Arc<Shared>>,
    Extension(OrgId(org_id)): Extension<OrgId>,
    Path(member_id): Path<String>,
    JsonBody(patch): JsonBody<MemberPatch>,
) -> Api<Member> {
    if let Some(name) = &patch.name {
        require_non_empty("name", name)?;
    }

    shared.write(&org_id, |org, _| {
        let member = org.members.get_mut(&member_id);
        let member = member.ok_or_else(|| ApiError::not_found("member"))?;
        let metadata = match &patch.metadata {
            Some(changes) => merge_metadata(&member.metadata, changes)?,
            None => member.metadata.clone(),
        };
        if let Some(name) = patch.name {
            member.name = name;
        }
        if let Some(starts_at) = patch.starts_at {
            member.starts_at = starts_at;
        }
        if let Some(ends_at) = patch.ends_at {
            member.ends_at = ends_at;
        }
        member.metadata = metadata;
        Ok(Json(member.clone()))
    })
}

pub(super) async fn delete_member(
    State(shared): State<Arc<Shared>>,
    Extension(OrgId(org_id)): Extension<OrgId>,
    Path(member_id): Path<String>,
) -> Api<Member> {
    shared.write(&org_id, |org, _| {
        let member = org.members.get_mut(&member_id);
        let member = member.ok_or_else(|| ApiError::not_found("member"))?;
        if member.is_deleted {
            return Ok(Json(member.clone()));
        }
        member.is_deleted = true;
        let member = member.clone();
        cascade_delete(org, &member_id);
        Ok(Json(member))
    })
}

/// Soft-deletes everything a member holds, so its PINs, cards and emails become free.
fn cascade_delete(org: &mut OrgState, member_id: &str) {
    let owned = |owner: &str| owner == member_id;
    org.emails
        .values_mut()
        .filter(|x| owned(&x.member_id))
        .for_each(|x| x.is_deleted = true);
    let links = org.magic_links.values_mut();
    links
        .filter(|x| owned(&x.member_id))
        .for_each(|x| x.is_deleted = true);
    org.pins
        .values_mut()
        .filter(|x| owned(&x.member_id))
        .for_each(|x| x.is_deleted = true);
    let cards = org.member_cards.values_mut();
    cards
        .filter(|x| owned(&x.member_id))
        .for_each(|x| x.is_deleted = true);
    let associations = org.group_associations.values_mut();
    associations
        .filter(|x| owned(&x.member_id))
        .for_each(|x| x.is_deleted = true);
}
