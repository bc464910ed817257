//! Settings reach the customer's instances: a transactional outbox.
//!
//! A settings change commits, with its value and its activity event, the
//! customer's delivery record ([`LatestSettings`]: the change's sequence in
//! the customer's activity chain, due now). The record is listed in a sparse
//! index while due. Something then delivers it:
//! - in AWS, the table's stream starts `deliver-changes` on the record, and
//!   the same function's schedule retries the deliveries still due;
//! - in the local portal, a worker woken by the change (and every second).
//!
//! A delivery POSTs the customer's whole settings state at that revision,
//! signed, to each verified or unreachable instance that has not
//! acknowledged it; a 2xx answer is the acknowledgement, recorded on the
//! instance. Pending and broken connections are not trusted with it: an
//! instance catches up when its connection is verified, or by pulling
//! ([`pull`]). When every instance has it the record stops being due;
//! otherwise it is due again after a backoff. A later change replaces the
//! record (its version is higher: see [`record_version`]), so bookkeeping
//! about an older revision fails its condition and is dropped, never
//! written over the newer one.

use std::collections::BTreeMap;

use chrono::Duration;
use futures::StreamExt;
use serde::{Deserialize, Serialize};

use crate::app::Deps;
use crate::audit::ActivityEvent;
use crate::connections::ConnectionState;
use crate::domain::{InstanceId, OrgId, Organization};
use crate::error::AppError;
use crate::instances::{Acknowledged, Instance, LatestSettings, SETTINGS_PATH, SettingsSnapshot, new_nonce};
use crate::ops::instances::{open_secret, read_instances, signed_post};
use crate::settings::{Catalogue, SettingValue};
use crate::store::{Cond, Index, Item, Query, SkCond, StoreError, Write, keys};

/// Delivery records one sweep query reads at a time.
pub const SWEEP_PAGE: u32 = 100;
/// Customers delivered to at once.
pub const CUSTOMERS_AT_ONCE: usize = 8;
/// Times an acknowledgement is re-tried when the instance changed under it.
const ACK_ATTEMPTS: u32 = 5;
/// The first retry of a delivery an instance did not acknowledge...
pub const FIRST_RETRY_SECONDS: i64 = 10;
/// ...doubling up to this.
pub const LAST_RETRY_SECONDS: i64 = 3600;

/// The item version of the delivery record a change writes: its sequence
/// shifted left 20 bits. The delivering side adds 1 a time (a million
/// attempts would not reach the next change's), so a record written by a
/// later change always has a higher version than any bookkeeping about an
/// earlier one, and that bookkeeping's `VersionIs` fails.
pub fn record_version(seq: u64) -> u64 {
    seq.saturating_mul(1 << 20)
}

/// When a delivery left an instance without it for the `attempts`th time in a row, it is due again after this.
pub fn retry_after(attempts: u32) -> Duration {
    let doublings = attempts.saturating_sub(1).min(20);
    Duration::seconds((FIRST_RETRY_SECONDS << doublings).min(LAST_RETRY_SECONDS))
}

/// The customer's delivery record as a settings change writes it (see
/// [`crate::ops::Change::derive`]): the change's revision, due now.
pub fn record_for(event: &ActivityEvent) -> Result<Write, StoreError> {
    let latest = LatestSettings {
        customer_id: event.org_id,
        seq: event.seq,
        at: event.at,
        due: Some(event.at),
        attempts: 0,
    };
    Ok(Write::Put {
        item: latest.item(record_version(event.seq))?,
        cond: Cond::None,
    })
}

/// Every setting of the catalogue with the customer's value (or the default).
pub fn state(catalogue: &Catalogue, values: &[SettingValue]) -> BTreeMap<String, bool> {
    catalogue
        .settings
        .iter()
        .map(|def| {
            let enabled = values
                .iter()
                .find(|v| v.key == def.key)
                .map(|v| v.enabled)
                .unwrap_or(def.default_enabled);
            (def.key.to_string(), enabled)
        })
        .collect()
}

/// A customer's values, every page.
async fn values_of(deps: &Deps, customer: OrgId) -> Result<Vec<SettingValue>, AppError> {
    let mut query = Query::partition(Index::Primary, keys::setting_values(customer)).limit(crate::store::MAX_PAGE);
    let mut out = Vec::new();
    loop {
        let page = deps.table.query(&query).await?;
        for item in &page.items {
            out.push(item.decode::<SettingValue>()?);
        }
        match page.next {
            Some(c) => query = query.after(Some(c)),
            None => return Ok(out),
        }
    }
}

