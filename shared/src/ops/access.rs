//! Partners' access to a customer's instances: the customer's Account Owner
//! grants or withdraws it per instance ("partner may sign in", with an
//! optional end, or "ask me each time"), answers access requests, and
//! chooses how it is told of partner sign-ins; the partner of record's
//! users ask for access. Every change is an event in both organisations'
//! logs.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::access::{
    AccessRequest, Answer, ConsentMode, InstanceAccess, MAX_REQUEST_MINUTES, MAX_STANDING_DAYS, MIN_REQUEST_MINUTES,
    NoticeMode, Notices, RequestState, Standing,
};
use crate::app::Deps;
use crate::audit::{ActionType, Actor, Target};
use crate::authz::{Action, OrgFacts};
use crate::domain::{AccessRequestId, EmailAddress, InstanceId, OrgId, Organization, Role};
use crate::error::AppError;
use crate::http::principal::Caller;
use crate::instances::Instance;
use crate::mail::templates;
use crate::ops::instances::{active_users, customer_of, instance_of, instance_target};
use crate::ops::{Authenticated, Change, authenticate_full, on_condition};
use crate::store::{Cond, Index, Item, Query, SkCond, StoreError, Write, keys};

fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// A change of partner access to one instance, in the customer's log.
fn access_change(deps: &Deps, actor: &Actor, customer: OrgId, id: InstanceId, description: String) -> Change {
    Change::new(
        deps,
        actor,
        customer,
        ActionType::PartnerAccess,
        instance_target(id),
        description,
    )
}

/// Who asks, the customer and its access item, in the caller's read round
/// trip, with `action` required on the customer.
async fn open_customer(
    deps: &Deps,
    caller: &Caller,
    customer: OrgId,
    action: Action,
) -> Result<(Authenticated, Organization, Option<Item>), AppError> {
    let (a, [org, access]) =
        authenticate_full(deps, caller, [keys::org(customer), InstanceAccess::key(customer)]).await?;
    let customer = customer_of(org)?;
    deps.authz
        .require(&a.actor.principal, action, &OrgFacts::from(&customer))?;
    Ok((a, customer, access))
}

/// As [`open_customer`], with one of the customer's instances read in the
/// same round trip.
async fn open_instance(
    deps: &Deps,
    caller: &Caller,
    customer: OrgId,
    id: InstanceId,
    action: Action,
) -> Result<(Authenticated, Organization, Instance, Option<Item>), AppError> {
    let (a, [org, instance, access]) = authenticate_full(
        deps,
        caller,
        [keys::org(customer), keys::instance(id), InstanceAccess::key(customer)],
    )
    .await?;
    let customer = customer_of(org)?;
    deps.authz
        .require(&a.actor.principal, action, &OrgFacts::from(&customer))?;
    let (instance, _) = instance_of(instance, customer.id)?;
    Ok((a, customer, instance, access))
}

/// Why a partner user may not reach `instance` now, as the refusal they
/// see: what is missing and how to get it. `None`: they may.
pub fn refusal(standing: &Standing, customer: &str, instance: &Instance, what: &str) -> Option<AppError> {
    let name = instance.name.as_str();
    let (code, detail) = match standing {
        Standing::Granted { .. } => return None,
        Standing::NotGranted => (
            "instance-access-not-granted",
            format!(
                "{customer} has not granted partners access to \"{name}\", so you cannot {what}. Ask their Account Owner to allow it: in Portico, Customers → Partner access (they can allow it always, until a date, or ask to approve each time)."
            ),
        ),
        Standing::Ended(t) => (
            "instance-access-ended",
            format!(
                "{customer} allowed partners into \"{name}\" until {}; that has ended, so you cannot {what}. Ask their Account Owner to allow it again.",
                when(*t)
            ),
        ),
        Standing::AskFirst => (
            "instance-access-approval-required",
            format!(
                "{customer} approves each partner access to \"{name}\": ask for access first (Ask for access, with a reason and how long), then {what} once they approve."
            ),
        ),
        Standing::ApprovalEnded(t) => (
            "instance-access-approval-ended",
            format!(
                "Your approved access to \"{name}\" ended at {}, so you cannot {what}. Ask for access again.",
                when(*t)
            ),
        ),
        Standing::Denied(t) => (
            "instance-access-denied",
            format!(
                "{customer} denied your request for access to \"{name}\" at {}, so you cannot {what}. Ask again with more detail, or talk to them.",
                when(*t)
            ),
        ),
    };
    Some(AppError::AccessRefused { code, detail })
}

