//! Platform administration of organisations: create partners and customers
//! (linked to their partner of record), read one, list what you may see.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::app::Deps;
use crate::audit::{ActionType, Target};
use crate::authz::{Action, OrgFacts, Principal};
use crate::domain::{OrgId, OrgKind, OrgName, Organization};
use crate::error::AppError;
use crate::http::principal::Caller;
use crate::ops::{Change, authenticate, authenticate_and_query, on_condition};
use crate::store::{Cond, Cursor, Index, Item, Query, SkCond, StoreError, Write, keys};

/// Body of `POST /organizations`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateOrganization {
    pub name: OrgName,
    /// `partner` or `customer` (the platform organisation exists from the start).
    pub kind: OrgKind,
    /// Required for a customer: the partner organisation it belongs to.
    #[serde(default)]
    pub partner_of_record: Option<OrgId>,
    /// A partner template (seed 002's Model Organization): its flags,
    /// allocation and users are copied by self-registration; nobody signs in to it.
    #[serde(default)]
    pub template: bool,
}

/// Query of `GET /organizations`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListOrganizations {
    /// Only organisations of this kind.
    pub kind: Option<OrgKind>,
    /// Page size, 1 to 100 (default 50).
    pub limit: Option<u32>,
    /// `nextCursor` from the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationPage {
    pub items: Vec<Organization>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

fn name_guard(o: &Organization) -> Result<Item, StoreError> {
    Item::new(
        keys::org_name(&o.name.skeleton()),
        keys::ORG_NAME,
        1,
        &serde_json::json!({ "orgId": o.id }),
    )
}

/// Creates a partner or customer organisation. Round trips: 1 read (the
/// caller, and the partner of record for a customer), 1 write.
#[tracing::instrument(skip_all, fields(actor = %caller.user_id, kind = ?input.kind))]
pub async fn create(deps: &Deps, caller: &Caller, input: CreateOrganization) -> Result<Organization, AppError> {
    if input.kind == OrgKind::Platform {
        return Err(AppError::invalid(
            "kind must be partner or customer; the platform organisation exists already",
        ));
    }
    let partner_key = keys::org(input.partner_of_record.unwrap_or(caller.org_id));
    if input.template && input.kind != OrgKind::Partner {
        return Err(AppError::invalid("only a partner organisation can be a template"));
    }
    let (a, [partner, catalogue]) =
        crate::ops::authenticate_full(deps, caller, [partner_key, keys::delegated_roles()]).await?;
    let actor = &a.actor;
    let mut org = Organization::new(
        OrgId(deps.ids.new_id()),
        input.name,
        input.kind,
        input.partner_of_record,
        deps.clock.now(),
    )?;
    deps.authz
        .require(&actor.principal, Action::CreateOrganization, &OrgFacts::from(&org))?;
    let mut seats = None;
    if org.kind == OrgKind::Partner {
        crate::ops::partner_portal::may_create_partner(&a.portal)?;
        org.capabilities = a.portal.capabilities;
        org.template = input.template;
        seats = Some(crate::ops::partner_portal::new_seats(
            &org,
            a.portal.default_allocation,
            0,
        )?);
    }

    let catalogue = crate::delegations::Catalogue::from_item(catalogue.as_ref())?;
    let default = crate::ops::delegations::default_for(&catalogue, &org, deps.clock.now())?;
    let mut after = serde_json::to_value(&org).map_err(|e| AppError::Internal(e.to_string()))?;
    let mut description = format!(
        "Created {}{} organisation \"{}\"",
        if org.template { "template " } else { "" },
        org.kind.as_str(),
        org.name.as_str()
    );
    let mut default_writes = Vec::new();
    if let Some((writes, delegation, said)) = default {
        after["defaultDelegation"] = delegation;
        description.push_str(&said);
        default_writes = writes;
    }
    let mut change = Change::new(
        deps,
        actor,
        org.id,
        ActionType::CreateOrganization,
        Target::organization(org.id),
        description,
    )
    // A new organisation: its chain starts here, nothing to read.
    .head(None)
    .after(after)
    .write(Write::Put {
        item: org.item()?,
        cond: Cond::MustNotExist,
    })
    .write(Write::Put {
        item: name_guard(&org)?,
        cond: Cond::MustNotExist,
    });

    change = change.writes(seats);
    if org.partner_of_record.is_some() {
        let partner = partner
            .map(|i| i.decode::<Organization>())
            .transpose()?
            .filter(|p| p.kind == OrgKind::Partner)
            .ok_or_else(|| AppError::invalid("partnerOfRecord is not a partner organisation"))?;
        // The partner must still be as we read it when the customer is linked.
        change = change
            .write(Write::Check {
                key: keys::org(partner.id),
                cond: Cond::VersionIs(partner.version),
            })
            .writes(default_writes);
    }

    change.commit(deps).await.map_err(|e| {
        on_condition(e, |i| match i {
            1 => Some(AppError::Conflict(format!(
                "An organisation named \"{}\" exists already.",
                org.name.as_str()
            ))),
            _ => None,
        })
    })?;
    tracing::info!(org = %org.id, "organisation created");
    Ok(org)
}

