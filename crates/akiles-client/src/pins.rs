//! Keypad PINs of a member (`/members/{member_id}/pins`). The digits are only in the
//! answers of [`Client::create_member_pin`] and [`Client::reveal_member_pin`].

use akiles_types::{MemberPin, MetadataOnlyPatch, NewMemberPin};
use futures_util::TryStreamExt;

use crate::client::{Call, Client};
use crate::error::ClientError;
use crate::pagination::{ListStream, paginate};
use crate::query::MAX_PAGE_SIZE;

const LIST: &str = "/members/{member_id}/pins";
const ONE: &str = "/members/{member_id}/pins/{member_pin_id}";
const REVEAL: &str = "/members/{member_id}/pins/{member_pin_id}/reveal";

impl Client {
    /// `GET /members/{member_id}/pins` (without the digits).
    pub fn list_member_pins(&self, member_id: &str) -> ListStream<MemberPin> {
        let call = Call::get(LIST, &["members", member_id, "pins"]);
        paginate(self.clone(), call, MAX_PAGE_SIZE)
    }

    /// All PINs of a member at once; see [`Client::list_member_pins`].
    pub async fn list_member_pins_all(
        &self,
        member_id: &str,
    ) -> Result<Vec<MemberPin>, ClientError> {
        self.list_member_pins(member_id).try_collect().await
    }

    /// `POST /members/{member_id}/pins`: returns the PIN with its digits in `pin`. Send
    /// `length` to let Akiles choose the digits. Not retried once it may have reached the
    /// server. A PIN already used in the organization fails with `invalid_request`.
    pub async fn create_member_pin(
        &self,
        member_id: &str,
        pin: &NewMemberPin,
    ) -> Result<MemberPin, ClientError> {
        self.send(Call::create(LIST, &["members", member_id, "pins"], pin)?)
            .await
    }

    /// `PATCH /members/{member_id}/pins/{id}`: only metadata can change.
    pub async fn update_member_pin(
        &self,
        member_id: &str,
        pin_id: &str,
        patch: &MetadataOnlyPatch,
    ) -> Result<MemberPin, ClientError> {
        self.send(Call::patch(
            ONE,
            &["members", member_id, "pins", pin_id],
            patch,
        )?)
        .await
    }

    /// `DELETE /members/{member_id}/pins/{id}`: returns the PIN, marked deleted.
    pub async fn delete_member_pin(
        &self,
        member_id: &str,
        pin_id: &str,
    ) -> Result<MemberPin, ClientError> {
        self.send(Call::delete(ONE, &["members", member_id, "pins", pin_id]))
            .await
    }

    /// `POST /members/{member_id}/pins/{id}/reveal`: the PIN with its digits. Never log
    /// the result.
    pub async fn reveal_member_pin(
        &self,
        member_id: &str,
        pin_id: &str,
    ) -> Result<MemberPin, ClientError> {
        let path = ["members", member_id, "pins", pin_id, "reveal"];
        self.send(Call::reveal(REVEAL, &path)).await
    }
}
