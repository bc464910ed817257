//! Seed 002 in Portico (issue 16), on both backends: the feature switches
//! the platform sets, and seats (the allocation, the limit under 50
//! concurrent adds, removal freeing a seat, the purchase).

use portico_core::domain::Role;
use portico_tests::{Backend, TestApp};
use serde_json::{Value, json};

async fn delete(app: &TestApp, path: &str, token: &str) -> (u16, Value) {
    let r = app.http.delete(app.url(path)).bearer_auth(token).send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn descriptions(app: &TestApp, org: impl std::fmt::Display, action: &str) -> Vec<String> {
    let (s, page) = app
        .get_json(
            &format!(
                "/organizations/{org}/activity?action={}&limit=100",
                action.replace(' ', "%20")
            ),
            app.token(Role::PlatformAdmin),
        )
        .await;
    assert_eq!(s, 200, "{page}");
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["description"].as_str().unwrap_or_default().to_string())
        .collect()
}

async fn seats_limit_removal_and_purchase(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.token(Role::PlatformAdmin);
    let manager = app.token(Role::PartnerManager);
    let northwind = app.orgs[&Role::PartnerManager];
    let seats = format!("/organizations/{northwind}/seats");
    let run = uuid::Uuid::new_v4().simple().to_string();
    let email = |n: usize| format!("seat{n}-{run}@northwind.example.com");
    let add = |n: usize| {
        let body = json!({ "email": email(n), "displayName": format!("Seat {n}"), "role": "partner_user" });
        let path = format!("/organizations/{northwind}/users");
        let app = &app;
        async move { app.post(&path, Some(admin), body).await }
    };

    // A partner made before seats: unlimited and uncounted.
    let (s, view) = app.get_json(&seats, manager).await;
    assert_eq!(
        (s, &view["counted"], &view["described"]),
        (200, &json!(false), &json!("Unlimited")),
        "{view}"
    );
    // The platform allocates: Northwind's users are counted, and 10 more seats.
    let (s, view) = app
        .put(
            &seats,
            admin,
            json!({ "allocation": { "kind": "allocated", "seats": 1 } }),
        )
        .await;
    assert_eq!(s, 200, "{view}");
    let users = view["used"].as_u64().unwrap() as u32;
    assert!(users >= 2, "Nora and Pat at least: {view}");
    let limit = users + 10;
    let (s, view) = app
        .put(
            &seats,
            admin,
            json!({ "allocation": { "kind": "allocated", "seats": limit } }),
        )
        .await;
    assert_eq!((s, view["free"].as_u64()), (200, Some(10)), "{view}");

    // 50 concurrent adds against 10 free seats: exactly 10 get in.
    let answers = futures::future::join_all((0..50).map(add)).await;
    let won = answers.iter().filter(|(s, _)| *s == 201).count();
    let refused: Vec<&Value> = answers.iter().filter(|(s, _)| *s == 409).map(|(_, b)| b).collect();
    assert_eq!((won, refused.len()), (10, 40), "{answers:#?}");
    for p in &refused {
        let detail = p["detail"].as_str().unwrap();
        assert!(
            detail.contains(&format!("Allocated: {limit} seats")) && detail.contains("no free seat"),
            "{p}"
        );
    }
    let (_, view) = app.get_json(&seats, manager).await;
    assert_eq!(
        (view["used"].as_u64(), view["free"].as_u64()),
        (Some(u64::from(limit)), Some(0)),
        "{view}"
    );
    let (_, list) = app
        .get_json(&format!("/organizations/{northwind}/users?limit=100"), admin)
        .await;
    let listed = list["items"].as_array().unwrap().len();
    assert_eq!(listed, limit as usize, "the counter and the users agree: {list}");
    // The partner's ask for a user is refused too, naming the allocation.
    let (s, p) = app
        .post(
            "/user-requests",
            Some(manager),
            json!({ "email": email(99), "displayName": "Ninety", "role": "partner_user" }),
        )
        .await;
    assert_eq!(s, 409, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("Allocated:"), "{p}");

    // Removing a user frees a seat; the next add takes it.
    let gone = answers.iter().find(|(s, _)| *s == 201).unwrap().1["user"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, p) = delete(&app, &format!("/organizations/{northwind}/users/{gone}"), manager).await;
    assert_eq!(s, 403, "Northwind has no User-Management: {p}");
    let (s, p) = delete(&app, &format!("/organizations/{northwind}/users/{gone}"), admin).await;
    assert_eq!(s, 200, "{p}");
    let (_, view) = app.get_json(&seats, manager).await;
    assert_eq!(view["free"].as_u64(), Some(1), "{view}");
    let (s, p) = add(100).await;
    assert_eq!(s, 201, "{p}");
    let (s, _) = add(101).await;
    assert_eq!(s, 409);

    // Asking for more: not while allocated; once purchasable, the platform approves.
    let ask = format!("/organizations/{northwind}/seats/requests");
    let (s, p) = app.post(&ask, Some(manager), json!({ "seats": 5 })).await;
    assert_eq!(s, 409, "{p}");
    let (s, _) = app
        .put(
            &seats,
            admin,
            json!({ "allocation": { "kind": "purchasable", "seats": limit } }),
        )
        .await;
    assert_eq!(s, 200);
    let (s, p) = app.post(&ask, Some(manager), json!({ "seats": 0 })).await;
    assert_eq!(s, 400, "{p}");
    let (s, req) = app.post(&ask, Some(manager), json!({ "seats": 5 })).await;
    assert_eq!((s, &req["state"]), (201, &json!("pending")), "{req}");
    let (s, queue) = app.get_json("/seat-requests", admin).await;
    assert_eq!(s, 200);
    assert!(
        queue["items"].as_array().unwrap().iter().any(|r| r["id"] == req["id"]),
        "{queue}"
    );
    let (_, mine) = app.get_json("/seat-requests", manager).await;
    assert!(
        mine["items"].as_array().unwrap().iter().any(|r| r["id"] == req["id"]),
        "{mine}"
    );
    let decide = format!("/seat-requests/{}/decision", req["id"].as_str().unwrap());
    let (s, _) = app.post(&decide, Some(manager), json!({ "approve": true })).await;
    assert_eq!(s, 403, "a partner approves nothing");
    let (s, done) = app.post(&decide, Some(admin), json!({ "approve": true })).await;
    assert_eq!((s, &done["state"]), (200, &json!("approved")), "{done}");
    let (s, again) = app.post(&decide, Some(admin), json!({ "approve": false })).await;
    assert_eq!(s, 409, "decided already: {again}");
    let (_, view) = app.get_json(&seats, manager).await;
    assert_eq!(
        (view["free"].as_u64(), &view["described"]),
        (Some(5), &json!(format!("Can Be Purchased: {} seats", limit + 5))),
        "{view}"
    );
    let (_, queue) = app.get_json("/seat-requests", admin).await;
    assert!(
        !queue["items"].as_array().unwrap().iter().any(|r| r["id"] == req["id"]),
        "{queue}"
    );
    let (s, _) = add(102).await;
    assert_eq!(s, 201);

    // Each step is an event in Northwind's log.
    let said = descriptions(&app, northwind, "Update License").await;
    for expected in [
        "Set the seats of \"Northwind Partners\" to Allocated: 1 seat (was uncounted",
        "Asked the platform for 5 more seat(s)",
        "Approved 5 more seat(s)",
    ] {
        assert!(said.iter().any(|d| d.contains(expected)), "{expected}: {said:#?}");
    }
    let said = descriptions(&app, northwind, "Invite User").await;
    assert!(said.iter().any(|d| d.contains("their seat is free")), "{said:#?}");
}

