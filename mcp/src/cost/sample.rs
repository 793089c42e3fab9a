//! The embedded sample organisation: four linked accounts with services, regions, usage types,
//! cost allocation tags (`team`, `env`), resources, 13 months of daily costs ending today (with
//! trends, weekly seasonality and three anomalies), a Compute Savings Plan and reservations.
//!
//! Everything is computed on demand from a seeded hash, so it is deterministic for a given
//! "today" and consistent across operations: costs are whole cents summed as integers, so monthly
//! totals equal the sum of their days and group totals equal the ungrouped total; forecasts are a
//! linear trend fitted to the last 13 weeks with the weekly pattern laid over it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use async_trait::async_trait;
use shared::clock::Clock;

use super::{
    Amount, AnomaliesRequest, AnomaliesResponse, Anomaly, CommitmentRequest, ComparisonItem,
    ComparisonRequest, ComparisonResponse, ComparisonValue, CostAndUsageRequest,
    CostAndUsageResponse, CostDriver, CostError, CostGroup, CostPeriod, CostSource, Date,
    DateRange, Dimension, DimensionValue, DimensionValuesRequest, DimensionValuesResponse,
    DriverGroup, DriversResponse, Expression, ForecastPeriod, ForecastRequest, ForecastResponse,
    GroupKey, Metric, ReservationCoverage, ReservationCoverageGroup, ReservationCoveragePeriod,
    ReservationCoverageResponse, ReservationUtilization, ReservationUtilizationPeriod,
    ReservationUtilizationResponse, RootCause, SavingsPlansCoverage, SavingsPlansCoveragePeriod,
    SavingsPlansCoverageResponse, SavingsPlansUtilization, SavingsPlansUtilizationPeriod,
    SavingsPlansUtilizationResponse, TagsRequest, TagsResponse, dollars, round4,
};

const SEED: u64 = 0x5eed_c057_e7a1_0001;

struct Account {
    id: &'static str,
    name: &'static str,
    team: Option<&'static str>,
    env: Option<&'static str>,
}

const ACCOUNTS: [Account; 4] = [
    Account {
        id: "111111111111",
        name: "Management",
        team: Some("platform"),
        env: None,
    },
    Account {
        id: "222222222222",
        name: "Production",
        team: Some("web"),
        env: Some("prod"),
    },
    Account {
        id: "333333333333",
        name: "Staging",
        team: Some("web"),
        env: Some("staging"),
    },
    Account {
        id: "444444444444",
        name: "Data Science",
        team: Some("data"),
        env: Some("prod"),
    },
];

/// The sample's linked account ids and names.
pub fn accounts() -> impl Iterator<Item = (&'static str, &'static str)> {
    ACCOUNTS.iter().map(|a| (a.id, a.name))
}

const EC2: &str = "Amazon Elastic Compute Cloud - Compute";
const EC2_OTHER: &str = "EC2 - Other";
const RDS: &str = "Amazon Relational Database Service";
const S3: &str = "Amazon Simple Storage Service";
const LAMBDA: &str = "AWS Lambda";
const CLOUDFRONT: &str = "Amazon CloudFront";
const DYNAMODB: &str = "Amazon DynamoDB";
const CLOUDWATCH: &str = "AmazonCloudWatch";
const SAGEMAKER: &str = "Amazon SageMaker";
const CLOUDTRAIL: &str = "AWS CloudTrail";

/// One billing line: an account's use of one usage type of one service in one region.
struct Line {
    account: usize,
    service: &'static str,
    region: &'static str,
    usage: &'static str,
    instance_type: Option<&'static str>,
    /// Dollars per day at the start of the data.
    base: f64,
    /// Growth per 30 days (fraction).
    trend: f64,
    /// How much lower weekends are (fraction).
    weekend_dip: f64,
    unit: &'static str,
    /// On-demand dollars per unit of usage.
    unit_price: f64,
    /// Covered by the Compute Savings Plan.
    savings_plan_eligible: bool,
    /// Resource ids and their share of the line's cost (percent, summing to 100).
    resources: &'static [(&'static str, i64)],
}

