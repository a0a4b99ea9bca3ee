//! The OAuth 2.0 client side of "Connect Akiles".
//!
//! - [`AkilesOAuth`] speaks to Akiles' `/oauth2/auth` and `/oauth2/token`: it builds the
//!   authorization URL (random `state`, S256 PKCE, scopes `full_read_write offline`),
//!   redeems the code from the callback and refreshes tokens. Errors say what to do next:
//!   reconnect, fix the configuration, or retry later ([`OAuthError`]).
//!
//! See the crate README for the error table and how the tests drive the consent page.

mod client;
mod error;
mod http;

pub use client::{
    AkilesOAuth, AuthorizationRequest, DEFAULT_SCOPES, OAuthSettings, OAuthSetupError, TokenSet,
};
pub use error::{OAuthError, ProtocolError, TransientError};
