//! The Akiles connection of each tenant (tokens sealed) and OAuth states in flight.

use secrecy::SecretString;
use time::OffsetDateTime;
use tracing::debug;

use super::{SqliteStore, require_tenant};
use crate::api::{Connection, StoreError};
use crate::codec::{self, Slot, TenantColumn};
use crate::crypto::DataKey;

#[derive(sqlx::FromRow)]
struct ConnectionRow {
    tenant: String,
    state: String,
    organization_id: Option<String>,
    organization_name: Option<String>,
    access_token: Option<Vec<u8>>,
    refresh_token: Option<Vec<u8>>,
    access_expires_at: Option<i64>,
    scope: Option<String>,
    reason: Option<String>,
    revision: i64,
    updated_at: i64,
}

impl ConnectionRow {
    fn decode(self, key: &DataKey) -> Result<Connection, StoreError> {
        let what = format!("connection of tenant {}", self.tenant);
        let open = |column, sealed: Option<Vec<u8>>| {
            sealed
                .map(|sealed| codec::open_secret(key, token_slot(column, &self.tenant), &sealed))
                .transpose()
        };
        Ok(Connection {
            state: codec::connection_state(&what, &self.state)?,
            access_token: open(TenantColumn::AccessToken, self.access_token.clone())?,
            refresh_token: open(TenantColumn::RefreshToken, self.refresh_token.clone())?,
            access_expires_at: codec::from_millis_opt(&what, self.access_expires_at)?,
            updated_at: codec::from_millis(&what, self.updated_at)?,
            organization_id: self.organization_id,
            organization_name: self.organization_name,
            scope: self.scope,
            reason: self.reason,
            revision: self.revision,
            tenant: self.tenant,
        })
    }
}

fn token_slot(column: TenantColumn, tenant: &str) -> Slot<'_> {
    Slot {
        column,
        tenant,
        item: "",
    }
}

const SELECT_CONNECTION: &str = r#"
    SELECT tenant, state, organization_id, organization_name, access_token, refresh_token,
           access_expires_at, scope, reason, revision, updated_at
    FROM connections WHERE tenant = $1"#;

/// Unconditional save: a first save gets revision 1, every later one the next number.
const UPSERT_CONNECTION: &str = r#"
    INSERT INTO connections (tenant, state, organization_id, organization_name, access_token,
                             refresh_token, access_expires_at, scope, reason, revision,
                             updated_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, $10)
    ON CONFLICT (tenant) DO UPDATE SET
        state = excluded.state,
        organization_id = excluded.organization_id,
        organization_name = excluded.organization_name,
        access_token = excluded.access_token,
        refresh_token = excluded.refresh_token,
        access_expires_at = excluded.access_expires_at,
        scope = excluded.scope,
        reason = excluded.reason,
        revision = connections.revision + 1,
        updated_at = excluded.updated_at
    RETURNING revision"#;

/// Compare-and-swap when none is stored yet (expected revision 0).
const INSERT_CONNECTION_IF_ABSENT: &str = r#"
    INSERT INTO connections (tenant, state, organization_id, organization_name, access_token,
                             refresh_token, access_expires_at, scope, reason, revision,
                             updated_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, $10)
    ON CONFLICT (tenant) DO NOTHING
    RETURNING revision"#;

/// Compare-and-swap on the stored revision (`$11`).
const UPDATE_CONNECTION_IF_REVISION: &str = r#"
    UPDATE connections SET
        state = $2, organization_id = $3, organization_name = $4, access_token = $5,
        refresh_token = $6, access_expires_at = $7, scope = $8, reason = $9,
        revision = revision + 1, updated_at = $10
    WHERE tenant = $1 AND revision = $11
    RETURNING revision"#;

impl SqliteStore {
    pub(super) async fn read_connection(
        &self,
        tenant: &str,
    ) -> Result<Option<Connection>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        require_tenant(&mut conn, tenant).await?;

        let row: Option<ConnectionRow> = sqlx::query_as(SELECT_CONNECTION)
            .bind(tenant)
            .fetch_optional(&mut *conn)
            .await?;
        row.map(|row| row.decode(&self.key)).transpose()
    }

    /// Saves `connection`: unconditionally when `expected` is `None`, else only over that
    /// stored revision (0: over no row). Returns the new revision, `None` on a conflict.
    pub(super) async fn write_connection(
        &self,
        connection: &Connection,
        expected: Option<i64>,
    ) -> Result<Option<i64>, StoreError> {
        let tenant = connection.tenant.as_str();
        let seal = |column, token: &Option<SecretString>| {
            token
                .as_ref()
                .map(|token| codec::seal_secret(&self.key, token_slot(column, tenant), token))
                .transpose()
        };
        let access = seal(TenantColumn::AccessToken, &connection.access_token)?;
        let refresh = seal(TenantColumn::RefreshToken, &connection.refresh_token)?;
        let sql = match expected {
            None => UPSERT_CONNECTION,
            Some(0) => INSERT_CONNECTION_IF_ABSENT,
            Some(_) => UPDATE_CONNECTION_IF_REVISION,
        };
        let mut tx = self.begin_write().await?;
        require_tenant(&mut tx, tenant).await?;

        let revision: Option<i64> = sqlx::query_scalar(sql)
            .bind(tenant)
            .bind(connection.state.as_str())
            .bind(connection.organization_id.as_deref())
            .bind(connection.organization_name.as_deref())
            .bind(access)
            .bind(refresh)
            .bind(connection.access_expires_at.map(codec::to_millis))
            .bind(connection.scope.as_deref())
            .bind(connection.reason.as_deref())
            .bind(self.now_millis())
            .bind(expected)
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;

        match revision {
            Some(revision) => debug!(revision, "Saved the connection, revision {revision}"),
            None => debug!("Connection changed meanwhile; not saved"),
        }
        Ok(revision)
    }

    pub(super) async fn insert_oauth_state(
        &self,
        state: &str,
        tenant: &str,
        verifier: &SecretString,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let hash = codec::sha256_hex(state);
        let slot = Slot {
            column: TenantColumn::PkceVerifier,
            tenant,
            item: &hash,
        };
        let sealed = codec::seal_secret(&self.key, slot, verifier)?;
        let mut tx = self.begin_write().await?;
        require_tenant(&mut tx, tenant).await?;

        sqlx::query(
            "INSERT INTO oauth_states (state_hash, tenant, pkce_verifier, expires_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(&hash)
        .bind(tenant)
        .bind(sealed)
        .bind(codec::to_millis(expires_at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn delete_oauth_state(
        &self,
        state: &str,
    ) -> Result<Option<(String, SecretString)>, StoreError> {
        let hash = codec::sha256_hex(state);
        let mut tx = self.begin_write().await?;

        let purged = sqlx::query("DELETE FROM oauth_states WHERE expires_at <= $1")
            .bind(self.now_millis())
            .execute(&mut *tx)
            .await?;
        let taken: Option<(String, Vec<u8>)> = sqlx::query_as(
            "DELETE FROM oauth_states WHERE state_hash = $1 RETURNING tenant, pkce_verifier",
        )
        .bind(&hash)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;

        debug!(
            purged = purged.rows_affected(),
            found = taken.is_some(),
            "Took an OAuth state"
        );
        let Some((tenant, sealed)) = taken else {
            return Ok(None);
        };
        tracing::Span::current().record("tenant", tenant.as_str());
        let slot = Slot {
            column: TenantColumn::PkceVerifier,
            tenant: &tenant,
            item: &hash,
        };
        let verifier = codec::open_secret(&self.key, slot, &sealed)?;
        Ok(Some((tenant, verifier)))
    }
}
