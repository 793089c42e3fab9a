//! The aggregate ports implemented once over the single-table item model: key layout, record
//! encoding, expiry and the compare-and-set loops. Listings that many users write are sharded
//! ([`super::shard`]). Grants, the audit trail, the revocation list and the counters and caches
//! have their own modules.

use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::audit::audit_item;
use super::grants::{client_grant_item, grant_item};
use super::item::{Condition, Index, Item, ItemBackend};
use super::shard::{self, CLIENT_LIST_SHARDS, Merged};
use super::{
    AuditEvent, AuthorizationCodeStore, ClientRecord, ClientStatus, ClientStore, CodeRecord,
    ConsentRecord, ConsentStore, GrantRecord, LoginUser, LoginUserStore, Page, PageRequest,
    PendingAuthorization, PendingAuthorizationStore, StoreError,
};
use crate::clock::{Clock, rfc3339};

/// How long a redeemed code's item is kept after its validity ends, to recognise replays.
pub const CODE_REPLAY_RETENTION_SECS: i64 = 600;
/// Audit events are kept this long.
pub const AUDIT_RETENTION_SECS: i64 = 90 * 86_400;
/// Upper bound for one listing page.
pub const MAX_PAGE: usize = 1000;
/// Attempts for read-modify-write loops that only lose to other writers.
pub(super) const CAS_ATTEMPTS: usize = 16;

/// Every storage port over one [`ItemBackend`].
pub struct ItemStore {
    pub(super) backend: Arc<dyn ItemBackend>,
    clock: Arc<dyn Clock>,
}

impl ItemStore {
    pub fn new(backend: Arc<dyn ItemBackend>, clock: Arc<dyn Clock>) -> Self {
        Self { backend, clock }
    }

    pub(super) fn now(&self) -> i64 {
        self.clock.now()
    }

    pub(super) fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    pub(super) fn backend(&self) -> &dyn ItemBackend {
        self.backend.as_ref()
    }

    /// Writes `item` unconditionally.
    pub(super) async fn put_always(&self, item: &Item) -> Result<(), StoreError> {
        self.backend
            .put(item, Condition::Always, self.now())
            .await
            .map(drop)
    }

    pub(super) async fn get_record<T: DeserializeOwned>(
        &self,
        pk: &str,
        sk: &str,
    ) -> Result<Option<T>, StoreError> {
        match self.backend.get(pk, sk, self.now()).await? {
            Some(item) => decode(item).map(Some),
            None => Ok(None),
        }
    }

    /// One page of the items of `partitions` (one listing, or the shards of one) in ascending
    /// sort-key order.
    pub(super) async fn list_items(
        &self,
        index: Index,
        partitions: Vec<String>,
        prefix: &str,
        page: &PageRequest,
    ) -> Result<(Vec<Item>, Option<String>), StoreError> {
        let limit = page.limit.clamp(1, MAX_PAGE);
        let after = page.after.as_deref();
        let items = match partitions.as_slice() {
            [partition] => {
                let now = self.now();
                (self.backend)
                    .query(index, partition, prefix, after, limit, now)
                    .await?
            }
            _ => {
                let now = self.now();
                let mut merged = Merged::new(self.backend(), index, partitions, prefix, after, now);
                merged.next(limit).await?
            }
        };
        let next = if items.len() == limit {
            items
                .last()
                .map(|item| shard::sort_key(index, item).to_owned())
        } else {
            None
        };
        Ok((items, next))
    }

    /// One page of records of `partitions`, as [`ItemStore::list_items`].
    pub(super) async fn list<T: DeserializeOwned>(
        &self,
        index: Index,
        partitions: Vec<String>,
        prefix: &str,
        page: &PageRequest,
    ) -> Result<Page<T>, StoreError> {
        let (items, next) = self.list_items(index, partitions, prefix, page).await?;
        let items = items.into_iter().map(decode).collect::<Result<_, _>>()?;
        Ok(Page { items, next })
    }
}

/// Encodes a record as an item: its fields become attributes; a top-level `expires_at` field
/// becomes the item's TTL.
pub(super) fn encode<T: Serialize>(
    pk: String,
    sk: String,
    gsi1: Option<(String, String)>,
    record: &T,
) -> Result<Item, StoreError> {
    let mut attrs = match serde_json::to_value(record) {
        Ok(Value::Object(map)) => map,
        Ok(_) => return Err(StoreError::corrupt(pk, "record is not an object")),
        Err(e) => return Err(StoreError::corrupt(pk, e)),
    };
    let expires_at = attrs.remove("expires_at").and_then(|v| v.as_i64());
    Ok(Item {
        pk,
        sk,
        gsi1,
        expires_at,
        attrs,
    })
}