/// An organisation as `principal` sees it. Property-level visibility is
/// decided here and only here, by the policies: the trusted source ranges
/// only for those who may manage them (the partner's managers and platform
/// admins), whichever route shows the organisation.
pub(crate) fn as_seen_by(deps: &Deps, principal: &Principal, mut org: Organization) -> Result<Organization, AppError> {
    if !org.trusted_ranges.is_empty()
        && !deps
            .authz
            .is_allowed(principal, Action::ManageTrustedRanges, &OrgFacts::from(&org))?
    {
        org.trusted_ranges.clear();
    }
    Ok(org)
}

/// One organisation, if the caller may see it (otherwise 404). 1 read.
pub async fn get(deps: &Deps, caller: &Caller, id: OrgId) -> Result<Organization, AppError> {
    let (actor, [org]) = authenticate(deps, caller, [keys::org(id)]).await?;
    let org: Organization = org.ok_or(AppError::NotFound)?.decode()?;
    deps.authz
        .require(&actor.principal, Action::ViewOrganization, &OrgFacts::from(&org))?;
    as_seen_by(deps, &actor.principal, org)
}

/// The organisations the caller may see, sorted by kind then name: every
/// organisation for platform admins; the linked customers for partners; its
/// own organisation for a customer. 1 read (the caller, with their own
/// organisation) + 1 query per page.
pub async fn list(deps: &Deps, caller: &Caller, q: ListOrganizations) -> Result<OrganizationPage, AppError> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=100).contains(&limit) {
        return Err(AppError::invalid("limit must be between 1 and 100"));
    }
    let cursor = q.cursor.as_deref().map(Cursor::parse).transpose()?;
    let pick = |kind: OrgKind, org: OrgId| match kind {
        OrgKind::Platform => {
            let sk = q
                .kind
                .map(|k| SkCond::BeginsWith(keys::org_kind_prefix(k)))
                .unwrap_or(SkCond::Any);
            Some(
                Query::partition(Index::Gsi1, keys::ALL_ORGS)
                    .sk(sk)
                    .limit(limit)
                    .after(cursor.clone()),
            )
        }
        OrgKind::Partner => matches!(q.kind, None | Some(OrgKind::Customer)).then(|| {
            Query::partition(Index::Gsi2, keys::partner_customers(org))
                .limit(limit)
                .after(cursor.clone())
        }),
        OrgKind::Customer => None,
    };
    let guess = caller.org_kind.and_then(|k| pick(k, caller.org_id));
    let (a, [], guessed) = authenticate_and_query(deps, caller, [], guess).await?;
    let principal = &a.actor.principal;
    let Some(query) = pick(principal.org_kind, principal.org_id) else {
        // A customer sees only itself; so does a partner asking for partners.
        let own = Some(a.org).filter(|o| q.kind.is_none_or(|k| k == o.kind));
        if let Some(o) = &own {
            deps.authz
                .require(principal, Action::ViewOrganization, &OrgFacts::from(o))?;
        }
        return Ok(OrganizationPage {
            items: own
                .map(|o| as_seen_by(deps, principal, o))
                .transpose()?
                .into_iter()
                .collect(),
            next_cursor: None,
        });
    };
    let page = guessed.page(deps, &query).await?;
    let mut items = Vec::with_capacity(page.items.len());
    for item in &page.items {
        let org: Organization = item.decode()?;
        // Defence in depth: the listing shows nothing authorization would refuse.
        if deps
            .authz
            .is_allowed(principal, Action::ViewOrganization, &OrgFacts::from(&org))?
        {
            items.push(as_seen_by(deps, principal, org)?);
        }
    }
    Ok(OrganizationPage {
        items,
        next_cursor: page.next.map(|c| c.as_str().to_string()),
    })
}

