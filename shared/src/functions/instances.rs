//! Routes of the `instances` function: customer instances and their
//! connections (register, list, read, verify now, the recreate path).

use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::HeaderMap;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::domain::{InstanceId, OrgId};
use crate::error::{AppError, Problem};
use crate::http::principal::Caller;
use crate::http::{JsonBody, Path};
use crate::instances::{InstanceView, RecreateRequest};
use crate::ops::instances::{
    self, AskRecreate, InstanceList, NewInstance, ProfileRoles, Recreate, RecreateRequestList, Registered,
};

/// What this function uses besides the table: KMS (connection secrets) and
/// calls to instances ("verify now"); its Lambda builds only that.
pub struct Uses;

impl crate::app::Uses for Uses {
    const USING: crate::app::Using = crate::app::Using {
        identity: false,
        mail: true,
        secrets: true,
        outbound: true,
        signer: false,
    };
}

/// The function's routes, with their OpenAPI descriptions: the one place a route is added.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register, list))
        .routes(routes!(get_instance))
        .routes(routes!(verify_now))
        .routes(routes!(ask_recreate))
        .routes(routes!(recreate))
        .routes(routes!(list_recreate_requests))
        .routes(routes!(pull_settings))
        .routes(routes!(change_support_profile))
}

/// The router the Lambda runs.
pub fn router(state: AppState) -> axum::Router {
    crate::http::function(routes(), state)
}

/// Register an instance of a customer (platform admins). The answer carries
/// the connection's secret, shown this once: install it in the instance.
#[utoipa::path(post, path = "/customers/{id}/instances", tag = "instances",
    params(("id" = String, Path, description = "Customer organisation id")),
    request_body = NewInstance,
    security(("bearer" = [])),
    responses(
        (status = 201, body = Registered),
        (status = 400, description = "Not a usable HTTPS URL, or a bad name", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such customer, or not visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn register(
    State(deps): State<AppState>,
    caller: Caller,
    Path(id): Path<OrgId>,
    JsonBody(input): JsonBody<NewInstance>,
) -> Result<(StatusCode, Json<Registered>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(instances::register(&deps, &caller, id, input).await?),
    ))
}

