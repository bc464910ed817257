//! LogMeIn on the pages (issue 14): the button beside each instance of a
//! customer row (enabled only when the connection is verified and the
//! customer consents, with the reason as its tooltip otherwise), the page
//! that carries the assertion to the instance (a form POST, submitted by
//! `portico.js`, with a button for browsers without scripts), and the
//! "ask for access" form for customers that approve each sign-in.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;

use super::render::{Chrome, Errors, fail, page};
use super::visit::{Form, PagePath, SignedIn, Visit};
use crate::access::InstanceAccess;
use crate::app::AppState;
use crate::domain::{InstanceId, OrgId, UserId};
use crate::error::AppError;
use crate::instances::Instance;
use crate::ops::access::{self, AskAccess};

/// LogMeIn for one instance on a customer row: enabled, or why not (and
/// whether asking would help).
pub struct LoginButton {
    pub instance_id: String,
    pub instance: String,
    pub refused: Option<String>,
    /// The customer approves each sign-in: the row links the ask form.
    pub may_ask: bool,
}

impl LoginButton {
    pub fn of(
        i: &Instance,
        customer: &str,
        access: &InstanceAccess,
        user: UserId,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Self {
        let refused = crate::ops::logmein::why_not(i, customer, access, user, now);
        let may_ask = matches!(
            &refused,
            Some(AppError::AccessRefused { code, .. })
                if code.starts_with("instance-access-approval") || *code == "instance-access-denied"
        );
        LoginButton {
            instance_id: i.id.to_string(),
            instance: i.name.as_str().to_string(),
            refused: refused.map(|e| e.detail()),
            may_ask,
        }
    }
}

#[derive(Template)]
#[template(path = "logmein.html")]
struct CarryPage {
    chrome: Chrome,
    action: String,
    assertion: String,
    instance: String,
}

/// `POST /customers/{id}/instances/{instance}/logmein`: LogMeIn, then a
/// page whose form posts the assertion to the instance (never in a URL).
/// Its policy lets forms post to that instance's origin only.
pub async fn log_me_in(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    PagePath((id, instance)): PagePath<(OrgId, InstanceId)>,
    Form(_): Form<serde_json::Map<String, serde_json::Value>>,
) -> Response {
    let form = match crate::ops::logmein::log_in(&deps, &caller, id, instance).await {
        Ok(f) => f,
        Err(e) => return fail(&visit, &deps.settings, e),
    };
    let origin = match url::Url::parse(&form.action) {
        Ok(u) => u.origin().ascii_serialization(),
        Err(e) => return fail(&visit, &deps.settings, AppError::Internal(e.to_string())),
    };
    let name = form.action.clone();
    let mut resp = page(
        StatusCode::OK,
        &CarryPage {
            chrome: Chrome::of(&visit),
            action: form.action,
            assertion: form.assertion,
            instance: name,
        },
    );
    let csp = super::CSP.replace("form-action 'self'", &format!("form-action 'self' {origin}"));
    if let Ok(v) = HeaderValue::from_str(&csp) {
        resp.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    resp
}

#[derive(Template)]
#[template(path = "ask_access.html")]
struct AskPage {
    chrome: Chrome,
    errors: Errors,
    customer_id: String,
    instance_id: String,
    instance: String,
    customer: String,
    reason: String,
    minutes: u32,
    choices: Vec<(u32, &'static str)>,
}

const CHOICES: [(u32, &str); 5] = [
    (15, "15 minutes"),
    (60, "1 hour"),
    (240, "4 hours"),
    (1440, "1 day"),
    (10080, "7 days"),
];

#[derive(Debug, Default, Deserialize)]
pub struct AskForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    minutes: String,
}

async fn ask_page(
    deps: &AppState,
    visit: &Visit,
    caller: &crate::http::principal::Caller,
    (id, instance): (OrgId, InstanceId),
    status: StatusCode,
    errors: Errors,
    form: &AskForm,
) -> Response {
    match crate::ops::instances::get(deps, caller, id, instance).await {
        Ok(v) => page(
            status,
            &AskPage {
                chrome: Chrome::of(visit),
                errors,
                customer_id: id.to_string(),
                instance_id: instance.to_string(),
                instance: v.name.as_str().to_string(),
                customer: v.customer_name.clone(),
                reason: form.reason.clone(),
                minutes: form.minutes.parse().unwrap_or(60),
                choices: CHOICES.to_vec(),
            },
        ),
        Err(e) => fail(visit, &deps.settings, e),
    }
}

/// The "ask for access" form: a reason and for how long.
pub async fn ask_access_page(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    PagePath(path): PagePath<(OrgId, InstanceId)>,
) -> Response {
    ask_page(
        &deps,
        &visit,
        &caller,
        path,
        StatusCode::OK,
        Errors::none(),
        &AskForm::default(),
    )
    .await
}

pub async fn ask_access(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    PagePath((id, instance)): PagePath<(OrgId, InstanceId)>,
    Form(f): Form<AskForm>,
) -> Response {
    let Ok(minutes) = f.minutes.parse::<u32>() else {
        let errors = Errors::one(Some("minutes"), "Choose for how long.".to_string());
        return ask_page(
            &deps,
            &visit,
            &caller,
            (id, instance),
            StatusCode::BAD_REQUEST,
            errors,
            &f,
        )
        .await;
    };
    let input = AskAccess {
        reason: f.reason.clone(),
        duration_minutes: minutes,
    };
    let done = access::request_access(&deps, &caller, id, instance, input).await;
    match super::render::after(&visit, &deps.settings, done, "/customers?done=access-asked", "reason") {
        Ok(r) => r,
        Err((status, errors)) => ask_page(&deps, &visit, &caller, (id, instance), status, errors, &f).await,
    }
}
