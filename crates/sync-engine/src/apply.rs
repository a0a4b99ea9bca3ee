//! Applying plans: one employee at a time, each step recorded as it completes.
//!
//! [`sync_employee`] plans, executes the steps in order, and writes the member link and
//! a history entry after every call, so a crash or a failed call leaves a record of what
//! was done; the next pass plans again from what Akiles holds and does only the rest.
//!
//! When a call fails in a way that may still have been applied (a lost reply, a timeout,
//! a 5xx), the engine does not guess: it looks the employee's owned members up again and
//! re-plans (at most [`MAX_ATTEMPTS`] passes), so a create whose reply was lost is found
//! by its `employee_id` metadata instead of being made twice. Any other failure is
//! recorded against the employee, and the others carry on.

use std::collections::{BTreeMap, BTreeSet};

use akiles_client::ClientError;
use akiles_types::Member;
use hr_domain::EmployeeId;
use serde_json::json;
use sync_store::{
    CredentialKind, HistoryEntry, MemberLink, NewDelivery, OwnedObjects, RunId, Store, SyncState,
};
use tracing::{debug, warn};

use crate::akiles::Akiles;
use crate::desired::{DesiredMember, Warning};
use crate::ownership::is_owned;
use crate::plan::{Plan, Step, StepKind, bodies, plan};

/// Passes (plan + execute) per employee per run before giving up.
pub const MAX_ATTEMPTS: usize = 3;

/// Everything [`sync_employee`] needs besides the employee.
#[derive(Clone, Copy)]
pub struct ApplyContext<'a> {
    pub api: &'a dyn Akiles,
    pub store: &'a dyn Store,
    pub tenant: &'a str,
    pub run: Option<RunId>,
    /// Member groups to leave alone (their mapping is broken).
    pub held_groups: &'a BTreeSet<String>,
    pub clock: &'a dyn hr_domain::Clock,
    /// Which new credentials are queued for delivery to the employee's work e-mail.
    pub deliver: Deliver,
}

/// Which newly created credentials are sent to the employee by e-mail.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Deliver {
    pub pin: bool,
    pub magic_link: bool,
}

impl std::fmt::Debug for ApplyContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApplyContext")
            .field("tenant", &self.tenant)
            .finish_non_exhaustive()
    }
}

/// How one employee's pass ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Akiles already matched; no call made.
    Unchanged,
    /// Every planned call succeeded.
    Applied,
    /// Some calls succeeded, some failed; the next pass finishes the work.
    Incomplete,
    /// Nothing could be applied.
    Failed,
}

/// What happened to one employee in a run. Ids and counts only, no personal data.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EmployeeReport {
    pub employee_id: EmployeeId,
    pub outcome: Outcome,
    /// Calls planned on the first pass, per kind.
    pub planned: BTreeMap<StepKind, usize>,
    /// Calls that succeeded, per kind.
    pub applied: BTreeMap<StepKind, usize>,
    pub errors: Vec<String>,
    #[serde(skip)]
    pub warnings: Vec<Warning>,
    /// The first plan, for printing (`-v`).
    #[serde(skip)]
    pub plan: Vec<String>,
    /// A create was refused because another member holds the e-mail or card: a later
    /// pass in the same run may succeed once that member lets go of it.
    #[serde(skip)]
    pub taken_elsewhere: bool,
}

impl EmployeeReport {
    /// The outcome its counts and errors amount to.
    pub(crate) fn settled_outcome(&self) -> Outcome {
        match (self.applied.is_empty(), self.errors.is_empty()) {
            (true, true) => Outcome::Unchanged,
            (false, true) => Outcome::Applied,
            (false, false) => Outcome::Incomplete,
            (true, false) if self.planned.is_empty() => Outcome::Incomplete,
            (true, false) => Outcome::Failed,
        }
    }

    fn new(employee_id: EmployeeId, warnings: Vec<Warning>) -> Self {
        Self {
            employee_id,
            outcome: Outcome::Unchanged,
            planned: BTreeMap::new(),
            applied: BTreeMap::new(),
            errors: Vec::new(),
            warnings,
            plan: Vec::new(),
            taken_elsewhere: false,
        }
    }
}

/// Why a step failed.
enum StepError {
    /// The call may have been applied; look again before doing anything more.
    Unsure(ClientError),
    /// The call failed; later independent steps may still run.
    Failed(ClientError),
}

/// A call that failed in a way that may still have been applied, with the step it was.
struct UnsureCall {
    step: String,
    error: ClientError,
}

