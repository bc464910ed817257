//! The LogMeIn signing keys for platform admins (issue 14): which keys are
//! published and which signs, and the rotation's next step (stage, then
//! activate after 24 hours, then unpublish the old key after 24 more) with
//! when it is due. The steps themselves are the instance-access API's: the
//! web function may sign with a key but never makes or destroys one.

use super::render::{Chrome, fail, page};
use super::visit::SignedIn;
use crate::app::AppState;
use crate::login_keys::KeyState;
use crate::ops::login_keys::{self, LoginKeys};
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;

struct KeyRow {
    kid: String,
    state: &'static str,
    published: String,
    signing: String,
    /// The API call that takes this key a step on, if it is due now.
    step: Option<String>,
    /// When its next step becomes possible, if not yet.
    wait: String,
}

#[derive(Template)]
#[template(path = "login_keys.html")]
struct KeysPage {
    chrome: Chrome,
    rows: Vec<KeyRow>,
    overlap_hours: i64,
    may_stage: bool,
    jwks: &'static str,
}

fn rows(k: &LoginKeys, now: chrono::DateTime<Utc>) -> Vec<KeyRow> {
    let t = |at: chrono::DateTime<Utc>| at.format("%-d %b %Y %H:%M UTC").to_string();
    k.keys
        .iter()
        .map(|key| {
            let due = key.next_step_from.is_none_or(|from| from <= now);
            let step = match key.state {
                KeyState::Next if due => Some(format!("POST /login-keys/{}/activate", key.kid)),
                KeyState::Previous if due => Some(format!("DELETE /login-keys/{}", key.kid)),
                _ => None,
            };
            KeyRow {
                kid: key.kid.clone(),
                state: match key.state {
                    KeyState::Next => "Next: published, not signing yet",
                    KeyState::Current => "Current: signs every LogMeIn",
                    KeyState::Previous => "Previous: retired, still published",
                },
                published: t(key.published_at),
                signing: match (key.signing_since, key.retired_at) {
                    (Some(s), Some(r)) => format!("{} to {}", t(s), t(r)),
                    (Some(s), None) => format!("since {}", t(s)),
                    _ => "not yet".into(),
                },
                wait: match key.next_step_from {
                    Some(from) if from > now => match key.state {
                        KeyState::Next => format!("May start signing from {}", t(from)),
                        _ => format!("May stop being published from {}", t(from)),
                    },
                    _ => String::new(),
                },
                step,
            }
        })
        .collect()
}

/// `GET /admin/login-keys`: the rotation status.
pub async fn keys_page(State(deps): State<AppState>, SignedIn(visit, caller): SignedIn) -> Response {
    match login_keys::status(&deps, &caller).await {
        Ok(k) => page(
            StatusCode::OK,
            &KeysPage {
                chrome: Chrome::of(&visit),
                may_stage: !k.keys.iter().any(|key| key.state == KeyState::Next),
                rows: rows(&k, deps.clock.now()),
                overlap_hours: k.overlap_hours,
                jwks: crate::login_keys::JWKS_PATH,
            },
        ),
        Err(e) => fail(&visit, &deps.settings, e),
    }
}
