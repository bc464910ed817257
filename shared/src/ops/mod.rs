//! One module per operation: load what it needs, ask `authz`, build the
//! write set (the change and its activity event), commit it in one
//! transaction.

pub mod access;
pub mod accounts;
pub mod activity;
pub mod billing;
pub mod delegation_bulk;
pub mod delegation_sweep;
pub mod delegations;
pub mod deliveries;
pub mod inactivity;
pub mod instances;
pub mod login_digest;
pub mod login_keys;
pub mod logmein;
pub mod organizations;
pub mod partner_portal;
pub mod relationships;
pub mod seats;
pub mod session;
pub mod settings;
pub mod signup;
pub mod staff;
pub mod timesheets;
pub mod workspace;

use crate::app::Deps;
use crate::audit::{ActionType, ActivityEvent, Actor, ChainHead, Target};
use crate::authz::Principal;
use crate::domain::{
    EMAIL_CONFIRMATION_HOURS, EmailAddress, EventId, OrgId, OrgKind, Organization, Role, User, UserId, UserStatus,
};
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

/// The scheduler, as the actor of scheduled jobs' events.
pub(crate) fn scheduler() -> Result<Actor, AppError> {
    Ok(crate::audit::Actor::new(
        Principal {
            user_id: UserId(uuid::Uuid::nil()),
            email: EmailAddress::parse("scheduler@portico.invalid")?,
            org_id: OrgId(uuid::Uuid::nil()),
            org_kind: OrgKind::Platform,
            role: Role::PlatformAdmin,
            settings_hidden: false,
        },
        "scheduler",
    ))
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
    // Both start in the same poll (futures' join does not stop between them
    // when tokio's cooperative budget runs low, as tokio::join! may).
    let (a, items, guessed) = authenticate_many_and_query(deps, caller, extra.into(), guess).await?;
    let items: [Option<Item>; N] = items
        .try_into()
        .map_err(|_| AppError::Internal("get_many answered a different number of items".into()))?;
    Ok((a, items, guessed))
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
    /// The session the request came with.
    pub session: crate::sessions::Session,
    /// The platform's switches and Partner Portal settings.
    pub portal: crate::partner_portal::PortalConfig,
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
    let (a, rest) = authenticate_many(deps, caller, extra.into()).await?;
    let rest: [Option<Item>; N] = rest
        .try_into()
        .map_err(|_| AppError::Internal("get_many answered a different number of items".into()))?;
    Ok((a, rest))
}

/// [`authenticate_and_query`] with any number of extra keys.
pub async fn authenticate_many_and_query(
    deps: &Deps,
    caller: &Caller,
    extra: Vec<Key>,
    guess: Option<Query>,
) -> Result<(Authenticated, Vec<Option<Item>>, Guess), AppError> {
    let speculative = async {
        match guess {
            Some(q) => {
                let page = deps.table.query(&q).await;
                Some((q, page))
            }
            None => None,
        }
    };
    let (auth, guessed) = futures::future::join(authenticate_many(deps, caller, extra), speculative).await;
    let (a, items) = auth?;
    Ok((a, items, Guess(guessed)))
}

