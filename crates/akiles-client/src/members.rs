//! Members: the people who open doors (`/members`).

use akiles_types::{Member, MemberPatch, NewMember};
use futures_util::TryStreamExt;

use crate::client::{Call, Client};
use crate::error::ClientError;
use crate::pagination::{ListStream, paginate};
use crate::query::{MemberExpand, MemberQuery, expand_pair, page_size};

impl Client {
    /// `GET /members`: members matching `query`, newest first, page by page.
    pub fn list_members(&self, query: &MemberQuery) -> ListStream<Member> {
        let call = Call::get("/members", &["members"]).with_query(query.to_pairs());
        paginate(self.clone(), call, page_size(query.limit))
    }

    /// All members matching `query` at once; see [`Client::list_members`].
    pub async fn list_members_all(&self, query: &MemberQuery) -> Result<Vec<Member>, ClientError> {
        self.list_members(query).try_collect().await
    }

    /// `GET /members/{id}`, with the arrays named in `expand`. A soft-deleted member is
    /// returned with `is_deleted: true`, not as an error.
    pub async fn member(&self, id: &str, expand: &[MemberExpand]) -> Result<Member, ClientError> {
        let call =
            Call::get("/members/{member_id}", &["members", id]).with_query(expand_pair(expand));
        self.send(call).await
    }

    /// `POST /members`. Not retried once it may have reached the server: on an error with
    /// [`ClientError::may_have_applied`], look the member up before creating it again.
    pub async fn create_member(&self, member: &NewMember) -> Result<Member, ClientError> {
        self.send(Call::create("/members", &["members"], member)?)
            .await
    }

    /// `PATCH /members/{id}`.
    pub async fn update_member(
        &self,
        id: &str,
        patch: &MemberPatch,
    ) -> Result<Member, ClientError> {
        self.send(Call::patch(
            "/members/{member_id}",
            &["members", id],
            patch,
        )?)
        .await
    }

    /// `DELETE /members/{id}` (soft delete): returns the member, now marked deleted.
    /// [`ClientError::NotFound`] means there is no such member.
    pub async fn delete_member(&self, id: &str) -> Result<Member, ClientError> {
        self.send(Call::delete("/members/{member_id}", &["members", id]))
            .await
    }
}
