//! `GET /callback`: where the upstream login returns (the embedded login page too).

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use tracing::instrument;

use super::page::{self, Cookies};
use crate::AppState;
use crate::error::OAuthError;
use crate::flows::callback::{self, CallbackOutcome, CallbackParams};
use crate::flows::caller::Caller;

pub fn router() -> Router<AppState> {
    Router::new().route("/callback", get(handle))
}

#[instrument(skip_all)]
async fn handle(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    query: Result<Query<CallbackParams>, QueryRejection>,
) -> Response {
    let Ok(Query(params)) = query else {
        return page::error_page(&OAuthError::invalid_request(
            "the login response is malformed",
        ));
    };
    let nonce = Cookies::for_config(&state.config).browser_nonce_sent(&headers);
    match callback::complete(&state, params, nonce.as_deref(), &caller).await {
        Ok(CallbackOutcome::Redirect(location)) => page::redirect(StatusCode::FOUND, &location),
        Ok(CallbackOutcome::Page(error)) | Err(error) => page::error_page(&error),
    }
}
