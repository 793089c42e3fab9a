//! The confused-deputy defence end to end: once a browser approves a client (on the consent
//! page, or by its approval cookie), the rest of the authorization continues only in that
//! browser. The attack: the attacker approves their own client in browser A, then sends the
//! next step's link to a victim; the victim's browser B must get an error page and the client
//! nothing, in both login modes.

use axum::http::StatusCode;
use shared::store::PageRequest;

use crate::cognito_login::{OidcProvider, cognito_login_config, through_provider};
use crate::support::*;

/// Audit events of `kind` so far.
async fn audited(stand: &Stand, kind: &str) -> usize {
    let day = shared::clock::utc_day(T0);
    let page = stand
        .stores
        .audit
        .list_day(&day, &PageRequest::first(1000))
        .await
        .unwrap();
    page.items.iter().filter(|e| e.kind == kind).count()
}

/// Browser A opens /authorize and approves; returns A and where A is sent next.
async fn approve_in_a(stand: &Stand) -> (Browser, String) {
    let mut a = Browser::default();
    let page = stand
        .get(&stand.authorize_url(PUBLIC, REDIRECT, &[]), "")
        .await;
    a.absorb(&page);
    assert_eq!(page.status, StatusCode::OK, "consent page: {}", page.body);
    let consent = stand.approve(&page, PUBLIC, &mut a).await;
    assert_eq!(consent.status, StatusCode::SEE_OTHER, "{}", consent.body);
    (a, consent.location())
}

/// A browser that has its own nonce cookie (it visited the authorization server before).
async fn victim_with_own_cookie(stand: &Stand) -> Browser {
    let mut b = Browser::default();
    let page = stand
        .get(&stand.authorize_url(PUBLIC, REDIRECT, &[]), "")
        .await;
    b.absorb(&page);
    assert!(!b.header().is_empty());
    b
}

#[tokio::test]
async fn the_login_link_of_an_approval_fails_in_another_browser_embedded_login() {
    let stand = Stand::new().await;
    let (a, login_url) = approve_in_a(&stand).await;
    let login_path = login_url.strip_prefix(ISSUER).unwrap().to_owned();

    // B, with no cookies and with cookies of its own: the very first step is refused.
    for b in [Browser::default(), victim_with_own_cookie(&stand).await] {
        let page = stand.get(&login_path, &b.header()).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
        assert!(page.body.contains("another browser"), "{}", page.body);
        assert!(!page.body.contains("name=\"password\""), "no login form");
        assert!(page.set_cookies.is_empty(), "no nonce handed out");
        // Posting the form directly (B never saw a token for it) is refused too.
        let request = url::Url::parse(&login_url)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "request")
            .unwrap()
            .1
            .into_owned();
        let post = stand
            .post_form(
                "/login",
                &[
                    ("request", &request),
                    ("csrf", "forged"),
                    ("username", USER),
                    ("password", PASSWORD),
                ],
                &[("cookie", &b.header())],
            )
            .await;
        assert_eq!(post.status, StatusCode::BAD_REQUEST, "{}", post.body);
        assert!(post.header("location").is_none());
    }
    assert!(audited(&stand, "authorization.other_browser").await >= 2);
    assert_eq!(audited(&stand, "code.issued").await, 0, "nothing issued");

    // A still finishes its own authorization.
    let mut a = a;
    let back = stand.login(&login_url, &mut a, USER, PASSWORD).await;
    assert!(back.as_str().starts_with(REDIRECT));
    assert!(param(&back, "code").is_some());
}

#[tokio::test]
async fn a_login_response_fails_in_another_browser_embedded_login() {
    let stand = Stand::new().await;
    let (mut a, login_url) = approve_in_a(&stand).await;
    let form = stand
        .get(login_url.strip_prefix(ISSUER).unwrap(), &a.header())
        .await;
    a.absorb(&form);
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let submitted = stand.submit_login(&form, &a, USER, PASSWORD).await;
    assert_eq!(
        submitted.status,
        StatusCode::SEE_OTHER,
        "{}",
        submitted.body
    );
    let callback = submitted.location();
    let callback = callback.strip_prefix(ISSUER).unwrap();

    let b = victim_with_own_cookie(&stand).await;
    let reply = stand.get(callback, &b.header()).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    assert!(
        reply.header("location").is_none(),
        "no redirect to the client"
    );
    assert_eq!(audited(&stand, "code.issued").await, 0, "nothing issued");
}

