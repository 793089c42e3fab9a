//! RFC 7009 revocation of refresh tokens (the grant, with its access tokens) and access tokens
//! (the revocation list the resource server reads).

use axum::http::StatusCode;
use base64::Engine as _;
use shared::clock::Clock as _;

use crate::support::*;

fn claims_of(access_token: &str) -> serde_json::Value {
    let payload = access_token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// Whether the revocation list refuses the access token (as the MCP server asks).
pub async fn is_revoked(stand: &Stand, access_token: &str) -> bool {
    let claims = claims_of(access_token);
    let identity = shared::store::TokenIdentity {
        jti: claims["jti"].as_str().unwrap(),
        grant_id: claims["grant_id"].as_str(),
        client_id: claims["client_id"].as_str().unwrap(),
        sub: claims["sub"].as_str().unwrap(),
        iat: claims["iat"].as_i64().unwrap(),
    };
    stand
        .stores
        .revocations
        .is_revoked(&identity)
        .await
        .unwrap()
}

#[tokio::test]
async fn revoking_a_refresh_token_revokes_the_grant() {
    let stand = Stand::new().await;
    let tokens = stand.tokens_for(&public()).await;
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let reply = stand
        .post_form("/revoke", &[("token", refresh), ("client_id", PUBLIC)], &[])
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert_eq!(
        stand.refresh(&public(), refresh).await.error(),
        "invalid_grant"
    );
}

#[tokio::test]
async fn revoking_an_access_token_revokes_its_jti_through_expiry_and_leeway() {
    let stand = Stand::new().await;
    let tokens = stand.tokens_for(&public()).await;
    let access = tokens["access_token"].as_str().unwrap();
    assert!(!is_revoked(&stand, access).await);
    let reply = stand
        .post_form(
            "/revoke",
            &[
                ("token", access),
                ("token_type_hint", "access_token"),
                ("client_id", PUBLIC),
            ],
            &[],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(is_revoked(&stand, access).await);
    // The verifier accepts a token until 30 s past `exp`: the revocation holds that long.
    let exp = claims_of(access)["exp"].as_i64().unwrap();
    stand.clock.advance(exp + 29 - stand.clock.now());
    assert!(is_revoked(&stand, access).await, "kept through the leeway");
    stand.clock.advance(1);
    assert!(!is_revoked(&stand, access).await, "then dropped");
}

#[tokio::test]
async fn foreign_or_unknown_tokens_answer_200_and_change_nothing() {
    let stand = Stand::new().await;
    let tokens = stand.tokens_for(&public()).await;
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let access = tokens["access_token"].as_str().unwrap();
    for token in [refresh, access, "not-a-token"] {
        let reply = stand
            .post_form(
                "/revoke",
                &[
                    ("token", token),
                    ("client_id", CONFIDENTIAL),
                    ("client_secret", CLIENT_SECRET),
                ],
                &[],
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK);
    }
    assert!(!is_revoked(&stand, access).await);
    assert_eq!(
        stand.refresh(&public(), refresh).await.status,
        StatusCode::OK
    );
    let unauthenticated = stand
        .post_form(
            "/revoke",
            &[
                ("token", refresh),
                ("client_id", CONFIDENTIAL),
                ("client_secret", "wrong"),
            ],
            &[],
        )
        .await;
    assert_eq!(unauthenticated.status, StatusCode::UNAUTHORIZED);
}
