//! The CloudFront edge in front of the Function URLs (docs/architecture.md, "Deployment"): when an
//! origin secret is configured, only requests carrying it (added by the distribution) are served,
//! so calling a Function URL directly cannot bypass the edge; and only such requests may say,
//! through headers the edge sets, which public host was asked for and who the caller is.

use std::net::IpAddr;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::future::{Either, Ready, ready};
use tower::{Layer, Service};

use crate::secret::{Secret, constant_time_eq};

/// The header the distribution adds with the shared secret.
pub const ORIGIN_SECRET: HeaderName = HeaderName::from_static("x-smcp-origin-secret");
/// The viewer's public host, set by the edge function.
pub const FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
/// The viewer's address, set by the edge function.
pub const CLIENT_IP: HeaderName = HeaderName::from_static("x-smcp-client-ip");

/// The caller's address as the trusted edge reported it (a request extension).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EdgeClientIp(pub IpAddr);

/// Guards `router` with the origin secret when one is configured; without one, the edge
/// headers are stripped so nobody can claim a host or an address. The check is synchronous, so
/// the layer wraps each route without cloning it or boxing its future per request.
pub fn guard(router: Router, secret: Option<Secret>) -> Router {
    router.layer(EdgeLayer(Arc::new(secret)))
}

#[derive(Clone)]
struct EdgeLayer(Arc<Option<Secret>>);

impl<S> Layer<S> for EdgeLayer {
    type Service = Edge<S>;

    fn layer(&self, inner: S) -> Edge<S> {
        Edge {
            inner,
            secret: self.0.clone(),
        }
    }
}

#[derive(Clone)]
struct Edge<S> {
    inner: S,
    secret: Arc<Option<Secret>>,
}

impl<S> Service<Request> for Edge<S>
where
    S: Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Either<Ready<Result<Response, S::Error>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        if admit(self.secret.as_ref().as_ref(), &mut request) {
            Either::Right(self.inner.call(request))
        } else {
            Either::Left(ready(Ok(forbidden())))
        }
    }
}

/// Whether the request may pass: not without the secret, when one is configured. Strips the
/// edge's headers, and applies them when the request came through the edge.
fn admit(secret: Option<&Secret>, request: &mut Request) -> bool {
    let trusted = match secret {
        None => false,
        Some(secret) => {
            let presented = request.headers().get(&ORIGIN_SECRET);
            if !presented
                .is_some_and(|v| constant_time_eq(v.as_bytes(), secret.expose().as_bytes()))
            {
                tracing::warn!("request without the edge's origin secret refused");
                return false;
            }
            true
        }
    };
    let headers = request.headers_mut();
    headers.remove(&ORIGIN_SECRET);
    let host = headers.remove(&FORWARDED_HOST);
    let client_ip = headers.remove(&CLIENT_IP);
    if trusted {
        if let Some(host) = host.filter(valid_host) {
            headers.insert(header::HOST, host);
        }
        if let Some(ip) = client_ip
            .and_then(|v| v.to_str().ok().map(str::to_owned))
            .and_then(|v| v.trim().parse::<IpAddr>().ok())
        {
            request.extensions_mut().insert(EdgeClientIp(ip));
        }
    }
    true
}

fn valid_host(value: &HeaderValue) -> bool {
    value.to_str().is_ok_and(|h| {
        !h.is_empty()
            && h.len() <= 253
            && h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':'))
    })
}

fn forbidden() -> Response {
    let mut response = (
        StatusCode::FORBIDDEN,
        axum::Json(serde_json::json!({
            "error": "forbidden",
            "error_description": "this endpoint is served through its public URL only",
        })),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt as _;

    use super::*;

    fn app(secret: Option<&str>) -> Router {
        let echo = Router::new().route(
            "/",
            get(|request: Request| async move {
                let host = request
                    .headers()
                    .get(header::HOST)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-")
                    .to_owned();
                let ip = request
                    .extensions()
                    .get::<EdgeClientIp>()
                    .map_or("-".to_owned(), |ip| ip.0.to_string());
                let leaked = request.headers().contains_key(&ORIGIN_SECRET);
                format!("{host} {ip} {leaked}")
            }),
        );
        guard(echo, secret.map(Secret::new))
    }

    async fn call(app: Router, headers: &[(&str, &str)]) -> (StatusCode, String) {
        let mut request = Request::get("/").header(header::HOST, "abc.lambda-url.us-east-1.on.aws");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = app
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        (status, String::from_utf8(bytes.to_vec()).unwrap())
    }

    const EDGE: [(&str, &str); 3] = [
        ("x-smcp-origin-secret", "s3cret-value-from-the-edge"),
        ("x-forwarded-host", "mcp.example.com"),
        ("x-smcp-client-ip", "203.0.113.9"),
    ];

    #[tokio::test]
    async fn direct_calls_are_refused_when_a_secret_is_configured() {
        let secret = Some("s3cret-value-from-the-edge");
        assert_eq!(call(app(secret), &[]).await.0, StatusCode::FORBIDDEN);
        let wrong = [("x-smcp-origin-secret", "s3cret-value-from-the-edgX")];
        assert_eq!(call(app(secret), &wrong).await.0, StatusCode::FORBIDDEN);
        let (status, body) = call(app(secret), &EDGE).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, "mcp.example.com 203.0.113.9 false");
    }

    #[tokio::test]
    async fn without_a_secret_edge_headers_are_ignored() {
        let (status, body) = call(app(None), &EDGE).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, "abc.lambda-url.us-east-1.on.aws - false");
    }
}
