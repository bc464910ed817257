//! Self-registration (seed 002 Steps 5 and 8): the platform publishes a
//! signup link, optionally with an organisation key naming the group new
//! organisations go under; a partner asks with an email, an organisation
//! name and a display name; nothing is created until the emailed link (60
//! minutes, single use) is used, when the organisation and its manager are
//! copied from the Model Organization and Model User. Moderation holds the
//! new organisation until a platform admin approves it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Duration;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::accounts::{Link, LinkPurpose, LinkToken, Login, PendingSignup};
use crate::app::Deps;
use crate::audit::{ActionType, Actor, Target};
use crate::authz::{Action, OrgFacts, Principal};
use crate::domain::{
    DisplayName, EmailAddress, OrgId, OrgKind, OrgName, OrgRef, Organization, Password, User, UserId, UserStatus,
};
use crate::error::AppError;
use crate::http::principal::Caller;
use crate::identity::IdentityUser;
use crate::mail::templates;
use crate::ops::accounts::{PageQuery, send};
use crate::ops::{Change, authenticate_and_query, authenticate_full, on_condition};
use crate::partner_portal::{PortalConfig, Seats, SignupLink, parse_domain};
use crate::store::{Cond, Index, Item, Query, StoreError, Write, keys};

/// How long a self-registration's emailed link lives.
pub const SIGNUP_LINK_MINUTES: i64 = 60;
/// Sign-ups one source IP may ask for in [`IP_WINDOW_MINUTES`].
pub const SIGNUPS_PER_IP: u64 = 5;
pub const IP_WINDOW_MINUTES: i64 = 10;
/// Sign-ups one email address may be sent in an hour.
pub const SIGNUPS_PER_EMAIL: u64 = 3;

/// The sealing context of the organisation keys' encryption key.
const KEY_CONTEXT: &str = "portico:signup-org-key";
/// Bound into every organisation key (PASETO's implicit assertion): a
/// PASETO made for anything else under the same key does not decrypt.
const KEY_PURPOSE: &[u8] = b"portico:signup-org-key:v1";

fn json(v: &impl Serialize) -> Result<serde_json::Value, AppError> {
    serde_json::to_value(v).map_err(|e| AppError::Internal(e.to_string()))
}

fn target(kind: &str, id: impl ToString) -> Target {
    Target {
        kind: kind.into(),
        id: id.to_string(),
    }
}

// --- The platform: the link and the organisation keys ---------------------

/// Body of `POST /partner-portal/signup-link`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewSignupLink {
    /// Only addresses of these domains (and their subdomains) may sign up (empty: any).
    #[serde(default)]
    pub allowed_domains: Vec<String>,
    /// Addresses of these domains (and their subdomains) may not.
    #[serde(default)]
    pub denied_domains: Vec<String>,
}

/// The signup link, as the platform publishes it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignupLinkView {
    /// The page partners open (add `&key=<organisation key>` for a group).
    pub url: String,
    pub link: SignupLink,
}

fn link_url(deps: &Deps, id: &str) -> String {
    format!("{}/signup?link={id}", deps.settings.public_url)
}

/// Most domains in one list.
const MAX_DOMAINS: usize = 100;

