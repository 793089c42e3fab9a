//! `serve`: both routers on one listener, embedded SQLite store under the data dir, clean
//! shutdown on Ctrl-C or SIGTERM.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use shared::clock::{Clock, SystemClock};
use shared::config::{Config, keys};

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "SMCP_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Folder for the embedded store and keys (created on first start).
    #[arg(long, env = keys::DATA_DIR, default_value = ".data")]
    pub data_dir: PathBuf,
    /// Issuer URL of the authorization server [default: http://<addr>].
    #[arg(long, env = keys::ISSUER)]
    pub issuer: Option<String>,
    /// Canonical URL of the MCP endpoint [default: <issuer origin>/mcp].
    #[arg(long, env = keys::RESOURCE)]
    pub resource: Option<String>,
}

impl ServeArgs {
    /// Flags (and their environment variables, which clap already read) layered over the
    /// environment for every other setting.
    pub fn config(&self) -> Result<Config, String> {
        let issuer = self
            .issuer
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.addr));
        let resource = self
            .resource
            .clone()
            .unwrap_or_else(|| format!("{}/mcp", issuer.trim_end_matches('/')));
        let overrides = HashMap::from([
            (keys::ISSUER, issuer),
            (keys::RESOURCE, resource),
            (keys::DATA_DIR, self.data_dir.display().to_string()),
        ]);
        Config::from_lookup(|key| {
            overrides
                .get(key)
                .cloned()
                .or_else(|| std::env::var(key).ok())
        })
        .map_err(|e| e.to_string())
    }
}

pub async fn run(args: ServeArgs) -> Result<(), String> {
    let config = Arc::new(args.config()?);
    shared::telemetry::init(config.log_format, &config.log_filter);
    shared::store::create_private_dir(&config.data_dir).map_err(|e| e.to_string())?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let stores = shared::store::connect(&config.store, clock.clone())
        .await
        .map_err(|e| format!("store: {e}"))?;

    let signer = authz::signer(&config)
        .await
        .map_err(|e| e.to_string())?;
    let authz = authz::app(authz::AppState::new(
        config.clone(),
        stores.clone(),
        clock.clone(),
        signer,
    ));
    let mcp = mcp::app(mcp::AppState {
        config: config.clone(),
    });
    let app = shared::telemetry::observe(authz.merge(mcp));

    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .map_err(|e| format!("--addr {}: cannot listen: {}", args.addr, e.kind()))?;
    let local = listener
        .local_addr()
        .map_err(|e| format!("--addr {}: {}", args.addr, e.kind()))?;
    println!("serverless-mcp listening on http://{local}");
    println!("  MCP server URL (paste into your MCP client): {}", config.resource);
    println!("  authorization server: {}", config.issuer);
    println!(
        "  metadata: {}",
        config.issuer_url("/.well-known/oauth-authorization-server")
    );
    println!("  data dir: {}", config.data_dir.display());
    tracing::info!(%local, "listening");

    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| format!("server stopped: {}", e.kind()))?;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
