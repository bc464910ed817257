//! Invitations: the platform invites a new partner's first Partner Manager,
//! a Partner Manager invites customers; listing, revoking and resending.

use chrono::Duration;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::accounts::{
    Invitation, InvitationKind, InvitationState, InvitationView, Link, LinkPurpose, LinkToken, Login,
    invitation_lifetime,
};
use crate::app::Deps;
use crate::audit::{ActionType, Actor};
use crate::authz::{Action, OrgFacts};
use crate::domain::{
    DisplayName, EmailAddress, InvitationId, OrgId, OrgKind, OrgName, OrgRef, Organization, Role, User, UserId,
};
use crate::error::AppError;
use crate::http::principal::Caller;
use crate::mail::templates;
use crate::ops::{Change, authenticate, authenticate_and_query, authenticate_full, on_condition};
use crate::store::{Cond, Index, Item, Query, StoreError, Write, keys};

use super::{PASSWORD_MAIL_INTERVAL_SECONDS, PageQuery, email_taken, json, send, target};

/// Body of `POST /invitations/partner`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InvitePartner {
    /// The new partner organisation's name.
    pub organization_name: OrgName,
    /// Its first Partner Manager.
    pub email: EmailAddress,
    pub display_name: DisplayName,
    /// Link lifetime in hours, 1 to 720 (default 168, 7 days).
    #[serde(default)]
    pub expires_in_hours: Option<i64>,
}

/// Body of `POST /invitations/customer`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InviteCustomer {
    pub email: EmailAddress,
    /// Link lifetime in hours, 1 to 720 (default 168, 7 days).
    #[serde(default)]
    pub expires_in_hours: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvitationSent {
    pub invitation: InvitationView,
    /// False when the email could not be sent (resend it).
    pub emailed: bool,
}

/// Platform admin: a new partner organisation, its first Partner Manager
/// (pending), the invitation and its link; all in one transaction.
pub async fn invite_partner(deps: &Deps, caller: &Caller, input: InvitePartner) -> Result<InvitationSent, AppError> {
    let lifetime = invitation_lifetime(input.expires_in_hours)?;
    let (a, [existing]) = authenticate_full(deps, caller, [keys::login(&input.email)]).await?;
    let actor = a.actor;
    let now = deps.clock.now();
    let mut org = Organization::new(
        OrgId(deps.ids.new_id()),
        input.organization_name,
        OrgKind::Partner,
        None,
        now,
    )?;
    deps.authz
        .require(&actor.principal, Action::InvitePartner, &OrgFacts::from(&org))?;
    crate::ops::partner_portal::may_create_partner(&a.portal)?;
    org.capabilities = a.portal.capabilities;
    let allocation = a.portal.default_allocation;
    if allocation.limit() == Some(0) {
        return Err(AppError::Conflict(format!(
            "The Default Resource Allocation ({}) leaves no seat for the first Partner Manager.",
            allocation.describe()
        )));
    }
    if existing.is_some() {
        return Err(email_taken(&input.email));
    }
    let user = User::invited(
        UserId(deps.ids.new_id()),
        &OrgRef::from(&org),
        input.email,
        input.display_name,
        Role::PartnerManager,
        now,
    )?;
    let token = LinkToken::generate();
    let expires_at = now + lifetime;
    let invitation = Invitation {
        id: InvitationId(deps.ids.new_id()),
        kind: InvitationKind::PartnerManager,
        org_id: org.id,
        org_name: org.name.as_str().to_string(),
        org_kind: org.kind,
        email: user.email.clone(),
        user_id: Some(user.id),
        invited_by: actor.principal.user_id,
        created_at: now,
        expires_at,
        state: InvitationState::Pending,
        created_org_id: None,
        link_key: Some(token.key()),
        version: 1,
    };
    let link = Link {
        purpose: LinkPurpose::Invitation,
        user_id: Some(user.id),
        org_id: org.id,
        email: user.email.clone(),
        role: Some(user.role),
        invitation_id: Some(invitation.id),
        expires_at,
        used_at: None,
        signup: None,
    };
    let mut login = Login::of(&user);
    login.invitation = Some(invitation.id);
    login.setup_link = Some(token.key());
    Change::new(
        deps,
        &actor,
        org.id,
        ActionType::InviteUser,
        target("invitation", invitation.id),
        format!(
            "Invited {} as Partner Manager of new partner \"{}\"",
            user.email,
            org.name.as_str()
        ),
    )
    // A new organisation: its chain starts here, nothing to read.
    .head(None)
    .after(json(&invitation.view(now))?)
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
    })
    .write(Write::Put {
        item: invitation.item()?,
        cond: Cond::MustNotExist,
    })
    .write(Write::Put {
        item: link.item(&token)?,
        cond: Cond::MustNotExist,
    })
    // The first Partner Manager holds the first seat.
    .write(crate::ops::partner_portal::new_seats(&org, allocation, 1)?)
    .commit(deps)
    .await
    .map_err(|e| {
        on_condition(e, |i| match i {
            1 => Some(AppError::Conflict(format!(
                "An organisation named \"{}\" exists already.",
                org.name.as_str()
            ))),
            3 => Some(email_taken(&user.email)),
            _ => None,
        })
    })?;
    let emailed = send(
        deps,
        templates::partner_invitation(
            &user.email,
            org.name.as_str(),
            token.expose(),
            expires_at,
            &deps.settings,
        ),
    )
    .await;
    Ok(InvitationSent {
        invitation: invitation.view(now),
        emailed,
    })
}

