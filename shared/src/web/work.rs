//! The co-delivery workspace's pages (seed 001, issue 17): the projects
//! ("My projects" for participants), a project with its phase's
//! milestones, tasks and RAID log, its reports and health; the signed-in
//! person's week of time, their expenses and their resource profile; the
//! supervisor's approval queue. Each handler calls the operations the
//! `workspace` API calls; Cedar decides, the pages only offer what the
//! caller's level allows.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Datelike, NaiveDate};
use serde::Deserialize;

use super::render::{Chrome, Errors, done_message, fail, page};
use super::visit::{Form, PagePath, Query, SignedIn, Visit};
use crate::app::AppState;
use crate::domain::{ExpenseId, ItemId, OrgId, OrgKind, ProjectId, UserId};
use crate::error::AppError;
use crate::http::principal::Caller;
use crate::ops::accounts::PageQuery;
use crate::ops::timesheets::{self, Decision, EditResource, ExpenseInput, NewEntry, Submit, Waiting};
use crate::ops::workspace::{
    self, AssignMember, AssignPhase, ItemUpdate, NewProject, NewReport, ProjectSummary, SetHealth,
};
use crate::workspace::{
    ClaimState, Expense, ExpenseCategory, Health, Milestone, MilestoneFields, Money, Permission, RaidEntry, RaidFields,
    RaidKind, RaidStatus, Severity, StatusReport, Task, TaskFields, TaskStatus, TimeEntry, Timesheet,
};

fn page_all() -> PageQuery {
    PageQuery {
        limit: Some(100),
        cursor: None,
    }
}

/// A form's refusal shown on its page (invalid input, a conflict, a
/// refusal the caller should read), or the failure page.
fn refused(visit: &Visit, deps: &AppState, e: AppError) -> Result<Errors, Response> {
    match e {
        AppError::Invalid(why) | AppError::Conflict(why) => Ok(Errors::one(None, why)),
        AppError::AccessRefused { detail, .. } => Ok(Errors::one(None, detail)),
        e @ AppError::Store(_) => Ok(Errors::one(None, e.detail())),
        e => Err(fail(visit, &deps.settings, e)),
    }
}

fn people_path(caller: &Caller) -> (OrgId, UserId) {
    (caller.org_id, caller.user_id)
}

// ---- The projects ------------------------------------------------------

#[derive(Template)]
#[template(path = "work_projects.html")]
struct ProjectsPage {
    chrome: Chrome,
    errors: Errors,
    notice: Option<&'static str>,
    platform: bool,
    projects: Vec<ProjectSummary>,
    ttv: Option<workspace::TimeToValue>,
    customers: Vec<(String, String)>,
}

fn days(d: &Option<f64>) -> String {
    d.map_or_else(|| "—".into(), |d| format!("{d:.0} days"))
}

async fn projects_page(
    deps: &AppState,
    visit: &Visit,
    caller: &Caller,
    status: StatusCode,
    errors: Errors,
    done: Option<&str>,
) -> Response {
    let list = match workspace::list(deps, caller, page_all()).await {
        Ok(l) => l,
        Err(e) => return fail(visit, &deps.settings, e),
    };
    let platform = list.time_to_value.is_some();
    let customers = if platform {
        match crate::ops::organizations::list(
            deps,
            caller,
            crate::ops::organizations::ListOrganizations {
                kind: Some(OrgKind::Customer),
                limit: Some(100),
                cursor: None,
            },
        )
        .await
        {
            Ok(p) => p
                .items
                .iter()
                .map(|o| (o.id.to_string(), o.name.as_str().to_string()))
                .collect(),
            Err(e) => return fail(visit, &deps.settings, e),
        }
    } else {
        Vec::new()
    };
    page(
        status,
        &ProjectsPage {
            chrome: Chrome::of(visit),
            errors,
            notice: done_message(done),
            platform,
            projects: list.items,
            ttv: list.time_to_value,
            customers,
        },
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct DoneOnly {
    done: Option<String>,
}

/// `GET /work`: every project (the platform), or the caller's ("My projects").
pub async fn projects(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    Query(q): Query<DoneOnly>,
) -> Response {
    projects_page(
        &deps,
        &visit,
        &caller,
        StatusCode::OK,
        Errors::none(),
        q.done.as_deref(),
    )
    .await
}

#[derive(Debug, Deserialize)]
pub struct NewProjectForm {
    #[serde(default)]
    customer: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    phases: String,
    #[serde(default)]
    start: String,
}

/// `POST /work/projects`: the platform starts a project.
pub async fn create_project(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    Form(f): Form<NewProjectForm>,
) -> Response {
    let input = (|| -> Result<NewProject, AppError> {
        Ok(NewProject {
            customer: OrgId::parse(&f.customer).map_err(|_| AppError::invalid("Choose the customer."))?,
            name: f.name.clone(),
            phases: f
                .phases
                .split(',')
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty())
                .collect(),
            start: date(&f.start, "the start")?,
            budget: None,
            internal_notes: String::new(),
        })
    })();
    let result = match input {
        Ok(i) => workspace::create(&deps, &caller, i).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(p) => Redirect::to(&format!("/work/projects/{}?done=project-started", p.id)).into_response(),
        Err(e) => match refused(&visit, &deps, e) {
            Ok(errors) => projects_page(&deps, &visit, &caller, StatusCode::BAD_REQUEST, errors, None).await,
            Err(r) => r,
        },
    }
}

fn date(s: &str, what: &str) -> Result<NaiveDate, AppError> {
    let d = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| AppError::invalid(format!("Enter {what} as a date.")))?;
    crate::workspace::in_range(d, what)
}

