//! A sync run over a complete snapshot of employees (a file import).
//!
//! The run reads Akiles once (member groups, and every owned member with its sub-objects
//! expanded, page by page), plans every employee against it, and applies the plans with
//! bounded concurrency. Employees in Akiles but missing from the snapshot lose their
//! member: the snapshot is the whole truth. Members are deleted first, so what a leaver
//! held (an e-mail, a card) is free before anyone else is given it. An empty snapshot,
//! or one listing an employee twice, is treated as a broken export: nothing is changed.

use std::collections::{BTreeMap, BTreeSet};

use akiles_client::ClientError;
use akiles_types::{Member, MemberGroup};
use futures_util::StreamExt;
use hr_domain::{
    Clock, CredentialSettings, Employee, EmployeeId, HrGroup, Mapping, TimeZone, normalize_text,
};
use serde::{Deserialize, Serialize};
use sync_store::{
    HeldDeletion, HistoryEntry, HoldState, NewHold, PutOutcome, RunId, Store, StoreError,
};
use time::OffsetDateTime;
use tracing::{info, warn};

use crate::akiles::Akiles;
use crate::apply::{ApplyContext, EmployeeReport, Outcome, sync_employee};
use crate::desired::{DesiredMember, Policy};
use crate::guard::DeletionGuard;
use crate::ownership::{is_owned, member_employee_id};
use crate::plan::{DeleteReason, Step, StepKind, plan};

/// The mapping as an admin writes it: Akiles groups named by id (`mg_…`) or by name.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingSpec {
    /// Groups every employee gets.
    #[serde(default)]
    pub every_employee: Vec<String>,
    /// HR group → Akiles groups.
    #[serde(default)]
    pub groups: BTreeMap<String, Vec<String>>,
}

/// A mapping entry whose Akiles group does not exist (any more).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BrokenMapping {
    /// The HR group, or `None` for the every-employee rule.
    pub hr_group: Option<String>,
    /// The Akiles group as written in the mapping.
    pub reference: String,
}

impl std::fmt::Display for BrokenMapping {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let from = self.hr_group.as_deref().unwrap_or("every employee");
        write!(
            f,
            "{from} → {:?}: no such member group in Akiles",
            self.reference
        )
    }
}

/// Why a run could not start or had to stop as a whole.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("reading {what} from Akiles failed; nothing was changed")]
    Read {
        what: &'static str,
        #[source]
        source: ClientError,
    },
    #[error("the mapping names Akiles group {name:?}, which matches {count} groups; use its id")]
    AmbiguousGroup { name: String, count: usize },
    #[error("the mapping has a blank HR group name")]
    BlankHrGroup,
    #[error("the store failed")]
    Store(#[from] StoreError),
}

/// A mapping resolved against the live member groups.
#[derive(Debug, Clone)]
pub struct ResolvedMapping {
    pub mapping: Mapping,
    pub broken: Vec<BrokenMapping>,
    /// Ids of mapped groups that are gone: their associations are left alone.
    pub held: BTreeSet<String>,
}

/// Resolves each reference by id first, then by exact name among live groups, then by
/// name ignoring case and extra spaces.
pub fn resolve_mapping(
    spec: &MappingSpec,
    groups: &[MemberGroup],
) -> Result<ResolvedMapping, RunError> {
    let live: Vec<&MemberGroup> = groups.iter().filter(|g| !g.is_deleted).collect();
    let mut broken = Vec::new();
    let mut held = BTreeSet::new();
    let mut resolve =
        |hr_group: Option<&str>, reference: &str| -> Result<Option<String>, RunError> {
            if let Some(group) = live.iter().find(|g| g.id == reference) {
                return Ok(Some(group.id.clone()));
            }
            let mut by_name: Vec<_> = live.iter().filter(|g| g.name == reference).collect();
            if by_name.is_empty() {
                let folded = normalize_text(reference).to_lowercase();
                let same = |g: &&&MemberGroup| normalize_text(&g.name).to_lowercase() == folded;
                by_name = live.iter().filter(same).collect();
            }
            match by_name.as_slice() {
                [group] => Ok(Some(group.id.clone())),
                [] => {
                    if reference.starts_with("mg_") {
                        held.insert(reference.to_owned());
                    }
                    let hr_group = hr_group.map(str::to_owned);
                    broken.push(BrokenMapping {
                        hr_group,
                        reference: reference.to_owned(),
                    });
                    Ok(None)
                }
                many => Err(RunError::AmbiguousGroup {
                    name: reference.to_owned(),
                    count: many.len(),
                }),
            }
        };

    let mut mapping = Mapping::new();
    for reference in &spec.every_employee {
        mapping.every_employee.extend(resolve(None, reference)?);
    }
    for (hr_group, references) in &spec.groups {
        let mut ids = Vec::new();
        for reference in references {
            ids.extend(resolve(Some(hr_group), reference)?);
        }
        mapping
            .map(hr_group, ids)
            .map_err(|_| RunError::BlankHrGroup)?;
    }
    Ok(ResolvedMapping {
        mapping,
        broken,
        held,
    })
}

