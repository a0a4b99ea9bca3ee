//! The outbox of credential e-mails on SQLite.
//!
//! A delivery names the employee, the member and the credential by id; the PIN or link
//! itself and the address are looked up only when the message is sent, so neither ever
//! reaches the database. A credential is queued at most once (a unique index), and a
//! state change only applies to a pending delivery, so a late give-back after an admin
//! cancelled or retried it changes nothing.

use hr_domain::EmployeeId;
use secrecy::SecretString;
use time::OffsetDateTime;
use tracing::debug;

use super::keys::TenantSecret;
use super::{SqliteStore, require_tenant};
use crate::api::{CredentialKind, Delivery, DeliveryId, DeliveryState, NewDelivery, StoreError};
use crate::codec::{self, Slot, TenantColumn};
use crate::crypto::DataKey;

const INSERT_DELIVERY: &str = r#"
    INSERT INTO deliveries (tenant, employee_id, credential, member_id, credential_id,
                            state, attempts, next_attempt_at, created_at)
    VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6)
    ON CONFLICT (tenant, credential, credential_id) DO NOTHING
    RETURNING id"#;

const SELECT_BY_CREDENTIAL: &str = r#"
    SELECT id FROM deliveries WHERE tenant = $1 AND credential = $2 AND credential_id = $3"#;

/// `$1` a tenant or NULL for all, `$2` now, `$3` limit.
const SELECT_DUE: &str = r#"
    SELECT id, tenant, employee_id, credential, member_id, credential_id, state,
           attempts, next_attempt_at, last_error, created_at, sent_at
    FROM deliveries
    WHERE state = 'pending' AND next_attempt_at <= $2 AND ($1 IS NULL OR tenant = $1)
    ORDER BY next_attempt_at, id LIMIT $3"#;

/// `$1` tenant, `$2` an employee id or NULL for all, `$3` limit.
const SELECT_LISTED: &str = r#"
    SELECT id, tenant, employee_id, credential, member_id, credential_id, state,
           attempts, next_attempt_at, last_error, created_at, sent_at
    FROM deliveries
    WHERE tenant = $1 AND ($2 IS NULL OR employee_id = $2)
    ORDER BY id DESC LIMIT $3"#;

const SELECT_TENANT: &str = "SELECT tenant FROM deliveries WHERE id = $1";

#[derive(sqlx::FromRow)]
struct DeliveryRow {
    id: i64,
    tenant: String,
    employee_id: String,
    credential: String,
    member_id: String,
    credential_id: String,
    state: String,
    attempts: i64,
    next_attempt_at: i64,
    last_error: Option<Vec<u8>>,
    created_at: i64,
    sent_at: Option<i64>,
}

impl DeliveryRow {
    fn decode(self, key: &DataKey) -> Result<Delivery, StoreError> {
        let what = format!("delivery {}", self.id);
        let invalid = |reason| StoreError::Invalid {
            what: what.clone(),
            reason,
        };
        let credential =
            CredentialKind::parse(&self.credential).ok_or(invalid("unknown credential"))?;
        let state = DeliveryState::parse(&self.state).ok_or(invalid("unknown state"))?;
        let attempts =
            u32::try_from(self.attempts).map_err(|_| invalid("attempts out of range"))?;
        let last_error = self
            .last_error
            .map(|sealed| open_error(key, &self.tenant, self.id, &sealed))
            .transpose()?;
        Ok(Delivery {
            id: DeliveryId(self.id),
            employee_id: codec::employee_id(&self.tenant, &self.employee_id)?,
            credential,
            member_id: self.member_id,
            credential_id: self.credential_id,
            state,
            attempts,
            next_attempt_at: codec::from_millis(&what, self.next_attempt_at)?,
            last_error,
            created_at: codec::from_millis(&what, self.created_at)?,
            sent_at: codec::from_millis_opt(&what, self.sent_at)?,
            tenant: self.tenant,
        })
    }
}

fn error_slot<'a>(tenant: &'a str, item: &'a str) -> Slot<'a> {
    Slot {
        column: TenantColumn::DeliveryError,
        tenant,
        item,
    }
}

/// Seals a delivery's error, bound to its tenant and id.
fn seal_error(key: &DataKey, tenant: &str, id: i64, error: &str) -> Result<Vec<u8>, StoreError> {
    codec::seal(key, error_slot(tenant, &id.to_string()), error.as_bytes())
}

/// Opens a delivery's error sealed by [`seal_error`].
fn open_error(key: &DataKey, tenant: &str, id: i64, sealed: &[u8]) -> Result<String, StoreError> {
    let bytes = codec::open(key, error_slot(tenant, &id.to_string()), sealed)?;
    String::from_utf8(bytes).map_err(|_| StoreError::Invalid {
        what: format!("error of delivery {id}"),
        reason: "not UTF-8",
    })
}

/// How a pending delivery leaves (or stays in) the pending state.
#[derive(Clone, Copy)]
enum Settle<'a> {
    Sent,
    Retry { error: &'a str, at: i64 },
    Fail { error: &'a str },
    Cancel { reason: &'a str },
}

impl Settle<'_> {
    fn name(self) -> &'static str {
        match self {
            Settle::Sent => "sent",
            Settle::Retry { .. } => "rescheduled",
            Settle::Fail { .. } => "failed",
            Settle::Cancel { .. } => "cancelled",
        }
    }
}

