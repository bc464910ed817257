//! Customer instances and their connections: the entities, their items, and
//! the messages Portico and an instance exchange (the contract is
//! `docs/instance-integration.md`; the reference instance in
//! `tests/reference-instance` implements it).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::connections::{BrokenReason, ConnectionState};
use crate::domain::{EmailAddress, InstanceId, InstanceName, OrgId, OrgName, ParseError, UserId};
use crate::outbound::{Policy, check_url};
use crate::secrets::Sealed;
use crate::store::{Item, StoreError, keys};

/// Where an instance answers verification challenges, under its base URL.
pub const VERIFY_PATH: &str = "/.well-known/portico/verify";
/// Where an instance receives settings deliveries, under its base URL.
pub const SETTINGS_PATH: &str = "/.well-known/portico/settings";
/// Where an instance receives its Partner Support profile, under its base URL.
pub const PROFILE_PATH: &str = "/.well-known/portico/profile";
/// Where an instance receives LogMeIn assertions (a form POST from the
/// partner user's browser), under its base URL.
pub const LOGIN_PATH: &str = "/.well-known/portico/login";
/// The header naming the instance on its signed requests to Portico.
pub const INSTANCE_HEADER: &str = "Portico-Instance";

/// An instance's base URL, canonical: scheme, lower-case host, port if not
/// the default, path without a trailing slash; no user info, query or
/// fragment. HTTPS (plain HTTP only to loopback, where the local policy
/// allows it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = String, example = "https://contoso.example.com")]
pub struct BaseUrl(String);

impl BaseUrl {
    pub fn parse(raw: &str, policy: Policy) -> Result<Self, ParseError> {
        let raw = raw.trim();
        if raw.is_empty() || raw.len() > 2000 {
            return Err(ParseError::new("the URL must be 1 to 2000 characters"));
        }
        let target = check_url(raw, policy).map_err(|r| ParseError::new(format!("this URL cannot be used: {r}")))?;
        let url = target.url;
        if url.query().is_some() || url.fragment().is_some() {
            return Err(ParseError::new("an instance's base URL has no query or fragment"));
        }
        let mut s = format!("{}://{}", url.scheme(), target.host);
        if url.port().is_some() {
            s.push_str(&format!(":{}", target.port));
        }
        s.push_str(url.path().trim_end_matches('/'));
        Ok(Self(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The URL of `path` (one of the contract's paths) under this base.
    pub fn join(&self, path: &str) -> String {
        format!("{}{path}", self.0)
    }
}

/// A new connection secret, shown once: `pcs_` and 43 characters of
/// base64url (32 random bytes). The HMAC key is the secret exactly as
/// shown (its ASCII bytes).
pub fn new_secret() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    format!("pcs_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b))
}

/// A fresh challenge nonce (24 random bytes, base64url).
pub fn new_nonce() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut b = [0u8; 24];
    rand::rng().fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// A connection: its secret (sealed), its state and when it is next checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Connection {
    pub state: ConnectionState,
    pub next_check: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_checked: Option<DateTime<Utc>>,
    pub secret: Sealed,
    /// 1 when registered, one more at each recreation.
    pub generation: u32,
    pub created_at: DateTime<Utc>,
}

impl Connection {
    /// What the secret is sealed to: this instance and this generation.
    pub fn context(instance: InstanceId, generation: u32) -> String {
        format!("{instance}#{generation}")
    }
}

/// The latest settings revision an instance acknowledged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Acknowledged {
    pub seq: u64,
    pub at: DateTime<Utc>,
}

/// The roles a Partner Support profile has unless the platform changes them (seed 000).
pub const DEFAULT_PROFILE_ROLES: [&str; 3] = ["Admin", "IT Admin", "Developer"];
/// The most roles a profile holds.
pub const MAX_PROFILE_ROLES: usize = 20;

/// One role of the instance's product, as a profile holds it: 1 to 60
/// characters, letters, digits, spaces and `-_.&/()`, trimmed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "IT Admin")]
pub struct ProfileRole(String);

impl ProfileRole {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let s = raw.trim();
        let ok = |c: char| c.is_alphanumeric() || " -_.&/()".contains(c);
        if s.is_empty() || s.chars().count() > 60 || !s.chars().all(ok) {
            return Err(ParseError::new(
                "a role is 1 to 60 characters: letters, digits, spaces and - _ . & / ( )",
            ));
        }
        Ok(Self(s.split_whitespace().collect::<Vec<_>>().join(" ")))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ProfileRole {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        Self::parse(&s)
    }
}

impl From<ProfileRole> for String {
    fn from(r: ProfileRole) -> String {
        r.0
    }
}

/// When the profile was last provisioned to the instance: which revision
/// of it, over which generation of the connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Provisioned {
    pub revision: u32,
    pub generation: u32,
    pub at: DateTime<Utc>,
}

/// The instance's Partner Support profile as Portico keeps it: the roles
/// (its subject is derived from the instance id, so it never changes), a
/// revision that grows with each change, and what was provisioned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SupportProfile {
    pub roles: Vec<ProfileRole>,
    pub revision: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioned: Option<Provisioned>,
}

