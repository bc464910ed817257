//! Customer instances on the pages (issue 13): the connection column of the
//! customer list, the instances card of a customer's settings page (the
//! connection, whether the instance has the latest settings, "Verify now",
//! "Ask to recreate"), the recreate request form, and the platform's
//! recreation (the new secret shown once).

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::render::{Chrome, Errors, fail, page};
use super::visit::{Form, PagePath, SignedIn};
use crate::app::AppState;
use crate::domain::{InstanceId, OrgId, Role};
use crate::instances::InstanceView;
use crate::ops::instances::{self, AskRecreate, Recreate, ago};

/// How a connection shows: a word, its tone (`good`, `warn`, `bad`) and the detail.
pub struct ConnectionCell {
    pub instance: String,
    pub url: String,
    pub tone: &'static str,
    pub label: &'static str,
    pub detail: String,
}

impl ConnectionCell {
    pub fn of(v: &InstanceView, now: DateTime<Utc>) -> Self {
        let c = &v.connection;
        let (tone, label, detail) = match c.state.as_str() {
            "verified" => (
                "good",
                "✓ Verified",
                match c.last_checked.or(c.since) {
                    Some(t) => format!("checked {}", ago(t, now)),
                    None => String::new(),
                },
            ),
            "unreachable" => (
                "warn",
                "Unreachable",
                format!(
                    "{} since {}; checking again with a growing interval",
                    c.reason.clone().unwrap_or_default(),
                    c.since.map(|t| ago(t, now)).unwrap_or_default()
                ),
            ),
            "broken" => (
                "bad",
                "✗ Broken",
                format!(
                    "{}; ask the platform to recreate the connection",
                    c.reason.clone().unwrap_or_default()
                ),
            ),
            _ => ("warn", "Pending", "waits for the instance to prove itself".into()),
        };
        ConnectionCell {
            instance: v.name.as_str().to_string(),
            url: v.url.as_str().to_string(),
            tone,
            label,
            detail,
        }
    }
}

/// An instance on the customer's settings page.
pub struct InstanceRow {
    pub id: String,
    pub cell: ConnectionCell,
    /// "Applied", "Pending since …", or none (nothing changed yet).
    pub settings: Option<(bool, String)>,
}

impl InstanceRow {
    pub fn of(v: &InstanceView, now: DateTime<Utc>) -> Self {
        InstanceRow {
            id: v.id.to_string(),
            cell: ConnectionCell::of(v, now),
            settings: v
                .settings
                .as_ref()
                .map(|s| match (s.applied, s.pending_since, s.acknowledged_at) {
                    (true, _, Some(at)) => (true, format!("Applied (acknowledged {})", ago(at, now))),
                    (true, _, None) => (true, "Applied".into()),
                    (false, Some(since), _) => {
                        (false, format!("Pending since {} UTC", since.format("%-d %b %H:%M:%S")))
                    }
                    (false, None, _) => (false, "Pending".into()),
                }),
        }
    }
}

/// The instances card of a customer's settings page: none if the caller
/// may not see its instances (or it has none).
pub async fn card(deps: &crate::app::Deps, caller: &crate::http::principal::Caller, id: OrgId) -> Vec<InstanceRow> {
    match instances::list(deps, caller, id).await {
        Ok(list) => {
            let now = deps.clock.now();
            list.instances.iter().map(|v| InstanceRow::of(v, now)).collect()
        }
        Err(e) => {
            if e.status().is_server_error() {
                tracing::error!(error = %e, "the instances card failed");
            }
            Vec::new()
        }
    }
}

/// Whether `role` may ask for a connection to be recreated (the policies
/// decide; this only hides the link from those it would refuse).
pub fn may_ask_recreate(role: Option<Role>) -> bool {
    matches!(role, Some(Role::PartnerManager | Role::PlatformAdmin))
}

/// "Verify now" from the settings page: checks at once, back to the page.
pub async fn verify_now(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    PagePath((id, instance)): PagePath<(OrgId, InstanceId)>,
    Form(_): Form<serde_json::Map<String, serde_json::Value>>,
) -> Response {
    match instances::verify_now(&deps, &caller, id, instance).await {
        Ok(_) => Redirect::to(&format!("/customers/{id}?done=verified#instances")).into_response(),
        Err(e) => fail(&visit, &deps.settings, e),
    }
}

