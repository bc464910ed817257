//! The activity log on both backends: who may read which log; filters that
//! combine as a brute-force filter over the same events says; cursor paging
//! that visits each event once while new ones arrive; exports of the same
//! view; a hash chain that verify checks, that a direct edit or deletion
//! breaks, that 20 concurrent writers leave unbroken, and that retention
//! shortens without breaking.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};

use chrono::{DateTime, Duration, Utc};
use portico_core::audit::{ActionType, ActivityEvent, Actor, Target};
use portico_core::authz::Principal;
use portico_core::clock::ManualClock;
use portico_core::domain::{EmailAddress, OrgId, OrgKind, Role, UserId};
use portico_core::ops::Change;
use portico_core::store::{Cond, Index, Item, Key, Page, Query, StoreError, Table, Write, keys};
use portico_tests::{Backend, Options, TestApp};
use serde_json::{Value, json};

async fn call(app: &TestApp, method: &str, path: &str, role: Role, body: Option<Value>) -> (u16, Value) {
    let mut req = app
        .http
        .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), app.url(path))
        .bearer_auth(app.token(role));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn text(app: &TestApp, path: &str, role: Role) -> (u16, String, String) {
    let resp = app
        .http
        .get(app.url(path))
        .bearer_auth(app.token(role))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, ct, resp.text().await.unwrap())
}

fn enc(s: &str) -> String {
    s.replace('%', "%25")
        .replace(' ', "%20")
        .replace(',', "%2C")
        .replace('+', "%2B")
        .replace(':', "%3A")
        .replace('@', "%40")
}

/// Someone of `org` acting, as the core's operations do.
fn actor(email: &str, org: OrgId) -> Actor {
    Actor::new(
        Principal {
            user_id: UserId(uuid::Uuid::new_v4()),
            email: EmailAddress::parse(email).unwrap(),
            org_id: org,
            org_kind: OrgKind::Partner,
            role: Role::PartnerUser,
            settings_hidden: false,
        },
        "198.51.100.9",
    )
}

/// One event through the core's `Change` (with one harmless write of its own).
async fn record(app: &TestApp, who: &Actor, org: OrgId, action: ActionType, description: &str) {
    let marker = Item::new(
        Key::new(format!("TEST#{}", uuid::Uuid::new_v4()), "MARK"),
        "Test",
        1,
        &json!({}),
    )
    .unwrap();
    Change::new(
        &app.deps,
        who,
        org,
        action,
        Target {
            kind: "test".into(),
            id: "t".into(),
        },
        description.to_string(),
    )
    .write(Write::Put {
        item: marker,
        cond: Cond::MustNotExist,
    })
    .commit(&app.deps)
    .await
    .unwrap();
}

/// Every page of a listing, following `next`.
async fn all_pages(app: &TestApp, org: OrgId, query: &str, role: Role) -> (Vec<ActivityEvent>, usize) {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut q = query.to_string();
        if let Some(c) = &cursor {
            q.push_str(&format!("&cursor={c}"));
        }
        let (status, page) = call(app, "GET", &format!("/organizations/{org}/activity?{q}"), role, None).await;
        assert_eq!(status, 200, "{q}: {page}");
        pages += 1;
        let items: Vec<ActivityEvent> = serde_json::from_value(page["items"].clone()).unwrap();
        assert!(
            page["examined"].as_u64().unwrap() <= 1000,
            "bounded work: {}",
            page["examined"]
        );
        out.extend(items);
        match page["next"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return (out, pages),
        }
        assert!(pages < 500, "paging ends");
    }
}

async fn stored(app: &TestApp, org: OrgId) -> Vec<ActivityEvent> {
    let mut out = Vec::new();
    let mut q = Query::partition(Index::Primary, keys::activity_partition(org)).limit(1000);
    loop {
        let page = app.deps.table.query(&q).await.unwrap();
        out.extend(page.items.iter().map(|i| i.decode::<ActivityEvent>().unwrap()));
        match page.next {
            Some(c) => q = q.after(Some(c)),
            None => return out,
        }
    }
}

