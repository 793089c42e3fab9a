//! [`McpHost::run`]: the whole process in one call, configured from the environment like the
//! serverless-mcp functions (`shared::config`): on AWS Lambda when `AWS_LAMBDA_FUNCTION_NAME` is
//! set (keys from the issuer's metadata, the store the configuration names), otherwise on a local
//! listener.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use shared::clock::{Clock, SystemClock};
use shared::config::{Config, Function, Runtime, env, keys as shared_keys};

use crate::{HttpJwks, JwksSource, McpHost, Protection, hosting};

/// Settings [`McpHost::run`] reads besides those of `shared::config` (`SMCP_ISSUER`,
/// `SMCP_RESOURCE`, `SMCP_STORE`, `SMCP_DATA_DIR`, `SMCP_LOG_*`, `SMCP_ORIGIN_SECRET`, …).
pub mod keys {
    /// The local listener's address (default [`DEFAULT_ADDR`](crate::DEFAULT_ADDR); port 0
    /// picks a free port). Without `SMCP_RESOURCE`, the resource URL is `http://<bound
    /// address>/mcp`.
    pub const ADDR: &str = "SMCP_ADDR";
}

/// The local listener's address when `SMCP_ADDR` is unset.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8090";

/// Why [`McpHost::run`] could not start or stopped: a setting, the store, the listener or the
/// Lambda runtime, in words fit for a terminal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct HostError(pub(crate) String);

impl<S: rmcp::ServerHandler + Send + 'static> McpHost<S> {
    /// Reads the configuration from the environment, connects the store (for revocations) and
    /// serves: as a Lambda function with response streaming when `AWS_LAMBDA_FUNCTION_NAME` is
    /// set, otherwise on `SMCP_ADDR`, printing `listening on http://<address>` and the MCP
    /// server URL, until Ctrl-C or SIGTERM. `SMCP_ISSUER` is required; to share revocations with
    /// a local `serverless-mcp serve`, point `SMCP_DATA_DIR` at its data dir.
    pub async fn run(self) -> Result<(), HostError> {
        if env::var(shared_keys::LAMBDA_FUNCTION).is_some_and(|v| !v.is_empty()) {
            let config = read_config(env::var, Runtime::Lambda(Function::Mcp))?;
            let app = self.app(config).await?;
            return hosting::serve_lambda(app)
                .await
                .map_err(|e| HostError(format!("lambda runtime stopped: {e}")));
        }
        let addr = env::var(keys::ADDR).unwrap_or_else(|| crate::DEFAULT_ADDR.to_owned());
        let addr: SocketAddr = addr
            .parse()
            .map_err(|_| HostError(format!("{}: {addr:?} is not an address", keys::ADDR)))?;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| HostError(format!("{}: cannot listen on {addr}: {e}", keys::ADDR)))?;
        let local = listener
            .local_addr()
            .map_err(|e| HostError(format!("{}: {e}", keys::ADDR)))?;
        let resource = format!("http://{local}/mcp");
        let lookup = |key: &str| {
            let value = env::var(key).filter(|v| !v.trim().is_empty());
            if key == shared_keys::RESOURCE {
                value.or_else(|| Some(resource.clone()))
            } else {
                value
            }
        };
        let config = read_config(lookup, Runtime::Serve)?;
        shared::store::create_private_dir(&config.data_dir)
            .map_err(|e| HostError(format!("{}: {e}", shared_keys::DATA_DIR)))?;
        let resource = config.resource.clone();
        // Ends rmcp's open SSE streams on shutdown, so the graceful shutdown does not wait on
        // clients that keep them open.
        let streams = self.http.cancellation_token.clone();
        let app = self.app(config).await?;
        println!("listening on http://{local}");
        println!("  MCP server URL: {resource}");
        let stop = async move {
            hosting::shutdown_signal().await;
            streams.cancel();
        };
        hosting::serve_local_until(listener, app, stop)
            .await
            .map_err(|e| HostError(format!("server stopped: {e}")))
    }

    /// The router with the deployment's layers: the origin-secret guard, request spans.
    async fn app(self, config: Config) -> Result<Router, HostError> {
        self.check_scopes(&config)?;
        let config = Arc::new(config);
        shared::telemetry::init(config.log_format, &config.log_filter);
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let aws = shared::aws::Aws::from_env();
        let stores = shared::store::connect(&config.store, clock.clone(), &aws)
            .await
            .map_err(|e| HostError(format!("store: {e}")))?;
        let jwks: Arc<dyn JwksSource> = Arc::new(HttpJwks::new(&config.issuer));
        let secret = config.origin_secret.clone();
        let protection = Protection::new(config, jwks, clock, stores.revocations.clone());
        Ok(shared::telemetry::observe(shared::edge::guard(
            self.router(protection),
            secret,
        )))
    }
}

fn read_config(
    lookup: impl Fn(&str) -> Option<String>,
    runtime: Runtime,
) -> Result<Config, HostError> {
    let config = Config::from_lookup(lookup).map_err(|e| HostError(e.to_string()))?;
    config
        .validate_for(runtime)
        .map_err(|e| HostError(e.to_string()))?;
    Ok(config)
}
