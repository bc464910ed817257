//! DynamoDB adapter (aws-sdk-dynamodb + serde_dynamo). No SDK type leaves
//! this module. The table itself is created by infrastructure (SAM) or, for
//! DynamoDB Local, by the test harness, never here.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, KeysAndAttributes, Put, TransactWriteItem, Update,
};

use super::{Cond, Cursor, Index, Item, Key, Page, Query, SkCond, StoreError, Table, Write};
use crate::clock::Clock;

pub struct DynamoTable {
    client: Client,
    table: String,
    clock: Arc<dyn Clock>,
}

impl DynamoTable {
    pub fn new(client: Client, table: impl Into<String>, clock: Arc<dyn Clock>) -> Self {
        Self {
            client,
            table: table.into(),
            clock,
        }
    }
    fn now(&self) -> i64 {
        self.clock.now().timestamp()
    }
}

type Attrs = HashMap<String, AttributeValue>;

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn key_attrs(k: &Key) -> Attrs {
    HashMap::from([("pk".to_string(), s(&k.pk)), ("sk".to_string(), s(&k.sk))])
}

fn decode(attrs: Attrs) -> Result<Item, StoreError> {
    serde_dynamo::from_item(attrs).map_err(|e| StoreError::Decode(e.to_string()))
}

fn sdk_unavailable<E: std::error::Error + 'static, R: std::fmt::Debug>(e: SdkError<E, R>) -> StoreError {
    // The display of an SdkError is terse; the context carries the service's message.
    StoreError::Unavailable(aws_sdk_dynamodb::error::DisplayErrorContext(&e).to_string())
}

/// Condition expression for a write; expired items count as absent.
fn condition(cond: Cond, now: i64) -> Option<(String, HashMap<String, String>, Attrs)> {
    let names = HashMap::from([
        ("#pk".to_string(), "pk".to_string()),
        ("#ttl".to_string(), "ttl".to_string()),
    ]);
    let now_v = HashMap::from([(":now".to_string(), AttributeValue::N(now.to_string()))]);
    let live = "(attribute_not_exists(#ttl) OR #ttl > :now)";
    match cond {
        Cond::None => None,
        Cond::MustNotExist => Some(("attribute_not_exists(#pk) OR #ttl <= :now".to_string(), names, now_v)),
        Cond::MustExist => Some((format!("attribute_exists(#pk) AND {live}"), names, now_v)),
        Cond::VersionIs(v) => {
            let mut names = names;
            names.remove("#pk");
            names.insert("#v".into(), "version".into());
            let mut vals = now_v;
            vals.insert(":v".into(), AttributeValue::N(v.to_string()));
            Some((format!("#v = :v AND {live}"), names, vals))
        }
    }
}

