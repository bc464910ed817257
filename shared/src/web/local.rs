//! Pages only the local portal has (never deployed): signing in as a demo
//! user with a click, and the outbox as a page with clickable links, so a
//! newcomer can go from an invitation to toggling a setting without curl.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;

use super::account::DemoUser;
use super::render::{Chrome, fail, page, redirect_as};
use super::visit::{Form, Visit, Visitor};
use crate::app::{AppState, Deps};
use crate::audit::{ActionType, Target};
use crate::domain::{User, UserId};
use crate::error::AppError;
use crate::mail::outbox::OutboxMessage;
use crate::store::keys;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/_local/mail", get(mail))
        .route("/_local/sign-in-as", post(sign_in_as))
}

/// The demo users, for the start page (2 reads: the seed's list, their records).
pub async fn demo_users(deps: &Deps) -> Result<Vec<DemoUser>, AppError> {
    let demo = crate::seed::demo(deps).await?;
    let keys: Vec<_> = demo.iter().map(|u| keys::user(u.id)).collect();
    let records = deps.table.get_many(&keys).await?;
    demo.into_iter()
        .zip(records)
        .map(|(u, record)| {
            let name = match record {
                Some(item) => item.decode::<User>()?.display_name,
                None => u.email.clone(),
            };
            Ok(DemoUser {
                id: u.id.to_string(),
                name,
                email: u.email,
                role: super::render::role_label(u.role),
            })
        })
        .collect()
}

#[derive(Deserialize)]
pub struct AsForm {
    user: String,
}

/// Opens a browser session for a demo user (they have no password): as a
/// sign-in would, with its event. Local portal on the embedded store only.
pub async fn sign_in_as(State(deps): State<AppState>, visit: Visit, Form(f): Form<AsForm>) -> Response {
    if !visit.local {
        return super::render::fail(&visit, &deps.settings, AppError::NotFound);
    }
    let demo = match crate::seed::demo(&deps).await {
        Ok(d) => d,
        Err(e) => return fail(&visit, &deps.settings, e),
    };
    let Some(d) = UserId::parse(&f.user)
        .ok()
        .and_then(|id| demo.into_iter().find(|u| u.id == id))
    else {
        return fail(&visit, &deps.settings, AppError::NotFound);
    };
    let user: User = match deps.table.get(&keys::user(d.id)).await {
        Ok(Some(item)) => match item.decode() {
            Ok(u) => u,
            Err(e) => return fail(&visit, &deps.settings, e.into()),
        },
        Ok(None) => return fail(&visit, &deps.settings, AppError::NotFound),
        Err(e) => return fail(&visit, &deps.settings, e.into()),
    };
    let visitor = Visitor::signed_in(user.id, user.org_id, user.org_kind);
    let opened = match crate::sessions::open_browser(&user, visitor.id(), deps.clock.now()) {
        Ok(w) => w,
        Err(e) => return fail(&visit, &deps.settings, e.into()),
    };
    let actor = crate::ops::session::actor_of(&user, &visit.source_ip);
    let change = crate::ops::Change::new(
        &deps,
        &actor,
        user.org_id,
        ActionType::SignIn,
        Target {
            kind: "user".into(),
            id: user.id.to_string(),
        },
        format!("{} signed in (local portal demo user)", user.email),
    )
    .write(opened);
    if let Err(e) = change.commit(&deps).await {
        return fail(&visit, &deps.settings, e.into());
    }
    redirect_as("/", &visitor, &deps.settings)
}

#[derive(Template)]
#[template(path = "local_mail.html")]
struct MailPage {
    chrome: Chrome,
    messages: Vec<OutboxMessage>,
}

/// The latest 50 emails, newest first, with their links.
pub async fn mail(State(deps): State<AppState>, visit: Visit) -> Response {
    let Some(outbox) = deps.outbox.as_ref() else {
        return super::render::fail(&visit, &deps.settings, AppError::NotFound);
    };
    match outbox.latest(50) {
        Ok(messages) => page(
            StatusCode::OK,
            &MailPage {
                chrome: Chrome::anonymous(&visit),
                messages,
            },
        ),
        Err(e) => fail(&visit, &deps.settings, e.into()),
    }
}
