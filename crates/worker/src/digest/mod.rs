//! Digestion: from the durable queue to stored issues and events.
//!
//! One loop per process takes a batch of queue rows: those ingest in this process just
//! committed, handed over in memory and already decoded ([`Handoff`]), topped up with
//! rows claimed from the queue with a lease (spooled by another process, before a
//! restart, or when the handoff was full). It processes their items in parallel on
//! the digest's threads (one chunk per core; [`pool`]) and writes the batch in one
//! transaction that also consumes the rows ([`Store::write_batch`]), while it
//! processes the next batch.
//! It wakes when ingest in this process commits, and polls otherwise.

mod batch;
mod dictionaries;
mod pool;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use faultline_config::DatabaseKind;
use faultline_processing::Processor;
use faultline_store::{DigestBatch, Handoff, QueueId, Queued};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::WorkerContext;
use dictionaries::{Dictionaries, ForBatch};
use pool::Priority;

/// Queue rows per batch, at most. Under light load batches are whatever arrived;
/// under heavy load they grow to this, which amortizes the store's work per page.
const BATCH: usize = 500;
/// How long a claimed batch is ours. Short, so a crashed worker's rows are taken
/// over quickly; a slow batch whose lease expires may be processed twice, but only
/// one of the two writes lands ([`Store::write_batch`] deletes the rows first).
const LEASE: Duration = Duration::from_secs(15);
/// A batch smaller than this waits up to [`LINGER`] for more rows. At 1,000 events/s,
/// 200 ms rather than 50 took an eighth less CPU per event (docs/benchmarks.md).
const LINGER_BELOW: usize = 250;
const LINGER: Duration = Duration::from_millis(200);
/// While the handoff keeps the loop busy, the queue is also claimed from every this
/// many rounds.
const COLD_EVERY: u64 = 8;
/// How often an idle loop looks at the queue without being woken.
const POLL: Duration = Duration::from_millis(250);
/// Claims after which a failing row is processed alone, to isolate it.
const ISOLATE_AFTER: i32 = 3;
/// How long a row that keeps failing on its own is put aside before the next try.
const PARK_SECS: i64 = 3600;

pub(crate) async fn run(ctx: Arc<WorkerContext>, shutdown: CancellationToken) {
    let processor = Arc::new(Processor::new());
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    // Threads that use spare CPU, and threads that catch up with a backlog ([`pool`]).
    let spare = pool::Pool::new(cores, Priority::Idle);
    let backlog = pool::Pool::new(cores, Priority::Low);
    tracing::debug!(cores, "digest started");
    // Writing batch N overlaps with processing batch N + 1. SQLite has one writer;
    // PostgreSQL takes two batches at once (their counter updates are sorted, so they
    // cannot deadlock).
    let max_writes = match ctx.store.kind() {
        DatabaseKind::Sqlite => 1,
        DatabaseKind::Postgres => 2,
    };
    let mut writing: VecDeque<JoinHandle<()>> = VecDeque::new();
    let mut dictionaries = Dictionaries::default();
    let mut round: u64 = 0;
    while !shutdown.is_cancelled() {
        round += 1;
        let mut rows = ctx.handoff.take(BATCH);
        // A trickle of events is digested a little later in bigger batches: each
        // batch costs about as much to store as a hundred events, and nobody waits
        // on digestion (the client was answered when the payload was spooled).
        if !rows.is_empty() && rows.len() < LINGER_BELOW {
            let deadline = tokio::time::Instant::now() + LINGER;
            while rows.len() < LINGER_BELOW && !shutdown.is_cancelled() {
                tokio::select! {
                    _ = shutdown.cancelled() => {}
                    _ = ctx.handoff.woken() => {}
                    _ = tokio::time::sleep_until(deadline) => break,
                }
                rows.extend(ctx.handoff.take(BATCH - rows.len()));
            }
        }
        // Rows the handoff had no room for (or that another process spooled, or that
        // were spooled before a restart) wait in the queue: claim them when the
        // handoff runs short, and some every few rounds anyway so they never starve.
        let room = match rows.len() {
            n if n < BATCH => BATCH - n,
            _ if round % COLD_EVERY == 0 => BATCH / 4,
            _ => 0,
        };
        let claimed = if room > 0 { ctx.store.claim_queued(room, LEASE).await } else { Ok(Vec::new()) };
        match claimed {
            Ok(claimed) => rows.extend(claimed),
            Err(e) => {
                tracing::warn!(error = %e, "cannot claim queued payloads; retrying");
                if rows.is_empty() {
                    pause(&shutdown, &ctx.handoff, Duration::from_secs(2)).await;
                    continue;
                }
            }
        }
        if rows.is_empty() {
            pause(&shutdown, &ctx.handoff, POLL).await;
            continue;
        }
        // Rows that failed before go alone, so one bad payload cannot block others.
        let (suspects, healthy): (Vec<Queued>, Vec<Queued>) =
            rows.into_iter().partition(|r| r.attempts > ISOLATE_AFTER);
        if !healthy.is_empty() {
            // A full batch means more is waiting: the digest is behind.
            let pool = if healthy.len() >= BATCH { &backlog } else { &spare };
            let processed = process(&ctx, pool, &processor, &mut dictionaries, healthy, cores).await;
            while writing.len() >= max_writes {
                finish(writing.pop_front()).await;
            }
            writing.push_back(tokio::spawn(write(ctx.clone(), processed, false)));
        }
        for row in suspects {
            // A retry is late already.
            let processed = process(&ctx, &backlog, &processor, &mut dictionaries, vec![row], 1).await;
            while let Some(w) = writing.pop_front() {
                finish(Some(w)).await;
            }
            write(ctx.clone(), processed, true).await;
        }
    }
    while let Some(w) = writing.pop_front() {
        finish(Some(w)).await;
    }
    // Handed-over rows not taken yet go back to the queue at once, rather than when
    // their lease runs out.
    let left: Vec<QueueId> = ctx.handoff.take(usize::MAX).into_iter().map(|r| r.id).collect();
    if !left.is_empty() {
        if let Err(e) = ctx.store.release_queued(&left).await {
            tracing::warn!(error = %e, rows = left.len(), "cannot release handed-over rows; their lease will expire");
        }
    }
    tracing::debug!("digest stopped");
}

