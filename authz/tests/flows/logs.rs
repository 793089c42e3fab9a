//! Secrets never reach the logs: a complete flow (registration, authorize, consent, login,
//! callback, code exchange, refresh, revocation, and the usual mistakes) with every log line
//! at every level captured, then searched for every secret the flow handled.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use shared::telemetry::Capture;

use crate::support::*;

#[tokio::test(flavor = "current_thread")]
async fn no_secret_appears_in_any_log_line_at_any_level() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(capture.clone())
        .with_ansi(false)
        .json()
        .with_current_span(true)
        .with_span_list(true)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let mut stand = Stand::new().await;
    // The production layers: request spans, request ids, response logging.
    stand.app = shared::telemetry::observe(stand.app.clone());
    let mut secrets: Vec<String> = vec![PASSWORD.to_owned(), CLIENT_SECRET.to_owned()];

    // Registration hands out a client secret and a registration access token.
    let registered = stand
        .send(
            Request::post("/register")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(
                    r#"{"redirect_uris":["https://claude.ai/api/mcp/auth_callback"],"token_endpoint_auth_method":"client_secret_post","grant_types":["authorization_code","refresh_token"],"response_types":["code"],"client_name":"Claude"}"#,
                ))
                .unwrap(),
        )
        .await;
    assert_eq!(
        registered.status,
        StatusCode::CREATED,
        "{}",
        registered.body
    );
    let info = registered.json();
    secrets.push(info["client_secret"].as_str().unwrap().to_owned());
    let registration_token = info["registration_access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    secrets.push(registration_token.clone());
    let client_id = info["client_id"].as_str().unwrap().to_owned();
    let wrong_read = stand
        .send(
            Request::get(format!("/register/{client_id}"))
                .header(
                    header::AUTHORIZATION,
                    "Bearer not-the-registration-token-xyz",
                )
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(wrong_read.status, StatusCode::UNAUTHORIZED);
    secrets.push("not-the-registration-token-xyz".to_owned());

    // The browser leg.
    let (back, browser) = stand
        .browser_flow(PUBLIC, REDIRECT, &[("state", "s-1")])
        .await;
    let code = param(&back, "code").unwrap();
    secrets.push(code.clone());
    secrets.extend(browser_cookie_values(&browser));

    let tokens = stand
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
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.body);
    let tokens = tokens.json();
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    secrets.extend([access.clone(), refresh.clone(), VERIFIER.to_owned()]);

    // Mistakes that log at warn/info: a replayed code, a wrong verifier, a wrong secret.
    let replay = stand
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
    assert_eq!(replay.error(), "invalid_grant");
    let wrong = stand
        .token(
            &Auth::Post(CONFIDENTIAL, "wrong-secret-value-123"),
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    secrets.push("wrong-secret-value-123".to_owned());

    // A second grant, refreshed and revoked.
    let tokens = stand
        .tokens_for(&Auth::Post(CONFIDENTIAL, CLIENT_SECRET))
        .await;
    let access2 = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh2 = tokens["refresh_token"].as_str().unwrap().to_owned();
    secrets.extend([access2.clone(), refresh2.clone()]);
    let rotated = stand
        .refresh(&Auth::Post(CONFIDENTIAL, CLIENT_SECRET), &refresh2)
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    let rotated = rotated.json();
    secrets.push(rotated["refresh_token"].as_str().unwrap().to_owned());
    secrets.push(rotated["access_token"].as_str().unwrap().to_owned());
    let reuse = stand
        .refresh(&Auth::Post(CONFIDENTIAL, CLIENT_SECRET), &refresh2)
        .await;
    assert_eq!(reuse.error(), "invalid_grant");
    let revoked = stand
        .post_form(
            "/revoke",
            &[
                ("token", &access2),
                ("client_id", CONFIDENTIAL),
                ("client_secret", CLIENT_SECRET),
            ],
            &[],
        )
        .await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.body);

    drop(_guard);
    let logs = capture.text();
    let lines = logs.lines().count();
    assert!(lines > 20, "the flow was logged ({lines} lines)");
    assert!(logs.contains("\"level\":\"TRACE\"") || logs.contains("\"level\":\"DEBUG\""));
    for secret in &secrets {
        assert!(secret.len() >= 8, "a meaningful secret: {secret:?}");
        if let Some(line) = logs.lines().find(|line| line.contains(secret.as_str())) {
            panic!("a secret appears in the logs: {line}");
        }
        // JWT payloads are base64url: look for the signature part on its own too.
        if let Some(signature) = secret.rsplit('.').next().filter(|s| s.len() > 20) {
            assert!(
                !logs.contains(signature),
                "a token signature appears in the logs"
            );
        }
    }
}

fn browser_cookie_values(browser: &Browser) -> Vec<String> {
    browser
        .header()
        .split("; ")
        .filter_map(|pair| pair.split_once('=').map(|(_, v)| v.to_owned()))
        .filter(|v| v.len() >= 8)
        .collect()
}
