//! What the server spends on one event, stage by stage, for the load generator's
//! events (a 14 KB Python exception, gzip as SDKs send it): the ingest side
//! (inflate, envelope parse, event probe) and the digest side (processing,
//! serialization, compression). Run: `cargo bench -p faultline-worker --bench pipeline`.

use std::hint::black_box;

use chrono::Utc;
use criterion::{criterion_group, criterion_main, Criterion};
use faultline_processing::{EventContext, GroupingStrategy, ItemKind, Processor};
use faultline_protocol::{decode_body, probe_event, ContentEncoding, Envelope};
use faultline_store::{compress_json, compress_payload, train_dictionary, EventDictionary};
use rand::SeedableRng;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn benches(c: &mut Criterion) {
    let now = Utc::now();
    let secs = now.timestamp_micros() as f64 / 1e6;
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let event = faultline_loadgen::event(&mut rng, 3, 14 * 1024, secs);
    let envelope = faultline_loadgen::envelope(&event, secs);
    let gzipped = faultline_loadgen::gzip(&envelope);
    let parsed = Envelope::parse(&envelope).unwrap();
    let payload = parsed.items[0].payload.to_vec();
    let processor = Processor::new();
    let ctx = EventContext {
        received: now,
        sent_at: Some(now),
        client_ip: Some("203.0.113.9".parse().unwrap()),
        sdk_client: Some("sentry.python/2.0.0"),
        fallback_event_id: Some(uuid::Uuid::new_v4()),
        scrub_ip: false,
        scrub_data: true,
        grouping: GroupingStrategy::Default,
    };
    let processed = processor.process_event(&payload, ItemKind::Event, &ctx).unwrap();
    let stored = serde_json::to_vec(&processed.event).unwrap();
    eprintln!(
        "event {} B, envelope {} B, gzip {} B, stored JSON {} B, zstd {} B",
        payload.len(),
        envelope.len(),
        gzipped.len(),
        stored.len(),
        compress_payload(&stored).len()
    );

    let mut g = c.benchmark_group("ingest");
    g.bench_function("inflate", |b| {
        b.iter(|| decode_body(black_box(&gzipped), ContentEncoding::Gzip, 1 << 24).unwrap())
    });
    g.bench_function("envelope_parse", |b| b.iter(|| Envelope::parse(black_box(&envelope)).unwrap().items.len()));
    g.bench_function("probe_event", |b| b.iter(|| probe_event(black_box(&payload)).unwrap()));
    // As processing parses: the UTF-8 checked once, then serde_json over the text.
    g.bench_function("parse", |b| b.iter(|| parse(black_box(&payload))));
    g.finish();

    let mut g = c.benchmark_group("digest");
    g.bench_function("process_event", |b| {
        b.iter(|| processor.process_event(black_box(&payload), ItemKind::Event, &ctx).unwrap())
    });
    // As `compress_json` serializes (sonic-rs), and serde_json for comparison.
    g.bench_function("serialize", |b| b.iter(|| sonic_rs::to_vec(black_box(&processed.event)).unwrap()));
    g.bench_function("serialize_serde_json", |b| b.iter(|| serde_json::to_vec(black_box(&processed.event)).unwrap()));
    g.bench_function("compress", |b| b.iter(|| compress_payload(black_box(&stored))));
    for level in [-1, 1, 2] {
        eprintln!("zstd level {level}: {} B", zstd::bulk::compress(&stored, level).unwrap().len());
        let mut c = zstd::bulk::Compressor::new(level).unwrap();
        g.bench_function(format!("compress_level_{level}"), |b| b.iter(|| c.compress(black_box(&stored)).unwrap()));
    }
    g.bench_function("whole", |b| {
        b.iter(|| {
            let body = decode_body(black_box(&gzipped), ContentEncoding::Gzip, 1 << 24).unwrap();
            let envelope = Envelope::parse(&body).unwrap();
            let p = processor.process_event(envelope.items[0].payload, ItemKind::Event, &ctx).unwrap();
            compress_json(&p.event, None)
        })
    });
    g.finish();

    // The same stages over many distinct events, one after another, as a server sees
    // them: one event processed over and over lets the branch predictor and the caches
    // learn it (on 2026-12-04 that flattered the stages by 1–10 %: docs/benchmarks.md).
    let varied: Vec<(Vec<u8>, Vec<u8>)> = (0..512)
        .map(|i| {
            let event = faultline_loadgen::event(&mut rng, i % 50, 14 * 1024, secs);
            let envelope = faultline_loadgen::envelope(&event, secs);
            let payload = Envelope::parse(&envelope).unwrap().items[0].payload.to_vec();
            (faultline_loadgen::gzip(&envelope), payload)
        })
        .collect();
    let mut g = c.benchmark_group("varied");
    let mut next = varied.iter().cycle();
    g.bench_function("inflate", |b| {
        b.iter(|| decode_body(black_box(&next.next().unwrap().0), ContentEncoding::Gzip, 1 << 24).unwrap())
    });
    g.bench_function("probe_event", |b| b.iter(|| probe_event(black_box(&next.next().unwrap().1)).unwrap()));
    g.bench_function("parse", |b| b.iter(|| parse(black_box(&next.next().unwrap().1))));
    g.bench_function("process_event", |b| {
        b.iter(|| processor.process_event(black_box(&next.next().unwrap().1), ItemKind::Event, &ctx).unwrap())
    });

    // A project dictionary, trained as the digest trains one (on the project's first
    // 128 events), compressing the project's later events.
    let stored: Vec<serde_json::Value> =
        varied.iter().map(|(_, p)| processor.process_event(p, ItemKind::Event, &ctx).unwrap().event).collect();
    let samples: Vec<Vec<u8>> = stored[..128].iter().map(|e| serde_json::to_vec(e).unwrap()).collect();
    let started = std::time::Instant::now();
    let trained = train_dictionary(&samples).unwrap();
    let dictionary = EventDictionary::new(1, &trained);
    let later = &stored[128..];
    let size =
        |d: Option<&EventDictionary>| later.iter().map(|e| compress_json(e, d).len()).sum::<usize>() / later.len();
    let json = later.iter().map(|e| serde_json::to_vec(e).unwrap().len()).sum::<usize>() / later.len();
    eprintln!(
        "dictionary of {} B trained in {:?}; later events: JSON {json} B, zstd {} B, with the dictionary {} B",
        trained.len(),
        started.elapsed(),
        size(None),
        size(Some(&dictionary))
    );
    let mut next = later.iter().cycle();
    g.bench_function("compress_json", |b| b.iter(|| compress_json(black_box(next.next().unwrap()), None)));
    g.bench_function("compress_json_dictionary", |b| {
        b.iter(|| compress_json(black_box(next.next().unwrap()), Some(&dictionary)))
    });
    g.finish();
}

fn parse(payload: &[u8]) -> serde_json::Value {
    serde_json::from_str(std::str::from_utf8(payload).unwrap()).unwrap()
}

criterion_group!(pipeline, benches);
criterion_main!(pipeline);
