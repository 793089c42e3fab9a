//! `GET /authorize` (RFC 6749 §4.1.1): validate, then either the consent page or, when this
//! browser already approved the client, straight to the upstream login.

use askama::Template;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use tracing::instrument;

use super::page::{self, CSRF_COOKIE_SECS, Cookie, Cookies};
use crate::AppState;
use crate::error::OAuthError;
use crate::flows::approvals::Approvals;
use crate::flows::authorize::{self, AuthorizationParams, AuthorizeError, error_redirect};
use crate::flows::caller::Caller;
use crate::flows::consent::{self, ConsentView};

pub fn router() -> Router<AppState> {
    Router::new().route("/authorize", get(handle))
}

#[derive(Template)]
#[template(path = "consent.html")]
struct ConsentPage<'a> {
    view: &'a ConsentView,
    action: &'a str,
}

#[instrument(skip_all)]
async fn handle(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    query: Result<Query<AuthorizationParams>, QueryRejection>,
) -> Response {
    let Ok(Query(params)) = query else {
        return page::error_page(&OAuthError::invalid_request(
            "the request has a malformed or repeated parameter",
        ));
    };
    if let Err(error) = authorize::limit_pending(&state, caller.ip).await {
        return answer_error(&state, error);
    }
    match run(&state, &headers, params).await {
        Ok(response) => response,
        Err(error) => answer_error(&state, error),
    }
}

/// Renders or redirects an authorization error.
pub fn answer_error(state: &AppState, error: AuthorizeError) -> Response {
    match error {
        AuthorizeError::Render(error) => page::error_page(&error),
        AuthorizeError::Redirect {
            redirect_uri,
            state: client_state,
            error,
        } => page::redirect(
            StatusCode::FOUND,
            &error_redirect(
                &redirect_uri,
                &state.config.issuer,
                &error,
                client_state.as_deref(),
            ),
        ),
    }
}

async fn run(
    state: &AppState,
    headers: &HeaderMap,
    params: AuthorizationParams,
) -> Result<Response, AuthorizeError> {
    let request = authorize::validate(state, params).await?;
    let cookies = Cookies::for_config(&state.config);
    let approvals = Approvals::decode(
        &state.cookie_key,
        cookies.read(headers, Cookie::Consent).as_deref(),
        state.now(),
    );
    let approved = approvals.covers(&request.client, &request.scope);
    // Either way the request is bound to this browser's nonce: by the consent form's CSRF
    // token, or (approved already) by the pending request itself.
    let (nonce, fresh) = cookies.browser_nonce(headers);
    let pending = authorize::begin(state, &request, approved.then_some(nonce.as_str())).await?;
    if approved {
        let login = authorize::upstream_login(state, &pending).await?;
        // Set (or renewed, so it outlives the login) with the request bound to it.
        let mut response = page::redirect(StatusCode::FOUND, &login);
        cookies.set(&mut response, Cookie::Csrf, &nonce, CSRF_COOKIE_SECS);
        return Ok(response);
    }
    let view = consent::view(state, &request.client, &pending, &nonce);
    let action = state.config.issuer_url("/consent");
    let mut response = page::html(
        StatusCode::OK,
        &ConsentPage {
            view: &view,
            action: &action,
        },
    );
    if fresh {
        cookies.set(&mut response, Cookie::Csrf, &nonce, CSRF_COOKIE_SECS);
    }
    Ok(response)
}