const LINES: [Line; 19] = [
    Line {
        account: 1,
        service: EC2,
        region: "us-east-1",
        usage: "USE1-BoxUsage:m5.large",
        instance_type: Some("m5.large"),
        base: 55.0,
        trend: 0.03,
        weekend_dip: 0.10,
        unit: "Hrs",
        unit_price: 0.096,
        savings_plan_eligible: true,
        resources: &[
            ("i-0a1b2c3d4e5f60001", 50),
            ("i-0a1b2c3d4e5f60002", 30),
            ("i-0a1b2c3d4e5f60003", 20),
        ],
    },
    Line {
        account: 1,
        service: EC2,
        region: "eu-west-1",
        usage: "EU-BoxUsage:c5.xlarge",
        instance_type: Some("c5.xlarge"),
        base: 38.0,
        trend: 0.02,
        weekend_dip: 0.10,
        unit: "Hrs",
        unit_price: 0.192,
        savings_plan_eligible: true,
        resources: &[("i-0e1e2e3e4e5e60001", 60), ("i-0e1e2e3e4e5e60002", 40)],
    },
    Line {
        account: 1,
        service: RDS,
        region: "us-east-1",
        usage: "USE1-InstanceUsage:db.r5.large",
        instance_type: Some("db.r5.large"),
        base: 41.0,
        trend: 0.01,
        weekend_dip: 0.0,
        unit: "Hrs",
        unit_price: 0.25,
        savings_plan_eligible: false,
        resources: &[
            ("arn:aws:rds:us-east-1:222222222222:db:prod-orders", 70),
            ("arn:aws:rds:us-east-1:222222222222:db:prod-users", 30),
        ],
    },
    Line {
        account: 1,
        service: S3,
        region: "us-east-1",
        usage: "USE1-TimedStorage-ByteHrs",
        instance_type: None,
        base: 12.0,
        trend: 0.04,
        weekend_dip: 0.0,
        unit: "GB-Mo",
        unit_price: 0.023,
        savings_plan_eligible: false,
        resources: &[("web-prod-assets", 80), ("web-prod-logs", 20)],
    },
    Line {
        account: 1,
        service: CLOUDFRONT,
        region: "global",
        usage: "US-DataTransfer-Out-Bytes",
        instance_type: None,
        base: 18.0,
        trend: 0.05,
        weekend_dip: 0.20,
        unit: "GB",
        unit_price: 0.085,
        savings_plan_eligible: false,
        resources: &[(
            "arn:aws:cloudfront::222222222222:distribution/E1SAMPLEWEB",
            100,
        )],
    },
    Line {
        account: 1,
        service: LAMBDA,
        region: "us-east-1",
        usage: "USE1-Lambda-GB-Second",
        instance_type: None,
        base: 9.0,
        trend: 0.06,
        weekend_dip: 0.15,
        unit: "Lambda-GB-Second",
        unit_price: 0.000_016_666_7,
        savings_plan_eligible: true,
        resources: &[
            (
                "arn:aws:lambda:us-east-1:222222222222:function:checkout",
                65,
            ),
            (
                "arn:aws:lambda:us-east-1:222222222222:function:thumbnails",
                35,
            ),
        ],
    },
    Line {
        account: 1,
        service: DYNAMODB,
        region: "us-east-1",
        usage: "USE1-ReadRequestUnits",
        instance_type: None,
        base: 6.0,
        trend: 0.02,
        weekend_dip: 0.10,
        unit: "ReadRequestUnits",
        unit_price: 0.000_000_25,
        savings_plan_eligible: false,
        resources: &[(
            "arn:aws:dynamodb:us-east-1:222222222222:table/sessions",
            100,
        )],
    },
    Line {
        account: 1,
        service: CLOUDWATCH,
        region: "us-east-1",
        usage: "USE1-CW:MetricMonitorUsage",
        instance_type: None,
        base: 3.0,
        trend: 0.02,
        weekend_dip: 0.0,
        unit: "Metrics",
        unit_price: 0.01,
        savings_plan_eligible: false,
        resources: &[("arn:aws:cloudwatch:us-east-1:222222222222:metrics", 100)],
    },
    Line {
        account: 1,
        service: EC2_OTHER,
        region: "us-east-1",
        usage: "USE1-EBS:VolumeUsage.gp3",
        instance_type: None,
        base: 7.0,
        trend: 0.02,
        weekend_dip: 0.0,
        unit: "GB-Mo",
        unit_price: 0.0027,
        savings_plan_eligible: false,
        resources: &[("vol-0a1b2c3d4e5f70001", 50), ("vol-0a1b2c3d4e5f70002", 50)],
    },
    Line {
        account: 2,
        service: EC2,
        region: "us-east-1",
        usage: "USE1-BoxUsage:t3.medium",
        instance_type: Some("t3.medium"),
        base: 14.0,
        trend: 0.0,
        weekend_dip: 0.30,
        unit: "Hrs",
        unit_price: 0.0416,
        savings_plan_eligible: true,
        resources: &[("i-0s1s2s3s4s5s60001", 50), ("i-0s1s2s3s4s5s60002", 50)],
    },
    Line {
        account: 2,
        service: RDS,
        region: "us-east-1",
        usage: "USE1-InstanceUsage:db.t3.medium",
        instance_type: Some("db.t3.medium"),
        base: 6.5,
        trend: 0.0,
        weekend_dip: 0.0,
        unit: "Hrs",
        unit_price: 0.068,
        savings_plan_eligible: false,
        resources: &[("arn:aws:rds:us-east-1:333333333333:db:staging", 100)],
    },
    Line {
        account: 2,
        service: S3,
        region: "us-east-1",
        usage: "USE1-TimedStorage-ByteHrs",
        instance_type: None,
        base: 2.5,
        trend: 0.01,
        weekend_dip: 0.0,
        unit: "GB-Mo",
        unit_price: 0.023,
        savings_plan_eligible: false,
        resources: &[("web-staging-assets", 100)],
    },
    Line {
        account: 3,
        service: SAGEMAKER,
        region: "us-west-2",
        usage: "USW2-Train:ml.g4dn.xlarge",
        instance_type: Some("ml.g4dn.xlarge"),
        base: 30.0,
        trend: 0.08,
        weekend_dip: 0.25,
        unit: "Hrs",
        unit_price: 0.736,
        savings_plan_eligible: false,
        resources: &[(
            "arn:aws:sagemaker:us-west-2:444444444444:training-job/forecast",
            100,
        )],
    },
    Line {
        account: 3,
        service: EC2,
        region: "us-west-2",
        usage: "USW2-BoxUsage:r5.2xlarge",
        instance_type: Some("r5.2xlarge"),
        base: 24.0,
        trend: 0.05,
        weekend_dip: 0.20,
        unit: "Hrs",
        unit_price: 0.504,
        savings_plan_eligible: true,
        resources: &[("i-0d1d2d3d4d5d60001", 100)],
    },
    Line {
        account: 3,
        service: S3,
        region: "us-west-2",
        usage: "USW2-TimedStorage-ByteHrs",
        instance_type: None,
        base: 8.0,
        trend: 0.07,
        weekend_dip: 0.0,
        unit: "GB-Mo",
        unit_price: 0.023,
        savings_plan_eligible: false,
        resources: &[("data-lake-raw", 70), ("data-lake-curated", 30)],
    },
    Line {
        account: 0,
        service: CLOUDWATCH,
        region: "us-east-1",
        usage: "USE1-CW:MetricMonitorUsage",
        instance_type: None,
        base: 4.0,
        trend: 0.01,
        weekend_dip: 0.0,
        unit: "Metrics",
        unit_price: 0.01,
        savings_plan_eligible: false,
        resources: &[("arn:aws:cloudwatch:us-east-1:111111111111:metrics", 100)],
    },
    Line {
        account: 0,
        service: CLOUDTRAIL,
        region: "us-east-1",
        usage: "USE1-PaidEventsRecorded",
        instance_type: None,
        base: 1.5,
        trend: 0.0,
        weekend_dip: 0.0,
        unit: "Events",
        unit_price: 0.000_002,
        savings_plan_eligible: false,
        resources: &[("arn:aws:cloudtrail:us-east-1:111111111111:trail/org", 100)],
    },
    Line {
        account: 0,
        service: S3,
        region: "us-east-1",
        usage: "USE1-TimedStorage-ByteHrs",
        instance_type: None,
        base: 3.0,
        trend: 0.03,
        weekend_dip: 0.0,
        unit: "GB-Mo",
        unit_price: 0.023,
        savings_plan_eligible: false,
        resources: &[("org-cloudtrail-logs", 100)],
    },
    Line {
        account: 3,
        service: LAMBDA,
        region: "us-west-2",
        usage: "USW2-Lambda-GB-Second",
        instance_type: None,
        base: 2.0,
        trend: 0.04,
        weekend_dip: 0.10,
        unit: "Lambda-GB-Second",
        unit_price: 0.000_016_666_7,
        savings_plan_eligible: true,
        resources: &[("arn:aws:lambda:us-west-2:444444444444:function:etl", 100)],
    },
];

