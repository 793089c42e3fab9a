//! The example end to end with OAuth: the `hello-mcp` binary as a child process, hosted by
//! `McpHost::run` on its own port, protected by the serverless-mcp authorization server running
//! in this test over the same SQLite store (revocations) and serving the keys the child fetches
//! over HTTP. A client registers (RFC 7591), walks authorize → consent → login with PKCE, and
//! redeems the code; then: 401 without a token, the base-scope tool answers, the tool declared
//! with `costs:resources` is refused 403 `insufficient_scope` for a `costs:read` token and answers
//! for a token with both scopes, the metadata advertises the declared scopes, and a token revoked
//! at the authorization server is refused by the child at once.

// Test helpers outside `#[test]` functions may fail loudly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use serde_json::{Value, json};
use shared::clock::{Clock, SystemClock};
use shared::config::{Config, keys};
use shared::secret::{Secret, random_id};

const USER: &str = "alice";
const PASSWORD: &str = "a long enough password";
const REDIRECT: &str = "http://127.0.0.1:9/cb";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// The example's process and the data dir, both gone on drop.
struct Example {
    child: Child,
    data_dir: PathBuf,
}

impl Drop for Example {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

struct Stand {
    base: String,
    resource: String,
    http: reqwest::Client,
    _example: Example,
}

impl Stand {
    async fn new() -> Self {
        let data_dir = std::env::temp_dir().join(format!("hello-mcp-e2e-{}", random_id()));
        std::fs::create_dir_all(&data_dir).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let mut child = Command::new(env!("CARGO_BIN_EXE_hello-mcp"))
            .env_remove(keys::RESOURCE)
            .env_remove(keys::LAMBDA_FUNCTION)
            .env(keys::ISSUER, &base)
            .env(keys::DATA_DIR, &data_dir)
            .env(keys::STORE, "sqlite")
            .env("SMCP_ADDR", "127.0.0.1:0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let example = Example { child, data_dir };
        let first = lines.next().unwrap().unwrap();
        assert!(
            first.starts_with("listening on http://127.0.0.1:"),
            "{first}"
        );
        let second = lines.next().unwrap().unwrap();
        let resource = second
            .strip_prefix("  MCP server URL: ")
            .unwrap_or_else(|| panic!("unexpected line: {second}"))
            .to_owned();

        // The authorization server for that resource, over the store the example opened.
        let settings: HashMap<&str, String> = HashMap::from([
            (keys::ISSUER, base.clone()),
            (keys::RESOURCE, resource.clone()),
            (keys::DATA_DIR, example.data_dir.display().to_string()),
            (keys::COOKIE_KEY, "c".repeat(43)),
        ]);
        let config = Arc::new(Config::from_lookup(|key| settings.get(key).cloned()).unwrap());
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let aws = shared::aws::Aws::from_env();
        let stores = shared::store::connect(&config.store, clock.clone(), &aws)
            .await
            .unwrap();
        authz::upstream::local::add_user(
            &stores,
            USER,
            &Secret::new(PASSWORD),
            vec![],
            clock.now(),
        )
        .await
        .unwrap();
        let state = authz::AppState::from_config(config, stores, clock, &aws)
            .await
            .unwrap();
        let app = authz::app(state);
        tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .await
            .unwrap();
        });
        Self {
            base,
            resource,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            _example: example,
        }
    }

