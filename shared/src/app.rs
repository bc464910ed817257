//! Configuration and the one builder every entry point uses: the Lambdas,
//! the local portal and the tests all get their [`Deps`] from here.

use std::path::PathBuf;
use std::sync::Arc;

use crate::authz::Authz;
use crate::clock::{Clock, IdGen, RandomIds, SystemClock};
use crate::http::principal::Auth;
use crate::identity::cognito::CognitoIdentity;
use crate::identity::{Identity, NotLinked as NotLinkedIdentity};
#[cfg(feature = "local")]
use crate::identity::{local::LocalIdentity, tokens::JwtVerifier, tokens::LocalTokens};
#[cfg(feature = "local")]
use crate::mail::outbox::Outbox;
use crate::mail::ses::SesMailer;
use crate::mail::{Mailer, NotLinked as NotLinkedMailer};
use crate::outbound::{NotLinked as NotLinkedOutbound, Outbound};
use crate::secrets::{KmsSealer, NotLinked as NotLinkedSealer, Sealer};
use crate::store::Table;
use crate::store::dynamo::DynamoTable;
#[cfg(feature = "local")]
use crate::store::sqlite::SqliteTable;

/// Which adapters besides the table a function uses. Each
/// `functions::<name>` module says, and its Lambda builds, and links, only
/// those: the others are [`crate::identity::NotLinked`] and
/// [`crate::mail::NotLinked`], which refuse every call. The events test
/// runs every sample through its function with only what it declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Using {
    /// Cognito (sign-in, passwords, MFA, suspension).
    pub identity: bool,
    /// SES.
    pub mail: bool,
    /// KMS: connection secrets (`crate::secrets`).
    pub secrets: bool,
    /// Calls to customer instances (`crate::outbound`; the crate's
    /// `outbound` feature must be on).
    pub outbound: bool,
    /// KMS: the keys that sign LogMeIn assertions (`crate::login_keys`).
    pub signer: bool,
}

impl Using {
    pub const EVERYTHING: Using = Using {
        identity: true,
        mail: true,
        secrets: true,
        outbound: true,
        signer: true,
    };
    pub const TABLE_ONLY: Using = Using {
        identity: false,
        mail: false,
        secrets: false,
        outbound: false,
        signer: false,
    };
}

/// A function's [`Using`], as a type, so that a Lambda's builder is compiled
/// for it and what it does not use is not in the binary.
pub trait Uses {
    const USING: Using;
}

/// Every adapter: the local portal and the tests.
pub struct UsesEverything;

impl Uses for UsesEverything {
    const USING: Using = Using::EVERYTHING;
}

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
    /// Connection secrets at rest (KMS, or the local key file).
    pub sealer: Arc<dyn Sealer>,
    /// Calls to customer instances (SSRF-safe).
    pub outbound: Arc<dyn Outbound>,
    /// The keys that sign LogMeIn assertions (KMS, or local key files).
    pub signer: Arc<dyn crate::login_keys::Signer>,
    /// Settings that shape links and emails.
    pub settings: Settings,
    /// Rung when a settings change commits: the local portal's delivery
    /// worker wakes (in AWS the table's stream starts `deliver-changes`).
    pub deliveries_due: Arc<tokio::sync::Notify>,
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
    /// What outbound calls to instances may reach (loopback only in the
    /// local portal, for the reference instance).
    pub outbound: crate::outbound::Policy,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            public_url: "http://127.0.0.1:8080".into(),
            product_name: "Portico".into(),
            trusted_proxy: None,
            inactivity: Default::default(),
            public_rate: Default::default(),
            outbound: Default::default(),
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

