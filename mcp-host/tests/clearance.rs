//! `McpHost::overlap_revocation_check`: a `tools/call` starts while its revocation check is under
//! way, and its tools wait on their `Clearance` before an effect. A stand-in revocation list
//! records whether the tool had started before the check answered, and answers as each test
//! needs: the token stands, is revoked, or the store fails. Proves the overlap happens only when
//! asked for and only for tool calls, that a refused token gets its 401 or 503 and no effect,
//! and that the refusals keep the order of the sequential path (401 before 403).

// Test helpers outside `#[test]` functions may fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use axum::body::Body;
use http::{Request, StatusCode, header};
use http_body_util::BodyExt as _;
use mcp_host::{Clearance, McpHost};
use rmcp::{ServerHandler, tool, tool_handler, tool_router};
use serde_json::{Value, json};
use shared::store::{RevocationList, Revoked, StoreError, TokenIdentity};
use shared::token::TokenIssuer;
use tokio::sync::Notify;
use tower::ServiceExt as _;

mod common;

const ISS: &str = "http://127.0.0.1:7100";
const RESOURCE: &str = "https://ledger.example:7101/mcp";
const NOW: i64 = 1_800_000_000;
/// How long the stand-in check waits for the tool to start before answering without it.
const WAIT_FOR_TOOL: Duration = Duration::from_millis(300);

/// What one request did.
#[derive(Default)]
struct Record {
    /// The tool began (it signals before waiting on its clearance).
    started: Notify,
    /// The revocation check saw the tool begin before it answered.
    tool_started_first: AtomicBool,
    /// The tool acted (after its clearance).
    effects: AtomicUsize,
}

#[derive(Clone)]
struct Ledger(Arc<Record>);

#[tool_router]
impl Ledger {
    /// Spends: signals that it began, waits on its clearance, then acts.
    #[tool]
    async fn spend(&self, clearance: Clearance) -> String {
        self.0.started.notify_one();
        if clearance.wait().await {
            self.0.effects.fetch_add(1, Ordering::SeqCst);
            "spent".into()
        } else {
            "refused".into()
        }
    }

    /// Needs the ledger:write scope.
    #[tool]
    fn close(&self) -> String {
        "closed".into()
    }
}

#[tool_handler]
impl ServerHandler for Ledger {}

/// The stand-in revocation list's answer.
#[derive(Clone, Copy)]
enum Verdict {
    Stands,
    Revoked,
    StoreFails,
}

struct Gated {
    record: Arc<Record>,
    verdict: Verdict,
}

#[async_trait]
impl RevocationList for Gated {
    async fn revoke(&self, _: Revoked<'_>, _: i64) -> Result<(), StoreError> {
        unreachable!("the bearer layer never revokes")
    }

    async fn is_revoked(&self, _: &TokenIdentity<'_>) -> Result<bool, StoreError> {
        let started = tokio::time::timeout(WAIT_FOR_TOOL, self.record.started.notified()).await;
        self.record
            .tool_started_first
            .store(started.is_ok(), Ordering::SeqCst);
        match self.verdict {
            Verdict::Stands => Ok(false),
            Verdict::Revoked => Ok(true),
            Verdict::StoreFails => Err(StoreError::Unavailable("stand-in".into())),
        }
    }
}

fn issuer() -> &'static TokenIssuer {
    static ISSUER: OnceLock<TokenIssuer> = OnceLock::new();
    ISSUER.get_or_init(|| common::issuer("clearance", ISS, RESOURCE))
}

/// Sends `body` with a token of `scope` to a ledger host (overlapping or not) whose revocation
/// list answers `verdict`; the status, the body and what the request did.
async fn send(
    overlap: bool,
    verdict: Verdict,
    scope: &str,
    body: Value,
) -> (StatusCode, String, Arc<Record>) {
    let record = Arc::new(Record::default());
    let ledger = Ledger(record.clone());
    let mut host = McpHost::new(move || Ok(ledger.clone()))
        .base_scope("ledger:read")
        .tool_scope("close", "ledger:write");
    if overlap {
        host = host.overlap_revocation_check();
    }
    let gated = Arc::new(Gated {
        record: record.clone(),
        verdict,
    });
    let protection = common::protection_with(issuer(), ISS, RESOURCE, NOW, |_| gated);
    let token = common::token(issuer(), scope, NOW).await;
    let request = Request::post("/mcp")
        .header(header::HOST, "ledger.example:7101")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT, "application/json, text/event-stream")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::from(body.to_string()))
        .unwrap();
    let response = host.router(protection).oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned(), record)
}

fn call(tool: &str) -> Value {
    json!({
        "jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": { "name": tool, "arguments": {} }
    })
}

#[tokio::test]
async fn an_overlapping_host_starts_a_tool_call_before_the_check_answers() {
    let (status, body, record) = send(true, Verdict::Stands, "ledger:read", call("spend")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("spent"), "{body}");
    assert!(record.tool_started_first.load(Ordering::SeqCst));
    assert_eq!(record.effects.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn by_default_the_check_answers_before_the_tool_starts() {
    let (status, body, record) = send(false, Verdict::Stands, "ledger:read", call("spend")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("spent"), "{body}");
    assert!(!record.tool_started_first.load(Ordering::SeqCst));
    assert_eq!(record.effects.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_revoked_token_gets_its_401_and_the_tool_acts_not() {
    let (status, body, record) = send(true, Verdict::Revoked, "ledger:read", call("spend")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(body.contains("revoked"), "{body}");
    assert!(
        !body.contains("refused") && !body.contains("spent"),
        "{body}"
    );
    assert!(record.tool_started_first.load(Ordering::SeqCst));
    assert_eq!(record.effects.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_check_that_fails_answers_503_and_the_tool_acts_not() {
    let (status, body, record) =
        send(true, Verdict::StoreFails, "ledger:read", call("spend")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body.contains("temporarily_unavailable"), "{body}");
    assert_eq!(record.effects.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn other_requests_are_checked_first_even_on_an_overlapping_host() {
    let list = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list" });
    let (status, body, record) = send(true, Verdict::Revoked, "ledger:read", list).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(!record.tool_started_first.load(Ordering::SeqCst));
    // A batch is checked first too (`auth::single_message`: its other requests' handlers do not
    // wait on a clearance).
    let batch = json!([call("spend"), { "jsonrpc": "2.0", "id": 2, "method": "tools/list" }]);
    let (status, body, record) = send(true, Verdict::Revoked, "ledger:read", batch).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(!record.tool_started_first.load(Ordering::SeqCst));
}

#[tokio::test]
async fn refusals_keep_the_sequential_order() {
    for overlap in [false, true] {
        // A revoked token lacking the tool's scope: 401 (revoked) comes before 403.
        let (status, body, _) = send(overlap, Verdict::Revoked, "ledger:read", call("close")).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "overlap {overlap}: {body}"
        );
        let (status, body, _) = send(overlap, Verdict::Revoked, "other", call("spend")).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "overlap {overlap}: {body}"
        );
        // A standing token lacking it: 403 insufficient_scope, and the tool never ran.
        let (status, body, record) =
            send(overlap, Verdict::Stands, "ledger:read", call("close")).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "overlap {overlap}: {body}");
        assert!(
            body.contains("insufficient_scope"),
            "overlap {overlap}: {body}"
        );
        assert!(!record.tool_started_first.load(Ordering::SeqCst));
    }
}
