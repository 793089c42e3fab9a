//! The Cost Explorer adapter (`cost::aws`) end to end through the AWS SDK: GetCostAndUsage
//! against moto (results seeded through moto's static API), and the operations moto lacks
//! through the SDK's replay client with response bodies shaped as the Cost Explorer API
//! reference documents them; request bodies, pagination, the page bound, retries and error
//! mapping are checked on the wire.

// Test helpers outside #[test] functions may panic too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_costexplorer::config::{
    AsyncSleep, BehaviorVersion, Credentials, Region, SharedAsyncSleep, Sleep,
};
use aws_smithy_http_client::test_util::{ReplayEvent, StaticReplayClient};
use aws_smithy_types::body::SdkBody;
use mcp::access::Visibility;
use mcp::cost::aws::{AwsCostSource, MAX_ATTEMPTS, MAX_PAGES};
use mcp::cost::{
    Amount, AnomaliesRequest, CostAndUsageRequest, CostError, CostGroup, CostSource, Date,
    DateRange, Dimension, DimensionValuesRequest, Expression, ForecastRequest, Granularity,
    GroupKey, Metric, TagsRequest,
};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const TARGET_PREFIX: &str = "AWSInsightsIndexService";

fn day(text: &str) -> Date {
    Date::parse(text).unwrap()
}

fn range(start: &str, end: &str) -> DateRange {
    DateRange::new(day(start), day(end)).unwrap()
}

fn base_config() -> aws_sdk_costexplorer::config::Builder {
    aws_sdk_costexplorer::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
}

/// A sleep that returns at once, so retry backoffs cost the tests no time.
#[derive(Debug, Clone, Default)]
struct InstantSleep;

impl AsyncSleep for InstantSleep {
    fn sleep(&self, _duration: Duration) -> Sleep {
        Sleep::new(async {})
    }
}

struct Replay {
    source: AwsCostSource,
    client: StaticReplayClient,
}

impl Replay {
    /// The adapter with its production policy (retries) over canned `(status, body)` answers.
    fn new(answers: Vec<(u16, Value)>) -> Self {
        let events = answers
            .into_iter()
            .map(|(status, body)| {
                let request = http::Request::builder()
                    .method("POST")
                    .uri("https://ce.us-east-1.amazonaws.com/")
                    .body(SdkBody::empty())
                    .unwrap();
                let response = http::Response::builder()
                    .status(status)
                    .header("content-type", "application/x-amz-json-1.1")
                    .body(SdkBody::from(body.to_string()))
                    .unwrap();
                ReplayEvent::new(request, response)
            })
            .collect();
        let client = StaticReplayClient::new(events);
        let source = AwsCostSource::from_builder(
            base_config()
                .http_client(client.clone())
                .sleep_impl(SharedAsyncSleep::new(InstantSleep)),
        );
        Self { source, client }
    }

    /// `(operation, JSON body)` of every request sent.
    fn sent(&self) -> Vec<(String, Value)> {
        self.client
            .actual_requests()
            .map(|r| {
                let target = r.headers().get("x-amz-target").unwrap_or_default();
                let operation = target
                    .strip_prefix(&format!("{TARGET_PREFIX}."))
                    .unwrap_or_else(|| panic!("unexpected target {target:?}"))
                    .to_owned();
                let body = serde_json::from_slice(r.body().bytes().unwrap()).unwrap();
                (operation, body)
            })
            .collect()
    }

    fn operations(&self) -> Vec<String> {
        self.sent().into_iter().map(|(op, _)| op).collect()
    }
}

fn error_body(code: &str, message: &str) -> Value {
    json!({ "__type": code, "Message": message })
}

fn amount(value: f64, unit: &str) -> Amount {
    Amount {
        amount: value,
        unit: unit.into(),
    }
}

// ---- GetCostAndUsage against moto ---------------------------------------------------------------

fn moto_endpoint() -> String {
    let Ok(endpoint) = std::env::var("AWS_ENDPOINT_URL") else {
        panic!(
            "AWS_ENDPOINT_URL is not set: run the tests through tests/run.sh, which starts moto"
        );
    };
    endpoint
}