async fn the_partner_portal_switch(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.token(Role::PlatformAdmin);
    let manager = app.token(Role::PartnerManager);
    let northwind = app.orgs[&Role::PartnerManager];
    let contoso = app.orgs[&Role::CustomerAccountOwner];
    // A partner user with a password, to sign in with.
    let email = format!("switch-{}@northwind.example.com", uuid::Uuid::new_v4().simple());
    app.add_partner_user(&email).await;
    let _ = app.set_up_account(&email).await;

    let (s, config) = app.get_json("/partner-portal", admin).await;
    assert_eq!(s, 200, "{config}");
    assert_eq!(
        (&config["organizations"], &config["partnerPortal"], &config["version"]),
        (&json!(true), &json!(true), &json!(0)),
        "the defaults: {config}"
    );
    let (s, _) = app.get_json("/partner-portal", manager).await;
    assert_eq!(s, 403);
    let mut off = config.clone();
    off["partnerPortal"] = json!(false);
    let (s, saved) = app.put("/partner-portal", admin, off.clone()).await;
    assert_eq!((s, &saved["version"]), (200, &json!(1)), "{saved}");
    let (s, stale) = app.put("/partner-portal", admin, off).await;
    assert_eq!(s, 409, "the version read was 0: {stale}");

    // Partners are refused, at once, with a clear problem; the others are not.
    let (s, p) = app
        .get_json(&format!("/organizations/{northwind}/users"), manager)
        .await;
    assert_eq!(
        (s, p["type"].as_str()),
        (403, Some("urn:portico:problem:partner-portal-off")),
        "{p}"
    );
    assert!(
        p["detail"].as_str().unwrap().contains("Partner Portal is switched off"),
        "{p}"
    );
    let (s, _) = app.get_json("/organizations", app.token(Role::PartnerUser)).await;
    assert_eq!(s, 403);
    let (s, _) = app
        .get_json(
            &format!("/customers/{contoso}/settings"),
            app.token(Role::CustomerAccountOwner),
        )
        .await;
    assert_eq!(s, 200, "customers are not partners");
    let (s, p) = app
        .post(
            "/session",
            None,
            json!({ "email": email, "password": portico_tests::PASSWORD }),
        )
        .await;
    assert_eq!(
        (s, p["type"].as_str()),
        (403, Some("urn:portico:problem:partner-portal-off")),
        "{p}"
    );

    // Organizations off too: no partner organisation can be created.
    let mut all_off = saved.clone();
    all_off["organizations"] = json!(false);
    let (s, saved) = app.put("/partner-portal", admin, all_off).await;
    assert_eq!(s, 200, "{saved}");
    let (s, p) = app
        .post(
            "/invitations/partner",
            Some(admin),
            json!({ "organizationName": "Globex Offline", "email": "g@globex.example.com", "displayName": "G" }),
        )
        .await;
    assert_eq!(
        (s, p["type"].as_str()),
        (403, Some("urn:portico:problem:organizations-off")),
        "{p}"
    );
    let (s, p) = app
        .post(
            "/organizations",
            Some(admin),
            json!({ "name": "Offline Partner", "kind": "partner" }),
        )
        .await;
    assert_eq!(s, 403, "{p}");
    // The Partner Portal cannot be on without Organizations.
    let mut bad = saved.clone();
    bad["partnerPortal"] = json!(true);
    let (s, p) = app.put("/partner-portal", admin, bad).await;
    assert_eq!(s, 400, "{p}");

    // Both on again: partners are served.
    let mut on = saved.clone();
    on["organizations"] = json!(true);
    on["partnerPortal"] = json!(true);
    let (s, _) = app.put("/partner-portal", admin, on).await;
    assert_eq!(s, 200);
    let (s, _) = app
        .get_json(&format!("/organizations/{northwind}/users"), manager)
        .await;
    assert_eq!(s, 200);
    let platform = app.orgs[&Role::PlatformAdmin];
    let said = descriptions(&app, platform, "Update Organization").await;
    for expected in [
        "Partner Portal settings: Partner Portal off",
        "Partner Portal settings: Organizations off",
        "Partner Portal settings: Organizations on; Partner Portal on",
    ] {
        assert!(said.iter().any(|d| d == expected), "{expected}: {said:#?}");
    }
}

