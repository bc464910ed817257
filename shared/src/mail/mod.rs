//! The `Mailer` port: SES in AWS ([`ses::SesMailer`]), an outbox folder of
//! `.eml` files locally ([`outbox::Outbox`]).

#[cfg(feature = "local")]
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

/// A sender: an address with an optional display name, parsed once from
/// `PORTICO_MAIL_FROM` (`Portico <no-reply@portico.example.com>` or a bare
/// address) by a real RFC 5322 parser (mail-parser).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    pub name: Option<String>,
    pub address: EmailAddress,
}

impl Mailbox {
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.chars().any(char::is_control) {
            return Err("a sender may not contain control characters".into());
        }
        let line = format!("{}\n", raw.trim());
        let parsed = mail_parser::parsers::MessageStream::new(line.as_bytes()).parse_address();
        let one = parsed
            .as_address()
            .and_then(|a| a.as_list())
            .filter(|l| l.len() == 1)
            .map(|l| &l[0])
            .ok_or_else(|| format!("{raw:?} is not one mailbox such as \"Portico <no-reply@example.com>\""))?;
        let address = one
            .address()
            .ok_or_else(|| format!("{raw:?} has no address"))
            .and_then(|a| EmailAddress::parse(a).map_err(|e| format!("{raw:?}: {e}")))?;
        let name = one.name().map(str::trim).filter(|n| !n.is_empty()).map(str::to_string);
        Ok(Self { name, address })
    }

    /// The mailbox as a header value (SES's `Source`): the name quoted, or
    /// RFC 2047-encoded when it is not ASCII.
    pub fn header_value(&self) -> String {
        use base64::Engine;
        match &self.name {
            None => self.address.to_string(),
            Some(n) if n.is_ascii() => {
                let quoted = n.replace('\\', "\\\\").replace('"', "\\\"");
                format!("\"{quoted}\" <{}>", self.address)
            }
            Some(n) => format!(
                "=?UTF-8?B?{}?= <{}>",
                base64::engine::general_purpose::STANDARD.encode(n.as_bytes()),
                self.address
            ),
        }
    }
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

/// The mailer of a function built without one ([`crate::app::Using`]):
/// every mail is refused, and counted (see [`crate::identity::NotLinked`]).
#[derive(Default)]
pub struct NotLinked {
    pub calls: std::sync::atomic::AtomicUsize,
}

#[async_trait]
impl Mailer for NotLinked {
    async fn send(&self, _: &OutgoingEmail) -> Result<(), MailError> {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Err(MailError::Unavailable("this function is built without a mailer".into()))
    }
}

/// The http(s) links in a text, in order (for the local outbox listing).
pub fn links(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '\''))
        .filter(|w| w.starts_with("https://") || w.starts_with("http://"))
        .map(|w| w.trim_end_matches(['.', ',', ')', ';']).to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::Mailbox;

    #[test]
    fn senders_parse_as_one_mailbox() {
        let m = Mailbox::parse("Portico <no-reply@portico.example.com>").unwrap();
        assert_eq!(m.name.as_deref(), Some("Portico"));
        assert_eq!(m.address.as_str(), "no-reply@portico.example.com");
        assert_eq!(m.header_value(), "\"Portico\" <no-reply@portico.example.com>");
        let bare = Mailbox::parse("no-reply@portico.example.com").unwrap();
        assert_eq!(
            (bare.name.clone(), bare.header_value()),
            (None, "no-reply@portico.example.com".into())
        );
        let quoted = Mailbox::parse("\"Ops, \\\"Team\\\"\" <ops@example.com>").unwrap();
        assert_eq!(quoted.name.as_deref(), Some("Ops, \"Team\""));
        assert_eq!(quoted.header_value(), "\"Ops, \\\"Team\\\"\" <ops@example.com>");
        let utf8 = Mailbox::parse("Pórtico <a@example.com>").unwrap();
        assert_eq!(utf8.header_value(), "=?UTF-8?B?UMOzcnRpY28=?= <a@example.com>");
        for bad in [
            "",
            "Portico",
            "a@example.com, b@example.com",
            "Portico <a@example.com>\r\nBcc: x@example.com",
        ] {
            assert!(Mailbox::parse(bad).is_err(), "{bad:?}");
        }
    }
}
