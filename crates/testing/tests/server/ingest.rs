//! Ingest over raw HTTP: every endpoint, every auth form, every bad input with its
//! status and body, limits and CORS. Workers are off so the queue can be inspected.

use std::io::Write;

use base64::Engine;
use faultline_store::QueueMeta;
use faultline_testing::{app_tests, TestApp, TestAppBuilder, TestProject};
use reqwest::StatusCode;
use serde_json::{json, Value};

fn no_workers(b: TestAppBuilder) -> TestAppBuilder {
    b.workers(false).env("FAULTLINE_MAX_BODY_SIZE", "262144").env("GLITCHTIP_MAX_UNZIPPED_PAYLOAD_SIZE", "2MB")
}

const EVENT_ID: &str = "9ec79c33ec9942ab8353589fcb2e04dc";

fn envelope(event: &Value) -> Vec<u8> {
    let id = event["event_id"].as_str().unwrap_or(EVENT_ID);
    let payload = serde_json::to_vec(event).unwrap();
    let mut out = format!("{{\"event_id\":\"{id}\",\"sent_at\":\"2024-01-01T00:00:00Z\"}}\n").into_bytes();
    out.extend(format!("{{\"type\":\"event\",\"length\":{}}}\n", payload.len()).into_bytes());
    out.extend(payload);
    out.push(b'\n');
    out
}

fn sample_event() -> Value {
    json!({"event_id": EVENT_ID, "message": "hello", "level": "info", "platform": "python"})
}

fn auth_header(p: &TestProject) -> String {
    format!("Sentry sentry_version=7, sentry_client=test/1.0, sentry_key={}", p.key)
}

async fn post(
    app: &TestApp,
    url: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let mut req = app.http.post(url).body(body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    (status, headers, res.text().await.unwrap())
}

async fn post_envelope(app: &TestApp, p: &TestProject, body: Vec<u8>) -> (StatusCode, String) {
    let auth = auth_header(p);
    let (status, _, text) = post(app, &app.envelope_url(p), &[("x-sentry-auth", &auth)], body).await;
    (status, text)
}

fn detail(body: &str) -> String {
    serde_json::from_str::<Value>(body).ok().and_then(|v| v["detail"].as_str().map(String::from)).unwrap_or_default()
}

async fn depth(app: &TestApp) -> i64 {
    app.store.queue_depth().await.unwrap()
}

async fn envelopes_are_queued_with_request_facts(app: TestApp) {
    let p = app.create_project("acme", "web").await;
    let (status, body) = post_envelope(&app, &p, envelope(&sample_event())).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), json!({ "id": EVENT_ID }));
    let rows = app.store.peek_queued(10).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].project_id.0, p.id);
    let meta: QueueMeta = serde_json::from_str(&rows[0].meta).unwrap();
    assert_eq!(meta.client_ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(meta.sdk_client.as_deref(), Some("test/1.0"));
    assert_eq!(meta.key_id, p.key_id.0);
}

