//! Project alert rules through GlitchTip's ProjectAlert API.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use faultline_domain::access::Scopes;
use faultline_store::Role;
use faultline_testing::smtp::SmtpSink;
use faultline_testing::{app_tests, TestApp};
use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A request the webhook receiver got: the method, the path with its query,
/// lower-case headers and the raw body.
#[derive(Clone, Debug)]
struct Received {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }

    /// The body as an `application/x-www-form-urlencoded` form.
    fn form(&self) -> std::collections::HashMap<String, String> {
        url::Url::parse(&format!("http://x/?{}", self.text())).unwrap().query_pairs().into_owned().collect()
    }
}

/// A tiny HTTP/1.1 receiver on 127.0.0.1: answers each request with the next status
/// of `statuses` (the last one repeats) and records it.
struct Receiver {
    /// `http://127.0.0.1:<port>`
    base: String,
    /// `{base}/hook`
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    async fn start(statuses: &[u16]) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let url = format!("{base}/hook");
        let got = Arc::new(Mutex::new(Vec::new()));
        let statuses = statuses.to_vec();
        let log = got.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else { return };
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let (head_end, length) = loop {
                    let n = socket.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        break (None, 0);
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..at]).to_lowercase();
                        let length = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        break (Some(at + 4), length);
                    }
                };
                let Some(head_end) = head_end else { continue };
                while buf.len() < head_end + length {
                    let n = socket.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                let mut request_line = head.lines().next().unwrap_or_default().split(' ');
                let method = request_line.next().unwrap_or_default().to_string();
                let target = request_line.next().unwrap_or_default().to_string();
                let headers = head
                    .lines()
                    .skip(1)
                    .filter_map(|l| l.split_once(':'))
                    .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_string()))
                    .collect();
                let received = Received { method, target, headers, body: buf[head_end..].to_vec() };
                let status = {
                    let mut log = log.lock().unwrap();
                    log.push(received);
                    statuses[(log.len() - 1).min(statuses.len() - 1)]
                };
                let answer = format!("HTTP/1.1 {status} X\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
                let _ = socket.write_all(answer.as_bytes()).await;
                let _ = socket.shutdown().await;
            }
        });
        Receiver { base, url, got }
    }

    fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// The requests whose path starts with `prefix`.
    fn to(&self, prefix: &str) -> Vec<Received> {
        self.received().into_iter().filter(|r| r.target.starts_with(prefix)).collect()
    }

    async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(tokio::time::Instant::now() < deadline, "the receiver got {} of {n} requests", got.len());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Verifies a Standard Webhooks signature.
fn verify(secret: &str, r: &Received) {
    let id = r.header("webhook-id").expect("webhook-id");
    let ts = r.header("webhook-timestamp").expect("webhook-timestamp");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    assert!((ts.parse::<i64>().unwrap() - now).abs() < 300, "timestamp {ts} is not recent");
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = b64.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{ts}.").as_bytes());
    mac.update(&r.body);
    let expected = format!("v1,{}", b64.encode(mac.finalize().into_bytes()));
    let sent = r.header("webhook-signature").expect("webhook-signature");
    assert!(sent.split(' ').any(|s| s == expected), "signature {sent} is not {expected}");
}

