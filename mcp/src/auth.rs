//! The bearer-token layer in front of `POST /mcp` (RFC 6750, RFC 9068, MCP authorization):
//! `Authorization: Bearer` only, verification against the issuer's JWKS (cached; refetched at
//! most every 30 s when a token names an unknown key), the exact 401/403 challenges of DESIGN
//! section 5, and the verified caller put into request extensions for the tools.
//!
//! Scopes per tool: every tool needs `costs:read`; a `tools/call` of a tool needing more (see
//! [`EXTRA_SCOPES`]) is recognised here by reading the JSON-RPC body before dispatch, so the
//! client gets an HTTP 403 `insufficient_scope` challenge (which MCP clients act on by asking for
//! the scope) rather than a tool error inside a 200.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt as _, Empty, Limited};
use serde::Deserialize;
use serde_json::{Value, json};
use shared::clock::Clock;
use shared::config::Config;
use shared::oauth::scope;
use shared::store::{RevocationList, TokenIdentity};
use shared::token::{
    AccessClaims, AccessTokenVerifier, JwkSet, VerificationKeys, VerifiedTokens, VerifyError,
};

use crate::access::Caller;
use crate::tools::EXTRA_SCOPES;

/// How often an unknown `kid` may trigger a JWKS refetch.
pub const JWKS_REFETCH_SECS: i64 = 30;
/// Largest JSON-RPC body read (the MCP service's own limit).
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
const MAX_JWKS_BYTES: usize = 256 * 1024;

/// The JWKS could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("signing keys unavailable: {0}")]
pub struct JwksError(pub String);

/// Where the authorization server's public keys come from.
#[async_trait]
pub trait JwksSource: Send + Sync {
    /// The current JWK Set.
    async fn fetch(&self) -> Result<JwkSet, JwksError>;
}

/// Keys read in-process (`serve`, where the authorization server runs in the same process).
pub struct InProcessJwks(Box<dyn Fn() -> JwkSet + Send + Sync>);

impl InProcessJwks {
    pub fn new(keys: impl Fn() -> JwkSet + Send + Sync + 'static) -> Self {
        Self(Box::new(keys))
    }
}

#[async_trait]
impl JwksSource for InProcessJwks {
    async fn fetch(&self) -> Result<JwkSet, JwksError> {
        Ok((self.0)())
    }
}

type HttpsClient = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    Empty<Bytes>,
>;

/// Keys fetched over HTTP: the issuer's RFC 8414 metadata, then its `jwks_uri`.
pub struct HttpJwks {
    issuer: String,
    client: Option<HttpsClient>,
}

#[derive(Deserialize)]
struct AuthorizationServerMetadata {
    issuer: String,
    jwks_uri: String,
}

impl HttpJwks {
    pub fn new(issuer: &str) -> Self {
        let client = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(rustls::crypto::aws_lc_rs::default_provider())
            .ok()
            .map(|b| b.https_or_http().enable_http1().build())
            .map(|connector| {
                hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                    .build(connector)
            });
        Self {
            issuer: issuer.to_owned(),
            client,
        }
    }

    /// RFC 8414 §3: the well-known segment inserted before the issuer's path.
    fn metadata_url(&self) -> Result<String, JwksError> {
        let url = url::Url::parse(&self.issuer).map_err(|_| JwksError("bad issuer URL".into()))?;
        Ok(format!(
            "{}/.well-known/oauth-authorization-server{}",
            url.origin().ascii_serialization(),
            url.path().trim_end_matches('/')
        ))
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, JwksError> {
        let client = self
            .client
            .as_ref()
            .ok_or_else(|| JwksError("no TLS roots available".into()))?;
        let uri: http::Uri = url
            .parse()
            .map_err(|_| JwksError(format!("bad URL {url}")))?;
        let response = tokio::time::timeout(Duration::from_secs(5), client.get(uri))
            .await
            .map_err(|_| JwksError(format!("{url} timed out")))?
            .map_err(|e| JwksError(format!("{url}: {e}")))?;
        if !response.status().is_success() {
            return Err(JwksError(format!("{url} answered {}", response.status())));
        }
        let body = Limited::new(response.into_body(), MAX_JWKS_BYTES)
            .collect()
            .await
            .map_err(|_| JwksError(format!("{url}: body unreadable or too large")))?
            .to_bytes();
        serde_json::from_slice(&body)
            .map_err(|_| JwksError(format!("{url}: not the expected JSON")))
    }
}

#[async_trait]
impl JwksSource for HttpJwks {
    async fn fetch(&self) -> Result<JwkSet, JwksError> {
        let metadata: AuthorizationServerMetadata = self.get_json(&self.metadata_url()?).await?;
        if metadata.issuer != self.issuer {
            return Err(JwksError("the metadata names another issuer".into()));
        }
        self.get_json(&metadata.jwks_uri).await
    }
}

/// Verification keys with the time of the last fetch attempt.
struct KeyState {
    keys: Arc<VerificationKeys>,
    generation: u64,
}

/// Why a request was not authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthFailure {
    /// No bearer token.
    Missing,
    /// A token was sent and refused.
    Invalid(VerifyError),
    /// The keys could not be fetched at all.
    KeysUnavailable,
}

