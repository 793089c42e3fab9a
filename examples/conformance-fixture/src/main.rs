//! `conformance-fixture [--addr 127.0.0.1:0]`: hosts [`FixtureServer`] at `/mcp` over plain
//! Streamable HTTP (no authentication; loopback only by default), for
//! `conformance server --url http://<addr>/mcp`. Sessions (2025-11-25) live in memory;
//! 2026-07-28 requests are served statelessly. Answers stream as SSE, so progress and log
//! notifications reach the client before the result. Prints `listening on http://<addr>/mcp`
//! once bound (with port 0, the port the system chose), and stops on Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::sync::Arc;

use clap::Parser;
use conformance_fixture::FixtureServer;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};

/// Hosts the MCP conformance suite's fixture server (testing only: no authentication).
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Address to listen on; port 0 picks a free port (printed once bound).
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: SocketAddr,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Args::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("conformance-fixture: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.addr))?;
    let local = listener
        .local_addr()
        .map_err(|e| format!("no local address: {e}"))?;

    // The defaults: sessions for 2025-11-25 clients (server-to-client requests and
    // subscriptions need one), SSE answers (no `with_json_response`), loopback Host names only
    // (DNS-rebinding protection).
    let config = StreamableHttpServerConfig::default();
    let stop = config.cancellation_token.clone();
    let server = FixtureServer::new();
    let service = StreamableHttpService::new(
        move || Ok(server.clone()),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    let app = axum::Router::new().route_service("/mcp", service);

    println!("listening on http://{local}/mcp");
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            // Ends the open SSE streams, so the graceful shutdown does not wait on them.
            stop.cancel();
        })
        .await
        .map_err(|e| format!("server stopped: {e}"))
}

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
