//! `/admin/tenants/{key}/employees`: every employee with its sync state, searchable by id
//! or name; and one employee's history (HR changes, plans, Akiles calls and results).
//!
//! Names are shown to the admin (the store decrypts them); they are never logged.

use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::response::Response;
use hr_domain::EmployeeId;
use serde::Deserialize;
use sync_store::{ConnectionState, Job, JobState, MemberLink, StoredEmployee, SyncState};

use super::integration::chrome;
use super::page::{Chrome, PageError, existing_tenant, when};
use super::session::AdminSession;
use crate::extract::ApiPath;
use crate::state::AppState;

/// Most jobs read to tell which employees are pending.
const JOBS_LIMIT: u32 = 100_000;

/// Most history entries shown.
const HISTORY_LIMIT: u32 = 500;

/// One row of the employee list.
#[derive(Debug, Clone)]
pub struct EmployeeRow {
    pub id: String,
    pub name: String,
    pub groups: String,
    /// `in_sync`, `pending`, `failed`, `reconnect_needed`, `left`; also the CSS class.
    pub state: &'static str,
    /// The state in words, with the reason of a failure.
    pub state_words: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/employees.html")]
struct EmployeesPage {
    chrome: Chrome,
    tenant: String,
    query: String,
    rows: Vec<EmployeeRow>,
    total: usize,
    in_sync: usize,
}

/// The search box.
#[derive(Debug, Default, Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    pub q: String,
}

/// `GET /admin/tenants/{tenant}/employees?q=`.
pub async fn list(
    State(state): State<AppState>,
    session: AdminSession,
    ApiPath(tenant): ApiPath<String>,
    Query(search): Query<SearchQuery>,
) -> Result<Response, PageError> {
    existing_tenant(&state, &tenant).await?;
    let rows = employee_rows(&state, &tenant).await?;
    let total = rows.len();
    let in_sync = rows.iter().filter(|r| r.state == "in_sync").count();
    let needle = search.q.trim().to_lowercase();
    let rows = rows
        .into_iter()
        .filter(|r| {
            needle.is_empty()
                || r.id.to_lowercase().contains(&needle)
                || r.name.to_lowercase().contains(&needle)
        })
        .collect();

    let page = EmployeesPage {
        chrome: chrome(&session, &tenant, "employees", "Employees"),
        tenant,
        query: search.q,
        rows,
        total,
        in_sync,
    };
    Ok(session.render(page))
}

/// Every employee of the tenant with its state.
pub async fn employee_rows(state: &AppState, tenant: &str) -> Result<Vec<EmployeeRow>, PageError> {
    let employees = state.store.employees(tenant).await?;
    let links: HashMap<String, MemberLink> = state
        .store
        .links(tenant)
        .await?
        .into_iter()
        .map(|l| (l.employee_id.to_string(), l))
        .collect();
    let jobs: HashMap<String, Job> = state
        .store
        .jobs(Some(tenant), None, JOBS_LIMIT)
        .await?
        .into_iter()
        .filter_map(|j| Some((j.employee_id.as_ref()?.to_string(), j)))
        .collect();
    let connected = state
        .store
        .connection(tenant)
        .await?
        .is_some_and(|c| c.state == ConnectionState::Connected);

    Ok(employees
        .iter()
        .map(|stored| {
            let id = stored.employee.id.to_string();
            let (state, state_words) = sync_state(stored, links.get(&id), jobs.get(&id), connected);
            EmployeeRow {
                name: stored.employee.name.as_str().to_owned(),
                groups: group_names(stored),
                id,
                state,
                state_words,
            }
        })
        .collect())
}

fn group_names(stored: &StoredEmployee) -> String {
    let names: Vec<&str> = stored.employee.groups.iter().map(|g| g.name()).collect();
    names.join(", ")
}

