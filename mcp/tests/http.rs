//! Router tests through `app(state).oneshot(…)`: every Resource-server line of SECURITY.md, and
//! the MCP lifecycle (initialize or discover, tools/list, tools/call) on sample data for each
//! protocol version served.

// Test helpers outside #[test] functions may panic too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{Request, Response, StatusCode, header};
use http_body_util::BodyExt as _;
use mcp::access::AccountScopes;
use mcp::{AppState, InProcessJwks, McpSettings, app};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use shared::clock::{Clock, ManualClock};
use shared::config::Config;
use shared::store::Stores;
use shared::store::sqlite::SqliteBackend;
use shared::token::{LocalSigner, Signer, TokenIssuer};
use tower::ServiceExt as _;

const ISS: &str = "http://127.0.0.1:8080";
const RESOURCE: &str = "http://127.0.0.1:8080/mcp";
const HOST: &str = "127.0.0.1:8080";
const NOW: i64 = 1_800_000_000;
const PRM: &str = "http://127.0.0.1:8080/.well-known/oauth-protected-resource/mcp";

struct Keys {
    signer: Arc<LocalSigner>,
    issuer: TokenIssuer,
    other: Arc<LocalSigner>,
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("mcp-http-test-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// One key pair for the whole binary (RSA generation is the slow part).
fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let signer = Arc::new(LocalSigner::load_or_create(&temp_dir("main")).unwrap());
        let other = Arc::new(LocalSigner::load_or_create(&temp_dir("other")).unwrap());
        let issuer = TokenIssuer::new(signer.clone(), ISS, RESOURCE, 3600);
        Keys {
            signer,
            issuer,
            other,
        }
    })
}

fn config() -> Arc<Config> {
    let pairs = [("SMCP_ISSUER", ISS), ("SMCP_RESOURCE", RESOURCE)];
    Arc::new(
        Config::from_lookup(|k| {
            pairs
                .iter()
                .find(|(key, _)| *key == k)
                .map(|(_, v)| (*v).to_owned())
        })
        .unwrap(),
    )
}

fn state_with(scopes: AccountScopes) -> AppState {
    let config = config();
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::at(NOW));
    let stores = Stores::new(Arc::new(SqliteBackend::in_memory().unwrap()), clock.clone());
    let mut settings = McpSettings::defaults(&config);
    settings.account_scopes = scopes;
    let jwks = Arc::new(InProcessJwks::new(|| keys().issuer.jwks()));
    AppState::embedded(config, settings, &stores, clock, jwks)
}

fn state() -> AppState {
    state_with(AccountScopes::everyone())
}

async fn token(scope: &str, groups: &[&str]) -> String {
    let groups: Vec<String> = groups.iter().map(|g| (*g).to_owned()).collect();
    let (token, _) = keys()
        .issuer
        .mint("user-1", "client-1", scope, &groups, NOW)
        .await
        .unwrap();
    token.expose().to_owned()
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

fn header_json() -> Value {
    json!({ "alg": "RS256", "typ": "at+jwt", "kid": keys().signer.kid() })
}

fn claims() -> Value {
    json!({
        "iss": ISS, "sub": "user-1", "aud": RESOURCE, "client_id": "client-1",
        "scope": "costs:read", "iat": NOW, "exp": NOW + 600, "jti": "j-1", "groups": [],
    })
}

fn with(mut value: Value, key: &str, new: Value) -> Value {
    value[key] = new;
    value
}

async fn forge(signer: &dyn Signer, header: &Value, claims: &Value) -> String {
    let input = format!("{}.{}", b64(header), b64(claims));
    let signature = signer.sign(input.as_bytes()).await.unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// HMAC-SHA256 (RFC 2104), for the algorithm-confusion forgery.
fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let inner: Vec<u8> = block
        .iter()
        .map(|b| b ^ 0x36)
        .chain(message.iter().copied())
        .collect();
    let inner = Sha256::digest(&inner);
    let outer: Vec<u8> = block
        .iter()
        .map(|b| b ^ 0x5c)
        .chain(inner.iter().copied())
        .collect();
    Sha256::digest(&outer).to_vec()
}

fn mcp_request(token: Option<&str>, body: &Value) -> http::request::Builder {
    let mut builder = Request::post("/mcp")
        .header(header::HOST, HOST)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT, "application/json, text/event-stream");
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let _ = body;
    builder
}

