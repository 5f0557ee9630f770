//! Group commit: one task appends the payloads of all waiting requests to the durable
//! queue in one transaction, then answers each of them.
//!
//! While a commit is in flight new requests gather in the channel and go into the
//! next one, so the batch size adapts to the load with no added delay: one request
//! alone is committed at once; under load, hundreds share one fsync. The channel is
//! bounded; when it is full, requests are refused with 503 rather than buffered.

use std::sync::Arc;

use faultline_store::{NewQueued, Store};
use tokio::sync::{mpsc, oneshot, Notify};
use tokio_util::task::TaskTracker;

use super::IngestError;

/// Requests waiting for a commit, at most.
const CAPACITY: usize = 4096;
/// Payloads per commit, at most.
const MAX_BATCH: usize = 1024;
/// Payload bytes per commit, at most.
const MAX_BATCH_BYTES: usize = 32 * 1024 * 1024;

type Done = oneshot::Sender<Result<(), String>>;

/// The handle requests use to append to the queue.
pub struct Spooler {
    tx: mpsc::Sender<(NewQueued, Done)>,
}

impl Spooler {
    /// Starts the committing task on `tasks`; it ends once every handle is dropped and
    /// the channel is drained, so shutdown never loses an accepted payload.
    pub fn start(store: Store, tasks: &TaskTracker, wakeup: Arc<Notify>) -> Spooler {
        let (tx, rx) = mpsc::channel(CAPACITY);
        tasks.spawn(run(store, rx, wakeup));
        Spooler { tx }
    }

    /// Appends a payload; returns once it is durable.
    pub async fn append(&self, item: NewQueued) -> Result<(), IngestError> {
        let (done, wait) = oneshot::channel();
        self.tx.try_send((item, done)).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => IngestError::Unavailable {
                retry_after: 5,
                detail: "the server is busy: too many events waiting to be stored; retry shortly".into(),
            },
            mpsc::error::TrySendError::Closed(_) => {
                IngestError::Unavailable { retry_after: 5, detail: "the server is shutting down".into() }
            }
        })?;
        match wait.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(IngestError::storage(&e)),
            Err(_) => Err(IngestError::Unavailable { retry_after: 5, detail: "the server is shutting down".into() }),
        }
    }
}

async fn run(store: Store, mut rx: mpsc::Receiver<(NewQueued, Done)>, wakeup: Arc<Notify>) {
    let mut items = Vec::with_capacity(MAX_BATCH);
    let mut dones = Vec::with_capacity(MAX_BATCH);
    while let Some((item, done)) = rx.recv().await {
        let mut bytes = item.payload.len();
        items.push(item);
        dones.push(done);
        while items.len() < MAX_BATCH && bytes < MAX_BATCH_BYTES {
            match rx.try_recv() {
                Ok((item, done)) => {
                    bytes += item.payload.len();
                    items.push(item);
                    dones.push(done);
                }
                Err(_) => break,
            }
        }
        let result = store.enqueue(&items).await.map_err(|e| e.to_string());
        if result.is_ok() {
            wakeup.notify_one();
        }
        tracing::trace!(payloads = items.len(), bytes, ok = result.is_ok(), "group commit");
        for done in dones.drain(..) {
            let _ = done.send(result.clone());
        }
        items.clear();
    }
    tracing::debug!("spooler drained and stopped");
}
