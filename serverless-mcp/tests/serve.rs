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
    let signer = std::sync::Arc::new(shared::token::LocalSigner::load_or_create(&dir).unwrap());
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
        .mint("someone", "some-client", "costs:read", &[], now)
        .await
        .unwrap();
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
