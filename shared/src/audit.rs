//! Activity events: every state change writes one, in the same transaction
//! as the change (see [`crate::ops::Change`]).
//!
//! The events of one organisation form a hash chain: each event carries its
//! place in the chain (`seq`), the hash of the event before it and its own
//! hash over everything else it says. The organisation's chain head (one
//! item) names the last event; every change rewrites the head under a
//! condition on its version, so two writers cannot both extend the chain
//! from the same place: one of them re-reads the head and retries.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::authz::Principal;
use crate::domain::{EmailAddress, EventId, OrgId, UserId};
use crate::store::{Cond, Item, StoreError, Write, keys};

/// Every kind of action the activity log records: seed 003's list first,
/// then the ones Portico's own operations need. The serialised name is what
/// the log shows and what the `action` filter takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum ActionType {
    /// A user was invited, or an invitation was resent, revoked or accepted.
    #[serde(rename = "Invite User")]
    InviteUser,
    #[serde(rename = "Server Action")]
    ServerAction,
    /// A customer setting or the settings catalogue changed.
    #[serde(rename = "Update Configuration")]
    UpdateConfiguration,
    /// A user's profile, password, authenticator or state changed (including
    /// warnings of, suspensions for, and restoring access after inactivity).
    #[serde(rename = "Update User Profile")]
    UpdateUserProfile,
    /// A partner's trusted source ranges changed.
    #[serde(rename = "Update Trusted Connection")]
    UpdateTrustedConnection,
    #[serde(rename = "Backup Machine Data")]
    BackupMachineData,
    #[serde(rename = "Update License")]
    UpdateLicense,
    #[serde(rename = "Update Server")]
    UpdateServer,
    /// An organisation's policies (MFA, activity retention) changed.
    #[serde(rename = "Update Organization")]
    UpdateOrganization,
    #[serde(rename = "Update Tickets")]
    UpdateTickets,
    #[serde(rename = "Update User Groups")]
    UpdateUserGroups,
    /// A restricted setting was granted to or revoked from a user.
    #[serde(rename = "Update User Permissions")]
    UpdateUserPermissions,
    /// An organisation was created (platform administration, self-registration).
    #[serde(rename = "Create Organization")]
    CreateOrganization,
    /// A user completed sign-in (password and, where required, a TOTP code).
    #[serde(rename = "Sign In")]
    SignIn,
    /// A partner user logged in to a customer instance as its Partner Support profile.
    #[serde(rename = "Partner Login")]
    PartnerLogin,
    /// A customer granted, changed or withdrew its partner's access to an
    /// instance, or a partner user asked for access and the customer answered.
    #[serde(rename = "Partner Access")]
    PartnerAccess,
    /// A partner was granted (or lost) delegated roles on a customer.
    #[serde(rename = "Grant Partner Role")]
    GrantPartnerRole,
    /// The connection to a customer instance was checked.
    #[serde(rename = "Verify Connection")]
    VerifyConnection,
    /// A user signed out (of one session, or everywhere).
    #[serde(rename = "Sign Out")]
    SignOut,
    /// A workspace project, its participants, delivery items, status
    /// reports or health changed (or the workspace's levels and rules).
    #[serde(rename = "Update Project")]
    UpdateProject,
    /// A timesheet's entries changed, or it was submitted, approved or rejected.
    #[serde(rename = "Update Timesheet")]
    UpdateTimesheet,
    /// An expense was submitted, changed, approved or rejected.
    #[serde(rename = "Update Expense")]
    UpdateExpense,
}

impl ActionType {
    pub const ALL: [ActionType; 22] = [
        ActionType::InviteUser,
        ActionType::ServerAction,
        ActionType::UpdateConfiguration,
        ActionType::UpdateUserProfile,
        ActionType::UpdateTrustedConnection,
        ActionType::BackupMachineData,
        ActionType::UpdateLicense,
        ActionType::UpdateServer,
        ActionType::UpdateOrganization,
        ActionType::UpdateTickets,
        ActionType::UpdateUserGroups,
        ActionType::UpdateUserPermissions,
        ActionType::CreateOrganization,
        ActionType::SignIn,
        ActionType::PartnerLogin,
        ActionType::PartnerAccess,
        ActionType::GrantPartnerRole,
        ActionType::VerifyConnection,
        ActionType::SignOut,
        ActionType::UpdateProject,
        ActionType::UpdateTimesheet,
        ActionType::UpdateExpense,
    ];

