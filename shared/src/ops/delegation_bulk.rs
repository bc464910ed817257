//! Bulk delegation actions of a partner's managers (GDAP's complaint: bulk
//! capped at 25, failures midway through big migrations): ask N customers
//! for a role set, ask N customers to renew, or give up N delegations, in
//! one call with a result per customer. No cap of 25: up to
//! [`MAX_ITEMS`] customers per call.
//!
//! Each item is its own transaction, and that transaction also writes the
//! item's record under the call's idempotency key. A retry with the same
//! key (after a timeout, say) answers the recorded items again and
//! attempts only the rest, so nothing is done twice; a failed item is not
//! recorded and is attempted again. A key used with a different request is
//! refused. Records expire after [`KEPT_HOURS`] hours.
//!
//! Each customer still approves its own request (`decide`).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::app::Deps;
use crate::audit::Actor;
use crate::authz::{Action, OrgFacts};
use crate::delegations::{Catalogue, Delegation, RoleKey};
use crate::domain::{EmailAddress, OrgId, Organization};
use crate::error::AppError;
use crate::http::principal::Caller;
use crate::ops::authenticate_full;
use crate::ops::delegations::{Opened, Outcome, RequestDelegation, commit, request_in};
use crate::store::{Cond, Index, Item, Query, SkCond, StoreError, Write, keys};

/// Customers per call, at most.
pub const MAX_ITEMS: usize = 1000;
/// How long a call's records answer a retry.
pub const KEPT_HOURS: i64 = 24;
/// A call stops taking items after this long, well within API Gateway's
/// 29 seconds; the items not reached answer 503 and a retry with the same
/// key goes on from there.
pub const TIME_BUDGET: std::time::Duration = std::time::Duration::from_secs(20);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BulkAction {
    /// Ask each customer for `roles` (a request, or a proposal on a
    /// delegation in force).
    Request,
    /// Ask each customer to renew the roles in force for `termDays`.
    Extend,
    /// Give up each delegation (the partner's side of a revoke).
    Revoke,
}

/// Body of `POST /organizations/{id}/delegations/bulk`.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BulkDelegations {
    /// 8 to 64 letters, digits, `-` and `_`, unique per call: a retry with
    /// the same key and body does nothing twice.
    pub idempotency_key: String,
    pub action: BulkAction,
    /// 1 to 1000 customers, each once.
    pub customers: Vec<OrgId>,
    /// `request`: the roles asked for (1 or more).
    #[serde(default)]
    pub roles: Vec<RoleKey>,
    /// `request`: the term asked for; `extend`: the renewed term (required).
    #[serde(default)]
    pub term_days: Option<u32>,
    #[serde(default)]
    pub auto_extend: bool,
    /// Who is told of each item: 1 to 10 addresses.
    pub notify: Vec<EmailAddress>,
}

/// One customer's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BulkItem {
    pub customer_id: OrgId,
    /// As the single route would answer: 200, or the problem's status.
    pub status: u16,
    /// On success: `requested`, `proposed` or `revoked`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// On failure: why (RFC 9457 `detail`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// Answered from an earlier call with the same key (not done again).
    pub replayed: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BulkResult {
    pub idempotency_key: String,
    pub action: BulkAction,
    pub items: Vec<BulkItem>,
    pub succeeded: usize,
    pub failed: usize,
}

/// What the first call with a key recorded of its request.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Header {
    fingerprint: String,
}

fn check(input: &BulkDelegations, catalogue: &Catalogue) -> Result<(), AppError> {
    let k = &input.idempotency_key;
    if !(8..=64).contains(&k.len()) || !k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(AppError::invalid(
            "idempotencyKey: 8 to 64 letters, digits, '-' and '_'",
        ));
    }
    if input.customers.is_empty() || input.customers.len() > MAX_ITEMS {
        return Err(AppError::invalid(format!("customers: 1 to {MAX_ITEMS}")));
    }
    let unique: BTreeSet<&OrgId> = input.customers.iter().collect();
    if unique.len() != input.customers.len() {
        return Err(AppError::invalid("customers: each once"));
    }
    if input.notify.is_empty() || input.notify.len() > crate::ops::delegations::MAX_NOTIFY {
        return Err(AppError::invalid("notify: 1 to 10 addresses"));
    }
    if let Some(d) = input.term_days {
        crate::delegations::parse_term_days(d).map_err(|e| AppError::invalid(e.detail()))?;
    }
    if let Some(unknown) = input.roles.iter().find(|r| catalogue.get(r).is_none()) {
        return Err(AppError::invalid(format!(
            "\"{}\" is not a role of the catalogue",
            unknown.as_str()
        )));
    }
    match input.action {
        BulkAction::Request if input.roles.is_empty() => Err(AppError::invalid("roles: ask for at least one")),
        BulkAction::Extend if input.term_days.is_none() => Err(AppError::invalid("termDays: a renewal names its term")),
        BulkAction::Extend | BulkAction::Revoke if !input.roles.is_empty() => {
            Err(AppError::invalid("roles: only a request names roles"))
        }
        _ => Ok(()),
    }
}

