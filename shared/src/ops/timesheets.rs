//! People in the workspace (seed 001): resource profiles, weekly
//! timesheets and expenses, each submitted to the person's supervisor, who
//! approves (locking it) or rejects it with a reason; and the supervisor's
//! queue.
//!
//! Routes name the person by organisation and user
//! (`/organizations/{orgId}/users/{userId}/...`), so that the
//! organisation's log head is read with the caller: each request is 1 read
//! and 1 write round trip. A timesheet's every change rewrites it with the
//! version read, so approval and a change to its entries cannot both win;
//! concurrent entries retry on the version, so none is lost.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::Deps;
use crate::audit::{ActionType, Target};
use crate::authz::{PersonAction, PersonFacts, ProjectAction};
use crate::domain::{EntryId, ExpenseId, ItemId, OrgId, OrgKind, ProjectId, User, UserId};
use crate::error::AppError;
use crate::http::principal::Caller;
use crate::ops::accounts::PageQuery;
use crate::ops::workspace::{stale, to_json};
use crate::ops::{Authenticated, Change, authenticate_many, authenticate_many_and_query, on_condition};
use crate::store::{Cond, Index, Item, Query, SkCond, StoreError, Write, keys};
use crate::workspace::{
    ClaimState, Expense, ExpenseCategory, Member, Money, Project, Receipt, ResourceProfile, Task, TimeEntry, Timesheet,
    WorkspaceConfig, long_text, text,
};

fn take<const N: usize>(items: Vec<Option<Item>>) -> Result<[Option<Item>; N], AppError> {
    items
        .try_into()
        .map_err(|_| AppError::Internal("get_many answered a different number of items".into()))
}

/// The person a route names: their user record, which must belong to the
/// organisation the path names (else 404, as for anyone unknown).
fn person(user: Option<Item>, org: OrgId) -> Result<User, AppError> {
    let user: User = user.ok_or(AppError::NotFound)?.decode()?;
    if user.org_id != org || user.org_kind == OrgKind::Customer {
        return Err(AppError::NotFound);
    }
    Ok(user)
}

fn facts(user: &User, supervisor: Option<UserId>) -> PersonFacts {
    PersonFacts {
        user: user.id,
        org: user.org_id,
        org_kind: user.org_kind,
        supervisor,
    }
}

fn profile_of(user: &User, item: Option<&Item>) -> Result<ResourceProfile, AppError> {
    Ok(match item {
        Some(i) => ResourceProfile::from_item(i)?,
        None => ResourceProfile {
            user_id: user.id,
            org_id: user.org_id,
            display_name: user.display_name.clone(),
            skills: Vec::new(),
            hours_per_week: 0,
            available_from: None,
            supervisor: None,
            supervisor_name: None,
            schedulable: false,
            version: 0,
        },
    })
}

/// A change about a person: its event in their organisation's log and,
/// when someone else acts, in the actor's too.
fn person_change(
    deps: &Deps,
    a: &Authenticated,
    person: &User,
    action: ActionType,
    target: Target,
    d: String,
) -> Change {
    Change::new(deps, &a.actor, person.org_id, action, target, d).mirrored_for(&a.actor, a.actor.principal.org_id)
}

// ---------------------------------------------------------------- resource profiles

/// A person's resource profile (themself, their supervisor, their
/// partner's managers, the platform). Before it is first saved it reads as
/// empty (version 0). 1 read.
pub async fn get_resource(deps: &Deps, caller: &Caller, org: OrgId, user: UserId) -> Result<ResourceProfile, AppError> {
    let (a, items) = authenticate_many(deps, caller, vec![keys::user(user), keys::resource(user)]).await?;
    let [u, r] = take(items)?;
    let u = person(u, org)?;
    let profile = profile_of(&u, r.as_ref())?;
    deps.authz.require_person(
        &a.actor.principal,
        PersonAction::ViewResource,
        &facts(&u, profile.supervisor),
    )?;
    Ok(profile)
}

/// Body of `PUT /organizations/{orgId}/users/{userId}/resource`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EditResource {
    /// The version read (0 for a profile never saved).
    pub version: u64,
    /// Up to 30 skills, each 1 to 60 characters.
    pub skills: Vec<String>,
    /// 0 to 80.
    pub hours_per_week: u8,
    #[serde(default)]
    pub available_from: Option<NaiveDate>,
    /// A platform user (the platform sets it).
    #[serde(default)]
    pub supervisor: Option<UserId>,
    /// Whether they can be scheduled (the platform sets it).
    #[serde(default)]
    pub schedulable: bool,
}