/// Refuses a partner user's change to a customer's settings unless every
/// instance of the customer lets them in (the settings reach each one).
pub fn settings_refusal(
    access: &InstanceAccess,
    customer: &Organization,
    instances: &[Instance],
    actor: &Actor,
    now: DateTime<Utc>,
) -> Option<AppError> {
    if actor.principal.org_kind != crate::domain::OrgKind::Partner {
        return None;
    }
    instances.iter().find_map(|i| {
        refusal(
            &access.standing(i.id, actor.principal.user_id, now),
            customer.name.as_str(),
            i,
            "change settings that reach it",
        )
    })
}

/// The access items of `customers` (a page of the customer list), in one
/// batched read: what their LogMeIn buttons say. Only for customers the
/// caller was shown; nothing here is authorised by itself.
pub async fn consents_of(
    deps: &Deps,
    customers: &[Organization],
) -> Result<std::collections::HashMap<OrgId, InstanceAccess>, AppError> {
    let keys: Vec<_> = customers.iter().map(|c| InstanceAccess::key(c.id)).collect();
    let items = deps.table.get_many(&keys).await?;
    customers
        .iter()
        .zip(items)
        .map(|(c, i)| Ok((c.id, InstanceAccess::decode(i.as_ref())?.0)))
        .collect()
}

/// One instance's consent, as shown.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstanceConsent {
    pub instance_id: InstanceId,
    pub instance_name: String,
    #[serde(flatten)]
    pub mode: ConsentMode,
    /// For the caller (a partner user): whether they may sign in now, and
    /// if not, why (the refusal's problem type tail).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub you: Option<YourAccess>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_by: Option<EmailAddress>,
}

/// A partner user's access to one instance, now.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct YourAccess {
    pub granted: bool,
    /// Granted: until when (absent: no end).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<Utc>>,
    /// Refused: why (`connection-not-verified`, `instance-access-not-granted`,
    /// `-ended`, `-approval-required`, `-approval-ended`, `-denied`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// A customer's partner access: each instance's consent, the notice
/// choice, and the access requests waiting for an answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessView {
    pub customer_id: OrgId,
    pub instances: Vec<InstanceConsent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notices: Option<Notices>,
    /// Waiting for the Account Owner, oldest first (a partner user sees their own).
    pub pending_requests: Vec<AccessRequest>,
}

/// A customer's pending requests (not lapsed), oldest first.
fn pending_query(customer: OrgId, now: DateTime<Utc>) -> Query {
    let from = now - Duration::days(crate::access::REQUEST_LAPSES_AFTER_DAYS);
    Query::partition(Index::Gsi2, keys::pending_access_requests(customer))
        .sk(SkCond::Between(
            keys::access_requests_from(from.timestamp_millis()),
            keys::access_requests_from(keys::MAX_MILLIS),
        ))
        .limit(crate::store::MAX_PAGE)
}

