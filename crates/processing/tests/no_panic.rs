//! No input makes processing panic: thousands of deterministic pseudo-random JSON
//! documents, many of them event-shaped with wrong types everywhere, go through
//! `process_event`, `process_transaction` and `represent_event`.

mod common;

use common::{ctx, fixture_json, time, PROCESSOR};
use faultline_processing::{represent_event, EventLinks, GroupingStrategy, ItemKind};
use serde_json::{json, Map, Value};

/// xorshift64*: small, deterministic, good enough to shake out shapes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const KEYS: &[&str] = &[
    "event_id",
    "timestamp",
    "start_timestamp",
    "level",
    "platform",
    "logger",
    "message",
    "logentry",
    "exception",
    "stacktrace",
    "threads",
    "breadcrumbs",
    "request",
    "user",
    "contexts",
    "tags",
    "extra",
    "modules",
    "sdk",
    "fingerprint",
    "release",
    "environment",
    "dist",
    "server_name",
    "transaction",
    "culprit",
    "errors",
    "spans",
    "csp",
    "csp-report",
    "values",
    "frames",
    "type",
    "value",
    "mechanism",
    "handled",
    "synthetic",
    "in_app",
    "function",
    "module",
    "filename",
    "abs_path",
    "lineno",
    "colno",
    "context_line",
    "pre_context",
    "post_context",
    "vars",
    "headers",
    "url",
    "method",
    "query_string",
    "cookies",
    "data",
    "env",
    "REMOTE_ADDR",
    "ip_address",
    "id",
    "email",
    "username",
    "formatted",
    "params",
    "trace",
    "op",
    "trace_id",
    "status",
    "browser",
    "os",
    "name",
    "version",
    "raw_description",
    "packages",
    "integrations",
    "category",
    "blocked_uri",
    "effective_directive",
    "password",
    "sentry.interfaces.Exception",
    "sentry.interfaces.Message",
    "sentry.interfaces.Http",
    "sentry.interfaces.User",
    "sentry.interfaces.Stacktrace",
    "Cookie",
    "User-Agent",
    "Authorization",
    "_meta",
    "meta",
    "ns_error",
    "",
    "\u{0}",
];

const STRINGS: &[&str] = &[
    "",
    "error",
    "warn",
    "critical",
    "log",
    "python",
    "javascript",
    "cocoa",
    "native",
    "{{auto}}",
    "{{ default }}",
    "{{default}}",
    "127.0.0.1",
    "::1",
    "nope",
    "2020-05-13T00:37:49.130239Z",
    "2020-05-13T00:37:49",
    "1599504520.529",
    "ValueError: bad",
    "Foo: bar",
    "%s %d %(x)s {} {0} {name}",
    "%",
    "{",
    "}",
    "http://u:p@h.io/a?b=1#c",
    "Bearer abc.def",
    "4111 1111 1111 1111",
    "-----BEGIN PRIVATE KEY-----x",
    "a\u{0}b",
    "é\u{2028}ü",
    "?",
    "<anonymous>",
    "[native code]",
    "node_modules/x.js",
    "site-packages/y.py",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)",
    "Mozilla/5.0 (Linux; Android 9; SM-G960F Build/PPR1) Chrome/74.0",
    "a=1; b=2",
    "GET",
];

fn random_string(rng: &mut Rng) -> String {
    if rng.chance(80) {
        return rng.pick(STRINGS).to_string();
    }
    let len = rng.below(300);
    (0..len)
        .map(|_| match rng.below(6) {
            0 => char::from(b'0' + rng.below(10) as u8),
            1 => *rng.pick(&[' ', ':', '%', '{', '}', '/', '\n', '\u{0}', '@', '.', '-', '=']),
            2 => *rng.pick(&['é', '漢', '🦀', '\u{2028}']),
            _ => char::from(b'a' + rng.below(26) as u8),
        })
        .collect()
}

fn random_value(rng: &mut Rng, depth: usize) -> Value {
    let max = if depth > 5 { 6 } else { 9 };
    match rng.below(max) {
        0 => Value::Null,
        1 => Value::Bool(rng.chance(50)),
        2 => json!(rng.next() as i64 % 100_000),
        3 => json!((rng.next() % 3_000_000_000) as f64 / 1.7),
        4 | 5 => Value::String(random_string(rng)),
        6 => Value::Array((0..rng.below(6)).map(|_| random_value(rng, depth + 1)).collect()),
        7 => {
            // A list of pairs (headers, tags, query strings).
            Value::Array((0..rng.below(4)).map(|_| json!([random_string(rng), random_value(rng, depth + 1)])).collect())
        }
        _ => random_object(rng, depth + 1),
    }
}

fn random_object(rng: &mut Rng, depth: usize) -> Value {
    let mut m = Map::new();
    for _ in 0..rng.below(if depth == 0 { 20 } else { 6 }) {
        let key = if rng.chance(85) { rng.pick(KEYS).to_string() } else { random_string(rng) };
        m.insert(key, random_value(rng, depth + 1));
    }
    Value::Object(m)
}

