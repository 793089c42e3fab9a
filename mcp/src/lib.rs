//! The MCP resource server: protected-resource metadata and the Streamable HTTP endpoint, as one
//! axum router run on Lambda by `main.rs` and inside `serverless-mcp serve`.
//!
//! Without the `server` feature only [`cost`] and [`access`] are built (for the fuzz targets).

pub mod access;
#[cfg(feature = "server")]
pub mod auth;
pub mod cost;
#[cfg(feature = "server")]
mod resource_metadata;
pub mod scopes;
#[cfg(feature = "server")]
mod server;
#[cfg(feature = "server")]
mod state;
#[cfg(feature = "server")]
pub mod tools;

#[cfg(feature = "server")]
use axum::Router;

#[cfg(feature = "server")]
pub use auth::{HttpJwks, InProcessJwks, JwksSource};
#[cfg(feature = "server")]
pub use state::{AppState, CostSourceKind, McpSettings, keys, read_config};

/// Every route of [`app`] for this configuration: its path and the methods it answers (a `GET`
/// route answers `HEAD` too; other methods are 405 with `Allow`). Built from the same paths as
/// the routers; `serverless-mcp/tests/openapi.rs` checks it against the running server and
/// `openapi/openapi.yaml`.
#[cfg(feature = "server")]
pub fn routes(config: &shared::config::Config) -> Vec<(String, &'static [http::Method])> {
    let mut routes: Vec<(String, &'static [http::Method])> = resource_metadata::paths(config)
        .into_iter()
        .map(|path| (path, &[http::Method::GET] as &'static [http::Method]))
        .collect();
    routes.push((server::path(config), &[http::Method::POST]));
    routes
}

/// The whole resource server: metadata routes (no authentication) and the MCP endpoint.
#[cfg(feature = "server")]
pub fn app(state: AppState) -> Router {
    Router::new()
        .merge(resource_metadata::router(&state.config))
        .merge(server::router(&state))
        .with_state(state)
}
