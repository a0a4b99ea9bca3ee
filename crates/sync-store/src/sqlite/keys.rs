//! Push API keys (only their SHA-256 is stored) and the secrets kept sealed on the tenant's
//! row: the push signing secret and the SMTP password.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::SecretString;
use tracing::debug;

use super::{SqliteStore, require_tenant};
use crate::api::{ApiKey, ApiKeyId, StoreError};
use crate::codec::{self, Slot, TenantColumn};

/// `last_used_at` is written at most this often per key, so authentication stays a read.
const LAST_USED_RESOLUTION_MS: i64 = 60_000;

/// Random bytes in a secret.
const SECRET_BYTES: usize = 32;

#[derive(sqlx::FromRow)]
struct ApiKeyRow {
    id: i64,
    tenant: String,
    label: String,
    prefix: String,
    created_at: i64,
    last_used_at: Option<i64>,
}

impl ApiKeyRow {
    fn decode(self) -> Result<ApiKey, StoreError> {
        let what = format!("API key {}", self.id);
        Ok(ApiKey {
            id: ApiKeyId(self.id),
            created_at: codec::from_millis(&what, self.created_at)?,
            last_used_at: codec::from_millis_opt(&what, self.last_used_at)?,
            tenant: self.tenant,
            label: self.label,
            prefix: self.prefix,
        })
    }
}

const SELECT_KEY_BY_HASH: &str = r#"
    SELECT id, tenant, label, prefix, created_at, last_used_at
    FROM api_keys WHERE secret_hash = $1"#;

const SELECT_KEYS: &str = r#"
    SELECT id, tenant, label, prefix, created_at, last_used_at
    FROM api_keys WHERE tenant = $1 ORDER BY id"#;

/// A new secret: the fixed prefix and 32 random bytes in unpadded base64url.
fn new_secret() -> String {
    let mut bytes = [0u8; SECRET_BYTES];
    rand::fill(&mut bytes);
    format!("{}{}", ApiKey::SECRET_PREFIX, URL_SAFE_NO_PAD.encode(bytes))
}

/// A secret kept sealed in a column of the tenant's row.
#[derive(Debug, Clone, Copy)]
pub(super) enum TenantSecret {
    /// `tenants.signing_secret`: signs the tenant's pushes.
    Signing,
    /// `tenants.smtp_password`: logs in to the tenant's SMTP server.
    Smtp,
}

impl TenantSecret {
    fn slot(self, tenant: &str) -> Slot<'_> {
        let column = match self {
            TenantSecret::Signing => TenantColumn::SigningSecret,
            TenantSecret::Smtp => TenantColumn::SmtpPassword,
        };
        Slot {
            column,
            tenant,
            item: "",
        }
    }

    fn update_sql(self) -> &'static str {
        match self {
            TenantSecret::Signing => "UPDATE tenants SET signing_secret = $1 WHERE key = $2",
            TenantSecret::Smtp => "UPDATE tenants SET smtp_password = $1 WHERE key = $2",
        }
    }

    fn select_sql(self) -> &'static str {
        match self {
            TenantSecret::Signing => "SELECT signing_secret FROM tenants WHERE key = $1",
            TenantSecret::Smtp => "SELECT smtp_password FROM tenants WHERE key = $1",
        }
    }
}

