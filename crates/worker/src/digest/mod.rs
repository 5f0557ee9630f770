//! Digestion: from the durable queue to stored issues and events.
//!
//! One loop per process claims a batch of queue rows (with a lease), processes their
//! items in parallel on the blocking pool (one chunk per core), and writes the batch
//! in one transaction that also deletes the rows ([`Store::write_batch`]). It wakes
//! when ingest in this process commits, and polls otherwise (another process may be
//! the one accepting events).

mod batch;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use faultline_processing::Processor;
use faultline_store::{DigestBatch, Queued};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::WorkerContext;

/// Queue rows per batch.
const BATCH: usize = 250;
/// How long a claimed batch is ours. Short, so a crashed worker's rows are taken
/// over quickly; a slow batch whose lease expires may be processed twice, but only
/// one of the two writes lands ([`Store::write_batch`] deletes the rows first).
const LEASE: Duration = Duration::from_secs(15);
/// How often an idle loop looks at the queue without being woken.
const POLL: Duration = Duration::from_millis(250);
/// Claims after which a failing row is processed alone, to isolate it.
const ISOLATE_AFTER: i32 = 3;
/// How long a row that keeps failing on its own is put aside before the next try.
const PARK_SECS: i64 = 3600;

pub(crate) async fn run(ctx: Arc<WorkerContext>, shutdown: CancellationToken, wakeup: Arc<Notify>) {
    let processor = Arc::new(Processor::new());
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    tracing::debug!(cores, "digest started");
    while !shutdown.is_cancelled() {
        let rows = match ctx.store.claim_queued(BATCH, LEASE).await {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!(error = %e, "cannot claim queued payloads; retrying");
                pause(&shutdown, &wakeup, Duration::from_secs(2)).await;
                continue;
            }
        };
        if rows.is_empty() {
            pause(&shutdown, &wakeup, POLL).await;
            continue;
        }
        // Rows that failed before go alone, so one bad payload cannot block others.
        let (suspects, healthy): (Vec<Queued>, Vec<Queued>) =
            rows.into_iter().partition(|r| r.attempts > ISOLATE_AFTER);
        if !healthy.is_empty() {
            digest(&ctx, &processor, healthy, cores, false).await;
        }
        for row in suspects {
            digest(&ctx, &processor, vec![row], 1, true).await;
        }
    }
    tracing::debug!("digest stopped");
}

async fn pause(shutdown: &CancellationToken, wakeup: &Notify, max: Duration) {
    tokio::select! {
        _ = shutdown.cancelled() => {}
        _ = wakeup.notified() => {}
        _ = tokio::time::sleep(max) => {}
    }
}

/// Processes and writes one batch. On failure the rows stay claimed until their lease
/// expires and are retried; a row failing alone is parked.
async fn digest(ctx: &WorkerContext, processor: &Arc<Processor>, rows: Vec<Queued>, parallel: usize, alone: bool) {
    let store = &ctx.store;
    let started = Instant::now();
    let ids: Vec<_> = rows.iter().map(|r| r.id).collect();
    let result = async {
        let mut project_ids: Vec<_> = rows.iter().map(|r| r.project_id).collect();
        project_ids.sort();
        project_ids.dedup();
        let settings: HashMap<_, _> = store
            .digest_settings(&project_ids)
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|s| (s.project_id, s))
            .collect();
        let (batch, stats) = process_parallel(processor, rows, Arc::new(settings), parallel).await?;
        let processed = started.elapsed();
        let outcome = store.write_batch(&batch).await.map_err(|e| e.to_string())?;
        tracing::debug!(
            rows = outcome.rows,
            events = outcome.events,
            duplicates = outcome.duplicate_events,
            new_issues = outcome.new_issues.len(),
            transactions = outcome.transactions,
            dropped = stats.dropped,
            failed = stats.failed,
            process_ms = processed.as_millis() as u64,
            total_ms = started.elapsed().as_millis() as u64,
            "batch digested"
        );
        if !batch.check_ins.is_empty() {
            crate::crons::wake();
        }
        crate::alerts::evaluate(ctx, &outcome).await;
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
    processor: &Arc<Processor>,
    rows: Vec<Queued>,
    settings: Arc<HashMap<faultline_store::ProjectId, faultline_store::DigestSettings>>,
    parallel: usize,
) -> Result<(DigestBatch, batch::ItemStats), String> {
    let chunk = rows.len().div_ceil(parallel.max(1)).max(1);
    let mut rows = rows;
    let mut handles = Vec::new();
    while !rows.is_empty() {
        let rest = rows.split_off(chunk.min(rows.len()));
        let part = std::mem::replace(&mut rows, rest);
        let processor = processor.clone();
        let settings = settings.clone();
        handles.push(tokio::task::spawn_blocking(move || batch::build(&processor, &part, &settings)));
    }
    let mut out = DigestBatch::default();
    let mut stats = batch::ItemStats::default();
    for handle in handles {
        match handle.await {
            Ok((part, s)) => {
                batch::merge(&mut out, part);
                stats.events += s.events;
                stats.transactions += s.transactions;
                stats.other += s.other;
                stats.dropped += s.dropped;
                stats.failed += s.failed;
            }
            Err(e) => return Err(format!("event processing panicked: {e}")),
        }
    }
    Ok((out, stats))
}
