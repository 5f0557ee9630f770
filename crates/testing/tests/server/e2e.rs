//! The whole journey in a real headless Chromium, as a new user takes it: register,
//! create an organization and a Python project, send events with the real Python
//! sentry-sdk to the DSN shown on the page, watch the issues appear, open one (stack
//! trace and breadcrumbs), resolve it, search for it, bulk-ignore others, invite a
//! member and accept by the emailed link in a second browser.
//!
//! With `FAULTLINE_SCREENSHOTS=<dir>` (relative to the workspace root), the SQLite run
//! also writes PNG screenshots of the main pages in the light and the dark theme
//! (`issue-list-light.png`, …); docs/screenshots/ holds a few of them.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use faultline_testing::browser::{Browser, Locator};
use faultline_testing::smtp::SmtpSink;
use faultline_testing::{clients, TestApp, TestBackend};

const PASSWORD: &str = "a long password";

/// One exception with breadcrumbs, then three other errors for the bulk step.
const PYTHON_SCRIPT: &str = r#"
import sys, sentry_sdk
sentry_sdk.init(dsn=sys.argv[1], release="shop@1.4.0", environment="production",
                auto_session_tracking=False)
sentry_sdk.set_user({"id": "42", "email": "ada@example.com"})
sentry_sdk.add_breadcrumb(category="auth", message="User 42 logged in", level="info")
sentry_sdk.add_breadcrumb(category="cart", message="Added 3 items to the cart", level="info",
                          data={"items": 3})

def average_price(total, count):
    return total / count

def checkout(cart):
    return average_price(sum(cart), len(cart))

try:
    checkout([])
except ZeroDivisionError:
    sentry_sdk.capture_exception()

def load_config(name):
    return {}[name]

def parse_quantity(text):
    return int(text)

def apply_coupon(code):
    return code + 5

for f, arg in ((load_config, "payments"), (parse_quantity, "three"), (apply_coupon, "SPRING")):
    try:
        f(arg)
    except Exception:
        sentry_sdk.capture_exception()
sentry_sdk.capture_message("Inventory sync took 12 seconds", level="warning")
sentry_sdk.flush(timeout=10)
"#;

/// Where screenshots go, when asked for and on SQLite.
fn screenshot_dir(app: &TestApp) -> Option<PathBuf> {
    let dir = PathBuf::from(std::env::var_os("FAULTLINE_SCREENSHOTS")?);
    app.config.database.sqlite_path()?;
    let dir = if dir.is_relative() { PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").join(dir) } else { dir };
    std::fs::create_dir_all(&dir).expect("create the screenshot directory");
    Some(dir)
}

async fn click(browser: &Browser, selector: &str) {
    browser.find(selector).await.click().await.unwrap_or_else(|e| panic!("click {selector}: {e}"));
}

async fn type_into(browser: &Browser, selector: &str, text: &str) {
    let input = browser.find(selector).await;
    input.clear().await.unwrap();
    input.send_keys(text).await.unwrap_or_else(|e| panic!("type into {selector}: {e}"));
}

async fn assert_csp_clean(browser: &Browser, page: &str) {
    let problems = browser.csp_problems().await;
    assert!(problems.is_empty(), "{page}: {problems:#?}");
}

/// `(id, title)` of each issue row on the page.
async fn rows(browser: &Browser) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for row in browser.find_all("tr.issue-row").await {
        let id = row.attr("data-issue-id").await.unwrap().unwrap_or_default();
        let title = row.find(Locator::Css("a.issue-title")).await.unwrap().text().await.unwrap();
        out.push((id, title));
    }
    out
}