impl SqliteStore {
    pub(super) async fn new_api_key(
        &self,
        tenant: &str,
        label: &str,
    ) -> Result<(ApiKey, SecretString), StoreError> {
        let secret = new_secret();
        let prefix: String = secret.chars().take(ApiKey::PREFIX_LEN).collect();
        let now = self.now_millis();
        let mut tx = self.begin_write().await?;
        require_tenant(&mut tx, tenant).await?;

        let id: i64 = sqlx::query_scalar(
            "INSERT INTO api_keys (tenant, label, prefix, secret_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(tenant)
        .bind(label)
        .bind(&prefix)
        .bind(codec::sha256_hex(&secret))
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;

        tracing::Span::current().record("api_key.id", id);
        debug!(api_key.id = id, "Created API key {id}");
        let key = ApiKey {
            id: ApiKeyId(id),
            tenant: tenant.to_owned(),
            label: label.to_owned(),
            prefix,
            created_at: codec::from_millis("a new API key", now)?,
            last_used_at: None,
        };
        Ok((key, SecretString::from(secret)))
    }

    pub(super) async fn find_api_key(&self, secret: &str) -> Result<Option<ApiKey>, StoreError> {
        let row: Option<ApiKeyRow> = sqlx::query_as(SELECT_KEY_BY_HASH)
            .bind(codec::sha256_hex(secret))
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let span = tracing::Span::current();
        span.record("tenant", row.tenant.as_str());
        span.record("api_key.id", row.id);

        let now = self.now_millis();
        let stale = row
            .last_used_at
            .is_none_or(|at| at <= now - LAST_USED_RESOLUTION_MS);
        let mut key = row.decode()?;
        if stale {
            sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2")
                .bind(now)
                .bind(key.id.0)
                .execute(&self.pool)
                .await?;
            key.last_used_at = Some(codec::from_millis("API key use", now)?);
        }
        Ok(Some(key))
    }

    pub(super) async fn list_api_keys(&self, tenant: &str) -> Result<Vec<ApiKey>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        require_tenant(&mut conn, tenant).await?;

        let rows: Vec<ApiKeyRow> = sqlx::query_as(SELECT_KEYS)
            .bind(tenant)
            .fetch_all(&mut *conn)
            .await?;
        rows.into_iter().map(ApiKeyRow::decode).collect()
    }

    pub(super) async fn delete_api_key(
        &self,
        tenant: &str,
        id: ApiKeyId,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        require_tenant(&mut tx, tenant).await?;

        let deleted = sqlx::query("DELETE FROM api_keys WHERE id = $1 AND tenant = $2")
            .bind(id.0)
            .bind(tenant)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;

        let revoked = deleted.rows_affected() > 0;
        if revoked {
            debug!("Revoked API key {}", id.0);
        }
        Ok(revoked)
    }

    pub(super) async fn write_signing_secret(
        &self,
        tenant: &str,
        secret: Option<&SecretString>,
    ) -> Result<(), StoreError> {
        self.write_tenant_secret(tenant, TenantSecret::Signing, secret)
            .await
    }

    pub(super) async fn read_signing_secret(
        &self,
        tenant: &str,
    ) -> Result<Option<SecretString>, StoreError> {
        self.read_tenant_secret(tenant, TenantSecret::Signing).await
    }

    /// Seals `secret` (or clears it, with `None`) into its column of the tenant's row.
    pub(super) async fn write_tenant_secret(
        &self,
        tenant: &str,
        which: TenantSecret,
        secret: Option<&SecretString>,
    ) -> Result<(), StoreError> {
        let sealed = secret
            .map(|secret| codec::seal_secret(&self.key, which.slot(tenant), secret))
            .transpose()?;

        let updated = sqlx::query(which.update_sql())
            .bind(sealed)
            .bind(tenant)
            .execute(&self.pool)
            .await?;

        if updated.rows_affected() == 0 {
            return Err(StoreError::UnknownTenant(tenant.to_owned()));
        }
        Ok(())
    }

    /// Opens the secret sealed in its column of the tenant's row, if set.
    pub(super) async fn read_tenant_secret(
        &self,
        tenant: &str,
        which: TenantSecret,
    ) -> Result<Option<SecretString>, StoreError> {
        let row: Option<(Option<Vec<u8>>,)> = sqlx::query_as(which.select_sql())
            .bind(tenant)
            .fetch_optional(&self.pool)
            .await?;

        let Some((sealed,)) = row else {
            return Err(StoreError::UnknownTenant(tenant.to_owned()));
        };
        sealed
            .map(|sealed| codec::open_secret(&self.key, which.slot(tenant), &sealed))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_has_the_prefix_and_43_base64url_characters() {
        let secret = new_secret();

        let body = secret.strip_prefix(ApiKey::SECRET_PREFIX).unwrap();

        assert_eq!(body.len(), 43);
        assert!(
            body.bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
        );
        assert_ne!(new_secret(), secret);
    }
}
