//! Getting in: the start page, sign-in (password, then the authenticator's
//! code, or enrolment of one, or a recovery code), sign-out, and the pages
//! the emailed links open (set a password, accept an invitation, confirm
//! an email address) with the two that send links (forgot password, ask
//! for access to be restored). A GET never redeems a link: email scanners
//! prefetch links, so each page asks for a click first.
//!
//! A sign-in in progress (the identity's session between the password and
//! the code) is kept on the server, keyed by the visitor's cookie, for 10
//! minutes: it never reaches the browser.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Duration;
use serde::{Deserialize, Serialize};

use super::render::{Chrome, Errors, fail, page, redirect_as};
use super::visit::{Form, Query, Visit, Visitor};
use crate::app::{AppState, Deps};
use crate::domain::{DisplayName, EmailAddress, OrgName, Role};
use crate::error::AppError;
use crate::ops::accounts::{self, AcceptCustomerInvitation, ConfirmEmail, Forgot, SetPassword};
use crate::ops::inactivity::{self, AskRestore};
use crate::ops::session::{
    self, EnrolmentConfirm, EnrolmentStart, MfaAnswer, Opening, Recover, SignInRequest, SignInStep,
};
use crate::store::{Cond, Item, Write};

/// How long a sign-in may sit between its steps.
const FLOW_MINUTES: i64 = 10;

/// A sign-in between its steps.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Flow {
    step: FlowStep,
    /// The identity's session for the next step (never sent to the browser).
    session: String,
    email: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum FlowStep {
    Code,
    Enrol,
}

async fn save_flow(deps: &Deps, visitor: &Visitor, flow: &Flow) -> Result<(), AppError> {
    let until = deps.clock.now() + Duration::minutes(FLOW_MINUTES);
    let item = Item::new(visitor.flow_key(), "SignInFlow", 1, flow)?.with_ttl(until.timestamp());
    deps.table.transact(vec![Write::Put { item, cond: Cond::None }]).await?;
    Ok(())
}

async fn load_flow(deps: &Deps, visitor: &Visitor, step: FlowStep) -> Result<Option<Flow>, AppError> {
    let flow: Option<Flow> = deps
        .table
        .get(&visitor.flow_key())
        .await?
        .map(|i| i.decode())
        .transpose()?;
    Ok(flow.filter(|f| f.step == step))
}

/// The sign-in in progress at `step`, or the answer sending the browser back
/// to the start of sign-in (it took longer than 10 minutes, or never began).
async fn flow_or_restart(deps: &Deps, visit: &Visit, step: FlowStep) -> Result<Flow, Response> {
    match load_flow(deps, &visit.visitor, step).await {
        Ok(Some(flow)) => Ok(flow),
        Ok(None) => Err(Redirect::to("/sign-in?expired=1").into_response()),
        Err(e) => Err(fail(visit, &deps.settings, e)),
    }
}

/// How the last step opens its browser session: a new id, ending the
/// sign-in in progress in the same transaction.
fn closing<'a>(visit: &Visit, opened: &'a Visitor) -> Opening<'a> {
    Opening::Browser {
        id: opened.id(),
        ends: Some(visit.visitor.flow_key()),
    }
}

/// Signed in: the browser gets its new cookie and goes to its start page.
fn signed_in(deps: &Deps, visitor: &Visitor) -> Response {
    redirect_as("/", visitor, &deps.settings)
}

// ---- the start page -------------------------------------------------------

#[derive(Template)]
#[template(path = "welcome.html")]
struct Welcome {
    chrome: Chrome,
    demo: Vec<DemoUser>,
}

pub struct DemoUser {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: &'static str,
}

