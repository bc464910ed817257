//! A real browser for the journeys: Debian's Chromium, headless, driven
//! over WebDriver (chromedriver) with `fantoccini`. `scripts/test` installs
//! `chromium`, `chromium-driver` and the npm package `axe-core` when
//! missing; a test that needs them and finds them missing fails, saying so.
//!
//! Each [`Browser`] starts its own chromedriver (in its own process group,
//! killed with everything it started when the browser is dropped). One
//! journey drives a browser at a time ([`Browser::start`] takes a lock), so
//! two Chromiums do not share the machine's two cores with the other tests.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn env_or(name: &str, default: &str) -> PathBuf {
    std::env::var_os(name)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default))
}

fn required(path: PathBuf, what: &str) -> PathBuf {
    assert!(
        path.exists(),
        "{what} is missing at {}: scripts/test installs it (apt-get install chromium chromium-driver; npm axe-core)",
        path.display()
    );
    path
}

/// `axe.min.js`: `PORTICO_AXE_JS`, else the copy scripts/test installs.
pub fn axe_source() -> String {
    let default = std::env::var("HOME")
        .map(|h| format!("{h}/.cache/portico/npm/node_modules/axe-core/axe.min.js"))
        .unwrap_or_default();
    let path = required(env_or("PORTICO_AXE_JS", &default), "axe-core");
    std::fs::read_to_string(path).expect("read axe.min.js")
}