/// [`authenticate_full`] with any number of extra keys.
pub async fn authenticate_many(
    deps: &Deps,
    caller: &Caller,
    extra: Vec<Key>,
) -> Result<(Authenticated, Vec<Option<Item>>), AppError> {
    let n = extra.len();
    let not_a_user = || AppError::Unauthenticated("The token does not name a Portico user.");
    let session_id = caller.session_id.as_deref().ok_or(AppError::Unauthenticated(
        "This token names no Portico session: sign in again.",
    ))?;
    // The chain heads of the caller's organisation and of every organisation
    // the operation reads come along, so that its change needs no more reads.
    let mut head_orgs = vec![caller.org_id];
    head_orgs.extend(extra.iter().filter_map(keys::log_of).filter(|o| *o != caller.org_id));
    let mut wanted = Vec::with_capacity(n + 4 + head_orgs.len());
    wanted.push(keys::user(caller.user_id));
    wanted.push(keys::org(caller.org_id));
    wanted.push(crate::sessions::key(session_id));
    wanted.push(keys::portal_config());
    wanted.extend(extra);
    wanted.push(keys::user_activity(caller.user_id));
    wanted.extend(head_orgs.iter().map(|o| keys::activity_head(*o)));
    let mut items = deps.table.get_many(&wanted).await?.into_iter();
    let user: User = items.next().flatten().ok_or_else(not_a_user)?.decode()?;
    let org: Organization = items.next().flatten().ok_or_else(not_a_user)?.decode()?;
    if user.org_id != org.id {
        return Err(not_a_user());
    }
    let session = items.next().flatten();
    let portal = crate::partner_portal::PortalConfig::from_item(items.next().flatten().as_ref())?;
    if org.template {
        return Err(AppError::Unauthenticated(
            "This is a template account (a Model User): nobody signs in as it.",
        ));
    }
    match user.status {
        UserStatus::Active => {}
        UserStatus::Suspended => return Err(AppError::AccountSuspended),
        UserStatus::Pending => return Err(AppError::Unauthenticated("This account is not active.")),
    }
    // After the state, so that a suspended user hears why (their sessions were revoked too).
    let session = crate::sessions::check(session.as_ref(), &user, deps.clock.now())?;
    if org.kind == OrgKind::Partner && !portal.partners_served() {
        return Err(partner_portal_off());
    }
    if user.mfa_required && !user.mfa_enrolled {
        return Err(AppError::MfaEnrolmentRequired);
    }
    if needs_email_confirmation(deps, &user, &org, &caller.source_ip) {
        accounts::request_email_confirmation(deps, &user).await?;
        return Err(AppError::EmailConfirmationRequired);
    }
    let rest: Vec<Option<Item>> = items.by_ref().take(n).collect();
    if rest.len() != n {
        return Err(AppError::Internal(
            "get_many answered a different number of items".into(),
        ));
    }
    let principal = Principal {
        user_id: user.id,
        email: user.email.clone(),
        org_id: org.id,
        org_kind: org.kind,
        role: user.role,
        settings_hidden: user.hide_org_settings,
    };
    let activity = items.next().flatten();
    caller
        .touch
        .set(crate::inactivity::touch(&user, activity.as_ref(), deps.clock.now())?);
    caller.seen.set(|| crate::http::principal::Viewer {
        user: user.clone(),
        org: org.clone(),
        session: session.clone(),
    });
    let mut actor = Actor::new(principal, caller.source_ip.clone());
    actor.heads = head_orgs.into_iter().zip(items).collect();
    actor.touch = caller.touch.clone();
    Ok((
        Authenticated {
            actor,
            user,
            org,
            session,
            portal,
        },
        rest,
    ))
}

/// What partners hear while the Partner Portal (or Organizations) is off.
pub(crate) fn partner_portal_off() -> AppError {
    AppError::AccessRefused {
        code: "partner-portal-off",
        detail: "The Partner Portal is switched off: partners cannot sign in or use Portico until the platform switches it on.".into(),
    }
}

/// How long the public routes that must not tell whether an address has an
/// account (`POST /password/forgot`, `POST /session/restore-request`) take
/// at least: more than their work (a read, a write, an email) takes, so
/// that their time says nothing either.
pub const UNTOLD_FLOOR: std::time::Duration = std::time::Duration::from_millis(400);

/// Runs `work` and answers no sooner than [`UNTOLD_FLOOR`] after it started.
pub async fn no_sooner_than_floor<T>(work: impl std::future::Future<Output = T>) -> T {
    let done_at = tokio::time::Instant::now() + UNTOLD_FLOOR;
    let out = work.await;
    tokio::time::sleep_until(done_at).await;
    out
}

/// Most attempts a change makes to extend its organisation's chain when
/// other writers extend it first (each attempt re-reads the head).
const CHAIN_ATTEMPTS: u32 = 40;