/// `/`: the signed-in user's start page (by role), else the welcome page
/// (with the demo users in the local portal).
pub async fn home(State(deps): State<AppState>, visit: Visit) -> Response {
    if let Some(caller) = visit.caller() {
        return match crate::ops::authenticate_full(&deps, &caller, []).await {
            Ok((a, [])) => Redirect::to(&match a.user.role {
                Role::PlatformAdmin | Role::PartnerManager | Role::PartnerUser => "/customers".to_string(),
                Role::CustomerAccountOwner | Role::CustomerAdmin | Role::CustomerUser => {
                    format!("/customers/{}", a.org.id)
                }
            })
            .into_response(),
            Err(e) => fail(&visit, &deps.settings, e),
        };
    }
    #[cfg(feature = "local")]
    let demo = if visit.local {
        super::local::demo_users(&deps).await.unwrap_or_default()
    } else {
        Vec::new()
    };
    #[cfg(not(feature = "local"))]
    let demo = Vec::new();
    page(
        StatusCode::OK,
        &Welcome {
            chrome: Chrome::anonymous(&visit),
            demo,
        },
    )
}

// ---- sign-in --------------------------------------------------------------

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    chrome: Chrome,
    errors: Errors,
    email: String,
    notice: Option<(&'static str, &'static str)>,
}

#[derive(Debug, Default, Deserialize)]
pub struct SignInQuery {
    ended: Option<String>,
    suspended: Option<String>,
    #[serde(rename = "signed-out")]
    signed_out: Option<String>,
    #[serde(rename = "password-set")]
    password_set: Option<String>,
    #[serde(rename = "signed-up")]
    signed_up: Option<String>,
    expired: Option<String>,
}

fn sign_in_notice(q: &SignInQuery) -> Option<(&'static str, &'static str)> {
    if q.suspended.is_some() {
        Some(("bad", "Your account was suspended after 3 weeks without activity."))
    } else if q.ended.is_some() {
        Some(("warn", "Your session has ended. Sign in again to carry on."))
    } else if q.signed_out.is_some() {
        Some(("good", "You have signed out."))
    } else if q.signed_up.is_some() {
        Some((
            "good",
            "Your organisation is created. Sign in with your email and password; you set up an authenticator app next.",
        ))
    } else if q.password_set.is_some() {
        Some(("good", "Your password is set. Sign in with it now."))
    } else if q.expired.is_some() {
        Some(("warn", "That sign-in took too long and was stopped. Start again."))
    } else {
        None
    }
}

pub async fn sign_in_page(visit: Visit, Query(q): Query<SignInQuery>) -> Response {
    if visit.caller().is_some() {
        return Redirect::to("/").into_response();
    }
    page(
        StatusCode::OK,
        &SignInPage {
            chrome: Chrome::anonymous(&visit),
            errors: Errors::none(),
            email: String::new(),
            notice: sign_in_notice(&q),
        },
    )
}

#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

fn sign_in_again(visit: &Visit, status: StatusCode, email: &str, errors: Errors) -> Response {
    page(
        status,
        &SignInPage {
            chrome: Chrome::anonymous(visit),
            errors,
            email: email.to_string(),
            notice: None,
        },
    )
}

/// Words for people for the refusals of the sign-in steps; `None`: not one of them.
fn sign_in_refusal(e: &AppError) -> Option<(StatusCode, String)> {
    Some(match e {
        AppError::SignInFailed => (
            StatusCode::UNAUTHORIZED,
            "The email address or password is not right.".into(),
        ),
        AppError::CodeRejected => (
            StatusCode::UNAUTHORIZED,
            "The code was not accepted: it is wrong, expired, or was used already. Type the next code your app shows.".into(),
        ),
        AppError::Locked => (
            StatusCode::TOO_MANY_REQUESTS,
            "Too many wrong codes: sign-in is locked for 15 minutes.".into(),
        ),
        AppError::TooManyRequests { retry_after, .. } => (
            StatusCode::TOO_MANY_REQUESTS,
            format!("Too many wrong passwords for this email address. Try again in {retry_after} seconds."),
        ),
        AppError::AccountSuspended => (
            StatusCode::FORBIDDEN,
            "This account was suspended after 3 weeks without activity. Ask for your access to be restored (link below).".into(),
        ),
        _ => return None,
    })
}