// ---- One project -----------------------------------------------------

struct PhaseTab {
    number: u8,
    name: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "work_project.html")]
struct ProjectPage {
    chrome: Chrome,
    errors: Errors,
    notice: Option<&'static str>,
    p: workspace::ProjectView,
    phases: Vec<PhaseTab>,
    phase: Option<u8>,
    milestones: Vec<Milestone>,
    tasks: Vec<Task>,
    raid: Vec<RaidEntry>,
    reports: Vec<StatusReport>,
    members: Vec<crate::workspace::Member>,
    may: Vec<Permission>,
    platform: bool,
    levels: Vec<String>,
    today: String,
    week: String,
}

impl ProjectPage {
    fn can(&self, what: &str) -> bool {
        self.platform || self.may.iter().any(|p| p.as_str() == what)
    }
    /// Whether any of the caller's phases allows `what` (reports and
    /// health concern the whole project).
    fn can_anywhere(&self, what: &str) -> bool {
        self.platform
            || self
                .p
                .your_access
                .iter()
                .any(|a| a.may.iter().any(|p| p.as_str() == what))
    }
    fn budget(&self) -> String {
        self.p
            .budget
            .as_ref()
            .map_or_else(String::new, |b| format!("{} {}", b.amount, b.currency))
    }
    fn task_status(s: &TaskStatus) -> &'static str {
        match s {
            TaskStatus::Todo => "To do",
            TaskStatus::InProgress => "In progress",
            TaskStatus::Blocked => "Blocked",
            TaskStatus::Done => "Done",
        }
    }
    fn raid_kind(k: &RaidKind) -> &'static str {
        match k {
            RaidKind::Risk => "Risk",
            RaidKind::Assumption => "Assumption",
            RaidKind::Issue => "Issue",
            RaidKind::Decision => "Decision",
        }
    }
    fn severity(s: &Severity) -> &'static str {
        match s {
            Severity::Low => "Low",
            Severity::Medium => "Medium",
            Severity::High => "High",
            Severity::Critical => "Critical",
        }
    }
    fn raid_status(s: &RaidStatus) -> &'static str {
        match s {
            RaidStatus::Open => "Open",
            RaidStatus::Mitigating => "Mitigating",
            RaidStatus::Closed => "Closed",
        }
    }
    fn name_of(&self, u: &Option<UserId>) -> String {
        u.and_then(|u| self.members.iter().find(|m| m.user_id == u))
            .map_or_else(|| "—".to_string(), |m| m.display_name.clone())
    }
    /// Whether the caller may set a task's estimate (it is neither hidden from nor read-only to them).
    fn sets_estimate(&self) -> bool {
        let f = crate::workspace::FieldName::TaskEstimate;
        !self.p.hidden_fields.contains(&f) && !self.p.read_only_fields.contains(&f)
    }
    fn estimate(t: &Task) -> String {
        t.fields.estimate.map_or_else(String::new, |e| e.to_string())
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ProjectQuery {
    phase: Option<u8>,
    done: Option<String>,
}

#[allow(clippy::too_many_arguments)]
async fn project_page(
    deps: &AppState,
    visit: &Visit,
    caller: &Caller,
    id: ProjectId,
    phase: Option<u8>,
    status: StatusCode,
    errors: Errors,
    done: Option<&str>,
) -> Response {
    let p = match workspace::get(deps, caller, id).await {
        Ok(p) => p,
        Err(e) => return fail(visit, &deps.settings, e),
    };
    let phase = phase
        .filter(|n| p.phases.iter().any(|ph| ph.number == *n))
        .or_else(|| p.phases.first().map(|ph| ph.number));
    let platform = visit.seen.get().is_some_and(|v| v.org.kind == OrgKind::Platform);
    let (items, reports, members) = futures::future::join3(
        async {
            match phase {
                Some(n) => {
                    let (m, t, r) = futures::future::join3(
                        workspace::list_items::<MilestoneFields>(deps, caller, id, n, page_all()),
                        workspace::list_items::<TaskFields>(deps, caller, id, n, page_all()),
                        workspace::list_items::<RaidFields>(deps, caller, id, n, page_all()),
                    )
                    .await;
                    Ok::<_, AppError>((m?.items, t?.items, r?.items))
                }
                None => Ok((Vec::new(), Vec::new(), Vec::new())),
            }
        },
        workspace::list_reports(deps, caller, id, page_all()),
        workspace::list_members(deps, caller, id, page_all()),
    )
    .await;
    let ((milestones, tasks, raid), reports, members) = match (items, reports, members) {
        (Ok(i), Ok(r), Ok(m)) => (i, r.items, m.items),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return fail(visit, &deps.settings, e),
    };
    let may = p
        .your_access
        .iter()
        .find(|a| Some(a.phase) == phase)
        .map(|a| a.may.clone())
        .unwrap_or_default();
    let levels = if platform {
        workspace::get_config(deps, caller)
            .await
            .map(|c| c.levels.into_iter().map(|l| l.name).collect())
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let today = deps.clock.now().date_naive();
    page(
        status,
        &ProjectPage {
            chrome: Chrome::of(visit),
            errors,
            notice: done_message(done),
            phases: p
                .phases
                .iter()
                .map(|ph| PhaseTab {
                    number: ph.number,
                    name: ph.name.clone(),
                    current: Some(ph.number) == phase,
                })
                .collect(),
            p,
            phase,
            milestones,
            tasks,
            raid,
            reports,
            members,
            may,
            platform,
            levels,
            today: today.to_string(),
            week: crate::workspace::week_of(today).to_string(),
        },
    )
}

/// `GET /work/projects/{id}`: the project, one phase at a time.
pub async fn project(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    PagePath(id): PagePath<ProjectId>,
    Query(q): Query<ProjectQuery>,
) -> Response {
    project_page(
        &deps,
        &visit,
        &caller,
        id,
        q.phase,
        StatusCode::OK,
        Errors::none(),
        q.done.as_deref(),
    )
    .await
}

/// After a form on the project page: back to the phase, or the form again with why.
async fn back_to_project<T>(
    deps: &AppState,
    visit: &Visit,
    caller: &Caller,
    id: ProjectId,
    phase: Option<u8>,
    result: Result<T, AppError>,
    done: &str,
) -> Response {
    match result {
        Ok(_) => Redirect::to(&format!("/work/projects/{id}?phase={}&done={done}", phase.unwrap_or(1))).into_response(),
        Err(e) => match refused(visit, deps, e) {
            Ok(errors) => project_page(deps, visit, caller, id, phase, StatusCode::BAD_REQUEST, errors, None).await,
            Err(r) => r,
        },
    }
}

#[derive(Debug, Deserialize)]
pub struct HealthForm {
    #[serde(default)]
    version: u64,
    #[serde(default)]
    health: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    phase: Option<u8>,
}

fn health(s: &str) -> Result<Health, AppError> {
    match s {
        "green" => Ok(Health::Green),
        "amber" => Ok(Health::Amber),
        "red" => Ok(Health::Red),
        _ => Err(AppError::invalid("Choose green, amber or red.")),
    }
}

/// `POST /work/projects/{id}/health`.
pub async fn set_health(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    PagePath(id): PagePath<ProjectId>,
    Form(f): Form<HealthForm>,
) -> Response {
    let result = match health(&f.health) {
        Ok(h) => {
            workspace::set_health(
                &deps,
                &caller,
                id,
                SetHealth {
                    version: f.version,
                    health: h,
                    reason: f.reason.clone(),
                },
            )
            .await
        }
        Err(e) => Err(e),
    };
    back_to_project(&deps, &visit, &caller, id, f.phase, result, "saved").await
}

#[derive(Debug, Deserialize)]
pub struct MemberForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    phase: u8,
    #[serde(default)]
    role: String,
    #[serde(default)]
    level: String,
}

/// `POST /work/projects/{id}/members`: the platform adds a participant by email.
pub async fn add_member(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    PagePath(id): PagePath<ProjectId>,
    Form(f): Form<MemberForm>,
) -> Response {
    let phase = AssignPhase {
        phase: f.phase,
        role: f.role.clone(),
        level: (!f.level.is_empty()).then(|| f.level.clone()),
    };
    // Someone on the project already: this phase joins (or replaces) theirs.
    let existing = match workspace::list_members(&deps, &caller, id, page_all()).await {
        Ok(p) => p
            .items
            .into_iter()
            .find(|m| f.email.trim().eq_ignore_ascii_case(&m.email)),
        Err(e) => return fail(&visit, &deps.settings, e),
    };
    let input = match existing {
        Some(m) => AssignMember {
            phases: m
                .phases
                .into_iter()
                .filter(|a| a.phase != f.phase)
                .map(|a| AssignPhase {
                    phase: a.phase,
                    role: a.role,
                    level: Some(a.level),
                })
                .chain([phase])
                .collect(),
            version: Some(m.version),
        },
        None => AssignMember {
            phases: vec![phase],
            version: None,
        },
    };
    let result = workspace::assign_by_email(&deps, &caller, id, &f.email, input).await;
    back_to_project(&deps, &visit, &caller, id, Some(f.phase), result, "member-added").await
}

#[derive(Debug, Deserialize)]
pub struct ItemForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    estimate: String,
    #[serde(default)]
    planned: String,
    #[serde(default)]
    actual: String,
    #[serde(default)]
    marks_value: Option<String>,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    severity: String,
    #[serde(default)]
    description: String,
}