fn fingerprint(input: &BulkDelegations) -> Result<String, AppError> {
    let body = serde_json::to_vec(input).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(hex::encode(Sha256::digest(&body)))
}

/// Runs a bulk action: the call's reads (the caller, the partner, the
/// catalogue, the key's header and records), then each item not done yet
/// in turn: a batched read of its customer and delegation, and one
/// transaction (its change, its events in both logs, its record).
pub async fn run(deps: &Deps, caller: &Caller, partner: OrgId, input: BulkDelegations) -> Result<BulkResult, AppError> {
    run_within(deps, caller, partner, input, TIME_BUDGET).await
}

/// [`run`], taking items for at most `budget`.
pub async fn run_within(
    deps: &Deps,
    caller: &Caller,
    partner: OrgId,
    input: BulkDelegations,
    budget: std::time::Duration,
) -> Result<BulkResult, AppError> {
    let started = std::time::Instant::now();
    let header_key = keys::bulk_header(partner, &input.idempotency_key);
    let (a, [p, catalogue, header]) = authenticate_full(
        deps,
        caller,
        [keys::org(partner), keys::delegated_roles(), header_key.clone()],
    )
    .await?;
    let partner_org: Organization = p.ok_or(AppError::NotFound)?.decode()?;
    deps.authz
        .require(&a.actor.principal, Action::ManageGroups, &OrgFacts::from(&partner_org))?;
    let catalogue = Catalogue::from_item(catalogue.as_ref())?;
    check(&input, &catalogue)?;
    let print = fingerprint(&input)?;
    let now = deps.clock.now();
    let expires = (now + chrono::Duration::hours(KEPT_HOURS)).timestamp();
    let done: BTreeMap<usize, BulkItem> = match header {
        Some(h) => {
            if h.decode::<Header>()?.fingerprint != print {
                return Err(AppError::Conflict(
                    "This idempotencyKey was used for another request: use a new key.".into(),
                ));
            }
            recorded(deps, partner, &input.idempotency_key).await?
        }
        None => {
            let header = Item::new(header_key, keys::BULK, 1, &Header { fingerprint: print })?.with_ttl(expires);
            match deps
                .table
                .transact(vec![Write::Put {
                    item: header,
                    cond: Cond::MustNotExist,
                }])
                .await
            {
                Ok(()) | Err(StoreError::ConditionFailed { .. }) => {}
                Err(e) => return Err(e.into()),
            }
            BTreeMap::new()
        }
    };
    // Each item's change reads the chain heads it needs: the request's
    // prefetched ones go stale after the first commit.
    let mut actor = a.actor.clone();
    actor.heads.clear();
    let mut items = Vec::with_capacity(input.customers.len());
    for (index, customer) in input.customers.iter().enumerate() {
        if let Some(item) = done.get(&index) {
            items.push(BulkItem {
                replayed: true,
                ..item.clone()
            });
            continue;
        }
        if started.elapsed() >= budget {
            items.push(BulkItem {
                customer_id: *customer,
                status: 503,
                outcome: None,
                problem: Some("Not reached in this call's time: retry with the same idempotencyKey to go on.".into()),
                replayed: false,
            });
            continue;
        }
        let item = match one(
            deps,
            &actor,
            &partner_org,
            &catalogue,
            &input,
            index,
            *customer,
            expires,
        )
        .await
        {
            Ok(outcome) => BulkItem {
                customer_id: *customer,
                status: 200,
                outcome: Some(outcome),
                problem: None,
                replayed: false,
            },
            // A concurrent call with the same key may have done it first: its record answers.
            Err(e) => match done_meanwhile(deps, partner, &input.idempotency_key, index).await {
                Some(done) => BulkItem { replayed: true, ..done },
                None => {
                    if e.status().is_server_error() {
                        tracing::error!(customer = %customer, error = %e, "bulk item failed");
                    }
                    BulkItem {
                        customer_id: *customer,
                        status: e.status().as_u16(),
                        outcome: None,
                        problem: Some(e.to_string()),
                        replayed: false,
                    }
                }
            },
        };
        items.push(item);
    }
    let succeeded = items.iter().filter(|i| i.status == 200).count();
    Ok(BulkResult {
        idempotency_key: input.idempotency_key,
        action: input.action,
        failed: items.len() - succeeded,
        succeeded,
        items,
    })
}

