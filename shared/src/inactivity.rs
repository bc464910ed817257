//! Inactivity: when each partner user was last active, recorded coarsely,
//! and the rule that suspends them after weeks without activity.
//!
//! A partner user's activity record (`USER#<id>` / `ACTIVITY`) holds their
//! last activity. While the user is active it carries the keys of a sparse
//! index (GSI2 `INACTIVITY`, sort key = last activity), so the daily sweep
//! reads only the users past the warning line; suspended users carry no
//! index keys. Records are written at most once an hour per user, with a
//! condition on the record's version, so the request path stays one read
//! and at most one write.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{EmailAddress, OrgId, OrgKind, User, UserId};
use crate::store::{Cond, Item, StoreError, Write, keys};

/// Activity is recorded at most this often per user.
pub const TOUCH_EVERY_MINUTES: i64 = 60;

/// When users are warned and suspended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InactivityPolicy {
    /// Suspend after this long without activity (`PORTICO_SUSPEND_AFTER_DAYS`, default 21).
    pub suspend_after_days: u32,
    /// Warn this long before (`PORTICO_WARN_DAYS_BEFORE`, default 3; 0: no warning).
    pub warn_days_before: u32,
}

impl Default for InactivityPolicy {
    fn default() -> Self {
        Self {
            suspend_after_days: 21,
            warn_days_before: 3,
        }
    }
}

impl InactivityPolicy {
    /// Last activity at or before this: suspended.
    pub fn suspend_line(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now - Duration::days(i64::from(self.suspend_after_days))
    }
    /// Last activity at or before this: warned (if not suspended).
    pub fn warn_line(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now - Duration::days(i64::from(self.suspend_after_days.saturating_sub(self.warn_days_before)))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserActivity {
    pub user_id: UserId,
    pub org_id: OrgId,
    pub email: EmailAddress,
    pub last_active_at: DateTime<Utc>,
    /// When the user was warned of suspension (since their last activity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warned_at: Option<DateTime<Utc>>,
    /// When the user was suspended for inactivity (no index keys then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspended_at: Option<DateTime<Utc>>,
}

impl UserActivity {
    pub fn fresh(user: &User, now: DateTime<Utc>) -> Self {
        Self {
            user_id: user.id,
            org_id: user.org_id,
            email: user.email.clone(),
            last_active_at: now,
            warned_at: None,
            suspended_at: None,
        }
    }

    /// The stored item; only an active user's record is in the sweep's index.
    pub fn item(&self, version: u64) -> Result<Item, StoreError> {
        let item = Item::new(keys::user_activity(self.user_id), keys::USER_ACTIVITY, version, self)?;
        Ok(match self.suspended_at {
            None => item.with_gsi2(
                keys::INACTIVITY,
                keys::inactivity_sk(self.last_active_at.timestamp_millis(), self.user_id),
            ),
            Some(_) => item,
        })
    }

    /// This record replacing the one read at `read_version` (none: there was none).
    pub fn write(&self, read_version: Option<u64>) -> Result<Write, StoreError> {
        Ok(Write::Put {
            item: self.item(read_version.map_or(1, |v| v + 1))?,
            cond: match read_version {
                Some(v) => Cond::VersionIs(v),
                None => Cond::MustNotExist,
            },
        })
    }
}

/// The write that records `user`'s activity now, if one is due: partner
/// users only, at most once an hour, never for a suspended record.
pub fn touch(user: &User, record: Option<&Item>, now: DateTime<Utc>) -> Result<Option<Write>, StoreError> {
    if user.org_kind != OrgKind::Partner {
        return Ok(None);
    }
    let Some(item) = record else {
        return Ok(Some(UserActivity::fresh(user, now).write(None)?));
    };
    let current: UserActivity = item.decode()?;
    if current.suspended_at.is_some() || now - current.last_active_at < Duration::minutes(TOUCH_EVERY_MINUTES) {
        return Ok(None);
    }
    let next = UserActivity {
        last_active_at: now,
        warned_at: None,
        email: user.email.clone(),
        ..current
    };
    Ok(Some(next.write(Some(item.version))?))
}

/// A request's pending activity write: written with the request's change
/// if it makes one, else after the response (see `http::record_activity`).
#[derive(Debug, Clone, Default)]
pub struct PendingTouch(Arc<Mutex<Option<Write>>>);

impl PendingTouch {
    pub fn set(&self, w: Option<Write>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = w;
    }
    pub fn take(&self) -> Option<Write> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}
