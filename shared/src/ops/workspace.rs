//! The co-delivery workspace's projects (seed 001): the workspace's levels
//! and field rules, projects, their participants, each phase's milestones,
//! tasks and RAID entries, and status reports.
//!
//! Every request reads, with the caller, the project, the caller's
//! participation and the workspace configuration (one round trip); a
//! listing's query starts in the same poll, guessed from the path, and is
//! used only if Cedar admits it. Every change is an "Update Project" event
//! chained in the project's own log and in the actor's organisation's.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::Deps;
use crate::audit::{ActionType, Target};
use crate::authz::{Action, FieldAccess, OrgFacts, ProjectAction, ProjectFacts};
use crate::domain::{ItemId, OrgId, OrgKind, Organization, ProjectId, User, UserId};
use crate::error::AppError;
use crate::http::principal::Caller;
use crate::ops::accounts::PageQuery;
use crate::ops::{Authenticated, Change, Guess, authenticate_full, authenticate_many_and_query, on_condition};
use crate::store::{Cond, Index, Item, Key, Query, SkCond, Write, keys};
use crate::workspace::{
    Assignment, Delivery, FieldName, Health, ItemFields, Member, Money, Permission, Phase, PhaseItem, Project,
    Sentiment, StatusReport, WorkspaceConfig, long_text, text,
};

/// Most participants one project has (a rename rewrites them all in one transaction).
pub const MAX_MEMBERS: u32 = 80;

/// A request about one project: the caller, the project, their place on
/// it and the workspace's levels and rules, read together.
pub struct ProjectCtx {
    pub a: Authenticated,
    pub project: Project,
    pub member: Option<Member>,
    pub config: WorkspaceConfig,
}

/// Reads the project with the caller (and `extra`), starting `guess` in
/// the same poll. A missing project is 404.
pub(crate) async fn load(
    deps: &Deps,
    caller: &Caller,
    id: ProjectId,
    extra: Vec<Key>,
    guess: Option<Query>,
) -> Result<(ProjectCtx, Vec<Option<Item>>, Guess), AppError> {
    let mut wanted = vec![
        keys::project(id),
        keys::member(id, caller.user_id),
        keys::workspace_config(),
    ];
    wanted.extend(extra);
    let (a, items, guess) = authenticate_many_and_query(deps, caller, wanted, guess).await?;
    let mut items = items.into_iter();
    let project = items.next().flatten();
    let member = items.next().flatten();
    let config = WorkspaceConfig::from_item(items.next().flatten().as_ref())?;
    let Some(project) = project else {
        // Nothing to hide from the platform; for anyone else, as if it were not theirs.
        return Err(AppError::NotFound);
    };
    let project = Project::from_item(&project)?;
    let member = member.map(|m| Member::from_item(&m)).transpose()?;
    Ok((
        ProjectCtx {
            a,
            project,
            member,
            config,
        },
        items.collect(),
        guess,
    ))
}

impl ProjectCtx {
    pub fn facts(&self) -> ProjectFacts {
        ProjectFacts {
            id: self.project.id,
            owner: self.project.owner,
            customer: self.project.customer,
        }
    }

    /// What the caller's levels let them do in any of their phases.
    pub fn anywhere(&self) -> BTreeSet<Permission> {
        self.member
            .as_ref()
            .map(|m| m.may_anywhere(&self.config))
            .unwrap_or_default()
    }

    /// What the caller's level in phase `n` lets them do.
    pub fn in_phase(&self, n: u8) -> BTreeSet<Permission> {
        self.member
            .as_ref()
            .map(|m| m.may_in(&self.config, n))
            .unwrap_or_default()
    }

    /// Cedar's decision on `action`, in phase `phase` or on the project as
    /// a whole; a phase the project does not have is 404 (once the caller
    /// may see the project).
    pub fn require(&self, deps: &Deps, action: ProjectAction, phase: Option<u8>) -> Result<(), AppError> {
        let seen = self.anywhere();
        let p = &self.a.actor.principal;
        let may = match phase {
            Some(n) => {
                deps.authz
                    .require_project(p, ProjectAction::ViewProject, &self.facts(), &seen, &seen)?;
                if self.project.phase(n).is_none() {
                    return Err(AppError::NotFound);
                }
                self.in_phase(n)
            }
            None => seen.clone(),
        };
        deps.authz.require_project(p, action, &self.facts(), &may, &seen)
    }

    pub fn allows(&self, deps: &Deps, action: ProjectAction, phase: u8) -> Result<bool, AppError> {
        deps.authz
            .project_allows(&self.a.actor.principal, action, &self.facts(), &self.in_phase(phase))
    }

    /// The guarded fields the caller may not read or set.
    pub fn fields(&self, deps: &Deps) -> Result<FieldAccess, AppError> {
        deps.authz.field_access(&self.a.actor.principal, &self.config)
    }

    /// A change: an "Update Project" event in the project's log and in the
    /// actor's organisation's.
    pub fn change(&self, deps: &Deps, description: String) -> Change {
        project_change(deps, &self.a, self.project.id, description)
    }

    /// The phases the caller sees: every one for those who see the whole
    /// project (the platform), else those they are assigned to.
    pub fn visible_phases(&self, deps: &Deps) -> Result<Vec<Phase>, AppError> {
        let mut out = Vec::new();
        for ph in &self.project.phases {
            if self.allows(deps, ProjectAction::ReadPhase, ph.number)? {
                out.push(ph.clone());
            }
        }
        Ok(out)
    }
}

