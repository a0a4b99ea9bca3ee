//! Member groups: the unit that grants doors to members (`/member_groups`).

use akiles_types::{MemberGroup, Metadata, MetadataPatch, PermissionRule};
use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};

use crate::client::{Call, Client};
use crate::error::ClientError;
use crate::pagination::{ListStream, paginate};
use crate::query::{MemberGroupQuery, page_size};

/// Body of `POST /member_groups`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct NewMemberGroup {
    /// Display name; required.
    pub name: String,
    /// What the group opens, when and how.
    #[serde(default)]
    pub permissions: Vec<PermissionRule>,
    /// Free key/value data, e.g. who manages the group.
    #[serde(default)]
    pub metadata: Metadata,
}

/// Body of `PATCH /member_groups/{id}`. `None` fields are not sent and stay unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MemberGroupPatch {
    /// New name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New rules; they replace the whole list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<PermissionRule>>,
    /// Keys to set, or to delete with `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<MetadataPatch>,
}

impl Client {
    /// `GET /member_groups`: groups matching `query`, newest first.
    pub fn list_member_groups(&self, query: &MemberGroupQuery) -> ListStream<MemberGroup> {
        let call = Call::get("/member_groups", &["member_groups"]).with_query(query.to_pairs());
        paginate(self.clone(), call, page_size(query.limit))
    }

    /// All groups matching `query` at once; see [`Client::list_member_groups`].
    pub async fn list_member_groups_all(
        &self,
        query: &MemberGroupQuery,
    ) -> Result<Vec<MemberGroup>, ClientError> {
        self.list_member_groups(query).try_collect().await
    }

    /// `GET /member_groups/{id}`.
    pub async fn member_group(&self, id: &str) -> Result<MemberGroup, ClientError> {
        self.send(Call::get(
            "/member_groups/{member_group_id}",
            &["member_groups", id],
        ))
        .await
    }

    /// `POST /member_groups`. Not retried once it may have reached the server.
    pub async fn create_member_group(
        &self,
        group: &NewMemberGroup,
    ) -> Result<MemberGroup, ClientError> {
        self.send(Call::create("/member_groups", &["member_groups"], group)?)
            .await
    }

    /// `PATCH /member_groups/{id}`.
    pub async fn update_member_group(
        &self,
        id: &str,
        patch: &MemberGroupPatch,
    ) -> Result<MemberGroup, ClientError> {
        let route = "/member_groups/{member_group_id}";
        self.send(Call::patch(route, &["member_groups", id], patch)?)
            .await
    }

    /// `DELETE /member_groups/{id}`: returns the group, now marked deleted.
    pub async fn delete_member_group(&self, id: &str) -> Result<MemberGroup, ClientError> {
        self.send(Call::delete(
            "/member_groups/{member_group_id}",
            &["member_groups", id],
        ))
        .await
    }
}
