//! The platform's Partner Portal page (seed 002 Steps 1 to 6): the
//! switches and settings, the signup link, the portal texts, the sign-ups
//! moderation holds and the partners' requests for seats.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::render::{Chrome, Errors, fail, page};
use super::visit::{Form, PagePath, Query, SignedIn, Visit};
use crate::app::AppState;
use crate::domain::{OrgId, OrgKind, RequestId, UserId};
use crate::error::AppError;
use crate::http::principal::Caller;
use crate::ops::accounts::PageQuery;
use crate::ops::organizations::ListOrganizations;
use crate::ops::partner_portal::{self, SetText};
use crate::ops::{seats, signup};
use crate::partner_portal::{Allocation, Capabilities, PortalConfig, TextName};

struct TextBox {
    name: &'static str,
    label: &'static str,
    hint: &'static str,
    html: String,
    version: u64,
}

struct Held {
    id: String,
    name: String,
    since: String,
}

struct SeatAsk {
    id: String,
    org: String,
    seats: u32,
    since: String,
}

#[derive(Template)]
#[template(path = "admin_partner_portal.html")]
struct PortalPage {
    chrome: Chrome,
    errors: Errors,
    notice: Option<&'static str>,
    config: PortalConfig,
    /// (user id, "email (organisation)") of the templates' managers.
    models: Vec<(String, String)>,
    allocation_kind: &'static str,
    allocation_seats: u32,
    link_url: Option<String>,
    texts: Vec<TextBox>,
    held: Vec<Held>,
    seat_asks: Vec<SeatAsk>,
}

