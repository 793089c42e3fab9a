//! `get_cost_forecast`: forecast spend for a future period (GetCostForecast) with an 80 % or
//! 95 % prediction interval. Future dates are the point: the start may be today or later.

use rmcp::handler::server::tool::schema_for_output;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;

use super::chart::{self, Charted, figures};
use super::{Authenticated, CostServer, input};
use crate::cost::{DateRange, Expression, ForecastRequest, ForecastResponse, Granularity, Metric};

fn default_granularity() -> Granularity {
    Granularity::Monthly
}

fn default_metric() -> Metric {
    Metric::UnblendedCost
}

fn default_level() -> u8 {
    80
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetCostForecastParams {
    /// First day to forecast, YYYY-MM-DD: today or later (default today).
    #[serde(default)]
    pub start_date: Option<String>,
    /// Last day to forecast (inclusive), YYYY-MM-DD: at most about 3 months ahead with DAILY, 18 months with MONTHLY.
    pub end_date: String,
    /// DAILY or MONTHLY (default MONTHLY).
    #[serde(default = "default_granularity")]
    pub granularity: Granularity,
    /// A cost metric (default UnblendedCost).
    #[serde(default = "default_metric")]
    pub metric: Metric,
    /// Prediction interval level in percent: 80 or 95 (default 80).
    #[serde(default = "default_level")]
    pub prediction_interval_level: u8,
    /// Only forecast cost matching this filter.
    #[serde(default)]
    pub filter: Option<Expression>,
    /// Also answer a PNG chart (image/png content after the JSON text, 800x450): the forecast mean per period inside its prediction interval. Default false: images cost context tokens.
    #[serde(default)]
    pub chart: bool,
}

/// Checks a forecast period: starts today or later, within the API's horizon.
pub(crate) fn forecast_period(
    today: crate::cost::Date,
    start: Option<&str>,
    end: &str,
    granularity: Granularity,
) -> Result<DateRange, String> {
    let start = match start {
        Some(s) => input::date("start_date", s)?,
        None => today,
    };
    if start < today {
        return Err(format!(
            "start_date: {start} is in the past; forecasts start today ({today}) or later"
        ));
    }
    let end = input::date("end_date", end)?;
    let period = DateRange::new(start, end)
        .ok_or_else(|| format!("end_date: {end} is before start_date {start}"))?;
    let horizon = match granularity {
        Granularity::Daily => today.add_days(93),
        Granularity::Monthly => today.add_days(548),
    };
    if end > horizon {
        return Err(format!(
            "end_date: {end} is too far ahead; forecasts reach {horizon} at this granularity"
        ));
    }
    Ok(period)
}

pub(crate) fn interval(level: u8) -> Result<u8, String> {
    if level == 80 || level == 95 {
        Ok(level)
    } else {
        Err(format!(
            "prediction_interval_level: {level} is not allowed; use 80 or 95"
        ))
    }
}

#[tool_router(router = get_cost_forecast_router, vis = "pub(crate)")]
impl CostServer {
    #[tool(
        name = "get_cost_forecast",
        description = "Forecast AWS spend for a future period (start today or later), by day or month, with an 80% or 95% prediction interval, optionally filtered.",
        output_schema = schema_for_output::<ForecastResponse>(),
        annotations(
            title = "Cost forecast",
            read_only_hint = true,
            open_world_hint = false
        )
    )]
    async fn get_cost_forecast(
        &self,
        Parameters(p): Parameters<GetCostForecastParams>,
        caller: Authenticated,
    ) -> Result<Charted<ForecastResponse>, String> {
        let access = caller.access()?;
        let chart = p.chart;
        if p.metric.is_usage() {
            return Err(
                "metric: use a cost metric here; get_usage_forecast forecasts usage".into(),
            );
        }
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
            filter: access.visibility.restrict(p.filter)?,
        };
        let out = self
            .run(&access, "GetCostForecast", &request, || {
                self.source().cost_forecast(&request)
            })
            .await?;
        Ok(chart::attach(chart, out, |out| figures::forecast(&request, out)).await)
    }
}
