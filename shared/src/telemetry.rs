//! Structured logs with `tracing`: JSON on Lambda, human-readable locally, and a request span
//! (method, matched route, request id) around every request. Spans never record the full URI,
//! because query strings carry codes and state. On Lambda, the counters of [`crate::metrics`]
//! are written as EMF lines at the end of every request.

use std::io::{IsTerminal as _, Write as _};
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::MatchedPath;
use axum::extract::State;
use axum::response::Response;
use http::{HeaderName, Request};
use http_body_util::BodyExt as _;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// The header carrying the request id (set here unless the platform already set one).
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Installs the global subscriber with `filter` directives (validated by the configuration).
pub fn init(format: LogFormat, filter: &str) {
    let filter = EnvFilter::try_new(filter)
        .unwrap_or_else(|_| EnvFilter::new(crate::config::DEFAULT_LOG_FILTER));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    // A second initialisation (tests) keeps the first subscriber.
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        LogFormat::Pretty => builder.compact().try_init(),
    };
}

/// Adds request ids and the request span to a router.
pub fn observe(router: Router) -> Router {
    let trace = TraceLayer::new_for_http()
        .make_span_with(|request: &Request<_>| {
            let route = request
                .extensions()
                .get::<MatchedPath>()
                .map_or("unmatched", MatchedPath::as_str);
            let request_id = request
                .headers()
                .get(&REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            tracing::info_span!(
                "request",
                method = %request.method(),
                route,
                request_id,
            )
        })
        .on_response(DefaultOnResponse::new().level(Level::INFO));
    router
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(trace)
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// Where EMF lines go: stdout on Lambda (CloudWatch Logs extracts the metrics), a buffer in
/// tests.
pub type MetricSink = Arc<dyn Fn(&str) + Send + Sync>;

/// One line per call on stdout, flushed (the Lambda runtime forwards stdout to CloudWatch Logs).
pub fn stdout_sink() -> MetricSink {
    Arc::new(|line: &str| {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    })
}

/// What [`emit_metrics`] needs to write a batch.
struct Emitter {
    namespace: String,
    service: &'static str,
    sink: MetricSink,
}

/// Writes the counters counted since the previous batch when dropped: with the response body,
/// that is once the body has been sent (a streamed answer included), before the runtime asks
/// for the next invocation, so a frozen instance holds nothing back.
struct EmitOnDrop(Arc<Emitter>);

impl EmitOnDrop {
    fn keep(&self) {}
}

impl Drop for EmitOnDrop {
    fn drop(&mut self) {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()
            .and_then(|d| i64::try_from(d.as_millis()).ok())
            .unwrap_or(0);
        let emitter = &self.0;
        for line in crate::metrics::take().emf_lines(&emitter.namespace, emitter.service, now_ms) {
            (emitter.sink)(&line);
        }
    }
}

/// Emits the counters as CloudWatch EMF after every request (`service` is `authz` or `mcp`).
/// For the Lambda functions, which serve one request at a time per process; `serve` shows the
/// running totals instead.
pub fn emit_metrics(
    router: Router,
    namespace: &str,
    service: &'static str,
    sink: MetricSink,
) -> Router {
    let emitter = Arc::new(Emitter {
        namespace: namespace.to_owned(),
        service,
        sink,
    });
    router.layer(axum::middleware::map_response_with_state(
        emitter,
        |State(emitter): State<Arc<Emitter>>, response: Response| async move {
            let guard = EmitOnDrop(emitter);
            let (parts, body) = response.into_parts();
            let body = body.map_frame(move |frame| {
                guard.keep();
                frame
            });
            Response::from_parts(parts, Body::new(body))
        },
    ))
}
