//! Refresh-token families: the record, its port and its item mapping. The grant (`GRANT#<id>`,
//! listed per user on GSI1 `USER#<sub>`) and its per-client listing entry
//! (`CLIENTGRANT#<client_id>#<nn>`, sharded by the grant id, as a client shared by many users
//! would otherwise write one partition).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::item::{Condition, Index, Item};
use super::item_store::{CAS_ATTEMPTS, ItemStore, MAX_PAGE, encode};
use super::revocations::revocation_item;
use super::shard::{self, CLIENT_GRANT_SHARDS};
use super::{Page, PageRequest, Revoked, StoreError};
use crate::clock::rfc3339;
use crate::oauth::client_id::ClientId;
use crate::oauth::resource::ResourceUri;
use crate::oauth::scope::Scope;
use crate::secret::Sha256Hex;
use crate::token::REVOCATION_HORIZON_SECS;

/// Whether a grant's refresh tokens still work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantStatus {
    Active,
    Revoked,
}

/// How many superseded refresh-token hashes a grant keeps for reuse detection beyond the one just
/// replaced (about a day and a half of hourly refreshes; 2 KiB per grant).
pub const MAX_SUPERSEDED_REFRESH_HASHES: usize = 32;

/// A refresh-token family (`GRANT#<id>`), listed per user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GrantRecord {
    pub grant_id: String,
    pub sub: String,
    pub client_id: ClientId,
    pub scope: Scope,
    pub resource: ResourceUri,
    pub groups: Vec<String>,
    /// SHA-256 (hex) of the current refresh token's secret.
    pub refresh_hash: Sha256Hex,
    /// SHA-256 (hex) of the refresh token it replaced, for the retry grace window.
    pub previous_refresh_hash: Option<Sha256Hex>,
    /// SHA-256 (hex) of the refresh tokens replaced before that one, newest last, at most
    /// [`MAX_SUPERSEDED_REFRESH_HASHES`]: presenting one of them is reuse of a superseded token
    /// (the grant is revoked), while a secret the grant never had revokes nothing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub superseded_hashes: Vec<Sha256Hex>,
    pub rotated_at: Option<i64>,
    /// Bumped by every rotation and by revocation; the compare-and-set guard.
    pub version: u64,
    pub status: GrantStatus,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    /// The upstream login's session (Cognito: its refresh token), sealed by
    /// `authz::upstream::session` (AES-256-GCM, bound to `sub` and `client_id`); checked at every
    /// refresh so a user signed out upstream loses the grant. Absent in embedded mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_session: Option<String>,
}

/// Refresh-token families.
#[async_trait]
pub trait GrantStore: Send + Sync {
    /// Stores a new grant; `false` if its id is taken.
    async fn create(&self, grant: &GrantRecord) -> Result<bool, StoreError>;
    /// Reads a live grant (revoked ones included: check `status`).
    async fn get(&self, grant_id: &str) -> Result<Option<GrantRecord>, StoreError>;
    /// Rotates the refresh token of an active grant still at `expected_version`: the current hash
    /// becomes the previous one, `new_refresh_hash` the current, `groups` are replaced and the
    /// version is bumped. Returns the new state to exactly one of concurrent callers with the
    /// same `expected_version`; `None` to the others and for a revoked or absent grant.
    async fn rotate(
        &self,
        grant_id: &str,
        expected_version: u64,
        new_refresh_hash: &Sha256Hex,
        groups: &[String],
    ) -> Result<Option<GrantRecord>, StoreError>;
    /// Revokes the grant (whatever its version); `false` if it was absent or already revoked.
    async fn revoke(&self, grant_id: &str) -> Result<bool, StoreError>;
    /// Lists a user's grants by creation time, oldest first.
    async fn list_for_user(
        &self,
        sub: &str,
        page: &PageRequest,
    ) -> Result<Page<GrantRecord>, StoreError>;
    /// Lists a client's grants by creation time, oldest first. Every grant stored through
    /// [`GrantStore::create`] is listed (its index entry is written before the grant itself).
    async fn list_for_client(
        &self,
        client_id: &str,
        page: &PageRequest,
    ) -> Result<Page<GrantRecord>, StoreError>;
    /// Revokes every active grant of the user and returns those this call revoked (as stored
    /// before, with `status` set to revoked). Grants revoked meanwhile by others are left out.
    async fn revoke_all_for_user(&self, sub: &str) -> Result<Vec<GrantRecord>, StoreError>;
    /// Revokes every active grant of the client; as [`GrantStore::revoke_all_for_user`].
    async fn revoke_all_for_client(&self, client_id: &str) -> Result<Vec<GrantRecord>, StoreError>;
}

