//! Suspension after 3 weeks without activity, on both backends, with an
//! injected clock: where the line falls (20, 21, 22 days), one warning,
//! two sweeps at once, activity racing the sweep, a failure mid-sweep, and
//! the way back (a restore request, a platform admin's reinstatement, sign-in
//! again); and how requests record activity (at most hourly).

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use portico_core::accounts::Login;
use portico_core::audit::ActivityEvent;
use portico_core::clock::{Clock, ManualClock};
use portico_core::domain::{DisplayName, EmailAddress, OrgRef, Organization, Role, User, UserId, UserStatus};
use portico_core::identity::local::LocalIdentity;
use portico_core::inactivity::UserActivity;
use portico_core::jobs::{self, Job};
use portico_core::ops::inactivity::SweepReport;
use portico_core::store::{Cond, Index, Item, Key, Page, Query, StoreError, Table, Write, keys};
use portico_tests::{Backend, Options, PASSWORD, TestApp};
use serde_json::json;

async fn app_at(b: Backend, wrap: Option<portico_tests::TableWrapper>) -> (TestApp, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_with(
        b,
        Options {
            clock: clock.clone(),
            wrap,
            ..Default::default()
        },
    )
    .await;
    (app, clock)
}

/// A Northwind partner user who set up their account and was last active at `last`.
async fn partner_user(app: &TestApp, email: &str, last: DateTime<Utc>) -> UserId {
    let partner = app.orgs[&Role::PartnerManager];
    let org: Organization = app
        .deps
        .table
        .get(&keys::org(partner))
        .await
        .unwrap()
        .unwrap()
        .decode()
        .unwrap();
    let mut user = User::invited(
        UserId(uuid::Uuid::new_v4()),
        &OrgRef::from(&org),
        EmailAddress::parse(email).unwrap(),
        DisplayName::parse("Idle Ian").unwrap(),
        Role::PartnerUser,
        last,
    )
    .unwrap();
    user.status = UserStatus::Active;
    let login = Login::of(&user);
    app.deps
        .table
        .transact(vec![
            Write::Put {
                item: user.item().unwrap(),
                cond: Cond::MustNotExist,
            },
            Write::Put {
                item: login.item(&user.email).unwrap(),
                cond: Cond::MustNotExist,
            },
            UserActivity::fresh(&user, last).write(None).unwrap(),
        ])
        .await
        .unwrap();
    user.id
}

async fn login_of(app: &TestApp, email: &str) -> Login {
    let key = keys::login(&EmailAddress::parse(email).unwrap());
    app.deps.table.get(&key).await.unwrap().unwrap().decode().unwrap()
}

async fn status(app: &TestApp, user: UserId) -> UserStatus {
    app.deps
        .table
        .get(&keys::user(user))
        .await
        .unwrap()
        .unwrap()
        .decode::<User>()
        .unwrap()
        .status
}

async fn sweep(app: &TestApp) -> SweepReport {
    jobs::run(&app.deps, Job::SuspendInactive).await.unwrap().sweep.unwrap()
}

/// The events about `user` in Northwind's log, oldest first.
async fn events_about(app: &TestApp, user: UserId) -> Vec<ActivityEvent> {
    let partner = app.orgs[&Role::PartnerManager];
    let page = app
        .deps
        .table
        .query(&Query::partition(Index::Primary, keys::activity_partition(partner)).limit(1000))
        .await
        .unwrap();
    page.items
        .iter()
        .map(|i| i.decode::<ActivityEvent>().unwrap())
        .filter(|e| e.target.id == user.to_string())
        .collect()
}

async fn warnings_to(app: &TestApp, email: &str) -> usize {
    app.subjects_to(email)
        .await
        .iter()
        .filter(|s| s.contains("will be suspended"))
        .count()
}