/// POSTs `body` as JSON to moto (plain HTTP/1.1 on loopback) and returns the status code.
async fn moto_post(endpoint: &str, path: &str, body: &Value) -> u16 {
    let url = url::Url::parse(endpoint).unwrap();
    let host = url.host_str().unwrap().to_owned();
    let port = url.port_or_known_default().unwrap();
    let mut stream = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .unwrap();
    let payload = body.to_string();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{payload}",
        payload.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    let status = answer.split_whitespace().nth(1).unwrap();
    status.parse().unwrap()
}

fn metric_value(amount: &str, unit: &str) -> Value {
    json!({ "Amount": amount, "Unit": unit })
}

#[tokio::test]
async fn cost_and_usage_against_moto_converts_periods_groups_and_merges_pages() {
    let endpoint = moto_endpoint();
    // moto answers each distinct request body with the next seeded result (and the same one
    // again for the same body): a filter unique to this run keeps earlier runs out of the way.
    let run = format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let group = |service: &str, account: &str, cost: &str, usage: &str| {
        json!({
            "Keys": [service, account],
            "Metrics": {
                "UnblendedCost": metric_value(cost, "USD"),
                "UsageQuantity": metric_value(usage, "N/A"),
            }
        })
    };
    let page_one = json!({
        "GroupDefinitions": [
            { "Type": "DIMENSION", "Key": "SERVICE" },
            { "Type": "DIMENSION", "Key": "LINKED_ACCOUNT" }
        ],
        "ResultsByTime": [
            {
                "TimePeriod": { "Start": "2025-01-01", "End": "2025-02-01" },
                "Total": {},
                "Groups": [group("AWS Lambda", "222222222222", "12.3456", "1000")],
                "Estimated": false
            },
            {
                "TimePeriod": { "Start": "2025-02-01", "End": "2025-03-01" },
                "Total": {},
                "Groups": [group("AWS Lambda", "222222222222", "7.5", "600.25")],
                "Estimated": true
            }
        ],
        "DimensionValueAttributes": [],
        "NextPageToken": format!("page-2-{run}")
    });
    let page_two = json!({
        "GroupDefinitions": [
            { "Type": "DIMENSION", "Key": "SERVICE" },
            { "Type": "DIMENSION", "Key": "LINKED_ACCOUNT" }
        ],
        "ResultsByTime": [
            {
                "TimePeriod": { "Start": "2025-01-01", "End": "2025-02-01" },
                "Total": {},
                "Groups": [group("Amazon Simple Storage Service", "222222222222", "0.0000012", "3")],
                "Estimated": false
            },
            {
                "TimePeriod": { "Start": "2025-02-01", "End": "2025-03-01" },
                "Total": {},
                "Groups": [group("Amazon Simple Storage Service", "222222222222", "1", "4")],
                "Estimated": true
            }
        ],
        "DimensionValueAttributes": []
    });
    let status = moto_post(
        &endpoint,
        "/moto-api/static/ce/cost-and-usage-results",
        &json!({ "results": [page_one, page_two] }),
    )
    .await;
    assert_eq!(status, 201, "seeding moto's cost and usage results");

    let source = AwsCostSource::from_builder(base_config().endpoint_url(&endpoint));
    let request = CostAndUsageRequest {
        period: range("2025-01-01", "2025-02-28"),
        granularity: Granularity::Monthly,
        metrics: vec![Metric::UnblendedCost, Metric::UsageQuantity],
        group_by: vec![
            GroupKey::Dimension(Dimension::Service),
            GroupKey::Dimension(Dimension::LinkedAccount),
        ],
        filter: Some(Expression::Tag {
            key: "test-run".into(),
            values: vec![run.clone()],
        }),
    };
    let answer = source.cost_and_usage(&request).await.unwrap();

    assert!(!answer.truncated);
    assert_eq!(answer.periods.len(), 2, "{answer:?}");
    let january = &answer.periods[0];
    assert_eq!(
        (january.start, january.end),
        (day("2025-01-01"), day("2025-01-31"))
    );
    assert!(!january.estimated);
    assert!(january.total.is_empty());
    let metrics = |cost: f64, usage: f64| {
        BTreeMap::from([
            ("UnblendedCost".to_owned(), amount(cost, "USD")),
            ("UsageQuantity".to_owned(), amount(usage, "N/A")),
        ])
    };
    assert_eq!(
        january.groups,
        vec![
            CostGroup {
                keys: vec!["AWS Lambda".into(), "222222222222".into()],
                metrics: metrics(12.3456, 1000.0),
            },
            CostGroup {
                keys: vec![
                    "Amazon Simple Storage Service".into(),
                    "222222222222".into()
                ],
                metrics: metrics(0.0000012, 3.0),
            },
        ],
        "the second page's groups are merged into the same period"
    );
    let february = &answer.periods[1];
    assert_eq!(
        (february.start, february.end),
        (day("2025-02-01"), day("2025-02-28"))
    );
    assert!(february.estimated);
    assert_eq!(february.groups.len(), 2);
    assert_eq!(february.groups[0].metrics, metrics(7.5, 600.25));
    assert_eq!(february.groups[1].metrics, metrics(1.0, 4.0));
}