pub async fn who_may_read_which_log(b: Backend) {
    let app = TestApp::spawn(b).await;
    let partner = app.orgs[&Role::PartnerManager];
    let customer = app.orgs[&Role::CustomerAccountOwner];
    let platform = app.orgs[&Role::PlatformAdmin];
    // A partner user changes a setting of the linked customer: the event is in the customer's log.
    let (s, settings) = call(
        &app,
        "GET",
        &format!("/customers/{customer}/settings"),
        Role::PartnerUser,
        None,
    )
    .await;
    assert_eq!(s, 200);
    let row = settings["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["editable"] == json!(true))
        .unwrap()
        .clone();
    let key = row["key"].as_str().unwrap();
    let (s, _) = call(
        &app,
        "PUT",
        &format!("/customers/{customer}/settings/{key}"),
        Role::PartnerUser,
        Some(json!({ "enabled": !row["enabled"].as_bool().unwrap(), "version": row["version"] })),
    )
    .await;
    assert_eq!(s, 200);
    let partner_user_email = app
        .deps
        .table
        .get(&keys::user(app.users[&Role::PartnerUser]))
        .await
        .unwrap()
        .unwrap()
        .data["email"]
        .as_str()
        .unwrap()
        .to_string();

    for (role, org, allowed) in [
        (Role::PlatformAdmin, platform, true),
        (Role::PlatformAdmin, partner, true),
        (Role::PlatformAdmin, customer, true),
        (Role::PartnerManager, partner, true),
        (Role::PartnerManager, customer, true),
        (Role::PartnerUser, customer, true),
        (Role::PartnerManager, platform, false),
        (Role::CustomerAccountOwner, customer, true),
        (Role::CustomerAccountOwner, partner, false),
        (Role::CustomerAccountOwner, platform, false),
    ] {
        for sub in ["activity", "activity/verify", "activity/export", "activity/retention"] {
            let (s, _, _) = text(&app, &format!("/organizations/{org}/{sub}"), role).await;
            // Verifying is for managers (issue 10): a partner user who reads
            // the log is refused, not shown a 404.
            let expected = match (allowed, role, sub) {
                (true, Role::PartnerUser, "activity/verify") => 403,
                (true, _, _) => 200,
                (false, _, _) => 404,
            };
            assert_eq!(s, expected, "{role:?} reads {sub} of {org}");
        }
    }
    // The customer sees what its partner did there, with who and from where.
    let (_, page) = call(
        &app,
        "GET",
        &format!("/organizations/{customer}/activity?action=Update%20Configuration"),
        Role::CustomerAccountOwner,
        None,
    )
    .await;
    let e = &page["items"][0];
    assert_eq!(e["actorEmail"], json!(partner_user_email));
    assert_eq!(e["actorOrgId"], json!(partner.to_string()));
    assert_eq!(e["orgId"], json!(customer.to_string()));
    assert!(e["before"].is_object() && e["after"].is_object(), "{e}");
    // Retention is the platform's to set.
    for role in [Role::PartnerManager, Role::CustomerAccountOwner] {
        let (s, p) = call(
            &app,
            "PUT",
            &format!("/organizations/{customer}/activity/retention"),
            role,
            Some(json!({ "days": 30 })),
        )
        .await;
        assert_eq!(s, 403, "{role:?}: {p}");
    }
    // Bad input: problems, never 500s.
    for q in [
        "action=Reboot",
        "limit=0",
        "limit=201",
        "from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z",
        "from=yesterday",
        "cursor=bm90LWEtY3Vyc29y",
        "user=not-an-email",
        "format=csv",
        "colour=blue",
    ] {
        let (s, p) = call(
            &app,
            "GET",
            &format!("/organizations/{customer}/activity?{q}"),
            Role::PlatformAdmin,
            None,
        )
        .await;
        assert_eq!(s, 400, "{q}: {p}");
    }
    let (s, _) = call(
        &app,
        "GET",
        &format!("/organizations/{customer}/activity/export?format=xml"),
        Role::PlatformAdmin,
        None,
    )
    .await;
    assert_eq!(s, 400);
    // A cursor from before the time range asked for: an empty page, not an error.
    record(
        &app,
        &actor("ops@northwind.example.com", customer),
        customer,
        ActionType::ServerAction,
        "Restarted",
    )
    .await;
    let (_, first) = call(
        &app,
        "GET",
        &format!("/organizations/{customer}/activity?limit=1"),
        Role::PlatformAdmin,
        None,
    )
    .await;
    let c = first["next"]
        .as_str()
        .expect("more than one event in the customer's log")
        .to_string();
    let late = format!("/organizations/{customer}/activity?cursor={c}&from=2999-01-01T00%3A00%3A00Z");
    let (s, p) = call(&app, "GET", &late, Role::PlatformAdmin, None).await;
    assert_eq!(
        (s, p["items"].clone(), p.get("next").cloned()),
        (200, json!([]), None),
        "{p}"
    );
    let (s, _) = call(
        &app,
        "PUT",
        &format!("/organizations/{customer}/activity/retention"),
        Role::PlatformAdmin,
        Some(json!({ "days": 0 })),
    )
    .await;
    assert_eq!(s, 400);
}

/// A log of 120 events by 3 actors, 4 action types and assorted descriptions, 1 minute apart.
async fn populated(b: Backend) -> (TestApp, Arc<ManualClock>, OrgId, DateTime<Utc>) {
    let start = Utc::now() - Duration::days(1);
    let clock = Arc::new(ManualClock::new(start));
    let app = TestApp::spawn_with(
        b,
        Options {
            clock: clock.clone(),
            ..Default::default()
        },
    )
    .await;
    let org = app.orgs[&Role::CustomerAccountOwner];
    let actors = [
        actor("ada@northwind.example.com", org),
        actor("Bob@Northwind.example.com", org),
        actor("cy@globex.example.com", org),
    ];
    let actions = [
        ActionType::UpdateConfiguration,
        ActionType::InviteUser,
        ActionType::ServerAction,
        ActionType::UpdateLicense,
    ];
    let words = [
        "Restarted server",
        "Enabled \"Comments\"",
        "Invited dora",
        "Renewed licence",
    ];
    for i in 0..120usize {
        clock.advance(Duration::minutes(1));
        record(
            &app,
            &actors[i % 3],
            org,
            actions[(i / 3) % 4],
            &format!("{} #{i}", words[i % 4]),
        )
        .await;
    }
    (app, clock, org, start)
}

pub async fn filters_combine_as_a_brute_force_filter_says(b: Backend) {
    let (app, _clock, org, start) = populated(b).await;
    let everything = stored(&app, org).await;
    let at = |m: i64| (start + Duration::minutes(m)).to_rfc3339();
    type Keep = Box<dyn Fn(&ActivityEvent) -> bool>;
    let cases: Vec<(String, Keep)> = vec![
        ("".into(), Box::new(|_| true)),
        (
            format!("user={}", enc("BOB@northwind.example.com")),
            Box::new(|e| e.actor_email.as_ref().map(|a| a.as_str()) == Some("bob@northwind.example.com")),
        ),
        (
            format!("action={}", enc("Invite User")),
            Box::new(|e| e.action == ActionType::InviteUser),
        ),
        (
            format!("action={}", enc("server action,update license")),
            Box::new(|e| matches!(e.action, ActionType::ServerAction | ActionType::UpdateLicense)),
        ),
        (
            "description=RESTARTED".into(),
            Box::new(|e| e.description.contains("Restarted")),
        ),
        (
            format!("from={}&to={}", enc(&at(30)), enc(&at(59))),
            Box::new(move |e| e.at >= start + Duration::minutes(30) && e.at <= start + Duration::minutes(59)),
        ),
        (
            format!(
                "user={}&action={}",
                enc("ada@northwind.example.com"),
                enc("Update Configuration,Server Action")
            ),
            Box::new(|e| {
                e.actor_email.as_ref().map(|a| a.as_str()) == Some("ada@northwind.example.com")
                    && matches!(e.action, ActionType::UpdateConfiguration | ActionType::ServerAction)
            }),
        ),
        (
            format!("action={}&description=%237", enc("Invite User,Update Configuration")),
            Box::new(|e| {
                matches!(e.action, ActionType::InviteUser | ActionType::UpdateConfiguration)
                    && e.description.contains("#7")
            }),
        ),
        (
            format!(
                "user={}&action={}&description=comments&from={}&to={}",
                enc("ada@northwind.example.com"),
                enc("Update Configuration"),
                enc(&at(0)),
                enc(&at(90))
            ),
            Box::new(move |e| {
                e.actor_email.as_ref().map(|a| a.as_str()) == Some("ada@northwind.example.com")
                    && e.action == ActionType::UpdateConfiguration
                    && e.description.to_lowercase().contains("comments")
                    && e.at <= start + Duration::minutes(90)
            }),
        ),
        ("user=nobody%40example.com".into(), Box::new(|_| false)),
    ];
    for (query, keep) in &cases {
        let mut want: Vec<&ActivityEvent> = everything.iter().filter(|e| keep(e)).collect();
        want.sort_by_key(|e| std::cmp::Reverse(e.seq));
        for limit in [7, 50] {
            let (got, pages) = all_pages(&app, org, &format!("limit={limit}&{query}"), Role::PlatformAdmin).await;
            let got_ids: Vec<_> = got.iter().map(|e| e.id).collect();
            let want_ids: Vec<_> = want.iter().map(|e| e.id).collect();
            assert_eq!(got_ids, want_ids, "{query} (limit {limit}): newest first, each once");
            assert!(pages <= want.len() / limit + 2, "{query}: {pages} pages");
        }
    }
    assert!(everything.len() >= 120, "{} events", everything.len());
}

pub async fn paging_visits_every_event_once_while_new_ones_arrive(b: Backend) {
    let (app, clock, org, _) = populated(b).await;
    let before: HashSet<_> = stored(&app, org).await.iter().map(|e| e.id).collect();
    let newcomer = actor("eve@northwind.example.com", org);
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = match &cursor {
            Some(c) => format!("limit=9&cursor={c}"),
            None => "limit=9".into(),
        };
        let (_, page) = call(
            &app,
            "GET",
            &format!("/organizations/{org}/activity?{q}"),
            Role::PartnerManager,
            None,
        )
        .await;
        let items: Vec<ActivityEvent> = serde_json::from_value(page["items"].clone()).unwrap();
        seen.extend(items.iter().map(|e| e.id));
        // Two new events between pages.
        for _ in 0..2 {
            clock.advance(Duration::seconds(1));
            record(&app, &newcomer, org, ActionType::ServerAction, "Backed up").await;
        }
        match page["next"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    let unique: HashSet<_> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "no event twice");
    assert_eq!(unique, before, "every event that was there, and none that came later");
    assert!(stored(&app, org).await.len() > before.len() + 20);
}

pub async fn exports_stream_the_same_view(b: Backend) {
    let (app, _, org, _) = populated(b).await;
    let query = format!("action={}&description=E", enc("Server Action,Update License"));
    let (listed, _) = all_pages(&app, org, &format!("limit=200&{query}"), Role::PlatformAdmin).await;
    assert!(listed.len() > 10);
    let ids: Vec<String> = listed.iter().map(|e| e.id.to_string()).collect();

    let (s, ct, body) = text(
        &app,
        &format!("/organizations/{org}/activity/export?format=ndjson&{query}"),
        Role::PartnerManager,
    )
    .await;
    assert_eq!((s, ct.as_str()), (200, "application/x-ndjson"));
    let rows: Vec<ActivityEvent> = body.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows, listed);

    let (s, ct, body) = text(
        &app,
        &format!("/organizations/{org}/activity/export?{query}"),
        Role::PartnerManager,
    )
    .await;
    assert_eq!((s, ct.as_str()), (200, "text/csv; charset=utf-8"));
    let mut r = csv::Reader::from_reader(body.as_bytes());
    let header = r.headers().unwrap().clone();
    assert_eq!(&header[0], "id");
    assert_eq!(&header[10], "description");
    let records: Vec<csv::StringRecord> = r.records().map(|r| r.unwrap()).collect();
    assert_eq!(records.iter().map(|r| r[0].to_string()).collect::<Vec<_>>(), ids);
    // Descriptions with quotes survive.
    assert!(records.iter().all(|r| listed.iter().any(|e| e.description == r[10])));

    // A cap: the last record says how to go on, and going on finishes the view.
    let (_, _, body) = text(
        &app,
        &format!("/organizations/{org}/activity/export?format=ndjson&limit=4&{query}"),
        Role::PlatformAdmin,
    )
    .await;
    let lines: Vec<Value> = body.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 5);
    let next = lines[4]["next"].as_str().unwrap();
    let (_, _, rest) = text(
        &app,
        &format!("/organizations/{org}/activity/export?format=ndjson&cursor={next}&{query}"),
        Role::PlatformAdmin,
    )
    .await;
    let mut all: Vec<String> = lines[..4]
        .iter()
        .map(|l| l["id"].as_str().unwrap().to_string())
        .collect();
    all.extend(rest.lines().map(|l| {
        serde_json::from_str::<Value>(l).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    }));
    assert_eq!(all, ids);
    // A cell a spreadsheet would run as a formula is defused.
    record(
        &app,
        &actor("mallory@example.com", org),
        org,
        ActionType::ServerAction,
        "=HYPERLINK(\"http://x\")",
    )
    .await;
    let (_, _, body) = text(
        &app,
        &format!("/organizations/{org}/activity/export?limit=1"),
        Role::PlatformAdmin,
    )
    .await;
    let mut r = csv::Reader::from_reader(body.as_bytes());
    let row = r.records().next().unwrap().unwrap();
    assert_eq!(&row[10], "'=HYPERLINK(\"http://x\")");
}

