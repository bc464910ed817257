//! Getting people in, end to end over HTTP, on both backends: embedded
//! (SQLite, outbox, local identity) and AWS (DynamoDB Local, SES and Cognito
//! on moto). Split as `ops::accounts` is: invitations, users asked for and
//! added, links and passwords.

use portico_tests::TestApp;
use serde_json::Value;

/// Runs each named scenario (`name` or `name(flavor = ..)`) as a test on
/// each backend.
macro_rules! on_both_backends {
    ($($f:ident $(($($flavor:tt)*))?),* $(,)?) => {
        mod embedded_sqlite {
            $(
                #[tokio::test$(($($flavor)*))?]
                async fn $f() {
                    super::$f(portico_tests::Backend::Sqlite).await
                }
            )*
        }
        mod aws_on_emulators {
            $(
                #[tokio::test$(($($flavor)*))?]
                async fn $f() {
                    super::$f(portico_tests::Backend::Dynamo).await
                }
            )*
        }
    };
}

mod invitations;
mod links;
mod users;

pub async fn call(app: &TestApp, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> (u16, Value) {
    let mut req = app
        .http
        .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), app.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

pub async fn post(app: &TestApp, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
    call(app, "POST", path, token, Some(body)).await
}