// ---- Requests on the wire ---------------------------------------------------------------------

#[tokio::test]
async fn cost_and_usage_sends_an_exclusive_end_and_the_linked_account_scope() {
    let replay = Replay::new(vec![
        (
            200,
            json!({
                "GroupDefinitions": [{ "Type": "TAG", "Key": "team" }],
                "ResultsByTime": [{
                    "TimePeriod": { "Start": "2025-03-30", "End": "2025-03-31" },
                    "Total": {},
                    "Groups": [
                        { "Keys": ["team$web"], "Metrics": { "AmortizedCost": metric_value("2.5", "USD") } },
                        { "Keys": ["team$"], "Metrics": { "AmortizedCost": metric_value("-0.25", "USD") } }
                    ],
                    "Estimated": true
                }],
                "DimensionValueAttributes": []
            }),
        ),
        (
            200,
            json!({
                "GroupDefinitions": [],
                "ResultsByTime": [{
                    "TimePeriod": { "Start": "2025-03-31", "End": "2025-04-01" },
                    "Total": { "AmortizedCost": metric_value("3", "USD") },
                    "Groups": [],
                    "Estimated": true
                }],
                "DimensionValueAttributes": []
            }),
        ),
    ]);
    let scope = Visibility::Accounts(["222222222222".to_owned(), "333333333333".to_owned()].into());
    let service = Expression::Dimension {
        key: Dimension::Service,
        values: vec!["AWS Lambda".into()],
    };
    let mut request = CostAndUsageRequest {
        period: range("2025-03-30", "2025-03-30"),
        granularity: Granularity::Daily,
        metrics: vec![Metric::AmortizedCost],
        group_by: vec![GroupKey::Tag("team".into())],
        filter: scope.restrict(Some(service)).unwrap(),
    };
    let grouped = replay.source.cost_and_usage(&request).await.unwrap();
    request.group_by.clear();
    request.period = range("2025-03-31", "2025-03-31");
    request.filter = scope.restrict(None).unwrap();
    let total = replay.source.cost_and_usage(&request).await.unwrap();

    let sent = replay.sent();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].0, "GetCostAndUsage");
    assert_eq!(
        sent[0].1,
        json!({
            "TimePeriod": { "Start": "2025-03-30", "End": "2025-03-31" },
            "Granularity": "DAILY",
            "Metrics": ["AmortizedCost"],
            "GroupBy": [{ "Type": "TAG", "Key": "team" }],
            "Filter": { "And": [
                { "Dimensions": { "Key": "SERVICE", "Values": ["AWS Lambda"] } },
                { "Dimensions": { "Key": "LINKED_ACCOUNT", "Values": ["222222222222", "333333333333"] } }
            ] }
        })
    );
    assert_eq!(
        sent[1].1,
        json!({
            "TimePeriod": { "Start": "2025-03-31", "End": "2025-04-01" },
            "Granularity": "DAILY",
            "Metrics": ["AmortizedCost"],
            "Filter": { "Dimensions": { "Key": "LINKED_ACCOUNT", "Values": ["222222222222", "333333333333"] } }
        }),
        "no GroupBy when ungrouped; the scope alone is the filter"
    );

    let period = &grouped.periods[0];
    assert_eq!(
        (period.start, period.end),
        (day("2025-03-30"), day("2025-03-30"))
    );
    assert_eq!(period.groups[0].keys, vec!["team$web".to_owned()]);
    assert_eq!(
        period.groups[1].metrics["AmortizedCost"],
        amount(-0.25, "USD")
    );
    assert_eq!(
        total.periods[0].total,
        BTreeMap::from([("AmortizedCost".to_owned(), amount(3.0, "USD"))])
    );
    assert_eq!(
        (total.periods[0].start, total.periods[0].end),
        (day("2025-03-31"), day("2025-03-31"))
    );
}

