//! Routes of suspension for inactivity and restoring access (the `invite`
//! function serves the administrative ones, `session` the public request).

use crate::http::JsonBody;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::domain::{OrgId, UserId};
use crate::error::{AppError, Problem};
use crate::http::principal::{Caller, SourceIp};
use crate::ops::inactivity::{self, AskRestore, Reinstated, RestoreRequest, RestoreRequestPage, SweepReport};

/// Served by the `invite` function.
pub fn admin_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(ask_restore_for))
        .routes(routes!(reinstate))
        .routes(routes!(list_restore_requests))
        .routes(routes!(run_sweep))
}

/// Served by the `session` function.
pub fn public_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(ask_restore))
}

/// Body of `POST /inactivity/sweep`: `{}`.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunSweep {}

fn ids(org: &str, user: &str) -> Result<(OrgId, UserId), AppError> {
    Ok((OrgId::parse(org)?, UserId::parse(user)?))
}

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
    Path((org, user)): Path<(String, String)>,
) -> Result<(StatusCode, Json<RestoreRequest>), AppError> {
    let (org, user) = ids(&org, &user)?;
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
    Path((org, user)): Path<(String, String)>,
) -> Result<Json<Reinstated>, AppError> {
    let (org, user) = ids(&org, &user)?;
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

/// A suspended user asks the platform to restore their access (always 202; once a day per address).
#[utoipa::path(post, path = "/session/restore-request", tag = "session", request_body = AskRestore,
    responses(
        (status = 202, description = "If the account is suspended, the platform has the request"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn ask_restore(
    State(deps): State<AppState>,
    SourceIp(ip): SourceIp,
    JsonBody(input): JsonBody<AskRestore>,
) -> Result<StatusCode, AppError> {
    crate::ops::no_sooner_than_floor(inactivity::ask_restore(&deps, &ip, input)).await?;
    Ok(StatusCode::ACCEPTED)
}
