//! Member cards (`/members/{member_id}/cards`) and the organization's card inventory
//! (`/cards`, read-only here).
//!
//! A member card names its card in exactly one way: `card_id` (an inventory card), `uid`
//! or `printed_code`. A uid or printed code the inventory lacks adds a card to it.

use std::sync::Arc;

use akiles_types::{Card, MemberCard, Metadata, MetadataOnlyPatch, NewMemberCard, Page};
use axum::extract::{Path, State};
use axum::{Extension, Json};

use super::{delete_owned, owned, patch_owned};
use crate::body::{JsonBody, check_metadata};
use crate::error::ApiError;
use crate::faults::OrgId;
use crate::ids::IdMinter;
use crate::list::{ListOptions, Params, paginate};
use crate::state::{OrgState, Shared, now};

type Api<T> = Result<Json<T>, ApiError>;

/// How a member-card create names its card, once validated.
#[derive(Debug, PartialEq, Eq)]
pub enum CardRef {
    /// An inventory card by id.
    Id(String),
    /// An ISO 14443 UID, lower-case hex.
    Uid(String),
    /// The code printed on the card.
    PrintedCode(String),
}

/// Checks that exactly one way of naming the card is given, and that it is well formed.
pub fn check_card_ref(new: &NewMemberCard) -> Result<CardRef, ApiError> {
    let given = [&new.card_id, &new.uid, &new.printed_code]
        .iter()
        .filter(|v| v.is_some())
        .count();
    if given != 1 {
        let message = "give exactly one of card_id, uid or printed_code";
        return Err(ApiError::invalid("card", message));
    }
    if let Some(id) = &new.card_id {
        return Ok(CardRef::Id(id.clone()));
    }
    if let Some(uid) = &new.uid {
        let hex = uid.bytes().all(|b| b.is_ascii_hexdigit());
        if !hex || ![8, 14, 20].contains(&uid.len()) {
            return Err(ApiError::invalid(
                "uid",
                "uid must be 8, 14 or 20 hex characters",
            ));
        }
        return Ok(CardRef::Uid(uid.to_ascii_lowercase()));
    }
    let code = new.printed_code.as_deref().unwrap_or_default().trim();
    if code.is_empty() {
        return Err(ApiError::invalid(
            "printed_code",
            "printed_code must not be empty",
        ));
    }
    Ok(CardRef::PrintedCode(code.to_owned()))
}

/// The live inventory card `reference` names, if it exists; 404 for an unknown `card_id`.
fn find_card(org: &OrgState, reference: &CardRef) -> Result<Option<String>, ApiError> {
    let live = || org.cards.values().filter(|c| !c.is_deleted);
    match reference {
        CardRef::Id(id) => match org.cards.get(id) {
            Some(card) if !card.is_deleted => Ok(Some(id.clone())),
            _ => Err(ApiError::not_found("card").arg("card_id", id)),
        },
        CardRef::Uid(uid) => Ok(live()
            .find(|c| c.uid.as_ref() == Some(uid))
            .map(|c| c.id.clone())),
        CardRef::PrintedCode(code) => Ok(live()
            .find(|c| c.printed_code.as_ref() == Some(code))
            .map(|c| c.id.clone())),
    }
}

/// Adds a card to the inventory for a uid or printed code it did not hold.
fn add_card(org: &mut OrgState, ids: &mut IdMinter, reference: CardRef) -> String {
    let created_at = now();
    let (uid, printed_code) = match reference {
        CardRef::Uid(uid) => (Some(uid), None),
        CardRef::PrintedCode(code) => (None, Some(code)),
        CardRef::Id(_) => (None, None),
    };
    let card = Card {
        id: ids.mint("card", created_at),
        name: None,
        uid,
        printed_code,
        is_deleted: false,
        created_at: Some(created_at),
        metadata: Metadata::new(),
    };
    let id = card.id.clone();
    org.cards.insert(id.clone(), card);
    id
}

fn check_unassigned(org: &OrgState, card_id: &str) -> Result<(), ApiError> {
    let assigned = org.member_cards.values().any(|mc| {
        !mc.is_deleted
            && mc.card_id == card_id
            && org
                .members
                .get(&mc.member_id)
                .is_some_and(|m| !m.is_deleted)
    });
    if assigned {
        let message = "the card is already assigned to a member";
        return Err(ApiError::invalid_because(
            "card",
            "already_assigned",
            message,
        ));
    }
    Ok(())
}

pub(super) async fn list_member_cards(
    State(shared): State<Arc<Shared>>,
    Extension(OrgId(org_id)): Extension<OrgId>,
    Path(member_id): Path<String>,
    params: Params,
) -> Api<Page<MemberCard>> {
    let options = ListOptions::parse(&params)?;
    shared.read(&org_id, |org| {
        org.member(&member_id)?;
        Ok(Json(paginate(&org.member_cards, &options, |c| {
            c.member_id == member_id
        })))
    })
}

