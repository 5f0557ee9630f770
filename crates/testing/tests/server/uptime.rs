//! Uptime monitors against local targets: an HTTP server that can be switched to
//! fail, hang or answer the wrong body; a TCP listener; a TLS server with a
//! short-lived self-signed certificate; heartbeats. The real scheduler runs them.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use faultline_domain::access::Scopes;
use faultline_store::Role;
use faultline_testing::{app_tests, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const OK: u8 = 0;
const FAIL: u8 = 1;
const HANG: u8 = 2;
const WRONG_BODY: u8 = 3;

/// A local target: `GET /health` answers per `mode`; `POST /hook` records JSON bodies.
struct Target {
    base: String,
    mode: Arc<AtomicU8>,
    hooks: Arc<Mutex<Vec<Value>>>,
}

impl Target {
    async fn start() -> Target {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let mode = Arc::new(AtomicU8::new(OK));
        let hooks = Arc::new(Mutex::new(Vec::new()));
        let (m, h) = (mode.clone(), hooks.clone());
        tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else { return };
                tokio::spawn(serve(socket, m.clone(), h.clone()));
            }
        });
        Target { base, mode, hooks }
    }

    fn set(&self, mode: u8) {
        self.mode.store(mode, Ordering::SeqCst);
    }

    fn hooks(&self) -> Vec<Value> {
        self.hooks.lock().unwrap().clone()
    }
}

