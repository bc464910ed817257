//! Suspending partner users after weeks without activity, warning them
//! first, and restoring access: a request (by the user or their Partner
//! Manager) and a platform admin's reinstatement.
//!
//! The sweep reads only the sparse index of active partner users' last
//! activity up to the warning line (`inactivity`), oldest first; every
//! write is conditional on the activity record it read, so a user active
//! since, or a second sweep, changes nothing.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::Deps;
use crate::audit::{ActionType, Actor, Target};
use crate::authz::{Action, OrgFacts};
use crate::domain::{EmailAddress, OrgId, Organization, User, UserId, UserStatus};
use crate::error::AppError;
use crate::http::principal::Caller;
use crate::inactivity::UserActivity;
use crate::mail::templates;
use crate::ops::{Change, authenticate_and_query, authenticate_full};
use crate::store::{Cond, Index, Item, Query, SkCond, StoreError, Write, keys};

/// Index entries one sweep query reads at a time.
pub const SWEEP_PAGE: u32 = 500;

/// What one sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SweepReport {
    /// Candidates read from the index (users past the warning line).
    pub examined: u64,
    pub warned: u64,
    pub suspended: u64,
    /// Active since the read, warned already, or changed by another sweep.
    pub skipped: u64,
    /// Suspended users whose identity was disabled on a later try.
    pub identity_retried: u64,
    /// Users whose suspension or warning failed, with why.
    pub failed: Vec<String>,
}

fn user_target(id: UserId) -> Target {
    Target {
        kind: "user".into(),
        id: id.to_string(),
    }
}

/// The first line of an error, at most 200 characters (SDK errors carry whole responses).
fn brief(why: &str) -> String {
    why.lines().next().unwrap_or_default().chars().take(200).collect()
}

enum Outcome {
    /// Committed: the organisation's new chain head, and what failed after (if anything).
    Done(Box<Item>, Option<String>),
    Skipped,
}

/// One sweep: warns users past the warning line (once), suspends users past
/// the suspension line. Reads one page of index entries per
/// [`SWEEP_PAGE`] candidates and the chain heads of their organisations.
#[tracing::instrument(skip_all)]
pub async fn sweep(deps: &Deps) -> Result<SweepReport, AppError> {
    let now = deps.clock.now();
    let policy = deps.settings.inactivity;
    let suspend_line = policy.suspend_line(now);
    let upto = if policy.warn_days_before == 0 {
        suspend_line
    } else {
        policy.warn_line(now)
    };
    let actor = crate::ops::scheduler()?;
    let mut report = SweepReport::default();
    retry_identities(deps, &mut report).await?;
    let mut heads: HashMap<OrgId, Option<Item>> = HashMap::new();
    let mut query = Query::partition(Index::Gsi2, keys::INACTIVITY)
        .sk(SkCond::Lte(keys::inactivity_upto(upto.timestamp_millis())))
        .limit(SWEEP_PAGE);
    loop {
        let page = deps.table.query(&query).await?;
        let mut candidates = Vec::with_capacity(page.items.len());
        for item in &page.items {
            candidates.push((item.decode::<UserActivity>()?, item.version));
        }
        // The chain heads of the candidates' organisations not read yet, 100 at a time.
        let missing: Vec<OrgId> = {
            let mut m: Vec<OrgId> = candidates.iter().map(|(c, _)| c.org_id).collect();
            m.sort();
            m.dedup();
            m.retain(|o| !heads.contains_key(o));
            m
        };
        for chunk in missing.chunks(crate::store::MAX_BATCH_GET) {
            let keys: Vec<_> = chunk.iter().map(|o| keys::activity_head(*o)).collect();
            let items = deps.table.get_many(&keys).await?;
            heads.extend(chunk.iter().copied().zip(items));
        }
        for (c, version) in candidates {
            report.examined += 1;
            let (org, user) = (c.org_id, c.user_id);
            let head = heads.get(&org).cloned();
            let suspending = c.last_active_at <= suspend_line;
            let outcome = if suspending {
                suspend(deps, &actor, c, version, head, now).await
            } else if c.warned_at.is_some_and(|w| w >= c.last_active_at) {
                Ok(Outcome::Skipped)
            } else {
                warn(deps, &actor, c, version, head, now).await
            };
            match outcome {
                Ok(Outcome::Done(new_head, trouble)) => {
                    heads.insert(org, Some(*new_head));
                    if suspending {
                        report.suspended += 1;
                    } else {
                        report.warned += 1;
                    }
                    if let Some(why) = trouble {
                        report.failed.push(format!("{user}: {}", brief(&why)));
                    }
                }
                Ok(Outcome::Skipped) => report.skipped += 1,
                Err(e) => {
                    tracing::error!(%user, error = %e, "inactivity sweep: user not handled");
                    report.failed.push(format!("{user}: {}", brief(&e.to_string())));
                    // Its head may have moved: read it again when needed.
                    heads.remove(&org);
                }
            }
        }
        match page.next {
            Some(c) => query = query.after(Some(c)),
            None => break,
        }
    }
    Ok(report)
}

