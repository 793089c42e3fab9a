//! The operator counters: a full flow through both servers, each wrapped in the EMF layer the
//! Lambda functions use (lines captured instead of written to stdout), yields exactly the
//! expected counts, in documents CloudWatch accepts, with no user, client, token or address
//! anywhere in them; `serve` shows the same counters on `/metrics`; the template alarms on them
//! and docs/operations.md lists them.
//!
//! The counters are process-wide, so this binary holds one in-process flow only (the `serve`
//! test runs a child process).

// Test helpers outside `#[test]` functions may fail loudly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{hidden, location};

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use shared::clock::{Clock, ManualClock};
use shared::config::{Config, keys};
use shared::secret::{Secret, random_id};
use shared::store::Stores;
use shared::store::sqlite::SqliteBackend;

const T0: i64 = 1_767_225_600;
const USER: &str = "alice";
const PASSWORD: &str = "a long enough password";
const REDIRECT: &str = "http://127.0.0.1:9/cb";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const NAMESPACE: &str = "ServerlessMcp/telemetry-test";

/// Both servers as the Lambda functions run them (each behind the EMF layer), over one store,
/// with a metered cost source (a one-call daily budget) and a clock the test moves.
struct Stand {
    base: String,
    resource: String,
    clock: Arc<ManualClock>,
    http: reqwest::Client,
    lines: Arc<Mutex<Vec<String>>>,
    data_dir: std::path::PathBuf,
}

impl Drop for Stand {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

impl Stand {
    async fn new() -> Self {
        let clock = Arc::new(ManualClock::at(T0));
        let dyn_clock: Arc<dyn Clock> = clock.clone();
        let stores = Stores::new(
            Arc::new(SqliteBackend::in_memory().unwrap()),
            dyn_clock.clone(),
        );
        let groups = vec!["finance".to_owned()];
        authz::upstream::local::add_user(&stores, USER, &Secret::new(PASSWORD), groups, T0)
            .await
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let data_dir = std::env::temp_dir().join(format!("telemetry-{}", random_id()));
        std::fs::create_dir_all(&data_dir).unwrap();
        let settings: HashMap<&str, String> = HashMap::from([
            (keys::ISSUER, base.clone()),
            (keys::RESOURCE, format!("{base}/mcp")),
            (keys::DATA_DIR, data_dir.display().to_string()),
            (keys::COOKIE_KEY, "c".repeat(43)),
            (keys::METRICS_NAMESPACE, NAMESPACE.to_owned()),
        ]);
        let config = Arc::new(Config::from_lookup(|key| settings.get(key).cloned()).unwrap());

        let aws = shared::aws::Aws::from_env();
        let authz_state =
            authz::AppState::from_config(config.clone(), stores.clone(), dyn_clock.clone(), &aws)
                .await
                .unwrap();
        let tokens = authz_state.tokens.clone();
        let jwks = Arc::new(mcp::InProcessJwks::new(move || tokens.jwks()));
        let mut mcp_settings = mcp::McpSettings::defaults(&config);
        mcp_settings.account_scopes =
            mcp::access::AccountScopes::parse_json(r#"{"finance": ["*"]}"#).unwrap();
        mcp_settings.meter.daily_call_budget = 1;
        let cost = Arc::new(mcp::cost::sample::SampleCostSource::new(dyn_clock.clone()).metered());
        let mcp_state =
            mcp::AppState::new(config.clone(), mcp_settings, &stores, dyn_clock, jwks, cost);

        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink: shared::telemetry::MetricSink = {
            let lines = lines.clone();
            Arc::new(move |line: &str| lines.lock().unwrap().push(line.to_owned()))
        };
        let namespace = &config.metrics_namespace;
        let app = shared::telemetry::emit_metrics(
            authz::app(authz_state),
            namespace,
            "authz",
            sink.clone(),
        )
        .merge(shared::telemetry::emit_metrics(
            mcp::app(mcp_state),
            namespace,
            "mcp",
            sink,
        ));
        tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .await
            .unwrap();
        });
        Self {
            resource: config.resource.clone(),
            base,
            clock,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            lines,
            data_dir,
        }
    }

