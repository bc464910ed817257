//! The template's IAM policy of each function is exactly what the function
//! calls: every route of every function and both jobs run on the AWS
//! adapters (DynamoDB Local, SES and Cognito on moto) with an interceptor on
//! every SDK client that records the IAM action each call needs (a
//! TransactWriteItems needs PutItem, UpdateItem, DeleteItem or
//! ConditionCheckItem for each of its items). The test fails when a
//! function's policy lacks an action it calls, or grants one it never does.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, SharedInterceptor};
use chrono::{Duration, Utc};
use portico_core::clock::{Clock, ManualClock};
use portico_core::domain::{OrgId, Role};
use portico_core::jobs::{self, Job};
use portico_tests::{Backend, Options, PASSWORD, TestApp};
use serde_json::{Value, json};

type Seen = BTreeMap<String, BTreeSet<String>>;

/// Records, for the function currently served, the IAM actions of its SDK calls.
#[derive(Debug, Clone, Default)]
struct Recorder {
    current: Arc<Mutex<Option<String>>>,
    seen: Arc<Mutex<Seen>>,
}

/// Cognito operations that take no IAM permission (the caller proves itself
/// with a session or an access token).
const COGNITO_PUBLIC: [&str; 5] = [
    "AssociateSoftwareToken",
    "VerifySoftwareToken",
    "RespondToAuthChallenge",
    "InitiateAuth",
    "SetUserMFAPreference",
];

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "iam-recorder"
    }

    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &aws_sdk_dynamodb::config::RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let Some(function) = self.current.lock().unwrap().clone() else {
            return Ok(());
        };
        let meta = cfg
            .load::<aws_smithy_runtime_api::client::orchestrator::Metadata>()
            .expect("operation metadata");
        let (service, op) = (meta.service().to_string(), meta.name().to_string());
        let actions: Vec<String> = match service.as_str() {
            "DynamoDB" if op == "TransactWriteItems" => {
                let input = context
                    .input()
                    .downcast_ref::<aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput>()
                    .expect("TransactWriteItems input");
                input
                    .transact_items()
                    .iter()
                    .map(|t| {
                        if t.put.is_some() {
                            "dynamodb:PutItem"
                        } else if t.update.is_some() {
                            "dynamodb:UpdateItem"
                        } else if t.delete.is_some() {
                            "dynamodb:DeleteItem"
                        } else {
                            "dynamodb:ConditionCheckItem"
                        }
                        .to_string()
                    })
                    .collect()
            }
            "DynamoDB" => vec![format!("dynamodb:{op}")],
            "SES" => vec![format!("ses:{op}")],
            // Tags on a new key need kms:TagResource too (AWS's rule for CreateKey).
            "KMS" if op == "CreateKey" => {
                let input = context
                    .input()
                    .downcast_ref::<aws_sdk_kms::operation::create_key::CreateKeyInput>()
                    .expect("CreateKey input");
                let mut actions = vec!["kms:CreateKey".to_string()];
                if !input.tags().is_empty() {
                    actions.push("kms:TagResource".into());
                }
                actions
            }
            "KMS" => vec![format!("kms:{op}")],
            "Cognito Identity Provider" if COGNITO_PUBLIC.contains(&op.as_str()) => vec![],
            "Cognito Identity Provider" => vec![format!("cognito-idp:{op}")],
            other => panic!("an SDK call to an unexpected service: {other} {op}"),
        };
        self.seen.lock().unwrap().entry(function).or_default().extend(actions);
        Ok(())
    }
}

struct Driver {
    conflict: Arc<portico_tests::FaultyTable>,
    app: TestApp,
    rec: Recorder,
    clock: Arc<ManualClock>,
    faulty: Arc<portico_tests::FaultyIdentity>,
}

impl Driver {
    /// A request served by `function`; its status and JSON (or text) body.
    async fn call(
        &self,
        function: &str,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        *self.rec.current.lock().unwrap() = Some(function.to_string());
        let answer = self.app.call(method, path, token, body).await;
        *self.rec.current.lock().unwrap() = None;
        answer
    }

