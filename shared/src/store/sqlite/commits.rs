//! The commit mark of a database file ([`CommitMark`]): the header of its write-ahead log's
//! index, read from the `-shm` file with one `pread`, without a lock.
//!
//! In WAL mode every connection, in every process, learns what has been committed from that
//! header (SQLite's "WAL-mode File Format", "The WAL-Index Header"). A commit takes effect by
//! rewriting it: the count of transactions, the last valid frame of the log, the log's salts and
//! checksums all change, so no commit leaves it as it was. Reads, rollbacks and passive
//! checkpoints leave it alone; a checkpoint that restarts the log changes it (a spurious change
//! costs a read, never a wrong answer). The header is kept twice, the second copy written first;
//! SQLite's readers trust it only when both copies agree and it is initialised, and so does
//! [`CommitMarks::read`]. Its layout is shared by every SQLite version that may have the file
//! open at the same time, so it does not change between versions.
//!
//! The `-shm` file stays the same file while this process has the database open: SQLite deletes
//! it only when the last connection of all processes closes, and rebuilds it only when no other
//! connection holds it.

use std::fs::File;
use std::os::unix::fs::FileExt as _;
use std::path::Path;

use crate::store::item::CommitMark;

/// Bytes in one copy of the header.
const HEADER: usize = 48;
/// The offset of `isInit`, non-zero once the header has been written.
const IS_INIT: usize = 12;

/// The `-shm` file of one database, opened for reading.
pub(super) struct CommitMarks {
    shm: File,
}

impl CommitMarks {
    /// The `-shm` file beside `database`, which exists once a connection has the database open in
    /// WAL mode; `None` when it cannot be opened (then nothing is remembered between reads).
    pub(super) fn open(database: &Path) -> Option<Self> {
        let mut shm = database.as_os_str().to_owned();
        shm.push("-shm");
        File::open(shm).ok().map(|shm| Self { shm })
    }

    /// The header as it is now: `None` when it is being rewritten (the copies differ), not yet
    /// written, or unreadable.
    pub(super) fn read(&self) -> Option<CommitMark> {
        let mut both = [0u8; 2 * HEADER];
        self.shm.read_exact_at(&mut both, 0).ok()?;
        let (first, second) = both.split_at(HEADER);
        let initialised = first.get(IS_INIT).is_some_and(|&flag| flag != 0);
        if first != second || !initialised {
            return None;
        }
        first.try_into().ok().map(CommitMark)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    fn database() -> (std::path::PathBuf, Connection) {
        let dir = std::env::temp_dir().join(format!("smcp-marks-{}", crate::secret::random_id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("state.db");
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.execute_batch("CREATE TABLE t (x INTEGER)").unwrap();
        (path, conn)
    }

    #[test]
    fn every_commit_changes_the_mark_and_nothing_else_does() {
        let (path, writer) = database();
        let marks = CommitMarks::open(&path).unwrap();
        let first = marks.read().unwrap();
        // Another connection commits: a new mark.
        let other = Connection::open(&path).unwrap();
        other.execute("INSERT INTO t VALUES (1)", []).unwrap();
        let second = marks.read().unwrap();
        assert_ne!(first, second);
        // Reads, a rolled-back transaction and a passive checkpoint change nothing.
        let n: i64 = writer
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1);
        writer
            .execute_batch("BEGIN IMMEDIATE; INSERT INTO t VALUES (2); ROLLBACK;")
            .unwrap();
        writer
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
            .unwrap();
        assert_eq!(marks.read().unwrap(), second);
        // A commit after the log was copied (the log restarts) changes it again.
        writer.execute("INSERT INTO t VALUES (3)", []).unwrap();
        let third = marks.read().unwrap();
        assert_ne!(third, second);
        assert_ne!(third, first);
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn a_header_being_rewritten_or_never_written_is_no_mark() {
        let dir = std::env::temp_dir().join(format!("smcp-marks-{}", crate::secret::random_id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("state.db");
        assert!(CommitMarks::open(&path).is_none(), "no -shm file yet");
        let shm = dir.join("state.db-shm");
        let mut header = [0u8; 2 * HEADER];
        std::fs::write(&shm, header).unwrap();
        let marks = CommitMarks::open(&path).unwrap();
        assert_eq!(marks.read(), None, "isInit is zero");
        header[IS_INIT] = 1;
        header[HEADER + IS_INIT] = 1;
        header[8] = 7;
        std::fs::write(&shm, header).unwrap();
        assert_eq!(marks.read(), None, "the copies differ");
        header[HEADER + 8] = 7;
        std::fs::write(&shm, header).unwrap();
        assert!(marks.read().is_some());
        std::fs::write(&shm, &header[..HEADER]).unwrap();
        assert_eq!(marks.read(), None, "too short");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
