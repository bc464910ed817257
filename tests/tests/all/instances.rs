//! Customer instances and their connections, on both backends, against the
//! reference instance over real HTTP: a verified connection; a changed URL
//! breaks it (one event, one email each to the partner's managers and the
//! platform's admins); no answer backs off from 1 minute and comes back;
//! a recreate request, the recreation, verified again; the SSRF refusals;
//! and the sweep of due connections reads only those due.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};

use chrono::{Duration, Utc};
use futures::StreamExt;
use portico_core::clock::{Clock, ManualClock};
use portico_core::connections::ConnectionState;
use portico_core::domain::{InstanceId, InstanceName, OrgId, OrgName, Role, UserId};
use portico_core::instances::{BaseUrl, Connection, Profile};
use portico_core::jobs::{self, Job};
use portico_core::outbound::Policy;
use portico_core::store::{Cond, Item, Key, Page, Query, StoreError, Table, Write, keys};
use portico_tests::{Backend, Options, TestApp, reference_instance};
use reference_instance::{Instance, Setup};
use serde_json::{Value, json};

const ADMIN: &str = "admin@portico.example.com";
const MANAGER: &str = "manager@northwind.example.com";

pub(crate) struct World {
    pub(crate) app: TestApp,
    pub(crate) clock: Arc<ManualClock>,
    pub(crate) instance: Instance,
    pub(crate) base: String,
    pub(crate) customer: String,
    pub(crate) id: String,
    pub(crate) name: String,
}

impl World {
    pub(crate) async fn new(b: Backend) -> Self {
        Self::with_options(b, Options::default()).await
    }