/// The stored key of an event.
fn event_key(e: &ActivityEvent) -> Key {
    Key::new(
        keys::activity_partition(e.org_id),
        keys::activity_sk(e.at.timestamp_millis(), e.seq),
    )
}

/// Deletes an event behind Portico's back.
async fn delete_event(app: &TestApp, e: &ActivityEvent) {
    let delete = Write::Delete {
        key: event_key(e),
        cond: Cond::MustExist,
    };
    app.deps.table.transact(vec![delete]).await.unwrap();
}

async fn verify(app: &TestApp, org: OrgId) -> Value {
    let (s, v) = call(
        app,
        "GET",
        &format!("/organizations/{org}/activity/verify"),
        Role::PlatformAdmin,
        None,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    v
}

pub async fn verify_reports_edits_and_deletions(b: Backend) {
    let (app, _, org, _) = populated(b).await;
    let n = stored(&app, org).await.len();
    let v = verify(&app, org).await;
    assert_eq!(
        (v["intact"].clone(), v["checked"].clone(), v["headSeq"].clone()),
        (json!(true), json!(n), json!(n)),
        "{v}"
    );

    // Edited in the table, behind Portico's back.
    let events = stored(&app, org).await;
    let victim = events[40].clone();
    let original = app.deps.table.get(&event_key(&victim)).await.unwrap().unwrap();
    let mut edited = original.clone();
    edited.data["description"] = json!("Nothing happened");
    app.deps
        .table
        .transact(vec![Write::Put {
            item: edited,
            cond: Cond::MustExist,
        }])
        .await
        .unwrap();
    let v = verify(&app, org).await;
    assert_eq!(v["intact"], json!(false));
    assert_eq!(v["firstBreak"]["seq"], json!(victim.seq), "{v}");
    assert_eq!(v["firstBreak"]["eventId"], json!(victim.id.to_string()));

    // Edited with its hash recomputed: the next event no longer follows it.
    let mut forged: ActivityEvent = victim.clone();
    forged.description = "Nothing happened".into();
    forged.hash = forged.compute_hash().unwrap();
    let mut item = original.clone();
    item.data = serde_json::to_value(&forged).unwrap();
    app.deps
        .table
        .transact(vec![Write::Put {
            item,
            cond: Cond::MustExist,
        }])
        .await
        .unwrap();
    let v = verify(&app, org).await;
    assert_eq!(v["firstBreak"]["seq"], json!(victim.seq + 1), "{v}");

    // Put back: intact again. Then deleted: reported missing.
    let put_back = || Write::Put {
        item: original.clone(),
        cond: Cond::None,
    };
    app.deps.table.transact(vec![put_back()]).await.unwrap();
    assert_eq!(verify(&app, org).await["intact"], json!(true));
    delete_event(&app, &victim).await;
    let v = verify(&app, org).await;
    assert_eq!(v["intact"], json!(false));
    assert_eq!(v["firstBreak"]["seq"], json!(victim.seq), "{v}");
    app.deps.table.transact(vec![put_back()]).await.unwrap();

    // The newest event deleted: the head still names it.
    let last = events.last().unwrap().clone();
    delete_event(&app, &last).await;
    let v = verify(&app, org).await;
    assert_eq!(v["intact"], json!(false));
    assert_eq!(v["firstBreak"]["seq"], json!(last.seq), "{v}");
    // Another organisation's chain is its own.
    let other = app.orgs[&Role::PartnerManager];
    assert_eq!(verify(&app, other).await["intact"], json!(true));
}

pub async fn concurrent_writers_leave_an_unbroken_chain(b: Backend) {
    let app = Arc::new(TestApp::spawn(b).await);
    let org = app.orgs[&Role::PartnerManager];
    let before = stored(&app, org).await.len();
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(async move {
                let who = actor(&format!("writer{i}@northwind.example.com"), org);
                record(&app, &who, org, ActionType::ServerAction, &format!("writer {i}")).await;
            })
        })
        .collect();
    // Verifying while they write: events newer than the head it read are not a break.
    for _ in 0..5 {
        let v = verify(&app, org).await;
        assert_eq!(v["intact"], json!(true), "during the writes: {v}");
    }
    for t in tasks {
        t.await.unwrap();
    }
    let events = stored(&app, org).await;
    assert_eq!(events.len(), before + 20, "every writer's event, once");
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(
        seqs,
        (1..=events.len() as u64).collect::<Vec<_>>(),
        "one chain, in key order, no fork"
    );
    let v = verify(&app, org).await;
    assert_eq!(
        (v["intact"].clone(), v["checked"].clone()),
        (json!(true), json!(events.len())),
        "{v}"
    );
}

