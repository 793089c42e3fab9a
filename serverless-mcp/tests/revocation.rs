//! Every revocation reaches the access tokens, through the real MCP endpoint, on SQLite and on
//! DynamoDB (moto): a replayed code, a reused refresh token, a user gone at refresh and RFC 7009
//! revocation of a refresh token each make the grant's outstanding access tokens answer 401 at
//! once; a refresh token with a secret the grant never had revokes nothing; a revoked access
//! token stays refused through the verifier's leeway. The authorization server and the MCP
//! server run as `serve` runs them (one store, in-process keys) with a manual clock; the browser
//! leg (authorize, consent, login, callback) is walked with a cookie jar. Every time the MCP
//! endpoint is asked about a token, RFC 7662 introspection by a resource server is asked too and
//! must agree (active exactly when the MCP endpoint accepts the token), so each revocation path
//! also reaches servers that only introspect.

// Test helpers outside `#[test]` functions may fail loudly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{hidden, location};

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Value, json};
use shared::clock::{Clock, ManualClock};
use shared::config::{Config, keys};
use shared::secret::{Secret, random_id};
use shared::store::Stores;
use shared::store::dynamo::DynamoBackend;
use shared::store::sqlite::SqliteBackend;

const T0: i64 = 1_767_225_600;
const USER: &str = "alice";
const PASSWORD: &str = "a long enough password";
const REDIRECT: &str = "http://127.0.0.1:9/cb";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const RESOURCE_SERVER: &str = "revocation-resource-server";
const RESOURCE_SERVER_SECRET: &str = "resource-server-secret-0123456789abcdef";

#[derive(Clone, Copy, Debug)]
enum Backend {
    Sqlite,
    Dynamo,
}

/// Both servers over one store, on a free port, with a clock the test moves.
struct Stand {
    base: String,
    resource: String,
    stores: Stores,
    clock: Arc<ManualClock>,
    http: reqwest::Client,
    data_dir: std::path::PathBuf,
}

impl Drop for Stand {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

impl Stand {
    async fn new(backend: Backend) -> Self {
        let clock = Arc::new(ManualClock::at(T0));
        let dyn_clock: Arc<dyn Clock> = clock.clone();
        let backend: Arc<dyn shared::store::item::ItemBackend> = match backend {
            Backend::Sqlite => Arc::new(SqliteBackend::in_memory().unwrap()),
            Backend::Dynamo => {
                assert!(
                    std::env::var_os("AWS_ENDPOINT_URL").is_some_and(|u| !u.is_empty()),
                    "AWS_ENDPOINT_URL is not set: run the tests through tests/run.sh, which \
                     starts moto"
                );
                let table = format!("revocation-{}", random_id());
                let aws = shared::aws::Aws::from_env();
                let backend = DynamoBackend::from_sdk_config(aws.sdk().await, &table);
                backend.create_table().await.unwrap();
                Arc::new(backend)
            }
        };
        let stores = Stores::new(backend, dyn_clock.clone());
        authz::upstream::local::add_user(&stores, USER, &Secret::new(PASSWORD), vec![], T0)
            .await
            .unwrap();

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let data_dir = std::env::temp_dir().join(format!("revocation-e2e-{}", random_id()));
        let settings: HashMap<&str, String> = HashMap::from([
            (keys::ISSUER, base.clone()),
            (keys::RESOURCE, format!("{base}/mcp")),
            (keys::DATA_DIR, data_dir.display().to_string()),
            (keys::COOKIE_KEY, "c".repeat(43)),
        ]);
        let config = Arc::new(Config::from_lookup(|key| settings.get(key).cloned()).unwrap());
        std::fs::create_dir_all(&data_dir).unwrap();
        let resource_server = shared::store::ClientRecord {
            client_id: shared::oauth::client_id::ClientId::from_stored(RESOURCE_SERVER),
            kind: shared::store::ClientKind::ResourceServer,
            status: shared::store::ClientStatus::Active,
            metadata: shared::oauth::client_metadata::ClientMetadata {
                token_endpoint_auth_method: "client_secret_basic".parse().unwrap(),
                ..Default::default()
            },
            secret_hash: Some(Secret::new(RESOURCE_SERVER_SECRET).hash()),
            registration_token_hash: None,
            resources: vec![shared::oauth::resource::ResourceUri::from_stored(
                config.resource.clone(),
            )],
            created_at: T0,
            created_ip: None,
            created_user_agent: None,
            last_used_at: None,
            revision: 0,
            expires_at: None,
        };
        assert!(stores.clients.create(&resource_server).await.unwrap());
        common::serve_in_process(listener, &config, &stores, dyn_clock).await;
        Self {
            base,
            resource: config.resource.clone(),
            stores,
            clock,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            data_dir,
        }
    }

