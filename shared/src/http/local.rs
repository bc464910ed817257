//! Routes only the local portal serves (never deployed): the outbox listing.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::get;

use crate::app::AppState;
use crate::error::AppError;
use crate::mail::outbox::OutboxMessage;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/_local/outbox", get(outbox))
        .route("/_local/totp", get(totp))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TotpQuery {
    secret: String,
}

/// The current code for an authenticator secret, so a walk-through with curl
/// needs no phone. Local portal only.
async fn totp(axum::extract::Query(q): axum::extract::Query<TotpQuery>) -> Result<Json<serde_json::Value>, AppError> {
    let code = crate::identity::local::LocalIdentity::code_at(&q.secret, chrono::Utc::now())
        .map_err(|_| AppError::invalid("secret is not a base32 TOTP secret of at least 128 bits"))?;
    Ok(Json(serde_json::json!({ "code": code })))
}

/// The latest 50 emails the local portal "sent", newest first, with their links.
async fn outbox(State(deps): State<AppState>) -> Result<Json<Vec<OutboxMessage>>, AppError> {
    let outbox = deps.outbox.as_ref().ok_or(AppError::NoRoute)?;
    Ok(Json(outbox.latest(50)?))
}
