//! OAuth 2.0 Protected Resource Metadata (RFC 9728 §3), at the well-known root and with the
//! resource's path appended.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use shared::config::Config;
use shared::oauth::scope;
use tower_http::cors::CorsLayer;

use crate::AppState;

#[derive(Debug, Serialize)]
pub struct ProtectedResourceMetadata {
    resource: String,
    authorization_servers: [String; 1],
    scopes_supported: Vec<&'static str>,
    bearer_methods_supported: [&'static str; 1],
    resource_name: &'static str,
}

impl ProtectedResourceMetadata {
    pub fn new(config: &Config) -> Self {
        Self {
            resource: config.resource.clone(),
            authorization_servers: [config.issuer.clone()],
            scopes_supported: scope::SUPPORTED.to_vec(),
            bearer_methods_supported: ["header"],
            resource_name: "AWS Cost Explorer (MCP)",
        }
    }
}

const ROOT: &str = "/.well-known/oauth-protected-resource";

/// The document's paths: the root one, and the path-suffixed one derived from the resource URL.
pub fn paths(config: &Config) -> Vec<String> {
    let suffixed = url::Url::parse(&config.protected_resource_metadata_url())
        .map(|u| u.path().to_owned())
        .unwrap_or_default();
    let mut paths = vec![ROOT.to_owned()];
    if suffixed != ROOT && !suffixed.is_empty() {
        paths.push(suffixed);
    }
    paths
}

/// Routes for every path of [`paths`].
pub fn router(config: &Config) -> Router<AppState> {
    paths(config)
        .iter()
        .fold(Router::new(), |router, path| {
            router.route(path, get(metadata))
        })
        .layer(CorsLayer::permissive().allow_credentials(false))
}

async fn metadata(State(state): State<AppState>) -> Response {
    let mut response = Json(ProtectedResourceMetadata::new(&state.config)).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}
