//! `get_cost_comparison_drivers`: what drove the change between two months
//! (GetCostComparisonDrivers).

use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::{tool, tool_router};

use super::get_cost_and_usage_comparisons::ComparisonParams;
use super::{Authenticated, CostServer};
use crate::cost::DriversResponse;

#[tool_router(router = get_cost_comparison_drivers_router, vis = "pub(crate)")]
impl CostServer {
    #[tool(
        name = "get_cost_comparison_drivers",
        description = "Explain a change in cost between two calendar months: for each group (SERVICE by default) the usage types that moved most.",
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
    ) -> Result<Json<DriversResponse>, String> {
        let access = caller.access()?;
        let request = self.comparison_request(&access, p)?;
        let out = self
            .run(&access, "GetCostComparisonDrivers", &request, || {
                self.source().cost_comparison_drivers(&request)
            })
            .await?;
        Ok(Json(out))
    }
}