/// What a customer's instances should hold: the record (if a setting was
/// ever changed) and the state. The record is read first, so the state read
/// after it is at least as new as its revision (a state newer still is
/// delivered again, under the later revision, when that change's record is).
struct Wanted {
    latest: Option<(LatestSettings, u64)>,
    seq: u64,
    settings: BTreeMap<String, bool>,
}

async fn wanted(deps: &Deps, customer: OrgId) -> Result<(Wanted, Option<Item>), AppError> {
    let [latest, catalogue, org]: [Option<Item>; 3] = deps
        .table
        .get_many(&[keys::delivery(customer), keys::catalogue(), keys::org(customer)])
        .await?
        .try_into()
        .map_err(|_| AppError::Internal("get_many answered a different number of items".into()))?;
    let latest = match latest {
        Some(i) => Some((i.decode::<LatestSettings>()?, i.version)),
        None => None,
    };
    let catalogue: Catalogue = catalogue.map(|i| i.decode()).transpose()?.unwrap_or_default();
    let values = values_of(deps, customer).await?;
    Ok((
        Wanted {
            seq: latest.as_ref().map(|(l, _)| l.seq).unwrap_or(0),
            latest,
            settings: state(&catalogue, &values),
        },
        org,
    ))
}

fn acked(i: &Instance) -> Option<u64> {
    i.acknowledged.as_ref().map(|a| a.seq)
}

/// Whether `i` should be sent revision `seq`: trusted (verified, or
/// unreachable after it was verified and acknowledged a revision: a
/// connection that never proved itself gets nothing) and without it.
fn owed(i: &Instance, seq: u64) -> bool {
    let trusted = match i.connection.state {
        ConnectionState::Verified { .. } => true,
        ConnectionState::Unreachable { .. } => i.acknowledged.is_some(),
        ConnectionState::Pending | ConnectionState::Broken { .. } => false,
    };
    trusted && acked(i).is_none_or(|a| a < seq)
}

/// Sends `i` the snapshot; `Ok(true)` if it acknowledged it (2xx).
async fn send(deps: &Deps, i: &Instance, w: &Wanted) -> Result<bool, AppError> {
    let snapshot = SettingsSnapshot {
        instance_id: i.id,
        customer_id: i.customer_id,
        seq: w.seq,
        settings: w.settings.clone(),
    };
    let body = serde_json::to_vec(&snapshot).map_err(|e| AppError::Internal(format!("snapshot: {e}")))?;
    let secret = open_secret(deps, i).await?;
    let answer = signed_post(deps, i, &secret, SETTINGS_PATH, &new_nonce(), body).await?;
    Ok(matches!(answer, Ok(a) if (200..300).contains(&a.status)))
}

