//! A partner's licensed user seats (seed 002's resource allocation; seed
//! 001's licence per partner user): read them, set the allocation, ask
//! for more and decide. Users take and give back seats in the transactions
//! that add and remove them (`partner_portal::seat`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::accounts::RequestState;
use crate::app::Deps;
use crate::audit::{ActionType, Target};
use crate::authz::{Action, OrgFacts};
use crate::domain::{OrgId, OrgKind, Organization, RequestId, User};
use crate::error::AppError;
use crate::http::principal::Caller;
use crate::ops::accounts::PageQuery;
use crate::ops::{Change, authenticate_and_query, authenticate_full, on_condition};
use crate::partner_portal::{Allocation, SeatRequest, Seats};
use crate::store::{Cond, Index, Item, Query, Write, keys};

/// A partner's seats as its pages show them.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SeatsView {
    pub org_id: OrgId,
    pub allocation: Allocation,
    /// The allocation in words ("Allocated: 10 seats").
    pub described: String,
    /// Users holding a seat (pending or active).
    pub used: u32,
    /// Seats still free (absent: unlimited).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub free: Option<u32>,
    /// False until the platform first sets an allocation for a partner made
    /// before seats existed (unlimited and uncounted until then).
    pub counted: bool,
}

impl SeatsView {
    fn of(org: OrgId, seats: Option<&Seats>) -> Self {
        match seats {
            Some(s) => Self {
                org_id: org,
                allocation: s.allocation,
                described: s.allocation.describe(),
                used: s.used,
                free: s.free(),
                counted: true,
            },
            None => Self {
                org_id: org,
                allocation: Allocation::Unlimited,
                described: Allocation::Unlimited.describe(),
                used: 0,
                free: None,
                counted: false,
            },
        }
    }
}

fn partner(item: Option<Item>) -> Result<Organization, AppError> {
    let org: Organization = item.ok_or(AppError::NotFound)?.decode()?;
    if org.kind != OrgKind::Partner {
        return Err(AppError::NotFound);
    }
    Ok(org)
}

fn seats_of(item: Option<&Item>) -> Result<Option<Seats>, AppError> {
    Ok(item.map(Seats::from_item).transpose()?)
}

/// A partner's seats (its managers, the platform). 1 read.
pub async fn view(deps: &Deps, caller: &Caller, org_id: OrgId) -> Result<SeatsView, AppError> {
    let (a, [org, seats]) = authenticate_full(deps, caller, [keys::org(org_id), keys::seats(org_id)]).await?;
    let org = partner(org)?;
    deps.authz
        .require(&a.actor.principal, Action::ViewUsers, &OrgFacts::from(&org))?;
    Ok(SeatsView::of(org.id, seats_of(seats.as_ref())?.as_ref()))
}

/// Body of `PUT /organizations/{id}/seats`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetAllocation {
    pub allocation: Allocation,
}

/// The platform sets a partner's allocation (an "Update License" event in
/// its log). Users beyond a lowered limit keep their seats; no one new gets
/// one until enough are free. 1 read (2 the first time for a partner made
/// before seats existed: its users are counted), 1 write.
pub async fn set_allocation(
    deps: &Deps,
    caller: &Caller,
    org_id: OrgId,
    input: SetAllocation,
) -> Result<SeatsView, AppError> {
    input.allocation.check()?;
    let (a, [org, seats]) = authenticate_full(deps, caller, [keys::org(org_id), keys::seats(org_id)]).await?;
    let org = partner(org)?;
    deps.authz
        .require(&a.actor.principal, Action::ManageSeats, &OrgFacts::from(&org))?;
    let before = seats_of(seats.as_ref())?;
    let (write, after) = match &before {
        Some(s) => (
            Write::patch(
                keys::seats(org.id),
                &serde_json::json!({ "allocation": input.allocation, "limit": input.allocation.limit() }),
                Cond::VersionIs(s.version),
            )?,
            Seats {
                allocation: input.allocation,
                limit: input.allocation.limit(),
                ..s.clone()
            },
        ),
        None => {
            let used = count_users(deps, org.id).await?;
            let s = Seats::new(org.id, input.allocation, used);
            (
                Write::Put {
                    item: s.item()?,
                    cond: Cond::MustNotExist,
                },
                s,
            )
        }
    };
    let was = before
        .as_ref()
        .map_or_else(|| "uncounted".to_string(), |s| s.allocation.describe());
    Change::new(
        deps,
        &a.actor,
        org.id,
        ActionType::UpdateLicense,
        Target::organization(org.id),
        format!(
            "Set the seats of \"{}\" to {} (was {was}; {} in use)",
            org.name.as_str(),
            after.allocation.describe(),
            after.used
        ),
    )
    .after(serde_json::json!({ "allocation": after.allocation, "used": after.used }))
    .write(write)
    .commit(deps)
    .await
    .map_err(|e| {
        on_condition(e, |i| {
            (i == 0).then(|| AppError::Conflict("The seats changed meanwhile: read them and try again.".into()))
        })
    })?;
    Ok(SeatsView::of(org.id, Some(&after)))
}

