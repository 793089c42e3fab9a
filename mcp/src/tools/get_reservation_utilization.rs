//! `get_reservation_utilization`: how much of the purchased reservations was used
//! (GetReservationUtilization).

use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::{tool, tool_router};

use super::get_savings_plans_utilization::CommitmentParams;
use super::{Authenticated, CostServer};
use crate::cost::ReservationUtilizationResponse;

#[tool_router(router = get_reservation_utilization_router, vis = "pub(crate)")]
impl CostServer {
    #[tool(
        name = "get_reservation_utilization",
        description = "Reserved Instance utilization for a period: purchased, used and unused hours, utilization percentage, amortized fees and net savings.",
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
    ) -> Result<Json<ReservationUtilizationResponse>, String> {
        let access = caller.access()?;
        let request = self.commitment_request(&access, p, Vec::new())?;
        let out = self
            .run(&access, "GetReservationUtilization", &request, || {
                self.source().reservation_utilization(&request)
            })
            .await?;
        Ok(Json(out))
    }
}
