//! Deletions held by the deletion guard, and the admin's decisions on them.

use hr_domain::EmployeeId;

use super::{SqliteStore, require_tenant};
use crate::api::{HeldDeletion, HoldDecision, HoldState, NewHold, RunId, StoreError};
use crate::codec;

const SELECT_HELD: &str = r#"
    SELECT employee_id, member_ids, state, record_version, reason, run_id, held_at,
           decided_by, decided_at
    FROM held_deletions WHERE tenant = $1 ORDER BY employee_id"#;

/// A row is held anew unless an admin already approved it, or rejected it for the same
/// version of the employee's record.
const UPSERT_HOLD: &str = r#"
    INSERT INTO held_deletions
        (tenant, employee_id, member_ids, state, record_version, reason, run_id, held_at)
    VALUES ($1, $2, $3, 'held', $4, $5, $6, $7)
    ON CONFLICT (tenant, employee_id) DO UPDATE SET
        member_ids = excluded.member_ids,
        reason = excluded.reason,
        run_id = excluded.run_id,
        state = CASE WHEN held_deletions.state = 'approved'
                            OR (held_deletions.state = 'rejected'
                                AND held_deletions.record_version IS excluded.record_version)
                       THEN held_deletions.state ELSE 'held' END,
        held_at = CASE WHEN held_deletions.state = 'held'
                            OR held_deletions.state = 'approved'
                            OR held_deletions.record_version IS excluded.record_version
                       THEN held_deletions.held_at ELSE excluded.held_at END,
        decided_by = CASE WHEN held_deletions.state = 'approved'
                               OR (held_deletions.state = 'rejected'
                                   AND held_deletions.record_version IS excluded.record_version)
                          THEN held_deletions.decided_by END,
        decided_at = CASE WHEN held_deletions.state = 'approved'
                               OR (held_deletions.state = 'rejected'
                                   AND held_deletions.record_version IS excluded.record_version)
                          THEN held_deletions.decided_at END,
        record_version = excluded.record_version"#;

const APPROVE: &str = r#"
    UPDATE held_deletions SET state = $1, decided_by = $2, decided_at = $3
    WHERE tenant = $4 AND state IN ('held', 'rejected') AND ($5 IS NULL OR employee_id = $5)"#;

const REJECT: &str = r#"
    UPDATE held_deletions SET state = $1, decided_by = $2, decided_at = $3
    WHERE tenant = $4 AND state = 'held' AND ($5 IS NULL OR employee_id = $5)"#;

#[derive(sqlx::FromRow)]
struct HeldRow {
    employee_id: String,
    member_ids: String,
    state: String,
    record_version: Option<i64>,
    reason: String,
    run_id: Option<i64>,
    held_at: i64,
    decided_by: Option<String>,
    decided_at: Option<i64>,
}

impl HeldRow {
    fn decode(self, tenant: &str) -> Result<HeldDeletion, StoreError> {
        let what = "a held deletion";
        let invalid = |reason| StoreError::Invalid {
            what: what.to_owned(),
            reason,
        };
        let state = HoldState::parse(&self.state).ok_or_else(|| invalid("unknown state"))?;
        let member_ids: Vec<String> =
            serde_json::from_str(&self.member_ids).map_err(|_| invalid("member ids"))?;
        Ok(HeldDeletion {
            employee_id: codec::employee_id(tenant, &self.employee_id)?,
            member_ids,
            state,
            record_version: self.record_version,
            reason: self.reason,
            run: self.run_id.map(RunId),
            held_at: codec::from_millis(what, self.held_at)?,
            decided_by: self.decided_by,
            decided_at: codec::from_millis_opt(what, self.decided_at)?,
        })
    }
}

impl SqliteStore {
    pub(super) async fn write_holds(
        &self,
        tenant: &str,
        holds: &[NewHold],
        run: Option<RunId>,
        reason: &str,
    ) -> Result<(), StoreError> {
        let now = self.now_millis();
        let mut tx = self.begin_write().await?;
        require_tenant(&mut tx, tenant).await?;
        for hold in holds {
            let members = serde_json::to_string(&hold.member_ids).unwrap_or_else(|_| "[]".into());
            sqlx::query(UPSERT_HOLD)
                .bind(tenant)
                .bind(hold.employee_id.as_str())
                .bind(members)
                .bind(hold.record_version)
                .bind(reason)
                .bind(run.map(|r| r.0))
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn read_holds(&self, tenant: &str) -> Result<Vec<HeldDeletion>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        require_tenant(&mut conn, tenant).await?;
        let rows: Vec<HeldRow> = sqlx::query_as(SELECT_HELD)
            .bind(tenant)
            .fetch_all(&mut *conn)
            .await?;
        rows.into_iter().map(|row| row.decode(tenant)).collect()
    }

    pub(super) async fn write_decision(
        &self,
        tenant: &str,
        employees: Option<&[EmployeeId]>,
        decision: HoldDecision,
        by: &str,
    ) -> Result<usize, StoreError> {
        let now = self.now_millis();
        let state = match decision {
            HoldDecision::Approve => HoldState::Approved,
            HoldDecision::Reject => HoldState::Rejected,
        };
        // Only waiting rows are decided; a rejected row can still be approved later.
        let sql = match decision {
            HoldDecision::Approve => APPROVE,
            HoldDecision::Reject => REJECT,
        };
        let mut tx = self.begin_write().await?;
        require_tenant(&mut tx, tenant).await?;
        let mut changed = 0;
        let ids: Vec<Option<&str>> = match employees {
            None => vec![None],
            Some(ids) => ids.iter().map(|id| Some(id.as_str())).collect(),
        };
        for id in ids {
            let done = sqlx::query(sql)
                .bind(state.as_str())
                .bind(by)
                .bind(now)
                .bind(tenant)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            changed += done.rows_affected() as usize;
        }
        tx.commit().await?;
        Ok(changed)
    }

    pub(super) async fn delete_hold(
        &self,
        tenant: &str,
        employee: &EmployeeId,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM held_deletions WHERE tenant = $1 AND employee_id = $2")
            .bind(tenant)
            .bind(employee.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
