//! Per-user account visibility through the whole server (bearer check, tool, cost source): a
//! user limited to some linked accounts learns nothing about the others — not from anomalies,
//! whose impact figures Cost Explorer computes across the organisation, nor through
//! `min_total_impact` used as an oracle, nor from dimension values. Cost Explorer is the SDK's
//! replay client answering with bodies shaped as the GetAnomalies and GetDimensionValues API
//! reference documents them; the embedded sample organisation goes through the same tool.

// Test helpers outside #[test] functions may panic too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::{Arc, OnceLock};

use aws_sdk_costexplorer::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_http_client::test_util::{ReplayEvent, StaticReplayClient};
use aws_smithy_types::body::SdkBody;
use http_body_util::BodyExt as _;
use mcp::access::AccountScopes;
use mcp::cost::CostSource;
use mcp::cost::aws::AwsCostSource;
use mcp::{AppState, InProcessJwks, McpSettings};
use serde_json::{Value, json};
use shared::clock::{Clock, ManualClock};
use shared::config::Config;
use shared::store::Stores;
use shared::store::sqlite::SqliteBackend;
use shared::token::{LocalSigner, TokenIssuer};
use tower::ServiceExt as _;

const ISS: &str = "http://127.0.0.1:8080";
const RESOURCE: &str = "http://127.0.0.1:8080/mcp";
/// 2027-01-15T08:00:00Z.
const NOW: i64 = 1_800_000_000;
const MONITOR: &str =
    "arn:aws:ce::111111111111:anomalymonitor/0d7d3a62-5bd2-4e6c-9e5f-2f6b1f0e4c11";
const WEB: &str = "222222222222";
const DATA: &str = "444444444444";

fn issuer() -> &'static TokenIssuer {
    static ISSUER: OnceLock<TokenIssuer> = OnceLock::new();
    ISSUER.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("mcp-visibility-{}", std::process::id()));
        let signer = Arc::new(LocalSigner::load_or_create(&dir).unwrap());
        let _ = std::fs::remove_dir_all(&dir);
        TokenIssuer::new(signer, ISS, RESOURCE, 3600)
    })
}

/// The parts of a server with `web` limited to account 222222222222, `data` to 444444444444
/// and `finance` seeing everything; no cache, so every call reaches the source.
fn parts() -> (Arc<Config>, McpSettings, Stores, Arc<dyn Clock>) {
    let config = Arc::new(
        Config::from_lookup(|k| match k {
            "SMCP_ISSUER" => Some(ISS.to_owned()),
            "SMCP_RESOURCE" => Some(RESOURCE.to_owned()),
            _ => None,
        })
        .unwrap(),
    );
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::at(NOW));
    let stores = Stores::new(Arc::new(SqliteBackend::in_memory().unwrap()), clock.clone());
    let mut settings = McpSettings::defaults(&config);
    settings.account_scopes = AccountScopes::parse_json(&format!(
        r#"{{"web": ["{WEB}"], "data": ["{DATA}"], "finance": ["*"]}}"#
    ))
    .unwrap();
    settings.meter.cache_ttl_secs = 0;
    (config, settings, stores, clock)
}

fn jwks() -> Arc<InProcessJwks> {
    Arc::new(InProcessJwks::new(|| issuer().jwks()))
}

/// The server over `source`.
fn state(source: Arc<dyn CostSource>) -> AppState {
    let (config, settings, stores, clock) = parts();
    AppState::new(config, settings, &stores, clock, jwks(), source)
}

/// The server over the embedded sample organisation.
fn sample_state() -> AppState {
    let (config, settings, stores, clock) = parts();
    AppState::embedded(config, settings, &stores, clock, jwks())
}

/// Calls `tool` as a member of `group`; the tool's result (`structuredContent`, `isError` …).
async fn call(state: &AppState, group: &str, tool: &str, arguments: Value) -> Value {
    let (token, _) = issuer()
        .mint("user-1", "client-1", "costs:read", &[group.to_owned()], NOW)
        .await
        .unwrap();
    let body = json!({
        "jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": { "name": tool, "arguments": arguments },
    });
    let request = http::Request::post("/mcp")
        .header("host", "127.0.0.1:8080")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("authorization", format!("Bearer {}", token.expose()))
        .body(axum::body::Body::from(body.to_string()))
        .unwrap();
    let response = mcp::app(state.clone()).oneshot(request).await.unwrap();
    assert_eq!(response.status(), http::StatusCode::OK);
    let body: Value =
        serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
    body["result"].clone()
}

