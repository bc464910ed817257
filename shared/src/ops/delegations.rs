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
use crate::ops::{Change, authenticate_and_query, authenticate_full, on_condition};
use crate::store::{Cond, Index, Item, Query, SkCond, StoreError, Write, keys};

/// Who may be told at most, per change.
pub const MAX_NOTIFY: usize = 10;

/// Body of the customer's Partner Access dialog (seed 004), for its
/// partner of record or another partner (an authorized contact).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetDelegation {
    /// The roles the partner holds from now, by catalogue key (empty: none;
    /// the delegation is revoked).
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

/// A customer's delegation to a partner, as shown to people.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DelegationView {
    pub customer_id: OrgId,
    pub partner_id: OrgId,
    /// Whether the partner is the customer's partner of record (otherwise
    /// an authorized contact, seed 004).
    pub partner_of_record: bool,
    /// An authorized contact in person: the partner's user who alone holds
    /// the roles (no groups).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_user: Option<UserId>,
    /// Absent: nothing was ever delegated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<DelegationState>,
    pub roles: Vec<RoleKey>,
    /// The groups on the partner's account, by name.
    pub groups: Vec<String>,
    /// Every user of the partner holds the roles (the platform's default
    /// delegation), not only the groups' members.
    pub everyone: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub term_days: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<DateTime<Utc>>,
    pub auto_extend: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_by: Option<StartedBy>,
    /// A change the partner asked for on it while in force, waiting for the
    /// customer (absent after 90 days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposal: Option<crate::delegations::Proposal>,
    /// When an unanswered request lapses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lapses_at: Option<DateTime<Utc>>,
}

impl DelegationView {
    fn of(
        customer: &Organization,
        partner: OrgId,
        d: Option<&Delegation>,
        catalogue: &Catalogue,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            customer_id: customer.id,
            partner_id: partner,
            partner_of_record: customer.partner_of_record == Some(partner),
            contact_user: d.and_then(|d| d.contact_user),
            state: d.map(|d| d.state(now)),
            roles: d.map(|d| d.roles.iter().cloned().collect()).unwrap_or_default(),
            groups: d.map(|d| d.group_names(catalogue)).unwrap_or_default(),
            everyone: d.is_some_and(|d| d.everyone && d.state(now).grants()),
            term_days: d.and_then(|d| d.term_days),
            ends_at: d.and_then(|d| d.ends_at),
            auto_extend: d.is_some_and(|d| d.auto_extend),
            started_by: d.map(|d| d.started_by),
            proposal: d
                .and_then(|d| d.proposal.clone())
                .filter(|p| now < p.asked_at + chrono::Duration::days(crate::delegations::REQUEST_LAPSES_AFTER_DAYS)),
            lapses_at: d
                .filter(|d| d.state(now) == DelegationState::Requested)
                .map(|d| d.lapses_at()),
        }
    }
}