    /// The name the log shows, e.g. `Invite User`.
    pub fn name(self) -> &'static str {
        match self {
            ActionType::InviteUser => "Invite User",
            ActionType::ServerAction => "Server Action",
            ActionType::UpdateConfiguration => "Update Configuration",
            ActionType::UpdateUserProfile => "Update User Profile",
            ActionType::UpdateTrustedConnection => "Update Trusted Connection",
            ActionType::BackupMachineData => "Backup Machine Data",
            ActionType::UpdateLicense => "Update License",
            ActionType::UpdateServer => "Update Server",
            ActionType::UpdateOrganization => "Update Organization",
            ActionType::UpdateTickets => "Update Tickets",
            ActionType::UpdateUserGroups => "Update User Groups",
            ActionType::UpdateUserPermissions => "Update User Permissions",
            ActionType::CreateOrganization => "Create Organization",
            ActionType::SignIn => "Sign In",
            ActionType::PartnerLogin => "Partner Login",
            ActionType::PartnerAccess => "Partner Access",
            ActionType::GrantPartnerRole => "Grant Partner Role",
            ActionType::VerifyConnection => "Verify Connection",
            ActionType::SignOut => "Sign Out",
            ActionType::UpdateProject => "Update Project",
            ActionType::UpdateTimesheet => "Update Timesheet",
            ActionType::UpdateExpense => "Update Expense",
        }
    }

    /// Parses a shown name, case-insensitively (`invite user` works too).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        Self::ALL.into_iter().find(|a| a.name().eq_ignore_ascii_case(s))
    }

    /// The name without spaces, for index keys.
    pub fn slug(self) -> String {
        self.name().replace(' ', "")
    }
}

/// What an event is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    pub kind: String,
    pub id: String,
}

impl Target {
    /// An organisation the event is about.
    pub fn organization(id: crate::domain::OrgId) -> Self {
        Target {
            kind: "organization".into(),
            id: id.to_string(),
        }
    }
}

/// The hash before an organisation's first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActivityEvent {
    pub id: EventId,
    pub at: DateTime<Utc>,
    /// The actor; none for an anonymous request (a public route such as
    /// "forgot password", where the caller proves nothing): then only the
    /// source IP says who, and the account concerned is the target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_user_id: Option<UserId>,
    /// The actor's email at the time of the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_email: Option<EmailAddress>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_org_id: Option<OrgId>,
    /// The organisation the event concerns (whose log it appears in).
    pub org_id: OrgId,
    pub action: ActionType,
    pub target: Target,
    pub description: String,
    pub source_ip: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<serde_json::Value>,
    /// Place in the organisation's chain, from 1.
    pub seq: u64,
    /// Hash of the event before (`GENESIS` for the first).
    pub prev_hash: String,
    /// When the organisation's retention removes this event (none: kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    /// When the event before is removed by retention.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev_expires_at: Option<DateTime<Utc>>,
    /// The last event before this one that is kept for good (0: none).
    /// Expiry never goes backwards after it, so a gap before this event is
    /// an expiry, not a deletion, exactly when the gap starts after that
    /// event and `prev_expires_at` has passed.
    #[serde(default)]
    pub prev_kept_seq: u64,
    /// SHA-256 (hex) of the event's canonical JSON without this field.
    pub hash: String,
}

/// An organisation's chain head: the last event and the log's retention.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChainHead {
    pub org_id: OrgId,
    pub seq: u64,
    pub hash: String,
    pub at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    /// Days events are kept; none (the default) keeps them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_days: Option<u32>,
    /// The last event kept for good (0: none).
    #[serde(default)]
    pub kept_seq: u64,
}

impl ChainHead {
    pub fn decode(item: Option<&Item>) -> Result<Option<(ChainHead, u64)>, StoreError> {
        item.map(|i| Ok((i.decode()?, i.version))).transpose()
    }
    /// The stored head replacing the one read at `read_version` (none: no head yet).
    pub fn item(&self, read_version: Option<u64>) -> Result<Item, StoreError> {
        Item::new(
            keys::activity_head(self.org_id),
            keys::CHAIN_HEAD,
            read_version.map_or(1, |v| v + 1),
            self,
        )
    }
    /// The write that puts [`ChainHead::item`], conditional on the head read.
    pub fn write(item: Item, read_version: Option<u64>) -> Write {
        Write::Put {
            item,
            cond: match read_version {
                Some(v) => Cond::VersionIs(v),
                None => Cond::MustNotExist,
            },
        }
    }
}

/// Who did it and from where, carried from the request into every event.
#[derive(Debug, Clone)]
pub struct Actor {
    pub principal: Principal,
    pub source_ip: String,
    /// Chain heads read with the request's other items (see
    /// [`crate::ops::authenticate`]), so that its change needs no extra read.
    pub heads: Vec<(OrgId, Option<Item>)>,
    /// The request's pending activity record write (see `inactivity`).
    pub touch: crate::inactivity::PendingTouch,
}

impl Actor {
    pub fn new(principal: Principal, source_ip: impl Into<String>) -> Self {
        Self {
            principal,
            source_ip: source_ip.into(),
            heads: Vec::new(),
            touch: Default::default(),
        }
    }
    pub fn prefetched_head(&self, org: OrgId) -> Option<Option<Item>> {
        self.heads.iter().find(|(o, _)| *o == org).map(|(_, i)| i.clone())
    }
}

