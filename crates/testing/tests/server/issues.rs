//! The issues and events API through the real server: events go in through the
//! ingest endpoint and are digested by the real workers, then are searched, sorted,
//! paged, triaged, merged, unmerged and commented on over HTTP, the way GitLab's
//! error tracking, Grafana's Sentry data source and sentry-cli call it.

use std::collections::HashSet;
use std::time::Duration;

use faultline_domain::access::Scopes;
use faultline_store::{OrganizationId, Role};
use faultline_testing::{app_tests, TestApp, TestProject};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

const ALL_SCOPES: &str = "org:read,project:read,event:read,event:write,event:admin,member:read";

/// An API client with a token.
struct Client<'a> {
    app: &'a TestApp,
    token: String,
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

impl Client<'_> {
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        let mut req = self.app.http.request(method, self.app.url(path)).bearer_auth(&self.token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap();
        Answer { status, headers, body: serde_json::from_str(&text).unwrap_or(Value::String(text)) }
    }

    async fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, path, None).await
    }

    /// `GET` that must answer 200; the body.
    async fn ok(&self, path: &str) -> Value {
        let a = self.get(path).await;
        assert_eq!(a.status, 200, "GET {path}: {}", a.body);
        a.body
    }

    async fn put(&self, path: &str, body: Value) -> Answer {
        self.call(Method::PUT, path, Some(body)).await
    }

    async fn delete(&self, path: &str) -> Answer {
        self.call(Method::DELETE, path, None).await
    }
}

/// A member of `org` with `role` and a token with `scopes`.
async fn member<'a>(app: &'a TestApp, org: OrganizationId, email: &str, role: Role, scopes: &str) -> Client<'a> {
    let user = match app.store.user_by_email(email).await.unwrap() {
        Some(u) => u,
        None => app
            .store
            .create_user(&faultline_store::NewUser { email: email.into(), name: email.into(), ..Default::default() })
            .await
            .unwrap(),
    };
    if app.store.membership(org, user.id).await.unwrap().is_none() {
        app.store.add_member(org, user.id, role).await.unwrap();
    }
    let token = faultline_domain::tokens::create(&app.store, &user, "test", Scopes::parse_list(scopes).unwrap())
        .await
        .unwrap()
        .1;
    Client { app, token }
}

async fn org_id(app: &TestApp, slug: &str) -> OrganizationId {
    app.store.organization_by_slug(slug).await.unwrap().unwrap().id
}

fn envelope(items: &[(&str, Value)], event_id: Uuid) -> Vec<u8> {
    let header =
        json!({"event_id": event_id.simple().to_string(), "sent_at": faultline_store::Timestamp::now().to_rfc3339()});
    let mut out = serde_json::to_vec(&header).unwrap();
    out.push(b'\n');
    for (ty, payload) in items {
        let bytes = serde_json::to_vec(payload).unwrap();
        out.extend(format!("{{\"type\":\"{ty}\",\"length\":{}}}\n", bytes.len()).into_bytes());
        out.extend(bytes);
        out.push(b'\n');
    }
    out
}

/// Sends one event through the ingest endpoint; its id.
async fn send(app: &TestApp, p: &TestProject, mut event: Value) -> Uuid {
    let id = Uuid::new_v4();
    event["event_id"] = json!(id.simple().to_string());
    let res = app
        .http
        .post(format!("{}?sentry_key={}", app.envelope_url(p), p.key))
        .header("content-type", "application/x-sentry-envelope")
        .body(envelope(&[("event", event)], id))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    id
}

async fn send_report(app: &TestApp, p: &TestProject, event_id: Uuid, comments: &str) {
    let report = json!({"event_id": event_id.simple().to_string(), "name": "Ada", "email": "ada@example.com", "comments": comments});
    let res = app
        .http
        .post(format!("{}?sentry_key={}", app.envelope_url(p), p.key))
        .body(envelope(&[("user_report", report)], event_id))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

async fn digest(app: &TestApp) {
    app.wait_for_digest(Duration::from_secs(30)).await;
}

fn value_error(user: &str, release: &str) -> Value {
    json!({
        "platform": "python", "level": "error", "environment": "production", "release": release,
        "user": {"id": user}, "tags": {"customer": "big corp"}, "logger": "app.views",
        "exception": {"values": [{"type": "ValueError", "value": "bad input",
            "mechanism": {"type": "generic", "handled": false},
            "stacktrace": {"frames": [
                {"function": "handle", "module": "django.core", "filename": "django/core/handlers.py", "lineno": 5, "in_app": false},
                {"function": "index", "module": "app.views", "filename": "app/views.py", "abs_path": "/srv/app/views.py",
                 "lineno": 10, "in_app": true, "context_line": "    raise ValueError('bad input')",
                 "pre_context": ["def index(request):"], "post_context": [""]}
            ]}}]}
    })
}

fn key_error() -> Value {
    json!({
        "platform": "python", "level": "warning", "environment": "staging", "release": "2.0", "user": {"id": "1"},
        "exception": {"values": [{"type": "KeyError", "value": "'user'",
            "stacktrace": {"frames": [{"function": "load", "module": "app.models", "filename": "app/models.py",
                "lineno": 20, "in_app": true, "context_line": "    return cache[key]"}]}}]}
    })
}

fn message(text: &str, level: &str) -> Value {
    json!({"platform": "python", "level": level, "message": text, "environment": "production", "server_name": "web 1"})
}

/// Titles of the issues a list answers, sorted.
fn titles(list: &Value) -> Vec<String> {
    let mut t: Vec<String> =
        list.as_array().unwrap().iter().map(|i| i["title"].as_str().unwrap().to_string()).collect();
    t.sort();
    t
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_string()).collect()
}

/// Percent-encodes a query value.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// GitLab's Link parsing: split on commas, then `rel="(\w+)"; results="(\w+)"; cursor="(.+)"`.
fn gitlab_links(header: &str) -> Vec<(String, String, String)> {
    fn quoted_after<'a>(s: &'a str, key: &str) -> Option<&'a str> {
        let start = s.find(key)? + key.len();
        let rest = &s[start..];
        Some(&rest[..rest.find('"')?])
    }
    header
        .split(',')
        .filter_map(|part| {
            let rel = quoted_after(part, "rel=\"")?;
            let results = quoted_after(part, "results=\"")?;
            let cursor = quoted_after(part, "cursor=\"")?;
            let word = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_');
            (word(rel) && word(results) && !cursor.is_empty())
                .then(|| (rel.to_string(), results.to_string(), cursor.to_string()))
        })
        .collect()
}