#[tokio::test]
async fn a_single_operand_and_is_sent_as_that_operand() {
    let replay = Replay::new(vec![(
        200,
        json!({ "GroupDefinitions": [], "ResultsByTime": [], "DimensionValueAttributes": [] }),
    )]);
    let only = Expression::Dimension {
        key: Dimension::Region,
        values: vec!["eu-west-1".into()],
    };
    let request = CostAndUsageRequest {
        period: range("2025-01-01", "2025-01-31"),
        granularity: Granularity::Monthly,
        metrics: vec![Metric::UnblendedCost],
        group_by: vec![],
        filter: Some(Expression::And(vec![Expression::Or(vec![only])])),
    };
    let answer = replay.source.cost_and_usage(&request).await.unwrap();
    assert!(answer.periods.is_empty());
    assert_eq!(
        replay.sent()[0].1["Filter"],
        json!({ "Dimensions": { "Key": "REGION", "Values": ["eu-west-1"] } }),
        "Cost Explorer rejects And/Or with fewer than two operands"
    );
}

// ---- GetCostForecast ----------------------------------------------------------------------------

#[tokio::test]
async fn cost_forecast_converts_periods_and_total() {
    let replay = Replay::new(vec![(
        200,
        json!({
            "Total": { "Amount": "310.2519", "Unit": "USD" },
            "ForecastResultsByTime": [
                {
                    "TimePeriod": { "Start": "2025-03-10", "End": "2025-04-01" },
                    "MeanValue": "210.1",
                    "PredictionIntervalLowerBound": "190.55",
                    "PredictionIntervalUpperBound": "229.65"
                },
                {
                    "TimePeriod": { "Start": "2025-04-01", "End": "2025-04-16" },
                    "MeanValue": "100.1519",
                    "PredictionIntervalLowerBound": "80",
                    "PredictionIntervalUpperBound": "120.3"
                }
            ]
        }),
    )]);
    let request = ForecastRequest {
        period: range("2025-03-10", "2025-04-15"),
        granularity: Granularity::Monthly,
        metric: Metric::NetAmortizedCost,
        prediction_interval_level: 95,
        filter: Some(Expression::Dimension {
            key: Dimension::LinkedAccount,
            values: vec!["222222222222".into()],
        }),
    };
    let answer = replay.source.cost_forecast(&request).await.unwrap();

    let sent = replay.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, "GetCostForecast");
    assert_eq!(
        sent[0].1,
        json!({
            "TimePeriod": { "Start": "2025-03-10", "End": "2025-04-16" },
            "Metric": "NET_AMORTIZED_COST",
            "Granularity": "MONTHLY",
            "PredictionIntervalLevel": 95,
            "Filter": { "Dimensions": { "Key": "LINKED_ACCOUNT", "Values": ["222222222222"] } }
        })
    );
    assert_eq!(answer.total, amount(310.2519, "USD"));
    assert_eq!(answer.periods.len(), 2);
    let march = &answer.periods[0];
    assert_eq!(
        (march.start, march.end),
        (day("2025-03-10"), day("2025-03-31"))
    );
    assert_eq!(
        (march.mean, march.lower_bound, march.upper_bound),
        (210.1, 190.55, 229.65)
    );
    let april = &answer.periods[1];
    assert_eq!(
        (april.start, april.end),
        (day("2025-04-01"), day("2025-04-15"))
    );
    assert_eq!(
        (april.mean, april.lower_bound, april.upper_bound),
        (100.1519, 80.0, 120.3)
    );
}