/// Options of one run.
#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    /// Plan only: no Akiles writes, no store writes.
    pub dry_run: bool,
    /// Employees applied at once.
    pub concurrency: usize,
    /// The instant the run plans for (HR dates are read in the tenant's time zone).
    pub now: OffsetDateTime,
}

/// Told about progress as employees finish.
pub trait Progress: Sync {
    /// The run will handle `total` employees.
    fn start(&self, total: usize);
    /// One employee is done.
    fn done(&self, report: &EmployeeReport);
}

/// A [`Progress`] that shows nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _total: usize) {}
    fn done(&self, _report: &EmployeeReport) {}
}

/// What a run did. Ids and counts only.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub run: Option<RunId>,
    pub dry_run: bool,
    pub employees: Vec<EmployeeReport>,
    pub broken_mappings: Vec<BrokenMapping>,
    /// Set when the run refused to act on a snapshot that looks wrong.
    pub refused: Option<String>,
    /// Owned members whose `employee_id` metadata is missing or invalid (left alone).
    pub unreadable_members: Vec<String>,
    /// Employees whose member deletion the guard held for an admin.
    pub held_deletions: Vec<EmployeeId>,
    /// Why the deletions were held.
    pub held_reason: Option<String>,
    /// Employees whose deletion an admin rejected; their members are kept.
    pub kept_deletions: Vec<EmployeeId>,
}

impl RunReport {
    /// Calls planned, per kind.
    pub fn planned(&self) -> BTreeMap<StepKind, usize> {
        sum(self.employees.iter().map(|e| &e.planned))
    }

    /// Calls made successfully, per kind.
    pub fn applied(&self) -> BTreeMap<StepKind, usize> {
        sum(self.employees.iter().map(|e| &e.applied))
    }

    /// Employees per outcome.
    pub fn outcomes(&self) -> BTreeMap<Outcome, usize> {
        let mut counts = BTreeMap::new();
        for employee in &self.employees {
            *counts.entry(employee.outcome).or_default() += 1;
        }
        counts
    }

    /// Employees whose pass did not fully succeed.
    pub fn failures(&self) -> impl Iterator<Item = &EmployeeReport> {
        self.employees
            .iter()
            .filter(|e| matches!(e.outcome, Outcome::Failed | Outcome::Incomplete))
    }

    /// True when something needs an admin: failures, broken mappings, or a refusal.
    pub fn has_problems(&self) -> bool {
        self.failures().next().is_some()
            || !self.broken_mappings.is_empty()
            || self.refused.is_some()
            || !self.held_deletions.is_empty()
    }
}

fn sum<'a>(maps: impl Iterator<Item = &'a BTreeMap<StepKind, usize>>) -> BTreeMap<StepKind, usize> {
    let mut total = BTreeMap::new();
    for map in maps {
        for (kind, n) in map {
            *total.entry(*kind).or_default() += n;
        }
    }
    total
}

/// The fixed inputs of a snapshot run.
#[derive(Clone, Copy)]
pub struct SnapshotContext<'a> {
    pub api: &'a dyn Akiles,
    pub store: &'a dyn Store,
    pub clock: &'a dyn Clock,
    pub tenant: &'a str,
    pub mapping: &'a MappingSpec,
    pub credentials: CredentialSettings,
    pub name_max_bytes: usize,
    pub time_zone: &'a TimeZone,
    /// Which new credentials are queued for delivery by e-mail.
    pub deliver: crate::apply::Deliver,
    /// Limits on member deletions per run.
    pub guard: DeletionGuard,
}

impl std::fmt::Debug for SnapshotContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnapshotContext")
            .field("tenant", &self.tenant)
            .finish_non_exhaustive()
    }
}

