//! The web UI's onboarding, settings and profile pages over plain HTTP, as a browser
//! without JavaScript uses them: session cookie, CSRF token from the form, POST then
//! redirect.

use std::collections::BTreeMap;
use std::time::Duration;

use faultline_testing::smtp::SmtpSink;
use faultline_testing::{app_tests, TestApp, TestBackend};
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::{json, Value};

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

    /// The CSRF token of the first logged-in form.
    fn csrf(&self) -> String {
        attribute_after(&self.body, "name=\"csrfmiddlewaretoken\" value=\"").expect("a form with a CSRF token")
    }

    /// The `value` of the input with `id`.
    fn input(&self, id: &str) -> String {
        let at = self.body.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no #{id} in {}", self.body));
        attribute_after(&self.body[at..], "value=\"").expect("a value")
    }

    fn assert_csp(&self) {
        let csp = self.headers.get("content-security-policy").expect("a Content-Security-Policy header");
        let csp = csp.to_str().unwrap();
        assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
    }
}

fn attribute_after(html: &str, marker: &str) -> Option<String> {
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(unescape(&html[start..start + end]))
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
            let pair = value.split(';').next().unwrap();
            let (name, v) = pair.split_once('=').unwrap();
            if v.is_empty() || value.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_string(), v.to_string());
            }
        }
        let status = res.status();
        let headers = res.headers().clone();
        Page { status, headers, body: res.text().await.unwrap() }
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

    /// Registers (and so logs in) through the sign-up form.
    async fn register(&mut self, email: &str) {
        let page = self.get("/register").await;
        assert_eq!(page.status, 200);
        page.assert_csp();
        let page = self
            .post(
                "/register",
                &[("email", email), ("password", "a long password"), ("password2", "a long password"), ("next", "/")],
            )
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
        assert!(self.cookies.contains_key("faultline_session"));
    }

    /// Creates an organization through the form; returns its slug.
    async fn create_org(&mut self, name: &str) -> String {
        let page = self.submit("/organizations/new", "/organizations/new", &[("name", name)]).await;
        assert_eq!(page.status, 303, "{}", page.body);
        let location = page.location();
        assert!(location.ends_with("/settings/projects/new?done=org-created"), "{location}");
        location.trim_start_matches('/').split('/').next().unwrap().to_string()
    }

    /// Creates a project through the form; returns the project page's path.
    async fn create_project(&mut self, org: &str, name: &str, platform: &str) -> String {
        let path = format!("/{org}/settings/projects/new");
        let page = self.submit(&path, &path, &[("name", name), ("platform", platform)]).await;
        assert_eq!(page.status, 303, "{}", page.body);
        let location = page.location();
        assert!(location.ends_with("?done=project-created"), "{location}");
        location.split('?').next().unwrap().to_string()
    }
}

