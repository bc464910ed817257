//! Rendering: the frame around every page (who you are, your organisation,
//! sign out, the navigation your role has), error summaries, and the pages
//! an error becomes.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::visit::{Visit, Visitor};
use crate::app::Settings;
use crate::domain::{OrgKind, Role};
use crate::error::AppError;

/// Who is signed in, for the header.
#[derive(Debug, Clone)]
pub struct Me {
    pub name: String,
    pub email: String,
    pub org_id: String,
    pub org_name: String,
    pub role: Role,
    /// Hide Organization Settings (seed 002 Step 7): its links are not offered.
    pub settings_hidden: bool,
}

impl Me {
    pub fn role_label(&self) -> &'static str {
        role_label(self.role)
    }
}

pub fn role_label(role: impl std::borrow::Borrow<Role>) -> &'static str {
    match role.borrow() {
        Role::PlatformAdmin => "Platform admin",
        Role::PartnerManager => "Partner Manager",
        Role::PartnerUser => "Partner user",
        Role::CustomerAccountOwner => "Account Owner",
        Role::CustomerAdmin => "System Administrator",
        Role::CustomerUser => "Customer user",
    }
}

pub fn kind_label(kind: impl std::borrow::Borrow<OrgKind>) -> &'static str {
    match kind.borrow() {
        OrgKind::Platform => "Platform",
        OrgKind::Partner => "Partner",
        OrgKind::Customer => "Customer",
    }
}

/// A link in the navigation.
#[derive(Debug, Clone)]
pub struct Nav {
    pub href: String,
    pub label: &'static str,
    pub current: bool,
}

/// The frame of a page.
#[derive(Debug, Clone)]
pub struct Chrome {
    pub csrf: String,
    pub me: Option<Me>,
    /// The cookie names a session (even when this page could not read who:
    /// a refusal still offers Sign out).
    pub signed_in: bool,
    pub nav: Vec<Nav>,
    /// The local portal (its demo users and outbox are shown).
    pub local: bool,
}

impl Chrome {
    /// The frame for `visit`, with what authentication read (if it ran).
    pub fn of(visit: &Visit) -> Self {
        let me = visit.seen.get().map(|v| Me {
            name: v.user.display_name.clone(),
            email: v.user.email.to_string(),
            org_id: v.org.id.to_string(),
            org_name: v.org.name.as_str().to_string(),
            role: v.user.role,
            settings_hidden: v.user.hide_org_settings,
        });
        let nav = me.as_ref().map(|m| nav_for(m, &visit.path)).unwrap_or_default();
        Chrome {
            csrf: visit.csrf(),
            me,
            nav,
            signed_in: visit.visitor.session_id().is_some(),
            local: visit.local,
        }
    }

    /// A frame with no one signed in.
    pub fn anonymous(visit: &Visit) -> Self {
        Chrome {
            csrf: visit.csrf(),
            me: None,
            nav: Vec::new(),
            signed_in: false,
            local: visit.local,
        }
    }
}

