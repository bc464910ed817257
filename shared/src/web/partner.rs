//! What a Partner Manager (and a customer's Account Owner, for their own
//! organisation) manages: the Permissions tab "For Restricted Settings",
//! users and invitations, inviting a customer, trusted source ranges, and a
//! customer's MFA policy.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::render::{Chrome, DoneQuery, Errors, after, done_message, fail, page};
use super::visit::{Form, PagePath, Query, SignedIn, Visit};
use crate::app::AppState;
use crate::domain::{DisplayName, EmailAddress, InvitationId, Role, UserId, UserStatus};
use crate::error::AppError;
use crate::http::principal::Caller;
use crate::ops::accounts::{self, InviteCustomer, NewUser, PageQuery, Resend, UserView};
use crate::ops::organizations::{self, MfaPolicy, TrustedRanges};
use crate::ops::settings::{self, GrantFilter, NewGrant};
use crate::settings::{SettingGroup, SettingKey};

/// The signed-in user's organisation (from the cookie; the operation checks it).
fn own_org(caller: &Caller) -> crate::domain::OrgId {
    caller.org_id
}

// ---- Permissions: For Restricted Settings ---------------------------------

#[derive(Template)]
#[template(path = "permissions.html")]
struct PermissionsPage {
    chrome: Chrome,
    errors: Errors,
    notice: Option<&'static str>,
    users: Vec<UserView>,
    settings: Vec<(String, String)>,
    by_user: bool,
    selected: String,
    grants: Vec<GrantRow>,
}