    async fn register(&self) -> String {
        let reply = self
            .http
            .post(format!("{}/register", self.base))
            .json(&json!({
                "redirect_uris": [REDIRECT],
                "token_endpoint_auth_method": "none",
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
                "client_name": "Telemetry test",
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 201);
        let body: Value = reply.json().await.unwrap();
        body["client_id"].as_str().unwrap().to_owned()
    }

    /// The browser leg in a fresh browser: authorize, the consent `decision`, then (approved)
    /// a wrong password `wrong_passwords` times and the right one; returns the code.
    async fn code(
        &self,
        client_id: &str,
        decision: &str,
        wrong_passwords: usize,
    ) -> Option<String> {
        let mut jar = HashMap::new();
        let authorize = format!(
            "{}/authorize?response_type=code&client_id={client_id}&redirect_uri={}\
             &code_challenge={CHALLENGE}&code_challenge_method=S256&state=s",
            self.base,
            url::form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect::<String>()
        );
        let page = common::browse(&self.http, &mut jar, &authorize, None).await;
        assert_eq!(page.status(), 200);
        let page = page.text().await.unwrap();
        let consent = common::browse(
            &self.http,
            &mut jar,
            &format!("{}/consent", self.base),
            Some(&[
                ("request", &hidden(&page, "request")),
                ("client_id", client_id),
                ("csrf", &hidden(&page, "csrf")),
                ("decision", decision),
            ]),
        )
        .await;
        assert_eq!(consent.status(), 303);
        if decision != "approve" {
            return None;
        }
        let login = location(&consent);
        let mut form = common::browse(&self.http, &mut jar, &login, None)
            .await
            .text()
            .await
            .unwrap();
        for attempt in 0..=wrong_passwords {
            let password = if attempt < wrong_passwords {
                "not the password"
            } else {
                PASSWORD
            };
            let submitted = common::browse(
                &self.http,
                &mut jar,
                &format!("{}/login", self.base),
                Some(&[
                    ("request", &hidden(&form, "request")),
                    ("csrf", &hidden(&form, "csrf")),
                    ("username", USER),
                    ("password", password),
                ]),
            )
            .await;
            if attempt < wrong_passwords {
                assert_eq!(submitted.status(), 401, "the form again");
                form = submitted.text().await.unwrap();
                continue;
            }
            assert_eq!(submitted.status(), 303);
            let back = common::browse(&self.http, &mut jar, &location(&submitted), None).await;
            assert_eq!(back.status(), 302);
            let to_client = url::Url::parse(&location(&back)).unwrap();
            return to_client
                .query_pairs()
                .find(|(k, _)| k == "code")
                .map(|(_, v)| v.into_owned());
        }
        None
    }

    async fn token(&self, form: &[(&str, &str)]) -> (u16, Value) {
        let reply = self
            .http
            .post(format!("{}/token", self.base))
            .form(form)
            .send()
            .await
            .unwrap();
        (reply.status().as_u16(), reply.json().await.unwrap())
    }

    /// (access token, refresh token) for a fresh approved authorization.
    async fn tokens(&self, client_id: &str, wrong_passwords: usize) -> (String, String) {
        let code = self
            .code(client_id, "approve", wrong_passwords)
            .await
            .unwrap();
        let (status, body) = self
            .token(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
                ("client_id", client_id),
            ])
            .await;
        assert_eq!(status, 200, "{body}");
        (
            body["access_token"].as_str().unwrap().to_owned(),
            body["refresh_token"].as_str().unwrap().to_owned(),
        )
    }

    async fn refresh(&self, client_id: &str, refresh_token: &str) -> (u16, Value) {
        self.token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", client_id),
        ])
        .await
    }

    /// Calls `tool` on the MCP endpoint: (HTTP status, JSON-RPC body if any).
    async fn call(&self, bearer: Option<&str>, tool: &str, arguments: Value) -> (u16, Value) {
        let mut request = self
            .http
            .post(&self.resource)
            .header("accept", "application/json, text/event-stream")
            .json(&json!({
                "jsonrpc": "2.0", "id": 1, "method": "tools/call",
                "params": { "name": tool, "arguments": arguments },
            }));
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let reply = request.send().await.unwrap();
        let status = reply.status().as_u16();
        (status, reply.json().await.unwrap_or(Value::Null))
    }

    /// The captured EMF documents, once `expected` counts are all in (the last request's batch
    /// is written when its response body is dropped, which may follow the client's read).
    async fn settled(&self, expected: &BTreeMap<String, u64>) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let docs: Vec<Value> = self
                .lines
                .lock()
                .unwrap()
                .iter()
                .map(|line| serde_json::from_str(line).unwrap())
                .collect();
            if &counts(&docs) == expected || Instant::now() > deadline {
                return docs;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// The dimension keys of a document's (single) directive.
fn dimension_keys(doc: &Value) -> Vec<String> {
    doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect()
}

/// Sum per `Metric` or `Metric{Dimension=value}` over all documents.
fn counts(docs: &[Value]) -> BTreeMap<String, u64> {
    let mut sums = BTreeMap::new();
    for doc in docs {
        let labels: Vec<String> = dimension_keys(doc)
            .iter()
            .map(|k| format!("{k}={}", doc[k].as_str().unwrap()))
            .collect();
        for metric in doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
        {
            let name = metric["Name"].as_str().unwrap();
            let key = if labels.is_empty() {
                name.to_owned()
            } else {
                format!("{name}{{{}}}", labels.join(","))
            };
            *sums.entry(key).or_insert(0) += doc[name].as_u64().unwrap();
        }
    }
    sums
}

fn expected(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

#[tokio::test]
async fn a_full_flow_emits_emf_with_the_expected_counts_and_no_identifiers() {
    let started_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let stand = Stand::new().await;
    let client = stand.register().await;

    // One wrong password, then tokens.
    let (access, refresh) = stand.tokens(&client, 1).await;

    // The MCP endpoint: no token, a forged one, then tool calls through the meter (budget 1).
    let november = json!({"start_date": "2025-11-01", "end_date": "2025-11-30"});
    let december = json!({"start_date": "2025-12-01", "end_date": "2025-12-31"});
    assert_eq!(stand.call(None, "get_today_date", json!({})).await.0, 401);
    assert_eq!(
        stand
            .call(Some("not.a.token"), "get_today_date", json!({}))
            .await
            .0,
        401
    );
    let (status, body) = stand.call(Some(&access), "get_today_date", json!({})).await;
    assert_eq!(status, 200, "{body}");
    for (arguments, refused) in [(&november, false), (&november, false), (&december, true)] {
        let (status, body) = stand
            .call(Some(&access), "get_cost_and_usage", arguments.clone())
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body["result"]["isError"].as_bool() == Some(true),
            refused,
            "{body}"
        );
    }
    let (status, _) = stand
        .call(
            Some(&access),
            "get_cost_and_usage_with_resources",
            november.clone(),
        )
        .await;
    assert_eq!(status, 403, "costs:resources was not granted");
    let (status, _) = stand.call(Some(&access), "no_such_tool", json!({})).await;
    assert_eq!(status, 200, "a JSON-RPC error, not counted as a tool");

    // Refresh, then the superseded token again past the grace window: reuse.
    let (status, body) = stand.refresh(&client, &refresh).await;
    assert_eq!(status, 200, "{body}");
    let refreshed = body["access_token"].as_str().unwrap().to_owned();
    stand.clock.advance(120);
    assert_eq!(stand.refresh(&client, &refresh).await.0, 400);
    assert_eq!(
        stand
            .call(Some(&refreshed), "get_today_date", json!({}))
            .await
            .0,
        401,
        "revoked with its grant"
    );

    // A second authorization, its access token revoked by the client (RFC 7009).
    let (second, _) = stand.tokens(&client, 0).await;
    let reply = stand
        .http
        .post(format!("{}/revoke", stand.base))
        .form(&[
            ("token", second.as_str()),
            ("token_type_hint", "access_token"),
            ("client_id", client.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    assert_eq!(
        stand
            .call(Some(&second), "get_today_date", json!({}))
            .await
            .0,
        401
    );

    // A third authorization, denied on the consent page.
    assert!(stand.code(&client, "deny", 0).await.is_none());

    let want = expected(&[
        ("ClientsRegistered", 1),
        ("AuthorizationsStarted", 3),
        ("AuthorizationsApproved", 2),
        ("AuthorizationsDenied", 1),
        ("LoginsFailed", 1),
        ("TokensIssued", 2),
        ("TokensRefreshed", 1),
        ("RefreshTokenReuse", 1),
        ("TokensRevoked", 1),
        ("CostExplorerCalls", 1),
        ("CostCacheHits", 1),
        ("CostBudgetsExhausted", 1),
        ("McpUnauthorized{Reason=missing_token}", 1),
        ("McpUnauthorized{Reason=invalid_token}", 1),
        ("McpUnauthorized{Reason=revoked_token}", 2),
        ("McpForbidden{Reason=insufficient_scope}", 1),
        ("ToolCalls{Tool=get_today_date}", 1),
        ("ToolCalls{Tool=get_cost_and_usage}", 3),
    ]);
    let docs = stand.settled(&want).await;
    assert_eq!(counts(&docs), want);

    let finished_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let authz_metrics = [
        "ClientsRegistered",
        "AuthorizationsStarted",
        "AuthorizationsApproved",
        "AuthorizationsDenied",
        "LoginsFailed",
        "TokensIssued",
        "TokensRefreshed",
        "RefreshTokenReuse",
        "TokensRevoked",
    ];
    let lines = stand.lines.lock().unwrap().clone();
    let identifiers = [
        client.as_str(),
        USER,
        "127.0.0.1",
        &access,
        &refresh,
        &second,
    ];
    for (line, doc) in lines.iter().zip(&docs) {
        // The documented shape: a timestamp, one directive, every reference present.
        let at = doc["_aws"]["Timestamp"].as_u64().unwrap();
        assert!((started_ms..=finished_ms + 5_000).contains(&at), "{line}");
        let directives = doc["_aws"]["CloudWatchMetrics"].as_array().unwrap();
        assert_eq!(directives.len(), 1, "{line}");
        assert_eq!(directives[0]["Namespace"], NAMESPACE, "{line}");
        let keys = dimension_keys(doc);
        assert!(keys.len() <= 1, "{line}");
        for key in &keys {
            let value = doc[key].as_str().unwrap();
            match key.as_str() {
                "Tool" => assert!(
                    ["get_today_date", "get_cost_and_usage"].contains(&value),
                    "{line}"
                ),
                "Reason" => assert!(
                    shared::metrics::Refusal::ALL
                        .iter()
                        .any(|r| r.reason() == value),
                    "{line}"
                ),
                other => panic!("unexpected dimension {other}: {line}"),
            }
        }
        for metric in directives[0]["Metrics"].as_array().unwrap() {
            assert_eq!(metric["Unit"], "Count", "{line}");
            let name = metric["Name"].as_str().unwrap();
            assert!(
                doc[name].as_u64().unwrap() > 0,
                "only non-zero counters: {line}"
            );
            let service = if authz_metrics.contains(&name) {
                "authz"
            } else {
                "mcp"
            };
            assert_eq!(
                doc["Service"], service,
                "{name} from its own server: {line}"
            );
        }
        // Nothing that names a user, a client, a token or an address.
        for identifier in identifiers {
            assert!(!line.contains(identifier), "{identifier} in {line}");
        }
    }
}

#[tokio::test]
async fn serve_shows_the_counters_on_metrics() {
    let data_dir = std::env::temp_dir().join(format!("telemetry-serve-{}", random_id()));
    let (server, lines) = common::start(data_dir.clone(), &data_dir, &[]);
    std::thread::spawn(move || for _ in lines {});
    let http = reqwest::Client::new();
    let refused = http
        .post(format!("{}/mcp", server.base))
        .header("accept", "application/json, text/event-stream")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let page = http
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = page.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines.contains(&"McpUnauthorized{Reason=\"missing_token\"} 1"),
        "{text}"
    );
    assert!(lines.contains(&"TokensIssued 0"), "{text}");
    assert!(
        lines.contains(&"ToolCalls{Tool=\"get_cost_and_usage\"} 0"),
        "every tool is listed: {text}"
    );
    for metric in shared::metrics::Metric::ALL {
        assert!(
            lines
                .iter()
                .any(|l| l.split(' ').next() == Some(metric.name())),
            "{} listed: {text}",
            metric.name()
        );
    }
}

/// A template value as YAML text (short-form tags kept), e.g. `!Ref AlarmTopic`.
fn yaml(value: &serde_norway::Value) -> String {
    serde_norway::to_string(value).unwrap().trim().to_owned()
}

/// The template alarms on what the functions emit (names from `shared::metrics`, in the
/// namespace the functions are given), on the functions' errors and throttles, and notifies
/// the topic; reserved concurrency and the WAF rate rule are there, off by default.
#[test]
fn the_template_alarms_on_the_emitted_metrics() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let text = std::fs::read_to_string(root.join("deploy/template.yaml")).unwrap();
    let template: serde_norway::Value = serde_norway::from_str(&text).unwrap();
    let resources = template["Resources"].as_mapping().unwrap();
    let namespace = "!Sub ServerlessMcp/${AWS::StackName}";

    for function in ["AuthzFunction", "McpFunction"] {
        let properties = &template["Resources"][function]["Properties"];
        assert_eq!(
            yaml(&properties["Environment"]["Variables"]["SMCP_METRICS_NAMESPACE"]),
            namespace,
            "{function}"
        );
        assert!(
            yaml(&properties["ReservedConcurrentExecutions"]).contains("AWS::NoValue"),
            "{function}: reserved concurrency, off unless set"
        );
    }
    for (parameter, default) in [
        ("AlarmEmail", ""),
        ("ReuseAlarmThreshold", "5"),
        ("AuthzReservedConcurrency", "0"),
        ("McpReservedConcurrency", "0"),
        ("WafRateLimit", "0"),
        ("WebAclArn", ""),
    ] {
        let value = &template["Parameters"][parameter]["Default"];
        let text = value
            .as_str()
            .map(str::to_owned)
            .or_else(|| value.as_u64().map(|n| n.to_string()))
            .unwrap_or_else(|| panic!("{parameter} has a default"));
        assert_eq!(text, default, "{parameter}");
    }

    let emitted: Vec<&str> = shared::metrics::Metric::ALL
        .iter()
        .map(|m| m.name())
        .collect();
    let mut alarmed = Vec::new();
    for (name, resource) in resources {
        if resource["Type"].as_str() != Some("AWS::CloudWatch::Alarm") {
            continue;
        }
        let name = name.as_str().unwrap();
        let properties = &resource["Properties"];
        assert_eq!(
            yaml(&properties["AlarmActions"]),
            "- !Ref AlarmTopic",
            "{name} notifies the topic"
        );
        let metric = properties["MetricName"].as_str().unwrap();
        let target = if properties["Namespace"].as_str() == Some("AWS/Lambda") {
            yaml(&properties["Dimensions"])
        } else {
            assert_eq!(yaml(&properties["Namespace"]), namespace, "{name}");
            assert!(emitted.contains(&metric), "{name}: {metric} is emitted");
            "own".to_owned()
        };
        alarmed.push(format!("{metric} {target}"));
    }
    alarmed.sort();
    let lambda = |metric: &str, function: &str| {
        format!("{metric} - Name: FunctionName\n  Value: !Ref {function}")
    };
    let mut want = vec![
        lambda("Errors", "AuthzFunction"),
        lambda("Errors", "McpFunction"),
        lambda("Throttles", "AuthzFunction"),
        lambda("Throttles", "McpFunction"),
        "RefreshTokenReuse own".to_owned(),
        "StoreErrors own".to_owned(),
    ];
    want.sort();
    assert_eq!(alarmed, want);
    assert_eq!(
        yaml(&template["Resources"]["AlarmEmailSubscription"]["Condition"]),
        "HasAlarmEmail"
    );

    let acl = &template["Resources"]["WebAcl"];
    assert_eq!(acl["Condition"].as_str(), Some("CreateWebAcl"));
    assert_eq!(acl["Properties"]["Scope"].as_str(), Some("CLOUDFRONT"));
    assert!(yaml(&acl["Properties"]["Rules"]).contains("RateBasedStatement"));
    let attached = yaml(
        &template["Resources"]["Distribution"]["Properties"]["DistributionConfig"]["WebACLId"],
    );
    assert!(attached.contains("WebAcl.Arn") && attached.contains("WebAclArn"));
}

/// docs/operations.md names every metric, dimension and refusal reason the code emits.
#[test]
fn the_operations_doc_lists_every_metric() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let doc = std::fs::read_to_string(root.join("docs/operations.md")).unwrap();
    let mut names: Vec<&str> = shared::metrics::Metric::ALL
        .iter()
        .map(|m| m.name())
        .collect();
    names.extend([
        shared::metrics::UNAUTHORIZED,
        shared::metrics::FORBIDDEN,
        shared::metrics::TOOL_CALLS,
        shared::metrics::TOOL_DIMENSION,
        shared::metrics::REASON_DIMENSION,
    ]);
    names.extend(shared::metrics::Refusal::ALL.iter().map(|r| r.reason()));
    for name in names {
        assert!(doc.contains(&format!("`{name}`")), "{name} is documented");
    }
}
