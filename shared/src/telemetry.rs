//! Structured logs with `tracing`: JSON on Lambda, human-readable locally, and a request span
//! (method, matched route, request id) around every request. Spans never record the full URI,
//! because query strings carry codes and state. On Lambda, the counters of [`crate::metrics`]
//! are written as EMF lines at the end of every request.

use std::io::{IsTerminal as _, Write as _};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::MatchedPath;
use axum::extract::State;
use axum::response::Response;
use futures::future::BoxFuture;
use http::{HeaderMap, HeaderName, HeaderValue, Request};
use http_body_util::BodyExt as _;
use tower::Service;
use tracing::Instrument as _;
use tracing::instrument::Instrumented;
use tracing_subscriber::filter::{EnvFilter, Targets};
use tracing_subscriber::layer::{Layer, SubscriberExt as _};
use tracing_subscriber::registry::Registry;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::config::LogFormat;

#[cfg(any(test, feature = "test-support"))]
mod capture;
mod lines;

#[cfg(any(test, feature = "test-support"))]
pub use capture::Capture;

/// The header carrying the request id ([`RequestId`]).
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Installs the global subscriber with `filter` directives (validated by the configuration).
///
/// A filter of plain `target=level` directives (the default `info,rmcp=warn` among them) is a
/// static [`Targets`] filter: it decides per call site once, and costs nothing when a span is
/// entered or left. A filter that names spans or fields (`[request]=debug`) needs an
/// [`EnvFilter`], which keeps per-span state behind a lock on every enter and exit.
pub fn init(format: LogFormat, filter: &str) {
    match plain_targets(filter) {
        Some(targets) => install(format, targets),
        None => install(
            format,
            EnvFilter::try_new(filter)
                .unwrap_or_else(|_| EnvFilter::new(crate::config::DEFAULT_LOG_FILTER)),
        ),
    }
}

/// `filter` as a static filter, when it holds only `target=level` directives.
fn plain_targets(filter: &str) -> Option<Targets> {
    if filter.contains(['[', '{']) {
        return None;
    }
    filter.parse().ok()
}

fn install<F>(format: LogFormat, filter: F)
where
    F: Layer<Registry> + Send + Sync + 'static,
{
    let registry = tracing_subscriber::registry().with(filter);
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(lines::Lines::stderr());
    // A second initialisation (tests) keeps the first subscriber.
    let _ = match format {
        LogFormat::Json => registry
            .with(
                fmt.json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false),
            )
            .try_init(),
        LogFormat::Pretty => registry.with(fmt.compact()).try_init(),
    };
}

/// Adds request ids, the request span and the access line to a router's routes ([`Access`]).
pub fn observe(router: Router) -> Router {
    router.layer(AccessLayer)
}

/// The id of one request (a request extension, and `x-request-id` on its response): the
/// `x-request-id` the platform or caller sent when it is a plain token (at most 128 letters,
/// digits, `-`, `_`, `.`, `:` or `=`), else a new random UUID. Kept out of the request's headers, so
/// adding it does not grow the parsed header map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(HeaderValue);

impl RequestId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII ids are ever made (`of` and `fresh`).
        self.0.to_str().unwrap_or("-")
    }

    /// The id `headers` carry, if it is a plain token.
    fn of(headers: &HeaderMap) -> Option<Self> {
        let value = headers.get(&REQUEST_ID)?;
        let bytes = value.as_bytes();
        let plain = !bytes.is_empty()
            && bytes.len() <= 128
            && bytes.iter().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'=')
            });
        plain.then(|| Self(value.clone()))
    }

    /// A new random (version 4) UUID, from the thread's generator: no system call per request.
    fn fresh() -> Self {
        let uuid = uuid::Builder::from_random_bytes(rand::random()).into_uuid();
        let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
        let text = uuid.hyphenated().encode_lower(&mut text);
        Self(HeaderValue::from_str(text).unwrap_or(HeaderValue::from_static("-")))
    }
}

/// The per-request layer of [`observe`], one layer for three things:
/// - the [`RequestId`], into the request's extensions and onto the response;
/// - the `request` span (method, matched route, request id), entered whenever the request's
///   future runs, so every event of its handler carries the id;
/// - `started processing request` at debug level when the request arrives (off by default;
///   the callsite's interest is cached, so it costs one load when disabled);
/// - the access line, `finished processing request` with the status and the latency in
///   microseconds, at info level once the response head is ready (a streamed body goes on
///   after it).
///
/// The span never records the URI: query strings carry codes and state.
#[derive(Debug, Clone, Copy)]
struct AccessLayer;

impl<S> tower::Layer<S> for AccessLayer {
    type Service = Access<S>;

    fn layer(&self, inner: S) -> Access<S> {
        Access(inner)
    }
}

#[derive(Debug, Clone)]
struct Access<S>(S);

impl<S, B> Service<Request<B>> for Access<S>
where
    S: Service<Request<B>, Response = Response>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Instrumented<BoxFuture<'static, Result<Response, S::Error>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let id = RequestId::of(request.headers()).unwrap_or_else(RequestId::fresh);
        let route = request
            .extensions()
            .get::<MatchedPath>()
            .map_or("unmatched", MatchedPath::as_str);
        let span = tracing::info_span!(
            "request",
            method = %request.method(),
            route,
            request_id = id.as_str(),
        );
        let header = id.0.clone();
        request.extensions_mut().insert(id);
        let started = Instant::now();
        let answer = span.in_scope(|| {
            tracing::debug!("started processing request");
            self.0.call(request)
        });
        let answer: BoxFuture<'static, _> = Box::pin(async move {
            let mut response = answer.await?;
            tracing::info!(
                status = response.status().as_u16(),
                latency_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
                "finished processing request"
            );
            response.headers_mut().insert(REQUEST_ID, header);
            Ok(response)
        });
        answer.instrument(span)
    }
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

