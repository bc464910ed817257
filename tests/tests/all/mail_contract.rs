//! The `Mailer` port's contract: the same cases on the local outbox and on
//! SES (against moto's server, whose sent mail is read back from
//! `/moto-api/data.json`).

use std::sync::Arc;

use portico_core::clock::{RandomIds, SystemClock};
use portico_core::domain::EmailAddress;
use portico_core::mail::outbox::Outbox;
use portico_core::mail::ses::SesMailer;
use portico_core::mail::{Mailbox, Mailer, OutgoingEmail};
use portico_tests::{moto_endpoint, sdk_config, unique_name};

/// What a reader found for one recipient: (subject, text with the links).
type Found = Vec<(String, String)>;

/// The sender (display name, address) and recipients of each message to
/// one recipient, as a real parser (mail-parser) reads the headers.
type Headers = Vec<((Option<String>, String), Vec<String>)>;
type ReadHeaders = Box<dyn Fn(String) -> futures::future::BoxFuture<'static, Headers>>;

const FROM: &str = "no-reply@portico.example.com";

fn mail(to: &str, link: &str) -> OutgoingEmail {
    OutgoingEmail {
        to: EmailAddress::parse(to).unwrap(),
        subject: "Set up your Portico password".into(),
        text: format!("Hello,\n\nOpen {link} within 60 minutes to set your password.\n"),
        html: format!("<p>Hello,</p><p><a href=\"{link}\">Set your password</a> within 60 minutes.</p>"),
    }
}

fn sender() -> Mailbox {
    Mailbox::parse(&format!("Portico <{FROM}>")).unwrap()
}

async fn outbox() -> (
    Arc<dyn Mailer>,
    Box<dyn Fn(String) -> futures::future::BoxFuture<'static, Found>>,
    ReadHeaders,
    tempfile::TempDir,
) {
    let dir = tempfile::tempdir().unwrap();
    let ob = Arc::new(Outbox::new(dir.path(), sender(), Arc::new(SystemClock), Arc::new(RandomIds)).unwrap());
    let path = dir.path().to_path_buf();
    let headers = Box::new(move |to: String| {
        let path = path.clone();
        Box::pin(async move {
            let mut out = Vec::new();
            for entry in std::fs::read_dir(&path).unwrap() {
                let raw = std::fs::read(entry.unwrap().path()).unwrap();
                let m = mail_parser::MessageParser::default().parse(&raw).unwrap();
                let addr = |a: &mail_parser::Addr| a.address().unwrap_or_default().to_string();
                let tos: Vec<String> = m.to().map(|t| t.iter().map(addr).collect()).unwrap_or_default();
                if tos.contains(&to) {
                    let from = m.from().and_then(|f| f.first()).unwrap();
                    out.push(((from.name().map(str::to_string), addr(from)), tos));
                }
            }
            out
        }) as futures::future::BoxFuture<'static, Headers>
    });
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
    (ob, read, headers, dir)
}

async fn ses() -> (
    Arc<dyn Mailer>,
    Box<dyn Fn(String) -> futures::future::BoxFuture<'static, Found>>,
    ReadHeaders,
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
    // moto keeps each message's Source and destinations as SES received them.
    let headers = Box::new(move |to: String| {
        Box::pin(async move {
            let data = portico_tests::moto_data().await;
            let mut out = Vec::new();
            let mut stack = vec![data["ses"].clone()];
            while let Some(v) = stack.pop() {
                match v {
                    serde_json::Value::Object(m) if m.contains_key("source") && m.contains_key("destinations") => {
                        let tos: Vec<String> = m["destinations"]["ToAddresses"]
                            .as_array()
                            .map(|a| a.iter().map(|t| t.as_str().unwrap().to_string()).collect())
                            .unwrap_or_default();
                        if tos.contains(&to) {
                            let source = m["source"].as_str().unwrap();
                            let line = format!("{source}\n");
                            let parsed = mail_parser::parsers::MessageStream::new(line.as_bytes()).parse_address();
                            let from = parsed.as_address().and_then(|a| a.first()).unwrap();
                            out.push((
                                (
                                    from.name().map(str::to_string),
                                    from.address().unwrap_or_default().to_string(),
                                ),
                                tos,
                            ));
                        }
                    }
                    serde_json::Value::Object(m) => stack.extend(m.into_iter().map(|(_, v)| v)),
                    serde_json::Value::Array(a) => stack.extend(a),
                    _ => {}
                }
            }
            out
        }) as futures::future::BoxFuture<'static, Headers>
    });
    (Arc::new(SesMailer::new(client, &sender())), read, headers, ())
}

macro_rules! contract {
    ($name:ident, $make:expr) => {
        mod $name {
            use super::*;

            #[tokio::test]
            async fn sends_text_and_html_with_the_link_to_the_recipient_only() {
                let (mailer, read, _headers, _keep) = $make.await;
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

            /// The review saw `From: <Portico <no-reply@...>>`, which
            /// parsers read as the address "Portico"; and raw UTF-8 domains in `To:`.
            #[tokio::test]
            async fn the_sender_is_a_named_mailbox_and_idn_domains_are_punycode() {
                let (mailer, _read, headers, _keep) = $make.await;
                let to = EmailAddress::parse(&format!("{}@Bücher.Example", unique_name("eve"))).unwrap();
                assert!(to.as_str().ends_with("@xn--bcher-kva.example"), "{to}");
                mailer
                    .send(&mail(to.as_str(), "https://portal.example.com/x"))
                    .await
                    .expect("send");
                let found = headers(to.to_string()).await;
                assert_eq!(
                    found,
                    vec![(
                        (Some("Portico".to_string()), FROM.to_string()),
                        vec![to.to_string()]
                    )]
                );
            }

            #[tokio::test]
            async fn each_message_is_delivered_once() {
                let (mailer, read, _headers, _keep) = $make.await;
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