pub(super) fn decode<T: DeserializeOwned>(item: Item) -> Result<T, StoreError> {
    let Item {
        pk,
        expires_at,
        mut attrs,
        ..
    } = item;
    if let Some(at) = expires_at {
        attrs.insert("expires_at".into(), Value::from(at));
    }
    serde_json::from_value(Value::Object(attrs)).map_err(|e| StoreError::corrupt(pk, e))
}

fn client_key(client_id: &str) -> (String, String) {
    (format!("CLIENT#{client_id}"), "CLIENT".into())
}

/// The listing of all clients, before sharding (GSI1).
const CLIENTS: &str = "CLIENTS";

fn client_item(client: &ClientRecord) -> Result<Item, StoreError> {
    let (pk, sk) = client_key(&client.client_id);
    let gsi1 = (
        shard::key_for(CLIENTS, &client.client_id, CLIENT_LIST_SHARDS),
        format!("{}#{}", rfc3339(client.created_at), client.client_id),
    );
    encode(pk, sk, Some(gsi1), client)
}

#[async_trait]
impl ClientStore for ItemStore {
    async fn create(&self, client: &ClientRecord) -> Result<bool, StoreError> {
        let item = client_item(client)?;
        self.backend.put(&item, Condition::Absent, self.now()).await
    }

    async fn get(&self, client_id: &str) -> Result<Option<ClientRecord>, StoreError> {
        let (pk, sk) = client_key(client_id);
        self.get_record(&pk, &sk).await
    }

    async fn replace(&self, client: &ClientRecord) -> Result<bool, StoreError> {
        let mut next = client.clone();
        next.revision = client.revision.saturating_add(1);
        let item = client_item(&next)?;
        let guard = Condition::Equals("revision", Value::from(client.revision));
        self.backend.put(&item, guard, self.now()).await
    }

    async fn delete(&self, client_id: &str) -> Result<bool, StoreError> {
        let (pk, sk) = client_key(client_id);
        self.backend.delete(&pk, &sk, self.now()).await
    }

    async fn list(&self, page: &PageRequest) -> Result<Page<ClientRecord>, StoreError> {
        let partitions = shard::partitions(CLIENTS, CLIENT_LIST_SHARDS);
        self.list(Index::Gsi1, partitions, "", page).await
    }

    async fn list_since(
        &self,
        since: i64,
        page: &PageRequest,
    ) -> Result<Page<ClientRecord>, StoreError> {
        // Keys are `<created>#<id>`, so every key at or after `since` sorts after the bare time.
        let start = rfc3339(since);
        let after = match &page.after {
            Some(after) if *after > start => after.clone(),
            _ => start,
        };
        let page = PageRequest {
            after: Some(after),
            limit: page.limit,
        };
        let partitions = shard::partitions(CLIENTS, CLIENT_LIST_SHARDS);
        self.list(Index::Gsi1, partitions, "", &page).await
    }

    async fn set_status(
        &self,
        client_id: &str,
        status: ClientStatus,
    ) -> Result<Option<ClientRecord>, StoreError> {
        for _ in 0..CAS_ATTEMPTS {
            let Some(current) = ClientStore::get(self, client_id).await? else {
                return Ok(None);
            };
            if current.status == status {
                return Ok(Some(current));
            }
            let next = ClientRecord {
                status,
                ..current.clone()
            };
            if self.replace(&next).await? {
                return Ok(Some(ClientRecord {
                    revision: current.revision.saturating_add(1),
                    ..next
                }));
            }
        }
        Err(StoreError::Unavailable(format!(
            "client {client_id} kept changing while its status was set"
        )))
    }
}

fn pending_key(id: &str) -> (String, String) {
    (format!("AUTHREQ#{id}"), "AUTHREQ".into())
}

#[async_trait]
impl PendingAuthorizationStore for ItemStore {
    async fn put(&self, request: &PendingAuthorization) -> Result<bool, StoreError> {
        let (pk, sk) = pending_key(&request.id);
        let item = encode(pk, sk, None, request)?;
        self.backend.put(&item, Condition::Absent, self.now()).await
    }

    async fn get(&self, id: &str) -> Result<Option<PendingAuthorization>, StoreError> {
        let (pk, sk) = pending_key(id);
        self.get_record(&pk, &sk).await
    }

    async fn take(&self, id: &str) -> Result<Option<PendingAuthorization>, StoreError> {
        let (pk, sk) = pending_key(id);
        match self.backend.take(&pk, &sk, self.now()).await? {
            Some(item) => decode(item).map(Some),
            None => Ok(None),
        }
    }
}

fn code_key(hash: &str) -> (String, String) {
    (format!("CODE#{hash}"), "CODE".into())
}

fn code_item(code: &CodeRecord, redeemed: bool) -> Result<Item, StoreError> {
    let (pk, sk) = code_key(&code.code_hash);
    let mut item = encode(pk, sk, None, code)?;
    item.attrs.insert("redeemed".into(), Value::Bool(redeemed));
    item.expires_at = Some(code.valid_until.saturating_add(CODE_REPLAY_RETENTION_SECS));
    Ok(item)
}

