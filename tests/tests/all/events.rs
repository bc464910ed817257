//! Every sample event in `events/` goes through its function's real code:
//! API Gateway HTTP API v2 events through `lambda_http::request::from_str`
//! into the function's router; EventBridge events into the job handler.
//! File names end in `.<expected status>.json`.
//!
//! The samples' `sub` claims name the demo users as seeded with sequential
//! ids of prefix 0: orgs are ...01 to ...04, users ...05 (platform admin),
//! ...06 (partner manager), ...07 (partner user), ...08 (customer owner).

use std::path::PathBuf;

use http_body_util::BodyExt;
use portico_core::http::{Function, function_router};
use portico_core::jobs::{self, Job};
use portico_tests::{Backend, Options, test_deps};
use tower::ServiceExt;

fn events_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../events"))
}

fn samples(function: &str) -> Vec<(String, String, u16)> {
    let dir = events_dir().join(function);
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|_| panic!("events/{function}/ exists")) {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let Some(stem) = name.strip_suffix(".json") else {
            continue;
        };
        let status: u16 = stem
            .rsplit('.')
            .next()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("events/{function}/{name}: name it <what>.<expected status>.json"));
        out.push((name.clone(), std::fs::read_to_string(&path).unwrap(), status));
    }
    assert!(!out.is_empty(), "events/{function}/ has samples");
    out.sort();
    out
}

#[tokio::test]
async fn http_samples_run_through_their_function_router() {
    let opts = Options {
        ids_prefix: Some(0),
        api_gateway_auth: true,
        ..Default::default()
    };
    let (deps, _ids, _tokens, _dir, _pool) = test_deps(Backend::Sqlite, opts).await;
    open_sample_sessions(&deps).await;
    let mut ran = 0;
    let mut covered = std::collections::BTreeSet::new();
    for f in [
        Function::Organizations,
        Function::Invite,
        Function::Session,
        Function::ToggleSetting,
    ] {
        for (name, text, expected) in samples(f.name()) {
            let raw: serde_json::Value = serde_json::from_str(&text).unwrap();
            let (method, route) = raw["routeKey"].as_str().unwrap().split_once(' ').unwrap();
            covered.insert((method.to_string(), route.to_string()));
            let req = lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            let resp = function_router(f, deps.clone())
                .oneshot(req.map(axum::body::Body::new))
                .await
                .unwrap();
            let status = resp.status().as_u16();
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(
                status,
                expected,
                "events/{}/{name}: {}",
                f.name(),
                String::from_utf8_lossy(&body)
            );
            ran += 1;
        }
    }
    assert!(ran >= 30, "{ran} samples");
    assert_eq!(
        covered,
        crate::openapi::documented_routes(),
        "every route has a sample event, and no sample is for a route that does not exist"
    );
}

#[tokio::test]
async fn scheduled_samples_run_through_their_job() {
    let (deps, _ids, _tokens, _dir, _pool) = test_deps(Backend::Sqlite, Options::default()).await;
    for (function, job) in [
        ("suspend-inactive", Job::SuspendInactive),
        ("verify-connection", Job::VerifyConnection),
    ] {
        for (name, text, expected) in samples(function) {
            let event: serde_json::Value = serde_json::from_str(&text).unwrap();
            let status = match jobs::handle_scheduled(&deps, job, event).await {
                Ok(_) => 200,
                Err(e) => e.status().as_u16(),
            };
            assert_eq!(status, expected, "events/{function}/{name}");
        }
    }
}

/// Seeds the demo data and opens the sessions the samples' claims name
/// (`scripts/make-events.py`): sample-session-<user id> and
/// sample-signout-<user id> for each demo user.
pub async fn open_sample_sessions(deps: &portico_core::app::Deps) {
    let users = portico_core::seed::demo(deps).await.unwrap();
    let until = chrono::Utc::now() + chrono::Duration::hours(1);
    for u in users {
        let user: portico_core::domain::User = deps
            .table
            .get(&portico_core::store::keys::user(u.id))
            .await
            .unwrap()
            .unwrap()
            .decode()
            .unwrap();
        for prefix in ["sample-session", "sample-signout"] {
            let open = portico_core::sessions::open(&user, &format!("{prefix}-{}", u.id), until).unwrap();
            deps.table.transact(vec![open]).await.unwrap();
        }
    }
}