async fn send(state: &AppState, request: Request<Body>) -> Response<Body> {
    app(state.clone()).oneshot(request).await.unwrap()
}

async fn post(state: &AppState, token: Option<&str>, body: Value) -> Response<Body> {
    let request = mcp_request(token, &body)
        .body(Body::from(body.to_string()))
        .unwrap();
    send(state, request).await
}

async fn body_json(response: Response<Body>) -> Value {
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    if let Ok(value) = serde_json::from_str(&text) {
        return value;
    }
    // An SSE stream: the last `data:` line holds the result.
    let data = text
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(str::trim)
        .rfind(|l| !l.is_empty());
    serde_json::from_str(data.unwrap_or("null")).unwrap_or(Value::Null)
}

fn challenge(response: &Response<Body>) -> String {
    response
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

fn tools_list() -> Value {
    json!({ "jsonrpc": "2.0", "id": 2, "method": "tools/list" })
}

fn call(name: &str, arguments: Value) -> Value {
    json!({ "jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": { "name": name, "arguments": arguments } })
}

#[tokio::test]
async fn no_token_is_challenged() {
    let response = post(&state(), None, tools_list()).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        challenge(&response),
        format!("Bearer resource_metadata=\"{PRM}\", scope=\"costs:read\"")
    );
}

#[tokio::test]
async fn refused_tokens_answer_invalid_token() {
    let k = keys();
    let (n, e) = {
        let jwk = k.signer.public_jwks().remove(0);
        (jwk.n, jwk.e)
    };
    let public_pem_like = format!("{n}.{e}");
    let hs256_input = format!(
        "{}.{}",
        b64(&json!({ "alg": "HS256", "typ": "at+jwt", "kid": k.signer.kid() })),
        b64(&claims())
    );
    let hs256 = format!(
        "{hs256_input}.{}",
        URL_SAFE_NO_PAD.encode(hmac_sha256(
            public_pem_like.as_bytes(),
            hs256_input.as_bytes()
        ))
    );
    let cases: Vec<(&str, String)> = vec![
        (
            "unknown key",
            forge(
                k.other.as_ref(),
                &json!({ "alg": "RS256", "typ": "at+jwt", "kid": k.other.kid() }),
                &claims(),
            )
            .await,
        ),
        (
            "alg none",
            format!(
                "{}.{}.",
                b64(&with(header_json(), "alg", json!("none"))),
                b64(&claims())
            ),
        ),
        ("HS256 keyed with the public key", hs256),
        (
            "wrong typ",
            forge(
                k.signer.as_ref(),
                &with(header_json(), "typ", json!("JWT")),
                &claims(),
            )
            .await,
        ),
        (
            "expired",
            forge(
                k.signer.as_ref(),
                &header_json(),
                &with(claims(), "exp", json!(NOW - 120)),
            )
            .await,
        ),
        (
            "not yet valid",
            forge(
                k.signer.as_ref(),
                &header_json(),
                &with(claims(), "nbf", json!(NOW + 600)),
            )
            .await,
        ),
        (
            "wrong iss",
            forge(
                k.signer.as_ref(),
                &header_json(),
                &with(claims(), "iss", json!("https://evil.example")),
            )
            .await,
        ),
        (
            "wrong aud",
            forge(
                k.signer.as_ref(),
                &header_json(),
                &with(claims(), "aud", json!("https://other.example/mcp")),
            )
            .await,
        ),
        ("garbage", "not.a.token".to_owned()),
    ];
    let state = state();
    // A well-formed token works, so the refusals below are about the token.
    let good = forge(k.signer.as_ref(), &header_json(), &claims()).await;
    assert_eq!(
        post(&state, Some(&good), tools_list()).await.status(),
        StatusCode::OK
    );
    for (what, token) in cases {
        let response = post(&state, Some(&token), tools_list()).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{what}");
        let c = challenge(&response);
        assert!(
            c.starts_with(&format!("Bearer resource_metadata=\"{PRM}\", scope=\"costs:read\", error=\"invalid_token\", error_description=\"")),
            "{what}: {c}"
        );
        assert!(
            !c.contains(&token),
            "{what}: the challenge echoes the token"
        );
    }
}

