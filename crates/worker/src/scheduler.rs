//! Enqueues periodic jobs.
//!
//! Each period of each periodic job gets a unique key (`kind:period-number`), so any
//! number of schedulers, in any number of instances, enqueue it exactly once; the
//! runners then execute it once.

use std::sync::Arc;
use std::time::Duration;

use faultline_store::{NewJob, Timestamp};
use tokio_util::sync::CancellationToken;

use crate::{jobs, WorkerContext};

/// How often the scheduler looks at the clock.
const TICK: Duration = Duration::from_secs(30);

/// A job to run once per `every`.
pub(crate) struct Periodic {
    pub kind: &'static str,
    pub every: Duration,
}

pub(crate) const PERIODIC: &[Periodic] = &[
    Periodic { kind: jobs::retention::KIND, every: Duration::from_secs(3600) },
    // Retries whose scheduled run was lost.
    Periodic { kind: jobs::alerts::KIND, every: Duration::from_secs(60) },
];

pub(crate) async fn run(ctx: Arc<WorkerContext>, shutdown: CancellationToken) {
    // Jitter, so instances started together do not tick in lockstep.
    let jitter = Duration::from_millis(rand::random::<u64>() % 3000);
    tokio::select! {
        _ = shutdown.cancelled() => return,
        _ = tokio::time::sleep(jitter) => {}
    }
    loop {
        enqueue_due(&ctx, Timestamp::now()).await;
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(TICK) => {}
        }
    }
}

/// Enqueues the current period of every periodic job (a no-op for periods already
/// enqueued).
pub(crate) async fn enqueue_due(ctx: &WorkerContext, now: Timestamp) {
    for periodic in PERIODIC {
        let every = periodic.every.as_micros() as i64;
        let period = now.micros().div_euclid(every);
        let job = NewJob {
            unique_key: Some(format!("{}:{period}", periodic.kind)),
            run_at: Timestamp::from_micros(period * every),
            ..NewJob::now(periodic.kind, serde_json::Value::Null)
        };
        match ctx.store.enqueue_job(&job).await {
            Ok(Some(id)) => tracing::debug!(job = periodic.kind, %id, "scheduled"),
            Ok(None) => {}
            Err(e) => tracing::warn!(job = periodic.kind, error = %e, "cannot schedule"),
        }
    }
}
