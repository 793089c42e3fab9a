//! `serve`: both routers on one listener, embedded SQLite store under the data dir, clean
//! shutdown on Ctrl-C or SIGTERM.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use shared::clock::{Clock, SystemClock};
use shared::config::{Config, Runtime, env, keys};

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
    /// Run the authorization server alone, for an MCP server that runs elsewhere (written with
    /// any SDK, in any language) at the URL given by --resource: tokens are issued for it, and
    /// it checks them itself (our JWKS) or asks /introspect. No MCP endpoint here.
    #[arg(long)]
    pub no_mcp: bool,
}

impl ServeArgs {
    /// Flags (and their environment variables, which clap already read) layered over the
    /// environment for every other setting, read through that one lookup and checked with
    /// `serve`'s rules; issuer and resource default to `listening`, the address actually bound
    /// (so `--addr 127.0.0.1:0` works).
    pub fn config(&self, listening: SocketAddr) -> Result<(Config, mcp::McpSettings), String> {
        if self.issuer.is_none() && listening.ip().is_unspecified() {
            // Every interface: no one address clients use, and http is for loopback only.
            return Err(format!(
                "--addr {listening} listens on every interface, so the URL clients reach it by \
                 cannot be guessed: add --issuer https://<host name> (served through a TLS \
                 reverse proxy; README, \"serve behind a reverse proxy\"), or listen on \
                 127.0.0.1"
            ));
        }
        if self.no_mcp && self.resource.is_none() {
            return Err(format!(
                "--no-mcp: add --resource <URL of the MCP server> ({}): the tokens are for that \
                 server, and with --no-mcp there is none here",
                keys::RESOURCE
            ));
        }
        let issuer = self
            .issuer
            .clone()
            .unwrap_or_else(|| format!("http://{listening}"));
        let resource = self
            .resource
            .clone()
            .unwrap_or_else(|| format!("{}/mcp", issuer.trim_end_matches('/')));
        let overrides = HashMap::from([
            (keys::ISSUER, issuer),
            (keys::RESOURCE, resource),
            (keys::DATA_DIR, self.data_dir.display().to_string()),
        ]);
        let (config, settings) = mcp::read_config(
            |key| overrides.get(key).cloned().or_else(|| env::var(key)),
            Runtime::Serve,
        )
        .map_err(|e| e.to_string())?;
        if !self.no_mcp {
            // The Cost Explorer server runs here: the facade must offer its scopes.
            mcp::check_scopes(&config).map_err(|e| e.to_string())?;
        }
        Ok((config, settings))
    }
}

