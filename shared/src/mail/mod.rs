//! The `Mailer` port: SES in AWS ([`ses::SesMailer`]), an outbox folder of
//! `.eml` files locally ([`outbox::Outbox`]).

pub mod outbox;
pub mod ses;
pub mod templates;

use async_trait::async_trait;
use serde::Serialize;

use crate::domain::EmailAddress;

#[derive(Debug, Clone, Serialize)]
pub struct OutgoingEmail {
    pub to: EmailAddress,
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("mail rejected: {0}")]
    Rejected(String),
    #[error("mail service unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, mail: &OutgoingEmail) -> Result<(), MailError>;
}

/// The http(s) links in a text, in order (for the local outbox listing).
pub fn links(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '\''))
        .filter(|w| w.starts_with("https://") || w.starts_with("http://"))
        .map(|w| w.trim_end_matches(['.', ',', ')', ';']).to_string())
        .collect()
}
