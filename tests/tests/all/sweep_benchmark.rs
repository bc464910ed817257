//! Benchmark, not a timed test: the inactivity sweep with 100,000 partner
//! users of whom 100 are past the line reads the 100 candidates from the
//! sparse index and the chain heads of their organisations, nothing else.
//! The figures (items read, round trips, wall time) are printed and, when
//! `PORTICO_REPORTS_DIR` is set (scripts/test sets it), written there for
//! the run's summary. Only the counts are asserted.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};

use async_trait::async_trait;
use chrono::{Duration, Utc};
use futures::StreamExt;
use portico_core::accounts::Login;
use portico_core::clock::{Clock, ManualClock};
use portico_core::domain::{DisplayName, EmailAddress, OrgId, OrgKind, OrgRef, Role, User, UserId, UserStatus};
use portico_core::inactivity::UserActivity;
use portico_core::jobs::{self, Job};
use portico_core::store::{Cond, Index, Item, Key, Page, Query, StoreError, Table, Write, keys};
use portico_tests::{Backend, Options, TestApp};

const USERS: usize = 100_000;
const STALE: usize = 100;
const ORGS: usize = 10;

#[derive(Default)]
struct Counters {
    read_trips: AtomicU64,
    items_read: AtomicU64,
    index_entries: AtomicU64,
    keys_looked_up: AtomicU64,
    write_trips: AtomicU64,
}

struct Counting(Arc<dyn Table>, Arc<Counters>);

#[async_trait]
impl Table for Counting {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        let out = self.0.get(key).await?;
        self.1.read_trips.fetch_add(1, SeqCst);
        self.1.keys_looked_up.fetch_add(1, SeqCst);
        self.1.items_read.fetch_add(u64::from(out.is_some()), SeqCst);
        Ok(out)
    }
    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Item>>, StoreError> {
        let out = self.0.get_many(keys).await?;
        self.1.read_trips.fetch_add(1, SeqCst);
        self.1.keys_looked_up.fetch_add(keys.len() as u64, SeqCst);
        self.1
            .items_read
            .fetch_add(out.iter().filter(|i| i.is_some()).count() as u64, SeqCst);
        Ok(out)
    }
    async fn query(&self, q: &Query) -> Result<Page, StoreError> {
        let out = self.0.query(q).await?;
        self.1.read_trips.fetch_add(1, SeqCst);
        self.1.items_read.fetch_add(out.items.len() as u64, SeqCst);
        if q.index == Index::Gsi2 && q.pk == keys::INACTIVITY {
            self.1.index_entries.fetch_add(out.items.len() as u64, SeqCst);
        }
        Ok(out)
    }
    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        self.1.write_trips.fetch_add(1, SeqCst);
        self.0.transact(writes).await
    }
}

fn user(n: usize, org: OrgId, at: chrono::DateTime<Utc>) -> User {
    let mut u = User::invited(
        UserId(uuid::Uuid::from_u128(0xbe00_0000_0000 + n as u128)),
        &OrgRef {
            id: org,
            kind: OrgKind::Partner,
            mfa_required: true,
        },
        EmailAddress::parse(&format!("user{n}@bench.example.com")).unwrap(),
        DisplayName::parse("Bench User").unwrap(),
        Role::PartnerUser,
        at,
    )
    .unwrap();
    u.status = UserStatus::Active;
    u
}

