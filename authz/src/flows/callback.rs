//! The upstream login's return (`GET /callback`): the pending request is taken exactly once by
//! its `state` and must have been approved in this browser, the upstream code exchanged, consent
//! recorded for the now-known user, and our own authorization code (256-bit, stored hashed,
//! 60 s, single use) issued to the client (RFC 6749 §4.1.2, RFC 9207 `iss`).

use serde::Deserialize;
use shared::audit::AuditEvent;
use shared::secret::Secret;
use shared::store::{CodeRecord, PendingAuthorization, UserProfile};

use crate::AppState;
use crate::error::OAuthError;
use crate::flows::audit;
use crate::flows::authorize::{error_redirect, redirect_with};
use crate::flows::caller::Caller;
use crate::flows::{browser, clients, consent};
use crate::upstream::{UpstreamError, UpstreamIdentity};

/// Authorization codes are redeemable this long.
pub const CODE_TTL_SECS: i64 = 60;

/// The query the upstream sends back.
#[derive(Debug, Default, Deserialize)]
pub struct CallbackParams {
    pub state: Option<String>,
    pub code: Option<String>,
    pub error: Option<String>,
}

/// How the callback ends.
#[derive(Debug)]
pub enum CallbackOutcome {
    /// Redirect the browser to the client (success or an error the client should see).
    Redirect(String),
    /// The state is unknown, expired or already used: an error page, no redirect.
    Page(OAuthError),
}

/// Completes the login for the pending request named by `state`, in the browser whose nonce
/// cookie is `browser_nonce`: only the browser that approved the request gets a code.
pub async fn complete(
    state: &AppState,
    params: CallbackParams,
    browser_nonce: Option<&str>,
    source: &Caller,
) -> Result<CallbackOutcome, OAuthError> {
    let Some(id) = params.state.filter(|s| !s.is_empty() && s.len() <= 256) else {
        return Ok(CallbackOutcome::Page(OAuthError::invalid_request(
            "the login response has no state",
        )));
    };
    let Some(pending) = state.stores.pending.take(&id).await? else {
        return Ok(CallbackOutcome::Page(OAuthError::invalid_request(
            "this login response is unknown, expired or was already used",
        )));
    };
    // Taken (used up) before the check: a response opened in another browser ends the request;
    // the approving browser starts again.
    if let Err(refused) = browser::require(state, &pending, browser_nonce, "callback", source).await
    {
        return Ok(CallbackOutcome::Page(refused));
    }
    let issuer = &state.config.issuer;
    let fail = |error: OAuthError| {
        CallbackOutcome::Redirect(error_redirect(
            &pending.redirect_uri,
            issuer,
            &error,
            pending.state.as_deref(),
        ))
    };
    if let Some(upstream_error) = params.error {
        let error = match upstream_error.as_str() {
            "temporarily_unavailable" | "server_error" => OAuthError::TemporarilyUnavailable,
            _ => OAuthError::AccessDenied("the login was cancelled or refused".into()),
        };
        shared::metrics::count(shared::metrics::Metric::LoginsFailed);
        let origin = audit::origin(state, source);
        let event =
            AuditEvent::login_failed_upstream(&origin, &pending.client_id, short(&upstream_error));
        audit::record(state, event).await;
        return Ok(fail(error));
    }
    let Some(code) = params.code.filter(|c| !c.is_empty()) else {
        return Ok(fail(OAuthError::AccessDenied(
            "the login response carried no code".into(),
        )));
    };
    // The client is read while the upstream answers (both need only the pending request).
    let (exchanged, client) = tokio::join!(
        state.upstream.exchange(&code, &pending),
        clients::resolve(state, &pending.client_id)
    );
    let identity = match exchanged {
        Ok(identity) => identity,
        Err(UpstreamError::Rejected(why)) => {
            tracing::warn!(why, "upstream login rejected");
            shared::metrics::count(shared::metrics::Metric::LoginsFailed);
            let origin = audit::origin(state, source);
            let event = AuditEvent::login_failed(&origin, &pending.client_id, why);
            audit::record(state, event).await;
            return Ok(fail(OAuthError::AccessDenied(
                "the login could not be verified".into(),
            )));
        }
        Err(UpstreamError::Unavailable(why)) => {
            tracing::error!(error = %why, "upstream login unavailable");
            return Ok(fail(OAuthError::TemporarilyUnavailable));
        }
    };
    // The client may have been deleted while the user was logging in.
    let Some(client) = client? else {
        return Ok(CallbackOutcome::Page(OAuthError::invalid_request(
            "the client is no longer registered",
        )));
    };
    let origin = audit::origin(state, source);
    let event = AuditEvent::login(&origin, &pending.client_id, &identity.sub);
    // What the provider said about the user, for operators (`admin grants`, `consents`);
    // written beside the audit event, and, like it, never a reason to fail the sign-in.
    let profile = UserProfile {
        sub: identity.sub.clone(),
        username: identity.username.clone(),
        email: identity.email.clone(),
        groups: identity.groups.clone(),
        last_login_at: state.now(),
    };
    // Four independent writes at once: the login event and the profile (neither fails the
    // sign-in), the consent and the code (both must be written for the code to be sent; one
    // written without the other is harmless: a consent the user gave, a code nobody receives).
    let (_, profile_written, consented, code) = tokio::join!(
        audit::record(state, event),
        state.stores.profiles.put(&profile),
        consent::record(state, &identity.sub, &client, &pending),
        issue_code(state, &pending, &identity)
    );
    if let Err(e) = profile_written {
        tracing::warn!(error = %e, "user profile not recorded");
    }
    consented?;
    let code = code?;
    let origin = audit::origin(state, source);
    let event = AuditEvent::code_issued(&origin, &pending.client_id, &identity.sub, &pending.scope);
    audit::record(state, event).await;
    Ok(CallbackOutcome::Redirect(redirect_with(
        &pending.redirect_uri,
        issuer,
        &[("code", code.expose())],
        pending.state.as_deref(),
    )))
}

async fn issue_code(
    state: &AppState,
    pending: &PendingAuthorization,
    identity: &UpstreamIdentity,
) -> Result<Secret, OAuthError> {
    let code = Secret::generate();
    let now = state.now();
    let record = CodeRecord {
        code_hash: code.hash(),
        client_id: pending.client_id.clone(),
        redirect_uri: pending.redirect_uri.clone(),
        code_challenge: pending.code_challenge.clone(),
        scope: pending.scope.clone(),
        resource: pending.resource.clone(),
        sub: identity.sub.clone(),
        groups: identity.groups.clone(),
        issued_at: now,
        valid_until: now + CODE_TTL_SECS,
        upstream_session: identity.session.clone(),
    };
    if state.stores.codes.put(&record).await? {
        Ok(code)
    } else {
        Err(OAuthError::ServerError)
    }
}

/// An upstream error code, bounded and reduced to safe characters for the audit trail.
fn short(value: &str) -> &str {
    let end = value
        .char_indices()
        .find(|(i, c)| *i >= 64 || !(c.is_ascii_alphanumeric() || *c == '_'))
        .map_or(value.len(), |(i, _)| i);
    value.get(..end).unwrap_or("")
}
