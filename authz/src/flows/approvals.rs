//! The approvals a browser remembers (the MAC-protected `__Host-smcp_consent` cookie): which
//! clients, as their redirect URIs were registered when the user approved them, for which scope,
//! until when. `/authorize` skips the consent page for a request an approval covers.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use shared::oauth::client_id::ClientId;
use shared::oauth::redirect_uri::set_digest;
use shared::oauth::scope::Scope;
use shared::secret::sha256_hex;
use shared::store::ClientRecord;

use crate::cookie_key::CookieKey;

/// How long the browser remembers an approval.
pub const APPROVAL_TTL_SECS: i64 = 30 * 86_400;
/// Most approvals one cookie holds (newest kept).
const MAX_APPROVALS: usize = 20;
/// `-v2`: approvals carry the client's redirect URI digest; older cookies verify no more.
const APPROVAL_PURPOSE: &str = "consent-approval-v2";

/// One approval a browser holds: for a client (hashed), as its redirect URIs were registered
/// when the user approved it ([`set_digest`]), for a scope, until an expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Approval {
    client: String,
    redirect_uris: String,
    scope: Scope,
    expires_at: i64,
}

/// The approvals a browser holds. An approval covers a client only while the client's redirect
/// URIs are the ones it was given for: after an RFC 7592 update of `redirect_uris` (or a changed
/// metadata document) the consent page is shown again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Approvals(Vec<Approval>);

impl Approvals {
    /// Reads a cookie value; anything tampered with or malformed counts as no approvals, and so
    /// does a cookie of the earlier format without the redirect URI digest (MACed for another
    /// purpose, so its MAC no longer verifies).
    pub fn decode(key: &CookieKey, cookie: Option<&str>, now: i64) -> Self {
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
                    let mut fields = line.splitn(4, ' ');
                    let client = fields.next()?.to_owned();
                    let redirect_uris = fields.next()?.to_owned();
                    let expires_at = fields.next()?.parse::<i64>().ok()?;
                    let scope = Scope::from_stored(fields.next().unwrap_or(""));
                    (expires_at > now && !redirect_uris.is_empty()).then_some(Approval {
                        client,
                        redirect_uris,
                        scope,
                        expires_at,
                    })
                })
                .collect(),
        )
    }

    /// Whether the browser approved `client`, with its redirect URIs as registered now, for at
    /// least `scope`.
    pub fn covers(&self, client: &ClientRecord, scope: &Scope) -> bool {
        let hash = client_hash(&client.client_id);
        let redirect_uris = set_digest(&client.metadata.redirect_uris);
        self.0.iter().any(|a| {
            a.client == hash
                && a.redirect_uris == redirect_uris
                && a.scope.narrow(&scope.to_scope_string()).is_some()
        })
    }

    /// Adds (or renews) an approval of `client_id` with the redirect URIs it had when the consent
    /// page was shown (their [`set_digest`], kept on the pending request).
    pub fn approve_as_shown(
        &mut self,
        client_id: &ClientId,
        redirect_uris_digest: &str,
        scope: &Scope,
        now: i64,
    ) {
        let hash = client_hash(client_id);
        self.0.retain(|a| a.client != hash);
        self.0.push(Approval {
            client: hash,
            redirect_uris: redirect_uris_digest.to_owned(),
            scope: scope.clone(),
            expires_at: now + APPROVAL_TTL_SECS,
        });
        let excess = self.0.len().saturating_sub(MAX_APPROVALS);
        self.0.drain(..excess);
    }

    /// The cookie value with its MAC.
    pub fn encode(&self, key: &CookieKey) -> String {
        let text: Vec<String> = self
            .0
            .iter()
            .map(|a| {
                format!(
                    "{} {} {} {}",
                    a.client, a.redirect_uris, a.expires_at, a.scope
                )
            })
            .collect();
        let payload = URL_SAFE_NO_PAD.encode(text.join("\n"));
        let mac = key.mac(APPROVAL_PURPOSE, &[&payload]);
        format!("{payload}.{mac}")
    }
}

fn client_hash(client_id: &ClientId) -> String {
    sha256_hex(client_id.as_str().as_bytes())
        .chars()
        .take(32)
        .collect()
}

#[cfg(test)]
mod tests {
    use shared::oauth::redirect_uri::RedirectUri;

    use super::*;