/// Records that the instance acknowledged revision `seq` (never lowering
/// what it had), re-reading it when another writer changed it first.
async fn acknowledge(deps: &Deps, mut instance: Instance, mut version: u64, seq: u64) -> Result<(), AppError> {
    for _ in 0..ACK_ATTEMPTS {
        if acked(&instance).is_some_and(|a| a >= seq) {
            return Ok(());
        }
        let mut after = instance.clone();
        after.acknowledged = Some(Acknowledged {
            seq,
            at: deps.clock.now(),
        });
        after.version = version + 1;
        let put = Write::Put {
            item: after.item()?,
            cond: Cond::VersionIs(version),
        };
        match deps.table.transact(vec![put]).await {
            Ok(()) => return Ok(()),
            Err(StoreError::ConditionFailed { .. } | StoreError::Conflict) => {
                // (A batch read of one: the functions that deliver need no other kind of read.)
                let again = deps.table.get_many(&[keys::instance(instance.id)]).await?;
                match again.into_iter().next().flatten() {
                    Some(item) => {
                        version = item.version;
                        instance = item.decode()?;
                    }
                    // Deleted meanwhile: nothing to record.
                    None => return Ok(()),
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppError::Internal(format!(
        "instance {}: lost the acknowledgement to other writers {ACK_ATTEMPTS} times",
        instance.id
    )))
}

/// What delivering one customer's record did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivered {
    /// Instances sent the revision.
    pub sent: u64,
    /// Of those, the ones that acknowledged it.
    pub acknowledged: u64,
    /// Every trusted instance has it now: the record is no longer due.
    pub complete: bool,
    /// A later change replaced the record meanwhile (it is delivered in turn).
    pub superseded: bool,
}

/// Delivers the customer's latest revision to every instance owed it, and
/// records the outcome on the record (done, or due again after a backoff).
pub async fn deliver(deps: &Deps, customer: OrgId) -> Result<Delivered, AppError> {
    let (w, org) = wanted(deps, customer).await?;
    let Some((mut latest, version)) = w.latest.clone() else {
        return Ok(Delivered::default());
    };
    match latest.due {
        None => {
            return Ok(Delivered {
                complete: true,
                ..Delivered::default()
            });
        }
        // Waiting out a backoff (a record named again before its time): not yet.
        Some(due) if due > deps.clock.now() => return Ok(Delivered::default()),
        Some(_) => {}
    }
    let org: Organization = org.ok_or(AppError::NotFound)?.decode()?;
    let owed: Vec<(Instance, u64)> = read_instances(deps, &org)
        .await?
        .into_iter()
        .filter(|(i, _)| owed(i, w.seq))
        .collect();
    let mut out = Delivered::default();
    let mut missing = 0u64;
    for (i, v) in owed {
        out.sent += 1;
        if send(deps, &i, &w).await? {
            acknowledge(deps, i, v, w.seq).await?;
            out.acknowledged += 1;
        } else {
            missing += 1;
        }
    }
    let now = deps.clock.now();
    if missing == 0 {
        latest.due = None;
        latest.attempts = 0;
    } else {
        latest.attempts += 1;
        latest.due = Some(now + retry_after(latest.attempts));
    }
    match deps
        .table
        .transact(vec![Write::Put {
            item: latest.item(version + 1)?,
            cond: Cond::VersionIs(version),
        }])
        .await
    {
        Ok(()) => out.complete = missing == 0,
        Err(StoreError::ConditionFailed { .. } | StoreError::Conflict) => out.superseded = true,
        Err(e) => return Err(e.into()),
    }
    Ok(out)
}

/// Catches one instance up, off the request path, when its connection has
/// just been verified (it may have missed deliveries while pending, broken
/// or unreachable). Answers whether it acknowledged a revision.
pub async fn catch_up(deps: &Deps, instance: &Instance, version: u64) -> Result<bool, AppError> {
    let (w, _) = wanted(deps, instance.customer_id).await?;
    if !owed(instance, w.seq) || (w.seq == 0 && instance.acknowledged.is_some()) {
        return Ok(false);
    }
    if !send(deps, instance, &w).await? {
        // Not taken: the customer's record is due again, so the retries reach it.
        if let Some((mut latest, v)) = w.latest
            && latest.due.is_none()
        {
            latest.attempts = 1;
            latest.due = Some(deps.clock.now() + retry_after(1));
            match deps
                .table
                .transact(vec![Write::Put {
                    item: latest.item(v + 1)?,
                    cond: Cond::VersionIs(v),
                }])
                .await
            {
                // Lost to a change or a delivery: that one reaches it.
                Ok(()) | Err(StoreError::ConditionFailed { .. } | StoreError::Conflict) => {}
                Err(e) => return Err(e.into()),
            }
        }
        return Ok(false);
    }
    acknowledge(deps, instance.clone(), version, w.seq).await?;
    Ok(true)
}

/// What a sweep of due deliveries did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryReport {
    /// Due records read.
    pub examined: u64,
    pub sent: u64,
    pub acknowledged: u64,
    /// Records every trusted instance has now.
    pub complete: u64,
    /// Records replaced by a later change meanwhile.
    pub superseded: u64,
    /// Customers whose delivery failed on Portico's side (store, keys).
    pub failed: Vec<String>,
}

impl DeliveryReport {
    /// Counts one customer's delivery (a failure is logged and listed).
    pub fn add(&mut self, customer: OrgId, r: Result<Delivered, AppError>) {
        self.examined += 1;
        match r {
            Ok(d) => {
                self.sent += d.sent;
                self.acknowledged += d.acknowledged;
                self.complete += u64::from(d.complete);
                self.superseded += u64::from(d.superseded);
            }
            Err(e) => {
                tracing::error!(customer = %customer, error = %e, "settings delivery failed");
                self.failed.push(format!(
                    "{customer}: {}",
                    e.to_string().chars().take(200).collect::<String>()
                ));
            }
        }
    }
}

/// Delivers to each of `customers`, [`CUSTOMERS_AT_ONCE`] at once.
pub async fn deliver_each(deps: &Deps, customers: Vec<OrgId>) -> Vec<(OrgId, Result<Delivered, AppError>)> {
    futures::stream::iter(customers)
        .map(|c| async move { (c, deliver(deps, c).await) })
        .buffer_unordered(CUSTOMERS_AT_ONCE)
        .collect()
        .await
}

/// The deliveries due at `now`: reads only their index entries (`<= now`),
/// [`SWEEP_PAGE`] at a time.
#[tracing::instrument(skip_all)]
pub async fn sweep(deps: &Deps) -> Result<DeliveryReport, AppError> {
    let now = deps.clock.now();
    let mut report = DeliveryReport::default();
    let mut query = Query::partition(Index::Gsi2, keys::PENDING_DELIVERIES)
        .sk(SkCond::Lte(keys::deliveries_upto(now.timestamp_millis())))
        .limit(SWEEP_PAGE);
    loop {
        let page = deps.table.query(&query).await?;
        let customers = page
            .items
            .iter()
            .map(|i| i.decode::<LatestSettings>().map(|l| l.customer_id))
            .collect::<Result<Vec<_>, _>>()?;
        for (c, r) in deliver_each(deps, customers).await {
            report.add(c, r);
        }
        match page.next {
            Some(c) => query = query.after(Some(c)),
            None => return Ok(report),
        }
    }
}

/// How often the local worker looks for due deliveries when nothing wakes it.
pub const WORKER_POLL: std::time::Duration = std::time::Duration::from_secs(1);

/// The local portal's delivery worker: sweeps when a change wakes it
/// ([`Deps::deliveries_due`]) and every [`WORKER_POLL`] (for retries).
/// Runs until its task is dropped; a sweep that fails is logged and tried
/// again on the next turn (the records stay due).
pub async fn work(deps: std::sync::Arc<Deps>) {
    loop {
        match sweep(&deps).await {
            Ok(r) if !r.failed.is_empty() => tracing::error!(failed = r.failed.len(), "settings deliveries failed"),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "settings delivery sweep failed"),
        }
        tokio::select! {
            _ = deps.deliveries_due.notified() => {}
            _ = tokio::time::sleep(WORKER_POLL) => {}
        }
    }
}

