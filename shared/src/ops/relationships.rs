//! The readable state of every relationship (B6; GDAP's users ask "who has
//! access to what, until when"): one route lists an organisation's
//! delegations from its side, a customer's to its partners and contacts, a
//! partner's from its customers, each with its roles, state, term, groups
//! and their members.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::Deps;
use crate::authz::{Action, OrgFacts};
use crate::delegations::{Catalogue, Delegation, DelegationState, Proposal, RoleKey};
use crate::domain::{OrgId, OrgKind, Organization, UserId};
use crate::error::AppError;
use crate::http::principal::Caller;
use crate::ops::accounts::PageQuery;
use crate::ops::authenticate_and_query;
use crate::ops::delegations::GroupMember;
use crate::store::{Index, Query, SkCond, keys};

/// Members listed per group (the group's own route pages the rest).
pub const MEMBERS_SHOWN: u32 = 20;

/// One group of a relationship, with its first members.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RelationshipGroup {
    pub role: RoleKey,
    /// "<customer> <role>".
    pub name: String,
    /// The first members (at most 20); `more` says whether there are others.
    pub members: Vec<GroupMember>,
    pub more: bool,
}

/// One relationship: who delegated what to whom, its state and its groups.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Relationship {
    pub customer_id: OrgId,
    pub customer_name: String,
    pub partner_id: OrgId,
    pub partner_name: String,
    /// The customer's partner of record (otherwise an authorized contact).
    pub partner_of_record: bool,
    /// An authorized contact in person: this user of the partner alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_user: Option<UserId>,
    pub state: DelegationState,
    pub roles: Vec<RoleKey>,
    /// Every user of the partner holds the roles, members or not.
    pub everyone: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub term_days: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<DateTime<Utc>>,
    pub auto_extend: bool,
    /// What the partner asked to change, waiting for the customer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposal: Option<Proposal>,
    pub groups: Vec<RelationshipGroup>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RelationshipPage {
    pub organization_id: OrgId,
    /// The platform's catalogue of delegated roles (what may be granted).
    pub catalogue: Vec<crate::delegations::DelegatedRole>,
    pub items: Vec<Relationship>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// A page of an organisation's relationships (its own users and the
/// platform): 2 read round trips: the page with the caller (a customer's
/// delegations, row 60; a partner's, row 59), then the groups' first
/// members and the other side's names, together.
pub async fn list(deps: &Deps, caller: &Caller, org: OrgId, page: PageQuery) -> Result<RelationshipPage, AppError> {
    let (limit, cursor) = page.parts()?;
    let limit = limit.min(50);
    // The caller's kind is only a hint for starting the query early; the
    // stored organisation decides which side is read.
    let query_for = |kind: OrgKind| match kind {
        OrgKind::Partner => Query::partition(Index::Gsi1, keys::partner_delegations(org)),
        _ => {
            Query::partition(Index::Primary, keys::org(org).pk).sk(SkCond::BeginsWith(keys::DELEGATIONS_PREFIX.into()))
        }
    };
    let guess = (caller.org_id == org)
        .then_some(caller.org_kind)
        .flatten()
        .map(|k| query_for(k).limit(limit).after(cursor.clone()));
    let (a, [o, catalogue], guessed) =
        authenticate_and_query(deps, caller, [keys::org(org), keys::delegated_roles()], guess).await?;
    let o: Organization = o.ok_or(AppError::NotFound)?.decode()?;
    deps.authz
        .require(&a.actor.principal, Action::ViewRelationships, &OrgFacts::from(&o))?;
    let catalogue = Catalogue::from_item(catalogue.as_ref())?;
    if o.kind == OrgKind::Platform {
        return Ok(RelationshipPage {
            organization_id: o.id,
            catalogue: catalogue.roles.into_values().collect(),
            items: Vec::new(),
            next_cursor: None,
        });
    }
    let wanted = query_for(o.kind).limit(limit).after(cursor);
    let found = guessed.page(deps, &wanted).await?;
    let delegations: Vec<Delegation> = found.items.iter().map(|i| i.decode()).collect::<Result<_, _>>()?;
    let now = deps.clock.now();

    // The second round trip: every group's first members, and the other
    // side's organisations (names, partner of record), started together.
    let member_queries: Vec<(usize, RoleKey, Query)> = delegations
        .iter()
        .enumerate()
        .filter(|(_, d)| d.state(now).grants())
        .flat_map(|(i, d)| {
            d.groups.keys().map(move |role| {
                let q = Query::partition(Index::Primary, keys::org(d.partner_id).pk)
                    .sk(SkCond::BeginsWith(keys::group_members_prefix(d.customer_id, role)))
                    .limit(MEMBERS_SHOWN + 1);
                (i, role.clone(), q)
            })
        })
        .collect();
    let mut others: Vec<OrgId> = delegations
        .iter()
        .map(|d| {
            if o.kind == OrgKind::Partner {
                d.customer_id
            } else {
                d.partner_id
            }
        })
        .collect();
    others.sort();
    others.dedup();
    let other_keys: Vec<_> = others.iter().map(|id| keys::org(*id)).collect();
    let (pages, orgs) = futures::future::join(
        futures::future::try_join_all(member_queries.iter().map(|(_, _, q)| deps.table.query(q))),
        deps.table.get_many(&other_keys),
    )
    .await;
    let (pages, orgs) = (pages?, orgs?);
    let orgs: Vec<Organization> = orgs
        .into_iter()
        .flatten()
        .map(|i| i.decode())
        .collect::<Result<_, _>>()?;
    let named = |id: OrgId| orgs.iter().find(|x| x.id == id);
    let mut items: Vec<Relationship> = delegations
        .iter()
        .map(|d| {
            let (customer, partner) = if o.kind == OrgKind::Partner {
                (named(d.customer_id), Some(&o))
            } else {
                (Some(&o), named(d.partner_id))
            };
            Relationship {
                customer_id: d.customer_id,
                customer_name: customer.map_or(d.customer_name.clone(), |c| c.name.as_str().to_string()),
                partner_id: d.partner_id,
                partner_name: partner.map(|p| p.name.as_str().to_string()).unwrap_or_default(),
                partner_of_record: customer.is_some_and(|c| c.partner_of_record == Some(d.partner_id)),
                contact_user: d.contact_user,
                state: d.state(now),
                roles: d.roles.iter().cloned().collect(),
                everyone: d.everyone && d.state(now).grants(),
                term_days: d.term_days,
                ends_at: d.ends_at,
                auto_extend: d.auto_extend,
                proposal: d.proposal.clone().filter(|p| {
                    now < p.asked_at + chrono::Duration::days(crate::delegations::REQUEST_LAPSES_AFTER_DAYS)
                }),
                groups: Vec::new(),
            }
        })
        .collect();
    for ((i, role, _), page) in member_queries.into_iter().zip(pages) {
        let d = &delegations[i];
        let generation = d.groups.get(&role).copied().unwrap_or_default();
        let members: Vec<GroupMember> = page
            .items
            .iter()
            .map(|m| m.decode::<GroupMember>())
            .filter(|m| m.as_ref().map_or(true, |m| m.generation == generation))
            .collect::<Result<_, _>>()?;
        let more = members.len() > MEMBERS_SHOWN as usize || page.next.is_some();
        let name = catalogue
            .get(&role)
            .map(|r| crate::delegations::group_name(&d.customer_name, r))
            .unwrap_or_else(|| role.as_str().to_string());
        items[i].groups.push(RelationshipGroup {
            role,
            name,
            members: members.into_iter().take(MEMBERS_SHOWN as usize).collect(),
            more,
        });
    }
    Ok(RelationshipPage {
        organization_id: o.id,
        catalogue: catalogue.roles.into_values().collect(),
        items,
        next_cursor: found.next.map(|c| c.as_str().to_string()),
    })
}
