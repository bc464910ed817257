//! Round trips per request, counted: every route of the flow below makes at
//! most one read round trip and one write round trip to Portico's table
//! (reads started together count as one round trip), except the few named in
//! `read_budget`, which need a second read for their chain head. The identity's own
//! storage (Cognito, or the local identity's records) is not Portico's table
//! and is not counted.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

use async_trait::async_trait;
use chrono::{Duration, Utc};
use portico_core::domain::Role;
use portico_core::identity::local::LocalIdentity;
use portico_core::store::{Item, Key, Page, Query, StoreError, Table, Write, keys};
use portico_tests::{Backend, Options, TestApp};
use serde_json::{Value, json};

#[derive(Default)]
struct Counters {
    in_flight: AtomicUsize,
    read_trips: AtomicUsize,
    read_calls: AtomicUsize,
    write_trips: AtomicUsize,
    /// Action types of the events in committed transactions.
    events: std::sync::Mutex<Vec<String>>,
}

struct Counting(Arc<dyn Table>, Arc<Counters>);

impl Counting {
    async fn read<T>(&self, f: impl std::future::Future<Output = T>) -> T {
        if self.1.in_flight.fetch_add(1, SeqCst) == 0 {
            self.1.read_trips.fetch_add(1, SeqCst);
        }
        self.1.read_calls.fetch_add(1, SeqCst);
        // Every read takes a network's while, as DynamoDB's do: reads started
        // together overlap and count as one round trip, reads one after the
        // other as two, however fast the embedded store answers.
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let out = f.await;
        self.1.in_flight.fetch_sub(1, SeqCst);
        out
    }
}

#[async_trait]
impl Table for Counting {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        self.read(self.0.get(key)).await
    }
    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Item>>, StoreError> {
        self.read(self.0.get_many(keys)).await
    }
    async fn query(&self, q: &Query) -> Result<Page, StoreError> {
        self.read(self.0.query(q)).await
    }
    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        self.1.write_trips.fetch_add(1, SeqCst);
        let events: Vec<String> = writes
            .iter()
            .filter_map(|w| match w {
                Write::Put { item, .. } if item.entity == keys::EVENT => {
                    Some(item.data["action"].as_str()?.to_string())
                }
                _ => None,
            })
            .collect();
        let out = self.0.transact(writes).await;
        if out.is_ok() {
            self.1.events.lock().unwrap().extend(events);
        }
        out
    }
}

struct Meter {
    app: TestApp,
    counters: Arc<Counters>,
    rows: Vec<(String, usize, usize, usize, Vec<String>)>,
}

impl Meter {
    async fn call(
        &mut self,
        what: &str,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        for c in [
            &self.counters.read_trips,
            &self.counters.read_calls,
            &self.counters.write_trips,
        ] {
            c.store(0, SeqCst);
        }
        self.counters.events.lock().unwrap().clear();
        let mut req = self.app.http.request(
            reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
            self.app.url(path),
        );
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let value: Value = resp.json().await.unwrap_or(Value::Null);
        let (r, c, w) = (
            self.counters.read_trips.load(SeqCst),
            self.counters.read_calls.load(SeqCst),
            self.counters.write_trips.load(SeqCst),
        );
        assert!(status < 500, "{what}: {status} {value}");
        let events = std::mem::take(&mut *self.counters.events.lock().unwrap());
        self.rows.push((what.to_string(), r, c, w, events));
        (status, value)
    }
}

/// Read round trips a request may make. These learn which organisation
/// their activity event belongs to only from their first read (the link,
/// the user request, the login of an email, the user behind an MFA
/// session), so reading that organisation's chain head is a second read.
fn read_budget(what: &str) -> usize {
    // A partner user's settings change reads the customer's instances after
    // the customer (their consent gates it; the index key needs the name).
    if what == "PUT /customers/{id}/settings/{key}" {
        return 2;
    }
    // Renaming a customer re-keys its instances, listed under its name: they
    // are found by the name read first.
    if what == "PUT /organizations/{id}/name" {
        return 2;
    }
    // The first allocation of a partner made before seats counts its users;
    // finishing a sign-up reads the link and the settings, then the
    // templates they name; deciding one reads the organisation, then its manager.
    if matches!(
        what,
        "PUT seats (first)" | "POST /signup/complete" | "POST signup decision"
    ) {
        return 2;
    }
    const SECOND_READ_FOR_CHAIN_HEAD: [&str; 8] = [
        "POST decision",
        "POST seat decision",
        "POST /signup-links/{link}/signups",
        "POST /password/forgot",
        "POST /password/setup",
        "POST /session/mfa-setup/confirm",
        "POST /session/mfa",
        "POST /session/recover",
    ];
    if SECOND_READ_FOR_CHAIN_HEAD.contains(&what) {
        2
    } else {
        1
    }
}

