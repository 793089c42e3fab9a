//! `POST <resource path>`: the MCP Streamable HTTP endpoint (rmcp's tower service, stateless by
//! default, JSON answers unless a notification precedes the result), behind the Host/Origin check
//! (DNS rebinding, MCP transport security), the bearer layer and CORS. Other methods answer 405
//! with `Allow: POST`.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::HttpBody as _;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, on_service, post_service};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::auth::{Authenticator, MAX_BODY_BYTES, require_bearer};

/// Where the endpoint keeps MCP sessions (the `Mcp-Session-Id` of protocol versions before
/// 2026-07-28; from 2026-07-28 on, rmcp serves every request statelessly whatever this says).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Sessions {
    /// No sessions (the default): every request stands alone, so any instance of a Lambda
    /// function can answer it. Only `POST` is routed; `GET` and `DELETE` are 405 with `Allow:
    /// POST`. A server-to-client request (sampling, elicitation) cannot be answered, since the
    /// answer has no session to reach.
    #[default]
    Stateless,
    /// Sessions in this process's memory (rmcp's `LocalSessionManager`): `initialize` opens one,
    /// `GET` opens its standalone SSE stream, `DELETE` ends it, and a client's answer to a
    /// server-to-client request reaches the call that asked. Every request of a session must
    /// reach the same process while the calls that wait on it are open: one local process, or
    /// one Lambda instance answering concurrent invocations; not a fleet of Lambda instances.
    /// Every method still goes through the Host/Origin check and the bearer layer.
    InMemory,
}

/// The accepted `Host` and `Origin` values.
struct HostGuard {
    hosts: Vec<String>,
    origins: Vec<String>,
}

impl HostGuard {
    fn host_allowed(&self, host: &str) -> bool {
        self.hosts.iter().any(|allowed| {
            // An entry without a port admits any port of that host.
            host.eq_ignore_ascii_case(allowed)
                || (!allowed.contains(':')
                    && host
                        .split(':')
                        .next()
                        .is_some_and(|name| name.eq_ignore_ascii_case(allowed)))
        })
    }

    fn origin_allowed(&self, origin: &str) -> bool {
        self.origins.iter().any(|o| o.eq_ignore_ascii_case(origin))
    }
}

/// What the endpoint runs before rmcp, in one middleware (one layer to pass per request, not
/// one per step): the Host/Origin check, the bearer layer (which hands admitted requests to the
/// kept `tools/list` answers when the server declares its list static), and the content type
/// of the bodies rmcp leaves unnamed.
struct Pipeline {
    hosts: HostGuard,
    auth: Arc<Authenticator>,
    memo: Option<crate::tool_list::ToolListMemo>,
}

async fn protect(State(pipeline): State<Arc<Pipeline>>, request: Request, next: Next) -> Response {
    if let Some(refused) = pipeline.hosts.refusal(&request) {
        return refused;
    }
    let response = require_bearer(&pipeline.auth, pipeline.memo.as_ref(), request, next).await;
    name_plain_text(response)
}

impl HostGuard {
    /// 403 for a `Host` or `Origin` that is not this server's (DNS rebinding, cross-site calls).
    fn refusal(&self, request: &Request) -> Option<Response> {
        let host = request
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| request.uri().authority().map(|a| a.as_str()));
        if !host.is_some_and(|h| self.host_allowed(h)) {
            return Some(
                (
                    StatusCode::FORBIDDEN,
                    "Forbidden: Host header is not allowed",
                )
                    .into_response(),
            );
        }
        if let Some(origin) = request.headers().get(header::ORIGIN) {
            let allowed = origin.to_str().ok().is_some_and(|o| self.origin_allowed(o));
            if !allowed {
                return Some(
                    (
                        StatusCode::FORBIDDEN,
                        "Forbidden: Origin header is not allowed",
                    )
                        .into_response(),
                );
            }
        }
        None
    }
}

/// rmcp writes its plain-text refusals (406 without an acceptable `Accept`, 415, …) without a
/// `Content-Type`; a body without one leaves clients guessing, so name it.
fn name_plain_text(mut response: Response) -> Response {
    if !response.headers().contains_key(header::CONTENT_TYPE)
        && response.body().size_hint().exact() != Some(0)
    {
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
    }
    response
}

/// The `Host` value (`host` or `host:port`) and the serialized origin of the resource URL
/// `resource`: what the endpoint always accepts.
pub fn resource_host_and_origin(resource: &str) -> (Option<String>, Option<String>) {
    let Ok(url) = url::Url::parse(resource) else {
        return (None, None);
    };
    let host = url.host_str().map(|h| match url.port() {
        Some(port) => format!("{h}:{port}"),
        None => h.to_owned(),
    });
    (host, Some(url.origin().ascii_serialization()))
}

/// The MCP endpoint's path: the resource URL's.
pub(crate) fn path(config: &shared::config::Config) -> String {
    url::Url::parse(&config.resource)
        .map(|u| u.path().to_owned())
        .unwrap_or_else(|_| "/mcp".into())
}

/// The library's defaults for rmcp's Streamable HTTP service: stateless (no sessions, so any
/// instance of a Lambda function can answer any request), JSON answers unless the handler sends
/// a notification or request before its result (then SSE, so nothing is lost), a 15 s SSE
/// keep-alive and the bearer layer's body limit. The allowed hosts and origins are set by the
/// host after any change the server makes.
pub(crate) fn default_http_config() -> StreamableHttpServerConfig {
    StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_sse_keep_alive(Some(Duration::from_secs(15)))
        .with_max_request_body_bytes(MAX_BODY_BYTES)
}

