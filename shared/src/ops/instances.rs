//! Customer instances and their connections: register (the platform), list
//! and read (the customer, its partner, the platform), check a connection
//! (on schedule, on demand, when the customer list is opened), and the
//! recreate path (a partner's request, the platform's recreation).

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::Deps;
use crate::audit::{ActionType, Actor, Target};
use crate::authz::{Action, OrgFacts};
use crate::connections::{self, BrokenReason, CheckOutcome, ConnectionState, Transition};
use crate::domain::{InstanceId, InstanceName, OrgId, OrgKind, Organization, Role, User, UserStatus};
use crate::error::AppError;
use crate::http::principal::Caller;
use crate::instances::{
    BaseUrl, Challenge, ChallengeAnswer, Connection, Instance, InstanceView, LatestSettings, MAX_PROFILE_ROLES,
    PROFILE_PATH, Profile, ProfileRole, Provisioned, RecreateRequest, VERIFY_PATH, new_nonce, new_secret,
};
use crate::mail::templates;
use crate::ops::{Change, authenticate_full, on_condition};
use crate::outbound::CallError;
use crate::store::{Cond, Index, Item, Query, SkCond, StoreError, Write, keys};

/// A connection checked this recently is not checked again on demand.
pub const RECHECK_AFTER_SECONDS: i64 = 10;
/// Opening the customer list re-checks connections last checked longer ago than this...
pub const STALE_AFTER_MINUTES: i64 = 5;
/// ...at most this many at once...
pub const PAGE_CHECKS_AT_ONCE: usize = 8;
/// ...and waits for them at most this long (the rest are left for the next look).
pub const PAGE_CHECK_WAIT: StdDuration = StdDuration::from_millis(1500);
/// Index entries one sweep query reads at a time.
pub const SWEEP_PAGE: u32 = 100;
/// Checks a sweep runs at once.
pub const SWEEP_CHECKS_AT_ONCE: usize = 16;

pub(crate) fn instance_target(id: InstanceId) -> Target {
    Target {
        kind: "instance".into(),
        id: id.to_string(),
    }
}

/// The customer named in the path: a customer, or "no such customer".
pub(crate) fn customer_of(item: Option<Item>) -> Result<Organization, AppError> {
    let org: Organization = item.ok_or(AppError::NotFound)?.decode()?;
    if org.kind != OrgKind::Customer {
        return Err(AppError::NotFound);
    }
    Ok(org)
}

/// The instance named in the path, if it is this customer's.
pub(crate) fn instance_of(item: Option<Item>, customer: OrgId) -> Result<(Instance, u64), AppError> {
    let item = item.ok_or(AppError::NotFound)?;
    let instance: Instance = item.decode()?;
    if instance.customer_id != customer {
        return Err(AppError::NotFound);
    }
    Ok((instance, item.version))
}

fn latest_of(item: Option<Item>) -> Result<Option<LatestSettings>, AppError> {
    Ok(item.map(|i| i.decode()).transpose()?)
}

/// Body of `POST /customers/{id}/instances`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewInstance {
    pub name: InstanceName,
    /// The instance's HTTPS base URL.
    #[schema(example = "https://contoso.example.com")]
    pub url: String,
}

/// A registered (or recreated) connection: the secret is shown this once.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Registered {
    pub instance: InstanceView,
    /// The connection's shared secret, to install in the instance. Portico
    /// keeps it encrypted and never shows it again.
    pub secret: String,
}

/// A customer's instances.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstanceList {
    pub instances: Vec<InstanceView>,
}

/// A connection in `pending` with a new secret (answered to be shown once,
/// stored sealed to this instance and generation), first checked within a minute.
async fn new_connection(deps: &Deps, id: InstanceId, generation: u32) -> Result<(String, Connection), AppError> {
    let now = deps.clock.now();
    let secret = new_secret();
    let sealed = deps
        .sealer
        .seal(secret.as_bytes(), &Connection::context(id, generation))
        .await?;
    Ok((
        secret,
        Connection {
            state: ConnectionState::Pending,
            next_check: now + Duration::minutes(connections::PENDING_EVERY_MINUTES),
            last_checked: None,
            secret: sealed,
            generation,
            created_at: now,
        },
    ))
}

/// Registers an instance of a customer (platform admins): a connection in
/// `pending` with a new secret, first checked within a minute.
pub async fn register(
    deps: &Deps,
    caller: &Caller,
    customer: OrgId,
    input: NewInstance,
) -> Result<Registered, AppError> {
    let (a, [org, latest]) = authenticate_full(deps, caller, [keys::org(customer), keys::delivery(customer)]).await?;
    let customer = customer_of(org)?;
    deps.authz
        .require(&a.actor.principal, Action::RegisterInstance, &OrgFacts::from(&customer))?;
    let url = BaseUrl::parse(&input.url, deps.settings.outbound)?;
    let (instance, secret) = register_as(deps, &a.actor, &customer, input.name, url, None).await?;
    let latest = latest_of(latest)?;
    Ok(Registered {
        instance: instance.view(latest.as_ref()),
        secret,
    })
}