fn parse<T: serde::de::DeserializeOwned>(s: &str, what: &str) -> Result<T, AppError> {
    serde_json::from_value(serde_json::Value::String(s.to_string()))
        .map_err(|_| AppError::invalid(format!("Choose {what}.")))
}

/// `POST /work/projects/{id}/phases/{phase}/{kind}`: adds a task, milestone or RAID entry.
pub async fn add_item(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    PagePath((id, phase, kind)): PagePath<(ProjectId, u8, String)>,
    Form(f): Form<ItemForm>,
) -> Response {
    let result: Result<(), AppError> = async {
        match kind.as_str() {
            "tasks" => {
                let estimate = match f.estimate.trim() {
                    "" => None,
                    e => Some(
                        e.parse()
                            .map_err(|_| AppError::invalid("Enter the estimate in hours, e.g. 12.5"))?,
                    ),
                };
                workspace::create_item(
                    &deps,
                    &caller,
                    id,
                    phase,
                    TaskFields {
                        title: f.title.clone(),
                        assignee: None,
                        status: TaskStatus::Todo,
                        estimate,
                    },
                )
                .await
                .map(|_| ())
            }
            "milestones" => workspace::create_item(
                &deps,
                &caller,
                id,
                phase,
                MilestoneFields {
                    name: f.title.clone(),
                    planned: date(&f.planned, "the planned date")?,
                    actual: match f.actual.trim() {
                        "" => None,
                        a => Some(date(a, "the actual date")?),
                    },
                    marks_value: f.marks_value.is_some(),
                },
            )
            .await
            .map(|_| ()),
            "raid" => workspace::create_item(
                &deps,
                &caller,
                id,
                phase,
                RaidFields {
                    kind: parse(&f.kind, "risk, assumption, issue or decision")?,
                    title: f.title.clone(),
                    description: f.description.clone(),
                    // The filer owns it when they take part (the platform may not).
                    owner: (caller.org_kind != Some(OrgKind::Platform)).then_some(caller.user_id),
                    severity: parse(&f.severity, "a severity")?,
                    status: RaidStatus::Open,
                },
            )
            .await
            .map(|_| ()),
            _ => Err(AppError::NotFound),
        }
    }
    .await;
    back_to_project(&deps, &visit, &caller, id, Some(phase), result, "item-added").await
}