pub async fn sign_in(State(deps): State<AppState>, visit: Visit, Form(f): Form<SignInForm>) -> Response {
    let mut errors = Errors::none();
    let email = EmailAddress::parse(&f.email);
    if email.is_err() {
        errors.add(Some("email"), "Enter your email address, like name@example.com.");
    }
    if f.password.is_empty() {
        errors.add(Some("password"), "Enter your password.");
    }
    let Ok(email) = email
        .map_err(|_| ())
        .and_then(|e| if errors.is_empty() { Ok(e) } else { Err(()) })
    else {
        return sign_in_again(&visit, StatusCode::BAD_REQUEST, &f.email, errors);
    };
    // The session a completed sign-in opens: a new random id (never the
    // anonymous cookie's: no session fixation).
    let opened = Visitor::anonymous();
    let input = SignInRequest {
        email: email.clone(),
        password: f.password,
    };
    let opening = Opening::Browser {
        id: opened.id(),
        ends: None,
    };
    match session::sign_in(&deps, &visit.source_ip, input, opening).await {
        Ok(step) => after_step(&deps, &visit, &opened, step, email.as_str()).await,
        Err(e) => match sign_in_refusal(&e) {
            Some((status, msg)) => sign_in_again(&visit, status, &f.email, Errors::one(Some("email"), msg)),
            None => fail(&visit, &deps.settings, e),
        },
    }
}

/// Where a sign-in step leads: the next step's page (the identity's session
/// kept here), or signed in.
async fn after_step(deps: &Deps, visit: &Visit, opened: &Visitor, step: SignInStep, email: &str) -> Response {
    let (flow_step, session, to) = match step {
        SignInStep::Mfa { session } => (FlowStep::Code, session, "/sign-in/code"),
        SignInStep::MfaSetup { session } => (FlowStep::Enrol, session, "/sign-in/authenticator"),
        SignInStep::Done { signed_in, .. } => return finish(deps, visit, opened, signed_in).await,
    };
    let flow = Flow {
        step: flow_step,
        session,
        email: email.to_string(),
    };
    match save_flow(deps, &visit.visitor, &flow).await {
        Ok(()) => Redirect::to(to).into_response(),
        Err(e) => fail(visit, &deps.settings, e),
    }
}

/// The sign-in is complete: the session `opened` names was written with its
/// event (and the sign-in in progress deleted with them); the browser gets
/// the cookie naming it.
async fn finish(deps: &Deps, visit: &Visit, opened: &Visitor, who: Option<session::SignedIn>) -> Response {
    let Some(who) = who else {
        return fail(
            visit,
            &deps.settings,
            AppError::Internal("a sign-in completed for no one".into()),
        );
    };
    let visitor = Visitor::SignedIn {
        user: who.user_id,
        org: who.org_id,
        kind: who.org_kind,
        id: opened.id().to_string(),
    };
    signed_in(deps, &visitor)
}

#[derive(Template)]
#[template(path = "code.html")]
struct CodePage {
    chrome: Chrome,
    errors: Errors,
    /// The local portal only: the code the user's authenticator shows now.
    local_code: Option<String>,
}

/// The local portal only (embedded store, local identity): the code now.
async fn local_code(deps: &Deps, visit: &Visit, flow: &Flow) -> Option<String> {
    #[cfg(feature = "local")]
    if visit.local {
        return crate::identity::local::LocalIdentity::demo_code(deps.table.as_ref(), &flow.session, deps.clock.now())
            .await
            .ok()
            .flatten();
    }
    let _ = (deps, visit, flow);
    None
}