pub async fn retention_expires_old_events_without_breaking_the_chain(b: Backend) {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_with(
        b,
        Options {
            clock: clock.clone(),
            ..Default::default()
        },
    )
    .await;
    let org = app.orgs[&Role::PartnerManager];
    let (s, r) = call(
        &app,
        "GET",
        &format!("/organizations/{org}/activity/retention"),
        Role::PartnerManager,
        None,
    )
    .await;
    assert_eq!((s, r), (200, json!({ "days": null })), "kept by default");
    let (s, r) = call(
        &app,
        "PUT",
        &format!("/organizations/{org}/activity/retention"),
        Role::PlatformAdmin,
        Some(json!({ "days": 2 })),
    )
    .await;
    assert_eq!((s, r), (200, json!({ "days": 2 })));
    let who = actor("ada@northwind.example.com", org);
    for day in 0..5 {
        clock.advance(Duration::days(1));
        record(&app, &who, org, ActionType::ServerAction, &format!("day {day}")).await;
    }
    // The seed's event and the retention change were written before the
    // limit: kept. Of the 5 daily events, those older than 2 days are gone.
    // (Read as a platform admin: five days on, the partner's users would be asked to confirm their email.)
    let (page, _) = all_pages(&app, org, "limit=50", Role::PlatformAdmin).await;
    let descriptions: Vec<&str> = page.iter().map(|e| e.description.as_str()).collect();
    assert!(
        descriptions.contains(&"day 4") && descriptions.contains(&"day 3"),
        "{descriptions:?}"
    );
    assert!(
        !descriptions.contains(&"day 0") && !descriptions.contains(&"day 1"),
        "{descriptions:?}"
    );
    let v = verify(&app, org).await;
    assert_eq!(v["intact"], json!(true), "expiry is not tampering: {v}");
    assert_eq!(v["retentionDays"], json!(2));
    // The change itself is in the log.
    let (_, p) = call(
        &app,
        "GET",
        &format!("/organizations/{org}/activity?action=Update%20Organization"),
        Role::PlatformAdmin,
        None,
    )
    .await;
    assert_eq!(p["items"][0]["after"], json!({ "retentionDays": 2 }), "{p}");
    assert_eq!(p["items"][0]["before"], json!({ "retentionDays": null }));

    // Later all the daily events have expired, the newest included: still no break.
    clock.advance(Duration::days(3));
    let v = verify(&app, org).await;
    assert_eq!(v["intact"], json!(true), "an expired tail is not tampering: {v}");
    // But the events kept for good are not retention's to remove: deleting the
    // last of them, next to the expired ones, is reported.
    let kept = stored(&app, org).await;
    let last_kept = kept.last().unwrap();
    assert!(last_kept.expires_at.is_none());
    delete_event(&app, last_kept).await;
    let v = verify(&app, org).await;
    assert_eq!(v["intact"], json!(false), "{v}");
    assert_eq!(v["firstBreak"]["seq"], json!(last_kept.seq), "{v}");
    // And a missing chain head with events left is reported too.
    record(&app, &who, org, ActionType::ServerAction, "after the deletion").await;
    app.deps
        .table
        .transact(vec![Write::Delete {
            key: keys::activity_head(org),
            cond: Cond::MustExist,
        }])
        .await
        .unwrap();
    let v = verify(&app, org).await;
    assert_eq!(v["intact"], json!(false), "{v}");
}

