//! Configuration and the one builder every entry point uses: the Lambdas,
//! the local portal and the tests all get their [`Deps`] from here.

use std::path::PathBuf;
use std::sync::Arc;

use crate::authz::Authz;
use crate::clock::{Clock, IdGen, RandomIds, SystemClock};
use crate::http::principal::Auth;
use crate::identity::Identity;
use crate::identity::cognito::CognitoIdentity;
#[cfg(feature = "local")]
use crate::identity::{local::LocalIdentity, tokens::LocalTokens};
use crate::mail::Mailer;
#[cfg(feature = "local")]
use crate::mail::outbox::Outbox;
use crate::mail::ses::SesMailer;
use crate::store::Table;
use crate::store::dynamo::DynamoTable;
#[cfg(feature = "local")]
use crate::store::sqlite::SqliteTable;

/// Everything an operation may touch. Built once per cold start.
pub struct Deps {
    pub table: Arc<dyn Table>,
    pub mailer: Arc<dyn Mailer>,
    pub clock: Arc<dyn Clock>,
    pub ids: Arc<dyn IdGen>,
    pub authz: Arc<Authz>,
    pub auth: Auth,
    /// The local outbox, when mail goes there (serves `/_local/outbox`).
    #[cfg(feature = "local")]
    pub outbox: Option<Arc<Outbox>>,
    pub identity: Arc<dyn Identity>,
    /// Settings that shape links and emails.
    pub settings: Settings,
}

/// Settings operations read (from `Config`).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Base URL of the web app that emailed links open (`PORTICO_PUBLIC_URL`);
    /// never taken from a request's Host header.
    pub public_url: String,
    /// The product's name in emails.
    pub product_name: String,
    /// The local portal only: a reverse proxy whose `X-Forwarded-For` is
    /// believed (`PORTICO_TRUSTED_PROXY`). In Lambda the source IP always
    /// comes from API Gateway's request context.
    pub trusted_proxy: Option<std::net::IpAddr>,
    /// When inactive partner users are warned and suspended.
    pub inactivity: crate::inactivity::InactivityPolicy,
    /// How often one source IP may call the public routes.
    pub public_rate: crate::http::throttle::PublicRate,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            public_url: "http://127.0.0.1:8080".into(),
            product_name: "Portico".into(),
            trusted_proxy: None,
            inactivity: Default::default(),
            public_rate: Default::default(),
        }
    }
}

pub type AppState = Arc<Deps>;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is required")]
    Missing(&'static str),
    #[error("{0}")]
    Invalid(String),
}

/// Which adapters to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite + file outbox in the data folder (the local portal's default;
    /// only with the `local` feature).
    Embedded,
    /// DynamoDB + SES (endpoints from the standard `AWS_ENDPOINT_URL_*` variables).
    Aws,
}

/// Settings read from the environment. Names are documented in the README.
#[derive(Debug, Clone)]
pub struct Config {
    pub backend: Backend,
    /// `PORTICO_DATA_DIR`, default `./.portico`.
    pub data_dir: PathBuf,
    /// `PORTICO_TABLE`: the DynamoDB table (required for the AWS backend).
    pub table: Option<String>,
    /// `PORTICO_MAIL_FROM`: the sender of every email.
    pub mail_from: crate::mail::Mailbox,
    /// `PORTICO_PUBLIC_URL`: base of emailed links.
    pub public_url: String,
    /// `PORTICO_USER_POOL_ID`, `PORTICO_USER_POOL_CLIENT_ID`: Cognito (AWS backend).
    pub user_pool_id: Option<String>,
    pub user_pool_client_id: Option<String>,
    /// `PORTICO_TRUSTED_PROXY`: see [`Settings::trusted_proxy`].
    pub trusted_proxy: Option<std::net::IpAddr>,
    /// `PORTICO_SUSPEND_AFTER_DAYS` (default 21), `PORTICO_WARN_DAYS_BEFORE` (default 3).
    pub inactivity: crate::inactivity::InactivityPolicy,
    /// `PORTICO_PUBLIC_RATE_PER_MINUTE` (default 30), `PORTICO_PUBLIC_BURST` (default 15).
    pub public_rate: crate::http::throttle::PublicRate,
}

