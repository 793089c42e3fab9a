//! `POST /revoke` (RFC 7009 §2): client authentication, then the token is revoked if it is
//! this client's; the answer is 200 either way.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use tower_http::cors::CorsLayer;
use tracing::instrument;

use crate::AppState;
use crate::error::no_store;
use crate::extract::client_auth::ClientAuthenticated;
use crate::flows::caller::Caller;
use crate::flows::revocation::{self, RevocationParams};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/revoke", post(handle))
        .layer(CorsLayer::permissive().allow_credentials(false))
}

#[instrument(skip_all)]
async fn handle(
    State(state): State<AppState>,
    caller: Caller,
    ClientAuthenticated {
        credentials,
        request,
    }: ClientAuthenticated<RevocationParams>,
) -> Response {
    match revocation::handle(&state, &credentials, request, &caller).await {
        Ok(()) => {
            let mut response = StatusCode::OK.into_response();
            no_store(response.headers_mut());
            response
        }
        Err(error) => error.into_response(),
    }
}
