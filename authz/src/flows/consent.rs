//! Consent, the confused-deputy defence (DESIGN section 4, Consent): what the consent page says
//! about a client, the CSRF token that binds a form to the browser, the pending request and the
//! client_id, the signed approval the browser keeps, and the consent recorded per (user, client)
//! after login.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use shared::oauth::redirect_uri::is_loopback;
use shared::oauth::requested_scope::GrantedScope;
use shared::oauth::scope::{COSTS_READ, COSTS_RESOURCES};
use shared::secret::sha256_hex;
use shared::store::{ClientRecord, ConsentRecord, PendingAuthorization};

use crate::AppState;
use crate::flows::audit;
use crate::flows::signing::SigningKey;

/// How long the browser remembers an approval.
pub const APPROVAL_TTL_SECS: i64 = 30 * 86_400;
/// Most approvals one cookie holds (newest kept).
const MAX_APPROVALS: usize = 20;
const CSRF_PURPOSE: &str = "csrf";
const APPROVAL_PURPOSE: &str = "consent-approval";

/// What the consent page shows; every string is escaped by the template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentView {
    pub client_id: String,
    pub client_name: String,
    pub client_host: Option<String>,
    pub redirect_host: String,
    pub scopes: Vec<(String, &'static str)>,
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
    let client_host = client
        .metadata
        .client_uri
        .as_deref()
        .and_then(|u| url::Url::parse(u).ok())
        .and_then(|u| u.host_str().map(str::to_owned));
    let redirect_host = url::Url::parse(&pending.redirect_uri)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default();
    let localhost_only = !client.metadata.redirect_uris.is_empty()
        && client
            .metadata
            .redirect_uris
            .iter()
            .all(|r| url::Url::parse(r).is_ok_and(|u| u.scheme() == "http" && is_loopback(&u)));
    let scopes = GrantedScope::from_stored(&pending.scope)
        .values()
        .iter()
        .map(|s| ((*s).to_owned(), describe_scope(s)))
        .collect();
    ConsentView {
        client_id: client.client_id.clone(),
        client_name: client
            .metadata
            .client_name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| client.client_id.clone()),
        client_host,
        redirect_host,
        scopes,
        registered_ago: ago(state.now() - client.created_at),
        localhost_only,
        request_id: pending.id.clone(),
        csrf_token: csrf_token(&state.cookie_key, "consent", pending, browser_nonce),
    }
}

fn describe_scope(scope: &str) -> &'static str {
    match scope {
        COSTS_READ => "read your AWS cost and usage data",
        COSTS_RESOURCES => "read resource-level cost data",
        _ => "",
    }
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
    key: &SigningKey,
    step: &str,
    pending: &PendingAuthorization,
    browser_nonce: &str,
) -> String {
    key.sign(
        CSRF_PURPOSE,
        &[step, &pending.id, &pending.client_id, browser_nonce],
    )
}

/// Whether a submitted form token is the one for this step, request, client and browser.
pub fn csrf_ok(
    key: &SigningKey,
    step: &str,
    pending: &PendingAuthorization,
    client_id: &str,
    browser_nonce: &str,
    token: &str,
) -> bool {
    !browser_nonce.is_empty()
        && pending.client_id == client_id
        && key.verify(
            CSRF_PURPOSE,
            &[step, &pending.id, client_id, browser_nonce],
            token,
        )
}

/// The approvals a browser holds: (client hash, scope, expiry).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Approvals(Vec<(String, String, i64)>);

impl Approvals {
    /// Reads a cookie value; anything tampered with or malformed counts as no approvals.
    pub fn decode(key: &SigningKey, cookie: Option<&str>, now: i64) -> Self {
        let Some((payload, mac)) = cookie.and_then(|c| c.split_once('.')) else {
            return Self::default();
        };
        if !key.verify(APPROVAL_PURPOSE, &[payload], mac) {
            return Self::default();
        }
        let Some(text) = URL_SAFE_NO_PAD
            .decode(payload)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
        else {
            return Self::default();
        };
        Self(
            text.lines()
                .filter_map(|line| {
                    let mut fields = line.splitn(3, ' ');
                    let client = fields.next()?.to_owned();
                    let exp = fields.next()?.parse::<i64>().ok()?;
                    let scope = fields.next().unwrap_or("").to_owned();
                    (exp > now).then_some((client, scope, exp))
                })
                .collect(),
        )
    }

    /// Whether the browser approved `client_id` for at least `scope`.
    pub fn covers(&self, client_id: &str, scope: &GrantedScope) -> bool {
        let hash = client_hash(client_id);
        self.0.iter().any(|(c, approved, _)| {
            *c == hash
                && GrantedScope::from_stored(approved)
                    .narrow(&scope.to_scope_string())
                    .is_some()
        })
    }