// ---- GetDimensionValues -------------------------------------------------------------------------

fn dimension_page(values: &[(&str, &str)], token: Option<&str>, total: usize) -> Value {
    let mut page = json!({
        "DimensionValues": values
            .iter()
            .map(|(value, name)| json!({ "Value": value, "Attributes": { "description": name } }))
            .collect::<Vec<_>>(),
        "ReturnSize": values.len(),
        "TotalSize": total
    });
    if let Some(token) = token {
        page["NextPageToken"] = json!(token);
    }
    page
}

#[tokio::test]
async fn dimension_values_follow_next_page_tokens_and_merge() {
    let replay = Replay::new(vec![
        (
            200,
            dimension_page(
                &[("111111111111", "payer"), ("222222222222", "web")],
                Some("AQ-page-2"),
                3,
            ),
        ),
        (
            200,
            dimension_page(&[("333333333333", "data")], Some(""), 3),
        ),
    ]);
    let request = DimensionValuesRequest {
        period: range("2025-01-01", "2025-01-31"),
        dimension: Dimension::LinkedAccount,
        search: Some("2".into()),
        filter: None,
    };
    let answer = replay.source.dimension_values(&request).await.unwrap();

    assert!(!answer.truncated, "an empty NextPageToken ends the listing");
    assert_eq!(answer.dimension, Dimension::LinkedAccount);
    let values: Vec<(&str, &str)> = answer
        .values
        .iter()
        .map(|v| (v.value.as_str(), v.attributes["description"].as_str()))
        .collect();
    assert_eq!(
        values,
        vec![
            ("111111111111", "payer"),
            ("222222222222", "web"),
            ("333333333333", "data")
        ]
    );
    let sent = replay.sent();
    assert_eq!(replay.operations(), vec!["GetDimensionValues"; 2]);
    let first = json!({
        "TimePeriod": { "Start": "2025-01-01", "End": "2025-02-01" },
        "Dimension": "LINKED_ACCOUNT",
        "Context": "COST_AND_USAGE",
        "SearchString": "2"
    });
    assert_eq!(sent[0].1, first);
    let mut second = first;
    second["NextPageToken"] = json!("AQ-page-2");
    assert_eq!(sent[1].1, second);
}

#[tokio::test]
async fn dimension_values_stop_at_the_page_bound_and_say_so() {
    let pages = (0..MAX_PAGES)
        .map(|i| {
            let value = format!("us-east-{i}");
            (
                200,
                dimension_page(&[(&value, "")], Some(&format!("next-{i}")), 1000),
            )
        })
        .collect();
    let replay = Replay::new(pages);
    let request = DimensionValuesRequest {
        period: range("2025-01-01", "2025-01-31"),
        dimension: Dimension::Region,
        search: None,
        filter: None,
    };
    let answer = replay.source.dimension_values(&request).await.unwrap();
    assert!(answer.truncated);
    assert_eq!(answer.values.len(), MAX_PAGES);
    assert_eq!(replay.sent().len(), MAX_PAGES, "no request past the bound");
    assert_eq!(
        replay.sent()[MAX_PAGES - 1].1["NextPageToken"],
        json!(format!("next-{}", MAX_PAGES - 2))
    );
}

// ---- GetTags ------------------------------------------------------------------------------------