/// The sender when `PORTICO_MAIL_FROM` is not set.
pub const DEFAULT_SENDER: &str = "Portico <no-reply@portico.example.com>";

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
    /// The product's name in emails ("Portico").
    pub product_name: String,
    /// `PORTICO_USER_POOL_ID`, `PORTICO_USER_POOL_CLIENT_ID`: Cognito (AWS backend).
    pub user_pool_id: Option<String>,
    pub user_pool_client_id: Option<String>,
    /// `PORTICO_JWT_ISSUER`, `PORTICO_JWKS_URL`: where the local portal on
    /// the AWS backend checks Cognito ID tokens (default: the pool's issuer
    /// in `AWS_REGION`, and its `/.well-known/jwks.json`).
    pub jwt_issuer: Option<String>,
    pub jwks_url: Option<String>,
    /// `PORTICO_TRUSTED_PROXY`: see [`Settings::trusted_proxy`].
    pub trusted_proxy: Option<std::net::IpAddr>,
    /// `PORTICO_SUSPEND_AFTER_DAYS` (default 21), `PORTICO_WARN_DAYS_BEFORE` (default 3).
    pub inactivity: crate::inactivity::InactivityPolicy,
    /// `PORTICO_PUBLIC_RATE_PER_MINUTE` (default 30), `PORTICO_PUBLIC_BURST` (default 15).
    pub public_rate: crate::http::throttle::PublicRate,
    /// `PORTICO_SECRETS_KEY`: the KMS key (id, ARN or alias) that seals
    /// connection secrets (AWS backend; the embedded one uses a key file).
    pub secrets_key: Option<String>,
    /// `PORTICO_LOGIN_KEY`: the asymmetric KMS key (ECC_NIST_P256) that
    /// signs LogMeIn assertions first (AWS backend; rotation adds more; the
    /// embedded one uses key files).
    pub login_key: Option<String>,
    /// `PORTICO_ALLOW_LOOPBACK_INSTANCES` (the local portal only; default on
    /// with the embedded store): instances at 127.0.0.1 or localhost over
    /// http, for the reference instance. Lambda builds cannot set it.
    pub allow_loopback_instances: bool,
}

