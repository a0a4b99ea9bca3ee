//! Cards bound to a member (`/members/{member_id}/cards`).

use akiles_types::{MemberCard, MetadataOnlyPatch, NewMemberCard};
use futures_util::TryStreamExt;

use crate::client::{Call, Client};
use crate::error::ClientError;
use crate::pagination::{ListStream, paginate};
use crate::query::MAX_PAGE_SIZE;

const LIST: &str = "/members/{member_id}/cards";
const ONE: &str = "/members/{member_id}/cards/{member_card_id}";

impl Client {
    /// `GET /members/{member_id}/cards`.
    pub fn list_member_cards(&self, member_id: &str) -> ListStream<MemberCard> {
        let call = Call::get(LIST, &["members", member_id, "cards"]);
        paginate(self.clone(), call, MAX_PAGE_SIZE)
    }

    /// All cards of a member at once; see [`Client::list_member_cards`].
    pub async fn list_member_cards_all(
        &self,
        member_id: &str,
    ) -> Result<Vec<MemberCard>, ClientError> {
        self.list_member_cards(member_id).try_collect().await
    }

    /// `POST /members/{member_id}/cards`: binds a card by `card_id`, `uid` or
    /// `printed_code`. Not retried once it may have reached the server.
    pub async fn create_member_card(
        &self,
        member_id: &str,
        card: &NewMemberCard,
    ) -> Result<MemberCard, ClientError> {
        self.send(Call::create(LIST, &["members", member_id, "cards"], card)?)
            .await
    }

    /// `PATCH /members/{member_id}/cards/{id}`: only metadata can change.
    pub async fn update_member_card(
        &self,
        member_id: &str,
        card_id: &str,
        patch: &MetadataOnlyPatch,
    ) -> Result<MemberCard, ClientError> {
        self.send(Call::patch(
            ONE,
            &["members", member_id, "cards", card_id],
            patch,
        )?)
        .await
    }

    /// `DELETE /members/{member_id}/cards/{id}`: returns the binding, marked deleted.
    pub async fn delete_member_card(
        &self,
        member_id: &str,
        card_id: &str,
    ) -> Result<MemberCard, ClientError> {
        self.send(Call::delete(ONE, &["members", member_id, "cards", card_id]))
            .await
    }
}
