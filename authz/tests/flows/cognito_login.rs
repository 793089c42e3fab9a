//! The Cognito login leg (`upstream::cognito::CognitoLogin`) against a real OIDC provider:
//! `tests/oidc/provider.mjs` (oidc-provider, pinned) set up like Cognito managed login, driven
//! through /authorize → consent → the provider → /callback → /token.

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use shared::config::keys;

use crate::support::*;

/// The provider's fixed user (see provider.mjs).
pub(crate) const UPSTREAM_SUB: &str = "5c6f3a1e-8d2b-4f7a-9e01-3b4c5d6e7f80";
const UPSTREAM_CLIENT: &str = "cognito-app-client";
/// Characters that must be form-encoded in `client_secret_basic` (RFC 6749 §2.3.1).
const UPSTREAM_SECRET: &str = "s3cr3t+/=:%x";

/// The oidc-provider process, stopped when dropped.
pub(crate) struct OidcProvider {
    child: Child,
    pub(crate) issuer: String,
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

impl OidcProvider {
    /// Starts the provider on a free loopback port. A missing Node fails the test: it is never
    /// skipped.
    pub(crate) fn start(redirect_uri: &str) -> Self {
        let node = Command::new("node").arg("--version").output();
        assert!(
            node.is_ok_and(|o| o.status.success()),
            "node is required for the OIDC login tests: run them through tests/run.sh"
        );
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/oidc");
        assert!(
            dir.join("node_modules/oidc-provider").is_dir(),
            "tests/oidc has no node_modules: run the tests through tests/run.sh, which runs \
             `npm ci` there"
        );
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let mut child = Command::new("node")
            .current_dir(&dir)
            .args([
                "provider.mjs",
                &port.to_string(),
                UPSTREAM_CLIENT,
                UPSTREAM_SECRET,
                redirect_uri,
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(issuer) = line.strip_prefix("listening ") {
                    tx.send(issuer.to_owned()).ok();
                }
            }
        });
        let provider = |issuer| Self { child, issuer };
        match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(issuer) => provider(issuer),
            Err(_) => {
                drop(provider(String::new()));
                panic!("the OIDC provider did not start within 20 s");
            }
        }
    }
}

/// A browser at the provider: follows its redirects, keeps its cookies, and stops at the first
/// redirect that leaves it.
pub(crate) async fn through_provider(provider: &OidcProvider, start: &str) -> url::Url {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut cookies: Vec<(String, String)> = Vec::new();
    let mut at = url::Url::parse(start).unwrap();
    for _ in 0..10 {
        let cookie = cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let answer = http
            .get(at.clone())
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        for set in answer.headers().get_all("set-cookie") {
            let pair = set.to_str().unwrap().split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            cookies.retain(|(k, _)| k != name);
            if !value.is_empty() {
                cookies.push((name.to_owned(), value.to_owned()));
            }
        }
        let status = answer.status();
        let Some(location) = answer.headers().get("location") else {
            panic!(
                "the provider answered {status} without a redirect: {}",
                answer.text().await.unwrap_or_default()
            );
        };
        let next = at.join(location.to_str().unwrap()).unwrap();
        if !next.as_str().starts_with(&provider.issuer) {
            return next;
        }
        at = next;
    }
    panic!("too many redirects at the provider");
}

/// The test configuration with the Cognito login leg pointed at `provider`.
pub(crate) fn cognito_login_config(provider: &OidcProvider) -> shared::config::Config {
    cognito_login_config_at(
        "us-east-1_AbCdEf123",
        &format!("{}/.well-known/openid-configuration", provider.issuer),
        provider,
    )
}

