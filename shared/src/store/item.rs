//! The single-table item model both adapters store (docs/architecture.md, "Storage"): `PK`/`SK`
//! keys, an optional `GSI1PK`/`GSI1SK` listing key, the `expires_at` TTL attribute, and the item's
//! other attributes.
//!
//! Aggregate stores are written once over [`ItemBackend`]; an adapter only implements these
//! primitives, each with the atomicity guarantee documented on it.

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::StoreError;

/// One stored item. `attrs` never contains the key attributes or `expires_at`.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub pk: String,
    pub sk: String,
    pub gsi1: Option<(String, String)>,
    /// Epoch seconds after which the item is treated as absent (and DynamoDB deletes it, late).
    pub expires_at: Option<i64>,
    pub attrs: Map<String, Value>,
}

impl Item {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Self {
            pk: pk.into(),
            sk: sk.into(),
            gsi1: None,
            expires_at: None,
            attrs: Map::new(),
        }
    }

    /// Whether the item has expired at `now` (epoch seconds): expired items are absent to readers.
    pub fn is_expired(&self, now: i64) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

/// The condition a conditional write checks atomically against the stored item.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// Write unconditionally.
    Always,
    /// No live item exists under the key (an expired one counts as absent).
    Absent,
    /// A live item exists and its attribute `name` equals `value`.
    Equals(&'static str, Value),
}

/// What a backend can tell of its committed state without reading it ([`ItemBackend::commit_mark`]):
/// two marks taken at two instants are equal only if no write was committed in between, by this
/// process or by any other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitMark(pub(super) [u8; 48]);

/// The most items one [`ItemBackend::put_all`] writes.
pub const MAX_ATOMIC_WRITES: usize = 25;

/// The most keys one [`ItemBackend::get_many`] reads (DynamoDB's `BatchGetItem` takes 100).
pub const MAX_BATCH_READS: usize = 100;

/// Which listing to query, newest keys last (ascending sort key order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Index {
    /// Items sharing a `PK`, ordered by `SK`.
    Primary,
    /// Items sharing a `GSI1PK`, ordered by `GSI1SK`.
    Gsi1,
}

/// Storage primitives over the single-table model.
///
/// Every read treats items whose `expires_at` is at or before `now` as absent, because DynamoDB's
/// TTL deletes them late. Infrastructure failures are `Err`; "not there" and "condition not met"
/// are ordinary results.
#[async_trait]
pub trait ItemBackend: Send + Sync + 'static {
    /// Reads one live item.
    async fn get(&self, pk: &str, sk: &str, now: i64) -> Result<Option<Item>, StoreError>;

    /// Reads several live items, as one request where the backend allows (DynamoDB
    /// `BatchGetItem`, strongly consistent): the items found, in any order; absent or expired
    /// ones are left out. At most [`MAX_BATCH_READS`] distinct keys. The default reads them one
    /// by one.
    async fn get_many(&self, keys: &[(String, String)], now: i64) -> Result<Vec<Item>, StoreError> {
        let mut found = Vec::with_capacity(keys.len());
        for (pk, sk) in keys {
            if let Some(item) = self.get(pk, sk, now).await? {
                found.push(item);
            }
        }
        Ok(found)
    }

    /// The mark of the committed state, when the backend can take one without a read and
    /// without a lock (SQLite, from the index of its write-ahead log); `None` when it cannot
    /// (DynamoDB, an in-memory database). A caller may keep what a read found for as long as
    /// the mark it took before that read stays the same.
    fn commit_mark(&self) -> Option<CommitMark> {
        None
    }

    /// Writes `item` (replacing any previous one) if `condition` holds at the moment of the write.
    /// Returns `false`, writing nothing, when it does not. Under concurrency exactly one of several
    /// writers with the same condition on the same stored state succeeds.
    async fn put(&self, item: &Item, condition: Condition, now: i64) -> Result<bool, StoreError>;

    /// Writes every item of `writes` if every condition holds, all or nothing, in one atomic step:
    /// `false`, writing nothing, when any does not, or (DynamoDB) when concurrent transactions on
    /// the same items kept conflicting after bounded retries: a lost race either way. The keys
    /// must be distinct, and there may be at most [`MAX_ATOMIC_WRITES`] of them (DynamoDB's
    /// transaction limit is higher).
    async fn put_all(&self, writes: &[(Item, Condition)], now: i64) -> Result<bool, StoreError>;

    /// Deletes the item and returns it if it was live. Of concurrent callers at most one gets `Some`.
    async fn take(&self, pk: &str, sk: &str, now: i64) -> Result<Option<Item>, StoreError>;

    /// Deletes the item if present; returns whether a live item was deleted.
    async fn delete(&self, pk: &str, sk: &str, now: i64) -> Result<bool, StoreError> {
        Ok(self.take(pk, sk, now).await?.is_some())
    }

    /// Lists live items under `partition` whose sort key starts with `prefix`, in ascending
    /// sort-key order, starting strictly after the sort key `after`, at most `limit` items.
    #[allow(clippy::too_many_arguments)]
    async fn query(
        &self,
        index: Index,
        partition: &str,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
        now: i64,
    ) -> Result<Vec<Item>, StoreError>;

    /// Atomically adds one to the numeric attribute `count` of the item (creating it with
    /// `expires_at`) and returns the new value.
    async fn increment(
        &self,
        pk: &str,
        sk: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<u64, StoreError>;
}
