//! The `self-register` Lambda. Its routes and the operations they call:
//! `portico_core::functions::self_register` (shared/src/functions/self_register.rs).
use portico_core::{app::Deps, functions::self_register, telemetry};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init_lambda();
    let deps = Deps::for_lambda::<self_register::Uses>().await?;
    lambda_http::run(self_register::router(deps.into())).await
}