pub async fn code_page(State(deps): State<AppState>, visit: Visit) -> Response {
    match flow_or_restart(&deps, &visit, FlowStep::Code).await {
        Ok(flow) => page(
            StatusCode::OK,
            &CodePage {
                chrome: Chrome::anonymous(&visit),
                errors: Errors::none(),
                local_code: local_code(&deps, &visit, &flow).await,
            },
        ),
        Err(restart) => restart,
    }
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

impl CodeForm {
    /// The code, spaces removed, if it has a code's shape.
    fn code(&self) -> Result<String, String> {
        let code: String = self.code.chars().filter(|c| !c.is_whitespace()).collect();
        if crate::identity::code_shape(&code) {
            Ok(code)
        } else {
            Err("Enter the 6-digit code your authenticator app shows.".into())
        }
    }
}

pub async fn code(State(deps): State<AppState>, visit: Visit, Form(f): Form<CodeForm>) -> Response {
    let flow = match flow_or_restart(&deps, &visit, FlowStep::Code).await {
        Ok(flow) => flow,
        Err(restart) => return restart,
    };
    let again = |status, msg: String| {
        page(
            status,
            &CodePage {
                chrome: Chrome::anonymous(&visit),
                errors: Errors::one(Some("code"), msg),
                local_code: None,
            },
        )
    };
    let code = match f.code() {
        Ok(code) => code,
        Err(why) => return again(StatusCode::BAD_REQUEST, why),
    };
    let opened = Visitor::anonymous();
    let input = MfaAnswer {
        session: flow.session,
        code,
    };
    match session::answer_mfa(&deps, &visit.source_ip, input, closing(&visit, &opened)).await {
        Ok(step) => after_step(&deps, &visit, &opened, step, &flow.email).await,
        Err(e) => match sign_in_refusal(&e) {
            Some((status, msg)) => again(status, msg),
            None => fail(&visit, &deps.settings, e),
        },
    }
}

#[derive(Template)]
#[template(path = "enrol.html")]
struct EnrolPage {
    chrome: Chrome,
    errors: Errors,
    /// The secret and its QR code; absent after a wrong code (the app has it already).
    setup: Option<(String, String)>,
    /// The local portal only: the code right now, so no phone is needed.
    local_code: Option<String>,
}

/// Enrolment: a new secret, shown as a QR code and as text.
pub async fn enrol_page(State(deps): State<AppState>, visit: Visit) -> Response {
    let flow = match flow_or_restart(&deps, &visit, FlowStep::Enrol).await {
        Ok(flow) => flow,
        Err(restart) => return restart,
    };
    let started = match session::begin_enrolment(&deps, EnrolmentStart { session: flow.session }).await {
        Ok(s) => s,
        Err(AppError::CodeRejected) => return Redirect::to("/sign-in?expired=1").into_response(),
        Err(e) => return fail(&visit, &deps.settings, e),
    };
    let kept = Flow {
        step: FlowStep::Enrol,
        session: started.session,
        email: flow.email,
    };
    if let Err(e) = save_flow(&deps, &visit.visitor, &kept).await {
        return fail(&visit, &deps.settings, e);
    }
    let svg = started
        .qr_svg
        .find("<svg")
        .map(|i| started.qr_svg[i..].to_string())
        .unwrap_or_default();
    #[cfg(feature = "local")]
    let local_code = visit
        .local
        .then(|| crate::identity::local::LocalIdentity::code_at(&started.secret, deps.clock.now()).ok())
        .flatten();
    #[cfg(not(feature = "local"))]
    let local_code = None;
    page(
        StatusCode::OK,
        &EnrolPage {
            chrome: Chrome::anonymous(&visit),
            errors: Errors::none(),
            setup: Some((started.secret, svg)),
            local_code,
        },
    )
}

#[derive(Template)]
#[template(path = "recovery_codes.html")]
struct RecoveryCodesPage {
    chrome: Chrome,
    codes: Vec<String>,
    download: String,
}

pub async fn enrol(State(deps): State<AppState>, visit: Visit, Form(f): Form<CodeForm>) -> Response {
    let flow = match flow_or_restart(&deps, &visit, FlowStep::Enrol).await {
        Ok(flow) => flow,
        Err(restart) => return restart,
    };
    let again = |status, msg: String| {
        page(
            status,
            &EnrolPage {
                chrome: Chrome::anonymous(&visit),
                errors: Errors::one(Some("code"), msg),
                setup: None,
                local_code: None,
            },
        )
    };
    let code = match f.code() {
        Ok(code) => code,
        Err(why) => return again(StatusCode::BAD_REQUEST, why),
    };
    let opened = Visitor::anonymous();
    let input = EnrolmentConfirm {
        session: flow.session,
        code,
    };
    match session::confirm_enrolment(&deps, &visit.source_ip, input, closing(&visit, &opened)).await {
        Ok(enrolled) => {
            let Some(who) = enrolled.signed_in else {
                return fail(
                    &visit,
                    &deps.settings,
                    AppError::Internal("an enrolment completed for no one".into()),
                );
            };
            let visitor = Visitor::SignedIn {
                user: who.user_id,
                org: who.org_id,
                kind: who.org_kind,
                id: opened.id().to_string(),
            };
            let text = enrolled.recovery_codes.join("\n");
            let mut resp = page(
                StatusCode::OK,
                &RecoveryCodesPage {
                    chrome: Chrome {
                        csrf: visitor.csrf(),
                        ..Chrome::anonymous(&visit)
                    },
                    download: format!("data:text/plain;charset=utf-8,{}", urlencode(&text)),
                    codes: enrolled.recovery_codes,
                },
            );
            resp.headers_mut()
                .append(axum::http::header::SET_COOKIE, visitor.set_cookie(&deps.settings));
            resp
        }
        Err(e) => match sign_in_refusal(&e) {
            Some((status, msg)) => again(status, msg),
            None => fail(&visit, &deps.settings, e),
        },
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "recovery.html")]
struct RecoveryPage {
    chrome: Chrome,
    errors: Errors,
    email: String,
}

pub async fn recovery_page(State(deps): State<AppState>, visit: Visit) -> Response {
    let email = match load_flow(&deps, &visit.visitor, FlowStep::Code).await {
        Ok(flow) => flow.map(|f| f.email).unwrap_or_default(),
        Err(e) => return fail(&visit, &deps.settings, e),
    };
    page(
        StatusCode::OK,
        &RecoveryPage {
            chrome: Chrome::anonymous(&visit),
            errors: Errors::none(),
            email,
        },
    )
}

#[derive(Deserialize)]
pub struct RecoveryForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default, rename = "recovery-code")]
    recovery_code: String,
}

