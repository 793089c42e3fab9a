//! GetCostAndUsage (with and without resources, every page merged), the cost and usage
//! forecasts, GetDimensionValues and GetTags.

use aws_sdk_costexplorer::types as ce;

use super::convert::{
    attributes, expression, forecast_response, group_definition, merge_periods, results,
};
use super::{AwsCostSource, MAX_PAGES, granularity, interval, map_error};
use crate::cost::{
    CostAndUsageRequest, CostAndUsageResponse, CostError, DimensionValue, DimensionValuesRequest,
    DimensionValuesResponse, ForecastRequest, ForecastResponse, TagsRequest, TagsResponse,
};

impl AwsCostSource {
    pub(super) async fn cost_and_usage_pages(
        &self,
        req: &CostAndUsageRequest,
        with_resources: bool,
    ) -> Result<CostAndUsageResponse, CostError> {
        let operation = if with_resources {
            "GetCostAndUsageWithResources"
        } else {
            "GetCostAndUsage"
        };
        let period = interval(&req.period)?;
        let group_by: Vec<_> = req.group_by.iter().map(group_definition).collect();
        let metric_names: Vec<String> = req.metrics.iter().map(|m| m.as_str().to_owned()).collect();
        let filter = req.filter.as_ref().map(expression);
        let mut periods = Vec::new();
        let truncated = follow_pages!(|token| {
            // The two operations take the same request and answer the same shape, through
            // builders of distinct types: one body, written once.
            macro_rules! page_of {
                ($operation:ident) => {{
                    let out = self
                        .client
                        .$operation()
                        .time_period(period.clone())
                        .granularity(granularity(req.granularity))
                        .set_metrics(Some(metric_names.clone()))
                        .set_group_by(Some(group_by.clone()).filter(|g| !g.is_empty()))
                        .set_filter(filter.clone())
                        .set_next_page_token(token.clone())
                        .send()
                        .await
                        .map_err(|e| map_error(operation, e))?;
                    (
                        results(out.results_by_time()),
                        out.next_page_token().map(str::to_owned),
                    )
                }};
            }
            let (page, next) = if with_resources {
                page_of!(get_cost_and_usage_with_resources)
            } else {
                page_of!(get_cost_and_usage)
            };
            merge_periods(&mut periods, page);
            next
        });
        Ok(CostAndUsageResponse { periods, truncated })
    }

    pub(super) async fn forecast(
        &self,
        req: &ForecastRequest,
        usage: bool,
    ) -> Result<ForecastResponse, CostError> {
        let period = interval(&req.period)?;
        let metric = ce::Metric::from(req.metric.forecast_name());
        let level = i32::from(req.prediction_interval_level);
        let filter = req.filter.as_ref().map(expression);
        if usage {
            let out = self
                .client
                .get_usage_forecast()
                .time_period(period)
                .metric(metric)
                .granularity(granularity(req.granularity))
                .prediction_interval_level(level)
                .set_filter(filter)
                .send()
                .await
                .map_err(|e| map_error("GetUsageForecast", e))?;
            Ok(forecast_response(
                out.total(),
                out.forecast_results_by_time(),
            ))
        } else {
            let out = self
                .client
                .get_cost_forecast()
                .time_period(period)
                .metric(metric)
                .granularity(granularity(req.granularity))
                .prediction_interval_level(level)
                .set_filter(filter)
                .send()
                .await
                .map_err(|e| map_error("GetCostForecast", e))?;
            Ok(forecast_response(
                out.total(),
                out.forecast_results_by_time(),
            ))
        }
    }

    pub(super) async fn get_dimension_values(
        &self,
        req: &DimensionValuesRequest,
    ) -> Result<DimensionValuesResponse, CostError> {
        let period = interval(&req.period)?;
        let filter = req.filter.as_ref().map(expression);
        let mut values = Vec::new();
        let truncated = follow_pages!(|token| {
            let out = self
                .client
                .get_dimension_values()
                .time_period(period.clone())
                .dimension(ce::Dimension::from(req.dimension.as_str()))
                .context(ce::Context::CostAndUsage)
                .set_search_string(req.search.clone())
                .set_filter(filter.clone())
                .set_next_page_token(token.clone())
                .send()
                .await
                .map_err(|e| map_error("GetDimensionValues", e))?;
            values.extend(out.dimension_values().iter().map(|v| DimensionValue {
                value: v.value().unwrap_or("").to_owned(),
                attributes: attributes(v.attributes()),
            }));
            out.next_page_token().map(str::to_owned)
        });
        Ok(DimensionValuesResponse {
            dimension: req.dimension,
            values,
            truncated,
        })
    }

    pub(super) async fn get_tags(&self, req: &TagsRequest) -> Result<TagsResponse, CostError> {
        let period = interval(&req.period)?;
        let filter = req.filter.as_ref().map(expression);
        let mut tags = Vec::new();
        let truncated = follow_pages!(|token| {
            let out = self
                .client
                .get_tags()
                .time_period(period.clone())
                .set_tag_key(req.tag_key.clone())
                .set_search_string(req.search.clone())
                .set_filter(filter.clone())
                .set_next_page_token(token.clone())
                .send()
                .await
                .map_err(|e| map_error("GetTags", e))?;
            tags.extend(out.tags().iter().cloned());
            out.next_page_token().map(str::to_owned)
        });
        Ok(TagsResponse {
            tag_key: req.tag_key.clone(),
            tags,
            truncated,
        })
    }
}
