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
use portico_core::app::{AppState, Backend as ConfigBackend, Config, Deps, Overrides};
use portico_core::identity::local::LocalIdentity;
use portico_core::identity::{Identity, IdentityError};

/// The sender verified on moto's SES.
pub const TEST_SENDER: &str = "no-reply@portico.example.com";
use portico_core::clock::{Clock, SequentialIds, SystemClock};
use portico_core::domain::{OrgId, Role, UserId};
use portico_core::http::principal::Auth;
use portico_core::identity::tokens::LocalTokens;
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
    fresh_table_intercepted(backend, clock, None).await
}

async fn fresh_table_intercepted(
    backend: Backend,
    clock: Arc<dyn Clock>,
    interceptor: Option<aws_sdk_dynamodb::config::SharedInterceptor>,
) -> Arc<dyn Table> {
    match backend {
        Backend::Sqlite => Arc::new(SqliteTable::in_memory(clock).expect("sqlite")),
        Backend::Dynamo => {
            let client = dynamo_client().await;
            let name = unique_name("portico-test");
            create_table(&client, &name).await;
            let client = match interceptor {
                Some(i) => {
                    let mut conf = aws_sdk_dynamodb::config::Builder::from(&sdk_config(&dynamodb_endpoint()).await);
                    conf.push_interceptor(i);
                    aws_sdk_dynamodb::Client::from_conf(conf.build())
                }
                None => client,
            };
            Arc::new(DynamoTable::new(client, name, clock))
        }
    }
}

/// The password test accounts set up with.
pub const PASSWORD: &str = "Correct horse battery staple 42!";

/// The code an authenticator app would show, `offset_steps` 30-second steps
/// from now. moto's secret is a fixed placeholder that is not a valid TOTP
/// secret, and moto accepts any code: there, a distinct code per step.
pub fn code_at(secret: &str, offset_steps: i64) -> String {
    let at = chrono::Utc::now() + chrono::Duration::seconds(30 * offset_steps);
    portico_core::identity::local::LocalIdentity::code_at(secret, at)
        .unwrap_or_else(|_| format!("{:06}", (at.timestamp() / 30) % 1_000_000))
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
    /// The Cognito user pool on moto (AWS backend only).
    pub pool: Option<MotoPool>,
    _dir: tempfile::TempDir,
}

/// A user pool on moto and its app client, as the app uses them.
#[derive(Clone)]
pub struct MotoPool {
    pub client: aws_sdk_cognitoidentityprovider::Client,
    pub pool_id: String,
    pub client_id: String,
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
    /// Wraps the identity (to inject faults).
    pub wrap_identity: Option<IdentityWrapper>,
    /// An interceptor on every AWS SDK client of the app (AWS backend only):
    /// the IAM test records the calls each function makes with it.
    pub sdk_interceptor: Option<aws_sdk_dynamodb::config::SharedInterceptor>,
    /// The public routes' per-IP rate (unless set, high enough for suites
    /// that sign in many times from 127.0.0.1; the throttle's own test sets it).
    pub public_rate: Option<portico_core::http::throttle::PublicRate>,
    /// `PORTICO_PUBLIC_URL` (unless set, https://portal.example.com;
    /// [`TestApp::spawn_with`] sets it to the app's own address when
    /// `serve_public_url` is on, as the browser tests need).
    pub public_url: Option<String>,
    pub serve_public_url: bool,
    /// Outbound calls as a Lambda makes them: no loopback.
    pub strict_outbound: bool,
    /// Wraps the outbound port (to count or fail calls).
    pub wrap_outbound: Option<portico_core::app::Wrap<dyn portico_core::outbound::Outbound>>,
}

/// Wraps an identity, e.g. to inject faults.
pub type IdentityWrapper = Box<dyn FnOnce(Arc<dyn Identity>) -> Arc<dyn Identity> + Send>;

