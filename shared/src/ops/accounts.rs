//! Getting people in: invitations (platform -> partner manager, partner ->
//! customer), user requests (partner asks, platform approves), direct adds,
//! password links (setup, reset). Every change commits with its event; the
//! emails go out after the commit.

use chrono::Duration;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::accounts::{
    Invitation, InvitationKind, InvitationState, InvitationView, Link, LinkPurpose, LinkToken, Login,
    PASSWORD_SETUP_MINUTES, RequestState, UserRequest, invitation_lifetime,
};
use crate::app::Deps;
use crate::audit::{ActionType, Actor, Target};
use crate::authz::{Action, OrgFacts, Principal};
use crate::domain::{
    DisplayName, EmailAddress, InvitationId, OrgId, OrgKind, OrgName, OrgRef, Organization, Password, RequestId, Role,
    User, UserId, UserStatus,
};
use crate::error::AppError;
use crate::http::principal::Caller;
use crate::identity::{IdentityError, IdentityUser};
use crate::mail::{OutgoingEmail, templates};
use crate::ops::{Change, authenticate, authenticate_and_query, authenticate_full, on_condition};
use crate::store::{Cond, Cursor, Index, Item, Query, StoreError, Write, keys};

/// Sends an email after its change committed. A failed send is logged and
/// reported to the caller as `emailed: false` (the change stands; resend exists).
async fn send(deps: &Deps, mail: OutgoingEmail) -> bool {
    match deps.mailer.send(&mail).await {
        Ok(()) => true,
        Err(e) => {
            tracing::error!(error = %e, "email not sent");
            false
        }
    }
}

fn target(kind: &str, id: impl ToString) -> Target {
    Target {
        kind: kind.into(),
        id: id.to_string(),
    }
}

fn json(v: &impl Serialize) -> Result<serde_json::Value, AppError> {
    serde_json::to_value(v).map_err(|e| AppError::Internal(e.to_string()))
}

fn email_taken(email: &EmailAddress) -> AppError {
    AppError::Conflict(format!("A user with the email address {email} exists already."))
}

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
    let (actor, [existing]) = authenticate(deps, caller, [keys::login(&input.email)]).await?;
    let now = deps.clock.now();
    let org = Organization::new(
        OrgId(deps.ids.new_id()),
        input.organization_name,
        OrgKind::Partner,
        None,
        now,
    )?;
    deps.authz
        .require(&actor.principal, Action::InvitePartner, &OrgFacts::from(&org))?;
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

fn org_name_guard(o: &Organization) -> Result<Item, StoreError> {
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

/// Query of the listings.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size, 1 to 100 (default 50).
    pub limit: Option<u32>,
    /// `nextCursor` from the previous page.
    pub cursor: Option<String>,
}

impl PageQuery {
    fn parts(&self) -> Result<(u32, Option<Cursor>), AppError> {
        let limit = self.limit.unwrap_or(50);
        if !(1..=100).contains(&limit) {
            return Err(AppError::invalid("limit must be between 1 and 100"));
        }
        Ok((limit, self.cursor.as_deref().map(Cursor::parse).transpose()?))
    }
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
    // so no later link can activate them.
    if let Some(user) = inv.user_id {
        change = change
            .write(Write::Delete {
                key: keys::login(&inv.email),
                cond: Cond::None,
            })
            .write(Write::Delete {
                key: keys::user(user),
                cond: Cond::None,
            });
    }
    inv.state = InvitationState::Revoked;
    let mut change = change.after(json(&inv.view(now))?);
    change.event.before = Some(before);
    change.commit(deps).await?;
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

/// Body of `POST /user-requests` and `POST /organizations/{id}/users`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewUser {
    pub email: EmailAddress,
    pub display_name: DisplayName,
    pub role: Role,
}

