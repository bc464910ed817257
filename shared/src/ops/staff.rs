//! A customer's staff (seed 003's "Staff List") and its self-administration:
//! the customer's Account Owner and System Administrators invite its users,
//! change their roles and remove them; so may the platform, and a Partner
//! Manager whose delegated roles at the customer give `users.manage` (who
//! assigns its Account Owners and System Administrators). Cedar decides
//! (ManageStaff, with what the caller holds at the customer and the role
//! the change touches: a System Administrator does not touch Account
//! Owners).
//!
//! The customer always keeps an active Account Owner: a change that would
//! leave none is refused. The staff is read with the change, and the change
//! is conditioned on the organisation's version (which it bumps), so two
//! changes at once cannot both take the last two Account Owners.

use serde::Deserialize;
use utoipa::ToSchema;

use crate::app::Deps;
use crate::audit::{ActionType, Target};
use crate::authz::{Held, OrgFacts};
use crate::delegations::{held_from, held_keys};
use crate::domain::{DisplayName, EmailAddress, OrgId, OrgRef, Organization, Role, User, UserId, UserStatus};
use crate::error::AppError;
use crate::http::principal::Caller;
use crate::ops::accounts::{PageQuery, UserPage, UserView};
use crate::ops::instances::customer_of;
use crate::ops::{Authenticated, Change, authenticate_and_query, authenticate_full, on_condition};
use crate::store::{Cond, Index, Item, Query, Write, keys};

/// The most users a customer's staff check reads (one page).
const STAFF_READ: u32 = 1000;

fn customer_role(role: Role) -> Result<Role, AppError> {
    match role {
        Role::CustomerAccountOwner | Role::CustomerAdmin | Role::CustomerUser => Ok(role),
        _ => Err(AppError::invalid(
            "role: customer_account_owner, customer_admin (System Administrator) or customer_user",
        )),
    }
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::CustomerAccountOwner => "Account Owner",
        Role::CustomerAdmin => "System Administrator",
        _ => "user",
    }
}

/// The more powerful of two customer roles (what a change touches).
fn higher(a: Role, b: Role) -> Role {
    let rank = |r: Role| match r {
        Role::CustomerAccountOwner => 2,
        Role::CustomerAdmin => 1,
        _ => 0,
    };
    if rank(a) >= rank(b) { a } else { b }
}

fn held(items: [Option<Item>; 4], deps: &Deps) -> Result<Held, AppError> {
    Ok(held_from(items, deps.clock.now())?)
}

/// The staff list: the customer's users, by email. 1 read round trip.
pub async fn list(deps: &Deps, caller: &Caller, customer: OrgId, q: PageQuery) -> Result<UserPage, AppError> {
    let (limit, cursor) = q.parts()?;
    let query = Query::partition(Index::Gsi1, keys::org_users(customer))
        .limit(limit)
        .after(cursor);
    let [h0, h1, h2, h3] = held_keys(caller.user_id, caller.org_id, customer);
    let (a, [org, h0, h1, h2, h3], guessed) =
        authenticate_and_query(deps, caller, [keys::org(customer), h0, h1, h2, h3], Some(query.clone())).await?;
    let org = customer_of(org)?;
    let held = held([h0, h1, h2, h3], deps)?;
    deps.authz.require_holding(
        &a.actor.principal,
        crate::authz::Action::ManageStaff,
        &OrgFacts::from(&org),
        &held,
    )?;
    let page = guessed.page(deps, &query).await?;
    Ok(UserPage {
        items: page
            .items
            .iter()
            .map(|i| i.decode::<User>().map(|u| UserView::of(&u)))
            .collect::<Result<_, _>>()?,
        next_cursor: page.next.map(|c| c.as_str().to_string()),
    })
}

/// Body of `POST /customers/{id}/staff`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InviteStaff {
    pub email: EmailAddress,
    pub display_name: DisplayName,
    /// customer_account_owner, customer_admin (System Administrator) or customer_user.
    pub role: Role,
}

