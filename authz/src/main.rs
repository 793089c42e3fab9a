//! The authorization server as an AWS Lambda function (Function URL, payload format 2.0).

use std::process::ExitCode;
use std::sync::Arc;

use shared::clock::{Clock, SystemClock};
use shared::config::{Config, Function, Runtime};

#[tokio::main]
async fn main() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => Arc::new(config),
        Err(e) => {
            eprintln!("configuration error: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = config.validate_for(Runtime::Lambda(Function::Authz)) {
        eprintln!("configuration error: {e}");
        return ExitCode::FAILURE;
    }
    shared::telemetry::init(config.log_format, &config.log_filter);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    // One AWS configuration for the store, KMS and Cognito, resolved once.
    let aws = shared::aws::Aws::from_env();
    let stores = match shared::store::connect(&config.store, clock.clone(), &aws).await {
        Ok(stores) => stores,
        Err(e) => {
            tracing::error!(error = %e, "cannot open the store");
            return ExitCode::FAILURE;
        }
    };
    let origin_secret = config.origin_secret.clone();
    let namespace = config.metrics_namespace.clone();
    let state = match authz::AppState::from_config(config, stores, clock, &aws).await {
        Ok(state) => state,
        Err(e) => {
            tracing::error!(error = %e, "cannot start");
            return ExitCode::FAILURE;
        }
    };
    let app = shared::telemetry::observe(shared::edge::guard(authz::app(state), origin_secret));
    // Counters go out as CloudWatch EMF lines on stdout at the end of every request.
    let app =
        shared::telemetry::emit_metrics(app, &namespace, "authz", shared::telemetry::stdout_sink());
    match lambda_http::run(app).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "lambda runtime stopped");
            ExitCode::FAILURE
        }
    }
}
