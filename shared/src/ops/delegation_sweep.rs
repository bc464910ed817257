//! The delegated roles' sweep (the `delegation-sweep` function, hourly):
//! reads only what is due, a sparse GSI2 range (`DELEGATIONS#DUE`, by when)
//! that holds each delegation while it has a deadline ahead and each group
//! that closed until its members are tidied. For each:
//! - a reminder 30, 7 and 1 days before the end, to both sides (the
//!   addresses of the delegation's last change, and its author);
//! - at the end, auto-extend by 180 days (unless a role is sensitive), or
//!   expire it: its groups are deleted in the transaction of its event in
//!   both logs, their members left to tidy;
//! - a partner's request unapproved for 90 days lapses the same way;
//! - a closed group's member items are deleted (they had stopped counting).
//!
//! Each change is one transaction conditioned on the version read, so a
//! customer's change meanwhile wins and the delegation is looked at again
//! on the next run.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::app::Deps;
use crate::audit::{ActionType, Target};
use crate::delegations::{Catalogue, Delegation, Due};
use crate::error::AppError;
use crate::mail::templates;
use crate::ops::Change;
use crate::ops::delegations::ClosedGroup;
use crate::store::{Cond, Index, Item, Query, SkCond, StoreError, Write, keys};

/// Items read per page of the due range.
const PAGE: u32 = 100;

/// What one run did.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DelegationSweepReport {
    /// Items of the due range read.
    pub due: u64,
    pub reminded: u64,
    pub extended: u64,
    /// Delegations that expired or whose request lapsed.
    pub ended: u64,
    /// Member items of closed groups deleted.
    pub tidied: u64,
    /// Changed meanwhile: the next run looks again.
    pub skipped: u64,
    pub failed: Vec<String>,
}

/// Does everything due now.
pub async fn sweep(deps: &Deps) -> Result<DelegationSweepReport, AppError> {
    let now = deps.clock.now();
    let mut report = DelegationSweepReport::default();
    let mut query = Query::partition(Index::Gsi2, keys::DELEGATIONS_DUE)
        .sk(SkCond::Lte(keys::delegations_due_upto(now.timestamp_millis())))
        .limit(PAGE);
    // The catalogue and the first page together: a run with nothing due is one read round trip.
    let (catalogue, first) =
        futures::future::join(deps.table.get(&keys::delegated_roles()), deps.table.query(&query)).await;
    let catalogue = Catalogue::from_item(catalogue?.as_ref())?;
    let mut next = Some(first);
    loop {
        let page = match next.take() {
            Some(p) => p?,
            None => deps.table.query(&query).await?,
        };
        for item in &page.items {
            report.due += 1;
            let outcome = if item.entity == keys::CLOSED_GROUP {
                tidy(deps, item, &mut report).await
            } else {
                one(deps, item, &catalogue, now, &mut report).await
            };
            if let Err(e) = outcome {
                report.failed.push(format!("{}/{}: {e}", item.pk, item.sk));
            }
        }
        match page.next {
            Some(c) => query = query.after(Some(c)),
            None => return Ok(report),
        }
    }
}

async fn tidy(deps: &Deps, item: &Item, report: &mut DelegationSweepReport) -> Result<(), AppError> {
    let closed: ClosedGroup = item.decode()?;
    report.tidied += closed.tidy(deps).await? as u64;
    Ok(())
}