/// The person (or their partner's managers) keep skills and availability
/// current; the platform also sets the supervisor and whether they can be
/// scheduled (anyone else must send those unchanged). 1 read, 1 write.
pub async fn put_resource(
    deps: &Deps,
    caller: &Caller,
    org: OrgId,
    user: UserId,
    input: EditResource,
) -> Result<ResourceProfile, AppError> {
    if input.skills.len() > 30 {
        return Err(AppError::invalid("skills: at most 30"));
    }
    let mut skills = Vec::with_capacity(input.skills.len());
    for s in &input.skills {
        let s = text("a skill", s, 60)?;
        if !skills.contains(&s) {
            skills.push(s);
        }
    }
    if input.hours_per_week > 80 {
        return Err(AppError::invalid("hoursPerWeek: 0 to 80"));
    }
    let mut wanted = vec![keys::user(user), keys::resource(user), keys::org(org)];
    wanted.extend(input.supervisor.map(keys::user));
    let (a, items) = authenticate_many(deps, caller, wanted).await?;
    let mut items = items.into_iter();
    let u = person(items.next().flatten(), org)?;
    let before = profile_of(&u, items.next().flatten().as_ref())?;
    let _org = items.next();
    let supervisor = items.next().flatten();
    let p = &a.actor.principal;
    deps.authz
        .require_person(p, PersonAction::EditResource, &facts(&u, before.supervisor))?;
    if input.version != before.version {
        return Err(stale("resource profile"));
    }
    if input.supervisor != before.supervisor || input.schedulable != before.schedulable {
        deps.authz
            .require_person(p, PersonAction::PlanResource, &facts(&u, before.supervisor))
            .map_err(|_| AppError::AccessRefused {
                code: "platform-plans",
                detail: "Only the platform sets a supervisor and whether someone can be scheduled.".into(),
            })?;
    }
    let supervisor_name = match (input.supervisor, supervisor) {
        (None, _) => None,
        (Some(s), Some(item)) => {
            let s_user: User = item.decode()?;
            if s_user.org_kind != OrgKind::Platform {
                return Err(AppError::invalid("supervisor: a supervisor is a platform user"));
            }
            if s_user.id == u.id {
                return Err(AppError::invalid("supervisor: nobody supervises themself"));
            }
            let _ = s;
            Some(s_user.display_name)
        }
        (Some(_), None) => return Err(AppError::invalid("supervisor: no such user")),
    };
    let after = ResourceProfile {
        user_id: u.id,
        org_id: u.org_id,
        display_name: u.display_name.clone(),
        skills,
        hours_per_week: input.hours_per_week,
        available_from: input.available_from,
        supervisor: input.supervisor,
        supervisor_name,
        schedulable: input.schedulable,
        version: before.version + 1,
    };
    let cond = if before.version == 0 {
        Cond::MustNotExist
    } else {
        Cond::VersionIs(before.version)
    };
    person_change(
        deps,
        &a,
        &u,
        ActionType::UpdateUserProfile,
        Target {
            kind: "resource".into(),
            id: u.id.to_string(),
        },
        format!(
            "Resource profile of {}: {} hours a week{}{}",
            u.email.as_str(),
            after.hours_per_week,
            after
                .supervisor_name
                .as_ref()
                .map_or(String::new(), |s| format!(", supervised by {s}")),
            if after.schedulable { ", schedulable" } else { "" }
        ),
    )
    .after(to_json(&after)?)
    .write(Write::Put {
        item: after.item()?,
        cond,
    })
    .commit(deps)
    .await
    .map_err(|e| on_condition(e, |i| (i == 0).then(|| stale("resource profile"))))?;
    Ok(after)
}

// ---------------------------------------------------------------- timesheets

/// A week's timesheet with its entries, by day.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WeekView {
    pub timesheet: Timesheet,
    pub entries: Vec<TimeEntry>,
}

fn entries_query(user: UserId, week: NaiveDate) -> Query {
    Query::partition(Index::Primary, keys::timesheet_partition(user, week))
        .sk(SkCond::BeginsWith(keys::ENTRY_PREFIX.into()))
        .limit(crate::workspace::MAX_WEEK_ENTRIES)
}

fn sheet_of(user: &User, week: NaiveDate, item: Option<&Item>) -> Result<Timesheet, AppError> {
    Ok(match item {
        Some(i) => Timesheet::from_item(i)?,
        None => Timesheet::empty(user, week),
    })
}

