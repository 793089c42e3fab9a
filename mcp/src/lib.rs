//! The MCP resource server: protected-resource metadata and the Streamable HTTP endpoint, as one
//! axum router run on Lambda by `main.rs` and inside `serverless-mcp serve`.

pub mod access;
pub mod auth;
pub mod cost;
mod resource_metadata;
mod server;
mod state;
pub mod tools;

use axum::Router;

pub use auth::{HttpJwks, InProcessJwks, JwksSource};
pub use state::{AppState, CostSourceKind, McpSettings, keys};

/// The whole resource server: metadata routes (no authentication) and the MCP endpoint.
pub fn app(state: AppState) -> Router {
    Router::new()
        .merge(resource_metadata::router(&state.config))
        .merge(server::router(&state))
        .with_state(state)
}