struct GrantRow {
    user_id: String,
    user: String,
    key: String,
    setting: String,
    granted_at: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct PermissionsQuery {
    by: Option<String>,
    user: Option<String>,
    key: Option<String>,
    done: Option<String>,
}

/// The restricted settings a grant can name (general, restricted).
fn restricted(c: &crate::settings::Catalogue) -> Vec<(String, String)> {
    c.settings
        .iter()
        .filter(|d| d.restricted && d.group == SettingGroup::General)
        .map(|d| (d.key.to_string(), d.name.clone()))
        .collect()
}

async fn permissions_page(
    deps: &AppState,
    visit: &Visit,
    caller: &Caller,
    q: &PermissionsQuery,
    status: StatusCode,
    errors: Errors,
) -> Response {
    let partner = own_org(caller);
    let (catalogue, users) = futures::join!(
        settings::catalogue(deps, caller),
        accounts::list_users(
            deps,
            caller,
            partner,
            PageQuery {
                limit: Some(100),
                cursor: None
            }
        )
    );
    let (catalogue, users) = match (catalogue, users) {
        (Ok(c), Ok(u)) => (c, u.items),
        (Err(e), _) | (_, Err(e)) => return fail(visit, &deps.settings, e),
    };
    let restricted = restricted(&catalogue);
    let by_user = q.by.as_deref() == Some("user");
    let (filter, selected) = if by_user {
        let user = q
            .user
            .as_deref()
            .and_then(|u| UserId::parse(u).ok())
            .or_else(|| users.iter().find(|u| u.role == Role::PartnerUser).map(|u| u.id))
            .or_else(|| users.first().map(|u| u.id));
        (
            user.map(|u| GrantFilter {
                user_id: Some(u),
                key: None,
            }),
            user.map(|u| u.to_string()).unwrap_or_default(),
        )
    } else {
        let key = q
            .key
            .as_deref()
            .and_then(|k| SettingKey::parse(k).ok())
            .or_else(|| restricted.first().and_then(|(k, _)| SettingKey::parse(k).ok()));
        (
            key.clone().map(|k| GrantFilter {
                user_id: None,
                key: Some(k),
            }),
            key.map(|k| k.to_string()).unwrap_or_default(),
        )
    };
    let grants = match filter {
        Some(f) => match settings::list_grants(deps, caller, partner, f).await {
            Ok(g) => g.items,
            Err(e) => return fail(visit, &deps.settings, e),
        },
        None => Vec::new(),
    };
    let name_of = |key: &SettingKey| {
        catalogue
            .settings
            .iter()
            .find(|d| &d.key == key)
            .map(|d| d.name.clone())
            .unwrap_or_else(|| key.to_string())
    };
    let who = |id: UserId| {
        users
            .iter()
            .find(|u| u.id == id)
            .map(|u| format!("{} ({})", u.display_name, u.email))
            .unwrap_or_else(|| id.to_string())
    };
    let grants = grants
        .iter()
        .map(|g| GrantRow {
            user_id: g.user_id.to_string(),
            user: who(g.user_id),
            key: g.key.to_string(),
            setting: name_of(&g.key),
            granted_at: g.granted_at.format("%-d %b %Y %H:%M UTC").to_string(),
        })
        .collect();
    page(
        status,
        &PermissionsPage {
            chrome: Chrome::of(visit),
            errors,
            notice: done_message(q.done.as_deref()),
            users: users.into_iter().filter(|u| u.status != UserStatus::Pending).collect(),
            settings: restricted,
            by_user,
            selected,
            grants,
        },
    )
}

/// The Permissions tab: grants by setting (or by user), and the grant form.
pub async fn permissions(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    Query(q): Query<PermissionsQuery>,
) -> Response {
    permissions_page(&deps, &visit, &caller, &q, StatusCode::OK, Errors::none()).await
}

#[derive(Deserialize)]
pub struct GrantForm {
    #[serde(default)]
    user: String,
    #[serde(default)]
    key: String,
}

/// Grants a user a restricted setting (at every customer they reach).
pub async fn grant(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    Form(f): Form<GrantForm>,
) -> Response {
    let mut errors = Errors::none();
    let user = UserId::parse(&f.user).ok();
    if user.is_none() {
        errors.add(Some("user"), "Choose a user.");
    }
    let key = SettingKey::parse(&f.key).ok();
    if key.is_none() {
        errors.add(Some("key"), "Choose a setting.");
    }
    let (Some(user), Some(key)) = (user, key) else {
        let q = PermissionsQuery::default();
        return permissions_page(&deps, &visit, &caller, &q, StatusCode::BAD_REQUEST, errors).await;
    };
    let result = settings::grant(
        &deps,
        &caller,
        own_org(&caller),
        NewGrant {
            user_id: user,
            key: key.clone(),
        },
    )
    .await;
    match after(
        &visit,
        &deps.settings,
        result,
        &format!("/permissions?key={key}&done=granted"),
        "key",
    ) {
        Ok(answer) => answer,
        Err((status, errors)) => {
            permissions_page(&deps, &visit, &caller, &PermissionsQuery::default(), status, errors).await
        }
    }
}

#[derive(Template)]
#[template(path = "confirm.html")]
struct ConfirmPage {
    chrome: Chrome,
    title: String,
    message: String,
    action: String,
    fields: Vec<(&'static str, String)>,
    button: &'static str,
    cancel: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct GrantRef {
    #[serde(default)]
    user: String,
    #[serde(default)]
    key: String,
}

/// "Delete this permission?": the confirmation (a page of its own).
pub async fn delete_grant_page(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    Query(g): Query<GrantRef>,
) -> Response {
    let (Ok(user), Ok(key)) = (UserId::parse(&g.user), SettingKey::parse(&g.key)) else {
        return fail(&visit, &deps.settings, AppError::NotFound);
    };
    // The grant's names, as the list shows them (1 read round trip).
    let found = settings::list_grants(
        &deps,
        &caller,
        own_org(&caller),
        GrantFilter {
            user_id: Some(user),
            key: None,
        },
    )
    .await;
    match found {
        Ok(list) if list.items.iter().any(|x| x.key == key) => {}
        Ok(_) => return fail(&visit, &deps.settings, AppError::NotFound),
        Err(e) => return fail(&visit, &deps.settings, e),
    }
    page(
        StatusCode::OK,
        &ConfirmPage {
            chrome: Chrome::of(&visit),
            title: "Delete this permission?".into(),
            message: format!(
                "The user will no longer be able to change the restricted setting \"{key}\" at any customer. They keep seeing it, read-only."
            ),
            action: "/permissions/delete".into(),
            fields: vec![("user", user.to_string()), ("key", key.to_string())],
            button: "Delete permission",
            cancel: format!("/permissions?key={key}"),
        },
    )
}

/// Deletes the grant (after the confirmation).
pub async fn delete_grant(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    Form(g): Form<GrantRef>,
) -> Response {
    let (Ok(user), Ok(key)) = (UserId::parse(&g.user), SettingKey::parse(&g.key)) else {
        return fail(&visit, &deps.settings, AppError::NotFound);
    };
    match settings::revoke_grant(&deps, &caller, own_org(&caller), user, key.clone()).await {
        Ok(()) => Redirect::to(&format!("/permissions?key={key}&done=deleted")).into_response(),
        Err(e) => fail(&visit, &deps.settings, e),
    }
}

// ---- Users and invitations ----------------------------------------------------

#[derive(Template)]
#[template(path = "team.html")]
struct TeamPage {
    chrome: Chrome,
    errors: Errors,
    notice: Option<&'static str>,
    users: Vec<UserView>,
    invitations: Vec<crate::accounts::InvitationView>,
    /// A Partner Manager's page (asks for users, manages invitations).
    partner: bool,
    /// The partner's seats (a Partner Manager's page).
    seats: Option<crate::ops::seats::SeatsView>,
    /// User-Management: the manager adds and removes users directly.
    direct: bool,
    /// The signed-in user (not offered their own removal).
    me: String,
    email: String,
    name: String,
}

async fn team_page(
    deps: &AppState,
    visit: &Visit,
    caller: &Caller,
    done: Option<&str>,
    status: StatusCode,
    errors: Errors,
    form: (&str, &str),
) -> Response {
    let org = own_org(caller);
    let users = accounts::list_users(
        deps,
        caller,
        org,
        PageQuery {
            limit: Some(100),
            cursor: None,
        },
    )
    .await;
    let users = match users {
        Ok(u) => u.items,
        Err(e) => return fail(visit, &deps.settings, e),
    };
    let partner = visit.seen.get().is_some_and(|v| v.user.role == Role::PartnerManager);
    let direct = partner && visit.seen.get().is_some_and(|v| v.org.capabilities.user_management);
    let (invitations, seats) = if partner {
        let page = PageQuery {
            limit: Some(50),
            cursor: None,
        };
        // Read together: the page stays at two round trips.
        match futures::join!(
            accounts::list_invitations(deps, caller, org, page),
            crate::ops::seats::view(deps, caller, org)
        ) {
            (Ok(p), Ok(s)) => (p.items, Some(s)),
            (Err(e), _) | (_, Err(e)) => return fail(visit, &deps.settings, e),
        }
    } else {
        (Vec::new(), None)
    };
    page(
        status,
        &TeamPage {
            chrome: Chrome::of(visit),
            errors,
            notice: done_message(done),
            users,
            invitations,
            partner,
            seats,
            direct,
            me: caller.user_id.to_string(),
            email: form.0.into(),
            name: form.1.into(),
        },
    )
}

/// Users (and, for a Partner Manager, invitations and asking for a user).
pub async fn team(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    Query(q): Query<DoneQuery>,
) -> Response {
    team_page(
        &deps,
        &visit,
        &caller,
        q.done.as_deref(),
        StatusCode::OK,
        Errors::none(),
        ("", ""),
    )
    .await
}

#[derive(Deserialize)]
pub struct AskForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
}

impl AskForm {
    /// The person the form names, or what to correct.
    fn person(&self) -> Result<NewUser, Errors> {
        let mut errors = Errors::none();
        let email = EmailAddress::parse(&self.email);
        if email.is_err() {
            errors.add(Some("email"), "Enter their email address, like name@example.com.");
        }
        let name = DisplayName::parse(&self.name);
        if let Err(e) = &name {
            errors.add(Some("name"), format!("Their name: {e}."));
        }
        let role = match self.role.as_str() {
            "partner_manager" => Some(Role::PartnerManager),
            "partner_user" => Some(Role::PartnerUser),
            _ => {
                errors.add(Some("role"), "Choose a role.");
                None
            }
        };
        match (email, name, role) {
            (Ok(email), Ok(display_name), Some(role)) => Ok(NewUser {
                email,
                display_name,
                role,
            }),
            _ => Err(errors),
        }
    }
}

/// A Partner Manager asks the platform for a user.
pub async fn ask_for_user(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    Form(f): Form<AskForm>,
) -> Response {
    let person = match f.person() {
        Ok(p) => p,
        Err(errors) => {
            return team_page(
                &deps,
                &visit,
                &caller,
                None,
                StatusCode::BAD_REQUEST,
                errors,
                (&f.email, &f.name),
            )
            .await;
        }
    };
    let result = accounts::request_user(&deps, &caller, person).await;
    match after(&visit, &deps.settings, result, "/team?done=requested", "email") {
        Ok(answer) => answer,
        Err((status, errors)) => team_page(&deps, &visit, &caller, None, status, errors, (&f.email, &f.name)).await,
    }
}

pub async fn resend_invitation(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    PagePath(id): PagePath<InvitationId>,
    Form(_): Form<super::account::Empty>,
) -> Response {
    match accounts::resend_invitation(&deps, &caller, id, Resend::default()).await {
        Ok(_) => Redirect::to("/team?done=resent").into_response(),
        Err(e) => fail(&visit, &deps.settings, e),
    }
}

pub async fn revoke_invitation(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    PagePath(id): PagePath<InvitationId>,
    Form(_): Form<super::account::Empty>,
) -> Response {
    match accounts::revoke_invitation(&deps, &caller, id).await {
        Ok(_) => Redirect::to("/team?done=revoked").into_response(),
        Err(e) => fail(&visit, &deps.settings, e),
    }
}

/// A Partner Manager asks the platform to restore a suspended user's access.
pub async fn ask_restore(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    PagePath(user): PagePath<UserId>,
    Form(_): Form<super::account::Empty>,
) -> Response {
    match crate::ops::inactivity::ask_restore_for(&deps, &caller, own_org(&caller), user).await {
        Ok(_) => Redirect::to("/team?done=restore").into_response(),
        Err(e) => fail(&visit, &deps.settings, e),
    }
}

// ---- Invite a customer ----------------------------------------------------------

#[derive(Template)]
#[template(path = "invite_customer.html")]
struct InviteCustomerPage {
    chrome: Chrome,
    errors: Errors,
    notice: Option<&'static str>,
    email: String,
}

/// The form that sends a customer an invitation to create its organisation.
pub async fn invite_customer_page(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    Query(q): Query<DoneQuery>,
) -> Response {
    // Authenticated for the header (1 read).
    if let Err(e) = crate::ops::authenticate_full(&deps, &caller, []).await {
        return fail(&visit, &deps.settings, e);
    }
    if let Some(refused) = super::render::refused_unless(&deps, &visit, crate::authz::Action::InviteCustomer) {
        return refused;
    }
    page(
        StatusCode::OK,
        &InviteCustomerPage {
            chrome: Chrome::of(&visit),
            errors: Errors::none(),
            notice: done_message(q.done.as_deref()),
            email: String::new(),
        },
    )
}

#[derive(Deserialize)]
pub struct EmailForm {
    #[serde(default)]
    email: String,
}

pub async fn invite_customer(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    Form(f): Form<EmailForm>,
) -> Response {
    let again = |status: StatusCode, errors: Errors| {
        page(
            status,
            &InviteCustomerPage {
                chrome: Chrome::of(&visit),
                errors,
                notice: None,
                email: f.email.clone(),
            },
        )
    };
    let Ok(email) = EmailAddress::parse(&f.email) else {
        if let Err(e) = crate::ops::authenticate_full(&deps, &caller, []).await {
            return fail(&visit, &deps.settings, e);
        }
        return again(
            StatusCode::BAD_REQUEST,
            Errors::one(
                Some("email"),
                "Enter the customer's email address, like name@example.com.",
            ),
        );
    };
    let input = InviteCustomer {
        email,
        expires_in_hours: None,
    };
    let result = accounts::invite_customer(&deps, &caller, input).await;
    after(&visit, &deps.settings, result, "/invite-customer?done=invited", "email")
        .unwrap_or_else(|(status, errors)| again(status, errors))
}

// ---- Trusted source ranges --------------------------------------------------------

#[derive(Template)]
#[template(path = "trusted_ranges.html")]
struct RangesPage {
    chrome: Chrome,
    errors: Errors,
    notice: Option<&'static str>,
    ranges: String,
    version: u64,
}

pub async fn trusted_ranges(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    Query(q): Query<DoneQuery>,
) -> Response {
    match organizations::trusted_ranges(&deps, &caller, own_org(&caller)).await {
        Ok(r) => page(
            StatusCode::OK,
            &RangesPage {
                chrome: Chrome::of(&visit),
                errors: Errors::none(),
                notice: done_message(q.done.as_deref()),
                ranges: r.ranges.join("\n"),
                version: r.version,
            },
        ),
        Err(e) => fail(&visit, &deps.settings, e),
    }
}

#[derive(Deserialize)]
pub struct RangesForm {
    #[serde(default)]
    ranges: String,
    #[serde(default)]
    version: String,
}

pub async fn set_trusted_ranges(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    Form(f): Form<RangesForm>,
) -> Response {
    let ranges: Vec<String> = f
        .ranges
        .split(|c: char| c == '\n' || c == ',' || c.is_whitespace())
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(String::from)
        .collect();
    let Ok(version) = f.version.parse() else {
        return super::render::plain_error(StatusCode::BAD_REQUEST, "The form could not be read.");
    };
    let result =
        organizations::set_trusted_ranges(&deps, &caller, own_org(&caller), TrustedRanges { ranges, version }).await;
    after(&visit, &deps.settings, result, "/trusted-ranges?done=saved", "ranges").unwrap_or_else(|(status, errors)| {
        page(
            status,
            &RangesPage {
                chrome: Chrome::of(&visit),
                errors,
                notice: None,
                ranges: f.ranges.clone(),
                version,
            },
        )
    })
}

// ---- A customer's MFA policy ------------------------------------------------------

#[derive(Template)]
#[template(path = "mfa_policy.html")]
struct MfaPolicyPage {
    chrome: Chrome,
    notice: Option<&'static str>,
    required: bool,
    version: u64,
}

pub async fn mfa_policy(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    Query(q): Query<DoneQuery>,
) -> Response {
    match organizations::get(&deps, &caller, own_org(&caller)).await {
        Ok(o) => {
            super::render::refused_unless(&deps, &visit, crate::authz::Action::ManageMfaPolicy).unwrap_or_else(|| {
                page(
                    StatusCode::OK,
                    &MfaPolicyPage {
                        chrome: Chrome::of(&visit),
                        notice: done_message(q.done.as_deref()),
                        required: o.mfa_required,
                        version: o.version,
                    },
                )
            })
        }
        Err(e) => fail(&visit, &deps.settings, e),
    }
}

#[derive(Deserialize)]
pub struct MfaForm {
    #[serde(default)]
    required: String,
    #[serde(default)]
    version: String,
}

pub async fn set_mfa_policy(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    Form(f): Form<MfaForm>,
) -> Response {
    let (Ok(version), Some(required)) = (
        f.version.parse(),
        match f.required.as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        },
    ) else {
        return super::render::plain_error(StatusCode::BAD_REQUEST, "The form could not be read.");
    };
    let input = MfaPolicy { required, version };
    match organizations::set_mfa_policy(&deps, &caller, own_org(&caller), input).await {
        Ok(_) => Redirect::to("/mfa-policy?done=saved").into_response(),
        Err(e) => fail(&visit, &deps.settings, e),
    }
}

#[derive(Deserialize)]
pub struct SeatsForm {
    #[serde(default)]
    seats: String,
}

/// `POST /team/seats`: a Partner Manager asks the platform for more seats.
pub async fn ask_for_seats(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    Form(f): Form<SeatsForm>,
) -> Response {
    let Ok(seats) = f.seats.trim().parse::<u32>() else {
        return team_page(
            &deps,
            &visit,
            &caller,
            None,
            StatusCode::BAD_REQUEST,
            Errors::one(Some("seats"), "Enter how many more seats, 1 to 1000."),
            ("", ""),
        )
        .await;
    };
    match crate::ops::seats::request_more(&deps, &caller, own_org(&caller), crate::ops::seats::AskSeats { seats }).await
    {
        Ok(_) => Redirect::to("/team?done=seats-asked").into_response(),
        Err(AppError::Invalid(why)) | Err(AppError::Conflict(why)) => {
            team_page(
                &deps,
                &visit,
                &caller,
                None,
                StatusCode::BAD_REQUEST,
                Errors::one(Some("seats"), why),
                ("", ""),
            )
            .await
        }
        Err(e) => fail(&visit, &deps.settings, e),
    }
}

/// `POST /team/add`: a Partner Manager with User-Management adds a user (a seat taken).
pub async fn add_user(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    Form(f): Form<AskForm>,
) -> Response {
    let input = match f.person() {
        Ok(p) => p,
        Err(errors) => {
            return team_page(
                &deps,
                &visit,
                &caller,
                None,
                StatusCode::BAD_REQUEST,
                errors,
                (&f.email, &f.name),
            )
            .await;
        }
    };
    match accounts::add_user(&deps, &caller, own_org(&caller), input).await {
        Ok(_) => Redirect::to("/team?done=added").into_response(),
        Err(AppError::Invalid(why)) | Err(AppError::Conflict(why)) => {
            team_page(
                &deps,
                &visit,
                &caller,
                None,
                StatusCode::CONFLICT,
                Errors::one(Some("email"), why),
                (&f.email, &f.name),
            )
            .await
        }
        Err(e) => fail(&visit, &deps.settings, e),
    }
}

/// `POST /team/users/{id}/remove`: a Partner Manager with User-Management removes a user (the seat is free).
pub async fn remove_user(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    super::visit::PagePath(user): super::visit::PagePath<crate::domain::UserId>,
    Form(_): Form<super::account::Empty>,
) -> Response {
    match accounts::remove_user(&deps, &caller, own_org(&caller), user).await {
        Ok(_) => Redirect::to("/team?done=removed").into_response(),
        Err(AppError::Conflict(why)) => {
            team_page(
                &deps,
                &visit,
                &caller,
                None,
                StatusCode::CONFLICT,
                Errors::one(None, why),
                ("", ""),
            )
            .await
        }
        Err(e) => fail(&visit, &deps.settings, e),
    }
}
