//! Routes of the `invite` function: invitations, user requests, direct adds,
//! and accepting a customer invitation.

use crate::accounts::{InvitationView, UserRequest};
use crate::app::AppState;
use crate::domain::UserId;
use crate::domain::{InvitationId, OrgId, RequestId};
use crate::error::{AppError, Problem};
use crate::http::JsonBody;
use crate::http::Path;
use crate::http::principal::{Caller, SourceIp};
use crate::ops::accounts::{
    self, AcceptCustomerInvitation, CustomerCreated, Decision, InvitationPage, InvitationSent, InviteCustomer,
    InvitePartner, NewUser, PageQuery, Resend, UserAdded, UserPage, UserRequestPage,
};
use crate::ops::inactivity::{self, Reinstated, RestoreRequest, RestoreRequestPage, SweepReport};
use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// What this function uses besides the table (invitations and links are emailed; reinstating a user enables its identity); its Lambda builds only that.
pub struct Uses;

impl crate::app::Uses for Uses {
    const USING: crate::app::Using = crate::app::Using {
        identity: true,
        mail: true,
        secrets: false,
        outbound: false,
        signer: false,
    };
}

/// The function's routes, with their OpenAPI descriptions: the one place a route is added.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(invite_partner))
        .routes(routes!(invite_customer))
        .routes(routes!(list_invitations))
        .routes(routes!(revoke_invitation))
        .routes(routes!(resend_invitation))
        .routes(routes!(accept_customer_invitation))
        .routes(routes!(request_user, list_user_requests))
        .routes(routes!(decide_user_request))
        .routes(routes!(add_user, list_users))
        .routes(routes!(remove_user))
        .routes(routes!(set_restrictions))
        .routes(routes!(ask_restore_for))
        .routes(routes!(reinstate))
        .routes(routes!(list_restore_requests))
        .routes(routes!(run_sweep))
        .routes(routes!(list_staff, invite_staff))
        .routes(routes!(set_staff_role, remove_staff))
}

/// The router the Lambda runs.
pub fn router(state: AppState) -> axum::Router {
    crate::http::function(routes(), state)
}

/// Invite a new partner organisation's first Partner Manager (platform admins).
#[utoipa::path(post, path = "/invitations/partner", tag = "invitations", request_body = InvitePartner, security(("bearer" = [])),
    responses(
        (status = 201, body = InvitationSent),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Email or organisation name taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn invite_partner(
    State(deps): State<AppState>,
    caller: Caller,
    JsonBody(input): JsonBody<InvitePartner>,
) -> Result<(StatusCode, Json<InvitationSent>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(accounts::invite_partner(&deps, &caller, input).await?),
    ))
}

/// Invite a customer to create its organisation, linked to your partner (Partner Managers).
#[utoipa::path(post, path = "/invitations/customer", tag = "invitations", request_body = InviteCustomer, security(("bearer" = [])),
    responses(
        (status = 201, body = InvitationSent),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn invite_customer(
    State(deps): State<AppState>,
    caller: Caller,
    JsonBody(input): JsonBody<InviteCustomer>,
) -> Result<(StatusCode, Json<InvitationSent>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(accounts::invite_customer(&deps, &caller, input).await?),
    ))
}

