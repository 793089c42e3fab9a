//! Fixed-window counters and the bounded caches: their values, ports and item mapping. Counters
//! (`RATE#<key>#<window start>`) and caches (`CIMD#<sha256>#<k>`, `CECACHE#<sha256>`) are one
//! small item per key, so their writes spread with the keys (a caller's address, a user, a
//! document, a question).
//!
//! A metadata document's entry is read by every request of its client, which may be every user
//! of the service: it is written in [`DOCUMENT_CACHE_COPIES`] copies (once per cache lifetime)
//! and each read asks one of them, so no single item takes all of the client's reads.

use async_trait::async_trait;
use rand::RngCore as _;
use serde_json::{Map, Value};

use super::StoreError;
use super::item::{Condition, Item};
use super::item_store::ItemStore;
use crate::secret::sha256_hex;

/// What a cache entry holds; each kind has its own key space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheKind {
    /// Fetched Client ID Metadata Documents.
    ClientMetadataDocument,
    /// Cost Explorer responses.
    CostExplorer,
}

/// A cached value with the instant it was stored.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedValue {
    pub value: String,
    pub stored_at: i64,
    pub expires_at: i64,
}

/// Fixed-window request counters.
#[async_trait]
pub trait RateLimitStore: Send + Sync {
    /// Counts one hit for `key` in the current window of `window_secs` and returns the hits in
    /// that window so far, this one included. Concurrent hits are all counted.
    async fn hit(&self, key: &str, window_secs: u64) -> Result<u64, StoreError>;
}

/// Bounded caches kept in the store (CIMD documents, Cost Explorer answers).
#[async_trait]
pub trait CacheStore: Send + Sync {
    /// Reads a live entry; `key` is hashed before use.
    async fn get(&self, kind: CacheKind, key: &str) -> Result<Option<CachedValue>, StoreError>;
    /// Stores an entry for `ttl_secs`.
    async fn put(
        &self,
        kind: CacheKind,
        key: &str,
        value: &str,
        ttl_secs: u64,
    ) -> Result<(), StoreError>;
}

/// Copies of a metadata document's cache entry. A partition serves about 3,000 strongly
/// consistent reads a second; a document client's sign-in reads its entry three times (authorize,
/// callback, token), so one copy would cap a shared client near 1,000 sign-ins a second and four
/// copies near 4,000, beyond what the other limits of a sign-in allow.
pub const DOCUMENT_CACHE_COPIES: u32 = 4;

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

/// The keys of every copy of an entry. Cost Explorer answers are kept once, under the key the
/// mcp function's role is limited to (`CECACHE#<sha256>`).
fn cache_keys(kind: CacheKind, key: &str) -> Vec<(String, String)> {
    let hash = sha256_hex(key.as_bytes());
    match kind {
        CacheKind::ClientMetadataDocument => (0..DOCUMENT_CACHE_COPIES)
            .map(|copy| (format!("CIMD#{hash}#{copy}"), "CIMD".to_owned()))
            .collect(),
        CacheKind::CostExplorer => vec![(format!("CECACHE#{hash}"), "CECACHE".to_owned())],
    }
}

#[async_trait]
impl CacheStore for ItemStore {
    async fn get(&self, kind: CacheKind, key: &str) -> Result<Option<CachedValue>, StoreError> {
        let keys = cache_keys(kind, key);
        // Any copy will do: spread the reads.
        let copy = rand::rng().next_u32() as usize % keys.len().max(1);
        let Some((pk, sk)) = keys.get(copy) else {
            return Ok(None);
        };
        let Some(item) = self.backend.get(pk, sk, self.now()).await? else {
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
            _ => Err(StoreError::corrupt(
                pk.clone(),
                "cache entry lacks value or times",
            )),
        }
    }

    async fn put(
        &self,
        kind: CacheKind,
        key: &str,
        value: &str,
        ttl_secs: u64,
    ) -> Result<(), StoreError> {
        let now = self.now();
        let mut attrs = Map::new();
        attrs.insert("value".into(), Value::from(value));
        attrs.insert("stored_at".into(), Value::from(now));
        // Copies written one by one: a reader meanwhile may see the older value, as it might
        // have a moment earlier.
        for (pk, sk) in cache_keys(kind, key) {
            let mut item = Item::new(pk, sk);
            item.expires_at = Some(now.saturating_add(i64::try_from(ttl_secs).unwrap_or(i64::MAX)));
            item.attrs = attrs.clone();
            self.backend.put(&item, Condition::Always, now).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::ManualClock;
    use crate::store::item::ItemBackend;
    use crate::store::sqlite::SqliteBackend;

    #[tokio::test]
    async fn a_document_entry_is_kept_in_copies_and_any_copy_answers() {
        let backend: Arc<dyn ItemBackend> = Arc::new(SqliteBackend::in_memory().unwrap());
        let store = ItemStore::new(backend.clone(), Arc::new(ManualClock::at(1_000)));
        let url = "https://claude.ai/oauth/client.json";
        let kind = CacheKind::ClientMetadataDocument;
        CacheStore::put(&store, kind, url, "{}", 60).await.unwrap();
        let keys = cache_keys(kind, url);
        assert_eq!(keys.len(), DOCUMENT_CACHE_COPIES as usize);
        for (pk, sk) in &keys {
            assert!(backend.get(pk, sk, 1_000).await.unwrap().is_some(), "{pk}");
        }
        // Each read asks one copy: with one copy left, reads answer or miss at random.
        for (pk, sk) in keys.iter().skip(1) {
            assert!(backend.delete(pk, sk, 1_000).await.unwrap());
        }
        let mut answers = 0;
        for _ in 0..64 {
            answers += usize::from(CacheStore::get(&store, kind, url).await.unwrap().is_some());
        }
        assert!(
            (1..64).contains(&answers),
            "{answers} of 64 reads found the copy"
        );
        // Cost Explorer answers stay under the one key the mcp role may touch.
        let ce = cache_keys(CacheKind::CostExplorer, "q");
        assert_eq!(
            ce,
            [(format!("CECACHE#{}", sha256_hex(b"q")), "CECACHE".into())]
        );
    }
}
