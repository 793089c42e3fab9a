//! The Cognito user directory (`upstream::cognito::CognitoDirectory`) against moto's
//! cognito-idp: AdminGetUser + AdminListGroupsForUser say who is active (enabled and confirmed)
//! and with which groups, and the refresh grant acts on it (new groups, revocation,
//! `temporarily_unavailable`).

use std::sync::Arc;

use authz::upstream::cognito::CognitoDirectory;
use authz::upstream::{UpstreamError, UserDirectory, UserStatus};
use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::config::retry::RetryConfig;
use aws_sdk_cognitoidentityprovider::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_cognitoidentityprovider::types::{
    AttributeType, MessageActionType, UsernameAttributeType,
};
use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use shared::config::CognitoConfig;
use shared::oauth::client_id::ClientId;
use shared::oauth::resource::ResourceUri;
use shared::oauth::scope::Scope;
use shared::secret::Secret;
use shared::store::{GrantRecord, GrantStatus, PageRequest};

use crate::support::*;

pub(crate) fn moto_endpoint() -> String {
    let Ok(endpoint) = std::env::var("AWS_ENDPOINT_URL") else {
        panic!(
            "AWS_ENDPOINT_URL is not set: run the tests through tests/run.sh, which starts moto"
        );
    };
    endpoint
}

pub(crate) fn client_at(endpoint: &str, retry: RetryConfig) -> Client {
    Client::from_conf(
        aws_sdk_cognitoidentityprovider::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
            .endpoint_url(endpoint)
            .retry_config(retry)
            .build(),
    )
}

fn cognito_config(user_pool_id: &str) -> CognitoConfig {
    CognitoConfig {
        region: "us-east-1".into(),
        user_pool_id: user_pool_id.into(),
        domain: "https://login.example.com".into(),
        client_id: "app-client".into(),
        client_secret: Secret::new("app-client-secret"),
        discovery_url: format!(
            "https://cognito-idp.us-east-1.amazonaws.com/{user_pool_id}/.well-known/openid-configuration"
        ),
    }
}

/// A fresh pool; with `email_usernames` users sign in by email and their username is their
/// `sub` (as in a managed-login pool set up that way).
pub(crate) async fn create_pool(client: &Client, email_usernames: bool) -> String {
    let mut create = client.create_user_pool().pool_name(format!(
        "authz-directory-{}-{}",
        std::process::id(),
        uuid_like()
    ));
    if email_usernames {
        create = create.username_attributes(UsernameAttributeType::Email);
    }
    create.send().await.unwrap().user_pool.unwrap().id.unwrap()
}

fn uuid_like() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// Creates a confirmed user (no invitation message, a permanent password, a verified email)
/// and returns its username.
pub(crate) async fn create_user(
    client: &Client,
    pool: &str,
    username: &str,
    email: &str,
) -> String {
    let username = create_unconfirmed_user(client, pool, username, email).await;
    client
        .admin_set_user_password()
        .user_pool_id(pool)
        .username(&username)
        .password("Correct-horse-battery-9")
        .permanent(true)
        .send()
        .await
        .unwrap();
    username
}

/// Creates a user with a temporary password only (`FORCE_CHANGE_PASSWORD`).
async fn create_unconfirmed_user(
    client: &Client,
    pool: &str,
    username: &str,
    email: &str,
) -> String {
    let attribute = |name: &str, value: &str| {
        AttributeType::builder()
            .name(name)
            .value(value)
            .build()
            .unwrap()
    };
    client
        .admin_create_user()
        .user_pool_id(pool)
        .username(username)
        .user_attributes(attribute("email", email))
        .user_attributes(attribute("email_verified", "true"))
        .message_action(MessageActionType::Suppress)
        .send()
        .await
        .unwrap()
        .user
        .unwrap()
        .username
        .unwrap()
}

/// A grant of `sub` as the token endpoint would hold it (no upstream session: embedded-style).
fn grant_of(sub: &str) -> GrantRecord {
    GrantRecord {
        grant_id: "grant-1".into(),
        sub: sub.into(),
        client_id: ClientId::from_stored(PUBLIC),
        scope: Scope::from_stored("costs:read"),
        resource: ResourceUri::from_stored(RESOURCE),
        groups: vec![],
        refresh_hash: Secret::new("0").hash(),
        previous_refresh_hash: None,
        superseded_hashes: vec![],
        rotated_at: None,
        version: 0,
        status: GrantStatus::Active,
        created_at: T0,
        expires_at: None,
        upstream_session: None,
    }
}

