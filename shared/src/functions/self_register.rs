//! The `self-register` function: the platform's feature switches and
//! Partner Portal settings (seed 002 Steps 1 and 4), the signup link and
//! organisation keys (Step 5), the portal texts (Step 6), and
//! self-registration from the templates, with moderation.

use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::domain::OrgId;
use crate::error::{AppError, Problem};
use crate::http::JsonBody;
use crate::http::Path;
use crate::http::principal::{Caller, SourceIp};
use crate::ops::accounts::PageQuery;
use crate::ops::partner_portal::{self, SetText};
use crate::ops::signup::{
    self, AwaitingPage, CompleteSignup, NewOrgKey, NewSignupLink, OrgKeyView, SignUp, SignedUp, SignupDecision,
    SignupLinkView, SignupPage, SignupSent,
};
use crate::partner_portal::{PortalConfig, PortalText, PortalTexts, TextName};

/// What this function uses besides the table; its Lambda builds only that.
pub struct Uses;

impl crate::app::Uses for Uses {
    const USING: crate::app::Using = crate::app::Using {
        identity: true,
        mail: true,
        secrets: true,
        outbound: false,
        signer: false,
    };
}

/// The function's routes, with their OpenAPI descriptions.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_partner_portal, put_partner_portal))
        .routes(routes!(rotate_signup_link))
        .routes(routes!(make_org_key))
        .routes(routes!(signup_page))
        .routes(routes!(sign_up))
        .routes(routes!(complete_signup))
        .routes(routes!(list_awaiting))
        .routes(routes!(decide_signup))
        .routes(routes!(get_portal_texts))
        .routes(routes!(put_portal_text))
}

/// The router the Lambda runs.
pub fn router(state: AppState) -> Router {
    crate::http::function(routes(), state)
}

/// The feature switches and Partner Portal settings (platform admins).
/// Until the platform saves them, the defaults apply (version 0):
/// Organizations and the Partner Portal on, no self-registration.
#[utoipa::path(get, path = "/partner-portal", tag = "self-register", security(("bearer" = [])),
    responses(
        (status = 200, body = PortalConfig),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn get_partner_portal(State(deps): State<AppState>, caller: Caller) -> Result<Json<PortalConfig>, AppError> {
    Ok(Json(partner_portal::get(&deps, &caller).await?))
}

/// Save the feature switches and Partner Portal settings (platform admins),
/// with the `version` read. The Partner Portal needs Organizations on;
/// self-registration needs the Partner Portal and a Model User (a Partner
/// Manager of a template organisation). Switching the Partner Portal off
/// refuses partners' sign-ins and requests at once (403
/// `partner-portal-off`). An "Update Organization" event in the platform's log.
#[utoipa::path(put, path = "/partner-portal", tag = "self-register", request_body = PortalConfig,
    security(("bearer" = [])),
    responses(
        (status = 200, body = PortalConfig),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Changed since read", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn put_partner_portal(
    State(deps): State<AppState>,
    caller: Caller,
    JsonBody(input): JsonBody<PortalConfig>,
) -> Result<Json<PortalConfig>, AppError> {
    Ok(Json(partner_portal::put(&deps, &caller, input).await?))
}

/// Make the signup link, or rotate it: the old link stops working at once
/// (platform admins; self-registration must be allowed). Optional domain
/// allow-list and deny-list. An "Update Organization" event.
#[utoipa::path(post, path = "/partner-portal/signup-link", tag = "self-register", request_body = NewSignupLink,
    security(("bearer" = [])),
    responses(
        (status = 201, body = SignupLinkView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Self-registration is off, or the settings changed", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn rotate_signup_link(
    State(deps): State<AppState>,
    caller: Caller,
    JsonBody(input): JsonBody<NewSignupLink>,
) -> Result<(StatusCode, Json<SignupLinkView>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(signup::rotate_link(&deps, &caller, input).await?),
    ))
}

/// Make an organisation key naming this partner as the group new
/// organisations go under (platform admins; seed 002 Step 5's "organization
/// encrypted key"): opaque, encrypted and authenticated, optionally
/// expiring. Append it to the signup link as `key`.
#[utoipa::path(post, path = "/organizations/{id}/signup-key", tag = "self-register", request_body = NewOrgKey,
    params(("id" = String, Path, description = "The group: a partner organisation")),
    security(("bearer" = [])),
    responses(
        (status = 201, body = OrgKeyView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The key service is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn make_org_key(
    State(deps): State<AppState>,
    caller: Caller,
    Path(id): Path<OrgId>,
    JsonBody(input): JsonBody<NewOrgKey>,
) -> Result<(StatusCode, Json<OrgKeyView>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(signup::org_key(&deps, &caller, id, input).await?),
    ))
}