/// A customer's partner access (its users, its partner's users, the
/// platform): 2 read round trips (the caller with the customer and its
/// access item; then its instances and pending requests together).
pub async fn view(deps: &Deps, caller: &Caller, customer: OrgId) -> Result<AccessView, AppError> {
    let (a, customer, access) = open_customer(deps, caller, customer, Action::ViewInstanceAccess).await?;
    let (access, _) = InstanceAccess::decode(access.as_ref())?;
    let now = deps.clock.now();
    let (instances, pending) = futures::future::join(
        crate::ops::instances::read_instances(deps, &customer),
        read_all(deps, pending_query(customer.id, now)),
    )
    .await;
    let (instances, pending) = (instances?, pending?);
    let partner = a.actor.principal.org_kind == crate::domain::OrgKind::Partner;
    let user = a.actor.principal.user_id;
    Ok(AccessView {
        customer_id: customer.id,
        instances: instances
            .iter()
            .map(|(i, _)| {
                let c = access.consent(i.id);
                InstanceConsent {
                    instance_id: i.id,
                    instance_name: i.name.as_str().to_string(),
                    mode: c.mode,
                    you: partner.then(|| your_access(&access, &customer, i, user, now)),
                    changed_at: c.changed_at,
                    changed_by: c.changed_by,
                }
            })
            .collect(),
        notices: access.notices.clone(),
        pending_requests: pending
            .into_iter()
            .filter(|r| !partner || r.user_id == user)
            .filter(|r| r.open(now))
            .collect(),
    })
}

/// Where `user` stands with `instance`, as shown to them: what LogMeIn
/// would answer now (the connection, then consent).
pub fn your_access(
    access: &InstanceAccess,
    customer: &Organization,
    instance: &Instance,
    user: crate::domain::UserId,
    now: DateTime<Utc>,
) -> YourAccess {
    match crate::ops::logmein::why_not(instance, customer.name.as_str(), access, user, now) {
        Some(refused) => YourAccess {
            granted: false,
            until: None,
            refusal: Some(refused.code().to_string()),
            detail: Some(refused.detail()),
        },
        None => YourAccess {
            granted: true,
            until: match access.standing(instance.id, user, now) {
                Standing::Granted { until, .. } => until,
                _ => None,
            },
            refusal: None,
            detail: None,
        },
    }
}

async fn read_all(deps: &Deps, mut query: Query) -> Result<Vec<AccessRequest>, AppError> {
    let mut out = Vec::new();
    loop {
        let page = deps.table.query(&query).await?;
        for item in &page.items {
            out.push(item.decode()?);
        }
        match page.next {
            Some(c) => query = query.after(Some(c)),
            None => return Ok(out),
        }
    }
}

/// Body of `PUT /customers/{id}/instances/{instance}/access`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetConsent {
    /// `off`, `standing` ("partner may sign in") or `ask` ("ask me each time").
    #[schema(example = "standing")]
    pub mode: String,
    /// `standing` only: when the consent ends (in the future, within 2 years; absent: no end).
    #[serde(default)]
    pub until: Option<DateTime<Utc>>,
}

/// The customer's Account Owner sets one instance's consent. The change
/// and its event (in the customer's and the partner's logs) commit
/// together; the first grant also sets the notices (an email at each
/// sign-in, to the Account Owner) unless chosen already.
pub async fn set_consent(
    deps: &Deps,
    caller: &Caller,
    customer: OrgId,
    id: InstanceId,
    input: SetConsent,
) -> Result<AccessView, AppError> {
    let now = deps.clock.now();
    let mode = match (input.mode.as_str(), input.until) {
        ("off", None) => ConsentMode::Off,
        ("ask", None) => ConsentMode::Ask,
        ("standing", until) => {
            if let Some(t) = until
                && (t <= now || t > now + Duration::days(MAX_STANDING_DAYS))
            {
                return Err(AppError::invalid(
                    "until must be in the future and within 2 years (or absent: no end)",
                ));
            }
            ConsentMode::Standing { until }
        }
        ("off" | "ask", Some(_)) => return Err(AppError::invalid("until applies to standing consent only")),
        _ => return Err(AppError::invalid("mode is one of off, standing, ask")),
    };
    let (a, customer, instance, access) =
        open_instance(deps, caller, customer, id, Action::ManageInstanceAccess).await?;
    consent_as(deps, &a.actor, &customer, &instance, access.as_ref(), mode).await?;
    view(deps, caller, customer.id).await
}

