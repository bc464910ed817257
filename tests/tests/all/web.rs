//! The web pages over HTTP (no browser): where they live, their headers,
//! the cookie session (idle and absolute timeouts, revocation), the CSRF
//! and origin checks, and the emailed links' pages. The journeys in a real
//! browser are in `browser.rs`.

use chrono::Duration;
use portico_core::clock::Clock;
use portico_core::domain::Role;
use portico_tests::web::WebClient;
use portico_tests::{Backend, TestApp};
use serde_json::json;

/// An API route's path as API Gateway matches it: `{x}` matches any segment.
fn same_route(a: &str, b: &str) -> bool {
    let (a, b): (Vec<&str>, Vec<&str>) = (a.split('/').collect(), b.split('/').collect());
    a.len() == b.len()
        && a.iter()
            .zip(&b)
            .all(|(x, y)| x == y || x.starts_with('{') || y.starts_with('{'))
}

/// The pages own only paths no API route claims (API Gateway sends those
/// to the `web` function, the default route), and the template routes the
/// default route to `web` with no authorizer.
#[test]
fn no_page_path_is_an_api_route_and_the_default_route_is_the_web_function() {
    let api = crate::openapi::documented_routes();
    for (_, page) in portico_core::web::page_routes() {
        for (_, route) in &api {
            assert!(
                !same_route(page, route),
                "the page {page} and the API route {route} would clash"
            );
        }
    }
    let t = crate::infra::template();
    let web = &t["Resources"]["WebFunction"];
    assert_eq!(web["Metadata"]["BuildProperties"]["Binary"].as_str(), Some("web"));
    let events: Vec<_> = web["Properties"]["Events"].as_mapping().unwrap().values().collect();
    assert_eq!(events.len(), 1, "one event: the default route");
    let p = &events[0]["Properties"];
    assert!(
        p["Path"].is_null() && p["Method"].is_null(),
        "no path and method: the default route"
    );
    assert_eq!(p["Auth"]["Authorizer"].as_str(), Some("NONE"));
}

/// Every listed page answers its methods (not the 404 page or a 405).
#[tokio::test]
async fn every_listed_page_is_served() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let web = WebClient::signed_in(&app, Role::PartnerManager).await;
    let customer = app.orgs[&Role::CustomerAccountOwner];
    for (method, path) in portico_core::web::page_routes() {
        let concrete = path
            .replace("{id}", &customer.to_string())
            .replace("{key}", "feed.comments")
            .replace("{file}", "portico.css")
            .replace("{org}", &customer.to_string())
            .replace("{user}", &app.users[&Role::PartnerUser].to_string());
        let page = if method == http::Method::GET {
            let token = "A".repeat(43);
            let link = ["/setup-password", "/accept-invitation", "/confirm-email"].contains(&path);
            web.get(&if link {
                format!("{concrete}?token={token}")
            } else {
                concrete.clone()
            })
            .await
        } else {
            web.post(&concrete, &[]).await
        };
        assert!(
            !(page.status == 404 && page.body.contains("Page not found")) && page.status != 405 && page.status < 500,
            "{method} {concrete}: {} {}",
            page.status,
            &page.body[..page.body.len().min(300)]
        );
    }
}