/// Query of `GET /signup-links/{link}`.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct KeyQuery {
    /// The organisation key the link carries, if any.
    pub key: Option<String>,
}

/// What the signup link opens (no sign-in): the initiation text, and the
/// group when the link carries a valid key. 404 for a link that is not the
/// live one; 400 for a key that does not hold.
#[utoipa::path(get, path = "/signup-links/{link}", tag = "self-register",
    params(("link" = String, Path, description = "The link's id"), KeyQuery),
    responses(
        (status = 200, body = SignupPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not the live signup link", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The key service is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn signup_page(
    State(deps): State<AppState>,
    Path(link): Path<String>,
    Query(q): Query<KeyQuery>,
) -> Result<Json<SignupPage>, AppError> {
    Ok(Json(signup::page(&deps, &link, q.key.as_deref()).await?))
}

/// Sign up (no sign-in): an email, the organisation's name and your name.
/// Nothing is created until the emailed link (60 minutes, single use) is
/// used; an address that has an account hears the same and is sent
/// nothing. Refused: disposable domains, domains the link does not admit,
/// a key that does not hold; limited per source IP and per address.
#[utoipa::path(post, path = "/signup-links/{link}/signups", tag = "self-register", request_body = SignUp,
    params(("link" = String, Path, description = "The link's id")),
    responses(
        (status = 202, body = SignupSent),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not the live signup link", body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The key service is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn sign_up(
    State(deps): State<AppState>,
    SourceIp(ip): SourceIp,
    Path(link): Path<String>,
    JsonBody(input): JsonBody<SignUp>,
) -> Result<(StatusCode, Json<SignupSent>), AppError> {
    Ok((
        StatusCode::ACCEPTED,
        Json(signup::request(&deps, &ip, &link, input).await?),
    ))
}

/// Finish signing up with the emailed link's token and a password (no
/// sign-in): the organisation and its first manager are created from the
/// Model Organization and Model User. Sign in next; MFA enrolment follows.
#[utoipa::path(post, path = "/signup/complete", tag = "self-register", request_body = CompleteSignup,
    responses(
        (status = 201, body = SignedUp),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Self-registration is off", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown link", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The name or the address is taken", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "Expired or used link", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn complete_signup(
    State(deps): State<AppState>,
    SourceIp(ip): SourceIp,
    JsonBody(input): JsonBody<CompleteSignup>,
) -> Result<(StatusCode, Json<SignedUp>), AppError> {
    Ok((StatusCode::CREATED, Json(signup::complete(&deps, &ip, input).await?)))
}

/// Self-registered organisations waiting for approval (platform admins; moderation on).
#[utoipa::path(get, path = "/signups", tag = "self-register", params(PageQuery), security(("bearer" = [])),
    responses(
        (status = 200, body = AwaitingPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list_awaiting(
    State(deps): State<AppState>,
    caller: Caller,
    Query(q): Query<PageQuery>,
) -> Result<Json<AwaitingPage>, AppError> {
    Ok(Json(signup::awaiting(&deps, &caller, q).await?))
}

/// Approve a held organisation (its manager may sign in, and is told by
/// email) or reject it (it and its manager are removed). Platform admins.
#[utoipa::path(post, path = "/signups/{id}/decision", tag = "self-register", request_body = SignupDecision,
    params(("id" = String, Path, description = "The held organisation")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = crate::domain::Organization),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not waiting, or changed meanwhile", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn decide_signup(
    State(deps): State<AppState>,
    caller: Caller,
    Path(id): Path<OrgId>,
    JsonBody(input): JsonBody<SignupDecision>,
) -> Result<Json<crate::domain::Organization>, AppError> {
    Ok(Json(signup::decide(&deps, &caller, id, input).await?))
}

/// The portal texts (no sign-in; seed 002 Step 6): the initiation text, the
/// first-time dialog, the managers' help. Sanitised HTML.
#[utoipa::path(get, path = "/portal-texts", tag = "self-register",
    responses((status = 200, body = PortalTexts))
)]
async fn get_portal_texts(State(deps): State<AppState>) -> Result<Json<PortalTexts>, AppError> {
    Ok(Json(partner_portal::texts(&deps).await?))
}

/// Save one portal text (platform admins), with its version as read:
/// sanitised (whatever could run is dropped). An "Update Organization" event.
#[utoipa::path(put, path = "/portal-texts/{name}", tag = "self-register", request_body = SetText,
    params(("name" = String, Path, description = "initiation, first-time or help (anything else: 400)")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = PortalText),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Changed since read", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn put_portal_text(
    State(deps): State<AppState>,
    caller: Caller,
    Path(name): Path<TextName>,
    JsonBody(input): JsonBody<SetText>,
) -> Result<Json<PortalText>, AppError> {
    Ok(Json(partner_portal::set_text(&deps, &caller, name, input).await?))
}
