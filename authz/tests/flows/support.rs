//! The test stand: an app over in-memory SQLite, registered clients, an embedded-login user,
//! and a headless browser that walks authorize → consent → login → callback.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http_body_util::BodyExt as _;
use sha2_free::s256;
use shared::clock::{Clock, ManualClock};
use shared::config::{Config, keys};
use shared::oauth::client_id::ClientId;
use shared::oauth::client_metadata::ClientMetadata;
use shared::oauth::redirect_uri::RedirectUri;
use shared::secret::Secret;
use shared::store::item::ItemBackend;
use shared::store::sqlite::SqliteBackend;
use shared::store::{ClientKind, ClientRecord, ClientStatus, Stores};
use shared::token::{LocalSigner, Signer};
use tower::ServiceExt as _;

pub const T0: i64 = 1_767_225_600;
pub const ISSUER: &str = "https://auth.example.com";
pub const RESOURCE: &str = "https://mcp.example.com/mcp";
pub const PUBLIC: &str = "public-client";
pub const CONFIDENTIAL: &str = "confidential-client";
pub const CLIENT_SECRET: &str = "confidential-secret-0123456789";
pub const RS_SECRET: &str = "resource-server-secret-0123456789";
pub const REDIRECT: &str = "https://client.example/cb";
pub const LOOPBACK_REDIRECT: &str = "http://127.0.0.1:8000/cb";
pub const USER: &str = "alice";
pub const PASSWORD: &str = "correct horse battery staple";
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

mod sha2_free {
    /// The S256 challenge of a verifier (the RFC 7636 vector is checked in shared).
    pub fn s256(verifier: &str) -> String {
        use base64::Engine as _;
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref())
    }
}

pub fn challenge() -> String {
    s256(VERIFIER)
}

