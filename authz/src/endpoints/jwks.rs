//! The JWK Set (RFC 7517 §5) resource servers verify access tokens with: the current key, and
//! the previous one while a rotation is in progress.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tower_http::cors::CorsLayer;

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/jwks.json", get(jwks))
        .layer(CorsLayer::permissive().allow_credentials(false))
}

async fn jwks(State(state): State<AppState>) -> Response {
    let mut response = Json(state.tokens.jwks()).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}