/// A customer's instances, each with its connection's state and whether it has the latest settings.
#[utoipa::path(get, path = "/customers/{id}/instances", tag = "instances",
    params(("id" = String, Path, description = "Customer organisation id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = InstanceList),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such customer, or not visible to you", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list(
    State(deps): State<AppState>,
    caller: Caller,
    Path(id): Path<OrgId>,
) -> Result<Json<InstanceList>, AppError> {
    Ok(Json(instances::list(&deps, &caller, id).await?))
}

/// One instance of a customer.
#[utoipa::path(get, path = "/customers/{id}/instances/{instance}", tag = "instances",
    params(("id" = String, Path, description = "Customer organisation id"), ("instance" = String, Path, description = "Instance id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = InstanceView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_instance(
    State(deps): State<AppState>,
    caller: Caller,
    Path((id, instance)): Path<(OrgId, InstanceId)>,
) -> Result<Json<InstanceView>, AppError> {
    Ok(Json(instances::get(&deps, &caller, id, instance).await?))
}

/// Verify now: Portico challenges the instance (within 5 s) and records what it found.
#[utoipa::path(post, path = "/customers/{id}/instances/{instance}/verify", tag = "instances",
    params(("id" = String, Path, description = "Customer organisation id"), ("instance" = String, Path, description = "Instance id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The connection as the check left it", body = InstanceView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The key service is unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
async fn verify_now(
    State(deps): State<AppState>,
    caller: Caller,
    Path((id, instance)): Path<(OrgId, InstanceId)>,
) -> Result<Json<InstanceView>, AppError> {
    Ok(Json(instances::verify_now(&deps, &caller, id, instance).await?))
}

/// Ask the platform to recreate a connection, with the instance's new URL if it moved (Partner Managers).
#[utoipa::path(post, path = "/customers/{id}/instances/{instance}/recreate-requests", tag = "instances",
    params(("id" = String, Path, description = "Customer organisation id"), ("instance" = String, Path, description = "Instance id")),
    request_body = AskRecreate,
    security(("bearer" = [])),
    responses(
        (status = 201, body = RecreateRequest),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A request is already waiting", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn ask_recreate(
    State(deps): State<AppState>,
    caller: Caller,
    Path((id, instance)): Path<(OrgId, InstanceId)>,
    JsonBody(input): JsonBody<AskRecreate>,
) -> Result<(StatusCode, Json<RecreateRequest>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(instances::ask_recreate(&deps, &caller, id, instance, input).await?),
    ))
}

/// Recreate a connection (platform admins): a new secret, shown this once, the new URL, back to pending.
#[utoipa::path(post, path = "/customers/{id}/instances/{instance}/recreate", tag = "instances",
    params(("id" = String, Path, description = "Customer organisation id"), ("instance" = String, Path, description = "Instance id")),
    request_body = Recreate,
    security(("bearer" = [])),
    responses(
        (status = 200, body = Registered),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The instance changed meanwhile", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn recreate(
    State(deps): State<AppState>,
    caller: Caller,
    Path((id, instance)): Path<(OrgId, InstanceId)>,
    JsonBody(input): JsonBody<Recreate>,
) -> Result<Json<Registered>, AppError> {
    Ok(Json(instances::recreate(&deps, &caller, id, instance, input).await?))
}

/// The requests to recreate a connection waiting for the platform, oldest first.
#[utoipa::path(get, path = "/recreate-requests", tag = "instances",
    security(("bearer" = [])),
    responses(
        (status = 200, body = RecreateRequestList),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_recreate_requests(
    State(deps): State<AppState>,
    caller: Caller,
) -> Result<Json<RecreateRequestList>, AppError> {
    Ok(Json(instances::list_recreate_requests(&deps, &caller).await?))
}

/// An instance reads its settings at the latest revision (to catch up after
/// downtime). No bearer token: the instance signs the request with its
/// connection's secret (`docs/instance-integration.md`): HMAC-SHA256 over
/// `portico-v1`, the time, `GET`, this path, the nonce and the SHA-256 of the
/// empty body; 300 s tolerance; each nonce once.
#[utoipa::path(get, path = "/instance-api/settings", tag = "instances",
    params(
        ("Portico-Instance" = String, Header, description = "The instance's id"),
        ("Portico-Signature" = String, Header, description = "`t=<unix seconds>,n=<nonce>,v1=<hex HMAC-SHA256>`"),
    ),
    responses(
        (status = 200, body = crate::instances::SettingsSnapshot),
        (status = 401, description = "No such instance, or the signature does not hold (stale, replayed, wrong)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn pull_settings(
    State(deps): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Result<Json<crate::instances::SettingsSnapshot>, AppError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or(uri.path());
    Ok(Json(
        crate::ops::deliveries::pull(
            &deps,
            header(crate::instances::INSTANCE_HEADER),
            header(crate::signing::HEADER),
            path,
        )
        .await?,
    ))
}

/// Change the roles of an instance's Partner Support profile (platform
/// admins; no customer role may change or delete the profile). The instance
/// is sent the profile at once if its connection is verified, else at its
/// next check.
#[utoipa::path(put, path = "/customers/{id}/instances/{instance}/support-profile", tag = "instances",
    params(("id" = String, Path, description = "Customer organisation id"), ("instance" = String, Path, description = "Instance id")),
    request_body = ProfileRoles,
    security(("bearer" = [])),
    responses(
        (status = 200, body = InstanceView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The key service is unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
async fn change_support_profile(
    State(deps): State<AppState>,
    caller: Caller,
    Path((id, instance)): Path<(OrgId, InstanceId)>,
    JsonBody(input): JsonBody<ProfileRoles>,
) -> Result<Json<InstanceView>, AppError> {
    Ok(Json(
        instances::change_support_profile(&deps, &caller, id, instance, input).await?,
    ))
}
