//! Platform settings per customer: the catalogue, values, and the grants of
//! restricted settings (seed 000, "Manage Platform Settings for Customer
//! Instances"). No I/O here.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use crate::domain::{OrgId, UserId};
use crate::store::{Item, Key, StoreError, keys};

/// A setting's key: 2 to 64 of `a-z 0-9 _ . -`, starting with a letter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = String, example = "sso.enforce")]
pub struct SettingKey(String);

impl SettingKey {
    pub fn parse(raw: &str) -> Result<Self, crate::domain::ParseError> {
        let ok = (2..=64).contains(&raw.len())
            && raw.starts_with(|c: char| c.is_ascii_lowercase())
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-'));
        if ok {
            Ok(Self(raw.to_string()))
        } else {
            Err(crate::domain::ParseError::new(format!("{raw:?} is not a setting key")))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for SettingKey {
    type Err = crate::domain::ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl std::fmt::Display for SettingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SettingKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        SettingKey::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SettingGroup {
    /// Partner users may toggle these (restricted ones need more).
    General,
    /// Sold separately: read-only through the partner portal, whatever one's permissions.
    PaidAddOn,
}

/// One entry of the platform-wide catalogue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SettingDefinition {
    pub key: SettingKey,
    pub name: String,
    pub description: String,
    pub group: SettingGroup,
    /// Only Partner Managers, platform admins and users granted this setting may change it.
    pub restricted: bool,
    /// The value of customers that never set it.
    pub default_enabled: bool,
}

/// The catalogue: one item, read with the caller in the same round trip.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Catalogue {
    pub settings: Vec<SettingDefinition>,
    #[serde(default)]
    pub version: u64,
}

impl Catalogue {
    pub fn get(&self, key: &SettingKey) -> Option<&SettingDefinition> {
        self.settings.iter().find(|s| &s.key == key)
    }
    pub fn item(&self) -> Result<Item, StoreError> {
        Item::new(keys::catalogue(), keys::CATALOGUE, self.version, self)
    }
}

/// A customer's value of one setting (absent: the default).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SettingValue {
    pub org_id: OrgId,
    pub key: SettingKey,
    pub enabled: bool,
    pub changed_by: UserId,
    /// Who that was, as they signed in (values set before this was kept have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_by_email: Option<crate::domain::EmailAddress>,
    pub changed_at: DateTime<Utc>,
    pub version: u64,
}

impl SettingValue {
    pub fn item(&self) -> Result<Item, StoreError> {
        Item::new(
            keys::setting_value(self.org_id, &self.key),
            keys::SETTING_VALUE,
            self.version,
            self,
        )
    }
}

/// Permission for one user to change one restricted setting, at every
/// customer they can reach.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SettingGrant {
    pub partner_id: OrgId,
    pub user_id: UserId,
    pub key: SettingKey,
    pub granted_by: UserId,
    pub granted_at: DateTime<Utc>,
}

impl SettingGrant {
    pub fn key_of(user: UserId, key: &SettingKey) -> Key {
        keys::setting_grant(user, key)
    }
    pub fn item(&self) -> Result<Item, StoreError> {
        Ok(
            Item::new(Self::key_of(self.user_id, &self.key), keys::SETTING_GRANT, 1, self)?.with_gsi1(
                keys::setting_grants_by_setting(self.partner_id, &self.key),
                self.user_id.to_string(),
            ),
        )
    }
}

/// The keys of the restricted settings a user may change, in one item.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserGrants {
    pub keys: Vec<SettingKey>,
}

/// The local portal's catalogue on first start: a dozen settings across
/// both groups, some restricted.
pub fn demo_catalogue() -> Catalogue {
    let def = |key: &str, name: &str, description: &str, group, restricted, default_enabled| SettingDefinition {
        key: SettingKey(key.into()),
        name: name.into(),
        description: description.into(),
        group,
        restricted,
        default_enabled,
    };
    use SettingGroup::{General, PaidAddOn};
    Catalogue {
        settings: vec![
            def(
                "feed.comments",
                "Comments on posts",
                "Let people comment on posts in the activity feed.",
                General,
                false,
                true,
            ),
            def(
                "feed.reactions",
                "Reactions",
                "Let people react to posts with emoji.",
                General,
                false,
                true,
            ),
            def(
                "people.directory",
                "People directory",
                "Show the searchable directory of everyone in the organisation.",
                General,
                false,
                true,
            ),
            def(
                "events.calendar",
                "Events calendar",
                "Show the shared calendar of company events.",
                General,
                false,
                false,
            ),
            def(
                "surveys.anonymous",
                "Anonymous surveys",
                "Allow surveys whose answers are not linked to people.",
                General,
                false,
                false,
            ),
            def(
                "sso.enforce",
                "Enforce single sign-on",
                "Only sign-in through the company's identity provider is allowed.",
                General,
                true,
                false,
            ),
            def(
                "data.export",
                "Data export",
                "Let administrators export all organisation data.",
                General,
                true,
                false,
            ),
            def(
                "guest.access",
                "Guest access",
                "Let people outside the organisation be invited as guests.",
                General,
                true,
                false,
            ),
            def(
                "api.keys",
                "API keys",
                "Let administrators create API keys for integrations.",
                General,
                true,
                true,
            ),
            def(
                "analytics.advanced",
                "Advanced analytics",
                "Engagement dashboards and exports.",
                PaidAddOn,
                false,
                false,
            ),
            def(
                "livestream",
                "Live streaming",
                "Company-wide live video broadcasts.",
                PaidAddOn,
                false,
                false,
            ),
            def(
                "translation.auto",
                "Automatic translation",
                "Translate posts into each reader's language.",
                PaidAddOn,
                true,
                false,
            ),
        ],
        version: 1,
    }
}

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
