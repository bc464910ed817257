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
    role: String,
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
    /// A fresh idempotency key for the bulk form (a resent form does nothing twice).
    bulk_key: String,
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
                role: g.role.as_str().to_string(),
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
            bulk_key: format!("page-{}", deps.ids.new_id().simple()),
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

// A group on the partner's account and its members -------------------------------

struct MemberRow {
    id: String,
    email: String,
    since: String,
}

#[derive(Template)]
#[template(path = "group.html")]
struct GroupPage {
    chrome: Chrome,
    errors: Errors,
    notice: Option<&'static str>,
    name: String,
    role_name: String,
    customer_name: String,
    everyone: bool,
    manage: bool,
    base: String,
    members: Vec<MemberRow>,
    /// The partner's active users not yet members: (id, "Name (email)").
    candidates: Vec<(String, String)>,
}

async fn show_group(
    deps: &AppState,
    visit: &Visit,
    caller: &crate::http::principal::Caller,
    g: delegations::GroupRef,
    status: StatusCode,
    errors: Errors,
    done: Option<&str>,
) -> Response {
    let members_page = delegations::MemberPage {
        limit: Some(100),
        cursor: None,
    };
    let users_page = PageQuery {
        limit: Some(100),
        cursor: None,
    };
    // The partner's users (the add form's choices) with the group: a
    // Partner User may not list them, and sees no form.
    let (group, users, customer) = futures::join!(
        delegations::group(deps, caller, g.clone(), members_page),
        crate::ops::accounts::list_users(deps, caller, caller.org_id, users_page),
        crate::ops::organizations::get(deps, caller, g.customer)
    );
    let (group, customer) = match (group, customer) {
        (Ok(g), Ok(c)) => (g, c),
        (Err(e), _) | (_, Err(e)) => return fail(visit, &deps.settings, e),
    };
    let manage = visit.seen.get().is_some_and(|s| s.user.role == Role::PartnerManager);
    let users = match users {
        Ok(u) if manage => Some(u),
        Ok(_) | Err(AppError::Forbidden) | Err(AppError::NotFound) => None,
        Err(e) => return fail(visit, &deps.settings, e),
    };
    let member_ids: Vec<_> = group.members.iter().map(|m| m.user_id).collect();
    page(
        status,
        &GroupPage {
            chrome: Chrome::of(visit),
            errors,
            notice: match done {
                Some("added") => Some("Added: they hold the role at the customer from now on."),
                Some("removed") => Some("Removed: they no longer hold the role there."),
                _ => None,
            },
            role_name: group
                .name
                .strip_prefix(customer.name.as_str())
                .map(str::trim)
                .unwrap_or(group.role.as_str())
                .to_string(),
            name: group.name.clone(),
            customer_name: customer.name.as_str().to_string(),
            everyone: group.everyone,
            manage,
            base: format!("/groups/{}/{}", g.customer, g.role.as_str()),
            members: group
                .members
                .iter()
                .map(|m| MemberRow {
                    id: m.user_id.to_string(),
                    email: m.email.as_str().to_string(),
                    since: m.added_at.format("%-d %b %Y").to_string(),
                })
                .collect(),
            candidates: users
                .map(|p| {
                    p.items
                        .into_iter()
                        .filter(|u| u.status == crate::domain::UserStatus::Active && !member_ids.contains(&u.id))
                        .map(|u| (u.id.to_string(), format!("{} ({})", u.display_name, u.email.as_str())))
                        .collect()
                })
                .unwrap_or_default(),
        },
    )
}

fn group_ref(caller: &crate::http::principal::Caller, customer: OrgId, role: RoleKey) -> delegations::GroupRef {
    delegations::GroupRef {
        partner: caller.org_id,
        customer,
        role,
    }
}

/// `GET /groups/{customer}/{role}`: one of the partner's groups.
pub async fn group(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    PagePath((customer, role)): PagePath<(OrgId, RoleKey)>,
    Query(d): Query<Done>,
) -> Response {
    let g = group_ref(&caller, customer, role);
    show_group(
        &deps,
        &visit,
        &caller,
        g,
        StatusCode::OK,
        Errors::none(),
        d.done.as_deref(),
    )
    .await
}

#[derive(Debug, Default, Deserialize)]
pub struct AddForm {
    #[serde(default)]
    user: String,
}

/// `POST /groups/{customer}/{role}/members`: add a user.
pub async fn add_member(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    PagePath((customer, role)): PagePath<(OrgId, RoleKey)>,
    Form(f): Form<AddForm>,
) -> Response {
    let g = group_ref(&caller, customer, role);
    let done = match crate::domain::UserId::parse(&f.user) {
        Ok(user) => delegations::set_member(&deps, &caller, g.clone(), user, true).await,
        Err(_) => Err(AppError::invalid("user: choose one of your users")),
    };
    let to = format!("/groups/{}/{}?done=added", g.customer, g.role.as_str());
    match super::render::after(&visit, &deps.settings, done, &to, "user") {
        Ok(r) => r,
        Err((status, errors)) => show_group(&deps, &visit, &caller, g, status, errors, None).await,
    }
}

