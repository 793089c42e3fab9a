//! `McpHost::static_tool_list`: repeated `tools/list` requests are answered from memory, byte
//! for byte as rmcp answers them, and only behind the bearer layer. A handler counts how often
//! rmcp asks it for its list; a host without the setting is the reference for every answer.

// Test helpers outside `#[test]` functions may fail loudly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Body;
use http::{Request, StatusCode, header};
use http_body_util::BodyExt as _;
use mcp_host::{McpHost, TOOL_LIST_KINDS};
use rmcp::model::{
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::json;
use shared::token::TokenIssuer;
use tower::ServiceExt as _;

mod common;

const ISS: &str = "http://127.0.0.1:7100";
const RESOURCE: &str = "http://127.0.0.1:7101/mcp";
const NOW: i64 = 1_800_000_000;

/// A server whose list has text that needs escaping and a tool with an output schema (which
/// rmcp leaves out for old protocol versions), and which counts the lists it builds.
#[derive(Clone)]
struct Counted(Arc<AtomicUsize>);

impl ServerHandler for Counted {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        self.0.fetch_add(1, Ordering::SeqCst);
        let schema = |v: serde_json::Value| Arc::new(v.as_object().unwrap().clone());
        let mut echo = Tool::new(
            "echo",
            "Echoes \"quoted\" text, café \u{1F600} and a\ttab.",
            schema(json!({"type": "object", "properties": {"text": {"type": "string"}}})),
        );
        echo.output_schema = Some(schema(json!({"type": "object"})));
        Ok(ListToolsResult::with_all_items(vec![echo]))
    }
}

fn issuer() -> &'static TokenIssuer {
    static ISSUER: OnceLock<TokenIssuer> = OnceLock::new();
    ISSUER.get_or_init(|| common::issuer("list", ISS, RESOURCE))
}

/// A router for a counting server; `kept` turns `static_tool_list` on.
fn router(kept: bool) -> (Router, Arc<AtomicUsize>) {
    let protection = common::protection(issuer(), ISS, RESOURCE, NOW);
    let lists = Arc::new(AtomicUsize::new(0));
    let counter = lists.clone();
    let host = McpHost::new(move || Ok(Counted(counter.clone()))).base_scope("files:read");
    let host = if kept { host.static_tool_list() } else { host };
    (host.router(protection), lists)
}

async fn token(scope: &str) -> String {
    common::token(issuer(), scope, NOW).await
}

fn list_request(token: Option<&str>, version: &str, body: &str) -> Request<Body> {
    let mut request = Request::post("/mcp")
        .header(header::HOST, "127.0.0.1:7101")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT, "application/json, text/event-stream")
        .header("mcp-protocol-version", version);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    request.body(Body::from(body.to_owned())).unwrap()
}

/// Status, content type and body of an answer.
async fn answer(router: &Router, request: Request<Body>) -> (StatusCode, String, Vec<u8>) {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let kind = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let length = response
        .headers()
        .get(header::CONTENT_LENGTH)
        .map(|v| v.to_str().unwrap().parse::<usize>().unwrap());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    if let Some(length) = length {
        assert_eq!(length, body.len(), "Content-Length matches the body");
    }
    (status, kind, body.to_vec())
}

fn list(id: &str) -> String {
    format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/list","params":{{}}}}"#)
}

