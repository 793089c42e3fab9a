//! The embedded sample organisation: four linked accounts with services, regions, usage types,
//! cost allocation tags (`team`, `env`), resources, 13 months of daily costs ending today (with
//! trends, weekly seasonality and three anomalies), a Compute Savings Plan and reservations.
//!
//! Everything is computed on demand from a seeded hash, so it is deterministic for a given
//! "today" and consistent across operations: costs are whole cents summed as integers, so monthly
//! totals equal the sum of their days and group totals equal the ungrouped total; forecasts are a
//! linear trend fitted to the last 13 weeks with the weekly pattern laid over it.
//!
//! This module holds the source and the organisation's arithmetic; the data are in [`data`] and
//! [`lines`], the queries each operation family answers in the other submodules.

mod anomalies;
mod commitments;
mod comparisons;
mod data;
mod lines;
mod rows;
mod usage;

use std::sync::Arc;

use async_trait::async_trait;
use shared::clock::Clock;

use super::{
    Amount, AnomaliesRequest, AnomaliesResponse, CommitmentRequest, ComparisonRequest,
    ComparisonResponse, CostAndUsageRequest, CostAndUsageResponse, CostError, CostSource, Date,
    Dimension, DimensionValuesRequest, DimensionValuesResponse, DriversResponse, ForecastRequest,
    ForecastResponse, GroupKey, Metric, ReservationCoverageResponse,
    ReservationUtilizationResponse, SavingsPlansCoverageResponse, SavingsPlansUtilizationResponse,
    TagsRequest, TagsResponse, dollars, round4,
};

pub use self::data::accounts;
use self::data::{ACCOUNTS, Account, SEED, SPIKES, Spike};
use self::lines::{LINES, Line};

/// The embedded default `CostSource`.
pub struct SampleCostSource {
    today: Today,
    /// Treated as a paid source (cache and budget apply): for tests of the metering.
    metered: bool,
}

enum Today {
    Clock(Arc<dyn Clock>),
    Fixed(Date),
}

impl SampleCostSource {
    /// "Today" follows `clock` (UTC).
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            today: Today::Clock(clock),
            metered: false,
        }
    }

    /// "Today" is always `today`.
    pub fn fixed(today: Date) -> Self {
        Self {
            today: Today::Fixed(today),
            metered: false,
        }
    }

    /// The same data, metered like Cost Explorer (the cache and the daily budget apply), so the
    /// metering can be exercised without AWS.
    pub fn metered(mut self) -> Self {
        self.metered = true;
        self
    }

    fn org(&self) -> Org {
        let today = match &self.today {
            Today::Clock(clock) => Date::from_epoch_secs(clock.now()),
            Today::Fixed(day) => *day,
        };
        Org::new(today)
    }
}

/// The organisation as seen on one day.
struct Org {
    today: Date,
    /// First day with data: the first of the month twelve months back.
    start: Date,
}

/// What a query ranges over: a line, or one resource of a line.
#[derive(Clone, Copy)]
struct Row {
    line: usize,
    resource: Option<usize>,
}

/// Sums for one group.
#[derive(Default, Clone)]
struct Totals {
    cents: i64,
    usage: f64,
    normalized: f64,
    unit: Option<&'static str>,
    mixed_units: bool,
}

impl Totals {
    fn add(&mut self, cents: i64, line: &Line) {
        self.cents += cents;
        let usage = dollars(cents) / line.unit_price;
        self.usage += usage;
        self.normalized += usage * normalization_factor(line.instance_type);
        match self.unit {
            None => self.unit = Some(line.unit),
            Some(unit) if unit != line.unit => self.mixed_units = true,
            Some(_) => {}
        }
    }

    fn amount(&self, metric: Metric) -> Amount {
        let unit = if self.mixed_units {
            "N/A"
        } else {
            self.unit.unwrap_or("N/A")
        };
        match metric {
            Metric::UsageQuantity => Amount {
                amount: round4(self.usage),
                unit: unit.into(),
            },
            Metric::NormalizedUsageAmount => Amount {
                amount: round4(self.normalized),
                unit: unit.into(),
            },
            _ => Amount::usd(dollars(self.cents)),
        }
    }
}

fn normalization_factor(instance_type: Option<&str>) -> f64 {
    let size = instance_type
        .and_then(|t| t.rsplit('.').next())
        .unwrap_or("");
    match size {
        "medium" => 2.0,
        "large" => 4.0,
        "xlarge" => 8.0,
        "2xlarge" => 16.0,
        _ => 1.0,
    }
}

/// SplitMix64.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A deterministic number in [-1, 1) for a line and a day.
fn noise(line: usize, day: Date) -> f64 {
    let h = mix(SEED ^ mix(line as u64) ^ mix(day.days() as u64).rotate_left(17));
    (h >> 11) as f64 / (1u64 << 52) as f64 - 1.0
}

fn line(index: usize) -> Option<&'static Line> {
    LINES.get(index)
}

fn account_of(line: &Line) -> Option<&'static Account> {
    ACCOUNTS.get(line.account)
}

fn tag_of(line: &Line, key: &str) -> Option<&'static str> {
    let account = account_of(line)?;
    match key {
        "team" => account.team,
        "env" => account.env,
        _ => None,
    }
}

const TAG_KEYS: [&str; 2] = ["env", "team"];

fn bad(message: impl Into<String>) -> CostError {
    CostError::InvalidRequest(message.into())
}

impl Org {
    fn new(today: Date) -> Self {
        Self {
            today,
            start: today.months_back(12),
        }
    }

