//! The OAuth 2.1 authorization server facade: one axum router, run on Lambda by `main.rs` and
//! inside `serverless-mcp serve`.

mod cimd;
mod cookie_key;
mod endpoints;
mod error;
mod extract;
mod flows;
mod state;
#[cfg(test)]
mod test_support;
pub mod upstream;

use axum::Router;
use axum::http::Method;

pub use cimd::{DocumentFetcher, HostLookup, SystemLookup, is_public, test_ca_certificates};
pub use error::OAuthError;
pub use state::{AppState, StartError, signer};

/// Every route of [`app`]: its path (axum syntax) and the methods it answers; a `GET` route
/// answers `HEAD` too, every other method is 405 with `Allow`. Kept beside `app` because axum
/// cannot list a router's routes: the tests below check it against the router, and
/// `serverless-mcp/tests/openapi.rs` checks it against `openapi/openapi.yaml`.
pub const ROUTES: &[(&str, &[Method])] = &[
    ("/.well-known/oauth-authorization-server", &[Method::GET]),
    (
        "/.well-known/oauth-authorization-server/{*path}",
        &[Method::GET],
    ),
    ("/.well-known/openid-configuration", &[Method::GET]),
    ("/.well-known/openid-configuration/{*path}", &[Method::GET]),
    ("/jwks.json", &[Method::GET]),
    ("/register", &[Method::POST]),
    (
        "/register/{client_id}",
        &[Method::GET, Method::PUT, Method::DELETE],
    ),
    ("/authorize", &[Method::GET]),
    ("/consent", &[Method::POST]),
    ("/login", &[Method::GET, Method::POST]),
    ("/callback", &[Method::GET]),
    ("/token", &[Method::POST]),
    ("/revoke", &[Method::POST]),
    ("/introspect", &[Method::POST]),
];

/// The whole authorization server.
pub fn app(state: AppState) -> Router {
    Router::new()
        .merge(endpoints::metadata::router())
        .merge(endpoints::jwks::router())
        .merge(endpoints::register::router())
        .merge(endpoints::authorize::router())
        .merge(endpoints::consent::router())
        .merge(endpoints::login::router())
        .merge(endpoints::callback::router())
        .merge(endpoints::token::router())
        .merge(endpoints::revoke::router())
        .merge(endpoints::introspect::router())
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode, header};
    use tower::ServiceExt as _;

    use super::*;
    use crate::test_support::test_app;

    /// A concrete request path for a route path (parameters and wildcards filled in).
    fn concrete(path: &str) -> String {
        path.split('/')
            .map(|segment| {
                if segment.starts_with('{') {
                    "x"
                } else {
                    segment
                }
            })
            .collect::<Vec<_>>()
            .join("/")
    }

    async fn status_and_allow(method: Method, path: &str) -> (StatusCode, Option<String>) {
        let app = test_app();
        let request = Request::builder()
            .method(method)
            .uri(path)
            .body(Body::empty())
            .unwrap();
        let response = crate::app(app.state.clone())
            .oneshot(request)
            .await
            .unwrap();
        let allow = response
            .headers()
            .get(header::ALLOW)
            .map(|v| v.to_str().unwrap().to_owned());
        (response.status(), allow)
    }

    /// Every entry is routed with exactly its methods: a method it does not list is 405 (not
    /// the 404 of an unknown path) and `Allow` names exactly the listed ones.
    #[tokio::test]
    async fn the_route_table_is_what_the_router_serves() {
        for (path, methods) in ROUTES {
            let (status, allow) = status_and_allow(Method::PATCH, &concrete(path)).await;
            assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{path}");
            let mut allowed: Vec<String> = allow
                .unwrap_or_default()
                .split(',')
                .map(|m| m.trim().to_owned())
                .filter(|m| !m.is_empty() && m != "HEAD")
                .collect();
            allowed.sort();
            let mut listed: Vec<String> = methods.iter().map(ToString::to_string).collect();
            listed.sort();
            assert_eq!(allowed, listed, "{path}");
        }
        let (status, _) = status_and_allow(Method::GET, "/no-such-route").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    /// Each endpoint module's `.route("…")` paths are in the table, so a route added or renamed
    /// in a module without the table (and the OpenAPI document) fails here.
    #[test]
    fn every_routed_path_is_in_the_table() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/endpoints");
        let mut found = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let source = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            let compact: String = source.split_whitespace().collect();
            for call in compact.split(".route(\"").skip(1) {
                found.push(call.split('"').next().unwrap().to_owned());
            }
        }
        assert!(!found.is_empty());
        for path in &found {
            assert!(
                ROUTES.iter().any(|(p, _)| p == path),
                "{path} is routed but not in authz::ROUTES"
            );
        }
        for (path, _) in ROUTES {
            assert!(
                found.iter().any(|p| p == path),
                "{path} is in ROUTES but not routed"
            );
        }
    }
}
