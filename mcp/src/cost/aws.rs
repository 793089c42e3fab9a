//! The AWS adapter: Cost Explorer through aws-sdk-costexplorer. Inclusive end dates become the
//! API's exclusive ends, pages are followed and merged up to [`MAX_PAGES`], retries are bounded
//! ([`MAX_ATTEMPTS`], the SDK's standard mode with backoff), and SDK errors become
//! [`CostError`]s that say what happened.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use aws_sdk_costexplorer::Client;
use aws_sdk_costexplorer::config::retry::RetryConfig;
use aws_sdk_costexplorer::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_costexplorer::types as ce;

use super::{
    Amount, AnomaliesRequest, AnomaliesResponse, Anomaly, CommitmentRequest, ComparisonItem,
    ComparisonRequest, ComparisonResponse, ComparisonValue, CostAndUsageRequest,
    CostAndUsageResponse, CostDriver, CostError, CostGroup, CostPeriod, CostSource, Date,
    DateRange, DimensionValue, DimensionValuesRequest, DimensionValuesResponse, DriverGroup,
    DriversResponse, Expression, ForecastPeriod, ForecastRequest, ForecastResponse, Granularity,
    GroupKey, ReservationCoverage, ReservationCoverageGroup, ReservationCoveragePeriod,
    ReservationCoverageResponse, ReservationUtilization, ReservationUtilizationPeriod,
    ReservationUtilizationResponse, RootCause, SavingsPlansCoverage, SavingsPlansCoveragePeriod,
    SavingsPlansCoverageResponse, SavingsPlansUtilization, SavingsPlansUtilizationPeriod,
    SavingsPlansUtilizationResponse, TagsRequest, TagsResponse,
};

/// Attempts per call, the first included.
pub const MAX_ATTEMPTS: u32 = 3;
/// Pages followed per operation before answering with `truncated`.
pub const MAX_PAGES: usize = 20;

/// Cost Explorer through the AWS SDK.
#[derive(Clone, Debug)]
pub struct AwsCostSource {
    client: Client,
}

impl AwsCostSource {
    /// The SDK's standard configuration chain (`AWS_ENDPOINT_URL` included); Cost Explorer is
    /// served from us-east-1 when no region is configured.
    #[cfg(feature = "server")]
    pub async fn from_env() -> Self {
        let shared = aws_config::load_from_env().await;
        Self::from_builder(aws_sdk_costexplorer::config::Builder::from(&shared))
    }

    /// A client from `builder` with this adapter's policy applied: bounded retries
    /// ([`MAX_ATTEMPTS`], standard mode with backoff) and us-east-1 when no region is set.
    pub fn from_builder(builder: aws_sdk_costexplorer::config::Builder) -> Self {
        let config = builder
            .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
            .build();
        if config.region().is_some() {
            return Self::from_conf(config);
        }
        Self::from_conf(
            config
                .to_builder()
                .region(aws_sdk_costexplorer::config::Region::new("us-east-1"))
                .build(),
        )
    }

    /// A client from an explicit configuration, used as given (no policy applied).
    pub fn from_conf(config: aws_sdk_costexplorer::Config) -> Self {
        Self {
            client: Client::from_conf(config),
        }
    }
}

/// What went wrong, in our words: throttling, access denied, a rejected request, or an outage.
fn map_error<E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(
    operation: &str,
    error: SdkError<E, R>,
) -> CostError {
    match &error {
        SdkError::ServiceError(service) => {
            let e = service.err();
            let code = e.code().unwrap_or("");
            let message = e.message().unwrap_or("no details given").to_owned();
            match code {
                "ThrottlingException" | "LimitExceededException" | "TooManyRequestsException" => {
                    CostError::Throttled
                }
                "AccessDeniedException"
                | "UnauthorizedOperation"
                | "UnrecognizedClientException" => CostError::AccessDenied,
                "ValidationException"
                | "DataUnavailableException"
                | "BillExpirationException"
                | "InvalidNextTokenException"
                | "RequestChangedException"
                | "UnresolvableUsageUnitException"
                | "UnknownMonitorException" => {
                    CostError::InvalidRequest(format!("{code}: {message}"))
                }
                _ => {
                    tracing::warn!(operation, code, "cost explorer error");
                    CostError::Unavailable(format!("{operation} failed ({code}): {message}"))
                }
            }
        }
        SdkError::TimeoutError(_) => CostError::Unavailable(format!("{operation} timed out")),
        SdkError::DispatchFailure(_) => {
            CostError::Unavailable(format!("{operation}: Cost Explorer could not be reached"))
        }
        _ => {
            tracing::warn!(operation, error = ?error, "cost explorer call failed");
            CostError::Unavailable(format!("{operation} failed"))
        }
    }
}