pub async fn sweep_of_100k_users_reads_only_the_100_stale(b: Backend) {
    let counters = Arc::new(Counters::default());
    let c2 = counters.clone();
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_with(
        b,
        Options {
            clock: clock.clone(),
            wrap: Some(Box::new(move |t| Arc::new(Counting(t, c2)) as Arc<dyn Table>)),
            ..Default::default()
        },
    )
    .await;
    let now = clock.now();
    let orgs: Vec<OrgId> = (0..ORGS)
        .map(|i| OrgId(uuid::Uuid::from_u128(0xbe0f_0000 + i as u128)))
        .collect();
    // 99,900 users active in the last 10 days; 100 last active 22 to 30 days ago.
    let seeding = std::time::Instant::now();
    let batches: Vec<Vec<Write>> = (0..USERS)
        .collect::<Vec<_>>()
        .chunks(90)
        .map(|chunk| {
            let mut writes = Vec::new();
            for &n in chunk {
                let stale = n % (USERS / STALE) == 0;
                let last = if stale {
                    now - Duration::days(22 + (n % 9) as i64)
                } else {
                    now - Duration::minutes((n % (10 * 24 * 60)) as i64)
                };
                // Stale users spread over the organisations too.
                let org = if stale { (n / (USERS / STALE)) % ORGS } else { n % ORGS };
                let u = user(n, orgs[org], last);
                writes.push(UserActivity::fresh(&u, last).write(None).unwrap());
                if stale {
                    writes.push(Write::Put {
                        item: u.item().unwrap(),
                        cond: Cond::None,
                    });
                    writes.push(Write::Put {
                        item: Login::of(&u).item(&u.email).unwrap(),
                        cond: Cond::None,
                    });
                }
            }
            writes
        })
        .collect();
    let table = app.deps.table.clone();
    futures::stream::iter(batches)
        .map(|w| {
            let t = table.clone();
            async move { t.transact(w).await.unwrap() }
        })
        .buffer_unordered(8)
        .collect::<Vec<_>>()
        .await;
    let seeded_in = seeding.elapsed();

    for c in [
        &counters.read_trips,
        &counters.items_read,
        &counters.index_entries,
        &counters.keys_looked_up,
        &counters.write_trips,
    ] {
        c.store(0, SeqCst);
    }
    let started = std::time::Instant::now();
    let report = jobs::run(&app.deps, Job::SuspendInactive).await.unwrap();
    let took = started.elapsed();
    let sweep = report.sweep.unwrap();
    let (index, items, lookups, reads, writes) = (
        counters.index_entries.load(SeqCst),
        counters.items_read.load(SeqCst),
        counters.keys_looked_up.load(SeqCst),
        counters.read_trips.load(SeqCst),
        counters.write_trips.load(SeqCst),
    );
    let line = format!(
        "inactivity sweep ({b:?}): {USERS} users, {STALE} stale -> suspended {}, warned {}; \
         items read {items} ({index} index entries; {lookups} chain-head keys looked up, none existing yet), \
         read round trips {reads}, write round trips {writes}, wall time {} ms (seeding took {} s)",
        sweep.suspended,
        sweep.warned,
        took.as_millis(),
        seeded_in.as_secs()
    );
    println!("{line}");
    if let Ok(dir) = std::env::var("PORTICO_REPORTS_DIR") {
        std::fs::write(format!("{dir}/sweep-benchmark-{b:?}.txt"), format!("{line}\n")).unwrap();
    }
    assert_eq!(
        (sweep.suspended, sweep.warned, sweep.failed.len()),
        (STALE as u64, 0, 0)
    );
    assert_eq!(index, STALE as u64, "the index gave only the users past the line");
    assert!(items <= (STALE + ORGS) as u64, "{items} items read");
    assert_eq!(lookups, ORGS as u64, "one chain head per organisation, read once");
    assert!(
        reads <= 3,
        "{reads} read round trips: one page of the index, one batch of heads"
    );
    assert_eq!(writes, STALE as u64, "one transaction per suspension");
    // Nothing is left to do.
    let again = jobs::run(&app.deps, Job::SuspendInactive).await.unwrap();
    assert_eq!(again.examined, 0);
}

#[tokio::test]
async fn embedded_sqlite() {
    sweep_of_100k_users_reads_only_the_100_stale(Backend::Sqlite).await
}

#[tokio::test]
async fn dynamodb_local() {
    sweep_of_100k_users_reads_only_the_100_stale(Backend::Dynamo).await
}
