//! `/admin/tenants/{key}/deletions`: the member deletions the deletion guard held, and
//! the admin's answer to them.
//!
//! A run that would delete more members than the tenant allows applies everything else
//! and holds those deletions. This page lists every held, approved and rejected one, with
//! Approve and Reject per employee and for all at once. Approving queues a full reconcile
//! so the members go now; rejecting keeps them while the employees' records stay as they
//! are.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::State;
use axum::response::Response;
use hr_domain::EmployeeId;
use serde::Deserialize;
use sync_store::{HeldDeletion, HoldDecision, HoldState, JobKind};

use super::integration::chrome;
use super::page::{Chrome, Flash, PageError, existing_tenant, when};
use super::session::AdminSession;
use crate::extract::ApiPath;
use crate::state::AppState;

/// A held deletion as listed.
#[derive(Debug, Clone)]
pub struct HeldRow {
    pub employee_id: String,
    pub member_ids: String,
    pub state: &'static str,
    pub held_at: String,
    /// `ana at 2026-03-02 08:00:05 UTC`, or empty while undecided.
    pub decided: String,
    pub reason: String,
}

impl From<&HeldDeletion> for HeldRow {
    fn from(held: &HeldDeletion) -> Self {
        let decided = match (&held.decided_by, held.decided_at) {
            (Some(by), Some(at)) => format!("{by} at {}", when(at)),
            (Some(by), None) => by.clone(),
            _ => String::new(),
        };
        Self {
            employee_id: held.employee_id.to_string(),
            member_ids: held.member_ids.join(", "),
            state: held.state.as_str(),
            held_at: when(held.held_at),
            decided,
            reason: held.reason.clone(),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/deletions.html")]
struct DeletionsPage {
    chrome: Chrome,
    tenant: String,
    rows: Vec<HeldRow>,
    waiting: usize,
}

/// `GET /admin/tenants/{tenant}/deletions`.
pub async fn page(
    State(state): State<AppState>,
    session: AdminSession,
    ApiPath(tenant): ApiPath<String>,
) -> Result<Response, PageError> {
    existing_tenant(&state, &tenant).await?;
    let held = state.store.held_deletions(&tenant).await?;

    let page = DeletionsPage {
        chrome: chrome(&session, &tenant, "deletions", "Held deletions"),
        waiting: held.iter().filter(|h| h.state == HoldState::Held).count(),
        rows: held.iter().map(HeldRow::from).collect(),
        tenant,
    };
    Ok(session.render(page))
}

/// How many deletions of the tenant wait for an admin.
pub async fn held_waiting(state: &AppState, tenant: &str) -> Result<usize, PageError> {
    let held = state.store.held_deletions(tenant).await?;
    Ok(held.iter().filter(|h| h.state == HoldState::Held).count())
}

/// The approve and reject forms: one employee, or `scope=all`.
#[derive(Debug, Deserialize)]
pub struct DecisionForm {
    pub employee: Option<String>,
    pub scope: Option<String>,
}

/// `POST /admin/tenants/{tenant}/deletions/approve`: approves, then queues a reconcile
/// that applies the approved deletions now.
pub async fn approve(
    State(state): State<AppState>,
    session: AdminSession,
    ApiPath(tenant): ApiPath<String>,
    Form(form): Form<DecisionForm>,
) -> Result<Response, PageError> {
    decide(state, session, tenant, form, HoldDecision::Approve).await
}

/// `POST /admin/tenants/{tenant}/deletions/reject`: the members are kept.
pub async fn reject(
    State(state): State<AppState>,
    session: AdminSession,
    ApiPath(tenant): ApiPath<String>,
    Form(form): Form<DecisionForm>,
) -> Result<Response, PageError> {
    decide(state, session, tenant, form, HoldDecision::Reject).await
}

async fn decide(
    state: AppState,
    session: AdminSession,
    tenant: String,
    form: DecisionForm,
    decision: HoldDecision,
) -> Result<Response, PageError> {
    existing_tenant(&state, &tenant).await?;
    let page = format!("/admin/tenants/{tenant}/deletions");
    let Some(employees) = chosen_employees(&form) else {
        let flash = Flash::error("Choose an employee, or all held deletions.");
        return Ok(session.redirect(&page, flash));
    };

    let by = session.username.clone();
    let changed = state
        .store
        .decide_deletions(&tenant, employees.as_deref(), decision, &by)
        .await?;
    if changed == 0 {
        let flash = Flash::error("Nothing changed: no such deletion waits for a decision.");
        return Ok(session.redirect(&page, flash));
    }
    crate::reconcile::record_held_deletions(&state, &tenant).await;
    tracing::info!(
        tenant = %tenant,
        deletions = changed,
        decision = ?decision,
        "An admin decided {changed} held deletions of tenant {tenant}"
    );

    let flash = match decision {
        HoldDecision::Approve => {
            state
                .store
                .enqueue(&tenant, JobKind::SyncTenant, None)
                .await?;
            state.wake_workers();
            Flash::ok(format!(
                "Approved {}; queued a full reconcile that deletes those members now.",
                deletions_in_words(changed)
            ))
        }
        HoldDecision::Reject => Flash::ok(format!(
            "Rejected {}; those members are kept while the employees' records stay as they are.",
            deletions_in_words(changed)
        )),
    };
    Ok(session.redirect(&page, flash))
}

/// `Some(None)` for every deletion, `Some(Some(ids))` for one employee, `None` when the
/// form names neither (or an id that cannot be one).
fn chosen_employees(form: &DecisionForm) -> Option<Option<Vec<EmployeeId>>> {
    if form.scope.as_deref() == Some("all") {
        return Some(None);
    }
    let raw = form.employee.as_deref()?;
    let id = EmployeeId::parse(raw).ok()?;
    Some(Some(vec![id]))
}

fn deletions_in_words(count: usize) -> String {
    if count == 1 {
        "1 held deletion".to_owned()
    } else {
        format!("{count} held deletions")
    }
}
