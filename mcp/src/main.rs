//! The MCP server as an AWS Lambda function behind a Function URL with response streaming
//! (`InvokeMode: RESPONSE_STREAM`), so SSE reaches the client as it is written.

use std::process::ExitCode;
use std::sync::Arc;

use shared::clock::{Clock, SystemClock};
use shared::config::{Function, Runtime, env};

#[tokio::main]
async fn main() -> ExitCode {
    // Every setting through the one lookup (the environment), checked before anything starts.
    let (config, settings) = match mcp::read_config(env::var, Runtime::Lambda(Function::Mcp)) {
        Ok((config, settings)) => (Arc::new(config), settings),
        Err(e) => {
            eprintln!("configuration error: {e}");
            return ExitCode::FAILURE;
        }
    };
    shared::telemetry::init(config.log_format, &config.log_filter);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    // One AWS configuration for the store and Cost Explorer, resolved once.
    let aws = shared::aws::Aws::from_env();
    let stores = match shared::store::connect(&config.store, clock.clone(), &aws).await {
        Ok(stores) => stores,
        Err(e) => {
            eprintln!("store: {e}");
            return ExitCode::FAILURE;
        }
    };
    let origin_secret = config.origin_secret.clone();
    let namespace = config.metrics_namespace.clone();
    let jwks: Arc<dyn mcp::JwksSource> = Arc::new(mcp::HttpJwks::new(&config.issuer));
    let state = mcp::AppState::from_config(config, settings, &stores, clock, jwks, &aws).await;
    let app = shared::telemetry::observe(shared::edge::guard(mcp::app(state), origin_secret));
    // Counters go out as CloudWatch EMF lines on stdout at the end of every request.
    let app =
        shared::telemetry::emit_metrics(app, &namespace, "mcp", shared::telemetry::stdout_sink());
    match mcp_host::serve_lambda(app).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "lambda runtime stopped");
            ExitCode::FAILURE
        }
    }
}
