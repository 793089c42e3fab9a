//! The SQLite backend's housekeeping: the writer's log and cache sizes, the checkpointer thread
//! that copies the write-ahead log into the database file, and the purge of expired items.

use std::path::Path;
use std::sync::{Mutex, Weak};
use std::time::Duration;

use rusqlite::{Connection, params};

use super::unavailable;
use crate::clock::{Clock as _, SystemClock};
use crate::store::StoreError;

/// How often the checkpointer copies the write-ahead log into the database file. Often, so the
/// log stays short: every read looks a page up in the log's index first, at a cost that grows
/// with the log (under sustained /token exchanges, 25 ms gave 3-4 % more exchanges than 100 ms,
/// and 1 s fewer). With nothing to copy, a pass takes a lock and returns.
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(25);
/// Log size (pages) at which the writer checkpoints by itself (SQLite's default is 1000).
pub(super) const WRITER_CHECKPOINT_PAGES: i64 = 4_096;
/// The writer's page cache, KiB: SQLite's default size. Larger is slower here: at the end of
/// every write transaction SQLite walks the cache's hash table (`pcache1TruncateUnsafe`, 3.4 % of
/// a loaded /token profile with 8 MiB), and the exchanges touch pages all over the file, so the
/// extra pages were rarely hit (paired, `bench-driver redeem` at concurrency 8: 2 MiB 0.604-0.651x
/// of openssl signing, 8 MiB 0.574-0.611x).
pub(super) const WRITER_CACHE_KIB: i64 = 2_048;

/// How often expired items are deleted (reads ignore them in between).
const PURGE_INTERVAL: Duration = Duration::from_secs(3600);
/// Expired items deleted per write transaction, so a purge never holds the write lock for long.
pub(super) const PURGE_BATCH: usize = 500;

/// Deletes every item expired at `now`, in batches; returns how many.
pub(super) fn purge(conn: &Connection, now: i64) -> rusqlite::Result<usize> {
    let mut total = 0;
    loop {
        let deleted = conn.execute(
            "DELETE FROM items WHERE (pk, sk) IN (SELECT pk, sk FROM items \
             WHERE expires_at IS NOT NULL AND expires_at <= ?1 LIMIT ?2)",
            params![now, PURGE_BATCH],
        )?;
        total += deleted;
        if deleted < PURGE_BATCH {
            return Ok(total);
        }
    }
}

/// Housekeeping on its own thread and connection, so none of it happens inside a request:
/// every [`CHECKPOINT_INTERVAL`] it copies the write-ahead log into the database file without
/// blocking readers or writers (a passive checkpoint; SQLite's automatic checkpoint would run the
/// copy and its fsync inside whichever commit crosses the threshold, holding up every writer
/// queued behind it), and every [`PURGE_INTERVAL`] it deletes expired items (the first time one
/// interval after opening). The thread ends once the backend (`writer`) is dropped.
pub(super) fn spawn_checkpointer(
    path: &Path,
    writer: Weak<Mutex<Connection>>,
) -> Result<(), StoreError> {
    let conn = Connection::open(path).map_err(|e| unavailable("open checkpointer", &e))?;
    conn.busy_timeout(Duration::from_secs(5))
        .map_err(|e| unavailable("set busy timeout", &e))?;
    std::thread::Builder::new()
        .name("sqlite-housekeeping".into())
        .spawn(move || {
            let mut last_purge = std::time::Instant::now();
            while writer.strong_count() > 0 {
                std::thread::sleep(CHECKPOINT_INTERVAL);
                if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                    tracing::debug!(error = %e, "sqlite checkpoint failed; retrying");
                }
                if last_purge.elapsed() >= PURGE_INTERVAL {
                    last_purge = std::time::Instant::now();
                    match purge(&conn, SystemClock.now()) {
                        Ok(deleted) => tracing::debug!(deleted, "expired items purged"),
                        Err(e) => tracing::warn!(error = %e, "purging expired items failed"),
                    }
                }
            }
        })
        .map(drop)
        .map_err(|e| StoreError::Unavailable(format!("cannot start the checkpointer: {e}")))
}