#[tokio::test]
async fn a_token_in_the_query_string_is_ignored() {
    let token = token("costs:read", &[]).await;
    let body = tools_list();
    let request = Request::post(format!("/mcp?access_token={token}"))
        .header(header::HOST, HOST)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT, "application/json, text/event-stream")
        .body(Body::from(body.to_string()))
        .unwrap();
    let response = send(&state(), request).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(!challenge(&response).contains("error="));
}

#[tokio::test]
async fn resource_tool_without_the_scope_is_forbidden_with_insufficient_scope() {
    let state = state();
    let read_only = token("costs:read", &[]).await;
    let arguments = json!({ "service": "Amazon Elastic Compute Cloud - Compute", "start_date": "2027-01-10", "end_date": "2027-01-14" });
    let response = post(
        &state,
        Some(&read_only),
        call("get_cost_and_usage_with_resources", arguments.clone()),
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        challenge(&response),
        format!(
            "Bearer error=\"insufficient_scope\", scope=\"costs:read costs:resources\", resource_metadata=\"{PRM}\", error_description=\"this request needs the scopes costs:read costs:resources\""
        )
    );
    let both = token("costs:read costs:resources", &[]).await;
    let response = post(
        &state,
        Some(&both),
        call("get_cost_and_usage_with_resources", arguments),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = body_json(response).await;
    assert_eq!(body["result"]["isError"], json!(false), "{body}");
    let groups = &body["result"]["structuredContent"]["periods"][0]["groups"];
    assert!(
        groups
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["keys"][0].as_str().unwrap().starts_with("i-")),
        "{body}"
    );
    // A token without costs:read gets nothing at all.
    let none = token("", &[]).await;
    let response = post(&state, Some(&none), tools_list()).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(challenge(&response).contains("scope=\"costs:read\""));
}

#[tokio::test]
async fn host_and_origin_must_be_ours() {
    let state = state();
    let token = token("costs:read", &[]).await;
    let body = tools_list().to_string();
    let bad_host = Request::post("/mcp")
        .header(header::HOST, "evil.example")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT, "application/json, text/event-stream")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::from(body.clone()))
        .unwrap();
    assert_eq!(send(&state, bad_host).await.status(), StatusCode::FORBIDDEN);
    let bad_origin = mcp_request(Some(&token), &tools_list())
        .header(header::ORIGIN, "https://evil.example")
        .body(Body::from(body.clone()))
        .unwrap();
    assert_eq!(
        send(&state, bad_origin).await.status(),
        StatusCode::FORBIDDEN
    );
    let own_origin = mcp_request(Some(&token), &tools_list())
        .header(header::ORIGIN, "http://127.0.0.1:8080")
        .body(Body::from(body))
        .unwrap();
    let response = send(&state, own_origin).await;
    assert_eq!(response.status(), StatusCode::OK);
    let exposed = response
        .headers()
        .get(header::ACCESS_CONTROL_EXPOSE_HEADERS)
        .unwrap()
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(exposed.contains("www-authenticate"), "{exposed}");
}

