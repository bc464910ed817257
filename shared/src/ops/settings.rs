//! Platform settings per customer: read them all with what the caller may
//! change, toggle one with the version the caller saw.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::Deps;
use crate::audit::{ActionType, Target};
use crate::authz::{Action, Held, OrgFacts, Principal};
use crate::delegations::{held_from, held_keys};
use crate::domain::{OrgId, Organization};
use crate::error::AppError;
use crate::http::principal::Caller;
use crate::ops::{Change, authenticate_and_query, authenticate_full};
use crate::settings::{
    Catalogue, ReadOnlyReason, SettingDefinition, SettingGroup, SettingKey, SettingValue, UserGrants,
};
use crate::store::{Cond, Index, Query, Write, keys};

/// One row of the settings page.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SettingView {
    pub key: SettingKey,
    pub name: String,
    pub description: String,
    pub group: SettingGroup,
    pub restricted: bool,
    /// The current value (Enabled = true); the default if never set.
    pub enabled: bool,
    /// Send this back when changing it (0: never set).
    pub version: u64,
    pub editable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_only_reason: Option<ReadOnlyReason>,
    /// Who last changed it (absent if never set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SettingsPage {
    pub customer_id: OrgId,
    pub customer_name: String,
    pub settings: Vec<SettingView>,
}

/// Who may change which of one customer's settings, decided once per class
/// of setting: the policies read a setting's group, whether it is
/// restricted and whether the caller holds a grant of it, nothing else.
/// (With [`crate::authz::Authz::checked`], as in the tests, every setting is
/// decided on its own as well and a difference is an error.)
struct AccessByClass<'a> {
    deps: &'a Deps,
    p: &'a Principal,
    grants: &'a [SettingKey],
    held: &'a Held,
    customer: &'a OrgFacts,
    decided: Vec<((SettingGroup, bool, bool), Option<ReadOnlyReason>)>,
}

impl<'a> AccessByClass<'a> {
    fn new(deps: &'a Deps, p: &'a Principal, grants: &'a [SettingKey], held: &'a Held, customer: &'a OrgFacts) -> Self {
        Self {
            deps,
            p,
            grants,
            held,
            customer,
            decided: Vec::with_capacity(8),
        }
    }

    fn of(&mut self, def: &SettingDefinition) -> Result<Option<ReadOnlyReason>, AppError> {
        let class = (def.group, def.restricted, self.grants.contains(&def.key));
        let decide = || {
            self.deps
                .authz
                .setting_access(self.p, self.grants, self.held, self.customer, def)
        };
        if let Some((_, reason)) = self.decided.iter().find(|(c, _)| *c == class) {
            if self.deps.authz.is_checked() && decide()? != *reason {
                return Err(AppError::Internal(format!(
                    "setting {} is decided apart from its class",
                    def.key
                )));
            }
            return Ok(*reason);
        }
        let reason = decide()?;
        self.decided.push((class, reason));
        Ok(reason)
    }
}

fn view(
    access: &mut AccessByClass<'_>,
    def: &SettingDefinition,
    value: Option<&SettingValue>,
) -> Result<SettingView, AppError> {
    let read_only_reason = access.of(def)?;
    let editable = read_only_reason.is_none();
    Ok(SettingView {
        key: def.key.clone(),
        name: def.name.clone(),
        description: def.description.clone(),
        group: def.group,
        restricted: def.restricted,
        enabled: value.map(|v| v.enabled).unwrap_or(def.default_enabled),
        version: value.map(|v| v.version).unwrap_or(0),
        editable,
        read_only_reason,
        changed_by: value.and_then(|v| v.changed_by_email.as_ref().map(|e| e.to_string())),
        changed_at: value.map(|v| v.changed_at),
    })
}

fn decode<T: serde::de::DeserializeOwned + Default>(item: Option<crate::store::Item>) -> Result<T, AppError> {
    Ok(item.map(|i| i.decode()).transpose()?.unwrap_or_default())
}