impl std::fmt::Display for UnsureCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.step, self.error)
    }
}

/// Plans and applies one employee, given the members Akiles holds for them.
pub async fn sync_employee(
    ctx: ApplyContext<'_>,
    id: &EmployeeId,
    desired: Option<&DesiredMember>,
    mut observed: Vec<Member>,
    extra_errors: Vec<String>,
) -> EmployeeReport {
    let warnings = desired.map(|d| d.warnings.clone()).unwrap_or_default();
    log_warnings(id, &warnings);
    let mut report = EmployeeReport::new(id.clone(), warnings);
    report.errors = extra_errors;

    let first_member = plan(ctx.tenant, id, desired, &observed, ctx.held_groups).member_id;
    let mut link = LinkState::from_observed(id, first_member, &observed);

    for attempt in 1..=MAX_ATTEMPTS {
        let plan = plan(ctx.tenant, id, desired, &observed, ctx.held_groups);
        if attempt == 1 {
            report.planned = plan.counts();
            report.plan = plan.steps.iter().map(ToString::to_string).collect();
            if !plan.is_empty() {
                record(ctx, id, "plan", json!({ "steps": &plan.steps })).await;
            }
        }
        if plan.is_empty() {
            break;
        }

        link = LinkState::from_observed(id, plan.member_id.clone(), &observed);
        match execute(ctx, &plan, &mut link, &mut report).await {
            Ok(()) => break,
            Err(error) if attempt < MAX_ATTEMPTS => {
                warn!(employee.id = %id, attempt, error = %error,
                    "A call for employee {id} may have been applied; looking again");
                match ctx.api.owned_members_of(ctx.tenant, id.as_str()).await {
                    Ok(members) => observed = members,
                    Err(lookup) => {
                        report
                            .errors
                            .push(format!("looking the member up again failed: {lookup}"));
                        break;
                    }
                }
            }
            Err(error) => report
                .errors
                .push(format!("gave up after {attempt} passes: {error}")),
        }
    }

    report.outcome = report.settled_outcome();
    finish(ctx, &link, &report).await;
    report
}

fn log_warnings(id: &EmployeeId, warnings: &[Warning]) {
    for warning in warnings {
        match warning {
            Warning::UnmappedGroups(_) => debug!(employee.id = %id, "Employee {id}: {warning}"),
            _ => warn!(employee.id = %id, "Employee {id}: {warning}"),
        }
    }
}

/// Runs the steps in order. Returns `Err` when a call may have been applied and the
/// employee must be looked at again.
async fn execute(
    ctx: ApplyContext<'_>,
    plan: &Plan,
    link: &mut LinkState,
    report: &mut EmployeeReport,
) -> Result<(), UnsureCall> {
    for step in &plan.steps {
        let member_id = match (step, &link.member_id) {
            (Step::CreateMember { .. } | Step::DeleteMember { .. }, _) => String::new(),
            (_, Some(member_id)) => member_id.clone(),
            // The member could not be created; nothing else can be done this pass.
            (_, None) => break,
        };

        let result = run_step(ctx, step, &member_id, link).await;
        let status = match &result {
            Ok(()) => "ok".to_owned(),
            Err(StepError::Unsure(e) | StepError::Failed(e)) => e.to_string(),
        };
        record(
            ctx,
            &plan.employee_id,
            "call",
            json!({ "step": step, "result": status }),
        )
        .await;

        match result {
            Ok(()) => {
                *report.applied.entry(step.kind()).or_default() += 1;
                save_link(ctx, link, SyncState::Pending, None).await;
            }
            Err(StepError::Unsure(error)) => {
                let step = step.to_string();
                return Err(UnsureCall { step, error });
            }
            Err(StepError::Failed(error)) => {
                match taken_elsewhere(step, &error) {
                    Some(what) => {
                        report.taken_elsewhere = true;
                        report.errors.push(format!(
                            "{step}: {what} ({error}); free it there or correct the record in HR"
                        ));
                    }
                    None => report.errors.push(format!("{step}: {error}")),
                }
                if matches!(step, Step::CreateMember { .. }) {
                    break;
                }
            }
        }
    }
    Ok(())
}

