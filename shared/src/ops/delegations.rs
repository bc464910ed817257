//! Delegated roles, the customer's side (seed 004's "Partner Access"
//! dialog): the customer's Account Owner ticks the roles its partner of
//! record holds and names who is told. Granting a role opens its group on
//! the partner's account ("<customer> <role>"); clearing one deletes its
//! group, and with it every membership (they count only at the group's
//! generation), in the transaction that records the change in both
//! organisations' logs. Each address given is emailed.
//!
//! 2 read round trips (the caller with the customer and the catalogue;
//! then the delegation and the partner's chain head, the partner being
//! known from the customer), 1 write; then the dead memberships' items are
//! tidied and the notices sent.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::app::Deps;
use crate::audit::{ActionType, Target};
use crate::authz::{Action, OrgFacts};
use crate::delegations::{
    Catalogue, DelegatedGroup, Delegation, DelegationState, Parties, RoleKey, StartedBy, UserDelegatedRoles,
    parse_term_days,
};
use crate::domain::{EmailAddress, OrgId, Organization, UserId};
use crate::error::AppError;
use crate::http::principal::Caller;
use crate::mail::templates;
use crate::ops::instances::customer_of;
use crate::ops::{Authenticated, Change, authenticate_full, on_condition};
use crate::store::{Cond, Index, Item, Query, SkCond, StoreError, Write, keys};

/// Who may be told at most, per change.
pub const MAX_NOTIFY: usize = 10;

/// Body of the customer's Partner Access dialog.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetPartnerAccess {
    /// The roles the partner of record holds from now, by catalogue key
    /// (empty: none; the delegation is revoked).
    pub roles: Vec<RoleKey>,
    /// Who is told of the change: 1 to 10 addresses (seed 004: at least one,
    /// so that the partner hears of it).
    pub notify: Vec<EmailAddress>,
    /// The term in days (1 to 730), from now; absent: until revoked (a
    /// delegation that has a term keeps it).
    #[serde(default)]
    pub term_days: Option<u32>,
    /// Extend by 180 days at the end, unless a role is sensitive.
    #[serde(default)]
    pub auto_extend: bool,
}

/// A customer's delegation to its partner of record, as shown to people.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PartnerAccessView {
    pub customer_id: OrgId,
    pub partner_id: OrgId,
    /// Absent: nothing was ever delegated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<DelegationState>,
    pub roles: Vec<RoleKey>,
    /// The groups on the partner's account, by name.
    pub groups: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<DateTime<Utc>>,
    pub auto_extend: bool,
}

impl PartnerAccessView {
    fn of(customer: OrgId, partner: OrgId, d: Option<&Delegation>, catalogue: &Catalogue, now: DateTime<Utc>) -> Self {
        Self {
            customer_id: customer,
            partner_id: partner,
            state: d.map(|d| d.state(now)),
            roles: d.map(|d| d.roles.iter().cloned().collect()).unwrap_or_default(),
            groups: d.map(|d| d.group_names(catalogue)).unwrap_or_default(),
            ends_at: d.and_then(|d| d.ends_at),
            auto_extend: d.is_some_and(|d| d.auto_extend),
        }
    }
}

/// The catalogue as stored, or the seeded one until the platform edits it.
pub fn catalogue_from(item: Option<&Item>) -> Result<Catalogue, AppError> {
    Ok(match item {
        Some(i) => i.decode()?,
        None => Catalogue::seeded(),
    })
}

/// Who asks, the customer and the catalogue, in the caller's read round
/// trip, with `action` required on the customer.
async fn open_customer(
    deps: &Deps,
    caller: &Caller,
    customer: OrgId,
    action: Action,
) -> Result<(Authenticated, Organization, Catalogue), AppError> {
    let (a, [org, catalogue]) = authenticate_full(deps, caller, [keys::org(customer), keys::delegated_roles()]).await?;
    let customer = customer_of(org)?;
    deps.authz
        .require(&a.actor.principal, action, &OrgFacts::from(&customer))?;
    Ok((a, customer, catalogue_from(catalogue.as_ref())?))
}