/// The identity's part of a suspension (Portico's sessions ended with the
/// suspension's own transaction).
async fn disable_identity(deps: &Deps, user: UserId) -> Result<(), String> {
    deps.identity
        .disable(user)
        .await
        .map_err(|e| format!("suspended, but the identity was not disabled: {e}"))
}

/// Suspended users whose identity call failed last time: try again, and
/// take them out of the pending index once it worked.
async fn retry_identities(deps: &Deps, report: &mut SweepReport) -> Result<(), AppError> {
    let mut query = Query::partition(Index::Gsi2, keys::IDENTITY_PENDING).limit(SWEEP_PAGE);
    loop {
        let page = deps.table.query(&query).await?;
        for listed in &page.items {
            let listed: UserActivity = listed.decode()?;
            // The index is eventually consistent: read the record itself
            // (consistently) and go on only if it still waits, so that a user
            // reinstated meanwhile is not disabled again.
            let Some(item) = deps.table.get(&keys::user_activity(listed.user_id)).await? else {
                continue;
            };
            if item.gsi2pk.as_deref() != Some(keys::IDENTITY_PENDING) {
                continue;
            }
            let item = &item;
            let a: UserActivity = item.decode()?;
            match disable_identity(deps, a.user_id).await {
                Ok(()) => {
                    let done = Write::Put {
                        item: a.item(item.version + 1)?,
                        cond: Cond::VersionIs(item.version),
                    };
                    match deps.table.transact(vec![done]).await {
                        Ok(()) => report.identity_retried += 1,
                        // Changed meanwhile: if reinstated, the identity must stay enabled.
                        Err(StoreError::ConditionFailed { .. }) => {
                            let user: Option<User> = deps
                                .table
                                .get(&keys::user(a.user_id))
                                .await?
                                .map(|i| i.decode())
                                .transpose()?;
                            if user.is_some_and(|u| u.status == UserStatus::Active) {
                                deps.identity
                                    .enable(a.user_id)
                                    .await
                                    .map_err(|e| AppError::Identity(e.to_string()))?;
                            }
                            report.identity_retried += 1;
                        }
                        Err(e) => report.failed.push(format!("{}: {}", a.user_id, brief(&e.to_string()))),
                    }
                }
                Err(why) => report.failed.push(format!("{}: {}", a.user_id, brief(&why))),
            }
        }
        match page.next {
            Some(c) => query = query.after(Some(c)),
            None => return Ok(()),
        }
    }
}

