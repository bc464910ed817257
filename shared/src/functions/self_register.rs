//! The `self-register` function: the platform's feature switches and
//! Partner Portal settings (seed 002 Steps 1 and 4), and self-registration
//! from the templates they name.

use axum::Json;
use axum::Router;
use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::error::{AppError, Problem};
use crate::http::JsonBody;
use crate::http::principal::Caller;
use crate::ops::partner_portal;
use crate::partner_portal::PortalConfig;

/// What this function uses besides the table; its Lambda builds only that.
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

/// The function's routes, with their OpenAPI descriptions.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_partner_portal, put_partner_portal))
}

/// The router the Lambda runs.
pub fn router(state: AppState) -> Router {
    crate::http::function(routes(), state)
}

/// The feature switches and Partner Portal settings (platform admins).
/// Until the platform saves them, the defaults apply (version 0):
/// Organizations and the Partner Portal on, no self-registration.
#[utoipa::path(get, path = "/partner-portal", tag = "self-register", security(("bearer" = [])),
    responses(
        (status = 200, body = PortalConfig),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn get_partner_portal(State(deps): State<AppState>, caller: Caller) -> Result<Json<PortalConfig>, AppError> {
    Ok(Json(partner_portal::get(&deps, &caller).await?))
}

/// Save the feature switches and Partner Portal settings (platform admins),
/// with the `version` read. The Partner Portal needs Organizations on;
/// self-registration needs the Partner Portal and a Model User (a Partner
/// Manager of a template organisation). Switching the Partner Portal off
/// refuses partners' sign-ins and requests at once (403
/// `partner-portal-off`). An "Update Organization" event in the platform's log.
#[utoipa::path(put, path = "/partner-portal", tag = "self-register", request_body = PortalConfig,
    security(("bearer" = [])),
    responses(
        (status = 200, body = PortalConfig),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Changed since read", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn put_partner_portal(
    State(deps): State<AppState>,
    caller: Caller,
    JsonBody(input): JsonBody<PortalConfig>,
) -> Result<Json<PortalConfig>, AppError> {
    Ok(Json(partner_portal::put(&deps, &caller, input).await?))
}
