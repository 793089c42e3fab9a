//! GetCostAndUsageComparisons and GetCostComparisonDrivers.

use super::convert::{comparison_value, expression, group_definition, selector};
use super::{AwsCostSource, MAX_PAGES, interval, map_error};
use crate::cost::{
    ComparisonItem, ComparisonRequest, ComparisonResponse, ComparisonValue, CostDriver, CostError,
    DriverGroup, DriversResponse,
};

impl AwsCostSource {
    pub(super) async fn get_cost_and_usage_comparisons(
        &self,
        req: &ComparisonRequest,
    ) -> Result<ComparisonResponse, CostError> {
        let metric = req.metric.as_str();
        let mut items = Vec::new();
        let mut total = None;
        let truncated = follow_pages!(|token| {
            let out = self
                .client
                .get_cost_and_usage_comparisons()
                .baseline_time_period(interval(&req.baseline)?)
                .comparison_time_period(interval(&req.comparison)?)
                .metric_for_comparison(metric)
                .set_group_by(req.group_by.as_ref().map(|g| vec![group_definition(g)]))
                .set_filter(req.filter.as_ref().map(expression))
                .set_next_page_token(token.clone())
                .send()
                .await
                .map_err(|e| map_error("GetCostAndUsageComparisons", e))?;
            if total.is_none() {
                total = Some(comparison_value(out.total_cost_and_usage(), metric));
            }
            items.extend(out.cost_and_usage_comparisons().iter().map(|c| {
                ComparisonItem {
                    key: selector(c.cost_and_usage_selector())
                        .into_values()
                        .collect::<Vec<_>>()
                        .join(","),
                    value: comparison_value(c.metrics(), metric),
                }
            }));
            out.next_page_token().map(str::to_owned)
        });
        items.sort_by(|a, b| {
            b.value
                .difference
                .abs()
                .total_cmp(&a.value.difference.abs())
        });
        Ok(ComparisonResponse {
            metric: req.metric,
            total: total.unwrap_or(ComparisonValue {
                baseline: 0.0,
                comparison: 0.0,
                difference: 0.0,
                unit: "USD".into(),
            }),
            items,
            truncated,
        })
    }

    pub(super) async fn get_cost_comparison_drivers(
        &self,
        req: &ComparisonRequest,
    ) -> Result<DriversResponse, CostError> {
        let metric = req.metric.as_str();
        let mut groups = Vec::new();
        let truncated = follow_pages!(|token| {
            let out = self
                .client
                .get_cost_comparison_drivers()
                .baseline_time_period(interval(&req.baseline)?)
                .comparison_time_period(interval(&req.comparison)?)
                .metric_for_comparison(metric)
                .set_group_by(req.group_by.as_ref().map(|g| vec![group_definition(g)]))
                .set_filter(req.filter.as_ref().map(expression))
                .set_next_page_token(token.clone())
                .send()
                .await
                .map_err(|e| map_error("GetCostComparisonDrivers", e))?;
            groups.extend(out.cost_comparison_drivers().iter().map(|d| {
                DriverGroup {
                    selector: selector(d.cost_selector()),
                    value: comparison_value(d.metrics(), metric),
                    drivers: d
                        .cost_drivers()
                        .iter()
                        .map(|c| CostDriver {
                            driver_type: c.r#type().unwrap_or("").to_owned(),
                            name: c.name().unwrap_or("").to_owned(),
                            value: comparison_value(c.metrics(), metric),
                        })
                        .collect(),
                }
            }));
            out.next_page_token().map(str::to_owned)
        });
        Ok(DriversResponse {
            metric: req.metric,
            groups,
            truncated,
        })
    }
}
