//! `POST /register` (RFC 7591 §3) and `GET`/`PUT`/`DELETE /register/{client_id}` (RFC 7592 §2),
//! with a body cap and a per-address limit against abuse (SECURITY.md, threat model).

use axum::body::{Body, to_bytes};
use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::Value;
use shared::secret::Secret;
use tower_http::cors::{Any, CorsLayer};

use crate::AppState;
use crate::error::{OAuthError, no_store};
use crate::flows::caller::Caller;
use crate::flows::registration::{self, Registered};

/// Largest accepted registration body.
pub const MAX_BODY: usize = 16 * 1024;

pub fn router() -> Router<AppState> {
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods(Any)
        .allow_headers(Any);
    Router::new()
        .route("/register", post(register))
        .route(
            "/register/{client_id}",
            axum::routing::get(read).put(update).delete(delete),
        )
        .layer(cors)
}

/// A JSON object body of at most [`MAX_BODY`] bytes; anything else is `invalid_client_metadata`.
pub struct MetadataBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for MetadataBody {
    type Rejection = OAuthError;

    async fn from_request(request: Request, _: &S) -> Result<Self, Self::Rejection> {
        let body: Body = request.into_body();
        let bytes = to_bytes(body, MAX_BODY).await.map_err(|_| {
            OAuthError::invalid_client_metadata(format!(
                "the request body exceeds {MAX_BODY} bytes"
            ))
        })?;
        let value: Value = serde_json::from_slice(&bytes).map_err(|_| {
            OAuthError::invalid_client_metadata("the request body is not valid JSON")
        })?;
        Ok(Self(value))
    }
}

/// The `{client_id}` of a client configuration URL. One that cannot be decoded (invalid
/// percent-encoding or UTF-8) names no client: the same `invalid_token` as an unknown client,
/// instead of axum's plain-text 400.
pub struct ClientIdPath(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientIdPath {
    type Rejection = OAuthError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<String>::from_request_parts(parts, state)
            .await
            .map(|Path(client_id)| Self(client_id))
            .map_err(|_| unknown_client())
    }
}

fn unknown_client() -> OAuthError {
    OAuthError::InvalidToken("the registration access token is missing or invalid".into())
}

/// The RFC 6750 bearer credential of an RFC 7592 request.
fn bearer(headers: &HeaderMap) -> Option<Secret> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty())
        .then(|| Secret::new(token.trim()))
}

