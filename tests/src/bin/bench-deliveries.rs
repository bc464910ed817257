//! For `scripts/bench`: settings delivery latency on the local portal's
//! code path (embedded store, the portal's delivery worker, the reference
//! instance over HTTP): 1,000 toggles one after another; each is timed from
//! the toggle's commit (its answer) to the instance applying that revision
//! (it acknowledges in the same answer). Prints the median, p90, p99 and max.

use std::time::{Duration, Instant};

use portico_core::domain::Role;
use portico_tests::{Backend, TestApp, reference_instance};
use serde_json::json;

const TOGGLES: usize = 1000;
const KEY: &str = "feed.reactions";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (instance, base) = reference_instance().await;
    let customer = app.orgs[&Role::CustomerAccountOwner];
    let (status, reg) = app
        .post(
            &format!("/customers/{customer}/instances"),
            Some(app.token(Role::PlatformAdmin)),
            json!({ "name": "Bench", "url": base }),
        )
        .await;
    assert_eq!(status, 201, "{reg}");
    let id = reg["instance"]["id"].as_str().ok_or("no id")?.to_string();
    instance.configure(reference_instance::Setup {
        instance_id: id.clone(),
        secret: reg["secret"].as_str().ok_or("no secret")?.to_string(),
        url: base.clone(),
        profile: portico_core::instances::Profile::Present,
    });
    let (status, v) = app
        .post(
            &format!("/customers/{customer}/instances/{id}/verify"),
            Some(app.token(Role::PlatformAdmin)),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, v["connection"]["state"].as_str()),
        (200, Some("verified")),
        "{v}"
    );
    // The customer lets its partner in: partner settings changes need it.
    let (status, v) = app
        .put(
            &format!("/customers/{customer}/instances/{id}/access"),
            app.token(Role::CustomerAccountOwner),
            json!({ "mode": "standing" }),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let worker = tokio::spawn(portico_core::ops::deliveries::work(app.deps.clone()));

    let manager = app.token(Role::PartnerManager).to_string();
    let path = format!("/customers/{customer}/settings/{KEY}");
    let (mut enabled, mut version) = (true, 0u64);
    let mut took = Vec::with_capacity(TOGGLES);
    for _ in 0..TOGGLES {
        let before = instance.applied().seq;
        enabled = !enabled;
        let (status, body) = app
            .put(&path, &manager, json!({ "enabled": enabled, "version": version }))
            .await;
        assert_eq!(status, 200, "{body}");
        version = body["version"].as_u64().ok_or("no version")?;
        let committed = Instant::now();
        tokio::time::timeout(
            Duration::from_secs(10),
            instance.wait_until(|a| a.seq > before && a.settings.get(KEY) == Some(&enabled)),
        )
        .await?;
        took.push(committed.elapsed());
    }
    worker.abort();
    took.sort();
    let at = |q: f64| took[((took.len() as f64 * q).ceil() as usize).clamp(1, took.len()) - 1];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "settings delivery, commit to applied, {TOGGLES} toggles (local portal: SQLite, its worker, the reference instance over HTTP): \
         median {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        ms(at(0.5)),
        ms(at(0.9)),
        ms(at(0.99)),
        ms(took[took.len() - 1])
    );
    Ok(())
}