/// Makes the signup link, or a new one (the old one dies at once), while
/// self-registration is allowed. An "Update Organization" event. 1 read, 1 write.
pub async fn rotate_link(deps: &Deps, caller: &Caller, input: NewSignupLink) -> Result<SignupLinkView, AppError> {
    let parse = |list: &[String]| -> Result<Vec<String>, AppError> {
        if list.len() > MAX_DOMAINS {
            return Err(AppError::invalid(format!("at most {MAX_DOMAINS} domains a list")));
        }
        Ok(list.iter().map(|d| parse_domain(d)).collect::<Result<_, _>>()?)
    };
    let (allowed, denied) = (parse(&input.allowed_domains)?, parse(&input.denied_domains)?);
    let (a, []) = authenticate_full(deps, caller, []).await?;
    deps.authz
        .require(&a.actor.principal, Action::ManagePartnerPortal, &OrgFacts::from(&a.org))?;
    let mut config = a.portal;
    if !config.allow_external_creation {
        return Err(AppError::Conflict(
            "Self-registration is off: allow external organisation creation first (PUT /partner-portal).".into(),
        ));
    }
    let mut id = [0u8; 18];
    rand::rng().fill_bytes(&mut id);
    let link = SignupLink {
        id: URL_SAFE_NO_PAD.encode(id),
        created_at: deps.clock.now(),
        allowed_domains: allowed,
        denied_domains: denied,
    };
    let rotated = config.signup_link.is_some();
    config.signup_link = Some(link.clone());
    let version = config.version;
    config.version += 1;
    Change::new(
        deps,
        &a.actor,
        a.org.id,
        ActionType::UpdateOrganization,
        target("partnerPortal", "signupLink"),
        if rotated {
            "Rotated the signup link: the old one no longer works".to_string()
        } else {
            "Made the signup link".to_string()
        },
    )
    .after(json(&link)?)
    .write(Write::Put {
        item: config.item()?,
        cond: Cond::VersionIs(version),
    })
    .commit(deps)
    .await
    .map_err(|e| {
        on_condition(e, |i| {
            (i == 0).then(|| AppError::Conflict("The Partner Portal settings changed meanwhile: try again.".into()))
        })
    })?;
    Ok(SignupLinkView {
        url: link_url(deps, &link.id),
        link,
    })
}

/// Body of `POST /organizations/{id}/signup-key`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewOrgKey {
    /// Days the key works, 1 to 3650 (default: no end).
    #[serde(default)]
    pub expires_in_days: Option<i64>,
}

/// An organisation key, with the signup link that carries it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrgKeyView {
    /// Opaque: encrypted and authenticated (PASETO v4.local).
    pub key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The signup link with the key (absent while there is no link).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// The encryption key of the organisation keys, opened (KMS, or the local
/// key file). Made and sealed the first time (`create`): the write that
/// keeps it comes back, to commit with the change that first uses it.
async fn key_ring(
    deps: &Deps,
    item: Option<Item>,
    create: bool,
) -> Result<(pasetors::keys::SymmetricKey<pasetors::version4::V4>, Option<Write>), AppError> {
    let (sealed, write) = match item {
        Some(i) => (i.decode::<crate::secrets::Sealed>()?, None),
        None if create => {
            let mut raw = [0u8; 32];
            rand::rng().fill_bytes(&mut raw);
            let sealed = deps
                .sealer
                .seal(&raw, KEY_CONTEXT)
                .await
                .map_err(|e| AppError::Secrets(e.to_string()))?;
            let put = Write::Put {
                item: Item::new(keys::signup_key(), keys::SIGNUP_KEY, 1, &sealed)?,
                cond: Cond::MustNotExist,
            };
            (sealed, Some(put))
        }
        None => return Err(bad_key()),
    };
    // Opened once per process (KMS answers each open with a decrypt call,
    // and anonymous pages open it); the blob names it, so a new key is opened anew.
    let cached = OPENED
        .lock()
        .ok()
        .and_then(|c| c.as_ref().filter(|(blob, _)| *blob == sealed.blob).map(|(_, raw)| *raw));
    let raw = match cached {
        Some(raw) => raw.to_vec(),
        None => {
            let raw = deps
                .sealer
                .open(&sealed, KEY_CONTEXT)
                .await
                .map_err(|e| AppError::Secrets(e.to_string()))?;
            if let (Ok(mut c), Ok(bytes)) = (OPENED.lock(), <[u8; 32]>::try_from(raw.as_slice())) {
                *c = Some((sealed.blob.clone(), bytes));
            }
            raw
        }
    };
    let key = pasetors::keys::SymmetricKey::from(&raw)
        .map_err(|_| AppError::Internal("the signup key is malformed".into()))?;
    Ok((key, write))
}

/// The last opened encryption key, by its sealed blob.
static OPENED: std::sync::Mutex<Option<(String, [u8; 32])>> = std::sync::Mutex::new(None);

fn bad_key() -> AppError {
    AppError::invalid("The organisation key in this link is not valid.")
}

