//! Authorization over every route of the OpenAPI document, read from the running
//! server so a new route is covered the day it is added: anonymous callers get 401,
//! a member of another organization gets 404 (never 403, so nothing leaks that an
//! object exists), a token without the needed scope gets 403 on writes, and the
//! organization's own owner reaches every read — which is what makes the 404s above
//! mean something.

use std::time::Duration;

use faultline_domain::access::Scopes;
use faultline_store::{NewUser, Role};
use faultline_testing::{app_tests, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const ALL_SCOPES: &str = "org:read,org:write,org:admin,org:integrations,project:read,project:write,project:admin,\
    project:releases,team:read,team:write,team:admin,event:read,event:write,event:admin,member:read,member:write,member:admin";

/// Routes about the caller rather than an organization's objects, or public by design.
fn caller_scoped(path: &str) -> bool {
    path == "/api/0/"
        || path == "/api/settings/"
        || path == "/api/0/organizations/"
        || path == "/api/0/projects/"
        || path.starts_with("/api/0/api-tokens/")
        || path.starts_with("/api/0/users/")
        || path.starts_with("/api/0/accept/")
}

/// Routes anyone may call without credentials.
fn public(path: &str) -> bool {
    path == "/api/settings/" || path == "/api/0/" || path.starts_with("/api/0/accept/")
}

async fn token(app: &TestApp, email: &str, org: Option<(&str, Role)>, scopes: &str) -> String {
    let user = match app.store.user_by_email(email).await.unwrap() {
        Some(u) => u,
        None => app
            .store
            .create_user(&NewUser { email: email.into(), name: email.into(), ..Default::default() })
            .await
            .unwrap(),
    };
    if let Some((slug, role)) = org {
        let org = app.store.organization_by_slug(slug).await.unwrap().expect("organization exists");
        if app.store.membership(org.id, user.id).await.unwrap().is_none() {
            app.store.add_member(org.id, user.id, role).await.unwrap();
        }
    }
    faultline_domain::tokens::create(&app.store, &user, "authz", Scopes::parse_list(scopes).unwrap()).await.unwrap().1
}

async fn call(app: &TestApp, token: Option<&str>, method: Method, path: &str) -> (StatusCode, String) {
    let mut req = app.http.request(method.clone(), app.url(path)).timeout(Duration::from_secs(30));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if method != Method::GET && method != Method::DELETE {
        // Every field some write route requires, so a refusal is about who calls,
        // not about the body.
        req = req.json(&json!({"email": "probe@acme.test", "orgRole": "member", "name": "probe", "slug": "probe",
            "isHidden": true, "status": "resolved", "data": {"text": "probe"}}));
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    (status, res.text().await.unwrap())
}

async fn ok_json(app: &TestApp, token: &str, method: Method, path: &str, body: Value) -> Value {
    let res = app.http.request(method, app.url(path)).bearer_auth(token).json(&body).send().await.unwrap();
    let status = res.status();
    let text = res.text().await.unwrap();
    assert!(status.is_success(), "{path}: {status} {text}");
    serde_json::from_str(&text).unwrap()
}

/// Every (method, path template) of the OpenAPI document.
async fn routes(app: &TestApp) -> Vec<(Method, String)> {
    let doc: Value = app.get("/api/openapi.json").await.json().await.unwrap();
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "post", "put", "delete", "patch"] {
            if item.get(method).is_some() {
                out.push((method.to_uppercase().parse().unwrap(), path.clone()));
            }
        }
    }
    assert!(out.len() > 60, "the OpenAPI document lists only {} operations", out.len());
    out
}

