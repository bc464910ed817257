//! The `verify-connection` scheduled Lambda (EventBridge). All logic lives in portico-core.
use std::sync::Arc;

use lambda_runtime::{LambdaEvent, service_fn};
use portico_core::{app::Deps, jobs, telemetry};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init_lambda();
    let deps = Arc::new(Deps::for_lambda().await?);
    lambda_runtime::run(service_fn(|ev: LambdaEvent<serde_json::Value>| {
        let deps = deps.clone();
        async move { jobs::handle_scheduled(&deps, jobs::Job::VerifyConnection, ev.payload).await }
    }))
    .await
}
