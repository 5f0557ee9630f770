//! Timing of a realistic ~14 KB event. Run with
//! `cargo test -p faultline-processing --release -- --ignored --nocapture`.

mod common;

// The allocator the server binary uses.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::time::Instant;

use common::{ctx, fixture_json, time, PROCESSOR};
use faultline_processing::{represent_event, EventLinks, ItemKind};
use serde_json::{json, Value};

/// django_template_error (a Django exception with six frames, local variables, request
/// headers and modules), compacted and topped up with breadcrumbs to about 14 KB.
fn event_14kb() -> Vec<u8> {
    let mut event = fixture_json("events/test_data/incoming_events/django_template_error.json");
    let mut crumbs = Vec::new();
    let mut i = 0;
    loop {
        let payload = serde_json::to_vec(&event).unwrap();
        if payload.len() >= 14 * 1024 {
            return payload;
        }
        crumbs.push(json!({
            "type": "default", "category": "query", "timestamp": "2020-05-13T00:37:49.100000Z",
            "message": format!("SELECT \"auth_user\".\"id\" FROM \"auth_user\" WHERE \"auth_user\".\"id\" = {i} LIMIT 21"),
            "data": {},
        }));
        event["breadcrumbs"] = Value::Array(crumbs.clone());
        i += 1;
    }
}

#[test]
#[ignore = "timing; run in release mode with --ignored --nocapture"]
fn time_per_event() {
    let payload = event_14kb();
    let mut c = ctx(time("2020-05-13T00:41:37.905Z"));
    c.client_ip = Some("203.0.113.9".parse().unwrap());
    c.scrub_ip = true;
    // Warm up: builds the user-agent parser and fills its cache.
    let first = PROCESSOR.process_event(&payload, ItemKind::Event, &c).unwrap();
    const RUNS: u32 = 10_000;

    let start = Instant::now();
    for _ in 0..RUNS {
        let v: Value = serde_json::from_slice(&payload).unwrap();
        std::hint::black_box(v);
    }
    let parse = start.elapsed() / RUNS;

    let start = Instant::now();
    for _ in 0..RUNS {
        let p = PROCESSOR.process_event(&payload, ItemKind::Event, &c).unwrap();
        std::hint::black_box(p);
    }
    let process = start.elapsed() / RUNS;

    c.scrub_data = false;
    let start = Instant::now();
    for _ in 0..RUNS {
        let p = PROCESSOR.process_event(&payload, ItemKind::Event, &c).unwrap();
        std::hint::black_box(p);
    }
    let process_no_scrub = start.elapsed() / RUNS;

    let links = EventLinks { project_id: 1, issue_id: 1, ..EventLinks::default() };
    let start = Instant::now();
    for _ in 0..RUNS {
        std::hint::black_box(represent_event(&first.event, &links));
    }
    let represent = start.elapsed() / RUNS;

    println!(
        "event of {} bytes, {RUNS} runs: serde_json parse alone {parse:?}; process_event {process:?} \
         (scrub_data on), {process_no_scrub:?} (scrub_data off); represent_event {represent:?}",
        payload.len()
    );
}
