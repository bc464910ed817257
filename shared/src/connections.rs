//! A connection between Portico and a customer instance: its states and
//! what one check leads to. Atlassian's application links are the model
//! (an immutable instance id beside the URL; "recreation needed" after a
//! URL change); GitLab's web hooks give the backoff (1 minute doubling to
//! 24 hours) and the threshold of consecutive failures before anyone is
//! told.
//!
//! - `pending`: created (or recreated), not proven yet; checked soon.
//! - `verified`: the instance proved it holds the secret, for this instance
//!   id and this URL, with its Partner Support profile; checked hourly.
//! - `unreachable`: no answer, a timeout or a 5xx; checked again after a
//!   backoff; people are told once it has failed [`TELL_AFTER_FAILURES`]
//!   times in a row.
//! - `broken`: the instance answered, wrongly (another id, another URL, a
//!   bad proof, no Partner Support profile, a refusal, or an address
//!   Portico may not call); it needs a platform admin to recreate the
//!   connection; checked daily (a fixed instance proves itself again).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// How often a verified connection is checked.
pub const VERIFIED_EVERY_MINUTES: i64 = 60;
/// How soon a new or recreated connection is first checked.
pub const PENDING_EVERY_MINUTES: i64 = 1;
/// How often a broken connection is checked.
pub const BROKEN_EVERY_HOURS: i64 = 24;
/// The backoff of an unreachable connection: 1 minute, doubling, at most 24 hours.
pub const BACKOFF_FIRST_MINUTES: i64 = 1;
pub const BACKOFF_MAX_HOURS: i64 = 24;
/// Consecutive failures to answer before people are told.
pub const TELL_AFTER_FAILURES: u32 = 4;

/// What was wrong with an instance's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum BrokenReason {
    /// It answered as another instance.
    OtherInstance { answered: String },
    /// It believes it lives at another URL (the URL changed after setup).
    OtherUrl { answered: String },
    /// Its proof does not verify with the connection's secret, or echoes another nonce.
    BadProof,
    /// Its Partner Support profile is missing.
    ProfileMissing,
    /// It refused the check (a 4xx).
    Refused { status: u16 },
    /// It answered with a redirect, which Portico does not follow.
    Redirected { status: u16 },
    /// Its answer is not a verification answer (or is too large).
    Unreadable,
    /// Its URL or address may not be called (see `outbound`).
    NotAllowed { why: String },
}

impl BrokenReason {
    /// The reason in words, for events, emails and pages.
    pub fn describe(&self) -> String {
        match self {
            BrokenReason::OtherInstance { answered } => {
                format!("the instance answered as another instance ({answered})")
            }
            BrokenReason::OtherUrl { answered } => {
                format!("the instance says it lives at another URL ({answered}): its URL changed after setup")
            }
            BrokenReason::BadProof => "the instance's proof does not match the connection's secret".into(),
            BrokenReason::ProfileMissing => "the instance has no Partner Support profile".into(),
            BrokenReason::Refused { status } => format!("the instance refused the check (HTTP {status})"),
            BrokenReason::Redirected { status } => format!(
                "the instance answered with a redirect (HTTP {status}), which Portico does not follow: has its URL changed?"
            ),
            BrokenReason::Unreadable => "the instance's answer is not a verification answer".into(),
            BrokenReason::NotAllowed { why } => format!("Portico may not call the instance's URL: {why}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum ConnectionState {
    Pending,
    Verified {
        at: DateTime<Utc>,
    },
    Unreachable {
        since: DateTime<Utc>,
        /// Consecutive checks without an answer.
        failures: u32,
        reason: String,
    },
    Broken {
        since: DateTime<Utc>,
        reason: BrokenReason,
    },
}

impl ConnectionState {
    /// The state's name (`pending`, `verified`, `unreachable`, `broken`).
    pub fn name(&self) -> &'static str {
        match self {
            ConnectionState::Pending => "pending",
            ConnectionState::Verified { .. } => "verified",
            ConnectionState::Unreachable { .. } => "unreachable",
            ConnectionState::Broken { .. } => "broken",
        }
    }
}

/// What one check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckOutcome {
    /// The instance proved itself: nonce, instance id, URL, profile.
    Proven,
    /// No answer, a timeout or a 5xx (what happened, for people).
    NoAnswer(String),
    /// It answered, wrongly.
    Wrong(BrokenReason),
}

/// Where a check leaves a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub state: ConnectionState,
    pub next_check: DateTime<Utc>,
    /// The state changed (another state, or broken for another reason): an activity event.
    pub changed: bool,
    /// People are told (the partner's managers, the platform's admins): at
    /// most once per state change, on becoming broken or unreachable for
    /// [`TELL_AFTER_FAILURES`] checks in a row.
    pub tell: bool,
}

