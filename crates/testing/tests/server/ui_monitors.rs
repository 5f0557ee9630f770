//! The uptime monitor pages over plain HTTP, as a browser without JavaScript uses
//! them: the list with its check strip, the form (validation errors keep what was
//! typed), the detail page with uptime, the SVG response-time chart, incidents,
//! checks and the heartbeat URL, and delete.

use std::collections::BTreeMap;

use faultline_store::{CheckResult, Timestamp};
use faultline_testing::{app_tests, TestApp};
use reqwest::header::HeaderMap;
use reqwest::StatusCode;

/// A cookie-keeping client that does not follow redirects.
struct Browser {
    client: reqwest::Client,
    base: String,
    cookies: BTreeMap<String, String>,
}

struct Page {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Page {
    fn location(&self) -> String {
        self.headers.get("location").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
    }

    fn csrf(&self) -> String {
        let marker = "name=\"csrfmiddlewaretoken\" value=\"";
        let start = self.body.find(marker).expect("a form with a CSRF token") + marker.len();
        let end = self.body[start..].find('"').unwrap();
        self.body[start..start + end].to_string()
    }

    fn assert_csp(&self) {
        let csp = self.headers.get("content-security-policy").expect("a Content-Security-Policy header");
        let csp = csp.to_str().unwrap();
        assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
        assert!(!self.body.contains("style=\"") && !self.body.contains("<script>"), "no inline style or script");
    }
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&#x2f;", "/")
        .replace("&#x2F;", "/")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

impl Browser {
    fn new(app: &TestApp) -> Browser {
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Browser { client, base: app.base_url.clone(), cookies: BTreeMap::new() }
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    async fn finish(&mut self, res: reqwest::Response) -> Page {
        for value in res.headers().get_all("set-cookie") {
            let value = value.to_str().unwrap();
            let (name, v) = value.split(';').next().unwrap().split_once('=').unwrap();
            if v.is_empty() || value.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_string(), v.to_string());
            }
        }
        let status = res.status();
        let headers = res.headers().clone();
        Page { status, headers, body: unescape(&res.text().await.unwrap()) }
    }