/// A browser client (the MCP Inspector's web UI, an MCP App host) asks before every POST: an
/// allowed page origin gets `Access-Control-Allow-Origin` and every header a 2026-07-28 request
/// carries (`Mcp-Method`, `Mcp-Name` besides the version and auth headers); another origin gets
/// no CORS grant at all.
#[tokio::test]
async fn browser_preflights_from_an_allowed_origin_are_answered() {
    let state = state();
    let preflight = |origin: &str| {
        Request::builder()
            .method("OPTIONS")
            .uri("/mcp")
            .header(header::HOST, HOST)
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .header(
                header::ACCESS_CONTROL_REQUEST_HEADERS,
                "authorization,content-type,mcp-protocol-version,mcp-method,mcp-name",
            )
            .body(Body::empty())
            .unwrap()
    };
    let response = send(&state, preflight("http://127.0.0.1:8080")).await;
    assert!(response.status().is_success(), "{}", response.status());
    assert_eq!(
        response
            .headers()
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .unwrap(),
        "http://127.0.0.1:8080"
    );
    let allowed = response
        .headers()
        .get(header::ACCESS_CONTROL_ALLOW_HEADERS)
        .unwrap()
        .to_str()
        .unwrap()
        .to_lowercase();
    for name in [
        "authorization",
        "content-type",
        "mcp-protocol-version",
        "mcp-method",
        "mcp-name",
    ] {
        assert!(
            allowed.split(',').any(|h| h.trim() == name),
            "{name} not in {allowed}"
        );
    }
    let foreign = send(&state, preflight("https://evil.example")).await;
    assert!(
        foreign
            .headers()
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .is_none()
    );
}

#[tokio::test]
async fn get_and_delete_are_not_allowed() {
    for method in ["GET", "DELETE"] {
        let request = Request::builder()
            .method(method)
            .uri("/mcp")
            .header(header::HOST, HOST)
            .body(Body::empty())
            .unwrap();
        let response = send(&state(), request).await;
        assert_eq!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method}"
        );
        assert_eq!(
            response.headers().get(header::ALLOW).unwrap(),
            "POST",
            "{method}"
        );
    }
}