/// A partner's trusted source ranges, as read and as written.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TrustedRanges {
    /// IPv4 and IPv6 CIDR blocks (at most 50); users coming from them need
    /// not re-confirm their email every 24 hours.
    pub ranges: Vec<String>,
    /// The organisation's version this was read at; a write must send it back.
    pub version: u64,
}

/// Most trusted ranges one partner may list.
pub const MAX_TRUSTED_RANGES: usize = 50;

async fn load_for_ranges(
    deps: &Deps,
    caller: &Caller,
    id: OrgId,
) -> Result<(crate::audit::Actor, Organization), AppError> {
    let (actor, [org]) = authenticate(deps, caller, [keys::org(id)]).await?;
    let org: Organization = org.ok_or(AppError::NotFound)?.decode()?;
    deps.authz
        .require(&actor.principal, Action::ManageTrustedRanges, &OrgFacts::from(&org))?;
    if org.kind != OrgKind::Partner {
        return Err(AppError::invalid(
            "only partner organisations have trusted source ranges",
        ));
    }
    Ok((actor, org))
}

/// Partner Managers (and platform admins): the partner's trusted ranges. 1 read.
pub async fn trusted_ranges(deps: &Deps, caller: &Caller, id: OrgId) -> Result<TrustedRanges, AppError> {
    let (_, org) = load_for_ranges(deps, caller, id).await?;
    Ok(TrustedRanges {
        ranges: org.trusted_ranges,
        version: org.version,
    })
}

/// Replaces the trusted ranges (validated, normalised, de-duplicated);
/// audited as "Update Trusted Connection". 1 read, 1 write.
pub async fn set_trusted_ranges(
    deps: &Deps,
    caller: &Caller,
    id: OrgId,
    input: TrustedRanges,
) -> Result<TrustedRanges, AppError> {
    if input.ranges.len() > MAX_TRUSTED_RANGES {
        return Err(AppError::invalid(format!(
            "at most {MAX_TRUSTED_RANGES} trusted ranges"
        )));
    }
    let mut ranges = Vec::with_capacity(input.ranges.len());
    for r in &input.ranges {
        let net = crate::domain::parse_trusted_range(r)?.to_string();
        if !ranges.contains(&net) {
            ranges.push(net);
        }
    }
    let (actor, org) = load_for_ranges(deps, caller, id).await?;
    if input.version != org.version {
        return Err(AppError::Conflict(format!(
            "The trusted ranges changed since you read them (version {} now); reload and retry.",
            org.version
        )));
    }
    let mut change = Change::new(
        deps,
        &actor,
        org.id,
        ActionType::UpdateTrustedConnection,
        Target::organization(org.id),
        format!("Set {} trusted source range(s)", ranges.len()),
    )
    .write(Write::patch(
        keys::org(org.id),
        &serde_json::json!({ "trustedRanges": ranges }),
        Cond::VersionIs(org.version),
    )?)
    .after(serde_json::json!({ "trustedRanges": ranges }));
    change.event.before = Some(serde_json::json!({ "trustedRanges": org.trusted_ranges }));
    change.commit(deps).await?;
    Ok(TrustedRanges {
        ranges,
        version: org.version + 1,
    })
}

/// A customer's MFA policy, as read and as written.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MfaPolicy {
    /// Whether the customer's users must use an authenticator app.
    pub required: bool,
    /// The organisation's version this was read at; a write must send it back.
    pub version: u64,
}

/// Users whose records one transaction of a policy change updates (two
/// writes each, beside the organisation, its event and chain head: under
/// DynamoDB's 100 writes).
pub const USERS_PER_POLICY_BATCH: u32 = 45;

