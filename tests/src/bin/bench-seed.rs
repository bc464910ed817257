//! For `scripts/bench`: creates a table on DynamoDB Local and writes the
//! demo data with the ids the sample events in `events/` name, and opens the
//! sessions their claims carry, so the Lambdas answer those events as in AWS.
//! Also creates a Cognito user pool on moto for the `session` function.
//! Reads the emulators from `PORTICO_TEST_DYNAMODB_ENDPOINT` and
//! `PORTICO_TEST_MOTO_ENDPOINT`; prints the Lambdas' settings as
//! `NAME=value` lines.

use std::sync::Arc;

use portico_core::app::{Backend, Config, Deps, Overrides};
use portico_core::clock::SequentialIds;
use portico_core::http::principal::Auth;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let name = portico_tests::unique_name("bench");
    portico_tests::create_table(&portico_tests::dynamo_client().await, &name).await;
    let (_, pool, pool_client) = portico_tests::moto_user_pool().await;
    println!("PORTICO_TABLE={name}\nPORTICO_USER_POOL_ID={pool}\nPORTICO_USER_POOL_CLIENT_ID={pool_client}");
    let dir = tempfile::tempdir()?;
    let mut cfg = Config::new(Backend::Aws)?;
    cfg.data_dir = dir.path().to_path_buf();
    cfg.table = Some(name);
    cfg.user_pool_id = Some(pool);
    cfg.user_pool_client_id = Some(pool_client);
    let deps = Deps::build(
        &cfg,
        Overrides {
            ids: Some(Arc::new(SequentialIds::new(0))),
            sdk: Some(portico_tests::sdk_config(&portico_tests::moto_endpoint()).await),
            dynamodb_sdk: Some(portico_tests::sdk_config(&portico_tests::dynamodb_endpoint()).await),
            auth: Some(Auth::ApiGateway),
            ..Overrides::default()
        },
    )
    .await?;
    portico_tests::open_sample_sessions(&deps).await;
    Ok(())
}
