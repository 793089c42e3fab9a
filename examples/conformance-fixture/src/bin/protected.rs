//! `conformance-fixture-protected`: [`FixtureServer`] behind the serverless-mcp bearer layer,
//! hosted by [`mcp_host`] exactly as any server on it is: locally on `SMCP_ADDR` (default
//! 127.0.0.1:8090; port 0 picks one, printed as `MCP server URL: …`), or as a Lambda function
//! with response streaming when `AWS_LAMBDA_FUNCTION_NAME` is set. `SMCP_ISSUER` names the
//! authorization server (e.g. `serverless-mcp serve --no-mcp --resource <this URL>`), and
//! `SMCP_DATA_DIR` its data dir to share its revocations (`McpHost::run`).
//!
//! What the fixture needs from the host: sessions in memory for the 2025-11-25 scenarios
//! (server-to-client sampling and elicitation, `resources/subscribe`, the standalone `GET`
//! stream, `DELETE`), and SSE answers, so progress and log notifications reach the client as
//! they are sent. 2026-07-28 requests are stateless whatever the session setting (rmcp).

use conformance_fixture::FixtureServer;
use mcp_host::{McpHost, Sessions};

/// Every request needs the base scope the authorization server grants by default.
const BASE_SCOPE: &str = "costs:read";

#[tokio::main]
async fn main() -> Result<(), mcp_host::HostError> {
    // One server for every session: clones share the requestState key, the change feed and the
    // task table that stateless requests rely on.
    let server = FixtureServer::new();
    McpHost::new(move || Ok(server.clone()))
        .resource_name("MCP conformance fixture")
        .base_scope(BASE_SCOPE)
        .sessions(Sessions::InMemory)
        .configure_http(|http| http.with_json_response(false))
        .run()
        .await
}
