//! Sign-in: password, then a TOTP code (or enrolment of an authenticator
//! where it is required and missing), recovery codes. Portico's rules sit
//! here, above the Identity port: who must use MFA, recovery codes, and a
//! TOTP code is never accepted twice (a conditional, expiring write per
//! accepted code), whichever identity verified it.

use chrono::Duration;
use qrcode::QrCode;
use qrcode::render::svg;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::accounts::{Login, RecoveryCodes, SignInFailures, hash_recovery_code, new_recovery_codes, sha256_hex};
use crate::app::Deps;
use crate::audit::{ActionType, Actor, Target};
use crate::authz::Principal;
use crate::domain::{EmailAddress, User, UserStatus};
use crate::error::AppError;
use crate::identity::{IdentityError, SignIn, Tokens, code_shape};
use crate::mail::templates;
use crate::ops::Change;
use crate::store::{Cond, Item, StoreError, Write, keys};

/// How long an accepted TOTP code is remembered (its own lifetime with skew is 90 s).
const USED_CODE_SECONDS: i64 = 180;

/// Body of `POST /session`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignInRequest {
    pub email: EmailAddress,
    pub password: String,
}

/// What to do next, or the token.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case", tag = "step")]
pub enum SignInStep {
    /// Send a code from the authenticator app: `POST /session/mfa`.
    Mfa { session: String },
    /// Set up an authenticator app first: `POST /session/mfa-setup`.
    MfaSetup { session: String },
    /// Signed in: send `token` as `Authorization: Bearer <token>`.
    Done {
        token: String,
        #[serde(rename = "expiresIn")]
        expires_in: i64,
        /// Who signed in (for the web pages' cookie; not sent).
        #[serde(skip)]
        #[schema(ignore)]
        signed_in: Option<SignedIn>,
    },
}

/// Who a completed sign-in is for.
#[derive(Debug, Clone, Copy)]
pub struct SignedIn {
    pub user_id: crate::domain::UserId,
    pub org_id: crate::domain::OrgId,
    pub org_kind: crate::domain::OrgKind,
}

impl SignedIn {
    fn of(user: &User) -> Option<Self> {
        Some(Self {
            user_id: user.id,
            org_id: user.org_id,
            org_kind: user.org_kind,
        })
    }
}

fn identity_error(e: IdentityError) -> AppError {
    match e {
        IdentityError::BadCredentials | IdentityError::Disabled => AppError::SignInFailed,
        IdentityError::CodeMismatch | IdentityError::SessionExpired => AppError::CodeRejected,
        IdentityError::Locked => AppError::Locked,
        IdentityError::PasswordRefused(why) => AppError::invalid(why),
        IdentityError::Unavailable(why) => AppError::Identity(why),
    }
}

/// The actor a user is when they act from `source_ip` (a sign-in, before a session exists).
pub fn actor_of(user: &User, source_ip: &str) -> Actor {
    Actor::new(
        Principal {
            user_id: user.id,
            email: user.email.clone(),
            org_id: user.org_id,
            org_kind: user.org_kind,
            role: user.role,
            settings_hidden: false,
        },
        source_ip.to_string(),
    )
}

fn target(user: &User) -> Target {
    Target {
        kind: "user".into(),
        id: user.id.to_string(),
    }
}

/// What a completed sign-in opens: a session for the token it answers (the
/// API), or a browser session whose id the web pages keep in a cookie (the
/// token is then dropped: it never reaches the browser).
#[derive(Debug, Clone)]
pub enum Opening<'a> {
    Token,
    Browser {
        /// The browser session's id (the random part of its cookie).
        id: &'a str,
        /// An item the sign-in ends with it, in the same transaction (the
        /// pages' record of the sign-in in progress).
        ends: Option<crate::store::Key>,
    },
}