/// Verifies bearer tokens for this resource.
pub struct Authenticator {
    verifier: AccessTokenVerifier,
    /// Tokens already verified (one RSA verification per token, not per request).
    verified: VerifiedTokens,
    source: Arc<dyn JwksSource>,
    state: RwLock<KeyState>,
    /// Serialises refetches; holds the time of the last attempt.
    last_fetch: tokio::sync::Mutex<Option<i64>>,
    clock: Arc<dyn Clock>,
    resource_metadata: String,
    /// Revocations recorded by the authorization server: of the token itself (RFC 7009), of
    /// the grant it was issued from, of its client or its user.
    revocations: Arc<dyn RevocationList>,
}

impl Authenticator {
    pub fn new(
        config: &Config,
        source: Arc<dyn JwksSource>,
        clock: Arc<dyn Clock>,
        revocations: Arc<dyn RevocationList>,
    ) -> Self {
        Self {
            revocations,
            verifier: AccessTokenVerifier::new(&config.issuer, &config.resource),
            verified: VerifiedTokens::default(),
            source,
            state: RwLock::new(KeyState {
                keys: Arc::new(VerificationKeys::default()),
                generation: 0,
            }),
            last_fetch: tokio::sync::Mutex::new(None),
            clock,
            resource_metadata: config.protected_resource_metadata_url(),
        }
    }

    fn current(&self) -> (Arc<VerificationKeys>, u64) {
        match self.state.read() {
            Ok(state) => (state.keys.clone(), state.generation),
            Err(poisoned) => {
                let state = poisoned.into_inner();
                (state.keys.clone(), state.generation)
            }
        }
    }

    /// Refetches the keys unless that was tried less than 30 s ago; `true` if newer keys than
    /// `seen` are now in place (fetched here or by a concurrent caller).
    async fn refresh(&self, seen: u64) -> bool {
        let mut last = self.last_fetch.lock().await;
        if self.current().1 != seen {
            return true;
        }
        let now = self.clock.now();
        if last.is_some_and(|at| now - at < JWKS_REFETCH_SECS) {
            return false;
        }
        *last = Some(now);
        match self.source.fetch().await {
            Ok(set) => {
                let keys = Arc::new(VerificationKeys::from_jwks(&set));
                let mut state = match self.state.write() {
                    Ok(state) => state,
                    Err(poisoned) => poisoned.into_inner(),
                };
                state.keys = keys;
                state.generation += 1;
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, "JWKS fetch failed");
                false
            }
        }
    }

    /// The claims of `token`, refetching the keys once if it names an unknown key.
    pub async fn verify(&self, token: &str) -> Result<AccessClaims, AuthFailure> {
        let (keys, generation) = self.current();
        let now = self.clock.now();
        match self
            .verified
            .verify(&self.verifier, token, &keys, generation, now)
        {
            Err(VerifyError::UnknownKey(_)) => {
                if self.refresh(generation).await {
                    let (keys, generation) = self.current();
                    self.verified
                        .verify(&self.verifier, token, &keys, generation, self.clock.now())
                        .map_err(AuthFailure::Invalid)
                } else if keys.is_empty() {
                    Err(AuthFailure::KeysUnavailable)
                } else {
                    Err(AuthFailure::Invalid(VerifyError::UnknownKey(String::new())))
                }
            }
            other => other.map_err(AuthFailure::Invalid),
        }
    }

    /// `401` with the challenge DESIGN gives (and `error="invalid_token"` when a token was sent).
    fn unauthorized(&self, error: Option<&dyn std::fmt::Display>) -> Response {
        let mut challenge = format!(
            "Bearer resource_metadata=\"{}\", scope=\"{}\"",
            self.resource_metadata,
            scope::COSTS_READ
        );
        let body = match error {
            Some(e) => {
                challenge.push_str(&format!(
                    ", error=\"invalid_token\", error_description=\"{e}\""
                ));
                json!({ "error": "invalid_token", "error_description": e.to_string() })
            }
            None => {
                json!({ "error": "unauthorized", "error_description": "a bearer token is required" })
            }
        };
        challenge_response(StatusCode::UNAUTHORIZED, &challenge, body)
    }

    /// `403 insufficient_scope` naming every scope needed.
    fn insufficient_scope(&self, needed: &[&str]) -> Response {
        let scopes = needed.join(" ");
        let challenge = format!(
            "Bearer error=\"insufficient_scope\", scope=\"{scopes}\", resource_metadata=\"{}\", \
             error_description=\"this request needs the scopes {scopes}\"",
            self.resource_metadata
        );
        let body = json!({
            "error": "insufficient_scope",
            "error_description": format!("this request needs the scopes {scopes}"),
        });
        challenge_response(StatusCode::FORBIDDEN, &challenge, body)
    }
}