    /// As [`World::new`], with `opts` (its clock replaced by the world's).
    pub(crate) async fn with_options(b: Backend, opts: Options) -> Self {
        let clock = Arc::new(ManualClock::new(Utc::now()));
        let app = TestApp::spawn_with(
            b,
            Options {
                clock: clock.clone(),
                ..opts
            },
        )
        .await;
        let (instance, base) = reference_instance().await;
        let c = clock.clone();
        instance.set_clock(Arc::new(move || c.now().timestamp()));
        instance.set_portico(&app.base);
        let customer = app.orgs[&Role::CustomerAccountOwner].to_string();
        // Unique per test: moto's SES is shared by the tests running at once.
        let name = format!("Production {}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let (status, body) = app
            .post(
                &format!("/customers/{customer}/instances"),
                Some(app.token(Role::PlatformAdmin)),
                json!({ "name": name, "url": base }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["instance"]["connection"]["state"], "pending");
        let id = body["instance"]["id"].as_str().unwrap().to_string();
        let secret = body["secret"].as_str().unwrap().to_string();
        assert!(secret.starts_with("pcs_") && secret.len() == 47, "{secret}");
        instance.configure(Setup {
            instance_id: id.clone(),
            secret,
            url: base.clone(),
            profile: Profile::Present,
        });
        Self {
            app,
            clock,
            instance,
            base,
            customer,
            id,
            name,
        }
    }

    /// The customer's Account Owner lets partners in to this instance
    /// (standing consent, no end): LogMeIn, and settings that reach it.
    pub(crate) async fn allow_partners(&self) {
        self.consent(json!({ "mode": "standing" })).await;
    }

    /// Sets this instance's consent as the customer's Account Owner.
    pub(crate) async fn consent(&self, body: Value) -> Value {
        let (status, view) = self
            .app
            .put(
                &format!("/customers/{}/instances/{}/access", self.customer, self.id),
                self.app.token(Role::CustomerAccountOwner),
                body,
            )
            .await;
        assert_eq!(status, 200, "{view}");
        view
    }

    pub(crate) async fn view(&self) -> Value {
        let (status, body) = self
            .app
            .get_json(
                &format!("/customers/{}/instances/{}", self.customer, self.id),
                // (The clock jumps past partner users' daily email confirmation.)
                self.app.token(Role::CustomerAccountOwner),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }

    pub(crate) async fn state(&self) -> String {
        self.view().await["connection"]["state"].as_str().unwrap().to_string()
    }

    /// Moves the clock to the next check and runs the sweep.
    pub(crate) async fn next_check(&self) -> portico_core::ops::instances::CheckReport {
        let next: chrono::DateTime<Utc> =
            serde_json::from_value(self.view().await["connection"]["nextCheck"].clone()).unwrap();
        self.clock.set(next);
        jobs::run(&self.app.deps, Job::VerifyConnection)
            .await
            .unwrap()
            .checks
            .unwrap()
    }

    pub(crate) async fn notices(&self, to: &str) -> usize {
        self.app
            .subjects_to(to)
            .await
            .iter()
            .filter(|s| s.contains(&self.name))
            .count()
    }

    /// The descriptions of the customer's events about this instance, oldest first.
    pub(crate) async fn events(&self) -> Vec<String> {
        let (status, body) = self
            .app
            .get_json(
                &format!("/organizations/{}/activity?limit=100", self.customer),
                self.app.token(Role::PlatformAdmin),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let mut out: Vec<String> = body["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["target"]["id"] == self.id.as_str())
            .map(|e| e["description"].as_str().unwrap().to_string())
            .collect();
        out.reverse();
        out
    }
}

async fn a_connection_is_verified(b: Backend) {
    let w = World::new(b).await;
    // Nothing is due before the first check's minute.
    let early = jobs::run(&w.app.deps, Job::VerifyConnection).await.unwrap();
    assert_eq!(early.examined, 0);
    let report = w.next_check().await;
    assert_eq!(
        (report.examined, report.verified, report.changed),
        (1, 1, 1),
        "{report:?}"
    );
    let v = w.view().await;
    assert_eq!(v["connection"]["state"], "verified", "{v}");
    assert_eq!(v["connection"]["since"], json!(w.clock.now()));
    let next: chrono::DateTime<Utc> = serde_json::from_value(v["connection"]["nextCheck"].clone()).unwrap();
    assert_eq!(
        next - w.clock.now(),
        Duration::hours(1),
        "verified connections are checked hourly"
    );
    // Verified again: no new event.
    let again = w.next_check().await;
    assert_eq!((again.verified, again.changed), (1, 0));
    let events = w.events().await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(events[0].starts_with("Registered the instance"), "{events:?}");
    assert!(events[1].ends_with("is verified"), "{events:?}");
}

async fn a_changed_url_breaks_the_connection_once(b: Backend) {
    let w = World::new(b).await;
    w.next_check().await;
    assert_eq!(w.state().await, "verified");
    // The instance moved: it now believes it lives elsewhere.
    w.instance.update(|s| s.url = "https://new.contoso.example.com".into());
    let report = w.next_check().await;
    assert_eq!((report.broken, report.changed), (1, 1), "{report:?}");
    let v = w.view().await;
    assert_eq!(v["connection"]["state"], "broken", "{v}");
    assert_eq!(v["connection"]["reasonKind"], "other_url", "{v}");
    assert!(
        v["connection"]["reason"]
            .as_str()
            .unwrap()
            .contains("https://new.contoso.example.com"),
        "{v}"
    );
    assert_eq!((w.notices(MANAGER).await, w.notices(ADMIN).await), (1, 1));
    // Still broken a day later: no second event, no second email.
    let again = w.next_check().await;
    assert_eq!((again.broken, again.changed), (1, 0));
    assert_eq!((w.notices(MANAGER).await, w.notices(ADMIN).await), (1, 1));
    let events = w.events().await;
    assert_eq!(events.len(), 3, "{events:?}");
    assert!(
        events[2].contains("is broken") && events[2].contains("another URL"),
        "{events:?}"
    );
    // A missing Partner Support profile is another reason: told again.
    w.instance.update(|s| {
        s.url = w.base.clone();
        s.profile = Profile::Missing;
    });
    w.next_check().await;
    assert_eq!(w.view().await["connection"]["reasonKind"], "profile_missing");
    assert_eq!((w.notices(MANAGER).await, w.notices(ADMIN).await), (2, 2));
}

async fn no_answer_backs_off_then_verifies_again(b: Backend) {
    let w = World::new(b).await;
    w.next_check().await;
    w.instance.set_down(true);
    let mut waits = Vec::new();
    for _ in 0..6 {
        let report = w.next_check().await;
        assert_eq!(report.unreachable, 1, "{report:?}");
        let v = w.view().await;
        let next: chrono::DateTime<Utc> = serde_json::from_value(v["connection"]["nextCheck"].clone()).unwrap();
        waits.push((next - w.clock.now()).num_minutes());
        assert_eq!(v["connection"]["state"], "unreachable");
        assert!(v["connection"]["reason"].as_str().unwrap().contains("503"), "{v}");
    }
    assert_eq!(waits, [1, 2, 4, 8, 16, 32], "backoff from 1 minute, doubling");
    assert_eq!(w.view().await["connection"]["failures"], 6);
    assert_eq!(
        (w.notices(MANAGER).await, w.notices(ADMIN).await),
        (1, 1),
        "told once, at the 4th failure in a row"
    );
    w.instance.set_down(false);
    let back = w.next_check().await;
    assert_eq!((back.verified, back.changed), (1, 1));
    assert_eq!(w.state().await, "verified");
    let events = w.events().await;
    assert_eq!(
        events.len(),
        4,
        "registered, verified, unreachable, verified: {events:?}"
    );
}

async fn a_recreate_request_is_recreated_and_verified(b: Backend) {
    let w = World::new(b).await;
    w.next_check().await;
    // The instance moved to a new address (a new reference instance there).
    let (moved, new_base) = reference_instance().await;
    let c = w.clock.clone();
    moved.set_clock(Arc::new(move || c.now().timestamp()));
    w.instance.update(|s| s.url = new_base.clone());
    w.next_check().await;
    assert_eq!(w.state().await, "broken");
    let path = format!("/customers/{}/instances/{}", w.customer, w.id);
    // A partner user may not ask; the Partner Manager may, once.
    let (status, _) = w
        .app
        .post(
            &format!("{path}/recreate-requests"),
            Some(w.app.token(Role::PartnerUser)),
            json!({}),
        )
        .await;
    assert_eq!(status, 403);
    let ask = json!({ "newUrl": new_base, "note": "We moved the server." });
    let (status, body) = w
        .app
        .post(
            &format!("{path}/recreate-requests"),
            Some(w.app.token(Role::PartnerManager)),
            ask.clone(),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = w
        .app
        .post(
            &format!("{path}/recreate-requests"),
            Some(w.app.token(Role::PartnerManager)),
            ask,
        )
        .await;
    assert_eq!(status, 409, "{body}");
    let (status, queue) = w
        .app
        .get_json("/recreate-requests", w.app.token(Role::PlatformAdmin))
        .await;
    assert_eq!(status, 200);
    let mine: Vec<&Value> = queue["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["instanceId"] == w.id.as_str())
        .collect();
    assert_eq!(mine.len(), 1, "{queue}");
    assert_eq!(mine[0]["newUrl"], new_base.as_str());
    // Only the platform recreates.
    let (status, _) = w
        .app
        .post(
            &format!("{path}/recreate"),
            Some(w.app.token(Role::PartnerManager)),
            json!({}),
        )
        .await;
    assert_eq!(status, 403);
    let (status, body) = w
        .app
        .post(
            &format!("{path}/recreate"),
            Some(w.app.token(Role::PlatformAdmin)),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["instance"]["url"], new_base.as_str(), "the request's new URL");
    assert_eq!(body["instance"]["connection"]["state"], "pending");
    assert_eq!(body["instance"]["connection"]["generation"], 2);
    let secret = body["secret"].as_str().unwrap().to_string();
    let (_, queue) = w
        .app
        .get_json("/recreate-requests", w.app.token(Role::PlatformAdmin))
        .await;
    assert!(
        !queue["requests"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["instanceId"] == w.id.as_str()),
        "the request is settled"
    );
    // The vendor installs the new secret at the new address: verified.
    moved.configure(Setup {
        instance_id: w.id.clone(),
        secret,
        url: new_base.clone(),
        profile: Profile::Present,
    });
    assert!(moved.support_profile().is_none(), "a new instance has no profile yet");
    let report = w.next_check().await;
    assert_eq!(report.verified, 1, "{report:?}");
    // The recreated connection provisioned the Partner Support profile again.
    let profile = moved.support_profile().expect("the profile, re-provisioned");
    assert_eq!(profile.subject, format!("partner-support:{}", w.id));
    let mut roles: Vec<&str> = profile.roles.iter().map(|r| r.as_str()).collect();
    roles.sort();
    assert_eq!(roles, ["Admin", "Developer", "IT Admin"]);
    let events = w.events().await;
    assert!(
        events.iter().any(|e| e.starts_with("Asked the platform to recreate")),
        "{events:?}"
    );
    assert!(
        events.iter().any(|e| e.starts_with("Recreated the connection")),
        "{events:?}"
    );
    assert!(events.last().unwrap().ends_with("is verified"), "{events:?}");
    // A secret that is not the connection's proves nothing.
    moved.update(|s| s.secret = "pcs_not_the_connection_secret".into());
    w.clock.advance(Duration::hours(1));
    let (status, body) = w
        .app
        .post(
            &format!("{path}/verify"),
            Some(w.app.token(Role::PlatformAdmin)),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (&body["connection"]["state"], &body["connection"]["reasonKind"]),
        (&json!("broken"), &json!("refused")),
        "Portico's signature does not verify with another secret: the instance refuses (401): {body}"
    );
}

async fn verify_now_checks_at_once(b: Backend) {
    let w = World::new(b).await;
    let path = format!("/customers/{}/instances/{}/verify", w.customer, w.id);
    let (status, body) = w.app.post(&path, Some(w.app.token(Role::PartnerUser)), json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["connection"]["state"], "verified");
    // Another customer's user cannot see it (as if it did not exist).
    let (status, _) = w
        .app
        .post(
            &format!(
                "/customers/{}/instances/{}/verify",
                w.app.orgs[&Role::PartnerManager],
                w.id
            ),
            Some(w.app.token(Role::PartnerUser)),
            json!({}),
        )
        .await;
    assert_eq!(status, 404);
}

both_backends!(
    a_connection_is_verified,
    a_changed_url_breaks_the_connection_once,
    no_answer_backs_off_then_verifies_again,
    a_recreate_request_is_recreated_and_verified,
    verify_now_checks_at_once,
    the_sweep_reads_only_the_connections_due
);

/// Counts what the sweep reads.
struct Counting(
    Arc<dyn Table>,
    Arc<std::sync::atomic::AtomicU64>,
    Arc<std::sync::atomic::AtomicU64>,
);

#[async_trait::async_trait]
impl Table for Counting {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        let out = self.0.get(key).await?;
        self.2.fetch_add(u64::from(out.is_some()), SeqCst);
        Ok(out)
    }
    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Item>>, StoreError> {
        let out = self.0.get_many(keys).await?;
        self.2
            .fetch_add(out.iter().filter(|i| i.is_some()).count() as u64, SeqCst);
        Ok(out)
    }
    async fn query(&self, q: &Query) -> Result<Page, StoreError> {
        let out = self.0.query(q).await?;
        if q.pk == keys::CONNECTION_CHECKS {
            self.1.fetch_add(out.items.len() as u64, SeqCst);
        }
        self.2.fetch_add(out.items.len() as u64, SeqCst);
        Ok(out)
    }
    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        self.0.transact(writes).await
    }
}

const INSTANCES: usize = 10_000;
const DUE: usize = 50;

/// 10,000 instances of which 50 are due: the sweep reads the 50 from the
/// index (and, to record each change, its customer's chain head), nothing else.
async fn the_sweep_reads_only_the_connections_due(b: Backend) {
    let (index, items) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let (i2, it2) = (index.clone(), items.clone());
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_with(
        b,
        Options {
            clock: clock.clone(),
            wrap: Some(Box::new(move |t| Arc::new(Counting(t, i2, it2)) as Arc<dyn Table>)),
            ..Default::default()
        },
    )
    .await;
    let now = clock.now();
    let id_of = |n: usize| InstanceId(uuid::Uuid::from_u128(0x1_0000_0000 + n as u128));
    let is_due = |n: usize| n.is_multiple_of(INSTANCES / DUE);
    // The due ones' secrets, each sealed to its connection (the others are never opened).
    let mut sealed = std::collections::HashMap::new();
    for n in (0..INSTANCES).filter(|n| is_due(*n)) {
        let s = app
            .deps
            .sealer
            .seal(b"pcs_bench", &Connection::context(id_of(n), 1))
            .await
            .unwrap();
        sealed.insert(n, s);
    }
    let unused = sealed[&0].clone();
    let writes: Vec<Write> = (0..INSTANCES)
        .map(|n| {
            let due = is_due(n);
            let id = id_of(n);
            // 100 customers; the due ones are 50 customers' (one each).
            let c = if due { n / (INSTANCES / DUE) } else { n % 100 };
            let customer = OrgId(uuid::Uuid::from_u128(0xc_0000 + c as u128));
            let instance = portico_core::instances::Instance {
                id,
                customer_id: customer,
                customer_name: OrgName::parse(&format!("Bench {c}")).unwrap(),
                partner_id: None,
                name: InstanceName::parse(&format!("Server {n}")).unwrap(),
                // A closed port: the due ones answer nothing, at once.
                url: BaseUrl::parse("http://127.0.0.1:9", Policy { allow_loopback: true }).unwrap(),
                created_at: now,
                created_by: UserId(uuid::Uuid::nil()),
                connection: Connection {
                    state: ConnectionState::Verified { at: now },
                    next_check: if due {
                        now - Duration::minutes(1 + (n % 7) as i64)
                    } else {
                        now + Duration::minutes(1 + (n % 59) as i64)
                    },
                    last_checked: Some(now - Duration::hours(1)),
                    secret: sealed.get(&n).unwrap_or(&unused).clone(),
                    generation: 1,
                    created_at: now,
                },
                acknowledged: None,
                profile: Default::default(),
                version: 1,
            };
            Write::Put {
                item: instance.item().unwrap(),
                cond: Cond::None,
            }
        })
        .collect();
    let batches: Vec<Vec<Write>> = writes.chunks(100).map(|c| c.to_vec()).collect();
    let table = app.deps.table.clone();
    futures::stream::iter(batches)
        .map(|w| {
            let t = table.clone();
            async move { t.transact(w).await.unwrap() }
        })
        .buffer_unordered(8)
        .collect::<Vec<_>>()
        .await;
    index.store(0, SeqCst);
    items.store(0, SeqCst);
    let report = jobs::run(&app.deps, Job::VerifyConnection).await;
    let line = format!(
        "connection sweep ({b:?}): {INSTANCES} instances, {DUE} due -> {:?}; index entries read {}, items read in all {}",
        report.as_ref().map(|r| &r.checks),
        index.load(SeqCst),
        items.load(SeqCst)
    );
    println!("{line}");
    if let Ok(dir) = std::env::var("PORTICO_REPORTS_DIR") {
        std::fs::write(format!("{dir}/connection-sweep-{b:?}.txt"), format!("{line}\n")).unwrap();
    }
    let checks = report.unwrap().checks.unwrap();
    assert_eq!(
        (checks.examined, checks.unreachable, checks.changed),
        (DUE as u64, DUE as u64, DUE as u64)
    );
    assert_eq!(
        index.load(SeqCst),
        DUE as u64,
        "the index gave only the connections due"
    );
    assert!(
        items.load(SeqCst) <= 2 * DUE as u64,
        "the due connections and their customers' chain heads: {}",
        items.load(SeqCst)
    );
    // Each is next due a minute later: nothing is due now.
    index.store(0, SeqCst);
    let again = jobs::run(&app.deps, Job::VerifyConnection).await.unwrap();
    assert_eq!((again.examined, index.load(SeqCst)), (0, 0));
}
