//! The revocation list: what a revocation reaches, its port and its item mapping. One item per
//! revoked token, grant, client or user (`REVOKED#<jti>`, `REVOKEDGRANT#<id>`,
//! `REVOKEDCLIENT#<id>`, `REVOKEDUSER#<sub>`), read by the resource server on every request.
//! These keys are the only ones the mcp function's role may read besides its cache and budget
//! items: keep their prefix.

use async_trait::async_trait;
use serde_json::Value;

use super::StoreError;
use super::item::{Condition, Item};
use super::item_store::ItemStore;

/// What a revocation reaches: one access token, or every access token issued (at or before the
/// revocation) from a grant, to a client, or for a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoked<'a> {
    /// The access token with this `jti`.
    Token(&'a str),
    /// Every access token issued from this grant (the `grant_id` claim).
    Grant(&'a str),
    /// Every access token issued to this client.
    Client(&'a str),
    /// Every access token issued for this user (`sub`).
    User(&'a str),
}

/// What the resource server knows of a verified access token, as [`RevocationList::is_revoked`]
/// needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenIdentity<'a> {
    pub jti: &'a str,
    /// Tokens issued before grants were named in tokens carry none.
    pub grant_id: Option<&'a str>,
    pub client_id: &'a str,
    pub sub: &'a str,
    /// Issued at (epoch seconds).
    pub iat: i64,
}

/// Revocations of access tokens, kept until every token they reach has expired
/// (`REVOKED#<jti>`, `REVOKEDGRANT#<id>`, `REVOKEDCLIENT#<id>`, `REVOKEDUSER#<sub>`, sort key
/// `REVOKED`); the resource server consults them on every request.
#[async_trait]
pub trait RevocationList: Send + Sync {
    /// Revokes what `what` names, for tokens issued at or before now; the entry is kept until
    /// `keep_until` (epoch seconds), which must be at least the latest expiry, leeway included,
    /// of a token it reaches. Idempotent; a later revocation of the same thing moves its
    /// instant forward.
    async fn revoke(&self, what: Revoked<'_>, keep_until: i64) -> Result<(), StoreError>;
    /// Whether any revocation reaches the token: its `jti`, its grant, its client or its user
    /// revoked at or after it was issued. One read of at most four keys (a single request on
    /// DynamoDB), so checking costs one round trip.
    async fn is_revoked(&self, token: &TokenIdentity<'_>) -> Result<bool, StoreError>;
}

fn revocation_key(what: Revoked<'_>) -> (String, String) {
    let pk = match what {
        Revoked::Token(jti) => format!("REVOKED#{jti}"),
        Revoked::Grant(id) => format!("REVOKEDGRANT#{id}"),
        Revoked::Client(id) => format!("REVOKEDCLIENT#{id}"),
        Revoked::User(sub) => format!("REVOKEDUSER#{sub}"),
    };
    (pk, "REVOKED".into())
}

pub(super) fn revocation_item(what: Revoked<'_>, now: i64, keep_until: i64) -> Item {
    let (pk, sk) = revocation_key(what);
    let mut item = Item::new(pk, sk);
    item.expires_at = Some(keep_until.max(now.saturating_add(1)));
    // A token or a grant is revoked for good; a client or a user may be enabled again, and then
    // only the tokens issued up to the revocation stay refused.
    if matches!(what, Revoked::Client(_) | Revoked::User(_)) {
        item.attrs.insert("revoked_at".into(), Value::from(now));
    }
    item
}

#[async_trait]
impl RevocationList for ItemStore {
    async fn revoke(&self, what: Revoked<'_>, keep_until: i64) -> Result<(), StoreError> {
        let now = self.now();
        self.backend
            .put(
                &revocation_item(what, now, keep_until),
                Condition::Always,
                now,
            )
            .await
            .map(drop)
    }

    async fn is_revoked(&self, token: &TokenIdentity<'_>) -> Result<bool, StoreError> {
        let mut keys = Vec::with_capacity(4);
        keys.push(revocation_key(Revoked::Token(token.jti)));
        if let Some(grant_id) = token.grant_id {
            keys.push(revocation_key(Revoked::Grant(grant_id)));
        }
        keys.push(revocation_key(Revoked::Client(token.client_id)));
        keys.push(revocation_key(Revoked::User(token.sub)));
        let found = self.backend.get_many(&keys, self.now()).await?;
        // A token's or grant's entry reaches the token outright; a client's or user's entry
        // reaches the tokens issued at or before the revocation (one enabled again gets new
        // tokens that work).
        Ok(found.iter().any(|entry| {
            entry
                .attrs
                .get("revoked_at")
                .and_then(Value::as_i64)
                .is_none_or(|at| at >= token.iat)
        }))
    }
}