/// `POST /groups/{customer}/{role}/members/{user}/remove`: take a user out.
pub async fn remove_member(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    PagePath((customer, role, user)): PagePath<(OrgId, RoleKey, crate::domain::UserId)>,
    Form(_): Form<AddForm>,
) -> Response {
    let g = group_ref(&caller, customer, role);
    let done = delegations::set_member(&deps, &caller, g.clone(), user, false).await;
    let to = format!("/groups/{}/{}?done=removed", g.customer, g.role.as_str());
    match super::render::after(&visit, &deps.settings, done, &to, "user") {
        Ok(r) => r,
        Err((status, errors)) => show_group(&deps, &visit, &caller, g, status, errors, None).await,
    }
}

// Bulk, from the relationships page ----------------------------------------------

/// A bulk item's outcome, as the results page says it.
fn outcome_words(o: &str) -> &'static str {
    match o {
        "revoked" => "given up",
        _ => "asked: waiting for the customer's answer",
    }
}

struct ResultRow {
    customer: String,
    ok: bool,
    said: String,
}

#[derive(Template)]
#[template(path = "bulk_result.html")]
struct BulkResultPage {
    chrome: Chrome,
    action: &'static str,
    succeeded: usize,
    failed: usize,
    rows: Vec<ResultRow>,
}

/// `POST /relationships/bulk`: the partner's bulk form; answers a result
/// per customer (the form's idempotency key makes a resend harmless).
pub async fn bulk(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    use crate::ops::delegation_bulk::{BulkAction, BulkDelegations};
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    let all = |k: &str| {
        pairs
            .iter()
            .filter(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .collect::<Vec<_>>()
    };
    let input = (|| -> Result<BulkDelegations, AppError> {
        let action = match get("action") {
            "extend" => BulkAction::Extend,
            "revoke" => BulkAction::Revoke,
            _ => BulkAction::Request,
        };
        let customers = all("customer")
            .iter()
            .map(|c| OrgId::parse(c).map_err(|_| AppError::invalid("bulk: tick customers from the list")))
            .collect::<Result<Vec<_>, _>>()?;
        let roles = if action == BulkAction::Request {
            all("role")
                .iter()
                .map(|r| RoleKey::parse(r).map_err(|e| AppError::invalid(e.detail())))
                .collect::<Result<Vec<_>, _>>()?
        } else {
            Vec::new()
        };
        let term_days = match get("term_days").trim() {
            "" => None,
            t => Some(
                t.parse::<u32>()
                    .map_err(|_| AppError::invalid("bulk: days are a whole number, 1 to 730"))?,
            ),
        };
        Ok(BulkDelegations {
            idempotency_key: get("key").to_string(),
            action,
            customers,
            roles,
            term_days,
            auto_extend: false,
            notify: addresses(get("notify"))?,
        })
    })();
    let done = match input {
        Ok(input) => crate::ops::delegation_bulk::run(&deps, &caller, caller.org_id, input).await,
        Err(e) => Err(e),
    };
    let result = match done {
        Ok(r) => r,
        Err(AppError::Invalid(why)) | Err(AppError::Conflict(why)) => {
            let errors = Errors::one(Some("bulk"), why.to_string());
            return show(&deps, &visit, &caller, StatusCode::BAD_REQUEST, errors, None).await;
        }
        Err(e) => return fail(&visit, &deps.settings, e),
    };
    // Name the customers from the relationships (the caller's own list).
    let names = relationships::list(
        &deps,
        &caller,
        caller.org_id,
        PageQuery {
            limit: Some(50),
            cursor: None,
        },
    )
    .await
    .map(|p| p.items)
    .unwrap_or_default();
    let name = |id: OrgId| {
        names
            .iter()
            .find(|r| r.customer_id == id)
            .map(|r| r.customer_name.clone())
            .unwrap_or_else(|| id.to_string())
    };
    page(
        StatusCode::OK,
        &BulkResultPage {
            chrome: Chrome::of(&visit),
            action: match result.action {
                BulkAction::Request => "Asked for roles",
                BulkAction::Extend => "Asked to renew",
                BulkAction::Revoke => "Gave up the roles",
            },
            succeeded: result.succeeded,
            failed: result.failed,
            rows: result
                .items
                .iter()
                .map(|i| ResultRow {
                    customer: name(i.customer_id),
                    ok: i.status == 200,
                    said: match (i.outcome.as_deref().map(outcome_words), &i.problem) {
                        (Some(o), _) if i.replayed => format!("{o} (done already, not again)"),
                        (Some(o), _) => o.to_string(),
                        (None, Some(p)) => p.clone(),
                        (None, None) => String::new(),
                    },
                })
                .collect(),
        },
    )
}