/// Issues A (ValueError ×2, users 1 and 2), B (KeyError ×3), C (info message).
async fn seed(app: &TestApp) -> (TestProject, Vec<Uuid>) {
    let p = app.create_project("acme", "web").await;
    let mut events = vec![send(app, &p, value_error("1", "1.0")).await, send(app, &p, value_error("2", "1.0")).await];
    for _ in 0..3 {
        events.push(send(app, &p, key_error()).await);
    }
    events.push(send(app, &p, message("Info message", "info")).await);
    digest(app).await;
    (p, events)
}

const A: &str = "ValueError: bad input";
const B: &str = "KeyError: 'user'";
const C: &str = "Info message";

async fn search_operators_and_event_ids(app: TestApp) {
    let (p, events) = seed(&app).await;
    let api = member(&app, org_id(&app, "acme").await, "owner@example.com", Role::Owner, ALL_SCOPES).await;
    let q = |query: &str| format!("/api/0/organizations/acme/issues/?query={}", enc(query));
    let cases: &[(&str, &[&str])] = &[
        ("", &[B, C, A]),
        ("is:unresolved", &[B, C, A]),
        ("level:error", &[A]),
        ("level:warning", &[B]),
        ("!level:info", &[B, A]),
        ("has:customer", &[A]),
        ("!has:customer", &[B, C]),
        (r#"customer:"big corp""#, &[A]),
        (r#"server_name:"web 1""#, &[C]),
        ("release:1.0", &[A]),
        ("!release:1.0", &[B, C]),
        ("environment:staging", &[B]),
        ("environment:production !level:error", &[C]),
        ("ValueError", &[A]),
        ("bad input", &[A]),
        ("views.py", &[A]),
        ("level:error input", &[A]),
        ("level:info input", &[]),
        ("Key*", &[B]),
        (r#"nothing "matches OR * NEAR("#, &[]),
        ("is:unassigned", &[B, C, A]),
        ("is:assigned", &[]),
    ];
    for (query, expected) in cases {
        let mut expected: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
        expected.sort();
        assert_eq!(titles(&api.ok(&q(query)).await), expected, "query {query:?}");
    }
    let bad = api.get(&q("is:sleepy")).await;
    assert_eq!(bad.status, 400);
    assert!(bad.body["detail"].as_str().unwrap().contains("is:"), "{}", bad.body);

    // Filters outside the query.
    let list = api.ok("/api/0/organizations/acme/issues/?environment=production").await;
    assert_eq!(titles(&list), [C, A]);
    let list = api.ok("/api/0/organizations/acme/issues/?environment=production&environment=staging").await;
    assert_eq!(list.as_array().unwrap().len(), 3);
    assert_eq!(
        api.ok(&format!("/api/0/organizations/acme/issues/?project={}", p.id)).await.as_array().unwrap().len(),
        3
    );
    assert!(api.ok("/api/0/organizations/acme/issues/?project=999999").await.as_array().unwrap().is_empty());
    assert_eq!(api.ok("/api/0/organizations/acme/issues/?start=now-1h").await.as_array().unwrap().len(), 3);
    assert!(api.ok("/api/0/organizations/acme/issues/?end=now-1h").await.as_array().unwrap().is_empty());
    assert_eq!(api.ok("/api/0/organizations/acme/issues/?statsPeriod=24h").await.as_array().unwrap().len(), 3);
    assert_eq!(api.get("/api/0/organizations/acme/issues/?start=yesterday").await.status, 400);
    assert_eq!(api.get("/api/0/organizations/acme/issues/?sort=sideways").await.status, 400);
    let project_list = api.ok(&format!("/api/0/projects/acme/web/issues/?query={}", enc("level:warning"))).await;
    assert_eq!(titles(&project_list), [B]);

    // An event id jumps to its issue.
    for id in [events[1].simple().to_string(), events[1].hyphenated().to_string()] {
        let hit = api.get(&q(&id)).await;
        assert_eq!(hit.status, 200);
        assert_eq!(hit.headers["x-sentry-direct-hit"], "1");
        assert_eq!(titles(&hit.body), [A]);
        assert_eq!(hit.body[0]["matchingEventId"], events[1].simple().to_string());
    }
    let miss = api.get(&q(&Uuid::new_v4().simple().to_string())).await;
    assert!(miss.headers.get("x-sentry-direct-hit").is_none());
    assert!(miss.body.as_array().unwrap().is_empty());

    // Assignment and status searches.
    let a_id = ids(&api.ok(&q("level:error")).await)[0].clone();
    let changed = api.put(&format!("/api/0/issues/{a_id}/"), json!({"assignedTo": "owner@example.com"})).await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.body["assignedTo"]["email"], "owner@example.com");
    assert_eq!(titles(&api.ok(&q("is:assigned")).await), [A]);
    assert_eq!(titles(&api.ok(&q("assigned:me")).await), [A]);
    assert_eq!(titles(&api.ok(&q("assigned:owner@example.com")).await), [A]);
    api.put(&format!("/api/0/issues/{a_id}/"), json!({"status": "resolved"})).await;
    assert_eq!(titles(&api.ok(&q("is:resolved")).await), [A]);
    assert_eq!(titles(&api.ok(&q("is:unresolved")).await), [C, B]);
}

async fn sorts_and_pagination(app: TestApp) {
    let p = app.create_project("acme", "web").await;
    for text in [
        "alpha happened",
        "beta happened",
        "beta happened",
        "beta happened",
        "gamma happened",
        "gamma happened",
        "alpha happened",
    ] {
        send(&app, &p, message(text, "error")).await;
    }
    for n in 0..4 {
        send(&app, &p, message(&format!("filler {}", ["one", "two", "three", "four"][n]), "error")).await;
    }
    digest(&app).await;
    let api = member(&app, org_id(&app, "acme").await, "owner@example.com", Role::Owner, ALL_SCOPES).await;
    let order = |sort: &str| {
        let api = &api;
        let path = format!("/api/0/projects/acme/web/issues/?query={}&sort={}", enc("happened"), enc(sort));
        async move {
            let list = api.ok(&path).await;
            list.as_array()
                .unwrap()
                .iter()
                .map(|i| i["title"].as_str().unwrap().replace(" happened", ""))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(order("").await, ["alpha", "gamma", "beta"], "default: last seen");
    assert_eq!(order("date").await, ["alpha", "gamma", "beta"]);
    assert_eq!(order("-last_seen").await, ["alpha", "gamma", "beta"]);
    assert_eq!(order("last_seen").await, ["beta", "gamma", "alpha"]);
    assert_eq!(order("new").await, ["gamma", "beta", "alpha"]);
    assert_eq!(order("-first_seen").await, ["gamma", "beta", "alpha"]);
    assert_eq!(order("first_seen").await, ["alpha", "beta", "gamma"]);
    assert_eq!(order("freq").await, ["beta", "gamma", "alpha"], "3, then 2 and 2 (newest issue first)");
    assert_eq!(order("-count").await, ["beta", "gamma", "alpha"]);
    assert_eq!(order("count").await, ["alpha", "gamma", "beta"]);
    assert_eq!(order("priority").await, ["beta", "alpha", "gamma"]);
    assert_eq!(order("-priority").await, ["beta", "alpha", "gamma"]);
    assert_eq!(order("+priority").await, ["gamma", "alpha", "beta"]);
    let first = api.ok("/api/0/projects/acme/web/issues/?sort=freq&limit=1").await;
    assert_eq!(first[0]["count"], "3");

    // Pages, followed the way GitLab does it.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/0/projects/acme/web/issues/?limit=3&cursor={}", enc(c)),
            None => "/api/0/projects/acme/web/issues/?limit=3".to_string(),
        };
        let page = api.get(&path).await;
        assert_eq!(page.status, 200);
        assert_eq!(page.headers["x-hits"], "7");
        pages += 1;
        seen.extend(ids(&page.body));
        let link = page.headers["link"].to_str().unwrap().to_string();
        assert!(!link.contains("{'"), "a clean header: {link}");
        let links = gitlab_links(&link);
        assert_eq!(links.len(), 2, "{link}");
        assert_eq!(links[0].0, "previous");
        assert_eq!(links[0].1, if pages == 1 { "false" } else { "true" });
        let next = links.iter().find(|l| l.0 == "next").unwrap();
        if next.1 == "false" {
            break;
        }
        cursor = Some(next.2.clone());
        assert!(pages < 10, "pagination must end");
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 7);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 7, "no issue twice: {seen:?}");
    let all = ids(&api.ok("/api/0/projects/acme/web/issues/?limit=100").await);
    assert_eq!(seen, all, "the pages in order are the whole list");
}

async fn bulk_resolve_ignore_merge_delete(app: TestApp) {
    let (_, _) = seed(&app).await;
    let org = org_id(&app, "acme").await;
    let api = member(&app, org, "owner@example.com", Role::Owner, ALL_SCOPES).await;
    let list = api.ok("/api/0/organizations/acme/issues/?sort=new").await;
    let id_of = |title: &str| {
        list.as_array().unwrap().iter().find(|i| i["title"] == title).unwrap()["id"].as_str().unwrap().to_string()
    };
    let (a, b, c) = (id_of(A), id_of(B), id_of(C));
    let q = |query: &str| format!("/api/0/organizations/acme/issues/?query={}", enc(query));

    let res = api.put(&format!("/api/0/organizations/acme/issues/?id={a}&id={b}"), json!({"status": "resolved"})).await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.body, json!({"status": "resolved", "statusDetails": {}}));
    assert_eq!(titles(&api.ok(&q("is:resolved")).await), [B, A]);
    let res = api
        .put(
            &format!("/api/0/organizations/acme/issues/?query={}", enc("is:resolved")),
            json!({"status": "ignored", "statusDetails": {}}),
        )
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(titles(&api.ok(&q("is:ignored")).await), [B, A]);
    // sentry-cli: PUT on the project's issues.
    let res = api.put(&format!("/api/0/projects/acme/web/issues/?id={a}"), json!({"status": "unresolved"})).await;
    assert_eq!(res.status, 200);
    assert_eq!(titles(&api.ok(&q("is:unresolved")).await), [C, A]);
    assert_eq!(
        api.put(&format!("/api/0/organizations/acme/issues/?id={a}"), json!({"status": "sleeping"})).await.status,
        400
    );

    // Merge: the highest id survives and takes the events.
    let (low, high) = if a.parse::<i64>().unwrap() < c.parse::<i64>().unwrap() {
        (a.clone(), c.clone())
    } else {
        (c.clone(), a.clone())
    };
    let note = api
        .call(Method::POST, &format!("/api/0/issues/{low}/comments/"), Some(json!({"data": {"text": "keep me"}})))
        .await;
    assert_eq!(note.status, 201);
    let res = api.put(&format!("/api/0/organizations/acme/issues/?id={a}&id={c}"), json!({"merge": 1})).await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.body["merge"], json!({"parent": high, "children": [low]}));
    assert_eq!(api.get(&format!("/api/0/issues/{low}/")).await.status, 404);
    let merged = api.ok(&format!("/api/0/issues/{high}/")).await;
    assert_eq!(merged["count"], "3");
    assert_eq!(merged["numComments"], 1, "comments follow the merge");
    assert_eq!(api.ok(&format!("/api/0/issues/{high}/events/")).await.as_array().unwrap().len(), 3);
    assert_eq!(api.put(&format!("/api/0/organizations/acme/issues/?id={high}"), json!({"merge": 1})).await.status, 400);

    // Scopes: reading does not allow changing; changing does not allow deleting.
    let reader = member(&app, org, "reader@example.com", Role::Member, "event:read").await;
    assert_eq!(
        reader.put(&format!("/api/0/organizations/acme/issues/?id={b}"), json!({"status": "resolved"})).await.status,
        403
    );
    assert_eq!(reader.put(&format!("/api/0/issues/{b}/"), json!({"status": "resolved"})).await.status, 403);
    let writer = member(&app, org, "writer@example.com", Role::Member, "event:read,event:write").await;
    assert_eq!(writer.delete(&format!("/api/0/organizations/acme/issues/?id={b}")).await.status, 403);
    assert_eq!(writer.put(&format!("/api/0/issues/{b}/"), json!({"status": "resolved"})).await.status, 200);

    // Delete.
    assert_eq!(api.delete(&format!("/api/0/organizations/acme/issues/?id={b}")).await.status, 204);
    assert_eq!(api.get(&format!("/api/0/issues/{b}/")).await.status, 404);
    assert_eq!(api.ok("/api/0/organizations/acme/issues/").await.as_array().unwrap().len(), 1);
    assert_eq!(api.delete(&format!("/api/0/issues/{high}/")).await.status, 204);
    assert!(api.ok("/api/0/organizations/acme/issues/").await.as_array().unwrap().is_empty());
}

