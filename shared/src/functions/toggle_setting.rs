//! Routes of the `toggle-setting` function: a customer's platform settings.

use crate::app::AppState;
use crate::domain::OrgId;
use crate::domain::UserId;
use crate::error::{AppError, Problem};
use crate::http::JsonBody;
use crate::http::Path;
use crate::http::principal::Caller;
use crate::ops::settings::{
    self, CatalogueEntry, GrantFilter, GrantList, NewGrant, SetSetting, SettingView, SettingsPage,
};
use crate::settings::Catalogue;
use crate::settings::SettingGrant;
use crate::settings::SettingKey;
use axum::Json;
use axum::extract::Query;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// What this function uses besides the table (settings live in the table alone); its Lambda builds only that.
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
        .routes(routes!(get_settings))
        .routes(routes!(put_setting))
        .routes(routes!(grant_setting, list_grants))
        .routes(routes!(revoke_grant))
        .routes(routes!(get_catalogue))
        .routes(routes!(put_catalogue_entry))
}

/// The router the Lambda runs.
pub fn router(state: AppState) -> axum::Router {
    crate::http::function(routes(), state)
}

/// Every setting of a customer: name, value, group, description, restricted, and whether you may change it (and why not).
#[utoipa::path(get, path = "/customers/{id}/settings", tag = "settings",
    params(("id" = String, Path, description = "Customer organisation id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = SettingsPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such customer, or not linked to you", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_settings(
    State(deps): State<AppState>,
    caller: Caller,
    Path(id): Path<OrgId>,
) -> Result<Json<SettingsPage>, AppError> {
    Ok(Json(settings::get_settings(&deps, &caller, id).await?))
}

/// Set one setting (the thumbs toggle and the Edit pop-up); send the version you saw.
#[utoipa::path(put, path = "/customers/{id}/settings/{key}", tag = "settings",
    params(("id" = String, Path, description = "Customer organisation id"), ("key" = String, Path, description = "Setting key")),
    request_body = SetSetting,
    security(("bearer" = [])),
    responses(
        (status = 200, body = SettingView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Read-only for you (paid add-on, restricted), or, for a partner user, the customer has not granted partner access to each of its instances (instance-access-* problem types)", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Stale version: the detail says the current value", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn put_setting(
    State(deps): State<AppState>,
    caller: Caller,
    Path((id, key)): Path<(OrgId, SettingKey)>,
    JsonBody(input): JsonBody<SetSetting>,
) -> Result<Json<SettingView>, AppError> {
    Ok(Json(settings::put_setting(&deps, &caller, id, key, input).await?))
}

/// Grant a user of your partner one restricted setting, at every customer they can reach (Partner Managers).
#[utoipa::path(post, path = "/partners/{id}/setting-grants", tag = "settings",
    params(("id" = String, Path, description = "Partner organisation id")),
    request_body = NewGrant,
    security(("bearer" = [])),
    responses(
        (status = 201, body = SettingGrant),
        (status = 400, description = "Not a restricted general setting", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such partner or user (or the user is another partner's)", body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn grant_setting(
    State(deps): State<AppState>,
    caller: Caller,
    Path(id): Path<OrgId>,
    JsonBody(input): JsonBody<NewGrant>,
) -> Result<(StatusCode, Json<SettingGrant>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(settings::grant(&deps, &caller, id, input).await?),
    ))
}

/// A partner's restricted-setting grants, by user (`userId`) or by setting (`key`).
#[utoipa::path(get, path = "/partners/{id}/setting-grants", tag = "settings",
    params(("id" = String, Path, description = "Partner organisation id"), GrantFilter),
    security(("bearer" = [])),
    responses(
        (status = 200, body = GrantList),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_grants(
    State(deps): State<AppState>,
    caller: Caller,
    Path(id): Path<OrgId>,
    Query(f): Query<GrantFilter>,
) -> Result<Json<GrantList>, AppError> {
    Ok(Json(settings::list_grants(&deps, &caller, id, f).await?))
}

/// Revoke one grant (the Delete on the Permissions tab); it stops working on the next request.
#[utoipa::path(delete, path = "/partners/{id}/setting-grants/{user}/{key}", tag = "settings",
    params(("id" = String, Path), ("user" = String, Path), ("key" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Revoked"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn revoke_grant(
    State(deps): State<AppState>,
    caller: Caller,
    Path((id, user, key)): Path<(OrgId, UserId, SettingKey)>,
) -> Result<StatusCode, AppError> {
    settings::revoke_grant(&deps, &caller, id, user, key).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The platform's settings catalogue.
#[utoipa::path(get, path = "/settings-catalogue", tag = "settings", security(("bearer" = [])),
    responses(
        (status = 200, body = Catalogue),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_catalogue(State(deps): State<AppState>, caller: Caller) -> Result<Json<Catalogue>, AppError> {
    Ok(Json(settings::catalogue(&deps, &caller).await?))
}

/// Add or change one catalogue entry (platform admins; send the catalogue version you read).
#[utoipa::path(put, path = "/settings-catalogue/{key}", tag = "settings",
    params(("key" = String, Path, description = "Setting key")),
    request_body = CatalogueEntry,
    security(("bearer" = [])),
    responses(
        (status = 200, body = Catalogue),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn put_catalogue_entry(
    State(deps): State<AppState>,
    caller: Caller,
    Path(key): Path<SettingKey>,
    JsonBody(input): JsonBody<CatalogueEntry>,
) -> Result<Json<Catalogue>, AppError> {
    Ok(Json(settings::put_catalogue_entry(&deps, &caller, key, input).await?))
}