pub async fn recovery(State(deps): State<AppState>, visit: Visit, Form(f): Form<RecoveryForm>) -> Response {
    let again = |status, errors: Errors| {
        page(
            status,
            &RecoveryPage {
                chrome: Chrome::anonymous(&visit),
                errors,
                email: f.email.clone(),
            },
        )
    };
    let mut errors = Errors::none();
    let email = EmailAddress::parse(&f.email).ok();
    if email.is_none() {
        errors.add(Some("email"), "Enter your email address, like name@example.com.");
    }
    if f.password.is_empty() {
        errors.add(Some("password"), "Enter your password.");
    }
    if f.recovery_code.trim().is_empty() {
        errors.add(Some("recovery-code"), "Enter one of your recovery codes.");
    }
    let (Some(email), true) = (email, errors.is_empty()) else {
        return again(StatusCode::BAD_REQUEST, errors);
    };
    let input = Recover {
        email: email.clone(),
        password: f.password.clone(),
        recovery_code: f.recovery_code.trim().to_string(),
    };
    match session::recover(&deps, &visit.source_ip, input).await {
        Ok(step) => after_step(&deps, &visit, &Visitor::anonymous(), step, email.as_str()).await,
        Err(AppError::CodeRejected) => again(
            StatusCode::UNAUTHORIZED,
            Errors::one(
                Some("recovery-code"),
                "That recovery code was not accepted: it is not one of yours, or it was used already.",
            ),
        ),
        Err(e) => match sign_in_refusal(&e) {
            Some((status, msg)) => again(status, Errors::one(Some("email"), msg)),
            None => fail(&visit, &deps.settings, e),
        },
    }
}

/// Sign out: the session ends at once (its item is deleted), and the
/// browser gets a new anonymous cookie.
pub async fn sign_out(State(deps): State<AppState>, visit: Visit, Form(_): Form<Empty>) -> Response {
    if let Some(caller) = visit.caller() {
        let everywhere = session::SignOut { everywhere: false };
        if let Err(e) = session::sign_out(&deps, &caller, everywhere).await {
            // Signed out without the event (the session had ended, or the
            // account may not act now: email to confirm, suspended): the
            // cookie's random part is proof enough to end its own session.
            tracing::info!(error = %e, "sign-out without an authenticated user");
            if let Some(id) = visit.visitor.session_id()
                && let Err(e) = deps.table.transact(vec![crate::sessions::close(&id)]).await
            {
                return fail(&visit, &deps.settings, e.into());
            }
        }
    }
    redirect_as("/sign-in?signed-out=1", &Visitor::anonymous(), &deps.settings)
}

