//! Redeeming the emailed links: invitations and Password Setup (set the
//! password), forgotten passwords, and email confirmation.

use chrono::Duration;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::accounts::{InvitationState, Link, LinkPurpose, LinkToken, Login, PASSWORD_SETUP_MINUTES};
use crate::app::Deps;
use crate::audit::{ActionType, Actor};
use crate::authz::Principal;
use crate::domain::{
    DisplayName, EmailAddress, OrgId, OrgKind, OrgName, OrgRef, Organization, Password, Role, User, UserId, UserStatus,
};
use crate::error::AppError;
use crate::identity::{IdentityError, IdentityUser};
use crate::mail::templates;
use crate::ops::{Change, on_condition};
use crate::store::{Cond, Item, Key, StoreError, Write, keys};

use super::{email_taken, json, org_name_guard, send, target};

/// Reads a link and checks it may be redeemed for `purposes` now.
async fn redeemable(deps: &Deps, token: &LinkToken, purposes: &[LinkPurpose]) -> Result<(Link, u64), AppError> {
    let item = deps.table.get(&token.key()).await?;
    check_redeemable(deps, item, purposes)
}

/// [`redeemable`], reading `also` in the same round trip.
async fn redeemable_with(
    deps: &Deps,
    token: &LinkToken,
    purposes: &[LinkPurpose],
    also: Key,
) -> Result<((Link, u64), Option<Item>), AppError> {
    let [item, also] = <[Option<Item>; 2]>::try_from(deps.table.get_many(&[token.key(), also]).await?)
        .map_err(|_| AppError::Internal("get_many answered a different number of items".into()))?;
    Ok((check_redeemable(deps, item, purposes)?, also))
}

fn check_redeemable(deps: &Deps, item: Option<Item>, purposes: &[LinkPurpose]) -> Result<(Link, u64), AppError> {
    let item = item.ok_or(AppError::LinkInvalid)?;
    let link: Link = item.decode()?;
    if !purposes.contains(&link.purpose) {
        return Err(AppError::LinkInvalid);
    }
    if link.used_at.is_some() {
        return Err(AppError::LinkUsed);
    }
    if link.expires_at <= deps.clock.now() {
        return Err(AppError::LinkExpired);
    }
    Ok((link, item.version))
}

/// What an emailed link is for, as the page it opens names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPage {
    /// `/setup-password`: an invitation, Password Setup or reset link.
    SetPassword,
    /// `/accept-invitation`: a customer invitation.
    AcceptInvitation,
    /// `/confirm-email`: an email confirmation.
    ConfirmEmail,
    /// `/finish-signup`: a self-registration.
    Signup,
}

/// Whether `token` is a live link for `page`, without using it (the pages
/// say "already used" or "expired" before anyone types a password). 1 read.
pub async fn check_link(deps: &Deps, token: &str, page: LinkPage) -> Result<(), AppError> {
    let token = LinkToken::parse(token)?;
    let purposes: &[LinkPurpose] = match page {
        LinkPage::SetPassword => &[
            LinkPurpose::Invitation,
            LinkPurpose::PasswordSetup,
            LinkPurpose::PasswordReset,
        ],
        LinkPage::AcceptInvitation => &[LinkPurpose::CustomerInvitation],
        LinkPage::ConfirmEmail => &[LinkPurpose::EmailConfirmation],
        LinkPage::Signup => &[LinkPurpose::Signup],
    };
    redeemable(deps, &token, purposes).await.map(|_| ())
}

/// Marks a link used: a conditional write, so of concurrent redemptions one wins.
fn use_link(token: &LinkToken, version: u64, now: chrono::DateTime<chrono::Utc>) -> Result<Write, AppError> {
    Ok(Write::patch(
        token.key(),
        &serde_json::json!({ "usedAt": now }),
        Cond::VersionIs(version),
    )?)
}

/// What a link-redeeming request did, for the caller.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PasswordSet {
    pub user_id: UserId,
    /// Sign in next (`POST /session`); MFA enrolment follows where required.
    pub next: String,
}

/// Body of `POST /password/setup`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetPassword {
    /// The token from the emailed link.
    pub token: String,
    pub password: String,
}

