//! What the CLI prints: plans, progress and results. Ids and counts only, never names,
//! e-mails, PINs or links.

use std::collections::BTreeMap;

use akiles_client::ClientStats;
use hr_domain::Employee;
use indicatif::{ProgressBar, ProgressStyle};
use sync_engine::apply::EmployeeReport;
use sync_engine::run::{Progress, summary_line};
use sync_engine::{Outcome, RunReport, Warning};
use time::Date;

/// Writes one line to stdout. A closed stdout (the reader went away) or another write
/// error drops the line: the command's work and exit code do not depend on its reader.
pub fn say(line: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_fmt(line).and_then(|()| out.write_all(b"\n"));
}

/// One line about the snapshot read.
pub fn print_snapshot(employees: &[Employee], today: Date) {
    let with_access = employees.iter().filter(|e| e.has_access_on(today)).count();
    say!(
        "Read {} employees ({with_access} with access).",
        employees.len()
    );
}

/// The plan: totals per action, and per employee with `verbose`.
pub fn print_plan(report: &RunReport, verbose: bool) {
    let planned = report.planned();
    let calls: usize = planned.values().sum();
    say!("Plan: {} ({calls} write calls)", summary_line(&planned));
    if verbose {
        for employee in report.employees.iter().filter(|e| !e.plan.is_empty()) {
            say!("  {}:", employee.employee_id);
            for step in &employee.plan {
                say!("    - {step}");
            }
        }
    }
    print_warnings(&report.employees);
}

/// Warnings, summarised (one line per kind).
fn print_warnings(employees: &[EmployeeReport]) {
    let mut unmapped: BTreeMap<&str, usize> = BTreeMap::new();
    let mut truncated = Vec::new();
    let mut trimmed = Vec::new();
    let mut missing: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for employee in employees {
        for warning in &employee.warnings {
            match warning {
                Warning::UnmappedGroups(groups) => {
                    for group in groups {
                        *unmapped.entry(group.as_str()).or_default() += 1;
                    }
                }
                Warning::NameTruncated { .. } => truncated.push(employee.employee_id.as_str()),
                Warning::MetadataTrimmed { .. } => {
                    trimmed.push((employee.employee_id.as_str(), warning))
                }
                Warning::MissingCredentialData { credential } => missing
                    .entry(credential)
                    .or_default()
                    .push(employee.employee_id.as_str()),
            }
        }
    }
    if !unmapped.is_empty() {
        let list: Vec<String> = unmapped.iter().map(|(g, n)| format!("{g} ({n})")).collect();
        say!(
            "Note: HR groups without a mapping grant nothing: {}",
            list.join(", ")
        );
    }
    if !truncated.is_empty() {
        say!(
            "Note: names cut to fit Akiles for {} employee(s): {}",
            truncated.len(),
            truncated.join(", ")
        );
    }
    for (id, warning) in trimmed {
        say!("Note: {id}: {warning}");
    }
    for (credential, ids) in missing {
        say!(
            "Note: {} employee(s) get no {credential} credential: their record has no \
             {credential}: {}",
            ids.len(),
            ids.join(", ")
        );
    }
}

/// Broken mappings, refusals and failed employees.
pub fn print_problems(report: &RunReport) {
    if let Some(why) = &report.refused {
        say!("Refused: {why}");
    }
    if !report.held_deletions.is_empty() {
        let why = report
            .held_reason
            .as_deref()
            .unwrap_or("over the deletion limits");
        say!(
            "Held for approval: {} member deletion(s), because {why}. Nothing else waits. \
             Review them with `akiles-hr-sync deletions list` (same --config or --tenant), \
             then `approve` or `reject` them (or on the admin page's Deletions tab).",
            report.held_deletions.len()
        );
    }
    if !report.kept_deletions.is_empty() {
        say!(
            "Kept: {} member(s) whose deletion an admin rejected.",
            report.kept_deletions.len()
        );
    }
    for broken in &report.broken_mappings {
        say!("Broken mapping: {broken}");
    }
    if !report.unreadable_members.is_empty() {
        say!(
            "Left alone: {} managed member(s) without a readable employee_id: {}",
            report.unreadable_members.len(),
            report.unreadable_members.join(", ")
        );
    }
    for employee in report.failures() {
        let state = match employee.outcome {
            Outcome::Failed => "failed",
            _ => "incomplete",
        };
        say!(
            "  {} {state}: {}",
            employee.employee_id,
            employee.errors.join("; ")
        );
    }
}

/// The outcome of an applied run.
pub fn print_result(report: &RunReport, stats: &ClientStats) {
    let applied = report.applied();
    let calls: usize = applied.values().sum();
    say!("Applied: {} ({calls} write calls)", summary_line(&applied));
    let outcomes = report.outcomes();
    let count = |o: Outcome| outcomes.get(&o).copied().unwrap_or(0);
    say!(
        "Employees: {} changed, {} unchanged, {} incomplete, {} failed",
        count(Outcome::Applied),
        count(Outcome::Unchanged),
        count(Outcome::Incomplete),
        count(Outcome::Failed)
    );
    say!(
        "Akiles: {} requests, {} retries, {} rate-limited (429)",
        stats.requests,
        stats.retries,
        stats.rate_limited
    );
    print_problems(report);
}

/// The outcome of sending credential e-mails after a run, in one line.
pub fn print_deliveries(report: &credential_delivery::SendReport) {
    say!("{}", deliveries_line(report));
}

fn deliveries_line(report: &credential_delivery::SendReport) -> String {
    let mut line = format!(
        "PINs and magic links sent by e-mail: {}, failed: {} ({} retried on the next run)",
        report.sent,
        report.retrying + report.failed,
        report.retrying
    );
    if report.cancelled > 0 {
        line.push_str(&format!(", cancelled: {}", report.cancelled));
    }
    line
}

/// A progress bar on stderr (hidden when stderr is not a terminal).
#[derive(Debug)]
pub struct Bar(ProgressBar);

impl Bar {
    /// A bar with no length yet.
    pub fn new() -> Self {
        let bar = ProgressBar::new(0);
        if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} employees {msg}") {
            bar.set_style(style);
        }
        Self(bar)
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.0.finish_and_clear();
    }
}

impl Progress for Bar {
    fn start(&self, total: usize) {
        self.0.set_length(total as u64);
    }

    fn done(&self, _report: &EmployeeReport) {
        self.0.inc(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delivery_line_counts_failures_and_what_is_retried() {
        let report = credential_delivery::SendReport {
            sent: 2,
            retrying: 1,
            failed: 1,
            cancelled: 0,
        };

        let line = deliveries_line(&report);

        assert_eq!(
            line,
            "PINs and magic links sent by e-mail: 2, failed: 2 (1 retried on the next run)"
        );
    }
}
