//! Turning records into column values and back, the same way for every backend.
//!
//! Personal data is sealed JSON; the AAD of each sealed column is built here from the
//! column's purpose, the tenant and the employee id, so both backends bind values to the
//! same places. Times are whole unix milliseconds.

use hr_domain::EmployeeId;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::api::{ConnectionState, JobKind, JobState, StoreError, SyncState};
use crate::crypto::DataKey;

/// Which sealed column a value belongs to; part of its AAD.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Column {
    /// `employees.record`
    Employee,
    /// `employee_history.detail`
    History,
    /// `member_links.last_error`
    LinkError,
}

impl Column {
    fn purpose(self) -> &'static str {
        match self {
            Column::Employee => "employee",
            Column::History => "history",
            Column::LinkError => "link_error",
        }
    }
}

/// Where a sealed value lives: its column, tenant and employee.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Place<'a> {
    pub column: Column,
    pub tenant: &'a str,
    pub employee: &'a EmployeeId,
}

/// A place a value can be sealed for: it gives the AAD and a name for errors.
pub(crate) trait Sealing: Copy {
    /// The associated data that binds a sealed value to this place.
    fn aad(&self) -> Vec<u8>;
    /// Names the place in errors: ids only.
    fn describe(&self) -> String;
}

impl Sealing for Place<'_> {
    /// `<purpose>\0<tenant>\0<employee id>`. An employee id holds no control characters, so
    /// the last segment is unambiguous even if a tenant key contained a NUL.
    fn aad(&self) -> Vec<u8> {
        [
            self.column.purpose().as_bytes(),
            b"\0",
            self.tenant.as_bytes(),
            b"\0",
            self.employee.as_str().as_bytes(),
        ]
        .concat()
    }

    fn describe(&self) -> String {
        format!(
            "{} {} of tenant {}",
            self.column.purpose(),
            self.employee,
            self.tenant
        )
    }
}

/// Which sealed column of a tenant-level table a value belongs to; part of its AAD.
#[derive(Debug, Clone, Copy)]
pub(crate) enum TenantColumn {
    /// `jobs.last_error`; the item is the job id.
    JobError,
    /// `tenants.signing_secret`; no item.
    SigningSecret,
    /// `connections.access_token`; no item.
    AccessToken,
    /// `connections.refresh_token`; no item.
    RefreshToken,
    /// `oauth_states.pkce_verifier`; the item is the hash of the state.
    PkceVerifier,
    /// `deliveries.last_error`; the item is the delivery id.
    DeliveryError,
    /// `tenants.smtp_password`; no item.
    SmtpPassword,
}

impl TenantColumn {
    fn purpose(self) -> &'static str {
        match self {
            TenantColumn::JobError => "job_error",
            TenantColumn::SigningSecret => "signing_secret",
            TenantColumn::AccessToken => "access_token",
            TenantColumn::RefreshToken => "refresh_token",
            TenantColumn::PkceVerifier => "pkce_verifier",
            TenantColumn::DeliveryError => "delivery_error",
            TenantColumn::SmtpPassword => "smtp_password",
        }
    }
}

/// Where a sealed value of a tenant-level table lives: column, tenant and row (`""` when
/// the tenant has one such value).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Slot<'a> {
    pub column: TenantColumn,
    pub tenant: &'a str,
    pub item: &'a str,
}

impl Sealing for Slot<'_> {
    /// `<purpose>\0<tenant>\0<item>`; items are ids or hex hashes, without NULs.
    fn aad(&self) -> Vec<u8> {
        [
            self.column.purpose().as_bytes(),
            b"\0",
            self.tenant.as_bytes(),
            b"\0",
            self.item.as_bytes(),
        ]
        .concat()
    }

    fn describe(&self) -> String {
        if self.item.is_empty() {
            format!("{} of tenant {}", self.column.purpose(), self.tenant)
        } else {
            format!(
                "{} {} of tenant {}",
                self.column.purpose(),
                self.item,
                self.tenant
            )
        }
    }
}