/// A spike on one line: `days_ago` of the first day, how many days, and the cost multiplier.
struct Spike {
    id: &'static str,
    line: usize,
    days_ago: i64,
    days: i64,
    factor: f64,
}

const SPIKES: [Spike; 3] = [
    Spike {
        id: "sample-anomaly-sagemaker-training",
        line: 12,
        days_ago: 12,
        days: 3,
        factor: 4.0,
    },
    Spike {
        id: "sample-anomaly-cloudfront-egress",
        line: 4,
        days_ago: 45,
        days: 1,
        factor: 5.0,
    },
    Spike {
        id: "sample-anomaly-ec2-scale-out",
        line: 0,
        days_ago: 100,
        days: 3,
        factor: 2.5,
    },
];

const MONITOR_ARN: &str = "arn:aws:ce::111111111111:anomalymonitor/sample-services";

/// The Compute Savings Plan: dollars per hour, owned by the management account, started this
/// many days after the data starts.
const SAVINGS_PLAN_HOURLY: f64 = 4.25;
const SAVINGS_PLAN_RATE: f64 = 0.72;
const SAVINGS_PLAN_START_OFFSET: i64 = 120;

/// A reservation: the line it applies to, instances, and the effective hourly rate.
struct Reservation {
    line: usize,
    instances: f64,
    effective_hourly: f64,
}

const RESERVATIONS: [Reservation; 3] = [
    Reservation {
        line: 2,
        instances: 4.0,
        effective_hourly: 0.16,
    },
    Reservation {
        line: 0,
        instances: 20.0,
        effective_hourly: 0.062,
    },
    Reservation {
        line: 9,
        instances: 12.0,
        effective_hourly: 0.026,
    },
];

