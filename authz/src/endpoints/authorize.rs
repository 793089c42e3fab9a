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
use crate::flows::authorize::{self, AuthorizationParams, AuthorizeOutcome};
use crate::flows::caller::Caller;
use crate::flows::consent::ConsentView;

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
    let cookies = Cookies::for_config(&state.config);
    let approvals = cookies.read(&headers, Cookie::Consent);
    let (nonce, fresh) = cookies.browser_nonce(&headers);
    let outcome = authorize::start(&state, &caller, params, approvals.as_deref(), &nonce).await;
    match outcome {
        Err(error) => page::authorize_error(&state, error),
        Ok(AuthorizeOutcome::Login { location }) => {
            // Set (or renewed, so it outlives the login) with the request bound to it.
            let mut response = page::redirect(StatusCode::FOUND, &location);
            cookies.set(&mut response, Cookie::Csrf, &nonce, CSRF_COOKIE_SECS);
            response
        }
        Ok(AuthorizeOutcome::Consent { view }) => {
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
            response
        }
    }
}