/// Registers an instance of `customer` as `actor` (authorised already):
/// the instance and its event in one transaction. Answers the instance and
/// its connection's secret. `first_check`: when the connection is first
/// checked (by default within a minute).
pub async fn register_as(
    deps: &Deps,
    actor: &Actor,
    customer: &Organization,
    name: InstanceName,
    url: BaseUrl,
    first_check: Option<DateTime<Utc>>,
) -> Result<(Instance, String), AppError> {
    let now = deps.clock.now();
    let id = InstanceId(deps.ids.new_id());
    let (secret, mut connection) = new_connection(deps, id, 1).await?;
    if let Some(at) = first_check {
        connection.next_check = at;
    }
    let instance = Instance {
        id,
        customer_id: customer.id,
        customer_name: customer.name.clone(),
        partner_id: customer.partner_of_record,
        name,
        url,
        created_at: now,
        created_by: actor.principal.user_id,
        connection,
        acknowledged: None,
        profile: Default::default(),
        version: 1,
    };
    Change::new(
        deps,
        actor,
        customer.id,
        ActionType::UpdateServer,
        instance_target(id),
        format!(
            "Registered the instance \"{}\" at {}; its connection waits for the instance to prove itself",
            instance.name.as_str(),
            instance.url.as_str()
        ),
    )
    .write(Write::Put {
        item: instance.item()?,
        cond: Cond::MustNotExist,
    })
    .after(serde_json::json!({ "name": instance.name, "url": instance.url, "generation": 1 }))
    .commit(deps)
    .await?;
    Ok((instance, secret))
}

/// The query of a customer's instances (its partner's listing, one prefix).
pub fn customer_instances_query(customer: &Organization) -> Query {
    Query::partition(
        Index::Gsi1,
        keys::instance_listing(customer.id, customer.partner_of_record),
    )
    .sk(SkCond::BeginsWith(keys::customer_instances_prefix(
        &customer.name.folded(),
        customer.id,
    )))
    .limit(crate::store::MAX_PAGE)
}

/// A customer's instances with their connections (2 read round trips: the
/// caller with the customer, then the instances).
pub async fn list(deps: &Deps, caller: &Caller, customer: OrgId) -> Result<InstanceList, AppError> {
    let (a, [org, latest]) = authenticate_full(deps, caller, [keys::org(customer), keys::delivery(customer)]).await?;
    let customer = customer_of(org)?;
    deps.authz
        .require(&a.actor.principal, Action::ViewInstances, &OrgFacts::from(&customer))?;
    let latest = latest_of(latest)?;
    let instances = read_instances(deps, &customer).await?;
    Ok(InstanceList {
        instances: instances.iter().map(|(i, _)| i.view(latest.as_ref())).collect(),
    })
}

/// A customer's instances, every page.
pub async fn read_instances(deps: &Deps, customer: &Organization) -> Result<Vec<(Instance, u64)>, AppError> {
    let mut query = customer_instances_query(customer);
    let mut out = Vec::new();
    loop {
        let page = deps.table.query(&query).await?;
        for item in &page.items {
            out.push((item.decode::<Instance>()?, item.version));
        }
        match page.next {
            Some(c) => query = query.after(Some(c)),
            None => return Ok(out),
        }
    }
}

/// The query over the range of a partner's listing that a page of its
/// customers spans (none if the page is empty or not one partner's).
fn customers_range_query(customers: &[Organization]) -> Option<Query> {
    let (first, last) = (customers.first()?, customers.last()?);
    let partner = first
        .partner_of_record
        .filter(|p| customers.iter().all(|c| c.partner_of_record == Some(*p)))?;
    let from = keys::customer_instances_prefix(&first.name.folded(), first.id);
    let to = format!("{}~", keys::customer_instances_prefix(&last.name.folded(), last.id));
    Some(
        Query::partition(Index::Gsi1, keys::instance_listing(first.id, Some(partner)))
            .sk(SkCond::Between(from, to))
            .limit(crate::store::MAX_PAGE),
    )
}

/// The instances of a page of a partner's customers: one query over the
/// range of the partner's listing the page spans (`first`: its first page,
/// if read already).
pub async fn instances_of_customers(deps: &Deps, customers: &[Organization]) -> Result<Vec<Instance>, AppError> {
    instances_in_range(deps, customers, None).await
}

