//! The embedded login page (`GET`/`POST /login`), served only when the embedded login is the
//! identity provider.

use askama::Template;
use axum::Router;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse as _, Response};
use axum::routing::get;
use serde::Deserialize;
use shared::secret::Secret;
use tracing::instrument;

use super::page::{self, Cookies};
use crate::AppState;
use crate::error::OAuthError;
use crate::flows::caller::Caller;
use crate::flows::login::{self, LoginOutcome, LoginView};

pub fn router() -> Router<AppState> {
    Router::new().route("/login", get(show).post(submit))
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    view: &'a LoginView,
    action: &'a str,
}

#[derive(Debug, Default, Deserialize)]
pub struct LoginQuery {
    request: Option<String>,
}

#[derive(Default, Deserialize)]
pub struct LoginForm {
    request: Option<String>,
    csrf: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

fn render(state: &AppState, view: &LoginView, status: StatusCode) -> Response {
    let action = state.config.issuer_url("/login");
    page::html(
        status,
        &LoginPage {
            view,
            action: &action,
        },
    )
}

#[instrument(skip_all)]
async fn show(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    query: Result<Query<LoginQuery>, QueryRejection>,
) -> Response {
    if state.local_login.is_none() {
        return StatusCode::NOT_FOUND.into_response();
    }
    let Some(request) = query.ok().and_then(|Query(q)| q.request) else {
        return page::error_page(&OAuthError::invalid_request("the login link is malformed"));
    };
    // Only the browser that approved the request has the nonce cookie it is bound to; no new
    // nonce is handed out here.
    let cookies = Cookies::for_config(&state.config);
    let nonce = cookies.browser_nonce_sent(&headers);
    let pending = match login::pending_for_login(&state, &request, nonce.as_deref(), &caller).await
    {
        Ok(pending) => pending,
        Err(error) => return page::error_page(&error),
    };
    let nonce = nonce.unwrap_or_default();
    let view = login::view(&state, &pending, &nonce).await;
    render(&state, &view, StatusCode::OK)
}

#[instrument(skip_all)]
async fn submit(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    if state.local_login.is_none() {
        return StatusCode::NOT_FOUND.into_response();
    }
    let Ok(Form(form)) = form else {
        return page::error_page(&OAuthError::invalid_request("the login form is malformed"));
    };
    let (Some(request), Some(csrf), Some(username), Some(password)) =
        (form.request, form.csrf, form.username, form.password)
    else {
        return page::error_page(&OAuthError::invalid_request("the login form is incomplete"));
    };
    let password = Secret::new(password);
    let cookies = Cookies::for_config(&state.config);
    let nonce = cookies.browser_nonce_sent(&headers).unwrap_or_default();
    let outcome = login::submit(
        &state, &request, &csrf, &username, &password, &nonce, &caller,
    )
    .await;
    match outcome {
        Ok(LoginOutcome::Redirect(location)) => page::redirect(StatusCode::SEE_OTHER, &location),
        Ok(LoginOutcome::Retry(view)) => render(&state, &view, StatusCode::UNAUTHORIZED),
        Ok(LoginOutcome::Page(error)) | Err(error) => page::error_page(&error),
    }
}