/// A form with nothing but its CSRF token.
#[derive(Deserialize)]
pub struct Empty {}

// ---- the emailed links ------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    pub(super) token: String,
}

/// A link's token is 43 URL-safe characters; anything else is not a link of ours.
pub(super) fn link_token_shape(token: &str) -> bool {
    (20..=128).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The page for a link that cannot be used, saying why and what to do.
pub(super) fn link_refused(visit: &Visit, settings: &crate::app::Settings, e: AppError, invitation: bool) -> Response {
    let new_link = if invitation {
        "Ask whoever invited you to send the invitation again."
    } else {
        "If you were invited and have not set up your account yet, ask whoever invited you to send the invitation again; otherwise ask for a new link on the \"Forgot your password?\" page."
    };
    let (status, title, message) = match e {
        AppError::LinkUsed => (
            StatusCode::GONE,
            "This link was already used",
            format!("Each link works once. If it was you, sign in. {new_link}"),
        ),
        AppError::LinkExpired => (
            StatusCode::GONE,
            "This link has expired",
            format!("The link is too old to use. {new_link}"),
        ),
        AppError::LinkInvalid => (
            StatusCode::NOT_FOUND,
            "This link is not valid",
            format!("It may be incomplete (check it was copied whole), or a newer link replaced it. {new_link}"),
        ),
        other => return fail(visit, settings, other),
    };
    super::render::error_page(
        visit,
        status,
        title,
        &message,
        vec![
            ("/sign-in".into(), "Sign in".into()),
            ("/forgot-password".into(), "Get a new password link".into()),
        ],
    )
}

#[derive(Template)]
#[template(path = "setup_password.html")]
struct SetupPasswordPage {
    chrome: Chrome,
    errors: Errors,
    token: String,
}

pub async fn setup_password_page(State(deps): State<AppState>, visit: Visit, Query(q): Query<TokenQuery>) -> Response {
    if !link_token_shape(&q.token) {
        return link_refused(&visit, &deps.settings, AppError::LinkInvalid, false);
    }
    // Looked at, not used: a scanner's prefetch changes nothing.
    if let Err(e) = accounts::check_link(&deps, &q.token, accounts::LinkPage::SetPassword).await {
        return link_refused(&visit, &deps.settings, e, false);
    }
    page(
        StatusCode::OK,
        &SetupPasswordPage {
            chrome: Chrome::anonymous(&visit),
            errors: Errors::none(),
            token: q.token,
        },
    )
}

#[derive(Deserialize)]
pub struct SetupPasswordForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
    #[serde(default, rename = "password-again")]
    password_again: String,
}

pub async fn setup_password(State(deps): State<AppState>, visit: Visit, Form(f): Form<SetupPasswordForm>) -> Response {
    let again = |status, errors: Errors| {
        page(
            status,
            &SetupPasswordPage {
                chrome: Chrome::anonymous(&visit),
                errors,
                token: f.token.clone(),
            },
        )
    };
    if f.password.is_empty() {
        return again(
            StatusCode::BAD_REQUEST,
            Errors::one(Some("password"), "Enter a password."),
        );
    }
    if f.password != f.password_again {
        return again(
            StatusCode::BAD_REQUEST,
            Errors::one(Some("password-again"), "The two passwords are not the same."),
        );
    }
    let input = SetPassword {
        token: f.token.clone(),
        password: f.password.clone(),
    };
    match accounts::set_password(&deps, &visit.source_ip, input).await {
        Ok(_) => Redirect::to("/sign-in?password-set=1").into_response(),
        Err(AppError::Invalid(why)) => again(StatusCode::BAD_REQUEST, Errors::one(Some("password"), sentence(&why))),
        Err(e) => link_refused(&visit, &deps.settings, e, false),
    }
}

