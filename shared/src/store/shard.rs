//! Sharded listings: a partition that many users would write (a day's audit trail, the listing of
//! all clients, the listings of one client shared by many users) is spread over a fixed number of
//! shard partitions `<base>#<nn>`, and read back as one listing by querying every shard and
//! merging by sort key.
//!
//! The shard of an item is a stable hash of an id already in it (the event id, the grant id, the
//! client id), so a writer needs no read and any reader can name every shard. Sort keys are
//! unique across the shards of a listing (they end in that id), so a cursor "strictly after the
//! last sort key" continues a merged listing just as it does a single partition.
//!
//! Items written before sharding sit under the bare `<base>` key. Readers query it as one more
//! shard; nothing writes there any more, and it empties as its items expire or are rewritten
//! (docs/storage.md, "Existing tables").

use std::collections::VecDeque;

use super::StoreError;
use super::item::{Index, Item, ItemBackend};

/// Shards of a day's audit trail (`AUDIT#<day>`) and of a client's audit listing
/// (`AUDIT#CLIENT#<id>`, GSI1): every audited operation writes one of each.
pub const AUDIT_SHARDS: u32 = 16;
/// Shards of a client's grant listing (`CLIENTGRANT#<id>`): one write per code exchange.
pub const CLIENT_GRANT_SHARDS: u32 = 16;
/// Shards of the listing of all clients (`CLIENTS`, GSI1): one write per registration, status
/// change or (at most once a minute per client) last-use update.
pub const CLIENT_LIST_SHARDS: u32 = 8;

/// The shard of `id` among `shards`: FNV-1a (64 bit) of its bytes, modulo `shards`. Stable
/// across builds, platforms and releases (unlike the standard library's hasher), which the
/// layout needs: readers and writers of every version must agree.
pub fn shard_of(id: &str, shards: u32) -> u32 {
    let hash = id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    u32::try_from(hash % u64::from(shards.max(1))).unwrap_or(0)
}

/// The partition key of shard `shard` of the listing `base`. Client ids contain no `#` (dynamic
/// ids are base64url, document URLs have no fragment), so `<base>#<nn>` never names another
/// listing's unsharded key.
pub fn shard_key(base: &str, shard: u32) -> String {
    format!("{base}#{shard:02}")
}

/// The key `id`'s item goes under in the listing `base` of `shards` shards.
pub fn key_for(base: &str, id: &str, shards: u32) -> String {
    shard_key(base, shard_of(id, shards))
}

/// Every partition a reader of the listing `base` queries: each shard, and the unsharded key
/// that items written before sharding still occupy.
pub fn partitions(base: &str, shards: u32) -> Vec<String> {
    let mut all: Vec<String> = (0..shards.max(1)).map(|s| shard_key(base, s)).collect();
    all.push(base.to_owned());
    all
}

/// The key a listing of `index` is ordered by.
pub fn sort_key(index: Index, item: &Item) -> &str {
    match (index, &item.gsi1) {
        (Index::Gsi1, Some((_, sk))) => sk,
        _ => &item.sk,
    }
}

/// The sort key of the next item `source` has read ahead, if any.
fn head_key(index: Index, source: &Source) -> Option<&str> {
    source.buffered.front().map(|item| sort_key(index, item))
}

/// One partition of a merged listing: items read ahead and where to continue.
struct Source {
    partition: String,
    buffered: VecDeque<Item>,
    after: Option<String>,
    exhausted: bool,
}

/// Several partitions read as one listing in ascending sort-key order. Each partition is read in
/// chunks as the merge consumes it; the first chunks are read concurrently.
pub struct Merged<'a> {
    backend: &'a dyn ItemBackend,
    index: Index,
    prefix: &'a str,
    now: i64,
    sources: Vec<Source>,
}

impl<'a> Merged<'a> {
    /// A listing of `partitions` under `index`, of sort keys starting with `prefix` and strictly
    /// after `after`.
    pub fn new(
        backend: &'a dyn ItemBackend,
        index: Index,
        partitions: Vec<String>,
        prefix: &'a str,
        after: Option<&str>,
        now: i64,
    ) -> Self {
        let sources = partitions
            .into_iter()
            .map(|partition| Source {
                partition,
                buffered: VecDeque::new(),
                after: after.map(str::to_owned),
                exhausted: false,
            })
            .collect();
        Self {
            backend,
            index,
            prefix,
            now,
            sources,
        }
    }

    /// The next at most `limit` items in sort-key order; fewer only when the listing ends.
    pub async fn next(&mut self, limit: usize) -> Result<Vec<Item>, StoreError> {
        // Read ahead about a fair share of the page per partition, at least a few items.
        let chunk = (limit.div_ceil(self.sources.len().max(1)) * 2).clamp(8, limit.max(8));
        let mut out = Vec::with_capacity(limit);
        while out.len() < limit {
            self.refill(chunk).await?;
            let index = self.index;
            let next = self
                .sources
                .iter_mut()
                .filter(|s| !s.buffered.is_empty())
                .min_by(|a, b| head_key(index, a).cmp(&head_key(index, b)));
            match next.and_then(|s| s.buffered.pop_front()) {
                Some(item) => out.push(item),
                None => break,
            }
        }
        Ok(out)
    }

