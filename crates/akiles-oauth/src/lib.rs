//! The OAuth 2.0 client side of "Connect Akiles".
//!
//! - [`AkilesOAuth`] speaks to Akiles' `/oauth2/auth` and `/oauth2/token`: it builds the
//!   authorization URL (random `state`, S256 PKCE, scopes `full_read_write offline`),
//!   redeems the code from the callback and refreshes tokens. Errors say what to do next:
//!   reconnect, fix the configuration, or retry later ([`OAuthError`]).
//! - [`ConnectionTokens`] is the [`akiles_client::TokenSource`] of one tenant's
//!   connection: it hands out the stored access token and refreshes it before it expires,
//!   one refresh at a time per connection, saving rotated tokens with a compare-and-swap.
//! - [`begin_connect`], [`finish_connect`] and [`disconnect`] are the server's side of the
//!   "Connect Akiles" button, with the `state` and PKCE verifier kept in the store.
//!
//! See the crate README for the error table and how the tests drive the consent page.

mod client;
mod connect;
mod error;
mod http;
mod tokens;

pub use client::{
    AkilesOAuth, AuthorizationRequest, DEFAULT_SCOPES, OAuthSettings, OAuthSetupError, TokenSet,
};
pub use connect::{ConnectError, STATE_TTL, begin_connect, disconnect, finish_connect};
pub use error::{OAuthError, ProtocolError, TransientError};
pub use tokens::{ConnectionTokens, DEFAULT_REFRESH_MARGIN, RefreshError};