/// As [`cognito_login_config`], with the user pool `pool` (the directory's, e.g. moto's) and
/// the discovery document at `discovery_url`.
pub(crate) fn cognito_login_config_at(
    pool: &str,
    discovery_url: &str,
    provider: &OidcProvider,
) -> shared::config::Config {
    config_with(
        ISSUER,
        &[
            (keys::LOGIN, "cognito".into()),
            (keys::COGNITO_REGION, "us-east-1".into()),
            (keys::COGNITO_USER_POOL_ID, pool.into()),
            (keys::COGNITO_DOMAIN, provider.issuer.clone()),
            (keys::COGNITO_CLIENT_ID, UPSTREAM_CLIENT.into()),
            (keys::COGNITO_CLIENT_SECRET, UPSTREAM_SECRET.into()),
            (keys::COGNITO_DISCOVERY_URL, discovery_url.into()),
        ],
    )
}

impl OidcProvider {
    /// Calls one of the stand-in's test controls (see provider.mjs).
    pub(crate) async fn control(&self, path: &str) {
        let answer = reqwest::Client::new()
            .post(format!("{}{path}", self.issuer))
            .send()
            .await
            .unwrap();
        assert!(answer.status().is_success(), "{path}: {}", answer.status());
    }
}

/// Authorize and consent at our server, log in at the provider, and return to our /callback:
/// our answer to the callback (the redirect to the client, or an error).
pub(crate) async fn login_through(stand: &Stand, provider: &OidcProvider) -> Reply {
    let mut browser = Browser::default();
    let page = stand
        .get(&stand.authorize_url(PUBLIC, REDIRECT, &[]), "")
        .await;
    browser.absorb(&page);
    assert_eq!(page.status, StatusCode::OK, "consent page: {}", page.body);
    let consent = stand.approve(&page, PUBLIC, &mut browser).await;
    assert_eq!(consent.status, StatusCode::SEE_OTHER, "{}", consent.body);
    let back = through_provider(provider, consent.location_url().as_str()).await;
    let path = back.as_str().strip_prefix(ISSUER).unwrap().to_owned();
    stand.get(&path, &browser.header()).await
}

