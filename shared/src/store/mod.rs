//! The `Table` port: the few DynamoDB operations the core uses, in core types.
//! Adapters: [`dynamo::DynamoTable`] (aws-sdk-dynamodb + serde_dynamo) and
//! [`sqlite::SqliteTable`] (embedded). One contract suite
//! (`tests/tests/table_contract.rs`) runs the same cases on both.

pub mod dynamo;
pub mod entities;
pub mod keys;
pub mod schema;
#[cfg(feature = "local")]
pub mod sqlite;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize, de::DeserializeOwned};

/// Most writes one transaction may carry (DynamoDB's TransactWriteItems limit).
pub const MAX_TRANSACTION_WRITES: usize = 100;
/// The largest item stored (DynamoDB's limit is 400 KB, counted as
/// attribute names plus values; the item's JSON, a little larger than that,
/// is what is measured, with room to spare).
pub const MAX_ITEM_BYTES: usize = 390 * 1024;
/// The most one transaction may carry in all (DynamoDB's limit is 4 MB).
pub const MAX_TRANSACTION_BYTES: usize = 4_000_000;
/// Most keys one `get_many` may read (DynamoDB's BatchGetItem limit).
pub const MAX_BATCH_GET: usize = 100;
/// Most items one query page may return.
pub const MAX_PAGE: u32 = 1000;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Self {
            pk: pk.into(),
            sk: sk.into(),
        }
    }
}

/// One stored item. `data` holds the entity (a JSON object); the other fields
/// are the keys and bookkeeping every item shares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub pk: String,
    pub sk: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gsi1pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gsi1sk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gsi2pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gsi2sk: Option<String>,
    /// Epoch seconds after which the item is treated as absent (and TTL removes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<i64>,
    pub version: u64,
    /// The entity type, e.g. `Organization`.
    pub entity: String,
    pub data: serde_json::Value,
}

impl Item {
    pub fn new(key: Key, entity: &str, version: u64, data: &impl Serialize) -> Result<Self, StoreError> {
        let data = serde_json::to_value(data).map_err(|e| StoreError::Decode(e.to_string()))?;
        Ok(Self {
            pk: key.pk,
            sk: key.sk,
            gsi1pk: None,
            gsi1sk: None,
            gsi2pk: None,
            gsi2sk: None,
            ttl: None,
            version,
            entity: entity.to_string(),
            data,
        })
    }
    pub fn with_gsi1(mut self, pk: impl Into<String>, sk: impl Into<String>) -> Self {
        self.gsi1pk = Some(pk.into());
        self.gsi1sk = Some(sk.into());
        self
    }
    pub fn with_gsi2(mut self, pk: impl Into<String>, sk: impl Into<String>) -> Self {
        self.gsi2pk = Some(pk.into());
        self.gsi2sk = Some(sk.into());
        self
    }
    pub fn with_ttl(mut self, epoch_seconds: i64) -> Self {
        self.ttl = Some(epoch_seconds);
        self
    }
    pub fn key(&self) -> Key {
        Key::new(self.pk.clone(), self.sk.clone())
    }
    /// Decode the entity; a stored item that does not decode is an error, never skipped.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, StoreError> {
        T::deserialize(&self.data)
            .map_err(|e| StoreError::Decode(format!("{} {}/{}: {e}", self.entity, self.pk, self.sk)))
    }
    pub fn is_expired(&self, now_epoch: i64) -> bool {
        self.ttl.is_some_and(|t| t <= now_epoch)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Index {
    /// The table's own key (pk, sk).
    Primary,
    Gsi1,
    Gsi2,
}

/// Condition on the sort key of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkCond {
    Any,
    BeginsWith(String),
    /// Inclusive on both ends.
    Between(String, String),
    Gte(String),
    Lte(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub index: Index,
    pub pk: String,
    pub sk: SkCond,
    pub limit: u32,
    pub cursor: Option<Cursor>,
    /// Ascending sort-key order when true.
    pub forward: bool,
}

impl Query {
    pub fn partition(index: Index, pk: impl Into<String>) -> Self {
        Self {
            index,
            pk: pk.into(),
            sk: SkCond::Any,
            limit: 100,
            cursor: None,
            forward: true,
        }
    }
    pub fn sk(mut self, sk: SkCond) -> Self {
        self.sk = sk;
        self
    }
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = limit.clamp(1, MAX_PAGE);
        self
    }
    pub fn after(mut self, cursor: Option<Cursor>) -> Self {
        self.cursor = cursor;
        self
    }
    pub fn backward(mut self) -> Self {
        self.forward = false;
        self
    }
}

#[derive(Debug, Clone, Default)]
pub struct Page {
    pub items: Vec<Item>,
    /// Present when more items may follow; pass it back to resume exactly after the last item.
    pub next: Option<Cursor>,
}

