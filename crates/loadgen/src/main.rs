//! `faultline-loadgen`: sends realistic SDK-like error events to a Sentry-compatible
//! server and reports what it measured.
//!
//! ```sh
//! cargo run --release -p faultline-loadgen -- --dsn http://KEY@127.0.0.1:8000/1 -n 50000 -c 32 -k 50 --gzip
//! ```
//!
//! Events are Python-style exceptions of 5–15 KB (a ~15-frame stack trace with
//! context lines and local variables, breadcrumbs, contexts, tags, user, request),
//! spread over `k` distinct issues. Bodies are built before the clock starts, so the
//! generator spends its CPU on HTTP, not on JSON. They carry no `event_id` (the server
//! assigns one), so re-sending a body is a new event, not a duplicate.
//!
//! Closed loop (`-c`): that many requests in flight at all times. Open loop (`-r`):
//! requests start at a fixed rate whatever the server does, which is how latency
//! under a given load is measured. After sending, it polls the server's
//! `/api/0/internal/health` until the ingest queue is empty, to report end-to-end
//! digested events per second.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use faultline_protocol::Dsn;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

#[derive(Parser, Clone)]
#[command(name = "faultline-loadgen", about = "Send realistic error events and measure the server")]
struct Args {
    /// The project's DSN.
    #[arg(long)]
    dsn: String,
    /// Events to send.
    #[arg(short = 'n', long, default_value_t = 10_000)]
    events: usize,
    /// Closed loop: requests in flight at once.
    #[arg(short = 'c', long, default_value_t = 16)]
    concurrency: usize,
    /// Open loop: requests started per second (overrides -c; at most -c × 64 in flight).
    #[arg(short = 'r', long)]
    rate: Option<f64>,
    /// Distinct issues the events are spread over.
    #[arg(short = 'k', long, default_value_t = 50)]
    issues: usize,
    /// Approximate event size in KB (5–15 realistic).
    #[arg(long, default_value_t = 14)]
    size_kb: usize,
    /// gzip the bodies, as SDKs do.
    #[arg(long)]
    gzip: bool,
    /// Do not wait for the server to digest what was sent.
    #[arg(long)]
    no_wait: bool,
    /// Sample this process's resident memory during the run (the server's PID).
    #[arg(long)]
    server_pid: Option<u32>,
    /// Print the summary as JSON too.
    #[arg(long)]
    json: bool,
}

struct Shared {
    latencies_us: Mutex<Vec<u32>>,
    statuses: Mutex<BTreeMap<String, usize>>,
    sent: AtomicUsize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dsn: Dsn = args.dsn.parse().context("--dsn")?;
    let base = format!("{}://{}{}", dsn.scheme, dsn.host, dsn.path);
    let url = format!("{base}/api/{}/envelope/", dsn.project_id);
    let auth = format!("Sentry sentry_version=7, sentry_client=faultline-loadgen/0.1, sentry_key={}", dsn.public_key);
    let client = reqwest::Client::builder().pool_max_idle_per_host(1024).build()?;

    let bodies = Arc::new(build_bodies(&args));
    let avg = bodies.iter().map(|b| b.raw_len).sum::<usize>() / bodies.len();
    eprintln!(
        "loadgen: {} events of ~{} bytes over {} issues to {url} ({}{})",
        args.events,
        avg,
        args.issues,
        match args.rate {
            Some(r) => format!("open loop at {r}/s"),
            None => format!("closed loop, {} in flight", args.concurrency),
        },
        if args.gzip { ", gzip" } else { "" }
    );

    let shared = Arc::new(Shared {
        latencies_us: Mutex::new(Vec::with_capacity(args.events)),
        statuses: Mutex::new(BTreeMap::new()),
        sent: AtomicUsize::new(0),
    });
    let rss = args.server_pid.map(spawn_rss_sampler);
    let idle_rss = args.server_pid.and_then(read_rss_kb);

    let started = Instant::now();
    match args.rate {
        None => closed_loop(&args, &client, &url, &auth, &bodies, &shared).await,
        Some(rate) => open_loop(&args, rate, &client, &url, &auth, &bodies, &shared).await?,
    }
    let send_time = started.elapsed();

    let accepted = shared.statuses.lock().unwrap().get("200").copied().unwrap_or(0);
    let mut drained = None;
    if !args.no_wait && accepted > 0 {
        drained = wait_for_digest(&client, &base, Duration::from_secs(600)).await?;
    }
    let total_time = started.elapsed();
    let peak_rss = rss.map(|r| r.lock().map(|v| *v).unwrap_or(0));

