//! `POST /token` (RFC 6749 §3.2): client authentication, then one grant; JSON answers with
//! `Cache-Control: no-store`.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use tower_http::cors::CorsLayer;
use tracing::instrument;

use crate::AppState;
use crate::error::no_store;
use crate::extract::client_auth::ClientAuthenticated;
use crate::flows::caller::Caller;
use crate::flows::token_request::{self, TokenParams};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/token", post(handle))
        .layer(CorsLayer::permissive().allow_credentials(false))
}

#[instrument(skip_all)]
async fn handle(
    State(state): State<AppState>,
    caller: Caller,
    ClientAuthenticated {
        credentials,
        request,
    }: ClientAuthenticated<TokenParams>,
) -> Response {
    match token_request::handle(&state, &credentials, request, &caller).await {
        Ok(response) => {
            let mut response = Json(response).into_response();
            no_store(response.headers_mut());
            response
        }
        Err(error) => error.into_response(),
    }
}
