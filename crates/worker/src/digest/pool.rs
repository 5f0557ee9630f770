//! The digest's processing threads. Normalizing events is CPU-bound and never urgent
//! (the client was answered when its payload was spooled), so it runs on threads of
//! its own at a lower scheduling priority (nice 5): when both compete for a core,
//! requests being served go first, which keeps accept latency low while a batch is
//! processed.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{mpsc, Arc, Mutex};

use thread_priority::{set_current_thread_priority, ThreadPriority, ThreadPriorityValue};
use tokio::sync::oneshot;

type Job = Box<dyn FnOnce() + Send>;

/// A fixed set of low-priority threads; they exit when the pool is dropped.
pub(crate) struct Pool {
    jobs: mpsc::Sender<Job>,
}

/// `ThreadPriorityValue` 35 maps to nice 5 on Linux (0 → 19, 99 → -20).
const PRIORITY: u8 = 35;

impl Pool {
    pub(crate) fn new(threads: usize) -> Pool {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads.max(1) {
            let queue = queue.clone();
            let spawned = std::thread::Builder::new().name(format!("faultline-digest-{n}")).spawn(move || {
                if let Ok(p) = ThreadPriorityValue::try_from(PRIORITY) {
                    // Not fatal: the work is the same at normal priority.
                    if let Err(e) = set_current_thread_priority(ThreadPriority::Crossplatform(p)) {
                        tracing::debug!(error = ?e, "cannot lower the digest threads' priority");
                    }
                }
                loop {
                    let job = queue.lock().unwrap_or_else(|e| e.into_inner()).recv();
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                }
            });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a digest thread");
            }
        }
        Pool { jobs }
    }

    /// Runs `f` on a pool thread; a panic comes back as an error.
    pub(crate) async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T, String> {
        let (done, result) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(catch_unwind(AssertUnwindSafe(f)));
        });
        self.jobs.send(job).map_err(|_| "the digest threads are gone".to_string())?;
        match result.await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(panic)) => {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a panic".into());
                Err(format!("event processing panicked: {message}"))
            }
            Err(_) => Err("a digest thread stopped".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_jobs_and_reports_panics() {
        let pool = Pool::new(2);
        assert_eq!(pool.run(|| 2 + 2).await, Ok(4));
        let err = pool.run(|| -> u8 { panic!("bad event") }).await.unwrap_err();
        assert!(err.contains("bad event"), "{err}");
        assert_eq!(pool.run(|| "still serving").await, Ok("still serving"), "a panic does not kill the pool");
    }
}
