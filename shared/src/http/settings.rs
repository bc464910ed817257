//! Routes of the `toggle-setting` function: a customer's platform settings.

use axum::Json;
use axum::extract::{Path, State};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::domain::OrgId;
use crate::error::{AppError, Problem};
use crate::http::principal::Caller;
use crate::ops::settings::{self, SetSetting, SettingView, SettingsPage};
use crate::settings::SettingKey;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_settings))
        .routes(routes!(put_setting))
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
    Path(id): Path<String>,
) -> Result<Json<SettingsPage>, AppError> {
    Ok(Json(settings::get_settings(&deps, &caller, OrgId::parse(&id)?).await?))
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
        (status = 403, description = "Read-only for you (paid add-on, restricted)", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Stale version: the detail says the current value", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn put_setting(
    State(deps): State<AppState>,
    caller: Caller,
    Path((id, key)): Path<(String, String)>,
    Json(input): Json<SetSetting>,
) -> Result<Json<SettingView>, AppError> {
    Ok(Json(
        settings::put_setting(&deps, &caller, OrgId::parse(&id)?, SettingKey::parse(&key)?, input).await?,
    ))
}