    async fn get(&mut self, path: &str) -> Page {
        let res = self
            .client
            .get(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.finish(res).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let res = self
            .client
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .form(form)
            .send()
            .await
            .unwrap();
        self.finish(res).await
    }

    /// GETs `page` for its CSRF token, then posts `form` with it to `action`.
    async fn submit(&mut self, page: &str, action: &str, form: &[(&str, &str)]) -> Page {
        let csrf = self.get(page).await.csrf();
        let mut fields = vec![("csrfmiddlewaretoken", csrf.as_str())];
        fields.extend_from_slice(form);
        self.post(action, &fields).await
    }

    async fn register(&mut self, email: &str) {
        let page = self
            .post(
                "/register",
                &[("email", email), ("password", "a long password"), ("password2", "a long password"), ("next", "/")],
            )
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
    }

    async fn create_org(&mut self, name: &str) -> String {
        let page = self.submit("/organizations/new", "/organizations/new", &[("name", name)]).await;
        assert_eq!(page.status, 303, "{}", page.body);
        page.location().trim_start_matches('/').split('/').next().unwrap().to_string()
    }
}

/// The id in `/{org}/uptime-monitors/{id}/?done=created`.
fn created_id(page: &Page) -> i64 {
    assert_eq!(page.status, 303, "{}", page.body);
    let location = page.location();
    assert!(location.ends_with("/?done=created"), "{location}");
    location.split('/').rev().nth(1).unwrap().parse().unwrap()
}

fn check(monitor: i64, minutes_ago: i64, up: bool, ms: i64, health: &str, transition: Option<&str>) -> CheckResult {
    CheckResult {
        monitor_id: monitor,
        checked_at: Timestamp::now().plus_secs(-minutes_ago * 60),
        is_up: up,
        reason: (!up).then_some(2),
        response_ms: Some(ms),
        data: None,
        health: health.into(),
        consecutive_failures: i64::from(!up),
        consecutive_successes: i64::from(up),
        next_check_at: None,
        tls_expires_at: None,
        transition: transition.map(String::from),
    }
}

async fn monitor_pages(app: TestApp) {
    let mut b = Browser::new(&app);
    b.register("owner@example.com").await;
    let org = b.create_org("Watchers").await;
    let new_project = format!("/{org}/settings/projects/new");
    let page = b.submit(&new_project, &new_project, &[("name", "Shop"), ("platform", "python")]).await;
    assert_eq!(page.status, 303, "{}", page.body);
    let organization = app.store.organization_by_slug(&org).await.unwrap().unwrap();
    let project = app.store.project_by_slug(organization.id, "shop").await.unwrap().unwrap();

    // Empty list.
    let list = format!("/{org}/uptime-monitors/");
    let page = b.get(&list).await;
    assert_eq!(page.status, 200);
    page.assert_csp();
    assert!(page.body.contains("Uptime Monitors (0)"), "{}", page.body);
    assert!(page.body.contains("No monitors were found."));
    assert!(page.body.contains("+ Add monitor"));
    assert!(page.body.contains(&format!("href=\"/{org}/uptime-monitors/\">Uptime</a>")), "the nav links the page");

    // A refused form keeps what was typed and says why.
    let new = format!("/{org}/uptime-monitors/new/");
    let page = b.get(&new).await;
    assert_eq!(page.status, 200);
    page.assert_csp();
    for label in ["Ping", "HTTP (any method)", "TCP Port", "SSL certificate", "Heartbeat", "Failure threshold"] {
        assert!(page.body.contains(label), "{label}");
    }
    let page = b
        .submit(
            &new,
            &new,
            &[("name", "Shop front"), ("monitor_type", "GET"), ("url", "ftp://shop.example"), ("interval", "60")],
        )
        .await;
    assert_eq!(page.status, 400, "{}", page.body);
    page.assert_csp();
    assert!(page.body.contains("url must be an http:// or https:// URL"), "{}", page.body);
    assert!(page.body.contains("value=\"ftp://shop.example\"") && page.body.contains("value=\"Shop front\""));
    let page = b
        .submit(
            &new,
            &new,
            &[("name", "Shop front"), ("monitor_type", "GET"), ("url", "https://x"), ("headers", "nonsense")],
        )
        .await;
    assert_eq!(page.status, 400);
    assert!(page.body.contains("Name: value"), "{}", page.body);

    // Without a CSRF token nothing is created.
    let page = b.post(&new, &[("name", "x"), ("monitor_type", "GET"), ("url", "https://x")]).await;
    assert_eq!(page.status, 403);

    // Created (paused, so the scheduler leaves it to the checks recorded below).
    let project_id = project.id.0.to_string();
    let page = b
        .submit(
            &new,
            &new,
            &[
                ("name", "Shop front"),
                ("monitor_type", "HTTP"),
                ("method", "PUT"),
                ("url", "https://shop.example/health"),
                ("accepted_status", "200-299, 301"),
                ("keyword", "ok"),
                ("headers", "X-Probe: faultline\nAuthorization: Bearer a:b"),
                ("body", "{}"),
                ("follow_redirects", "on"),
                ("interval", "120"),
                ("timeout", "10"),
                ("retry_interval", "30"),
                ("failure_threshold", "3"),
                ("recovery_threshold", "1"),
                ("tls_warn_days", "7"),
                ("project", &project_id),
                ("environment", "production"),
                ("paused", "on"),
            ],
        )
        .await;
    let id = created_id(&page);
    let m = app.store.monitor(organization.id, id).await.unwrap();
    assert_eq!((m.kind.as_str(), m.method.as_str(), m.interval_s, m.failure_threshold), ("http", "PUT", 120, 3));
    assert_eq!(m.headers, r#"[["X-Probe","faultline"],["Authorization","Bearer a:b"]]"#);
    assert!(m.follow_redirects && !m.verify_tls && m.paused);
    assert_eq!((m.project_id, m.environment.as_deref()), (Some(project.id), Some("production")));

    let page = b.get(&list).await;
    assert!(page.body.contains("Uptime Monitors (1)"));
    assert!(page.body.contains("Shop front") && page.body.contains("https://shop.example/health"));
    assert!(page.body.contains("Paused"));
    assert_eq!(page.body.matches("class=\"pill pill-none\"").count(), 60, "an empty strip");

    // Edit: the form shows the stored values; a bad value is refused, a good one saved.
    let edit = format!("/{org}/uptime-monitors/{id}/edit/");
    let page = b.get(&edit).await;
    assert_eq!(page.status, 200);
    page.assert_csp();
    assert!(page.body.contains("X-Probe: faultline"), "{}", page.body);
    assert!(page.body.contains("<option value=\"PUT\" selected>"));
    let fields = [
        ("name", "Shop API"),
        ("monitor_type", "GET"),
        ("url", "https://shop.example/api"),
        ("interval", "60"),
        ("timeout", "99"),
        ("project", project_id.as_str()),
        ("paused", "on"),
        ("verify_tls", "on"),
    ];
    let page = b.submit(&edit, &edit, &fields).await;
    assert_eq!(page.status, 400);
    assert!(page.body.contains("timeout must be between 1 and 60"), "{}", page.body);
    assert!(page.body.contains("value=\"Shop API\"") && page.body.contains("Update Monitor"));
    let mut fields = fields.to_vec();
    fields[4] = ("timeout", "15");
    let page = b.submit(&edit, &edit, &fields).await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(page.location(), format!("/{org}/uptime-monitors/{id}/?done=saved"));
    let m = app.store.monitor(organization.id, id).await.unwrap();
    assert_eq!((m.name.as_str(), m.method.as_str(), m.timeout_s, m.failure_threshold), ("Shop API", "GET", 15, 2));

    // Checks: up, down (an incident begins), down, up again.
    app.store
        .record_monitor_checks(&[
            check(id, 40, true, 120, "up", None),
            check(id, 30, false, 300, "down", Some("monitor.down")),
            check(id, 20, false, 500, "down", None),
            check(id, 10, true, 100, "up", Some("monitor.up")),
        ])
        .await
        .unwrap();
    let detail = format!("/{org}/uptime-monitors/{id}/");
    let page = b.get(&format!("{detail}?done=saved")).await;
    assert_eq!(page.status, 200);
    page.assert_csp();
    let body = &page.body;
    assert!(body.contains("Uptime details for Shop API"), "{body}");
    assert!(body.contains("Monitor saved."));
    assert!(body.contains("Uptime check interval: 60 seconds"));
    assert_eq!(body.matches("50.00%").count(), 4, "24 h, 7 d, 30 d and 90 d: {body}");
    assert!(body.contains("<svg id=\"response-chart\""), "{body}");
    assert!(body.contains("<polyline class=\"chart-line\""));
    assert!(body.contains(" ms</text>"), "axis labels in ms");
    assert!(body.contains("title=\"Wrong status code at ") && body.contains("title=\"Up at "));
    assert_eq!(body.matches("class=\"pill pill-down\"").count(), 2);
    assert!(body.contains("down for 20 minutes"), "{body}");
    assert!(body.contains("no uptime alerts configured"));
    assert!(body.contains(&format!("href=\"/{org}/settings/projects/shop/alerts\"")));
    assert!(body.contains("Wrong status code") && body.contains("500 ms"));
    let page = b.get(&format!("{detail}?changes=1")).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.body.matches("<td class=\"num\">").count(), 2, "only the state changes");

    // An uptime rule on the project: the alerts card counts it.
    let alerts = format!("/{org}/settings/projects/shop/alerts");
    let page =
        b.submit(&alerts, &alerts, &[("trigger", "uptime"), ("recipient_type", "email"), ("interval", "60")]).await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert!(b.get(&detail).await.body.contains("There is 1 alert set up"));

    // The list shows the strip and the state.
    let page = b.get(&list).await;
    assert_eq!(page.body.matches("class=\"pill pill-up\"").count(), 2);
    assert_eq!(page.body.matches("class=\"pill pill-none\"").count(), 56);

    // A heartbeat monitor without a project: its URL, no chart, no project to alert.
    let page = b
        .submit(
            &new,
            &new,
            &[("name", "Nightly backup"), ("monitor_type", "Heartbeat"), ("interval", "3600"), ("timeout", "300")],
        )
        .await;
    let beat = created_id(&page);
    let m = app.store.monitor(organization.id, beat).await.unwrap();
    assert_eq!((m.kind.as_str(), m.url.as_str()), ("heartbeat", ""));
    assert!(m.next_check_at > Timestamp::now().plus_secs(3600), "due one period plus grace from now");
    let page = b.get(&format!("/{org}/uptime-monitors/{beat}/")).await;
    assert_eq!(page.status, 200);
    page.assert_csp();
    let url = format!(
        "{}{}/api/0/organizations/{org}/heartbeat_check/{}/",
        app.config.http.public_url,
        app.config.http.base_path,
        m.heartbeat_key.simple()
    );
    assert!(page.body.contains(&format!("value=\"{url}\"")), "{}", page.body);
    assert!(page.body.contains("at least every 3600 seconds"));
    assert!(!page.body.contains("response-chart"));
    assert!(page.body.contains("There is no project associated"));
    assert!(page.body.contains("No data"));

    // Someone outside the organization sees nothing.
    let mut other = Browser::new(&app);
    other.register("other@example.com").await;
    assert_eq!(other.get(&detail).await.status, 404);
    assert_eq!(other.get(&edit).await.status, 404);

    // Delete.
    let delete = format!("/{org}/uptime-monitors/{id}/delete/");
    let page = b.submit(&detail, &delete, &[]).await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(page.location(), format!("/{org}/uptime-monitors/?done=deleted"));
    assert!(app.store.monitor(organization.id, id).await.is_err());
    let page = b.get(&page.location()).await;
    assert!(page.body.contains("Monitor deleted.") && page.body.contains("Uptime Monitors (1)"));
    assert_eq!(b.get(&detail).await.status, 404);
}

app_tests!(monitor_pages);
