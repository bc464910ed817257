//! The `instance-access` Lambda. Its routes and the operations they call:
//! `portico_core::functions::instance_access` (shared/src/functions/instance_access.rs).
use portico_core::{app::Deps, functions::instance_access, telemetry};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init_lambda();
    let deps = Deps::for_lambda::<instance_access::Uses>().await?;
    lambda_http::run(instance_access::router(deps.into())).await
}