/// Every setting of a customer with its value and whether the caller may
/// change it. 1 read round trip: the caller, the customer, the catalogue and
/// the caller's grants in one batch, the customer's values queried alongside.
pub async fn get_settings(deps: &Deps, caller: &Caller, id: OrgId) -> Result<SettingsPage, AppError> {
    let values_query = Query::partition(Index::Primary, keys::setting_values(id)).limit(1000);
    let [h0, h1, h2, h3] = held_keys(caller.user_id, caller.org_id, id);
    let (a, [customer, catalogue, grants, h0, h1, h2, h3], guessed) = authenticate_and_query(
        deps,
        caller,
        [
            keys::org(id),
            keys::catalogue(),
            keys::user_grants(caller.user_id),
            h0,
            h1,
            h2,
            h3,
        ],
        Some(values_query.clone()),
    )
    .await?;
    let held = held_from([h0, h1, h2, h3], deps.clock.now())?;
    let customer: Organization = customer.ok_or(AppError::NotFound)?.decode()?;
    if customer.kind != crate::domain::OrgKind::Customer {
        // Only customers have settings: a partner or the platform is "no such customer".
        return Err(AppError::NotFound);
    }
    let facts = OrgFacts::from(&customer);
    deps.authz
        .require_holding(&a.actor.principal, Action::ViewSettings, &facts, &held)?;
    let catalogue: Catalogue = decode(catalogue)?;
    let grants: UserGrants = decode(grants)?;
    let values: Vec<SettingValue> = guessed
        .page(deps, &values_query)
        .await?
        .items
        .iter()
        .map(|i| i.decode())
        .collect::<Result<_, _>>()?;
    let mut access = AccessByClass::new(deps, &a.actor.principal, &grants.keys, &held, &facts);
    let settings = catalogue
        .settings
        .iter()
        .map(|def| view(&mut access, def, values.iter().find(|v| v.key == def.key)))
        .collect::<Result<_, _>>()?;
    Ok(SettingsPage {
        customer_id: customer.id,
        customer_name: customer.name.as_str().to_string(),
        settings,
    })
}

/// Body of `PUT /customers/{id}/settings/{key}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetSetting {
    pub enabled: bool,
    /// The version you saw (0 if the setting was never set).
    pub version: u64,
}

