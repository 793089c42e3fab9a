//! hello-mcp: the smallest MCP server protected by the serverless-mcp authorization server.
//! Run it beside `serverless-mcp serve`: README, "Protect your own MCP server".

use mcp_host::{Caller, McpHost};
use rmcp::handler::server::wrapper::Parameters;
use rmcp::{ServerHandler, tool, tool_handler, tool_router};

#[derive(Clone)]
struct Hello;

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Greeting {
    /// Who to greet.
    name: String,
}

#[tool_router]
impl Hello {
    /// Greets someone. Any signed-in user may call it (the base scope, costs:read).
    #[tool]
    fn hello(&self, Parameters(Greeting { name }): Parameters<Greeting>) -> String {
        format!("Hello, {name}!")
    }

    /// Tells the caller a secret. Needs the costs:resources scope too (declared in main).
    #[tool]
    fn secret(&self, caller: Caller) -> String {
        format!("{}, the secret is 42.", caller.sub)
    }
}

#[tool_handler]
impl ServerHandler for Hello {}

/// Locally on SMCP_ADDR (default 127.0.0.1:8090), or as a Lambda function when
/// AWS_LAMBDA_FUNCTION_NAME is set; SMCP_ISSUER names the authorization server.
#[tokio::main]
async fn main() -> Result<(), mcp_host::HostError> {
    McpHost::new(|| Ok(Hello))
        .resource_name("Hello (MCP)")
        .tool_scope("secret", "costs:resources")
        .run()
        .await
}
