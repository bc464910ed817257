//! Users asked for and added, and the MFA policy that applies to them.

use portico_core::domain::Role;
use portico_tests::{Backend, TestApp};
use serde_json::json;

// Upper, lower, digit and symbol: moto applies its default policy when a
// false `Require*` flag is left out of the request, as the SDK does.
use portico_tests::PASSWORD;

use super::{call, post};

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

on_both_backends!(
    partner_requests_a_user_and_the_platform_approves,
    a_customer_decides_whether_its_users_need_mfa
);