pub async fn the_line_falls_at_21_days(b: Backend) {
    let (app, clock) = app_at(b, None).await;
    let now = clock.now();
    let u20 = partner_user(&app, "twenty@northwind.example.com", now - Duration::days(20)).await;
    let u21 = partner_user(&app, "twentyone@northwind.example.com", now - Duration::days(21)).await;
    let u22 = partner_user(&app, "twentytwo@northwind.example.com", now - Duration::days(22)).await;
    let fresh = partner_user(&app, "fresh@northwind.example.com", now - Duration::hours(3)).await;
    let r = sweep(&app).await;
    assert_eq!(
        (r.examined, r.suspended, r.warned, r.failed.len()),
        (3, 2, 1, 0),
        "{r:?}"
    );
    assert_eq!(
        status(&app, u20).await,
        UserStatus::Active,
        "20 days: warned, not suspended"
    );
    assert_eq!(status(&app, u21).await, UserStatus::Suspended);
    assert_eq!(status(&app, u22).await, UserStatus::Suspended);
    assert_eq!(status(&app, fresh).await, UserStatus::Active);
    assert_eq!(warnings_to(&app, "twenty@northwind.example.com").await, 1);
    // Each suspension is one event, written with it; the login knows too.
    let e = events_about(&app, u22).await;
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].action.name(), "Update User Profile");
    assert!(e[0].description.contains("for inactivity"), "{}", e[0].description);
    assert_eq!(e[0].after, Some(json!({ "status": "suspended" })));
    let login = login_of(&app, "twentytwo@northwind.example.com").await;
    assert!(login.suspended);
    // Suspended users leave the index: the next sweep reads only the warned one.
    let r = sweep(&app).await;
    assert_eq!((r.examined, r.suspended, r.warned, r.skipped), (1, 0, 0, 1), "{r:?}");
    // A day later the 20-day user crosses the line.
    clock.advance(Duration::days(1));
    let r = sweep(&app).await;
    assert_eq!((r.suspended, r.warned), (1, 0), "{r:?}");
    assert_eq!(status(&app, u20).await, UserStatus::Suspended);
}

pub async fn one_warning_then_a_new_one_after_new_activity(b: Backend) {
    let (app, clock) = app_at(b, None).await;
    let email = "quiet@northwind.example.com";
    let user = partner_user(&app, email, clock.now() - Duration::days(19)).await;
    sweep(&app).await;
    sweep(&app).await;
    clock.advance(Duration::hours(20));
    sweep(&app).await;
    assert_eq!(warnings_to(&app, email).await, 1, "one warning, however many sweeps");
    let warned: Vec<_> = events_about(&app, user)
        .await
        .into_iter()
        .filter(|e| e.description.starts_with("Warned"))
        .collect();
    assert_eq!(warned.len(), 1);
    // Active again, quiet again: warned again.
    let item = app.deps.table.get(&keys::user_activity(user)).await.unwrap().unwrap();
    let mut a: UserActivity = item.decode().unwrap();
    a.last_active_at = clock.now();
    a.warned_at = None;
    app.deps
        .table
        .transact(vec![a.write(Some(item.version)).unwrap()])
        .await
        .unwrap();
    clock.advance(Duration::days(19));
    sweep(&app).await;
    assert_eq!(warnings_to(&app, email).await, 2);
    assert_eq!(status(&app, user).await, UserStatus::Active);
}

pub async fn two_sweeps_at_once_do_everything_once(b: Backend) {
    let (app, clock) = app_at(b, None).await;
    let now = clock.now();
    let mut stale = Vec::new();
    for i in 0..6 {
        stale.push(
            partner_user(
                &app,
                &format!("stale{i}@northwind.example.com"),
                now - Duration::days(25 + i),
            )
            .await,
        );
    }
    let mut warned = Vec::new();
    for i in 0..3 {
        warned.push(
            partner_user(
                &app,
                &format!("warn{i}@northwind.example.com"),
                now - Duration::days(19),
            )
            .await,
        );
    }
    let (a, b2) = tokio::join!(sweep(&app), sweep(&app));
    assert_eq!(a.suspended + b2.suspended, 6, "{a:?} {b2:?}");
    assert_eq!(a.warned + b2.warned, 3, "{a:?} {b2:?}");
    assert!(a.failed.is_empty() && b2.failed.is_empty());
    for u in &stale {
        assert_eq!(status(&app, *u).await, UserStatus::Suspended);
        assert_eq!(events_about(&app, *u).await.len(), 1, "one event per suspension");
    }
    for (i, u) in warned.iter().enumerate() {
        assert_eq!(warnings_to(&app, &format!("warn{i}@northwind.example.com")).await, 1);
        assert_eq!(events_about(&app, *u).await.len(), 1);
    }
    let (s, v) = app
        .get_json(
            &format!("/organizations/{}/activity/verify", app.orgs[&Role::PartnerManager]),
            app.token(Role::PlatformAdmin),
        )
        .await;
    assert_eq!((s, v["intact"].clone()), (200, json!(true)), "{v}");
}

/// Lets a user act between the sweep's read and its write.
struct Racing {
    inner: Arc<dyn Table>,
    user: Mutex<Option<UserId>>,
    now: DateTime<Utc>,
}

