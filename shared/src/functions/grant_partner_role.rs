//! The `grant-partner-role` function: delegated partner roles (seed 004).
//! The customer's side (the roles a partner holds) and the partner's (who
//! of its users holds them: the members of the groups those roles open).

use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::delegations::RoleKey;
use crate::domain::{OrgId, UserId};
use crate::error::{AppError, Problem};
use crate::http::principal::Caller;
use crate::http::{JsonBody, Path};
use crate::ops::delegations::{
    self, DecideDelegation, DelegationView, GroupRef, GroupView, MemberPage, Membership, RequestDelegation,
    SetDelegation, SetHolders,
};

/// What this function uses besides the table: SES (the notices of each
/// grant and revoke); its Lambda builds only that.
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
        .routes(routes!(delegation, set_delegation))
        .routes(routes!(contact_delegation, set_contact_delegation))
        .routes(routes!(set_holders))
        .routes(routes!(request_delegation))
        .routes(routes!(decide_delegation))
        .routes(routes!(bulk_delegations))
        .routes(routes!(relationships))
        .routes(routes!(group))
        .routes(routes!(add_member, remove_member))
}

/// The router the Lambda runs.
pub fn router(state: AppState) -> Router {
    crate::http::function(routes(), state)
}

/// The roles a customer delegates to a partner (its partner of record, or
/// an authorized contact): their state, term, and the groups they opened on
/// the partner's account. The platform, the customer's users and the
/// partner's users see it.
#[utoipa::path(get, path = "/customers/{id}/delegations/{partner}", tag = "grant-partner-role",
    params(
        ("id" = String, Path, description = "Customer organisation id"),
        ("partner" = String, Path, description = "Partner organisation id"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, body = DelegationView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such customer or partner, or not visible to you", body = Problem, content_type = "application/problem+json"),
    ))]
async fn delegation(
    State(deps): State<AppState>,
    caller: Caller,
    Path((id, partner)): Path<(OrgId, OrgId)>,
) -> Result<Json<DelegationView>, AppError> {
    Ok(Json(delegations::view(&deps, &caller, id, partner).await?))
}

/// Seed 004's Partner Access dialog (the customer's Account Owner): the
/// roles a partner holds from now (each opens a group "<customer> <role>"
/// on the partner's account; each cleared one deletes its group and ends
/// its memberships), who is told (1 to 10 addresses), and an optional term
/// and auto-extend. The partner is the customer's partner of record, or
/// another (an authorized contact). An event in both organisations' logs.
#[utoipa::path(put, path = "/customers/{id}/delegations/{partner}", tag = "grant-partner-role",
    params(
        ("id" = String, Path, description = "Customer organisation id"),
        ("partner" = String, Path, description = "Partner organisation id"),
    ),
    request_body = SetDelegation,
    security(("bearer" = [])),
    responses(
        (status = 200, body = DelegationView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such customer or partner", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Changed meanwhile", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn set_delegation(
    State(deps): State<AppState>,
    caller: Caller,
    Path((id, partner)): Path<(OrgId, OrgId)>,
    JsonBody(input): JsonBody<SetDelegation>,
) -> Result<Json<DelegationView>, AppError> {
    Ok(Json(delegations::set(&deps, &caller, id, partner, input).await?))
}

/// Who of the partner's users holds a customer's delegated roles (the
/// partner's managers): every one of them (the platform's default
/// delegation at the customer's creation), or only the groups' members.
/// An "Update User Groups" event in both organisations' logs.
#[utoipa::path(put, path = "/organizations/{id}/delegations/{customer}/holders", tag = "grant-partner-role",
    params(
        ("id" = String, Path, description = "Partner organisation id"),
        ("customer" = String, Path, description = "The customer that delegated the roles"),
    ),
    request_body = SetHolders,
    security(("bearer" = [])),
    responses(
        (status = 200, body = DelegationView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such delegation in force, or not visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Changed meanwhile", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn set_holders(
    State(deps): State<AppState>,
    caller: Caller,
    Path((partner, customer)): Path<(OrgId, OrgId)>,
    JsonBody(input): JsonBody<SetHolders>,
) -> Result<Json<DelegationView>, AppError> {
    Ok(Json(
        delegations::set_holders(&deps, &caller, partner, customer, input).await?,
    ))
}

/// One group a customer's delegated role opened on a partner's account
/// ("<customer> <role>"), with a page of its members (the partner's users
/// and the platform).
#[utoipa::path(get, path = "/organizations/{id}/groups/{customer}/{role}", tag = "grant-partner-role",
    params(
        ("id" = String, Path, description = "Partner organisation id"),
        ("customer" = String, Path, description = "The customer that granted the role"),
        ("role" = String, Path, description = "The role's catalogue key, e.g. phone-manager"),
        MemberPage,
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, body = GroupView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such group (the role is not granted), or not visible to you", body = Problem, content_type = "application/problem+json"),
    ))]
async fn group(
    State(deps): State<AppState>,
    caller: Caller,
    Path((partner, customer, role)): Path<(OrgId, OrgId, RoleKey)>,
    Query(page): Query<MemberPage>,
) -> Result<Json<GroupView>, AppError> {
    let g = GroupRef {
        partner,
        customer,
        role,
    };
    Ok(Json(delegations::group(&deps, &caller, g, page).await?))
}

/// Add one of the partner's users to a group (the partner's managers): from
/// then on they hold the role at that customer. An "Update User Groups"
/// event in both organisations' logs.
#[utoipa::path(put, path = "/organizations/{id}/groups/{customer}/{role}/members/{user}", tag = "grant-partner-role",
    params(
        ("id" = String, Path, description = "Partner organisation id"),
        ("customer" = String, Path, description = "The customer that granted the role"),
        ("role" = String, Path, description = "The role's catalogue key"),
        ("user" = String, Path, description = "A user of the partner"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Membership),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such group or user", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not an active user, or changed meanwhile", body = Problem, content_type = "application/problem+json"),
    ))]
