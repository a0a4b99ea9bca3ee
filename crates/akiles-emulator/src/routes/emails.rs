//! `/members/{member_id}/emails`: addresses a member logs in with.

use std::sync::Arc;

use akiles_types::{MemberEmail, MetadataOnlyPatch, NewMemberEmail, Page};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};

use super::{delete_owned, owned, patch_owned};
use crate::body::{JsonBody, check_metadata};
use crate::error::ApiError;
use crate::faults::OrgId;
use crate::list::{ListOptions, Params, paginate};
use crate::state::{OrgState, Shared, now};

type Api<T> = Result<Json<T>, ApiError>;

/// Whether `email` looks like an address: one `@`, both sides non-empty, no whitespace.
pub fn looks_like_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.is_empty()
        && !domain.contains('@')
        && !email.chars().any(char::is_whitespace)
}

/// 409 when another live member holds `email` as a live email.
fn check_email_free(org: &OrgState, member_id: &str, email: &str) -> Result<(), ApiError> {
    let email = email.to_lowercase();
    let taken = org.emails.values().any(|e| {
        !e.is_deleted
            && e.member_id != member_id
            && e.email.to_lowercase() == email
            && org.members.get(&e.member_id).is_some_and(|m| !m.is_deleted)
    });
    if taken {
        let message = "the email is in use by another member";
        return Err(
            ApiError::new(StatusCode::CONFLICT, "email_in_use", message).arg("field", "email")
        );
    }
    Ok(())
}

pub(super) async fn list_emails(
    State(shared): State<Arc<Shared>>,
    Extension(OrgId(org_id)): Extension<OrgId>,
    Path(member_id): Path<String>,
    params: Params,
) -> Api<Page<MemberEmail>> {
    let options = ListOptions::parse(&params)?;
    let q = params.get("q").map(str::to_lowercase);
    shared.read(&org_id, |org| {
        org.member(&member_id)?;
        let page = paginate(&org.emails, &options, |e| {
            e.member_id == member_id
                && q.as_ref()
                    .is_none_or(|q| e.email.to_lowercase().contains(q))
        });
        Ok(Json(page))
    })
}

pub(super) async fn get_email(
    State(shared): State<Arc<Shared>>,
    Extension(OrgId(org_id)): Extension<OrgId>,
    Path((member_id, email_id)): Path<(String, String)>,
) -> Api<MemberEmail> {
    shared.read(&org_id, |org| {
        Ok(Json(
            owned(org, &org.emails, &member_id, &email_id)?.clone(),
        ))
    })
}

pub(super) async fn create_email(
    State(shared): State<Arc<Shared>>,
    Extension(OrgId(org_id)): Extension<OrgId>,
    Path(member_id): Path<String>,
    JsonBody(new): JsonBody<NewMemberEmail>,
) -> Api<MemberEmail> {
    let address = new.email.trim().to_owned();
    if !looks_like_email(&address) {
        return Err(ApiError::invalid("email", "not a valid email address"));
    }
    check_metadata(&new.metadata)?;

    shared.write(&org_id, |org, ids| {
        org.live_member(&member_id)?;
        check_email_free(org, &member_id, &address)?;
        let created_at = now();
        let email = MemberEmail {
            id: ids.mint("me", created_at),
            organization_id: org_id.clone(),
            member_id: member_id.clone(),
            email: address,
            is_deleted: false,
            created_at: Some(created_at),
            metadata: new.metadata,
        };
        org.emails.insert(email.id.clone(), email.clone());
        Ok(Json(email))
    })
}

pub(super) async fn patch_email(
    State(shared): State<Arc<Shared>>,
    Extension(OrgId(org_id)): Extension<OrgId>,
    Path((member_id, email_id)): Path<(String, String)>,
    JsonBody(patch): JsonBody<MetadataOnlyPatch>,
) -> Api<MemberEmail> {
    shared.write(&org_id, |org, _| {
        let email = patch_owned(
            org,
            |o| &mut o.emails,
            &member_id,
            &email_id,
            &patch.metadata,
        )?;
        Ok(Json(email))
    })
}

pub(super) async fn delete_email(
    State(shared): State<Arc<Shared>>,
    Extension(OrgId(org_id)): Extension<OrgId>,
    Path((member_id, email_id)): Path<(String, String)>,
) -> Api<MemberEmail> {
    shared.write(&org_id, |org, _| {
        Ok(Json(delete_owned(
            org,
            |o| &mut o.emails,
            &member_id,
            &email_id,
        )?))
    })
}

#[cfg(test)]
mod tests {
    use super::looks_like_email;

    #[test]
    fn email_shape_rules() {
        assert!(looks_like_email("ana@example.com"));
        assert!(!looks_like_email("ana.example.com"));
        assert!(!looks_like_email("@example.com"));
        assert!(!looks_like_email("ana@"));
        assert!(!looks_like_email("a@b@c"));
        assert!(!looks_like_email("ana maria@example.com"));
    }
}
