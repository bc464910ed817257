//! Platform settings per customer: read them all with what the caller may
//! change, toggle one with the version the caller saw.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::Deps;
use crate::audit::{ActionType, Target};
use crate::authz::{Action, OrgFacts, Principal};
use crate::domain::{OrgId, Organization};
use crate::error::AppError;
use crate::http::principal::Caller;
use crate::ops::{Change, authenticate_and_query, authenticate_full};
use crate::settings::{Catalogue, SettingDefinition, SettingGroup, SettingKey, SettingValue, UserGrants};
use crate::store::{Cond, Index, Query, Write, keys};

/// Why a setting is read-only for the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReadOnlyReason {
    /// Sold separately: read-only through the portal for everyone.
    PaidAddOn,
    /// Needs a Partner Manager, a platform admin, or a grant of this setting.
    Restricted,
    /// The caller may see but not change this customer's settings.
    NoAccess,
}

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
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SettingsPage {
    pub customer_id: OrgId,
    pub settings: Vec<SettingView>,
}

fn view(
    deps: &Deps,
    p: &Principal,
    grants: &[SettingKey],
    customer: &OrgFacts,
    def: &SettingDefinition,
    value: Option<&SettingValue>,
) -> Result<SettingView, AppError> {
    let editable = deps.authz.can_change_setting(p, grants, customer, def)?;
    let read_only_reason = (!editable).then_some(match (def.group, def.restricted) {
        (SettingGroup::PaidAddOn, _) => ReadOnlyReason::PaidAddOn,
        (_, true)
            if deps.authz.is_allowed(p, Action::ViewSettings, customer)?
                && p.org_kind != crate::domain::OrgKind::Customer =>
        {
            ReadOnlyReason::Restricted
        }
        _ => ReadOnlyReason::NoAccess,
    });
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
    let (a, [customer, catalogue, grants], guessed) = authenticate_and_query(
        deps,
        caller,
        [keys::org(id), keys::catalogue(), keys::user_grants(caller.user_id)],
        Some(values_query.clone()),
    )
    .await?;
    let customer: Organization = customer.ok_or(AppError::NotFound)?.decode()?;
    let facts = OrgFacts::from(&customer);
    deps.authz.require(&a.actor.principal, Action::ViewSettings, &facts)?;
    let catalogue: Catalogue = decode(catalogue)?;
    let grants: UserGrants = decode(grants)?;
    let values: Vec<SettingValue> = guessed
        .page(deps, &values_query)
        .await?
        .items
        .iter()
        .map(|i| i.decode())
        .collect::<Result<_, _>>()?;
    let settings = catalogue
        .settings
        .iter()
        .map(|def| {
            view(
                deps,
                &a.actor.principal,
                &grants.keys,
                &facts,
                def,
                values.iter().find(|v| v.key == def.key),
            )
        })
        .collect::<Result<_, _>>()?;
    Ok(SettingsPage {
        customer_id: customer.id,
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

/// Sets one value. A stale version gets 409 with the current value.
/// 1 read round trip, 1 write (the value and its event).
pub async fn put_setting(
    deps: &Deps,
    caller: &Caller,
    id: OrgId,
    key: SettingKey,
    input: SetSetting,
) -> Result<SettingView, AppError> {
    let (a, [customer, catalogue, grants, current]) = authenticate_full(
        deps,
        caller,
        [
            keys::org(id),
            keys::catalogue(),
            keys::user_grants(caller.user_id),
            keys::setting_value(id, &key),
        ],
    )
    .await?;
    let customer: Organization = customer.ok_or(AppError::NotFound)?.decode()?;
    let facts = OrgFacts::from(&customer);
    let p = &a.actor.principal;
    deps.authz.require(p, Action::ViewSettings, &facts)?;
    let catalogue: Catalogue = decode(catalogue)?;
    let def = catalogue.get(&key).ok_or(AppError::NotFound)?.clone();
    let grants: UserGrants = decode(grants)?;
    let current: Option<SettingValue> = current.map(|i| i.decode()).transpose()?;
    let shown = view(deps, p, &grants.keys, &facts, &def, current.as_ref())?;
    if !shown.editable {
        return Err(AppError::Forbidden);
    }
    if input.version != shown.version {
        return Err(AppError::Conflict(format!(
            "The setting changed since you saw it: it is now {} (version {}).",
            if shown.enabled { "enabled" } else { "disabled" },
            shown.version
        )));
    }
    let value = SettingValue {
        org_id: customer.id,
        key: key.clone(),
        enabled: input.enabled,
        changed_by: p.user_id,
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
    .after(serde_json::json!({ "enabled": input.enabled }));
    change.event.before = Some(serde_json::json!({ "enabled": shown.enabled }));
    change.commit(deps).await.map_err(|e| match e {
        crate::store::StoreError::ConditionFailed { index: 0 } => {
            AppError::Conflict("The setting changed while you were changing it; reload it and try again.".into())
        }
        other => other.into(),
    })?;
    Ok(SettingView {
        enabled: value.enabled,
        version: value.version,
        ..shown
    })
}
