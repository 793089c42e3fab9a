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
use crate::error::{OAuthError, no_store};
use crate::extract::client_auth::BasicCredentials;
use crate::extract::form::OAuthForm;
use crate::flows::caller::Caller;
use crate::flows::client_auth::{self, ClientCredentials};
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
    basic: BasicCredentials,
    OAuthForm(params): OAuthForm<RevocationParams>,
) -> Response {
    match run(&state, &caller, basic, params).await {
        Ok(()) => {
            let mut response = StatusCode::OK.into_response();
            no_store(response.headers_mut());
            response
        }
        Err(error) => error.into_response(),
    }
}

async fn run(
    state: &AppState,
    caller: &Caller,
    basic: BasicCredentials,
    params: RevocationParams,
) -> Result<(), OAuthError> {
    let _hint = params.token_type_hint;
    let credentials =
        ClientCredentials::from_request(basic.0, params.client_id, params.client_secret)?;
    let client = client_auth::authenticate(state, &credentials).await?;
    revocation::revoke(state, &client, params.token, caller).await
}
