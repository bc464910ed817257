//! Fixes of the outside review (issue 10) that are one test each, on both
//! backends: anonymous events of public routes, the inactivity clock from
//! the first password.

use std::sync::Arc;

use chrono::{Duration, Utc};
use portico_core::audit::ActivityEvent;
use portico_core::clock::{Clock, ManualClock};
use portico_core::domain::OrgId;
use portico_core::store::{Index, Query, keys};
use portico_tests::{Backend, Options, PASSWORD, TestApp};
use serde_json::json;

async fn app_with_clock(b: Backend) -> (TestApp, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_with(
        b,
        Options {
            clock: clock.clone(),
            ..Default::default()
        },
    )
    .await;
    (app, clock)
}

async fn log_of(app: &TestApp, org: OrgId) -> Vec<ActivityEvent> {
    let page = app
        .deps
        .table
        .query(&Query::partition(Index::Primary, keys::activity_partition(org)).limit(1000))
        .await
        .unwrap();
    page.items.iter().map(|i| i.decode().unwrap()).collect()
}

/// Someone who set a password and never enrolled MFA is swept like anyone
/// else (the clock starts at the password); asking to be restored without
/// signing in writes an anonymous event naming the account as its target,
/// as does asking for a password link.
pub async fn the_clock_starts_at_the_password_and_public_requests_are_anonymous(b: Backend) {
    let (app, clock) = app_with_clock(b).await;
    let partner = app.orgs[&portico_core::domain::Role::PartnerManager];
    let email = format!("half-{}@northwind.example.com", uuid::Uuid::new_v4().simple());
    app.add_partner_user(&email).await;
    let token = app.last_token_to(&email).await;
    let (s, body) = app
        .post("/password/setup", None, json!({ "token": token, "password": PASSWORD }))
        .await;
    assert_eq!(s, 200, "{body}");
    let user = body["userId"].as_str().map(str::to_string);

    clock.advance(Duration::days(22));
    let report = portico_core::ops::inactivity::sweep(&app.deps).await.unwrap();
    assert_eq!(report.suspended, 1, "set a password, never enrolled: swept: {report:?}");

    // Asking for a password link and for restoring access, without a token.
    let (s, _) = app.post("/password/forgot", None, json!({ "email": email })).await;
    assert_eq!(s, 202);
    let (s, _) = app
        .post("/session/restore-request", None, json!({ "email": email }))
        .await;
    assert_eq!(s, 202);
    let log = log_of(&app, partner).await;
    let public: Vec<&ActivityEvent> = log
        .iter()
        .filter(|e| e.description.contains("127.0.0.1") && e.description.contains(&email))
        .collect();
    assert_eq!(public.len(), 2, "{log:#?}");
    for e in public {
        assert_eq!(
            (e.actor_user_id, e.actor_email.as_ref(), e.actor_org_id),
            (None, None, None),
            "anonymous: {e:?}"
        );
        assert_eq!(e.source_ip, "127.0.0.1");
        assert_eq!(e.target.kind, "user");
        if let Some(u) = &user {
            assert_eq!(&e.target.id, u);
        }
        assert!(!e.target.id.is_empty());
    }
    // The chain still verifies with anonymous events in it.
    let (s, v) = app
        .get_json(
            &format!("/organizations/{partner}/activity/verify"),
            app.token(portico_core::domain::Role::PlatformAdmin),
        )
        .await;
    assert_eq!((s, v["intact"].as_bool()), (200, Some(true)), "{v}");
    let _ = clock.now();
}

macro_rules! on_backend {
    ($name:ident, $backend:expr) => {
        mod $name {
            #[tokio::test]
            async fn the_clock_starts_at_the_password_and_public_requests_are_anonymous() {
                super::the_clock_starts_at_the_password_and_public_requests_are_anonymous($backend).await
            }
        }
    };
}

on_backend!(embedded_sqlite, portico_tests::Backend::Sqlite);
on_backend!(aws_on_emulators, portico_tests::Backend::Dynamo);
