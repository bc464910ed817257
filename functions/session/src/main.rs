//! The `session` Lambda. Its routes and the operations they call:
//! `portico_core::functions::session` (shared/src/functions/session.rs).
use portico_core::{app::Deps, functions::session, telemetry};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init_lambda();
    let deps = Deps::for_lambda::<session::Uses>().await?;
    lambda_http::run(session::router(deps.into())).await
}
