//! Host any [rmcp](https://docs.rs/rmcp) server as an OAuth 2.1 protected resource of the
//! serverless-mcp authorization server (the MCP authorization specification): give it a factory
//! of your [`rmcp::ServerHandler`] and the scopes your tools need, and get
//!
//! - the bearer-token layer: `Authorization: Bearer` access tokens (RFC 9068) verified against
//!   the issuer's JWKS, revocations checked in the store (one round trip per request), and the
//!   RFC 6750 §3 challenges (`401` naming `resource_metadata` and `scope`, `403
//!   insufficient_scope` for a `tools/call` of a tool whose scope the token lacks);
//! - the Protected Resource Metadata document (RFC 9728), with your scopes as
//!   `scopes_supported`;
//! - `Host`/`Origin` checks (DNS rebinding) and CORS on the MCP endpoint;
//! - hosting: an axum [`Router`] to serve or merge ([`McpHost::router`]), a local listener
//!   ([`serve_local`]), the Lambda entry with response streaming ([`serve_lambda`]), or all of it
//!   in one call configured from the environment ([`McpHost::run`]).
//!
//! The verified [`Caller`] is in the HTTP request's extensions, which rmcp hands to tools.
//!
//! ```no_run
//! use mcp_host::McpHost;
//! use rmcp::handler::server::wrapper::Parameters;
//! use rmcp::{ServerHandler, tool, tool_handler, tool_router};
//!
//! #[derive(Clone)]
//! struct Hello;
//!
//! #[derive(serde::Deserialize, schemars::JsonSchema)]
//! struct Name {
//!     /// Who to greet.
//!     name: String,
//! }
//!
//! #[tool_router]
//! impl Hello {
//!     /// Says hello.
//!     #[tool]
//!     fn hello(&self, Parameters(Name { name }): Parameters<Name>) -> String {
//!         format!("Hello, {name}!")
//!     }
//! }
//!
//! #[tool_handler]
//! impl ServerHandler for Hello {}
//!
//! # async fn run() -> Result<(), mcp_host::HostError> {
//! // SMCP_ISSUER names the authorization server; everything else has a local default.
//! McpHost::new(|| Ok(Hello))
//!     .base_scope("costs:read")
//!     .tool_scope("hello", "costs:resources")
//!     .run()
//!     .await
//! # }
//! ```
#![warn(missing_docs)]

mod auth;
mod caller;
mod clearance;
mod endpoint;
mod hosting;
mod resource_metadata;
mod run;
mod scopes;
mod tool_list;

use std::sync::Arc;

use axum::Router;
pub use rmcp::transport::streamable_http_server::StreamableHttpServerConfig;
use shared::clock::Clock;
use shared::config::Config;
use shared::store::RevocationList;

pub use self::auth::MAX_BODY_BYTES;
pub use self::auth::{HttpJwks, InProcessJwks, JWKS_REFETCH_SECS, JwksError, JwksSource};
pub use self::caller::Caller;
pub use self::clearance::Clearance;
pub use self::endpoint::{Sessions, resource_host_and_origin};
pub use self::hosting::{serve_lambda, serve_local, shutdown_signal};
pub use self::run::{DEFAULT_ADDR, HostError, keys};
pub use self::scopes::ScopePolicy;
pub use self::tool_list::MAX_KINDS as TOOL_LIST_KINDS;

/// What protecting a resource needs from its deployment: the issuer and resource URLs (and the
/// rest of [`Config`]), where the issuer's keys come from, the clock, and the revocations the
/// authorization server records.
#[derive(Clone)]
pub struct Protection {
    config: Arc<Config>,
    jwks: Arc<dyn JwksSource>,
    clock: Arc<dyn Clock>,
    revocations: Arc<dyn RevocationList>,
}

impl Protection {
    /// Tokens issued by `config.issuer` for `config.resource`, verified with the keys of `jwks`
    /// ([`HttpJwks`] over the network, [`InProcessJwks`] beside the authorization server) and
    /// checked against `revocations` (the authorization server's store:
    /// `shared::store::Stores::revocations`).
    pub fn new(
        config: Arc<Config>,
        jwks: Arc<dyn JwksSource>,
        clock: Arc<dyn Clock>,
        revocations: Arc<dyn RevocationList>,
    ) -> Self {
        Self {
            config,
            jwks,
            clock,
            revocations,
        }
    }

