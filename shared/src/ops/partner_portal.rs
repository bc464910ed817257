//! The platform's feature switches and Partner Portal settings (seed 002
//! Steps 1 and 4): read and change them, and what a new partner
//! organisation starts with (its capability flags and seats).

use crate::app::Deps;
use crate::audit::{ActionType, Target};
use crate::authz::{Action, OrgFacts};
use crate::domain::{OrgKind, Organization, User};
use crate::error::AppError;
use crate::http::principal::Caller;
use crate::ops::{Change, authenticate_full, on_condition};
use crate::partner_portal::{Allocation, PortalConfig, Seats};
use crate::store::{Cond, Write, keys};

/// The switches and settings (platform admins). 1 read.
pub async fn get(deps: &Deps, caller: &Caller) -> Result<PortalConfig, AppError> {
    let (a, []) = authenticate_full(deps, caller, []).await?;
    deps.authz
        .require(&a.actor.principal, Action::ManagePartnerPortal, &OrgFacts::from(&a.org))?;
    Ok(a.portal)
}

/// Saves the switches and settings (platform admins), with the version
/// read (0 before the first save): an "Update Organization" event in the
/// platform's log with both versions. A Model User must be a user of a
/// template organisation. 1 read (2 with a Model User), 1 write.
pub async fn put(deps: &Deps, caller: &Caller, mut input: PortalConfig) -> Result<PortalConfig, AppError> {
    input.check()?;
    let (a, []) = authenticate_full(deps, caller, []).await?;
    deps.authz
        .require(&a.actor.principal, Action::ManagePartnerPortal, &OrgFacts::from(&a.org))?;
    let before = a.portal;
    if input.version != before.version {
        return Err(stale());
    }
    // The link dies with self-registration; the body never sets it.
    input.signup_link = if input.allow_external_creation {
        before.signup_link.clone()
    } else {
        None
    };
    input.model_organization = None;
    let mut model_check = None;
    if let Some(model) = input.model_user {
        let (user, org) = model_user(deps, model).await?;
        input.model_organization = Some(org.id);
        model_check = Some(Write::Check {
            key: keys::org(org.id),
            cond: Cond::VersionIs(org.version),
        });
        if user.role != crate::domain::Role::PartnerManager {
            return Err(AppError::invalid(
                "the Model User must be a Partner Manager of a template organisation",
            ));
        }
    }
    input.version = before.version + 1;
    let cond = if before.version == 0 {
        Cond::MustNotExist
    } else {
        Cond::VersionIs(before.version)
    };
    let mut change = Change::new(
        deps,
        &a.actor,
        a.org.id,
        ActionType::UpdateOrganization,
        Target {
            kind: "partnerPortal".into(),
            id: "settings".into(),
        },
        describe(&before, &input),
    )
    .after(serde_json::to_value(&input).map_err(|e| AppError::Internal(e.to_string()))?)
    .write(Write::Put {
        item: input.item()?,
        cond,
    });
    change.event.before = Some(serde_json::to_value(&before).map_err(|e| AppError::Internal(e.to_string()))?);
    if let Some(check) = model_check {
        change = change.write(check);
    }
    change.commit(deps).await.map_err(|e| {
        on_condition(e, |i| match i {
            0 => Some(stale()),
            1 => Some(AppError::Conflict(
                "The Model Organization changed meanwhile: read it and save again.".into(),
            )),
            _ => None,
        })
    })?;
    Ok(input)
}

fn stale() -> AppError {
    AppError::Conflict("The Partner Portal settings changed since you read them: read them again.".into())
}

/// The Model User and their (template) organisation.
pub(crate) async fn model_user(deps: &Deps, id: crate::domain::UserId) -> Result<(User, Organization), AppError> {
    let not_model = || AppError::invalid("modelUser is not a user of a template organisation");
    let user: User = deps.table.get(&keys::user(id)).await?.ok_or_else(not_model)?.decode()?;
    let org: Organization = deps
        .table
        .get(&keys::org(user.org_id))
        .await?
        .ok_or_else(not_model)?
        .decode()?;
    if !org.template || org.kind != OrgKind::Partner {
        return Err(not_model());
    }
    Ok((user, org))
}

/// What changed, in words.
fn describe(before: &PortalConfig, after: &PortalConfig) -> String {
    let on = |b: bool| if b { "on" } else { "off" };
    let mut said = Vec::new();
    let mut diff = |name: &str, was: bool, now: bool| {
        if was != now {
            said.push(format!("{name} {}", on(now)));
        }
    };
    diff("Organizations", before.organizations, after.organizations);
    diff("Partner Portal", before.partner_portal, after.partner_portal);
    diff(
        "Allow External Organization Creation",
        before.allow_external_creation,
        after.allow_external_creation,
    );
    diff("moderation", before.moderated, after.moderated);
    if before.default_allocation != after.default_allocation {
        said.push(format!(
            "Default Resource Allocation {}",
            after.default_allocation.describe()
        ));
    }
    if before.capabilities != after.capabilities {
        said.push(format!(
            "default capabilities [{}]",
            after.capabilities.names().join(", ")
        ));
    }
    if before.model_user != after.model_user {
        said.push(match after.model_user {
            Some(u) => format!("Model User {u}"),
            None => "no Model User".into(),
        });
    }
    if said.is_empty() {
        "Saved the Partner Portal settings unchanged".into()
    } else {
        format!("Partner Portal settings: {}", said.join("; "))
    }
}

