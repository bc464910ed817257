//! The customer's side of LogMeIn (issue 14): "Partner access", where the
//! Account Owner allows or withdraws partners' sign-ins to each instance
//! (always, until a date, or "ask me each time"), answers the requests
//! waiting, and chooses how the customer is told of sign-ins. Customer
//! users see the same page without its forms.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{NaiveDate, Utc};
use serde::Deserialize;

use super::render::{Chrome, Errors, fail, page};
use super::visit::{Form, PagePath, Query, SignedIn, Visit};
use crate::access::{ConsentMode, NoticeMode};
use crate::app::AppState;
use crate::domain::{AccessRequestId, EmailAddress, InstanceId, Role};
use crate::error::AppError;
use crate::ops::access::{self, AccessView, Decide, SetConsent, SetNotices};

/// One instance on the page.
struct ConsentRow {
    id: String,
    name: String,
    mode: &'static str,
    /// The end date of standing consent, as the date field shows it.
    until: String,
    said: String,
    changed: String,
}

/// One request waiting.
struct RequestRow {
    id: String,
    who: String,
    instance: String,
    reason: String,
    how_long: String,
    asked: String,
}

#[derive(Template)]
#[template(path = "access.html")]
struct AccessPage {
    chrome: Chrome,
    errors: Errors,
    notice: Option<&'static str>,
    manage: bool,
    rows: Vec<ConsentRow>,
    requests: Vec<RequestRow>,
    each_login: bool,
    to: String,
    sign_ins: &'static str,
}

fn how_long(minutes: u32) -> String {
    match minutes {
        m if m % 1440 == 0 => format!("{} day{}", m / 1440, if m == 1440 { "" } else { "s" }),
        m if m % 60 == 0 => format!("{} hour{}", m / 60, if m == 60 { "" } else { "s" }),
        m => format!("{m} minutes"),
    }
}

fn rows(v: &AccessView) -> Vec<ConsentRow> {
    let t = |at: chrono::DateTime<Utc>| at.format("%-d %b %Y %H:%M UTC").to_string();
    v.instances
        .iter()
        .map(|i| {
            let (mode, until, said) = match &i.mode {
                ConsentMode::Off => ("off", String::new(), "Partners may not sign in".to_string()),
                ConsentMode::Standing { until: None } => ("standing", String::new(), "Partners may sign in".into()),
                ConsentMode::Standing { until: Some(u) } => (
                    "standing",
                    u.format("%Y-%m-%d").to_string(),
                    format!("Partners may sign in until {}", t(*u)),
                ),
                ConsentMode::Ask => ("ask", String::new(), "You approve each sign-in".into()),
            };
            ConsentRow {
                id: i.instance_id.to_string(),
                name: i.instance_name.clone(),
                mode,
                until,
                said,
                changed: match (&i.changed_by, i.changed_at) {
                    (Some(by), Some(at)) => format!("Set by {} on {}", by.as_str(), t(at)),
                    _ => String::new(),
                },
            }
        })
        .collect()
}

#[derive(Debug, Default, Deserialize)]
pub struct Done {
    done: Option<String>,
}

async fn show(
    deps: &AppState,
    visit: &Visit,
    caller: &crate::http::principal::Caller,
    status: StatusCode,
    errors: Errors,
    done: Option<&str>,
) -> Response {
    let v = match access::view(deps, caller, caller.org_id).await {
        Ok(v) => v,
        Err(e) => return fail(visit, &deps.settings, e),
    };
    let manage = visit
        .seen
        .get()
        .is_some_and(|s| s.user.role == Role::CustomerAccountOwner);
    let t = |at: chrono::DateTime<Utc>| at.format("%-d %b %Y %H:%M UTC").to_string();
    page(
        status,
        &AccessPage {
            chrome: Chrome::of(visit),
            errors,
            notice: match done {
                Some("consent") => {
                    Some("Saved: partners' access is as shown, and it is in both organisations' activity logs.")
                }
                Some("notices") => Some("Saved: you will be told of partner sign-ins as chosen."),
                Some("approved") => {
                    Some("Approved: the partner user is emailed, and may sign in until the time you allowed.")
                }
                Some("denied") => Some("Denied: the partner user is emailed."),
                _ => None,
            },
            manage,
            rows: rows(&v),
            requests: v
                .pending_requests
                .iter()
                .map(|r| RequestRow {
                    id: r.id.to_string(),
                    who: r.user_email.as_str().to_string(),
                    instance: r.instance_name.as_str().to_string(),
                    reason: r.reason.clone(),
                    how_long: how_long(r.duration_minutes),
                    asked: t(r.created_at),
                })
                .collect(),
            each_login: v.notices.as_ref().is_none_or(|n| n.mode == NoticeMode::EachLogin),
            to: v
                .notices
                .as_ref()
                .map(|n| n.to.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(", "))
                .unwrap_or_default(),
            sign_ins: crate::ops::logmein::SIGN_INS_LINK,
        },
    )
}

