//! Routes of the `instance-access` function: partners' access to customer
//! instances (consent, access requests, notices), LogMeIn, and the keys
//! that sign its assertions (the JWKS and their rotation). The only
//! function besides `web` that may sign (`kms:Sign`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::access::AccessRequest;
use crate::app::AppState;
use crate::domain::{AccessRequestId, InstanceId, OrgId};
use crate::error::{AppError, Problem};
use crate::http::principal::Caller;
use crate::http::{JsonBody, Path};
use crate::login_keys::Jwks;
use crate::ops::access::{self, AccessView, AskAccess, Decide, MyRequests, SetConsent, SetNotices};
use crate::ops::login_keys::{self, LoginKeys};
use crate::ops::logmein::{self, LoginForm};

/// What this function uses besides the table: SES (notices) and the login
/// signer (KMS); its Lambda builds only that.
pub struct Uses;

impl crate::app::Uses for Uses {
    const USING: crate::app::Using = crate::app::Using {
        identity: false,
        mail: true,
        secrets: false,
        outbound: false,
        signer: true,
    };
}

/// The function's routes, with their OpenAPI descriptions: the one place a route is added.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(jwks))
        .routes(routes!(key_status, stage_key))
        .routes(routes!(activate_key))
        .routes(routes!(unpublish_key))
        .routes(routes!(access_view))
        .routes(routes!(set_consent))
        .routes(routes!(set_notices))
        .routes(routes!(ask_access))
        .routes(routes!(decide))
        .routes(routes!(my_requests))
        .routes(routes!(log_in))
}

/// The router the Lambda runs.
pub fn router(state: AppState) -> axum::Router {
    crate::http::function(routes(), state)
}

/// The keys that sign LogMeIn assertions: the signing key, the staged one
/// (published a day before it signs) and the retired one (published a day
/// after). Public; instances fetch it (cache it for 5 minutes, fetch again
/// for an unknown `kid`).
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "instance-access",
    responses(
        (status = 200, body = Jwks),
        (status = 503, description = "The signing key service is unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
async fn jwks(
    State(deps): State<AppState>,
) -> Result<([(axum::http::header::HeaderName, &'static str); 1], Json<Jwks>), AppError> {
    Ok((
        [(axum::http::header::CACHE_CONTROL, "public, max-age=300")],
        Json(login_keys::jwks(&deps).await?),
    ))
}

/// The rotation status of the LogMeIn signing keys (platform admins).
#[utoipa::path(get, path = "/login-keys", tag = "instance-access",
    security(("bearer" = [])),
    responses(
        (status = 200, body = LoginKeys),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
async fn key_status(State(deps): State<AppState>, caller: Caller) -> Result<Json<LoginKeys>, AppError> {
    Ok(Json(login_keys::status(&deps, &caller).await?))
}

/// Body of `POST /login-keys`: nothing to say (an empty object).
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StageKey {}

/// Rotation, step 1 (platform admins): stage a new key, published now; it
/// may sign from 24 hours on.
#[utoipa::path(post, path = "/login-keys", tag = "instance-access",
    request_body = StageKey,
    security(("bearer" = [])),
    responses(
        (status = 201, body = LoginKeys),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A key is staged already", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
async fn stage_key(
    State(deps): State<AppState>,
    caller: Caller,
    JsonBody(_): JsonBody<StageKey>,
) -> Result<(StatusCode, Json<LoginKeys>), AppError> {
    Ok((StatusCode::CREATED, Json(login_keys::stage(&deps, &caller).await?)))
}

/// Rotation, step 2 (platform admins): the staged key signs from now on,
/// 24 hours or more after it was published; the key it replaces stays
/// published.
#[utoipa::path(post, path = "/login-keys/{kid}/activate", tag = "instance-access",
    params(("kid" = String, Path, description = "The staged key's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = LoginKeys),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not staged, or published less than 24 hours ago, or a retired key is still published", body = Problem, content_type = "application/problem+json"),
    ))]
async fn activate_key(
    State(deps): State<AppState>,
    caller: Caller,
    Path(kid): Path<String>,
) -> Result<Json<LoginKeys>, AppError> {
    Ok(Json(login_keys::activate(&deps, &caller, &kid).await?))
}

/// Rotation, step 3 (platform admins): stop publishing a retired key, 24
/// hours or more after it stopped signing (or a staged key that never
/// signed); its private key is destroyed.
#[utoipa::path(delete, path = "/login-keys/{kid}", tag = "instance-access",
    params(("kid" = String, Path, description = "The key's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = LoginKeys),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The signing key, or retired less than 24 hours ago", body = Problem, content_type = "application/problem+json"),
    ))]
async fn unpublish_key(
    State(deps): State<AppState>,
    caller: Caller,
    Path(kid): Path<String>,
) -> Result<Json<LoginKeys>, AppError> {
    Ok(Json(login_keys::unpublish(&deps, &caller, &kid).await?))
}

/// A customer's partner access: each instance's consent (and, for a partner
/// user, whether they may sign in now), the notice choice, and the access
/// requests waiting.
#[utoipa::path(get, path = "/customers/{id}/access", tag = "instance-access",
    params(("id" = String, Path, description = "Customer organisation id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = AccessView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such customer, or not visible to you", body = Problem, content_type = "application/problem+json"),
    ))]
