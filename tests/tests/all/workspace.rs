//! Seed 001's co-delivery workspace (issue 17), on both backends: access
//! levels and field rules as a decision table (roles × levels × fields),
//! phase scoping and cross-tenant reads from every role, timesheets
//! (approve; reject and resubmit; locked once approved), the races (an
//! approval against a change; 50 concurrent entries), the default external
//! level, time to value, licences, expenses and the events.

use std::collections::BTreeMap;

use portico_core::domain::Role;
use portico_tests::{Backend, TestApp};
use serde_json::{Value, json};

/// The week the tests log time in (a Monday), and the next two.
const WEEK: &str = "2026-11-30";
const WEEK2: &str = "2026-12-07";
const WEEK3: &str = "2026-12-14";

struct W {
    app: TestApp,
    admin: String,
    nora: String,
    nico: String,
    northwind: String,
    nico_id: String,
    nora_id: String,
    admin_id: String,
    contoso: String,
}

impl W {
    async fn new(b: Backend) -> Self {
        let app = TestApp::spawn(b).await;
        Self {
            admin: app.token(Role::PlatformAdmin).to_string(),
            nora: app.token(Role::PartnerManager).to_string(),
            nico: app.token(Role::PartnerUser).to_string(),
            northwind: app.orgs[&Role::PartnerManager].to_string(),
            nico_id: app.users[&Role::PartnerUser].to_string(),
            nora_id: app.users[&Role::PartnerManager].to_string(),
            admin_id: app.users[&Role::PlatformAdmin].to_string(),
            contoso: app.orgs[&Role::CustomerAccountOwner].to_string(),
            app,
        }
    }

    async fn call(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
        self.app.call(method, path, Some(token), body).await
    }