pub async fn run(args: ServeArgs) -> Result<(), String> {
    // Validate before binding, so a bad setting is reported even when the port is taken.
    let documents = cimd_test_fetcher(&args.config(args.addr)?.0)?;
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .map_err(|e| format!("--addr {}: cannot listen: {}", args.addr, e.kind()))?;
    let local = listener
        .local_addr()
        .map_err(|e| format!("--addr {}: {}", args.addr, e.kind()))?;
    let (config, mcp_settings) = args.config(local)?;
    let config = Arc::new(config);
    shared::telemetry::init(config.log_format, &config.log_filter);
    shared::store::create_private_dir(&config.data_dir)
        .map_err(|e| format!("{} (--data-dir): {e}", keys::DATA_DIR))?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    // One AWS configuration for whatever is on AWS (a DynamoDB store, a KMS key, Cognito,
    // Cost Explorer), resolved only if one of them is.
    let aws = shared::aws::Aws::from_env();
    let stores = shared::store::connect(&config.store, clock.clone(), &aws)
        .await
        .map_err(|e| format!("store: {e}"))?;

    let dev_login = match config.login {
        shared::config::LoginConfig::Embedded => {
            authz::upstream::local::ensure_dev_user(&stores, clock.now())
                .await
                .map_err(|e| format!("creating the dev user: {e}"))?
        }
        _ => None,
    };
    let mut authz_state =
        authz::AppState::from_config(config.clone(), stores.clone(), clock.clone(), &aws)
            .await
            .map_err(|e| e.to_string())?;
    if let Some(fetcher) = documents {
        authz_state = authz_state.with_documents(fetcher);
    }
    // One process: the resource server reads the signing keys in-process, no HTTP round trip.
    let tokens = authz_state.tokens.clone();
    let jwks = Arc::new(mcp::InProcessJwks::new(move || tokens.jwks()));
    let cost_source = (!args.no_mcp).then_some(mcp_settings.cost_source);
    let meter = mcp_settings.meter;
    let mcp = if args.no_mcp {
        axum::Router::new()
    } else {
        mcp::app(
            mcp::AppState::from_config(
                config.clone(),
                mcp_settings,
                &stores,
                clock.clone(),
                jwks,
                &aws,
            )
            .await,
        )
    };
    let authz = authz::app(authz_state);
    // `/healthz` sits outside every layer (no auth, no request log): a liveness probe, and the
    // bare-route reference of the benchmark (bench/run.sh). `/metrics` too: the counters the
    // Lambda functions emit as CloudWatch metrics, as running totals, for loopback callers.
    // Behind a proxy that adds the origin secret (SMCP_ORIGIN_SECRET), requests that bypass
    // it are refused, as on Lambda; the probe and the loopback counters stay outside.
    let guarded = shared::edge::guard(authz.merge(mcp), config.origin_secret.clone());
    let app = shared::telemetry::observe(guarded)
        .route("/healthz", axum::routing::get(|| async { "ok" }))
        .route("/metrics", axum::routing::get(metrics_page));

    println!("serverless-mcp listening on http://{local}");
    if args.no_mcp {
        println!(
            "  authorization server only (--no-mcp), for the MCP server at {}",
            config.resource
        );
    } else {
        println!(
            "  MCP server URL (paste into your MCP client): {}",
            config.resource
        );
    }
    println!("  authorization server: {}", config.issuer);
    println!(
        "  metadata: {}",
        config.issuer_url("/.well-known/oauth-authorization-server")
    );
    println!("  data dir: {}", config.data_dir.display());
    if config.cimd_test_ca.is_some() {
        println!("{CIMD_TEST_CA_WARNING}");
        tracing::warn!("{CIMD_TEST_CA_WARNING}");
    }
    for (host, addr) in &config.cimd_test_resolve {
        let line = format!(
            "warning: SMCP_CIMD_TEST_RESOLVE: client metadata documents on {host} are fetched from {addr} (local testing only)"
        );
        println!("{line}");
        tracing::warn!("{line}");
    }
    if let Some((name, password)) = dev_login {
        // Shown once, on the first start; scripts read this line.
        println!("login: username={name} password={}", password.expose());
    }
    match cost_source {
        None => {}
        Some(mcp::CostSourceKind::Aws) => println!(
            "  cost data: AWS Cost Explorer (answers cached {} s, {} calls per user a day)",
            meter.cache_ttl_secs, meter.daily_call_budget
        ),
        Some(mcp::CostSourceKind::Sample) => println!("  cost data: the sample organisation"),
    }
    if config.origin_secret.is_some() {
        println!("  requests without the origin secret header are refused (SMCP_ORIGIN_SECRET)");
    }
    tracing::info!(%local, "listening");

    // The hosting library's local listener: peer addresses for `/metrics`, clean shutdown on
    // Ctrl-C or SIGTERM.
    mcp_host::serve_local(listener, app)
        .await
        .map_err(|e| format!("server stopped: {}", e.kind()))?;
    tracing::info!("stopped");
    Ok(())
}

/// `GET /metrics`: every counter since the process started, one `Name{Dimension="value"} count`
/// line each. Only a caller on this machine gets it; anyone else gets 404, as if it did not
/// exist (`--addr 0.0.0.0:…` does not publish it).
async fn metrics_page(
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<SocketAddr>,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    if !peer.ip().to_canonical().is_loopback() {
        return axum::http::StatusCode::NOT_FOUND.into_response();
    }
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            ),
            (axum::http::header::CACHE_CONTROL, "no-store"),
        ],
        shared::metrics::totals().text(),
    )
        .into_response()
}

const CIMD_TEST_CA_WARNING: &str = "warning: SMCP_CIMD_TEST_CA is set: client metadata documents may be fetched from loopback and trusted with a test CA (local testing only)";

/// With `SMCP_CIMD_TEST_CA` (local testing only): a Client ID Metadata Document fetcher that
/// trusts that CA besides the system roots and may connect to loopback besides public addresses.
fn cimd_test_fetcher(config: &Config) -> Result<Option<authz::DocumentFetcher>, String> {
    let Some(path) = &config.cimd_test_ca else {
        return Ok(None);
    };
    let setting = keys::CIMD_TEST_CA;
    let pem = std::fs::read(path)
        .map_err(|e| format!("{setting}: cannot read {}: {}", path.display(), e.kind()))?;
    let roots = authz::test_ca_certificates(&pem)
        .map_err(|e| format!("{setting}: {}: {e}", path.display()))?;
    Ok(Some(
        authz::DocumentFetcher::build(
            Arc::new(authz::SystemLookup),
            |ip| ip.is_loopback() || authz::is_public(ip),
            roots,
        )
        .with_test_overrides(config.cimd_test_resolve.clone()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_counters_page_answers_loopback_callers_only() {
        for (peer, status) in [
            ("127.0.0.1:5000", 200),
            ("[::1]:5000", 200),
            ("[::ffff:127.0.0.1]:5000", 200),
            ("192.0.2.7:5000", 404),
            ("[2001:db8::1]:5000", 404),
            ("[::ffff:192.0.2.7]:5000", 404),
        ] {
            let peer: SocketAddr = peer.parse().unwrap();
            let response = metrics_page(axum::extract::ConnectInfo(peer)).await;
            assert_eq!(response.status().as_u16(), status, "{peer}");
        }
    }
}
