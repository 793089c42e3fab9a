//! Each constructor's stored shape, written out: the kind, client, user and detail map a row has
//! always had, so a change to a constructor cannot silently change what is stored.

use serde_json::{Value, json};

use super::{AuditEvent, AuditKind, Origin};
use crate::oauth::client_id::ClientId;
use crate::oauth::client_metadata::ClientMetadata;
use crate::oauth::redirect_uri::RedirectUri;
use crate::oauth::scope::Scope;
use crate::store::{ClientKind, ClientRecord, ClientStatus};

fn request() -> Origin {
    Origin::request(
        1_700_000_000_123,
        Some("192.0.2.1".into()),
        Some("ua".into()),
    )
}

fn client(name: Option<&str>) -> ClientRecord {
    ClientRecord {
        client_id: ClientId::from_stored("c1"),
        kind: ClientKind::Dcr,
        status: ClientStatus::Active,
        metadata: ClientMetadata {
            redirect_uris: vec![RedirectUri::from_stored("https://a.example/cb")],
            token_endpoint_auth_method: crate::oauth::client_values::AuthMethod::None,
            client_name: name.map(Into::into),
            ..ClientMetadata::default()
        },
        secret_hash: None,
        registration_token_hash: None,
        resources: Vec::new(),
        created_at: 0,
        created_ip: None,
        created_user_agent: None,
        last_used_at: None,
        revision: 0,
        expires_at: None,
    }
}

/// The event as stored, without its random id.
fn stored(event: &AuditEvent) -> Value {
    let mut value = serde_json::to_value(event).unwrap();
    value.as_object_mut().unwrap().remove("id");
    value
}

fn expect(kind: &str, client: Option<&str>, sub: Option<&str>, detail: Value) -> Value {
    json!({
        "at_ms": 1_700_000_000_123_i64,
        "kind": kind,
        "client_id": client,
        "sub": sub,
        "source_ip": "192.0.2.1",
        "user_agent": "ua",
        "detail": detail,
    })
}