async fn add_member(
    State(deps): State<AppState>,
    caller: Caller,
    Path((partner, customer, role, user)): Path<(OrgId, OrgId, RoleKey, UserId)>,
) -> Result<Json<Membership>, AppError> {
    let g = GroupRef {
        partner,
        customer,
        role,
    };
    Ok(Json(delegations::set_member(&deps, &caller, g, user, true).await?))
}

/// Take a user out of a group (the partner's managers): they no longer hold
/// the role at that customer.
#[utoipa::path(delete, path = "/organizations/{id}/groups/{customer}/{role}/members/{user}", tag = "grant-partner-role",
    params(
        ("id" = String, Path, description = "Partner organisation id"),
        ("customer" = String, Path, description = "The customer that granted the role"),
        ("role" = String, Path, description = "The role's catalogue key"),
        ("user" = String, Path, description = "A user of the partner"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Membership),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such group or user", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Changed meanwhile", body = Problem, content_type = "application/problem+json"),
    ))]
async fn remove_member(
    State(deps): State<AppState>,
    caller: Caller,
    Path((partner, customer, role, user)): Path<(OrgId, OrgId, RoleKey, UserId)>,
) -> Result<Json<Membership>, AppError> {
    let g = GroupRef {
        partner,
        customer,
        role,
    };
    Ok(Json(delegations::set_member(&deps, &caller, g, user, false).await?))
}