/// An opaque page cursor: the key attributes of the last item read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor(String);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CursorKey {
    pub pk: String,
    pub sk: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isk: Option<String>,
}

impl Cursor {
    pub fn parse(s: &str) -> Result<Self, StoreError> {
        if s.is_empty() || s.len() > 2048 {
            return Err(StoreError::BadCursor);
        }
        let c = Cursor(s.to_string());
        c.decode()?;
        Ok(c)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub(crate) fn encode(k: &CursorKey) -> Self {
        Cursor(URL_SAFE_NO_PAD.encode(serde_json::to_vec(k).unwrap_or_default()))
    }
    /// The cursor that resumes right after `item` in a query of `index`.
    pub(crate) fn after(item: &Item, index: Index) -> Self {
        let (ipk, isk) = match index {
            Index::Primary => (None, None),
            Index::Gsi1 => (item.gsi1pk.clone(), item.gsi1sk.clone()),
            Index::Gsi2 => (item.gsi2pk.clone(), item.gsi2sk.clone()),
        };
        Cursor::encode(&CursorKey {
            pk: item.pk.clone(),
            sk: item.sk.clone(),
            ipk,
            isk,
        })
    }
    pub(crate) fn decode(&self) -> Result<CursorKey, StoreError> {
        let bytes = URL_SAFE_NO_PAD.decode(&self.0).map_err(|_| StoreError::BadCursor)?;
        serde_json::from_slice(&bytes).map_err(|_| StoreError::BadCursor)
    }
    /// The cursor's key, checked against the query it is used with: same
    /// partition, same index, non-empty keys, and a sort key inside the
    /// query's sort-key condition (DynamoDB refuses a start key outside it).
    pub(crate) fn for_query(&self, q: &Query) -> Result<CursorKey, StoreError> {
        let k = self.decode()?;
        let sort_key = match q.index {
            Index::Primary => (k.pk == q.pk && k.ipk.is_none() && k.isk.is_none()).then_some(&k.sk),
            Index::Gsi1 | Index::Gsi2 => (k.ipk.as_deref() == Some(q.pk.as_str()))
                .then_some(k.isk.as_ref())
                .flatten(),
        }
        .ok_or(StoreError::BadCursor)?;
        let inside = match &q.sk {
            SkCond::Any => true,
            SkCond::BeginsWith(p) => sort_key.starts_with(p.as_str()),
            SkCond::Between(a, b) => a <= sort_key && sort_key <= b,
            SkCond::Gte(a) => a <= sort_key,
            SkCond::Lte(b) => sort_key <= b,
        };
        if inside && !k.pk.is_empty() && !k.sk.is_empty() && !sort_key.is_empty() {
            Ok(k)
        } else {
            Err(StoreError::BadCursor)
        }
    }
}

/// A condition one write in a transaction must meet. An item whose TTL has
/// passed counts as absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cond {
    None,
    MustNotExist,
    MustExist,
    VersionIs(u64),
}

#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // short-lived, at most 100 per transaction
pub enum Write {
    Put {
        item: Item,
        cond: Cond,
    },
    Delete {
        key: Key,
        cond: Cond,
    },
    /// Writes nothing; fails the transaction unless `cond` holds.
    Check {
        key: Key,
        cond: Cond,
    },
    /// Sets top-level fields of an existing item's `data` and adds 1 to its
    /// `version` (and sets `data.version` to the same, so entities that carry
    /// their version stay in step). The item must exist (and be live)
    /// whatever `cond` says.
    Patch {
        key: Key,
        set: serde_json::Map<String, serde_json::Value>,
        cond: Cond,
    },
    /// A counter: adds `up` ? 1 : -1 to the number `data.<field>` of an
    /// existing (live) item, without touching its version. Going up, it
    /// fails unless the count stays within `data.<cap>` (absent or null:
    /// no bound); going down, unless the count is above 0. Seats are
    /// counted so (exact under any concurrency: the bound is the write's
    /// own condition).
    Count {
        key: Key,
        field: &'static str,
        up: bool,
        cap: &'static str,
    },
}

