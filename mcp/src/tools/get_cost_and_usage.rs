//! `get_cost_and_usage`: costs and usage over a period (GetCostAndUsage), by day or month, with
//! up to two group-by keys, several metrics and a filter expression.

use rmcp::handler::server::tool::schema_for_output;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;

use super::chart::{self, Charted, figures};
use super::{Authenticated, CostServer, input};
use crate::cost::{
    CostAndUsageRequest, CostAndUsageResponse, Dimension, Expression, Granularity, GroupKey, Metric,
};

fn default_granularity() -> Granularity {
    Granularity::Monthly
}

fn default_metrics() -> Vec<Metric> {
    vec![Metric::UnblendedCost]
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetCostAndUsageParams {
    /// First day of the period, YYYY-MM-DD.
    pub start_date: String,
    /// Last day of the period (inclusive), YYYY-MM-DD.
    pub end_date: String,
    /// DAILY or MONTHLY (default MONTHLY).
    #[serde(default = "default_granularity")]
    pub granularity: Granularity,
    /// Metrics to return (default ["UnblendedCost"]).
    #[serde(default = "default_metrics")]
    pub metrics: Vec<Metric>,
    /// Up to two keys to group by, e.g. [{"dimension": "SERVICE"}, {"tag": "team"}].
    #[serde(default)]
    pub group_by: Vec<GroupKey>,
    /// Only cost matching this filter, e.g. {"dimension": {"key": "REGION", "values": ["us-east-1"]}}.
    #[serde(default)]
    pub filter: Option<Expression>,
    /// Also answer a PNG chart (image/png content after the JSON text, 800x450): the first metric per period, stacked by group (the 7 largest, the rest as Other). Default false: images cost context tokens.
    #[serde(default)]
    pub chart: bool,
}

#[tool_router(router = get_cost_and_usage_router, vis = "pub(crate)")]
impl CostServer {
    #[tool(
        name = "get_cost_and_usage",
        description = "Costs and usage for a period, by day or month, optionally grouped by up to two dimensions or tags and filtered. End dates are inclusive. Group totals add up to the ungrouped total.",
        output_schema = schema_for_output::<CostAndUsageResponse>(),
        annotations(
            title = "Cost and usage",
            read_only_hint = true,
            open_world_hint = false
        )
    )]
    async fn get_cost_and_usage(
        &self,
        Parameters(p): Parameters<GetCostAndUsageParams>,
        caller: Authenticated,
    ) -> Result<Charted<CostAndUsageResponse>, String> {
        let access = caller.access()?;
        let chart = p.chart;
        if p.metrics.is_empty() {
            return Err("metrics: give at least one metric".into());
        }
        if p.group_by
            .contains(&GroupKey::Dimension(Dimension::ResourceId))
        {
            return Err("group_by: RESOURCE_ID needs get_cost_and_usage_with_resources".into());
        }
        let period = input::period("start_date", &p.start_date, "end_date", &p.end_date)?;
        if p.granularity == Granularity::Daily && period.len_days() > 366 {
            return Err("end_date: DAILY granularity covers at most 366 days; use MONTHLY".into());
        }
        let request = CostAndUsageRequest {
            period,
            granularity: p.granularity,
            metrics: p.metrics,
            group_by: input::group_by("group_by", p.group_by, 2)?,
            filter: access.visibility.restrict(p.filter)?,
        };
        let out = self
            .run(&access, "GetCostAndUsage", &request, || {
                self.source().cost_and_usage(&request)
            })
            .await?;
        Ok(chart::attach(chart, out, |out| figures::cost_and_usage(&request, out)).await)
    }
}