impl Config {
    /// The defaults, as `from_env` reads them when nothing is set (tests
    /// start here and set what they need).
    pub fn new(backend: Backend) -> Result<Self, ConfigError> {
        Ok(Self {
            backend,
            data_dir: PathBuf::from(".portico"),
            table: None,
            mail_from: crate::mail::Mailbox::parse(DEFAULT_SENDER).map_err(ConfigError::Invalid)?,
            public_url: Settings::default().public_url,
            product_name: Settings::default().product_name,
            user_pool_id: None,
            user_pool_client_id: None,
            jwt_issuer: None,
            jwks_url: None,
            trusted_proxy: None,
            inactivity: Default::default(),
            public_rate: Default::default(),
            secrets_key: None,
            login_key: None,
            allow_loopback_instances: cfg!(feature = "local") && backend == Backend::Embedded,
        })
    }

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
        let defaults = Self::new(backend)?;
        let cfg = Self {
            data_dir: var("PORTICO_DATA_DIR").map(PathBuf::from).unwrap_or(defaults.data_dir),
            table: var("PORTICO_TABLE"),
            mail_from: match var("PORTICO_MAIL_FROM") {
                None => defaults.mail_from,
                Some(v) => crate::mail::Mailbox::parse(&v)
                    .map_err(|e| ConfigError::Invalid(format!("PORTICO_MAIL_FROM: {e}")))?,
            },
            public_url: var("PORTICO_PUBLIC_URL")
                .unwrap_or(defaults.public_url)
                .trim_end_matches('/')
                .to_string(),
            user_pool_id: var("PORTICO_USER_POOL_ID"),
            user_pool_client_id: var("PORTICO_USER_POOL_CLIENT_ID"),
            jwt_issuer: var("PORTICO_JWT_ISSUER"),
            jwks_url: var("PORTICO_JWKS_URL"),
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
            secrets_key: var("PORTICO_SECRETS_KEY"),
            login_key: var("PORTICO_LOGIN_KEY"),
            allow_loopback_instances: match var("PORTICO_ALLOW_LOOPBACK_INSTANCES").as_deref() {
                None => defaults.allow_loopback_instances,
                Some("1" | "true" | "yes") if cfg!(feature = "local") => true,
                Some("0" | "false" | "no") => false,
                Some(other) => {
                    return Err(ConfigError::Invalid(format!(
                        "PORTICO_ALLOW_LOOPBACK_INSTANCES must be true or false (and only the local portal may allow loopback), not {other:?}"
                    )));
                }
            },
            ..defaults
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
            product_name: self.product_name.clone(),
            trusted_proxy: self.trusted_proxy,
            inactivity: self.inactivity,
            public_rate: self.public_rate,
            outbound: crate::outbound::Policy {
                allow_loopback: cfg!(feature = "local") && self.allow_loopback_instances,
            },
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

/// The SSRF-safe client, in a build that has it.
#[cfg(feature = "outbound")]
fn outbound_client(policy: crate::outbound::Policy) -> Result<Arc<dyn Outbound>, ConfigError> {
    Ok(Arc::new(
        crate::outbound::Client::new(policy).map_err(ConfigError::Invalid)?,
    ))
}

/// A function that says it calls instances must be built with the `outbound` feature.
#[cfg(not(feature = "outbound"))]
fn outbound_client(_: crate::outbound::Policy) -> Result<Arc<dyn Outbound>, ConfigError> {
    Err(ConfigError::Invalid(
        "this function calls instances but was built without the outbound feature".into(),
    ))
}

/// Wraps an adapter, e.g. to inject faults or count calls (tests).
pub type Wrap<T> = Box<dyn FnOnce(Arc<T>) -> Arc<T> + Send>;

/// What a caller of [`Deps::build`] may put in place of what the
/// configuration would build. The Lambdas set the SDK configuration and the
/// API Gateway authentication; the local portal sets nothing; the tests set
/// the clock, ids, table, wrappers, SDK endpoints and interceptor.
#[derive(Default)]
pub struct Overrides {
    pub clock: Option<Arc<dyn Clock>>,
    pub ids: Option<Arc<dyn IdGen>>,
    /// The table, instead of the one the configuration names.
    pub table: Option<Arc<dyn Table>>,
    /// Wraps the table operations use (the identity keeps the unwrapped one,
    /// as Cognito stands apart from Portico's table).
    pub wrap_table: Option<Wrap<dyn Table>>,
    pub wrap_identity: Option<Wrap<dyn Identity>>,
    pub wrap_mailer: Option<Wrap<dyn Mailer>>,
    /// Wraps the outbound port (tests count or fail calls).
    pub wrap_outbound: Option<Wrap<dyn Outbound>>,
    /// The AWS clients' configuration, instead of aws-config's defaults.
    pub sdk: Option<aws_config::SdkConfig>,
    /// DynamoDB's, when it differs from the others' (tests: DynamoDB Local
    /// beside moto).
    pub dynamodb_sdk: Option<aws_config::SdkConfig>,
    /// An interceptor on every AWS client (tests record the calls made).
    pub sdk_interceptor: Option<aws_sdk_dynamodb::config::SharedInterceptor>,
    /// How requests authenticate. Unless set: the local portal's tokens on
    /// the embedded backend; on AWS, those and Cognito ID tokens (local
    /// builds), or API Gateway's authorizer (Lambda builds).
    pub auth: Option<Auth>,
    /// Validate every authorization decision against the Cedar schema (tests).
    pub checked_authz: bool,
}

impl Deps {
    /// The Lambda functions' dependencies: AWS adapters, identity from the API
    /// Gateway JWT authorizer.
    pub async fn for_lambda<U: Uses>() -> Result<Self, ConfigError> {
        let cfg = Config::from_env(Backend::Aws)?;
        Self::build_for::<U>(
            &cfg,
            Overrides {
                sdk: Some(lambda_sdk_config().await),
                auth: Some(Auth::ApiGateway),
                ..Overrides::default()
            },
        )
        .await
    }

    /// The one builder: the adapters `cfg` asks for, with `o` in place of
    /// what it sets. Every entry point (Lambdas, local portal, tests) comes
    /// through here.
    pub async fn build(cfg: &Config, o: Overrides) -> Result<Self, ConfigError> {
        Self::build_for::<UsesEverything>(cfg, o).await
    }

    /// [`Deps::build`] with only the adapters `U` uses (on AWS; the embedded
    /// ones are all built, they cost nothing).
    pub async fn build_for<U: Uses>(cfg: &Config, o: Overrides) -> Result<Self, ConfigError> {
        let invalid = |e: &dyn std::fmt::Display| ConfigError::Invalid(e.to_string());
        let clock = o.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let ids = o.ids.unwrap_or_else(|| Arc::new(RandomIds));
        let authz = Arc::new(
            if o.checked_authz {
                Authz::checked()
            } else {
                Authz::new()
            }
            .map_err(|e| invalid(&e))?,
        );
        #[cfg(feature = "local")]
        let mut outbox = None;
        type Adapters = (
            Arc<dyn Table>,
            Arc<dyn Identity>,
            Arc<dyn Mailer>,
            Arc<dyn Sealer>,
            Arc<dyn crate::login_keys::Signer>,
            Auth,
        );
        let (table, identity, mailer, sealer, signer, auth): Adapters = match cfg.backend {
            #[cfg(not(feature = "local"))]
            Backend::Embedded => {
                return Err(ConfigError::Invalid(
                    "PORTICO_BACKEND=embedded: this build has no embedded store (the local portal has)".into(),
                ));
            }
            #[cfg(feature = "local")]
            Backend::Embedded => {
                let table: Arc<dyn Table> = match o.table {
                    Some(t) => t,
                    None => Arc::new(SqliteTable::open(&cfg.data_dir, clock.clone()).map_err(|e| invalid(&e))?),
                };
                let sent = Arc::new(
                    Outbox::new(
                        &cfg.data_dir.join("outbox"),
                        cfg.mail_from.clone(),
                        clock.clone(),
                        ids.clone(),
                    )
                    .map_err(|e| invalid(&e))?,
                );
                outbox = Some(sent.clone());
                let tokens = Arc::new(LocalTokens::load_or_create(&cfg.data_dir).map_err(|e| invalid(&e))?);
                let identity = Arc::new(LocalIdentity::new(table.clone(), tokens.clone(), clock.clone()));
                let auth = o.auth.unwrap_or(Auth::LocalToken(tokens));
                let sealer =
                    Arc::new(crate::secrets::LocalSealer::load_or_create(&cfg.data_dir).map_err(|e| invalid(&e))?);
                let signer = Arc::new(crate::login_keys::LocalSigner::new(&cfg.data_dir));
                (table, identity, sent, sealer, signer, auth)
            }
            Backend::Aws => {
                let sdk = match o.sdk {
                    Some(sdk) => sdk,
                    None => aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await,
                };
                let dynamodb_sdk = o.dynamodb_sdk.unwrap_or_else(|| sdk.clone());
                let interceptor = o.sdk_interceptor;
                let table: Arc<dyn Table> = match o.table {
                    Some(t) => t,
                    None => {
                        let mut conf = aws_sdk_dynamodb::config::Builder::from(&dynamodb_sdk);
                        if let Some(i) = &interceptor {
                            conf.push_interceptor(i.clone());
                        }
                        let name = cfg.table.clone().ok_or(ConfigError::Missing("PORTICO_TABLE"))?;
                        Arc::new(DynamoTable::new(
                            aws_sdk_dynamodb::Client::from_conf(conf.build()),
                            name,
                            clock.clone(),
                        ))
                    }
                };
                let pool = || {
                    cfg.user_pool_id
                        .clone()
                        .ok_or(ConfigError::Missing("PORTICO_USER_POOL_ID"))
                };
                let client = || {
                    cfg.user_pool_client_id
                        .clone()
                        .ok_or(ConfigError::Missing("PORTICO_USER_POOL_CLIENT_ID"))
                };
                // `U::USING` is a constant: the branch not taken, and the
                // client it would build, are compiled out of the Lambda.
                let identity: Arc<dyn Identity> = if U::USING.identity {
                    let mut idp = aws_sdk_cognitoidentityprovider::config::Builder::from(&sdk);
                    if let Some(i) = &interceptor {
                        idp.push_interceptor(i.clone());
                    }
                    Arc::new(CognitoIdentity::new(
                        aws_sdk_cognitoidentityprovider::Client::from_conf(idp.build()),
                        pool()?,
                        client()?,
                        table.clone(),
                        clock.clone(),
                    ))
                } else {
                    Arc::new(NotLinkedIdentity::default())
                };
                let mailer: Arc<dyn Mailer> = if U::USING.mail {
                    let mut ses = aws_sdk_ses::config::Builder::from(&sdk);
                    if let Some(i) = &interceptor {
                        ses.push_interceptor(i.clone());
                    }
                    Arc::new(SesMailer::new(
                        aws_sdk_ses::Client::from_conf(ses.build()),
                        &cfg.mail_from,
                    ))
                } else {
                    Arc::new(NotLinkedMailer::default())
                };
                let sealer: Arc<dyn Sealer> = if U::USING.secrets {
                    let mut kms = aws_sdk_kms::config::Builder::from(&sdk);
                    if let Some(i) = &interceptor {
                        kms.push_interceptor(i.clone());
                    }
                    Arc::new(KmsSealer::new(
                        aws_sdk_kms::Client::from_conf(kms.build()),
                        cfg.secrets_key
                            .clone()
                            .ok_or(ConfigError::Missing("PORTICO_SECRETS_KEY"))?,
                    ))
                } else {
                    Arc::new(NotLinkedSealer::default())
                };
                let signer: Arc<dyn crate::login_keys::Signer> = if U::USING.signer {
                    let mut kms = aws_sdk_kms::config::Builder::from(&sdk);
                    if let Some(i) = &interceptor {
                        kms.push_interceptor(i.clone());
                    }
                    Arc::new(crate::login_keys::KmsSigner::new(
                        aws_sdk_kms::Client::from_conf(kms.build()),
                        cfg.login_key.clone(),
                    ))
                } else {
                    Arc::new(crate::login_keys::NotLinked::default())
                };
                let auth = match o.auth {
                    Some(a) => a,
                    None => Self::aws_default_auth(cfg, &sdk, &pool()?, &client()?).await?,
                };
                (table, identity, mailer, sealer, signer, auth)
            }
        };
        let identity = match o.wrap_identity {
            Some(wrap) => wrap(identity),
            None => identity,
        };
        let mailer = match o.wrap_mailer {
            Some(wrap) => wrap(mailer),
            None => mailer,
        };
        let table = match o.wrap_table {
            Some(wrap) => wrap(table),
            None => table,
        };
        let settings = cfg.settings();
        let outbound: Arc<dyn Outbound> = if U::USING.outbound {
            outbound_client(settings.outbound)?
        } else {
            Arc::new(NotLinkedOutbound::default())
        };
        let outbound = match o.wrap_outbound {
            Some(wrap) => wrap(outbound),
            None => outbound,
        };
        Ok(Self {
            table,
            mailer,
            clock,
            ids,
            authz,
            auth,
            #[cfg(feature = "local")]
            outbox,
            identity,
            sealer,
            outbound,
            signer,
            settings,
            deliveries_due: Arc::default(),
        })
    }

    /// Lambda builds: API Gateway's authorizer has checked the token.
    #[cfg(not(feature = "local"))]
    async fn aws_default_auth(
        _cfg: &Config,
        _sdk: &aws_config::SdkConfig,
        _pool: &str,
        _client: &str,
    ) -> Result<Auth, ConfigError> {
        Ok(Auth::ApiGateway)
    }

    /// The local portal on AWS: its own tokens, and Cognito's ID tokens
    /// checked against the pool's keys as API Gateway's authorizer would.
    #[cfg(feature = "local")]
    async fn aws_default_auth(
        cfg: &Config,
        sdk: &aws_config::SdkConfig,
        pool: &str,
        client: &str,
    ) -> Result<Auth, ConfigError> {
        let tokens =
            Arc::new(LocalTokens::load_or_create(&cfg.data_dir).map_err(|e| ConfigError::Invalid(e.to_string()))?);
        let issuer = match &cfg.jwt_issuer {
            Some(i) => i.clone(),
            None => {
                let region = sdk.region().ok_or(ConfigError::Missing("AWS_REGION"))?;
                format!("https://cognito-idp.{region}.amazonaws.com/{pool}")
            }
        };
        let jwks = cfg
            .jwks_url
            .clone()
            .unwrap_or_else(|| format!("{issuer}/.well-known/jwks.json"));
        let verifier = JwtVerifier::fetch(&jwks, issuer, client.to_string())
            .await
            .map_err(ConfigError::Invalid)?;
        Ok(Auth::Both(tokens, Arc::new(verifier)))
    }
}