/// Makes Akiles match a complete snapshot of employees: [`prepare_snapshot`], then
/// [`PreparedSnapshot::plan_report`] for a dry run or [`PreparedSnapshot::apply`].
pub async fn sync_snapshot(
    ctx: SnapshotContext<'_>,
    employees: Vec<Employee>,
    options: RunOptions,
    progress: &dyn Progress,
) -> Result<RunReport, RunError> {
    let prepared = prepare_snapshot(ctx, employees, options.now).await?;
    finish_run(prepared, options, progress).await
}

/// Makes Akiles match the employee records in the store: a full reconcile. It repairs
/// drift (members deleted or changed by hand, a lost webhook, a failed job): every owned
/// member is compared with its employee's record, and nothing the sync does not own is
/// touched.
pub async fn reconcile(
    ctx: SnapshotContext<'_>,
    options: RunOptions,
    progress: &dyn Progress,
) -> Result<RunReport, RunError> {
    let prepared = prepare_reconcile(ctx, options.now).await?;
    finish_run(prepared, options, progress).await
}

async fn finish_run(
    prepared: PreparedSnapshot<'_>,
    options: RunOptions,
    progress: &dyn Progress,
) -> Result<RunReport, RunError> {
    if options.dry_run {
        return Ok(prepared.plan_report(progress));
    }
    prepared.apply(options.concurrency, progress).await
}

/// Where a run's employee records come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// A complete snapshot (file import): stored before it is applied.
    Snapshot,
    /// The records already in the store (reconcile).
    Store,
}

impl Source {
    fn run_kind(self) -> &'static str {
        match self {
            Source::Snapshot => "import",
            Source::Store => "reconcile",
        }
    }
}

/// A snapshot read against Akiles once, ready to print and to apply: the plan printed
/// is the plan applied.
pub struct PreparedSnapshot<'a> {
    ctx: SnapshotContext<'a>,
    source: Source,
    employees: Vec<Employee>,
    work: Vec<Work>,
    held: BTreeSet<String>,
    guard: GuardDecision,
    group_names: BTreeMap<String, String>,
    report: RunReport,
}

impl std::fmt::Debug for PreparedSnapshot<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedSnapshot")
            .field("tenant", &self.ctx.tenant)
            .field("employees", &self.work.len())
            .finish_non_exhaustive()
    }
}

/// What the deletion guard decided for one run.
#[derive(Debug, Default)]
struct GuardDecision {
    /// Deletions held for an admin: employee and the members that would go.
    held: Vec<(EmployeeId, Vec<String>)>,
    /// Stored decisions of employees not held by this run (approved and applied now, or
    /// moot because the employee has access again), to clear after the run.
    settled: Vec<EmployeeId>,
    /// The stored record versions, for the rows this run holds.
    versions: BTreeMap<EmployeeId, i64>,
}

/// Reads member groups and the tenant's owned members (one paged list), resolves the
/// mapping and computes every employee's desired state. Writes nothing.
pub async fn prepare_snapshot(
    ctx: SnapshotContext<'_>,
    employees: Vec<Employee>,
    now: OffsetDateTime,
) -> Result<PreparedSnapshot<'_>, RunError> {
    let refused = refusal(&employees);
    prepare(ctx, Source::Snapshot, employees, None, refused, now).await
}

/// Like [`prepare_snapshot`], with the employees of the store as the snapshot. A store
/// with no present employee while Akiles holds owned members is refused as suspicious.
pub async fn prepare_reconcile(
    ctx: SnapshotContext<'_>,
    now: OffsetDateTime,
) -> Result<PreparedSnapshot<'_>, RunError> {
    // One read of the store gives both the records and the versions the guard needs.
    let mut employees = Vec::new();
    let mut versions = BTreeMap::new();
    for stored in ctx.store.employees(ctx.tenant).await? {
        versions.insert(stored.employee.id.clone(), stored.version);
        if stored.present {
            employees.push(stored.employee);
        }
    }
    prepare(ctx, Source::Store, employees, Some(versions), None, now).await
}

