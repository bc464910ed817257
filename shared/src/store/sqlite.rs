//! Embedded adapter: one SQLite file in the data folder. Same behaviour as
//! DynamoDB for everything the `Table` port promises.

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params_from_iter, types::Value as SqlValue};

use super::{Cond, Cursor, Index, Item, Key, Page, Query, SkCond, StoreError, Table, Write};
use crate::clock::Clock;

/// Cheap to clone; calls run on tokio's blocking pool, one at a time on the
/// connection, so they never stall the async runtime.
#[derive(Clone)]
pub struct SqliteTable {
    inner: Arc<Inner>,
}

struct Inner {
    conn: Mutex<Connection>,
    clock: Arc<dyn Clock>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS items (
    pk TEXT NOT NULL,
    sk TEXT NOT NULL,
    gsi1pk TEXT, gsi1sk TEXT,
    gsi2pk TEXT, gsi2sk TEXT,
    ttl INTEGER,
    version INTEGER NOT NULL,
    entity TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (pk, sk)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS items_gsi1 ON items (gsi1pk, gsi1sk, pk, sk) WHERE gsi1pk IS NOT NULL;
CREATE INDEX IF NOT EXISTS items_gsi2 ON items (gsi2pk, gsi2sk, pk, sk) WHERE gsi2pk IS NOT NULL;
";

fn unavailable(e: rusqlite::Error) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

impl SqliteTable {
    /// Opens (creating if needed) `portico.sqlite3` in `dir`.
    pub fn open(dir: &Path, clock: Arc<dyn Clock>) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let conn = Connection::open(dir.join("portico.sqlite3")).map_err(unavailable)?;
        Self::init(conn, clock)
    }

    /// A private in-memory database (tests).
    pub fn in_memory(clock: Arc<dyn Clock>) -> Result<Self, StoreError> {
        Self::init(Connection::open_in_memory().map_err(unavailable)?, clock)
    }

    fn init(conn: Connection, clock: Arc<dyn Clock>) -> Result<Self, StoreError> {
        conn.pragma_update(None, "journal_mode", "WAL").map_err(unavailable)?;
        conn.pragma_update(None, "busy_timeout", 5000).map_err(unavailable)?;
        // Plans do not depend on bound values: without this, every new binding
        // recompiles the statement (the partial indexes make plans depend on
        // them): 6.5% of GET settings' samples.
        conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
            .map_err(unavailable)?;
        // Plans do not depend on bound values: without this, every new binding
        // recompiles the statement (the partial indexes make plans depend on them).
        conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
            .map_err(unavailable)?;
        conn.execute_batch(SCHEMA).map_err(unavailable)?;
        Ok(Self {
            inner: Arc::new(Inner {
                conn: Mutex::new(conn),
                clock,
            }),
        })
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Inner) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || f(&inner))
            .await
            .map_err(|e| StoreError::Unavailable(format!("sqlite worker: {e}")))?
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn now(&self) -> i64 {
        self.clock.now().timestamp()
    }
}

const COLUMNS: &str = "pk, sk, gsi1pk, gsi1sk, gsi2pk, gsi2sk, ttl, version, entity, data";

fn row_to_item(row: &rusqlite::Row<'_>) -> rusqlite::Result<(Item, String)> {
    let data: String = row.get(9)?;
    let version: i64 = row.get(7)?;
    Ok((
        Item {
            pk: row.get(0)?,
            sk: row.get(1)?,
            gsi1pk: row.get(2)?,
            gsi1sk: row.get(3)?,
            gsi2pk: row.get(4)?,
            gsi2sk: row.get(5)?,
            ttl: row.get(6)?,
            version: u64::try_from(version).unwrap_or_default(),
            entity: row.get(8)?,
            data: serde_json::Value::Null,
        },
        data,
    ))
}

fn finish(pair: (Item, String)) -> Result<Item, StoreError> {
    let (mut item, data) = pair;
    item.data = serde_json::from_str(&data).map_err(|e| StoreError::Decode(e.to_string()))?;
    Ok(item)
}

