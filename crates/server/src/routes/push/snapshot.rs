//! `POST /api/v1/snapshot`: the whole set of employees at once.
//!
//! Same safety rules as the file import: every record is checked first and one bad
//! record refuses the whole snapshot (every problem listed by index and field); an empty
//! snapshot or one listing an employee twice changes nothing. Then every listed employee
//! is stored and every stored employee missing from the list is removed, and one full
//! reconcile of the tenant is queued (no job per employee), so the deletion guard sees
//! the whole snapshot: many members to delete at once are held for an admin.

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use hr_domain::{Employee, EmployeeId, RepeatedField, UniqueValues};
use serde::Serialize;
use serde_json::Value;
use sync_store::{JobKind, PutOutcome};

use super::SignedWrite;
use super::input::{self, Problems};
use crate::error::{ApiError, Problem};
use crate::state::AppState;

/// What a snapshot changed.
#[derive(Debug, Default, Serialize)]
pub struct SnapshotResponse {
    /// `accepted` when anything was stored, else `unchanged`.
    pub status: &'static str,
    /// Employees stored (new or changed).
    pub stored: usize,
    pub unchanged: usize,
    /// Records older than what is stored, ignored.
    pub stale: usize,
    /// Employees missing from the snapshot, removed.
    pub removed: usize,
    /// The reconcile queued to apply the snapshot.
    pub job_id: i64,
}