pub(crate) fn org_name_guard(o: &Organization) -> Result<Item, StoreError> {
    Item::new(
        keys::org_name(&o.name.skeleton()),
        keys::ORG_NAME,
        1,
        &serde_json::json!({ "orgId": o.id }),
    )
}

/// Customer invitations one partner may send a (UTC) day.
pub const MAX_CUSTOMER_INVITATIONS_PER_DAY: u64 = 50;

/// Partner Manager: invite a customer to create its organisation, linked to
/// this partner (at most [`MAX_CUSTOMER_INVITATIONS_PER_DAY`] a day).
pub async fn invite_customer(deps: &Deps, caller: &Caller, input: InviteCustomer) -> Result<InvitationSent, AppError> {
    let lifetime = invitation_lifetime(input.expires_in_hours)?;
    // Whether the address has an account is not the Partner Manager's to
    // learn: accepting the invitation fails for the invitee, not here.
    let today = deps.clock.now().date_naive();
    let quota_key = keys::invitation_quota(caller.org_id, today);
    let (a, [quota]) = authenticate_full(deps, caller, [quota_key.clone()]).await?;
    let partner = &a.org;
    deps.authz
        .require(&a.actor.principal, Action::InviteCustomer, &OrgFacts::from(partner))?;
    let now = deps.clock.now();
    // The day's count, read with the caller (the key names the caller's
    // organisation, which authorization just said is the inviting partner).
    let (sent_today, quota_version) = match &quota {
        Some(i) => (i.data["count"].as_u64().unwrap_or(0), Some(i.version)),
        None => (0, None),
    };
    if sent_today >= MAX_CUSTOMER_INVITATIONS_PER_DAY {
        let midnight = (today + chrono::Days::new(1))
            .and_time(chrono::NaiveTime::MIN)
            .and_utc();
        return Err(AppError::TooManyRequests {
            retry_after: u64::try_from((midnight - now).num_seconds()).unwrap_or(1).max(1),
            what: "Your organisation sent as many customer invitations as it may today.",
        });
    }
    let quota_write = Write::Put {
        item: Item::new(
            quota_key,
            keys::INVITATION_QUOTA,
            quota_version.map_or(1, |v| v + 1),
            &serde_json::json!({ "count": sent_today + 1 }),
        )?
        .with_ttl((now + chrono::Duration::days(2)).timestamp()),
        cond: quota_version.map_or(Cond::MustNotExist, Cond::VersionIs),
    };
    let token = LinkToken::generate();
    let expires_at = now + lifetime;
    let invitation = Invitation {
        id: InvitationId(deps.ids.new_id()),
        kind: InvitationKind::Customer,
        org_id: partner.id,
        org_name: partner.name.as_str().to_string(),
        org_kind: partner.kind,
        email: input.email.clone(),
        user_id: None,
        invited_by: a.actor.principal.user_id,
        created_at: now,
        expires_at,
        state: InvitationState::Pending,
        created_org_id: None,
        link_key: Some(token.key()),
        version: 1,
    };
    let link = Link {
        purpose: LinkPurpose::CustomerInvitation,
        user_id: None,
        org_id: partner.id,
        email: input.email.clone(),
        role: None,
        invitation_id: Some(invitation.id),
        expires_at,
        used_at: None,
        signup: None,
    };
    Change::new(
        deps,
        &a.actor,
        partner.id,
        ActionType::InviteUser,
        target("invitation", invitation.id),
        format!("Invited customer {} to create its organisation", input.email),
    )
    .after(json(&invitation.view(now))?)
    .write(Write::Put {
        item: invitation.item()?,
        cond: Cond::MustNotExist,
    })
    .write(Write::Put {
        item: link.item(&token)?,
        cond: Cond::MustNotExist,
    })
    .write(quota_write)
    .commit(deps)
    .await
    .map_err(|e| {
        on_condition(e, |i| {
            (i == 2).then(|| {
                AppError::Conflict("Another invitation was sent at the same moment: send this one again.".into())
            })
        })
    })?;
    let emailed = send(
        deps,
        templates::customer_invitation(
            &input.email,
            partner.name.as_str(),
            token.expose(),
            expires_at,
            &deps.settings,
        ),
    )
    .await;
    Ok(InvitationSent {
        invitation: invitation.view(now),
        emailed,
    })
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvitationPage {
    pub items: Vec<InvitationView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// An organisation's invitations, newest first, with their state now.
pub async fn list_invitations(
    deps: &Deps,
    caller: &Caller,
    org_id: OrgId,
    q: PageQuery,
) -> Result<InvitationPage, AppError> {
    let (limit, cursor) = q.parts()?;
    let query = Query::partition(Index::Gsi1, keys::org_invitations(org_id))
        .limit(limit)
        .after(cursor);
    let (a, [org], guessed) = authenticate_and_query(deps, caller, [keys::org(org_id)], Some(query.clone())).await?;
    let org: Organization = org.ok_or(AppError::NotFound)?.decode()?;
    deps.authz
        .require(&a.actor.principal, Action::ManageInvitations, &OrgFacts::from(&org))?;
    let page = guessed.page(deps, &query).await?;
    let now = deps.clock.now();
    let items = page
        .items
        .iter()
        .map(|i| i.decode::<Invitation>().map(|inv| inv.view(now)))
        .collect::<Result<_, _>>()?;
    Ok(InvitationPage {
        items,
        next_cursor: page.next.map(|c| c.as_str().to_string()),
    })
}

fn invitation_facts(inv: &Invitation) -> OrgFacts {
    OrgFacts {
        id: inv.org_id,
        kind: inv.org_kind,
        partner_of_record: None,
        allows: None,
    }
}

async fn load_invitation(deps: &Deps, caller: &Caller, id: InvitationId) -> Result<(Actor, Invitation), AppError> {
    let (actor, [inv]) = authenticate(deps, caller, [keys::invitation(id)]).await?;
    let inv: Invitation = inv.ok_or(AppError::NotFound)?.decode()?;
    deps.authz
        .require(&actor.principal, Action::ManageInvitations, &invitation_facts(&inv))?;
    Ok((actor, inv))
}

/// Revokes a pending (or expired) invitation; its link dies with it.
pub async fn revoke_invitation(deps: &Deps, caller: &Caller, id: InvitationId) -> Result<InvitationView, AppError> {
    let (actor, mut inv) = load_invitation(deps, caller, id).await?;
    let now = deps.clock.now();
    if !matches!(inv.state_at(now), InvitationState::Pending | InvitationState::Expired) {
        return Err(AppError::Conflict(
            format!("The invitation is {:?} and cannot be revoked.", inv.state_at(now)).to_lowercase(),
        ));
    }
    let before = json(&inv.view(now))?;
    let mut change = Change::new(
        deps,
        &actor,
        inv.org_id,
        ActionType::InviteUser,
        target("invitation", inv.id),
        format!("Revoked the invitation of {}", inv.email),
    )
    .write(Write::patch(
        keys::invitation(inv.id),
        &serde_json::json!({ "state": InvitationState::Revoked, "linkKey": null }),
        Cond::VersionIs(inv.version),
    )?);
    if let Some(k) = inv.link_key.take() {
        change = change.write(Write::Delete {
            key: k,
            cond: Cond::None,
        });
    }
    // The invited (never activated) Partner Manager goes with the invitation,
    // so no later link can activate them, and gives back their seat (a
    // second read: whether they and a seats record are still there).
    if let Some(user) = inv.user_id {
        let [still, seats]: [Option<Item>; 2] = deps
            .table
            .get_many(&[keys::user(user), keys::seats(inv.org_id)])
            .await?
            .try_into()
            .map_err(|_| AppError::Internal("get_many answered a different number of items".into()))?;
        change = change.write(Write::Delete {
            key: keys::login(&inv.email),
            cond: Cond::None,
        });
        if let Some(still) = still {
            let still: User = still.decode()?;
            change = change
                .write(Write::Delete {
                    key: keys::user(user),
                    cond: Cond::VersionIs(still.version),
                })
                .writes(crate::ops::seats::give_back_seat(&still, seats.as_ref()));
        }
    }
    inv.state = InvitationState::Revoked;
    let mut change = change.after(json(&inv.view(now))?);
    change.event.before = Some(before);
    change.commit(deps).await.map_err(|e| {
        on_condition(e, |_| {
            Some(AppError::Conflict(
                "The invitation changed meanwhile: read it again.".into(),
            ))
        })
    })?;
    Ok(inv.view(now))
}

/// Body of `POST /invitations/{id}/resend`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Resend {
    /// New link lifetime in hours, 1 to 720 (default 168).
    #[serde(default)]
    pub expires_in_hours: Option<i64>,
}

/// A new link for a pending or expired invitation; the old link dies.
pub async fn resend_invitation(
    deps: &Deps,
    caller: &Caller,
    id: InvitationId,
    input: Resend,
) -> Result<InvitationSent, AppError> {
    let lifetime = invitation_lifetime(input.expires_in_hours)?;
    let (actor, mut inv) = load_invitation(deps, caller, id).await?;
    let now = deps.clock.now();
    if !matches!(inv.state_at(now), InvitationState::Pending | InvitationState::Expired) {
        return Err(AppError::Conflict(
            "Only pending or expired invitations can be resent.".into(),
        ));
    }
    let token = LinkToken::generate();
    let expires_at = now + lifetime;
    let (purpose, role) = match inv.kind {
        InvitationKind::PartnerManager => (LinkPurpose::Invitation, Some(Role::PartnerManager)),
        InvitationKind::Customer => (LinkPurpose::CustomerInvitation, None),
    };
    let link = Link {
        purpose,
        user_id: inv.user_id,
        org_id: inv.org_id,
        email: inv.email.clone(),
        role,
        invitation_id: Some(inv.id),
        expires_at,
        used_at: None,
        signup: None,
    };
    let mut change = Change::new(
        deps,
        &actor,
        inv.org_id,
        ActionType::InviteUser,
        target("invitation", inv.id),
        format!("Resent the invitation of {}", inv.email),
    )
    // At most one invitation email per address every two minutes.
    .write(Write::guard(
        keys::mail_throttle("invite", &inv.email),
        (now + Duration::seconds(PASSWORD_MAIL_INTERVAL_SECONDS)).timestamp(),
    )?)
    .write(Write::patch(
        keys::invitation(inv.id),
        &serde_json::json!({ "state": InvitationState::Pending, "expiresAt": expires_at, "linkKey": token.key() }),
        Cond::VersionIs(inv.version),
    )?)
    .write(Write::Put {
        item: link.item(&token)?,
        cond: Cond::MustNotExist,
    });
    if let Some(old) = inv.link_key.take() {
        change = change.write(Write::Delete {
            key: old,
            cond: Cond::None,
        });
    }
    if inv.kind == InvitationKind::PartnerManager {
        change = change.write(Write::patch(
            keys::login(&inv.email),
            &serde_json::json!({ "setupLink": token.key() }),
            Cond::MustExist,
        )?);
    }
    change.commit(deps).await.map_err(|e| {
        on_condition(e, |i| {
            (i == 0).then(|| {
                AppError::Conflict("An email went to this address less than two minutes ago; wait a moment.".into())
            })
        })
    })?;
    inv.state = InvitationState::Pending;
    inv.expires_at = expires_at;
    let mail = match inv.kind {
        InvitationKind::PartnerManager => {
            templates::partner_invitation(&inv.email, &inv.org_name, token.expose(), expires_at, &deps.settings)
        }
        InvitationKind::Customer => {
            templates::customer_invitation(&inv.email, &inv.org_name, token.expose(), expires_at, &deps.settings)
        }
    };
    let emailed = send(deps, mail).await;
    Ok(InvitationSent {
        invitation: inv.view(now),
        emailed,
    })
}
