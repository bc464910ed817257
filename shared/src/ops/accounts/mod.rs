//! Getting people in. Every change commits with its event; the emails go
//! out after the commit.
//! - [`invitations`]: the platform invites a partner's first Partner
//!   Manager, a partner invites a customer; listing, revoking, resending.
//! - [`users`]: a partner asks for a user and the platform decides; the
//!   platform adds a user directly.
//! - [`links`]: redeeming the emailed links (invitation, password setup and
//!   reset, a customer's acceptance, email confirmation).

mod invitations;
mod links;
mod users;

pub use invitations::*;
pub use links::*;
pub use users::*;

use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

use crate::app::Deps;
use crate::audit::Target;
use crate::domain::EmailAddress;
use crate::error::AppError;
use crate::mail::OutgoingEmail;
use crate::store::Cursor;

/// Sends an email after its change committed. A failed send is logged and
/// reported to the caller as `emailed: false` (the change stands; resend exists).
pub(crate) async fn send(deps: &Deps, mail: OutgoingEmail) -> bool {
    match deps.mailer.send(&mail).await {
        Ok(()) => true,
        Err(e) => {
            tracing::error!(error = %e, "email not sent");
            false
        }
    }
}

pub(super) fn target(kind: &str, id: impl ToString) -> Target {
    Target {
        kind: kind.into(),
        id: id.to_string(),
    }
}

pub(super) fn json(v: &impl Serialize) -> Result<serde_json::Value, AppError> {
    serde_json::to_value(v).map_err(|e| AppError::Internal(e.to_string()))
}

pub(super) fn email_taken(email: &EmailAddress) -> AppError {
    AppError::Conflict(format!("A user with the email address {email} exists already."))
}

/// Query of the listings.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size, 1 to 100 (default 50).
    pub limit: Option<u32>,
    /// `nextCursor` from the previous page.
    pub cursor: Option<String>,
}

impl PageQuery {
    pub(crate) fn parts(&self) -> Result<(u32, Option<Cursor>), AppError> {
        let limit = self.limit.unwrap_or(50);
        if !(1..=100).contains(&limit) {
            return Err(AppError::invalid("limit must be between 1 and 100"));
        }
        Ok((limit, self.cursor.as_deref().map(Cursor::parse).transpose()?))
    }
}
