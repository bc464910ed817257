//! The journeys, one test each, in headless Chromium (see
//! `portico_tests::browser`): what a platform admin, a partner and a
//! customer do, starting from the emailed link. Every page a journey
//! visits is checked with axe-core; the main pages are screenshotted into
//! the reports folder.

use fantoccini::Locator;
use portico_core::domain::Role;
use portico_tests::browser::Browser;
use portico_tests::{Backend, Options, PASSWORD, TestApp, code_at};
use serde_json::{Value, json};

async fn app(backend: Backend) -> TestApp {
    TestApp::spawn_with(
        backend,
        Options {
            serve_public_url: true,
            ..Default::default()
        },
    )
    .await
}

/// The embedded app on a clock the journey moves.
async fn app_with_clock() -> (TestApp, std::sync::Arc<portico_core::clock::ManualClock>) {
    let clock = std::sync::Arc::new(portico_core::clock::ManualClock::new(chrono::Utc::now()));
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        Options {
            serve_public_url: true,
            clock: clock.clone(),
            ..Default::default()
        },
    )
    .await;
    (app, clock)
}

/// Journey 1: a platform admin invites a partner manager, who opens the
/// emailed link, sets a password, signs in, enrols an authenticator (the
/// secret read from the page, the code computed here), keeps the recovery
/// codes and lands on the (empty) customer list.
async fn invitation_to_customer_list(backend: Backend) {
    let app = app(backend).await;
    let email = "gloria@globex.example.com";
    let mut b = Browser::start().await;
    // The admin signs in: on the local portal from its start page; on the
    // AWS adapters (no demo sign-in) with a session opened for them.
    match backend {
        Backend::Sqlite => {
            b.demo_sign_in(&app.base, &app.users[&Role::PlatformAdmin].to_string())
                .await
        }
        Backend::Dynamo => b.adopt_session(&app, Role::PlatformAdmin).await,
    }
    b.goto(&app.url("/admin/organizations")).await;
    b.wait_for_text("Invite a new partner").await;
    b.check_accessibility("organisations (platform admin)").await;
    b.screenshot("organizations").await;
    b.fill("#partner-name", "Globex Resellers").await;
    b.fill("#manager-email", email).await;
    b.fill("#manager-name", "Gloria Manager").await;
    b.click_text("Send the invitation").await;
    b.wait_for_text("Invitation sent").await;
    b.sign_out().await;

    let link = app.links_to(email).await.pop().expect("the invitation's link");
    assert!(link.starts_with(&app.url("/setup-password?token=")), "{link}");
    b.goto(&link).await;
    b.wait_for_text("Set your password").await;
    b.check_accessibility("set password").await;
    b.screenshot("set-password").await;
    b.fill("#password", PASSWORD).await;
    b.fill("#password-again", PASSWORD).await;
    b.click_text("Set password").await;

    b.wait_for_path("/sign-in").await;
    b.wait_for_text("Your password is set").await;
    b.check_accessibility("sign in").await;
    b.screenshot("sign-in").await;
    b.fill("#email", email).await;
    b.fill("#password", PASSWORD).await;
    b.click_text("Continue").await;

    b.wait_for_path("/sign-in/authenticator").await;
    let secret = b
        .client
        .find(Locator::Css("#totp-secret"))
        .await
        .expect("the secret, as text")
        .text()
        .await
        .expect("secret text");
    assert!(b.exists(".qr svg").await, "the QR code is on the page");
    b.check_accessibility("enrol an authenticator").await;
    b.screenshot("enrol-authenticator").await;
    b.fill("#code", &code_at(secret.trim(), 0)).await;
    b.click_text("Confirm").await;

    b.wait_for_text("Keep your recovery codes").await;
    let codes = b
        .client
        .find_all(Locator::Css("#recovery-codes li"))
        .await
        .expect("codes");
    assert_eq!(codes.len(), 10, "ten recovery codes");
    b.check_accessibility("recovery codes").await;
    b.click_text("I have kept them: continue").await;

    b.wait_for_path("/customers").await;
    b.wait_for_text("No customer organisations yet.").await;
    let page = b.text().await;
    assert!(
        page.contains("Gloria Manager") && page.contains("Globex Resellers"),
        "{page}"
    );
    b.check_accessibility("customer list (empty)").await;
    b.finish(&format!("journey 1 (invitation to customer list, {backend:?})"))
        .await;
}

#[tokio::test]
async fn journey_1_invitation_to_customer_list_embedded() {
    invitation_to_customer_list(Backend::Sqlite).await;
}

#[tokio::test]
async fn journey_1_invitation_to_customer_list_on_dynamodb_and_moto() {
    invitation_to_customer_list(Backend::Dynamo).await;
}

/// The settings page's thumb of `key`: its text, and whether it is a button.
async fn thumb(b: &Browser, key: &str) -> (String, bool) {
    let el = b
        .client
        .find(Locator::Css(&format!("[data-setting='{key}']")))
        .await
        .unwrap_or_else(|e| panic!("thumb {key}: {e}"));
    let text = el.text().await.expect("thumb text");
    let tag = el.tag_name().await.expect("tag");
    (text.trim().to_string(), tag == "button")
}

