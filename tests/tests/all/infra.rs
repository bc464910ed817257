//! `infra/template.yaml` agrees with the code: the table definition, and a
//! function resource per function crate.

use portico_core::store::schema::TABLE;
use serde_yaml_ng::Value;

pub fn template() -> Value {
    let path = portico_tests::repo_path("infra/template.yaml");
    let text = std::fs::read_to_string(path).expect("infra/template.yaml");
    serde_yaml_ng::from_str(&text).expect("template parses as YAML")
}

fn resources_of(t: &Value, ty: &str) -> Vec<(String, Value)> {
    t["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some(ty))
        .map(|(k, r)| (k.as_str().unwrap().to_string(), r.clone()))
        .collect()
}

fn pairs(list: &Value, a: &str, b: &str) -> Vec<(String, String)> {
    let mut v: Vec<_> = list
        .as_sequence()
        .unwrap()
        .iter()
        .map(|e| (e[a].as_str().unwrap().to_string(), e[b].as_str().unwrap().to_string()))
        .collect();
    v.sort();
    v
}

#[test]
fn the_table_in_the_template_matches_the_table_definition() {
    let t = template();
    let tables = resources_of(&t, "AWS::DynamoDB::Table");
    assert_eq!(tables.len(), 1, "one table");
    let p = &tables[0].1["Properties"];
    assert_eq!(
        pairs(&p["KeySchema"], "AttributeName", "KeyType"),
        vec![
            (TABLE.hash.0.to_string(), "HASH".to_string()),
            (TABLE.range.0.to_string(), "RANGE".to_string())
        ]
    );
    let mut attrs = vec![TABLE.hash, TABLE.range];
    for g in TABLE.gsis {
        attrs.extend([g.hash, g.range]);
    }
    let mut attrs: Vec<_> = attrs.iter().map(|(n, t)| (n.to_string(), t.to_string())).collect();
    attrs.sort();
    attrs.dedup();
    assert_eq!(
        pairs(&p["AttributeDefinitions"], "AttributeName", "AttributeType"),
        attrs
    );

    let gsis = p["GlobalSecondaryIndexes"].as_sequence().expect("GSIs");
    assert_eq!(gsis.len(), TABLE.gsis.len());
    for g in TABLE.gsis {
        let found = gsis
            .iter()
            .find(|x| x["IndexName"].as_str() == Some(g.name))
            .unwrap_or_else(|| panic!("GSI {}", g.name));
        assert_eq!(
            pairs(&found["KeySchema"], "AttributeName", "KeyType"),
            vec![
                (g.hash.0.to_string(), "HASH".to_string()),
                (g.range.0.to_string(), "RANGE".to_string())
            ],
            "{}",
            g.name
        );
        assert_eq!(
            found["Projection"]["ProjectionType"].as_str(),
            Some("ALL"),
            "{}",
            g.name
        );
    }
    assert_eq!(
        p["TimeToLiveSpecification"]["AttributeName"].as_str(),
        Some(TABLE.ttl_attribute)
    );
    assert_eq!(p["TimeToLiveSpecification"]["Enabled"].as_bool(), Some(true));
    assert_eq!(p["BillingMode"].as_str(), Some("PAY_PER_REQUEST"));
    assert_eq!(
        p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"].as_bool(),
        Some(true)
    );
    assert_eq!(p["SSESpecification"]["SSEEnabled"].as_bool(), Some(true));
}

#[test]
fn every_function_crate_has_a_function_in_the_template() {
    let t = template();
    let functions = resources_of(&t, "AWS::Serverless::Function");
    let binaries: Vec<String> = functions
        .iter()
        .map(|(name, f)| {
            assert_eq!(
                f["Metadata"]["BuildMethod"].as_str(),
                Some("rust-cargolambda"),
                "{name}"
            );
            f["Metadata"]["BuildProperties"]["Binary"]
                .as_str()
                .unwrap_or_else(|| panic!("{name} names its binary"))
                .to_string()
        })
        .collect();
    let dir = portico_tests::repo_path("functions");
    let mut crates: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "portal")
        .collect();
    crates.sort();
    let mut binaries = binaries;
    binaries.sort();
    assert_eq!(
        binaries, crates,
        "one Lambda per function crate (the portal is local only)"
    );
    for f in portico_core::http::Function::ALL {
        assert!(crates.contains(&f.name().to_string()), "{} has a crate", f.name());
    }
}