async fn instances_in_range(
    deps: &Deps,
    customers: &[Organization],
    first: Option<crate::ops::Guess>,
) -> Result<Vec<Instance>, AppError> {
    let Some(mut query) = customers_range_query(customers) else {
        // Not one partner's page: each customer's own.
        let mut out = Vec::new();
        for c in customers {
            out.extend(read_instances(deps, c).await?.into_iter().map(|(i, _)| i));
        }
        return Ok(out);
    };
    let mut out = Vec::new();
    let mut first = first;
    loop {
        let page = match first.take() {
            Some(guess) => guess.page(deps, &query).await?,
            None => deps.table.query(&query).await?,
        };
        for item in &page.items {
            let i: Instance = item.decode()?;
            if customers.iter().any(|c| c.id == i.customer_id) {
                out.push(i);
            }
        }
        match page.next {
            Some(c) => query = query.after(Some(c)),
            None => return Ok(out),
        }
    }
}

/// What a request about one instance reads, in 1 round trip: the caller,
/// the customer, the instance (if it is this customer's) and the customer's
/// latest settings revision; `action` is asked of the policies first.
struct OneInstance {
    a: crate::ops::Authenticated,
    instance: Instance,
    version: u64,
    latest: Option<LatestSettings>,
}

async fn one_instance(
    deps: &Deps,
    caller: &Caller,
    customer: OrgId,
    id: InstanceId,
    action: Action,
) -> Result<OneInstance, AppError> {
    let (a, [org, instance, latest]) = authenticate_full(
        deps,
        caller,
        [keys::org(customer), keys::instance(id), keys::delivery(customer)],
    )
    .await?;
    let customer = customer_of(org)?;
    deps.authz
        .require(&a.actor.principal, action, &OrgFacts::from(&customer))?;
    let (instance, version) = instance_of(instance, customer.id)?;
    Ok(OneInstance {
        a,
        instance,
        version,
        latest: latest_of(latest)?,
    })
}

/// One instance of a customer (1 read round trip).
pub async fn get(deps: &Deps, caller: &Caller, customer: OrgId, id: InstanceId) -> Result<InstanceView, AppError> {
    let one = one_instance(deps, caller, customer, id, Action::ViewInstances).await?;
    Ok(one.instance.view(one.latest.as_ref()))
}

/// "Verify now": checks the connection and records what it found (a check
/// within the last [`RECHECK_AFTER_SECONDS`] is answered as it stands).
pub async fn verify_now(
    deps: &Deps,
    caller: &Caller,
    customer: OrgId,
    id: InstanceId,
) -> Result<InstanceView, AppError> {
    let OneInstance {
        a,
        instance,
        version,
        latest,
    } = one_instance(deps, caller, customer, id, Action::VerifyInstance).await?;
    let now = deps.clock.now();
    if instance
        .connection
        .last_checked
        .is_some_and(|t| now - t < Duration::seconds(RECHECK_AFTER_SECONDS))
    {
        return Ok(instance.view(latest.as_ref()));
    }
    let checked = match check_and_record(deps, &a.actor, instance, version).await? {
        Recorded::Done(i, _) => *i,
        // Checked by someone else meanwhile: what they found.
        Recorded::Lost => instance_of(deps.table.get(&keys::instance(id)).await?, customer)?.0,
    };
    Ok(checked.view(latest.as_ref()))
}

/// What the instance answered, judged, and the profile if this check
/// provisioned it. The profile goes first when it is due (never sent over
/// this connection, or changed since): an instance that takes it has it
/// when challenged. Errors are Portico's own (the key service), not the
/// instance's: they change nothing.
pub async fn check(deps: &Deps, instance: &Instance) -> Result<(CheckOutcome, Option<Provisioned>), AppError> {
    let secret = open_secret(deps, instance).await?;
    let provisioned = if instance.profile.due(instance.connection.generation) {
        provision(deps, instance, &secret).await?
    } else {
        None
    };
    Ok((challenge(deps, instance, &secret).await?, provisioned))
}

/// Sends the instance its Partner Support profile: what to record if it
/// took it (a 2xx), else nothing (the challenge that follows, or the next
/// check, finds out).
pub async fn provision(deps: &Deps, instance: &Instance, secret: &[u8]) -> Result<Option<Provisioned>, AppError> {
    let body =
        serde_json::to_vec(&instance.profile_message()).map_err(|e| AppError::Internal(format!("profile: {e}")))?;
    let answer = signed_post(deps, instance, secret, PROFILE_PATH, &new_nonce(), body).await?;
    Ok(match answer {
        Ok(a) if (200..300).contains(&a.status) => Some(Provisioned {
            revision: instance.profile.revision,
            generation: instance.connection.generation,
            at: deps.clock.now(),
        }),
        Ok(a) => {
            tracing::info!(instance = %instance.id, status = a.status, "the instance refused its Partner Support profile");
            None
        }
        Err(e) => {
            tracing::info!(instance = %instance.id, error = %e, "the Partner Support profile did not reach the instance");
            None
        }
    })
}

async fn challenge(deps: &Deps, instance: &Instance, secret: &[u8]) -> Result<CheckOutcome, AppError> {
    let nonce = new_nonce();
    let body = serde_json::to_vec(&Challenge { nonce: nonce.clone() })
        .map_err(|e| AppError::Internal(format!("challenge: {e}")))?;
    let answer = signed_post(deps, instance, secret, VERIFY_PATH, &nonce, body).await?;
    Ok(judge(secret, instance, &nonce, answer))
}

