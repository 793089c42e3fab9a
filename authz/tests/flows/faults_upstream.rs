//! The upstream login failing mid-flow (the Cognito login leg against the real OIDC provider of
//! `cognito_login`): the user logged in at the provider, then the provider went down before our
//! /callback could redeem its code, or the provider itself answered `server_error`. The client
//! gets an error redirect with `temporarily_unavailable` and nothing is issued.

use axum::http::StatusCode;
use shared::store::PageRequest;

use crate::cognito_login::{OidcProvider, UPSTREAM_SUB, cognito_login_config, through_provider};
use crate::support::*;

/// Authorize and consent at our server, then log in at the provider: the provider's redirect
/// back to our /callback, and the browser's cookies.
async fn to_callback(stand: &Stand, provider: &OidcProvider) -> (url::Url, Browser) {
    let mut browser = Browser::default();
    let page = stand
        .get(&stand.authorize_url(PUBLIC, REDIRECT, &[]), "")
        .await;
    browser.absorb(&page);
    assert_eq!(page.status, StatusCode::OK, "consent page: {}", page.body);
    let consent = stand.approve(&page, PUBLIC, &mut browser).await;
    assert_eq!(consent.status, StatusCode::SEE_OTHER, "{}", consent.body);
    let back = through_provider(provider, consent.location_url().as_str()).await;
    assert!(param(&back, "code").is_some(), "{back}");
    (back, browser)
}

/// The client's redirect carries `temporarily_unavailable`, its state and our issuer, no code.
fn assert_error_redirect(reply: &Reply, what: &str) {
    assert_eq!(reply.status, StatusCode::FOUND, "{what}: {}", reply.body);
    let to_client = reply.location_url();
    assert!(
        to_client.as_str().starts_with(REDIRECT),
        "{what}: {to_client}"
    );
    assert_eq!(
        param(&to_client, "error").as_deref(),
        Some("temporarily_unavailable"),
        "{what}: {to_client}"
    );
    assert_eq!(param(&to_client, "state").as_deref(), Some("st-123"));
    assert_eq!(param(&to_client, "iss").as_deref(), Some(ISSUER));
    assert!(param(&to_client, "code").is_none(), "{what}: {to_client}");
}

#[tokio::test]
async fn upstream_login_down_at_callback_redirects_temporarily_unavailable_and_issues_nothing() {
    let provider = OidcProvider::start(&format!("{ISSUER}/callback"));
    let stand = Stand::with_config(cognito_login_config(&provider)).await;
    let (down, browser_down) = to_callback(&stand, &provider).await;
    let (failed, browser_failed) = to_callback(&stand, &provider).await;
    drop(provider);

    // The provider is gone: its token endpoint refuses the code exchange.
    let path = down.as_str().strip_prefix(ISSUER).unwrap().to_owned();
    let reply = stand.get(&path, &browser_down.header()).await;
    assert_error_redirect(&reply, "token endpoint unreachable");
    let replay = stand.get(&path, &browser_down.header()).await;
    assert_ne!(
        replay.status,
        StatusCode::FOUND,
        "the pending request is spent: {}",
        replay.body
    );

    // The provider reported its own failure (RFC 6749 §4.1.2.1 `server_error`).
    let mut errored = failed.clone();
    errored
        .query_pairs_mut()
        .clear()
        .append_pair("error", "server_error")
        .append_pair("state", &param(&failed, "state").unwrap());
    let path = errored.as_str().strip_prefix(ISSUER).unwrap().to_owned();
    let reply = stand.get(&path, &browser_failed.header()).await;
    assert_error_redirect(&reply, "upstream server_error");

    let grants = stand
        .stores
        .grants
        .list_for_user(UPSTREAM_SUB, &PageRequest::first(10))
        .await
        .unwrap();
    assert!(grants.items.is_empty(), "nothing issued");
}
