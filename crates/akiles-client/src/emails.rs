//! E-mail addresses of a member (`/members/{member_id}/emails`).

use akiles_types::{MemberEmail, MetadataOnlyPatch, NewMemberEmail};
use futures_util::TryStreamExt;

use crate::client::{Call, Client};
use crate::error::ClientError;
use crate::pagination::{ListStream, paginate};
use crate::query::MAX_PAGE_SIZE;

const LIST: &str = "/members/{member_id}/emails";
const ONE: &str = "/members/{member_id}/emails/{member_email_id}";

impl Client {
    /// `GET /members/{member_id}/emails`.
    pub fn list_member_emails(&self, member_id: &str) -> ListStream<MemberEmail> {
        let call = Call::get(LIST, &["members", member_id, "emails"]);
        paginate(self.clone(), call, MAX_PAGE_SIZE)
    }

    /// All e-mails of a member at once; see [`Client::list_member_emails`].
    pub async fn list_member_emails_all(
        &self,
        member_id: &str,
    ) -> Result<Vec<MemberEmail>, ClientError> {
        self.list_member_emails(member_id).try_collect().await
    }

    /// `POST /members/{member_id}/emails`. Not retried once it may have reached the server.
    pub async fn create_member_email(
        &self,
        member_id: &str,
        email: &NewMemberEmail,
    ) -> Result<MemberEmail, ClientError> {
        self.send(Call::create(
            LIST,
            &["members", member_id, "emails"],
            email,
        )?)
        .await
    }

    /// `PATCH /members/{member_id}/emails/{id}`: only metadata can change.
    pub async fn update_member_email(
        &self,
        member_id: &str,
        email_id: &str,
        patch: &MetadataOnlyPatch,
    ) -> Result<MemberEmail, ClientError> {
        self.send(Call::patch(
            ONE,
            &["members", member_id, "emails", email_id],
            patch,
        )?)
        .await
    }

    /// `DELETE /members/{member_id}/emails/{id}`: returns the e-mail, marked deleted.
    pub async fn delete_member_email(
        &self,
        member_id: &str,
        email_id: &str,
    ) -> Result<MemberEmail, ClientError> {
        self.send(Call::delete(
            ONE,
            &["members", member_id, "emails", email_id],
        ))
        .await
    }
}