fn project_change(deps: &Deps, a: &Authenticated, project: ProjectId, description: String) -> Change {
    Change::new(
        deps,
        &a.actor,
        keys::project_log(project),
        ActionType::UpdateProject,
        Target {
            kind: "project".into(),
            id: project.to_string(),
        },
        description,
    )
    .mirrored_for(&a.actor, a.actor.principal.org_id)
}

/// Refuses a guarded field the caller may not set, when the change would set it.
fn refuse_read_only(fields: &FieldAccess, name: FieldName, changed: bool) -> Result<(), AppError> {
    if changed && !fields.sets(name) {
        return Err(AppError::AccessRefused {
            code: "field-read-only",
            detail: format!(
                "{} is {} partners: leave it out.",
                name.as_str(),
                if fields.sees(name) {
                    "read-only to"
                } else {
                    "hidden from"
                }
            ),
        });
    }
    Ok(())
}

/// A record as an event's `after`.
pub(crate) fn to_json(v: &impl Serialize) -> Result<serde_json::Value, AppError> {
    serde_json::to_value(v).map_err(|e| AppError::Internal(e.to_string()))
}

/// What a write that lost to a newer version hears.
pub(crate) fn stale(what: &str) -> AppError {
    AppError::Conflict(format!("The {what} changed meanwhile: read it again and retry."))
}

// ---------------------------------------------------------------- config

/// The workspace's levels, default level and field rules (the platform). 1 read.
pub async fn get_config(deps: &Deps, caller: &Caller) -> Result<WorkspaceConfig, AppError> {
    let (a, [config]) = authenticate_full(deps, caller, [keys::workspace_config()]).await?;
    deps.authz
        .require(&a.actor.principal, Action::ManageWorkspace, &OrgFacts::from(&a.org))?;
    Ok(WorkspaceConfig::from_item(config.as_ref())?)
}

/// Saves them, with the version read. Participants keep the level names
/// they hold; a level that no participant's name matches any more gives
/// them nothing until the platform assigns another. 1 read, 1 write.
pub async fn put_config(deps: &Deps, caller: &Caller, mut input: WorkspaceConfig) -> Result<WorkspaceConfig, AppError> {
    input.check()?;
    let (a, [config]) = authenticate_full(deps, caller, [keys::workspace_config()]).await?;
    deps.authz
        .require(&a.actor.principal, Action::ManageWorkspace, &OrgFacts::from(&a.org))?;
    let before = WorkspaceConfig::from_item(config.as_ref())?;
    if input.version != before.version {
        return Err(stale("workspace configuration"));
    }
    let mut after = input;
    after.version = before.version + 1;
    let cond = if before.version == 0 {
        Cond::MustNotExist
    } else {
        Cond::VersionIs(before.version)
    };
    let levels: Vec<&str> = after.levels.iter().map(|l| l.name.as_str()).collect();
    Change::new(
        deps,
        &a.actor,
        a.org.id,
        ActionType::UpdateProject,
        Target {
            kind: "workspace".into(),
            id: "config".into(),
        },
        format!(
            "Workspace levels {}; default external level {}",
            levels.join(", "),
            after.default_external_level
        ),
    )
    .after(to_json(&after)?)
    .write(Write::Put {
        item: after.item()?,
        cond,
    })
    .commit(deps)
    .await
    .map_err(|e| on_condition(e, |i| (i == 0).then(|| stale("workspace configuration"))))?;
    Ok(after)
}

// ---------------------------------------------------------------- projects

/// A project as the caller may see it: the fields hidden from them are
/// absent (not null), and so are the phases they are not assigned to.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProjectView {
    pub id: ProjectId,
    pub customer: OrgId,
    pub customer_name: String,
    pub name: String,
    pub phases: Vec<Phase>,
    pub health: Health,
    pub health_reason: String,
    pub start: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub internal_notes: Option<String>,
    pub delivery: Delivery,
    /// Days from the start to the first milestone marking value that was reached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_to_value_days: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_reached: Option<NaiveDate>,
    pub participants: u32,
    /// The caller's phases, roles and levels, and what each lets them do.
    pub your_access: Vec<YourAccess>,
    /// The fields the caller reads but may not set.
    pub read_only_fields: Vec<FieldName>,
    /// The fields hidden from the caller (their values are absent throughout).
    pub hidden_fields: Vec<FieldName>,
    pub version: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct YourAccess {
    pub phase: u8,
    pub role: String,
    pub level: String,
    pub may: Vec<Permission>,
}

impl ProjectCtx {
    pub fn view(&self, deps: &Deps) -> Result<ProjectView, AppError> {
        let fields = self.fields(deps)?;
        let p = &self.project;
        Ok(ProjectView {
            id: p.id,
            customer: p.customer,
            customer_name: p.customer_name.clone(),
            name: p.name.clone(),
            phases: self.visible_phases(deps)?,
            health: p.health,
            health_reason: p.health_reason.clone(),
            start: p.start,
            budget: p.budget.clone().filter(|_| fields.sees(FieldName::ProjectBudget)),
            internal_notes: fields
                .sees(FieldName::ProjectInternalNotes)
                .then(|| p.internal_notes.clone()),
            delivery: p.delivery(),
            time_to_value_days: p.time_to_value_days(),
            value_reached: p.value_reached,
            participants: p.members,
            your_access: self
                .member
                .iter()
                .flat_map(|m| &m.phases)
                .map(|a| YourAccess {
                    phase: a.phase,
                    role: a.role.clone(),
                    level: a.level.clone(),
                    may: self
                        .config
                        .level(&a.level)
                        .map(|l| l.may.iter().copied().collect())
                        .unwrap_or_default(),
                })
                .collect(),
            read_only_fields: FieldName::ALL
                .into_iter()
                .filter(|f| fields.sees(*f) && !fields.sets(*f))
                .collect(),
            hidden_fields: FieldName::ALL.into_iter().filter(|f| !fields.sees(*f)).collect(),
            version: p.version,
        })
    }
}