fn nav_for(me: &Me, path: &str) -> Vec<Nav> {
    let mut links: Vec<(String, &'static str)> = Vec::new();
    match me.role {
        Role::PlatformAdmin => {
            links.push(("/admin/organizations".into(), "Organisations"));
            links.push(("/customers".into(), "Customers"));
            links.push(("/admin/requests".into(), "Requests"));
            links.push(("/admin/catalogue".into(), "Settings catalogue"));
            links.push(("/admin/sweep".into(), "Inactivity"));
            links.push(("/admin/login-keys".into(), "LogMeIn keys"));
            links.push(("/admin/partner-portal".into(), "Partner Portal"));
            links.push(("/work".into(), "Projects"));
            links.push(("/work/approvals".into(), "Approvals"));
        }
        Role::PartnerManager => {
            links.push(("/customers".into(), "Customers"));
            if !me.settings_hidden {
                links.push(("/permissions".into(), "Permissions"));
                links.push(("/team".into(), "Users"));
            }
            links.push(("/invite-customer".into(), "Invite a customer"));
            if !me.settings_hidden {
                links.push(("/trusted-ranges".into(), "Trusted networks"));
            }
            links.push(("/relationships".into(), "Customers' roles"));
            links.push(("/work".into(), "My projects"));
            links.push(("/work/week".into(), "My week"));
            links.push(("/help".into(), "Help"));
        }
        Role::PartnerUser => {
            links.push(("/customers".into(), "Customers"));
            links.push(("/relationships".into(), "Customers' roles"));
            links.push(("/work".into(), "My projects"));
            links.push(("/work/week".into(), "My week"));
        }
        Role::CustomerAccountOwner => {
            links.push((format!("/customers/{}", me.org_id), "Our settings"));
            links.push(("/access".into(), "Partner access"));
            links.push(("/relationships".into(), "Partners' roles"));
            links.push((format!("/staff/{}", me.org_id), "Staff"));
            links.push(("/team".into(), "Users"));
            links.push(("/mfa-policy".into(), "Sign-in security"));
        }
        Role::CustomerAdmin => {
            links.push((format!("/customers/{}", me.org_id), "Our settings"));
            links.push((format!("/staff/{}", me.org_id), "Staff"));
            links.push(("/access".into(), "Partner access"));
        }
        Role::CustomerUser => {
            links.push((format!("/customers/{}", me.org_id), "Our settings"));
            links.push(("/access".into(), "Partner access"));
        }
    }
    links.push(("/activity-log".into(), "Activity log"));
    // The most specific link the path is under is the current one
    // (`/work/week` is under "My week", not "My projects" too).
    let under = |href: &str| path == href || (href != "/" && path.starts_with(&format!("{href}/")));
    let current = links
        .iter()
        .filter(|(href, _)| under(href))
        .map(|(href, _)| href.len())
        .max();
    links
        .into_iter()
        .map(|(href, label)| Nav {
            current: under(&href) && Some(href.len()) == current,
            href,
            label,
        })
        .collect()
}

/// Whether the signed-in viewer may do `action` on `org` (Cedar decides, as
/// for the operation itself): pages show only the controls that will work.
pub fn allowed(
    deps: &crate::app::Deps,
    visit: &Visit,
    action: crate::authz::Action,
    org: &crate::domain::Organization,
) -> bool {
    visit.seen.get().is_some_and(|v| {
        deps.authz
            .is_allowed(&v.principal(), action, &crate::authz::OrgFacts::from(org))
            .unwrap_or(false)
    })
}

/// The refusal page, unless the viewer may do `action` in their own organisation.
pub fn refused_unless(deps: &crate::app::Deps, visit: &Visit, action: crate::authz::Action) -> Option<Response> {
    match visit.seen.get() {
        Some(v) if allowed(deps, visit, action, &v.org) => None,
        _ => Some(fail(visit, &deps.settings, AppError::Forbidden)),
    }
}

/// A fixed message for `?done=<what>` after a change (never the query's own text).
pub fn done_message(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "granted" => "Permission granted.",
        "deleted" => "Permission deleted: the setting is read-only for that user again.",
        "requested" => "Your request went to the platform's admins. The person gets an email once it is approved.",
        "resent" => "Invitation sent again, with a new link.",
        "revoked" => "Invitation revoked: its link no longer works.",
        "restore" => "Your request to restore access went to the platform's admins.",
        "invited" => "Invitation sent. The customer appears in your list once they create their organisation.",
        "invited-partner" => "Invitation sent to the partner's first Partner Manager.",
        "created" => "Organisation created.",
        "approved" => "Request approved: the user was emailed a link to set their password.",
        "rejected" => "Request rejected.",
        "reinstated" => "Access restored: the user was told by email.",
        "saved" => "Saved.",
        "verified" => "Checked now: the connection shows what the instance answered.",
        "recreate-asked" => "Your request to recreate the connection went to the platform's admins.",
        "seats-asked" => "Your request for more seats went to the platform's admins.",
        "added" => "Added: they are emailed a link to set their password (valid 60 minutes).",
        "removed" => "Removed: they can no longer sign in, and their seat is free.",
        "project-started" => "Project started. Add its participants below.",
        "member-added" => "Participant added.",
        "item-added" => "Added.",
        "report-filed" => "Status report filed.",
        "logged" => "Time logged.",
        "deleted-entry" => "Entry deleted.",
        "submitted" => "Submitted to your supervisor.",
        "time-approved" => "Approved: it is locked now.",
        "time-rejected" => "Rejected: it went back with your reason.",
        "claimed" => "Expense claimed: it went to your supervisor.",
        _ => return None,
    })
}

/// The query of a page a change redirects to.
#[derive(Debug, Default, serde::Deserialize)]
pub struct DoneQuery {
    pub done: Option<String>,
}

/// What a form's operation led to: on success a redirect to `to`; a
/// refusal of the input (invalid, or in conflict with what exists) comes
/// back as the form's error on `field`, for the form to be shown again;
/// anything else is the page `fail` shows.
pub fn after<T>(
    visit: &Visit,
    settings: &Settings,
    result: Result<T, AppError>,
    to: &str,
    field: &'static str,
) -> Result<Response, (StatusCode, Errors)> {
    match result {
        Ok(_) => Ok(Redirect::to(to).into_response()),
        Err(AppError::Invalid(why)) => Err((StatusCode::BAD_REQUEST, Errors::one(Some(field), why))),
        Err(AppError::Conflict(why)) => Err((StatusCode::CONFLICT, Errors::one(Some(field), why))),
        Err(
            e @ AppError::Store(crate::store::StoreError::ConditionFailed { .. } | crate::store::StoreError::Conflict),
        ) => Err((StatusCode::CONFLICT, Errors::one(Some(field), e.detail()))),
        Err(e) => Ok(fail(visit, settings, e)),
    }
}

/// One error of a form, and the field it is about (linked from the summary).
#[derive(Debug, Clone)]
pub struct FieldError {
    pub field: Option<&'static str>,
    pub message: String,
}

/// The errors of a form: shown in a summary at the top that links to each
/// field, and next to each field.
#[derive(Debug, Clone, Default)]
pub struct Errors {
    pub items: Vec<FieldError>,
}