async fn prepare<'a>(
    ctx: SnapshotContext<'a>,
    source: Source,
    employees: Vec<Employee>,
    versions: Option<BTreeMap<EmployeeId, i64>>,
    refused: Option<String>,
    now: OffsetDateTime,
) -> Result<PreparedSnapshot<'a>, RunError> {
    let groups = ctx
        .api
        .member_groups()
        .await
        .map_err(|source| RunError::Read {
            what: "member groups",
            source,
        })?;
    let resolved = resolve_mapping(ctx.mapping, &groups)?;
    for broken in &resolved.broken {
        warn!(reference = %broken.reference, "Mapping is broken: {broken}");
    }
    let group_names = groups
        .iter()
        .map(|g| (g.id.clone(), g.name.clone()))
        .collect();
    let mut report = RunReport {
        run: None,
        dry_run: true,
        employees: Vec::new(),
        broken_mappings: resolved.broken.clone(),
        refused,
        unreadable_members: Vec::new(),
        held_deletions: Vec::new(),
        held_reason: None,
        kept_deletions: Vec::new(),
    };
    let empty = |report| PreparedSnapshot {
        ctx,
        source,
        employees: Vec::new(),
        work: Vec::new(),
        held: BTreeSet::new(),
        guard: GuardDecision::default(),
        group_names: BTreeMap::new(),
        report,
    };
    if let Some(why) = &report.refused {
        warn!("Refused the snapshot: {why}");
        return Ok(empty(report));
    }

    let members = ctx
        .api
        .owned_members(ctx.tenant)
        .await
        .map_err(|source| RunError::Read {
            what: "members",
            source,
        })?;
    if source == Source::Store && employees.is_empty() && !members.is_empty() {
        report.refused = Some(format!(
            "the store holds no current employee but Akiles holds {} members the sync owns; \
             this looks like a failed export, so nothing was changed and no member was deleted",
            members.len()
        ));
        warn!(
            "Refused the reconcile: {}",
            report.refused.as_deref().unwrap_or_default()
        );
        return Ok(empty(report));
    }
    let mut observed: BTreeMap<EmployeeId, Vec<Member>> = BTreeMap::new();
    for member in members {
        match member_employee_id(&member.metadata, ctx.tenant).map(EmployeeId::parse) {
            Some(Ok(id)) => observed.entry(id).or_default().push(member),
            _ => report.unreadable_members.push(member.id),
        }
    }
    let owned_employees = observed.len();

    let policy = Policy {
        tenant: ctx.tenant.to_owned(),
        mapping: resolved.mapping.clone(),
        credentials: ctx.credentials,
        name_max_bytes: ctx.name_max_bytes,
        time_zone: ctx.time_zone.clone(),
    };
    let mut work = work_list(&employees, &mut observed, &policy, &resolved, now);
    let held = held_groups(&resolved, &groups, observed_members(&work));
    let versions = match versions {
        Some(versions) => versions,
        None => stored_versions(ctx).await?,
    };
    let guard = guard_deletions(
        ctx,
        &mut work,
        &held,
        owned_employees,
        versions,
        &mut report,
    )
    .await?;
    Ok(PreparedSnapshot {
        ctx,
        source,
        employees,
        work,
        held,
        guard,
        group_names,
        report,
    })
}

/// Applies the deletion guard: takes held and admin-kept deletions out of `work` and
/// says which stored decisions the run settles.
async fn guard_deletions(
    ctx: SnapshotContext<'_>,
    work: &mut Vec<Work>,
    held_groups: &BTreeSet<String>,
    owned_employees: usize,
    versions: BTreeMap<EmployeeId, i64>,
    report: &mut RunReport,
) -> Result<GuardDecision, RunError> {
    let decisions: BTreeMap<EmployeeId, HeldDeletion> = ctx
        .store
        .held_deletions(ctx.tenant)
        .await?
        .into_iter()
        .map(|h| (h.employee_id.clone(), h))
        .collect();

    let mut counted = Vec::new();
    let mut kept = BTreeSet::new();
    for item in work.iter().filter(|w| w.desired.is_none()) {
        let members = member_deletions(ctx.tenant, item, held_groups);
        if members.is_empty() {
            continue;
        }
        match decisions.get(&item.id) {
            Some(d) if d.state == HoldState::Approved => {}
            Some(d)
                if d.state == HoldState::Rejected
                    && d.record_version == versions.get(&item.id).copied() =>
            {
                kept.insert(item.id.clone());
            }
            _ => counted.push((item.id.clone(), members)),
        }
    }

    let mut decision = GuardDecision::default();
    if ctx.guard.holds(counted.len(), owned_employees) {
        let reason = ctx.guard.describe(counted.len(), owned_employees);
        warn!(
            tenant = ctx.tenant,
            held = counted.len(),
            "Deletions held for an admin: {reason}"
        );
        report.held_reason = Some(reason);
        decision.held = counted;
    }
    let held_ids: BTreeSet<&EmployeeId> = decision.held.iter().map(|(id, _)| id).collect();
    work.retain(|w| !held_ids.contains(&w.id) && !kept.contains(&w.id));
    report.held_deletions = held_ids.iter().map(|id| (*id).clone()).collect();
    report.kept_deletions = kept.iter().cloned().collect();
    decision.settled = decisions
        .keys()
        .filter(|id| !held_ids.contains(id) && !kept.contains(*id))
        .cloned()
        .collect();
    decision.versions = versions;
    Ok(decision)
}

