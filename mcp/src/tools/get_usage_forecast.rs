//! `get_usage_forecast`: forecast usage of one usage type for a future period
//! (GetUsageForecast, which requires a USAGE_TYPE filter).

use rmcp::handler::server::tool::schema_for_output;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;

use super::chart::{self, Charted, figures};
use super::get_cost_forecast::{forecast_period, interval};
use super::{Authenticated, CostServer};
use crate::cost::{
    Dimension, Expression, ForecastRequest, ForecastResponse, Granularity, Metric, and_filter,
};

fn default_granularity() -> Granularity {
    Granularity::Monthly
}

fn default_metric() -> Metric {
    Metric::UsageQuantity
}

fn default_level() -> u8 {
    80
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetUsageForecastParams {
    /// The usage type to forecast, e.g. "USE1-BoxUsage:m5.large" (see get_dimension_values with USAGE_TYPE).
    pub usage_type: String,
    /// First day to forecast, YYYY-MM-DD: today or later (default today).
    #[serde(default)]
    pub start_date: Option<String>,
    /// Last day to forecast (inclusive), YYYY-MM-DD.
    pub end_date: String,
    /// DAILY or MONTHLY (default MONTHLY).
    #[serde(default = "default_granularity")]
    pub granularity: Granularity,
    /// UsageQuantity (default) or NormalizedUsageAmount.
    #[serde(default = "default_metric")]
    pub metric: Metric,
    /// Prediction interval level in percent: 80 or 95 (default 80).
    #[serde(default = "default_level")]
    pub prediction_interval_level: u8,
    /// Further conditions, ANDed with the usage type.
    #[serde(default)]
    pub filter: Option<Expression>,
    /// Also answer a PNG chart (image/png content after the JSON text, 800x450): the forecast mean per period inside its prediction interval. Default false: images cost context tokens.
    #[serde(default)]
    pub chart: bool,
}

#[tool_router(router = get_usage_forecast_router, vis = "pub(crate)")]
impl CostServer {
    #[tool(
        name = "get_usage_forecast",
        description = "Forecast the usage of one usage type (hours, GB, requests …) for a future period, with an 80% or 95% prediction interval.",
        output_schema = schema_for_output::<ForecastResponse>(),
        annotations(
            title = "Usage forecast",
            read_only_hint = true,
            open_world_hint = false
        )
    )]
    async fn get_usage_forecast(
        &self,
        Parameters(p): Parameters<GetUsageForecastParams>,
        caller: Authenticated,
    ) -> Result<Charted<ForecastResponse>, String> {
        let access = caller.access()?;
        let chart = p.chart;
        if !p.metric.is_usage() {
            return Err("metric: use UsageQuantity or NormalizedUsageAmount; get_cost_forecast forecasts cost".into());
        }
        if p.usage_type.trim().is_empty() {
            return Err("usage_type: give a usage type, e.g. from get_dimension_values".into());
        }
        let usage = Expression::Dimension {
            key: Dimension::UsageType,
            values: vec![p.usage_type.trim().to_owned()],
        };
        let request = ForecastRequest {
            period: forecast_period(
                self.today(),
                p.start_date.as_deref(),
                &p.end_date,
                p.granularity,
            )?,
            granularity: p.granularity,
            metric: p.metric,
            prediction_interval_level: interval(p.prediction_interval_level)?,
            filter: access
                .visibility
                .restrict(and_filter(p.filter, Some(usage)))?,
        };
        let out = self
            .run(&access, "GetUsageForecast", &request, || {
                self.source().usage_forecast(&request)
            })
            .await?;
        Ok(chart::attach(chart, out, |out| figures::forecast(&request, out)).await)
    }
}
