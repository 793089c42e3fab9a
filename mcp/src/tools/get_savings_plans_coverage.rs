//! `get_savings_plans_coverage`: how much eligible spend Savings Plans covered
//! (GetSavingsPlansCoverage).

use rmcp::handler::server::tool::schema_for_output;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;

use super::chart::{self, Charted, figures};
use super::get_savings_plans_utilization::CommitmentParams;
use super::{Authenticated, CostServer};
use crate::cost::{Expression, Granularity, GroupKey, SavingsPlansCoverageResponse};

fn default_granularity() -> Granularity {
    Granularity::Monthly
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CoverageParams {
    /// First day of the period, YYYY-MM-DD.
    pub start_date: String,
    /// Last day of the period (inclusive), YYYY-MM-DD.
    pub end_date: String,
    /// DAILY or MONTHLY (default MONTHLY).
    #[serde(default = "default_granularity")]
    pub granularity: Granularity,
    /// One key to break coverage down by, e.g. {"dimension": "LINKED_ACCOUNT"}.
    #[serde(default)]
    pub group_by: Option<GroupKey>,
    /// Only usage matching this filter.
    #[serde(default)]
    pub filter: Option<Expression>,
    /// Also answer a PNG chart (image/png content after the JSON text, 800x450): coverage in percent per period, one line per group (the 7 largest, the rest as Other). Default false: images cost context tokens.
    #[serde(default)]
    pub chart: bool,
}

impl CoverageParams {
    pub(crate) fn split(self) -> (CommitmentParams, Vec<GroupKey>) {
        (
            CommitmentParams {
                start_date: self.start_date,
                end_date: self.end_date,
                granularity: self.granularity,
                filter: self.filter,
                chart: self.chart,
            },
            self.group_by.into_iter().collect(),
        )
    }
}

#[tool_router(router = get_savings_plans_coverage_router, vis = "pub(crate)")]
impl CostServer {
    #[tool(
        name = "get_savings_plans_coverage",
        description = "Savings Plans coverage for a period: eligible spend covered by Savings Plans versus on-demand, per day or month, optionally by account, region or service.",
        output_schema = schema_for_output::<SavingsPlansCoverageResponse>(),
        annotations(
            title = "Savings Plans coverage",
            read_only_hint = true,
            open_world_hint = false
        )
    )]
    async fn get_savings_plans_coverage(
        &self,
        Parameters(p): Parameters<CoverageParams>,
        caller: Authenticated,
    ) -> Result<Charted<SavingsPlansCoverageResponse>, String> {
        let access = caller.access()?;
        let chart = p.chart;
        let (params, group_by) = p.split();
        let request = self.commitment_request(&access, params, group_by)?;
        let out = self
            .run(&access, "GetSavingsPlansCoverage", &request, || {
                self.source().savings_plans_coverage(&request)
            })
            .await?;
        Ok(chart::attach(chart, out, |out| {
            figures::savings_plans_coverage(&request, out)
        })
        .await)
    }
}