/// The connection's secret, opened (KMS in AWS, the key file locally).
pub(crate) async fn open_secret(deps: &Deps, instance: &Instance) -> Result<Vec<u8>, AppError> {
    let c = &instance.connection;
    Ok(deps
        .sealer
        .open(&c.secret, &Connection::context(instance.id, c.generation))
        .await?)
}

/// POSTs `body` to `path` under the instance's base URL, signed with the
/// connection's secret (see `docs/instance-integration.md`) and naming the
/// instance in `Portico-Instance`.
pub(crate) async fn signed_post(
    deps: &Deps,
    instance: &Instance,
    secret: &[u8],
    path: &str,
    nonce: &str,
    body: Vec<u8>,
) -> Result<Result<crate::outbound::Answer, CallError>, AppError> {
    let url = instance.url.join(path);
    let signed_path = url::Url::parse(&url)
        .map(|u| u.path().to_string())
        .map_err(|e| AppError::Internal(format!("instance URL: {e}")))?;
    let signature = crate::signing::sign(
        secret,
        deps.clock.now().timestamp(),
        nonce,
        &crate::signing::Request {
            method: "POST",
            path: &signed_path,
            body: &body,
        },
    )
    .map_err(|e| AppError::Internal(format!("signing: {e}")))?;
    Ok(deps
        .outbound
        .post_json(
            &url,
            &[
                (crate::signing::HEADER, signature),
                (crate::instances::INSTANCE_HEADER, instance.id.to_string()),
            ],
            body,
        )
        .await)
}

/// What an answer to the challenge `nonce` says about the connection.
pub fn judge(
    secret: &[u8],
    instance: &Instance,
    nonce: &str,
    answer: Result<crate::outbound::Answer, CallError>,
) -> CheckOutcome {
    let answer = match answer {
        Ok(a) => a,
        Err(CallError::NoAnswer(why)) => return CheckOutcome::NoAnswer(why),
        Err(CallError::Refused(r)) => return CheckOutcome::Wrong(BrokenReason::NotAllowed { why: r.to_string() }),
        Err(CallError::Redirected(status)) => return CheckOutcome::Wrong(BrokenReason::Redirected { status }),
        Err(CallError::TooLarge(_)) => return CheckOutcome::Wrong(BrokenReason::Unreadable),
    };
    match answer.status {
        500..=599 => return CheckOutcome::NoAnswer(format!("the instance answered HTTP {}", answer.status)),
        400..=499 => return CheckOutcome::Wrong(BrokenReason::Refused { status: answer.status }),
        200..=299 => {}
        _ => return CheckOutcome::Wrong(BrokenReason::Unreadable),
    }
    let Ok(a) = serde_json::from_slice::<ChallengeAnswer>(&answer.body) else {
        return CheckOutcome::Wrong(BrokenReason::Unreadable);
    };
    if a.nonce != nonce {
        return CheckOutcome::Wrong(BrokenReason::BadProof);
    }
    if a.instance_id != instance.id.to_string() {
        return CheckOutcome::Wrong(BrokenReason::OtherInstance {
            answered: a.instance_id.chars().take(100).collect(),
        });
    }
    if a.url.trim_end_matches('/') != instance.url.as_str() {
        return CheckOutcome::Wrong(BrokenReason::OtherUrl {
            answered: a.url.chars().take(300).collect(),
        });
    }
    let present = a.partner_support_profile == Profile::Present;
    if !crate::signing::proof_holds(secret, &a.proof, &a.nonce, &a.instance_id, &a.url, present) {
        return CheckOutcome::Wrong(BrokenReason::BadProof);
    }
    if !present {
        return CheckOutcome::Wrong(BrokenReason::ProfileMissing);
    }
    CheckOutcome::Proven
}

/// What recording a check did.
pub enum Recorded {
    /// Recorded: the instance as it now is, and the transition.
    Done(Box<Instance>, Transition),
    /// Someone else changed the instance first (another check, a recreation): nothing recorded.
    Lost,
}

