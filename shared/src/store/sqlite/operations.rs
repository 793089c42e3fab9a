//! The SQLite backend's [`ItemBackend`] operations: reads, conditional writes and all-or-nothing
//! batches inside immediate transactions, queries on the primary key and GSI1, and counters.

use std::sync::OnceLock;

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde_json::{Map, Value};

use super::{SqliteBackend, unavailable};
use crate::store::StoreError;
use crate::store::item::{
    CommitMark, Condition, Index, Item, ItemBackend, MAX_ATOMIC_WRITES, MAX_BATCH_READS,
};

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

const SELECT: &str = "SELECT pk, sk, gsi1pk, gsi1sk, expires_at, attrs FROM items";
const READ_COLUMNS: &str = "SELECT pk, sk, gsi1pk, gsi1sk, expires_at, attrs FROM items";
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

pub(super) fn read(
    conn: &Connection,
    pk: &str,
    sk: &str,
    now: i64,
) -> Result<Option<Item>, StoreError> {
    // Cached statements: preparing one costs about as much as running it.
    let raw = conn
        .prepare_cached(READ)
        .and_then(|mut stmt| stmt.query_row(params![pk, sk], row_to_item))
        .optional()
        .map_err(|e| unavailable("get", &e))?;
    live(raw, now)
}

/// The statement reading `n` keys at once (2 ≤ `n` ≤ [`MAX_BATCH_READS`]).
fn batch_sql(n: usize) -> Result<&'static str, StoreError> {
    static TEXTS: [OnceLock<String>; MAX_BATCH_READS + 1] =
        [const { OnceLock::new() }; MAX_BATCH_READS + 1];
    let text = TEXTS.get(n).ok_or_else(|| {
        StoreError::Unavailable(format!("{n} keys in one read (at most {MAX_BATCH_READS})"))
    })?;
    Ok(text.get_or_init(|| {
        (0..n)
            .map(|i| {
                let (p, s) = (2 * i + 1, 2 * i + 2);
                format!("{READ_COLUMNS} WHERE pk = ?{p} AND sk = ?{s}")
            })
            .collect::<Vec<_>>()
            .join(" UNION ALL ")
    }))
}

pub(super) fn read_many(
    conn: &Connection,
    keys: &[(String, String)],
    now: i64,
) -> Result<Vec<Item>, StoreError> {
    let mut found = Vec::with_capacity(keys.len());
    if let [(pk, sk)] = keys {
        found.extend(read(conn, pk, sk, now)?);
        return Ok(found);
    }
    if keys.is_empty() {
        return Ok(found);
    }
    // One statement for all the keys, so one snapshot (as DynamoDB's BatchGetItem reads each
    // item at once) and one read transaction: point reads joined by UNION ALL, each on the
    // primary key. Its text depends only on the number of keys: made once per number, and the
    // prepared statement cached by it.
    let sql = batch_sql(keys.len())?;
    let values = keys
        .iter()
        .flat_map(|(pk, sk)| [pk as &dyn rusqlite::ToSql, sk as &dyn rusqlite::ToSql])
        .collect::<Vec<_>>();
    let mut stmt = conn
        .prepare_cached(sql)
        .map_err(|e| unavailable("get", &e))?;
    let rows = stmt
        .query_map(values.as_slice(), row_to_item)
        .map_err(|e| unavailable("get", &e))?;
    for row in rows {
        found.extend(live(Some(row.map_err(|e| unavailable("get", &e))?), now)?);
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

    fn commit_mark(&self) -> Option<CommitMark> {
        self.marks.as_ref().and_then(|marks| marks.read())
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