/// A sign-in that the identity finished without MFA: done, or enrolment first.
async fn after_password(
    deps: &Deps,
    source_ip: &str,
    login: &Login,
    tokens: Tokens,
    opening: Opening<'_>,
) -> Result<SignInStep, AppError> {
    if login.mfa_required {
        let session = deps.identity.enrolment_session(&tokens).await.map_err(identity_error)?;
        return Ok(SignInStep::MfaSetup { session });
    }
    let (user, touch) = load_user(deps, &tokens).await?;
    Change::new(
        deps,
        &actor_of(&user, source_ip),
        user.org_id,
        ActionType::SignIn,
        target(&user),
        format!("{} signed in", user.email),
    )
    .touching(touch)
    .writes(open_session(deps, &user, &tokens, &opening)?)
    .commit(deps)
    .await?;
    Ok(done(tokens, &user))
}

/// The writes that open the session of a completed sign-in (see `sessions`).
fn open_session(deps: &Deps, user: &User, tokens: &Tokens, opening: &Opening<'_>) -> Result<Vec<Write>, AppError> {
    let now = deps.clock.now();
    Ok(match opening {
        Opening::Token => vec![crate::sessions::open(
            user,
            &tokens.session_id,
            now,
            now + Duration::seconds(tokens.expires_in),
        )?],
        Opening::Browser { id, ends } => {
            let mut w = vec![crate::sessions::open_browser(user, id, now)?];
            w.extend(ends.clone().map(|key| Write::Delete { key, cond: Cond::None }));
            w
        }
    })
}

fn done(tokens: Tokens, user: &User) -> SignInStep {
    SignInStep::Done {
        token: tokens.id_token,
        expires_in: tokens.expires_in,
        signed_in: SignedIn::of(user),
    }
}

/// Checks `password` for `email`, whose login record and failure record
/// were read (`items`: login, failures). A locked address is refused first
/// (429); the identity is always asked, an unknown or unusable address as a
/// user who does not exist (at the same cost); a wrong password counts
/// towards the lock; a right one clears the count. Only then is the
/// account's state told (suspended). Returns the login and the next step.
async fn check_credentials(
    deps: &Deps,
    email: &EmailAddress,
    items: &[Option<Item>],
    password: &str,
) -> Result<(Login, SignIn), AppError> {
    let now = deps.clock.now();
    let (failures, version): (SignInFailures, Option<u64>) = match items.get(1).cloned().flatten() {
        Some(i) => (i.decode()?, Some(i.version)),
        None => (SignInFailures::default(), None),
    };
    if let Some(retry_after) = failures.retry_after(now) {
        return Err(AppError::TooManyRequests {
            retry_after,
            what: "Too many wrong passwords for this email address.",
        });
    }
    let login: Option<Login> = items.first().cloned().flatten().map(|i| i.decode()).transpose()?;
    let usable = login.clone().filter(|l| l.activated);
    let who = usable
        .as_ref()
        .map_or(crate::domain::UserId(uuid::Uuid::nil()), |l| l.user_id);
    match (deps.identity.sign_in(who, password).await, usable) {
        (Ok(step), Some(login)) => {
            if failures.count > 0 {
                // Best effort: a failure to clear leaves the count to expire.
                let clear = Write::Delete {
                    key: keys::sign_in_failures(email),
                    cond: Cond::None,
                };
                if let Err(e) = deps.table.transact(vec![clear]).await {
                    tracing::warn!(error = %e, "sign-in failures not cleared");
                }
            }
            if login.suspended {
                return Err(AppError::AccountSuspended);
            }
            Ok((login, step))
        }
        (Err(IdentityError::Disabled), Some(login)) if login.suspended => Err(AppError::AccountSuspended),
        (Err(IdentityError::BadCredentials), _) | (Ok(_), None) => {
            count_failure(deps, email, failures, version).await?;
            Err(AppError::SignInFailed)
        }
        (Err(e), _) => Err(identity_error(e)),
    }
}

/// Most tries to count a failure when other attempts count theirs at the same time.
const COUNT_ATTEMPTS: u32 = 20;

