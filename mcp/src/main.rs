//! The MCP server as an AWS Lambda function behind a Function URL with response streaming
//! (`InvokeMode: RESPONSE_STREAM`), so SSE reaches the client as it is written.

use std::process::ExitCode;
use std::sync::Arc;

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
    shared::telemetry::init(config.log_format, &config.log_filter);
    let app = shared::telemetry::observe(mcp::app(mcp::AppState { config }));
    match lambda_http::run_with_streaming_response(app).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "lambda runtime stopped");
            ExitCode::FAILURE
        }
    }
}