impl Default for Options {
    fn default() -> Self {
        Self {
            clock: Arc::new(SystemClock),
            wrap: None,
            ids_prefix: None,
            api_gateway_auth: false,
            wrap_identity: None,
            sdk_interceptor: None,
            public_rate: None,
            public_url: None,
            serve_public_url: false,
            strict_outbound: false,
            wrap_outbound: None,
        }
    }
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, Options::default()).await
    }

    pub async fn spawn_with(backend: Backend, mut opts: Options) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        if opts.serve_public_url {
            opts.public_url = Some(base.clone());
        }
        let (deps, ids, local_tokens, dir, pool) = test_deps(backend, opts).await;
        let users = portico_core::seed::demo(&deps).await.expect("seed demo data");
        let app = portico_core::http::portal_router(deps.clone());
        tokio::spawn(async move {
            axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
                .await
                .expect("serve");
        });
        // The demo tokens' sessions outlive the weeks tests jump the injected
        // clock by (their JWTs still expire after 60 real minutes): a demo
        // user stands for someone who keeps signing in.
        let mut tokens = HashMap::new();
        for u in &users {
            let until = deps.clock.now() + chrono::Duration::days(365);
            let token = portico_core::sessions::open_local(&deps, &local_tokens, u.id, 60, until)
                .await
                .expect("demo token");
            tokens.insert(u.role, token);
        }
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
            http: {
                portico_core::outbound::install_tls_provider();
                reqwest::Client::new()
            },
            pool,
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

/// A fresh Cognito user pool and app client on moto, shaped like the
/// template's: usernames are Portico user ids, `custom:org` read-only, MFA
/// optional (Portico enforces it), software tokens on.
pub async fn moto_user_pool() -> (aws_sdk_cognitoidentityprovider::Client, String, String) {
    use aws_sdk_cognitoidentityprovider::types::{
        AttributeDataType, ExplicitAuthFlowsType, PasswordPolicyType, SchemaAttributeType, SoftwareTokenMfaConfigType,
        UserPoolMfaType, UserPoolPolicyType,
    };
    let client = aws_sdk_cognitoidentityprovider::Client::new(&sdk_config(&moto_endpoint()).await);
    let pool = client
        .create_user_pool()
        .pool_name(unique_name("portico-users"))
        .mfa_configuration(UserPoolMfaType::Optional)
        .policies(
            UserPoolPolicyType::builder()
                .password_policy(
                    PasswordPolicyType::builder()
                        .minimum_length(12)
                        .require_lowercase(false)
                        .require_uppercase(false)
                        .require_numbers(false)
                        .require_symbols(false)
                        .build(),
                )
                .build(),
        )
        .schema(
            SchemaAttributeType::builder()
                .name("org")
                .attribute_data_type(AttributeDataType::String)
                .mutable(false)
                .build(),
        )
        .schema(
            SchemaAttributeType::builder()
                .name("org_kind")
                .attribute_data_type(AttributeDataType::String)
                .mutable(false)
                .build(),
        )
        .send()
        .await
        .expect("create user pool on moto");
    let pool_id = pool.user_pool.and_then(|p| p.id).expect("pool id");
    client
        .set_user_pool_mfa_config()
        .user_pool_id(&pool_id)
        .mfa_configuration(UserPoolMfaType::Optional)
        .software_token_mfa_configuration(SoftwareTokenMfaConfigType::builder().enabled(true).build())
        .send()
        .await
        .expect("pool MFA config");
    let app = client
        .create_user_pool_client()
        .user_pool_id(&pool_id)
        .client_name("portico-web")
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowAdminUserPasswordAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
        .send()
        .await
        .expect("pool client");
    let client_id = app.user_pool_client.and_then(|c| c.client_id).expect("client id");
    (client, pool_id, client_id)
}