/// A partner's manager asks its customer for delegated roles (the partner
/// of record only): a request that lapses after 90 days unanswered, or, on
/// a delegation in force, a proposed change (roles, a renewed term).
/// Nothing changes until the customer's Account Owner approves. An "Update
/// User Permissions" event in both logs; `notify` is told.
#[utoipa::path(post, path = "/customers/{id}/delegations/{partner}/request", tag = "grant-partner-role",
    params(
        ("id" = String, Path, description = "Customer organisation id"),
        ("partner" = String, Path, description = "The asking partner's id (the caller's own)"),
    ),
    request_body = RequestDelegation,
    security(("bearer" = [])),
    responses(
        (status = 200, body = DelegationView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a manager of the customer's partner of record, or asking for another partner", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Changed meanwhile", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn request_delegation(
    State(deps): State<AppState>,
    caller: Caller,
    Path((id, partner)): Path<(OrgId, OrgId)>,
    JsonBody(input): JsonBody<RequestDelegation>,
) -> Result<Json<DelegationView>, AppError> {
    Ok(Json(delegations::request(&deps, &caller, id, partner, input).await?))
}

/// The customer's Account Owner approves or declines what the partner
/// asked (a request: the delegation starts, its term from now; a proposal:
/// its roles and term become the delegation's). A "Grant Partner Role"
/// event in both logs; `notify` is told.
#[utoipa::path(post, path = "/customers/{id}/delegations/{partner}/decision", tag = "grant-partner-role",
    params(
        ("id" = String, Path, description = "Customer organisation id"),
        ("partner" = String, Path, description = "Partner organisation id"),
    ),
    request_body = DecideDelegation,
    security(("bearer" = [])),
    responses(
        (status = 200, body = DelegationView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Nothing waiting (no request, or it lapsed), or changed meanwhile", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn decide_delegation(
    State(deps): State<AppState>,
    caller: Caller,
    Path((id, partner)): Path<(OrgId, OrgId)>,
    JsonBody(input): JsonBody<DecideDelegation>,
) -> Result<Json<DelegationView>, AppError> {
    Ok(Json(delegations::decide(&deps, &caller, id, partner, input).await?))
}

/// Bulk (the partner's managers): ask N customers for a role set, ask N to
/// renew, or give up N delegations, with a result per customer and no cap
/// of 25 (up to 1000). Idempotent: a retry with the same `idempotencyKey`
/// and body answers the items done already (`replayed`) and attempts only
/// the rest; the key with another body is refused (409). Each customer
/// still approves its own request.
#[utoipa::path(post, path = "/organizations/{id}/delegations/bulk", tag = "grant-partner-role",
    params(("id" = String, Path, description = "Partner organisation id")),
    request_body = crate::ops::delegation_bulk::BulkDelegations,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A result per customer, in the order given", body = crate::ops::delegation_bulk::BulkResult),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The key was used for another request", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn bulk_delegations(
    State(deps): State<AppState>,
    caller: Caller,
    Path(partner): Path<OrgId>,
    JsonBody(input): JsonBody<crate::ops::delegation_bulk::BulkDelegations>,
) -> Result<Json<crate::ops::delegation_bulk::BulkResult>, AppError> {
    Ok(Json(
        crate::ops::delegation_bulk::run(&deps, &caller, partner, input).await?,
    ))
}

/// Every relationship of an organisation, from its side (B6): a customer's
/// delegations to its partner of record and its authorized contacts, or a
/// partner's from its customers; each with its roles, state, term, a
/// waiting proposal, and its groups with their first 20 members. The
/// organisation's own users and the platform.
#[utoipa::path(get, path = "/organizations/{id}/relationships", tag = "grant-partner-role",
    params(("id" = String, Path, description = "Organisation id"), crate::ops::accounts::PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = crate::ops::relationships::RelationshipPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn relationships(
    State(deps): State<AppState>,
    caller: Caller,
    Path(id): Path<OrgId>,
    Query(page): Query<crate::ops::accounts::PageQuery>,
) -> Result<Json<crate::ops::relationships::RelationshipPage>, AppError> {
    Ok(Json(crate::ops::relationships::list(&deps, &caller, id, page).await?))
}

/// The roles a customer delegates to one named user of a partner: an
/// authorized contact in person (seed 004). The platform, the customer's
/// users and the partner's users see it.
#[utoipa::path(get, path = "/customers/{id}/delegations/{partner}/users/{user}", tag = "grant-partner-role",
    params(
        ("id" = String, Path, description = "Customer organisation id"),
        ("partner" = String, Path, description = "Partner organisation id"),
        ("user" = String, Path, description = "A user of the partner"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, body = DelegationView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such customer, partner or user of it, or not visible to you", body = Problem, content_type = "application/problem+json"),
    ))]
async fn contact_delegation(
    State(deps): State<AppState>,
    caller: Caller,
    Path((id, partner, user)): Path<(OrgId, OrgId, UserId)>,
) -> Result<Json<DelegationView>, AppError> {
    Ok(Json(
        delegations::view_contact(&deps, &caller, id, partner, user).await?,
    ))
}

/// The customer's Account Owner sets the roles one named user of a partner
/// holds in person (no groups: that user alone), who is told, a term and
/// auto-extend. A "Grant Partner Role" event in both logs.
#[utoipa::path(put, path = "/customers/{id}/delegations/{partner}/users/{user}", tag = "grant-partner-role",
    params(
        ("id" = String, Path, description = "Customer organisation id"),
        ("partner" = String, Path, description = "Partner organisation id"),
        ("user" = String, Path, description = "A user of the partner"),
    ),
    request_body = SetDelegation,
    security(("bearer" = [])),
    responses(
        (status = 200, body = DelegationView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such customer, partner or user of it", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Changed meanwhile", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn set_contact_delegation(
    State(deps): State<AppState>,
    caller: Caller,
    Path((id, partner, user)): Path<(OrgId, OrgId, UserId)>,
    JsonBody(input): JsonBody<SetDelegation>,
) -> Result<Json<DelegationView>, AppError> {
    Ok(Json(
        delegations::set_contact(&deps, &caller, id, partner, user, input).await?,
    ))
}
