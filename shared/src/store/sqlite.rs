//! The embedded adapter: the single-table item model in one SQLite file (WAL mode), with
//! schema migrations applied at open. Conditional writes run inside immediate transactions, so
//! of concurrent writers exactly one sees the condition hold.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use serde_json::{Map, Value};

use super::StoreError;
use super::item::{Condition, Index, Item, ItemBackend, MAX_ATOMIC_WRITES, MAX_BATCH_READS};
use crate::clock::{Clock as _, SystemClock};

/// Schema versions, applied in order; `PRAGMA user_version` records how many ran.
const MIGRATIONS: &[&str] = &[r#"
CREATE TABLE items (
    pk         TEXT    NOT NULL,
    sk         TEXT    NOT NULL,
    gsi1pk     TEXT,
    gsi1sk     TEXT,
    expires_at INTEGER,
    attrs      TEXT    NOT NULL,
    PRIMARY KEY (pk, sk)
) WITHOUT ROWID;
CREATE INDEX items_gsi1 ON items (gsi1pk, gsi1sk) WHERE gsi1pk IS NOT NULL;
CREATE INDEX items_expires ON items (expires_at) WHERE expires_at IS NOT NULL;
"#];

/// The SQLite item backend. One writing connection guarded by a mutex, used on the blocking pool
/// so the async runtime never waits on disk or on another writer; point reads of a file database
/// go through [`Readers`] instead.
#[derive(Clone)]
pub struct SqliteBackend {
    conn: Arc<Mutex<Connection>>,
    readers: Option<Arc<Readers>>,
}

/// Read-only connections to the database file for point reads (`get`). In WAL mode a reader never
/// waits for the writer, and a point read is a few page-cache lookups (microseconds), so it runs
/// on the calling thread: no hand-off to the blocking pool, no queueing behind writes. A read that
/// fails here (a busy or unreadable file) is retried on the writing connection, which reports the
/// error if there is one.
struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl Readers {
    /// Connections kept open between reads; more are opened under concurrency and then closed.
    const MAX_IDLE: usize = 8;

    fn read(&self, pk: &str, sk: &str, now: i64) -> Option<Option<Item>> {
        self.with_reader(|conn| read(conn, pk, sk, now))
    }

    /// Several keys on one reader connection.
    fn read_many(&self, keys: &[(String, String)], now: i64) -> Option<Vec<Item>> {
        self.with_reader(|conn| read_many(conn, keys, now))
    }

    fn with_reader<T>(&self, f: impl FnOnce(&Connection) -> Result<T, StoreError>) -> Option<T> {
        let idle = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let conn = match idle {
            Some(conn) => conn,
            None => Connection::open_with_flags(
                &self.path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .ok()?,
        };
        let found = f(&conn).ok()?;
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < Self::MAX_IDLE
        {
            idle.push(conn);
        }
        Some(found)
    }
}

/// How often the checkpointer copies the write-ahead log into the database file.
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(100);
/// Log size (pages) at which the writer checkpoints by itself (SQLite's default is 1000).
const WRITER_CHECKPOINT_PAGES: i64 = 4_096;
/// The writer's page cache, KiB.
const WRITER_CACHE_KIB: i64 = 8_192;

/// How often expired items are deleted (reads ignore them in between).
const PURGE_INTERVAL: Duration = Duration::from_secs(3600);
/// Expired items deleted per write transaction, so a purge never holds the write lock for long.
const PURGE_BATCH: usize = 500;

/// Deletes every item expired at `now`, in batches; returns how many.
fn purge(conn: &Connection, now: i64) -> rusqlite::Result<usize> {
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
fn spawn_checkpointer(path: &Path, writer: Weak<Mutex<Connection>>) -> Result<(), StoreError> {
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

impl SqliteBackend {
    /// Opens (creating if needed) the database file and applies pending migrations.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(path).map_err(|e| unavailable("open", &e))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| unavailable("enable WAL", &e))?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(|e| unavailable("set synchronous", &e))?;
        // The checkpointer below copies the log into the file; the writer checkpoints itself only
        // if that falls far behind.
        conn.pragma_update(None, "wal_autocheckpoint", WRITER_CHECKPOINT_PAGES)
            .map_err(|e| unavailable("set wal_autocheckpoint", &e))?;
        conn.pragma_update(None, "journal_size_limit", WRITER_CHECKPOINT_PAGES * 4096)
            .map_err(|e| unavailable("set journal_size_limit", &e))?;
        conn.pragma_update(None, "cache_size", WRITER_CACHE_KIB.saturating_neg())
            .map_err(|e| unavailable("set cache_size", &e))?;
        let mut backend = Self::init(conn)?;
        backend.readers = Some(Arc::new(Readers {
            path: path.to_owned(),
            idle: Mutex::new(Vec::new()),
        }));
        spawn_checkpointer(path, Arc::downgrade(&backend.conn))?;
        Ok(backend)
    }

    /// A private in-memory database (tests and throwaway runs).
    pub fn in_memory() -> Result<Self, StoreError> {
        let conn = Connection::open_in_memory().map_err(|e| unavailable("open", &e))?;
        Self::init(conn)
    }

    fn init(mut conn: Connection) -> Result<Self, StoreError> {
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(|e| unavailable("set busy timeout", &e))?;
        migrate(&mut conn)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            readers: None,
        })
    }

    /// Runs `f` with the connection on the blocking pool.
    async fn with<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn
                .lock()
                .map_err(|_| StoreError::Unavailable("sqlite connection poisoned".into()))?;
            f(&mut guard)
        })
        .await
        .map_err(|_| StoreError::Unavailable("sqlite task failed".into()))?
    }

    /// Deletes expired items; returns how many. Reads ignore them anyway.
    pub async fn purge_expired(&self, now: i64) -> Result<usize, StoreError> {
        self.with(move |conn| purge(conn, now).map_err(|e| unavailable("purge", &e)))
            .await
    }
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| unavailable("begin migration", &e))?;
    let applied: i64 = tx
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(|e| unavailable("read schema version", &e))?;
    let applied = usize::try_from(applied).unwrap_or(0);
    if applied > MIGRATIONS.len() {
        return Err(StoreError::Unavailable(format!(
            "database schema version {applied} is newer than this program ({})",
            MIGRATIONS.len()
        )));
    }
    for (version, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        tx.execute_batch(sql)
            .map_err(|e| unavailable("apply migration", &e))?;
        tx.pragma_update(None, "user_version", version + 1)
            .map_err(|e| unavailable("record schema version", &e))?;
    }
    tx.commit().map_err(|e| unavailable("commit migration", &e))
}