impl SqliteStore {
    pub(super) async fn insert_delivery(
        &self,
        tenant: &str,
        new: &NewDelivery,
    ) -> Result<DeliveryId, StoreError> {
        let mut tx = self.begin_write().await?;
        require_tenant(&mut tx, tenant).await?;

        let inserted: Option<i64> = sqlx::query_scalar(INSERT_DELIVERY)
            .bind(tenant)
            .bind(new.employee_id.as_str())
            .bind(new.credential.as_str())
            .bind(&new.member_id)
            .bind(&new.credential_id)
            .bind(self.now_millis())
            .fetch_optional(&mut *tx)
            .await?;
        let id = match inserted {
            Some(id) => id,
            None => {
                sqlx::query_scalar(SELECT_BY_CREDENTIAL)
                    .bind(tenant)
                    .bind(new.credential.as_str())
                    .bind(&new.credential_id)
                    .fetch_one(&mut *tx)
                    .await?
            }
        };
        tx.commit().await?;

        tracing::Span::current().record("delivery.id", id);
        debug!(delivery.id = id, "Queued delivery {id}");
        Ok(DeliveryId(id))
    }

    pub(super) async fn select_due_deliveries(
        &self,
        tenant: Option<&str>,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError> {
        let rows: Vec<DeliveryRow> = sqlx::query_as(SELECT_DUE)
            .bind(tenant)
            .bind(codec::to_millis(now))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(|row| row.decode(&self.key)).collect()
    }

    pub(super) async fn select_deliveries(
        &self,
        tenant: &str,
        employee: Option<&EmployeeId>,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        require_tenant(&mut conn, tenant).await?;

        let rows: Vec<DeliveryRow> = sqlx::query_as(SELECT_LISTED)
            .bind(tenant)
            .bind(employee.map(EmployeeId::as_str))
            .bind(i64::from(limit))
            .fetch_all(&mut *conn)
            .await?;
        rows.into_iter().map(|row| row.decode(&self.key)).collect()
    }

    pub(super) async fn settle_sent(&self, id: DeliveryId) -> Result<bool, StoreError> {
        self.settle_delivery(id, Settle::Sent).await
    }

    pub(super) async fn settle_retry(
        &self,
        id: DeliveryId,
        error: &str,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let at = codec::to_millis(at);
        self.settle_delivery(id, Settle::Retry { error, at }).await
    }

    pub(super) async fn settle_failed(
        &self,
        id: DeliveryId,
        error: &str,
    ) -> Result<bool, StoreError> {
        self.settle_delivery(id, Settle::Fail { error }).await
    }

    pub(super) async fn settle_cancelled(
        &self,
        id: DeliveryId,
        reason: &str,
    ) -> Result<bool, StoreError> {
        self.settle_delivery(id, Settle::Cancel { reason }).await
    }

    /// Moves a pending delivery on; false (and nothing changed) if it is not pending.
    async fn settle_delivery(
        &self,
        id: DeliveryId,
        settle: Settle<'_>,
    ) -> Result<bool, StoreError> {
        let now = self.now_millis();
        let mut tx = self.begin_write().await?;
        let tenant: Option<String> = sqlx::query_scalar(SELECT_TENANT)
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(tenant) = tenant else {
            return Ok(false);
        };

        let seal = |text: &str| seal_error(&self.key, &tenant, id.0, text);
        let query = match settle {
            Settle::Sent => sqlx::query(
                "UPDATE deliveries SET state = 'sent', attempts = attempts + 1, \
                 sent_at = $1, last_error = NULL WHERE id = $2 AND state = 'pending'",
            )
            .bind(now),
            Settle::Retry { error, at } => sqlx::query(
                "UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = $1, \
                 last_error = $2 WHERE id = $3 AND state = 'pending'",
            )
            .bind(at)
            .bind(seal(error)?),
            Settle::Fail { error } => sqlx::query(
                "UPDATE deliveries SET state = 'failed', attempts = attempts + 1, \
                 last_error = $1 WHERE id = $2 AND state = 'pending'",
            )
            .bind(seal(error)?),
            Settle::Cancel { reason } => sqlx::query(
                "UPDATE deliveries SET state = 'cancelled', last_error = $1 \
                 WHERE id = $2 AND state = 'pending'",
            )
            .bind(seal(reason)?),
        };
        let updated = query.bind(id.0).execute(&mut *tx).await?;
        tx.commit().await?;

        let changed = updated.rows_affected() > 0;
        let outcome = settle.name();
        debug!(delivery.id = id.0, changed, "Delivery {} {outcome}", id.0);
        Ok(changed)
    }

    pub(super) async fn requeue_failed_delivery(
        &self,
        tenant: &str,
        id: DeliveryId,
    ) -> Result<bool, StoreError> {
        let updated = sqlx::query(
            "UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = $1 \
             WHERE id = $2 AND tenant = $3 AND state = 'failed'",
        )
        .bind(self.now_millis())
        .bind(id.0)
        .bind(tenant)
        .execute(&self.pool)
        .await?;
        Ok(updated.rows_affected() > 0)
    }

    pub(super) async fn write_smtp_password(
        &self,
        tenant: &str,
        password: Option<&SecretString>,
    ) -> Result<(), StoreError> {
        self.write_tenant_secret(tenant, TenantSecret::Smtp, password)
            .await
    }

    pub(super) async fn read_smtp_password(
        &self,
        tenant: &str,
    ) -> Result<Option<SecretString>, StoreError> {
        self.read_tenant_secret(tenant, TenantSecret::Smtp).await
    }
}