    /// The line's cost on `day` without anomalies, in cents.
    fn expected_cents(&self, index: usize, day: Date) -> i64 {
        let Some(line) = line(index) else { return 0 };
        if day < self.start || day > self.today {
            return 0;
        }
        let age = self.start.days_until(day) as f64;
        let trend = 1.0 + line.trend * age / 30.0;
        let weekly = if day.weekday() >= 5 {
            1.0 - line.weekend_dip
        } else {
            1.0
        };
        let dollars = line.base * trend * weekly * (1.0 + 0.05 * noise(index, day));
        (dollars * 100.0).round().max(0.0) as i64
    }

    /// The spike covering `day` on a line, if any.
    fn spike(&self, index: usize, day: Date) -> Option<&'static Spike> {
        SPIKES.iter().find(|s| {
            let first = self.today.add_days(-s.days_ago);
            s.line == index && first <= day && day < first.add_days(s.days)
        })
    }

    /// The line's actual cost on `day`, in cents.
    fn line_cents(&self, index: usize, day: Date) -> i64 {
        let expected = self.expected_cents(index, day);
        match self.spike(index, day) {
            Some(spike) => (expected as f64 * spike.factor).round() as i64,
            None => expected,
        }
    }

    /// A row's cost on `day`: the line's, or a resource's share (the last resource takes the
    /// rounding remainder, so resources add up to the line exactly).
    fn row_cents(&self, row: Row, day: Date) -> i64 {
        let total = self.line_cents(row.line, day);
        let Some(resource) = row.resource else {
            return total;
        };
        let Some(line) = line(row.line) else { return 0 };
        let last = line.resources.len().saturating_sub(1);
        if resource == last {
            let others: i64 = line
                .resources
                .iter()
                .take(last)
                .map(|(_, share)| total * share / 100)
                .sum();
            total - others
        } else {
            line.resources
                .get(resource)
                .map_or(0, |(_, share)| total * share / 100)
        }
    }
}

fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

fn group_label(key: &GroupKey) -> String {
    match key {
        GroupKey::Dimension(d) => d.as_str().to_owned(),
        GroupKey::Tag(t) => format!("TAG:{t}"),
    }
}

#[async_trait]
impl CostSource for SampleCostSource {
    fn is_metered(&self) -> bool {
        self.metered
    }

    async fn cost_and_usage(
        &self,
        req: &CostAndUsageRequest,
    ) -> Result<CostAndUsageResponse, CostError> {
        if req
            .group_by
            .contains(&GroupKey::Dimension(Dimension::ResourceId))
        {
            return Err(bad(
                "RESOURCE_ID grouping needs GetCostAndUsageWithResources",
            ));
        }
        self.org().cost_and_usage(req, false)
    }

    async fn cost_and_usage_with_resources(
        &self,
        req: &CostAndUsageRequest,
    ) -> Result<CostAndUsageResponse, CostError> {
        let org = self.org();
        if req.period.start < org.today.add_days(-13) {
            return Err(bad("resource-level data covers the last 14 days only"));
        }
        if req
            .filter
            .as_ref()
            .is_none_or(|f| f.values_of(Dimension::Service).is_empty())
        {
            return Err(bad("resource-level queries must filter on SERVICE"));
        }
        org.cost_and_usage(req, true)
    }

    async fn cost_forecast(&self, req: &ForecastRequest) -> Result<ForecastResponse, CostError> {
        self.org().forecast(req, false)
    }

    async fn usage_forecast(&self, req: &ForecastRequest) -> Result<ForecastResponse, CostError> {
        if req
            .filter
            .as_ref()
            .is_none_or(|f| f.values_of(Dimension::UsageType).is_empty())
        {
            return Err(bad("a usage forecast must filter on USAGE_TYPE"));
        }
        self.org().forecast(req, true)
    }

    async fn dimension_values(
        &self,
        req: &DimensionValuesRequest,
    ) -> Result<DimensionValuesResponse, CostError> {
        self.org().dimension_values(req)
    }

    async fn tags(&self, req: &TagsRequest) -> Result<TagsResponse, CostError> {
        self.org().tags(req)
    }

    async fn cost_and_usage_comparisons(
        &self,
        req: &ComparisonRequest,
    ) -> Result<ComparisonResponse, CostError> {
        self.org().comparisons(req)
    }

    async fn cost_comparison_drivers(
        &self,
        req: &ComparisonRequest,
    ) -> Result<DriversResponse, CostError> {
        self.org().drivers(req)
    }

    async fn anomalies(&self, req: &AnomaliesRequest) -> Result<AnomaliesResponse, CostError> {
        self.org().anomalies(req)
    }

    async fn savings_plans_utilization(
        &self,
        req: &CommitmentRequest,
    ) -> Result<SavingsPlansUtilizationResponse, CostError> {
        self.org().savings_plans_utilization(req)
    }

    async fn savings_plans_coverage(
        &self,
        req: &CommitmentRequest,
    ) -> Result<SavingsPlansCoverageResponse, CostError> {
        self.org().savings_plans_coverage(req)
    }

    async fn reservation_utilization(
        &self,
        req: &CommitmentRequest,
    ) -> Result<ReservationUtilizationResponse, CostError> {
        self.org().reservation_utilization(req)
    }

    async fn reservation_coverage(
        &self,
        req: &CommitmentRequest,
    ) -> Result<ReservationCoverageResponse, CostError> {
        self.org().reservation_coverage(req)
    }
}

#[cfg(test)]
mod tests;