/// Invites a user to the customer: the user (pending), their emailed link
/// to set a password (60 minutes), and the "Invite User" event (in the
/// caller's log too, when a partner invites). 1 read round trip, 1 write.
pub async fn invite(deps: &Deps, caller: &Caller, customer: OrgId, input: InviteStaff) -> Result<UserView, AppError> {
    let role = customer_role(input.role)?;
    let [h0, h1, h2, h3] = held_keys(caller.user_id, caller.org_id, customer);
    let (a, [org, h0, h1, h2, h3, existing]) = authenticate_full(
        deps,
        caller,
        [keys::org(customer), h0, h1, h2, h3, keys::login(&input.email)],
    )
    .await?;
    let org = customer_of(org)?;
    let held = held([h0, h1, h2, h3], deps)?;
    deps.authz
        .require_staff_change(&a.actor.principal, &OrgFacts::from(&org), &held, role)?;
    if existing.is_some() {
        return Err(AppError::Conflict(format!(
            "A user with the email address {} exists already.",
            input.email
        )));
    }
    let user = User::invited(
        UserId(deps.ids.new_id()),
        &OrgRef::from(&org),
        input.email,
        input.display_name,
        role,
        deps.clock.now(),
    )?;
    let (writes, token, expires_at) = crate::ops::accounts::new_user_writes(deps, &user)?;
    Change::new(
        deps,
        &a.actor,
        org.id,
        ActionType::InviteUser,
        Target {
            kind: "user".into(),
            id: user.id.to_string(),
        },
        format!(
            "{} invited {} to {} as {}",
            a.actor.principal.email.as_str(),
            user.email,
            org.name.as_str(),
            role_name(role)
        ),
    )
    .writes(writes)
    .after(serde_json::json!({ "email": user.email, "role": role }))
    .mirrored_for(&a.actor, a.actor.principal.org_id)
    .commit(deps)
    .await
    .map_err(|e| {
        on_condition(e, |i| {
            (i <= 1)
                .then(|| AppError::Conflict(format!("A user with the email address {} exists already.", user.email)))
        })
    })?;
    crate::ops::accounts::send(
        deps,
        crate::mail::templates::password_setup(&user.email, token.expose(), expires_at, &deps.settings),
    )
    .await;
    Ok(UserView::of(&user))
}

/// Body of `PUT /customers/{id}/staff/{user}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetStaffRole {
    /// customer_account_owner, customer_admin (System Administrator) or customer_user.
    pub role: Role,
}

/// What a staff change reads in the caller's one round trip: the customer,
/// what the caller holds there, the user, and the customer's users (the
/// Account Owner check).
struct Opened {
    a: Authenticated,
    org: Organization,
    held: Held,
    user: User,
    staff: Vec<User>,
}

async fn open(deps: &Deps, caller: &Caller, customer: OrgId, user: UserId) -> Result<Opened, AppError> {
    let staff_query = Query::partition(Index::Gsi1, keys::org_users(customer)).limit(STAFF_READ);
    let [h0, h1, h2, h3] = held_keys(caller.user_id, caller.org_id, customer);
    let (a, [org, h0, h1, h2, h3, u], guessed) = authenticate_and_query(
        deps,
        caller,
        [keys::org(customer), h0, h1, h2, h3, keys::user(user)],
        Some(staff_query.clone()),
    )
    .await?;
    let org = customer_of(org)?;
    let held = held([h0, h1, h2, h3], deps)?;
    // Allowed at all (the role it touches is decided once it is known).
    deps.authz.require_holding(
        &a.actor.principal,
        crate::authz::Action::ManageStaff,
        &OrgFacts::from(&org),
        &held,
    )?;
    let user: User = u.ok_or(AppError::NotFound)?.decode()?;
    if user.org_id != org.id {
        return Err(AppError::NotFound);
    }
    let page = guessed.page(deps, &staff_query).await?;
    let staff = page.items.iter().map(|i| i.decode()).collect::<Result<_, _>>()?;
    Ok(Opened {
        a,
        org,
        held,
        user,
        staff,
    })
}

impl Opened {
    /// Refuses a change that would leave the customer without an active
    /// Account Owner (`user` no longer one).
    fn keeps_an_owner(&self) -> Result<(), AppError> {
        let others = self
            .staff
            .iter()
            .filter(|u| u.id != self.user.id && u.role == Role::CustomerAccountOwner && u.status == UserStatus::Active)
            .count();
        if self.user.role == Role::CustomerAccountOwner && others == 0 {
            return Err(AppError::Conflict(format!(
                "{} is {}'s only active Account Owner: make someone else Account Owner first.",
                self.user.email,
                self.org.name.as_str()
            )));
        }
        Ok(())
    }

