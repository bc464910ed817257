//! The OpenAPI document, the code's routes and the SAM template's API routes
//! agree: a route in one and not the others fails here.

use std::collections::BTreeSet;

use portico_core::domain::Role;
use portico_tests::{Backend, TestApp};
use serde_json::Value;

pub fn documented_routes() -> BTreeSet<(String, String)> {
    let doc = serde_json::to_value(portico_core::http::openapi()).unwrap();
    doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |m| (m.to_uppercase(), path.clone()))
        })
        .collect()
}

#[test]
fn the_document_is_openapi_3_1_and_every_operation_is_described() {
    let doc = serde_json::to_value(portico_core::http::openapi()).unwrap();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            assert!(
                op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                "{method} {path} has responses"
            );
            assert!(
                op["summary"].is_string() || op["description"].is_string(),
                "{method} {path} is described"
            );
        }
    }
    assert!(doc["components"]["schemas"]["Problem"].is_object());
}

#[test]
fn the_template_routes_exactly_the_documented_routes() {
    let template = crate::infra::template();
    let mut routed = BTreeSet::new();
    for (_, res) in template["Resources"].as_mapping().unwrap() {
        if res["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        for (_, ev) in res["Properties"]["Events"].as_mapping().into_iter().flatten() {
            // The default route (no path) is the web pages': tests/tests/all/web.rs.
            if ev["Type"].as_str() == Some("HttpApi") && ev["Properties"]["Path"].is_string() {
                let p = &ev["Properties"];
                routed.insert((
                    p["Method"].as_str().unwrap().to_uppercase(),
                    p["Path"].as_str().unwrap().to_string(),
                ));
            }
        }
    }
    assert_eq!(
        routed,
        documented_routes(),
        "infra/template.yaml HttpApi events vs the OpenAPI document"
    );
}

/// Every documented route is served by the code (not the 404/405 fallback).
#[tokio::test]
async fn every_documented_route_is_served() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    for (method, path) in documented_routes() {
        let concrete = path.replace("{id}", "0190a000-0000-7000-8000-000000000000");
        let resp = app
            .http
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                app.url(&concrete),
            )
            .bearer_auth(app.token(Role::PlatformAdmin))
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        assert!(
            body["type"] != "urn:portico:problem:no-such-route"
                && body["type"] != "urn:portico:problem:method-not-allowed",
            "{method} {path} is documented but not routed ({status})"
        );
    }
}

#[tokio::test]
async fn the_portal_serves_the_document() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let served: Value = app
        .http
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(served, serde_json::to_value(portico_core::http::openapi()).unwrap());
}