/// The AWS adapter (production retry policy) answering each call with the next of `bodies`.
fn replay(bodies: Vec<Value>) -> (Arc<AwsCostSource>, StaticReplayClient) {
    let events = bodies
        .into_iter()
        .map(|body| {
            ReplayEvent::new(
                http::Request::builder()
                    .method("POST")
                    .uri("https://ce.us-east-1.amazonaws.com/")
                    .body(SdkBody::empty())
                    .unwrap(),
                http::Response::builder()
                    .status(200)
                    .header("content-type", "application/x-amz-json-1.1")
                    .body(SdkBody::from(body.to_string()))
                    .unwrap(),
            )
        })
        .collect();
    let client = StaticReplayClient::new(events);
    let source = AwsCostSource::from_builder(
        aws_sdk_costexplorer::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
            .http_client(client.clone()),
    );
    (Arc::new(source), client)
}

/// The JSON bodies of the requests sent, in order.
fn sent(client: &StaticReplayClient) -> Vec<Value> {
    client
        .actual_requests()
        .map(|r| serde_json::from_slice(r.body().bytes().unwrap()).unwrap())
        .collect()
}

/// A GetAnomalies answer with two anomalies of one SERVICE monitor: `a-mixed`, whose root
/// causes are in 222222222222 (30.5 USD) and 444444444444 (1204 USD), and `a-data`, whose only
/// root cause is in 444444444444. The organisation-wide figures use numbers found nowhere else.
fn two_account_anomalies() -> Value {
    json!({
        "Anomalies": [
            {
                "AnomalyId": "a-mixed",
                "AnomalyStartDate": "2027-01-02T00:00:00Z",
                "AnomalyEndDate": "2027-01-04T00:00:00Z",
                "DimensionValue": "Amazon Elastic Compute Cloud - Compute",
                "RootCauses": [
                    {
                        "Service": "Amazon Elastic Compute Cloud - Compute",
                        "Region": "us-east-1",
                        "LinkedAccount": WEB,
                        "LinkedAccountName": "Production",
                        "UsageType": "USE1-BoxUsage:m5.large",
                        "Impact": { "Contribution": 30.5 }
                    },
                    {
                        "Service": "Amazon Elastic Compute Cloud - Compute",
                        "Region": "eu-west-1",
                        "LinkedAccount": DATA,
                        "LinkedAccountName": "Data Science",
                        "UsageType": "EU-BoxUsage:p4d.24xlarge",
                        "Impact": { "Contribution": 1204.0 }
                    }
                ],
                "AnomalyScore": { "MaxScore": 0.97, "CurrentScore": 0.12 },
                "Impact": {
                    "MaxImpact": 678.25,
                    "TotalImpact": 1234.5,
                    "TotalImpactPercentage": 463.66,
                    "TotalActualSpend": 1500.75,
                    "TotalExpectedSpend": 266.25
                },
                "MonitorArn": MONITOR,
                "Feedback": "NO"
            },
            {
                "AnomalyId": "a-data",
                "AnomalyStartDate": "2027-01-06T00:00:00Z",
                "DimensionValue": "Amazon SageMaker",
                "RootCauses": [{
                    "Service": "Amazon SageMaker",
                    "Region": "us-east-1",
                    "LinkedAccount": DATA,
                    "LinkedAccountName": "Data Science",
                    "UsageType": "USE1-Train:ml.p3.16xlarge",
                    "Impact": { "Contribution": 4321.75 }
                }],
                "AnomalyScore": { "MaxScore": 0.88, "CurrentScore": 0.88 },
                "Impact": {
                    "MaxImpact": 2100.0,
                    "TotalImpact": 4321.75,
                    "TotalImpactPercentage": 812.4,
                    "TotalActualSpend": 4853.7,
                    "TotalExpectedSpend": 531.95
                },
                "MonitorArn": MONITOR
            }
        ]
    })
}