impl Default for SupportProfile {
    fn default() -> Self {
        Self {
            roles: DEFAULT_PROFILE_ROLES
                .iter()
                .map(|r| ProfileRole(r.to_string()))
                .collect(),
            revision: 1,
            provisioned: None,
        }
    }
}

impl SupportProfile {
    /// The stable subject id of an instance's profile: what LogMeIn
    /// assertions name as `sub`.
    pub fn subject(instance: InstanceId) -> String {
        format!("partner-support:{instance}")
    }
    /// Whether the instance needs this profile sent (never sent, changed
    /// since, or the connection was recreated since).
    pub fn due(&self, generation: u32) -> bool {
        self.provisioned
            .as_ref()
            .is_none_or(|p| p.revision != self.revision || p.generation != generation)
    }
}

/// What Portico sends an instance: `POST <base>/.well-known/portico/profile`, signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProfileMessage {
    pub instance_id: InstanceId,
    /// The profile's subject: LogMeIn assertions name it as `sub`.
    #[schema(example = "partner-support:0190e0b5-7f3a-7c2e-9a55-1d2c3b4a5f60")]
    pub subject: String,
    /// `Partner Support`.
    pub display_name: String,
    pub roles: Vec<ProfileRole>,
    /// Grows with each change: an instance keeps the highest it has seen.
    pub revision: u32,
    /// Always false: the instance must not let its own users delete (or
    /// change) the profile.
    pub deletable: bool,
}

/// A customer's instance of the vendor's product.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Instance {
    pub id: InstanceId,
    pub customer_id: OrgId,
    /// Kept with the instance to list it under its customer (names do not change).
    pub customer_name: OrgName,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_id: Option<OrgId>,
    pub name: InstanceName,
    pub url: BaseUrl,
    pub created_at: DateTime<Utc>,
    pub created_by: UserId,
    pub connection: Connection,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged: Option<Acknowledged>,
    /// Its Partner Support profile.
    #[serde(default)]
    pub profile: SupportProfile,
    pub version: u64,
}

impl Instance {
    /// The profile message to provision.
    pub fn profile_message(&self) -> ProfileMessage {
        ProfileMessage {
            instance_id: self.id,
            subject: SupportProfile::subject(self.id),
            display_name: "Partner Support".into(),
            roles: self.profile.roles.clone(),
            revision: self.profile.revision,
            deletable: false,
        }
    }

    pub fn item(&self) -> Result<Item, StoreError> {
        Ok(Item::new(keys::instance(self.id), keys::INSTANCE, self.version, self)?
            .with_gsi1(
                keys::instance_listing(self.customer_id, self.partner_id),
                keys::instance_listing_sk(
                    &self.customer_name.folded(),
                    self.customer_id,
                    &self.name.folded(),
                    self.id,
                ),
            )
            .with_gsi2(
                keys::CONNECTION_CHECKS,
                keys::connection_check_sk(self.connection.next_check.timestamp_millis(), self.id),
            ))
    }