fn interval(range: &DateRange) -> Result<ce::DateInterval, CostError> {
    ce::DateInterval::builder()
        .start(range.start.to_string())
        .end(range.end_exclusive().to_string())
        .build()
        .map_err(|_| CostError::InvalidRequest("bad time period".into()))
}

/// An API interval (exclusive end) in our inclusive form.
fn from_interval(interval: Option<&ce::DateInterval>) -> (Date, Date) {
    let parse = |s: &str| Date::parse(s.get(..10).unwrap_or(s)).unwrap_or(Date::from_days(0));
    match interval {
        Some(i) => {
            let start = parse(&i.start);
            let end = parse(&i.end).add_days(-1).max(start);
            (start, end)
        }
        None => (Date::from_days(0), Date::from_days(0)),
    }
}

fn granularity(g: Granularity) -> ce::Granularity {
    match g {
        Granularity::Daily => ce::Granularity::Daily,
        Granularity::Monthly => ce::Granularity::Monthly,
    }
}

/// The SDK's `Expression` for a filter: the same tree, except that an `and`/`or` of one operand
/// is that operand (the API wants two or more).
pub fn expression(e: &Expression) -> ce::Expression {
    match e {
        // The API wants two or more operands under And/Or; one operand is that operand.
        Expression::And(items) | Expression::Or(items) if items.len() == 1 => items
            .first()
            .map_or_else(|| ce::Expression::builder().build(), expression),
        Expression::And(items) => ce::Expression::builder()
            .set_and(Some(items.iter().map(expression).collect()))
            .build(),
        Expression::Or(items) => ce::Expression::builder()
            .set_or(Some(items.iter().map(expression).collect()))
            .build(),
        Expression::Not(inner) => ce::Expression::builder().not(expression(inner)).build(),
        Expression::Dimension { key, values } => ce::Expression::builder()
            .dimensions(
                ce::DimensionValues::builder()
                    .key(ce::Dimension::from(key.as_str()))
                    .set_values(Some(values.clone()))
                    .build(),
            )
            .build(),
        Expression::Tag { key, values } => ce::Expression::builder()
            .tags(
                ce::TagValues::builder()
                    .key(key)
                    .set_values(Some(values.clone()))
                    .build(),
            )
            .build(),
    }
}

fn group_definition(key: &GroupKey) -> ce::GroupDefinition {
    match key {
        GroupKey::Dimension(d) => ce::GroupDefinition::builder()
            .r#type(ce::GroupDefinitionType::Dimension)
            .key(d.as_str())
            .build(),
        GroupKey::Tag(t) => ce::GroupDefinition::builder()
            .r#type(ce::GroupDefinitionType::Tag)
            .key(t)
            .build(),
    }
}

fn num(value: Option<&str>) -> f64 {
    value
        .and_then(|v| v.trim().parse::<f64>().ok())
        .unwrap_or(0.0)
}

fn metrics(map: Option<&HashMap<String, ce::MetricValue>>) -> BTreeMap<String, Amount> {
    map.map(|m| {
        m.iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    Amount {
                        amount: num(v.amount()),
                        unit: v.unit().unwrap_or("").to_owned(),
                    },
                )
            })
            .collect()
    })
    .unwrap_or_default()
}

fn results(list: &[ce::ResultByTime]) -> Vec<CostPeriod> {
    list.iter()
        .map(|r| {
            let (start, end) = from_interval(r.time_period());
            CostPeriod {
                start,
                end,
                estimated: r.estimated(),
                total: metrics(r.total()),
                groups: r
                    .groups()
                    .iter()
                    .map(|g| CostGroup {
                        keys: g.keys().to_vec(),
                        metrics: metrics(g.metrics()),
                    })
                    .collect(),
            }
        })
        .collect()
}

/// Merges pages of results by time: groups of the same period are appended.
fn merge_periods(into: &mut Vec<CostPeriod>, page: Vec<CostPeriod>) {
    for period in page {
        match into
            .iter_mut()
            .find(|p| p.start == period.start && p.end == period.end)
        {
            Some(existing) => {
                existing.groups.extend(period.groups);
                existing.total.extend(period.total);
            }
            None => into.push(period),
        }
    }
}

fn comparison_value(
    map: Option<&HashMap<String, ce::ComparisonMetricValue>>,
    metric: &str,
) -> ComparisonValue {
    let v = map.and_then(|m| m.get(metric));
    ComparisonValue {
        baseline: num(v.and_then(|v| v.baseline_time_period_amount())),
        comparison: num(v.and_then(|v| v.comparison_time_period_amount())),
        difference: num(v.and_then(|v| v.difference())),
        unit: v.and_then(|v| v.unit()).unwrap_or("USD").to_owned(),
    }
}

