//! The job runner loop.

use std::sync::Arc;
use std::time::Duration;

use faultline_store::{Job, Timestamp};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::{jobs, WorkerContext};

/// How long a claimed job is ours before another runner may take it over.
const LEASE: Duration = Duration::from_secs(300);
/// How often an idle runner looks for due jobs.
const POLL: Duration = Duration::from_secs(1);

pub(crate) async fn run_jobs(ctx: Arc<WorkerContext>, shutdown: CancellationToken, tasks: TaskTracker, n: usize) {
    tracing::debug!(runner = n, "job runner started");
    while !shutdown.is_cancelled() {
        match ctx.store.claim_job(LEASE).await {
            Ok(Some(job)) => execute(&ctx, job, &tasks).await,
            Ok(None) => {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(POLL) => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot claim a job; retrying shortly");
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(POLL * 5) => {}
                }
            }
        }
    }
    tracing::debug!(runner = n, "job runner stopped");
}

async fn execute(ctx: &Arc<WorkerContext>, job: Job, tasks: &TaskTracker) {
    let started = std::time::Instant::now();
    // Run in its own task so a panicking job is a failed job, not a dead runner.
    let outcome = {
        let ctx = ctx.clone();
        let job = job.clone();
        tasks.spawn(async move { jobs::run(&ctx, &job).await }).await
    };
    let error = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(format!("{e:#}")),
        Err(panic) => Some(format!("the job panicked: {panic}")),
    };
    let store = &ctx.store;
    let recorded = match error {
        None => {
            tracing::info!(job = %job.kind, id = %job.id, elapsed_ms = started.elapsed().as_millis() as u64, "job done");
            store.complete_job(job.id).await
        }
        Some(error) if job.attempts >= job.max_attempts => {
            tracing::error!(job = %job.kind, id = %job.id, attempts = job.attempts, %error, "job failed; giving up");
            store.fail_job(job.id, &error, None).await
        }
        Some(error) => {
            let retry_at = Timestamp::now().plus(backoff(job.attempts));
            tracing::warn!(job = %job.kind, id = %job.id, attempts = job.attempts, %error, %retry_at, "job failed; will retry");
            store.fail_job(job.id, &error, Some(retry_at)).await
        }
    };
    if let Err(e) = recorded {
        // The lease expires and the job runs again; jobs are written to tolerate that.
        tracing::warn!(job = %job.kind, id = %job.id, error = %e, "cannot record the job's outcome");
    }
}

/// 10 s, 20 s, 40 s, … capped at an hour.
pub(crate) fn backoff(attempts: i32) -> Duration {
    let exp = attempts.clamp(1, 16) as u32 - 1;
    Duration::from_secs(10u64.saturating_mul(1 << exp)).min(Duration::from_secs(3600))
}

#[cfg(test)]
mod tests {
    use super::backoff;
    use std::time::Duration;

    #[test]
    fn backoff_grows_and_caps() {
        assert_eq!(backoff(1), Duration::from_secs(10));
        assert_eq!(backoff(2), Duration::from_secs(20));
        assert_eq!(backoff(4), Duration::from_secs(80));
        assert_eq!(backoff(30), Duration::from_secs(3600));
    }
}