    /// The instance as the API shows it; `latest` is the customer's latest
    /// settings revision (to say whether the instance has it; none: no
    /// setting was ever changed).
    pub fn view(&self, latest: Option<&LatestSettings>) -> InstanceView {
        let c = &self.connection;
        let (since, failures, reason, reason_kind) = match &c.state {
            ConnectionState::Pending => (None, None, None, None),
            ConnectionState::Verified { at } => (Some(*at), None, None, None),
            ConnectionState::Unreachable {
                since,
                failures,
                reason,
            } => (Some(*since), Some(*failures), Some(reason.clone()), None),
            ConnectionState::Broken { since, reason } => (
                Some(*since),
                None,
                Some(reason.describe()),
                Some(reason.kind().to_string()),
            ),
        };
        let acked = self.acknowledged.as_ref().map(|a| a.seq).unwrap_or(0);
        let settings = match (latest, &self.acknowledged) {
            // Nothing changed yet, and the instance has the defaults.
            (None, Some(a)) => Some(SettingsState {
                applied: true,
                pending_since: None,
                acknowledged_at: Some(a.at),
            }),
            (None, None) => None,
            (Some(l), _) => Some(if acked >= l.seq {
                SettingsState {
                    applied: true,
                    pending_since: None,
                    acknowledged_at: self.acknowledged.as_ref().map(|a| a.at),
                }
            } else {
                SettingsState {
                    applied: false,
                    pending_since: Some(l.at),
                    acknowledged_at: self.acknowledged.as_ref().map(|a| a.at),
                }
            }),
        };
        InstanceView {
            id: self.id,
            customer_id: self.customer_id,
            customer_name: self.customer_name.as_str().to_string(),
            name: self.name.clone(),
            url: self.url.clone(),
            connection: ConnectionView {
                state: c.state.name().to_string(),
                since,
                failures,
                reason,
                reason_kind,
                last_checked: c.last_checked,
                next_check: c.next_check,
                generation: c.generation,
            },
            settings,
            support_profile: SupportProfileView {
                subject: SupportProfile::subject(self.id),
                roles: self.profile.roles.clone(),
                revision: self.profile.revision,
                provisioned_at: self
                    .profile
                    .provisioned
                    .as_ref()
                    .filter(|_| !self.profile.due(c.generation))
                    .map(|p| p.at),
            },
            created_at: self.created_at,
        }
    }
}

/// An instance's Partner Support profile as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SupportProfileView {
    pub subject: String,
    pub roles: Vec<ProfileRole>,
    pub revision: u32,
    /// When the instance received this revision over this connection (absent: not yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioned_at: Option<DateTime<Utc>>,
}

impl BrokenReason {
    /// The reason's kind, for programs (`other_url`, `profile_missing`...).
    pub fn kind(&self) -> &'static str {
        match self {
            BrokenReason::OtherInstance { .. } => "other_instance",
            BrokenReason::OtherUrl { .. } => "other_url",
            BrokenReason::BadProof => "bad_proof",
            BrokenReason::ProfileMissing => "profile_missing",
            BrokenReason::Refused { .. } => "refused",
            BrokenReason::Redirected { .. } => "redirected",
            BrokenReason::Unreadable => "unreadable",
            BrokenReason::NotAllowed { .. } => "not_allowed",
        }
    }
}

/// An instance as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstanceView {
    pub id: InstanceId,
    pub customer_id: OrgId,
    pub customer_name: String,
    pub name: InstanceName,
    pub url: BaseUrl,
    pub connection: ConnectionView,
    /// Whether the instance acknowledged the customer's latest settings
    /// (absent while nothing was changed and nothing delivered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<SettingsState>,
    pub support_profile: SupportProfileView,
    pub created_at: DateTime<Utc>,
}