/// Seals raw bytes for `place`.
pub(crate) fn seal(
    key: &DataKey,
    place: impl Sealing,
    plaintext: &[u8],
) -> Result<Vec<u8>, StoreError> {
    key.seal(plaintext, &place.aad())
        .map_err(|source| StoreError::Encrypt {
            what: place.describe(),
            source,
        })
}

/// Opens raw bytes sealed for `place`.
pub(crate) fn open(
    key: &DataKey,
    place: impl Sealing,
    sealed: &[u8],
) -> Result<Vec<u8>, StoreError> {
    key.open(sealed, &place.aad())
        .map_err(|_| StoreError::Decrypt {
            what: place.describe(),
        })
}

/// Seals a secret text for `place`.
pub(crate) fn seal_secret(
    key: &DataKey,
    place: impl Sealing,
    secret: &SecretString,
) -> Result<Vec<u8>, StoreError> {
    seal(key, place, secret.expose_secret().as_bytes())
}

/// Opens a secret text sealed for `place`.
pub(crate) fn open_secret(
    key: &DataKey,
    place: impl Sealing,
    sealed: &[u8],
) -> Result<SecretString, StoreError> {
    let bytes = open(key, place, sealed)?;
    let text = String::from_utf8(bytes).map_err(|_| StoreError::Invalid {
        what: place.describe(),
        reason: "not UTF-8",
    })?;
    Ok(SecretString::from(text))
}

/// The lowercase hex SHA-256 of `text`: how API keys and OAuth states are looked up.
pub(crate) fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// JSON of `value`; `what` names it in the error.
pub(crate) fn to_json<T: Serialize + ?Sized>(what: &str, value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|source| StoreError::Encode {
        what: what.to_owned(),
        source,
    })
}

/// JSON text of `value`; `what` names it in the error.
pub(crate) fn to_json_text<T: Serialize + ?Sized>(
    what: &str,
    value: &T,
) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|source| StoreError::Encode {
        what: what.to_owned(),
        source,
    })
}

/// Reads JSON that came out of the database.
pub(crate) fn from_json<T: DeserializeOwned>(what: &str, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|source| StoreError::Corrupt {
        what: what.to_owned(),
        source,
    })
}

/// Serialises `value` and seals it for `place`.
pub(crate) fn seal_json<T: Serialize + ?Sized>(
    key: &DataKey,
    place: impl Sealing,
    value: &T,
) -> Result<Vec<u8>, StoreError> {
    seal(key, place, &to_json(&place.describe(), value)?)
}

/// Opens a value sealed for `place` and reads its JSON.
pub(crate) fn open_json<T: DeserializeOwned>(
    key: &DataKey,
    place: impl Sealing,
    sealed: &[u8],
) -> Result<T, StoreError> {
    from_json(&place.describe(), &open(key, place, sealed)?)
}

/// An instant as whole unix milliseconds (sub-millisecond digits are dropped).
pub(crate) fn to_millis(at: OffsetDateTime) -> i64 {
    at.unix_timestamp() * 1000 + i64::from(at.millisecond())
}

/// Unix milliseconds read from the database as an instant.
pub(crate) fn from_millis(what: &str, millis: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000).map_err(|_| {
        StoreError::Invalid {
            what: what.to_owned(),
            reason: "time out of range",
        }
    })
}

/// An employee id read from the database.
pub(crate) fn employee_id(tenant: &str, text: &str) -> Result<EmployeeId, StoreError> {
    EmployeeId::parse(text).map_err(|_| StoreError::Invalid {
        what: format!("an employee id of tenant {tenant}"),
        reason: "not a valid employee id",
    })
}

/// A job kind read from the database.
pub(crate) fn job_kind(what: &str, text: &str) -> Result<JobKind, StoreError> {
    JobKind::parse(text).ok_or_else(|| StoreError::Invalid {
        what: what.to_owned(),
        reason: "unknown job kind",
    })
}

