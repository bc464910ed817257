//! The `self-register` function: self-registration from templates. Its
//! routes arrive with their issue; until then it serves none (every path
//! answers the 404 problem).

use axum::Router;
use utoipa_axum::router::OpenApiRouter;

use crate::app::AppState;

/// What this function uses besides the table (nothing yet: it has no routes); its Lambda builds only that.
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
    OpenApiRouter::new()
}

/// The router the Lambda runs.
pub fn router(state: AppState) -> Router {
    crate::http::function(routes(), state)
}