    impl Approvals {
        /// Approves `client` as registered now.
        fn approve(&mut self, client: &ClientRecord, scope: &str, now: i64) {
            let digest = set_digest(&client.metadata.redirect_uris);
            let scope = Scope::from_stored(scope);
            self.approve_as_shown(&client.client_id, &digest, &scope, now);
        }
    }

    fn client(id: &str, redirect_uris: &[&str]) -> ClientRecord {
        ClientRecord {
            client_id: ClientId::from_stored(id),
            kind: shared::store::ClientKind::Dcr,
            status: shared::store::ClientStatus::Active,
            metadata: shared::oauth::client_metadata::ClientMetadata {
                redirect_uris: redirect_uris
                    .iter()
                    .map(|r| RedirectUri::from_stored(*r))
                    .collect(),
                ..Default::default()
            },
            secret_hash: None,
            registration_token_hash: None,
            resources: Vec::new(),
            created_at: 0,
            created_ip: None,
            created_user_agent: None,
            last_used_at: None,
            revision: 0,
            expires_at: None,
        }
    }

    #[test]
    fn approvals_round_trip_and_refuse_tampering() {
        let key = CookieKey::from_bytes(b"key");
        let a = client("client-a", &["https://a.example/cb"]);
        let mut approvals = Approvals::default();
        approvals.approve(&a, "costs:read", 100);
        let cookie = approvals.encode(&key);
        let read = Approvals::decode(&key, Some(&cookie), 101);
        assert!(read.covers(&a, &Scope::from_stored("costs:read")));
        assert!(!read.covers(&a, &Scope::from_stored("costs:read costs:resources")));
        let b = client("client-b", &["https://a.example/cb"]);
        assert!(!read.covers(&b, &Scope::from_stored("costs:read")));
        let other_key = CookieKey::from_bytes(b"other");
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
        assert!(!expired.covers(&a, &Scope::from_stored("costs:read")));
    }

    #[test]
    fn approvals_cover_the_redirect_uris_as_registered() {
        let key = CookieKey::from_bytes(b"key");
        let a = client("client-a", &["https://a.example/cb", "http://127.0.0.1/cb"]);
        let mut approvals = Approvals::default();
        approvals.approve(&a, "costs:read", 100);
        let read = Approvals::decode(&key, Some(&approvals.encode(&key)), 101);
        let scope = Scope::from_stored("costs:read");
        let reordered = client("client-a", &["http://127.0.0.1/cb", "https://a.example/cb"]);
        assert!(read.covers(&reordered, &scope), "order does not matter");
        for changed in [
            &[
                "https://a.example/cb",
                "http://127.0.0.1/cb",
                "https://evil.example/cb",
            ][..],
            &["https://evil.example/cb"][..],
            &["https://a.example/cb"][..],
        ] {
            assert!(
                !read.covers(&client("client-a", changed), &scope),
                "{changed:?}"
            );
        }
    }

    #[test]
    fn approvals_of_the_old_format_cover_nothing() {
        // The cookie as written before approvals carried the redirect URI digest, validly
        // MACed under the old purpose and under the current one.
        let key = CookieKey::from_bytes(b"key");
        let line = format!(
            "{} {} costs:read",
            client_hash(&ClientId::from_stored("client-a")),
            100 + APPROVAL_TTL_SECS
        );
        let payload = URL_SAFE_NO_PAD.encode(line);
        let a = client("client-a", &["https://a.example/cb"]);
        let scope = Scope::from_stored("costs:read");
        for purpose in ["consent-approval", APPROVAL_PURPOSE] {
            let cookie = format!("{payload}.{}", key.mac(purpose, &[&payload]));
            let read = Approvals::decode(&key, Some(&cookie), 101);
            assert!(!read.covers(&a, &scope), "{purpose}");
            assert_eq!(read, Approvals::default(), "{purpose}");
        }
    }

    #[test]
    fn approvals_are_bounded() {
        let mut approvals = Approvals::default();
        for i in 0..30 {
            approvals.approve(
                &client(&format!("c{i}"), &["https://a.example/cb"]),
                "costs:read",
                0,
            );
        }
        assert_eq!(approvals.0.len(), MAX_APPROVALS);
        let scope = Scope::from_stored("costs:read");
        assert!(approvals.covers(&client("c29", &["https://a.example/cb"]), &scope));
        assert!(!approvals.covers(&client("c0", &["https://a.example/cb"]), &scope));
    }
}
