//! The library as a second server adopts it: a handler that is not the Cost Explorer server,
//! with its own base scope and a tool scope, routed through `McpHost::router` and driven with
//! `oneshot`. Proves the scope declaration drives the challenges and the metadata, that the
//! endpoint answers SSE when the handler notifies before its result (progress reaches the
//! client) while plain answers stay JSON, that the rmcp knobs reach the service, and that the
//! Host check admits the resource's host and the allowed ones only.

// Test helpers outside `#[test]` functions may fail loudly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::OnceLock;

use axum::body::Body;
use http::{Request, Response, header};
use http_body_util::BodyExt as _;
use mcp_host::{McpHost, Protection, Sessions};
use rmcp::model::{NumberOrString, ProgressNotificationParam, ProgressToken};
use rmcp::{Peer, RoleServer, ServerHandler, tool, tool_handler, tool_router};
use serde_json::{Value, json};
use shared::token::TokenIssuer;
use tower::ServiceExt as _;

mod common;

const ISS: &str = "http://127.0.0.1:7000";
const RESOURCE: &str = "https://files.example:7001/files/mcp";
const NOW: i64 = 1_800_000_000;
const PRM: &str = "https://files.example:7001/.well-known/oauth-protected-resource/files/mcp";

#[derive(Clone)]
struct Files;

#[tool_router]
impl Files {
    /// Lists files (the base scope).
    #[tool]
    fn list(&self) -> String {
        "a.txt b.txt".into()
    }

    /// Reports progress, then deletes (needs files:write).
    #[tool]
    async fn delete(&self, peer: Peer<RoleServer>) -> String {
        let token = ProgressToken(NumberOrString::String("p-1".into()));
        let _ = peer
            .notify_progress(ProgressNotificationParam::new(token, 0.5))
            .await;
        "deleted".into()
    }
}

#[tool_handler]
impl ServerHandler for Files {}

fn issuer() -> &'static TokenIssuer {
    static ISSUER: OnceLock<TokenIssuer> = OnceLock::new();
    ISSUER.get_or_init(|| common::issuer("test", ISS, RESOURCE))
}

fn host() -> McpHost<Files> {
    McpHost::new(|| Ok(Files))
        .base_scope("files:read")
        .tool_scope("delete", "files:write")
        .resource_name("Files")
}

fn protection() -> Protection {
    common::protection(issuer(), ISS, RESOURCE, NOW)
}

async fn token(scope: &str) -> String {
    common::token(issuer(), scope, NOW).await
}

fn post(host_header: &str, token: Option<&str>, body: &Value) -> Request<Body> {
    let mut request = Request::post("/files/mcp")
        .header(header::HOST, host_header)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT, "application/json, text/event-stream");
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    request.body(Body::from(body.to_string())).unwrap()
}

async fn call(host: McpHost<Files>, token: Option<&str>, tool: &str) -> Response<Body> {
    let body = json!({
        "jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": { "name": tool, "arguments": {} }
    });
    let request = post("files.example:7001", token, &body);
    host.router(protection()).oneshot(request).await.unwrap()
}

fn header_of(response: &Response<Body>, name: header::HeaderName) -> String {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

async fn text(response: Response<Body>) -> String {
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8_lossy(&bytes).into_owned()
}

#[tokio::test]
async fn the_declared_scopes_drive_challenges_and_metadata() {
    let response = call(host(), None, "list").await;
    assert_eq!(response.status(), 401);
    assert_eq!(
        header_of(&response, header::WWW_AUTHENTICATE),
        format!("Bearer resource_metadata=\"{PRM}\", scope=\"files:read\"")
    );
    // A token for another server's scopes lacks the base scope.
    let other = token("costs:read").await;
    let response = call(host(), Some(&other), "list").await;
    assert_eq!(response.status(), 403);
    assert!(header_of(&response, header::WWW_AUTHENTICATE).contains("scope=\"files:read\""));

    let read = token("files:read").await;
    let response = call(host(), Some(&read), "delete").await;
    assert_eq!(response.status(), 403);
    assert!(
        header_of(&response, header::WWW_AUTHENTICATE)
            .starts_with("Bearer error=\"insufficient_scope\", scope=\"files:read files:write\"")
    );

    let request = Request::get("/.well-known/oauth-protected-resource/files/mcp")
        .body(Body::empty())
        .unwrap();
    let response = host().router(protection()).oneshot(request).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        header_of(&response, header::CONTENT_TYPE),
        "application/json"
    );
    let metadata: Value = serde_json::from_str(&text(response).await).unwrap();
    assert_eq!(
        metadata,
        json!({
            "resource": RESOURCE,
            "authorization_servers": [ISS],
            "scopes_supported": ["files:read", "files:write"],
            "bearer_methods_supported": ["header"],
            "resource_name": "Files",
        })
    );
}

