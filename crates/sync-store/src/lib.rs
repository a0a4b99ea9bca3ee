//! The persistent store of akiles-hr-sync.
//!
//! It holds, per tenant: the settings, the employee records (the desired state, with the
//! version they came from), the link from each employee to the Akiles member and the
//! objects the sync owns, sync runs, and a per-employee history of changes, plans and
//! Akiles calls. Akiles itself (through ownership metadata) stays the truth; the links
//! here are a cache that a full pass can rebuild.
//!
//! [`Store`] is the one interface; [`SqliteStore`] is the embedded default (WAL, one
//! writer). A PostgreSQL implementation will satisfy the same trait. Personal data (the
//! employee record, history details) is sealed with AES-256-GCM before it is written; see
//! [`DataKey`].

mod api;
mod codec;
mod crypto;
mod sqlite;

pub use api::*;
pub use crypto::{DataKey, DataKeyError, SealError};
pub use sqlite::SqliteStore;