/// Where screenshots go: `PORTICO_REPORTS_DIR/screenshots` (scripts/test
/// sets it), else the target dir's `reports/screenshots`.
pub fn screenshots_dir() -> PathBuf {
    let base = std::env::var_os("PORTICO_REPORTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("portico-reports"));
    let dir = base.join("screenshots");
    std::fs::create_dir_all(&dir).expect("screenshots dir");
    dir
}

pub struct Browser {
    pub client: Client,
    /// The chromedriver this browser started (a second browser shares the first's).
    driver: Option<Child>,
    port: u16,
    profile: tempfile::TempDir,
    _turn: Option<tokio::sync::MutexGuard<'static, ()>>,
    /// Serious or critical accessibility violations seen so far, by page.
    pub axe_findings: Vec<String>,
    pub pages_checked: usize,
    /// Every violation axe-core reported, by impact (minor and moderate too).
    pub axe_by_impact: std::collections::BTreeMap<String, usize>,
    /// Pages checked that scroll sideways in the 1280 px window, with what sticks out.
    pub overflows: Vec<String>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

impl Browser {
    /// Starts chromedriver and a headless Chromium with a fresh profile.
    pub async fn start() -> Self {
        let turn = ONE_AT_A_TIME.lock().await;
        let chromedriver = required(env_or("PORTICO_CHROMEDRIVER", "/usr/bin/chromedriver"), "chromedriver");
        let port = free_port();
        let mut cmd = Command::new(chromedriver);
        cmd.arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let driver = cmd.spawn().expect("start chromedriver");
        Self::session(port, Some(driver), Some(turn)).await
    }

    /// A second browser (its own profile and cookies) beside this one, as
    /// a second person at another computer.
    pub async fn second(&self) -> Self {
        Self::session(self.port, None, None).await
    }

    /// Files this browser downloaded.
    pub fn downloads(&self) -> PathBuf {
        self.profile.path().join("downloads")
    }

    async fn session(port: u16, driver: Option<Child>, turn: Option<tokio::sync::MutexGuard<'static, ()>>) -> Self {
        let chromium = required(env_or("PORTICO_CHROMIUM", "/usr/bin/chromium"), "chromium");
        let profile = tempfile::tempdir().expect("profile dir");
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--disable-default-apps",
                    "--disable-extensions", "--window-size=1280,1000",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
                "prefs": {
                    "download.default_directory": profile.path().join("downloads"),
                    "download.prompt_for_download": false,
                },
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let mut last = None;
        for _ in 0..100 {
            match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => {
                    return Self {
                        client,
                        driver,
                        port,
                        profile,
                        _turn: turn,
                        axe_findings: Vec::new(),
                        pages_checked: 0,
                        axe_by_impact: Default::default(),
                        overflows: Vec::new(),
                    };
                }
                Err(e) => {
                    last = Some(e.to_string());
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        panic!("chromedriver did not start a session: {last:?}");
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("goto");
    }

    pub async fn current_path(&self) -> String {
        let url = self.client.current_url().await.expect("current url");
        let mut path = url.path().to_string();
        if let Some(q) = url.query() {
            path.push('?');
            path.push_str(q);
        }
        path
    }

    /// The page's visible text ("" while a page is loading).
    pub async fn text(&self) -> String {
        match self.client.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    pub async fn fill(&self, css: &str, value: &str) {
        let el = self
            .client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"));
        el.clear().await.expect("clear");
        el.send_keys(value).await.expect("type");
    }

    pub async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// Clicks the button or link whose text is `text`.
    pub async fn click_text(&self, text: &str) {
        let xpath = format!(
            "//button[normalize-space(.)={t}] | //a[normalize-space(.)={t}]",
            t = xpath_literal(text)
        );
        self.client
            .find(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|e| panic!("no button or link {text:?}: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {text:?}: {e}"));
    }

    /// Waits (up to 10 s) until the page's text contains `needle`.
    pub async fn wait_for_text(&self, needle: &str) {
        for _ in 0..100 {
            if self.text().await.contains(needle) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the page never said {needle:?}; it says:\n{}", self.text().await);
    }

    /// Waits until the path is `path` (query included if given).
    pub async fn wait_for_path(&self, path: &str) {
        for _ in 0..100 {
            let now = self.current_path().await;
            if now == path || now.split('?').next() == Some(path) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "never reached {path}; at {}: {}",
            self.current_path().await,
            self.text().await
        );
    }

    pub async fn attr(&self, css: &str, name: &str) -> Option<String> {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .attr(name)
            .await
            .expect("attr")
    }

    pub async fn exists(&self, css: &str) -> bool {
        !self
            .client
            .find_all(Locator::Css(css))
            .await
            .expect("find_all")
            .is_empty()
    }

    /// Runs axe-core on the page (WCAG 2.0-2.2 A and AA rules) and keeps
    /// its serious and critical violations; notes the page if it is wider
    /// than the window (a long email or reason that does not wrap).
    pub async fn check_accessibility(&mut self, label: &str) {
        let source = axe_source();
        self.client.execute(&source, vec![]).await.expect("inject axe-core");
        let result = self
            .client
            .execute_async(
                r#"const done = arguments[arguments.length - 1];
                   axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a','wcag2aa','wcag21a','wcag21aa','wcag22aa'] } })
                      .then(r => done({ passes: r.passes.length, violations: r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help,
                                                               nodes: v.nodes.map(n => n.target.join(' ')) })) }))
                      .catch(e => done({ passes: 0, violations: [{ id: 'axe-error', impact: 'critical', help: String(e), nodes: [] }] }));"#,
                vec![],
            )
            .await
            .expect("run axe-core");
        self.pages_checked += 1;
        // Nothing sticks out sideways: a long email or reason wraps instead.
        let wide = self
            .client
            .execute(
                r#"const w = document.documentElement.clientWidth;
                   if (document.documentElement.scrollWidth <= w) return [];
                   return [...document.querySelectorAll('body *')]
                     .filter(e => e.getBoundingClientRect().right > w + 1 && e.closest('.visually-hidden') === null)
                     .slice(0, 5)
                     .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + ': ' + (e.textContent || '').trim().slice(0, 60));"#,
                vec![],
            )
            .await
            .expect("measure the page's width");
        if wide.as_array().is_some_and(|a| !a.is_empty()) {
            self.overflows.push(format!("{label}: {wide}"));
        }
        // axe ran its rules (a page where none passed was not checked at all).
        assert!(
            result["passes"].as_u64().unwrap_or(0) > 0,
            "{label}: axe-core checked nothing: {result}"
        );
        for v in result["violations"].as_array().cloned().unwrap_or_default() {
            let impact = v["impact"].as_str().unwrap_or_default();
            *self.axe_by_impact.entry(impact.to_string()).or_default() += 1;
            if matches!(impact, "serious" | "critical") {
                self.axe_findings.push(format!(
                    "{label}: {impact} {} ({}) at {}",
                    v["id"], v["help"], v["nodes"]
                ));
            }
        }
    }

    /// Signs in as a demo user from the local portal's start page.
    pub async fn demo_sign_in(&self, base: &str, user: &str) {
        self.goto(&format!("{base}/")).await;
        let xpath = format!("//input[@name='user' and @value='{user}']/following-sibling::button");
        self.client
            .find(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|e| panic!("the start page's demo user {user}: {e}"))
            .click()
            .await
            .expect("sign in as");
        for _ in 0..100 {
            if self.exists("form[action='/sign-out']").await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("not signed in as {user}: {}", self.text().await);
    }

    /// Takes over a browser session opened for `role`'s demo user in the
    /// table (as [`crate::web::WebClient::signed_in`] does), for backends
    /// without the local portal's demo sign-in: the cookie is set from the page.
    pub async fn adopt_session(&self, app: &crate::TestApp, role: portico_core::domain::Role) {
        let client = crate::web::WebClient::signed_in(app, role).await;
        let value = client.cookie.lock().unwrap().clone().expect("cookie");
        let name = portico_core::web::visit::cookie_name(&app.deps.settings);
        self.goto(&format!("{}/sign-in", app.base)).await;
        self.client.delete_cookie(name).await.expect("delete cookie");
        self.client
            .execute(
                &format!("document.cookie = '{name}={value}; path=/; SameSite=Lax'"),
                vec![],
            )
            .await
            .expect("set the session cookie");
    }

    /// Signs out with the header's button.
    pub async fn sign_out(&self) {
        self.click("form[action='/sign-out'] button").await;
        self.wait_for_text("You have signed out.").await;
    }

    /// The browser's Back button.
    pub async fn back(&self) {
        self.client.back().await.expect("back");
    }

    /// Saves a screenshot of the page as `<name>.png` in the reports folder.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        std::fs::write(screenshots_dir().join(format!("{name}.png")), png).expect("write screenshot");
    }

    /// Ends the session, writes what axe-core found to the reports folder
    /// (`axe.txt`), and asserts no serious or critical violation was seen.
    pub async fn finish(mut self, journey: &str) {
        let findings = std::mem::take(&mut self.axe_findings);
        let checked = self.pages_checked;
        let _ = self.client.clone().close().await;
        let by_impact: Vec<String> = ["critical", "serious", "moderate", "minor"]
            .iter()
            .map(|i| format!("{i} {}", self.axe_by_impact.get(*i).copied().unwrap_or(0)))
            .collect();
        let line = format!(
            "axe-core 4.14 on {journey}: {checked} pages checked; violations: {}\n",
            by_impact.join(", ")
        );
        let report = screenshots_dir()
            .parent()
            .map(|d| d.join("axe.txt"))
            .expect("reports dir");
        use std::io::Write;
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(report)
            .and_then(|mut f| f.write_all(line.as_bytes()))
            .expect("write the axe report");
        assert!(
            findings.is_empty(),
            "axe-core: serious or critical violations on {} of {checked} pages checked:\n{}",
            findings.len(),
            findings.join("\n")
        );
        assert!(checked > 0, "the journey checked no page with axe-core");
        assert!(
            self.overflows.is_empty(),
            "pages wider than the 1280 px window (they scroll sideways):\n{}",
            self.overflows.join("\n")
        );
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // chromedriver and the Chromiums it started share its process group.
        if let Some(driver) = &mut self.driver {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", driver.id())])
                .status();
            let _ = driver.wait();
        }
    }
}

fn xpath_literal(s: &str) -> String {
    if !s.contains('\'') {
        format!("'{s}'")
    } else {
        format!("concat('{}')", s.replace('\'', "', \"'\", '"))
    }
}

/// A cookie of the browser's, by name.
pub async fn cookie(client: &Client, name: &str) -> Option<String> {
    client
        .get_all_cookies()
        .await
        .expect("cookies")
        .into_iter()
        .find(|c| c.name() == name)
        .map(|c| c.value().to_string())
}
