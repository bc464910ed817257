//! For `scripts/bench`: settings delivery latency on the local portal's
//! code path (embedded store, the portal's delivery worker, the reference
//! instance over HTTP): 1,000 toggles one after another; each is timed from
//! the toggle's commit (its answer) to the instance applying that revision
//! (it acknowledges in the same answer). Prints the median, p90, p99 and max.

use std::time::{Duration, Instant};

use portico_core::domain::Role;
use portico_tests::{Backend, TestApp};
use serde_json::json;

const TOGGLES: usize = 1000;
const KEY: &str = "feed.reactions";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let customer = app.orgs[&Role::CustomerAccountOwner];
    // Verified, and the customer lets its partner in (partner settings changes need it).
    let (instance, _, _) = app.verified_instance(customer, "Bench", "standing").await;
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