/// The roles a customer delegates to its partner of record (the platform,
/// the customer's users, the partner's users): 2 read round trips.
pub async fn view(deps: &Deps, caller: &Caller, customer: OrgId) -> Result<PartnerAccessView, AppError> {
    let (_, customer, catalogue) = open_customer(deps, caller, customer, Action::ViewPartnerAccess).await?;
    let partner = customer.partner_of_record.ok_or(AppError::NotFound)?;
    let d = match deps.table.get(&keys::delegation(customer.id, partner, None)).await? {
        Some(i) => Some(i.decode::<Delegation>()?),
        None => None,
    };
    Ok(PartnerAccessView::of(
        customer.id,
        partner,
        d.as_ref(),
        &catalogue,
        deps.clock.now(),
    ))
}

/// The customer's Account Owner sets the roles its partner of record holds.
pub async fn set_partner_access(
    deps: &Deps,
    caller: &Caller,
    customer: OrgId,
    input: SetPartnerAccess,
) -> Result<PartnerAccessView, AppError> {
    let (a, customer, catalogue) = open_customer(deps, caller, customer, Action::ManagePartnerAccess).await?;
    let partner = customer
        .partner_of_record
        .ok_or_else(|| AppError::Conflict("This customer has no partner of record to delegate roles to.".into()))?;
    let wanted: BTreeSet<RoleKey> = input.roles.iter().cloned().collect();
    if let Some(unknown) = wanted.iter().find(|r| catalogue.get(r).is_none()) {
        return Err(AppError::invalid(format!(
            "\"{}\" is not a role of the catalogue",
            unknown.as_str()
        )));
    }
    if input.notify.is_empty() || input.notify.len() > MAX_NOTIFY {
        return Err(AppError::invalid(
            "notify: 1 to 10 addresses, so that the partner hears of the change",
        ));
    }
    let term = input
        .term_days
        .map(parse_term_days)
        .transpose()
        .map_err(|e| AppError::invalid(e.detail()))?;

    let key = keys::delegation(customer.id, partner, None);
    let [item, head] = <[Option<Item>; 2]>::try_from(deps.table.get_many(&[key, keys::activity_head(partner)]).await?)
        .map_err(|_| AppError::Internal("get_many answered a different number of items".into()))?;
    let (existing, version) = match &item {
        Some(i) => (Some(i.decode::<Delegation>()?), i.version),
        None => (None, 0),
    };
    let now = deps.clock.now();
    let live = existing.clone().filter(|d| d.state(now).grants());
    let parties = || Parties {
        customer_id: customer.id,
        customer_name: customer.name.as_str().to_string(),
        partner_id: partner,
        contact_user: None,
    };
    let mut opened = Vec::new();
    let mut closed = Vec::new();
    let (delegation, said) = match live {
        None if wanted.is_empty() => {
            return Ok(PartnerAccessView::of(
                customer.id,
                partner,
                existing.as_ref(),
                &catalogue,
                now,
            ));
        }
        None => {
            let d = Delegation::new(
                parties(),
                wanted.clone(),
                term,
                input.auto_extend,
                StartedBy::Customer,
                now,
            )
            .after(existing.as_ref());
            opened.extend(d.groups.keys().cloned());
            (d, "granted")
        }
        Some(mut d) if wanted.is_empty() => {
            d.revoked_at = Some(now);
            closed.extend(d.close_groups().into_keys());
            // The event's `before` keeps what was held; a revoked delegation holds nothing.
            d.roles.clear();
            (d, "revoked")
        }
        Some(mut d) => {
            for r in d.roles.clone().difference(&wanted) {
                d.revoke_role(r);
                closed.push(r.clone());
            }
            for r in wanted.difference(&d.roles.clone()) {
                d.grant_role(r.clone(), now);
                opened.push(r.clone());
            }
            let term_changed = term.is_some() && term != d.term_days;
            if term_changed {
                d.term_days = term;
                if let Some(days) = term {
                    d.extend_to(now + chrono::Duration::days(i64::from(days)));
                }
            }
            let extend_changed = d.auto_extend != input.auto_extend;
            d.auto_extend = input.auto_extend;
            if opened.is_empty() && closed.is_empty() && !term_changed && !extend_changed {
                return Ok(PartnerAccessView::of(customer.id, partner, Some(&d), &catalogue, now));
            }
            (d, "changed")
        }
    };
    // A new delegation replaces an ended one's item in place.
    let cond = if version == 0 {
        Cond::MustNotExist
    } else {
        Cond::VersionIs(version)
    };
    let mut writes = vec![Write::Put {
        item: delegation.item(version + 1, &catalogue)?,
        cond,
    }];
    for r in &opened {
        let role = catalogue.get(r).ok_or(AppError::NotFound)?;
        if let Some(g) = DelegatedGroup::of(&delegation, role, now) {
            writes.push(Write::Put {
                item: g.item(1)?,
                cond: Cond::None,
            });
        }
    }
    for r in &closed {
        writes.push(Write::Delete {
            key: keys::delegated_group(partner, customer.id, r),
            cond: Cond::None,
        });
    }
    let names = |rs: &[RoleKey]| {
        rs.iter()
            .filter_map(|r| catalogue.get(r))
            .map(|r| r.name.clone())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut parts = Vec::new();
    if !opened.is_empty() {
        parts.push(format!("granted {}", names(&opened)));
    }
    if !closed.is_empty() {
        parts.push(format!("revoked {}", names(&closed)));
    }
    if parts.is_empty() {
        parts.push("changed the term".into());
    }
    let groups = delegation.group_names(&catalogue);
    let description = format!(
        "{} {} to its partner; its groups now: {}",
        customer.name.as_str(),
        parts.join("; "),
        if groups.is_empty() {
            "none".to_string()
        } else {
            groups.iter().map(|g| format!("\"{g}\"")).collect::<Vec<_>>().join(", ")
        }
    );
    let mut change = Change::new(
        deps,
        &a.actor,
        customer.id,
        ActionType::GrantPartnerRole,
        Target::organization(partner),
        description.clone(),
    )
    .writes(writes)
    .after(serde_json::json!({
        "state": delegation.state(now),
        "roles": delegation.roles,
        "groups": delegation.groups,
        "endsAt": delegation.ends_at,
        "autoExtend": delegation.auto_extend,
    }))
    .mirror(partner, Some(head));
    change.event.before = existing.as_ref().map(|d| serde_json::json!({ "roles": d.roles }));
    change.commit(deps).await.map_err(|e| {
        on_condition(e, |i| {
            (i == 0).then(|| AppError::Conflict("Partner access changed meanwhile; reload and retry.".into()))
        })
    })?;
    for r in &closed {
        if let Err(e) = tidy_members(deps, partner, customer.id, r).await {
            tracing::warn!(customer = %customer.id, role = r.as_str(), error = %e, "a closed group's members are left to tidy");
        }
    }
    let lines = [
        format!("{description}."),
        format!("Changed by {} ({}).", a.actor.principal.email.as_str(), said),
        "Every change is in both organisations' activity logs.".to_string(),
    ];
    for to in &input.notify {
        let mail = templates::access_notice(
            to,
            &format!("{} changed its partner's roles", customer.name.as_str()),
            &lines,
            ("Open Portico", "/"),
            &deps.settings,
        );
        if let Err(e) = deps.mailer.send(&mail).await {
            tracing::error!(customer = %customer.id, error = %e, "partner access notice not sent");
        }
    }
    Ok(PartnerAccessView::of(
        customer.id,
        partner,
        Some(&delegation),
        &catalogue,
        now,
    ))
}

/// Deletes the member items of a group that closed (they stopped counting
/// at its commit), 25 to a transaction.
async fn tidy_members(deps: &Deps, partner: OrgId, customer: OrgId, role: &RoleKey) -> Result<(), StoreError> {
    let q = Query::partition(Index::Primary, keys::org(partner).pk)
        .sk(SkCond::BeginsWith(keys::group_members_prefix(customer, role)))
        .limit(25);
    loop {
        let page = deps.table.query(&q).await?;
        if page.items.is_empty() {
            return Ok(());
        }
        let deletes = page
            .items
            .iter()
            .map(|i| Write::Delete {
                key: i.key(),
                cond: Cond::None,
            })
            .collect();
        deps.table.transact(deletes).await?;
        if page.next.is_none() {
            return Ok(());
        }
    }
}

// The partner's side: the members of its groups --------------------------------

/// A member of a group, as listed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupMember {
    pub user_id: UserId,
    pub email: EmailAddress,
    pub added_at: DateTime<Utc>,
    /// The group's generation when added (a member of an older one holds nothing).
    pub generation: u32,
}

