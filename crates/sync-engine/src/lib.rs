//! The sync engine: turns employee records into Akiles state.
//!
//! - [`source`] reads HR exports (CSV, JSON) into [`hr_domain::Employee`] records;
//! - [`desired`] turns a record into the member Akiles should hold ([`DesiredMember`]);
//! - [`plan()`] compares that with what Akiles holds and lists the fewest calls (pure);
//! - [`apply`] executes plans through the [`Akiles`] trait, recording each step;
//! - [`run`] drives a whole snapshot: read Akiles once, plan everyone, apply.

pub mod akiles;
pub mod apply;
mod client_impl;
pub mod config;
pub mod desired;
pub mod guard;
pub mod ownership;
pub mod plan;
pub mod run;
pub mod source;

pub use akiles::Akiles;
pub use apply::{EmployeeReport, Outcome, sync_employee};
pub use config::Config;
pub use desired::{DesiredMember, Policy, Warning};
pub use guard::DeletionGuard;
pub use plan::{Plan, Step, StepKind, plan};
pub use run::{MappingSpec, RunOptions, RunReport, sync_snapshot};
