//! The sync engine's view of Akiles: the calls it makes, behind a trait.
//!
//! [`Akiles`] is implemented for [`akiles_client::Client`]; tests may wrap it to inject
//! faults at this seam. Every member returned carries its sub-objects (associations,
//! e-mails, PINs, magic links, cards) expanded.

use akiles_client::ClientError;
use akiles_types::{
    GroupAssociation, Member, MemberCard, MemberEmail, MemberGroup, MemberMagicLink, MemberPatch,
    NewGroupAssociation, NewMember, NewMemberCard, NewMemberEmail, NewMemberMagicLink,
    NewMemberPin,
};
use async_trait::async_trait;
use secrecy::SecretString;

/// What the engine needs from Akiles.
#[async_trait]
pub trait Akiles: Send + Sync {
    /// Every live member group.
    async fn member_groups(&self) -> Result<Vec<MemberGroup>, ClientError>;
    /// Every live member carrying the ownership marker of `tenant`, expanded.
    async fn owned_members(&self, tenant: &str) -> Result<Vec<Member>, ClientError>;
    /// The live members of `tenant` standing for one employee, expanded.
    async fn owned_members_of(
        &self,
        tenant: &str,
        employee_id: &str,
    ) -> Result<Vec<Member>, ClientError>;

    async fn create_member(&self, body: &NewMember) -> Result<Member, ClientError>;
    async fn update_member(&self, id: &str, patch: &MemberPatch) -> Result<Member, ClientError>;
    async fn delete_member(&self, id: &str) -> Result<(), ClientError>;

    async fn create_association(
        &self,
        member_id: &str,
        body: &NewGroupAssociation,
    ) -> Result<GroupAssociation, ClientError>;
    async fn delete_association(&self, member_id: &str, id: &str) -> Result<(), ClientError>;

    async fn create_email(
        &self,
        member_id: &str,
        body: &NewMemberEmail,
    ) -> Result<MemberEmail, ClientError>;
    async fn delete_email(&self, member_id: &str, id: &str) -> Result<(), ClientError>;

    /// Creates a PIN and returns its id. The revealed digits are dropped here, unseen.
    async fn create_pin(&self, member_id: &str, body: &NewMemberPin)
    -> Result<String, ClientError>;
    async fn delete_pin(&self, member_id: &str, id: &str) -> Result<(), ClientError>;

    async fn create_magic_link(
        &self,
        member_id: &str,
        body: &NewMemberMagicLink,
    ) -> Result<MemberMagicLink, ClientError>;
    async fn delete_magic_link(&self, member_id: &str, id: &str) -> Result<(), ClientError>;

    async fn create_card(
        &self,
        member_id: &str,
        body: &NewMemberCard,
    ) -> Result<MemberCard, ClientError>;
    async fn delete_card(&self, member_id: &str, id: &str) -> Result<(), ClientError>;

    /// The digits of a live PIN, fetched only to send them to the employee; `None` when
    /// Akiles returns the PIN without them or marked deleted. Never log or store them.
    async fn reveal_pin(
        &self,
        member_id: &str,
        pin_id: &str,
    ) -> Result<Option<SecretString>, ClientError>;
    /// The secret URL of a live magic link, like [`Akiles::reveal_pin`].
    async fn reveal_magic_link(
        &self,
        member_id: &str,
        link_id: &str,
    ) -> Result<Option<SecretString>, ClientError>;
}
