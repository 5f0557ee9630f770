//! The web UI's issue pages in a real headless Chromium (see `faultline_testing::browser`):
//! logging in through the login form, the issue list with search and bulk triage, the
//! issue detail with its event, and no Content-Security-Policy problems on any page.
//! Events go in through the ingest endpoint and are digested by the real workers.

use std::time::Duration;

use faultline_store::{issue_status, Issue, ProjectId, Role};
use faultline_testing::browser::Browser;
use faultline_testing::{app_tests, TestApp, TestProject};
use serde_json::{json, Value};
use uuid::Uuid;

const PASSWORD: &str = "a long password";

fn envelope(event: &Value, event_id: Uuid) -> Vec<u8> {
    let header =
        json!({"event_id": event_id.simple().to_string(), "sent_at": faultline_store::Timestamp::now().to_rfc3339()});
    let payload = serde_json::to_vec(event).unwrap();
    let mut out = serde_json::to_vec(&header).unwrap();
    out.push(b'\n');
    out.extend(format!("{{\"type\":\"event\",\"length\":{}}}\n", payload.len()).into_bytes());
    out.extend(payload);
    out.push(b'\n');
    out
}

async fn send(app: &TestApp, p: &TestProject, mut event: Value) {
    let id = Uuid::new_v4();
    event["event_id"] = json!(id.simple().to_string());
    let res = app
        .http
        .post(format!("{}?sentry_key={}", app.envelope_url(p), p.key))
        .header("content-type", "application/x-sentry-envelope")
        .body(envelope(&event, id))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

fn value_error(user: &str) -> Value {
    let now = faultline_store::Timestamp::now().micros() as f64 / 1e6;
    json!({
        "platform": "python", "level": "error", "environment": "production", "release": "1.0",
        "user": {"id": user, "email": format!("user{user}@example.com")}, "tags": {"customer": "big corp"},
        "exception": {"values": [{"type": "ValueError", "value": "bad input",
            "mechanism": {"type": "generic", "handled": false},
            "stacktrace": {"frames": [
                {"function": "handle", "module": "django.core", "filename": "django/core/handlers.py", "lineno": 5, "in_app": false},
                {"function": "index", "module": "app.views", "filename": "app/views.py", "lineno": 10, "in_app": true,
                 "context_line": "    raise ValueError('bad input')", "pre_context": ["def index(request):"],
                 "post_context": [""], "vars": {"request": "<WSGIRequest: GET '/'>"}}
            ]}}]},
        "breadcrumbs": {"values": [
            {"timestamp": now - 2.0, "category": "http", "message": "GET https://api.example.com/users"},
            {"timestamp": now - 1.0, "category": "query", "message": "SELECT * FROM users"}
        ]},
        "request": {"url": "https://shop.example.com/checkout", "method": "POST",
            "headers": {"User-Agent": "Mozilla/5.0"}, "query_string": "step=2"},
        "contexts": {"os": {"name": "Linux", "version": "6.1"}, "runtime": {"name": "CPython", "version": "3.12"}},
        "extra": {"cart_items": 3},
    })
}

fn key_error() -> Value {
    json!({
        "platform": "python", "level": "warning", "environment": "staging",
        "exception": {"values": [{"type": "KeyError", "value": "'user'",
            "stacktrace": {"frames": [{"function": "load", "module": "app.models", "filename": "app/models.py",
                "lineno": 20, "in_app": true, "context_line": "    return cache[key]"}]}}]}
    })
}

fn message(text: &str) -> Value {
    json!({"platform": "python", "level": "info", "message": text, "environment": "production"})
}

/// Project `web` of `acme` with three issues (ValueError ×2, KeyError, an info
/// message), and an owner of `acme` who can log in. The first user of a server is a
/// superuser, so someone else registers first.
async fn seed(app: &TestApp) -> (TestProject, Vec<Issue>) {
    let p = app.create_project("acme", "web").await;
    send(app, &p, value_error("1")).await;
    send(app, &p, value_error("2")).await;
    send(app, &p, key_error()).await;
    send(app, &p, message("Cache warmed")).await;
    app.wait_for_digest(Duration::from_secs(30)).await;
    let store = &app.store;
    faultline_domain::accounts::register(store, true, "admin@example.com", PASSWORD, "Admin").await.unwrap();
    let user = faultline_domain::accounts::register(store, true, "ada@example.com", PASSWORD, "Ada").await.unwrap();
    let org = store.organization_by_slug("acme").await.unwrap().unwrap();
    store.add_member(org.id, user.id, Role::Owner).await.unwrap();
    let issues = store.project_issues(ProjectId(p.id), 10).await.unwrap();
    assert_eq!(issues.len(), 3);
    (p, issues)
}

fn issue<'a>(issues: &'a [Issue], title_start: &str) -> &'a Issue {
    issues.iter().find(|i| i.title.starts_with(title_start)).unwrap()
}