async fn run_step(
    ctx: ApplyContext<'_>,
    step: &Step,
    member_id: &str,
    link: &mut LinkState,
) -> Result<(), StepError> {
    let api = ctx.api;
    match step {
        Step::CreateMember { body } => {
            let member = api.create_member(body).await.map_err(classify)?;
            debug!(member.id = %member.id, "Created member {}", member.id);
            link.member_id = Some(member.id);
        }
        Step::UpdateMember {
            member_id, patch, ..
        } => {
            api.update_member(member_id, patch)
                .await
                .map_err(classify)?;
        }
        Step::DeleteMember { member_id, .. } => {
            gone_is_fine(api.delete_member(member_id).await)?;
            if link.member_id.as_deref() == Some(member_id.as_str()) {
                link.member_id = None;
                link.owned = OwnedObjects::default();
            }
        }
        Step::CreateAssociation { member_group_id } => {
            let body = bodies::association(member_group_id);
            let created = api
                .create_association(member_id, &body)
                .await
                .map_err(classify)?;
            link.owned
                .associations
                .insert(member_group_id.clone(), created.id);
        }
        Step::DeleteAssociation {
            association_id,
            member_group_id,
        } => {
            gone_is_fine(api.delete_association(member_id, association_id).await)?;
            link.owned.associations.remove(member_group_id);
        }
        Step::CreateEmail { email } => {
            let created = api.create_email(member_id, &bodies::email(email)).await;
            link.owned.emails.push(created.map_err(classify)?.id);
        }
        Step::DeleteEmail { email_id } => {
            gone_is_fine(api.delete_email(member_id, email_id).await)?;
            link.owned.emails.retain(|id| id != email_id);
        }
        Step::CreatePin { length } => {
            let pin_id = api.create_pin(member_id, &bodies::pin(*length)).await;
            let pin_id = pin_id.map_err(classify)?;
            link.owned.pins.push(pin_id.clone());
            if ctx.deliver.pin {
                queue_delivery(ctx, link, CredentialKind::Pin, member_id, &pin_id).await;
            }
        }
        Step::DeletePin { pin_id } => {
            gone_is_fine(api.delete_pin(member_id, pin_id).await)?;
            link.owned.pins.retain(|id| id != pin_id);
        }
        Step::CreateMagicLink => {
            let created = api
                .create_magic_link(member_id, &bodies::magic_link())
                .await;
            let link_id = created.map_err(classify)?.id;
            link.owned.magic_links.push(link_id.clone());
            if ctx.deliver.magic_link {
                let kind = CredentialKind::MagicLink;
                queue_delivery(ctx, link, kind, member_id, &link_id).await;
            }
        }
        Step::DeleteMagicLink { magic_link_id } => {
            gone_is_fine(api.delete_magic_link(member_id, magic_link_id).await)?;
            link.owned.magic_links.retain(|id| id != magic_link_id);
        }
        Step::CreateCard { card } => {
            let created = api.create_card(member_id, card).await;
            link.owned.cards.push(created.map_err(classify)?.id);
        }
        Step::DeleteCard { card_id } => {
            gone_is_fine(api.delete_card(member_id, card_id).await)?;
            link.owned.cards.retain(|id| id != card_id);
        }
    }
    Ok(())
}

/// What another member holds, when a create failed because of it.
fn taken_elsewhere(step: &Step, error: &ClientError) -> Option<&'static str> {
    let ClientError::Api { status, body } = error else {
        return None;
    };
    let reason = body.args.get("reason").map(String::as_str);
    match step {
        Step::CreateEmail { .. } if *status == 409 || body.kind == "email_in_use" => {
            Some("the e-mail address is held by another Akiles member")
        }
        Step::CreateCard { .. } if reason == Some("already_assigned") => {
            Some("the card is assigned to another Akiles member")
        }
        _ => None,
    }
}

fn classify(error: ClientError) -> StepError {
    if error.may_have_applied() {
        StepError::Unsure(error)
    } else {
        StepError::Failed(error)
    }
}

/// A delete of something already gone has reached its goal.
fn gone_is_fine(result: Result<(), ClientError>) -> Result<(), StepError> {
    match result {
        Err(error) if error.is_not_found() => Ok(()),
        other => other.map_err(classify),
    }
}

/// The member link as it evolves during a pass.
struct LinkState {
    employee_id: EmployeeId,
    member_id: Option<String>,
    owned: OwnedObjects,
}

impl LinkState {
    fn from_observed(
        employee_id: &EmployeeId,
        member_id: Option<String>,
        observed: &[Member],
    ) -> Self {
        let owned = observed
            .iter()
            .find(|m| Some(&m.id) == member_id.as_ref())
            .map(owned_objects)
            .unwrap_or_default();
        Self {
            employee_id: employee_id.clone(),
            member_id,
            owned,
        }
    }
}

