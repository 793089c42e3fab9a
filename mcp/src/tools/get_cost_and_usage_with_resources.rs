//! `get_cost_and_usage_with_resources`: resource-level costs for one service over the last 14
//! days (GetCostAndUsageWithResources). Needs the `costs:resources` scope.

use rmcp::handler::server::tool::schema_for_output;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;

use super::chart::{self, Charted, figures};
use super::{Authenticated, CostServer, input};
use crate::cost::{
    CostAndUsageRequest, CostAndUsageResponse, Dimension, Expression, Granularity, GroupKey,
    Metric, and_filter,
};

fn default_granularity() -> Granularity {
    Granularity::Daily
}

fn default_metrics() -> Vec<Metric> {
    vec![Metric::UnblendedCost]
}

fn default_group_by() -> Vec<GroupKey> {
    vec![GroupKey::Dimension(Dimension::ResourceId)]
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetCostAndUsageWithResourcesParams {
    /// The service, exactly as Cost Explorer names it, e.g. "Amazon Elastic Compute Cloud - Compute".
    pub service: String,
    /// First day, YYYY-MM-DD: within the last 14 days.
    pub start_date: String,
    /// Last day (inclusive), YYYY-MM-DD.
    pub end_date: String,
    /// DAILY (default) or MONTHLY.
    #[serde(default = "default_granularity")]
    pub granularity: Granularity,
    /// Metrics to return (default ["UnblendedCost"]).
    #[serde(default = "default_metrics")]
    pub metrics: Vec<Metric>,
    /// Up to two keys (default [{"dimension": "RESOURCE_ID"}]).
    #[serde(default = "default_group_by")]
    pub group_by: Vec<GroupKey>,
    /// Further conditions, ANDed with the service.
    #[serde(default)]
    pub filter: Option<Expression>,
    /// Also answer a PNG chart (image/png content after the JSON text, 800x450): the first metric per period, stacked by group (the 7 largest, the rest as Other). Default false: images cost context tokens.
    #[serde(default)]
    pub chart: bool,
}

#[tool_router(router = get_cost_and_usage_with_resources_router, vis = "pub(crate)")]
impl CostServer {
    #[tool(
        name = "get_cost_and_usage_with_resources",
        description = "Resource-level costs (per instance, bucket, function …) of one service over the last 14 days. Needs the costs:resources scope; each call is more expensive than get_cost_and_usage.",
        output_schema = schema_for_output::<CostAndUsageResponse>(),
        annotations(
            title = "Cost by resource",
            read_only_hint = true,
            open_world_hint = false
        )
    )]
    async fn get_cost_and_usage_with_resources(
        &self,
        Parameters(p): Parameters<GetCostAndUsageWithResourcesParams>,
        caller: Authenticated,
    ) -> Result<Charted<CostAndUsageResponse>, String> {
        let access = caller.access()?;
        let chart = p.chart;
        for needed in super::extra_scopes("get_cost_and_usage_with_resources") {
            access.require_scope(needed)?;
        }
        if p.service.trim().is_empty() {
            return Err("service: give a service name, e.g. from get_dimension_values".into());
        }
        if p.metrics.is_empty() {
            return Err("metrics: give at least one metric".into());
        }
        let period = input::period("start_date", &p.start_date, "end_date", &p.end_date)?;
        let earliest = self.today().add_days(-13);
        if period.start < earliest {
            return Err(format!(
                "start_date: resource-level data covers the last 14 days only (from {earliest})"
            ));
        }
        let service = Expression::Dimension {
            key: Dimension::Service,
            values: vec![p.service.trim().to_owned()],
        };
        let request = CostAndUsageRequest {
            period,
            granularity: p.granularity,
            metrics: p.metrics,
            group_by: input::group_by("group_by", p.group_by, 2)?,
            filter: access
                .visibility
                .restrict(and_filter(p.filter, Some(service)))?,
        };
        let out = self
            .run(&access, "GetCostAndUsageWithResources", &request, || {
                self.source().cost_and_usage_with_resources(&request)
            })
            .await?;
        Ok(chart::attach(chart, out, |out| figures::cost_and_usage(&request, out)).await)
    }
}
