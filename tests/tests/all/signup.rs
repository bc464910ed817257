//! Seed 002's self-registration (issue 16), on both backends: the
//! templates, the signup link and its organisation key, the emailed link,
//! the copy, abuse controls, moderation and the portal texts.

use std::sync::Arc;

use portico_core::clock::ManualClock;
use portico_core::domain::Role;
use portico_tests::{Backend, Options, PASSWORD, TestApp, code_at};
use serde_json::{Value, json};

/// The platform's setup of seed 002 Steps 2 to 6: a Model Organization
/// (User-Management and Drivers on, 7 seats, a trusted network), its Model
/// User, self-registration allowed, an initiation text, the signup link.
/// Returns (model organisation id, signup link id, link URL).
pub async fn set_up_self_registration(app: &TestApp, run: &str, moderated: bool) -> (String, String, String) {
    let admin = app.token(Role::PlatformAdmin);
    let (s, model) = app
        .post(
            "/organizations",
            Some(admin),
            json!({ "name": format!("Model Partners {run}"), "kind": "partner", "template": true }),
        )
        .await;
    assert_eq!((s, &model["template"]), (201, &json!(true)), "{model}");
    let model_id = model["id"].as_str().unwrap().to_string();
    let (s, org) = app
        .put(
            &format!("/organizations/{model_id}/capabilities"),
            admin,
            json!({ "capabilities": { "selfManagement": true, "userManagement": true, "roles": true, "drivers": true, "classifiers": false }, "version": model["version"] }),
        )
        .await;
    assert_eq!(s, 200, "{org}");
    let (s, _) = app
        .put(
            &format!("/organizations/{model_id}/trusted-ranges"),
            admin,
            json!({ "ranges": ["198.51.100.0/24"], "version": org["version"] }),
        )
        .await;
    assert_eq!(s, 200);
    let (s, seats) = app
        .put(
            &format!("/organizations/{model_id}/seats"),
            admin,
            json!({ "allocation": { "kind": "allocated", "seats": 7 } }),
        )
        .await;
    assert_eq!(s, 200, "{seats}");
    let (s, user) = app
        .post(
            &format!("/organizations/{model_id}/users"),
            Some(admin),
            json!({ "email": format!("model-{run}@portico.example.com"), "displayName": "Model Manager", "role": "partner_manager" }),
        )
        .await;
    assert_eq!(
        (s, &user["emailed"]),
        (201, &json!(false)),
        "a template user gets no link: {user}"
    );
    let (_, config) = app.get_json("/partner-portal", admin).await;
    let mut config = config;
    config["allowExternalCreation"] = json!(true);
    config["modelUser"] = user["user"]["id"].clone();
    config["moderated"] = json!(moderated);
    let (s, saved) = app.put("/partner-portal", admin, config).await;
    assert_eq!(s, 200, "{saved}");
    assert_eq!(saved["modelOrganization"], json!(model_id), "{saved}");
    let (_, texts) = app.get_json("/portal-texts", admin).await;
    let (s, text) = app
        .put(
            "/portal-texts/initiation",
            admin,
            json!({ "html": "<p>Welcome, partner! <script>alert(1)</script><a href=\"https://help.example.com\" onclick=\"steal()\">Read the guide</a></p>", "version": texts["initiation"]["version"] }),
        )
        .await;
    assert_eq!(s, 200, "{text}");
    let (s, link) = app.post("/partner-portal/signup-link", Some(admin), json!({})).await;
    assert_eq!(s, 201, "{link}");
    let url = link["url"].as_str().unwrap().to_string();
    assert!(url.contains("/signup?link="), "{url}");
    (model_id, link["link"]["id"].as_str().unwrap().to_string(), url)
}

fn sent_answer() -> Value {
    json!({ "next": "Check your email: the link in it (valid 60 minutes) creates your organisation." })
}

async fn sign_up(app: &TestApp, link: &str, email: &str, org: &str, key: Option<&str>) -> (u16, Value) {
    let mut body = json!({ "email": email, "organizationName": org, "displayName": "Sigrid Signup" });
    if let Some(k) = key {
        body["key"] = json!(k);
    }
    app.post(&format!("/signup-links/{link}/signups"), None, body).await
}

/// Signs up `email` and uses the emailed link; answers /signup/complete's answer.
async fn sign_up_all_the_way(app: &TestApp, link: &str, email: &str, org: &str, key: Option<&str>) -> (u16, Value) {
    let (s, sent) = sign_up(app, link, email, org, key).await;
    assert_eq!(s, 202, "{sent}");
    let token = app.last_token_to(email).await;
    app.post(
        "/signup/complete",
        None,
        json!({ "token": token, "password": PASSWORD }),
    )
    .await
}