/// Platform admins and the customer's Account Owners: whether the
/// customer's users must use MFA (platform and partner users always must).
/// The organisation, its event and the first 45 users commit together; the
/// rest follow in batches of 45, each with the organisation's record of
/// where the next starts (`mfaUsersPending`), so that an interrupted change
/// is finished by the next one. 1 read + 1 write, and 1 read and 1 write
/// per further 45 users.
pub async fn set_mfa_policy(deps: &Deps, caller: &Caller, id: OrgId, input: MfaPolicy) -> Result<MfaPolicy, AppError> {
    let users_query = Query::partition(Index::Gsi1, keys::org_users(id)).limit(USERS_PER_POLICY_BATCH);
    let (a, [org], guessed) = authenticate_and_query(deps, caller, [keys::org(id)], Some(users_query.clone())).await?;
    let org: Organization = org.ok_or(AppError::NotFound)?.decode()?;
    deps.authz
        .require(&a.actor.principal, Action::ManageMfaPolicy, &OrgFacts::from(&org))?;
    if org.kind != OrgKind::Customer {
        return Err(AppError::invalid(
            "MFA is always required for platform and partner users",
        ));
    }
    if input.version != org.version {
        return Err(AppError::Conflict(format!(
            "The organisation changed since you read it (version {} now); reload and retry.",
            org.version
        )));
    }
    // The same policy again, with users still to bring in line: go on from where the last change stopped.
    let resume = org
        .mfa_users_pending
        .as_deref()
        .filter(|_| input.required == org.mfa_required)
        .filter(|c| !c.is_empty())
        .map(Cursor::parse)
        .transpose()
        .ok()
        .flatten();
    let page = match &resume {
        Some(c) => deps.table.query(&users_query.clone().after(Some(c.clone()))).await?,
        None => guessed.page(deps, &users_query).await?,
    };
    let flag = serde_json::json!({ "mfaRequired": input.required });
    let pending = |next: &Option<Cursor>| next.as_ref().map(|c| c.as_str().to_string());
    let users = |change: Change, items: &[Item]| -> Result<Change, AppError> {
        items.iter().try_fold(change, |change, item| {
            let user: crate::domain::User = item.decode()?;
            Ok(change
                .write(Write::patch(keys::user(user.id), &flag, Cond::MustExist)?)
                .write(Write::patch(keys::login(&user.email), &flag, Cond::MustExist)?))
        })
    };
    let mut change = Change::new(
        deps,
        &a.actor,
        org.id,
        ActionType::UpdateOrganization,
        Target::organization(org.id),
        format!(
            "MFA {} for the users of \"{}\"",
            if input.required { "required" } else { "optional" },
            org.name.as_str()
        ),
    )
    .write(Write::patch(
        keys::org(org.id),
        &serde_json::json!({ "mfaRequired": input.required, "mfaUsersPending": pending(&page.next) }),
        Cond::VersionIs(org.version),
    )?)
    .after(flag.clone());
    change.event.before = Some(serde_json::json!({ "mfaRequired": org.mfa_required }));
    users(change, &page.items)?.commit(deps).await?;
    let mut version = org.version + 1;
    let mut next = page.next;
    while let Some(cursor) = next {
        let page = deps.table.query(&users_query.clone().after(Some(cursor))).await?;
        let mut writes = vec![Write::patch(
            keys::org(org.id),
            &serde_json::json!({ "mfaUsersPending": pending(&page.next) }),
            Cond::VersionIs(version),
        )?];
        for item in &page.items {
            let user: crate::domain::User = item.decode()?;
            writes.push(Write::patch(keys::user(user.id), &flag, Cond::MustExist)?);
            writes.push(Write::patch(keys::login(&user.email), &flag, Cond::MustExist)?);
        }
        match deps.table.transact(writes).await {
            Ok(()) => version += 1,
            // A newer change of the policy took over: it brings the users in line.
            Err(StoreError::ConditionFailed { index: 0 }) => break,
            Err(e) => return Err(e.into()),
        }
        next = page.next;
    }
    Ok(MfaPolicy {
        required: input.required,
        version,
    })
}

/// Body of `PUT /organizations/{id}/name`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RenameOrganization {
    pub name: OrgName,
    /// The organisation's version you read (409 if it moved on).
    pub version: u64,
}

