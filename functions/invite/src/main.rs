//! The `invite` Lambda. Its routes and the operations they call:
//! `portico_core::functions::invite` (shared/src/functions/invite.rs).
use portico_core::{app::Deps, functions::invite, telemetry};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init_lambda();
    let deps = Deps::for_lambda::<invite::Uses>().await?;
    lambda_http::run(invite::router(deps.into())).await
}