impl Config {
    pub fn from_env(default_backend: Backend) -> Result<Self, ConfigError> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let backend = match var("PORTICO_BACKEND").as_deref() {
            None => default_backend,
            Some("embedded") => Backend::Embedded,
            Some("aws") => Backend::Aws,
            Some(other) => {
                return Err(ConfigError::Invalid(format!(
                    "PORTICO_BACKEND must be embedded or aws, not {other:?}"
                )));
            }
        };
        let cfg = Self {
            backend,
            data_dir: var("PORTICO_DATA_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(".portico")),
            table: var("PORTICO_TABLE"),
            mail_from: crate::mail::Mailbox::parse(
                &var("PORTICO_MAIL_FROM").unwrap_or_else(|| "Portico <no-reply@portico.example.com>".into()),
            )
            .map_err(|e| ConfigError::Invalid(format!("PORTICO_MAIL_FROM: {e}")))?,
            public_url: var("PORTICO_PUBLIC_URL")
                .unwrap_or_else(|| Settings::default().public_url)
                .trim_end_matches('/')
                .to_string(),
            user_pool_id: var("PORTICO_USER_POOL_ID"),
            user_pool_client_id: var("PORTICO_USER_POOL_CLIENT_ID"),
            trusted_proxy: match var("PORTICO_TRUSTED_PROXY") {
                None => None,
                Some(v) => Some(
                    v.parse()
                        .map_err(|_| ConfigError::Invalid("PORTICO_TRUSTED_PROXY must be an IP address".into()))?,
                ),
            },
            inactivity: {
                let days = |k: &str, default: u32| -> Result<u32, ConfigError> {
                    match var(k) {
                        None => Ok(default),
                        Some(v) => v
                            .parse::<u32>()
                            .ok()
                            .filter(|d| (1..=3650).contains(d) || (k == "PORTICO_WARN_DAYS_BEFORE" && *d == 0))
                            .ok_or_else(|| ConfigError::Invalid(format!("{k} must be a number of days"))),
                    }
                };
                let policy = crate::inactivity::InactivityPolicy {
                    suspend_after_days: days("PORTICO_SUSPEND_AFTER_DAYS", 21)?,
                    warn_days_before: days("PORTICO_WARN_DAYS_BEFORE", 3)?,
                };
                if policy.warn_days_before >= policy.suspend_after_days {
                    return Err(ConfigError::Invalid(
                        "PORTICO_WARN_DAYS_BEFORE must be less than PORTICO_SUSPEND_AFTER_DAYS".into(),
                    ));
                }
                policy
            },
            public_rate: {
                let n = |k: &str, default: u32| -> Result<u32, ConfigError> {
                    match var(k) {
                        None => Ok(default),
                        Some(v) => v
                            .parse::<u32>()
                            .ok()
                            .filter(|n| (1..=1_000_000).contains(n))
                            .ok_or_else(|| ConfigError::Invalid(format!("{k} must be a number from 1 to 1000000"))),
                    }
                };
                let d = crate::http::throttle::PublicRate::default();
                crate::http::throttle::PublicRate {
                    per_minute: n("PORTICO_PUBLIC_RATE_PER_MINUTE", d.per_minute)?,
                    burst: n("PORTICO_PUBLIC_BURST", d.burst)?,
                }
            },
        };
        if !(cfg.public_url.starts_with("https://") || cfg.public_url.starts_with("http://")) {
            return Err(ConfigError::Invalid("PORTICO_PUBLIC_URL must be an http(s) URL".into()));
        }
        if cfg.backend == Backend::Aws && cfg.table.is_none() {
            return Err(ConfigError::Missing("PORTICO_TABLE"));
        }
        Ok(cfg)
    }
}

impl Config {
    /// The settings operations read.
    pub fn settings(&self) -> Settings {
        Settings {
            public_url: self.public_url.clone(),
            product_name: "Portico".into(),
            trusted_proxy: self.trusted_proxy,
            inactivity: self.inactivity,
            public_rate: self.public_rate,
        }
    }
}

/// The SDK configuration in Lambda: credentials from the environment, where
/// Lambda always puts them, and the region Lambda sets. aws-config's default
/// chain would also build a web-identity STS client, loading the system's
/// CA certificates on every cold start (16% of init was that alone).
/// Endpoint overrides still come from the standard `AWS_ENDPOINT_URL*`
/// variables.
async fn lambda_sdk_config() -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .credentials_provider(aws_config::environment::EnvironmentVariableCredentialsProvider::new());
    if let Ok(region) = std::env::var("AWS_REGION") {
        loader = loader.region(aws_config::Region::new(region));
    }
    loader.load().await
}

