//! The AWS adapter: Cost Explorer through aws-sdk-costexplorer. Inclusive end dates become the
//! API's exclusive ends, pages are followed and merged up to [`MAX_PAGES`], retries are bounded
//! ([`MAX_ATTEMPTS`], the SDK's standard mode with backoff), and SDK errors become
//! [`CostError`]s that say what happened. This module holds the client, the error mapping and
//! the port's implementation; each operation family's calls are in a submodule, the translation
//! of our types to and from the SDK's in [`convert`].

use async_trait::async_trait;
use aws_sdk_costexplorer::Client;
use aws_sdk_costexplorer::config::retry::RetryConfig;
use aws_sdk_costexplorer::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_costexplorer::types as ce;

use super::{
    AnomaliesRequest, AnomaliesResponse, CommitmentRequest, ComparisonRequest, ComparisonResponse,
    CostAndUsageRequest, CostAndUsageResponse, CostError, CostSource, Date, DateRange,
    DimensionValuesRequest, DimensionValuesResponse, DriversResponse, ForecastRequest,
    ForecastResponse, Granularity, ReservationCoverageResponse, ReservationUtilizationResponse,
    SavingsPlansCoverageResponse, SavingsPlansUtilizationResponse, TagsRequest, TagsResponse,
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
    /// Over the process's AWS configuration (`shared::aws`); Cost Explorer is served from
    /// us-east-1 when no region is configured.
    #[cfg(feature = "server")]
    pub fn from_sdk_config(sdk: &aws_config::SdkConfig) -> Self {
        Self::from_builder(aws_sdk_costexplorer::config::Builder::from(sdk))
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

// Declared after `follow_pages!`, which they use.
mod anomalies;
mod commitments;
mod comparisons;
mod convert;
mod usage;

pub use self::convert::expression;

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
        self.get_dimension_values(req).await
    }

    async fn tags(&self, req: &TagsRequest) -> Result<TagsResponse, CostError> {
        self.get_tags(req).await
    }

    async fn cost_and_usage_comparisons(
        &self,
        req: &ComparisonRequest,
    ) -> Result<ComparisonResponse, CostError> {
        self.get_cost_and_usage_comparisons(req).await
    }

    async fn cost_comparison_drivers(
        &self,
        req: &ComparisonRequest,
    ) -> Result<DriversResponse, CostError> {
        self.get_cost_comparison_drivers(req).await
    }

    async fn anomalies(&self, req: &AnomaliesRequest) -> Result<AnomaliesResponse, CostError> {
        self.get_anomalies(req).await
    }

    async fn savings_plans_utilization(
        &self,
        req: &CommitmentRequest,
    ) -> Result<SavingsPlansUtilizationResponse, CostError> {
        self.get_savings_plans_utilization(req).await
    }

    async fn savings_plans_coverage(
        &self,
        req: &CommitmentRequest,
    ) -> Result<SavingsPlansCoverageResponse, CostError> {
        self.get_savings_plans_coverage(req).await
    }

    async fn reservation_utilization(
        &self,
        req: &CommitmentRequest,
    ) -> Result<ReservationUtilizationResponse, CostError> {
        self.get_reservation_utilization(req).await
    }

    async fn reservation_coverage(
        &self,
        req: &CommitmentRequest,
    ) -> Result<ReservationCoverageResponse, CostError> {
        self.get_reservation_coverage(req).await
    }
}