#[tokio::test]
async fn a_limited_user_cannot_read_other_accounts() {
    let state = state_with(
        AccountScopes::parse_json(r#"{"web": ["222222222222", "333333333333"], "finance": ["*"]}"#)
            .unwrap(),
    );
    let web = token("costs:read", &["web"]).await;
    let by_account = json!({ "start_date": "2026-12-01", "end_date": "2026-12-31", "group_by": [{ "dimension": "LINKED_ACCOUNT" }] });
    let body = body_json(
        post(
            &state,
            Some(&web),
            call("get_cost_and_usage", by_account.clone()),
        )
        .await,
    )
    .await;
    let groups: Vec<&str> = body["result"]["structuredContent"]["periods"][0]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["keys"][0].as_str().unwrap())
        .collect();
    assert_eq!(groups, ["222222222222", "333333333333"], "{body}");

    let sneaky = json!({
        "start_date": "2026-12-01", "end_date": "2026-12-31",
        "filter": { "dimension": { "key": "LINKED_ACCOUNT", "values": ["444444444444"] } },
    });
    let body = body_json(post(&state, Some(&web), call("get_cost_and_usage", sneaky)).await).await;
    assert_eq!(body["result"]["isError"], json!(true), "{body}");
    assert!(
        body["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("444444444444")
    );

    let accounts = json!({ "dimension": "LINKED_ACCOUNT", "start_date": "2026-12-01", "end_date": "2026-12-31" });
    let body =
        body_json(post(&state, Some(&web), call("get_dimension_values", accounts)).await).await;
    assert_eq!(
        body["result"]["structuredContent"]["values"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "{body}"
    );

    let anomalies = json!({ "start_date": "2026-10-01", "end_date": "2027-01-15" });
    let body =
        body_json(post(&state, Some(&web), call("get_anomalies", anomalies.clone())).await).await;
    for anomaly in body["result"]["structuredContent"]["anomalies"]
        .as_array()
        .unwrap()
    {
        for cause in anomaly["rootCauses"]
            .as_array()
            .or(anomaly["root_causes"].as_array())
            .unwrap()
        {
            assert!(
                ["222222222222", "333333333333"]
                    .contains(&cause["linked_account"].as_str().unwrap()),
                "{body}"
            );
        }
    }

    let finance = token("costs:read", &["finance"]).await;
    let body = body_json(
        post(
            &state,
            Some(&finance),
            call("get_cost_and_usage", by_account),
        )
        .await,
    )
    .await;
    assert_eq!(
        body["result"]["structuredContent"]["periods"][0]["groups"]
            .as_array()
            .unwrap()
            .len(),
        4,
        "{body}"
    );
    let nobody = token("costs:read", &["sales"]).await;
    let body =
        body_json(post(&state, Some(&nobody), call("get_today_date", json!({}))).await).await;
    assert_eq!(body["result"]["isError"], json!(false), "{body}");
    let body = body_json(post(&state, Some(&nobody), call("get_anomalies", anomalies)).await).await;
    assert_eq!(body["result"]["isError"], json!(true), "{body}");
}

/// The lifecycle for one protocol version: `initialize` (or `server/discover` for 2026-07-28),
/// `tools/list`, and calls of several tools.
async fn lifecycle(version: &str) {
    let state = state();
    let token = token("costs:read", &[]).await;
    let modern = version >= "2026-07-28";
    let meta = json!({
        "io.modelcontextprotocol/protocolVersion": version,
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": { "name": "test", "version": "1" },
    });
    let send_rpc = |method: &str, id: u32, params: Value, name: Option<&str>| {
        let mut params = params;
        if modern {
            params["_meta"] = meta.clone();
        }
        let body = json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params });
        let mut builder = mcp_request(Some(&token), &body);
        if method != "initialize" {
            builder = builder.header("mcp-protocol-version", version);
        }
        if modern {
            builder = builder.header("mcp-method", method);
            if let Some(name) = name {
                builder = builder.header("mcp-name", name);
            }
        }
        let request = builder.body(Body::from(body.to_string())).unwrap();
        let state = state.clone();
        let method = method.to_owned();
        async move {
            let response = send(&state, request).await;
            assert_eq!(response.status(), StatusCode::OK, "{version} {method}");
            body_json(response).await
        }
    };

    if modern {
        let discovered = send_rpc("server/discover", 1, json!({}), None).await;
        let versions = discovered["result"]["supportedVersions"]
            .as_array()
            .or(discovered["result"]["protocolVersions"].as_array());
        assert!(discovered["result"].is_object(), "{version}: {discovered}");
        if let Some(versions) = versions {
            assert!(versions.contains(&json!(version)), "{discovered}");
        }
    } else {
        let init = send_rpc(
            "initialize",
            1,
            json!({ "protocolVersion": version, "capabilities": {}, "clientInfo": { "name": "test", "version": "1" } }),
            None,
        )
        .await;
        assert_eq!(init["result"]["protocolVersion"], json!(version), "{init}");
        assert!(init["result"]["capabilities"]["tools"].is_object());
        // Declared for the MCP App view (before it, the server declared tools only).
        assert!(
            init["result"]["capabilities"]["resources"].is_object(),
            "{init}"
        );
    }

    let list = send_rpc("tools/list", 2, json!({}), None).await;
    let tools = list["result"]["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("{version}: {list}"));
    assert_eq!(tools.len(), 14, "{version}");
    for tool in tools {
        assert_eq!(tool["annotations"]["readOnlyHint"], json!(true), "{tool}");
        assert_eq!(tool["inputSchema"]["type"], json!("object"), "{tool}");
        assert_eq!(tool["outputSchema"]["type"], json!("object"), "{tool}");
    }

    let today = send_rpc(
        "tools/call",
        3,
        json!({ "name": "get_today_date", "arguments": {} }),
        Some("get_today_date"),
    )
    .await;
    assert_eq!(
        today["result"]["structuredContent"]["today"],
        json!("2027-01-15"),
        "{version}: {today}"
    );

    let costs = send_rpc(
        "tools/call",
        4,
        json!({ "name": "get_cost_and_usage", "arguments": {
            "start_date": "2026-10-01", "end_date": "2026-12-31", "granularity": "MONTHLY",
            "metrics": ["UnblendedCost", "UsageQuantity"], "group_by": [{ "dimension": "SERVICE" }]
        }}),
        Some("get_cost_and_usage"),
    )
    .await;
    let periods = costs["result"]["structuredContent"]["periods"]
        .as_array()
        .unwrap_or_else(|| panic!("{costs}"));
    assert_eq!(periods.len(), 3);

    let forecast = send_rpc(
        "tools/call",
        5,
        json!({ "name": "get_cost_forecast", "arguments": { "end_date": "2027-03-31", "prediction_interval_level": 95 } }),
        Some("get_cost_forecast"),
    )
    .await;
    assert!(
        forecast["result"]["structuredContent"]["total"]["amount"]
            .as_f64()
            .unwrap()
            > 0.0,
        "{forecast}"
    );

    let bad = send_rpc(
        "tools/call",
        6,
        json!({ "name": "get_cost_and_usage", "arguments": { "start_date": "2026-02-30", "end_date": "2026-03-31" } }),
        Some("get_cost_and_usage"),
    )
    .await;
    assert_eq!(bad["result"]["isError"], json!(true), "{bad}");
    assert!(
        bad["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with("start_date:"),
        "{bad}"
    );

    let tags = send_rpc(
        "tools/call",
        7,
        json!({ "name": "get_tag_values", "arguments": { "tag_key": "team", "start_date": "2026-12-01", "end_date": "2026-12-31" } }),
        Some("get_tag_values"),
    )
    .await;
    assert_eq!(
        tags["result"]["structuredContent"]["tags"],
        json!(["data", "platform", "web"]),
        "{tags}"
    );

    // The MCP App (SEP-1865): the series tools name the view, which resources/list lists and
    // resources/read returns as HTML with the extension's MIME type and its CSP.
    const VIEW: &str = "ui://aws-costs/cost-view.html";
    for tool in tools {
        let name = tool["name"].as_str().unwrap();
        let declares = [
            "get_cost_and_usage",
            "get_cost_forecast",
            "get_usage_forecast",
        ]
        .contains(&name);
        let uri = &tool["_meta"]["ui"]["resourceUri"];
        assert_eq!(uri == &json!(VIEW), declares, "{version}: {tool}");
    }
    let listed = send_rpc("resources/list", 8, json!({}), None).await;
    assert_eq!(
        listed["result"]["resources"][0]["uri"],
        json!(VIEW),
        "{version}: {listed}"
    );
    let read = send_rpc("resources/read", 9, json!({ "uri": VIEW }), Some(VIEW)).await;
    let content = &read["result"]["contents"][0];
    assert_eq!(
        content["mimeType"],
        json!("text/html;profile=mcp-app"),
        "{version}: {read}"
    );
    assert!(
        content["text"]
            .as_str()
            .unwrap()
            .starts_with("<!doctype html>")
    );
    assert!(content["_meta"]["ui"]["csp"].is_object(), "{read}");
}

#[tokio::test]
async fn lifecycle_2025_03_26() {
    lifecycle("2025-03-26").await;
}

#[tokio::test]
async fn lifecycle_2025_06_18() {
    lifecycle("2025-06-18").await;
}

#[tokio::test]
async fn lifecycle_2025_11_25() {
    lifecycle("2025-11-25").await;
}

#[tokio::test]
async fn lifecycle_2026_07_28() {
    lifecycle("2026-07-28").await;
}

#[tokio::test]
async fn every_tool_answers_on_sample_data() {
    let state = state();
    let token = token("costs:read costs:resources", &[]).await;
    let cases = [
        (
            "get_dimension_values",
            json!({ "dimension": "SERVICE", "start_date": "2026-12-01", "end_date": "2026-12-31", "search": "amazon" }),
        ),
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
            json!({ "start_date": "2026-10-01", "end_date": "2027-01-15" }),
        ),
        (
            "get_savings_plans_utilization",
            json!({ "start_date": "2026-12-01", "end_date": "2026-12-31" }),
        ),
        (
            "get_savings_plans_coverage",
            json!({ "start_date": "2026-12-01", "end_date": "2026-12-31", "group_by": { "dimension": "LINKED_ACCOUNT" } }),
        ),
        (
            "get_reservation_utilization",
            json!({ "start_date": "2026-12-01", "end_date": "2026-12-31", "granularity": "DAILY" }),
        ),
        (
            "get_reservation_coverage",
            json!({ "start_date": "2026-12-01", "end_date": "2026-12-31" }),
        ),
    ];
    for (name, arguments) in cases {
        let body = body_json(post(&state, Some(&token), call(name, arguments)).await).await;
        assert_eq!(body["result"]["isError"], json!(false), "{name}: {body}");
        assert!(
            body["result"]["structuredContent"].is_object(),
            "{name}: {body}"
        );
    }
    let past = body_json(
        post(
            &state,
            Some(&token),
            call(
                "get_cost_forecast",
                json!({ "start_date": "2026-12-01", "end_date": "2027-02-28" }),
            ),
        )
        .await,
    )
    .await;
    assert_eq!(past["result"]["isError"], json!(true));
    assert!(
        past["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with("start_date:"),
        "{past}"
    );
}

#[tokio::test]
async fn metadata_stays_outside_the_auth_layer() {
    let request = Request::get("/.well-known/oauth-protected-resource/mcp")
        .header(header::HOST, HOST)
        .body(Body::empty())
        .unwrap();
    let response = send(&state(), request).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = body_json(response).await;
    assert_eq!(body["resource"], json!(RESOURCE));
}

#[tokio::test]
async fn a_revoked_access_token_is_refused() {
    let config = config();
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::at(NOW));
    let stores = Stores::new(Arc::new(SqliteBackend::in_memory().unwrap()), clock.clone());
    let jwks = Arc::new(InProcessJwks::new(|| keys().issuer.jwks()));
    let settings = McpSettings::defaults(&config);
    let state = AppState::embedded(config, settings, &stores, clock, jwks);
    let (token, claims) = keys()
        .issuer
        .mint("user-1", "client-1", "costs:read", &[], NOW)
        .await
        .unwrap();
    let response = post(&state, Some(token.expose()), tools_list()).await;
    assert_eq!(response.status(), StatusCode::OK, "valid before revocation");
    stores
        .revocations
        .revoke(shared::store::Revoked::Token(&claims.jti), claims.exp + 30)
        .await
        .unwrap();
    let response = post(&state, Some(token.expose()), tools_list()).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(challenge(&response).contains("error=\"invalid_token\""));
    // A tool call starts beside its revocation check (the cache read overlaps it), and still
    // gets the 401, never the tool's answer.
    let response = post(
        &state,
        Some(token.expose()),
        call("get_today_date", json!({})),
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(challenge(&response).contains("error=\"invalid_token\""));
    assert_eq!(body_json(response).await["error"], "invalid_token");
}

/// A store that cannot be read (the revocation list unreachable).
struct Unreachable;

#[async_trait::async_trait]
impl shared::store::item::ItemBackend for Unreachable {
    async fn get(
        &self,
        _: &str,
        _: &str,
        _: i64,
    ) -> Result<Option<shared::store::item::Item>, shared::store::StoreError> {
        Err(shared::store::StoreError::Unavailable("down".into()))
    }
    async fn put(
        &self,
        _: &shared::store::item::Item,
        _: shared::store::item::Condition,
        _: i64,
    ) -> Result<bool, shared::store::StoreError> {
        Err(shared::store::StoreError::Unavailable("down".into()))
    }
    async fn put_all(
        &self,
        _: &[(shared::store::item::Item, shared::store::item::Condition)],
        _: i64,
    ) -> Result<bool, shared::store::StoreError> {
        Err(shared::store::StoreError::Unavailable("down".into()))
    }
    async fn take(
        &self,
        _: &str,
        _: &str,
        _: i64,
    ) -> Result<Option<shared::store::item::Item>, shared::store::StoreError> {
        Err(shared::store::StoreError::Unavailable("down".into()))
    }
    async fn query(
        &self,
        _: shared::store::item::Index,
        _: &str,
        _: &str,
        _: Option<&str>,
        _: usize,
        _: i64,
    ) -> Result<Vec<shared::store::item::Item>, shared::store::StoreError> {
        Err(shared::store::StoreError::Unavailable("down".into()))
    }
    async fn increment(
        &self,
        _: &str,
        _: &str,
        _: i64,
        _: i64,
    ) -> Result<u64, shared::store::StoreError> {
        Err(shared::store::StoreError::Unavailable("down".into()))
    }
}

#[tokio::test]
async fn an_unreadable_revocation_list_is_503_never_a_pass() {
    let config = config();
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::at(NOW));
    let stores = Stores::new(Arc::new(Unreachable), clock.clone());
    let jwks = Arc::new(InProcessJwks::new(|| keys().issuer.jwks()));
    let settings = McpSettings::defaults(&config);
    let state = AppState::embedded(config, settings, &stores, clock, jwks);
    let token = token("costs:read", &[]).await;
    let store_errors = || {
        shared::metrics::totals()
            .series
            .iter()
            .find(|s| s.name == "StoreErrors")
            .map_or(0, |s| s.value)
    };
    let errors_before = store_errors();
    let response = post(&state, Some(&token), tools_list()).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    // Counted for the operators (process-wide; other tests only ever add to it).
    assert!(store_errors() > errors_before);
    assert_eq!(
        response.headers().get(header::CACHE_CONTROL).unwrap(),
        "no-store"
    );
    assert_eq!(
        body_json(response).await["error"],
        "temporarily_unavailable"
    );
    let response = post(&state, Some(&token), call("get_today_date", json!({}))).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        body_json(response).await["error"],
        "temporarily_unavailable"
    );
}

