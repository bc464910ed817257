//! The `suspend-inactive` scheduled Lambda (EventBridge). What it runs:
//! `portico_core::functions::suspend_inactive` (shared/src/functions/suspend_inactive.rs).
use std::sync::Arc;

use lambda_runtime::{LambdaEvent, service_fn};
use portico_core::{app::Deps, functions::suspend_inactive, telemetry};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init_lambda();
    let deps = Arc::new(Deps::for_lambda::<suspend_inactive::Uses>().await?);
    lambda_runtime::run(service_fn(|ev: LambdaEvent<serde_json::Value>| {
        let deps = deps.clone();
        async move { suspend_inactive::handle(&deps, ev.payload).await }
    }))
    .await
}
