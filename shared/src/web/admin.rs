//! The platform admins' pages: organisations (create a partner or a customer
//! linked to its partner, invite a partner's first manager), the queues of
//! user requests and restore requests, the settings catalogue, and the
//! inactivity sweep on demand.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::render::{Chrome, DoneQuery, Errors, after, done_message, fail, page};
use super::visit::{Form, PagePath, Query, SignedIn, Visit};
use crate::app::AppState;
use crate::domain::{DisplayName, EmailAddress, OrgId, OrgKind, OrgName, Organization, RequestId, UserId};
use crate::http::principal::Caller;
use crate::ops::accounts::{self, Decision, InvitePartner, PageQuery};
use crate::ops::organizations::{self, CreateOrganization, ListOrganizations};
use crate::ops::settings::{self, CatalogueEntry};
use crate::settings::{SettingGroup, SettingKey};

#[derive(Debug, Default, Deserialize)]
pub struct OrgsQuery {
    kind: Option<String>,
    cursor: Option<String>,
    done: Option<String>,
}

#[derive(Template)]
#[template(path = "admin_orgs.html")]
struct OrgsPage {
    chrome: Chrome,
    errors: Errors,
    notice: Option<&'static str>,
    orgs: Vec<Organization>,
    partners: Vec<Organization>,
    kind: String,
    next: Option<String>,
    form: OrgForm,
}

#[derive(Debug, Default, Deserialize, Clone)]
pub struct OrgForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    partner: String,
    #[serde(default, rename = "manager-email")]
    manager_email: String,
    #[serde(default, rename = "manager-name")]
    manager_name: String,
}

impl OrgsPage {
    fn partner_name(&self, id: &Option<OrgId>) -> String {
        match id {
            Some(id) => self
                .partners
                .iter()
                .find(|p| p.id == *id)
                .map(|p| p.name.as_str().to_string())
                .unwrap_or_else(|| id.to_string()),
            None => String::new(),
        }
    }
}

fn kind_of(s: &str) -> Option<OrgKind> {
    match s {
        "partner" => Some(OrgKind::Partner),
        "customer" => Some(OrgKind::Customer),
        "platform" => Some(OrgKind::Platform),
        _ => None,
    }
}

async fn orgs_page(
    deps: &AppState,
    visit: &Visit,
    caller: &Caller,
    q: &OrgsQuery,
    status: StatusCode,
    errors: Errors,
    form: OrgForm,
) -> Response {
    let kind = q.kind.as_deref().and_then(kind_of);
    let listing = ListOrganizations {
        kind,
        limit: Some(50),
        cursor: q.cursor.clone().filter(|c| !c.is_empty()),
    };
    let partners = ListOrganizations {
        kind: Some(OrgKind::Partner),
        limit: Some(100),
        cursor: None,
    };
    let (orgs, partners) = futures::join!(
        organizations::list(deps, caller, listing),
        organizations::list(deps, caller, partners)
    );
    let (orgs, partners) = match (orgs, partners) {
        (Ok(o), Ok(p)) => (o, p),
        (Err(e), _) | (_, Err(e)) => return fail(visit, &deps.settings, e),
    };
    page(
        status,
        &OrgsPage {
            chrome: Chrome::of(visit),
            errors,
            notice: done_message(q.done.as_deref()),
            orgs: orgs.items,
            partners: partners.items,
            kind: q.kind.clone().unwrap_or_default(),
            next: orgs.next_cursor,
            form,
        },
    )
}

/// Every organisation, by kind; create one; invite a partner.
pub async fn organizations(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    Query(q): Query<OrgsQuery>,
) -> Response {
    orgs_page(
        &deps,
        &visit,
        &caller,
        &q,
        StatusCode::OK,
        Errors::none(),
        OrgForm::default(),
    )
    .await
}