pub async fn every_request_makes_at_most_one_read_and_one_write_round_trip(b: Backend) {
    let counters = Arc::new(Counters::default());
    let c2 = counters.clone();
    let opts = Options {
        wrap: Some(Box::new(move |t| Arc::new(Counting(t, c2)) as Arc<dyn Table>)),
        ..Default::default()
    };
    let app = TestApp::spawn_with(b, opts).await;
    let admin = app.token(Role::PlatformAdmin).to_string();
    let manager = app.token(Role::PartnerManager).to_string();
    let puser = app.token(Role::PartnerUser).to_string();
    let owner = app.token(Role::CustomerAccountOwner).to_string();
    let partner = app.orgs[&Role::PartnerManager];
    let mut m = Meter {
        app,
        counters,
        rows: Vec::new(),
    };
    let uniq = uuid::Uuid::new_v4().simple().to_string();

    let (_, p) = m
        .call(
            "POST /organizations (partner)",
            "POST",
            "/organizations",
            Some(&admin),
            Some(json!({ "name": format!("P {uniq}"), "kind": "partner" })),
        )
        .await;
    let body = json!({ "name": format!("C {uniq}"), "kind": "customer", "partnerOfRecord": p["id"] });
    m.call(
        "POST /organizations (customer)",
        "POST",
        "/organizations",
        Some(&admin),
        Some(body),
    )
    .await;
    m.call(
        "GET /organizations (platform admin)",
        "GET",
        "/organizations",
        Some(&admin),
        None,
    )
    .await;
    m.call(
        "GET /organizations (partner user)",
        "GET",
        "/organizations",
        Some(&puser),
        None,
    )
    .await;
    m.call(
        "GET /organizations (customer)",
        "GET",
        "/organizations",
        Some(&owner),
        None,
    )
    .await;
    m.call(
        "GET /organizations/{id}",
        "GET",
        &format!("/organizations/{partner}"),
        Some(&puser),
        None,
    )
    .await;
    let (_, tr) = m
        .call(
            "GET trusted-ranges",
            "GET",
            &format!("/organizations/{partner}/trusted-ranges"),
            Some(&manager),
            None,
        )
        .await;
    let body = json!({ "ranges": ["10.0.0.0/16"], "version": tr["version"] });
    m.call(
        "PUT trusted-ranges",
        "PUT",
        &format!("/organizations/{partner}/trusted-ranges"),
        Some(&manager),
        Some(body),
    )
    .await;
    let customer = m.app.orgs[&Role::CustomerAccountOwner];
    m.call(
        "GET /customers/{id}/settings",
        "GET",
        &format!("/customers/{customer}/settings"),
        Some(&puser),
        None,
    )
    .await;
    let body = json!({ "enabled": false, "version": 0 });
    m.call(
        "PUT /customers/{id}/settings/{key}",
        "PUT",
        &format!("/customers/{customer}/settings/feed.comments"),
        Some(&puser),
        Some(body),
    )
    .await;
    let pu = m.app.users[&Role::PartnerUser];
    let body = json!({ "userId": pu, "key": "sso.enforce" });
    m.call(
        "POST setting-grants",
        "POST",
        &format!("/partners/{partner}/setting-grants"),
        Some(&manager),
        Some(body),
    )
    .await;
    m.call(
        "GET setting-grants",
        "GET",
        &format!("/partners/{partner}/setting-grants?key=sso.enforce"),
        Some(&manager),
        None,
    )
    .await;
    m.call(
        "DELETE setting-grant",
        "DELETE",
        &format!("/partners/{partner}/setting-grants/{pu}/sso.enforce"),
        Some(&manager),
        None,
    )
    .await;
    let body = json!({ "required": false, "version": 1 });
    m.call(
        "PUT mfa-policy",
        "PUT",
        &format!("/organizations/{customer}/mfa-policy"),
        Some(&owner),
        Some(body),
    )
    .await;

    let pm = format!("pm-{uniq}@budget.example.com");
    let body = json!({ "organizationName": format!("Budget {uniq}"), "email": pm, "displayName": "Bea" });
    let (_, sent) = m
        .call(
            "POST /invitations/partner",
            "POST",
            "/invitations/partner",
            Some(&admin),
            Some(body),
        )
        .await;
    let new_org = sent["invitation"]["orgId"].as_str().unwrap().to_string();
    let cust = format!("owner-{uniq}@budget.example.com");
    let (_, inv) = m
        .call(
            "POST /invitations/customer",
            "POST",
            "/invitations/customer",
            Some(&manager),
            Some(json!({ "email": cust })),
        )
        .await;
    m.call(
        "GET invitations",
        "GET",
        &format!("/organizations/{partner}/invitations"),
        Some(&manager),
        None,
    )
    .await;
    let id = inv["invitation"]["id"].as_str().unwrap().to_string();
    m.call(
        "POST resend",
        "POST",
        &format!("/invitations/{id}/resend"),
        Some(&manager),
        Some(json!({})),
    )
    .await;
    let token = m.app.last_token_to(&cust).await;
    let body = json!({ "token": token, "organizationName": format!("Cust {uniq}"), "displayName": "Cy", "password": "Correct horse battery staple 42!" });
    m.call(
        "POST /invitations/accept",
        "POST",
        "/invitations/accept",
        None,
        Some(body),
    )
    .await;

    let ask =
        json!({ "email": format!("req-{uniq}@northwind.example.com"), "displayName": "Rex", "role": "partner_user" });
    let (_, req) = m
        .call(
            "POST /user-requests",
            "POST",
            "/user-requests",
            Some(&manager),
            Some(ask),
        )
        .await;
    m.call(
        "GET /user-requests (partner manager)",
        "GET",
        "/user-requests",
        Some(&manager),
        None,
    )
    .await;
    m.call(
        "GET /user-requests (platform admin)",
        "GET",
        "/user-requests",
        Some(&admin),
        None,
    )
    .await;
    let rid = req["id"].as_str().unwrap();
    m.call(
        "POST decision",
        "POST",
        &format!("/user-requests/{rid}/decision"),
        Some(&admin),
        Some(json!({ "approve": true })),
    )
    .await;
    let added = format!("added-{uniq}@northwind.example.com");
    let body = json!({ "email": added, "displayName": "Ad", "role": "partner_user" });
    m.call(
        "POST /organizations/{id}/users",
        "POST",
        &format!("/organizations/{partner}/users"),
        Some(&admin),
        Some(body),
    )
    .await;
    let _ = new_org;

    let token = m.app.last_token_to(&pm).await;
    let pw = "Correct horse battery staple 42!";
    m.call(
        "POST /password/setup",
        "POST",
        "/password/setup",
        None,
        Some(json!({ "token": token, "password": pw })),
    )
    .await;
    let (_, step) = m
        .call(
            "POST /session",
            "POST",
            "/session",
            None,
            Some(json!({ "email": pm, "password": pw })),
        )
        .await;
    let (_, enrol) = m
        .call(
            "POST /session/mfa-setup",
            "POST",
            "/session/mfa-setup",
            None,
            Some(json!({ "session": step["session"] })),
        )
        .await;
    let secret = enrol["secret"].as_str().unwrap().to_string();
    let code = |steps: i64| {
        let at = Utc::now() + Duration::seconds(30 * steps);
        LocalIdentity::code_at(&secret, at).unwrap_or_else(|_| format!("{:06}", (at.timestamp() / 30) % 1_000_000))
    };
    let body = json!({ "session": enrol["session"], "code": code(0) });
    let (_, done) = m
        .call(
            "POST /session/mfa-setup/confirm",
            "POST",
            "/session/mfa-setup/confirm",
            None,
            Some(body),
        )
        .await;
    let (_, step) = m
        .call(
            "POST /session (enrolled)",
            "POST",
            "/session",
            None,
            Some(json!({ "email": pm, "password": pw })),
        )
        .await;
    m.call(
        "POST /session/mfa",
        "POST",
        "/session/mfa",
        None,
        Some(json!({ "session": step["session"], "code": code(1) })),
    )
    .await;
    m.call(
        "POST /password/forgot",
        "POST",
        "/password/forgot",
        None,
        Some(json!({ "email": pm })),
    )
    .await;
    m.call(
        "POST /email/confirm (unknown)",
        "POST",
        "/email/confirm",
        None,
        Some(json!({ "token": "A".repeat(43) })),
    )
    .await;
    let rc = done["recoveryCodes"][0].clone();
    if b == Backend::Sqlite {
        m.call(
            "POST /session/recover",
            "POST",
            "/session/recover",
            None,
            Some(json!({ "email": pm, "password": pw, "recoveryCode": rc })),
        )
        .await;
    }
    // The activity log: a page of 50 is one read round trip when the
    // filters are key conditions (and when they are not, bounded).
    let customer = m.app.orgs[&Role::CustomerAccountOwner];
    for (what, query) in [
        ("GET activity", "limit=50"),
        ("GET activity (user)", "limit=50&user=someone%40example.com"),
        ("GET activity (action)", "limit=50&action=Update%20Configuration"),
        (
            "GET activity (actions, time, description)",
            "limit=50&action=Invite%20User%2CUpdate%20Configuration&from=2020-01-01T00%3A00%3A00Z&description=x",
        ),
        ("GET activity/export", "format=ndjson"),
    ] {
        let path = if what.contains("export") {
            format!("/organizations/{partner}/activity/export?{query}")
        } else {
            format!("/organizations/{customer}/activity?{query}")
        };
        let (status, _) = m.call(what, "GET", &path, Some(&manager), None).await;
        assert_eq!(status, 200, "{what}");
    }
    m.call(
        "GET activity/verify",
        "GET",
        &format!("/organizations/{partner}/activity/verify"),
        Some(&manager),
        None,
    )
    .await;
    m.call(
        "PUT activity/retention",
        "PUT",
        &format!("/organizations/{partner}/activity/retention"),
        Some(&admin),
        Some(json!({ "days": 400 })),
    )
    .await;
    // Invoices and payments: the platform records a line; the partner user reads the list.
    m.call(
        "POST /customers/{id}/billing",
        "POST",
        &format!("/customers/{customer}/billing"),
        Some(&admin),
        Some(json!({ "kind": "invoice", "reference": "INV-9", "date": "2026-12-01", "amount": "99.90", "currency": "EUR" })),
    )
    .await;
    m.call(
        "GET /customers/{id}/billing",
        "GET",
        &format!("/customers/{customer}/billing"),
        Some(&manager),
        None,
    )
    .await;
    let (_, org) = m
        .app
        .get_json(
            &format!("/organizations/{customer}"),
            m.app.token(Role::CustomerAccountOwner),
        )
        .await;
    m.call(
        "PUT /organizations/{id}/name",
        "PUT",
        &format!("/organizations/{customer}/name"),
        Some(&m.app.token(Role::CustomerAccountOwner).to_string()),
        Some(json!({ "name": format!("Contoso {uniq}"), "version": org["version"] })),
    )
    .await;
    // The staff list: the Account Owner invites a System Administrator, who
    // becomes a user and is removed; Northwind's manager lists the staff.
    let owner = m.app.token(Role::CustomerAccountOwner).to_string();
    let (_, sam) = m
        .call(
            "POST /customers/{id}/staff",
            "POST",
            &format!("/customers/{customer}/staff"),
            Some(&owner),
            Some(json!({ "email": format!("sam-{uniq}@contoso.example.com"), "displayName": "Sam", "role": "customer_admin" })),
        )
        .await;
    let sam = sam["id"].as_str().unwrap().to_string();
    m.call(
        "GET /customers/{id}/staff",
        "GET",
        &format!("/customers/{customer}/staff"),
        Some(&manager),
        None,
    )
    .await;
    m.call(
        "PUT /customers/{id}/staff/{user}",
        "PUT",
        &format!("/customers/{customer}/staff/{sam}"),
        Some(&owner),
        Some(json!({ "role": "customer_user" })),
    )
    .await;
    m.call(
        "DELETE /customers/{id}/staff/{user}",
        "DELETE",
        &format!("/customers/{customer}/staff/{sam}"),
        Some(&owner),
        None,
    )
    .await;

    let (_, second) = m
        .call(
            "POST /invitations/customer (another)",
            "POST",
            "/invitations/customer",
            Some(&manager),
            Some(json!({ "email": format!("second-{uniq}@budget.example.com") })),
        )
        .await;
    let id = second["invitation"]["id"].as_str().unwrap().to_string();
    m.call(
        "POST revoke",
        "POST",
        &format!("/invitations/{id}/revoke"),
        Some(&manager),
        Some(json!({})),
    )
    .await;

    // Seats: counted when first allocated (a second read: the partner's
    // users), then 1 read each; the decision reads the request, then the
    // partner and its seats. A user added takes one; removed, gives it back.
    let seats = format!("/organizations/{partner}/seats");
    for (what, kind) in [("PUT seats (first)", "allocated"), ("PUT seats", "purchasable")] {
        m.call(
            what,
            "PUT",
            &seats,
            Some(&admin),
            Some(json!({ "allocation": { "kind": kind, "seats": 500 } })),
        )
        .await;
    }
    m.call("GET seats", "GET", &seats, Some(&manager), None).await;
    let (_, asked) = m
        .call(
            "POST seats/requests",
            "POST",
            &format!("{seats}/requests"),
            Some(&manager),
            Some(json!({ "seats": 5 })),
        )
        .await;
    m.call("GET /seat-requests", "GET", "/seat-requests", Some(&admin), None)
        .await;
    m.call(
        "POST seat decision",
        "POST",
        &format!("/seat-requests/{}/decision", asked["id"].as_str().unwrap()),
        Some(&admin),
        Some(json!({ "approve": true })),
    )
    .await;
    let (_, added) = m
        .call(
            "POST /organizations/{id}/users",
            "POST",
            &format!("/organizations/{partner}/users"),
            Some(&admin),
            Some(json!({ "email": format!("seat-{uniq}@northwind.example.com"), "displayName": "Seat", "role": "partner_user" })),
        )
        .await;
    m.call(
        "DELETE /organizations/{id}/users/{userId}",
        "DELETE",
        &format!(
            "/organizations/{partner}/users/{}",
            added["user"]["id"].as_str().unwrap()
        ),
        Some(&admin),
        None,
    )
    .await;
    // A partner's capability flags and a user's restriction.
    let (_, org) = m.app.get_json(&format!("/organizations/{partner}"), &admin).await;
    m.call(
        "PUT capabilities",
        "PUT",
        &format!("/organizations/{partner}/capabilities"),
        Some(&admin),
        Some(json!({ "capabilities": org["capabilities"], "version": org["version"] })),
    )
    .await;
    let pat = m.app.users[&Role::PartnerUser];
    m.call(
        "PUT restrictions",
        "PUT",
        &format!("/organizations/{partner}/users/{pat}/restrictions"),
        Some(&admin),
        Some(json!({ "hideOrganizationSettings": false })),
    )
    .await;
    // The switches and Partner Portal settings.
    let (_, config) = m
        .call("GET /partner-portal", "GET", "/partner-portal", Some(&admin), None)
        .await;
    m.call(
        "PUT /partner-portal",
        "PUT",
        "/partner-portal",
        Some(&admin),
        Some(config),
    )
    .await;
    // Self-registration: the platform's setup, then a sign-up with a key,
    // moderated, and its approval.
    let (_, model) = m
        .app
        .post(
            "/organizations",
            Some(&admin),
            json!({ "name": format!("Model {uniq}"), "kind": "partner", "template": true }),
        )
        .await;
    let (_, model_user) = m
        .app
        .post(
            &format!("/organizations/{}/users", model["id"].as_str().unwrap()),
            Some(&admin),
            json!({ "email": format!("model-{uniq}@portico.example.com"), "displayName": "Model", "role": "partner_manager" }),
        )
        .await;
    let (_, mut config) = m.app.get_json("/partner-portal", &admin).await;
    config["allowExternalCreation"] = json!(true);
    config["moderated"] = json!(true);
    config["modelUser"] = model_user["user"]["id"].clone();
    let (s, _) = m.app.put("/partner-portal", &admin, config).await;
    assert_eq!(s, 200);
    let (_, texts) = m.call("GET /portal-texts", "GET", "/portal-texts", None, None).await;
    m.call(
        "PUT /portal-texts/{name}",
        "PUT",
        "/portal-texts/initiation",
        Some(&admin),
        Some(json!({ "html": "<p>Welcome</p>", "version": texts["initiation"]["version"] })),
    )
    .await;
    let (_, link) = m
        .call(
            "POST /partner-portal/signup-link",
            "POST",
            "/partner-portal/signup-link",
            Some(&admin),
            Some(json!({})),
        )
        .await;
    let link = link["link"]["id"].as_str().unwrap().to_string();
    let (_, key) = m
        .call(
            "POST signup-key (first)",
            "POST",
            &format!("/organizations/{partner}/signup-key"),
            Some(&admin),
            Some(json!({})),
        )
        .await;
    let key = key["key"].as_str().unwrap().to_string();
    m.call(
        "GET /signup-links/{link}",
        "GET",
        &format!("/signup-links/{link}?key={key}"),
        None,
        None,
    )
    .await;
    let email = format!("signup-{uniq}@globex.example.com");
    m.call(
        "POST /signup-links/{link}/signups",
        "POST",
        &format!("/signup-links/{link}/signups"),
        None,
        Some(json!({ "email": email, "organizationName": format!("Signed {uniq}"), "displayName": "Sigrid", "key": key })),
    )
    .await;
    let token = m.app.last_token_to(&email).await;
    let (_, made) = m
        .call(
            "POST /signup/complete",
            "POST",
            "/signup/complete",
            None,
            Some(json!({ "token": token, "password": portico_tests::PASSWORD })),
        )
        .await;
    m.call("GET /signups", "GET", "/signups", Some(&admin), None).await;
    m.call(
        "POST signup decision",
        "POST",
        &format!("/signups/{}/decision", made["organization"]["id"].as_str().unwrap()),
        Some(&admin),
        Some(json!({ "approve": true })),
    )
    .await;

    println!(
        "\n{:<40} {:>11} {:>10} {:>12}   ({b:?})",
        "request", "read trips", "read calls", "write trips"
    );
    for (what, r, c, w, events) in &m.rows {
        println!("{what:<40} {r:>11} {c:>10} {w:>12}   {events:?}");
    }
    // Each request that changes something writes exactly its event; reads write none.
    for (what, _, _, _, events) in &m.rows {
        let expected: &[&str] = match what.as_str() {
            w if w.starts_with("POST /organizations (") => &["Create Organization"],
            "POST /invitations/accept" => &["Create Organization"],
            "PUT trusted-ranges" => &["Update Trusted Connection"],
            "PUT /customers/{id}/settings/{key}" => &["Update Configuration"],
            "POST setting-grants" | "DELETE setting-grant" => &["Update User Permissions"],
            "PUT mfa-policy" | "PUT activity/retention" | "POST /customers/{id}/billing" => &["Update Organization"],
            "POST /customers/{id}/staff" => &["Invite User"],
            "PUT /organizations/{id}/name" | "PUT /partner-portal" | "PUT capabilities" => &["Update Organization"],
            "PUT restrictions" => &["Update User Profile"],
            "PUT /portal-texts/{name}" | "POST /partner-portal/signup-link" | "POST signup-key (first)" => {
                &["Update Organization"]
            }
            "POST /signup-links/{link}/signups" => &["Invite User"],
            "POST /signup/complete" => &["Create Organization"],
            // In the organisation's log and the platform's.
            "POST signup decision" => &["Create Organization", "Create Organization"],
            "PUT seats (first)" | "PUT seats" | "POST seats/requests" | "POST seat decision" => &["Update License"],
            "DELETE /organizations/{id}/users/{userId}" => &["Invite User"],
            "PUT /customers/{id}/staff/{user}" | "DELETE /customers/{id}/staff/{user}" => &["Update User Groups"],
            w if w.starts_with("POST /invitations/") => &["Invite User"],
            "POST resend"
            | "POST revoke"
            | "POST /user-requests"
            | "POST decision"
            | "POST /organizations/{id}/users" => &["Invite User"],
            "POST /password/setup"
            | "POST /session/mfa-setup/confirm"
            | "POST /password/forgot"
            | "POST /session/recover" => &["Update User Profile"],
            "POST /session/mfa" => &["Sign In"],
            w if w.starts_with("GET ") => &[],
            // Password accepted, a code still to come; an unknown link.
            "POST /session"
            | "POST /session (enrolled)"
            | "POST /session/mfa-setup"
            | "POST /email/confirm (unknown)" => &[],
            other => panic!("{other}: say which event it writes"),
        };
        assert_eq!(events, expected, "{what} ({b:?})");
    }
    let over: Vec<String> = m
        .rows
        .iter()
        .filter(|(what, r, _, w, _)| *r > read_budget(what) || *w > 1)
        .map(|(what, r, _, w, _)| format!("{what}: {r} read round trips, {w} write round trips"))
        .collect();
    assert!(over.is_empty(), "over budget ({b:?}):\n{}", over.join("\n"));
}

