//! A member's memberships in member groups, each with its own validity window
//! (`/members/{member_id}/group_associations`).

use akiles_types::{GroupAssociation, GroupAssociationPatch, NewGroupAssociation};
use futures_util::TryStreamExt;

use crate::client::{Call, Client};
use crate::error::ClientError;
use crate::pagination::{ListStream, paginate};
use crate::query::MAX_PAGE_SIZE;

const LIST: &str = "/members/{member_id}/group_associations";
const ONE: &str = "/members/{member_id}/group_associations/{member_group_association_id}";
const SEGMENT: &str = "group_associations";

impl Client {
    /// `GET /members/{member_id}/group_associations`.
    pub fn list_group_associations(&self, member_id: &str) -> ListStream<GroupAssociation> {
        let call = Call::get(LIST, &["members", member_id, SEGMENT]);
        paginate(self.clone(), call, MAX_PAGE_SIZE)
    }

    /// All associations of a member at once; see [`Client::list_group_associations`].
    pub async fn list_group_associations_all(
        &self,
        member_id: &str,
    ) -> Result<Vec<GroupAssociation>, ClientError> {
        self.list_group_associations(member_id).try_collect().await
    }

    /// `POST /members/{member_id}/group_associations`: puts the member in a group. Not
    /// retried once it may have reached the server.
    pub async fn create_group_association(
        &self,
        member_id: &str,
        association: &NewGroupAssociation,
    ) -> Result<GroupAssociation, ClientError> {
        self.send(Call::create(
            LIST,
            &["members", member_id, SEGMENT],
            association,
        )?)
        .await
    }

    /// `PATCH /members/{member_id}/group_associations/{id}`: window and metadata.
    pub async fn update_group_association(
        &self,
        member_id: &str,
        association_id: &str,
        patch: &GroupAssociationPatch,
    ) -> Result<GroupAssociation, ClientError> {
        let path = ["members", member_id, SEGMENT, association_id];
        self.send(Call::patch(ONE, &path, patch)?).await
    }

    /// `DELETE /members/{member_id}/group_associations/{id}`: returns the association,
    /// marked deleted.
    pub async fn delete_group_association(
        &self,
        member_id: &str,
        association_id: &str,
    ) -> Result<GroupAssociation, ClientError> {
        self.send(Call::delete(
            ONE,
            &["members", member_id, SEGMENT, association_id],
        ))
        .await
    }
}
