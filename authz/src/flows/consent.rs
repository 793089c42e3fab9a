//! Consent, the confused-deputy defence (MCP authorization spec, "Confused Deputy Problem"): what
//! the consent page says about a client, the CSRF token that binds a form to the browser, the
//! pending request and the client_id, the decision (the approval the browser then keeps is
//! [`super::approvals`]), and the consent recorded per (user, client) after login.

use shared::audit::AuditEvent;
use shared::oauth::client_id::ClientId;
use shared::oauth::client_metadata::displayable;
use shared::oauth::redirect_uri::{RedirectUri, is_loopback, set_digest};
use shared::store::{ClientRecord, ConsentRecord, PendingAuthorization};

use crate::AppState;
use crate::cookie_key::CookieKey;
use crate::flows::approvals::Approvals;
use crate::flows::audit;
use crate::flows::caller::Caller;

const CSRF_PURPOSE: &str = "csrf";

/// What the consent page shows; every string is escaped by the template, and client-supplied
/// text has no control, bidi-formatting or zero-width characters
/// ([`shared::oauth::client_metadata::displayable`], for records older than the registration
/// rule that refuses them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentView {
    pub client_id: ClientId,
    pub client_name: String,
    /// The host of `client_uri`, only when verified by [`verified_site`].
    pub client_host: Option<String>,
    /// The client gave a `client_uri` that failed [`verified_site`]: the page says so and
    /// does not show it.
    pub client_host_unverified: bool,
    /// The service being granted: the host of the configured MCP resource.
    pub service_host: String,
    pub redirect_host: String,
    /// Each requested scope with its description (`SMCP_SCOPE_DESCRIPTIONS`; empty for none).
    pub scopes: Vec<(String, String)>,
    pub registered_ago: String,
    pub localhost_only: bool,
    pub request_id: String,
    pub csrf_token: String,
}

/// The consent page's content for a pending request.
pub fn view(
    state: &AppState,
    client: &ClientRecord,
    pending: &PendingAuthorization,
    browser_nonce: &str,
) -> ConsentView {
    let claimed_site = client.metadata.client_uri.as_deref();
    let client_host = claimed_site.and_then(|u| verified_site(u, &client.metadata.redirect_uris));
    let service_host = url::Url::parse(&state.config.resource)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| state.config.resource.clone());
    let redirect_host = url::Url::parse(pending.redirect_uri.as_str())
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default();
    let localhost_only = !client.metadata.redirect_uris.is_empty()
        && client.metadata.redirect_uris.iter().all(|r| {
            url::Url::parse(r.as_str()).is_ok_and(|u| u.scheme() == "http" && is_loopback(&u))
        });
    let scopes = pending
        .scope
        .values()
        .iter()
        .map(|s| (s.clone(), state.config.scopes.description(s).to_owned()))
        .collect();
    ConsentView {
        // Unchanged: the form posts it back and it must equal the request's client_id.
        client_id: client.client_id.clone(),
        client_name: client
            .metadata
            .client_name
            .as_deref()
            .map(displayable)
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| displayable(client.client_id.as_str())),
        client_host_unverified: claimed_site.is_some() && client_host.is_none(),
        client_host,
        service_host,
        redirect_host,
        scopes,
        registered_ago: ago(state.now() - client.created_at),
        localhost_only,
        request_id: pending.id.clone(),
        csrf_token: csrf_token(&state.cookie_key, "consent", pending, browser_nonce),
    }
}

/// The host of `client_uri` when it is the client's own site as far as its registration shows:
/// the host equals the host of one of its https redirect URIs, or is a subdomain of one
/// (`www.example.com` for a redirect to `example.com`: whoever receives the codes at
/// `example.com` controls its subdomains). A parent domain (`example.com` for a redirect to
/// `app.example.com`) is not accepted: without the Public Suffix List it cannot be told from a
/// shared suffix (`github.io`, `s3.amazonaws.com`). Loopback and private-use redirects verify
/// nothing.
pub fn verified_site(client_uri: &str, redirect_uris: &[RedirectUri]) -> Option<String> {
    let site = url::Url::parse(client_uri).ok()?;
    let host = site.host_str()?.to_ascii_lowercase();
    redirect_uris
        .iter()
        .filter_map(|r| url::Url::parse(r.as_str()).ok())
        .filter(|r| r.scheme() == "https" && !is_loopback(r))
        .filter_map(|r| r.host_str().map(str::to_ascii_lowercase))
        .any(|redirect| {
            host == redirect
                || host
                    .strip_suffix(redirect.as_str())
                    .is_some_and(|prefix| prefix.len() > 1 && prefix.ends_with('.'))
        })
        .then_some(host)
}

/// "registered N minutes ago" in words.
pub fn ago(secs: i64) -> String {
    let minutes = secs.max(0) / 60;
    match minutes {
        0 => "less than a minute ago".into(),
        1 => "1 minute ago".into(),
        2..=119 => format!("{minutes} minutes ago"),
        120..=2879 => format!("{} hours ago", minutes / 60),
        _ => format!("{} days ago", minutes / 1440),
    }
}

