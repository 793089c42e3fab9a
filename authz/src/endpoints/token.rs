//! `POST /token` (RFC 6749 §3.2): client authentication, then one grant; JSON answers with
//! `Cache-Control: no-store`.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use tower_http::cors::CorsLayer;
use tracing::instrument;

use crate::AppState;
use crate::error::{OAuthError, no_store};
use crate::extract::client_auth::BasicCredentials;
use crate::extract::form::OAuthForm;
use crate::flows::caller::Caller;
use crate::flows::client_auth::{self, ClientCredentials};
use crate::flows::token_request::{TokenParams, TokenRequest};
use crate::flows::{authorization_code, refresh_token};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/token", post(handle))
        .layer(CorsLayer::permissive().allow_credentials(false))
}

#[instrument(skip_all)]
async fn handle(
    State(state): State<AppState>,
    caller: Caller,
    basic: BasicCredentials,
    OAuthForm(mut params): OAuthForm<TokenParams>,
) -> Response {
    match run(&state, &caller, basic, &mut params).await {
        Ok(response) => {
            let mut response = Json(response).into_response();
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
    params: &mut TokenParams,
) -> Result<authorization_code::TokenResponse, OAuthError> {
    let credentials = ClientCredentials::from_request(
        basic.0,
        params.client_id.take(),
        params.client_secret.take(),
    )?;
    let client = client_auth::authenticate(state, &credentials).await?;
    match TokenRequest::try_from(std::mem::take(params))? {
        TokenRequest::AuthorizationCode {
            code,
            redirect_uri,
            verifier,
            resource,
        } => {
            authorization_code::exchange(
                state,
                &client,
                &code,
                &redirect_uri,
                &verifier,
                resource.as_deref(),
                caller,
            )
            .await
        }
        TokenRequest::RefreshToken {
            refresh_token,
            scope,
            resource,
        } => {
            refresh_token::refresh(
                state,
                &client,
                &refresh_token,
                scope.as_deref(),
                resource.as_deref(),
                caller,
            )
            .await
        }
    }
}