#[tokio::test]
async fn tags_list_keys_or_values_across_pages() {
    let replay = Replay::new(vec![
        (
            200,
            json!({ "Tags": ["team", "env"], "ReturnSize": 2, "TotalSize": 3, "NextPageToken": "t2" }),
        ),
        (
            200,
            json!({ "Tags": ["owner"], "ReturnSize": 1, "TotalSize": 3 }),
        ),
        (
            200,
            json!({ "Tags": ["web", ""], "ReturnSize": 2, "TotalSize": 2 }),
        ),
    ]);
    let mut request = TagsRequest {
        period: range("2025-02-01", "2025-02-28"),
        tag_key: None,
        search: None,
        filter: None,
    };
    let keys = replay.source.tags(&request).await.unwrap();
    assert_eq!(keys.tag_key, None);
    assert_eq!(keys.tags, vec!["team", "env", "owner"]);
    assert!(!keys.truncated);

    request.tag_key = Some("team".into());
    request.filter = Some(Expression::Dimension {
        key: Dimension::LinkedAccount,
        values: vec!["222222222222".into()],
    });
    let values = replay.source.tags(&request).await.unwrap();
    assert_eq!(values.tag_key.as_deref(), Some("team"));
    assert_eq!(values.tags, vec!["web", ""], "\"\" is untagged cost");

    let sent = replay.sent();
    assert_eq!(replay.operations(), vec!["GetTags"; 3]);
    let period = json!({ "Start": "2025-02-01", "End": "2025-03-01" });
    assert_eq!(sent[0].1, json!({ "TimePeriod": period }));
    assert_eq!(
        sent[1].1,
        json!({ "TimePeriod": period, "NextPageToken": "t2" })
    );
    assert_eq!(
        sent[2].1,
        json!({
            "TimePeriod": period,
            "TagKey": "team",
            "Filter": { "Dimensions": { "Key": "LINKED_ACCOUNT", "Values": ["222222222222"] } }
        })
    );
}

// ---- GetAnomalies -------------------------------------------------------------------------------

#[tokio::test]
async fn anomalies_convert_impact_dates_and_root_causes() {
    let monitor = "arn:aws:ce::111111111111:anomalymonitor/0d7d3a62-5bd2-4e6c-9e5f-2f6b1f0e4c11";
    let replay = Replay::new(vec![
        (
            200,
            json!({
                "Anomalies": [{
                    "AnomalyId": "a-1",
                    "AnomalyStartDate": "2025-03-02T00:00:00Z",
                    "AnomalyEndDate": "2025-03-04T00:00:00Z",
                    "DimensionValue": "Amazon Elastic Compute Cloud - Compute",
                    "RootCauses": [{
                        "Service": "Amazon Elastic Compute Cloud - Compute",
                        "Region": "us-east-1",
                        "LinkedAccount": "222222222222",
                        "LinkedAccountName": "web",
                        "UsageType": "USE1-BoxUsage:m5.large",
                        "Impact": { "Contribution": 140.5 }
                    }],
                    "AnomalyScore": { "MaxScore": 0.91, "CurrentScore": 0.4 },
                    "Impact": {
                        "MaxImpact": 80.25,
                        "TotalImpact": 140.5,
                        "TotalImpactPercentage": 212.3,
                        "TotalActualSpend": 206.7,
                        "TotalExpectedSpend": 66.2
                    },
                    "MonitorArn": monitor,
                    "Feedback": "NO"
                }],
                "NextPageToken": "an-2"
            }),
        ),
        (
            200,
            json!({
                "Anomalies": [{
                    "AnomalyId": "a-2",
                    "AnomalyStartDate": "2025-03-09",
                    "AnomalyScore": { "MaxScore": 0.5, "CurrentScore": 0.5 },
                    "Impact": { "MaxImpact": 12.0, "TotalImpact": 12.0 },
                    "MonitorArn": monitor
                }]
            }),
        ),
    ]);
    let request = AnomaliesRequest {
        period: range("2025-03-01", "2025-03-10"),
        monitor_arn: Some(monitor.into()),
        min_total_impact: Some(10.0),
    };
    let answer = replay.source.anomalies(&request).await.unwrap();

    let sent = replay.sent();
    assert_eq!(replay.operations(), vec!["GetAnomalies"; 2]);
    let first = json!({
        "MonitorArn": monitor,
        "DateInterval": { "StartDate": "2025-03-01", "EndDate": "2025-03-10" },
        "TotalImpact": { "NumericOperator": "GREATER_THAN_OR_EQUAL", "StartValue": 10.0 }
    });
    assert_eq!(
        sent[0].1, first,
        "the anomaly interval's end date is inclusive"
    );
    let mut second = first;
    second["NextPageToken"] = json!("an-2");
    assert_eq!(sent[1].1, second);

    assert!(!answer.truncated);
    assert_eq!(answer.anomalies.len(), 2);
    let a = &answer.anomalies[0];
    assert_eq!(a.id, "a-1");
    assert_eq!(
        (a.start, a.end),
        (day("2025-03-02"), Some(day("2025-03-04")))
    );
    assert_eq!(
        a.dimension_value.as_deref(),
        Some("Amazon Elastic Compute Cloud - Compute")
    );
    assert_eq!((a.max_impact, a.total_impact), (Some(80.25), Some(140.5)));
    assert_eq!(a.total_impact_percentage, Some(212.3));
    assert_eq!(a.attributable_impact, Some(140.5));
    assert_eq!(
        (a.total_actual_spend, a.total_expected_spend),
        (Some(206.7), Some(66.2))
    );
    assert_eq!(a.monitor_arn, monitor);
    assert_eq!(a.root_causes.len(), 1);
    let cause = &a.root_causes[0];
    assert_eq!(cause.linked_account.as_deref(), Some("222222222222"));
    assert_eq!(cause.linked_account_name.as_deref(), Some("web"));
    assert_eq!(cause.usage_type.as_deref(), Some("USE1-BoxUsage:m5.large"));
    assert_eq!(cause.region.as_deref(), Some("us-east-1"));
    assert_eq!(cause.contribution, Some(140.5));
    let ongoing = &answer.anomalies[1];
    assert_eq!((ongoing.start, ongoing.end), (day("2025-03-09"), None));
    assert_eq!(ongoing.total_actual_spend, None);
    assert_eq!(ongoing.total_impact, Some(12.0));
    assert_eq!(
        ongoing.attributable_impact, None,
        "no root cause reports a contribution"
    );
    assert!(ongoing.root_causes.is_empty());
}

