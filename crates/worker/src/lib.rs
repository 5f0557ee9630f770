//! Background work: the digest loop that turns queued payloads into stored issues and
//! events, job runners that execute durable jobs from the store, and the scheduler
//! that enqueues periodic jobs.
//!
//! Everything here runs as tasks on a [`TaskTracker`] and stops when the shutdown
//! token is cancelled: a runner finishes the job it holds, then exits. Jobs are plain
//! async functions registered in [`jobs`]; add a module there to add a job kind.

mod alerts;
pub mod crons;
mod digest;
pub mod jobs;
mod runner;
mod scheduler;
pub mod uptime;

use std::sync::Arc;

use faultline_config::Config;
use faultline_store::Store;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// What jobs get to work with.
#[derive(Clone)]
pub struct WorkerContext {
    /// The store.
    pub store: Store,
    /// The configuration.
    pub config: Arc<Config>,
    /// Where ingest in this process hands committed payloads to the digest (and
    /// wakes it after each commit).
    pub handoff: Arc<faultline_store::Handoff>,
}

/// Starts the digest loop, `config.workers.concurrency` job runners and the
/// scheduler on `tasks`.
pub fn spawn(ctx: WorkerContext, shutdown: &CancellationToken, tasks: &TaskTracker) {
    let ctx = Arc::new(ctx);
    tasks.spawn(digest::run(ctx.clone(), shutdown.clone()));
    for n in 0..ctx.config.workers.concurrency {
        tasks.spawn(runner::run_jobs(ctx.clone(), shutdown.clone(), tasks.clone(), n));
    }
    if ctx.config.features.uptime {
        tasks.spawn(crons::run(ctx.clone(), shutdown.clone()));
    }
    if ctx.config.features.uptime {
        tasks.spawn(uptime::run(ctx.clone(), shutdown.clone()));
    }
    tasks.spawn(scheduler::run(ctx, shutdown.clone()));
}
