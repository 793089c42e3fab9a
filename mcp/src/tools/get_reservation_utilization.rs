//! `get_reservation_utilization`: how much of the purchased reservations was used
//! (GetReservationUtilization).

use rmcp::handler::server::tool::schema_for_output;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::{tool, tool_router};

use super::chart::{self, Charted, figures};
use super::get_savings_plans_utilization::CommitmentParams;
use super::{Authenticated, CostServer};
use crate::cost::ReservationUtilizationResponse;

#[tool_router(router = get_reservation_utilization_router, vis = "pub(crate)")]
impl CostServer {
    #[tool(
        name = "get_reservation_utilization",
        description = "Reserved Instance utilization for a period: purchased, used and unused hours, utilization percentage, amortized fees and net savings.",
        output_schema = schema_for_output::<ReservationUtilizationResponse>(),
        annotations(
            title = "Reservation utilization",
            read_only_hint = true,
            open_world_hint = false
        )
    )]
    async fn get_reservation_utilization(
        &self,
        Parameters(p): Parameters<CommitmentParams>,
        caller: Authenticated,
    ) -> Result<Charted<ReservationUtilizationResponse>, String> {
        let access = caller.access()?;
        let chart = p.chart;
        let request = self.commitment_request(&access, p, Vec::new())?;
        let out = self
            .run(&access, "GetReservationUtilization", &request, || {
                self.source().reservation_utilization(&request)
            })
            .await?;
        Ok(chart::attach(chart, out, |out| {
            figures::reservation_utilization(&request, out)
        })
        .await)
    }
}
