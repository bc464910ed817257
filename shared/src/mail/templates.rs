//! The emails Portico sends: text and HTML, the product name, and when a
//! link expires stated in the email itself.

use chrono::{DateTime, Utc};

use super::OutgoingEmail;
use crate::app::Settings;
use crate::domain::EmailAddress;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn when(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn build(
    to: &EmailAddress,
    subject: String,
    lines: &[String],
    link: Option<(&str, &str)>,
    settings: &Settings,
) -> OutgoingEmail {
    let mut text = lines.join("\n\n");
    let mut html: String = lines.iter().map(|l| format!("<p>{}</p>", escape(l))).collect();
    if let Some((label, url)) = link {
        text.push_str(&format!("\n\n{label}: {url}\n"));
        html.push_str(&format!("<p><a href=\"{}\">{}</a></p>", escape(url), escape(label)));
    }
    text.push_str(&format!("\n-- \n{}\n", settings.product_name));
    html.push_str(&format!("<p>&mdash; {}</p>", escape(&settings.product_name)));
    OutgoingEmail {
        to: to.clone(),
        subject,
        text,
        html: format!("<!doctype html><html><body>{html}</body></html>"),
    }
}

fn url(settings: &Settings, path: &str, token: &str) -> String {
    format!("{}{path}?token={token}", settings.public_url)
}

pub fn partner_invitation(
    to: &EmailAddress,
    org: &str,
    token: &str,
    expires: DateTime<Utc>,
    s: &Settings,
) -> OutgoingEmail {
    build(
        to,
        format!("You are invited to manage {org} in {}", s.product_name),
        &[
            format!(
                "You have been invited to {} as the Partner Manager of {org}.",
                s.product_name
            ),
            format!(
                "Open the link below to set your password. It expires at {} and works once.",
                when(expires)
            ),
            "After your password you will set up an authenticator app (MFA).".into(),
        ],
        Some(("Set your password", &url(s, "/setup-password", token))),
        s,
    )
}

pub fn password_setup(to: &EmailAddress, token: &str, expires: DateTime<Utc>, s: &Settings) -> OutgoingEmail {
    build(
        to,
        format!("Set up your {} password", s.product_name),
        &[
            format!("Use the link below to set your {} password.", s.product_name),
            format!("It is valid for 60 minutes, until {}, and works once.", when(expires)),
            "If you did not ask for this, you can ignore this email.".into(),
        ],
        Some(("Set your password", &url(s, "/setup-password", token))),
        s,
    )
}

pub fn customer_invitation(
    to: &EmailAddress,
    partner: &str,
    token: &str,
    expires: DateTime<Utc>,
    s: &Settings,
) -> OutgoingEmail {
    build(
        to,
        format!("{partner} invites you to {}", s.product_name),
        &[
            format!(
                "{partner} invites you to create your organisation in {}.",
                s.product_name
            ),
            format!("{partner} will be your partner of record and can support your instance."),
            format!("The link below expires at {} and works once.", when(expires)),
        ],
        Some(("Create your organisation", &url(s, "/accept-invitation", token))),
        s,
    )
}

pub fn email_confirmation(to: &EmailAddress, token: &str, expires: DateTime<Utc>, s: &Settings) -> OutgoingEmail {
    build(
        to,
        format!("Confirm your email address for {}", s.product_name),
        &[
            format!(
                "{} asks partner users to confirm their email address every 24 hours.",
                s.product_name
            ),
            format!(
                "Open the link below before {} to confirm it and carry on.",
                when(expires)
            ),
        ],
        Some(("Confirm my email address", &url(s, "/confirm-email", token))),
        s,
    )
}

/// Notices about the account itself (no link).
pub fn notice(to: &EmailAddress, subject: &str, what: &str, s: &Settings) -> OutgoingEmail {
    build(
        to,
        format!("{}: {subject}", s.product_name),
        &[
            what.to_string(),
            "If this was not you, contact your administrator at once.".into(),
        ],
        None,
        s,
    )
}

/// A connection to a customer instance broke or stopped answering: to the
/// partner's managers and the platform's admins, once per change.
pub fn connection_notice(to: &EmailAddress, subject: &str, what: &str, next: &str, s: &Settings) -> OutgoingEmail {
    build(
        to,
        format!("{}: {subject}", s.product_name),
        &[format!("{what}."), next.to_string()],
        Some((
            "See your customers' connections",
            &format!("{}/customers", s.public_url),
        )),
        s,
    )
}

/// About partner access to a customer's instances (a request to answer, an
/// answer, a partner's sign-in, a day's sign-ins): `lines` say what, the
/// link where to see it.
pub fn access_notice(
    to: &EmailAddress,
    subject: &str,
    lines: &[String],
    link: (&str, &str),
    s: &Settings,
) -> OutgoingEmail {
    let url = format!("{}{}", s.public_url, link.1);
    build(
        to,
        format!("{}: {subject}", s.product_name),
        lines,
        Some((link.0, &url)),
        s,
    )
}

/// A self-registration's link: nothing exists until it is used.
pub fn signup(to: &EmailAddress, org: &str, token: &str, expires: DateTime<Utc>, s: &Settings) -> OutgoingEmail {
    build(
        to,
        format!("Finish creating {org} in {}", s.product_name),
        &[
            format!(
                "Someone (we hope you) asked to create the partner organisation {org} in {} with this address.",
                s.product_name
            ),
            format!(
                "Open the link below to set your password; the organisation is created then. It is valid for 60 minutes, until {}, and works once.",
                when(expires)
            ),
            "If you did not ask for this, ignore this email: nothing was created.".into(),
        ],
        Some(("Finish signing up", &url(s, "/finish-signup", token))),
        s,
    )
}