async fn detail_tags_events_and_stats(app: TestApp) {
    let p = app.create_project("acme", "web").await;
    let e1 = send(&app, &p, value_error("1", "1.0")).await;
    let e2 = send(&app, &p, value_error("2", "1.1")).await;
    let e3 = send(&app, &p, value_error("2", "1.1")).await;
    send_report(&app, &p, e2, "Saving did nothing").await;
    digest(&app).await;
    let api = member(&app, org_id(&app, "acme").await, "owner@example.com", Role::Owner, ALL_SCOPES).await;
    let issue = api.ok("/api/0/organizations/acme/issues/").await[0].clone();
    let id = issue["id"].as_str().unwrap().to_string();

    let detail = api.ok(&format!("/api/0/issues/{id}/")).await;
    assert_eq!(detail["count"], "3");
    assert_eq!(detail["userCount"], 2);
    assert_eq!(detail["userReportCount"], 1);
    assert_eq!(detail["firstRelease"]["version"], "1.0");
    assert_eq!(detail["lastRelease"]["version"], "1.1");
    assert_eq!(detail["shortId"], "WEB-1");
    assert_eq!(detail["level"], "error");
    assert_eq!(detail["logger"], "app.views");
    assert_eq!(detail["isUnhandled"], true);
    assert_eq!(detail["numComments"], 0);
    assert!(detail["permalink"].as_str().unwrap().ends_with(&format!("/acme/issues/{id}")));
    assert!(detail["tags"].as_array().unwrap().iter().any(|t| t["key"] == "level" && t["totalValues"] == 3));
    let org_detail = api.ok(&format!("/api/0/organizations/acme/issues/{id}/")).await;
    assert_eq!(org_detail["id"], detail["id"]);

    // Tags.
    let tags = api.ok(&format!("/api/0/issues/{id}/tags/")).await;
    let user = tags.as_array().unwrap().iter().find(|t| t["key"] == "user").unwrap();
    assert_eq!((user["uniqueValues"].as_i64(), user["totalValues"].as_i64()), (Some(2), Some(3)));
    let top = &user["topValues"][0];
    assert_eq!(
        (top["key"].as_str(), top["value"].as_str(), top["count"].as_i64()),
        (Some("user"), Some("id:2"), Some(2))
    );
    assert_eq!(top["name"], "id:2");
    assert!(top["firstSeen"].is_string() && top["lastSeen"].is_string());
    let only = api.ok(&format!("/api/0/issues/{id}/tags/?key=release")).await;
    assert_eq!(only.as_array().unwrap().len(), 1);
    assert_eq!(only[0]["topValues"][0]["value"], "1.1");
    assert_eq!(api.ok(&format!("/api/0/issues/{id}/tags/user/")).await["uniqueValues"], 2);
    assert_eq!(api.get(&format!("/api/0/issues/{id}/tags/nope/")).await.status, 404);
    let values = api.get(&format!("/api/0/issues/{id}/tags/user/values/?limit=1")).await;
    assert_eq!(values.body.as_array().unwrap().len(), 1);
    assert_eq!(values.headers["x-hits"], "2");
    assert!(values.headers["link"].to_str().unwrap().contains(r#"rel="next"; results="true""#));

    // Events, newest first; latest, oldest and neighbours.
    let hex = |u: Uuid| u.simple().to_string();
    let list = api.get(&format!("/api/0/issues/{id}/events/")).await;
    assert_eq!(list.headers["x-hits"], "3");
    let event_ids: Vec<&str> = list.body.as_array().unwrap().iter().map(|e| e["eventID"].as_str().unwrap()).collect();
    assert_eq!(event_ids, [hex(e3), hex(e2), hex(e1)]);
    assert!(list.body[0]["entries"].is_array());
    let latest = api.ok(&format!("/api/0/issues/{id}/events/latest/")).await;
    assert_eq!(latest["eventID"], hex(e3));
    assert_eq!((latest["previousEventID"].as_str(), latest["nextEventID"].as_str()), (Some(hex(e2).as_str()), None));
    assert_eq!(latest["groupID"], id);
    assert_eq!(latest["projectID"], p.id.to_string());
    assert_eq!(latest["userReport"], Value::Null);
    let oldest = api.ok(&format!("/api/0/issues/{id}/events/oldest/")).await;
    assert_eq!(oldest["eventID"], hex(e1));
    assert_eq!((oldest["previousEventID"].as_str(), oldest["nextEventID"].as_str()), (None, Some(hex(e2).as_str())));
    let middle = api.ok(&format!("/api/0/issues/{id}/events/{}/", hex(e2))).await;
    assert_eq!(
        (middle["previousEventID"].as_str(), middle["nextEventID"].as_str()),
        (Some(hex(e1).as_str()), Some(hex(e3).as_str()))
    );
    assert_eq!(middle["userReport"]["comments"], "Saving did nothing");
    assert_eq!(api.ok(&format!("/api/0/issues/{id}/events/{}/", e2.hyphenated())).await["eventID"], hex(e2));
    assert_eq!(api.get(&format!("/api/0/issues/{id}/events/{}/", Uuid::new_v4().simple())).await.status, 404);
    let org_latest = api.ok(&format!("/api/0/organizations/acme/issues/{id}/events/latest/")).await;
    assert_eq!(org_latest["eventID"], hex(e3));
    assert_eq!(api.ok(&format!("/api/0/organizations/acme/issues/{id}/events/")).await.as_array().unwrap().len(), 3);
    let project_events = api.ok("/api/0/projects/acme/web/events/").await;
    assert_eq!(project_events.as_array().unwrap().len(), 3);
    let project_event = api.ok(&format!("/api/0/projects/acme/web/events/{}/", hex(e2))).await;
    assert_eq!(project_event["groupID"], id);
    assert_eq!(project_event["nextEventID"], hex(e3));
    let raw = api.ok(&format!("/api/0/organizations/acme/issues/{id}/events/{}/json/", hex(e1))).await;
    assert_eq!(raw["exception"]["values"][0]["type"], "ValueError");
    assert_eq!(raw["release"], "1.0");

    // User reports.
    let reports = api.ok(&format!("/api/0/issues/{id}/user-reports/")).await;
    assert_eq!(reports[0]["eventID"], hex(e2));
    assert_eq!(reports[0]["email"], "ada@example.com");
    assert_eq!(api.ok("/api/0/projects/acme/web/user-reports/").await.as_array().unwrap().len(), 1);
    assert_eq!(
        api.ok(&format!("/api/0/organizations/acme/issues/{id}/user-reports/")).await.as_array().unwrap().len(),
        1
    );

    // Issue stats: hourly for 24 h, daily for 14 d.
    let stats = api.ok(&format!("/api/0/organizations/acme/issues-stats/?groups={id}&statsPeriod=24h")).await;
    assert_eq!(stats[0]["id"], id);
    assert_eq!(stats[0]["count"], "3");
    assert_eq!(stats[0]["userCount"], 2);
    let hourly = stats[0]["stats"]["24h"].as_array().unwrap();
    assert_eq!(hourly.len(), 24);
    assert_eq!(hourly.iter().map(|p| p[1].as_i64().unwrap()).sum::<i64>(), 3);
    let stats = api.ok(&format!("/api/0/organizations/acme/issues-stats/?groups={id}&statsPeriod=14d")).await;
    let daily = stats[0]["stats"]["14d"].as_array().unwrap();
    assert_eq!(daily.len(), 14);
    assert_eq!(daily.iter().map(|p| p[1].as_i64().unwrap()).sum::<i64>(), 3);
    assert_eq!(
        api.get(&format!("/api/0/organizations/acme/issues-stats/?groups={id}&statsPeriod=7d")).await.status,
        400
    );

    // Assignment: a member by email or id, never a stranger; null unassigns.
    let org = org_id(&app, "acme").await;
    member(&app, org, "colleague@example.com", Role::Member, "event:read").await;
    let colleague_id = app.store.user_by_email("colleague@example.com").await.unwrap().unwrap().id;
    let res = api
        .put(&format!("/api/0/organizations/acme/issues/{id}/"), json!({"assignedTo": colleague_id.to_string()}))
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.body["assignedTo"]["id"], colleague_id.to_string());
    app.store
        .create_user(&faultline_store::NewUser { email: "outsider@example.com".into(), ..Default::default() })
        .await
        .unwrap();
    let res = api.put(&format!("/api/0/issues/{id}/"), json!({"assignedTo": "outsider@example.com"})).await;
    assert_eq!(res.status, 400, "{}", res.body);
    let res = api.put(&format!("/api/0/issues/{id}/"), json!({"assignedTo": null})).await;
    assert_eq!(res.body["assignedTo"], Value::Null);
}

async fn hashes_and_unmerge(app: TestApp) {
    let p = app.create_project("acme", "web").await;
    send(&app, &p, value_error("1", "1.0")).await;
    send(&app, &p, key_error()).await;
    digest(&app).await;
    let api = member(&app, org_id(&app, "acme").await, "owner@example.com", Role::Owner, ALL_SCOPES).await;
    let list = api.ok("/api/0/organizations/acme/issues/").await;
    let all = ids(&list);
    assert_eq!(all.len(), 2);
    let res =
        api.put(&format!("/api/0/organizations/acme/issues/?id={}&id={}", all[0], all[1]), json!({"merge": 1})).await;
    let parent = res.body["merge"]["parent"].as_str().unwrap().to_string();

    let hashes = api.ok(&format!("/api/0/organizations/acme/issues/{parent}/hashes/")).await;
    let hashes = hashes.as_array().unwrap();
    assert!(hashes.len() >= 2, "{hashes:?}");
    for h in hashes {
        assert_eq!(h["id"].as_str().unwrap().len(), 32);
        assert!(h["latestEvent"]["eventID"].is_string(), "{h}");
    }
    let value_error_hashes: Vec<&str> = hashes
        .iter()
        .filter(|h| h["latestEvent"]["title"].as_str().unwrap().starts_with("ValueError"))
        .map(|h| h["id"].as_str().unwrap())
        .collect();
    assert!(!value_error_hashes.is_empty());
    let query: Vec<String> = value_error_hashes.iter().map(|h| format!("id={h}")).collect();
    let reader =
        member(&app, org_id(&app, "acme").await, "w@example.com", Role::Member, "event:read,event:write").await;
    let path = format!("/api/0/organizations/acme/issues/{parent}/hashes/?{}", query.join("&"));
    assert_eq!(reader.delete(&path).await.status, 403, "unmerging needs event:admin");
    assert_eq!(api.delete(&path).await.status, 202);
    assert_eq!(api.delete(&format!("/api/0/organizations/acme/issues/{parent}/hashes/")).await.status, 400);
    let left = api.ok(&format!("/api/0/organizations/acme/issues/{parent}/hashes/")).await;
    assert_eq!(left.as_array().unwrap().len(), hashes.len() - value_error_hashes.len());

    // The next ValueError starts a new issue; the merged one keeps its count.
    send(&app, &p, value_error("3", "1.0")).await;
    digest(&app).await;
    let after = api.ok("/api/0/organizations/acme/issues/?query=ValueError").await;
    let new_ids = ids(&after);
    assert!(new_ids.iter().any(|i| *i != parent), "{after}");
    let fresh = after.as_array().unwrap().iter().find(|i| i["id"] != parent.as_str()).unwrap();
    assert_eq!(fresh["count"], "1");
    assert_eq!(api.ok(&format!("/api/0/issues/{parent}/")).await["count"], "2");
}

async fn comments_only_the_author_edits(app: TestApp) {
    let (_, _) = seed(&app).await;
    let org = org_id(&app, "acme").await;
    let owner = member(&app, org, "owner@example.com", Role::Owner, ALL_SCOPES).await;
    let other = member(&app, org, "other@example.com", Role::Admin, ALL_SCOPES).await;
    let list = owner.ok("/api/0/organizations/acme/issues/?sort=new").await;
    let (id, second) = (list[0]["id"].as_str().unwrap().to_string(), list[1]["id"].as_str().unwrap().to_string());
    let path = format!("/api/0/issues/{id}/comments/");

    let created = owner.call(Method::POST, &path, Some(json!({"data": {"text": "Looking into it"}}))).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let c = &created.body;
    assert_eq!(c["data"]["text"], "Looking into it");
    assert_eq!(c["type"], "note");
    assert_eq!(c["issue"], id);
    assert_eq!(c["user"]["email"], "owner@example.com");
    assert!(c["dateCreated"].is_string() && c["id"].is_string());
    let cid = c["id"].as_str().unwrap().to_string();
    let theirs = other.call(Method::POST, &path, Some(json!({"data": {"text": "Me too"}}))).await;
    assert_eq!(theirs.status, 201);
    assert_eq!(owner.call(Method::POST, &path, Some(json!({"data": {"text": "   "}}))).await.status, 400);

    let listed = owner.ok(&path).await;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert_eq!(listed[0]["data"]["text"], "Me too", "newest first");
    assert_eq!(owner.ok(&format!("/api/0/issues/{id}/")).await["numComments"], 2);
    let in_list = owner.ok("/api/0/organizations/acme/issues/?sort=new").await;
    assert_eq!(in_list[0]["numComments"], 2);

    let one = format!("/api/0/issues/{id}/comments/{cid}/");
    assert_eq!(other.put(&one, json!({"data": {"text": "hijacked"}})).await.status, 403);
    assert_eq!(other.delete(&one).await.status, 403);
    let edited = owner.put(&one, json!({"data": {"text": "Fixed in 1.2"}})).await;
    assert_eq!(edited.status, 200);
    assert_eq!(edited.body["data"]["text"], "Fixed in 1.2");
    assert_eq!(
        owner.delete(&format!("/api/0/issues/{second}/comments/{cid}/")).await.status,
        404,
        "another issue's comment"
    );
    assert_eq!(owner.delete(&one).await.status, 204);
    assert_eq!(owner.ok(&path).await.as_array().unwrap().len(), 1);
}

/// What GitLab's error tracking calls, in order, and every field it reads.
async fn gitlab_sequence(app: TestApp) {
    let (p, _) = seed(&app).await;
    let api = member(
        &app,
        org_id(&app, "acme").await,
        "gitlab@example.com",
        Role::Member,
        "project:read,event:read,event:write,org:read",
    )
    .await;

    let projects = api.ok("/api/0/projects/").await;
    let project = projects.as_array().unwrap().iter().find(|x| x["slug"] == "web").unwrap();
    for key in ["id", "name", "slug", "status"] {
        assert!(project[key].is_string(), "project {key}: {project}");
    }
    assert_eq!(project["organization"]["slug"], "acme");
    assert!(project["organization"]["id"].is_string() && project["organization"]["name"].is_string());

    let path = format!("/api/0/projects/acme/web/issues/?query={}&limit=20&sort=freq", enc("is:unresolved "));
    let res = api.get(&path).await;
    assert_eq!(res.status, 200);
    let issues = res.body.as_array().unwrap();
    assert_eq!(issues.len(), 3);
    assert_eq!(issues[0]["title"], B, "freq: the most frequent first");
    for issue in issues {
        assert!(issue["id"].as_str().unwrap().chars().all(|c| c.is_ascii_digit()), "numeric string id");
        for key in ["firstSeen", "lastSeen", "title", "type", "count", "culprit", "shortId", "status"] {
            assert!(issue[key].is_string(), "{key}: {issue}");
        }
        assert!(issue["userCount"].is_i64());
        assert!(issue["count"].as_str().unwrap().parse::<i64>().is_ok());
        assert!(issue["metadata"].is_object());
        assert!(issue["stats"]["24h"].as_array().unwrap().iter().all(|p| p[0].is_i64() && p[1].is_i64()));
        assert_eq!(issue["project"]["id"], p.id.to_string());
        assert_eq!(issue["project"]["slug"], "web");
        assert_eq!(issue["project"]["name"], "web");
    }
    assert_eq!(issues[0]["metadata"]["value"], "'user'");
    assert_eq!(issues[0]["type"], "error");
    assert_eq!(issues[0]["userCount"], 1);
    let link = res.headers["link"].to_str().unwrap();
    assert!(gitlab_links(link).iter().all(|l| l.1 == "false"), "one page: {link}");
    let new_first =
        api.ok(&format!("/api/0/projects/acme/web/issues/?query={}&limit=20&sort=new", enc("is:unresolved"))).await;
    assert_eq!(new_first[0]["title"], C);
    let searched =
        api.ok(&format!("/api/0/projects/acme/web/issues/?query={}&limit=20", enc("is:unresolved ValueError"))).await;
    assert_eq!(titles(&searched), [A]);

    let id = searched[0]["id"].as_str().unwrap().to_string();
    let detail = api.ok(&format!("/api/0/issues/{id}/")).await;
    for key in ["id", "firstSeen", "lastSeen", "title", "type", "count", "culprit", "shortId", "status", "level"] {
        assert!(detail[key].is_string(), "{key}: {detail}");
    }
    assert_eq!(detail["logger"], "app.views");
    assert_eq!(detail["firstRelease"]["version"], "1.0");
    assert_eq!(detail["firstRelease"]["shortVersion"], "1.0");
    assert!(detail["firstRelease"].get("lastCommit").is_some());
    assert_eq!(detail["lastRelease"]["version"], "1.0");
    assert!(detail["annotations"].is_array() && detail["pluginIssues"].is_array());
    assert_eq!(detail["userCount"], 2);
    assert_eq!(detail["metadata"]["value"], "bad input");

    let event = api.ok(&format!("/api/0/issues/{id}/events/latest/")).await;
    assert_eq!(event["projectID"], p.id.to_string());
    assert_eq!(event["groupID"], id);
    assert!(event["dateReceived"].is_string());
    let exception =
        event["entries"].as_array().unwrap().iter().find(|e| e["type"] == "exception").expect("exception entry");
    let frames = exception["data"]["values"][0]["stacktrace"]["frames"].as_array().unwrap();
    let frame = frames.iter().find(|f| f["function"] == "index").expect("the in-app frame");
    assert_eq!(frame["filename"], "app/views.py");
    assert_eq!(frame["lineNo"], 10);
    assert!(frame["context"].as_array().unwrap().iter().any(|line| line[0] == 10), "{frame}");

    let res = api.put(&format!("/api/0/issues/{id}/"), json!({"status": "resolved"})).await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.body["status"], "resolved");
    let res = api.put(&format!("/api/0/issues/{id}/"), json!({"status": "ignored"})).await;
    assert_eq!(res.body["status"], "ignored");
    let ignored = api.ok(&format!("/api/0/projects/acme/web/issues/?query={}", enc("is:ignored"))).await;
    assert_eq!(titles(&ignored), [A]);
    let res = api.put(&format!("/api/0/issues/{id}/"), json!({"status": "unresolved"})).await;
    assert_eq!(res.body["status"], "unresolved");

    // Every route is in the OpenAPI document.
    let doc: Value = app.get("/api/openapi.json").await.json().await.unwrap();
    for path in [
        "/api/0/organizations/{organization_slug}/issues/",
        "/api/0/projects/{organization_slug}/{project_slug}/issues/",
        "/api/0/issues/{issue_id}/",
        "/api/0/issues/{issue_id}/events/latest/",
        "/api/0/issues/{issue_id}/tags/{key}/values/",
        "/api/0/organizations/{organization_slug}/issues/{issue_id}/hashes/",
        "/api/0/organizations/{organization_slug}/stats_v2/",
        "/api/0/organizations/{organization_slug}/events-stats/",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} in the OpenAPI document");
    }
    assert!(doc["paths"]["/api/0/issues/{issue_id}/"].get("put").is_some());
}

