//! Activity events: every state change writes one, in the same transaction
//! as the change (see [`crate::ops::Change`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::authz::Principal;
use crate::domain::{EmailAddress, EventId, OrgId, UserId};
use crate::store::{Item, StoreError, keys};

/// Every kind of action the activity log records. Seed 003's list first,
/// then the ones Portico's own operations need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum ActionType {
    #[serde(rename = "Invite User")]
    InviteUser,
    #[serde(rename = "Server Action")]
    ServerAction,
    #[serde(rename = "Update Configuration")]
    UpdateConfiguration,
    #[serde(rename = "Update User Profile")]
    UpdateUserProfile,
    #[serde(rename = "Update Trusted Connection")]
    UpdateTrustedConnection,
    #[serde(rename = "Backup Machine Data")]
    BackupMachineData,
    #[serde(rename = "Update License")]
    UpdateLicense,
    #[serde(rename = "Update Server")]
    UpdateServer,
    #[serde(rename = "Update Organization")]
    UpdateOrganization,
    #[serde(rename = "Update Tickets")]
    UpdateTickets,
    #[serde(rename = "Update User Groups")]
    UpdateUserGroups,
    #[serde(rename = "Update User Permissions")]
    UpdateUserPermissions,
    /// An organisation was created (platform administration, self-registration).
    #[serde(rename = "Create Organization")]
    CreateOrganization,
    /// A user completed sign-in (password and, where required, a TOTP code).
    #[serde(rename = "Sign In")]
    SignIn,
}

/// What an event is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    pub kind: String,
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActivityEvent {
    pub id: EventId,
    pub at: DateTime<Utc>,
    pub actor_user_id: UserId,
    /// The actor's email at the time of the event.
    pub actor_email: EmailAddress,
    pub actor_org_id: OrgId,
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
}

/// Who did it and from where, carried from the request into every event.
#[derive(Debug, Clone)]
pub struct Actor {
    pub principal: Principal,
    pub source_ip: String,
}

impl ActivityEvent {
    pub fn item(&self) -> Result<Item, StoreError> {
        Item::new(
            crate::store::Key::new(
                keys::activity_partition(self.org_id),
                keys::activity_sk(self.at.timestamp_millis(), self.id),
            ),
            keys::EVENT,
            1,
            self,
        )
    }
}
