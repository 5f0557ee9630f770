//! Envelope parsing and body decoding throughput.
//! Run: `cargo bench -p faultline-protocol --bench ingest`.

use std::hint::black_box;
use std::io::Write;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use faultline_protocol::{decode_body, probe_event, ContentEncoding, Envelope};

/// A realistic ~12 KB Python error event.
fn event_json() -> Vec<u8> {
    let frames: Vec<serde_json::Value> = (0..15)
        .map(|i| {
            serde_json::json!({
                "filename": format!("app/module_{i}.py"), "abs_path": format!("/srv/app/module_{i}.py"),
                "function": format!("handler_{i}"), "module": format!("app.module_{i}"), "lineno": 10 + i,
                "context_line": "    result = compute(value, options)",
                "pre_context": ["def handler(value):", "    options = load()", "    # compute"],
                "post_context": ["    return result", "", ""],
                "in_app": true, "vars": {"value": "'abc'", "options": "{'a': 1, 'b': 2}", "i": i.to_string()}
            })
        })
        .collect();
    let crumbs: Vec<serde_json::Value> = (0..30)
        .map(|i| serde_json::json!({"timestamp": 1_700_000_000 + i, "category": "query", "message": format!("SELECT * FROM t WHERE id = {i}"), "level": "info"}))
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "event_id": "9ec79c33ec9942ab8353589fcb2e04dc", "timestamp": 1_700_000_000.5, "platform": "python", "level": "error",
        "exception": {"values": [{"type": "ValueError", "value": "invalid literal for int() with base 10: 'x'",
            "stacktrace": {"frames": frames}}]},
        "breadcrumbs": {"values": crumbs},
        "tags": {"server": "web-1", "region": "eu"}, "user": {"id": "42", "email": "a@example.com"},
        "request": {"url": "https://example.com/api/items", "method": "POST", "headers": {"User-Agent": "Mozilla/5.0"}},
        "contexts": {"runtime": {"name": "CPython", "version": "3.11.6"}, "os": {"name": "Linux"}},
        "sdk": {"name": "sentry.python", "version": "2.0.0"}
    }))
    .unwrap()
}

fn envelope(event: &[u8]) -> Vec<u8> {
    let mut out =
        b"{\"event_id\":\"9ec79c33ec9942ab8353589fcb2e04dc\",\"sent_at\":\"2024-01-01T00:00:00Z\"}\n".to_vec();
    out.extend_from_slice(format!("{{\"type\":\"event\",\"length\":{}}}\n", event.len()).as_bytes());
    out.extend_from_slice(event);
    out.push(b'\n');
    out
}

fn benches(c: &mut Criterion) {
    let event = event_json();
    let env = envelope(&event);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&env).unwrap();
    let gz = gz.finish().unwrap();

    let mut group = c.benchmark_group("ingest");
    group.throughput(Throughput::Bytes(env.len() as u64));
    group.bench_function("envelope_parse", |b| b.iter(|| Envelope::parse(black_box(&env)).unwrap().items.len()));
    group.bench_function("event_probe", |b| b.iter(|| probe_event(black_box(&event)).unwrap()));
    group.bench_function("gzip_decode", |b| {
        b.iter(|| decode_body(black_box(&gz), ContentEncoding::Gzip, 1 << 20).unwrap().len())
    });
    group.finish();
}

criterion_group!(ingest, benches);
criterion_main!(ingest);