async fn one(
    deps: &Deps,
    item: &Item,
    catalogue: &Catalogue,
    now: DateTime<Utc>,
    report: &mut DelegationSweepReport,
) -> Result<(), AppError> {
    let mut d: Delegation = item.decode()?;
    let version = item.version;
    let put = |d: &Delegation| -> Result<Write, AppError> {
        Ok(Write::Put {
            item: d.item(version + 1, catalogue)?,
            cond: Cond::VersionIs(version),
        })
    };
    let partner_side = if d.contact_user.is_some() {
        "its authorized contact"
    } else {
        "its partner"
    };
    let roles = d
        .roles
        .iter()
        .filter_map(|r| catalogue.get(r))
        .map(|r| r.name.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    match d.due(now, catalogue) {
        None => {
            // Listed as due but nothing is (a changed catalogue, say): list it by its real deadline.
            return skip_on_conflict(deps.table.transact(vec![put(&d)?]).await, report);
        }
        Some(Due::Remind { days_before }) => {
            d.reminded(days_before);
            let written = deps.table.transact(vec![put(&d)?]).await;
            if written.is_ok() {
                report.reminded += 1;
                let end = d
                    .ends_at
                    .map(|e| e.format("%Y-%m-%d %H:%M UTC").to_string())
                    .unwrap_or_default();
                tell(
                    deps,
                    &d,
                    &format!(
                        "{}'s roles for {partner_side} end in {days_before} day{}",
                        d.customer_name,
                        if days_before == 1 { "" } else { "s" }
                    ),
                    &[
                        format!("{} delegated {roles} to {partner_side}; it ends on {end}.", d.customer_name),
                        "The customer's Account Owner can extend it (a new term) in Portico's Partner Access; without that, its groups are deleted at the end.".into(),
                    ],
                )
                .await;
            }
            return skip_on_conflict(written, report);
        }
        Some(Due::Extend { until }) => {
            d.extend_to(until);
            let description = format!(
                "{} {roles} to {partner_side} auto-extended to {}",
                d.customer_name,
                until.format("%Y-%m-%d")
            );
            let committed = event(deps, &d, description.clone())?
                .write(put(&d)?)
                .after(serde_json::json!({ "endsAt": until, "autoExtend": true }))
                .commit(deps)
                .await;
            if committed.is_ok() {
                report.extended += 1;
                tell(
                    deps,
                    &d,
                    &format!("{}'s roles were extended", d.customer_name),
                    &[format!("{description}.")],
                )
                .await;
            }
            return skip_on_conflict(committed, report);
        }
        Some(Due::End) => {
            let lapsed = d.approved_at.is_none();
            let closed = d.end();
            let mut writes = vec![put(&d)?];
            for (role, generation) in closed {
                writes.push(Write::Delete {
                    key: keys::delegated_group(d.partner_id, d.customer_id, &role),
                    cond: Cond::None,
                });
                writes.push(Write::Put {
                    item: ClosedGroup {
                        partner_id: d.partner_id,
                        customer_id: d.customer_id,
                        role,
                        generation,
                    }
                    .item(now)?,
                    cond: Cond::None,
                });
            }
            let description = if lapsed {
                format!(
                    "The request for {roles} at {} lapsed: not approved in {} days",
                    d.customer_name,
                    crate::delegations::REQUEST_LAPSES_AFTER_DAYS
                )
            } else {
                format!(
                    "{} {roles} to {partner_side} expired; its groups were deleted",
                    d.customer_name
                )
            };
            let committed = event(deps, &d, description.clone())?
                .writes(writes)
                .after(serde_json::json!({ "state": d.state(now), "groups": d.groups }))
                .commit(deps)
                .await;
            if committed.is_ok() {
                report.ended += 1;
                let subject = if lapsed {
                    format!("A request for roles at {} lapsed", d.customer_name)
                } else {
                    format!("{}'s roles for {partner_side} expired", d.customer_name)
                };
                tell(deps, &d, &subject, &[format!("{description}.")]).await;
            }
            return skip_on_conflict(committed, report);
        }
    }
}

/// The sweep's "Grant Partner Role" event in the customer's log and the partner's.
fn event(deps: &Deps, d: &Delegation, description: String) -> Result<Change, AppError> {
    let actor = crate::ops::scheduler()?;
    Ok(Change::new(
        deps,
        &actor,
        d.customer_id,
        ActionType::GrantPartnerRole,
        Target::organization(d.partner_id),
        description,
    )
    .mirror(d.partner_id, None))
}

/// A changed delegation (a customer's change won) is looked at next run.
fn skip_on_conflict(r: Result<(), StoreError>, report: &mut DelegationSweepReport) -> Result<(), AppError> {
    match r {
        Ok(()) => Ok(()),
        Err(StoreError::ConditionFailed { .. }) => {
            report.skipped += 1;
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

async fn tell(deps: &Deps, d: &Delegation, subject: &str, lines: &[String]) {
    let mut lines = lines.to_vec();
    lines.push("Every change is in both organisations' activity logs.".into());
    for to in &d.notify {
        let mail = templates::access_notice(to, subject, &lines, ("Open Portico", "/"), &deps.settings);
        if let Err(e) = deps.mailer.send(&mail).await {
            tracing::error!(customer = %d.customer_id, error = %e, "delegation notice not sent");
        }
    }
}