impl Deps {
    /// The Lambda functions' dependencies: AWS adapters, identity from the API
    /// Gateway JWT authorizer.
    pub async fn for_lambda() -> Result<Self, ConfigError> {
        let cfg = Config::from_env(Backend::Aws)?;
        Self::build_aws(&cfg, Auth::ApiGateway, lambda_sdk_config().await)
    }

    /// Builds the adapters `cfg` asks for.
    pub async fn build(cfg: &Config, auth: Auth) -> Result<Self, ConfigError> {
        match cfg.backend {
            #[cfg(not(feature = "local"))]
            Backend::Embedded => Err(ConfigError::Invalid(
                "PORTICO_BACKEND=embedded: this build has no embedded store (the local portal has)".into(),
            )),
            #[cfg(feature = "local")]
            Backend::Embedded => {
                let clock: Arc<dyn Clock> = Arc::new(SystemClock);
                let ids: Arc<dyn IdGen> = Arc::new(RandomIds);
                let invalid = |e: &dyn std::fmt::Display| ConfigError::Invalid(e.to_string());
                let table: Arc<dyn Table> =
                    Arc::new(SqliteTable::open(&cfg.data_dir, clock.clone()).map_err(|e| invalid(&e))?);
                let outbox = Arc::new(
                    Outbox::new(
                        &cfg.data_dir.join("outbox"),
                        cfg.mail_from.clone(),
                        clock.clone(),
                        ids.clone(),
                    )
                    .map_err(|e| invalid(&e))?,
                );
                let tokens = match &auth {
                    Auth::LocalToken(t) => t.clone(),
                    _ => Arc::new(LocalTokens::load_or_create(&cfg.data_dir).map_err(|e| invalid(&e))?),
                };
                let identity = Arc::new(LocalIdentity::new(table.clone(), tokens, clock.clone()));
                Ok(Self {
                    table,
                    mailer: outbox.clone(),
                    clock,
                    ids,
                    authz: Arc::new(Authz::new().map_err(|e| invalid(&e))?),
                    auth,
                    outbox: Some(outbox),
                    identity,
                    settings: cfg.settings(),
                })
            }
            Backend::Aws => {
                let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
                Self::build_aws(cfg, auth, sdk)
            }
        }
    }

    /// The AWS adapters on `sdk`.
    fn build_aws(cfg: &Config, auth: Auth, sdk: aws_config::SdkConfig) -> Result<Self, ConfigError> {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let authz = Arc::new(Authz::new().map_err(|e| ConfigError::Invalid(e.to_string()))?);
        let table_name = cfg.table.clone().ok_or(ConfigError::Missing("PORTICO_TABLE"))?;
        let pool = cfg
            .user_pool_id
            .clone()
            .ok_or(ConfigError::Missing("PORTICO_USER_POOL_ID"))?;
        let client = cfg
            .user_pool_client_id
            .clone()
            .ok_or(ConfigError::Missing("PORTICO_USER_POOL_CLIENT_ID"))?;
        let table: Arc<dyn Table> = Arc::new(DynamoTable::new(
            aws_sdk_dynamodb::Client::new(&sdk),
            table_name,
            clock.clone(),
        ));
        let identity = Arc::new(CognitoIdentity::new(
            aws_sdk_cognitoidentityprovider::Client::new(&sdk),
            pool,
            client,
            table.clone(),
            clock.clone(),
        ));
        Ok(Self {
            table,
            mailer: Arc::new(SesMailer::new(aws_sdk_ses::Client::new(&sdk), &cfg.mail_from)),
            clock,
            ids: Arc::new(RandomIds),
            authz,
            auth,
            #[cfg(feature = "local")]
            outbox: None,
            identity,
            settings: cfg.settings(),
        })
    }

    #[cfg(feature = "local")]
    /// The local portal's token verifier, with its secret kept in the data folder.
    pub fn local_auth(cfg: &Config) -> Result<Auth, ConfigError> {
        Ok(Auth::LocalToken(Arc::new(
            LocalTokens::load_or_create(&cfg.data_dir).map_err(|e| ConfigError::Invalid(e.to_string()))?,
        )))
    }
}
