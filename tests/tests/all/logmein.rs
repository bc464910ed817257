//! LogMeIn (issue 14), on both backends (the embedded store with key files;
//! DynamoDB Local with moto's KMS signing): a partner user signs in with
//! MFA, LogMeIn mints an assertion, the reference instance verifies it
//! against the JWKS with `jsonwebtoken` and opens a session with the
//! banner; what the instance refuses; what Portico refuses; the rotation
//! walk; the races; the digest; consent gating settings.

use std::collections::HashSet;

use base64::Engine;
use chrono::Duration;
use portico_core::clock::Clock;
use portico_core::domain::Role;
use portico_core::jobs::{self, Job};
use portico_core::login_keys::{LocalSigner, RingKey, Signer};
use portico_tests::Backend;
use reference_instance::{Instance, Setup};
use serde_json::{Value, json};

use super::instances::World;

/// A verified instance whose customer lets partners in; the partner trusts
/// the loopback range, so clock jumps past a day need no email confirmation.
async fn ready(b: Backend) -> World {
    let w = World::new(b).await;
    prepare(&w).await;
    w
}

async fn prepare(w: &World) {
    w.next_check().await;
    assert_eq!(w.state().await, "verified");
    w.allow_partners().await;
    w.instance.set_issuer(&w.app.deps.settings.public_url);
    trust_loopback(w).await;
}

