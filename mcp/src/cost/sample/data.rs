//! The sample organisation's fixed data: its accounts and services, the anomalies' spikes, the
//! Savings Plan and the reservations.

pub(super) const SEED: u64 = 0x5eed_c057_e7a1_0001;

pub(super) struct Account {
    pub(super) id: &'static str,
    pub(super) name: &'static str,
    pub(super) team: Option<&'static str>,
    pub(super) env: Option<&'static str>,
}

pub(super) const ACCOUNTS: [Account; 4] = [
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

pub(super) const EC2: &str = "Amazon Elastic Compute Cloud - Compute";
pub(super) const EC2_OTHER: &str = "EC2 - Other";
pub(super) const RDS: &str = "Amazon Relational Database Service";
pub(super) const S3: &str = "Amazon Simple Storage Service";
pub(super) const LAMBDA: &str = "AWS Lambda";
pub(super) const CLOUDFRONT: &str = "Amazon CloudFront";
pub(super) const DYNAMODB: &str = "Amazon DynamoDB";
pub(super) const CLOUDWATCH: &str = "AmazonCloudWatch";
pub(super) const SAGEMAKER: &str = "Amazon SageMaker";
pub(super) const CLOUDTRAIL: &str = "AWS CloudTrail";

/// A spike on one line: `days_ago` of the first day, how many days, and the cost multiplier.
pub(super) struct Spike {
    pub(super) id: &'static str,
    pub(super) line: usize,
    pub(super) days_ago: i64,
    pub(super) days: i64,
    pub(super) factor: f64,
}

pub(super) const SPIKES: [Spike; 3] = [
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

pub(super) const MONITOR_ARN: &str = "arn:aws:ce::111111111111:anomalymonitor/sample-services";

/// The Compute Savings Plan: dollars per hour, owned by the management account, started this
/// many days after the data starts.
pub(super) const SAVINGS_PLAN_HOURLY: f64 = 4.25;
pub(super) const SAVINGS_PLAN_RATE: f64 = 0.72;
pub(super) const SAVINGS_PLAN_START_OFFSET: i64 = 120;

/// A reservation: the line it applies to, instances, and the effective hourly rate.
pub(super) struct Reservation {
    pub(super) line: usize,
    pub(super) instances: f64,
    pub(super) effective_hourly: f64,
}

pub(super) const RESERVATIONS: [Reservation; 3] = [
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
