//! For `scripts/bench`: creates a table on DynamoDB Local and writes the
//! demo data with the ids the sample events in `events/` name, and opens the
//! sessions their claims carry, so the Lambdas answer those events as in AWS.
//! Also creates a Cognito user pool on moto for the `session` function.
//! Reads the emulators from `PORTICO_TEST_DYNAMODB_ENDPOINT` and
//! `PORTICO_TEST_MOTO_ENDPOINT`; prints the Lambdas' settings as
//! `NAME=value` lines.

use std::sync::Arc;

use portico_core::app::{Deps, Settings};
use portico_core::clock::{Clock, IdGen, SequentialIds, SystemClock};
use portico_core::http::principal::Auth;
use portico_core::identity::local::LocalIdentity;
use portico_core::identity::tokens::LocalTokens;
use portico_core::mail::outbox::Outbox;
use portico_core::store::Table;
use portico_core::store::dynamo::DynamoTable;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let name = portico_tests::unique_name("bench");
    let client = portico_tests::dynamo_client().await;
    portico_tests::create_table(&client, &name).await;
    let (_, pool, pool_client) = portico_tests::moto_user_pool().await;
    println!("PORTICO_TABLE={name}\nPORTICO_USER_POOL_ID={pool}\nPORTICO_USER_POOL_CLIENT_ID={pool_client}");
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let ids: Arc<dyn IdGen> = Arc::new(SequentialIds::new(0));
    let table: Arc<dyn Table> = Arc::new(DynamoTable::new(client, name.clone(), clock.clone()));
    let dir = tempfile::tempdir()?;
    let tokens = Arc::new(LocalTokens::from_secret(&[7; 32]));
    let outbox = Arc::new(Outbox::new(
        dir.path(),
        portico_core::mail::Mailbox::parse("Portico <no-reply@portico.example.com>")?,
        clock.clone(),
        ids.clone(),
    )?);
    let deps = Deps {
        identity: Arc::new(LocalIdentity::new(table.clone(), tokens, clock.clone())),
        table,
        mailer: outbox.clone(),
        clock,
        ids,
        authz: Arc::new(portico_core::authz::Authz::new()?),
        auth: Auth::ApiGateway,
        outbox: Some(outbox),
        settings: Settings::default(),
    };
    portico_tests::open_sample_sessions(&deps).await;
    Ok(())
}