    /// A public client registered (RFC 7591) for the authorization code grant.
    async fn register(&self) -> String {
        let reply = self
            .http
            .post(format!("{}/register", self.base))
            .json(&json!({
                "redirect_uris": [REDIRECT],
                "token_endpoint_auth_method": "none",
                "grant_types": ["authorization_code"],
                "response_types": ["code"],
                "client_name": "hello-mcp test",
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 201);
        let body: Value = reply.json().await.unwrap();
        body["client_id"].as_str().unwrap().to_owned()
    }

    /// An access token for `scope`: authorize (PKCE, the example as `resource`), consent, log
    /// in, redeem the code.
    async fn token(&self, client_id: &str, scope: &str) -> String {
        let mut jar = HashMap::new();
        let authorize = format!(
            "{}/authorize?response_type=code&client_id={client_id}&redirect_uri={}\
             &code_challenge={CHALLENGE}&code_challenge_method=S256&state=s&scope={}&resource={}",
            self.base,
            encode(REDIRECT),
            encode(scope),
            encode(&self.resource),
        );
        let page = browse(&self.http, &mut jar, &authorize, None).await;
        assert_eq!(page.status(), 200);
        let page = page.text().await.unwrap();
        let consent = browse(
            &self.http,
            &mut jar,
            &format!("{}/consent", self.base),
            Some(&[
                ("request", &hidden(&page, "request")),
                ("client_id", client_id),
                ("csrf", &hidden(&page, "csrf")),
                ("decision", "approve"),
            ]),
        )
        .await;
        assert_eq!(consent.status(), 303);
        let form = browse(&self.http, &mut jar, &location(&consent), None).await;
        assert_eq!(form.status(), 200);
        let form = form.text().await.unwrap();
        let submitted = browse(
            &self.http,
            &mut jar,
            &format!("{}/login", self.base),
            Some(&[
                ("request", &hidden(&form, "request")),
                ("csrf", &hidden(&form, "csrf")),
                ("username", USER),
                ("password", PASSWORD),
            ]),
        )
        .await;
        assert_eq!(submitted.status(), 303);
        let back = browse(&self.http, &mut jar, &location(&submitted), None).await;
        assert_eq!(back.status(), 302);
        let code = url::Url::parse(&location(&back))
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .expect("a code");
        let reply = self
            .http
            .post(format!("{}/token", self.base))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
                ("client_id", client_id),
            ])
            .send()
            .await
            .unwrap();
        let body: Value = reply.json().await.unwrap();
        assert_eq!(body["scope"], json!(scope), "{body}");
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// A `tools/call` of `tool` at the example: (status, WWW-Authenticate, JSON-RPC answer).
    async fn call(
        &self,
        token: Option<&str>,
        tool: &str,
        arguments: Value,
    ) -> (u16, String, Value) {
        let mut request = self
            .http
            .post(&self.resource)
            .header("accept", "application/json, text/event-stream")
            .json(&json!({
                "jsonrpc": "2.0", "id": 1, "method": "tools/call",
                "params": { "name": tool, "arguments": arguments }
            }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let reply = request.send().await.unwrap();
        let status = reply.status().as_u16();
        let challenge = reply
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let text = reply.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        (status, challenge, body)
    }
}

#[tokio::test]
async fn the_example_is_protected_end_to_end() {
    let stand = Stand::new().await;
    let metadata_url = format!(
        "{}/.well-known/oauth-protected-resource/mcp",
        stand.resource.trim_end_matches("/mcp")
    );

    // No token: 401 naming the metadata and the base scope.
    let (status, challenge, _) = stand.call(None, "hello", json!({"name": "Ada"})).await;
    assert_eq!(status, 401);
    assert_eq!(
        challenge,
        format!("Bearer resource_metadata=\"{metadata_url}\", scope=\"costs:read\"")
    );

    // The metadata: this resource, this issuer, the scopes the example declared.
    let metadata: Value = stand
        .http
        .get(&metadata_url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(metadata["resource"], json!(stand.resource));
    assert_eq!(metadata["authorization_servers"], json!([stand.base]));
    assert_eq!(
        metadata["scopes_supported"],
        json!(["costs:read", "costs:resources"])
    );
    assert_eq!(metadata["resource_name"], json!("Hello (MCP)"));

    // A costs:read token: the base tool answers, the declared one is refused before dispatch.
    let client = stand.register().await;
    let read = stand.token(&client, "costs:read").await;
    let (status, _, body) = stand
        .call(Some(&read), "hello", json!({"name": "Ada"}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["result"]["content"][0]["text"],
        json!("Hello, Ada!"),
        "{body}"
    );
    let (status, challenge, body) = stand.call(Some(&read), "secret", json!({})).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        challenge.starts_with(
            "Bearer error=\"insufficient_scope\", scope=\"costs:read costs:resources\", \
             resource_metadata="
        ),
        "{challenge}"
    );
    assert_eq!(body["error"], json!("insufficient_scope"));

    // With both scopes the declared tool answers, and it sees the verified caller.
    let both = stand.token(&client, "costs:read costs:resources").await;
    let (status, _, body) = stand.call(Some(&both), "secret", json!({})).await;
    assert_eq!(status, 200, "{body}");
    let text = body["result"]["content"][0]["text"].as_str().unwrap();
    assert!(text.ends_with(", the secret is 42."), "{text}");
    assert!(!text.starts_with("nobody"), "{text}");

    // Revoked at the authorization server (RFC 7009): refused by the example at once.
    let reply = stand
        .http
        .post(format!("{}/revoke", stand.base))
        .form(&[("token", both.as_str()), ("client_id", client.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    let (status, challenge, _) = stand.call(Some(&both), "secret", json!({})).await;
    assert_eq!(status, 401);
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
}

fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// GET or POST (form) as a browser would: sends the cookies of `jar` and keeps what the answer
/// sets. Redirects are the caller's to follow.
async fn browse(
    http: &reqwest::Client,
    jar: &mut HashMap<String, String>,
    url: &str,
    form: Option<&[(&str, &str)]>,
) -> reqwest::Response {
    let cookie = jar
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let request = match form {
        Some(form) => http.post(url).form(form),
        None => http.get(url),
    };
    let reply = request.header("cookie", cookie).send().await.unwrap();
    for set in reply.headers().get_all("set-cookie") {
        let pair = set.to_str().unwrap().split(';').next().unwrap();
        let (k, v) = pair.split_once('=').unwrap();
        jar.insert(k.to_owned(), v.to_owned());
    }
    reply
}

fn location(reply: &reqwest::Response) -> String {
    reply.headers()["location"].to_str().unwrap().to_owned()
}

fn hidden(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.find(&marker).unwrap() + marker.len();
    let end = page[start..].find('"').unwrap() + start;
    page[start..end]
        .replace("&#43;", "+")
        .replace("&#x2b;", "+")
}

/// The example declares `costs:read` and `costs:resources`: against an authorization server
/// offering other scopes (`SMCP_SCOPES`) it stops at start-up, naming the scope missing.
#[test]
fn the_example_refuses_to_start_without_its_scopes_offered() {
    let data_dir = std::env::temp_dir().join(format!("hello-mcp-scopes-{}", random_id()));
    let output = Command::new(env!("CARGO_BIN_EXE_hello-mcp"))
        .env_remove(keys::RESOURCE)
        .env_remove(keys::LAMBDA_FUNCTION)
        .env(keys::ISSUER, "http://127.0.0.1:9")
        .env(keys::DATA_DIR, &data_dir)
        .env(keys::STORE, "sqlite")
        .env(keys::SCOPES, "costs:read files:read")
        .env("SMCP_ADDR", "127.0.0.1:0")
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&data_dir);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("SMCP_SCOPES: the server declares the scopes costs:resources that"),
        "{stderr}"
    );
    assert!(
        !String::from_utf8_lossy(&output.stdout).contains("listening on"),
        "refused only after listening"
    );
}