/// The supervisor who reads a week: the one it was submitted to while it
/// is with them or decided by them; otherwise the person's supervisor now.
fn reader_supervisor(sheet: &Timesheet, profile: &ResourceProfile) -> Option<UserId> {
    match sheet.state {
        ClaimState::Submitted | ClaimState::Approved => sheet.supervisor,
        ClaimState::Draft | ClaimState::Rejected => profile.supervisor,
    }
}

/// One week: the timesheet (empty, version 0, before its first entry)
/// and its entries. Its owner, their supervisor, their partner's managers
/// and the platform. 1 read (the entries' query starts with the caller's).
pub async fn get_week(
    deps: &Deps,
    caller: &Caller,
    org: OrgId,
    user: UserId,
    week: NaiveDate,
) -> Result<WeekView, AppError> {
    let week = crate::workspace::monday(week)?;
    let q = entries_query(user, week);
    let (a, items, guess) = authenticate_many_and_query(
        deps,
        caller,
        vec![keys::user(user), keys::resource(user), keys::timesheet(user, week)],
        Some(q.clone()),
    )
    .await?;
    let [u, r, s] = take(items)?;
    let u = person(u, org)?;
    let sheet = sheet_of(&u, week, s.as_ref())?;
    let profile = profile_of(&u, r.as_ref())?;
    deps.authz.require_person(
        &a.actor.principal,
        PersonAction::ViewTime,
        &facts(&u, reader_supervisor(&sheet, &profile)),
    )?;
    let page = guess.page(deps, &q).await?;
    let mut entries: Vec<TimeEntry> = page.items.iter().map(|i| i.decode()).collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| (e.day, e.created_at));
    Ok(WeekView {
        timesheet: sheet,
        entries,
    })
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TimesheetPage {
    pub items: Vec<Timesheet>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// A page of a person's items (their timesheets, their expenses) from
/// `query`, started with the caller's read; for those who may see their
/// time (themself, their supervisor, their partner's managers, the platform).
async fn person_page<T>(
    deps: &Deps,
    caller: &Caller,
    (org, user): (OrgId, UserId),
    query: Query,
    decode: fn(&Item) -> Result<T, StoreError>,
) -> Result<(Vec<T>, Option<String>), AppError> {
    let (a, items, guess) = authenticate_many_and_query(
        deps,
        caller,
        vec![keys::user(user), keys::resource(user)],
        Some(query.clone()),
    )
    .await?;
    let [u, r] = take(items)?;
    let u = person(u, org)?;
    let profile = profile_of(&u, r.as_ref())?;
    deps.authz.require_person(
        &a.actor.principal,
        PersonAction::ViewTime,
        &facts(&u, profile.supervisor),
    )?;
    let page = guess.page(deps, &query).await?;
    Ok((
        page.items.iter().map(decode).collect::<Result<_, _>>()?,
        page.next.map(|c| c.as_str().to_string()),
    ))
}

/// A person's timesheets, newest week first. 1 read.
pub async fn list_weeks(
    deps: &Deps,
    caller: &Caller,
    org: OrgId,
    user: UserId,
    q: PageQuery,
) -> Result<TimesheetPage, AppError> {
    let (limit, cursor) = q.parts()?;
    let query = Query::partition(Index::Gsi1, keys::user_timesheets(user))
        .limit(limit)
        .after(cursor)
        .backward();
    let (items, next_cursor) = person_page(deps, caller, (org, user), query, Timesheet::from_item).await?;
    Ok(TimesheetPage { items, next_cursor })
}

/// What an owner's change to a sheet hears when it is not open.
fn locked(sheet: &Timesheet) -> Option<AppError> {
    match sheet.state {
        ClaimState::Approved => Some(AppError::Conflict(format!(
            "The timesheet for the week of {} is approved: locked.",
            sheet.week
        ))),
        _ => None,
    }
}

/// The write of a sheet after a change to its entries: it is rewritten
/// whole with the version read (a submitted one is withdrawn from its
/// supervisor's queue back to draft); the first entry creates it.
fn sheet_write(before: &Timesheet, after: &mut Timesheet) -> Result<Write, AppError> {
    if after.state == ClaimState::Submitted {
        after.state = ClaimState::Draft;
        after.submitted_at = None;
    }
    after.version = before.version + 1;
    Ok(Write::Put {
        item: after.item()?,
        cond: if before.version == 0 {
            Cond::MustNotExist
        } else {
            Cond::VersionIs(before.version)
        },
    })
}

/// Most attempts an entry's change makes when others change the same sheet first.
const SHEET_ATTEMPTS: u32 = 60;

async fn backoff(attempt: u32) {
    let ceiling = u64::from(attempt.min(10)) * 4;
    tokio::time::sleep(std::time::Duration::from_millis(
        1 + rand::random::<u64>() % ceiling.max(1),
    ))
    .await;
}

/// Body of `POST .../timesheets/{week}/entries`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewEntry {
    /// A day of the week.
    pub day: NaiveDate,
    pub project_id: ProjectId,
    pub phase: u8,
    pub task_id: ItemId,
    /// e.g. "7.5": above 0, at most 24, at most 2 decimal places.
    #[schema(value_type = String, example = "7.5")]
    #[serde(with = "rust_decimal::serde::str")]
    pub hours: Decimal,
    /// Up to 500 characters.
    #[serde(default)]
    pub note: String,
}