fn ids(result: &Value) -> Vec<&str> {
    result["structuredContent"]["anomalies"]
        .as_array()
        .unwrap_or_else(|| panic!("no anomalies in {result}"))
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn a_limited_user_sees_only_their_share_of_a_two_account_anomaly() {
    let (source, client) = replay(vec![two_account_anomalies(); 2]);
    let state = state(source);
    let period = json!({ "start_date": "2027-01-01", "end_date": "2027-01-10" });

    let web = call(&state, "web", "get_anomalies", period.clone()).await;
    assert_eq!(web["isError"], json!(false), "{web}");
    assert_eq!(
        ids(&web),
        ["a-mixed"],
        "a-data has no root cause in 222222222222"
    );
    let anomaly = &web["structuredContent"]["anomalies"][0];
    for figure in [
        "dimension_value",
        "max_impact",
        "total_impact",
        "total_impact_percentage",
        "total_actual_spend",
        "total_expected_spend",
    ] {
        assert!(
            anomaly.get(figure).is_none_or(Value::is_null),
            "{figure} covers the whole organisation: {anomaly}"
        );
    }
    assert_eq!(anomaly["attributable_impact"], json!(30.5), "{anomaly}");
    assert_eq!(
        anomaly["root_causes"],
        json!([{
            "service": "Amazon Elastic Compute Cloud - Compute",
            "region": "us-east-1",
            "linked_account": WEB,
            "linked_account_name": "Production",
            "usage_type": "USE1-BoxUsage:m5.large",
            "contribution": 30.5
        }])
    );
    assert_eq!(
        (&anomaly["start"], &anomaly["end"], &anomaly["monitor_arn"]),
        (&json!("2027-01-02"), &json!("2027-01-04"), &json!(MONITOR))
    );
    let text = web.to_string();
    for secret in [
        DATA,
        "Data Science",
        "1204",
        "1234.5",
        "678.25",
        "463.66",
        "1500.75",
        "266.25",
        "4321.75",
        "SageMaker",
    ] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }

    // Someone who sees every account gets the anomalies as Cost Explorer reports them.
    let finance = call(&state, "finance", "get_anomalies", period).await;
    assert_eq!(ids(&finance), ["a-mixed", "a-data"], "{finance}");
    let mixed = &finance["structuredContent"]["anomalies"][0];
    assert_eq!(mixed["total_impact"], json!(1234.5));
    assert_eq!(mixed["max_impact"], json!(678.25));
    assert_eq!(mixed["total_impact_percentage"], json!(463.66));
    assert_eq!(mixed["total_actual_spend"], json!(1500.75));
    assert_eq!(mixed["total_expected_spend"], json!(266.25));
    assert_eq!(
        mixed["dimension_value"],
        json!("Amazon Elastic Compute Cloud - Compute")
    );
    assert_eq!(mixed["attributable_impact"], json!(1234.5));
    assert_eq!(mixed["root_causes"].as_array().unwrap().len(), 2);
    assert_eq!(client.actual_requests().count(), 2);
}

/// `min_total_impact` would be compared by Cost Explorer with the organisation-wide total
/// impact: a limited user could learn from what comes back how large another account's share
/// is. For them it is not sent, and it is applied to the impact they may see.
#[tokio::test]
async fn min_total_impact_is_no_oracle_for_a_limited_user() {
    let (source, client) = replay(vec![two_account_anomalies(); 4]);
    let state = state(source);
    let at_least = |min: f64| json!({ "start_date": "2027-01-01", "end_date": "2027-01-10", "min_total_impact": min });

    // 1000 USD: met by the organisation-wide 1234.5, not by the 30.5 the user may see.
    let above = call(&state, "web", "get_anomalies", at_least(1000.0)).await;
    assert_eq!(above["isError"], json!(false), "{above}");
    assert!(ids(&above).is_empty(), "{above}");
    let below = call(&state, "web", "get_anomalies", at_least(30.5)).await;
    assert_eq!(ids(&below), ["a-mixed"], "{below}");
    assert_eq!(
        below["structuredContent"]["anomalies"][0]["attributable_impact"],
        json!(30.5)
    );
    // The data team's share of the same anomaly is theirs to filter on.
    let data = call(&state, "data", "get_anomalies", at_least(1204.0)).await;
    assert_eq!(ids(&data), ["a-mixed", "a-data"], "{data}");

    let finance = call(&state, "finance", "get_anomalies", at_least(1000.0)).await;
    assert_eq!(finance["isError"], json!(false), "{finance}");

    let requests = sent(&client);
    assert_eq!(requests.len(), 4);
    for (i, request) in requests.iter().take(3).enumerate() {
        assert_eq!(
            request,
            &json!({ "DateInterval": { "StartDate": "2027-01-01", "EndDate": "2027-01-10" } }),
            "call {i}: a limited user's threshold never reaches Cost Explorer"
        );
    }
    assert_eq!(
        requests[3]["TotalImpact"],
        json!({ "NumericOperator": "GREATER_THAN_OR_EQUAL", "StartValue": 1000.0 }),
        "an unrestricted user's threshold is Cost Explorer's to apply"
    );
}