/// Whether `condition` holds for the stored item under `item`'s key.
fn holds(
    tx: &rusqlite::Transaction<'_>,
    item: &Item,
    condition: &Condition,
    now: i64,
) -> Result<bool, StoreError> {
    Ok(match condition {
        Condition::Always => true,
        Condition::Absent => read(tx, &item.pk, &item.sk, now)?.is_none(),
        Condition::Equals(name, value) => read(tx, &item.pk, &item.sk, now)?
            .is_some_and(|stored| stored.attrs.get(*name) == Some(value)),
    })
}

fn unavailable(what: &str, error: &rusqlite::Error) -> StoreError {
    let code = match error {
        rusqlite::Error::SqliteFailure(e, _) => format!("{:?}", e.code),
        _ => "error".to_owned(),
    };
    StoreError::Unavailable(format!("sqlite {what}: {code}"))
}

const SELECT: &str = "SELECT pk, sk, gsi1pk, gsi1sk, expires_at, attrs FROM items";
const READ: &str =
    "SELECT pk, sk, gsi1pk, gsi1sk, expires_at, attrs FROM items WHERE pk = ?1 AND sk = ?2";
const UPSERT: &str = "INSERT OR REPLACE INTO items (pk, sk, gsi1pk, gsi1sk, expires_at, attrs)
                      VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

fn row_to_item(row: &rusqlite::Row<'_>) -> rusqlite::Result<(Item, String)> {
    let gsi1pk: Option<String> = row.get(2)?;
    let gsi1sk: Option<String> = row.get(3)?;
    let item = Item {
        pk: row.get(0)?,
        sk: row.get(1)?,
        gsi1: gsi1pk.zip(gsi1sk),
        expires_at: row.get(4)?,
        attrs: Map::new(),
    };
    Ok((item, row.get(5)?))
}

