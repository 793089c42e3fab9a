//! The scopes are configuration (`SMCP_SCOPES`, `SMCP_SCOPE_DESCRIPTIONS`): the metadata, the
//! consent page, `/authorize`, registration and refresh follow the configured catalogue.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use shared::config::keys;

use crate::support::*;

/// A deployment offering `files:read` (baseline) and `files:write`, the latter described.
fn files_config() -> shared::config::Config {
    config_with(
        ISSUER,
        &[
            (keys::SCOPES, "files:read, files:write".into()),
            (
                keys::SCOPE_DESCRIPTIONS,
                "files:write=change <your> files".into(),
            ),
        ],
    )
}

/// The same stores and clock behind a router built from `config` (a redeployment with other
/// settings).
fn redeployed(stand: &Stand, config: shared::config::Config) -> Stand {
    let clock: Arc<dyn shared::clock::Clock> = stand.clock.clone();
    let state = authz::AppState::new(
        Arc::new(config),
        stand.stores.clone(),
        clock,
        signer(),
        &shared::aws::Aws::from_env(),
    )
    .unwrap();
    Stand {
        app: authz::app(state),
        stores: stand.stores.clone(),
        clock: stand.clock.clone(),
    }
}

async fn exchange(stand: &Stand, back: &url::Url) -> serde_json::Value {
    let code = param(back, "code").unwrap();
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
    reply.json()
}

#[tokio::test]
async fn the_metadata_advertises_the_configured_scopes() {
    for (config, want) in [
        (config(ISSUER), vec!["costs:read", "costs:resources"]),
        (files_config(), vec!["files:read", "files:write"]),
    ] {
        let stand = Stand::with_config(config).await;
        let metadata = stand
            .get("/.well-known/oauth-authorization-server", "")
            .await;
        assert_eq!(metadata.json()["scopes_supported"], serde_json::json!(want));
    }
}

#[tokio::test]
async fn authorization_resolves_against_the_configured_scopes() {
    let stand = Stand::with_config(files_config()).await;
    // Nothing named: the configured baseline, shown by name alone (it has no description).
    let page = stand
        .get(&stand.authorize_url(PUBLIC, REDIRECT, &[]), "")
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("<code>files:read</code></li>"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("costs:read"), "{}", page.body);
    let (back, _) = stand.browser_flow(PUBLIC, REDIRECT, &[]).await;
    assert_eq!(exchange(&stand, &back).await["scope"], "files:read");

    // The default scopes are unknown values here, ignored; the described one shows its words,
    // escaped.
    let asked = [("scope", "costs:read files:write costs:resources")];
    let page = stand
        .get(&stand.authorize_url(PUBLIC, REDIRECT, &asked), "")
        .await;
    assert!(
        page.body
            .contains("<code>files:write</code> — change &#60;your&#62; files</li>"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("costs:"), "{}", page.body);
    let (back, _) = stand.browser_flow(PUBLIC, REDIRECT, &asked).await;
    assert_eq!(exchange(&stand, &back).await["scope"], "files:write");

    // A configured scope the client did not register for is refused.
    stand
        .add_client("reader", "none", &[REDIRECT], Some("files:read"))
        .await;
    let refused = stand
        .get(
            &stand.authorize_url("reader", REDIRECT, &[("scope", "files:write")]),
            "",
        )
        .await;
    assert_eq!(
        param(&refused.location_url(), "error").as_deref(),
        Some("invalid_scope")
    );
}

#[tokio::test]
async fn the_default_scopes_keep_their_words_on_the_consent_page() {
    let stand = Stand::new().await;
    let asked = [("scope", "costs:read costs:resources")];
    let page = stand
        .get(&stand.authorize_url(PUBLIC, REDIRECT, &asked), "")
        .await;
    for line in [
        "<code>costs:read</code> — read your AWS cost and usage data</li>",
        "<code>costs:resources</code> — read resource-level cost data</li>",
    ] {
        assert!(page.body.contains(line), "{line}: {}", page.body);
    }
}

#[tokio::test]
async fn registration_keeps_the_configured_scopes_only() {
    let stand = Stand::with_config(files_config()).await;
    let reply = stand
        .send(
            Request::post("/register")
                .header("content-type", "application/json")
                .body(Body::from(
                    serde_json::json!({
                        "redirect_uris": [REDIRECT],
                        "token_endpoint_auth_method": "none",
                        "scope": "costs:read files:write claudeai",
                    })
                    .to_string(),
                ))
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    assert_eq!(reply.json()["scope"], "files:write");
}

#[tokio::test]
async fn a_refresh_issues_only_the_scopes_still_offered() {
    let stand = Stand::with_config(config_with(
        ISSUER,
        &[(keys::SCOPES, "files:read files:write admin".into())],
    ))
    .await;
    let asked = [("scope", "files:read admin")];
    let (back, _) = stand.browser_flow(PUBLIC, REDIRECT, &asked).await;
    let tokens = exchange(&stand, &back).await;
    assert_eq!(tokens["scope"], "files:read admin");

    // Redeployed without `admin`: the refresh drops it.
    let fewer = redeployed(&stand, files_config());
    let reply = fewer
        .refresh(&public(), tokens["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let tokens = reply.json();
    assert_eq!(tokens["scope"], "files:read");

    // Redeployed with none of the granted scopes: nothing left to issue.
    let other = redeployed(&stand, config(ISSUER));
    let reply = other
        .refresh(&public(), tokens["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(reply.error(), "invalid_grant");
    assert!(
        reply.json()["error_description"]
            .as_str()
            .unwrap()
            .contains("offered any more"),
        "{}",
        reply.body
    );
}