/// The stand's signing key (the one its JWKS publishes).
pub fn signer() -> Arc<dyn Signer> {
    static SIGNER: OnceLock<Arc<dyn Signer>> = OnceLock::new();
    SIGNER
        .get_or_init(|| {
            let dir = std::env::temp_dir().join(format!("authz-flows-key-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            Arc::new(LocalSigner::load_or_create(&dir).unwrap())
        })
        .clone()
}

pub fn config(issuer: &str) -> Config {
    config_with(issuer, &[])
}

/// The test configuration with more settings (`extra` wins over the defaults).
pub fn config_with(issuer: &str, extra: &[(&str, String)]) -> Config {
    let resource = format!("{issuer}/mcp");
    let resource = if issuer == ISSUER {
        RESOURCE.to_owned()
    } else {
        resource
    };
    let mut pairs: HashMap<&str, String> = HashMap::from([
        (keys::ISSUER, issuer.to_owned()),
        (keys::RESOURCE, resource),
        (keys::COOKIE_KEY, URL_SAFE_NO_PAD.encode([7u8; 32])),
        (keys::DATA_DIR, "/nonexistent-test-data-dir".to_owned()),
    ]);
    pairs.extend(extra.iter().cloned());
    Config::from_lookup(|k| pairs.get(k).cloned()).unwrap()
}

pub struct Stand {
    pub app: Router,
    pub stores: Stores,
    pub clock: Arc<ManualClock>,
}

impl Stand {
    pub async fn new() -> Self {
        Self::with_issuer(ISSUER).await
    }

    pub async fn with_issuer(issuer: &str) -> Self {
        Self::assemble(config(issuer), |state| state).await
    }

    /// The stand over another configuration (e.g. Cognito login).
    pub async fn with_config(config: Config) -> Self {
        Self::assemble(config, |state| state).await
    }

    /// The stand with another user directory consulted at refresh (the embedded login stays).
    pub async fn with_directory(directory: Arc<dyn authz::upstream::UserDirectory>) -> Self {
        Self::assemble(config(ISSUER), |mut state| {
            state.directory = directory;
            state
        })
        .await
    }

    /// The stand over another item backend (fault injection).
    pub async fn with_backend(backend: Arc<dyn ItemBackend>) -> Self {
        Self::assemble_over(config(ISSUER), backend, |state| state).await
    }

    async fn assemble(
        config: Config,
        adapt: impl FnOnce(authz::AppState) -> authz::AppState,
    ) -> Self {
        Self::assemble_over(config, Arc::new(SqliteBackend::in_memory().unwrap()), adapt).await
    }

    async fn assemble_over(
        config: Config,
        backend: Arc<dyn ItemBackend>,
        adapt: impl FnOnce(authz::AppState) -> authz::AppState,
    ) -> Self {
        let clock = Arc::new(ManualClock::at(T0));
        let dyn_clock: Arc<dyn Clock> = clock.clone();
        let stores = Stores::new(backend, dyn_clock.clone());
        let state = authz::AppState::new(
            Arc::new(config),
            stores.clone(),
            dyn_clock,
            signer(),
            &shared::aws::Aws::from_env(),
        )
        .unwrap();
        let stand = Self {
            app: authz::app(adapt(state)),
            stores,
            clock,
        };
        stand
            .add_client(PUBLIC, "none", &[REDIRECT, LOOPBACK_REDIRECT], None)
            .await;
        stand
            .add_client(CONFIDENTIAL, "client_secret_post", &[REDIRECT], None)
            .await;
        authz::upstream::local::add_user(
            &stand.stores,
            USER,
            &Secret::new(PASSWORD),
            vec!["finance".into()],
            T0,
        )
        .await
        .unwrap();
        stand
    }

    pub async fn add_client(&self, id: &str, auth: &str, redirects: &[&str], scope: Option<&str>) {
        self.add_client_named(id, auth, redirects, scope, "Test Client")
            .await;
    }

    pub async fn add_client_named(
        &self,
        id: &str,
        auth: &str,
        redirects: &[&str],
        scope: Option<&str>,
        name: &str,
    ) {
        let client = ClientRecord {
            client_id: ClientId::from_stored(id),
            kind: ClientKind::Dcr,
            status: ClientStatus::Active,
            metadata: ClientMetadata {
                redirect_uris: redirects
                    .iter()
                    .map(|r| RedirectUri::from_stored(*r))
                    .collect(),
                token_endpoint_auth_method: auth.parse().unwrap(),
                grant_types: vec![
                    shared::oauth::client_values::GrantType::AuthorizationCode,
                    shared::oauth::client_values::GrantType::RefreshToken,
                ],
                response_types: vec!["code".into()],
                client_name: Some(name.into()),
                client_uri: Some("https://client.example/about".into()),
                scope: scope.map(Into::into),
                ..ClientMetadata::default()
            },
            secret_hash: (auth != "none").then(|| Secret::new(CLIENT_SECRET).hash()),
            registration_token_hash: None,
            resources: Vec::new(),
            created_at: self.clock.now() - 600,
            created_ip: None,
            created_user_agent: None,
            last_used_at: None,
            revision: 0,
            expires_at: None,
        };
        assert!(self.stores.clients.create(&client).await.unwrap());
    }

    /// A resource server (`admin clients add --resource-server`) serving `resources`, with
    /// the secret [`RS_SECRET`].
    pub async fn add_resource_server(&self, id: &str, resources: &[&str]) {
        let client = ClientRecord {
            client_id: ClientId::from_stored(id),
            kind: ClientKind::ResourceServer,
            status: ClientStatus::Active,
            metadata: ClientMetadata {
                token_endpoint_auth_method: "client_secret_basic".parse().unwrap(),
                client_name: Some("Tools server".into()),
                ..ClientMetadata::default()
            },
            secret_hash: Some(Secret::new(RS_SECRET).hash()),
            registration_token_hash: None,
            resources: resources
                .iter()
                .map(|r| shared::oauth::resource::ResourceUri::from_stored(*r))
                .collect(),
            created_at: self.clock.now() - 600,
            created_ip: None,
            created_user_agent: None,
            last_used_at: None,
            revision: 0,
            expires_at: None,
        };
        assert!(self.stores.clients.create(&client).await.unwrap());
    }

    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.app.clone().oneshot(request).await.unwrap();
        Reply::read(response).await
    }

    pub async fn get(&self, uri: &str, cookies: &str) -> Reply {
        let mut request = Request::get(uri);
        if !cookies.is_empty() {
            request = request.header(header::COOKIE, cookies);
        }
        self.send(request.body(Body::empty()).unwrap()).await
    }

    pub async fn post_form(
        &self,
        uri: &str,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Reply {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let mut request =
            Request::post(uri).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        self.send(request.body(Body::from(body)).unwrap()).await
    }

    /// POST /token as the given client (public: client_id only; confidential: post or basic).
    pub async fn token(&self, auth: &Auth, form: &[(&str, &str)]) -> Reply {
        let mut form = form.to_vec();
        let mut headers = Vec::new();
        let basic;
        match auth {
            Auth::Public(id) => form.push(("client_id", id)),
            Auth::Post(id, secret) => {
                form.push(("client_id", id));
                form.push(("client_secret", secret));
            }
            Auth::Basic(id, secret) => {
                basic = format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
                );
                headers.push(("authorization", basic.as_str()));
            }
            Auth::Nothing => {}
        }
        self.post_form("/token", &form, &headers).await
    }

    pub fn authorize_url(
        &self,
        client_id: &str,
        redirect_uri: &str,
        extra: &[(&str, &str)],
    ) -> String {
        let challenge = challenge();
        let mut params: Vec<(&str, &str)> = vec![
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", redirect_uri),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("state", "st-123"),
        ];
        for (k, v) in extra {
            params.retain(|(p, _)| p != k);
            if !v.is_empty() {
                params.push((k, v));
            }
        }
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        format!("/authorize?{query}")
    }

    /// The whole browser leg: authorize, consent (approve), login, callback. Returns the
    /// client's redirect (with code) and the browser's cookies.
    pub async fn browser_flow(
        &self,
        client_id: &str,
        redirect_uri: &str,
        extra: &[(&str, &str)],
    ) -> (url::Url, Browser) {
        let mut browser = Browser::default();
        let page = self
            .get(&self.authorize_url(client_id, redirect_uri, extra), "")
            .await;
        browser.absorb(&page);
        assert_eq!(page.status, StatusCode::OK, "consent page: {}", page.body);
        let consent = self.approve(&page, client_id, &mut browser).await;
        assert_eq!(
            consent.status,
            StatusCode::SEE_OTHER,
            "consent: {}",
            consent.body
        );
        let login_url = consent.location();
        let back = self.login(&login_url, &mut browser, USER, PASSWORD).await;
        (back, browser)
    }

    pub async fn approve(&self, page: &Reply, client_id: &str, browser: &mut Browser) -> Reply {
        let reply = self
            .post_form(
                "/consent",
                &[
                    ("request", &page.hidden("request")),
                    ("client_id", client_id),
                    ("csrf", &page.hidden("csrf")),
                    ("decision", "approve"),
                ],
                &[("cookie", &browser.header())],
            )
            .await;
        browser.absorb(&reply);
        reply
    }

    /// Logs in at the embedded login page and follows to the client's redirect.
    pub async fn login(
        &self,
        login_url: &str,
        browser: &mut Browser,
        user: &str,
        password: &str,
    ) -> url::Url {
        let path = login_url.strip_prefix(ISSUER).unwrap_or(login_url);
        let form_page = self.get(path, &browser.header()).await;
        browser.absorb(&form_page);
        assert_eq!(
            form_page.status,
            StatusCode::OK,
            "login page: {}",
            form_page.body
        );
        let submitted = self.submit_login(&form_page, browser, user, password).await;
        assert_eq!(
            submitted.status,
            StatusCode::SEE_OTHER,
            "login: {}",
            submitted.body
        );
        let callback = submitted.location();
        let path = callback
            .strip_prefix(ISSUER)
            .unwrap_or(&callback)
            .to_owned();
        let back = self.get(&path, &browser.header()).await;
        assert_eq!(back.status, StatusCode::FOUND, "callback: {}", back.body);
        url::Url::parse(&back.location()).unwrap()
    }

    /// Posts the embedded login form of `form_page` with the browser's cookies.
    pub async fn submit_login(
        &self,
        form_page: &Reply,
        browser: &Browser,
        user: &str,
        password: &str,
    ) -> Reply {
        self.post_form(
            "/login",
            &[
                ("request", &form_page.hidden("request")),
                ("csrf", &form_page.hidden("csrf")),
                ("username", user),
                ("password", password),
            ],
            &[("cookie", &browser.header())],
        )
        .await
    }

    /// A fresh code for the public client at REDIRECT.
    pub async fn code_for(&self, client_id: &str) -> String {
        let (back, _) = self.browser_flow(client_id, REDIRECT, &[]).await;
        param(&back, "code").expect("a code")
    }

    /// Tokens for a client: code, then exchange. Returns the token response JSON.
    pub async fn tokens_for(&self, auth: &Auth) -> serde_json::Value {
        let code = self.code_for(auth.client_id()).await;
        let reply = self
            .token(
                auth,
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

    pub async fn refresh(&self, auth: &Auth, refresh_token: &str) -> Reply {
        self.token(
            auth,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ],
        )
        .await
    }
}

pub enum Auth {
    Public(&'static str),
    Post(&'static str, &'static str),
    Basic(&'static str, &'static str),
    Nothing,
}

impl Auth {
    pub fn client_id(&self) -> &'static str {
        match self {
            Self::Public(id) | Self::Post(id, _) | Self::Basic(id, _) => id,
            Self::Nothing => "",
        }
    }
}

pub fn public() -> Auth {
    Auth::Public(PUBLIC)
}

/// Cookies a browser keeps.
#[derive(Debug, Default, Clone)]
pub struct Browser(HashMap<String, String>);

impl Browser {
    pub fn absorb(&mut self, reply: &Reply) {
        for line in &reply.set_cookies {
            let pair = line.split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            self.0.insert(k.to_owned(), v.to_owned());
        }
    }

    pub fn header(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub set_cookies: Vec<String>,
    pub body: String,
}

impl Reply {
    async fn read(response: Response<Body>) -> Self {
        let status = response.status();
        let headers = response.headers().clone();
        let set_cookies = headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Self {
            status,
            headers,
            set_cookies,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub fn location(&self) -> String {
        self.headers
            .get(header::LOCATION)
            .unwrap_or_else(|| panic!("no Location; status {} body {}", self.status, self.body))
            .to_str()
            .unwrap()
            .to_owned()
    }

    pub fn location_url(&self) -> url::Url {
        url::Url::parse(&self.location()).unwrap()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|_| panic!("not JSON: {}", self.body))
    }

    /// The error code of a JSON error answer.
    pub fn error(&self) -> String {
        self.json()["error"].as_str().unwrap_or_default().to_owned()
    }

    /// The value of a hidden form input.
    pub fn hidden(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self
            .body
            .find(&marker)
            .unwrap_or_else(|| panic!("no input {name} in {}", self.body))
            + marker.len();
        let end = self.body[start..].find('"').unwrap() + start;
        self.body[start..end]
            .replace("&#43;", "+")
            .replace("&#x2b;", "+")
    }
}

pub fn param(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}
