//! LogMeIn: a partner user signs in to a customer's instance as its Partner
//! Support profile. Portico checks, in one read round trip, who asks (active,
//! MFA, email confirmed within 24 hours or on a trusted range), that the
//! customer is their partner's, that the connection is verified and that the
//! customer consents; then it signs a single-use assertion (ES256, 60 s) and
//! records the sign-in (its event in both organisations' logs and the `jti`)
//! in one write. The browser carries the assertion to the instance by an
//! auto-submitting form POST; the instance checks it against Portico's JWKS
//! (`docs/instance-integration.md`).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::access::{InstanceAccess, NoticeMode, Standing};
use crate::app::Deps;
use crate::audit::ActionType;
use crate::authz::{Action, OrgFacts};
use crate::connections::ConnectionState;
use crate::delegations::{held_from, held_keys};
use crate::domain::{InstanceId, OrgId};
use crate::error::AppError;
use crate::http::principal::Caller;
use crate::instances::{Instance, LOGIN_PATH, SupportProfile};
use crate::login_keys::KeyRing;
use crate::mail::templates;
use crate::ops::access::refusal;
use crate::ops::instances::{customer_of, instance_of, instance_target};
use crate::ops::{Change, authenticate_full};
use crate::store::{Cond, Item, Write, keys};

/// The customer's activity log, filtered to partner sign-ins (emails link to it).
pub const SIGN_INS_LINK: &str = "/activity-log?action=Partner+Login";

/// An assertion is good for this long after it is minted.
pub const ASSERTION_SECONDS: i64 = 60;
/// The `jti` record outlives the assertion by this long (the audit keeps the rest).
pub const JTI_KEPT_DAYS: i64 = 1;

/// `act` (RFC 8693 §4.1): who is really acting, for audit and the banner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ActingParty {
    /// The partner user's id.
    pub sub: String,
    pub email: String,
    /// The partner organisation's id.
    pub org: String,
    /// The partner organisation's name.
    pub org_name: String,
}

/// The assertion's claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LoginClaims {
    /// Portico's issuer URL (its JWKS is at `<iss>/.well-known/jwks.json`).
    pub iss: String,
    /// Exactly the instance's id.
    pub aud: String,
    /// The instance's Partner Support profile.
    pub sub: String,
    pub act: ActingParty,
    /// The profile's roles.
    pub roles: Vec<String>,
    pub jti: String,
    pub iat: i64,
    /// `iat` + 60.
    pub exp: i64,
    /// When the partner user signed in to Portico.
    pub auth_time: i64,
    /// `["pwd", "otp"]`.
    pub amr: Vec<String>,
    /// What the partner user's delegated roles allow at the customer
    /// (`settings.manage`, `instance.login`, `users.manage`, `billing.view`,
    /// `activity.view`): the instance enforces them on the session.
    pub capabilities: Vec<String>,
    /// Why, when the customer approves each sign-in (the request's reason).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What the browser posts to the instance: `assertion` to `action`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoginForm {
    /// The instance's login endpoint: POST `assertion` there as a form field
    /// (never in a URL).
    pub action: String,
    /// The signed assertion (JWS compact, ES256).
    pub assertion: String,
    pub jti: String,
    pub expires_at: DateTime<Utc>,
    pub instance_id: InstanceId,
}

/// The record of a minted assertion (its `jti`), written with the sign-in's event.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Minted {
    jti: String,
    instance_id: InstanceId,
    customer_id: OrgId,
    user_id: crate::domain::UserId,
    iat: i64,
    exp: i64,
}

/// Why LogMeIn is refused for this instance now (connection, then consent),
/// or none: for the button's tooltip and the request alike.
pub fn why_not(
    instance: &Instance,
    customer_name: &str,
    access: &InstanceAccess,
    user: crate::domain::UserId,
    now: DateTime<Utc>,
) -> Option<AppError> {
    if !matches!(instance.connection.state, ConnectionState::Verified { .. }) {
        return Some(AppError::AccessRefused {
            code: "connection-not-verified",
            detail: format!(
                "The connection to \"{}\" is {}: LogMeIn needs a verified connection. Verify it now, or ask for it to be recreated if the instance moved.",
                instance.name.as_str(),
                instance.connection.state.name()
            ),
        });
    }
    refusal(
        &access.standing(instance.id, user, now),
        customer_name,
        instance,
        "sign in",
    )
}

