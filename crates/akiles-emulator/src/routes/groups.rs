//! `/member_groups`: full CRUD. `q` searches names; PATCH `permissions` replaces the list.

use std::sync::Arc;

use akiles_types::{MemberGroup, Metadata, MetadataPatch, Page, PermissionRule};
use axum::extract::{Path, State};
use axum::{Extension, Json};
use serde::Deserialize;

use crate::body::{JsonBody, check_metadata, merge_metadata, require_non_empty};
use crate::error::ApiError;
use crate::faults::OrgId;
use crate::list::{ListOptions, Params, paginate};
use crate::state::{Shared, now};

type Api<T> = Result<Json<T>, ApiError>;

/// Body of `POST /member_groups` (not in `akiles-types`).
#[derive(Debug, Deserialize)]
pub(super) struct NewMemberGroup {
    name: String,
    #[serde(default)]
    permissions: Vec<PermissionRule>,
    #[serde(default)]
    metadata: Metadata,
}

/// Body of `PATCH /member_groups/{id}` (not in `akiles-types`).
#[derive(Debug, Deserialize)]
pub(super) struct MemberGroupPatch {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    permissions: Option<Vec<PermissionRule>>,
    #[serde(default)]
    metadata: Option<MetadataPatch>,
}

pub(super) async fn list_groups(
    State(shared): State<Arc<Shared>>,
    Extension(OrgId(org_id)): Extension<OrgId>,
    params: Params,
) -> Api<Page<MemberGroup>> {
    let options = ListOptions::parse(&params)?;
    let q = params.get("q").map(str::to_lowercase);
    shared.read(&org_id, |org| {
        let page = paginate(&org.member_groups, &options, |group| {
            q.as_ref()
                .is_none_or(|q| group.name.to_lowercase().contains(q))
        });
        Ok(Json(page))
    })
}

pub(super) async fn get_group(
    State(shared): State<Arc<Shared>>,
    Extension(OrgId(org_id)): Extension<OrgId>,
    Path(group_id): Path<String>,
) -> Api<MemberGroup> {
    shared.read(&org_id, |org| {
        let group = org.member_groups.get(&group_id);
        group
            .cloned()
            .map(Json)
            .ok_or_else(|| ApiError::not_found("member group"))
    })
}

pub(super) async fn create_group(
    State(shared): State<Arc<Shared>>,
    Extension(OrgId(org_id)): Extension<OrgId>,
    JsonBody(new): JsonBody<NewMemberGroup>,
) -> Api<MemberGroup> {
    require_non_empty("name", &new.name)?;
    check_metadata(&new.metadata)?;

    shared.write(&org_id, |org, ids| {
        let created_at = now();
        let group = MemberGroup {
            id: ids.mint("mg", created_at),
            organization_id: org_id.clone(),
            name: new.name,
            permissions: new.permissions,
            is_deleted: false,
            created_at: Some(created_at),
            metadata: new.metadata,
        };
        org.member_groups.insert(group.id.clone(), group.clone());
        Ok(Json(group))
    })
}

pub(super) async fn patch_group(
    State(shared): State<Arc<Shared>>,
    Extension(OrgId(org_id)): Extension<OrgId>,
    Path(group_id): Path<String>,
    JsonBody(patch): JsonBody<MemberGroupPatch>,
) -> Api<MemberGroup> {
    if let Some(name) = &patch.name {
        require_non_empty("name", name)?;
    }

    shared.write(&org_id, |org, _| {
        let group = org.member_groups.get_mut(&group_id);
        let group = group.ok_or_else(|| ApiError::not_found("member group"))?;
        let metadata = match &patch.metadata {
            Some(changes) => merge_metadata(&group.metadata, changes)?,
            None => group.metadata.clone(),
        };
        if let Some(name) = patch.name {
            group.name = name;
        }
        if let Some(permissions) = patch.permissions {
            group.permissions = permissions;
        }
        group.metadata = metadata;
        Ok(Json(group.clone()))
    })
}

pub(super) async fn delete_group(
    State(shared): State<Arc<Shared>>,
    Extension(OrgId(org_id)): Extension<OrgId>,
    Path(group_id): Path<String>,
) -> Api<MemberGroup> {
    shared.write(&org_id, |org, _| {
        let group = org.member_groups.get_mut(&group_id);
        let group = group.ok_or_else(|| ApiError::not_found("member group"))?;
        group.is_deleted = true;
        Ok(Json(group.clone()))
    })
}
