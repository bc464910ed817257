//! The `verify-connection` scheduled Lambda (EventBridge). What it runs:
//! `portico_core::functions::verify_connection` (shared/src/functions/verify_connection.rs).
use std::sync::Arc;

use lambda_runtime::{LambdaEvent, service_fn};
use portico_core::{app::Deps, functions::verify_connection, telemetry};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init_lambda();
    let deps = Arc::new(Deps::for_lambda::<verify_connection::Uses>().await?);
    lambda_runtime::run(service_fn(|ev: LambdaEvent<serde_json::Value>| {
        let deps = deps.clone();
        async move { verify_connection::handle(&deps, ev.payload).await }
    }))
    .await
}
