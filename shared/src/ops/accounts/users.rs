//! Users asked for and added: a Partner Manager asks the platform for a
//! user and a platform admin decides; a platform admin adds a user directly.

use chrono::Duration;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::accounts::{Link, LinkPurpose, LinkToken, Login, PASSWORD_SETUP_MINUTES, RequestState, UserRequest};
use crate::app::Deps;
use crate::audit::ActionType;
use crate::authz::{Action, OrgFacts};
use crate::domain::{DisplayName, EmailAddress, OrgId, OrgKind, OrgRef, Organization, RequestId, Role, User, UserId};
use crate::error::AppError;
use crate::http::principal::Caller;
use crate::mail::templates;
use crate::ops::{Change, authenticate, authenticate_and_query, authenticate_full, on_condition};
use crate::store::{Cond, Index, Item, Query, Write, keys};

use super::{PageQuery, email_taken, json, send, target};

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
    let (a, [seats]) = authenticate_full(deps, caller, [keys::seats(caller.org_id)]).await?;
    let facts = OrgFacts::from(&a.org);
    deps.authz.require(&a.actor.principal, Action::RequestUser, &facts)?;
    // No seat free: say so now rather than at the platform's approval.
    crate::ops::seats::take_seat(&a.org, seats.as_ref())?;
    if !deps.authz.may_request_role(&a.actor.principal, &facts, input.role)? {
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
    deps.authz
        .require(&a.actor.principal, Action::ViewUserRequests, &OrgFacts::from(&a.org))?;
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
pub(crate) fn new_user_writes(
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
        signup: None,
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
    // The second read: the requesting organisation (what the decision is
    // about) and its chain head (where the event goes). A request whose
    // organisation is gone is gone with it.
    let [org, head, seats]: [Option<Item>; 3] = deps
        .table
        .get_many(&[
            keys::org(req.org_id),
            keys::activity_head(req.org_id),
            keys::seats(req.org_id),
        ])
        .await?
        .try_into()
        .map_err(|_| AppError::Internal("get_many answered a different number of items".into()))?;
    let org: Organization = org.ok_or(AppError::NotFound)?.decode()?;
    deps.authz
        .require(&actor.principal, Action::ApproveUserRequest, &OrgFacts::from(&org))?;
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
        .head(head)
        .after(json(&req)?)
        .write(Write::Put {
            item: req.item()?,
            cond: Cond::VersionIs(version),
        })
        .commit(deps)
        .await?;
        return Ok(req);
    }
    let user = User::invited(
        UserId(deps.ids.new_id()),
        &OrgRef::from(&org),
        req.email.clone(),
        DisplayName::parse(&req.display_name)?,
        req.role,
        now,
    )?;
    let (seat, full) = crate::ops::seats::take_seat(&org, seats.as_ref())?.unzip();
    req.state = RequestState::Approved;
    req.user_id = Some(user.id);
    let (writes, token, expires_at) = new_user_writes(deps, &user)?;
    let full = full.map(|f| (f, 2 + writes.len()));
    let mut change = Change::new(
        deps,
        &actor,
        req.org_id,
        ActionType::InviteUser,
        target("user", user.id),
        format!("Approved and added user {} ({})", user.email, user.role.as_str()),
    )
    .head(head)
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
    change = change.writes(seat);
    change.commit(deps).await.map_err(|e| {
        on_condition(e, |i| match (i, &full) {
            (1, _) => Some(AppError::Conflict("The partner organisation no longer exists.".into())),
            (3, _) => Some(email_taken(&user.email)),
            (i, Some((why, at))) if i == *at => Some(AppError::Conflict(why.clone())),
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

/// One user, as an organisation's user list shows them.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    pub id: UserId,
    pub email: EmailAddress,
    pub display_name: String,
    pub role: Role,
    pub status: crate::domain::UserStatus,
    /// Whether the user has an authenticator app.
    pub mfa_enrolled: bool,
}

impl UserView {
    pub fn of(u: &User) -> Self {
        Self {
            id: u.id,
            email: u.email.clone(),
            display_name: u.display_name.clone(),
            role: u.role,
            status: u.status,
            mfa_enrolled: u.mfa_enrolled,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserPage {
    pub items: Vec<UserView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// An organisation's users, by email. 1 read round trip (the organisation
/// and the first page of users together).
pub async fn list_users(deps: &Deps, caller: &Caller, org_id: OrgId, q: PageQuery) -> Result<UserPage, AppError> {
    let (limit, cursor) = q.parts()?;
    let query = Query::partition(Index::Gsi1, keys::org_users(org_id))
        .limit(limit)
        .after(cursor);
    let (a, [org], guessed) =
        crate::ops::authenticate_and_query(deps, caller, [keys::org(org_id)], Some(query.clone())).await?;
    let org: Organization = org.ok_or(AppError::NotFound)?.decode()?;
    deps.authz
        .require(&a.actor.principal, Action::ViewUsers, &OrgFacts::from(&org))?;
    let page = guessed.page(deps, &query).await?;
    let items = page
        .items
        .iter()
        .map(|i| i.decode::<User>().map(|u| UserView::of(&u)))
        .collect::<Result<_, _>>()?;
    Ok(UserPage {
        items,
        next_cursor: page.next.map(|c| c.as_str().to_string()),
    })
}

/// Platform admin: add a user to an organisation directly (manual setup).
pub async fn add_user(deps: &Deps, caller: &Caller, org_id: OrgId, input: NewUser) -> Result<UserAdded, AppError> {
    let (actor, [org, existing, seats]) = authenticate(
        deps,
        caller,
        [keys::org(org_id), keys::login(&input.email), keys::seats(org_id)],
    )
    .await?;
    let org: Organization = org.ok_or(AppError::NotFound)?.decode()?;
    deps.authz
        .require(&actor.principal, Action::AddUser, &OrgFacts::from(&org))?;
    if org.template && input.role != Role::PartnerManager {
        return Err(AppError::invalid(
            "a template organisation's user is its Model User: a partner_manager",
        ));
    }
    if existing.is_some() {
        return Err(email_taken(&input.email));
    }
    let seat = crate::ops::seats::take_seat(&org, seats.as_ref())?;
    let user = User::invited(
        UserId(deps.ids.new_id()),
        &OrgRef::from(&org),
        input.email,
        input.display_name,
        input.role,
        deps.clock.now(),
    )?;
    let (mut writes, token, expires_at) = new_user_writes(deps, &user)?;
    if org.template {
        // The Model User: a template, never live. No link, no email, and
        // no password link on request either: nobody sets its password.
        writes.truncate(1);
        let mut login = Login::of(&user);
        login.template = true;
        writes.push(Write::Put {
            item: login.item(&user.email)?,
            cond: Cond::MustNotExist,
        });
    }
    let (seat, full) = seat.unzip();
    // After the organisation's check and the user's writes.
    let full = full.map(|f| (f, 1 + writes.len()));
    let change = Change::new(
        deps,
        &actor,
        org.id,
        ActionType::InviteUser,
        target("user", user.id),
        if org.template {
            format!("Added Model User {} to template \"{}\"", user.email, org.name.as_str())
        } else {
            format!("Added user {} ({})", user.email, user.role.as_str())
        },
    )
    .after(json(&user)?)
    .write(Write::Check {
        key: keys::org(org.id),
        cond: Cond::VersionIs(org.version),
    })
    .writes(writes)
    .writes(seat);
    change.commit(deps).await.map_err(|e| {
        on_condition(e, |i| match (i, &full) {
            (2, _) => Some(email_taken(&user.email)),
            (i, Some((why, at))) if i == *at => Some(AppError::Conflict(why.clone())),
            _ => None,
        })
    })?;
    if org.template {
        return Ok(UserAdded { user, emailed: false });
    }
    let emailed = send(
        deps,
        templates::password_setup(&user.email, token.expose(), expires_at, &deps.settings),
    )
    .await;
    Ok(UserAdded { user, emailed })
}

/// Removes a partner's user (the platform, or a Partner Manager where the
/// partner has User-Management): their seat is free again in the same
/// transaction, their requests stop at once, and the identity provider
/// disables them. A Partner Manager does not remove themself. 1 read, 1 write.
pub async fn remove_user(deps: &Deps, caller: &Caller, org_id: OrgId, user_id: UserId) -> Result<UserView, AppError> {
    let (a, [org, user, seats]) = crate::ops::authenticate_full(
        deps,
        caller,
        [keys::org(org_id), keys::user(user_id), keys::seats(org_id)],
    )
    .await?;
    let actor = a.actor;
    let org: Organization = org.ok_or(AppError::NotFound)?.decode()?;
    deps.authz
        .require(&actor.principal, Action::RemoveUser, &OrgFacts::from(&org))?;
    let user: User = user.ok_or(AppError::NotFound)?.decode()?;
    if user.org_id != org.id {
        return Err(AppError::NotFound);
    }
    if user.id == actor.principal.user_id {
        return Err(AppError::Conflict("You cannot remove yourself.".into()));
    }
    if a.portal.model_user == Some(user.id) {
        return Err(AppError::Conflict(
            "This is the Model User self-registration copies: choose another in the Partner Portal settings first."
                .into(),
        ));
    }
    let change = Change::new(
        deps,
        &actor,
        org.id,
        ActionType::InviteUser,
        target("user", user.id),
        format!(
            "Removed user {} ({}); their seat is free",
            user.email,
            user.role.as_str()
        ),
    )
    .after(serde_json::json!({ "removed": true, "role": user.role }))
    .write(Write::Delete {
        key: keys::user(user.id),
        cond: Cond::VersionIs(user.version),
    })
    .write(Write::Delete {
        key: keys::login(&user.email),
        cond: Cond::None,
    })
    // The inactivity sweep forgets them, and their confirmation link dies.
    .write(Write::Delete {
        key: keys::user_activity(user.id),
        cond: Cond::None,
    })
    .writes(user.confirm_link.as_ref().map(|l| Write::Delete {
        key: keys::link(l),
        cond: Cond::None,
    }))
    .writes(crate::ops::seats::give_back_seat(&user, seats.as_ref()));
    change.commit(deps).await.map_err(|e| {
        on_condition(e, |i| {
            (i == 0).then(|| AppError::Conflict("The user changed meanwhile: read them and try again.".into()))
        })
    })?;
    if let Err(e) = deps.identity.disable(user.id).await {
        tracing::warn!(user = %user.id, error = %e, "removed user not disabled at the identity provider");
    }
    Ok(UserView::of(&user))
}