/// The platform makes a key naming `parent` (a partner organisation, the
/// group new organisations go under). An "Update Organization" event in
/// the group's log. 1 read (a second the first time), 1 write.
pub async fn org_key(deps: &Deps, caller: &Caller, parent: OrgId, input: NewOrgKey) -> Result<OrgKeyView, AppError> {
    let days = input.expires_in_days;
    if days.is_some_and(|d| !(1..=3650).contains(&d)) {
        return Err(AppError::invalid("expiresInDays must be 1 to 3650"));
    }
    let (a, [org, key_item]) = authenticate_full(deps, caller, [keys::org(parent), keys::signup_key()]).await?;
    let org: Organization = org.ok_or(AppError::NotFound)?.decode()?;
    deps.authz
        .require(&a.actor.principal, Action::ManagePartnerPortal, &OrgFacts::from(&org))?;
    if org.kind != OrgKind::Partner || org.template {
        return Err(AppError::invalid(
            "new organisations go under a partner organisation (not a template)",
        ));
    }
    // A key belongs to the live link: replacing the link kills its keys too.
    let link_id = a
        .portal
        .signup_link
        .as_ref()
        .map(|l| l.id.clone())
        .ok_or_else(|| AppError::Conflict("Make the signup link first: a key belongs to it.".into()))?;
    let (ring, made) = key_ring(deps, key_item, true).await?;
    let expires_at = days.map(|d| deps.clock.now() + Duration::days(d));
    let mut claims = pasetors::claims::Claims::new().map_err(|_| AppError::Internal("claims".into()))?;
    // Its expiry is Portico's own claim, checked against Portico's clock.
    claims.non_expiring();
    claims
        .add_additional("parent", org.id.to_string())
        .map_err(|_| AppError::Internal("claims".into()))?;
    claims
        .add_additional("link", link_id.clone())
        .map_err(|_| AppError::Internal("claims".into()))?;
    if let Some(at) = expires_at {
        claims
            .add_additional("until", at.timestamp())
            .map_err(|_| AppError::Internal("claims".into()))?;
    }
    let key = pasetors::local::encrypt(&ring, &claims, None, Some(KEY_PURPOSE))
        .map_err(|_| AppError::Internal("the organisation key could not be made".into()))?;
    Change::new(
        deps,
        &a.actor,
        org.id,
        ActionType::UpdateOrganization,
        Target::organization(org.id),
        match expires_at {
            Some(at) => format!(
                "Made a signup key for new organisations under \"{}\" (until {})",
                org.name.as_str(),
                at.format("%Y-%m-%d")
            ),
            None => format!(
                "Made a signup key for new organisations under \"{}\"",
                org.name.as_str()
            ),
        },
    )
    .after(serde_json::json!({ "expiresAt": expires_at }))
    .writes(made)
    .commit(deps)
    .await
    .map_err(|e| {
        on_condition(e, |i| {
            (i == 0).then(|| AppError::Conflict("Another key was made at the same moment: try again.".into()))
        })
    })?;
    let url = Some(format!("{}&key={key}", link_url(deps, &link_id)));
    Ok(OrgKeyView { key, expires_at, url })
}

/// The group an organisation key names, if it holds: not changed, not
/// truncated, not another key's, not past its end. Says nothing more.
async fn open_key(deps: &Deps, key_item: Option<Item>, key: &str, link: &SignupLink) -> Result<OrgId, AppError> {
    let token = pasetors::token::UntrustedToken::<pasetors::Local, pasetors::version4::V4>::try_from(key)
        .map_err(|_| bad_key())?;
    let (ring, _) = key_ring(deps, key_item, false).await?;
    let mut rules = pasetors::claims::ClaimsValidationRules::new();
    rules.allow_non_expiring();
    let trusted = pasetors::local::decrypt(&ring, &token, &rules, None, Some(KEY_PURPOSE)).map_err(|_| bad_key())?;
    let claims = trusted.payload_claims().ok_or_else(bad_key)?;
    if let Some(until) = claims.get_claim("until") {
        let until = until.as_i64().ok_or_else(bad_key)?;
        if deps.clock.now().timestamp() >= until {
            return Err(bad_key());
        }
    }
    if claims.get_claim("link").and_then(|v| v.as_str()) != Some(link.id.as_str()) {
        return Err(bad_key());
    }
    let parent = claims
        .get_claim("parent")
        .and_then(|v| v.as_str())
        .ok_or_else(bad_key)?;
    OrgId::parse(parent).map_err(|_| bad_key())
}

// --- The partner: the page, the request, the emailed link -----------------