impl Write {
    pub fn key(&self) -> Key {
        match self {
            Write::Put { item, .. } => item.key(),
            Write::Delete { key, .. }
            | Write::Check { key, .. }
            | Write::Patch { key, .. }
            | Write::Count { key, .. } => key.clone(),
        }
    }
    /// The condition the write must meet (a patch always needs its item).
    pub fn cond(&self) -> Cond {
        match self {
            Write::Patch {
                cond: Cond::None | Cond::MustNotExist,
                ..
            } => Cond::MustExist,
            // Its bound is its own (see `Write::Count`); the item must exist.
            Write::Count { .. } => Cond::MustExist,
            Write::Put { cond, .. }
            | Write::Delete { cond, .. }
            | Write::Check { cond, .. }
            | Write::Patch { cond, .. } => *cond,
        }
    }
    /// A marker that must not exist yet and expires at `until` (epoch
    /// seconds): rate limits, single-use records.
    pub fn guard(key: Key, until: i64) -> Result<Self, StoreError> {
        let item = Item::new(key, keys::GUARD, 1, &serde_json::json!({}))?.with_ttl(until);
        Ok(Write::Put {
            item,
            cond: Cond::MustNotExist,
        })
    }
    /// A patch setting `fields` (serialised) on the item at `key`.
    pub fn patch(key: Key, fields: &impl Serialize, cond: Cond) -> Result<Self, StoreError> {
        match serde_json::to_value(fields).map_err(|e| StoreError::Decode(e.to_string()))? {
            serde_json::Value::Object(set) => Ok(Write::Patch { key, set, cond }),
            _ => Err(StoreError::Decode("a patch sets the fields of an object".into())),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The write at this position in the transaction failed its condition; nothing was written.
    #[error("condition failed on write {index}")]
    ConditionFailed { index: usize },
    /// Another transaction touched the same items at the same time; nothing was written; retryable.
    #[error("transaction conflict")]
    Conflict,
    #[error("transaction of {0} writes is over the limit")]
    TooManyWrites(usize),
    /// An item or a transaction is over the store's size limits.
    #[error("too large to store: {0}")]
    TooLarge(String),
    #[error("batch of {0} reads is over the limit")]
    TooManyReads(usize),
    #[error("bad cursor")]
    BadCursor,
    /// A key or index key is empty, or an index key lacks its pair.
    #[error("invalid key on {0}")]
    InvalidKey(String),
    /// The transaction touches one item twice (DynamoDB refuses that too).
    #[error("transaction writes {0} more than once")]
    DuplicateKey(String),
    #[error("stored item does not decode: {0}")]
    Decode(String),
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait Table: Send + Sync {
    /// A consistent read of one item; expired items are absent.
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError>;
    /// Consistent reads of several items in one round trip (at most
    /// [`MAX_BATCH_GET`] keys), answered in the order of `keys`.
    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Item>>, StoreError>;
    /// One page of a partition of the table or of an index, sorted by sort key.
    async fn query(&self, q: &Query) -> Result<Page, StoreError>;
    /// All writes or none.
    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError>;
}

pub(crate) fn check_transaction(writes: &[Write]) -> Result<(), StoreError> {
    if writes.is_empty() || writes.len() > MAX_TRANSACTION_WRITES {
        return Err(StoreError::TooManyWrites(writes.len()));
    }
    let mut seen = std::collections::HashSet::with_capacity(writes.len());
    let mut total = 0usize;
    for w in writes {
        let size = match w {
            Write::Put { item, .. } => serde_json::to_vec(item).map(|b| b.len()).unwrap_or(usize::MAX),
            Write::Patch { key, set, .. } => {
                key.pk.len() + key.sk.len() + serde_json::to_vec(set).map(|b| b.len()).unwrap_or(usize::MAX)
            }
            Write::Delete { key, .. } | Write::Check { key, .. } | Write::Count { key, .. } => {
                key.pk.len() + key.sk.len()
            }
        };
        if size > MAX_ITEM_BYTES {
            return Err(StoreError::TooLarge(format!(
                "an item of about {} KB (at most {} KB)",
                size / 1024,
                MAX_ITEM_BYTES / 1024
            )));
        }
        total = total.saturating_add(size);
        if total > MAX_TRANSACTION_BYTES {
            return Err(StoreError::TooLarge(format!(
                "a change of more than {} MB",
                MAX_TRANSACTION_BYTES / 1_000_000
            )));
        }
        let key = w.key();
        let index_keys = match w {
            Write::Put { item, .. } => vec![&item.gsi1pk, &item.gsi1sk, &item.gsi2pk, &item.gsi2sk],
            _ => vec![],
        };
        // DynamoDB refuses empty key strings, and an index key without its
        // pair would be indexed by SQLite but not by DynamoDB.
        let fields_ok = match w {
            Write::Patch { set, .. } => {
                !set.is_empty()
                    && set
                        .keys()
                        .all(|k| !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
            }
            _ => true,
        };
        let pairs_ok = fields_ok
            && match w {
                Write::Put { item, .. } => {
                    item.gsi1pk.is_some() == item.gsi1sk.is_some() && item.gsi2pk.is_some() == item.gsi2sk.is_some()
                }
                _ => true,
            };
        if key.pk.is_empty() || key.sk.is_empty() || index_keys.iter().any(|k| k.as_deref() == Some("")) || !pairs_ok {
            return Err(StoreError::InvalidKey(format!("{}/{}", key.pk, key.sk)));
        }
        if !seen.insert(key.clone()) {
            return Err(StoreError::DuplicateKey(format!("{}/{}", key.pk, key.sk)));
        }
    }
    Ok(())
}