#[derive(Debug, Deserialize)]
pub struct TaskStatusForm {
    #[serde(default)]
    version: u64,
    #[serde(default)]
    status: String,
}

/// `POST /work/projects/{id}/phases/{phase}/tasks/{item}/status`: moves a task on.
pub async fn task_status(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    PagePath((id, phase, item)): PagePath<(ProjectId, u8, ItemId)>,
    Form(f): Form<TaskStatusForm>,
) -> Response {
    let result: Result<(), AppError> = async {
        let status: TaskStatus = parse(&f.status, "a status")?;
        // The task as the caller reads it; a field hidden from them is kept as it is.
        let tasks = workspace::list_items::<TaskFields>(&deps, &caller, id, phase, page_all()).await?;
        let task = tasks
            .items
            .into_iter()
            .find(|t| t.id == item)
            .ok_or(AppError::NotFound)?;
        let fields = TaskFields { status, ..task.fields };
        workspace::update_item(
            &deps,
            &caller,
            id,
            phase,
            item,
            ItemUpdate {
                version: f.version,
                fields,
            },
        )
        .await
        .map(|_| ())
    }
    .await;
    back_to_project(&deps, &visit, &caller, id, Some(phase), result, "saved").await
}

#[derive(Debug, Deserialize)]
pub struct ReportForm {
    #[serde(default)]
    period_start: String,
    #[serde(default)]
    period_end: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    health: String,
    #[serde(default)]
    phase: Option<u8>,
}

