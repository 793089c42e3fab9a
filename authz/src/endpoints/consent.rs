//! `POST /consent`: the consent form's target. A bad form (no or wrong CSRF token, another
//! client_id, an unknown request) is a 400 page and records nothing.

use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use serde::Deserialize;
use tracing::instrument;

use super::page::{self, CSRF_COOKIE_SECS, Cookie, Cookies};
use crate::AppState;
use crate::error::OAuthError;
use crate::flows::approvals::APPROVAL_TTL_SECS;
use crate::flows::authorize::{self, error_redirect};
use crate::flows::caller::Caller;
use crate::flows::consent::{self, ConsentOutcome, Decision};

pub fn router() -> Router<AppState> {
    Router::new().route("/consent", post(handle))
}

/// The consent form, as sent.
#[derive(Debug, Default, Deserialize)]
pub struct ConsentForm {
    request: Option<String>,
    client_id: Option<String>,
    csrf: Option<String>,
    decision: Option<String>,
}

#[instrument(skip_all)]
async fn handle(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    form: Result<Form<ConsentForm>, FormRejection>,
) -> Response {
    let bad = |d: &'static str| page::error_page(&OAuthError::invalid_request(d));
    let Ok(Form(form)) = form else {
        return bad("the consent form is malformed");
    };
    let (Some(request), Some(client_id), Some(csrf)) = (form.request, form.client_id, form.csrf)
    else {
        return bad("the consent form is incomplete");
    };
    let decision = match form.decision.as_deref() {
        Some("approve") => Decision::Approve,
        Some("deny") => Decision::Deny,
        _ => return bad("the consent form has no decision"),
    };
    let cookies = Cookies::for_config(&state.config);
    let nonce = cookies.browser_nonce_sent(&headers).unwrap_or_default();
    let approvals = cookies.read(&headers, Cookie::Consent);
    let outcome = consent::decide(
        &state,
        &request,
        &client_id,
        &csrf,
        decision,
        &nonce,
        approvals.as_deref(),
        &caller,
    )
    .await;
    match outcome {
        Err(error) => page::error_page(&error),
        Ok(Err(bad_form)) => bad(bad_form.0),
        Ok(Ok(ConsentOutcome::Denied { pending })) => page::redirect(
            StatusCode::SEE_OTHER,
            &error_redirect(
                &pending.redirect_uri,
                &state.config.issuer,
                &OAuthError::AccessDenied("the user denied access".into()),
                pending.state.as_deref(),
            ),
        ),
        Ok(Ok(ConsentOutcome::Approved { pending, approvals })) => {
            match authorize::upstream_login(&state, &pending).await {
                Ok(login) => {
                    let mut response = page::redirect(StatusCode::SEE_OTHER, &login);
                    // The request is bound to this nonce: renewed so it outlives the login.
                    cookies.set(&mut response, Cookie::Csrf, &nonce, CSRF_COOKIE_SECS);
                    cookies.set(
                        &mut response,
                        Cookie::Consent,
                        &approvals.encode(&state.cookie_key),
                        APPROVAL_TTL_SECS,
                    );
                    response
                }
                Err(error) => page::authorize_error(&state, error),
            }
        }
    }
}
