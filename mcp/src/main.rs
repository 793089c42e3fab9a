//! The MCP server as an AWS Lambda function behind a Function URL with response streaming
//! (`InvokeMode: RESPONSE_STREAM`), so SSE reaches the client as it is written.

use std::process::ExitCode;
use std::sync::Arc;

use shared::clock::{Clock, SystemClock};
use shared::config::Config;

#[tokio::main]
async fn main() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => Arc::new(config),
        Err(e) => {
            eprintln!("configuration error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let settings = match mcp::McpSettings::from_env(&config) {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("configuration error: {e}");
            return ExitCode::FAILURE;
        }
    };
    shared::telemetry::init(config.log_format, &config.log_filter);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let stores = match shared::store::connect(&config.store, clock.clone()).await {
        Ok(stores) => stores,
        Err(e) => {
            eprintln!("store: {e}");
            return ExitCode::FAILURE;
        }
    };
    let origin_secret = config.origin_secret.clone();
    let namespace = config.metrics_namespace.clone();
    let jwks: Arc<dyn mcp::JwksSource> = Arc::new(mcp::HttpJwks::new(&config.issuer));
    let state = mcp::AppState::from_config(config, settings, &stores, clock, jwks).await;
    let app = shared::telemetry::observe(shared::edge::guard(mcp::app(state), origin_secret));
    // Counters go out as CloudWatch EMF lines on stdout at the end of every request.
    let app =
        shared::telemetry::emit_metrics(app, &namespace, "mcp", shared::telemetry::stdout_sink());
    match lambda_http::run_with_streaming_response(app).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "lambda runtime stopped");
            ExitCode::FAILURE
        }
    }
}
