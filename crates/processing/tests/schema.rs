//! Stored error and default events validate against Sentry's event JSON schema
//! (draft-07), pinned in `tests/schema/event.schema.json` (see the README there).
//!
//! Every incoming event fixture is processed the way the digest worker does it
//! (`Processor::process_event`, then `ProcessedEvent::event` is what gets stored) and the
//! stored document is checked against the schema, less the few fields of our own that
//! the Sentry event protocol does not define (see [`strip_own_fields`]).

mod common;

use std::sync::LazyLock;

use common::{ctx, fixture_bytes, fixture_json, time, PROCESSOR};
use faultline_processing::{EventContext, ItemKind};
use jsonschema::Validator;
use serde_json::{json, Value};

/// Sentry's event schema, compiled once.
static SCHEMA: LazyLock<Validator> = LazyLock::new(|| {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schema/event.schema.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let schema: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
    jsonschema::draft7::new(&schema).unwrap_or_else(|e| panic!("the pinned schema does not compile: {e}"))
});

/// The schema's violations of `doc`, one line each (`instance path: message`).
fn violations(doc: &Value) -> Vec<String> {
    SCHEMA.iter_errors(doc).map(|e| format!("{}: {e}", e.instance_path())).collect()
}

/// Removes, before validation, the fields a stored event carries beside the event
/// protocol. These, and only these, are not in the schema's `Event`:
fn strip_own_fields(event: &mut Value) {
    let doc = event.as_object_mut().unwrap();
    // `title`, `metadata`, `hashes`: computed at processing time (title, issue metadata,
    // grouping hashes) and kept with the event, as documented on `ProcessedEvent::event`
    // (Sentry's stored events carry the same computed fields; the protocol does not).
    for key in ["title", "metadata", "hashes"] {
        doc.remove(key);
    }
    // `_meta`: the annotation tree of removed or trimmed values that SDKs (sentry-python)
    // send and that Sentry stores beside the event data; it describes the event, it is not
    // an event field.
    doc.remove("_meta");
    // `errors[].sdk_time` / `server_time`: the times a clock_drift, past_timestamp or
    // future_timestamp processing error records, as Sentry records them; the schema's
    // `EventProcessingError` models only `type`, `name` and `value`.
    if let Some(Value::Array(errors)) = doc.get_mut("errors") {
        for e in errors.iter_mut().filter_map(Value::as_object_mut) {
            if matches!(
                e.get("type").and_then(Value::as_str),
                Some("clock_drift" | "past_timestamp" | "future_timestamp")
            ) {
                e.remove("sdk_time");
                e.remove("server_time");
            }
        }
    }
}

/// The incoming event fixtures of `tests/fixtures/glitchtip`, each with the context it is
/// processed in (as `tests/fixtures.rs` processes them).
fn fixtures() -> Vec<(String, Vec<u8>, EventContext<'static>)> {
    let mut out = Vec::new();
    for name in [
        "django_message_params",
        "django_template_error",
        "dotnet_divide_zero",
        "js_error_with_context",
        "php_message_event",
        "python_logging",
        "python_zero_division",
        "sentry_cli_send_event_no_level",
        "small_js_error",
        "very_small_event",
    ] {
        let sentry = fixture_json(&format!("events/test_data/oss_sentry_events/{name}.json"));
        // As tests/fixtures.rs: the JavaScript capture is from another run than the
        // incoming event, which is received just after it was sent.
        let received = if name == "js_error_with_context" {
            "2020-09-07T18:48:41.000Z"
        } else {
            sentry["dateReceived"].as_str().unwrap()
        };
        let mut c = ctx(time(received));
        if let Some(ip) = sentry["user"]["ip_address"].as_str() {
            c.client_ip = Some(ip.parse().unwrap());
        }
        out.push((
            format!("incoming_events/{name}"),
            fixture_bytes(&format!("events/test_data/incoming_events/{name}.json")),
            c,
        ));
    }
    out.push((
        "py_hi_event".into(),
        fixture_bytes("events/test_data/py_hi_event.json"),
        ctx(time("2019-12-01T01:44:15Z")),
    ));
    out.push(("py_error".into(), fixture_bytes("events/test_data/py_error.json"), ctx(time("2020-06-01T00:00:00Z"))));
    for name in ["django_message", "js_angular_message"] {
        let envelope = fixture_json(&format!("apps/event_ingest/tests/test_data/envelopes/{name}.json"));
        let sent_at = time(envelope[0]["sent_at"].as_str().unwrap());
        let mut c = ctx(sent_at + chrono::Duration::milliseconds(250));
        c.sent_at = Some(sent_at);
        c.client_ip = Some("198.51.100.23".parse().unwrap());
        c.scrub_ip = true;
        out.push((format!("envelopes/{name}"), serde_json::to_vec(&envelope[2]).unwrap(), c));
    }
    out
}

/// The stored form of a fixture, as validated.
fn stored(name: &str) -> Value {
    let (_, payload, c) = fixtures().into_iter().find(|(n, _, _)| n == name).unwrap();
    let mut event = PROCESSOR.process_event(&payload, ItemKind::Event, &c).unwrap().event;
    strip_own_fields(&mut event);
    event
}

#[test]
fn stored_events_validate_against_sentry_schema() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for (name, payload, c) in fixtures() {
        let p = PROCESSOR.process_event(&payload, ItemKind::Event, &c).unwrap();
        let mut stored = p.event.clone();
        let ty = stored["type"].as_str().unwrap_or_default().to_owned();
        assert!(ty == "error" || ty == "default", "{name}: type {ty}");
        strip_own_fields(&mut stored);
        for v in violations(&stored) {
            failures.push(format!("{name}: {v}"));
        }
        checked += 1;
    }
    assert!(failures.is_empty(), "schema violations:\n{}", failures.join("\n"));
    assert_eq!(checked, 14);
}

/// The validation can fail: stored events broken after normalization are rejected.
#[test]
fn schema_rejects_broken_events() {
    let good = stored("incoming_events/python_zero_division");
    assert!(violations(&good).is_empty());
    let broken = |edit: &dyn Fn(&mut Value)| {
        let mut doc = good.clone();
        edit(&mut doc);
        violations(&doc)
    };
    // A level number instead of a level name.
    assert!(!broken(&|d| d["level"] = json!(5)).is_empty());
    // Exception values as a string instead of a list.
    assert!(!broken(&|d| d["exception"]["values"] = json!("ZeroDivisionError")).is_empty());
    // A frame field of the wrong type, and a field in the wrong place.
    assert!(!broken(&|d| d["exception"]["values"][0]["stacktrace"]["frames"][0]["lineno"] = json!("12")).is_empty());
    assert!(!broken(&|d| d["frames"] = d["exception"]["values"][0]["stacktrace"]["frames"].clone()).is_empty());
    // Our own computed fields are not part of the protocol: unstripped, they fail.
    assert!(!broken(&|d| d["title"] = json!("ZeroDivisionError: division by zero")).is_empty());
}
