//! The admin pages (server-rendered HTML). Empty for now: the pages and the OAuth connect
//! routes are added here and merged by [`crate::router`].

use axum::Router;

use crate::state::AppState;

/// The admin pages' routes; none yet.
pub fn router(_state: AppState) -> Router<AppState> {
    Router::new()
}
