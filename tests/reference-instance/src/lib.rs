//! The reference instance: the customer side of `docs/instance-integration.md`,
//! executable. It answers Portico's verification challenges, applies
//! settings deliveries (keeping the highest revision), and shows its
//! settings on a page. Tests start it in-process; the local portal serves
//! the demo customers' instances with it under `/_reference/<name>`.
//!
//! Everything it checks comes from the contract: the `Portico-Signature`
//! header (HMAC-SHA256 over the documented bytes, 300 s tolerance, each
//! nonce once) and the messages' fields.

pub mod demo;
pub mod login;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use portico_core::instances::{Challenge, ChallengeAnswer, INSTANCE_HEADER, Profile, ProfileMessage, SettingsSnapshot};
use portico_core::ops::deliveries::PULL_PATH;
use portico_core::signing;

/// What the instance is: its id and secret (from Portico's registration),
/// the URL it believes it lives at, and whether its Partner Support profile exists.
#[derive(Debug, Clone)]
pub struct Setup {
    pub instance_id: String,
    pub secret: String,
    pub url: String,
    pub profile: Profile,
}

/// The settings it applied, and their revision.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    pub seq: u64,
    pub settings: BTreeMap<String, bool>,
}

#[derive(Default)]
pub(crate) struct Inner {
    pub(crate) setup: Option<Setup>,
    /// Answers 503 to everything (a test's outage).
    down: bool,
    applied: Applied,
    /// Nonces seen within the tolerance, with their timestamps.
    nonces: HashMap<String, i64>,
    /// Deliveries received (applied or stale), for the tests.
    deliveries: u64,
    /// The clock signatures are checked against (tests share Portico's).
    clock: Option<Clock>,
    /// Portico's base URL, to pull from (the pull path).
    pub(crate) portico: Option<String>,
    /// Rung whenever it applies a revision.
    changed: Arc<tokio::sync::Notify>,
    /// The Partner Support profile Portico provisioned (the highest revision seen).
    pub(crate) support: Option<ProfileMessage>,
    /// LogMeIn: Portico's keys, the assertions used, the sessions opened.
    pub(crate) login: login::State,
}

/// Unix seconds now.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// One reference instance; clone freely (shared state).
#[derive(Clone, Default)]
pub struct Instance(Arc<Mutex<Inner>>);

impl Instance {
    pub fn new() -> Self {
        Self::default()
    }

