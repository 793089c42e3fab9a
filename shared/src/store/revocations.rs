//! The revocation list over the item model: one item per revoked token, grant, client or user
//! (`REVOKED#<jti>`, `REVOKEDGRANT#<id>`, `REVOKEDCLIENT#<id>`, `REVOKEDUSER#<sub>`), read by the
//! resource server on every request. These keys are the only ones the mcp function's role may
//! read besides its cache and budget items: keep their prefix.

use async_trait::async_trait;
use serde_json::Value;

use super::item::{Condition, Item};
use super::item_store::ItemStore;
use super::{RevocationList, Revoked, StoreError, TokenIdentity};

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
