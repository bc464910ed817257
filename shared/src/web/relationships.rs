//! The relationships page (issue 15, B6 and seed 004's Partner Access
//! dialog): every delegation of the signed-in user's organisation, from its
//! side; the customer's Account Owner sets each partner's roles (ticked),
//! who is told, a term and auto-extend, and answers what a partner asked;
//! a partner's managers choose whether every user or only the groups'
//! members hold a customer's roles.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::render::{Chrome, Errors, fail, page};
use super::visit::{Form, PagePath, Query, SignedIn, Visit};
use crate::app::AppState;
use crate::delegations::{Capability, RoleKey};
use crate::domain::{EmailAddress, OrgId, OrgKind, Role};
use crate::error::AppError;
use crate::ops::accounts::PageQuery;
use crate::ops::delegations::{self, DecideDelegation, SetDelegation, SetHolders};
use crate::ops::relationships::{self, Relationship};

struct CatalogueRow {
    key: String,
    name: String,
    what: String,
}

struct GroupRow {
    name: String,
    members: Vec<String>,
    more: bool,
}

struct Row {
    other_id: String,
    other_name: String,
    partner_name: String,
    state: &'static str,
    record: bool,
    term: String,
    roles: String,
    role_keys: Vec<String>,
    proposal: String,
    everyone: bool,
    in_force: bool,
    waiting: bool,
    auto_extend: bool,
    groups: Vec<GroupRow>,
}

#[derive(Template)]
#[template(path = "relationships.html")]
struct RelationshipsPage {
    chrome: Chrome,
    errors: Errors,
    notice: Option<&'static str>,
    customer_side: bool,
    manage_roles: bool,
    manage_holders: bool,
    /// The signed-in user's address (told of the decisions they make).
    me: String,
    catalogue: Vec<CatalogueRow>,
    items: Vec<Row>,
}

/// What a capability allows, as the dialog says it.
fn in_words(c: Capability) -> &'static str {
    match c {
        Capability::SettingsManage => "change settings",
        Capability::InstanceLogin => "LogMeIn",
        Capability::UsersManage => "manage your users",
        Capability::BillingView => "see invoices and payments",
        Capability::ActivityView => "read your activity log",
    }
}

fn state_label(r: &Relationship) -> &'static str {
    use crate::delegations::DelegationState::*;
    match r.state {
        Requested => "Requested, waiting for the customer",
        Active => "Active",
        Expiring => "Active, ending soon",
        Expired => "Ended",
        Revoked => "Revoked",
    }
}

fn row(r: &Relationship, customer_side: bool, names: &dyn Fn(&RoleKey) -> String) -> Row {
    let in_force = r.state.grants();
    Row {
        other_id: if customer_side { r.partner_id } else { r.customer_id }.to_string(),
        other_name: if customer_side {
            &r.partner_name
        } else {
            &r.customer_name
        }
        .clone(),
        partner_name: r.partner_name.clone(),
        state: state_label(r),
        record: r.partner_of_record,
        term: match (r.ends_at, in_force) {
            (Some(end), true) => format!("until {}", end.format("%-d %b %Y")),
            _ => String::new(),
        },
        roles: r.roles.iter().map(names).collect::<Vec<_>>().join(", "),
        role_keys: if in_force || r.state == crate::delegations::DelegationState::Requested {
            r.roles.iter().map(|k| k.as_str().to_string()).collect()
        } else {
            Vec::new()
        },
        proposal: r
            .proposal
            .as_ref()
            .map(|p| {
                let roles = p.roles.iter().map(names).collect::<Vec<_>>().join(", ");
                match p.term_days {
                    Some(d) => format!("{} asks for {roles} for {d} days", p.asked_by.as_str()),
                    None => format!("{} asks for {roles}", p.asked_by.as_str()),
                }
            })
            .unwrap_or_default(),
        everyone: r.everyone,
        in_force,
        waiting: r.proposal.is_some() || r.state == crate::delegations::DelegationState::Requested,
        auto_extend: r.auto_extend,
        groups: r
            .groups
            .iter()
            .map(|g| GroupRow {
                name: g.name.clone(),
                members: g.members.iter().map(|m| m.email.as_str().to_string()).collect(),
                more: g.more,
            })
            .collect(),
    }
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
    let page_query = PageQuery {
        limit: Some(50),
        cursor: None,
    };
    let v = match relationships::list(deps, caller, caller.org_id, page_query).await {
        Ok(v) => v,
        Err(e) => return fail(visit, &deps.settings, e),
    };
    let seen = visit.seen.get();
    let role = seen.as_ref().map(|s| s.user.role);
    let customer_side = seen.as_ref().is_some_and(|s| s.org.kind == OrgKind::Customer);
    let names = |k: &RoleKey| {
        v.catalogue
            .iter()
            .find(|r| &r.key == k)
            .map(|r| r.name.clone())
            .unwrap_or_else(|| k.as_str().to_string())
    };
    page(
        status,
        &RelationshipsPage {
            chrome: Chrome::of(visit),
            errors,
            notice: match done {
                Some("saved") => Some("Saved: the partner's roles are as shown; each address was told."),
                Some("approved") => Some("Approved: the partner holds the roles asked for."),
                Some("declined") => Some("Declined: nothing changed."),
                Some("holders") => Some("Saved: who of yours holds the customer's roles is as shown."),
                _ => None,
            },
            customer_side,
            manage_roles: role == Some(Role::CustomerAccountOwner),
            manage_holders: role == Some(Role::PartnerManager),
            me: seen
                .as_ref()
                .map(|s| s.user.email.as_str().to_string())
                .unwrap_or_default(),
            catalogue: v
                .catalogue
                .iter()
                .map(|r| CatalogueRow {
                    key: r.key.as_str().to_string(),
                    name: r.name.clone(),
                    what: if r.capabilities.len() == Capability::ALL.len() {
                        "everything, invoices included".into()
                    } else {
                        r.capabilities
                            .iter()
                            .map(|c| in_words(*c))
                            .collect::<Vec<_>>()
                            .join(", ")
                    },
                })
                .collect(),
            items: v.items.iter().map(|r| row(r, customer_side, &names)).collect(),
        },
    )
}

