//! The OAuth 2.1 authorization server facade: one axum router, run on Lambda by `main.rs` and
//! inside `serverless-mcp serve`.

mod endpoints;
mod state;

use axum::Router;

pub use state::AppState;

/// The whole authorization server.
pub fn app(state: AppState) -> Router {
    Router::new()
        .merge(endpoints::metadata::router())
        .with_state(state)
}
