//! The web pages over plain HTTP, as a browser would send them (one cookie,
//! the CSRF token of the last page, `Sec-Fetch-Site: same-origin`), for the
//! tests that need no real browser: refusals, headers, budgets, IAM.

use std::sync::Mutex;

use portico_core::domain::Role;
use portico_core::web::visit::Visitor;
use reqwest::header::HeaderMap;

use crate::TestApp;

pub struct Page {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> Option<&str> {
        self.headers.get("location").and_then(|v| v.to_str().ok())
    }
    /// The first `name="_csrf" value="..."` on the page.
    pub fn csrf(&self) -> Option<String> {
        input_value(&self.body, "_csrf")
    }
}

/// The value of the first input named `name` in `html`.
pub fn input_value(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\" value=\""))?;
    let rest = &html[at + name.len() + 15..];
    Some(rest[..rest.find('"')?].to_string())
}

pub struct WebClient {
    pub base: String,
    http: reqwest::Client,
    pub cookie: Mutex<Option<String>>,
    csrf: Mutex<Option<String>>,
    cookie_name: &'static str,
}

impl WebClient {
    pub fn new(app: &TestApp) -> Self {
        portico_core::outbound::install_tls_provider();
        Self {
            base: app.base.clone(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .default_headers(reqwest::header::HeaderMap::from_iter([(
                    reqwest::header::ACCEPT,
                    reqwest::header::HeaderValue::from_static("text/html,application/xhtml+xml,*/*;q=0.8"),
                )]))
                .build()
                .expect("client"),
            cookie: Mutex::new(None),
            csrf: Mutex::new(None),
            cookie_name: portico_core::web::visit::cookie_name(&app.deps.settings),
        }
    }

    /// A client already signed in as `role`'s demo user: a browser session
    /// opened in the table as a sign-in would (no identity involved).
    pub async fn signed_in(app: &TestApp, role: Role) -> Self {
        let c = Self::new(app);
        let user_id = app.users[&role];
        let user: portico_core::domain::User = app
            .deps
            .table
            .get(&portico_core::store::keys::user(user_id))
            .await
            .expect("read user")
            .expect("demo user")
            .decode()
            .expect("decode user");
        let visitor = Visitor::signed_in(user.id, user.org_id, user.org_kind);
        let open = portico_core::sessions::open_browser(&user, visitor.id(), app.deps.clock.now()).expect("session");
        app.deps.table.transact(vec![open]).await.expect("open session");
        *c.cookie.lock().unwrap() = Some(visitor.encode());
        *c.csrf.lock().unwrap() = Some(visitor.csrf());
        c
    }

    fn keep(&self, headers: &HeaderMap) {
        for v in headers.get_all("set-cookie") {
            let v = v.to_str().unwrap_or_default();
            let Some((name, rest)) = v.split_once('=') else {
                continue;
            };
            if name == self.cookie_name {
                let value = rest.split(';').next().unwrap_or_default().to_string();
                if let Some(visitor) = Visitor::decode(&value) {
                    *self.csrf.lock().unwrap() = Some(visitor.csrf());
                }
                *self.cookie.lock().unwrap() = Some(value);
            }
        }
    }

    fn cookie_header(&self) -> Option<String> {
        let value = self.cookie.lock().unwrap().clone()?;
        Some(format!("{}={value}", self.cookie_name))
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Page {
        let req = match self.cookie_header() {
            Some(c) => req.header("cookie", c),
            None => req,
        };
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        self.keep(&headers);
        let body = resp.text().await.expect("body");
        Page { status, headers, body }
    }

    pub async fn get(&self, path: &str) -> Page {
        let page = self.send(self.http.get(format!("{}{path}", self.base))).await;
        if let Some(t) = page.csrf() {
            *self.csrf.lock().unwrap() = Some(t);
        }
        page
    }

    /// Posts a form as Portico's own page would (its CSRF token, same origin).
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = self.csrf.lock().unwrap().clone().unwrap_or_default();
        let mut form: Vec<(&str, &str)> = vec![("_csrf", csrf.as_str())];
        form.extend_from_slice(fields);
        self.post_with(path, &form, &[("sec-fetch-site", "same-origin")]).await
    }

    /// Posts exactly `fields` with exactly `headers` (for refusals).
    pub async fn post_with(&self, path: &str, fields: &[(&str, &str)], headers: &[(&str, &str)]) -> Page {
        let mut req = self.http.post(format!("{}{path}", self.base)).form(fields);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(req).await
    }

    /// The anti-CSRF token the client's cookie gives.
    pub fn csrf(&self) -> String {
        self.csrf.lock().unwrap().clone().unwrap_or_default()
    }

    /// Signs in through the pages (password, then the code `code` gives).
    pub async fn sign_in(&self, email: &str, password: &str, code: impl Fn() -> String) -> Page {
        self.get("/sign-in").await;
        let step = self.post("/sign-in", &[("email", email), ("password", password)]).await;
        assert_eq!(step.status, 303, "sign-in: {}", step.body);
        assert_eq!(step.location(), Some("/sign-in/code"));
        self.get("/sign-in/code").await;
        let done = self.post("/sign-in/code", &[("code", &code())]).await;
        assert_eq!(done.status, 303, "code: {}", done.body);
        assert_eq!(done.location(), Some("/"));
        done
    }
}