/// Checks `instance` (read at `version`) and records the result: the new
/// state and next check, an event when the state changed, and, at most
/// once per change, an email to the partner's managers and the platform's
/// admins.
pub async fn check_and_record(
    deps: &Deps,
    actor: &Actor,
    instance: Instance,
    version: u64,
) -> Result<Recorded, AppError> {
    let (outcome, provisioned) = check(deps, &instance).await?;
    let now = deps.clock.now();
    let t = connections::after_check(&instance.connection.state, outcome, now);
    let mut after = instance.clone();
    if provisioned.is_some() {
        after.profile.provisioned = provisioned;
    }
    after.connection.state = t.state.clone();
    after.connection.next_check = t.next_check;
    after.connection.last_checked = Some(now);
    after.version = version + 1;
    let put = Write::Put {
        item: after.item()?,
        cond: Cond::VersionIs(version),
    };
    let result = if t.changed {
        let mut change = Change::new(
            deps,
            actor,
            after.customer_id,
            ActionType::VerifyConnection,
            instance_target(after.id),
            describe_change(&after, &t.state),
        )
        .write(put)
        .after(serde_json::json!({ "state": t.state }));
        change.event.before = Some(serde_json::json!({ "state": instance.connection.state }));
        change.commit(deps).await
    } else {
        deps.table.transact(vec![put]).await
    };
    match result {
        Ok(()) => {}
        Err(StoreError::ConditionFailed { index: 0 }) => return Ok(Recorded::Lost),
        Err(e) => return Err(e.into()),
    }
    if t.tell {
        tell(deps, &after).await;
    }
    if t.changed && matches!(t.state, ConnectionState::Verified { .. }) {
        // Newly trusted: send it the settings it may have missed meanwhile
        // (a failure here is the delivery's, not the check's: it pulls, or
        // the next change reaches it).
        match crate::ops::deliveries::catch_up(deps, &after, after.version).await {
            Ok(true) => {
                if let Some(item) = deps.table.get(&keys::instance(after.id)).await? {
                    after = item.decode()?;
                }
            }
            Ok(false) => {}
            Err(e) => tracing::warn!(instance = %after.id, error = %e, "catching up the settings failed"),
        }
    }
    Ok(Recorded::Done(Box::new(after), t))
}

fn describe_change(i: &Instance, state: &ConnectionState) -> String {
    let who = format!("The connection to \"{}\" ({})", i.name.as_str(), i.url.as_str());
    match state {
        ConnectionState::Pending => format!("{who} waits for the instance to prove itself"),
        ConnectionState::Verified { .. } => format!("{who} is verified"),
        ConnectionState::Unreachable { reason, .. } => format!("{who} is unreachable: {reason}"),
        ConnectionState::Broken { reason, .. } => format!("{who} is broken: {}", reason.describe()),
    }
}

/// Active users of `org` with `role`, every page.
pub(crate) async fn active_users(deps: &Deps, org: OrgId, role: Role) -> Result<Vec<User>, AppError> {
    let mut query = Query::partition(Index::Gsi1, keys::org_users(org)).limit(crate::store::MAX_PAGE);
    let mut out = Vec::new();
    loop {
        let page = deps.table.query(&query).await?;
        for item in &page.items {
            let u: User = item.decode()?;
            if u.role == role && u.status == UserStatus::Active {
                out.push(u);
            }
        }
        match page.next {
            Some(c) => query = query.after(Some(c)),
            None => return Ok(out),
        }
    }
}

/// Who is told a connection broke: the partner's Partner Managers and the platform's admins.
pub async fn told_about(deps: &Deps, instance: &Instance) -> Result<Vec<User>, AppError> {
    let mut people = Vec::new();
    if let Some(p) = instance.partner_id {
        people.extend(active_users(deps, p, Role::PartnerManager).await?);
    }
    let platforms = deps
        .table
        .query(
            &Query::partition(Index::Gsi1, keys::ALL_ORGS)
                .sk(SkCond::BeginsWith(keys::org_kind_prefix(OrgKind::Platform))),
        )
        .await?;
    for item in &platforms.items {
        let org: Organization = item.decode()?;
        people.extend(active_users(deps, org.id, Role::PlatformAdmin).await?);
    }
    Ok(people)
}

/// Emails the people told about a connection's trouble (best effort: a
/// failure is logged; the state and its event are recorded already).
async fn tell(deps: &Deps, instance: &Instance) {
    let people = match told_about(deps, instance).await {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(instance = %instance.id, error = %e, "connection notice: recipients not read");
            return;
        }
    };
    let what = describe_change(instance, &instance.connection.state);
    let subject = format!(
        "the connection to {} ({}) is {}",
        instance.customer_name.as_str(),
        instance.name.as_str(),
        instance.connection.state.name()
    );
    let next = match &instance.connection.state {
        ConnectionState::Broken { .. } => {
            "Until it is fixed, partners cannot reach this instance through Portico. If the instance moved, a Partner Manager can ask the platform to recreate the connection from the customer list."
        }
        _ => "Portico keeps trying, less and less often (at most daily), and says so when it answers again.",
    };
    for person in people {
        let mail = templates::connection_notice(&person.email, &subject, &what, next, &deps.settings);
        if let Err(e) = deps.mailer.send(&mail).await {
            tracing::error!(instance = %instance.id, error = %e, "connection notice not sent");
        }
    }
}

/// What one sweep of due connections did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckReport {
    /// Connections read from the index of due checks.
    pub examined: u64,
    pub verified: u64,
    pub unreachable: u64,
    pub broken: u64,
    /// State changes recorded (each with its event).
    pub changed: u64,
    /// Changed by someone else between the read and the write.
    pub skipped: u64,
    /// Checks that failed on Portico's side, with why.
    pub failed: Vec<String>,
}