/// Forecasts fit the trend over this many days before today.
const FIT_DAYS: i64 = 91;

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

    fn rows(with_resources: bool) -> Vec<Row> {
        LINES
            .iter()
            .enumerate()
            .flat_map(|(index, line)| {
                let resources: Vec<Option<usize>> = if with_resources {
                    (0..line.resources.len()).map(Some).collect()
                } else {
                    vec![None]
                };
                resources.into_iter().map(move |resource| Row {
                    line: index,
                    resource,
                })
            })
            .collect()
    }

    fn dimension_value(row: Row, dimension: Dimension) -> Option<String> {
        let line = line(row.line)?;
        Some(match dimension {
            Dimension::LinkedAccount => account_of(line)?.id.to_owned(),
            Dimension::Service => line.service.to_owned(),
            Dimension::Region => line.region.to_owned(),
            Dimension::UsageType => line.usage.to_owned(),
            Dimension::InstanceType => line.instance_type.unwrap_or("NoInstanceType").to_owned(),
            Dimension::ResourceId => {
                let (id, _) = line.resources.get(row.resource?)?;
                (*id).to_owned()
            }
        })
    }

    fn group_value(row: Row, key: &GroupKey) -> Result<String, CostError> {
        match key {
            GroupKey::Dimension(Dimension::ResourceId) if row.resource.is_none() => Err(bad(
                "RESOURCE_ID is available only with resource-level data",
            )),
            GroupKey::Dimension(dimension) => {
                Ok(Self::dimension_value(row, *dimension).unwrap_or_default())
            }
            GroupKey::Tag(tag) => {
                let value = line(row.line).and_then(|l| tag_of(l, tag)).unwrap_or("");
                Ok(format!("{tag}${value}"))
            }
        }
    }

    fn matches(row: Row, expression: &Expression) -> Result<bool, CostError> {
        Ok(match expression {
            Expression::And(items) => {
                for item in items {
                    if !Self::matches(row, item)? {
                        return Ok(false);
                    }
                }
                true
            }
            Expression::Or(items) => {
                for item in items {
                    if Self::matches(row, item)? {
                        return Ok(true);
                    }
                }
                false
            }
            Expression::Not(inner) => !Self::matches(row, inner)?,
            Expression::Dimension {
                key: Dimension::ResourceId,
                ..
            } if row.resource.is_none() => {
                return Err(bad("RESOURCE_ID filters need resource-level data"));
            }
            Expression::Dimension { key, values } => {
                let value = Self::dimension_value(row, *key).unwrap_or_default();
                values.contains(&value)
            }
            Expression::Tag { key, values } => {
                let value = line(row.line).and_then(|l| tag_of(l, key)).unwrap_or("");
                values.iter().any(|v| v == value)
            }
        })
    }

    fn selected(filter: Option<&Expression>, with_resources: bool) -> Result<Vec<Row>, CostError> {
        let mut out = Vec::new();
        for row in Self::rows(with_resources) {
            if filter.map_or(Ok(true), |f| Self::matches(row, f))? {
                out.push(row);
            }
        }
        Ok(out)
    }

    /// Sums rows over `period`, keyed by the group-by values.
    fn totals(
        &self,
        rows: &[Row],
        period: &DateRange,
        group_by: &[GroupKey],
    ) -> Result<BTreeMap<Vec<String>, Totals>, CostError> {
        let mut groups: BTreeMap<Vec<String>, Totals> = BTreeMap::new();
        for row in rows {
            let keys = group_by
                .iter()
                .map(|k| Self::group_value(*row, k))
                .collect::<Result<Vec<_>, _>>()?;
            let Some(line) = line(row.line) else { continue };
            let entry = groups.entry(keys).or_default();
            for day in period.days() {
                entry.add(self.row_cents(*row, day), line);
            }
        }
        Ok(groups)
    }

    fn cost_and_usage(
        &self,
        req: &CostAndUsageRequest,
        with_resources: bool,
    ) -> Result<CostAndUsageResponse, CostError> {
        if req.group_by.len() > 2 {
            return Err(bad("at most two group-by keys are allowed"));
        }
        if req.metrics.is_empty() {
            return Err(bad("at least one metric is required"));
        }
        let rows = Self::selected(req.filter.as_ref(), with_resources)?;
        let mut periods = Vec::new();
        for bucket in req.period.split(req.granularity) {
            let totals = self.totals(&rows, &bucket, &req.group_by)?;
            let metrics = |t: &Totals| -> BTreeMap<String, Amount> {
                req.metrics
                    .iter()
                    .map(|m| (m.as_str().to_owned(), t.amount(*m)))
                    .collect()
            };
            let (total, groups) = if req.group_by.is_empty() {
                let sum = totals.values().next().cloned().unwrap_or_default();
                (metrics(&sum), Vec::new())
            } else {
                let groups = totals
                    .iter()
                    .filter(|(_, t)| t.cents != 0)
                    .map(|(keys, t)| CostGroup {
                        keys: keys.clone(),
                        metrics: metrics(t),
                    })
                    .collect();
                (BTreeMap::new(), groups)
            };
            periods.push(CostPeriod {
                start: bucket.start,
                end: bucket.end,
                estimated: bucket.contains(self.today),
                total,
                groups,
            });
        }
        Ok(CostAndUsageResponse {
            periods,
            truncated: false,
        })
    }

    /// Daily values of `metric` over the fit window for the filtered rows.
    fn history(&self, rows: &[Row], metric: Metric) -> Vec<f64> {
        let first = self.today.add_days(-FIT_DAYS);
        (0..FIT_DAYS)
            .map(|offset| {
                let day = first.add_days(offset);
                let mut totals = Totals::default();
                for row in rows {
                    if let Some(line) = line(row.line) {
                        totals.add(self.row_cents(*row, day), line);
                    }
                }
                totals.amount(metric).amount
            })
            .collect()
    }

    fn forecast(&self, req: &ForecastRequest, usage: bool) -> Result<ForecastResponse, CostError> {
        if req.period.start < self.today {
            return Err(bad(format!(
                "the forecast must start today ({}) or later",
                self.today
            )));
        }
        if usage != req.metric.is_usage() {
            return Err(bad(if usage {
                "a usage forecast needs a usage metric (UsageQuantity or NormalizedUsageAmount)"
            } else {
                "a cost forecast needs a cost metric"
            }));
        }
        let z = match req.prediction_interval_level {
            80 => 1.2816,
            95 => 1.96,
            _ => return Err(bad("the prediction interval level must be 80 or 95")),
        };
        let rows = Self::selected(req.filter.as_ref(), false)?;
        let history = self.history(&rows, req.metric);
        let fit = Fit::new(&history, self.today.add_days(-FIT_DAYS));
        let mut periods = Vec::new();
        let mut total = 0.0;
        for bucket in req.period.split(req.granularity) {
            let mean: f64 = bucket
                .days()
                .map(|d| fit.predict(self.today.add_days(-FIT_DAYS), d))
                .sum();
            let spread = z * fit.sigma * (bucket.len_days() as f64).sqrt();
            total += mean;
            periods.push(ForecastPeriod {
                start: bucket.start,
                end: bucket.end,
                mean: round2(mean),
                lower_bound: round2((mean - spread).max(0.0)),
                upper_bound: round2(mean + spread),
            });
        }
        let unit = if req.metric.is_usage() {
            let mut t = Totals::default();
            rows.iter()
                .filter_map(|r| line(r.line))
                .for_each(|l| t.add(0, l));
            t.amount(req.metric).unit
        } else {
            "USD".into()
        };
        Ok(ForecastResponse {
            total: Amount {
                amount: round2(total),
                unit,
            },
            periods,
        })
    }
}

fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// A least-squares line through daily values with a multiplicative weekday pattern.
struct Fit {
    intercept: f64,
    slope: f64,
    weekday: [f64; 7],
    sigma: f64,
}

impl Fit {
    fn new(values: &[f64], first: Date) -> Self {
        let n = values.len().max(1) as f64;
        let mean_x = (n - 1.0) / 2.0;
        let mean_y = values.iter().sum::<f64>() / n;
        let (mut sxy, mut sxx) = (0.0, 0.0);
        for (x, y) in values.iter().enumerate() {
            let dx = x as f64 - mean_x;
            sxy += dx * (y - mean_y);
            sxx += dx * dx;
        }
        let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
        let intercept = mean_y - slope * mean_x;
        let mut ratio = [0.0f64; 7];
        let mut count = [0.0f64; 7];
        for (x, y) in values.iter().enumerate() {
            let trend = intercept + slope * x as f64;
            let wd = first.add_days(x as i64).weekday() as usize;
            if trend > 0.0
                && let (Some(r), Some(c)) = (ratio.get_mut(wd), count.get_mut(wd))
            {
                *r += y / trend;
                *c += 1.0;
            }
        }
        let mut weekday = [1.0f64; 7];
        for ((w, r), c) in weekday.iter_mut().zip(ratio).zip(count) {
            if c > 0.0 {
                *w = r / c;
            }
        }
        let mut fit = Self {
            intercept,
            slope,
            weekday,
            sigma: 0.0,
        };
        let residuals: f64 = values
            .iter()
            .enumerate()
            .map(|(x, y)| (y - fit.predict(first, first.add_days(x as i64))).powi(2))
            .sum();
        fit.sigma = (residuals / (n - 2.0).max(1.0)).sqrt();
        fit
    }

    fn predict(&self, first: Date, day: Date) -> f64 {
        let x = first.days_until(day) as f64;
        let factor = self
            .weekday
            .get(day.weekday() as usize)
            .copied()
            .unwrap_or(1.0);
        ((self.intercept + self.slope * x) * factor).max(0.0)
    }
}

fn comparison_value(baseline: i64, comparison: i64) -> ComparisonValue {
    ComparisonValue {
        baseline: dollars(baseline),
        comparison: dollars(comparison),
        difference: dollars(comparison - baseline),
        unit: "USD".into(),
    }
}

fn usage_comparison(baseline: &Totals, comparison: &Totals, metric: Metric) -> ComparisonValue {
    if !metric.is_usage() {
        return comparison_value(baseline.cents, comparison.cents);
    }
    let (b, c) = (baseline.amount(metric), comparison.amount(metric));
    ComparisonValue {
        baseline: b.amount,
        comparison: c.amount,
        difference: round4(c.amount - b.amount),
        unit: b.unit,
    }
}

impl Org {
    fn check_months(req: &ComparisonRequest) -> Result<(), CostError> {
        if !req.baseline.is_whole_month() || !req.comparison.is_whole_month() {
            return Err(bad(
                "baseline and comparison periods must each be one whole calendar month",
            ));
        }
        Ok(())
    }

    fn comparisons(&self, req: &ComparisonRequest) -> Result<ComparisonResponse, CostError> {
        Self::check_months(req)?;
        let rows = Self::selected(req.filter.as_ref(), false)?;
        let group_by: Vec<GroupKey> = req.group_by.iter().cloned().collect();
        let base = self.totals(&rows, &req.baseline, &group_by)?;
        let comp = self.totals(&rows, &req.comparison, &group_by)?;
        let keys: BTreeSet<&Vec<String>> = base.keys().chain(comp.keys()).collect();
        let empty = Totals::default();
        let mut items = Vec::new();
        let (mut total_b, mut total_c) = (Totals::default(), Totals::default());
        for key in keys {
            let (b, c) = (
                base.get(key).unwrap_or(&empty),
                comp.get(key).unwrap_or(&empty),
            );
            total_b.cents += b.cents;
            total_c.cents += c.cents;
            total_b.usage += b.usage;
            total_c.usage += c.usage;
            total_b.normalized += b.normalized;
            total_c.normalized += c.normalized;
            if b.cents == 0 && c.cents == 0 {
                continue;
            }
            items.push(ComparisonItem {
                key: key.join(","),
                value: usage_comparison(b, c, req.metric),
            });
        }
        items.sort_by(|a, b| {
            b.value
                .difference
                .abs()
                .total_cmp(&a.value.difference.abs())
        });
        Ok(ComparisonResponse {
            metric: req.metric,
            total: usage_comparison(&total_b, &total_c, req.metric),
            items,
            truncated: false,
        })
    }