    async fn ok(&self, function: &str, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> Value {
        let (s, v) = self.call(function, method, path, token, body).await;
        assert!((200..300).contains(&s), "{function} {method} {path}: {s} {v}");
        v
    }

    async fn job(&self, function: &str, job: Job) {
        *self.rec.current.lock().unwrap() = Some(function.to_string());
        let r = jobs::run(&self.app.deps, job).await;
        *self.rec.current.lock().unwrap() = None;
        r.unwrap();
    }

    /// A job run that reports failures (the injected ones).
    async fn job_failing(&self, function: &str, job: Job) {
        *self.rec.current.lock().unwrap() = Some(function.to_string());
        let r = jobs::run(&self.app.deps, job).await;
        *self.rec.current.lock().unwrap() = None;
        assert!(r.is_err(), "the injected failure is reported");
    }

    fn token(&self, r: Role) -> String {
        self.app.token(r).to_string()
    }
}

/// Every route of every function, with the paths that need their own
/// permissions: sign-in from first password to MFA, recovery and reset,
/// links re-sent (the old one deleted), email re-confirmation, suspension
/// by the sweep and its identity retry, reinstatement.
async fn run_everything(d: &Driver) {
    let admin = d.token(Role::PlatformAdmin);
    let manager = d.token(Role::PartnerManager);
    let puser = d.token(Role::PartnerUser);
    let owner = d.token(Role::CustomerAccountOwner);
    let partner = d.app.orgs[&Role::PartnerManager];
    let customer = d.app.orgs[&Role::CustomerAccountOwner];
    instance_access(d, &admin).await;
    partner_roles(d).await;

    // organizations (the first change loses a race, and retries)
    d.conflict
        .conflict_next
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let created = d
        .ok(
            "organizations",
            "POST",
            "/organizations",
            Some(&admin),
            Some(json!({ "name": "Globex Resellers", "kind": "partner" })),
        )
        .await;
    d.ok(
        "organizations",
        "POST",
        "/organizations",
        Some(&admin),
        Some(json!({ "name": "Globex Customer", "kind": "customer", "partnerOfRecord": created["id"] })),
    )
    .await;
    d.ok("organizations", "GET", "/organizations", Some(&admin), None).await;
    d.ok(
        "organizations",
        "GET",
        &format!("/organizations/{}", created["id"].as_str().unwrap()),
        Some(&admin),
        None,
    )
    .await;
    let tr = d
        .ok(
            "organizations",
            "GET",
            &format!("/organizations/{partner}/trusted-ranges"),
            Some(&manager),
            None,
        )
        .await;
    d.ok(
        "organizations",
        "PUT",
        &format!("/organizations/{partner}/trusted-ranges"),
        Some(&manager),
        Some(json!({ "ranges": ["203.0.113.0/24"], "version": tr["version"] })),
    )
    .await;
    let org = d
        .ok(
            "organizations",
            "GET",
            &format!("/organizations/{customer}"),
            Some(&owner),
            None,
        )
        .await;
    d.ok(
        "organizations",
        "PUT",
        &format!("/organizations/{customer}/mfa-policy"),
        Some(&owner),
        Some(json!({ "required": false, "version": org["version"] })),
    )
    .await;
    for sub in ["activity", "activity/export", "activity/verify", "activity/retention"] {
        d.ok(
            "organizations",
            "GET",
            &format!("/organizations/{customer}/{sub}"),
            Some(&admin),
            None,
        )
        .await;
    }
    d.ok(
        "organizations",
        "PUT",
        &format!("/organizations/{customer}/activity/retention"),
        Some(&admin),
        Some(json!({ "days": 400 })),
    )
    .await;
    // The platform deletes an organisation nothing hangs on.
    let gone = d
        .ok(
            "organizations",
            "POST",
            "/organizations",
            Some(&admin),
            Some(json!({ "name": "IAM Gone Soon", "kind": "customer", "partnerOfRecord": d.app.orgs[&Role::PartnerManager] })),
        )
        .await;
    d.ok(
        "organizations",
        "DELETE",
        &format!("/organizations/{}", gone["id"].as_str().unwrap()),
        Some(&admin),
        None,
    )
    .await;
    // Contoso's Account Owner renames it, and back.
    for name in ["Contoso Group", "Contoso Ltd"] {
        let (_, org) = d
            .app
            .get_json(
                &format!("/organizations/{customer}"),
                &d.token(Role::CustomerAccountOwner),
            )
            .await;
        d.ok(
            "organizations",
            "PUT",
            &format!("/organizations/{customer}/name"),
            Some(&d.token(Role::CustomerAccountOwner)),
            Some(json!({ "name": name, "version": org["version"] })),
        )
        .await;
    }
    // Invoices and payments: the platform records one; the partner user reads them.
    d.ok(
        "organizations",
        "POST",
        &format!("/customers/{customer}/billing"),
        Some(&admin),
        Some(json!({ "kind": "invoice", "reference": "INV-1", "date": "2026-12-01", "amount": "10.00", "currency": "EUR" })),
    )
    .await;
    d.ok(
        "organizations",
        "GET",
        &format!("/customers/{customer}/billing"),
        Some(&puser),
        None,
    )
    .await;

    // Seats: the platform allocates Northwind's (counting its users), makes
    // them purchasable, Nora asks for more, the platform approves; a user
    // added takes one and gives it back when removed.
    let seats = format!("/organizations/{partner}/seats");
    for allocation in [
        json!({ "kind": "allocated", "seats": 500 }),
        json!({ "kind": "purchasable", "seats": 500 }),
    ] {
        d.ok(
            "organizations",
            "PUT",
            &seats,
            Some(&admin),
            Some(json!({ "allocation": allocation })),
        )
        .await;
    }
    d.ok("organizations", "GET", &seats, Some(&manager), None).await;
    let asked = d
        .ok(
            "organizations",
            "POST",
            &format!("{seats}/requests"),
            Some(&manager),
            Some(json!({ "seats": 5 })),
        )
        .await;
    d.ok("organizations", "GET", "/seat-requests", Some(&admin), None).await;
    d.ok(
        "organizations",
        "POST",
        &format!("/seat-requests/{}/decision", asked["id"].as_str().unwrap()),
        Some(&admin),
        Some(json!({ "approve": true })),
    )
    .await;
    let added = d
        .ok(
            "invite",
            "POST",
            &format!("/organizations/{partner}/users"),
            Some(&admin),
            Some(json!({ "email": "seat.iam@northwind.example.com", "displayName": "Seat", "role": "partner_user" })),
        )
        .await;
    d.ok(
        "invite",
        "DELETE",
        &format!(
            "/organizations/{partner}/users/{}",
            added["user"]["id"].as_str().unwrap()
        ),
        Some(&admin),
        None,
    )
    .await;
    // Capability flags and a user's restriction, set and set back.
    let (_, org) = d.app.get_json(&format!("/organizations/{partner}"), &admin).await;
    d.ok(
        "organizations",
        "PUT",
        &format!("/organizations/{partner}/capabilities"),
        Some(&admin),
        Some(json!({ "capabilities": org["capabilities"], "version": org["version"] })),
    )
    .await;
    let pat = d.app.users[&Role::PartnerUser];
    for hide in [true, false] {
        d.ok(
            "invite",
            "PUT",
            &format!("/organizations/{partner}/users/{pat}/restrictions"),
            Some(&admin),
            Some(json!({ "hideOrganizationSettings": hide })),
        )
        .await;
    }
    // The switches and Partner Portal settings, saved unchanged.
    let config = d
        .ok("self-register", "GET", "/partner-portal", Some(&admin), None)
        .await;
    let config = d
        .ok("self-register", "PUT", "/partner-portal", Some(&admin), Some(config))
        .await;
    self_registration(d, &admin, config).await;
    workspace(d, &admin).await;

    // toggle-setting (the first change loses a race, and retries)
    d.ok("toggle-setting", "GET", "/settings-catalogue", Some(&puser), None)
        .await;
    d.conflict
        .conflict_next
        .store(true, std::sync::atomic::Ordering::SeqCst);
    d.ok(
        "toggle-setting",
        "GET",
        &format!("/customers/{customer}/settings"),
        Some(&puser),
        None,
    )
    .await;
    d.ok(
        "toggle-setting",
        "PUT",
        &format!("/customers/{customer}/settings/feed.comments"),
        Some(&puser),
        Some(json!({ "enabled": false, "version": 0 })),
    )
    .await;
    let nico = d.app.users[&Role::PartnerUser];
    d.ok(
        "toggle-setting",
        "POST",
        &format!("/partners/{partner}/setting-grants"),
        Some(&manager),
        Some(json!({ "userId": nico, "key": "sso.enforce" })),
    )
    .await;
    d.ok(
        "toggle-setting",
        "GET",
        &format!("/partners/{partner}/setting-grants?key=sso.enforce"),
        Some(&manager),
        None,
    )
    .await;
    d.ok(
        "toggle-setting",
        "DELETE",
        &format!("/partners/{partner}/setting-grants/{nico}/sso.enforce"),
        Some(&manager),
        None,
    )
    .await;
    let cat = d
        .ok("toggle-setting", "GET", "/settings-catalogue", Some(&admin), None)
        .await;
    d.ok(
        "toggle-setting",
        "PUT",
        "/settings-catalogue/new.setting",
        Some(&admin),
        Some(
            json!({ "name": "New", "description": "A new one", "group": "general", "restricted": false,
                     "defaultEnabled": true, "version": cat["version"] }),
        ),
    )
    .await;

    // invite: a partner with its first manager, who sets up and signs in (session).
    d.ok(
        "invite",
        "POST",
        "/invitations/partner",
        Some(&admin),
        Some(json!({ "organizationName": "Initrode", "email": "ian@initrode.example.com", "displayName": "Ian Manager" })),
    )
    .await;
    let ian = "ian@initrode.example.com";
    let token = d.app.last_token_to(ian).await;
    d.ok(
        "session",
        "POST",
        "/password/setup",
        None,
        Some(json!({ "token": token, "password": PASSWORD })),
    )
    .await;
    let step = d
        .ok(
            "session",
            "POST",
            "/session",
            None,
            Some(json!({ "email": ian, "password": PASSWORD })),
        )
        .await;
    let enrol = d
        .ok(
            "session",
            "POST",
            "/session/mfa-setup",
            None,
            Some(json!({ "session": step["session"] })),
        )
        .await;
    let secret = enrol["secret"].as_str().unwrap().to_string();
    let done = d
        .ok(
            "session",
            "POST",
            "/session/mfa-setup/confirm",
            None,
            Some(json!({ "session": enrol["session"], "code": portico_tests::code_at(&secret, 0) })),
        )
        .await;
    let codes = done["recoveryCodes"].clone();
    let step = d
        .ok(
            "session",
            "POST",
            "/session",
            None,
            Some(json!({ "email": ian, "password": PASSWORD })),
        )
        .await;
    let signed = d
        .ok(
            "session",
            "POST",
            "/session/mfa",
            None,
            Some(json!({ "session": step["session"], "code": portico_tests::code_at(&secret, 1) })),
        )
        .await;
    let ian_token = signed["token"].as_str().unwrap().to_string();
    assert_eq!(
        d.call(
            "session",
            "POST",
            "/session",
            None,
            Some(json!({ "email": ian, "password": "not it, sorry" }))
        )
        .await
        .0,
        401
    );
    // moto ignores AdminSetUserMFAPreference with Enabled false (the Rust
    // SDK leaves false flags out, which Cognito reads as false and moto as
    // "no change"), so these end in 503 on moto; their calls are recorded all the same.
    d.call(
        "session",
        "POST",
        "/me/mfa/reset",
        Some(&ian_token),
        Some(json!({ "password": PASSWORD })),
    )
    .await;
    d.call(
        "session",
        "POST",
        "/session/recover",
        None,
        Some(json!({ "email": ian, "password": PASSWORD, "recoveryCode": codes[0] })),
    )
    .await;
    d.ok(
        "session",
        "POST",
        "/password/forgot",
        None,
        Some(json!({ "email": ian })),
    )
    .await;
    let reset = d.app.last_token_to(ian).await;
    d.ok(
        "session",
        "POST",
        "/password/setup",
        None,
        Some(json!({ "token": reset, "password": "A new long passphrase 12" })),
    )
    .await;
    d.ok("session", "DELETE", "/session?everywhere=true", Some(&puser), None)
        .await;
    let puser = portico_core::sessions::open_local(
        &d.app.deps,
        &d.app.local_tokens,
        nico,
        60,
        d.clock.now() + Duration::days(365),
    )
    .await
    .unwrap();

    // invite: the rest of its routes.
    let sent = d
        .ok(
            "invite",
            "POST",
            "/invitations/customer",
            Some(&manager),
            Some(json!({ "email": "cy@cyberdyne.example.com" })),
        )
        .await;
    let inv = sent["invitation"]["id"].as_str().unwrap().to_string();
    d.ok(
        "invite",
        "GET",
        &format!("/organizations/{partner}/invitations"),
        Some(&manager),
        None,
    )
    .await;
    d.clock.advance(Duration::minutes(3));
    d.ok(
        "invite",
        "POST",
        &format!("/invitations/{inv}/resend"),
        Some(&manager),
        Some(json!({})),
    )
    .await;
    let accept = d.app.last_token_to("cy@cyberdyne.example.com").await;
    d.ok(
        "invite",
        "POST",
        "/invitations/accept",
        None,
        Some(json!({ "token": accept, "organizationName": "Cyberdyne", "displayName": "Cy Owner", "password": PASSWORD })),
    )
    .await;
    let sent = d
        .ok(
            "invite",
            "POST",
            "/invitations/customer",
            Some(&manager),
            Some(json!({ "email": "rev@revoked.example.com" })),
        )
        .await;
    d.ok(
        "invite",
        "POST",
        &format!("/invitations/{}/revoke", sent["invitation"]["id"].as_str().unwrap()),
        Some(&manager),
        Some(json!({})),
    )
    .await;
    let req = d
        .ok(
            "invite",
            "POST",
            "/user-requests",
            Some(&manager),
            Some(json!({ "email": "req@northwind.example.com", "displayName": "Rae Request", "role": "partner_user" })),
        )
        .await;
    d.ok("invite", "GET", "/user-requests", Some(&admin), None).await;
    d.ok(
        "invite",
        "POST",
        &format!("/user-requests/{}/decision", req["id"].as_str().unwrap()),
        Some(&admin),
        Some(json!({ "approve": true })),
    )
    .await;
    d.ok(
        "invite",
        "POST",
        &format!("/organizations/{partner}/users"),
        Some(&admin),
        Some(json!({ "email": "added@northwind.example.com", "displayName": "Ada Added", "role": "partner_user" })),
    )
    .await;
    d.ok(
        "invite",
        "GET",
        &format!("/organizations/{partner}/users"),
        Some(&admin),
        None,
    )
    .await;

    // A day later (outside the trusted range): every function's first request
    // asks for an email confirmation, and a second one replaces the link.
    d.clock.advance(Duration::hours(25));
    for (function, method, path) in [
        ("organizations", "GET", format!("/organizations/{partner}")),
        ("invite", "GET", format!("/organizations/{partner}/invitations")),
        ("toggle-setting", "GET", format!("/customers/{customer}/settings")),
        ("instances", "GET", format!("/customers/{customer}/instances")),
        ("workspace", "GET", "/projects".to_string()),
        ("session", "DELETE", "/session".to_string()),
    ] {
        let token = portico_core::sessions::open_local(
            &d.app.deps,
            &d.app.local_tokens,
            nico,
            60,
            d.clock.now() + Duration::days(365),
        )
        .await
        .unwrap();
        for _ in 0..2 {
            let (s, p) = d.call(function, method, &path, Some(&token), None).await;
            assert_eq!(s, 403, "{function} {path}: {p}");
            d.clock.advance(Duration::minutes(11));
        }
    }
    let link = d.app.last_token_to("user@northwind.example.com").await;
    d.ok(
        "session",
        "POST",
        "/email/confirm",
        None,
        Some(json!({ "token": link })),
    )
    .await;

    // Weeks without activity: the job warns, then suspends (its identity
    // call failing once, retried by the next run); the user asks to be
    // restored; the platform reinstates; weeks later the sweep route suspends.
    d.clock.advance(Duration::days(19));
    d.job("login-digest", Job::LoginDigest).await;
    d.job("delegation-sweep", Job::DelegationSweep).await;
    d.job("suspend-inactive", Job::SuspendInactive).await;
    d.clock.advance(Duration::days(4));
    d.faulty.fail_disable.store(true, std::sync::atomic::Ordering::SeqCst);
    d.job_failing("suspend-inactive", Job::SuspendInactive).await;
    d.faulty.fail_disable.store(false, std::sync::atomic::Ordering::SeqCst);
    d.job("suspend-inactive", Job::SuspendInactive).await;
    let admin = portico_core::sessions::open_local(
        &d.app.deps,
        &d.app.local_tokens,
        d.app.users[&Role::PlatformAdmin],
        60,
        d.clock.now() + Duration::days(365),
    )
    .await
    .unwrap();
    d.ok(
        "session",
        "POST",
        "/session/restore-request",
        None,
        Some(json!({ "email": "user@northwind.example.com" })),
    )
    .await;
    let _ = d
        .call(
            "invite",
            "POST",
            &format!("/organizations/{partner}/users/{nico}/restore-request"),
            Some(&manager),
            Some(json!({})),
        )
        .await;
    d.ok("invite", "GET", "/restore-requests", Some(&admin), None).await;
    d.ok(
        "invite",
        "POST",
        &format!("/organizations/{partner}/users/{nico}/reinstate"),
        Some(&admin),
        Some(json!({})),
    )
    .await;
    d.clock.advance(Duration::days(19));
    d.ok("invite", "POST", "/inactivity/sweep", Some(&admin), Some(json!({})))
        .await;
    d.clock.advance(Duration::days(4));
    d.ok("invite", "POST", "/inactivity/sweep", Some(&admin), Some(json!({})))
        .await;
    web_pages(d).await;
    instances(d, &admin).await;
    let _ = puser;
}

/// Instances: register one (a reference instance on loopback), list and
/// read it, verify now, the recreate path; the scheduled checks find it
/// broken and tell people.
async fn instances(d: &Driver, admin: &str) {
    use portico_core::instances::Profile;
    let (instance, base) = portico_tests::reference_instance().await;
    let c = d.clock.clone();
    instance.set_clock(Arc::new(move || c.now().timestamp()));
    let customer = d.app.orgs[&Role::CustomerAccountOwner];
    let owner = d.token(Role::CustomerAccountOwner);
    let path = format!("/customers/{customer}/instances");
    let reg = d
        .ok(
            "instances",
            "POST",
            &path,
            Some(admin),
            Some(json!({ "name": "IAM", "url": base })),
        )
        .await;
    let id = reg["instance"]["id"].as_str().unwrap().to_string();
    let setup = |secret: &Value| reference_instance::Setup {
        instance_id: id.clone(),
        secret: secret.as_str().unwrap().to_string(),
        url: base.clone(),
        profile: Profile::Present,
    };
    instance.configure(setup(&reg["secret"]));
    d.ok("instances", "GET", &path, Some(&owner), None).await;
    let one = format!("{path}/{id}");
    d.ok("instances", "GET", &one, Some(&owner), None).await;
    // The change loses a race once: its retry reads the chain head again.
    d.conflict
        .conflict_next
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let v = d
        .ok(
            "instances",
            "POST",
            &format!("{one}/verify"),
            Some(&owner),
            Some(json!({})),
        )
        .await;
    assert_eq!(v["connection"]["state"], "verified", "{v}");
    d.ok(
        "instances",
        "POST",
        &format!("{one}/recreate-requests"),
        Some(admin),
        Some(json!({ "note": "It moved." })),
    )
    .await;
    d.ok("instances", "GET", "/recreate-requests", Some(admin), None).await;
    let again = d
        .ok(
            "instances",
            "POST",
            &format!("{one}/recreate"),
            Some(admin),
            Some(json!({})),
        )
        .await;
    instance.configure(setup(&again["secret"]));
    d.clock.advance(Duration::minutes(2));
    d.job("verify-connection", Job::VerifyConnection).await;
    settings_reach_the_instance(d, &instance, customer).await;
    instance_pages(d, &instance, customer, &setup).await;
    // The instance now believes it lives elsewhere: broken, people told.
    instance.update(|s| s.url = "https://elsewhere.example.com".into());
    d.clock.advance(Duration::hours(2));
    d.job("verify-connection", Job::VerifyConnection).await;
}

/// Partner access and LogMeIn: the keys (published, a rotation's first
/// step undone), consent, notices, a request and its answer, a LogMeIn; the
/// support profile's roles.
/// Delegated roles: the customer grants its partner two roles (groups
/// opened, the notice sent), revokes one (its group deleted, its members
/// left to the sweep), and the partner reads the delegation, narrows it to
/// the groups and manages a member.
async fn partner_roles(d: &Driver) {
    let f = "grant-partner-role";
    let owner = d.token(Role::CustomerAccountOwner);
    let customer = d.app.orgs[&Role::CustomerAccountOwner];
    let partner = d.app.orgs[&Role::PartnerManager];
    let path = format!("/customers/{customer}/delegations/{partner}");
    let tell = json!(["it@northwind.example.com"]);
    d.ok(
        f,
        "PUT",
        &path,
        Some(&owner),
        Some(json!({ "roles": ["decision-maker", "phone-manager"], "notify": tell })),
    )
    .await;
    d.ok(
        f,
        "PUT",
        &path,
        Some(&owner),
        Some(json!({ "roles": ["decision-maker"], "notify": tell })),
    )
    .await;
    let manager = d.token(Role::PartnerManager);
    d.ok(f, "GET", &path, Some(&manager), None).await;
    d.ok(
        f,
        "PUT",
        &format!("/organizations/{partner}/delegations/{customer}/holders"),
        Some(&manager),
        Some(json!({ "everyone": false })),
    )
    .await;
    let group = format!("/organizations/{partner}/groups/{customer}/decision-maker");
    let member = format!("{group}/members/{}", d.app.users[&Role::PartnerUser]);
    d.ok(f, "PUT", &member, Some(&manager), Some(json!({}))).await;
    d.ok(f, "GET", &group, Some(&manager), None).await;
    d.ok(f, "DELETE", &member, Some(&manager), None).await;
    // A 1-day delegation to another partner: the sweep reminds at once (a
    // day before its end); it ends it weeks later, in the inactivity steps
    // (its group deleted, an event in both logs).
    let (_, other) = d
        .app
        .post(
            "/organizations",
            Some(&d.token(Role::PlatformAdmin)),
            json!({ "name": "IAM Consultants", "kind": "partner" }),
        )
        .await;
    let other = other["id"].as_str().unwrap().to_string();
    d.ok(
        f,
        "PUT",
        &format!("/customers/{customer}/delegations/{other}"),
        Some(&owner),
        Some(json!({ "roles": ["phone-manager"], "notify": tell, "termDays": 1 })),
    )
    .await;
    d.job("delegation-sweep", Job::DelegationSweep).await;
    // Nico, in person: Phone Manager for 30 days, read back, then revoked.
    let nico = d.app.users[&Role::PartnerUser];
    let person = format!("{path}/users/{nico}");
    d.ok(
        f,
        "PUT",
        &person,
        Some(&owner),
        Some(json!({ "roles": ["phone-manager"], "notify": tell, "termDays": 30 })),
    )
    .await;
    d.ok(f, "GET", &person, Some(&manager), None).await;
    d.ok(
        f,
        "PUT",
        &person,
        Some(&owner),
        Some(json!({ "roles": [], "notify": tell })),
    )
    .await;
    // Northwind asks for Phone Manager besides; Contoso approves.
    d.ok(
        f,
        "POST",
        &format!("{path}/request"),
        Some(&manager),
        Some(json!({ "roles": ["decision-maker", "phone-manager"], "notify": tell })),
    )
    .await;
    d.ok(
        f,
        "POST",
        &format!("{path}/decision"),
        Some(&owner),
        Some(json!({ "approve": true, "notify": tell })),
    )
    .await;
    // In bulk: ask Contoso and Fabrikam to renew for a year.
    let fabrikam = d
        .app
        .deps
        .table
        .query(&portico_core::store::Query::partition(
            portico_core::store::Index::Gsi2,
            portico_core::store::keys::partner_customers(partner),
        ))
        .await
        .unwrap()
        .items
        .iter()
        .map(|i| i.decode::<portico_core::domain::Organization>().unwrap().id)
        .find(|c| *c != customer)
        .unwrap();
    d.ok(
        f,
        "POST",
        &format!("/organizations/{partner}/delegations/bulk"),
        Some(&manager),
        Some(json!({ "idempotencyKey": "iam-bulk-renewal", "action": "extend", "customers": [customer, fabrikam], "termDays": 365, "notify": tell })),
    )
    .await;
    d.ok(
        f,
        "GET",
        &format!("/organizations/{partner}/relationships"),
        Some(&manager),
        None,
    )
    .await;
    // Every user holds the roles again, as the later steps expect.
    d.ok(
        f,
        "PUT",
        &format!("/organizations/{partner}/delegations/{customer}/holders"),
        Some(&manager),
        Some(json!({ "everyone": true })),
    )
    .await;
    // The staff list: Contoso invites a System Administrator; Northwind's
    // manager lists the staff and makes them a user; Contoso removes them.
    let staff = format!("/customers/{customer}/staff");
    let sam = d
        .ok(
            "invite",
            "POST",
            &staff,
            Some(&owner),
            Some(json!({ "email": "sam.iam@contoso.example.com", "displayName": "Sam", "role": "customer_admin" })),
        )
        .await;
    let sam = sam["id"].as_str().unwrap().to_string();
    d.ok("invite", "GET", &staff, Some(&manager), None).await;
    d.ok(
        "invite",
        "PUT",
        &format!("{staff}/{sam}"),
        Some(&manager),
        Some(json!({ "role": "customer_user" })),
    )
    .await;
    d.ok("invite", "DELETE", &format!("{staff}/{sam}"), Some(&owner), None)
        .await;
}

/// Seed 001's workspace: every route, with the writes that patch (health,
/// a rename carried to the participants, a value milestone), check (a
/// partner participant's licence) and delete (a participant, an entry).
async fn workspace(d: &Driver, admin: &str) {
    let f = "workspace";
    let puser = d.token(Role::PartnerUser);
    let nico = d.app.users[&Role::PartnerUser];
    let admin_id = d.app.users[&Role::PlatformAdmin];
    let partner = d.app.orgs[&Role::PartnerManager];
    let customer = d.app.orgs[&Role::CustomerAccountOwner];
    let config = d.ok(f, "GET", "/workspace", Some(admin), None).await;
    d.ok(f, "PUT", "/workspace", Some(admin), Some(config)).await;
    let p = d
        .ok(
            f,
            "POST",
            "/projects",
            Some(admin),
            Some(
                json!({ "customer": customer, "name": "IAM rollout", "phases": ["Discovery"], "start": "2026-11-02" }),
            ),
        )
        .await;
    let id = p["id"].as_str().unwrap().to_string();
    d.ok(f, "GET", "/projects", Some(admin), None).await;
    d.ok(
        f,
        "PUT",
        &format!("/projects/{id}/members/{nico}"),
        Some(admin),
        Some(json!({ "phases": [{ "phase": 1, "role": "Consultant", "level": "Delivery Lead" }] })),
    )
    .await;
    d.ok(f, "GET", &format!("/projects/{id}/members"), Some(admin), None)
        .await;
    let p = d.ok(f, "GET", &format!("/projects/{id}"), Some(&puser), None).await;
    let p = d
        .ok(
            f,
            "PUT",
            &format!("/projects/{id}"),
            Some(admin),
            Some(
                json!({ "version": p["version"], "name": "IAM rollout, renamed", "phases": ["Discovery", "Build"],
                         "start": "2026-11-02" }),
            ),
        )
        .await;
    d.ok(
        f,
        "PUT",
        &format!("/projects/{id}/health"),
        Some(&puser),
        Some(json!({ "version": p["version"], "health": "amber", "reason": "Data late" })),
    )
    .await;
    let mut task_id = String::new();
    for (seg, body) in [
        (
            "milestones",
            json!({ "name": "Go-live", "planned": "2026-12-18", "actual": "2026-12-17", "marksValue": true }),
        ),
        ("tasks", json!({ "title": "Map the data", "status": "todo" })),
        (
            "raid",
            json!({ "kind": "risk", "title": "Data quality", "severity": "high", "status": "open" }),
        ),
    ] {
        let path = format!("/projects/{id}/phases/1/{seg}");
        let item = d.ok(f, "POST", &path, Some(&puser), Some(body.clone())).await;
        d.ok(f, "GET", &path, Some(&puser), None).await;
        let mut change = body;
        change["version"] = item["version"].clone();
        d.ok(
            f,
            "PUT",
            &format!("{path}/{}", item["id"].as_str().unwrap()),
            Some(&puser),
            Some(change),
        )
        .await;
        if seg == "tasks" {
            task_id = item["id"].as_str().unwrap().to_string();
        }
    }
    d.ok(
        f,
        "POST",
        &format!("/projects/{id}/reports"),
        Some(&puser),
        Some(json!({ "periodStart": "2026-11-02", "periodEnd": "2026-11-13", "summary": "On track.", "health": "green" })),
    )
    .await;
    d.ok(f, "GET", &format!("/projects/{id}/reports"), Some(&puser), None)
        .await;
    d.ok(f, "GET", &format!("/projects/{id}/activity"), Some(admin), None)
        .await;
    let person = format!("/organizations/{partner}/users/{nico}");
    let r = d.ok(f, "GET", &format!("{person}/resource"), Some(&puser), None).await;
    d.ok(
        f,
        "PUT",
        &format!("{person}/resource"),
        Some(admin),
        Some(
            json!({ "version": r["version"], "skills": ["Rust"], "hoursPerWeek": 32, "supervisor": admin_id,
                     "schedulable": true }),
        ),
    )
    .await;
    let week = format!("{person}/timesheets/2026-11-30");
    let entry =
        |hours: &str| json!({ "day": "2026-12-01", "projectId": id, "phase": 1, "taskId": task_id, "hours": hours });
    let first = d
        .ok(f, "POST", &format!("{week}/entries"), Some(&puser), Some(entry("2")))
        .await;
    d.ok(
        f,
        "DELETE",
        &format!("{week}/entries/{}", first["entries"][0]["id"].as_str().unwrap()),
        Some(&puser),
        None,
    )
    .await;
    // The entry loses a race to another writer of the sheet: it re-reads the sheet and retries.
    d.conflict
        .conflict_next
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let sheet = d
        .ok(f, "POST", &format!("{week}/entries"), Some(&puser), Some(entry("7.5")))
        .await;
    d.ok(f, "GET", &week, Some(&puser), None).await;
    d.ok(f, "GET", &format!("{person}/timesheets"), Some(&puser), None)
        .await;
    let sub = d
        .ok(
            f,
            "POST",
            &format!("{week}/submit"),
            Some(&puser),
            Some(json!({ "version": sheet["timesheet"]["version"] })),
        )
        .await;
    d.ok(f, "GET", "/approvals", Some(admin), None).await;
    d.ok(
        f,
        "POST",
        &format!("{week}/decision"),
        Some(admin),
        Some(json!({ "version": sub["version"], "approve": true })),
    )
    .await;
    let claim = json!({ "spentOn": "2026-12-01", "amount": { "amount": "42.10", "currency": "EUR" },
                        "category": "travel", "description": "Train" });
    let x = d
        .ok(
            f,
            "POST",
            &format!("{person}/expenses"),
            Some(&puser),
            Some(claim.clone()),
        )
        .await;
    let mut change = claim;
    change["version"] = x["version"].clone();
    let x = d
        .ok(
            f,
            "PUT",
            &format!("{person}/expenses/{}", x["id"].as_str().unwrap()),
            Some(&puser),
            Some(change),
        )
        .await;
    d.ok(f, "GET", &format!("{person}/expenses"), Some(&puser), None).await;
    d.ok(
        f,
        "POST",
        &format!("{person}/expenses/{}/decision", x["id"].as_str().unwrap()),
        Some(admin),
        Some(json!({ "version": x["version"], "approve": false, "reason": "No receipt" })),
    )
    .await;
    d.ok(
        f,
        "DELETE",
        &format!("/projects/{id}/members/{nico}"),
        Some(admin),
        None,
    )
    .await;
}

/// Seed 002: the templates, the link and a key, two moderated sign-ups (one
/// approved, one rejected), the portal texts; then the settings as they were.
async fn self_registration(d: &Driver, admin: &str, config: Value) {
    let f = "self-register";
    let partner = d.app.orgs[&Role::PartnerManager];
    let model = d
        .ok(
            "organizations",
            "POST",
            "/organizations",
            Some(admin),
            Some(json!({ "name": "IAM Model Partners", "kind": "partner", "template": true })),
        )
        .await;
    let model_id = model["id"].as_str().unwrap();
    let model_user = d
        .ok(
            "invite",
            "POST",
            &format!("/organizations/{model_id}/users"),
            Some(admin),
            Some(
                json!({ "email": "model.iam@portico.example.com", "displayName": "Model", "role": "partner_manager" }),
            ),
        )
        .await;
    let mut on = config.clone();
    on["allowExternalCreation"] = json!(true);
    on["moderated"] = json!(true);
    on["modelUser"] = model_user["user"]["id"].clone();
    let on = d.ok(f, "PUT", "/partner-portal", Some(admin), Some(on)).await;
    let texts = d.ok(f, "GET", "/portal-texts", None, None).await;
    d.ok(
        f,
        "PUT",
        "/portal-texts/initiation",
        Some(admin),
        Some(json!({ "html": "<p>Welcome</p>", "version": texts["initiation"]["version"] })),
    )
    .await;
    let link = d
        .ok(f, "POST", "/partner-portal/signup-link", Some(admin), Some(json!({})))
        .await;
    let link = link["link"]["id"].as_str().unwrap().to_string();
    let key = d
        .ok(
            f,
            "POST",
            &format!("/organizations/{partner}/signup-key"),
            Some(admin),
            Some(json!({})),
        )
        .await;
    let key = key["key"].as_str().unwrap().to_string();
    d.ok(f, "GET", &format!("/signup-links/{link}?key={key}"), None, None)
        .await;
    for (who, approve) in [("kept", true), ("refused", false)] {
        let email = format!("{who}.iam@globex.example.com");
        d.ok(
            f,
            "POST",
            &format!("/signup-links/{link}/signups"),
            None,
            Some(json!({ "email": email, "organizationName": format!("IAM {who}"), "displayName": who, "key": key })),
        )
        .await;
        let token = d.app.last_token_to(&email).await;
        let made = d
            .ok(
                f,
                "POST",
                "/signup/complete",
                None,
                Some(json!({ "token": token, "password": portico_tests::PASSWORD })),
            )
            .await;
        d.ok(f, "GET", "/signups", Some(admin), None).await;
        d.ok(
            f,
            "POST",
            &format!("/signups/{}/decision", made["organization"]["id"].as_str().unwrap()),
            Some(admin),
            Some(json!({ "approve": approve })),
        )
        .await;
    }
    let now = d.ok(f, "GET", "/partner-portal", Some(admin), None).await;
    let mut off = config;
    off["version"] = now["version"].clone();
    assert_eq!(on["moderated"], json!(true));
    d.ok(f, "PUT", "/partner-portal", Some(admin), Some(off)).await;
}

async fn instance_access(d: &Driver, admin: &str) {
    let f = "instance-access";
    let owner = d.token(Role::CustomerAccountOwner);
    let puser = d.token(Role::PartnerUser);
    let customer = d.app.orgs[&Role::CustomerAccountOwner];
    // A verified instance of its own.
    let (instance, url) = portico_tests::reference_instance().await;
    let c = d.clock.clone();
    instance.set_clock(Arc::new(move || c.now().timestamp()));
    let reg = d
        .ok(
            "instances",
            "POST",
            &format!("/customers/{customer}/instances"),
            Some(admin),
            Some(json!({ "name": "IAM access", "url": url })),
        )
        .await;
    let id = reg["instance"]["id"].as_str().unwrap().to_string();
    instance.configure(reference_instance::Setup {
        instance_id: id.clone(),
        secret: reg["secret"].as_str().unwrap().to_string(),
        url: url.clone(),
        profile: portico_core::instances::Profile::Missing,
    });
    let v = d
        .ok(
            "instances",
            "POST",
            &format!("/customers/{customer}/instances/{id}/verify"),
            Some(admin),
            Some(json!({})),
        )
        .await;
    assert_eq!(v["connection"]["state"], "verified", "{v}");
    // The first LogMeIn ever, from the pages: the web function starts the
    // key ring from the template's key (its public key), then signs.
    d.ok(
        f,
        "PUT",
        &format!("/customers/{customer}/instances/{id}/access"),
        Some(&owner),
        Some(json!({ "mode": "standing" })),
    )
    .await;
    {
        use portico_tests::web::WebClient;
        let web = WebClient::signed_in(&d.app, Role::PartnerUser).await;
        *d.rec.current.lock().unwrap() = Some("web".into());
        let list = web.get("/customers").await;
        let carry = web
            .post(&format!("/customers/{customer}/instances/{id}/logmein"), &[])
            .await;
        *d.rec.current.lock().unwrap() = None;
        assert_eq!(list.status, 200, "{}", list.body);
        assert!(list.body.contains("> to IAM access</span>"), "{}", list.body);
        assert_eq!(carry.status, 200, "{}", carry.body);
        assert!(carry.body.contains("name=\"assertion\""), "{}", carry.body);
    }
    d.ok(f, "GET", "/.well-known/jwks.json", None, None).await;
    d.ok(f, "GET", "/login-keys", Some(admin), None).await;
    let staged = d.ok(f, "POST", "/login-keys", Some(admin), Some(json!({}))).await;
    let next = super::logmein::staged_kid(&staged);
    d.ok(f, "DELETE", &format!("/login-keys/{next}"), Some(admin), None)
        .await;
    let (s, _) = d
        .call(f, "POST", &format!("/login-keys/{next}/activate"), Some(admin), None)
        .await;
    assert_eq!(s, 404);
    let base = format!("/customers/{customer}");
    d.ok(
        f,
        "PUT",
        &format!("{base}/instances/{id}/access"),
        Some(&owner),
        Some(json!({ "mode": "ask" })),
    )
    .await;
    d.ok(
        f,
        "PUT",
        &format!("{base}/access-notices"),
        Some(&owner),
        Some(json!({ "mode": "each_login" })),
    )
    .await;
    let r = d
        .ok(
            f,
            "POST",
            &format!("{base}/instances/{id}/access-requests"),
            Some(&puser),
            Some(json!({ "reason": "Ticket 4411: SSO broken", "durationMinutes": 60 })),
        )
        .await;
    d.ok(f, "GET", "/access-requests", Some(&puser), None).await;
    d.ok(f, "GET", &format!("{base}/access"), Some(&owner), None).await;
    d.ok(
        f,
        "POST",
        &format!("{base}/access-requests/{}/decision", r["id"].as_str().unwrap()),
        Some(&owner),
        Some(json!({ "approve": true })),
    )
    .await;
    let form = d
        .ok(f, "POST", &format!("{base}/instances/{id}/login"), Some(&puser), None)
        .await;
    let assertion = form["assertion"].as_str().unwrap();
    instance.set_portico(&d.app.url(""));
    instance.set_issuer(&d.app.deps.settings.public_url);
    instance
        .redeem(assertion)
        .await
        .expect("the instance takes the assertion");
    // A daily digest instead: the next sign-in goes in it (the digest job
    // runs once the clock has moved on, in `run_everything`).
    d.ok(
        f,
        "PUT",
        &format!("{base}/access-notices"),
        Some(&owner),
        Some(json!({ "mode": "daily_digest" })),
    )
    .await;
    d.ok(f, "POST", &format!("{base}/instances/{id}/login"), Some(&puser), None)
        .await;
    d.ok(
        "instances",
        "PUT",
        &format!("{base}/instances/{id}/support-profile"),
        Some(admin),
        Some(json!({ "roles": ["Admin", "Support"] })),
    )
    .await;
}

/// The instance on the pages: the customer list re-checks it, "Verify
/// now", the recreate request and the platform's recreation.
async fn instance_pages(
    d: &Driver,
    instance: &reference_instance::Instance,
    customer: OrgId,
    setup: &dyn Fn(&Value) -> reference_instance::Setup,
) {
    use portico_tests::web::WebClient;
    let web = WebClient::signed_in(&d.app, Role::PlatformAdmin).await;
    *d.rec.current.lock().unwrap() = Some("web".into());
    let ok = |p: &portico_tests::web::Page, what: &str| assert!(p.status < 400, "{what}: {} {}", p.status, p.body);
    d.clock.advance(Duration::minutes(6));
    let list = web.get("/customers").await;
    ok(&list, "customers");
    assert!(list.body.contains("✓ Verified"), "{}", list.body);
    let page = web.get(&format!("/customers/{customer}")).await;
    ok(&page, "settings");
    let id = page
        .body
        .split(&format!("/customers/{customer}/verify/"))
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_string();
    d.clock.advance(Duration::minutes(1));
    ok(
        &web.post(&format!("/customers/{customer}/verify/{id}"), &[]).await,
        "verify now",
    );
    let recreate = format!("/customers/{customer}/recreate/{id}");
    ok(&web.get(&recreate).await, "the recreate request form");
    ok(
        &web.post(&recreate, &[("new_url", ""), ("note", "From the page.")])
            .await,
        "ask to recreate",
    );
    ok(&web.get("/admin/requests").await, "the queue");
    let done = web
        .post(&format!("/admin/recreate/{customer}/{id}"), &[("url", "")])
        .await;
    ok(&done, "recreate");
    *d.rec.current.lock().unwrap() = None;
    let secret = done
        .body
        .split("id=\"secret\">")
        .nth(1)
        .and_then(|r| r.split('<').next())
        .unwrap()
        .to_string();
    instance.configure(setup(&Value::String(secret)));
    d.clock.advance(Duration::minutes(2));
    d.job("verify-connection", Job::VerifyConnection).await;
}

/// A settings change reaches the (verified) instance: through the stream's
/// function; with the instance down, through the schedule's retry; and the
/// instance pulls.
async fn settings_reach_the_instance(d: &Driver, instance: &reference_instance::Instance, customer: OrgId) {
    // (The partner's users were suspended for inactivity by now: the platform's admin changes it.)
    let manager = d.token(Role::PlatformAdmin);
    let settings = format!("/customers/{customer}/settings");
    let toggle = || async {
        let page = d.ok("toggle-setting", "GET", &settings, Some(&manager), None).await;
        let s = page["settings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["editable"] == true)
            .unwrap()
            .clone();
        d.ok(
            "toggle-setting",
            "PUT",
            &format!("{settings}/{}", s["key"].as_str().unwrap()),
            Some(&manager),
            Some(json!({ "enabled": !s["enabled"].as_bool().unwrap(), "version": s["version"] })),
        )
        .await;
    };
    let stream = || async {
        let event = json!({ "Records": [{
            "eventID": "1", "eventName": "MODIFY", "eventSource": "aws:dynamodb",
            "dynamodb": {
                "Keys": { "pk": { "S": format!("ORG#{customer}") }, "sk": { "S": "DELIVERY" } },
                "SequenceNumber": "1", "StreamViewType": "NEW_IMAGE"
            }
        }]});
        *d.rec.current.lock().unwrap() = Some("deliver-changes".into());
        let r = portico_core::functions::deliver_changes::handle(&d.app.deps, event).await;
        *d.rec.current.lock().unwrap() = None;
        assert_eq!(r.unwrap(), json!({ "batchItemFailures": [] }));
    };
    toggle().await;
    stream().await;
    let seq = instance.applied().seq;
    assert!(seq > 0, "delivered through the stream");
    instance.set_down(true);
    toggle().await;
    stream().await;
    instance.set_down(false);
    d.clock.advance(Duration::minutes(1));
    d.job("deliver-changes", Job::DeliverChanges).await;
    assert!(instance.applied().seq > seq, "delivered by the retry");
    instance.forget();
    instance.set_portico(&d.app.base);
    *d.rec.current.lock().unwrap() = Some("instances".into());
    let pulled = instance.pull().await;
    *d.rec.current.lock().unwrap() = None;
    assert!(pulled.unwrap() > seq, "pulled");
}

/// The web pages a person uses, from the emailed link to a toggled setting
/// and back, recorded as the `web` function's calls.
async fn web_pages(d: &Driver) {
    use portico_tests::web::WebClient;
    let email = "wendy@webpartner.example.com";
    d.ok(
        "invite",
        "POST",
        "/invitations/partner",
        Some(&d.token(Role::PlatformAdmin)),
        Some(json!({ "organizationName": "Web Partners", "email": email, "displayName": "Wendy" })),
    )
    .await;
    let token = d.app.last_token_to(email).await;
    *d.rec.current.lock().unwrap() = Some("web".into());
    let web = WebClient::new(&d.app);
    assert_eq!(web.get(&format!("/setup-password?token={token}")).await.status, 200);
    let set = web
        .post(
            "/setup-password",
            &[("token", &token), ("password", PASSWORD), ("password-again", PASSWORD)],
        )
        .await;
    assert_eq!(set.status, 303, "{}", set.body);
    web.get("/sign-in").await;
    let step = web.post("/sign-in", &[("email", email), ("password", PASSWORD)]).await;
    assert_eq!(step.location(), Some("/sign-in/authenticator"), "{}", step.body);
    let enrol = web.get("/sign-in/authenticator").await;
    let secret = enrol
        .body
        .split("id=\"totp-secret\">")
        .nth(1)
        .and_then(|r| r.split('<').next())
        .unwrap()
        .to_string();
    let done = web
        .post(
            "/sign-in/authenticator",
            &[("code", &portico_tests::code_at(&secret, 0))],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(web.get("/customers").await.status, 200);
    assert_eq!(web.post("/sign-out", &[]).await.status, 303);
    web.sign_in(email, PASSWORD, || portico_tests::code_at(&secret, 1))
        .await;
    assert_eq!(web.post("/sign-out", &[]).await.status, 303);
    let puser = WebClient::signed_in(&d.app, Role::PlatformAdmin).await;
    let customer = d.app.orgs[&Role::CustomerAccountOwner];
    let page = puser.get(&format!("/customers/{customer}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let version =
        portico_tests::web::input_value(page.body.split_once("toggle/feed.reactions").unwrap().1, "version").unwrap();
    let toggled = puser
        .post(
            &format!("/customers/{customer}/toggle/feed.reactions"),
            &[("enabled", "false"), ("version", &version)],
        )
        .await;
    assert_eq!(toggled.status, 303, "{}", toggled.body);
    web.get("/forgot-password").await;
    assert_eq!(web.post("/forgot-password", &[("email", email)]).await.status, 200);

    // Wendy (signed in again) manages her partner from the pages.
    web.sign_in(email, PASSWORD, || portico_tests::code_at(&secret, 2))
        .await;
    let ok = |p: &portico_tests::web::Page, what: &str| assert!(p.status < 400, "{what}: {} {}", p.status, p.body);
    ok(&web.get("/team").await, "team");
    ok(
        &web.post(
            "/team/ask",
            &[
                ("email", "asked@webpartner.example.com"),
                ("name", "Asked Person"),
                ("role", "partner_user"),
            ],
        )
        .await,
        "ask for a user",
    );
    ok(
        &web.post("/invite-customer", &[("email", "web-customer@example.com")])
            .await,
        "invite a customer",
    );
    let team = web.get("/team").await;
    let invitation = team
        .body
        .split("/team/invitations/")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap()
        .to_string();
    ok(
        &web.post(&format!("/team/invitations/{invitation}/resend"), &[]).await,
        "resend",
    );
    ok(
        &web.post(&format!("/team/invitations/{invitation}/revoke"), &[]).await,
        "revoke",
    );
    let ranges = web.get("/trusted-ranges").await;
    let version = portico_tests::web::input_value(&ranges.body, "version").unwrap();
    ok(
        &web.post(
            "/trusted-ranges",
            &[("ranges", "198.51.100.0/24"), ("version", &version)],
        )
        .await,
        "ranges",
    );
    ok(&web.get("/permissions").await, "permissions");
    ok(&web.get("/activity-log").await, "activity");
    ok(&web.get("/activity-log/export").await, "export");
    ok(&web.get("/activity-log/verify").await, "verify");

    // The platform's pages.
    let admin = WebClient::signed_in(&d.app, Role::PlatformAdmin).await;
    let partner = d.app.orgs[&Role::PartnerManager].to_string();
    ok(&admin.get("/admin/organizations").await, "organisations");
    ok(
        &admin
            .post(
                "/admin/organizations",
                &[("name", "Web Customer"), ("kind", "customer"), ("partner", &partner)],
            )
            .await,
        "create",
    );
    ok(
        &admin
            .post(
                "/admin/invite-partner",
                &[
                    ("name", "Invited Partners"),
                    ("manager-email", "ivy@invited.example.com"),
                    ("manager-name", "Ivy"),
                ],
            )
            .await,
        "invite a partner",
    );
    let queue = admin.get("/admin/requests").await;
    let request = queue
        .body
        .split("action=\"/admin/requests/")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_string();
    ok(
        &admin
            .post(&format!("/admin/requests/{request}"), &[("decision", "approve")])
            .await,
        "approve",
    );
    let catalogue = admin.get("/admin/catalogue").await;
    let version = portico_tests::web::input_value(&catalogue.body, "version").unwrap();
    ok(
        &admin
            .post(
                "/admin/catalogue",
                &[
                    ("key", "web.setting"),
                    ("name", "Web setting"),
                    ("description", "Set on a page."),
                    ("group", "general"),
                    ("version", &version),
                ],
            )
            .await,
        "catalogue",
    );
    let owner = WebClient::signed_in(&d.app, Role::CustomerAccountOwner).await;
    let policy = owner.get("/mfa-policy").await;
    let version = portico_tests::web::input_value(&policy.body, "version").unwrap();
    ok(
        &owner
            .post("/mfa-policy", &[("required", "true"), ("version", &version)])
            .await,
        "MFA policy",
    );
    ok(&owner.get("/team").await, "the customer's users");

    // Weeks later the sweep page suspends Wendy; she asks back in; the platform restores her.
    d.clock.advance(Duration::days(23));
    let admin = WebClient::signed_in(&d.app, Role::PlatformAdmin).await;
    ok(&admin.get("/admin/sweep").await, "sweep page");
    let swept = admin.post("/admin/sweep", &[]).await;
    ok(&swept, "sweep");
    assert!(
        !swept.body.contains("<dt>Suspended</dt><dd>0</dd>"),
        "the sweep page suspended someone: {}",
        swept.body
    );
    let anonymous = WebClient::new(&d.app);
    anonymous.get("/restore-access").await;
    ok(
        &anonymous.post("/restore-access", &[("email", email)]).await,
        "ask to be restored",
    );
    let queue = admin.get("/admin/requests").await;
    let restore = queue
        .body
        .split("action=\"/admin/restore/")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_string();
    ok(
        &admin.post(&format!("/admin/restore/{restore}"), &[]).await,
        "reinstate",
    );
    *d.rec.current.lock().unwrap() = None;
}

/// The IAM actions the template grants each function (by crate name).
fn granted() -> Seen {
    let t = crate::infra::template();
    let mut out = Seen::new();
    for (_, r) in t["Resources"].as_mapping().unwrap() {
        if r["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let name = r["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap().to_string();
        let mut actions = BTreeSet::new();
        for policy in r["Properties"]["Policies"].as_sequence().into_iter().flatten() {
            for st in policy["Statement"].as_sequence().into_iter().flatten() {
                for a in st["Action"].as_sequence().into_iter().flatten() {
                    actions.insert(a.as_str().unwrap().to_string());
                }
            }
        }
        out.insert(name, actions);
    }
    out
}

#[tokio::test]
async fn every_function_is_granted_exactly_the_calls_it_makes() {
    let rec = Recorder::default();
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let faulty: Arc<Mutex<Option<Arc<portico_tests::FaultyIdentity>>>> = Default::default();
    let f2 = faulty.clone();
    let conflict: Arc<Mutex<Option<Arc<portico_tests::FaultyTable>>>> = Default::default();
    let c2 = conflict.clone();
    let app = TestApp::spawn_with(
        Backend::Dynamo,
        Options {
            clock: clock.clone(),
            sdk_interceptor: Some(SharedInterceptor::new(rec.clone())),
            wrap: Some(Box::new(move |t| {
                let c = Arc::new(portico_tests::FaultyTable::new(t));
                *c2.lock().unwrap() = Some(c.clone());
                c as Arc<dyn portico_core::store::Table>
            })),
            wrap_identity: Some(Box::new(move |i| {
                let f = Arc::new(portico_tests::FaultyIdentity::new(i));
                *f2.lock().unwrap() = Some(f.clone());
                f as Arc<dyn portico_core::identity::Identity>
            })),
            ..Default::default()
        },
    )
    .await;
    let faulty = faulty.lock().unwrap().clone().unwrap();
    let conflict = conflict.lock().unwrap().clone().unwrap();
    let d = Driver {
        conflict,
        app,
        rec: rec.clone(),
        clock,
        faulty,
    };
    run_everything(&d).await;
    let seen = rec.seen.lock().unwrap().clone();
    let granted = granted();
    let mut report = Vec::new();
    for (function, grants) in &granted {
        let calls = seen.get(function).cloned().unwrap_or_default();
        let missing: Vec<_> = calls.difference(grants).collect();
        let unused: Vec<_> = grants.difference(&calls).collect();
        if !missing.is_empty() || !unused.is_empty() {
            report.push(format!("{function}: lacks {missing:?}, never uses {unused:?}"));
        }
    }
    for function in seen.keys() {
        assert!(
            granted.contains_key(function),
            "{function} has no resource in the template"
        );
    }
    println!("IAM actions per function, as called: {seen:#?}");
    assert!(
        report.is_empty(),
        "the template's policies disagree with the calls:\n{}",
        report.join("\n")
    );
}
