//! Lenient parsing end to end: the shapes real SDKs send, and bad sub-objects that are
//! dropped with an `invalid_data` error instead of rejecting the event.

mod common;

use common::{ctx, time, PROCESSOR};
use faultline_processing::{EventType, ItemKind, ProcessError, ProcessedEvent};
use serde_json::{json, Value};

fn process(v: Value) -> ProcessedEvent {
    let payload = serde_json::to_vec(&v).unwrap();
    PROCESSOR.process_event(&payload, ItemKind::Event, &ctx(time("2024-01-01T12:00:00Z"))).unwrap()
}

fn error_names(p: &ProcessedEvent) -> Vec<String> {
    p.event["errors"].as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap_or("").to_string()).collect()
}

#[test]
fn legacy_and_alternative_shapes() {
    let p = process(json!({
        "sentry.interfaces.Exception": [{"type": "ValueError", "value": "bad", "stacktrace": {"frames": [{"filename": "app.py", "function": "f"}]}}],
        "sentry.interfaces.Http": {"url": "http://x/y?a=1", "method": "post"},
        "sentry.interfaces.User": {"id": 7},
        "breadcrumbs": [{"message": "crumb", "timestamp": "2024-01-01T11:59:00"}],
        "tags": [["a", 1], ["b", true]],
        "timestamp": "2024-01-01T11:59:30",
        "level": "warn",
        "platform": "python",
    }));
    assert_eq!(p.ty, EventType::Error);
    assert_eq!(p.title, "ValueError: bad");
    assert_eq!(p.culprit, "app.py in f");
    assert_eq!(p.level, 3);
    assert_eq!(p.timestamp, time("2024-01-01T11:59:30Z"));
    assert_eq!(p.event["request"]["method"], "POST");
    assert_eq!(p.event["request"]["query_string"], json!([["a", "1"]]));
    assert_eq!(p.event["user"]["id"], "7");
    assert_eq!(p.event["breadcrumbs"]["values"][0]["message"], "crumb");
    assert_eq!(p.event["exception"]["values"][0]["stacktrace"]["frames"][0]["in_app"], true);
    assert!(p.tags.contains(&("a".into(), "1".into())) && p.tags.contains(&("b".into(), "True".into())));
    assert_eq!(p.user_key.as_deref(), Some("id:7"));
    assert!(error_names(&p).is_empty());

    let p = process(json!({"message": {"message": "Hi %s", "params": ["bob"]}, "level": "critical"}));
    assert_eq!(p.title, "Hi bob");
    assert_eq!(p.level, 5);
    assert_eq!(p.event["logentry"], json!({"message": "Hi %s", "params": ["bob"], "formatted": "Hi bob"}));
    let p = process(json!({"message": "plain", "level": "log", "exception": {"values": []}}));
    assert_eq!((p.ty, p.title.as_str(), p.level), (EventType::Default, "plain", 2));
    let p = process(json!({"level": "nonsense", "exception": [{"value": "KeyError: 'x'"}]}));
    assert_eq!(p.level, 4);
    assert_eq!(p.title, "KeyError: 'x'");
}

#[test]
fn bad_sub_objects_are_dropped_with_errors() {
    let p = process(json!({
        "message": "still processed",
        "user": 5,
        "request": "GET /",
        "breadcrumbs": {"values": "nope"},
        "contexts": {"os": "linux", "app": {"app_name": "x"}},
        "extra": [1, 2],
        "sdk": true,
        "timestamp": {"when": "now"},
        "fingerprint": "abc",
        "tags": 3,
    }));
    assert_eq!(p.title, "still processed");
    let names = error_names(&p);
    for name in
        ["user", "request", "breadcrumbs.values", "contexts.os", "extra", "sdk", "timestamp", "fingerprint", "tags"]
    {
        assert!(names.iter().any(|n| n == name), "{name} in {names:?}");
    }
    let user_error = p.event["errors"].as_array().unwrap().iter().find(|e| e["name"] == "user").unwrap();
    assert_eq!(user_error, &json!({"type": "invalid_data", "name": "user", "value": 5}));
    assert!(p.event.get("user").is_none() && p.event.get("request").is_none());
    assert_eq!(p.event["contexts"]["app"]["app_name"], "x");
    assert_eq!(p.timestamp, time("2024-01-01T12:00:00Z"), "an invalid timestamp means received");
}

