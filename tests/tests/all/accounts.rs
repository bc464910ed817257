//! Invitations, password links, MFA and sign-in end to end over HTTP, on
//! both backends: embedded (SQLite, outbox, local identity) and AWS
//! (DynamoDB Local, SES and Cognito on moto).

use std::sync::Arc;

use chrono::{Duration, Utc};
use portico_core::clock::ManualClock;
use portico_core::domain::Role;
use portico_tests::{Backend, Options, TestApp};
use serde_json::{Value, json};

// Upper, lower, digit and symbol: moto applies its default policy when a
// false `Require*` flag is left out of the request, as the SDK does.
use portico_tests::{PASSWORD, code_at};

async fn call(app: &TestApp, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> (u16, Value) {
    let mut req = app
        .http
        .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), app.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

async fn post(app: &TestApp, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
    call(app, "POST", path, token, Some(body)).await
}

pub async fn platform_invites_a_partner_manager_who_sets_up_and_signs_in(b: Backend) {
    let app = TestApp::spawn(b).await;
    let email = format!("pm-{}@globex.example.com", uuid::Uuid::new_v4().simple());
    let body = json!({ "organizationName": "Globex Resellers", "email": email, "displayName": "Gloria Manager" });
    let (s, sent) = post(
        &app,
        "/invitations/partner",
        Some(app.token(Role::PlatformAdmin)),
        body.clone(),
    )
    .await;
    assert_eq!(s, 201, "{sent}");
    assert_eq!(
        (sent["emailed"].as_bool(), sent["invitation"]["state"].as_str()),
        (Some(true), Some("pending"))
    );
    let org = sent["invitation"]["orgId"].as_str().unwrap().to_string();
    // The same again: the email is taken.
    assert_eq!(
        post(&app, "/invitations/partner", Some(app.token(Role::PlatformAdmin)), body)
            .await
            .0,
        409
    );
    // Only platform admins invite partners.
    let other = json!({ "organizationName": "Sneaky", "email": "x@sneaky.example.com", "displayName": "X" });
    assert_eq!(
        post(
            &app,
            "/invitations/partner",
            Some(app.token(Role::PartnerManager)),
            other
        )
        .await
        .0,
        403
    );

    let token = app.last_token_to(&email).await;
    assert!(
        app.links_to(&email).await[0].starts_with("https://portal.example.com/setup-password?token="),
        "links use the configured base URL"
    );
    for (bad, why) in [
        ("short", "too short"),
        (email.as_str(), "the email"),
        ("password1234", "common"),
    ] {
        let (s, p) = post(
            &app,
            "/password/setup",
            None,
            json!({ "token": token, "password": bad }),
        )
        .await;
        assert_eq!(s, 400, "{why}: {p}");
    }
    let (s, _) = post(
        &app,
        "/password/setup",
        None,
        json!({ "token": token, "password": PASSWORD }),
    )
    .await;
    assert_eq!(s, 200);
    let (s, p) = post(
        &app,
        "/password/setup",
        None,
        json!({ "token": token, "password": PASSWORD }),
    )
    .await;
    assert_eq!(
        (s, p["type"].as_str()),
        (410, Some("urn:portico:problem:link-used")),
        "single use"
    );

    let (s, _) = post(
        &app,
        "/session",
        None,
        json!({ "email": email, "password": "not the password" }),
    )
    .await;
    assert_eq!(s, 401);
    let (s, step) = post(&app, "/session", None, json!({ "email": email, "password": PASSWORD })).await;
    assert_eq!(
        (s, step["step"].as_str()),
        (200, Some("mfa_setup")),
        "MFA is mandatory for partner users: {step}"
    );
    let (s, enrol) = post(&app, "/session/mfa-setup", None, json!({ "session": step["session"] })).await;
    assert_eq!(s, 200, "{enrol}");
    let secret = enrol["secret"].as_str().unwrap().to_string();
    let first_code = code_at(&secret, 0);
    let (s, done) = post(
        &app,
        "/session/mfa-setup/confirm",
        None,
        json!({ "session": enrol["session"], "code": first_code }),
    )
    .await;
    assert_eq!(s, 200, "{done}");
    let bearer = done["token"].as_str().unwrap().to_string();
    let codes: Vec<String> = done["recoveryCodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert_eq!(codes.len(), 10);

    // Signed in: the partner's own organisation, no customers yet.
    let (s, own) = call(&app, "GET", &format!("/organizations/{org}"), Some(&bearer), None).await;
    assert_eq!((s, own["name"].as_str()), (200, Some("Globex Resellers")));
    let (s, list) = call(&app, "GET", "/organizations", Some(&bearer), None).await;
    assert_eq!((s, list["items"].as_array().map(Vec::len)), (200, Some(0)));
    // The invitation is accepted now.
    let (s, invs) = call(
        &app,
        "GET",
        &format!("/organizations/{org}/invitations"),
        Some(app.token(Role::PlatformAdmin)),
        None,
    )
    .await;
    assert_eq!(
        (s, invs["items"][0]["state"].as_str()),
        (200, Some("accepted")),
        "{invs}"
    );

    // Next sign-in: password, then a code. The enrolment's code again is a replay.
    let (s, step) = post(&app, "/session", None, json!({ "email": email, "password": PASSWORD })).await;
    assert_eq!((s, step["step"].as_str()), (200, Some("mfa")), "{step}");
    let (s, p) = post(
        &app,
        "/session/mfa",
        None,
        json!({ "session": step["session"], "code": first_code }),
    )
    .await;
    assert_eq!(
        (s, p["type"].as_str()),
        (401, Some("urn:portico:problem:code-rejected")),
        "replayed code: {p}"
    );
    let (s, step) = post(&app, "/session", None, json!({ "email": email, "password": PASSWORD })).await;
    assert_eq!(s, 200);
    let next = code_at(&secret, 1);
    let (s, done) = post(
        &app,
        "/session/mfa",
        None,
        json!({ "session": step["session"], "code": next }),
    )
    .await;
    assert_eq!((s, done["step"].as_str()), (200, Some("done")), "{done}");
    let (s, _) = call(
        &app,
        "GET",
        "/organizations",
        Some(done["token"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(s, 200);
}

pub async fn partner_invites_a_customer_who_creates_its_organisation(b: Backend) {
    let app = TestApp::spawn(b).await;
    let email = format!("owner-{}@initech.example.com", uuid::Uuid::new_v4().simple());
    let manager = app.token(Role::PartnerManager).to_string();
    // Partner users may not invite; Partner Managers may.
    assert_eq!(
        post(
            &app,
            "/invitations/customer",
            Some(app.token(Role::PartnerUser)),
            json!({ "email": email })
        )
        .await
        .0,
        403
    );
    let (s, sent) = post(&app, "/invitations/customer", Some(&manager), json!({ "email": email })).await;
    assert_eq!(s, 201, "{sent}");
    // A Partner Manager cannot learn whether an address already has an account.
    let (s, _) = post(
        &app,
        "/invitations/customer",
        Some(&manager),
        json!({ "email": "admin@portico.example.com" }),
    )
    .await;
    assert_eq!(s, 201, "the same answer for an address that has an account");
    let token = app.last_token_to(&email).await;
    let accept =
        json!({ "token": token, "organizationName": "Initech", "displayName": "Ian Owner", "password": PASSWORD });
    let (s, created) = post(&app, "/invitations/accept", None, accept.clone()).await;
    assert_eq!(s, 201, "{created}");
    assert_eq!(
        created["organization"]["partnerOfRecord"].as_str(),
        Some(app.orgs[&Role::PartnerManager].to_string().as_str())
    );
    let (s, p) = post(&app, "/invitations/accept", None, accept).await;
    assert_eq!((s, p["type"].as_str()), (410, Some("urn:portico:problem:link-used")));
    // The partner's users see the new customer; the invitation is accepted.
    let (s, list) = call(&app, "GET", "/organizations", Some(app.token(Role::PartnerUser)), None).await;
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!((s, names), (200, vec!["Contoso Ltd", "Fabrikam Inc", "Initech"]));
    let partner = app.orgs[&Role::PartnerManager];
    let (s, invs) = call(
        &app,
        "GET",
        &format!("/organizations/{partner}/invitations"),
        Some(&manager),
        None,
    )
    .await;
    let ours = invs["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["email"] == email.as_str())
        .unwrap()
        .clone();
    assert_eq!((s, ours["state"].as_str()), (200, Some("accepted")), "{invs}");
    assert_eq!(ours["createdOrgId"], created["organization"]["id"]);
    // Another partner's manager cannot see those invitations.
    let (s, _) = call(
        &app,
        "GET",
        &format!("/organizations/{partner}/invitations"),
        Some(app.token(Role::CustomerAccountOwner)),
        None,
    )
    .await;
    assert_eq!(s, 404);
    // The owner signs in; customers' MFA follows their organisation (required by default).
    let (s, step) = post(&app, "/session", None, json!({ "email": email, "password": PASSWORD })).await;
    assert_eq!((s, step["step"].as_str()), (200, Some("mfa_setup")), "{step}");
}

pub async fn links_expire_and_resending_or_revoking_kills_the_old_one(b: Backend) {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_with(
        b,
        Options {
            clock: clock.clone(),
            ..Default::default()
        },
    )
    .await;
    let admin = app.token(Role::PlatformAdmin).to_string();
    let email = format!("late-{}@umbrella.example.com", uuid::Uuid::new_v4().simple());
    let body =
        json!({ "organizationName": "Umbrella Partners", "email": email, "displayName": "Uma", "expiresInHours": 1 });
    let (s, sent) = post(&app, "/invitations/partner", Some(&admin), body).await;
    assert_eq!(s, 201, "{sent}");
    for hours in [0, 721] {
        let bad = json!({ "organizationName": "Other", "email": "o@other.example.com", "displayName": "O", "expiresInHours": hours });
        assert_eq!(
            post(&app, "/invitations/partner", Some(&admin), bad).await.0,
            400,
            "{hours} hours"
        );
    }
    let old = app.last_token_to(&email).await;
    clock.advance(Duration::minutes(61));
    let (s, p) = post(
        &app,
        "/password/setup",
        None,
        json!({ "token": old, "password": PASSWORD }),
    )
    .await;
    assert_eq!(
        (s, p["type"].as_str()),
        (410, Some("urn:portico:problem:link-expired")),
        "{p}"
    );
    assert!(
        p["detail"].as_str().unwrap().contains("new link"),
        "says how to get a new one"
    );
    let org = sent["invitation"]["orgId"].as_str().unwrap();
    let (_, invs) = call(
        &app,
        "GET",
        &format!("/organizations/{org}/invitations"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(invs["items"][0]["state"], "expired");
    let id = invs["items"][0]["id"].as_str().unwrap();
    let (s, resent) = post(&app, &format!("/invitations/{id}/resend"), Some(&admin), json!({})).await;
    assert_eq!(
        (s, resent["invitation"]["state"].as_str()),
        (200, Some("pending")),
        "{resent}"
    );
    let new = app.last_token_to(&email).await;
    assert_ne!(new, old);
    let (s, p) = post(
        &app,
        "/password/setup",
        None,
        json!({ "token": old, "password": PASSWORD }),
    )
    .await;
    assert_eq!(
        (s, p["type"].as_str()),
        (404, Some("urn:portico:problem:link-invalid")),
        "the old link died"
    );
    // Revoking kills the live link.
    let (s, _) = post(&app, &format!("/invitations/{id}/revoke"), Some(&admin), json!({})).await;
    assert_eq!(s, 200);
    let (s, _) = post(
        &app,
        "/password/setup",
        None,
        json!({ "token": new, "password": PASSWORD }),
    )
    .await;
    assert_eq!(s, 404);
    let (_, invs) = call(
        &app,
        "GET",
        &format!("/organizations/{org}/invitations"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(invs["items"][0]["state"], "revoked");
    // Nothing else activates the revoked invitee: "forgot password" sends nothing.
    let sent = app.links_to(&email).await.len();
    assert_eq!(
        post(&app, "/password/forgot", None, json!({ "email": email })).await.0,
        202
    );
    assert_eq!(app.links_to(&email).await.len(), sent, "no link for a revoked invitee");
    assert_eq!(
        post(&app, &format!("/invitations/{id}/revoke"), Some(&admin), json!({}))
            .await
            .0,
        409
    );
    // Malformed tokens are refused the same way as unknown ones.
    let (s, _) = post(
        &app,
        "/password/setup",
        None,
        json!({ "token": "x", "password": PASSWORD }),
    )
    .await;
    assert_eq!(s, 404);
}

pub async fn concurrent_redemptions_of_one_link_have_one_winner(b: Backend) {
    let app = TestApp::spawn(b).await;
    let email = format!("race-{}@northwind.example.com", uuid::Uuid::new_v4().simple());
    let body = json!({ "email": email, "displayName": "Rae Racer", "role": "partner_user" });
    let partner = app.orgs[&Role::PartnerManager];
    let (s, added) = post(
        &app,
        &format!("/organizations/{partner}/users"),
        Some(app.token(Role::PlatformAdmin)),
        body,
    )
    .await;
    assert_eq!(s, 201, "{added}");
    let token = app.last_token_to(&email).await;
    let app = Arc::new(app);
    let tries = (0..20).map(|i| {
        let app = app.clone();
        let token = token.clone();
        tokio::spawn(async move {
            post(
                &app,
                "/password/setup",
                None,
                json!({ "token": token, "password": format!("{PASSWORD} #{i}") }),
            )
            .await
            .0
        })
    });
    let statuses: Vec<u16> = futures::future::join_all(tries)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "exactly one redemption wins: {statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 410),
        "the others are told the link was used: {statuses:?}"
    );
}

pub async fn partner_requests_a_user_and_the_platform_approves(b: Backend) {
    let app = TestApp::spawn(b).await;
    let email = format!("new-{}@northwind.example.com", uuid::Uuid::new_v4().simple());
    let manager = app.token(Role::PartnerManager).to_string();
    let admin = app.token(Role::PlatformAdmin).to_string();
    let ask = json!({ "email": email, "displayName": "Ned New", "role": "partner_user" });
    assert_eq!(
        post(&app, "/user-requests", Some(app.token(Role::PartnerUser)), ask.clone())
            .await
            .0,
        403
    );
    let bad = json!({ "email": email, "displayName": "Ned", "role": "platform_admin" });
    assert_eq!(post(&app, "/user-requests", Some(&manager), bad).await.0, 400);
    let (s, req) = post(&app, "/user-requests", Some(&manager), ask).await;
    assert_eq!((s, req["state"].as_str()), (201, Some("pending")), "{req}");
    let (s, queue) = call(&app, "GET", "/user-requests", Some(&admin), None).await;
    assert_eq!(s, 200);
    assert!(
        queue["items"].as_array().unwrap().iter().any(|r| r["id"] == req["id"]),
        "in the platform's queue"
    );
    let id = req["id"].as_str().unwrap();
    assert_eq!(
        post(
            &app,
            &format!("/user-requests/{id}/decision"),
            Some(&manager),
            json!({ "approve": true })
        )
        .await
        .0,
        403
    );
    let (s, decided) = post(
        &app,
        &format!("/user-requests/{id}/decision"),
        Some(&admin),
        json!({ "approve": true }),
    )
    .await;
    assert_eq!((s, decided["state"].as_str()), (200, Some("approved")), "{decided}");
    assert_eq!(
        post(
            &app,
            &format!("/user-requests/{id}/decision"),
            Some(&admin),
            json!({ "approve": false })
        )
        .await
        .0,
        409
    );
    let (_, queue) = call(&app, "GET", "/user-requests", Some(&admin), None).await;
    assert!(
        !queue["items"].as_array().unwrap().iter().any(|r| r["id"] == req["id"]),
        "out of the queue"
    );
    let (_, mine) = call(&app, "GET", "/user-requests", Some(&manager), None).await;
    assert_eq!(mine["items"][0]["state"], "approved");
    // The Password Setup email arrived; the new user completes setup and sees the partner's customers.
    let (bearer, _, _) = app.set_up_account(&email).await;
    let (s, list) = call(&app, "GET", "/organizations", Some(&bearer), None).await;
    assert_eq!((s, list["items"].as_array().map(Vec::len)), (200, Some(2)), "{list}");
}

pub async fn forgot_password_answers_the_same_and_is_rate_limited(b: Backend) {
    let app = TestApp::spawn(b).await;
    let email = format!("forgetful-{}@northwind.example.com", uuid::Uuid::new_v4().simple());
    app.add_partner_user(&email).await;
    let first = app.last_token_to(&email).await;
    let (s1, b1) = post(&app, "/password/forgot", None, json!({ "email": email })).await;
    let (s2, b2) = post(
        &app,
        "/password/forgot",
        None,
        json!({ "email": "nobody@nowhere.example.com" }),
    )
    .await;
    assert_eq!(
        (s1, &b1),
        (s2, &b2),
        "the same answer whether or not the address exists"
    );
    assert_eq!(s1, 202);
    let second = app.last_token_to(&email).await;
    assert_ne!(first, second, "a new link");
    assert_eq!(
        post(
            &app,
            "/password/setup",
            None,
            json!({ "token": first, "password": PASSWORD })
        )
        .await
        .0,
        404,
        "the old one died"
    );
    // Again at once: the same answer, but no new email.
    let count = app.links_to(&email).await.len();
    assert_eq!(
        post(&app, "/password/forgot", None, json!({ "email": email })).await.0,
        202
    );
    assert_eq!(app.links_to(&email).await.len(), count, "rate-limited per address");
    assert_eq!(
        post(
            &app,
            "/password/setup",
            None,
            json!({ "token": second, "password": PASSWORD })
        )
        .await
        .0,
        200
    );
}

pub async fn partner_users_reconfirm_their_email_every_24_hours_unless_trusted(b: Backend) {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_with(
        b,
        Options {
            clock: clock.clone(),
            ..Default::default()
        },
    )
    .await;
    let admin = app.token(Role::PlatformAdmin).to_string();
    let partner = app.orgs[&Role::PartnerManager];
    let email = format!("daily-{}@northwind.example.com", uuid::Uuid::new_v4().simple());
    let body = json!({ "email": email, "displayName": "Dee Daily", "role": "partner_user" });
    assert_eq!(
        post(&app, &format!("/organizations/{partner}/users"), Some(&admin), body)
            .await
            .0,
        201
    );
    let (bearer, secret, _) = app.set_up_account(&email).await;
    let links_before = app.links_to(&email).await.len();
    assert_eq!(call(&app, "GET", "/organizations", Some(&bearer), None).await.0, 200);

    clock.advance(Duration::hours(25));
    // A day later the user signs in again (the old token's session has gone).
    assert_eq!(call(&app, "GET", "/organizations", Some(&bearer), None).await.0, 401);
    let bearer = app
        .sign_in(&email, &secret, portico_core::clock::Clock::now(clock.as_ref()))
        .await;
    let (s, p) = call(&app, "GET", "/organizations", Some(&bearer), None).await;
    assert_eq!(
        (s, p["type"].as_str()),
        (403, Some("urn:portico:problem:email-confirmation-required")),
        "{p}"
    );
    let links = app.links_to(&email).await;
    assert_eq!(links.len(), links_before + 1, "a confirmation link was emailed");
    assert!(links.last().unwrap().contains("/confirm-email?token="));
    assert_eq!(call(&app, "GET", "/organizations", Some(&bearer), None).await.0, 403);
    assert_eq!(
        app.links_to(&email).await.len(),
        links_before + 1,
        "at most one email per 10 minutes"
    );
    let first_token = app.last_token_to(&email).await;
    clock.advance(Duration::minutes(11));
    assert_eq!(call(&app, "GET", "/organizations", Some(&bearer), None).await.0, 403);
    assert_eq!(app.links_to(&email).await.len(), links_before + 2);
    let (s, _) = post(&app, "/email/confirm", None, json!({ "token": first_token })).await;
    assert_eq!(s, 404, "the newer link killed the older one");
    let token = app.last_token_to(&email).await;
    let (s, p) = post(&app, "/email/confirm", None, json!({ "token": token })).await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(
        call(&app, "GET", "/organizations", Some(&bearer), None).await.0,
        200,
        "the clock starts again"
    );
    assert_eq!(
        post(&app, "/email/confirm", None, json!({ "token": token })).await.0,
        410
    );
    // Platform and customer users are never asked.
    assert_eq!(call(&app, "GET", "/organizations", Some(&admin), None).await.0, 200);
    assert_eq!(
        call(
            &app,
            "GET",
            "/organizations",
            Some(app.token(Role::CustomerAccountOwner)),
            None
        )
        .await
        .0,
        200
    );

    // Trusted ranges: validated, versioned, audited; then no prompt from inside them.
    let path = format!("/organizations/{partner}/trusted-ranges");
    let (s, read) = call(&app, "GET", &path, Some(&admin), None).await;
    assert_eq!((s, read["ranges"].as_array().map(Vec::len)), (200, Some(0)), "{read}");
    let version = read["version"].clone();
    // Too wide to trust (issue 10): two halves of everything, or a /8.
    for bad in [
        json!(["not-a-cidr"]),
        json!(["10.0.0.0/33"]),
        json!(["0.0.0.0/0"]),
        json!(["0.0.0.0/1", "128.0.0.0/1"]),
        json!(["::/1", "8000::/1"]),
        json!(["10.0.0.0/8"]),
    ] {
        let (s, p) = call(
            &app,
            "PUT",
            &path,
            Some(&admin),
            Some(json!({ "ranges": bad, "version": version })),
        )
        .await;
        assert_eq!(s, 400, "{bad}: {p}");
    }
    assert_eq!(
        call(
            &app,
            "PUT",
            &path,
            Some(&bearer),
            Some(json!({ "ranges": [], "version": version }))
        )
        .await
        .0,
        403,
        "partner users may not"
    );
    let other = call(
        &app,
        "PUT",
        &path,
        Some(app.token(Role::CustomerAccountOwner)),
        Some(json!({ "ranges": [], "version": version })),
    )
    .await;
    assert_eq!(other.0, 404, "customers cannot even see it");
    let (s, set) = call(
        &app,
        "PUT",
        &path,
        Some(&admin),
        Some(json!({ "ranges": ["10.1.2.3/16", "127.0.0.0/16", "2001:db8::/32"], "version": version })),
    )
    .await;
    assert_eq!(s, 200, "{set}");
    assert_eq!(
        set["ranges"],
        json!(["10.1.0.0/16", "127.0.0.0/16", "2001:db8::/32"]),
        "normalised"
    );
    assert_eq!(
        call(
            &app,
            "PUT",
            &path,
            Some(&admin),
            Some(json!({ "ranges": [], "version": version }))
        )
        .await
        .0,
        409,
        "stale version"
    );
    let events = app
        .deps
        .table
        .query(&portico_core::store::Query::partition(
            portico_core::store::Index::Primary,
            portico_core::store::keys::activity_partition(partner),
        ))
        .await
        .unwrap();
    assert!(
        events
            .items
            .iter()
            .any(|i| i.data["action"] == "Update Trusted Connection"),
        "audited"
    );
    clock.advance(Duration::hours(48));
    let bearer = app
        .sign_in(&email, &secret, portico_core::clock::Clock::now(clock.as_ref()))
        .await;
    assert_eq!(
        call(&app, "GET", "/organizations", Some(&bearer), None).await.0,
        200,
        "127.0.0.1 is trusted now"
    );
}

pub async fn a_customer_decides_whether_its_users_need_mfa(b: Backend) {
    let app = TestApp::spawn(b).await;
    let email = format!("owner-{}@hooli.example.com", uuid::Uuid::new_v4().simple());
    let manager = app.token(Role::PartnerManager).to_string();
    assert_eq!(
        post(&app, "/invitations/customer", Some(&manager), json!({ "email": email }))
            .await
            .0,
        201
    );
    let token = app.last_token_to(&email).await;
    let accept = json!({ "token": token, "organizationName": "Hooli", "displayName": "Hal", "password": PASSWORD });
    let (s, created) = post(&app, "/invitations/accept", None, accept).await;
    assert_eq!(s, 201, "{created}");
    let org = created["organization"]["id"].as_str().unwrap().to_string();
    let (_, step) = post(&app, "/session", None, json!({ "email": email, "password": PASSWORD })).await;
    assert_eq!(step["step"], "mfa_setup", "required by default");
    let path = format!("/organizations/{org}/mfa-policy");
    let admin = app.token(Role::PlatformAdmin).to_string();
    assert_eq!(
        call(
            &app,
            "PUT",
            &path,
            Some(&manager),
            Some(json!({ "required": false, "version": 1 }))
        )
        .await
        .0,
        403,
        "not the partner's call"
    );
    assert_eq!(
        call(
            &app,
            "PUT",
            &path,
            Some(&admin),
            Some(json!({ "required": false, "version": 7 }))
        )
        .await
        .0,
        409,
        "stale version"
    );
    let (s, policy) = call(
        &app,
        "PUT",
        &path,
        Some(&admin),
        Some(json!({ "required": false, "version": 1 })),
    )
    .await;
    assert_eq!((s, policy["required"].as_bool()), (200, Some(false)), "{policy}");
    let (s, done) = post(&app, "/session", None, json!({ "email": email, "password": PASSWORD })).await;
    assert_eq!((s, done["step"].as_str()), (200, Some("done")), "no MFA now: {done}");
    let bearer = done["token"].as_str().unwrap().to_string();
    assert_eq!(call(&app, "GET", "/organizations", Some(&bearer), None).await.0, 200);
    let (s, _) = call(
        &app,
        "PUT",
        &path,
        Some(&admin),
        Some(json!({ "required": true, "version": policy["version"] })),
    )
    .await;
    assert_eq!(s, 200);
    let (s, p) = call(&app, "GET", "/organizations", Some(&bearer), None).await;
    assert_eq!(
        (s, p["type"].as_str()),
        (403, Some("urn:portico:problem:mfa-enrolment-required")),
        "required again at once"
    );
    let (_, step) = post(&app, "/session", None, json!({ "email": email, "password": PASSWORD })).await;
    assert_eq!(step["step"], "mfa_setup");
}

pub async fn another_partners_manager_cannot_touch_these_invitations_or_requests(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.token(Role::PlatformAdmin).to_string();
    let manager = app.token(Role::PartnerManager).to_string();
    // A second partner with its own Partner Manager, set up for real.
    let (s, other) = post(
        &app,
        "/organizations",
        Some(&admin),
        json!({ "name": format!("Litware {}", uuid::Uuid::new_v4().simple()), "kind": "partner" }),
    )
    .await;
    assert_eq!(s, 201, "{other}");
    let other_id = other["id"].as_str().unwrap().to_string();
    let email = format!("pm-{}@litware.example.com", uuid::Uuid::new_v4().simple());
    let body = json!({ "email": email, "displayName": "Lit Manager", "role": "partner_manager" });
    assert_eq!(
        post(&app, &format!("/organizations/{other_id}/users"), Some(&admin), body)
            .await
            .0,
        201
    );
    let (intruder, _, _) = app.set_up_account(&email).await;

    let northwind = app.orgs[&Role::PartnerManager];
    let (s, inv) = post(
        &app,
        "/invitations/customer",
        Some(&manager),
        json!({ "email": format!("c-{}@x.example.com", uuid::Uuid::new_v4().simple()) }),
    )
    .await;
    assert_eq!(s, 201);
    let id = inv["invitation"]["id"].as_str().unwrap();
    let ask = json!({ "email": format!("r-{}@northwind.example.com", uuid::Uuid::new_v4().simple()), "displayName": "R", "role": "partner_user" });
    let (s, req) = post(&app, "/user-requests", Some(&manager), ask).await;
    assert_eq!(s, 201);

    assert_eq!(
        call(
            &app,
            "GET",
            &format!("/organizations/{northwind}/invitations"),
            Some(&intruder),
            None
        )
        .await
        .0,
        404
    );
    assert_eq!(
        post(&app, &format!("/invitations/{id}/revoke"), Some(&intruder), json!({}))
            .await
            .0,
        404
    );
    assert_eq!(
        post(&app, &format!("/invitations/{id}/resend"), Some(&intruder), json!({}))
            .await
            .0,
        404
    );
    assert_eq!(
        call(
            &app,
            "GET",
            &format!("/organizations/{northwind}/trusted-ranges"),
            Some(&intruder),
            None
        )
        .await
        .0,
        404
    );
    let (s, theirs) = call(&app, "GET", "/user-requests", Some(&intruder), None).await;
    assert_eq!(s, 200);
    assert!(
        !theirs.to_string().contains(req["id"].as_str().unwrap()),
        "only their own requests: {theirs}"
    );
    let rid = req["id"].as_str().unwrap();
    assert_eq!(
        post(
            &app,
            &format!("/user-requests/{rid}/decision"),
            Some(&intruder),
            json!({ "approve": true })
        )
        .await
        .0,
        404
    );
    // The rightful manager still can.
    assert_eq!(
        post(&app, &format!("/invitations/{id}/revoke"), Some(&manager), json!({}))
            .await
            .0,
        200
    );
}

macro_rules! on_backend {
    ($name:ident, $backend:expr) => {
        mod $name {
            #[tokio::test]
            async fn platform_invites_a_partner_manager_who_sets_up_and_signs_in() {
                super::platform_invites_a_partner_manager_who_sets_up_and_signs_in($backend).await
            }
            #[tokio::test]
            async fn partner_invites_a_customer_who_creates_its_organisation() {
                super::partner_invites_a_customer_who_creates_its_organisation($backend).await
            }
            #[tokio::test]
            async fn links_expire_and_resending_or_revoking_kills_the_old_one() {
                super::links_expire_and_resending_or_revoking_kills_the_old_one($backend).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn concurrent_redemptions_of_one_link_have_one_winner() {
                super::concurrent_redemptions_of_one_link_have_one_winner($backend).await
            }
            #[tokio::test]
            async fn partner_requests_a_user_and_the_platform_approves() {
                super::partner_requests_a_user_and_the_platform_approves($backend).await
            }
            #[tokio::test]
            async fn partner_users_reconfirm_their_email_every_24_hours_unless_trusted() {
                super::partner_users_reconfirm_their_email_every_24_hours_unless_trusted($backend).await
            }
            #[tokio::test]
            async fn a_customer_decides_whether_its_users_need_mfa() {
                super::a_customer_decides_whether_its_users_need_mfa($backend).await
            }
            #[tokio::test]
            async fn another_partners_manager_cannot_touch_these_invitations_or_requests() {
                super::another_partners_manager_cannot_touch_these_invitations_or_requests($backend).await
            }
            #[tokio::test]
            async fn forgot_password_answers_the_same_and_is_rate_limited() {
                super::forgot_password_answers_the_same_and_is_rate_limited($backend).await
            }
        }
    };
}

on_backend!(embedded_sqlite, portico_tests::Backend::Sqlite);
on_backend!(aws_on_emulators, portico_tests::Backend::Dynamo);

/// A recovery code replaces a TOTP code, once; a new app is enrolled next.
/// On the local identity only: moto ignores the request that turns software
/// tokens off (the SDK leaves out `Enabled: false`, real Cognito reads the
/// empty settings as off, moto as "no change").
#[tokio::test]
async fn a_recovery_code_replaces_a_totp_code_once() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let email = format!("lost-phone-{}@northwind.example.com", uuid::Uuid::new_v4().simple());
    app.add_partner_user(&email).await;
    let (bearer, _, codes) = app.set_up_account(&email).await;
    let (s, p) = post(
        &app,
        "/session/recover",
        None,
        json!({ "email": email, "password": "wrong password!", "recoveryCode": codes[0] }),
    )
    .await;
    assert_eq!(s, 401, "the password comes first: {p}");
    let (s, step) = post(
        &app,
        "/session/recover",
        None,
        json!({ "email": email, "password": PASSWORD, "recoveryCode": codes[0].to_lowercase() }),
    )
    .await;
    assert_eq!((s, step["step"].as_str()), (200, Some("mfa_setup")), "{step}");
    let (s, _) = post(
        &app,
        "/session/recover",
        None,
        json!({ "email": email, "password": PASSWORD, "recoveryCode": codes[0] }),
    )
    .await;
    assert_eq!(s, 401, "a recovery code works once");
    // The old token is refused: using a recovery code ends every session of
    // the lost authenticator (issue 10), and enrolment gives a new token.
    let (s, p) = call(&app, "GET", "/organizations", Some(&bearer), None).await;
    assert_eq!(
        (s, p["type"].as_str()),
        (401, Some("urn:portico:problem:unauthenticated"))
    );
    let (s, enrol) = post(&app, "/session/mfa-setup", None, json!({ "session": step["session"] })).await;
    assert_eq!(s, 200, "{enrol}");
    let secret = enrol["secret"].as_str().unwrap().to_string();
    let (s, done) = post(
        &app,
        "/session/mfa-setup/confirm",
        None,
        json!({ "session": enrol["session"], "code": code_at(&secret, 0) }),
    )
    .await;
    assert_eq!(s, 200, "{done}");
    assert_eq!(
        call(
            &app,
            "GET",
            "/organizations",
            Some(done["token"].as_str().unwrap()),
            None
        )
        .await
        .0,
        200
    );
}

/// Replacing the authenticator needs a recent sign-in and the password; the
/// old app stops working. On the local identity (see the recovery test for moto).
#[tokio::test]
async fn replacing_the_authenticator_needs_a_fresh_sign_in() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        Options {
            clock: clock.clone(),
            ..Default::default()
        },
    )
    .await;
    let email = format!("new-phone-{}@northwind.example.com", uuid::Uuid::new_v4().simple());
    app.add_partner_user(&email).await;
    let (bearer, old_secret, _) = app.set_up_account(&email).await;
    let (s, _) = post(
        &app,
        "/me/mfa/reset",
        Some(&bearer),
        json!({ "password": "wrong password!!" }),
    )
    .await;
    assert_eq!(s, 401, "the password again");
    let (s, step) = post(&app, "/me/mfa/reset", Some(&bearer), json!({ "password": PASSWORD })).await;
    assert_eq!((s, step["step"].as_str()), (200, Some("mfa_setup")), "{step}");
    assert_eq!(
        call(&app, "GET", "/organizations", Some(&bearer), None).await.0,
        401,
        "resetting the authenticator ends the sessions it signed in (issue 10)"
    );
    let notices = app.links_to(&email).await.len();
    let (_, enrol) = post(&app, "/session/mfa-setup", None, json!({ "session": step["session"] })).await;
    let secret = enrol["secret"].as_str().unwrap().to_string();
    assert_ne!(secret, old_secret);
    let (s, done) = post(
        &app,
        "/session/mfa-setup/confirm",
        None,
        json!({ "session": enrol["session"], "code": code_at(&secret, 0) }),
    )
    .await;
    assert_eq!(s, 200, "{done}");
    let _ = notices;
    // Eleven minutes after that sign-in, it is no longer fresh.
    clock.advance(Duration::minutes(11));
    let (s, p) = post(
        &app,
        "/me/mfa/reset",
        Some(done["token"].as_str().unwrap()),
        json!({ "password": PASSWORD }),
    )
    .await;
    assert_eq!(
        (s, p["type"].as_str()),
        (401, Some("urn:portico:problem:fresh-sign-in-required"))
    );
}

/// When the identity refuses the password after Portico committed, the
/// commit is undone: the link works again, nothing is activated or created.
#[tokio::test]
async fn a_password_the_identity_refuses_leaves_nothing_half_done() {
    let opts = Options {
        wrap_identity: Some(Box::new(|i| {
            let faulty = portico_tests::FaultyIdentity::new(i);
            faulty.refuse_passwords.store(true, std::sync::atomic::Ordering::SeqCst);
            Arc::new(faulty) as Arc<dyn portico_core::identity::Identity>
        })),
        ..Default::default()
    };
    let app = TestApp::spawn_with(Backend::Sqlite, opts).await;
    let email = format!("unlucky-{}@northwind.example.com", uuid::Uuid::new_v4().simple());
    app.add_partner_user(&email).await;
    let token = app.last_token_to(&email).await;
    for attempt in 0..2 {
        let (s, p) = post(
            &app,
            "/password/setup",
            None,
            json!({ "token": token, "password": PASSWORD }),
        )
        .await;
        assert_eq!(
            (s, p["type"].as_str()),
            (503, Some("urn:portico:problem:identity-unavailable")),
            "attempt {attempt}: the link is still good"
        );
    }
    let (s, _) = post(&app, "/session", None, json!({ "email": email, "password": PASSWORD })).await;
    assert_eq!(s, 401, "not activated");

    let cust = format!("unlucky-{}@initech.example.com", uuid::Uuid::new_v4().simple());
    assert_eq!(
        post(
            &app,
            "/invitations/customer",
            Some(app.token(Role::PartnerManager)),
            json!({ "email": cust })
        )
        .await
        .0,
        201
    );
    let token = app.last_token_to(&cust).await;
    let accept =
        json!({ "token": token, "organizationName": "Unlucky Inc", "displayName": "Una", "password": PASSWORD });
    for attempt in 0..2 {
        assert_eq!(
            post(&app, "/invitations/accept", None, accept.clone()).await.0,
            503,
            "attempt {attempt}"
        );
    }
    let (_, list) = call(&app, "GET", "/organizations", Some(app.token(Role::PartnerUser)), None).await;
    assert!(
        !list.to_string().contains("Unlucky Inc"),
        "no organisation was left behind: {list}"
    );
}

/// Wrong codes and lockout run on the local identity (moto accepts any code).
#[tokio::test]
async fn five_wrong_codes_lock_sign_in_for_fifteen_minutes() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let email = format!("locky-{}@northwind.example.com", uuid::Uuid::new_v4().simple());
    app.add_partner_user(&email).await;
    let (_, secret, _) = app.set_up_account(&email).await;
    let (_, step) = post(&app, "/session", None, json!({ "email": email, "password": PASSWORD })).await;
    let good = code_at(&secret, 1);
    let wrong = if good == "000000" { "111111" } else { "000000" };
    for i in 0..4 {
        let (s, p) = post(
            &app,
            "/session/mfa",
            None,
            json!({ "session": step["session"], "code": wrong }),
        )
        .await;
        assert_eq!(
            (s, p["type"].as_str()),
            (401, Some("urn:portico:problem:code-rejected")),
            "attempt {i}"
        );
    }
    let (s, _) = post(
        &app,
        "/session/mfa",
        None,
        json!({ "session": step["session"], "code": wrong }),
    )
    .await;
    assert_eq!(s, 429, "the fifth wrong code locks");
    let (s, _) = post(
        &app,
        "/session/mfa",
        None,
        json!({ "session": step["session"], "code": good }),
    )
    .await;
    assert_eq!(s, 429, "even the right code waits out the lock");
    let (s, _) = post(&app, "/session", None, json!({ "email": email, "password": PASSWORD })).await;
    assert_eq!(s, 429, "and so does the password step");
}