impl Errors {
    pub fn none() -> Self {
        Self::default()
    }
    pub fn one(field: Option<&'static str>, message: impl Into<String>) -> Self {
        let mut e = Self::default();
        e.add(field, message);
        e
    }
    pub fn add(&mut self, field: Option<&'static str>, message: impl Into<String>) {
        self.items.push(FieldError {
            field,
            message: message.into(),
        });
    }
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
    /// The message about `field`, if any.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.items
            .iter()
            .find(|e| e.field == Some(field))
            .map(|e| e.message.as_str())
    }
    pub fn has(&self, field: &str) -> bool {
        self.get(field).is_some()
    }
}

/// An HTML answer.
pub fn html(status: StatusCode, body: String) -> Response {
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    resp
}

/// A rendered template, or a plain 500 if it does not render.
pub fn page(status: StatusCode, tpl: &impl Template) -> Response {
    match tpl.render() {
        Ok(body) => html(status, body),
        Err(e) => {
            tracing::error!(error = %e, "template did not render");
            html(
                StatusCode::INTERNAL_SERVER_ERROR,
                "<!doctype html><title>Error</title><p>Something went wrong on our side; it has been logged.</p>"
                    .into(),
            )
        }
    }
}

/// A page saying what went wrong, and where to go from here.
#[derive(Template)]
#[template(path = "message.html")]
pub struct ErrorPage {
    pub chrome: Chrome,
    pub title: String,
    pub message: String,
    pub links: Vec<(String, String)>,
}

/// An error page with no frame (before a visitor is known, or a refusal).
pub fn plain_error(status: StatusCode, message: &str) -> Response {
    page(
        status,
        &ErrorPage {
            chrome: Chrome {
                csrf: String::new(),
                me: None,
                nav: Vec::new(),
                signed_in: false,
                local: false,
            },
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            message: message.to_string(),
            links: vec![("/".into(), "Go to Portico's start page".into())],
        },
    )
}

/// The 404 page; a client that does not ask for HTML (an API client on a
/// path no route has) gets the API's `no-such-route` problem instead.
pub async fn not_found(visit: Visit, headers: axum::http::HeaderMap) -> Response {
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if !wants_html {
        return AppError::NoRoute.into_response();
    }
    error_page(
        &visit,
        StatusCode::NOT_FOUND,
        "Page not found",
        "There is no page at this address. If you typed it, check it; if you followed a link, it may be out of date.",
        vec![("/".into(), "Go to your start page".into())],
    )
}

/// A page asked for with a method it does not answer (a form's address typed in, say).
pub async fn method_not_allowed() -> Response {
    plain_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "This address is for a form. Go back to the page the form is on.",
    )
}

pub fn error_page(
    visit: &Visit,
    status: StatusCode,
    title: &str,
    message: &str,
    links: Vec<(String, String)>,
) -> Response {
    page(
        status,
        &ErrorPage {
            chrome: Chrome::of(visit),
            title: title.into(),
            message: message.into(),
            links,
        },
    )
}

/// A redirect that also gives the browser `visitor` as its cookie.
pub fn redirect_as(to: &str, visitor: &Visitor, settings: &Settings) -> Response {
    let mut resp = Redirect::to(to).into_response();
    resp.headers_mut()
        .append(header::SET_COOKIE, visitor.set_cookie(settings));
    resp
}

/// What a failed operation shows: the sign-in page when the session has
/// ended (with a fresh cookie), else a page saying what happened in words
/// for people, with where to go next.
pub fn fail(visit: &Visit, settings: &Settings, e: AppError) -> Response {
    let home = || vec![("/".to_string(), "Go to your start page".to_string())];
    match e {
        AppError::Unauthenticated(_) | AppError::MfaEnrolmentRequired => {
            redirect_as("/sign-in?ended=1", &Visitor::anonymous(), settings)
        }
        AppError::AccountSuspended => redirect_as("/sign-in?suspended=1", &Visitor::anonymous(), settings),
        AppError::EmailConfirmationRequired => error_page(
            visit,
            StatusCode::FORBIDDEN,
            "Confirm your email address",
            "Partner users confirm their email address every 24 hours. We have emailed you a link (valid 24 hours): open it, confirm, and come back. Requests from your organisation's trusted networks need no confirmation.",
            home(),
        ),
        AppError::Forbidden => error_page(
            visit,
            StatusCode::FORBIDDEN,
            "You cannot do this",
            "Your role does not allow this here. Ask your organisation's manager if you need it.",
            home(),
        ),
        AppError::NotFound | AppError::NoRoute => error_page(
            visit,
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no such page, or it is not visible to you.",
            home(),
        ),
        other => {
            let status = other.status();
            if status.is_server_error() {
                tracing::error!(error = %other, "page failed");
            }
            error_page(
                visit,
                status,
                if status.is_server_error() {
                    "Sorry, something went wrong"
                } else {
                    "That did not work"
                },
                &other.detail(),
                home(),
            )
        }
    }
}
