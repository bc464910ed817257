//! Invitations: a partner's first Partner Manager, a customer; expiry,
//! resending, revoking, and another partner kept out.

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

on_both_backends!(
    platform_invites_a_partner_manager_who_sets_up_and_signs_in,
    partner_invites_a_customer_who_creates_its_organisation,
    links_expire_and_resending_or_revoking_kills_the_old_one,
    another_partners_manager_cannot_touch_these_invitations_or_requests
);