/// The embedded sample organisation goes through the same restriction: its anomalies' figures
/// are those of the whole organisation's monitor, so a limited user gets none of them.
#[tokio::test]
async fn the_sample_source_hides_organisation_wide_anomaly_figures_too() {
    let state = sample_state();
    let period = json!({ "start_date": "2026-09-01", "end_date": "2027-01-15" });

    let finance = call(&state, "finance", "get_anomalies", period.clone()).await;
    let all = finance["structuredContent"]["anomalies"]
        .as_array()
        .unwrap();
    assert_eq!(all.len(), 3, "{finance}");
    assert!(
        all.iter().all(|a| a["total_impact"].is_number()),
        "{finance}"
    );

    let data = call(&state, "data", "get_anomalies", period.clone()).await;
    assert_eq!(ids(&data), ["sample-anomaly-sagemaker-training"], "{data}");
    let sagemaker = &data["structuredContent"]["anomalies"][0];
    let org_wide = all
        .iter()
        .find(|a| a["id"] == sagemaker["id"])
        .unwrap()
        .clone();
    for figure in [
        "dimension_value",
        "max_impact",
        "total_impact",
        "total_impact_percentage",
        "total_actual_spend",
        "total_expected_spend",
    ] {
        assert!(org_wide[figure].is_number() || org_wide[figure].is_string());
        assert!(
            sagemaker.get(figure).is_none_or(Value::is_null),
            "{figure}: {sagemaker}"
        );
    }
    let share = sagemaker["attributable_impact"].as_f64().unwrap();
    assert_eq!(
        sagemaker["root_causes"][0]["contribution"].as_f64(),
        Some(share)
    );
    assert_eq!(sagemaker["root_causes"][0]["linked_account"], json!(DATA));

    let mut over = period.clone();
    over["min_total_impact"] = json!(share + 0.01);
    assert!(ids(&call(&state, "data", "get_anomalies", over).await).is_empty());
    let mut at = period;
    at["min_total_impact"] = json!(share);
    let web = call(&state, "web", "get_anomalies", at.clone()).await;
    assert!(
        !web.to_string().contains("sagemaker"),
        "another account's anomaly stays hidden whatever the threshold: {web}"
    );
    assert_eq!(
        ids(&call(&state, "data", "get_anomalies", at).await),
        ["sample-anomaly-sagemaker-training"]
    );
}

/// A LINKED_ACCOUNT listing names accounts: a limited user's call carries their filter, and
/// the answer is cut to their accounts even when Cost Explorer lists others (it is not relied
/// on to apply a filter to the very dimension being listed).
#[tokio::test]
async fn linked_account_values_never_name_other_accounts() {
    let listing = json!({
        "DimensionValues": [
            { "Value": "111111111111", "Attributes": { "description": "Management" } },
            { "Value": WEB, "Attributes": { "description": "Production" } },
            { "Value": DATA, "Attributes": { "description": "Data Science" } }
        ],
        "ReturnSize": 3,
        "TotalSize": 3
    });
    let (source, client) = replay(vec![listing; 2]);
    let state = state(source);
    let accounts = json!({ "dimension": "LINKED_ACCOUNT", "start_date": "2026-12-01", "end_date": "2026-12-31" });

    let web = call(&state, "web", "get_dimension_values", accounts.clone()).await;
    assert_eq!(web["isError"], json!(false), "{web}");
    assert_eq!(
        web["structuredContent"]["values"],
        json!([{ "value": WEB, "attributes": { "description": "Production" } }])
    );
    let text = web.to_string();
    for other in ["111111111111", "Management", DATA, "Data Science"] {
        assert!(!text.contains(other), "{other} leaked: {text}");
    }
    let finance = call(&state, "finance", "get_dimension_values", accounts).await;
    assert_eq!(
        finance["structuredContent"]["values"]
            .as_array()
            .unwrap()
            .len(),
        3,
        "{finance}"
    );

    let requests = sent(&client);
    assert_eq!(
        requests[0]["Filter"],
        json!({ "Dimensions": { "Key": "LINKED_ACCOUNT", "Values": [WEB] } })
    );
    assert_eq!(requests[1].get("Filter"), None);
}