/// What the signup page shows before anyone types.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignupPage {
    /// The Partner Portal Initiation Text (seed 002 Step 6), sanitised HTML.
    pub initiation_html: String,
    /// The group new organisations go under, when the link's key names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<OrgId>,
}

/// The live link's configuration, or why there is none (404: a rotated,
/// withdrawn or never-made link says no more).
fn live_link(config: &PortalConfig, link: &str) -> Result<SignupLink, AppError> {
    match &config.signup_link {
        Some(l)
            if config.allow_external_creation
                && config.partners_served()
                && config.model_user.is_some()
                && l.id == link =>
        {
            Ok(l.clone())
        }
        _ => Err(AppError::NotFound),
    }
}

/// Opens the signup link: its initiation text; a key given is checked.
/// Public. 1 read (2 with a key: the encryption key is opened).
pub async fn page(deps: &Deps, link: &str, key: Option<&str>) -> Result<SignupPage, AppError> {
    let [config, texts, key_item]: [Option<Item>; 3] = deps
        .table
        .get_many(&[keys::portal_config(), keys::portal_texts(), keys::signup_key()])
        .await?
        .try_into()
        .map_err(|_| AppError::Internal("get_many answered a different number of items".into()))?;
    let config = PortalConfig::from_item(config.as_ref())?;
    let live = live_link(&config, link)?;
    let parent = match key {
        Some(k) => Some(open_key(deps, key_item, k, &live).await?),
        None => None,
    };
    let texts = crate::partner_portal::PortalTexts::from_item(texts.as_ref())?;
    Ok(SignupPage {
        initiation_html: texts.initiation.html,
        parent,
    })
}

/// Body of `POST /signup-links/{link}/signups`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignUp {
    pub email: EmailAddress,
    /// The new partner organisation's name.
    pub organization_name: OrgName,
    /// The first manager's name.
    pub display_name: DisplayName,
    /// The organisation key the link carried, if any.
    #[serde(default)]
    pub key: Option<String>,
}

/// What a sign-up request answers, whatever the address.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignupSent {
    pub next: String,
}

/// A partner asks to sign up. Checked: the link, the key, the address's
/// domain (not disposable; the link's lists), and the per-IP and per-email
/// limits. Nothing is created but the emailed link (60 minutes) and the
/// counters; an address that has an account is sent nothing, and hears the
/// same. An "Invite User" event in the Model Organization's log. 1 read (2
/// with a key), 1 write.
pub async fn request(deps: &Deps, source_ip: &str, link: &str, input: SignUp) -> Result<SignupSent, AppError> {
    // Whether the address has an account must not show in the time taken either.
    crate::ops::no_sooner_than_floor(request_now(deps, source_ip, link, input)).await
}

