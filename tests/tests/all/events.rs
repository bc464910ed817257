//! Every sample event in `events/` goes through its function's real code:
//! API Gateway HTTP API v2 events through `lambda_http::request::from_str`
//! into the function's router; EventBridge events into the job handler.
//! File names end in `.<expected status>.json`. Each function runs with only
//! the adapters its Lambda builds (`functions::<name>::Uses`).
//!
//! The samples' `sub` claims name the demo users as seeded with sequential
//! ids of prefix 0: orgs are ...01 to ...04, users ...05 (platform admin),
//! ...06 (partner manager), ...07 (partner user), ...08 (customer owner).

use std::path::PathBuf;
use std::sync::Arc;

use http_body_util::BodyExt;
use portico_core::http::{Function, function_router};
use portico_core::jobs::{self, Job};
use portico_tests::{Backend, Options, Unlinked, open_sample_sessions, test_deps};
use tower::ServiceExt;

fn events_dir() -> PathBuf {
    portico_tests::repo_path("events")
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
        Function::Instances,
        Function::InstanceAccess,
        Function::GrantPartnerRole,
        Function::SelfRegister,
        Function::Workspace,
    ] {
        for (name, text, expected) in samples(f.name()) {
            let raw: serde_json::Value = serde_json::from_str(&text).unwrap();
            let (method, route) = raw["routeKey"].as_str().unwrap().split_once(' ').unwrap();
            covered.insert((method.to_string(), route.to_string()));
            let req = lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            // Only the adapters the function's Lambda builds (`Uses`).
            let (as_built, unlinked) = Unlinked::deps_for(&deps, f.using());
            let resp = function_router(f, Arc::new(as_built))
                .oneshot(req.map(axum::body::Body::new))
                .await
                .unwrap();
            let status = resp.status().as_u16();
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(
                unlinked.calls(),
                0,
                "events/{}/{name} calls an adapter its function's `Uses` leaves out",
                f.name()
            );
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

/// The web pages' samples (the HTTP API's default route, a browser's
/// cookie and form) through the `web` function's router, with only the
/// adapters it declares. Every page path has a sample or is a variant of one.
#[tokio::test]
async fn web_samples_run_through_the_web_router() {
    let opts = Options {
        ids_prefix: Some(0),
        api_gateway_auth: true,
        ..Default::default()
    };
    let (deps, _ids, _tokens, _dir, _pool) = test_deps(Backend::Sqlite, opts).await;
    open_sample_sessions(&deps).await;
    let mut paths = std::collections::BTreeSet::new();
    let samples = samples("web");
    for (name, text, expected) in &samples {
        let raw: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(
            raw["routeKey"], "$default",
            "{name}: the web pages are the default route"
        );
        paths.insert(raw["rawPath"].as_str().unwrap().to_string());
        let req = lambda_http::request::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let (as_built, unlinked) = Unlinked::deps_for(
            &deps,
            <portico_core::functions::web::Uses as portico_core::app::Uses>::USING,
        );
        let resp = portico_core::functions::web::router(Arc::new(as_built))
            .oneshot(req.map(axum::body::Body::new))
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(
            unlinked.calls(),
            0,
            "events/web/{name} calls an adapter `web::Uses` leaves out"
        );
        assert_eq!(
            status,
            *expected,
            "events/web/{name}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    assert!(samples.len() >= 12, "{} web samples", samples.len());
    for must in ["/", "/sign-in", "/setup-password", "/customers", "/sign-out"] {
        assert!(paths.contains(must), "a web sample for {must}");
    }
}

#[tokio::test]
async fn scheduled_samples_run_through_their_job() {
    let (deps, _ids, _tokens, _dir, _pool) = test_deps(Backend::Sqlite, Options::default()).await;
    for (function, job) in [
        ("suspend-inactive", Job::SuspendInactive),
        ("verify-connection", Job::VerifyConnection),
        ("login-digest", Job::LoginDigest),
        ("delegation-sweep", Job::DelegationSweep),
    ] {
        for (name, text, expected) in samples(function) {
            let event: serde_json::Value = serde_json::from_str(&text).unwrap();
            let (as_built, unlinked) = Unlinked::deps_for(&deps, job.using());
            let status = match jobs::handle_scheduled(&as_built, job, event).await {
                Ok(_) => 200,
                Err(e) => e.status().as_u16(),
            };
            assert_eq!(
                unlinked.calls(),
                0,
                "events/{function}/{name} calls an adapter its `Uses` leaves out"
            );
            assert_eq!(status, expected, "events/{function}/{name}");
        }
    }
    // deliver-changes: the stream's batches and its schedule.
    let (as_built, unlinked) = Unlinked::deps_for(&deps, Job::DeliverChanges.using());
    let samples = samples("deliver-changes");
    assert!(samples.len() >= 4);
    for (name, text, expected) in samples {
        let event: serde_json::Value = serde_json::from_str(&text).unwrap();
        let status = match portico_core::functions::deliver_changes::handle(&as_built, event).await {
            Ok(answer) => {
                if name.starts_with("stream") {
                    assert_eq!(answer, serde_json::json!({ "batchItemFailures": [] }), "{name}");
                }
                200
            }
            Err(e) => e.status().as_u16(),
        };
        assert_eq!(status, expected, "events/deliver-changes/{name}");
    }
    assert_eq!(
        unlinked.calls(),
        0,
        "deliver-changes calls an adapter its `Uses` leaves out"
    );
}

/// An NDJSON export big enough to reach the 5 MB cap, through the Lambda
/// adapter as `lambda_http::run` drives it: the answer API Gateway gets is
/// text (not base64) and under Lambda's 6 MB response limit.
#[tokio::test]
async fn a_capped_ndjson_export_fits_a_lambda_response() {
    use lambda_http::{Context, LambdaEvent, Service, request::LambdaRequest};
    let opts = Options {
        ids_prefix: Some(0),
        api_gateway_auth: true,
        ..Default::default()
    };
    let (deps, _ids, _tokens, _dir, _pool) = test_deps(Backend::Sqlite, opts).await;
    open_sample_sessions(&deps).await;
    let contoso = portico_core::domain::OrgId::parse("00000000-0000-0000-0000-000000000003").unwrap();
    // 320 events of 20 kB: 6.4 MB of log, over the cap.
    for i in 0..320 {
        portico_core::ops::Change::anonymous(
            &deps,
            "198.51.100.7",
            contoso,
            portico_core::audit::ActionType::ServerAction,
            portico_core::audit::Target {
                kind: "server".into(),
                id: i.to_string(),
            },
            format!("{i}: {}", "x".repeat(20_000)),
        )
        .commit(&deps)
        .await
        .unwrap();
    }
    let text =
        std::fs::read_to_string(events_dir().join("organizations/activity-export-ndjson-as-platform-admin.200.json"))
            .unwrap();
    let request: LambdaRequest = serde_json::from_str(&text).unwrap();
    let mut adapter = lambda_http::Adapter::from(function_router(Function::Organizations, deps.clone()));
    let response = adapter
        .call(LambdaEvent::new(request, Context::default()))
        .await
        .unwrap();
    let json = serde_json::to_value(&response).unwrap();
    let size = serde_json::to_vec(&json).unwrap().len();
    assert_eq!(json["statusCode"], 200);
    assert_eq!(json["isBase64Encoded"], false, "NDJSON goes as text");
    assert!(size < 6 * 1024 * 1024, "the Lambda response is {size} bytes");
    let body = json["body"].as_str().unwrap();
    let last = body.lines().last().unwrap();
    assert!(
        last.starts_with("{\"next\":"),
        "the capped export says how to go on: {}",
        &last[..last.len().min(80)]
    );
    assert!(body.len() > 4_900_000, "it did reach the cap: {}", body.len());
    // Going on from the tail's cursor gives the rest: every event once.
    let next: serde_json::Value = serde_json::from_str(last).unwrap();
    let mut seen: Vec<u64> = body
        .lines()
        .filter(|l| !l.starts_with("{\"next\":"))
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["seq"]
                .as_u64()
                .unwrap()
        })
        .collect();
    let mut event: serde_json::Value = serde_json::from_str(&text).unwrap();
    let cursor = next["next"].as_str().unwrap().to_string();
    event["rawQueryString"] = format!("format=ndjson&cursor={cursor}").into();
    event["queryStringParameters"]["cursor"] = cursor.into();
    let request: LambdaRequest = serde_json::from_value(event).unwrap();
    let response = adapter
        .call(LambdaEvent::new(request, Context::default()))
        .await
        .unwrap();
    let json = serde_json::to_value(&response).unwrap();
    assert_eq!(
        json["statusCode"],
        200,
        "{}",
        &json["body"].as_str().unwrap_or_default()[..200.min(json["body"].as_str().unwrap_or_default().len())]
    );
    seen.extend(json["body"].as_str().unwrap().lines().map(|l| {
        serde_json::from_str::<serde_json::Value>(l).unwrap()["seq"]
            .as_u64()
            .unwrap()
    }));
    let total = seen.len();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), total, "no event twice");
    assert!(seen.len() >= 320, "every event: {}", seen.len());
}