async fn every_route_is_guarded(app: TestApp) {
    // The organization under test, with one of everything a path can name.
    let p = app.create_project("acme", "web").await;
    let owner = token(&app, "owner@acme.test", Some(("acme", Role::Owner)), ALL_SCOPES).await;
    let event_id = uuid::Uuid::new_v4().simple().to_string();
    let res = app
        .http
        .post(format!("{}?sentry_key={}", app.url(&format!("/api/{}/store/", p.id)), p.key))
        .json(&json!({"event_id": event_id, "message": "authz probe", "level": "error", "tags": {"probe": "yes"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    app.wait_for_digest(Duration::from_secs(30)).await;
    let issues = ok_json(&app, &owner, Method::GET, "/api/0/organizations/acme/issues/?query=", Value::Null).await;
    let issue_id = issues[0]["id"].as_str().unwrap().to_string();
    let team = ok_json(&app, &owner, Method::POST, "/api/0/organizations/acme/teams/", json!({"slug": "core"})).await;
    let team_slug = team["slug"].as_str().unwrap().to_string();
    let member = ok_json(
        &app,
        &owner,
        Method::POST,
        "/api/0/organizations/acme/members/",
        json!({"email": "invitee@acme.test", "orgRole": "member", "teamRoles": []}),
    )
    .await;
    let member_id = member["id"].as_str().map(String::from).unwrap_or_else(|| member["id"].to_string());
    let comment = ok_json(
        &app,
        &owner,
        Method::POST,
        &format!("/api/0/issues/{issue_id}/comments/"),
        json!({"data": {"text": "a note"}}),
    )
    .await;
    let comment_id = comment["id"].as_str().map(String::from).unwrap_or_else(|| comment["id"].to_string());
    let keys = ok_json(&app, &owner, Method::GET, &format!("/api/0/projects/acme/{}/keys/", p.slug), Value::Null).await;
    let key_id = keys[0]["id"].as_str().unwrap().to_string();
    let alert = ok_json(
        &app,
        &owner,
        Method::POST,
        &format!("/api/0/projects/acme/{}/alerts/", p.slug),
        json!({"name": "probe", "alertRecipients": [{"recipientType": "email", "url": ""}]}),
    )
    .await;
    let alert_id = alert["id"].to_string();
    ok_json(
        &app,
        &owner,
        Method::POST,
        &format!("/api/0/projects/acme/{}/cron-monitors/", p.slug),
        json!({"name": "Nightly", "config": {"schedule_type": "crontab", "schedule": "0 3 * * *"}}),
    )
    .await;
    let monitor = ok_json(
        &app,
        &owner,
        Method::POST,
        "/api/0/organizations/acme/monitors/",
        json!({"name": "probe", "monitorType": "Ping", "url": "http://127.0.0.1:9/", "paused": true}),
    )
    .await;
    let monitor_id = monitor["id"].as_str().unwrap().to_string();
    let status_page = ok_json(
        &app,
        &owner,
        Method::POST,
        "/api/0/organizations/acme/status-pages/",
        json!({"name": "Probe status", "slug": "probe-status"}),
    )
    .await;
    let status_page_slug = status_page["slug"].as_str().unwrap().to_string();
    let incident = ok_json(
        &app,
        &owner,
        Method::POST,
        &format!("/api/0/organizations/acme/status-pages/{status_page_slug}/incidents/"),
        json!({"title": "probe"}),
    )
    .await;
    let incident_id = incident["id"].to_string();
    let window = ok_json(
        &app,
        &owner,
        Method::POST,
        "/api/0/organizations/acme/maintenance-windows/",
        json!({"title": "probe", "startsAt": "2030-01-01T00:00:00Z", "endsAt": "2030-01-01T01:00:00Z"}),
    )
    .await;
    let window_id = window["id"].to_string();

    let fill = |template: &str| -> String {
        template
            .replace("{organization_slug}", "acme")
            .replace("{project_slug}", &p.slug)
            .replace("{issue_id}", &issue_id)
            .replace("{event_id}", &event_id)
            .replace("{team_slug}", &team_slug)
            .replace("{member_id}", &member_id)
            .replace("{comment_id}", &comment_id)
            .replace("{key_id}", &key_id)
            .replace("{key}", "probe")
            .replace("{name}", "production")
            .replace("{token_id}", "1")
            .replace("{alert_id}", &alert_id)
            .replace("{monitor_slug}", "nightly")
            .replace("{monitor_id}", &monitor_id)
            .replace("{status_page_slug}", &status_page_slug)
            .replace("{incident_id}", &incident_id)
            .replace("{window_id}", &window_id)
            .replace("{user_id}", "me")
            .replace("{token}", "nope")
    };

    let routes = routes(&app).await;
    app.create_project("other", "site").await;
    let outsider = token(&app, "owner@other.test", Some(("other", Role::Owner)), ALL_SCOPES).await;
    let read_only =
        token(&app, "reader@acme.test", Some(("acme", Role::Owner)), "org:read,project:read,event:read").await;

    let mut failures = Vec::new();
    for (method, template) in &routes {
        let path = fill(template);
        assert!(!path.contains('{'), "no value for a parameter of {template}");
        if !public(template) {
            let (status, body) = call(&app, None, method.clone(), &path).await;
            if status != StatusCode::UNAUTHORIZED {
                failures.push(format!("anonymous {method} {path}: {status} {body}"));
            }
        }
        if !caller_scoped(template) {
            let (status, body) = call(&app, Some(&outsider), method.clone(), &path).await;
            if status != StatusCode::NOT_FOUND {
                failures.push(format!("other organization's owner {method} {path}: {status} {body}"));
            }
            if *method != Method::GET {
                let (status, body) = call(&app, Some(&read_only), method.clone(), &path).await;
                if status != StatusCode::FORBIDDEN {
                    failures.push(format!("read-only token {method} {path}: {status} {body}"));
                }
            }
        }
    }
    // Nothing above changed anything: the owner still reaches every read.
    for (method, template) in routes.iter().filter(|(m, _)| *m == Method::GET) {
        let path = fill(template);
        if template.contains("{token}") || template.contains("{token_id}") {
            continue;
        }
        let (status, body) = call(&app, Some(&owner), method.clone(), &path).await;
        if !status.is_success() {
            failures.push(format!("owner {method} {path}: {status} {body}"));
        }
    }
    // A body that is not the expected JSON answers in the API's one error shape.
    for body in ["not json", "{\"slug\": 5}"] {
        let res = app
            .http
            .post(app.url("/api/0/organizations/acme/teams/"))
            .bearer_auth(&owner)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{body}");
        let answer: Value = res.json().await.unwrap();
        assert!(answer["detail"].as_str().is_some_and(|d| !d.is_empty()), "{answer}");
    }
    assert!(failures.is_empty(), "{} authorization failures:\n{}", failures.len(), failures.join("\n"));
}

app_tests!(every_route_is_guarded);
