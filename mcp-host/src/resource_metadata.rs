//! OAuth 2.0 Protected Resource Metadata (RFC 9728 §3), at the well-known root and with the
//! resource's path appended; `scopes_supported` is the server's declared [`ScopePolicy`].

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use shared::config::Config;
use tower_http::cors::CorsLayer;

use crate::scopes::ScopePolicy;

#[derive(Debug, Serialize)]
struct ProtectedResourceMetadata<'a> {
    resource: &'a str,
    authorization_servers: [&'a str; 1],
    scopes_supported: &'a [String],
    bearer_methods_supported: [&'static str; 1],
    resource_name: &'a str,
}

const ROOT: &str = "/.well-known/oauth-protected-resource";

/// The document's paths: the root one, and the path-suffixed one derived from the resource URL.
pub(crate) fn paths(config: &Config) -> Vec<String> {
    let suffixed = url::Url::parse(&config.protected_resource_metadata_url())
        .map(|u| u.path().to_owned())
        .unwrap_or_default();
    let mut paths = vec![ROOT.to_owned()];
    if suffixed != ROOT && !suffixed.is_empty() {
        paths.push(suffixed);
    }
    paths
}

/// Routes for every path of [`paths`], answering the one document (serialized once, here).
pub(crate) fn router(config: &Config, scopes: &ScopePolicy, resource_name: &str) -> Router {
    let document = ProtectedResourceMetadata {
        resource: &config.resource,
        authorization_servers: [&config.issuer],
        scopes_supported: scopes.supported(),
        bearer_methods_supported: ["header"],
        resource_name,
    };
    // Strings and a list of strings: serializing cannot fail.
    let body = bytes_of(&document);
    paths(config)
        .iter()
        .fold(Router::new(), |router, path| {
            let body = body.clone();
            router.route(path, get(move || async move { metadata(body) }))
        })
        .layer(CorsLayer::permissive().allow_credentials(false))
}

fn bytes_of(document: &ProtectedResourceMetadata<'_>) -> axum::body::Bytes {
    serde_json::to_vec(document).unwrap_or_default().into()
}

fn metadata(body: axum::body::Bytes) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=300"),
            ),
        ],
        body,
    )
        .into_response()
}