// ---- Errors and retries -------------------------------------------------------------------------

fn tags_request() -> TagsRequest {
    TagsRequest {
        period: range("2025-01-01", "2025-01-31"),
        tag_key: None,
        search: None,
        filter: None,
    }
}

/// Cost Explorer throttling as the MCP client sees it: the bounded retries, then a tool error
/// (`isError: true`) saying so, through the whole server (bearer check, metering, the tool).
#[tokio::test]
async fn throttling_reaches_the_mcp_client_as_a_tool_error() {
    use std::sync::Arc;

    use http_body_util::BodyExt as _;
    use shared::clock::{Clock, ManualClock};
    use shared::store::Stores;
    use shared::store::sqlite::SqliteBackend;
    use shared::token::{LocalSigner, TokenIssuer};
    use tower::ServiceExt as _;

    const ISS: &str = "http://127.0.0.1:8080";
    const RESOURCE: &str = "http://127.0.0.1:8080/mcp";
    const NOW: i64 = 1_800_000_000;
    let throttled = error_body("ThrottlingException", "Rate exceeded");
    let Replay { source, client } = Replay::new(vec![(400, throttled); MAX_ATTEMPTS as usize]);

    let dir = std::env::temp_dir().join(format!("mcp-throttle-{}", std::process::id()));
    let signer = Arc::new(LocalSigner::load_or_create(&dir).unwrap());
    let _ = std::fs::remove_dir_all(&dir);
    let issuer = TokenIssuer::new(signer, ISS, RESOURCE, 3600);
    let (token, _) = issuer
        .mint("user-1", "client-1", "costs:read", &[], NOW)
        .await
        .unwrap();
    let config = Arc::new(
        shared::config::Config::from_lookup(|k| match k {
            "SMCP_ISSUER" => Some(ISS.to_owned()),
            "SMCP_RESOURCE" => Some(RESOURCE.to_owned()),
            _ => None,
        })
        .unwrap(),
    );
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::at(NOW));
    let stores = Stores::new(Arc::new(SqliteBackend::in_memory().unwrap()), clock.clone());
    let jwks = issuer.jwks();
    let state = mcp::AppState::new(
        config.clone(),
        mcp::McpSettings::defaults(&config),
        &stores,
        clock,
        Arc::new(mcp::InProcessJwks::new(move || jwks.clone())),
        Arc::new(source),
    );
    let call = json!({
        "jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": { "name": "get_tag_values",
                    "arguments": { "start_date": "2026-12-01", "end_date": "2026-12-31" } },
    });
    let request = http::Request::post("/mcp")
        .header("host", "127.0.0.1:8080")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("authorization", format!("Bearer {}", token.expose()))
        .body(axum::body::Body::from(call.to_string()))
        .unwrap();
    let response = mcp::app(state).oneshot(request).await.unwrap();
    assert_eq!(response.status(), http::StatusCode::OK);
    let body: Value =
        serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(body["result"]["isError"], json!(true), "{body}");
    let text = body["result"]["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("throttling"), "{text}");
    assert_eq!(
        client.actual_requests().count(),
        MAX_ATTEMPTS as usize,
        "the bounded retries, then the tool error"
    );
}