/// `POST /work/projects/{id}/reports`: files a status report.
pub async fn file_report(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    PagePath(id): PagePath<ProjectId>,
    Form(f): Form<ReportForm>,
) -> Response {
    let result = async {
        workspace::file_report(
            &deps,
            &caller,
            id,
            NewReport {
                period_start: date(&f.period_start, "the period's start")?,
                period_end: date(&f.period_end, "the period's end")?,
                summary: f.summary.clone(),
                health: health(&f.health)?,
                customer_sentiment: None,
            },
        )
        .await
    }
    .await;
    back_to_project(&deps, &visit, &caller, id, f.phase, result, "report-filed").await
}

#[derive(Debug, Deserialize)]
pub struct LogForm {
    #[serde(default)]
    task: String,
    #[serde(default)]
    day: String,
    #[serde(default)]
    hours: String,
    #[serde(default)]
    note: String,
}

/// `POST /work/projects/{id}/phases/{phase}/log`: logs time on the caller's week.
pub async fn log_time(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    PagePath((id, phase)): PagePath<(ProjectId, u8)>,
    Form(f): Form<LogForm>,
) -> Response {
    let result = async {
        let day = date(&f.day, "the day")?;
        let (org, user) = people_path(&caller);
        timesheets::add_entry(
            &deps,
            &caller,
            org,
            user,
            crate::workspace::week_of(day),
            NewEntry {
                day,
                project_id: id,
                phase,
                task_id: ItemId::parse(&f.task).map_err(|_| AppError::invalid("Choose the task."))?,
                hours: f
                    .hours
                    .trim()
                    .parse()
                    .map_err(|_| AppError::invalid("Enter the hours, e.g. 7.5"))?,
                note: f.note.clone(),
            },
        )
        .await
    }
    .await;
    match result {
        Ok(w) => Redirect::to(&format!("/work/week?week={}&done=logged", w.timesheet.week)).into_response(),
        Err(e) => back_to_project(&deps, &visit, &caller, id, Some(phase), Err::<(), _>(e), "").await,
    }
}

// ---- My week ------------------------------------------------------------

struct GridRow {
    label: String,
    hours: Vec<String>,
    total: String,
}

#[derive(Template)]
#[template(path = "work_week.html")]
struct WeekPage {
    chrome: Chrome,
    errors: Errors,
    notice: Option<&'static str>,
    sheet: Timesheet,
    entries: Vec<TimeEntry>,
    days: Vec<String>,
    grid: Vec<GridRow>,
    previous: String,
    next: String,
    /// The signed-in person's own week (else a supervisor's or manager's read-only view).
    own: bool,
    /// Where the previous and next weeks are.
    base: String,
}

impl WeekPage {
    fn state(&self) -> &'static str {
        match self.sheet.state {
            ClaimState::Draft => "Draft",
            ClaimState::Submitted if self.own => "Submitted: waiting for your supervisor",
            ClaimState::Submitted => "Submitted: waiting for the supervisor's decision",
            ClaimState::Approved => "Approved: locked",
            ClaimState::Rejected => "Rejected: change it and submit it again",
        }
    }
    fn open(&self) -> bool {
        self.own && self.sheet.state != ClaimState::Approved
    }
}

fn grid(week: NaiveDate, entries: &[TimeEntry]) -> Vec<GridRow> {
    let mut rows: Vec<(String, [rust_decimal::Decimal; 7])> = Vec::new();
    for e in entries {
        let label = format!("{} · {}", e.project_name, e.task_title);
        let i = usize::try_from((e.day - week).num_days()).unwrap_or(0).min(6);
        match rows.iter_mut().find(|(l, _)| *l == label) {
            Some((_, h)) => h[i] += e.hours,
            None => {
                let mut h = [rust_decimal::Decimal::ZERO; 7];
                h[i] = e.hours;
                rows.push((label, h));
            }
        }
    }
    rows.into_iter()
        .map(|(label, h)| GridRow {
            label,
            hours: h
                .iter()
                .map(|x| {
                    if x.is_zero() {
                        String::new()
                    } else {
                        x.normalize().to_string()
                    }
                })
                .collect(),
            total: h.iter().copied().sum::<rust_decimal::Decimal>().normalize().to_string(),
        })
        .collect()
}