/// LogMeIn: checks, mints and records; answers the form to post. 1 read
/// round trip, 1 signing call, 1 write (a transaction: the event in the
/// customer's and the partner's logs, and the `jti` record).
pub async fn log_in(deps: &Deps, caller: &Caller, customer: OrgId, id: InstanceId) -> Result<LoginForm, AppError> {
    let [h0, h1, h2, h3] = held_keys(caller.user_id, caller.org_id, customer);
    let (a, [org, instance, access, ring, h0, h1, h2, h3]) = authenticate_full(
        deps,
        caller,
        [
            keys::org(customer),
            keys::instance(id),
            InstanceAccess::key(customer),
            KeyRing::key(),
            h0,
            h1,
            h2,
            h3,
        ],
    )
    .await?;
    let customer = customer_of(org)?;
    let held = held_from([h0, h1, h2, h3], deps.clock.now())?;
    deps.authz.require_holding(
        &a.actor.principal,
        Action::LogInToInstance,
        &OrgFacts::from(&customer),
        &held,
    )?;
    if !a.user.mfa_enrolled {
        return Err(AppError::MfaEnrolmentRequired);
    }
    let (instance, _) = instance_of(instance, customer.id)?;
    let access = crate::ops::access::decode_access(access.as_ref())?;
    let now = deps.clock.now();
    let user = a.actor.principal.user_id;
    if let Some(refused) = why_not(&instance, customer.name.as_str(), &access, user, now) {
        return Err(refused);
    }
    let reason = match access.standing(id, user, now) {
        Standing::Granted { reason, .. } => reason,
        _ => None,
    };
    let signed_in = a.session.signed_in_at.ok_or(AppError::Unauthenticated(
        "Sign in again: this session predates LogMeIn.",
    ))?;
    let (ring, _) = crate::ops::login_keys::ring_from(deps, ring).await?;
    let key = crate::ops::login_keys::signing_key(&ring)?;
    let iat = now.timestamp();
    let jti = deps.ids.new_id().to_string();
    let claims = LoginClaims {
        iss: deps.settings.public_url.clone(),
        aud: id.to_string(),
        sub: SupportProfile::subject(id),
        act: ActingParty {
            sub: user.to_string(),
            email: a.actor.principal.email.as_str().to_string(),
            org: a.org.id.to_string(),
            org_name: a.org.name.as_str().to_string(),
        },
        roles: instance.profile.roles.iter().map(|r| r.as_str().to_string()).collect(),
        jti: jti.clone(),
        iat,
        exp: iat + ASSERTION_SECONDS,
        auth_time: signed_in.timestamp(),
        amr: vec!["pwd".into(), "otp".into()],
        capabilities: held.iter().map(|c| c.as_str().to_string()).collect(),
        reason: reason.clone(),
    };
    let assertion = crate::login_keys::sign_jwt(deps.signer.as_ref(), key, &claims).await?;
    let minted = Minted {
        jti: jti.clone(),
        instance_id: id,
        customer_id: customer.id,
        user_id: user,
        iat,
        exp: claims.exp,
    };
    let record = Item::new(keys::login_assertion(&jti), keys::LOGIN_ASSERTION, 1, &minted)?
        .with_ttl(claims.exp + Duration::days(JTI_KEPT_DAYS).num_seconds());
    let description = format!(
        "{} of {} signed in to \"{}\" as Partner Support{}",
        a.actor.principal.email.as_str(),
        a.org.name.as_str(),
        instance.name.as_str(),
        reason.as_ref().map(|r| format!(": {r}")).unwrap_or_default()
    );
    Change::new(
        deps,
        &a.actor,
        customer.id,
        ActionType::PartnerLogin,
        instance_target(id),
        description.clone(),
    )
    .write(Write::Put {
        item: record,
        cond: Cond::MustNotExist,
    })
    .after(serde_json::json!({
        "instance": id,
        "jti": jti,
        "kid": key.jwk.kid,
        "reason": reason,
        "roles": claims.roles,
    }))
    .mirrored_for(&a.actor, a.org.id)
    .commit(deps)
    .await?;
    if let Some(n) = access.notices.as_ref().filter(|n| n.mode == NoticeMode::EachLogin) {
        let lines = [
            format!("{description}."),
            format!(
                "From {}, at {}.",
                a.actor.source_ip,
                now.format("%Y-%m-%d %H:%M:%S UTC")
            ),
            "Every partner sign-in is in your activity log (Partner Login). You can withdraw partners' access to any instance at any time.".into(),
        ];
        for to in &n.to {
            let mail = templates::access_notice(
                to,
                &format!("a partner signed in to {}", instance.name.as_str()),
                &lines,
                ("See partner sign-ins", SIGN_INS_LINK),
                &deps.settings,
            );
            if let Err(e) = deps.mailer.send(&mail).await {
                tracing::error!(instance = %id, error = %e, "partner sign-in notice not sent");
            }
        }
    }
    Ok(LoginForm {
        action: instance.url.join(LOGIN_PATH),
        assertion,
        jti,
        expires_at: now + Duration::seconds(ASSERTION_SECONDS),
        instance_id: id,
    })
}