/// Logs time on the caller's own timesheet against a task of a phase where
/// their level includes `time`. The sheet is rewritten with the version
/// read; when another entry wins, this one re-reads the sheet and tries
/// again (none is lost). An approved sheet is locked (409). 1 read and 1
/// write when nobody else writes the sheet at the same moment.
pub async fn add_entry(
    deps: &Deps,
    caller: &Caller,
    org: OrgId,
    user: UserId,
    week: NaiveDate,
    input: NewEntry,
) -> Result<WeekView, AppError> {
    let week = crate::workspace::monday(week)?;
    if crate::workspace::week_of(crate::workspace::in_range(input.day, "day")?) != week {
        return Err(AppError::invalid(format!(
            "day {} is not in the week of {week}",
            input.day
        )));
    }
    let hours = crate::workspace::hours(input.hours, Decimal::from(24), "hours")?;
    let note = long_text("note", &input.note, 500)?;
    let (a, items) = authenticate_many(
        deps,
        caller,
        vec![
            keys::user(user),
            keys::timesheet(user, week),
            keys::project(input.project_id),
            keys::member(input.project_id, user),
            keys::workspace_config(),
            keys::phase_item(
                input.project_id,
                crate::workspace::ItemKind::Task,
                input.phase,
                input.task_id,
            ),
        ],
    )
    .await?;
    let [u, s, project, member, config, task] = take(items)?;
    let u = person(u, org)?;
    let p = &a.actor.principal;
    deps.authz
        .require_person(p, PersonAction::RecordTime, &facts(&u, None))?;
    let not_theirs = || AppError::invalid("projectId: no such project of yours");
    let project = Project::from_item(&project.ok_or_else(not_theirs)?)?;
    let member = member.map(|m| Member::from_item(&m)).transpose()?;
    let config = WorkspaceConfig::from_item(config.as_ref())?;
    let may = member
        .as_ref()
        .map(|m| m.may_in(&config, input.phase))
        .unwrap_or_default();
    let facts_p = crate::authz::ProjectFacts {
        id: project.id,
        owner: project.owner,
        customer: project.customer,
    };
    let seen = member.as_ref().map(|m| m.may_anywhere(&config)).unwrap_or_default();
    deps.authz
        .require_project(p, ProjectAction::LogTime, &facts_p, &may, &seen)
        .map_err(|e| match e {
            AppError::NotFound => not_theirs(),
            e => e,
        })?;
    let task = Task::from_item(&task.ok_or_else(|| AppError::invalid("taskId: no such task in that phase"))?)?;
    let entry = TimeEntry {
        id: EntryId(deps.ids.new_id()),
        user_id: u.id,
        day: input.day,
        project_id: project.id,
        project_name: project.name.clone(),
        phase: input.phase,
        task_id: task.id,
        task_title: task.fields.title.clone(),
        hours,
        note,
        created_at: deps.clock.now(),
    };
    let mut sheet_item = s;
    let mut attempt = 0;
    loop {
        let before = sheet_of(&u, week, sheet_item.as_ref())?;
        if let Some(e) = locked(&before) {
            return Err(e);
        }
        if before.entries >= crate::workspace::MAX_WEEK_ENTRIES {
            return Err(AppError::Conflict(format!(
                "A week holds at most {} entries.",
                crate::workspace::MAX_WEEK_ENTRIES
            )));
        }
        let mut after = before.clone();
        after.total_hours = (before.total_hours + hours).normalize();
        after.entries = before.entries + 1;
        if after.total_hours > Decimal::from(crate::workspace::MAX_WEEK_HOURS) {
            return Err(AppError::Conflict(format!(
                "A week holds at most {} hours; this one has {} already.",
                crate::workspace::MAX_WEEK_HOURS,
                before.total_hours
            )));
        }
        let write = sheet_write(&before, &mut after)?;
        let result = person_change(
            deps,
            &a,
            &u,
            ActionType::UpdateTimesheet,
            Target {
                kind: "timesheet".into(),
                id: format!("{}/{}", u.id, week),
            },
            format!(
                "Logged {} h on {} to \"{}\" ({})",
                entry.hours, entry.day, entry.task_title, entry.project_name
            ),
        )
        .after(to_json(&entry)?)
        .write(write)
        .write(Write::Put {
            item: entry.item()?,
            cond: Cond::MustNotExist,
        })
        .commit(deps)
        .await;
        match result {
            Ok(()) => {
                return Ok(WeekView {
                    timesheet: after,
                    entries: vec![entry],
                });
            }
            Err(StoreError::ConditionFailed { index: 0 }) | Err(StoreError::Conflict) if attempt < SHEET_ATTEMPTS => {
                attempt += 1;
                backoff(attempt).await;
                sheet_item = deps.table.get(&keys::timesheet(u.id, week)).await?;
            }
            Err(e) => return Err(on_condition(e, |_| Some(stale("timesheet")))),
        }
    }
}

