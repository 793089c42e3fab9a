//! [`ItemStore`], which implements every aggregate port over the single-table item model, and
//! what the aggregates share: record encoding (a record's fields are an item's attributes, its
//! `expires_at` the item's TTL), point reads, paged listings (merged over the shards of a listing
//! that many users write, [`super::shard`]) and the bounds of pages and compare-and-set loops.
//! Each aggregate's record, port and key layout are in its own module (`clients.rs`,
//! `authorizations.rs`, `grants.rs`, `consents.rs`, `logins.rs`, `profiles.rs`, `audit.rs`, `limits.rs`,
//! `revocations.rs`).

use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::item::{Condition, Index, Item, ItemBackend};
use super::revocations::NotRevoked;
use super::shard::{self, Merged};
use super::{Page, PageRequest, StoreError};
use crate::clock::Clock;

/// Upper bound for one listing page.
pub const MAX_PAGE: usize = 1000;
/// Attempts for read-modify-write loops that only lose to other writers.
pub(super) const CAS_ATTEMPTS: usize = 16;

/// Every storage port over one [`ItemBackend`].
pub struct ItemStore {
    pub(super) backend: Arc<dyn ItemBackend>,
    clock: Arc<dyn Clock>,
    /// Tokens found not revoked since the last commit (`revocations.rs`).
    pub(super) not_revoked: NotRevoked,
}

impl ItemStore {
    pub fn new(backend: Arc<dyn ItemBackend>, clock: Arc<dyn Clock>) -> Self {
        Self {
            backend,
            clock,
            not_revoked: NotRevoked::default(),
        }
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
