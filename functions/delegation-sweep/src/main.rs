//! The `delegation-sweep` scheduled Lambda (EventBridge). What it runs:
//! `portico_core::functions::delegation_sweep` (shared/src/functions/delegation_sweep.rs).
use std::sync::Arc;

use lambda_runtime::{LambdaEvent, service_fn};
use portico_core::{app::Deps, functions::delegation_sweep, telemetry};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init_lambda();
    let deps = Arc::new(Deps::for_lambda::<delegation_sweep::Uses>().await?);
    lambda_runtime::run(service_fn(|ev: LambdaEvent<serde_json::Value>| {
        let deps = deps.clone();
        async move { delegation_sweep::handle(&deps, ev.payload).await }
    }))
    .await
}