/// Password, then the authenticator: MFA is enforced at the first sign-in.
async fn first_sign_in(app: &TestApp, email: &str) -> String {
    let (s, step) = app
        .post("/session", None, json!({ "email": email, "password": PASSWORD }))
        .await;
    assert_eq!(
        (s, step["step"].as_str()),
        (200, Some("mfa_setup")),
        "MFA is enforced: {step}"
    );
    let (s, enrol) = app
        .post("/session/mfa-setup", None, json!({ "session": step["session"] }))
        .await;
    assert_eq!(s, 200, "{enrol}");
    let secret = enrol["secret"].as_str().unwrap().to_string();
    let (s, done) = app
        .post(
            "/session/mfa-setup/confirm",
            None,
            json!({ "session": enrol["session"], "code": code_at(&secret, 0) }),
        )
        .await;
    assert_eq!(s, 200, "{done}");
    done["token"].as_str().unwrap().to_string()
}

async fn the_whole_signup_from_the_templates(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.token(Role::PlatformAdmin);
    let run = uuid::Uuid::new_v4().simple().to_string();
    let (model, link, _) = set_up_self_registration(&app, &run, false).await;

    // The page: the initiation text, sanitised.
    let (s, page) = app.get_json(&format!("/signup-links/{link}"), admin).await;
    assert_eq!(s, 200, "{page}");
    let html = page["initiationHtml"].as_str().unwrap();
    assert!(
        html.contains("Welcome, partner!") && html.contains("Read the guide"),
        "{html}"
    );
    assert!(
        !html.contains("<script") && !html.contains("onclick") && !html.contains("steal"),
        "{html}"
    );

    // An address that has an account hears the same, and is sent nothing.
    let northwind = app.orgs[&Role::PartnerManager];
    let (_, users) = app.get_json(&format!("/organizations/{northwind}/users"), admin).await;
    let taken = users["items"][0]["email"].as_str().unwrap().to_string();
    let before = app.links_to(&taken).await.len();
    let (s, same) = sign_up(&app, &link, &taken, &format!("Taken {run}"), None).await;
    assert_eq!((s, &same), (202, &sent_answer()), "{same}");
    assert_eq!(app.links_to(&taken).await.len(), before);

    // The request creates nothing but the emailed link.
    let email = format!("sigrid-{run}@globex.example.com");
    let name = format!("Globex Signup {run}");
    let (s, sent) = sign_up(&app, &link, &email, &name, None).await;
    assert_eq!((s, &sent), (202, &sent_answer()), "{sent}");
    let (_, partners) = app.get_json("/organizations?kind=partner&limit=100", admin).await;
    assert!(!partners.to_string().contains(&name), "nothing exists yet: {partners}");
    let (s, _) = app
        .post("/session", None, json!({ "email": email, "password": PASSWORD }))
        .await;
    assert_eq!(s, 401, "no account yet");
    let token = app.last_token_to(&email).await;
    let (s, done) = app
        .post(
            "/signup/complete",
            None,
            json!({ "token": token, "password": PASSWORD }),
        )
        .await;
    assert_eq!((s, &done["awaitingApproval"]), (201, &json!(false)), "{done}");
    let org = done["organization"].clone();
    let org_id = org["id"].as_str().unwrap().to_string();
    assert_eq!(org["name"], json!(name));
    assert_eq!(org["capabilities"]["userManagement"], json!(true), "copied: {org}");
    assert_eq!(org["capabilities"]["drivers"], json!(true), "copied: {org}");
    assert_eq!(org["trustedRanges"], json!(["198.51.100.0/24"]), "copied: {org}");
    assert!(org.get("template").is_none(), "a live organisation: {org}");
    let (s, again) = app
        .post(
            "/signup/complete",
            None,
            json!({ "token": token, "password": PASSWORD }),
        )
        .await;
    assert_eq!(s, 410, "single use: {again}");

    // Signed in (MFA enrolled first), with the template's seats, managing users itself.
    let manager = first_sign_in(&app, &email).await;
    let (s, seats) = app.get_json(&format!("/organizations/{org_id}/seats"), &manager).await;
    assert_eq!(
        (s, &seats["described"], &seats["used"]),
        (200, &json!("Allocated: 7 seats"), &json!(1)),
        "{seats}"
    );
    let (s, added) = app
        .post(
            &format!("/organizations/{org_id}/users"),
            Some(&manager),
            json!({ "email": format!("colleague-{run}@globex.example.com"), "displayName": "Colleague", "role": "partner_user" }),
        )
        .await;
    assert_eq!(s, 201, "User-Management was copied: {added}");

    // A template change later leaves the organisation as it was made.
    let (_, m) = app.get_json(&format!("/organizations/{model}"), admin).await;
    let (s, _) = app
        .put(
            &format!("/organizations/{model}/capabilities"),
            admin,
            json!({ "capabilities": { "selfManagement": false, "userManagement": false, "roles": false, "drivers": false, "classifiers": false }, "version": m["version"] }),
        )
        .await;
    assert_eq!(s, 200);
    let (s, _) = app
        .put(
            &format!("/organizations/{model}/seats"),
            admin,
            json!({ "allocation": { "kind": "allocated", "seats": 2 } }),
        )
        .await;
    assert_eq!(s, 200);
    let (_, now) = app.get_json(&format!("/organizations/{org_id}"), admin).await;
    assert_eq!(now["capabilities"], org["capabilities"], "{now}");
    let (_, seats) = app.get_json(&format!("/organizations/{org_id}/seats"), admin).await;
    assert_eq!(seats["described"], json!("Allocated: 7 seats"), "{seats}");
    // The template itself is never signed in to.
    let (s, p) = app
        .post(
            "/session",
            None,
            json!({ "email": format!("model-{run}@portico.example.com"), "password": PASSWORD }),
        )
        .await;
    assert_eq!(s, 401, "{p}");
    let model_email = format!("model-{run}@portico.example.com");
    let (s, _) = app
        .post("/password/forgot", None, json!({ "email": model_email }))
        .await;
    assert_eq!(s, 202);
    assert!(
        app.links_to(&model_email).await.is_empty(),
        "no password link for a Model User"
    );

    // The Model User cannot be removed while self-registration copies it.
    let (_, model_users) = app.get_json(&format!("/organizations/{model}/users"), admin).await;
    let model_user = model_users["items"][0]["id"].as_str().unwrap();
    let r = app
        .http
        .delete(app.url(&format!("/organizations/{model}/users/{model_user}")))
        .bearer_auth(admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);

    // Each step is an event.
    let (_, log) = app
        .get_json(&format!("/organizations/{org_id}/activity?limit=50"), admin)
        .await;
    assert!(log.to_string().contains("signed up and created partner"), "{log}");
    let (_, log) = app
        .get_json(&format!("/organizations/{model}/activity?limit=50"), admin)
        .await;
    assert!(log.to_string().contains(&format!("Sign-up asked for {email}")), "{log}");
}

