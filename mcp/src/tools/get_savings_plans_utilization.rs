//! `get_savings_plans_utilization`: how much of the Savings Plans commitment was used
//! (GetSavingsPlansUtilization).

use rmcp::handler::server::tool::schema_for_output;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;

use super::chart::{self, Charted, figures};
use super::{Authenticated, CostServer, input};
use crate::cost::{CommitmentRequest, Expression, Granularity, SavingsPlansUtilizationResponse};

fn default_granularity() -> Granularity {
    Granularity::Monthly
}

/// A period, a granularity and a filter: the parameters of the commitment tools.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommitmentParams {
    /// First day of the period, YYYY-MM-DD.
    pub start_date: String,
    /// Last day of the period (inclusive), YYYY-MM-DD.
    pub end_date: String,
    /// DAILY or MONTHLY (default MONTHLY).
    #[serde(default = "default_granularity")]
    pub granularity: Granularity,
    /// Only commitments or usage matching this filter (e.g. LINKED_ACCOUNT, REGION).
    #[serde(default)]
    pub filter: Option<Expression>,
    /// Also answer a PNG chart (image/png content after the JSON text, 800x450): utilization in percent per period. Default false: images cost context tokens.
    #[serde(default)]
    pub chart: bool,
}

impl CostServer {
    pub(crate) fn commitment_request(
        &self,
        access: &super::Access,
        p: CommitmentParams,
        group_by: Vec<crate::cost::GroupKey>,
    ) -> Result<CommitmentRequest, String> {
        let period = input::period("start_date", &p.start_date, "end_date", &p.end_date)?;
        if period.start > self.today() {
            return Err(format!("start_date: {} is in the future", period.start));
        }
        Ok(CommitmentRequest {
            period,
            granularity: p.granularity,
            group_by: input::group_by("group_by", group_by, 1)?,
            filter: access.visibility.restrict(p.filter)?,
        })
    }
}

#[tool_router(router = get_savings_plans_utilization_router, vis = "pub(crate)")]
impl CostServer {
    #[tool(
        name = "get_savings_plans_utilization",
        description = "Savings Plans utilization for a period: commitment, used and unused commitment, utilization percentage and net savings, per day or month and in total.",
        output_schema = schema_for_output::<SavingsPlansUtilizationResponse>(),
        annotations(
            title = "Savings Plans utilization",
            read_only_hint = true,
            open_world_hint = false
        )
    )]
    async fn get_savings_plans_utilization(
        &self,
        Parameters(p): Parameters<CommitmentParams>,
        caller: Authenticated,
    ) -> Result<Charted<SavingsPlansUtilizationResponse>, String> {
        let access = caller.access()?;
        let chart = p.chart;
        let request = self.commitment_request(&access, p, Vec::new())?;
        let out = self
            .run(&access, "GetSavingsPlansUtilization", &request, || {
                self.source().savings_plans_utilization(&request)
            })
            .await?;
        Ok(chart::attach(chart, out, |out| {
            figures::savings_plans_utilization(&request, out)
        })
        .await)
    }
}
