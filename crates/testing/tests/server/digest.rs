//! From ingest to storage through the real server: CSP reports, minidumps, user
//! feedback, transactions, sessions, check-ins, and grouping across variable values.

use std::time::Duration;

use faultline_store::ProjectId;
use faultline_testing::{app_tests, TestApp, TestProject};
use serde_json::json;
use uuid::Uuid;

async fn post(app: &TestApp, url: &str, content_type: &str, body: Vec<u8>) -> reqwest::Response {
    app.http.post(url).header("content-type", content_type).body(body).send().await.unwrap()
}

fn envelope(items: &[(&str, serde_json::Value)], event_id: Option<Uuid>) -> Vec<u8> {
    let header = match event_id {
        Some(id) => json!({"event_id": id.simple().to_string(), "sent_at": chrono_now()}),
        None => json!({"sent_at": chrono_now()}),
    };
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

fn chrono_now() -> String {
    faultline_store::Timestamp::now().to_rfc3339()
}

fn url(app: &TestApp, p: &TestProject, path: &str) -> String {
    app.url(&format!("/api/{}/{path}?sentry_key={}", p.id, p.key))
}

async fn the_same_bug_with_other_values_is_one_issue(app: TestApp) {
    let p = app.create_project("acme", "grouping").await;
    for n in 0..5 {
        let event = json!({
            "platform": "python",
            "exception": {"values": [{"type": "KeyError", "value": format!("'user_{n}'"),
                "stacktrace": {"frames": [
                    {"function": "load", "module": "shop.users", "filename": "shop/users.py", "lineno": 10, "in_app": true,
                     "context_line": "    return cache[key]"}
                ]}}]}
        });
        let res = post(
            &app,
            &url(&app, &p, "envelope/"),
            "application/x-sentry-envelope",
            envelope(&[("event", event)], None),
        )
        .await;
        assert_eq!(res.status(), 200);
    }
    let other = json!({"platform": "python", "exception": {"values": [{"type": "KeyError", "value": "'x'",
        "stacktrace": {"frames": [{"function": "save", "module": "shop.orders", "filename": "shop/orders.py", "lineno": 99, "in_app": true}]}}]}});
    post(&app, &url(&app, &p, "envelope/"), "text/plain", envelope(&[("event", other)], None)).await;
    app.wait_for_digest(Duration::from_secs(20)).await;
    let issues = app.store.project_issues(ProjectId(p.id), 10).await.unwrap();
    let mut counts: Vec<i64> = issues.iter().map(|i| i.times_seen).collect();
    counts.sort();
    assert_eq!(counts, [1, 5], "{issues:?}");
}

async fn other_items_are_stored(app: TestApp) {
    let p = app.create_project("acme", "items").await;
    let project = ProjectId(p.id);

    // A CSP report becomes a CSP issue.
    let csp = br#"{"csp-report": {"blocked-uri": "https://evil.example.net/x.js", "document-uri": "https://app.example.com/login",
        "effective-directive": "script-src-elem", "violated-directive": "script-src-elem", "original-policy": "script-src 'self'"}}"#;
    assert_eq!(post(&app, &url(&app, &p, "security/"), "application/csp-report", csp.to_vec()).await.status(), 201);

    // A minidump becomes a fatal native issue, with the dump attached.
    let boundary = "B0undary";
    let mut form = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"upload_file_minidump\"; filename=\"c.dmp\"\r\n\r\n"
    )
    .into_bytes();
    form.extend_from_slice(b"MDMP\x93\xa7\x00\x00dump-bytes");
    form.extend(format!("\r\n--{boundary}--\r\n").into_bytes());
    let res = post(&app, &url(&app, &p, "minidump/"), &format!("multipart/form-data; boundary={boundary}"), form).await;
    assert_eq!(res.status(), 200);
    let minidump_id = Uuid::try_parse(&res.text().await.unwrap()).unwrap();

    // An error event with feedback sent before and after it.
    let event_id = Uuid::new_v4();
    let error = json!({"event_id": event_id.simple().to_string(), "platform": "javascript",
        "exception": {"values": [{"type": "TypeError", "value": "x is undefined"}]}});
    let feedback = json!({"event_id": event_id.simple().to_string(), "name": "Ada", "email": "ada@example.com", "comments": "Save does nothing"});
    post(&app, &url(&app, &p, "envelope/"), "text/plain", envelope(&[("user_report", feedback)], Some(event_id))).await;
    post(&app, &url(&app, &p, "envelope/"), "text/plain", envelope(&[("event", error)], Some(event_id))).await;

    // A transaction with a span, sessions, a client report and a check-in.
    let start = faultline_store::Timestamp::now().micros() as f64 / 1e6;
    let transaction = json!({"type": "transaction", "transaction": "/checkout", "start_timestamp": start, "timestamp": start + 0.25,
        "contexts": {"trace": {"trace_id": "771a43a4192642f0b136d5159a501700", "span_id": "b0e6f15b45c36b12", "op": "http.server", "status": "ok"}},
        "request": {"method": "post", "url": "https://app.example.com/checkout"},
        "spans": [{"span_id": "a0e6f15b45c36b13", "parent_span_id": "b0e6f15b45c36b12", "trace_id": "771a43a4192642f0b136d5159a501700",
                   "op": "db", "description": "SELECT 1", "start_timestamp": start + 0.01, "timestamp": start + 0.02}]});
    let session = json!({"sid": Uuid::new_v4().simple().to_string(), "init": true, "status": "exited", "errors": 0,
        "started": chrono_now(), "attrs": {"release": "app@1", "environment": "production"}});
    let aggregates =
        json!({"aggregates": [{"started": chrono_now(), "exited": 3, "crashed": 1}], "attrs": {"release": "app@1"}});
    let report = json!({"timestamp": chrono_now(), "discarded_events": [{"reason": "ratelimit_backoff", "category": "error", "quantity": 4}]});
    let check_in = json!({"check_in_id": Uuid::new_v4().simple().to_string(), "monitor_slug": "nightly", "status": "ok", "duration": 1.5});
    let res = post(
        &app,
        &url(&app, &p, "envelope/"),
        "text/plain",
        envelope(&[("transaction", transaction)], Some(Uuid::new_v4())),
    )
    .await;
    assert_eq!(res.status(), 200);
    let res = post(
        &app,
        &url(&app, &p, "envelope/"),
        "text/plain",
        envelope(
            &[("session", session), ("sessions", aggregates), ("client_report", report), ("check_in", check_in)],
            None,
        ),
    )
    .await;
    assert_eq!(res.status(), 200);
    app.wait_for_digest(Duration::from_secs(20)).await;

    let issues = app.store.project_issues(project, 10).await.unwrap();
    let csp_issue = issues.iter().find(|i| i.ty == 2).expect("a CSP issue");
    assert_eq!(csp_issue.title, "Blocked 'script-elem' from 'evil.example.net'");
    assert_eq!(csp_issue.culprit, "script-src-elem");

    let dump_event = app.store.event(project, minidump_id).await.unwrap().expect("minidump event");
    let dump_issue = app.store.issue(dump_event.issue_id).await.unwrap();
    assert_eq!(
        (dump_issue.level, dump_issue.title.as_str()),
        (5, "Minidump: Native crash (the minidump is attached; symbolication is not available yet)")
    );
    let attachments = app.store.attachments(project, minidump_id).await.unwrap();
    assert_eq!(attachments[0].attachment_type, "event.minidump");

    let error = app.store.event(project, event_id).await.unwrap().expect("error event");
    let reports = app.store.issue_user_reports(error.issue_id).await.unwrap();
    assert_eq!(reports.len(), 1, "feedback sent before its event is linked to the issue");
    assert_eq!(reports[0].comments, "Save does nothing");

    assert_eq!(app.store.project_transaction_count(project).await.unwrap(), 1);
    let sessions = app.store.project_session_totals(project).await.unwrap();
    assert_eq!((sessions.started, sessions.exited, sessions.crashed), (5, 4, 1));
    let check_ins = app.store.project_check_ins(project).await.unwrap();
    assert_eq!(check_ins.len(), 1);
    assert_eq!((check_ins[0].monitor_slug.as_str(), check_ins[0].duration), ("nightly", Some(1_500_000)));
}

app_tests!(the_same_bug_with_other_values_is_one_issue, other_items_are_stored);