async fn capability_flags_and_hidden_settings(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.token(Role::PlatformAdmin);
    let manager = app.token(Role::PartnerManager);
    let northwind = app.orgs[&Role::PartnerManager];
    let nora = app.users[&Role::PartnerManager];
    let run = uuid::Uuid::new_v4().simple().to_string();
    let users = format!("/organizations/{northwind}/users");
    let new_user = |who: &str| json!({ "email": format!("{who}-{run}@northwind.example.com"), "displayName": who, "role": "partner_user" });
    let flags = |self_management: bool, user_management: bool| json!({ "selfManagement": self_management, "userManagement": user_management, "roles": true, "drivers": true, "classifiers": false });
    let set_flags = |caps: Value| {
        let app = &app;
        async move {
            let (_, org) = app.get_json(&format!("/organizations/{northwind}"), admin).await;
            app.put(
                &format!("/organizations/{northwind}/capabilities"),
                admin,
                json!({ "capabilities": caps, "version": org["version"] }),
            )
            .await
        }
    };

    // User-Management off (as partners were): Nora asks the platform, she adds no one.
    let (s, p) = app.post(&users, Some(manager), new_user("ann")).await;
    assert_eq!(s, 403, "{p}");
    // On: she adds and removes users herself.
    let (s, org) = set_flags(flags(true, true)).await;
    assert_eq!(s, 200, "{org}");
    assert_eq!(org["capabilities"]["drivers"], json!(true), "carried and shown: {org}");
    let (s, p) = app
        .put(
            &format!("/organizations/{northwind}/capabilities"),
            manager,
            json!({ "capabilities": flags(true, true), "version": org["version"] }),
        )
        .await;
    assert_eq!(s, 403, "only the platform sets them: {p}");
    let (s, added) = app.post(&users, Some(manager), new_user("ann")).await;
    assert_eq!(s, 201, "{added}");
    let ann = added["user"]["id"].as_str().unwrap();
    let (s, p) = delete(&app, &format!("{users}/{ann}"), manager).await;
    assert_eq!(s, 200, "{p}");
    let (s, _) = delete(&app, &format!("{users}/{nora}"), manager).await;
    assert_eq!(s, 409, "not herself");

    // Self-Management off: Nora renames nothing and sets no trusted network; the platform still may.
    let (s, _) = set_flags(flags(false, true)).await;
    assert_eq!(s, 200);
    let (_, org) = app.get_json(&format!("/organizations/{northwind}"), admin).await;
    let rename = json!({ "name": format!("Northwind {run}"), "version": org["version"] });
    let (s, p) = app
        .put(&format!("/organizations/{northwind}/name"), manager, rename.clone())
        .await;
    assert_eq!(s, 403, "{p}");
    let (s, p) = app
        .put(
            &format!("/organizations/{northwind}/trusted-ranges"),
            manager,
            json!({ "ranges": ["203.0.113.0/24"], "version": org["version"] }),
        )
        .await;
    assert_eq!(s, 403, "{p}");
    let (s, p) = app
        .put(&format!("/organizations/{northwind}/name"), admin, rename)
        .await;
    assert_eq!(s, 200, "{p}");
    let (s, _) = set_flags(flags(true, true)).await;
    assert_eq!(s, 200);
    let (_, org) = app.get_json(&format!("/organizations/{northwind}"), admin).await;
    let rename = json!({ "name": format!("Northwind Partners {run}"), "version": org["version"] });
    let (s, p) = app
        .put(&format!("/organizations/{northwind}/name"), manager, rename)
        .await;
    assert_eq!(s, 200, "Self-Management on again: {p}");

    // Hide Organization Settings: the users, seats and profile routes close
    // to Nora at once; her other work does not.
    let restrict = format!("{users}/{nora}/restrictions");
    let (s, p) = app
        .put(&restrict, manager, json!({ "hideOrganizationSettings": true }))
        .await;
    assert_eq!(s, 403, "{p}");
    let (s, p) = app
        .put(&restrict, admin, json!({ "hideOrganizationSettings": true }))
        .await;
    assert_eq!(s, 200, "{p}");
    for path in [users.clone(), format!("/organizations/{northwind}/seats")] {
        let (s, p) = app.get_json(&path, manager).await;
        assert_eq!(s, 403, "{path}: {p}");
    }
    let (s, p) = app.post(&users, Some(manager), new_user("bob")).await;
    assert_eq!(s, 403, "{p}");
    let (s, _) = app.get_json("/organizations", manager).await;
    assert_eq!(s, 200, "her customers are not Organization Settings");
    let (s, _) = app.get_json(&users, admin).await;
    assert_eq!(s, 200, "the platform is not restricted");
    let (s, _) = app
        .put(&restrict, admin, json!({ "hideOrganizationSettings": false }))
        .await;
    assert_eq!(s, 200);
    let (s, _) = app.get_json(&users, manager).await;
    assert_eq!(s, 200);

    let said = descriptions(&app, northwind, "Update Organization").await;
    assert!(
        said.iter().any(|d| d
            .contains("[user_management, roles, drivers] (were [self_management, user_management, roles, drivers])")),
        "{said:#?}"
    );
    let said = descriptions(&app, northwind, "Update User Profile").await;
    assert!(
        said.iter().any(|d| d.starts_with("Hid Organization Settings for")),
        "{said:#?}"
    );
    assert!(
        said.iter().any(|d| d.starts_with("Showed Organization Settings for")),
        "{said:#?}"
    );
}

