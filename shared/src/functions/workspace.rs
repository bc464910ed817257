//! The `workspace` function: seed 001's co-delivery workspace. Projects,
//! their participants and access levels, each phase's milestones, tasks and
//! RAID log, status reports and health; people's resource profiles,
//! timesheets and expenses, and the supervisor's queue.
//! One handler per route, each calling one operation.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use chrono::NaiveDate;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::domain::{EntryId, ExpenseId, ItemId, OrgId, ProjectId, UserId};
use crate::error::{AppError, Problem};
use crate::http::principal::Caller;
use crate::http::{JsonBody, Path};
use crate::ops::accounts::PageQuery;
use crate::ops::activity::{ActivityFilter, ActivityPage};
use crate::ops::timesheets::{
    self, Decision, EditResource, ExpenseInput, ExpensePage, NewEntry, Submit, TimesheetPage, WaitingPage, WeekView,
};
use crate::ops::workspace::{
    self, AssignMember, EditProject, ItemPage, MemberPage, MilestoneUpdate, NewProject, NewReport, ProjectPage,
    ProjectView, RaidUpdate, ReportPage, SetHealth, TaskUpdate,
};
use crate::workspace::{
    Expense, Member, MilestoneFields, PhaseItem, RaidFields, ResourceProfile, StatusReport, TaskFields, Timesheet,
    WorkspaceConfig,
};

/// What this function uses besides the table: mail (a partner user's
/// email re-confirmation, which any request may ask for).
pub struct Uses;

impl crate::app::Uses for Uses {
    const USING: crate::app::Using = crate::app::Using {
        identity: false,
        mail: true,
        secrets: false,
        outbound: false,
        signer: false,
    };
}

/// The function's routes, with their OpenAPI descriptions.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_config, put_config))
        .routes(routes!(create_project, list_projects))
        .routes(routes!(get_project, edit_project))
        .routes(routes!(set_health))
        .routes(routes!(list_members))
        .routes(routes!(assign_member, remove_member))
        .routes(routes!(list_milestones, create_milestones))
        .routes(routes!(update_milestones))
        .routes(routes!(list_tasks, create_tasks))
        .routes(routes!(update_tasks))
        .routes(routes!(list_raid, create_raid))
        .routes(routes!(update_raid))
        .routes(routes!(list_reports, file_report))
        .routes(routes!(project_activity))
        .routes(routes!(get_resource, put_resource))
        .routes(routes!(list_weeks))
        .routes(routes!(get_week))
        .routes(routes!(add_entry))
        .routes(routes!(delete_entry))
        .routes(routes!(submit_week))
        .routes(routes!(decide_week))
        .routes(routes!(list_expenses, claim_expense))
        .routes(routes!(change_expense))
        .routes(routes!(decide_expense))
        .routes(routes!(approvals))
}

/// The router the Lambda runs.
pub fn router(state: AppState) -> axum::Router {
    crate::http::function(routes(), state)
}