/// Users of `org` (every state), counted page by page: only when a partner
/// made before seats existed gets its first allocation.
async fn count_users(deps: &Deps, org: OrgId) -> Result<u32, AppError> {
    let mut used = 0u32;
    let mut cursor = None;
    loop {
        let q = Query::partition(Index::Gsi1, keys::org_users(org))
            .limit(crate::store::MAX_PAGE)
            .after(cursor);
        let page = deps.table.query(&q).await?;
        used = used.saturating_add(u32::try_from(page.items.len()).unwrap_or(u32::MAX));
        match page.next {
            Some(c) => cursor = Some(c),
            None => return Ok(used),
        }
    }
}

/// Most seats one request asks for.
pub const MAX_SEATS_ASKED: u32 = 1000;

/// Body of `POST /organizations/{id}/seats/requests`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AskSeats {
    /// How many more seats, 1 to 1000.
    pub seats: u32,
}

/// A Partner Manager asks for more seats, where its allocation can be
/// purchased (an "Update License" event). 1 read, 1 write.
pub async fn request_more(
    deps: &Deps,
    caller: &Caller,
    org_id: OrgId,
    input: AskSeats,
) -> Result<SeatRequest, AppError> {
    if !(1..=MAX_SEATS_ASKED).contains(&input.seats) {
        return Err(AppError::invalid(format!("seats must be 1 to {MAX_SEATS_ASKED}")));
    }
    let (a, [org, seats]) = authenticate_full(deps, caller, [keys::org(org_id), keys::seats(org_id)]).await?;
    let org = partner(org)?;
    deps.authz
        .require(&a.actor.principal, Action::RequestSeats, &OrgFacts::from(&org))?;
    let seats = seats_of(seats.as_ref())?;
    if !matches!(
        seats.as_ref().map(|s| s.allocation),
        Some(Allocation::Purchasable { .. })
    ) {
        let what = seats
            .as_ref()
            .map_or_else(|| Allocation::Unlimited.describe(), |s| s.allocation.describe());
        return Err(AppError::Conflict(format!(
            "Seats can be asked for only where they can be purchased; this allocation is {what}."
        )));
    }
    let req = SeatRequest {
        id: RequestId(deps.ids.new_id()),
        org_id: org.id,
        org_name: org.name.as_str().to_string(),
        seats: input.seats,
        requested_by: a.actor.principal.user_id,
        created_at: deps.clock.now(),
        state: RequestState::Pending,
        decided_by: None,
        version: 1,
    };
    Change::new(
        deps,
        &a.actor,
        org.id,
        ActionType::UpdateLicense,
        Target {
            kind: "seatRequest".into(),
            id: req.id.to_string(),
        },
        format!("Asked the platform for {} more seat(s)", req.seats),
    )
    .after(serde_json::to_value(&req).map_err(|e| AppError::Internal(e.to_string()))?)
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
pub struct SeatRequestPage {
    pub items: Vec<SeatRequest>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// The platform: the requests waiting for it; a Partner Manager: its
/// partner's, newest first. 1 read.
pub async fn list_requests(deps: &Deps, caller: &Caller, q: PageQuery) -> Result<SeatRequestPage, AppError> {
    let (limit, cursor) = q.parts()?;
    let pick = |kind: OrgKind, org: OrgId| {
        let q = match kind {
            OrgKind::Platform => Query::partition(Index::Gsi2, keys::PENDING_SEAT_REQUESTS),
            _ => Query::partition(Index::Gsi1, keys::org_seat_requests(org)),
        };
        q.limit(limit).after(cursor.clone())
    };
    let guess = caller.org_kind.map(|k| pick(k, caller.org_id));
    let (a, [], guessed) = authenticate_and_query(deps, caller, [], guess).await?;
    let action = match a.org.kind {
        OrgKind::Platform => Action::ManageSeats,
        _ => Action::RequestSeats,
    };
    deps.authz
        .require(&a.actor.principal, action, &OrgFacts::from(&a.org))?;
    let page = guessed.page(deps, &pick(a.org.kind, a.org.id)).await?;
    Ok(SeatRequestPage {
        items: page.items.iter().map(|i| i.decode()).collect::<Result<_, _>>()?,
        next_cursor: page.next.map(|c| c.as_str().to_string()),
    })
}

/// Body of `POST /seat-requests/{id}/decision`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeatDecision {
    pub approve: bool,
}

/// The platform approves (the seats are added to the allocation) or
/// rejects a request: an "Update License" event in the partner's log.
/// 2 reads (the request, then the partner and its seats), 1 write.
pub async fn decide(deps: &Deps, caller: &Caller, id: RequestId, d: SeatDecision) -> Result<SeatRequest, AppError> {
    let (a, [req]) = authenticate_full(deps, caller, [keys::seat_request(id)]).await?;
    let mut req: SeatRequest = req.ok_or(AppError::NotFound)?.decode()?;
    let [org, seats, head]: [Option<Item>; 3] = deps
        .table
        .get_many(&[
            keys::org(req.org_id),
            keys::seats(req.org_id),
            keys::activity_head(req.org_id),
        ])
        .await?
        .try_into()
        .map_err(|_| AppError::Internal("get_many answered a different number of items".into()))?;
    let org = match org {
        Some(o) => partner(Some(o))?,
        // The partner was deleted since it asked: the platform clears the request.
        None if !d.approve => return reject_orphan(deps, &a, req).await,
        None => {
            return Err(AppError::Conflict(
                "The partner no longer exists: reject the request.".into(),
            ));
        }
    };
    deps.authz
        .require(&a.actor.principal, Action::ManageSeats, &OrgFacts::from(&org))?;
    if req.state != RequestState::Pending {
        return Err(AppError::Conflict("The request has been decided already.".into()));
    }
    let version = req.version;
    req.decided_by = Some(a.actor.principal.user_id);
    req.version += 1;
    req.state = if d.approve {
        RequestState::Approved
    } else {
        RequestState::Rejected
    };
    let mut change = Change::new(
        deps,
        &a.actor,
        org.id,
        ActionType::UpdateLicense,
        Target {
            kind: "seatRequest".into(),
            id: req.id.to_string(),
        },
        String::new(),
    )
    .head(head)
    .write(Write::Put {
        item: req.item()?,
        cond: Cond::VersionIs(version),
    });
    if d.approve {
        let seats = seats_of(seats.as_ref())?.ok_or_else(|| {
            AppError::Conflict("The partner's allocation cannot be purchased any more; reject the request.".into())
        })?;
        let Allocation::Purchasable { seats: had } = seats.allocation else {
            return Err(AppError::Conflict(format!(
                "The partner's allocation is {} now; reject the request or change the allocation.",
                seats.allocation.describe()
            )));
        };
        let allocation = Allocation::Purchasable {
            seats: had.saturating_add(req.seats).min(crate::partner_portal::MAX_SEATS),
        };
        change.event.description = format!(
            "Approved {} more seat(s) for \"{}\": {}",
            req.seats,
            org.name.as_str(),
            allocation.describe()
        );
        change = change
            .after(serde_json::json!({ "request": req, "allocation": allocation }))
            .write(Write::patch(
                keys::seats(org.id),
                &serde_json::json!({ "allocation": allocation, "limit": allocation.limit() }),
                Cond::VersionIs(seats.version),
            )?);
    } else {
        change.event.description = format!("Rejected {} more seat(s) for \"{}\"", req.seats, org.name.as_str());
        change = change.after(serde_json::to_value(&req).map_err(|e| AppError::Internal(e.to_string()))?);
    }
    change.commit(deps).await.map_err(|e| {
        on_condition(e, |_| {
            Some(AppError::Conflict(
                "The request or the seats changed meanwhile: read them and try again.".into(),
            ))
        })
    })?;
    Ok(req)
}

/// Rejects a request whose partner is gone (its event in the platform's log).
async fn reject_orphan(
    deps: &Deps,
    a: &crate::ops::Authenticated,
    mut req: SeatRequest,
) -> Result<SeatRequest, AppError> {
    deps.authz
        .require(&a.actor.principal, Action::ManageSeats, &OrgFacts::from(&a.org))?;
    if req.state != RequestState::Pending {
        return Err(AppError::Conflict("The request has been decided already.".into()));
    }
    let version = req.version;
    req.state = RequestState::Rejected;
    req.decided_by = Some(a.actor.principal.user_id);
    req.version += 1;
    Change::new(
        deps,
        &a.actor,
        a.org.id,
        ActionType::UpdateLicense,
        Target {
            kind: "seatRequest".into(),
            id: req.id.to_string(),
        },
        format!(
            "Rejected {} more seat(s) for \"{}\", deleted since",
            req.seats, req.org_name
        ),
    )
    .write(Write::Put {
        item: req.item()?,
        cond: Cond::VersionIs(version),
    })
    .commit(deps)
    .await
    .map_err(|e| on_condition(e, |_| Some(AppError::Conflict("The request changed meanwhile.".into()))))?;
    Ok(req)
}

/// What adding a user to `org` needs of its seats: the counted write (none
/// for an organisation that is not counted) and what a refusal says when
/// the write's condition fails (another user took the last seat first).
pub(crate) fn take_seat(org: &Organization, seats: Option<&Item>) -> Result<Option<(Write, String)>, AppError> {
    if org.kind != OrgKind::Partner {
        return Ok(None);
    }
    let Some(seats) = seats_of(seats)? else { return Ok(None) };
    let full = seats.full(org.name.as_str());
    // Refused now when it is plainly full; the counted write decides races.
    if seats.free() == Some(0) {
        return Err(AppError::Conflict(full));
    }
    Ok(Some((crate::ops::partner_portal::seat(org.id, true), full)))
}

/// The seat a removed user gives back (none for an uncounted organisation).
pub(crate) fn give_back_seat(user: &User, seats: Option<&Item>) -> Option<Write> {
    (user.org_kind == OrgKind::Partner && seats.is_some()).then(|| crate::ops::partner_portal::seat(user.org_id, false))
}