async fn request_now(deps: &Deps, source_ip: &str, link: &str, input: SignUp) -> Result<SignupSent, AppError> {
    let now = deps.clock.now();
    let ip_window = now.timestamp() / (IP_WINDOW_MINUTES * 60);
    let email_window = now.timestamp() / 3600;
    let ip_key = keys::signup_ip_window(source_ip, ip_window);
    let email_key = keys::signup_email_window(&input.email, email_window);
    let [config, key_item, login, by_ip, by_email]: [Option<Item>; 5] = deps
        .table
        .get_many(&[
            keys::portal_config(),
            keys::signup_key(),
            keys::login(&input.email),
            ip_key.clone(),
            email_key.clone(),
        ])
        .await?
        .try_into()
        .map_err(|_| AppError::Internal("get_many answered a different number of items".into()))?;
    let config = PortalConfig::from_item(config.as_ref())?;
    let live = live_link(&config, link)?;
    let model_org = config.model_organization.ok_or(AppError::NotFound)?;
    let count = |i: &Option<Item>| {
        i.as_ref()
            .map_or((0, None), |i| (i.data["count"].as_u64().unwrap_or(0), Some(i.version)))
    };
    let (ip_count, ip_version) = count(&by_ip);
    if ip_count >= SIGNUPS_PER_IP {
        let window_end = (ip_window + 1) * IP_WINDOW_MINUTES * 60;
        return Err(AppError::TooManyRequests {
            retry_after: u64::try_from(window_end - now.timestamp()).unwrap_or(1).max(1),
            what: "Too many sign-ups from your network: try again in a few minutes.",
        });
    }
    let domain = input
        .email
        .as_str()
        .rsplit('@')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !mailchecker::is_valid(input.email.as_str()) {
        return Err(AppError::invalid(
            "Use your work address: disposable email domains are not accepted.",
        ));
    }
    if !live.admits(&domain) {
        return Err(AppError::invalid(format!(
            "Addresses at {domain} cannot sign up through this link."
        )));
    }
    let parent = match &input.key {
        Some(k) => Some(open_key(deps, key_item, k, &live).await?),
        None => None,
    };
    let (email_count, email_version) = count(&by_email);
    let counter = |key, version: Option<u64>, n: u64, until: i64| -> Result<Write, AppError> {
        Ok(Write::Put {
            item: Item::new(
                key,
                keys::SIGNUP_COUNT,
                version.map_or(1, |v| v + 1),
                &serde_json::json!({ "count": n + 1 }),
            )?
            .with_ttl(until),
            cond: version.map_or(Cond::MustNotExist, Cond::VersionIs),
        })
    };
    let ip_write = counter(ip_key, ip_version, ip_count, (ip_window + 2) * IP_WINDOW_MINUTES * 60)?;
    let sent = SignupSent {
        next: "Check your email: the link in it (valid 60 minutes) creates your organisation.".into(),
    };
    // An address with an account, or sent enough today: the same answer, no email.
    if login.is_some() || email_count >= SIGNUPS_PER_EMAIL {
        deps.table.transact(vec![ip_write]).await.map_err(|e| busy(e))?;
        return Ok(sent);
    }
    let token = LinkToken::generate();
    let expires_at = now + Duration::minutes(SIGNUP_LINK_MINUTES);
    let pending = Link {
        purpose: LinkPurpose::Signup,
        user_id: None,
        org_id: model_org,
        email: input.email.clone(),
        role: None,
        invitation_id: None,
        expires_at,
        used_at: None,
        signup: Some(PendingSignup {
            organization_name: input.organization_name.clone(),
            display_name: input.display_name.as_str().to_string(),
            parent,
            link_id: live.id.clone(),
        }),
    };
    Change::anonymous(
        deps,
        source_ip,
        model_org,
        ActionType::InviteUser,
        target("signup", input.email.as_str()),
        format!(
            "Sign-up asked for {} (\"{}\") from {source_ip}; the link expires at {}",
            input.email,
            input.organization_name.as_str(),
            expires_at.format("%H:%M UTC")
        ),
    )
    .write(ip_write)
    .write(counter(
        email_key,
        email_version,
        email_count,
        (email_window + 2) * 3600,
    )?)
    .write(Write::Put {
        item: pending.item(&token)?,
        cond: Cond::MustNotExist,
    })
    .commit(deps)
    .await
    .map_err(busy)?;
    send(
        deps,
        templates::signup(
            &input.email,
            input.organization_name.as_str(),
            token.expose(),
            expires_at,
            &deps.settings,
        ),
    )
    .await;
    Ok(sent)
}

fn busy(e: StoreError) -> AppError {
    on_condition(e, |i| {
        (i < 2).then(|| AppError::Conflict("Another sign-up was asked at the same moment: send yours again.".into()))
    })
}

/// Body of `POST /signup/complete`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CompleteSignup {
    /// The token from the emailed link.
    pub token: String,
    pub password: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignedUp {
    pub organization: Organization,
    pub user_id: UserId,
    /// True while moderation holds the organisation: nobody signs in until a platform admin approves it.
    pub awaiting_approval: bool,
    pub next: String,
}

