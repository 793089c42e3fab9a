//! The aggregate ports implemented once over the single-table item model: key layout
//! (DESIGN section 6), record encoding, expiry and the compare-and-set loops.

use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::item::{Condition, Index, Item, ItemBackend};
use super::{
    AuditEvent, AuditQuery, AuditStore, AuthorizationCodeStore, CacheKind, CacheStore, CachedValue,
    ClientRecord, ClientStatus, ClientStore, CodeRecord, ConsentRecord, ConsentStore, GrantRecord,
    GrantStatus, GrantStore, Page, PageRequest, PendingAuthorization, PendingAuthorizationStore,
    RateLimitStore, Redemption, StoreError,
};
use super::{LoginUser, LoginUserStore, RevocationList, Revoked, TokenIdentity};
use crate::clock::{Clock, rfc3339, utc_day};
use crate::secret::sha256_hex;
use crate::token::REVOCATION_HORIZON_SECS;

/// How long a redeemed code's item is kept after its validity ends, to recognise replays.
pub const CODE_REPLAY_RETENTION_SECS: i64 = 600;
/// Audit events are kept this long.
pub const AUDIT_RETENTION_SECS: i64 = 90 * 86_400;
/// Upper bound for one listing page.
pub const MAX_PAGE: usize = 1000;
/// Attempts for read-modify-write loops that only lose to other writers.
const CAS_ATTEMPTS: usize = 16;

/// Every storage port over one [`ItemBackend`].
pub struct ItemStore {
    backend: Arc<dyn ItemBackend>,
    clock: Arc<dyn Clock>,
}

impl ItemStore {
    pub fn new(backend: Arc<dyn ItemBackend>, clock: Arc<dyn Clock>) -> Self {
        Self { backend, clock }
    }

    fn now(&self) -> i64 {
        self.clock.now()
    }

    async fn get_record<T: DeserializeOwned>(
        &self,
        pk: &str,
        sk: &str,
    ) -> Result<Option<T>, StoreError> {
        match self.backend.get(pk, sk, self.now()).await? {
            Some(item) => decode(item).map(Some),
            None => Ok(None),
        }
    }

    async fn list<T: DeserializeOwned>(
        &self,
        index: Index,
        partition: &str,
        prefix: &str,
        page: &PageRequest,
    ) -> Result<Page<T>, StoreError> {
        let limit = page.limit.clamp(1, MAX_PAGE);
        let items = self
            .backend
            .query(
                index,
                partition,
                prefix,
                page.after.as_deref(),
                limit,
                self.now(),
            )
            .await?;
        let next = if items.len() == limit {
            items.last().map(|item| match (index, &item.gsi1) {
                (Index::Gsi1, Some((_, sk))) => sk.clone(),
                _ => item.sk.clone(),
            })
        } else {
            None
        };
        let items = items.into_iter().map(decode).collect::<Result<_, _>>()?;
        Ok(Page { items, next })
    }
}