#[derive(Template)]
#[template(path = "recreate_request.html")]
struct AskPage {
    chrome: Chrome,
    errors: Errors,
    customer_id: String,
    customer_name: String,
    row: InstanceRow,
    new_url: String,
    note: String,
}

async fn ask_page(
    deps: &AppState,
    visit: &super::visit::Visit,
    caller: &crate::http::principal::Caller,
    (id, instance): (OrgId, InstanceId),
    status: StatusCode,
    errors: Errors,
    form: &AskForm,
) -> Response {
    match instances::get(deps, caller, id, instance).await {
        Ok(v) => page(
            status,
            &AskPage {
                chrome: Chrome::of(visit),
                errors,
                customer_id: id.to_string(),
                customer_name: v.customer_name.clone(),
                row: InstanceRow::of(&v, deps.clock.now()),
                new_url: form.new_url.clone(),
                note: form.note.clone(),
            },
        ),
        Err(e) => fail(visit, &deps.settings, e),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct AskForm {
    #[serde(default)]
    new_url: String,
    #[serde(default)]
    note: String,
}

/// The form a partner manager asks the platform with to recreate a connection.
pub async fn ask_recreate_page(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    PagePath((id, instance)): PagePath<(OrgId, InstanceId)>,
) -> Response {
    ask_page(
        &deps,
        &visit,
        &caller,
        (id, instance),
        StatusCode::OK,
        Errors::none(),
        &AskForm::default(),
    )
    .await
}

pub async fn ask_recreate(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    PagePath((id, instance)): PagePath<(OrgId, InstanceId)>,
    Form(f): Form<AskForm>,
) -> Response {
    let input = AskRecreate {
        new_url: Some(f.new_url.trim().to_string()).filter(|u| !u.is_empty()),
        note: Some(f.note.clone()),
    };
    let done = instances::ask_recreate(&deps, &caller, id, instance, input).await;
    match super::render::after(
        &visit,
        &deps.settings,
        done,
        &format!("/customers/{id}?done=recreate-asked#instances"),
        "new_url",
    ) {
        Ok(r) => r,
        Err((status, errors)) => {
            // Said for people: what to type, then why this one was refused.
            let errors = match errors.get("new_url") {
                Some(why) => Errors::one(
                    Some("new_url"),
                    format!("Enter the instance's full address, like https://contoso.example.com ({why})."),
                ),
                None => errors,
            };
            ask_page(&deps, &visit, &caller, (id, instance), status, errors, &f).await
        }
    }
}

#[derive(Template)]
#[template(path = "recreated.html")]
struct RecreatedPage {
    chrome: Chrome,
    customer_name: String,
    instance: String,
    instance_id: String,
    url: String,
    secret: String,
}

#[derive(Debug, Deserialize)]
pub struct RecreateForm {
    #[serde(default)]
    url: String,
}

/// The platform recreates a connection from the request queue: the new
/// secret, shown this once.
pub async fn recreate(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    PagePath((id, instance)): PagePath<(OrgId, InstanceId)>,
    Form(f): Form<RecreateForm>,
) -> Response {
    let input = Recreate {
        url: Some(f.url.trim().to_string()).filter(|u| !u.is_empty()),
    };
    match instances::recreate(&deps, &caller, id, instance, input).await {
        Ok(done) => {
            let mut resp = page(
                StatusCode::OK,
                &RecreatedPage {
                    chrome: Chrome::of(&visit),
                    customer_name: done.instance.customer_name.clone(),
                    instance: done.instance.name.as_str().to_string(),
                    instance_id: done.instance.id.to_string(),
                    url: done.instance.url.as_str().to_string(),
                    secret: done.secret,
                },
            );
            // The secret is on this page only: never kept by a cache.
            resp.headers_mut().insert(
                axum::http::header::CACHE_CONTROL,
                axum::http::HeaderValue::from_static("no-store"),
            );
            resp
        }
        Err(e) => fail(&visit, &deps.settings, e),
    }
}