#[tokio::test]
async fn a_notification_before_the_result_turns_the_answer_into_sse() {
    let write = token("files:read files:write").await;
    let plain = call(host(), Some(&write), "list").await;
    assert_eq!(plain.status(), 200);
    assert_eq!(header_of(&plain, header::CONTENT_TYPE), "application/json");
    assert!(text(plain).await.contains("a.txt b.txt"));

    let streamed = call(host(), Some(&write), "delete").await;
    assert_eq!(streamed.status(), 200);
    assert!(
        header_of(&streamed, header::CONTENT_TYPE).starts_with("text/event-stream"),
        "{:?}",
        streamed.headers()
    );
    let events = text(streamed).await;
    let progress = events.find("notifications/progress").expect(&events);
    let result = events.find("deleted").expect(&events);
    assert!(progress < result, "{events}");

    // The rmcp knobs reach the service: SSE for every answer.
    let sse = host().configure_http(|http| http.with_json_response(false));
    let answer = call(sse, Some(&write), "list").await;
    assert_eq!(answer.status(), 200);
    assert!(header_of(&answer, header::CONTENT_TYPE).starts_with("text/event-stream"));
}

#[tokio::test]
async fn other_hosts_are_refused_unless_allowed() {
    let read = token("files:read").await;
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
    let refused = host()
        .router(protection())
        .oneshot(post("evil.example", Some(&read), &list))
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let allowed = host()
        .allow_hosts(["files.internal"])
        .router(protection())
        .oneshot(post("files.internal:9000", Some(&read), &list))
        .await
        .unwrap();
    assert_eq!(allowed.status(), 200);
}

fn request(method: http::Method, token: Option<&str>, session: Option<&str>) -> Request<Body> {
    let mut request = Request::builder()
        .method(method)
        .uri("/files/mcp")
        .header(header::HOST, "files.example:7001")
        .header(header::ACCEPT, "text/event-stream")
        .header("mcp-protocol-version", "2025-11-25");
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    if let Some(session) = session {
        request = request.header("mcp-session-id", session);
    }
    request.body(Body::empty()).unwrap()
}

#[tokio::test]
async fn in_memory_sessions_route_get_and_delete_behind_the_bearer_layer() {
    let read = token("files:read").await;
    // The default is stateless: no session id, GET and DELETE are 405 with Allow: POST.
    let stateless = host().router(protection());
    let get = stateless
        .clone()
        .oneshot(request(http::Method::GET, Some(&read), None))
        .await
        .unwrap();
    assert_eq!(get.status(), 405);
    assert_eq!(header_of(&get, header::ALLOW), "POST");

    let app = host().sessions(Sessions::InMemory).router(protection());
    let init = json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                   "clientInfo": {"name": "test", "version": "1"}}
    });
    let opened = app
        .clone()
        .oneshot(post("files.example:7001", Some(&read), &init))
        .await
        .unwrap();
    assert_eq!(opened.status(), 200);
    let session = header_of(&opened, "mcp-session-id".parse().unwrap());
    assert!(!session.is_empty(), "{:?}", opened.headers());
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let mut notify = post("files.example:7001", Some(&read), &initialized);
    notify
        .headers_mut()
        .insert("mcp-session-id", session.parse().unwrap());
    assert_eq!(app.clone().oneshot(notify).await.unwrap().status(), 202);

    // GET and DELETE pass the bearer layer like POST: 401 without a token.
    for method in [http::Method::GET, http::Method::DELETE] {
        let denied = app
            .clone()
            .oneshot(request(method.clone(), None, Some(&session)))
            .await
            .unwrap();
        assert_eq!(denied.status(), 401, "{method}");
    }
    // With it, GET opens the session's standalone SSE stream (not read: it stays open).
    let stream = app
        .clone()
        .oneshot(request(http::Method::GET, Some(&read), Some(&session)))
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    assert!(header_of(&stream, header::CONTENT_TYPE).starts_with("text/event-stream"));
    drop(stream);
    // DELETE ends the session; it is unknown afterwards.
    let ended = app
        .clone()
        .oneshot(request(http::Method::DELETE, Some(&read), Some(&session)))
        .await
        .unwrap();
    assert!(ended.status().is_success(), "{}", ended.status());
    let gone = app
        .oneshot(request(http::Method::GET, Some(&read), Some(&session)))
        .await
        .unwrap();
    assert_eq!(gone.status(), 404);
}