async fn send_event(app: &TestApp, p: &faultline_testing::TestProject, message: &str, level: &str) {
    let res = app
        .http
        .post(format!("{}?sentry_key={}", app.url(&format!("/api/{}/store/", p.id)), p.key))
        .json(&json!({"message": message, "level": level, "environment": "production", "release": "app@1.2"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    app.wait_for_digest(Duration::from_secs(30)).await;
}

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
        json!({"name": "x", "alertRecipients": [{"recipientType": "ntfy", "url": "https://ntfy.sh/"}]}),
        json!({"name": "x", "alertRecipients": [{"recipientType": "telegram",
            "url": "https://api.telegram.org/bot1:A/sendMessage"}]}),
        json!({"name": "x", "alertRecipients": [{"recipientType": "pagerduty",
            "url": "https://events.pagerduty.com/v2/enqueue"}]}),
        json!({"name": "x", "alertRecipients": [{"recipientType": "zulip",
            "url": "https://chat.example.com/api/v1/messages?stream=ops"}]}),
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

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

async fn webhook_on_new_issue_is_signed_and_throttled(app: TestApp) {
    let receiver = Receiver::start(&[200]).await;
    let p = app.create_project("acme", "web").await;
    let owner = token(&app, "acme", "owner@acme.test", Role::Owner, "project:read,project:write").await;
    let rule = json!({
        "name": "New issues", "timespanMinutes": 10, "quantity": 1, "onNewIssue": true, "intervalMinutes": 60,
        "alertRecipients": [{"recipientType": "webhook", "url": receiver.url, "tagsToAdd": ["release"], "secret": SECRET}]
    });
    let (status, _) =
        call(&app, &owner, Method::POST, &format!("/api/0/projects/acme/{}/alerts/", p.slug), Some(rule)).await;
    assert_eq!(status, StatusCode::CREATED);

    send_event(&app, &p, "Checkout failed", "error").await;
    let got = receiver.wait_for(1, Duration::from_secs(20)).await;
    let hook = &got[0];
    verify(SECRET, hook);
    assert_eq!(hook.header("content-type"), Some("application/json"));
    let body = hook.json();
    assert_eq!(body["alias"], "GlitchTip");
    assert_eq!(body["text"], "GlitchTip Alert");
    let attachment = &body["attachments"][0];
    assert_eq!(attachment["title"], "Checkout failed");
    assert_eq!(attachment["color"], "#e52b50", "error level colour");
    let issue = app.store.project_issues(faultline_store::ProjectId(p.id), 10).await.unwrap().remove(0);
    let link = attachment["title_link"].as_str().unwrap();
    assert!(link.ends_with(&format!("/acme/issues/{}", issue.id)), "{link}");
    let fields = attachment["fields"].as_array().unwrap();
    let field = |t: &str| fields.iter().find(|f| f["title"] == t).map(|f| f["value"].clone());
    assert_eq!(field("Project"), Some(json!("web")));
    assert_eq!(field("Environment"), Some(json!("production")));
    assert_eq!(field("Release"), Some(json!("app@1.2")));
    assert_eq!(field("release"), Some(json!("app@1.2")), "tagsToAdd");
    assert_eq!(body["sections"][0]["activitySubtitle"], format!("[View Issue WEB-{}]({link})", issue.short_id));

    // The same issue again within the interval: nothing more is sent.
    send_event(&app, &p, "Checkout failed", "error").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(receiver.received().len(), 1, "throttled by the action interval");
    assert_eq!(app.store.pending_alert_notifications().await.unwrap(), 0);

    // "Send test notification" reaches the same receiver, signed.
    let (_, rules) = call(&app, &owner, Method::GET, &format!("/api/0/projects/acme/{}/alerts/", p.slug), None).await;
    let id = rules[0]["id"].as_i64().unwrap();
    let path = format!("/api/0/projects/acme/{}/alerts/{id}/test/", p.slug);
    let (status, answer) = call(&app, &owner, Method::POST, &path, None).await;
    assert_eq!((status, answer), (StatusCode::ACCEPTED, json!({"queued": 1})));
    let got = receiver.wait_for(2, Duration::from_secs(20)).await;
    verify(SECRET, &got[1]);
    let test = got[1].json();
    assert_eq!(test["text"], "GlitchTip Alert");
    assert_eq!(test["attachments"][0]["color"], "#4b60b4");
    assert_eq!(test["attachments"][0]["title"], "Test notification for \"New issues\"");
}

async fn discord_and_google_chat_payloads(app: TestApp) {
    let discord = Receiver::start(&[204]).await;
    let chat = Receiver::start(&[200]).await;
    let p = app.create_project("acme", "web").await;
    let owner = token(&app, "acme", "owner@acme.test", Role::Owner, "project:read,project:write").await;
    let rule = json!({"name": "Chat", "timespanMinutes": 5, "quantity": 1, "alertRecipients": [
        {"recipientType": "discord", "url": discord.url},
        {"recipientType": "googlechat", "url": chat.url}]});
    let (status, _) =
        call(&app, &owner, Method::POST, &format!("/api/0/projects/acme/{}/alerts/", p.slug), Some(rule)).await;
    assert_eq!(status, StatusCode::CREATED);
    send_event(&app, &p, "Queue stalled", "error").await;
    let d = discord.wait_for(1, Duration::from_secs(20)).await[0].json();
    assert_eq!(d["content"], "GlitchTip Alert");
    assert_eq!(d["embeds"][0]["title"], "Queue stalled");
    assert_eq!(d["embeds"][0]["color"], 0xe52b50);
    assert!(d["embeds"][0]["url"].as_str().unwrap().contains("/acme/issues/"));
    assert_eq!(d["embeds"][0]["fields"][0], json!({"name": "Project", "value": "web", "inline": true}));
    let c = chat.wait_for(1, Duration::from_secs(20)).await[0].json();
    let card = &c["cardsV2"][0];
    assert_eq!(card["cardId"], "createCardMessage");
    assert_eq!(card["card"]["header"]["title"], "GlitchTip Alert");
    assert_eq!(card["card"]["sections"][0]["header"], "Queue stalled");
    let widgets = card["card"]["sections"][0]["widgets"].as_array().unwrap();
    assert_eq!(widgets[0]["decoratedText"]["topLabel"], "Project");
    let button = &widgets.last().unwrap()["buttonList"]["buttons"][0];
    assert_eq!(button["text"], "View Issue");
    assert!(button["onClick"]["openLink"]["url"].as_str().unwrap().contains("/acme/issues/"));
}

async fn failing_webhook_is_retried_and_logged(app: TestApp) {
    let receiver = Receiver::start(&[500, 200]).await;
    let p = app.create_project("acme", "web").await;
    let owner = token(&app, "acme", "owner@acme.test", Role::Owner, "project:read,project:write").await;
    let rule = json!({"name": "Any", "timespanMinutes": 5, "quantity": 1,
        "alertRecipients": [{"recipientType": "webhook", "url": receiver.url}]});
    let (status, created) =
        call(&app, &owner, Method::POST, &format!("/api/0/projects/acme/{}/alerts/", p.slug), Some(rule)).await;
    assert_eq!(status, StatusCode::CREATED);
    send_event(&app, &p, "Flaky receiver", "warning").await;
    let got = receiver.wait_for(2, Duration::from_secs(30)).await;
    assert!(got[0].header("webhook-signature").is_none(), "no secret, no signature");
    assert_eq!(got[0].body, got[1].body, "the retry sends the same payload");
    assert_eq!(got[1].json()["attachments"][0]["color"], "#e9b949", "warning level colour");
    let recipient = created["alertRecipients"][0]["id"].as_i64().unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let log = loop {
        let log = app.store.alert_deliveries(recipient, 10).await.unwrap();
        if log.len() >= 2 || tokio::time::Instant::now() > deadline {
            break log;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mut attempts: Vec<_> = log.iter().map(|d| (d.attempt, d.status.as_str(), d.response_code)).collect();
    attempts.sort();
    assert_eq!(attempts, [(1, "error", Some(500)), (2, "ok", Some(200))]);

    // The same log through the API, newest first.
    let id = created["id"].as_i64().unwrap();
    let path = format!("/api/0/projects/acme/{}/alerts/{id}/deliveries/", p.slug);
    let (status, log) = call(&app, &owner, Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let log = log.as_array().unwrap();
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!((log[0]["attempt"].as_i64(), log[0]["status"].as_str()), (Some(2), Some("ok")));
    assert_eq!(log[1]["responseCode"], 500);
    assert_eq!(log[1]["error"], "the receiver answered HTTP 500: ok", "with what the receiver said");
    assert_eq!(log[0]["recipientId"].as_i64(), Some(recipient));
}

async fn regression_realerts_and_level_filters(app: TestApp) {
    let receiver = Receiver::start(&[200]).await;
    let p = app.create_project("acme", "web").await;
    let owner =
        token(&app, "acme", "owner@acme.test", Role::Owner, "project:read,project:write,event:read,event:write").await;
    let rule = json!({
        "name": "Errors", "timespanMinutes": 10, "quantity": 100, "onNewIssue": true, "onRegression": true,
        "minLevel": "error", "intervalMinutes": 600,
        "alertRecipients": [{"recipientType": "webhook", "url": receiver.url}]
    });
    let (status, _) =
        call(&app, &owner, Method::POST, &format!("/api/0/projects/acme/{}/alerts/", p.slug), Some(rule)).await;
    assert_eq!(status, StatusCode::CREATED);

    // Below the rule's level: nothing.
    send_event(&app, &p, "Slow page", "warning").await;
    // A new error issue: one alert.
    send_event(&app, &p, "Payment failed", "error").await;
    let got = receiver.wait_for(1, Duration::from_secs(20)).await;
    assert_eq!(got[0].json()["attachments"][0]["title"], "Payment failed");

    // Resolved, then seen again: the regression alerts despite the interval.
    let issues = app.store.project_issues(faultline_store::ProjectId(p.id), 10).await.unwrap();
    let issue = issues.iter().find(|i| i.title == "Payment failed").unwrap();
    let path = format!("/api/0/issues/{}/", issue.id);
    let (status, answer) = call(&app, &owner, Method::PUT, &path, Some(json!({"status": "resolved"}))).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    send_event(&app, &p, "Payment failed", "error").await;
    let got = receiver.wait_for(2, Duration::from_secs(20)).await;
    assert_eq!(got[1].json()["attachments"][0]["title"], "Payment failed");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(receiver.received().len(), 2, "the warning never alerted");
}

/// Every other channel, from one rule: each gets its own body shape for the same alert,
/// and "send test notification" reaches them all.
async fn chat_push_and_paging_channels(app: TestApp) {
    let rx = Receiver::start(&[200]).await;
    let base = &rx.base;
    let host = base.strip_prefix("http://").unwrap();
    let p = app.create_project("acme", "web").await;
    let owner = token(&app, "acme", "owner@acme.test", Role::Owner, "project:read,project:write").await;
    let rule = json!({"name": "Everywhere", "timespanMinutes": 5, "quantity": 1, "alertRecipients": [
        {"recipientType": "slack", "url": format!("{base}/slack/T0/B0/x")},
        {"recipientType": "mattermost", "url": format!("{base}/mattermost/hooks/abc")},
        {"recipientType": "teams", "url": format!("{base}/teams/workflows/x?sig=s")},
        {"recipientType": "ntfy", "url": format!("{base}/ntfy-topic"), "secret": SECRET},
        {"recipientType": "telegram", "url": format!("{base}/bot123:ABC/sendMessage?chat_id=-10042")},
        {"recipientType": "pagerduty", "url": format!("{base}/v2/enqueue?routing_key=R0UT1NGKEY")},
        {"recipientType": "zulip",
         "url": format!("http://alerts-bot%40example.com:APIKEY@{host}/api/v1/messages?stream=ops&topic=errors")}]});
    let path = format!("/api/0/projects/acme/{}/alerts/", p.slug);
    let (status, created) = call(&app, &owner, Method::POST, &path, Some(rule)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");

    send_event(&app, &p, "Parse error near <div> & \"co\"", "fatal").await;
    rx.wait_for(7, Duration::from_secs(30)).await;
    let issue = app.store.project_issues(faultline_store::ProjectId(p.id), 10).await.unwrap().remove(0);
    let title = "Parse error near <div> & \"co\"";
    let one = |prefix: &str| {
        let got = rx.to(prefix);
        assert_eq!(got.len(), 1, "{prefix}: {got:?}");
        let r = got.into_iter().next().unwrap();
        assert_eq!(r.method, "POST");
        r
    };

    // Slack: Block Kit with a text fallback (mrkdwn-escaped).
    let slack = one("/slack/T0/B0/x").json();
    assert_eq!(slack["text"], "[web] fatal: Parse error near &lt;div&gt; &amp; \"co\"");
    assert_eq!(slack["blocks"][0]["type"], "header");
    assert_eq!(slack["blocks"][0]["text"]["text"], title);
    let button = &slack["blocks"].as_array().unwrap().iter().find(|b| b["type"] == "actions").unwrap()["elements"][0];
    assert!(button["url"].as_str().unwrap().ends_with(&format!("/acme/issues/{}", issue.id)), "{button}");

    // Mattermost: a Slack-style attachment.
    let mm = one("/mattermost/hooks/abc").json();
    assert_eq!(mm["attachments"][0]["title"], title);
    assert_eq!(mm["attachments"][0]["color"], "#e52b50");
    assert_eq!(mm["attachments"][0]["fields"][0], json!({"short": true, "title": "Project", "value": "web"}));

    // Teams: an Adaptive Card 1.4 in a message, the query of the workflow URL kept.
    let teams = one("/teams/workflows/x?sig=s").json();
    assert_eq!(teams["type"], "message");
    let attachment = &teams["attachments"][0];
    assert_eq!(attachment["contentType"], "application/vnd.microsoft.card.adaptive");
    let card = &attachment["content"];
    assert_eq!((card["type"].as_str(), card["version"].as_str()), (Some("AdaptiveCard"), Some("1.4")));
    let blocks = card["body"].as_array().unwrap();
    assert!(blocks.iter().any(|b| b["type"] == "TextBlock" && b["text"] == title), "{card}");
    assert!(blocks.iter().any(|b| b["type"] == "FactSet"), "{card}");
    assert_eq!(card["actions"][0]["type"], "Action.OpenUrl");

    // ntfy: the message in the body, the rest in headers; signed, as it has a secret.
    let ntfy = one("/ntfy-topic");
    verify(SECRET, &ntfy);
    assert_eq!(ntfy.header("title"), Some(title));
    assert_eq!(ntfy.header("priority"), Some("5"), "fatal is ntfy's max priority");
    assert_eq!(ntfy.header("tags"), Some("rotating_light,fatal"));
    assert!(ntfy.header("click").unwrap().ends_with(&format!("/acme/issues/{}", issue.id)));
    assert!(ntfy.text().contains("Project: web\nEnvironment: production"), "{}", ntfy.text());

    // Telegram: chat_id moves into the JSON body; the HTML is escaped.
    let tg = one("/bot123:ABC/sendMessage");
    assert_eq!(tg.target, "/bot123:ABC/sendMessage");
    let tg = tg.json();
    assert_eq!((tg["chat_id"].as_i64(), tg["parse_mode"].as_str()), (Some(-10042), Some("HTML")));
    let text = tg["text"].as_str().unwrap();
    assert!(text.contains("<b>Parse error near &lt;div&gt; &amp; &quot;co&quot;</b>"), "{text}");
    assert!(!text.contains("<div>"), "{text}");

    // PagerDuty: an Events API v2 trigger with a stable dedup key.
    let pd = one("/v2/enqueue");
    assert_eq!(pd.target, "/v2/enqueue", "the routing key is not left in the URL");
    let pd = pd.json();
    assert_eq!(pd["routing_key"], "R0UT1NGKEY");
    assert_eq!(pd["event_action"], "trigger");
    assert_eq!(pd["dedup_key"], format!("faultline-issue-{}", issue.id));
    assert_eq!(pd["payload"]["severity"], "critical");
    assert_eq!(pd["payload"]["source"], "web");
    assert_eq!(pd["payload"]["summary"], format!("[web] fatal: {title}"));
    assert_eq!(pd["payload"]["custom_details"]["Release"], "app@1.2");
    assert!(pd["links"][0]["href"].as_str().unwrap().ends_with(&format!("/acme/issues/{}", issue.id)));

    // Zulip: a form to the messages API with the bot's basic auth.
    let zulip = one("/api/v1/messages");
    assert_eq!(zulip.target, "/api/v1/messages");
    assert_eq!(zulip.header("content-type"), Some("application/x-www-form-urlencoded"));
    let b64 = base64::engine::general_purpose::STANDARD;
    let auth = format!("Basic {}", b64.encode("alerts-bot@example.com:APIKEY"));
    assert_eq!(zulip.header("authorization"), Some(auth.as_str()));
    let form = zulip.form();
    assert_eq!((form["type"].as_str(), form["to"].as_str(), form["topic"].as_str()), ("stream", "ops", "errors"));
    assert!(form["content"].contains(&format!("**{title}**")), "{}", form["content"]);
    assert!(form["content"].contains(&format!("[View Issue WEB-{}](", issue.short_id)), "{}", form["content"]);

    // "Send test notification" renders the same way for every channel.
    let id = created["id"].as_i64().unwrap();
    let (status, answer) = call(&app, &owner, Method::POST, &format!("{path}{id}/test/"), None).await;
    assert_eq!((status, answer), (StatusCode::ACCEPTED, json!({"queued": 7})));
    rx.wait_for(14, Duration::from_secs(30)).await;
    let pd = rx.to("/v2/enqueue")[1].json();
    assert_eq!(pd["dedup_key"], format!("faultline-test-{id}"));
    assert_eq!(pd["payload"]["severity"], "info");
    let ntfy = &rx.to("/ntfy-topic")[1];
    verify(SECRET, ntfy);
    assert_eq!(ntfy.header("title"), Some("Test notification for \"Everywhere\""));
    assert_eq!(ntfy.header("priority"), Some("3"));
    let tg = rx.to("/bot123:ABC/sendMessage")[1].json();
    assert!(tg["text"].as_str().unwrap().contains("Test notification for &quot;Everywhere&quot;"), "{tg}");
    let teams = rx.to("/teams/")[1].json();
    assert_eq!(teams["attachments"][0]["content"]["body"][1]["text"], "Test notification for \"Everywhere\"");
    assert_eq!(rx.to("/api/v1/messages")[1].form()["to"], "ops");
    // Each delivery is recorded just after its request was answered.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while app.store.pending_alert_notifications().await.unwrap() > 0 {
        assert!(std::time::Instant::now() < deadline, "notifications left pending");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A service that refuses says why, and the delivery log keeps it.
async fn refusals_are_logged_with_the_answer(app: TestApp) {
    let rx = Receiver::start(&[400]).await;
    let p = app.create_project("acme", "web").await;
    let owner = token(&app, "acme", "owner@acme.test", Role::Owner, "project:read,project:write").await;
    let url = format!("{}/bot1:A/sendMessage?chat_id=7", rx.base);
    let rule = json!({"name": "Telegram", "timespanMinutes": 5, "quantity": 1,
        "alertRecipients": [{"recipientType": "telegram", "url": url}]});
    let (status, created) =
        call(&app, &owner, Method::POST, &format!("/api/0/projects/acme/{}/alerts/", p.slug), Some(rule)).await;
    assert_eq!(status, StatusCode::CREATED);
    send_event(&app, &p, "Refused", "error").await;
    rx.wait_for(1, Duration::from_secs(20)).await;
    let recipient = created["alertRecipients"][0]["id"].as_i64().unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let log = loop {
        let log = app.store.alert_deliveries(recipient, 10).await.unwrap();
        if !log.is_empty() || tokio::time::Instant::now() > deadline {
            break log;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(log[0].response_code, Some(400));
    assert_eq!(log[0].error.as_deref(), Some("the receiver answered HTTP 400: ok"));
}

app_tests!(
    project_alert_crud,
    regression_realerts_and_level_filters,
    discord_and_google_chat_payloads,
    webhook_on_new_issue_is_signed_and_throttled,
    failing_webhook_is_retried_and_logged,
    chat_push_and_paging_channels,
    refusals_are_logged_with_the_answer,
    users_affected_and_tag_filter,
);

async fn send_user_event(app: &TestApp, p: &faultline_testing::TestProject, message: &str, user: &str, browser: &str) {
    let res = app
        .http
        .post(format!("{}?sentry_key={}", app.url(&format!("/api/{}/store/", p.id)), p.key))
        .json(&json!({"message": message, "level": "error", "user": {"id": user}, "tags": {"browser.name": browser}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    app.wait_for_digest(Duration::from_secs(30)).await;
}

/// "When an issue affects 3 users in 60 minutes, with tag browser.name = Firefox".
async fn users_affected_and_tag_filter(app: TestApp) {
    let receiver = Receiver::start(&[200]).await;
    let p = app.create_project("acme", "web").await;
    let owner = token(&app, "acme", "owner@acme.test", Role::Owner, "project:read,project:write").await;
    let base = format!("/api/0/projects/acme/{}/alerts/", p.slug);
    let rule = json!({
        "name": "Many users", "timespanMinutes": 60, "onRegression": false, "onFrequency": false,
        "usersAffected": 3, "tagKey": "browser.name", "tagValue": "Firefox",
        "alertRecipients": [{"recipientType": "webhook", "url": receiver.url}]
    });
    let (status, created) = call(&app, &owner, Method::POST, &base, Some(rule)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!((created["usersAffected"].as_i64(), created["onFrequency"].as_bool()), (Some(3), Some(false)));
    let bad = json!({"name": "x", "tagKey": "browser.name", "alertRecipients": []});
    let (status, err) = call(&app, &owner, Method::POST, &base, Some(bad)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");

    // Many events from one user, and three users of another browser: nothing.
    for _ in 0..3 {
        send_user_event(&app, &p, "Checkout broke", "u1", "Firefox").await;
    }
    for user in ["c1", "c2", "c3"] {
        send_user_event(&app, &p, "Chrome only", user, "Chrome").await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(receiver.received().is_empty(), "fired early: {:?}", receiver.received());
    // The second and third Firefox users: one alert.
    send_user_event(&app, &p, "Checkout broke", "u2", "Firefox").await;
    send_user_event(&app, &p, "Checkout broke", "u3", "Firefox").await;
    let got = receiver.wait_for(1, Duration::from_secs(20)).await;
    assert_eq!(got[0].json()["attachments"][0]["title"], "Checkout broke");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(receiver.received().len(), 1, "throttled by the action interval");
}

/// Two instances on one PostgreSQL database: every alert is sent once.
mod two_instances {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn each_alert_is_sent_once() {
        let Some(first) = TestApp::start(faultline_testing::TestBackend::Postgres).await else { return };
        let url = first.config.database.url.expose().to_string();
        let second = TestApp::builder(faultline_testing::TestBackend::Postgres)
            .env("DATABASE_URL", &url)
            .start()
            .await
            .expect("second instance");
        let receiver = Receiver::start(&[200]).await;
        let p = first.create_project("acme", "web").await;
        let owner = token(&first, "acme", "owner@acme.test", Role::Owner, "project:read,project:write").await;
        let rule = json!({
            "name": "New", "onNewIssue": true, "onFrequency": false, "uptime": true,
            "alertRecipients": [{"recipientType": "webhook", "url": receiver.url}]
        });
        let (status, _) =
            call(&first, &owner, Method::POST, &format!("/api/0/projects/acme/{}/alerts/", p.slug), Some(rule)).await;
        assert_eq!(status, StatusCode::CREATED);
        // Ten new issues, sent to both instances at once.
        const WORDS: [&str; 10] =
            ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"];
        let mut sends = tokio::task::JoinSet::new();
        for (i, word) in WORDS.iter().enumerate() {
            let app = if i % 2 == 0 { &first } else { &second };
            let req = app
                .http
                .post(format!("{}?sentry_key={}", app.url(&format!("/api/{}/store/", p.id)), p.key))
                // Words, not numbers: the grouping ignores numbers in messages.
                .json(&json!({"message": format!("Issue {word}"), "level": "error"}));
            sends.spawn(req.send());
        }
        while let Some(res) = sends.join_next().await {
            assert_eq!(res.unwrap().unwrap().status(), 200);
        }
        // A monitor of the project that is down at once (nothing listens on port 9).
        let (status, m) = call(
            &first,
            &owner,
            Method::POST,
            "/api/0/organizations/acme/monitors/",
            Some(json!({
                "name": "Dead", "monitorType": "GET", "url": "http://127.0.0.1:9/", "interval": 1, "timeout": 1,
                "failureThreshold": 1, "project": p.id
            })),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "a project token cannot create monitors: {m}");
        let org_owner = token(&first, "acme", "admin@acme.test", Role::Owner, "org:read,org:write").await;
        let (status, m) = call(
            &first,
            &org_owner,
            Method::POST,
            "/api/0/organizations/acme/monitors/",
            Some(json!({
                "name": "Dead", "monitorType": "GET", "url": "http://127.0.0.1:9/", "interval": 1, "timeout": 1,
                "failureThreshold": 1, "project": p.id
            })),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{m}");
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while receiver.received().len() < 11 && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let got = receiver.wait_for(11, Duration::from_secs(1)).await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        let got = if receiver.received().len() > got.len() { receiver.received() } else { got };
        let mut titles: Vec<String> = got.iter().map(|r| r.json()["attachments"][0]["title"].to_string()).collect();
        titles.sort();
        let before = titles.len();
        titles.dedup();
        assert_eq!((before, titles.len()), (11, 11), "sent twice: {titles:#?}");
        assert!(titles.iter().any(|t| t.contains("Dead is down")), "{titles:#?}");
        second.stop().await;
        first.stop().await;
    }
}

mod mail {
    use super::*;

    async fn email_recipient_gets_the_alert(backend: faultline_testing::TestBackend) {
        let smtp = SmtpSink::start().await;
        let Some(app) = TestApp::builder(backend).env("EMAIL_URL", &smtp.url()).start().await else { return };
        let p = app.create_project("acme", "web").await;
        let org = app.store.organization_by_slug("acme").await.unwrap().unwrap();
        let user = app
            .store
            .create_user(&faultline_store::NewUser {
                email: "dev@acme.test".into(),
                name: "Dev".into(),
                ..Default::default()
            })
            .await
            .unwrap();
        let member = app.store.add_member(org.id, user.id, Role::Owner).await.unwrap();
        let team = app.store.create_team(org.id, "core").await.unwrap();
        app.store.add_team_member(team.id, member.id).await.unwrap();
        app.store.add_team_project(team.id, faultline_store::ProjectId(p.id)).await.unwrap();
        let owner =
            faultline_domain::tokens::create(&app.store, &user, "t", Scopes::parse_list("project:write").unwrap())
                .await
                .unwrap()
                .1;
        let rule = json!({"name": "Mail", "timespanMinutes": 5, "quantity": 1,
            "alertRecipients": [{"recipientType": "email", "url": ""}]});
        let (status, _) =
            call(&app, &owner, Method::POST, &format!("/api/0/projects/acme/{}/alerts/", p.slug), Some(rule)).await;
        assert_eq!(status, StatusCode::CREATED);
        send_event(&app, &p, "Disk full", "fatal").await;
        let mail = smtp.wait_for("dev@acme.test", Duration::from_secs(30)).await;
        assert!(mail.data.contains("Disk full"), "{}", mail.data);
        assert!(mail.data.contains("[web] fatal: Disk full"), "{}", mail.data);
        assert!(mail.data.contains("/acme/issues/"), "{}", mail.data);
        // Text with an HTML alternative.
        assert!(mail.data.contains("multipart/alternative"), "{}", mail.data);
        assert!(mail.data.contains("text/plain") && mail.data.contains("text/html"), "{}", mail.data);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        email_recipient_gets_the_alert(faultline_testing::TestBackend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        email_recipient_gets_the_alert(faultline_testing::TestBackend::Postgres).await;
    }
}