    async fn ok(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> Value {
        let (s, v) = self.call(method, path, token, body).await;
        assert!((200..300).contains(&s), "{method} {path}: {s} {v}");
        v
    }

    /// Northwind's seats are counted, so its users hold licences.
    async fn license_northwind(&self) {
        self.ok(
            "PUT",
            &format!("/organizations/{}/seats", self.northwind),
            &self.admin.clone(),
            Some(json!({ "allocation": { "kind": "allocated", "seats": 50 } })),
        )
        .await;
    }

    /// A project for Contoso with two phases, a budget and internal notes.
    async fn project(&self, name: &str, start: &str) -> String {
        let p = self
            .ok(
                "POST",
                "/projects",
                &self.admin,
                Some(json!({
                    "customer": self.contoso, "name": name, "phases": ["Discovery", "Build"],
                    "start": start, "budget": { "amount": "125000", "currency": "EUR" },
                    "internalNotes": "Margin is thin; keep the partner on fixed price."
                })),
            )
            .await;
        p["id"].as_str().unwrap().to_string()
    }

    /// Puts `user` on `project` in `phases` with `level` (None: the default).
    async fn assign(&self, project: &str, user: &str, phases: &[u8], role: &str, level: Option<&str>) -> (u16, Value) {
        let path = format!("/projects/{project}/members/{user}");
        let (_, page) = self
            .call("GET", &format!("/projects/{project}/members"), &self.admin, None)
            .await;
        let version = page["items"]
            .as_array()
            .and_then(|items| items.iter().find(|m| m["userId"] == json!(user)))
            .map(|m| m["version"].clone());
        let mut body = json!({
            "phases": phases.iter().map(|p| json!({ "phase": p, "role": role, "level": level })).collect::<Vec<_>>()
        });
        if let Some(v) = version {
            body["version"] = v;
        }
        self.call("PUT", &path, &self.admin, Some(body)).await
    }

    async fn task(&self, project: &str, phase: u8, title: &str, token: &str) -> (u16, Value) {
        self.call(
            "POST",
            &format!("/projects/{project}/phases/{phase}/tasks"),
            token,
            Some(json!({ "title": title, "status": "todo", "estimate": "16" })),
        )
        .await
    }

    fn week(&self, user: &str, week: &str) -> String {
        format!("/organizations/{}/users/{user}/timesheets/{week}", self.northwind)
    }

    async fn log(&self, project: &str, task: &str, week: &str, day: &str, hours: &str) -> (u16, Value) {
        self.call(
            "POST",
            &format!("{}/entries", self.week(&self.nico_id, week)),
            &self.nico,
            Some(json!({ "day": day, "projectId": project, "phase": 1, "taskId": task, "hours": hours })),
        )
        .await
    }

    /// The admin supervises Nico.
    async fn supervise_nico(&self) {
        let path = format!("/organizations/{}/users/{}/resource", self.northwind, self.nico_id);
        let r = self.ok("GET", &path, &self.nico, None).await;
        self.ok(
            "PUT",
            &path,
            &self.admin,
            Some(json!({
                "version": r["version"], "skills": ["Rust", "Data migration"], "hoursPerWeek": 32,
                "supervisor": self.admin_id, "schedulable": true
            })),
        )
        .await;
    }
}

/// A partner user of a second partner, signed in: (token, organisation id).
async fn other_partner_user(w: &W) -> (String, String) {
    let run = uuid::Uuid::new_v4().simple().to_string();
    let org = w
        .ok(
            "POST",
            "/organizations",
            &w.admin,
            Some(json!({ "name": format!("Tailspin {}", &run[..8]), "kind": "partner" })),
        )
        .await;
    let org = org["id"].as_str().unwrap().to_string();
    let email = format!("tess-{run}@tailspin.example.com");
    w.ok(
        "POST",
        &format!("/organizations/{org}/users"),
        &w.admin,
        Some(json!({ "email": email, "displayName": "Tess Tailspin", "role": "partner_user" })),
    )
    .await;
    let (token, _, _) = w.app.set_up_account(&email).await;
    (token, org)
}

/// Roles × levels × fields: what each participant may read and write, read
/// from the raw JSON and the status codes, against the table below.
async fn access_levels_and_field_rules(b: Backend) {
    let w = W::new(b).await;
    w.license_northwind().await;
    let p = w.project("Contoso rollout", "2026-11-02").await;
    // Delivery items in both phases, and a report with the customer's sentiment.
    for phase in [1u8, 2] {
        let (s, t) = w.task(&p, phase, &format!("Phase {phase} task"), &w.admin).await;
        assert_eq!(s, 201, "{t}");
        assert_eq!(t["estimate"], json!("16"), "the platform sees and sets estimates: {t}");
    }
    let (s, r) = w
        .call(
            "POST",
            &format!("/projects/{p}/reports"),
            &w.admin,
            Some(
                json!({ "periodStart": "2026-11-02", "periodEnd": "2026-11-13", "summary": "Kick-off done.",
                          "health": "green", "customerSentiment": "positive" }),
            ),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    let (tess, _) = other_partner_user(&w).await;
    let owner = w.app.token(Role::CustomerAccountOwner).to_string();

    // What each caller gets: read the project (and which guarded fields its
    // JSON carries), read phase 1's and phase 2's tasks, and each write.
    async fn row(w: &W, p: &str, token: &str, tag: &str) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let (s, view) = w.call("GET", &format!("/projects/{p}"), token, None).await;
        out.insert("read project".into(), s.to_string());
        for f in ["budget", "internalNotes"] {
            let present = view.as_object().is_some_and(|o| o.contains_key(f));
            out.insert(
                format!("field {f}"),
                if s == 200 { present.to_string() } else { "-".into() },
            );
        }
        for phase in [1, 2] {
            let (s, tasks) = w
                .call("GET", &format!("/projects/{p}/phases/{phase}/tasks"), token, None)
                .await;
            out.insert(format!("read phase {phase} tasks"), s.to_string());
            if phase == 1 {
                let present = tasks["items"]
                    .as_array()
                    .and_then(|i| i.first())
                    .and_then(|t| t.as_object())
                    .map(|o| o.contains_key("estimate"));
                out.insert("field estimate".into(), present.map_or("-".into(), |b| b.to_string()));
            }
        }
        let (s, reports) = w.call("GET", &format!("/projects/{p}/reports"), token, None).await;
        // The platform's kick-off report, which has a sentiment.
        let present = reports["items"]
            .as_array()
            .and_then(|i| i.iter().find(|r| r["summary"] == json!("Kick-off done.")))
            .and_then(|t| t.as_object())
            .map(|o| o.contains_key("customerSentiment"));
        out.insert("read reports".into(), s.to_string());
        out.insert(
            "field customerSentiment".into(),
            present.map_or("-".into(), |b| b.to_string()),
        );
        let (s, _) = w.task(p, 1, &format!("Task by {tag}"), token).await;
        out.insert("add task".into(), s.to_string());
        let (s, _) = w
            .call(
                "POST",
                &format!("/projects/{p}/phases/1/milestones"),
                token,
                Some(json!({ "name": format!("Milestone by {tag}"), "planned": "2026-12-18" })),
            )
            .await;
        out.insert("add milestone".into(), s.to_string());
        let (s, _) = w
            .call(
                "POST",
                &format!("/projects/{p}/phases/1/raid"),
                token,
                Some(
                    json!({ "kind": "risk", "title": format!("Risk by {tag}"), "severity": "high", "status": "open" }),
                ),
            )
            .await;
        out.insert("add RAID entry".into(), s.to_string());
        let report = |sentiment: Option<&str>| {
            let mut b = json!({ "periodStart": "2026-11-16", "periodEnd": "2026-11-27",
                                "summary": format!("Report by {tag}"), "health": "amber" });
            if let Some(x) = sentiment {
                b["customerSentiment"] = json!(x);
            }
            b
        };
        let (s, _) = w
            .call("POST", &format!("/projects/{p}/reports"), token, Some(report(None)))
            .await;
        out.insert("file report".into(), s.to_string());
        let (s, _) = w
            .call(
                "POST",
                &format!("/projects/{p}/reports"),
                token,
                Some(report(Some("concerned"))),
            )
            .await;
        out.insert("file report with sentiment".into(), s.to_string());
        let (_, view) = w.call("GET", &format!("/projects/{p}"), &w.admin, None).await;
        let (s, _) = w
            .call(
                "PUT",
                &format!("/projects/{p}/health"),
                token,
                Some(json!({ "version": view["version"], "health": "amber", "reason": format!("Set by {tag}") })),
            )
            .await;
        out.insert("set health".into(), s.to_string());
        out
    }

    let expect = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    };
    // Partners under the default rules (budget and notes hidden, sentiment read-only).
    let partner = |level: &str| -> BTreeMap<String, String> {
        let lead = level == "Delivery Lead";
        let contributes = level != "Viewer";
        let yes_no = |b: bool, yes: &'static str| if b { yes } else { "403" };
        expect(&[
            ("read project", "200"),
            ("field budget", "false"),
            ("field internalNotes", "false"),
            ("read phase 1 tasks", "200"),
            ("read phase 2 tasks", "403"),
            ("field estimate", "true"),
            ("read reports", "200"),
            ("field customerSentiment", "true"),
            ("add task", yes_no(contributes, "201")),
            ("add milestone", yes_no(lead, "201")),
            ("add RAID entry", yes_no(lead, "201")),
            ("file report", yes_no(lead, "201")),
            ("file report with sentiment", "403"),
            ("set health", yes_no(lead, "200")),
        ])
    };
    let mut mismatches = Vec::new();
    let mut check = |who: &str, got: BTreeMap<String, String>, want: BTreeMap<String, String>| {
        for (k, v) in &want {
            if got.get(k) != Some(v) {
                mismatches.push(format!("{who}: {k}: got {:?}, want {v}", got.get(k)));
            }
        }
    };
    for level in ["Viewer", "Contributor", "Delivery Lead"] {
        for (name, user, token) in [
            ("partner_manager", w.nora_id.clone(), w.nora.clone()),
            ("partner_user", w.nico_id.clone(), w.nico.clone()),
        ] {
            let (s, m) = w.assign(&p, &user, &[1], "Consultant", Some(level)).await;
            assert_eq!(s, 200, "{m}");
            let got = row(&w, &p, &token, &format!("{name} {level}")).await;
            check(&format!("{name} at {level}"), got, partner(level));
        }
    }
    let everything = expect(&[
        ("read project", "200"),
        ("field budget", "true"),
        ("field internalNotes", "true"),
        ("read phase 1 tasks", "200"),
        ("read phase 2 tasks", "200"),
        ("field estimate", "true"),
        ("read reports", "200"),
        ("field customerSentiment", "true"),
        ("add task", "201"),
        ("add milestone", "201"),
        ("add RAID entry", "201"),
        ("file report", "201"),
        ("file report with sentiment", "201"),
        ("set health", "200"),
    ]);
    check("platform_admin", row(&w, &p, &w.admin, "admin").await, everything);
    let nothing = expect(&[
        ("read project", "404"),
        ("field budget", "-"),
        ("field internalNotes", "-"),
        ("read phase 1 tasks", "404"),
        ("read phase 2 tasks", "404"),
        ("field estimate", "-"),
        ("read reports", "404"),
        ("field customerSentiment", "-"),
        ("add task", "404"),
        ("add milestone", "404"),
        ("add RAID entry", "404"),
        ("file report", "404"),
        ("file report with sentiment", "404"),
        ("set health", "404"),
    ]);
    check(
        "customer_account_owner",
        row(&w, &p, &owner, "owner").await,
        nothing.clone(),
    );
    check("another partner's user", row(&w, &p, &tess, "tess").await, nothing);