impl PortalPage {
    fn model_selected(&self, id: &str) -> bool {
        self.config.model_user.is_some_and(|m| m.to_string() == id)
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct Done {
    done: Option<String>,
}

fn notice(done: Option<&str>) -> Option<&'static str> {
    match done {
        Some("saved") => Some("Saved: the switches and settings apply from the next request."),
        Some("link") => Some("A new signup link is live; the previous one no longer works."),
        Some("text") => Some("Saved the text (sanitised: anything that could run was dropped)."),
        Some("approved") => Some("Approved: its manager can sign in, and is told by email."),
        Some("rejected") => Some("Rejected: the organisation and its manager are removed."),
        Some("seats") => Some("Decided: the partner's seats are as shown on its users page."),
        _ => None,
    }
}

async fn show(
    deps: &AppState,
    visit: &Visit,
    caller: &Caller,
    status: StatusCode,
    errors: Errors,
    done: Option<&str>,
) -> Response {
    let q = || PageQuery {
        limit: Some(100),
        cursor: None,
    };
    let (config, texts, held, asks, partners) = futures::join!(
        partner_portal::get(deps, caller),
        partner_portal::texts(deps),
        signup::awaiting(deps, caller, q()),
        seats::list_requests(deps, caller, q()),
        crate::ops::organizations::list(
            deps,
            caller,
            ListOrganizations {
                kind: Some(OrgKind::Partner),
                limit: Some(100),
                cursor: None,
            }
        )
    );
    let (config, texts, held, asks, partners) = match (config, texts, held, asks, partners) {
        (Ok(c), Ok(t), Ok(h), Ok(a), Ok(p)) => (c, t, h, a, p),
        (Err(e), ..) | (_, Err(e), ..) | (_, _, Err(e), ..) | (_, _, _, Err(e), _) | (.., Err(e)) => {
            return fail(visit, &deps.settings, e);
        }
    };
    // The templates' managers, for the Model User (templates are few).
    let mut models = Vec::new();
    for t in partners.items.iter().filter(|o| o.template) {
        match crate::ops::accounts::list_users(deps, caller, t.id, q()).await {
            Ok(users) => models.extend(
                users
                    .items
                    .iter()
                    .filter(|u| u.role == crate::domain::Role::PartnerManager)
                    .map(|u| (u.id.to_string(), format!("{} ({})", u.email, t.name.as_str()))),
            ),
            Err(e) => return fail(visit, &deps.settings, e),
        }
    }
    let (allocation_kind, allocation_seats) = match config.default_allocation {
        Allocation::Unlimited => ("unlimited", 0),
        Allocation::Allocated { seats } => ("allocated", seats),
        Allocation::Purchasable { seats } => ("purchasable", seats),
    };
    let text = |name, label, hint, t: &crate::partner_portal::PortalText| TextBox {
        name,
        label,
        hint,
        html: t.html.clone(),
        version: t.version,
    };
    page(
        status,
        &PortalPage {
            chrome: Chrome::of(visit),
            errors,
            notice: notice(done),
            link_url: config
                .signup_link
                .as_ref()
                .map(|l| format!("{}/signup?link={}", deps.settings.public_url, l.id)),
            config,
            models,
            allocation_kind,
            allocation_seats,
            texts: vec![
                text(
                    "initiation",
                    "Partner Portal Initiation Text",
                    "Shown on the signup page.",
                    &texts.initiation,
                ),
                text(
                    "first-time",
                    "First Time Manager",
                    "A dialog a manager sees at their first sign-in, until they dismiss it.",
                    &texts.first_time,
                ),
                text(
                    "help",
                    "Manager Help",
                    "Behind the Help link in each manager's menu.",
                    &texts.help,
                ),
            ],
            held: held
                .items
                .iter()
                .map(|o| Held {
                    id: o.id.to_string(),
                    name: o.name.as_str().to_string(),
                    since: o.created_at.format("%-d %B %Y %H:%M UTC").to_string(),
                })
                .collect(),
            seat_asks: asks
                .items
                .iter()
                .map(|r| SeatAsk {
                    id: r.id.to_string(),
                    org: r.org_name.clone(),
                    seats: r.seats,
                    since: r.created_at.format("%-d %B %Y").to_string(),
                })
                .collect(),
        },
    )
}

/// `GET /admin/partner-portal`.
pub async fn portal(
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
pub struct SettingsForm {
    #[serde(default)]
    organizations: Option<String>,
    #[serde(default)]
    partner_portal: Option<String>,
    #[serde(default)]
    allow_external_creation: Option<String>,
    #[serde(default)]
    moderated: Option<String>,
    #[serde(default)]
    model_user: String,
    #[serde(default)]
    allocation: String,
    #[serde(default)]
    seats: String,
    #[serde(default)]
    self_management: Option<String>,
    #[serde(default)]
    user_management: Option<String>,
    #[serde(default)]
    roles: Option<String>,
    #[serde(default)]
    drivers: Option<String>,
    #[serde(default)]
    classifiers: Option<String>,
    #[serde(default)]
    version: u64,
}

/// `POST /admin/partner-portal`: the switches and settings.
pub async fn save(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    Form(f): Form<SettingsForm>,
) -> Response {
    let seats = f.seats.trim().parse::<u32>();
    let allocation = match (f.allocation.as_str(), seats) {
        ("unlimited", _) => Allocation::Unlimited,
        ("allocated", Ok(seats)) => Allocation::Allocated { seats },
        ("purchasable", Ok(seats)) => Allocation::Purchasable { seats },
        _ => {
            let why = "Enter the number of seats, 0 to 100000, or choose Unlimited.";
            return show(
                &deps,
                &visit,
                &caller,
                StatusCode::BAD_REQUEST,
                Errors::one(Some("seats"), why),
                None,
            )
            .await;
        }
    };
    let model_user = if f.model_user.is_empty() {
        None
    } else {
        match UserId::parse(&f.model_user) {
            Ok(u) => Some(u),
            Err(_) => {
                return show(
                    &deps,
                    &visit,
                    &caller,
                    StatusCode::BAD_REQUEST,
                    Errors::one(Some("model_user"), "Choose a Model User from the list."),
                    None,
                )
                .await;
            }
        }
    };
    let input = PortalConfig {
        organizations: f.organizations.is_some(),
        partner_portal: f.partner_portal.is_some(),
        allow_external_creation: f.allow_external_creation.is_some(),
        model_user,
        default_allocation: allocation,
        capabilities: Capabilities {
            self_management: f.self_management.is_some(),
            user_management: f.user_management.is_some(),
            roles: f.roles.is_some(),
            drivers: f.drivers.is_some(),
            classifiers: f.classifiers.is_some(),
        },
        moderated: f.moderated.is_some(),
        model_organization: None,
        signup_link: None,
        version: f.version,
    };
    match partner_portal::put(&deps, &caller, input).await {
        Ok(_) => Redirect::to("/admin/partner-portal?done=saved").into_response(),
        Err(AppError::Invalid(why)) | Err(AppError::Conflict(why)) => {
            show(
                &deps,
                &visit,
                &caller,
                StatusCode::BAD_REQUEST,
                Errors::one(None, super::account::sentence(&why)),
                None,
            )
            .await
        }
        Err(e) => fail(&visit, &deps.settings, e),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct LinkForm {
    #[serde(default)]
    allowed: String,
    #[serde(default)]
    denied: String,
}

fn domains(raw: &str) -> Vec<String> {
    raw.split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(str::to_string)
        .collect()
}

/// `POST /admin/partner-portal/link`: a new signup link (the old one dies).
pub async fn new_link(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    Form(f): Form<LinkForm>,
) -> Response {
    let input = signup::NewSignupLink {
        allowed_domains: domains(&f.allowed),
        denied_domains: domains(&f.denied),
    };
    match signup::rotate_link(&deps, &caller, input).await {
        Ok(_) => Redirect::to("/admin/partner-portal?done=link#link").into_response(),
        Err(AppError::Invalid(why)) | Err(AppError::Conflict(why)) => {
            show(
                &deps,
                &visit,
                &caller,
                StatusCode::BAD_REQUEST,
                Errors::one(Some("denied"), super::account::sentence(&why)),
                None,
            )
            .await
        }
        Err(e) => fail(&visit, &deps.settings, e),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct TextForm {
    #[serde(default)]
    html: String,
    #[serde(default)]
    version: u64,
}

/// `POST /admin/partner-portal/texts/{name}`.
pub async fn save_text(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    PagePath(name): PagePath<TextName>,
    Form(f): Form<TextForm>,
) -> Response {
    match partner_portal::set_text(
        &deps,
        &caller,
        name,
        SetText {
            html: f.html,
            version: f.version,
        },
    )
    .await
    {
        Ok(_) => Redirect::to("/admin/partner-portal?done=text#texts").into_response(),
        Err(AppError::Invalid(why)) | Err(AppError::Conflict(why)) => {
            show(
                &deps,
                &visit,
                &caller,
                StatusCode::BAD_REQUEST,
                Errors::one(None, super::account::sentence(&why)),
                None,
            )
            .await
        }
        Err(e) => fail(&visit, &deps.settings, e),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    decision: String,
}

impl DecisionForm {
    /// Approve or reject, said in so many words (nothing else decides).
    fn approve(&self, visit: &Visit, deps: &AppState) -> Result<bool, Response> {
        match self.decision.as_str() {
            "approve" => Ok(true),
            "reject" => Ok(false),
            _ => Err(fail(
                visit,
                &deps.settings,
                AppError::invalid("decision: approve or reject"),
            )),
        }
    }
}

/// `POST /admin/signups/{id}`: approve or reject a held organisation.
pub async fn decide_signup(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    PagePath(id): PagePath<OrgId>,
    Form(f): Form<DecisionForm>,
) -> Response {
    let approve = match f.approve(&visit, &deps) {
        Ok(a) => a,
        Err(refused) => return refused,
    };
    match signup::decide(&deps, &caller, id, signup::SignupDecision { approve }).await {
        Ok(_) => Redirect::to(if approve {
            "/admin/partner-portal?done=approved#held"
        } else {
            "/admin/partner-portal?done=rejected#held"
        })
        .into_response(),
        Err(e) => fail(&visit, &deps.settings, e),
    }
}

/// `POST /admin/seat-requests/{id}`: approve or reject a request for seats.
pub async fn decide_seats(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    PagePath(id): PagePath<RequestId>,
    Form(f): Form<DecisionForm>,
) -> Response {
    let approve = match f.approve(&visit, &deps) {
        Ok(a) => a,
        Err(refused) => return refused,
    };
    match seats::decide(&deps, &caller, id, seats::SeatDecision { approve }).await {
        Ok(_) => Redirect::to("/admin/partner-portal?done=seats#seats").into_response(),
        Err(e) => fail(&visit, &deps.settings, e),
    }
}