/// moto's state as JSON (`/moto-api/data.json`). moto builds it by walking
/// its backends, which fails (a 500) when another test's request changes
/// one meanwhile: such an answer is asked again.
pub async fn moto_data() -> serde_json::Value {
    let url = format!("{}/moto-api/data.json", moto_endpoint());
    let mut last = String::new();
    for _ in 0..20 {
        let resp = reqwest::get(&url).await.expect("moto data");
        let status = resp.status();
        let text = resp.text().await.expect("moto data body");
        if status.is_success()
            && let Ok(v) = serde_json::from_str(&text)
        {
            return v;
        }
        last = format!("{status}: {}", &text[..text.len().min(300)]);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("moto's data.json did not answer JSON: {last}")
}

/// The sent mail to `to` on moto's SES, as (subject, body text) pairs.
pub async fn moto_mail_to(to: &str) -> Vec<(String, String)> {
    let data = moto_data().await;
    fn walk(v: &serde_json::Value, to: &str, out: &mut Vec<(String, String)>) {
        match v {
            serde_json::Value::Object(m) => {
                let dest = m.get("destinations").map(|d| d.to_string()).unwrap_or_default();
                if m.contains_key("subject") && dest.contains(to) {
                    out.push((
                        m["subject"].as_str().unwrap_or_default().to_string(),
                        m.get("body").map(|b| b.to_string()).unwrap_or_default(),
                    ));
                } else {
                    m.values().for_each(|c| walk(c, to, out));
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|c| walk(c, to, out)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    walk(&data["ses"], to, &mut found);
    found
}

impl TestApp {
    /// The links of the emails sent to `to`, oldest first (outbox or moto).
    pub async fn links_to(&self, to: &str) -> Vec<String> {
        match &self.deps.outbox {
            Some(outbox) => {
                let mut msgs = outbox.latest(1000).expect("outbox");
                msgs.reverse();
                msgs.into_iter().filter(|m| m.to == to).flat_map(|m| m.links).collect()
            }
            None => moto_mail_to(to)
                .await
                .into_iter()
                .flat_map(|(_, body)| {
                    let body = body.replace("\\n", " ").replace("\\\"", " ");
                    portico_core::mail::links(&body)
                })
                .map(|l| l.trim_end_matches(['\\', '"']).to_string())
                .collect(),
        }
    }

    /// The subjects of the emails sent to `to`, oldest first (outbox or moto).
    pub async fn subjects_to(&self, to: &str) -> Vec<String> {
        match &self.deps.outbox {
            Some(outbox) => {
                let mut msgs = outbox.latest(1000).expect("outbox");
                msgs.reverse();
                msgs.into_iter().filter(|m| m.to == to).map(|m| m.subject).collect()
            }
            None => moto_mail_to(to).await.into_iter().map(|(subject, _)| subject).collect(),
        }
    }

    /// POST `body` as JSON; the status and the JSON (or text) answer.
    pub async fn post(&self, path: &str, token: Option<&str>, body: serde_json::Value) -> (u16, serde_json::Value) {
        let mut req = self.http.post(self.url(path)).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
        )
    }

    /// GET with a bearer token; the status and the JSON (or text) answer.
    pub async fn get_json(&self, path: &str, token: &str) -> (u16, serde_json::Value) {
        let resp = self
            .http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
        )
    }

    /// PUT `body` as JSON with a bearer token.
    pub async fn put(&self, path: &str, token: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        let resp = self
            .http
            .put(self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
        )
    }

    /// A platform admin adds `email` to Northwind as a Partner User (a Password Setup email goes out).
    pub async fn add_partner_user(&self, email: &str) {
        let partner = self.orgs[&Role::PartnerManager];
        let body = serde_json::json!({ "email": email, "displayName": "Pat Partner", "role": "partner_user" });
        let (s, added) = self
            .post(
                &format!("/organizations/{partner}/users"),
                Some(self.token(Role::PlatformAdmin)),
                body,
            )
            .await;
        assert_eq!(s, 201, "{added}");
    }

    /// Signs `email` in from a fresh setup link all the way through enrolment;
    /// returns (bearer token, TOTP secret, recovery codes).
    pub async fn set_up_account(&self, email: &str) -> (String, String, Vec<String>) {
        use serde_json::json;
        let token = self.last_token_to(email).await;
        let (s, body) = self
            .post("/password/setup", None, json!({ "token": token, "password": PASSWORD }))
            .await;
        assert_eq!(s, 200, "{body}");
        let (s, step) = self
            .post("/session", None, json!({ "email": email, "password": PASSWORD }))
            .await;
        assert_eq!((s, step["step"].as_str()), (200, Some("mfa_setup")), "{step}");
        let (s, enrol) = self
            .post("/session/mfa-setup", None, json!({ "session": step["session"] }))
            .await;
        assert_eq!(s, 200, "{enrol}");
        let secret = enrol["secret"].as_str().unwrap().to_string();
        assert!(enrol["otpauthUri"].as_str().unwrap().starts_with("otpauth://totp/"));
        assert!(enrol["otpauthUri"].as_str().unwrap().contains(&secret));
        assert!(enrol["qrSvg"].as_str().unwrap().contains("<svg"));
        let (s, done) = self
            .post(
                "/session/mfa-setup/confirm",
                None,
                json!({ "session": enrol["session"], "code": code_at(&secret, 0) }),
            )
            .await;
        assert_eq!(s, 200, "{done}");
        let codes: Vec<String> = done["recoveryCodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .collect();
        assert_eq!(codes.len(), 10);
        (done["token"].as_str().unwrap().to_string(), secret, codes)
    }

    /// Signs `email` in again (password, then the authenticator's code at
    /// `at`, the app's clock); returns the new bearer token.
    pub async fn sign_in(&self, email: &str, secret: &str, at: chrono::DateTime<chrono::Utc>) -> String {
        use serde_json::json;
        let (s, step) = self
            .post("/session", None, json!({ "email": email, "password": PASSWORD }))
            .await;
        assert_eq!((s, step["step"].as_str()), (200, Some("mfa")), "{step}");
        let code = LocalIdentity::code_at(secret, at)
            .unwrap_or_else(|_| format!("{:06}", (at.timestamp() / 30 + 1) % 1_000_000));
        let (s, done) = self
            .post(
                "/session/mfa",
                None,
                json!({ "session": step["session"], "code": code }),
            )
            .await;
        assert_eq!(s, 200, "{done}");
        done["token"].as_str().unwrap().to_string()
    }

    /// The token of the last link emailed to `to`.
    pub async fn last_token_to(&self, to: &str) -> String {
        let links = self.links_to(to).await;
        let last = links.last().unwrap_or_else(|| panic!("no email with a link to {to}"));
        last.split("token=").nth(1).expect("a token in the link").to_string()
    }
}

/// Dependencies as the app builds them, on a fresh table, with sequential ids
/// and local tokens. Returns the pieces tests inspect.
pub async fn test_deps(
    backend: Backend,
    opts: Options,
) -> (
    AppState,
    Arc<SequentialIds>,
    Arc<LocalTokens>,
    tempfile::TempDir,
    Option<MotoPool>,
) {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = opts.clock;
    let ids = Arc::new(SequentialIds::new(opts.ids_prefix.unwrap_or_else(rand_prefix)));
    let mut cfg = Config::new(match backend {
        Backend::Sqlite => ConfigBackend::Embedded,
        Backend::Dynamo => ConfigBackend::Aws,
    })
    .expect("config");
    cfg.data_dir = dir.path().to_path_buf();
    // The reference instances the tests run listen on 127.0.0.1.
    cfg.allow_loopback_instances = !opts.strict_outbound;
    cfg.public_url = opts
        .public_url
        .clone()
        .unwrap_or_else(|| "https://portal.example.com".into());
    cfg.public_rate = opts.public_rate.unwrap_or(portico_core::http::throttle::PublicRate {
        per_minute: 1_000_000,
        burst: 100_000,
    });
    let mut overrides = Overrides {
        clock: Some(clock.clone()),
        ids: Some(ids.clone()),
        wrap_table: opts.wrap,
        wrap_identity: opts.wrap_identity,
        sdk_interceptor: opts.sdk_interceptor,
        auth: opts.api_gateway_auth.then_some(Auth::ApiGateway),
        checked_authz: true,
        wrap_outbound: opts.wrap_outbound,
        ..Overrides::default()
    };
    // Embedded: an in-memory SQLite table (the builder makes the outbox and
    // the local identity in the data folder). AWS: a fresh table on DynamoDB
    // Local, Cognito and SES on moto.
    let pool = match backend {
        Backend::Sqlite => {
            overrides.table = Some(Arc::new(SqliteTable::in_memory(clock.clone()).expect("sqlite")));
            None
        }
        Backend::Dynamo => {
            let name = unique_name("portico-test");
            create_table(&dynamo_client().await, &name).await;
            let (cognito, pool_id, client_id) = moto_user_pool().await;
            let moto = moto_endpoint();
            let moto_sdk = sdk_config(&moto).await;
            aws_sdk_ses::Client::new(&moto_sdk)
                .verify_email_identity()
                .email_address(TEST_SENDER)
                .send()
                .await
                .expect("verify sender on moto");
            let key = aws_sdk_kms::Client::new(&moto_sdk)
                .create_key()
                .description("portico tests: connection secrets")
                .send()
                .await
                .expect("KMS key on moto");
            cfg.secrets_key = key.key_metadata().map(|m| m.key_id().to_string());
            // The deployment's first LogMeIn key, as the template makes it.
            let login = aws_sdk_kms::Client::new(&moto_sdk)
                .create_key()
                .description("portico tests: LogMeIn assertions")
                .key_spec(aws_sdk_kms::types::KeySpec::EccNistP256)
                .key_usage(aws_sdk_kms::types::KeyUsageType::SignVerify)
                .send()
                .await
                .expect("KMS signing key on moto");
            cfg.login_key = login.key_metadata().and_then(|m| m.arn()).map(str::to_string);
            cfg.table = Some(name);
            cfg.mail_from = portico_core::mail::Mailbox::parse(&format!("Portico <{TEST_SENDER}>")).expect("sender");
            cfg.user_pool_id = Some(pool_id.clone());
            cfg.user_pool_client_id = Some(client_id.clone());
            cfg.jwt_issuer = Some(format!("https://cognito-idp.us-east-1.amazonaws.com/{pool_id}"));
            cfg.jwks_url = Some(format!("{moto}/{pool_id}/.well-known/jwks.json"));
            overrides.dynamodb_sdk = Some(sdk_config(&dynamodb_endpoint()).await);
            overrides.sdk = Some(moto_sdk);
            Some(MotoPool {
                client: cognito,
                pool_id,
                client_id,
            })
        }
    };
    let deps = Arc::new(Deps::build(&cfg, overrides).await.expect("deps"));
    // The builder's local tokens: their secret is in the data folder.
    let local_tokens = Arc::new(LocalTokens::load_or_create(dir.path()).expect("local tokens"));
    (deps, ids, local_tokens, dir, pool)
}

fn rand_prefix() -> u32 {
    uuid::Uuid::new_v4().as_u128() as u32
}

/// `deps` as a function's Lambda has them: the adapters `using` leaves out
/// are `NotLinked`, which refuse and count the calls they get
/// ([`Unlinked::calls`] should stay 0).
pub struct Unlinked {
    pub identity: Arc<portico_core::identity::NotLinked>,
    pub mailer: Arc<portico_core::mail::NotLinked>,
    pub sealer: Arc<portico_core::secrets::NotLinked>,
    pub outbound: Arc<portico_core::outbound::NotLinked>,
    pub signer: Arc<portico_core::login_keys::NotLinked>,
}

impl Unlinked {
    pub fn deps_for(deps: &Deps, using: portico_core::app::Using) -> (Deps, Unlinked) {
        let unlinked = Unlinked {
            identity: Arc::default(),
            mailer: Arc::default(),
            sealer: Arc::default(),
            outbound: Arc::default(),
            signer: Arc::default(),
        };
        let deps = Deps {
            table: deps.table.clone(),
            mailer: if using.mail {
                deps.mailer.clone()
            } else {
                unlinked.mailer.clone()
            },
            clock: deps.clock.clone(),
            ids: deps.ids.clone(),
            authz: deps.authz.clone(),
            auth: deps.auth.clone(),
            outbox: deps.outbox.clone(),
            identity: if using.identity {
                deps.identity.clone()
            } else {
                unlinked.identity.clone()
            },
            sealer: if using.secrets {
                deps.sealer.clone()
            } else {
                unlinked.sealer.clone()
            },
            outbound: if using.outbound {
                deps.outbound.clone()
            } else {
                unlinked.outbound.clone()
            },
            signer: if using.signer {
                deps.signer.clone()
            } else {
                unlinked.signer.clone()
            },
            settings: deps.settings.clone(),
            deliveries_due: deps.deliveries_due.clone(),
        };
        (deps, unlinked)
    }

    /// Calls made to the adapters left out.
    pub fn calls(&self) -> usize {
        use std::sync::atomic::Ordering::SeqCst;
        self.identity.calls.load(SeqCst)
            + self.mailer.calls.load(SeqCst)
            + self.sealer.calls.load(SeqCst)
            + self.outbound.calls.load(SeqCst)
            + self.signer.calls.load(SeqCst)
    }
}

/// An identity with faults to switch on: refusing every password (an
/// outage, a policy it enforces), failing to disable users.
pub struct FaultyIdentity {
    inner: Arc<dyn Identity>,
    pub refuse_passwords: std::sync::atomic::AtomicBool,
    pub fail_disable: std::sync::atomic::AtomicBool,
    /// Calls to `disable` (failed or not), by user.
    pub disabled: std::sync::Mutex<Vec<UserId>>,
}

impl FaultyIdentity {
    pub fn new(inner: Arc<dyn Identity>) -> Self {
        Self {
            inner,
            refuse_passwords: Default::default(),
            fail_disable: Default::default(),
            disabled: Default::default(),
        }
    }
}

#[async_trait::async_trait]
impl Identity for FaultyIdentity {
    async fn set_password(
        &self,
        u: portico_core::identity::IdentityUser<'_>,
        p: &portico_core::domain::Password,
    ) -> Result<(), IdentityError> {
        if self.refuse_passwords.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(IdentityError::Unavailable("injected".into()));
        }
        self.inner.set_password(u, p).await
    }
    async fn sign_in(&self, u: UserId, p: &str) -> Result<portico_core::identity::SignIn, IdentityError> {
        self.inner.sign_in(u, p).await
    }
    async fn enrolment_session(&self, t: &portico_core::identity::Tokens) -> Result<String, IdentityError> {
        self.inner.enrolment_session(t).await
    }
    async fn begin_totp(&self, s: &str) -> Result<portico_core::identity::TotpSetup, IdentityError> {
        self.inner.begin_totp(s).await
    }
    async fn confirm_totp(&self, s: &str, c: &str) -> Result<portico_core::identity::Tokens, IdentityError> {
        self.inner.confirm_totp(s, c).await
    }
    async fn answer_mfa(&self, s: &str, c: &str) -> Result<portico_core::identity::Tokens, IdentityError> {
        self.inner.answer_mfa(s, c).await
    }
    async fn reset_mfa(&self, u: UserId) -> Result<(), IdentityError> {
        self.inner.reset_mfa(u).await
    }
    async fn disable(&self, u: UserId) -> Result<(), IdentityError> {
        self.disabled.lock().expect("lock").push(u);
        if self.fail_disable.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(IdentityError::Unavailable("injected".into()));
        }
        self.inner.disable(u).await
    }
    async fn enable(&self, u: UserId) -> Result<(), IdentityError> {
        self.inner.enable(u).await
    }
    async fn sign_out_everywhere(&self, u: UserId) -> Result<(), IdentityError> {
        self.inner.sign_out_everywhere(u).await
    }
}

/// A table with faults to switch on: the `n`th transaction from now fails
/// as an outage, the next one loses a race (a conflict; the caller's retry
/// path runs), or queries of one index partition answer the page read when
/// it was frozen (an eventually consistent index that has not caught up).
pub struct FaultyTable {
    inner: Arc<dyn Table>,
    /// Counts transactions down; the one that takes it from 1 to 0 fails.
    pub fail_in: std::sync::atomic::AtomicI64,
    pub conflict_next: std::sync::atomic::AtomicBool,
    frozen: std::sync::Mutex<Option<(String, portico_core::store::Page)>>,
}

impl FaultyTable {
    pub fn new(inner: Arc<dyn Table>) -> Self {
        Self {
            inner,
            fail_in: std::sync::atomic::AtomicI64::new(i64::MIN),
            conflict_next: Default::default(),
            frozen: Default::default(),
        }
    }
    /// From now on, queries of `q`'s partition answer what `q` answers now.
    pub async fn freeze(&self, q: &portico_core::store::Query) {
        let page = self.inner.query(q).await.expect("query to freeze");
        *self.frozen.lock().expect("lock") = Some((q.pk.clone(), page));
    }
}

#[async_trait::async_trait]
impl Table for FaultyTable {
    async fn get(
        &self,
        key: &portico_core::store::Key,
    ) -> Result<Option<portico_core::store::Item>, portico_core::store::StoreError> {
        self.inner.get(key).await
    }
    async fn get_many(
        &self,
        keys: &[portico_core::store::Key],
    ) -> Result<Vec<Option<portico_core::store::Item>>, portico_core::store::StoreError> {
        self.inner.get_many(keys).await
    }
    async fn query(
        &self,
        q: &portico_core::store::Query,
    ) -> Result<portico_core::store::Page, portico_core::store::StoreError> {
        let frozen = self.frozen.lock().expect("lock").clone();
        match frozen {
            Some((pk, page)) if pk == q.pk => Ok(page),
            _ => self.inner.query(q).await,
        }
    }
    async fn transact(&self, writes: Vec<portico_core::store::Write>) -> Result<(), portico_core::store::StoreError> {
        use std::sync::atomic::Ordering::SeqCst;
        if self.fail_in.fetch_sub(1, SeqCst) == 1 {
            return Err(portico_core::store::StoreError::Unavailable("injected outage".into()));
        }
        if self.conflict_next.swap(false, SeqCst) {
            return Err(portico_core::store::StoreError::Conflict);
        }
        self.inner.transact(writes).await
    }
}

impl TestApp {
    /// Any request, with a bearer token and a JSON body if given; the status
    /// and the JSON (or text) answer.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut req = self.http.request(
            reqwest::Method::from_bytes(method.as_bytes()).expect("method"),
            self.url(path),
        );
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
        )
    }
}