#[tokio::test]
async fn embedded_sqlite() {
    every_request_makes_at_most_one_read_and_one_write_round_trip(Backend::Sqlite).await
}

#[tokio::test]
async fn dynamodb_local() {
    every_request_makes_at_most_one_read_and_one_write_round_trip(Backend::Dynamo).await
}

/// The web pages cost what their operations cost: a page reads in one
/// round trip what its operation reads (two operations started together
/// count as one), a form writes once. Named exceptions: the relationships
/// page reads its groups' members after the delegations (2); the Permissions
/// tab and the users page read their lists after authorization picks them
/// (2); finishing a sign-in reads the sign-in in progress first (3, the
/// API's 2 plus that). The figures go to the reports folder.
#[tokio::test]
async fn web_pages_read_and_write_within_budget() {
    use portico_tests::web::WebClient;
    let counters = Arc::new(Counters::default());
    let c2 = counters.clone();
    let opts = Options {
        wrap: Some(Box::new(move |t| Arc::new(Counting(t, c2)) as Arc<dyn Table>)),
        ..Default::default()
    };
    let app = TestApp::spawn_with(Backend::Sqlite, opts).await;
    let contoso = app.orgs[&Role::CustomerAccountOwner];
    let puser = WebClient::signed_in(&app, Role::PartnerUser).await;
    let manager = WebClient::signed_in(&app, Role::PartnerManager).await;
    let reset = || {
        for c in [&counters.read_trips, &counters.read_calls, &counters.write_trips] {
            c.store(0, SeqCst);
        }
    };
    let mut rows: Vec<(String, usize, usize, usize)> = Vec::new();
    macro_rules! measure {
        ($what:expr, $budget:expr, $call:expr) => {{
            reset();
            let page = $call;
            assert!(page.status < 500, "{}: {} {}", $what, page.status, page.body);
            // The after-response writes (activity record, idle clock) are done
            // before the answer's body is read in full.
            let (r, w) = (counters.read_trips.load(SeqCst), counters.write_trips.load(SeqCst));
            rows.push(($what.to_string(), r, w, $budget));
            page
        }};
    }
    // The customers, then their instances' connections (with the caller's read).
    measure!("GET /customers", 2, puser.get("/customers").await);
    // The relationships: the page with the caller, then the groups' members
    // and the other side's names together.
    measure!("GET /relationships", 2, manager.get("/relationships").await);
    // The staff list and the customer, read together.
    measure!(
        "GET /staff/{customer}",
        1,
        manager.get(&format!("/staff/{contoso}")).await
    );
    // A group, the partner's users and the customer, read together.
    measure!(
        "GET /groups/{customer}/{role}",
        1,
        manager.get(&format!("/groups/{contoso}/decision-maker")).await
    );
    // The settings in 1; the instances card beside it in 2 (their index key
    // needs the customer's name and partner, read first).
    let settings = measure!(
        "GET /customers/{id}",
        2,
        puser.get(&format!("/customers/{contoso}")).await
    );
    let version =
        portico_tests::web::input_value(settings.body.split_once("toggle/feed.comments").unwrap().1, "version")
            .unwrap();
    // A partner's change: the customer, then its instances (consent).
    measure!(
        "POST /customers/{id}/toggle/{key}",
        2,
        puser
            .post(
                &format!("/customers/{contoso}/toggle/feed.comments"),
                &[("enabled", "false"), ("version", &version)]
            )
            .await
    );
    measure!(
        "GET /activity-log",
        1,
        manager.get(&format!("/activity-log?org={contoso}")).await
    );
    measure!("GET /permissions", 2, manager.get("/permissions").await);
    // Partner access: the caller, the customer and its access item; then
    // its instances and the requests waiting, together.
    let owner = WebClient::signed_in(&app, Role::CustomerAccountOwner).await;
    measure!("GET /access", 2, owner.get("/access").await);
    measure!("GET /team", 2, manager.get("/team").await);
    measure!("GET /trusted-ranges", 1, manager.get("/trusted-ranges").await);
    measure!("GET /sign-in", 0, WebClient::new(&app).get("/sign-in").await);
    // A sign-in through the pages: the password, then the code.
    let email = "pages@northwind.example.com";
    app.add_partner_user(email).await;
    let (_, secret, _) = app.set_up_account(email).await;
    let web = WebClient::new(&app);
    web.get("/sign-in").await;
    let step = measure!(
        "POST /sign-in",
        1,
        web.post("/sign-in", &[("email", email), ("password", portico_tests::PASSWORD)])
            .await
    );
    assert_eq!(step.location(), Some("/sign-in/code"));
    web.get("/sign-in/code").await;
    let code = portico_tests::code_at(&secret, 1);
    let done = measure!(
        "POST /sign-in/code",
        3,
        web.post("/sign-in/code", &[("code", &code)]).await
    );
    assert_eq!(done.location(), Some("/"), "{}", done.body);
    let report: Vec<String> = rows
        .iter()
        .map(|(what, r, w, budget)| {
            format!("  {what:<36} {r} read round trips (budget {budget}), {w} write round trips")
        })
        .collect();
    if let Ok(dir) = std::env::var("PORTICO_REPORTS_DIR") {
        std::fs::write(
            std::path::Path::new(&dir).join("web-budgets.txt"),
            format!(
                "Web pages, DynamoDB round trips per request (embedded store, counted at the table port):\n{}\n",
                report.join("\n")
            ),
        )
        .unwrap();
    }
    let over: Vec<&String> = rows
        .iter()
        .zip(&report)
        .filter(|((_, r, w, budget), _)| r > budget || *w > 1)
        .map(|(_, line)| line)
        .collect();
    assert!(over.is_empty(), "over budget:\n{over:?}");
}

