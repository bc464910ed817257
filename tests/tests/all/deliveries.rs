//! Settings reach the customer's instance, on both backends, against the
//! reference instance over real HTTP: a toggle arrives signed and is
//! acknowledged; an instance that is down gets it after it is back (the
//! retries back off; a restart pulls); the pull path refuses what is not
//! signed right; killing the delivery worker over 100 random toggles loses
//! no change; and the stream's function delivers what its records name.

use chrono::Duration;
use portico_core::clock::Clock;
use portico_core::domain::Role;
use portico_core::functions::deliver_changes;
use portico_core::instances::LatestSettings;
use portico_core::jobs::{self, Job};
use portico_core::ops::deliveries::{self, PULL_PATH};
use portico_core::signing;
use portico_core::store::keys;
use portico_tests::Backend;
use serde_json::{Value, json};
use std::collections::BTreeMap;

use super::instances::World;

/// The settings the customer's partner manager may change, by key.
async fn editable(w: &World) -> Vec<String> {
    let (status, page) = w
        .app
        .get_json(
            &format!("/customers/{}/settings", w.customer),
            w.app.token(Role::PartnerManager),
        )
        .await;
    assert_eq!(status, 200, "{page}");
    page["settings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["editable"] == true)
        .map(|s| s["key"].as_str().unwrap().to_string())
        .collect()
}

/// Portico's values of every setting of the customer.
async fn portico_values(w: &World) -> BTreeMap<String, bool> {
    let (_, page) = w
        .app
        .get_json(
            &format!("/customers/{}/settings", w.customer),
            w.app.token(Role::CustomerAccountOwner),
        )
        .await;
    page["settings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["key"].as_str().unwrap().to_string(), s["enabled"].as_bool().unwrap()))
        .collect()
}

/// Flips `key` as the partner manager; answers the new value.
async fn toggle(w: &World, key: &str) -> bool {
    let path = format!("/customers/{}/settings", w.customer);
    let (_, page) = w.app.get_json(&path, w.app.token(Role::PartnerManager)).await;
    let s = page["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == key)
        .unwrap()
        .clone();
    let enabled = !s["enabled"].as_bool().unwrap();
    let (status, body) = w
        .app
        .put(
            &format!("{path}/{key}"),
            w.app.token(Role::PartnerManager),
            json!({ "enabled": enabled, "version": s["version"] }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    enabled
}

async fn record(w: &World) -> LatestSettings {
    let customer = w.customer.parse().unwrap();
    w.app
        .deps
        .table
        .get(&keys::delivery(customer))
        .await
        .unwrap()
        .expect("a delivery record")
        .decode()
        .unwrap()
}

async fn deliver(w: &World) -> deliveries::DeliveryReport {
    jobs::run(&w.app.deps, Job::DeliverChanges)
        .await
        .unwrap()
        .deliveries
        .unwrap()
}

/// A verified instance, with the defaults it was sent on verification.
async fn verified(b: Backend) -> World {
    let w = World::new(b).await;
    w.allow_partners().await;
    w.next_check().await;
    assert_eq!(w.state().await, "verified");
    assert_eq!(
        w.instance.applied().settings,
        portico_values(&w).await,
        "verifying it sent it the settings"
    );
    w
}

async fn a_toggle_reaches_the_instance(b: Backend) {
    let w = verified(b).await;
    let key = editable(&w).await.remove(0);
    let enabled = toggle(&w, &key).await;
    let latest = record(&w).await;
    assert_eq!(latest.due, Some(latest.at), "the change left its record due");
    assert_eq!(w.view().await["settings"]["applied"], false);
    let report = deliver(&w).await;
    assert_eq!(
        (report.examined, report.sent, report.acknowledged, report.complete),
        (1, 1, 1, 1),
        "{report:?}"
    );
    let applied = w.instance.applied();
    assert_eq!(applied.settings[&key], enabled);
    assert_eq!(applied.seq, latest.seq);
    assert_eq!(applied.settings, portico_values(&w).await);
    let v = w.view().await;
    assert_eq!(v["settings"]["applied"], true, "{v}");
    assert_eq!(record(&w).await.due, None, "delivered: no longer due");
    // Nothing due: the next run reads nothing.
    assert_eq!(deliver(&w).await.examined, 0);
}

async fn a_delivery_waits_for_the_instance_to_come_back(b: Backend) {
    let w = verified(b).await;
    let key = editable(&w).await.remove(0);
    w.instance.set_down(true);
    let enabled = toggle(&w, &key).await;
    let mut waits = Vec::new();
    for _ in 0..4 {
        let report = deliver(&w).await;
        assert_eq!((report.sent, report.acknowledged), (1, 0), "{report:?}");
        let latest = record(&w).await;
        let due = latest.due.unwrap();
        waits.push((due - w.clock.now()).num_seconds());
        // Not yet due: nothing is read.
        assert_eq!(deliver(&w).await.examined, 0);
        w.clock.set(due);
    }
    assert_eq!(waits, [10, 20, 40, 80], "the retries back off");
    let v = w.view().await;
    assert_eq!(v["settings"]["applied"], false, "{v}");
    assert!(v["settings"]["pendingSince"].is_string(), "{v}");
    w.instance.set_down(false);
    let report = deliver(&w).await;
    assert_eq!((report.acknowledged, report.complete), (1, 1), "{report:?}");
    assert_eq!(w.instance.applied().settings[&key], enabled);
    assert_eq!(w.view().await["settings"]["applied"], true);

    // Restarted without its disk while a change was made: it pulls.
    w.instance.set_down(true);
    let enabled = toggle(&w, &key).await;
    deliver(&w).await;
    w.instance.forget();
    w.instance.set_down(false);
    let seq = w.instance.pull().await.unwrap();
    assert_eq!(seq, record(&w).await.seq);
    assert_eq!(w.instance.applied().settings[&key], enabled);
    assert_eq!(w.instance.applied().settings, portico_values(&w).await);
}

/// A signed GET of the pull path, as the instance would send it.
async fn pull_with(w: &World, instance: &str, secret: &str, t: i64, nonce: &str) -> (u16, Value) {
    let signature = signing::sign(
        secret.as_bytes(),
        t,
        nonce,
        &signing::Request {
            method: "GET",
            path: PULL_PATH,
            body: b"",
        },
    )
    .unwrap();
    let resp = w
        .app
        .http
        .get(format!("{}{PULL_PATH}", w.app.base))
        .header("Portico-Instance", instance)
        .header("Portico-Signature", signature)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let ct = resp.headers()["content-type"].to_str().unwrap().to_string();
    let body: Value = resp.json().await.unwrap();
    if status != 200 {
        assert_eq!(ct, "application/problem+json");
    }
    (status, body)
}

async fn the_pull_path_holds_only_signed_requests(b: Backend) {
    let w = World::new(b).await;
    let secret = w.instance.setup().unwrap().secret;
    let now = w.clock.now().timestamp();
    // Any state may pull (pending here): the secret is the proof.
    let (status, body) = pull_with(&w, &w.id, &secret, now, "n-1").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["instanceId"], w.id.as_str());
    assert_eq!(body["seq"], 0, "never changed: revision 0, the defaults");
    let values: BTreeMap<String, bool> = serde_json::from_value(body["settings"].clone()).unwrap();
    assert_eq!(values, portico_values(&w).await);

    let refused = [
        ("the same nonce again", pull_with(&w, &w.id, &secret, now, "n-1").await),
        ("301 s old", pull_with(&w, &w.id, &secret, now - 301, "n-2").await),
        ("301 s ahead", pull_with(&w, &w.id, &secret, now + 301, "n-3").await),
        (
            "another secret",
            pull_with(&w, &w.id, "pcs_not-the-secret", now, "n-4").await,
        ),
        (
            "another instance",
            pull_with(&w, "7d1f4a52-0000-4000-8000-000000000000", &secret, now, "n-5").await,
        ),
        ("not an id", pull_with(&w, "instance-1", &secret, now, "n-6").await),
    ];
    for (what, (status, body)) in refused {
        assert_eq!(status, 401, "{what}: {body}");
        assert_eq!(body["type"], "urn:portico:problem:instance-signature", "{what}: {body}");
    }
    // 300 s either side holds.
    assert_eq!(pull_with(&w, &w.id, &secret, now - 300, "n-7").await.0, 200);
    // No signature at all.
    let resp = w
        .app
        .http
        .get(format!("{}{PULL_PATH}", w.app.base))
        .header("Portico-Instance", &w.id)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
}

/// 100 random toggles while the delivery worker is killed at random
/// points and restarted (and the instance goes down and restarts without
/// its disk): at the end the instance holds Portico's values.
async fn killing_the_worker_loses_no_change(b: Backend) {
    let w = verified(b).await;
    let keys = editable(&w).await;
    assert!(keys.len() >= 2, "{keys:?}");
    let deps = w.app.deps.clone();
    let mut worker = tokio::spawn(deliveries::work(deps.clone()));
    let mut kills = 0;
    for n in 0..100u64 {
        let r = rand::random::<u64>();
        toggle(&w, &keys[(r % keys.len() as u64) as usize]).await;
        match r % 10 {
            // Killed mid-way (perhaps between sending and recording), restarted.
            0 | 1 => {
                tokio::time::sleep(std::time::Duration::from_millis(r % 5)).await;
                worker.abort();
                kills += 1;
                worker = tokio::spawn(deliveries::work(deps.clone()));
            }
            2 => w.instance.set_down(n % 2 == 0),
            3 => w.instance.forget(),
            _ => {}
        }
    }
    assert!(kills > 0);
    worker.abort();
    w.instance.set_down(false);
    let want = portico_values(&w).await;
    // Restarted: every retry due, the worker back.
    w.clock.advance(Duration::hours(2));
    let worker = tokio::spawn(deliveries::work(deps.clone()));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    // Converged: the instance holds the values and Portico knows it (the record is no longer due).
    while (w.instance.applied().settings != want || record(&w).await.due.is_some())
        && std::time::Instant::now() < deadline
    {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    worker.abort();
    assert_eq!(w.instance.applied().settings, want, "after {kills} kills");
    assert_eq!(w.instance.applied().seq, record(&w).await.seq);
    assert_eq!(w.view().await["settings"]["applied"], true);
}

/// The stream's function, on the record a change writes (as DynamoDB
/// Streams hands it over): it delivers that customer's settings.
async fn the_stream_function_delivers_what_its_records_name(b: Backend) {
    let w = verified(b).await;
    let key = editable(&w).await.remove(0);
    let enabled = toggle(&w, &key).await;
    let event = json!({ "Records": [
        {
            "eventID": "1", "eventName": "INSERT", "eventSource": "aws:dynamodb",
            "dynamodb": {
                "Keys": { "pk": { "S": format!("ORG#{}", w.customer) }, "sk": { "S": "DELIVERY" } },
                "SequenceNumber": "100", "StreamViewType": "KEYS_ONLY"
            }
        },
        {
            "eventID": "2", "eventName": "MODIFY", "eventSource": "aws:dynamodb",
            "dynamodb": {
                "Keys": { "pk": { "S": "ORG#not-a-customer" }, "sk": { "S": "DELIVERY" } },
                "SequenceNumber": "101", "StreamViewType": "KEYS_ONLY"
            }
        }
    ]});
    let answer = deliver_changes::handle(&w.app.deps, event).await.unwrap();
    assert_eq!(answer, json!({ "batchItemFailures": [] }));
    assert_eq!(w.instance.applied().settings[&key], enabled);
    assert_eq!(record(&w).await.due, None);
    // Neither a stream batch nor a schedule: 400.
    let err = deliver_changes::handle(&w.app.deps, json!({ "hello": 1 }))
        .await
        .unwrap_err();
    assert_eq!(err.status().as_u16(), 400);
}

both_backends!(
    a_toggle_reaches_the_instance,
    a_delivery_waits_for_the_instance_to_come_back,
    the_pull_path_holds_only_signed_requests,
    killing_the_worker_loses_no_change,
    the_stream_function_delivers_what_its_records_name
);
