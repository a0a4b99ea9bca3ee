//! Magic links of a member (`/members/{member_id}/magic_links`). The secret URL is only
//! in the answer of [`Client::reveal_magic_link`].

use akiles_types::{MemberMagicLink, MetadataOnlyPatch, NewMemberMagicLink};
use futures_util::TryStreamExt;

use crate::client::{Call, Client};
use crate::error::ClientError;
use crate::pagination::{ListStream, paginate};
use crate::query::MAX_PAGE_SIZE;

const LIST: &str = "/members/{member_id}/magic_links";
const ONE: &str = "/members/{member_id}/magic_links/{member_magic_link_id}";
const REVEAL: &str = "/members/{member_id}/magic_links/{member_magic_link_id}/reveal";

impl Client {
    /// `GET /members/{member_id}/magic_links`.
    pub fn list_member_magic_links(&self, member_id: &str) -> ListStream<MemberMagicLink> {
        let call = Call::get(LIST, &["members", member_id, "magic_links"]);
        paginate(self.clone(), call, MAX_PAGE_SIZE)
    }

    /// All magic links of a member at once; see [`Client::list_member_magic_links`].
    pub async fn list_member_magic_links_all(
        &self,
        member_id: &str,
    ) -> Result<Vec<MemberMagicLink>, ClientError> {
        self.list_member_magic_links(member_id).try_collect().await
    }

    /// `POST /members/{member_id}/magic_links`. Not retried once it may have reached the
    /// server.
    pub async fn create_member_magic_link(
        &self,
        member_id: &str,
        link: &NewMemberMagicLink,
    ) -> Result<MemberMagicLink, ClientError> {
        self.send(Call::create(
            LIST,
            &["members", member_id, "magic_links"],
            link,
        )?)
        .await
    }

    /// `PATCH /members/{member_id}/magic_links/{id}`: only metadata can change.
    pub async fn update_member_magic_link(
        &self,
        member_id: &str,
        link_id: &str,
        patch: &MetadataOnlyPatch,
    ) -> Result<MemberMagicLink, ClientError> {
        let path = ["members", member_id, "magic_links", link_id];
        self.send(Call::patch(ONE, &path, patch)?).await
    }

    /// `DELETE /members/{member_id}/magic_links/{id}`: returns the link, marked deleted.
    pub async fn delete_member_magic_link(
        &self,
        member_id: &str,
        link_id: &str,
    ) -> Result<MemberMagicLink, ClientError> {
        self.send(Call::delete(
            ONE,
            &["members", member_id, "magic_links", link_id],
        ))
        .await
    }

    /// `POST /members/{member_id}/magic_links/{id}/reveal`: the link with its secret
    /// `link` URL. Never log the result.
    pub async fn reveal_magic_link(
        &self,
        member_id: &str,
        link_id: &str,
    ) -> Result<MemberMagicLink, ClientError> {
        let path = ["members", member_id, "magic_links", link_id, "reveal"];
        self.send(Call::reveal(REVEAL, &path)).await
    }
}