/// JSON with every object's keys in order, so that a hash does not depend
/// on the order a store gives them back in.
fn canonical(v: &serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let mut out = serde_json::Map::new();
            for k in keys {
                out.insert(k.clone(), canonical(&m[k]));
            }
            serde_json::Value::Object(out)
        }
        serde_json::Value::Array(a) => serde_json::Value::Array(a.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

impl ActivityEvent {
    /// The hash this event should carry: over all its fields but `hash`.
    /// An event that does not serialise has no hash (never a hash of a
    /// default in its place).
    pub fn compute_hash(&self) -> Result<String, serde_json::Error> {
        let mut v = serde_json::to_value(self)?;
        if let serde_json::Value::Object(m) = &mut v {
            m.remove("hash");
        }
        let bytes = serde_json::to_vec(&canonical(&v))?;
        Ok(hex::encode(Sha256::digest(bytes)))
    }

    /// Whether the event carries the hash of its fields.
    pub fn hash_holds(&self) -> bool {
        self.compute_hash().is_ok_and(|h| h == self.hash)
    }

    /// Places the event after `head` (none: first of its organisation):
    /// sets its sequence, links, expiry and hash, and keeps times in chain
    /// order (an event is never earlier than the one before it).
    pub fn chain_after(&mut self, head: Option<&ChainHead>, now: DateTime<Utc>) -> Result<(), serde_json::Error> {
        self.at = head.map_or(now, |h| now.max(h.at));
        self.seq = head.map_or(1, |h| h.seq + 1);
        self.prev_hash = head.map_or_else(|| GENESIS.to_string(), |h| h.hash.clone());
        self.prev_expires_at = head.and_then(|h| h.expires_at);
        self.prev_kept_seq = head.map_or(0, |h| h.kept_seq);
        // Never earlier than the event before (when that one expires at
        // all): a shorter retention applies once the events kept longer have
        // gone, so expiry only ever removes the oldest events after the last
        // one kept for good.
        self.expires_at = head
            .and_then(|h| h.retention_days)
            .map(|d| self.at + Duration::days(i64::from(d)))
            .map(|t| self.prev_expires_at.map_or(t, |p| t.max(p)));
        self.hash = self.compute_hash()?;
        Ok(())
    }

    /// The head that names this event, keeping the retention of `head`.
    pub fn as_head(&self, head: Option<&ChainHead>) -> ChainHead {
        ChainHead {
            org_id: self.org_id,
            seq: self.seq,
            hash: self.hash.clone(),
            at: self.at,
            expires_at: self.expires_at,
            retention_days: head.and_then(|h| h.retention_days),
            kept_seq: if self.expires_at.is_none() {
                self.seq
            } else {
                head.map_or(0, |h| h.kept_seq)
            },
        }
    }

    /// The stored item: in the organisation's log by time and sequence, in
    /// GSI1 by actor email (sparse: not anonymous ones), in GSI2 by action
    /// type (same sort key).
    pub fn item(&self) -> Result<Item, StoreError> {
        let sk = keys::activity_sk(self.at.timestamp_millis(), self.seq);
        let mut item = Item::new(
            crate::store::Key::new(keys::activity_partition(self.org_id), sk.clone()),
            keys::EVENT,
            1,
            self,
        )?
        .with_gsi2(keys::activity_by_action(self.org_id, self.action), sk.clone());
        // Anonymous events have no actor to be found by.
        if let Some(email) = &self.actor_email {
            item = item.with_gsi1(keys::activity_by_actor(self.org_id, email), sk);
        }
        Ok(match self.expires_at {
            Some(t) => item.with_ttl(t.timestamp()),
            None => item,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_type_is_listed_once_and_named_as_it_serialises() {
        let mut seen = std::collections::HashSet::new();
        for a in ActionType::ALL {
            assert!(seen.insert(a), "{a:?} listed twice");
            assert_eq!(serde_json::to_value(a).unwrap(), serde_json::json!(a.name()));
            assert_eq!(ActionType::parse(&a.name().to_lowercase()), Some(a));
        }
        assert_eq!(ActionType::parse("Sign  In"), None);
    }

    #[test]
    fn canonical_json_ignores_key_order() {
        let a: serde_json::Value = serde_json::from_str(r#"{"b":1,"a":{"y":2,"x":[{"q":1,"p":2}]}}"#).unwrap();
        let b: serde_json::Value = serde_json::from_str(r#"{"a":{"x":[{"p":2,"q":1}],"y":2},"b":1}"#).unwrap();
        assert_eq!(
            serde_json::to_string(&canonical(&a)).unwrap(),
            serde_json::to_string(&canonical(&b)).unwrap()
        );
    }
}