/// What Grafana's Sentry data source calls, and the fields it reads.
async fn grafana_sequence(app: TestApp) {
    let (p, _) = seed(&app).await;
    let org = org_id(&app, "acme").await;
    let api = member(&app, org, "grafana@example.com", Role::Member, "org:read,project:read,event:read").await;

    let orgs = api.ok("/api/0/organizations/").await;
    let o = &orgs[0];
    for key in ["id", "slug", "name", "dateCreated"] {
        assert!(o[key].is_string(), "{key}: {o}");
    }
    assert!(o["status"]["id"].is_string() && o["status"]["name"].is_string());
    assert!(o["avatar"].is_object() && o["require2FA"].is_boolean() && o["isEarlyAdopter"].is_boolean());
    let projects = api.ok("/api/0/organizations/acme/projects/").await;
    let pr = &projects[0];
    for key in ["id", "slug", "name", "dateCreated"] {
        assert!(pr[key].is_string(), "{key}: {pr}");
    }
    assert!(pr["environments"].is_array() && pr["teams"].is_array());
    assert!(pr["hasAccess"].is_boolean() && pr["isMember"].is_boolean() && pr["isBookmarked"].is_boolean());

    let tags = api.ok("/api/0/organizations/acme/tags/").await;
    let keys: Vec<&str> = tags.as_array().unwrap().iter().map(|t| t["key"].as_str().unwrap()).collect();
    for key in ["level", "environment", "release", "customer", "user"] {
        assert!(keys.contains(&key), "{key} in {keys:?}");
    }
    let level = tags.as_array().unwrap().iter().find(|t| t["key"] == "level").unwrap();
    assert_eq!(level["totalValues"], 6);
    assert!(level["name"].is_string());

    let now = chrono_like(60);
    let hour_ago = chrono_like(-3600);
    let issues = api
        .ok(&format!(
            "/api/0/organizations/acme/issues/?query={}&start={hour_ago}&end={now}&sort=freq&limit=100&project={}",
            enc("level:error"),
            p.id
        ))
        .await;
    let issue = &issues[0];
    assert_eq!(issue["title"], A);
    assert_eq!(issue["count"], "2");
    assert_eq!(issue["userCount"], 2);
    for key in [
        "id",
        "shortId",
        "title",
        "count",
        "status",
        "substatus",
        "level",
        "type",
        "platform",
        "firstSeen",
        "lastSeen",
        "culprit",
        "permalink",
    ] {
        assert!(issue[key].is_string(), "{key}: {issue}");
    }
    for key in ["hasSeen", "isUnhandled", "isPublic", "isBookmarked", "isSubscribed"] {
        assert!(issue[key].is_boolean(), "{key}: {issue}");
    }
    assert!(issue["numComments"].is_i64());
    assert!(issue.get("assignedTo").is_some());
    assert_eq!(issue["project"]["platform"], "python");
    for key in ["value", "type", "filename", "function"] {
        assert!(issue["metadata"][key].is_string(), "metadata {key}: {issue}");
    }
    let earlier =
        api.ok(&format!("/api/0/organizations/acme/issues/?start={}&end={hour_ago}", chrono_like(-7200))).await;
    assert!(earlier.as_array().unwrap().is_empty(), "first seen outside the range");

    // stats_v2: accepted errors per hour.
    let stats = api
        .ok(&format!(
            "/api/0/organizations/acme/stats_v2/?category=error&field={}&interval=1h&start={}&end={}&project={}",
            enc("sum(quantity)"),
            chrono_like(-6 * 3600),
            chrono_like(3600),
            p.id
        ))
        .await;
    let intervals = stats["intervals"].as_array().unwrap();
    assert!(intervals.len() >= 7 && intervals.len() <= 8, "{stats}");
    assert!(intervals.iter().all(|i| i.as_str().unwrap().ends_with(":00:00Z")));
    let series = stats["groups"][0]["series"]["sum(quantity)"].as_array().unwrap();
    assert_eq!(series.len(), intervals.len());
    assert_eq!(series.iter().map(|v| v.as_i64().unwrap()).sum::<i64>(), 6);
    assert_eq!(stats["groups"][0]["totals"]["sum(quantity)"], 6);
    assert!(stats["groups"][0]["by"].is_object());
    assert!(stats["start"].is_string() && stats["end"].is_string());
    let transactions = api
        .ok(&format!(
            "/api/0/organizations/acme/stats_v2/?category=transaction&field={}&statsPeriod=1d&interval=1d",
            enc("sum(times_seen)")
        ))
        .await;
    assert_eq!(transactions["groups"][0]["totals"]["sum(times_seen)"], 0);
    let by_project = api
        .ok(&format!(
            "/api/0/organizations/acme/stats_v2/?category=error&field={}&statsPeriod=24h&groupBy=project",
            enc("sum(quantity)")
        ))
        .await;
    assert_eq!(by_project["groups"][0]["by"]["project"], p.id);
    let too_many = api
        .get(&format!(
            "/api/0/organizations/acme/stats_v2/?category=error&field={}&interval=1h&statsPeriod=90d",
            enc("sum(quantity)")
        ))
        .await;
    assert_eq!(too_many.status, 400, "{}", too_many.body);
    assert!(too_many.body["detail"].is_string());
    assert_eq!(api.get("/api/0/organizations/acme/stats_v2/?category=error&field=avg(x)").await.status, 400);

    // events-stats with the issue search.
    let es = api
        .ok(&format!(
            "/api/0/organizations/acme/events-stats/?yAxis={}&interval=1h&start={}&end={}&query={}&project={}",
            enc("count()"),
            chrono_like(-6 * 3600),
            chrono_like(3600),
            enc("level:warning"),
            p.id
        ))
        .await;
    let data = es["data"].as_array().unwrap();
    assert!(data.iter().all(|point| point[0].is_i64() && point[1][0]["count"].is_i64()));
    assert_eq!(data.iter().map(|point| point[1][0]["count"].as_i64().unwrap()).sum::<i64>(), 3);
    assert!(es["start"].is_i64() && es["end"].is_i64());
    let all = api
        .ok(&format!(
            "/api/0/organizations/acme/events-stats/?yAxis={}&statsPeriod=24h&environment=production&query={}",
            enc("count()"),
            enc("event.type:error")
        ))
        .await;
    assert_eq!(
        all["data"].as_array().unwrap().iter().map(|point| point[1][0]["count"].as_i64().unwrap()).sum::<i64>(),
        3
    );
}

