//! The `login-digest` scheduled Lambda (EventBridge). What it runs:
//! `portico_core::functions::login_digest` (shared/src/functions/login_digest.rs).
use std::sync::Arc;

use lambda_runtime::{LambdaEvent, service_fn};
use portico_core::{app::Deps, functions::login_digest, telemetry};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init_lambda();
    let deps = Arc::new(Deps::for_lambda::<login_digest::Uses>().await?);
    lambda_runtime::run(service_fn(|ev: LambdaEvent<serde_json::Value>| {
        let deps = deps.clone();
        async move { login_digest::handle(&deps, ev.payload).await }
    }))
    .await
}
