//! The journeys, one test each, in headless Chromium (see
//! `portico_tests::browser`): what a platform admin, a partner and a
//! customer do, starting from the emailed link. Every page a journey
//! visits is checked with axe-core; the main pages are screenshotted into
//! the reports folder.

use fantoccini::Locator;
use portico_core::domain::Role;
use portico_tests::browser::Browser;
use portico_tests::{Backend, Options, PASSWORD, TestApp, code_at};
use serde_json::json;

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

/// Journey 1: a platform admin invites a partner manager, who opens the
/// emailed link, sets a password, signs in, enrols an authenticator (the
/// secret read from the page, the code computed here), keeps the recovery
/// codes and lands on the (empty) customer list.
async fn invitation_to_customer_list(backend: Backend) {
    let app = app(backend).await;
    let email = "gloria@globex.example.com";
    let (status, body) = app
        .post(
            "/invitations/partner",
            Some(app.token(Role::PlatformAdmin)),
            json!({"organizationName": "Globex Resellers", "email": email, "displayName": "Gloria Manager"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let link = app.links_to(email).await.pop().expect("the invitation's link");
    assert!(link.starts_with(&app.url("/setup-password?token=")), "{link}");

    let mut b = Browser::start().await;
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
    b.finish().await;
}

#[tokio::test]
async fn journey_1_invitation_to_customer_list_embedded() {
    invitation_to_customer_list(Backend::Sqlite).await;
}

#[tokio::test]
async fn journey_1_invitation_to_customer_list_on_dynamodb_and_moto() {
    invitation_to_customer_list(Backend::Dynamo).await;
}