fn grant_key(grant_id: &str) -> (String, String) {
    (format!("GRANT#{grant_id}"), "GRANT".into())
}

pub(super) fn grant_item(grant: &GrantRecord) -> Result<Item, StoreError> {
    let (pk, sk) = grant_key(&grant.grant_id);
    let gsi1 = (
        format!("USER#{}", grant.sub),
        format!("GRANT#{}#{}", rfc3339(grant.created_at), grant.grant_id),
    );
    encode(pk, sk, Some(gsi1), grant)
}

/// A client's grant listing, before sharding.
fn client_grants_base(client_id: &str) -> String {
    format!("CLIENTGRANT#{client_id}")
}

/// The per-client listing entry of a grant (`CLIENTGRANT#<client_id>#<nn>` /
/// `<created>#<grant_id>`, sharded by the grant id), pointing at the grant item; it expires with
/// the grant.
pub(super) fn client_grant_item(grant: &GrantRecord) -> Item {
    let base = client_grants_base(grant.client_id.as_str());
    let mut item = Item::new(
        shard::key_for(&base, &grant.grant_id, CLIENT_GRANT_SHARDS),
        format!("{}#{}", rfc3339(grant.created_at), grant.grant_id),
    );
    item.expires_at = grant.expires_at;
    item.attrs
        .insert("grant_id".into(), Value::from(grant.grant_id.clone()));
    item
}

impl ItemStore {
    /// Revokes each listed grant that is still active; returns those this call revoked.
    async fn revoke_listed(
        &self,
        grants: Vec<GrantRecord>,
    ) -> Result<Vec<GrantRecord>, StoreError> {
        let mut revoked = Vec::new();
        for grant in grants {
            if grant.status == GrantStatus::Active
                && GrantStore::revoke(self, &grant.grant_id).await?
            {
                revoked.push(GrantRecord {
                    status: GrantStatus::Revoked,
                    ..grant
                });
            }
        }
        Ok(revoked)
    }

    /// Every grant of a user's (`by_client` false) or a client's listing, all pages.
    async fn all_grants(
        &self,
        owner: &str,
        by_client: bool,
    ) -> Result<Vec<GrantRecord>, StoreError> {
        let mut all = Vec::new();
        let mut request = PageRequest::first(MAX_PAGE);
        loop {
            let page = if by_client {
                GrantStore::list_for_client(self, owner, &request).await?
            } else {
                GrantStore::list_for_user(self, owner, &request).await?
            };
            all.extend(page.items);
            match page.next {
                Some(next) => request.after = Some(next),
                None => return Ok(all),
            }
        }
    }
}

#[async_trait]
impl GrantStore for ItemStore {
    async fn create(&self, grant: &GrantRecord) -> Result<bool, StoreError> {
        // The grant and its per-client listing entry in one step: a grant is always listed.
        let writes = [
            (client_grant_item(grant), Condition::Always),
            (grant_item(grant)?, Condition::Absent),
        ];
        self.backend.put_all(&writes, self.now()).await
    }

    async fn get(&self, grant_id: &str) -> Result<Option<GrantRecord>, StoreError> {
        let (pk, sk) = grant_key(grant_id);
        self.get_record(&pk, &sk).await
    }