#[async_trait]
impl AuthorizationCodeStore for ItemStore {
    async fn put(&self, code: &CodeRecord) -> Result<bool, StoreError> {
        let item = code_item(code, false)?;
        self.backend.put(&item, Condition::Absent, self.now()).await
    }

    async fn peek(&self, code_hash: &str) -> Result<Option<(CodeRecord, bool)>, StoreError> {
        let (pk, sk) = code_key(code_hash);
        let Some(mut item) = self.backend.get(&pk, &sk, self.now()).await? else {
            return Ok(None);
        };
        let redeemed = item.attrs.remove("redeemed") == Some(Value::Bool(true));
        item.expires_at = None;
        Ok(Some((decode(item)?, redeemed)))
    }

    async fn redeem_into_grant(
        &self,
        code: &CodeRecord,
        grant: Option<&GrantRecord>,
        event: &AuditEvent,
    ) -> Result<bool, StoreError> {
        let mut writes = vec![(
            code_item(code, true)?,
            Condition::Equals("redeemed", Value::Bool(false)),
        )];
        if let Some(grant) = grant {
            writes.push((client_grant_item(grant), Condition::Always));
            writes.push((grant_item(grant)?, Condition::Absent));
        }
        writes.push((audit_item(event)?, Condition::Always));
        self.backend.put_all(&writes, self.now()).await
    }

    async fn redeem(&self, code_hash: &str) -> Result<bool, StoreError> {
        let (pk, sk) = code_key(code_hash);
        let now = self.now();
        let Some(mut item) = self.backend.get(&pk, &sk, now).await? else {
            return Ok(false);
        };
        if item.attrs.remove("redeemed") == Some(Value::Bool(true)) {
            return Ok(false);
        }
        item.expires_at = None;
        let record: CodeRecord = decode(item)?;
        let marked = code_item(&record, true)?;
        let guard = Condition::Equals("redeemed", Value::Bool(false));
        self.backend.put(&marked, guard, now).await
    }
}

fn consent_key(sub: &str, client_id: &str) -> (String, String) {
    (format!("USER#{sub}"), format!("CONSENT#{client_id}"))
}

#[async_trait]
impl ConsentStore for ItemStore {
    async fn put(&self, consent: &ConsentRecord) -> Result<(), StoreError> {
        let (pk, sk) = consent_key(&consent.sub, &consent.client_id);
        let item = encode(pk, sk, None, consent)?;
        self.backend
            .put(&item, Condition::Always, self.now())
            .await
            .map(drop)
    }

    async fn get(&self, sub: &str, client_id: &str) -> Result<Option<ConsentRecord>, StoreError> {
        let (pk, sk) = consent_key(sub, client_id);
        self.get_record(&pk, &sk).await
    }

    async fn delete(&self, sub: &str, client_id: &str) -> Result<bool, StoreError> {
        let (pk, sk) = consent_key(sub, client_id);
        self.backend.delete(&pk, &sk, self.now()).await
    }

    async fn list_for_user(
        &self,
        sub: &str,
        page: &PageRequest,
    ) -> Result<Page<ConsentRecord>, StoreError> {
        self.list(
            Index::Primary,
            vec![format!("USER#{sub}")],
            "CONSENT#",
            page,
        )
        .await
    }
}

fn login_key(username: &str) -> (String, String) {
    (format!("LOGIN#{username}"), "LOGIN".into())
}

fn login_item(user: &LoginUser) -> Result<Item, StoreError> {
    let (pk, sk) = login_key(&user.username);
    encode(pk, sk, Some(("LOGINS".into(), user.username.clone())), user)
}

#[async_trait]
impl LoginUserStore for ItemStore {
    async fn create(&self, user: &LoginUser) -> Result<bool, StoreError> {
        let item = login_item(user)?;
        self.backend.put(&item, Condition::Absent, self.now()).await
    }

    async fn get(&self, username: &str) -> Result<Option<LoginUser>, StoreError> {
        let (pk, sk) = login_key(username);
        self.get_record(&pk, &sk).await
    }

    async fn update(&self, user: &LoginUser) -> Result<bool, StoreError> {
        let item = login_item(user)?;
        let guard = Condition::Equals("username", Value::from(user.username.clone()));
        self.backend.put(&item, guard, self.now()).await
    }

    async fn any(&self) -> Result<bool, StoreError> {
        let found = self
            .backend
            .query(Index::Gsi1, "LOGINS", "", None, 1, self.now())
            .await?;
        Ok(!found.is_empty())
    }

    async fn list(&self, page: &PageRequest) -> Result<Page<LoginUser>, StoreError> {
        self.list(Index::Gsi1, vec!["LOGINS".into()], "", page)
            .await
    }
}