/// Waits until `key`'s thumb says `text`.
async fn wait_thumb(b: &Browser, key: &str, text: &str) {
    for _ in 0..100 {
        if let Ok(el) = b.client.find(Locator::Css(&format!("[data-setting='{key}']"))).await
            && el.text().await.is_ok_and(|t| t.contains(text))
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the thumb of {key} never said {text:?}: {}", b.text().await);
}

/// Journey 2: a partner manager invites a customer, who opens the link and
/// creates the organisation; it appears in the partner's customer list.
#[tokio::test]
async fn journey_2_partner_invites_a_customer() {
    let app = app(Backend::Sqlite).await;
    let manager = app.users[&Role::PartnerManager].to_string();
    let mut b = Browser::start().await;
    b.demo_sign_in(&app.base, &manager).await;
    b.wait_for_path("/customers").await;
    b.check_accessibility("customer list").await;
    b.screenshot("customers").await;
    b.click_text("Invite a customer").await;
    b.wait_for_path("/invite-customer").await;
    b.check_accessibility("invite a customer").await;
    b.click_text("Send the invitation").await;
    b.wait_for_text("There is a problem").await;
    b.check_accessibility("invite a customer, with an error").await;
    let email = "ian@initech.example.com";
    b.fill("#email", email).await;
    b.click_text("Send the invitation").await;
    b.wait_for_text("Invitation sent").await;
    b.sign_out().await;

    let link = app.links_to(email).await.pop().expect("the invitation's link");
    b.goto(&link).await;
    b.wait_for_text("Create your organisation").await;
    b.check_accessibility("accept an invitation").await;
    b.screenshot("accept-invitation").await;
    b.fill("#organization", "Initech").await;
    b.fill("#name", "Ian Owner").await;
    b.fill("#password", PASSWORD).await;
    b.fill("#password-again", PASSWORD).await;
    b.click_text("Create organisation").await;
    b.wait_for_text("Your password is set").await;

    b.demo_sign_in(&app.base, &manager).await;
    b.wait_for_path("/customers").await;
    b.wait_for_text("Initech").await;
    b.click_text("Users").await;
    b.wait_for_path("/team").await;
    b.wait_for_text("Accepted").await;
    b.check_accessibility("users and invitations").await;
    b.finish("journey 2 partner invites a customer").await;
}

/// Journey 3: a partner user toggles a setting (it stays after a reload);
/// a paid add-on's thumb does nothing and says why; a restricted one is
/// read-only until the manager grants it in the Permissions tab, and again
/// after Delete (with a confirmation).
#[tokio::test]
async fn journey_3_settings_and_restricted_permissions() {
    let app = app(Backend::Sqlite).await;
    let (manager, puser) = (
        app.users[&Role::PartnerManager].to_string(),
        app.users[&Role::PartnerUser].to_string(),
    );
    let contoso = app.orgs[&Role::CustomerAccountOwner];
    let settings = app.url(&format!("/customers/{contoso}"));
    let mut b = Browser::start().await;
    b.demo_sign_in(&app.base, &puser).await;
    b.wait_for_path("/customers").await;
    b.click("a[aria-label='Settings of Contoso Ltd']").await;
    b.wait_for_text("Settings of Contoso Ltd").await;
    b.check_accessibility("settings").await;
    b.screenshot("settings").await;
    let (text, button) = thumb(&b, "feed.comments").await;
    assert!(button && text.contains("Enabled"), "{text}");
    b.click("button[data-setting='feed.comments']").await;
    wait_thumb(&b, "feed.comments", "Disabled").await;
    assert_eq!(
        b.current_path().await,
        format!("/customers/{contoso}"),
        "toggled in place"
    );
    b.goto(&settings).await;
    wait_thumb(&b, "feed.comments", "Disabled").await;
    // The Edit dialog: opens over the page, saves, and the page shows it.
    b.click("a[href$='/edit/events.calendar']").await;
    for _ in 0..50 {
        if b.exists("dialog[open] input[value='true']").await {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(b.exists("dialog[open]").await, "the Edit dialog is open");
    b.check_accessibility("settings, Edit dialog").await;
    b.click("dialog[open] input[value='true']").await;
    b.click_text("Save").await;
    wait_thumb(&b, "events.calendar", "Enabled").await;
    assert_eq!(b.current_path().await, format!("/customers/{contoso}"));

    // A paid add-on: not a button, and the reason is shown.
    let (_, button) = thumb(&b, "analytics.advanced").await;
    assert!(!button, "a paid add-on's thumb is not a control");
    let row = b
        .client
        .find(Locator::Css("#setting-analytics\\.advanced"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(row.contains("Paid add-on"), "{row}");
    // A restricted one: read-only, saying why.
    let (_, button) = thumb(&b, "data.export").await;
    assert!(!button);
    let row = b
        .client
        .find(Locator::Css("#setting-data\\.export"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(row.contains("Restricted"), "{row}");
    b.sign_out().await;

    // The manager grants it in the Permissions tab.
    b.demo_sign_in(&app.base, &manager).await;
    b.click_text("Permissions").await;
    b.wait_for_text("For Restricted Settings").await;
    b.check_accessibility("permissions").await;
    b.client
        .find(Locator::Css(&format!("#user option[value='{puser}']")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.client
        .find(Locator::Css("#key option[value='data.export']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.click_text("Grant permission").await;
    b.wait_for_text("Permission granted.").await;
    assert!(b.text().await.contains("Nico User"), "listed by setting");
    b.check_accessibility("permissions, with a grant").await;
    b.screenshot("permissions").await;
    b.sign_out().await;

    b.demo_sign_in(&app.base, &puser).await;
    b.goto(&settings).await;
    let (_, button) = thumb(&b, "data.export").await;
    assert!(button, "granted: the restricted setting is a control now");
    b.click("button[data-setting='data.export']").await;
    wait_thumb(&b, "data.export", "Enabled").await;
    b.sign_out().await;

    // Delete, with a confirmation.
    b.demo_sign_in(&app.base, &manager).await;
    b.goto(&app.url("/permissions?key=data.export")).await;
    b.click("a[aria-label^='Delete the permission of Nico User']").await;
    b.wait_for_text("Delete this permission?").await;
    b.check_accessibility("delete a permission (confirmation)").await;
    b.click_text("Delete permission").await;
    b.wait_for_text("Permission deleted").await;
    b.sign_out().await;
    b.demo_sign_in(&app.base, &puser).await;
    b.goto(&settings).await;
    let (text, button) = thumb(&b, "data.export").await;
    assert!(!button, "read-only again");
    assert!(text.contains("Enabled"), "the value it was left at: {text}");
    b.finish("journey 3 settings and restricted permissions").await;
}

/// Journey 4: two browsers toggle the same setting; the second sees the
/// stale-version message, who changed it, and the current value.
#[tokio::test]
async fn journey_4_two_browsers_toggle_the_same_setting() {
    let app = app(Backend::Sqlite).await;
    let contoso = app.orgs[&Role::CustomerAccountOwner];
    let settings = app.url(&format!("/customers/{contoso}"));
    let mut first = Browser::start().await;
    let mut second = first.second().await;
    first
        .demo_sign_in(&app.base, &app.users[&Role::PartnerUser].to_string())
        .await;
    second
        .demo_sign_in(&app.base, &app.users[&Role::PartnerManager].to_string())
        .await;
    first.goto(&settings).await;
    second.goto(&settings).await;
    wait_thumb(&first, "feed.reactions", "Enabled").await;
    wait_thumb(&second, "feed.reactions", "Enabled").await;
    first.click("button[data-setting='feed.reactions']").await;
    wait_thumb(&first, "feed.reactions", "Disabled").await;
    second.click("button[data-setting='feed.reactions']").await;
    second.wait_for_text("Not changed").await;
    let row = second
        .client
        .find(Locator::Css("#setting-feed\\.reactions"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(row.contains("user@northwind.example.com changed this setting"), "{row}");
    assert!(row.contains("It is now disabled"), "{row}");
    wait_thumb(&second, "feed.reactions", "Disabled").await;
    second.check_accessibility("settings, stale version").await;
    second.screenshot("settings-stale").await;
    second
        .finish("journey 4 two browsers toggle the same setting (second browser)")
        .await;
    first.check_accessibility("settings, after a toggle").await;
    first.finish("journey 4 two browsers toggle the same setting").await;
}

/// Journey 5: the activity log filtered by the partner user's email shows
/// their toggles; the CSV export downloads; Verify says the chain is intact.
#[tokio::test]
async fn journey_5_activity_filter_export_verify() {
    let app = app(Backend::Sqlite).await;
    let contoso = app.orgs[&Role::CustomerAccountOwner];
    let mut b = Browser::start().await;
    b.demo_sign_in(&app.base, &app.users[&Role::PartnerUser].to_string())
        .await;
    b.goto(&app.url(&format!("/customers/{contoso}"))).await;
    b.click("button[data-setting='feed.comments']").await;
    wait_thumb(&b, "feed.comments", "Disabled").await;
    b.click("button[data-setting='people.directory']").await;
    wait_thumb(&b, "people.directory", "Disabled").await;
    b.sign_out().await;

    b.demo_sign_in(&app.base, &app.users[&Role::PartnerManager].to_string())
        .await;
    b.wait_for_path("/customers").await;
    b.click(&format!("a[href='/activity-log?org={contoso}']")).await;
    b.wait_for_text("Activity of Contoso Ltd").await;
    b.fill("#user", "user@northwind.example.com").await;
    b.click_text("Apply filters").await;
    b.wait_for_text("Clear filters").await;
    let rows = b.client.find_all(Locator::Css("#activity tbody tr")).await.unwrap();
    assert_eq!(rows.len(), 2, "the partner user's two toggles: {}", b.text().await);
    let page = b.text().await;
    assert!(
        page.contains("Disabled \"Comments on posts\"") && page.contains("Disabled \"People directory\""),
        "{page}"
    );
    b.check_accessibility("activity log, filtered").await;
    b.screenshot("activity").await;

    b.click_text("Export as CSV").await;
    // Waited for without blocking: the portal answering the download runs on this test's runtime.
    let mut csv = None;
    for _ in 0..100 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        csv = std::fs::read_dir(b.downloads())
            .ok()
            .and_then(|mut dir| dir.find_map(|e| e.ok().filter(|e| e.file_name().to_string_lossy().ends_with(".csv"))))
            .and_then(|e| std::fs::read_to_string(e.path()).ok());
        if csv.is_some() {
            break;
        }
    }
    let csv = csv.expect("the CSV was downloaded");
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("id,at,seq,actorEmail"), "{}", lines[0]);
    assert_eq!(lines.len(), 3, "header and the two filtered rows: {csv}");
    assert!(
        lines[1..].iter().all(|l| l.contains("user@northwind.example.com")),
        "{csv}"
    );

    b.click_text("Verify the chain").await;
    b.wait_for_text("The chain is intact.").await;
    b.check_accessibility("verify").await;
    b.screenshot("verify").await;
    b.finish("journey 5 activity filter export verify").await;
}

/// Journey 6: after signing out, the back button shows no personal page,
/// and the old session cookie gets the sign-in page.
#[tokio::test]
async fn journey_6_sign_out_back_button_and_old_cookie() {
    let app = app(Backend::Sqlite).await;
    let mut b = Browser::start().await;
    b.demo_sign_in(&app.base, &app.users[&Role::PartnerUser].to_string())
        .await;
    b.wait_for_path("/customers").await;
    b.wait_for_text("Contoso Ltd").await;
    let old = portico_tests::browser::cookie(&b.client, "portico")
        .await
        .expect("session cookie");
    assert!(old.starts_with("s."), "a signed-in cookie: {old}");
    b.sign_out().await;
    b.check_accessibility("signed out").await;
    b.client.back().await.expect("back");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let page = b.text().await;
    assert!(
        !page.contains("Contoso Ltd") && !page.contains("Nico User"),
        "the back button showed a personal page: {page}"
    );
    // The old cookie, put back: its session has ended.
    b.goto(&app.url("/sign-in")).await;
    b.client.delete_cookie("portico").await.expect("delete cookie");
    b.client
        .execute(
            &format!("document.cookie = 'portico={old}; path=/; SameSite=Lax'"),
            vec![],
        )
        .await
        .expect("put the old cookie back");
    b.goto(&app.url("/customers")).await;
    b.wait_for_path("/sign-in").await;
    b.wait_for_text("Your session has ended").await;
    assert!(!b.text().await.contains("Contoso Ltd"));
    b.finish("journey 6 sign out back button and old cookie").await;
}

/// A page on another origin (another port of another host name), as a
/// site attacking Portico would serve.
async fn attacker(html: String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(move || {
            let html = html.clone();
            async move { axum::response::Html(html) }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://localhost:{port}/")
}

/// Journey 7: a cross-site post without the CSRF token is refused; a page
/// inside another site's iframe is refused by CSP; a used link says so; an
/// expired one says so and how to get a new one.
#[tokio::test]
async fn journey_7_security() {
    let (app, clock) = app_with_clock().await;
    let contoso = app.orgs[&Role::CustomerAccountOwner];
    let mut b = Browser::start().await;
    b.demo_sign_in(&app.base, &app.users[&Role::PartnerUser].to_string())
        .await;

    // Another site posts the toggle form to Portico, with the user's cookie but no token.
    let evil = attacker(format!(
        "<!doctype html><title>Win a prize</title><form method=post action='{}/customers/{contoso}/toggle/feed.comments'>\
         <input type=hidden name=enabled value=false><input type=hidden name=version value=0>\
         <button type=submit>Claim your prize</button></form>\
         <iframe id=framed src='{}/customers' title=framed></iframe>",
        app.base, app.base
    ))
    .await;
    b.goto(&evil).await;
    // Framed: CSP frame-ancestors 'none' stops the page rendering in the frame.
    let frame = b.client.find(Locator::Css("#framed")).await.unwrap();
    frame.enter_frame().await.expect("enter the frame");
    let framed = b.text().await;
    assert!(
        !framed.contains("Contoso Ltd") && !framed.contains("Customers"),
        "the page rendered in a frame: {framed}"
    );
    b.client.enter_parent_frame().await.unwrap();
    b.click_text("Claim your prize").await;
    b.wait_for_text("sent from another site").await;
    let (_, settings) = app
        .get_json(&format!("/customers/{contoso}/settings"), app.token(Role::PartnerUser))
        .await;
    let comments = settings["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == "feed.comments")
        .unwrap()
        .clone();
    assert_eq!(comments["enabled"], true, "the cross-site post changed nothing");
    b.goto(&app.url("/customers")).await;
    b.sign_out().await;

    // A used link, and an expired one.
    let admin = app.token(Role::PlatformAdmin);
    for (email, org) in [
        ("used@globex.example.com", "Globex"),
        ("late@hooli.example.com", "Hooli"),
    ] {
        let (s, _) = app
            .post(
                "/invitations/partner",
                Some(admin),
                json!({"organizationName": org, "email": email, "displayName": "Someone"}),
            )
            .await;
        assert_eq!(s, 201);
    }
    let used = app.links_to("used@globex.example.com").await.pop().unwrap();
    let token = used.split("token=").nth(1).unwrap();
    let (s, _) = app
        .post("/password/setup", None, json!({"token": token, "password": PASSWORD}))
        .await;
    assert_eq!(s, 200);
    b.goto(&used).await;
    b.wait_for_text("This link was already used").await;
    b.check_accessibility("used link").await;
    let late = app.links_to("late@hooli.example.com").await.pop().unwrap();
    clock.advance(chrono::Duration::days(7) + chrono::Duration::hours(1));
    b.goto(&late).await;
    b.wait_for_text("This link has expired").await;
    assert!(
        b.text().await.contains("send the invitation again"),
        "how to get a new one"
    );
    b.check_accessibility("expired link").await;
    b.screenshot("expired-link").await;
    b.finish("journey 7 security").await;
}

/// Journey 8: a customer's instance. The partner manager opens the
/// customer list: the instance's connection, checked as the page opens,
/// shows verified. On the customer's page a toggle is pending until the
/// delivery reaches the instance, then applied; "Verify now"; the
/// instance moves, and the manager asks for the connection to be
/// recreated; the platform admin recreates it and sees the new secret once.
#[tokio::test]
async fn journey_8_a_customer_instance() {
    let (app, clock) = app_with_clock().await;
    let (instance, base) = portico_tests::reference_instance().await;
    let contoso = app.orgs[&Role::CustomerAccountOwner];
    let (status, reg) = app
        .post(
            &format!("/customers/{contoso}/instances"),
            Some(app.token(Role::PlatformAdmin)),
            json!({ "name": "Contoso production", "url": base }),
        )
        .await;
    assert_eq!(status, 201, "{reg}");
    instance.configure(reference_instance::Setup {
        instance_id: reg["instance"]["id"].as_str().unwrap().into(),
        secret: reg["secret"].as_str().unwrap().into(),
        url: base.clone(),
        profile: portico_core::instances::Profile::Present,
    });
    // Contoso lets its partner in (journey 9 does it on the pages).
    let instance_id = reg["instance"]["id"].as_str().unwrap();
    let (status, body) = app
        .put(
            &format!("/customers/{contoso}/instances/{instance_id}/access"),
            app.token(Role::CustomerAccountOwner),
            json!({ "mode": "standing" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let manager = app.users[&Role::PartnerManager].to_string();
    let mut b = Browser::start().await;
    b.demo_sign_in(&app.base, &manager).await;
    b.wait_for_path("/customers").await;
    // Never checked: the list checks it before it answers.
    b.wait_for_text("✓ Verified Contoso production").await;
    b.check_accessibility("customer list with connections").await;
    b.screenshot("customers").await;

    b.click("a[aria-label='Settings of Contoso Ltd']").await;
    b.wait_for_text("Settings of Contoso Ltd").await;
    b.wait_for_text("Applied").await;
    b.click("button[data-setting='feed.comments']").await;
    wait_thumb(&b, "feed.comments", "Disabled").await;
    b.goto(&app.url(&format!("/customers/{contoso}"))).await;
    b.wait_for_text("Pending since").await;
    b.check_accessibility("settings with an instance, a change pending")
        .await;
    let report = portico_core::jobs::run(&app.deps, portico_core::jobs::Job::DeliverChanges)
        .await
        .unwrap();
    assert_eq!(report.deliveries.unwrap().acknowledged, 1);
    assert!(!instance.applied().settings["feed.comments"]);
    b.goto(&app.url(&format!("/customers/{contoso}"))).await;
    b.wait_for_text("Applied (acknowledged").await;
    b.screenshot("settings-instance").await;

    // It moved: checked now, the connection is broken; the manager asks for a new one.
    instance.update(|s| s.url = "https://moved.contoso.example.com".into());
    // (A check within the last 10 s is not repeated.)
    clock.advance(chrono::Duration::minutes(1));
    b.click_text("Verify now Contoso production").await;
    b.wait_for_text("Checked now").await;
    b.wait_for_text("✗ Broken").await;
    b.click_text("Ask to recreate the connection to Contoso production")
        .await;
    b.wait_for_text("Ask to recreate the connection to Contoso production")
        .await;
    b.fill("#new_url", "not a url").await;
    b.click_text("Send the request").await;
    b.wait_for_text("There is a problem").await;
    b.check_accessibility("ask to recreate, with an error").await;
    b.screenshot("recreate-request-error").await;
    b.fill("#new_url", &base).await;
    b.fill("#note", "The instance moved during the upgrade.").await;
    b.click_text("Send the request").await;
    b.wait_for_text("went to the platform's admins").await;
    b.sign_out().await;

    let admin = app.users[&Role::PlatformAdmin].to_string();
    b.demo_sign_in(&app.base, &admin).await;
    b.goto(&app.url("/admin/requests")).await;
    b.wait_for_text("Connections to recreate").await;
    b.wait_for_text("The instance moved during the upgrade.").await;
    b.check_accessibility("requests with a connection to recreate").await;
    b.screenshot("requests-recreate").await;
    b.click_text("Recreate the connection to Contoso production").await;
    b.wait_for_text("is shown this once").await;
    b.check_accessibility("a recreated connection").await;
    b.screenshot("recreated").await;
    let secret = b.text().await;
    assert!(secret.contains("pcs_"), "{secret}");
    b.finish("journey 8 a customer instance").await;
}

/// Journey 9: LogMeIn, on both backends. Contoso lets its partner into one
/// instance and approves each sign-in to another. A partner user signs in
/// with their password and authenticator code; their customer list has
/// LogMeIn enabled for the first (clicked: the browser carries the
/// assertion to the instance, which opens a Partner Support session with
/// the banner naming them) and disabled for the second, its reason as the
/// tooltip, with "Ask for access": the form (a reason, how long) sends the
/// request.
async fn log_me_in(backend: Backend) {
    let app = app(backend).await;
    let contoso = app.orgs[&Role::CustomerAccountOwner];
    let mut instances = Vec::new();
    for (name, mode) in [("Contoso production", "standing"), ("Contoso staging", "ask")] {
        instances.push(app.verified_instance(contoso, name, mode).await);
    }
    // A partner user with an authenticator signs in: password, then code.
    let email = format!("pat-{}@northwind.example.com", uuid::Uuid::new_v4().simple());
    app.add_partner_user(&email).await;
    let (_, secret, _) = app.set_up_account(&email).await;
    let mut b = Browser::start().await;
    sign_in_with_code(&b, &app, &email, &code_at(&secret, 1)).await;
    b.wait_for_text("LogMeIn").await;
    b.check_accessibility("customer list with LogMeIn").await;
    b.screenshot("logmein-customers").await;
    // Staging asks first: the button is disabled and says why.
    let staging = b
        .client
        .find(fantoccini::Locator::Css("button[data-instance='Contoso staging']"))
        .await
        .expect("the staging button");
    assert_eq!(staging.attr("disabled").await.unwrap().as_deref(), Some("true"));
    let tip = b
        .client
        .find(fantoccini::Locator::XPath(
            "//button[@data-instance='Contoso staging']/parent::span",
        ))
        .await
        .unwrap()
        .attr("title")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(tip.contains("approves each partner access"), "{tip}");

    // Production: clicked, the instance opens a session as Partner Support.
    b.click("button[data-instance='Contoso production']").await;
    b.wait_for_text(&format!("Partner Support — acting: {email} (Northwind Partners)"))
        .await;
    let at = b.client.current_url().await.unwrap().to_string();
    assert!(at.starts_with(&instances[0].1), "{at}");
    assert_eq!(instances[0].0.partner_sessions().len(), 1);
    b.screenshot("logmein-instance-banner").await;

    // Staging: ask for access.
    b.goto(&app.url("/customers")).await;
    b.click_text("Ask for access to Contoso staging").await;
    b.wait_for_text("Ask for access to Contoso staging").await;
    b.click_text("Send the request").await;
    b.wait_for_text("There is a problem").await;
    b.check_accessibility("ask for access, with an error").await;
    b.fill("#reason", "Ticket 5120: the staging import stalls").await;
    b.click_text("Send the request").await;
    b.wait_for_text("Your request for access is sent").await;
    b.screenshot("logmein-asked").await;
    let (_, access) = app
        .get_json(
            &format!("/customers/{contoso}/access"),
            app.token(Role::CustomerAccountOwner),
        )
        .await;
    let asked = &access["pendingRequests"][0];
    assert_eq!(asked["userEmail"], email.as_str(), "{access}");
    assert_eq!(asked["reason"], "Ticket 5120: the staging import stalls", "{access}");
    assert_eq!(asked["durationMinutes"], 60, "{access}");

    // Contoso's Account Owner, in a browser of their own: Partner access,
    // the request waiting; approved.
    let mut o = b.second().await;
    o.adopt_session(&app, Role::CustomerAccountOwner).await;
    o.goto(&app.url("/")).await;
    o.click_text("Partner access").await;
    o.wait_for_text("Requests waiting for you").await;
    o.wait_for_text("Ticket 5120: the staging import stalls").await;
    o.check_accessibility("partner access, a request waiting").await;
    o.screenshot("logmein-partner-access").await;
    o.click_text(&format!("Approve {email} for 1 hour")).await;
    o.wait_for_text("Approved: the partner user is emailed").await;
    // Told once a day instead of at each sign-in.
    o.click("input[name='mode'][value='daily_digest']").await;
    o.click_text("Save how you are told").await;
    o.wait_for_text("Saved: you will be told of partner sign-ins as chosen.")
        .await;
    let (_, access) = app
        .get_json(
            &format!("/customers/{contoso}/access"),
            app.token(Role::CustomerAccountOwner),
        )
        .await;
    assert_eq!(access["notices"]["mode"], "daily_digest", "{access}");
    // Who signed in as Partner Support, when and why: the activity filter.
    o.click_text("Activity log").await;
    o.click_text("Partner Support sign-ins").await;
    o.wait_for_text("signed in to \"Contoso production\" as Partner Support")
        .await;
    o.check_accessibility("partner support sign-ins").await;
    o.screenshot("logmein-sign-ins").await;

    // The partner user may now sign in to staging; its assertion carries the reason.
    b.goto(&app.url("/customers")).await;
    b.click("button[data-instance='Contoso staging']").await;
    b.wait_for_text(&format!("Partner Support — acting: {email}")).await;
    let sessions = instances[1].0.partner_sessions();
    assert_eq!(sessions.len(), 1);
    assert_eq!(
        sessions[0].reason.as_deref(),
        Some("Ticket 5120: the staging import stalls")
    );

    // The platform admin: the keys' rotation status.
    o.sign_out().await;
    o.adopt_session(&app, Role::PlatformAdmin).await;
    o.goto(&app.url("/")).await;
    o.click_text("LogMeIn keys").await;
    o.wait_for_text("Current: signs every LogMeIn").await;
    o.check_accessibility("LogMeIn keys").await;
    o.screenshot("logmein-keys").await;
    // The second browser closes first: the first's chromedriver serves both.
    o.finish(&format!("journey 9 customer and platform ({backend:?})"))
        .await;
    b.finish(&format!("journey 9 partner user ({backend:?})")).await;
}

/// Signs `email` in on the pages: password, then the authenticator's `code`.
async fn sign_in_with_code(b: &Browser, app: &TestApp, email: &str, code: &str) {
    b.goto(&app.url("/sign-in")).await;
    b.fill("#email", email).await;
    b.fill("#password", PASSWORD).await;
    b.click_text("Continue").await;
    b.wait_for_path("/sign-in/code").await;
    b.fill("#code", code).await;
    b.click_text("Sign in").await;
    b.wait_for_path("/customers").await;
}

#[tokio::test]
async fn journey_9_log_me_in_embedded() {
    log_me_in(Backend::Sqlite).await
}

#[tokio::test]
async fn journey_9_log_me_in_on_dynamodb_and_moto() {
    log_me_in(Backend::Dynamo).await
}

/// Journey 10: seed 004's Partner Access dialog on the relationships page.
/// Cora (Contoso's Account Owner) sees the default delegation, ticks Phone
/// Manager without an address (refused, the field says why), then with one
/// (saved: its group appears); Nora (Northwind's Partner Manager), in a
/// second browser, sees Contoso's roles, narrows them to the groups'
/// members, and puts Nico in the Phone Manager group and takes him out.
/// Every page is checked with axe-core.
#[tokio::test]
async fn journey_10_partner_access_dialog() {
    let app = app(Backend::Sqlite).await;
    let partner = app.orgs[&Role::PartnerManager];
    let cora = app.users[&Role::CustomerAccountOwner].to_string();
    let nora = app.users[&Role::PartnerManager].to_string();
    let mut b = Browser::start().await;
    b.demo_sign_in(&app.base, &cora).await;
    b.goto(&app.url("/relationships")).await;
    b.wait_for_text("Northwind Partners").await;
    b.wait_for_text("Roles: Decision Maker").await;
    b.wait_for_text("Every user of Northwind Partners holds them.").await;
    b.check_accessibility("relationships, the customer's side").await;

    let form = format!("form[action='/relationships/{partner}']");
    b.click(&format!("{form} input[name='role'][value='phone-manager']"))
        .await;
    b.click(&format!("{form} button[type='submit']")).await;
    b.wait_for_text("notify").await;
    assert!(
        b.exists(&format!("#notify-{partner}[aria-invalid='true']")).await,
        "the field says what is wrong"
    );
    b.check_accessibility("the dialog refused: no address").await;

    b.click(&format!("{form} input[name='role'][value='phone-manager']"))
        .await;
    b.fill(&format!("#notify-{partner}"), "it@northwind.example.com").await;
    b.click(&format!("{form} button[type='submit']")).await;
    b.wait_for_text("Saved: the partner's roles are as shown").await;
    b.wait_for_text("Contoso Ltd Phone Manager").await;
    b.wait_for_text("Roles: Decision Maker, Phone Manager").await;
    b.check_accessibility("the dialog saved").await;
    b.screenshot("relationships-customer").await;
    assert_eq!(app.subjects_to("it@northwind.example.com").await.len() >= 1, true);

    let mut n = b.second().await;
    n.demo_sign_in(&app.base, &nora).await;
    n.goto(&app.url("/relationships")).await;
    n.wait_for_text("Contoso Ltd Phone Manager").await;
    n.check_accessibility("relationships, the partner's side").await;
    n.click_text("Only the groups' members should hold them at Contoso Ltd")
        .await;
    n.wait_for_text("Saved: who of yours holds the customer's roles").await;
    n.wait_for_text("Only the members of each group hold them.").await;
    n.wait_for_text("Let every user hold them again").await;
    n.check_accessibility("narrowed to the groups").await;
    n.screenshot("relationships-partner").await;
    // The Phone Manager group: Nico joins, then leaves.
    n.click_text("Contoso Ltd Phone Manager").await;
    n.wait_for_text("No members yet.").await;
    n.check_accessibility("a group, no members").await;
    let nico = app.users[&Role::PartnerUser];
    n.click(&format!("#user option[value='{nico}']")).await;
    n.click_text("Add to Contoso Ltd Phone Manager").await;
    n.wait_for_text("Added: they hold the role").await;
    assert!(n.exists("button[class='secondary']").await, "a member to remove");
    n.check_accessibility("a group with a member").await;
    n.screenshot("group-members").await;
    n.click_text("Remove user@northwind.example.com").await;
    n.wait_for_text("Removed: they no longer hold the role there.").await;
    // In bulk: ask Contoso and Fabrikam for Phone Manager for 90 days; the
    // same form sent again does nothing twice.
    n.goto(&app.url("/relationships")).await;
    n.wait_for_text("Several customers at once").await;
    // Both customers: Contoso and Fabrikam.
    n.click("input[name='customer']:not(:checked)").await;
    n.click("input[name='customer']:not(:checked)").await;
    n.click("form[action='/relationships/bulk'] input[name='role'][value='phone-manager']")
        .await;
    n.fill("#bulk-term", "90").await;
    n.fill("#bulk-notify", "it@contoso.example.com").await;
    n.click_text("Send to the customers ticked").await;
    n.wait_for_text("Asked for roles: 2 done, 0 not").await;
    n.check_accessibility("bulk results").await;
    n.screenshot("bulk-results").await;
    n.back().await;
    n.click_text("Send to the customers ticked").await;
    n.wait_for_text("done already, not again").await;
    // Cora sees the request and approves it.
    b.goto(&app.url("/relationships")).await;
    b.wait_for_text("Waiting for an answer: manager@northwind.example.com asks for Phone Manager for 90 days")
        .await;
    b.check_accessibility("a request waiting").await;
    b.click_text("Approve Northwind Partners's request").await;
    b.wait_for_text("Approved: the partner holds the roles asked for.")
        .await;
    n.finish("journey 10 (the partner's side)").await;
    b.finish("journey 10 (the customer's side)").await;
}

/// Journey 11: the staff list (seed 003). Cora invites Sam as System
/// Administrator, makes Sam a user, is refused stepping down as the only
/// Account Owner (the page says why), and removes Sam. Every page is
/// checked with axe-core.
#[tokio::test]
async fn journey_11_staff_list() {
    let app = app(Backend::Sqlite).await;
    let contoso = app.orgs[&Role::CustomerAccountOwner];
    let cora = app.users[&Role::CustomerAccountOwner];
    let mut b = Browser::start().await;
    b.demo_sign_in(&app.base, &cora.to_string()).await;
    b.click_text("Staff").await;
    b.wait_for_text("Staff of Contoso Ltd").await;
    b.check_accessibility("the staff list").await;
    b.fill("#email", "sam@contoso.example.com").await;
    b.fill("#display_name", "Sam Admin").await;
    b.click("#invite-role option[value='customer_admin']").await;
    b.click_text("Send the invitation").await;
    b.wait_for_text("Invited: they are emailed a link").await;
    b.wait_for_text("sam@contoso.example.com").await;
    b.check_accessibility("the staff list, one invited").await;
    assert_eq!(app.links_to("sam@contoso.example.com").await.len(), 1);

    let (_, staff) = app
        .get_json(
            &format!("/customers/{contoso}/staff"),
            app.token(Role::CustomerAccountOwner),
        )
        .await;
    let sam = staff["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "sam@contoso.example.com")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    b.click(&format!("#role-{sam} option[value='customer_user']")).await;
    b.click_text("Change role of sam@contoso.example.com").await;
    b.wait_for_text("Saved: the new role applies").await;
    // Stepping down as the only active Account Owner: refused, and said.
    b.click(&format!("#role-{cora} option[value='customer_user']")).await;
    b.click_text("Change role of owner@contoso.example.com").await;
    b.wait_for_text("only active Account Owner").await;
    b.check_accessibility("the staff list, a refusal").await;
    b.click_text("Remove sam@contoso.example.com").await;
    b.wait_for_text("Removed: they can no longer sign in.").await;
    b.screenshot("staff").await;
    b.finish("journey 11").await;
}

/// Journey 12 (seed 002 Step 8): the platform's Partner Portal page; a
/// partner opens the signup link, signs up, opens the emailed link, sets a
/// password, signs in (an authenticator is enforced), sees the first-time
/// dialog and dismisses it, finds the help, and sees its seats.
#[tokio::test]
async fn journey_12_self_registration() {
    let app = app(Backend::Sqlite).await;
    let run = uuid::Uuid::new_v4().simple().to_string();
    let (_, link, _) = crate::signup::set_up_self_registration(&app, &run, false).await;
    let admin = app.token(Role::PlatformAdmin);
    for (name, html) in [
        (
            "first-time",
            "<p>Start with <strong>Customers</strong>: invite your first one.</p>",
        ),
        ("help", "<p>Write to partners@portico.example.com.</p>"),
    ] {
        let (_, texts) = app.get_json("/portal-texts", admin).await;
        let key = if name == "first-time" { "firstTime" } else { name };
        let (s, _) = app
            .put(
                &format!("/portal-texts/{name}"),
                admin,
                json!({ "html": html, "version": texts[key]["version"] }),
            )
            .await;
        assert_eq!(s, 200);
    }
    let mut b = Browser::start().await;
    b.demo_sign_in(&app.base, &app.users[&Role::PlatformAdmin].to_string())
        .await;
    b.click_text("Partner Portal").await;
    b.wait_for_text("Switches and settings").await;
    b.wait_for_text(&format!("/signup?link={link}")).await;
    b.check_accessibility("the Partner Portal page").await;
    b.screenshot("partner-portal").await;
    b.sign_out().await;

    // The partner: the link, the form, the email.
    let email = format!("sigrid-{run}@initrode.example.com");
    b.goto(&app.url(&format!("/signup?link={link}"))).await;
    b.wait_for_text("Sign up your organisation").await;
    b.wait_for_text("Welcome, partner!").await;
    b.check_accessibility("sign up").await;
    b.screenshot("signup").await;
    b.fill("#email", &email).await;
    b.fill("#organization", &format!("Initrode {run}")).await;
    b.fill("#name", "Sigrid Signup").await;
    b.click_text("Email me the link").await;
    b.wait_for_text("Check your email").await;
    b.check_accessibility("check your email").await;
    let link = app.links_to(&email).await.pop().expect("the signup link");
    assert!(link.starts_with(&app.url("/finish-signup?token=")), "{link}");
    b.goto(&link).await;
    b.wait_for_text("Finish signing up").await;
    b.check_accessibility("finish signing up").await;
    b.screenshot("finish-signup").await;
    b.fill("#password", PASSWORD).await;
    b.fill("#password-again", PASSWORD).await;
    b.click_text("Create my organisation").await;

    b.wait_for_path("/sign-in").await;
    b.wait_for_text("Your organisation is created").await;
    b.fill("#email", &email).await;
    b.fill("#password", PASSWORD).await;
    b.click_text("Continue").await;
    b.wait_for_path("/sign-in/authenticator").await;
    let secret = b
        .client
        .find(Locator::Css("#totp-secret"))
        .await
        .expect("the secret")
        .text()
        .await
        .expect("secret text");
    b.fill("#code", &code_at(secret.trim(), 0)).await;
    b.click_text("Confirm").await;
    b.wait_for_text("Keep your recovery codes").await;
    b.click_text("I have kept them: continue").await;

    // The first-time dialog, once.
    b.wait_for_path("/customers").await;
    b.wait_for_text("Welcome to Portico").await;
    b.wait_for_text("invite your first one").await;
    b.check_accessibility("the first-time dialog").await;
    b.screenshot("first-time-dialog").await;
    b.click_text("Got it").await;
    b.wait_for_path("/customers").await;
    assert!(!b.text().await.contains("Welcome to Portico"), "dismissed");
    b.goto(&app.url("/customers")).await;
    assert!(!b.text().await.contains("Welcome to Portico"), "for good");
    // The help link, and the seats copied from the template.
    b.click_text("Help").await;
    b.wait_for_text("partners@portico.example.com").await;
    b.check_accessibility("help").await;
    b.click_text("Users").await;
    b.wait_for_text("Allocated: 7 seats").await;
    b.wait_for_text("6 free").await;
    b.check_accessibility("users and seats").await;
    // User-Management was copied: Sigrid adds a colleague herself, then removes them.
    b.fill("#email", &format!("colleague-{run}@initrode.example.com")).await;
    b.fill("#name", "Colin Colleague").await;
    b.click_text("Add the user").await;
    b.wait_for_text("Added: they are emailed a link").await;
    b.wait_for_text("5 free").await;
    b.screenshot("users-and-seats").await;
    b.click_text(&format!("Remove colleague-{run}@initrode.example.com"))
        .await;
    b.wait_for_text("their seat is free").await;
    b.wait_for_text("6 free").await;
    b.finish("journey 12 (self-registration)").await;
}

/// Journey 13 (issue 17, seed 001): the co-delivery workspace. The
/// platform sees its projects and time to value and adds a participant;
/// a partner user moves a task on, logs time, files a risk, submits the
/// week, claims an expense and keeps their profile current; the supervisor
/// approves both from the queue; the week shows locked.
#[tokio::test]
async fn journey_13_workspace() {
    let app = app(Backend::Sqlite).await;
    let admin = app.token(Role::PlatformAdmin);
    let northwind = app.orgs[&Role::PartnerManager];
    let contoso = app.orgs[&Role::CustomerAccountOwner];
    let nico = app.users[&Role::PartnerUser];
    let call = |m: &'static str, p: String, body: Value| {
        let app = &app;
        async move {
            let (s, v) = app.call(m, &p, Some(admin), Some(body)).await;
            assert!((200..300).contains(&s), "{m} {p}: {s} {v}");
            v
        }
    };
    call(
        "PUT",
        format!("/organizations/{northwind}/seats"),
        json!({ "allocation": { "kind": "allocated", "seats": 20 } }),
    )
    .await;
    call(
        "PUT",
        format!("/organizations/{northwind}/users/{nico}/resource"),
        json!({ "version": 0, "skills": ["Data migration"], "hoursPerWeek": 32,
                "supervisor": app.users[&Role::PlatformAdmin], "schedulable": true }),
    )
    .await;
    let p = call(
        "POST",
        "/projects".into(),
        json!({ "customer": contoso, "name": "Contoso data migration", "phases": ["Discovery", "Migration"],
                "start": "2026-11-02", "budget": { "amount": "48000", "currency": "EUR" },
                "internalNotes": "Fixed price for the partner." }),
    )
    .await;
    let id = p["id"].as_str().unwrap().to_string();
    call(
        "PUT",
        format!("/projects/{id}/members/{nico}"),
        json!({ "phases": [{ "phase": 1, "role": "Consultant", "level": "Delivery Lead" }] }),
    )
    .await;
    let task = call(
        "POST",
        format!("/projects/{id}/phases/1/tasks"),
        json!({ "title": "Map customer fields", "status": "todo", "assignee": nico, "estimate": "16" }),
    )
    .await;
    let task = task["id"].as_str().unwrap().to_string();

    // The platform: its projects, the project with every field, a participant added.
    let mut b = Browser::start().await;
    b.demo_sign_in(&app.base, &app.users[&Role::PlatformAdmin].to_string())
        .await;
    b.click_text("Projects").await;
    b.wait_for_text("Time to value").await;
    b.wait_for_text("Contoso data migration").await;
    b.check_accessibility("the projects").await;
    b.screenshot("workspace-projects").await;
    b.click_text("Contoso data migration").await;
    b.wait_for_text("48000.00 EUR").await;
    b.wait_for_text("Fixed price for the partner.").await;
    b.fill("#member-email", "manager@northwind.example.com").await;
    b.fill("#member-role", "Architect").await;
    b.click("#member-level option[value='Viewer']").await;
    b.click_text("Add them").await;
    b.wait_for_text("Participant added.").await;
    b.wait_for_text("Architect (Viewer)").await;
    b.check_accessibility("the project, as the platform").await;
    b.screenshot("workspace-project-platform").await;
    b.sign_out().await;

    // Nico: his projects (no budget), his task moved on, time, a risk.
    b.demo_sign_in(&app.base, &nico.to_string()).await;
    b.click_text("My projects").await;
    b.wait_for_text("Phase 1: Consultant (Delivery Lead)").await;
    b.check_accessibility("my projects").await;
    b.click_text("Contoso data migration").await;
    b.wait_for_text("Map customer fields").await;
    let text = b.text().await;
    assert!(
        !text.contains("48000") && !text.contains("Fixed price"),
        "hidden from partners: {text}"
    );
    b.click(&format!("#status-{task} option[value='in_progress']")).await;
    b.click_text("Save the status of Map customer fields").await;
    b.wait_for_text("Saved.").await;
    b.fill("#raid-title-input", "Legacy exports truncate long names").await;
    b.click("#raid-severity option[value='high']").await;
    b.click_text("File it").await;
    b.wait_for_text("Legacy exports truncate long names").await;
    b.check_accessibility("the project, as a partner's Delivery Lead").await;
    b.screenshot("workspace-project-partner").await;
    b.fill(&format!("#hours-{task}"), "6.5").await;
    b.click_text("Log time on Map customer fields").await;
    b.wait_for_path("/work/week").await;
    b.wait_for_text("Time logged.").await;
    b.wait_for_text("6.5 h on Map customer fields").await;
    b.check_accessibility("my week").await;
    b.screenshot("workspace-week").await;
    b.click_text("Submit the week to my supervisor").await;
    b.wait_for_text("Submitted to your supervisor.").await;
    b.goto(&app.url("/work/expenses")).await;
    // A typo is said next to the form, which keeps its place.
    b.fill("#amount", "forty-two").await;
    b.fill("#description", "Train to Contoso").await;
    b.click_text("Claim it").await;
    b.wait_for_text("There is a problem").await;
    b.wait_for_text("Enter the amount, e.g. 42.10").await;
    b.check_accessibility("my expenses, with an error").await;
    b.screenshot("workspace-expense-error").await;
    assert_eq!(
        b.attr("#description", "value").await.as_deref(),
        Some("Train to Contoso"),
        "kept"
    );
    b.fill("#amount", "42.10").await;
    b.click_text("Claim it").await;
    b.wait_for_text("Expense claimed").await;
    b.wait_for_text("42.10 EUR").await;
    b.check_accessibility("my expenses").await;
    b.screenshot("workspace-expenses").await;
    b.goto(&app.url("/work/profile")).await;
    b.wait_for_text("Pat Admin (approves your timesheets and expenses)")
        .await;
    b.fill("#skills", "Data migration, SQL").await;
    b.click_text("Save").await;
    b.wait_for_text("Saved.").await;
    b.check_accessibility("my resource profile").await;
    b.screenshot("workspace-profile").await;
    b.sign_out().await;

    // Pat Admin, the supervisor: the queue, both approved.
    b.demo_sign_in(&app.base, &app.users[&Role::PlatformAdmin].to_string())
        .await;
    b.click_text("Approvals").await;
    b.wait_for_text("Timesheet: Nico User").await;
    b.wait_for_text("Expense: Nico User, 42.10 EUR").await;
    b.check_accessibility("approvals").await;
    b.screenshot("workspace-approvals").await;
    b.click("a[href^='/work/people/']").await;
    b.wait_for_text("Nico User's week of").await;
    b.wait_for_text("6.5 h on Map customer fields").await;
    assert!(!b.text().await.contains("Delete"), "read only");
    b.check_accessibility("someone's week, read only").await;
    b.screenshot("workspace-week-read-only").await;
    b.back().await;
    b.wait_for_text("Timesheet: Nico User").await;
    b.click("button[name='decision'][value='approve']").await;
    b.wait_for_text("Approved: it is locked now.").await;
    b.click("button[name='decision'][value='approve']").await;
    b.wait_for_text("Nothing is waiting for you.").await;
    b.sign_out().await;
    b.demo_sign_in(&app.base, &nico.to_string()).await;
    b.click_text("My week").await;
    b.goto(&app.url("/work/week?week=")).await;
    let (_, week) = app
        .get_json(
            &format!("/organizations/{northwind}/users/{nico}/timesheets"),
            app.token(Role::PartnerUser),
        )
        .await;
    let w = week["items"][0]["week"].as_str().unwrap();
    b.goto(&app.url(&format!("/work/week?week={w}"))).await;
    b.wait_for_text("Approved: locked").await;
    b.finish("journey 13 (the co-delivery workspace)").await;
}