    /// Reads the next chunk of every partition whose read-ahead ran out, concurrently.
    async fn refill(&mut self, chunk: usize) -> Result<(), StoreError> {
        let (backend, index, prefix, now) = (self.backend, self.index, self.prefix, self.now);
        let reads = self
            .sources
            .iter_mut()
            .filter(|s| s.buffered.is_empty() && !s.exhausted)
            .map(|source| async move {
                let items = backend
                    .query(
                        index,
                        &source.partition,
                        prefix,
                        source.after.as_deref(),
                        chunk,
                        now,
                    )
                    .await?;
                source.exhausted = items.len() < chunk;
                if let Some(last) = items.last() {
                    source.after = Some(sort_key(index, last).to_owned());
                }
                source.buffered.extend(items);
                Ok::<(), StoreError>(())
            });
        futures::future::try_join_all(reads).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;

    use super::*;
    use crate::store::item::Condition;
    use crate::store::sqlite::SqliteBackend;

    /// Counts the queries and the items they return.
    struct Reads {
        inner: SqliteBackend,
        queries: AtomicUsize,
        items: AtomicUsize,
    }

    #[async_trait]
    impl ItemBackend for Reads {
        async fn get(&self, pk: &str, sk: &str, now: i64) -> Result<Option<Item>, StoreError> {
            self.inner.get(pk, sk, now).await
        }
        async fn put(&self, item: &Item, c: Condition, now: i64) -> Result<bool, StoreError> {
            self.inner.put(item, c, now).await
        }
        async fn put_all(&self, w: &[(Item, Condition)], now: i64) -> Result<bool, StoreError> {
            self.inner.put_all(w, now).await
        }
        async fn take(&self, pk: &str, sk: &str, now: i64) -> Result<Option<Item>, StoreError> {
            self.inner.take(pk, sk, now).await
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
            let found = (self.inner)
                .query(index, partition, prefix, after, limit, now)
                .await?;
            self.queries.fetch_add(1, Ordering::SeqCst);
            self.items.fetch_add(found.len(), Ordering::SeqCst);
            Ok(found)
        }
        async fn increment(
            &self,
            pk: &str,
            sk: &str,
            exp: i64,
            now: i64,
        ) -> Result<u64, StoreError> {
            self.inner.increment(pk, sk, exp, now).await
        }
    }

    #[tokio::test]
    async fn a_merged_page_reads_about_its_share_of_each_shard() {
        let backend = Arc::new(Reads {
            inner: SqliteBackend::in_memory().unwrap(),
            queries: AtomicUsize::new(0),
            items: AtomicUsize::new(0),
        });
        for i in 0..800 {
            let id = format!("item-{i:04}");
            let item = Item::new(key_for("LIST", &id, 16), id);
            assert!(backend.put(&item, Condition::Always, 0).await.unwrap());
        }
        let mut merged = Merged::new(
            backend.as_ref(),
            Index::Primary,
            partitions("LIST", 16),
            "",
            Some("item-0099"),
            0,
        );
        let page = merged.next(100).await.unwrap();
        let keys: Vec<_> = page.iter().map(|i| i.sk.clone()).collect();
        let expected: Vec<_> = (100..200).map(|i| format!("item-{i:04}")).collect();
        assert_eq!(keys, expected, "the next 100 in order, across the shards");
        // 17 partitions, chunks of 2 × ceil(100 / 17) = 12: one read each, a few refills.
        let (queries, items) = (
            backend.queries.load(Ordering::SeqCst),
            backend.items.load(Ordering::SeqCst),
        );
        assert!(queries <= 17 + 8, "{queries} queries");
        assert!(items <= 300, "{items} items read for a page of 100");
        let rest = merged.next(1000).await.unwrap();
        assert_eq!(rest.len(), 600, "to the end of the listing");
    }

    #[test]
    fn the_shard_function_is_stable_and_spreads_ids() {
        // Fixed values: a change of the function would move stored items out of reach.
        assert_eq!(shard_of("", 16), (0xcbf2_9ce4_8422_2325_u64 % 16) as u32);
        assert_eq!(shard_of("a", 16), (0xaf63_dc4c_8601_ec8c_u64 % 16) as u32);
        assert_eq!(shard_key("AUDIT#2026-01-01", 7), "AUDIT#2026-01-01#07");
        let mut counts = [0_u32; 16];
        for i in 0..16_000 {
            counts[shard_of(&format!("event-{i}"), 16) as usize] += 1;
        }
        assert!(
            counts.iter().all(|&c| (800..1200).contains(&c)),
            "{counts:?}"
        );
        assert_eq!(shard_of("anything", 1), 0);
        assert_eq!(
            partitions("CLIENTS", 2),
            ["CLIENTS#00", "CLIENTS#01", "CLIENTS"]
        );
    }
}
