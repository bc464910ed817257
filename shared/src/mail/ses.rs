//! SES adapter: SendEmail with a text and an HTML part.

use async_trait::async_trait;
use aws_sdk_ses::Client;
use aws_sdk_ses::types::{Body, Content, Destination, Message};

use super::{MailError, Mailbox, Mailer, OutgoingEmail};

pub struct SesMailer {
    client: Client,
    /// `Source`: the sender as a header value (`"Portico" <no-reply@...>`).
    source: String,
}

impl SesMailer {
    pub fn new(client: Client, from: &Mailbox) -> Self {
        Self {
            client,
            source: from.header_value(),
        }
    }
}

fn content(s: &str) -> Result<Content, MailError> {
    Content::builder()
        .data(s)
        .charset("UTF-8")
        .build()
        .map_err(|e| MailError::Rejected(e.to_string()))
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, mail: &OutgoingEmail) -> Result<(), MailError> {
        let message = Message::builder()
            .subject(content(&mail.subject)?)
            .body(
                Body::builder()
                    .text(content(&mail.text)?)
                    .html(content(&mail.html)?)
                    .build(),
            )
            .build();
        self.client
            .send_email()
            .source(&self.source)
            .destination(Destination::builder().to_addresses(mail.to.as_str()).build())
            .message(message)
            .send()
            .await
            .map_err(|e| match e.into_service_error() {
                aws_sdk_ses::operation::send_email::SendEmailError::MessageRejected(r) => {
                    MailError::Rejected(r.to_string())
                }
                other => MailError::Unavailable(other.to_string()),
            })?;
        tracing::info!(
            to_domain = mail.to.as_str().rsplit('@').next().unwrap_or(""),
            "email sent via SES"
        );
        Ok(())
    }
}
