//! The `Identity` port: passwords, TOTP and tokens. Adapters: Cognito
//! ([`cognito::CognitoIdentity`]) and the local identity
//! ([`local::LocalIdentity`]: argon2id, RFC 6238 TOTP, lockout). Portico's
//! own rules (who must use MFA, recovery codes, code replay, links) live in
//! `ops::session`, above the port, so both adapters get them.
//!
//! Sessions are opaque strings an adapter hands out for the next step of a
//! sign-in; Portico passes them through the client and never looks inside.

pub mod cognito;
#[cfg(feature = "local")]
pub mod local;
#[cfg(feature = "local")]
pub mod tokens;

use async_trait::async_trait;

use crate::domain::{EmailAddress, OrgId, OrgKind, Password, UserId};

/// Claim names in Cognito ID tokens: Portico's user id is the Cognito
/// username; the organisation is a read-only custom attribute.
pub const CLAIM_USER: &str = "cognito:username";
pub const CLAIM_ORG: &str = "custom:org";
/// The organisation's kind, a read-only custom attribute too.
pub const CLAIM_ORG_KIND: &str = "custom:org_kind";

/// How long an account stays locked after too many failed codes (the
/// `Retry-After` of a 423).
pub const LOCK_MINUTES: i64 = 15;

/// What a verified token says of its caller (API Gateway's claims in
/// Lambda, a verified bearer token locally).
#[derive(Debug, Clone)]
pub struct Claimed {
    pub user: String,
    pub org: String,
    pub auth_time: Option<i64>,
    pub org_kind: Option<OrgKind>,
    pub session_id: Option<String>,
}

/// The refusal of a token that names no Portico user.
pub fn unauthenticated_subject() -> crate::error::AppError {
    crate::error::AppError::Unauthenticated("The token does not name a Portico user.")
}

/// Who an identity is for.
#[derive(Debug, Clone, Copy)]
pub struct IdentityUser<'a> {
    pub id: UserId,
    pub org_id: OrgId,
    pub org_kind: OrgKind,
    pub email: &'a EmailAddress,
}

/// What a completed sign-in yields. `id_token` is the bearer token clients
/// send (Cognito's ID token, or the local portal's signed token); it works
/// once Portico opens its session (`sessions::open`).
pub struct Tokens {
    pub user_id: UserId,
    pub id_token: String,
    pub expires_in: i64,
    /// The token's session id (`origin_jti` or `jti`).
    pub session_id: String,
    /// Cognito's access token, for enrolling an authenticator; held in
    /// memory only, never stored in clear or sent to clients.
    pub access_token: Option<String>,
}

impl Tokens {
    /// Tokens an identity provider just issued: the session id and lifetime
    /// are read from the ID token.
    pub fn issued(user_id: UserId, id_token: String, access_token: Option<String>) -> Result<Self, IdentityError> {
        let (session_id, lifetime) = crate::sessions::id_of_issued(&id_token)
            .ok_or_else(|| IdentityError::Unavailable("the ID token names no session (jti) or lifetime".into()))?;
        Ok(Self {
            user_id,
            expires_in: lifetime,
            id_token,
            session_id,
            access_token,
        })
    }
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("user_id", &self.user_id)
            .finish_non_exhaustive()
    }
}

/// The next step after a password.
#[derive(Debug)]
pub enum SignIn {
    /// Answer with a TOTP code: [`Identity::answer_mfa`].
    MfaCode { session: String },
    /// Enrol an authenticator first: [`Identity::begin_totp`].
    MfaSetup { session: String },
    /// Signed in; no MFA is enrolled at the identity.
    Done(Tokens),
}