/// Every answer carries the CSP and the other headers; personal pages are not cached.
#[tokio::test]
async fn every_page_carries_the_security_headers() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let web = WebClient::signed_in(&app, Role::PartnerUser).await;
    let customer = app.orgs[&Role::CustomerAccountOwner];
    for path in [
        "/",
        "/sign-in",
        "/customers",
        &format!("/customers/{customer}"),
        "/no-such-page",
        "/setup-password?token=x",
    ] {
        let page = web.get(path).await;
        let h = |n: &str| {
            page.headers
                .get(n)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        let csp = h("content-security-policy");
        for part in [
            "default-src 'self'",
            "script-src 'self'",
            "frame-ancestors 'none'",
            "form-action 'self'",
        ] {
            assert!(csp.contains(part), "{path}: CSP {csp}");
        }
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
            "{path}: {csp}"
        );
        assert_eq!(h("referrer-policy"), "no-referrer", "{path}");
        assert_eq!(h("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(h("cache-control"), "no-store", "{path}");
        assert!(h("vary").contains("HX-Request"), "{path}");
        if page.status == 200 {
            assert!(
                !page.body.contains("<script>") && !page.body.contains(" style=\""),
                "{path}: no inline script or style"
            );
        }
    }
    let asset = web.get("/assets/portico.css").await;
    assert_eq!(asset.status, 200);
    assert!(
        asset.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'self'")
    );
}

/// The cookie is opaque, `HttpOnly`, `SameSite=Lax`, and `Secure` with the
/// `__Host-` prefix when the pages are served over HTTPS.
#[tokio::test]
async fn the_cookie_is_host_prefixed_secure_http_only() {
    let app = TestApp::spawn(Backend::Sqlite).await; // PORTICO_PUBLIC_URL https://portal.example.com
    let page = WebClient::new(&app).get("/sign-in").await;
    let set = page.headers["set-cookie"].to_str().unwrap().to_string();
    assert!(set.starts_with("__Host-portico=a."), "{set}");
    for attr in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
        assert!(set.contains(attr), "{attr} in {set}");
    }
    assert!(!set.contains("Domain="), "{set}");
}

/// A state-changing request from another site is refused before anything
/// happens: cross-site fetch metadata, a foreign or missing Origin without
/// it, or a missing or wrong CSRF token.
#[tokio::test]
async fn cross_site_posts_and_missing_csrf_tokens_are_refused() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let customer = app.orgs[&Role::CustomerAccountOwner];
    let web = WebClient::signed_in(&app, Role::PartnerUser).await;
    let path = format!("/customers/{customer}/toggle/feed.comments");
    let csrf = web.csrf();
    let good = [("_csrf", csrf.as_str()), ("enabled", "false"), ("version", "0")];
    let refused = [
        (vec![("sec-fetch-site", "cross-site")], "cross-site fetch metadata"),
        (vec![("sec-fetch-site", "same-site")], "another origin of the same site"),
        (vec![("origin", "https://evil.example")], "a foreign Origin"),
        (vec![("origin", "null")], "an opaque Origin without fetch metadata"),
        (vec![], "no Origin and no fetch metadata"),
    ];
    for (headers, why) in refused {
        let page = web.post_with(&path, &good, &headers).await;
        assert_eq!(page.status, 403, "{why}: {}", page.body);
        assert!(page.body.contains("another site"), "{why}: {}", page.body);
    }
    let no_token = web
        .post_with(
            &path,
            &[("enabled", "false"), ("version", "0")],
            &[("sec-fetch-site", "same-origin")],
        )
        .await;
    assert_eq!(no_token.status, 403);
    assert!(no_token.body.contains("out of date"), "{}", no_token.body);
    let wrong_token = web
        .post_with(
            &path,
            &[
                ("_csrf", "0".repeat(64).as_str()),
                ("enabled", "false"),
                ("version", "0"),
            ],
            &[("origin", "https://portal.example.com")],
        )
        .await;
    assert_eq!(wrong_token.status, 403);
    // Nothing changed so far; the same form from Portico's page works (by Origin too).
    let (_, settings) = app
        .get_json(&format!("/customers/{customer}/settings"), app.token(Role::PartnerUser))
        .await;
    let comments = |s: &serde_json::Value| {
        s["settings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["key"] == "feed.comments")
            .unwrap()["enabled"]
            .clone()
    };
    assert_eq!(comments(&settings), json!(true));
    let ok = web
        .post_with(&path, &good, &[("origin", "https://portal.example.com")])
        .await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    let (_, settings) = app
        .get_json(&format!("/customers/{customer}/settings"), app.token(Role::PartnerUser))
        .await;
    assert_eq!(comments(&settings), json!(false));
}