async fn finish(writing: Option<JoinHandle<()>>) {
    if let Some(w) = writing {
        if let Err(e) = w.await {
            tracing::error!(error = %e, "a digest write panicked; its rows will be retried");
        }
    }
}

async fn pause(shutdown: &CancellationToken, handoff: &Handoff, max: Duration) {
    tokio::select! {
        _ = shutdown.cancelled() => {}
        _ = handoff.woken() => {}
        _ = tokio::time::sleep(max) => {}
    }
}

/// A processed batch on its way to the store, or why it could not be processed.
struct Processed {
    ids: Vec<QueueId>,
    started: Instant,
    result: Result<(DigestBatch, batch::ItemStats, Duration), String>,
}

/// Processes a batch on the digest's threads, `parallel` chunks at once.
async fn process(
    ctx: &WorkerContext,
    pool: &pool::Pool,
    processor: &Arc<Processor>,
    dictionaries: &mut Dictionaries,
    rows: Vec<Queued>,
    parallel: usize,
) -> Processed {
    let started = Instant::now();
    let ids: Vec<_> = rows.iter().map(|r| r.id).collect();
    let result = async {
        let mut project_ids: Vec<_> = rows.iter().map(|r| r.project_id).collect();
        project_ids.sort();
        project_ids.dedup();
        let settings: HashMap<_, _> = ctx
            .store
            .digest_settings(&project_ids)
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|s| (s.project_id, s))
            .collect();
        let compression = Arc::new(dictionaries.for_batch(&ctx.store, &settings).await);
        let (batch, stats, samples) =
            process_parallel(pool, processor, rows, Arc::new(settings), compression, parallel).await?;
        dictionaries.add_samples(&ctx.store, samples);
        Ok((batch, stats, started.elapsed()))
    }
    .await;
    Processed { ids, started, result }
}

/// Writes a processed batch and evaluates alerts. On failure the rows are released
/// and retried; a row failing alone is parked.
async fn write(ctx: Arc<WorkerContext>, processed: Processed, alone: bool) {
    let Processed { ids, started, result } = processed;
    let store = &ctx.store;
    let result = async {
        let (batch, stats, processing) = result?;
        let outcome = store.write_batch(&batch).await.map_err(|e| e.to_string())?;
        tracing::debug!(
            rows = outcome.rows,
            events = outcome.events,
            duplicates = outcome.duplicate_events,
            new_issues = outcome.new_issues.len(),
            transactions = outcome.transactions,
            dropped = stats.dropped,
            failed = stats.failed,
            process_ms = processing.as_millis() as u64,
            total_ms = started.elapsed().as_millis() as u64,
            "batch digested"
        );
        if !batch.check_ins.is_empty() {
            crate::crons::wake();
        }
        crate::alerts::evaluate(&ctx, &outcome).await;
        Ok::<_, String>(())
    }
    .await;
    if let Err(e) = result {
        if alone {
            tracing::error!(error = %e, queue_ids = ?ids, "a queued payload keeps failing; parked for an hour");
            if let Err(e) = store.park_queued(&ids, PARK_SECS).await {
                tracing::warn!(error = %e, "cannot park the payload");
            }
        } else {
            tracing::warn!(error = %e, rows = ids.len(), "batch failed; its rows will be retried");
            let _ = store.release_queued(&ids).await;
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

async fn process_parallel(
    pool: &pool::Pool,
    processor: &Arc<Processor>,
    rows: Vec<Queued>,
    settings: Arc<HashMap<faultline_store::ProjectId, faultline_store::DigestSettings>>,
    compression: Arc<ForBatch>,
    parallel: usize,
) -> Result<(DigestBatch, batch::ItemStats, Vec<batch::Sample>), String> {
    let chunk = rows.len().div_ceil(parallel.max(1)).max(1);
    let mut rows = rows;
    let mut parts = Vec::new();
    while !rows.is_empty() {
        let rest = rows.split_off(chunk.min(rows.len()));
        let part = std::mem::replace(&mut rows, rest);
        let processor = processor.clone();
        let settings = settings.clone();
        let compression = compression.clone();
        parts.push(pool.run(move || batch::build(&processor, &part, &settings, &compression)));
    }
    let mut out = DigestBatch::default();
    let mut stats = batch::ItemStats::default();
    let mut samples = Vec::new();
    for result in futures_util::future::join_all(parts).await {
        let (part, s, part_samples) = result?;
        samples.extend(part_samples);
        batch::merge(&mut out, part);
        stats.events += s.events;
        stats.transactions += s.transactions;
        stats.other += s.other;
        stats.dropped += s.dropped;
        stats.failed += s.failed;
    }
    Ok((out, stats, samples))
}