fn challenge_response(status: StatusCode, challenge: &str, body: Value) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(challenge) {
        headers.insert(header::WWW_AUTHENTICATE, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn json_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut response = (
        status,
        axum::Json(json!({ "error": error, "error_description": description })),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn keys_unavailable() -> Response {
    let mut response = json_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
        "the authorization server's keys cannot be fetched; try again shortly",
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    response
}

/// The token of `Authorization: Bearer <token>`; other schemes and query strings are ignored.
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let value = values.next()?.to_str().ok()?;
    if values.next().is_some() {
        return None;
    }
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The extra scopes the JSON-RPC message(s) in `body` need (tool calls only).
fn scopes_needed(body: &[u8]) -> Vec<&'static str> {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return Vec::new();
    };
    let messages = match &value {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    let mut needed = Vec::new();
    for message in messages {
        if message.get("method").and_then(Value::as_str) != Some("tools/call") {
            continue;
        }
        let name = message
            .get("params")
            .and_then(|p| p.get("name"))
            .and_then(Value::as_str);
        for (tool, scope) in EXTRA_SCOPES {
            if name == Some(tool) && !needed.contains(&scope) {
                needed.push(scope);
            }
        }
    }
    needed
}

/// The middleware: authenticate, check scopes, hand the caller to the MCP service.
pub async fn require_bearer(
    State(auth): State<Arc<Authenticator>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(token) = bearer_token(request.headers()) else {
        return auth.unauthorized(None);
    };
    let claims = match auth.verify(token).await {
        Ok(claims) => claims,
        Err(AuthFailure::Missing) => return auth.unauthorized(None),
        Err(AuthFailure::Invalid(e)) => {
            tracing::info!(reason = %e, "bearer token refused");
            return auth.unauthorized(Some(&e));
        }
        Err(AuthFailure::KeysUnavailable) => return keys_unavailable(),
    };
    // One store read (one request on DynamoDB) for every revocation that could reach the token.
    let identity = TokenIdentity {
        jti: &claims.jti,
        grant_id: claims.grant_id.as_deref(),
        client_id: &claims.client_id,
        sub: &claims.sub,
        iat: claims.iat,
    };
    match auth.revocations.is_revoked(&identity).await {
        Ok(false) => {}
        Ok(true) => {
            tracing::info!("revoked bearer token refused");
            return auth.unauthorized(Some(&"the access token has been revoked"));
        }
        Err(e) => {
            tracing::error!(error = %e, "revocation list unavailable");
            return json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "the token store is unavailable; try again shortly",
            );
        }
    }
    let caller = Caller::from(claims);
    if !caller.has_scope(scope::COSTS_READ) {
        return auth.insufficient_scope(&[scope::COSTS_READ]);
    }
    let (mut parts, body) = request.into_parts();
    let bytes = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return json_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request",
                "the request body is too large",
            );
        }
    };
    let extra = scopes_needed(&bytes);
    if extra.iter().any(|s| !caller.has_scope(s)) {
        let mut all = vec![scope::COSTS_READ];
        all.extend(extra);
        return auth.insufficient_scope(&all);
    }
    tracing::debug!(sub = %caller.sub, client_id = %caller.client_id, "authenticated");
    parts.extensions.insert(caller);
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_one_bearer_authorization_header_counts() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer_token(&headers), None);
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer abc"),
        );
        assert_eq!(bearer_token(&headers), Some("abc"));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer  abc "),
        );
        assert_eq!(bearer_token(&headers), Some("abc"));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer_token(&headers), None);
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert_eq!(bearer_token(&headers), None);
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer a"));
        headers.append(header::AUTHORIZATION, HeaderValue::from_static("Bearer b"));
        assert_eq!(bearer_token(&headers), None);
    }

    #[test]
    fn tool_calls_needing_more_scopes_are_recognised() {
        let call = |name: &str| {
            format!(
                r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"{name}","arguments":{{}}}}}}"#
            )
        };
        assert_eq!(
            scopes_needed(call("get_cost_and_usage_with_resources").as_bytes()),
            [scope::COSTS_RESOURCES]
        );
        assert!(scopes_needed(call("get_cost_and_usage").as_bytes()).is_empty());
        let batch = format!("[{}]", call("get_cost_and_usage_with_resources"));
        assert_eq!(scopes_needed(batch.as_bytes()), [scope::COSTS_RESOURCES]);
        assert!(scopes_needed(br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#).is_empty());
        assert!(scopes_needed(b"not json").is_empty());
    }
}