/// The state of one employee: a failed job or a waiting one comes first, then the link.
pub fn sync_state(
    stored: &StoredEmployee,
    link: Option<&MemberLink>,
    job: Option<&Job>,
    connected: bool,
) -> (&'static str, String) {
    if let Some(job) = job {
        return match job.state {
            JobState::Failed => {
                let reason = job.last_error.as_deref().unwrap_or("no reason recorded");
                ("failed", format!("Failed: {reason}"))
            }
            _ if !connected => (
                "reconnect_needed",
                "Waiting: the Akiles connection must be (re)connected".to_owned(),
            ),
            _ => ("pending", "Pending".to_owned()),
        };
    }
    let Some(link) = link else {
        return ("pending", "Not synced yet".to_owned());
    };
    match link.state {
        SyncState::InSync if !stored.present => ("left", "Left; member removed".to_owned()),
        SyncState::InSync => ("in_sync", "In sync".to_owned()),
        SyncState::Pending | SyncState::Incomplete => ("pending", "Pending".to_owned()),
        SyncState::Failed => {
            let reason = link.last_error.as_deref().unwrap_or("no reason recorded");
            ("failed", format!("Failed: {reason}"))
        }
    }
}

/// One history entry as shown.
#[derive(Debug, Clone)]
pub struct HistoryRow {
    pub at: String,
    pub kind: String,
    /// A one-line summary when the entry has an obvious one.
    pub summary: String,
    /// The whole entry, pretty JSON.
    pub detail: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/employee.html")]
struct EmployeePage {
    chrome: Chrome,
    tenant: String,
    row: EmployeeRow,
    version: i64,
    member_id: String,
    history: Vec<HistoryRow>,
}

/// `GET /admin/tenants/{tenant}/employees/{employee_id}`.
pub async fn detail(
    State(state): State<AppState>,
    session: AdminSession,
    ApiPath((tenant, employee_id)): ApiPath<(String, String)>,
) -> Result<Response, PageError> {
    existing_tenant(&state, &tenant).await?;
    let id = EmployeeId::parse(&employee_id).map_err(|_| PageError::not_found("employee"))?;
    let Some(stored) = state.store.employee(&tenant, &id).await? else {
        return Err(PageError::not_found("employee"));
    };
    let rows = employee_rows(&state, &tenant).await?;
    let Some(row) = rows.into_iter().find(|r| r.id == id.as_str()) else {
        return Err(PageError::not_found("employee"));
    };
    let link = state.store.link(&tenant, &id).await?;
    let history = state.store.history(&tenant, &id, HISTORY_LIMIT).await?;

    let page = EmployeePage {
        chrome: chrome(&session, &tenant, "employees", id.as_str()),
        tenant,
        row,
        version: stored.version,
        member_id: link
            .and_then(|l| l.member_id)
            .unwrap_or_else(|| "none".to_owned()),
        history: history
            .into_iter()
            .rev()
            .map(|h| HistoryRow {
                at: when(h.at),
                summary: summary(&h.entry.kind, &h.entry.detail),
                kind: h.entry.kind,
                detail: serde_json::to_string_pretty(&h.entry.detail).unwrap_or_default(),
            })
            .collect(),
    };
    Ok(session.render(page))
}

/// A one-line summary of a history entry (`plan`: its actions, `call`: the action and
/// its result, `result`: the outcome).
fn summary(kind: &str, detail: &serde_json::Value) -> String {
    let action = |step: &serde_json::Value| {
        let name = step.get("action").and_then(|a| a.as_str()).unwrap_or("?");
        let group = step.get("member_group_id").and_then(|g| g.as_str());
        group.map_or_else(
            || name.replace('_', " "),
            |g| format!("{} {g}", name.replace('_', " ")),
        )
    };
    match kind {
        "plan" => {
            let steps = detail.get("steps").and_then(|s| s.as_array());
            let actions: Vec<String> = steps.into_iter().flatten().map(action).collect();
            format!("{} step(s): {}", actions.len(), actions.join(", "))
        }
        "call" => {
            let step = detail.get("step").map(action).unwrap_or_default();
            let result = detail.get("result").and_then(|r| r.as_str()).unwrap_or("?");
            format!("{step} → {result}")
        }
        "result" => detail
            .get("outcome")
            .and_then(|o| o.as_str())
            .unwrap_or_default()
            .replace('_', " "),
        "delivery" => super::delivery::history_summary(detail),
        _ => String::new(),
    }
}
