//! `/members/{member_id}/group_associations`: a member's memberships in member groups.

use std::sync::Arc;

use akiles_types::{GroupAssociation, GroupAssociationPatch, NewGroupAssociation, Page};
use axum::extract::{Path, State};
use axum::{Extension, Json};

use super::{delete_owned, owned, owned_mut};
use crate::body::{JsonBody, check_metadata, merge_metadata, require_non_empty};
use crate::error::ApiError;
use crate::faults::OrgId;
use crate::list::{ListOptions, Params, paginate};
use crate::state::{Shared, now};

type Api<T> = Result<Json<T>, ApiError>;

pub(super) async fn list_associations(
    State(shared): State<Arc<Shared>>,
    Extension(OrgId(org_id)): Extension<OrgId>,
    Path(member_id): Path<String>,
    params: Params,
) -> Api<Page<GroupAssociation>> {
    let options = ListOptions::parse(&params)?;
    let group_id = params.get("member_group_id").map(str::to_owned);
    shared.read(&org_id, |org| {
        org.member(&member_id)?;
        let page = paginate(&org.group_associations, &options, |a| {
            a.member_id == member_id && group_id.as_ref().is_none_or(|g| &a.member_group_id == g)
        });
        Ok(Json(page))
    })
}

pub(super) async fn get_association(
    State(shared): State<Arc<Shared>>,
    Extension(OrgId(org_id)): Extension<OrgId>,
    Path((member_id, association_id)): Path<(String, String)>,
) -> Api<GroupAssociation> {
    shared.read(&org_id, |org| {
        let association = owned(org, &org.group_associations, &member_id, &association_id)?;
        Ok(Json(association.clone()))
    })
}

pub(super) async fn create_association(
    State(shared): State<Arc<Shared>>,
    Extension(OrgId(org_id)): Extension<OrgId>,
    Path(member_id): Path<String>,
    JsonBody(new): JsonBody<NewGroupAssociation>,
) -> Api<GroupAssociation> {
    require_non_empty("member_group_id", &new.member_group_id)?;
    check_metadata(&new.metadata)?;

    shared.write(&org_id, |org, ids| {
        org.live_member(&member_id)?;
        let group_is_live = org
            .member_groups
            .get(&new.member_group_id)
            .is_some_and(|g| !g.is_deleted);
        if !group_is_live {
            let error = ApiError::not_found("member group");
            return Err(error.arg("member_group_id", new.member_group_id));
        }

        let created_at = now();
        let association = GroupAssociation {
            id: ids.mint("mga", created_at),
            organization_id: org_id.clone(),
            member_id: member_id.clone(),
            member_group_id: new.member_group_id,
            starts_at: new.starts_at,
            ends_at: new.ends_at,
            is_deleted: false,
            created_at: Some(created_at),
            metadata: new.metadata,
        };
        org.group_associations
            .insert(association.id.clone(), association.clone());
        Ok(Json(association))
    })
}

pub(super) async fn patch_association(
    State(shared): State<Arc<Shared>>,
    Extension(OrgId(org_id)): Extension<OrgId>,
    Path((member_id, association_id)): Path<(String, String)>,
    JsonBody(patch): JsonBody<GroupAssociationPatch>,
) -> Api<GroupAssociation> {
    shared.write(&org_id, |org, _| {
        org.member(&member_id)?;
        let association = owned_mut(&mut org.group_associations, &member_id, &association_id)?;
        let metadata = match &patch.metadata {
            Some(changes) => merge_metadata(&association.metadata, changes)?,
            None => association.metadata.clone(),
        };
        if let Some(starts_at) = patch.starts_at {
            association.starts_at = starts_at;
        }
        if let Some(ends_at) = patch.ends_at {
            association.ends_at = ends_at;
        }
        association.metadata = metadata;
        Ok(Json(association.clone()))
    })
}

pub(super) async fn delete_association(
    State(shared): State<Arc<Shared>>,
    Extension(OrgId(org_id)): Extension<OrgId>,
    Path((member_id, association_id)): Path<(String, String)>,
) -> Api<GroupAssociation> {
    shared.write(&org_id, |org, _| {
        let association = delete_owned(
            org,
            |o| &mut o.group_associations,
            &member_id,
            &association_id,
        )?;
        Ok(Json(association))
    })
}
