//! [`Akiles`] for the real client.

use akiles_client::{Client, ClientError, IsDeleted, MemberExpand, MemberGroupQuery, MemberQuery};
use akiles_types::{
    GroupAssociation, Member, MemberCard, MemberEmail, MemberGroup, MemberMagicLink, MemberPatch,
    NewGroupAssociation, NewMember, NewMemberCard, NewMemberEmail, NewMemberMagicLink,
    NewMemberPin,
};
use async_trait::async_trait;
use secrecy::SecretString;

use crate::akiles::Akiles;
use crate::ownership::{EMPLOYEE_ID_KEY, MANAGED_BY_KEY, MANAGED_BY_VALUE, TENANT_KEY};

fn owned_query(tenant: &str, employee_id: Option<&str>) -> MemberQuery {
    let mut query = MemberQuery::by_metadata(MANAGED_BY_KEY, MANAGED_BY_VALUE);
    query
        .metadata
        .push((TENANT_KEY.to_owned(), tenant.to_owned()));
    if let Some(id) = employee_id {
        query
            .metadata
            .push((EMPLOYEE_ID_KEY.to_owned(), id.to_owned()));
    }
    query.is_deleted = Some(IsDeleted::False);
    query.expand = MemberExpand::ALL.to_vec();
    query
}

/// Fills sub-object arrays a server did not expand, one list call each.
// Akiles documents `expand` on every operation, but which values each endpoint accepts is
// not in the readable docs; this keeps the sync correct where an expand is ignored.
async fn complete(client: &Client, mut member: Member) -> Result<Member, ClientError> {
    if member.group_associations.is_none() {
        member.group_associations = Some(client.list_group_associations_all(&member.id).await?);
    }
    if member.emails.is_none() {
        member.emails = Some(client.list_member_emails_all(&member.id).await?);
    }
    if member.pins.is_none() {
        member.pins = Some(client.list_member_pins_all(&member.id).await?);
    }
    if member.magic_links.is_none() {
        member.magic_links = Some(client.list_member_magic_links_all(&member.id).await?);
    }
    if member.cards.is_none() {
        member.cards = Some(client.list_member_cards_all(&member.id).await?);
    }
    Ok(member)
}

async fn owned(
    client: &Client,
    tenant: &str,
    employee_id: Option<&str>,
) -> Result<Vec<Member>, ClientError> {
    let members = client
        .list_members_all(&owned_query(tenant, employee_id))
        .await?;
    let mut complete_members = Vec::with_capacity(members.len());
    for member in members {
        complete_members.push(complete(client, member).await?);
    }
    Ok(complete_members)
}

#[async_trait]
impl Akiles for Client {
    async fn member_groups(&self) -> Result<Vec<MemberGroup>, ClientError> {
        self.list_member_groups_all(&MemberGroupQuery::default())
            .await
    }

    async fn owned_members(&self, tenant: &str) -> Result<Vec<Member>, ClientError> {
        owned(self, tenant, None).await
    }

    async fn owned_members_of(
        &self,
        tenant: &str,
        employee_id: &str,
    ) -> Result<Vec<Member>, ClientError> {
        owned(self, tenant, Some(employee_id)).await
    }

    async fn create_member(&self, body: &NewMember) -> Result<Member, ClientError> {
        Client::create_member(self, body).await
    }

    async fn update_member(&self, id: &str, patch: &MemberPatch) -> Result<Member, ClientError> {
        Client::update_member(self, id, patch).await
    }

    async fn delete_member(&self, id: &str) -> Result<(), ClientError> {
        Client::delete_member(self, id).await.map(drop)
    }

    async fn create_association(
        &self,
        member_id: &str,
        body: &NewGroupAssociation,
    ) -> Result<GroupAssociation, ClientError> {
        self.create_group_association(member_id, body).await
    }

    async fn delete_association(&self, member_id: &str, id: &str) -> Result<(), ClientError> {
        self.delete_group_association(member_id, id).await.map(drop)
    }

    async fn create_email(
        &self,
        member_id: &str,
        body: &NewMemberEmail,
    ) -> Result<MemberEmail, ClientError> {
        self.create_member_email(member_id, body).await
    }

    async fn delete_email(&self, member_id: &str, id: &str) -> Result<(), ClientError> {
        self.delete_member_email(member_id, id).await.map(drop)
    }

    async fn create_pin(
        &self,
        member_id: &str,
        body: &NewMemberPin,
    ) -> Result<String, ClientError> {
        // The revealed digits are dropped right here: they are never stored or logged.
        self.create_member_pin(member_id, body)
            .await
            .map(|pin| pin.id)
    }

    async fn delete_pin(&self, member_id: &str, id: &str) -> Result<(), ClientError> {
        self.delete_member_pin(member_id, id).await.map(drop)
    }

    async fn create_magic_link(
        &self,
        member_id: &str,
        body: &NewMemberMagicLink,
    ) -> Result<MemberMagicLink, ClientError> {
        self.create_member_magic_link(member_id, body).await
    }

    async fn delete_magic_link(&self, member_id: &str, id: &str) -> Result<(), ClientError> {
        self.delete_member_magic_link(member_id, id).await.map(drop)
    }

    async fn create_card(
        &self,
        member_id: &str,
        body: &NewMemberCard,
    ) -> Result<MemberCard, ClientError> {
        self.create_member_card(member_id, body).await
    }

    async fn delete_card(&self, member_id: &str, id: &str) -> Result<(), ClientError> {
        self.delete_member_card(member_id, id).await.map(drop)
    }

    async fn reveal_pin(
        &self,
        member_id: &str,
        pin_id: &str,
    ) -> Result<Option<SecretString>, ClientError> {
        let pin = self.reveal_member_pin(member_id, pin_id).await?;
        Ok(pin.pin.filter(|_| !pin.is_deleted).map(SecretString::from))
    }

    async fn reveal_magic_link(
        &self,
        member_id: &str,
        link_id: &str,
    ) -> Result<Option<SecretString>, ClientError> {
        let link = Client::reveal_magic_link(self, member_id, link_id).await?;
        Ok(link
            .link
            .filter(|_| !link.is_deleted)
            .map(SecretString::from))
    }
}