/// The members a work item would delete because its employee has no access.
fn member_deletions(tenant: &str, item: &Work, held_groups: &BTreeSet<String>) -> Vec<String> {
    plan(tenant, &item.id, None, &item.observed, held_groups)
        .steps
        .into_iter()
        .filter_map(|step| match step {
            Step::DeleteMember {
                member_id,
                reason: DeleteReason::NoAccess,
            } => Some(member_id),
            _ => None,
        })
        .collect()
}

/// Why a snapshot must not be applied at all, if it must not.
fn refusal(employees: &[Employee]) -> Option<String> {
    if employees.is_empty() {
        return Some(
            "the snapshot holds no employees; it looks like a failed export, so nothing was \
             changed and no member was deleted"
                .to_owned(),
        );
    }
    first_repeated_id(employees)
        .map(|id| format!("the snapshot lists employee {id} more than once; nothing was changed"))
}

impl PreparedSnapshot<'_> {
    /// The plan of every employee, as a dry-run report. Pure.
    pub fn plan_report(&self, progress: &dyn Progress) -> RunReport {
        let mut report = self.report.clone();
        progress.start(self.work.len());
        report.employees = self
            .work
            .iter()
            .map(|w| dry_run(self.ctx.tenant, w, &self.held, progress))
            .collect();
        report
            .employees
            .sort_by(|a, b| a.employee_id.cmp(&b.employee_id));
        let planned = summary_line(&report.planned());
        info!(
            employees = report.employees.len(),
            "Planned sync run: {planned}"
        );
        report
    }

    /// The effect of the run in an admin's words: groups gained and lost, members
    /// created and deleted, credentials created. Computed by the same planner as the run.
    pub fn preview(&self) -> Preview {
        let mut preview = Preview {
            held_deletions: self.report.held_deletions.len(),
            refused: self.report.refused.clone(),
            ..Preview::default()
        };
        for item in &self.work {
            let plan = plan(
                self.ctx.tenant,
                &item.id,
                item.desired.as_ref(),
                &item.observed,
                &self.held,
            );
            for step in &plan.steps {
                *preview.steps.entry(step.kind()).or_default() += 1;
                let name = |id: &str| self.group_names.get(id).cloned().unwrap_or(id.to_owned());
                match step {
                    Step::CreateAssociation { member_group_id } => {
                        *preview.gain.entry(name(member_group_id)).or_default() += 1;
                    }
                    Step::DeleteAssociation {
                        member_group_id, ..
                    } => {
                        *preview.lose.entry(name(member_group_id)).or_default() += 1;
                    }
                    _ => {}
                }
            }
        }
        preview
    }

    /// Stores the snapshot (for an import) and applies every plan (leavers first); held
    /// deletions are recorded for an admin.
    pub async fn apply(
        self,
        concurrency: usize,
        progress: &dyn Progress,
    ) -> Result<RunReport, RunError> {
        let PreparedSnapshot {
            ctx,
            source,
            employees,
            work,
            held,
            guard,
            mut report,
            ..
        } = self;
        report.dry_run = false;
        if let Some(why) = &report.refused {
            // A refused run is recorded, so the admin pages show the suspicious export.
            let run = ctx.store.start_run(ctx.tenant, source.run_kind()).await?;
            report.run = Some(run);
            let summary = serde_json::json!({ "refused": why, "suspicious": true });
            ctx.store.finish_run(run, &summary).await?;
            return Ok(report);
        }
        report.run = Some(ctx.store.start_run(ctx.tenant, source.run_kind()).await?);
        let mut versions = guard.versions;
        if source == Source::Snapshot {
            store_snapshot(ctx, &employees, report.run).await?;
            versions = stored_versions(ctx).await?;
        }
        if !guard.held.is_empty() {
            let holds: Vec<NewHold> = guard
                .held
                .iter()
                .map(|(id, members)| NewHold {
                    employee_id: id.clone(),
                    member_ids: members.clone(),
                    record_version: versions.get(id).copied(),
                })
                .collect();
            let reason = report.held_reason.clone().unwrap_or_default();
            ctx.store
                .hold_deletions(ctx.tenant, &holds, report.run, &reason)
                .await?;
        }

        progress.start(work.len());
        let apply = ApplyContext {
            api: ctx.api,
            store: ctx.store,
            tenant: ctx.tenant,
            run: report.run,
            held_groups: &held,
            clock: ctx.clock,
            deliver: ctx.deliver,
        };
        // Members to delete go first, as a phase of their own: a leaver's e-mail, card or
        // PIN is freed before a hire in the same snapshot is given it.
        let (leavers, others): (Vec<Work>, Vec<Work>) =
            work.into_iter().partition(|w| w.desired.is_none());
        let desired: BTreeMap<EmployeeId, DesiredMember> = others
            .iter()
            .filter_map(|w| Some((w.id.clone(), w.desired.clone()?)))
            .collect();
        let mut reports = apply_all(apply, leavers, concurrency, progress).await;
        reports.extend(apply_all(apply, others, concurrency, progress).await);
        retry_taken(apply, &desired, &mut reports).await;
        report.employees = reports;
        report
            .employees
            .sort_by(|a, b| a.employee_id.cmp(&b.employee_id));

        // A decision is done with once its employee's pass succeeded.
        let succeeded: BTreeSet<&EmployeeId> = report
            .employees
            .iter()
            .filter(|e| matches!(e.outcome, Outcome::Applied | Outcome::Unchanged))
            .map(|e| &e.employee_id)
            .collect();
        for id in guard.settled.iter().filter(|id| succeeded.contains(id)) {
            ctx.store.clear_held_deletion(ctx.tenant, id).await?;
        }

        if let Some(run) = report.run {
            ctx.store.finish_run(run, &summary_json(&report)).await?;
        }
        let applied = summary_line(&report.applied());
        let failed = report.failures().count();
        info!(
            employees = report.employees.len(),
            failed, "Sync run finished: {applied}"
        );
        Ok(report)
    }
}