    fn drivers(&self, req: &ComparisonRequest) -> Result<DriversResponse, CostError> {
        Self::check_months(req)?;
        let rows = Self::selected(req.filter.as_ref(), false)?;
        let key = req
            .group_by
            .clone()
            .unwrap_or(GroupKey::Dimension(Dimension::Service));
        let by = [key.clone(), GroupKey::Dimension(Dimension::UsageType)];
        let base = self.totals(&rows, &req.baseline, &by)?;
        let comp = self.totals(&rows, &req.comparison, &by)?;
        let keys: BTreeSet<&Vec<String>> = base.keys().chain(comp.keys()).collect();
        let empty = Totals::default();
        let mut groups: BTreeMap<String, (Totals, Totals, Vec<CostDriver>)> = BTreeMap::new();
        for k in keys {
            let (b, c) = (base.get(k).unwrap_or(&empty), comp.get(k).unwrap_or(&empty));
            let (Some(group), Some(usage)) = (k.first(), k.get(1)) else {
                continue;
            };
            let entry = groups.entry(group.clone()).or_default();
            entry.0.cents += b.cents;
            entry.1.cents += c.cents;
            if b.cents != c.cents {
                entry.2.push(CostDriver {
                    driver_type: "USAGE_CHANGE".into(),
                    name: usage.clone(),
                    value: comparison_value(b.cents, c.cents),
                });
            }
        }
        let label = match &key {
            GroupKey::Dimension(d) => d.as_str().to_owned(),
            GroupKey::Tag(t) => format!("TAG:{t}"),
        };
        let mut out: Vec<DriverGroup> = groups
            .into_iter()
            .filter(|(_, (b, c, _))| b.cents != c.cents)
            .map(|(group, (b, c, mut drivers))| {
                drivers.sort_by(|x, y| {
                    y.value
                        .difference
                        .abs()
                        .total_cmp(&x.value.difference.abs())
                });
                drivers.truncate(5);
                DriverGroup {
                    selector: BTreeMap::from([(label.clone(), group)]),
                    value: comparison_value(b.cents, c.cents),
                    drivers,
                }
            })
            .collect();
        out.sort_by(|x, y| {
            y.value
                .difference
                .abs()
                .total_cmp(&x.value.difference.abs())
        });
        Ok(DriversResponse {
            metric: req.metric,
            groups: out,
            truncated: false,
        })
    }

    fn dimension_values(
        &self,
        req: &DimensionValuesRequest,
    ) -> Result<DimensionValuesResponse, CostError> {
        let with_resources = req.dimension == Dimension::ResourceId;
        if with_resources && req.period.start < self.today.add_days(-13) {
            return Err(bad("resource ids are available for the last 14 days only"));
        }
        let rows = Self::selected(req.filter.as_ref(), with_resources)?;
        let needle = req.search.as_deref().map(str::to_lowercase);
        let mut values: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for row in rows {
            let has_cost = req.period.days().any(|d| self.row_cents(row, d) > 0);
            let Some(value) = Self::dimension_value(row, req.dimension) else {
                continue;
            };
            if !has_cost
                || needle
                    .as_ref()
                    .is_some_and(|n| !value.to_lowercase().contains(n))
            {
                continue;
            }
            let mut attributes = BTreeMap::new();
            if req.dimension == Dimension::LinkedAccount
                && let Some(account) = line(row.line).and_then(account_of)
            {
                attributes.insert("description".to_owned(), account.name.to_owned());
            }
            values.insert(value, attributes);
        }
        Ok(DimensionValuesResponse {
            dimension: req.dimension,
            values: values
                .into_iter()
                .map(|(value, attributes)| DimensionValue { value, attributes })
                .collect(),
            truncated: false,
        })
    }

    fn tags(&self, req: &TagsRequest) -> Result<TagsResponse, CostError> {
        let rows = Self::selected(req.filter.as_ref(), false)?;
        let needle = req.search.as_deref().map(str::to_lowercase);
        let mut out = BTreeSet::new();
        for row in rows {
            if !req.period.days().any(|d| self.row_cents(row, d) > 0) {
                continue;
            }
            let Some(line) = line(row.line) else { continue };
            match &req.tag_key {
                None => {
                    for key in TAG_KEYS {
                        if tag_of(line, key).is_some() {
                            out.insert(key.to_owned());
                        }
                    }
                }
                Some(key) => {
                    out.insert(tag_of(line, key).unwrap_or("").to_owned());
                }
            }
        }
        if let Some(key) = &req.tag_key
            && !TAG_KEYS.contains(&key.as_str())
        {
            out.clear();
        }
        let tags = out
            .into_iter()
            .filter(|t| needle.as_ref().is_none_or(|n| t.to_lowercase().contains(n)))
            .collect();
        Ok(TagsResponse {
            tag_key: req.tag_key.clone(),
            tags,
            truncated: false,
        })
    }

    fn anomalies(&self, req: &AnomaliesRequest) -> Result<AnomaliesResponse, CostError> {
        if req
            .monitor_arn
            .as_deref()
            .is_some_and(|arn| arn != MONITOR_ARN)
        {
            return Ok(AnomaliesResponse {
                anomalies: Vec::new(),
                truncated: false,
            });
        }
        let mut anomalies = Vec::new();
        for spike in &SPIKES {
            let first = self.today.add_days(-spike.days_ago);
            let last = first.add_days(spike.days - 1);
            if last < req.period.start || first > req.period.end || first < self.start {
                continue;
            }
            let Some(line) = line(spike.line) else {
                continue;
            };
            let Some(account) = account_of(line) else {
                continue;
            };
            let days = DateRange {
                start: first,
                end: last.min(self.today),
            };
            let (mut actual, mut expected, mut max_impact) = (0i64, 0i64, 0i64);
            for day in days.days() {
                let (a, e) = (
                    self.line_cents(spike.line, day),
                    self.expected_cents(spike.line, day),
                );
                actual += a;
                expected += e;
                max_impact = max_impact.max(a - e);
            }
            let total_impact = dollars(actual - expected);
            if req.min_total_impact.is_some_and(|min| total_impact < min) {
                continue;
            }
            // One root cause, which contributes the whole impact.
            anomalies.push(Anomaly {
                id: spike.id.to_owned(),
                start: first,
                end: (last < self.today).then_some(last),
                dimension_value: Some(line.service.to_owned()),
                max_impact: Some(dollars(max_impact)),
                total_impact: Some(total_impact),
                total_impact_percentage: (expected > 0)
                    .then(|| round2((actual - expected) as f64 / expected as f64 * 100.0)),
                total_actual_spend: Some(dollars(actual)),
                total_expected_spend: Some(dollars(expected)),
                attributable_impact: Some(total_impact),
                root_causes: vec![RootCause {
                    service: Some(line.service.to_owned()),
                    region: Some(line.region.to_owned()),
                    linked_account: Some(account.id.to_owned()),
                    linked_account_name: Some(account.name.to_owned()),
                    usage_type: Some(line.usage.to_owned()),
                    contribution: Some(total_impact),
                }],
                monitor_arn: MONITOR_ARN.to_owned(),
            });
        }
        anomalies.sort_by_key(|a| std::cmp::Reverse(a.start));
        Ok(AnomaliesResponse {
            anomalies,
            truncated: false,
        })
    }
}