/// The seats record of a new partner organisation with `used` users.
pub(crate) fn new_seats(org: &Organization, allocation: Allocation, used: u32) -> Result<Write, AppError> {
    Ok(Write::Put {
        item: Seats::new(org.id, allocation, used).item()?,
        cond: Cond::MustNotExist,
    })
}

/// Takes (or gives back) one of `org`'s seats: a counted write, refused
/// when none is free. Only for an organisation with a seats record: one
/// made before seats existed has none until `migrate_seats` counts its
/// users, and is not limited meanwhile.
pub(crate) fn seat(org: crate::domain::OrgId, take: bool) -> Write {
    Write::Count {
        key: keys::seats(org),
        field: crate::partner_portal::SEATS_USED,
        up: take,
        cap: crate::partner_portal::SEATS_LIMIT,
    }
}

/// Refuses creating a partner organisation while Organizations is off.
pub(crate) fn may_create_partner(config: &PortalConfig) -> Result<(), AppError> {
    if config.organizations {
        Ok(())
    } else {
        Err(AppError::AccessRefused {
            code: "organizations-off",
            detail: "Organizations is switched off: no partner organisation can be created until the platform switches it on.".into(),
        })
    }
}

/// Body of `PUT /organizations/{id}/capabilities`.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetCapabilities {
    pub capabilities: crate::partner_portal::Capabilities,
    /// The organisation's version, as read.
    pub version: u64,
}

/// The platform sets what a partner (or a template) may manage itself: an
/// "Update Organization" event in its log. In force from its managers' next
/// request. 1 read, 1 write.
pub async fn set_capabilities(
    deps: &Deps,
    caller: &Caller,
    org_id: crate::domain::OrgId,
    input: SetCapabilities,
) -> Result<Organization, AppError> {
    let (a, [org]) = authenticate_full(deps, caller, [keys::org(org_id)]).await?;
    let mut org: Organization = org.ok_or(AppError::NotFound)?.decode()?;
    deps.authz
        .require(&a.actor.principal, Action::ManagePartnerPortal, &OrgFacts::from(&org))?;
    if org.kind != OrgKind::Partner {
        return Err(AppError::invalid("capability flags are a partner organisation's"));
    }
    if input.version != org.version {
        return Err(AppError::Conflict(
            "The organisation changed since you read it: read it again.".into(),
        ));
    }
    let before = org.capabilities;
    org.capabilities = input.capabilities;
    org.version += 1;
    let mut change = Change::new(
        deps,
        &a.actor,
        org.id,
        ActionType::UpdateOrganization,
        Target::organization(org.id),
        format!(
            "Capabilities of \"{}\": [{}] (were [{}])",
            org.name.as_str(),
            org.capabilities.names().join(", "),
            before.names().join(", ")
        ),
    )
    .after(serde_json::json!({ "capabilities": org.capabilities }))
    .write(Write::patch(
        keys::org(org.id),
        &serde_json::json!({ "capabilities": org.capabilities }),
        Cond::VersionIs(input.version),
    )?);
    change.event.before = Some(serde_json::json!({ "capabilities": before }));
    change.commit(deps).await.map_err(|e| {
        on_condition(e, |i| {
            (i == 0).then(|| AppError::Conflict("The organisation changed since you read it: read it again.".into()))
        })
    })?;
    Ok(org)
}

/// Body of `PUT /organizations/{id}/users/{userId}/restrictions`.
#[derive(Debug, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Restrictions {
    /// Seed 002 Step 7's Hide Organization Settings: the organisation's
    /// settings (profile, users, seats, groups, permissions) are closed to the user.
    pub hide_organization_settings: bool,
}

