//! The MCP resource server: the Cost Explorer tools hosted on [`mcp_host`] (protected-resource
//! metadata, the bearer layer and the Streamable HTTP endpoint), as one axum router run on Lambda
//! by `main.rs` and inside `serverless-mcp serve`.
//!
//! Without the `server` feature only [`cost`] and [`access`] are built (for the fuzz targets).

pub mod access;
pub mod cost;
#[cfg(feature = "server")]
mod state;
#[cfg(feature = "server")]
pub mod tools;

#[cfg(feature = "server")]
use axum::Router;

/// Where the bearer layer gets the authorization server's keys ([`mcp_host`]'s).
#[cfg(feature = "server")]
pub mod auth {
    pub use mcp_host::{HttpJwks, InProcessJwks, JwksError, JwksSource};
}

#[cfg(feature = "server")]
pub use auth::{HttpJwks, InProcessJwks, JwksSource};
#[cfg(feature = "server")]
pub use state::{AppState, CostSourceKind, McpSettings, check_scopes, keys, read_config};

/// Every route of [`app`] for this configuration: its path and the methods it answers (a `GET`
/// route answers `HEAD` too; other methods are 405 with `Allow`). Built from the same paths as
/// the routers; `serverless-mcp/tests/openapi.rs` checks it against the running server and
/// `openapi/openapi.yaml`.
#[cfg(feature = "server")]
pub fn routes(config: &shared::config::Config) -> Vec<(String, &'static [http::Method])> {
    mcp_host::routes(config)
}

/// The whole resource server: metadata routes (no authentication) and the MCP endpoint, the
/// Cost Explorer server hosted through [`mcp_host`]'s public API.
#[cfg(feature = "server")]
pub fn app(state: AppState) -> Router {
    tools::host(state.tools.clone())
        .allow_hosts(state.settings.allowed_hosts.iter().cloned())
        .allow_origins(state.settings.allowed_origins.iter().cloned())
        .router(state.protection)
}