/// The record of item `index`, if a call with this key did it.
async fn done_meanwhile(deps: &Deps, partner: OrgId, key: &str, index: usize) -> Option<BulkItem> {
    let item = deps.table.get(&keys::bulk_item(partner, key, index)).await.ok()??;
    item.decode::<(usize, BulkItem)>().ok().map(|(_, i)| i)
}

/// The items an earlier call with this key did, by index.
async fn recorded(deps: &Deps, partner: OrgId, key: &str) -> Result<BTreeMap<usize, BulkItem>, AppError> {
    let mut q = Query::partition(Index::Primary, keys::bulk_partition(partner, key))
        .sk(SkCond::BeginsWith(keys::BULK_ITEM_PREFIX.into()))
        .limit(1000);
    let mut out = BTreeMap::new();
    loop {
        let page = deps.table.query(&q).await?;
        for i in &page.items {
            let (index, item): (usize, BulkItem) = i.decode()?;
            out.insert(index, item);
        }
        match page.next {
            Some(c) => q = q.after(Some(c)),
            None => return Ok(out),
        }
    }
}

/// One customer: read, decide, and commit with its record.
#[allow(clippy::too_many_arguments)]
async fn one(
    deps: &Deps,
    actor: &Actor,
    partner: &Organization,
    catalogue: &Catalogue,
    input: &BulkDelegations,
    index: usize,
    customer: OrgId,
    expires: i64,
) -> Result<String, AppError> {
    let [c, d] = <[Option<Item>; 2]>::try_from(
        deps.table
            .get_many(&[keys::org(customer), keys::delegation(customer, partner.id, None)])
            .await?,
    )
    .map_err(|_| AppError::Internal("get_many answered a different number of items".into()))?;
    let customer_org = crate::ops::instances::customer_of(c)?;
    let version = d.as_ref().map_or(0, |i| i.version);
    let o = Opened {
        actor: actor.clone(),
        customer: customer_org,
        partner: partner.clone(),
        contact: None,
        catalogue: catalogue.clone(),
        delegation: d.map(|i| i.decode::<Delegation>()).transpose()?,
        version,
    };
    let record = |outcome: &str| -> Result<Write, AppError> {
        let item = BulkItem {
            customer_id: customer,
            status: 200,
            outcome: Some(outcome.to_string()),
            problem: None,
            replayed: false,
        };
        Ok(Write::Put {
            item: Item::new(
                keys::bulk_item(partner.id, &input.idempotency_key, index),
                keys::BULK,
                1,
                &(index, item),
            )?
            .with_ttl(expires),
            cond: Cond::MustNotExist,
        })
    };
    let now = deps.clock.now();
    match input.action {
        BulkAction::Request | BulkAction::Extend => {
            deps.authz.require(
                &actor.principal,
                Action::RequestDelegation,
                &OrgFacts::from(&o.customer),
            )?;
            let live = o.delegation.as_ref().is_some_and(|d| d.state(now).grants());
            let outcome = if live { "proposed" } else { "requested" };
            let ask = RequestDelegation {
                roles: input.roles.clone(),
                notify: input.notify.clone(),
                term_days: input.term_days,
                auto_extend: input.auto_extend,
            };
            request_in(deps, &o, &ask, vec![record(outcome)?]).await?;
            Ok(outcome.to_string())
        }
        BulkAction::Revoke => {
            let mut d = o
                .delegation
                .clone()
                .filter(|d| d.state(now).grants())
                .ok_or_else(|| AppError::Conflict("No delegation of this customer's is in force.".into()))?;
            let given_up = d
                .roles
                .iter()
                .filter_map(|r| catalogue.get(r))
                .map(|r| r.name.clone())
                .collect::<Vec<_>>();
            d.revoked_at = Some(now);
            d.proposal = None;
            let closed: Vec<(RoleKey, u32)> = d.close_groups().into_iter().collect();
            d.roles.clear();
            let description = format!(
                "{} gave up its roles at {} ({}); its groups were deleted",
                partner.name.as_str(),
                o.customer.name.as_str(),
                given_up.join(", ")
            );
            let outcome = Outcome {
                delegation: d,
                opened: Vec::new(),
                closed,
                parts: Vec::new(),
                said: "given up",
                description: Some(description),
            };
            commit(deps, &o, outcome, input.notify.clone(), vec![record("revoked")?], now).await?;
            Ok("revoked".to_string())
        }
    }
}
