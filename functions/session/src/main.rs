//! The `session` Lambda. All logic lives in portico-core.
use portico_core::{app::Deps, http, telemetry};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init_lambda();
    let deps = Deps::for_lambda().await?;
    lambda_http::run(http::function_router(http::Function::Session, deps.into())).await
}