/// The checks due at `now`: reads only the index entries due (`<= now`),
/// [`SWEEP_PAGE`] at a time, and checks [`SWEEP_CHECKS_AT_ONCE`] at once.
#[tracing::instrument(skip_all)]
pub async fn sweep(deps: &Deps) -> Result<CheckReport, AppError> {
    let now = deps.clock.now();
    let actor = crate::ops::scheduler()?;
    let mut report = CheckReport::default();
    let mut query = Query::partition(Index::Gsi2, keys::CONNECTION_CHECKS)
        .sk(SkCond::Lte(keys::connection_checks_upto(now.timestamp_millis())))
        .limit(SWEEP_PAGE);
    loop {
        let page = deps.table.query(&query).await?;
        let mut due = Vec::with_capacity(page.items.len());
        for item in &page.items {
            due.push((item.decode::<Instance>()?, item.version));
        }
        report.examined += due.len() as u64;
        let results: Vec<(InstanceId, Result<Recorded, AppError>)> = futures::stream::iter(due)
            .map(|(i, v)| {
                let actor = &actor;
                async move { (i.id, check_and_record(deps, actor, i, v).await) }
            })
            .buffer_unordered(SWEEP_CHECKS_AT_ONCE)
            .collect()
            .await;
        for (id, r) in results {
            match r {
                Ok(Recorded::Done(i, t)) => {
                    report.changed += u64::from(t.changed);
                    match i.connection.state {
                        ConnectionState::Verified { .. } => report.verified += 1,
                        ConnectionState::Unreachable { .. } => report.unreachable += 1,
                        ConnectionState::Broken { .. } => report.broken += 1,
                        ConnectionState::Pending => {}
                    }
                }
                Ok(Recorded::Lost) => report.skipped += 1,
                Err(e) => {
                    tracing::error!(instance = %id, error = %e, "connection check failed");
                    report
                        .failed
                        .push(format!("{id}: {}", e.to_string().chars().take(200).collect::<String>()));
                }
            }
        }
        match page.next {
            Some(c) => query = query.after(Some(c)),
            None => break,
        }
    }
    Ok(report)
}

/// Re-checks, in parallel and for at most [`PAGE_CHECK_WAIT`], the
/// connections among `instances` last checked more than
/// [`STALE_AFTER_MINUTES`] ago (seed 000: "refresh your browser to ensure
/// the connection is active"). Answers the instances with what the checks
/// that finished in time found; the others are left as they were.
pub async fn refresh_stale(deps: &Deps, actor: &Actor, instances: Vec<Instance>) -> Vec<Instance> {
    let now = deps.clock.now();
    let stale = |i: &Instance| {
        !matches!(i.connection.state, ConnectionState::Broken { .. })
            && i.connection
                .last_checked
                .is_none_or(|t| now - t > Duration::minutes(STALE_AFTER_MINUTES))
    };
    let (todo, mut out): (Vec<Instance>, Vec<Instance>) = instances.into_iter().partition(stale);
    let done = std::sync::Mutex::new(Vec::new());
    let work = futures::stream::iter(todo.iter().cloned())
        .map(|i| async {
            let v = i.version;
            if let Ok(Recorded::Done(after, _)) = check_and_record(deps, actor, i, v).await
                && let Ok(mut d) = done.lock()
            {
                d.push(*after);
            }
        })
        .buffer_unordered(PAGE_CHECKS_AT_ONCE)
        .collect::<Vec<()>>();
    let _ = tokio::time::timeout(PAGE_CHECK_WAIT, work).await;
    let done = done.into_inner().unwrap_or_default();
    for i in todo {
        out.push(done.iter().find(|d| d.id == i.id).cloned().unwrap_or(i));
    }
    out
}

/// The connections of a page of customers, for the customer list: the
/// instances of those the caller may see instances of, re-checked where
/// stale ([`refresh_stale`]: bounded, in parallel, at most
/// [`PAGE_CHECK_WAIT`]). 1 read round trip (the caller, and the instances
/// of the page's range alongside) besides the checks.
pub async fn connections_of(
    deps: &Deps,
    caller: &Caller,
    customers: &[Organization],
) -> Result<Vec<Instance>, AppError> {
    // The instances' query runs with the caller's read (it needs only the page).
    let (a, [], guessed) =
        crate::ops::authenticate_and_query(deps, caller, [], customers_range_query(customers)).await?;
    let actor = a.actor;
    let mut visible = Vec::with_capacity(customers.len());
    for c in customers {
        if deps
            .authz
            .is_allowed(&actor.principal, Action::ViewInstances, &OrgFacts::from(c))?
        {
            visible.push(c.clone());
        }
    }
    let instances = if visible.len() == customers.len() {
        instances_in_range(deps, customers, Some(guessed)).await?
    } else {
        instances_of_customers(deps, &visible).await?
    };
    Ok(refresh_stale(deps, &actor, instances).await)
}