/// A change and its activity event, committed together or not at all, the
/// event extending its organisation's hash chain in the same transaction.
pub struct Change {
    pub writes: Vec<Write>,
    pub event: ActivityEvent,
    /// The chain head, if already read (`Some(None)`: there is none yet).
    head: Option<Option<Item>>,
    /// A new retention for the organisation's log, set on the new head.
    retention: Option<Option<u32>>,
    /// The request's activity record write, carried along if due (dropped,
    /// not failed, if another request recorded the activity first).
    touch: crate::inactivity::PendingTouch,
    /// Writes made from the event once it is chained (they need its sequence).
    derived: Vec<Derived>,
    /// Another organisation whose log records the same event (its own copy,
    /// chained in its own log), with its chain head if read already.
    mirror: Option<(OrgId, Option<Option<Item>>)>,
}

/// A write built from the chained event (see [`Change::derive`]).
pub type Derived = fn(&ActivityEvent) -> Result<Write, StoreError>;

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
        let mut change = Self::anonymous(deps, &actor.source_ip, org, action, target, description);
        change.event.actor_user_id = Some(actor.principal.user_id);
        change.event.actor_email = Some(actor.principal.email.clone());
        change.event.actor_org_id = Some(actor.principal.org_id);
        change.head = actor.prefetched_head(org);
        change.touch = actor.touch.clone();
        change
    }

    /// Starts a change made by an anonymous request (a public route, where
    /// the caller proves nothing): the event names no actor, only the source
    /// IP; `target` is the account concerned.
    pub fn anonymous(
        deps: &Deps,
        source_ip: &str,
        org: OrgId,
        action: ActionType,
        target: Target,
        description: String,
    ) -> Self {
        let event = ActivityEvent {
            id: EventId(deps.ids.new_id()),
            at: deps.clock.now(),
            actor_user_id: None,
            actor_email: None,
            actor_org_id: None,
            org_id: org,
            action,
            target,
            description,
            source_ip: source_ip.to_string(),
            before: None,
            after: None,
            seq: 0,
            prev_hash: String::new(),
            expires_at: None,
            prev_expires_at: None,
            prev_kept_seq: 0,
            hash: String::new(),
        };
        Self {
            writes: Vec::new(),
            event,
            head: None,
            retention: None,
            touch: Default::default(),
            derived: Vec::new(),
            mirror: None,
        }
    }

    pub fn write(mut self, w: Write) -> Self {
        self.writes.push(w);
        self
    }

    pub fn writes(mut self, ws: impl IntoIterator<Item = Write>) -> Self {
        self.writes.extend(ws);
        self
    }

    /// Adds a write made from the event as committed (its sequence and time
    /// are known only then, and change when the chain is retried): the
    /// settings delivery record, for one. It must not fail its condition.
    pub fn derive(mut self, f: Derived) -> Self {
        self.derived.push(f);
        self
    }

    /// Records the event in `org`'s log too (the other party to a change
    /// between two organisations: a partner's sign-in to a customer's
    /// instance, a customer's consent to its partner), in the same
    /// transaction. `head`: that log's chain head, if the request read it.
    pub fn mirror(mut self, org: OrgId, head: Option<Option<Item>>) -> Self {
        if org != self.event.org_id {
            self.mirror = Some((org, head));
        }
        self
    }

    /// [`Change::mirror`], with the head the actor's request read (if it did).
    pub fn mirrored_for(self, actor: &Actor, org: OrgId) -> Self {
        let head = actor.prefetched_head(org);
        self.mirror(org, head)
    }

    pub fn after(mut self, v: serde_json::Value) -> Self {
        self.event.after = Some(v);
        self
    }

    /// Records the user's activity with this change (if due; see `inactivity`).
    pub fn touching(self, w: Option<Write>) -> Self {
        self.touch.set(w);
        self
    }

    /// The chain head of the event's organisation, read with the request's
    /// other items (`None`: it has no events yet).
    pub fn head(mut self, item: Option<Item>) -> Self {
        self.head = Some(item);
        self
    }

    /// Events from this one on are kept `days` days (none: kept).
    pub fn retention(mut self, days: Option<u32>) -> Self {
        self.retention = Some(days);
        self
    }

    /// Commits the writes, the event and the new chain head in one
    /// transaction. A failed condition comes back as
    /// `StoreError::ConditionFailed { index }` where `index` is the position
    /// in `writes`; losing the chain head to another writer is retried here
    /// (re-reading the head), as is a transaction conflict. The head is read
    /// first only if the request did not read it already.
    pub async fn commit(self, deps: &Deps) -> Result<(), StoreError> {
        self.commit_for_head(deps).await.map(|_| ())
    }

    /// [`Change::commit`], answering the organisation's new chain head.
    pub async fn commit_for_head(self, deps: &Deps) -> Result<Item, StoreError> {
        let org = self.event.org_id;
        let mut touch = self.touch.take();
        let mut head_item = match self.head {
            Some(h) => h,
            None => deps.table.get(&keys::activity_head(org)).await?,
        };
        let mut mirror_head = match &self.mirror {
            Some((_, Some(h))) => h.clone(),
            Some((m, None)) => deps.table.get(&keys::activity_head(*m)).await?,
            None => None,
        };
        let own = self.writes.len();
        let mut attempt = 0;
        loop {
            let head = ChainHead::decode(head_item.as_ref())?;
            let (head, version) = (head.as_ref().map(|(h, _)| h), head.as_ref().map(|(_, v)| *v));
            let mut event = self.event.clone();
            event
                .chain_after(head, deps.clock.now())
                .map_err(|e| StoreError::Decode(format!("activity event: {e}")))?;
            let mut writes = self.writes.clone();
            for f in &self.derived {
                writes.push(f(&event)?);
            }
            writes.push(Write::Put {
                item: event.item()?,
                cond: Cond::MustNotExist,
            });
            let mut new_head = event.as_head(head);
            if let Some(days) = self.retention {
                new_head.retention_days = days;
            }
            let written_head = new_head.item(version)?;
            let head_write = ChainHead::write(written_head.clone(), version);
            writes.push(head_write);
            if let Some((m, _)) = &self.mirror {
                let decoded = ChainHead::decode(mirror_head.as_ref())?;
                let (mhead, mversion) = (decoded.as_ref().map(|(h, _)| h), decoded.as_ref().map(|(_, v)| *v));
                let mut copy = self.event.clone();
                copy.id = EventId(deps.ids.new_id());
                copy.org_id = *m;
                copy.chain_after(mhead, deps.clock.now())
                    .map_err(|e| StoreError::Decode(format!("activity event: {e}")))?;
                writes.push(Write::Put {
                    item: copy.item()?,
                    cond: Cond::MustNotExist,
                });
                writes.push(ChainHead::write(copy.as_head(mhead).item(mversion)?, mversion));
            }
            let touch_at = writes.len();
            if let Some(t) = &touch {
                writes.push(t.clone());
            }
            match deps.table.transact(writes).await {
                Ok(()) => return Ok(written_head),
                // Another request recorded the activity first: not this change's business.
                Err(StoreError::ConditionFailed { index })
                    if touch.is_some() && index == touch_at && attempt < CHAIN_ATTEMPTS =>
                {
                    touch = None
                }
                Err(StoreError::ConditionFailed { index }) if index >= own && attempt < CHAIN_ATTEMPTS => {}
                Err(StoreError::Conflict) if attempt < CHAIN_ATTEMPTS => {}
                Err(e) => return Err(e),
            }
            attempt += 1;
            let ceiling = u64::from(attempt.min(10)) * 3;
            tokio::time::sleep(std::time::Duration::from_millis(1 + rand::random::<u64>() % ceiling)).await;
            match &self.mirror {
                Some((m, _)) => {
                    let mut both = deps
                        .table
                        .get_many(&[keys::activity_head(org), keys::activity_head(*m)])
                        .await?
                        .into_iter();
                    head_item = both.next().flatten();
                    mirror_head = both.next().flatten();
                }
                None => head_item = deps.table.get(&keys::activity_head(org)).await?,
            }
        }
    }
}

/// Maps a failed write condition to what the caller should hear.
pub(crate) fn on_condition(e: StoreError, explain: impl Fn(usize) -> Option<AppError>) -> AppError {
    match e {
        StoreError::ConditionFailed { index } => explain(index).unwrap_or(AppError::Store(e)),
        other => AppError::Store(other),
    }
}