    /// Registers a public client (RFC 7591) for the given grant types and returns its id.
    async fn register(&self, grant_types: &[&str]) -> String {
        let reply = self
            .http
            .post(format!("{}/register", self.base))
            .json(&json!({
                "redirect_uris": [REDIRECT],
                "token_endpoint_auth_method": "none",
                "grant_types": grant_types,
                "response_types": ["code"],
                "client_name": "Revocation test",
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 201);
        let body: Value = reply.json().await.unwrap();
        body["client_id"].as_str().unwrap().to_owned()
    }

    /// The browser leg for `client_id`: authorize, approve, log in; returns the code.
    async fn code(&self, client_id: &str) -> String {
        let mut jar = HashMap::new();
        let authorize = format!(
            "{}/authorize?response_type=code&client_id={client_id}&redirect_uri={}\
             &code_challenge={CHALLENGE}&code_challenge_method=S256&state=s",
            self.base,
            url_encode(REDIRECT)
        );
        let page = common::browse(&self.http, &mut jar, &authorize, None).await;
        assert_eq!(page.status(), 200);
        let page = page.text().await.unwrap();
        let consent = common::browse(
            &self.http,
            &mut jar,
            &format!("{}/consent", self.base),
            Some(&[
                ("request", &hidden(&page, "request")),
                ("client_id", client_id),
                ("csrf", &hidden(&page, "csrf")),
                ("decision", "approve"),
            ]),
        )
        .await;
        assert_eq!(consent.status(), 303);
        let login = location(&consent);
        let form = common::browse(&self.http, &mut jar, &login, None).await;
        assert_eq!(form.status(), 200);
        let form = form.text().await.unwrap();
        let submitted = common::browse(
            &self.http,
            &mut jar,
            &format!("{}/login", self.base),
            Some(&[
                ("request", &hidden(&form, "request")),
                ("csrf", &hidden(&form, "csrf")),
                ("username", USER),
                ("password", PASSWORD),
            ]),
        )
        .await;
        assert_eq!(submitted.status(), 303);
        let back = common::browse(&self.http, &mut jar, &location(&submitted), None).await;
        assert_eq!(back.status(), 302);
        let to_client = url::Url::parse(&location(&back)).unwrap();
        to_client
            .query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .expect("a code")
    }

    async fn token(&self, form: &[(&str, &str)]) -> (u16, Value) {
        let reply = self
            .http
            .post(format!("{}/token", self.base))
            .form(form)
            .send()
            .await
            .unwrap();
        let status = reply.status().as_u16();
        (status, reply.json().await.unwrap())
    }

    async fn exchange(&self, client_id: &str, code: &str) -> (u16, Value) {
        self.token(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("client_id", client_id),
        ])
        .await
    }

    /// A code exchanged: (access token, refresh token if any).
    async fn tokens(&self, client_id: &str) -> (String, Option<String>, String) {
        let code = self.code(client_id).await;
        let (status, body) = self.exchange(client_id, &code).await;
        assert_eq!(status, 200, "{body}");
        (
            body["access_token"].as_str().unwrap().to_owned(),
            body["refresh_token"].as_str().map(str::to_owned),
            code,
        )
    }

    async fn refresh(&self, client_id: &str, refresh_token: &str) -> (u16, Value) {
        self.token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", client_id),
        ])
        .await
    }