async fn the_organisation_key_and_the_link(b: Backend) {
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let app = TestApp::spawn_with(
        b,
        Options {
            clock: clock.clone(),
            ..Default::default()
        },
    )
    .await;
    let admin = app.token(Role::PlatformAdmin);
    let northwind = app.orgs[&Role::PartnerManager];
    let run = uuid::Uuid::new_v4().simple().to_string();
    let (_, link, _) = set_up_self_registration(&app, &run, false).await;

    // A key naming Northwind as the group: the new organisation goes under it.
    let (s, made) = app
        .post(
            &format!("/organizations/{northwind}/signup-key"),
            Some(admin),
            json!({ "expiresInDays": 2 }),
        )
        .await;
    assert_eq!(s, 201, "{made}");
    let key = made["key"].as_str().unwrap().to_string();
    assert!(key.starts_with("v4.local."), "PASETO v4.local: {key}");
    assert!(!key.contains(&northwind.to_string()), "opaque");
    assert!(
        made["url"].as_str().unwrap().ends_with(&format!("&key={key}")),
        "{made}"
    );
    let (s, page) = app.get_json(&format!("/signup-links/{link}?key={key}"), admin).await;
    assert_eq!((s, &page["parent"]), (200, &json!(northwind)), "{page}");
    let email = format!("keyed-{run}@globex.example.com");
    let (s, done) = sign_up_all_the_way(&app, &link, &email, &format!("Keyed {run}"), Some(&key)).await;
    assert_eq!(s, 201, "{done}");
    assert_eq!(done["organization"]["parent"], json!(northwind), "{done}");

    // A changed, truncated or made-up key: refused, saying no more.
    let mut changed = key.clone().into_bytes();
    let mid = changed.len() / 2;
    changed[mid] = if changed[mid] == b'A' { b'B' } else { b'A' };
    let changed = String::from_utf8(changed).unwrap();
    let truncated = key[..key.len() - 5].to_string();
    let made_up =
        "v4.local.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
            .to_string();
    for bad in [changed, truncated, made_up] {
        let (s, p) = sign_up(
            &app,
            &link,
            &format!("bad-{run}@globex.example.com"),
            "Bad Key Ltd",
            Some(&bad),
        )
        .await;
        assert_eq!(
            (s, p["detail"].as_str()),
            (400, Some("The organisation key in this link is not valid.")),
            "{bad}: {p}"
        );
    }
    // Past its end: refused the same.
    clock.advance(chrono::Duration::days(3));
    let (s, p) = sign_up(
        &app,
        &link,
        &format!("late-{run}@globex.example.com"),
        "Late Key Ltd",
        Some(&key),
    )
    .await;
    assert_eq!(s, 400, "{p}");

    // The emailed link: 60 minutes, then gone.
    let email = format!("slow-{run}@globex.example.com");
    let (s, _) = sign_up(&app, &link, &email, &format!("Slow {run}"), None).await;
    assert_eq!(s, 202);
    let token = app.last_token_to(&email).await;
    clock.advance(chrono::Duration::minutes(61));
    let (s, p) = app
        .post(
            "/signup/complete",
            None,
            json!({ "token": token, "password": PASSWORD }),
        )
        .await;
    assert_eq!(s, 410, "expired: {p}");

    // Rotating the link kills the old one, its keys, and the sign-ups asked through it.
    let email = format!("pending-{run}@globex.example.com");
    let (s, _) = sign_up(&app, &link, &email, &format!("Pending {run}"), None).await;
    assert_eq!(s, 202);
    let pending = app.last_token_to(&email).await;
    let (s, rotated) = app.post("/partner-portal/signup-link", Some(admin), json!({})).await;
    assert_eq!(s, 201, "{rotated}");
    let (s, p) = app
        .post(
            "/signup/complete",
            None,
            json!({ "token": pending, "password": PASSWORD }),
        )
        .await;
    assert_eq!(s, 404, "asked through the replaced link: {p}");
    let fresh_link = rotated["link"]["id"].as_str().unwrap();
    let (s, p) = app
        .get_json(&format!("/signup-links/{fresh_link}?key={key}"), admin)
        .await;
    assert_eq!(s, 400, "the old link's key: {p}");
    let (s, _) = app.get_json(&format!("/signup-links/{link}"), admin).await;
    assert_eq!(s, 404);
    let (s, _) = sign_up(
        &app,
        &link,
        &format!("old-{run}@globex.example.com"),
        "Old Link Ltd",
        None,
    )
    .await;
    assert_eq!(s, 404);
    let fresh = rotated["link"]["id"].as_str().unwrap();
    let (s, _) = app.get_json(&format!("/signup-links/{fresh}"), admin).await;
    assert_eq!(s, 200);
}

