//! The normalization pipeline shared by errors, messages, CSP reports and transactions,
//! in Relay's order (sentry-protocol.md §2).

use serde_json::Value;
use uuid::Uuid;

use crate::time::{self, Micros};
use crate::user_agent::UaParser;
use crate::util::{self, coerce_string, expect_object, md5_hex, normalize_string_field, Errors, Object};
use crate::{exception, fields, ip, legacy, message, request, scrub, EventContext};

/// What kind of payload is being normalized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// An error or message event.
    Event,
    /// A CSP report skeleton.
    Security,
    /// A transaction.
    Transaction,
}

/// The result of normalization, before title, grouping and tags.
pub(crate) struct Normalized {
    /// The event document.
    pub(crate) event: Object,
    /// Its id.
    pub(crate) event_id: Uuid,
    /// The event's time (clock-drift corrected, within limits).
    pub(crate) timestamp: Micros,
    /// `start_timestamp` for transactions.
    pub(crate) start_timestamp: Option<Micros>,
    /// The event's own tags, normalized.
    pub(crate) tags: Vec<(String, String)>,
    /// Processing errors.
    pub(crate) errors: Errors,
}

/// Parses a payload into a JSON object.
pub(crate) fn parse(payload: &[u8]) -> Result<Object, crate::ProcessError> {
    // Validating the UTF-8 of the whole payload at once is much faster than serde_json
    // checking every string; invalid UTF-8 goes the slow way for the same error.
    let parsed = match std::str::from_utf8(payload) {
        Ok(s) => serde_json::from_str::<Value>(s),
        Err(_) => serde_json::from_slice::<Value>(payload),
    };
    match parsed {
        Ok(Value::Object(o)) => Ok(o),
        Ok(other) => Err(crate::ProcessError(format!("the payload is a JSON {}, not an object", json_type(&other)))),
        Err(e) => Err(crate::ProcessError(format!("the payload is not valid JSON: {e}"))),
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The payload's valid `event_id`, else the fallback, else a UUID from the payload's MD5.
fn event_id(event: &Object, ctx: &EventContext<'_>, payload: &[u8]) -> Uuid {
    if let Some(Value::String(s)) = event.get("event_id") {
        if let Ok(id) = Uuid::try_parse(s.trim()) {
            return id;
        }
    }
    if let Some(id) = ctx.fallback_event_id {
        return id;
    }
    let hex = md5_hex(&[payload]);
    let mut bytes = [0u8; 16];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap_or(0);
    }
    uuid::Builder::from_md5_bytes(bytes).into_uuid()
}

/// Runs every normalization step on a parsed payload.
pub(crate) fn normalize(
    mut event: Object,
    payload: &[u8],
    kind: Kind,
    ctx: &EventContext<'_>,
    ua: &UaParser,
) -> Normalized {
    let mut errors = Errors::default();
    // Errors the SDK or an earlier stage recorded are kept.
    if let Some(Value::Array(list)) = event.remove("errors") {
        errors.list.extend(list.into_iter().filter(Value::is_object));
    }
    legacy::convert(&mut event, &mut errors);

    let event_id = event_id(&event, ctx, payload);
    if event.get("event_id").is_some_and(|v| !v.is_string() || Uuid::try_parse(v.as_str().unwrap_or("")).is_err()) {
        if let Some(bad) = event.remove("event_id") {
            if !bad.is_null() {
                errors.invalid("event_id", bad);
            }
        }
    }
    util::set_str(&mut event, "event_id", &event_id.simple().to_string());

    for key in ["logger", "server_name", "transaction", "culprit", "site", "platform"] {
        normalize_string_field(&mut event, key, key, &mut errors);
    }

    // Timestamps and clock drift.
    let received = ctx.received.timestamp_micros();
    let sent_at = ctx.sent_at.map(|s| s.timestamp_micros());
    let drift = time::clock_drift(received, sent_at).unwrap_or(0);
    if drift != 0 {
        let mut extra = Object::new();
        extra.insert("sdk_time".into(), Value::String(time::to_api_string(sent_at.unwrap_or(received))));
        extra.insert("server_time".into(), Value::String(time::to_api_string(received)));
        errors.push("clock_drift", "timestamp", extra);
    }
    let raw_ts = time::normalize_field(&mut event, "timestamp", "timestamp", drift, &mut errors);
    let mut start_timestamp = if kind == Kind::Transaction {
        time::normalize_field(&mut event, "start_timestamp", "start_timestamp", drift, &mut errors)
    } else {
        event.remove("start_timestamp");
        None
    };
    let timestamp = match raw_ts {
        Some(ts) => {
            let checked = time::check_limits(ts, received, &mut errors);
            if checked != ts && kind == Kind::Transaction {
                // Keep the duration: move the start by the same amount.
                start_timestamp = start_timestamp.map(|s| (s + (checked - ts)).max(0));
            }
            checked
        }
        None => received,
    };
    util::set(&mut event, "timestamp", time::to_value(timestamp));
    if let Some(start) = start_timestamp {
        event.insert("start_timestamp".into(), time::to_value(start));
    }
    event.insert("received".into(), time::to_value(received));
    if kind == Kind::Transaction {
        spans(&mut event, drift + start_shift(timestamp, raw_ts), &mut errors);
    } else {
        event.remove("spans");
        event.remove("measurements");
        event.remove("breakdowns");
    }

    fields::release_environment_dist(&mut event, &mut errors);
    fields::user(&mut event, &mut errors);
    message::normalize(&mut event, &mut errors);
    fields::breadcrumbs_scrubbed(&mut event, drift, ctx.scrub_data, &mut errors);
    let tags = fields::tags(&mut event, &mut errors);
    let default_level = if kind == Kind::Transaction { "info" } else { "error" };
    fields::level_and_platform(&mut event, default_level, &mut errors);
    exception::normalize(&mut event, &mut errors);
    fields::threads_and_stacktrace(&mut event, &mut errors);
    if kind == Kind::Security {
        csp(&mut event, &mut errors);
    } else {
        event.remove("csp");
    }
    request::normalize(&mut event, &mut errors);
    fields::contexts(&mut event, &mut errors);
    crate::user_agent::apply(&mut event, ua);
    ip::normalize(&mut event, ctx.client_ip, ctx.scrub_ip, &mut errors);
    if let Some(Value::Object(u)) = event.get("user") {
        if u.is_empty() {
            event.remove("user");
        }
    }
    fields::sdk(&mut event, ctx.sdk_client, &mut errors);
    fields::modules(&mut event, &mut errors);
    fields::extra(&mut event, &mut errors);
    fields::fingerprint(&mut event, &mut errors);
    expect_object(&mut event, "debug_meta", "debug_meta", &mut errors);
    fields::logger_transaction(&mut event);
    if ctx.scrub_data {
        scrub::scrub_event_parts(&mut event, false);
        if kind == Kind::Transaction {
            if let Some(Value::Array(spans)) = event.get_mut("spans") {
                for s in spans {
                    if let Some(d) = s.get_mut("data") {
                        scrub::scrub_value(d);
                    }
                }
            }
        }
    }
    let event = remove_nul(event, payload, ctx);
    let tags = tags
        .into_iter()
        .map(|(mut k, mut v)| {
            k.retain(|c| c != '\0');
            v.retain(|c| c != '\0');
            (k, v)
        })
        .filter(|(k, v)| !k.is_empty() && !v.is_empty())
        .collect();
    Normalized { event, event_id, timestamp, start_timestamp, tags, errors }
}

/// Removes NUL characters from every string and key. The payload is valid JSON, so a NUL
/// in it can only be the escape `\u0000`: without one, only the parts that decode or
/// format text (percent-decoded and embedded-JSON request data, `%c` in messages) and the
/// header-supplied SDK name can hold a NUL, and only they are walked.
fn remove_nul(event: Object, payload: &[u8], ctx: &EventContext<'_>) -> Object {
    if memchr::memmem::find(payload, b"\\u0000").is_some() || ctx.sdk_client.is_some_and(|c| c.contains('\0')) {
        let mut doc = Value::Object(event);
        util::remove_nul(&mut doc);
        let Value::Object(event) = doc else { unreachable!("an object stays an object") };
        return event;
    }
    let mut event = event;
    for key in ["request", "logentry"] {
        if let Some(v) = event.get_mut(key) {
            util::remove_nul(v);
        }
    }
    event
}

/// The shift applied to the event timestamp by the limits (0 when none).
fn start_shift(final_ts: Micros, raw: Option<Micros>) -> i64 {
    match raw {
        Some(r) if r != final_ts => final_ts - r,
        _ => 0,
    }
}

/// Transaction spans: objects with normalized (shifted) timestamps.
fn spans(event: &mut Object, shift: i64, errors: &mut Errors) {
    match event.get_mut("spans") {
        None => {}
        Some(Value::Array(list)) => {
            let old = std::mem::take(list);
            let mut kept = Vec::with_capacity(old.len());
            for (i, span) in old.into_iter().enumerate() {
                match span {
                    Value::Object(mut s) => {
                        let path = format_args!("spans.{i}");
                        for key in ["timestamp", "start_timestamp"] {
                            time::normalize_field(&mut s, key, format_args!("{path}.{key}"), shift, errors);
                        }
                        for key in ["op", "description", "span_id", "parent_span_id", "trace_id", "status"] {
                            normalize_string_field(&mut s, key, format_args!("{path}.{key}"), errors);
                        }
                        if let Some(Value::String(d)) = s.get_mut("description") {
                            util::truncate_chars(d, 8192);
                        }
                        if let Some(t) = s.get_mut("tags") {
                            if let Value::Object(o) = t {
                                o.retain(|_, v| coerce_string(v).is_some());
                                for v in o.values_mut() {
                                    if !v.is_string() {
                                        *v = Value::String(coerce_string(v).unwrap_or_default());
                                    }
                                }
                            } else {
                                s.remove("tags");
                            }
                        }
                        kept.push(Value::Object(s));
                    }
                    Value::Null => {}
                    other => errors.invalid(format_args!("spans.{i}"), other),
                }
            }
            if let Some(Value::Array(list)) = event.get_mut("spans") {
                *list = kept;
            }
        }
        Some(_) => {
            if let Some(bad) = event.remove("spans") {
                if !bad.is_null() {
                    errors.invalid("spans", bad);
                }
            }
        }
    }
}

const CSP_STRINGS: [&str; 10] = [
    "blocked_uri",
    "document_uri",
    "effective_directive",
    "violated_directive",
    "original_policy",
    "referrer",
    "disposition",
    "source_file",
    "script_sample",
    "sample",
];

/// The `csp` interface of a security report (snake_case keys; the raw `csp-report`
/// form is accepted too).
fn csp(event: &mut Object, errors: &mut Errors) {
    let raw = event.remove("csp").filter(|v| !v.is_null()).or_else(|| event.remove("csp-report"));
    let mut csp = match raw {
        Some(Value::Object(o)) => o,
        None | Some(Value::Null) => Object::new(),
        Some(other) => {
            errors.invalid("csp", other);
            Object::new()
        }
    };
    if csp.keys().any(|k| k.contains('-')) {
        csp = std::mem::take(&mut csp).into_iter().map(|(k, v)| (k.replace('-', "_"), v)).collect();
    }
    for key in CSP_STRINGS {
        normalize_string_field(&mut csp, key, format_args!("csp.{key}"), errors);
    }
    for key in ["status_code", "line_number", "column_number"] {
        if let Some(v) = csp.get(key) {
            match util::coerce_i64(v) {
                Some(n) => {
                    csp.insert(key.into(), n.into());
                }
                None => {
                    csp.remove(key);
                }
            }
        }
    }
    if !csp.contains_key("effective_directive") {
        if let Some(d) = csp.get("violated_directive").and_then(Value::as_str) {
            let first = d.split_whitespace().next().unwrap_or("").to_string();
            if !first.is_empty() {
                csp.insert("effective_directive".into(), Value::String(first));
            }
        }
    }
    if !event.contains_key("logger") {
        event.insert("logger".into(), Value::String("csp".into()));
    }
    if let Some(doc) = csp.get("document_uri").and_then(Value::as_str) {
        let req = event.entry("request").or_insert_with(|| Value::Object(Object::new()));
        if let Value::Object(r) = req {
            if !r.contains_key("url") {
                r.insert("url".into(), Value::String(doc.to_string()));
            }
        }
    }
    event.insert("csp".into(), Value::Object(csp));
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use serde_json::json;

    fn ctx() -> EventContext<'static> {
        EventContext {
            received: Utc.with_ymd_and_hms(2024, 1, 1, 12, 0, 0).unwrap(),
            sent_at: None,
            client_ip: None,
            sdk_client: None,
            fallback_event_id: None,
            scrub_ip: false,
            scrub_data: false,
            grouping: crate::GroupingStrategy::Default,
        }
    }

    fn run(v: Value, kind: Kind, ctx: &EventContext<'_>) -> Normalized {
        let payload = serde_json::to_vec(&v).unwrap();
        let ua = UaParser::default();
        normalize(parse(&payload).unwrap(), &payload, kind, ctx, &ua)
    }

    #[test]
    fn event_ids() {
        let n = run(json!({"event_id": "6600A066-E64B-4CAF-8ED7-EC5AF64AC4BD"}), Kind::Event, &ctx());
        assert_eq!(n.event["event_id"], "6600a066e64b4caf8ed7ec5af64ac4bd");
        let mut c = ctx();
        let fallback = Uuid::from_u128(7);
        c.fallback_event_id = Some(fallback);
        let n = run(json!({"event_id": "nope"}), Kind::Event, &c);
        assert_eq!(n.event_id, fallback);
        assert_eq!(n.errors.list[0]["name"], "event_id");
        let a = run(json!({"message": "x"}), Kind::Event, &ctx()).event_id;
        let b = run(json!({"message": "x"}), Kind::Event, &ctx()).event_id;
        let c2 = run(json!({"message": "y"}), Kind::Event, &ctx()).event_id;
        assert_eq!(a, b);
        assert_ne!(a, c2);
    }

    #[test]
    fn timestamps_and_drift() {
        let c = ctx();
        let received = c.received.timestamp_micros();
        // Default: received.
        let n = run(json!({}), Kind::Event, &c);
        assert_eq!(n.timestamp, received);
        assert_eq!(n.event["received"], time::to_value(received));
        // Future and past.
        let n = run(json!({"timestamp": "2024-01-01T12:05:00Z"}), Kind::Event, &c);
        assert_eq!(n.timestamp, received);
        assert_eq!(n.errors.list[0]["type"], "future_timestamp");
        let n = run(json!({"timestamp": "2023-11-01T00:00:00Z"}), Kind::Event, &c);
        assert_eq!(n.errors.list[0]["type"], "past_timestamp");
        // Drift of 2 hours shifts the event and its breadcrumbs.
        let mut c2 = ctx();
        c2.sent_at = Some(Utc.with_ymd_and_hms(2024, 1, 1, 10, 0, 0).unwrap());
        let n = run(
            json!({"timestamp": "2024-01-01T09:59:00Z", "breadcrumbs": [{"timestamp": "2024-01-01T09:58:00Z"}]}),
            Kind::Event,
            &c2,
        );
        assert_eq!(time::to_api_string(n.timestamp), "2024-01-01T11:59:00.000Z");
        assert_eq!(
            time::parse(&n.event["breadcrumbs"]["values"][0]["timestamp"]).map(time::to_api_string).unwrap(),
            "2024-01-01T11:58:00.000Z"
        );
        assert_eq!(n.errors.list[0]["type"], "clock_drift");
        // Small drift is ignored.
        let mut c3 = ctx();
        c3.sent_at = Some(Utc.with_ymd_and_hms(2024, 1, 1, 11, 10, 0).unwrap());
        let n = run(json!({"timestamp": "2024-01-01T11:09:00Z"}), Kind::Event, &c3);
        assert_eq!(time::to_api_string(n.timestamp), "2024-01-01T11:09:00.000Z");
    }

    #[test]
    fn transaction_spans_shift() {
        let mut c = ctx();
        c.sent_at = Some(Utc.with_ymd_and_hms(2024, 1, 1, 11, 0, 0).unwrap());
        let n = run(
            json!({"type": "transaction", "start_timestamp": "2024-01-01T10:59:58Z", "timestamp": "2024-01-01T10:59:59Z",
                   "spans": [{"start_timestamp": "2024-01-01T10:59:58.5Z", "timestamp": "2024-01-01T10:59:59Z", "tags": {"n": 1}}, 3]}),
            Kind::Transaction,
            &c,
        );
        assert_eq!(time::to_api_string(n.start_timestamp.unwrap()), "2024-01-01T11:59:58.000Z");
        let span = &n.event["spans"][0];
        assert_eq!(time::parse(&span["start_timestamp"]).map(time::to_api_string).unwrap(), "2024-01-01T11:59:58.500Z");
        assert_eq!(span["tags"]["n"], "1");
        assert_eq!(n.event["spans"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn csp_skeleton() {
        let n = run(
            json!({"csp-report": {"blocked-uri": "http://example.com/css/style.css", "violated-directive": "style-src-elem", "document-uri": "http://example.com/signup.html", "status-code": 200}}),
            Kind::Security,
            &ctx(),
        );
        assert_eq!(n.event["csp"]["blocked_uri"], "http://example.com/css/style.css");
        assert_eq!(n.event["csp"]["effective_directive"], "style-src-elem");
        assert_eq!(n.event["logger"], "csp");
        assert_eq!(n.event["request"]["url"], "http://example.com/signup.html");
    }

    #[test]
    fn nul_chars_removed() {
        let n = run(
            json!({"message": "a\u{0}b", "tags": {"k\u{0}": "v"}, "extra": {"x\u{0}": "\u{0}"}}),
            Kind::Event,
            &ctx(),
        );
        assert_eq!(n.event["logentry"]["formatted"], "ab");
        assert_eq!(n.event["extra"], json!({"x": ""}));
        assert_eq!(n.tags, vec![("k".to_string(), "v".to_string())]);
    }

    #[test]
    fn not_an_object() {
        assert!(parse(b"[1]").is_err());
        assert!(parse(b"nope").is_err());
        assert!(parse(b"").is_err());
        assert!(parse(b"{}").is_ok());
    }
}
