//! Partners' access to a customer's instances (seed 003: "You may not be
//! able to interact with servers if the Customer has not granted you
//! access"): the customer's consent per instance, the access requests of
//! "ask me each time", and how the customer is told of partner sign-ins.
//!
//! One item per customer ([`InstanceAccess`]) holds the consent of every
//! instance, the live answers to access requests and the notice choice, so
//! that a LogMeIn or a settings change reads it with its other items in
//! one round trip.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::{AccessRequestId, EmailAddress, InstanceId, InstanceName, OrgId, UserId};
use crate::store::{Item, StoreError, keys};

/// An access request no one answers lapses after this long (Google Access
/// Approval dismisses requests after 14 days).
pub const REQUEST_LAPSES_AFTER_DAYS: i64 = 14;
/// What a partner user may ask for: 15 minutes to 7 days.
pub const MIN_REQUEST_MINUTES: u32 = 15;
pub const MAX_REQUEST_MINUTES: u32 = 7 * 24 * 60;
/// Standing consent ends at most this far ahead (when it has an end).
pub const MAX_STANDING_DAYS: i64 = 2 * 365;
/// Answers (approvals past their end, denials) are kept this long, to tell
/// a partner why they are refused; then dropped from the item.
pub const ANSWERS_KEPT_DAYS: i64 = 30;

/// How partners may reach one instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", tag = "mode")]
pub enum ConsentMode {
    /// Partners may not sign in or change settings (the default).
    #[serde(rename = "off")]
    Off,
    /// "Partner may sign in": standing consent, until `until` if set.
    #[serde(rename = "standing")]
    Standing {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<DateTime<Utc>>,
    },
    /// "Ask me each time": each partner user asks, with a reason and a
    /// duration; the customer's Account Owner approves or denies.
    #[serde(rename = "ask")]
    Ask,
}

/// The customer's answer to one access request, kept while it matters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Answer {
    pub request_id: AccessRequestId,
    pub user_id: UserId,
    pub approved: bool,
    /// Approved: until when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<Utc>>,
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// One instance's consent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Consent {
    #[serde(flatten)]
    pub mode: ConsentMode,
    /// The latest answer per partner user ("ask me each time").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub answers: Vec<Answer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_by: Option<EmailAddress>,
}

impl Default for Consent {
    fn default() -> Self {
        Self {
            mode: ConsentMode::Off,
            answers: Vec::new(),
            changed_at: None,
            changed_by: None,
        }
    }
}

/// How the customer is told that a partner signed in as Partner Support.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NoticeMode {
    /// An email at each LogMeIn.
    EachLogin,
    /// One email a day listing the day's sign-ins (none on days without).
    DailyDigest,
}

/// The notice choice: how, and to whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Notices {
    pub mode: NoticeMode,
    /// 1 to 5 addresses (by default, the Account Owner who set it).
    pub to: Vec<EmailAddress>,
}

/// Everything about partners' access to one customer's instances.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct InstanceAccess {
    pub instances: BTreeMap<InstanceId, Consent>,
    /// Unset until an Account Owner first grants access (then: each login, to them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notices: Option<Notices>,
    /// When the last daily digest was sent (its sign-ins were up to then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest_sent_to: Option<DateTime<Utc>>,
}

/// What a partner user's access to an instance is, now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// They may: standing consent, or an approval of theirs (its reason).
    Granted {
        until: Option<DateTime<Utc>>,
        reason: Option<String>,
    },
    /// Consent is off.
    NotGranted,
    /// Standing consent ended at this time.
    Ended(DateTime<Utc>),
    /// "Ask me each time", and nothing of theirs is approved now.
    AskFirst,
    /// Their approval ended at this time.
    ApprovalEnded(DateTime<Utc>),
    /// Their latest request was denied at this time.
    Denied(DateTime<Utc>),
}

impl InstanceAccess {
    pub fn key(customer: OrgId) -> crate::store::Key {
        keys::instance_access(customer)
    }

    pub fn item(&self, customer: OrgId, version: u64) -> Result<Item, StoreError> {
        let item = Item::new(Self::key(customer), keys::INSTANCE_ACCESS, version, self)?;
        // Customers told by digest are listed by when their next digest is due.
        Ok(match &self.notices {
            Some(n) if n.mode == NoticeMode::DailyDigest => item.with_gsi2(
                keys::LOGIN_DIGESTS,
                keys::login_digest_sk(self.digest_due().timestamp_millis(), customer),
            ),
            _ => item,
        })
    }

    /// When the next daily digest is due: a day after the last one (or
    /// after the choice was made).
    pub fn digest_due(&self) -> DateTime<Utc> {
        self.digest_sent_to.unwrap_or(DateTime::<Utc>::MIN_UTC) + Duration::days(1)
    }