/// A browser session ends after 30 minutes without a request, and 12 hours
/// after sign-in however busy; requests in between keep it alive.
#[tokio::test]
async fn browser_sessions_end_when_idle_30_minutes_or_after_12_hours() {
    let (app, clock) = TestApp::with_clock(Backend::Sqlite).await;
    let web = WebClient::signed_in(&app, Role::PartnerUser).await;
    assert_eq!(web.get("/customers").await.status, 200);
    // Busy: a request every 20 minutes keeps it for 12 hours, not longer.
    for _ in 0..35 {
        clock.advance(Duration::minutes(20));
        let page = web.get("/customers").await;
        assert_eq!(
            page.status,
            200,
            "at {}: {:?} {}",
            clock.now(),
            page.location(),
            page.body
        );
    }
    clock.advance(Duration::minutes(20)); // 12 h 0 min after sign-in
    let ended = web.get("/customers").await;
    assert_eq!(ended.status, 303);
    assert_eq!(ended.location(), Some("/sign-in?ended=1"));

    let web = WebClient::signed_in(&app, Role::PartnerUser).await;
    clock.advance(Duration::minutes(29));
    assert_eq!(web.get("/customers").await.status, 200);
    clock.advance(Duration::minutes(31));
    let idle = web.get("/customers").await;
    assert_eq!(idle.status, 303, "31 idle minutes end it");
    assert_eq!(idle.location(), Some("/sign-in?ended=1"));
}

/// Signing out ends the session at once: the old cookie gets the sign-in page.
#[tokio::test]
async fn sign_out_ends_the_session_at_once() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let web = WebClient::signed_in(&app, Role::PartnerUser).await;
    let old = web.cookie.lock().unwrap().clone();
    web.get("/customers").await;
    let out = web.post("/sign-out", &[]).await;
    assert_eq!(out.status, 303);
    assert_eq!(out.location(), Some("/sign-in?signed-out=1"));
    assert_ne!(*web.cookie.lock().unwrap(), old, "a new, anonymous cookie");
    *web.cookie.lock().unwrap() = old;
    let again = web.get("/customers").await;
    assert_eq!(again.status, 303);
    assert_eq!(again.location(), Some("/sign-in?ended=1"));
}

/// Revoking a user's sessions (here: suspension's and reinstatement's new
/// generation, as a password or authenticator change does) ends their
/// browser sessions on the next request.
#[tokio::test]
async fn revoking_a_users_sessions_ends_their_browser_sessions() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let web = WebClient::signed_in(&app, Role::PartnerUser).await;
    assert_eq!(web.get("/customers").await.status, 200);
    let revoke = portico_core::sessions::revoke_all(app.users[&Role::PartnerUser]).unwrap();
    app.deps.table.transact(vec![revoke]).await.unwrap();
    let page = web.get("/customers").await;
    assert_eq!(page.status, 303);
    assert_eq!(page.location(), Some("/sign-in?ended=1"));
}

/// Opening a link's page redeems nothing (scanners prefetch links); the
/// form does, once; a used link and an expired one say so, and how to get another.
#[tokio::test]
async fn link_pages_redeem_only_on_the_form_and_say_used_or_expired() {
    let (app, clock) = TestApp::with_clock(Backend::Sqlite).await;
    let email = "gloria@globex.example.com";
    let (status, _) = app
        .post(
            "/invitations/partner",
            Some(app.token(Role::PlatformAdmin)),
            json!({"organizationName": "Globex Resellers", "email": email, "displayName": "Gloria"}),
        )
        .await;
    assert_eq!(status, 201);
    let link = app.links_to(email).await.pop().unwrap();
    let path = link.trim_start_matches("https://portal.example.com");
    let token = path.split("token=").nth(1).unwrap().to_string();
    let web = WebClient::new(&app);
    for _ in 0..3 {
        let page = web.get(path).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("Set your password") && page.body.contains("At least 12 characters"));
    }
    let weak = web
        .post(
            "/setup-password",
            &[("token", &token), ("password", "short"), ("password-again", "short")],
        )
        .await;
    assert_eq!(weak.status, 400);
    assert!(
        weak.body.contains("There is a problem") && weak.body.contains("href=\"#password\""),
        "{}",
        weak.body
    );
    let pw = portico_tests::PASSWORD;
    let set = web
        .post(
            "/setup-password",
            &[("token", &token), ("password", pw), ("password-again", pw)],
        )
        .await;
    assert_eq!(set.status, 303, "{}", set.body);
    assert_eq!(set.location(), Some("/sign-in?password-set=1"));
    let used = web
        .post(
            "/setup-password",
            &[("token", &token), ("password", pw), ("password-again", pw)],
        )
        .await;
    assert_eq!(used.status, 410);
    assert!(used.body.contains("This link was already used"), "{}", used.body);

    // An invitation left 7 days and an hour: expired, with how to get a new one.
    let other = "olga@initech.example.com";
    app.post(
        "/invitations/partner",
        Some(app.token(Role::PlatformAdmin)),
        json!({"organizationName": "Initech Partners", "email": other, "displayName": "Olga"}),
    )
    .await;
    let link = app.links_to(other).await.pop().unwrap();
    let token = link.split("token=").nth(1).unwrap().to_string();
    clock.advance(Duration::days(7) + Duration::hours(1));
    web.get("/setup-password?token=x").await;
    let expired = web
        .post(
            "/setup-password",
            &[("token", &token), ("password", pw), ("password-again", pw)],
        )
        .await;
    assert_eq!(expired.status, 410);
    assert!(
        expired.body.contains("This link has expired") && expired.body.contains("send the invitation again"),
        "{}",
        expired.body
    );
}