/// The owned sub-objects of a member, as the store records them.
pub fn owned_objects(member: &Member) -> OwnedObjects {
    fn ids<T>(items: &Option<Vec<T>>, keep: impl Fn(&T) -> Option<&String>) -> Vec<String> {
        items.iter().flatten().filter_map(keep).cloned().collect()
    }
    let mut owned = OwnedObjects {
        emails: ids(&member.emails, |e| {
            (!e.is_deleted && is_owned(&e.metadata)).then_some(&e.id)
        }),
        pins: ids(&member.pins, |p| {
            (!p.is_deleted && is_owned(&p.metadata)).then_some(&p.id)
        }),
        magic_links: ids(&member.magic_links, |l| {
            (!l.is_deleted && is_owned(&l.metadata)).then_some(&l.id)
        }),
        cards: ids(&member.cards, |c| {
            (!c.is_deleted && is_owned(&c.metadata)).then_some(&c.id)
        }),
        ..OwnedObjects::default()
    };
    for assoc in member.group_associations.iter().flatten() {
        if !assoc.is_deleted && is_owned(&assoc.metadata) {
            owned
                .associations
                .insert(assoc.member_group_id.clone(), assoc.id.clone());
        }
    }
    owned
}

async fn save_link(
    ctx: ApplyContext<'_>,
    link: &LinkState,
    state: SyncState,
    error: Option<String>,
) {
    let record = MemberLink {
        employee_id: link.employee_id.clone(),
        member_id: link.member_id.clone(),
        owned: link.owned.clone(),
        state,
        last_error: error,
        updated_at: ctx.clock.now(),
    };
    if let Err(e) = ctx.store.save_link(ctx.tenant, &record).await {
        warn!(employee.id = %link.employee_id, error = %e, "Could not record the member link");
    }
}

/// Queues the e-mail of a credential just created, and notes it in the history. The
/// credential exists either way, so a failure here is only a warning.
async fn queue_delivery(
    ctx: ApplyContext<'_>,
    link: &LinkState,
    credential: CredentialKind,
    member_id: &str,
    credential_id: &str,
) {
    let employee_id = &link.employee_id;
    let delivery = NewDelivery {
        employee_id: employee_id.clone(),
        credential,
        member_id: member_id.to_owned(),
        credential_id: credential_id.to_owned(),
    };
    match ctx.store.queue_delivery(ctx.tenant, &delivery).await {
        Ok(id) => {
            debug!(employee.id = %employee_id, delivery.id = id.0, "Queued delivery {}", id.0);
            let detail = json!({ "credential": credential, "state": "queued" });
            record(ctx, employee_id, "delivery", detail).await;
        }
        Err(e) => warn!(
            employee.id = %employee_id,
            error = %e,
            "Could not queue the {} e-mail of employee {employee_id}",
            credential.as_str()
        ),
    }
}

async fn record(ctx: ApplyContext<'_>, id: &EmployeeId, kind: &str, detail: serde_json::Value) {
    let entry = HistoryEntry {
        kind: kind.to_owned(),
        detail,
    };
    if let Err(e) = ctx
        .store
        .append_history(ctx.tenant, id, ctx.run, &entry)
        .await
    {
        warn!(employee.id = %id, error = %e, "Could not record history for employee {id}");
    }
}

/// Writes the final state of an employee's pass: the link (only when it changed, so a
/// pass with nothing to do writes nothing) and a `result` history entry.
async fn finish(ctx: ApplyContext<'_>, link: &LinkState, report: &EmployeeReport) {
    let state = match report.outcome {
        Outcome::Unchanged | Outcome::Applied => SyncState::InSync,
        Outcome::Incomplete => SyncState::Incomplete,
        Outcome::Failed => SyncState::Failed,
    };
    let error = (!report.errors.is_empty()).then(|| report.errors.join("; "));
    let stored = match ctx.store.link(ctx.tenant, &link.employee_id).await {
        Ok(stored) => stored,
        Err(e) => {
            warn!(employee.id = %link.employee_id, error = %e, "Could not read the member link");
            None
        }
    };
    let same = stored.is_some_and(|s| {
        s.member_id == link.member_id
            && s.owned == link.owned
            && s.state == state
            && s.last_error == error
    });
    if !same {
        save_link(ctx, link, state, error).await;
    }
    if report.outcome != Outcome::Unchanged {
        let detail = json!({ "outcome": report.outcome, "errors": report.errors });
        record(ctx, &link.employee_id, "result", detail).await;
    }
}