fn parse(item: (Item, String)) -> Result<Item, StoreError> {
    let (mut item, attrs) = item;
    match serde_json::from_str(&attrs) {
        Ok(Value::Object(map)) => {
            item.attrs = map;
            Ok(item)
        }
        _ => Err(StoreError::corrupt(
            item.pk,
            "attributes are not a JSON object",
        )),
    }
}

fn live(item: Option<(Item, String)>, now: i64) -> Result<Option<Item>, StoreError> {
    match item {
        Some(raw) if !raw.0.is_expired(now) => parse(raw).map(Some),
        _ => Ok(None),
    }
}

fn read(conn: &Connection, pk: &str, sk: &str, now: i64) -> Result<Option<Item>, StoreError> {
    // Cached statements: preparing one costs about as much as running it.
    let raw = conn
        .prepare_cached(READ)
        .and_then(|mut stmt| stmt.query_row(params![pk, sk], row_to_item))
        .optional()
        .map_err(|e| unavailable("get", &e))?;
    live(raw, now)
}

fn read_many(
    conn: &Connection,
    keys: &[(String, String)],
    now: i64,
) -> Result<Vec<Item>, StoreError> {
    let mut found = Vec::with_capacity(keys.len());
    for (pk, sk) in keys {
        if let Some(item) = read(conn, pk, sk, now)? {
            found.push(item);
        }
    }
    Ok(found)
}

#[async_trait]
impl ItemBackend for SqliteBackend {
    async fn get(&self, pk: &str, sk: &str, now: i64) -> Result<Option<Item>, StoreError> {
        if let Some(found) = self.readers.as_ref().and_then(|r| r.read(pk, sk, now)) {
            return Ok(found);
        }
        let (pk, sk) = (pk.to_owned(), sk.to_owned());
        self.with(move |conn| read(conn, &pk, &sk, now)).await
    }

    async fn get_many(&self, keys: &[(String, String)], now: i64) -> Result<Vec<Item>, StoreError> {
        if keys.len() > MAX_BATCH_READS {
            return Err(StoreError::Unavailable(format!(
                "{} keys in one read (at most {MAX_BATCH_READS})",
                keys.len()
            )));
        }
        if let Some(found) = self.readers.as_ref().and_then(|r| r.read_many(keys, now)) {
            return Ok(found);
        }
        let keys = keys.to_vec();
        self.with(move |conn| read_many(conn, &keys, now)).await
    }

    async fn put(&self, item: &Item, condition: Condition, now: i64) -> Result<bool, StoreError> {
        self.put_all(&[(item.clone(), condition)], now).await
    }