/// Sets one value. A stale version gets 409 with the current value. A
/// partner user needs the customer's consent on each of its instances
/// (`ops::access::settings_refusal`). 1 read round trip (2 for a partner
/// user: the instances' index key needs the customer read first), 1 write (the value, its event and the customer's
/// delivery record: `ops::deliveries` takes it to the instances, off this path).
pub async fn put_setting(
    deps: &Deps,
    caller: &Caller,
    id: OrgId,
    key: SettingKey,
    input: SetSetting,
) -> Result<SettingView, AppError> {
    let [h0, h1, h2, h3] = held_keys(caller.user_id, caller.org_id, id);
    let (a, [customer, catalogue, grants, current, access, h0, h1, h2, h3]) = authenticate_full(
        deps,
        caller,
        [
            keys::org(id),
            keys::catalogue(),
            keys::user_grants(caller.user_id),
            keys::setting_value(id, &key),
            crate::access::InstanceAccess::key(id),
            h0,
            h1,
            h2,
            h3,
        ],
    )
    .await?;
    let held = held_from([h0, h1, h2, h3], deps.clock.now())?;
    let customer: Organization = customer.ok_or(AppError::NotFound)?.decode()?;
    if customer.kind != crate::domain::OrgKind::Customer {
        // Only customers have settings: a partner or the platform is "no such customer".
        return Err(AppError::NotFound);
    }
    let facts = OrgFacts::from(&customer);
    let p = &a.actor.principal;
    deps.authz.require_holding(p, Action::ViewSettings, &facts, &held)?;
    let catalogue: Catalogue = decode(catalogue)?;
    let def = catalogue.get(&key).ok_or(AppError::NotFound)?.clone();
    let grants: UserGrants = decode(grants)?;
    let current: Option<SettingValue> = current.map(|i| i.decode()).transpose()?;
    let shown = view(
        &mut AccessByClass::new(deps, p, &grants.keys, &held, &facts),
        &def,
        current.as_ref(),
    )?;
    if !shown.editable {
        return Err(AppError::SettingReadOnly(match shown.read_only_reason {
            Some(ReadOnlyReason::PaidAddOn) => {
                "This is a paid add-on: it is read-only here, whatever your permissions."
            }
            Some(ReadOnlyReason::Restricted) => {
                "This setting is restricted: a Partner Manager can change it, or grant you permission to."
            }
            _ if p.org_kind == crate::domain::OrgKind::Partner => {
                "You may see this customer's settings but not change them: none of your delegated roles here gives settings.manage."
            }
            _ => "You may see this customer's settings but not change them.",
        }));
    }
    if p.org_kind == crate::domain::OrgKind::Partner {
        // The settings reach every instance: a partner needs the customer's
        // consent on each (a second read round trip, partners only).
        let (access, _) = crate::access::InstanceAccess::decode(access.as_ref())?;
        let instances: Vec<_> = crate::ops::instances::read_instances(deps, &customer)
            .await?
            .into_iter()
            .map(|(i, _)| i)
            .collect();
        if let Some(refused) =
            crate::ops::access::settings_refusal(&access, &customer, &instances, &a.actor, deps.clock.now())
        {
            return Err(refused);
        }
    }
    if input.version != shown.version {
        return Err(AppError::StaleSetting {
            enabled: shown.enabled,
            version: shown.version,
            changed_by: shown.changed_by.clone(),
            changed_at: shown.changed_at,
        });
    }
    if input.enabled == shown.enabled {
        // Already so: nothing changes, nothing to audit.
        return Ok(shown);
    }
    let value = SettingValue {
        org_id: customer.id,
        key: key.clone(),
        enabled: input.enabled,
        changed_by: p.user_id,
        changed_by_email: Some(p.email.clone()),
        changed_at: deps.clock.now(),
        version: shown.version + 1,
    };
    let cond = if shown.version == 0 {
        Cond::MustNotExist
    } else {
        Cond::VersionIs(shown.version)
    };
    let mut change = Change::new(
        deps,
        &a.actor,
        customer.id,
        ActionType::UpdateConfiguration,
        Target {
            kind: "setting".into(),
            id: key.to_string(),
        },
        format!(
            "{} \"{}\"",
            if input.enabled { "Enabled" } else { "Disabled" },
            def.name
        ),
    )
    .write(Write::Put {
        item: value.item()?,
        cond,
    })
    // The transactional outbox: the customer's delivery record, at this change's revision.
    .derive(crate::ops::deliveries::record_for)
    .after(serde_json::json!({ "enabled": input.enabled }));
    change.event.before = Some(serde_json::json!({ "enabled": shown.enabled }));
    match change.commit(deps).await {
        Ok(()) => {}
        // Lost a race with another change: say what it is now (its writer
        // committed already; one more read, only on this path).
        Err(crate::store::StoreError::ConditionFailed { index: 0 }) => {
            let now: Option<SettingValue> = deps
                .table
                .get(&keys::setting_value(customer.id, &key))
                .await?
                .map(|i| i.decode())
                .transpose()?;
            return Err(match now {
                Some(v) => AppError::StaleSetting {
                    enabled: v.enabled,
                    version: v.version,
                    changed_by: v.changed_by_email.map(|e| e.to_string()),
                    changed_at: Some(v.changed_at),
                },
                None => AppError::StaleSetting {
                    enabled: def.default_enabled,
                    version: 0,
                    changed_by: None,
                    changed_at: None,
                },
            });
        }
        Err(other) => return Err(other.into()),
    }
    deps.deliveries_due.notify_one();
    Ok(SettingView {
        enabled: value.enabled,
        version: value.version,
        changed_by: value.changed_by_email.map(|e| e.to_string()),
        changed_at: Some(value.changed_at),
        ..shown
    })
}

/// Body of `POST /partners/{id}/setting-grants`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewGrant {
    pub user_id: crate::domain::UserId,
    /// A restricted, general setting.
    pub key: SettingKey,
}

/// Query of `GET /partners/{id}/setting-grants`: by user or by setting.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct GrantFilter {
    pub user_id: Option<crate::domain::UserId>,
    pub key: Option<SettingKey>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GrantList {
    pub items: Vec<crate::settings::SettingGrant>,
}

async fn partner_for_grants(
    deps: &Deps,
    caller: &Caller,
    partner: OrgId,
    user: crate::domain::UserId,
) -> Result<
    (
        crate::ops::Authenticated,
        Organization,
        crate::domain::User,
        Catalogue,
        Option<crate::store::Item>,
    ),
    AppError,
> {
    let (a, [org, target_user, catalogue, grants]) = authenticate_full(
        deps,
        caller,
        [
            keys::org(partner),
            keys::user(user),
            keys::catalogue(),
            keys::user_grants(user),
        ],
    )
    .await?;
    let org: Organization = org.ok_or(AppError::NotFound)?.decode()?;
    deps.authz
        .require(&a.actor.principal, Action::ManageSettingGrants, &OrgFacts::from(&org))?;
    // Only users of this partner: another partner's users are not found here.
    let target_user: crate::domain::User = target_user.ok_or(AppError::NotFound)?.decode()?;
    if target_user.org_id != org.id {
        return Err(AppError::NotFound);
    }
    Ok((a, org, target_user, decode(catalogue)?, grants))
}