/// Body of `POST /projects`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewProject {
    pub customer: OrgId,
    /// 1 to 120 characters.
    pub name: String,
    /// The phases' names, in order (1 to 20).
    pub phases: Vec<String>,
    pub start: NaiveDate,
    #[serde(default)]
    pub budget: Option<Money>,
    /// Up to 4000 characters.
    #[serde(default)]
    pub internal_notes: String,
}

fn phases(names: &[String]) -> Result<Vec<Phase>, AppError> {
    if names.is_empty() || names.len() > crate::workspace::MAX_PHASES {
        return Err(AppError::invalid(format!(
            "phases: 1 to {} names, in order",
            crate::workspace::MAX_PHASES
        )));
    }
    names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            Ok(Phase {
                number: u8::try_from(i + 1).map_err(|_| AppError::invalid("too many phases"))?,
                name: text("a phase's name", n, 80)?,
            })
        })
        .collect()
}

/// The platform starts a project for one of its customers. 1 read, 1 write.
pub async fn create(deps: &Deps, caller: &Caller, input: NewProject) -> Result<ProjectView, AppError> {
    let name = text("name", &input.name, 120)?;
    let phases = phases(&input.phases)?;
    let internal_notes = long_text("internalNotes", &input.internal_notes, 4000)?;
    let mut budget = input.budget;
    if let Some(b) = &mut budget {
        b.check("budget")?;
    }
    let (a, [customer, config]) =
        authenticate_full(deps, caller, [keys::org(input.customer), keys::workspace_config()]).await?;
    deps.authz
        .require(&a.actor.principal, Action::ManageWorkspace, &OrgFacts::from(&a.org))?;
    let customer: Organization = customer
        .ok_or_else(|| AppError::invalid("customer: no such organisation"))?
        .decode()?;
    if customer.kind != OrgKind::Customer {
        return Err(AppError::invalid("customer: the organisation is not a customer"));
    }
    let project = Project {
        id: ProjectId(deps.ids.new_id()),
        owner: a.org.id,
        customer: customer.id,
        customer_name: customer.name.as_str().to_string(),
        name,
        phases,
        health: Health::Green,
        health_reason: String::new(),
        start: input.start,
        budget,
        internal_notes,
        partner_led: false,
        value_reached: None,
        value_milestone: None,
        members: 0,
        created_at: deps.clock.now(),
        version: 1,
    };
    project_change(
        deps,
        &a,
        project.id,
        format!(
            "Started project \"{}\" for {} ({} phases)",
            project.name,
            project.customer_name,
            project.phases.len()
        ),
    )
    .head(None)
    .after(serde_json::json!({ "name": project.name, "customer": project.customer, "phases": project.phases }))
    .write(Write::Put {
        item: project.item()?,
        cond: Cond::MustNotExist,
    })
    .commit(deps)
    .await?;
    let ctx = ProjectCtx {
        a,
        project,
        member: None,
        config: WorkspaceConfig::from_item(config.as_ref())?,
    };
    ctx.view(deps)
}

/// One project in a listing.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProjectSummary {
    pub id: ProjectId,
    pub name: String,
    /// The platform's listing only (a participant's shows their phases).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<Delivery>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_to_value_days: Option<i64>,
    /// A participant's listing: their phases, roles and levels.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub your_phases: Vec<Assignment>,
}

/// Time to value over a page of projects, direct against partner-led.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TimeToValue {
    pub direct: TimeToValueGroup,
    pub partner_led: TimeToValueGroup,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TimeToValueGroup {
    /// Projects that reached value.
    pub projects: u32,
    /// Their mean time to value in days (absent: none reached it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub average_days: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProjectPage {
    pub items: Vec<ProjectSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// The platform's listing: time to value of this page's projects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_to_value: Option<TimeToValue>,
}

fn time_to_value(projects: &[Project]) -> TimeToValue {
    let group = |d: Delivery| {
        let days: Vec<i64> = projects
            .iter()
            .filter(|p| p.delivery() == d)
            .filter_map(Project::time_to_value_days)
            .collect();
        TimeToValueGroup {
            projects: u32::try_from(days.len()).unwrap_or(u32::MAX),
            average_days: (!days.is_empty()).then(|| days.iter().sum::<i64>() as f64 / days.len() as f64),
        }
    };
    TimeToValue {
        direct: group(Delivery::Direct),
        partner_led: group(Delivery::PartnerLed),
    }
}