/// Sets one instance's consent as `actor` (the customer's Account Owner,
/// or the demo seed): the access item and its event in both logs, in one
/// transaction. The first grant by the customer sets the notices (an email
/// at each sign-in, to them) unless chosen already.
pub(crate) async fn consent_as(
    deps: &Deps,
    actor: &Actor,
    customer: &Organization,
    instance: &Instance,
    access: Option<&Item>,
    mode: ConsentMode,
) -> Result<(), AppError> {
    let now = deps.clock.now();
    let id = instance.id;
    let (mut access, version) = InstanceAccess::decode(access)?;
    let before = access.consent(id).mode;
    access.prune(now);
    let entry = access.instances.entry(id).or_default();
    entry.mode = mode.clone();
    entry.changed_at = Some(now);
    entry.changed_by = Some(actor.principal.email.clone());
    if mode != ConsentMode::Off && access.notices.is_none() && actor.principal.org_id == customer.id {
        access.notices = Some(Notices {
            mode: NoticeMode::EachLogin,
            to: vec![actor.principal.email.clone()],
        });
        access.digest_sent_to = Some(now);
    }
    let said = match &mode {
        ConsentMode::Off => "withdrew partners' access to".to_string(),
        ConsentMode::Standing { until: None } => "allowed partners to sign in to".to_string(),
        ConsentMode::Standing { until: Some(t) } => format!("allowed partners, until {}, to sign in to", when(*t)),
        ConsentMode::Ask => "asks to approve each partner sign-in to".to_string(),
    };
    let mut change = access_change(
        deps,
        actor,
        customer.id,
        id,
        format!("{} {said} \"{}\"", customer.name.as_str(), instance.name.as_str()),
    )
    .write(put_access(&access, customer.id, version)?)
    .after(serde_json::to_value(&mode).unwrap_or_default());
    change.event.before = Some(serde_json::to_value(&before).unwrap_or_default());
    if let Some(p) = customer.partner_of_record {
        change = change.mirrored_for(actor, p);
    }
    change.commit(deps).await.map_err(changed_meanwhile)
}

/// The access item written over `version` (0: it did not exist).
fn put_access(access: &InstanceAccess, customer: OrgId, version: u64) -> Result<Write, AppError> {
    Ok(Write::Put {
        item: access.item(customer, version + 1)?,
        cond: if version == 0 {
            Cond::MustNotExist
        } else {
            Cond::VersionIs(version)
        },
    })
}

fn changed_meanwhile(e: StoreError) -> AppError {
    on_condition(e, |i| {
        (i == 0).then(|| AppError::Conflict("Partner access changed meanwhile; reload and retry.".into()))
    })
}

/// Body of `PUT /customers/{id}/access-notices`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetNotices {
    /// `each_login` (an email at each partner sign-in) or `daily_digest`.
    pub mode: NoticeMode,
    /// 1 to 5 addresses (absent: yours).
    #[serde(default)]
    pub to: Option<Vec<EmailAddress>>,
}

