//! Status pages over HTTP: the API (pages, incidents, maintenance windows), the public
//! page with its JSON and RSS feeds and SVG badges, private pages, maintenance, and the
//! settings pages of the UI. Monitors and their rollups are written with the store's
//! test helpers, so these tests do not depend on the monitor engine.

use std::collections::BTreeMap;

use faultline_domain::access::Scopes;
use faultline_store::{NewUser, OrganizationId, Role, Timestamp};
use faultline_testing::{app_tests, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const PASSWORD: &str = "a long password";
const ALL: &str = "org:read,org:write,org:admin,project:read,project:write,event:read";

async fn org_id(app: &TestApp, slug: &str) -> OrganizationId {
    app.store.organization_by_slug(slug).await.unwrap().expect("organization").id
}

/// A user with `role` in `org` and a token with `scopes`.
async fn token(app: &TestApp, email: &str, org: &str, role: Role, scopes: &str) -> String {
    let user = app
        .store
        .create_user(&NewUser { email: email.into(), name: email.into(), ..Default::default() })
        .await
        .unwrap();
    app.store.add_member(org_id(app, org).await, user.id, role).await.unwrap();
    faultline_domain::tokens::create(&app.store, &user, "status", Scopes::parse_list(scopes).unwrap()).await.unwrap().1
}

async fn call(
    app: &TestApp,
    token: Option<&str>,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = app.http.request(method, app.url(path));
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

async fn ok(app: &TestApp, token: &str, method: Method, path: &str, body: Option<Value>) -> Value {
    let (status, body) = call(app, Some(token), method.clone(), path, body).await;
    assert!(status.is_success(), "{method} {path}: {status} {body}");
    body
}

fn today_start() -> i64 {
    (Timestamp::now().micros() / 1_000_000).div_euclid(86_400) * 86_400
}

// ---- a strict little XML checker (well-formedness only) ----

/// Checks that `xml` is well-formed (one root, nested tags, quoted attributes, known
/// entities only) and returns the text of every element named `name`, unescaped.
fn well_formed_texts(xml: &str, name: &str) -> Vec<String> {
    fn unescape(s: &str) -> String {
        let mut out = String::new();
        let mut rest = s;
        while let Some(at) = rest.find('&') {
            out.push_str(&rest[..at]);
            let end = rest[at..].find(';').unwrap_or_else(|| panic!("unterminated entity in {s:?}"));
            let entity = &rest[at + 1..at + end];
            out.push(match entity {
                "amp" => '&',
                "lt" => '<',
                "gt" => '>',
                "quot" => '"',
                "apos" => '\'',
                e if e.starts_with("#x") => char::from_u32(u32::from_str_radix(&e[2..], 16).unwrap()).unwrap(),
                e if e.starts_with('#') => char::from_u32(e[1..].parse().unwrap()).unwrap(),
                e => panic!("unknown entity &{e}; in {s:?}"),
            });
            rest = &rest[at + end + 1..];
        }
        out.push_str(rest);
        out
    }
    let body =
        xml.strip_prefix("<?xml").map(|r| &r[r.find("?>").expect("end of the declaration") + 2..]).unwrap_or(xml);
    let mut stack: Vec<(String, String)> = Vec::new();
    let mut texts = Vec::new();
    let mut roots = 0;
    let mut rest = body;
    loop {
        let Some(lt) = rest.find('<') else {
            assert!(rest.trim().is_empty(), "text after the root: {rest:?}");
            break;
        };
        let text = &rest[..lt];
        assert!(!text.contains('>') || !stack.is_empty(), "stray '>'");
        if let Some((_, content)) = stack.last_mut() {
            content.push_str(&unescape(text));
        } else {
            assert!(text.trim().is_empty(), "text outside the root: {text:?}");
        }
        let gt = rest[lt..].find('>').expect("an unterminated tag") + lt;
        let tag = &rest[lt + 1..gt];
        assert!(!tag.contains('<'), "'<' inside a tag: {tag:?}");
        if let Some(closing) = tag.strip_prefix('/') {
            let (open, content) = stack.pop().unwrap_or_else(|| panic!("</{closing}> without an opening tag"));
            assert_eq!(open, closing.trim(), "mismatched tags");
            if open == name {
                texts.push(content);
            }
        } else {
            let self_closing = tag.ends_with('/');
            let tag = tag.trim_end_matches('/');
            let tag_name = tag.split_whitespace().next().expect("a tag name").to_string();
            // Attributes: name="value" pairs with escaped values.
            let mut attrs = tag[tag_name.len()..].trim();
            while !attrs.is_empty() {
                let eq = attrs.find('=').expect("an attribute with a value");
                let quote = attrs[eq + 1..].chars().next().expect("a quoted value");
                assert!(quote == '"' || quote == '\'', "unquoted attribute in {tag:?}");
                let end = attrs[eq + 2..].find(quote).expect("a closing quote") + eq + 2;
                unescape(&attrs[eq + 2..end]);
                attrs = attrs[end + 1..].trim_start();
            }
            if stack.is_empty() {
                roots += 1;
            }
            if !self_closing {
                stack.push((tag_name, String::new()));
            }
        }
        rest = &rest[gt + 1..];
    }
    assert!(stack.is_empty(), "unclosed tags: {stack:?}");
    assert_eq!(roots, 1, "one root element");
    texts
}

// ---- the API ----

async fn api_crud_and_validation(app: TestApp) {
    app.create_project("acme", "web").await;
    app.create_project("other", "site").await;
    let owner = token(&app, "owner@acme.test", "acme", Role::Owner, ALL).await;
    let reader = token(&app, "reader@acme.test", "acme", Role::Member, "org:read").await;
    let acme = org_id(&app, "acme").await;
    let api = app.store.insert_test_monitor(acme, "API", "https://api.acme.test", "up").await.unwrap();
    let web = app.store.insert_test_monitor(acme, "Web", "https://acme.test", "up").await.unwrap();
    let foreign =
        app.store.insert_test_monitor(org_id(&app, "other").await, "X", "https://x.test", "up").await.unwrap();
    let base = "/api/0/organizations/acme/status-pages/";

    // Create with groups (and an ungrouped monitor), GlitchTip's fields plus ours.
    let (status, page) = call(
        &app,
        Some(&owner),
        Method::POST,
        base,
        Some(json!({"name": "Acme Status", "isPublic": true, "description": "Our services",
            "groups": [{"name": "Backend", "monitors": [api]}], "monitors": [api, web]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{page}");
    assert_eq!(page["slug"], "acme-status", "a slug is made from the name");
    assert_eq!(page["isPublic"], true);
    assert_eq!(page["description"], "Our services");
    assert_eq!(page["monitors"], json!([api, web]));
    assert_eq!(page["groups"], json!([{"name": "Backend", "monitors": [api]}, {"name": "", "monitors": [web]}]));
    assert!(page["url"].as_str().unwrap().ends_with("/status-pages/acme/acme-status/"));

    // Validation: a bad slug, a taken slug, a foreign or repeated monitor, no name.
    for (body, expected) in [
        (json!({"name": "X", "slug": "Bad Slug"}), StatusCode::BAD_REQUEST),
        (json!({"name": "Again", "slug": "acme-status"}), StatusCode::CONFLICT),
        (json!({"name": "X", "monitors": [foreign]}), StatusCode::BAD_REQUEST),
        (
            json!({"name": "X", "monitors": [api], "groups": [{"name": "A", "monitors": [web, web]}]}),
            StatusCode::BAD_REQUEST,
        ),
        (json!({"name": "  "}), StatusCode::BAD_REQUEST),
        (json!({"name": 5}), StatusCode::BAD_REQUEST),
    ] {
        let (status, answer) = call(&app, Some(&owner), Method::POST, base, Some(body.clone())).await;
        assert_eq!(status, expected, "{body}: {answer}");
        assert!(answer["detail"].as_str().is_some_and(|d| !d.is_empty()), "{answer}");
    }
    // A read-only member may read, not write.
    let (status, _) = call(&app, Some(&reader), Method::POST, base, Some(json!({"name": "Nope"}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let list = ok(&app, &reader, Method::GET, base, None).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["name"], "Acme Status");

    // Update: absent fields are kept; monitors replaced.
    let path = format!("{base}acme-status/");
    let page = ok(&app, &owner, Method::PUT, &path, Some(json!({"slug": "status", "monitors": [web]}))).await;
    assert_eq!((page["name"].as_str(), page["slug"].as_str()), (Some("Acme Status"), Some("status")));
    assert_eq!(page["monitors"], json!([web]));
    assert_eq!(page["isPublic"], true);
    let (status, _) = call(&app, Some(&owner), Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "the old slug is gone");
    let path = format!("{base}status/");
    let page = ok(&app, &owner, Method::PUT, &path, Some(json!({"isPublic": false, "monitors": [api, web]}))).await;
    assert_eq!(page["isPublic"], false);
    assert_eq!(ok(&app, &owner, Method::GET, &path, None).await["monitors"], json!([api, web]));
    // Another organization's owner sees nothing.
    let outsider = token(&app, "owner@other.test", "other", Role::Owner, ALL).await;
    let (status, _) = call(&app, Some(&outsider), Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Incidents: open, update (a new update row), list; bad statuses refused.
    let incidents = format!("{path}incidents/");
    let (status, answer) = call(
        &app,
        Some(&owner),
        Method::POST,
        &incidents,
        Some(json!({"title": "Slow API", "status": "fixed", "impact": "minor"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    let (status, answer) =
        call(&app, Some(&owner), Method::POST, &incidents, Some(json!({"title": "Slow API", "impact": "huge"}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    let (status, incident) = call(
        &app,
        Some(&owner),
        Method::POST,
        &incidents,
        Some(json!({"title": "Slow API", "impact": "major", "message": "Looking into it."})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{incident}");
    assert_eq!(incident["status"], "investigating");
    assert_eq!(incident["updates"].as_array().unwrap().len(), 1);
    assert!(incident["dateResolved"].is_null());
    let one = format!("{incidents}{}/", incident["id"]);
    let (status, _) = call(&app, Some(&owner), Method::PUT, &one, Some(json!({"status": "identified"}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "an update needs a message");
    let updated = ok(
        &app,
        &owner,
        Method::PUT,
        &one,
        Some(json!({"status": "identified", "message": "A bad deploy.", "impact": "critical"})),
    )
    .await;
    assert_eq!((updated["status"].as_str(), updated["impact"].as_str()), (Some("identified"), Some("critical")));
    let resolved =
        ok(&app, &owner, Method::PUT, &one, Some(json!({"status": "resolved", "message": "Rolled back."}))).await;
    assert!(resolved["dateResolved"].is_string());
    let updates = resolved["updates"].as_array().unwrap();
    assert_eq!(
        updates.iter().map(|u| u["status"].as_str().unwrap()).collect::<Vec<_>>(),
        ["resolved", "identified", "investigating"],
        "newest first"
    );
    assert_eq!(updates[0]["message"], "Rolled back.");
    let list = ok(&app, &reader, Method::GET, &incidents, None).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(ok(&app, &reader, Method::GET, &one, None).await["title"], "Slow API");
    let (status, _) =
        call(&app, Some(&reader), Method::PUT, &one, Some(json!({"status": "resolved", "message": "x"}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Maintenance windows.
    let windows = "/api/0/organizations/acme/maintenance-windows/";
    let start = Timestamp::now().plus_secs(3_600);
    let end = start.plus_secs(3_600);
    let (status, answer) = call(
        &app,
        Some(&owner),
        Method::POST,
        windows,
        Some(json!({"title": "Upgrade", "startsAt": end, "endsAt": start})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(answer["detail"].as_str().unwrap().contains("after"), "{answer}");
    let (status, answer) = call(
        &app,
        Some(&owner),
        Method::POST,
        windows,
        Some(json!({"title": "Upgrade", "startsAt": "soon", "endsAt": end})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    let (status, answer) = call(
        &app,
        Some(&owner),
        Method::POST,
        windows,
        Some(json!({"title": "Upgrade", "startsAt": start, "endsAt": end, "statusPage": "nope"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    let (status, window) = call(
        &app,
        Some(&owner),
        Method::POST,
        windows,
        Some(json!({"title": "Upgrade", "startsAt": start, "endsAt": end, "statusPage": "status"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{window}");
    assert_eq!((window["statusPage"].as_str(), window["active"].as_bool()), (Some("status"), Some(false)));
    let one_window = format!("{windows}{}/", window["id"]);
    let window = ok(
        &app,
        &owner,
        Method::PUT,
        &one_window,
        Some(json!({"title": "Bigger upgrade", "startsAt": start, "endsAt": end.plus_secs(60)})),
    )
    .await;
    assert_eq!((window["title"].as_str(), window["statusPage"].as_str()), (Some("Bigger upgrade"), None));
    assert_eq!(ok(&app, &reader, Method::GET, windows, None).await.as_array().unwrap().len(), 1);
    assert_eq!(ok(&app, &reader, Method::GET, &one_window, None).await["title"], "Bigger upgrade");
    let (status, _) = call(&app, Some(&outsider), Method::GET, &one_window, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(&app, Some(&owner), Method::DELETE, &one_window, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call(&app, Some(&owner), Method::GET, &one_window, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Deleting an incident, then the page.
    let (status, _) = call(&app, Some(&owner), Method::DELETE, &one, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(ok(&app, &owner, Method::GET, &incidents, None).await.as_array().unwrap().is_empty());
    let (status, _) = call(&app, Some(&reader), Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = call(&app, Some(&owner), Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call(&app, Some(&owner), Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(&app, None, Method::GET, base, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

// ---- the public page, feeds and badges ----

async fn public_page_feeds_and_badges(app: TestApp) {
    app.create_project("acme", "web").await;
    let owner = token(&app, "owner@acme.test", "acme", Role::Owner, ALL).await;
    let acme = org_id(&app, "acme").await;
    let api = app.store.insert_test_monitor(acme, "Public API", "https://api.acme.test", "up").await.unwrap();
    let db = app.store.insert_test_monitor(acme, "Database", "db.acme.test:5432", "down").await.unwrap();
    let hidden = app.store.insert_test_monitor(acme, "Internal", "https://intra.acme.test", "up").await.unwrap();
    // History: yesterday 100 %, two days ago 50 %, today (hours) 99 of 100.
    let today = today_start();
    app.store.insert_test_rollup(api, 86_400, today - 86_400, 1440, 0).await.unwrap();
    app.store.insert_test_rollup(api, 86_400, today - 2 * 86_400, 720, 720).await.unwrap();
    app.store.insert_test_rollup(api, 3_600, today, 99, 1).await.unwrap();
    app.store.insert_test_rollup(api, 60, today, 1, 0).await.unwrap();
    // Hour rows of the last day, for the uptime badge.
    app.store.insert_test_rollup(hidden, 3_600, today - 3_600, 30, 30).await.unwrap();

    ok(
        &app,
        &owner,
        Method::POST,
        "/api/0/organizations/acme/status-pages/",
        Some(json!({"name": "Acme <Status> & Co", "slug": "acme", "isPublic": true,
            "groups": [{"name": "Services", "monitors": [api, db]}]})),
    )
    .await;
    let incident = ok(
        &app,
        &owner,
        Method::POST,
        "/api/0/organizations/acme/status-pages/acme/incidents/",
        Some(json!({"title": "DB <down> & \"out\"", "impact": "major", "message": "Disk <full> & more"})),
    )
    .await;
    ok(
        &app,
        &owner,
        Method::PUT,
        &format!("/api/0/organizations/acme/status-pages/acme/incidents/{}/", incident["id"]),
        Some(json!({"status": "identified", "message": "Adding space."})),
    )
    .await;
    let start = Timestamp::now().plus_secs(86_400);
    ok(
        &app,
        &owner,
        Method::POST,
        "/api/0/organizations/acme/maintenance-windows/",
        Some(json!({"title": "Network work", "startsAt": start, "endsAt": start.plus_secs(3_600)})),
    )
    .await;

    // The page, anonymously.
    let res = app.get("/status-pages/acme/acme/").await;
    assert_eq!(res.status(), 200);
    let csp = res.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
    let html = res.text().await.unwrap();
    assert!(html.contains("Acme &lt;Status&gt; &amp; Co"), "the name is escaped");
    assert!(html.contains("data-status=\"partial_outage\""), "one of two monitors is down");
    assert!(html.contains("Partial outage"));
    assert!(html.contains("<h3>Services</h3>"));
    assert!(html.contains("Public API") && html.contains("Database") && !html.contains("Internal"));
    assert!(html.contains("data-status=\"operational\"") && html.contains("data-status=\"major_outage\""));
    assert_eq!(html.matches("class=\"bar ").count(), 180, "90 bars per monitor");
    let yesterday = Timestamp::from_micros((today - 86_400) * 1_000_000).to_datetime().format("%Y-%m-%d").to_string();
    assert!(html.contains(&format!("class=\"bar bar-ok\" title=\"{yesterday}: 100% uptime\"")), "yesterday's bar");
    assert!(html.contains("class=\"bar bar-down\""), "50 % is an outage day");
    assert!(html.contains("class=\"bar bar-minor\""), "today at 99 %");
    assert!(html.contains("no data"));
    assert!(
        html.contains("DB &lt;down&gt; &amp; &quot;out&quot;") || html.contains("DB &lt;down&gt; &amp; &#34;out&#34;"),
        "{html}"
    );
    assert!(!html.contains("<down>"));
    assert!(html.contains("Adding space.") && html.contains("Disk &lt;full&gt;"));
    assert!(
        html.contains("Active incidents") && html.contains("Scheduled maintenance") && html.contains("Network work")
    );
    assert!(!html.contains(" style=\""), "no inline styles");
    // The bare slug goes to the page.
    let res = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(app.url("/status-pages/acme/acme"))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_redirection());
    assert_eq!(res.headers()["location"], "/status-pages/acme/acme/");

    // The JSON feed.
    let res = app.get("/status-pages/acme/acme.json").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["access-control-allow-origin"], "*", "a public feed may be read from other sites");
    let feed: Value = res.json().await.unwrap();
    assert_eq!(feed["status"]["indicator"], "partial_outage");
    assert_eq!(feed["page"]["name"], "Acme <Status> & Co");
    let components = feed["components"].as_array().unwrap();
    assert_eq!(components.len(), 2);
    assert_eq!(
        (components[0]["name"].as_str(), components[0]["status"].as_str()),
        (Some("Public API"), Some("operational"))
    );
    assert_eq!(components[0]["group"], "Services");
    assert_eq!(components[1]["status"], "major_outage");
    let uptime = components[0]["uptime90d"].as_f64().unwrap();
    assert!((uptime - 100.0 * (1440.0 + 720.0 + 99.0) / (1440.0 + 1440.0 + 100.0)).abs() < 0.01, "{uptime}");
    assert_eq!(components[0]["history"].as_array().unwrap().len(), 90);
    assert!(components[1]["uptime90d"].is_null());
    let incidents = feed["incidents"].as_array().unwrap();
    assert_eq!(incidents[0]["title"], "DB <down> & \"out\"");
    assert_eq!(incidents[0]["status"], "identified");
    assert_eq!(incidents[0]["updates"].as_array().unwrap().len(), 2);
    assert_eq!(feed["maintenance"][0]["active"], false);

    // The RSS feed: well-formed, with escaped titles.
    let res = app.get("/status-pages/acme/acme/rss").await;
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("application/rss+xml"));
    let xml = res.text().await.unwrap();
    assert!(xml.contains("<rss version=\"2.0\""));
    assert!(xml.contains("rel=\"self\""), "{xml}");
    assert!(xml.contains("DB &lt;down&gt; &amp; &quot;out&quot;: Identified"), "{xml}");
    let titles = well_formed_texts(&xml, "title");
    assert_eq!(titles[0], "Acme <Status> & Co status");
    assert!(titles.contains(&"DB <down> & \"out\": Investigating".to_string()), "{titles:?}");
    assert!(titles.contains(&"DB <down> & \"out\": Identified".to_string()));
    assert!(titles.contains(&"Scheduled maintenance: Network work".to_string()));
    assert_eq!(well_formed_texts(&xml, "item").len(), 3);
    let descriptions = well_formed_texts(&xml, "description");
    assert!(descriptions.contains(&"Disk <full> & more".to_string()), "{descriptions:?}");
    for date in well_formed_texts(&xml, "pubDate") {
        assert!(chrono_like_rfc2822(&date), "{date}");
    }

    // Badges.
    let res = app.get("/status-pages/acme/acme/badge.svg").await;
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("image/svg+xml"));
    assert!(res.headers()["cache-control"].to_str().unwrap().contains("max-age=60"));
    let svg = res.text().await.unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("partial outage") && svg.contains("#e16f24"), "{svg}");
    well_formed_texts(&svg, "text");
    let badge = |path: String| {
        let app = &app;
        async move {
            let res = app.get(&path).await;
            let status = res.status();
            let cache = res.headers().get("cache-control").map(|v| v.to_str().unwrap().to_string());
            (status, cache, res.text().await.unwrap())
        }
    };
    let (status, cache, svg) = badge(format!("/api/0/organizations/acme/monitors/{api}/badge.svg")).await;
    assert_eq!(status, 200);
    assert_eq!(cache.as_deref(), Some("public, max-age=60"));
    assert!(svg.contains(">status</text>") && svg.contains(">up</text>"), "{svg}");
    let (_, _, svg) = badge(format!("/api/0/organizations/acme/monitors/{db}/badge.svg?type=status")).await;
    assert!(svg.contains(">down</text>"), "{svg}");
    let (_, _, svg) = badge(format!("/api/0/organizations/acme/monitors/{api}/badge.svg?type=uptime&period=24h")).await;
    assert!(svg.contains(">uptime 24h</text>") && svg.contains(">99.00%</text>"), "{svg}");
    let (_, _, svg) = badge(format!("/api/0/organizations/acme/monitors/{api}/badge.svg?type=uptime&period=7d")).await;
    assert!(svg.contains(">uptime 7d</text>"), "{svg}");
    let (status, _, _) =
        badge(format!("/api/0/organizations/acme/monitors/{api}/badge.svg?type=uptime&period=1y")).await;
    assert_eq!(status, 400);
    // A monitor on no public page: members only.
    let (status, _, _) = badge(format!("/api/0/organizations/acme/monitors/{hidden}/badge.svg")).await;
    assert_eq!(status, 404);
    let res = app
        .http
        .get(app.url(&format!("/api/0/organizations/acme/monitors/{hidden}/badge.svg?type=uptime&period=30d")))
        .bearer_auth(&owner)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "private, max-age=60");
    assert!(res.text().await.unwrap().contains(">50.00%</text>"));

    // Private: anonymous visitors are sent to log in (as for a page that does not
    // exist), feeds and badges are 404; members see everything.
    ok(&app, &owner, Method::PUT, "/api/0/organizations/acme/status-pages/acme/", Some(json!({"isPublic": false})))
        .await;
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    for path in ["/status-pages/acme/acme/", "/status-pages/acme/missing/"] {
        let res = client.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 303, "{path}");
        assert!(res.headers()["location"].to_str().unwrap().starts_with("/login?next="), "{path}");
    }
    for path in [
        "/status-pages/acme/acme.json".to_string(),
        "/status-pages/acme/acme/rss".to_string(),
        "/status-pages/acme/acme/badge.svg".to_string(),
        format!("/api/0/organizations/acme/monitors/{api}/badge.svg"),
    ] {
        assert_eq!(app.get(&path).await.status(), 404, "{path}");
    }
    let outsider = {
        app.create_project("other", "site").await;
        token(&app, "owner@other.test", "other", Role::Owner, ALL).await
    };
    let res = app.http.get(app.url("/status-pages/acme/acme.json")).bearer_auth(&outsider).send().await.unwrap();
    assert_eq!(res.status(), 404);
    let res = app.http.get(app.url("/status-pages/acme/acme/")).bearer_auth(&outsider).send().await.unwrap();
    assert_eq!(res.status(), 404);
    let res = app.http.get(app.url("/status-pages/acme/acme.json")).bearer_auth(&owner).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "private, max-age=30");
    assert!(res.headers().get("access-control-allow-origin").is_none());
    let res = app.http.get(app.url("/status-pages/acme/acme/")).bearer_auth(&owner).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("members of the organization only"));
}

/// `Sun, 22 Nov 2026 08:00:00 +0000`.
fn chrono_like_rfc2822(date: &str) -> bool {
    let parts: Vec<&str> = date.split(' ').collect();
    parts.len() == 6 && parts[0].ends_with(',') && parts[4].len() == 8 && parts[5] == "+0000"
}

// ---- maintenance ----

async fn maintenance_sets_the_status_and_covers_monitors(app: TestApp) {
    app.create_project("acme", "web").await;
    let owner = token(&app, "owner@acme.test", "acme", Role::Owner, ALL).await;
    let acme = org_id(&app, "acme").await;
    let shown = app.store.insert_test_monitor(acme, "Shown", "https://a.test", "down").await.unwrap();
    let elsewhere = app.store.insert_test_monitor(acme, "Elsewhere", "https://b.test", "up").await.unwrap();
    app.create_project("other", "site").await;
    let foreign =
        app.store.insert_test_monitor(org_id(&app, "other").await, "X", "https://x.test", "up").await.unwrap();
    let pages = "/api/0/organizations/acme/status-pages/";
    ok(&app, &owner, Method::POST, pages, Some(json!({"name": "Main", "isPublic": true, "monitors": [shown]}))).await;
    ok(&app, &owner, Method::POST, pages, Some(json!({"name": "Side", "isPublic": true, "monitors": [elsewhere]})))
        .await;
    let feed = |slug: &'static str| {
        let app = &app;
        async move { app.get(&format!("/status-pages/acme/{slug}.json")).await.json::<Value>().await.unwrap() }
    };
    assert_eq!(feed("main").await["status"]["indicator"], "major_outage");
    let now = Timestamp::now();
    for m in [shown, elsewhere, foreign] {
        assert!(!app.store.monitor_in_maintenance(m, now).await.unwrap());
    }

    // A window of the page "main": its monitor is in maintenance, the other is not.
    let windows = "/api/0/organizations/acme/maintenance-windows/";
    let started = now.plus_secs(-60);
    let window = ok(
        &app,
        &owner,
        Method::POST,
        windows,
        Some(json!({"title": "Disk swap", "startsAt": started, "endsAt": now.plus_secs(3_600), "statusPage": "main"})),
    )
    .await;
    assert_eq!(window["active"], true);
    let now = Timestamp::now();
    assert!(app.store.monitor_in_maintenance(shown, now).await.unwrap());
    assert!(!app.store.monitor_in_maintenance(elsewhere, now).await.unwrap());
    assert!(!app.store.monitor_in_maintenance(shown, now.plus_secs(7_200)).await.unwrap(), "after the window");
    let main = feed("main").await;
    assert_eq!(main["status"]["indicator"], "maintenance");
    assert_eq!(main["components"][0]["status"], "maintenance");
    assert_eq!(feed("side").await["status"]["indicator"], "operational");
    let html = app.get("/status-pages/acme/main/").await.text().await.unwrap();
    assert!(html.contains("Under maintenance") && html.contains("Maintenance in progress: Disk swap"));
    let svg = app.get(&format!("/api/0/organizations/acme/monitors/{shown}/badge.svg")).await.text().await.unwrap();
    assert!(svg.contains(">maintenance</text>"), "{svg}");

    // An organization-wide window covers every monitor of the organization only.
    ok(
        &app,
        &owner,
        Method::POST,
        windows,
        Some(json!({"title": "Everything", "startsAt": started, "endsAt": now.plus_secs(600)})),
    )
    .await;
    let now = Timestamp::now();
    assert!(app.store.monitor_in_maintenance(elsewhere, now).await.unwrap());
    assert!(!app.store.monitor_in_maintenance(foreign, now).await.unwrap());
    assert_eq!(feed("side").await["status"]["indicator"], "maintenance");

    // The pure helper agrees with the query.
    let all = app.store.maintenance_windows(acme).await.unwrap();
    for m in [shown, elsewhere] {
        let pages = app.store.monitor_status_page_ids(m).await.unwrap();
        assert_eq!(
            faultline_domain::status_pages::is_in_maintenance(&all, acme, &pages, now),
            app.store.monitor_in_maintenance(m, now).await.unwrap()
        );
    }
}

// ---- the settings pages ----

/// A cookie-keeping client that does not follow redirects.
struct Browser {
    client: reqwest::Client,
    base: String,
    cookies: BTreeMap<String, String>,
}

impl Browser {
    fn new(app: &TestApp) -> Browser {
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Browser { client, base: app.base_url.clone(), cookies: BTreeMap::new() }
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> (StatusCode, String, String) {
        let cookie = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
        let res = req.header("cookie", cookie).send().await.unwrap();
        for value in res.headers().get_all("set-cookie") {
            let pair = value.to_str().unwrap().split(';').next().unwrap();
            let (name, v) = pair.split_once('=').unwrap();
            self.cookies.insert(name.to_string(), v.to_string());
        }
        let status = res.status();
        let location = res.headers().get("location").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
        (status, location, res.text().await.unwrap())
    }

    async fn get(&mut self, path: &str) -> (StatusCode, String) {
        let req = self.client.get(format!("{}{path}", self.base));
        let (status, _, body) = self.send(req).await;
        (status, body)
    }

    /// Posts `form` with the CSRF token of `page`; returns the status, location and body.
    async fn submit(&mut self, page: &str, action: &str, form: &[(&str, &str)]) -> (StatusCode, String, String) {
        let (_, html) = self.get(page).await;
        let marker = "name=\"csrfmiddlewaretoken\" value=\"";
        let at = html.find(marker).expect("a form with a CSRF token") + marker.len();
        let csrf = html[at..at + html[at..].find('"').unwrap()].to_string();
        let mut fields = vec![("csrfmiddlewaretoken", csrf.as_str())];
        fields.extend_from_slice(form);
        let req = self.client.post(format!("{}{action}", self.base)).form(&fields);
        self.send(req).await
    }
}

async fn settings_pages_manage_pages_incidents_and_windows(app: TestApp) {
    app.create_project("acme", "web").await;
    let acme = org_id(&app, "acme").await;
    let api = app.store.insert_test_monitor(acme, "API", "https://api.acme.test", "up").await.unwrap();
    let web = app.store.insert_test_monitor(acme, "Website", "https://acme.test", "pending").await.unwrap();
    // The first user of a server is a superuser: someone else comes first.
    faultline_domain::accounts::register(&app.store, true, "first@acme.test", PASSWORD, "First").await.unwrap();
    let user =
        faultline_domain::accounts::register(&app.store, true, "admin@acme.test", PASSWORD, "Admin").await.unwrap();
    app.store.add_member(acme, user.id, Role::Owner).await.unwrap();
    let mut b = Browser::new(&app);
    let (status, _, _) = b
        .send(b.client.post(format!("{}/login", b.base)).form(&[
            ("email", "admin@acme.test"),
            ("password", PASSWORD),
            ("next", "/"),
        ]))
        .await;
    assert_eq!(status, 303);

    let list = "/acme/settings/status-pages";
    let (status, html) = b.get(list).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("No status pages yet") && html.contains("No maintenance scheduled"));
    assert!(html.contains("href=\"/acme/settings/status-pages\""), "the navigation links here");
    // A bad slug is shown next to the form.
    let (status, _, html) = b.submit(list, list, &[("name", "Acme"), ("slug", "Not OK")]).await;
    assert_eq!(status, 400);
    assert!(html.contains("lower-case letters"), "{html}");
    let (status, location, _) =
        b.submit(list, list, &[("name", "Acme Status"), ("description", "All of it"), ("is_public", "on")]).await;
    assert_eq!(status, 303);
    assert_eq!(location, "/acme/settings/status-pages/acme-status?done=page-created");
    let edit = "/acme/settings/status-pages/acme-status";
    let (status, html) = b.get(&format!("{edit}?done=page-created")).await;
    assert_eq!(status, 200);
    assert!(html.contains("Status page created") && html.contains("API") && html.contains("Website"));

    // Choose monitors and groups.
    let (api_s, web_s) = (api.to_string(), web.to_string());
    let (group_api, group_web) = (format!("group_{api}"), format!("group_{web}"));
    let (status, location, html) = b
        .submit(
            edit,
            edit,
            &[
                ("name", "Acme Status"),
                ("slug", "acme-status"),
                ("description", "All of it"),
                ("is_public", "on"),
                ("monitor", &web_s),
                (&group_web, "Frontend"),
                ("monitor", &api_s),
                (&group_api, "Backend"),
            ],
        )
        .await;
    assert_eq!(status, 303, "{html}");
    assert!(location.ends_with("?done=page-saved"));
    let page = app.store.status_page(acme, "acme-status").await.unwrap();
    let monitors = app.store.status_page_monitors(page.id).await.unwrap();
    assert_eq!(
        monitors.iter().map(|m| (m.id, m.group_name.as_str())).collect::<Vec<_>>(),
        [(web, "Frontend"), (api, "Backend")]
    );

    // Post an incident and an update.
    let incidents = format!("{edit}/incidents");
    let (status, _, html) =
        b.submit(edit, &incidents, &[("title", "Slow pages"), ("impact", "minor"), ("status", "bogus")]).await;
    assert_eq!(status, 400);
    assert!(html.contains("status must be"), "{html}");
    let (status, location, _) = b
        .submit(
            edit,
            &incidents,
            &[("title", "Slow pages"), ("impact", "minor"), ("status", "investigating"), ("message", "Looking.")],
        )
        .await;
    assert_eq!(status, 303);
    assert!(location.ends_with("done=incident-created"));
    let incident = app.store.status_incidents(page.id, 10).await.unwrap().remove(0);
    let (status, _, _) =
        b.submit(edit, &format!("{incidents}/{}", incident.id), &[("status", "resolved"), ("message", "Fixed.")]).await;
    assert_eq!(status, 303);
    let (_, html) = b.get(edit).await;
    assert!(html.contains("Slow pages") && html.contains("Fixed.") && html.contains("Looking."));
    let public = app.get("/status-pages/acme/acme-status/").await.text().await.unwrap();
    assert!(public.contains("Frontend") && public.contains("Backend") && public.contains("Slow pages"));
    assert!(public.contains("Degraded performance"), "a pending monitor degrades the page");

    // Schedule maintenance for the page, then delete it.
    let (status, _, html) = b
        .submit(
            list,
            "/acme/settings/maintenance",
            &[("title", "Upgrade"), ("starts_at", "2030-01-01T10:00"), ("ends_at", "2030-01-01T09:00")],
        )
        .await;
    assert_eq!(status, 400);
    assert!(html.contains("after"), "{html}");
    let page_id = page.id.to_string();
    let (status, location, _) = b
        .submit(
            list,
            "/acme/settings/maintenance",
            &[
                ("title", "Upgrade"),
                ("status_page", &page_id),
                ("starts_at", "2030-01-01T10:00"),
                ("ends_at", "2030-01-01T12:00"),
            ],
        )
        .await;
    assert_eq!(status, 303);
    assert!(location.ends_with("done=window-created"));
    let windows = app.store.maintenance_windows(acme).await.unwrap();
    assert_eq!(windows.len(), 1);
    assert_eq!(windows[0].starts_at.to_rfc3339(), "2030-01-01T10:00:00.000000Z");
    assert_eq!(windows[0].status_page_id, Some(page.id));
    let (_, html) = b.get(list).await;
    assert!(html.contains("Upgrade") && html.contains("scheduled") && html.contains("2030-01-01 10:00 UTC"));
    let (status, _, _) = b.submit(list, &format!("/acme/settings/maintenance/{}/delete", windows[0].id), &[]).await;
    assert_eq!(status, 303);
    assert!(app.store.maintenance_windows(acme).await.unwrap().is_empty());

    // Delete the incident and the page.
    let (status, _, _) = b.submit(edit, &format!("{incidents}/{}/delete", incident.id), &[]).await;
    assert_eq!(status, 303);
    assert!(app.store.status_incidents(page.id, 10).await.unwrap().is_empty());
    let (status, location, _) = b.submit(edit, &format!("{edit}/delete"), &[]).await;
    assert_eq!(status, 303);
    assert!(location.ends_with("done=page-deleted"));
    assert!(app.store.status_pages(acme).await.unwrap().is_empty());
    // Another organization's settings are a 404.
    app.create_project("other", "site").await;
    let (status, _) = b.get("/other/settings/status-pages").await;
    assert_eq!(status, 404);
    let (status, _) = b.get("/nope/settings/status-pages").await;
    assert_eq!(status, 404);
}

// ---- in a real browser ----

async fn status_pages_in_a_browser(app: TestApp) {
    app.create_project("acme", "web").await;
    let acme = org_id(&app, "acme").await;
    faultline_domain::accounts::register(&app.store, true, "admin@example.com", PASSWORD, "Admin").await.unwrap();
    let ada = faultline_domain::accounts::register(&app.store, true, "ada@example.com", PASSWORD, "Ada").await.unwrap();
    app.store.add_member(acme, ada.id, Role::Owner).await.unwrap();
    let api = app.store.insert_test_monitor(acme, "API", "https://api.acme.test", "up").await.unwrap();
    let db = app.store.insert_test_monitor(acme, "Database", "db.acme.test:5432", "down").await.unwrap();
    let today = today_start();
    app.store.insert_test_rollup(api, 86_400, today - 86_400, 1440, 0).await.unwrap();
    app.store.insert_test_rollup(db, 86_400, today - 86_400, 700, 740).await.unwrap();
    let page = faultline_store::NewStatusPage {
        name: "Acme status".into(),
        slug: "acme".into(),
        is_public: true,
        description: String::new(),
        monitors: vec![(api, "Backend".into()), (db, "Backend".into())],
    };
    let page = app.store.create_status_page(acme, &page).await.unwrap();
    app.store.create_status_incident(page.id, "Database down", "investigating", "major", "Looking.").await.unwrap();

    let Some(browser) = faultline_testing::browser::Browser::start().await else { return };
    browser.open(&app, "/status-pages/acme/acme/").await;
    assert_eq!(browser.text("#overall h2").await, "Partial outage");
    let bars = browser.find_all(".bars .bar").await;
    assert_eq!(bars.len(), 180);
    let (_, _, width, height) = bars[179].rectangle().await.unwrap();
    assert!(width >= 2.0 && height >= 20.0, "the stylesheet draws the bars: {width}x{height}");
    assert!(browser.text("article.incident").await.contains("Database down"));
    let problems = browser.csp_problems().await;
    assert!(problems.is_empty(), "public page: {problems:#?}");

    // The settings pages, and an incident posted through the form.
    browser.login(&app, "ada@example.com", PASSWORD).await;
    browser.open(&app, "/acme/settings/status-pages").await;
    assert!(browser.text("table").await.contains("Acme status"));
    let problems = browser.csp_problems().await;
    assert!(problems.is_empty(), "settings list: {problems:#?}");
    browser.open(&app, "/acme/settings/status-pages/acme").await;
    assert_eq!(browser.find_all("input[name=monitor]:checked").await.len(), 2);
    let problems = browser.csp_problems().await;
    assert!(problems.is_empty(), "page settings: {problems:#?}");
    browser.find("#i-title").await.send_keys("Slow checkout").await.unwrap();
    browser.find("#i-message").await.send_keys("We are on it.").await.unwrap();
    browser.find("#new-incident button[type=submit]").await.click().await.unwrap();
    browser.wait_until(|path| path.ends_with("done=incident-created"), "the incident to be posted").await;
    assert!(browser.text("#incidents ~ section.incident").await.contains("Slow checkout"));
    browser.open(&app, "/status-pages/acme/acme/").await;
    assert!(browser.texts("article.incident h3").await.iter().any(|t| t.starts_with("Slow checkout")));
    browser.quit().await;
}

app_tests!(
    status_pages_in_a_browser,
    api_crud_and_validation,
    public_page_feeds_and_badges,
    maintenance_sets_the_status_and_covers_monitors,
    settings_pages_manage_pages_incidents_and_windows
);
