//! The OAuth 2.1 authorization server facade: one axum router, run on Lambda by `main.rs` and
//! inside `serverless-mcp serve`.

mod endpoints;
mod error;
mod extract;
mod flows;
mod state;

use axum::Router;

pub use error::OAuthError;
pub use state::{AppState, signer};

/// The whole authorization server.
pub fn app(state: AppState) -> Router {
    Router::new()
        .merge(endpoints::metadata::router())
        .merge(endpoints::jwks::router())
        .with_state(state)
}
