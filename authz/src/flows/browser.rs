//! The binding of an approved authorization to the browser that approved it (the
//! confused-deputy defence held end to end, RFC 9700 §4.2.4 and the MCP security best
//! practices on consent). From the consent approval (or the approval cookie's shortcut) on, the
//! pending request carries the hash of the approving browser's nonce cookie; `/login` (both
//! methods) and `/callback` continue only in a browser that presents that cookie. A link to the
//! next step opened anywhere else (a victim lured to the attacker's login link, or the upstream
//! login completed with a live upstream session in another browser) gets an error page and
//! nothing is issued.

use shared::audit::AuditEvent;
use shared::secret::{constant_time_eq, sha256_hex};
use shared::store::PendingAuthorization;

use crate::AppState;
use crate::error::OAuthError;
use crate::flows::audit;
use crate::flows::caller::Caller;

/// What the pending request stores for the browser whose nonce cookie is `nonce`.
pub fn binding(nonce: &str) -> String {
    sha256_hex(format!("browser\0{nonce}").as_bytes())
}

/// Whether `pending` was approved, and in the browser whose nonce cookie is `nonce`.
pub fn is_bound_to(pending: &PendingAuthorization, nonce: Option<&str>) -> bool {
    match (&pending.approved_by, nonce) {
        (Some(bound), Some(nonce)) if !nonce.is_empty() => {
            constant_time_eq(bound.as_bytes(), binding(nonce).as_bytes())
        }
        _ => false,
    }
}

/// Checks the binding at a step after consent (`step` names it in the audit trail). An
/// unapproved request, or another browser, is refused with the error the page shows; the
/// refusal of another browser is audited.
pub async fn require(
    state: &AppState,
    pending: &PendingAuthorization,
    nonce: Option<&str>,
    step: &str,
    source: &Caller,
) -> Result<(), OAuthError> {
    if pending.approved_by.is_none() {
        return Err(OAuthError::invalid_request(
            "this authorization request was not approved",
        ));
    }
    if is_bound_to(pending, nonce) {
        return Ok(());
    }
    tracing::warn!(step, "authorization continued in another browser; refused");
    let origin = audit::origin(state, source);
    let event = AuditEvent::authorization_other_browser(&origin, &pending.client_id, step);
    audit::record(state, event).await;
    Err(OAuthError::invalid_request(
        "this sign-in was approved in another browser; start again from your application",
    ))
}

#[cfg(test)]
mod tests {
    use shared::oauth::client_id::ClientId;
    use shared::oauth::redirect_uri::RedirectUri;
    use shared::oauth::resource::ResourceUri;
    use shared::oauth::scope::Scope;

    use super::*;

    fn pending(approved_by: Option<String>) -> PendingAuthorization {
        PendingAuthorization {
            id: "p".into(),
            client_id: ClientId::from_stored("c"),
            redirect_uri: RedirectUri::from_stored("https://c.example/cb"),
            code_challenge: "x".into(),
            scope: Scope::from_stored("costs:read"),
            resource: ResourceUri::from_stored("https://mcp.example/mcp"),
            state: None,
            upstream_nonce: "n".into(),
            upstream_verifier: "v".into(),
            approved_by,
            redirect_uris_digest: None,
            created_at: 0,
            expires_at: 600,
        }
    }

    #[test]
    fn only_the_approving_browser_matches() {
        let bound = pending(Some(binding("nonce-a")));
        assert!(is_bound_to(&bound, Some("nonce-a")));
        assert!(!is_bound_to(&bound, Some("nonce-b")));
        assert!(!is_bound_to(&bound, Some("")));
        assert!(!is_bound_to(&bound, None));
        assert!(!is_bound_to(&pending(None), Some("nonce-a")));
        assert_ne!(binding("nonce-a"), "nonce-a");
    }
}