#[tokio::test]
async fn repeats_are_answered_from_memory_byte_for_byte() {
    let token = token("files:read").await;
    let (kept, lists) = router(true);
    let (reference, reference_lists) = router(false);
    let mut asked = 0;
    for version in ["2025-06-18", "2025-03-26"] {
        for id in ["1", r#""two""#, "-3", r#""\u0041""#, "9223372036854775807"] {
            let request = || list_request(Some(&token), version, &list(id));
            let got = answer(&kept, request()).await;
            let want = answer(&reference, request()).await;
            asked += 1;
            assert_eq!(got.0, StatusCode::OK, "{version} {id}");
            assert_eq!(got.1, "application/json");
            assert_eq!(
                String::from_utf8_lossy(&got.2),
                String::from_utf8_lossy(&want.2),
                "{version} id {id}: the kept answer is rmcp's"
            );
        }
    }
    assert_eq!(reference_lists.load(Ordering::SeqCst), asked);
    // Each protocol version is a kind of its own: one list each, then none.
    assert_eq!(lists.load(Ordering::SeqCst), 2);
    for version in ["2025-06-18", "2025-03-26"] {
        let again = answer(&kept, list_request(Some(&token), version, &list("1"))).await;
        assert_eq!(again.0, StatusCode::OK);
    }
    assert_eq!(lists.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn the_bearer_layer_still_runs_for_every_repeat() {
    let (kept, _) = router(true);
    let token = self::token("files:read").await;
    let ok = answer(&kept, list_request(Some(&token), "2025-06-18", &list("1"))).await;
    assert_eq!(ok.0, StatusCode::OK);
    let none = answer(&kept, list_request(None, "2025-06-18", &list("1"))).await;
    assert_eq!(none.0, StatusCode::UNAUTHORIZED);
    let bad = answer(&kept, list_request(Some("x.y.z"), "2025-06-18", &list("1"))).await;
    assert_eq!(bad.0, StatusCode::UNAUTHORIZED);
    let other = self::token("other:scope").await;
    let short = answer(&kept, list_request(Some(&other), "2025-06-18", &list("1"))).await;
    assert_eq!(short.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn requests_of_other_kinds_go_to_the_server() {
    let token = token("files:read").await;
    let (kept, lists) = router(true);
    let (reference, _) = router(false);
    // Other params are kinds of their own: built once each, then kept.
    for params in [r#"{"cursor":"x"}"#, r#"{"_meta":{"a":1}}"#] {
        let body = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{params}}}"#);
        let before = lists.load(Ordering::SeqCst);
        for _ in 0..2 {
            let got = answer(&kept, list_request(Some(&token), "2025-06-18", &body)).await;
            let want = answer(&reference, list_request(Some(&token), "2025-06-18", &body)).await;
            assert_eq!(got, want, "{body}");
        }
        assert_eq!(lists.load(Ordering::SeqCst) - before, 1, "{body}");
    }
    // Members rmcp may read, ids it does not take as they are, batches: never kept.
    let odd = [
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{},"extra":1}"#,
        r#"{"jsonrpc":"2.0","id":1.5,"method":"tools/list","params":{}}"#,
        r#"{"jsonrpc":"2.0","id":null,"method":"tools/list","params":{}}"#,
        r#"[{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}]"#,
        r#"{"jsonrpc":"1.0","id":1,"method":"tools/list","params":{}}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{},"id":2}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#,
    ];
    for body in odd {
        let before = lists.load(Ordering::SeqCst);
        let first = answer(&kept, list_request(Some(&token), "2025-06-18", body)).await;
        let again = answer(&kept, list_request(Some(&token), "2025-06-18", body)).await;
        let want = answer(&reference, list_request(Some(&token), "2025-06-18", body)).await;
        assert_eq!(first, want, "{body}");
        assert_eq!(again, want, "{body}");
        let built = lists.load(Ordering::SeqCst) - before;
        if String::from_utf8_lossy(&want.2).contains("\"echo\"") {
            // rmcp lists for it; so must every repeat (no params is a kind too: built once).
            let expected = if body.ends_with(r#""tools/list"}"#) {
                1
            } else {
                2
            };
            assert_eq!(built, expected, "{body}");
        } else {
            assert_eq!(built, 0, "{body}: refused by rmcp");
        }
    }
    // Headers that change what rmcp reads make kinds of their own, or skip the memory.
    let before = lists.load(Ordering::SeqCst);
    for _ in 0..2 {
        let mut request = list_request(Some(&token), "2025-06-18", &list("1"));
        request
            .headers_mut()
            .insert("mcp-session-id", "s-1".parse().unwrap());
        let _ = answer(&kept, request).await;
    }
    let plain = answer(&kept, list_request(Some(&token), "2025-06-18", &list("1"))).await;
    assert_eq!(plain.0, StatusCode::OK);
    let with_session = lists.load(Ordering::SeqCst) - before;
    assert!(with_session >= 1, "the plain request builds its list once");
    let settled = lists.load(Ordering::SeqCst);
    let _ = answer(&kept, list_request(Some(&token), "2025-06-18", &list("8"))).await;
    assert_eq!(lists.load(Ordering::SeqCst), settled, "now kept");
}

#[tokio::test]
async fn at_most_the_bounded_number_of_kinds_is_kept() {
    let token = token("files:read").await;
    let (kept, lists) = router(true);
    let kinds = TOOL_LIST_KINDS + 3;
    for n in 0..kinds {
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{{"_meta":{{"n":{n}}}}}}}"#
        );
        for _ in 0..2 {
            let got = answer(&kept, list_request(Some(&token), "2025-06-18", &body)).await;
            assert_eq!(got.0, StatusCode::OK);
        }
    }
    // The first TOOL_LIST_KINDS kinds were built once each; the rest every time.
    assert_eq!(lists.load(Ordering::SeqCst), TOOL_LIST_KINDS + 2 * 3);
}
