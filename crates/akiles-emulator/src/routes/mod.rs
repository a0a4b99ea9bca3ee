//! The `/v2` API routes, one module per area, and helpers they share.
//!
//! Path parameters are named after the object they select (`{member_id}`,
//! `{member_pin_id}`…); these names appear in the call counters' keys.

use std::collections::BTreeMap;
use std::sync::Arc;

use akiles_types::{
    GroupAssociation, MemberCard, MemberEmail, MemberMagicLink, MemberPin, MetadataPatch,
};
use axum::Router;
use axum::routing::{get, post};

use crate::body::merge_metadata;
use crate::error::ApiError;
use crate::list::Listed;
use crate::state::{OrgState, Shared};

mod associations;
mod cards;
mod emails;
mod groups;
mod magic_links;
pub(crate) mod members;
mod organization;
mod pins;

/// The `/v2` routes, without middleware.
pub fn api_routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/v2/organization",
            get(organization::get_organization).patch(organization::patch_organization),
        )
        .route("/v2/sites", get(organization::list_sites))
        .route(
            "/v2/sites/{site_id}",
            get(organization::get_site).patch(organization::patch_site),
        )
        .route("/v2/gadgets", get(organization::list_gadgets))
        .route(
            "/v2/gadgets/{gadget_id}",
            get(organization::get_gadget).patch(organization::patch_gadget),
        )
        .route(
            "/v2/member_groups",
            get(groups::list_groups).post(groups::create_group),
        )
        .route(
            "/v2/member_groups/{member_group_id}",
            get(groups::get_group)
                .patch(groups::patch_group)
                .delete(groups::delete_group),
        )
        .route(
            "/v2/members",
            get(members::list_members).post(members::create_member),
        )
        .route(
            "/v2/members/{member_id}",
            get(members::get_member)
                .patch(members::patch_member)
                .delete(members::delete_member),
        )
        .merge(member_sub_routes())
        .route("/v2/cards", get(cards::list_org_cards))
        .route("/v2/cards/{card_id}", get(cards::get_org_card))
}

fn member_sub_routes() -> Router<Arc<Shared>> {
    const M: &str = "/v2/members/{member_id}";
    Router::new()
        .route(
            &format!("{M}/emails"),
            get(emails::list_emails).post(emails::create_email),
        )
        .route(
            &format!("{M}/emails/{{member_email_id}}"),
            get(emails::get_email)
                .patch(emails::patch_email)
                .delete(emails::delete_email),
        )
        .route(
            &format!("{M}/magic_links"),
            get(magic_links::list_links).post(magic_links::create_link),
        )
        .route(
            &format!("{M}/magic_links/{{member_magic_link_id}}"),
            get(magic_links::get_link)
                .patch(magic_links::patch_link)
                .delete(magic_links::delete_link),
        )
        .route(
            &format!("{M}/magic_links/{{member_magic_link_id}}/reveal"),
            post(magic_links::reveal_link),
        )
        .route(
            &format!("{M}/pins"),
            get(pins::list_pins).post(pins::create_pin),
        )
        .route(
            &format!("{M}/pins/{{member_pin_id}}"),
            get(pins::get_pin)
                .patch(pins::patch_pin)
                .delete(pins::delete_pin),
        )
        .route(
            &format!("{M}/pins/{{member_pin_id}}/reveal"),
            post(pins::reveal_pin),
        )
        .route(
            &format!("{M}/cards"),
            get(cards::list_member_cards).post(cards::create_member_card),
        )
        .route(
            &format!("{M}/cards/{{member_card_id}}"),
            get(cards::get_member_card)
                .patch(cards::patch_member_card)
                .delete(cards::delete_member_card),
        )
        .route(
            &format!("{M}/group_associations"),
            get(associations::list_associations).post(associations::create_association),
        )
        .route(
            &format!("{M}/group_associations/{{member_group_association_id}}"),
            get(associations::get_association)
                .patch(associations::patch_association)
                .delete(associations::delete_association),
        )
}

/// Objects that belong to one member.
pub trait MemberOwned: Listed + Clone {
    /// What the object is called in errors.
    const KIND: &'static str;
    /// The owning member.
    fn member_id(&self) -> &str;
    /// Marks the object deleted.
    fn mark_deleted(&mut self);
    /// The object's metadata, for PATCH.
    fn metadata_mut(&mut self) -> &mut akiles_types::Metadata;
}

macro_rules! member_owned {
    ($($ty:ty => $kind:literal),*) => {$(
        impl MemberOwned for $ty {
            const KIND: &'static str = $kind;
            fn member_id(&self) -> &str {
                &self.member_id
            }
            fn mark_deleted(&mut self) {
                self.is_deleted = true;
            }
            fn metadata_mut(&mut self) -> &mut akiles_types::Metadata {
                &mut self.metadata
            }
        }
    )*};
}

member_owned!(
    MemberEmail => "member email",
    MemberMagicLink => "magic link",
    MemberPin => "PIN",
    MemberCard => "member card",
    GroupAssociation => "group association"
);

/// The sub-object `id` of `member_id`; 404 when either is unknown or they do not belong.
pub fn owned<'a, T: MemberOwned>(
    org: &OrgState,
    items: &'a BTreeMap<String, T>,
    member_id: &str,
    id: &str,
) -> Result<&'a T, ApiError> {
    org.member(member_id)?;
    items
        .get(id)
        .filter(|item| item.member_id() == member_id)
        .ok_or_else(|| ApiError::not_found(T::KIND))
}

/// Mutable form of [`owned`].
pub fn owned_mut<'a, T: MemberOwned>(
    items: &'a mut BTreeMap<String, T>,
    member_id: &str,
    id: &str,
) -> Result<&'a mut T, ApiError> {
    items
        .get_mut(id)
        .filter(|item| item.member_id() == member_id)
        .ok_or_else(|| ApiError::not_found(T::KIND))
}

/// Applies a metadata patch to a sub-object and returns it.
pub fn patch_owned<T: MemberOwned>(
    org: &mut OrgState,
    pick: impl FnOnce(&mut OrgState) -> &mut BTreeMap<String, T>,
    member_id: &str,
    id: &str,
    patch: &MetadataPatch,
) -> Result<T, ApiError> {
    org.member(member_id)?;
    let item = owned_mut(pick(org), member_id, id)?;
    let merged = merge_metadata(item.metadata_mut(), patch)?;
    *item.metadata_mut() = merged;
    Ok(item.clone())
}

/// Soft-deletes a sub-object (again, if already deleted) and returns it.
pub fn delete_owned<T: MemberOwned>(
    org: &mut OrgState,
    pick: impl FnOnce(&mut OrgState) -> &mut BTreeMap<String, T>,
    member_id: &str,
    id: &str,
) -> Result<T, ApiError> {
    org.member(member_id)?;
    let item = owned_mut(pick(org), member_id, id)?;
    item.mark_deleted();
    Ok(item.clone())
}
