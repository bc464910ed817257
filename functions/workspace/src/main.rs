//! The `workspace` Lambda. Its routes and the operations they call:
//! `portico_core::functions::workspace` (shared/src/functions/workspace.rs).
use portico_core::{app::Deps, functions::workspace, telemetry};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init_lambda();
    let deps = Deps::for_lambda::<workspace::Uses>().await?;
    lambda_http::run(workspace::router(deps.into())).await
}
