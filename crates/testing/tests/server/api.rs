//! Accounts, organizations, projects, keys and tokens through the REST API, with
//! sessions (and CSRF) and with tokens, plus sentry-cli as a real client.

use std::process::Command;
use std::time::Duration;

use faultline_domain::access::Scopes;
use faultline_testing::smtp::SmtpSink;
use faultline_testing::{app_tests, clients, TestApp, TestAppBuilder, TestBackend};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// A browser-like client: the session cookie and the CSRF token it carries.
struct Browser {
    cookie: String,
    csrf: String,
}

fn cookies(res: &reqwest::Response) -> Browser {
    let mut cookie = Vec::new();
    let mut csrf = String::new();
    for value in res.headers().get_all("set-cookie") {
        let pair = value.to_str().unwrap().split(';').next().unwrap().to_string();
        if let Some(v) = pair.strip_prefix("csrftoken=") {
            csrf = v.to_string();
        }
        cookie.push(pair);
    }
    Browser { cookie: cookie.join("; "), csrf }
}

async fn call(
    app: &TestApp,
    browser: Option<&Browser>,
    token: Option<&str>,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = app.http.request(method, app.url(path));
    if let Some(b) = browser {
        req = req.header("cookie", &b.cookie).header("x-csrftoken", &b.csrf);
    }
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

async fn signup(app: &TestApp, email: &str, password: &str) -> (StatusCode, Option<Browser>, Value) {
    let res = app
        .http
        .post(app.url("/_allauth/browser/v1/auth/signup"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    let status = res.status();
    let browser = (status == 200).then(|| cookies(&res));
    (status, browser, res.json().await.unwrap())
}

async fn login(app: &TestApp, email: &str, password: &str) -> (StatusCode, Option<Browser>) {
    let res = app
        .http
        .post(app.url("/_allauth/browser/v1/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, (status == 200).then(|| cookies(&res)))
}

async fn sessions_and_csrf(app: TestApp) {
    let (status, browser, body) = signup(&app, "first@example.com", "a long password").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["meta"]["is_authenticated"], true);
    let browser = browser.unwrap();
    let (_, me) = call(&app, Some(&browser), None, Method::GET, "/api/0/", None).await;
    assert_eq!(me["user"]["email"], "first@example.com");
    assert_eq!(me["user"]["isSuperuser"], true, "the first user is a superuser");

    // Writes with a session need the CSRF token.
    let res = app
        .http
        .post(app.url("/api/0/organizations/"))
        .header("cookie", &browser.cookie)
        .json(&json!({"name": "Acme"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(res.text().await.unwrap().contains("CSRF"));
    let (status, org) =
        call(&app, Some(&browser), None, Method::POST, "/api/0/organizations/", Some(json!({"name": "Acme Corp"})))
            .await;
    assert_eq!(status, 201, "{org}");
    assert_eq!(org["slug"], "acme-corp");

    // A cross-site login form is refused.
    let res = app
        .http
        .post(app.url("/_allauth/browser/v1/auth/login"))
        .header("origin", "https://evil.example.net")
        .json(&json!({"email": "first@example.com", "password": "a long password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);

    // Wrong passwords, then the limiter.
    for _ in 0..10 {
        assert_eq!(login(&app, "first@example.com", "wrong password").await.0, 400);
    }
    assert_eq!(login(&app, "first@example.com", "a long password").await.0, 429);

    // Logout ends the session.
    let res = app
        .http
        .delete(app.url("/_allauth/browser/v1/auth/session"))
        .header("cookie", &browser.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let (status, _) = call(&app, Some(&browser), None, Method::GET, "/api/0/organizations/", None).await;
    assert_eq!(status, 401);

    // Registration is open by default; a second account is not a superuser.
    let (status, second, _) = signup(&app, "second@example.com", "another password").await;
    assert_eq!(status, 200);
    let (_, me) = call(&app, second.as_ref(), None, Method::GET, "/api/0/", None).await;
    assert_eq!(me["user"]["isSuperuser"], false);
    let (status, _, body) = signup(&app, "second@example.com", "another password").await;
    assert_eq!(status, 400, "{body}");
}

fn closed(b: TestAppBuilder) -> TestAppBuilder {
    b.env("ENABLE_USER_REGISTRATION", "false")
}

async fn registration_can_be_closed_except_for_the_first_user(app: TestApp) {
    assert_eq!(signup(&app, "root@example.com", "a long password").await.0, 200);
    let (status, _, body) = signup(&app, "other@example.com", "a long password").await;
    assert_eq!(status, 403, "{body}");
    let (_, settings) = call(&app, None, None, Method::GET, "/api/settings/", None).await;
    assert_eq!(settings["enableUserRegistration"], false);
}

async fn token_for(app: &TestApp, email: &str, scopes: &str) -> String {
    let user = match app.store.user_by_email(email).await.unwrap() {
        Some(u) => u,
        None => app
            .store
            .create_user(&faultline_store::NewUser {
                email: email.into(),
                password_hash: Some(faultline_domain::password::hash("a long password")),
                ..Default::default()
            })
            .await
            .unwrap(),
    };
    faultline_domain::tokens::create(&app.store, &user, "test", Scopes::parse_list(scopes).unwrap()).await.unwrap().1
}

async fn organizations_projects_and_keys(app: TestApp) {
    let all = "org:read,org:write,org:admin,project:read,project:write,project:admin,event:read,member:read,team:read";
    let token = token_for(&app, "owner@example.com", all).await;
    let t = Some(token.as_str());
    let (status, org) = call(&app, None, t, Method::POST, "/api/0/organizations/", Some(json!({"name": "Acme"}))).await;
    assert_eq!(status, 201, "{org}");
    let (status, project) = call(
        &app,
        None,
        t,
        Method::POST,
        "/api/0/organizations/acme/projects/",
        Some(json!({"name": "Web Shop", "platform": "python"})),
    )
    .await;
    assert_eq!(status, 201, "{project}");
    assert_eq!(project["slug"], "web-shop");
    assert!(project["id"].is_string(), "ids are strings: {project}");

    let (_, list) = call(&app, None, t, Method::GET, "/api/0/projects/", None).await;
    assert_eq!(list[0]["organization"]["slug"], "acme", "GitLab reads the organization: {list}");
    let (_, orgs) = call(&app, None, t, Method::GET, "/api/0/organizations/", None).await;
    assert_eq!(orgs[0]["slug"], "acme");
    let (_, detail) = call(&app, None, t, Method::GET, "/api/0/organizations/acme/", None).await;
    assert_eq!(detail["projects"][0]["slug"], "web-shop");
    assert_eq!(detail["role"], "owner");

    let (_, keys) = call(&app, None, t, Method::GET, "/api/0/projects/acme/web-shop/keys/", None).await;
    let key = keys[0]["public"].as_str().unwrap().to_string();
    let dsn = keys[0]["dsn"]["public"].as_str().unwrap().to_string();
    assert!(dsn.contains(&key) && dsn.ends_with(&format!("/{}", project["id"].as_str().unwrap())), "{dsn}");
    assert!(keys[0]["dsn"]["security"].as_str().unwrap().contains("/security/?glitchtip_key="));

    // Disabling a key through the API stops ingest with it at once.
    let envelope = || b"{}\n{\"type\":\"event\"}\n{\"message\":\"hi\"}\n".to_vec();
    let ingest = app.url(&format!("/api/{}/envelope/?sentry_key={key}", project["id"].as_str().unwrap()));
    assert_eq!(app.http.post(&ingest).body(envelope()).send().await.unwrap().status(), 200);
    let (status, updated) = call(
        &app,
        None,
        t,
        Method::PUT,
        &format!("/api/0/projects/acme/web-shop/keys/{key}/"),
        Some(json!({"isActive": false, "rateLimit": {"count": 5, "window": 60}})),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["rateLimit"], json!({"count": 5, "window": 60}));
    assert_eq!(app.http.post(&ingest).body(envelope()).send().await.unwrap().status(), 403);

    let (status, new_key) =
        call(&app, None, t, Method::POST, "/api/0/projects/acme/web-shop/keys/", Some(json!({"name": "CI"}))).await;
    assert_eq!((status, new_key["label"].as_str()), (StatusCode::CREATED, Some("CI")));
    let (status, _) = call(
        &app,
        None,
        t,
        Method::DELETE,
        &format!("/api/0/projects/acme/web-shop/keys/{}/", new_key["id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(status, 204);

    let (status, p) = call(
        &app,
        None,
        t,
        Method::PUT,
        "/api/0/projects/acme/web-shop/",
        Some(json!({"name": "Shop", "grouping": "glitchtip"})),
    )
    .await;
    assert_eq!((status, p["name"].as_str(), p["grouping"].as_str()), (StatusCode::OK, Some("Shop"), Some("glitchtip")));
    let (status, _) =
        call(&app, None, t, Method::PUT, "/api/0/projects/acme/web-shop/", Some(json!({"grouping": "nope"}))).await;
    assert_eq!(status, 400);

    // Someone else's organization does not exist for this token.
    let stranger = token_for(&app, "stranger@example.com", all).await;
    for path in ["/api/0/organizations/acme/", "/api/0/projects/acme/web-shop/", "/api/0/projects/acme/web-shop/keys/"]
    {
        let (status, body) = call(&app, None, Some(&stranger), Method::GET, path, None).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert_eq!(body, json!({"detail": "Not found."}));
    }
    // A token without the scope is refused (403, the object exists for it).
    let read_only = token_for(&app, "owner@example.com", "org:read,project:read").await;
    let (status, _) = call(&app, None, Some(&read_only), Method::DELETE, "/api/0/projects/acme/web-shop/", None).await;
    assert_eq!(status, 403);
    let (status, _) = call(&app, None, t, Method::DELETE, "/api/0/projects/acme/web-shop/", None).await;
    assert_eq!(status, 204);
    let (status, _) = call(&app, None, t, Method::GET, "/api/0/projects/acme/web-shop/", None).await;
    assert_eq!(status, 404);
    let (status, _) = call(&app, None, Some("0".repeat(64).as_str()), Method::GET, "/api/0/organizations/", None).await;
    assert_eq!(status, 401);
}

async fn tokens_and_whoami(app: TestApp) {
    let token = token_for(&app, "me@example.com", "org:read,project:read").await;
    let (_, me) = call(&app, None, Some(&token), Method::GET, "/api/0/", None).await;
    assert_eq!(me["user"]["email"], "me@example.com");
    assert_eq!(me["auth"]["scopes"], json!(["project:read", "org:read"]));
    let (status, created) = call(
        &app,
        None,
        Some(&token),
        Method::POST,
        "/api/0/api-tokens/",
        Some(json!({"label": "more", "scopes": ["org:admin"]})),
    )
    .await;
    assert_eq!(status, 403, "a token cannot mint more power: {created}");
    let (status, created) = call(
        &app,
        None,
        Some(&token),
        Method::POST,
        "/api/0/api-tokens/",
        Some(json!({"label": "ci", "scopes": ["org:read"]})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["token"].as_str().unwrap().len(), 64);
    let (_, list) = call(&app, None, Some(&token), Method::GET, "/api/0/api-tokens/", None).await;
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert!(list[0].get("token").is_none(), "secrets are shown once");
    let (status, _) = call(
        &app,
        None,
        Some(&token),
        Method::DELETE,
        &format!("/api/0/api-tokens/{}/", created["id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (_, anonymous) = call(&app, None, None, Method::GET, "/api/0/", None).await;
    assert_eq!(anonymous["user"], Value::Null);
    let (status, doc) = call(&app, None, None, Method::GET, "/api/openapi.json", None).await;
    assert_eq!(status, 200);
    assert!(
        doc["paths"]["/api/0/organizations/{organization_slug}/"]["get"].is_object(),
        "the OpenAPI document lists the routes"
    );
}

async fn sentry_cli_with_a_token(app: TestApp) {
    let Some(cli) = clients::sentry_cli() else { return };
    let token = token_for(&app, "cli@example.com", "org:read,org:write,project:read,project:write").await;
    call(&app, None, Some(&token), Method::POST, "/api/0/organizations/", Some(json!({"name": "Cli Org"}))).await;
    call(
        &app,
        None,
        Some(&token),
        Method::POST,
        "/api/0/organizations/cli-org/projects/",
        Some(json!({"name": "backend"})),
    )
    .await;
    let run = |args: &[&str]| {
        let out = Command::new(&cli)
            .args(["--url", &app.base_url, "--auth-token", &token])
            .args(args)
            .env_remove("SENTRY_DSN")
            .output()
            .unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "sentry-cli {args:?}: {text}");
        text
    };
    let info = run(&["info"]);
    assert!(info.contains("cli@example.com"), "{info}");
    assert!(run(&["organizations", "list"]).contains("cli-org"));
    assert!(run(&["projects", "list", "--org", "cli-org"]).contains("backend"));
}

app_tests!(sessions_and_csrf, organizations_projects_and_keys, tokens_and_whoami, sentry_cli_with_a_token);

mod closed_registration {
    use super::*;
    app_tests!(configure = closed; registration_can_be_closed_except_for_the_first_user);
}

#[tokio::test]
async fn password_reset_by_email() {
    let smtp = SmtpSink::start().await;
    let app = TestApp::builder(TestBackend::Sqlite)
        .env("EMAIL_URL", &smtp.url())
        .env("DEFAULT_FROM_EMAIL", "Faultline <noreply@example.com>")
        .start()
        .await
        .unwrap();
    faultline_domain::accounts::create_superuser(&app.store, "forgetful@example.com", "old password 1").await.unwrap();
    let (status, _) = call(
        &app,
        None,
        None,
        Method::POST,
        "/_allauth/browser/v1/auth/password/request",
        Some(json!({"email": "forgetful@example.com"})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = call(
        &app,
        None,
        None,
        Method::POST,
        "/_allauth/browser/v1/auth/password/request",
        Some(json!({"email": "nobody@example.com"})),
    )
    .await;
    assert_eq!(status, 200, "same answer for unknown addresses");

    let mail = smtp.wait_for("forgetful@example.com", Duration::from_secs(20)).await;
    assert!(mail.data.contains("Subject: Reset your Faultline password"), "{}", mail.data);
    assert!(mail.data.contains("From: Faultline <noreply@example.com>"), "{}", mail.data);
    let link = mail.link_containing("/reset-password/").expect("a reset link");
    assert!(link.starts_with(&app.base_url), "{link}");
    let key = link.rsplit('/').next().unwrap().to_string();

    let res = app
        .http
        .post(app.url("/_allauth/browser/v1/auth/password/reset"))
        .json(&json!({"key": key, "password": "new password 2"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(login(&app, "forgetful@example.com", "old password 1").await.0, 400);
    assert_eq!(login(&app, "forgetful@example.com", "new password 2").await.0, 200);
    let res = app
        .http
        .post(app.url("/_allauth/browser/v1/auth/password/reset"))
        .json(&json!({"key": key, "password": "again password 3"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400, "links work once");
    assert_eq!(smtp.messages().len(), 1, "nothing was sent to the unknown address");
}

async fn invitation_flow(backend: TestBackend) {
    let smtp = SmtpSink::start().await;
    let Some(app) = TestApp::builder(backend).env("EMAIL_URL", &smtp.url()).start().await else { return };
    let owner = token_for(&app, "owner@example.com", "org:read,org:write,org:admin,member:read,member:write,member:admin,team:read,team:write,team:admin,project:read,project:write").await;
    let o = Some(owner.as_str());
    call(&app, None, o, Method::POST, "/api/0/organizations/", Some(json!({"name": "Acme"}))).await;
    let (status, team) =
        call(&app, None, o, Method::POST, "/api/0/organizations/acme/teams/", Some(json!({"slug": "Backend Team"})))
            .await;
    assert_eq!((status, team["slug"].as_str()), (StatusCode::CREATED, Some("backend-team")));
    assert_eq!(team["isMember"], true, "the creator joins the team");
    let (status, _) =
        call(&app, None, o, Method::POST, "/api/0/teams/acme/backend-team/projects/", Some(json!({"name": "api"})))
            .await;
    assert_eq!(status, 201);

    // Invite a new user into the team.
    let (status, invited) = call(
        &app,
        None,
        o,
        Method::POST,
        "/api/0/organizations/acme/members/",
        Some(json!({"email": "new@example.com", "orgRole": "admin", "teamRoles": [{"teamSlug": "backend-team"}]})),
    )
    .await;
    assert_eq!(status, 201, "{invited}");
    assert_eq!((invited["pending"].as_bool(), invited["role"].as_str()), (Some(true), Some("admin")));
    let (status, _) = call(
        &app,
        None,
        o,
        Method::POST,
        "/api/0/organizations/acme/members/",
        Some(json!({"email": "NEW@example.com"})),
    )
    .await;
    assert_eq!(status, 409, "already invited");

    let mail = smtp.wait_for("new@example.com", Duration::from_secs(20)).await;
    assert!(mail.data.contains("invited you to join the organization Acme"), "{}", mail.data);
    let link = mail.link_containing("/accept/").expect("an accept link");
    let parts: Vec<&str> = link.trim_end_matches('/').rsplit('/').take(2).collect();
    let (token, member_id) = (parts[0].to_string(), parts[1].to_string());
    let (status, preview) =
        call(&app, None, None, Method::GET, &format!("/api/0/accept/{member_id}/{token}/"), None).await;
    assert_eq!(status, 200, "anyone holding the link may look: {preview}");
    assert_eq!(preview["orgUser"]["organization"]["slug"], "acme");
    assert_eq!(call(&app, None, None, Method::GET, &format!("/api/0/accept/{member_id}/wrong/"), None).await.0, 404);

    // The invitee signs up and accepts.
    let (status, browser, _) = signup(&app, "new@example.com", "a long password").await;
    assert_eq!(status, 200);
    let browser = browser.unwrap();
    let (status, accepted) = call(
        &app,
        Some(&browser),
        None,
        Method::POST,
        &format!("/api/0/accept/{member_id}/{token}/"),
        Some(json!({"acceptInvite": true})),
    )
    .await;
    assert_eq!(status, 200, "{accepted}");
    let (_, orgs) = call(&app, Some(&browser), None, Method::GET, "/api/0/organizations/", None).await;
    assert_eq!(orgs[0]["slug"], "acme");
    let (_, projects) =
        call(&app, Some(&browser), None, Method::GET, "/api/0/organizations/acme/projects/", None).await;
    assert_eq!(projects[0]["slug"], "api");
    let (_, members) = call(&app, None, o, Method::GET, "/api/0/organizations/acme/members/", None).await;
    let new = members.as_array().unwrap().iter().find(|m| m["email"] == "new@example.com").unwrap().clone();
    assert_eq!((new["pending"].as_bool(), new["teams"].clone()), (Some(false), json!(["backend-team"])));

    // Alerts go to the team's members by default.
    let project = app.store.organization_by_slug("acme").await.unwrap().unwrap();
    let api = app.store.project_by_slug(project.id, "api").await.unwrap().unwrap();
    let recipients: Vec<String> =
        app.store.project_alert_recipients(api.id).await.unwrap().into_iter().map(|r| r.1).collect();
    assert_eq!(recipients, ["new@example.com", "owner@example.com"]);
    let (status, _) = call(
        &app,
        Some(&browser),
        None,
        Method::PUT,
        "/api/0/users/me/notifications/alerts/",
        Some(json!({ api.id.to_string(): 0 })),
    )
    .await;
    assert_eq!(status, 200);
    let recipients: Vec<String> =
        app.store.project_alert_recipients(api.id).await.unwrap().into_iter().map(|r| r.1).collect();
    assert_eq!(recipients, ["owner@example.com"], "an explicit off wins");

    // Roles: the admin cannot make an owner, the owner cannot leave as the last owner.
    let member_path = format!("/api/0/organizations/acme/members/{}/", new["id"].as_str().unwrap());
    let (status, _) =
        call(&app, Some(&browser), None, Method::PUT, &member_path, Some(json!({"orgRole": "owner"}))).await;
    assert_eq!(status, 403);
    let (status, _) = call(&app, None, o, Method::DELETE, "/api/0/organizations/acme/members/me/", None).await;
    assert_eq!(status, 400, "the last owner stays");
    let (status, body) = call(&app, None, o, Method::POST, &format!("{member_path}set_owner/"), None).await;
    assert_eq!((status, body["role"].as_str()), (StatusCode::OK, Some("owner")));
    let (status, _) = call(&app, None, o, Method::DELETE, "/api/0/organizations/acme/members/me/", None).await;
    assert_eq!(status, 204, "with another owner, leaving is fine");
    let (status, _) = call(&app, None, o, Method::GET, "/api/0/organizations/acme/", None).await;
    assert_eq!(status, 404, "gone from the organization");
}

#[tokio::test]
async fn invitation_flow_sqlite() {
    invitation_flow(TestBackend::Sqlite).await;
}

#[tokio::test]
async fn invitation_flow_postgres() {
    invitation_flow(TestBackend::Postgres).await;
}