// ---- Savings Plans and reservations -------------------------------------------------------------

impl Org {
    fn savings_plan_active(&self, day: Date) -> bool {
        day >= self.start.add_days(SAVINGS_PLAN_START_OFFSET) && day <= self.today
    }

    /// The commitment, the commitment used, and the on-demand spend it covered on `day`, in
    /// dollars, over the eligible rows selected.
    fn savings_plan_day(&self, day: Date) -> (f64, f64, f64) {
        if !self.savings_plan_active(day) {
            return (0.0, 0.0, 0.0);
        }
        let commitment = SAVINGS_PLAN_HOURLY * 24.0;
        let eligible: i64 = LINES
            .iter()
            .enumerate()
            .filter(|(_, l)| l.savings_plan_eligible)
            .map(|(i, _)| self.line_cents(i, day))
            .sum();
        let used = (dollars(eligible) * SAVINGS_PLAN_RATE).min(commitment);
        (commitment, used, used / SAVINGS_PLAN_RATE)
    }

    /// The Savings Plan belongs to the management account: a filter is checked against it.
    fn savings_plan_visible(filter: Option<&Expression>) -> bool {
        fn owner_matches(expression: &Expression) -> bool {
            match expression {
                Expression::And(items) => items.iter().all(owner_matches),
                Expression::Or(items) => items.iter().any(owner_matches),
                Expression::Not(inner) => !owner_matches(inner),
                Expression::Dimension {
                    key: Dimension::LinkedAccount,
                    values,
                } => values
                    .iter()
                    .any(|v| ACCOUNTS.first().is_some_and(|a| a.id == v)),
                Expression::Dimension {
                    key: Dimension::Region,
                    values,
                } => values.iter().any(|v| v == "us-east-1"),
                Expression::Dimension { .. } | Expression::Tag { .. } => true,
            }
        }
        filter.is_none_or(owner_matches)
    }

    fn savings_plans_utilization(
        &self,
        req: &CommitmentRequest,
    ) -> Result<SavingsPlansUtilizationResponse, CostError> {
        if !req.group_by.is_empty() {
            return Err(bad("Savings Plans utilization cannot be grouped"));
        }
        let visible = Self::savings_plan_visible(req.filter.as_ref());
        let utilization = |range: &DateRange| {
            let (mut commitment, mut used, mut covered) = (0.0, 0.0, 0.0);
            if visible {
                for day in range.days() {
                    let (c, u, cov) = self.savings_plan_day(day);
                    commitment += c;
                    used += u;
                    covered += cov;
                }
            }
            SavingsPlansUtilization {
                total_commitment: round2(commitment),
                used_commitment: round2(used),
                unused_commitment: round2(commitment - used),
                utilization_percentage: if commitment > 0.0 {
                    round2(used / commitment * 100.0)
                } else {
                    0.0
                },
                net_savings: round2(covered - commitment),
                on_demand_cost_equivalent: round2(covered),
            }
        };
        let periods = req
            .period
            .split(req.granularity)
            .iter()
            .map(|r| SavingsPlansUtilizationPeriod {
                start: r.start,
                end: r.end,
                utilization: utilization(r),
            })
            .collect();
        Ok(SavingsPlansUtilizationResponse {
            total: utilization(&req.period),
            periods,
        })
    }

    fn savings_plans_coverage(
        &self,
        req: &CommitmentRequest,
    ) -> Result<SavingsPlansCoverageResponse, CostError> {
        if req.group_by.len() > 1 {
            return Err(bad("Savings Plans coverage takes at most one group-by key"));
        }
        let rows: Vec<Row> = Self::selected(req.filter.as_ref(), false)?
            .into_iter()
            .filter(|r| line(r.line).is_some_and(|l| l.savings_plan_eligible))
            .collect();
        let all_eligible: Vec<Row> = Self::rows(false)
            .into_iter()
            .filter(|r| line(r.line).is_some_and(|l| l.savings_plan_eligible))
            .collect();
        let mut periods = Vec::new();
        for bucket in req.period.split(req.granularity) {
            let mut groups: BTreeMap<Vec<String>, (f64, f64)> = BTreeMap::new();
            for day in bucket.days() {
                let (_, _, covered) = self.savings_plan_day(day);
                let all: i64 = all_eligible.iter().map(|r| self.row_cents(*r, day)).sum();
                let share = if all > 0 { covered / dollars(all) } else { 0.0 };
                for row in &rows {
                    let keys = req
                        .group_by
                        .iter()
                        .map(|k| Self::group_value(*row, k))
                        .collect::<Result<Vec<_>, _>>()?;
                    let spend = dollars(self.row_cents(*row, day));
                    let entry = groups.entry(keys).or_default();
                    entry.0 += spend;
                    entry.1 += spend * share;
                }
            }
            for (keys, (total, covered)) in groups {
                let attributes = req
                    .group_by
                    .iter()
                    .zip(keys)
                    .map(|(k, v)| (group_label(k), v))
                    .collect();
                periods.push(SavingsPlansCoveragePeriod {
                    start: bucket.start,
                    end: bucket.end,
                    attributes,
                    coverage: SavingsPlansCoverage {
                        spend_covered_by_savings_plans: round2(covered),
                        on_demand_cost: round2(total - covered),
                        total_cost: round2(total),
                        coverage_percentage: if total > 0.0 {
                            round2(covered / total * 100.0)
                        } else {
                            0.0
                        },
                    },
                });
            }
        }
        Ok(SavingsPlansCoverageResponse {
            periods,
            truncated: false,
        })
    }

