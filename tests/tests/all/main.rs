//! One integration binary (faster to link than one per file).

/// Runs each named scenario (an `async fn(Backend)`) as a test on each
/// backend: the embedded store, and DynamoDB Local with moto.
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod embedded_sqlite {
            $(#[tokio::test] async fn $name() { super::$name(portico_tests::Backend::Sqlite).await })*
        }
        mod dynamodb_local {
            $(#[tokio::test] async fn $name() { super::$name(portico_tests::Backend::Dynamo).await })*
        }
    };
}

mod accounts;
mod activity;
mod authz_decisions;
mod bad_input;
mod browser;
mod budgets;
mod delegations;
mod deliveries;
mod events;
mod hardening;
mod iam;
mod identity_contract;
mod inactivity;
mod infra;
mod instance_contract;
mod instances;
mod logmein;
mod mail_contract;
mod openapi;
mod organizations;
mod outbound;
mod partner_portal;
mod permissions;
mod sessions;
mod settings;
mod signup;
mod staff;
mod sweep_benchmark;
mod table_contract;
mod web;
mod workspace;