/// A job state read from the database.
pub(crate) fn job_state(what: &str, text: &str) -> Result<JobState, StoreError> {
    JobState::parse(text).ok_or_else(|| StoreError::Invalid {
        what: what.to_owned(),
        reason: "unknown job state",
    })
}

/// A connection state read from the database.
pub(crate) fn connection_state(what: &str, text: &str) -> Result<ConnectionState, StoreError> {
    ConnectionState::parse(text).ok_or_else(|| StoreError::Invalid {
        what: what.to_owned(),
        reason: "unknown connection state",
    })
}

/// Optional unix milliseconds read from the database.
pub(crate) fn from_millis_opt(
    what: &str,
    millis: Option<i64>,
) -> Result<Option<OffsetDateTime>, StoreError> {
    millis.map(|at| from_millis(what, at)).transpose()
}

/// A sync state read from the database.
pub(crate) fn sync_state(what: &str, text: &str) -> Result<SyncState, StoreError> {
    SyncState::parse(text).ok_or_else(|| StoreError::Invalid {
        what: what.to_owned(),
        reason: "unknown sync state",
    })
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn times_round_trip_through_whole_milliseconds() {
        let at = datetime!(2026-03-01 09:30:15.123_456 UTC);

        let millis = to_millis(at);

        assert_eq!(millis, 1_772_357_415_123);
        assert_eq!(
            from_millis("t", millis).unwrap(),
            datetime!(2026-03-01 09:30:15.123 UTC)
        );
    }

    #[test]
    fn times_before_1970_round_trip_too() {
        let at = datetime!(1969-12-31 23:59:59.250 UTC);

        assert_eq!(from_millis("t", to_millis(at)).unwrap(), at);
    }

    #[test]
    fn aad_names_column_tenant_and_employee() {
        let id = EmployeeId::parse("E-1007").unwrap();
        let place = Place {
            column: Column::LinkError,
            tenant: "acme",
            employee: &id,
        };

        assert_eq!(place.aad(), b"link_error\0acme\0E-1007");
    }

    #[test]
    fn slot_aad_names_column_tenant_and_item() {
        let job = Slot {
            column: TenantColumn::JobError,
            tenant: "acme",
            item: "42",
        };
        let token = Slot {
            column: TenantColumn::AccessToken,
            tenant: "acme",
            item: "",
        };

        assert_eq!(job.aad(), b"job_error\x00acme\x0042");
        assert_eq!(token.aad(), b"access_token\0acme\0");
    }

    #[test]
    fn a_secret_sealed_for_one_tenant_does_not_open_for_another() {
        let key = DataKey::generate();
        let acme = Slot {
            column: TenantColumn::RefreshToken,
            tenant: "acme",
            item: "",
        };
        let globex = Slot {
            tenant: "globex",
            ..acme
        };

        let sealed = seal_secret(&key, acme, &SecretString::from("rt-1")).unwrap();

        assert_eq!(
            open_secret(&key, acme, &sealed).unwrap().expose_secret(),
            "rt-1"
        );
        assert!(matches!(
            open_secret(&key, globex, &sealed),
            Err(StoreError::Decrypt { .. })
        ));
    }

    #[test]
    fn sha256_hex_is_lowercase_hex_of_the_digest() {
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn a_value_sealed_for_one_column_does_not_open_in_another() {
        let key = DataKey::generate();
        let id = EmployeeId::parse("E-1007").unwrap();
        let employee = Place {
            column: Column::Employee,
            tenant: "acme",
            employee: &id,
        };
        let history = Place {
            column: Column::History,
            ..employee
        };

        let sealed = seal_json(&key, employee, &serde_json::json!({"a": 1})).unwrap();
        let result = open_json::<serde_json::Value>(&key, history, &sealed);

        assert!(matches!(result, Err(StoreError::Decrypt { .. })));
    }
}
