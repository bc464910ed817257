//! The activity log, scoped as the API scopes it: filters by user email,
//! action types, description and time range; paging; a CSV export of the
//! same view; and "verify the chain" with its result in plain words.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, NaiveDateTime, Utc};

use super::render::{Chrome, Errors, fail, page};
use super::visit::{Query, SignedIn};
use crate::app::AppState;
use crate::audit::{ActionType, ActivityEvent};
use crate::domain::OrgId;
use crate::ops::activity::{self, ActivityFilter, ExportFormat, Verification, VerifyParams};

/// The page's filters as the form sends them (repeated `action`s).
#[derive(Debug, Default, Clone)]
struct Filters {
    org: Option<OrgId>,
    user: String,
    actions: Vec<String>,
    description: String,
    from: String,
    to: String,
    cursor: Option<String>,
}

fn datetime(s: &str) -> Result<Option<DateTime<Utc>>, ()> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S"))
        .map(|t| Some(t.and_utc()))
        .map_err(|_| ())
}

impl Filters {
    fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut f = Filters::default();
        for (k, v) in pairs {
            match k.as_str() {
                "org" => f.org = OrgId::parse(&v).ok(),
                "user" => f.user = v,
                "action" => f.actions.push(v),
                "description" => f.description = v,
                "from" => f.from = v,
                "to" => f.to = v,
                "cursor" if !v.is_empty() => f.cursor = Some(v),
                _ => {}
            }
        }
        f
    }

    /// The operation's filter, or the form's errors.
    fn filter(&self) -> Result<ActivityFilter, Errors> {
        let mut errors = Errors::none();
        let from = datetime(&self.from).unwrap_or_else(|()| {
            errors.add(Some("from"), "From: a date and time like 2026-11-24T09:00.");
            None
        });
        let to = datetime(&self.to).unwrap_or_else(|()| {
            errors.add(Some("to"), "To: a date and time like 2026-11-24T17:00.");
            None
        });
        let known: Vec<&str> = ActionType::ALL.iter().map(|a| a.name()).collect();
        let actions: Vec<&String> = self.actions.iter().filter(|a| known.contains(&a.as_str())).collect();
        if !errors.is_empty() {
            return Err(errors);
        }
        let some = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        Ok(ActivityFilter {
            user: some(&self.user),
            action: (!actions.is_empty()).then(|| actions.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(",")),
            description: some(&self.description),
            from,
            to,
            limit: Some(25),
            cursor: self.cursor.clone(),
            format: None,
        })
    }

    /// The filters as a query string (for the next page and the export).
    fn query(&self, org: OrgId) -> String {
        let mut pairs: Vec<(&str, String)> = vec![("org", org.to_string())];
        for (k, v) in [
            ("user", &self.user),
            ("description", &self.description),
            ("from", &self.from),
            ("to", &self.to),
        ] {
            if !v.is_empty() {
                pairs.push((k, v.clone()));
            }
        }
        for a in &self.actions {
            pairs.push(("action", a.clone()));
        }
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    }
}

pub struct ActionBox {
    pub name: &'static str,
    pub id: String,
    pub checked: bool,
}

impl ActivityPageTpl {
    fn actions_chosen(&self) -> usize {
        self.actions.iter().filter(|a| a.checked).count()
    }
}

#[derive(Template)]
#[template(path = "activity.html")]
struct ActivityPageTpl {
    chrome: Chrome,
    errors: Errors,
    org_id: String,
    org_name: String,
    user: String,
    description: String,
    from: String,
    to: String,
    actions: Vec<ActionBox>,
    events: Vec<ActivityEvent>,
    next: Option<String>,
    query: String,
    filtered: bool,
    can_verify: bool,
}

/// The log of an organisation (the caller's own unless `org` says another it may read).
pub async fn log(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Response {
    let f = Filters::from_pairs(pairs);
    let org = f.org.unwrap_or(caller.org_id);
    let boxes = ActionType::ALL
        .iter()
        .map(|a| ActionBox {
            name: a.name(),
            id: format!("action-{}", a.name().to_lowercase().replace(' ', "-")),
            checked: f.actions.iter().any(|x| x == a.name()),
        })
        .collect();
    let (filter, mut errors) = match f.filter() {
        Ok(filter) => (filter, Errors::none()),
        Err(errors) => (
            ActivityFilter {
                limit: Some(25),
                ..Default::default()
            },
            errors,
        ),
    };
    let (events, named, can_verify) = futures::join!(
        activity::list(&deps, &caller, org, filter),
        crate::ops::organizations::get(&deps, &caller, org),
        activity::may_verify(&deps, &caller, org)
    );
    let (events, named) = match (events, named) {
        (Ok(e), Ok(o)) => (e, o),
        (Err(crate::error::AppError::Invalid(why)), Ok(o)) => {
            let empty = activity::ActivityPage {
                items: Vec::new(),
                next: None,
                examined: 0,
            };
            errors.add(None, why);
            (empty, o)
        }
        (Err(e), _) | (_, Err(e)) => return fail(&visit, &deps.settings, e),
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    page(
        status,
        &ActivityPageTpl {
            can_verify: can_verify.unwrap_or(false),
            chrome: Chrome::of(&visit),
            errors,
            org_id: org.to_string(),
            org_name: named.name.as_str().to_string(),
            filtered: !f.user.is_empty()
                || !f.actions.is_empty()
                || !f.description.is_empty()
                || !f.from.is_empty()
                || !f.to.is_empty(),
            user: f.user.clone(),
            description: f.description.clone(),
            from: f.from.clone(),
            to: f.to.clone(),
            actions: boxes,
            events: events.items,
            next: events.next,
            query: f.query(org),
        },
    )
}

/// The filtered view as CSV (newest first), as the API's export.
pub async fn export(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Response {
    let f = Filters::from_pairs(pairs);
    let org = f.org.unwrap_or(caller.org_id);
    let Ok(mut filter) = f.filter() else {
        return super::render::plain_error(StatusCode::BAD_REQUEST, "The filters could not be read.");
    };
    filter.limit = None;
    filter.cursor = None;
    filter.format = Some(ExportFormat::Csv);
    let export = match activity::export(&deps, &caller, org, filter).await {
        Ok(e) => e,
        Err(e) => return fail(&visit, &deps.settings, e),
    };
    crate::http::export_answer(export, &format!("activity-{org}.csv"))
}

#[derive(Template)]
#[template(path = "verify.html")]
struct VerifyPage {
    chrome: Chrome,
    org_id: String,
    v: Verification,
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct VerifyQuery {
    org: Option<String>,
    cursor: Option<String>,
}

/// Recomputes the organisation's hash chain and says whether it is intact.
pub async fn verify(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    Query(q): Query<VerifyQuery>,
) -> Response {
    let org = q
        .org
        .as_deref()
        .and_then(|o| OrgId::parse(o).ok())
        .unwrap_or(caller.org_id);
    let params = VerifyParams {
        cursor: q.cursor.filter(|c| !c.is_empty()),
    };
    match activity::verify(&deps, &caller, org, params).await {
        Ok(v) => page(
            StatusCode::OK,
            &VerifyPage {
                chrome: Chrome::of(&visit),
                org_id: org.to_string(),
                v,
            },
        ),
        Err(e) => fail(&visit, &deps.settings, e),
    }
}