/// The platform restricts a user (seed 002 Step 7): in force from their
/// next request. An "Update User Profile" event in their organisation's
/// log. 1 read, 1 write.
pub async fn set_restrictions(
    deps: &Deps,
    caller: &Caller,
    org_id: crate::domain::OrgId,
    user_id: crate::domain::UserId,
    input: Restrictions,
) -> Result<Restrictions, AppError> {
    let (a, [org, user]) = authenticate_full(deps, caller, [keys::org(org_id), keys::user(user_id)]).await?;
    let org: Organization = org.ok_or(AppError::NotFound)?.decode()?;
    deps.authz
        .require(&a.actor.principal, Action::ManagePartnerPortal, &OrgFacts::from(&org))?;
    let user: User = user.ok_or(AppError::NotFound)?.decode()?;
    if user.org_id != org.id {
        return Err(AppError::NotFound);
    }
    if org.kind != OrgKind::Partner {
        return Err(AppError::invalid(
            "Hide Organization Settings is for a partner's managers (seed 002 Step 7)",
        ));
    }
    Change::new(
        deps,
        &a.actor,
        org.id,
        ActionType::UpdateUserProfile,
        Target {
            kind: "user".into(),
            id: user.id.to_string(),
        },
        format!(
            "{} Organization Settings for {}",
            if input.hide_organization_settings {
                "Hid"
            } else {
                "Showed"
            },
            user.email
        ),
    )
    .after(serde_json::to_value(&input).map_err(|e| AppError::Internal(e.to_string()))?)
    .write(Write::patch(
        keys::user(user.id),
        &serde_json::json!({ "hideOrgSettings": input.hide_organization_settings }),
        Cond::VersionIs(user.version),
    )?)
    .commit(deps)
    .await
    .map_err(|e| {
        on_condition(e, |i| {
            (i == 0).then(|| AppError::Conflict("The user changed meanwhile: try again.".into()))
        })
    })?;
    Ok(input)
}

/// The portal texts, as anyone sees them (the signup page shows the
/// initiation text before anyone signs in). 1 read.
pub async fn texts(deps: &Deps) -> Result<crate::partner_portal::PortalTexts, AppError> {
    let item = deps.table.get(&keys::portal_texts()).await?;
    Ok(crate::partner_portal::PortalTexts::from_item(item.as_ref())?)
}

/// Body of `PUT /portal-texts/{name}`.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetText {
    /// HTML; sanitised before it is kept (whatever could run is dropped).
    pub html: String,
    /// The text's version as read (0: never saved).
    pub version: u64,
}

/// A platform admin saves one portal text, sanitised, with the version
/// read: an "Update Organization" event with both versions. 1 read, 1 write.
pub async fn set_text(
    deps: &Deps,
    caller: &Caller,
    name: crate::partner_portal::TextName,
    input: SetText,
) -> Result<crate::partner_portal::PortalText, AppError> {
    let html = crate::partner_portal::sanitise(&input.html)?;
    let (a, [item]) = authenticate_full(deps, caller, [keys::portal_texts()]).await?;
    deps.authz
        .require(&a.actor.principal, Action::ManagePartnerPortal, &OrgFacts::from(&a.org))?;
    let mut texts = crate::partner_portal::PortalTexts::from_item(item.as_ref())?;
    let text = texts.get_mut(name);
    if text.version != input.version {
        return Err(AppError::Conflict(format!(
            "The text changed since you read it (it is at version {}): read it again.",
            text.version
        )));
    }
    let before = text.clone();
    *text = crate::partner_portal::PortalText {
        html,
        version: before.version + 1,
        updated_at: Some(deps.clock.now()),
    };
    let saved = text.clone();
    let item_version = item.as_ref().map_or(0, |i| i.version);
    let cond = if item.is_some() {
        Cond::VersionIs(item_version)
    } else {
        Cond::MustNotExist
    };
    let label = serde_json::to_value(name).map_err(|e| AppError::Internal(e.to_string()))?;
    let mut change = Change::new(
        deps,
        &a.actor,
        a.org.id,
        ActionType::UpdateOrganization,
        Target {
            kind: "portalText".into(),
            id: label.as_str().unwrap_or_default().to_string(),
        },
        format!(
            "Portal text \"{}\" saved (version {})",
            label.as_str().unwrap_or_default(),
            saved.version
        ),
    )
    .after(serde_json::to_value(&saved).map_err(|e| AppError::Internal(e.to_string()))?)
    .write(Write::Put {
        item: texts.item(item_version + 1)?,
        cond,
    });
    change.event.before = Some(serde_json::to_value(&before).map_err(|e| AppError::Internal(e.to_string()))?);
    change.commit(deps).await.map_err(|e| {
        on_condition(e, |i| {
            (i == 0).then(|| AppError::Conflict("Another text was saved at the same moment: try again.".into()))
        })
    })?;
    Ok(saved)
}

/// The signed-in user read the first-time dialog (seed 002 Step 6): it
/// shows no more. No event: it changes nothing anyone else sees. 1 read, 1 write.
pub async fn welcomed(deps: &Deps, caller: &Caller) -> Result<(), AppError> {
    let (a, []) = authenticate_full(deps, caller, []).await?;
    if a.user.welcomed {
        return Ok(());
    }
    deps.table
        .transact(vec![Write::patch(
            keys::user(a.user.id),
            &serde_json::json!({ "welcomed": true }),
            Cond::MustExist,
        )?])
        .await?;
    Ok(())
}
