//! Self-registration's pages (seed 002 Steps 5, 6 and 8): the signup link's
//! page, the emailed link's page, and for managers the first-time dialog's
//! answer and the help page.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::account::{TokenQuery, link_refused, link_token_shape, sentence};
use super::render::{Chrome, Errors, error_page, fail, page};
use super::visit::{Form, Query, SignedIn, Visit};
use crate::app::AppState;
use crate::domain::{DisplayName, EmailAddress, OrgName};
use crate::error::AppError;
use crate::ops::signup::{self, CompleteSignup, SignUp};

#[derive(Template)]
#[template(path = "signup.html")]
struct SignupPage {
    chrome: Chrome,
    errors: Errors,
    link: String,
    key: String,
    /// Sanitised when the platform saved it.
    initiation_html: String,
    email: String,
    organization: String,
    name: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct LinkQuery {
    #[serde(default)]
    link: String,
    #[serde(default)]
    key: Option<String>,
}

/// The refusal of a link that is not the live one, or of a bad key.
fn refused(visit: &Visit, deps: &AppState, e: AppError) -> Response {
    match e {
        AppError::NotFound => error_page(
            visit,
            StatusCode::NOT_FOUND,
            "This signup link does not work",
            "It may be incomplete (check it was copied whole), or the platform replaced it with a new one. Ask for the current link.",
            vec![("/sign-in".into(), "Sign in".into())],
        ),
        AppError::Invalid(why) => error_page(
            visit,
            StatusCode::BAD_REQUEST,
            "This signup link does not work",
            &format!("{why} Ask for the current link."),
            vec![("/sign-in".into(), "Sign in".into())],
        ),
        other => fail(visit, &deps.settings, other),
    }
}

/// `GET /signup?link=…[&key=…]`: the initiation text and the form.
pub async fn signup_page(State(deps): State<AppState>, visit: Visit, Query(q): Query<LinkQuery>) -> Response {
    let key = q.key.filter(|k| !k.is_empty());
    match signup::page(&deps, &q.link, key.as_deref()).await {
        Ok(p) => page(
            StatusCode::OK,
            &SignupPage {
                chrome: Chrome::anonymous(&visit),
                errors: Errors::none(),
                link: q.link,
                key: key.unwrap_or_default(),
                initiation_html: p.initiation_html,
                email: String::new(),
                organization: String::new(),
                name: String::new(),
            },
        ),
        Err(e) => refused(&visit, &deps, e),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct SignupForm {
    #[serde(default)]
    link: String,
    #[serde(default)]
    key: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    organization: String,
    #[serde(default)]
    name: String,
}

/// `POST /signup`: nothing is created; the emailed link does that.
pub async fn sign_up(State(deps): State<AppState>, visit: Visit, Form(f): Form<SignupForm>) -> Response {
    let again = |status, errors: Errors, initiation_html: String| {
        page(
            status,
            &SignupPage {
                chrome: Chrome::anonymous(&visit),
                errors,
                link: f.link.clone(),
                key: f.key.clone(),
                initiation_html,
                email: f.email.clone(),
                organization: f.organization.clone(),
                name: f.name.clone(),
            },
        )
    };
    let key = Some(f.key.clone()).filter(|k| !k.is_empty());
    let intro = match signup::page(&deps, &f.link, key.as_deref()).await {
        Ok(p) => p.initiation_html,
        Err(e) => return refused(&visit, &deps, e),
    };
    let mut errors = Errors::none();
    let email = EmailAddress::parse(&f.email);
    if let Err(e) = &email {
        errors.add(Some("email"), sentence(&format!("email address: {e}")));
    }
    let org = OrgName::parse(&f.organization);
    if let Err(e) = &org {
        errors.add(Some("organization"), sentence(&format!("organisation name: {e}")));
    }
    let name = DisplayName::parse(&f.name);
    if let Err(e) = &name {
        errors.add(Some("name"), sentence(&format!("your name: {e}")));
    }
    let (Ok(email), Ok(org), Ok(name)) = (email, org, name) else {
        return again(StatusCode::BAD_REQUEST, errors, intro);
    };
    let input = SignUp {
        email,
        organization_name: org,
        display_name: name,
        key,
    };
    match signup::request(&deps, &visit.source_ip, &f.link, input).await {
        Ok(sent) => error_page(
            &visit,
            StatusCode::OK,
            "Check your email",
            &format!(
                "{} Nothing is created until you open it. If no email arrives, check the address and sign up again.",
                sent.next
            ),
            vec![("/sign-in".into(), "Sign in".into())],
        ),
        Err(AppError::Invalid(why)) => again(
            StatusCode::BAD_REQUEST,
            Errors::one(Some("email"), sentence(&why)),
            intro,
        ),
        Err(e @ AppError::TooManyRequests { .. }) => fail(&visit, &deps.settings, e),
        Err(AppError::Conflict(why)) => again(StatusCode::CONFLICT, Errors::one(None, sentence(&why)), intro),
        Err(e) => refused(&visit, &deps, e),
    }
}

#[derive(Template)]
#[template(path = "finish_signup.html")]
struct FinishPage {
    chrome: Chrome,
    errors: Errors,
    token: String,
}

/// `GET /finish-signup?token=…`: the emailed link's page (looked at, not used).
pub async fn finish_page(State(deps): State<AppState>, visit: Visit, Query(q): Query<TokenQuery>) -> Response {
    if !link_token_shape(&q.token) {
        return link_refused(&visit, &deps.settings, AppError::LinkInvalid, false);
    }
    if let Err(e) = crate::ops::accounts::check_link(&deps, &q.token, crate::ops::accounts::LinkPage::Signup).await {
        return link_refused(&visit, &deps.settings, e, false);
    }
    page(
        StatusCode::OK,
        &FinishPage {
            chrome: Chrome::anonymous(&visit),
            errors: Errors::none(),
            token: q.token,
        },
    )
}

#[derive(Deserialize)]
pub struct FinishForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
    #[serde(default, rename = "password-again")]
    password_again: String,
}

/// `POST /finish-signup`: the organisation is created; sign in next.
pub async fn finish(State(deps): State<AppState>, visit: Visit, Form(f): Form<FinishForm>) -> Response {
    let again = |status, errors: Errors| {
        page(
            status,
            &FinishPage {
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
    let input = CompleteSignup {
        token: f.token.clone(),
        password: f.password.clone(),
    };
    match signup::complete(&deps, &visit.source_ip, input).await {
        Ok(done) if done.awaiting_approval => error_page(
            &visit,
            StatusCode::OK,
            &format!("{} is created", done.organization.name.as_str()),
            "The platform approves new organisations before anyone signs in: you will hear by email.",
            vec![],
        ),
        Ok(_) => Redirect::to("/sign-in?signed-up=1").into_response(),
        Err(AppError::Invalid(why)) => again(StatusCode::BAD_REQUEST, Errors::one(Some("password"), sentence(&why))),
        Err(AppError::Conflict(why)) => error_page(
            &visit,
            StatusCode::CONFLICT,
            "The organisation cannot be created",
            &sentence(&why),
            vec![],
        ),
        Err(e) => link_refused(&visit, &deps.settings, e, false),
    }
}

#[derive(Template)]
#[template(path = "help.html")]
struct HelpPage {
    chrome: Chrome,
    help_html: String,
}

/// `GET /help`: the managers' help text (seed 002 Step 6), for anyone signed in.
pub async fn help(State(deps): State<AppState>, SignedIn(visit, caller): SignedIn) -> Response {
    let (who, texts) = futures::join!(
        crate::ops::authenticate_full(&deps, &caller, []),
        crate::ops::partner_portal::texts(&deps)
    );
    let texts = match (who, texts) {
        (Ok(_), Ok(t)) => t,
        (Err(e), _) | (_, Err(e)) => return fail(&visit, &deps.settings, e),
    };
    page(
        StatusCode::OK,
        &HelpPage {
            chrome: Chrome::of(&visit),
            help_html: texts.help.html,
        },
    )
}

/// `POST /welcome`: the first-time dialog is read; it shows no more.
pub async fn welcomed(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    Form(_): Form<super::account::Empty>,
) -> Response {
    match crate::ops::partner_portal::welcomed(&deps, &caller).await {
        Ok(()) => Redirect::to("/customers").into_response(),
        Err(e) => fail(&visit, &deps.settings, e),
    }
}