async fn serve(mut socket: tokio::net::TcpStream, mode: Arc<AtomicU8>, hooks: Arc<Mutex<Vec<Value>>>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = socket.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
        let head = String::from_utf8_lossy(&buf[..at]).to_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        while buf.len() < at + 4 + length {
            let n = socket.read(&mut chunk).await.unwrap_or(0);
            if n == 0 {
                return;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let body = buf[at + 4..at + 4 + length].to_vec();
        buf.drain(..at + 4 + length);
        let (status, text) = if head.starts_with("post /hook") {
            hooks.lock().unwrap().push(serde_json::from_slice(&body).unwrap_or(Value::Null));
            (200, "{}")
        } else {
            match mode.load(Ordering::SeqCst) {
                FAIL => (500, "down"),
                HANG => {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    (200, "status: ok")
                }
                WRONG_BODY => (200, "maintenance"),
                _ => (200, "status: ok"),
            }
        };
        let response =
            format!("HTTP/1.1 {status} X\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\r\n{text}", text.len());
        if socket.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}

async fn token(app: &TestApp, org: &str) -> String {
    let org = app.store.organization_by_slug(org).await.unwrap().expect("organization exists");
    let user = app
        .store
        .create_user(&faultline_store::NewUser { email: "owner@acme.test".into(), ..Default::default() })
        .await
        .unwrap();
    app.store.add_member(org.id, user.id, Role::Owner).await.unwrap();
    let scopes = Scopes::parse_list("org:read,org:write,project:read,project:write").unwrap();
    faultline_domain::tokens::create(&app.store, &user, "test", scopes).await.unwrap().1
}

async fn call(app: &TestApp, token: &str, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut req = app.http.request(method, app.url(path)).bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Polls the monitor until `pred` holds (the scheduler checks every second).
async fn wait_monitor(app: &TestApp, token: &str, id: &str, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let (status, m) =
            call(app, token, Method::GET, &format!("/api/0/organizations/acme/monitors/{id}/"), None).await;
        assert_eq!(status, StatusCode::OK, "{m}");
        if pred(&m) {
            return m;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "timed out waiting for {what}: {m:#}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn create(app: &TestApp, token: &str, body: Value) -> String {
    let (status, m) = call(app, token, Method::POST, "/api/0/organizations/acme/monitors/", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{m}");
    m["id"].as_str().unwrap().to_string()
}

app_tests!(
    http_monitor_goes_down_after_the_threshold_and_alerts,
    keyword_timeout_and_tcp_checks,
    heartbeat_is_missed_then_received,
    tls_certificate_expiry_is_read_and_warned,
    monitor_api_validates_and_pages_checks,
    maintenance_silences_monitor_alerts,
);

async fn http_monitor_goes_down_after_the_threshold_and_alerts(app: TestApp) {
    let target = Target::start().await;
    let p = app.create_project("acme", "web").await;
    let token = token(&app, "acme").await;
    let hook = format!("{}/hook", target.base);
    let (status, rule) = call(
        &app,
        &token,
        Method::POST,
        &format!("/api/0/projects/acme/{}/alerts/", p.slug),
        Some(json!({
            "name": "Uptime", "uptime": true, "onRegression": false,
            "alertRecipients": [{"recipientType": "webhook", "url": hook}]
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{rule}");
    let id = create(
        &app,
        &token,
        json!({
            "name": "Health", "monitorType": "GET", "url": format!("{}/health", target.base),
            "expectedStatus": 200, "interval": 1, "timeout": 2, "project": p.id,
            "failureThreshold": 2, "retryInterval": 1
        }),
    )
    .await;
    let up = wait_monitor(&app, &token, &id, "up", |m| m["health"] == "up").await;
    assert_eq!(up["isUp"], true);
    assert!(up["checks"].as_array().is_some_and(|c| !c.is_empty()));

    target.set(FAIL);
    let down = wait_monitor(&app, &token, &id, "down", |m| m["health"] == "down").await;
    assert_eq!(down["isUp"], false);
    // Never down on the first failure: the check before the down one was pending.
    let checks = down["checks"].as_array().unwrap();
    let failures = checks.iter().take_while(|c| c["isUp"] == false).count();
    assert!(failures >= 2, "down after {failures} failure(s): {checks:#?}");
    assert_eq!(checks.iter().find(|c| c["isChange"] == true).unwrap()["reason"], 2, "wrong status code");

    target.set(OK);
    wait_monitor(&app, &token, &id, "recovery", |m| m["health"] == "up").await;
    // The alert rule's webhook hears about both transitions, in order.
    let started = Instant::now();
    let hooks = loop {
        let hooks = target.hooks();
        if hooks.len() >= 2 || started.elapsed() > Duration::from_secs(20) {
            break hooks;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let texts: Vec<String> = hooks.iter().map(|h| h.to_string()).collect();
    assert_eq!(hooks.len(), 2, "{texts:#?}");
    assert!(texts[0].contains("Health is down") && texts[0].contains("wrong status code"), "{}", texts[0]);
    assert!(texts[1].contains("Health is back up"), "{}", texts[1]);
    let (_, incidents) = call(
        &app,
        &token,
        Method::GET,
        &format!("/api/0/organizations/acme/monitors/{id}/checks/?isChange=true"),
        None,
    )
    .await;
    assert_eq!(
        incidents.as_array().unwrap().iter().map(|c| c["isUp"].clone()).collect::<Vec<_>>(),
        vec![json!(true), json!(false)]
    );
}

async fn keyword_timeout_and_tcp_checks(app: TestApp) {
    let target = Target::start().await;
    app.store.create_organization("Acme", "acme").await.unwrap();
    let token = token(&app, "acme").await;
    let fast = |name: &str, extra: Value| {
        let mut body = json!({"name": name, "monitorType": "GET", "url": format!("{}/health", target.base),
            "interval": 1, "timeout": 1, "failureThreshold": 1});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        body
    };
    let keyword = create(&app, &token, fast("Keyword", json!({"expectedBody": "status: ok"}))).await;
    let absent = create(&app, &token, fast("Absent", json!({"keyword": "maintenance", "keywordAbsent": true}))).await;
    wait_monitor(&app, &token, &keyword, "keyword found", |m| m["health"] == "up").await;
    wait_monitor(&app, &token, &absent, "keyword absent", |m| m["health"] == "up").await;

    target.set(WRONG_BODY);
    for id in [&keyword, &absent] {
        let m = wait_monitor(&app, &token, id, "keyword failure", |m| m["health"] == "down").await;
        assert_eq!(m["checks"][0]["reason"], 3, "{m:#}");
    }
    target.set(HANG);
    let m = wait_monitor(&app, &token, &keyword, "timeout", |m| m["checks"][0]["reason"] == 1).await;
    assert_eq!(m["health"], "down");
    target.set(OK);

    // TCP: a listener is up; a closed port is a network error.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let open = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            drop(s);
        }
    });
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let tcp = |name: &str, addr: std::net::SocketAddr| {
        json!({"name": name, "monitorType": "TCP Port", "url": addr.to_string(), "interval": 1, "timeout": 1,
            "failureThreshold": 1})
    };
    let up = create(&app, &token, tcp("Open", open)).await;
    let down = create(&app, &token, tcp("Closed", closed)).await;
    wait_monitor(&app, &token, &up, "tcp up", |m| m["health"] == "up").await;
    let m = wait_monitor(&app, &token, &down, "tcp down", |m| m["health"] == "down").await;
    assert_eq!(m["checks"][0]["reason"], 5, "{m:#}");
}

async fn heartbeat_is_missed_then_received(app: TestApp) {
    app.store.create_organization("Acme", "acme").await.unwrap();
    let token = token(&app, "acme").await;
    let (status, m) = call(
        &app,
        &token,
        Method::POST,
        "/api/0/organizations/acme/monitors/",
        Some(json!({
            "name": "Nightly", "monitorType": "Heartbeat", "interval": 1, "timeout": 1, "failureThreshold": 1
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{m}");
    let id = m["id"].as_str().unwrap().to_string();
    let url = m["heartbeatEndpoint"].as_str().expect("heartbeat URL").to_string();
    assert!(url.contains("/api/0/organizations/acme/heartbeat_check/"), "{url}");

    let missed = wait_monitor(&app, &token, &id, "missed beat", |m| m["health"] == "down").await;
    assert_eq!(missed["checks"][0]["reason"], 6, "{missed:#}");

    // GlitchTip's POST, no credentials; GET works too.
    let resp = app.http.post(&url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let back = wait_monitor(&app, &token, &id, "beat received", |m| m["health"] == "up").await;
    assert_eq!(back["checks"][0]["isUp"], true);
    assert_eq!(app.http.get(&url).send().await.unwrap().status(), StatusCode::ACCEPTED);
    // A wrong key or organization is not found, and records nothing.
    let wrong = url.replace("/acme/", "/other/");
    assert_eq!(app.http.post(&wrong).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    let bogus = format!("{}/api/0/organizations/acme/heartbeat_check/{}/", app.base_url, uuid::Uuid::new_v4().simple());
    assert_eq!(app.http.post(&bogus).send().await.unwrap().status(), StatusCode::NOT_FOUND);
}

async fn tls_certificate_expiry_is_read_and_warned(app: TestApp) {
    // A certificate that expires in five days, served over TLS on 127.0.0.1.
    let expires = chrono::Utc::now() + chrono::Duration::days(5);
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    use chrono::Datelike;
    params.not_after = rcgen::date_time_ymd(expires.year(), expires.month() as u8, expires.day() as u8);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            tokio_rustls::rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(socket).await {
                    serve_tls(tls).await;
                }
            });
        }
    });

    app.store.create_organization("Acme", "acme").await.unwrap();
    let token = token(&app, "acme").await;
    let url = format!("https://localhost:{port}/");
    // Verified: a self-signed certificate is an SSL error.
    let strict = create(
        &app,
        &token,
        json!({"name": "Strict", "monitorType": "GET", "url": url,
        "interval": 1, "timeout": 2, "failureThreshold": 1}),
    )
    .await;
    let m = wait_monitor(&app, &token, &strict, "ssl error", |m| m["health"] == "down").await;
    assert_eq!(m["checks"][0]["reason"], 4, "{m:#}");
    // Unverified: up, and the expiry is read and warned about once.
    let cert_monitor = create(
        &app,
        &token,
        json!({"name": "Cert", "monitorType": "SSL", "url": url,
        "interval": 1, "timeout": 2, "verifyTls": false, "tlsWarnDays": 14}),
    )
    .await;
    let m = wait_monitor(&app, &token, &cert_monitor, "certificate read", |m| !m["tlsExpiresAt"].is_null()).await;
    assert_eq!(m["health"], "up");
    let seen = chrono::DateTime::parse_from_rfc3339(m["tlsExpiresAt"].as_str().unwrap()).unwrap();
    assert_eq!(seen.date_naive(), expires.date_naive(), "{m:#}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let transitions = app.store.monitor_transitions(cert_monitor.parse().unwrap(), 10).await.unwrap();
    let kinds: Vec<&str> = transitions.iter().map(|t| t.kind.as_str()).collect();
    assert_eq!(kinds, vec!["monitor.tls_expiring"], "warned once, not every check");
}

async fn serve_tls(mut tls: tokio_rustls::server::TlsStream<tokio::net::TcpStream>) {
    let mut buf = [0u8; 4096];
    let mut head = Vec::new();
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match tls.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let _ = tls.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok").await;
    let _ = tls.shutdown().await;
}

async fn monitor_api_validates_and_pages_checks(app: TestApp) {
    app.store.create_organization("Acme", "acme").await.unwrap();
    let token = token(&app, "acme").await;
    for (body, says) in [
        (json!({"name": "X", "monitorType": "Smoke", "url": "https://x"}), "monitorType"),
        (json!({"name": "X", "monitorType": "GET", "url": "ftp://x"}), "url"),
        (json!({"name": "X", "monitorType": "TCP Port", "url": "db"}), "host:port"),
        (json!({"name": "X", "monitorType": "GET", "url": "https://x", "timeout": 120}), "timeout"),
        (json!({"name": "X", "monitorType": "GET", "url": "https://x", "acceptedStatus": "2xx"}), "expectedStatus"),
        (json!({"name": "X", "monitorType": "GET", "url": "https://x", "project": 999_999}), "project"),
    ] {
        let (status, err) = call(&app, &token, Method::POST, "/api/0/organizations/acme/monitors/", Some(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
        assert!(err["detail"].as_str().unwrap().contains(says), "{err} should mention {says}");
    }
    // A paused monitor is never checked; its checks page is empty with Link headers.
    let id = create(
        &app,
        &token,
        json!({"name": "Paused", "monitorType": "Ping", "url": "http://127.0.0.1:9/",
        "paused": true}),
    )
    .await;
    let (_, m) = call(&app, &token, Method::GET, &format!("/api/0/organizations/acme/monitors/{id}/"), None).await;
    assert_eq!(
        (m["kind"].as_str(), m["method"].as_str(), m["paused"].as_bool()),
        (Some("http"), Some("HEAD"), Some(true))
    );
    let resp = app
        .http
        .get(app.url(&format!("/api/0/organizations/acme/monitors/{id}/checks/")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(resp.headers().contains_key("link"));
    assert_eq!(resp.json::<Value>().await.unwrap(), json!([]));
    // Update and delete.
    let (status, m) = call(
        &app,
        &token,
        Method::PUT,
        &format!("/api/0/organizations/acme/monitors/{id}/"),
        Some(json!({
            "name": "Renamed", "monitorType": "HTTP", "method": "POST", "url": "http://127.0.0.1:9/", "paused": true,
            "acceptedStatus": "200-299, 301", "headers": {"X-Token": "a"}
        })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{m}");
    assert_eq!((m["name"].as_str(), m["method"].as_str()), (Some("Renamed"), Some("POST")));
    assert_eq!(m["headers"], json!([["X-Token", "a"]]));
    let (status, _) =
        call(&app, &token, Method::DELETE, &format!("/api/0/organizations/acme/monitors/{id}/"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call(&app, &token, Method::GET, &format!("/api/0/organizations/acme/monitors/{id}/"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn maintenance_silences_monitor_alerts(app: TestApp) {
    let target = Target::start().await;
    let p = app.create_project("acme", "web").await;
    let token = token(&app, "acme").await;
    let hook = format!("{}/hook", target.base);
    let rule = json!({"name": "Uptime", "uptime": true, "onRegression": false,
        "alertRecipients": [{"recipientType": "webhook", "url": hook}]});
    let (status, _) =
        call(&app, &token, Method::POST, &format!("/api/0/projects/acme/{}/alerts/", p.slug), Some(rule)).await;
    assert_eq!(status, StatusCode::CREATED);
    // An organization-wide window, from a minute ago for an hour.
    let now = chrono::Utc::now();
    let window = json!({"title": "Database upgrade",
        "startsAt": (now - chrono::Duration::minutes(1)).to_rfc3339(),
        "endsAt": (now + chrono::Duration::hours(1)).to_rfc3339()});
    let (status, w) =
        call(&app, &token, Method::POST, "/api/0/organizations/acme/maintenance-windows/", Some(window)).await;
    assert_eq!(status, StatusCode::CREATED, "{w}");

    target.set(FAIL);
    let id = create(
        &app,
        &token,
        json!({"name": "Health", "monitorType": "GET", "url": format!("{}/health", target.base),
        "interval": 1, "timeout": 1, "failureThreshold": 1, "project": p.id}),
    )
    .await;
    wait_monitor(&app, &token, &id, "down", |m| m["health"] == "down").await;
    // The transition is recorded and evaluated, but nobody is paged.
    let started = Instant::now();
    loop {
        let pending = app.store.unalerted_transitions(10).await.unwrap();
        if pending.is_empty() {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "transitions never evaluated");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Long enough for a queued delivery to have gone out (runners poll every second).
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(app.store.monitor_transitions(id.parse().unwrap(), 10).await.unwrap().len(), 1);
    assert!(target.hooks().is_empty(), "alerted during maintenance: {:?}", target.hooks());
}
