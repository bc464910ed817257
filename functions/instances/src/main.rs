//! The `instances` Lambda. Its routes and the operations they call:
//! `portico_core::functions::instances` (shared/src/functions/instances.rs).
use portico_core::{app::Deps, functions::instances, telemetry};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init_lambda();
    let deps = Deps::for_lambda::<instances::Uses>().await?;
    lambda_http::run(instances::router(deps.into())).await
}
