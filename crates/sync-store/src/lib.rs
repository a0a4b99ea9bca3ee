//! The persistent store of akiles-hr-sync.
//!
//! It holds, per tenant: the settings, the employee records (the desired state, with the
//! version they came from), the link from each employee to the Akiles member and the
//! objects the sync owns, sync runs, and a per-employee history of changes, plans and
//! Akiles calls. Akiles itself (through ownership metadata) stays the truth; the links
//! here are a cache that a full pass can rebuild. For the service it also keeps the
//! durable job queue (jobs enqueued in the same transaction as the change), per-tenant API
//! keys (hashed), the push signing secret, the Akiles connection with its OAuth tokens,
//! OAuth states in flight, and admin users.
//!
//! [`Store`] is the one interface; [`SqliteStore`] is the embedded default (WAL, one
//! writer). A PostgreSQL implementation will satisfy the same trait. Personal data (the
//! employee record, history details) and secrets (tokens, the signing secret, the PKCE
//! verifier) are sealed with AES-256-GCM before they are written; see [`DataKey`].

mod api;
mod codec;
mod crypto;
mod sqlite;

pub use api::*;
pub use crypto::{DataKey, DataKeyError, SealError};
pub use sqlite::SqliteStore;