/// Adds one failure to `email`'s record (read at `version`), re-reading
/// when another attempt counted first, so that concurrent guesses all count.
async fn count_failure(
    deps: &Deps,
    email: &EmailAddress,
    mut failures: SignInFailures,
    mut version: Option<u64>,
) -> Result<(), AppError> {
    for _ in 0..COUNT_ATTEMPTS {
        let now = deps.clock.now();
        let next = failures.after_failure(now);
        let item = next.item(email, version.map_or(1, |v| v + 1), now)?;
        let cond = version.map_or(Cond::MustNotExist, Cond::VersionIs);
        match deps.table.transact(vec![Write::Put { item, cond }]).await {
            Ok(()) => return Ok(()),
            Err(StoreError::ConditionFailed { .. } | StoreError::Conflict) => {
                let current = deps.table.get(&keys::sign_in_failures(email)).await?;
                (failures, version) = match current {
                    Some(i) => (i.decode()?, Some(i.version)),
                    None => (SignInFailures::default(), None),
                };
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppError::Store(StoreError::Conflict))
}

/// Step 1: email and password. 1 read (the login and failure records), the
/// identity's check, and a write only to count or clear failures; a sign-in
/// finished without MFA reads the user and writes its session and event.
pub async fn sign_in(
    deps: &Deps,
    source_ip: &str,
    input: SignInRequest,
    opening: Opening<'_>,
) -> Result<SignInStep, AppError> {
    let items = deps
        .table
        .get_many(&[
            keys::login(&input.email),
            keys::sign_in_failures(&input.email),
            keys::portal_config(),
        ])
        .await?;
    let (login, step) = check_credentials(deps, &input.email, &items, &input.password).await?;
    // After the password, so that the refusals tell nothing to who does not know it.
    if login.awaiting_approval {
        return Err(AppError::AccessRefused {
            code: "awaiting-approval",
            detail: "Your organisation waits for the platform's approval: you will hear by email once it is approved."
                .into(),
        });
    }
    if login.org_kind == crate::domain::OrgKind::Partner
        && !crate::partner_portal::PortalConfig::from_item(items.get(2).and_then(Option::as_ref))?.partners_served()
    {
        return Err(crate::ops::partner_portal_off());
    }
    match step {
        SignIn::MfaCode { session } => Ok(SignInStep::Mfa { session }),
        SignIn::MfaSetup { session } => Ok(SignInStep::MfaSetup { session }),
        SignIn::Done(tokens) => after_password(deps, source_ip, &login, tokens, opening).await,
    }
}

/// Body of `POST /session/mfa`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MfaAnswer {
    pub session: String,
    /// The 6-digit code from the authenticator app.
    pub code: String,
}

/// The write that makes a code single-use for this user.
fn code_used(user: &User, code: &str, deps: &Deps) -> Result<Write, AppError> {
    let until = (deps.clock.now() + Duration::seconds(USED_CODE_SECONDS)).timestamp();
    Ok(Write::guard(keys::totp_used(user.id, &sha256_hex(code)), until)?)
}

/// The user a sign-in completes for, and the write recording their activity if due.
async fn load_user(deps: &Deps, tokens: &Tokens) -> Result<(User, Option<Write>), AppError> {
    let mut items = deps
        .table
        .get_many(&[keys::user(tokens.user_id), keys::user_activity(tokens.user_id)])
        .await?
        .into_iter();
    let user: User = items.next().flatten().ok_or(AppError::SignInFailed)?.decode()?;
    match user.status {
        UserStatus::Active => {}
        UserStatus::Suspended => return Err(AppError::AccountSuspended),
        UserStatus::Pending => return Err(AppError::SignInFailed),
    }
    let touch = crate::inactivity::touch(&user, items.next().flatten().as_ref(), deps.clock.now())?;
    Ok((user, touch))
}

/// Step 2: the TOTP code. 1 read (the user), 1 write (code used + event).
pub async fn answer_mfa(
    deps: &Deps,
    source_ip: &str,
    input: MfaAnswer,
    opening: Opening<'_>,
) -> Result<SignInStep, AppError> {
    if !code_shape(&input.code) {
        return Err(AppError::CodeRejected);
    }
    let tokens = deps
        .identity
        .answer_mfa(&input.session, &input.code)
        .await
        .map_err(identity_error)?;
    let (user, touch) = load_user(deps, &tokens).await?;
    let actor = actor_of(&user, source_ip);
    Change::new(
        deps,
        &actor,
        user.org_id,
        ActionType::SignIn,
        target(&user),
        format!("{} signed in", user.email),
    )
    .touching(touch)
    .write(code_used(&user, &input.code, deps)?)
    .writes(open_session(deps, &user, &tokens, &opening)?)
    // The identity has a working authenticator; if an earlier enrolment
    // committed at the identity but not here, this catches Portico up.
    .write(Write::patch(
        keys::user(user.id),
        &serde_json::json!({ "mfaEnrolled": true }),
        Cond::MustExist,
    )?)
    .commit(deps)
    .await
    .map_err(|e| match e {
        // The same code again: a replay, refused even though the identity accepted it.
        StoreError::ConditionFailed { index: 0 } => AppError::CodeRejected,
        other => other.into(),
    })?;
    Ok(done(tokens, &user))
}

/// Body of `POST /session/mfa-setup`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnrolmentStart {
    pub session: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Enrolment {
    /// The base32 secret, for typing into the app.
    pub secret: String,
    /// `otpauth://totp/...`, for apps that take a link.
    pub otpauth_uri: String,
    /// The same URI as a QR code (SVG), for scanning.
    pub qr_svg: String,
    /// Confirm with `POST /session/mfa-setup/confirm`.
    pub session: String,
}

/// Enrolment, step 1: a new secret, its otpauth URI and QR code. No table access.
pub async fn begin_enrolment(deps: &Deps, input: EnrolmentStart) -> Result<Enrolment, AppError> {
    let setup = deps.identity.begin_totp(&input.session).await.map_err(identity_error)?;
    let label = format!("{}:{}", deps.settings.product_name, "account");
    let otpauth_uri = format!(
        "otpauth://totp/{}?secret={}&issuer={}&algorithm=SHA1&digits=6&period=30",
        urlencode(&label),
        setup.secret,
        urlencode(&deps.settings.product_name)
    );
    let qr_svg = QrCode::new(otpauth_uri.as_bytes())
        .map_err(|e| AppError::Internal(format!("QR code: {e}")))?
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .build();
    Ok(Enrolment {
        secret: setup.secret,
        otpauth_uri,
        qr_svg,
        session: setup.session,
    })
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b':' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Body of `POST /session/mfa-setup/confirm`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnrolmentConfirm {
    pub session: String,
    pub code: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Enrolled {
    pub token: String,
    pub expires_in: i64,
    /// Ten one-time recovery codes, shown this once; each can stand in for a code once.
    pub recovery_codes: Vec<String>,
    /// Who signed in (for the web pages' cookie; not sent).
    #[serde(skip)]
    #[schema(ignore)]
    pub signed_in: Option<SignedIn>,
}

/// Enrolment, step 2: a current code confirms the app. 1 read (the user), 1
/// write (MFA on, recovery codes, code used, event); then a notice email.
pub async fn confirm_enrolment(
    deps: &Deps,
    source_ip: &str,
    input: EnrolmentConfirm,
    opening: Opening<'_>,
) -> Result<Enrolled, AppError> {
    if !code_shape(&input.code) {
        return Err(AppError::CodeRejected);
    }
    let tokens = deps
        .identity
        .confirm_totp(&input.session, &input.code)
        .await
        .map_err(identity_error)?;
    let (user, touch) = load_user(deps, &tokens).await?;
    let (codes, hashes) = new_recovery_codes();
    let recovery = Item::new(
        keys::recovery_codes(&user.email),
        keys::RECOVERY_CODES,
        1,
        &RecoveryCodes {
            user_id: user.id,
            hashes,
        },
    )?;
    let actor = actor_of(&user, source_ip);
    let first = !user.mfa_enrolled;
    Change::new(
        deps,
        &actor,
        user.org_id,
        ActionType::UpdateUserProfile,
        target(&user),
        format!("{} enrolled an authenticator app", user.email),
    )
    .touching(touch)
    .write(code_used(&user, &input.code, deps)?)
    .writes(open_session(deps, &user, &tokens, &opening)?)
    .write(Write::patch(
        keys::user(user.id),
        &serde_json::json!({ "mfaEnrolled": true }),
        Cond::VersionIs(user.version),
    )?)
    .write(Write::Put {
        item: recovery,
        cond: Cond::None,
    })
    .commit(deps)
    .await
    .map_err(|e| match e {
        StoreError::ConditionFailed { index: 0 } => AppError::CodeRejected,
        other => other.into(),
    })?;
    let (subject, what) = if first {
        (
            "your account is ready",
            "You set your password and an authenticator app: your account is ready to use.",
        )
    } else {
        (
            "your authenticator app changed",
            "A new authenticator app was set up for your account; the old one no longer works.",
        )
    };
    let _ = deps
        .mailer
        .send(&templates::notice(&user.email, subject, what, &deps.settings))
        .await;
    Ok(Enrolled {
        token: tokens.id_token,
        expires_in: tokens.expires_in,
        recovery_codes: codes,
        signed_in: SignedIn::of(&user),
    })
}

/// Body of `POST /session/recover`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Recover {
    pub email: EmailAddress,
    pub password: String,
    pub recovery_code: String,
}

/// A recovery code stands in for a TOTP code once: with the right password
/// it clears the authenticator, and sign-in continues with enrolling a new
/// one. 1 read (login and codes), 1 write (code spent, MFA off, event).
pub async fn recover(deps: &Deps, source_ip: &str, input: Recover) -> Result<SignInStep, AppError> {
    let items = deps
        .table
        .get_many(&[
            keys::login(&input.email),
            keys::sign_in_failures(&input.email),
            keys::recovery_codes(&input.email),
        ])
        .await?;
    // The password first (counted like a sign-in's): a recovery code alone changes nothing.
    let (login, _) = check_credentials(deps, &input.email, &items[..2], &input.password).await?;
    let Some(codes_item) = &items[2] else {
        return Err(AppError::SignInFailed);
    };
    let codes: RecoveryCodes = codes_item.decode()?;
    let hash = hash_recovery_code(&input.recovery_code);
    let remaining: Vec<String> = codes.hashes.iter().filter(|h| **h != hash).cloned().collect();
    if remaining.len() == codes.hashes.len() {
        return Err(AppError::CodeRejected);
    }
    let actor = Actor::new(
        Principal {
            user_id: login.user_id,
            email: input.email.clone(),
            org_id: login.org_id,
            org_kind: login.org_kind,
            role: login.role,
            settings_hidden: false,
        },
        source_ip.to_string(),
    );
    Change::new(
        deps,
        &actor,
        login.org_id,
        ActionType::UpdateUserProfile,
        Target {
            kind: "user".into(),
            id: login.user_id.to_string(),
        },
        format!(
            "{} signed in with a recovery code; the authenticator app was reset",
            input.email
        ),
    )
    .write(Write::patch(
        keys::recovery_codes(&input.email),
        &serde_json::json!({ "hashes": remaining }),
        Cond::VersionIs(codes_item.version),
    )?)
    .write(Write::patch(
        keys::user(login.user_id),
        &serde_json::json!({ "mfaEnrolled": false, "sessionGeneration": crate::sessions::new_generation() }),
        Cond::MustExist,
    )?)
    .commit(deps)
    .await
    .map_err(|e| match e {
        // Spent concurrently: single use.
        StoreError::ConditionFailed { index: 0 } => AppError::CodeRejected,
        other => other.into(),
    })?;
    let notice = templates::notice(
        &input.email,
        "a recovery code was used",
        "Someone signed in to your account with a recovery code and is setting up a new authenticator app.",
        &deps.settings,
    );
    replace_authenticator(deps, login.user_id, &input.password, notice).await
}

/// Checks a user's password at the identity (whatever MFA step would follow).
async fn check_password(deps: &Deps, user: crate::domain::UserId, password: &str) -> Result<(), AppError> {
    match deps.identity.sign_in(user, password).await.map_err(identity_error)? {
        SignIn::MfaCode { .. } | SignIn::MfaSetup { .. } | SignIn::Done(_) => Ok(()),
    }
}

/// After the change committed: forget the authenticator at the identity,
/// tell the user, and start enrolling a new one (signing in again with the
/// password, which now needs no code).
async fn replace_authenticator(
    deps: &Deps,
    user: crate::domain::UserId,
    password: &str,
    notice: crate::mail::OutgoingEmail,
) -> Result<SignInStep, AppError> {
    deps.identity.reset_mfa(user).await.map_err(identity_error)?;
    if let Err(e) = deps.mailer.send(&notice).await {
        tracing::error!(error = %e, "notice not sent");
    }
    match deps.identity.sign_in(user, password).await.map_err(identity_error)? {
        SignIn::Done(tokens) => {
            let session = deps.identity.enrolment_session(&tokens).await.map_err(identity_error)?;
            Ok(SignInStep::MfaSetup { session })
        }
        SignIn::MfaSetup { session } => Ok(SignInStep::MfaSetup { session }),
        SignIn::MfaCode { .. } => Err(AppError::Identity("the authenticator was not reset".into())),
    }
}

/// How recent a sign-in must be to change MFA.
pub const FRESH_SIGN_IN_MINUTES: i64 = 10;

/// Body of `POST /me/mfa/reset`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResetMfa {
    /// The current password, again.
    pub password: String,
}

/// A signed-in user replaces their authenticator app: needs a sign-in from
/// the last 10 minutes and the password; the old app stops working, a
/// notice is emailed, and enrolment of the new one follows. 1 read, 1 write.
pub async fn reset_mfa(
    deps: &Deps,
    caller: &crate::http::principal::Caller,
    input: ResetMfa,
) -> Result<SignInStep, AppError> {
    let now = deps.clock.now().timestamp();
    if caller.auth_time.is_none_or(|t| now - t > FRESH_SIGN_IN_MINUTES * 60) {
        return Err(AppError::FreshSignInRequired);
    }
    let (a, []) = crate::ops::authenticate_full(deps, caller, []).await?;
    let user = a.user;
    check_password(deps, user.id, &input.password).await?;
    Change::new(
        deps,
        &a.actor,
        user.org_id,
        ActionType::UpdateUserProfile,
        target(&user),
        format!("{} reset their authenticator app", user.email),
    )
    .write(Write::patch(
        keys::user(user.id),
        &serde_json::json!({ "mfaEnrolled": false, "sessionGeneration": crate::sessions::new_generation() }),
        Cond::VersionIs(user.version),
    )?)
    .commit(deps)
    .await?;
    let notice = templates::notice(
        &user.email,
        "your authenticator app was reset",
        "The authenticator app of your account was reset; a new one is being set up.",
        &deps.settings,
    );
    replace_authenticator(deps, user.id, &input.password, notice).await
}

/// Query of `DELETE /session`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SignOut {
    /// Also end every other session of the user (all devices).
    #[serde(default)]
    pub everywhere: bool,
}

/// Ends the caller's session (or all of the user's sessions): the token
/// stops working at once. 1 read (authentication), 1 write (session gone,
/// event).
pub async fn sign_out(deps: &Deps, caller: &crate::http::principal::Caller, input: SignOut) -> Result<(), AppError> {
    let (a, []) = crate::ops::authenticate_full(deps, caller, []).await?;
    let session = caller.session_id.as_deref().ok_or(AppError::Unauthenticated(
        "This token names no Portico session: sign in again.",
    ))?;
    let user = a.user;
    let mut change = Change::new(
        deps,
        &a.actor,
        user.org_id,
        ActionType::SignOut,
        target(&user),
        if input.everywhere {
            format!("{} signed out everywhere", user.email)
        } else {
            format!("{} signed out", user.email)
        },
    )
    .write(crate::sessions::close(session));
    if input.everywhere {
        change = change.write(crate::sessions::revoke_all(user.id)?);
    }
    change.commit(deps).await?;
    Ok(())
}