/// The pull route's path: an instance reads its settings there.
pub const PULL_PATH: &str = "/instance-api/settings";
/// How long a nonce an instance used is remembered (the tolerance either
/// side of now, and a minute more): each is accepted once.
const NONCE_KEPT_SECONDS: i64 = 2 * crate::signing::TOLERANCE_SECONDS + 60;

/// `GET /instance-api/settings`: an instance reads its settings at the
/// latest revision (to catch up after downtime), proving itself with a
/// request signed with its connection's secret: `Portico-Instance` names it,
/// `Portico-Signature` signs `GET`, `path` (and query, as sent) and an empty
/// body, within 300 s of Portico's clock, with a nonce never used before.
/// Any connection state may pull: the secret is the proof. 3 round trips:
/// the instance, the nonce, then the record and catalogue with the values.
pub async fn pull(
    deps: &Deps,
    instance: Option<&str>,
    signature: Option<&str>,
    path: &str,
) -> Result<SettingsSnapshot, AppError> {
    let no = || AppError::InstanceSignature("The signature does not hold for this instance.");
    let id: InstanceId = instance
        .ok_or(AppError::InstanceSignature(
            "Name the instance in the Portico-Instance header.",
        ))?
        .parse()
        .map_err(|_| AppError::InstanceSignature("Portico-Instance does not name an instance."))?;
    let signature = signature.ok_or(AppError::InstanceSignature(
        "Sign the request: the Portico-Signature header is missing.",
    ))?;
    let i: Instance = deps.table.get(&keys::instance(id)).await?.ok_or_else(no)?.decode()?;
    let secret = open_secret(deps, &i).await?;
    let now = deps.clock.now().timestamp();
    let mut used = None;
    crate::signing::verify(
        &secret,
        signature,
        &crate::signing::Request {
            method: "GET",
            path,
            body: b"",
        },
        now,
        |n| {
            used = Some(n.to_string());
            true
        },
    )
    .map_err(|e| match e {
        crate::signing::SignatureError::Malformed => {
            AppError::InstanceSignature("Portico-Signature is not t=<unix seconds>,n=<nonce>,v1=<hex HMAC>.")
        }
        crate::signing::SignatureError::Stale => {
            AppError::InstanceSignature("The signature's time is more than 300 s from Portico's clock.")
        }
        _ => no(),
    })?;
    let nonce = used.ok_or_else(no)?;
    match deps
        .table
        .transact(vec![Write::guard(
            keys::instance_nonce(id, &nonce),
            now + NONCE_KEPT_SECONDS,
        )?])
        .await
    {
        Ok(()) => {}
        Err(StoreError::ConditionFailed { .. }) => {
            return Err(AppError::InstanceSignature(
                "This nonce was used already: sign each request with a new one.",
            ));
        }
        Err(e) => return Err(e.into()),
    }
    let (w, _) = wanted(deps, i.customer_id).await?;
    Ok(SettingsSnapshot {
        instance_id: i.id,
        customer_id: i.customer_id,
        seq: w.seq,
        settings: w.settings,
    })
}
