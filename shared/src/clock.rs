//! Time and identifier generation, injected so tests are exact.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to (tests).
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new(at: DateTime<Utc>) -> Self {
        Self(Mutex::new(at))
    }
    pub fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = at;
    }
    pub fn advance(&self, by: Duration) {
        let mut t = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *t += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

pub trait IdGen: Send + Sync {
    fn new_id(&self) -> Uuid;
}

/// Time-ordered random identifiers (UUIDv7).
#[derive(Debug, Default, Clone, Copy)]
pub struct RandomIds;

impl IdGen for RandomIds {
    fn new_id(&self) -> Uuid {
        Uuid::now_v7()
    }
}

/// Predictable identifiers for tests: `00000000-0000-0000-0000-<n>` with a
/// per-generator prefix so that two generators never collide.
#[derive(Debug)]
pub struct SequentialIds {
    prefix: u64,
    next: AtomicU64,
}

impl SequentialIds {
    pub fn new(prefix: u32) -> Self {
        Self {
            prefix: u64::from(prefix),
            next: AtomicU64::new(1),
        }
    }
    /// The id the next call to `new_id` will return.
    pub fn peek(&self) -> Uuid {
        self.make(self.next.load(Ordering::SeqCst))
    }
    fn make(&self, n: u64) -> Uuid {
        Uuid::from_u64_pair(self.prefix << 32, n)
    }
}

impl IdGen for SequentialIds {
    fn new_id(&self) -> Uuid {
        self.make(self.next.fetch_add(1, Ordering::SeqCst))
    }
}