/// A partner invited with the Default Resource Allocation: its first
/// manager holds a seat from the invitation; revoking it frees the seat.
async fn revoking_a_partner_invitation_frees_its_seat(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.token(Role::PlatformAdmin);
    let (_, mut config) = app.get_json("/partner-portal", admin).await;
    config["defaultAllocation"] = json!({ "kind": "allocated", "seats": 3 });
    let (s, _) = app.put("/partner-portal", admin, config).await;
    assert_eq!(s, 200);
    let run = uuid::Uuid::new_v4().simple().to_string();
    let (s, sent) = app
        .post(
            "/invitations/partner",
            Some(admin),
            json!({ "organizationName": format!("Globex {run}"), "email": format!("g-{run}@globex.example.com"), "displayName": "G" }),
        )
        .await;
    assert_eq!(s, 201, "{sent}");
    let org = sent["invitation"]["orgId"].as_str().unwrap().to_string();
    let (_, seats) = app.get_json(&format!("/organizations/{org}/seats"), admin).await;
    assert_eq!(
        (&seats["described"], &seats["used"]),
        (&json!("Allocated: 3 seats"), &json!(1)),
        "{seats}"
    );
    let id = sent["invitation"]["id"].as_str().unwrap();
    let (s, p) = app
        .post(&format!("/invitations/{id}/revoke"), Some(admin), json!({}))
        .await;
    assert_eq!(s, 200, "{p}");
    let (_, seats) = app.get_json(&format!("/organizations/{org}/seats"), admin).await;
    assert_eq!(seats["used"], json!(0), "{seats}");
}

both_backends!(
    seats_limit_removal_and_purchase,
    the_partner_portal_switch,
    capability_flags_and_hidden_settings,
    revoking_a_partner_invitation_frees_its_seat
);