/// A Partner Manager grants a user of their partner one restricted setting,
/// at every customer that user can reach. 1 read, 1 write.
pub async fn grant(
    deps: &Deps,
    caller: &Caller,
    partner: OrgId,
    input: NewGrant,
) -> Result<crate::settings::SettingGrant, AppError> {
    let (a, org, user, catalogue, grants_item) = partner_for_grants(deps, caller, partner, input.user_id).await?;
    let def = catalogue
        .get(&input.key)
        .ok_or_else(|| AppError::invalid(format!("no setting {}", input.key)))?;
    if def.group != SettingGroup::General || !def.restricted {
        return Err(AppError::invalid(
            "only restricted general settings can be granted (paid add-ons are read-only for everyone)",
        ));
    }
    let mut grants: UserGrants = grants_item
        .as_ref()
        .map(|i| i.decode())
        .transpose()?
        .unwrap_or_default();
    if grants.keys.contains(&input.key) {
        return Err(AppError::Conflict(format!("{} already has {}.", user.email, input.key)));
    }
    let before = grants.keys.clone();
    grants.keys.push(input.key.clone());
    let (version, cond) = match &grants_item {
        Some(i) => (i.version + 1, Cond::VersionIs(i.version)),
        None => (1, Cond::MustNotExist),
    };
    let g = crate::settings::SettingGrant {
        partner_id: org.id,
        user_id: user.id,
        key: input.key.clone(),
        granted_by: a.actor.principal.user_id,
        granted_at: deps.clock.now(),
    };
    let summary = crate::store::Item::new(keys::user_grants(user.id), keys::USER_GRANTS, version, &grants)?;
    let mut change = Change::new(
        deps,
        &a.actor,
        org.id,
        ActionType::UpdateUserPermissions,
        Target {
            kind: "user".into(),
            id: user.id.to_string(),
        },
        format!("Granted {} the restricted setting \"{}\"", user.email, def.name),
    )
    .write(Write::Put {
        item: g.item()?,
        cond: Cond::MustNotExist,
    })
    .write(Write::Put { item: summary, cond })
    .after(serde_json::json!({ "grants": grants.keys }));
    change.event.before = Some(serde_json::json!({ "grants": before }));
    change.commit(deps).await?;
    Ok(g)
}

/// Revokes a grant; it stops working on the user's next request. 1 read, 1 write.
pub async fn revoke_grant(
    deps: &Deps,
    caller: &Caller,
    partner: OrgId,
    user: crate::domain::UserId,
    key: SettingKey,
) -> Result<(), AppError> {
    let (a, org, user, _, grants_item) = partner_for_grants(deps, caller, partner, user).await?;
    let grants_item = grants_item.ok_or(AppError::NotFound)?;
    let mut grants: UserGrants = grants_item.decode()?;
    let before = grants.keys.clone();
    grants.keys.retain(|k| k != &key);
    if grants.keys.len() == before.len() {
        return Err(AppError::NotFound);
    }
    let summary = crate::store::Item::new(
        keys::user_grants(user.id),
        keys::USER_GRANTS,
        grants_item.version + 1,
        &grants,
    )?;
    let mut change = Change::new(
        deps,
        &a.actor,
        org.id,
        ActionType::UpdateUserPermissions,
        Target {
            kind: "user".into(),
            id: user.id.to_string(),
        },
        format!("Revoked the restricted setting {key} from {}", user.email),
    )
    .write(Write::Delete {
        key: keys::setting_grant(user.id, &key),
        cond: Cond::None,
    })
    .write(Write::Put {
        item: summary,
        cond: Cond::VersionIs(grants_item.version),
    })
    .after(serde_json::json!({ "grants": grants.keys }));
    change.event.before = Some(serde_json::json!({ "grants": before }));
    change.commit(deps).await?;
    Ok(())
}

