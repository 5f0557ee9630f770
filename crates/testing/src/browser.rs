//! A real headless Chromium for the UI tests, driven over WebDriver with
//! [`fantoccini`]: [`Browser::start`] runs the `chromedriver` that
//! `FAULTLINE_TEST_CHROMEDRIVER` names (scripts/test-deps installs Chromium and sets
//! it) on a free `127.0.0.1` port, and opens a session in headless Chromium.
//!
//! Without a chromedriver the tests skip, except under `CI`, where they fail.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub use fantoccini::{Client, Locator};
use serde_json::{json, Value};

use crate::TestApp;

/// The chromedriver binary, or `None` to skip (panics under `CI`).
pub fn chromedriver() -> Option<PathBuf> {
    let var = "FAULTLINE_TEST_CHROMEDRIVER";
    match std::env::var_os(var).map(PathBuf::from) {
        Some(path) if path.exists() => Some(path),
        _ if std::env::var_os("CI").is_some() => {
            panic!("chromedriver is missing under CI: {var} must point to it (scripts/test installs it)")
        }
        _ => {
            eprintln!("skipping: chromedriver not installed ({var} unset; run scripts/test or scripts/test-deps)");
            None
        }
    }
}

/// A WebDriver session in headless Chromium, with its chromedriver.
pub struct Browser {
    /// The WebDriver client.
    pub client: Client,
    driver: Child,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port()
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session; `None` to skip.
    pub async fn start() -> Option<Browser> {
        let driver_path = chromedriver()?;
        let port = free_port();
        let driver = Command::new(&driver_path)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            // Its own process group, with the Chromium it starts: a failed test
            // ends them all (see `stop`).
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", driver_path.display()));
        let mut browser_driver = DriverGuard(Some(driver));
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not listen on port {port} within 20s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mut options = json!({
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,900", "--no-first-run", "--disable-extensions"],
        });
        if let Some(binary) = std::env::var_os("FAULTLINE_TEST_CHROMIUM") {
            options["binary"] = Value::String(binary.to_string_lossy().into_owned());
        }
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert("goog:chromeOptions".into(), options);
        caps.insert("goog:loggingPrefs".into(), json!({"browser": "ALL"}));
        // chromedriver listens on loopback over plain HTTP: no TLS connector needed.
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = fantoccini::ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&url)
            .await
            .unwrap_or_else(|e| panic!("cannot open a Chromium session through chromedriver: {e}"));
        Some(Browser { client, driver: browser_driver.0.take().expect("driver") })
    }

    /// Opens `path` of `app`.
    pub async fn open(&self, app: &TestApp, path: &str) {
        self.client.goto(&app.url(path)).await.unwrap_or_else(|e| panic!("GET {path} in Chromium: {e}"));
    }

    /// The first element matching the CSS `selector` (panics when there is none).
    pub async fn find(&self, selector: &str) -> fantoccini::elements::Element {
        self.client.find(Locator::Css(selector)).await.unwrap_or_else(|e| panic!("no element {selector:?}: {e}"))
    }

    /// Every element matching `selector`.
    pub async fn find_all(&self, selector: &str) -> Vec<fantoccini::elements::Element> {
        self.client.find_all(Locator::Css(selector)).await.expect("find_all")
    }

    /// The text of the first element matching `selector`.
    pub async fn text(&self, selector: &str) -> String {
        self.find(selector).await.text().await.expect("text")
    }

    /// The texts of every element matching `selector`.
    pub async fn texts(&self, selector: &str) -> Vec<String> {
        let mut out = Vec::new();
        for element in self.find_all(selector).await {
            out.push(element.text().await.expect("text"));
        }
        out
    }

    /// The current URL's path and query.
    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("current url");
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        }
    }

    /// Logs in through the real login form (the one in view, else `/login`) and waits
    /// for the page after it.
    pub async fn login(&self, app: &TestApp, email: &str, password: &str) {
        if !self.path().await.starts_with("/login") {
            self.open(app, "/login").await;
        }
        self.find("#email").await.send_keys(email).await.expect("type email");
        self.find("#password").await.send_keys(password).await.expect("type password");
        self.find("form[action$='/login'] button[type=submit]").await.click().await.expect("submit login");
        self.wait_until(|path| !path.starts_with("/login"), "the login to finish").await;
    }

    /// Waits (up to 20 s) until the current path satisfies `done`.
    pub async fn wait_until(&self, done: impl Fn(&str) -> bool, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let path = self.path().await;
            if done(&path) {
                return;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what} (at {path})");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits (up to 20 s) until an element matches `selector` and its text satisfies
    /// `ok` (after a form post, the page has been replaced).
    pub async fn wait_for(&self, selector: &str, ok: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(element) = self.find_all(selector).await.into_iter().next() {
                if element.text().await.is_ok_and(|text| ok(&text)) {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "timed out waiting for {selector:?} (at {})", self.path().await);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Problems of the page against the Content-Security-Policy: violations the page
    /// script recorded (`data-csp-violations`), console errors, and markup the
    /// policy would block (inline scripts, `style` attributes, `on*` handlers).
    pub async fn csp_problems(&self) -> Vec<String> {
        let found = self
            .client
            .execute(
                r#"var out = [];
                var root = document.documentElement;
                if (root.dataset.cspViolations) out.push("violations: " + root.dataset.cspViolations + " (" + root.dataset.cspLast + ")");
                document.querySelectorAll("script:not([src])").forEach(function (s) { out.push("inline script: " + s.textContent.slice(0, 60)); });
                document.querySelectorAll("[style]").forEach(function (e) { out.push("style attribute on <" + e.tagName.toLowerCase() + ">"); });
                document.querySelectorAll("*").forEach(function (e) {
                  for (var i = 0; i < e.attributes.length; i++) {
                    if (/^on/i.test(e.attributes[i].name)) out.push("handler " + e.attributes[i].name + " on <" + e.tagName.toLowerCase() + ">");
                  }
                });
                return out;"#,
                vec![],
            )
            .await
            .expect("run the CSP check");
        let mut problems: Vec<String> = found
            .as_array()
            .map(|a| a.iter().map(|v| v.as_str().unwrap_or_default().to_string()).collect())
            .unwrap_or_default();
        problems.extend(self.console_errors().await);
        problems
    }

    /// Console messages of level SEVERE since the last call (chromedriver's log).
    pub async fn console_errors(&self) -> Vec<String> {
        let logs = self.client.issue_cmd(BrowserLog).await.unwrap_or(Value::Null);
        logs.as_array()
            .map(|entries| {
                entries
                    .iter()
                    .filter(|e| e.get("level").and_then(Value::as_str) == Some("SEVERE"))
                    // Pages name no icon, so Chromium asks for one.
                    .filter(|e| !e.get("message").and_then(Value::as_str).unwrap_or_default().contains("/favicon.ico"))
                    .filter_map(|e| e.get("message").and_then(Value::as_str).map(|m| format!("console: {m}")))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Ends the session and chromedriver.
    pub async fn quit(mut self) {
        let _ = self.client.clone().close().await;
        stop(&mut self.driver);
    }
}

/// Kills chromedriver's process group (Chromium included), then chromedriver.
fn stop(driver: &mut Child) {
    let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", driver.id())]).stderr(Stdio::null()).status();
    let _ = driver.kill();
    let _ = driver.wait();
}

impl Drop for Browser {
    fn drop(&mut self) {
        stop(&mut self.driver);
    }
}

/// Kills chromedriver if the session never opened.
struct DriverGuard(Option<Child>);

impl Drop for DriverGuard {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            stop(&mut child);
        }
    }
}

/// chromedriver's (non-standard) `POST /session/{id}/se/log`.
#[derive(Debug)]
struct BrowserLog;

impl fantoccini::wd::WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(&self, base_url: &url::Url, session_id: Option<&str>) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!("session/{}/se/log", session_id.unwrap_or_default()))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(json!({"type": "browser"}).to_string()))
    }
}