fn link_actor(link: &Link, user_id: UserId, source_ip: &str) -> Result<Actor, AppError> {
    let role = link.role.ok_or(AppError::LinkInvalid)?;
    Ok(Actor::new(
        Principal {
            user_id,
            email: link.email.clone(),
            org_id: link.org_id,
            org_kind: role.org_kind(),
            role,
            settings_hidden: false,
        },
        source_ip.to_string(),
    ))
}

fn identity_error(e: IdentityError) -> AppError {
    match e {
        IdentityError::PasswordRefused(why) => AppError::invalid(format!("password refused: {why}")),
        other => AppError::Identity(other.to_string()),
    }
}

/// Redeems an invitation, Password Setup or reset link: sets the password
/// (through the Identity port, after the link is marked used).
pub async fn set_password(deps: &Deps, source_ip: &str, input: SetPassword) -> Result<PasswordSet, AppError> {
    let token = LinkToken::parse(&input.token)?;
    let (link, version) = redeemable(
        deps,
        &token,
        &[
            LinkPurpose::Invitation,
            LinkPurpose::PasswordSetup,
            LinkPurpose::PasswordReset,
        ],
    )
    .await?;
    let password = Password::parse(&input.password, &link.email)?;
    let user_id = link.user_id.ok_or(AppError::LinkInvalid)?;
    let actor = link_actor(&link, user_id, source_ip)?;
    let now = deps.clock.now();
    let first = link.purpose != LinkPurpose::PasswordReset;
    let mut change = Change::new(
        deps,
        &actor,
        link.org_id,
        ActionType::UpdateUserProfile,
        target("user", user_id),
        if first {
            format!("{} set their first password", link.email)
        } else {
            format!("{} reset their password", link.email)
        },
    )
    .write(use_link(&token, version, now)?)
    .write(Write::patch(
        keys::login(&link.email),
        &serde_json::json!({ "activated": true, "setupLink": null }),
        Cond::MustExist,
    )?);
    // Opening an emailed link confirms the address, too; a new password
    // ends every session of the old one.
    let generation = crate::sessions::new_generation();
    let fields = if first {
        serde_json::json!({ "status": UserStatus::Active, "emailConfirmedAt": now, "sessionGeneration": generation })
    } else {
        serde_json::json!({ "emailConfirmedAt": now, "sessionGeneration": generation })
    };
    change = change.write(Write::patch(keys::user(user_id), &fields, Cond::MustExist)?);
    if first && actor.principal.org_kind == crate::domain::OrgKind::Partner {
        // The inactivity clock starts at the first password, so that someone
        // who never finishes enrolling MFA is swept like anyone else.
        let activity = crate::inactivity::UserActivity {
            user_id,
            org_id: link.org_id,
            email: link.email.clone(),
            last_active_at: now,
            warned_at: None,
            suspended_at: None,
        };
        change = change.write(Write::Put {
            item: activity.item(1)?,
            cond: Cond::None,
        });
    }
    if let Some(inv) = link.invitation_id {
        change = change.write(Write::patch(
            keys::invitation(inv),
            &serde_json::json!({ "state": InvitationState::Accepted, "linkKey": null }),
            Cond::MustExist,
        )?);
    }
    change
        .commit(deps)
        .await
        .map_err(|e| on_condition(e, |i| (i == 0).then_some(AppError::LinkUsed)))?;
    let who = IdentityUser {
        id: user_id,
        org_id: link.org_id,
        org_kind: actor.principal.org_kind,
        email: &link.email,
    };
    if let Err(e) = deps.identity.set_password(who, &password).await {
        // The password was not set: undo what the commit did, so the link
        // works again and nothing claims a setup that did not happen.
        let mut undo = Change::new(
            deps,
            &actor,
            link.org_id,
            ActionType::UpdateUserProfile,
            target("user", user_id),
            format!(
                "Password setup for {} failed at the identity provider; undone",
                link.email
            ),
        )
        .write(Write::patch(
            token.key(),
            &serde_json::json!({ "usedAt": null }),
            Cond::VersionIs(version + 1),
        )?)
        .write(Write::patch(
            keys::login(&link.email),
            &serde_json::json!({ "activated": !first, "setupLink": token.key() }),
            Cond::MustExist,
        )?);
        if first {
            undo = undo.write(Write::patch(
                keys::user(user_id),
                &serde_json::json!({ "status": UserStatus::Pending }),
                Cond::MustExist,
            )?);
        }
        if let Some(inv) = link.invitation_id {
            undo = undo.write(Write::patch(
                keys::invitation(inv),
                &serde_json::json!({ "state": InvitationState::Pending, "linkKey": token.key() }),
                Cond::MustExist,
            )?);
        }
        if let Err(u) = undo.commit(deps).await {
            tracing::error!(error = %u, "could not undo a password setup the identity refused");
        }
        return Err(identity_error(e));
    }
    if !first {
        send(
            deps,
            templates::notice(
                &link.email,
                "your password was changed",
                "The password of your account was just changed.",
                &deps.settings,
            ),
        )
        .await;
    }
    Ok(PasswordSet {
        user_id,
        next: "POST /session with your email and new password".into(),
    })
}