/// The routes without a token in the template are exactly the throttled
/// public routes and the instance-signed ones, and the stage throttles each of them.
#[test]
fn public_routes_are_the_unauthorized_ones_and_are_throttled() {
    let t = template();
    let mut unauthorized = Vec::new();
    for (_, f) in resources_of(&t, "AWS::Serverless::Function") {
        let Some(events) = f["Properties"]["Events"].as_mapping() else {
            continue;
        };
        for (_, e) in events {
            let p = &e["Properties"];
            if e["Type"].as_str() == Some("HttpApi") && p["Auth"]["Authorizer"].as_str() == Some("NONE") {
                unauthorized.push(match (p["Method"].as_str(), p["Path"].as_str()) {
                    (Some(m), Some(path)) => format!("{m} {path}"),
                    // No method and path: the API's default route (the web pages).
                    _ => "$default".into(),
                });
            }
        }
    }
    unauthorized.sort();
    let mut public: Vec<String> = portico_core::http::throttle::PUBLIC_ROUTES
        .iter()
        .map(|r| format!("POST {r}"))
        .chain(
            portico_core::http::throttle::INSTANCE_SIGNED_ROUTES
                .iter()
                .chain(portico_core::http::throttle::PUBLIC_KEY_ROUTES.iter())
                .chain(portico_core::http::throttle::PUBLIC_LINK_ROUTES.iter())
                .map(|r| format!("GET {r}")),
        )
        .chain(["$default".to_string()])
        .collect();
    public.sort();
    assert_eq!(unauthorized, public);
    let api = &t["Resources"]["HttpApi"]["Properties"];
    let mut throttled: Vec<String> = api["RouteSettings"]
        .as_mapping()
        .expect("RouteSettings")
        .keys()
        .map(|k| k.as_str().unwrap().to_string())
        .collect();
    throttled.sort();
    assert_eq!(throttled, public);
    assert!(api["DefaultRouteSettings"]["ThrottlingRateLimit"].as_u64().is_some());
}

/// The crates a Lambda links, as cargo resolves them for that function
/// alone (as `sam build` or `cargo lambda build -p` builds it).
fn linked_by(package: &str) -> String {
    let out = std::process::Command::new(env!("CARGO"))
        .args([
            "tree",
            "--offline",
            "--locked",
            "-e",
            "normal",
            "--prefix",
            "none",
            "-p",
            package,
        ])
        .current_dir(portico_tests::repo_path(""))
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "cargo tree -p {package}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// No Lambda links the local portal's adapters (SQLite, argon2, the local
/// tokens and their JWKS client), a second TLS stack (rustls 0.21 with ring
/// beside rustls 0.23) or the SSO clients; the portal does link SQLite, so
/// the check can tell.
#[test]
fn no_lambda_links_the_embedded_adapters() {
    let dir = portico_tests::repo_path("functions");
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name == "portal" {
            continue;
        }
        let tree = linked_by(&name);
        // The functions that call customer instances link reqwest (on the
        // SDK's rustls 0.23, no second TLS stack: see below); no other does.
        let calls_instances = ["instances", "verify-connection", "deliver-changes", "web"].contains(&name.as_str());
        assert_eq!(
            tree.lines().any(|l| l.starts_with("reqwest ")),
            calls_instances,
            "{name}: reqwest only where instances are called"
        );
        for local_only in [
            "rusqlite ",
            "argon2 ",
            "jsonwebtoken ",
            "native-tls ",
            "hyper-tls ",
            "rustls v0.21",
            "ring ",
            "aws-sdk-sso ",
        ] {
            assert!(
                !tree.lines().any(|l| l.starts_with(local_only)),
                "{name} links {local_only}"
            );
        }
        checked += 1;
    }
    assert_eq!(checked, 15);
    assert!(linked_by("portico-portal").lines().any(|l| l.starts_with("rusqlite ")));
}