    /// The deployment's configuration.
    pub fn config(&self) -> &Arc<Config> {
        &self.config
    }
}

/// An rmcp server to host, with the scopes its tools need and how its endpoint answers.
pub struct McpHost<S> {
    factory: Box<dyn Fn() -> Result<S, std::io::Error> + Send + Sync>,
    scopes: ScopePolicy,
    resource_name: String,
    hosts: Vec<String>,
    origins: Vec<String>,
    http: StreamableHttpServerConfig,
    sessions: Sessions,
    static_tool_list: bool,
    overlap_revocation: bool,
}

impl<S: rmcp::ServerHandler + Send + 'static> McpHost<S> {
    /// Hosts the server `factory` makes: one per request, as rmcp's `StreamableHttpService`
    /// takes it. Every request needs the scope `costs:read` until [`base_scope`](Self::base_scope)
    /// says otherwise.
    pub fn new(factory: impl Fn() -> Result<S, std::io::Error> + Send + Sync + 'static) -> Self {
        Self {
            factory: Box::new(factory),
            scopes: ScopePolicy::new(shared::oauth::scope::COSTS_READ),
            resource_name: "MCP server".to_owned(),
            hosts: Vec::new(),
            origins: Vec::new(),
            http: endpoint::default_http_config(),
            sessions: Sessions::Stateless,
            static_tool_list: false,
            overlap_revocation: false,
        }
    }

    /// The scope every request needs (replaces the policy: call it before
    /// [`tool_scope`](Self::tool_scope)).
    pub fn base_scope(mut self, scope: impl Into<String>) -> Self {
        self.scopes = ScopePolicy::new(scope);
        self
    }

    /// Declares that calling the tool named `tool` needs `scope` too: a call without it is
    /// answered `403 insufficient_scope` naming it, and it is advertised in the metadata.
    pub fn tool_scope(mut self, tool: impl Into<String>, scope: impl Into<String>) -> Self {
        self.scopes = self.scopes.tool_scope(tool, scope);
        self
    }

    /// Replaces the whole scope policy.
    pub fn scope_policy(mut self, scopes: ScopePolicy) -> Self {
        self.scopes = scopes;
        self
    }

    /// The scopes declared so far.
    pub fn scopes(&self) -> &ScopePolicy {
        &self.scopes
    }

    /// Whether the authorization server of `config` offers every scope declared
    /// ([`ScopePolicy::check_offered`]); [`run`](Self::run) checks it before serving.
    pub fn check_scopes(&self, config: &Config) -> Result<(), HostError> {
        self.scopes
            .check_offered(&config.scopes)
            .map_err(|problem| HostError(format!("{}: {problem}", shared::config::keys::SCOPES)))
    }

    /// The metadata's human-readable `resource_name` (default "MCP server").
    pub fn resource_name(mut self, name: impl Into<String>) -> Self {
        self.resource_name = name.into();
        self
    }

    /// More accepted `Host` values (`host` or `host:port`; without a port, any port). The
    /// resource URL's host is always accepted.
    pub fn allow_hosts(mut self, hosts: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.hosts.extend(hosts.into_iter().map(Into::into));
        self
    }

    /// More accepted `Origin` values (and CORS origins). The resource URL's origin always is;
    /// requests without `Origin` are accepted.
    pub fn allow_origins(mut self, origins: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.origins.extend(origins.into_iter().map(Into::into));
        self
    }

    /// Changes rmcp's Streamable HTTP settings. The defaults: stateless (no sessions), JSON
    /// answers unless the handler sends a notification or request before its result (then SSE,
    /// so progress and logging reach the client), 15 s SSE keep-alive, [`MAX_BODY_BYTES`]. The
    /// allowed hosts and origins are always the host's.
    pub fn configure_http(
        mut self,
        change: impl FnOnce(StreamableHttpServerConfig) -> StreamableHttpServerConfig,
    ) -> Self {
        self.http = change(self.http);
        self
    }

    /// Where MCP sessions live (default [`Sessions::Stateless`]). [`Sessions::InMemory`] also
    /// turns on rmcp's session mode for protocol versions before 2026-07-28
    /// (`legacy_session_mode`), and routes `GET` (the standalone SSE stream) and `DELETE` (end
    /// of session) to the service, behind the same checks as `POST`; a later
    /// [`configure_http`](Self::configure_http) may still change the mode.
    pub fn sessions(mut self, sessions: Sessions) -> Self {
        self.sessions = sessions;
        self.http = self
            .http
            .with_legacy_session_mode(sessions == Sessions::InMemory);
        self
    }

    /// Declares that the server's `tools/list` answer depends on the request alone (its
    /// protocol version headers and `params`), never on the caller, the time or any state: the
    /// same for every caller of a protocol version, as a `#[tool_router]` list is. The host then
    /// answers a repeated `tools/list` with the answer rmcp gave the first request of its kind
    /// (byte for byte, with the repeat's JSON-RPC id) instead of building and serializing the
    /// list again; every request still passes the bearer layer. At most
    /// [`TOOL_LIST_KINDS`] kinds are kept; requests of other kinds go to rmcp. Off by default:
    /// a server that lists tools per caller must not turn it on.
    pub fn static_tool_list(mut self) -> Self {
        self.static_tool_list = true;
        self
    }

    /// Lets a `tools/call` start while its revocation check (one store round trip) is under way,
    /// so a tool's first store read overlaps it and a cached answer costs one round trip, not
    /// two. The tools must then wait on their [`Clearance`] (a tool parameter, also in the HTTP
    /// request extensions) before anything with an effect: a write, a call that is charged or
    /// acts upstream. Reads before it are harmless, because the response is held until the
    /// verdict and a revoked or unverifiable token gets its 401 or 503 instead. Off by default:
    /// a server whose tools act without waiting must not turn it on. Other requests are always
    /// checked first.
    pub fn overlap_revocation_check(mut self) -> Self {
        self.overlap_revocation = true;
        self
    }

    /// The whole resource server for `protection`: the metadata routes (no authentication) and
    /// the MCP endpoint at the resource URL's path. Serve it, merge it into a larger router, or
    /// wrap it in more layers.
    pub fn router(self, protection: Protection) -> Router {
        let config = &protection.config;
        let (host, origin) = resource_host_and_origin(&config.resource);
        let mut hosts: Vec<String> = host.into_iter().collect();
        for extra in self.hosts {
            if !hosts.contains(&extra) {
                hosts.push(extra);
            }
        }
        let mut origins: Vec<String> = origin.into_iter().collect();
        for extra in self.origins {
            if !origins.contains(&extra) {
                origins.push(extra);
            }
        }
        let metadata = resource_metadata::router(config, &self.scopes, &self.resource_name);
        let auth = Arc::new(auth::Authenticator::new(
            config,
            protection.jwks.clone(),
            protection.clock.clone(),
            protection.revocations.clone(),
            self.scopes,
            self.overlap_revocation,
        ));
        let path = endpoint::path(config);
        let factory = self.factory;
        let mcp = endpoint::router(
            &path,
            factory,
            endpoint::Serving {
                http: self.http,
                sessions: self.sessions,
                static_tool_list: self.static_tool_list,
            },
            auth,
            hosts,
            origins,
        );
        metadata.merge(mcp)
    }
}

/// Every route of [`McpHost::router`] for `config` with the default [`Sessions::Stateless`]:
/// its path and the methods it answers (a `GET` route answers `HEAD` too; other methods are 405
/// with `Allow`). With [`Sessions::InMemory`] the MCP endpoint answers `GET` and `DELETE` too.
pub fn routes(config: &Config) -> Vec<(String, &'static [http::Method])> {
    let mut routes: Vec<(String, &'static [http::Method])> = resource_metadata::paths(config)
        .into_iter()
        .map(|path| (path, &[http::Method::GET] as &'static [http::Method]))
        .collect();
    routes.push((endpoint::path(config), &[http::Method::POST]));
    routes
}