/// The platform: every project, by name; anyone else: the projects they
/// take part in ("My projects"), newest first. 1 read.
pub async fn list(deps: &Deps, caller: &Caller, q: PageQuery) -> Result<ProjectPage, AppError> {
    let (limit, cursor) = q.parts()?;
    let pick = |kind: OrgKind, user: UserId| match kind {
        OrgKind::Platform => Query::partition(Index::Gsi1, keys::ALL_PROJECTS)
            .limit(limit)
            .after(cursor.clone()),
        _ => Query::partition(Index::Gsi1, keys::user_projects(user))
            .limit(limit)
            .after(cursor.clone())
            .backward(),
    };
    let guess = caller.org_kind.map(|k| pick(k, caller.user_id));
    let (a, _, guessed) = authenticate_many_and_query(deps, caller, vec![], guess).await?;
    let all = deps
        .authz
        .is_allowed(&a.actor.principal, Action::ManageWorkspace, &OrgFacts::from(&a.org))?;
    let kind = if all { OrgKind::Platform } else { OrgKind::Partner };
    let page = guessed.page(deps, &pick(kind, a.user.id)).await?;
    let next_cursor = page.next.map(|c| c.as_str().to_string());
    if all {
        let projects: Vec<Project> = page.items.iter().map(Project::from_item).collect::<Result<_, _>>()?;
        return Ok(ProjectPage {
            items: projects
                .iter()
                .map(|p| ProjectSummary {
                    id: p.id,
                    name: p.name.clone(),
                    customer_name: Some(p.customer_name.clone()),
                    health: Some(p.health),
                    delivery: Some(p.delivery()),
                    time_to_value_days: p.time_to_value_days(),
                    your_phases: Vec::new(),
                })
                .collect(),
            next_cursor,
            time_to_value: Some(time_to_value(&projects)),
        });
    }
    let items = page
        .items
        .iter()
        .map(Member::from_item)
        .map(|m| {
            m.map(|m| ProjectSummary {
                id: m.project_id,
                name: m.project_name,
                customer_name: None,
                health: None,
                delivery: None,
                time_to_value_days: None,
                your_phases: m.phases,
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(ProjectPage {
        items,
        next_cursor,
        time_to_value: None,
    })
}

/// One project, as the caller may see it. 1 read.
pub async fn get(deps: &Deps, caller: &Caller, id: ProjectId) -> Result<ProjectView, AppError> {
    let (ctx, _, _) = load(deps, caller, id, vec![], None).await?;
    ctx.require(deps, ProjectAction::ViewProject, None)?;
    ctx.view(deps)
}

/// Body of `PUT /projects/{id}`: the project's shape (the platform).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EditProject {
    pub version: u64,
    pub name: String,
    /// The phases' names, in order: phases may be renamed and added, not removed.
    pub phases: Vec<String>,
    pub start: NaiveDate,
    #[serde(default)]
    pub budget: Option<Money>,
    #[serde(default)]
    pub internal_notes: String,
}

/// The platform changes a project's name, phases, start, budget and notes.
/// A rename is carried to every participant's "My projects" in the same
/// transaction (their entries are read with the project). 1 read, 1 write.
pub async fn edit(deps: &Deps, caller: &Caller, id: ProjectId, input: EditProject) -> Result<ProjectView, AppError> {
    let name = text("name", &input.name, 120)?;
    let phases = phases(&input.phases)?;
    let internal_notes = long_text("internalNotes", &input.internal_notes, 4000)?;
    let mut budget = input.budget;
    if let Some(b) = &mut budget {
        b.check("budget")?;
    }
    let members = members_query(id, None, MAX_MEMBERS + 1);
    let (mut ctx, _, guess) = load(deps, caller, id, vec![], Some(members.clone())).await?;
    ctx.require(deps, ProjectAction::EditProject, None)?;
    let before = ctx.project.clone();
    if input.version != before.version {
        return Err(stale("project"));
    }
    if phases.len() < before.phases.len() {
        return Err(AppError::invalid(format!(
            "phases: a project's phases may be renamed and added, not removed (it has {})",
            before.phases.len()
        )));
    }
    let p = &mut ctx.project;
    p.name = name;
    p.phases = phases;
    p.start = input.start;
    p.budget = budget;
    p.internal_notes = internal_notes;
    p.version += 1;
    let mut change = ctx
        .change(deps, format!("Changed project \"{}\"", ctx.project.name))
        .after(
            serde_json::json!({ "name": ctx.project.name, "phases": ctx.project.phases, "start": ctx.project.start }),
        )
        .write(Write::Put {
            item: ctx.project.item()?,
            cond: Cond::VersionIs(before.version),
        });
    if before.name != ctx.project.name {
        let page = guess.page(deps, &members).await?;
        for item in &page.items {
            let m = Member::from_item(item)?;
            change = change.write(Write::patch(
                keys::member(id, m.user_id),
                &serde_json::json!({ "projectName": ctx.project.name }),
                Cond::VersionIs(m.version),
            )?);
        }
    }
    change
        .commit(deps)
        .await
        .map_err(|e| on_condition(e, |_| Some(stale("project or its participants"))))?;
    ctx.project.members = before.members;
    ctx.view(deps)
}

/// Body of `PUT /projects/{id}/health`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetHealth {
    pub version: u64,
    pub health: Health,
    /// Why (required unless green): up to 500 characters.
    #[serde(default)]
    pub reason: String,
}

/// A participant whose level includes `health` (or the platform) sets the
/// project's health with a reason. 1 read, 1 write.
pub async fn set_health(
    deps: &Deps,
    caller: &Caller,
    id: ProjectId,
    input: SetHealth,
) -> Result<ProjectView, AppError> {
    let reason = long_text("reason", &input.reason, 500)?;
    if input.health != Health::Green && reason.is_empty() {
        return Err(AppError::invalid("reason: say why the project is amber or red"));
    }
    let (mut ctx, _, _) = load(deps, caller, id, vec![], None).await?;
    ctx.require(deps, ProjectAction::SetHealth, None)?;
    if input.version != ctx.project.version {
        return Err(stale("project"));
    }
    let version = ctx.project.version;
    ctx.project.health = input.health;
    ctx.project.health_reason = reason;
    ctx.project.version += 1;
    ctx.change(
        deps,
        format!(
            "Set the health of \"{}\" to {}{}",
            ctx.project.name,
            ctx.project.health.as_str(),
            if ctx.project.health_reason.is_empty() {
                String::new()
            } else {
                format!(": {}", ctx.project.health_reason)
            }
        ),
    )
    .write(Write::patch(
        keys::project(id),
        &serde_json::json!({ "health": ctx.project.health, "healthReason": ctx.project.health_reason }),
        Cond::VersionIs(version),
    )?)
    .commit(deps)
    .await
    .map_err(|e| on_condition(e, |i| (i == 0).then(|| stale("project"))))?;
    ctx.view(deps)
}

// ---------------------------------------------------------------- participants

fn members_query(id: ProjectId, cursor: Option<crate::store::Cursor>, limit: u32) -> Query {
    Query::partition(Index::Primary, keys::project_partition(id))
        .sk(SkCond::BeginsWith(keys::MEMBER_PREFIX.into()))
        .limit(limit)
        .after(cursor)
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemberPage {
    pub items: Vec<Member>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// A project's participants (anyone who may see the project). 1 read.
pub async fn list_members(deps: &Deps, caller: &Caller, id: ProjectId, q: PageQuery) -> Result<MemberPage, AppError> {
    let (limit, cursor) = q.parts()?;
    let query = members_query(id, cursor, limit);
    let (ctx, _, guess) = load(deps, caller, id, vec![], Some(query.clone())).await?;
    ctx.require(deps, ProjectAction::ViewProject, None)?;
    let page = guess.page(deps, &query).await?;
    let mut items: Vec<Member> = page.items.iter().map(Member::from_item).collect::<Result<_, _>>()?;
    // Who works on which phase, as far as the caller reads those phases.
    let mut readable = std::collections::BTreeSet::new();
    for ph in &ctx.project.phases {
        if ctx.allows(deps, ProjectAction::ReadPhase, ph.number)? {
            readable.insert(ph.number);
        }
    }
    for m in &mut items {
        m.phases.retain(|a| readable.contains(&a.phase));
    }
    items.retain(|m| !m.phases.is_empty());
    Ok(MemberPage {
        items,
        next_cursor: page.next.map(|c| c.as_str().to_string()),
    })
}

/// One phase of a `PUT /projects/{id}/members/{userId}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AssignPhase {
    pub phase: u8,
    /// Their role on the project, 1 to 60 characters ("Consultant").
    pub role: String,
    /// One of the workspace's levels; absent: the default for the role, else
    /// the Default External Project Access Level.
    #[serde(default)]
    pub level: Option<String>,
}

/// Body of `PUT /projects/{id}/members/{userId}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AssignMember {
    /// The phases they take part in (1 or more).
    pub phases: Vec<AssignPhase>,
    /// The participation's version when changing one (absent: adding).
    #[serde(default)]
    pub version: Option<u64>,
}

/// The platform adds a person to a project, or changes their phases,
/// roles and levels. A partner user must hold a seat: their partner's
/// licences are counted (seed 001: a licence per partner user), which the
/// transaction checks. The first partner participant makes the project
/// partner-led. 1 read, 1 write.
pub async fn assign(
    deps: &Deps,
    caller: &Caller,
    id: ProjectId,
    user_id: UserId,
    input: AssignMember,
) -> Result<Member, AppError> {
    if input.phases.is_empty() || input.phases.len() > crate::workspace::MAX_PHASES {
        return Err(AppError::invalid("phases: 1 to 20 assignments"));
    }
    let (ctx, items, _) = load(
        deps,
        caller,
        id,
        vec![keys::user(user_id), keys::member(id, user_id)],
        None,
    )
    .await?;
    ctx.require(deps, ProjectAction::EditProject, None)?;
    let [user, existing]: [Option<Item>; 2] = items
        .try_into()
        .map_err(|_| AppError::Internal("get_many answered a different number of items".into()))?;
    let user: User = user
        .ok_or_else(|| AppError::invalid("userId: no such user"))?
        .decode()?;
    if user.org_kind == OrgKind::Customer {
        return Err(AppError::invalid(
            "userId: customers' users do not take part in projects; the customer is the project's customer",
        ));
    }
    let existing = existing.map(|m| Member::from_item(&m)).transpose()?;
    let mut seen = BTreeSet::new();
    let mut phases = Vec::with_capacity(input.phases.len());
    for a in input.phases {
        if ctx.project.phase(a.phase).is_none() {
            return Err(AppError::invalid(format!(
                "phase {}: the project has no such phase",
                a.phase
            )));
        }
        if !seen.insert(a.phase) {
            return Err(AppError::invalid(format!("phase {} is given twice", a.phase)));
        }
        let role = text("role", &a.role, 60)?;
        let level = match a.level {
            Some(l) => ctx
                .config
                .level(&l)
                .ok_or_else(|| AppError::invalid(format!("level \"{l}\" is not one of the workspace's levels")))?
                .name
                .clone(),
            None => ctx.config.default_level(&role).to_string(),
        };
        phases.push(Assignment {
            phase: a.phase,
            role,
            level,
        });
    }
    phases.sort_by_key(|a| a.phase);
    let mut member = Member {
        project_id: id,
        project_name: ctx.project.name.clone(),
        user_id: user.id,
        org_id: user.org_id,
        org_kind: user.org_kind,
        display_name: user.display_name.clone(),
        email: user.email.as_str().to_string(),
        phases,
        version: 1,
    };
    let (cond, adding) = match (&existing, input.version) {
        (None, None) => (Cond::MustNotExist, true),
        (Some(e), Some(v)) if e.version == v => {
            member.version = v + 1;
            (Cond::VersionIs(v), false)
        }
        (None, Some(_)) => {
            return Err(AppError::Conflict(
                "They are not on the project: add them without a version.".into(),
            ));
        }
        (Some(_), None) => {
            return Err(AppError::Conflict(
                "They are on the project already: change their phases with the version read.".into(),
            ));
        }
        (Some(_), Some(_)) => return Err(stale("participation")),
    };
    let partner = user.org_kind == OrgKind::Partner;
    let described: Vec<String> = member
        .phases
        .iter()
        .map(|a| format!("phase {} as {} ({})", a.phase, a.role, a.level))
        .collect();
    let mut change = ctx
        .change(
            deps,
            format!(
                "{} {} {} \"{}\": {}",
                if adding { "Added" } else { "Changed" },
                user.email.as_str(),
                if adding { "to" } else { "on" },
                ctx.project.name,
                described.join(", ")
            ),
        )
        .after(to_json(&member)?)
        .write(Write::Put {
            item: member.item()?,
            cond,
        });
    if partner {
        // Their licence: the partner's seats are counted (every user of a
        // counted partner holds one), checked as the participation commits.
        change = change.write(Write::Check {
            key: keys::seats(user.org_id),
            cond: Cond::MustExist,
        });
    }
    if adding {
        if ctx.project.members >= MAX_MEMBERS {
            return Err(AppError::Conflict(format!(
                "A project has at most {MAX_MEMBERS} participants."
            )));
        }
        change = change.write(Write::patch(
            keys::project(id),
            &serde_json::json!({
                "members": ctx.project.members + 1,
                "partnerLed": ctx.project.partner_led || partner,
            }),
            Cond::VersionIs(ctx.project.version),
        )?);
    }
    change.commit(deps).await.map_err(|e| {
        on_condition(e, |i| match i {
            0 => Some(stale("participation")),
            1 if partner => Some(AppError::Conflict(format!(
                "{} holds no licence: their partner has no seat allocation. The platform sets one (PUT /organizations/{}/seats) first.",
                user.email.as_str(),
                user.org_id
            ))),
            _ => Some(stale("project")),
        })
    })?;
    Ok(member)
}

/// [`assign`] for the project page's form, the person named by email:
/// authorized first (so the lookup tells only the platform whether an
/// address has an account), then the login's lookup, then the assignment.
pub async fn assign_by_email(
    deps: &Deps,
    caller: &Caller,
    id: ProjectId,
    email: &str,
    input: AssignMember,
) -> Result<Member, AppError> {
    let (ctx, _, _) = load(deps, caller, id, vec![], None).await?;
    ctx.require(deps, ProjectAction::EditProject, None)?;
    let email = crate::domain::EmailAddress::parse(email)?;
    let login: crate::accounts::Login = deps
        .table
        .get(&keys::login(&email))
        .await?
        .ok_or_else(|| AppError::invalid(format!("No Portico user has the address {}.", email.as_str())))?
        .decode()?;
    assign(deps, caller, id, login.user_id, input).await
}

/// The platform takes a person off a project. 1 read, 1 write.
pub async fn remove_member(deps: &Deps, caller: &Caller, id: ProjectId, user_id: UserId) -> Result<(), AppError> {
    let (ctx, items, _) = load(deps, caller, id, vec![keys::member(id, user_id)], None).await?;
    ctx.require(deps, ProjectAction::EditProject, None)?;
    let member = items
        .into_iter()
        .next()
        .flatten()
        .ok_or(AppError::NotFound)
        .and_then(|m| Ok(Member::from_item(&m)?))?;
    ctx.change(
        deps,
        format!("Removed {} from \"{}\"", member.display_name, ctx.project.name),
    )
    .write(Write::Delete {
        key: keys::member(id, user_id),
        cond: Cond::VersionIs(member.version),
    })
    .write(Write::patch(
        keys::project(id),
        &serde_json::json!({ "members": ctx.project.members.saturating_sub(1) }),
        Cond::VersionIs(ctx.project.version),
    )?)
    .commit(deps)
    .await
    .map_err(|e| on_condition(e, |_| Some(stale("project"))))?;
    Ok(())
}

// ---------------------------------------------------------------- phase items

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ItemPage<F: ToSchema> {
    pub items: Vec<PhaseItem<F>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

fn phase_query<F: ItemFields>(id: ProjectId, phase: u8, cursor: Option<crate::store::Cursor>, limit: u32) -> Query {
    Query::partition(Index::Primary, keys::project_partition(id))
        .sk(SkCond::BeginsWith(keys::phase_items_prefix(F::KIND, phase)))
        .limit(limit)
        .after(cursor)
}

fn hide<F: ItemFields>(item: &mut PhaseItem<F>, fields: &FieldAccess) {
    for (name, _) in item.fields.guarded() {
        if !fields.sees(name) {
            item.fields.hide(name);
        }
    }
}

/// One phase's milestones, tasks or RAID entries, oldest first: for those
/// assigned to the phase (or the platform). 1 read (the page's query
/// starts with the caller's, and is dropped unless authorization admits it).
pub async fn list_items<F: ItemFields + ToSchema>(
    deps: &Deps,
    caller: &Caller,
    id: ProjectId,
    phase: u8,
    q: PageQuery,
) -> Result<ItemPage<F>, AppError> {
    let (limit, cursor) = q.parts()?;
    let query = phase_query::<F>(id, phase, cursor, limit);
    let (ctx, _, guess) = load(deps, caller, id, vec![], Some(query.clone())).await?;
    ctx.require(deps, ProjectAction::ReadPhase, Some(phase))?;
    let fields = ctx.fields(deps)?;
    let page = guess.page(deps, &query).await?;
    let mut items = page
        .items
        .iter()
        .map(PhaseItem::<F>::from_item)
        .collect::<Result<Vec<_>, _>>()?;
    for i in &mut items {
        hide(i, &fields);
    }
    Ok(ItemPage {
        items,
        next_cursor: page.next.map(|c| c.as_str().to_string()),
    })
}

fn item_action<F: ItemFields>() -> ProjectAction {
    match F::KIND {
        crate::workspace::ItemKind::Milestone => ProjectAction::ManageMilestones,
        crate::workspace::ItemKind::Task => ProjectAction::ManageTasks,
        crate::workspace::ItemKind::Raid => ProjectAction::ManageRaid,
    }
}

/// The people an item names must take part in the project.
fn check_people(people: &[UserId], found: &[Option<Item>]) -> Result<(), AppError> {
    for (u, m) in people.iter().zip(found) {
        if m.is_none() {
            return Err(AppError::invalid(format!("{u} does not take part in the project")));
        }
    }
    Ok(())
}

/// A milestone that marks value moves the project's value date (the
/// earliest reached), in the same transaction; a change to the milestone
/// that set it sets it again (or clears it, when that milestone no longer
/// marks value or is not reached). Its date must not be before the start.
fn value_write<F: ItemFields>(ctx: &ProjectCtx, item: &PhaseItem<F>) -> Result<Option<Write>, AppError> {
    let Some(m) = (&item.fields as &dyn std::any::Any).downcast_ref::<crate::workspace::MilestoneFields>() else {
        return Ok(None);
    };
    let reached = m.actual.filter(|_| m.marks_value);
    if let Some(actual) = reached
        && actual < ctx.project.start
    {
        return Err(AppError::invalid(format!(
            "actual: a milestone reached before the project's start ({}) gives no time to value",
            ctx.project.start
        )));
    }
    let p = &ctx.project;
    let (date, by) = if p.value_milestone == Some(item.id) {
        (reached, reached.map(|_| item.id))
    } else {
        match reached {
            Some(a) if p.value_reached.is_none_or(|v| a < v) => (Some(a), Some(item.id)),
            _ => return Ok(None),
        }
    };
    if date == p.value_reached && by == p.value_milestone {
        return Ok(None);
    }
    Ok(Some(Write::patch(
        keys::project(p.id),
        &serde_json::json!({ "valueReached": date, "valueMilestone": by }),
        Cond::VersionIs(p.version),
    )?))
}

/// Adds a milestone, task or RAID entry to a phase, for those whose level
/// in the phase allows it. 1 read, 1 write.
pub async fn create_item<F: ItemFields>(
    deps: &Deps,
    caller: &Caller,
    id: ProjectId,
    phase: u8,
    mut fields: F,
) -> Result<PhaseItem<F>, AppError> {
    fields.check()?;
    let people = fields.people();
    let (ctx, found, _) = load(
        deps,
        caller,
        id,
        people.iter().map(|u| keys::member(id, *u)).collect(),
        None,
    )
    .await?;
    ctx.require(deps, item_action::<F>(), Some(phase))?;
    let access = ctx.fields(deps)?;
    for (name, set) in fields.guarded() {
        refuse_read_only(&access, name, set)?;
    }
    check_people(&people, &found)?;
    let item = PhaseItem {
        id: ItemId(deps.ids.new_id()),
        project_id: id,
        phase,
        fields,
        updated_at: deps.clock.now(),
        updated_by: ctx.a.user.id,
        version: 1,
    };
    // What the actor sees is what their organisation's log may hold.
    let mut shown = item.clone();
    hide(&mut shown, &access);
    let mut change = ctx
        .change(
            deps,
            format!(
                "Added {} \"{}\" to phase {} of \"{}\"",
                F::KIND.noun(),
                item.fields.title(),
                phase,
                ctx.project.name
            ),
        )
        .after(to_json(&shown)?)
        .write(Write::Put {
            item: item.item()?,
            cond: Cond::MustNotExist,
        });
    if let Some(w) = value_write(&ctx, &item)? {
        change = change.write(w);
    }
    change
        .commit(deps)
        .await
        .map_err(|e| on_condition(e, |_| Some(stale("project"))))?;
    Ok(shown)
}

/// Body of a `PUT` of a milestone, task or RAID entry: its fields and the
/// version read.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemUpdate<F> {
    pub version: u64,
    #[serde(flatten)]
    pub fields: F,
}

/// The body's schema: the fields' own object with `version` added (a
/// derived schema would be an `allOf` of two closed objects, which no body
/// satisfies).
fn update_schema<F: ToSchema>() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};
    let mut schema = F::schema();
    if let utoipa::openapi::RefOr::T(Schema::Object(o)) = &mut schema {
        o.properties.insert(
            "version".into(),
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                .minimum(Some(0))
                .description(Some("The version read."))
                .into(),
        );
        o.required.push("version".into());
    }
    schema
}

