//! The uptime scheduler: one instance at a time (a PostgreSQL advisory lock, or a
//! lease row on SQLite) claims due monitors every second, runs their checks
//! concurrently on their own tasks (bounded, so a thousand slow targets cannot
//! exhaust anything, and a hanging target delays only itself), and writes each
//! second's results in one transaction. Transitions are then turned into alerts.

mod alerts;
pub mod probe;

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use faultline_domain::monitors::{settle, Outcome};
use faultline_monitoring::uptime::Reason;
use faultline_store::{AdvisoryLock, CheckResult, DatabaseKind, Monitor, Timestamp};
use tokio::sync::{mpsc, Semaphore};
use tokio_util::sync::CancellationToken;

use crate::WorkerContext;

/// How often the scheduler looks for due monitors.
const TICK: Duration = Duration::from_secs(1);
/// Checks running at once.
const CONCURRENCY: usize = 512;
/// Monitors claimed per tick.
const CLAIM: i64 = 2_000;
/// The advisory lock's key ("uptime" in ASCII).
const LOCK_KEY: i64 = 0x7570_7469_6d65;
/// The lease's name and life on SQLite.
const LEASE: &str = "uptime-scheduler";
const LEASE_TTL: Duration = Duration::from_secs(15);

/// Scheduler counters, logged once a minute (and read by the benchmark).
#[derive(Default)]
pub struct Stats {
    /// Checks run.
    pub checks: AtomicU64,
    /// The latest start of a check after its due time in the last minute, ms.
    pub max_late_ms: AtomicI64,
}

/// Who runs the scheduler.
enum Leadership {
    Lease(String),
    Lock(Option<AdvisoryLock>),
}

impl Leadership {
    async fn ensure(&mut self, ctx: &WorkerContext) -> bool {
        match self {
            Leadership::Lease(holder) => ctx.store.try_lease(LEASE, holder, LEASE_TTL).await.unwrap_or(false),
            Leadership::Lock(held) => {
                if let Some(lock) = held {
                    if lock.alive().await {
                        return true;
                    }
                    *held = None;
                }
                *held = ctx.store.try_advisory_lock(LOCK_KEY).await.ok().flatten();
                held.is_some()
            }
        }
    }
}

/// Runs the scheduler until shutdown.
pub(crate) async fn run(ctx: Arc<WorkerContext>, shutdown: CancellationToken) {
    let clients = match probe::Clients::new() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "uptime checks disabled: cannot build an HTTP client");
            return;
        }
    };
    // Jitter, so instances started together do not race for the lock in lockstep.
    let jitter = Duration::from_millis(rand::random::<u64>() % 1000);
    tokio::select! {
        _ = shutdown.cancelled() => return,
        _ = tokio::time::sleep(jitter) => {}
    }
    let mut leadership = match ctx.store.kind() {
        DatabaseKind::Postgres => Leadership::Lock(None),
        DatabaseKind::Sqlite => Leadership::Lease(uuid::Uuid::new_v4().to_string()),
    };
    let stats = Arc::new(Stats::default());
    let (tx, rx) = mpsc::channel::<CheckResult>(CONCURRENCY * 2);
    let writer = tokio::spawn(write_results(ctx.clone(), rx, shutdown.clone()));
    let limit = Arc::new(Semaphore::new(CONCURRENCY));
    let mut ticker = tokio::time::interval(TICK);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_report = std::time::Instant::now();
    let mut leading = false;
    let mut ticks: u64 = 0;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = ticker.tick() => {}
        }
        let lead = leadership.ensure(&ctx).await;
        if lead != leading {
            tracing::info!(leading = lead, "uptime scheduler leadership changed");
            leading = lead;
        }
        if !lead {
            continue;
        }
        let now = Timestamp::now();
        let due = match ctx.store.claim_due_monitors(now, CLAIM).await {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!(error = %e, "cannot claim due monitors");
                continue;
            }
        };
        for m in due {
            let Ok(permit) = limit.clone().acquire_owned().await else { break };
            let (tx, clients, stats) = (tx.clone(), clients.clone(), stats.clone());
            tokio::spawn(async move {
                let started = Timestamp::now();
                let late_ms = (started.micros() - m.next_check_at.micros()) / 1000;
                stats.max_late_ms.fetch_max(late_ms, Ordering::Relaxed);
                stats.checks.fetch_add(1, Ordering::Relaxed);
                let outcome = check(&clients, &m).await;
                let _ = tx.send(settle(&m, outcome, started)).await;
                drop(permit);
            });
        }
        // Transitions recorded elsewhere (heartbeats through the web process, the
        // cron engine) are alerted from here too.
        if ticks % 5 == 0 {
            alerts::deliver_transitions(&ctx).await;
        }
        ticks += 1;
        if last_report.elapsed() >= Duration::from_secs(60) {
            last_report = std::time::Instant::now();
            tracing::info!(
                checks = stats.checks.swap(0, Ordering::Relaxed),
                max_late_ms = stats.max_late_ms.swap(0, Ordering::Relaxed),
                "uptime checks in the last minute"
            );
        }
    }
    drop(tx);
    let _ = writer.await;
}

/// One check: a probe, or for a heartbeat monitor (claimed only once it is late)
/// the missed beat.
async fn check(clients: &probe::Clients, m: &Monitor) -> Outcome {
    if m.kind == "heartbeat" {
        return Outcome {
            up: false,
            reason: Some(Reason::Missed),
            response_ms: None,
            data: None,
            tls_expires_at: None,
        };
    }
    let p = probe::probe(clients, m).await;
    Outcome { up: p.up, reason: p.reason, response_ms: p.response_ms, data: p.data, tls_expires_at: p.tls_expires_at }
}

/// Writes results in batches (whatever arrived within 200 ms, so the next claim of a
/// monitor sees its last result) and then
/// turns new transitions into alerts.
async fn write_results(ctx: Arc<WorkerContext>, mut rx: mpsc::Receiver<CheckResult>, shutdown: CancellationToken) {
    let mut batch = Vec::new();
    loop {
        let Some(first) = rx.recv().await else { break };
        batch.push(first);
        let window = tokio::time::sleep(Duration::from_millis(200));
        tokio::pin!(window);
        loop {
            tokio::select! {
                _ = &mut window => break,
                next = rx.recv() => match next {
                    Some(r) => batch.push(r),
                    None => break,
                },
            }
            if batch.len() >= 1000 {
                break;
            }
        }
        let transitions = batch.iter().any(|r| r.transition.is_some());
        // A failed write is retried once; the checks are then lost, never the
        // monitor's schedule (it was moved when claimed).
        let mut written = ctx.store.record_monitor_checks(&batch).await;
        if written.is_err() && !shutdown.is_cancelled() {
            tokio::time::sleep(Duration::from_millis(200)).await;
            written = ctx.store.record_monitor_checks(&batch).await;
        }
        if let Err(e) = written {
            tracing::warn!(error = %e, checks = batch.len(), "cannot record uptime checks");
        }
        batch.clear();
        if transitions {
            alerts::deliver_transitions(&ctx).await;
        }
    }
}

/// Evaluates pending transitions (for callers outside the scheduler: heartbeats
/// arrive through the web process, cron transitions through the cron engine).
pub async fn alert_transitions(ctx: &WorkerContext) {
    alerts::deliver_transitions(ctx).await;
}
