//! The embedded adapter: the single-table item model in one SQLite file (WAL mode), with
//! schema migrations applied at open. Conditional writes run inside immediate transactions, so
//! of concurrent writers exactly one sees the condition hold.
//!
//! This module opens the file (pragmas, migrations, the reader connections); the
//! [`super::item::ItemBackend`] operations are in `sqlite/operations.rs`, the checkpointer and the
//! purge of expired items in `sqlite/housekeeping.rs`, the commit mark in `sqlite/commits.rs`.

mod commits;
mod housekeeping;
mod operations;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use super::StoreError;
use super::item::Item;
use commits::CommitMarks;
use housekeeping::{WRITER_CACHE_KIB, WRITER_CHECKPOINT_PAGES, purge, spawn_checkpointer};
use operations::{read, read_many};

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
    /// The file's commit mark (a file database only).
    marks: Option<Arc<CommitMarks>>,
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
        // The migrations opened the log and its index; the writer keeps the index file in place.
        backend.marks = CommitMarks::open(path).map(Arc::new);
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
            marks: None,
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
fn unavailable(what: &str, error: &rusqlite::Error) -> StoreError {
    let code = match error {
        rusqlite::Error::SqliteFailure(e, _) => format!("{:?}", e.code),
        _ => "error".to_owned(),
    };
    StoreError::Unavailable(format!("sqlite {what}: {code}"))
}

#[cfg(test)]
mod tests {
    use super::housekeeping::PURGE_BATCH;
    use super::*;
    use crate::store::contract::contract_suite;
    use crate::store::item::{Condition, ItemBackend};

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
