//! Admin users of the admin pages: usernames and password hashes (PHC strings) only.

use super::SqliteStore;
use crate::api::{Admin, StoreError};
use crate::codec;

#[derive(sqlx::FromRow)]
struct AdminRow {
    username: String,
    password_hash: String,
    created_at: i64,
}

impl AdminRow {
    fn decode(self) -> Result<Admin, StoreError> {
        Ok(Admin {
            created_at: codec::from_millis("an admin", self.created_at)?,
            username: self.username,
            password_hash: self.password_hash,
        })
    }
}

impl SqliteStore {
    pub(super) async fn write_admin(
        &self,
        username: &str,
        password_hash: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO admins (username, password_hash, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash",
        )
        .bind(username)
        .bind(password_hash)
        .bind(self.now_millis())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(super) async fn read_admin(&self, username: &str) -> Result<Option<Admin>, StoreError> {
        let row: Option<AdminRow> = sqlx::query_as(
            "SELECT username, password_hash, created_at FROM admins WHERE username = $1",
        )
        .bind(username)
        .fetch_optional(&self.pool)
        .await?;
        row.map(AdminRow::decode).transpose()
    }

    pub(super) async fn read_admins(&self) -> Result<Vec<Admin>, StoreError> {
        let rows: Vec<AdminRow> = sqlx::query_as(
            "SELECT username, password_hash, created_at FROM admins ORDER BY username",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(AdminRow::decode).collect()
    }
}
