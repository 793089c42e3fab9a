//! The `CostSource` port: every Cost Explorer operation the tools use, with typed requests and
//! responses in our own vocabulary (inclusive end dates, amounts as numbers), implemented by the
//! AWS SDK adapter ([`aws`]) and the embedded sample organisation ([`sample`]).

pub mod aws;
pub mod date;
pub mod filter;
#[cfg(feature = "server")]
pub mod metered;
pub mod sample;

use std::collections::BTreeMap;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use date::{Date, DateRange};

/// Why a Cost Explorer call failed. Descriptions are ours and safe to show to the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CostError {
    #[error("Cost Explorer is throttling requests; wait a moment and try again")]
    Throttled,
    #[error("access to Cost Explorer was denied to this server's AWS credentials")]
    AccessDenied,
    #[error("Cost Explorer rejected the request: {0}")]
    InvalidRequest(String),
    #[error("Cost Explorer is unavailable: {0}")]
    Unavailable(String),
}

/// How results are bucketed in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Granularity {
    Daily,
    Monthly,
}

/// A cost or usage metric, named as Cost Explorer names it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
pub enum Metric {
    /// Cost as billed, without discounts spread over time (the usual choice).
    UnblendedCost,
    /// Average cost across the organisation's consolidated billing.
    BlendedCost,
    /// Upfront and recurring reservation fees spread over the period.
    AmortizedCost,
    /// Unblended cost after discounts.
    NetUnblendedCost,
    /// Amortized cost after discounts.
    NetAmortizedCost,
    /// Usage in the usage type's own unit (hours, GB, requests …).
    UsageQuantity,
    /// Usage normalised to instance-size units.
    NormalizedUsageAmount,
}

impl Metric {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::UnblendedCost => "UnblendedCost",
            Self::BlendedCost => "BlendedCost",
            Self::AmortizedCost => "AmortizedCost",
            Self::NetUnblendedCost => "NetUnblendedCost",
            Self::NetAmortizedCost => "NetAmortizedCost",
            Self::UsageQuantity => "UsageQuantity",
            Self::NormalizedUsageAmount => "NormalizedUsageAmount",
        }
    }

    pub const fn is_usage(self) -> bool {
        matches!(self, Self::UsageQuantity | Self::NormalizedUsageAmount)
    }

    /// The API's name for the forecast metric (`UNBLENDED_COST`, …).
    pub const fn forecast_name(self) -> &'static str {
        match self {
            Self::UnblendedCost => "UNBLENDED_COST",
            Self::BlendedCost => "BLENDED_COST",
            Self::AmortizedCost => "AMORTIZED_COST",
            Self::NetUnblendedCost => "NET_UNBLENDED_COST",
            Self::NetAmortizedCost => "NET_AMORTIZED_COST",
            Self::UsageQuantity => "USAGE_QUANTITY",
            Self::NormalizedUsageAmount => "NORMALIZED_USAGE_AMOUNT",
        }
    }
}

/// A Cost Explorer dimension.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Dimension {
    /// The member account (12-digit id).
    LinkedAccount,
    /// The AWS service, e.g. "Amazon Elastic Compute Cloud - Compute".
    Service,
    /// The AWS region, e.g. "us-east-1".
    Region,
    /// The usage type, e.g. "USE1-BoxUsage:m5.large".
    UsageType,
    /// The EC2/RDS instance type, e.g. "m5.large".
    InstanceType,
    /// The resource id (only with resource-level data).
    ResourceId,
}

impl Dimension {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::LinkedAccount => "LINKED_ACCOUNT",
            Self::Service => "SERVICE",
            Self::Region => "REGION",
            Self::UsageType => "USAGE_TYPE",
            Self::InstanceType => "INSTANCE_TYPE",
            Self::ResourceId => "RESOURCE_ID",
        }
    }
}

/// A filter, as Cost Explorer's `Expression`: exactly one of its members per node. At most 8
/// levels deep and 100 nodes; every `and`/`or` needs an operand and every leaf a value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Expression {
    /// All sub-expressions must match.
    And(Vec<Expression>),
    /// Any sub-expression matches.
    Or(Vec<Expression>),
    /// The sub-expression must not match.
    Not(Box<Expression>),
    /// A dimension equals one of the values.
    Dimension { key: Dimension, values: Vec<String> },
    /// A cost allocation tag equals one of the values ("" matches untagged cost).
    Tag { key: String, values: Vec<String> },
}