async fn onboarding_shows_the_dsn_and_waits_for_the_first_event(app: TestApp) {
    let mut b = Browser::new(&app);
    // Anonymous: the pages ask for a login.
    let page = b.get("/organizations/new").await;
    assert_eq!(page.status, 303);
    assert!(page.location().starts_with("/login?next="), "{}", page.location());

    b.register("first@example.com").await;
    let page = b.get("/organizations/new").await;
    assert_eq!(page.status, 200);
    page.assert_csp();
    let org = b.create_org("Acme Corp").await;
    assert_eq!(org, "acme-corp");

    let page = b.get("/acme-corp/settings/projects/new?done=org-created").await;
    assert_eq!(page.status, 200);
    page.assert_csp();
    assert!(page.body.contains("Organization created"));
    for platform in ["python", "javascript", "node", "go", "java", "csharp", "php", "ruby", "rust", "other"] {
        assert!(page.body.contains(&format!("name=\"platform\" value=\"{platform}\"")), "{platform}");
    }
    // A bad name is shown next to the form.
    let page =
        b.submit("/acme-corp/settings/projects/new", "/acme-corp/settings/projects/new", &[("name", "!!")]).await;
    assert_eq!(page.status, 400);
    assert!(page.body.contains("1 to 64 characters"), "{}", page.body);

    let path = b.create_project("acme-corp", "Web Shop", "python").await;
    assert_eq!(path, "/acme-corp/settings/projects/web-shop");
    let page = b.get(&format!("{path}?done=project-created")).await;
    assert_eq!(page.status, 200);
    page.assert_csp();
    assert!(page.body.contains("Project created"));

    let org = app.store.organization_by_slug("acme-corp").await.unwrap().unwrap();
    let project = app.store.project_by_slug(org.id, "web-shop").await.unwrap().unwrap();
    assert_eq!(project.platform.as_deref(), Some("python"));
    let keys = app.store.project_keys(project.id).await.unwrap();
    assert_eq!(keys.len(), 1);
    let dsn = faultline_domain::projects::dsn(&app.config.http.public_url, &app.config.http.base_path, &keys[0]);
    assert_eq!(page.input("dsn"), dsn);
    assert!(page.input("security-endpoint").contains(&format!("/api/{}/security/", project.id)));
    let body = unescape(&page.body);
    for snippet in [
        "sentry_sdk.init(",
        "@sentry/browser",
        "@sentry/node",
        "github.com/getsentry/sentry-go",
        "options.setDsn(",
        "SentrySdk.Init(",
        "\\Sentry\\init(",
        "config.dsn = ",
        "sentry::init((",
    ] {
        assert!(body.contains(snippet), "{snippet}");
    }
    assert!(body.contains(&format!("dsn=\"{dsn}\"")), "the Python snippet carries the DSN");
    assert!(body.contains("Waiting for the first event"));
    assert!(body.contains("data-first-event=\"/acme-corp/settings/projects/web-shop/first-event\""));

    let poll = format!("{path}/first-event");
    let page = b.get(&poll).await;
    assert_eq!(page.status, 200);
    assert_eq!(serde_json::from_str::<Value>(&page.body).unwrap(), json!({"received": false}));

    let event = json!({"platform": "python", "level": "error", "message": "first!"});
    let res = app
        .http
        .post(app.url(&format!("/api/{}/store/?sentry_key={}", project.id, keys[0].public_key)))
        .json(&event)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    app.wait_for_digest(Duration::from_secs(20)).await;
    let page = b.get(&poll).await;
    assert_eq!(serde_json::from_str::<Value>(&page.body).unwrap(), json!({"received": true}));
    let page = b.get(&path).await;
    assert!(page.body.contains("First event received"));
    assert!(!page.body.contains("data-first-event"));

    // The event's environment can be hidden and shown again.
    let event = json!({"platform": "python", "level": "error", "message": "staged", "environment": "staging"});
    let url = app.url(&format!("/api/{}/store/?sentry_key={}", project.id, keys[0].public_key));
    assert_eq!(app.http.post(url).json(&event).send().await.unwrap().status(), 200);
    app.wait_for_digest(Duration::from_secs(20)).await;
    let page = b.submit(&path, &format!("{path}/environments"), &[("name", "staging"), ("hidden", "true")]).await;
    assert_eq!(page.status, 303, "{}", page.body);
    let envs = app.store.project_environments(project.id).await.unwrap();
    assert!(envs.iter().any(|e| e.name == "staging" && e.is_hidden), "{envs:?}");
    assert!(b.get(&path).await.body.contains("Show"));

    // Per-project alert settings in the profile.
    let field = format!("project-{}", project.id);
    let page = b.submit("/profile", "/profile/notifications", &[(field.as_str(), "off")]).await;
    assert_eq!(page.status, 303, "{}", page.body);
    let first = app.store.user_by_email("first@example.com").await.unwrap().unwrap();
    assert_eq!(app.store.user_project_alerts(first.id).await.unwrap(), vec![(project.id, 0)]);
    let page = b.submit("/profile", "/profile/notifications", &[(field.as_str(), "default")]).await;
    assert_eq!(page.status, 303);
    assert!(app.store.user_project_alerts(first.id).await.unwrap().is_empty());

    let page = b.get("/acme-corp/projects").await;
    assert_eq!(page.status, 200);
    page.assert_csp();
    assert!(page.body.contains("Web Shop"));
    let page = b.get("/").await;
    page.assert_csp();
    assert!(page.body.contains("Web Shop"));
}

