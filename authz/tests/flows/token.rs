//! SECURITY.md "Token endpoint": code replay, concurrency, PKCE, bindings, expiry, client
//! authentication, grant types, malformed bodies.

use std::sync::Arc;

use axum::http::StatusCode;

use crate::support::*;

fn code_form<'a>(
    code: &'a str,
    redirect_uri: &'a str,
    verifier: &'a str,
) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
    ];
    if !verifier.is_empty() {
        form.push(("code_verifier", verifier));
    }
    form
}

#[tokio::test]
async fn code_exchange_issues_tokens_with_no_store() {
    let stand = Stand::new().await;
    let code = stand.code_for(PUBLIC).await;
    let reply = stand
        .token(&public(), &code_form(&code, REDIRECT, VERIFIER))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let json = reply.json();
    assert_eq!(json["token_type"], "Bearer");
    assert_eq!(json["scope"], "costs:read");
    assert_eq!(json["expires_in"], 3600);
    assert!(json["refresh_token"].as_str().unwrap().len() > 43);
    assert_eq!(json["access_token"].as_str().unwrap().split('.').count(), 3);
    // The sign-in left the user's profile for operators: the embedded login's username.
    let profiles = stand
        .stores
        .profiles
        .get_many(&[USER.to_owned()])
        .await
        .unwrap();
    assert_eq!(profiles[USER].username.as_deref(), Some(USER));
    assert_eq!(
        profiles[USER].last_login_at,
        shared::clock::Clock::now(stand.clock.as_ref())
    );
}