    /// The MCP endpoint's status for an `initialize` with this bearer token.
    async fn mcp(&self, access_token: &str) -> u16 {
        let reply = self
            .http
            .post(&self.resource)
            .bearer_auth(access_token)
            .header("accept", "application/json, text/event-stream")
            .json(&json!({
                "jsonrpc": "2.0", "id": 1, "method": "initialize",
                "params": {
                    "protocolVersion": "2025-06-18",
                    "capabilities": {},
                    "clientInfo": {"name": "revocation-test", "version": "1"}
                }
            }))
            .send()
            .await
            .unwrap();
        let status = reply.status().as_u16();
        if status == 401 {
            let challenge = reply
                .headers()
                .get("www-authenticate")
                .unwrap()
                .to_str()
                .unwrap();
            assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
        }
        assert_eq!(
            self.introspect(access_token).await,
            status == 200,
            "introspection agrees with the MCP endpoint ({status})"
        );
        status
    }

    /// Whether `/introspect`, asked by the resource server, says the token is active.
    async fn introspect(&self, access_token: &str) -> bool {
        let reply = self
            .http
            .post(format!("{}/introspect", self.base))
            .basic_auth(RESOURCE_SERVER, Some(RESOURCE_SERVER_SECRET))
            .form(&[("token", access_token)])
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 200);
        let body: Value = reply.json().await.unwrap();
        match body["active"].as_bool() {
            Some(true) => true,
            Some(false) => {
                assert_eq!(body, json!({"active": false}));
                false
            }
            None => panic!("no active member: {body}"),
        }
    }
}

fn url_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

async fn code_replay(backend: Backend) {
    let stand = Stand::new(backend).await;
    // With a refresh grant, and for a client that gets no refresh token (no grant stored).
    for grant_types in [
        &["authorization_code", "refresh_token"][..],
        &["authorization_code"][..],
    ] {
        let client = stand.register(grant_types).await;
        let (access, refresh, code) = stand.tokens(&client).await;
        assert_eq!(refresh.is_some(), grant_types.len() == 2);
        assert_eq!(stand.mcp(&access).await, 200);
        let (status, body) = stand.exchange(&client, &code).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant"))
        );
        assert_eq!(stand.mcp(&access).await, 401, "{grant_types:?}");
        if let Some(refresh) = refresh {
            let (status, _) = stand.refresh(&client, &refresh).await;
            assert_eq!(status, 400);
        }
    }
}

async fn refresh_reuse(backend: Backend) {
    let stand = Stand::new(backend).await;
    let client = stand
        .register(&["authorization_code", "refresh_token"])
        .await;
    let (a0, r0, _) = stand.tokens(&client).await;
    let r0 = r0.unwrap();
    let (status, body) = stand.refresh(&client, &r0).await;
    assert_eq!(status, 200, "{body}");
    let a1 = body["access_token"].as_str().unwrap().to_owned();
    let r1 = body["refresh_token"].as_str().unwrap().to_owned();

    // Within the grace window the replaced token is an error that revokes nothing.
    let (status, _) = stand.refresh(&client, &r0).await;
    assert_eq!(status, 400);
    assert_eq!(stand.mcp(&a1).await, 200);

    // A secret the grant never had (its id is public in every refresh token): nothing revoked.
    let grant_id = r0.split('.').next().unwrap();
    let guess = format!("{grant_id}.{}", Secret::generate().expose());
    let (status, body) = stand.refresh(&client, &guess).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_eq!(stand.mcp(&a1).await, 200, "a guess revokes nothing");

    // The superseded token after the grace window: reuse, the grant and its tokens revoked.
    stand.clock.advance(120);
    let (status, _) = stand.refresh(&client, &r0).await;
    assert_eq!(status, 400);
    assert_eq!(stand.mcp(&a0).await, 401);
    assert_eq!(stand.mcp(&a1).await, 401);
    let (status, _) = stand.refresh(&client, &r1).await;
    assert_eq!(status, 400, "the newest refresh token is revoked too");
}

