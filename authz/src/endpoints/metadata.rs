//! Authorization server metadata (RFC 8414 §3), also served as OpenID discovery because MCP
//! clients probe both.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use shared::config::{Config, Documents, Registration};
use shared::oauth::client_values::{AuthMethod, GrantType};
use tower_http::cors::CorsLayer;

use crate::AppState;

/// The RFC 8414 document.
#[derive(Debug, Serialize)]
pub struct AuthorizationServerMetadata {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    /// Absent when registration is closed (`SMCP_REGISTRATION=closed`).
    #[serde(skip_serializing_if = "Option::is_none")]
    registration_endpoint: Option<String>,
    revocation_endpoint: String,
    jwks_uri: String,
    /// The configured scopes (`SMCP_SCOPES`), the baseline first.
    scopes_supported: Vec<String>,
    response_types_supported: [&'static str; 1],
    response_modes_supported: [&'static str; 1],
    grant_types_supported: [&'static str; 2],
    code_challenge_methods_supported: [&'static str; 1],
    token_endpoint_auth_methods_supported: [&'static str; 3],
    revocation_endpoint_auth_methods_supported: [&'static str; 3],
    /// RFC 7662: open only to resource servers added by an operator, with a secret.
    introspection_endpoint: String,
    introspection_endpoint_auth_methods_supported: [&'static str; 2],
    client_id_metadata_document_supported: bool,
    authorization_response_iss_parameter_supported: bool,
}

impl AuthorizationServerMetadata {
    pub fn new(config: &Config) -> Self {
        Self {
            issuer: config.issuer.clone(),
            authorization_endpoint: config.issuer_url("/authorize"),
            token_endpoint: config.issuer_url("/token"),
            registration_endpoint: match config.registration {
                Registration::Open { .. } => Some(config.issuer_url("/register")),
                Registration::Closed => None,
            },
            revocation_endpoint: config.issuer_url("/revoke"),
            jwks_uri: config.issuer_url("/jwks.json"),
            scopes_supported: config.scopes.values().to_vec(),
            response_types_supported: ["code"],
            response_modes_supported: ["query"],
            grant_types_supported: GrantType::ALL.map(GrantType::as_str),
            code_challenge_methods_supported: ["S256"],
            token_endpoint_auth_methods_supported: AuthMethod::ALL.map(AuthMethod::as_str),
            revocation_endpoint_auth_methods_supported: AuthMethod::ALL.map(AuthMethod::as_str),
            introspection_endpoint: config.issuer_url("/introspect"),
            introspection_endpoint_auth_methods_supported: [
                AuthMethod::ClientSecretBasic.as_str(),
                AuthMethod::ClientSecretPost.as_str(),
            ],
            client_id_metadata_document_supported: config.documents != Documents::Refused,
            authorization_response_iss_parameter_supported: true,
        }
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/.well-known/oauth-authorization-server", get(metadata))
        .route(
            "/.well-known/oauth-authorization-server/{*path}",
            get(metadata_for_path),
        )
        .route("/.well-known/openid-configuration", get(metadata))
        .route(
            "/.well-known/openid-configuration/{*path}",
            get(metadata_for_path),
        )
        .layer(CorsLayer::permissive().allow_credentials(false))
}

async fn metadata(State(state): State<AppState>) -> Response {
    document(&state.config)
}

/// RFC 8414 §3.1: an issuer with a path component has its metadata at the well-known prefix
/// followed by that path; any other suffix is not ours.
async fn metadata_for_path(State(state): State<AppState>, Path(path): Path<String>) -> Response {
    let issuer_path = url::Url::parse(&state.config.issuer)
        .map(|u| u.path().trim_end_matches('/').to_owned())
        .unwrap_or_default();
    if !issuer_path.is_empty() && issuer_path.trim_start_matches('/') == path {
        document(&state.config)
    } else {
        StatusCode::NOT_FOUND.into_response()
    }
}

fn document(config: &Config) -> Response {
    let mut response = Json(AuthorizationServerMetadata::new(config)).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}