impl Expression {
    /// Every value named for `dimension` anywhere in the expression.
    pub fn values_of(&self, dimension: Dimension) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect_values(dimension, &mut out);
        out
    }

    fn collect_values<'a>(&'a self, dimension: Dimension, out: &mut Vec<&'a str>) {
        match self {
            Self::And(items) | Self::Or(items) => {
                items.iter().for_each(|e| e.collect_values(dimension, out));
            }
            Self::Not(inner) => inner.collect_values(dimension, out),
            Self::Dimension { key, values } if *key == dimension => {
                out.extend(values.iter().map(String::as_str));
            }
            Self::Dimension { .. } | Self::Tag { .. } => {}
        }
    }

    /// `self AND other`, flattening nested `And`s.
    pub fn and(self, other: Expression) -> Expression {
        match self {
            Self::And(mut items) => {
                items.push(other);
                Self::And(items)
            }
            first => Self::And(vec![first, other]),
        }
    }
}

/// Combines an optional filter with a required one.
pub fn and_filter(filter: Option<Expression>, required: Option<Expression>) -> Option<Expression> {
    match (filter, required) {
        (Some(f), Some(r)) => Some(f.and(r)),
        (f, None) => f,
        (None, r) => r,
    }
}

/// What results are grouped by.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum GroupKey {
    /// Group by a dimension.
    Dimension(Dimension),
    /// Group by a cost allocation tag key; group keys read `key$value` (`key$` when untagged).
    Tag(String),
}

/// An amount with its unit (USD for costs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Amount {
    pub amount: f64,
    pub unit: String,
}

impl Amount {
    pub fn usd(amount: f64) -> Self {
        Self {
            amount,
            unit: "USD".into(),
        }
    }
}

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

/// Every Cost Explorer operation the tools use. Implementations answer in our vocabulary:
/// inclusive end dates, all pages merged (up to a bound, `truncated` set past it).
#[async_trait]
pub trait CostSource: Send + Sync {
    /// Whether each call costs money (Cost Explorer charges per request); the cache and the
    /// per-user budget apply only to such sources.
    fn is_metered(&self) -> bool {
        false
    }

    async fn cost_and_usage(
        &self,
        req: &CostAndUsageRequest,
    ) -> Result<CostAndUsageResponse, CostError>;
    /// Resource-level data: the last 14 days only, and the filter must name a SERVICE.
    async fn cost_and_usage_with_resources(
        &self,
        req: &CostAndUsageRequest,
    ) -> Result<CostAndUsageResponse, CostError>;
    async fn cost_forecast(&self, req: &ForecastRequest) -> Result<ForecastResponse, CostError>;
    async fn usage_forecast(&self, req: &ForecastRequest) -> Result<ForecastResponse, CostError>;
    async fn dimension_values(
        &self,
        req: &DimensionValuesRequest,
    ) -> Result<DimensionValuesResponse, CostError>;
    async fn tags(&self, req: &TagsRequest) -> Result<TagsResponse, CostError>;
    async fn cost_and_usage_comparisons(
        &self,
        req: &ComparisonRequest,
    ) -> Result<ComparisonResponse, CostError>;
    async fn cost_comparison_drivers(
        &self,
        req: &ComparisonRequest,
    ) -> Result<DriversResponse, CostError>;
    async fn anomalies(&self, req: &AnomaliesRequest) -> Result<AnomaliesResponse, CostError>;
    async fn savings_plans_utilization(
        &self,
        req: &CommitmentRequest,
    ) -> Result<SavingsPlansUtilizationResponse, CostError>;
    async fn savings_plans_coverage(
        &self,
        req: &CommitmentRequest,
    ) -> Result<SavingsPlansCoverageResponse, CostError>;
    async fn reservation_utilization(
        &self,
        req: &CommitmentRequest,
    ) -> Result<ReservationUtilizationResponse, CostError>;
    async fn reservation_coverage(
        &self,
        req: &CommitmentRequest,
    ) -> Result<ReservationCoverageResponse, CostError>;
}

/// Cents to dollars, rounded to the cent.
pub(crate) fn dollars(cents: i64) -> f64 {
    cents as f64 / 100.0
}

/// Rounds to 4 decimal places (usage, percentages).
pub(crate) fn round4(value: f64) -> f64 {
    (value * 10_000.0).round() / 10_000.0
}