/// One more pass, one employee at a time, for those whose e-mail or card create was
/// refused because another member held it: when two employees swap addresses (or cards),
/// each held the other's until its own pass removed it.
async fn retry_taken(
    apply: ApplyContext<'_>,
    desired: &BTreeMap<EmployeeId, DesiredMember>,
    reports: &mut [EmployeeReport],
) {
    for report in reports.iter_mut().filter(|r| r.taken_elsewhere) {
        let Some(wanted) = desired.get(&report.employee_id) else {
            continue;
        };
        let id = report.employee_id.clone();
        let observed = match apply.api.owned_members_of(apply.tenant, id.as_str()).await {
            Ok(members) => members,
            Err(error) => {
                warn!(employee.id = %id, error = %error, "Could not look employee {id} up again");
                continue;
            }
        };
        let again = sync_employee(apply, &id, Some(wanted), observed, Vec::new()).await;
        for (kind, n) in &again.applied {
            *report.applied.entry(*kind).or_default() += n;
        }
        report.errors = again.errors;
        report.taken_elsewhere = again.taken_elsewhere;
        report.outcome = report.settled_outcome();
    }
}

async fn stored_versions(ctx: SnapshotContext<'_>) -> Result<BTreeMap<EmployeeId, i64>, RunError> {
    Ok(ctx
        .store
        .employees(ctx.tenant)
        .await?
        .into_iter()
        .map(|s| (s.employee.id, s.version))
        .collect())
}

/// The effect of a run, counted per Akiles group and per kind of call.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Preview {
    /// Group name → members that gain it.
    pub gain: BTreeMap<String, usize>,
    /// Group name → members that lose it.
    pub lose: BTreeMap<String, usize>,
    /// Calls per kind (member creations and deletions, credentials created, …).
    pub steps: BTreeMap<StepKind, usize>,
    /// Deletions the guard would hold for an admin.
    pub held_deletions: usize,
    /// Set when the run would be refused as a whole.
    pub refused: Option<String>,
}