/// Renames an organisation (its Account Owner or Partner Manager, or the
/// platform): the item re-listed under its new name, the name guard moved
/// (a name another organisation holds is refused), and an "Update
/// Organization" event, in one transaction. 1 read round trip, 1 write.
pub async fn rename(
    deps: &Deps,
    caller: &Caller,
    id: OrgId,
    input: RenameOrganization,
) -> Result<Organization, AppError> {
    let new_guard = keys::org_name(&input.name.skeleton());
    let (actor, [org, taken]) = authenticate(deps, caller, [keys::org(id), new_guard.clone()]).await?;
    let org: Organization = org.ok_or(AppError::NotFound)?.decode()?;
    deps.authz
        .require(&actor.principal, Action::ManageOrganization, &OrgFacts::from(&org))?;
    if input.version != org.version {
        return Err(AppError::Conflict(format!(
            "The organisation changed since you read it (version {} now); reload and retry.",
            org.version
        )));
    }
    if input.name == org.name {
        return Ok(org);
    }
    let same_guard = input.name.skeleton() == org.name.skeleton();
    if taken.is_some() && !same_guard {
        return Err(AppError::Conflict(format!(
            "An organisation named \"{}\" exists already.",
            input.name.as_str()
        )));
    }
    let mut renamed = org.clone();
    renamed.name = input.name;
    renamed.version = org.version + 1;
    // What carries a customer's name in its keys or its words: its
    // instances (listed by customer name), its delegations (the partner's
    // list sorts by it) and their groups ("<customer> <role>").
    let carried = if org.kind == OrgKind::Customer {
        renamed_with(deps, &org, &renamed).await?
    } else {
        Vec::new()
    };
    let mut change = Change::new(
        deps,
        &actor,
        org.id,
        ActionType::UpdateOrganization,
        Target::organization(org.id),
        format!("Renamed \"{}\" to \"{}\"", org.name.as_str(), renamed.name.as_str()),
    )
    .write(Write::Put {
        item: renamed.item()?,
        cond: Cond::VersionIs(org.version),
    })
    .after(serde_json::json!({ "name": renamed.name }));
    change.event.before = Some(serde_json::json!({ "name": org.name }));
    let carried_from = if same_guard { 1 } else { 3 };
    if !same_guard {
        change = change
            .write(Write::Delete {
                key: keys::org_name(&org.name.skeleton()),
                cond: Cond::None,
            })
            .write(Write::Put {
                item: name_guard(&renamed)?,
                cond: Cond::MustNotExist,
            });
    }
    change = change.writes(carried);
    change.commit(deps).await.map_err(|e| {
        on_condition(e, |i| match i {
            0 => Some(AppError::Conflict(
                "The organisation changed meanwhile; reload and retry.".into(),
            )),
            2 if !same_guard => Some(AppError::Conflict(format!(
                "An organisation named \"{}\" exists already.",
                renamed.name.as_str()
            ))),
            i if i >= carried_from => Some(AppError::Conflict(
                "The customer's instances or delegations changed meanwhile; retry.".into(),
            )),
            _ => None,
        })
    })?;
    Ok(renamed)
}

/// The most items a rename rewrites besides the organisation (DynamoDB's
/// transaction takes 100 writes, the event and chain head among them).
const MAX_RENAME_WRITES: usize = 90;

/// A customer's instances and delegations re-keyed under its new name, and
/// its groups renamed: one more read round trip (the instances and the
/// delegations together, with the catalogue).
async fn renamed_with(deps: &Deps, org: &Organization, renamed: &Organization) -> Result<Vec<Write>, AppError> {
    let delegations_query = Query::partition(Index::Primary, keys::org(org.id).pk)
        .sk(SkCond::BeginsWith(keys::DELEGATIONS_PREFIX.into()))
        .limit(MAX_RENAME_WRITES as u32);
    let catalogue_key = keys::delegated_roles();
    let (instances, delegations, catalogue) = futures::join!(
        crate::ops::instances::read_instances(deps, org),
        deps.table.query(&delegations_query),
        deps.table.get(&catalogue_key)
    );
    let catalogue = crate::delegations::Catalogue::from_item(catalogue?.as_ref())?;
    let mut writes = Vec::new();
    for (mut instance, version) in instances? {
        instance.customer_name = renamed.name.clone();
        instance.version = version + 1;
        writes.push(Write::Put {
            item: instance.item()?,
            cond: Cond::VersionIs(version),
        });
    }
    let delegations = delegations?;
    for item in &delegations.items {
        let mut d: crate::delegations::Delegation = item.decode()?;
        d.customer_name = renamed.name.as_str().to_string();
        for role in d.groups.keys().filter_map(|k| catalogue.get(k)) {
            writes.push(Write::patch(
                keys::delegated_group(d.partner_id, d.customer_id, &role.key),
                &serde_json::json!({ "name": crate::delegations::group_name(&d.customer_name, role) }),
                Cond::MustExist,
            )?);
        }
        writes.push(Write::Put {
            item: d.item(item.version + 1, &catalogue)?,
            cond: Cond::VersionIs(item.version),
        });
    }
    if writes.len() > MAX_RENAME_WRITES || delegations.next.is_some() {
        return Err(AppError::Conflict(format!(
            "\"{}\" has too many instances and delegations to rename at once; ask the platform.",
            org.name.as_str()
        )));
    }
    Ok(writes)
}