    // The platform changes the rules: the budget becomes read-only (seen,
    // not set), estimates hidden, the sentiment open to partners.
    let config = w.ok("GET", "/workspace", &w.admin, None).await;
    let mut rules = config.clone();
    rules["fieldRules"] = json!({
        "project.budget": { "hidden": false, "readOnly": true },
        "project.internalNotes": { "hidden": true, "readOnly": true },
        "task.estimate": { "hidden": true, "readOnly": true },
        "report.customerSentiment": { "hidden": false, "readOnly": false },
    });
    w.ok("PUT", "/workspace", &w.admin, Some(rules)).await;
    let (s, m) = w
        .assign(&p, &w.nico_id, &[1], "Consultant", Some("Delivery Lead"))
        .await;
    assert_eq!(s, 200, "{m}");
    let mut want = partner("Delivery Lead");
    want.insert("field budget".into(), "true".into());
    want.insert("field estimate".into(), "false".into());
    want.insert("file report with sentiment".into(), "201".into());
    // The helper's task carries an estimate, now hidden from partners.
    want.insert("add task".into(), "403".into());
    check(
        "partner_user at Delivery Lead, new rules",
        row(&w, &p, &w.nico, "nico").await,
        want,
    );
    // A hidden estimate cannot be set (nor guessed by sending it).
    let (s, e) = w.task(&p, 1, "With an estimate", &w.nico).await;
    assert_eq!(
        (s, e["type"].as_str()),
        (403, Some("urn:portico:problem:field-read-only")),
        "{e}"
    );
    assert_eq!(mismatches, Vec::<String>::new());
    let (s, t) = w
        .call(
            "POST",
            &format!("/projects/{p}/phases/1/tasks"),
            &w.nico,
            Some(json!({ "title": "Without an estimate", "status": "todo" })),
        )
        .await;
    assert_eq!(s, 201, "{t}");

    // A participant's update keeps the hidden estimate as it was.
    let (_, tasks) = w
        .call("GET", &format!("/projects/{p}/phases/1/tasks"), &w.admin, None)
        .await;
    let first = tasks["items"][0].clone();
    let id = first["id"].as_str().unwrap();
    let (s, t) = w
        .call(
            "PUT",
            &format!("/projects/{p}/phases/1/tasks/{id}"),
            &w.nico,
            Some(json!({ "version": first["version"], "title": first["title"], "status": "in_progress" })),
        )
        .await;
    assert_eq!(s, 200, "{t}");
    assert!(t.get("estimate").is_none(), "{t}");
    let (_, tasks) = w
        .call("GET", &format!("/projects/{p}/phases/1/tasks"), &w.admin, None)
        .await;
    assert_eq!(
        (&tasks["items"][0]["status"], &tasks["items"][0]["estimate"]),
        (&json!("in_progress"), &json!("16")),
        "{tasks}"
    );
    // Nor does Northwind's log hold the estimate Nico's change kept.
    let log = w
        .ok(
            "GET",
            &format!(
                "/organizations/{}/activity?action=Update%20Project&limit=100",
                w.northwind
            ),
            &w.nora,
            None,
        )
        .await;
    let changed = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| {
            e["description"]
                .as_str()
                .unwrap_or_default()
                .starts_with("Changed task")
        })
        .unwrap_or_else(|| panic!("{log}"));
    assert!(changed["after"].get("estimate").is_none(), "{changed}");
    assert_eq!(changed["after"]["status"], json!("in_progress"), "{changed}");
    // A stale version is 409.
    let (s, e) = w
        .call(
            "PUT",
            &format!("/projects/{p}/phases/1/tasks/{id}"),
            &w.nico,
            Some(json!({ "version": first["version"], "title": "Again", "status": "done" })),
        )
        .await;
    assert_eq!(s, 409, "{e}");
}