/// `POST /api/v1/snapshot`.
#[tracing::instrument(skip_all, fields(tenant = %write.tenant.tenant()))]
pub async fn post_snapshot(
    State(state): State<AppState>,
    write: SignedWrite,
) -> Result<(StatusCode, Json<SnapshotResponse>), ApiError> {
    let body = input::json_body(&write.body)?;
    let tenant = write.tenant.tenant();
    let (version, employees) = match read_snapshot(&body) {
        Ok(read) => read,
        Err(error) => {
            if let Some(why) = error.refusal() {
                record_suspicious_push(&state, tenant, why).await;
            }
            return Err(error);
        }
    };

    // TODO(robustness): the records are written one transaction each, not all in one; a
    // crash half-way leaves part of the snapshot stored and no reconcile queued (the
    // schedule runs one later). Re-sending the snapshot finishes it.
    let mut response = SnapshotResponse::default();
    for employee in &employees {
        let outcome = state.store.put_employee(tenant, employee, version).await?;
        super::record_hr_change(&state, tenant, &employee.id, "upsert", version, outcome).await;
        count(&mut response, outcome, false);
    }
    let listed: BTreeSet<&EmployeeId> = employees.iter().map(|e| &e.id).collect();
    for stored in state.store.employees(tenant).await? {
        if stored.present && !listed.contains(&stored.employee.id) {
            let outcome = state
                .store
                .remove_employee(tenant, &stored.employee.id, version)
                .await?;
            let id = &stored.employee.id;
            super::record_hr_change(&state, tenant, id, "delete", version, outcome).await;
            count(&mut response, outcome, true);
        }
    }

    // Queued even when nothing changed: the reconcile also repairs drift in Akiles.
    let job = state
        .store
        .enqueue(tenant, JobKind::SyncTenant, None)
        .await?;
    response.job_id = job.0;
    state.wake_workers();
    let changed = response.stored + response.removed > 0;
    tracing::info!(
        employees = employees.len(),
        stored = response.stored,
        removed = response.removed,
        job.id = job.0,
        "Snapshot of {} employees received: {} stored, {} removed; reconcile queued",
        employees.len(),
        response.stored,
        response.removed,
    );
    response.status = if changed { "accepted" } else { "unchanged" };
    let code = if changed {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    Ok((code, Json(response)))
}

/// Records a snapshot refused as a whole (an empty one) as a suspicious run, so the
/// activity page and the metrics show that HR sent something wrong.
async fn record_suspicious_push(state: &AppState, tenant: &str, why: &str) {
    metrics::counter!("akiles_hr_sync_suspicious_runs_total", "tenant" => tenant.to_owned())
        .increment(1);
    tracing::warn!(
        tenant,
        "Refused a push snapshot of tenant {tenant} as suspicious: {why}"
    );
    let summary = serde_json::json!({ "refused": why, "suspicious": true });
    let recorded = async {
        let run = state.store.start_run(tenant, "push").await?;
        state.store.finish_run(run, &summary).await
    };
    if let Err(e) = recorded.await {
        tracing::warn!(tenant, error = %e, "Could not record the refused snapshot");
    }
}

fn count(response: &mut SnapshotResponse, outcome: PutOutcome, removal: bool) {
    match (outcome, removal) {
        (PutOutcome::Stored, false) => response.stored += 1,
        (PutOutcome::Stored, true) => response.removed += 1,
        (PutOutcome::Unchanged, _) => response.unchanged += 1,
        (PutOutcome::Stale, _) => response.stale += 1,
    }
}

/// Checks the whole snapshot; every problem is reported at once.
fn read_snapshot(body: &Value) -> Result<(i64, Vec<Employee>), ApiError> {
    let object = input::object(body, "body")?;
    let mut problems = Problems::default();
    for key in object
        .keys()
        .filter(|k| !matches!(k.as_str(), "version" | "employees"))
    {
        problems.add(key.as_str(), "is not a known field");
    }
    let version = input::version(object, "version", &mut problems);
    let Some(records) = object.get("employees").and_then(Value::as_array) else {
        problems.add("employees", "is required and must be an array");
        problems.finish()?;
        return Err(ApiError::invalid(vec![Problem::new(
            "employees",
            "is required",
        )]));
    };
    if records.is_empty() {
        return Err(ApiError::refused(
            "the snapshot holds no employees; it looks like a failed export, so nothing was \
             changed and no employee was removed",
        ));
    }

    let mut employees = Vec::with_capacity(records.len());
    let mut seen = UniqueValues::default();
    for (i, record) in records.iter().enumerate() {
        let prefix = format!("employees[{i}].");
        let Some(record) = record.as_object() else {
            problems.add(format!("employees[{i}]"), "must be an object");
            continue;
        };
        if record.contains_key("version") {
            problems.add(
                format!("{prefix}version"),
                "belongs to the snapshot, not a record",
            );
        }
        if let Some(employee) = input::employee(record, None, &prefix, &mut problems) {
            // As the file import: one person listed twice, or one login or card on two
            // active people (Akiles would refuse the second on every run), refuses it all.
            for repeat in seen.record(&employee, i) {
                let (field, what) = match repeat.field {
                    RepeatedField::Id => ("id", "lists an employee already listed"),
                    RepeatedField::Email => ("email", "is also"),
                    RepeatedField::Card => ("card", "is also"),
                };
                let first = repeat.first;
                problems.add(
                    format!("{prefix}{field}"),
                    format!("{what} on employees[{first}]"),
                );
            }
            employees.push(employee);
        }
    }
    problems.finish()?;
    let Some(version) = version else {
        return Err(ApiError::invalid(vec![Problem::new(
            "version",
            "is required",
        )]));
    };
    Ok((version, employees))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_empty_snapshot_is_refused() {
        let error = read_snapshot(&json!({"version": 1, "employees": []})).unwrap_err();

        assert_eq!(error.code(), "refused");
    }

    #[test]
    fn bad_records_are_listed_by_index_and_field() {
        let body = json!({"version": 1, "employees": [
            {"id": "E-1", "name": "Ann", "status": "active"},
            {"id": "E-2", "name": "Bo", "status": "gone"},
            {"id": "E-1", "name": "Ann", "status": "active"},
        ]});

        let error = read_snapshot(&body).unwrap_err();

        assert_eq!(error.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let text = format!("{error}");
        assert!(text.contains("2 fields"), "{text}");
    }
}