    let mut lat = std::mem::take(&mut *shared.latencies_us.lock().unwrap());
    lat.sort_unstable();
    let pct = |p: f64| -> f64 {
        if lat.is_empty() {
            return 0.0;
        }
        let i = ((lat.len() as f64 - 1.0) * p).round() as usize;
        lat[i] as f64 / 1000.0
    };
    let statuses = shared.statuses.lock().unwrap().clone();
    let summary = json!({
        "events": args.events,
        "event_bytes": avg,
        "issues": args.issues,
        "gzip": args.gzip,
        "mode": args.rate.map_or("closed".to_string(), |r| format!("open {r}/s")),
        "concurrency": args.concurrency,
        "send_seconds": send_time.as_secs_f64(),
        "accepted": accepted,
        "accepted_per_second": accepted as f64 / send_time.as_secs_f64(),
        "latency_ms": { "p50": pct(0.50), "p95": pct(0.95), "p99": pct(0.99), "max": pct(1.0) },
        "statuses": statuses,
        "digested_per_second": drained.map(|_| accepted as f64 / total_time.as_secs_f64()),
        "drain_seconds_after_send": drained.map(|d: Duration| d.as_secs_f64()),
        "server_rss_mb": { "before": idle_rss.map(|kb| kb as f64 / 1024.0), "peak": peak_rss.map(|kb| kb as f64 / 1024.0) },
    });
    println!(
        "sent {} events in {:.2} s: {} accepted ({:.0}/s)",
        args.events,
        send_time.as_secs_f64(),
        accepted,
        accepted as f64 / send_time.as_secs_f64()
    );
    println!("accept latency ms: p50 {:.2}  p95 {:.2}  p99 {:.2}  max {:.2}", pct(0.5), pct(0.95), pct(0.99), pct(1.0));
    println!("statuses: {statuses:?}");
    if let Some(d) = drained {
        println!(
            "digested end to end: {:.0} events/s ({:.2} s in all; queue empty {:.2} s after the last send)",
            accepted as f64 / total_time.as_secs_f64(),
            total_time.as_secs_f64(),
            d.as_secs_f64()
        );
    }
    if let Some(peak) = peak_rss {
        println!(
            "server RSS: {:.1} MB before, {:.1} MB peak",
            idle_rss.unwrap_or(0) as f64 / 1024.0,
            peak as f64 / 1024.0
        );
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    }
    Ok(())
}

