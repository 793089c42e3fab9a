//! `POST /introspect` (RFC 7662 §2): a resource server's authentication, then the token's
//! state as JSON with `Cache-Control: no-store`. Server to server only: no CORS.

use axum::extract::{DefaultBodyLimit, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use tracing::instrument;

use crate::AppState;
use crate::error::no_store;
use crate::extract::client_auth::ClientAuthenticated;
use crate::flows::caller::Caller;
use crate::flows::introspection::{self, IntrospectionParams};

/// The largest request body read: a token and the client fields fit many times over.
pub const MAX_BODY: usize = 16 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/introspect", post(handle))
        .layer(DefaultBodyLimit::max(MAX_BODY))
}

#[instrument(skip_all)]
async fn handle(
    State(state): State<AppState>,
    caller: Caller,
    ClientAuthenticated {
        credentials,
        request,
    }: ClientAuthenticated<IntrospectionParams>,
) -> Response {
    match introspection::handle(&state, &credentials, request, &caller).await {
        Ok(answer) => {
            let mut response = Json(answer).into_response();
            no_store(response.headers_mut());
            response
        }
        Err(error) => error.into_response(),
    }
}
