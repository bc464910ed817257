//! Logs never carry tokens, secrets or request bodies, even at TRACE level.
//! A binary of its own: the subscriber is process-wide, so no other test's
//! callsites can race it.

use std::io::Write;
use std::sync::{Arc, Mutex};

use portico_core::domain::Role;
use portico_tests::{Backend, TestApp};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn tokens_and_bodies_stay_out_of_the_logs() {
    let capture = Capture::default();
    let sink = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || sink.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let app = TestApp::spawn(Backend::Sqlite).await;
    let token = app.token(Role::PlatformAdmin).to_string();
    let secret_name = "Zq9-body-marker-Organisation";
    let resp = app
        .http
        .post(app.url("/organizations"))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "name": secret_name, "kind": "partner" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    // Refusals log too; the rejected token must not appear either.
    let forged = format!("{token}x");
    let resp = app
        .http
        .get(app.url("/organizations"))
        .bearer_auth(&forged)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let resp = app
        .http
        .post(app.url("/organizations"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(format!(
            "{{\"name\":\"{secret_name}\",\"password\":\"hunter2-body-marker\"}}"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("request"), "the requests were logged: {logs}");
    let signature = token.rsplit('.').next().unwrap();
    assert!(!logs.contains(signature), "a token leaked into the logs");
    assert!(
        !logs.contains("hunter2-body-marker"),
        "a request body leaked into the logs"
    );
    assert!(!logs.contains("Bearer"), "an Authorization header leaked into the logs");
}
