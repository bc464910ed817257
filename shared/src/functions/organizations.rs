//! Routes of the `organizations` function.

use crate::app::AppState;
use crate::domain::{OrgId, Organization};
use crate::error::{AppError, Problem};
use crate::http::JsonBody;
use crate::http::Path;
use crate::http::principal::Caller;
use crate::ops::activity::{self, ActivityFilter, ActivityPage, Retention, Verification, VerifyParams};
use crate::ops::organizations::{
    self, CreateOrganization, ListOrganizations, MfaPolicy, OrganizationPage, TrustedRanges,
};
use crate::ops::seats;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// What this function uses besides the table (organisations and the activity log live in the table alone); its Lambda builds only that.
pub struct Uses;

impl crate::app::Uses for Uses {
    const USING: crate::app::Using = crate::app::Using {
        identity: false,
        mail: false,
        secrets: false,
        outbound: false,
        signer: false,
    };
}

/// The function's routes, with their OpenAPI descriptions: the one place a route is added.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_organization, list_organizations))
        .routes(routes!(get_organization, delete_organization))
        .routes(routes!(rename_organization))
        .routes(routes!(get_trusted_ranges, put_trusted_ranges))
        .routes(routes!(put_mfa_policy))
        .routes(routes!(list_activity))
        .routes(routes!(export_activity))
        .routes(routes!(verify_activity))
        .routes(routes!(get_retention, put_retention))
        .routes(routes!(list_billing, record_billing))
        .routes(routes!(put_capabilities))
        .routes(routes!(get_seats, put_seats))
        .routes(routes!(request_seats))
        .routes(routes!(list_seat_requests))
        .routes(routes!(decide_seat_request))
}