/// A selector expression as `KEY=value` pairs.
fn selector(e: Option<&ce::Expression>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    fn walk(e: &ce::Expression, out: &mut BTreeMap<String, String>) {
        if let Some(d) = e.dimensions() {
            let key = d.key().map(|k| k.as_str().to_owned()).unwrap_or_default();
            out.insert(key, d.values().join(","));
        }
        if let Some(t) = e.tags() {
            out.insert(
                format!("TAG:{}", t.key().unwrap_or("")),
                t.values().join(","),
            );
        }
        for child in e.and() {
            walk(child, out);
        }
    }
    if let Some(e) = e {
        walk(e, &mut out);
    }
    out
}

fn forecast_response(
    output: Option<&ce::MetricValue>,
    results: &[ce::ForecastResult],
) -> ForecastResponse {
    ForecastResponse {
        total: Amount {
            amount: num(output.and_then(|t| t.amount())),
            unit: output.and_then(|t| t.unit()).unwrap_or("USD").to_owned(),
        },
        periods: results
            .iter()
            .map(|r| {
                let (start, end) = from_interval(r.time_period());
                ForecastPeriod {
                    start,
                    end,
                    mean: num(r.mean_value()),
                    lower_bound: num(r.prediction_interval_lower_bound()),
                    upper_bound: num(r.prediction_interval_upper_bound()),
                }
            })
            .collect(),
    }
}

fn sp_utilization(
    u: Option<&ce::SavingsPlansUtilization>,
    s: Option<&ce::SavingsPlansSavings>,
) -> SavingsPlansUtilization {
    SavingsPlansUtilization {
        total_commitment: num(u.and_then(|u| u.total_commitment())),
        used_commitment: num(u.and_then(|u| u.used_commitment())),
        unused_commitment: num(u.and_then(|u| u.unused_commitment())),
        utilization_percentage: num(u.and_then(|u| u.utilization_percentage())),
        net_savings: num(s.and_then(|s| s.net_savings())),
        on_demand_cost_equivalent: num(s.and_then(|s| s.on_demand_cost_equivalent())),
    }
}

fn ri_utilization(a: Option<&ce::ReservationAggregates>) -> ReservationUtilization {
    ReservationUtilization {
        utilization_percentage: num(a.and_then(|a| a.utilization_percentage())),
        purchased_hours: num(a.and_then(|a| a.purchased_hours())),
        used_hours: num(a.and_then(|a| a.total_actual_hours())),
        unused_hours: num(a.and_then(|a| a.unused_hours())),
        net_savings: num(a.and_then(|a| a.net_ri_savings())),
        amortized_fee: num(a.and_then(|a| a.total_amortized_fee())),
    }
}

fn ri_coverage(c: Option<&ce::Coverage>) -> ReservationCoverage {
    let hours = c.and_then(|c| c.coverage_hours());
    ReservationCoverage {
        coverage_hours_percentage: num(hours.and_then(|h| h.coverage_hours_percentage())),
        reserved_hours: num(hours.and_then(|h| h.reserved_hours())),
        on_demand_hours: num(hours.and_then(|h| h.on_demand_hours())),
        total_running_hours: num(hours.and_then(|h| h.total_running_hours())),
        on_demand_cost: num(c
            .and_then(|c| c.coverage_cost())
            .and_then(|c| c.on_demand_cost())),
    }
}

fn attributes(map: Option<&HashMap<String, String>>) -> BTreeMap<String, String> {
    map.map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

/// Follows `NextPageToken`s: runs `$page` (which reads `$token`, keeps what it needs and
/// evaluates to the next token) until no token comes back or `MAX_PAGES` pages were read, and
/// evaluates to whether the result was cut short. A macro rather than a function taking an
/// async closure, whose future async_trait could not prove `Send`.
macro_rules! follow_pages {
    (|$token:ident| $page:block) => {{
        let mut $token: Option<String> = None;
        let mut truncated = true;
        for _ in 0..MAX_PAGES {
            let next: Option<String> = $page;
            $token = next.filter(|t| !t.is_empty());
            if $token.is_none() {
                truncated = false;
                break;
            }
        }
        truncated
    }};
}

impl AwsCostSource {
    async fn cost_and_usage_pages(
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
            let (page, next) = if with_resources {
                let out = self
                    .client
                    .get_cost_and_usage_with_resources()
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
            } else {
                let out = self
                    .client
                    .get_cost_and_usage()
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
            };
            merge_periods(&mut periods, page);
            next
        });
        Ok(CostAndUsageResponse { periods, truncated })
    }

    async fn forecast(
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
}