/// A partner's grants, by user or by setting. 1 read round trip.
pub async fn list_grants(deps: &Deps, caller: &Caller, partner: OrgId, f: GrantFilter) -> Result<GrantList, AppError> {
    let query = match (&f.user_id, &f.key) {
        (Some(u), None) => Query::partition(Index::Primary, keys::user_setting_grants(*u)),
        (None, Some(k)) => Query::partition(Index::Gsi1, keys::setting_grants_by_setting(partner, k)),
        _ => return Err(AppError::invalid("filter by userId or by key (one of them)")),
    }
    .limit(1000);
    let (a, [org], guessed) = authenticate_and_query(deps, caller, [keys::org(partner)], Some(query.clone())).await?;
    let org: Organization = org.ok_or(AppError::NotFound)?.decode()?;
    deps.authz
        .require(&a.actor.principal, Action::ManageSettingGrants, &OrgFacts::from(&org))?;
    let items: Vec<crate::settings::SettingGrant> = guessed
        .page(deps, &query)
        .await?
        .items
        .iter()
        .map(|i| i.decode())
        .collect::<Result<_, _>>()?;
    // Grants by user are stored under the user: keep only this partner's.
    Ok(GrantList {
        items: items.into_iter().filter(|g| g.partner_id == org.id).collect(),
    })
}

/// The platform's settings catalogue (any signed-in user may read it).
pub async fn catalogue(deps: &Deps, caller: &Caller) -> Result<Catalogue, AppError> {
    let (actor, [catalogue]) = crate::ops::authenticate(deps, caller, [keys::catalogue()]).await?;
    let p = &actor.principal;
    deps.authz.require(p, Action::ViewCatalogue, &p.own_org())?;
    decode(catalogue)
}

/// Body of `PUT /settings-catalogue/{key}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CatalogueEntry {
    pub name: String,
    pub description: String,
    pub group: SettingGroup,
    pub restricted: bool,
    pub default_enabled: bool,
    /// The catalogue's version you read.
    pub version: u64,
}

/// The most settings the catalogue (one item, read with every settings
/// request) holds: at 100 + 500 characters a name and description, well
/// under the store's item size.
pub const MAX_CATALOGUE_SETTINGS: usize = 300;

/// Platform admins add or change one entry of the catalogue. 1 read, 1 write.
pub async fn put_catalogue_entry(
    deps: &Deps,
    caller: &Caller,
    key: SettingKey,
    input: CatalogueEntry,
) -> Result<Catalogue, AppError> {
    for (field, v, max) in [("name", &input.name, 100), ("description", &input.description, 500)] {
        if v.trim().is_empty() || v.chars().count() > max || v.chars().any(char::is_control) {
            return Err(AppError::invalid(format!(
                "{field} must be 1 to {max} printable characters"
            )));
        }
    }
    let (a, [catalogue]) = authenticate_full(deps, caller, [keys::catalogue()]).await?;
    deps.authz
        .require(&a.actor.principal, Action::ManageCatalogue, &OrgFacts::from(&a.org))?;
    let item_version = catalogue.as_ref().map(|i| i.version);
    let mut catalogue: Catalogue = decode(catalogue)?;
    if input.version != item_version.unwrap_or(0) {
        return Err(AppError::Conflict(format!(
            "The catalogue changed (version {} now); reload and retry.",
            item_version.unwrap_or(0)
        )));
    }
    let entry = SettingDefinition {
        key: key.clone(),
        name: input.name.trim().to_string(),
        description: input.description.trim().to_string(),
        group: input.group,
        restricted: input.restricted,
        default_enabled: input.default_enabled,
    };
    let before = catalogue.get(&key).cloned();
    let full = catalogue.settings.len() >= MAX_CATALOGUE_SETTINGS;
    match catalogue.settings.iter_mut().find(|s| s.key == key) {
        Some(s) => *s = entry.clone(),
        None if full => {
            return Err(AppError::invalid(format!(
                "the catalogue holds at most {MAX_CATALOGUE_SETTINGS} settings; change an existing one"
            )));
        }
        None => catalogue.settings.push(entry.clone()),
    }
    catalogue.version = item_version.unwrap_or(0) + 1;
    let cond = match item_version {
        Some(v) => Cond::VersionIs(v),
        None => Cond::MustNotExist,
    };
    let mut change = Change::new(
        deps,
        &a.actor,
        a.org.id,
        ActionType::UpdateConfiguration,
        Target {
            kind: "settingDefinition".into(),
            id: key.to_string(),
        },
        format!(
            "{} the catalogue setting \"{}\"",
            if before.is_some() { "Changed" } else { "Added" },
            entry.name
        ),
    )
    .write(Write::Put {
        item: catalogue.item()?,
        cond,
    })
    .after(serde_json::to_value(&entry).map_err(|e| AppError::Internal(e.to_string()))?);
    change.event.before = before.map(|b| serde_json::to_value(b).unwrap_or_default());
    change.commit(deps).await?;
    Ok(catalogue)
}