/// Phase 1 only: phase 2 is closed; the project shows phase 1 only; My
/// projects lists what Nico takes part in, and nobody else's.
async fn phase_scoping_and_my_projects(b: Backend) {
    let w = W::new(b).await;
    w.license_northwind().await;
    let p = w.project("Scoped rollout", "2026-11-02").await;
    let other = w.project("Not Nico's", "2026-11-02").await;
    let (s, t) = w.task(&p, 2, "Phase 2 only", &w.admin).await;
    assert_eq!(s, 201, "{t}");
    let (s, m) = w.assign(&p, &w.nico_id, &[1], "Consultant", None).await;
    assert_eq!(s, 200, "{m}");
    let (s, e) = w
        .call("GET", &format!("/projects/{p}/phases/2/tasks"), &w.nico, None)
        .await;
    assert_eq!(
        (s, e["type"].as_str()),
        (403, Some("urn:portico:problem:access-level")),
        "{e}"
    );
    let (s, e) = w.task(&p, 2, "Sneaky", &w.nico).await;
    assert_eq!(s, 403, "{e}");
    // Who works on phase 2 is not Nico's to see either.
    let (s, m) = w.assign(&p, &w.admin_id, &[2], "Engagement lead", None).await;
    assert_eq!(s, 200, "{m}");
    let members = w.ok("GET", &format!("/projects/{p}/members"), &w.nico, None).await;
    let names: Vec<&str> = members["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["displayName"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["Nico User"], "{members}");
    let everyone = w.ok("GET", &format!("/projects/{p}/members"), &w.admin, None).await;
    assert_eq!(everyone["items"].as_array().unwrap().len(), 2, "{everyone}");
    let view = w.ok("GET", &format!("/projects/{p}"), &w.nico, None).await;
    assert_eq!(view["phases"], json!([{ "number": 1, "name": "Discovery" }]), "{view}");
    let (s, _) = w.call("GET", &format!("/projects/{other}"), &w.nico, None).await;
    assert_eq!(s, 404);
    let mine = w.ok("GET", "/projects", &w.nico, None).await;
    let ids: Vec<&str> = mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![p.as_str()], "{mine}");
    let all = w.ok("GET", "/projects", &w.admin, None).await;
    assert!(all["items"].as_array().unwrap().len() >= 2, "{all}");
    // Nora (Nico's manager, not a participant) sees none of it.
    let theirs = w.ok("GET", "/projects", &w.nora, None).await;
    assert_eq!(theirs["items"], json!([]), "{theirs}");
    let (s, _) = w.call("GET", &format!("/projects/{p}/members"), &w.nora, None).await;
    assert_eq!(s, 404);
    // Taken off the project: gone at once.
    let (s, _) = w
        .call(
            "DELETE",
            &format!("/projects/{p}/members/{}", w.nico_id),
            &w.admin,
            None,
        )
        .await;
    assert_eq!(s, 204);
    let (s, _) = w
        .call("GET", &format!("/projects/{p}/phases/1/tasks"), &w.nico, None)
        .await;
    assert_eq!(s, 404);
    let mine = w.ok("GET", "/projects", &w.nico, None).await;
    assert_eq!(mine["items"], json!([]), "{mine}");
}

/// Every workspace route, from every role that is not party to it: 0 leaks.
async fn cross_tenant_reads_find_nothing(b: Backend) {
    let w = W::new(b).await;
    w.license_northwind().await;
    let p = w.project("Private rollout", "2026-11-02").await;
    let (_, t) = w.task(&p, 1, "Private task", &w.admin).await;
    let task = t["id"].as_str().unwrap().to_string();
    w.supervise_nico().await;
    let (s, m) = w.assign(&p, &w.nico_id, &[1], "Consultant", None).await;
    assert_eq!(s, 200, "{m}");
    let (s, e) = w.log(&p, &task, WEEK, "2026-12-01", "4").await;
    assert_eq!(s, 201, "{e}");
    let (s, x) = w
        .call(
            "POST",
            &format!("/organizations/{}/users/{}/expenses", w.northwind, w.nico_id),
            &w.nico,
            Some(
                json!({ "spentOn": "2026-12-01", "amount": { "amount": "42.10", "currency": "EUR" },
                         "category": "travel", "description": "Train to Contoso" }),
            ),
        )
        .await;
    assert_eq!(s, 201, "{x}");
    let (tess, tailspin) = other_partner_user(&w).await;
    let outsiders = [
        ("another partner's user", tess.clone()),
        (
            "customer account owner",
            w.app.token(Role::CustomerAccountOwner).to_string(),
        ),
        // Nico's own manager, for what is not hers.
        ("his partner manager", w.nora.clone()),
    ];
    let nw = &w.northwind;
    let nico = &w.nico_id;
    let reads = [
        format!("/projects/{p}"),
        format!("/projects/{p}/members"),
        format!("/projects/{p}/phases/1/tasks"),
        format!("/projects/{p}/phases/1/milestones"),
        format!("/projects/{p}/phases/1/raid"),
        format!("/projects/{p}/reports"),
        format!("/projects/{p}/activity"),
        format!("/organizations/{nw}/users/{nico}/resource"),
        format!("/organizations/{nw}/users/{nico}/timesheets"),
        format!("/organizations/{nw}/users/{nico}/timesheets/{WEEK}"),
        format!("/organizations/{nw}/users/{nico}/expenses"),
        // The right person under the wrong organisation.
        format!("/organizations/{tailspin}/users/{nico}/timesheets/{WEEK}"),
    ];
    let mut leaks = Vec::new();
    for (who, token) in &outsiders {
        for path in &reads {
            // His manager sees his profile, time and expenses (below).
            if *who == "his partner manager" && path.contains(&format!("/organizations/{nw}/")) {
                continue;
            }
            let (s, body) = w.call("GET", path, token, None).await;
            let text = body.to_string();
            if s != 404 || text.contains("Private") || text.contains("Train to Contoso") {
                leaks.push(format!("{who} GET {path}: {s} {body}"));
            }
        }
        for list in ["/projects", "/approvals"] {
            let (s, body) = w.call("GET", list, token, None).await;
            if s != 200 || body["items"] != json!([]) {
                leaks.push(format!("{who} GET {list}: {s} {body}"));
            }
        }
        let (s, body) = w
            .call(
                "POST",
                &format!("{}/decision", w.week(nico, WEEK)),
                token,
                Some(json!({ "version": 1, "approve": true })),
            )
            .await;
        if s != 404 && !(*who == "his partner manager" && s == 403) {
            leaks.push(format!("{who} decides Nico's week: {s} {body}"));
        }
    }
    // Nico's own manager sees his time and profile, but not the project he
    // is not on, and does not decide (not his supervisor).
    let (s, _) = w.call("GET", &w.week(nico, WEEK), &w.nora, None).await;
    assert_eq!(s, 200);
    let (s, _) = w.call("GET", &format!("/projects/{p}"), &w.nora, None).await;
    assert_eq!(s, 404);
    assert_eq!(leaks, Vec::<String>::new());
}