/// Deletes an entry of the caller's own open timesheet. 1 read, 1 write
/// (retried on the sheet's version like an entry's addition).
pub async fn delete_entry(
    deps: &Deps,
    caller: &Caller,
    org: OrgId,
    user: UserId,
    week: NaiveDate,
    entry: EntryId,
) -> Result<Timesheet, AppError> {
    let week = crate::workspace::monday(week)?;
    let (a, items) = authenticate_many(
        deps,
        caller,
        vec![
            keys::user(user),
            keys::timesheet(user, week),
            keys::time_entry(user, week, entry),
        ],
    )
    .await?;
    let [u, s, e] = take(items)?;
    let u = person(u, org)?;
    deps.authz
        .require_person(&a.actor.principal, PersonAction::RecordTime, &facts(&u, None))?;
    let e: TimeEntry = e.ok_or(AppError::NotFound)?.decode()?;
    let mut sheet_item = s;
    let mut attempt = 0;
    loop {
        let before = sheet_of(&u, week, sheet_item.as_ref())?;
        if let Some(err) = locked(&before) {
            return Err(err);
        }
        let mut after = before.clone();
        after.total_hours = (before.total_hours - e.hours).max(Decimal::ZERO).normalize();
        after.entries = before.entries.saturating_sub(1);
        let write = sheet_write(&before, &mut after)?;
        let result = person_change(
            deps,
            &a,
            &u,
            ActionType::UpdateTimesheet,
            Target {
                kind: "timesheet".into(),
                id: format!("{}/{}", u.id, week),
            },
            format!(
                "Deleted {} h on {} from \"{}\" ({})",
                e.hours, e.day, e.task_title, e.project_name
            ),
        )
        .write(write)
        .write(Write::Delete {
            key: keys::time_entry(user, week, entry),
            cond: Cond::MustExist,
        })
        .commit(deps)
        .await;
        match result {
            Ok(()) => return Ok(after),
            Err(StoreError::ConditionFailed { index: 0 }) | Err(StoreError::Conflict) if attempt < SHEET_ATTEMPTS => {
                attempt += 1;
                backoff(attempt).await;
                sheet_item = deps.table.get(&keys::timesheet(u.id, week)).await?;
            }
            Err(StoreError::ConditionFailed { index: 1 }) => return Err(AppError::NotFound),
            Err(err) => return Err(on_condition(err, |_| Some(stale("timesheet")))),
        }
    }
}

/// Body of `POST .../timesheets/{week}/submit`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Submit {
    /// The timesheet's version read.
    pub version: u64,
}

