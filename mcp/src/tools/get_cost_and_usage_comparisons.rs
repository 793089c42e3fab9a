//! `get_cost_and_usage_comparisons`: one month against another, in total and per group
//! (GetCostAndUsageComparisons).

use rmcp::handler::server::tool::schema_for_output;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;

use super::chart::{self, Charted, figures};
use super::{Authenticated, CostServer, input};
use crate::cost::{ComparisonRequest, ComparisonResponse, Dimension, Expression, GroupKey, Metric};

fn default_metric() -> Metric {
    Metric::UnblendedCost
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ComparisonParams {
    /// The month to compare against, YYYY-MM.
    pub baseline_month: String,
    /// The month to compare, YYYY-MM.
    pub comparison_month: String,
    /// The metric to compare (default UnblendedCost).
    #[serde(default = "default_metric")]
    pub metric: Metric,
    /// What to break the comparison down by, e.g. {"dimension": "SERVICE"}.
    #[serde(default)]
    pub group_by: Option<GroupKey>,
    /// Only cost matching this filter.
    #[serde(default)]
    pub filter: Option<Expression>,
    /// Also answer a PNG chart (image/png content after the JSON text, 800x450): get_cost_and_usage_comparisons draws both months per group, get_cost_comparison_drivers each driver's change, largest first (9 rows, the rest as Other). Default false: images cost context tokens.
    #[serde(default)]
    pub chart: bool,
}

impl CostServer {
    /// The request shared by comparisons and drivers.
    pub(crate) fn comparison_request(
        &self,
        access: &super::Access,
        p: ComparisonParams,
    ) -> Result<ComparisonRequest, String> {
        let baseline = input::month("baseline_month", &p.baseline_month)?;
        let comparison = input::month("comparison_month", &p.comparison_month)?;
        let this_month = self.today().first_of_month();
        if baseline.start > this_month {
            return Err(format!(
                "baseline_month: {} is in the future",
                p.baseline_month
            ));
        }
        if comparison.start > this_month {
            return Err(format!(
                "comparison_month: {} is in the future",
                p.comparison_month
            ));
        }
        if p.group_by == Some(GroupKey::Dimension(Dimension::ResourceId)) {
            return Err("group_by: RESOURCE_ID is not available for comparisons".into());
        }
        Ok(ComparisonRequest {
            baseline,
            comparison,
            metric: p.metric,
            group_by: p.group_by,
            filter: access.visibility.restrict(p.filter)?,
        })
    }
}

#[tool_router(router = get_cost_and_usage_comparisons_router, vis = "pub(crate)")]
impl CostServer {
    #[tool(
        name = "get_cost_and_usage_comparisons",
        description = "Compare one calendar month's cost (or usage) with another's, in total and broken down by a dimension or tag, largest changes first.",
        output_schema = schema_for_output::<ComparisonResponse>(),
        annotations(
            title = "Month-over-month comparison",
            read_only_hint = true,
            open_world_hint = false
        )
    )]
    async fn get_cost_and_usage_comparisons(
        &self,
        Parameters(p): Parameters<ComparisonParams>,
        caller: Authenticated,
    ) -> Result<Charted<ComparisonResponse>, String> {
        let access = caller.access()?;
        let chart = p.chart;
        let request = self.comparison_request(&access, p)?;
        let out = self
            .run(&access, "GetCostAndUsageComparisons", &request, || {
                self.source().cost_and_usage_comparisons(&request)
            })
            .await?;
        Ok(chart::attach(chart, out, |out| figures::comparison(&request, out)).await)
    }
}