/// Submit → approve (locked); submit → reject → change → resubmit → approve.
async fn timesheets_approve_and_reject_resubmit(b: Backend) {
    let w = W::new(b).await;
    w.license_northwind().await;
    let p = w.project("Timesheet rollout", "2026-11-02").await;
    let (_, t) = w.task(&p, 1, "Map the data", &w.admin).await;
    let task = t["id"].as_str().unwrap().to_string();
    let (s, m) = w.assign(&p, &w.nico_id, &[1], "Consultant", None).await;
    assert_eq!(s, 200, "{m}");
    // No supervisor yet: nothing to submit to.
    let (s, e) = w.log(&p, &task, WEEK, "2026-11-30", "7.5").await;
    assert_eq!(s, 201, "{e}");
    let sheet = w.ok("GET", &w.week(&w.nico_id, WEEK), &w.nico, None).await;
    let (s, e) = w
        .call(
            "POST",
            &format!("{}/submit", w.week(&w.nico_id, WEEK)),
            &w.nico,
            Some(json!({ "version": sheet["timesheet"]["version"] })),
        )
        .await;
    assert_eq!(s, 409, "{e}");
    assert!(e["detail"].as_str().unwrap().contains("no supervisor"), "{e}");
    w.supervise_nico().await;
    let (s, e) = w.log(&p, &task, WEEK, "2026-12-01", "0.25").await;
    assert_eq!(s, 201, "{e}");
    // Hours are exact decimals: 7.5 + 0.25.
    let sheet = w.ok("GET", &w.week(&w.nico_id, WEEK), &w.nico, None).await;
    assert_eq!(
        (
            &sheet["timesheet"]["totalHours"],
            sheet["entries"].as_array().unwrap().len()
        ),
        (&json!("7.75"), 2),
        "{sheet}"
    );
    let submitted = w
        .ok(
            "POST",
            &format!("{}/submit", w.week(&w.nico_id, WEEK)),
            &w.nico,
            Some(json!({ "version": sheet["timesheet"]["version"] })),
        )
        .await;
    assert_eq!(submitted["state"], json!("submitted"));
    let queue = w.ok("GET", "/approvals", &w.admin, None).await;
    assert_eq!(
        (queue["items"].as_array().unwrap().len(), &queue["items"][0]["kind"]),
        (1, &json!("timesheet")),
        "{queue}"
    );
    // Nobody but the supervisor decides; never the owner.
    for token in [&w.nico, &w.nora] {
        let (s, e) = w
            .call(
                "POST",
                &format!("{}/decision", w.week(&w.nico_id, WEEK)),
                token,
                Some(json!({ "version": submitted["version"], "approve": true })),
            )
            .await;
        assert_eq!(s, 403, "{e}");
    }
    let approved = w
        .ok(
            "POST",
            &format!("{}/decision", w.week(&w.nico_id, WEEK)),
            &w.admin,
            Some(json!({ "version": submitted["version"], "approve": true })),
        )
        .await;
    assert_eq!(approved["state"], json!("approved"));
    // Locked: no entry added or deleted, and the reason says so.
    let (s, e) = w.log(&p, &task, WEEK, "2026-12-02", "1").await;
    assert_eq!(s, 409, "{e}");
    assert!(e["detail"].as_str().unwrap().contains("approved: locked"), "{e}");
    let entry = sheet["entries"][0]["id"].as_str().unwrap();
    let (s, e) = w
        .call(
            "DELETE",
            &format!("{}/entries/{entry}", w.week(&w.nico_id, WEEK)),
            &w.nico,
            None,
        )
        .await;
    assert_eq!(s, 409, "{e}");
    let queue = w.ok("GET", "/approvals", &w.admin, None).await;
    assert_eq!(queue["items"], json!([]), "{queue}");

    // Week 2: rejected with a reason, changed, resubmitted, approved.
    let (s, e) = w.log(&p, &task, WEEK2, "2026-12-07", "8").await;
    assert_eq!(s, 201, "{e}");
    let v = e["timesheet"]["version"].clone();
    let sub = w
        .ok(
            "POST",
            &format!("{}/submit", w.week(&w.nico_id, WEEK2)),
            &w.nico,
            Some(json!({ "version": v })),
        )
        .await;
    let (s, e) = w
        .call(
            "POST",
            &format!("{}/decision", w.week(&w.nico_id, WEEK2)),
            &w.admin,
            Some(json!({ "version": sub["version"], "approve": false })),
        )
        .await;
    assert_eq!(s, 400, "a rejection needs a reason: {e}");
    let rejected = w
        .ok(
            "POST",
            &format!("{}/decision", w.week(&w.nico_id, WEEK2)),
            &w.admin,
            Some(json!({ "version": sub["version"], "approve": false, "reason": "Split Monday across two tasks." })),
        )
        .await;
    assert_eq!(
        (&rejected["state"], &rejected["reason"]),
        (&json!("rejected"), &json!("Split Monday across two tasks.")),
    );
    let seen = w.ok("GET", &w.week(&w.nico_id, WEEK2), &w.nico, None).await;
    assert_eq!(seen["timesheet"]["reason"], json!("Split Monday across two tasks."));
    let entry = seen["entries"][0]["id"].as_str().unwrap();
    let after = w
        .ok(
            "DELETE",
            &format!("{}/entries/{entry}", w.week(&w.nico_id, WEEK2)),
            &w.nico,
            None,
        )
        .await;
    assert_eq!(
        (&after["state"], &after["totalHours"]),
        (&json!("rejected"), &json!("0")),
        "{after}"
    );
    w.log(&p, &task, WEEK2, "2026-12-07", "4").await;
    let (s, e) = w.log(&p, &task, WEEK2, "2026-12-07", "4").await;
    assert_eq!(s, 201, "{e}");
    let resub = w
        .ok(
            "POST",
            &format!("{}/submit", w.week(&w.nico_id, WEEK2)),
            &w.nico,
            Some(json!({ "version": e["timesheet"]["version"] })),
        )
        .await;
    assert_eq!(resub["state"], json!("submitted"));
    assert!(
        resub.get("reason").is_none() && resub.get("decidedBy").is_none(),
        "{resub}"
    );
    let done = w
        .ok(
            "POST",
            &format!("{}/decision", w.week(&w.nico_id, WEEK2)),
            &w.admin,
            Some(json!({ "version": resub["version"], "approve": true })),
        )
        .await;
    assert_eq!((&done["state"], &done["totalHours"]), (&json!("approved"), &json!("8")));
    for far in ["1899-12-25", "+262142-12-25", "-262143-01-01"] {
        let (s, e) = w.call("GET", &w.week(&w.nico_id, far), &w.nico, None).await;
        assert_eq!(s, 400, "{far}: {e}");
    }
    let weeks = w
        .ok(
            "GET",
            &format!("/organizations/{}/users/{}/timesheets", w.northwind, w.nico_id),
            &w.nico,
            None,
        )
        .await;
    let listed: Vec<&str> = weeks["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["week"].as_str().unwrap())
        .collect();
    assert_eq!(listed, vec![WEEK2, WEEK], "{weeks}");
}

/// An approval against a change to the same submitted week: exactly one
/// wins, ten times over; and 50 concurrent entries on one week lose none.
async fn timesheet_races(b: Backend) {
    let w = W::new(b).await;
    w.license_northwind().await;
    let p = w.project("Race rollout", "2026-11-02").await;
    let (_, t) = w.task(&p, 1, "Race", &w.admin).await;
    let task = t["id"].as_str().unwrap().to_string();
    w.assign(&p, &w.nico_id, &[1], "Consultant", None).await;
    w.supervise_nico().await;

    let (mut approvals, mut changes) = (0, 0);
    for round in 0..10 {
        let (_, e) = w.log(&p, &task, WEEK3, "2026-12-14", "1").await;
        let sub = w
            .ok(
                "POST",
                &format!("{}/submit", w.week(&w.nico_id, WEEK3)),
                &w.nico,
                Some(json!({ "version": e["timesheet"]["version"] })),
            )
            .await;
        let decision = format!("{}/decision", w.week(&w.nico_id, WEEK3));
        let decide = w.call(
            "POST",
            &decision,
            &w.admin,
            Some(json!({ "version": sub["version"], "approve": true })),
        );
        let change = w.log(&p, &task, WEEK3, "2026-12-15", "1");
        let ((ds, db), (cs, cb)) = futures::future::join(decide, change).await;
        match (ds, cs) {
            (200, 409) => {
                approvals += 1;
                assert!(cb["detail"].as_str().unwrap().contains("approved: locked"), "{cb}");
                let sheet = w.ok("GET", &w.week(&w.nico_id, WEEK3), &w.nico, None).await;
                assert_eq!(sheet["timesheet"]["state"], json!("approved"));
                assert_eq!(
                    sheet["entries"].as_array().unwrap().len() as u64,
                    sheet["timesheet"]["entries"].as_u64().unwrap()
                );
                break;
            }
            (409, 201) => {
                changes += 1;
                let sheet = w.ok("GET", &w.week(&w.nico_id, WEEK3), &w.nico, None).await;
                assert_eq!(
                    sheet["timesheet"]["state"],
                    json!("draft"),
                    "withdrawn by the change: {sheet}"
                );
                let queue = w.ok("GET", "/approvals", &w.admin, None).await;
                assert_eq!(queue["items"], json!([]), "round {round}: {queue}");
            }
            other => panic!("round {round}: both or neither won: {other:?} {db} {cb}"),
        }
    }
    assert!(approvals + changes >= 1);

    // 50 concurrent entries on a fresh week: all in, the total exact.
    let answers = futures::future::join_all((0..50).map(|i| {
        // Spread over the week's seven days.
        let day = [
            "2026-11-30",
            "2026-12-01",
            "2026-12-02",
            "2026-12-03",
            "2026-12-04",
            "2026-12-05",
            "2026-12-06",
        ][i % 7]
            .to_string();
        let w = &w;
        let (p, task) = (p.clone(), task.clone());
        async move { w.log(&p, &task, WEEK, &day, "0.5").await }
    }))
    .await;
    let failed: Vec<_> = answers.iter().filter(|(s, _)| *s != 201).collect();
    assert!(failed.is_empty(), "{failed:?}");
    let sheet = w.ok("GET", &w.week(&w.nico_id, WEEK), &w.nico, None).await;
    assert_eq!(
        (
            sheet["entries"].as_array().unwrap().len(),
            &sheet["timesheet"]["entries"],
            &sheet["timesheet"]["totalHours"]
        ),
        (50, &json!(50), &json!("25")),
        "{}",
        sheet["timesheet"]
    );
}

/// The Default External Project Access Level (globally and per role)
/// applies to a partner added without a level.
async fn default_external_level(b: Backend) {
    let w = W::new(b).await;
    w.license_northwind().await;
    let p = w.project("Defaults rollout", "2026-11-02").await;
    let (s, m) = w.assign(&p, &w.nico_id, &[1, 2], "Consultant", None).await;
    assert_eq!(s, 200, "{m}");
    assert_eq!(
        m["phases"][0]["level"],
        json!("Contributor"),
        "the shipped default: {m}"
    );
    let mut config = w.ok("GET", "/workspace", &w.admin, None).await;
    config["defaultExternalLevel"] = json!("Viewer");
    config["defaultLevelByRole"] = json!({ "Architect": "Delivery Lead" });
    let saved = w.ok("PUT", "/workspace", &w.admin, Some(config.clone())).await;
    assert_eq!(saved["version"], json!(1));
    let (s, e) = w.call("PUT", "/workspace", &w.admin, Some(config)).await;
    assert_eq!(s, 409, "stale: {e}");
    let mut bad = saved.clone();
    bad["defaultExternalLevel"] = json!("Owner");
    let (s, e) = w.call("PUT", "/workspace", &w.admin, Some(bad)).await;
    assert_eq!(s, 400, "{e}");
    let (s, e) = w.call("PUT", "/workspace", &w.nora, Some(saved)).await;
    assert_eq!(s, 403, "{e}");

    let (s, m) = w.assign(&p, &w.nora_id, &[1], "Consultant", None).await;
    assert_eq!((s, &m["phases"][0]["level"]), (200, &json!("Viewer")), "{m}");
    let (s, m) = w.assign(&p, &w.nora_id, &[1], "Architect", None).await;
    assert_eq!((s, &m["phases"][0]["level"]), (200, &json!("Delivery Lead")), "{m}");
    let view = w.ok("GET", &format!("/projects/{p}"), &w.nora, None).await;
    assert_eq!(view["yourAccess"][0]["level"], json!("Delivery Lead"), "{view}");
    // An existing participant keeps the level they were given.
    let view = w.ok("GET", &format!("/projects/{p}"), &w.nico, None).await;
    assert_eq!(view["yourAccess"][0]["level"], json!("Contributor"), "{view}");
}

/// Time to value, direct against partner-led.
async fn time_to_value(b: Backend) {
    let w = W::new(b).await;
    w.license_northwind().await;
    let direct = w.project("Direct delivery", "2026-01-05").await;
    let led = w.project("Partner-led delivery", "2026-01-05").await;
    w.assign(&led, &w.nico_id, &[1, 2], "Consultant", Some("Delivery Lead"))
        .await;
    let (s, m) = w
        .call(
            "POST",
            &format!("/projects/{direct}/phases/2/milestones"),
            &w.admin,
            Some(json!({ "name": "Go-live", "planned": "2026-02-27", "actual": "2026-03-06", "marksValue": true })),
        )
        .await;
    assert_eq!(s, 201, "{m}");
    // The partner's Delivery Lead plans go-live, then reaches it.
    let (s, m) = w
        .call(
            "POST",
            &format!("/projects/{led}/phases/2/milestones"),
            &w.nico,
            Some(json!({ "name": "Go-live", "planned": "2026-02-06", "marksValue": true })),
        )
        .await;
    assert_eq!(s, 201, "{m}");
    let (s, m) = w
        .call(
            "PUT",
            &format!("/projects/{led}/phases/2/milestones/{}", m["id"].as_str().unwrap()),
            &w.nico,
            Some(
                json!({ "version": m["version"], "name": "Go-live", "planned": "2026-02-06",
                         "actual": "2026-02-04", "marksValue": true }),
            ),
        )
        .await;
    assert_eq!(s, 200, "{m}");
    let d = w.ok("GET", &format!("/projects/{direct}"), &w.admin, None).await;
    let l = w.ok("GET", &format!("/projects/{led}"), &w.admin, None).await;
    assert_eq!(
        (
            &d["delivery"],
            &d["timeToValueDays"],
            &l["delivery"],
            &l["timeToValueDays"]
        ),
        (&json!("direct"), &json!(60), &json!("partnerLed"), &json!(30)),
    );
    // Go-live recorded by mistake: never before the start; cleared, then reached again.
    let (_, ms) = w
        .call(
            "GET",
            &format!("/projects/{direct}/phases/2/milestones"),
            &w.admin,
            None,
        )
        .await;
    let go = ms["items"][0].clone();
    let go_path = format!("/projects/{direct}/phases/2/milestones/{}", go["id"].as_str().unwrap());
    let (s, e) = w
        .call(
            "PUT",
            &go_path,
            &w.admin,
            Some(
                json!({ "version": go["version"], "name": "Go-live", "planned": "2026-02-27",
                         "actual": "2025-12-01", "marksValue": true }),
            ),
        )
        .await;
    assert_eq!(s, 400, "before the start: {e}");
    let m = w
        .ok(
            "PUT",
            &go_path,
            &w.admin,
            Some(json!({ "version": go["version"], "name": "Go-live", "planned": "2026-02-27", "marksValue": true })),
        )
        .await;
    let d = w.ok("GET", &format!("/projects/{direct}"), &w.admin, None).await;
    assert!(d.get("timeToValueDays").is_none(), "not reached after all: {d}");
    w.ok(
        "PUT",
        &go_path,
        &w.admin,
        Some(
            json!({ "version": m["version"], "name": "Go-live", "planned": "2026-02-27", "actual": "2026-03-06",
                     "marksValue": true }),
        ),
    )
    .await;
    let all = w.ok("GET", "/projects", &w.admin, None).await;
    assert_eq!(
        all["timeToValue"],
        json!({ "direct": { "projects": 1, "averageDays": 60.0 }, "partnerLed": { "projects": 1, "averageDays": 30.0 } }),
        "{all}"
    );
}

/// A partner participant needs a licence: their partner's seats counted.
async fn licence_required(b: Backend) {
    let w = W::new(b).await;
    let p = w.project("Licensed rollout", "2026-11-02").await;
    let (s, e) = w.assign(&p, &w.nico_id, &[1], "Consultant", None).await;
    assert_eq!(s, 409, "{e}");
    assert!(e["detail"].as_str().unwrap().contains("holds no licence"), "{e}");
    let view = w.ok("GET", &format!("/projects/{p}"), &w.admin, None).await;
    assert_eq!(
        (&view["participants"], &view["delivery"]),
        (&json!(0), &json!("direct")),
        "nothing half-written"
    );
    w.license_northwind().await;
    let (s, m) = w.assign(&p, &w.nico_id, &[1], "Consultant", None).await;
    assert_eq!(s, 200, "{m}");
    let view = w.ok("GET", &format!("/projects/{p}"), &w.admin, None).await;
    assert_eq!(
        (&view["participants"], &view["delivery"]),
        (&json!(1), &json!("partnerLed"))
    );
    // Platform users need no licence; customers' users never take part.
    let (s, m) = w
        .assign(&p, &w.admin_id, &[1, 2], "Engagement lead", Some("Delivery Lead"))
        .await;
    assert_eq!(s, 200, "{m}");
    let owner = w.app.users[&Role::CustomerAccountOwner].to_string();
    let (s, e) = w.assign(&p, &owner, &[1], "Sponsor", None).await;
    assert_eq!(s, 400, "{e}");
}

/// Expenses: decimal money, submitted to the supervisor; approved ones locked;
/// rejected ones changed and resubmitted.
async fn expenses(b: Backend) {
    let w = W::new(b).await;
    w.license_northwind().await;
    let base = format!("/organizations/{}/users/{}/expenses", w.northwind, w.nico_id);
    let claim = json!({ "spentOn": "2026-12-01", "amount": { "amount": "1250.5", "currency": "EUR" },
                        "category": "lodging", "description": "Hotel, 3 nights",
                        "receipt": { "fileName": "hotel.pdf", "contentType": "application/pdf", "sizeBytes": 48213 } });
    let (s, e) = w.call("POST", &base, &w.nico, Some(claim.clone())).await;
    assert_eq!(s, 409, "no supervisor yet: {e}");
    w.supervise_nico().await;
    let first = w.ok("POST", &base, &w.nico, Some(claim.clone())).await;
    assert_eq!(
        first["amount"],
        json!({ "amount": "1250.50", "currency": "EUR" }),
        "{first}"
    );
    let mut float = claim.clone();
    float["amount"]["amount"] = json!(12.3);
    let (s, e) = w.call("POST", &base, &w.nico, Some(float)).await;
    assert!(s == 400 || s == 422, "money is a decimal string, not a float: {s} {e}");
    let second = w.ok("POST", &base, &w.nico, Some(claim.clone())).await;
    let queue = w.ok("GET", "/approvals", &w.admin, None).await;
    assert_eq!(queue["items"].as_array().unwrap().len(), 2, "{queue}");
    let id = first["id"].as_str().unwrap();
    let approved = w
        .ok(
            "POST",
            &format!("{base}/{id}/decision"),
            &w.admin,
            Some(json!({ "version": 1, "approve": true })),
        )
        .await;
    assert_eq!(approved["state"], json!("approved"));
    let mut change = claim.clone();
    change["version"] = json!(2);
    let (s, e) = w.call("PUT", &format!("{base}/{id}"), &w.nico, Some(change)).await;
    assert_eq!(s, 409, "{e}");
    assert!(e["detail"].as_str().unwrap().contains("locked"), "{e}");
    let id2 = second["id"].as_str().unwrap();
    let rejected = w
        .ok(
            "POST",
            &format!("{base}/{id2}/decision"),
            &w.admin,
            Some(json!({ "version": 1, "approve": false, "reason": "Two nights were booked." })),
        )
        .await;
    assert_eq!(rejected["state"], json!("rejected"));
    let mut fixed = claim.clone();
    fixed["version"] = json!(2);
    fixed["amount"]["amount"] = json!("833.67");
    let resub = w.ok("PUT", &format!("{base}/{id2}"), &w.nico, Some(fixed)).await;
    assert_eq!(
        (&resub["state"], &resub["amount"]["amount"], &resub["version"]),
        (&json!("submitted"), &json!("833.67"), &json!(3))
    );
    let list = w.ok("GET", &base, &w.nora, None).await;
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        2,
        "Nico's manager sees them: {list}"
    );
}

