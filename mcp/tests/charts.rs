//! Charts as image content (issue 18) through the whole server on the sample organisation: with
//! `"chart": true` each charting tool answers its usual text block and `structuredContent`
//! unchanged plus one `image/png` block that decodes to an 800x450 PNG; without it (or with
//! `false`) the result is exactly what it was, with no image; `tools/list` documents the
//! parameter and keeps every output schema.
//!
//! To look at the charts: `SMCP_CHART_DIR=/tmp/charts cargo test -p mcp --test charts` writes
//! each tool's image there.

// Test helpers outside #[test] functions may panic too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::{Arc, OnceLock};

use base64::Engine as _;
use http_body_util::BodyExt as _;
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

/// Every tool that charts, with arguments that have data in the sample organisation.
fn cases() -> Vec<(&'static str, Value)> {
    vec![
        (
            "get_cost_and_usage",
            json!({ "start_date": "2026-08-01", "end_date": "2026-12-31", "group_by": [{ "dimension": "SERVICE" }] }),
        ),
        (
            "get_cost_and_usage_with_resources",
            json!({ "service": "Amazon Elastic Compute Cloud - Compute", "start_date": "2027-01-10", "end_date": "2027-01-14" }),
        ),
        ("get_cost_forecast", json!({ "end_date": "2027-04-30" })),
        (
            "get_usage_forecast",
            json!({ "usage_type": "USE1-BoxUsage:m5.large", "end_date": "2027-02-28" }),
        ),
        (
            "get_cost_and_usage_comparisons",
            json!({ "baseline_month": "2026-11", "comparison_month": "2026-12", "group_by": { "dimension": "SERVICE" } }),
        ),
        (
            "get_cost_comparison_drivers",
            json!({ "baseline_month": "2026-11", "comparison_month": "2026-12" }),
        ),
        (
            "get_anomalies",
            json!({ "start_date": "2026-10-17", "end_date": "2027-01-15" }),
        ),
        (
            "get_savings_plans_utilization",
            json!({ "start_date": "2026-12-01", "end_date": "2026-12-31", "granularity": "DAILY" }),
        ),
        (
            "get_savings_plans_coverage",
            json!({ "start_date": "2026-10-01", "end_date": "2026-12-31", "group_by": { "dimension": "LINKED_ACCOUNT" } }),
        ),
        (
            "get_reservation_utilization",
            json!({ "start_date": "2026-10-01", "end_date": "2026-12-31" }),
        ),
        (
            "get_reservation_coverage",
            json!({ "start_date": "2026-12-01", "end_date": "2026-12-31", "granularity": "DAILY" }),
        ),
    ]
}

fn issuer() -> &'static TokenIssuer {
    static ISSUER: OnceLock<TokenIssuer> = OnceLock::new();
    ISSUER.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("mcp-charts-{}", std::process::id()));
        let signer = Arc::new(LocalSigner::load_or_create(&dir).unwrap());
        let _ = std::fs::remove_dir_all(&dir);
        TokenIssuer::new(signer, ISS, RESOURCE, 3600)
    })
}

/// The server over the embedded sample organisation.
fn state() -> AppState {
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
    settings.meter.cache_ttl_secs = 0;
    let jwks = Arc::new(InProcessJwks::new(|| issuer().jwks()));
    AppState::embedded(config, settings, &stores, clock, jwks)
}

/// A JSON-RPC call with every scope; the `result`.
async fn rpc(state: &AppState, method: &str, params: Value) -> Value {
    let (token, _) = issuer()
        .mint("user-1", "client-1", "costs:read costs:resources", &[], NOW)
        .await
        .unwrap();
    let body = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
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

async fn call(state: &AppState, tool: &str, arguments: &Value) -> Value {
    rpc(
        state,
        "tools/call",
        json!({ "name": tool, "arguments": arguments }),
    )
    .await
}

fn with_chart(arguments: &Value, chart: bool) -> Value {
    let mut arguments = arguments.clone();
    arguments["chart"] = json!(chart);
    arguments
}

/// The width and height of a PNG file.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let reader = decoder.read_info().unwrap();
    let info = reader.info();
    (info.width, info.height)
}

#[tokio::test]
async fn chart_true_adds_one_png_and_changes_nothing_else() {
    let state = state();
    for (tool, arguments) in cases() {
        let plain = call(&state, tool, &arguments).await;
        assert_eq!(plain["isError"], json!(false), "{tool}: {plain}");
        let content = plain["content"].as_array().unwrap();
        assert_eq!(content.len(), 1, "{tool}: no image by default: {plain}");
        assert_eq!(content[0]["type"], "text", "{tool}");

        let off = call(&state, tool, &with_chart(&arguments, false)).await;
        assert_eq!(off, plain, "{tool}: chart: false answers as before");

        let charted = call(&state, tool, &with_chart(&arguments, true)).await;
        assert_eq!(charted["isError"], json!(false), "{tool}");
        assert_eq!(
            charted["structuredContent"], plain["structuredContent"],
            "{tool}: structured content unchanged"
        );
        let content = charted["content"].as_array().unwrap();
        assert_eq!(
            content.len(),
            2,
            "{tool}: text and image: {}",
            content.len()
        );
        assert_eq!(content[0], plain["content"][0], "{tool}: text unchanged");
        assert_eq!(content[1]["type"], "image", "{tool}");
        assert_eq!(content[1]["mimeType"], "image/png", "{tool}");
        let png = base64::engine::general_purpose::STANDARD
            .decode(content[1]["data"].as_str().unwrap())
            .unwrap();
        assert_eq!(png_size(&png), (800, 450), "{tool}");
        if let Some(dir) = std::env::var_os("SMCP_CHART_DIR") {
            std::fs::write(std::path::Path::new(&dir).join(format!("{tool}.png")), &png).unwrap();
        }
        assert!(png.len() < 150 * 1024, "{tool}: {} bytes", png.len());
    }
}

#[tokio::test]
async fn the_input_schemas_document_the_parameter_and_output_schemas_stay() {
    let state = state();
    let list = rpc(&state, "tools/list", json!({})).await;
    let tools = list["tools"].as_array().unwrap();
    for (tool, _) in cases() {
        let listed = tools
            .iter()
            .find(|t| t["name"] == tool)
            .unwrap_or_else(|| panic!("{tool} is listed"));
        let chart = &listed["inputSchema"]["properties"]["chart"];
        assert_eq!(chart["type"], "boolean", "{tool}: {chart}");
        assert_eq!(chart["default"], false, "{tool}: {chart}");
        let doc = chart["description"].as_str().unwrap_or_default();
        assert!(
            doc.contains("PNG chart") && doc.contains("image/png"),
            "{tool}: {doc}"
        );
        assert_eq!(
            listed["outputSchema"]["type"], "object",
            "{tool}: the output schema is still declared"
        );
    }
    // Tools without a chart do not offer one.
    let today = tools
        .iter()
        .find(|t| t["name"] == "get_today_date")
        .unwrap();
    assert!(today["inputSchema"]["properties"]["chart"].is_null());
}
