//! The Cost Explorer tools (docs/architecture.md, an MCP tool call), one per file, each
//! contributing a router that [`CostServer::tool_router`] composes. Every tool is read-only, takes
//! typed parameters with a generated JSON Schema, and answers `structuredContent` with an
//! `outputSchema`. Problems the user can fix (bad dates, another account's filter, a spent budget,
//! Cost Explorer refusing) are tool errors (`isError: true`) that name the field or say what
//! happened.

mod app;
mod caller;
mod chart;
mod get_anomalies;
mod get_cost_and_usage;
mod get_cost_and_usage_comparisons;
mod get_cost_and_usage_with_resources;
mod get_cost_comparison_drivers;
mod get_cost_forecast;
mod get_dimension_values;
mod get_reservation_coverage;
mod get_reservation_utilization;
mod get_savings_plans_coverage;
mod get_savings_plans_utilization;
mod get_tag_values;
mod get_today_date;
mod get_usage_forecast;
pub(crate) mod input;

pub(crate) use self::caller::{Access, Authenticated};

use std::future::Future;
use std::sync::Arc;

use mcp_host::McpHost;
use rmcp::handler::server::common::FromContextPart as _;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::model::{Implementation, ProtocolVersion, ServerCapabilities, ServerConfig};
use rmcp::{ServerHandler, tool_handler};
use serde::Serialize;
use serde::de::DeserializeOwned;
use shared::clock::Clock;
use shared::oauth::scope;

use crate::access::AccountScopes;
use crate::cost::metered::{Meter, MeteredError};
use crate::cost::{CostError, CostSource, Date};

/// The protocol versions served.
pub const PROTOCOL_VERSIONS: [ProtocolVersion; 4] = [
    ProtocolVersion::V_2025_03_26,
    ProtocolVersion::V_2025_06_18,
    ProtocolVersion::V_2025_11_25,
    ProtocolVersion::V_2026_07_28,
];

/// The scope every tool needs.
pub const EVERY_TOOL: &str = scope::COSTS_READ;

/// The tools that need a scope beyond [`EVERY_TOOL`], by MCP name: declared here, beside the
/// tools, and read by the host (the bearer layer's 403 challenge before dispatch, the metadata's
/// `scopes_supported`) and by each tool's own check.
pub const TOOL_SCOPES: [(&str, &str); 1] =
    [("get_cost_and_usage_with_resources", scope::COSTS_RESOURCES)];

/// The scopes the tool named `tool` needs beyond [`EVERY_TOOL`].
fn extra_scopes(tool: &str) -> impl Iterator<Item = &'static str> + '_ {
    TOOL_SCOPES
        .iter()
        .filter(move |(name, _)| *name == tool)
        .map(|(_, scope)| *scope)
}

/// The Cost Explorer server on the host library: one [`CostServer`] per request over `ctx`,
/// with the scopes its tools need. Its tool list is the `#[tool_router]`'s, the same for every
/// caller, so repeated `tools/list` requests are answered from memory; and a tool call reads
/// the cost cache while its revocation check runs, so a cached answer takes one round trip.
pub fn host(ctx: Arc<ToolContext>) -> McpHost<CostServer> {
    TOOL_SCOPES.iter().fold(
        McpHost::new(move || Ok(CostServer::new(ctx.clone())))
            .resource_name("AWS Cost Explorer (MCP)")
            .base_scope(EVERY_TOOL)
            .static_tool_list()
            // Every path to the source waits on the clearance (`CostServer::run`).
            .overlap_revocation_check(),
        |host, (tool, scope)| host.tool_scope(*tool, *scope),
    )
}

/// What the tools use: the cost source, the meter (for metered sources), the account mapping and
/// the clock.
pub struct ToolContext {
    source: Arc<dyn CostSource>,
    meter: Option<Meter>,
    scopes: AccountScopes,
    clock: Arc<dyn Clock>,
    router: Arc<ToolRouter<CostServer>>,
}

impl ToolContext {
    pub fn new(
        source: Arc<dyn CostSource>,
        meter: Option<Meter>,
        scopes: AccountScopes,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let router = CostServer::tool_router();
        shared::metrics::declare_tools(router.list_all().iter().map(|tool| tool.name.clone()));
        Self {
            source,
            meter,
            scopes,
            clock,
            router: Arc::new(router),
        }
    }
}

/// The MCP server handler: one per HTTP request (stateless), sharing the [`ToolContext`].
#[derive(Clone)]
pub struct CostServer {
    ctx: Arc<ToolContext>,
    tool_router: Arc<ToolRouter<CostServer>>,
}

impl CostServer {
    pub fn new(ctx: Arc<ToolContext>) -> Self {
        let tool_router = ctx.router.clone();
        Self { ctx, tool_router }
    }

    /// Every tool; the series tools declare the MCP App view ([`app::declare_view`]).
    pub fn tool_router() -> ToolRouter<Self> {
        let mut router = Self::get_today_date_router()
            + Self::get_dimension_values_router()
            + Self::get_tag_values_router()
            + Self::get_cost_and_usage_router()
            + Self::get_cost_forecast_router()
            + Self::get_usage_forecast_router()
            + Self::get_cost_and_usage_comparisons_router()
            + Self::get_cost_comparison_drivers_router()
            + Self::get_anomalies_router()
            + Self::get_savings_plans_utilization_router()
            + Self::get_savings_plans_coverage_router()
            + Self::get_reservation_utilization_router()
            + Self::get_reservation_coverage_router()
            + Self::get_cost_and_usage_with_resources_router();
        app::declare_view(&mut router);
        router
    }