async fn abuse_controls(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.token(Role::PlatformAdmin);
    let run = uuid::Uuid::new_v4().simple().to_string();
    let (_, _, _) = set_up_self_registration(&app, &run, false).await;
    let (s, made) = app
        .post(
            "/partner-portal/signup-link",
            Some(admin),
            json!({ "deniedDomains": ["blocked.example.com"] }),
        )
        .await;
    assert_eq!(s, 201, "{made}");
    let link = made["link"]["id"].as_str().unwrap().to_string();
    // A disposable domain, a denied one: refused with a reason.
    let (s, p) = sign_up(&app, &link, &format!("x-{run}@mailinator.com"), "Throwaway Ltd", None).await;
    assert_eq!(s, 400, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("disposable"), "{p}");
    let (s, p) = sign_up(
        &app,
        &link,
        &format!("x-{run}@sub.blocked.example.com"),
        "Blocked Ltd",
        None,
    )
    .await;
    assert_eq!(s, 400, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("blocked.example.com"), "{p}");
    // Per address: three emails an hour, then the same answer and no email.
    let email = format!("often-{run}@globex.example.com");
    for _ in 0..4 {
        let (s, _) = sign_up(&app, &link, &email, &format!("Often {run}"), None).await;
        assert_eq!(s, 202);
    }
    assert_eq!(app.links_to(&email).await.len(), 3, "at most 3 links an hour");
    // Per source IP: 5 in 10 minutes (the 4 above, one more), then 429.
    let (s, _) = sign_up(
        &app,
        &link,
        &format!("fifth-{run}@globex.example.com"),
        "Fifth Ltd",
        None,
    )
    .await;
    assert_eq!(s, 202);
    let (s, p) = sign_up(
        &app,
        &link,
        &format!("sixth-{run}@globex.example.com"),
        "Sixth Ltd",
        None,
    )
    .await;
    assert_eq!(s, 429, "{p}");
}

