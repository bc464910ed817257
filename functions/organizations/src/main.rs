//! The `organizations` Lambda. Its routes and the operations they call:
//! `portico_core::functions::organizations` (shared/src/functions/organizations.rs).
use portico_core::{app::Deps, functions::organizations, telemetry};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init_lambda();
    let deps = Deps::for_lambda::<organizations::Uses>().await?;
    lambda_http::run(organizations::router(deps.into())).await
}