/// One group on a partner's account, with a page of its members.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupView {
    pub partner_id: OrgId,
    pub customer_id: OrgId,
    pub role: RoleKey,
    /// "<customer> <role>".
    pub name: String,
    pub members: Vec<GroupMember>,
    /// Pass as `cursor` for the next page of members.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Paging a group's members.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MemberPage {
    /// Page size, 1 to 100 (default 100).
    pub limit: Option<u32>,
    /// `nextCursor` from the previous page.
    pub cursor: Option<String>,
}

/// Where a group lives: its partner, the customer that granted it, the role.
#[derive(Debug, Clone)]
pub struct GroupRef {
    pub partner: OrgId,
    pub customer: OrgId,
    pub role: RoleKey,
}

/// The group, open now (404 otherwise), with its item's version.
fn group_of(item: Option<Item>) -> Result<(DelegatedGroup, u64), AppError> {
    let item = item.ok_or(AppError::NotFound)?;
    Ok((item.decode()?, item.version))
}

/// A group and a page of its members (the partner's users, the platform):
/// 2 read round trips.
pub async fn group(deps: &Deps, caller: &Caller, g: GroupRef, page: MemberPage) -> Result<GroupView, AppError> {
    let cursor = page
        .cursor
        .as_deref()
        .map(crate::store::Cursor::parse)
        .transpose()
        .map_err(|_| AppError::invalid("not a cursor this list gave"))?;
    let (a, [partner, group]) = authenticate_full(
        deps,
        caller,
        [
            keys::org(g.partner),
            keys::delegated_group(g.partner, g.customer, &g.role),
        ],
    )
    .await?;
    let partner: Organization = partner.ok_or(AppError::NotFound)?.decode()?;
    deps.authz
        .require(&a.actor.principal, Action::ViewGroups, &OrgFacts::from(&partner))?;
    let (group, _) = group_of(group)?;
    members_page(deps, g, group.name, page.limit, cursor).await
}

