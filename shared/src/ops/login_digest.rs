//! The daily digest of partner sign-ins, for customers who chose it over an
//! email at each LogMeIn. The sweep reads only the customers whose digest
//! is due (a sparse GSI2 range, `LOGINDIGESTS`, by due time), then each one's
//! Partner Login events since its last digest (GSI2, by action type), and
//! emails them. A day without sign-ins sends nothing; the digest still
//! moves on a day.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::access::{InstanceAccess, NoticeMode};
use crate::app::Deps;
use crate::audit::{ActionType, ActivityEvent};
use crate::domain::{OrgId, Organization};
use crate::error::AppError;
use crate::mail::templates;
use crate::store::{Cond, Index, Item, Query, SkCond, StoreError, Write, keys};

/// Customers read per page of the due range.
const PAGE: u32 = 100;
/// Sign-ins listed in one digest (the rest are counted, and in the log).
const LISTED: usize = 50;

/// What one run did.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DigestReport {
    /// Customers whose digest was due.
    pub due: u64,
    /// Digests emailed (one per customer with sign-ins, to each address).
    pub sent: u64,
    /// Sign-ins they listed.
    pub sign_ins: u64,
    /// Customers changed meanwhile (their next run sends it).
    pub skipped: u64,
    pub failed: Vec<String>,
}

/// Sends every digest due now.
pub async fn sweep(deps: &Deps) -> Result<DigestReport, AppError> {
    let now = deps.clock.now();
    let mut report = DigestReport::default();
    let mut query = Query::partition(Index::Gsi2, keys::LOGIN_DIGESTS)
        .sk(SkCond::Lte(keys::login_digests_upto(now.timestamp_millis())))
        .limit(PAGE);
    loop {
        let page = deps.table.query(&query).await?;
        for listed in &page.items {
            report.due += 1;
            let Some(customer) = listed.pk.strip_prefix("ORG#").and_then(|s| s.parse::<OrgId>().ok()) else {
                report
                    .failed
                    .push(format!("{}: not an organisation's access item", listed.pk));
                continue;
            };
            if let Err(e) = one(deps, customer, now, &mut report).await {
                report.failed.push(format!("{customer}: {e}"));
            }
        }
        match page.next {
            Some(c) => query = query.after(Some(c)),
            None => return Ok(report),
        }
    }
}

/// One customer's digest: claimed first (the item moves on a day, on its
/// version), then sent; a send that fails puts the claim back so the next
/// run tries again.
async fn one(deps: &Deps, customer: OrgId, now: DateTime<Utc>, report: &mut DigestReport) -> Result<(), AppError> {
    // The index is eventually consistent: read the item itself.
    let (item, org) = futures::future::try_join(
        deps.table.get(&InstanceAccess::key(customer)),
        deps.table.get(&keys::org(customer)),
    )
    .await?;
    let (Some(item), Some(org)) = (item, org) else {
        return Ok(());
    };
    let (access, version) = InstanceAccess::decode(Some(&item))?;
    let Some(notices) = access.notices.clone().filter(|n| n.mode == NoticeMode::DailyDigest) else {
        return Ok(());
    };
    if access.digest_due() > now {
        return Ok(());
    }
    let org: Organization = org.decode()?;
    let from = access.digest_sent_to.unwrap_or(now - chrono::Duration::days(1));
    let sign_ins = partner_logins(deps, customer, from, now).await?;
    let mut claimed = access.clone();
    claimed.digest_sent_to = Some(now);
    match deps.table.transact(vec![put(&claimed, customer, version)?]).await {
        Ok(()) => {}
        Err(StoreError::ConditionFailed { .. }) => {
            report.skipped += 1;
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    }
    if sign_ins.is_empty() {
        return Ok(());
    }
    let lines = lines(&org, &sign_ins, from, now);
    let subject = match sign_ins.len() {
        1 => "1 partner sign-in in the last day".to_string(),
        n => format!("{n} partner sign-ins in the last day"),
    };
    let mut unsent = Vec::new();
    for to in &notices.to {
        let mail = templates::access_notice(
            to,
            &subject,
            &lines,
            ("See partner sign-ins", crate::ops::logmein::SIGN_INS_LINK),
            &deps.settings,
        );
        match deps.mailer.send(&mail).await {
            Ok(()) => report.sent += 1,
            Err(e) => unsent.push(e.to_string()),
        }
    }
    if unsent.len() == notices.to.len() {
        // None went out: put the claim back (unless changed meanwhile) for the next run.
        let _ = deps.table.transact(vec![put(&access, customer, version + 1)?]).await;
        return Err(AppError::Internal(format!("digest not sent: {}", unsent.join("; "))));
    }
    report.sign_ins += sign_ins.len() as u64;
    Ok(())
}

/// The access item over `version`, as the new version.
fn put(access: &InstanceAccess, customer: OrgId, version: u64) -> Result<Write, StoreError> {
    Ok(Write::Put {
        item: access.item(customer, version + 1)?,
        cond: Cond::VersionIs(version),
    })
}

/// The customer's Partner Login events in `[from, to)`, oldest first (a
/// sign-in at the very instant of a digest goes in the next).
async fn partner_logins(
    deps: &Deps,
    customer: OrgId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<ActivityEvent>, AppError> {
    let (lo, hi) = keys::activity_sk_range(from.timestamp_millis(), to.timestamp_millis() - 1);
    let mut query = Query::partition(
        Index::Gsi2,
        keys::activity_by_action(customer, ActionType::PartnerLogin),
    )
    .sk(SkCond::Between(lo, hi))
    .limit(crate::store::MAX_PAGE);
    let mut out = Vec::new();
    loop {
        let page = deps.table.query(&query).await?;
        out.extend(
            page.items
                .iter()
                .map(Item::decode::<ActivityEvent>)
                .collect::<Result<Vec<_>, _>>()?,
        );
        match page.next {
            Some(c) => query = query.after(Some(c)),
            None => return Ok(out),
        }
    }
}

fn lines(org: &Organization, sign_ins: &[ActivityEvent], from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<String> {
    let t = |at: DateTime<Utc>| at.format("%Y-%m-%d %H:%M UTC").to_string();
    let mut lines = vec![format!(
        "Partner sign-ins to {}'s instances as Partner Support, from {} to {}:",
        org.name.as_str(),
        t(from),
        t(to)
    )];
    for e in sign_ins.iter().take(LISTED) {
        lines.push(format!("{}: {} (from {}).", t(e.at), e.description, e.source_ip));
    }
    if sign_ins.len() > LISTED {
        lines.push(format!(
            "And {} more: every one is in your activity log.",
            sign_ins.len() - LISTED
        ));
    }
    lines.push(
        "You chose a daily digest; you can have an email at each sign-in instead, or withdraw partners' access to any instance, on the Partner access page.".into(),
    );
    lines
}