fn jwt_claims(token: &str) -> serde_json::Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[tokio::test]
async fn cognito_login_through_a_real_oidc_provider_issues_tokens_for_the_upstream_user() {
    let callback = format!("{ISSUER}/callback");
    let provider = OidcProvider::start(&callback);
    let stand = Stand::with_config(cognito_login_config(&provider)).await;

    // Our consent page, then the upstream's authorization endpoint.
    let mut browser = Browser::default();
    let page = stand
        .get(&stand.authorize_url(PUBLIC, REDIRECT, &[]), "")
        .await;
    browser.absorb(&page);
    assert_eq!(page.status, StatusCode::OK, "consent page: {}", page.body);
    let consent = stand.approve(&page, PUBLIC, &mut browser).await;
    assert_eq!(consent.status, StatusCode::SEE_OTHER, "{}", consent.body);
    let login = consent.location_url();
    assert_eq!(
        login.as_str().split('?').next(),
        Some(format!("{}/oauth2/authorize", provider.issuer).as_str())
    );
    assert_eq!(param(&login, "response_type").as_deref(), Some("code"));
    assert_eq!(param(&login, "client_id").as_deref(), Some(UPSTREAM_CLIENT));
    assert_eq!(
        param(&login, "redirect_uri").as_deref(),
        Some(callback.as_str())
    );
    assert_eq!(
        param(&login, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert!(param(&login, "nonce").is_some_and(|n| n.len() >= 22));

    // The provider logs its user in and returns to our callback.
    let back = through_provider(&provider, login.as_str()).await;
    assert!(back.as_str().starts_with(&callback), "{back}");
    assert!(param(&back, "code").is_some(), "{back}");
    assert_eq!(
        param(&back, "iss").as_deref(),
        Some(provider.issuer.as_str())
    );
    let path = back.as_str().strip_prefix(ISSUER).unwrap();
    let to_client = stand.get(path, &browser.header()).await;
    assert_eq!(
        to_client.status,
        StatusCode::FOUND,
        "callback: {}",
        to_client.body
    );
    let to_client = to_client.location_url();
    assert!(to_client.as_str().starts_with(REDIRECT), "{to_client}");
    assert_eq!(param(&to_client, "state").as_deref(), Some("st-123"));
    assert_eq!(param(&to_client, "iss").as_deref(), Some(ISSUER));
    let code = param(&to_client, "code").expect("a code for the client");

    // The client redeems it; the token speaks for the upstream user with its groups.
    let reply = stand
        .token(
            &public(),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let claims = jwt_claims(reply.json()["access_token"].as_str().unwrap());
    assert_eq!(claims["sub"], UPSTREAM_SUB);
    assert_eq!(claims["groups"], serde_json::json!(["finance", "web"]));
    assert_eq!(claims["client_id"], PUBLIC);
    // What the ID token said about the user is kept for operators.
    let profiles = stand
        .stores
        .profiles
        .get_many(&[UPSTREAM_SUB.to_owned()])
        .await
        .unwrap();
    let profile = &profiles[UPSTREAM_SUB];
    assert_eq!(profile.username.as_deref(), Some("alice"));
    assert_eq!(profile.email.as_deref(), Some("alice@example.com"));
    assert_eq!(profile.groups, ["finance", "web"]);

    // The upstream code is single use: replaying the callback gets nothing.
    let replay = stand.get(path, &browser.header()).await;
    assert_ne!(replay.status, StatusCode::FOUND, "{}", replay.body);
}

/// A token the upstream signed with its ID-token key but whose `token_use` is not `id` (a
/// Cognito access token is signed by the same pool keys) is not accepted as the login: the
/// client gets `access_denied` and no code.
#[tokio::test]
async fn an_upstream_token_whose_token_use_is_not_id_is_refused() {
    let provider = OidcProvider::start(&format!("{ISSUER}/callback"));
    let stand = Stand::with_config(cognito_login_config(&provider)).await;
    provider.control("/test/token-use/access").await;
    let reply = login_through(&stand, &provider).await;
    assert_eq!(reply.status, StatusCode::FOUND, "{}", reply.body);
    let to_client = reply.location_url();
    assert!(to_client.as_str().starts_with(REDIRECT), "{to_client}");
    assert_eq!(
        param(&to_client, "error").as_deref(),
        Some("access_denied"),
        "{to_client}"
    );
    assert_eq!(param(&to_client, "code"), None);

    // The same provider with ID tokens marked as such logs the user in.
    provider.control("/test/token-use/id").await;
    let reply = login_through(&stand, &provider).await;
    assert!(
        param(&reply.location_url(), "code").is_some(),
        "{}",
        reply.location()
    );
}

/// A discovery document naming another issuer than the one expected (the discovery URL less
/// `/.well-known/openid-configuration`; by default the pool's issuer) is refused: the upstream
/// login never starts and the client gets `temporarily_unavailable`.
#[tokio::test]
async fn a_discovery_document_naming_another_issuer_is_refused() {
    let provider = OidcProvider::start(&format!("{ISSUER}/callback"));
    // The same document, fetched through another name of the host: it names
    // http://127.0.0.1:<port>, while http://localhost:<port> is expected.
    let other_name = provider.issuer.replace("127.0.0.1", "localhost");
    let config = cognito_login_config_at(
        "us-east-1_AbCdEf123",
        &format!("{other_name}/.well-known/openid-configuration"),
        &provider,
    );
    let stand = Stand::with_config(config).await;
    let mut browser = Browser::default();
    let page = stand
        .get(&stand.authorize_url(PUBLIC, REDIRECT, &[]), "")
        .await;
    browser.absorb(&page);
    let consent = stand.approve(&page, PUBLIC, &mut browser).await;
    let to = consent.location_url();
    assert!(to.as_str().starts_with(REDIRECT), "{to}");
    assert_eq!(
        param(&to, "error").as_deref(),
        Some("temporarily_unavailable"),
        "{to}"
    );
}