/// Body of `POST /password/forgot`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Forgot {
    pub email: EmailAddress,
}

/// Seconds between two password emails to one address.
pub const PASSWORD_MAIL_INTERVAL_SECONDS: i64 = 120;

/// Sends a fresh password link (60 minutes) if the address is a user's; the
/// previous link dies. Answers the same whatever the address, and at most
/// one email per address every two minutes.
pub async fn forgot_password(deps: &Deps, source_ip: &str, input: Forgot) -> Result<(), AppError> {
    let Some(item) = deps.table.get(&keys::login(&input.email)).await? else {
        return Ok(());
    };
    let login: Login = item.decode()?;
    if login.template {
        // A Model User: nobody sets its password.
        return Ok(());
    }
    if !login.activated && login.invitation.is_some() {
        // Invited and not set up: the invitation governs (the inviter resends it).
        return Ok(());
    }
    let now = deps.clock.now();
    let token = LinkToken::generate();
    let expires_at = now + Duration::minutes(PASSWORD_SETUP_MINUTES);
    let purpose = if login.activated {
        LinkPurpose::PasswordReset
    } else {
        LinkPurpose::PasswordSetup
    };
    let link = Link {
        purpose,
        user_id: Some(login.user_id),
        org_id: login.org_id,
        email: input.email.clone(),
        role: Some(login.role),
        invitation_id: None,
        expires_at,
        used_at: None,
        signup: None,
    };
    let throttle = Write::guard(
        keys::mail_throttle("password", &input.email),
        (now + Duration::seconds(PASSWORD_MAIL_INTERVAL_SECONDS)).timestamp(),
    )?;
    // The requester is whoever knows the address: the event is anonymous,
    // with the requester's source IP, and names the account as its target.
    let mut change = Change::anonymous(
        deps,
        source_ip,
        login.org_id,
        ActionType::UpdateUserProfile,
        target("user", login.user_id),
        format!("A password link was requested for {} from {source_ip}", input.email),
    )
    .write(throttle)
    .write(Write::Put {
        item: link.item(&token)?,
        cond: Cond::MustNotExist,
    })
    .write(Write::patch(
        keys::login(&input.email),
        &serde_json::json!({ "setupLink": token.key() }),
        Cond::VersionIs(item.version),
    )?);
    if let Some(old) = login.setup_link {
        change = change.write(Write::Delete {
            key: old,
            cond: Cond::None,
        });
    }
    match change.commit(deps).await {
        Ok(()) => {}
        // Throttled, or raced another request: say nothing different.
        Err(StoreError::ConditionFailed { .. }) => return Ok(()),
        Err(e) => return Err(e.into()),
    }
    send(
        deps,
        templates::password_setup(&input.email, token.expose(), expires_at, &deps.settings),
    )
    .await;
    Ok(())
}

/// Body of `POST /invitations/accept`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AcceptCustomerInvitation {
    pub token: String,
    /// The customer organisation's name.
    pub organization_name: OrgName,
    /// The first Account Owner's name.
    pub display_name: DisplayName,
    pub password: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomerCreated {
    pub organization: Organization,
    pub user_id: UserId,
    pub next: String,
}