#[tokio::test]
async fn code_replay_is_invalid_grant_and_revokes_the_first_grant() {
    let stand = Stand::new().await;
    let code = stand.code_for(PUBLIC).await;
    let first = stand
        .token(&public(), &code_form(&code, REDIRECT, VERIFIER))
        .await;
    assert_eq!(first.status, StatusCode::OK);
    let refresh_token = first.json()["refresh_token"].as_str().unwrap().to_owned();
    let second = stand
        .token(&public(), &code_form(&code, REDIRECT, VERIFIER))
        .await;
    assert_eq!(second.status, StatusCode::BAD_REQUEST);
    assert_eq!(second.error(), "invalid_grant");
    let refresh = stand.refresh(&public(), &refresh_token).await;
    assert_eq!(
        refresh.error(),
        "invalid_grant",
        "the first redemption's grant is revoked"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_redemptions_of_one_code_have_exactly_one_winner() {
    let stand = Arc::new(Stand::new().await);
    let code = stand.code_for(PUBLIC).await;
    let tasks: Vec<_> = (0..30)
        .map(|_| {
            let stand = stand.clone();
            let code = code.clone();
            tokio::spawn(async move {
                stand
                    .token(&public(), &code_form(&code, REDIRECT, VERIFIER))
                    .await
            })
        })
        .collect();
    let mut ok = 0;
    let mut refused = 0;
    for task in tasks {
        let reply = task.await.unwrap();
        match reply.status {
            StatusCode::OK => ok += 1,
            _ => {
                assert_eq!(reply.error(), "invalid_grant");
                refused += 1;
            }
        }
    }
    assert_eq!((ok, refused), (1, 29));
}

#[tokio::test]
async fn code_checks_table() {
    let stand = Stand::new().await;
    let other_verifier = "a".repeat(43);
    let cases: Vec<(&str, Auth, &str, &str, StatusCode, &str)> = vec![
        (
            "wrong code_verifier",
            public(),
            REDIRECT,
            &other_verifier,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        ),
        (
            "missing code_verifier",
            public(),
            REDIRECT,
            "",
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "another client",
            Auth::Post(CONFIDENTIAL, CLIENT_SECRET),
            REDIRECT,
            VERIFIER,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        ),
        (
            "another redirect_uri",
            public(),
            LOOPBACK_REDIRECT,
            VERIFIER,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        ),
    ];
    for (what, auth, redirect_uri, verifier, status, error) in cases {
        let code = stand.code_for(PUBLIC).await;
        let reply = stand
            .token(&auth, &code_form(&code, redirect_uri, verifier))
            .await;
        assert_eq!(reply.status, status, "{what}: {}", reply.body);
        assert_eq!(reply.error(), error, "{what}");
        assert_eq!(reply.header("cache-control"), Some("no-store"), "{what}");
    }
}

#[tokio::test]
async fn expired_code_is_invalid_grant() {
    let stand = Stand::new().await;
    let code = stand.code_for(PUBLIC).await;
    stand.clock.advance(61);
    let reply = stand
        .token(&public(), &code_form(&code, REDIRECT, VERIFIER))
        .await;
    assert_eq!(reply.error(), "invalid_grant");
}

#[tokio::test]
async fn confidential_client_authentication() {
    let stand = Stand::new().await;
    // Success with post and with basic.
    for auth in [
        Auth::Post(CONFIDENTIAL, CLIENT_SECRET),
        Auth::Basic(CONFIDENTIAL, CLIENT_SECRET),
    ] {
        let code = stand.code_for(CONFIDENTIAL).await;
        let reply = stand
            .token(&auth, &code_form(&code, REDIRECT, VERIFIER))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }
    let cases: Vec<(&str, Auth, bool)> = vec![
        (
            "wrong secret, basic",
            Auth::Basic(CONFIDENTIAL, "wrong"),
            true,
        ),
        (
            "wrong secret, post",
            Auth::Post(CONFIDENTIAL, "wrong"),
            false,
        ),
        ("no secret", Auth::Public(CONFIDENTIAL), false),
        ("unknown client, basic", Auth::Basic("nobody", "x"), true),
        ("no client at all", Auth::Nothing, false),
    ];
    for (what, auth, basic) in cases {
        let code = stand.code_for(CONFIDENTIAL).await;
        let reply = stand
            .token(&auth, &code_form(&code, REDIRECT, VERIFIER))
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{what}");
        assert_eq!(reply.error(), "invalid_client", "{what}");
        assert_eq!(reply.header("www-authenticate").is_some(), basic, "{what}");
        if basic {
            assert!(
                reply
                    .header("www-authenticate")
                    .unwrap()
                    .starts_with("Basic"),
                "{what}"
            );
        }
    }
    // Two methods at once.
    let code = stand.code_for(CONFIDENTIAL).await;
    let mut form = code_form(&code, REDIRECT, VERIFIER);
    form.push(("client_secret", CLIENT_SECRET));
    let reply = stand
        .token(&Auth::Basic(CONFIDENTIAL, CLIENT_SECRET), &form)
        .await;
    assert_eq!(reply.error(), "invalid_request");
}

#[tokio::test]
async fn grant_type_and_body_errors() {
    let stand = Stand::new().await;
    let reply = stand.token(&public(), &[("grant_type", "password")]).await;
    assert_eq!(reply.error(), "unsupported_grant_type");
    let reply = stand
        .token(&public(), &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(reply.error(), "unsupported_grant_type");
    let reply = stand.token(&public(), &[]).await;
    assert_eq!(reply.error(), "invalid_request", "missing grant_type");

    let malformed: &[(&str, &str, &str)] = &[
        (
            "json body",
            "application/json",
            "{\"grant_type\":\"authorization_code\"}",
        ),
        (
            "repeated parameter",
            "application/x-www-form-urlencoded",
            "grant_type=refresh_token&grant_type=refresh_token&client_id=public-client",
        ),
    ];
    for (what, content_type, body) in malformed {
        let request = axum::http::Request::post("/token")
            .header("content-type", *content_type)
            .body(axum::body::Body::from(*body))
            .unwrap();
        let reply = stand.send(request).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{what}");
        assert_eq!(reply.error(), "invalid_request", "{what}");
        assert_eq!(reply.header("cache-control"), Some("no-store"), "{what}");
    }
}

#[tokio::test]
async fn secrets_never_reach_the_audit_trail() {
    let stand = Stand::new().await;
    let tokens = stand
        .tokens_for(&Auth::Post(CONFIDENTIAL, CLIENT_SECRET))
        .await;
    let day = shared::clock::utc_day(T0);
    let events = stand
        .stores
        .audit
        .list_day(&day, &shared::store::PageRequest::first(100))
        .await
        .unwrap();
    let text = serde_json::to_string(&events.items).unwrap();
    for kind in ["consent.given", "login", "code.issued", "token.issued"] {
        assert!(
            events.items.iter().any(|e| e.kind == kind),
            "{kind} audited"
        );
    }
    for secret in [
        tokens["access_token"].as_str().unwrap(),
        tokens["refresh_token"].as_str().unwrap(),
        CLIENT_SECRET,
        PASSWORD,
    ] {
        assert!(!text.contains(secret));
    }
}
