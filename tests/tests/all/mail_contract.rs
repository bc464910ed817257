//! The `Mailer` port's contract: the same cases on the local outbox and on
//! SES (against moto's server, whose sent mail is read back from
//! `/moto-api/data.json`).

use std::sync::Arc;

use portico_core::clock::{RandomIds, SystemClock};
use portico_core::domain::EmailAddress;
use portico_core::mail::outbox::Outbox;
use portico_core::mail::ses::SesMailer;
use portico_core::mail::{Mailer, OutgoingEmail};
use portico_tests::{moto_endpoint, sdk_config, unique_name};

/// What a reader found for one recipient: (subject, text with the links).
type Found = Vec<(String, String)>;

const FROM: &str = "no-reply@portico.example.com";

fn mail(to: &str, link: &str) -> OutgoingEmail {
    OutgoingEmail {
        to: EmailAddress::parse(to).unwrap(),
        subject: "Set up your Portico password".into(),
        text: format!("Hello,\n\nOpen {link} within 60 minutes to set your password.\n"),
        html: format!("<p>Hello,</p><p><a href=\"{link}\">Set your password</a> within 60 minutes.</p>"),
    }
}

async fn outbox() -> (
    Arc<dyn Mailer>,
    Box<dyn Fn(String) -> futures::future::BoxFuture<'static, Found>>,
    tempfile::TempDir,
) {
    let dir = tempfile::tempdir().unwrap();
    let ob = Arc::new(
        Outbox::new(
            dir.path(),
            format!("Portico <{FROM}>"),
            Arc::new(SystemClock),
            Arc::new(RandomIds),
        )
        .unwrap(),
    );
    let reader = ob.clone();
    let read = Box::new(move |to: String| {
        let reader = reader.clone();
        Box::pin(async move {
            reader
                .latest(50)
                .unwrap()
                .into_iter()
                .filter(|m| m.to == to)
                .map(|m| (m.subject, m.links.join(" ")))
                .collect()
        }) as futures::future::BoxFuture<'static, Found>
    });
    (ob, read, dir)
}

async fn ses() -> (
    Arc<dyn Mailer>,
    Box<dyn Fn(String) -> futures::future::BoxFuture<'static, Found>>,
    (),
) {
    let endpoint = moto_endpoint();
    let client = aws_sdk_ses::Client::new(&sdk_config(&endpoint).await);
    client
        .verify_email_identity()
        .email_address(FROM)
        .send()
        .await
        .expect("verify sender on moto");
    let read = Box::new(move |to: String| {
        Box::pin(async move { portico_tests::moto_mail_to(&to).await }) as futures::future::BoxFuture<'static, Found>
    });
    (Arc::new(SesMailer::new(client, FROM)), read, ())
}

macro_rules! contract {
    ($name:ident, $make:expr) => {
        mod $name {
            use super::*;

            #[tokio::test]
            async fn sends_text_and_html_with_the_link_to_the_recipient_only() {
                let (mailer, read, _keep) = $make.await;
                let to = format!("{}@customer.example.com", unique_name("ann"));
                let other = format!("{}@customer.example.com", unique_name("bob"));
                let link = format!("https://portal.example.com/setup?token={}", unique_name("t"));
                mailer.send(&mail(&to, &link)).await.expect("send");
                let found = read(to.clone()).await;
                assert_eq!(found.len(), 1, "exactly one message for {to}: {found:?}");
                assert_eq!(found[0].0, "Set up your Portico password");
                assert!(found[0].1.contains(&link), "the link arrives intact: {found:?}");
                assert!(read(other).await.is_empty(), "nothing for anyone else");
            }

            #[tokio::test]
            async fn each_message_is_delivered_once() {
                let (mailer, read, _keep) = $make.await;
                let to = format!("{}@customer.example.com", unique_name("cy"));
                for i in 0..3 {
                    mailer
                        .send(&mail(&to, &format!("https://portal.example.com/l/{i}")))
                        .await
                        .expect("send");
                }
                assert_eq!(read(to).await.len(), 3);
            }
        }
    };
}

contract!(local_outbox, outbox());
contract!(ses_on_moto, ses());

/// The local portal lists what the outbox holds, newest first, with links.
#[tokio::test]
async fn the_local_portal_lists_the_outbox_with_links() {
    let app = portico_tests::TestApp::spawn(portico_tests::Backend::Sqlite).await;
    let to = format!("{}@customer.example.com", unique_name("dee"));
    for i in 0..2 {
        app.deps
            .mailer
            .send(&mail(&to, &format!("https://portal.example.com/setup?token=t{i}")))
            .await
            .unwrap();
        // File names carry milliseconds: keep the two apart.
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let listed: serde_json::Value = app
        .http
        .get(app.url("/_local/outbox"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["to"], to.as_str());
    assert_eq!(listed[0]["subject"], "Set up your Portico password");
    assert_eq!(
        listed[0]["links"],
        serde_json::json!(["https://portal.example.com/setup?token=t1"]),
        "newest first"
    );
    assert_eq!(
        listed[1]["links"],
        serde_json::json!(["https://portal.example.com/setup?token=t0"])
    );
}