impl Preview {
    /// One line per effect, e.g. `12 members gain Floor 3`, `0 member deletions`.
    pub fn lines(&self) -> Vec<String> {
        if let Some(why) = &self.refused {
            return vec![format!("Refused: {why}")];
        }
        let count = |kind| self.steps.get(&kind).copied().unwrap_or(0);
        let members = |n: usize| {
            if n == 1 {
                "1 member".to_owned()
            } else {
                format!("{n} members")
            }
        };
        let mut lines = Vec::new();
        lines.push(format!(
            "{} created",
            members(count(StepKind::CreateMember))
        ));
        for (group, n) in &self.gain {
            let verb = if *n == 1 { "gains" } else { "gain" };
            lines.push(format!("{} {verb} {group}", members(*n)));
        }
        for (group, n) in &self.lose {
            let verb = if *n == 1 { "loses" } else { "lose" };
            lines.push(format!("{} {verb} {group}", members(*n)));
        }
        lines.push(format!("{} deletions", count(StepKind::DeleteMember)));
        if self.held_deletions > 0 {
            lines.push(format!(
                "{} deletions would be held for an admin's approval",
                self.held_deletions
            ));
        }
        for (kind, label) in [
            (StepKind::CreatePin, "PINs created"),
            (StepKind::DeletePin, "PINs removed"),
            (StepKind::CreateMagicLink, "magic links created"),
            (StepKind::DeleteMagicLink, "magic links removed"),
            (StepKind::CreateEmail, "e-mail logins created"),
            (StepKind::DeleteEmail, "e-mail logins removed"),
            (StepKind::CreateCard, "cards bound"),
            (StepKind::DeleteCard, "cards unbound"),
            (StepKind::UpdateMember, "members updated"),
        ] {
            let n = count(kind);
            if n > 0 {
                lines.push(format!("{n} {label}"));
            }
        }
        lines
    }
}

struct Work {
    id: EmployeeId,
    desired: Option<DesiredMember>,
    observed: Vec<Member>,
    errors: Vec<String>,
}