#[tokio::test]
async fn throttling_is_retried_a_bounded_number_of_times_then_reported() {
    let throttled = error_body("ThrottlingException", "Rate exceeded");
    let replay = Replay::new(vec![(400, throttled.clone()); MAX_ATTEMPTS as usize + 1]);
    let err = replay.source.tags(&tags_request()).await.unwrap_err();
    assert_eq!(err, CostError::Throttled);
    assert_eq!(
        replay.sent().len(),
        MAX_ATTEMPTS as usize,
        "exactly MAX_ATTEMPTS attempts, the first included"
    );

    // Cost Explorer's own throttling error, then success: the retry answers.
    let replay = Replay::new(vec![
        (
            400,
            error_body("LimitExceededException", "You made too many calls"),
        ),
        (
            200,
            json!({ "Tags": ["team"], "ReturnSize": 1, "TotalSize": 1 }),
        ),
    ]);
    let answer = replay.source.tags(&tags_request()).await.unwrap();
    assert_eq!(answer.tags, vec!["team"]);
    assert_eq!(replay.sent().len(), 2);
    assert_eq!(
        replay.sent()[0].1,
        replay.sent()[1].1,
        "the same request again"
    );
}

#[tokio::test]
async fn refusals_map_to_our_errors_without_retrying() {
    let cases = [
        (
            error_body("AccessDeniedException", "User: arn:aws:sts::1:assumed-role/x is not authorized"),
            CostError::AccessDenied,
        ),
        (
            error_body("ValidationException", "Start date must be before end date"),
            CostError::InvalidRequest(
                "ValidationException: Start date must be before end date".into(),
            ),
        ),
        (
            error_body(
                "com.amazonaws.awsinsightsindexservice#DataUnavailableException",
                "Data is not available. Please try to adjust the time period.",
            ),
            CostError::InvalidRequest(
                "DataUnavailableException: Data is not available. Please try to adjust the time period."
                    .into(),
            ),
        ),
        (
            error_body("BillExpirationException", "The requested report expired."),
            CostError::InvalidRequest(
                "BillExpirationException: The requested report expired.".into(),
            ),
        ),
    ];
    for (body, expected) in cases {
        let replay = Replay::new(vec![(400, body.clone()), (400, body.clone())]);
        let err = replay.source.tags(&tags_request()).await.unwrap_err();
        assert_eq!(err, expected, "{body}");
        assert_eq!(replay.sent().len(), 1, "{body}: not retried");
        assert!(!err.to_string().is_empty());
    }
}

#[tokio::test]
async fn server_errors_are_retried_then_reported_unavailable() {
    let failure = error_body("InternalServerError", "We encountered an internal error.");
    let replay = Replay::new(vec![(500, failure); MAX_ATTEMPTS as usize]);
    let err = replay
        .source
        .cost_forecast(&ForecastRequest {
            period: range("2025-03-10", "2025-03-31"),
            granularity: Granularity::Daily,
            metric: Metric::UnblendedCost,
            prediction_interval_level: 80,
            filter: None,
        })
        .await
        .unwrap_err();
    let CostError::Unavailable(why) = &err else {
        panic!("expected Unavailable, got {err:?}");
    };
    assert!(why.contains("GetCostForecast"), "{why}");
    assert_eq!(replay.sent().len(), MAX_ATTEMPTS as usize);

    // Nothing listening: unreachable, in our words.
    let replay = Replay::new(vec![]);
    let err = replay.source.tags(&tags_request()).await.unwrap_err();
    assert!(matches!(err, CostError::Unavailable(_)), "{err:?}");
}