async fn closed_loop(
    args: &Args,
    client: &reqwest::Client,
    url: &str,
    auth: &str,
    bodies: &Arc<Vec<Body>>,
    shared: &Arc<Shared>,
) {
    let mut tasks = Vec::new();
    for _ in 0..args.concurrency.max(1) {
        let (client, url, auth, bodies, shared) =
            (client.clone(), url.to_string(), auth.to_string(), bodies.clone(), shared.clone());
        let (total, gzip) = (args.events, args.gzip);
        tasks.push(tokio::spawn(async move {
            loop {
                let n = shared.sent.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    break;
                }
                send(&client, &url, &auth, &bodies[n % bodies.len()], gzip, &shared).await;
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
}

async fn open_loop(
    args: &Args,
    rate: f64,
    client: &reqwest::Client,
    url: &str,
    auth: &str,
    bodies: &Arc<Vec<Body>>,
    shared: &Arc<Shared>,
) -> anyhow::Result<()> {
    if rate <= 0.0 {
        bail!("--rate must be positive");
    }
    let limit = Arc::new(tokio::sync::Semaphore::new(args.concurrency.max(1) * 64));
    let interval = Duration::from_secs_f64(1.0 / rate);
    let start = tokio::time::Instant::now();
    let mut tasks = Vec::new();
    for n in 0..args.events {
        tokio::time::sleep_until(start + interval.mul_f64(n as f64)).await;
        let Ok(permit) = limit.clone().try_acquire_owned() else {
            *shared.statuses.lock().unwrap().entry("not sent (client saturated)".into()).or_default() += 1;
            continue;
        };
        let (client, url, auth, bodies, shared, gzip) =
            (client.clone(), url.to_string(), auth.to_string(), bodies.clone(), shared.clone(), args.gzip);
        tasks.push(tokio::spawn(async move {
            send(&client, &url, &auth, &bodies[n % bodies.len()], gzip, &shared).await;
            drop(permit);
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    Ok(())
}

async fn send(client: &reqwest::Client, url: &str, auth: &str, body: &Body, gzip: bool, shared: &Shared) {
    let mut req =
        client.post(url).header("x-sentry-auth", auth).header("content-type", "application/x-sentry-envelope");
    if gzip {
        req = req.header("content-encoding", "gzip");
    }
    let started = Instant::now();
    let result = req.body(body.bytes.clone()).send().await;
    let status = match result {
        Ok(res) => {
            let status = res.status().as_u16().to_string();
            let _ = res.bytes().await;
            status
        }
        Err(e) => format!(
            "error: {}",
            if e.is_connect() {
                "connect"
            } else if e.is_timeout() {
                "timeout"
            } else {
                "other"
            }
        ),
    };
    let elapsed = started.elapsed().as_micros().min(u32::MAX as u128) as u32;
    shared.latencies_us.lock().unwrap().push(elapsed);
    *shared.statuses.lock().unwrap().entry(status).or_default() += 1;
}

/// Polls the health endpoint until the ingest queue is empty; returns how long that
/// took.
async fn wait_for_digest(client: &reqwest::Client, base: &str, timeout: Duration) -> anyhow::Result<Option<Duration>> {
    let started = Instant::now();
    loop {
        let health: Value = client.get(format!("{base}/api/0/internal/health")).send().await?.json().await?;
        if health["queue"]["depth"].as_i64() == Some(0) {
            return Ok(Some(started.elapsed()));
        }
        if started.elapsed() > timeout {
            eprintln!("loadgen: the queue did not drain within {timeout:?}");
            return Ok(None);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn read_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()
}

fn spawn_rss_sampler(pid: u32) -> Arc<Mutex<u64>> {
    let peak = Arc::new(Mutex::new(0u64));
    let out = peak.clone();
    tokio::spawn(async move {
        loop {
            if let Some(kb) = read_rss_kb(pid) {
                let mut p = peak.lock().unwrap();
                *p = (*p).max(kb);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    out
}

/// A prepared request body (cheap to clone: shared bytes).
struct Body {
    bytes: bytes::Bytes,
    raw_len: usize,
}

/// Builds distinct bodies, spread round-robin over the issues.
fn build_bodies(args: &Args) -> Vec<Body> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    let count = (args.issues.max(1) * 8).clamp(64, 2000);
    (0..count)
        .map(|i| {
            let event = event(&mut rng, i % args.issues.max(1), args.size_kb.max(1) * 1024);
            let payload = serde_json::to_vec(&event).unwrap_or_default();
            let mut envelope = b"{\"sent_at\":\"".to_vec();
            envelope.extend_from_slice(
                b"2024-01-01T00:00:00Z\",\"sdk\":{\"name\":\"sentry.python\",\"version\":\"2.0.0\"}}\n",
            );
            envelope.extend_from_slice(format!("{{\"type\":\"event\",\"length\":{}}}\n", payload.len()).as_bytes());
            envelope.extend_from_slice(&payload);
            envelope.push(b'\n');
            let raw_len = envelope.len();
            let bytes = if args.gzip {
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                e.write_all(&envelope).unwrap_or_default();
                e.finish().unwrap_or_default()
            } else {
                envelope
            };
            Body { bytes: bytes::Bytes::from(bytes), raw_len }
        })
        .collect()
}

const EXCEPTIONS: &[(&str, &str)] = &[
    ("ValueError", "invalid literal for int() with base 10: '{v}'"),
    ("KeyError", "'{v}'"),
    ("ZeroDivisionError", "division by zero"),
    ("TypeError", "unsupported operand type(s) for +: 'int' and 'str' (item {v})"),
    ("AttributeError", "'NoneType' object has no attribute 'user_{v}'"),
    ("ConnectionError", "Max retries exceeded with url: /api/v{v}/items"),
    ("PermissionError", "[Errno 13] Permission denied: '/var/data/{v}.json'"),
    ("TimeoutError", "Operation timed out after {v} ms"),
];

/// One realistic Python error event for issue `issue`, about `target` bytes.
fn event(rng: &mut rand::rngs::StdRng, issue: usize, target: usize) -> Value {
    let (ty, value) = EXCEPTIONS[issue % EXCEPTIONS.len()];
    let v: u32 = rng.gen_range(1..100_000);
    let frames: Vec<Value> = (0..15)
        .map(|f| {
            let in_app = f >= 8;
            let module = if in_app { format!("shop.module_{issue}_{f}") } else { format!("django.core.handlers.layer_{f}") };
            let path = module.replace('.', "/");
            json!({
                "filename": format!("{path}.py"),
                "abs_path": format!("{}/{path}.py", if in_app { "/srv/app" } else { "/usr/lib/python3.11/site-packages" }),
                "function": format!("handle_{issue}_{f}"),
                "module": module,
                "lineno": 10 + f * 7,
                "context_line": format!("        result = self.process_{f}(request, payload)"),
                "pre_context": ["    def handle(self, request):", "        payload = request.json()", "        self.validate(payload)"],
                "post_context": ["        return result", "", "    def validate(self, payload):"],
                "in_app": in_app,
                "vars": {
                    "self": format!("<shop.views.Handler object at 0x7f{:08x}>", rng.gen::<u32>()),
                    "request": "<WSGIRequest: POST '/api/checkout/'>",
                    "payload": format!("{{'order': {v}, 'items': [1, 2, 3], 'currency': 'EUR'}}"),
                    "attempt": f.to_string(),
                }
            })
        })
        .collect();
    let mut crumbs = Vec::new();
    let mut event = json!({
        "platform": "python",
        "level": "error",
        "timestamp": 1_700_000_000.0 + rng.gen_range(0.0..1_000_000.0),
        "server_name": format!("web-{}", rng.gen_range(1..5)),
        "release": "shop@2.4.1",
        "environment": if rng.gen_bool(0.8) { "production" } else { "staging" },
        "logger": "django.request",
        "transaction": format!("/api/checkout/{issue}/"),
        "exception": {"values": [{
            "type": ty,
            "value": value.replace("{v}", &v.to_string()),
            "module": "builtins",
            "mechanism": {"type": "django", "handled": false},
            "stacktrace": {"frames": frames}
        }]},
        "tags": {"customer_tier": if rng.gen_bool(0.3) { "gold" } else { "free" }, "region": "eu-west-1"},
        "user": {"id": rng.gen_range(1..5000).to_string(), "email": format!("user{}@example.com", rng.gen_range(1..5000)), "ip_address": "{{auto}}"},
        "request": {
            "url": format!("https://shop.example.com/api/checkout/{issue}/"),
            "method": "POST",
            "query_string": "source=web&ref=campaign",
            "headers": {
                "User-Agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
                "Accept": "application/json", "Content-Type": "application/json", "Host": "shop.example.com",
                "Authorization": "Bearer abcdefghijklmnopqrstuvwxyz0123456789", "Cookie": "sessionid=abc123; csrftoken=xyz"
            },
            "data": {"order": v, "items": [1, 2, 3], "password": "hunter2"},
            "env": {"SERVER_NAME": "shop", "SERVER_PORT": "443"}
        },
        "contexts": {
            "runtime": {"name": "CPython", "version": "3.11.6"},
            "os": {"name": "Linux", "version": "6.1"},
            "trace": {"trace_id": format!("{:032x}", rng.gen::<u128>()), "span_id": format!("{:016x}", rng.gen::<u64>()), "op": "http.server"}
        },
        "modules": {"django": "4.2.7", "requests": "2.31.0", "sentry-sdk": "2.0.0", "celery": "5.3.4"},
        "extra": {"sys.argv": ["manage.py", "runserver"], "order_total": v as f64 / 100.0},
        "sdk": {"name": "sentry.python.django", "version": "2.0.0", "packages": [{"name": "pypi:sentry-sdk", "version": "2.0.0"}]},
        "breadcrumbs": {"values": []},
    });
    while serde_json::to_vec(&event).map(|b| b.len()).unwrap_or(target) < target && crumbs.len() < 200 {
        crumbs.push(json!({
            "timestamp": 1_700_000_000.0 + crumbs.len() as f64,
            "type": "default",
            "category": if crumbs.len() % 3 == 0 { "query" } else { "httplib" },
            "level": "info",
            "message": format!("SELECT \"shop_order\".\"id\", \"shop_order\".\"total\" FROM \"shop_order\" WHERE \"shop_order\".\"id\" = {}", rng.gen_range(1..100_000)),
            "data": {"duration_ms": rng.gen_range(1..50)}
        }));
        event["breadcrumbs"]["values"] = Value::Array(crumbs.clone());
    }
    event
}