impl TestApp {
    /// A fresh app on a manual clock starting now (tests move it).
    pub async fn with_clock(backend: Backend) -> (Self, Arc<portico_core::clock::ManualClock>) {
        let clock = Arc::new(portico_core::clock::ManualClock::new(chrono::Utc::now()));
        let app = Self::spawn_with(
            backend,
            Options {
                clock: clock.clone(),
                ..Default::default()
            },
        )
        .await;
        (app, clock)
    }
}

/// Seeds the demo data and opens the sessions the samples' claims name
/// (`scripts/make-events.py`): sample-session-<user id> and
/// sample-signout-<user id> for each demo user, and the browser sessions
/// of the web samples' cookies.
pub async fn open_sample_sessions(deps: &portico_core::app::Deps) {
    let users = portico_core::seed::demo(deps).await.expect("sample session");
    let until = chrono::Utc::now() + chrono::Duration::hours(12);
    for u in users {
        let user: portico_core::domain::User = deps
            .table
            .get(&portico_core::store::keys::user(u.id))
            .await
            .expect("sample session")
            .expect("sample session")
            .decode()
            .expect("sample session");
        for prefix in ["sample-session", "sample-signout"] {
            let open = portico_core::sessions::open(&user, &format!("{prefix}-{}", u.id), deps.clock.now(), until)
                .expect("sample session");
            deps.table.transact(vec![open]).await.expect("sample session");
        }
        // The web samples' browser sessions: the cookie's random part is
        // the SHA-256 of `<kind>-<user id>`, base64url.
        for kind in ["sample-browser", "sample-browser-signout"] {
            use base64::Engine;
            use sha2::Digest;
            let id = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(sha2::Sha256::digest(format!("{kind}-{}", u.id).as_bytes()));
            let open = portico_core::sessions::open_browser(&user, &id, deps.clock.now()).expect("sample session");
            deps.table.transact(vec![open]).await.expect("sample session");
        }
    }
}