macro_rules! update_body {
    ($name:ident, $fields:ty) => {
        #[doc = concat!("Body of a `PUT` of one: [`", stringify!($fields), "`] and the version read.")]
        #[derive(Debug, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub ItemUpdate<$fields>);

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                update_schema::<$fields>()
            }
        }

        impl ToSchema for $name {
            fn schemas(schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>) {
                <$fields as ToSchema>::schemas(schemas);
            }
        }
    };
}

update_body!(MilestoneUpdate, crate::workspace::MilestoneFields);
update_body!(TaskUpdate, crate::workspace::TaskFields);
update_body!(RaidUpdate, crate::workspace::RaidFields);

/// Changes one (the version read; 409 when stale). A field the caller may
/// not see keeps its value; one they may only read must not change.
/// 1 read, 1 write.
pub async fn update_item<F: ItemFields>(
    deps: &Deps,
    caller: &Caller,
    id: ProjectId,
    phase: u8,
    item_id: ItemId,
    input: ItemUpdate<F>,
) -> Result<PhaseItem<F>, AppError> {
    let mut fields = input.fields;
    fields.check()?;
    let people = fields.people();
    let mut extra = vec![keys::phase_item(id, F::KIND, phase, item_id)];
    extra.extend(people.iter().map(|u| keys::member(id, *u)));
    let (ctx, found, _) = load(deps, caller, id, extra, None).await?;
    ctx.require(deps, item_action::<F>(), Some(phase))?;
    let mut found = found.into_iter();
    let existing = found.next().flatten().ok_or(AppError::NotFound)?;
    let before = PhaseItem::<F>::from_item(&existing)?;
    if before.version != input.version {
        return Err(stale(F::KIND.noun()));
    }
    check_people(&people, &found.collect::<Vec<_>>())?;
    let access = ctx.fields(deps)?;
    let mut kept = before.fields.clone();
    for (name, _) in fields.guarded() {
        if !access.sees(name) {
            // They cannot see it, so they do not send it: it keeps its value.
            fields.keep(name, &before.fields);
        } else {
            kept.keep(name, &fields);
            refuse_read_only(&access, name, kept != before.fields)?;
            kept = before.fields.clone();
        }
    }
    let item = PhaseItem {
        fields,
        updated_at: deps.clock.now(),
        updated_by: ctx.a.user.id,
        version: before.version + 1,
        ..before.clone()
    };
    // A hidden field kept as it was is not the actor's to see, nor their log's.
    let mut shown = item.clone();
    hide(&mut shown, &access);
    let mut change = ctx
        .change(
            deps,
            format!(
                "Changed {} \"{}\" in phase {} of \"{}\"",
                F::KIND.noun(),
                item.fields.title(),
                phase,
                ctx.project.name
            ),
        )
        .after(to_json(&shown)?)
        .write(Write::Put {
            item: item.item()?,
            cond: Cond::VersionIs(before.version),
        });
    if let Some(w) = value_write(&ctx, &item)? {
        change = change.write(w);
    }
    change
        .commit(deps)
        .await
        .map_err(|e| on_condition(e, |i| Some(stale(if i == 0 { F::KIND.noun() } else { "project" }))))?;
    Ok(shown)
}

