//! `/members/{member_id}/magic_links`: create returns the plain object; only `reveal`
//! returns the `link`, and it returns the same link every time.

use std::sync::Arc;

use akiles_types::{MemberMagicLink, MetadataOnlyPatch, NewMemberMagicLink, Page};
use axum::extract::{Path, State};
use axum::{Extension, Json};
use rand::RngExt;

use super::members::hide_link;
use super::{delete_owned, owned, patch_owned};
use crate::body::{JsonBody, check_metadata};
use crate::error::ApiError;
use crate::faults::OrgId;
use crate::ids::{ALPHABET, IdMinter};
use crate::list::{ListOptions, Params, paginate};
use crate::state::{Shared, now};

type Api<T> = Result<Json<T>, ApiError>;

/// A fresh secret URL of the shape `https://link.akiles.app/#ml_<20 chars>_<32 hex>`.
fn mint_link(ids: &mut IdMinter) -> String {
    let rng = ids.rng();
    let code: String = (0..20)
        .map(|_| char::from(ALPHABET[rng.random_range(0..32)]))
        .collect();
    let secret: String = (0..32)
        .map(|_| char::from(b"0123456789abcdef"[rng.random_range(0..16)]))
        .collect();
    format!("https://link.akiles.app/#ml_{code}_{secret}")
}

pub(super) async fn list_links(
    State(shared): State<Arc<Shared>>,
    Extension(OrgId(org_id)): Extension<OrgId>,
    Path(member_id): Path<String>,
    params: Params,
) -> Api<Page<MemberMagicLink>> {
    let options = ListOptions::parse(&params)?;
    shared.read(&org_id, |org| {
        org.member(&member_id)?;
        let mut page = paginate(&org.magic_links, &options, |l| l.member_id == member_id);
        page.data.iter_mut().for_each(|l| l.link = None);
        Ok(Json(page))
    })
}

pub(super) async fn get_link(
    State(shared): State<Arc<Shared>>,
    Extension(OrgId(org_id)): Extension<OrgId>,
    Path((member_id, link_id)): Path<(String, String)>,
) -> Api<MemberMagicLink> {
    shared.read(&org_id, |org| {
        Ok(Json(hide_link(owned(
            org,
            &org.magic_links,
            &member_id,
            &link_id,
        )?)))
    })
}

pub(super) async fn create_link(
    State(shared): State<Arc<Shared>>,
    Extension(OrgId(org_id)): Extension<OrgId>,
    Path(member_id): Path<String>,
    JsonBody(new): JsonBody<NewMemberMagicLink>,
) -> Api<MemberMagicLink> {
    check_metadata(&new.metadata)?;

    shared.write(&org_id, |org, ids| {
        org.live_member(&member_id)?;
        let created_at = now();
        let link = MemberMagicLink {
            id: ids.mint("mml", created_at),
            organization_id: org_id.clone(),
            member_id: member_id.clone(),
            is_deleted: false,
            created_at: Some(created_at),
            metadata: new.metadata,
            link: Some(mint_link(ids)),
        };
        org.magic_links.insert(link.id.clone(), link.clone());
        Ok(Json(hide_link(&link)))
    })
}

pub(super) async fn reveal_link(
    State(shared): State<Arc<Shared>>,
    Extension(OrgId(org_id)): Extension<OrgId>,
    Path((member_id, link_id)): Path<(String, String)>,
) -> Api<MemberMagicLink> {
    shared.read(&org_id, |org| {
        Ok(Json(
            owned(org, &org.magic_links, &member_id, &link_id)?.clone(),
        ))
    })
}

pub(super) async fn patch_link(
    State(shared): State<Arc<Shared>>,
    Extension(OrgId(org_id)): Extension<OrgId>,
    Path((member_id, link_id)): Path<(String, String)>,
    JsonBody(patch): JsonBody<MetadataOnlyPatch>,
) -> Api<MemberMagicLink> {
    shared.write(&org_id, |org, _| {
        let changes = &patch.metadata;
        let link = patch_owned(org, |o| &mut o.magic_links, &member_id, &link_id, changes)?;
        Ok(Json(hide_link(&link)))
    })
}

pub(super) async fn delete_link(
    State(shared): State<Arc<Shared>>,
    Extension(OrgId(org_id)): Extension<OrgId>,
    Path((member_id, link_id)): Path<(String, String)>,
) -> Api<MemberMagicLink> {
    shared.write(&org_id, |org, _| {
        let link = delete_owned(org, |o| &mut o.magic_links, &member_id, &link_id)?;
        Ok(Json(hide_link(&link)))
    })
}