/// The platform's default delegation for a new customer (none if it has no
/// partner of record or the catalogue names no default roles): the writes
/// that create it and its groups, in the transaction that creates the
/// customer, and what that transaction's event says of it.
pub(crate) fn default_for(
    catalogue: &Catalogue,
    customer: &Organization,
    now: DateTime<Utc>,
) -> Result<Option<(Vec<Write>, serde_json::Value, String)>, AppError> {
    let Some(partner) = customer.partner_of_record else {
        return Ok(None);
    };
    let parties = Parties {
        customer_id: customer.id,
        customer_name: customer.name.as_str().to_string(),
        partner_id: partner,
        contact_user: None,
    };
    let Some((d, groups)) = crate::delegations::default_delegation(catalogue, parties, now) else {
        return Ok(None);
    };
    let mut writes = vec![Write::Put {
        item: d.item(1, catalogue)?,
        cond: Cond::MustNotExist,
    }];
    for g in &groups {
        writes.push(Write::Put {
            item: g.item(1)?,
            cond: Cond::None,
        });
    }
    let names = d.group_names(catalogue);
    let said = format!(
        "; its partner of record's users all hold {} (the platform's default delegation; groups {})",
        d.roles
            .iter()
            .filter_map(|r| catalogue.get(r))
            .map(|r| r.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        names.iter().map(|g| format!("\"{g}\"")).collect::<Vec<_>>().join(", ")
    );
    let after = serde_json::json!({ "roles": d.roles, "groups": d.groups, "everyone": true });
    Ok(Some((writes, after, said)))
}

/// The keys [`default_for`] writes for `customer` (to take them back out
/// when its creation is undone).
pub(crate) fn default_keys(catalogue: &Catalogue, customer: OrgId, partner: OrgId) -> Vec<crate::store::Key> {
    let mut out = vec![keys::delegation(customer, partner, None)];
    out.extend(
        catalogue
            .default_roles
            .iter()
            .map(|r| keys::delegated_group(partner, customer, r)),
    );
    out
}

/// What a delegation's routes read, in the caller's one round trip: the
/// customer, the partner, the catalogue and the delegation (and so both
/// organisations' chain heads).
pub(crate) struct Opened {
    pub(crate) actor: crate::audit::Actor,
    pub(crate) customer: Organization,
    pub(crate) partner: Organization,
    /// An authorized contact in person: the partner's user it names.
    pub(crate) contact: Option<crate::domain::User>,
    pub(crate) catalogue: Catalogue,
    pub(crate) delegation: Option<Delegation>,
    pub(crate) version: u64,
}

pub(crate) async fn open(deps: &Deps, caller: &Caller, customer: OrgId, partner: OrgId) -> Result<Opened, AppError> {
    open_for(deps, caller, customer, partner, None).await
}

/// [`open`] for a delegation to one named user of the partner (an
/// authorized contact in person), or the partner-wide one (`None`).
async fn open_for(
    deps: &Deps,
    caller: &Caller,
    customer: OrgId,
    partner: OrgId,
    contact: Option<UserId>,
) -> Result<Opened, AppError> {
    // The fifth key is the contact's user (the caller's own when there is
    // none: read with the rest, unused).
    let (a, [c, p, catalogue, d, u]) = authenticate_full(
        deps,
        caller,
        [
            keys::org(customer),
            keys::org(partner),
            keys::delegated_roles(),
            keys::delegation(customer, partner, contact),
            keys::user(contact.unwrap_or(caller.user_id)),
        ],
    )
    .await?;
    let customer = customer_of(c)?;
    let partner: Organization = p.ok_or(AppError::NotFound)?.decode()?;
    let contact = match contact {
        None => None,
        Some(_) => {
            let user: crate::domain::User = u.ok_or(AppError::NotFound)?.decode()?;
            if user.org_id != partner.id {
                return Err(AppError::NotFound);
            }
            Some(user)
        }
    };
    let version = d.as_ref().map_or(0, |i| i.version);
    Ok(Opened {
        actor: a.actor,
        customer,
        partner,
        contact,
        catalogue: Catalogue::from_item(catalogue.as_ref())?,
        delegation: d.map(|i| i.decode()).transpose()?,
        version,
    })
}

/// A customer's delegation to a partner: the platform and the customer's
/// users see it (Cedar: ViewPartnerAccess on the customer); so do the
/// partner's own users (ViewGroups on the partner), where it exists or the
/// partner is the customer's partner of record. 1 read round trip.
pub async fn view(deps: &Deps, caller: &Caller, customer: OrgId, partner: OrgId) -> Result<DelegationView, AppError> {
    view_for(deps, caller, customer, partner, None).await
}

/// [`view`] of the partner-wide delegation (`None`) or of one to a named user.
async fn view_for(
    deps: &Deps,
    caller: &Caller,
    customer: OrgId,
    partner: OrgId,
    contact: Option<UserId>,
) -> Result<DelegationView, AppError> {
    let o = open_for(deps, caller, customer, partner, contact).await?;
    let p = &o.actor.principal;
    if p.org_id == o.partner.id {
        deps.authz.require(p, Action::ViewGroups, &OrgFacts::from(&o.partner))?;
        let of_record = o.contact.is_none() && o.customer.partner_of_record == Some(o.partner.id);
        if o.delegation.is_none() && !of_record {
            // Nothing between them: not even that the customer exists.
            return Err(AppError::NotFound);
        }
    } else {
        deps.authz
            .require(p, Action::ViewPartnerAccess, &OrgFacts::from(&o.customer))?;
        if o.partner.kind != crate::domain::OrgKind::Partner {
            return Err(AppError::NotFound);
        }
    }
    Ok(DelegationView::of(
        &o.customer,
        o.partner.id,
        o.delegation.as_ref(),
        &o.catalogue,
        deps.clock.now(),
    ))
}

/// The customer's Account Owner sets the roles a partner holds: its
/// partner of record, or another partner (an authorized contact). Opens and
/// deletes the groups in the transaction of the "Grant Partner Role" event
/// in both logs; a closed group's member items are left to the sweep (they
/// stopped counting at the commit). 1 read round trip, 1 write; then the
/// notices.
pub async fn set(
    deps: &Deps,
    caller: &Caller,
    customer: OrgId,
    partner: OrgId,
    input: SetDelegation,
) -> Result<DelegationView, AppError> {
    set_for(deps, caller, customer, partner, None, input).await
}

/// [`set`] of the partner-wide delegation (`None`) or of one to a named user.
async fn set_for(
    deps: &Deps,
    caller: &Caller,
    customer: OrgId,
    partner: OrgId,
    contact: Option<UserId>,
    input: SetDelegation,
) -> Result<DelegationView, AppError> {
    let o = open_for(deps, caller, customer, partner, contact).await?;
    deps.authz.require(
        &o.actor.principal,
        Action::ManagePartnerAccess,
        &OrgFacts::from(&o.customer),
    )?;
    if o.partner.kind != crate::domain::OrgKind::Partner {
        return Err(AppError::NotFound);
    }
    let wanted = known_roles(&o.catalogue, &input.roles)?;
    check_notify(&input.notify)?;
    let term = parse_term(input.term_days)?;
    let now = deps.clock.now();
    let Some(outcome) = reshape(&o, wanted, term, input.auto_extend, now) else {
        return Ok(DelegationView::of(
            &o.customer,
            partner,
            o.delegation.as_ref(),
            &o.catalogue,
            now,
        ));
    };
    commit(deps, &o, outcome, input.notify, Vec::new(), now).await
}

/// The roles a customer delegates to one named user of a partner (an
/// authorized contact in person, seed 004): who sees it as [`view`]; the
/// partner's own users see it too. 1 read round trip.
pub async fn view_contact(
    deps: &Deps,
    caller: &Caller,
    customer: OrgId,
    partner: OrgId,
    user: UserId,
) -> Result<DelegationView, AppError> {
    view_for(deps, caller, customer, partner, Some(user)).await
}

/// The customer's Account Owner sets the roles one named user of a partner
/// holds in person (no groups: that user alone); as [`set`] otherwise.
pub async fn set_contact(
    deps: &Deps,
    caller: &Caller,
    customer: OrgId,
    partner: OrgId,
    user: UserId,
    input: SetDelegation,
) -> Result<DelegationView, AppError> {
    set_for(deps, caller, customer, partner, Some(user), input).await
}

/// The roles asked for, each in the catalogue.
fn known_roles(catalogue: &Catalogue, roles: &[RoleKey]) -> Result<BTreeSet<RoleKey>, AppError> {
    let wanted: BTreeSet<RoleKey> = roles.iter().cloned().collect();
    if let Some(unknown) = wanted.iter().find(|r| catalogue.get(r).is_none()) {
        return Err(AppError::invalid(format!(
            "\"{}\" is not a role of the catalogue",
            unknown.as_str()
        )));
    }
    Ok(wanted)
}

fn check_notify(notify: &[EmailAddress]) -> Result<(), AppError> {
    if notify.is_empty() || notify.len() > MAX_NOTIFY {
        return Err(AppError::invalid(
            "notify: 1 to 10 addresses, so that the other side hears of the change",
        ));
    }
    Ok(())
}

fn parse_term(days: Option<u32>) -> Result<Option<u32>, AppError> {
    days.map(parse_term_days)
        .transpose()
        .map_err(|e| AppError::invalid(e.detail()))
}

/// A change to a delegation, ready to commit.
pub(crate) struct Outcome {
    pub(crate) delegation: Delegation,
    pub(crate) opened: Vec<RoleKey>,
    pub(crate) closed: Vec<(RoleKey, u32)>,
    /// What was done, for the event ("granted Phone Manager; revoked ...").
    pub(crate) parts: Vec<String>,
    pub(crate) said: &'static str,
    /// The event's description, when not the customer's doing.
    pub(crate) description: Option<String>,
}

/// The delegation as the customer wants it from now: `wanted` roles (none:
/// revoked), a term from now if given, auto-extend. None: nothing changes.
fn reshape(
    o: &Opened,
    wanted: BTreeSet<RoleKey>,
    term: Option<u32>,
    auto_extend: bool,
    now: DateTime<Utc>,
) -> Option<Outcome> {
    let catalogue = &o.catalogue;
    let existing = o.delegation.as_ref();
    let live = existing.cloned().filter(|d| d.state(now).grants());
    let mut opened = Vec::new();
    let mut closed = Vec::new();
    let (delegation, said) = match live {
        None if wanted.is_empty() => return None,
        None => {
            let parties = Parties {
                customer_id: o.customer.id,
                customer_name: o.customer.name.as_str().to_string(),
                partner_id: o.partner.id,
                contact_user: o.contact.as_ref().map(|u| u.id),
            };
            let d = Delegation::new(parties, wanted, term, auto_extend, StartedBy::Customer, now).after(existing);
            opened.extend(d.groups.keys().cloned());
            (d, "granted")
        }
        Some(mut d) if wanted.is_empty() => {
            d.revoked_at = Some(now);
            closed.extend(d.close_groups());
            // The event's `before` keeps what was held; a revoked delegation holds nothing.
            d.roles.clear();
            d.proposal = None;
            (d, "revoked")
        }
        Some(mut d) => {
            for r in d.roles.clone().difference(&wanted) {
                if let Some(g) = d.groups.get(r).copied() {
                    closed.push((r.clone(), g));
                }
                d.revoke_role(r);
            }
            for r in wanted.difference(&d.roles.clone()) {
                d.grant_role(r.clone(), now);
                opened.push(r.clone());
            }
            let term_changed = term.is_some() && term != d.term_days;
            if term_changed {
                d.term_days = term;
            }
            // A term given runs from now (a renewal), changed or not.
            if let Some(days) = term {
                d.extend_to(now + chrono::Duration::days(i64::from(days)));
            }
            let extend_changed = d.auto_extend != auto_extend;
            d.auto_extend = auto_extend;
            let had_proposal = d.proposal.take().is_some();
            if opened.is_empty() && closed.is_empty() && term.is_none() && !extend_changed && !had_proposal {
                return None;
            }
            (d, "changed")
        }
    };
    let names = |rs: &mut dyn Iterator<Item = &RoleKey>| {
        rs.filter_map(|r| catalogue.get(r))
            .map(|r| r.name.clone())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut parts = Vec::new();
    if !opened.is_empty() {
        parts.push(format!("granted {}", names(&mut opened.iter())));
    }
    if !closed.is_empty() {
        parts.push(format!("revoked {}", names(&mut closed.iter().map(|(r, _)| r))));
    }
    if parts.is_empty() {
        parts.push(match delegation.ends_at {
            Some(end) if term.is_some() => format!("renewed the term to {}", end.format("%Y-%m-%d")),
            _ => "changed the term".into(),
        });
    }
    Some(Outcome {
        delegation,
        opened,
        closed,
        parts,
        said,
        description: None,
    })
}

/// Commits a change of the customer's (its delegation, the groups opened
/// and deleted, closed groups' notes for the sweep, and the "Grant Partner
/// Role" event in both logs), then tells `notify` and the author.
pub(crate) async fn commit(
    deps: &Deps,
    o: &Opened,
    outcome: Outcome,
    notify: Vec<EmailAddress>,
    also: Vec<Write>,
    now: DateTime<Utc>,
) -> Result<DelegationView, AppError> {
    let (actor, customer, catalogue, partner) = (&o.actor, &o.customer, &o.catalogue, o.partner.id);
    let Outcome {
        mut delegation,
        opened,
        closed,
        parts,
        said,
        description,
    } = outcome;
    // Reminders and the end are told to those this change tells, and to its author.
    let mut told = notify.clone();
    if !told.contains(&actor.principal.email) {
        told.push(actor.principal.email.clone());
    }
    delegation.notify = told;
    // A new delegation replaces an ended one's item in place.
    let cond = if o.version == 0 {
        Cond::MustNotExist
    } else {
        Cond::VersionIs(o.version)
    };
    let mut writes = vec![Write::Put {
        item: delegation.item(o.version + 1, catalogue)?,
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
    for (r, generation) in &closed {
        writes.push(Write::Delete {
            key: keys::delegated_group(partner, customer.id, r),
            cond: Cond::None,
        });
        writes.push(Write::Put {
            item: ClosedGroup {
                partner_id: partner,
                customer_id: customer.id,
                role: r.clone(),
                generation: *generation,
            }
            .item(now)?,
            cond: Cond::None,
        });
    }
    writes.extend(also);
    let groups = delegation.group_names(catalogue);
    let description = description.unwrap_or_else(|| {
        format!(
            "{} {} to {}{}; its groups now: {}",
            customer.name.as_str(),
            parts.join("; "),
            o.partner.name.as_str(),
            match (&o.contact, customer.partner_of_record == Some(partner)) {
                (Some(u), _) => format!(": {} in person (an authorized contact)", u.email.as_str()),
                (None, true) => String::new(),
                (None, false) => " (an authorized contact)".to_string(),
            },
            if groups.is_empty() {
                "none".to_string()
            } else {
                groups.iter().map(|g| format!("\"{g}\"")).collect::<Vec<_>>().join(", ")
            }
        )
    });
    let mut change = Change::new(
        deps,
        actor,
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
    .mirrored_for(actor, partner);
    change.event.before = o.delegation.as_ref().map(|d| serde_json::json!({ "roles": d.roles }));
    change.commit(deps).await.map_err(|e| {
        on_condition(e, |i| {
            (i == 0).then(|| AppError::Conflict("Partner access changed meanwhile; reload and retry.".into()))
        })
    })?;
    let lines = [
        format!("{description}."),
        format!("Changed by {} ({}).", actor.principal.email.as_str(), said),
        "Every change is in both organisations' activity logs.".to_string(),
    ];
    for to in &notify {
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
    Ok(DelegationView::of(customer, partner, Some(&delegation), catalogue, now))
}

// Requests: the partner asks, the customer decides -------------------------------

/// Body of a partner's request for roles at a customer.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequestDelegation {
    /// The roles asked for, by catalogue key; none: renew the roles in
    /// force for `termDays`.
    pub roles: Vec<RoleKey>,
    /// Who at the customer is told: 1 to 10 addresses.
    pub notify: Vec<EmailAddress>,
    /// The term asked for, in days (1 to 730); absent: until revoked.
    #[serde(default)]
    pub term_days: Option<u32>,
    #[serde(default)]
    pub auto_extend: bool,
}

/// A partner's manager asks its customer for roles: a new delegation in
/// `requested` (it lapses after 90 days), or, on one in force, a proposal
/// (new roles or a renewed term). Nothing changes until the customer's
/// Account Owner approves. An "Update User Permissions" event in both logs.
/// 1 read round trip, 1 write; then the notices.
pub async fn request(
    deps: &Deps,
    caller: &Caller,
    customer: OrgId,
    partner: OrgId,
    input: RequestDelegation,
) -> Result<DelegationView, AppError> {
    let o = open(deps, caller, customer, partner).await?;
    let p = &o.actor.principal;
    deps.authz
        .require(p, Action::RequestDelegation, &OrgFacts::from(&o.customer))?;
    if p.org_id != partner {
        // A partner asks for itself only.
        return Err(AppError::Forbidden);
    }
    request_in(deps, &o, &input, Vec::new()).await
}

/// [`request`] once read and allowed, with `also` in its transaction (a bulk
/// call's record of the item).
pub(crate) async fn request_in(
    deps: &Deps,
    o: &Opened,
    input: &RequestDelegation,
    also: Vec<Write>,
) -> Result<DelegationView, AppError> {
    let (customer, partner) = (o.customer.id, o.partner.id);
    let now = deps.clock.now();
    let (delegation, version) = asked(o, input, o.actor.principal.email.clone(), now)?;
    let renewal = input.roles.is_empty();
    let description = if renewal {
        format!(
            "{} asked {} to renew its roles{}",
            o.partner.name.as_str(),
            o.customer.name.as_str(),
            input.term_days.map(|d| format!(" for {d} days")).unwrap_or_default()
        )
    } else {
        format!(
            "{} asked {} for {}{}",
            o.partner.name.as_str(),
            o.customer.name.as_str(),
            role_names(&o.catalogue, &input.roles),
            input.term_days.map(|d| format!(" for {d} days")).unwrap_or_default()
        )
    };
    Change::new(
        deps,
        &o.actor,
        customer,
        ActionType::UpdateUserPermissions,
        Target::organization(partner),
        description.clone(),
    )
    .write(Write::Put {
        item: delegation.item(version + 1, &o.catalogue)?,
        cond: if version == 0 {
            Cond::MustNotExist
        } else {
            Cond::VersionIs(version)
        },
    })
    .writes(also)
    .after(serde_json::json!({ "state": delegation.state(now), "proposal": delegation.proposal, "roles": delegation.roles }))
    .mirrored_for(&o.actor, partner)
    .commit(deps)
    .await
    .map_err(|e| {
        on_condition(e, |i| {
            (i == 0).then(|| AppError::Conflict("The delegation changed meanwhile; reload and retry.".into()))
        })
    })?;
    let lines = [
        format!("{description}."),
        "The customer's Account Owner approves or declines it in Portico's Partner Access; it lapses after 90 days."
            .to_string(),
    ];
    for to in &input.notify {
        let mail = templates::access_notice(
            to,
            &format!(
                "{} asks for roles at {}",
                o.partner.name.as_str(),
                o.customer.name.as_str()
            ),
            &lines,
            ("Open Portico", "/"),
            &deps.settings,
        );
        if let Err(e) = deps.mailer.send(&mail).await {
            tracing::error!(customer = %customer, error = %e, "delegation request notice not sent");
        }
    }
    Ok(DelegationView::of(
        &o.customer,
        partner,
        Some(&delegation),
        &o.catalogue,
        now,
    ))
}

fn role_names(catalogue: &Catalogue, roles: &[RoleKey]) -> String {
    roles
        .iter()
        .filter_map(|r| catalogue.get(r))
        .map(|r| r.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The delegation with a partner's request in it (and the version to
/// write it over).
fn asked(
    o: &Opened,
    input: &RequestDelegation,
    by: EmailAddress,
    now: DateTime<Utc>,
) -> Result<(Delegation, u64), AppError> {
    let mut wanted = known_roles(&o.catalogue, &input.roles)?;
    check_notify(&input.notify)?;
    let term = parse_term(input.term_days)?;
    let existing = o.delegation.as_ref();
    if wanted.is_empty() {
        // No roles named: a renewal of those in force, for the term asked.
        match existing.filter(|d| d.state(now).grants()) {
            Some(live) if term.is_some() => wanted = live.roles.clone(),
            Some(_) => return Err(AppError::invalid("termDays: a renewal names its term")),
            None => {
                return Err(AppError::Conflict(
                    "Nothing is in force to renew: ask for roles instead.".into(),
                ));
            }
        }
    }
    let d = match existing.filter(|d| d.state(now).grants()) {
        Some(live) => {
            let mut d = live.clone();
            d.proposal = Some(crate::delegations::Proposal {
                roles: wanted,
                term_days: term,
                auto_extend: input.auto_extend,
                asked_at: now,
                asked_by: by,
            });
            d
        }
        None => {
            let parties = Parties {
                customer_id: o.customer.id,
                customer_name: o.customer.name.as_str().to_string(),
                partner_id: o.partner.id,
                contact_user: None,
            };
            // A new request replaces an unanswered or ended one.
            let mut d = Delegation::new(parties, wanted, term, input.auto_extend, StartedBy::Partner, now);
            if let Some(previous) = existing {
                d = d.after(Some(previous));
            }
            d
        }
    };
    Ok((d, o.version))
}

/// Body of the customer's answer to a partner's request.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DecideDelegation {
    pub approve: bool,
    /// Who is told: 1 to 10 addresses.
    pub notify: Vec<EmailAddress>,
}

/// The customer's Account Owner approves or declines what the partner
/// asked: a request (approved, the delegation starts: its term runs from
/// now and its groups open; declined, it is revoked) or a proposal on a
/// delegation in force (approved, its roles and term become the
/// delegation's; declined, it is dropped). A "Grant Partner Role" event in
/// both logs. 1 read round trip, 1 write.
pub async fn decide(
    deps: &Deps,
    caller: &Caller,
    customer: OrgId,
    partner: OrgId,
    input: DecideDelegation,
) -> Result<DelegationView, AppError> {
    let o = open(deps, caller, customer, partner).await?;
    deps.authz.require(
        &o.actor.principal,
        Action::ManagePartnerAccess,
        &OrgFacts::from(&o.customer),
    )?;
    check_notify(&input.notify)?;
    let now = deps.clock.now();
    let nothing =
        || AppError::Conflict("Nothing is waiting for an answer: no request, or it lapsed after 90 days.".into());
    let d = o.delegation.clone().ok_or_else(nothing)?;
    let outcome = match d.state(now) {
        DelegationState::Requested => {
            let mut d = d;
            let mut opened = Vec::new();
            let mut parts = Vec::new();
            let said = if input.approve {
                d.approve(now);
                opened.extend(d.groups.keys().cloned());
                parts.push(format!(
                    "approved its partner's request: granted {}",
                    role_names(&o.catalogue, &d.roles.iter().cloned().collect::<Vec<_>>())
                ));
                "approved"
            } else {
                d.revoked_at = Some(now);
                parts.push("declined its partner's request".into());
                "declined"
            };
            Outcome {
                delegation: d,
                opened,
                closed: Vec::new(),
                parts,
                said,
                description: None,
            }
        }
        s if s.grants() => {
            let proposal = d
                .proposal
                .clone()
                .filter(|p| now < p.asked_at + chrono::Duration::days(crate::delegations::REQUEST_LAPSES_AFTER_DAYS))
                .ok_or_else(nothing)?;
            if input.approve {
                let mut outcome = reshape(
                    &o,
                    proposal.roles.clone(),
                    proposal.term_days,
                    proposal.auto_extend,
                    now,
                )
                .ok_or_else(nothing)?;
                outcome.parts.insert(0, "approved its partner's request".into());
                outcome.said = "approved";
                outcome
            } else {
                let mut d = d;
                d.proposal = None;
                Outcome {
                    delegation: d,
                    opened: Vec::new(),
                    closed: Vec::new(),
                    parts: vec!["declined its partner's request".into()],
                    said: "declined",
                    description: None,
                }
            }
        }
        _ => return Err(nothing()),
    };
    commit(deps, &o, outcome, input.notify, Vec::new(), now).await
}

/// A group that closed, whose member items the sweep deletes (they stopped
/// counting at its close: a membership counts only at its group's
/// generation). In the sweep's due index from the moment it closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClosedGroup {
    pub partner_id: OrgId,
    pub customer_id: OrgId,
    pub role: RoleKey,
    pub generation: u32,
}

impl ClosedGroup {
    pub fn item(&self, now: DateTime<Utc>) -> Result<Item, StoreError> {
        Ok(Item::new(
            keys::closed_group(self.partner_id, self.customer_id, &self.role, self.generation),
            keys::CLOSED_GROUP,
            1,
            self,
        )?
        .with_gsi2(
            keys::DELEGATIONS_DUE,
            keys::closed_group_due_sk(now.timestamp_millis(), self.partner_id, self.customer_id, &self.role),
        ))
    }

    /// Deletes the group's member items of its generation, 25 to a
    /// transaction, then itself (a member who joined the group again at a
    /// later generation stays).
    pub(crate) async fn tidy(&self, deps: &Deps) -> Result<usize, StoreError> {
        let q = Query::partition(Index::Primary, keys::org(self.partner_id).pk)
            .sk(SkCond::BeginsWith(keys::group_members_prefix(
                self.customer_id,
                &self.role,
            )))
            .limit(100);
        let mut deleted = 0;
        let mut page = deps.table.query(&q).await?;
        loop {
            let stale: Vec<Write> = page
                .items
                .iter()
                .filter(|i| i.version <= u64::from(self.generation))
                .map(|i| Write::Delete {
                    key: i.key(),
                    cond: Cond::VersionIs(i.version),
                })
                .collect();
            for chunk in stale.chunks(25) {
                deps.table.transact(chunk.to_vec()).await?;
                deleted += chunk.len();
            }
            match page.next.take() {
                Some(c) => page = deps.table.query(&q.clone().after(Some(c))).await?,
                None => break,
            }
        }
        deps.table
            .transact(vec![Write::Delete {
                key: keys::closed_group(self.partner_id, self.customer_id, &self.role, self.generation),
                cond: Cond::None,
            }])
            .await?;
        Ok(deleted)
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
    /// Every user of the partner holds the role (the platform's default
    /// delegation), members or not, until the partner's managers narrow it.
    pub everyone: bool,
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
/// 1 read round trip (the members' query with the caller's batch).
pub async fn group(deps: &Deps, caller: &Caller, g: GroupRef, page: MemberPage) -> Result<GroupView, AppError> {
    let cursor = page
        .cursor
        .as_deref()
        .map(crate::store::Cursor::parse)
        .transpose()
        .map_err(|_| AppError::invalid("not a cursor this list gave"))?;
    let limit = page.limit.unwrap_or(100);
    if !(1..=100).contains(&limit) {
        return Err(AppError::invalid("limit must be 1 to 100"));
    }
    let q = Query::partition(Index::Primary, keys::org(g.partner).pk)
        .sk(SkCond::BeginsWith(keys::group_members_prefix(g.customer, &g.role)))
        .limit(limit)
        .after(cursor);
    let (a, [partner, group, delegation], guessed) = authenticate_and_query(
        deps,
        caller,
        [
            keys::org(g.partner),
            keys::delegated_group(g.partner, g.customer, &g.role),
            keys::delegation(g.customer, g.partner, None),
        ],
        Some(q.clone()),
    )
    .await?;
    let partner: Organization = partner.ok_or(AppError::NotFound)?.decode()?;
    deps.authz
        .require(&a.actor.principal, Action::ViewGroups, &OrgFacts::from(&partner))?;
    let (group, _) = group_of(group)?;
    let everyone = delegation
        .map(|i| i.decode::<Delegation>())
        .transpose()?
        .is_some_and(|d| d.everyone);
    let found = guessed.page(deps, &q).await?;
    // Members of a closed generation count for nothing and are not shown
    // (the sweep deletes their items).
    let members = found
        .items
        .iter()
        .map(|i| i.decode::<GroupMember>())
        .filter(|m| m.as_ref().map_or(true, |m| m.generation == group.generation))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(GroupView {
        partner_id: g.partner,
        customer_id: g.customer,
        role: g.role,
        name: group.name,
        everyone,
        members,
        next_cursor: found.next.map(|c| c.as_str().to_string()),
    })
}

/// What a membership change answers: the group, the user, and whether
/// they are a member now.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Membership {
    pub partner_id: OrgId,
    pub customer_id: OrgId,
    pub role: RoleKey,
    /// "<customer> <role>".
    pub group: String,
    pub user_id: UserId,
    pub email: EmailAddress,
    pub member: bool,
}

/// A partner manager adds one of the partner's users to a group, or takes
/// them out (`add` false). 1 read round trip (the caller, the partner, the
/// customer, the group, the user and their roles at the customer), 1 write
/// (the member item, the user's roles, a check that the group is as read,
/// and the "Update User Groups" event in both logs).
pub async fn set_member(
    deps: &Deps,
    caller: &Caller,
    g: GroupRef,
    user: UserId,
    add: bool,
) -> Result<Membership, AppError> {
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
    let answer = Membership {
        partner_id: g.partner,
        customer_id: g.customer,
        role: g.role.clone(),
        group: group.name.clone(),
        user_id: user,
        email: member.email.clone(),
        member: add,
    };
    if holds == add {
        return Ok(answer);
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
            // Its version is the group's generation: the sweep's tidy of a
            // closed generation leaves a later one's membership alone.
            item: Item::new(
                member_key,
                keys::GROUP_MEMBER,
                u64::from(group.generation),
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
    Ok(answer)
}

/// Body of `PUT /organizations/{id}/delegations/{customer}/holders`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetHolders {
    /// True: every user of the partner holds the delegation's roles (the
    /// platform's default); false: only its groups' members do.
    pub everyone: bool,
}

/// The partner's managers decide who of theirs holds a customer's
/// delegated roles: everyone (the platform's default delegation), or only
/// the groups' members. 1 read round trip, 1 write (the delegation and the
/// "Update User Groups" event in both logs).
pub async fn set_holders(
    deps: &Deps,
    caller: &Caller,
    partner: OrgId,
    customer: OrgId,
    input: SetHolders,
) -> Result<DelegationView, AppError> {
    let o = open(deps, caller, customer, partner).await?;
    deps.authz
        .require(&o.actor.principal, Action::ManageGroups, &OrgFacts::from(&o.partner))?;
    let now = deps.clock.now();
    let mut d = o
        .delegation
        .clone()
        .filter(|d| d.state(now).grants())
        .ok_or(AppError::NotFound)?;
    if d.everyone == input.everyone {
        return Ok(DelegationView::of(&o.customer, partner, Some(&d), &o.catalogue, now));
    }
    d.everyone = input.everyone;
    let groups = d.group_names(&o.catalogue);
    let description = format!(
        "{} {} at {}: {}",
        o.actor.principal.email.as_str(),
        if d.everyone {
            "gave every user of the partner the delegated roles"
        } else {
            "narrowed the delegated roles to their groups' members"
        },
        o.customer.name.as_str(),
        groups.iter().map(|g| format!("\"{g}\"")).collect::<Vec<_>>().join(", ")
    );
    Change::new(
        deps,
        &o.actor,
        partner,
        ActionType::UpdateUserGroups,
        Target::organization(customer),
        description,
    )
    .write(Write::Put {
        item: d.item(o.version + 1, &o.catalogue)?,
        cond: Cond::VersionIs(o.version),
    })
    .after(serde_json::json!({ "everyone": d.everyone, "groups": groups }))
    .mirrored_for(&o.actor, customer)
    .commit(deps)
    .await
    .map_err(|e| {
        on_condition(e, |i| {
            (i == 0).then(|| AppError::Conflict("The delegation changed meanwhile; reload and retry.".into()))
        })
    })?;
    Ok(DelegationView::of(&o.customer, partner, Some(&d), &o.catalogue, now))
}

/// Gives every customer created before delegated roles existed the
/// platform's default delegation to its partner of record (a customer that
/// has one, or had one, is left alone). Idempotent; the local portal runs
/// it at each start, so an existing data directory keeps seed 000's flows.
/// Reads the customers 100 at a time, their delegations in one batch per
/// page; one transaction per customer given one. Answers how many.
pub async fn migrate_defaults(deps: &Deps) -> Result<usize, AppError> {
    let catalogue = Catalogue::from_item(deps.table.get(&keys::delegated_roles()).await?.as_ref())?;
    let mut q = Query::partition(Index::Gsi1, keys::ALL_ORGS)
        .sk(SkCond::BeginsWith(keys::org_kind_prefix(
            crate::domain::OrgKind::Customer,
        )))
        .limit(100);
    let now = deps.clock.now();
    let mut given = 0;
    loop {
        let page = deps.table.query(&q).await?;
        let customers: Vec<Organization> = page.items.iter().map(|i| i.decode()).collect::<Result<_, _>>()?;
        let linked: Vec<(&Organization, OrgId)> = customers
            .iter()
            .filter_map(|c| c.partner_of_record.map(|p| (c, p)))
            .collect();
        let wanted: Vec<crate::store::Key> = linked.iter().map(|(c, p)| keys::delegation(c.id, *p, None)).collect();
        let found = deps.table.get_many(&wanted).await?;
        for ((c, _), existing) in linked.iter().zip(found) {
            if existing.is_some() {
                continue;
            }
            if let Some((writes, _, _)) = default_for(&catalogue, c, now)? {
                match deps.table.transact(writes).await {
                    Ok(()) => given += 1,
                    // Given meanwhile (another start): nothing to do.
                    Err(StoreError::ConditionFailed { .. }) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        match page.next {
            Some(c) => q = q.after(Some(c)),
            None => return Ok(given),
        }
    }
}
