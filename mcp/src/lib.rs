//! The MCP resource server: protected-resource metadata and the Streamable HTTP endpoint, as one
//! axum router run on Lambda by `main.rs` and inside `serverless-mcp serve`.

mod resource_metadata;
mod state;

use axum::Router;

pub use state::AppState;

/// The whole resource server.
pub fn app(state: AppState) -> Router {
    Router::new()
        .merge(resource_metadata::router(&state.config))
        .with_state(state)
}
