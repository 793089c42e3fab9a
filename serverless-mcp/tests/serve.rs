//! `serverless-mcp serve` as a user runs it: a fresh data dir, the printed URLs, the metadata
//! answered on them, a clean stop on SIGTERM; and a bad setting stopping it with one line.

// Test helpers outside `#[test]` functions may fail loudly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::os::unix::fs::PermissionsExt as _;
use std::process::Command;
use std::time::{Duration, Instant};

mod common;

use common::{BIN, Server};

fn start() -> Server {
    let data_dir = std::env::temp_dir().join(format!("serve-e2e-{}", std::process::id()));
    let (server, mut lines) = common::start(data_dir.clone(), &data_dir.join("nested"), &[]);
    let base = server.base.clone();
    let printed: Vec<String> = lines.by_ref().take(5).map(Result::unwrap).collect();
    assert!(
        printed[0].contains(&format!("{base}/mcp")),
        "the MCP URL is printed: {printed:?}"
    );
    let login = printed[4]
        .strip_prefix("login: username=dev password=")
        .unwrap_or_else(|| panic!("the first start prints the dev login: {printed:?}"));
    assert_eq!(login.len(), 43, "a 256-bit random password");
    std::thread::spawn(move || for _ in lines {});
    server
}

/// An access token for `sub` signed with the key in serve's data dir `dir`, as authz would
/// issue it, with the instant it was minted.
async fn mint(
    server: &Server,
    dir: &std::path::Path,
    sub: &str,
) -> (shared::secret::Secret, shared::token::AccessClaims, i64) {
    let signer = std::sync::Arc::new(shared::token::LocalSigner::load_or_create(dir).unwrap());
    let issuer = shared::token::TokenIssuer::new(
        signer,
        server.base.clone(),
        format!("{}/mcp", server.base),
        300,
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let (token, minted) = issuer
        .mint(sub, "some-client", "costs:read", &[], now)
        .await
        .unwrap();
    (token, minted, now)
}

#[tokio::test]
async fn serve_starts_on_a_fresh_data_dir_answers_and_stops_on_sigterm() {
    let started = Instant::now();
    let mut server = start();
    let http = reqwest::Client::new();
    let metadata: serde_json::Value = http
        .get(format!(
            "{}/.well-known/oauth-authorization-server",
            server.base
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(metadata["issuer"], server.base.as_str());
    assert_eq!(
        metadata["registration_endpoint"],
        format!("{}/register", server.base)
    );
    let prm: serde_json::Value = http
        .get(format!(
            "{}/.well-known/oauth-protected-resource/mcp",
            server.base
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(prm["resource"], format!("{}/mcp", server.base));
    assert_eq!(prm["authorization_servers"][0], server.base.as_str());
    assert!(started.elapsed() < Duration::from_secs(10));

    // A token minted by the shared library with the data dir's key verifies against the
    // JWKS the server publishes.
    let dir = server.data_dir.join("nested");
    let jwks: shared::token::JwkSet = http
        .get(format!("{}/jwks.json", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (token, minted, now) = mint(&server, &dir, "someone").await;
    let verified =
        shared::token::AccessTokenVerifier::new(&server.base, format!("{}/mcp", server.base))
            .verify(
                token.expose(),
                &shared::token::VerificationKeys::from_jwks(&jwks),
                now,
            )
            .unwrap();
    assert_eq!(verified.jti, minted.jti);

    assert!(dir.join("state.db").is_file(), "the store was created");
    let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "the data dir is private");
    let key = std::fs::metadata(dir.join("signing-key.pem")).unwrap();
    assert_eq!(key.permissions().mode() & 0o777, 0o600);

    let status = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(exit) = server.child.try_wait().unwrap() {
            assert!(exit.success(), "clean exit on SIGTERM: {exit}");
            break;
        }
        assert!(Instant::now() < deadline, "serve did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_bad_setting_stops_serve_with_one_line_naming_it() {
    let cases = [
        (vec!["--issuer", "http://auth.example.com"], "SMCP_ISSUER"),
        (vec!["--resource", "not a url"], "SMCP_RESOURCE"),
    ];
    for (args, setting) in cases {
        let output = Command::new(BIN)
            .arg("serve")
            .args([
                "--addr",
                "127.0.0.1:0",
                "--data-dir",
                "/nonexistent/never-created",
            ])
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one line: {stderr}");
        assert!(
            lines[0].starts_with(&format!("error: {setting}: ")),
            "{stderr}"
        );
        assert!(!stderr.contains("panicked"));
    }
    let output = Command::new(BIN)
        .arg("serve")
        .args(["--addr", "127.0.0.1:0"])
        .env("SMCP_STORE", "postgres")
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr.starts_with("error: SMCP_STORE: "), "{stderr}");
}

#[test]
fn every_interface_without_an_issuer_names_the_flag_to_add() {
    let output = Command::new(BIN)
        .arg("serve")
        .args([
            "--addr",
            "0.0.0.0:0",
            "--data-dir",
            "/nonexistent/never-created",
        ])
        .env_remove("SMCP_ISSUER")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains("listens on every interface"), "{stderr}");
    assert!(stderr.contains("add --issuer https://"), "{stderr}");
    assert!(
        !stderr.contains("SMCP_ISSUER"),
        "no setting the user never set: {stderr}"
    );
}

#[tokio::test]
async fn the_origin_secret_is_applied_by_serve_as_on_lambda() {
    let data_dir = std::env::temp_dir().join(format!("serve-origin-{}", std::process::id()));
    let secret = "a-proxy-secret-0123456789";
    let (server, lines) = common::start(
        data_dir.clone(),
        &data_dir,
        &[("SMCP_ORIGIN_SECRET", secret)],
    );
    std::thread::spawn(move || for _ in lines {});
    let http = reqwest::Client::new();
    let metadata = format!("{}/.well-known/oauth-authorization-server", server.base);
    let direct = http.get(&metadata).send().await.unwrap();
    assert_eq!(direct.status(), reqwest::StatusCode::FORBIDDEN);
    let wrong = http
        .get(&metadata)
        .header("x-smcp-origin-secret", "not-the-secret-at-all")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), reqwest::StatusCode::FORBIDDEN);
    let proxied = http
        .get(&metadata)
        .header("x-smcp-origin-secret", secret)
        .send()
        .await
        .unwrap();
    assert_eq!(proxied.status(), reqwest::StatusCode::OK);
    let mcp = http
        .post(format!("{}/mcp", server.base))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(mcp.status(), reqwest::StatusCode::FORBIDDEN, "/mcp too");
    let probe = http
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        probe.status(),
        reqwest::StatusCode::OK,
        "the probe stays open"
    );
}

/// `SMCP_COST_SOURCE=aws`: Cost Explorer (moto) behind the same cache and per-user budget as
/// the Lambda function. Two identical calls reach Cost Explorer once; with a budget of one call
/// a day, a different question is refused; the loopback counters say so.
#[tokio::test]
async fn serve_answers_from_cost_explorer_through_the_cache_and_the_budget() {
    let endpoint = std::env::var("AWS_ENDPOINT_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .expect(
            "AWS_ENDPOINT_URL is not set: run the tests through tests/run.sh, which starts moto",
        );
    let http = reqwest::Client::new();
    let seeded = http
        .post(format!(
            "{endpoint}/moto-api/static/ce/cost-and-usage-results"
        ))
        .json(&serde_json::json!({
            "account_id": "123456789012",
            "results": [{
                "ResultsByTime": [{
                    "TimePeriod": {"Start": "2026-01-01", "End": "2026-02-01"},
                    "Total": {"UnblendedCost": {"Amount": "1234.5", "Unit": "USD"}},
                    "Groups": [],
                    "Estimated": false
                }],
                "DimensionValueAttributes": []
            }]
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(seeded.status(), reqwest::StatusCode::CREATED);

    let data_dir = std::env::temp_dir().join(format!("serve-aws-{}", std::process::id()));
    let (server, lines) = common::start(
        data_dir.clone(),
        &data_dir,
        &[
            ("SMCP_COST_SOURCE", "aws"),
            ("SMCP_ACCOUNT_SCOPES", r#"{"*":["*"]}"#),
            ("SMCP_COST_DAILY_BUDGET", "1"),
        ],
    );
    // The start-up lines, read on a thread so a missing line fails the test instead of
    // blocking it.
    let (sender, printed) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = Vec::new();
    while !seen.iter().any(|l: &String| l.contains("cost data:")) {
        let left = deadline.saturating_duration_since(Instant::now());
        match printed.recv_timeout(left) {
            Ok(line) => seen.push(line),
            Err(_) => break,
        }
    }
    assert!(
        seen.iter()
            .any(|l| l.contains("cost data: AWS Cost Explorer (answers cached 3600 s, 1 calls")),
        "serve says where cost data comes from: {seen:?}"
    );

    let (token, _, _) = mint(&server, &data_dir, "cost-reader").await;
    let call = |arguments: serde_json::Value| {
        http.post(format!("{}/mcp", server.base))
            .bearer_auth(token.expose())
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-06-18")
            .json(&serde_json::json!({
                "jsonrpc": "2.0", "id": 1, "method": "tools/call",
                "params": {"name": "get_cost_and_usage", "arguments": arguments}
            }))
            .send()
    };
    let january = serde_json::json!({
        "start_date": "2026-01-01", "end_date": "2026-01-31", "granularity": "MONTHLY"
    });
    // The second asks for a chart too: drawn from the cached Cost Explorer answer (the chart is
    // not part of the question, so it costs no second call).
    for (attempt, chart) in [
        ("first (Cost Explorer)", false),
        ("second (the cache)", true),
    ] {
        let mut arguments = january.clone();
        arguments["chart"] = serde_json::json!(chart);
        let answer: serde_json::Value = call(arguments).await.unwrap().json().await.unwrap();
        assert_eq!(answer["result"]["isError"], false, "{attempt}: {answer}");
        let content = answer["result"]["content"].as_array().unwrap();
        assert!(
            content[0].to_string().contains("1234.5"),
            "{attempt}: {answer}"
        );
        let images: Vec<_> = content
            .iter()
            .filter(|c| c["type"] == "image" && c["mimeType"] == "image/png")
            .collect();
        assert_eq!(images.len(), usize::from(chart), "{attempt}: {answer}");
        if let Some(image) = images.first() {
            use base64::Engine as _;
            let png = base64::engine::general_purpose::STANDARD
                .decode(image["data"].as_str().unwrap())
                .unwrap();
            assert!(
                png.starts_with(b"\x89PNG\r\n\x1a\n"),
                "{attempt}: not a PNG"
            );
        }
    }
    let february = serde_json::json!({
        "start_date": "2026-02-01", "end_date": "2026-02-28", "granularity": "MONTHLY"
    });
    let refused: serde_json::Value = call(february).await.unwrap().json().await.unwrap();
    assert_eq!(
        refused["result"]["isError"], true,
        "over the budget: {refused}"
    );
    assert!(
        refused.to_string().to_lowercase().contains("budget"),
        "{refused}"
    );

    let metrics = http
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for expected in [
        "CostExplorerCalls 1",
        "CostCacheHits 1",
        "CostBudgetsExhausted 1",
    ] {
        assert!(
            metrics.lines().any(|l| l == expected),
            "{expected} in:\n{metrics}"
        );
    }
}

/// `serve --no-mcp --resource <URL>`: the authorization server alone, for an MCP server that
/// runs elsewhere: no MCP endpoint or protected-resource metadata here, tokens (`resource`,
/// `aud`) for that URL, introspection advertised; without `--resource` it refuses to start.
#[tokio::test]
async fn no_mcp_serves_the_authorization_server_for_a_resource_elsewhere() {
    let output = Command::new(BIN)
        .arg("serve")
        .args([
            "--addr",
            "127.0.0.1:0",
            "--data-dir",
            "/nonexistent/never-created",
        ])
        .arg("--no-mcp")
        .env_remove("SMCP_RESOURCE")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains("--no-mcp: add --resource"), "{stderr}");

    let foreign = "http://127.0.0.1:9/tools/mcp";
    let data_dir = std::env::temp_dir().join(format!("serve-no-mcp-{}", std::process::id()));
    let (server, mut lines) = common::start_with(
        data_dir.clone(),
        &data_dir.join("nested"),
        &["--no-mcp"],
        &[("SMCP_RESOURCE", foreign)],
    );
    let printed = lines.next().unwrap().unwrap();
    assert!(
        printed.contains("--no-mcp") && printed.contains(foreign),
        "{printed}"
    );
    std::thread::spawn(move || for _ in lines {});
    let http = reqwest::Client::new();
    for path in ["/mcp", "/.well-known/oauth-protected-resource/mcp"] {
        let status = http
            .get(format!("{}{path}", server.base))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 404, "{path}");
    }
    let metadata: serde_json::Value = http
        .get(format!(
            "{}/.well-known/oauth-authorization-server",
            server.base
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        metadata["introspection_endpoint"],
        format!("{}/introspect", server.base)
    );
    // A token minted by the server's key is for the foreign resource, and verifies for it.
    let dir = server.data_dir.join("nested");
    let jwks: shared::token::JwkSet = http
        .get(format!("{}/jwks.json", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let signer = shared::token::LocalSigner::load_or_create(&dir).unwrap();
    let issuer = shared::token::TokenIssuer::new(
        std::sync::Arc::new(signer),
        server.base.clone(),
        foreign,
        600,
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let (token, _) = issuer
        .mint("someone", "c", "costs:read", &[], now)
        .await
        .unwrap();
    shared::token::AccessTokenVerifier::new(&server.base, foreign)
        .verify(
            token.expose(),
            &shared::token::VerificationKeys::from_jwks(&jwks),
            now,
        )
        .unwrap();
}

/// `SMCP_SCOPES` as `serve` reads it: with `--no-mcp` (the MCP server elsewhere declares its own
/// scopes) any catalogue is advertised; with the Cost Explorer server running here, a catalogue
/// with more than its scopes is advertised by the authorization server while the resource
/// metadata keeps the server's own.
#[tokio::test]
async fn serve_offers_the_configured_scopes() {
    let http = reqwest::Client::new();
    let get = |url: String| {
        let http = http.clone();
        async move {
            http.get(url)
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    let data_dir = std::env::temp_dir().join(format!("serve-scopes-{}", std::process::id()));
    let (server, lines) = common::start_with(
        data_dir.clone(),
        &data_dir.join("nested"),
        &["--no-mcp"],
        &[
            ("SMCP_RESOURCE", "http://127.0.0.1:9/files/mcp"),
            ("SMCP_SCOPES", "files:read,files:write"),
        ],
    );
    std::thread::spawn(move || for _ in lines {});
    let metadata = get(format!(
        "{}/.well-known/oauth-authorization-server",
        server.base
    ))
    .await;
    assert_eq!(
        metadata["scopes_supported"],
        serde_json::json!(["files:read", "files:write"])
    );
    drop(server);

    let data_dir = std::env::temp_dir().join(format!("serve-scopes-mcp-{}", std::process::id()));
    let (server, lines) = common::start(
        data_dir.clone(),
        &data_dir.join("nested"),
        &[("SMCP_SCOPES", "costs:read costs:resources reports:read")],
    );
    std::thread::spawn(move || for _ in lines {});
    let metadata = get(format!(
        "{}/.well-known/oauth-authorization-server",
        server.base
    ))
    .await;
    assert_eq!(
        metadata["scopes_supported"],
        serde_json::json!(["costs:read", "costs:resources", "reports:read"])
    );
    let resource = get(format!(
        "{}/.well-known/oauth-protected-resource/mcp",
        server.base
    ))
    .await;
    assert_eq!(
        resource["scopes_supported"],
        serde_json::json!(["costs:read", "costs:resources"])
    );
}