#[derive(Debug, Default, Deserialize)]
pub struct WeekQuery {
    week: Option<String>,
    done: Option<String>,
}

async fn week_page(
    deps: &AppState,
    visit: &Visit,
    caller: &Caller,
    week: NaiveDate,
    status: StatusCode,
    errors: Errors,
    done: Option<&str>,
) -> Response {
    let (org, user) = people_path(caller);
    person_week(deps, visit, caller, (org, user), week, status, errors, done).await
}

#[allow(clippy::too_many_arguments)]
async fn person_week(
    deps: &AppState,
    visit: &Visit,
    caller: &Caller,
    (org, user): (OrgId, UserId),
    week: NaiveDate,
    status: StatusCode,
    errors: Errors,
    done: Option<&str>,
) -> Response {
    let own = user == caller.user_id;
    let w = match timesheets::get_week(deps, caller, org, user, week).await {
        Ok(w) => w,
        Err(e) => return fail(visit, &deps.settings, e),
    };
    let days = (0..7)
        .map(|i| {
            let d = week.checked_add_days(chrono::Days::new(i)).unwrap_or(week);
            format!("{} {}", d.format("%a"), d.day())
        })
        .collect();
    page(
        status,
        &WeekPage {
            chrome: Chrome::of(visit),
            errors,
            notice: done_message(done),
            grid: grid(week, &w.entries),
            entries: w.entries,
            sheet: w.timesheet,
            days,
            previous: week.checked_sub_days(chrono::Days::new(7)).unwrap_or(week).to_string(),
            next: week.checked_add_days(chrono::Days::new(7)).unwrap_or(week).to_string(),
            own,
            base: if own {
                "/work/week?week=".into()
            } else {
                format!("/work/people/{org}/{user}/weeks/")
            },
        },
    )
}

/// `GET /work/people/{org}/{user}/weeks/{week}`: someone's week, read only
/// (their supervisor, their partner's managers, the platform).
pub async fn person_week_page(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    PagePath((org, user, week)): PagePath<(OrgId, UserId, NaiveDate)>,
) -> Response {
    let week = crate::workspace::week_of(week);
    person_week(
        &deps,
        &visit,
        &caller,
        (org, user),
        week,
        StatusCode::OK,
        Errors::none(),
        None,
    )
    .await
}

fn week_of_query(deps: &AppState, q: Option<&str>) -> NaiveDate {
    q.and_then(|w| NaiveDate::parse_from_str(w, "%Y-%m-%d").ok())
        .and_then(|w| crate::workspace::in_range(w, "week").ok())
        .map_or_else(
            || crate::workspace::week_of(deps.clock.now().date_naive()),
            crate::workspace::week_of,
        )
}

/// `GET /work/week`: the signed-in person's week of time.
pub async fn week(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    Query(q): Query<WeekQuery>,
) -> Response {
    let week = week_of_query(&deps, q.week.as_deref());
    week_page(
        &deps,
        &visit,
        &caller,
        week,
        StatusCode::OK,
        Errors::none(),
        q.done.as_deref(),
    )
    .await
}

#[derive(Debug, Deserialize)]
pub struct WeekForm {
    #[serde(default)]
    week: String,
    #[serde(default)]
    version: u64,
}

async fn back_to_week<T>(
    deps: &AppState,
    visit: &Visit,
    caller: &Caller,
    week: NaiveDate,
    result: Result<T, AppError>,
    done: &str,
) -> Response {
    match result {
        Ok(_) => Redirect::to(&format!("/work/week?week={week}&done={done}")).into_response(),
        Err(e) => match refused(visit, deps, e) {
            Ok(errors) => week_page(deps, visit, caller, week, StatusCode::BAD_REQUEST, errors, None).await,
            Err(r) => r,
        },
    }
}

/// `POST /work/week/submit`: submits the week to the supervisor.
pub async fn submit_week(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    Form(f): Form<WeekForm>,
) -> Response {
    let week = week_of_query(&deps, Some(&f.week));
    let (org, user) = people_path(&caller);
    let result = timesheets::submit(&deps, &caller, org, user, week, Submit { version: f.version }).await;
    back_to_week(&deps, &visit, &caller, week, result, "submitted").await
}