async fn suspend(
    deps: &Deps,
    actor: &Actor,
    c: UserActivity,
    version: u64,
    head: Option<Option<Item>>,
    now: DateTime<Utc>,
) -> Result<Outcome, AppError> {
    let mut change = Change::new(
        deps,
        actor,
        c.org_id,
        ActionType::UpdateUserProfile,
        user_target(c.user_id),
        format!(
            "Suspended {} for inactivity: no activity since {}",
            c.email,
            c.last_active_at.format("%Y-%m-%d %H:%M UTC")
        ),
    )
    .write(
        UserActivity {
            suspended_at: Some(now),
            ..c.clone()
        }
        .write(Some(version))?,
    )
    .write(Write::patch(
        keys::user(c.user_id),
        &serde_json::json!({ "status": UserStatus::Suspended, "sessionGeneration": crate::sessions::new_generation() }),
        Cond::MustExist,
    )?)
    .write(Write::patch(
        keys::login(&c.email),
        &serde_json::json!({ "suspended": true }),
        Cond::MustExist,
    )?)
    .after(serde_json::json!({ "status": UserStatus::Suspended }));
    change.event.before = Some(serde_json::json!({ "status": UserStatus::Active, "lastActiveAt": c.last_active_at }));
    if let Some(h) = head {
        change = change.head(h);
    }
    let new_head = match change.commit_for_head(deps).await {
        Ok(h) => h,
        // Active since the read, or another sweep got here first.
        Err(StoreError::ConditionFailed { index: 0 }) => return Ok(Outcome::Skipped),
        Err(e) => return Err(e.into()),
    };
    // Portico refuses the user from now on; the identity follows. If it
    // fails, the record waits in the identity-pending index for the next sweep.
    let trouble = disable_identity(deps, c.user_id).await.err();
    if trouble.is_some() {
        let pending = UserActivity {
            suspended_at: Some(now),
            ..c.clone()
        }
        .item(version + 2)?
        .with_gsi2(
            keys::IDENTITY_PENDING,
            keys::inactivity_sk(now.timestamp_millis(), c.user_id),
        );
        let mark = Write::Put {
            item: pending,
            cond: Cond::VersionIs(version + 1),
        };
        if let Err(e) = deps.table.transact(vec![mark]).await {
            tracing::error!(user = %c.user_id, error = %e, "identity retry not recorded");
        }
    }
    tracing::info!(user = %c.user_id, "suspended for inactivity");
    Ok(Outcome::Done(Box::new(new_head), trouble))
}

async fn warn(
    deps: &Deps,
    actor: &Actor,
    c: UserActivity,
    version: u64,
    head: Option<Option<Item>>,
    now: DateTime<Utc>,
) -> Result<Outcome, AppError> {
    let on = c.last_active_at + Duration::days(i64::from(deps.settings.inactivity.suspend_after_days));
    let when = on.format("%Y-%m-%d %H:%M UTC").to_string();
    let mut change = Change::new(
        deps,
        actor,
        c.org_id,
        ActionType::UpdateUserProfile,
        user_target(c.user_id),
        format!(
            "Warned {}: suspension for inactivity on {when} unless they sign in",
            c.email
        ),
    )
    .write(
        UserActivity {
            warned_at: Some(now),
            ..c.clone()
        }
        .write(Some(version))?,
    );
    if let Some(h) = head {
        change = change.head(h);
    }
    let new_head = match change.commit_for_head(deps).await {
        Ok(h) => h,
        Err(StoreError::ConditionFailed { index: 0 }) => return Ok(Outcome::Skipped),
        Err(e) => return Err(e.into()),
    };
    let mail = templates::notice(
        &c.email,
        &format!("your access will be suspended on {when}"),
        &format!(
            "Your account has had no activity since {}. Accounts without activity for {} days are suspended: \
             sign in before {when} to keep your access.",
            c.last_active_at.format("%Y-%m-%d"),
            deps.settings.inactivity.suspend_after_days
        ),
        &deps.settings,
    );
    let trouble = match deps.mailer.send(&mail).await {
        Ok(()) => None,
        Err(e) => Some(format!("warned, but the email was not sent: {e}")),
    };
    Ok(Outcome::Done(Box::new(new_head), trouble))
}

/// A request to restore a suspended user's access, waiting for the platform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RestoreRequest {
    pub user_id: UserId,
    pub org_id: OrgId,
    pub email: EmailAddress,
    pub requested_at: DateTime<Utc>,
    /// Who asked: the user (by email), or their Partner Manager.
    pub requested_by: EmailAddress,
}

