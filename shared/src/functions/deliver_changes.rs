//! The `deliver-changes` function: settings changes reach the customers'
//! instances (`ops::deliveries`). Two triggers:
//! - the table's stream, filtered to delivery records a change has just
//!   written (due, no attempt yet): each record's customer is delivered to
//!   at once; a record that fails on Portico's side (the store, the key
//!   service) is reported back for the stream to retry, and after the
//!   retries goes to the dead-letter queue;
//! - a schedule, every minute: the deliveries due again (an instance did
//!   not acknowledge; the backoff runs from 10 s to an hour).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::app::Deps;
use crate::domain::OrgId;
use crate::error::AppError;
use crate::jobs::{self, JobReport};
use crate::ops::deliveries;
use crate::store::keys;

/// What this function uses besides the table: KMS (to open connection
/// secrets) and calls to instances; its Lambda builds only that.
pub struct Uses;

impl crate::app::Uses for Uses {
    const USING: crate::app::Using = crate::app::Using {
        identity: false,
        mail: false,
        secrets: true,
        outbound: true,
        signer: false,
    };
}

/// One scheduled run: the deliveries due.
pub async fn run(deps: &Deps) -> Result<JobReport, AppError> {
    let d = deliveries::sweep(deps).await?;
    jobs::finish(JobReport {
        job: "DeliverChanges".into(),
        examined: d.examined,
        changed: d.acknowledged,
        deliveries: Some(d),
        ..Default::default()
    })
}

/// A DynamoDB Streams event, as much of it as the function reads.
#[derive(Debug, Deserialize)]
pub struct StreamEvent {
    #[serde(rename = "Records")]
    pub records: Vec<StreamRecord>,
}

#[derive(Debug, Deserialize)]
pub struct StreamRecord {
    #[serde(rename = "eventName", default)]
    pub event_name: String,
    pub dynamodb: StreamChange,
}

#[derive(Debug, Deserialize)]
pub struct StreamChange {
    /// The item's key, as attribute values (`{"pk": {"S": "ORG#…"}, …}`).
    #[serde(rename = "Keys")]
    pub keys: BTreeMap<String, BTreeMap<String, serde_json::Value>>,
    #[serde(rename = "SequenceNumber")]
    pub sequence_number: String,
}

impl StreamChange {
    fn key_part(&self, name: &str) -> Option<&str> {
        self.keys.get(name)?.get("S")?.as_str()
    }

    /// The customer whose delivery record this is (none: another item).
    fn customer(&self) -> Option<OrgId> {
        let key = crate::store::Key::new(self.key_part("pk")?, self.key_part("sk")?);
        let org = key.pk.strip_prefix("ORG#")?.parse().ok()?;
        (key == keys::delivery(org)).then_some(org)
    }
}

/// The answer to a stream batch: the records to retry (the event source
/// mapping reports batch item failures).
#[derive(Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct BatchResponse {
    #[serde(rename = "batchItemFailures")]
    pub batch_item_failures: Vec<ItemFailure>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ItemFailure {
    #[serde(rename = "itemIdentifier")]
    pub item_identifier: String,
}

/// Delivers what a stream batch names (each customer once, several at once).
pub async fn on_stream(deps: &Deps, event: StreamEvent) -> BatchResponse {
    let mut by_customer: BTreeMap<OrgId, Vec<String>> = BTreeMap::new();
    for r in event.records {
        match r.dynamodb.customer() {
            Some(c) if r.event_name != "REMOVE" => by_customer.entry(c).or_default().push(r.dynamodb.sequence_number),
            // The stream's filter lets only delivery records through; anything else is not this function's.
            _ => tracing::warn!(event = %r.event_name, "a stream record that is not a delivery, ignored"),
        }
    }
    let results = deliveries::deliver_each(deps, by_customer.keys().copied().collect()).await;
    let mut answer = BatchResponse::default();
    let mut report = deliveries::DeliveryReport::default();
    for (customer, r) in results {
        if r.is_err() {
            answer
                .batch_item_failures
                .extend(by_customer.get(&customer).into_iter().flatten().map(|s| ItemFailure {
                    item_identifier: s.clone(),
                }));
        }
        report.add(customer, r);
    }
    tracing::info!(
        customers = report.examined,
        sent = report.sent,
        acknowledged = report.acknowledged,
        failed = report.failed.len(),
        "stream batch delivered"
    );
    answer
}

fn json(v: &impl Serialize) -> Result<serde_json::Value, AppError> {
    serde_json::to_value(v).map_err(|e| AppError::Internal(format!("answer: {e}")))
}

/// The Lambda's handler: a stream batch, or the schedule.
pub async fn handle(deps: &Deps, event: serde_json::Value) -> Result<serde_json::Value, AppError> {
    if event.get("Records").is_some() {
        let batch = StreamEvent::deserialize(&event)
            .map_err(|e| AppError::invalid(format!("not a DynamoDB stream event: {e}")))?;
        return json(&on_stream(deps, batch).await);
    }
    jobs::scheduled(&event)?;
    json(&run(deps).await?)
}