/// Body of `POST /customers/{id}/instances/{instance}/recreate-requests`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AskRecreate {
    /// The URL the instance lives at now, if it changed.
    #[serde(default)]
    pub new_url: Option<String>,
    /// Anything the platform should know (at most 500 characters).
    #[serde(default)]
    pub note: Option<String>,
}

fn clean_note(note: Option<String>) -> Result<Option<String>, AppError> {
    let Some(n) = note.map(|n| n.trim().to_string()).filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    if n.chars().count() > 500 {
        return Err(AppError::invalid("the note must be at most 500 characters"));
    }
    if n.chars().any(|c| c.is_control() && c != '\n') {
        return Err(AppError::invalid("the note must not contain control characters"));
    }
    Ok(Some(n))
}

/// A Partner Manager asks the platform to recreate a connection (one
/// request per instance at a time).
pub async fn ask_recreate(
    deps: &Deps,
    caller: &Caller,
    customer: OrgId,
    id: InstanceId,
    input: AskRecreate,
) -> Result<RecreateRequest, AppError> {
    let (a, [org, instance]) = authenticate_full(deps, caller, [keys::org(customer), keys::instance(id)]).await?;
    let customer = customer_of(org)?;
    deps.authz
        .require(&a.actor.principal, Action::RequestRecreate, &OrgFacts::from(&customer))?;
    let (instance, _) = instance_of(instance, customer.id)?;
    let new_url = input
        .new_url
        .filter(|u| !u.trim().is_empty())
        .map(|u| BaseUrl::parse(&u, deps.settings.outbound))
        .transpose()?;
    let request = RecreateRequest {
        instance_id: instance.id,
        instance_name: instance.name.clone(),
        customer_id: customer.id,
        customer_name: customer.name.as_str().to_string(),
        partner_id: customer.partner_of_record,
        current_url: instance.url.clone(),
        new_url,
        note: clean_note(input.note)?,
        requested_by: a.user.id,
        requested_by_email: a.user.email.clone(),
        requested_at: deps.clock.now(),
    };
    let mut description = format!(
        "Asked the platform to recreate the connection to \"{}\"",
        instance.name.as_str()
    );
    if let Some(u) = &request.new_url {
        description.push_str(&format!(" at its new URL {}", u.as_str()));
    }
    Change::new(
        deps,
        &a.actor,
        customer.id,
        ActionType::UpdateServer,
        instance_target(id),
        description,
    )
    .write(Write::Put {
        item: request.item()?,
        cond: Cond::MustNotExist,
    })
    .after(serde_json::json!({ "newUrl": request.new_url, "note": request.note }))
    .commit(deps)
    .await
    .map_err(|e| {
        on_condition(e, |i| {
            (i == 0).then(|| {
                AppError::Conflict("A request to recreate this connection is already waiting for the platform.".into())
            })
        })
    })?;
    Ok(request)
}

/// The recreate requests waiting for the platform, oldest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecreateRequestList {
    pub requests: Vec<RecreateRequest>,
}

pub async fn list_recreate_requests(deps: &Deps, caller: &Caller) -> Result<RecreateRequestList, AppError> {
    let query = Query::partition(Index::Gsi2, keys::PENDING_RECREATE_REQUESTS).limit(200);
    let (a, [], guess) = crate::ops::authenticate_and_query(deps, caller, [], Some(query.clone())).await?;
    deps.authz.require(
        &a.actor.principal,
        Action::ListRecreateRequests,
        &a.actor.principal.own_org(),
    )?;
    let page = guess.page(deps, &query).await?;
    Ok(RecreateRequestList {
        requests: page.items.iter().map(|i| i.decode()).collect::<Result<_, _>>()?,
    })
}

/// Body of `POST /customers/{id}/instances/{instance}/recreate`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Recreate {
    /// The instance's URL from now on (default: the request's new URL, else the current one).
    #[serde(default)]
    pub url: Option<String>,
}