/// The customer's Account Owner chooses how the customer is told of partner
/// sign-ins: an email at each, or a daily digest.
pub async fn set_notices(
    deps: &Deps,
    caller: &Caller,
    customer: OrgId,
    input: SetNotices,
) -> Result<AccessView, AppError> {
    let (a, customer, access) = open_customer(deps, caller, customer, Action::ManageInstanceAccess).await?;
    let mut to = input.to.unwrap_or_else(|| vec![a.actor.principal.email.clone()]);
    to.dedup();
    if to.is_empty() || to.len() > 5 {
        return Err(AppError::invalid("notices go to 1 to 5 addresses"));
    }
    let (mut access, version) = InstanceAccess::decode(access.as_ref())?;
    let now = deps.clock.now();
    let notices = Notices { mode: input.mode, to };
    if access.notices.as_ref() == Some(&notices) {
        return view(deps, caller, customer.id).await;
    }
    if input.mode == NoticeMode::DailyDigest && access.notices.as_ref().is_none_or(|n| n.mode != input.mode) {
        // The first digest covers from now, and is due in a day.
        access.digest_sent_to = Some(now);
    }
    access.notices = Some(notices.clone());
    let how = match notices.mode {
        NoticeMode::EachLogin => "an email at each partner sign-in",
        NoticeMode::DailyDigest => "a daily digest of partner sign-ins",
    };
    Change::new(
        deps,
        &a.actor,
        customer.id,
        ActionType::PartnerAccess,
        Target::organization(customer.id),
        format!(
            "{} is told by {how}, sent to {}",
            customer.name.as_str(),
            notices.to.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(", ")
        ),
    )
    .write(put_access(&access, customer.id, version)?)
    .after(serde_json::to_value(&notices).unwrap_or_default())
    .commit(deps)
    .await
    .map_err(changed_meanwhile)?;
    view(deps, caller, customer.id).await
}

/// Body of `POST /customers/{id}/instances/{instance}/access-requests`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AskAccess {
    /// Why (5 to 500 characters): shown to the customer, carried in the assertion.
    pub reason: String,
    /// For how long, in minutes (15 to 10080, 7 days).
    pub duration_minutes: u32,
}

/// A partner user asks the customer for access to an instance in "ask me
/// each time" mode; the customer's Account Owners are emailed.
pub async fn request_access(
    deps: &Deps,
    caller: &Caller,
    customer: OrgId,
    id: InstanceId,
    input: AskAccess,
) -> Result<AccessRequest, AppError> {
    let reason = input.reason.trim().to_string();
    if !(5..=500).contains(&reason.chars().count()) || reason.chars().any(|c| c.is_control() && c != '\n') {
        return Err(AppError::invalid("the reason is 5 to 500 characters of text"));
    }
    if !(MIN_REQUEST_MINUTES..=MAX_REQUEST_MINUTES).contains(&input.duration_minutes) {
        return Err(AppError::invalid(format!(
            "durationMinutes is {MIN_REQUEST_MINUTES} to {MAX_REQUEST_MINUTES} (7 days)"
        )));
    }
    let (a, customer, instance, access) =
        open_instance(deps, caller, customer, id, Action::RequestInstanceAccess).await?;
    let (access, _) = InstanceAccess::decode(access.as_ref())?;
    let now = deps.clock.now();
    match access.consent(id).mode {
        ConsentMode::Ask => {}
        ConsentMode::Standing { until } if until.is_none_or(|t| t > now) => {
            return Err(AppError::Conflict(format!(
                "{} lets partners sign in to \"{}\" without asking: no request is needed.",
                customer.name.as_str(),
                instance.name.as_str()
            )));
        }
        _ => {
            return Err(refusal(
                &access.standing(id, a.actor.principal.user_id, now),
                customer.name.as_str(),
                &instance,
                "ask for access",
            )
            .unwrap_or(AppError::Forbidden));
        }
    }
    let partner = a.org.id;
    let request = AccessRequest {
        id: AccessRequestId(deps.ids.new_id()),
        customer_id: customer.id,
        customer_name: customer.name.as_str().to_string(),
        instance_id: id,
        instance_name: instance.name.clone(),
        partner_id: partner,
        user_id: a.actor.principal.user_id,
        user_email: a.actor.principal.email.clone(),
        reason,
        duration_minutes: input.duration_minutes,
        created_at: now,
        state: RequestState::Pending,
        version: 1,
    };
    let hours = f64::from(input.duration_minutes) / 60.0;
    let mut change = access_change(
        deps,
        &a.actor,
        customer.id,
        id,
        format!(
            "{} of {} asked for access to \"{}\" for {hours:.2} h: {}",
            request.user_email.as_str(),
            a.org.name.as_str(),
            instance.name.as_str(),
            request.reason
        ),
    )
    .write(Write::Put {
        item: request.item()?,
        cond: Cond::MustNotExist,
    })
    .write(Write::guard(
        keys::open_access_request(id, request.user_id),
        request.lapses_at().timestamp(),
    )?)
    .after(serde_json::json!({ "request": request.id, "durationMinutes": request.duration_minutes }));
    change = change.mirrored_for(&a.actor, partner);
    change.commit(deps).await.map_err(|e| {
        on_condition(e, |i| {
            (i == 1).then(|| {
                AppError::Conflict(
                    "You have a request for this instance waiting already: wait for the answer (or for it to lapse after 14 days)."
                        .into(),
                )
            })
        })
    })?;
    tell_owners(deps, &customer, &request).await;
    Ok(request)
}

