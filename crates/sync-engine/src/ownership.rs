//! Ownership metadata: how the sync marks what it created in Akiles, and recognises it.
//!
//! Members carry `managed_by`, `sync_tenant` and `employee_id`; associations and
//! credentials carry `managed_by`. The sync only ever edits or deletes objects that carry
//! the marker, and a tenant only the members carrying its own key, so two tenants
//! connected to one Akiles organization never touch each other's members.

use akiles_types::Metadata;

/// Metadata key of the ownership marker.
pub const MANAGED_BY_KEY: &str = "managed_by";
/// Value of the ownership marker.
pub const MANAGED_BY_VALUE: &str = "akiles-hr-sync";
/// Metadata key holding the tenant that owns a member.
pub const TENANT_KEY: &str = "sync_tenant";
/// Metadata key holding the HR employee id on a member.
pub const EMPLOYEE_ID_KEY: &str = "employee_id";
/// Metadata key holding the card a member card stands for (`uid:…` or `printed_code:…`).
pub const CARD_KEY: &str = "card";

/// True when the object was created by this sync.
pub fn is_owned(metadata: &Metadata) -> bool {
    metadata
        .get(MANAGED_BY_KEY)
        .is_some_and(|v| v == MANAGED_BY_VALUE)
}

/// The metadata every owned sub-object (association, credential) is created with.
pub fn owned_marker() -> Metadata {
    Metadata::from([(MANAGED_BY_KEY.to_owned(), MANAGED_BY_VALUE.to_owned())])
}

/// The employee id a member owned by `tenant` stands for; `None` for any other member.
pub fn member_employee_id<'m>(metadata: &'m Metadata, tenant: &str) -> Option<&'m str> {
    let tenant_matches = metadata.get(TENANT_KEY).is_some_and(|t| t == tenant);
    if !is_owned(metadata) || !tenant_matches {
        return None;
    }
    metadata.get(EMPLOYEE_ID_KEY).map(String::as_str)
}