/// A verified instance's world whose table counts its round trips.
async fn counted_world(b: Backend) -> (super::instances::World, Arc<Counters>) {
    let counters = Arc::new(Counters::default());
    let c2 = counters.clone();
    let opts = Options {
        wrap: Some(Box::new(move |t| Arc::new(Counting(t, c2)) as Arc<dyn Table>)),
        ..Default::default()
    };
    let w = super::instances::World::with_options(b, opts).await;
    w.next_check().await;
    (w, counters)
}

impl Counters {
    fn reset(&self) {
        for c in [&self.read_trips, &self.read_calls, &self.write_trips] {
            c.store(0, SeqCst);
        }
        self.events.lock().unwrap().clear();
    }
    /// Read round trips, writes and the events written since the last reset.
    fn counted(&self) -> (usize, usize, Vec<String>) {
        (
            self.read_trips.load(SeqCst),
            self.write_trips.load(SeqCst),
            self.events.lock().unwrap().clone(),
        )
    }
}

/// LogMeIn: 1 read round trip (the caller, the customer, the instance, its
/// access item and the key ring, batched) and 1 write (the sign-in's event
/// in both logs and the `jti` record, one transaction), besides the
/// signing call.
async fn log_me_in_reads_once_and_writes_once(b: Backend) {
    let (w, counters) = counted_world(b).await;
    w.allow_partners().await;
    let path = format!("/customers/{}/instances/{}/login", w.customer, w.id);
    let puser = w.app.token(Role::PartnerUser).to_string();
    // The first LogMeIn may make the key ring (its first key); measure the second.
    let (s, body) = w.app.post(&path, Some(&puser), json!({})).await;
    assert_eq!(s, 200, "{body}");
    counters.reset();
    let (s, body) = w.app.post(&path, Some(&puser), json!({})).await;
    assert_eq!(s, 200, "{body}");
    let logins = vec!["Partner Login".to_string(), "Partner Login".to_string()];
    assert_eq!(counters.counted(), (1, 1, logins), "LogMeIn ({b:?})");
}

