//! Turning records into column values and back, the same way for every backend.
//!
//! Personal data is sealed JSON; the AAD of each sealed column is built here from the
//! column's purpose, the tenant and the employee id, so both backends bind values to the
//! same places. Times are whole unix milliseconds.

use hr_domain::EmployeeId;
use serde::Serialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;

use crate::api::{StoreError, SyncState};
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

impl Place<'_> {
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

    /// Names the place in errors: ids only.
    fn describe(&self) -> String {
        format!(
            "{} {} of tenant {}",
            self.column.purpose(),
            self.employee,
            self.tenant
        )
    }
}

/// Seals raw bytes for `place`.
pub(crate) fn seal(
    key: &DataKey,
    place: Place<'_>,
    plaintext: &[u8],
) -> Result<Vec<u8>, StoreError> {
    key.seal(plaintext, &place.aad())
        .map_err(|source| StoreError::Encrypt {
            what: place.describe(),
            source,
        })
}

/// Opens raw bytes sealed for `place`.
pub(crate) fn open(key: &DataKey, place: Place<'_>, sealed: &[u8]) -> Result<Vec<u8>, StoreError> {
    key.open(sealed, &place.aad())
        .map_err(|_| StoreError::Decrypt {
            what: place.describe(),
        })
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
    place: Place<'_>,
    value: &T,
) -> Result<Vec<u8>, StoreError> {
    seal(key, place, &to_json(&place.describe(), value)?)
}

/// Opens a value sealed for `place` and reads its JSON.
pub(crate) fn open_json<T: DeserializeOwned>(
    key: &DataKey,
    place: Place<'_>,
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