fn answer(state: &AppState, status: StatusCode, registered: &Registered) -> Response {
    let mut response = (
        status,
        Json(registration::client_information(state, registered)),
    )
        .into_response();
    no_store(response.headers_mut());
    let location = state
        .config
        .issuer_url(&format!("/register/{}", registered.client.client_id));
    if status == StatusCode::CREATED
        && let Ok(location) = HeaderValue::from_str(&location)
    {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

#[tracing::instrument(skip_all)]
async fn register(
    State(state): State<AppState>,
    caller: Caller,
    MetadataBody(body): MetadataBody,
) -> Result<Response, OAuthError> {
    let registered = registration::register_new(&state, &body, &caller).await?;
    Ok(answer(&state, StatusCode::CREATED, &registered))
}

#[tracing::instrument(skip_all)]
async fn read(
    State(state): State<AppState>,
    ClientIdPath(client_id): ClientIdPath,
    headers: HeaderMap,
) -> Result<Response, OAuthError> {
    let client = registration::authenticate(&state, &client_id, bearer(&headers).as_ref()).await?;
    let registered = Registered {
        client,
        client_secret: None,
        registration_access_token: None,
    };
    Ok(answer(&state, StatusCode::OK, &registered))
}

#[tracing::instrument(skip_all)]
async fn update(
    State(state): State<AppState>,
    ClientIdPath(client_id): ClientIdPath,
    caller: Caller,
    headers: HeaderMap,
    MetadataBody(body): MetadataBody,
) -> Result<Response, OAuthError> {
    let client = registration::authenticate(&state, &client_id, bearer(&headers).as_ref()).await?;
    let registered = registration::update(&state, client, &body, &caller).await?;
    Ok(answer(&state, StatusCode::OK, &registered))
}

#[tracing::instrument(skip_all)]
async fn delete(
    State(state): State<AppState>,
    ClientIdPath(client_id): ClientIdPath,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Response, OAuthError> {
    let client = registration::authenticate(&state, &client_id, bearer(&headers).as_ref()).await?;
    registration::delete(&state, &client, &caller).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    no_store(response.headers_mut());
    Ok(response)
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use axum::extract::ConnectInfo;
    use http_body_util::BodyExt as _;
    use serde_json::json;
    use shared::config::keys;
    use shared::store::PageRequest;
    use tower::ServiceExt as _;

    use crate::test_support::{TestApp, test_app, test_app_with};

    use super::*;

    const CLAUDE: &str = r#"{"redirect_uris":["https://claude.ai/api/mcp/auth_callback"],"token_endpoint_auth_method":"client_secret_post","grant_types":["authorization_code","refresh_token"],"response_types":["code"],"client_name":"Claude"}"#;

    fn request(method: &str, uri: &str, body: impl Into<Body>, from: &str) -> Request {
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::USER_AGENT, "test-agent/1.0")
            .body(body.into())
            .unwrap();
        let addr: SocketAddr = format!("{from}:40000").parse().unwrap();
        request.extensions_mut().insert(ConnectInfo(addr));
        request
    }

    async fn send(app: &TestApp, request: Request) -> (StatusCode, HeaderMap, Value) {
        let response = crate::app(app.state.clone())
            .oneshot(request)
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        (status, headers, body)
    }

    async fn register(app: &TestApp, body: &str) -> (StatusCode, HeaderMap, Value) {
        send(
            app,
            request("POST", "/register", body.to_owned(), "192.0.2.10"),
        )
        .await
    }

    async fn stored_clients(app: &TestApp) -> usize {
        app.state
            .stores
            .clients
            .list(&PageRequest::first(100))
            .await
            .unwrap()
            .items
            .len()
    }

    #[tokio::test]
    async fn closed_registration_refuses_everyone_and_is_not_advertised() {
        let app = test_app_with(&[("SMCP_REGISTRATION", "closed")]);
        let (status, _, answer) = register(&app, CLAUDE).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
        assert_eq!(answer["error"], "access_denied");
        assert!(
            answer["error_description"]
                .as_str()
                .unwrap()
                .contains("operator")
        );
        assert_eq!(stored_clients(&app).await, 0);
        let (_, _, metadata) = send(
            &app,
            request(
                "GET",
                "/.well-known/oauth-authorization-server",
                String::new(),
                "192.0.2.10",
            ),
        )
        .await;
        assert!(
            metadata.get("registration_endpoint").is_none(),
            "{metadata}"
        );
        // The document policy is its own switch.
        assert_eq!(metadata["client_id_metadata_document_supported"], true);
        let no_documents = test_app_with(&[("SMCP_CIMD_HOSTS", "none")]);
        let (_, _, metadata) = send(
            &no_documents,
            request(
                "GET",
                "/.well-known/oauth-authorization-server",
                String::new(),
                "192.0.2.10",
            ),
        )
        .await;
        assert_eq!(metadata["client_id_metadata_document_supported"], false);
        assert_eq!(
            metadata["registration_endpoint"],
            "https://auth.example.com/register"
        );
        let open = test_app();
        let (_, _, metadata) = send(
            &open,
            request(
                "GET",
                "/.well-known/oauth-authorization-server",
                String::new(),
                "192.0.2.10",
            ),
        )
        .await;
        assert_eq!(
            metadata["registration_endpoint"],
            "https://auth.example.com/register"
        );
    }

    #[tokio::test]
    async fn a_redirect_host_allowlist_admits_only_clients_on_its_hosts() {
        let app = test_app_with(&[("SMCP_REGISTRATION_REDIRECT_HOSTS", "claude.ai,loopback")]);
        let (status, _, info) = register(&app, CLAUDE).await;
        assert_eq!(status, StatusCode::CREATED, "{info}");
        let native = r#"{"client_name":"Native","redirect_uris":["http://127.0.0.1:33418/cb"],"token_endpoint_auth_method":"none"}"#;
        let (status, _, answer) = register(&app, native).await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
        // One URI off the list is enough to refuse the client.
        let mixed = CLAUDE.replace(
            r#""https://claude.ai/api/mcp/auth_callback""#,
            r#""https://claude.ai/api/mcp/auth_callback","https://evil.example/cb""#,
        );
        assert_ne!(mixed, CLAUDE);
        let (status, _, answer) = register(&app, &mixed).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        assert_eq!(answer["error"], "invalid_redirect_uri");
        assert!(
            answer["error_description"]
                .as_str()
                .unwrap()
                .contains("https://evil.example/cb")
        );
        assert_eq!(stored_clients(&app).await, 2);
        // Nor can a registered client move its redirect URIs off the list (RFC 7592 update).
        let client_id = info["client_id"].as_str().unwrap();
        let token = info["registration_access_token"].as_str().unwrap();
        let mut update = serde_json::from_str::<Value>(&mixed).unwrap();
        update["client_id"] = json!(client_id);
        let (status, _, answer) = send(
            &app,
            with_token(
                request(
                    "PUT",
                    &format!("/register/{client_id}"),
                    update.to_string(),
                    "192.0.2.1",
                ),
                token,
            ),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        assert_eq!(answer["error"], "invalid_redirect_uri");
    }

    #[tokio::test]
    async fn claude_registration_is_accepted_on_both_hosts() {
        for host in ["claude.ai", "claude.com"] {
            let app = test_app();
            let body = CLAUDE.replace("claude.ai", host);
            let (status, headers, info) = register(&app, &body).await;
            assert_eq!(status, StatusCode::CREATED, "{host}: {info}");
            assert_eq!(headers[header::CACHE_CONTROL], "no-store");
            let client_id = info["client_id"].as_str().unwrap();
            let secret = info["client_secret"].as_str().unwrap();
            let token = info["registration_access_token"].as_str().unwrap();
            assert_eq!(secret.len(), 43);
            assert_eq!(info["client_secret_expires_at"], 0);
            assert_eq!(info["client_id_issued_at"], crate::test_support::T0);
            assert_eq!(info["client_name"], "Claude");
            assert_eq!(info["token_endpoint_auth_method"], "client_secret_post");
            assert_eq!(
                info["redirect_uris"],
                json!([format!("https://{host}/api/mcp/auth_callback")])
            );
            assert_eq!(
                info["registration_client_uri"],
                format!("https://auth.example.com/register/{client_id}")
            );
            // Only hashes are stored, and they match what was handed out.
            let stored = app
                .state
                .stores
                .clients
                .get(client_id)
                .await
                .unwrap()
                .unwrap();
            assert!(Secret::new(secret).matches(stored.secret_hash.as_ref().unwrap()));
            assert!(Secret::new(token).matches(stored.registration_token_hash.as_ref().unwrap()));
            assert_ne!(
                stored.secret_hash.as_ref().map(|h| h.as_str()),
                Some(secret)
            );
            assert_eq!(stored.created_ip.as_deref(), Some("192.0.2.10"));
            assert_eq!(stored.created_user_agent.as_deref(), Some("test-agent/1.0"));
            assert_eq!(
                stored.expires_at,
                Some(crate::test_support::T0 + 30 * 86_400),
                "unused clients expire"
            );
            let audit = app
                .state
                .stores
                .audit
                .list_for_client(client_id, &PageRequest::first(10))
                .await
                .unwrap();
            assert_eq!(audit.items.len(), 1);
            assert_eq!(audit.items[0].kind, "client.registered");
            assert_eq!(audit.items[0].source_ip.as_deref(), Some("192.0.2.10"));
        }
    }

    #[tokio::test]
    async fn public_and_native_clients_get_no_secret() {
        let app = test_app();
        let (status, _, info) = register(
            &app,
            r#"{"redirect_uris":["http://127.0.0.1:6274/oauth/callback","com.example.app:/cb"],
                "token_endpoint_auth_method":"none","application_type":"native",
                "scope":"costs:read claudeai","client_name":"Inspector"}"#,
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{info}");
        assert!(info.get("client_secret").is_none());
        assert!(info.get("client_secret_expires_at").is_none());
        assert_eq!(info["application_type"], "native");
        assert_eq!(
            info["scope"], "costs:read",
            "unknown scope values are dropped"
        );
        assert_eq!(info["grant_types"], json!(["authorization_code"]));
    }

    #[tokio::test]
    async fn bad_metadata_is_refused_and_nothing_is_stored() {
        let many: Vec<String> = (0..11).map(|i| format!("https://a.example/{i}")).collect();
        let too_many = json!({"redirect_uris": many}).to_string();
        let oversized = json!({
            "redirect_uris": ["https://a.example/cb"],
            "client_name": "x".repeat(MAX_BODY),
        })
        .to_string();
        let cases: Vec<(&str, String, &str)> = vec![
            ("javascript scheme", json!({"redirect_uris": ["javascript:alert(1)"]}).to_string(), "invalid_redirect_uri"),
            ("data scheme", json!({"redirect_uris": ["data:text/html,hi"]}).to_string(), "invalid_redirect_uri"),
            ("file scheme", json!({"redirect_uris": ["file:///etc/passwd"]}).to_string(), "invalid_redirect_uri"),
            ("fragment", json!({"redirect_uris": ["https://a.example/cb#x"]}).to_string(), "invalid_redirect_uri"),
            ("userinfo", json!({"redirect_uris": ["https://u:p@a.example/cb"]}).to_string(), "invalid_redirect_uri"),
            ("http off loopback", json!({"redirect_uris": ["http://a.example/cb"]}).to_string(), "invalid_redirect_uri"),
            ("no redirect uris", json!({"client_name": "x"}).to_string(), "invalid_redirect_uri"),
            ("too many redirect uris", too_many, "invalid_redirect_uri"),
            ("long redirect uri", json!({"redirect_uris": [format!("https://a.example/{}", "a".repeat(2048))]}).to_string(), "invalid_redirect_uri"),
            ("body over the cap", oversized, "invalid_client_metadata"),
            ("not JSON", "redirect_uris=https://a".to_owned(), "invalid_client_metadata"),
            ("JSON array", "[]".to_owned(), "invalid_client_metadata"),
            ("redirect_uris as string", json!({"redirect_uris": "https://a.example/cb"}).to_string(), "invalid_client_metadata"),
            ("client_name as number", json!({"redirect_uris": ["https://a.example/cb"], "client_name": 7}).to_string(), "invalid_client_metadata"),
            ("unknown auth method", json!({"redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": "private_key_jwt"}).to_string(), "invalid_client_metadata"),
            ("implicit grant", json!({"redirect_uris": ["https://a.example/cb"], "grant_types": ["implicit"]}).to_string(), "invalid_client_metadata"),
            ("token response type", json!({"redirect_uris": ["https://a.example/cb"], "response_types": ["token"]}).to_string(), "invalid_client_metadata"),
            ("bad application_type", json!({"redirect_uris": ["https://a.example/cb"], "application_type": "tv"}).to_string(), "invalid_client_metadata"),
            ("javascript client_uri", json!({"redirect_uris": ["https://a.example/cb"], "client_uri": "javascript:alert(1)"}).to_string(), "invalid_client_metadata"),
            ("private-use scheme not reverse-DNS", json!({"redirect_uris": ["myapp:/cb"]}).to_string(), "invalid_redirect_uri"),
            ("OS handler scheme", json!({"redirect_uris": ["ms-msdt:/id"]}).to_string(), "invalid_redirect_uri"),
            ("dotted OS handler scheme", json!({"redirect_uris": ["x-apple.systempreferences:/cb"]}).to_string(), "invalid_redirect_uri"),
            ("bidi override in a redirect uri", json!({"redirect_uris": ["https://a.example/\u{202e}cb"]}).to_string(), "invalid_redirect_uri"),
            ("bidi override in client_name", json!({"redirect_uris": ["https://a.example/cb"], "client_name": "Good\u{202e}ppA"}).to_string(), "invalid_client_metadata"),
            ("bidi isolate in client_name", json!({"redirect_uris": ["https://a.example/cb"], "client_name": "Good\u{2067}App"}).to_string(), "invalid_client_metadata"),
            ("zero-width space in client_name", json!({"redirect_uris": ["https://a.example/cb"], "client_name": "Cl\u{200b}aude"}).to_string(), "invalid_client_metadata"),
            ("terminal escape in client_name", json!({"redirect_uris": ["https://a.example/cb"], "client_name": "\u{1b}]0;owned\u{7}App"}).to_string(), "invalid_client_metadata"),
            ("C1 CSI in software_version", json!({"redirect_uris": ["https://a.example/cb"], "software_version": "1\u{9b}2J"}).to_string(), "invalid_client_metadata"),
            ("byte order mark in contacts", json!({"redirect_uris": ["https://a.example/cb"], "contacts": ["\u{feff}ops@a.example"]}).to_string(), "invalid_client_metadata"),
            ("LRM in policy_uri", json!({"redirect_uris": ["https://a.example/cb"], "policy_uri": "https://a.example/\u{200e}p"}).to_string(), "invalid_client_metadata"),
        ];
        let app = test_app();
        for (what, body, code) in cases {
            let (status, headers, answer) = register(&app, &body).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {answer}");
            assert_eq!(answer["error"], code, "{what}");
            assert!(
                answer["error_description"]
                    .as_str()
                    .is_some_and(|d| !d.is_empty()),
                "{what}"
            );
            assert_eq!(headers[header::CACHE_CONTROL], "no-store");
        }
        assert_eq!(stored_clients(&app).await, 0);
    }

    #[tokio::test]
    async fn an_update_with_hidden_characters_or_a_bad_scheme_is_refused_and_changes_nothing() {
        let app = test_app();
        let (_, _, info) = register(&app, CLAUDE).await;
        let client_id = info["client_id"].as_str().unwrap();
        let token = info["registration_access_token"].as_str().unwrap();
        let uri = format!("/register/{client_id}");
        let cases = [
            (
                "client_name",
                json!("Claude\u{202e}lanif"),
                "invalid_client_metadata",
            ),
            (
                "client_name",
                json!("Claude\u{1b}[2J"),
                "invalid_client_metadata",
            ),
            (
                "client_uri",
                json!("https://claude.ai/\u{2066}x"),
                "invalid_client_metadata",
            ),
            (
                "tos_uri",
                json!("https://claude.ai/\u{200d}t"),
                "invalid_client_metadata",
            ),
            (
                "redirect_uris",
                json!(["cursorlike:/cb"]),
                "invalid_redirect_uri",
            ),
            (
                "redirect_uris",
                json!(["microsoft.windows.camera:/cb"]),
                "invalid_redirect_uri",
            ),
        ];
        for (member, value, code) in cases {
            let mut body = serde_json::from_str::<Value>(CLAUDE).unwrap();
            body["client_id"] = json!(client_id);
            body[member] = value;
            let (status, _, answer) = send(
                &app,
                with_token(request("PUT", &uri, body.to_string(), "192.0.2.1"), token),
            )
            .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{member}: {answer}");
            assert_eq!(answer["error"], code, "{member}");
        }
        let stored = app
            .state
            .stores
            .clients
            .get(client_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.revision, 0, "nothing was written");
        assert_eq!(stored.metadata.client_name.as_deref(), Some("Claude"));
    }

    #[tokio::test]
    async fn registration_flood_is_limited_per_address_except_exempt_ranges() {
        let app = test_app_with(&[
            (keys::REGISTER_RATE_LIMIT, "3/600"),
            (keys::REGISTER_RATE_EXEMPT, "160.79.104.0/21"),
        ]);
        for i in 0..3 {
            let (status, _, _) =
                send(&app, request("POST", "/register", CLAUDE, "198.51.100.1")).await;
            assert_eq!(status, StatusCode::CREATED, "attempt {i}");
        }
        let (status, headers, body) =
            send(&app, request("POST", "/register", CLAUDE, "198.51.100.1")).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(body["error"], "too_many_requests");
        let retry: u64 = headers[header::RETRY_AFTER]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=600).contains(&retry), "{retry}");
        assert_eq!(
            stored_clients(&app).await,
            3,
            "the refused registration stored nothing"
        );

        let (status, _, _) = send(&app, request("POST", "/register", CLAUDE, "198.51.100.2")).await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "another address has its own budget"
        );
        for _ in 0..5 {
            let (status, _, _) =
                send(&app, request("POST", "/register", CLAUDE, "160.79.105.9")).await;
            assert_eq!(status, StatusCode::CREATED, "exempt range");
        }
        app.clock.advance(600);
        let (status, _, _) = send(&app, request("POST", "/register", CLAUDE, "198.51.100.1")).await;
        assert_eq!(status, StatusCode::CREATED, "a new window");
    }

    #[tokio::test]
    async fn registration_limit_counts_ipv6_by_64_and_mapped_ipv4_as_ipv4() {
        let app = test_app_with(&[
            (keys::REGISTER_RATE_LIMIT, "2/600"),
            (keys::REGISTER_RATE_EXEMPT, "160.79.104.0/21"),
        ]);
        let from = |ip: &str| {
            let mut request = request("POST", "/register", CLAUDE, "192.0.2.1");
            let addr = SocketAddr::new(ip.parse().unwrap(), 40000);
            request.extensions_mut().insert(ConnectInfo(addr));
            request
        };
        let cases = [
            (
                "first address of a /64",
                "2001:db8:1:2::1",
                StatusCode::CREATED,
            ),
            (
                "another address, same /64",
                "2001:db8:1:2::99",
                StatusCode::CREATED,
            ),
            (
                "a third address of the /64 is over",
                "2001:db8:1:2:ffff::7",
                StatusCode::TOO_MANY_REQUESTS,
            ),
            (
                "the next /64 has its own budget",
                "2001:db8:1:3::1",
                StatusCode::CREATED,
            ),
            ("IPv4", "198.51.100.7", StatusCode::CREATED),
            (
                "the same IPv4, mapped",
                "::ffff:198.51.100.7",
                StatusCode::CREATED,
            ),
            (
                "the same IPv4 is over, mapped or not",
                "198.51.100.7",
                StatusCode::TOO_MANY_REQUESTS,
            ),
            (
                "a mapped IPv4 in an exempt range",
                "::ffff:160.79.105.9",
                StatusCode::CREATED,
            ),
            ("still exempt", "::ffff:160.79.105.9", StatusCode::CREATED),
            (
                "still exempt, unmapped",
                "160.79.105.9",
                StatusCode::CREATED,
            ),
        ];
        for (what, ip, expected) in cases {
            let (status, headers, body) = send(&app, from(ip)).await;
            assert_eq!(status, expected, "{what}: {body}");
            if expected == StatusCode::TOO_MANY_REQUESTS {
                assert_eq!(body["error"], "too_many_requests", "{what}");
                assert!(headers.contains_key(header::RETRY_AFTER), "{what}");
            }
        }
    }

    fn with_token(mut request: Request, token: &str) -> Request {
        request.headers_mut().insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
        );
        request
    }

    #[tokio::test]
    async fn an_undecodable_client_id_is_an_oauth_error_not_plain_text() {
        let app = test_app();
        for method in ["GET", "PUT", "DELETE"] {
            let (status, headers, body) = send(
                &app,
                with_token(
                    request(method, "/register/%FF", "{}", "192.0.2.1"),
                    &"x".repeat(43),
                ),
            )
            .await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{method}");
            assert_eq!(body["error"], "invalid_token", "{method}");
            assert!(headers.contains_key(header::WWW_AUTHENTICATE), "{method}");
        }
    }

    #[tokio::test]
    async fn client_configuration_endpoint_needs_the_registration_token() {
        let app = test_app();
        let (_, _, info) = register(&app, CLAUDE).await;
        let client_id = info["client_id"].as_str().unwrap();
        let token = info["registration_access_token"].as_str().unwrap();
        let uri = format!("/register/{client_id}");
        let other = register(&app, CLAUDE).await.2;
        let other_token = other["registration_access_token"].as_str().unwrap();

        for (what, token) in [
            ("wrong token", "x".repeat(43)),
            ("other client's token", other_token.to_owned()),
        ] {
            for method in ["GET", "DELETE"] {
                let (status, headers, body) = send(
                    &app,
                    with_token(request(method, &uri, Body::empty(), "192.0.2.1"), &token),
                )
                .await;
                assert_eq!(status, StatusCode::UNAUTHORIZED, "{what} {method}");
                assert_eq!(body["error"], "invalid_token");
                assert!(headers.contains_key(header::WWW_AUTHENTICATE));
            }
            let update =
                json!({"client_id": client_id, "redirect_uris": ["https://evil.example/cb"]});
            let (status, _, _) = send(
                &app,
                with_token(
                    request("PUT", &uri, update.to_string(), "192.0.2.1"),
                    &token,
                ),
            )
            .await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{what} PUT");
        }
        let (status, _, _) = send(&app, request("GET", &uri, Body::empty(), "192.0.2.1")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "no token");
        let stored = app
            .state
            .stores
            .clients
            .get(client_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            stored.metadata.redirect_uris,
            ["https://claude.ai/api/mcp/auth_callback"]
        );

        let (status, _, read) = send(
            &app,
            with_token(request("GET", &uri, Body::empty(), "192.0.2.1"), token),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(read["client_id"], client_id);
        assert!(
            read.get("client_secret").is_none(),
            "the secret is shown once only"
        );

        let update = json!({
            "client_id": client_id,
            "redirect_uris": ["https://claude.com/api/mcp/auth_callback"],
            "token_endpoint_auth_method": "client_secret_post",
            "grant_types": ["authorization_code", "refresh_token"],
            "client_name": "Claude (renamed)",
        });
        app.clock.advance(1);
        let (status, _, updated) = send(
            &app,
            with_token(request("PUT", &uri, update.to_string(), "192.0.2.1"), token),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{updated}");
        assert_eq!(updated["client_name"], "Claude (renamed)");
        let stored = app
            .state
            .stores
            .clients
            .get(client_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            stored.metadata.redirect_uris,
            ["https://claude.com/api/mcp/auth_callback"]
        );
        assert!(
            stored.secret_hash.is_some(),
            "still confidential, same secret"
        );

        app.clock.advance(1);
        let (status, _, _) = send(
            &app,
            with_token(request("DELETE", &uri, Body::empty(), "192.0.2.1"), token),
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_eq!(app.state.stores.clients.get(client_id).await.unwrap(), None);
        let (status, _, _) = send(
            &app,
            with_token(request("GET", &uri, Body::empty(), "192.0.2.1"), token),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let kinds: Vec<String> = app
            .state
            .stores
            .audit
            .list_for_client(client_id, &PageRequest::first(10))
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|e| e.kind.as_str().to_owned())
            .collect();
        assert_eq!(
            kinds,
            ["client.registered", "client.updated", "client.deleted"]
        );
    }
}