// ---------------------------------------------------------------- status reports

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReportPage {
    pub items: Vec<StatusReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// A project's status reports, newest period first. 1 read.
pub async fn list_reports(deps: &Deps, caller: &Caller, id: ProjectId, q: PageQuery) -> Result<ReportPage, AppError> {
    let (limit, cursor) = q.parts()?;
    let query = Query::partition(Index::Primary, keys::project_partition(id))
        .sk(SkCond::BeginsWith(keys::REPORT_PREFIX.into()))
        .limit(limit)
        .after(cursor)
        .backward();
    let (ctx, _, guess) = load(deps, caller, id, vec![], Some(query.clone())).await?;
    ctx.require(deps, ProjectAction::ViewProject, None)?;
    let fields = ctx.fields(deps)?;
    let page = guess.page(deps, &query).await?;
    let mut items: Vec<StatusReport> = page.items.iter().map(|i| i.decode()).collect::<Result<_, _>>()?;
    if !fields.sees(FieldName::ReportCustomerSentiment) {
        for r in &mut items {
            r.customer_sentiment = None;
        }
    }
    Ok(ReportPage {
        items,
        next_cursor: page.next.map(|c| c.as_str().to_string()),
    })
}

/// Body of `POST /projects/{id}/reports`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewReport {
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    /// 1 to 4000 characters.
    pub summary: String,
    pub health: Health,
    /// Subject to the field rules (read-only to partners by default).
    #[serde(default)]
    pub customer_sentiment: Option<Sentiment>,
}