/// A customer accepts a partner's invitation: its organisation (linked to the
/// partner) and its first Account Owner, then the password.
pub async fn accept_customer_invitation(
    deps: &Deps,
    source_ip: &str,
    input: AcceptCustomerInvitation,
) -> Result<CustomerCreated, AppError> {
    let token = LinkToken::parse(&input.token)?;
    let ((link, version), catalogue) = redeemable_with(
        deps,
        &token,
        &[LinkPurpose::CustomerInvitation],
        keys::delegated_roles(),
    )
    .await?;
    let password = Password::parse(&input.password, &link.email)?;
    let now = deps.clock.now();
    let org = Organization::new(
        OrgId(deps.ids.new_id()),
        input.organization_name,
        OrgKind::Customer,
        Some(link.org_id),
        now,
    )?;
    let mut user = User::invited(
        UserId(deps.ids.new_id()),
        &OrgRef::from(&org),
        link.email.clone(),
        input.display_name,
        Role::CustomerAccountOwner,
        now,
    )?;
    user.status = UserStatus::Active;
    let mut login = Login::of(&user);
    login.activated = true;
    let actor = Actor::new(
        Principal {
            user_id: user.id,
            email: user.email.clone(),
            org_id: org.id,
            org_kind: org.kind,
            role: user.role,
            settings_hidden: false,
        },
        source_ip.to_string(),
    );
    let catalogue = crate::delegations::Catalogue::from_item(catalogue.as_ref())?;
    let mut after = json(&org)?;
    let mut description = format!(
        "{} accepted the invitation and created customer \"{}\"",
        user.email,
        org.name.as_str()
    );
    let mut default_writes = Vec::new();
    if let Some((writes, delegation, said)) = crate::ops::delegations::default_for(&catalogue, &org, now)? {
        after["defaultDelegation"] = delegation;
        description.push_str(&said);
        default_writes = writes;
    }
    let mut change = Change::new(
        deps,
        &actor,
        org.id,
        ActionType::CreateOrganization,
        target("organization", org.id),
        description,
    )
    // A new organisation: its chain starts here, nothing to read.
    .head(None)
    .after(after)
    .write(use_link(&token, version, now)?)
    .write(Write::Check {
        key: keys::org(link.org_id),
        cond: Cond::MustExist,
    })
    .write(Write::Put {
        item: org.item()?,
        cond: Cond::MustNotExist,
    })
    .write(Write::Put {
        item: org_name_guard(&org)?,
        cond: Cond::MustNotExist,
    })
    .write(Write::Put {
        item: user.item()?,
        cond: Cond::MustNotExist,
    })
    .write(Write::Put {
        item: login.item(&user.email)?,
        cond: Cond::MustNotExist,
    });
    if let Some(inv) = link.invitation_id {
        change = change.write(Write::patch(
            keys::invitation(inv),
            &serde_json::json!({ "state": InvitationState::Accepted, "createdOrgId": org.id, "linkKey": null }),
            Cond::MustExist,
        )?);
    }
    // After the writes the conditions below count by position.
    change = change.writes(default_writes);
    change.commit(deps).await.map_err(|e| {
        on_condition(e, |i| match i {
            0 => Some(AppError::LinkUsed),
            1 => Some(AppError::Conflict("The inviting partner no longer exists.".into())),
            3 => Some(AppError::Conflict(format!(
                "An organisation named \"{}\" exists already.",
                org.name.as_str()
            ))),
            5 => Some(email_taken(&user.email)),
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
        // No password, no account: take the organisation and user back out
        // and let the invitation be accepted again.
        let mut undo = Change::new(
            deps,
            &actor,
            org.id,
            ActionType::CreateOrganization,
            target("organization", org.id),
            format!(
                "Creating customer \"{}\" failed at the identity provider; undone",
                org.name.as_str()
            ),
        )
        .write(Write::patch(
            token.key(),
            &serde_json::json!({ "usedAt": null }),
            Cond::VersionIs(version + 1),
        )?)
        .write(Write::Delete {
            key: keys::org(org.id),
            cond: Cond::None,
        })
        .write(Write::Delete {
            key: keys::org_name(&org.name.skeleton()),
            cond: Cond::None,
        })
        .write(Write::Delete {
            key: keys::user(user.id),
            cond: Cond::None,
        })
        .write(Write::Delete {
            key: keys::login(&user.email),
            cond: Cond::None,
        })
        .writes(
            crate::ops::delegations::default_keys(&catalogue, org.id, link.org_id)
                .into_iter()
                .map(|key| Write::Delete { key, cond: Cond::None }),
        );
        if let Some(inv) = link.invitation_id {
            undo = undo.write(Write::patch(
                keys::invitation(inv),
                &serde_json::json!({ "state": InvitationState::Pending, "createdOrgId": null, "linkKey": token.key() }),
                Cond::MustExist,
            )?);
        }
        if let Err(u) = undo.commit(deps).await {
            tracing::error!(error = %u, "could not undo a customer the identity refused");
        }
        return Err(identity_error(e));
    }
    Ok(CustomerCreated {
        organization: org,
        user_id: user.id,
        next: "POST /session with your email and password".into(),
    })
}

/// Minutes between two confirmation emails to one user.
pub const CONFIRMATION_MAIL_MINUTES: i64 = 10;

/// Emails a confirmation link (valid 24 hours), at most one every 10 minutes.
pub async fn request_email_confirmation(deps: &Deps, user: &User) -> Result<(), AppError> {
    let now = deps.clock.now();
    let token = LinkToken::generate();
    let expires_at = now + Duration::hours(crate::domain::EMAIL_CONFIRMATION_HOURS);
    let link = Link {
        purpose: LinkPurpose::EmailConfirmation,
        user_id: Some(user.id),
        org_id: user.org_id,
        email: user.email.clone(),
        role: Some(user.role),
        invitation_id: None,
        expires_at,
        used_at: None,
        signup: None,
    };
    let throttle = Write::guard(
        keys::mail_throttle("confirm", &user.email),
        (now + Duration::minutes(CONFIRMATION_MAIL_MINUTES)).timestamp(),
    )?;
    let mut writes = vec![
        throttle,
        Write::Put {
            item: link.item(&token)?,
            cond: Cond::MustNotExist,
        },
        Write::patch(
            keys::user(user.id),
            &serde_json::json!({ "confirmLink": token.hash() }),
            Cond::MustExist,
        )?,
    ];
    // Re-issuing kills the previous link.
    if let Some(old) = &user.confirm_link {
        writes.push(Write::Delete {
            key: keys::link(old),
            cond: Cond::None,
        });
    }
    match deps.table.transact(writes).await {
        Ok(()) => {
            send(
                deps,
                templates::email_confirmation(&user.email, token.expose(), expires_at, &deps.settings),
            )
            .await;
            Ok(())
        }
        // One is on its way already.
        Err(StoreError::ConditionFailed { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Body of `POST /email/confirm`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfirmEmail {
    pub token: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmailConfirmed {
    pub confirmed_at: chrono::DateTime<chrono::Utc>,
}

/// Redeems a confirmation link: the 24-hour clock starts again.
pub async fn confirm_email(deps: &Deps, source_ip: &str, input: ConfirmEmail) -> Result<EmailConfirmed, AppError> {
    let token = LinkToken::parse(&input.token)?;
    let (link, version) = redeemable(deps, &token, &[LinkPurpose::EmailConfirmation]).await?;
    let user_id = link.user_id.ok_or(AppError::LinkInvalid)?;
    let actor = link_actor(&link, user_id, source_ip)?;
    let now = deps.clock.now();
    Change::new(
        deps,
        &actor,
        link.org_id,
        ActionType::UpdateUserProfile,
        target("user", user_id),
        format!("{} confirmed their email address", link.email),
    )
    .write(use_link(&token, version, now)?)
    .write(Write::patch(
        keys::user(user_id),
        &serde_json::json!({ "emailConfirmedAt": now, "confirmLink": null }),
        Cond::MustExist,
    )?)
    .commit(deps)
    .await
    .map_err(|e| on_condition(e, |i| (i == 0).then_some(AppError::LinkUsed)))?;
    Ok(EmailConfirmed { confirmed_at: now })
}
