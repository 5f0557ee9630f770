//! Project alert rules through GlitchTip's ProjectAlert API.

use faultline_domain::access::Scopes;
use faultline_store::Role;
use faultline_testing::{app_tests, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn token(app: &TestApp, org: &str, email: &str, role: Role, scopes: &str) -> String {
    let org = app.store.organization_by_slug(org).await.unwrap().expect("organization exists");
    let user = app
        .store
        .create_user(&faultline_store::NewUser { email: email.into(), name: email.into(), ..Default::default() })
        .await
        .unwrap();
    app.store.add_member(org.id, user.id, role).await.unwrap();
    faultline_domain::tokens::create(&app.store, &user, "test", Scopes::parse_list(scopes).unwrap()).await.unwrap().1
}

async fn call(app: &TestApp, token: &str, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut req = app.http.request(method, app.url(path)).bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

async fn project_alert_crud(app: TestApp) {
    let p = app.create_project("acme", "web").await;
    let owner = token(&app, "acme", "owner@acme.test", Role::Owner, "project:read,project:write").await;
    let reader = token(&app, "acme", "reader@acme.test", Role::Member, "project:read").await;
    let base = format!("/api/0/projects/acme/{}/alerts/", p.slug);

    let (status, list) = call(&app, &owner, Method::GET, &base, None).await;
    assert_eq!((status, list), (StatusCode::OK, json!([])));

    // GlitchTip's body, as its UI sends it.
    let body = json!({
        "name": "Frequent errors",
        "timespanMinutes": 10,
        "quantity": 5,
        "uptime": false,
        "alertRecipients": [
            {"recipientType": "email", "url": ""},
            {"recipientType": "webhook", "url": "https://hooks.example.com/x", "tagsToAdd": ["browser"],
             "secret": "whsec_c2VjcmV0LWtleQ=="}
        ]
    });
    let (status, created) = call(&app, &owner, Method::POST, &base, Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["name"], "Frequent errors");
    assert_eq!((created["timespanMinutes"].as_i64(), created["quantity"].as_i64()), (Some(10), Some(5)));
    assert_eq!(created["uptime"], false);
    let recipients = created["alertRecipients"].as_array().unwrap();
    assert_eq!(recipients.len(), 2);
    assert_eq!(recipients[0]["recipientType"], "email");
    assert_eq!(recipients[1]["url"], "https://hooks.example.com/x");
    assert_eq!(recipients[1]["tagsToAdd"], json!(["browser"]));
    assert_eq!(recipients[1]["hasSecret"], true);
    assert!(recipients[1].get("secret").is_none(), "the secret is never echoed");
    let id = created["id"].as_i64().unwrap();

    let (status, list) = call(&app, &reader, Method::GET, &base, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list, json!([created.clone()]));

    // Readers may not change rules; bad bodies are refused with a reason.
    let (status, _) = call(&app, &reader, Method::POST, &base, Some(json!({"name": "x"}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    for bad in [
        json!({"name": "x", "quantity": 0}),
        json!({"name": "x", "alertRecipients": [{"recipientType": "pager", "url": ""}]}),
        json!({"name": "x", "alertRecipients": [{"recipientType": "webhook", "url": "ftp://x"}]}),
        json!({"name": "x", "alertRecipients": [{"recipientType": "webhook", "url": "https://x", "secret": "nope"}]}),
        json!({"name": "x", "minLevel": "loud"}),
    ] {
        let (status, answer) = call(&app, &owner, Method::POST, &base, Some(bad.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad} → {answer}");
        assert!(answer["detail"].as_str().is_some_and(|d| !d.is_empty()), "{answer}");
    }

    // PUT replaces the rule; a kept recipient keeps its id.
    let update = json!({
        "name": "New errors",
        "timespanMinutes": 1,
        "quantity": 1,
        "onNewIssue": true,
        "minLevel": "error",
        "environment": "production",
        "intervalMinutes": 30,
        "alertRecipients": [{"recipientType": "webhook", "url": "https://hooks.example.com/x"}]
    });
    let (status, updated) = call(&app, &owner, Method::PUT, &format!("{base}{id}/"), Some(update)).await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["name"], "New errors");
    assert_eq!(updated["onNewIssue"], true);
    assert_eq!(updated["minLevel"], "error");
    assert_eq!(updated["environment"], "production");
    assert_eq!(updated["intervalMinutes"], 30);
    assert_eq!(updated["alertRecipients"].as_array().unwrap().len(), 1);
    assert_eq!(updated["alertRecipients"][0]["id"], recipients[1]["id"]);
    assert_eq!(updated["alertRecipients"][0]["hasSecret"], false);

    // Another organization's owner sees nothing.
    app.create_project("other", "site").await;
    let outsider = token(&app, "other", "owner@other.test", Role::Owner, "project:read,project:write").await;
    let (status, _) = call(&app, &outsider, Method::GET, &base, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(&app, &outsider, Method::DELETE, &format!("{base}{id}/"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, _) = call(&app, &owner, Method::DELETE, &format!("{base}{id}/"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call(&app, &owner, Method::DELETE, &format!("{base}{id}/"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, list) = call(&app, &owner, Method::GET, &base, None).await;
    assert_eq!(list, json!([]));
}

app_tests!(project_alert_crud);