/// Answers for what no page is: a form's address asked with GET is an HTML
/// 405, a malformed id in a page's path the HTML "not found"; static files
/// give no cookie (a shared cache must not hand one visitor's id to others);
/// an htmx request's error page replaces the whole page.
#[tokio::test]
async fn odd_requests_get_pages_and_htmx_errors_replace_the_page() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let web = WebClient::new(&app);
    let get_form = web.get("/sign-out").await;
    assert_eq!(get_form.status, 405);
    assert!(
        get_form.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let signed = WebClient::signed_in(&app, Role::PartnerUser).await;
    let bad_id = signed.get("/customers/not-an-id").await;
    assert_eq!(bad_id.status, 404);
    assert!(
        bad_id.body.contains("There is no page at this address"),
        "{}",
        bad_id.body
    );
    let asset = WebClient::new(&app).get("/assets/portico.css").await;
    assert!(
        asset.headers.get("set-cookie").is_none(),
        "no cookie with a public file"
    );
    let customer = app.orgs[&Role::CustomerAccountOwner];
    let stale_form = signed
        .post_with(
            &format!("/customers/{customer}/toggle/feed.comments"),
            &[("_csrf", "0"), ("enabled", "false"), ("version", "0")],
            &[("sec-fetch-site", "same-origin"), ("hx-request", "true")],
        )
        .await;
    assert_eq!(stale_form.status, 403);
    assert_eq!(stale_form.headers["hx-retarget"], "body");
    assert_eq!(stale_form.headers["hx-reswap"], "innerHTML");
}

/// Signing out ends the session even when the account may not act right
/// now (here: a partner user whose daily email confirmation is due).
#[tokio::test]
async fn sign_out_ends_the_session_even_when_the_user_cannot_act() {
    let (app, clock) = TestApp::with_clock(Backend::Sqlite).await;
    clock.advance(Duration::hours(25));
    let web = WebClient::signed_in(&app, Role::PartnerUser).await;
    let cookie = web.cookie.lock().unwrap().clone().unwrap();
    let Some(portico_core::web::visit::Visitor::SignedIn { id, .. }) =
        portico_core::web::visit::Visitor::decode(&cookie)
    else {
        panic!("a signed-in cookie: {cookie}");
    };
    let blocked = web.get("/customers").await;
    assert_eq!(blocked.status, 403, "the email confirmation is due");
    assert!(blocked.body.contains("Confirm your email address"));
    assert!(
        blocked.body.contains("action=\"/sign-out\""),
        "the refusal offers Sign out"
    );
    let out = web.post("/sign-out", &[]).await;
    assert_eq!(out.status, 303);
    assert!(
        app.deps
            .table
            .get(&portico_core::sessions::key(&id))
            .await
            .unwrap()
            .is_none(),
        "the session item is deleted"
    );
}