async fn moderation_holds_a_signup(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.token(Role::PlatformAdmin);
    let run = uuid::Uuid::new_v4().simple().to_string();
    let (_, link, _) = set_up_self_registration(&app, &run, true).await;
    let email = format!("held-{run}@globex.example.com");
    let (s, done) = sign_up_all_the_way(&app, &link, &email, &format!("Held {run}"), None).await;
    assert_eq!((s, &done["awaitingApproval"]), (201, &json!(true)), "{done}");
    let org = done["organization"]["id"].as_str().unwrap().to_string();
    let (s, p) = app
        .post("/session", None, json!({ "email": email, "password": PASSWORD }))
        .await;
    assert_eq!(
        (s, p["type"].as_str()),
        (403, Some("urn:portico:problem:awaiting-approval")),
        "{p}"
    );
    let (s, queue) = app.get_json("/signups", admin).await;
    assert_eq!(s, 200);
    assert!(
        queue["items"].as_array().unwrap().iter().any(|o| o["id"] == json!(org)),
        "{queue}"
    );
    let (s, _) = app
        .post(
            &format!("/signups/{org}/decision"),
            Some(app.token(Role::PartnerManager)),
            json!({ "approve": true }),
        )
        .await;
    assert_eq!(s, 404, "a partner does not see another organisation");
    let (s, approved) = app
        .post(
            &format!("/signups/{org}/decision"),
            Some(admin),
            json!({ "approve": true }),
        )
        .await;
    assert_eq!(s, 200, "{approved}");
    let (_, queue) = app.get_json("/signups", admin).await;
    assert!(
        !queue["items"].as_array().unwrap().iter().any(|o| o["id"] == json!(org)),
        "{queue}"
    );
    let _ = first_sign_in(&app, &email).await;
    // Another, rejected: it is gone, and the address may sign up again.
    let email = format!("refused-{run}@globex.example.com");
    let (s, done) = sign_up_all_the_way(&app, &link, &email, &format!("Refused {run}"), None).await;
    assert_eq!(s, 201, "{done}");
    let org = done["organization"]["id"].as_str().unwrap().to_string();
    let (s, _) = app
        .post(
            &format!("/signups/{org}/decision"),
            Some(admin),
            json!({ "approve": false }),
        )
        .await;
    assert_eq!(s, 200);
    let (s, _) = app.get_json(&format!("/organizations/{org}"), admin).await;
    assert_eq!(s, 404);
    let (s, p) = app
        .post("/session", None, json!({ "email": email, "password": PASSWORD }))
        .await;
    assert_eq!(s, 401, "{p}");
}

both_backends!(
    the_whole_signup_from_the_templates,
    the_organisation_key_and_the_link,
    abuse_controls,
    moderation_holds_a_signup
);

/// The README's seed 002 Step 8 walk-through, run as written (bash, curl,
/// python3) on the embedded store, as `cargo run` serves it; then its
/// effect is read back.
#[tokio::test]
async fn the_readme_step_8_walk_through_runs() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let stdout = portico_tests::run_readme_section(&app, "## Self-registration (seed 002)").await;
    // Initrode exists, under Northwind, copied from the template, with Sara and Sam in 2 of 10 seats.
    let admin = app.token(Role::PlatformAdmin);
    let (_, partners) = app.get_json("/organizations?kind=partner&limit=100", admin).await;
    let initrode = partners["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == json!("Initrode Partners"))
        .unwrap_or_else(|| panic!("{partners}"))
        .clone();
    assert_eq!(initrode["parent"], json!(app.orgs[&Role::PartnerManager]), "{initrode}");
    assert_eq!(initrode["capabilities"]["userManagement"], json!(true), "{initrode}");
    let id = initrode["id"].as_str().unwrap();
    let (_, seats) = app.get_json(&format!("/organizations/{id}/seats"), admin).await;
    assert_eq!(
        (&seats["described"], &seats["used"]),
        (&json!("Allocated: 10 seats"), &json!(2)),
        "{seats}"
    );
    assert!(
        stdout.contains("Welcome! Create your partner organisation."),
        "{stdout}"
    );
}