async fn user_gone_at_refresh(backend: Backend) {
    let stand = Stand::new(backend).await;
    let client = stand
        .register(&["authorization_code", "refresh_token"])
        .await;
    let (access, refresh, _) = stand.tokens(&client).await;
    assert_eq!(stand.mcp(&access).await, 200);
    let mut user = stand.stores.login_users.get(USER).await.unwrap().unwrap();
    user.enabled = false;
    assert!(stand.stores.login_users.update(&user).await.unwrap());
    let (status, body) = stand.refresh(&client, &refresh.unwrap()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_eq!(stand.mcp(&access).await, 401);
}

async fn rfc7009_refresh_token(backend: Backend) {
    let stand = Stand::new(backend).await;
    let client = stand
        .register(&["authorization_code", "refresh_token"])
        .await;
    let (access, refresh, _) = stand.tokens(&client).await;
    let (other, _, _) = stand.tokens(&client).await;
    assert_eq!(stand.mcp(&access).await, 200);
    let reply = stand
        .http
        .post(format!("{}/revoke", stand.base))
        .form(&[
            ("token", refresh.unwrap().as_str()),
            ("token_type_hint", "refresh_token"),
            ("client_id", client.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    assert_eq!(stand.mcp(&access).await, 401);
    assert_eq!(stand.mcp(&other).await, 200, "another grant is untouched");
}

async fn revoked_access_token_through_leeway(backend: Backend) {
    let stand = Stand::new(backend).await;
    let client = stand
        .register(&["authorization_code", "refresh_token"])
        .await;
    let (access, _, _) = stand.tokens(&client).await;
    let reply = stand
        .http
        .post(format!("{}/revoke", stand.base))
        .form(&[
            ("token", access.as_str()),
            ("token_type_hint", "access_token"),
            ("client_id", client.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    assert_eq!(stand.mcp(&access).await, 401);
    // Past `exp` the verifier still accepts the token for 30 s (clock skew): the revocation
    // must hold until then.
    stand.clock.advance(3600 + 10);
    assert_eq!(stand.mcp(&access).await, 401, "within the leeway");
}

/// Runs a scenario as one test per store backend.
macro_rules! on_both_stores {
    ($($scenario:ident => $sqlite:ident, $dynamo:ident;)*) => {$(
        #[tokio::test]
        async fn $sqlite() {
            $scenario(Backend::Sqlite).await;
        }

        #[tokio::test]
        async fn $dynamo() {
            $scenario(Backend::Dynamo).await;
        }
    )*};
}

on_both_stores! {
    code_replay =>
        a_replayed_code_revokes_the_access_tokens_on_sqlite,
        a_replayed_code_revokes_the_access_tokens_on_dynamodb;
    refresh_reuse =>
        refresh_token_reuse_revokes_the_access_tokens_and_a_guess_nothing_on_sqlite,
        refresh_token_reuse_revokes_the_access_tokens_and_a_guess_nothing_on_dynamodb;
    user_gone_at_refresh =>
        a_user_gone_at_refresh_loses_the_access_tokens_on_sqlite,
        a_user_gone_at_refresh_loses_the_access_tokens_on_dynamodb;
    rfc7009_refresh_token =>
        revoking_a_refresh_token_revokes_its_access_tokens_on_sqlite,
        revoking_a_refresh_token_revokes_its_access_tokens_on_dynamodb;
    revoked_access_token_through_leeway =>
        a_revoked_access_token_stays_refused_through_the_leeway_on_sqlite,
        a_revoked_access_token_stays_refused_through_the_leeway_on_dynamodb;
}
