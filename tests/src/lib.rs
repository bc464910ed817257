//! The test harness: emulator endpoints, fresh tables on both backends, and
//! `TestApp::spawn`, which starts the real app on port 0 with fresh state.
//!
//! DynamoDB Local and moto are started by `scripts/test` (the README's test
//! command), which passes their endpoints in `PORTICO_TEST_DYNAMODB_ENDPOINT`
//! and `PORTICO_TEST_MOTO_ENDPOINT`. A test that needs one and finds no
//! endpoint fails with a message saying so; none is ever skipped.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, TimeToLiveSpecification,
};
use portico_core::app::{AppState, Deps};
use portico_core::authz::Authz;
use portico_core::clock::{Clock, IdGen, SequentialIds, SystemClock};
use portico_core::domain::{OrgId, Role, UserId};
use portico_core::http::principal::{Auth, LocalTokens};
use portico_core::mail::outbox::Outbox;
use portico_core::store::Table;
use portico_core::store::dynamo::DynamoTable;
use portico_core::store::schema::TABLE;
use portico_core::store::sqlite::SqliteTable;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Dynamo,
}

fn endpoint(var: &str, what: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!("{var} is not set: this test needs {what}. Run the tests with scripts/test, which starts it.")
    })
}

pub fn dynamodb_endpoint() -> String {
    endpoint("PORTICO_TEST_DYNAMODB_ENDPOINT", "DynamoDB Local")
}

pub fn moto_endpoint() -> String {
    endpoint("PORTICO_TEST_MOTO_ENDPOINT", "moto's server")
}

/// SDK configuration for an emulator: fixed test credentials and region.
pub async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test",
            "test",
            None,
            None,
            "portico-tests",
        ))
        .load()
        .await
}

pub async fn dynamo_client() -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&sdk_config(&dynamodb_endpoint()).await)
}

fn attr(name: &str, ty: &str) -> AttributeDefinition {
    let ty = match ty {
        "S" => ScalarAttributeType::S,
        "N" => ScalarAttributeType::N,
        other => panic!("unexpected key type {other}"),
    };
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ty)
        .build()
        .expect("attribute")
}

fn key(name: &str, ty: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(ty)
        .build()
        .expect("key")
}

/// Creates a table from the one table definition (`store::schema::TABLE`).
pub async fn create_table(client: &aws_sdk_dynamodb::Client, name: &str) {
    let mut attrs = vec![attr(TABLE.hash.0, TABLE.hash.1), attr(TABLE.range.0, TABLE.range.1)];
    let mut req = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key(TABLE.hash.0, KeyType::Hash))
        .key_schema(key(TABLE.range.0, KeyType::Range));
    for gsi in TABLE.gsis {
        attrs.push(attr(gsi.hash.0, gsi.hash.1));
        attrs.push(attr(gsi.range.0, gsi.range.1));
        req = req.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(gsi.name)
                .key_schema(key(gsi.hash.0, KeyType::Hash))
                .key_schema(key(gsi.range.0, KeyType::Range))
                .projection(Projection::builder().projection_type(ProjectionType::All).build())
                .build()
                .expect("gsi"),
        );
    }
    req.set_attribute_definitions(Some(attrs))
        .send()
        .await
        .expect("create table on DynamoDB Local");
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name(TABLE.ttl_attribute)
                .build()
                .expect("ttl"),
        )
        .send()
        .await
        .expect("enable TTL");
}

pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// A fresh, empty table on `backend`.
pub async fn fresh_table(backend: Backend, clock: Arc<dyn Clock>) -> Arc<dyn Table> {
    match backend {
        Backend::Sqlite => Arc::new(SqliteTable::in_memory(clock).expect("sqlite")),
        Backend::Dynamo => {
            let client = dynamo_client().await;
            let name = unique_name("portico-test");
            create_table(&client, &name).await;
            Arc::new(DynamoTable::new(client, name, clock))
        }
    }
}

/// A running app on 127.0.0.1:<random port> with fresh state and the demo data.
pub struct TestApp {
    pub base: String,
    pub deps: AppState,
    pub ids: Arc<SequentialIds>,
    pub tokens: HashMap<Role, String>,
    pub users: HashMap<Role, UserId>,
    pub orgs: HashMap<Role, OrgId>,
    pub local_tokens: Arc<LocalTokens>,
    pub http: reqwest::Client,
    _dir: tempfile::TempDir,
}

/// Wraps a table, e.g. to inject faults.
pub type TableWrapper = Box<dyn FnOnce(Arc<dyn Table>) -> Arc<dyn Table> + Send>;

pub struct Options {
    pub clock: Arc<dyn Clock>,
    /// Wraps the table (to inject faults).
    pub wrap: Option<TableWrapper>,
    /// Prefix of the sequential ids (random unless set; `events/` samples use 0).
    pub ids_prefix: Option<u32>,
    /// How requests authenticate (local bearer tokens unless set).
    pub api_gateway_auth: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            clock: Arc::new(SystemClock),
            wrap: None,
            ids_prefix: None,
            api_gateway_auth: false,
        }
    }
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, Options::default()).await
    }

    pub async fn spawn_with(backend: Backend, opts: Options) -> Self {
        let (deps, ids, local_tokens, dir) = test_deps(backend, opts).await;
        let users = portico_core::seed::demo(&deps).await.expect("seed demo data");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let app = portico_core::http::portal_router(deps.clone());
        tokio::spawn(async move {
            axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
                .await
                .expect("serve");
        });
        let tokens = users
            .iter()
            .map(|u| (u.role, local_tokens.issue(u.id, u.org_id, 60).expect("token")))
            .collect();
        let orgs = users.iter().map(|u| (u.role, u.org_id)).collect();
        let users = users.iter().map(|u| (u.role, u.id)).collect();
        Self {
            base,
            deps,
            ids,
            tokens,
            users,
            orgs,
            local_tokens,
            http: reqwest::Client::new(),
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn token(&self, role: Role) -> &str {
        &self.tokens[&role]
    }
}

/// Dependencies as the app builds them, on a fresh table, with sequential ids
/// and local tokens. Returns the pieces tests inspect.
pub async fn test_deps(
    backend: Backend,
    opts: Options,
) -> (AppState, Arc<SequentialIds>, Arc<LocalTokens>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = opts.clock;
    let ids = Arc::new(SequentialIds::new(opts.ids_prefix.unwrap_or_else(rand_prefix)));
    let mut table = fresh_table(backend, clock.clone()).await;
    if let Some(wrap) = opts.wrap {
        table = wrap(table);
    }
    let ids_dyn: Arc<dyn IdGen> = ids.clone();
    let outbox = Arc::new(
        Outbox::new(
            &dir.path().join("outbox"),
            "Portico <no-reply@portico.example.com>",
            clock.clone(),
            ids_dyn.clone(),
        )
        .expect("outbox"),
    );
    let local_tokens = Arc::new(LocalTokens::from_secret(
        uuid::Uuid::new_v4().as_bytes().repeat(2).as_slice(),
    ));
    let deps = Arc::new(Deps {
        table,
        mailer: outbox.clone(),
        clock,
        ids: ids_dyn,
        authz: Arc::new(Authz::new().expect("policies")),
        auth: if opts.api_gateway_auth {
            Auth::ApiGateway
        } else {
            Auth::LocalToken(local_tokens.clone())
        },
        outbox: Some(outbox),
    });
    (deps, ids, local_tokens, dir)
}

fn rand_prefix() -> u32 {
    uuid::Uuid::new_v4().as_u128() as u32
}