async fn assert_csp_clean(browser: &Browser, page: &str) {
    let problems = browser.csp_problems().await;
    assert!(problems.is_empty(), "{page}: {problems:#?}");
}

async fn rows(browser: &Browser) -> usize {
    browser.find_all("tr.issue-row").await.len()
}

async fn ui_issue_list_search_and_bulk_triage(app: TestApp) {
    let (_, issues) = seed(&app).await;
    let Some(browser) = Browser::start().await else { return };
    // An anonymous visit goes to the login form, and back after it.
    browser.open(&app, "/acme/issues").await;
    assert!(browser.path().await.starts_with("/login"), "{}", browser.path().await);
    browser.login(&app, "ada@example.com", PASSWORD).await;
    assert_eq!(browser.path().await, "/acme/issues");
    assert_csp_clean(&browser, "issue list").await;
    assert_eq!(browser.text("#hits").await, "3");
    assert_eq!(rows(&browser).await, 3);
    assert_eq!(browser.find_all("svg.spark rect").await.len(), 3 * 24);
    let list = browser.text("table.issues").await;
    assert!(list.contains("ValueError: bad input") && list.contains("Cache warmed"), "{list}");
    assert!(list.contains("WEB-"), "{list}");

    // Search narrows the list.
    let search = browser.find("#f-query").await;
    search.clear().await.unwrap();
    search.send_keys("level:error").await.unwrap();
    browser.find("form.issue-filters button[type=submit]").await.click().await.unwrap();
    browser.wait_until(|p| p.contains("level%3Aerror"), "the search").await;
    assert_eq!(browser.text("#hits").await, "1");
    assert_eq!(rows(&browser).await, 1);
    assert!(browser.text("table.issues").await.contains("ValueError"));
    assert_csp_clean(&browser, "searched list").await;

    // Bulk resolve of two checked rows.
    browser.open(&app, "/acme/issues").await;
    let key = issue(&issues, "KeyError");
    let info = issue(&issues, "Cache warmed");
    for i in [key, info] {
        browser.find(&format!("tr[data-issue-id='{}'] input.issue-check", i.id)).await.click().await.unwrap();
    }
    browser.find("button[name=action][value=resolve]").await.click().await.unwrap();
    browser.wait_for("#hits", |t| t == "1").await;
    assert_eq!(browser.path().await, "/acme/issues?query=is%3Aunresolved&notice=resolved");
    assert_eq!(browser.text("#notice").await, "The issues are marked resolved.");
    for i in [key, info] {
        assert_eq!(app.store.issue(i.id).await.unwrap().status, issue_status::RESOLVED, "{}", i.title);
    }
    let value = issue(&issues, "ValueError");
    assert_eq!(app.store.issue(value.id).await.unwrap().status, issue_status::UNRESOLVED);

    // The resolved ones are marked as such when listed.
    browser.open(&app, "/acme/issues?query=is%3Aresolved").await;
    assert_eq!(rows(&browser).await, 2);
    assert_eq!(browser.find_all(".badge-resolved").await.len(), 2);

    // "Select all matching" applies to the whole filter, not just checked rows.
    browser.open(&app, "/acme/issues?query=is%3Aresolved").await;
    browser.find("#select-all-matching").await.click().await.unwrap();
    browser.find("button[name=action][value=unresolve]").await.click().await.unwrap();
    browser.wait_for("#no-issues", |_| true).await;
    assert_eq!(app.store.issue(key.id).await.unwrap().status, issue_status::UNRESOLVED);
    assert_eq!(app.store.issue(info.id).await.unwrap().status, issue_status::UNRESOLVED);
    assert_csp_clean(&browser, "empty list").await;

    // Another organization's pages are not found.
    app.create_project("other", "secret").await;
    browser.open(&app, "/other/issues").await;
    assert!(browser.find_all("#hits, #no-projects").await.is_empty());
    browser.quit().await;
}