/// A rule's text as a sentence.
pub(super) fn sentence(why: &str) -> String {
    let why = why.strip_prefix("password refused: ").unwrap_or(why);
    let mut c = why.chars();
    match c.next() {
        Some(first) => {
            let s: String = first.to_uppercase().chain(c).collect();
            if s.ends_with('.') { s } else { format!("{s}.") }
        }
        None => String::new(),
    }
}

#[derive(Template)]
#[template(path = "accept.html")]
struct AcceptPage {
    chrome: Chrome,
    errors: Errors,
    token: String,
    organization: String,
    name: String,
}

pub async fn accept_page(State(deps): State<AppState>, visit: Visit, Query(q): Query<TokenQuery>) -> Response {
    if !link_token_shape(&q.token) {
        return link_refused(&visit, &deps.settings, AppError::LinkInvalid, true);
    }
    // Looked at, not used: a scanner's prefetch changes nothing.
    if let Err(e) = accounts::check_link(&deps, &q.token, accounts::LinkPage::AcceptInvitation).await {
        return link_refused(&visit, &deps.settings, e, true);
    }
    page(
        StatusCode::OK,
        &AcceptPage {
            chrome: Chrome::anonymous(&visit),
            errors: Errors::none(),
            token: q.token,
            organization: String::new(),
            name: String::new(),
        },
    )
}

#[derive(Deserialize)]
pub struct AcceptForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    organization: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default, rename = "password-again")]
    password_again: String,
}

pub async fn accept(State(deps): State<AppState>, visit: Visit, Form(f): Form<AcceptForm>) -> Response {
    let again = |status, errors: Errors| {
        page(
            status,
            &AcceptPage {
                chrome: Chrome::anonymous(&visit),
                errors,
                token: f.token.clone(),
                organization: f.organization.clone(),
                name: f.name.clone(),
            },
        )
    };
    let mut errors = Errors::none();
    let org = OrgName::parse(&f.organization);
    if let Err(e) = &org {
        errors.add(Some("organization"), sentence(&format!("organisation name: {e}")));
    }
    let name = DisplayName::parse(&f.name);
    if let Err(e) = &name {
        errors.add(Some("name"), sentence(&format!("your name: {e}")));
    }
    if f.password.is_empty() {
        errors.add(Some("password"), "Enter a password.");
    } else if f.password != f.password_again {
        errors.add(Some("password-again"), "The two passwords are not the same.");
    }
    let (Ok(org), Ok(name), true) = (org, name, errors.is_empty()) else {
        return again(StatusCode::BAD_REQUEST, errors);
    };
    let input = AcceptCustomerInvitation {
        token: f.token.clone(),
        organization_name: org,
        display_name: name,
        password: f.password.clone(),
    };
    match accounts::accept_customer_invitation(&deps, &visit.source_ip, input).await {
        Ok(_) => Redirect::to("/sign-in?password-set=1").into_response(),
        Err(AppError::Invalid(why)) => again(StatusCode::BAD_REQUEST, Errors::one(Some("password"), sentence(&why))),
        Err(AppError::Conflict(why)) => again(StatusCode::CONFLICT, Errors::one(Some("organization"), sentence(&why))),
        Err(e) => link_refused(&visit, &deps.settings, e, true),
    }
}

#[derive(Template)]
#[template(path = "confirm_email.html")]
struct ConfirmEmailPage {
    chrome: Chrome,
    token: String,
}

pub async fn confirm_email_page(State(deps): State<AppState>, visit: Visit, Query(q): Query<TokenQuery>) -> Response {
    if !link_token_shape(&q.token) {
        return link_refused(&visit, &deps.settings, AppError::LinkInvalid, false);
    }
    // Looked at, not used: a scanner's prefetch changes nothing.
    if let Err(e) = accounts::check_link(&deps, &q.token, accounts::LinkPage::ConfirmEmail).await {
        return link_refused(&visit, &deps.settings, e, false);
    }
    page(
        StatusCode::OK,
        &ConfirmEmailPage {
            chrome: Chrome::anonymous(&visit),
            token: q.token,
        },
    )
}