/// Keys that cannot be had (the authorization server unreachable).
struct NoKeys;

#[async_trait::async_trait]
impl mcp::JwksSource for NoKeys {
    async fn fetch(&self) -> Result<shared::token::JwkSet, mcp::auth::JwksError> {
        Err(mcp::auth::JwksError("unreachable".into()))
    }
}

#[tokio::test]
async fn unreachable_signing_keys_are_503_never_a_pass() {
    let config = config();
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::at(NOW));
    let stores = Stores::new(Arc::new(SqliteBackend::in_memory().unwrap()), clock.clone());
    let settings = McpSettings::defaults(&config);
    let state = AppState::embedded(config, settings, &stores, clock, Arc::new(NoKeys));
    let token = token("costs:read", &[]).await;
    let response = post(&state, Some(&token), tools_list()).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().get(header::RETRY_AFTER).is_some());
    assert_eq!(
        body_json(response).await["error"],
        "temporarily_unavailable"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn bearer_tokens_never_reach_the_logs() {
    let captured = shared::telemetry::Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(captured.clone())
        .with_ansi(false)
        .json()
        .with_current_span(true)
        .with_span_list(true)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    // The production layers (request spans, ids, response logs) around the MCP router.
    let router = shared::telemetry::observe(app(state()));
    let good = token("costs:read", &[]).await;
    let narrow = token("", &[]).await;
    let mut tampered = good.clone();
    tampered.push('x');
    for (bearer, body) in [
        (good.as_str(), tools_list()),
        (
            good.as_str(),
            call("get_cost_and_usage_with_resources", json!({})),
        ),
        (narrow.as_str(), tools_list()),
        (tampered.as_str(), tools_list()),
    ] {
        let request = mcp_request(Some(bearer), &body)
            .body(Body::from(body.to_string()))
            .unwrap();
        let response = router.clone().oneshot(request).await.unwrap();
        let _ = response.into_body().collect().await;
    }
    let logs = captured.text();
    assert!(
        logs.contains("finished processing request"),
        "logs captured: {logs}"
    );
    for secret in [&good, &narrow, &tampered] {
        // Neither the token nor its signature (the part that makes it a bearer credential).
        let signature = secret.rsplit('.').next().unwrap();
        assert!(!logs.contains(secret.as_str()), "a bearer token was logged");
        assert!(!logs.contains(signature), "a token signature was logged");
    }
}