async fn access_view(
    State(deps): State<AppState>,
    caller: Caller,
    Path(id): Path<OrgId>,
) -> Result<Json<AccessView>, AppError> {
    Ok(Json(access::view(&deps, &caller, id).await?))
}

/// Grant, change or withdraw partners' access to one instance (the
/// customer's Account Owner): `off`, `standing` (with an optional end) or
/// `ask` (approve each time).
#[utoipa::path(put, path = "/customers/{id}/instances/{instance}/access", tag = "instance-access",
    params(("id" = String, Path, description = "Customer organisation id"), ("instance" = String, Path, description = "Instance id")),
    request_body = SetConsent,
    security(("bearer" = [])),
    responses(
        (status = 200, body = AccessView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn set_consent(
    State(deps): State<AppState>,
    caller: Caller,
    Path((id, instance)): Path<(OrgId, InstanceId)>,
    JsonBody(input): JsonBody<SetConsent>,
) -> Result<Json<AccessView>, AppError> {
    Ok(Json(access::set_consent(&deps, &caller, id, instance, input).await?))
}

/// How the customer is told of partner sign-ins (the customer's Account
/// Owner): an email at each, or a daily digest.
#[utoipa::path(put, path = "/customers/{id}/access-notices", tag = "instance-access",
    params(("id" = String, Path, description = "Customer organisation id")),
    request_body = SetNotices,
    security(("bearer" = [])),
    responses(
        (status = 200, body = AccessView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn set_notices(
    State(deps): State<AppState>,
    caller: Caller,
    Path(id): Path<OrgId>,
    JsonBody(input): JsonBody<SetNotices>,
) -> Result<Json<AccessView>, AppError> {
    Ok(Json(access::set_notices(&deps, &caller, id, input).await?))
}

/// Ask the customer for access to an instance that asks each time (partner
/// users): a reason and a duration. One request at a time per instance; an
/// unanswered one lapses after 14 days.
#[utoipa::path(post, path = "/customers/{id}/instances/{instance}/access-requests", tag = "instance-access",
    params(("id" = String, Path, description = "Customer organisation id"), ("instance" = String, Path, description = "Instance id")),
    request_body = AskAccess,
    security(("bearer" = [])),
    responses(
        (status = 201, body = AccessRequest),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Access is off for this instance", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A request is waiting already, or none is needed", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn ask_access(
    State(deps): State<AppState>,
    caller: Caller,
    Path((id, instance)): Path<(OrgId, InstanceId)>,
    JsonBody(input): JsonBody<AskAccess>,
) -> Result<(StatusCode, Json<AccessRequest>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(access::request_access(&deps, &caller, id, instance, input).await?),
    ))
}

/// Approve (for at most the duration asked) or deny an access request (the
/// customer's Account Owner).
#[utoipa::path(post, path = "/customers/{id}/access-requests/{request}/decision", tag = "instance-access",
    params(("id" = String, Path, description = "Customer organisation id"), ("request" = String, Path, description = "Access request id")),
    request_body = Decide,
    security(("bearer" = [])),
    responses(
        (status = 200, body = AccessRequest),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Answered or lapsed already", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn decide(
    State(deps): State<AppState>,
    caller: Caller,
    Path((id, request)): Path<(OrgId, AccessRequestId)>,
    JsonBody(input): JsonBody<Decide>,
) -> Result<Json<AccessRequest>, AppError> {
    Ok(Json(access::decide(&deps, &caller, id, request, input).await?))
}

/// Your own access requests, newest first, with where each stands.
#[utoipa::path(get, path = "/access-requests", tag = "instance-access",
    security(("bearer" = [])),
    responses(
        (status = 200, body = MyRequests),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ))]
async fn my_requests(State(deps): State<AppState>, caller: Caller) -> Result<Json<MyRequests>, AppError> {
    Ok(Json(access::my_requests(&deps, &caller).await?))
}

/// LogMeIn (partner users): a single-use assertion (ES256, 60 s) to sign in
/// to the instance as its Partner Support profile. POST it as the form
/// field `assertion` to `action` from the browser (never in a URL). Refused
/// (403, with why and how to get access) without a verified connection or
/// the customer's consent.
#[utoipa::path(post, path = "/customers/{id}/instances/{instance}/login", tag = "instance-access",
    params(("id" = String, Path, description = "Customer organisation id"), ("instance" = String, Path, description = "Instance id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = LoginForm),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the customer's partner, MFA or email confirmation missing, the connection not verified, or no consent", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The signing key is unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
async fn log_in(
    State(deps): State<AppState>,
    caller: Caller,
    Path((id, instance)): Path<(OrgId, InstanceId)>,
) -> Result<Json<LoginForm>, AppError> {
    Ok(Json(logmein::log_in(&deps, &caller, id, instance).await?))
}