/// Encodes a record as an item: its fields become attributes; a top-level `expires_at` field
/// becomes the item's TTL.
fn encode<T: Serialize>(
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

fn decode<T: DeserializeOwned>(item: Item) -> Result<T, StoreError> {
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

fn client_item(client: &ClientRecord) -> Result<Item, StoreError> {
    let (pk, sk) = client_key(&client.client_id);
    let gsi1 = (
        "CLIENTS".to_owned(),
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
        self.list(Index::Gsi1, "CLIENTS", "", page).await
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
        self.list(Index::Gsi1, "CLIENTS", "", &page).await
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

fn audit_item(event: &AuditEvent) -> Result<Item, StoreError> {
    let secs = event.at_ms.div_euclid(1000);
    let ts = format!("{}#{}", audit_time(event.at_ms), event.id);
    let pk = format!("AUDIT#{}", utc_day(secs));
    let gsi1 = event
        .client_id
        .as_ref()
        .map(|id| (format!("AUDIT#CLIENT#{id}"), ts.clone()));
    let mut item = encode(pk, ts, gsi1, event)?;
    item.expires_at = Some(secs.saturating_add(AUDIT_RETENTION_SECS));
    Ok(item)
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

    async fn redeem(&self, code_hash: &str) -> Result<Option<Redemption>, StoreError> {
        let (pk, sk) = code_key(code_hash);
        let now = self.now();
        let Some(mut item) = self.backend.get(&pk, &sk, now).await? else {
            return Ok(None);
        };
        let already = item.attrs.remove("redeemed") == Some(Value::Bool(true));
        item.expires_at = None;
        let record: CodeRecord = decode(item)?;
        if already {
            return Ok(Some(Redemption::Replayed(record)));
        }
        let marked = code_item(&record, true)?;
        let guard = Condition::Equals("redeemed", Value::Bool(false));
        if self.backend.put(&marked, guard, now).await? {
            Ok(Some(Redemption::First(record)))
        } else {
            Ok(Some(Redemption::Replayed(record)))
        }
    }
}

fn grant_key(grant_id: &str) -> (String, String) {
    (format!("GRANT#{grant_id}"), "GRANT".into())
}

fn grant_item(grant: &GrantRecord) -> Result<Item, StoreError> {
    let (pk, sk) = grant_key(&grant.grant_id);
    let gsi1 = (
        format!("USER#{}", grant.sub),
        format!("GRANT#{}#{}", rfc3339(grant.created_at), grant.grant_id),
    );
    encode(pk, sk, Some(gsi1), grant)
}

/// The per-client listing entry of a grant (`CLIENTGRANT#<client_id>` / `<created>#<grant_id>`),
/// pointing at the grant item; it expires with the grant.
fn client_grant_item(grant: &GrantRecord) -> Item {
    let mut item = Item::new(
        format!("CLIENTGRANT#{}", grant.client_id),
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
        new_refresh_hash: &str,
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
            refresh_hash: new_refresh_hash.to_owned(),
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
        self.list(Index::Gsi1, &format!("USER#{sub}"), "GRANT#", page)
            .await
    }

    async fn list_for_client(
        &self,
        client_id: &str,
        page: &PageRequest,
    ) -> Result<Page<GrantRecord>, StoreError> {
        let limit = page.limit.clamp(1, MAX_PAGE);
        let entries = self
            .backend
            .query(
                Index::Primary,
                &format!("CLIENTGRANT#{client_id}"),
                "",
                page.after.as_deref(),
                limit,
                self.now(),
            )
            .await?;
        let next = if entries.len() == limit {
            entries.last().map(|entry| entry.sk.clone())
        } else {
            None
        };
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
        self.list(Index::Primary, &format!("USER#{sub}"), "CONSENT#", page)
            .await
    }
}

/// An audit sort-key time: `2026-01-01T00:00:03.001Z`, fixed width, so keys sort in time order.
fn audit_time(at_ms: i64) -> String {
    format!(
        "{}.{:03}Z",
        rfc3339(at_ms.div_euclid(1000)).trim_end_matches('Z'),
        at_ms.rem_euclid(1000)
    )
}

/// Items read per backend query while searching the audit trail.
const AUDIT_SCAN_BATCH: usize = 500;

#[async_trait]
impl AuditStore for ItemStore {
    async fn append(&self, event: &AuditEvent) -> Result<(), StoreError> {
        let item = audit_item(event)?;
        self.backend
            .put(&item, Condition::Always, self.now())
            .await
            .map(drop)
    }

    async fn list_day(
        &self,
        day: &str,
        page: &PageRequest,
    ) -> Result<Page<AuditEvent>, StoreError> {
        self.list(Index::Primary, &format!("AUDIT#{day}"), "", page)
            .await
    }

    async fn list_for_client(
        &self,
        client_id: &str,
        page: &PageRequest,
    ) -> Result<Page<AuditEvent>, StoreError> {
        self.list(Index::Gsi1, &format!("AUDIT#CLIENT#{client_id}"), "", page)
            .await
    }

    async fn search(
        &self,
        query: &AuditQuery,
        page: &PageRequest,
    ) -> Result<Page<AuditEvent>, StoreError> {
        let now = self.now();
        // No event is older than the retention or (allowing for skewed clocks) a day ahead:
        // the range is cut to that, so a wide range does not query empty day partitions.
        let now_ms = self.clock.now_ms();
        let retention_ms = AUDIT_RETENTION_SECS.saturating_mul(1000);
        let until_ms = query
            .until_ms
            .unwrap_or_else(|| now_ms.saturating_add(1))
            .min(now_ms.saturating_add(86_400_000));
        let since_ms = query
            .since_ms
            .unwrap_or_else(|| until_ms.saturating_sub(retention_ms))
            .max(now_ms.saturating_sub(retention_ms.saturating_add(86_400_000)));
        let limit = page.limit.clamp(1, MAX_PAGE);
        let mut items = Vec::new();
        if since_ms >= until_ms {
            return Ok(Page { items, next: None });
        }
        let until_key = audit_time(until_ms);
        // Every key at or after `since_ms` sorts after the bare time.
        let mut cursor = match &page.after {
            Some(after) if *after > audit_time(since_ms) => after.clone(),
            _ => audit_time(since_ms),
        };
        let partitions: Vec<(Index, String)> = match &query.client_id {
            Some(client_id) => vec![(Index::Gsi1, format!("AUDIT#CLIENT#{client_id}"))],
            None => {
                let first = since_ms.div_euclid(86_400_000);
                let last = until_ms.saturating_sub(1).div_euclid(86_400_000);
                let cursor_day = cursor.get(..10).unwrap_or_default().to_owned();
                (first..=last)
                    .map(|day| utc_day(day.saturating_mul(86_400)))
                    .filter(|day| *day >= cursor_day)
                    .map(|day| (Index::Primary, format!("AUDIT#{day}")))
                    .collect()
            }
        };
        let batch = AUDIT_SCAN_BATCH.max(limit).min(MAX_PAGE);
        for (index, partition) in partitions {
            loop {
                let found = self
                    .backend
                    .query(index, &partition, "", Some(&cursor), batch, now)
                    .await?;
                let complete = found.len() < batch;
                for item in found {
                    let key = match (index, &item.gsi1) {
                        (Index::Gsi1, Some((_, sk))) => sk.clone(),
                        _ => item.sk.clone(),
                    };
                    if key >= until_key {
                        return Ok(Page { items, next: None });
                    }
                    cursor = key;
                    let event: AuditEvent = decode(item)?;
                    if query.matches(&event) {
                        items.push(event);
                        if items.len() == limit {
                            return Ok(Page {
                                items,
                                next: Some(cursor),
                            });
                        }
                    }
                }
                if complete {
                    break;
                }
            }
        }
        Ok(Page { items, next: None })
    }
}

#[async_trait]
impl RateLimitStore for ItemStore {
    async fn hit(&self, key: &str, window_secs: u64) -> Result<u64, StoreError> {
        let now = self.now();
        let window = i64::try_from(window_secs.max(1)).unwrap_or(i64::MAX);
        let start = now - now.rem_euclid(window);
        let pk = format!("RATE#{key}#{start}");
        self.backend
            .increment(&pk, "RATE", start.saturating_add(window), now)
            .await
    }
}

fn cache_key(kind: CacheKind, key: &str) -> (String, String) {
    let name = match kind {
        CacheKind::ClientMetadataDocument => "CIMD",
        CacheKind::CostExplorer => "CECACHE",
    };
    (
        format!("{name}#{}", sha256_hex(key.as_bytes())),
        name.into(),
    )
}

#[async_trait]
impl CacheStore for ItemStore {
    async fn get(&self, kind: CacheKind, key: &str) -> Result<Option<CachedValue>, StoreError> {
        let (pk, sk) = cache_key(kind, key);
        let Some(item) = self.backend.get(&pk, &sk, self.now()).await? else {
            return Ok(None);
        };
        let value = item.attrs.get("value").and_then(Value::as_str);
        let stored_at = item.attrs.get("stored_at").and_then(Value::as_i64);
        match (value, stored_at, item.expires_at) {
            (Some(value), Some(stored_at), Some(expires_at)) => Ok(Some(CachedValue {
                value: value.to_owned(),
                stored_at,
                expires_at,
            })),
            _ => Err(StoreError::corrupt(pk, "cache entry lacks value or times")),
        }
    }

    async fn put(
        &self,
        kind: CacheKind,
        key: &str,
        value: &str,
        ttl_secs: u64,
    ) -> Result<(), StoreError> {
        let (pk, sk) = cache_key(kind, key);
        let now = self.now();
        let mut item = Item::new(pk, sk);
        item.expires_at = Some(now.saturating_add(i64::try_from(ttl_secs).unwrap_or(i64::MAX)));
        let mut attrs = Map::new();
        attrs.insert("value".into(), Value::from(value));
        attrs.insert("stored_at".into(), Value::from(now));
        item.attrs = attrs;
        self.backend
            .put(&item, Condition::Always, now)
            .await
            .map(drop)
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
        self.list(Index::Gsi1, "LOGINS", "", page).await
    }
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

fn revocation_item(what: Revoked<'_>, now: i64, keep_until: i64) -> Item {
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