#[async_trait]
impl Table for DynamoTable {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_attrs(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_unavailable)?;
        match out.item {
            Some(attrs) => {
                let item = decode(attrs)?;
                Ok((!item.is_expired(self.now())).then_some(item))
            }
            None => Ok(None),
        }
    }

    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Item>>, StoreError> {
        if keys.len() > super::MAX_BATCH_GET {
            return Err(StoreError::TooManyReads(keys.len()));
        }
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        // BatchGetItem refuses duplicate keys: ask for each key once.
        let mut unique: Vec<&Key> = Vec::with_capacity(keys.len());
        for k in keys {
            if !unique.contains(&k) {
                unique.push(k);
            }
        }
        let mut pending: Vec<Attrs> = unique.iter().map(|k| key_attrs(k)).collect();
        let mut found: HashMap<Key, Item> = HashMap::new();
        // Unprocessed keys (throttling) are retried; normally this is one round trip.
        for attempt in 0..5u32 {
            let request = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut pending)))
                .consistent_read(true)
                .build()
                .map_err(|e| StoreError::Unavailable(e.to_string()))?;
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await
                .map_err(sdk_unavailable)?;
            for attrs in out
                .responses
                .and_then(|mut r| r.remove(&self.table))
                .unwrap_or_default()
            {
                let item = decode(attrs)?;
                found.insert(item.key(), item);
            }
            pending = out
                .unprocessed_keys
                .and_then(|mut u| u.remove(&self.table))
                .map(|k| k.keys)
                .unwrap_or_default();
            if pending.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20 << attempt)).await;
        }
        if !pending.is_empty() {
            return Err(StoreError::Unavailable("batch read throttled".into()));
        }
        let now = self.now();
        Ok(keys
            .iter()
            .map(|k| found.get(k).filter(|i| !i.is_expired(now)).cloned())
            .collect())
    }

    async fn query(&self, q: &Query) -> Result<Page, StoreError> {
        let (index_name, ipk, isk) = match q.index {
            Index::Primary => (None, "pk", "sk"),
            Index::Gsi1 => (Some("gsi1"), "gsi1pk", "gsi1sk"),
            Index::Gsi2 => (Some("gsi2"), "gsi2pk", "gsi2sk"),
        };
        let mut names = HashMap::from([
            ("#pk".to_string(), ipk.to_string()),
            ("#ttl".to_string(), "ttl".to_string()),
        ]);
        let mut values = HashMap::from([
            (":pk".to_string(), s(&q.pk)),
            (":now".to_string(), AttributeValue::N(self.now().to_string())),
        ]);
        let mut kce = "#pk = :pk".to_string();
        let mut sk_name = || {
            names.insert("#sk".to_string(), isk.to_string());
        };
        match &q.sk {
            SkCond::Any => {}
            SkCond::BeginsWith(p) => {
                sk_name();
                kce.push_str(" AND begins_with(#sk, :a)");
                values.insert(":a".into(), s(p));
            }
            SkCond::Between(a, b) => {
                sk_name();
                kce.push_str(" AND #sk BETWEEN :a AND :b");
                values.insert(":a".into(), s(a));
                values.insert(":b".into(), s(b));
            }
            SkCond::Gte(a) => {
                sk_name();
                kce.push_str(" AND #sk >= :a");
                values.insert(":a".into(), s(a));
            }
            SkCond::Lte(b) => {
                sk_name();
                kce.push_str(" AND #sk <= :b");
                values.insert(":b".into(), s(b));
            }
        }
        let mut start = match &q.cursor {
            None => None,
            Some(c) => {
                let k = c.for_query(q)?;
                let mut m = key_attrs(&Key::new(k.pk, k.sk));
                if let (Some(p), Some(sk)) = (k.ipk, k.isk) {
                    m.insert(ipk.to_string(), s(p));
                    m.insert(isk.to_string(), s(sk));
                }
                Some(m)
            }
        };
        let limit = q.limit.clamp(1, super::MAX_PAGE) as usize;
        // DynamoDB applies `Limit` before the TTL filter and may stop short, so
        // read until the page is full plus one item (which says whether
        // another page exists) or the partition ends. Usually one round trip.
        let mut items: Vec<Item> = Vec::with_capacity(limit + 1);
        loop {
            let want = limit + 1 - items.len();
            let mut req = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression(&kce)
                .filter_expression("attribute_not_exists(#ttl) OR #ttl > :now")
                .set_expression_attribute_names(Some(names.clone()))
                .set_expression_attribute_values(Some(values.clone()))
                .scan_index_forward(q.forward)
                .limit(i32::try_from(want).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take());
            match index_name {
                Some(n) => req = req.index_name(n),
                None => req = req.consistent_read(true),
            }
            let out = req.send().await.map_err(sdk_unavailable)?;
            for attrs in out.items.unwrap_or_default() {
                items.push(decode(attrs)?);
            }
            match out.last_evaluated_key {
                Some(lek) if items.len() <= limit => start = Some(lek),
                _ => break,
            }
        }
        let more = items.len() > limit;
        items.truncate(limit);
        let next = if more {
            items.last().map(|last| Cursor::after(last, q.index))
        } else {
            None
        };
        Ok(Page { items, next })
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        super::check_transaction(&writes)?;
        let now = self.now();
        let mut items = Vec::with_capacity(writes.len());
        for w in &writes {
            // A check with no condition still needs one; the others may go without.
            let cond = condition(w.cond(), now).or_else(|| {
                matches!(w, Write::Check { .. }).then(|| {
                    let names = HashMap::from([("#pk".to_string(), "pk".to_string())]);
                    (
                        "attribute_not_exists(#pk) OR attribute_exists(#pk)".to_string(),
                        names,
                        HashMap::new(),
                    )
                })
            });
            let (expr, names, values) = match cond {
                Some((e, n, v)) => (Some(e), Some(n), (!v.is_empty()).then_some(v)),
                None => (None, None, None),
            };
            let unavailable = |e: aws_sdk_dynamodb::error::BuildError| StoreError::Unavailable(e.to_string());
            let built = match w {
                Write::Put { item, .. } => {
                    let attrs: Attrs = serde_dynamo::to_item(item).map_err(|e| StoreError::Decode(e.to_string()))?;
                    let b = Put::builder()
                        .table_name(&self.table)
                        .set_item(Some(attrs))
                        .set_condition_expression(expr)
                        .set_expression_attribute_names(names)
                        .set_expression_attribute_values(values);
                    TransactWriteItem::builder().put(b.build().map_err(unavailable)?)
                }
                Write::Delete { key, .. } => {
                    let b = Delete::builder()
                        .table_name(&self.table)
                        .set_key(Some(key_attrs(key)))
                        .set_condition_expression(expr)
                        .set_expression_attribute_names(names)
                        .set_expression_attribute_values(values);
                    TransactWriteItem::builder().delete(b.build().map_err(unavailable)?)
                }
                Write::Patch { key, set, .. } => {
                    let mut names = names.unwrap_or_default();
                    let mut values = values.unwrap_or_default();
                    names.insert("#data".into(), "data".into());
                    names.insert("#version".into(), "version".into());
                    values.insert(":one".into(), AttributeValue::N("1".into()));
                    let mut sets = Vec::with_capacity(set.len() + 1);
                    for (i, (field, value)) in set.iter().enumerate() {
                        names.insert(format!("#f{i}"), field.clone());
                        let v =
                            serde_dynamo::to_attribute_value(value).map_err(|e| StoreError::Decode(e.to_string()))?;
                        values.insert(format!(":f{i}"), v);
                        sets.push(format!("#data.#f{i} = :f{i}"));
                    }
                    // The entity's own `version` field follows the item's (both from the old value).
                    names.insert("#dversion".into(), "version".into());
                    sets.push("#version = #version + :one".into());
                    sets.push("#data.#dversion = #version + :one".into());
                    let b = Update::builder()
                        .table_name(&self.table)
                        .set_key(Some(key_attrs(key)))
                        .update_expression(format!("SET {}", sets.join(", ")))
                        .set_condition_expression(expr)
                        .set_expression_attribute_names(Some(names))
                        .set_expression_attribute_values(Some(values));
                    TransactWriteItem::builder().update(b.build().map_err(unavailable)?)
                }
                Write::Count { key, field, up, cap } => {
                    let mut names = names.unwrap_or_default();
                    let mut values = values.unwrap_or_default();
                    names.insert("#data".into(), "data".into());
                    names.insert("#count".into(), (*field).to_string());
                    values.insert(":one".into(), AttributeValue::N("1".into()));
                    let base = expr.unwrap_or_default();
                    let (update, bound) = if *up {
                        names.insert("#cap".into(), (*cap).to_string());
                        values.insert(":null".into(), AttributeValue::S("NULL".into()));
                        (
                            "SET #data.#count = #data.#count + :one",
                            "(attribute_not_exists(#data.#cap) OR attribute_type(#data.#cap, :null) OR #data.#count < #data.#cap)",
                        )
                    } else {
                        values.insert(":zero".into(), AttributeValue::N("0".into()));
                        ("SET #data.#count = #data.#count - :one", "#data.#count > :zero")
                    };
                    let b = Update::builder()
                        .table_name(&self.table)
                        .set_key(Some(key_attrs(key)))
                        .update_expression(update)
                        .condition_expression(format!("({base}) AND {bound}"))
                        .set_expression_attribute_names(Some(names))
                        .set_expression_attribute_values(Some(values));
                    TransactWriteItem::builder().update(b.build().map_err(unavailable)?)
                }
                Write::Check { key, .. } => {
                    let b = ConditionCheck::builder()
                        .table_name(&self.table)
                        .set_key(Some(key_attrs(key)))
                        .set_condition_expression(expr)
                        .set_expression_attribute_names(names)
                        .set_expression_attribute_values(values);
                    TransactWriteItem::builder().condition_check(b.build().map_err(unavailable)?)
                }
            };
            items.push(built.build());
        }
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => match e.into_service_error() {
                TransactWriteItemsError::TransactionCanceledException(c) => {
                    let reasons = c.cancellation_reasons();
                    if let Some(index) = reasons.iter().position(|r| r.code() == Some("ConditionalCheckFailed")) {
                        Err(StoreError::ConditionFailed { index })
                    } else if reasons.iter().any(|r| r.code() == Some("TransactionConflict")) {
                        Err(StoreError::Conflict)
                    } else {
                        Err(StoreError::Unavailable(format!(
                            "transaction cancelled: {:?}",
                            reasons.iter().map(|r| r.code()).collect::<Vec<_>>()
                        )))
                    }
                }
                TransactWriteItemsError::TransactionInProgressException(_) => Err(StoreError::Conflict),
                other => Err(StoreError::Unavailable(
                    aws_sdk_dynamodb::error::DisplayErrorContext(&other).to_string(),
                )),
            },
        }
    }
}