/// Partner Manager: ask the platform to add a Partner Manager or Partner User.
pub async fn request_user(deps: &Deps, caller: &Caller, input: NewUser) -> Result<UserRequest, AppError> {
    // Whether the address has an account is the platform's to see (at approval).
    let (a, []) = authenticate_full(deps, caller, []).await?;
    deps.authz
        .require(&a.actor.principal, Action::RequestUser, &OrgFacts::from(&a.org))?;
    if !matches!(input.role, Role::PartnerManager | Role::PartnerUser) {
        return Err(AppError::invalid("role must be partner_manager or partner_user"));
    }
    let req = UserRequest {
        id: RequestId(deps.ids.new_id()),
        org_id: a.org.id,
        email: input.email,
        display_name: input.display_name.as_str().to_string(),
        role: input.role,
        requested_by: a.actor.principal.user_id,
        created_at: deps.clock.now(),
        state: RequestState::Pending,
        decided_by: None,
        user_id: None,
        version: 1,
    };
    Change::new(
        deps,
        &a.actor,
        a.org.id,
        ActionType::InviteUser,
        target("userRequest", req.id),
        format!("Requested user {} ({})", req.email, req.role.as_str()),
    )
    .after(json(&req)?)
    .write(Write::Put {
        item: req.item()?,
        cond: Cond::MustNotExist,
    })
    .commit(deps)
    .await?;
    Ok(req)
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserRequestPage {
    pub items: Vec<UserRequest>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Platform admins: the pending queue. Partner Managers: their organisation's requests.
pub async fn list_user_requests(deps: &Deps, caller: &Caller, q: PageQuery) -> Result<UserRequestPage, AppError> {
    let (limit, cursor) = q.parts()?;
    let pick = |kind: OrgKind, org: OrgId| {
        let q = match kind {
            OrgKind::Platform => Query::partition(Index::Gsi2, keys::PENDING_USER_REQUESTS),
            _ => Query::partition(Index::Gsi1, keys::org_user_requests(org)),
        };
        q.limit(limit).after(cursor.clone())
    };
    let guess = caller.org_kind.map(|k| pick(k, caller.org_id));
    let (a, [], guessed) = authenticate_and_query(deps, caller, [], guess).await?;
    let action = if a.org.kind == OrgKind::Platform {
        Action::AddUser
    } else {
        Action::ViewUserRequests
    };
    deps.authz
        .require(&a.actor.principal, action, &OrgFacts::from(&a.org))?;
    let page = guessed.page(deps, &pick(a.org.kind, a.org.id)).await?;
    let items = page.items.iter().map(|i| i.decode()).collect::<Result<_, _>>()?;
    Ok(UserRequestPage {
        items,
        next_cursor: page.next.map(|c| c.as_str().to_string()),
    })
}

/// Body of `POST /user-requests/{id}/decision`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Decision {
    pub approve: bool,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserAdded {
    pub user: User,
    /// False when the Password Setup email could not be sent (ask for a new link).
    pub emailed: bool,
}

/// The writes that create a pending user with a Password Setup link (60 minutes).
fn new_user_writes(
    deps: &Deps,
    user: &User,
) -> Result<(Vec<Write>, LinkToken, chrono::DateTime<chrono::Utc>), AppError> {
    let token = LinkToken::generate();
    let expires_at = deps.clock.now() + Duration::minutes(PASSWORD_SETUP_MINUTES);
    let link = Link {
        purpose: LinkPurpose::PasswordSetup,
        user_id: Some(user.id),
        org_id: user.org_id,
        email: user.email.clone(),
        role: Some(user.role),
        invitation_id: None,
        expires_at,
        used_at: None,
    };
    let mut login = Login::of(user);
    login.setup_link = Some(token.key());
    Ok((
        vec![
            Write::Put {
                item: user.item()?,
                cond: Cond::MustNotExist,
            },
            Write::Put {
                item: login.item(&user.email)?,
                cond: Cond::MustNotExist,
            },
            Write::Put {
                item: link.item(&token)?,
                cond: Cond::MustNotExist,
            },
        ],
        token,
        expires_at,
    ))
}

/// Platform admin: approve (creating the user and sending the Password
/// Setup email) or reject a pending request.
pub async fn decide_user_request(
    deps: &Deps,
    caller: &Caller,
    id: RequestId,
    d: Decision,
) -> Result<UserRequest, AppError> {
    let (actor, [req]) = authenticate(deps, caller, [keys::user_request(id)]).await?;
    let mut req: UserRequest = req.ok_or(AppError::NotFound)?.decode()?;
    let facts = OrgFacts {
        id: req.org_id,
        kind: OrgKind::Partner,
        partner_of_record: None,
    };
    deps.authz.require(&actor.principal, Action::AddUser, &facts)?;
    if req.state != RequestState::Pending {
        return Err(AppError::Conflict("The request has been decided already.".into()));
    }
    let now = deps.clock.now();
    let version = req.version;
    req.decided_by = Some(actor.principal.user_id);
    req.version += 1;
    if !d.approve {
        req.state = RequestState::Rejected;
        Change::new(
            deps,
            &actor,
            req.org_id,
            ActionType::InviteUser,
            target("userRequest", req.id),
            format!("Rejected the request for user {}", req.email),
        )
        .after(json(&req)?)
        .write(Write::Put {
            item: req.item()?,
            cond: Cond::VersionIs(version),
        })
        .commit(deps)
        .await?;
        return Ok(req);
    }
    let org = OrgRef {
        id: req.org_id,
        kind: OrgKind::Partner,
        mfa_required: true,
    };
    let user = User::invited(
        UserId(deps.ids.new_id()),
        &org,
        req.email.clone(),
        DisplayName::parse(&req.display_name)?,
        req.role,
        now,
    )?;
    req.state = RequestState::Approved;
    req.user_id = Some(user.id);
    let (writes, token, expires_at) = new_user_writes(deps, &user)?;
    let mut change = Change::new(
        deps,
        &actor,
        req.org_id,
        ActionType::InviteUser,
        target("user", user.id),
        format!("Approved and added user {} ({})", user.email, user.role.as_str()),
    )
    .after(json(&user)?)
    .write(Write::Put {
        item: req.item()?,
        cond: Cond::VersionIs(version),
    })
    .write(Write::Check {
        key: keys::org(req.org_id),
        cond: Cond::MustExist,
    });
    for w in writes {
        change = change.write(w);
    }
    change.commit(deps).await.map_err(|e| {
        on_condition(e, |i| match i {
            1 => Some(AppError::Conflict("The partner organisation no longer exists.".into())),
            3 => Some(email_taken(&user.email)),
            _ => None,
        })
    })?;
    send(
        deps,
        templates::password_setup(&user.email, token.expose(), expires_at, &deps.settings),
    )
    .await;
    Ok(req)
}

/// Platform admin: add a user to an organisation directly (manual setup).
pub async fn add_user(deps: &Deps, caller: &Caller, org_id: OrgId, input: NewUser) -> Result<UserAdded, AppError> {
    let (actor, [org, existing]) = authenticate(deps, caller, [keys::org(org_id), keys::login(&input.email)]).await?;
    let org: Organization = org.ok_or(AppError::NotFound)?.decode()?;
    deps.authz
        .require(&actor.principal, Action::AddUser, &OrgFacts::from(&org))?;
    if existing.is_some() {
        return Err(email_taken(&input.email));
    }
    let user = User::invited(
        UserId(deps.ids.new_id()),
        &OrgRef::from(&org),
        input.email,
        input.display_name,
        input.role,
        deps.clock.now(),
    )?;
    let (writes, token, expires_at) = new_user_writes(deps, &user)?;
    let mut change = Change::new(
        deps,
        &actor,
        org.id,
        ActionType::InviteUser,
        target("user", user.id),
        format!("Added user {} ({})", user.email, user.role.as_str()),
    )
    .after(json(&user)?)
    .write(Write::Check {
        key: keys::org(org.id),
        cond: Cond::VersionIs(org.version),
    });
    for w in writes {
        change = change.write(w);
    }
    change
        .commit(deps)
        .await
        .map_err(|e| on_condition(e, |i| (i == 2).then(|| email_taken(&user.email))))?;
    let emailed = send(
        deps,
        templates::password_setup(&user.email, token.expose(), expires_at, &deps.settings),
    )
    .await;
    Ok(UserAdded { user, emailed })
}

/// Reads a link and checks it may be redeemed for `purposes` now.
async fn redeemable(deps: &Deps, token: &LinkToken, purposes: &[LinkPurpose]) -> Result<(Link, u64), AppError> {
    let item = deps.table.get(&token.key()).await?.ok_or(AppError::LinkInvalid)?;
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
    let (link, version) = redeemable(deps, &token, &[LinkPurpose::CustomerInvitation]).await?;
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
        },
        source_ip.to_string(),
    );
    let mut change = Change::new(
        deps,
        &actor,
        org.id,
        ActionType::CreateOrganization,
        target("organization", org.id),
        format!(
            "{} accepted the invitation and created customer \"{}\"",
            user.email,
            org.name.as_str()
        ),
    )
    // A new organisation: its chain starts here, nothing to read.
    .head(None)
    .after(json(&org)?)
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
        });
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
            &serde_json::json!({ "confirmLink": token.key() }),
            Cond::MustExist,
        )?,
    ];
    // Re-issuing kills the previous link.
    if let Some(old) = &user.confirm_link {
        writes.push(Write::Delete {
            key: old.clone(),
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
