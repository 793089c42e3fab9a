//! The audit trail: its query, its port and its item mapping. One item per event under its day
//! (`AUDIT#<yyyy-mm-dd>#<nn>` / `<ts>#<id>`) and listed per client (GSI1
//! `AUDIT#CLIENT#<client_id>#<nn>` / `<ts>#<id>`), both sharded by the event id
//! ([`super::shard`]), kept for [`AUDIT_RETENTION_SECS`].

use async_trait::async_trait;

use super::item::{Index, Item};
use super::item_store::{ItemStore, MAX_PAGE, decode, encode};
use super::shard::{self, AUDIT_SHARDS, Merged};
use super::{AuditEvent, Page, PageRequest, StoreError};
use crate::clock::{rfc3339, utc_day};

/// Audit events are kept this long.
pub const AUDIT_RETENTION_SECS: i64 = 90 * 86_400;

/// What [`AuditStore::search`] looks for; every criterion set must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// The event type, exactly, or a prefix when it ends with `*` (`admin.*`).
    pub kind: Option<String>,
    pub client_id: Option<String>,
    pub sub: Option<String>,
    /// Epoch milliseconds, inclusive [default: the retention period before `until_ms`].
    pub since_ms: Option<i64>,
    /// Epoch milliseconds, exclusive [default: now, included].
    pub until_ms: Option<i64>,
}

impl AuditQuery {
    /// Whether `event` meets the type, client and user criteria (not the time range).
    pub fn matches(&self, event: &AuditEvent) -> bool {
        let kind_ok = match self.kind.as_deref() {
            None => true,
            Some(kind) => match kind.strip_suffix('*') {
                Some(prefix) => event.kind.as_str().starts_with(prefix),
                None => event.kind == kind,
            },
        };
        kind_ok
            && self
                .client_id
                .as_ref()
                .is_none_or(|c| event.client_id.as_ref() == Some(c))
            && self
                .sub
                .as_ref()
                .is_none_or(|s| event.sub.as_ref() == Some(s))
    }
}

/// The audit trail (kept 90 days).
#[async_trait]
pub trait AuditStore: Send + Sync {
    async fn append(&self, event: &AuditEvent) -> Result<(), StoreError>;
    /// Events of one UTC day (`yyyy-mm-dd`), oldest first.
    async fn list_day(&self, day: &str, page: &PageRequest)
    -> Result<Page<AuditEvent>, StoreError>;
    /// Events concerning one client, oldest first.
    async fn list_for_client(
        &self,
        client_id: &str,
        page: &PageRequest,
    ) -> Result<Page<AuditEvent>, StoreError>;
    /// Events matching `query`, oldest first, at most `page.limit` of them. With a client the
    /// client's listing is read; otherwise every day partition of the range, filtered here, so a
    /// wide range without a client reads every event in it. The range is cut to the retention
    /// period (and at most a day ahead of now). `next` continues after the last event read
    /// (matching or not).
    async fn search(
        &self,
        query: &AuditQuery,
        page: &PageRequest,
    ) -> Result<Page<AuditEvent>, StoreError>;
}

/// Items read per backend query while searching the audit trail.
const AUDIT_SCAN_BATCH: usize = 500;

/// The listing of one UTC day's events, before sharding.
fn day_base(day: &str) -> String {
    format!("AUDIT#{day}")
}

/// The listing of one client's events, before sharding.
fn client_base(client_id: &str) -> String {
    format!("AUDIT#CLIENT#{client_id}")
}

/// The item of an event: under its day's shard, listed under its client's shard (the same shard
/// number: both follow the event id).
pub(super) fn audit_item(event: &AuditEvent) -> Result<Item, StoreError> {
    let secs = event.at_ms.div_euclid(1000);
    let ts = format!("{}#{}", audit_time(event.at_ms), event.id);
    let pk = shard::key_for(&day_base(&utc_day(secs)), &event.id, AUDIT_SHARDS);
    let gsi1 = event.client_id.as_ref().map(|id| {
        (
            shard::key_for(&client_base(id), &event.id, AUDIT_SHARDS),
            ts.clone(),
        )
    });
    let mut item = encode(pk, ts, gsi1, event)?;
    item.expires_at = Some(secs.saturating_add(AUDIT_RETENTION_SECS));
    Ok(item)
}

/// An audit sort-key time: `2026-01-01T00:00:03.001Z`, fixed width, so keys sort in time order.
fn audit_time(at_ms: i64) -> String {
    format!(
        "{}.{:03}Z",
        rfc3339(at_ms.div_euclid(1000)).trim_end_matches('Z'),
        at_ms.rem_euclid(1000)
    )
}

#[async_trait]
impl AuditStore for ItemStore {
    async fn append(&self, event: &AuditEvent) -> Result<(), StoreError> {
        let item = audit_item(event)?;
        self.put_always(&item).await
    }

    async fn list_day(
        &self,
        day: &str,
        page: &PageRequest,
    ) -> Result<Page<AuditEvent>, StoreError> {
        let partitions = shard::partitions(&day_base(day), AUDIT_SHARDS);
        self.list(Index::Primary, partitions, "", page).await
    }

    async fn list_for_client(
        &self,
        client_id: &str,
        page: &PageRequest,
    ) -> Result<Page<AuditEvent>, StoreError> {
        let partitions = shard::partitions(&client_base(client_id), AUDIT_SHARDS);
        self.list(Index::Gsi1, partitions, "", page).await
    }

    async fn search(
        &self,
        query: &AuditQuery,
        page: &PageRequest,
    ) -> Result<Page<AuditEvent>, StoreError> {
        let now = self.now();
        // No event is older than the retention or (allowing for skewed clocks) a day ahead:
        // the range is cut to that, so a wide range does not query empty day partitions.
        let now_ms = self.now_ms();
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
        // One listing per day (each of its shards), or the client's listing.
        let listings: Vec<(Index, String)> = match &query.client_id {
            Some(client_id) => vec![(Index::Gsi1, client_base(client_id))],
            None => {
                let first = since_ms.div_euclid(86_400_000);
                let last = until_ms.saturating_sub(1).div_euclid(86_400_000);
                let cursor_day = cursor.get(..10).unwrap_or_default().to_owned();
                (first..=last)
                    .map(|day| utc_day(day.saturating_mul(86_400)))
                    .filter(|day| *day >= cursor_day)
                    .map(|day| (Index::Primary, day_base(&day)))
                    .collect()
            }
        };
        let batch = AUDIT_SCAN_BATCH.max(limit).min(MAX_PAGE);
        for (index, base) in listings {
            let partitions = shard::partitions(&base, AUDIT_SHARDS);
            let backend = self.backend();
            let mut listing = Merged::new(backend, index, partitions, "", Some(&cursor), now);
            loop {
                let found = listing.next(batch).await?;
                let complete = found.len() < batch;
                for item in found {
                    let key = shard::sort_key(index, &item).to_owned();
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