    pub(crate) fn inner(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves plain data: keep using it.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Installs (or replaces) what Portico's registration gave.
    pub fn configure(&self, setup: Setup) {
        self.inner().setup = Some(setup);
    }
    pub fn setup(&self) -> Option<Setup> {
        self.inner().setup.clone()
    }
    /// Changes what the instance believes (its URL, its profile).
    pub fn update(&self, f: impl FnOnce(&mut Setup)) {
        if let Some(s) = self.inner().setup.as_mut() {
            f(s)
        }
    }
    /// Checks signatures against `clock` instead of the system's.
    pub fn set_clock(&self, clock: Clock) {
        self.inner().clock = Some(clock);
    }
    /// Where Portico is, for [`Instance::pull`] (and pulling when it starts).
    pub fn set_portico(&self, base_url: &str) {
        self.inner().portico = Some(base_url.trim_end_matches('/').to_string());
    }
    pub fn set_down(&self, down: bool) {
        self.inner().down = down;
    }
    pub fn applied(&self) -> Applied {
        self.inner().applied.clone()
    }
    /// Forgets what it applied (a restart without its disk).
    pub fn forget(&self) {
        self.inner().applied = Applied::default();
    }
    /// The Partner Support profile Portico provisioned, if any.
    pub fn support_profile(&self) -> Option<ProfileMessage> {
        self.inner().support.clone()
    }
    /// Restores the Partner Support profile a real instance keeps across
    /// restarts (the local portal's demo instances live in memory).
    pub fn restore_profile(&self, message: ProfileMessage) {
        self.inner().support = Some(message);
    }
    /// Deletes the Partner Support profile (what the instance must never let
    /// its users do; a test's way to make it go missing).
    pub fn delete_profile(&self) {
        let mut inner = self.inner();
        inner.support = None;
        if let Some(s) = inner.setup.as_mut() {
            s.profile = Profile::Missing;
        }
    }
    pub fn deliveries(&self) -> u64 {
        self.inner().deliveries
    }
    /// Waits until what it applied satisfies `done` (the benchmark's clock stops there).
    pub async fn wait_until(&self, done: impl Fn(&Applied) -> bool) {
        loop {
            let changed = self.inner().changed.clone();
            let notified = changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if done(&self.applied()) {
                return;
            }
            notified.await;
        }
    }

    pub(crate) fn now(&self) -> i64 {
        let clock = self.inner().clock.clone();
        clock.map(|c| c()).unwrap_or_else(|| chrono::Utc::now().timestamp())
    }

    /// Keeps `snapshot` if it is newer than what it has; answers the revision it holds.
    fn apply(&self, snapshot: SettingsSnapshot) -> u64 {
        let mut inner = self.inner();
        // A stale delivery is acknowledged and ignored: the instance keeps the highest revision.
        if snapshot.seq > inner.applied.seq || (snapshot.seq == 0 && inner.applied.settings.is_empty()) {
            inner.applied = Applied {
                seq: snapshot.seq,
                settings: snapshot.settings,
            };
            inner.changed.notify_waiters();
        }
        inner.applied.seq
    }

    /// The pull path: reads its settings from Portico with a signed `GET`
    /// and applies them if newer. Answers the revision it holds after.
    pub async fn pull(&self) -> Result<u64, String> {
        let (setup, portico) = {
            let inner = self.inner();
            (inner.setup.clone(), inner.portico.clone())
        };
        let setup = setup.ok_or("not set up yet")?;
        let portico = portico.ok_or("no Portico to pull from")?;
        let url = format!("{portico}{PULL_PATH}");
        let path = reqwest::Url::parse(&url).map_err(|e| e.to_string())?.path().to_string();
        let signature = signing::sign(
            setup.secret.as_bytes(),
            self.now(),
            &portico_core::instances::new_nonce(),
            &signing::Request {
                method: "GET",
                path: &path,
                body: b"",
            },
        )
        .map_err(|e| e.to_string())?;
        portico_core::outbound::install_tls_provider();
        let resp = reqwest::Client::new()
            .get(&url)
            .header(INSTANCE_HEADER, &setup.instance_id)
            .header(signing::HEADER, signature)
            .timeout(std::time::Duration::from_secs(5))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !resp.status().is_success() {
            return Err(format!(
                "Portico answered {}: {}",
                resp.status(),
                resp.text().await.unwrap_or_default()
            ));
        }
        let snapshot: SettingsSnapshot = resp.json().await.map_err(|e| e.to_string())?;
        if snapshot.instance_id.to_string() != setup.instance_id {
            return Err("Portico answered another instance's settings".into());
        }
        Ok(self.apply(snapshot))
    }

    /// Checks a signed request from Portico; answers the setup it was checked with.
    fn check_signature(&self, headers: &HeaderMap, path: &str, body: &[u8]) -> Result<Setup, Box<Response>> {
        let mut inner = self.inner();
        if inner.down {
            return Err(Box::new(
                (StatusCode::SERVICE_UNAVAILABLE, "down for maintenance").into_response(),
            ));
        }
        let setup = inner
            .setup
            .clone()
            .ok_or_else(|| Box::new((StatusCode::SERVICE_UNAVAILABLE, "not set up yet").into_response()))?;
        let header = headers
            .get(signing::HEADER)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| Box::new((StatusCode::UNAUTHORIZED, "no signature").into_response()))?;
        let now = inner
            .clock
            .as_ref()
            .map(|c| c())
            .unwrap_or_else(|| chrono::Utc::now().timestamp());
        // A signature holds from 300 s before its time to 300 s after, so a
        // nonce is kept for twice that from when it was seen.
        inner
            .nonces
            .retain(|_, t| (now - *t).abs() <= 2 * signing::TOLERANCE_SECONDS);
        let nonces = &mut inner.nonces;
        signing::verify(
            setup.secret.as_bytes(),
            header,
            &signing::Request {
                method: "POST",
                path,
                body,
            },
            now,
            |n| nonces.insert(n.to_string(), now).is_none(),
        )
        .map_err(|e| Box::new((StatusCode::UNAUTHORIZED, e.to_string()).into_response()))?;
        Ok(setup)
    }
}

/// The instance's routes: the contract's two endpoints and its page.
pub fn router(instance: Instance) -> Router {
    Router::new()
        .route("/.well-known/portico/verify", post(verify))
        .route("/.well-known/portico/settings", post(settings))
        .route("/.well-known/portico/profile", post(profile))
        .route("/.well-known/portico/login", post(login::redeem))
        .route("/", get(page))
        .with_state(instance)
}