#[test]
fn request_events_keep_their_stored_shape() {
    let o = request();
    let cases: Vec<(&str, AuditEvent, Value)> = vec![
        (
            "registration",
            AuditEvent::client_registered(&o, &client(Some("Claude"))),
            expect(
                "client.registered",
                Some("c1"),
                None,
                json!({
                    "client_name": "Claude",
                    "redirect_uris": ["https://a.example/cb"],
                    "token_endpoint_auth_method": "none",
                }),
            ),
        ),
        (
            "update of a client without a name: the name is null",
            AuditEvent::client_updated(&o, &client(None)),
            expect(
                "client.updated",
                Some("c1"),
                None,
                json!({
                    "client_name": null,
                    "redirect_uris": ["https://a.example/cb"],
                    "token_endpoint_auth_method": "none",
                }),
            ),
        ),
        (
            "deletion",
            AuditEvent::client_deleted(&o, &client(Some("x"))),
            expect(
                "client.deleted",
                Some("c1"),
                None,
                json!({
                    "client_name": "x",
                    "redirect_uris": ["https://a.example/cb"],
                    "token_endpoint_auth_method": "none",
                }),
            ),
        ),
        (
            "consent given",
            AuditEvent::consent_given(
                &o,
                &ClientId::from_stored("c1"),
                &Scope::from_stored("costs:read"),
            ),
            expect(
                "consent.given",
                Some("c1"),
                None,
                json!({"scope": "costs:read"}),
            ),
        ),
        (
            "consent denied",
            AuditEvent::consent_denied(&o, &ClientId::from_stored("c1")),
            expect("consent.denied", Some("c1"), None, json!({})),
        ),
        (
            "other browser",
            AuditEvent::authorization_other_browser(&o, &ClientId::from_stored("c1"), "login"),
            expect(
                "authorization.other_browser",
                Some("c1"),
                None,
                json!({"step": "login"}),
            ),
        ),
        (
            "login",
            AuditEvent::login(&o, &ClientId::from_stored("c1"), "alice"),
            expect("login", Some("c1"), Some("alice"), json!({})),
        ),
        (
            "failed login",
            AuditEvent::login_failed(
                &o,
                &ClientId::from_stored("c1"),
                "wrong username or password",
            ),
            expect(
                "login.failed",
                Some("c1"),
                None,
                json!({"reason": "wrong username or password"}),
            ),
        ),
        (
            "failed upstream login",
            AuditEvent::login_failed_upstream(&o, &ClientId::from_stored("c1"), "access_denied"),
            expect(
                "login.failed",
                Some("c1"),
                None,
                json!({"upstream_error": "access_denied"}),
            ),
        ),
        (
            "code issued",
            AuditEvent::code_issued(
                &o,
                &ClientId::from_stored("c1"),
                "alice",
                &Scope::from_stored("costs:read"),
            ),
            expect(
                "code.issued",
                Some("c1"),
                Some("alice"),
                json!({"scope": "costs:read"}),
            ),
        ),
        (
            "code replayed, grant revoked",
            AuditEvent::code_replayed(&o, &ClientId::from_stored("c1"), "alice", true),
            expect(
                "code.replayed",
                Some("c1"),
                Some("alice"),
                json!({"grant_revoked": "true"}),
            ),
        ),
        (
            "code replayed, no grant",
            AuditEvent::code_replayed(&o, &ClientId::from_stored("c1"), "alice", false),
            expect(
                "code.replayed",
                Some("c1"),
                Some("alice"),
                json!({"grant_revoked": "false"}),
            ),
        ),
        (
            "token issued",
            AuditEvent::token_issued(
                &o,
                &ClientId::from_stored("c1"),
                "alice",
                "g1",
                "j1",
                &Scope::from_stored("costs:read"),
            ),
            expect(
                "token.issued",
                Some("c1"),
                Some("alice"),
                json!({
                    "grant_type": "authorization_code",
                    "scope": "costs:read",
                    "jti": "j1",
                    "grant_id": "g1",
                }),
            ),
        ),
        (
            "token refreshed",
            AuditEvent::token_refreshed(
                &o,
                &ClientId::from_stored("c1"),
                "alice",
                "g1",
                "j2",
                &Scope::from_stored("costs:read"),
            ),
            expect(
                "token.refreshed",
                Some("c1"),
                Some("alice"),
                json!({
                    "grant_id": "g1",
                    "scope": "costs:read",
                    "jti": "j2",
                }),
            ),
        ),
        (
            "refresh grace",
            AuditEvent::refresh_grace(&o, &ClientId::from_stored("c1"), "alice", "g1"),
            expect(
                "refresh.grace",
                Some("c1"),
                Some("alice"),
                json!({"grant_id": "g1"}),
            ),
        ),
        (
            "refresh reuse",
            AuditEvent::refresh_reuse_detected(&o, &ClientId::from_stored("c1"), "alice", "g1"),
            expect(
                "refresh.reuse_detected",
                Some("c1"),
                Some("alice"),
                json!({"grant_id": "g1"}),
            ),
        ),
        (
            "grant revoked by the client",
            AuditEvent::grant_revoked_by_client(&o, &ClientId::from_stored("c1"), "alice", "g1"),
            expect(
                "grant.revoked",
                Some("c1"),
                Some("alice"),
                json!({
                    "reason": "revoked by the client",
                    "grant_id": "g1",
                }),
            ),
        ),
        (
            "grant revoked, user gone upstream",
            AuditEvent::grant_revoked_user_gone(&o, &ClientId::from_stored("c1"), "alice"),
            expect(
                "grant.revoked",
                Some("c1"),
                Some("alice"),
                json!({
                    "reason": "user disabled or deleted upstream",
                }),
            ),
        ),
        (
            "access token revoked",
            AuditEvent::access_token_revoked(&o, &ClientId::from_stored("c1"), "alice", "j1"),
            expect(
                "access_token.revoked",
                Some("c1"),
                Some("alice"),
                json!({"jti": "j1"}),
            ),
        ),
    ];
    for (what, event, want) in cases {
        assert_eq!(stored(&event), want, "{what}");
        assert!(!matches!(event.kind, AuditKind::Other(_)), "{what}");
        let read: AuditEvent =
            serde_json::from_value(serde_json::to_value(&event).unwrap()).unwrap();
        assert_eq!(read, event, "{what}");
    }
}