async fn apply_all(
    apply: ApplyContext<'_>,
    work: Vec<Work>,
    concurrency: usize,
    progress: &dyn Progress,
) -> Vec<EmployeeReport> {
    futures_util::stream::iter(work)
        .map(|w| async move {
            let report =
                sync_employee(apply, &w.id, w.desired.as_ref(), w.observed, w.errors).await;
            progress.done(&report);
            report
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await
}

/// An employee id listed twice: applying both entries would race and could create two
/// members for one employee.
fn first_repeated_id(employees: &[Employee]) -> Option<&EmployeeId> {
    let mut seen = BTreeSet::new();
    employees.iter().map(|e| &e.id).find(|id| !seen.insert(*id))
}

fn work_list(
    employees: &[Employee],
    observed: &mut BTreeMap<EmployeeId, Vec<Member>>,
    policy: &Policy,
    resolved: &ResolvedMapping,
    now: OffsetDateTime,
) -> Vec<Work> {
    let mut work = Vec::with_capacity(employees.len());
    for employee in employees {
        let desired = DesiredMember::from_employee(employee, policy, now);
        let errors = match &desired {
            Some(_) => broken_for(employee, &resolved.broken),
            None => Vec::new(),
        };
        let observed = observed.remove(&employee.id).unwrap_or_default();
        work.push(Work {
            id: employee.id.clone(),
            desired,
            observed,
            errors,
        });
    }
    for (id, members) in std::mem::take(observed) {
        work.push(Work {
            id,
            desired: None,
            observed: members,
            errors: Vec::new(),
        });
    }
    work
}

fn observed_members(work: &[Work]) -> impl Iterator<Item = &Member> {
    work.iter().flat_map(|w| w.observed.iter())
}

/// Groups whose associations are left alone: those of a broken mapping, and any group an
/// owned association points to that is no longer live in Akiles (deleted by hand; a
/// mapping that named it by name cannot know its id any more). While any mapping entry is
/// broken, every group outside the resolved mapping is held too: the broken entry may be
/// a renamed group or a typo, and access it granted must not be revoked on a guess.
pub fn held_groups<'a>(
    resolved: &ResolvedMapping,
    groups: &[MemberGroup],
    members: impl Iterator<Item = &'a Member>,
) -> BTreeSet<String> {
    let live: BTreeSet<&str> = groups
        .iter()
        .filter(|g| !g.is_deleted)
        .map(|g| g.id.as_str())
        .collect();
    let mut held = resolved.held.clone();
    let associations = members.flat_map(|m| m.group_associations.iter().flatten());
    let mapped = resolved.mapping.all_member_groups();
    let broken = !resolved.broken.is_empty();
    for assoc in associations.filter(|a| !a.is_deleted && is_owned(&a.metadata)) {
        let group = assoc.member_group_id.as_str();
        if !live.contains(group) || (broken && !mapped.contains(group)) {
            held.insert(assoc.member_group_id.clone());
        }
    }
    held
}

/// The broken mapping entries that concern `employee`, as errors to report for them.
pub fn broken_for(employee: &Employee, broken: &[BrokenMapping]) -> Vec<String> {
    broken
        .iter()
        .filter(|b| match &b.hr_group {
            None => true,
            Some(group) => HrGroup::parse(group).is_some_and(|g| employee.groups.contains(&g)),
        })
        .map(ToString::to_string)
        .collect()
}

fn dry_run(
    tenant: &str,
    work: &Work,
    held: &BTreeSet<String>,
    progress: &dyn Progress,
) -> EmployeeReport {
    let plan = plan(
        tenant,
        &work.id,
        work.desired.as_ref(),
        &work.observed,
        held,
    );
    let report = EmployeeReport {
        employee_id: work.id.clone(),
        outcome: Outcome::Unchanged,
        planned: plan.counts(),
        applied: BTreeMap::new(),
        errors: work.errors.clone(),
        warnings: work
            .desired
            .as_ref()
            .map(|d| d.warnings.clone())
            .unwrap_or_default(),
        plan: plan.steps.iter().map(ToString::to_string).collect(),
        taken_elsewhere: false,
    };
    progress.done(&report);
    report
}

async fn store_snapshot(
    ctx: SnapshotContext<'_>,
    employees: &[Employee],
    run: Option<RunId>,
) -> Result<(), StoreError> {
    let version = (ctx.clock.now().unix_timestamp_nanos() / 1_000_000) as i64;
    let listed: BTreeSet<&EmployeeId> = employees.iter().map(|e| &e.id).collect();
    for employee in employees {
        let outcome = ctx
            .store
            .put_employee(ctx.tenant, employee, version)
            .await?;
        record_hr_change(ctx, &employee.id, "upsert", version, outcome, run).await?;
    }
    for stored in ctx.store.employees(ctx.tenant).await? {
        let id = &stored.employee.id;
        if stored.present && !listed.contains(id) {
            let outcome = ctx.store.remove_employee(ctx.tenant, id, version).await?;
            record_hr_change(ctx, id, "delete", version, outcome, run).await?;
        }
    }
    Ok(())
}

/// An "HR change received" history entry for a stored change: the action, the snapshot's
/// version and its source — never the record's values.
async fn record_hr_change(
    ctx: SnapshotContext<'_>,
    id: &EmployeeId,
    action: &str,
    version: i64,
    outcome: PutOutcome,
    run: Option<RunId>,
) -> Result<(), StoreError> {
    if outcome != PutOutcome::Stored {
        return Ok(());
    }
    let detail = serde_json::json!({ "action": action, "version": version, "source": "file" });
    let entry = HistoryEntry {
        kind: "hr_change".to_owned(),
        detail,
    };
    ctx.store.append_history(ctx.tenant, id, run, &entry).await
}

/// `create member: 1, create association: 2` — counts per kind, zero kinds left out.
pub fn summary_line(counts: &BTreeMap<StepKind, usize>) -> String {
    let parts: Vec<String> = StepKind::ALL
        .iter()
        .filter_map(|kind| {
            counts
                .get(kind)
                .filter(|n| **n > 0)
                .map(|n| format!("{}: {n}", kind.label()))
        })
        .collect();
    if parts.is_empty() {
        "no changes".to_owned()
    } else {
        parts.join(", ")
    }
}

fn summary_json(report: &RunReport) -> serde_json::Value {
    serde_json::json!({
        "planned": report.planned(),
        "applied": report.applied(),
        "outcomes": report.outcomes(),
        "broken_mappings": report.broken_mappings,
        "refused": report.refused,
        "held_deletions": report.held_deletions.len(),
        "held_reason": report.held_reason,
        "kept_deletions": report.kept_deletions.len(),
    })
}

#[cfg(test)]
mod preview_tests {
    use super::*;

    #[test]
    fn one_member_gains_and_loses_in_the_singular() {
        let preview = Preview {
            gain: BTreeMap::from([("Floor 3".to_owned(), 1)]),
            lose: BTreeMap::from([("Garage".to_owned(), 1), ("Lab".to_owned(), 4)]),
            ..Preview::default()
        };

        let lines = preview.lines();

        assert!(
            lines.contains(&"1 member gains Floor 3".to_owned()),
            "{lines:?}"
        );
        assert!(
            lines.contains(&"1 member loses Garage".to_owned()),
            "{lines:?}"
        );
        assert!(
            lines.contains(&"4 members lose Lab".to_owned()),
            "{lines:?}"
        );
    }
}
