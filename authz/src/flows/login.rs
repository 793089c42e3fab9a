//! The embedded login page's form (docs/architecture.md, the login adapters): CSRF-checked against
//! the browser and the consented pending request, rate-limited per source address,
//! Argon2id-verified, then handed to `/callback` with a one-time assertion like an upstream code.

use shared::audit::AuditEvent;
use shared::secret::Secret;
use shared::store::PendingAuthorization;

use crate::AppState;
use crate::error::OAuthError;
use crate::flows::audit;
use crate::flows::browser;
use crate::flows::caller::Caller;
use crate::flows::consent::{csrf_ok, csrf_token};

/// Failed or attempted logins allowed per source address and window.
const LOGIN_LIMIT: u64 = 30;
const LOGIN_WINDOW_SECS: u64 = 300;

/// What the login page needs.
#[derive(Debug, Clone)]
pub struct LoginView {
    pub request_id: String,
    pub csrf_token: String,
    pub client_name: String,
    pub error: Option<&'static str>,
}

/// How a login attempt ends.
#[derive(Debug)]
pub enum LoginOutcome {
    /// Off to `/callback` with the assertion.
    Redirect(String),
    /// Show the form again with a message.
    Retry(LoginView),
    /// The request cannot continue (unknown, not approved, another browser, bad form): an
    /// error page.
    Page(OAuthError),
}

/// The pending request a login page is for: it must exist, be approved, and have been approved
/// in this browser (`browser_nonce` is the nonce cookie the browser sent, if any). Errors are
/// what the page shows.
pub async fn pending_for_login(
    state: &AppState,
    request_id: &str,
    browser_nonce: Option<&str>,
    source: &Caller,
) -> Result<PendingAuthorization, OAuthError> {
    let pending = state.stores.pending.get(request_id).await?.ok_or_else(|| {
        OAuthError::invalid_request("this authorization request is unknown or expired")
    })?;
    browser::require(state, &pending, browser_nonce, "login", source).await?;
    Ok(pending)
}

pub async fn view(
    state: &AppState,
    pending: &PendingAuthorization,
    browser_nonce: &str,
) -> LoginView {
    let client_name = match crate::flows::clients::resolve(state, &pending.client_id).await {
        Ok(Some(client)) => client
            .metadata
            .client_name
            .as_deref()
            .map(shared::oauth::client_metadata::displayable)
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| client.client_id.to_string()),
        _ => pending.client_id.to_string(),
    };
    LoginView {
        request_id: pending.id.clone(),
        csrf_token: csrf_token(&state.cookie_key, "login", pending, browser_nonce),
        client_name,
        error: None,
    }
}

/// Checks the form and the credentials.
pub async fn submit(
    state: &AppState,
    request_id: &str,
    csrf: &str,
    username: &str,
    password: &Secret,
    browser_nonce: &str,
    source: &Caller,
) -> Result<LoginOutcome, OAuthError> {
    let Some(local) = state.local_login.clone() else {
        return Ok(LoginOutcome::Page(OAuthError::invalid_request(
            "the embedded login is not enabled",
        )));
    };
    let pending = match pending_for_login(state, request_id, Some(browser_nonce), source).await {
        Ok(pending) => pending,
        Err(refused) => return Ok(LoginOutcome::Page(refused)),
    };
    if !csrf_ok(
        &state.cookie_key,
        "login",
        &pending,
        pending.client_id.as_str(),
        browser_nonce,
        csrf,
    ) {
        return Ok(LoginOutcome::Page(OAuthError::invalid_request(
            "the form is not valid for this request; start again",
        )));
    }
    // Counted per source as the other limits are (an IPv6 caller by its /64).
    let key = format!(
        "login:{}",
        source.ip.map_or_else(
            || "unknown".to_owned(),
            crate::flows::rate_limit::source_key
        )
    );
    if state
        .stores
        .rate_limits
        .hit(&key, LOGIN_WINDOW_SECS)
        .await?
        > LOGIN_LIMIT
    {
        return Err(OAuthError::RateLimited {
            retry_after_secs: LOGIN_WINDOW_SECS,
        });
    }
    let Some(user) = local.authenticate(username, password).await? else {
        shared::metrics::count(shared::metrics::Metric::LoginsFailed);
        let origin = audit::origin(state, source);
        let event =
            AuditEvent::login_failed(&origin, &pending.client_id, "wrong username or password");
        audit::record(state, event).await;
        let mut again = view(state, &pending, browser_nonce).await;
        again.error = Some("Wrong username or password.");
        return Ok(LoginOutcome::Retry(again));
    };
    let assertion = local.assertion(&pending, &user);
    let mut url = url::Url::parse(&state.config.issuer_url("/callback"))
        .map_err(|_| OAuthError::ServerError)?;
    url.query_pairs_mut()
        .append_pair("code", &assertion)
        .append_pair("state", &pending.id);
    Ok(LoginOutcome::Redirect(url.into()))
}