    fn today(&self) -> Date {
        Date::from_epoch_secs(self.ctx.clock.now())
    }

    /// Calls the source, through the cache and budget when the source is metered. Only a cache
    /// read comes before the request's revocation verdict ([`mcp_host::Clearance`]); the budget
    /// and the source wait for it.
    async fn run<Req, Resp, Fut>(
        &self,
        access: &Access,
        operation: &str,
        request: &Req,
        call: impl FnOnce() -> Fut,
    ) -> Result<Resp, String>
    where
        Req: Serialize,
        Resp: Serialize + DeserializeOwned,
        Fut: Future<Output = Result<Resp, CostError>>,
    {
        let result = match &self.ctx.meter {
            Some(meter) => {
                meter
                    .run(
                        operation,
                        request,
                        &access.caller.sub,
                        &access.visibility.cache_key(),
                        access.clearance.wait(),
                        call,
                    )
                    .await
            }
            None if access.clearance.wait().await => call().await.map_err(MeteredError::from),
            None => Err(MeteredError::Refused),
        };
        result.map_err(|e| {
            tracing::info!(operation, error = %e, "cost explorer call failed");
            format!("{operation}: {e}")
        })
    }

    fn source(&self) -> &dyn CostSource {
        self.ctx.source.as_ref()
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for CostServer {
    /// Every call of a known tool is counted (by the tool's name, never by the caller), once its
    /// token stands: a call the revocation check refuses (it may have started beside the check)
    /// is not.
    async fn call_tool(
        &self,
        request: rmcp::model::CallToolRequestParams,
        context: rmcp::service::RequestContext<rmcp::RoleServer>,
    ) -> Result<rmcp::model::CallToolResponse, rmcp::ErrorData> {
        let name = request.name.clone();
        let mut call = rmcp::handler::server::tool::ToolCallContext::new(self, request, context);
        let clearance = mcp_host::Clearance::from_context_part(&mut call).ok();
        let result = self.tool_router.call(call).await;
        if let Some(clearance) = clearance
            && clearance.wait().await
        {
            shared::metrics::tool_call(&name);
        }
        result
    }

    fn get_info(&self) -> ServerConfig {
        // Resources: the MCP App view (app.rs); before it, the server declared tools only.
        let capabilities = ServerCapabilities::builder()
            .enable_tools()
            .enable_resources();
        ServerConfig::new(capabilities.build())
            .with_server_info(Implementation::new(
                "aws-cost-explorer",
                env!("CARGO_PKG_VERSION"),
            ))
            .with_instructions(
                "Read-only AWS Cost Explorer tools. Call get_today_date first to anchor relative \
                 periods. Dates are YYYY-MM-DD (UTC) and end dates are inclusive. Use \
                 get_dimension_values and get_tag_values to find valid filter values.",
            )
    }

    /// The MCP App view (the only resource).
    async fn list_resources(
        &self,
        _request: Option<rmcp::model::PaginatedRequestParams>,
        _context: rmcp::service::RequestContext<rmcp::RoleServer>,
    ) -> Result<rmcp::model::ListResourcesResult, rmcp::ErrorData> {
        app::list()
    }

    async fn read_resource(
        &self,
        request: rmcp::model::ReadResourceRequestParams,
        _context: rmcp::service::RequestContext<rmcp::RoleServer>,
    ) -> Result<rmcp::model::ReadResourceResponse, rmcp::ErrorData> {
        app::read(&request.uri).map(Into::into)
    }

    fn supported_protocol_versions(&self) -> std::borrow::Cow<'static, [ProtocolVersion]> {
        std::borrow::Cow::Borrowed(&PROTOCOL_VERSIONS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scope declaration keys tools by their MCP name: a tool renamed without it would lose
    /// its extra scope at the bearer layer, which then lets the call through to the tool's own
    /// check (a tool error instead of the 403 challenge clients act on).
    #[test]
    fn the_scope_declaration_names_real_tools() {
        let router = CostServer::tool_router();
        let tools = router.list_all();
        for (name, _) in TOOL_SCOPES {
            assert!(tools.iter().any(|tool| tool.name == name), "{name}");
        }
        assert_eq!(
            extra_scopes("get_cost_and_usage_with_resources").collect::<Vec<_>>(),
            [scope::COSTS_RESOURCES]
        );
        assert_eq!(extra_scopes("get_cost_and_usage").count(), 0);
    }

    /// What the host advertises and enforces is the declaration: the scopes the authorization
    /// server supports, base scope first.
    #[test]
    fn the_host_gets_the_declared_scopes() {
        let ctx = Arc::new(ToolContext::new(
            Arc::new(crate::cost::sample::SampleCostSource::new(Arc::new(
                shared::clock::SystemClock,
            ))),
            None,
            AccountScopes::everyone(),
            Arc::new(shared::clock::SystemClock),
        ));
        let host = host(ctx);
        assert_eq!(host.scopes().every_tool(), scope::COSTS_READ);
        assert_eq!(host.scopes().supported(), scope::SUPPORTED);
        assert_eq!(
            host.scopes().extra_for("get_cost_and_usage_with_resources"),
            [scope::COSTS_RESOURCES]
        );
    }
}