#[async_trait::async_trait]
impl Table for Racing {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        self.inner.get(key).await
    }
    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Item>>, StoreError> {
        self.inner.get_many(keys).await
    }
    async fn query(&self, q: &Query) -> Result<Page, StoreError> {
        self.inner.query(q).await
    }
    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        let racer = *self.user.lock().unwrap();
        if let Some(user) = racer {
            let suspends = writes
                .iter()
                .any(|w| w.key() == keys::user(user) && matches!(w, Write::Patch { .. }));
            if suspends {
                self.user.lock().unwrap().take();
                // The user signs in just now.
                let item = self.inner.get(&keys::user_activity(user)).await?.unwrap();
                let mut a: UserActivity = item.decode().unwrap();
                a.last_active_at = self.now;
                self.inner.transact(vec![a.write(Some(item.version)).unwrap()]).await?;
            }
        }
        self.inner.transact(writes).await
    }
}

pub async fn activity_racing_the_sweep_wins(b: Backend) {
    let now = Utc::now();
    let slot: Arc<Mutex<Option<Arc<Racing>>>> = Arc::new(Mutex::new(None));
    let s2 = slot.clone();
    let wrap: portico_tests::TableWrapper = Box::new(move |t| {
        let r = Arc::new(Racing {
            inner: t,
            user: Mutex::new(None),
            now,
        });
        *s2.lock().unwrap() = Some(r.clone());
        r as Arc<dyn Table>
    });
    let (app, clock) = app_at(b, Some(wrap)).await;
    clock.set(now);
    let racer = partner_user(&app, "racer@northwind.example.com", now - Duration::days(30)).await;
    let other = partner_user(&app, "other@northwind.example.com", now - Duration::days(30)).await;
    let table = slot.lock().unwrap().clone().unwrap();
    *table.user.lock().unwrap() = Some(racer);
    let r = sweep(&app).await;
    assert_eq!((r.suspended, r.skipped, r.failed.len()), (1, 1, 0), "{r:?}");
    assert_eq!(
        status(&app, racer).await,
        UserStatus::Active,
        "active since the read: not suspended"
    );
    assert!(events_about(&app, racer).await.is_empty(), "no event");
    assert_eq!(status(&app, other).await, UserStatus::Suspended);
}

/// Fails every write about one user while armed.
struct FailFor(Arc<dyn Table>, Arc<Mutex<Option<UserId>>>);

#[async_trait::async_trait]
impl Table for FailFor {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        self.0.get(key).await
    }
    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Item>>, StoreError> {
        self.0.get_many(keys).await
    }
    async fn query(&self, q: &Query) -> Result<Page, StoreError> {
        self.0.query(q).await
    }
    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        let doomed = *self.1.lock().unwrap();
        if doomed.is_some_and(|u| writes.iter().any(|w| w.key() == keys::user_activity(u))) {
            return Err(StoreError::Unavailable("injected".into()));
        }
        self.0.transact(writes).await
    }
}

pub async fn a_failure_mid_sweep_does_not_stop_the_rest(b: Backend) {
    let doomed = Arc::new(Mutex::new(None));
    let d2 = doomed.clone();
    let (app, clock) = app_at(b, Some(Box::new(move |t| Arc::new(FailFor(t, d2)) as Arc<dyn Table>))).await;
    let now = clock.now();
    let first = partner_user(&app, "first@northwind.example.com", now - Duration::days(40)).await;
    let middle = partner_user(&app, "middle@northwind.example.com", now - Duration::days(30)).await;
    let last = partner_user(&app, "last@northwind.example.com", now - Duration::days(25)).await;
    *doomed.lock().unwrap() = Some(middle);
    let err = jobs::run(&app.deps, Job::SuspendInactive).await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(&middle.to_string()) && text.contains("1 of 3 failed"),
        "{text}"
    );
    assert_eq!(err.status().as_u16(), 500, "the scheduler sees a failed run");
    assert_eq!(status(&app, first).await, UserStatus::Suspended);
    assert_eq!(status(&app, middle).await, UserStatus::Active);
    assert_eq!(status(&app, last).await, UserStatus::Suspended, "the rest went on");
    // The retry finishes the job.
    *doomed.lock().unwrap() = None;
    let r = sweep(&app).await;
    assert_eq!((r.suspended, r.failed.len()), (1, 0));
    assert_eq!(status(&app, middle).await, UserStatus::Suspended);
}