#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    token: String,
}

pub async fn confirm_email(State(deps): State<AppState>, visit: Visit, Form(f): Form<TokenForm>) -> Response {
    match accounts::confirm_email(&deps, &visit.source_ip, ConfirmEmail { token: f.token }).await {
        Ok(_) => super::render::error_page(
            &visit,
            StatusCode::OK,
            "Email address confirmed",
            "Thank you. Carry on where you were; you will be asked again in 24 hours unless you work from one of your organisation's trusted networks.",
            vec![("/".into(), "Continue to Portico".into())],
        ),
        Err(e) => link_refused(&visit, &deps.settings, e, false),
    }
}

#[derive(Template)]
#[template(path = "ask_email.html")]
struct AskEmailPage {
    chrome: Chrome,
    errors: Errors,
    title: &'static str,
    lede: &'static str,
    action: &'static str,
    button: &'static str,
    email: String,
}

fn forgot_form(visit: &Visit, status: StatusCode, errors: Errors, email: &str) -> Response {
    page(
        status,
        &AskEmailPage {
            chrome: Chrome::anonymous(visit),
            errors,
            title: "Forgot your password?",
            lede: "Enter the email address you sign in with. If it has an account, we will email it a link to set a new password (valid 60 minutes).",
            action: "/forgot-password",
            button: "Send me a link",
            email: email.into(),
        },
    )
}

pub async fn forgot_page(visit: Visit) -> Response {
    forgot_form(&visit, StatusCode::OK, Errors::none(), "")
}

#[derive(Deserialize)]
pub struct EmailForm {
    #[serde(default)]
    email: String,
}

pub async fn forgot(State(deps): State<AppState>, visit: Visit, Form(f): Form<EmailForm>) -> Response {
    let Ok(email) = EmailAddress::parse(&f.email) else {
        return forgot_form(
            &visit,
            StatusCode::BAD_REQUEST,
            Errors::one(Some("email"), "Enter your email address, like name@example.com."),
            &f.email,
        );
    };
    match crate::ops::no_sooner_than_floor(accounts::forgot_password(&deps, &visit.source_ip, Forgot { email })).await {
        Ok(()) => super::render::error_page(
            &visit,
            StatusCode::OK,
            "Check your email",
            "If that address has an account, a link to set a new password is on its way (valid 60 minutes). At most one email is sent every two minutes. Someone invited who has not set up yet should ask for the invitation to be resent.",
            vec![("/sign-in".into(), "Back to sign in".into())],
        ),
        Err(e) => fail(&visit, &deps.settings, e),
    }
}

fn restore_form(visit: &Visit, status: StatusCode, errors: Errors, email: &str) -> Response {
    page(
        status,
        &AskEmailPage {
            chrome: Chrome::anonymous(visit),
            errors,
            title: "Ask for your access to be restored",
            lede: "Partner accounts are suspended after 3 weeks without activity. Enter the email address you sign in with: the platform's admins receive your request and can restore your access.",
            action: "/restore-access",
            button: "Send the request",
            email: email.into(),
        },
    )
}

pub async fn restore_page(visit: Visit) -> Response {
    restore_form(&visit, StatusCode::OK, Errors::none(), "")
}

pub async fn restore(State(deps): State<AppState>, visit: Visit, Form(f): Form<EmailForm>) -> Response {
    let Ok(email) = EmailAddress::parse(&f.email) else {
        return restore_form(
            &visit,
            StatusCode::BAD_REQUEST,
            Errors::one(Some("email"), "Enter your email address, like name@example.com."),
            &f.email,
        );
    };
    match crate::ops::no_sooner_than_floor(inactivity::ask_restore(&deps, &visit.source_ip, AskRestore { email })).await
    {
        Ok(()) => super::render::error_page(
            &visit,
            StatusCode::OK,
            "Request sent",
            "If that account is suspended, the platform's admins have your request. You will get an email when your access is restored.",
            vec![("/sign-in".into(), "Back to sign in".into())],
        ),
        Err(e) => fail(&visit, &deps.settings, e),
    }
}