/// A partner's seats: its allocation, how many are in use and free (its
/// Partner Managers, platform admins).
#[utoipa::path(
    get, path = "/organizations/{id}/seats", tag = "seats",
    params(("id" = String, Path, description = "Partner organisation id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = seats::SeatsView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn get_seats(
    State(deps): State<AppState>,
    caller: Caller,
    Path(id): Path<OrgId>,
) -> Result<Json<seats::SeatsView>, AppError> {
    Ok(Json(seats::view(&deps, &caller, id).await?))
}

/// Set a partner's allocation (platform admins): unlimited, allocated N
/// seats, or N seats that can be purchased (the partner asks for more).
/// Users beyond a lowered limit keep their seats. An "Update License" event.
#[utoipa::path(
    put, path = "/organizations/{id}/seats", tag = "seats",
    params(("id" = String, Path, description = "Partner organisation id")),
    request_body = seats::SetAllocation,
    security(("bearer" = [])),
    responses(
        (status = 200, body = seats::SeatsView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn put_seats(
    State(deps): State<AppState>,
    caller: Caller,
    Path(id): Path<OrgId>,
    JsonBody(input): JsonBody<seats::SetAllocation>,
) -> Result<Json<seats::SeatsView>, AppError> {
    Ok(Json(seats::set_allocation(&deps, &caller, id, input).await?))
}

/// Ask the platform for more seats (a Partner Manager, where they can be
/// purchased; 409 otherwise). An "Update License" event.
#[utoipa::path(
    post, path = "/organizations/{id}/seats/requests", tag = "seats",
    params(("id" = String, Path, description = "Partner organisation id")),
    request_body = seats::AskSeats,
    security(("bearer" = [])),
    responses(
        (status = 201, body = crate::partner_portal::SeatRequest),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Seats cannot be purchased", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn request_seats(
    State(deps): State<AppState>,
    caller: Caller,
    Path(id): Path<OrgId>,
    JsonBody(input): JsonBody<seats::AskSeats>,
) -> Result<(StatusCode, Json<crate::partner_portal::SeatRequest>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(seats::request_more(&deps, &caller, id, input).await?),
    ))
}

/// Requests for more seats: those waiting (platform admins), or your
/// partner's (Partner Managers), newest first.
#[utoipa::path(
    get, path = "/seat-requests", tag = "seats",
    params(crate::ops::accounts::PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = seats::SeatRequestPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list_seat_requests(
    State(deps): State<AppState>,
    caller: Caller,
    Query(q): Query<crate::ops::accounts::PageQuery>,
) -> Result<Json<seats::SeatRequestPage>, AppError> {
    Ok(Json(seats::list_requests(&deps, &caller, q).await?))
}

/// Approve (the seats join the allocation) or reject a request for more
/// seats (platform admins). An "Update License" event in the partner's log.
#[utoipa::path(
    post, path = "/seat-requests/{id}/decision", tag = "seats",
    params(("id" = String, Path, description = "Seat request id")),
    request_body = seats::SeatDecision,
    security(("bearer" = [])),
    responses(
        (status = 200, body = crate::partner_portal::SeatRequest),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Decided already, or the allocation changed", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn decide_seat_request(
    State(deps): State<AppState>,
    caller: Caller,
    Path(id): Path<crate::domain::RequestId>,
    JsonBody(input): JsonBody<seats::SeatDecision>,
) -> Result<Json<crate::partner_portal::SeatRequest>, AppError> {
    Ok(Json(seats::decide(&deps, &caller, id, input).await?))
}

/// The router the Lambda runs.
pub fn router(state: AppState) -> axum::Router {
    crate::http::function(routes(), state)
}

/// Create a partner organisation, or a customer organisation linked to its partner of record (platform admins).
#[utoipa::path(
    post, path = "/organizations", tag = "organizations",
    request_body = CreateOrganization,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = Organization),
        (status = 400, description = "Invalid input", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Name taken or concurrent change", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 64 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Body does not match the schema", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn create_organization(
    State(deps): State<AppState>,
    caller: Caller,
    JsonBody(input): JsonBody<CreateOrganization>,
) -> Result<(StatusCode, Json<Organization>), AppError> {
    let org = organizations::create(&deps, &caller, input).await?;
    Ok((StatusCode::CREATED, Json(org)))
}

/// The organisations you may see: all (platform admins), your linked customers (partners), your own (customers).
#[utoipa::path(
    get, path = "/organizations", tag = "organizations",
    params(ListOrganizations),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page", body = OrganizationPage),
        (status = 400, description = "Invalid query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list_organizations(
    State(deps): State<AppState>,
    caller: Caller,
    Query(q): Query<ListOrganizations>,
) -> Result<Json<OrganizationPage>, AppError> {
    Ok(Json(organizations::list(&deps, &caller, q).await?))
}

/// One organisation (404 when it does not exist or is not visible to you).
#[utoipa::path(
    get, path = "/organizations/{id}", tag = "organizations",
    params(("id" = String, Path, description = "Organisation id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The organisation", body = Organization),
        (status = 400, description = "Malformed id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not found or not visible", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn get_organization(
    State(deps): State<AppState>,
    caller: Caller,
    Path(id): Path<OrgId>,
) -> Result<Json<Organization>, AppError> {
    Ok(Json(organizations::get(&deps, &caller, id).await?))
}

/// A partner's trusted source ranges (Partner Managers of that partner, platform admins).
#[utoipa::path(
    get, path = "/organizations/{id}/trusted-ranges", tag = "organizations",
    params(("id" = String, Path, description = "Partner organisation id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = TrustedRanges),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn get_trusted_ranges(
    State(deps): State<AppState>,
    caller: Caller,
    Path(id): Path<OrgId>,
) -> Result<Json<TrustedRanges>, AppError> {
    Ok(Json(organizations::trusted_ranges(&deps, &caller, id).await?))
}

/// Replace the trusted source ranges (send back the version you read; a stale one gets 409).
#[utoipa::path(
    put, path = "/organizations/{id}/trusted-ranges", tag = "organizations",
    params(("id" = String, Path, description = "Partner organisation id")),
    request_body = TrustedRanges,
    security(("bearer" = [])),
    responses(
        (status = 200, body = TrustedRanges),
        (status = 400, description = "Not a CIDR block, or too many", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn put_trusted_ranges(
    State(deps): State<AppState>,
    caller: Caller,
    Path(id): Path<OrgId>,
    JsonBody(input): JsonBody<TrustedRanges>,
) -> Result<Json<TrustedRanges>, AppError> {
    Ok(Json(
        organizations::set_trusted_ranges(&deps, &caller, id, input).await?,
    ))
}

/// Whether a customer's users must use MFA (platform admins, the customer's Account Owners).
#[utoipa::path(
    put, path = "/organizations/{id}/mfa-policy", tag = "organizations",
    params(("id" = String, Path, description = "Customer organisation id")),
    request_body = MfaPolicy,
    security(("bearer" = [])),
    responses(
        (status = 200, body = MfaPolicy),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn put_mfa_policy(
    State(deps): State<AppState>,
    caller: Caller,
    Path(id): Path<OrgId>,
    JsonBody(input): JsonBody<MfaPolicy>,
) -> Result<Json<MfaPolicy>, AppError> {
    Ok(Json(organizations::set_mfa_policy(&deps, &caller, id, input).await?))
}

// Activity log routes.

/// An organisation's activity log, newest first, filtered and paged (platform admins: any; partners: their own and their customers'; customers: their own).
#[utoipa::path(
    get, path = "/organizations/{id}/activity", tag = "activity",
    params(("id" = String, Path, description = "Organisation id"), ActivityFilter),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page", body = ActivityPage),
        (status = 400, description = "Invalid filter or cursor", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not found or not visible", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list_activity(
    State(deps): State<AppState>,
    caller: Caller,
    Path(id): Path<OrgId>,
    Query(f): Query<ActivityFilter>,
) -> Result<Json<ActivityPage>, AppError> {
    Ok(Json(activity::list(&deps, &caller, id, f).await?))
}

/// The same filtered view as CSV or NDJSON, streamed newest first (at most `limit` rows; a last record then says how to go on).
#[utoipa::path(
    get, path = "/organizations/{id}/activity/export", tag = "activity",
    params(("id" = String, Path, description = "Organisation id"), ActivityFilter),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The events", body = String, content_type = "text/csv"),
        (status = 400, description = "Invalid filter", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not found or not visible", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn export_activity(
    State(deps): State<AppState>,
    caller: Caller,
    Path(id): Path<OrgId>,
    Query(f): Query<ActivityFilter>,
) -> Result<Response, AppError> {
    let export = activity::export(&deps, &caller, id, f).await?;
    let ext = match export.format {
        activity::ExportFormat::Csv => "csv",
        activity::ExportFormat::Ndjson => "ndjson",
    };
    Ok(crate::http::export_answer(export, &format!("activity-{id}.{ext}")))
}

/// Recompute the organisation's hash chain and report the first break (whoever may read the log).
#[utoipa::path(
    get, path = "/organizations/{id}/activity/verify", tag = "activity",
    params(("id" = String, Path, description = "Organisation id"), VerifyParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "What the check found", body = Verification),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not found or not visible", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn verify_activity(
    State(deps): State<AppState>,
    caller: Caller,
    Path(id): Path<OrgId>,
    Query(p): Query<VerifyParams>,
) -> Result<Json<Verification>, AppError> {
    Ok(Json(activity::verify(&deps, &caller, id, p).await?))
}

/// How long the organisation's activity events are kept (null: kept; the default).
#[utoipa::path(
    get, path = "/organizations/{id}/activity/retention", tag = "activity",
    params(("id" = String, Path, description = "Organisation id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Retention),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn get_retention(
    State(deps): State<AppState>,
    caller: Caller,
    Path(id): Path<OrgId>,
) -> Result<Json<Retention>, AppError> {
    Ok(Json(activity::get_retention(&deps, &caller, id).await?))
}

/// Set how long events written from now on are kept (platform admins); audited.
#[utoipa::path(
    put, path = "/organizations/{id}/activity/retention", tag = "activity",
    params(("id" = String, Path, description = "Organisation id")),
    request_body = Retention,
    security(("bearer" = [])),
    responses(
        (status = 200, body = Retention),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn put_retention(
    State(deps): State<AppState>,
    caller: Caller,
    Path(id): Path<OrgId>,
    JsonBody(input): JsonBody<Retention>,
) -> Result<Json<Retention>, AppError> {
    Ok(Json(activity::put_retention(&deps, &caller, id, input).await?))
}

/// A customer's invoices and payments, newest first (read-only; the
/// platform feeds them): the platform, the customer's Account Owner, and
/// partner users whose delegated roles there give `billing.view` (seed
/// 004: a Decision Maker does, a Phone Manager does not: 403).
#[utoipa::path(
    get, path = "/customers/{id}/billing", tag = "billing",
    params(("id" = String, Path, description = "Customer organisation id"), crate::ops::accounts::PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = crate::ops::billing::BillingPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the customer's Account Owner, and no billing.view there", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such customer, or not visible", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list_billing(
    State(deps): State<AppState>,
    caller: Caller,
    Path(id): Path<OrgId>,
    Query(page): Query<crate::ops::accounts::PageQuery>,
) -> Result<Json<crate::ops::billing::BillingPage>, AppError> {
    Ok(Json(crate::ops::billing::list(&deps, &caller, id, page).await?))
}

/// The platform records an invoice or a payment of a customer; an "Update
/// Organization" event in the customer's log.
#[utoipa::path(
    post, path = "/customers/{id}/billing", tag = "billing",
    params(("id" = String, Path, description = "Customer organisation id")),
    request_body = crate::ops::billing::RecordBillingEntry,
    security(("bearer" = [])),
    responses(
        (status = 201, body = crate::billing::BillingEntry),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn record_billing(
    State(deps): State<AppState>,
    caller: Caller,
    Path(id): Path<OrgId>,
    JsonBody(input): JsonBody<crate::ops::billing::RecordBillingEntry>,
) -> Result<(StatusCode, Json<crate::billing::BillingEntry>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(crate::ops::billing::record(&deps, &caller, id, input).await?),
    ))
}

/// Rename an organisation (its Account Owner or Partner Manager, or the
/// platform), with the version read; a name another organisation holds is
/// refused. An "Update Organization" event.
#[utoipa::path(
    put, path = "/organizations/{id}/name", tag = "organizations",
    params(("id" = String, Path, description = "Organisation id")),
    request_body = crate::ops::organizations::RenameOrganization,
    security(("bearer" = [])),
    responses(
        (status = 200, body = Organization),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The name is taken, or the organisation changed since it was read", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn rename_organization(
    State(deps): State<AppState>,
    caller: Caller,
    Path(id): Path<OrgId>,
    JsonBody(input): JsonBody<crate::ops::organizations::RenameOrganization>,
) -> Result<Json<Organization>, AppError> {
    Ok(Json(organizations::rename(&deps, &caller, id, input).await?))
}

/// Delete an organisation (the platform). Refused (409, saying why) while
/// it has users, customers, roles customers delegate to it, or instances;
/// a customer's own delegations and their groups go with it. An "Update
/// Organization" event in the platform's log (and its partner of record's).
#[utoipa::path(
    delete, path = "/organizations/{id}", tag = "organizations",
    params(("id" = String, Path, description = "Organisation id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The organisation as it was", body = Organization),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Something still hangs on it", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn delete_organization(
    State(deps): State<AppState>,
    caller: Caller,
    Path(id): Path<OrgId>,
) -> Result<Json<Organization>, AppError> {
    Ok(Json(organizations::delete(&deps, &caller, id).await?))
}

/// Set what a partner (or a template) may manage itself (platform admins;
/// seed 002 Step 4's Allow Organization Self-Management, User-Management,
/// Roles, Drivers and Classifiers), with the organisation's version. In
/// force from its managers' next request. An "Update Organization" event.
#[utoipa::path(
    put, path = "/organizations/{id}/capabilities", tag = "organizations",
    params(("id" = String, Path, description = "Partner organisation id")),
    request_body = crate::ops::partner_portal::SetCapabilities,
    security(("bearer" = [])),
    responses(
        (status = 200, body = Organization),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Changed since read", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn put_capabilities(
    State(deps): State<AppState>,
    caller: Caller,
    Path(id): Path<OrgId>,
    JsonBody(input): JsonBody<crate::ops::partner_portal::SetCapabilities>,
) -> Result<Json<Organization>, AppError> {
    Ok(Json(
        crate::ops::partner_portal::set_capabilities(&deps, &caller, id, input).await?,
    ))
}