    /// Running hours of an instance line on `day`.
    fn running_hours(&self, index: usize, day: Date) -> f64 {
        line(index).map_or(0.0, |l| dollars(self.line_cents(index, day)) / l.unit_price)
    }

    fn reservation_utilization(
        &self,
        req: &CommitmentRequest,
    ) -> Result<ReservationUtilizationResponse, CostError> {
        if !req.group_by.is_empty() {
            return Err(bad(
                "the sample organisation reports reservation utilization ungrouped",
            ));
        }
        let reservations: Vec<&Reservation> = RESERVATIONS
            .iter()
            .filter(|r| {
                req.filter.as_ref().is_none_or(|f| {
                    Self::matches(
                        Row {
                            line: r.line,
                            resource: None,
                        },
                        f,
                    )
                    .unwrap_or(false)
                })
            })
            .collect();
        let utilization = |range: &DateRange| {
            let (mut purchased, mut used, mut savings, mut fee) = (0.0, 0.0, 0.0, 0.0);
            for day in range
                .days()
                .filter(|d| *d >= self.start && *d <= self.today)
            {
                for r in &reservations {
                    let reserved = r.instances * 24.0;
                    let running = self.running_hours(r.line, day);
                    let u = reserved.min(running);
                    let on_demand = line(r.line).map_or(0.0, |l| l.unit_price);
                    purchased += reserved;
                    used += u;
                    fee += reserved * r.effective_hourly;
                    savings += u * on_demand - reserved * r.effective_hourly;
                }
            }
            ReservationUtilization {
                utilization_percentage: if purchased > 0.0 {
                    round2(used / purchased * 100.0)
                } else {
                    0.0
                },
                purchased_hours: round2(purchased),
                used_hours: round2(used),
                unused_hours: round2(purchased - used),
                net_savings: round2(savings),
                amortized_fee: round2(fee),
            }
        };
        let periods = req
            .period
            .split(req.granularity)
            .iter()
            .map(|r| ReservationUtilizationPeriod {
                start: r.start,
                end: r.end,
                utilization: utilization(r),
            })
            .collect();
        Ok(ReservationUtilizationResponse {
            total: utilization(&req.period),
            periods,
            truncated: false,
        })
    }

    fn reservation_coverage(
        &self,
        req: &CommitmentRequest,
    ) -> Result<ReservationCoverageResponse, CostError> {
        if req.group_by.len() > 1 {
            return Err(bad("reservation coverage takes at most one group-by key"));
        }
        let rows: Vec<Row> = Self::selected(req.filter.as_ref(), false)?
            .into_iter()
            .filter(|r| {
                line(r.line).is_some_and(|l| {
                    l.instance_type.is_some() && (l.service == EC2 || l.service == RDS)
                })
            })
            .collect();
        let coverage = |range: &DateRange| -> Result<
            (ReservationCoverage, Vec<ReservationCoverageGroup>),
            CostError,
        > {
            let mut groups: BTreeMap<Vec<String>, (f64, f64, f64)> = BTreeMap::new();
            for row in &rows {
                let keys = req
                    .group_by
                    .iter()
                    .map(|k| Self::group_value(*row, k))
                    .collect::<Result<Vec<_>, _>>()?;
                let reserved_instances: f64 = RESERVATIONS
                    .iter()
                    .filter(|r| r.line == row.line)
                    .map(|r| r.instances)
                    .sum();
                let price = line(row.line).map_or(0.0, |l| l.unit_price);
                let entry = groups.entry(keys).or_default();
                for day in range.days() {
                    let running = self.running_hours(row.line, day);
                    let covered = running.min(reserved_instances * 24.0);
                    entry.0 += running;
                    entry.1 += covered;
                    entry.2 += (running - covered) * price;
                }
            }
            let make = |(running, covered, cost): (f64, f64, f64)| ReservationCoverage {
                coverage_hours_percentage: if running > 0.0 {
                    round2(covered / running * 100.0)
                } else {
                    0.0
                },
                reserved_hours: round2(covered),
                on_demand_hours: round2(running - covered),
                total_running_hours: round2(running),
                on_demand_cost: round2(cost),
            };
            let sum = groups
                .values()
                .fold((0.0, 0.0, 0.0), |a, g| (a.0 + g.0, a.1 + g.1, a.2 + g.2));
            let list = if req.group_by.is_empty() {
                Vec::new()
            } else {
                groups
                    .into_iter()
                    .map(|(keys, g)| ReservationCoverageGroup {
                        attributes: req
                            .group_by
                            .iter()
                            .zip(keys)
                            .map(|(k, v)| (group_label(k), v))
                            .collect(),
                        coverage: make(g),
                    })
                    .collect()
            };
            Ok((make(sum), list))
        };
        let mut periods = Vec::new();
        for bucket in req.period.split(req.granularity) {
            let (total, groups) = coverage(&bucket)?;
            periods.push(ReservationCoveragePeriod {
                start: bucket.start,
                end: bucket.end,
                total,
                groups,
            });
        }
        let (total, _) = coverage(&req.period)?;
        Ok(ReservationCoverageResponse {
            total,
            periods,
            truncated: false,
        })
    }
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
