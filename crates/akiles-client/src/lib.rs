//! Typed async client for the [Akiles](https://akiles.app) API v2 (cloud door access).
//!
//! One [`Client`] talks to one Akiles organization. It
//! - sends `Authorization: Bearer <token>` from a [`TokenSource`] ([`StaticToken`] for an API
//!   key; an OAuth source can plug in) and retries once with a fresh token after a 401;
//! - keeps a request budget per organization ([`RateLimit`]) and, after a 429, holds back
//!   every request until `Retry-After` has passed;
//! - retries 5xx answers, timeouts and broken connections with exponential backoff and
//!   full jitter, but only where a retry cannot create a duplicate: GET, PATCH, DELETE,
//!   reveals, and POSTs that never reached the server ([`RetryPolicy`]);
//! - follows cursors for you: every list is a [`ListStream`], with a `*_all` variant that
//!   collects it;
//! - reports failures as [`ClientError`], whose [`ClientError::may_have_applied`] tells
//!   whether a failed create must be looked up before it is tried again.
//!
//! Bodies use the wire types of the `akiles-types` crate, re-exported as [`types`].
//! Logs carry the method and the path template (`/members/{member_id}/pins`), never
//! query values, bodies, tokens, PINs or links.
//!
//! # Example
//!
//! ```no_run
//! use std::sync::Arc;
//!
//! use akiles_client::types::NewMember;
//! use akiles_client::{Client, ClientConfig, MemberQuery, StaticToken};
//! use futures_util::TryStreamExt;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = ClientConfig::new(ClientConfig::AKILES_BASE_URL.parse()?);
//! let token = Arc::new(StaticToken::new("ak_…".to_owned()));
//! let client = Client::new(config, token)?;
//!
//! let query = MemberQuery::by_metadata("employee_id", "E-1042");
//! let existing = client.list_members(&query).try_next().await?;
//! if existing.is_none() {
//!     let mut member = NewMember { name: "Ann Example".to_owned(), ..NewMember::default() };
//!     member.metadata.insert("employee_id".to_owned(), "E-1042".to_owned());
//!     match client.create_member(&member).await {
//!         Ok(created) => println!("created {}", created.id),
//!         // The member may exist now: the next run finds it by metadata instead of
//!         // creating a duplicate.
//!         Err(err) if err.may_have_applied() => eprintln!("create outcome unknown: {err}"),
//!         Err(err) => return Err(err.into()),
//!     }
//! }
//! println!("{} retries so far", client.stats().retries);
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod cards;
mod client;
mod config;
mod emails;
mod error;
mod group_associations;
mod magic_links;
mod member_groups;
mod members;
mod organization;
mod pagination;
mod pins;
mod query;
mod retry;
mod sites;
mod token;

pub use akiles_types as types;

pub use client::{Client, ClientStats};
pub use config::{ClientConfig, RateLimit, RetryPolicy};
pub use error::{BuildError, ClientError};
pub use member_groups::{MemberGroupPatch, NewMemberGroup};
pub use pagination::ListStream;
pub use query::{IsDeleted, MAX_PAGE_SIZE, MemberExpand, MemberGroupQuery, MemberQuery};
pub use token::{StaticToken, TokenError, TokenSource};