async fn keys_tokens_and_profile(app: TestApp) {
    let mut b = Browser::new(&app);
    b.register("owner@example.com").await;
    let org = b.create_org("Keys Inc").await;
    let path = b.create_project(&org, "Backend", "rust").await;
    let o = app.store.organization_by_slug(&org).await.unwrap().unwrap();
    let project = app.store.project_by_slug(o.id, "backend").await.unwrap().unwrap();

    // Create a key, then disable it with a rate limit.
    let page = b.submit(&path, &format!("{path}/keys"), &[("label", "Second")]).await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert!(page.location().ends_with("?done=key-created"));
    let keys = app.store.project_keys(project.id).await.unwrap();
    assert_eq!(keys.len(), 2);
    let second = keys.iter().find(|k| k.label == "Second").expect("the new key");
    assert!(second.is_active);
    let action = format!("{path}/keys/{}", second.public_key);
    let page = b.submit(&path, &action, &[("label", "Second"), ("rate_count", "10"), ("rate_window", "60")]).await;
    assert_eq!(page.status, 303, "{}", page.body);
    let key = app.store.project_key(project.id, &second.public_key).await.unwrap().unwrap();
    assert!(!key.is_active, "an unchecked box disables the key");
    assert_eq!((key.rate_limit_count, key.rate_limit_window), (Some(10), Some(60)));
    let page = b.get(&path).await;
    assert!(page.body.contains("disabled"));
    // A bad rate limit is refused inline.
    let page = b.submit(&path, &action, &[("label", "Second"), ("rate_count", "lots"), ("rate_window", "60")]).await;
    assert_eq!(page.status, 400);
    page.assert_csp();
    assert!(page.body.contains("The rate limit needs whole numbers"));
    // Rotating the default key: a new active key, the old one disabled.
    let default = keys.iter().find(|k| k.label == "Default").unwrap();
    let page = b.submit(&path, &format!("{path}/keys/{}/rotate", default.public_key), &[]).await;
    assert_eq!(page.status, 303, "{}", page.body);
    let keys = app.store.project_keys(project.id).await.unwrap();
    assert_eq!(keys.len(), 3);
    assert!(!keys.iter().find(|k| k.public_key == default.public_key).unwrap().is_active);

    // Project settings.
    let page = b
        .submit(
            &path,
            &path,
            &[("name", "Backend API"), ("platform", "go"), ("grouping", "glitchtip"), ("scrub_data", "on")],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let p = app.store.project(project.id).await.unwrap();
    assert_eq!((p.name.as_str(), p.platform.as_deref(), p.grouping.as_str()), ("Backend API", Some("go"), "glitchtip"));
    assert!(p.scrub_data && !p.scrub_ip_addresses);

    // Profile: name and theme, which the page frame then uses.
    let page = b.get("/profile").await;
    assert_eq!(page.status, 200);
    page.assert_csp();
    assert!(page.body.contains("owner@example.com") && page.body.contains("Not verified yet"));
    let page = b.submit("/profile", "/profile/resend-confirmation", &[]).await;
    assert_eq!(page.status, 303);
    assert_eq!(page.location(), "/profile?done=confirmation-sent");
    let page = b.submit("/profile", "/profile", &[("name", "Olive Owner"), ("theme", "dark")]).await;
    assert_eq!(page.status, 303);
    let page = b.get("/profile?done=profile-saved").await;
    assert!(page.body.contains("data-theme=\"dark\""));
    assert!(page.body.contains("Profile saved"));
    assert!(page.body.contains("Olive Owner"));

    // A token without scopes is refused; one with scopes is shown once and works.
    let page = b.submit("/profile", "/profile/tokens", &[("label", "none")]).await;
    assert_eq!(page.status, 400);
    assert!(page.body.contains("at least one scope"));
    let page = b
        .submit("/profile", "/profile/tokens", &[("label", "cli"), ("scopes", "org:read"), ("scopes", "project:read")])
        .await;
    assert_eq!(page.status, 201, "{}", page.body);
    page.assert_csp();
    let token = page.input("new-token");
    assert_eq!(token.len(), 64);
    let res = app.http.get(app.url("/api/0/organizations/")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let orgs: Value = res.json().await.unwrap();
    assert_eq!(orgs[0]["slug"], org.as_str());
    let page = b.get("/profile").await;
    assert!(page.body.contains("project:read, org:read"));
    assert!(!page.body.contains(&token), "the secret is shown once");

    // Password change: the current password is checked.
    let page = b
        .submit(
            "/profile",
            "/profile/password",
            &[("current", "wrong password"), ("password", "another long one"), ("password2", "another long one")],
        )
        .await;
    assert_eq!(page.status, 400);
    assert!(page.body.contains("current password is not correct"));
    let page = b
        .submit(
            "/profile",
            "/profile/password",
            &[("current", "a long password"), ("password", "another long one"), ("password2", "another long one")],
        )
        .await;
    assert_eq!(page.status, 303);
    assert_eq!(b.get("/profile").await.status, 200, "this session stays");

    // Delete a key, then the project.
    let page = b.submit(&path, &format!("{path}/keys/{}/delete", second.public_key), &[]).await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert!(app.store.project_key(project.id, &second.public_key).await.unwrap().is_none());
    let page = b.submit(&path, &format!("{path}/delete"), &[]).await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(page.location(), format!("/{org}/projects"));
    assert!(app.store.project_by_slug(o.id, "backend").await.unwrap().is_none());
    assert_eq!(b.get(&path).await.status, 404);
}

async fn forms_need_csrf_and_other_organizations_are_hidden(app: TestApp) {
    let mut owner = Browser::new(&app);
    owner.register("owner@example.com").await;
    let org = owner.create_org("Private").await;
    owner.create_project(&org, "Secret", "python").await;

    // No token, or a wrong one: 403, nothing changes.
    let page = owner.post(&format!("/{org}/settings"), &[("name", "Hacked")]).await;
    assert_eq!(page.status, 403);
    let page = owner.post(&format!("/{org}/settings"), &[("name", "Hacked"), ("csrfmiddlewaretoken", "nope")]).await;
    assert_eq!(page.status, 403);
    let page = owner.post("/organizations/new", &[("name", "Sneaky")]).await;
    assert_eq!(page.status, 403);
    assert_eq!(app.store.organization_by_slug(&org).await.unwrap().unwrap().name, "Private");

    // Rename through the form.
    let settings = format!("/{org}/settings");
    let page = owner.get(&settings).await;
    assert_eq!(page.status, 200);
    page.assert_csp();
    let page = owner.submit(&settings, &settings, &[("name", "  ")]).await;
    assert_eq!(page.status, 400);
    assert!(page.body.contains("1 to 64 characters"));
    let page = owner.submit(&settings, &settings, &[("name", "Private Renamed")]).await;
    assert_eq!(page.status, 303);
    assert_eq!(page.location(), format!("{settings}?done=org-saved"));
    let page = owner.get(&page.location()).await;
    assert!(page.body.contains("Organization saved") && page.body.contains("Private Renamed"));
    assert_eq!(app.store.organization_by_slug(&org).await.unwrap().unwrap().name, "Private Renamed");

    // Someone else (not a superuser, not a member) sees none of it.
    let mut other = Browser::new(&app);
    other.register("other@example.com").await;
    for path in [
        format!("/{org}/settings"),
        format!("/{org}/settings/members"),
        format!("/{org}/settings/teams"),
        format!("/{org}/projects"),
        format!("/{org}/settings/projects/new"),
        format!("/{org}/settings/projects/secret"),
        format!("/{org}/settings/projects/secret/first-event"),
    ] {
        assert_eq!(other.get(&path).await.status, 404, "{path}");
    }
    // Errors come as pages (with the page's CSP) outside the API, as JSON inside it.
    let page = other.get(&format!("/{org}/settings")).await;
    assert!(page.headers["content-type"].to_str().unwrap().starts_with("text/html"), "{:?}", page.headers);
    assert!(page.body.contains("404") && page.body.contains("Not Found"), "{}", page.body);
    page.assert_csp();
    let page = other.get("/no/such/page").await;
    assert_eq!(page.status, 404);
    assert!(page.body.contains("There is no page at this address."), "{}", page.body);
    let page = other.get("/api/0/no/such/route/").await;
    assert_eq!(page.status, 404);
    assert!(page.headers["content-type"].to_str().unwrap().starts_with("application/json"), "{:?}", page.headers);
    let csrf = other.get("/profile").await.csrf();
    let page = other.post(&settings, &[("name", "Mine now"), ("csrfmiddlewaretoken", &csrf)]).await;
    assert_eq!(page.status, 404);

    // Teams: create, add the project, delete.
    let teams = format!("/{org}/settings/teams");
    let page = owner.submit(&teams, &teams, &[("name", "Backend Team")]).await;
    assert_eq!(page.status, 303, "{}", page.body);
    let team_page = format!("/{org}/settings/teams/backend-team");
    assert!(page.location().starts_with(&team_page));
    let page = owner.get(&team_page).await;
    assert_eq!(page.status, 200);
    page.assert_csp();
    assert!(page.body.contains("owner@example.com"), "the creator joins the team");
    let page = owner.submit(&team_page, &format!("{team_page}/projects"), &[("project", "secret")]).await;
    assert_eq!(page.status, 303);
    let o = app.store.organization_by_slug(&org).await.unwrap().unwrap();
    let team = app.store.team(o.id, "backend-team").await.unwrap().unwrap();
    assert_eq!(app.store.team_projects(team.id).await.unwrap().len(), 1);
    // Leave and join again, rename, then delete.
    assert_eq!(owner.submit(&teams, &format!("{team_page}/leave"), &[]).await.status, 303);
    assert!(app.store.team_members(team.id).await.unwrap().is_empty());
    assert!(owner.get(&teams).await.body.contains("Join team"));
    assert_eq!(owner.submit(&teams, &format!("{team_page}/join"), &[]).await.status, 303);
    assert_eq!(app.store.team_members(team.id).await.unwrap().len(), 1);
    let page = owner.submit(&team_page, &format!("{team_page}/rename"), &[("name", "Platform")]).await;
    assert_eq!(page.status, 303, "{}", page.body);
    let team_page = format!("/{org}/settings/teams/platform");
    assert!(page.location().starts_with(&team_page), "{}", page.location());
    let page = owner.submit(&team_page, &format!("{team_page}/delete"), &[]).await;
    assert_eq!(page.status, 303);
    assert!(app.store.team(o.id, "platform").await.unwrap().is_none());
}

async fn alert_rules_page(app: TestApp) {
    let mut owner = Browser::new(&app);
    owner.register("owner@example.com").await;
    let org = owner.create_org("Alerting").await;
    let project_page = owner.create_project(&org, "Shop", "python").await;
    let alerts = format!("{project_page}/alerts");
    assert!(owner.get(&project_page).await.body.contains(&format!("href=\"{alerts}\"")));
    let page = owner.get(&alerts).await;
    assert_eq!(page.status, 200);
    page.assert_csp();
    assert!(page.body.contains("id=\"no-alerts\""));

    // A webhook without a URL is refused next to the form; nothing is stored.
    let bad = [("trigger", "new"), ("recipient_type", "webhook"), ("url", ""), ("interval", "60")];
    let page = owner.submit(&alerts, &alerts, &bad).await;
    assert_eq!(page.status, 400);
    assert!(page.body.contains("A webhook recipient needs an http(s) url."), "{}", page.body);
    // No CSRF token: refused.
    assert_eq!(owner.post(&alerts, &bad).await.status, 403);

    // A frequency rule to a webhook nobody listens on (port 9 on 127.0.0.1).
    let form = [
        ("name", "Spikes"),
        ("trigger", "frequency"),
        ("quantity", "5"),
        ("timespan", "10"),
        ("min_level", "error"),
        ("environment", "production"),
        ("recipient_type", "webhook"),
        ("url", "http://127.0.0.1:9/hook"),
        ("interval", "30"),
    ];
    let page = owner.submit(&alerts, &alerts, &form).await;
    assert_eq!(page.status, 303, "{}", page.body);
    let page = owner.get(&page.location()).await;
    assert!(page.body.contains("Alert rule created."), "{}", page.body);
    assert!(
        page.body.contains(
            "When an issue gets 5 or more events in 10 minutes, with level error or higher, in production, \
             notify at most every 30 minutes per issue."
        ),
        "{}",
        page.body
    );
    let project = app.store.organization_by_slug(&org).await.unwrap().unwrap();
    let shop = app.store.organization_projects(project.id).await.unwrap().remove(0);
    let rules = app.store.alert_rules(shop.id).await.unwrap();
    assert_eq!((rules.len(), rules[0].quantity, rules[0].timespan_minutes), (1, 5, 10));
    // The recipient's URL is shown by host only (chat URLs carry tokens).
    assert!(page.body.contains("<code>webhook (127.0.0.1:9)</code>"), "{}", page.body);
    assert!(!page.body.contains("127.0.0.1:9/hook"));

    // Users affected with a tag filter, and monitor transitions, read as sentences.
    let users = [
        ("trigger", "users"),
        ("users", "25"),
        ("users_timespan", "30"),
        ("tag_key", "browser.name"),
        ("tag_value", "Firefox"),
        ("recipient_type", "email"),
        ("interval", "60"),
    ];
    let page = owner.submit(&alerts, &alerts, &users).await;
    assert_eq!(page.status, 303, "{}", page.body);
    let uptime = [("trigger", "uptime"), ("recipient_type", "email"), ("interval", "60")];
    assert_eq!(owner.submit(&alerts, &alerts, &uptime).await.status, 303);
    let page = owner.get(&alerts).await;
    assert!(
        page.body.contains("When an issue affects 25 or more users in 30 minutes, with tag browser.name = Firefox,"),
        "{}",
        page.body
    );
    assert!(page.body.contains("When an uptime monitor or cron job of this project goes down or recovers,"));
    let rules = app.store.alert_rules(shop.id).await.unwrap();
    assert_eq!(rules.len(), 3);
    assert_eq!((rules[1].users_quantity, rules[1].on_frequency, rules[1].on_new_issue), (Some(25), false, false));
    assert!(rules[2].uptime && !rules[2].on_frequency && !rules[2].on_regression);
    for r in &rules[1..] {
        app.store.delete_alert_rule(shop.id, r.id).await.unwrap();
    }

    // "Send test notification": the worker tries the dead webhook and logs it.
    let rule = format!("{alerts}/{}", rules[0].id);
    let page = owner.submit(&alerts, &format!("{rule}/test"), &[]).await;
    assert_eq!(page.status, 303);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let page = owner.get(&alerts).await;
        if page.body.contains("<table class=\"deliveries\">") {
            assert!(page.body.contains("<td>error</td>"), "{}", page.body);
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no delivery was logged: {}", page.body);
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }

    // Someone else sees nothing of it; the owner deletes the rule.
    let mut other = Browser::new(&app);
    other.register("other@example.com").await;
    assert_eq!(other.get(&alerts).await.status, 404);
    let page = owner.submit(&alerts, &format!("{rule}/delete"), &[]).await;
    assert_eq!(page.status, 303);
    assert!(app.store.alert_rules(shop.id).await.unwrap().is_empty());
}

app_tests!(
    alert_rules_page,
    onboarding_shows_the_dsn_and_waits_for_the_first_event,
    keys_tokens_and_profile,
    forms_need_csrf_and_other_organizations_are_hidden
);

async fn invitations(backend: TestBackend) {
    let smtp = SmtpSink::start().await;
    let Some(app) = TestApp::builder(backend).env("EMAIL_URL", &smtp.url()).start().await else { return };
    let mut b = Browser::new(&app);
    b.register("boss@example.com").await;
    let org = b.create_org("Team Work").await;
    let members = format!("/{org}/settings/members");
    let page = b.get(&members).await;
    assert_eq!(page.status, 200);
    page.assert_csp();

    let page = b.submit(&members, &members, &[("email", "not an email"), ("role", "member")]).await;
    assert_eq!(page.status, 400);
    assert!(page.body.contains("role=\"alert\""));
    let teams = format!("/{org}/settings/teams");
    assert_eq!(b.submit(&teams, &teams, &[("name", "web")]).await.status, 303);
    let page = b
        .submit(
            &members,
            &members,
            &[("email", "new@example.com, other@example.com"), ("role", "member"), ("teams", "web")],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(page.location(), format!("{members}?done=invited"));
    let mail = smtp.wait_for("new@example.com", Duration::from_secs(20)).await;
    assert!(mail.link_containing("/accept/").is_some(), "{}", mail.data);
    smtp.wait_for("other@example.com", Duration::from_secs(20)).await;
    let o = app.store.organization_by_slug(&org).await.unwrap().unwrap();
    let web = app.store.team(o.id, "web").await.unwrap().unwrap();
    assert_eq!(app.store.team_members(web.id).await.unwrap().len(), 3, "the creator and both invitations");
    // Inviting an address twice is refused, and says so.
    let page = b.submit(&members, &members, &[("email", "new@example.com"), ("role", "member")]).await;
    assert_eq!(page.status, 400);
    assert!(page.body.contains("already a member or invited"), "{}", page.body);

    let page = b.get(&members).await;
    assert!(page.body.contains("new@example.com") && page.body.contains("invited"));
    let invited = app.store.members(o.id).await.unwrap().into_iter().find(|m| m.email() == "new@example.com").unwrap();
    let page = b.submit(&members, &format!("{members}/{}/role", invited.id), &[("role", "admin")]).await;
    assert_eq!(page.status, 303, "{}", page.body);
    let row = app.store.member(o.id, invited.id).await.unwrap().unwrap();
    assert_eq!(row.role(), faultline_store::Role::Admin);

    // The last owner cannot step down.
    let me = app.store.members(o.id).await.unwrap().into_iter().find(|m| !m.pending()).unwrap();
    let page = b.submit(&members, &format!("{members}/{}/role", me.id), &[("role", "member")]).await;
    assert_eq!(page.status, 400);
    assert!(page.body.contains("at least one owner"));

    // Resend; the invitee accepts the new link.
    let page = b.submit(&members, &format!("{members}/{}/resend", invited.id), &[]).await;
    assert_eq!(page.status, 303);
    let link = loop {
        let mails: Vec<_> =
            smtp.messages().into_iter().filter(|m| m.to.iter().any(|t| t == "new@example.com")).collect();
        if mails.len() >= 2 {
            break mails[1].link_containing("/accept/").expect("an accept link");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let accept = link.split_once("://").unwrap().1.split_once('/').map(|(_, p)| format!("/{p}")).unwrap();
    let mut newbie = Browser::new(&app);
    newbie.register("new@example.com").await;
    let page = newbie.submit(&accept, &accept, &[]).await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert!(!app.store.member(o.id, invited.id).await.unwrap().unwrap().pending());
    assert_eq!(newbie.get(&members).await.status, 200);

    // Team membership.
    let teams = format!("/{org}/settings/teams");
    assert_eq!(b.submit(&teams, &teams, &[("name", "ops")]).await.status, 303);
    let team_page = format!("/{org}/settings/teams/ops");
    let id = invited.id.to_string();
    let page = b.submit(&team_page, &format!("{team_page}/members"), &[("member", id.as_str())]).await;
    assert_eq!(page.status, 303, "{}", page.body);
    let team = app.store.team(o.id, "ops").await.unwrap().unwrap();
    assert_eq!(app.store.team_members(team.id).await.unwrap().len(), 2);
    let page = b.submit(&team_page, &format!("{team_page}/members/{id}/remove"), &[]).await;
    assert_eq!(page.status, 303);
    assert_eq!(app.store.team_members(team.id).await.unwrap().len(), 1);

    // An admin cannot delete the organization; after ownership moves, the new owner can.
    let settings = format!("/{org}/settings");
    let page = newbie.submit(&settings, &format!("{settings}/delete"), &[]).await;
    assert_eq!(page.status, 403);
    let page = b.submit(&members, &format!("{members}/{id}/owner"), &[]).await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(app.store.member(o.id, invited.id).await.unwrap().unwrap().role(), faultline_store::Role::Owner);
    let page = newbie.submit(&settings, &format!("{settings}/delete"), &[]).await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert!(app.store.organization_by_slug(&org).await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitations_sqlite() {
    invitations(TestBackend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitations_postgres() {
    invitations(TestBackend::Postgres).await;
}

/// In a real headless Chromium: onboarding through the forms (platform radio grid),
/// the project page flipping to "first event received" without a reload (app.js
/// polls), and no Content-Security-Policy problems on any of these pages.
async fn onboarding_in_chromium(app: TestApp) {
    use faultline_testing::browser::Browser as Chromium;

    let Some(browser) = Chromium::start().await else { return };
    faultline_domain::accounts::register(&app.store, true, "first@example.com", "a long password", "First")
        .await
        .unwrap();
    browser.login(&app, "first@example.com", "a long password").await;
    let assert_clean = |problems: Vec<String>, page: &str| assert!(problems.is_empty(), "{page}: {problems:?}");

    browser.open(&app, "/organizations/new").await;
    assert_clean(browser.csp_problems().await, "new organization");
    browser.find("#org-name").await.send_keys("Chromium Org").await.unwrap();
    browser.find("form[action$='/organizations/new'] button[type=submit]").await.click().await.unwrap();
    browser.wait_until(|p| p.starts_with("/chromium-org/settings/projects/new"), "the new project page").await;
    assert_clean(browser.csp_problems().await, "new project");
    browser.find("input[name=platform][value=node]").await.click().await.unwrap();
    browser.find("#project-name").await.send_keys("Frontend").await.unwrap();
    browser.find("form[action$='/settings/projects/new'] button[type=submit]").await.click().await.unwrap();
    browser.wait_until(|p| p.starts_with("/chromium-org/settings/projects/frontend"), "the project page").await;
    assert_clean(browser.csp_problems().await, "project");
    let dsn = browser.find("#dsn").await.prop("value").await.unwrap().unwrap_or_default();
    assert!(dsn.starts_with("http://") && dsn.ends_with("/1"), "{dsn}");
    assert!(browser.text("details[open] summary").await.contains("Node.js"), "the chosen platform's snippet is open");
    assert!(browser.text("#first-event").await.contains("Waiting for the first event"));

    // An event arrives: the page notices by itself.
    let org = app.store.organization_by_slug("chromium-org").await.unwrap().unwrap();
    let project = app.store.project_by_slug(org.id, "frontend").await.unwrap().unwrap();
    assert_eq!(project.platform.as_deref(), Some("node"));
    let key = &app.store.project_keys(project.id).await.unwrap()[0];
    let event = json!({"platform": "node", "level": "error", "message": "hello from node"});
    let url = app.url(&format!("/api/{}/store/?sentry_key={}", project.id, key.public_key));
    assert_eq!(app.http.post(url).json(&event).send().await.unwrap().status(), 200);
    browser.wait_for("#first-event", |t| t.contains("First event received")).await;
    let href = browser.find("#first-event a").await.attr("href").await.unwrap().unwrap_or_default();
    assert_eq!(href, format!("/chromium-org/issues?project={}", project.id));

    for page in [
        "/chromium-org/projects",
        "/chromium-org/settings",
        "/chromium-org/settings/members",
        "/chromium-org/settings/teams",
        "/profile",
    ] {
        browser.open(&app, page).await;
        assert_clean(browser.csp_problems().await, page);
    }
    browser.quit().await;
}

mod chromium {
    use super::*;
    app_tests!(onboarding_in_chromium);
}
