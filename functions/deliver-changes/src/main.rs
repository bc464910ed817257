//! The `deliver-changes` Lambda (DynamoDB Streams, and EventBridge every
//! minute). What it runs: `portico_core::functions::deliver_changes`
//! (shared/src/functions/deliver_changes.rs).
use std::sync::Arc;

use lambda_runtime::{LambdaEvent, service_fn};
use portico_core::{app::Deps, functions::deliver_changes, telemetry};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init_lambda();
    let deps = Arc::new(Deps::for_lambda::<deliver_changes::Uses>().await?);
    lambda_runtime::run(service_fn(|ev: LambdaEvent<serde_json::Value>| {
        let deps = deps.clone();
        async move { deliver_changes::handle(&deps, ev.payload).await }
    }))
    .await
}