/// The form token for a step (`consent`, `login`) of a pending request in this browser.
pub fn csrf_token(
    key: &CookieKey,
    step: &str,
    pending: &PendingAuthorization,
    browser_nonce: &str,
) -> String {
    key.mac(
        CSRF_PURPOSE,
        &[step, &pending.id, pending.client_id.as_str(), browser_nonce],
    )
}

/// Whether a submitted form token is the one for this step, request, client and browser.
pub fn csrf_ok(
    key: &CookieKey,
    step: &str,
    pending: &PendingAuthorization,
    client_id: &str,
    browser_nonce: &str,
    token: &str,
) -> bool {
    !browser_nonce.is_empty()
        && pending.client_id.as_str() == client_id
        && key.verify(
            CSRF_PURPOSE,
            &[step, &pending.id, client_id, browser_nonce],
            token,
        )
}
/// The user's decision on the consent page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Deny,
}

/// A consent form rejected before anything happens (answered 400, nothing recorded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadConsentForm(pub &'static str);

/// What to do after a valid consent form.
#[derive(Debug, Clone, PartialEq)]
pub enum ConsentOutcome {
    /// Approved: the browser's approvals to store, then off to the upstream login.
    Approved {
        pending: PendingAuthorization,
        approvals: Approvals,
    },
    /// Denied: back to the client with `access_denied`.
    Denied { pending: PendingAuthorization },
}

/// Checks a consent form and applies the decision. The pending request is replaced by an
/// approved one under a new id, bound to this browser (`flows::browser`), so the pre-consent id
/// can never reach the upstream login and the approved one continues only in this browser.
#[allow(clippy::too_many_arguments)]
pub async fn decide(
    state: &AppState,
    request_id: &str,
    client_id: &str,
    csrf: &str,
    decision: Decision,
    browser_nonce: &str,
    approvals_cookie: Option<&str>,
    caller: &Caller,
) -> Result<Result<ConsentOutcome, BadConsentForm>, crate::OAuthError> {
    let Some(pending) = state.stores.pending.get(request_id).await? else {
        return Ok(Err(BadConsentForm(
            "this authorization request is unknown or expired",
        )));
    };
    if pending.approved_by.is_some()
        || !csrf_ok(
            &state.cookie_key,
            "consent",
            &pending,
            client_id,
            browser_nonce,
            csrf,
        )
    {
        return Ok(Err(BadConsentForm(
            "the form is not valid for this request; start again",
        )));
    }
    let Some(taken) = state.stores.pending.take(request_id).await? else {
        return Ok(Err(BadConsentForm(
            "this authorization request was already answered",
        )));
    };
    match decision {
        Decision::Deny => {
            shared::metrics::count(shared::metrics::Metric::AuthorizationsDenied);
            let origin = audit::origin(state, caller);
            audit::record(state, AuditEvent::consent_denied(&origin, &taken.client_id)).await;
            Ok(Ok(ConsentOutcome::Denied { pending: taken }))
        }
        Decision::Approve => {
            let now = state.now();
            let next = PendingAuthorization {
                id: shared::secret::random_id(),
                approved_by: Some(crate::flows::browser::binding(browser_nonce)),
                ..taken
            };
            // The user's decision is recorded while the approved request is stored: it was
            // made either way.
            let origin = audit::origin(state, caller);
            let event = AuditEvent::consent_given(&origin, &next.client_id, &next.scope);
            let (stored, ()) =
                tokio::join!(state.stores.pending.put(&next), audit::record(state, event));
            if !stored? {
                return Err(crate::OAuthError::ServerError);
            }
            let mut approvals = Approvals::decode(&state.cookie_key, approvals_cookie, now);
            // The approval covers the client with the redirect URIs the user was shown: a change
            // made since (RFC 7592, a new metadata document) is not covered, so the next request
            // asks again. Requests stored before the digest was kept are not remembered.
            if let Some(digest) = next
                .redirect_uris_digest
                .as_deref()
                .filter(|d| !d.is_empty())
            {
                approvals.approve_as_shown(&next.client_id, digest, &next.scope, now);
            }
            shared::metrics::count(shared::metrics::Metric::AuthorizationsApproved);
            Ok(Ok(ConsentOutcome::Approved {
                pending: next,
                approvals,
            }))
        }
    }
}

/// Records the consent server-side once the user is known (after login).
/// The record keeps the digest of the client's redirect URIs as registered now
/// ([`ConsentRecord::covers_redirect_uris`]).
pub async fn record(
    state: &AppState,
    sub: &str,
    client: &ClientRecord,
    pending: &PendingAuthorization,
) -> Result<(), crate::OAuthError> {
    state
        .stores
        .consents
        .put(&ConsentRecord {
            sub: sub.to_owned(),
            client_id: pending.client_id.clone(),
            scope: pending.scope.clone(),
            granted_at: state.now(),
            redirect_uris_digest: Some(set_digest(&client.metadata.redirect_uris)),
        })
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_naturally() {
        assert_eq!(ago(10), "less than a minute ago");
        assert_eq!(ago(60), "1 minute ago");
        assert_eq!(ago(600), "10 minutes ago");
        assert_eq!(ago(3 * 3600), "3 hours ago");
        assert_eq!(ago(5 * 86_400), "5 days ago");
    }
}