#[tokio::test]
async fn log_me_in_embedded_sqlite() {
    log_me_in_reads_once_and_writes_once(Backend::Sqlite).await
}

#[tokio::test]
async fn log_me_in_dynamodb_local() {
    log_me_in_reads_once_and_writes_once(Backend::Dynamo).await
}

/// Consent and access requests, counted: setting an instance's consent (the
/// customer's Account Owner), asking for access (a partner user), and the
/// decision. Each is 1 write; the reads are those docs/access-patterns.md
/// gives (the partner's chain head is a second read where the partner is
/// known only from the first: the customer's partner of record, the
/// request's partner).
async fn consent_and_requests_round_trips(b: Backend) {
    let (w, counters) = counted_world(b).await;
    counters.reset();
    w.consent(json!({ "mode": "ask" })).await;
    let set = counters.counted();
    counters.reset();
    let puser = w.app.token(Role::PartnerUser).to_string();
    let (s, r) = w
        .app
        .post(
            &format!("/customers/{}/instances/{}/access-requests", w.customer, w.id),
            Some(&puser),
            json!({ "reason": "Ticket 7: counted", "durationMinutes": 30 }),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    let asked = counters.counted();
    counters.reset();
    let (s, body) = w
        .app
        .post(
            &format!(
                "/customers/{}/access-requests/{}/decision",
                w.customer,
                r["id"].as_str().unwrap()
            ),
            Some(w.app.token(Role::CustomerAccountOwner)),
            json!({ "approve": true }),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let decided = counters.counted();
    let both = vec!["Partner Access".to_string(), "Partner Access".to_string()];
    assert_eq!(set, (4, 1, both.clone()), "setting consent ({b:?})");
    assert_eq!(asked, (2, 1, both.clone()), "asking ({b:?})");
    assert_eq!(decided, (2, 1, both), "deciding ({b:?})");
}

#[tokio::test]
async fn consent_and_requests_embedded_sqlite() {
    consent_and_requests_round_trips(Backend::Sqlite).await
}

#[tokio::test]
async fn consent_and_requests_dynamodb_local() {
    consent_and_requests_round_trips(Backend::Dynamo).await
}

/// Seed 004's dialog, counted: granting, revoking, narrowing to the groups,
/// a partner's request and the customer's decision are each 1 read round
/// trip (the caller with the customer, the partner, the catalogue and the
/// delegation, and so both chain heads) and 1 write (the delegation, its
/// groups, a closed group's note for the sweep, and the event in both logs).
async fn partner_access_round_trips(b: Backend) {
    let (w, counters) = counted_world(b).await;
    let partner = w.app.orgs[&Role::PartnerManager];
    let path = format!("/customers/{}/delegations/{partner}", w.customer);
    let owner = w.app.token(Role::CustomerAccountOwner).to_string();
    let tell = json!(["it@northwind.example.com"]);
    counters.reset();
    let (s, body) = w
        .app
        .put(
            &path,
            &owner,
            json!({ "roles": ["decision-maker", "phone-manager"], "notify": tell }),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let granted = counters.counted();
    counters.reset();
    let (s, body) = w
        .app
        .put(&path, &owner, json!({ "roles": ["decision-maker"], "notify": tell }))
        .await;
    assert_eq!(s, 200, "{body}");
    let revoked = counters.counted();
    counters.reset();
    let (s, body) = w
        .app
        .put(
            &format!("/organizations/{partner}/delegations/{}/holders", w.customer),
            w.app.token(Role::PartnerManager),
            json!({ "everyone": false }),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let narrowed = counters.counted();
    counters.reset();
    let (s, body) = w
        .app
        .post(
            &format!("{path}/request"),
            Some(w.app.token(Role::PartnerManager)),
            json!({ "roles": ["phone-manager"], "notify": tell }),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let asked = counters.counted();
    counters.reset();
    let (s, body) = w
        .app
        .post(
            &format!("{path}/decision"),
            Some(&owner),
            json!({ "approve": true, "notify": tell }),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let decided = counters.counted();
    let both = |what: &str| vec![what.to_string(), what.to_string()];
    assert_eq!(asked, (1, 1, both("Update User Permissions")), "asking ({b:?})");
    assert_eq!(decided, (1, 1, both("Grant Partner Role")), "deciding ({b:?})");
    assert_eq!(granted, (1, 1, both("Grant Partner Role")), "granting ({b:?})");
    assert_eq!(revoked, (1, 1, both("Grant Partner Role")), "revoking ({b:?})");
    assert_eq!(
        narrowed,
        (1, 1, both("Update User Groups")),
        "narrowing to the groups ({b:?})"
    );
}

#[tokio::test]
async fn partner_access_embedded_sqlite() {
    partner_access_round_trips(Backend::Sqlite).await
}

#[tokio::test]
async fn partner_access_dynamodb_local() {
    partner_access_round_trips(Backend::Dynamo).await
}

/// A partner manager adds a member: 1 read round trip (the caller, the
/// partner, the customer, the group, the user and their roles), 1 write;
/// reading the group with its members is 1 read.
async fn group_member_round_trips(b: Backend) {
    let (w, counters) = counted_world(b).await;
    let (customer, partner) = (w.customer.clone(), w.app.orgs[&Role::PartnerManager]);
    let owner = w.app.token(Role::CustomerAccountOwner).to_string();
    let tell = json!(["it@northwind.example.com"]);
    let (s, body) = w
        .app
        .put(
            &format!("/customers/{customer}/delegations/{partner}"),
            &owner,
            json!({ "roles": ["phone-manager"], "notify": tell }),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    counters.reset();
    let user = w.app.users[&Role::PartnerUser];
    let group = format!("/organizations/{partner}/groups/{customer}/phone-manager");
    let (s, body) = w
        .app
        .put(
            &format!("{group}/members/{user}"),
            w.app.token(Role::PartnerManager),
            json!({}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let both = vec!["Update User Groups".to_string(), "Update User Groups".to_string()];
    assert_eq!(counters.counted(), (1, 1, both), "adding a member ({b:?})");
    counters.reset();
    let (s, body) = w.app.get_json(&group, w.app.token(Role::PartnerManager)).await;
    assert_eq!((s, body["members"].as_array().map(Vec::len)), (200, Some(1)), "{body}");
    assert_eq!(counters.counted(), (1, 0, vec![]), "reading the group ({b:?})");
}

#[tokio::test]
async fn group_member_embedded_sqlite() {
    group_member_round_trips(Backend::Sqlite).await
}

#[tokio::test]
async fn group_member_dynamodb_local() {
    group_member_round_trips(Backend::Dynamo).await
}

/// The delegations' sweep reads only what is due: with delegations in
/// force and none due (the demo customers' defaults, and a 60-day grant
/// to a consultancy), a run is one read round trip (the catalogue and an
/// empty page of the due range, together) and writes nothing.
async fn delegation_sweep_reads_only_what_is_due(b: Backend) {
    let (w, counters) = counted_world(b).await;
    let (s, other) = w
        .app
        .post(
            "/organizations",
            Some(w.app.token(Role::PlatformAdmin)),
            json!({ "name": format!("Sweep {}", uuid::Uuid::new_v4().simple()), "kind": "partner" }),
        )
        .await;
    assert_eq!(s, 201, "{other}");
    let (s, body) = w
        .app
        .put(
            &format!(
                "/customers/{}/delegations/{}",
                w.customer,
                other["id"].as_str().unwrap()
            ),
            w.app.token(Role::CustomerAccountOwner),
            json!({ "roles": ["phone-manager"], "notify": ["it@consult.example.com"], "termDays": 60 }),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    counters.reset();
    let report = portico_core::jobs::run(&w.app.deps, portico_core::jobs::Job::DelegationSweep)
        .await
        .unwrap();
    assert_eq!(report.examined, 0, "{report:?}");
    assert_eq!(
        counters.counted(),
        (1, 0, vec![]),
        "the catalogue and one page of the due range ({b:?})"
    );
}

#[tokio::test]
async fn delegation_sweep_embedded_sqlite() {
    delegation_sweep_reads_only_what_is_due(Backend::Sqlite).await
}

#[tokio::test]
async fn delegation_sweep_dynamodb_local() {
    delegation_sweep_reads_only_what_is_due(Backend::Dynamo).await
}

/// Seed 001's workspace (issue 17): every route makes at most 1 read and 1
/// write round trip; each change writes its event in the project's log and
/// the actor's organisation's (two copies) or, for a person's time, in
/// their organisation's and the actor's (one when the actor is the person).
async fn workspace_round_trips(b: Backend) {
    let counters = Arc::new(Counters::default());
    let c2 = counters.clone();
    let opts = Options {
        wrap: Some(Box::new(move |t| Arc::new(Counting(t, c2)) as Arc<dyn Table>)),
        ..Default::default()
    };
    let app = TestApp::spawn_with(b, opts).await;
    let admin = app.token(Role::PlatformAdmin).to_string();
    let puser = app.token(Role::PartnerUser).to_string();
    let partner = app.orgs[&Role::PartnerManager];
    let customer = app.orgs[&Role::CustomerAccountOwner];
    let nico = app.users[&Role::PartnerUser];
    let admin_id = app.users[&Role::PlatformAdmin];
    let mut m = Meter {
        app,
        counters,
        rows: Vec::new(),
    };
    let ok = |(s, v): (u16, Value)| -> Value {
        assert!((200..300).contains(&s), "{s} {v}");
        v
    };
    // Setup: the partner's first allocation counts its users (2 reads, as above).
    ok(m.call(
        "PUT seats (first)",
        "PUT",
        &format!("/organizations/{partner}/seats"),
        Some(&admin),
        Some(json!({ "allocation": { "kind": "allocated", "seats": 50 } })),
    )
    .await);
    let config = ok(m.call("GET /workspace", "GET", "/workspace", Some(&admin), None).await);
    ok(
        m.call("PUT /workspace", "PUT", "/workspace", Some(&admin), Some(config))
            .await,
    );
    let p = ok(m
        .call(
            "POST /projects",
            "POST",
            "/projects",
            Some(&admin),
            Some(
                json!({ "customer": customer, "name": "Budget rollout", "phases": ["Discovery", "Build"],
                         "start": "2026-11-02" }),
            ),
        )
        .await);
    let id = p["id"].as_str().unwrap().to_string();
    ok(m.call(
        "PUT member",
        "PUT",
        &format!("/projects/{id}/members/{nico}"),
        Some(&admin),
        Some(json!({ "phases": [{ "phase": 1, "role": "Consultant", "level": "Delivery Lead" }] })),
    )
    .await);
    ok(
        m.call("GET /projects (platform)", "GET", "/projects", Some(&admin), None)
            .await,
    );
    ok(
        m.call("GET /projects (partner user)", "GET", "/projects", Some(&puser), None)
            .await,
    );
    let p = ok(m
        .call("GET project", "GET", &format!("/projects/{id}"), Some(&puser), None)
        .await);
    ok(m.call(
        "GET members",
        "GET",
        &format!("/projects/{id}/members"),
        Some(&puser),
        None,
    )
    .await);
    let p = ok(m
        .call(
            "PUT project (rename)",
            "PUT",
            &format!("/projects/{id}"),
            Some(&admin),
            Some(
                json!({ "version": p["version"], "name": "Budget rollout 2", "phases": ["Discovery", "Build"],
                         "start": "2026-11-02" }),
            ),
        )
        .await);
    ok(m.call(
        "PUT health",
        "PUT",
        &format!("/projects/{id}/health"),
        Some(&puser),
        Some(json!({ "version": p["version"], "health": "red", "reason": "Blocked on data" })),
    )
    .await);
    let mut task = String::new();
    for (seg, body) in [
        (
            "milestones",
            json!({ "name": "Go-live", "planned": "2026-12-18", "actual": "2026-12-17", "marksValue": true }),
        ),
        (
            "tasks",
            json!({ "title": "Map the data", "status": "todo", "estimate": "8" }),
        ),
        (
            "raid",
            json!({ "kind": "issue", "title": "Data late", "severity": "high", "status": "open" }),
        ),
    ] {
        let path = format!("/projects/{id}/phases/1/{seg}");
        let item = ok(m
            .call(&format!("POST {seg}"), "POST", &path, Some(&puser), Some(body.clone()))
            .await);
        ok(m.call(&format!("GET {seg}"), "GET", &path, Some(&puser), None).await);
        let mut change = body;
        change["version"] = item["version"].clone();
        ok(m.call(
            &format!("PUT {seg}"),
            "PUT",
            &format!("{path}/{}", item["id"].as_str().unwrap()),
            Some(&puser),
            Some(change),
        )
        .await);
        if seg == "tasks" {
            task = item["id"].as_str().unwrap().to_string();
        }
    }
    ok(m.call(
        "POST report",
        "POST",
        &format!("/projects/{id}/reports"),
        Some(&puser),
        Some(json!({ "periodStart": "2026-11-02", "periodEnd": "2026-11-13", "summary": "Slow.", "health": "red" })),
    )
    .await);
    ok(m.call(
        "GET reports",
        "GET",
        &format!("/projects/{id}/reports"),
        Some(&puser),
        None,
    )
    .await);
    ok(m.call(
        "GET project activity",
        "GET",
        &format!("/projects/{id}/activity"),
        Some(&admin),
        None,
    )
    .await);
    let person = format!("/organizations/{partner}/users/{nico}");
    let r = ok(m
        .call("GET resource", "GET", &format!("{person}/resource"), Some(&puser), None)
        .await);
    ok(m.call(
        "PUT resource",
        "PUT",
        &format!("{person}/resource"),
        Some(&admin),
        Some(
            json!({ "version": r["version"], "skills": ["Rust"], "hoursPerWeek": 32, "supervisor": admin_id,
                     "schedulable": true }),
        ),
    )
    .await);
    let week = format!("{person}/timesheets/2026-11-30");
    let entry = json!({ "day": "2026-12-01", "projectId": id, "phase": 1, "taskId": task, "hours": "7.5" });
    let first = ok(m
        .call(
            "POST entry (first)",
            "POST",
            &format!("{week}/entries"),
            Some(&puser),
            Some(entry.clone()),
        )
        .await);
    ok(m.call(
        "POST entry",
        "POST",
        &format!("{week}/entries"),
        Some(&puser),
        Some(entry),
    )
    .await);
    ok(m.call(
        "DELETE entry",
        "DELETE",
        &format!("{week}/entries/{}", first["entries"][0]["id"].as_str().unwrap()),
        Some(&puser),
        None,
    )
    .await);
    let sheet = ok(m.call("GET week", "GET", &week, Some(&puser), None).await);
    ok(
        m.call("GET weeks", "GET", &format!("{person}/timesheets"), Some(&puser), None)
            .await,
    );
    let sub = ok(m
        .call(
            "POST submit",
            "POST",
            &format!("{week}/submit"),
            Some(&puser),
            Some(json!({ "version": sheet["timesheet"]["version"] })),
        )
        .await);
    ok(m.call("GET /approvals", "GET", "/approvals", Some(&admin), None).await);
    ok(m.call(
        "POST week decision",
        "POST",
        &format!("{week}/decision"),
        Some(&admin),
        Some(json!({ "version": sub["version"], "approve": true })),
    )
    .await);
    let claim = json!({ "spentOn": "2026-12-01", "amount": { "amount": "42.10", "currency": "EUR" },
                        "category": "travel", "description": "Train" });
    let x = ok(m
        .call(
            "POST expense",
            "POST",
            &format!("{person}/expenses"),
            Some(&puser),
            Some(claim.clone()),
        )
        .await);
    let mut change = claim;
    change["version"] = x["version"].clone();
    let x = ok(m
        .call(
            "PUT expense",
            "PUT",
            &format!("{person}/expenses/{}", x["id"].as_str().unwrap()),
            Some(&puser),
            Some(change),
        )
        .await);
    ok(
        m.call("GET expenses", "GET", &format!("{person}/expenses"), Some(&puser), None)
            .await,
    );
    ok(m.call(
        "POST expense decision",
        "POST",
        &format!("{person}/expenses/{}/decision", x["id"].as_str().unwrap()),
        Some(&admin),
        Some(json!({ "version": x["version"], "approve": true })),
    )
    .await);
    ok(m.call(
        "DELETE member",
        "DELETE",
        &format!("/projects/{id}/members/{nico}"),
        Some(&admin),
        None,
    )
    .await);

    println!(
        "\n{:<40} {:>11} {:>10} {:>12}   ({b:?})",
        "request", "read trips", "read calls", "write trips"
    );
    for (what, r, c, w, events) in &m.rows {
        println!("{what:<40} {r:>11} {c:>10} {w:>12}   {events:?}");
    }
    for (what, _, _, _, events) in &m.rows {
        let expected: &[&str] = match what.as_str() {
            "PUT seats (first)" => &["Update License"],
            // The platform's own log only.
            "PUT /workspace" => &["Update Project"],
            w if w.starts_with("GET ") => &[],
            // The person's organisation's log, and the supervisor's (the platform's).
            "PUT resource" => &["Update User Profile", "Update User Profile"],
            "POST week decision" => &["Update Timesheet", "Update Timesheet"],
            "POST expense decision" => &["Update Expense", "Update Expense"],
            // Their own organisation's log: they are the actor.
            w if w.contains("entry") || w == "POST submit" => &["Update Timesheet"],
            w if w.contains("expense") => &["Update Expense"],
            // The project's log and the actor's organisation's.
            _ => &["Update Project", "Update Project"],
        };
        assert_eq!(events, expected, "{what} ({b:?})");
    }
    let over: Vec<String> = m
        .rows
        .iter()
        .filter(|(what, r, _, w, _)| *r > read_budget(what) || *w > 1)
        .map(|(what, r, _, w, _)| format!("{what}: {r} read round trips, {w} write round trips"))
        .collect();
    assert!(over.is_empty(), "over budget ({b:?}):\n{}", over.join("\n"));
}

#[tokio::test]
async fn workspace_embedded_sqlite() {
    workspace_round_trips(Backend::Sqlite).await
}

#[tokio::test]
async fn workspace_dynamodb_local() {
    workspace_round_trips(Backend::Dynamo).await
}