/// A connection's state.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionView {
    /// `pending`, `verified`, `unreachable` or `broken`.
    #[schema(example = "verified")]
    pub state: String,
    /// Verified: when last proven; unreachable and broken: since when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
    /// Unreachable: consecutive checks without an answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failures: Option<u32>,
    /// Unreachable and broken: why, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Broken: why, for programs (`other_instance`, `other_url`, `bad_proof`,
    /// `profile_missing`, `refused`, `redirected`, `unreadable`, `not_allowed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_checked: Option<DateTime<Utc>>,
    pub next_check: DateTime<Utc>,
    /// 1 when registered, one more at each recreation.
    pub generation: u32,
}

/// Whether an instance has the customer's latest settings.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SettingsState {
    pub applied: bool,
    /// Not applied: when the change it has not acknowledged was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_since: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged_at: Option<DateTime<Utc>>,
}

/// A partner's request to recreate a connection (seed 000), waiting for the platform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecreateRequest {
    pub instance_id: InstanceId,
    pub instance_name: InstanceName,
    pub customer_id: OrgId,
    pub customer_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_id: Option<OrgId>,
    pub current_url: BaseUrl,
    /// The URL the instance lives at now, if it changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_url: Option<BaseUrl>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub requested_by: UserId,
    pub requested_by_email: EmailAddress,
    pub requested_at: DateTime<Utc>,
}

impl RecreateRequest {
    pub fn item(&self) -> Result<Item, StoreError> {
        Ok(Item::new(
            keys::recreate_request(self.instance_id),
            keys::RECREATE_REQUEST,
            1,
            self,
        )?
        .with_gsi2(
            keys::PENDING_RECREATE_REQUESTS,
            format!("{:015}#{}", self.requested_at.timestamp_millis(), self.instance_id),
        ))
    }
}

/// The latest settings revision of a customer: what its instances should
/// hold. `seq` is the customer's activity sequence of the change, so it
/// only grows. While `pending`, the delivery is listed as due.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LatestSettings {
    pub customer_id: OrgId,
    pub seq: u64,
    pub at: DateTime<Utc>,
    /// When the delivery is (next) due; none once every instance acknowledged it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<DateTime<Utc>>,
    /// Delivery attempts that left an instance without it, in a row.
    #[serde(default)]
    pub attempts: u32,
}

impl LatestSettings {
    pub fn item(&self, version: u64) -> Result<Item, StoreError> {
        let item = Item::new(keys::delivery(self.customer_id), keys::DELIVERY, version, self)?;
        Ok(match self.due {
            Some(due) => item.with_gsi2(
                keys::PENDING_DELIVERIES,
                keys::delivery_due_sk(due.timestamp_millis(), self.customer_id),
            ),
            None => item,
        })
    }
}

// The messages -----------------------------------------------------------------

/// Portico's challenge: `POST <base>/.well-known/portico/verify`, signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Challenge {
    pub nonce: String,
}

/// Whether the instance has its Partner Support profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    Present,
    Missing,
}

/// The instance's answer to a challenge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChallengeAnswer {
    pub nonce: String,
    pub instance_id: String,
    /// The base URL the instance believes it lives at.
    pub url: String,
    pub partner_support_profile: Profile,
    /// Hex HMAC-SHA256 (see `signing::proof`).
    pub proof: String,
    /// The latest settings revision it applied (optional, informative: an
    /// instance that lost its settings pulls them, see `docs/instance-integration.md`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings_seq: Option<u64>,
}

/// A settings delivery: every setting's value at revision `seq` (the
/// latest delivery carries the whole state, so a lost or reordered one
/// costs nothing: an instance keeps the highest `seq` it has seen).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SettingsSnapshot {
    pub instance_id: InstanceId,
    pub customer_id: OrgId,
    /// Grows with every change; 0 if no setting was ever changed.
    pub seq: u64,
    /// Setting key to value (Enabled = true), every setting of the catalogue.
    pub settings: BTreeMap<String, bool>,
}