    async fn rotate(
        &self,
        grant_id: &str,
        expected_version: u64,
        new_refresh_hash: &Sha256Hex,
        groups: &[String],
    ) -> Result<Option<GrantRecord>, StoreError> {
        let Some(current) = GrantStore::get(self, grant_id).await? else {
            return Ok(None);
        };
        if current.status != GrantStatus::Active || current.version != expected_version {
            return Ok(None);
        }
        let now = self.now();
        let mut superseded = current.superseded_hashes.clone();
        if let Some(previous) = &current.previous_refresh_hash {
            superseded.push(previous.clone());
        }
        let excess = superseded
            .len()
            .saturating_sub(super::MAX_SUPERSEDED_REFRESH_HASHES);
        superseded.drain(..excess);
        let next = GrantRecord {
            superseded_hashes: superseded,
            previous_refresh_hash: Some(current.refresh_hash.clone()),
            refresh_hash: new_refresh_hash.clone(),
            rotated_at: Some(now),
            version: expected_version.saturating_add(1),
            groups: groups.to_vec(),
            ..current
        };
        let guard = Condition::Equals("version", Value::from(expected_version));
        if self.backend.put(&grant_item(&next)?, guard, now).await? {
            Ok(Some(next))
        } else {
            Ok(None)
        }
    }

    async fn revoke(&self, grant_id: &str) -> Result<bool, StoreError> {
        for _ in 0..CAS_ATTEMPTS {
            let now = self.now();
            // The grant's access tokens are revoked whether or not the grant is stored (a code
            // exchange for a client without refresh stores none, yet its tokens name one).
            let tokens = revocation_item(
                Revoked::Grant(grant_id),
                now,
                now.saturating_add(REVOCATION_HORIZON_SECS),
            );
            let Some(current) = GrantStore::get(self, grant_id).await? else {
                self.backend.put(&tokens, Condition::Always, now).await?;
                return Ok(false);
            };
            if current.status == GrantStatus::Revoked {
                self.backend.put(&tokens, Condition::Always, now).await?;
                return Ok(false);
            }
            let guard = Condition::Equals("version", Value::from(current.version));
            let next = GrantRecord {
                status: GrantStatus::Revoked,
                version: current.version.saturating_add(1),
                ..current
            };
            // The grant and its tokens in one step: a revoked grant never leaves usable tokens.
            let writes = [(grant_item(&next)?, guard), (tokens, Condition::Always)];
            if self.backend.put_all(&writes, now).await? {
                return Ok(true);
            }
        }
        Err(StoreError::Unavailable(format!(
            "grant {grant_id} kept changing during revocation"
        )))
    }

    async fn list_for_user(
        &self,
        sub: &str,
        page: &PageRequest,
    ) -> Result<Page<GrantRecord>, StoreError> {
        self.list(Index::Gsi1, vec![format!("USER#{sub}")], "GRANT#", page)
            .await
    }

    async fn list_for_client(
        &self,
        client_id: &str,
        page: &PageRequest,
    ) -> Result<Page<GrantRecord>, StoreError> {
        let partitions = shard::partitions(&client_grants_base(client_id), CLIENT_GRANT_SHARDS);
        let (entries, next) = self
            .list_items(Index::Primary, partitions, "", page)
            .await?;
        let mut items = Vec::with_capacity(entries.len());
        for entry in entries {
            let Some(grant_id) = entry.attrs.get("grant_id").and_then(Value::as_str) else {
                return Err(StoreError::corrupt(
                    entry.pk,
                    "grant listing entry lacks grant_id",
                ));
            };
            if let Some(grant) = GrantStore::get(self, grant_id).await? {
                items.push(grant);
            }
        }
        Ok(Page { items, next })
    }

    async fn revoke_all_for_user(&self, sub: &str) -> Result<Vec<GrantRecord>, StoreError> {
        let grants = self.all_grants(sub, false).await?;
        self.revoke_listed(grants).await
    }

    async fn revoke_all_for_client(&self, client_id: &str) -> Result<Vec<GrantRecord>, StoreError> {
        let grants = self.all_grants(client_id, true).await?;
        self.revoke_listed(grants).await
    }
}
