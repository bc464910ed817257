//! `docs/instance-integration.md` is a contract, and its examples are
//! checked: each `http example=…` request is sent as written (bytes,
//! headers, signature) to the reference instance, or for the pull to
//! Portico, at the document's time; the answers are the document's. And
//! Portico's own signing gives the document's signatures for its values.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use portico_core::clock::ManualClock;
use portico_core::connections::ConnectionState;
use portico_core::domain::{InstanceId, InstanceName, OrgName, Role, UserId};
use portico_core::instances::{BaseUrl, Connection, Instance, Profile};
use portico_core::outbound::Policy;
use portico_core::signing;
use portico_core::store::{Cond, Write};
use portico_tests::{Backend, Options, TestApp, reference_instance};
use serde_json::Value;

const SECRET: &str = "pcs_3q2-7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
const INSTANCE: &str = "0190b2c4-5d6e-7f80-9a1b-2c3d4e5f6a7b";
const URL: &str = "https://contoso.example.com";
const T: i64 = 1_795_428_000;

/// One `http example=<name>` block: its start line, headers and body.
#[derive(Debug)]
struct Example {
    start: String,
    headers: Vec<(String, String)>,
    body: String,
}

fn examples() -> BTreeMap<String, Example> {
    let doc = std::fs::read_to_string(portico_tests::repo_path("docs/instance-integration.md")).unwrap();
    let mut out = BTreeMap::new();
    let mut rest = doc.as_str();
    while let Some(at) = rest.find("```http example=") {
        let block = &rest[at + "```http example=".len()..];
        let (name, block) = block.split_once('\n').unwrap();
        let (text, after) = block.split_once("\n```").unwrap();
        rest = after;
        let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
        let mut lines = head.lines();
        let start = lines.next().unwrap().to_string();
        let headers = lines
            .map(|l| {
                let (k, v) = l.split_once(": ").unwrap();
                (k.to_string(), v.to_string())
            })
            .collect();
        out.insert(
            name.trim().to_string(),
            Example {
                start,
                headers,
                body: body.to_string(),
            },
        );
    }
    out
}

impl Example {
    fn header(&self, name: &str) -> &str {
        &self
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .unwrap()
            .1
    }
    /// Sends the request to `base` (the Host header is the document's, the address is ours).
    async fn send(&self, http: &reqwest::Client, base: &str) -> (u16, Value) {
        let mut parts = self.start.split(' ');
        let (method, path) = (parts.next().unwrap(), parts.next().unwrap());
        let mut req = http.request(method.parse().unwrap(), format!("{base}{path}"));
        for (k, v) in &self.headers {
            if !k.eq_ignore_ascii_case("host") {
                req = req.header(k, v);
            }
        }
        if !self.body.is_empty() {
            req = req.body(self.body.clone());
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }
}

#[test]
fn the_documents_signatures_are_portico_s() {
    let ex = examples();
    assert_eq!(
        ex.keys().map(|k| k.as_str()).collect::<Vec<_>>(),
        [
            "pull-request",
            "settings-request",
            "settings-response",
            "verify-request",
            "verify-response"
        ]
    );
    for name in ["verify-request", "settings-request", "pull-request"] {
        let e = &ex[name];
        let mut parts = e.start.split(' ');
        let (method, path) = (parts.next().unwrap(), parts.next().unwrap());
        let given = e.header("Portico-Signature");
        let nonce = given.split(',').find_map(|p| p.strip_prefix("n=")).unwrap();
        let ours = signing::sign(
            SECRET.as_bytes(),
            T,
            nonce,
            &signing::Request {
                method,
                path,
                body: e.body.as_bytes(),
            },
        )
        .unwrap();
        assert_eq!(given, ours, "{name}");
    }
    let answer: Value = serde_json::from_str(&ex["verify-response"].body).unwrap();
    let proof = signing::proof(SECRET.as_bytes(), "doc-example-nonce-1", INSTANCE, URL, true).unwrap();
    assert_eq!(answer["proof"], proof.as_str());
}

/// The verification and the delivery, as the document writes them, to the
/// reference instance: it answers what the document says.
#[tokio::test]
async fn the_reference_instance_answers_the_documents_requests() {
    let ex = examples();
    let (instance, base) = reference_instance().await;
    instance.configure(reference_instance::Setup {
        instance_id: INSTANCE.into(),
        secret: SECRET.into(),
        url: URL.into(),
        profile: Profile::Present,
    });
    instance.set_clock(Arc::new(|| T));
    portico_core::outbound::install_tls_provider();
    let http = reqwest::Client::new();
    for (request, response) in [
        ("verify-request", "verify-response"),
        ("settings-request", "settings-response"),
    ] {
        let (status, body) = ex[request].send(&http, &base).await;
        let want = &ex[response];
        assert_eq!(want.start, "HTTP/1.1 200 OK");
        assert_eq!(status, 200, "{request}: {body}");
        assert_eq!(body, serde_json::from_str::<Value>(&want.body).unwrap(), "{request}");
        // Sent again: the nonce was used.
        assert_eq!(ex[request].send(&http, &base).await.0, 401, "{request} replayed");
    }
    let applied = instance.applied();
    assert_eq!(applied.seq, 7);
    assert_eq!(
        applied.settings,
        BTreeMap::from([("feed.comments".into(), false), ("feed.reactions".into(), true)])
    );
}

/// The pull, as the document writes it, to Portico at the document's time.
#[tokio::test]
async fn portico_answers_the_documents_pull() {
    let at = DateTime::<Utc>::from_timestamp(T, 0).unwrap();
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        Options {
            clock: Arc::new(ManualClock::new(at)),
            ..Default::default()
        },
    )
    .await;
    let id: InstanceId = INSTANCE.parse().unwrap();
    let customer = app.orgs[&Role::CustomerAccountOwner];
    let sealed = app
        .deps
        .sealer
        .seal(SECRET.as_bytes(), &Connection::context(id, 1))
        .await
        .unwrap();
    let instance = Instance {
        id,
        customer_id: customer,
        customer_name: OrgName::parse("Contoso Ltd").unwrap(),
        partner_id: None,
        name: InstanceName::parse("Production").unwrap(),
        url: BaseUrl::parse(URL, Policy { allow_loopback: false }).unwrap(),
        created_at: at,
        created_by: UserId(uuid::Uuid::nil()),
        connection: Connection {
            state: ConnectionState::Verified { at },
            next_check: at,
            last_checked: Some(at),
            secret: sealed,
            generation: 1,
            created_at: at,
        },
        acknowledged: None,
        profile: Default::default(),
        version: 1,
    };
    app.deps
        .table
        .transact(vec![Write::Put {
            item: instance.item().unwrap(),
            cond: Cond::None,
        }])
        .await
        .unwrap();
    let pull = &examples()["pull-request"];
    let (status, body) = pull.send(&app.http, &app.base).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["instanceId"], INSTANCE);
    assert_eq!(body["customerId"], customer.to_string());
    assert!(body["settings"].as_object().is_some_and(|s| !s.is_empty()), "{body}");
    let (status, body) = pull.send(&app.http, &app.base).await;
    assert_eq!(status, 401, "replayed: {body}");
}
