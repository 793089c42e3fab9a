//! The requests and answers of the cost port, one section per operation family: cost and usage,
//! forecasts, dimension values and tags, comparisons and drivers, anomalies, Savings Plans and
//! reservations.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Amount, Date, DateRange, Dimension, Expression, Granularity, GroupKey, Metric};

// ---- GetCostAndUsage / GetCostAndUsageWithResources -------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct CostAndUsageRequest {
    pub period: DateRange,
    pub granularity: Granularity,
    pub metrics: Vec<Metric>,
    /// At most two keys.
    pub group_by: Vec<GroupKey>,
    pub filter: Option<Expression>,
}

/// One time bucket of a cost and usage answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CostPeriod {
    pub start: Date,
    /// The last day included.
    pub end: Date,
    /// Whether the figures may still change (the period includes today).
    pub estimated: bool,
    /// Totals by metric name (present when not grouped).
    pub total: BTreeMap<String, Amount>,
    /// One entry per group (when grouped).
    pub groups: Vec<CostGroup>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CostGroup {
    /// One value per group-by key, in the order requested.
    pub keys: Vec<String>,
    pub metrics: BTreeMap<String, Amount>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CostAndUsageResponse {
    pub periods: Vec<CostPeriod>,
    /// Set when pagination stopped at the page bound before the last page.
    #[serde(default)]
    pub truncated: bool,
}

// ---- Forecasts ----------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ForecastRequest {
    /// Must not start before today.
    pub period: DateRange,
    pub granularity: Granularity,
    pub metric: Metric,
    /// 80 or 95 (percent); 80 when absent.
    pub prediction_interval_level: u8,
    pub filter: Option<Expression>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ForecastPeriod {
    pub start: Date,
    pub end: Date,
    pub mean: f64,
    pub lower_bound: f64,
    pub upper_bound: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ForecastResponse {
    pub total: Amount,
    pub periods: Vec<ForecastPeriod>,
}

// ---- GetDimensionValues / GetTags ---------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct DimensionValuesRequest {
    pub period: DateRange,
    pub dimension: Dimension,
    /// Case-insensitive substring to match.
    pub search: Option<String>,
    pub filter: Option<Expression>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DimensionValue {
    pub value: String,
    /// Extra attributes, e.g. `description` (the account name) for LINKED_ACCOUNT.
    pub attributes: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DimensionValuesResponse {
    pub dimension: Dimension,
    pub values: Vec<DimensionValue>,
    #[serde(default)]
    pub truncated: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct TagsRequest {
    pub period: DateRange,
    /// The tag key whose values are wanted; `None` lists the tag keys.
    pub tag_key: Option<String>,
    pub search: Option<String>,
    pub filter: Option<Expression>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TagsResponse {
    pub tag_key: Option<String>,
    /// Tag values (or keys when no key was given); "" stands for untagged cost.
    pub tags: Vec<String>,
    #[serde(default)]
    pub truncated: bool,
}

// ---- Comparisons --------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ComparisonRequest {
    /// A whole calendar month.
    pub baseline: DateRange,
    /// A whole calendar month.
    pub comparison: DateRange,
    pub metric: Metric,
    pub group_by: Option<GroupKey>,
    pub filter: Option<Expression>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ComparisonValue {
    pub baseline: f64,
    pub comparison: f64,
    pub difference: f64,
    pub unit: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ComparisonItem {
    /// The group's value (empty when ungrouped).
    pub key: String,
    pub value: ComparisonValue,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ComparisonResponse {
    pub metric: Metric,
    pub total: ComparisonValue,
    /// Sorted by absolute difference, largest first.
    pub items: Vec<ComparisonItem>,
    #[serde(default)]
    pub truncated: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CostDriver {
    /// What kind of change this is, e.g. USAGE_CHANGE.
    pub driver_type: String,
    /// The usage type (or other item) that moved.
    pub name: String,
    pub value: ComparisonValue,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DriverGroup {
    /// The selector the drivers belong to, e.g. {"SERVICE": "Amazon Elastic Compute Cloud - Compute"}.
    pub selector: BTreeMap<String, String>,
    pub value: ComparisonValue,
    pub drivers: Vec<CostDriver>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DriversResponse {
    pub metric: Metric,
    pub groups: Vec<DriverGroup>,
    #[serde(default)]
    pub truncated: bool,
}

// ---- Anomalies ----------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnomaliesRequest {
    pub period: DateRange,
    pub monitor_arn: Option<String>,
    /// Only anomalies whose total impact is at least this (USD). Compared by Cost Explorer with
    /// the organisation-wide total impact, so it is never set for a user limited to some
    /// accounts (the tool applies the threshold itself, to what that user may see).
    pub min_total_impact: Option<f64>,
}

impl Eq for AnomaliesRequest {}

impl std::hash::Hash for AnomaliesRequest {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.period.hash(state);
        self.monitor_arn.hash(state);
        self.min_total_impact.map(f64::to_bits).hash(state);
    }
}

/// One root cause of an anomaly: where the unexpected spend was, and how much of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RootCause {
    pub service: Option<String>,
    pub region: Option<String>,
    pub linked_account: Option<String>,
    pub linked_account_name: Option<String>,
    pub usage_type: Option<String>,
    /// This root cause's dollar contribution to the anomaly's impact (USD), when reported.
    #[serde(default)]
    pub contribution: Option<f64>,
}

/// An anomaly. The anomaly-level figures (`dimension_value`, `max_impact`, `total_impact`,
/// `total_impact_percentage`, `total_actual_spend`, `total_expected_spend`) cover everything
/// the monitor watches, across the organisation: they are absent for a user limited to some
/// linked accounts, who sees only root causes in their accounts and `attributable_impact`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Anomaly {
    pub id: String,
    pub start: Date,
    /// The last day of the anomaly (absent while it is ongoing).
    pub end: Option<Date>,
    /// What the monitor watches (e.g. the service name); absent for account-limited users.
    pub dimension_value: Option<String>,
    /// The largest daily impact (USD); absent for account-limited users.
    #[serde(default)]
    pub max_impact: Option<f64>,
    /// The total impact, actual minus expected spend (USD); absent for account-limited users.
    #[serde(default)]
    pub total_impact: Option<f64>,
    /// The total impact as a percentage of the expected spend; absent for account-limited users.
    #[serde(default)]
    pub total_impact_percentage: Option<f64>,
    /// Absent for account-limited users.
    #[serde(default)]
    pub total_actual_spend: Option<f64>,
    /// Absent for account-limited users.
    #[serde(default)]
    pub total_expected_spend: Option<f64>,
    /// The sum of the listed root causes' contributions (USD), absent when none is reported;
    /// for an account-limited user, only root causes in their accounts are listed and counted.
    #[serde(default)]
    pub attributable_impact: Option<f64>,
    pub root_causes: Vec<RootCause>,
    pub monitor_arn: String,
}

impl Anomaly {
    /// The sum of the root causes' contributions, `None` when none reports one.
    pub fn contributions(&self) -> Option<f64> {
        self.root_causes
            .iter()
            .filter_map(|c| c.contribution)
            .fold(None, |sum, c| Some(sum.unwrap_or(0.0) + c))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AnomaliesResponse {
    pub anomalies: Vec<Anomaly>,
    #[serde(default)]
    pub truncated: bool,
}

// ---- Savings Plans and reservations -------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct CommitmentRequest {
    pub period: DateRange,
    pub granularity: Granularity,
    /// Coverage only (one key at most for reservations).
    pub group_by: Vec<GroupKey>,
    pub filter: Option<Expression>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SavingsPlansUtilization {
    pub total_commitment: f64,
    pub used_commitment: f64,
    pub unused_commitment: f64,
    pub utilization_percentage: f64,
    pub net_savings: f64,
    pub on_demand_cost_equivalent: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SavingsPlansUtilizationPeriod {
    pub start: Date,
    pub end: Date,
    pub utilization: SavingsPlansUtilization,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SavingsPlansUtilizationResponse {
    pub total: SavingsPlansUtilization,
    pub periods: Vec<SavingsPlansUtilizationPeriod>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SavingsPlansCoverage {
    pub spend_covered_by_savings_plans: f64,
    pub on_demand_cost: f64,
    pub total_cost: f64,
    pub coverage_percentage: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SavingsPlansCoveragePeriod {
    pub start: Date,
    pub end: Date,
    /// The group's attributes (empty when ungrouped).
    pub attributes: BTreeMap<String, String>,
    pub coverage: SavingsPlansCoverage,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SavingsPlansCoverageResponse {
    pub periods: Vec<SavingsPlansCoveragePeriod>,
    #[serde(default)]
    pub truncated: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReservationUtilization {
    pub utilization_percentage: f64,
    pub purchased_hours: f64,
    pub used_hours: f64,
    pub unused_hours: f64,
    pub net_savings: f64,
    pub amortized_fee: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReservationUtilizationPeriod {
    pub start: Date,
    pub end: Date,
    pub utilization: ReservationUtilization,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReservationUtilizationResponse {
    pub total: ReservationUtilization,
    pub periods: Vec<ReservationUtilizationPeriod>,
    #[serde(default)]
    pub truncated: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReservationCoverage {
    pub coverage_hours_percentage: f64,
    pub reserved_hours: f64,
    pub on_demand_hours: f64,
    pub total_running_hours: f64,
    pub on_demand_cost: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReservationCoverageGroup {
    pub attributes: BTreeMap<String, String>,
    pub coverage: ReservationCoverage,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReservationCoveragePeriod {
    pub start: Date,
    pub end: Date,
    pub total: ReservationCoverage,
    pub groups: Vec<ReservationCoverageGroup>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReservationCoverageResponse {
    pub total: ReservationCoverage,
    pub periods: Vec<ReservationCoveragePeriod>,
    #[serde(default)]
    pub truncated: bool,
}