/// `POST /work/week/entries/{entry}/delete`.
pub async fn delete_entry(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    PagePath(entry): PagePath<crate::domain::EntryId>,
    Form(f): Form<WeekForm>,
) -> Response {
    let week = week_of_query(&deps, Some(&f.week));
    let (org, user) = people_path(&caller);
    let result = timesheets::delete_entry(&deps, &caller, org, user, week, entry).await;
    back_to_week(&deps, &visit, &caller, week, result, "deleted-entry").await
}

// ---- Approvals -------------------------------------------------------------

#[derive(Template)]
#[template(path = "work_approvals.html")]
struct ApprovalsPage {
    chrome: Chrome,
    errors: Errors,
    notice: Option<&'static str>,
    items: Vec<Waiting>,
}

async fn approvals_page(
    deps: &AppState,
    visit: &Visit,
    caller: &Caller,
    status: StatusCode,
    errors: Errors,
    done: Option<&str>,
) -> Response {
    match timesheets::approvals(deps, caller, page_all()).await {
        Ok(p) => page(
            status,
            &ApprovalsPage {
                chrome: Chrome::of(visit),
                errors,
                notice: done_message(done),
                items: p.items,
            },
        ),
        Err(e) => fail(visit, &deps.settings, e),
    }
}

/// `GET /work/approvals`: the timesheets and expenses waiting for the caller.
pub async fn approvals(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    Query(q): Query<DoneOnly>,
) -> Response {
    approvals_page(
        &deps,
        &visit,
        &caller,
        StatusCode::OK,
        Errors::none(),
        q.done.as_deref(),
    )
    .await
}

#[derive(Debug, Deserialize)]
pub struct DecideForm {
    #[serde(default)]
    version: u64,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    reason: String,
}

impl DecideForm {
    fn decision(&self) -> Decision {
        Decision {
            version: self.version,
            approve: self.decision == "approve",
            reason: self.reason.clone(),
        }
    }
}

async fn after_decision<T>(
    deps: &AppState,
    visit: &Visit,
    caller: &Caller,
    r: Result<T, AppError>,
    approve: bool,
) -> Response {
    match r {
        Ok(_) => Redirect::to(if approve {
            "/work/approvals?done=time-approved"
        } else {
            "/work/approvals?done=time-rejected"
        })
        .into_response(),
        Err(e) => match refused(visit, deps, e) {
            Ok(errors) => approvals_page(deps, visit, caller, StatusCode::BAD_REQUEST, errors, None).await,
            Err(r) => r,
        },
    }
}

/// `POST /work/approvals/timesheets/{org}/{user}/{week}`.
pub async fn decide_week(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    PagePath((org, user, week)): PagePath<(OrgId, UserId, NaiveDate)>,
    Form(f): Form<DecideForm>,
) -> Response {
    let d = f.decision();
    let approve = d.approve;
    let r = timesheets::decide(&deps, &caller, org, user, week, d).await;
    after_decision(&deps, &visit, &caller, r, approve).await
}

/// `POST /work/approvals/expenses/{org}/{user}/{id}`.
pub async fn decide_expense(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    PagePath((org, user, id)): PagePath<(OrgId, UserId, ExpenseId)>,
    Form(f): Form<DecideForm>,
) -> Response {
    let d = f.decision();
    let approve = d.approve;
    let r = timesheets::decide_expense(&deps, &caller, org, user, id, d).await;
    after_decision(&deps, &visit, &caller, r, approve).await
}

// ---- Expenses ----------------------------------------------------------------

#[derive(Template)]
#[template(path = "work_expenses.html")]
struct ExpensesPage {
    chrome: Chrome,
    errors: Errors,
    notice: Option<&'static str>,
    items: Vec<Expense>,
    /// The claim form as typed (kept when it is refused).
    form: ExpenseForm,
}

impl ExpensesPage {
    fn state(s: &ClaimState) -> &'static str {
        match s {
            ClaimState::Draft => "Draft",
            ClaimState::Submitted => "Submitted",
            ClaimState::Approved => "Approved",
            ClaimState::Rejected => "Rejected",
        }
    }
}

async fn expenses_page(
    deps: &AppState,
    visit: &Visit,
    caller: &Caller,
    status: StatusCode,
    (errors, form): (Errors, Option<ExpenseForm>),
    done: Option<&str>,
) -> Response {
    let (org, user) = people_path(caller);
    match timesheets::list_expenses(deps, caller, org, user, page_all()).await {
        Ok(p) => page(
            status,
            &ExpensesPage {
                chrome: Chrome::of(visit),
                errors,
                notice: done_message(done),
                items: p.items,
                form: form.unwrap_or_else(|| ExpenseForm {
                    spent_on: deps.clock.now().date_naive().to_string(),
                    amount: String::new(),
                    currency: "EUR".into(),
                    category: "travel".into(),
                    description: String::new(),
                }),
            },
        ),
        Err(e) => fail(visit, &deps.settings, e),
    }
}