#[test]
fn only_non_objects_are_errors() {
    for payload in [&b"[]"[..], b"\"event\"", b"42", b"null", b"{not json", b""] {
        let r = PROCESSOR.process_event(payload, ItemKind::Event, &ctx(time("2024-01-01T12:00:00Z")));
        assert!(matches!(r, Err(ProcessError(_))), "{}", String::from_utf8_lossy(payload));
        assert!(PROCESSOR.process_transaction(payload, &ctx(time("2024-01-01T12:00:00Z"))).is_err());
    }
}

#[test]
fn scrubbing_and_ip_settings() {
    let event = json!({
        "platform": "javascript",
        "user": {"ip_address": "{{auto}}"},
        "request": {"url": "https://shop.example/pay", "headers": {"Authorization": "Bearer abc", "Accept": "*/*"}},
        "extra": {"password": "hunter2", "card": "4111111111111111", "note": "ok"},
        "message": "paid",
    });
    let payload = serde_json::to_vec(&event).unwrap();
    let mut c = ctx(time("2024-01-01T12:00:00Z"));
    c.client_ip = Some("203.0.113.77".parse().unwrap());
    c.scrub_ip = true;
    let p = PROCESSOR.process_event(&payload, ItemKind::Event, &c).unwrap();
    assert_eq!(p.event["user"]["ip_address"], "203.0.113.0");
    assert_eq!(p.event["extra"], json!({"password": "[Filtered]", "card": "[Filtered]", "note": "ok"}));
    assert_eq!(p.event["request"]["headers"], json!([["Accept", "*/*"], ["Authorization", "[Filtered]"]]));
    assert_eq!(p.user_key.as_deref(), Some("ip:203.0.113.0"));
    c.scrub_data = false;
    c.scrub_ip = false;
    let p = PROCESSOR.process_event(&payload, ItemKind::Event, &c).unwrap();
    assert_eq!(p.event["user"]["ip_address"], "203.0.113.77");
    assert_eq!(p.event["extra"]["password"], "hunter2");
}

#[test]
fn sdk_backfill_and_fallback_id() {
    let mut c = ctx(time("2024-01-01T12:00:00Z"));
    c.sdk_client = Some("sentry.ruby/5.0.0");
    let id = uuid::Uuid::from_u128(0x1234);
    c.fallback_event_id = Some(id);
    let p = PROCESSOR.process_event(br#"{"message": "x", "event_id": 12}"#, ItemKind::Event, &c).unwrap();
    assert_eq!(p.event_id, id);
    assert_eq!(p.event["event_id"], id.simple().to_string());
    assert_eq!(p.event["sdk"], json!({"name": "sentry.ruby", "version": "5.0.0"}));
}

#[test]
fn transaction_basics() {
    let payload = serde_json::to_vec(&json!({
        "type": "transaction",
        "transaction": "GET /users",
        "start_timestamp": 1704110399.0,
        "timestamp": 1704110398.5,
        "contexts": {"trace": {"op": "http.server", "trace_id": "abc", "status": "internal_error"}},
        "request": {"method": "get"},
        "environment": "prod",
        "release": "1.2",
        "tags": {"route": "/users"},
    }))
    .unwrap();
    let t = PROCESSOR.process_transaction(&payload, &ctx(time("2024-01-01T12:00:00Z"))).unwrap();
    assert_eq!(
        (t.name.as_str(), t.op.as_str(), t.method.as_str(), t.status.as_str()),
        ("GET /users", "http.server", "GET", "internal_error")
    );
    assert_eq!(t.trace_id.as_deref(), Some("abc"));
    assert!(t.end >= t.start, "end is never before start");
    assert_eq!(t.environment.as_deref(), Some("prod"));
    assert_eq!(t.release.as_deref(), Some("1.2"));
    assert!(t.tags.contains(&("route".into(), "/users".into())));
    assert!(t.tags.contains(&("environment".into(), "prod".into())));
    let t = PROCESSOR.process_transaction(br#"{}"#, &ctx(time("2024-01-01T12:00:00Z"))).unwrap();
    assert_eq!(t.name, "<unlabeled transaction>");
    assert_eq!(t.status, "ok");
    assert_eq!(t.start, t.end);
}