    async fn put_all(&self, writes: &[(Item, Condition)], now: i64) -> Result<bool, StoreError> {
        if writes.len() > MAX_ATOMIC_WRITES {
            return Err(StoreError::Unavailable(format!(
                "{} writes in one step (at most {MAX_ATOMIC_WRITES})",
                writes.len()
            )));
        }
        let writes = writes
            .iter()
            .map(|(item, condition)| {
                let attrs = Value::Object(item.attrs.clone()).to_string();
                (item.clone(), condition.clone(), attrs)
            })
            .collect::<Vec<_>>();
        self.with(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(|e| unavailable("begin", &e))?;
            for (item, condition, _) in &writes {
                if !holds(&tx, item, condition, now)? {
                    return Ok(false);
                }
            }
            for (item, _, attrs) in &writes {
                let (gsi1pk, gsi1sk) = item.gsi1.clone().unzip();
                tx.prepare_cached(UPSERT)
                    .and_then(|mut stmt| {
                        stmt.execute(params![
                            item.pk,
                            item.sk,
                            gsi1pk,
                            gsi1sk,
                            item.expires_at,
                            attrs
                        ])
                    })
                    .map_err(|e| unavailable("put", &e))?;
            }
            tx.commit().map_err(|e| unavailable("commit", &e))?;
            Ok(true)
        })
        .await
    }

    async fn take(&self, pk: &str, sk: &str, now: i64) -> Result<Option<Item>, StoreError> {
        let (pk, sk) = (pk.to_owned(), sk.to_owned());
        self.with(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(|e| unavailable("begin", &e))?;
            let found = read(&tx, &pk, &sk, now)?;
            tx.execute(
                "DELETE FROM items WHERE pk = ?1 AND sk = ?2",
                params![pk, sk],
            )
            .map_err(|e| unavailable("delete", &e))?;
            tx.commit().map_err(|e| unavailable("commit", &e))?;
            Ok(found)
        })
        .await
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
        let (pcol, scol) = match index {
            Index::Primary => ("pk", "sk"),
            Index::Gsi1 => ("gsi1pk", "gsi1sk"),
        };
        let partition = partition.to_owned();
        let prefix = prefix.to_owned();
        let after = after.unwrap_or("").to_owned();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.with(move |conn| {
            // `substr(..) = prefix` rather than LIKE: keys may contain `%` and `_`.
            let sql = format!(
                "{SELECT} WHERE {pcol} = ?1 AND substr({scol}, 1, length(?2)) = ?2
                 AND {scol} > ?3 AND (expires_at IS NULL OR expires_at > ?4)
                 ORDER BY {scol} LIMIT ?5"
            );
            let mut stmt = conn
                .prepare_cached(&sql)
                .map_err(|e| unavailable("prepare query", &e))?;
            let rows = stmt
                .query_map(params![partition, prefix, after, now, limit], row_to_item)
                .map_err(|e| unavailable("query", &e))?;
            rows.map(|row| row.map_err(|e| unavailable("read row", &e)).and_then(parse))
                .collect()
        })
        .await
    }

    async fn increment(
        &self,
        pk: &str,
        sk: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<u64, StoreError> {
        let (pk, sk) = (pk.to_owned(), sk.to_owned());
        self.with(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(|e| unavailable("begin", &e))?;
            let count = read(&tx, &pk, &sk, now)?
                .and_then(|item| item.attrs.get("count").and_then(Value::as_u64))
                .unwrap_or(0)
                .saturating_add(1);
            let mut attrs = Map::new();
            attrs.insert("count".into(), Value::from(count));
            tx.execute(
                "INSERT OR REPLACE INTO items (pk, sk, gsi1pk, gsi1sk, expires_at, attrs)
                 VALUES (?1, ?2, NULL, NULL, ?3, ?4)",
                params![pk, sk, expires_at, Value::Object(attrs).to_string()],
            )
            .map_err(|e| unavailable("increment", &e))?;
            tx.commit().map_err(|e| unavailable("commit", &e))?;
            Ok(count)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::contract::contract_suite;

    contract_suite!(
        contract_sqlite_memory,
        Arc::new(SqliteBackend::in_memory().unwrap())
    );
    contract_suite!(contract_sqlite_file, {
        let dir =
            std::env::temp_dir().join(format!("smcp-contract-{}", crate::secret::random_id()));
        std::fs::create_dir_all(&dir).unwrap();
        Arc::new(SqliteBackend::open(&dir.join("state.db")).unwrap())
    });

    #[test]
    fn migrations_are_idempotent_on_reopen() {
        let dir = std::env::temp_dir().join(format!("smcp-mig-{}", crate::secret::random_id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("state.db");
        drop(SqliteBackend::open(&path).unwrap());
        drop(SqliteBackend::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, MIGRATIONS.len() as i64);
        assert_eq!(mode, "wal");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn purge_removes_only_expired_items() {
        let backend = SqliteBackend::in_memory().unwrap();
        let mut old = Item::new("A", "1");
        old.expires_at = Some(10);
        let keep = Item::new("A", "2");
        assert!(backend.put(&old, Condition::Always, 0).await.unwrap());
        assert!(backend.put(&keep, Condition::Always, 0).await.unwrap());
        assert_eq!(backend.purge_expired(10).await.unwrap(), 1);
        assert!(backend.get("A", "2", 10).await.unwrap().is_some());

        // More than one batch.
        for i in 0..(PURGE_BATCH * 2 + 7) {
            let mut item = Item::new("B", i.to_string());
            item.expires_at = Some(20);
            assert!(backend.put(&item, Condition::Always, 0).await.unwrap());
        }
        assert_eq!(
            backend.purge_expired(20).await.unwrap(),
            PURGE_BATCH * 2 + 7
        );
        assert!(backend.get("A", "2", 20).await.unwrap().is_some());
    }
}
