//! The session registry (issue 10): the API accepts only tokens of a
//! sign-in Portico completed itself, and they stop working at once when the
//! user's sessions are revoked (password set or reset, sign-out, suspension
//! and reinstatement; authenticator resets are in `accounts`).

use aws_sdk_cognitoidentityprovider::types::{AuthFlowType, ChallengeNameType};
use chrono::{Duration, Utc};
use portico_core::clock::Clock;
use portico_core::domain::{Role, User};
use portico_core::inactivity::UserActivity;
use portico_core::store::keys;
use portico_tests::{Backend, PASSWORD, TestApp, code_at};
use serde_json::json;

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}@northwind.example.com", uuid::Uuid::new_v4().simple())
}

async fn status_with(app: &TestApp, token: &str) -> u16 {
    app.get_json("/organizations", token).await.0
}

async fn delete(app: &TestApp, path: &str, token: &str) -> u16 {
    app.http
        .delete(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn user_of(app: &TestApp, email: &str) -> User {
    let login: portico_core::accounts::Login = app
        .deps
        .table
        .get(&keys::login(&portico_core::domain::EmailAddress::parse(email).unwrap()))
        .await
        .unwrap()
        .unwrap()
        .decode()
        .unwrap();
    app.deps
        .table
        .get(&keys::user(login.user_id))
        .await
        .unwrap()
        .unwrap()
        .decode()
        .unwrap()
}

/// moto: signing in to Cognito directly with the pool's app client id (and
/// one TOTP code) yields ID tokens the API refuses, before and after turning
/// TOTP off with the access token, as does the access token itself.
#[tokio::test]
async fn a_direct_cognito_sign_in_yields_no_token_the_api_accepts() {
    let app = TestApp::spawn(Backend::Dynamo).await;
    let email = unique("direct");
    app.add_partner_user(&email).await;
    let (bearer, secret, _) = app.set_up_account(&email).await;
    assert_eq!(status_with(&app, &bearer).await, 200, "Portico's own sign-in works");
    let pool = app.pool.clone().expect("a user pool on moto");
    let username = user_of(&app, &email).await.id.to_string();

    // moto does not enforce the app client's auth flows (Cognito refuses
    // USER_PASSWORD_AUTH for the template's client outright): the registry
    // must refuse what it yields anyway.
    let first = pool
        .client
        .initiate_auth()
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .client_id(&pool.client_id)
        .auth_parameters("USERNAME", &username)
        .auth_parameters("PASSWORD", PASSWORD)
        .send()
        .await
        .expect("direct InitiateAuth on moto");
    assert_eq!(first.challenge_name, Some(ChallengeNameType::SoftwareTokenMfa));
    let answered = pool
        .client
        .respond_to_auth_challenge()
        .client_id(&pool.client_id)
        .challenge_name(ChallengeNameType::SoftwareTokenMfa)
        .session(first.session.unwrap())
        .challenge_responses("USERNAME", &username)
        .challenge_responses("SOFTWARE_TOKEN_MFA_CODE", code_at(&secret, 1))
        .send()
        .await
        .expect("direct challenge answer");
    let direct = answered.authentication_result.unwrap();
    let (s, p) = app
        .get_json("/organizations", direct.id_token.as_deref().unwrap())
        .await;
    assert_eq!(
        (s, p["type"].as_str()),
        (401, Some("urn:portico:problem:unauthenticated")),
        "{p}"
    );
    assert_eq!(
        status_with(&app, direct.access_token.as_deref().unwrap()).await,
        401,
        "an access token is not an ID token"
    );

    // The attack of the review: TOTP off with the access token (a raw call,
    // as the AWS CLI makes it: the Rust SDK leaves `false` flags out, and
    // moto then changes nothing), then a password alone.
    let off = app
        .http
        .post(portico_tests::moto_endpoint())
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", "AWSCognitoIdentityProviderService.SetUserMFAPreference")
        .body(
            json!({
                "AccessToken": direct.access_token.unwrap(),
                "SoftwareTokenMfaSettings": { "Enabled": false, "PreferredMfa": false },
            })
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert!(
        off.status().is_success(),
        "SetUserMFAPreference on moto: {}",
        off.text().await.unwrap()
    );
    let second = pool
        .client
        .initiate_auth()
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .client_id(&pool.client_id)
        .auth_parameters("USERNAME", &username)
        .auth_parameters("PASSWORD", PASSWORD)
        .send()
        .await
        .unwrap();
    assert_eq!(second.challenge_name, None, "no MFA any more at Cognito");
    let password_only = second.authentication_result.unwrap().id_token.unwrap();
    assert_eq!(status_with(&app, &password_only).await, 401);
    assert_eq!(status_with(&app, &bearer).await, 200, "Portico's session is untouched");
}

/// moto: between sign-in steps Cognito's tokens wait server-side sealed
/// under a key only the client's handle gives: the stored item holds no
/// token (the review found access and ID tokens in table items).
#[tokio::test]
async fn no_token_is_stored_between_sign_in_steps() {
    use sha2::Digest;
    let app = TestApp::spawn(Backend::Dynamo).await;
    let email = unique("sealed");
    app.add_partner_user(&email).await;
    let token = app.last_token_to(&email).await;
    let (s, _) = app
        .post("/password/setup", None, json!({ "token": token, "password": PASSWORD }))
        .await;
    assert_eq!(s, 200);
    // Password right, MFA still to enrol: Cognito signed the user in, and
    // the access and ID tokens wait for the enrolment.
    let (s, step) = app
        .post("/session", None, json!({ "email": email, "password": PASSWORD }))
        .await;
    assert_eq!((s, step["step"].as_str()), (200, Some("mfa_setup")), "{step}");
    let handle = step["session"].as_str().unwrap();
    let key = portico_core::store::Key::new(
        format!("IDSESSION#{}", hex::encode(sha2::Sha256::digest(handle.as_bytes()))),
        "IDSESSION",
    );
    let item = app
        .deps
        .table
        .get(&key)
        .await
        .unwrap()
        .expect("the sign-in session is stored");
    let stored = serde_json::to_string(&item).unwrap();
    assert!(!stored.contains("eyJ"), "no JWT in the stored item: {stored}");
    assert!(item.data.get("sealed").is_some(), "{stored}");
    // And the handle still opens it: enrolment goes on.
    let (s, enrol) = app.post("/session/mfa-setup", None, json!({ "session": handle })).await;
    assert_eq!(s, 200, "{enrol}");
}

/// A token from before a password reset gets 401 on the next request; the
/// new password signs in.
async fn a_password_reset_ends_earlier_sessions(b: Backend) {
    let (app, clock) = TestApp::with_clock(b).await;
    let email = unique("reset");
    app.add_partner_user(&email).await;
    let (bearer, secret, _) = app.set_up_account(&email).await;
    assert_eq!(status_with(&app, &bearer).await, 200);
    // The forgotten-password email is rate limited per address: later than the setup email.
    clock.advance(Duration::minutes(3));
    let (s, _) = app.post("/password/forgot", None, json!({ "email": email })).await;
    assert_eq!(s, 202);
    let token = app.last_token_to(&email).await;
    let new_password = "A different long passphrase 9";
    let (s, body) = app
        .post(
            "/password/setup",
            None,
            json!({ "token": token, "password": new_password }),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let (s, p) = app.get_json("/organizations", &bearer).await;
    assert_eq!(
        (s, p["type"].as_str()),
        (401, Some("urn:portico:problem:unauthenticated")),
        "{p}"
    );
    // The new password signs in (and the old one does not).
    let (s, _) = app
        .post("/session", None, json!({ "email": email, "password": PASSWORD }))
        .await;
    assert_eq!(s, 401);
    let (s, step) = app
        .post("/session", None, json!({ "email": email, "password": new_password }))
        .await;
    assert_eq!((s, step["step"].as_str()), (200, Some("mfa")), "{step}");
    let code = portico_core::identity::local::LocalIdentity::code_at(&secret, clock.now())
        .unwrap_or_else(|_| code_at(&secret, 1));
    let (s, done) = app
        .post(
            "/session/mfa",
            None,
            json!({ "session": step["session"], "code": code }),
        )
        .await;
    assert_eq!(s, 200, "{done}");
    assert_eq!(status_with(&app, done["token"].as_str().unwrap()).await, 200);
}

/// `DELETE /session` ends the caller's session at once; `everywhere=true`
/// ends all of the user's sessions; both are in the activity log.
async fn signing_out_ends_sessions_at_once(b: Backend) {
    let (app, clock) = TestApp::with_clock(b).await;
    let email = unique("signout");
    app.add_partner_user(&email).await;
    let (first, secret, _) = app.set_up_account(&email).await;
    // Two more sign-ins (a code works once, so each a step later).
    clock.advance(Duration::seconds(31));
    let second = app.sign_in(&email, &secret, clock.now()).await;
    clock.advance(Duration::seconds(31));
    let third = app.sign_in(&email, &secret, clock.now()).await;
    for t in [&first, &second, &third] {
        assert_eq!(status_with(&app, t).await, 200);
    }
    assert_eq!(delete(&app, "/session", &first).await, 204);
    assert_eq!(status_with(&app, &first).await, 401, "this session ended");
    assert_eq!(delete(&app, "/session", &first).await, 401, "once");
    assert_eq!(status_with(&app, &second).await, 200, "the others go on");
    assert_eq!(delete(&app, "/session?everywhere=true", &second).await, 204);
    assert_eq!(status_with(&app, &second).await, 401);
    assert_eq!(status_with(&app, &third).await, 401, "everywhere");
    clock.advance(Duration::seconds(31));
    let again = app.sign_in(&email, &secret, clock.now()).await;
    assert_eq!(status_with(&app, &again).await, 200, "signing in again works");

    let user = user_of(&app, &email).await;
    let log = app
        .deps
        .table
        .query(&portico_core::store::Query::partition(
            portico_core::store::Index::Primary,
            keys::activity_partition(user.org_id),
        ))
        .await
        .unwrap();
    let sign_outs: Vec<_> = log
        .items
        .iter()
        .filter(|i| i.data["action"] == "Sign Out")
        .map(|i| i.data["description"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        sign_outs,
        vec![format!("{email} signed out"), format!("{email} signed out everywhere")]
    );
}

/// A suspension ends the user's sessions, and reinstatement does not bring
/// them back: the user signs in again.
async fn suspension_and_reinstatement_end_sessions(b: Backend) {
    let app = TestApp::spawn(b).await;
    let email = unique("suspended");
    app.add_partner_user(&email).await;
    let (bearer, _, _) = app.set_up_account(&email).await;
    assert_eq!(status_with(&app, &bearer).await, 200);
    // Their last activity was 22 days ago (written behind Portico's back; the
    // clock stays put so that the session itself has not expired).
    let user = user_of(&app, &email).await;
    let record = app
        .deps
        .table
        .get(&keys::user_activity(user.id))
        .await
        .unwrap()
        .unwrap();
    let stale = UserActivity::fresh(&user, app.deps.clock.now() - Duration::days(22));
    app.deps
        .table
        .transact(vec![stale.write(Some(record.version)).unwrap()])
        .await
        .unwrap();
    let report = portico_core::ops::inactivity::sweep(&app.deps).await.unwrap();
    assert_eq!(report.suspended, 1, "{report:?}");
    let (s, p) = app.get_json("/organizations", &bearer).await;
    assert_eq!(
        (s, p["type"].as_str()),
        (403, Some("urn:portico:problem:account-suspended"))
    );
    let (s, body) = app
        .post(
            &format!("/organizations/{}/users/{}/reinstate", user.org_id, user.id),
            Some(app.token(Role::PlatformAdmin)),
            json!({}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let (s, p) = app.get_json("/organizations", &bearer).await;
    assert_eq!(
        (s, p["type"].as_str()),
        (401, Some("urn:portico:problem:unauthenticated")),
        "the token from before the suspension stays dead: {p}"
    );
}

/// A token with no session, or of a session opened for another user, is refused.
async fn tokens_without_a_live_session_are_refused(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.users[&Role::PlatformAdmin];
    let platform = app.orgs[&Role::PlatformAdmin];
    let kind = portico_core::domain::OrgKind::Platform;
    // Well signed, but Portico never opened its session.
    let unopened = app.local_tokens.issue(admin, platform, kind, 60).unwrap().token;
    assert_eq!(status_with(&app, &unopened).await, 401);
    // A session of the partner user, claimed by a token naming the admin.
    let issued = app.local_tokens.issue(admin, platform, kind, 60).unwrap();
    let puser: User = app
        .deps
        .table
        .get(&keys::user(app.users[&Role::PartnerUser]))
        .await
        .unwrap()
        .unwrap()
        .decode()
        .unwrap();
    let open =
        portico_core::sessions::open(&puser, &issued.session_id, Utc::now(), Utc::now() + Duration::hours(1)).unwrap();
    app.deps.table.transact(vec![open]).await.unwrap();
    assert_eq!(status_with(&app, &issued.token).await, 401);
    // Without a jti at all.
    let now = Utc::now().timestamp();
    let no_jti = app
        .local_tokens
        .sign_claims(&json!({
            "sub": admin.to_string(), "org": platform.to_string(), "kind": "platform",
            "iss": "portico-local", "aud": "portico", "iat": now, "exp": now + 600, "auth_time": now,
        }))
        .unwrap();
    assert_eq!(status_with(&app, &no_jti).await, 401);
    assert_eq!(status_with(&app, app.token(Role::PlatformAdmin)).await, 200);
}

/// Claims Portico never issues: issued in the future, not yet valid, living
/// longer than 12 hours.
async fn tokens_with_impossible_times_are_refused(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.users[&Role::PlatformAdmin];
    let platform = app.orgs[&Role::PlatformAdmin];
    let now = Utc::now().timestamp();
    let user: User = app
        .deps
        .table
        .get(&keys::user(admin))
        .await
        .unwrap()
        .unwrap()
        .decode()
        .unwrap();
    let mut cases = vec![];
    for (what, iat, exp, nbf) in [
        ("fine", now, now + 600, None),
        ("issued in the future", now + 3600, now + 4200, None),
        ("not valid yet", now, now + 7200, Some(now + 3600)),
        ("a 24-hour lifetime", now, now + 24 * 3600, None),
    ] {
        let jti = uuid::Uuid::new_v4().to_string();
        let mut claims = json!({
            "sub": admin.to_string(), "org": platform.to_string(), "kind": "platform",
            "iss": "portico-local", "aud": "portico", "iat": iat, "exp": exp, "auth_time": iat, "jti": jti,
        });
        if let Some(nbf) = nbf {
            claims["nbf"] = json!(nbf);
        }
        let token = app.local_tokens.sign_claims(&claims).unwrap();
        let open = portico_core::sessions::open(&user, &jti, Utc::now(), Utc::now() + Duration::days(2)).unwrap();
        app.deps.table.transact(vec![open]).await.unwrap();
        cases.push((what, status_with(&app, &token).await));
    }
    assert_eq!(
        cases,
        vec![
            ("fine", 200),
            ("issued in the future", 401),
            ("not valid yet", 401),
            ("a 24-hour lifetime", 401)
        ]
    );
}

macro_rules! on_backend {
    ($name:ident, $backend:expr) => {
        mod $name {
            #[tokio::test]
            async fn a_password_reset_ends_earlier_sessions() {
                super::a_password_reset_ends_earlier_sessions($backend).await
            }
            #[tokio::test]
            async fn signing_out_ends_sessions_at_once() {
                super::signing_out_ends_sessions_at_once($backend).await
            }
            #[tokio::test]
            async fn suspension_and_reinstatement_end_sessions() {
                super::suspension_and_reinstatement_end_sessions($backend).await
            }
            #[tokio::test]
            async fn tokens_without_a_live_session_are_refused() {
                super::tokens_without_a_live_session_are_refused($backend).await
            }
            #[tokio::test]
            async fn tokens_with_impossible_times_are_refused() {
                super::tokens_with_impossible_times_are_refused($backend).await
            }
        }
    };
}

on_backend!(embedded_sqlite, portico_tests::Backend::Sqlite);
on_backend!(aws_on_emulators, portico_tests::Backend::Dynamo);