#[async_trait]
impl CostSource for AwsCostSource {
    fn is_metered(&self) -> bool {
        true
    }

    async fn cost_and_usage(
        &self,
        req: &CostAndUsageRequest,
    ) -> Result<CostAndUsageResponse, CostError> {
        self.cost_and_usage_pages(req, false).await
    }

    async fn cost_and_usage_with_resources(
        &self,
        req: &CostAndUsageRequest,
    ) -> Result<CostAndUsageResponse, CostError> {
        self.cost_and_usage_pages(req, true).await
    }

    async fn cost_forecast(&self, req: &ForecastRequest) -> Result<ForecastResponse, CostError> {
        self.forecast(req, false).await
    }

    async fn usage_forecast(&self, req: &ForecastRequest) -> Result<ForecastResponse, CostError> {
        self.forecast(req, true).await
    }

    async fn dimension_values(
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

    async fn tags(&self, req: &TagsRequest) -> Result<TagsResponse, CostError> {
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

    async fn cost_and_usage_comparisons(
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

    async fn cost_comparison_drivers(
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

    async fn anomalies(&self, req: &AnomaliesRequest) -> Result<AnomaliesResponse, CostError> {
        let dates = ce::AnomalyDateInterval::builder()
            .start_date(req.period.start.to_string())
            .end_date(req.period.end.to_string())
            .build()
            .map_err(|_| CostError::InvalidRequest("bad date interval".into()))?;
        let impact = match req.min_total_impact {
            Some(min) => Some(
                ce::TotalImpactFilter::builder()
                    .numeric_operator(ce::NumericOperator::GreaterThanOrEqual)
                    .start_value(min)
                    .build()
                    .map_err(|_| CostError::InvalidRequest("bad impact filter".into()))?,
            ),
            None => None,
        };
        let mut anomalies = Vec::new();
        let truncated = follow_pages!(|token| {
            let out = self
                .client
                .get_anomalies()
                .date_interval(dates.clone())
                .set_monitor_arn(req.monitor_arn.clone())
                .set_total_impact(impact.clone())
                .set_next_page_token(token.clone())
                .send()
                .await
                .map_err(|e| map_error("GetAnomalies", e))?;
            anomalies.extend(out.anomalies().iter().map(|a| {
                let day =
                    |s: Option<&str>| s.and_then(|s| Date::parse(s.get(..10).unwrap_or(s)).ok());
                let mut anomaly = Anomaly {
                    id: a.anomaly_id().to_owned(),
                    start: day(a.anomaly_start_date()).unwrap_or(req.period.start),
                    end: day(a.anomaly_end_date()),
                    dimension_value: a.dimension_value().map(str::to_owned),
                    max_impact: a.impact().map(|i| i.max_impact()),
                    total_impact: a.impact().map(|i| i.total_impact()),
                    total_impact_percentage: a.impact().and_then(|i| i.total_impact_percentage()),
                    total_actual_spend: a.impact().and_then(|i| i.total_actual_spend()),
                    total_expected_spend: a.impact().and_then(|i| i.total_expected_spend()),
                    attributable_impact: None,
                    root_causes: a
                        .root_causes()
                        .iter()
                        .map(|c| RootCause {
                            service: c.service().map(str::to_owned),
                            region: c.region().map(str::to_owned),
                            linked_account: c.linked_account().map(str::to_owned),
                            linked_account_name: c.linked_account_name().map(str::to_owned),
                            usage_type: c.usage_type().map(str::to_owned),
                            contribution: c.impact().map(|i| i.contribution()),
                        })
                        .collect(),
                    monitor_arn: a.monitor_arn().to_owned(),
                };
                anomaly.attributable_impact = anomaly.contributions();
                anomaly
            }));
            out.next_page_token().map(str::to_owned)
        });
        Ok(AnomaliesResponse {
            anomalies,
            truncated,
        })
    }

    async fn savings_plans_utilization(
        &self,
        req: &CommitmentRequest,
    ) -> Result<SavingsPlansUtilizationResponse, CostError> {
        let out = self
            .client
            .get_savings_plans_utilization()
            .time_period(interval(&req.period)?)
            .granularity(granularity(req.granularity))
            .set_filter(req.filter.as_ref().map(expression))
            .send()
            .await
            .map_err(|e| map_error("GetSavingsPlansUtilization", e))?;
        let total = out
            .total()
            .map(|t| sp_utilization(t.utilization(), t.savings()));
        Ok(SavingsPlansUtilizationResponse {
            total: total.unwrap_or_else(|| sp_utilization(None, None)),
            periods: out
                .savings_plans_utilizations_by_time()
                .iter()
                .map(|p| {
                    let (start, end) = from_interval(p.time_period());
                    SavingsPlansUtilizationPeriod {
                        start,
                        end,
                        utilization: sp_utilization(p.utilization(), p.savings()),
                    }
                })
                .collect(),
        })
    }

    async fn savings_plans_coverage(
        &self,
        req: &CommitmentRequest,
    ) -> Result<SavingsPlansCoverageResponse, CostError> {
        let mut periods = Vec::new();
        let truncated = follow_pages!(|token| {
            let out = self
                .client
                .get_savings_plans_coverage()
                .time_period(interval(&req.period)?)
                .granularity(granularity(req.granularity))
                .set_group_by(
                    Some(req.group_by.iter().map(group_definition).collect())
                        .filter(|g: &Vec<_>| !g.is_empty()),
                )
                .set_filter(req.filter.as_ref().map(expression))
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| map_error("GetSavingsPlansCoverage", e))?;
            periods.extend(out.savings_plans_coverages().iter().map(|c| {
                let (start, end) = from_interval(c.time_period());
                let data = c.coverage();
                SavingsPlansCoveragePeriod {
                    start,
                    end,
                    attributes: attributes(c.attributes()),
                    coverage: SavingsPlansCoverage {
                        spend_covered_by_savings_plans: num(
                            data.and_then(|d| d.spend_covered_by_savings_plans())
                        ),
                        on_demand_cost: num(data.and_then(|d| d.on_demand_cost())),
                        total_cost: num(data.and_then(|d| d.total_cost())),
                        coverage_percentage: num(data.and_then(|d| d.coverage_percentage())),
                    },
                }
            }));
            out.next_token().map(str::to_owned)
        });
        Ok(SavingsPlansCoverageResponse { periods, truncated })
    }

    async fn reservation_utilization(
        &self,
        req: &CommitmentRequest,
    ) -> Result<ReservationUtilizationResponse, CostError> {
        let mut periods = Vec::new();
        let mut total = None;
        let truncated = follow_pages!(|token| {
            let out = self
                .client
                .get_reservation_utilization()
                .time_period(interval(&req.period)?)
                .granularity(granularity(req.granularity))
                .set_filter(req.filter.as_ref().map(expression))
                .set_next_page_token(token.clone())
                .send()
                .await
                .map_err(|e| map_error("GetReservationUtilization", e))?;
            if total.is_none() {
                total = out.total().map(|t| ri_utilization(Some(t)));
            }
            periods.extend(out.utilizations_by_time().iter().map(|u| {
                let (start, end) = from_interval(u.time_period());
                ReservationUtilizationPeriod {
                    start,
                    end,
                    utilization: ri_utilization(u.total()),
                }
            }));
            out.next_page_token().map(str::to_owned)
        });
        Ok(ReservationUtilizationResponse {
            total: total.unwrap_or_else(|| ri_utilization(None)),
            periods,
            truncated,
        })
    }

    async fn reservation_coverage(
        &self,
        req: &CommitmentRequest,
    ) -> Result<ReservationCoverageResponse, CostError> {
        let mut periods = Vec::new();
        let mut total = None;
        let truncated = follow_pages!(|token| {
            let out = self
                .client
                .get_reservation_coverage()
                .time_period(interval(&req.period)?)
                .granularity(granularity(req.granularity))
                .set_group_by(
                    Some(req.group_by.iter().map(group_definition).collect())
                        .filter(|g: &Vec<_>| !g.is_empty()),
                )
                .set_filter(req.filter.as_ref().map(expression))
                .set_next_page_token(token.clone())
                .send()
                .await
                .map_err(|e| map_error("GetReservationCoverage", e))?;
            if total.is_none() {
                total = out.total().map(|t| ri_coverage(Some(t)));
            }
            periods.extend(out.coverages_by_time().iter().map(|c| {
                let (start, end) = from_interval(c.time_period());
                ReservationCoveragePeriod {
                    start,
                    end,
                    total: ri_coverage(c.total()),
                    groups: c
                        .groups()
                        .iter()
                        .map(|g| ReservationCoverageGroup {
                            attributes: attributes(g.attributes()),
                            coverage: ri_coverage(g.coverage()),
                        })
                        .collect(),
                }
            }));
            out.next_page_token().map(str::to_owned)
        });
        Ok(ReservationCoverageResponse {
            total: total.unwrap_or_else(|| ri_coverage(None)),
            periods,
            truncated,
        })
    }
}
