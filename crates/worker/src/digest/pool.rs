//! The digest's processing threads. Normalizing events is CPU-bound and never urgent
//! (the client was answered when its payload was spooled), so it runs on threads of
//! its own below the priority of requests being served, which keeps accept latency
//! low while a batch is processed.
//!
//! How far below depends on whether the digest keeps up. While it does, its threads
//! run almost only on a core nobody else wants (`SCHED_IDLE`: a weight of 3 against a
//! normal thread's 1,024): at a steady 1,000 events/s that took the p99 accept latency
//! from 4.4–5.9 ms (nice 5) to 2.7–3.7 ms. When it falls behind, that would starve it
//! while requests keep coming, so full batches (a backlog) and retries go to a second
//! set of threads at nice 5, which still get a share.
//! Two sets of threads rather than one that changes policy: an unprivileged thread
//! may enter `SCHED_IDLE` but not leave it.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{mpsc, Arc, Mutex};

use thread_priority::{
    set_thread_priority_and_policy, thread_native_id, NormalThreadSchedulePolicy, ThreadPriority, ThreadPriorityValue,
    ThreadSchedulePolicy,
};
use tokio::sync::oneshot;

type Job = Box<dyn FnOnce() + Send>;

/// How the pool's threads are scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Priority {
    /// Almost only when a core would otherwise be idle (`SCHED_IDLE`).
    Idle,
    /// Nice 5: a share of the CPU, a smaller one than requests'.
    Low,
}

impl Priority {
    fn apply(self) -> Result<(), thread_priority::Error> {
        let (priority, policy) = match self {
            Priority::Idle => (ThreadPriority::Min, NormalThreadSchedulePolicy::Idle),
            // `ThreadPriorityValue` 35 maps to nice 5 on Linux (0 → 19, 99 → -20).
            Priority::Low => (
                ThreadPriority::Crossplatform(
                    ThreadPriorityValue::try_from(35u8)
                        .map_err(|_| thread_priority::Error::Priority("out of range"))?,
                ),
                NormalThreadSchedulePolicy::Other,
            ),
        };
        set_thread_priority_and_policy(thread_native_id(), priority, ThreadSchedulePolicy::Normal(policy))
    }
}

/// A fixed set of threads at one priority; they exit when the pool is dropped.
pub(crate) struct Pool {
    jobs: mpsc::Sender<Job>,
}

impl Pool {
    pub(crate) fn new(threads: usize, priority: Priority) -> Pool {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads.max(1) {
            let queue = queue.clone();
            let name = match priority {
                Priority::Idle => format!("faultline-digest-{n}"),
                Priority::Low => format!("faultline-backlog-{n}"),
            };
            let spawned = std::thread::Builder::new().name(name).spawn(move || {
                // Not fatal: the work is the same at normal priority.
                if let Err(e) = priority.apply() {
                    tracing::debug!(error = ?e, ?priority, "cannot lower the digest threads' priority");
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
            Ok(Err(panic)) => Err(format!("event processing panicked: {}", panic_message(&*panic))),
            Err(_) => Err("a digest thread stopped".into()),
        }
    }
}

/// What a caught panic said.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".into())
}

/// Runs `f` on a thread of its own at `priority`, for rare long jobs that should
/// not hold up a pool's batches.
pub(crate) async fn run_alone<T: Send + 'static>(
    name: &str,
    priority: Priority,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    let (done, result) = oneshot::channel();
    std::thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            if let Err(e) = priority.apply() {
                tracing::debug!(error = ?e, ?priority, "cannot lower a thread's priority");
            }
            let _ = done.send(catch_unwind(AssertUnwindSafe(f)));
        })
        .map_err(|e| format!("cannot start a thread: {e}"))?;
    match result.await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(panic)) => Err(format!("{name} panicked: {}", panic_message(&*panic))),
        Err(_) => Err(format!("{name} stopped")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_jobs_and_reports_panics() {
        let pool = Pool::new(2, Priority::Low);
        assert_eq!(pool.run(|| 2 + 2).await, Ok(4));
        let err = pool.run(|| -> u8 { panic!("bad event") }).await.unwrap_err();
        assert!(err.contains("bad event"), "{err}");
        assert_eq!(pool.run(|| "still serving").await, Ok("still serving"), "a panic does not kill the pool");
        assert_eq!(run_alone("job", Priority::Low, || 6 * 7).await, Ok(42));
        let err = run_alone("job", Priority::Low, || -> u8 { panic!("no") }).await.unwrap_err();
        assert!(err.contains("panicked") && err.ends_with("no"), "{err}");
    }

    /// The calling thread's scheduling policy (0 other, 5 idle) and nice value, as the
    /// kernel reports them in `/proc/thread-self/stat`.
    fn scheduling() -> (i64, i64) {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
        // Fields after the parenthesized name, which may contain spaces; the state is
        // field 3, nice field 19, policy field 41.
        let fields: Vec<i64> =
            stat.rsplit_once(") ").unwrap().1.split(' ').skip(1).map(|f| f.trim().parse().unwrap_or(-1)).collect();
        (fields[41 - 4], fields[19 - 4])
    }

    #[tokio::test]
    async fn threads_run_at_their_priority() {
        let caller = scheduling();
        let idle = Pool::new(1, Priority::Idle);
        assert_eq!(idle.run(scheduling).await.unwrap().0, 5, "SCHED_IDLE");
        let low = Pool::new(1, Priority::Low);
        // An unprivileged thread cannot raise its priority, so under a nicer caller it stays.
        assert_eq!(low.run(scheduling).await, Ok((0, caller.1.max(5))), "SCHED_OTHER at nice 5");
        assert_eq!(scheduling(), caller, "the caller's own thread is left alone");
    }
}