/// An organisation's invitations, newest first, with their state (pending, accepted, expired, revoked).
#[utoipa::path(get, path = "/organizations/{id}/invitations", tag = "invitations", params(("id" = String, Path), PageQuery), security(("bearer" = [])),
    responses(
        (status = 200, body = InvitationPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_invitations(
    State(deps): State<AppState>,
    caller: Caller,
    Path(id): Path<OrgId>,
    Query(q): Query<PageQuery>,
) -> Result<Json<InvitationPage>, AppError> {
    Ok(Json(accounts::list_invitations(&deps, &caller, id, q).await?))
}

/// Revoke an invitation; its link stops working.
#[utoipa::path(post, path = "/invitations/{id}/revoke", tag = "invitations", params(("id" = String, Path)), security(("bearer" = [])),
    responses(
        (status = 200, body = InvitationView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    ))]
async fn revoke_invitation(
    State(deps): State<AppState>,
    caller: Caller,
    Path(id): Path<InvitationId>,
) -> Result<Json<InvitationView>, AppError> {
    Ok(Json(accounts::revoke_invitation(&deps, &caller, id).await?))
}

/// Send an invitation again with a new link; the old link stops working.
#[utoipa::path(post, path = "/invitations/{id}/resend", tag = "invitations", params(("id" = String, Path)), request_body = Resend, security(("bearer" = [])),
    responses(
        (status = 200, body = InvitationSent),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn resend_invitation(
    State(deps): State<AppState>,
    caller: Caller,
    Path(id): Path<InvitationId>,
    JsonBody(input): JsonBody<Resend>,
) -> Result<Json<InvitationSent>, AppError> {
    Ok(Json(accounts::resend_invitation(&deps, &caller, id, input).await?))
}

/// Accept a partner's invitation: create your customer organisation and its first Account Owner (no sign-in; the emailed token).
#[utoipa::path(post, path = "/invitations/accept", tag = "invitations", request_body = AcceptCustomerInvitation,
    responses(
        (status = 201, body = CustomerCreated),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown or replaced link", body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "Expired or used link", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn accept_customer_invitation(
    State(deps): State<AppState>,
    SourceIp(ip): SourceIp,
    JsonBody(input): JsonBody<AcceptCustomerInvitation>,
) -> Result<(StatusCode, Json<CustomerCreated>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(accounts::accept_customer_invitation(&deps, &ip, input).await?),
    ))
}

/// Ask the platform to add a user to your partner (Partner Managers).
#[utoipa::path(post, path = "/user-requests", tag = "users", request_body = NewUser, security(("bearer" = [])),
    responses(
        (status = 201, body = UserRequest),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn request_user(
    State(deps): State<AppState>,
    caller: Caller,
    JsonBody(input): JsonBody<NewUser>,
) -> Result<(StatusCode, Json<UserRequest>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(accounts::request_user(&deps, &caller, input).await?),
    ))
}