async fn trust_loopback(w: &World) {
    let partner = w.app.orgs[&Role::PartnerManager];
    let path = format!("/organizations/{partner}/trusted-ranges");
    let manager = w.app.token(Role::PartnerManager);
    let (_, now) = w.app.get_json(&path, manager).await;
    let (status, body) = w
        .app
        .put(
            &path,
            manager,
            json!({ "ranges": ["127.0.0.0/16"], "version": now["version"] }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

fn login_path(w: &World) -> String {
    format!("/customers/{}/instances/{}/login", w.customer, w.id)
}

async fn log_in(w: &World, token: &str) -> (u16, Value) {
    w.app.post(&login_path(w), Some(token), json!({})).await
}

/// LogMeIn as the demo partner user; the form to post.
async fn mint(w: &World) -> Value {
    let (status, form) = log_in(w, w.app.token(Role::PartnerUser)).await;
    assert_eq!(status, 200, "{form}");
    form
}

fn assertion(form: &Value) -> &str {
    form["assertion"].as_str().unwrap()
}

/// The JWS's header and claims, as sent (not verified: the instance does that).
fn parts(jws: &str) -> (Value, Value) {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut it = jws.split('.');
    let mut next = || serde_json::from_slice(&b64.decode(it.next().unwrap()).unwrap()).unwrap();
    (next(), next())
}

/// A refusal's problem type tail and its status.
fn refused(status: u16, body: &Value) -> (u16, String) {
    let t = body["type"].as_str().unwrap_or_default();
    (status, t.rsplit(':').next().unwrap_or_default().to_string())
}

/// The browser's part: the form POST to the instance (no redirects
/// followed); the status and the session cookie, if one was set.
async fn post_form(action: &str, jws: &str) -> (u16, Option<String>) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = client.post(action).form(&[("assertion", jws)]).send().await.unwrap();
    let cookie = resp
        .headers()
        .get("set-cookie")
        .map(|c| c.to_str().unwrap().split(';').next().unwrap().to_string());
    (resp.status().as_u16(), cookie)
}

/// The partner sign-ins in `org`'s log (newest first).
async fn partner_logins(w: &World, org: &str) -> Vec<Value> {
    events(w, org, "Partner%20Login").await
}

/// The events of `action` (URL-encoded) in `org`'s log (newest first).
async fn events(w: &World, org: &str, action: &str) -> Vec<Value> {
    let (status, body) = w
        .app
        .get_json(
            &format!("/organizations/{org}/activity?action={action}&limit=100"),
            w.app.token(Role::PlatformAdmin),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["items"].as_array().unwrap().clone()
}

/// The staged key's id in a `LoginKeys` answer.
pub(crate) fn staged_kid(keys: &Value) -> String {
    keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["state"] == "next")
        .expect("a staged key")["kid"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A key Portico never published, and the signer holding it.
async fn rogue_key(dir: &std::path::Path, now: chrono::DateTime<chrono::Utc>) -> (LocalSigner, RingKey) {
    let rogue = LocalSigner::new(dir);
    let made = rogue.create().await.unwrap();
    let key = RingKey {
        key_ref: made.key_ref,
        jwk: made.jwk,
        published_at: now,
        signing_since: Some(now),
        retired_at: None,
    };
    (rogue, key)
}

/// The customer is told of sign-ins by `mode`, at an address of its own
/// (moto's mailbox is shared by the tests running at once): that address.
async fn told_by(w: &World, mode: &str) -> String {
    let to = format!("it-{}@contoso.example.com", uuid::Uuid::new_v4().simple());
    let (status, body) = w
        .app
        .put(
            &format!("/customers/{}/access-notices", w.customer),
            w.app.token(Role::CustomerAccountOwner),
            json!({ "mode": mode, "to": [to] }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    to
}

/// The end to end: a new partner user signs in with their password and a
/// TOTP code, clicks LogMeIn (its HTTP equivalent; the browser journey
/// clicks it), and the instance opens a Partner Support session with the
/// banner. Then what the instance refuses: a replay, another instance's
/// assertion, an expired one, and one signed by a key not in the JWKS.
async fn a_partner_user_logs_in_and_the_instance_verifies_it(b: Backend) {
    let w = World::new(b).await;
    // Enrolled while the test's clock is the wall clock (the first code is
    // the authenticator's now); the checks then move the clock on.
    let email = format!("pat-{}@northwind.example.com", uuid::Uuid::new_v4().simple());
    w.app.add_partner_user(&email).await;
    let (_, secret, _) = w.app.set_up_account(&email).await;
    prepare(&w).await;
    let notices = told_by(&w, "each_login").await;
    // The clock moves on a step so the sign-in's code is a new one.
    w.clock.advance(Duration::seconds(31));
    let token = w.app.sign_in(&email, &secret, w.clock.now()).await;
    let signed_in = w.clock.now().timestamp();

    let (status, form) = log_in(&w, &token).await;
    assert_eq!(status, 200, "{form}");
    let jws = assertion(&form);
    let (header, claims) = parts(jws);
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["typ"], "portico-login+jwt");
    let (_, jwks) = w.app.get_json("/.well-known/jwks.json", "").await;
    assert!(
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kid"] == header["kid"]),
        "the kid is published: {jwks}"
    );
    assert_eq!(claims["iss"], w.app.deps.settings.public_url.as_str());
    assert_eq!(claims["aud"], w.id.as_str());
    assert_eq!(claims["sub"], format!("partner-support:{}", w.id));
    assert_eq!(claims["act"]["email"], email.as_str());
    assert_eq!(claims["act"]["org"], w.app.orgs[&Role::PartnerManager].to_string());
    assert_eq!(claims["amr"], json!(["pwd", "otp"]));
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 60);
    assert_eq!(claims["auth_time"].as_i64().unwrap(), signed_in);
    let mut roles: Vec<&str> = claims["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    roles.sort();
    assert_eq!(roles, ["Admin", "Developer", "IT Admin"]);
    assert!(claims.get("reason").is_none(), "standing consent asks no reason");
    // The default delegation's Decision Maker: every capability, for the instance to enforce.
    assert_eq!(
        claims["capabilities"],
        json!([
            "settings.manage",
            "instance.login",
            "users.manage",
            "billing.view",
            "activity.view"
        ])
    );
    let action = form["action"].as_str().unwrap();
    assert_eq!(action, format!("{}/.well-known/portico/login", w.base));

    // The browser posts it; the instance verifies it and opens the session.
    let (status, cookie) = post_form(action, jws).await;
    assert_eq!(status, 303);
    let page = reqwest::Client::new()
        .get(format!("{}/", w.base))
        .header("cookie", cookie.expect("a session cookie"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!("Partner Support — acting: {email} (Northwind Partners)")),
        "{page}"
    );
    assert!(page.contains("id=\"partner-support-banner\""), "{page}");
    assert_eq!(w.instance.partner_sessions().len(), 1);

    // Replayed: refused.
    let (status, cookie) = post_form(action, jws).await;
    assert_eq!((status, cookie.is_some()), (401, false));
    // Another instance's assertion (wrong aud), at an instance that otherwise takes Portico's.
    let other = Instance::new();
    other.configure(Setup {
        instance_id: uuid::Uuid::now_v7().to_string(),
        secret: "pcs_another".into(),
        url: "https://other.example.com".into(),
        profile: portico_core::instances::Profile::Present,
    });
    other.set_portico(&w.app.base);
    other.set_issuer(&w.app.deps.settings.public_url);
    let fresh = mint(&w).await;
    let err = other.redeem(assertion(&fresh)).await.unwrap_err();
    assert!(err.1.contains("InvalidAudience"), "{err:?}");
    // Expired: 60 s, and 60 s of skew, later.
    w.clock.advance(Duration::seconds(121));
    let err = w.instance.redeem(assertion(&fresh)).await.unwrap_err();
    assert!(err.1.contains("expired"), "{err:?}");
    // Signed by a key that is not in the JWKS (a forged kid and key).
    let dir = tempfile::tempdir().unwrap();
    let (rogue, key) = rogue_key(dir.path(), w.clock.now()).await;
    let (_, mut forged) = parts(assertion(&mint(&w).await));
    forged["jti"] = json!("forged-1");
    let jws = portico_core::login_keys::sign_jwt(&rogue, &key, &forged).await.unwrap();
    let err = w.instance.redeem(&jws).await.unwrap_err();
    assert!(err.1.contains("not in Portico's key set"), "{err:?}");
    assert_eq!(
        w.instance.partner_sessions().len(),
        1,
        "only the first opened a session"
    );

    // Told and logged: both logs hold the sign-in, with the user, the
    // instance and the source IP; the customer's chosen address got a notice.
    for org in [w.customer.clone(), w.app.orgs[&Role::PartnerManager].to_string()] {
        let logins = partner_logins(&w, &org).await;
        let first = logins
            .iter()
            .find(|e| e["actorEmail"] == email.as_str())
            .expect("logged");
        assert_eq!(first["target"]["id"], w.id.as_str());
        assert_eq!(first["sourceIp"], "127.0.0.1");
        assert!(first["description"].as_str().unwrap().contains(&w.name), "{first}");
    }
    let told = w.app.subjects_to(&notices).await;
    assert_eq!(told.len(), 3, "one notice per LogMeIn: {told:?}");
    assert!(
        told[0].contains(&format!("a partner signed in to {}", w.name)),
        "{told:?}"
    );
}

/// Portico refuses, each with its reason: no consent, consent ended,
/// approval mode without an approval, with one used past its duration and
/// with a denied request, a broken connection, a partner user not
/// confirmed in 24 hours, a suspended user, a partner that is not the
/// customer's, a customer user. None of them mints a `jti` or logs a
/// sign-in.
async fn every_refusal_says_why(b: Backend) {
    let w = World::new(b).await;
    w.next_check().await;
    let puser = w.app.token(Role::PartnerUser).to_string();
    let code = |s: u16, b: &Value| refused(s, b);
    // No consent.
    let (s, body) = log_in(&w, &puser).await;
    assert_eq!(code(s, &body), (403, "instance-access-not-granted".into()), "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("Ask their Account Owner"),
        "{body}"
    );
    // Consent ended.
    let until = w.clock.now() + Duration::hours(1);
    w.consent(json!({ "mode": "standing", "until": until })).await;
    assert_eq!(log_in(&w, &puser).await.0, 200);
    w.clock.advance(Duration::hours(2));
    let (s, body) = log_in(&w, &puser).await;
    assert_eq!(code(s, &body), (403, "instance-access-ended".into()), "{body}");
    // Approval mode: no approval; approved, then past its duration; denied.
    w.consent(json!({ "mode": "ask" })).await;
    let (s, body) = log_in(&w, &puser).await;
    assert_eq!(
        code(s, &body),
        (403, "instance-access-approval-required".into()),
        "{body}"
    );
    let (s, r) = ask(&w, &puser, "Ticket 881: the nightly export fails").await;
    assert_eq!(s, 201, "{r}");
    // One open request per user and instance.
    let (s, again) = ask(&w, &puser, "Ticket 881 again").await;
    assert_eq!(s, 409, "{again}");
    decide(&w, r["id"].as_str().unwrap(), true).await;
    let (s, form) = log_in(&w, &puser).await;
    assert_eq!(s, 200, "{form}");
    assert_eq!(
        parts(assertion(&form)).1["reason"],
        "Ticket 881: the nightly export fails"
    );
    // The reason is in the sign-in's event, in both organisations' logs.
    for org in [w.customer.clone(), w.app.orgs[&Role::PartnerManager].to_string()] {
        let logins = partner_logins(&w, &org).await;
        let said = logins[0]["description"].as_str().unwrap();
        assert!(said.ends_with(": Ticket 881: the nightly export fails"), "{said}");
    }
    w.clock.advance(Duration::minutes(31));
    let (s, body) = log_in(&w, &puser).await;
    assert_eq!(code(s, &body), (403, "instance-access-approval-ended".into()), "{body}");
    let (s, r) = ask(&w, &puser, "Ticket 882: again, please").await;
    assert_eq!(s, 201, "{r}");
    decide(&w, r["id"].as_str().unwrap(), false).await;
    let (s, body) = log_in(&w, &puser).await;
    assert_eq!(code(s, &body), (403, "instance-access-denied".into()), "{body}");
    w.allow_partners().await;
    assert_eq!(log_in(&w, &puser).await.0, 200);
    let minted = partner_logins(&w, &w.customer).await.len();
    // Customer users, of either role: never (the policy gives LogMeIn to
    // partner users), though the connection is verified and consent holds.
    let customer_user = user_of(&w, &w.customer, "customer_user").await;
    for token in [w.app.token(Role::CustomerAccountOwner).to_string(), customer_user] {
        let (s, body) = log_in(&w, &token).await;
        assert_eq!(code(s, &body), (403, "forbidden".into()), "{body}");
    }
    // A partner that is not the customer's: the customer is not visible to
    // its users at all (404, as for any organisation they are not linked to).
    let admin = w.app.token(Role::PlatformAdmin);
    let (_, other) = w
        .app
        .post(
            "/organizations",
            Some(admin),
            json!({ "name": "Litware Partners", "kind": "partner" }),
        )
        .await;
    let stranger = user_of(&w, other["id"].as_str().unwrap(), "partner_user").await;
    let (s, body) = log_in(&w, &stranger).await;
    assert_eq!(code(s, &body), (404, "not-found".into()), "{body}");
    // A broken connection.
    w.instance.update(|s| s.secret = "pcs_not_the_connection_secret".into());
    w.next_check().await;
    assert_eq!(w.state().await, "broken");
    let (s, body) = log_in(&w, &puser).await;
    assert_eq!(code(s, &body), (403, "connection-not-verified".into()), "{body}");
    // The partner user's view of their access says so too, though consent holds.
    let (_, view) = w
        .app
        .get_json(&format!("/customers/{}/access", w.customer), &puser)
        .await;
    let you = &view["instances"][0]["you"];
    assert_eq!(
        (&you["granted"], &you["refusal"]),
        (&json!(false), &json!("connection-not-verified")),
        "{view}"
    );
    // Not confirmed within 24 hours (and not on a trusted range).
    w.clock.advance(Duration::hours(25));
    let (s, body) = log_in(&w, &puser).await;
    assert_eq!(code(s, &body), (403, "email-confirmation-required".into()), "{body}");
    // Suspended after three weeks without activity.
    w.clock.advance(Duration::days(22));
    jobs::run(&w.app.deps, Job::SuspendInactive).await.unwrap();
    let (s, body) = log_in(&w, &puser).await;
    assert_eq!(code(s, &body), (403, "account-suspended".into()), "{body}");
    assert_eq!(
        partner_logins(&w, &w.customer).await.len(),
        minted,
        "no refusal logged a sign-in"
    );
}

async fn ask(w: &World, token: &str, reason: &str) -> (u16, Value) {
    w.app
        .post(
            &format!("/customers/{}/instances/{}/access-requests", w.customer, w.id),
            Some(token),
            json!({ "reason": reason, "durationMinutes": 30 }),
        )
        .await
}

/// The customer's Account Owner answers request `id`.
async fn decision(w: &World, id: &str, approve: bool) -> (u16, Value) {
    w.app
        .post(
            &format!("/customers/{}/access-requests/{id}/decision", w.customer),
            Some(w.app.token(Role::CustomerAccountOwner)),
            json!({ "approve": approve }),
        )
        .await
}

async fn decide(w: &World, id: &str, approve: bool) {
    let (s, body) = decision(w, id, approve).await;
    assert_eq!(s, 200, "{body}");
}

/// A user of `org` with `role`, active and enrolled, with a session.
async fn user_of(w: &World, org: &str, role: &str) -> String {
    let email = format!("u-{}@example.com", uuid::Uuid::new_v4().simple());
    let (s, added) = w
        .app
        .post(
            &format!("/organizations/{org}/users"),
            Some(w.app.token(Role::PlatformAdmin)),
            json!({ "email": email, "displayName": "Some User", "role": role }),
        )
        .await;
    assert_eq!(s, 201, "{added}");
    let id = portico_core::domain::UserId::parse(added["user"]["id"].as_str().unwrap()).unwrap();
    let activate = portico_core::store::Write::patch(
        portico_core::store::keys::user(id),
        &json!({ "status": "active", "mfaEnrolled": true, "emailConfirmedAt": w.clock.now() }),
        portico_core::store::Cond::MustExist,
    )
    .unwrap();
    w.app.deps.table.transact(vec![activate]).await.unwrap();
    portico_core::sessions::open_local(
        &w.app.deps,
        &w.app.local_tokens,
        id,
        60,
        w.clock.now() + Duration::days(365),
    )
    .await
    .unwrap()
}

/// A full rotation, as the operation runs it: stage (published, not
/// signing), activate only after 24 hours, the old key still published,
/// unpublish only after another 24 hours, and then its private key is
/// gone (a key file here; a KMS key pending deletion on moto). The
/// instance verifies assertions from either key throughout, fetching the
/// key set again when it meets the new `kid`.
async fn a_full_rotation(b: Backend) {
    let w = ready(b).await;
    let admin = w.app.token(Role::PlatformAdmin).to_string();
    let first = mint(&w).await;
    let k1 = parts(assertion(&first)).0["kid"].as_str().unwrap().to_string();
    w.instance
        .redeem(assertion(&first))
        .await
        .expect("the first key verifies");
    assert_eq!(w.instance.jwks_fetches(), 1);

    let (s, staged) = w.app.post("/login-keys", Some(&admin), json!({})).await;
    assert_eq!(s, 201, "{staged}");
    let k2 = staged_kid(&staged);
    let kids = |jwks: &Value| -> HashSet<String> {
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, jwks) = w.app.get_json("/.well-known/jwks.json", "").await;
    assert_eq!(kids(&jwks), HashSet::from([k1.clone(), k2.clone()]));
    // Still the first key signs; the new one may not yet.
    assert_eq!(parts(assertion(&mint(&w).await)).0["kid"], k1.as_str());
    let activate = format!("/login-keys/{k2}/activate");
    w.clock.advance(Duration::hours(23));
    let (s, body) = w.app.post(&activate, Some(&admin), json!({})).await;
    assert_eq!(s, 409, "{body}");
    w.clock.advance(Duration::hours(1));
    let (s, body) = w.app.post(&activate, Some(&admin), json!({})).await;
    assert_eq!(s, 200, "{body}");
    // The new key signs, and the instance (its key set 24 h old) verifies it.
    let second = mint(&w).await;
    assert_eq!(parts(assertion(&second)).0["kid"], k2.as_str());
    w.instance
        .redeem(assertion(&second))
        .await
        .expect("the new key verifies");
    assert_eq!(w.instance.jwks_fetches(), 2, "the old cached key set was fetched again");
    // The old key stays published for a day: unpublishing it sooner is refused.
    let unpublish = format!("/login-keys/{k1}");
    let (_, jwks) = w.app.get_json("/.well-known/jwks.json", "").await;
    assert_eq!(kids(&jwks), HashSet::from([k1.clone(), k2.clone()]));
    let status = w
        .app
        .http
        .delete(w.app.url(&unpublish))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 409);
    w.clock.advance(Duration::hours(24));
    let (old_ref, _) = ring_key(&w, &k1).await;
    let resp = w
        .app
        .http
        .delete(w.app.url(&unpublish))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let (_, jwks) = w.app.get_json("/.well-known/jwks.json", "").await;
    assert_eq!(kids(&jwks), HashSet::from([k2.clone()]));
    assert!(ring_key(&w, &k1).await.1.is_none(), "gone from the ring");
    // The deployment's own first key (the template's, on AWS) is the
    // deployment's to remove; a key the rotation made is destroyed.
    let provided = w.app.deps.signer.provided();
    assert_eq!(
        gone(&w, b, &old_ref).await,
        provided.as_deref() != Some(old_ref.as_str()),
        "{old_ref} (provided: {provided:?})"
    );
    // A second walk retires a key the rotation made: destroyed on either signer.
    let (s, staged) = w.app.post("/login-keys", Some(&admin), json!({})).await;
    assert_eq!(s, 201, "{staged}");
    let k3 = staged_kid(&staged);
    w.clock.advance(Duration::hours(24));
    let (s, body) = w
        .app
        .post(&format!("/login-keys/{k3}/activate"), Some(&admin), json!({}))
        .await;
    assert_eq!(s, 200, "{body}");
    w.clock.advance(Duration::hours(24));
    let (k2_ref, _) = ring_key(&w, &k2).await;
    let resp = w
        .app
        .http
        .delete(w.app.url(&format!("/login-keys/{k2}")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        gone(&w, b, &k2_ref).await,
        "the retired private key {k2_ref} is destroyed"
    );
    let third = mint(&w).await;
    assert_eq!(parts(assertion(&third)).0["kid"], k3.as_str());
    w.instance
        .redeem(assertion(&third))
        .await
        .expect("the third key verifies");
    // Platform admins only.
    let (s, _) = w
        .app
        .post("/login-keys", Some(w.app.token(Role::PartnerManager)), json!({}))
        .await;
    assert_eq!(s, 403);
}

/// The key's ref in the ring, and whether it is still there.
async fn ring_key(w: &World, kid: &str) -> (String, Option<RingKey>) {
    let (ring, _) = portico_core::ops::login_keys::ring(&w.app.deps).await.unwrap();
    let key = ring.keys.iter().find(|k| k.jwk.kid == kid).cloned();
    (key.as_ref().map(|k| k.key_ref.clone()).unwrap_or_default(), key)
}

/// Whether the private key at `key_ref` is destroyed (or pending deletion).
async fn gone(w: &World, b: Backend, key_ref: &str) -> bool {
    match b {
        Backend::Sqlite => w.app.deps.signer.sign(key_ref, b"x").await.is_err(),
        Backend::Dynamo => {
            let kms = aws_sdk_kms::Client::new(&portico_tests::sdk_config(&portico_tests::moto_endpoint()).await);
            let meta = kms.describe_key().key_id(key_ref).send().await.unwrap();
            meta.key_metadata().and_then(|m| m.key_state().cloned())
                == Some(aws_sdk_kms::types::KeyState::PendingDeletion)
        }
    }
}

/// An instance whose cached key set is fresh meets a `kid` it does not
/// know: it fetches the set again (at most once a minute) and verifies
/// with the key it finds there.
async fn an_unknown_kid_fetches_the_key_set_again(b: Backend) {
    let w = ready(b).await;
    let admin = w.app.token(Role::PlatformAdmin).to_string();
    let first = mint(&w).await;
    w.instance.redeem(assertion(&first)).await.unwrap();
    assert_eq!(w.instance.jwks_fetches(), 1);
    // Two minutes on (the cache is good for five), a key is staged; a
    // message signed with it (as it will sign once active) names a kid the
    // cache lacks.
    w.clock.advance(Duration::minutes(2));
    let (s, staged) = w.app.post("/login-keys", Some(&admin), json!({})).await;
    assert_eq!(s, 201, "{staged}");
    let (ring, _) = portico_core::ops::login_keys::ring(&w.app.deps).await.unwrap();
    let next = ring.keys.iter().find(|k| k.signing_since.is_none()).unwrap().clone();
    let (_, mut claims) = parts(assertion(&mint(&w).await));
    claims["jti"] = json!("signed-by-the-staged-key");
    let jws = portico_core::login_keys::sign_jwt(w.app.deps.signer.as_ref(), &next, &claims)
        .await
        .unwrap();
    w.instance
        .redeem(&jws)
        .await
        .expect("found in the key set fetched again");
    assert_eq!(w.instance.jwks_fetches(), 2);
    // An unknown kid right after: not fetched again within the minute.
    let dir = tempfile::tempdir().unwrap();
    let (rogue, key) = rogue_key(dir.path(), w.clock.now()).await;
    claims["jti"] = json!("rogue");
    let jws = portico_core::login_keys::sign_jwt(&rogue, &key, &claims).await.unwrap();
    let err = w.instance.redeem(&jws).await.unwrap_err();
    assert!(err.1.contains("less than a minute ago"), "{err:?}");
    assert_eq!(w.instance.jwks_fetches(), 2);
}

/// 50 LogMeIns by one user at once: 50 distinct `jti`s, 50 sign-ins in
/// the log. 50 redemptions of one assertion at once at the instance (over
/// HTTP): exactly one session.
async fn races(b: Backend) {
    let w = ready(b).await;
    let puser = w.app.token(Role::PartnerUser).to_string();
    let forms = futures::future::join_all((0..50).map(|_| log_in(&w, &puser))).await;
    let jtis: HashSet<String> = forms
        .iter()
        .map(|(s, f)| {
            assert_eq!(*s, 200, "{f}");
            f["jti"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(jtis.len(), 50);
    assert_eq!(partner_logins(&w, &w.customer).await.len(), 50);
    let form = &forms[0].1;
    let action = form["action"].as_str().unwrap();
    let outcomes = futures::future::join_all((0..50).map(|_| post_form(action, assertion(form)))).await;
    let opened = outcomes.iter().filter(|(s, c)| *s == 303 && c.is_some()).count();
    let refused = outcomes.iter().filter(|(s, _)| *s == 401).count();
    assert_eq!((opened, refused), (1, 49), "{outcomes:?}");
    assert_eq!(w.instance.partner_sessions().len(), 1);
}

/// The daily digest: sign-ins since the last digest, once a day, to the
/// addresses chosen; nothing on a day without any.
async fn the_daily_digest(b: Backend) {
    let w = ready(b).await;
    let to = told_by(&w, "daily_digest").await;
    mint(&w).await;
    w.clock.advance(Duration::hours(3));
    mint(&w).await;
    let run = || async { jobs::run(&w.app.deps, Job::LoginDigest).await.unwrap().digests.unwrap() };
    assert_eq!(run().await.due, 0, "not due for a day");
    assert!(w.app.subjects_to(&to).await.is_empty(), "no email at each sign-in");
    w.clock.advance(Duration::hours(21));
    let d = run().await;
    assert_eq!((d.due, d.sent, d.sign_ins), (1, 1, 2), "{d:?}");
    assert_eq!(
        w.app.subjects_to(&to).await,
        ["Portico: 2 partner sign-ins in the last day"]
    );
    assert_eq!(run().await.due, 0, "sent: the next is a day away");
    // A day without sign-ins: due, nothing to send.
    w.clock.advance(Duration::hours(24));
    let d = run().await;
    assert_eq!((d.due, d.sent), (1, 0), "{d:?}");
    assert_eq!(w.app.subjects_to(&to).await.len(), 1);
}

/// Consent gates a partner's settings changes too (the settings reach each
/// instance of the customer); the platform's are not gated.
async fn consent_gates_partner_settings_changes(b: Backend) {
    let w = World::new(b).await;
    w.next_check().await;
    let path = format!("/customers/{}/settings", w.customer);
    let toggle = |token: String| {
        let path = path.clone();
        let w = &w;
        async move {
            let (_, page) = w.app.get_json(&path, &token).await;
            let s = page["settings"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["key"] == "feed.comments")
                .unwrap()
                .clone();
            w.app
                .put(
                    &format!("{path}/feed.comments"),
                    &token,
                    json!({ "enabled": !s["enabled"].as_bool().unwrap(), "version": s["version"] }),
                )
                .await
        }
    };
    let manager = w.app.token(Role::PartnerManager).to_string();
    let (s, body) = toggle(manager.clone()).await;
    assert_eq!(refused(s, &body), (403, "instance-access-not-granted".into()), "{body}");
    assert!(body["detail"].as_str().unwrap().contains("change settings"), "{body}");
    let (s, body) = toggle(w.app.token(Role::PlatformAdmin).to_string()).await;
    assert_eq!(s, 200, "the platform's change is not a partner's: {body}");
    w.allow_partners().await;
    let (s, body) = toggle(manager).await;
    assert_eq!(s, 200, "{body}");
}

/// The Partner Support profile, over HTTP: platform admins change its
/// roles; no customer role (nor partner) may; nobody deletes it (no such
/// route: 405).
async fn the_profile_is_the_platforms(b: Backend) {
    let w = World::new(b).await;
    let path = format!("/customers/{}/instances/{}/support-profile", w.customer, w.id);
    let body = json!({ "roles": ["Admin"] });
    let customer_user = user_of(&w, &w.customer, "customer_user").await;
    let callers = [
        (
            "customer account owner",
            w.app.token(Role::CustomerAccountOwner).to_string(),
        ),
        ("customer user", customer_user),
        ("partner manager", w.app.token(Role::PartnerManager).to_string()),
        ("partner user", w.app.token(Role::PartnerUser).to_string()),
    ];
    for (who, token) in &callers {
        let (s, answer) = w.app.put(&path, token, body.clone()).await;
        assert_eq!(s, 403, "{who}: {answer}");
        let status = w
            .app
            .http
            .delete(w.app.url(&path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 405, "{who} DELETE");
    }
    assert!(
        w.view().await["supportProfile"]["roles"].as_array().unwrap().len() == 3,
        "unchanged"
    );
    let (s, view) = w.app.put(&path, w.app.token(Role::PlatformAdmin), body).await;
    assert_eq!(s, 200, "{view}");
    assert_eq!(view["supportProfile"]["roles"], json!(["Admin"]));
}

/// Every change of consent is an event in the customer's log and in its
/// partner's, as are a partner user's request and the customer's answer.
async fn consent_changes_are_in_both_logs(b: Backend) {
    let w = ready(b).await;
    w.consent(json!({ "mode": "ask" })).await;
    let puser = w.app.token(Role::PartnerUser).to_string();
    let (s, r) = ask(&w, &puser, "Ticket 970: the mail relay").await;
    assert_eq!(s, 201, "{r}");
    decide(&w, r["id"].as_str().unwrap(), false).await;
    let until = w.clock.now() + Duration::days(30);
    w.consent(json!({ "mode": "standing", "until": until })).await;
    w.consent(json!({ "mode": "off" })).await;
    let name = &w.name;
    let wanted = [
        format!("allowed partners to sign in to \"{name}\""),
        format!("asks to approve each partner sign-in to \"{name}\""),
        format!("asked for access to \"{name}\" for 0.50 h: Ticket 970: the mail relay"),
        "Denied user@northwind.example.com's access to".to_string(),
        "allowed partners, until".to_string(),
        format!("withdrew partners' access to \"{name}\""),
    ];
    for org in [w.customer.clone(), w.app.orgs[&Role::PartnerManager].to_string()] {
        let logged = events(&w, &org, "Partner%20Access").await;
        let mut said: Vec<&str> = logged.iter().map(|e| e["description"].as_str().unwrap()).collect();
        said.reverse();
        assert_eq!(said.len(), wanted.len(), "{org}: {said:#?}");
        for (event, part) in said.iter().zip(&wanted) {
            assert!(event.contains(part.as_str()), "{org}: {event:?} says {part:?}");
        }
    }
}

/// "Ask me each time": a request no one answers lapses after 14 days. It
/// leaves the customer's queue, can no longer be approved, LogMeIn stays
/// refused, the partner user sees it lapsed and may ask again.
async fn an_unanswered_request_lapses_after_14_days(b: Backend) {
    let w = ready(b).await;
    w.consent(json!({ "mode": "ask" })).await;
    let puser = w.app.token(Role::PartnerUser).to_string();
    let (s, r) = ask(&w, &puser, "Ticket 990: a slow report").await;
    assert_eq!(s, 201, "{r}");
    let id = r["id"].as_str().unwrap().to_string();
    let waiting = || async {
        let (status, body) = w
            .app
            .get_json(
                &format!("/customers/{}/access", w.customer),
                w.app.token(Role::CustomerAccountOwner),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["pendingRequests"].as_array().unwrap().len()
    };
    w.clock.advance(Duration::days(14) - Duration::minutes(1));
    assert_eq!(waiting().await, 1, "still waiting a minute before it lapses");
    w.clock.advance(Duration::minutes(2));
    assert_eq!(waiting().await, 0, "lapsed: no longer in the queue");
    let (s, body) = decision(&w, &id, true).await;
    assert_eq!(s, 409, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("lapsed"), "{body}");
    let (s, body) = log_in(&w, &puser).await;
    assert_eq!(
        refused(s, &body),
        (403, "instance-access-approval-required".into()),
        "{body}"
    );
    let (_, mine) = w.app.get_json("/access-requests", &puser).await;
    assert_eq!(mine["requests"][0]["id"], id.as_str(), "{mine}");
    assert_eq!(mine["requests"][0]["status"], "lapsed", "{mine}");
    let (s, again) = ask(&w, &puser, "Ticket 990: still slow").await;
    assert_eq!(s, 201, "a lapsed request does not block a new one: {again}");
    assert_eq!(waiting().await, 1);
}

both_backends!(
    a_partner_user_logs_in_and_the_instance_verifies_it,
    every_refusal_says_why,
    a_full_rotation,
    an_unknown_kid_fetches_the_key_set_again,
    races,
    the_daily_digest,
    consent_gates_partner_settings_changes,
    the_profile_is_the_platforms,
    consent_changes_are_in_both_logs,
    an_unanswered_request_lapses_after_14_days,
);