/// Replaces random nodes of a real event with random values.
fn mutate(rng: &mut Rng, v: &mut Value, depth: usize) {
    if rng.chance(8) {
        *v = random_value(rng, depth + 3);
        return;
    }
    match v {
        Value::Object(o) => {
            for child in o.values_mut() {
                mutate(rng, child, depth + 1);
            }
            if rng.chance(10) {
                o.insert(rng.pick(KEYS).to_string(), random_value(rng, depth + 2));
            }
        }
        Value::Array(a) => {
            for child in a.iter_mut() {
                mutate(rng, child, depth + 1);
            }
        }
        _ => {}
    }
}

fn run_all(payload: &[u8], rng: &mut Rng) {
    let mut c = ctx(time("2024-01-01T12:00:00Z"));
    c.scrub_data = rng.chance(50);
    c.scrub_ip = rng.chance(50);
    c.client_ip = if rng.chance(50) { Some("203.0.113.9".parse().unwrap()) } else { None };
    c.sent_at = if rng.chance(30) { Some(time("2024-01-01T09:00:00Z")) } else { None };
    c.sdk_client = if rng.chance(30) { Some("sentry.test/1.0") } else { None };
    c.grouping = if rng.chance(50) { GroupingStrategy::Default } else { GroupingStrategy::GlitchTip };
    let kind = if rng.chance(20) { ItemKind::Security } else { ItemKind::Event };
    let links = EventLinks { project_id: 1, issue_id: 2, ..EventLinks::default() };
    if let Ok(p) = PROCESSOR.process_event(payload, kind, &c) {
        assert!(p.hashes.iter().all(|h| h.len() == 32));
        assert!(p.title.chars().count() <= 100);
        assert!(p.culprit.chars().count() <= 200);
        let r = represent_event(&p.event, &links);
        assert!(r["entries"].is_array());
        // Stored events re-process and re-represent without trouble too.
        let again = serde_json::to_vec(&p.event).unwrap();
        let _ = PROCESSOR.process_event(&again, kind, &c);
    }
    if let Ok(t) = PROCESSOR.process_transaction(payload, &c) {
        assert!(t.end >= t.start);
        let _ = represent_event(&t.event, &links);
    }
    if let Ok(v) = serde_json::from_slice::<Value>(payload) {
        let _ = represent_event(&v, &links);
    }
}

#[test]
fn random_documents_never_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..3000 {
        let doc = if rng.chance(90) { random_object(&mut rng, 0) } else { random_value(&mut rng, 0) };
        let payload = serde_json::to_vec(&doc).unwrap();
        run_all(&payload, &mut rng);
    }
    for raw in [&b""[..], b"nope", b"[]", b"null", b"{", b"{\"a\":NaN}", b"\xff\xfe", b"{}"] {
        run_all(raw, &mut rng);
    }
}

#[test]
fn mutated_fixtures_never_panic() {
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    let bases: Vec<Value> = [
        "django_template_error",
        "dotnet_divide_zero",
        "js_error_with_context",
        "php_message_event",
        "python_logging",
        "python_zero_division",
        "sentry_cli_send_event_no_level",
        "small_js_error",
    ]
    .iter()
    .map(|n| fixture_json(&format!("events/test_data/incoming_events/{n}.json")))
    .chain([fixture_json("events/test_data/transactions/django_simple.json")[2].clone()])
    .collect();
    for i in 0..2000 {
        let mut doc = bases[i % bases.len()].clone();
        mutate(&mut rng, &mut doc, 0);
        let payload = serde_json::to_vec(&doc).unwrap();
        run_all(&payload, &mut rng);
    }
}

#[test]
fn deep_and_wide_documents() {
    // Deep nesting (serde_json's recursion limit makes very deep input an error, not a crash).
    let mut v = json!("leaf");
    for i in 0..120 {
        v = if i % 2 == 0 { json!({ "extra": v }) } else { json!([v]) };
    }
    let doc = json!({"extra": v.clone(), "contexts": {"c": v.clone()}, "request": {"data": v}});
    let mut rng = Rng(7);
    run_all(&serde_json::to_vec(&doc).unwrap(), &mut rng);
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    run_all(deep.as_bytes(), &mut rng);
    // Many frames, breadcrumbs and tags.
    let frames: Vec<Value> = (0..2000).map(|i| json!({"function": format!("f{i}"), "lineno": i})).collect();
    let crumbs: Vec<Value> = (0..1000).map(|i| json!({"message": format!("m{i}")})).collect();
    let tags: Map<String, Value> = (0..1000).map(|i| (format!("k{i}"), json!(i))).collect();
    let doc =
        json!({"exception": [{"type": "E", "stacktrace": {"frames": frames}}], "breadcrumbs": crumbs, "tags": tags});
    let p = PROCESSOR
        .process_event(&serde_json::to_vec(&doc).unwrap(), ItemKind::Event, &ctx(time("2024-01-01T12:00:00Z")))
        .unwrap();
    assert_eq!(p.event["exception"]["values"][0]["stacktrace"]["frames"].as_array().unwrap().len(), 250);
    assert_eq!(p.event["breadcrumbs"]["values"].as_array().unwrap().len(), 100);
}