/// rmcp's service behind an `Arc`. axum's middleware clones the service below it for every
/// request, and rmcp's service clones its cancellation token (a lock) and configuration when it
/// is cloned; this clone is one reference count.
struct Shared<S, M>(Arc<StreamableHttpService<S, M>>);

impl<S, M> Clone for Shared<S, M> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<S, M> tower::Service<Request> for Shared<S, M>
where
    S: rmcp::ServerHandler + Send + 'static,
    M: rmcp::transport::streamable_http_server::SessionManager,
{
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Response, Self::Error>> + Send + 'static>,
    >;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let service = self.0.clone();
        Box::pin(async move { Ok(service.handle(request).await.map(axum::body::Body::new)) })
    }
}

/// rmcp's service for `factory` with the session manager `sessions` names, on the methods it
/// answers: `POST` without sessions, `POST`, `GET` and `DELETE` with them (others: 405 with
/// `Allow`).
fn service<S, F>(
    factory: F,
    sessions: Sessions,
    http: StreamableHttpServerConfig,
) -> (MethodRouter, &'static [Method])
where
    S: rmcp::ServerHandler + Send + 'static,
    F: Fn() -> Result<S, std::io::Error> + Send + Sync + 'static,
{
    match sessions {
        Sessions::Stateless => {
            let manager = Arc::new(NeverSessionManager::default());
            let service = Shared(Arc::new(StreamableHttpService::new(factory, manager, http)));
            (post_service(service), &[Method::POST])
        }
        Sessions::InMemory => {
            let manager = Arc::new(LocalSessionManager::default());
            let service = Shared(Arc::new(StreamableHttpService::new(factory, manager, http)));
            let methods: &'static [Method] = &[Method::POST, Method::GET, Method::DELETE];
            let filter = MethodFilter::POST
                .or(MethodFilter::GET)
                .or(MethodFilter::DELETE);
            (on_service(filter, service), methods)
        }
    }
}

/// How the endpoint serves: rmcp's settings, where sessions live, and whether the server's tool
/// list is static (then repeated `tools/list` answers are kept).
pub(crate) struct Serving {
    pub(crate) http: StreamableHttpServerConfig,
    pub(crate) sessions: Sessions,
    pub(crate) static_tool_list: bool,
}

/// The MCP endpoint at `path`: rmcp's service for `factory`, behind the Host/Origin check, the
/// bearer layer and CORS.
pub(crate) fn router<S, F>(
    path: &str,
    factory: F,
    serving: Serving,
    auth: Arc<Authenticator>,
    hosts: Vec<String>,
    origins: Vec<String>,
) -> Router
where
    S: rmcp::ServerHandler + Send + 'static,
    F: Fn() -> Result<S, std::io::Error> + Send + Sync + 'static,
{
    let Serving {
        http,
        sessions,
        static_tool_list,
    } = serving;
    let http = http
        .with_allowed_hosts(hosts.clone())
        .with_allowed_origins(origins.clone());
    let (service, methods) = service(factory, sessions, http);
    let cors_origins = origins
        .iter()
        .filter_map(|o| o.parse().ok())
        .collect::<Vec<_>>();
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::list(cors_origins))
        .allow_methods(methods.to_vec())
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            HeaderName::from_static("mcp-protocol-version"),
            HeaderName::from_static("mcp-session-id"),
            HeaderName::from_static("last-event-id"),
            // Every 2026-07-28 request names its method and tool or resource in headers.
            HeaderName::from_static("mcp-method"),
            HeaderName::from_static("mcp-name"),
        ])
        .expose_headers([
            header::WWW_AUTHENTICATE,
            HeaderName::from_static("mcp-session-id"),
            HeaderName::from_static("mcp-protocol-version"),
        ])
        .max_age(Duration::from_secs(3600));
    let pipeline = Arc::new(Pipeline {
        hosts: HostGuard { hosts, origins },
        auth,
        memo: static_tool_list.then(Default::default),
    });
    let endpoint = service
        .route_layer(from_fn_with_state(pipeline, protect))
        .layer(cors);
    Router::new().route(path, endpoint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bodies_without_a_content_type_are_named_plain_text() {
        let refused = (StatusCode::NOT_ACCEPTABLE, "Not Acceptable").into_response();
        let refused = Response::from_parts(
            {
                let (mut parts, _) = refused.into_parts();
                parts.headers.remove(header::CONTENT_TYPE);
                parts
            },
            axum::body::Body::from("Not Acceptable"),
        );
        let named = name_plain_text(refused);
        assert_eq!(
            named.headers()[header::CONTENT_TYPE],
            "text/plain; charset=utf-8"
        );
        let accepted = name_plain_text(StatusCode::ACCEPTED.into_response());
        assert!(!accepted.headers().contains_key(header::CONTENT_TYPE));
        let json = name_plain_text(axum::Json(1).into_response());
        assert_eq!(json.headers()[header::CONTENT_TYPE], "application/json");
    }

    #[test]
    fn hosts_match_with_or_without_ports() {
        let guard = HostGuard {
            hosts: vec!["mcp.example.com".into(), "127.0.0.1:8080".into()],
            origins: vec!["https://mcp.example.com".into()],
        };
        assert!(guard.host_allowed("mcp.example.com"));
        assert!(guard.host_allowed("MCP.example.com:443"));
        assert!(guard.host_allowed("127.0.0.1:8080"));
        assert!(!guard.host_allowed("127.0.0.1:9090"));
        assert!(!guard.host_allowed("evil.example"));
        assert!(guard.origin_allowed("https://mcp.example.com"));
        assert!(!guard.origin_allowed("https://evil.example"));
    }
}