/// The owner submits a draft or rejected week to their supervisor (set on
/// their resource profile by the platform). 1 read, 1 write.
pub async fn submit(
    deps: &Deps,
    caller: &Caller,
    org: OrgId,
    user: UserId,
    week: NaiveDate,
    input: Submit,
) -> Result<Timesheet, AppError> {
    let week = crate::workspace::monday(week)?;
    let (a, items) = authenticate_many(
        deps,
        caller,
        vec![keys::user(user), keys::resource(user), keys::timesheet(user, week)],
    )
    .await?;
    let [u, r, s] = take(items)?;
    let u = person(u, org)?;
    deps.authz
        .require_person(&a.actor.principal, PersonAction::RecordTime, &facts(&u, None))?;
    let profile = profile_of(&u, r.as_ref())?;
    let before = sheet_of(&u, week, s.as_ref())?;
    if before.version != input.version {
        return Err(stale("timesheet"));
    }
    match before.state {
        ClaimState::Draft | ClaimState::Rejected => {}
        ClaimState::Submitted => return Err(AppError::Conflict("The timesheet is submitted already.".into())),
        ClaimState::Approved => return Err(locked(&before).unwrap_or_else(|| stale("timesheet"))),
    }
    if before.entries == 0 {
        return Err(AppError::Conflict("The timesheet has no entries to submit.".into()));
    }
    let supervisor = profile.supervisor.ok_or_else(|| {
        AppError::Conflict("You have no supervisor yet: the platform sets one on your resource profile.".into())
    })?;
    let mut after = before.clone();
    after.state = ClaimState::Submitted;
    after.reason = None;
    after.decided_by = None;
    after.decided_at = None;
    after.supervisor = Some(supervisor);
    after.submitted_at = Some(deps.clock.now());
    after.version = before.version + 1;
    person_change(
        deps,
        &a,
        &u,
        ActionType::UpdateTimesheet,
        Target {
            kind: "timesheet".into(),
            id: format!("{}/{}", u.id, week),
        },
        format!(
            "Submitted the timesheet for the week of {week} ({} h) to {}",
            after.total_hours,
            profile.supervisor_name.as_deref().unwrap_or("their supervisor")
        ),
    )
    .write(Write::Put {
        item: after.item()?,
        cond: Cond::VersionIs(before.version),
    })
    .commit(deps)
    .await
    .map_err(|e| on_condition(e, |i| (i == 0).then(|| stale("timesheet"))))?;
    Ok(after)
}

/// Body of a supervisor's decision on a timesheet or an expense.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Decision {
    /// The version read.
    pub version: u64,
    pub approve: bool,
    /// Why, when rejecting (1 to 500 characters).
    #[serde(default)]
    pub reason: String,
}

/// What a decision makes of what it decides.
struct Outcome {
    state: ClaimState,
    reason: Option<String>,
}

impl Decision {
    /// Checks the decision against the timesheet or expense it decides
    /// (the version read; only a submitted one is decided).
    fn outcome(&self, what: &str, version: u64, state: ClaimState) -> Result<Outcome, AppError> {
        if version != self.version {
            return Err(stale(what));
        }
        if state != ClaimState::Submitted {
            return Err(AppError::Conflict(format!(
                "The {what} is {}: only a submitted one is decided.",
                state.as_str()
            )));
        }
        Ok(Outcome {
            state: if self.approve {
                ClaimState::Approved
            } else {
                ClaimState::Rejected
            },
            reason: self.reason()?,
        })
    }

    fn reason(&self) -> Result<Option<String>, AppError> {
        if self.approve {
            return Ok(None);
        }
        let r = long_text("reason", &self.reason, 500)?;
        if r.is_empty() {
            return Err(AppError::invalid("reason: say why it is rejected"));
        }
        Ok(Some(r))
    }
}

/// The supervisor it was submitted to approves (locking it) or rejects it
/// with a reason (open again for changes). Against a concurrent change by
/// its owner, exactly one wins. 1 read, 1 write.
pub async fn decide(
    deps: &Deps,
    caller: &Caller,
    org: OrgId,
    user: UserId,
    week: NaiveDate,
    input: Decision,
) -> Result<Timesheet, AppError> {
    let week = crate::workspace::monday(week)?;
    let (a, items) = authenticate_many(
        deps,
        caller,
        vec![keys::user(user), keys::org(org), keys::timesheet(user, week)],
    )
    .await?;
    let [u, _org, s] = take(items)?;
    let u = person(u, org)?;
    let before = sheet_of(&u, week, s.as_ref())?;
    deps.authz.require_person(
        &a.actor.principal,
        PersonAction::DecideTime,
        &facts(&u, before.supervisor),
    )?;
    let outcome = input.outcome("timesheet", before.version, before.state)?;
    let mut after = before.clone();
    after.state = outcome.state;
    after.reason = outcome.reason;
    after.decided_by = Some(a.user.id);
    after.decided_at = Some(deps.clock.now());
    after.version = before.version + 1;
    person_change(
        deps,
        &a,
        &u,
        ActionType::UpdateTimesheet,
        Target {
            kind: "timesheet".into(),
            id: format!("{}/{}", u.id, week),
        },
        match &after.reason {
            None => format!(
                "Approved the timesheet of {} for the week of {week} ({} h)",
                u.email.as_str(),
                after.total_hours
            ),
            Some(r) => format!(
                "Rejected the timesheet of {} for the week of {week}: {r}",
                u.email.as_str()
            ),
        },
    )
    .write(Write::Put {
        item: after.item()?,
        cond: Cond::VersionIs(before.version),
    })
    .commit(deps)
    .await
    .map_err(|e| {
        on_condition(e, |i| {
            (i == 0).then(|| {
                AppError::Conflict(
                    "The timesheet changed meanwhile (its owner changed it, which withdrew it): nothing was decided."
                        .into(),
                )
            })
        })
    })?;
    Ok(after)
}

