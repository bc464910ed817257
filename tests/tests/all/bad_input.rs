//! Bad input to every route gets an RFC 9457 problem with a 4xx status:
//! never a 500, never a panic.

use portico_core::domain::Role;
use portico_core::identity::tokens::LocalTokens;
use portico_tests::{Backend, TestApp};
use reqwest::Method;
use serde_json::Value;

async fn assert_problem(resp: reqwest::Response, expected: u16, what: &str) -> Value {
    let status = resp.status().as_u16();
    let ctype = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = resp.text().await.unwrap();
    assert_eq!(status, expected, "{what}: {body}");
    assert_eq!(ctype, "application/problem+json", "{what}");
    let problem: Value = serde_json::from_str(&body).unwrap_or_else(|_| panic!("{what}: not JSON: {body}"));
    assert_eq!(problem["status"], expected, "{what}");
    assert!(
        problem["type"].as_str().unwrap().starts_with("urn:portico:problem:"),
        "{what}"
    );
    assert!(!problem["detail"].as_str().unwrap().is_empty(), "{what}");
    problem
}

async fn malformed_requests_get_problems(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.token(Role::PlatformAdmin).to_string();
    let other_secret = LocalTokens::from_secret(&[7u8; 32])
        .issue(
            app.users[&Role::PlatformAdmin],
            app.orgs[&Role::PlatformAdmin],
            portico_core::domain::OrgKind::Platform,
            60,
        )
        .unwrap()
        .token;
    // A genuine cursor, replayed on a listing it does not belong to.
    let page: Value = app
        .http
        .get(app.url("/organizations?limit=1"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let partner_cursor = page["nextCursor"].as_str().expect("more than one page").to_string();
    let cross_kind = format!("/organizations?kind=partner&cursor={partner_cursor}");
    let big = format!("{{\"name\":\"{}\",\"kind\":\"partner\"}}", "x".repeat(70 * 1024));
    let json = "application/json";
    /// what, method, path, token, content type, body, expected status
    type Case<'a> = (&'a str, Method, &'a str, Option<&'a str>, Option<&'a str>, String, u16);
    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        // what, method, path, token, content type, body, status
        ("malformed JSON", Method::POST, "/organizations", Some(&admin), Some(json), "{\"name\":".into(), 400),
        ("not JSON at all", Method::POST, "/organizations", Some(&admin), Some(json), "name=x".into(), 400),
        ("empty body", Method::POST, "/organizations", Some(&admin), Some(json), "".into(), 400),
        ("unknown field orgId", Method::POST, "/organizations", Some(&admin), Some(json), r#"{"name":"Acme","kind":"partner","orgId":"x"}"#.into(), 422),
        ("unknown field role", Method::POST, "/organizations", Some(&admin), Some(json), r#"{"name":"Acme","kind":"partner","role":"platform_admin"}"#.into(), 422),
        ("missing kind", Method::POST, "/organizations", Some(&admin), Some(json), r#"{"name":"Acme"}"#.into(), 422),
        ("wrong type", Method::POST, "/organizations", Some(&admin), Some(json), r#"{"name":5,"kind":"partner"}"#.into(), 422),
        ("unknown kind", Method::POST, "/organizations", Some(&admin), Some(json), r#"{"name":"Acme","kind":"vendor"}"#.into(), 422),
        ("name too short", Method::POST, "/organizations", Some(&admin), Some(json), r#"{"name":" a ","kind":"partner"}"#.into(), 422),
        ("partnerOfRecord not a uuid", Method::POST, "/organizations", Some(&admin), Some(json), r#"{"name":"Acme","kind":"customer","partnerOfRecord":"x"}"#.into(), 422),
        ("JSON array", Method::POST, "/organizations", Some(&admin), Some(json), "[]".into(), 422),
        ("body over 64 KiB", Method::POST, "/organizations", Some(&admin), Some(json), big, 413),
        ("no content type", Method::POST, "/organizations", Some(&admin), None, r#"{"name":"Acme","kind":"partner"}"#.into(), 415),
        ("text content type", Method::POST, "/organizations", Some(&admin), Some("text/plain"), r#"{"name":"Acme","kind":"partner"}"#.into(), 415),
        ("limit not a number", Method::GET, "/organizations?limit=abc", Some(&admin), None, String::new(), 400),
        ("limit zero", Method::GET, "/organizations?limit=0", Some(&admin), None, String::new(), 400),
        ("limit too big", Method::GET, "/organizations?limit=100000", Some(&admin), None, String::new(), 400),
        ("negative limit", Method::GET, "/organizations?limit=-1", Some(&admin), None, String::new(), 400),
        ("garbage cursor", Method::GET, "/organizations?cursor=%%%", Some(&admin), None, String::new(), 400),
        ("forged cursor", Method::GET, "/organizations?cursor=eyJwayI6IngiLCJzayI6InkifQ", Some(&admin), None, String::new(), 400),
        ("cursor of another listing", Method::GET, &cross_kind, Some(&admin), None, String::new(), 400),
        ("unknown query parameter", Method::GET, "/organizations?orgId=x", Some(&admin), None, String::new(), 400),
        ("unknown kind filter", Method::GET, "/organizations?kind=vendor", Some(&admin), None, String::new(), 400),
        ("malformed id", Method::GET, "/organizations/not-a-uuid", Some(&admin), None, String::new(), 400),
        ("unknown id", Method::GET, "/organizations/0190a000-0000-7000-8000-000000000000", Some(&admin), None, String::new(), 404),
        ("no token", Method::GET, "/organizations", None, None, String::new(), 401),
        ("garbage token", Method::GET, "/organizations", Some("garbage"), None, String::new(), 401),
        ("token signed with another key", Method::GET, "/organizations", Some(&other_secret), None, String::new(), 401),
        ("no token on create", Method::POST, "/organizations", None, Some(json), r#"{"name":"Acme","kind":"partner"}"#.into(), 401),
        ("unknown route", Method::GET, "/nope", Some(&admin), None, String::new(), 404),
        ("unknown nested route", Method::GET, "/organizations/a/b/c", Some(&admin), None, String::new(), 404),
        ("wrong method", Method::DELETE, "/organizations", Some(&admin), None, String::new(), 405),
        ("wrong method on item", Method::PUT, "/organizations/0190a000-0000-7000-8000-000000000000", Some(&admin), Some(json), "{}".into(), 405),
    ];
    for (what, method, path, token, ctype, body, status) in cases {
        let mut req = app.http.request(method, app.url(path)).body(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(c) = ctype {
            req = req.header("content-type", c);
        }
        assert_problem(req.send().await.unwrap(), status, what).await;
    }
}

/// Every route in the OpenAPI document, called without credentials and with
/// credentials but a nonsense body, answers with a 4xx problem.
async fn every_documented_route_refuses_bad_input_with_a_problem(b: Backend) {
    let app = TestApp::spawn(b).await;
    let doc = serde_json::to_value(portico_core::http::openapi()).unwrap();
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let concrete = path.replace("{id}", "0190a000-0000-7000-8000-000000000000");
        for (method, op) in item.as_object().unwrap() {
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let resp = app.http.request(m.clone(), app.url(&concrete)).send().await.unwrap();
            let status = resp.status().as_u16();
            if op.get("security").is_some() {
                assert_problem(resp, 401, &format!("{method} {path} without a token")).await;
            } else if portico_core::http::throttle::PUBLIC_KEY_ROUTES.contains(&path.as_str()) {
                // Published for anyone: a request with nothing gets the keys.
                assert_eq!(status, 200, "{method} {path}");
            } else {
                // Public routes (how one gets a token): an empty request is still a 4xx problem.
                assert!((400..500).contains(&status), "{method} {path} with nothing: {status}");
                assert_problem(resp, status, &format!("{method} {path} with nothing")).await;
            }
            if m == Method::POST || m == Method::PUT || m == Method::PATCH {
                let resp = app
                    .http
                    .request(m, app.url(&concrete))
                    .bearer_auth(app.token(Role::PlatformAdmin))
                    .header("content-type", "application/json")
                    .body("{\"unexpected\": [1, 2, {\"deep\": null}]}")
                    .send()
                    .await
                    .unwrap();
                let status = resp.status().as_u16();
                assert!(
                    (400..500).contains(&status),
                    "{method} {path} with a nonsense body: {status}"
                );
                assert_problem(resp, status, &format!("{method} {path} with a nonsense body")).await;
            }
            checked += 1;
        }
    }
    assert!(checked >= 3, "the document lists the routes ({checked})");
}

macro_rules! on_backend {
    ($name:ident, $backend:expr) => {
        mod $name {
            #[tokio::test]
            async fn malformed_requests_get_problems() {
                super::malformed_requests_get_problems($backend).await
            }
            #[tokio::test]
            async fn every_documented_route_refuses_bad_input_with_a_problem() {
                super::every_documented_route_refuses_bad_input_with_a_problem($backend).await
            }
        }
    };
}

on_backend!(embedded_sqlite, portico_tests::Backend::Sqlite);
on_backend!(dynamodb_local, portico_tests::Backend::Dynamo);