/// The platform recreates a connection: a new secret (shown once), the new
/// URL, back to `pending`; the waiting request, if any, is settled with it.
pub async fn recreate(
    deps: &Deps,
    caller: &Caller,
    customer: OrgId,
    id: InstanceId,
    input: Recreate,
) -> Result<Registered, AppError> {
    let (a, [org, instance, request, latest]) = authenticate_full(
        deps,
        caller,
        [
            keys::org(customer),
            keys::instance(id),
            keys::recreate_request(id),
            keys::delivery(customer),
        ],
    )
    .await?;
    let customer = customer_of(org)?;
    deps.authz.require(
        &a.actor.principal,
        Action::RecreateConnection,
        &OrgFacts::from(&customer),
    )?;
    let (instance, version) = instance_of(instance, customer.id)?;
    let request: Option<RecreateRequest> = request.map(|i| i.decode()).transpose()?;
    let url = match input.url.filter(|u| !u.trim().is_empty()) {
        Some(u) => BaseUrl::parse(&u, deps.settings.outbound)?,
        None => request
            .as_ref()
            .and_then(|r| r.new_url.clone())
            .unwrap_or_else(|| instance.url.clone()),
    };
    let generation = instance.connection.generation + 1;
    let (secret, connection) = new_connection(deps, id, generation).await?;
    let after = Instance {
        url,
        connection,
        // The instance may have lost what it had: it gets the settings again.
        // The same profile: the new generation makes it due again.
        acknowledged: None,
        version: version + 1,
        ..instance.clone()
    };
    let mut change = Change::new(
        deps,
        &a.actor,
        customer.id,
        ActionType::UpdateServer,
        instance_target(id),
        format!(
            "Recreated the connection to \"{}\" at {} with a new secret; it waits for the instance to prove itself",
            after.name.as_str(),
            after.url.as_str()
        ),
    )
    .write(Write::Put {
        item: after.item()?,
        cond: Cond::VersionIs(version),
    })
    .after(serde_json::json!({ "url": after.url, "generation": generation }));
    change.event.before = Some(serde_json::json!({
        "url": instance.url,
        "generation": instance.connection.generation,
        "state": instance.connection.state,
    }));
    if request.is_some() {
        change = change.write(Write::Delete {
            key: keys::recreate_request(id),
            cond: Cond::MustExist,
        });
    }
    change.commit(deps).await?;
    let latest = latest_of(latest)?;
    Ok(Registered {
        instance: after.view(latest.as_ref()),
        secret,
    })
}

/// Body of `PUT /customers/{id}/instances/{instance}/support-profile`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProfileRoles {
    /// The roles the Partner Support profile holds in the instance (1 to
    /// 20, each named once).
    #[schema(example = json!(["Admin", "IT Admin", "Developer"]))]
    pub roles: Vec<ProfileRole>,
}

/// The platform changes the roles of an instance's Partner Support profile
/// (no customer role may: the policies forbid it). The change and its event
/// commit together; the instance is then sent the profile at once if its
/// connection is trusted, else at its next check.
pub async fn change_support_profile(
    deps: &Deps,
    caller: &Caller,
    customer: OrgId,
    id: InstanceId,
    input: ProfileRoles,
) -> Result<InstanceView, AppError> {
    let one = one_instance(deps, caller, customer, id, Action::ChangeSupportProfile).await?;
    let (instance, version) = (&one.instance, one.version);
    let mut roles = input.roles;
    roles.sort();
    roles.dedup();
    if roles.is_empty() || roles.len() > MAX_PROFILE_ROLES {
        return Err(AppError::invalid(format!(
            "the profile holds 1 to {MAX_PROFILE_ROLES} distinct roles"
        )));
    }
    let mut after = instance.clone();
    if roles == instance.profile.roles {
        return Ok(instance.view(one.latest.as_ref()));
    }
    after.profile.roles = roles;
    after.profile.revision += 1;
    after.version = version + 1;
    let names =
        |p: &crate::instances::SupportProfile| p.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ");
    let mut change = Change::new(
        deps,
        &one.a.actor,
        instance.customer_id,
        ActionType::UpdateUserPermissions,
        instance_target(id),
        format!(
            "Changed the roles of the Partner Support profile of \"{}\" to {}",
            instance.name.as_str(),
            names(&after.profile)
        ),
    )
    .write(Write::Put {
        item: after.item()?,
        cond: Cond::VersionIs(version),
    })
    .after(serde_json::json!({ "roles": after.profile.roles, "revision": after.profile.revision }));
    change.event.before =
        Some(serde_json::json!({ "roles": instance.profile.roles, "revision": instance.profile.revision }));
    change.commit(deps).await.map_err(|e| {
        on_condition(e, |i| {
            (i == 0).then(|| AppError::Conflict("The instance changed meanwhile; reload and retry.".into()))
        })
    })?;
    if matches!(after.connection.state, ConnectionState::Verified { .. }) {
        let secret = open_secret(deps, &after).await?;
        if let Some(p) = provision(deps, &after, &secret).await? {
            let mut provisioned = after.clone();
            provisioned.profile.provisioned = Some(p);
            provisioned.version = after.version + 1;
            match deps
                .table
                .transact(vec![Write::Put {
                    item: provisioned.item()?,
                    cond: Cond::VersionIs(after.version),
                }])
                .await
            {
                Ok(()) => after = provisioned,
                // A check took the instance meanwhile: it provisions it if still due.
                Err(StoreError::ConditionFailed { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(after.view(one.latest.as_ref()))
}

/// When `at` is, for people ("3 minutes ago").
pub fn ago(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let d = now - at;
    match d.num_seconds() {
        s if s < 60 => "just now".into(),
        s if s < 3600 => format!("{} min ago", s / 60),
        s if s < 86_400 => format!("{} h ago", s / 3600),
        s => format!("{} days ago", s / 86_400),
    }
}