impl RestoreRequest {
    fn item(&self) -> Result<Item, StoreError> {
        Ok(
            Item::new(keys::restore_request(self.user_id), keys::RESTORE_REQUEST, 1, self)?.with_gsi2(
                keys::PENDING_RESTORE_REQUESTS,
                keys::inactivity_sk(self.requested_at.timestamp_millis(), self.user_id),
            ),
        )
    }
}

/// Body of `POST /session/restore-request`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AskRestore {
    pub email: EmailAddress,
}

/// A suspended user asks the platform to restore their access. Answers the
/// same whatever the address (202); one request per user waits at a time,
/// and an address may ask once a day.
pub async fn ask_restore(deps: &Deps, source_ip: &str, input: AskRestore) -> Result<(), AppError> {
    let Some(item) = deps.table.get(&keys::login(&input.email)).await? else {
        return Ok(());
    };
    let login: crate::accounts::Login = item.decode()?;
    if !login.suspended {
        return Ok(());
    }
    let now = deps.clock.now();
    let request = RestoreRequest {
        user_id: login.user_id,
        org_id: login.org_id,
        email: input.email.clone(),
        requested_at: now,
        requested_by: input.email.clone(),
    };
    // Anyone who knows the address may ask: the event is anonymous, with the
    // requester's source IP, and names the account as its target.
    let change = Change::anonymous(
        deps,
        source_ip,
        login.org_id,
        ActionType::UpdateUserProfile,
        user_target(login.user_id),
        format!(
            "Someone at {source_ip} asked the platform to restore access for {} (without signing in)",
            input.email
        ),
    )
    .write(Write::guard(
        keys::mail_throttle("restore", &input.email),
        (now + Duration::days(1)).timestamp(),
    )?)
    .write(Write::Put {
        item: request.item()?,
        cond: Cond::MustNotExist,
    });
    match change.commit(deps).await {
        // Asked today already, or a request is waiting: nothing new.
        Ok(()) | Err(StoreError::ConditionFailed { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// A Partner Manager asks the platform to restore one of their users. 1 read, 1 write.
pub async fn ask_restore_for(
    deps: &Deps,
    caller: &Caller,
    org: OrgId,
    user: UserId,
) -> Result<RestoreRequest, AppError> {
    let (a, [o, u, existing]) = authenticate_full(
        deps,
        caller,
        [keys::org(org), keys::user(user), keys::restore_request(user)],
    )
    .await?;
    let o: Organization = o.ok_or(AppError::NotFound)?.decode()?;
    deps.authz
        .require(&a.actor.principal, Action::RequestRestore, &OrgFacts::from(&o))?;
    let u: User = u.ok_or(AppError::NotFound)?.decode()?;
    if u.org_id != o.id {
        return Err(AppError::NotFound);
    }
    if let Some(existing) = existing {
        return Ok(existing.decode()?);
    }
    if u.status != UserStatus::Suspended {
        return Err(AppError::Conflict(format!("{} is not suspended.", u.email)));
    }
    let request = RestoreRequest {
        user_id: u.id,
        org_id: o.id,
        email: u.email.clone(),
        requested_at: deps.clock.now(),
        requested_by: a.actor.principal.email.clone(),
    };
    Change::new(
        deps,
        &a.actor,
        o.id,
        ActionType::UpdateUserProfile,
        user_target(u.id),
        format!(
            "{} asked the platform to restore {}'s access",
            request.requested_by, u.email
        ),
    )
    .write(Write::Put {
        item: request.item()?,
        cond: Cond::MustNotExist,
    })
    .commit(deps)
    .await
    .map_err(|e| crate::ops::on_condition(e, |_| Some(AppError::Conflict("A request is waiting already.".into()))))?;
    Ok(request)
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RestoreRequestPage {
    /// Oldest first.
    pub items: Vec<RestoreRequest>,
}

/// The requests waiting for the platform (platform admins), oldest first. 1 read round trip.
pub async fn list_restore_requests(deps: &Deps, caller: &Caller) -> Result<RestoreRequestPage, AppError> {
    let query = Query::partition(Index::Gsi2, keys::PENDING_RESTORE_REQUESTS).limit(200);
    let (a, [], guessed) = authenticate_and_query(deps, caller, [], Some(query.clone())).await?;
    deps.authz
        .require(&a.actor.principal, Action::ListRestoreRequests, &OrgFacts::from(&a.org))?;
    let page = guessed.page(deps, &query).await?;
    Ok(RestoreRequestPage {
        items: page.items.iter().map(|i| i.decode()).collect::<Result<_, _>>()?,
    })
}

/// What a reinstatement did.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Reinstated {
    pub user_id: UserId,
    pub status: UserStatus,
    /// The activity clock starts again now.
    pub last_active_at: DateTime<Utc>,
}

/// A platform admin restores a suspended user (approving their request if
/// one waits): the identity is enabled, the user is active again with a
/// fresh activity clock. 1 read, 1 write (and the identity call first).
pub async fn reinstate(deps: &Deps, caller: &Caller, org: OrgId, user: UserId) -> Result<Reinstated, AppError> {
    let (a, [o, u, activity, request]) = authenticate_full(
        deps,
        caller,
        [
            keys::org(org),
            keys::user(user),
            keys::user_activity(user),
            keys::restore_request(user),
        ],
    )
    .await?;
    let o: Organization = o.ok_or(AppError::NotFound)?.decode()?;
    deps.authz
        .require(&a.actor.principal, Action::ReinstateUser, &OrgFacts::from(&o))?;
    let u: User = u.ok_or(AppError::NotFound)?.decode()?;
    if u.org_id != o.id {
        return Err(AppError::NotFound);
    }
    if u.status != UserStatus::Suspended {
        return Err(AppError::Conflict(format!("{} is not suspended.", u.email)));
    }
    // The identity first: if this fails, nothing changed; if the commit
    // below fails, Portico still refuses the user, and a retry completes it.
    deps.identity
        .enable(u.id)
        .await
        .map_err(|e| AppError::Identity(e.to_string()))?;
    let now = deps.clock.now();
    let request: Option<RestoreRequest> = request.as_ref().map(|i| i.decode()).transpose()?;
    let fresh = UserActivity::fresh(&u, now);
    let mut change = Change::new(
        deps,
        &a.actor,
        o.id,
        ActionType::UpdateUserProfile,
        user_target(u.id),
        match &request {
            Some(r) => format!("Reinstated {} (requested by {})", u.email, r.requested_by),
            None => format!("Reinstated {}", u.email),
        },
    )
    .write(Write::patch(
        keys::user(u.id),
        &serde_json::json!({ "status": UserStatus::Active, "sessionGeneration": crate::sessions::new_generation() }),
        Cond::VersionIs(u.version),
    )?)
    .write(Write::patch(
        keys::login(&u.email),
        &serde_json::json!({ "suspended": false }),
        Cond::MustExist,
    )?)
    .write(Write::Put {
        item: fresh.item(activity.as_ref().map_or(1, |i| i.version + 1))?,
        cond: Cond::None,
    })
    .after(serde_json::json!({ "status": UserStatus::Active }));
    change.event.before = Some(serde_json::json!({ "status": UserStatus::Suspended }));
    if request.is_some() {
        change = change.write(Write::Delete {
            key: keys::restore_request(u.id),
            cond: Cond::None,
        });
    }
    change.commit(deps).await.map_err(|e| {
        crate::ops::on_condition(e, |_| {
            Some(AppError::Conflict("The user changed meanwhile; read it again.".into()))
        })
    })?;
    Ok(Reinstated {
        user_id: u.id,
        status: UserStatus::Active,
        last_active_at: now,
    })
}

/// A platform admin runs the sweep now (it also runs daily). 1 read for the
/// caller, then the sweep's own reads.
pub async fn run_sweep(deps: &Deps, caller: &Caller) -> Result<SweepReport, AppError> {
    let (a, []) = authenticate_full(deps, caller, []).await?;
    deps.authz
        .require(&a.actor.principal, Action::RunSweep, &OrgFacts::from(&a.org))?;
    sweep(deps).await
}