#[tokio::test]
async fn the_approval_cookie_shortcut_binds_the_browser_too() {
    let stand = Stand::new().await;
    // A approves once and keeps the approval cookie.
    let (back, a) = stand.browser_flow(PUBLIC, REDIRECT, &[]).await;
    assert!(param(&back, "code").is_some());

    // Next time A skips the consent page; the link it is sent to works only for A.
    let shortcut = stand
        .get(&stand.authorize_url(PUBLIC, REDIRECT, &[]), &a.header())
        .await;
    assert_eq!(shortcut.status, StatusCode::FOUND, "{}", shortcut.body);
    let login_url = shortcut.location();
    assert!(login_url.contains("/login?request="), "{login_url}");
    let b = victim_with_own_cookie(&stand).await;
    let page = stand
        .get(login_url.strip_prefix(ISSUER).unwrap(), &b.header())
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
    let mut a2 = a.clone();
    let back = stand.login(&login_url, &mut a2, USER, PASSWORD).await;
    assert!(param(&back, "code").is_some());

    // A browser holding only the approval cookie (its nonce cookie gone) gets a new nonce with
    // the shortcut, and the flow works in it.
    let approval_only: String = a
        .header()
        .split("; ")
        .filter(|c| c.contains("consent"))
        .collect::<Vec<_>>()
        .join("; ");
    assert!(!approval_only.is_empty());
    let shortcut = stand
        .get(&stand.authorize_url(PUBLIC, REDIRECT, &[]), &approval_only)
        .await;
    assert_eq!(shortcut.status, StatusCode::FOUND, "{}", shortcut.body);
    let mut fresh = Browser::default();
    fresh.absorb(&shortcut);
    assert!(!fresh.header().is_empty(), "a nonce cookie is set");
    let back = stand
        .login(&shortcut.location(), &mut fresh, USER, PASSWORD)
        .await;
    assert!(param(&back, "code").is_some());
}

#[tokio::test]
async fn the_upstream_login_of_an_approval_fails_in_another_browser_cognito_login() {
    let callback = format!("{ISSUER}/callback");
    let provider = OidcProvider::start(&callback);
    let stand = Stand::with_config(cognito_login_config(&provider)).await;
    let (a, upstream_login) = approve_in_a(&stand).await;
    assert!(
        upstream_login.starts_with(&provider.issuer),
        "{upstream_login}"
    );

    // The victim opens the upstream login link; with a live upstream session the provider
    // sends the victim's browser straight back to our callback with a valid code.
    let back = through_provider(&provider, &upstream_login).await;
    assert!(param(&back, "code").is_some(), "{back}");
    let path = back.as_str().strip_prefix(ISSUER).unwrap().to_owned();
    for b in [Browser::default(), victim_with_own_cookie(&stand).await] {
        let reply = stand.get(&path, &b.header()).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
        assert!(
            reply.header("location").is_none(),
            "no redirect to the client"
        );
    }
    assert_eq!(audited(&stand, "code.issued").await, 0, "nothing issued");

    // The same flow in the approving browser completes.
    let (a, upstream_login) = {
        let _ = a;
        approve_in_a(&stand).await
    };
    let back = through_provider(&provider, &upstream_login).await;
    let path = back.as_str().strip_prefix(ISSUER).unwrap().to_owned();
    let reply = stand.get(&path, &a.header()).await;
    assert_eq!(reply.status, StatusCode::FOUND, "{}", reply.body);
    let to_client = reply.location_url();
    assert!(to_client.as_str().starts_with(REDIRECT), "{to_client}");
    assert!(param(&to_client, "code").is_some());
}

#[tokio::test]
async fn the_nonce_cookie_is_renewed_when_a_request_is_bound_to_it() {
    let stand = Stand::new().await;
    let renewed = |reply: &Reply| {
        reply
            .set_cookies
            .iter()
            .any(|c| c.starts_with("__Host-smcp_csrf=") && c.contains("Max-Age=86400"))
    };
    // The consent approval renews the cookie its request is now bound to...
    let mut a = Browser::default();
    let page = stand
        .get(&stand.authorize_url(PUBLIC, REDIRECT, &[]), "")
        .await;
    a.absorb(&page);
    let consent = stand.approve(&page, PUBLIC, &mut a).await;
    assert_eq!(consent.status, StatusCode::SEE_OTHER);
    assert!(renewed(&consent), "{:?}", consent.set_cookies);
    stand
        .login(&consent.location(), &mut a, USER, PASSWORD)
        .await;
    // ...and so does the approval cookie's shortcut, for a browser that already has one.
    let shortcut = stand
        .get(&stand.authorize_url(PUBLIC, REDIRECT, &[]), &a.header())
        .await;
    assert_eq!(shortcut.status, StatusCode::FOUND);
    assert!(renewed(&shortcut), "{:?}", shortcut.set_cookies);
}
