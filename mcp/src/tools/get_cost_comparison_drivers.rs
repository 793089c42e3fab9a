//! `get_cost_comparison_drivers`: what drove the change between two months
//! (GetCostComparisonDrivers).

use rmcp::handler::server::tool::schema_for_output;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::{tool, tool_router};

use super::chart::{self, Charted, figures};
use super::get_cost_and_usage_comparisons::ComparisonParams;
use super::{Authenticated, CostServer};
use crate::cost::DriversResponse;

#[tool_router(router = get_cost_comparison_drivers_router, vis = "pub(crate)")]
impl CostServer {
    #[tool(
        name = "get_cost_comparison_drivers",
        description = "Explain a change in cost between two calendar months: for each group (SERVICE by default) the usage types that moved most.",
        output_schema = schema_for_output::<DriversResponse>(),
        annotations(
            title = "Cost change drivers",
            read_only_hint = true,
            open_world_hint = false
        )
    )]
    async fn get_cost_comparison_drivers(
        &self,
        Parameters(p): Parameters<ComparisonParams>,
        caller: Authenticated,
    ) -> Result<Charted<DriversResponse>, String> {
        let access = caller.access()?;
        let chart = p.chart;
        let request = self.comparison_request(&access, p)?;
        let out = self
            .run(&access, "GetCostComparisonDrivers", &request, || {
                self.source().cost_comparison_drivers(&request)
            })
            .await?;
        Ok(chart::attach(chart, out, |out| figures::drivers(&request, out)).await)
    }
}