async fn ui_issue_detail_shows_the_event(app: TestApp) {
    let (_, issues) = seed(&app).await;
    let value = issue(&issues, "ValueError");
    let Some(browser) = Browser::start().await else { return };
    browser.login(&app, "ada@example.com", PASSWORD).await;
    browser.open(&app, &format!("/acme/issues/{}", value.id)).await;
    assert_csp_clean(&browser, "issue detail").await;
    assert_eq!(browser.text("#issue-title").await, "ValueError");
    assert_eq!(browser.text("#issue-status").await, "unresolved");

    // Exception: in-app frame open with its source and variables, library frame folded.
    let exception = browser.text("#exception").await;
    assert!(exception.contains("ValueError") && exception.contains("bad input"), "{exception}");
    assert_eq!(browser.text(".frame.in-app .frame-function").await, "index");
    assert!(browser.text(".frame.in-app tr.current").await.contains("raise ValueError('bad input')"));
    assert!(browser.text(".frame.in-app table.vars").await.contains("WSGIRequest"));
    let library = browser.find(".frame.library details").await;
    assert_eq!(library.attr("open").await.unwrap(), None, "library frames are collapsed");
    // Newest first by default; the flip shows the oldest frame first.
    assert_eq!(browser.texts(".frame-function").await, ["index", "handle"]);
    browser.find("#order-flip").await.click().await.unwrap();
    browser.wait_until(|p| p.contains("order=oldest"), "the order flip").await;
    assert_eq!(browser.texts(".frame-function").await, ["handle", "index"]);

    // Tags with percentages, linking to the filtered list.
    let tags = browser.text("#tags").await;
    assert!(tags.contains("customer") && tags.contains("big corp") && tags.contains("100%"), "{tags}");
    // Breadcrumbs with a category filter; request, contexts, user.
    assert_eq!(browser.find_all("tr.crumb").await.len(), 2);
    browser.find(".crumb-filter a:nth-child(3)").await.click().await.unwrap();
    browser.wait_until(|p| p.contains("crumbs=query"), "the breadcrumb filter").await;
    assert_eq!(browser.find_all("tr.crumb").await.len(), 1);
    assert!(browser.text("tr.crumb").await.contains("SELECT * FROM users"));
    assert!(browser.text("#request").await.contains("POST https://shop.example.com/checkout"));
    let contexts = browser.text("#contexts").await;
    assert!(contexts.contains("CPython") && contexts.contains("Linux"), "{contexts}");
    assert!(browser.text("#user").await.contains("@example.com"));
    assert_csp_clean(&browser, "filtered detail").await;

    // Event navigation: there are two events; the latest has an older one.
    browser.open(&app, &format!("/acme/issues/{}", value.id)).await;
    let latest = browser.text("#event-id").await;
    browser.find("#older").await.click().await.unwrap();
    browser.wait_until(|p| p.contains("/events/"), "the older event").await;
    assert_ne!(browser.text("#event-id").await, latest);
    assert!(browser.find_all("#newer").await.len() == 1);

    // Comment, then resolve through the status form.
    browser.open(&app, &format!("/acme/issues/{}", value.id)).await;
    browser.find("#comment-text").await.send_keys("Looking into it").await.unwrap();
    browser.find("#comments button[type=submit]").await.click().await.unwrap();
    browser.wait_for("#comments .comment-text", |t| t == "Looking into it").await;
    browser.find("#resolve").await.click().await.unwrap();
    browser.wait_for("#issue-status", |t| t == "resolved").await;
    assert_eq!(app.store.issue(value.id).await.unwrap().status, issue_status::RESOLVED);
    assert_csp_clean(&browser, "resolved detail").await;
    browser.quit().await;
}

