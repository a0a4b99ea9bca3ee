//! `/organization`, `/sites` and `/gadgets`: the seeded, mostly read-only objects.

use std::sync::Arc;

use akiles_types::{Gadget, MetadataOnlyPatch, Organization, Page, Site};
use axum::Extension;
use axum::Json;
use axum::extract::{Path, State};

use crate::body::{JsonBody, merge_metadata};
use crate::error::ApiError;
use crate::faults::OrgId;
use crate::list::{ListOptions, Params, paginate};
use crate::state::Shared;

type Api<T> = Result<Json<T>, ApiError>;

pub(super) async fn get_organization(
    State(shared): State<Arc<Shared>>,
    Extension(OrgId(org_id)): Extension<OrgId>,
) -> Api<Organization> {
    shared.read(&org_id, |org| Ok(Json(org.organization.clone())))
}

pub(super) async fn patch_organization(
    State(shared): State<Arc<Shared>>,
    Extension(OrgId(org_id)): Extension<OrgId>,
    JsonBody(patch): JsonBody<MetadataOnlyPatch>,
) -> Api<Organization> {
    shared.write(&org_id, |org, _| {
        org.organization.metadata = merge_metadata(&org.organization.metadata, &patch.metadata)?;
        Ok(Json(org.organization.clone()))
    })
}

pub(super) async fn list_sites(
    State(shared): State<Arc<Shared>>,
    Extension(OrgId(org_id)): Extension<OrgId>,
    params: Params,
) -> Api<Page<Site>> {
    let options = ListOptions::parse(&params)?;
    shared.read(&org_id, |org| {
        Ok(Json(paginate(&org.sites, &options, |_| true)))
    })
}

pub(super) async fn get_site(
    State(shared): State<Arc<Shared>>,
    Extension(OrgId(org_id)): Extension<OrgId>,
    Path(site_id): Path<String>,
) -> Api<Site> {
    shared.read(&org_id, |org| {
        org.sites
            .get(&site_id)
            .cloned()
            .map(Json)
            .ok_or_else(|| ApiError::not_found("site"))
    })
}

pub(super) async fn patch_site(
    State(shared): State<Arc<Shared>>,
    Extension(OrgId(org_id)): Extension<OrgId>,
    Path(site_id): Path<String>,
    JsonBody(patch): JsonBody<MetadataOnlyPatch>,
) -> Api<Site> {
    shared.write(&org_id, |org, _| {
        let site = org
            .sites
            .get_mut(&site_id)
            .ok_or_else(|| ApiError::not_found("site"))?;
        site.metadata = merge_metadata(&site.metadata, &patch.metadata)?;
        Ok(Json(site.clone()))
    })
}

pub(super) async fn list_gadgets(
    State(shared): State<Arc<Shared>>,
    Extension(OrgId(org_id)): Extension<OrgId>,
    params: Params,
) -> Api<Page<Gadget>> {
    let options = ListOptions::parse(&params)?;
    let site_id = params.get("site_id").map(str::to_owned);
    shared.read(&org_id, |org| {
        let page = paginate(&org.gadgets, &options, |gadget| {
            site_id.as_ref().is_none_or(|site| &gadget.site_id == site)
        });
        Ok(Json(page))
    })
}

pub(super) async fn get_gadget(
    State(shared): State<Arc<Shared>>,
    Extension(OrgId(org_id)): Extension<OrgId>,
    Path(gadget_id): Path<String>,
) -> Api<Gadget> {
    shared.read(&org_id, |org| {
        org.gadgets
            .get(&gadget_id)
            .cloned()
            .map(Json)
            .ok_or_else(|| ApiError::not_found("gadget"))
    })
}

pub(super) async fn patch_gadget(
    State(shared): State<Arc<Shared>>,
    Extension(OrgId(org_id)): Extension<OrgId>,
    Path(gadget_id): Path<String>,
    JsonBody(patch): JsonBody<MetadataOnlyPatch>,
) -> Api<Gadget> {
    shared.write(&org_id, |org, _| {
        let gadget = org
            .gadgets
            .get_mut(&gadget_id)
            .ok_or_else(|| ApiError::not_found("gadget"))?;
        gadget.metadata = merge_metadata(&gadget.metadata, &patch.metadata)?;
        Ok(Json(gadget.clone()))
    })
}
