//! Links and passwords: one winner per link, forgotten passwords, the
//! 24-hour email confirmation, recovery codes, replacing the authenticator,
//! a refused password, and lockout.

use std::sync::Arc;

use chrono::{Duration, Utc};
use portico_core::clock::ManualClock;
use portico_core::domain::Role;
use portico_tests::{Backend, Options, TestApp};
use serde_json::json;

// Upper, lower, digit and symbol: moto applies its default policy when a
// false `Require*` flag is left out of the request, as the SDK does.
use portico_tests::{PASSWORD, code_at};

use super::{call, post};

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

on_both_backends!(
    concurrent_redemptions_of_one_link_have_one_winner(flavor = "multi_thread", worker_threads = 4),
    forgot_password_answers_the_same_and_is_rate_limited,
    partner_users_reconfirm_their_email_every_24_hours_unless_trusted
);