pub(super) async fn get_member_card(
    State(shared): State<Arc<Shared>>,
    Extension(OrgId(org_id)): Extension<OrgId>,
    Path((member_id, card_id)): Path<(String, String)>,
) -> Api<MemberCard> {
    shared.read(&org_id, |org| {
        Ok(Json(
            owned(org, &org.member_cards, &member_id, &card_id)?.clone(),
        ))
    })
}

pub(super) async fn create_member_card(
    State(shared): State<Arc<Shared>>,
    Extension(OrgId(org_id)): Extension<OrgId>,
    Path(member_id): Path<String>,
    JsonBody(new): JsonBody<NewMemberCard>,
) -> Api<MemberCard> {
    let reference = check_card_ref(&new)?;
    check_metadata(&new.metadata)?;

    shared.write(&org_id, |org, ids| {
        org.live_member(&member_id)?;
        let card_id = match find_card(org, &reference)? {
            Some(card_id) => {
                check_unassigned(org, &card_id)?;
                card_id
            }
            None => add_card(org, ids, reference),
        };

        let created_at = now();
        let member_card = MemberCard {
            id: ids.mint("mc", created_at),
            organization_id: org_id.clone(),
            member_id: member_id.clone(),
            card_id,
            is_deleted: false,
            created_at: Some(created_at),
            metadata: new.metadata,
        };
        org.member_cards
            .insert(member_card.id.clone(), member_card.clone());
        Ok(Json(member_card))
    })
}

pub(super) async fn patch_member_card(
    State(shared): State<Arc<Shared>>,
    Extension(OrgId(org_id)): Extension<OrgId>,
    Path((member_id, card_id)): Path<(String, String)>,
    JsonBody(patch): JsonBody<MetadataOnlyPatch>,
) -> Api<MemberCard> {
    shared.write(&org_id, |org, _| {
        let changes = &patch.metadata;
        let card = patch_owned(org, |o| &mut o.member_cards, &member_id, &card_id, changes)?;
        Ok(Json(card))
    })
}

pub(super) async fn delete_member_card(
    State(shared): State<Arc<Shared>>,
    Extension(OrgId(org_id)): Extension<OrgId>,
    Path((member_id, card_id)): Path<(String, String)>,
) -> Api<MemberCard> {
    shared.write(&org_id, |org, _| {
        Ok(Json(delete_owned(
            org,
            |o| &mut o.member_cards,
            &member_id,
            &card_id,
        )?))
    })
}

pub(super) async fn list_org_cards(
    State(shared): State<Arc<Shared>>,
    Extension(OrgId(org_id)): Extension<OrgId>,
    params: Params,
) -> Api<Page<Card>> {
    let options = ListOptions::parse(&params)?;
    shared.read(&org_id, |org| {
        Ok(Json(paginate(&org.cards, &options, |_| true)))
    })
}

pub(super) async fn get_org_card(
    State(shared): State<Arc<Shared>>,
    Extension(OrgId(org_id)): Extension<OrgId>,
    Path(card_id): Path<String>,
) -> Api<Card> {
    shared.read(&org_id, |org| {
        org.cards
            .get(&card_id)
            .cloned()
            .map(Json)
            .ok_or_else(|| ApiError::not_found("card"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_card(card_id: Option<&str>, uid: Option<&str>, code: Option<&str>) -> NewMemberCard {
        NewMemberCard {
            card_id: card_id.map(str::to_owned),
            uid: uid.map(str::to_owned),
            printed_code: code.map(str::to_owned),
            metadata: Metadata::new(),
        }
    }

    #[test]
    fn exactly_one_card_reference_is_required() {
        assert!(check_card_ref(&new_card(None, None, None)).is_err());
        assert!(check_card_ref(&new_card(Some("card_1"), Some("0a0b0c0d"), None)).is_err());
        assert_eq!(
            check_card_ref(&new_card(None, None, Some(" AB-12 "))).unwrap(),
            CardRef::PrintedCode("AB-12".into())
        );
    }

    #[test]
    fn uid_must_be_hex_of_a_valid_length_and_is_lower_cased() {
        assert_eq!(
            check_card_ref(&new_card(None, Some("0A0B0C0D"), None)).unwrap(),
            CardRef::Uid("0a0b0c0d".into())
        );
        assert!(check_card_ref(&new_card(None, Some("0a0b0c"), None)).is_err());
        assert!(check_card_ref(&new_card(None, Some("zz0b0c0d"), None)).is_err());
        assert!(check_card_ref(&new_card(None, Some("04a1b2c3d4e5f6"), None)).is_ok());
    }
}
