//! One module per operation: load what it needs, ask `authz`, build the
//! write set (the change and its activity event), commit it in one
//! transaction.

pub mod accounts;
pub mod organizations;
pub mod session;
pub mod settings;

use crate::app::Deps;
use crate::audit::{ActionType, ActivityEvent, Actor, Target};
use crate::authz::Principal;
use crate::domain::{EMAIL_CONFIRMATION_HOURS, EventId, OrgId, OrgKind, Organization, User, UserStatus};
use crate::error::AppError;
use crate::http::principal::Caller;
use crate::store::{Cond, Item, Key, Page, Query, StoreError, Write, keys};

/// Partner users re-confirm their email every rolling 24 hours, unless the
/// request comes from one of their partner's trusted source ranges.
fn needs_email_confirmation(deps: &Deps, user: &User, org: &Organization, source_ip: &str) -> bool {
    if user.org_kind != OrgKind::Partner {
        return false;
    }
    let fresh = user
        .email_confirmed_at
        .is_some_and(|t| deps.clock.now() - t < chrono::Duration::hours(EMAIL_CONFIRMATION_HOURS));
    !fresh && !org.trusts(source_ip)
}

/// A listing's query started before authentication finished, from the
/// caller's claims; it counts only if it is the query authorization picks.
pub struct Guess(Option<(Query, Result<Page, StoreError>)>);

/// [`authenticate_full`] and, in the same round trip, `guess` (a query the
/// token's claims suggest), so that a listing costs one read round trip.
pub async fn authenticate_and_query<const N: usize>(
    deps: &Deps,
    caller: &Caller,
    extra: [Key; N],
    guess: Option<Query>,
) -> Result<(Authenticated, [Option<Item>; N], Guess), AppError> {
    let speculative = async {
        match guess {
            Some(q) => {
                let page = deps.table.query(&q).await;
                Some((q, page))
            }
            None => None,
        }
    };
    // Both start in the same poll (futures' join does not stop between them
    // when tokio's cooperative budget runs low, as tokio::join! may).
    let (auth, guessed) = futures::future::join(authenticate_full(deps, caller, extra), speculative).await;
    let (a, items) = auth?;
    Ok((a, items, Guess(guessed)))
}

impl Guess {
    /// The page of `wanted`: the guess's if it was this very query, else read now.
    pub async fn page(self, deps: &Deps, wanted: &Query) -> Result<Page, AppError> {
        match self.0 {
            Some((q, page)) if &q == wanted => Ok(page?),
            _ => Ok(deps.table.query(wanted).await?),
        }
    }
}

/// An authenticated request: who, from where, and their organisation.
pub struct Authenticated {
    pub actor: Actor,
    pub user: User,
    pub org: Organization,
}

/// Turns a caller into an actor with one read round trip: the user, their
/// organisation and the `extra` items the operation needs, in one
/// `get_many`. Refuses users who are missing, not active, not of the
/// organisation their token names, or who must enrol MFA first.
pub async fn authenticate<const N: usize>(
    deps: &Deps,
    caller: &Caller,
    extra: [Key; N],
) -> Result<(Actor, [Option<Item>; N]), AppError> {
    let (a, items) = authenticate_full(deps, caller, extra).await?;
    Ok((a.actor, items))
}

/// [`authenticate`], keeping the user and organisation records.
pub async fn authenticate_full<const N: usize>(
    deps: &Deps,
    caller: &Caller,
    extra: [Key; N],
) -> Result<(Authenticated, [Option<Item>; N]), AppError> {
    let not_a_user = || AppError::Unauthenticated("The token does not name a Portico user.");
    let mut wanted = Vec::with_capacity(N + 2);
    wanted.push(keys::user(caller.user_id));
    wanted.push(keys::org(caller.org_id));
    wanted.extend(extra);
    let mut items = deps.table.get_many(&wanted).await?.into_iter();
    let user: User = items.next().flatten().ok_or_else(not_a_user)?.decode()?;
    let org: Organization = items.next().flatten().ok_or_else(not_a_user)?.decode()?;
    if user.org_id != org.id {
        return Err(not_a_user());
    }
    if user.status != UserStatus::Active {
        return Err(AppError::Unauthenticated("This account is not active."));
    }
    if user.mfa_required && !user.mfa_enrolled {
        return Err(AppError::MfaEnrolmentRequired);
    }
    if needs_email_confirmation(deps, &user, &org, &caller.source_ip) {
        accounts::request_email_confirmation(deps, &user).await?;
        return Err(AppError::EmailConfirmationRequired);
    }
    let rest: [Option<Item>; N] = items
        .collect::<Vec<_>>()
        .try_into()
        .map_err(|_| AppError::Internal("get_many answered a different number of items".into()))?;
    let principal = Principal {
        user_id: user.id,
        email: user.email.clone(),
        org_id: org.id,
        org_kind: org.kind,
        role: user.role,
    };
    let actor = Actor {
        principal,
        source_ip: caller.source_ip.clone(),
    };
    Ok((Authenticated { actor, user, org }, rest))
}

/// A change and its activity event, committed together or not at all.
pub struct Change {
    pub writes: Vec<Write>,
    pub event: ActivityEvent,
}

impl Change {
    /// Starts a change whose event concerns `org`.
    pub fn new(
        deps: &Deps,
        actor: &Actor,
        org: OrgId,
        action: ActionType,
        target: Target,
        description: String,
    ) -> Self {
        let event = ActivityEvent {
            id: EventId(deps.ids.new_id()),
            at: deps.clock.now(),
            actor_user_id: actor.principal.user_id,
            actor_email: actor.principal.email.clone(),
            actor_org_id: actor.principal.org_id,
            org_id: org,
            action,
            target,
            description,
            source_ip: actor.source_ip.clone(),
            before: None,
            after: None,
        };
        Self {
            writes: Vec::new(),
            event,
        }
    }

    pub fn write(mut self, w: Write) -> Self {
        self.writes.push(w);
        self
    }

    pub fn after(mut self, v: serde_json::Value) -> Self {
        self.event.after = Some(v);
        self
    }

    /// Commits the writes and the event in one transaction. A failed
    /// condition comes back as `StoreError::ConditionFailed { index }` where
    /// `index` is the position in `writes` (the event is last).
    pub async fn commit(self, deps: &Deps) -> Result<(), StoreError> {
        let mut writes = self.writes;
        writes.push(Write::Put {
            item: self.event.item()?,
            cond: Cond::MustNotExist,
        });
        deps.table.transact(writes).await
    }
}

/// Maps a failed write condition to what the caller should hear.
pub(crate) fn on_condition(e: StoreError, explain: impl Fn(usize) -> Option<AppError>) -> AppError {
    match e {
        StoreError::ConditionFailed { index } => explain(index).unwrap_or(AppError::Store(e)),
        other => AppError::Store(other),
    }
}