/// Fails every transaction while armed, as an outage would.
struct Outage(Arc<dyn Table>, Arc<AtomicBool>);

#[async_trait::async_trait]
impl Table for Outage {
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
        if self.1.load(SeqCst) {
            return Err(StoreError::Unavailable("injected outage".into()));
        }
        self.0.transact(writes).await
    }
}

pub async fn a_failed_write_leaves_neither_change_nor_event_nor_chain_link(b: Backend) {
    let armed = Arc::new(AtomicBool::new(false));
    let a2 = armed.clone();
    let app = TestApp::spawn_with(
        b,
        Options {
            wrap: Some(Box::new(move |t| Arc::new(Outage(t, a2)) as Arc<dyn Table>)),
            ..Default::default()
        },
    )
    .await;
    let customer = app.orgs[&Role::CustomerAccountOwner];
    let head = |app: &TestApp| {
        let key = keys::activity_head(customer);
        let table = app.deps.table.clone();
        async move { table.get(&key).await.unwrap().map(|i| i.data) }
    };
    let before_head = head(&app).await;
    let before_events = stored(&app, customer).await.len();
    let path = format!("/customers/{customer}/settings/feed.comments");
    armed.store(true, SeqCst);
    let (s, p) = call(
        &app,
        "PUT",
        &path,
        Role::PartnerUser,
        Some(json!({ "enabled": false, "version": 0 })),
    )
    .await;
    assert_eq!(s, 503, "{p}");
    assert_eq!(p["type"], json!("urn:portico:problem:service-unavailable"), "{p}");
    armed.store(false, SeqCst);
    assert_eq!(head(&app).await, before_head, "the chain did not move");
    assert_eq!(stored(&app, customer).await.len(), before_events, "no event");
    let (_, page) = call(
        &app,
        "GET",
        &format!("/customers/{customer}/settings"),
        Role::PartnerUser,
        None,
    )
    .await;
    let row = page["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == "feed.comments")
        .unwrap();
    assert_eq!(
        (row["enabled"].clone(), row["version"].clone()),
        (json!(true), json!(0)),
        "no change"
    );
    // Once the store is back, the same request commits, and the chain goes on unbroken.
    let (s, _) = call(
        &app,
        "PUT",
        &path,
        Role::PartnerUser,
        Some(json!({ "enabled": false, "version": 0 })),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(stored(&app, customer).await.len(), before_events + 1);
    let v = verify(&app, customer).await;
    assert_eq!(v["intact"], json!(true), "{v}");
}

macro_rules! on_backend {
    ($name:ident, $backend:expr) => {
        mod $name {
            #[tokio::test]
            async fn a_failed_write_leaves_neither_change_nor_event_nor_chain_link() {
                super::a_failed_write_leaves_neither_change_nor_event_nor_chain_link($backend).await
            }
            #[tokio::test]
            async fn who_may_read_which_log() {
                super::who_may_read_which_log($backend).await
            }
            #[tokio::test]
            async fn filters_combine_as_a_brute_force_filter_says() {
                super::filters_combine_as_a_brute_force_filter_says($backend).await
            }
            #[tokio::test]
            async fn paging_visits_every_event_once_while_new_ones_arrive() {
                super::paging_visits_every_event_once_while_new_ones_arrive($backend).await
            }
            #[tokio::test]
            async fn exports_stream_the_same_view() {
                super::exports_stream_the_same_view($backend).await
            }
            #[tokio::test]
            async fn verify_reports_edits_and_deletions() {
                super::verify_reports_edits_and_deletions($backend).await
            }
            #[tokio::test]
            async fn concurrent_writers_leave_an_unbroken_chain() {
                super::concurrent_writers_leave_an_unbroken_chain($backend).await
            }
            #[tokio::test]
            async fn retention_expires_old_events_without_breaking_the_chain() {
                super::retention_expires_old_events_without_breaking_the_chain($backend).await
            }
        }
    };
}

on_backend!(embedded_sqlite, portico_tests::Backend::Sqlite);
on_backend!(dynamodb_local, portico_tests::Backend::Dynamo);
