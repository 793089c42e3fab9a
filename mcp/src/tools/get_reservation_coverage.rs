//! `get_reservation_coverage`: how many running instance hours reservations covered
//! (GetReservationCoverage).

use rmcp::handler::server::tool::schema_for_output;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::{tool, tool_router};

use super::chart::{self, Charted, figures};
use super::get_savings_plans_coverage::CoverageParams;
use super::{Authenticated, CostServer};
use crate::cost::ReservationCoverageResponse;

#[tool_router(router = get_reservation_coverage_router, vis = "pub(crate)")]
impl CostServer {
    #[tool(
        name = "get_reservation_coverage",
        description = "Reserved Instance coverage for a period: reserved versus on-demand running hours and the on-demand cost, optionally by account, region or instance type.",
        output_schema = schema_for_output::<ReservationCoverageResponse>(),
        annotations(
            title = "Reservation coverage",
            read_only_hint = true,
            open_world_hint = false
        )
    )]
    async fn get_reservation_coverage(
        &self,
        Parameters(p): Parameters<CoverageParams>,
        caller: Authenticated,
    ) -> Result<Charted<ReservationCoverageResponse>, String> {
        let access = caller.access()?;
        let chart = p.chart;
        let (params, group_by) = p.split();
        let request = self.commitment_request(&access, params, group_by)?;
        let out = self
            .run(&access, "GetReservationCoverage", &request, || {
                self.source().reservation_coverage(&request)
            })
            .await?;
        Ok(chart::attach(chart, out, |out| {
            figures::reservation_coverage(&request, out)
        })
        .await)
    }
}