pub async fn a_failed_identity_disable_is_retried_by_the_next_sweep(b: Backend) {
    let faulty: Arc<Mutex<Option<Arc<portico_tests::FaultyIdentity>>>> = Arc::new(Mutex::new(None));
    let f2 = faulty.clone();
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_with(
        b,
        Options {
            clock: clock.clone(),
            wrap_identity: Some(Box::new(move |i| {
                let f = Arc::new(portico_tests::FaultyIdentity::new(i));
                *f2.lock().unwrap() = Some(f.clone());
                f as Arc<dyn portico_core::identity::Identity>
            })),
            ..Default::default()
        },
    )
    .await;
    let identity = faulty.lock().unwrap().clone().unwrap();
    let user = partner_user(
        &app,
        "unplugged@northwind.example.com",
        clock.now() - Duration::days(30),
    )
    .await;
    identity.fail_disable.store(true, std::sync::atomic::Ordering::SeqCst);
    let err = jobs::run(&app.deps, Job::SuspendInactive).await.unwrap_err();
    assert!(err.to_string().contains("identity was not disabled"), "{err}");
    assert_eq!(
        status(&app, user).await,
        UserStatus::Suspended,
        "Portico refuses them already"
    );
    // The retry (the schedule's, or tomorrow's run) finishes the job.
    identity.fail_disable.store(false, std::sync::atomic::Ordering::SeqCst);
    let r = sweep(&app).await;
    assert_eq!((r.identity_retried, r.suspended, r.failed.len()), (1, 0, 0), "{r:?}");
    let r = sweep(&app).await;
    assert_eq!(r.identity_retried, 0, "{r:?}");
}

