//! RFC 7662 introspection: only resource servers, with their secret, learn about tokens for
//! their resources; every other token is `{"active": false}` and nothing more.

use std::sync::Arc;

use axum::http::StatusCode;
use base64::Engine as _;
use serde_json::{Value, json};
use shared::clock::Clock as _;
use shared::token::{LocalSigner, Signer, TokenIssuer};

use crate::support::*;

const RS: &str = "tools-server";
const OTHER_RS: &str = "other-server";
const OTHER_RESOURCE: &str = "https://other.example.com/mcp";

fn basic(id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

async fn stand() -> Stand {
    let stand = Stand::new().await;
    stand.add_resource_server(RS, &[RESOURCE]).await;
    stand.add_resource_server(OTHER_RS, &[OTHER_RESOURCE]).await;
    stand
}

/// POST /introspect by `rs` with its secret in the Basic header.
async fn introspect_as(stand: &Stand, rs: &str, token: &str) -> Reply {
    let authorization = basic(rs, RS_SECRET);
    stand
        .post_form(
            "/introspect",
            &[("token", token)],
            &[("authorization", &authorization)],
        )
        .await
}

async fn introspect(stand: &Stand, token: &str) -> Reply {
    introspect_as(stand, RS, token).await
}

/// The answer for an inactive token: exactly `{"active": false}`, never cached.
fn assert_inactive(reply: &Reply, what: &str) {
    assert_eq!(reply.status, StatusCode::OK, "{what}: {}", reply.body);
    assert_eq!(reply.json(), json!({"active": false}), "{what}");
    assert_eq!(reply.header("cache-control"), Some("no-store"), "{what}");
}

#[tokio::test]
async fn an_active_token_is_described_with_the_rfc_7662_members() {
    let stand = stand().await;
    let tokens = stand.tokens_for(&public()).await;
    let access = tokens["access_token"].as_str().unwrap();
    let reply = introspect(&stand, access).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let body = reply.json();
    assert_eq!(body["active"], true);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["client_id"], PUBLIC);
    assert_eq!(body["aud"], RESOURCE);
    assert_eq!(body["iss"], ISSUER);
    assert_eq!(body["scope"], tokens["scope"]);
    assert!(body["sub"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(body["username"], USER, "the embedded login's user name");
    assert_eq!(body["iat"], T0);
    assert_eq!(
        body["exp"].as_i64().unwrap() - T0,
        tokens["expires_in"].as_i64().unwrap()
    );
    assert!(body["jti"].as_str().is_some());
    // client_secret_post authenticates too.
    let reply = stand
        .post_form(
            "/introspect",
            &[
                ("token", access),
                ("token_type_hint", "access_token"),
                ("client_id", RS),
                ("client_secret", RS_SECRET),
            ],
            &[],
        )
        .await;
    assert_eq!(reply.json()["active"], true, "{}", reply.body);
}

#[tokio::test]
async fn tokens_that_are_not_active_access_tokens_for_the_caller_say_only_inactive() {
    let stand = stand().await;
    let tokens = stand.tokens_for(&public()).await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    // Signed by a key this server never published.
    let dir = std::env::temp_dir().join(format!("introspect-foreign-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let foreign_key: Arc<dyn Signer> = Arc::new(LocalSigner::load_or_create(&dir).unwrap());
    let foreign = TokenIssuer::new(foreign_key, ISSUER, RESOURCE, 3600);
    let (foreign, _) = foreign
        .mint("alice", PUBLIC, "costs:read", &[], T0)
        .await
        .unwrap();
    // Ours, for another resource, and from another issuer (our key).
    let other_aud = TokenIssuer::new(signer(), ISSUER, OTHER_RESOURCE, 3600);
    let (other_aud, _) = other_aud
        .mint("alice", PUBLIC, "costs:read", &[], T0)
        .await
        .unwrap();
    let other_iss = TokenIssuer::new(signer(), "https://evil.example", RESOURCE, 3600);
    let (other_iss, _) = other_iss
        .mint("alice", PUBLIC, "costs:read", &[], T0)
        .await
        .unwrap();
    let mut tampered = access.clone();
    tampered.pop();
    tampered.push(if access.ends_with('A') { 'B' } else { 'A' });
    let cases: Vec<(&str, String)> = vec![
        ("not a JWT", "not-a-token".into()),
        ("three garbage parts", "a.b.c".into()),
        ("a tampered signature", tampered),
        ("signed by another key", foreign.expose().to_owned()),
        ("for another resource", other_aud.expose().to_owned()),
        ("from another issuer", other_iss.expose().to_owned()),
        ("a refresh token", refresh.clone()),
    ];
    for (what, token) in &cases {
        assert_inactive(&introspect(&stand, token).await, what);
    }
    // A resource server learns nothing about another resource's tokens.
    assert_inactive(
        &introspect_as(&stand, OTHER_RS, &access).await,
        "the caller serves another resource",
    );
    // The same token is active for the resource server it is for.
    assert_eq!(introspect(&stand, &access).await.json()["active"], true);
    // Expired: past `exp` and the verifier's leeway.
    let exp = introspect(&stand, &access).await.json()["exp"]
        .as_i64()
        .unwrap();
    stand.clock.advance(exp + 31 - stand.clock.now());
    assert_inactive(&introspect(&stand, &access).await, "expired");
}

#[tokio::test]
async fn every_revocation_path_makes_the_token_inactive_at_once() {
    let stand = stand().await;
    // RFC 7009 revocation of the access token itself (the revocation list, by jti).
    let tokens = stand.tokens_for(&public()).await;
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(introspect(&stand, access).await.json()["active"], true);
    let reply = stand
        .post_form("/revoke", &[("token", access), ("client_id", PUBLIC)], &[])
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_inactive(&introspect(&stand, access).await, "access token revoked");

    // RFC 7009 revocation of the refresh token: the grant, and its access tokens.
    let tokens = stand.tokens_for(&public()).await;
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    assert_eq!(introspect(&stand, access).await.json()["active"], true);
    let reply = stand
        .post_form("/revoke", &[("token", refresh), ("client_id", PUBLIC)], &[])
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_inactive(
        &introspect(&stand, access).await,
        "grant revoked by RFC 7009",
    );

    // A grant whose status says revoked though no revocation-list entry names it (revoked
    // before grants were listed there): its tokens are inactive; those of an active grant
    // stored alike are not.
    for (status, active) in [
        (shared::store::GrantStatus::Active, true),
        (shared::store::GrantStatus::Revoked, false),
    ] {
        let grant = shared::store::GrantRecord {
            grant_id: format!("g-{active}"),
            sub: "alice-sub".into(),
            client_id: shared::oauth::client_id::ClientId::from_stored(PUBLIC),
            scope: shared::oauth::scope::Scope::from_stored("costs:read"),
            resource: shared::oauth::resource::ResourceUri::from_stored(RESOURCE),
            groups: vec![],
            refresh_hash: shared::secret::Secret::new("r").hash(),
            previous_refresh_hash: None,
            superseded_hashes: vec![],
            rotated_at: None,
            version: 0,
            status,
            created_at: stand.clock.now(),
            expires_at: Some(stand.clock.now() + 86_400),
            upstream_session: None,
        };
        assert!(stand.stores.grants.create(&grant).await.unwrap());
        let issuer = TokenIssuer::new(signer(), ISSUER, RESOURCE, 3600);
        let (token, _) = issuer
            .mint_in_grant(
                &grant.grant_id,
                "alice-sub",
                PUBLIC,
                "costs:read",
                &[],
                stand.clock.now(),
            )
            .await
            .unwrap();
        let reply = introspect(&stand, token.expose()).await;
        assert_eq!(reply.json()["active"], active, "grant status {status:?}");
    }

    // An admin's revocation of every token of the client or of the user.
    for what in ["client", "user"] {
        // Issued after the previous revocation, which reached tokens issued until then.
        stand.clock.advance(1);
        let tokens = stand.tokens_for(&public()).await;
        let access = tokens["access_token"].as_str().unwrap();
        assert_eq!(introspect(&stand, access).await.json()["active"], true);
        stand.clock.advance(1);
        let sub = claims(access)["sub"].as_str().unwrap().to_owned();
        let revoked = match what {
            "client" => shared::store::Revoked::Client(PUBLIC),
            _ => shared::store::Revoked::User(&sub),
        };
        stand
            .stores
            .revocations
            .revoke(revoked, stand.clock.now() + 7200)
            .await
            .unwrap();
        assert_inactive(&introspect(&stand, access).await, what);
    }
}

fn claims(access_token: &str) -> Value {
    let payload = access_token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn only_resource_servers_with_their_secret_may_ask() {
    let stand = stand().await;
    let tokens = stand.tokens_for(&public()).await;
    let access = tokens["access_token"].as_str().unwrap();
    let wrong_rs = basic(RS, "wrong-secret");
    let client_basic = basic(CONFIDENTIAL, CLIENT_SECRET);
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, Vec<(&'a str, &'a str)>);
    let cases: Vec<Case> = vec![
        ("no credentials", vec![("token", access)], vec![]),
        (
            "a resource server's wrong secret (Basic)",
            vec![("token", access)],
            vec![("authorization", &wrong_rs)],
        ),
        (
            "a resource server's wrong secret (post)",
            vec![
                ("token", access),
                ("client_id", RS),
                ("client_secret", "wrong-secret"),
            ],
            vec![],
        ),
        (
            "a resource server without its secret",
            vec![("token", access), ("client_id", RS)],
            vec![],
        ),
        (
            "an OAuth client's valid credentials (Basic)",
            vec![("token", access)],
            vec![("authorization", &client_basic)],
        ),
        (
            "an OAuth client's valid credentials (post)",
            vec![
                ("token", access),
                ("client_id", CONFIDENTIAL),
                ("client_secret", CLIENT_SECRET),
            ],
            vec![],
        ),
        (
            "a public client",
            vec![("token", access), ("client_id", PUBLIC)],
            vec![],
        ),
        (
            "an unknown client",
            vec![
                ("token", access),
                ("client_id", "nobody"),
                ("client_secret", RS_SECRET),
            ],
            vec![],
        ),
    ];
    for (what, form, headers) in cases {
        let reply = stand.post_form("/introspect", &form, &headers).await;
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "{what}: {}",
            reply.body
        );
        assert_eq!(reply.error(), "invalid_client", "{what}");
        assert_eq!(reply.header("cache-control"), Some("no-store"), "{what}");
        assert!(reply.json().get("active").is_none(), "{what}");
        // A Basic challenge exactly when Basic was used (RFC 6749 §5.2).
        let used_basic = headers.iter().any(|(k, _)| *k == "authorization");
        assert_eq!(
            reply
                .header("www-authenticate")
                .is_some_and(|v| v.starts_with("Basic")),
            used_basic,
            "{what}: the Basic challenge"
        );
    }
    // A disabled resource server is refused too.
    stand
        .stores
        .clients
        .set_status(RS, shared::store::ClientStatus::Disabled)
        .await
        .unwrap();
    let reply = introspect(&stand, access).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "disabled");
}

#[tokio::test]
async fn a_resource_server_is_no_oauth_client() {
    let stand = stand().await;
    let reply = stand
        .token(
            &Auth::Basic(RS, RS_SECRET),
            &[("grant_type", "refresh_token"), ("refresh_token", "x.y")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
    assert_eq!(reply.error(), "invalid_client");
    let page = stand
        .get(
            &stand.authorize_url(RS, "https://resource-server.invalid/", &[]),
            "",
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
    assert!(page.headers.get("location").is_none());
}

#[tokio::test]
async fn malformed_requests_are_invalid_request() {
    let stand = stand().await;
    let authorization = basic(RS, RS_SECRET);
    let big = "a".repeat(17 * 1024);
    let cases: [(&str, Vec<(&str, &str)>); 4] = [
        ("no token", vec![]),
        ("an empty token", vec![("token", "")]),
        ("a repeated token", vec![("token", "a"), ("token", "b")]),
        ("a body over 16 KiB", vec![("token", &big)]),
    ];
    for (what, form) in cases {
        let reply = stand
            .post_form(
                "/introspect",
                &form,
                &[("authorization", authorization.as_str())],
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{what}: {}",
            reply.body
        );
        assert_eq!(reply.error(), "invalid_request", "{what}");
        assert_eq!(reply.header("cache-control"), Some("no-store"), "{what}");
    }
}

#[tokio::test]
async fn the_metadata_advertises_introspection() {
    let stand = stand().await;
    let metadata = stand
        .get("/.well-known/oauth-authorization-server", "")
        .await
        .json();
    assert_eq!(
        metadata["introspection_endpoint"],
        format!("{ISSUER}/introspect")
    );
    assert_eq!(
        metadata["introspection_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post"])
    );
}

#[tokio::test]
async fn introspection_is_audited_without_the_token() {
    let stand = stand().await;
    let tokens = stand.tokens_for(&public()).await;
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(introspect(&stand, access).await.json()["active"], true);
    assert_inactive(&introspect(&stand, "not-a-token").await, "garbage");
    let events = stand
        .stores
        .audit
        .list_for_client(RS, &shared::store::PageRequest::first(100))
        .await
        .unwrap()
        .items;
    let introspected: Vec<_> = events
        .iter()
        .filter(|e| e.kind == "token.introspected")
        .collect();
    assert_eq!(introspected.len(), 2, "{events:?}");
    // The active one names the token's user; the inactive one nobody.
    let sub = claims(access)["sub"].as_str().unwrap().to_owned();
    let mut subs: Vec<_> = introspected.iter().map(|e| e.sub.clone()).collect();
    subs.sort();
    assert_eq!(subs, [None, Some(sub)]);
    let text = serde_json::to_string(&events).unwrap();
    assert!(
        text.contains("\"active\":true") && text.contains("\"active\":false"),
        "{text}"
    );
    assert!(!text.contains(access) && !text.contains(RS_SECRET));
}