/// Emails the customer's Account Owners about a new request (failures are logged).
async fn tell_owners(deps: &Deps, customer: &Organization, r: &AccessRequest) {
    let owners = match active_users(deps, customer.id, Role::CustomerAccountOwner).await {
        Ok(o) => o,
        Err(e) => {
            tracing::error!(request = %r.id, error = %e, "access request notice: recipients not read");
            return;
        }
    };
    let lines = [
        format!(
            "{} asks for access to your instance \"{}\" for {} minutes, as its Partner Support profile.",
            r.user_email.as_str(),
            r.instance_name.as_str(),
            r.duration_minutes
        ),
        format!("Their reason: {}", r.reason),
        format!(
            "Approve or deny it in Portico. Unanswered, it lapses on {}.",
            when(r.lapses_at())
        ),
    ];
    for o in owners {
        let mail = templates::access_notice(
            &o.email,
            "a partner asks for access to an instance",
            &lines,
            ("Answer the request", "/access"),
            &deps.settings,
        );
        if let Err(e) = deps.mailer.send(&mail).await {
            tracing::error!(request = %r.id, error = %e, "access request notice not sent");
        }
    }
}

/// Body of `POST /customers/{id}/access-requests/{request}/decision`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Decide {
    pub approve: bool,
    /// Approving: for how many minutes (at most what was asked; absent: what was asked).
    #[serde(default)]
    pub duration_minutes: Option<u32>,
    /// Denying: a word to the partner (at most 500 characters).
    #[serde(default)]
    pub note: Option<String>,
}