/// Deletes an organisation (the platform; seed 003's "Update Organization",
/// deletion with safeguards). Refused while anything still hangs on it: its
/// users (remove them first), a partner's customers or the roles customers
/// delegate to it, a customer's instances. A customer's own delegations and
/// their groups go with it (their members are left to the sweep). An
/// "Update Organization" event in the platform's log (and the partner of
/// record's). 2 read round trips (the organisation with what hangs on it;
/// a customer's instances, listed by its name), 1 write.
pub async fn delete(deps: &Deps, caller: &Caller, id: OrgId) -> Result<Organization, AppError> {
    let users = Query::partition(Index::Gsi1, keys::org_users(id)).limit(1);
    let customers = Query::partition(Index::Gsi2, keys::partner_customers(id)).limit(1);
    let held = Query::partition(Index::Gsi1, keys::partner_delegations(id)).limit(1);
    let own = Query::partition(Index::Primary, keys::org(id).pk)
        .sk(SkCond::BeginsWith(keys::DELEGATIONS_PREFIX.into()))
        .limit(MAX_RENAME_WRITES as u32);
    let (auth, users, customers, held, own) = futures::join!(
        authenticate(deps, caller, [keys::org(id)]),
        deps.table.query(&users),
        deps.table.query(&customers),
        deps.table.query(&held),
        deps.table.query(&own)
    );
    let (actor, [org]) = auth?;
    let org: Organization = org.ok_or(AppError::NotFound)?.decode()?;
    deps.authz
        .require(&actor.principal, Action::DeleteOrganization, &OrgFacts::from(&org))?;
    let refuse = |why: &str| {
        Err(AppError::Conflict(format!(
            "\"{}\" cannot be deleted: {why}",
            org.name.as_str()
        )))
    };
    if org.kind == OrgKind::Platform {
        return refuse("it is the platform");
    }
    if !users?.items.is_empty() {
        return refuse("it still has users; remove them first");
    }
    if !customers?.items.is_empty() {
        return refuse("it is still the partner of record of customers");
    }
    let now = deps.clock.now();
    let holds_roles = held?
        .items
        .iter()
        .map(|i| i.decode::<crate::delegations::Delegation>())
        .collect::<Result<Vec<_>, _>>()?
        .iter()
        .any(|d| d.state(now).grants());
    if holds_roles {
        return refuse("customers still delegate roles to it; they revoke them, or it gives them up");
    }
    if org.kind == OrgKind::Customer && !crate::ops::instances::read_instances(deps, &org).await?.is_empty() {
        return refuse("it still has instances");
    }
    let mut writes = vec![
        Write::Delete {
            key: keys::org(org.id),
            cond: Cond::VersionIs(org.version),
        },
        Write::Delete {
            key: keys::org_name(&org.name.skeleton()),
            cond: Cond::None,
        },
        // A partner's seats go with it (nothing, for anyone else).
        Write::Delete {
            key: keys::seats(org.id),
            cond: Cond::None,
        },
    ];
    let own = own?;
    for item in &own.items {
        let d: crate::delegations::Delegation = item.decode()?;
        for (role, generation) in &d.groups {
            writes.push(Write::Delete {
                key: keys::delegated_group(d.partner_id, d.customer_id, role),
                cond: Cond::None,
            });
            writes.push(Write::Put {
                item: crate::ops::delegations::ClosedGroup {
                    partner_id: d.partner_id,
                    customer_id: d.customer_id,
                    role: role.clone(),
                    generation: *generation,
                }
                .item(now)?,
                cond: Cond::None,
            });
        }
        writes.push(Write::Delete {
            key: item.key(),
            cond: Cond::VersionIs(item.version),
        });
    }
    if writes.len() > MAX_RENAME_WRITES || own.next.is_some() {
        return refuse("it has too many delegations to delete at once");
    }
    let mut change = Change::new(
        deps,
        &actor,
        actor.principal.org_id,
        ActionType::UpdateOrganization,
        Target::organization(org.id),
        format!("Deleted {} organisation \"{}\"", org.kind.as_str(), org.name.as_str()),
    )
    .writes(writes)
    .after(serde_json::json!({ "deleted": org.id }));
    change.event.before = Some(serde_json::to_value(&org).map_err(|e| AppError::Internal(e.to_string()))?);
    if let Some(p) = org.partner_of_record {
        change = change.mirror(p, None);
    }
    change.commit(deps).await.map_err(|e| {
        on_condition(e, |_| {
            Some(AppError::Conflict(
                "The organisation changed meanwhile; reload and retry.".into(),
            ))
        })
    })?;
    Ok(org)
}
