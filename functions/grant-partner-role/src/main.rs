//! The `grant-partner-role` Lambda. Its routes and the operations they call:
//! `portico_core::functions::grant_partner_role` (shared/src/functions/grant_partner_role.rs).
use portico_core::{app::Deps, functions::grant_partner_role, telemetry};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init_lambda();
    let deps = Deps::for_lambda::<grant_partner_role::Uses>().await?;
    lambda_http::run(grant_partner_role::router(deps.into())).await
}