/// User requests: the pending queue (platform admins) or your organisation's requests (Partner Managers).
#[utoipa::path(get, path = "/user-requests", tag = "users", params(PageQuery), security(("bearer" = [])),
    responses(
        (status = 200, body = UserRequestPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_user_requests(
    State(deps): State<AppState>,
    caller: Caller,
    Query(q): Query<PageQuery>,
) -> Result<Json<UserRequestPage>, AppError> {
    Ok(Json(accounts::list_user_requests(&deps, &caller, q).await?))
}

/// Approve (creates the user, sends the Password Setup email) or reject a user request (platform admins).
#[utoipa::path(post, path = "/user-requests/{id}/decision", tag = "users", params(("id" = String, Path)), request_body = Decision, security(("bearer" = [])),
    responses(
        (status = 200, body = UserRequest),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn decide_user_request(
    State(deps): State<AppState>,
    caller: Caller,
    Path(id): Path<RequestId>,
    JsonBody(d): JsonBody<Decision>,
) -> Result<Json<UserRequest>, AppError> {
    Ok(Json(accounts::decide_user_request(&deps, &caller, id, d).await?))
}

/// An organisation's users, by email, with their role and state (platform admins; a Partner Manager or customer Account Owner for their own).
#[utoipa::path(get, path = "/organizations/{id}/users", tag = "users", params(("id" = String, Path), PageQuery), security(("bearer" = [])),
    responses(
        (status = 200, body = UserPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_users(
    State(deps): State<AppState>,
    caller: Caller,
    Path(id): Path<OrgId>,
    Query(q): Query<PageQuery>,
) -> Result<Json<UserPage>, AppError> {
    Ok(Json(accounts::list_users(&deps, &caller, id, q).await?))
}

/// Add a user to an organisation directly and send the Password Setup email (platform admins; manual setup).
#[utoipa::path(post, path = "/organizations/{id}/users", tag = "users", params(("id" = String, Path)), request_body = NewUser, security(("bearer" = [])),
    responses(
        (status = 201, body = UserAdded),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn add_user(
    State(deps): State<AppState>,
    caller: Caller,
    Path(id): Path<OrgId>,
    JsonBody(input): JsonBody<NewUser>,
) -> Result<(StatusCode, Json<UserAdded>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(accounts::add_user(&deps, &caller, id, input).await?),
    ))
}

/// Remove a partner's user (platform admins; a Partner Manager where the
/// partner has User-Management): their seat is free again at once, their
/// requests stop, the identity provider disables them. An "Invite User" event.
#[utoipa::path(delete, path = "/organizations/{id}/users/{userId}", tag = "users",
    params(("id" = String, Path, description = "The partner"), ("userId" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The user as they were", body = crate::ops::accounts::UserView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Yourself, or changed meanwhile", body = Problem, content_type = "application/problem+json"),
    ))]
async fn remove_user(
    State(deps): State<AppState>,
    caller: Caller,
    Path((id, user)): Path<(OrgId, crate::domain::UserId)>,
) -> Result<Json<crate::ops::accounts::UserView>, AppError> {
    Ok(Json(accounts::remove_user(&deps, &caller, id, user).await?))
}

/// Restrict a user (platform admins; seed 002 Step 7): with Hide
/// Organization Settings, their organisation's settings pages and routes
/// answer 403 to them from their next request. An "Update User Profile" event.
#[utoipa::path(put, path = "/organizations/{id}/users/{userId}/restrictions", tag = "users",
    params(("id" = String, Path, description = "The user's organisation"), ("userId" = String, Path)),
    request_body = crate::ops::partner_portal::Restrictions,
    security(("bearer" = [])),
    responses(
        (status = 200, body = crate::ops::partner_portal::Restrictions),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn set_restrictions(
    State(deps): State<AppState>,
    caller: Caller,
    Path((id, user)): Path<(OrgId, crate::domain::UserId)>,
    JsonBody(input): JsonBody<crate::ops::partner_portal::Restrictions>,
) -> Result<Json<crate::ops::partner_portal::Restrictions>, AppError> {
    Ok(Json(
        crate::ops::partner_portal::set_restrictions(&deps, &caller, id, user, input).await?,
    ))
}

// Suspension for inactivity: restoring access, the sweep on demand.

/// Body of `POST /inactivity/sweep`: `{}`.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunSweep {}

/// Ask the platform to restore a suspended user of your partner (Partner Managers).
#[utoipa::path(post, path = "/organizations/{id}/users/{userId}/restore-request", tag = "users",
    params(("id" = String, Path, description = "The user's organisation"), ("userId" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 201, body = RestoreRequest),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not suspended", body = Problem, content_type = "application/problem+json"),
    ))]
async fn ask_restore_for(
    State(deps): State<AppState>,
    caller: Caller,
    Path((org, user)): Path<(OrgId, UserId)>,
) -> Result<(StatusCode, Json<RestoreRequest>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(inactivity::ask_restore_for(&deps, &caller, org, user).await?),
    ))
}

/// Reinstate a suspended user, approving their request if one waits (platform admins).
#[utoipa::path(post, path = "/organizations/{id}/users/{userId}/reinstate", tag = "users",
    params(("id" = String, Path, description = "The user's organisation"), ("userId" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Reinstated),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not suspended", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The identity provider did not answer; nothing changed", body = Problem, content_type = "application/problem+json"),
    ))]
async fn reinstate(
    State(deps): State<AppState>,
    caller: Caller,
    Path((org, user)): Path<(OrgId, UserId)>,
) -> Result<Json<Reinstated>, AppError> {
    Ok(Json(inactivity::reinstate(&deps, &caller, org, user).await?))
}