/// A request from Portico: its signature checked, then its body read as `T`.
fn signed<T: serde::de::DeserializeOwned>(
    instance: &Instance,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: &[u8],
    not_t: &'static str,
) -> Result<(Setup, T), Box<Response>> {
    let setup = instance.check_signature(headers, uri.path(), body)?;
    let value =
        serde_json::from_slice::<T>(body).map_err(|_| Box::new((StatusCode::BAD_REQUEST, not_t).into_response()))?;
    Ok((setup, value))
}

async fn verify(
    State(instance): State<Instance>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (setup, challenge) = match signed::<Challenge>(&instance, &uri, &headers, &body, "not a challenge") {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let present = setup.profile == Profile::Present;
    let Ok(proof) = signing::proof(
        setup.secret.as_bytes(),
        &challenge.nonce,
        &setup.instance_id,
        &setup.url,
        present,
    ) else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "cannot prove").into_response();
    };
    let seq = instance.applied().seq;
    axum::Json(ChallengeAnswer {
        nonce: challenge.nonce,
        instance_id: setup.instance_id,
        url: setup.url,
        partner_support_profile: setup.profile,
        proof,
        settings_seq: Some(seq),
    })
    .into_response()
}

async fn settings(
    State(instance): State<Instance>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (setup, snapshot) =
        match signed::<SettingsSnapshot>(&instance, &uri, &headers, &body, "not a settings delivery") {
            Ok(v) => v,
            Err(r) => return *r,
        };
    if snapshot.instance_id.to_string() != setup.instance_id {
        return (StatusCode::BAD_REQUEST, "another instance's delivery").into_response();
    }
    instance.inner().deliveries += 1;
    let applied = instance.apply(snapshot);
    axum::Json(serde_json::json!({ "applied": applied })).into_response()
}

/// Portico provisions the Partner Support profile: kept (the highest
/// revision), and the instance has it from now on.
async fn profile(
    State(instance): State<Instance>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (setup, message) = match signed::<ProfileMessage>(&instance, &uri, &headers, &body, "not a profile") {
        Ok(v) => v,
        Err(r) => return *r,
    };
    if message.instance_id.to_string() != setup.instance_id {
        return (StatusCode::BAD_REQUEST, "another instance's profile").into_response();
    }
    let mut inner = instance.inner();
    if inner.support.as_ref().is_none_or(|p| p.revision <= message.revision) {
        inner.support = Some(message);
    }
    if let Some(s) = inner.setup.as_mut() {
        s.profile = Profile::Present;
    }
    let revision = inner.support.as_ref().map(|p| p.revision).unwrap_or_default();
    axum::Json(serde_json::json!({ "revision": revision })).into_response()
}

pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

async fn page(State(instance): State<Instance>, headers: HeaderMap) -> Html<String> {
    let banner = login::banner(&instance, &headers);
    let applied = instance.applied();
    let setup = instance.setup();
    let rows: String = applied
        .settings
        .iter()
        .map(|(k, v)| {
            format!(
                "<tr><td>{}</td><td>{}</td></tr>",
                escape(k),
                if *v { "Enabled" } else { "Disabled" }
            )
        })
        .collect();
    let name = setup
        .as_ref()
        .map(|s| format!("{} at {}", s.instance_id, s.url))
        .unwrap_or_else(|| "not set up".into());
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Reference instance</title></head>\
         <body>{banner}<main><h1>Reference instance</h1><p>{}</p><p>Settings revision {}</p>\
         <table><thead><tr><th scope=\"col\">Setting</th><th scope=\"col\">Value</th></tr></thead><tbody>{rows}</tbody></table>\
         </main></body></html>",
        escape(&name),
        applied.seq
    ))
}

/// Serves `instance` on `listener` until the task is dropped. Starting, it
/// pulls its settings from Portico if it knows where Portico is (a restart
/// catches up on what it missed while down).
pub async fn serve(listener: tokio::net::TcpListener, instance: Instance) -> std::io::Result<()> {
    let starting = instance.clone();
    tokio::spawn(async move {
        if starting.inner().portico.is_some()
            && let Err(e) = starting.pull().await
        {
            tracing::warn!(error = %e, "pulling the settings at start failed");
        }
    });
    axum::serve(listener, router(instance)).await
}