/// Creates a partner, or a customer linked to its partner of record.
pub async fn create_organization(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    Form(f): Form<OrgForm>,
) -> Response {
    let mut errors = Errors::none();
    let name = OrgName::parse(&f.name);
    if let Err(e) = &name {
        errors.add(Some("name"), format!("Name: {e}."));
    }
    let kind = match kind_of(&f.kind) {
        Some(k @ (OrgKind::Partner | OrgKind::Customer)) => Some(k),
        _ => {
            errors.add(Some("kind"), "Choose partner or customer.");
            None
        }
    };
    let partner = if f.partner.is_empty() {
        None
    } else {
        OrgId::parse(&f.partner).ok()
    };
    if kind == Some(OrgKind::Customer) && partner.is_none() {
        errors.add(Some("partner"), "Choose the customer's partner of record.");
    }
    let (Ok(name), Some(kind), true) = (name, kind, errors.is_empty()) else {
        return orgs_page(
            &deps,
            &visit,
            &caller,
            &OrgsQuery::default(),
            StatusCode::BAD_REQUEST,
            errors,
            f,
        )
        .await;
    };
    let input = CreateOrganization {
        name,
        kind,
        partner_of_record: if kind == OrgKind::Customer { partner } else { None },
        template: false,
    };
    let result = organizations::create(&deps, &caller, input).await;
    match after(
        &visit,
        &deps.settings,
        result,
        "/admin/organizations?done=created",
        "name",
    ) {
        Ok(answer) => answer,
        Err((status, errors)) => orgs_page(&deps, &visit, &caller, &OrgsQuery::default(), status, errors, f).await,
    }
}

/// Invites a new partner's first Partner Manager (the partner is created when they accept).
pub async fn invite_partner(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    Form(f): Form<OrgForm>,
) -> Response {
    let mut errors = Errors::none();
    let org = OrgName::parse(&f.name);
    if let Err(e) = &org {
        errors.add(Some("partner-name"), format!("The partner's name: {e}."));
    }
    let email = EmailAddress::parse(&f.manager_email);
    if email.is_err() {
        errors.add(
            Some("manager-email"),
            "Enter the manager's email address, like name@example.com.",
        );
    }
    let name = DisplayName::parse(&f.manager_name);
    if let Err(e) = &name {
        errors.add(Some("manager-name"), format!("The manager's name: {e}."));
    }
    let (Ok(organization_name), Ok(email), Ok(display_name)) = (org, email, name) else {
        return orgs_page(
            &deps,
            &visit,
            &caller,
            &OrgsQuery::default(),
            StatusCode::BAD_REQUEST,
            errors,
            f,
        )
        .await;
    };
    let input = InvitePartner {
        organization_name,
        email,
        display_name,
        expires_in_hours: None,
    };
    let result = accounts::invite_partner(&deps, &caller, input).await;
    match after(
        &visit,
        &deps.settings,
        result,
        "/admin/organizations?done=invited-partner",
        "manager-email",
    ) {
        Ok(answer) => answer,
        Err((status, errors)) => orgs_page(&deps, &visit, &caller, &OrgsQuery::default(), status, errors, f).await,
    }
}

// ---- queues -----------------------------------------------------------------------

#[derive(Template)]
#[template(path = "admin_requests.html")]
struct RequestsPage {
    chrome: Chrome,
    notice: Option<&'static str>,
    requests: Vec<crate::accounts::UserRequest>,
    restores: Vec<crate::ops::inactivity::RestoreRequest>,
    recreates: Vec<crate::instances::RecreateRequest>,
}

/// The queues: users partners asked for, suspended users asking back in,
/// and connections partners asked to have recreated.
pub async fn requests(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    Query(q): Query<DoneQuery>,
) -> Response {
    let (requests, restores, recreates) = futures::join!(
        accounts::list_user_requests(
            &deps,
            &caller,
            PageQuery {
                limit: Some(100),
                cursor: None
            }
        ),
        crate::ops::inactivity::list_restore_requests(&deps, &caller),
        crate::ops::instances::list_recreate_requests(&deps, &caller)
    );
    match (requests, restores, recreates) {
        (Ok(r), Ok(s), Ok(c)) => page(
            StatusCode::OK,
            &RequestsPage {
                chrome: Chrome::of(&visit),
                notice: done_message(q.done.as_deref()),
                requests: r
                    .items
                    .into_iter()
                    .filter(|r| r.state == crate::accounts::RequestState::Pending)
                    .collect(),
                restores: s.items,
                recreates: c.requests,
            },
        ),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => fail(&visit, &deps.settings, e),
    }
}

#[derive(Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    decision: String,
}

pub async fn decide(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    PagePath(id): PagePath<RequestId>,
    Form(f): Form<DecisionForm>,
) -> Response {
    let approve = match f.decision.as_str() {
        "approve" => true,
        "reject" => false,
        _ => return super::render::plain_error(StatusCode::BAD_REQUEST, "The form could not be read."),
    };
    match accounts::decide_user_request(&deps, &caller, id, Decision { approve }).await {
        Ok(_) => Redirect::to(if approve {
            "/admin/requests?done=approved"
        } else {
            "/admin/requests?done=rejected"
        })
        .into_response(),
        Err(e) => fail(&visit, &deps.settings, e),
    }
}