/// Every change is an event in the project's log and in the actor's
/// organisation's log.
async fn every_change_is_an_event(b: Backend) {
    let w = W::new(b).await;
    w.license_northwind().await;
    let p = w.project("Evented rollout", "2026-11-02").await;
    w.assign(&p, &w.nico_id, &[1], "Consultant", Some("Delivery Lead"))
        .await;
    let (s, _) = w
        .call(
            "POST",
            &format!("/projects/{p}/phases/1/raid"),
            &w.nico,
            Some(json!({ "kind": "risk", "title": "Data quality unknown", "severity": "high", "status": "open" })),
        )
        .await;
    assert_eq!(s, 201);
    let log = w.ok("GET", &format!("/projects/{p}/activity"), &w.admin, None).await;
    let descriptions: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["description"].as_str().unwrap())
        .collect();
    assert_eq!(descriptions.len(), 3, "{log}");
    assert!(
        descriptions[0].contains("Added RAID entry \"Data quality unknown\""),
        "{descriptions:?}"
    );
    assert!(
        descriptions[1].starts_with("Added user@northwind.example.com"),
        "{descriptions:?}"
    );
    assert!(
        descriptions[2].starts_with("Started project \"Evented rollout\""),
        "{descriptions:?}"
    );
    let (s, _) = w.call("GET", &format!("/projects/{p}/activity"), &w.nico, None).await;
    assert_eq!(s, 403, "the project's log is the platform's");
    let nw = w
        .ok(
            "GET",
            &format!("/organizations/{}/activity?action=Update%20Project", w.northwind),
            &w.admin,
            None,
        )
        .await;
    assert!(
        nw["items"][0]["description"]
            .as_str()
            .unwrap()
            .contains("Data quality unknown"),
        "{nw}"
    );
    let verified = w
        .ok(
            "GET",
            &format!("/organizations/{}/activity/verify", w.northwind),
            &w.admin,
            None,
        )
        .await;
    assert_eq!(verified["intact"], json!(true), "{verified}");
}

