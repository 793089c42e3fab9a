//! The `CostSource` port: every Cost Explorer operation the tools use, with typed requests and
//! responses in our own vocabulary (inclusive end dates, amounts as numbers), implemented by the
//! AWS SDK adapter ([`aws`]) and the embedded sample organisation ([`sample`]). The words
//! (metrics, dimensions, filters) are in [`vocabulary`], the requests and answers in [`model`].

pub mod aws;
pub mod date;
pub mod filter;
#[cfg(feature = "server")]
pub mod metered;
pub mod model;
pub mod sample;
pub mod vocabulary;

use async_trait::async_trait;

pub use date::{Date, DateRange};
pub use model::*;
pub use vocabulary::*;

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
