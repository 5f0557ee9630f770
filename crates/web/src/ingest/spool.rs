//! Group commit: one task appends the payloads of all waiting requests to the durable
//! queue in one transaction, then answers each of them.
//!
//! While a commit is in flight new requests gather in the channel and go into the
//! next one, so the batch size adapts to the load: one request alone is committed at
//! once; under load a commit also waits a moment for more ([`GATHER`]), and hundreds
//! can share one fsync. The channel is bounded; when it is full, requests are refused
//! with 503 rather than buffered.
//!
//! When this process also digests, committed payloads are handed to the digest in
//! memory, decoded ([`Handoff`]), as long as it has room.

use std::sync::Arc;

use faultline_store::{Handoff, NewQueued, Queued, Store, Timestamp};
use tokio::sync::{mpsc, oneshot};
use tokio_util::task::TaskTracker;

use super::IngestError;

/// Requests waiting for a commit, at most.
const CAPACITY: usize = 4096;
/// Payloads per commit, at most.
const MAX_BATCH: usize = 1024;
/// Payload bytes per commit, at most.
const MAX_BATCH_BYTES: usize = 32 * 1024 * 1024;
/// Under load (the previous commit held at least [`BUSY`] payloads), a commit waits
/// once for [`GATHER`] (about a millisecond: tokio's timer ticks in milliseconds) for
/// company before it starts, so each fsync and each rewrite of the queue's pages
/// serves more payloads: about a fifth less CPU in SQLite per event under full load
/// (docs/benchmarks.md). Light load never waits.
const BUSY: usize = 4;
const GATHER: std::time::Duration = std::time::Duration::from_micros(500);

type Done = oneshot::Sender<Result<(), String>>;

/// An accepted payload on its way to the queue.
pub(crate) struct Spooled {
    /// The row as stored (the envelope compressed, or plain when small).
    pub row: NewQueued,
    /// The plain envelope and the meta that goes with it, when the stored one is
    /// compressed.
    pub plain: Option<(Vec<u8>, String)>,
}

/// The parts of a spooled payload that only the in-process digest needs.
type Plain = Option<(Vec<u8>, String)>;

/// The row as the digest sees it after a claim, but with the plain envelope.
fn handed(row: NewQueued, plain: Plain, id: faultline_store::QueueId, lease_until: Timestamp) -> Queued {
    let (payload, meta) = plain.unwrap_or((row.payload, row.meta));
    Queued {
        id,
        project_id: row.project_id,
        received_at: row.received_at,
        meta,
        payload,
        attempts: 1,
        locked_until: Some(lease_until),
    }
}

/// The handle requests use to append to the queue.
pub struct Spooler {
    tx: mpsc::Sender<(Spooled, Done)>,
    hands_off: bool,
}

impl Spooler {
    /// Starts the committing task on `tasks`; it ends once every handle is dropped and
    /// the channel is drained, so shutdown never loses an accepted payload. With a
    /// `handoff`, committed payloads go to this process's digest.
    pub fn start(store: Store, tasks: &TaskTracker, handoff: Option<Arc<Handoff>>) -> Spooler {
        let (tx, rx) = mpsc::channel(CAPACITY);
        let hands_off = handoff.is_some();
        tasks.spawn(run(store, rx, handoff));
        Spooler { tx, hands_off }
    }

    /// Whether committed payloads go to a digest in this process (which wants them
    /// plain: see [`Spooled::plain`]).
    pub(crate) fn hands_off(&self) -> bool {
        self.hands_off
    }

    /// Appends a payload; returns once it is durable.
    pub(crate) async fn append(&self, item: Spooled) -> Result<(), IngestError> {
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

async fn run(store: Store, mut rx: mpsc::Receiver<(Spooled, Done)>, handoff: Option<Arc<Handoff>>) {
    let mut rows: Vec<NewQueued> = Vec::with_capacity(MAX_BATCH);
    let mut plains: Vec<Plain> = Vec::with_capacity(MAX_BATCH);
    let mut dones = Vec::with_capacity(MAX_BATCH);
    let mut last = 0;
    while let Some((item, done)) = rx.recv().await {
        let mut bytes = item.row.payload.len();
        rows.push(item.row);
        plains.push(item.plain);
        dones.push(done);
        let mut waited = last < BUSY;
        while rows.len() < MAX_BATCH && bytes < MAX_BATCH_BYTES {
            match rx.try_recv() {
                Ok((item, done)) => {
                    bytes += item.row.payload.len();
                    rows.push(item.row);
                    plains.push(item.plain);
                    dones.push(done);
                }
                Err(_) if !waited => {
                    waited = true;
                    tokio::time::sleep(GATHER).await;
                }
                Err(_) => break,
            }
        }
        last = rows.len();
        let plain_bytes: usize =
            rows.iter().zip(&plains).map(|(r, p)| p.as_ref().map_or(r.payload.len(), |(b, _)| b.len())).sum();
        let hand = handoff.as_ref().filter(|h| h.reserve(rows.len(), plain_bytes));
        // No later than the lease the store gives the rows.
        let lease_until = Timestamp::now().plus(Handoff::LEASE);
        let result = store.enqueue(&rows, hand.map(|_| Handoff::LEASE)).await.map_err(|e| e.to_string());
        tracing::trace!(payloads = rows.len(), bytes, ok = result.is_ok(), handed = hand.is_some(), "group commit");
        for done in dones.drain(..) {
            let _ = done.send(result.as_ref().map(|_| ()).map_err(Clone::clone));
        }
        match (result, hand) {
            (Ok(ids), Some(h)) => {
                h.push(
                    rows.drain(..)
                        .zip(plains.drain(..))
                        .zip(ids)
                        .map(|((row, plain), id)| handed(row, plain, id, lease_until)),
                );
            }
            (Err(_), Some(h)) => h.unreserve(rows.len(), plain_bytes),
            (Ok(_), None) => {
                if let Some(h) = &handoff {
                    h.wake();
                }
            }
            (Err(_), None) => {}
        }
        rows.clear();
        plains.clear();
    }
    tracing::debug!("spooler drained and stopped");
}