pub async fn reinstate(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    PagePath((org, user)): PagePath<(OrgId, UserId)>,
    Form(_): Form<super::account::Empty>,
) -> Response {
    match crate::ops::inactivity::reinstate(&deps, &caller, org, user).await {
        Ok(_) => Redirect::to("/admin/requests?done=reinstated").into_response(),
        Err(e) => fail(&visit, &deps.settings, e),
    }
}

// ---- the settings catalogue --------------------------------------------------------

#[derive(Template)]
#[template(path = "admin_catalogue.html")]
struct CataloguePage {
    chrome: Chrome,
    errors: Errors,
    notice: Option<&'static str>,
    catalogue: crate::settings::Catalogue,
    form: EntryForm,
}

#[derive(Debug, Default, Deserialize, Clone)]
pub struct EntryForm {
    #[serde(default)]
    key: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    group: String,
    #[serde(default)]
    restricted: Option<String>,
    #[serde(default, rename = "default-enabled")]
    default_enabled: Option<String>,
    #[serde(default)]
    version: String,
}

async fn catalogue_page(
    deps: &AppState,
    visit: &Visit,
    caller: &Caller,
    done: Option<&str>,
    status: StatusCode,
    errors: Errors,
    form: EntryForm,
) -> Response {
    match settings::catalogue(deps, caller).await {
        Ok(catalogue) => page(
            status,
            &CataloguePage {
                chrome: Chrome::of(visit),
                errors,
                notice: done_message(done),
                catalogue,
                form,
            },
        ),
        Err(e) => fail(visit, &deps.settings, e),
    }
}

pub async fn catalogue(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    Query(q): Query<DoneQuery>,
) -> Response {
    catalogue_page(
        &deps,
        &visit,
        &caller,
        q.done.as_deref(),
        StatusCode::OK,
        Errors::none(),
        EntryForm::default(),
    )
    .await
}

/// Adds or changes one entry of the catalogue.
pub async fn put_entry(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    Form(f): Form<EntryForm>,
) -> Response {
    let mut errors = Errors::none();
    let key = SettingKey::parse(&f.key).ok();
    if key.is_none() {
        errors.add(
            Some("key"),
            "Key: 2 to 64 lower-case letters, digits, dots, dashes or underscores, starting with a letter.",
        );
    }
    let group = match f.group.as_str() {
        "general" => Some(SettingGroup::General),
        "paid_add_on" => Some(SettingGroup::PaidAddOn),
        _ => {
            errors.add(Some("group"), "Choose a group.");
            None
        }
    };
    let version = f.version.parse::<u64>().ok();
    let (Some(key), Some(group), Some(version), true) = (key, group, version, errors.is_empty()) else {
        return catalogue_page(&deps, &visit, &caller, None, StatusCode::BAD_REQUEST, errors, f).await;
    };
    let input = CatalogueEntry {
        name: f.name.clone(),
        description: f.description.clone(),
        group,
        restricted: f.restricted.is_some(),
        default_enabled: f.default_enabled.is_some(),
        version,
    };
    let result = settings::put_catalogue_entry(&deps, &caller, key, input).await;
    match after(&visit, &deps.settings, result, "/admin/catalogue?done=saved", "name") {
        Ok(answer) => answer,
        Err((status, errors)) => catalogue_page(&deps, &visit, &caller, None, status, errors, f).await,
    }
}

// ---- the inactivity sweep ------------------------------------------------------------

#[derive(Template)]
#[template(path = "admin_sweep.html")]
struct SweepPage {
    chrome: Chrome,
    report: Option<crate::ops::inactivity::SweepReport>,
    suspend_after: u32,
}

pub async fn sweep_page(State(deps): State<AppState>, SignedIn(visit, caller): SignedIn) -> Response {
    if let Err(e) = crate::ops::authenticate_full(&deps, &caller, []).await {
        return fail(&visit, &deps.settings, e);
    }
    if let Some(refused) = super::render::refused_unless(&deps, &visit, crate::authz::Action::RunSweep) {
        return refused;
    }
    page(
        StatusCode::OK,
        &SweepPage {
            chrome: Chrome::of(&visit),
            report: None,
            suspend_after: deps.settings.inactivity.suspend_after_days,
        },
    )
}

pub async fn run_sweep(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    Form(_): Form<super::account::Empty>,
) -> Response {
    match crate::ops::inactivity::run_sweep(&deps, &caller).await {
        Ok(report) => page(
            StatusCode::OK,
            &SweepPage {
                chrome: Chrome::of(&visit),
                report: Some(report),
                suspend_after: deps.settings.inactivity.suspend_after_days,
            },
        ),
        Err(e) => fail(&visit, &deps.settings, e),
    }
}