fn current(conn: &Connection, key: &Key, now: i64) -> Result<Option<(u64, Option<i64>)>, StoreError> {
    let row: Option<(i64, Option<i64>)> = conn
        .query_row(
            "SELECT version, ttl FROM items WHERE pk = ?1 AND sk = ?2",
            [&key.pk, &key.sk],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(unavailable)?;
    Ok(row
        .filter(|(_, ttl)| ttl.is_none_or(|t| t > now))
        .map(|(v, ttl)| (u64::try_from(v).unwrap_or_default(), ttl)))
}

/// Whether a counter may move (see `Write::Count`): up while below its cap
/// (a missing or null cap bounds nothing), down while above 0.
fn count_bound_holds(conn: &Connection, key: &Key, field: &str, up: bool, cap: &str) -> Result<bool, StoreError> {
    let (count, bound): (Option<i64>, Option<i64>) = conn
        .query_row(
            "SELECT json_extract(data, '$.' || ?3), json_extract(data, '$.' || ?4) FROM items WHERE pk = ?1 AND sk = ?2",
            rusqlite::params![key.pk, key.sk, field, cap],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(unavailable)?
        .unwrap_or((None, None));
    let Some(count) = count else { return Ok(false) };
    Ok(if up { bound.is_none_or(|b| count < b) } else { count > 0 })
}

fn holds(cond: Cond, existing: Option<(u64, Option<i64>)>) -> bool {
    match cond {
        Cond::None => true,
        Cond::MustNotExist => existing.is_none(),
        Cond::MustExist => existing.is_some(),
        Cond::VersionIs(v) => existing.is_some_and(|(cur, _)| cur == v),
    }
}

impl Inner {
    fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        let now = self.now();
        let conn = self.lock();
        let row = conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM items WHERE pk = ?1 AND sk = ?2"))
            .map_err(unavailable)?
            .query_row([&key.pk, &key.sk], row_to_item)
            .optional()
            .map_err(unavailable)?;
        match row {
            Some(pair) if !pair.0.is_expired(now) => finish(pair).map(Some),
            _ => Ok(None),
        }
    }

    fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Item>>, StoreError> {
        if keys.len() > super::MAX_BATCH_GET {
            return Err(StoreError::TooManyReads(keys.len()));
        }
        let now = self.now();
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM items WHERE pk = ?1 AND sk = ?2"))
            .map_err(unavailable)?;
        keys.iter()
            .map(|key| {
                match stmt
                    .query_row([&key.pk, &key.sk], row_to_item)
                    .optional()
                    .map_err(unavailable)?
                {
                    Some(pair) if !pair.0.is_expired(now) => finish(pair).map(Some),
                    _ => Ok(None),
                }
            })
            .collect()
    }

    fn query(&self, q: &Query) -> Result<Page, StoreError> {
        let now = self.now();
        let (ipk, isk) = match q.index {
            Index::Primary => ("pk", "sk"),
            Index::Gsi1 => ("gsi1pk", "gsi1sk"),
            Index::Gsi2 => ("gsi2pk", "gsi2sk"),
        };
        // Order: the index sort key, then the table key (ties on an index sort key).
        let (cmp, dir) = if q.forward { (">", "ASC") } else { ("<", "DESC") };
        let mut sql = format!("SELECT {COLUMNS} FROM items WHERE {ipk} = ? AND {isk} IS NOT NULL");
        let mut args: Vec<SqlValue> = vec![SqlValue::Text(q.pk.clone())];
        match &q.sk {
            SkCond::Any => {}
            SkCond::BeginsWith(p) => {
                sql.push_str(&format!(" AND substr({isk}, 1, length(?)) = ?"));
                args.push(SqlValue::Text(p.clone()));
                args.push(SqlValue::Text(p.clone()));
            }
            SkCond::Between(a, b) => {
                sql.push_str(&format!(" AND {isk} >= ? AND {isk} <= ?"));
                args.push(SqlValue::Text(a.clone()));
                args.push(SqlValue::Text(b.clone()));
            }
            SkCond::Gte(a) => {
                sql.push_str(&format!(" AND {isk} >= ?"));
                args.push(SqlValue::Text(a.clone()));
            }
            SkCond::Lte(b) => {
                sql.push_str(&format!(" AND {isk} <= ?"));
                args.push(SqlValue::Text(b.clone()));
            }
        }
        if let Some(c) = &q.cursor {
            let k = c.for_query(q)?;
            match q.index {
                Index::Primary => {
                    sql.push_str(&format!(" AND sk {cmp} ?"));
                    args.push(SqlValue::Text(k.sk));
                }
                Index::Gsi1 | Index::Gsi2 => {
                    sql.push_str(&format!(" AND ({isk}, pk, sk) {cmp} (?, ?, ?)"));
                    args.push(SqlValue::Text(k.isk.unwrap_or_default()));
                    args.push(SqlValue::Text(k.pk));
                    args.push(SqlValue::Text(k.sk));
                }
            }
        }
        sql.push_str(" AND (ttl IS NULL OR ttl > ?)");
        args.push(SqlValue::Integer(now));
        match q.index {
            Index::Primary => sql.push_str(&format!(" ORDER BY sk {dir}")),
            _ => sql.push_str(&format!(" ORDER BY {isk} {dir}, pk {dir}, sk {dir}")),
        }
        // One more than asked tells whether another page exists.
        sql.push_str(" LIMIT ?");
        let limit = q.limit.clamp(1, super::MAX_PAGE);
        args.push(SqlValue::Integer(i64::from(limit) + 1));

        let conn = self.lock();
        let mut stmt = conn.prepare_cached(&sql).map_err(unavailable)?;
        let rows = stmt
            .query_map(params_from_iter(args), row_to_item)
            .map_err(unavailable)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(unavailable)?;
        let mut items = rows.into_iter().map(finish).collect::<Result<Vec<_>, _>>()?;
        let more = items.len() > limit as usize;
        items.truncate(limit as usize);
        let next = if more {
            items.last().map(|last| Cursor::after(last, q.index))
        } else {
            None
        };
        Ok(Page { items, next })
    }

    fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        super::check_transaction(&writes)?;
        let now = self.now();
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(unavailable)?;
        for (index, w) in writes.iter().enumerate() {
            if !holds(w.cond(), current(&tx, &w.key(), now)?) {
                return Err(StoreError::ConditionFailed { index });
            }
            if let Write::Count { key, field, up, cap } = w
                && !count_bound_holds(&tx, key, field, *up, cap)?
            {
                return Err(StoreError::ConditionFailed { index });
            }
        }
        for w in &writes {
            match w {
                Write::Put { item, .. } => {
                    let data = serde_json::to_string(&item.data).map_err(|e| StoreError::Decode(e.to_string()))?;
                    tx.execute(
                        &format!(
                            "INSERT OR REPLACE INTO items ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
                        ),
                        rusqlite::params![
                            item.pk,
                            item.sk,
                            item.gsi1pk,
                            item.gsi1sk,
                            item.gsi2pk,
                            item.gsi2sk,
                            item.ttl,
                            i64::try_from(item.version).unwrap_or(i64::MAX),
                            item.entity,
                            data
                        ],
                    )
                    .map_err(unavailable)?;
                }
                Write::Delete { key, .. } => {
                    tx.execute("DELETE FROM items WHERE pk = ?1 AND sk = ?2", [&key.pk, &key.sk])
                        .map_err(unavailable)?;
                }
                Write::Check { .. } => {}
                Write::Count { key, field, up, .. } => {
                    tx.execute(
                        "UPDATE items SET data = json_set(data, '$.' || ?3, json_extract(data, '$.' || ?3) + ?4) WHERE pk = ?1 AND sk = ?2",
                        rusqlite::params![key.pk, key.sk, field, if *up { 1 } else { -1 }],
                    )
                    .map_err(unavailable)?;
                }
                Write::Patch { key, set, .. } => {
                    // Field names are checked to be [A-Za-z0-9_] by check_transaction.
                    let paths: Vec<String> = (0..set.len())
                        .map(|i| format!("'$.' || ?{}, json(?{})", 3 + 2 * i, 4 + 2 * i))
                        .collect();
                    let sql = format!(
                        "UPDATE items SET data = json_set(data, {}, '$.version', version + 1), version = version + 1 WHERE pk = ?1 AND sk = ?2",
                        paths.join(", ")
                    );
                    let mut args: Vec<SqlValue> = vec![SqlValue::Text(key.pk.clone()), SqlValue::Text(key.sk.clone())];
                    for (field, value) in set {
                        args.push(SqlValue::Text(field.clone()));
                        args.push(SqlValue::Text(
                            serde_json::to_string(value).map_err(|e| StoreError::Decode(e.to_string()))?,
                        ));
                    }
                    tx.execute(&sql, params_from_iter(args)).map_err(unavailable)?;
                }
            }
        }
        tx.commit().map_err(unavailable)
    }
}

#[async_trait]
impl Table for SqliteTable {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        let key = key.clone();
        self.blocking(move |i| i.get(&key)).await
    }

    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Item>>, StoreError> {
        let keys = keys.to_vec();
        self.blocking(move |i| i.get_many(&keys)).await
    }

    async fn query(&self, q: &Query) -> Result<Page, StoreError> {
        let q = q.clone();
        self.blocking(move |i| i.query(&q)).await
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        self.blocking(move |i| i.transact(writes)).await
    }
}