/// The retry reads an eventually consistent index: a user reinstated since
/// may still be listed as waiting for their identity to be disabled. The
/// record itself, read consistently, says no: the identity is left alone.
pub async fn a_stale_index_does_not_disable_a_reinstated_user(b: Backend) {
    let faulty: Arc<Mutex<Option<Arc<portico_tests::FaultyIdentity>>>> = Arc::new(Mutex::new(None));
    let f2 = faulty.clone();
    let stale: Arc<Mutex<Option<Arc<portico_tests::FaultyTable>>>> = Arc::new(Mutex::new(None));
    let s2 = stale.clone();
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_with(
        b,
        Options {
            clock: clock.clone(),
            wrap: Some(Box::new(move |t| {
                let s = Arc::new(portico_tests::FaultyTable::new(t));
                *s2.lock().unwrap() = Some(s.clone());
                s as Arc<dyn portico_core::store::Table>
            })),
            wrap_identity: Some(Box::new(move |i| {
                let f = Arc::new(portico_tests::FaultyIdentity::new(i));
                *f2.lock().unwrap() = Some(f.clone());
                f as Arc<dyn portico_core::identity::Identity>
            })),
            ..Default::default()
        },
    )
    .await;
    let identity = faulty.lock().unwrap().clone().unwrap();
    let stale = stale.lock().unwrap().clone().unwrap();
    let user = partner_user(&app, "flaky@northwind.example.com", clock.now() - Duration::days(30)).await;
    identity.fail_disable.store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(jobs::run(&app.deps, Job::SuspendInactive).await.is_err());
    identity.fail_disable.store(false, std::sync::atomic::Ordering::SeqCst);
    // The index as it was: the user waiting for their identity to be disabled.
    stale
        .freeze(&Query::partition(Index::Gsi2, keys::IDENTITY_PENDING).limit(100))
        .await;
    let partner = app.orgs[&Role::PartnerManager];
    let (s, body) = app
        .post(
            &format!("/organizations/{partner}/users/{user}/reinstate"),
            Some(app.token(Role::PlatformAdmin)),
            json!({}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let calls_before = identity.disabled.lock().unwrap().len();
    let r = sweep(&app).await;
    assert_eq!((r.identity_retried, r.failed.len()), (0, 0), "{r:?}");
    assert_eq!(
        identity.disabled.lock().unwrap().len(),
        calls_before,
        "no disable call for a user reinstated since the index was read"
    );
    assert_eq!(status(&app, user).await, UserStatus::Active);
}

fn current_code(secret: &str, clock: &ManualClock) -> String {
    LocalIdentity::code_at(secret, clock.now()).unwrap_or_else(|_| portico_tests::code_at(secret, 0))
}

pub async fn suspended_then_reinstated_on_request(b: Backend) {
    let (app, clock) = app_at(b, None).await;
    let partner = app.orgs[&Role::PartnerManager];
    let manager = app.token(Role::PartnerManager).to_string();
    let admin = app.token(Role::PlatformAdmin).to_string();
    // Northwind's office is trusted, so its Partner Manager needs no fresh email confirmation weeks later.
    let (s, ranges) = app
        .get_json(&format!("/organizations/{partner}/trusted-ranges"), &manager)
        .await;
    assert_eq!(s, 200, "{ranges}");
    let (s, _) = app
        .put(
            &format!("/organizations/{partner}/trusted-ranges"),
            &manager,
            json!({ "ranges": ["127.0.0.1/32"], "version": ranges["version"] }),
        )
        .await;
    assert_eq!(s, 200);

    // Someone invited who never sets up: not "inactive"; their invitation's expiry governs them.
    app.add_partner_user("never@northwind.example.com").await;
    let email = "sleepy@northwind.example.com";
    app.add_partner_user(email).await;
    let (bearer, secret, recovery) = app.set_up_account(email).await;
    // Signing in recorded activity.
    let (s, _) = app.get_json("/organizations", &bearer).await;
    assert_eq!(s, 200);
    clock.advance(Duration::days(22));
    // Their manager worked meanwhile (from the office): not swept.
    let (s, _) = app.get_json("/organizations", &manager).await;
    assert_eq!(s, 200);
    let r = sweep(&app).await;
    assert_eq!(r.suspended, 1, "{r:?}");

    let never = login_of(&app, "never@northwind.example.com").await;
    assert_eq!(status(&app, never.user_id).await, UserStatus::Pending);
    assert!(!never.suspended);
    // The old token is refused on the next request; sign-in says why.
    let (s, p) = app.get_json("/organizations", &bearer).await;
    assert_eq!(
        (s, p["type"].clone()),
        (403, json!("urn:portico:problem:account-suspended")),
        "{p}"
    );
    let (s, p) = app
        .post("/session", None, json!({ "email": email, "password": PASSWORD }))
        .await;
    assert_eq!(
        (s, p["type"].clone()),
        (403, json!("urn:portico:problem:account-suspended")),
        "{p}"
    );
    assert!(p["detail"].as_str().unwrap().contains("restore access"), "{p}");
    // Nor does a recovery code get them in.
    let (s, p) = app
        .post(
            "/session/recover",
            None,
            json!({ "email": email, "password": PASSWORD, "recoveryCode": recovery[0] }),
        )
        .await;
    assert_eq!(
        (s, p["type"].clone()),
        (403, json!("urn:portico:problem:account-suspended")),
        "{p}"
    );

    // The user asks (always 202; unknown addresses too), and so does their manager (the same request).
    let (s, _) = app
        .post("/session/restore-request", None, json!({ "email": email }))
        .await;
    assert_eq!(s, 202);
    let (s, _) = app
        .post(
            "/session/restore-request",
            None,
            json!({ "email": "nobody@example.com" }),
        )
        .await;
    assert_eq!(s, 202);
    let (s, queue) = app.get_json("/restore-requests", &admin).await;
    assert_eq!(s, 200, "{queue}");
    let items = queue["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{queue}");
    assert_eq!(
        (items[0]["email"].clone(), items[0]["requestedBy"].clone()),
        (json!(email), json!(email))
    );
    let user = items[0]["userId"].as_str().unwrap().to_string();
    let (s, again) = app
        .post(
            &format!("/organizations/{partner}/users/{user}/restore-request"),
            Some(&manager),
            json!({}),
        )
        .await;
    assert_eq!((s, again["userId"].clone()), (201, json!(user)), "{again}");
    // Only the platform reinstates.
    let (s, _) = app
        .post(
            &format!("/organizations/{partner}/users/{user}/reinstate"),
            Some(&manager),
            json!({}),
        )
        .await;
    assert_eq!(s, 403);
    let (s, done) = app
        .post(
            &format!("/organizations/{partner}/users/{user}/reinstate"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!((s, done["status"].clone()), (200, json!("active")), "{done}");
    let (_, queue) = app.get_json("/restore-requests", &admin).await;
    assert_eq!(queue["items"], json!([]));
    let (s, _) = app
        .post(
            &format!("/organizations/{partner}/users/{user}/reinstate"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(s, 409, "not suspended any more");

    // Sign-in works again, and the activity clock started again: the next sweep leaves them be.
    let (s, step) = app
        .post("/session", None, json!({ "email": email, "password": PASSWORD }))
        .await;
    assert_eq!((s, step["step"].as_str()), (200, Some("mfa")), "{step}");
    let (s, done) = app
        .post(
            "/session/mfa",
            None,
            json!({ "session": step["session"], "code": current_code(&secret, &clock) }),
        )
        .await;
    assert_eq!(s, 200, "{done}");
    let fresh = done["token"].as_str().unwrap().to_string();
    let (s, _) = app.get_json("/organizations", &fresh).await;
    assert_eq!(s, 200);
    let r = sweep(&app).await;
    assert_eq!((r.suspended, r.warned), (0, 0), "{r:?}");
    let described: Vec<String> = events_about(&app, UserId::parse(&user).unwrap())
        .await
        .into_iter()
        .map(|e| e.description)
        .collect();
    assert!(described.iter().any(|d| d.starts_with("Suspended")), "{described:?}");
    assert!(
        described.iter().any(|d| d.contains("asked the platform")),
        "{described:?}"
    );
    assert!(described.iter().any(|d| d.starts_with("Reinstated")), "{described:?}");
}

pub async fn requests_record_activity_at_most_hourly(b: Backend) {
    let (app, clock) = app_at(b, None).await;
    let puser = app.users[&Role::PartnerUser];
    let token = app.token(Role::PartnerUser).to_string();
    let last = |app: &TestApp| {
        let t = app.deps.table.clone();
        async move {
            t.get(&keys::user_activity(puser))
                .await
                .unwrap()
                .map(|i| (i.decode::<UserActivity>().unwrap().last_active_at, i.version))
        }
    };
    assert_eq!(last(&app).await, None);
    let t0 = clock.now();
    let (s, _) = app.get_json("/organizations", &token).await;
    assert_eq!(s, 200);
    assert_eq!(last(&app).await, Some((t0, 1)), "a read records activity");
    clock.advance(Duration::minutes(30));
    for _ in 0..5 {
        app.get_json("/organizations", &token).await;
    }
    assert_eq!(last(&app).await, Some((t0, 1)), "not again within the hour");
    clock.advance(Duration::minutes(31));
    // A change carries the activity record in its own transaction.
    let customer = app.orgs[&Role::CustomerAccountOwner];
    let (s, v) = app
        .put(
            &format!("/customers/{customer}/settings/feed.comments"),
            &token,
            json!({ "enabled": false, "version": 0 }),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(last(&app).await, Some((clock.now(), 2)));
    // Customers and the platform are not swept, so not recorded.
    let (s, _) = app
        .get_json("/organizations", app.token(Role::CustomerAccountOwner))
        .await;
    assert_eq!(s, 200);
    assert!(
        app.deps
            .table
            .get(&keys::user_activity(app.users[&Role::CustomerAccountOwner]))
            .await
            .unwrap()
            .is_none()
    );
}

macro_rules! on_backend {
    ($name:ident, $backend:expr) => {
        mod $name {
            #[tokio::test]
            async fn the_line_falls_at_21_days() {
                super::the_line_falls_at_21_days($backend).await
            }
            #[tokio::test]
            async fn one_warning_then_a_new_one_after_new_activity() {
                super::one_warning_then_a_new_one_after_new_activity($backend).await
            }
            #[tokio::test]
            async fn two_sweeps_at_once_do_everything_once() {
                super::two_sweeps_at_once_do_everything_once($backend).await
            }
            #[tokio::test]
            async fn activity_racing_the_sweep_wins() {
                super::activity_racing_the_sweep_wins($backend).await
            }
            #[tokio::test]
            async fn a_failure_mid_sweep_does_not_stop_the_rest() {
                super::a_failure_mid_sweep_does_not_stop_the_rest($backend).await
            }
            #[tokio::test]
            async fn suspended_then_reinstated_on_request() {
                super::suspended_then_reinstated_on_request($backend).await
            }
            #[tokio::test]
            async fn a_stale_index_does_not_disable_a_reinstated_user() {
                super::a_stale_index_does_not_disable_a_reinstated_user($backend).await
            }
            #[tokio::test]
            async fn a_failed_identity_disable_is_retried_by_the_next_sweep() {
                super::a_failed_identity_disable_is_retried_by_the_next_sweep($backend).await
            }
            #[tokio::test]
            async fn requests_record_activity_at_most_hourly() {
                super::requests_record_activity_at_most_hourly($backend).await
            }
        }
    };
}

on_backend!(embedded_sqlite, portico_tests::Backend::Sqlite);
on_backend!(dynamodb_local, portico_tests::Backend::Dynamo);