/// The wait before the next check after `failures` consecutive ones.
pub fn backoff(failures: u32) -> Duration {
    let first = Duration::minutes(BACKOFF_FIRST_MINUTES);
    let max = Duration::hours(BACKOFF_MAX_HOURS);
    let doublings = failures.saturating_sub(1).min(20);
    (first * 2i32.pow(doublings)).min(max)
}

/// The connection after a check at `now` found `outcome`.
pub fn after_check(current: &ConnectionState, outcome: CheckOutcome, now: DateTime<Utc>) -> Transition {
    match outcome {
        CheckOutcome::Proven => Transition {
            changed: !matches!(current, ConnectionState::Verified { .. }),
            tell: false,
            state: ConnectionState::Verified { at: now },
            next_check: now + Duration::minutes(VERIFIED_EVERY_MINUTES),
        },
        CheckOutcome::NoAnswer(reason) => {
            let (since, failures) = match current {
                ConnectionState::Unreachable { since, failures, .. } => (*since, failures.saturating_add(1)),
                _ => (now, 1),
            };
            Transition {
                changed: failures == 1,
                tell: failures == TELL_AFTER_FAILURES,
                state: ConnectionState::Unreachable {
                    since,
                    failures,
                    reason,
                },
                next_check: now + backoff(failures),
            }
        }
        CheckOutcome::Wrong(reason) => {
            let same = matches!(current, ConnectionState::Broken { reason: r, .. } if *r == reason);
            let since = match current {
                ConnectionState::Broken { since, .. } if same => *since,
                _ => now,
            };
            Transition {
                changed: !same,
                tell: !same,
                state: ConnectionState::Broken { since, reason },
                next_check: now + Duration::hours(BROKEN_EVERY_HOURS),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-25T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn pending_becomes_verified_and_is_checked_hourly() {
        let t = after_check(&ConnectionState::Pending, CheckOutcome::Proven, t0());
        assert_eq!(t.state, ConnectionState::Verified { at: t0() });
        assert_eq!(t.next_check, t0() + Duration::hours(1));
        assert!(t.changed && !t.tell);
        let again = after_check(&t.state, CheckOutcome::Proven, t0() + Duration::hours(1));
        assert!(!again.changed, "verified again is no change");
    }

    #[test]
    fn unreachable_backs_off_from_a_minute_to_a_day_and_tells_once() {
        let mut state = ConnectionState::Verified { at: t0() };
        let mut now = t0();
        let mut waits = Vec::new();
        let mut told = 0;
        let mut changes = 0;
        for _ in 0..14 {
            let t = after_check(&state, CheckOutcome::NoAnswer("timed out after 5 s".into()), now);
            waits.push((t.next_check - now).num_minutes());
            told += usize::from(t.tell);
            changes += usize::from(t.changed);
            now = t.next_check;
            state = t.state;
        }
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 1440, 1440, 1440]);
        assert_eq!(
            (changes, told),
            (1, 1),
            "one event on becoming unreachable, one email at the 4th failure"
        );
        let ConnectionState::Unreachable { since, failures, .. } = state.clone() else {
            panic!("{state:?}")
        };
        assert_eq!((since, failures), (t0(), 14));
        let back = after_check(&state, CheckOutcome::Proven, now);
        assert_eq!(back.state, ConnectionState::Verified { at: now });
        assert!(back.changed);
        assert_eq!(backoff(u32::MAX), Duration::hours(24));
    }

    #[test]
    fn a_changed_url_breaks_the_connection_and_tells_once() {
        let wrong = || {
            CheckOutcome::Wrong(BrokenReason::OtherUrl {
                answered: "https://new.contoso.example.com".into(),
            })
        };
        let t = after_check(&ConnectionState::Verified { at: t0() }, wrong(), t0());
        assert!(matches!(t.state, ConnectionState::Broken { since, .. } if since == t0()));
        assert!(t.changed && t.tell);
        assert_eq!(t.next_check, t0() + Duration::hours(24));
        let later = t0() + Duration::hours(24);
        let again = after_check(&t.state, wrong(), later);
        assert!(!again.changed && !again.tell, "the same break again: no second email");
        assert!(matches!(again.state, ConnectionState::Broken { since, .. } if since == t0()));
        let other = after_check(&again.state, CheckOutcome::Wrong(BrokenReason::ProfileMissing), later);
        assert!(other.changed && other.tell, "another reason is another change");
        assert!(t.state.name() == "broken" && BrokenReason::ProfileMissing.describe().contains("Partner Support"));
    }

    #[test]
    fn a_recreated_connection_is_pending_and_proves_itself() {
        let recreated = ConnectionState::Pending;
        let t = after_check(&recreated, CheckOutcome::Proven, t0());
        assert!(matches!(t.state, ConnectionState::Verified { .. }) && t.changed);
    }
}