/// Sets the viewer's theme through the profile form.
async fn set_theme(browser: &Browser, app: &TestApp, theme: &str) {
    browser.open(app, "/profile").await;
    click(browser, &format!("#profile-theme option[value={theme}]")).await;
    click(browser, "form[action$='/profile'] .actions button[type=submit]").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let html = browser.find("html").await;
        if html.attr("data-theme").await.unwrap().as_deref() == Some(theme) {
            return;
        }
        assert!(Instant::now() < deadline, "the theme did not become {theme}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Screenshots of `pages` (`(name, path)`) in the light and the dark theme, when
/// `dir` is set; leaves the light theme on.
async fn screenshots(browser: &Browser, app: &TestApp, dir: Option<&PathBuf>, pages: &[(&str, &str)]) {
    let Some(dir) = dir else { return };
    for theme in ["dark", "light"] {
        set_theme(browser, app, theme).await;
        for (name, path) in pages {
            browser.open(app, path).await;
            let png = browser.client.screenshot().await.expect("screenshot");
            std::fs::write(dir.join(format!("{name}-{theme}.png")), png).expect("write the screenshot");
        }
    }
}

async fn journey(app: TestApp, smtp: SmtpSink) {
    let Some(python) = clients::python() else { return };
    let Some(browser) = Browser::start().await else { return };
    browser.client.set_window_size(1280, 900).await.expect("window size");
    let shots = screenshot_dir(&app);

    // Register: the first user.
    browser.open(&app, "/register").await;
    assert_csp_clean(&browser, "register").await;
    type_into(&browser, "#email", "ada@example.com").await;
    type_into(&browser, "#password", PASSWORD).await;
    type_into(&browser, "#password2", PASSWORD).await;
    click(&browser, "form[action$='/register'] button[type=submit]").await;
    browser.wait_until(|p| !p.starts_with("/register"), "the registration").await;

    // An organization, then a Python project.
    browser.open(&app, "/organizations/new").await;
    type_into(&browser, "#org-name", "Acme Shop").await;
    click(&browser, "form[action$='/organizations/new'] button[type=submit]").await;
    browser.wait_until(|p| p.starts_with("/acme-shop/settings/projects/new"), "the new project page").await;
    click(&browser, "input[name=platform][value=python]").await;
    type_into(&browser, "#project-name", "Storefront").await;
    click(&browser, "form[action$='/settings/projects/new'] button[type=submit]").await;
    browser.wait_until(|p| p.starts_with("/acme-shop/settings/projects/storefront"), "the project page").await;
    assert_csp_clean(&browser, "project").await;
    assert!(browser.text("details[open] summary").await.contains("Python"), "the Python snippet is open");
    let dsn = browser.find("#dsn").await.prop("value").await.unwrap().unwrap_or_default();
    assert!(dsn.starts_with("http://") && dsn.contains('@'), "{dsn}");

    // The real Python SDK sends to that DSN.
    // From a file, so the SDK can read the source lines around each frame.
    let dir = tempfile::tempdir().expect("temp dir");
    let script = dir.path().join("shop.py");
    std::fs::write(&script, PYTHON_SCRIPT).expect("write the script");
    let out = Command::new(python).arg(&script).arg(&dsn).output().expect("run python");
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    browser.wait_for("#first-event", |t| t.contains("First event received")).await;

    // The issues appear in the list once the workers digested the events.
    let deadline = Instant::now() + Duration::from_secs(30);
    let issues = loop {
        browser.open(&app, "/acme-shop/issues").await;
        let found = rows(&browser).await;
        if found.len() == 5 {
            break found;
        }
        assert!(Instant::now() < deadline, "the issues did not appear: {found:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_csp_clean(&browser, "issue list").await;
    let titles: Vec<&str> = issues.iter().map(|(_, t)| t.as_str()).collect();
    for expected in [
        "ZeroDivisionError: division by zero",
        "KeyError: 'payments'",
        "ValueError: invalid literal for int() with base 10: 'three'",
        "TypeError: can only concatenate str (not \"int\") to str",
        "Inventory sync took 12 seconds",
    ] {
        assert!(titles.contains(&expected), "{expected} in {titles:?}");
    }
    let id_of = |prefix: &str| issues.iter().find(|(_, t)| t.starts_with(prefix)).unwrap().0.clone();
    let zero = id_of("ZeroDivisionError");
    let detail = format!("/acme-shop/issues/{zero}");
    screenshots(
        &browser,
        &app,
        shots.as_ref(),
        &[
            ("issue-list", "/acme-shop/issues"),
            ("issue-detail", &detail),
            ("project", "/acme-shop/settings/projects/storefront"),
        ],
    )
    .await;

    // Open it: the stack trace and the breadcrumbs.
    browser.open(&app, "/acme-shop/issues").await;
    click(&browser, &format!("tr[data-issue-id='{zero}'] a.issue-title")).await;
    browser.wait_until(|p| p == detail, "the issue page").await;
    assert_csp_clean(&browser, "issue detail").await;
    assert_eq!(browser.text("#issue-title").await, "ZeroDivisionError");
    assert_eq!(browser.text("#issue-status").await, "unresolved");
    assert!(browser.text("#exception").await.contains("division by zero"));
    let functions = browser.texts(".frame-function").await;
    assert_eq!(functions, ["average_price", "checkout", "<module>"], "newest frame first");
    let source = browser.text(".frame.in-app tr.current").await;
    assert!(source.contains("return total / count"), "the frame's source line: {source}");
    let crumbs = browser.texts("tr.crumb").await;
    assert!(crumbs.iter().any(|c| c.contains("auth") && c.contains("User 42 logged in")), "{crumbs:?}");
    assert!(crumbs.iter().any(|c| c.contains("cart") && c.contains("Added 3 items to the cart")), "{crumbs:?}");

    // Resolve it through the status form.
    click(&browser, "#resolve").await;
    browser.wait_for("#issue-status", |t| t == "resolved").await;

    // Search for it among the resolved ones.
    browser.open(&app, "/acme-shop/issues").await;
    type_into(&browser, "#f-query", "is:resolved ZeroDivisionError").await;
    click(&browser, "form.issue-filters button[type=submit]").await;
    browser.wait_until(|p| p.contains("is%3Aresolved"), "the search").await;
    let found = rows(&browser).await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, zero);
    assert_eq!(browser.find_all(".badge-resolved").await.len(), 1);
    assert_csp_clean(&browser, "search").await;

    // Bulk-ignore three of the unresolved ones.
    browser.open(&app, "/acme-shop/issues").await;
    assert_eq!(rows(&browser).await.len(), 4, "the resolved issue left the default list");
    let ignored = [id_of("KeyError"), id_of("ValueError"), id_of("TypeError")];
    for id in &ignored {
        click(&browser, &format!("tr[data-issue-id='{id}'] input.issue-check")).await;
    }
    click(&browser, "button[name=action][value=ignore]").await;
    browser.wait_until(|p| p.contains("notice=ignored"), "the bulk action").await;
    assert_eq!(rows(&browser).await.len(), 1, "only the message is left unresolved");
    browser.open(&app, "/acme-shop/issues?query=is%3Aignored").await;
    let mut listed: Vec<String> = rows(&browser).await.into_iter().map(|(id, _)| id).collect();
    listed.sort();
    let mut expected = ignored.to_vec();
    expected.sort();
    assert_eq!(listed, expected);
    assert_eq!(browser.find_all(".badge-ignored").await.len(), 3);

    // Invite a member.
    browser.open(&app, "/acme-shop/settings/members").await;
    type_into(&browser, "#invite-email", "bob@example.com").await;
    click(&browser, "form[action$='/settings/members'] button[type=submit]").await;
    browser.wait_until(|p| p.contains("done=invited"), "the invitation").await;
    let members = browser.text("table").await;
    assert!(members.contains("bob@example.com") && members.contains("invited"), "{members}");
    assert_csp_clean(&browser, "members").await;
    screenshots(&browser, &app, shots.as_ref(), &[("members", "/acme-shop/settings/members")]).await;

    // The invitee follows the emailed link in another browser, registers and accepts.
    let mail = smtp.wait_for("bob@example.com", Duration::from_secs(20)).await;
    let link = mail.link_containing("/accept/").unwrap_or_else(|| panic!("no accept link in {}", mail.data));
    let invitee = Browser::start().await.expect("a second browser");
    invitee.client.goto(&link).await.expect("open the accept link");
    assert!(invitee.text("main").await.contains("Acme Shop"), "the invitation names the organization");
    click(&invitee, "a[href*='/register']").await;
    invitee.wait_until(|p| p.starts_with("/register"), "the registration form").await;
    type_into(&invitee, "#email", "bob@example.com").await;
    type_into(&invitee, "#password", PASSWORD).await;
    type_into(&invitee, "#password2", PASSWORD).await;
    click(&invitee, "form[action$='/register'] button[type=submit]").await;
    invitee.wait_until(|p| p.starts_with("/accept/"), "back to the invitation").await;
    click(&invitee, "form[action*='/accept/'] button[type=submit]").await;
    invitee.wait_until(|p| p == "/acme-shop/issues", "the organization's issues").await;
    assert!(invitee.text("#org-switch").await.contains("Acme Shop"));
    assert_eq!(rows(&invitee).await.len(), 1, "the invitee sees the organization's issues");
    assert_csp_clean(&invitee, "the invitee's issue list").await;
    invitee.quit().await;

    // The owner sees the invitation accepted.
    browser.open(&app, "/acme-shop/settings/members").await;
    let members = browser.text("table").await;
    assert!(members.contains("bob@example.com") && !members.contains("invited"), "{members}");
    assert_csp_clean(&browser, "members").await;
    browser.quit().await;
}

/// The server under test mails through an [`SmtpSink`] the journey reads.
async fn browser_journey(backend: TestBackend) {
    let smtp = SmtpSink::start().await;
    let Some(app) = TestApp::builder(backend).env("EMAIL_URL", &smtp.url()).start().await else { return };
    journey(app, smtp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journey_sqlite() {
    browser_journey(TestBackend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journey_postgres() {
    browser_journey(TestBackend::Postgres).await;
}