async fn add_to_groups(client: &Client, pool: &str, username: &str, groups: &[&str]) {
    for group in groups {
        client
            .create_group()
            .user_pool_id(pool)
            .group_name(*group)
            .send()
            .await
            .unwrap();
        client
            .admin_add_user_to_group()
            .user_pool_id(pool)
            .username(username)
            .group_name(*group)
            .send()
            .await
            .unwrap();
    }
}

async fn disable(client: &Client, pool: &str, username: &str) {
    client
        .admin_disable_user()
        .user_pool_id(pool)
        .username(username)
        .send()
        .await
        .unwrap();
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn sorted(mut groups: Vec<String>) -> Vec<String> {
    groups.sort();
    groups
}

#[tokio::test]
async fn enabled_users_are_active_with_their_groups_disabled_and_unknown_users_are_gone() {
    let client = client_at(&moto_endpoint(), RetryConfig::standard());
    let pool = create_pool(&client, true).await;
    let sub = create_user(&client, &pool, "bob@example.com", "bob@example.com").await;
    assert_ne!(sub, "bob@example.com", "the username is the sub");
    add_to_groups(&client, &pool, &sub, &["finance", "web"]).await;
    let loner = create_user(&client, &pool, "carol@example.com", "carol@example.com").await;

    let directory = CognitoDirectory::with_client(cognito_config(&pool), client.clone());
    let UserStatus::Active { groups } = directory.status(&grant_of(&sub)).await.unwrap() else {
        panic!("bob is enabled");
    };
    assert_eq!(sorted(groups), vec!["finance", "web"]);
    assert_eq!(
        directory.status(&grant_of(&loner)).await.unwrap(),
        UserStatus::Active { groups: vec![] },
        "a user in no group is active with no groups"
    );

    disable(&client, &pool, &sub).await;
    assert_eq!(
        directory.status(&grant_of(&sub)).await.unwrap(),
        UserStatus::Gone
    );
    assert_eq!(
        directory
            .status(&grant_of("8d1f7c2e-0000-4000-8000-000000000000"))
            .await
            .unwrap(),
        UserStatus::Gone,
        "an unknown (deleted) user is gone"
    );

    // A pool that does not exist is a misconfiguration or an outage, not a deleted user:
    // refreshes are refused for now rather than every grant revoked.
    let missing = CognitoDirectory::with_client(cognito_config("us-east-1_Missing00"), client);
    let err = missing.status(&grant_of(&loner)).await.unwrap_err();
    assert!(
        matches!(&err, UpstreamError::Unavailable(why) if why.contains("AdminGetUser")),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_unreachable_directory_is_unavailable() {
    let endpoint = format!("http://127.0.0.1:{}", closed_port());
    let directory = CognitoDirectory::with_client(
        cognito_config("us-east-1_AbCdEf123"),
        client_at(&endpoint, RetryConfig::disabled()),
    );
    let err = directory.status(&grant_of("alice")).await.unwrap_err();
    assert!(
        matches!(&err, UpstreamError::Unavailable(why) if why.contains("AdminGetUser")),
        "{err:?}"
    );
}

fn access_claims(token_response: &serde_json::Value) -> serde_json::Value {
    let token = token_response["access_token"].as_str().unwrap();
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// The refresh grant over the Cognito directory built from the environment (as in production):
/// groups come from Cognito at each refresh, and a user disabled there loses the grant.
#[tokio::test]
async fn refresh_takes_groups_from_cognito_and_stops_for_a_disabled_user() {
    let client = client_at(&moto_endpoint(), RetryConfig::standard());
    // The embedded login's `sub` is the username, so a plain pool with the same username.
    let pool = create_pool(&client, false).await;
    let alice = create_user(&client, &pool, USER, "alice@example.com").await;
    assert_eq!(alice, USER);
    add_to_groups(&client, &pool, USER, &["web"]).await;

    let stand = Stand::with_directory(Arc::new(CognitoDirectory::new(
        cognito_config(&pool),
        shared::aws::Aws::from_env(),
    )))
    .await;
    let first = stand.tokens_for(&public()).await;
    assert_eq!(
        access_claims(&first)["groups"],
        serde_json::json!(["finance"])
    );
    let refreshed = stand
        .refresh(&public(), first["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
    let refreshed = refreshed.json();
    assert_eq!(
        access_claims(&refreshed)["groups"],
        serde_json::json!(["web"]),
        "groups as Cognito has them now"
    );

    disable(&client, &pool, USER).await;
    let refused = stand
        .refresh(&public(), refreshed["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(refused.error(), "invalid_grant", "{}", refused.body);
}

#[tokio::test]
async fn refresh_with_the_directory_unreachable_is_temporarily_unavailable() {
    let endpoint = format!("http://127.0.0.1:{}", closed_port());
    let directory = CognitoDirectory::with_client(
        cognito_config("us-east-1_AbCdEf123"),
        client_at(&endpoint, RetryConfig::disabled()),
    );
    let stand = Stand::with_directory(Arc::new(directory)).await;
    let first = stand.tokens_for(&public()).await;
    let t1 = first["refresh_token"].as_str().unwrap();
    let reply = stand.refresh(&public(), t1).await;
    assert_eq!(
        reply.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        reply.body
    );
    assert_eq!(reply.error(), "temporarily_unavailable");
    assert_eq!(
        stand.refresh(&public(), t1).await.error(),
        "temporarily_unavailable",
        "the grant was neither rotated nor revoked"
    );
}

/// Users that exist and are enabled but not confirmed may not refresh: an administrator's
/// password reset (`RESET_REQUIRED`), a temporary password never changed
/// (`FORCE_CHANGE_PASSWORD`), a sign-up never confirmed (`UNCONFIRMED`).
#[tokio::test]
async fn users_not_confirmed_upstream_are_gone() {
    let client = client_at(&moto_endpoint(), RetryConfig::standard());
    let pool = create_pool(&client, false).await;
    let directory = CognitoDirectory::with_client(cognito_config(&pool), client.clone());

    let reset = create_user(&client, &pool, "reset", "reset@example.com").await;
    assert!(matches!(
        directory.status(&grant_of(&reset)).await.unwrap(),
        UserStatus::Active { .. }
    ));
    client
        .admin_reset_user_password()
        .user_pool_id(&pool)
        .username(&reset)
        .send()
        .await
        .unwrap();

    let temporary = create_unconfirmed_user(&client, &pool, "temp", "temp@example.com").await;

    let app_client = client
        .create_user_pool_client()
        .user_pool_id(&pool)
        .client_name("sign-up")
        .send()
        .await
        .unwrap()
        .user_pool_client
        .unwrap()
        .client_id
        .unwrap();
    client
        .sign_up()
        .client_id(app_client)
        .username("signed-up")
        .password("Correct-horse-battery-9")
        .send()
        .await
        .unwrap();

    for (user, state) in [
        (reset.as_str(), "RESET_REQUIRED"),
        (temporary.as_str(), "FORCE_CHANGE_PASSWORD"),
        ("signed-up", "UNCONFIRMED"),
    ] {
        let seen = client
            .admin_get_user()
            .user_pool_id(&pool)
            .username(user)
            .send()
            .await
            .unwrap();
        assert_eq!(
            seen.user_status().map(|s| s.as_str()),
            Some(state),
            "moto set {user} up as {state}"
        );
        assert_eq!(
            directory.status(&grant_of(user)).await.unwrap(),
            UserStatus::Gone,
            "{state}"
        );
    }
}

/// The refresh grant for a user whose password an administrator reset after the grant was
/// made: `invalid_grant`, and the grant is revoked (it stays refused once the user is
/// confirmed again).
#[tokio::test]
async fn refresh_after_an_admin_password_reset_is_invalid_grant_and_revokes() {
    let client = client_at(&moto_endpoint(), RetryConfig::standard());
    let pool = create_pool(&client, false).await;
    create_user(&client, &pool, USER, "alice@example.com").await;
    let stand = Stand::with_directory(Arc::new(CognitoDirectory::new(
        cognito_config(&pool),
        shared::aws::Aws::from_env(),
    )))
    .await;
    let first = stand.tokens_for(&public()).await;
    let t1 = first["refresh_token"].as_str().unwrap();

    client
        .admin_reset_user_password()
        .user_pool_id(&pool)
        .username(USER)
        .send()
        .await
        .unwrap();
    let refused = stand.refresh(&public(), t1).await;
    assert_eq!(refused.error(), "invalid_grant", "{}", refused.body);
    let grants = stand
        .stores
        .grants
        .list_for_user(USER, &PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(grants.items.len(), 1);
    assert_eq!(
        grants.items[0].status,
        GrantStatus::Revoked,
        "grant revoked"
    );

    client
        .admin_set_user_password()
        .user_pool_id(&pool)
        .username(USER)
        .password("Another-horse-battery-9")
        .permanent(true)
        .send()
        .await
        .unwrap();
    assert_eq!(
        stand.refresh(&public(), t1).await.error(),
        "invalid_grant",
        "the grant stays revoked"
    );
}