/// Requests to restore access, waiting for the platform, oldest first (platform admins).
#[utoipa::path(get, path = "/restore-requests", tag = "users", security(("bearer" = [])),
    responses(
        (status = 200, body = RestoreRequestPage),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_restore_requests(
    State(deps): State<AppState>,
    caller: Caller,
) -> Result<Json<RestoreRequestPage>, AppError> {
    Ok(Json(inactivity::list_restore_requests(&deps, &caller).await?))
}

/// Run the inactivity sweep now (platform admins; it also runs daily): warns, then suspends, inactive partner users.
#[utoipa::path(post, path = "/inactivity/sweep", tag = "users", request_body = RunSweep, security(("bearer" = [])),
    responses(
        (status = 200, body = SweepReport),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn run_sweep(
    State(deps): State<AppState>,
    caller: Caller,
    JsonBody(_): JsonBody<RunSweep>,
) -> Result<Json<SweepReport>, AppError> {
    Ok(Json(inactivity::run_sweep(&deps, &caller).await?))
}

/// Seed 003's staff list: a customer's users with their roles (its Account
/// Owner and System Administrators, the platform, and a Partner Manager
/// whose delegated roles there give `users.manage`).
#[utoipa::path(get, path = "/customers/{id}/staff", tag = "staff",
    params(("id" = String, Path, description = "Customer organisation id"), crate::ops::accounts::PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = crate::ops::accounts::UserPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_staff(
    State(deps): State<AppState>,
    caller: Caller,
    Path(id): Path<OrgId>,
    Query(q): Query<crate::ops::accounts::PageQuery>,
) -> Result<Json<crate::ops::accounts::UserPage>, AppError> {
    Ok(Json(crate::ops::staff::list(&deps, &caller, id, q).await?))
}

/// Invite a user to the customer as Account Owner, System Administrator
/// (`customer_admin`) or user: they get a link to set their password (60
/// minutes). A System Administrator may not invite an Account Owner. An
/// "Invite User" event.
#[utoipa::path(post, path = "/customers/{id}/staff", tag = "staff",
    params(("id" = String, Path, description = "Customer organisation id")),
    request_body = crate::ops::staff::InviteStaff,
    security(("bearer" = [])),
    responses(
        (status = 201, body = crate::ops::accounts::UserView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The email address has a user already", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn invite_staff(
    State(deps): State<AppState>,
    caller: Caller,
    Path(id): Path<OrgId>,
    JsonBody(input): JsonBody<crate::ops::staff::InviteStaff>,
) -> Result<(StatusCode, Json<crate::ops::accounts::UserView>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(crate::ops::staff::invite(&deps, &caller, id, input).await?),
    ))
}

/// Change a customer user's role. The customer keeps an active Account
/// Owner (409 otherwise); a System Administrator does not touch Account
/// Owners. An "Update User Groups" event.
#[utoipa::path(put, path = "/customers/{id}/staff/{user}", tag = "staff",
    params(
        ("id" = String, Path, description = "Customer organisation id"),
        ("user" = String, Path, description = "A user of the customer"),
    ),
    request_body = crate::ops::staff::SetStaffRole,
    security(("bearer" = [])),
    responses(
        (status = 200, body = crate::ops::accounts::UserView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "It would leave no Account Owner, or the staff changed meanwhile", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn set_staff_role(
    State(deps): State<AppState>,
    caller: Caller,
    Path((id, user)): Path<(OrgId, UserId)>,
    JsonBody(input): JsonBody<crate::ops::staff::SetStaffRole>,
) -> Result<Json<crate::ops::accounts::UserView>, AppError> {
    Ok(Json(
        crate::ops::staff::set_role(&deps, &caller, id, user, input).await?,
    ))
}

/// Remove a user from the customer: every session of theirs ends at once.
/// The customer keeps an active Account Owner (409 otherwise). An "Update
/// User Groups" event.
#[utoipa::path(delete, path = "/customers/{id}/staff/{user}", tag = "staff",
    params(
        ("id" = String, Path, description = "Customer organisation id"),
        ("user" = String, Path, description = "A user of the customer"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The user as they were", body = crate::ops::accounts::UserView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "It would leave no Account Owner, or the staff changed meanwhile", body = Problem, content_type = "application/problem+json"),
    ))]
async fn remove_staff(
    State(deps): State<AppState>,
    caller: Caller,
    Path((id, user)): Path<(OrgId, UserId)>,
) -> Result<Json<crate::ops::accounts::UserView>, AppError> {
    Ok(Json(crate::ops::staff::remove(&deps, &caller, id, user).await?))
}
