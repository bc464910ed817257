//! The staff list page (seed 003): a customer's users with their roles,
//! for its Account Owner and System Administrators, and for a Partner
//! Manager holding `users.manage` there; invite, change a role, remove.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::render::{Chrome, Errors, fail, page, role_label};
use super::visit::{Form, PagePath, Query, SignedIn, Visit};
use crate::app::AppState;
use crate::domain::{DisplayName, EmailAddress, OrgId, Role, UserId, UserStatus};
use crate::error::AppError;
use crate::ops::accounts::PageQuery;
use crate::ops::staff::{self, InviteStaff, SetStaffRole};

struct StaffRow {
    id: String,
    name: String,
    email: String,
    role: &'static str,
    role_key: &'static str,
    status: &'static str,
}

#[derive(Template)]
#[template(path = "staff.html")]
struct StaffPage {
    chrome: Chrome,
    errors: Errors,
    notice: Option<&'static str>,
    customer_id: String,
    customer_name: String,
    staff: Vec<StaffRow>,
    roles: Vec<(&'static str, &'static str)>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Done {
    done: Option<String>,
}

async fn show(
    deps: &AppState,
    visit: &Visit,
    caller: &crate::http::principal::Caller,
    customer: OrgId,
    status: StatusCode,
    errors: Errors,
    done: Option<&str>,
) -> Response {
    let q = PageQuery {
        limit: Some(100),
        cursor: None,
    };
    let (list, org) = futures::join!(
        staff::list(deps, caller, customer, q),
        crate::ops::organizations::get(deps, caller, customer)
    );
    let (list, org) = match (list, org) {
        (Ok(l), Ok(o)) => (l, o),
        (Err(e), _) | (_, Err(e)) => return fail(visit, &deps.settings, e),
    };
    let roles = [Role::CustomerAccountOwner, Role::CustomerAdmin, Role::CustomerUser];
    page(
        status,
        &StaffPage {
            chrome: Chrome::of(visit),
            errors,
            notice: match done {
                Some("invited") => Some("Invited: they are emailed a link to set their password (valid 60 minutes)."),
                Some("role") => Some("Saved: the new role applies from their next request."),
                Some("removed") => Some("Removed: they can no longer sign in."),
                _ => None,
            },
            customer_id: customer.to_string(),
            customer_name: org.name.as_str().to_string(),
            staff: list
                .items
                .iter()
                .map(|u| StaffRow {
                    id: u.id.to_string(),
                    name: u.display_name.clone(),
                    email: u.email.as_str().to_string(),
                    role: role_label(u.role),
                    role_key: u.role.as_str(),
                    status: match u.status {
                        UserStatus::Active => "Active",
                        UserStatus::Pending => "Invited",
                        UserStatus::Suspended => "Suspended",
                    },
                })
                .collect(),
            roles: roles.iter().map(|r| (r.as_str(), role_label(*r))).collect(),
        },
    )
}

/// `GET /staff/{customer}`.
pub async fn list(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    PagePath(customer): PagePath<OrgId>,
    Query(d): Query<Done>,
) -> Response {
    show(
        &deps,
        &visit,
        &caller,
        customer,
        StatusCode::OK,
        Errors::none(),
        d.done.as_deref(),
    )
    .await
}

fn parse_role(s: &str) -> Result<Role, AppError> {
    serde_json::from_value(serde_json::Value::String(s.to_string()))
        .map_err(|_| AppError::invalid("role: Account Owner, System Administrator or user"))
}

#[derive(Debug, Default, Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    role: String,
}

/// `POST /staff/{customer}/invite`.
pub async fn invite(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    PagePath(customer): PagePath<OrgId>,
    Form(f): Form<InviteForm>,
) -> Response {
    let done = async {
        let input = InviteStaff {
            email: EmailAddress::parse(f.email.trim())
                .map_err(|_| AppError::invalid("email: an email address, like sam@contoso.example.com"))?,
            display_name: DisplayName::parse(f.display_name.trim())
                .map_err(|e| AppError::invalid(format!("name: {}", e.detail())))?,
            role: parse_role(&f.role)?,
        };
        staff::invite(&deps, &caller, customer, input).await
    }
    .await;
    answer(&deps, &visit, &caller, customer, done, "invited", "email").await
}

#[derive(Debug, Default, Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
}

/// `POST /staff/{customer}/users/{user}/role`.
pub async fn set_role(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    PagePath((customer, user)): PagePath<(OrgId, UserId)>,
    Form(f): Form<RoleForm>,
) -> Response {
    let done = async {
        let input = SetStaffRole {
            role: parse_role(&f.role)?,
        };
        staff::set_role(&deps, &caller, customer, user, input).await
    }
    .await;
    answer(&deps, &visit, &caller, customer, done, "role", "role").await
}

/// `POST /staff/{customer}/users/{user}/remove`.
pub async fn remove(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    PagePath((customer, user)): PagePath<(OrgId, UserId)>,
    Form(_): Form<RoleForm>,
) -> Response {
    let done = staff::remove(&deps, &caller, customer, user).await;
    answer(&deps, &visit, &caller, customer, done, "removed", "role").await
}

async fn answer<T>(
    deps: &AppState,
    visit: &Visit,
    caller: &crate::http::principal::Caller,
    customer: OrgId,
    done: Result<T, AppError>,
    what: &str,
    field: &'static str,
) -> Response {
    let to = format!("/staff/{customer}?done={what}");
    match super::render::after(visit, &deps.settings, done, &to, field) {
        Ok(r) => r,
        Err((status, errors)) => show(deps, visit, caller, customer, status, errors, None).await,
    }
}