#[test]
fn admin_events_keep_their_stored_shape() {
    let o = Origin::cli(5_000, "serverless-mcp/0 admin".into(), Some("ops".into()));
    let anonymous = Origin::cli(5_000, "serverless-mcp/0 admin".into(), None);
    let cli = |kind: &str, client: Option<&str>, sub: Option<&str>, mut detail: Value| {
        detail["source"] = json!("cli");
        detail["operator"] = json!("ops");
        json!({
            "at_ms": 5_000,
            "kind": kind,
            "client_id": client,
            "sub": sub,
            "source_ip": null,
            "user_agent": "serverless-mcp/0 admin",
            "detail": detail,
        })
    };
    let cases: Vec<(&str, AuditEvent, Value)> = vec![
        (
            "table",
            AuditEvent::admin_table_created(&o, "sqlite:x.db"),
            cli(
                "admin.table.created",
                None,
                None,
                json!({"store": "sqlite:x.db"}),
            ),
        ),
        (
            "user added",
            AuditEvent::admin_user_added(&o, "u1", &["finance".into()]),
            cli(
                "admin.user.added",
                None,
                Some("u1"),
                json!({"groups": ["finance"]}),
            ),
        ),
        (
            "user disabled",
            AuditEvent::admin_user_disabled(&o, "u1", 2),
            cli(
                "admin.user.disabled",
                None,
                Some("u1"),
                json!({"grants_revoked": 2}),
            ),
        ),
        (
            "user enabled",
            AuditEvent::admin_user_enabled(&o, "u1"),
            cli("admin.user.enabled", None, Some("u1"), json!({})),
        ),
        (
            "client enabled",
            AuditEvent::admin_client_enabled(&o, "c1"),
            cli("admin.client.enabled", Some("c1"), None, json!({})),
        ),
        (
            "client disabled with a reason",
            AuditEvent::admin_client_cut_off(&o, "c1", false, 3, Some("lost laptop")),
            cli(
                "admin.client.disabled",
                Some("c1"),
                None,
                json!({
                    "grants_revoked": 3,
                    "reason": "lost laptop",
                }),
            ),
        ),
        (
            "client deleted without a reason",
            AuditEvent::admin_client_cut_off(&o, "c1", true, 0, None),
            cli(
                "admin.client.deleted",
                Some("c1"),
                None,
                json!({"grants_revoked": 0}),
            ),
        ),
        (
            "one grant",
            AuditEvent::admin_grant_revoked(&o, "c1", "u1", "g1"),
            cli(
                "admin.grant.revoked",
                Some("c1"),
                Some("u1"),
                json!({"grant_id": "g1"}),
            ),
        ),
        (
            "a user's grants",
            AuditEvent::admin_grants_revoked(&o, None, Some("u1"), 4),
            cli(
                "admin.grants.revoked",
                None,
                Some("u1"),
                json!({"grants_revoked": 4}),
            ),
        ),
        (
            "key",
            AuditEvent::admin_key_rotated(&o, "k2", "k1"),
            cli(
                "admin.key.rotated",
                None,
                None,
                json!({"kid": "k2", "previous_kid": "k1"}),
            ),
        ),
        (
            "user deleted",
            AuditEvent::admin_user_deleted(&o, "u1", 2, 1),
            cli(
                "admin.user.deleted",
                None,
                Some("u1"),
                json!({"grants_revoked": 2, "consents_revoked": 1}),
            ),
        ),
        (
            "password",
            AuditEvent::admin_user_password_changed(&o, "u1"),
            cli("admin.user.password_changed", None, Some("u1"), json!({})),
        ),
        (
            "groups",
            AuditEvent::admin_user_groups_changed(&o, "u1", &["a".into()], &["b".into()]),
            cli(
                "admin.user.groups_changed",
                None,
                Some("u1"),
                json!({"previous_groups": ["a"], "groups": ["b"]}),
            ),
        ),
        (
            "consents",
            AuditEvent::admin_consents_revoked(&o, "u1", Some("c1"), 1),
            cli(
                "admin.consents.revoked",
                Some("c1"),
                Some("u1"),
                json!({"consents_revoked": 1}),
            ),
        ),
    ];
    for (what, event, want) in cases {
        assert_eq!(stored(&event), want, "{what}");
        assert_eq!(event.source(), Some("cli"), "{what}");
        assert_eq!(event.operator(), Some("ops"), "{what}");
    }
    let unnamed = AuditEvent::admin_user_enabled(&anonymous, "u1");
    assert_eq!(stored(&unnamed)["detail"], json!({"source": "cli"}));
    assert_eq!(unnamed.operator(), None);
}

#[test]
fn readers_find_what_the_constructors_wrote() {
    let o = request();
    let issued = AuditEvent::token_issued(
        &o,
        &ClientId::from_stored("c1"),
        "alice",
        "g1",
        "j1",
        &Scope::from_stored("costs:read"),
    );
    assert_eq!(issued.grant_id(), Some("g1"));
    assert_eq!(issued.jti(), Some("j1"));
    assert_eq!(issued.scope(), Some("costs:read"));
    assert_eq!(issued.source(), None);
    let revoked =
        AuditEvent::grant_revoked_by_client(&o, &ClientId::from_stored("c1"), "alice", "g1");
    assert_eq!(revoked.reason(), Some("revoked by the client"));
    assert_eq!(revoked.jti(), None);
    let cut =
        AuditEvent::admin_client_cut_off(&Origin::cli(0, "ua".into(), None), "c1", true, 3, None);
    assert_eq!(cut.grants_revoked(), Some(3));
    let shown: Vec<&str> = cut.other_details().map(|(k, _)| k).collect();
    assert_eq!(shown, ["grants_revoked"]);
}

#[test]
fn a_row_of_an_unknown_kind_still_reads() {
    let row = json!({
        "id": "e1",
        "at_ms": 1,
        "kind": "admin.something.new",
        "client_id": null,
        "sub": null,
        "source_ip": null,
        "user_agent": null,
        "detail": {"source": "cli", "what": "x"},
    });
    let event: AuditEvent = serde_json::from_value(row.clone()).unwrap();
    assert_eq!(event.kind, AuditKind::Other("admin.something.new".into()));
    assert_eq!(event.source(), Some("cli"));
    assert_eq!(serde_json::to_value(&event).unwrap(), row);
}