/// `GET /relationships`.
pub async fn list(State(deps): State<AppState>, SignedIn(visit, caller): SignedIn, Query(d): Query<Done>) -> Response {
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

fn addresses(s: &str) -> Result<Vec<EmailAddress>, AppError> {
    s.split([',', ';', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(EmailAddress::parse)
        .collect::<Result<_, _>>()
        .map_err(|_| AppError::invalid("notify: email addresses separated by commas, like it@northwind.example.com"))
}

/// `POST /relationships/{partner}`: the Partner Access dialog's form (the
/// checkboxes repeat `role`).
pub async fn set(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    PagePath(partner): PagePath<OrgId>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    let done = async {
        let roles = pairs
            .iter()
            .filter(|(n, _)| n == "role")
            .map(|(_, v)| RoleKey::parse(v).map_err(|e| AppError::invalid(e.detail())))
            .collect::<Result<Vec<_>, _>>()?;
        let term_days = match get("term_days").trim() {
            "" => None,
            t => Some(
                t.parse::<u32>()
                    .map_err(|_| AppError::invalid("termDays: a whole number of days, 1 to 730"))?,
            ),
        };
        let input = SetDelegation {
            roles,
            notify: addresses(get("notify"))?,
            term_days,
            auto_extend: get("auto_extend") == "yes",
        };
        delegations::set(&deps, &caller, caller.org_id, partner, input).await
    }
    .await;
    answer(&deps, &visit, &caller, done, "/relationships?done=saved", "notify").await
}

#[derive(Debug, Default, Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    decision: String,
    #[serde(default)]
    notify: String,
}

/// `POST /relationships/{partner}/decision`: approve or decline what the partner asked.
pub async fn decide(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    PagePath(partner): PagePath<OrgId>,
    Form(f): Form<DecisionForm>,
) -> Response {
    let approve = f.decision == "approve";
    let done = async {
        let input = DecideDelegation {
            approve,
            notify: addresses(&f.notify)?,
        };
        delegations::decide(&deps, &caller, caller.org_id, partner, input).await
    }
    .await;
    let to = if approve {
        "/relationships?done=approved"
    } else {
        "/relationships?done=declined"
    };
    answer(&deps, &visit, &caller, done, to, "decision").await
}

#[derive(Debug, Default, Deserialize)]
pub struct HoldersForm {
    #[serde(default)]
    everyone: String,
}

/// `POST /relationships/{customer}/holders`: every user, or the groups' members.
pub async fn holders(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    PagePath(customer): PagePath<OrgId>,
    Form(f): Form<HoldersForm>,
) -> Response {
    let input = SetHolders {
        everyone: f.everyone == "yes",
    };
    let done = delegations::set_holders(&deps, &caller, caller.org_id, customer, input).await;
    answer(&deps, &visit, &caller, done, "/relationships?done=holders", "everyone").await
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