/// A page of the group's members: 1 read round trip.
async fn members_page(
    deps: &Deps,
    g: GroupRef,
    name: String,
    limit: Option<u32>,
    cursor: Option<crate::store::Cursor>,
) -> Result<GroupView, AppError> {
    let q = Query::partition(Index::Primary, keys::org(g.partner).pk)
        .sk(SkCond::BeginsWith(keys::group_members_prefix(g.customer, &g.role)))
        .limit(limit.unwrap_or(100))
        .after(cursor);
    let found = deps.table.query(&q).await?;
    let members = found
        .items
        .iter()
        .map(|i| i.decode::<GroupMember>())
        .collect::<Result<Vec<_>, _>>()?;
    Ok(GroupView {
        partner_id: g.partner,
        customer_id: g.customer,
        role: g.role,
        name,
        members,
        next_cursor: found.next.map(|c| c.as_str().to_string()),
    })
}

/// A partner manager adds one of the partner's users to a group, or takes
/// them out (`add` false). 1 read round trip (the caller, the partner, the
/// customer, the group, the user and their roles at the customer), 1 write
/// (the member item, the user's roles, a check that the group is as read,
/// and the "Update User Groups" event in both logs); then the group's first
/// page of members, its answer (1 read).
pub async fn set_member(
    deps: &Deps,
    caller: &Caller,
    g: GroupRef,
    user: UserId,
    add: bool,
) -> Result<GroupView, AppError> {
    let group_key = keys::delegated_group(g.partner, g.customer, &g.role);
    let roles_key = keys::user_delegated_roles(user, g.customer);
    let (a, [partner, customer, group, member, roles]) = authenticate_full(
        deps,
        caller,
        [
            keys::org(g.partner),
            keys::org(g.customer),
            group_key.clone(),
            keys::user(user),
            roles_key,
        ],
    )
    .await?;
    let partner: Organization = partner.ok_or(AppError::NotFound)?.decode()?;
    deps.authz
        .require(&a.actor.principal, Action::ManageGroups, &OrgFacts::from(&partner))?;
    let customer = customer_of(customer)?;
    let (group, group_version) = group_of(group)?;
    let member: crate::domain::User = member.ok_or(AppError::NotFound)?.decode()?;
    if member.org_id != partner.id {
        return Err(AppError::NotFound);
    }
    let (mut mine, version) = match &roles {
        Some(i) => (i.decode::<UserDelegatedRoles>()?, i.version),
        None => (UserDelegatedRoles::default(), 0),
    };
    let now = deps.clock.now();
    let holds = mine.roles.get(&g.role) == Some(&group.generation);
    if holds == add {
        return members_page(deps, g, group.name, None, None).await;
    }
    if add {
        if member.status != crate::domain::UserStatus::Active {
            return Err(AppError::Conflict(format!(
                "{} is not an active user: only active users join a group.",
                member.email.as_str()
            )));
        }
        mine.roles.insert(g.role.clone(), group.generation);
    } else {
        mine.roles.remove(&g.role);
    }
    let member_key = keys::group_member(g.partner, g.customer, &g.role, user);
    let member_write = if add {
        Write::Put {
            item: Item::new(
                member_key,
                keys::GROUP_MEMBER,
                1,
                &GroupMember {
                    user_id: user,
                    email: member.email.clone(),
                    added_at: now,
                    generation: group.generation,
                },
            )?,
            cond: Cond::None,
        }
    } else {
        Write::Delete {
            key: member_key,
            cond: Cond::None,
        }
    };
    let roles_write = Write::Put {
        item: mine.item(user, g.customer, version + 1)?,
        cond: if version == 0 {
            Cond::MustNotExist
        } else {
            Cond::VersionIs(version)
        },
    };
    let name = group.name.clone();
    let description = format!(
        "{} {} {} {} group \"{}\"",
        a.actor.principal.email.as_str(),
        if add { "added" } else { "removed" },
        member.email.as_str(),
        if add { "to" } else { "from" },
        group.name
    );
    Change::new(
        deps,
        &a.actor,
        partner.id,
        ActionType::UpdateUserGroups,
        Target {
            kind: "user".into(),
            id: user.to_string(),
        },
        description,
    )
    .write(Write::Check {
        key: group_key,
        cond: Cond::VersionIs(group_version),
    })
    .write(roles_write)
    .write(member_write)
    .after(serde_json::json!({ "group": group.name, "generation": group.generation, "member": add }))
    .mirrored_for(&a.actor, customer.id)
    .commit(deps)
    .await
    .map_err(|e| {
        on_condition(e, |i| {
            (i <= 1).then(|| {
                AppError::Conflict("The group or the user's groups changed meanwhile; reload and retry.".into())
            })
        })
    })?;
    members_page(deps, g, name, None, None).await
}