pub struct TotpSetup {
    /// Base32 secret for the authenticator app.
    pub secret: String,
    /// The session to confirm with.
    pub session: String,
}

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("wrong credentials")]
    BadCredentials,
    #[error("code mismatch")]
    CodeMismatch,
    #[error("locked")]
    Locked,
    /// The password is right but the identity is disabled.
    #[error("disabled")]
    Disabled,
    #[error("session expired or unknown")]
    SessionExpired,
    #[error("password refused by the identity provider: {0}")]
    PasswordRefused(String),
    #[error("identity provider unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait Identity: Send + Sync {
    /// Creates the identity if needed and sets its permanent password.
    async fn set_password(&self, user: IdentityUser<'_>, password: &Password) -> Result<(), IdentityError>;
    /// Checks the password; says what comes next. A user without an
    /// identity costs the same as a wrong password (no timing tells them
    /// apart), and no other state is told before the password is right.
    async fn sign_in(&self, user: UserId, password: &str) -> Result<SignIn, IdentityError>;
    /// A session to enrol an authenticator, for a user whose sign-in returned `Done`.
    async fn enrolment_session(&self, tokens: &Tokens) -> Result<String, IdentityError>;
    /// Starts TOTP enrolment: a new secret.
    async fn begin_totp(&self, session: &str) -> Result<TotpSetup, IdentityError>;
    /// Confirms enrolment with a current code; TOTP is then required at sign-in.
    async fn confirm_totp(&self, session: &str, code: &str) -> Result<Tokens, IdentityError>;
    /// Answers the MFA challenge of a sign-in.
    async fn answer_mfa(&self, session: &str, code: &str) -> Result<Tokens, IdentityError>;
    /// Forgets the user's authenticator (after a recovery code was used).
    async fn reset_mfa(&self, user: UserId) -> Result<(), IdentityError>;
    /// The identity's part of a suspension: its own sessions end (Cognito:
    /// a global sign-out; the user stays enabled, see `CognitoIdentity::disable`),
    /// and the local identity marks the user disabled.
    async fn disable(&self, user: UserId) -> Result<(), IdentityError>;
    async fn enable(&self, user: UserId) -> Result<(), IdentityError>;
    /// Revokes the user's sessions everywhere.
    async fn sign_out_everywhere(&self, user: UserId) -> Result<(), IdentityError>;
}

/// Checks a TOTP code's shape: 6 digits.
pub fn code_shape(code: &str) -> bool {
    code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())
}

/// The identity of a function built without one ([`crate::app::Using`]):
/// every call is refused, and counted. A function declaring it does not use
/// the identity provider and then calling it is a bug; the events test runs
/// every sample with this in place and checks the count stays 0.
#[derive(Default)]
pub struct NotLinked {
    pub calls: std::sync::atomic::AtomicUsize,
}

impl NotLinked {
    fn refuse<T>(&self) -> Result<T, IdentityError> {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Err(IdentityError::Unavailable(
            "this function is built without the identity provider".into(),
        ))
    }
}

#[async_trait]
impl Identity for NotLinked {
    async fn set_password(&self, _: IdentityUser<'_>, _: &Password) -> Result<(), IdentityError> {
        self.refuse()
    }
    async fn sign_in(&self, _: UserId, _: &str) -> Result<SignIn, IdentityError> {
        self.refuse()
    }
    async fn enrolment_session(&self, _: &Tokens) -> Result<String, IdentityError> {
        self.refuse()
    }
    async fn begin_totp(&self, _: &str) -> Result<TotpSetup, IdentityError> {
        self.refuse()
    }
    async fn confirm_totp(&self, _: &str, _: &str) -> Result<Tokens, IdentityError> {
        self.refuse()
    }
    async fn answer_mfa(&self, _: &str, _: &str) -> Result<Tokens, IdentityError> {
        self.refuse()
    }
    async fn reset_mfa(&self, _: UserId) -> Result<(), IdentityError> {
        self.refuse()
    }
    async fn disable(&self, _: UserId) -> Result<(), IdentityError> {
        self.refuse()
    }
    async fn enable(&self, _: UserId) -> Result<(), IdentityError> {
        self.refuse()
    }
    async fn sign_out_everywhere(&self, _: UserId) -> Result<(), IdentityError> {
        self.refuse()
    }
}
