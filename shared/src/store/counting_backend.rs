//! A test backend that counts what a workload costs (`workload_tests`) and how often a port reads
//! (`revocations.rs`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::StoreError;
use super::item::{CommitMark, Condition, Index, Item, ItemBackend};

/// An [`ItemBackend`] that counts, per partition key, the write units DynamoDB would charge:
/// one per item written, deleted or incremented (items here stay under 1 KB), two inside a
/// transaction, on the table partition (`PK`) and again on the index partition (`GSI1:` +
/// `GSI1PK`) when the item carries a listing key. A conditional write that fails still costs
/// its units, as on DynamoDB.
/// It also counts reads (`get` and `get_many` calls), and passes the inner backend's commit mark
/// on.
pub struct CountingBackend {
    inner: Arc<dyn ItemBackend>,
    units: Mutex<HashMap<String, u64>>,
    reads: AtomicU64,
}

impl CountingBackend {
    pub fn new(inner: Arc<dyn ItemBackend>) -> Self {
        Self {
            inner,
            units: Mutex::new(HashMap::new()),
            reads: AtomicU64::new(0),
        }
    }

    /// Reads made so far.
    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::SeqCst)
    }

    fn count(&self, item: &Item, units: u64) {
        let mut counts = self.units.lock().unwrap();
        *counts.entry(item.pk.clone()).or_default() += units;
        if let Some((gsi1pk, _)) = &item.gsi1 {
            *counts.entry(format!("GSI1:{gsi1pk}")).or_default() += units;
        }
    }

    /// Every partition key with its write units, the busiest first.
    pub fn busiest(&self) -> Vec<(String, u64)> {
        let mut all: Vec<_> = self
            .units
            .lock()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        all
    }
}

#[async_trait]
impl ItemBackend for CountingBackend {
    async fn get(&self, pk: &str, sk: &str, now: i64) -> Result<Option<Item>, StoreError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.get(pk, sk, now).await
    }

    async fn get_many(&self, keys: &[(String, String)], now: i64) -> Result<Vec<Item>, StoreError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.get_many(keys, now).await
    }

    fn commit_mark(&self) -> Option<CommitMark> {
        self.inner.commit_mark()
    }

    async fn put(&self, item: &Item, condition: Condition, now: i64) -> Result<bool, StoreError> {
        self.count(item, 1);
        self.inner.put(item, condition, now).await
    }

    async fn put_all(&self, writes: &[(Item, Condition)], now: i64) -> Result<bool, StoreError> {
        for (item, _) in writes {
            self.count(item, 2);
        }
        self.inner.put_all(writes, now).await
    }

    async fn take(&self, pk: &str, sk: &str, now: i64) -> Result<Option<Item>, StoreError> {
        let taken = self.inner.take(pk, sk, now).await?;
        match &taken {
            Some(item) => self.count(item, 1),
            None => self.count(&Item::new(pk, sk), 1),
        }
        Ok(taken)
    }

    async fn query(
        &self,
        index: Index,
        partition: &str,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
        now: i64,
    ) -> Result<Vec<Item>, StoreError> {
        self.inner
            .query(index, partition, prefix, after, limit, now)
            .await
    }

    async fn increment(
        &self,
        pk: &str,
        sk: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<u64, StoreError> {
        self.count(&Item::new(pk, sk), 1);
        self.inner.increment(pk, sk, expires_at, now).await
    }
}
