//! What every HTML answer and browser redirect of the authorization flow shares: security
//! headers (CSP `frame-ancestors 'none'`, `X-Frame-Options: DENY`, `Referrer-Policy:
//! no-referrer`, `Cache-Control: no-store`), the error page, and the browser cookies (the
//! `__Host-` prefix with `Secure`, or host-only without both on an http loopback issuer).

use askama::Template;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use shared::config::Config;
use shared::secret::random_id;

use crate::AppState;
use crate::error::OAuthError;
use crate::flows::authorize::{AuthorizeError, error_redirect};

const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; \
                   frame-ancestors 'none'; base-uri 'none'";

fn secure_headers(headers: &mut HeaderMap) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
}

/// An authorization error (RFC 6749 §4.1.2.1): a page while the client or its redirect URI is
/// not trusted, else a redirect back to the client with `error`, `state` and `iss`.
pub fn authorize_error(state: &AppState, error: AuthorizeError) -> Response {
    match error {
        AuthorizeError::Render(error) => error_page(&error),
        AuthorizeError::Redirect {
            redirect_uri,
            state: client_state,
            error,
        } => redirect(
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

/// An HTML page with the security headers.
pub fn html(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(body) => {
            let mut response = (
                status,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                body,
            )
                .into_response();
            secure_headers(response.headers_mut());
            response
        }
        Err(error) => {
            tracing::error!(%error, "template rendering failed");
            let mut response = StatusCode::INTERNAL_SERVER_ERROR.into_response();
            secure_headers(response.headers_mut());
            response
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    code: &'a str,
    description: &'a str,
}

/// The error page: never a redirect (the redirect URI is not trusted, or there is none).
pub fn error_page(error: &OAuthError) -> Response {
    let description = error.description();
    let status = match error {
        OAuthError::InvalidClient { .. } => StatusCode::BAD_REQUEST,
        other => other.status(),
    };
    let mut response = html(
        status,
        &ErrorPage {
            code: error.code(),
            description: &description,
        },
    );
    if let OAuthError::RateLimited { retry_after_secs } = error {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
    }
    response
}

/// A browser redirect: 302 after a GET, 303 after a form POST.
pub fn redirect(status: StatusCode, location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => {
            let mut response = status.into_response();
            response.headers_mut().insert(header::LOCATION, value);
            secure_headers(response.headers_mut());
            response
        }
        Err(_) => error_page(&OAuthError::ServerError),
    }
}

/// The browser cookies this server sets.
pub struct Cookies {
    secure: bool,
}

/// Cookie purposes.
#[derive(Debug, Clone, Copy)]
pub enum Cookie {
    /// The signed list of clients approved in this browser.
    Consent,
    /// The random per-browser nonce that CSRF tokens and approved authorizations are bound to.
    Csrf,
}

impl Cookies {
    /// `__Host-` cookies with `Secure`, except on an http (loopback) issuer.
    pub fn for_config(config: &Config) -> Self {
        Self {
            secure: !config.issuer.starts_with("http://"),
        }
    }

    pub fn name(&self, cookie: Cookie) -> &'static str {
        match (cookie, self.secure) {
            (Cookie::Consent, true) => "__Host-smcp_consent",
            (Cookie::Consent, false) => "smcp_consent",
            (Cookie::Csrf, true) => "__Host-smcp_csrf",
            (Cookie::Csrf, false) => "smcp_csrf",
        }
    }

    /// The value of a cookie the browser sent.
    pub fn read(&self, headers: &HeaderMap, cookie: Cookie) -> Option<String> {
        let name = self.name(cookie);
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_owned())
            .filter(|v| !v.is_empty() && v.len() <= 4096)
    }

    /// Adds a `Set-Cookie` to the response.
    pub fn set(&self, response: &mut Response, cookie: Cookie, value: &str, max_age: i64) {
        let secure = if self.secure { "; Secure" } else { "" };
        let line = format!(
            "{}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}",
            self.name(cookie)
        );
        if let Ok(value) = HeaderValue::from_str(&line) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }

    /// The browser's nonce, and whether it is new (must be set on the response).
    pub fn browser_nonce(&self, headers: &HeaderMap) -> (String, bool) {
        match self.browser_nonce_sent(headers) {
            Some(existing) => (existing, false),
            None => (random_id(), true),
        }
    }

    /// The nonce cookie the browser sent, if it is well-formed. CSRF tokens and approved
    /// authorizations (`flows::browser`) are bound to it.
    pub fn browser_nonce_sent(&self, headers: &HeaderMap) -> Option<String> {
        self.read(headers, Cookie::Csrf).filter(|v| {
            v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
    }
}

/// Lifetime of the CSRF cookie.
pub const CSRF_COOKIE_SECS: i64 = 86_400;
