//! Routes of the `organizations` function.

use crate::http::JsonBody;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::domain::{OrgId, Organization};
use crate::error::{AppError, Problem};
use crate::http::principal::Caller;
use crate::ops::organizations::{
    self, CreateOrganization, ListOrganizations, MfaPolicy, OrganizationPage, TrustedRanges,
};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_organization, list_organizations))
        .routes(routes!(get_organization))
        .routes(routes!(get_trusted_ranges, put_trusted_ranges))
        .routes(routes!(put_mfa_policy))
        .merge(super::activity::routes())
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
    Path(id): Path<String>,
) -> Result<Json<Organization>, AppError> {
    let id = OrgId::parse(&id)?;
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
    Path(id): Path<String>,
) -> Result<Json<TrustedRanges>, AppError> {
    Ok(Json(
        organizations::trusted_ranges(&deps, &caller, OrgId::parse(&id)?).await?,
    ))
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
    Path(id): Path<String>,
    JsonBody(input): JsonBody<TrustedRanges>,
) -> Result<Json<TrustedRanges>, AppError> {
    Ok(Json(
        organizations::set_trusted_ranges(&deps, &caller, OrgId::parse(&id)?, input).await?,
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
    Path(id): Path<String>,
    JsonBody(input): JsonBody<MfaPolicy>,
) -> Result<Json<MfaPolicy>, AppError> {
    Ok(Json(
        organizations::set_mfa_policy(&deps, &caller, OrgId::parse(&id)?, input).await?,
    ))
}