    /// The change's writes besides the user's: the organisation's version,
    /// bumped, so that concurrent staff changes serialise.
    fn org_write(&self, deps: &Deps) -> Result<Write, AppError> {
        Ok(Write::patch(
            keys::org(self.org.id),
            &serde_json::json!({ "staffChangedAt": deps.clock.now() }),
            Cond::VersionIs(self.org.version),
        )?)
    }
}

fn conflict(e: crate::store::StoreError) -> AppError {
    on_condition(e, |_| {
        Some(AppError::Conflict(
            "The customer's staff changed meanwhile; reload and retry.".into(),
        ))
    })
}

/// Changes a user's role: an "Update User Groups" event ("roles are
/// changed", seed 003), in the caller's log too when a partner does it.
/// 1 read round trip, 1 write.
pub async fn set_role(
    deps: &Deps,
    caller: &Caller,
    customer: OrgId,
    user: UserId,
    input: SetStaffRole,
) -> Result<UserView, AppError> {
    let role = customer_role(input.role)?;
    let o = open(deps, caller, customer, user).await?;
    deps.authz.require_staff_change(
        &o.a.actor.principal,
        &OrgFacts::from(&o.org),
        &o.held,
        higher(role, o.user.role),
    )?;
    if o.user.role == role {
        return Ok(UserView::of(&o.user));
    }
    if role != Role::CustomerAccountOwner {
        o.keeps_an_owner()?;
    }
    let mut changed = o.user.clone();
    changed.role = role;
    Change::new(
        deps,
        &o.a.actor,
        o.org.id,
        ActionType::UpdateUserGroups,
        Target {
            kind: "user".into(),
            id: user.to_string(),
        },
        format!(
            "{} made {} {} of {} (was {})",
            o.a.actor.principal.email.as_str(),
            o.user.email,
            role_name(role),
            o.org.name.as_str(),
            role_name(o.user.role)
        ),
    )
    .write(Write::patch(
        keys::user(user),
        &serde_json::json!({ "role": role }),
        Cond::VersionIs(o.user.version),
    )?)
    .write(Write::patch(
        keys::login(&o.user.email),
        &serde_json::json!({ "role": role }),
        Cond::MustExist,
    )?)
    .write(o.org_write(deps)?)
    .after(serde_json::json!({ "role": role }))
    .mirrored_for(&o.a.actor, o.a.actor.principal.org_id)
    .commit(deps)
    .await
    .map_err(conflict)?;
    changed.version += 1;
    Ok(UserView::of(&changed))
}

/// Removes a user from the customer: their user and sign-in items go (every
/// session ends with them), then the identity provider disables them. An
/// "Update User Groups" event. 1 read round trip, 1 write.
pub async fn remove(deps: &Deps, caller: &Caller, customer: OrgId, user: UserId) -> Result<UserView, AppError> {
    let o = open(deps, caller, customer, user).await?;
    deps.authz
        .require_staff_change(&o.a.actor.principal, &OrgFacts::from(&o.org), &o.held, o.user.role)?;
    o.keeps_an_owner()?;
    Change::new(
        deps,
        &o.a.actor,
        o.org.id,
        ActionType::UpdateUserGroups,
        Target {
            kind: "user".into(),
            id: user.to_string(),
        },
        format!(
            "{} removed {} ({}) from {}",
            o.a.actor.principal.email.as_str(),
            o.user.email,
            role_name(o.user.role),
            o.org.name.as_str()
        ),
    )
    .write(Write::Delete {
        key: keys::user(user),
        cond: Cond::VersionIs(o.user.version),
    })
    .write(Write::Delete {
        key: keys::login(&o.user.email),
        cond: Cond::None,
    })
    .write(o.org_write(deps)?)
    .after(serde_json::json!({ "removed": true, "role": o.user.role }))
    .mirrored_for(&o.a.actor, o.a.actor.principal.org_id)
    .commit(deps)
    .await
    .map_err(conflict)?;
    // Portico no longer knows them: no request of theirs is served. The
    // identity provider's account is disabled too (retried by hand if it fails).
    if let Err(e) = deps.identity.disable(user).await {
        tracing::warn!(user = %user, error = %e, "removed user not disabled at the identity provider");
    }
    Ok(UserView::of(&o.user))
}