    /// Adds (or renews) an approval.
    pub fn approve(&mut self, client_id: &str, scope: &str, now: i64) {
        let hash = client_hash(client_id);
        self.0.retain(|(c, _, _)| *c != hash);
        self.0
            .push((hash, scope.to_owned(), now + APPROVAL_TTL_SECS));
        let excess = self.0.len().saturating_sub(MAX_APPROVALS);
        self.0.drain(..excess);
    }

    /// The signed cookie value.
    pub fn encode(&self, key: &SigningKey) -> String {
        let text: Vec<String> = self
            .0
            .iter()
            .map(|(c, s, exp)| format!("{c} {exp} {s}"))
            .collect();
        let payload = URL_SAFE_NO_PAD.encode(text.join("\n"));
        let mac = key.sign(APPROVAL_PURPOSE, &[&payload]);
        format!("{payload}.{mac}")
    }
}

fn client_hash(client_id: &str) -> String {
    sha256_hex(client_id.as_bytes()).chars().take(32).collect()
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

/// Checks a consent form and applies the decision. The pending request is replaced by a
/// consented one under a new id, so the pre-consent id can never reach the upstream login.
#[allow(clippy::too_many_arguments)]
pub async fn decide(
    state: &AppState,
    request_id: &str,
    client_id: &str,
    csrf: &str,
    decision: Decision,
    browser_nonce: &str,
    approvals_cookie: Option<&str>,
    caller: &audit::Source,
) -> Result<Result<ConsentOutcome, BadConsentForm>, crate::OAuthError> {
    let Some(pending) = state.stores.pending.get(request_id).await? else {
        return Ok(Err(BadConsentForm(
            "this authorization request is unknown or expired",
        )));
    };
    if pending.consented
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
            audit::record(
                state,
                "consent.denied",
                Some(&taken.client_id),
                None,
                caller,
                &[],
            )
            .await;
            Ok(Ok(ConsentOutcome::Denied { pending: taken }))
        }
        Decision::Approve => {
            let now = state.now();
            let next = PendingAuthorization {
                id: shared::secret::random_id(),
                consented: true,
                ..taken
            };
            if !state.stores.pending.put(&next).await? {
                return Err(crate::OAuthError::ServerError);
            }
            let mut approvals = Approvals::decode(&state.cookie_key, approvals_cookie, now);
            approvals.approve(&next.client_id, &next.scope, now);
            audit::record(
                state,
                "consent.given",
                Some(&next.client_id),
                None,
                caller,
                &[("scope", next.scope.as_str())],
            )
            .await;
            Ok(Ok(ConsentOutcome::Approved {
                pending: next,
                approvals,
            }))
        }
    }
}

/// Records the consent server-side once the user is known (after login).
pub async fn record(
    state: &AppState,
    sub: &str,
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
        })
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approvals_round_trip_and_refuse_tampering() {
        let key = SigningKey::from_bytes(b"key");
        let mut approvals = Approvals::default();
        approvals.approve("client-a", "costs:read", 100);
        let cookie = approvals.encode(&key);
        let read = Approvals::decode(&key, Some(&cookie), 101);
        assert!(read.covers("client-a", &GrantedScope::from_stored("costs:read")));
        assert!(!read.covers(
            "client-a",
            &GrantedScope::from_stored("costs:read costs:resources")
        ));
        assert!(!read.covers("client-b", &GrantedScope::from_stored("costs:read")));
        let other_key = SigningKey::from_bytes(b"other");
        assert_eq!(
            Approvals::decode(&other_key, Some(&cookie), 101),
            Approvals::default()
        );
        let tampered = format!("x{cookie}");
        assert_eq!(
            Approvals::decode(&key, Some(&tampered), 101),
            Approvals::default()
        );
        let expired = Approvals::decode(&key, Some(&cookie), 100 + APPROVAL_TTL_SECS);
        assert!(!expired.covers("client-a", &GrantedScope::from_stored("costs:read")));
    }

    #[test]
    fn approvals_are_bounded() {
        let mut approvals = Approvals::default();
        for i in 0..30 {
            approvals.approve(&format!("c{i}"), "costs:read", 0);
        }
        assert_eq!(approvals.0.len(), MAX_APPROVALS);
        assert!(approvals.covers("c29", &GrantedScope::from_stored("costs:read")));
        assert!(!approvals.covers("c0", &GrantedScope::from_stored("costs:read")));
    }

    #[test]
    fn ages_read_naturally() {
        assert_eq!(ago(10), "less than a minute ago");
        assert_eq!(ago(60), "1 minute ago");
        assert_eq!(ago(600), "10 minutes ago");
        assert_eq!(ago(3 * 3600), "3 hours ago");
        assert_eq!(ago(5 * 86_400), "5 days ago");
    }
}