/// Uses the emailed link: the organisation is created from the Model
/// Organization (its capability flags, allocation, trusted networks and
/// MFA policy), under the key's group, with its first manager from the
/// Model User (role and restrictions) holding the first seat; then the
/// password. A "Create Organization" event in its log. 2 reads (the link
/// and the settings, then the templates, the group and the name), 1 write.
pub async fn complete(deps: &Deps, source_ip: &str, input: CompleteSignup) -> Result<SignedUp, AppError> {
    let token = LinkToken::parse(&input.token)?;
    let [link_item, config]: [Option<Item>; 2] = deps
        .table
        .get_many(&[token.key(), keys::portal_config()])
        .await?
        .try_into()
        .map_err(|_| AppError::Internal("get_many answered a different number of items".into()))?;
    let link_item = link_item.ok_or(AppError::LinkInvalid)?;
    let link: Link = link_item.decode()?;
    if link.purpose != LinkPurpose::Signup {
        return Err(AppError::LinkInvalid);
    }
    if link.used_at.is_some() {
        return Err(AppError::LinkUsed);
    }
    let now = deps.clock.now();
    if link.expires_at <= now {
        return Err(AppError::LinkExpired);
    }
    let pending = link.signup.clone().ok_or(AppError::LinkInvalid)?;
    let password = Password::parse(&input.password, &link.email)?;
    let config = PortalConfig::from_item(config.as_ref())?;
    if !(config.allow_external_creation && config.partners_served()) {
        return Err(AppError::AccessRefused {
            code: "self-registration-off",
            detail: "Self-registration is switched off: ask the platform to set your organisation up.".into(),
        });
    }
    // The link it came through is still the live one, and still admits the address.
    let live = live_link(&config, &pending.link_id).map_err(|_| AppError::LinkInvalid)?;
    let domain = link.email.as_str().rsplit('@').next().unwrap_or_default();
    if !live.admits(domain) {
        return Err(AppError::LinkInvalid);
    }
    let model_user = config.model_user.ok_or(AppError::LinkInvalid)?;
    let mut wanted = vec![
        keys::user(model_user),
        keys::org(link.org_id),
        keys::seats(link.org_id),
        keys::org_name(&pending.organization_name.skeleton()),
    ];
    wanted.extend(pending.parent.map(keys::org));
    let mut items = deps.table.get_many(&wanted).await?.into_iter();
    let model_user: User = items.next().flatten().ok_or(AppError::LinkInvalid)?.decode()?;
    let model_org: Organization = items.next().flatten().ok_or(AppError::LinkInvalid)?.decode()?;
    if !model_org.template || model_user.org_id != model_org.id {
        return Err(AppError::LinkInvalid);
    }
    let model_seats = items.next().flatten().as_ref().map(Seats::from_item).transpose()?;
    if items.next().flatten().is_some() {
        return Err(AppError::Conflict(format!(
            "An organisation named \"{}\" exists already: sign up again with another name.",
            pending.organization_name.as_str()
        )));
    }
    let parent = match pending.parent {
        Some(_) => {
            let group: Organization = items
                .next()
                .flatten()
                .ok_or_else(|| AppError::Conflict("The group this link's key names no longer exists.".into()))?
                .decode()?;
            Some(group.id).filter(|_| group.kind == OrgKind::Partner)
        }
        None => None,
    };

    // The copy: what the templates carry, at this moment.
    let mut org = Organization::new(
        OrgId(deps.ids.new_id()),
        pending.organization_name,
        OrgKind::Partner,
        None,
        now,
    )?;
    org.capabilities = model_org.capabilities;
    org.trusted_ranges = model_org.trusted_ranges.clone();
    org.mfa_required = model_org.mfa_required;
    org.parent = parent;
    org.awaiting_approval = config.moderated;
    let allocation = model_seats.map_or(config.default_allocation, |s| s.allocation);
    if allocation.limit() == Some(0) {
        return Err(AppError::Conflict(format!(
            "The template's allocation ({}) leaves no seat for you: ask the platform to set your organisation up.",
            allocation.describe()
        )));
    }
    let mut user = User::invited(
        UserId(deps.ids.new_id()),
        &OrgRef::from(&org),
        link.email.clone(),
        DisplayName::parse(&pending.display_name)?,
        model_user.role,
        now,
    )?;
    user.hide_org_settings = model_user.hide_org_settings;
    user.status = if config.moderated {
        UserStatus::Pending
    } else {
        UserStatus::Active
    };
    // The emailed link confirmed the address.
    user.email_confirmed_at = Some(now);
    let mut login = Login::of(&user);
    login.activated = true;
    login.awaiting_approval = config.moderated;
    let actor = Actor::new(
        Principal {
            user_id: user.id,
            email: user.email.clone(),
            org_id: org.id,
            org_kind: org.kind,
            role: user.role,
            settings_hidden: user.hide_org_settings,
        },
        source_ip.to_string(),
    );
    // The inactivity clock starts when they may sign in: now, or at approval.
    let activity = (!config.moderated).then(|| first_activity(&user, now)).transpose()?;
    let mut description = format!(
        "{} signed up and created partner \"{}\" from the templates",
        user.email,
        org.name.as_str()
    );
    if let Some(p) = parent {
        description.push_str(&format!(" under group {p}"));
    }
    if config.moderated {
        description.push_str("; it waits for the platform's approval");
    }
    let change = Change::new(
        deps,
        &actor,
        org.id,
        ActionType::CreateOrganization,
        Target::organization(org.id),
        description,
    )
    .head(None)
    .after(serde_json::json!({
        "organization": org,
        "allocation": allocation,
        "role": user.role,
        "modelOrganization": model_org.id,
        "modelUser": model_user.id,
    }))
    .write(Write::patch(
        token.key(),
        &serde_json::json!({ "usedAt": now }),
        Cond::VersionIs(link_item.version),
    )?)
    .write(Write::Put {
        item: org.item()?,
        cond: Cond::MustNotExist,
    })
    .write(Write::Put {
        item: crate::ops::accounts::org_name_guard(&org)?,
        cond: Cond::MustNotExist,
    })
    .write(Write::Put {
        item: user.item()?,
        cond: Cond::MustNotExist,
    })
    .write(Write::Put {
        item: login.item(&user.email)?,
        cond: Cond::MustNotExist,
    })
    .write(crate::ops::partner_portal::new_seats(&org, allocation, 1)?)
    .writes(activity);
    change.commit(deps).await.map_err(|e| {
        on_condition(e, |i| match i {
            0 => Some(AppError::LinkUsed),
            2 => Some(AppError::Conflict(format!(
                "An organisation named \"{}\" exists already: sign up again with another name.",
                org.name.as_str()
            ))),
            4 => Some(AppError::Conflict(format!(
                "A user with the email address {} exists already.",
                user.email
            ))),
            _ => None,
        })
    })?;
    let who = IdentityUser {
        id: user.id,
        org_id: org.id,
        org_kind: org.kind,
        email: &user.email,
    };
    if let Err(e) = deps.identity.set_password(who, &password).await {
        // No password, no account: take it all back out; the link works again.
        let undo = Change::new(
            deps,
            &actor,
            org.id,
            ActionType::CreateOrganization,
            Target::organization(org.id),
            format!(
                "Creating partner \"{}\" failed at the identity provider; undone",
                org.name.as_str()
            ),
        )
        .write(Write::patch(
            token.key(),
            &serde_json::json!({ "usedAt": null }),
            Cond::VersionIs(link_item.version + 1),
        )?)
        .writes(removal_writes(&org, &user));
        if let Err(u) = undo.commit(deps).await {
            tracing::error!(error = %u, "could not undo a sign-up the identity refused");
        }
        return Err(match e {
            crate::identity::IdentityError::PasswordRefused(why) => {
                AppError::invalid(format!("password refused: {why}"))
            }
            other => AppError::Identity(other.to_string()),
        });
    }
    Ok(SignedUp {
        awaiting_approval: org.awaiting_approval,
        next: if org.awaiting_approval {
            "The platform approves new organisations first: you will hear by email.".into()
        } else {
            "POST /session with your email and password; set up your authenticator app next".into()
        },
        organization: org,
        user_id: user.id,
    })
}