/// A path in this checkout, found at run time: cargo sets
/// `CARGO_MANIFEST_DIR` when it runs a test. (The compile-time value would
/// name whichever clone built the binary, and clones share a target dir.)
pub fn repo_path(rel: &str) -> std::path::PathBuf {
    let tests = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    tests.join("..").join(rel)
}
pub mod browser;
pub mod web;

/// A reference instance serving on 127.0.0.1:<random port>, not set up yet
/// (register it, then `configure` it with what the registration gave), and
/// its base URL.
pub async fn reference_instance() -> (reference_instance::Instance, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let instance = reference_instance::Instance::new();
    let served = instance.clone();
    tokio::spawn(async move { reference_instance::serve(listener, served).await });
    (instance, base)
}

impl TestApp {
    /// A reference instance registered for `customer` by the platform admin
    /// as `name`, configured with its secret, trusting this app as LogMeIn's
    /// issuer, verified, and with the customer's `consent` (`standing`,
    /// `ask`, `off`) set by its Account Owner: the instance, its base URL
    /// and its id.
    pub async fn verified_instance(
        &self,
        customer: OrgId,
        name: &str,
        consent: &str,
    ) -> (reference_instance::Instance, String, String) {
        use serde_json::json;
        let (instance, base) = reference_instance().await;
        let admin = self.token(Role::PlatformAdmin);
        let (status, reg) = self
            .post(
                &format!("/customers/{customer}/instances"),
                Some(admin),
                json!({ "name": name, "url": base }),
            )
            .await;
        assert_eq!(status, 201, "{reg}");
        let id = reg["instance"]["id"].as_str().expect("an id").to_string();
        instance.configure(reference_instance::Setup {
            instance_id: id.clone(),
            secret: reg["secret"].as_str().expect("a secret").into(),
            url: base.clone(),
            profile: portico_core::instances::Profile::Present,
        });
        instance.set_portico(&self.base);
        instance.set_issuer(&self.deps.settings.public_url);
        let (status, v) = self
            .post(
                &format!("/customers/{customer}/instances/{id}/verify"),
                Some(admin),
                json!({}),
            )
            .await;
        assert_eq!(
            (status, v["connection"]["state"].as_str()),
            (200, Some("verified")),
            "{v}"
        );
        let (status, body) = self
            .put(
                &format!("/customers/{customer}/instances/{id}/access"),
                self.token(Role::CustomerAccountOwner),
                json!({ "mode": consent }),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        (instance, base, id)
    }
}

/// Runs the first `sh` block of the README section under `heading` as
/// written (bash, curl, python3) against `app`, with the demo users' tokens
/// in `.portico/demo-tokens.env` as the local portal writes them; asserts
/// it succeeded and no answer was a problem; returns what it printed.
pub async fn run_readme_section(app: &TestApp, heading: &str) -> String {
    let readme = std::fs::read_to_string(repo_path("README.md")).expect("README.md");
    let section = &readme[readme.find(heading).unwrap_or_else(|| panic!("the section {heading}"))..];
    let start = section.find("```sh\n").expect("its shell block") + "```sh\n".len();
    let block = &section[start..start + section[start..].find("```").expect("the block's end")];
    assert!(block.contains("B=http://127.0.0.1:8080"), "{block}");
    let script = format!(
        "set -euo pipefail\n{}",
        block.replace("B=http://127.0.0.1:8080", &format!("B={}", app.base))
    );
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join(".portico")).expect("mkdir");
    let mut env = String::new();
    for (role, token) in &app.tokens {
        let name = role.as_str().to_uppercase();
        env.push_str(&format!("{name}_TOKEN={token}\n{name}_ID={}\n", app.users[role]));
    }
    std::fs::write(dir.path().join(".portico/demo-tokens.env"), env).expect("env file");
    let out = tokio::process::Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(dir.path())
        .output()
        .await
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !stdout.contains("\"status\":4") && !stdout.contains("\"status\":5"),
        "a problem answered: {stdout}"
    );
    stdout
}