#[cfg(test)]
mod tests {
    use axum::extract::Extension;
    use axum::routing::get;
    use tower::ServiceExt as _;

    use super::*;

    /// The id the route saw and the one the response carries, for a request with `sent`.
    async fn ids(sent: Option<&str>) -> (String, String) {
        let app = observe(Router::new().route(
            "/",
            get(|Extension(id): Extension<RequestId>| async move { id.as_str().to_owned() }),
        ));
        let mut request = Request::get("/");
        if let Some(sent) = sent {
            request = request.header(REQUEST_ID, sent);
        }
        let response = app
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let echoed = response.headers()[REQUEST_ID].to_str().unwrap().to_owned();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (String::from_utf8(bytes.to_vec()).unwrap(), echoed)
    }

    #[tokio::test]
    async fn every_request_gets_an_id_on_its_response() {
        let (seen, echoed) = ids(None).await;
        assert_eq!(seen, echoed);
        let uuid = uuid::Uuid::parse_str(&seen).unwrap();
        assert_eq!(uuid.get_version_num(), 4);
        assert_ne!(ids(None).await.0, seen, "ids are not reused");

        let sent = "Root=1-67891233-abcdef012345678912345678";
        assert_eq!(ids(Some(sent)).await, (sent.to_owned(), sent.to_owned()));
        for odd in ["two words", "\"quoted\"", &"x".repeat(129)] {
            let (seen, echoed) = ids(Some(odd)).await;
            assert_eq!(seen, echoed);
            assert!(
                uuid::Uuid::parse_str(&seen).is_ok(),
                "{odd:?} replaced by {seen}"
            );
        }
    }

    /// A JSON subscriber up to `level` for the current thread, writing into a [`Capture`].
    fn capture_json(level: tracing::Level) -> (Capture, tracing::subscriber::DefaultGuard) {
        let captured = Capture::default();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(level)
            .with_writer(captured.clone())
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .finish();
        (captured, tracing::subscriber::set_default(subscriber))
    }

    fn json_lines(text: &str) -> Vec<serde_json::Value> {
        text.lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    #[tokio::test(flavor = "current_thread")]
    async fn the_handler_events_carry_the_request_and_the_access_line_follows() {
        let (captured, _guard) = capture_json(tracing::Level::INFO);
        let app = observe(Router::new().route(
            "/things/{id}",
            get(|| async {
                tracing::warn!("inside the handler");
                (http::StatusCode::ACCEPTED, "ok")
            }),
        ));
        let request = Request::get("/things/7?code=secret-code")
            .header(REQUEST_ID, "req-1")
            .body(Body::empty())
            .unwrap();
        let response = app.oneshot(request).await.unwrap();
        assert_eq!(response.headers()[REQUEST_ID], "req-1");

        let text = captured.text();
        assert!(!text.contains("secret-code"), "the URI was logged: {text}");
        let lines = json_lines(&text);
        assert_eq!(lines.len(), 2, "{text}");
        let span = serde_json::json!({
            "name": "request", "method": "GET", "route": "/things/{id}", "request_id": "req-1",
        });
        assert_eq!(lines[0]["message"], "inside the handler");
        assert_eq!(lines[0]["span"], span);
        assert_eq!(lines[1]["message"], "finished processing request");
        assert_eq!(lines[1]["level"], "INFO");
        assert_eq!(lines[1]["status"], 202);
        assert!(lines[1]["latency_us"].is_u64(), "{}", lines[1]);
        assert_eq!(lines[1]["span"], span);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn at_debug_the_start_of_a_request_is_logged_too() {
        let (captured, _guard) = capture_json(tracing::Level::DEBUG);
        let app = observe(Router::new().route("/", get(|| async { "ok" })));
        let request = Request::get("/").body(Body::empty()).unwrap();
        app.oneshot(request).await.unwrap();

        let text = captured.text();
        let lines = json_lines(&text);
        assert_eq!(lines.len(), 2, "{text}");
        assert_eq!(lines[0]["message"], "started processing request");
        assert_eq!(lines[0]["level"], "DEBUG");
        assert_eq!(lines[0]["span"]["route"], "/");
        assert_eq!(lines[1]["message"], "finished processing request");
        assert_eq!(
            lines[0]["span"]["request_id"],
            lines[1]["span"]["request_id"]
        );
    }

    #[test]
    fn plain_filters_are_static_and_span_filters_are_not() {
        assert!(plain_targets("info,rmcp=warn").is_some());
        assert!(plain_targets("warn").is_some());
        assert!(plain_targets("[request]=debug").is_none());
        assert!(plain_targets("info,[request{route=/mcp}]=trace").is_none());
        let targets = plain_targets("info,rmcp=warn").unwrap();
        assert!(targets.would_enable("shared::telemetry", &tracing::Level::INFO));
        assert!(!targets.would_enable("rmcp::service", &tracing::Level::INFO));
        assert!(targets.would_enable("rmcp::service", &tracing::Level::WARN));
        assert!(!targets.would_enable("authz", &tracing::Level::DEBUG));
    }
}