both_backends!(
    access_levels_and_field_rules,
    phase_scoping_and_my_projects,
    cross_tenant_reads_find_nothing,
    timesheets_approve_and_reject_resubmit,
    timesheet_races,
    default_external_level,
    time_to_value,
    licence_required,
    expenses,
    every_change_is_an_event,
);

/// The README's partner's day runs as written (bash, curl, python3) on the
/// embedded store, as `cargo run` serves it; then its effect is read back.
#[tokio::test]
async fn the_readme_partners_day_runs() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let stdout = portico_tests::run_readme_section(&app, "## The co-delivery workspace (seed 001)").await;
    let admin = app.token(Role::PlatformAdmin);
    let (_, projects) = app.get_json("/projects", admin).await;
    let p = projects["items"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{projects}"));
    let (_, tasks) = app.get_json(&format!("/projects/{p}/phases/1/tasks"), admin).await;
    assert_eq!(tasks["items"][0]["status"], json!("in_progress"), "{tasks}");
    let (_, raid) = app.get_json(&format!("/projects/{p}/phases/1/raid"), admin).await;
    assert_eq!(
        raid["items"][0]["title"],
        json!("Legacy exports truncate long names"),
        "{raid}"
    );
    let week = format!(
        "/organizations/{}/users/{}/timesheets/2026-11-30",
        app.orgs[&Role::PartnerManager],
        app.users[&Role::PartnerUser]
    );
    let (_, sheet) = app.get_json(&week, admin).await;
    assert_eq!(
        (&sheet["timesheet"]["state"], &sheet["timesheet"]["totalHours"]),
        (&json!("approved"), &json!("6.5")),
        "{sheet}"
    );
    // Nico's view of the project carried no budget.
    assert!(stdout.contains("\"name\":\"Contoso data migration\""), "{stdout}");
    assert!(
        !stdout.contains("48000"),
        "the budget is hidden from partners: {stdout}"
    );
}
