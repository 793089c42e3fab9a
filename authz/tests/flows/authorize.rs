//! SECURITY.md "Authorization endpoint": render-vs-redirect, PKCE, response_type, resource,
//! scope, `state` and `iss` on every error redirect.

use axum::http::StatusCode;

use crate::support::*;

#[tokio::test]
async fn untrusted_client_or_redirect_uri_renders_a_page_never_a_redirect() {
    let stand = Stand::new().await;
    stand
        .add_client(
            "loopback-only",
            "none",
            &["http://127.0.0.1/cb", "https://app.example.com/a/cb"],
            None,
        )
        .await;
    let cases: &[(&str, &str, &str)] = &[
        ("unknown client_id", "nobody", REDIRECT),
        ("missing client_id", "", REDIRECT),
        (
            "unregistered redirect_uri",
            PUBLIC,
            "https://evil.example/cb",
        ),
        ("prefix match", PUBLIC, "https://client.example/c"),
        ("extra path", PUBLIC, "https://client.example/cb/extra"),
        ("trailing slash", PUBLIC, "https://client.example/cb/"),
        ("case change in path", PUBLIC, "https://client.example/CB"),
        (
            "other port on non-loopback",
            "loopback-only",
            "https://app.example.com:8443/a/cb",
        ),
        ("query added", PUBLIC, "https://client.example/cb?x=1"),
        ("missing redirect_uri", PUBLIC, ""),
    ];
    for (what, client_id, redirect_uri) in cases {
        let url = stand.authorize_url(
            PUBLIC,
            REDIRECT,
            &[("client_id", client_id), ("redirect_uri", redirect_uri)],
        );
        let reply = stand.get(&url, "").await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{what}");
        assert!(
            reply.header("location").is_none(),
            "{what}: must not redirect"
        );
        assert!(
            reply.body.contains("invalid_request"),
            "{what}: {}",
            reply.body
        );
        assert_eq!(reply.header("x-frame-options"), Some("DENY"), "{what}");
    }
}

#[tokio::test]
async fn loopback_redirect_port_may_differ() {
    let stand = Stand::new().await;
    let url = stand.authorize_url(PUBLIC, "http://127.0.0.1:53123/cb", &[]);
    assert_eq!(stand.get(&url, "").await.status, StatusCode::OK);
}

#[tokio::test]
async fn errors_after_the_redirect_uri_is_trusted_go_back_with_state_and_iss() {
    let stand = Stand::new().await;
    stand
        .add_client("read-only", "none", &[REDIRECT], Some("costs:read"))
        .await;
    type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case] = &[
        (
            "missing code_challenge",
            PUBLIC,
            &[("code_challenge", "")],
            "invalid_request",
        ),
        (
            "method plain",
            PUBLIC,
            &[("code_challenge_method", "plain")],
            "invalid_request",
        ),
        (
            "method absent (means plain)",
            PUBLIC,
            &[("code_challenge_method", "")],
            "invalid_request",
        ),
        (
            "response_type token",
            PUBLIC,
            &[("response_type", "token")],
            "unsupported_response_type",
        ),
        (
            "response_type missing",
            PUBLIC,
            &[("response_type", "")],
            "invalid_request",
        ),
        (
            "foreign resource",
            PUBLIC,
            &[("resource", "https://other.example/mcp")],
            "invalid_target",
        ),
        (
            "resource with trailing slash",
            PUBLIC,
            &[("resource", "https://mcp.example.com/mcp/")],
            "invalid_target",
        ),
        (
            "unregistered supported scope",
            "read-only",
            &[("scope", "costs:read costs:resources")],
            "invalid_scope",
        ),
    ];
    for (what, client_id, extra, code) in cases {
        let reply = stand
            .get(&stand.authorize_url(client_id, REDIRECT, extra), "")
            .await;
        assert_eq!(reply.status, StatusCode::FOUND, "{what}: {}", reply.body);
        let back = reply.location_url();
        assert!(back.as_str().starts_with(REDIRECT), "{what}");
        assert_eq!(param(&back, "error").as_deref(), Some(*code), "{what}");
        assert!(param(&back, "error_description").is_some(), "{what}");
        assert_eq!(param(&back, "state").as_deref(), Some("st-123"), "{what}");
        assert_eq!(param(&back, "iss").as_deref(), Some(ISSUER), "{what}");
    }
}

#[tokio::test]
async fn unknown_scopes_are_ignored_and_the_token_says_what_was_granted() {
    let stand = Stand::new().await;
    let (back, _) = stand
        .browser_flow(PUBLIC, REDIRECT, &[("scope", "claudeai openid costs:read")])
        .await;
    let code = param(&back, "code").unwrap();
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
    assert_eq!(reply.json()["scope"], "costs:read");
}

#[tokio::test]
async fn absent_scope_means_registered_scope_else_baseline() {
    let stand = Stand::new().await;
    stand
        .add_client(
            "wide",
            "none",
            &[REDIRECT],
            Some("costs:read costs:resources"),
        )
        .await;
    for (client, want) in [
        (PUBLIC, "costs:read"),
        ("wide", "costs:read costs:resources"),
    ] {
        let (back, _) = stand.browser_flow(client, REDIRECT, &[]).await;
        let code = param(&back, "code").unwrap();
        let client_id: &'static str = if client == PUBLIC { PUBLIC } else { "wide" };
        let reply = stand
            .token(
                &Auth::Public(client_id),
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", REDIRECT),
                    ("code_verifier", VERIFIER),
                ],
            )
            .await;
        assert_eq!(reply.json()["scope"], want, "{client}");
    }
}

#[tokio::test]
async fn a_successful_flow_redirects_with_code_state_and_iss() {
    let stand = Stand::new().await;
    let (back, _) = stand.browser_flow(PUBLIC, REDIRECT, &[]).await;
    assert_eq!(param(&back, "state").as_deref(), Some("st-123"));
    assert_eq!(param(&back, "iss").as_deref(), Some(ISSUER));
    assert_eq!(param(&back, "code").map(|c| c.len()), Some(43));
}