/// The inactivity record a user's first sign-in may start from.
fn first_activity(user: &User, now: chrono::DateTime<chrono::Utc>) -> Result<Write, AppError> {
    let activity = crate::inactivity::UserActivity {
        user_id: user.id,
        org_id: user.org_id,
        email: user.email.clone(),
        last_active_at: now,
        warned_at: None,
        suspended_at: None,
    };
    Ok(Write::Put {
        item: activity.item(1)?,
        cond: Cond::None,
    })
}

/// The items a self-registered organisation and its manager consist of.
fn removal_writes(org: &Organization, user: &User) -> Vec<Write> {
    [
        keys::org(org.id),
        keys::org_name(&org.name.skeleton()),
        keys::user(user.id),
        keys::login(&user.email),
        keys::seats(org.id),
        keys::user_activity(user.id),
    ]
    .into_iter()
    .map(|key| Write::Delete { key, cond: Cond::None })
    .collect()
}

// --- Moderation ----------------------------------------------------------

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AwaitingPage {
    pub items: Vec<Organization>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// The self-registered organisations waiting for approval, newest first
/// (platform admins). 1 read.
pub async fn awaiting(deps: &Deps, caller: &Caller, q: PageQuery) -> Result<AwaitingPage, AppError> {
    let (limit, cursor) = q.parts()?;
    let query = Query::partition(Index::Gsi2, keys::AWAITING_APPROVAL)
        .limit(limit)
        .after(cursor);
    let (a, [], guessed) = authenticate_and_query(deps, caller, [], Some(query.clone())).await?;
    deps.authz
        .require(&a.actor.principal, Action::ManagePartnerPortal, &OrgFacts::from(&a.org))?;
    let page = guessed.page(deps, &query).await?;
    Ok(AwaitingPage {
        items: page.items.iter().map(|i| i.decode()).collect::<Result<_, _>>()?,
        next_cursor: page.next.map(|c| c.as_str().to_string()),
    })
}

/// Body of `POST /signups/{id}/decision`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignupDecision {
    pub approve: bool,
}