/// The workspace's access levels, Default External Project Access Level
/// (globally and per project role) and field rules (platform admins).
/// Before the platform saves them, the defaults (version 0): Viewer,
/// Contributor, Delivery Lead; partners get Contributor; budget and internal
/// notes hidden from partners, customer sentiment read-only to them.
#[utoipa::path(get, path = "/workspace", tag = "workspace",
    security(("bearer" = [])),
    responses(
        (status = 200, body = WorkspaceConfig),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn get_config(State(deps): State<AppState>, caller: Caller) -> Result<Json<WorkspaceConfig>, AppError> {
    Ok(Json(workspace::get_config(&deps, &caller).await?))
}

/// Save them, with the version read (platform admins). An "Update
/// Project" event in the platform's log.
#[utoipa::path(put, path = "/workspace", tag = "workspace",
    request_body = WorkspaceConfig,
    security(("bearer" = [])),
    responses(
        (status = 200, body = WorkspaceConfig),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Changed since read", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn put_config(
    State(deps): State<AppState>,
    caller: Caller,
    JsonBody(input): JsonBody<WorkspaceConfig>,
) -> Result<Json<WorkspaceConfig>, AppError> {
    Ok(Json(workspace::put_config(&deps, &caller, input).await?))
}

/// Start a project for a customer (platform admins), with its phases.
/// Its events are chained in its own log and in the actor's organisation's.
#[utoipa::path(post, path = "/projects", tag = "workspace",
    request_body = NewProject,
    security(("bearer" = [])),
    responses(
        (status = 201, body = ProjectView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn create_project(
    State(deps): State<AppState>,
    caller: Caller,
    JsonBody(input): JsonBody<NewProject>,
) -> Result<(StatusCode, Json<ProjectView>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(workspace::create(&deps, &caller, input).await?),
    ))
}

/// Platform admins: every project, by name, with time to value direct
/// against partner-led over the page. Anyone else: the projects they take
/// part in ("My projects"), newest first, with their phases and levels.
#[utoipa::path(get, path = "/projects", tag = "workspace",
    params(PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ProjectPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list_projects(
    State(deps): State<AppState>,
    caller: Caller,
    Query(q): Query<PageQuery>,
) -> Result<Json<ProjectPage>, AppError> {
    Ok(Json(workspace::list(&deps, &caller, q).await?))
}

/// One project as the caller may see it: partners see only the phases
/// they are assigned to, and the fields hidden from them are absent.
#[utoipa::path(get, path = "/projects/{id}", tag = "workspace",
    params(("id" = String, Path, description = "The project")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ProjectView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such project, or not one the caller takes part in", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn get_project(
    State(deps): State<AppState>,
    caller: Caller,
    Path(id): Path<ProjectId>,
) -> Result<Json<ProjectView>, AppError> {
    Ok(Json(workspace::get(&deps, &caller, id).await?))
}

/// Change a project's name, phases (renamed or added), start, budget and
/// internal notes, with the version read (platform admins).
#[utoipa::path(put, path = "/projects/{id}", tag = "workspace",
    params(("id" = String, Path, description = "The project")),
    request_body = EditProject,
    security(("bearer" = [])),
    responses(
        (status = 200, body = ProjectView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Changed since read", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn edit_project(
    State(deps): State<AppState>,
    caller: Caller,
    Path(id): Path<ProjectId>,
    JsonBody(input): JsonBody<EditProject>,
) -> Result<Json<ProjectView>, AppError> {
    Ok(Json(workspace::edit(&deps, &caller, id, input).await?))
}

/// Set the project's health (green, amber, red) with a reason: those whose
/// level includes `health` (Delivery Lead), and the platform.
#[utoipa::path(put, path = "/projects/{id}/health", tag = "workspace",
    params(("id" = String, Path, description = "The project")),
    request_body = SetHealth,
    security(("bearer" = [])),
    responses(
        (status = 200, body = ProjectView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller's level does not include health", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Changed since read", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn set_health(
    State(deps): State<AppState>,
    caller: Caller,
    Path(id): Path<ProjectId>,
    JsonBody(input): JsonBody<SetHealth>,
) -> Result<Json<ProjectView>, AppError> {
    Ok(Json(workspace::set_health(&deps, &caller, id, input).await?))
}

/// The project's participants: their phases, roles and levels.
#[utoipa::path(get, path = "/projects/{id}/members", tag = "workspace",
    params(("id" = String, Path, description = "The project"), PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = MemberPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list_members(
    State(deps): State<AppState>,
    caller: Caller,
    Path(id): Path<ProjectId>,
    Query(q): Query<PageQuery>,
) -> Result<Json<MemberPage>, AppError> {
    Ok(Json(workspace::list_members(&deps, &caller, id, q).await?))
}

/// Add a person to the project or change their phases (platform admins).
/// A level left out is the role's default, else the Default External
/// Project Access Level. A partner user needs a licence: their partner's
/// seats must be counted (409 otherwise).
#[utoipa::path(put, path = "/projects/{id}/members/{userId}", tag = "workspace",
    params(("id" = String, Path, description = "The project"), ("userId" = String, Path, description = "The person")),
    request_body = AssignMember,
    security(("bearer" = [])),
    responses(
        (status = 200, body = Member),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No licence, changed since read, or already on the project", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn assign_member(
    State(deps): State<AppState>,
    caller: Caller,
    Path((id, user)): Path<(ProjectId, UserId)>,
    JsonBody(input): JsonBody<AssignMember>,
) -> Result<Json<Member>, AppError> {
    Ok(Json(workspace::assign(&deps, &caller, id, user, input).await?))
}

/// Take a person off the project (platform admins).
#[utoipa::path(delete, path = "/projects/{id}/members/{userId}", tag = "workspace",
    params(("id" = String, Path, description = "The project"), ("userId" = String, Path, description = "The person")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Done"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn remove_member(
    State(deps): State<AppState>,
    caller: Caller,
    Path((id, user)): Path<(ProjectId, UserId)>,
) -> Result<StatusCode, AppError> {
    workspace::remove_member(&deps, &caller, id, user).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One phase's milestones, oldest first: for those assigned to the phase.
/// Milestones: planned and actual dates; one that marks value gives the project its time to value.
#[utoipa::path(get, path = "/projects/{id}/phases/{phase}/milestones", tag = "workspace",
    params(("id" = String, Path, description = "The project"), ("phase" = u8, Path, description = "The phase's number, from 1"), PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ItemPage<MilestoneFields>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not assigned to this phase", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list_milestones(
    State(deps): State<AppState>,
    caller: Caller,
    Path((id, phase)): Path<(ProjectId, u8)>,
    Query(q): Query<PageQuery>,
) -> Result<Json<ItemPage<MilestoneFields>>, AppError> {
    Ok(Json(
        workspace::list_items::<MilestoneFields>(&deps, &caller, id, phase, q).await?,
    ))
}

/// Add one to a phase: those whose level there includes `milestones`, and the platform.
#[utoipa::path(post, path = "/projects/{id}/phases/{phase}/milestones", tag = "workspace",
    params(("id" = String, Path, description = "The project"), ("phase" = u8, Path, description = "The phase's number, from 1")),
    request_body = MilestoneFields,
    security(("bearer" = [])),
    responses(
        (status = 201, body = PhaseItem<MilestoneFields>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller's level, or a field rule, does not allow it", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn create_milestones(
    State(deps): State<AppState>,
    caller: Caller,
    Path((id, phase)): Path<(ProjectId, u8)>,
    JsonBody(input): JsonBody<MilestoneFields>,
) -> Result<(StatusCode, Json<PhaseItem<MilestoneFields>>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(workspace::create_item(&deps, &caller, id, phase, input).await?),
    ))
}

/// Change one, with the version read. A field hidden from the caller keeps
/// its value; one read-only to them must not change (403).
#[utoipa::path(put, path = "/projects/{id}/phases/{phase}/milestones/{itemId}", tag = "workspace",
    params(("id" = String, Path, description = "The project"), ("phase" = u8, Path, description = "The phase's number, from 1"), ("itemId" = String, Path, description = "The item")),
    request_body = MilestoneUpdate,
    security(("bearer" = [])),
    responses(
        (status = 200, body = PhaseItem<MilestoneFields>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Changed since read", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn update_milestones(
    State(deps): State<AppState>,
    caller: Caller,
    Path((id, phase, item)): Path<(ProjectId, u8, ItemId)>,
    JsonBody(MilestoneUpdate(input)): JsonBody<MilestoneUpdate>,
) -> Result<Json<PhaseItem<MilestoneFields>>, AppError> {
    Ok(Json(
        workspace::update_item(&deps, &caller, id, phase, item, input).await?,
    ))
}

/// One phase's tasks, oldest first: for those assigned to the phase.
/// Tasks: assignee, status, estimate (subject to the field rules).
#[utoipa::path(get, path = "/projects/{id}/phases/{phase}/tasks", tag = "workspace",
    params(("id" = String, Path, description = "The project"), ("phase" = u8, Path, description = "The phase's number, from 1"), PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ItemPage<TaskFields>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not assigned to this phase", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list_tasks(
    State(deps): State<AppState>,
    caller: Caller,
    Path((id, phase)): Path<(ProjectId, u8)>,
    Query(q): Query<PageQuery>,
) -> Result<Json<ItemPage<TaskFields>>, AppError> {
    Ok(Json(
        workspace::list_items::<TaskFields>(&deps, &caller, id, phase, q).await?,
    ))
}

/// Add one to a phase: those whose level there includes `tasks`, and the platform.
#[utoipa::path(post, path = "/projects/{id}/phases/{phase}/tasks", tag = "workspace",
    params(("id" = String, Path, description = "The project"), ("phase" = u8, Path, description = "The phase's number, from 1")),
    request_body = TaskFields,
    security(("bearer" = [])),
    responses(
        (status = 201, body = PhaseItem<TaskFields>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller's level, or a field rule, does not allow it", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn create_tasks(
    State(deps): State<AppState>,
    caller: Caller,
    Path((id, phase)): Path<(ProjectId, u8)>,
    JsonBody(input): JsonBody<TaskFields>,
) -> Result<(StatusCode, Json<PhaseItem<TaskFields>>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(workspace::create_item(&deps, &caller, id, phase, input).await?),
    ))
}

/// Change one, with the version read. A field hidden from the caller keeps
/// its value; one read-only to them must not change (403).
#[utoipa::path(put, path = "/projects/{id}/phases/{phase}/tasks/{itemId}", tag = "workspace",
    params(("id" = String, Path, description = "The project"), ("phase" = u8, Path, description = "The phase's number, from 1"), ("itemId" = String, Path, description = "The item")),
    request_body = TaskUpdate,
    security(("bearer" = [])),
    responses(
        (status = 200, body = PhaseItem<TaskFields>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Changed since read", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn update_tasks(
    State(deps): State<AppState>,
    caller: Caller,
    Path((id, phase, item)): Path<(ProjectId, u8, ItemId)>,
    JsonBody(TaskUpdate(input)): JsonBody<TaskUpdate>,
) -> Result<Json<PhaseItem<TaskFields>>, AppError> {
    Ok(Json(
        workspace::update_item(&deps, &caller, id, phase, item, input).await?,
    ))
}

/// One phase's raid, oldest first: for those assigned to the phase.
/// The RAID log: risks, assumptions, issues and decisions, with owner, severity and status.
#[utoipa::path(get, path = "/projects/{id}/phases/{phase}/raid", tag = "workspace",
    params(("id" = String, Path, description = "The project"), ("phase" = u8, Path, description = "The phase's number, from 1"), PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ItemPage<RaidFields>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not assigned to this phase", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list_raid(
    State(deps): State<AppState>,
    caller: Caller,
    Path((id, phase)): Path<(ProjectId, u8)>,
    Query(q): Query<PageQuery>,
) -> Result<Json<ItemPage<RaidFields>>, AppError> {
    Ok(Json(
        workspace::list_items::<RaidFields>(&deps, &caller, id, phase, q).await?,
    ))
}

/// Add one to a phase: those whose level there includes `raid`, and the platform.
#[utoipa::path(post, path = "/projects/{id}/phases/{phase}/raid", tag = "workspace",
    params(("id" = String, Path, description = "The project"), ("phase" = u8, Path, description = "The phase's number, from 1")),
    request_body = RaidFields,
    security(("bearer" = [])),
    responses(
        (status = 201, body = PhaseItem<RaidFields>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller's level, or a field rule, does not allow it", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn create_raid(
    State(deps): State<AppState>,
    caller: Caller,
    Path((id, phase)): Path<(ProjectId, u8)>,
    JsonBody(input): JsonBody<RaidFields>,
) -> Result<(StatusCode, Json<PhaseItem<RaidFields>>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(workspace::create_item(&deps, &caller, id, phase, input).await?),
    ))
}

/// Change one, with the version read. A field hidden from the caller keeps
/// its value; one read-only to them must not change (403).
#[utoipa::path(put, path = "/projects/{id}/phases/{phase}/raid/{itemId}", tag = "workspace",
    params(("id" = String, Path, description = "The project"), ("phase" = u8, Path, description = "The phase's number, from 1"), ("itemId" = String, Path, description = "The item")),
    request_body = RaidUpdate,
    security(("bearer" = [])),
    responses(
        (status = 200, body = PhaseItem<RaidFields>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Changed since read", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn update_raid(
    State(deps): State<AppState>,
    caller: Caller,
    Path((id, phase, item)): Path<(ProjectId, u8, ItemId)>,
    JsonBody(RaidUpdate(input)): JsonBody<RaidUpdate>,
) -> Result<Json<PhaseItem<RaidFields>>, AppError> {
    Ok(Json(
        workspace::update_item(&deps, &caller, id, phase, item, input).await?,
    ))
}

/// The project's status reports, newest period first.
#[utoipa::path(get, path = "/projects/{id}/reports", tag = "workspace",
    params(("id" = String, Path, description = "The project"), PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ReportPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list_reports(
    State(deps): State<AppState>,
    caller: Caller,
    Path(id): Path<ProjectId>,
    Query(q): Query<PageQuery>,
) -> Result<Json<ReportPage>, AppError> {
    Ok(Json(workspace::list_reports(&deps, &caller, id, q).await?))
}

/// File a status report: period, summary, health and customer sentiment
/// (read-only to partners by default). Those whose level includes `reports`.
#[utoipa::path(post, path = "/projects/{id}/reports", tag = "workspace",
    params(("id" = String, Path, description = "The project")),
    request_body = NewReport,
    security(("bearer" = [])),
    responses(
        (status = 201, body = StatusReport),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn file_report(
    State(deps): State<AppState>,
    caller: Caller,
    Path(id): Path<ProjectId>,
    JsonBody(input): JsonBody<NewReport>,
) -> Result<(StatusCode, Json<StatusReport>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(workspace::file_report(&deps, &caller, id, input).await?),
    ))
}

/// A person's resource profile: skills, availability, supervisor,
/// schedulable (themself, their supervisor, their partner's managers, the
/// platform). Version 0 until first saved.
#[utoipa::path(get, path = "/organizations/{orgId}/users/{userId}/resource", tag = "workspace",
    params(("orgId" = String, Path, description = "The person's organisation"), ("userId" = String, Path, description = "The person")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ResourceProfile),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn get_resource(
    State(deps): State<AppState>,
    caller: Caller,
    Path((org, user)): Path<(OrgId, UserId)>,
) -> Result<Json<ResourceProfile>, AppError> {
    Ok(Json(timesheets::get_resource(&deps, &caller, org, user).await?))
}

/// Save it with the version read: the person (or their partner's
/// managers) keep skills and availability current; only the platform sets
/// the supervisor (a platform user) and schedulable.
#[utoipa::path(put, path = "/organizations/{orgId}/users/{userId}/resource", tag = "workspace",
    params(("orgId" = String, Path, description = "The person's organisation"), ("userId" = String, Path, description = "The person")),
    request_body = EditResource,
    security(("bearer" = [])),
    responses(
        (status = 200, body = ResourceProfile),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Changed since read", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn put_resource(
    State(deps): State<AppState>,
    caller: Caller,
    Path((org, user)): Path<(OrgId, UserId)>,
    JsonBody(input): JsonBody<EditResource>,
) -> Result<Json<ResourceProfile>, AppError> {
    Ok(Json(timesheets::put_resource(&deps, &caller, org, user, input).await?))
}

/// A person's timesheets, newest week first.
#[utoipa::path(get, path = "/organizations/{orgId}/users/{userId}/timesheets", tag = "workspace",
    params(("orgId" = String, Path, description = "The person's organisation"), ("userId" = String, Path, description = "The person"), PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = TimesheetPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list_weeks(
    State(deps): State<AppState>,
    caller: Caller,
    Path((org, user)): Path<(OrgId, UserId)>,
    Query(q): Query<PageQuery>,
) -> Result<Json<TimesheetPage>, AppError> {
    Ok(Json(timesheets::list_weeks(&deps, &caller, org, user, q).await?))
}

/// One week: the timesheet (version 0 before its first entry) and its entries.
#[utoipa::path(get, path = "/organizations/{orgId}/users/{userId}/timesheets/{week}", tag = "workspace",
    params(("orgId" = String, Path, description = "The person's organisation"), ("userId" = String, Path, description = "The person"), ("week" = String, Path, description = "The week's Monday, e.g. 2026-11-30")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = WeekView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn get_week(
    State(deps): State<AppState>,
    caller: Caller,
    Path((org, user, week)): Path<(OrgId, UserId, NaiveDate)>,
) -> Result<Json<WeekView>, AppError> {
    Ok(Json(timesheets::get_week(&deps, &caller, org, user, week).await?))
}

/// Log time on your own timesheet against a task of a phase where your
/// level includes `time` (platform users: any phase of any project).
/// Changing a submitted week withdraws it to draft; an approved week is
/// locked (409). The answer is the timesheet and, in `entries`, the entry
/// just added.
#[utoipa::path(post, path = "/organizations/{orgId}/users/{userId}/timesheets/{week}/entries", tag = "workspace",
    params(("orgId" = String, Path, description = "The person's organisation"), ("userId" = String, Path, description = "The person"), ("week" = String, Path, description = "The week's Monday, e.g. 2026-11-30")),
    request_body = NewEntry,
    security(("bearer" = [])),
    responses(
        (status = 201, body = WeekView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The week is approved (locked) or full", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn add_entry(
    State(deps): State<AppState>,
    caller: Caller,
    Path((org, user, week)): Path<(OrgId, UserId, NaiveDate)>,
    JsonBody(input): JsonBody<NewEntry>,
) -> Result<(StatusCode, Json<WeekView>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(timesheets::add_entry(&deps, &caller, org, user, week, input).await?),
    ))
}

/// Delete an entry of your own week (not once approved).
#[utoipa::path(delete, path = "/organizations/{orgId}/users/{userId}/timesheets/{week}/entries/{entryId}", tag = "workspace",
    params(("orgId" = String, Path, description = "The person's organisation"), ("userId" = String, Path, description = "The person"), ("week" = String, Path, description = "The week's Monday, e.g. 2026-11-30"), ("entryId" = String, Path, description = "The entry")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Timesheet),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The week is approved (locked)", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn delete_entry(
    State(deps): State<AppState>,
    caller: Caller,
    Path((org, user, week, entry)): Path<(OrgId, UserId, NaiveDate, EntryId)>,
) -> Result<Json<Timesheet>, AppError> {
    Ok(Json(
        timesheets::delete_entry(&deps, &caller, org, user, week, entry).await?,
    ))
}

/// Submit your week (draft or rejected) to your supervisor.
#[utoipa::path(post, path = "/organizations/{orgId}/users/{userId}/timesheets/{week}/submit", tag = "workspace",
    params(("orgId" = String, Path, description = "The person's organisation"), ("userId" = String, Path, description = "The person"), ("week" = String, Path, description = "The week's Monday, e.g. 2026-11-30")),
    request_body = Submit,
    security(("bearer" = [])),
    responses(
        (status = 200, body = Timesheet),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Changed since read, not open, empty, or no supervisor", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn submit_week(
    State(deps): State<AppState>,
    caller: Caller,
    Path((org, user, week)): Path<(OrgId, UserId, NaiveDate)>,
    JsonBody(input): JsonBody<Submit>,
) -> Result<Json<Timesheet>, AppError> {
    Ok(Json(timesheets::submit(&deps, &caller, org, user, week, input).await?))
}

/// Approve (locked) or reject with a reason: only the supervisor the week
/// was submitted to. Against a concurrent change by its owner, exactly one wins.
#[utoipa::path(post, path = "/organizations/{orgId}/users/{userId}/timesheets/{week}/decision", tag = "workspace",
    params(("orgId" = String, Path, description = "The person's organisation"), ("userId" = String, Path, description = "The person"), ("week" = String, Path, description = "The week's Monday, e.g. 2026-11-30")),
    request_body = Decision,
    security(("bearer" = [])),
    responses(
        (status = 200, body = Timesheet),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Changed since read, or not submitted", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn decide_week(
    State(deps): State<AppState>,
    caller: Caller,
    Path((org, user, week)): Path<(OrgId, UserId, NaiveDate)>,
    JsonBody(input): JsonBody<Decision>,
) -> Result<Json<Timesheet>, AppError> {
    Ok(Json(timesheets::decide(&deps, &caller, org, user, week, input).await?))
}

/// A person's expenses, newest first.
#[utoipa::path(get, path = "/organizations/{orgId}/users/{userId}/expenses", tag = "workspace",
    params(("orgId" = String, Path, description = "The person's organisation"), ("userId" = String, Path, description = "The person"), PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ExpensePage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list_expenses(
    State(deps): State<AppState>,
    caller: Caller,
    Path((org, user)): Path<(OrgId, UserId)>,
    Query(q): Query<PageQuery>,
) -> Result<Json<ExpensePage>, AppError> {
    Ok(Json(timesheets::list_expenses(&deps, &caller, org, user, q).await?))
}

/// Claim an expense (your own): amount (a decimal string) and currency,
/// category, receipt details; submitted at once to your supervisor.
#[utoipa::path(post, path = "/organizations/{orgId}/users/{userId}/expenses", tag = "workspace",
    params(("orgId" = String, Path, description = "The person's organisation"), ("userId" = String, Path, description = "The person")),
    request_body = ExpenseInput,
    security(("bearer" = [])),
    responses(
        (status = 201, body = Expense),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No supervisor yet", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn claim_expense(
    State(deps): State<AppState>,
    caller: Caller,
    Path((org, user)): Path<(OrgId, UserId)>,
    JsonBody(input): JsonBody<ExpenseInput>,
) -> Result<(StatusCode, Json<Expense>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(timesheets::claim(&deps, &caller, org, user, None, input).await?),
    ))
}

/// Change a submitted or rejected expense of yours, with the version read:
/// it is submitted again. Approved ones are locked (409).
#[utoipa::path(put, path = "/organizations/{orgId}/users/{userId}/expenses/{expenseId}", tag = "workspace",
    params(("orgId" = String, Path, description = "The person's organisation"), ("userId" = String, Path, description = "The person"), ("expenseId" = String, Path, description = "The expense")),
    request_body = ExpenseInput,
    security(("bearer" = [])),
    responses(
        (status = 200, body = Expense),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Changed since read, or approved", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn change_expense(
    State(deps): State<AppState>,
    caller: Caller,
    Path((org, user, expense)): Path<(OrgId, UserId, ExpenseId)>,
    JsonBody(input): JsonBody<ExpenseInput>,
) -> Result<Json<Expense>, AppError> {
    Ok(Json(
        timesheets::claim(&deps, &caller, org, user, Some(expense), input).await?,
    ))
}

/// Approve (locked) or reject with a reason: only the supervisor it was submitted to.
#[utoipa::path(post, path = "/organizations/{orgId}/users/{userId}/expenses/{expenseId}/decision", tag = "workspace",
    params(("orgId" = String, Path, description = "The person's organisation"), ("userId" = String, Path, description = "The person"), ("expenseId" = String, Path, description = "The expense")),
    request_body = Decision,
    security(("bearer" = [])),
    responses(
        (status = 200, body = Expense),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Changed since read, or not submitted", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn decide_expense(
    State(deps): State<AppState>,
    caller: Caller,
    Path((org, user, expense)): Path<(OrgId, UserId, ExpenseId)>,
    JsonBody(input): JsonBody<Decision>,
) -> Result<Json<Expense>, AppError> {
    Ok(Json(
        timesheets::decide_expense(&deps, &caller, org, user, expense, input).await?,
    ))
}

/// The timesheets and expenses waiting for your decision, oldest first.
#[utoipa::path(get, path = "/approvals", tag = "workspace",
    params(PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = WaitingPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn approvals(
    State(deps): State<AppState>,
    caller: Caller,
    Query(q): Query<PageQuery>,
) -> Result<Json<WaitingPage>, AppError> {
    Ok(Json(timesheets::approvals(&deps, &caller, q).await?))
}

/// The project's own log, newest first, filtered and paged (platform
/// admins): every change to the project, its participants, delivery items
/// and reports. Each change is also in the actor's organisation's log.
#[utoipa::path(get, path = "/projects/{id}/activity", tag = "workspace",
    params(("id" = String, Path, description = "The project"), ActivityFilter),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page", body = ActivityPage),
        (status = 400, description = "Invalid filter or cursor", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn project_activity(
    State(deps): State<AppState>,
    caller: Caller,
    Path(id): Path<ProjectId>,
    Query(f): Query<ActivityFilter>,
) -> Result<Json<ActivityPage>, AppError> {
    Ok(Json(crate::ops::activity::list_project(&deps, &caller, id, f).await?))
}
