//! `faultline-loadgen`: sends realistic SDK-like error events to a Sentry-compatible
//! server and reports what it measured.
//!
//! ```sh
//! cargo run --release -p faultline-loadgen -- --dsn http://KEY@127.0.0.1:8000/1 -n 50000 -c 32 -k 50 --gzip
//! ```
//!
//! Events are Python-style exceptions of 5–15 KB (a ~15-frame stack trace with
//! context lines and local variables, breadcrumbs, contexts, tags, user, request),
//! spread over `k` distinct issues. Whole HTTP/1.1 requests are built before the clock
//! starts and written to kept-alive connections as they are, so the generator, which
//! shares the machine with the server, spends as little CPU per request as it can
//! (like wrk). Events carry no `event_id` (the server assigns one), so re-sending a
//! body is a new event, not a duplicate.
//!
//! Closed loop (`-c`): that many requests in flight at all times. Open loop (`-r`):
//! requests start at a fixed rate whatever the server does, which is how latency
//! under a given load is measured. After sending, it polls the server's
//! `/api/0/internal/health` until the ingest queue is empty, to report end-to-end
//! digested events per second.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use faultline_loadgen as events;
use faultline_protocol::Dsn;
use rand::SeedableRng;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

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
    let client = reqwest::Client::builder().build()?;
    if dsn.scheme != "http" {
        bail!("the load generator speaks plain HTTP only (the DSN is {})", dsn.scheme);
    }
    let addr = if dsn.host.rsplit_once(':').is_some_and(|(_, port)| port.parse::<u16>().is_ok()) {
        dsn.host.clone()
    } else {
        format!("{}:80", dsn.host)
    };
    let target = Target { addr };
    let path = format!("{}/api/{}/envelope/", dsn.path, dsn.project_id);

    let bodies = Arc::new(build_bodies(&args, &dsn.host, &path, &auth));
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
        None => closed_loop(&args, &target, &bodies, &shared).await,
        Some(rate) => open_loop(&args, rate, &target, &bodies, &shared).await?,
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

async fn closed_loop(args: &Args, target: &Target, bodies: &Arc<Vec<Body>>, shared: &Arc<Shared>) {
    let mut tasks = Vec::new();
    for _ in 0..args.concurrency.max(1) {
        let (target, bodies, shared) = (target.clone(), bodies.clone(), shared.clone());
        let total = args.events;
        tasks.push(tokio::spawn(async move {
            let mut conn = None;
            loop {
                let n = shared.sent.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    break;
                }
                send(&target, &mut conn, &bodies[n % bodies.len()], &shared).await;
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
    target: &Target,
    bodies: &Arc<Vec<Body>>,
    shared: &Arc<Shared>,
) -> anyhow::Result<()> {
    if rate <= 0.0 {
        bail!("--rate must be positive");
    }
    let limit = Arc::new(tokio::sync::Semaphore::new(args.concurrency.max(1) * 64));
    // Idle kept-alive connections, reused by the next request.
    let idle: Arc<Mutex<Vec<Conn>>> = Arc::default();
    let interval = Duration::from_secs_f64(1.0 / rate);
    let start = tokio::time::Instant::now();
    let mut tasks = Vec::new();
    for n in 0..args.events {
        tokio::time::sleep_until(start + interval.mul_f64(n as f64)).await;
        let Ok(permit) = limit.clone().try_acquire_owned() else {
            *shared.statuses.lock().unwrap().entry("not sent (client saturated)".into()).or_default() += 1;
            continue;
        };
        let (target, bodies, shared, idle) = (target.clone(), bodies.clone(), shared.clone(), idle.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = idle.lock().unwrap().pop();
            send(&target, &mut conn, &bodies[n % bodies.len()], &shared).await;
            if let Some(c) = conn {
                idle.lock().unwrap().push(c);
            }
            drop(permit);
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    Ok(())
}

/// Where requests go.
#[derive(Clone)]
struct Target {
    addr: String,
}

/// A kept-alive connection and its read buffer.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

/// Sends one prepared request on `conn` (connecting first when there is none) and
/// records its status and latency. The connection is dropped on any error or when the
/// server closes it.
async fn send(target: &Target, conn: &mut Option<Conn>, body: &Body, shared: &Shared) {
    let started = Instant::now();
    let status = match exchange(target, conn, &body.request).await {
        Ok(status) => status.to_string(),
        Err(e) => {
            *conn = None;
            format!("error: {}", e.kind())
        }
    };
    let elapsed = started.elapsed().as_micros().min(u32::MAX as u128) as u32;
    shared.latencies_us.lock().unwrap().push(elapsed);
    *shared.statuses.lock().unwrap().entry(status).or_default() += 1;
}

async fn exchange(target: &Target, conn: &mut Option<Conn>, request: &[u8]) -> std::io::Result<u16> {
    if conn.is_none() {
        let stream = TcpStream::connect(&target.addr).await?;
        stream.set_nodelay(true)?;
        *conn = Some(Conn { stream, buf: Vec::with_capacity(1024) });
    }
    let Some(c) = conn.as_mut() else { unreachable!("connected above") };
    c.stream.write_all(request).await?;
    let (status, keep_alive) = read_response(c).await?;
    if !keep_alive {
        *conn = None;
    }
    Ok(status)
}

/// Reads one response (headers and a `Content-Length` body); returns its status and
/// whether the connection stays open.
async fn read_response(c: &mut Conn) -> std::io::Result<(u16, bool)> {
    let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string());
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut res = httparse::Response::new(&mut headers);
        if let httparse::Status::Complete(head) = res.parse(&c.buf).map_err(|_| bad("malformed response"))? {
            let status = res.code.ok_or_else(|| bad("no status"))?;
            let header = |name: &str| {
                res.headers.iter().find(|h| h.name.eq_ignore_ascii_case(name)).map(|h| h.value.to_ascii_lowercase())
            };
            let length: usize = header("content-length")
                .and_then(|v| std::str::from_utf8(&v).ok()?.trim().parse().ok())
                .ok_or_else(|| bad("no content-length"))?;
            let keep_alive = header("connection").is_none_or(|v| v != b"close");
            while c.buf.len() < head + length {
                if c.stream.read_buf(&mut c.buf).await? == 0 {
                    return Err(bad("closed mid-body"));
                }
            }
            c.buf.drain(..head + length);
            return Ok((status, keep_alive));
        }
        if c.stream.read_buf(&mut c.buf).await? == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "closed"));
        }
    }
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

/// A prepared request: head and body, ready to write.
struct Body {
    request: Vec<u8>,
    raw_len: usize,
}

/// Builds distinct requests, spread round-robin over the issues.
fn build_bodies(args: &Args, host: &str, path: &str, auth: &str) -> Vec<Body> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
    let count = (args.issues.max(1) * 8).clamp(64, 2000);
    (0..count)
        .map(|i| {
            let event = events::event(&mut rng, i % args.issues.max(1), args.size_kb.max(1) * 1024, now);
            let envelope = events::envelope(&event, now);
            let raw_len = envelope.len();
            let body = if args.gzip { events::gzip(&envelope) } else { envelope };
            let mut request = format!(
                "POST {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: faultline-loadgen/0.1\r\nX-Sentry-Auth: {auth}\r\n\
                 Content-Type: application/x-sentry-envelope\r\n{}Content-Length: {}\r\n\r\n",
                if args.gzip { "Content-Encoding: gzip\r\n" } else { "" },
                body.len()
            )
            .into_bytes();
            request.extend_from_slice(&body);
            Body { request, raw_len }
        })
        .collect()
}