/// An ISO time `offset` seconds from now, without a zone (as Grafana sends it).
fn chrono_like(offset: i64) -> String {
    let t = faultline_store::Timestamp::now().plus_secs(offset).to_datetime();
    t.format("%Y-%m-%dT%H:%M:%S").to_string()
}

async fn other_organizations_issues_answer_404(app: TestApp) {
    let (_, events) = seed(&app).await;
    let victim_org = org_id(&app, "acme").await;
    let owner = member(&app, victim_org, "owner@example.com", Role::Owner, ALL_SCOPES).await;
    let id = ids(&owner.ok("/api/0/organizations/acme/issues/").await)[0].clone();
    let comment =
        owner.call(Method::POST, &format!("/api/0/issues/{id}/comments/"), Some(json!({"data": {"text": "x"}}))).await;
    let cid = comment.body["id"].as_str().unwrap().to_string();

    app.create_project("evil", "tools").await;
    let stranger = member(&app, org_id(&app, "evil").await, "stranger@example.com", Role::Owner, ALL_SCOPES).await;
    let ev = events[0].simple().to_string();
    let get_paths = [
        format!("/api/0/issues/{id}/"),
        format!("/api/0/issues/{id}/tags/"),
        format!("/api/0/issues/{id}/tags/level/"),
        format!("/api/0/issues/{id}/tags/level/values/"),
        format!("/api/0/issues/{id}/events/"),
        format!("/api/0/issues/{id}/events/latest/"),
        format!("/api/0/issues/{id}/events/oldest/"),
        format!("/api/0/issues/{id}/events/{ev}/"),
        format!("/api/0/issues/{id}/comments/"),
        format!("/api/0/issues/{id}/user-reports/"),
        "/api/0/organizations/acme/issues/".to_string(),
        format!("/api/0/organizations/acme/issues/{id}/"),
        format!("/api/0/organizations/acme/issues/{id}/events/"),
        format!("/api/0/organizations/acme/issues/{id}/events/latest/"),
        format!("/api/0/organizations/acme/issues/{id}/events/{ev}/json/"),
        format!("/api/0/organizations/acme/issues/{id}/hashes/"),
        format!("/api/0/organizations/acme/issues/{id}/user-reports/"),
        "/api/0/organizations/acme/issues-stats/?groups=1".to_string(),
        "/api/0/organizations/acme/stats_v2/?category=error&field=sum(quantity)&statsPeriod=1d".to_string(),
        "/api/0/organizations/acme/events-stats/".to_string(),
        "/api/0/organizations/acme/tags/".to_string(),
        "/api/0/projects/acme/web/issues/".to_string(),
        "/api/0/projects/acme/web/events/".to_string(),
        format!("/api/0/projects/acme/web/events/{ev}/"),
        "/api/0/projects/acme/web/user-reports/".to_string(),
        // The stranger's own organization with the victim's issue.
        format!("/api/0/organizations/evil/issues/{id}/"),
        format!("/api/0/organizations/evil/issues/{id}/events/latest/"),
        format!("/api/0/organizations/evil/issues/{id}/hashes/"),
        format!("/api/0/organizations/evil/issues/{id}/events/{ev}/json/"),
    ];
    for path in &get_paths {
        let a = stranger.get(path).await;
        assert_eq!(a.status, 404, "GET {path}: {}", a.body);
        assert_eq!(a.body, json!({"detail": "Not found."}), "GET {path}");
    }
    let writes = [
        (Method::PUT, format!("/api/0/issues/{id}/"), Some(json!({"status": "resolved"}))),
        (Method::DELETE, format!("/api/0/issues/{id}/"), None),
        (Method::POST, format!("/api/0/issues/{id}/comments/"), Some(json!({"data": {"text": "spam"}}))),
        (Method::PUT, format!("/api/0/issues/{id}/comments/{cid}/"), Some(json!({"data": {"text": "spam"}}))),
        (Method::DELETE, format!("/api/0/issues/{id}/comments/{cid}/"), None),
        (Method::PUT, format!("/api/0/organizations/acme/issues/?id={id}"), Some(json!({"status": "resolved"}))),
        (Method::DELETE, format!("/api/0/organizations/acme/issues/?id={id}"), None),
        (Method::PUT, format!("/api/0/organizations/acme/issues/{id}/"), Some(json!({"status": "resolved"}))),
        (
            Method::DELETE,
            format!("/api/0/organizations/acme/issues/{id}/hashes/?id=00000000000000000000000000000000"),
            None,
        ),
        (Method::PUT, format!("/api/0/organizations/evil/issues/{id}/"), Some(json!({"status": "resolved"}))),
        (Method::DELETE, format!("/api/0/organizations/evil/issues/{id}/"), None),
        (Method::PUT, "/api/0/projects/acme/web/issues/".to_string(), Some(json!({"status": "resolved"}))),
    ];
    for (method, path, body) in writes {
        let a = stranger.call(method.clone(), &path, body).await;
        assert_eq!(a.status, 404, "{method} {path}: {}", a.body);
    }
    // In their own organization, the victim's issue simply is not there.
    let res = stranger.put(&format!("/api/0/organizations/evil/issues/?id={id}"), json!({"status": "resolved"})).await;
    assert_eq!(res.status, 200);
    assert!(stranger
        .ok(&format!("/api/0/organizations/evil/issues-stats/?groups={id}"))
        .await
        .as_array()
        .unwrap()
        .is_empty());
    assert!(stranger.ok(&format!("/api/0/organizations/evil/issues/?query={ev}")).await.as_array().unwrap().is_empty());
    let issue = owner.ok(&format!("/api/0/issues/{id}/")).await;
    assert_eq!(issue["status"], "unresolved", "nothing the stranger did had an effect");
    assert_eq!(owner.ok(&format!("/api/0/issues/{id}/comments/")).await.as_array().unwrap().len(), 1);

    // A member whose token lacks the scope is refused, not misled.
    let limited = member(&app, victim_org, "limited@example.com", Role::Member, "org:read").await;
    let a = limited.get(&format!("/api/0/issues/{id}/")).await;
    assert_eq!(a.status, 403, "{}", a.body);
    assert!(a.body["detail"].as_str().unwrap().contains("event:read"));
    // Unauthenticated.
    let anon = app.http.get(app.url(&format!("/api/0/issues/{id}/"))).send().await.unwrap();
    assert_eq!(anon.status(), 401);
}

app_tests!(
    search_operators_and_event_ids,
    sorts_and_pagination,
    bulk_resolve_ignore_merge_delete,
    detail_tags_events_and_stats,
    hashes_and_unmerge,
    comments_only_the_author_edits,
    gitlab_sequence,
    grafana_sequence,
    other_organizations_issues_answer_404,
);
