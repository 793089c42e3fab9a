//! The refusals of the bearer layer (RFC 6750 section 3): `401` and `403` with their
//! `WWW-Authenticate` challenges, and the JSON errors for a missing key set or a too-large body,
//! all `Cache-Control: no-store`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use shared::metrics::{self, Refusal};

use super::Authenticator;

impl Authenticator {
    /// `401` with a `Bearer` challenge naming the resource metadata and the scope every request
    /// needs (and `error="invalid_token"` when a token was sent), counted for the operators
    /// under `why`.
    pub(super) fn unauthorized(
        &self,
        why: Refusal,
        error: Option<&dyn std::fmt::Display>,
    ) -> Response {
        metrics::refused(why);
        let mut challenge = format!(
            "Bearer resource_metadata=\"{}\", scope=\"{}\"",
            self.resource_metadata,
            self.scopes.every_tool()
        );
        let body = match error {
            Some(e) => {
                challenge.push_str(&format!(
                    ", error=\"invalid_token\", error_description=\"{e}\""
                ));
                json!({ "error": "invalid_token", "error_description": e.to_string() })
            }
            None => {
                json!({ "error": "unauthorized", "error_description": "a bearer token is required" })
            }
        };
        challenge_response(StatusCode::UNAUTHORIZED, &challenge, body)
    }

    /// `403 insufficient_scope` naming every scope needed (counted for the operators).
    pub(super) fn insufficient_scope(&self, needed: &[&str]) -> Response {
        metrics::refused(Refusal::InsufficientScope);
        let scopes = needed.join(" ");
        let challenge = format!(
            "Bearer error=\"insufficient_scope\", scope=\"{scopes}\", resource_metadata=\"{}\", \
             error_description=\"this request needs the scopes {scopes}\"",
            self.resource_metadata
        );
        let body = json!({
            "error": "insufficient_scope",
            "error_description": format!("this request needs the scopes {scopes}"),
        });
        challenge_response(StatusCode::FORBIDDEN, &challenge, body)
    }
}

fn challenge_response(status: StatusCode, challenge: &str, body: Value) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(challenge) {
        headers.insert(header::WWW_AUTHENTICATE, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub(super) fn json_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut response = (
        status,
        axum::Json(json!({ "error": error, "error_description": description })),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub(super) fn keys_unavailable() -> Response {
    let mut response = json_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
        "the authorization server's keys cannot be fetched; try again shortly",
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    response
}
