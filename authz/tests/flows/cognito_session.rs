//! The upstream session kept with a Cognito-mode grant: the login's refresh token, sealed on the
//! grant, is redeemed at the upstream token endpoint at every refresh, so a user signed out
//! upstream after the grant was made (Cognito's AdminUserGlobalSignOut revokes every refresh
//! token of the user; the stand-in's `/test/global-sign-out` does the same) loses the grant.
//! The login runs through the OIDC stand-in; the directory is moto's cognito-idp, as in
//! production wiring (`upstream::from_config`).

use aws_sdk_cognitoidentityprovider::config::retry::RetryConfig;
use axum::http::StatusCode;
use shared::store::{GrantStatus, PageRequest};

use crate::cognito_directory::{client_at, create_pool, create_user, moto_endpoint};
use crate::cognito_login::{OidcProvider, UPSTREAM_SUB, cognito_login_config_at, login_through};
use crate::support::*;

#[tokio::test]
async fn refresh_after_an_upstream_global_sign_out_is_invalid_grant_and_revokes() {
    let cognito = client_at(&moto_endpoint(), RetryConfig::standard());
    let pool = create_pool(&cognito, false).await;
    create_user(&cognito, &pool, UPSTREAM_SUB, "alice@example.com").await;
    let provider = OidcProvider::start(&format!("{ISSUER}/callback"));
    let config = cognito_login_config_at(
        &pool,
        &format!("{}/.well-known/openid-configuration", provider.issuer),
        &provider,
    );
    let stand = Stand::with_config(config).await;

    let reply = login_through(&stand, &provider).await;
    let code = param(&reply.location_url(), "code").expect("a code for the client");
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
    let grants = || async {
        stand
            .stores
            .grants
            .list_for_user(UPSTREAM_SUB, &PageRequest::first(10))
            .await
            .unwrap()
            .items
    };
    let stored = grants().await;
    assert_eq!(stored.len(), 1);
    let sealed = stored[0]
        .upstream_session
        .clone()
        .expect("a sealed session");
    assert!(sealed.starts_with("v1."), "sealed, versioned");

    // While the upstream session stands, refreshes work.
    let refreshed = stand
        .refresh(&public(), tokens.json()["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
    let t2 = refreshed.json()["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();

    // The user signs out everywhere upstream: the next refresh ends the grant.
    provider.control("/test/global-sign-out").await;
    let refused = stand.refresh(&public(), &t2).await;
    assert_eq!(refused.error(), "invalid_grant", "{}", refused.body);
    let stored = grants().await;
    assert_eq!(stored[0].status, GrantStatus::Revoked, "grant revoked");
    assert_eq!(
        stand.refresh(&public(), &t2).await.error(),
        "invalid_grant",
        "and stays so"
    );
}