    /// The access item as read (none: nothing set yet) and its version (0: none).
    pub fn decode(item: Option<&Item>) -> Result<(Self, u64), StoreError> {
        Ok(match item {
            Some(i) => (i.decode()?, i.version),
            None => (Self::default(), 0),
        })
    }

    pub fn consent(&self, instance: InstanceId) -> Consent {
        self.instances.get(&instance).cloned().unwrap_or_default()
    }

    /// Where `user` stands with `instance` at `now`.
    pub fn standing(&self, instance: InstanceId, user: UserId, now: DateTime<Utc>) -> Standing {
        let consent = self.consent(instance);
        match consent.mode {
            ConsentMode::Off => Standing::NotGranted,
            ConsentMode::Standing { until: Some(t) } if t <= now => Standing::Ended(t),
            ConsentMode::Standing { until } => Standing::Granted { until, reason: None },
            ConsentMode::Ask => {
                let latest = consent
                    .answers
                    .iter()
                    .filter(|a| a.user_id == user)
                    .max_by_key(|a| a.at);
                match latest {
                    None => Standing::AskFirst,
                    Some(a) if !a.approved => Standing::Denied(a.at),
                    Some(Answer {
                        until: Some(t), reason, ..
                    }) if *t > now => Standing::Granted {
                        until: Some(*t),
                        reason: Some(reason.clone()),
                    },
                    Some(a) => Standing::ApprovalEnded(a.until.unwrap_or(a.at)),
                }
            }
        }
    }

    /// Drops answers that no longer matter (older than [`ANSWERS_KEPT_DAYS`]
    /// past their end), keeping the item small.
    pub fn prune(&mut self, now: DateTime<Utc>) {
        let keep_from = now - Duration::days(ANSWERS_KEPT_DAYS);
        for c in self.instances.values_mut() {
            c.answers.retain(|a| a.until.unwrap_or(a.at) >= keep_from);
        }
    }

    /// Records `answer` as `user`'s latest for `instance`.
    pub fn answer(&mut self, instance: InstanceId, answer: Answer) {
        let c = self.instances.entry(instance).or_default();
        c.answers.retain(|a| a.user_id != answer.user_id);
        c.answers.push(answer);
    }
}

/// Where an access request stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", tag = "state")]
pub enum RequestState {
    #[serde(rename = "pending")]
    Pending,
    #[serde(rename = "approved")]
    #[serde(rename_all = "camelCase")]
    Approved {
        until: DateTime<Utc>,
        by: EmailAddress,
        at: DateTime<Utc>,
    },
    #[serde(rename = "denied")]
    #[serde(rename_all = "camelCase")]
    Denied {
        by: EmailAddress,
        at: DateTime<Utc>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
}

/// A partner user's request for access to one instance ("ask me each time").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessRequest {
    pub id: AccessRequestId,
    pub customer_id: OrgId,
    pub customer_name: String,
    pub instance_id: InstanceId,
    pub instance_name: InstanceName,
    pub partner_id: OrgId,
    pub user_id: UserId,
    pub user_email: EmailAddress,
    /// Why they need it (shown to the customer, carried in the assertion).
    pub reason: String,
    /// For how long, at most.
    pub duration_minutes: u32,
    pub created_at: DateTime<Utc>,
    #[serde(flatten)]
    pub state: RequestState,
    pub version: u64,
}

impl AccessRequest {
    /// Pending and not yet lapsed.
    pub fn open(&self, now: DateTime<Utc>) -> bool {
        self.state == RequestState::Pending && now < self.lapses_at()
    }
    pub fn lapses_at(&self) -> DateTime<Utc> {
        self.created_at + Duration::days(REQUEST_LAPSES_AFTER_DAYS)
    }
    /// `pending`, `lapsed`, `approved` or `denied`.
    pub fn state_name(&self, now: DateTime<Utc>) -> &'static str {
        match &self.state {
            RequestState::Pending if self.open(now) => "pending",
            RequestState::Pending => "lapsed",
            RequestState::Approved { .. } => "approved",
            RequestState::Denied { .. } => "denied",
        }
    }

    pub fn item(&self) -> Result<Item, StoreError> {
        let item = Item::new(keys::access_request(self.id), keys::ACCESS_REQUEST, self.version, self)?
            .with_gsi1(
                keys::user_access_requests(self.user_id),
                keys::newest_first(self.created_at, self.id),
            )
            // Gone once a year has passed: the activity log keeps the story.
            .with_ttl((self.lapses_at() + Duration::days(365)).timestamp());
        Ok(match self.state {
            RequestState::Pending => item.with_gsi2(
                keys::pending_access_requests(self.customer_id),
                keys::access_request_sk(self.created_at.timestamp_millis(), self.id),
            ),
            _ => item,
        })
    }
}
