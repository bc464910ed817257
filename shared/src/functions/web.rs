//! The `web` function: the pages people use in a browser (`crate::web`),
//! served on the HTTP API's default route with no JWT authorizer: it checks
//! its own cookie sessions. Its page handlers call the same `crate::ops::*`
//! as the JSON routes; the pages and their paths are listed in
//! [`crate::web::ROUTES`].

use crate::app::AppState;

/// What this function uses besides the table: sign-in, passwords and MFA
/// (the identity), the emails the pages send (links, invitations), and
/// connection secrets with calls to instances (the customer list re-checks
/// stale connections; "Verify now"; recreating a connection), and the LogMeIn
/// signing key (sign only).
pub struct Uses;

impl crate::app::Uses for Uses {
    const USING: crate::app::Using = crate::app::Using {
        identity: true,
        mail: true,
        secrets: true,
        outbound: true,
        signer: true,
    };
}

/// The router the Lambda runs.
pub fn router(state: AppState) -> axum::Router {
    crate::web::router(state)
}