/// `GET /access`: the customer's partner access.
pub async fn access_page(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    Query(d): Query<Done>,
) -> Response {
    show(
        &deps,
        &visit,
        &caller,
        StatusCode::OK,
        Errors::none(),
        d.done.as_deref(),
    )
    .await
}

#[derive(Debug, Default, Deserialize)]
pub struct ConsentForm {
    #[serde(default)]
    mode: String,
    #[serde(default)]
    until: String,
}

/// `POST /access/instances/{instance}`: one instance's consent.
pub async fn set_consent(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    PagePath(instance): PagePath<InstanceId>,
    Form(f): Form<ConsentForm>,
) -> Response {
    let until = match (f.mode.as_str(), f.until.trim()) {
        ("standing", d) if !d.is_empty() => match NaiveDate::parse_from_str(d, "%Y-%m-%d") {
            // To the end of that day (UTC).
            Ok(day) => day.and_hms_opt(23, 59, 59).map(|t| t.and_utc()),
            Err(_) => {
                let errors = Errors::one(
                    Some("until"),
                    "Enter the end date as a date, like 2027-03-31.".to_string(),
                );
                return show(&deps, &visit, &caller, StatusCode::BAD_REQUEST, errors, None).await;
            }
        },
        _ => None,
    };
    let done = access::set_consent(
        &deps,
        &caller,
        caller.org_id,
        instance,
        SetConsent { mode: f.mode, until },
    )
    .await;
    answer(&deps, &visit, &caller, done, "/access?done=consent", "until").await
}

#[derive(Debug, Default, Deserialize)]
pub struct NoticesForm {
    #[serde(default)]
    mode: String,
    #[serde(default)]
    to: String,
}

/// `POST /access/notices`: how the customer is told of sign-ins.
pub async fn set_notices(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    Form(f): Form<NoticesForm>,
) -> Response {
    let mode = match f.mode.as_str() {
        "daily_digest" => NoticeMode::DailyDigest,
        _ => NoticeMode::EachLogin,
    };
    let to: Result<Vec<EmailAddress>, _> =
        f.to.split([',', ';', '\n'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(EmailAddress::parse)
            .collect();
    let done = match to {
        Ok(to) => {
            let to = (!to.is_empty()).then_some(to);
            access::set_notices(&deps, &caller, caller.org_id, SetNotices { mode, to }).await
        }
        Err(_) => Err(AppError::invalid(
            "Enter email addresses separated by commas, like it@contoso.example.com.",
        )),
    };
    answer(&deps, &visit, &caller, done, "/access?done=notices", "to").await
}

#[derive(Debug, Default, Deserialize)]
pub struct DecideForm {
    #[serde(default)]
    decision: String,
    #[serde(default)]
    note: String,
}

/// `POST /access/requests/{id}`: approve (for as long as asked) or deny.
pub async fn decide(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    PagePath(request): PagePath<AccessRequestId>,
    Form(f): Form<DecideForm>,
) -> Response {
    let approve = f.decision == "approve";
    let input = Decide {
        approve,
        duration_minutes: None,
        note: Some(f.note).filter(|n| !n.trim().is_empty()),
    };
    let done = access::decide(&deps, &caller, caller.org_id, request, input).await;
    let to = if approve {
        "/access?done=approved"
    } else {
        "/access?done=denied"
    };
    answer(&deps, &visit, &caller, done, to, "decision").await
}

async fn answer<T>(
    deps: &AppState,
    visit: &Visit,
    caller: &crate::http::principal::Caller,
    done: Result<T, AppError>,
    to: &str,
    field: &'static str,
) -> Response {
    match super::render::after(visit, &deps.settings, done, to, field) {
        Ok(r) => r,
        Err((status, errors)) => show(deps, visit, caller, status, errors, None).await,
    }
}