/// Files a status report (those whose level includes `reports`). 1 read, 1 write.
pub async fn file_report(
    deps: &Deps,
    caller: &Caller,
    id: ProjectId,
    input: NewReport,
) -> Result<StatusReport, AppError> {
    let summary = long_text("summary", &input.summary, 4000)?;
    if summary.is_empty() {
        return Err(AppError::invalid("summary: say how the period went"));
    }
    if input.period_end < input.period_start || (input.period_end - input.period_start).num_days() > 92 {
        return Err(AppError::invalid(
            "periodEnd must be on or after periodStart, at most 92 days later",
        ));
    }
    let (ctx, _, _) = load(deps, caller, id, vec![], None).await?;
    ctx.require(deps, ProjectAction::FileReports, None)?;
    let access = ctx.fields(deps)?;
    refuse_read_only(
        &access,
        FieldName::ReportCustomerSentiment,
        input.customer_sentiment.is_some(),
    )?;
    let report = StatusReport {
        id: ItemId(deps.ids.new_id()),
        project_id: id,
        period_start: input.period_start,
        period_end: input.period_end,
        summary,
        health: input.health,
        customer_sentiment: input.customer_sentiment,
        author: ctx.a.user.id,
        author_name: ctx.a.user.display_name.clone(),
        created_at: deps.clock.now(),
    };
    ctx.change(
        deps,
        format!(
            "Filed the status report for {} to {} on \"{}\" ({})",
            report.period_start,
            report.period_end,
            ctx.project.name,
            report.health.as_str()
        ),
    )
    .after(to_json(&report)?)
    .write(Write::Put {
        item: report.item()?,
        cond: Cond::MustNotExist,
    })
    .commit(deps)
    .await?;
    Ok(report)
}