/// `GET /work/expenses`: the signed-in person's expenses.
pub async fn expenses(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    Query(q): Query<DoneOnly>,
) -> Response {
    expenses_page(
        &deps,
        &visit,
        &caller,
        StatusCode::OK,
        (Errors::none(), None),
        q.done.as_deref(),
    )
    .await
}

#[derive(Debug, Clone, Deserialize)]
pub struct ExpenseForm {
    #[serde(default)]
    spent_on: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    currency: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    description: String,
}

/// `POST /work/expenses`: claims one.
pub async fn claim(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    Form(f): Form<ExpenseForm>,
) -> Response {
    let (org, user) = people_path(&caller);
    let result = async {
        let input = ExpenseInput {
            version: None,
            project_id: None,
            spent_on: date(&f.spent_on, "the day it was spent")?,
            amount: Money {
                amount: f
                    .amount
                    .trim()
                    .parse()
                    .map_err(|_| AppError::invalid("Enter the amount, e.g. 42.10"))?,
                currency: f.currency.trim().to_uppercase(),
            },
            category: parse::<ExpenseCategory>(&f.category, "a category")?,
            description: f.description.clone(),
            receipt: None,
        };
        timesheets::claim(&deps, &caller, org, user, None, input).await
    }
    .await;
    match result {
        Ok(_) => Redirect::to("/work/expenses?done=claimed").into_response(),
        Err(e) => match refused(&visit, &deps, e) {
            Ok(errors) => expenses_page(&deps, &visit, &caller, StatusCode::BAD_REQUEST, (errors, Some(f)), None).await,
            Err(r) => r,
        },
    }
}

// ---- The resource profile ---------------------------------------------------

#[derive(Template)]
#[template(path = "work_profile.html")]
struct ProfilePage {
    chrome: Chrome,
    errors: Errors,
    notice: Option<&'static str>,
    r: crate::workspace::ResourceProfile,
    skills: String,
    available_from: String,
}

async fn profile_page(
    deps: &AppState,
    visit: &Visit,
    caller: &Caller,
    status: StatusCode,
    errors: Errors,
    done: Option<&str>,
) -> Response {
    let (org, user) = people_path(caller);
    match timesheets::get_resource(deps, caller, org, user).await {
        Ok(r) => page(
            status,
            &ProfilePage {
                chrome: Chrome::of(visit),
                errors,
                notice: done_message(done),
                skills: r.skills.join(", "),
                available_from: r.available_from.map(|d| d.to_string()).unwrap_or_default(),
                r,
            },
        ),
        Err(e) => fail(visit, &deps.settings, e),
    }
}

/// `GET /work/profile`: the signed-in person's resource profile.
pub async fn profile(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    Query(q): Query<DoneOnly>,
) -> Response {
    profile_page(
        &deps,
        &visit,
        &caller,
        StatusCode::OK,
        Errors::none(),
        q.done.as_deref(),
    )
    .await
}

#[derive(Debug, Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    version: u64,
    #[serde(default)]
    skills: String,
    #[serde(default)]
    hours_per_week: String,
    #[serde(default)]
    available_from: String,
}

/// `POST /work/profile`: skills and availability (the supervisor and
/// schedulable stay as the platform set them).
pub async fn save_profile(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    Form(f): Form<ProfileForm>,
) -> Response {
    let (org, user) = people_path(&caller);
    let result = async {
        let current = timesheets::get_resource(&deps, &caller, org, user).await?;
        timesheets::put_resource(
            &deps,
            &caller,
            org,
            user,
            EditResource {
                version: f.version,
                skills: f
                    .skills
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect(),
                hours_per_week: f
                    .hours_per_week
                    .trim()
                    .parse()
                    .map_err(|_| AppError::invalid("Enter the hours a week you can give, 0 to 80."))?,
                available_from: match f.available_from.trim() {
                    "" => None,
                    d => Some(date(d, "the day you are available from")?),
                },
                supervisor: current.supervisor,
                schedulable: current.schedulable,
            },
        )
        .await
    }
    .await;
    match result {
        Ok(_) => Redirect::to("/work/profile?done=saved").into_response(),
        Err(e) => match refused(&visit, &deps, e) {
            Ok(errors) => profile_page(&deps, &visit, &caller, StatusCode::BAD_REQUEST, errors, None).await,
            Err(r) => r,
        },
    }
}