async fn every_auth_form_is_accepted(app: TestApp) {
    let p = app.create_project("acme", "web").await;
    let body = || {
        let mut e = sample_event();
        e["event_id"] = json!(uuid::Uuid::new_v4().simple().to_string());
        let payload = serde_json::to_vec(&e).unwrap();
        let mut out = b"{}\n{\"type\":\"event\"}\n".to_vec();
        out.extend(payload);
        out
    };
    let url = app.envelope_url(&p);
    let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{}:", p.key)));
    let sentry = format!("Sentry sentry_key={}, sentry_version=7", p.key);
    for (what, headers, query) in [
        ("query sentry_key", vec![], format!("?sentry_key={}&sentry_version=7", p.key)),
        ("query glitchtip_key", vec![], format!("?glitchtip_key={}", p.key)),
        ("Authorization: Sentry", vec![("authorization", sentry.as_str())], String::new()),
        ("Authorization: Basic", vec![("authorization", basic.as_str())], String::new()),
    ] {
        let (status, _, text) = post(&app, &format!("{url}{query}"), &headers, body()).await;
        assert_eq!(status, 200, "{what}: {text}");
    }
    // The envelope header's dsn alone (tunnels).
    let mut tunneled = format!("{{\"dsn\":\"{}\"}}\n{{\"type\":\"event\"}}\n", p.dsn).into_bytes();
    tunneled.extend(serde_json::to_vec(&json!({"message": "via tunnel"})).unwrap());
    let (status, _, text) = post(&app, &url, &[], tunneled).await;
    assert_eq!(status, 200, "dsn header: {text}");
    let id = serde_json::from_str::<Value>(&text).unwrap()["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 32, "an id is assigned to events without one");
    assert_eq!(depth(&app).await, 5);
}

async fn bad_authentication_is_refused(app: TestApp) {
    let p = app.create_project("acme", "web").await;
    let other = app.create_project("acme", "other").await;
    let url = app.envelope_url(&p);
    let body = envelope(&sample_event());

    let (status, _, text) = post(&app, &url, &[], body.clone()).await;
    assert_eq!((status, detail(&text).contains("missing authentication")), (StatusCode::UNAUTHORIZED, true), "{text}");

    let (status, headers, text) =
        post(&app, &url, &[("x-sentry-auth", "Sentry sentry_key=not-a-key")], body.clone()).await;
    assert_eq!(status, 401, "{text}");
    assert!(detail(&text).contains("32 hexadecimal"), "{text}");
    assert!(headers.get("x-sentry-error").is_some());

    let unknown = "Sentry sentry_key=0123456789abcdef0123456789abcdef";
    let (status, _, text) = post(&app, &url, &[("x-sentry-auth", unknown)], body.clone()).await;
    assert_eq!((status, detail(&text)), (StatusCode::UNAUTHORIZED, "unknown public key".to_string()));

    let conflicting = format!("{url}?sentry_key={}", other.key);
    let (status, _, text) = post(&app, &conflicting, &[("x-sentry-auth", &auth_header(&p))], body.clone()).await;
    assert_eq!(status, 401, "{text}");
    assert!(detail(&text).contains("conflicting"), "{text}");

    // Another project's key.
    let (status, _, text) = post(&app, &url, &[("x-sentry-auth", &auth_header(&other))], body.clone()).await;
    assert_eq!(status, 403, "{text}");
    assert!(detail(&text).contains(&format!("project {}", p.id)), "{text}");

    // A project that does not exist, and one that is not a number.
    let (status, _, _) =
        post(&app, &app.url("/api/999999/envelope/"), &[("x-sentry-auth", &auth_header(&p))], body.clone()).await;
    assert_eq!(status, 403);
    let (status, _, _) =
        post(&app, &app.url("/api/abc/envelope/"), &[("x-sentry-auth", &auth_header(&p))], body.clone()).await;
    assert_eq!(status, 404);

    // A disabled key.
    app.store.set_project_key_active(p.key_id, false).await.unwrap();
    app.invalidate_keys();
    let (status, text) = post_envelope(&app, &p, body.clone()).await;
    assert_eq!((status, detail(&text)), (StatusCode::FORBIDDEN, "this key is disabled".to_string()));
    assert_eq!(depth(&app).await, 0, "nothing refused was queued");
}

async fn malformed_envelopes_say_what_is_wrong(app: TestApp) {
    let p = app.create_project("acme", "web").await;
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        ("empty body", vec![], 400, "empty envelope"),
        ("invalid header JSON", b"{not json\n".to_vec(), 400, "invalid envelope header"),
        ("truncated item", b"{}\n{\"type\":\"event\",\"length\":500}\n{\"a\":1}\n".to_vec(), 400, "truncated"),
        ("item without type", b"{}\n{\"length\":2}\n{}\n".to_vec(), 400, "invalid header of item 0"),
        ("invalid UTF-8", b"{}\n{\"type\":\"event\"}\n{\"message\":\"\xff\xfe\"}\n".to_vec(), 400, "UTF-8"),
        (
            "deeply nested JSON",
            format!("{{}}\n{{\"type\":\"event\"}}\n{{\"extra\":{}{}}}\n", "[".repeat(300), "]".repeat(300))
                .into_bytes(),
            400,
            "nested more than",
        ),
        ("event not an object", b"{}\n{\"type\":\"event\"}\n[1,2,3]\n".to_vec(), 400, "expected a JSON object"),
        (
            "two events",
            b"{}\n{\"type\":\"event\"}\n{}\n{\"type\":\"transaction\"}\n{}\n".to_vec(),
            400,
            "only one event",
        ),
    ];
    for (what, body, status, text) in cases {
        let (got, body) = post_envelope(&app, &p, body).await;
        assert_eq!(got.as_u16(), status, "{what}: {body}");
        assert!(detail(&body).contains(text), "{what}: {body}");
    }
    // Unknown item types are skipped, never rejected.
    let (status, body) = post_envelope(
        &app,
        &p,
        b"{}\n{\"type\":\"statsd\"}\nfoo:1|c\n{\"type\":\"something_new\",\"length\":3}\nabc\n".to_vec(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, "{}", "no event, no id");
    // And the server still serves.
    assert_eq!(app.get("/_health/").await.status(), 200);
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

async fn sizes_are_capped(app: TestApp) {
    let p = app.create_project("acme", "web").await;
    let auth = auth_header(&p);
    let url = app.envelope_url(&p);
    // Over FAULTLINE_MAX_BODY_SIZE (256 KiB here) as sent.
    let big = vec![b' '; 300 * 1024];
    let (status, _, text) = post(&app, &url, &[("x-sentry-auth", &auth)], big).await;
    assert_eq!(status, 413, "{text}");
    // A zip bomb: 50 MiB of zeros in ~50 KiB of gzip, over the 2 MiB decompression cap.
    let bomb = gzip(&vec![0u8; 50 * 1024 * 1024]);
    assert!(bomb.len() < 256 * 1024);
    let (status, _, text) = post(&app, &url, &[("x-sentry-auth", &auth), ("content-encoding", "gzip")], bomb).await;
    assert_eq!(status, 413, "{text}");
    assert!(detail(&text).contains("decompressed"), "{text}");
    // One event item over 1 MiB, inside an envelope under the caps.
    let event = json!({"message": "x".repeat(1024 * 1024 + 10)});
    let (status, _, text) =
        post(&app, &url, &[("x-sentry-auth", &auth), ("content-encoding", "gzip")], gzip(&envelope(&event))).await;
    assert_eq!(status, 413, "{text}");
    assert!(detail(&text).contains("item 0 (event)"), "{text}");
    assert_eq!(depth(&app).await, 0);
    assert_eq!(app.get("/_health/").await.status(), 200);
}

async fn encodings_and_browsers(app: TestApp) {
    let p = app.create_project("acme", "web").await;
    let auth = auth_header(&p);
    let url = app.envelope_url(&p);
    let body = envelope(&sample_event());

    let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    zlib.write_all(&body).unwrap();
    let mut raw = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    raw.write_all(&body).unwrap();
    let mut br = Vec::new();
    brotli::CompressorWriter::new(&mut br, 4096, 5, 22).write_all(&body).unwrap();
    for (encoding, data) in [
        ("gzip", gzip(&body)),
        ("deflate", zlib.finish().unwrap()),
        ("deflate", raw.finish().unwrap()),
        ("br", br),
        ("zstd", zstd::bulk::compress(&body, 3).unwrap()),
        ("", body.clone()),
        ("UTF-8", body.clone()),
    ] {
        let (status, _, text) =
            post(&app, &url, &[("x-sentry-auth", &auth), ("content-encoding", encoding)], data).await;
        assert_eq!(status, 200, "{encoding:?}: {text}");
    }
    let (status, _, text) =
        post(&app, &url, &[("x-sentry-auth", &auth), ("content-encoding", "compress")], body.clone()).await;
    assert_eq!(status, 415, "{text}");
    let (status, _, text) =
        post(&app, &url, &[("x-sentry-auth", &auth), ("content-encoding", "gzip")], b"junk".to_vec()).await;
    assert_eq!(status, 400, "{text}");

    // A browser: text/plain body, key in the query string, CORS.
    let browser_url = format!("{url}?sentry_key={}&sentry_version=7", p.key);
    let res = app
        .http
        .post(&browser_url)
        .header("content-type", "text/plain;charset=UTF-8")
        .header("origin", "https://app.example.com")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    let expose = res.headers()["access-control-expose-headers"].to_str().unwrap().to_ascii_lowercase();
    for h in ["x-sentry-rate-limits", "retry-after", "x-sentry-error"] {
        assert!(expose.contains(h), "{expose}");
    }
    let preflight = app
        .http
        .request(reqwest::Method::OPTIONS, &url)
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type, x-sentry-auth")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success(), "{}", preflight.status());
    let allowed = preflight.headers()["access-control-allow-headers"].to_str().unwrap().to_ascii_lowercase();
    assert!(allowed.contains("x-sentry-auth"), "{allowed}");

    // Wrong method.
    let res = app.http.get(&url).send().await.unwrap();
    assert_eq!(res.status(), 405);
}

async fn store_endpoint_formats(app: TestApp) {
    let p = app.create_project("acme", "web").await;
    let auth = auth_header(&p);
    let url = app.url(&format!("/api/{}/store/", p.id));
    let event =
        serde_json::to_vec(&json!({"event_id": "11111111111111111111111111111111", "message": "json"})).unwrap();
    let (status, _, text) = post(&app, &url, &[("x-sentry-auth", &auth)], event).await;
    assert_eq!((status.as_u16(), text.as_str()), (200, "{\"id\":\"11111111111111111111111111111111\"}"));

    let b64 = base64::engine::general_purpose::STANDARD.encode(serde_json::to_vec(&json!({"message": "b64"})).unwrap());
    let (status, _, text) = post(&app, &url, &[("x-sentry-auth", &auth)], b64.into_bytes()).await;
    assert_eq!(status, 200, "{text}");

    let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    zlib.write_all(&serde_json::to_vec(&json!({"message": "zlib"})).unwrap()).unwrap();
    let b64z = base64::engine::general_purpose::STANDARD.encode(zlib.finish().unwrap());
    let (status, _, text) = post(&app, &url, &[("x-sentry-auth", &auth)], b64z.into_bytes()).await;
    assert_eq!(status, 200, "{text}");

    let (status, _, text) = post(&app, &url, &[("x-sentry-auth", &auth)], b"%%%".to_vec()).await;
    assert_eq!(status, 400, "{text}");

    // No project id in the path: the key decides.
    let (status, _, text) =
        post(&app, &app.url("/api/store/"), &[("x-sentry-auth", &auth)], b"{\"message\":\"np\"}".to_vec()).await;
    assert_eq!(status, 200, "{text}");

    // An envelope posted to store.
    let (status, _, text) = post(
        &app,
        &url,
        &[("x-sentry-auth", &auth), ("content-type", "application/x-sentry-envelope")],
        envelope(&sample_event()),
    )
    .await;
    assert_eq!(status, 200, "{text}");

    // GET with the event in the query string answers a pixel.
    let data = serde_json::to_string(&json!({"message": "beacon"})).unwrap();
    let res = app
        .http
        .get(&url)
        .query(&[("sentry_key", p.key.as_str()), ("sentry_data", data.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "image/gif");
    assert!(res.bytes().await.unwrap().starts_with(b"GIF89a"));
    assert_eq!(depth(&app).await, 6);
}

async fn security_minidump_attachments_cron_and_feedback(app: TestApp) {
    let p = app.create_project("acme", "web").await;
    let auth = auth_header(&p);
    let csp = br#"{"csp-report": {"blocked-uri": "http://example.com/css/style.css", "disposition": "report",
        "document-uri": "http://example.com/signup.html", "effective-directive": "style-src-elem",
        "original-policy": "default-src 'none'; style-src cdn.example.com; report-to /_/csp-reports",
        "referrer": "", "status-code": 200, "violated-directive": "style-src-elem"}}"#;
    for path in ["security", "csp-report"] {
        let url = app.url(&format!("/api/{}/{path}/?glitchtip_key={}", p.id, p.key));
        let (status, _, text) = post(&app, &url, &[("content-type", "application/csp-report")], csp.to_vec()).await;
        assert_eq!(status, 201, "{path}: {text}");
    }
    let url = app.url(&format!("/api/{}/security/?sentry_key={}", p.id, p.key));
    let (status, _, text) = post(&app, &url, &[], b"{\"expect-ct-report\":{}}".to_vec()).await;
    assert_eq!(status, 400, "{text}");

    // Minidump: multipart; answered with the event id as plain text.
    let boundary = "XyZ";
    let mut form = Vec::new();
    write!(
        form,
        "--{boundary}\r\nContent-Disposition: form-data; name=\"sentry\"\r\n\r\n{{\"release\":\"app@1\"}}\r\n"
    )
    .unwrap();
    write!(form, "--{boundary}\r\nContent-Disposition: form-data; name=\"upload_file_minidump\"; filename=\"crash.dmp\"\r\nContent-Type: application/octet-stream\r\n\r\n").unwrap();
    form.extend_from_slice(b"MDMP\x93\xa7\x00\x00rest-of-dump");
    write!(form, "\r\n--{boundary}--\r\n").unwrap();
    let ct = format!("multipart/form-data; boundary={boundary}");
    let url = app.url(&format!("/api/{}/minidump/", p.id));
    let (status, _, text) = post(&app, &url, &[("x-sentry-auth", &auth), ("content-type", &ct)], form.clone()).await;
    assert_eq!(status, 200, "{text}");
    assert!(uuid::Uuid::try_parse(&text).is_ok() && text.contains('-'), "hyphenated UUID: {text}");
    let bad = String::from_utf8_lossy(&form).replace("MDMP", "JUNK").into_bytes();
    let (status, _, text) = post(&app, &url, &[("x-sentry-auth", &auth), ("content-type", &ct)], bad).await;
    assert_eq!(status, 400, "{text}");

    // Attachments for an event.
    let url = app.url(&format!("/api/{}/events/{EVENT_ID}/attachments/", p.id));
    let mut files = Vec::new();
    write!(files, "--{boundary}\r\nContent-Disposition: form-data; name=\"log\"; filename=\"app.log\"\r\nContent-Type: text/plain\r\n\r\nline one\r\n--{boundary}--\r\n").unwrap();
    let (status, _, text) = post(&app, &url, &[("x-sentry-auth", &auth), ("content-type", &ct)], files).await;
    assert_eq!(status, 201, "{text}");

    // A cron check-in over HTTP.
    let res = app
        .http
        .get(app.url(&format!("/api/{}/cron/nightly-backup/{}/?status=in_progress", p.id, p.key)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    assert_eq!(res.text().await.unwrap(), "", "Sentry answers 202 without a body");
    let res = app
        .http
        .post(app.url(&format!("/api/{}/cron/nightly-backup/{}/?status=ok&check_in_id=latest", p.id, p.key)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let res = app
        .http
        .get(app.url(&format!("/api/{}/cron/nightly-backup/{}/?status=bogus", p.id, p.key)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);

    // The feedback widget: the script, then the form.
    let query = [("dsn", p.dsn.as_str()), ("eventId", EVENT_ID)];
    let res = app.http.get(app.url("/api/embed/error-page/")).query(&query).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("application/javascript"));
    let script = res.text().await.unwrap();
    assert!(script.contains("faultline-feedback") && script.contains("It looks like we're having issues."));
    let res = app
        .http
        .post(app.url("/api/embed/error-page/"))
        .query(&query)
        .form(&[("name", "Ada"), ("email", "nope"), ("comments", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let errors = res.json::<Value>().await.unwrap();
    assert!(errors["errors"]["email"].is_array() && errors["errors"]["comments"].is_array(), "{errors}");
    let res = app
        .http
        .post(app.url("/api/embed/error-page/"))
        .query(&query)
        .form(&[("name", "Ada"), ("email", "ada@example.com"), ("comments", "It broke when I clicked save.")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // 2 CSP + 1 minidump + 1 attachment + 2 check-ins + 1 feedback.
    assert_eq!(depth(&app).await, 7);
}

async fn limits_answer_429_with_rate_limit_headers(app: TestApp) {
    let p = app.create_project("acme", "web").await;
    app.store.set_project_key_rate_limit(p.key_id, Some((2, 60))).await.unwrap();
    app.invalidate_keys();
    let send = |n: u32| {
        let mut e = sample_event();
        e["event_id"] = json!(format!("{n:032x}"));
        envelope(&e)
    };
    assert_eq!(post_envelope(&app, &p, send(1)).await.0, 200);
    assert_eq!(post_envelope(&app, &p, send(2)).await.0, 200);
    let auth = auth_header(&p);
    let (status, headers, text) = post(&app, &app.envelope_url(&p), &[("x-sentry-auth", &auth)], send(3)).await;
    assert_eq!(status, 429, "{text}");
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let limits = headers["x-sentry-rate-limits"].to_str().unwrap();
    assert!(limits.starts_with(&format!("{retry}:")), "{limits}");
    assert!(limits.contains(":key:") && limits.contains("error"), "{limits}");

    // Envelopes without events (sessions) are not counted against event limits.
    let session =
        b"{}\n{\"type\":\"session\"}\n{\"sid\":\"x\",\"status\":\"ok\",\"init\":true,\"attrs\":{\"release\":\"1\"}}\n"
            .to_vec();
    assert_eq!(post_envelope(&app, &p, session).await.0, 200);

    // A repeated event id is acknowledged but stored once.
    let before = depth(&app).await;
    assert_eq!(post_envelope(&app, &p, send(1)).await.0, 200);
    assert_eq!(depth(&app).await, before);
}

async fn maintenance_freezes_every_ingest_endpoint(app: TestApp) {
    let p = app.create_project("acme", "web").await;
    for path in ["envelope/", "store/", "security/", "minidump/", "csp-report/"] {
        let url = app.url(&format!("/api/{}/{path}?sentry_key={}", p.id, p.key));
        let res = app.http.post(&url).body("{}").send().await.unwrap();
        assert_eq!(res.status(), 503, "{path}");
        assert!(res.headers().contains_key("retry-after"));
        let body: Value = res.json().await.unwrap();
        assert!(body["detail"].as_str().unwrap().contains("maintenance"), "{body}");
    }
}

fn frozen(b: TestAppBuilder) -> TestAppBuilder {
    no_workers(b).env("MAINTENANCE_EVENT_FREEZE", "true")
}

fn shallow_queue(b: TestAppBuilder) -> TestAppBuilder {
    no_workers(b).env("FAULTLINE_MAX_QUEUE_DEPTH", "2")
}

async fn a_deep_queue_pushes_back(app: TestApp) {
    let p = app.create_project("acme", "web").await;
    let body = b"{}\n{\"type\":\"event\"}\n{\"message\":\"x\"}\n".to_vec();
    assert_eq!(post_envelope(&app, &p, body.clone()).await.0, 200);
    assert_eq!(post_envelope(&app, &p, body.clone()).await.0, 200);
    let (status, text) = post_envelope(&app, &p, body).await;
    assert_eq!(status, 503, "{text}");
    assert!(detail(&text).contains("behind"), "{text}");
}

app_tests!(
    configure = no_workers;
    envelopes_are_queued_with_request_facts,
    every_auth_form_is_accepted,
    bad_authentication_is_refused,
    malformed_envelopes_say_what_is_wrong,
    sizes_are_capped,
    encodings_and_browsers,
    store_endpoint_formats,
    security_minidump_attachments_cron_and_feedback,
    limits_answer_429_with_rate_limit_headers,
);

mod freeze {
    use super::*;
    app_tests!(configure = frozen; maintenance_freezes_every_ingest_endpoint);
}

mod backpressure {
    use super::*;
    app_tests!(configure = shallow_queue; a_deep_queue_pushes_back);
}
