//! Routes only the local portal serves (never deployed): the outbox listing.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::get;

use crate::app::AppState;
use crate::error::AppError;
use crate::mail::outbox::OutboxMessage;

pub fn routes() -> Router<AppState> {
    Router::new().route("/_local/outbox", get(outbox))
}

/// The latest 50 emails the local portal "sent", newest first, with their links.
async fn outbox(State(deps): State<AppState>) -> Result<Json<Vec<OutboxMessage>>, AppError> {
    let outbox = deps.outbox.as_ref().ok_or(AppError::NoRoute)?;
    Ok(Json(outbox.latest(50)?))
}
