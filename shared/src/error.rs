//! One error type for every operation, and its RFC 9457 problem+json form.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::store::StoreError;

/// Problem `type` URIs are `urn:portico:problem:<code>`; the code is stable.
pub const PROBLEM_TYPE_PREFIX: &str = "urn:portico:problem:";

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Input that parses but breaks a rule (400).
    #[error("{0}")]
    Invalid(String),
    /// The body is not acceptable JSON for this route (400/413/415/422).
    #[error("{detail}")]
    BadBody {
        status: StatusCode,
        code: &'static str,
        detail: String,
    },
    #[error("authentication required")]
    Unauthenticated(&'static str),
    /// An instance's signed request to Portico does not hold (which part, in words).
    #[error("instance signature refused")]
    InstanceSignature(&'static str),
    #[error("forbidden")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("no such route")]
    NoRoute,
    #[error("method not allowed")]
    MethodNotAllowed,
    /// A write lost a race or would break uniqueness (409).
    #[error("{0}")]
    Conflict(String),
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    #[error("mail: {0}")]
    Mail(#[from] crate::mail::MailError),
    #[error("internal: {0}")]
    Internal(String),
    /// The link's token matches no live link (never issued, or replaced by a newer one).
    #[error("link not valid")]
    LinkInvalid,
    #[error("link expired")]
    LinkExpired,
    #[error("link already used")]
    LinkUsed,
    /// Email and password do not match a user who may sign in (one answer for every cause).
    #[error("sign-in failed")]
    SignInFailed,
    #[error("the code was not accepted")]
    CodeRejected,
    #[error("too many attempts")]
    Locked,
    /// Too many attempts or requests: try again after `retry_after` seconds
    /// (429 with `Retry-After`); `what` says what was limited.
    #[error("rate limited: {what}")]
    TooManyRequests { retry_after: u64, what: &'static str },
    #[error("MFA enrolment required")]
    MfaEnrolmentRequired,
    #[error("email confirmation required")]
    EmailConfirmationRequired,
    /// The version sent is not the setting's: here is the current value.
    #[error("stale setting version")]
    StaleSetting {
        enabled: bool,
        version: u64,
        /// Who made the change the caller did not see, and when.
        changed_by: Option<String>,
        changed_at: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// The setting is read-only for the caller; the text says why.
    #[error("setting read-only")]
    SettingReadOnly(&'static str),
    /// Changing MFA (or email) needs a sign-in within the last 10 minutes.
    #[error("fresh sign-in required")]
    FreshSignInRequired,
    #[error("identity: {0}")]
    Identity(String),
    /// The key service that seals connection secrets failed (503), or a
    /// sealed secret did not open.
    #[error("secrets: {0}")]
    Secrets(String),
    /// The account was suspended after weeks without activity.
    #[error("account suspended for inactivity")]
    AccountSuspended,
    /// The key that signs LogMeIn assertions is unavailable (503).
    #[error("login signer: {0}")]
    Signer(String),
    /// A partner may not reach this instance now (403): `code` says why
    /// (the problem type's tail), `detail` says why and what to do.
    #[error("instance access refused: {code}")]
    AccessRefused { code: &'static str, detail: String },
    /// A scheduled run finished with failures (listed), so its retry and dead-letter queue see it.
    #[error("{job}: {failed} of {examined} failed: {which}")]
    JobFailed {
        job: String,
        examined: u64,
        failed: usize,
        which: String,
    },
}

impl AppError {
    pub fn invalid(detail: impl Into<String>) -> Self {
        AppError::Invalid(detail.into())
    }

    /// The sentence a client sees.
    pub fn detail(&self) -> String {
        match self {
            AppError::Invalid(d) | AppError::Conflict(d) | AppError::AccessRefused { detail: d, .. } => d.clone(),
            AppError::BadBody { detail, .. } => detail.clone(),
            AppError::Unauthenticated(why) => (*why).to_string(),
            AppError::InstanceSignature(why) => (*why).to_string(),
            AppError::Forbidden => "You are not allowed to do this.".into(),
            AppError::NotFound => "No such resource, or it is not visible to you.".into(),
            AppError::NoRoute => "No such route.".into(),
            AppError::MethodNotAllowed => "This route does not accept that method.".into(),
            AppError::Store(StoreError::BadCursor) => "The page cursor is not valid for this listing.".into(),
            AppError::Store(StoreError::ConditionFailed { .. }) | AppError::Store(StoreError::Conflict) => {
                "The resource changed while you were working on it; reload and retry.".into()
            }
            AppError::Store(StoreError::TooManyWrites(_)) => "The request would change too many items at once.".into(),
            AppError::Store(StoreError::TooLarge(what)) => format!("The change is too large to store: {what}."),
            AppError::Store(StoreError::DuplicateKey(_)) => {
                "Something went wrong on our side; it has been logged.".into()
            }
            AppError::Store(_) | AppError::Mail(_) => "A backing service is unavailable; retry shortly.".into(),
            AppError::Internal(_) => "Something went wrong on our side; it has been logged.".into(),
            AppError::LinkInvalid => "This link is not valid: it may have been replaced by a newer one. Ask for a new link with POST /password/forgot (or ask whoever invited you to resend the invitation).".into(),
            AppError::LinkExpired => "This link has expired. Ask for a new link with POST /password/forgot (or ask whoever invited you to resend the invitation).".into(),
            AppError::LinkUsed => "This link has been used already. Sign in, or ask for a new link with POST /password/forgot.".into(),
            AppError::SignInFailed => "The email address or password is not right, or the account cannot sign in.".into(),
            AppError::CodeRejected => "The code was not accepted: it is wrong, expired, or was used already. Use the next code your app shows.".into(),
            AppError::Locked => "Too many wrong codes: sign-in is locked for 15 minutes.".into(),
            AppError::TooManyRequests { retry_after, what } => {
                format!("{what} Try again in {retry_after} seconds (Retry-After).")
            }
            AppError::MfaEnrolmentRequired => "Set up an authenticator app first: sign in again to enrol.".into(),
            AppError::AccountSuspended => "This account was suspended for inactivity. Ask your Partner Manager or the platform to restore access (POST /session/restore-request sends the platform your request).".into(),
            AppError::JobFailed { .. } => "A scheduled run finished with failures.".into(),
            AppError::EmailConfirmationRequired => "Confirm your email address: we sent you a link (valid 24 hours). Requests from your organisation's trusted networks need no confirmation.".into(),
            AppError::Identity(_) => "The sign-in service is unavailable; retry shortly.".into(),
            AppError::Secrets(_) => "The key service is unavailable; retry shortly.".into(),
            AppError::Signer(_) => "The signing key is unavailable; retry shortly.".into(),
            AppError::FreshSignInRequired => "Sign in again first: this change needs a sign-in from the last 10 minutes.".into(),
            AppError::SettingReadOnly(why) => (*why).to_string(),
            AppError::StaleSetting {
                enabled,
                version,
                changed_by,
                ..
            } => format!(
                "The setting changed since you saw it{}: it is now {} (version {version}). Send that version to change it.",
                changed_by.as_ref().map(|w| format!(" ({w} changed it)")).unwrap_or_default(),
                if *enabled { "enabled" } else { "disabled" }
            ),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Invalid(_) => StatusCode::BAD_REQUEST,
            AppError::BadBody { status, .. } => *status,
            AppError::Unauthenticated(_) | AppError::InstanceSignature(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden => StatusCode::FORBIDDEN,
            AppError::NotFound | AppError::NoRoute => StatusCode::NOT_FOUND,
            AppError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Store(StoreError::BadCursor) => StatusCode::BAD_REQUEST,
            AppError::Store(StoreError::ConditionFailed { .. }) | AppError::Store(StoreError::Conflict) => {
                StatusCode::CONFLICT
            }
            AppError::Store(StoreError::TooManyWrites(_)) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Store(StoreError::TooLarge(_)) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Store(
                StoreError::DuplicateKey(_)
                | StoreError::TooManyReads(_)
                | StoreError::InvalidKey(_)
                | StoreError::Decode(_),
            ) => StatusCode::INTERNAL_SERVER_ERROR,
            AppError::Store(_) | AppError::Mail(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            AppError::LinkInvalid => StatusCode::NOT_FOUND,
            AppError::LinkExpired | AppError::LinkUsed => StatusCode::GONE,
            AppError::SignInFailed | AppError::CodeRejected => StatusCode::UNAUTHORIZED,
            AppError::Locked | AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::MfaEnrolmentRequired | AppError::EmailConfirmationRequired => StatusCode::FORBIDDEN,
            AppError::AccountSuspended => StatusCode::FORBIDDEN,
            AppError::JobFailed { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            AppError::Identity(_) | AppError::Secrets(_) | AppError::Signer(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::AccessRefused { .. } => StatusCode::FORBIDDEN,
            AppError::FreshSignInRequired => StatusCode::UNAUTHORIZED,
            AppError::SettingReadOnly(_) => StatusCode::FORBIDDEN,
            AppError::StaleSetting { .. } => StatusCode::CONFLICT,
        }
    }

    /// Stable machine-readable code, the tail of the problem `type`.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Invalid(_) => "invalid-input",
            AppError::BadBody { code, .. } => code,
            AppError::Unauthenticated(_) => "unauthenticated",
            AppError::InstanceSignature(_) => "instance-signature",
            AppError::Forbidden => "forbidden",
            AppError::NotFound => "not-found",
            AppError::NoRoute => "no-such-route",
            AppError::MethodNotAllowed => "method-not-allowed",
            AppError::Conflict(_) => "conflict",
            AppError::Store(StoreError::BadCursor) => "invalid-cursor",
            AppError::Store(StoreError::ConditionFailed { .. }) | AppError::Store(StoreError::Conflict) => {
                "concurrent-modification"
            }
            AppError::Store(StoreError::TooManyWrites(_)) => "too-many-writes",
            AppError::Store(StoreError::TooLarge(_)) => "too-large",
            AppError::Store(
                StoreError::DuplicateKey(_)
                | StoreError::TooManyReads(_)
                | StoreError::InvalidKey(_)
                | StoreError::Decode(_),
            ) => "internal",
            AppError::Store(_) | AppError::Mail(_) => "service-unavailable",
            AppError::Internal(_) => "internal",
            AppError::LinkInvalid => "link-invalid",
            AppError::LinkExpired => "link-expired",
            AppError::LinkUsed => "link-used",
            AppError::SignInFailed => "sign-in-failed",
            AppError::CodeRejected => "code-rejected",
            AppError::Locked => "locked",
            AppError::TooManyRequests { .. } => "too-many-requests",
            AppError::MfaEnrolmentRequired => "mfa-enrolment-required",
            AppError::EmailConfirmationRequired => "email-confirmation-required",
            AppError::AccountSuspended => "account-suspended",
            AppError::JobFailed { .. } => "job-failed",
            AppError::Identity(_) => "identity-unavailable",
            AppError::Secrets(_) => "secrets-unavailable",
            AppError::Signer(_) => "signer-unavailable",
            AppError::AccessRefused { code, .. } => code,
            AppError::FreshSignInRequired => "fresh-sign-in-required",
            AppError::SettingReadOnly(_) => "setting-read-only",
            AppError::StaleSetting { .. } => "stale-version",
        }
    }

    pub fn to_problem(&self) -> Problem {
        let status = self.status();
        Problem {
            r#type: format!("{PROBLEM_TYPE_PREFIX}{}", self.code()),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            detail: self.detail(),
            current: match self {
                AppError::StaleSetting {
                    enabled,
                    version,
                    changed_by,
                    changed_at,
                } => Some(serde_json::json!({
                    "enabled": enabled,
                    "version": version,
                    "changedBy": changed_by,
                    "changedAt": changed_at,
                })),
                _ => None,
            },
        }
    }
}

/// RFC 9457 problem details.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
pub struct Problem {
    /// `urn:portico:problem:<code>`, stable per kind of problem.
    pub r#type: String,
    pub title: String,
    pub status: u16,
    /// A human sentence saying what went wrong and, where possible, what to do.
    pub detail: String,
    /// For a stale version: the current state (an RFC 9457 extension member).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<serde_json::Value>,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            // The cause chain goes to the log, never to the client.
            tracing::error!(error = %self, code = self.code(), "request failed");
        } else {
            tracing::debug!(code = self.code(), status = status.as_u16(), "request refused");
        }
        let body = serde_json::to_vec(&self.to_problem()).unwrap_or_default();
        let mut resp = (status, body).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        match self {
            AppError::Unauthenticated(_) => {
                resp.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            AppError::TooManyRequests { retry_after, .. } => {
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after.max(1)));
            }
            AppError::Locked => {
                let secs = crate::identity::LOCK_MINUTES * 60;
                resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            _ => {}
        }
        resp
    }
}

/// A failed scheduled run, as the Lambda runtime reports it.
impl From<AppError> for lambda_runtime::Diagnostic {
    fn from(e: AppError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: e.code().to_string(),
            error_message: e.to_string(),
        }
    }
}

impl From<crate::secrets::SealError> for AppError {
    fn from(e: crate::secrets::SealError) -> Self {
        AppError::Secrets(e.to_string())
    }
}

impl From<crate::login_keys::SignerError> for AppError {
    fn from(e: crate::login_keys::SignerError) -> Self {
        AppError::Signer(e.to_string())
    }
}

impl From<crate::domain::ParseError> for AppError {
    fn from(e: crate::domain::ParseError) -> Self {
        AppError::Invalid(e.to_string())
    }
}