/// A platform admin approves a held organisation (its manager may sign in
/// at once, and is told by email) or rejects it (it and its manager are
/// removed, and the address may sign up again). A "Create Organization"
/// event in its log. 2 reads (the organisation, then its manager), 1 write.
pub async fn decide(deps: &Deps, caller: &Caller, org_id: OrgId, d: SignupDecision) -> Result<Organization, AppError> {
    let (a, [org]) = authenticate_full(deps, caller, [keys::org(org_id)]).await?;
    let mut org: Organization = org.ok_or(AppError::NotFound)?.decode()?;
    deps.authz
        .require(&a.actor.principal, Action::ManagePartnerPortal, &OrgFacts::from(&org))?;
    if !org.awaiting_approval {
        return Err(AppError::Conflict(
            "This organisation is not waiting for approval.".into(),
        ));
    }
    let users = deps
        .table
        .query(&Query::partition(Index::Gsi1, keys::org_users(org.id)).limit(2))
        .await?;
    let [user]: [Item; 1] = users
        .items
        .try_into()
        .map_err(|_| AppError::Conflict("A held organisation has exactly its one manager.".into()))?;
    let user: User = user.decode()?;
    let version = org.version;
    let change = Change::new(
        deps,
        &a.actor,
        org.id,
        ActionType::CreateOrganization,
        Target::organization(org.id),
        if d.approve {
            format!("Approved self-registered partner \"{}\"", org.name.as_str())
        } else {
            format!(
                "Rejected self-registered partner \"{}\"; it and {} are removed",
                org.name.as_str(),
                user.email
            )
        },
    )
    .mirrored_for(&a.actor, a.org.id);
    let change = if d.approve {
        org.awaiting_approval = false;
        org.version += 1;
        change
            .write(Write::Put {
                item: org.item()?,
                cond: Cond::VersionIs(version),
            })
            .write(Write::patch(
                keys::user(user.id),
                &serde_json::json!({ "status": UserStatus::Active }),
                Cond::VersionIs(user.version),
            )?)
            .write(Write::patch(
                keys::login(&user.email),
                &serde_json::json!({ "awaitingApproval": false }),
                Cond::MustExist,
            )?)
            .write(first_activity(&user, deps.clock.now())?)
    } else {
        let mut removal = removal_writes(&org, &user);
        // The organisation as read, or nothing.
        removal[0] = Write::Delete {
            key: keys::org(org.id),
            cond: Cond::VersionIs(version),
        };
        change.writes(removal)
    };
    change.commit(deps).await.map_err(|e| {
        on_condition(e, |_| {
            Some(AppError::Conflict(
                "The organisation changed meanwhile: try again.".into(),
            ))
        })
    })?;
    if d.approve {
        send(
            deps,
            templates::notice(
                &user.email,
                &format!("{} is approved", org.name.as_str()),
                "The platform approved your organisation: you can sign in now.",
                &deps.settings,
            ),
        )
        .await;
    } else if let Err(e) = deps.identity.disable(user.id).await {
        tracing::warn!(user = %user.id, error = %e, "rejected sign-up not disabled at the identity provider");
    }
    Ok(org)
}