/// A logged-in HTTP client without JavaScript: the session cookie and its CSRF token.
struct Session {
    http: reqwest::Client,
    base: String,
    cookie: String,
    csrf: String,
}

impl Session {
    async fn login(app: &TestApp, email: &str) -> Session {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let origin = app.base_url.trim_end_matches(app.config.http.base_path.as_str()).to_string();
        let res = http
            .post(app.url("/login"))
            .header("origin", origin)
            .form(&[("email", email), ("password", PASSWORD), ("next", "/")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
        let mut cookies = Vec::new();
        let mut csrf = String::new();
        for value in res.headers().get_all("set-cookie") {
            let pair = value.to_str().unwrap().split(';').next().unwrap().to_string();
            if let Some(token) = pair.strip_prefix("csrftoken=") {
                csrf = token.to_string();
            }
            cookies.push(pair);
        }
        assert!(!csrf.is_empty(), "no CSRF cookie");
        Session { http, base: app.base_url.clone(), cookie: cookies.join("; "), csrf }
    }

    async fn get(&self, path: &str) -> (u16, String) {
        let res = self.http.get(format!("{}{path}", self.base)).header("cookie", &self.cookie).send().await.unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    }

    /// Posts a form (with the CSRF token unless `csrf` is false); the status and the
    /// redirect location.
    async fn post(&self, path: &str, fields: &[(&str, String)], csrf: bool) -> (u16, String) {
        let mut form: Vec<(&str, String)> = fields.to_vec();
        if csrf {
            form.push(("csrfmiddlewaretoken", self.csrf.clone()));
        }
        let res = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .form(&form)
            .send()
            .await
            .unwrap();
        let location = res.headers().get("location").map(|l| l.to_str().unwrap().to_string()).unwrap_or_default();
        (res.status().as_u16(), location)
    }
}

async fn ui_issue_pages_check_access_and_csrf(app: TestApp) {
    let (web, issues) = seed(&app).await;
    let other = app.create_project("other", "secret").await;
    send(&app, &other, key_error()).await;
    app.wait_for_digest(Duration::from_secs(30)).await;
    let foreign = app.store.project_issues(ProjectId(other.id), 10).await.unwrap().remove(0);
    let value = issue(&issues, "ValueError");
    let key = issue(&issues, "KeyError");

    // Anonymous: to the login form, coming back afterwards.
    let anonymous = app.http.get(app.url("/acme/issues")).send().await.unwrap();
    assert!(anonymous.url().path().ends_with("/login"), "{}", anonymous.url());
    assert!(anonymous.url().query().unwrap_or_default().contains("next=%2Facme%2Fissues"));

    let ada = Session::login(&app, "ada@example.com").await;
    let (status, body) = ada.get("/acme/issues").await;
    assert_eq!(status, 200);
    assert!(body.contains("<th>Last 24 hours</th>") && body.contains("events, last 24 hours"), "{body}");
    // The 14-day trend: 14 daily bars per row, the events of today in the last one.
    let (status, body) = ada.get("/acme/issues?trend=14d").await;
    assert_eq!(status, 200);
    assert!(body.contains("<th>Last 14 days</th>"), "{body}");
    let row = &body[body.find("class=\"spark\"").expect("a sparkline")..];
    let row = &row[..row.find("</svg>").unwrap()];
    assert_eq!(row.matches("<rect").count(), 14, "{row}");
    assert!(row.contains("x=\"78\" y=\"1\" width=\"5\" height=\"22\""), "today's bar is the tallest: {row}");
    // Another organization's list, issues and events are not found, also through
    // this organization's URLs.
    for path in [
        "/other/issues".to_string(),
        format!("/other/issues/{}", foreign.id),
        format!("/acme/issues/{}", foreign.id),
        format!("/acme/issues/{}/events/latest", foreign.id),
        format!("/acme/issues/{}/events/{}", value.id, Uuid::new_v4().simple()),
        "/acme/issues/999999".to_string(),
    ] {
        assert_eq!(ada.get(&path).await.0, 404, "{path}");
    }
    let resolve = [("status", "resolved".to_string())];
    assert_eq!(ada.post(&format!("/acme/issues/{}/status", foreign.id), &resolve, true).await.0, 404);
    assert_eq!(ada.post(&format!("/other/issues/{}/delete", foreign.id), &[], true).await.0, 404);
    let bulk = [("action", "resolve".to_string()), ("id", foreign.id.to_string())];
    assert_eq!(ada.post("/acme/issues/bulk", &bulk, true).await.0, 303);
    assert_eq!(app.store.issue(foreign.id).await.unwrap().status, issue_status::UNRESOLVED);

    // Forms without the session's CSRF token are refused.
    let path = format!("/acme/issues/{}/status", value.id);
    assert_eq!(ada.post(&path, &resolve, false).await.0, 403);
    assert_eq!(
        ada.post("/acme/issues/bulk", &[("action", "resolve".into()), ("id", value.id.to_string())], false).await.0,
        403
    );
    assert_eq!(app.store.issue(value.id).await.unwrap().status, issue_status::UNRESOLVED);
    let (status, location) = ada.post(&path, &resolve, true).await;
    assert_eq!((status, location.as_str()), (303, format!("/acme/issues/{}", value.id).as_str()));
    assert_eq!(app.store.issue(value.id).await.unwrap().status, issue_status::RESOLVED);

    // A bad search is explained on the page.
    let (status, body) = ada.get("/acme/issues?query=is%3Asleepy").await;
    assert_eq!(status, 200);
    assert!(body.contains("id=\"search-error\""), "{body}");

    // Comments: add, and delete one's own only.
    let comments = format!("/acme/issues/{}/comments", value.id);
    assert_eq!(ada.post(&comments, &[("text", "Mine".into())], true).await.0, 303);
    let admin = Session::login(&app, "admin@example.com").await;
    assert_eq!(admin.post(&comments, &[("text", "Theirs".into())], true).await.0, 303);
    assert_eq!(ada.post(&comments, &[("text", "  ".into())], true).await.0, 400);
    let list = app.store.issue_comments(value.id, 0, 10).await.unwrap();
    let id_of = |text: &str| list.iter().find(|c| c.text == text).unwrap().id;
    let (_, page) = ada.get(&format!("/acme/issues/{}", value.id)).await;
    assert!(page.contains(&format!("{comments}/{}/delete", id_of("Mine"))));
    assert!(!page.contains(&format!("{comments}/{}/delete", id_of("Theirs"))));
    assert_eq!(ada.post(&format!("{comments}/{}/delete", id_of("Theirs")), &[], true).await.0, 403);
    assert_eq!(ada.post(&format!("{comments}/{}/delete", id_of("Mine")), &[], true).await.0, 303);
    let left: Vec<String> =
        app.store.issue_comments(value.id, 0, 10).await.unwrap().into_iter().map(|c| c.text).collect();
    assert_eq!(left, ["Theirs"]);

    // Merge: refused for one issue, done for two of the same project.
    let back = ("back", "/acme/issues?query=".to_string());
    let merge = |ids: &[&Issue]| {
        let mut f = vec![("action", "merge".to_string()), back.clone()];
        f.extend(ids.iter().map(|i| ("id", i.id.to_string())));
        f
    };
    let (_, location) = ada.post("/acme/issues/bulk", &merge(&[key]), true).await;
    assert!(location.ends_with("notice=merge-few"), "{location}");
    let (_, location) = ada.post("/acme/issues/bulk", &merge(&[key, value]), true).await;
    assert!(location.ends_with("notice=merged"), "{location}");
    assert_eq!(app.store.project_issues(key.project_id, 10).await.unwrap().len(), 2);
    let (_, body) = ada.get(&location).await;
    assert!(body.contains("The issues are merged into one."));

    // Delete from the detail page.
    let info = issue(&issues, "Cache warmed");
    let (status, location) = ada.post(&format!("/acme/issues/{}/delete", info.id), &[], true).await;
    assert_eq!((status, location.as_str()), (303, "/acme/issues"));
    assert_eq!(app.store.project_issues(info.project_id, 10).await.unwrap().len(), 1);

    // A CSP report: its directive, blocked host and report.
    let csp =
        br#"{"csp-report": {"blocked-uri": "http://evil.example.com/x.css", "document-uri": "http://shop.example.com/",
        "effective-directive": "style-src-elem", "violated-directive": "style-src-elem",
        "original-policy": "default-src 'self'", "disposition": "enforce", "status-code": 200}}"#;
    let res = app
        .http
        .post(app.url(&format!("/api/{}/security/?sentry_key={}", web.id, web.key)))
        .header("content-type", "application/csp-report")
        .body(csp.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    app.wait_for_digest(Duration::from_secs(30)).await;
    let report =
        app.store.project_issues(ProjectId(web.id), 10).await.unwrap().into_iter().find(|i| i.ty == 2).unwrap();
    let (status, body) = ada.get("/acme/issues").await;
    assert_eq!(status, 200);
    assert!(body.contains("csp report"), "{body}");
    let (status, body) = ada.get(&format!("/acme/issues/{}", report.id)).await;
    assert_eq!(status, 200);
    assert!(body.contains("id=\"csp-report\"") && body.contains("style-src-elem"), "{body}");
    assert!(body.contains("evil.example.com"), "{body}");
}

async fn ui_releases_list_and_detail(app: TestApp) {
    let (_, issues) = seed(&app).await;
    // Another organization with a release of the same name: counted apart, hidden.
    let other = app.create_project("other", "secret").await;
    for _ in 0..3 {
        send(&app, &other, value_error("9")).await;
    }
    app.wait_for_digest(Duration::from_secs(30)).await;
    let ada = Session::login(&app, "ada@example.com").await;

    let (status, body) = ada.get("/acme/releases").await;
    assert_eq!(status, 200, "{body}");
    let table = &body[body.find("id=\"releases\"").expect("a release table")..];
    assert!(table.contains("href=\"/acme/releases/1.0\">1.0</a>"), "{table}");
    // ValueError ×2 carries release 1.0; the KeyError and the message carry none.
    let cells: Vec<&str> = table.split("<td class=\"num\">").skip(1).map(|c| &c[..c.find('<').unwrap()]).collect();
    assert_eq!(cells[..2], ["1", "2"], "issues and events of 1.0 in acme only: {table}");

    let (status, body) = ada.get("/acme/releases/1.0").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("id=\"release-issues\">1<") && body.contains("id=\"release-events\">2<"), "{body}");
    let value = issue(&issues, "ValueError");
    assert!(body.contains(&format!("href=\"/acme/issues/{}\"", value.id)), "{body}");
    assert!(!body.contains("KeyError"), "{body}");
    assert!(body.contains("query=release%3A%221.0%22"), "links to the filtered issue list: {body}");
    // The issue's page offers the plain-text traceback.
    let (status, body) = ada.get(&format!("/acme/issues/{}", value.id)).await;
    assert_eq!(status, 200);
    let raw = &body[body.find("id=\"raw-traceback-text\"").expect("a raw traceback")..];
    assert!(raw.contains("line 10, in index") && raw.contains("ValueError: bad input"), "{raw}");

    // Unknown releases and other organizations' releases are not found.
    assert_eq!(ada.get("/acme/releases/9.9").await.0, 404);
    assert_eq!(ada.get("/other/releases").await.0, 404);
    assert_eq!(ada.get("/other/releases/1.0").await.0, 404);
}

app_tests!(
    ui_issue_list_search_and_bulk_triage,
    ui_issue_detail_shows_the_event,
    ui_issue_pages_check_access_and_csrf,
    ui_releases_list_and_detail
);
