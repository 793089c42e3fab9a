//! RFC 7009 revocation of refresh tokens (the grant) and access tokens (the denylist).

use axum::http::StatusCode;
use base64::Engine as _;

use crate::support::*;

fn jti_of(access_token: &str) -> String {
    let payload = access_token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    let claims: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    claims["jti"].as_str().unwrap().to_owned()
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
async fn revoking_an_access_token_denylists_its_jti_until_expiry() {
    let stand = Stand::new().await;
    let tokens = stand.tokens_for(&public()).await;
    let access = tokens["access_token"].as_str().unwrap();
    let jti = jti_of(access);
    assert!(!stand.stores.denylist.is_denied(&jti).await.unwrap());
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
    assert!(stand.stores.denylist.is_denied(&jti).await.unwrap());
    stand.clock.advance(3600);
    assert!(
        !stand.stores.denylist.is_denied(&jti).await.unwrap(),
        "kept until exp only"
    );
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
    assert!(
        !stand
            .stores
            .denylist
            .is_denied(&jti_of(access))
            .await
            .unwrap()
    );
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
