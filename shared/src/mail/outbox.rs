//! Local adapter: one `.eml` file per message in `<data>/outbox`, and a
//! listing of the latest messages with their links for the local portal.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use mail_builder::MessageBuilder;
use serde::Serialize;
use utoipa::ToSchema;

use super::{MailError, Mailbox, Mailer, OutgoingEmail, links};
use crate::clock::{Clock, IdGen};

pub struct Outbox {
    dir: PathBuf,
    from: Mailbox,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGen>,
}

/// One message as the local outbox listing shows it.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OutboxMessage {
    pub file: String,
    pub to: String,
    pub subject: String,
    pub links: Vec<String>,
    /// The plain-text body.
    pub text: String,
}

impl Outbox {
    pub fn new(dir: &Path, from: Mailbox, clock: Arc<dyn Clock>, ids: Arc<dyn IdGen>) -> Result<Self, MailError> {
        std::fs::create_dir_all(dir).map_err(|e| MailError::Unavailable(e.to_string()))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            from,
            clock,
            ids,
        })
    }

    /// The latest `limit` messages, newest first.
    pub fn latest(&self, limit: usize) -> Result<Vec<OutboxMessage>, MailError> {
        let mut names: Vec<String> = std::fs::read_dir(&self.dir)
            .map_err(|e| MailError::Unavailable(e.to_string()))?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".eml"))
            .collect();
        names.sort_unstable_by(|a, b| b.cmp(a));
        names.truncate(limit);
        names
            .into_iter()
            .map(|file| {
                let raw = std::fs::read(self.dir.join(&file)).map_err(|e| MailError::Unavailable(e.to_string()))?;
                let parsed = mail_parser::MessageParser::default()
                    .parse(&raw)
                    .ok_or_else(|| MailError::Unavailable(format!("{file} is not a readable message")))?;
                let to = parsed
                    .to()
                    .and_then(|a| a.first())
                    .and_then(|a| a.address())
                    .unwrap_or_default()
                    .to_string();
                let subject = parsed.subject().unwrap_or_default().to_string();
                let text = parsed.body_text(0).unwrap_or_default();
                Ok(OutboxMessage {
                    file,
                    to,
                    subject,
                    links: links(&text),
                    text: text.into_owned(),
                })
            })
            .collect()
    }
}

#[async_trait]
impl Mailer for Outbox {
    async fn send(&self, mail: &OutgoingEmail) -> Result<(), MailError> {
        let now = self.clock.now();
        let id = self.ids.new_id();
        let from =
            mail_builder::headers::address::Address::new_address(self.from.name.as_deref(), self.from.address.as_str());
        let bytes = MessageBuilder::new()
            .from(from)
            .to(mail.to.as_str())
            .subject(mail.subject.as_str())
            .text_body(mail.text.as_str())
            .html_body(mail.html.as_str())
            .write_to_vec()
            .map_err(|e| MailError::Rejected(e.to_string()))?;
        let name = format!("{}-{id}.eml", now.format("%Y%m%dT%H%M%S%3fZ"));
        tokio::fs::write(self.dir.join(&name), bytes)
            .await
            .map_err(|e| MailError::Unavailable(e.to_string()))?;
        tracing::info!(file = %name, "email written to the local outbox");
        Ok(())
    }
}