// ---------------------------------------------------------------- expenses

/// Body of `POST .../expenses` and (with `version`) `PUT .../expenses/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExpenseInput {
    /// Required to change one (the version read).
    #[serde(default)]
    pub version: Option<u64>,
    #[serde(default)]
    pub project_id: Option<ProjectId>,
    pub spent_on: NaiveDate,
    pub amount: Money,
    pub category: ExpenseCategory,
    /// 1 to 500 characters.
    pub description: String,
    #[serde(default)]
    pub receipt: Option<Receipt>,
}

/// Claims an expense (submitted at once to the caller's supervisor), or
/// changes a submitted or rejected one (submitted again). Approved ones are
/// locked. 1 read, 1 write.
pub async fn claim(
    deps: &Deps,
    caller: &Caller,
    org: OrgId,
    user: UserId,
    id: Option<ExpenseId>,
    mut input: ExpenseInput,
) -> Result<Expense, AppError> {
    input.amount.check("amount")?;
    if input.amount.amount.is_zero() {
        return Err(AppError::invalid("amount must be above 0"));
    }
    let description = text("description", &input.description, 500)?;
    if let Some(r) = &mut input.receipt {
        r.check()?;
    }
    let mut wanted = vec![keys::user(user), keys::resource(user)];
    wanted.push(match id {
        Some(e) => keys::expense(user, e),
        None => keys::resource(user),
    });
    if let Some(p) = input.project_id {
        wanted.push(keys::member(p, user));
    }
    let (a, items) = authenticate_many(deps, caller, wanted).await?;
    let mut items = items.into_iter();
    let u = person(items.next().flatten(), org)?;
    deps.authz
        .require_person(&a.actor.principal, PersonAction::RecordTime, &facts(&u, None))?;
    let profile = profile_of(&u, items.next().flatten().as_ref())?;
    let existing = items.next().flatten();
    if input.project_id.is_some() && items.next().flatten().is_none() {
        return Err(AppError::invalid("projectId: you do not take part in that project"));
    }
    let now = deps.clock.now();
    let (before, cond) = match (id, input.version) {
        (None, None) => (None, Cond::MustNotExist),
        (None, Some(_)) => return Err(AppError::invalid("version: a new expense has none")),
        (Some(_), None) => return Err(AppError::invalid("version: say which version you read")),
        (Some(_), Some(v)) => {
            let e = Expense::from_item(&existing.ok_or(AppError::NotFound)?)?;
            if e.version != v {
                return Err(stale("expense"));
            }
            if e.state == ClaimState::Approved {
                return Err(AppError::Conflict("The expense is approved: locked.".into()));
            }
            (Some(e), Cond::VersionIs(v))
        }
    };
    let supervisor = profile.supervisor.ok_or_else(|| {
        AppError::Conflict("You have no supervisor yet: the platform sets one on your resource profile.".into())
    })?;
    let expense = Expense {
        id: before.as_ref().map_or_else(|| ExpenseId(deps.ids.new_id()), |e| e.id),
        user_id: u.id,
        org_id: u.org_id,
        display_name: u.display_name.clone(),
        project_id: input.project_id,
        spent_on: input.spent_on,
        amount: input.amount,
        category: input.category,
        description,
        receipt: input.receipt,
        state: ClaimState::Submitted,
        reason: None,
        supervisor,
        submitted_at: now,
        decided_by: None,
        decided_at: None,
        version: before.as_ref().map_or(1, |e| e.version + 1),
    };
    person_change(
        deps,
        &a,
        &u,
        ActionType::UpdateExpense,
        Target {
            kind: "expense".into(),
            id: expense.id.to_string(),
        },
        format!(
            "{} an expense of {} {} ({:?}) to {}",
            if before.is_some() { "Resubmitted" } else { "Submitted" },
            expense.amount.amount,
            expense.amount.currency,
            expense.category,
            profile.supervisor_name.as_deref().unwrap_or("their supervisor")
        ),
    )
    .after(to_json(&expense)?)
    .write(Write::Put {
        item: expense.item()?,
        cond,
    })
    .commit(deps)
    .await
    .map_err(|e| on_condition(e, |i| (i == 0).then(|| stale("expense"))))?;
    Ok(expense)
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExpensePage {
    pub items: Vec<Expense>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// A person's expenses, newest first. 1 read.
pub async fn list_expenses(
    deps: &Deps,
    caller: &Caller,
    org: OrgId,
    user: UserId,
    q: PageQuery,
) -> Result<ExpensePage, AppError> {
    let (limit, cursor) = q.parts()?;
    let query = Query::partition(Index::Primary, keys::user_expenses(user))
        .limit(limit)
        .after(cursor)
        .backward();
    let (items, next_cursor) = person_page(deps, caller, (org, user), query, Expense::from_item).await?;
    Ok(ExpensePage { items, next_cursor })
}

/// The supervisor it was submitted to approves (locked) or rejects it
/// with a reason. 1 read, 1 write.
pub async fn decide_expense(
    deps: &Deps,
    caller: &Caller,
    org: OrgId,
    user: UserId,
    id: ExpenseId,
    input: Decision,
) -> Result<Expense, AppError> {
    let (a, items) = authenticate_many(
        deps,
        caller,
        vec![keys::user(user), keys::org(org), keys::expense(user, id)],
    )
    .await?;
    let [u, _org, e] = take(items)?;
    let u = person(u, org)?;
    let before = Expense::from_item(&e.ok_or(AppError::NotFound)?)?;
    deps.authz.require_person(
        &a.actor.principal,
        PersonAction::DecideTime,
        &facts(&u, Some(before.supervisor)),
    )?;
    let outcome = input.outcome("expense", before.version, before.state)?;
    let mut after = before.clone();
    after.state = outcome.state;
    after.reason = outcome.reason;
    after.decided_by = Some(a.user.id);
    after.decided_at = Some(deps.clock.now());
    after.version = before.version + 1;
    person_change(
        deps,
        &a,
        &u,
        ActionType::UpdateExpense,
        Target {
            kind: "expense".into(),
            id: id.to_string(),
        },
        format!(
            "{} the expense of {} {} claimed by {}{}",
            if input.approve { "Approved" } else { "Rejected" },
            after.amount.amount,
            after.amount.currency,
            u.email.as_str(),
            after.reason.as_ref().map_or(String::new(), |r| format!(": {r}"))
        ),
    )
    .write(Write::Put {
        item: after.item()?,
        cond: Cond::VersionIs(before.version),
    })
    .commit(deps)
    .await
    .map_err(|e| on_condition(e, |i| (i == 0).then(|| stale("expense"))))?;
    Ok(after)
}

// ---------------------------------------------------------------- the supervisor's queue

/// A timesheet or an expense waiting for the caller's decision.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Waiting {
    Timesheet(Timesheet),
    Expense(Expense),
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WaitingPage {
    pub items: Vec<Waiting>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// The timesheets and expenses submitted to the caller, oldest first. 1 read.
pub async fn approvals(deps: &Deps, caller: &Caller, q: PageQuery) -> Result<WaitingPage, AppError> {
    let (limit, cursor) = q.parts()?;
    let query = Query::partition(Index::Gsi2, keys::waiting_for(caller.user_id))
        .limit(limit)
        .after(cursor);
    let (_a, _, guess) = authenticate_many_and_query(deps, caller, vec![], Some(query.clone())).await?;
    // The queue is the caller's own: its key is their id.
    let page = guess.page(deps, &query).await?;
    let items = page
        .items
        .iter()
        .map(|i| -> Result<Waiting, AppError> {
            Ok(if i.entity == keys::EXPENSE {
                Waiting::Expense(Expense::from_item(i)?)
            } else {
                Waiting::Timesheet(Timesheet::from_item(i)?)
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(WaitingPage {
        items,
        next_cursor: page.next.map(|c| c.as_str().to_string()),
    })
}