/// The customer's Account Owner approves (for at most the duration asked)
/// or denies a pending request; the requester is emailed.
pub async fn decide(
    deps: &Deps,
    caller: &Caller,
    customer: OrgId,
    request: AccessRequestId,
    input: Decide,
) -> Result<AccessRequest, AppError> {
    let (a, [org, item, access]) = authenticate_full(
        deps,
        caller,
        [
            keys::org(customer),
            keys::access_request(request),
            InstanceAccess::key(customer),
        ],
    )
    .await?;
    let customer = customer_of(org)?;
    deps.authz.require(
        &a.actor.principal,
        Action::ManageInstanceAccess,
        &OrgFacts::from(&customer),
    )?;
    let r: AccessRequest = item.ok_or(AppError::NotFound)?.decode()?;
    if r.customer_id != customer.id {
        return Err(AppError::NotFound);
    }
    let now = deps.clock.now();
    if !r.open(now) {
        return Err(AppError::Conflict(format!(
            "This request is {} already.",
            r.state_name(now)
        )));
    }
    let note = input.note.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
    if note.as_ref().is_some_and(|n| n.chars().count() > 500) {
        return Err(AppError::invalid("the note is at most 500 characters"));
    }
    let (mut access, version) = InstanceAccess::decode(access.as_ref())?;
    if access.consent(r.instance_id).mode != ConsentMode::Ask {
        return Err(AppError::Conflict(
            "This instance no longer asks to approve each sign-in: the request has nothing to decide.".into(),
        ));
    }
    access.prune(now);
    let by = a.actor.principal.email.clone();
    let mut after = r.clone();
    after.version = r.version + 1;
    let until = if input.approve {
        let minutes = input.duration_minutes.unwrap_or(r.duration_minutes);
        if minutes == 0 || minutes > r.duration_minutes {
            return Err(AppError::invalid(format!(
                "an approval lasts 1 to {} minutes (at most what was asked)",
                r.duration_minutes
            )));
        }
        Some(now + Duration::minutes(i64::from(minutes)))
    } else {
        None
    };
    access.answer(
        r.instance_id,
        Answer {
            request_id: r.id,
            user_id: r.user_id,
            approved: until.is_some(),
            until,
            reason: r.reason.clone(),
            at: now,
        },
    );
    let description = if let Some(until) = until {
        after.state = RequestState::Approved {
            until,
            by: by.clone(),
            at: now,
        };
        format!(
            "Approved {}'s access to \"{}\" until {}",
            r.user_email.as_str(),
            r.instance_name.as_str(),
            when(until)
        )
    } else {
        after.state = RequestState::Denied {
            by: by.clone(),
            at: now,
            note: note.clone(),
        };
        format!(
            "Denied {}'s access to \"{}\"{}",
            r.user_email.as_str(),
            r.instance_name.as_str(),
            note.as_ref().map(|n| format!(": {n}")).unwrap_or_default()
        )
    };
    let change = access_change(deps, &a.actor, customer.id, r.instance_id, description.clone())
        .write(Write::Put {
            item: after.item()?,
            cond: Cond::VersionIs(r.version),
        })
        .write(put_access(&access, customer.id, version)?)
        .write(Write::Delete {
            key: keys::open_access_request(r.instance_id, r.user_id),
            cond: Cond::None,
        })
        .after(serde_json::to_value(&after.state).unwrap_or_default())
        .mirrored_for(&a.actor, r.partner_id);
    change.commit(deps).await.map_err(|e| {
        on_condition(e, |i| {
            (i <= 1).then(|| AppError::Conflict("The request was answered meanwhile; reload.".into()))
        })
    })?;
    let mail = templates::access_notice(
        &r.user_email,
        &format!(
            "your access request for {} was {}",
            r.instance_name.as_str(),
            if input.approve { "approved" } else { "denied" }
        ),
        &[format!("{description}.")],
        ("See your customers", "/customers"),
        &deps.settings,
    );
    if let Err(e) = deps.mailer.send(&mail).await {
        tracing::error!(request = %r.id, error = %e, "access decision notice not sent");
    }
    Ok(after)
}

/// A partner user's own access requests, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MyRequests {
    pub requests: Vec<AccessRequestView>,
}

/// An access request with its state now (`pending`, `lapsed`, `approved`, `denied`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessRequestView {
    #[serde(flatten)]
    pub request: AccessRequest,
    /// `pending`, `lapsed` (unanswered for 14 days), `approved` or `denied`.
    pub status: String,
}

/// The caller's own access requests (the latest 50).
pub async fn my_requests(deps: &Deps, caller: &Caller) -> Result<MyRequests, AppError> {
    let (a, []) = authenticate_full(deps, caller, []).await?;
    let page = deps
        .table
        .query(&Query::partition(Index::Gsi1, keys::user_access_requests(a.actor.principal.user_id)).limit(50))
        .await?;
    let now = deps.clock.now();
    Ok(MyRequests {
        requests: page
            .items
            .iter()
            .map(|i| {
                let r: AccessRequest = i.decode()?;
                Ok(AccessRequestView {
                    status: r.state_name(now).to_string(),
                    request: r,
                })
            })
            .collect::<Result<_, StoreError>>()?,
    })
}

/// The access item of `customer` as read with a request's items (for LogMeIn and settings).
pub fn decode_access(item: Option<&Item>) -> Result<InstanceAccess, AppError> {
    Ok(InstanceAccess::decode(item)?.0)
}
