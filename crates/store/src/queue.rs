//! The durable ingest queue: accepted payloads wait here until digested.
//!
//! Ingest appends many requests' payloads in one transaction (group commit) and only
//! then answers them; digest workers claim batches with a lease, store their contents
//! and consume the rows. A worker that dies leaves its lease to expire, and the rows
//! are claimed again: every row's contents are stored exactly once.
//!
//! Where the rows live:
//! - **PostgreSQL**: `ingest_queue`. A digest batch deletes its rows in the
//!   transaction that stores their contents, so exactly one batch stores each row.
//! - **SQLite**: the spool, `ingest_queue` in a file of its own (`spool!`), so that
//!   appending never waits for the main database's single writer, and each group
//!   commit is one statement. A digest batch records a receipt per row
//!   (`ingest_digested`) in the main transaction that stores the contents, skipping
//!   rows that already have one, and deletes the rows from the spool after that
//!   commits. A batch that died in between leaves its rows; once their lease expires
//!   they are claimed again, and their receipts show they were stored, so they are
//!   only deleted. Receipts are needed while some batch may still store their rows:
//!   rows are claimed only while they exist, and a batch stores rows only within
//!   their lease ([`DigestBatch::lease_until`]), so receipts of rows that were gone
//!   from the spool [`RECEIPTS_KEPT`] ago are pruned.
//!   Internal producers whose rows must be queued atomically with their cause (cron
//!   failure events) use `ingest_queue` in the main database, deleted in the main
//!   transaction as on PostgreSQL; those rows carry negative [`QueueId`]s, so the two
//!   never collide.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use faultline_config::DatabaseKind;
use sqlx::QueryBuilder;

use crate::backend::Backend;
use crate::{ProjectId, QueueId, Result, Store, Timestamp};

/// Request facts stored with each queued payload (the `meta` column, JSON): what
/// ingest learned that the digest needs.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct QueueMeta {
    /// The client's IP address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ip: Option<String>,
    /// The key that sent it.
    #[serde(default)]
    pub key_id: i64,
    /// `sentry_client` from the auth header (`name/version`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdk_client: Option<String>,
    /// The request's `User-Agent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// The id assigned at ingest to an event that came without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// How the payload is compressed (`gzip`, `deflate`, `br`, `zstd`), if it is:
    /// ingest stores compressed bodies as they arrived, without recompressing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
}

/// A payload to append.
#[derive(Debug, Clone)]
pub struct NewQueued {
    /// The project it was accepted for.
    pub project_id: ProjectId,
    /// When it was accepted.
    pub received_at: Timestamp,
    /// Request facts the digest needs (JSON: client IP, SDK header, …).
    pub meta: String,
    /// The body, as an envelope.
    pub payload: Vec<u8>,
}

/// A claimed queue row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Queued {
    /// Row id.
    pub id: QueueId,
    /// Project.
    pub project_id: ProjectId,
    /// When it was accepted.
    pub received_at: Timestamp,
    /// Request facts (JSON).
    pub meta: String,
    /// The envelope.
    pub payload: Vec<u8>,
    /// How many times it has been claimed, this time included.
    pub attempts: i32,
    /// When the claim's lease ends.
    pub locked_until: Option<Timestamp>,
}

/// How long receipts outlive their spool rows. Far longer than any lease plus the
/// time a batch's transaction takes: a batch that stores its rows later than this
/// after their lease could store them twice.
pub(crate) const RECEIPTS_KEPT: Duration = Duration::from_secs(120);
/// A batch stores its rows only if their lease has at least this much left, so its
/// transaction ends within the lease.
pub(crate) const LEASE_MARGIN: Duration = Duration::from_secs(10);

/// Freshly spooled rows handed straight to the digest of the same process, decoded,
/// so that it neither reads them back nor decodes them again. They are spooled
/// already claimed (with [`Handoff::LEASE`]), so no other worker takes them unless
/// this process dies. Bounded in rows and bytes: what does not fit stays in the queue,
/// unclaimed, for any worker to claim.
pub struct Handoff {
    rows: Mutex<VecDeque<Queued>>,
    /// Rows and payload bytes held or reserved.
    held: Mutex<(usize, usize)>,
    wakeup: tokio::sync::Notify,
}

impl Handoff {
    /// The lease of handed-over rows; the digest takes them well within it.
    pub const LEASE: Duration = Duration::from_secs(30);
    const MAX_ROWS: usize = 8192;
    const MAX_BYTES: usize = 8 << 20;

    /// An empty handoff.
    pub fn new() -> Handoff {
        Handoff { rows: Mutex::default(), held: Mutex::default(), wakeup: tokio::sync::Notify::new() }
    }

    /// Reserves room for `rows` rows of `bytes` payload bytes; false when they do not
    /// fit (they then go to the queue unclaimed).
    pub fn reserve(&self, rows: usize, bytes: usize) -> bool {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        if held.0 + rows > Self::MAX_ROWS || held.1 + bytes > Self::MAX_BYTES {
            return false;
        }
        *held = (held.0 + rows, held.1 + bytes);
        true
    }

    /// Gives back a reservation that will not be used (the append failed).
    pub fn unreserve(&self, rows: usize, bytes: usize) {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        *held = (held.0.saturating_sub(rows), held.1.saturating_sub(bytes));
    }

    /// Hands over rows whose room was reserved, and wakes the digest.
    pub fn push(&self, rows: impl IntoIterator<Item = Queued>) {
        self.rows.lock().unwrap_or_else(|e| e.into_inner()).extend(rows);
        self.wake();
    }

    /// Takes up to `max` rows, oldest first.
    pub fn take(&self, max: usize) -> Vec<Queued> {
        let taken: Vec<Queued> = {
            let mut rows = self.rows.lock().unwrap_or_else(|e| e.into_inner());
            let n = max.min(rows.len());
            rows.drain(..n).collect()
        };
        self.unreserve(taken.len(), taken.iter().map(|r| r.payload.len()).sum());
        taken
    }

    /// Wakes the digest (new rows here or in the queue).
    pub fn wake(&self) {
        self.wakeup.notify_one();
    }

    /// Waits for [`Handoff::wake`].
    pub async fn woken(&self) {
        self.wakeup.notified().await;
    }
}

impl Default for Handoff {
    fn default() -> Self {
        Handoff::new()
    }
}

const CLAIM_POSTGRES: &str = "UPDATE ingest_queue SET locked_until = $1, attempts = attempts + 1
     WHERE id IN (SELECT id FROM ingest_queue WHERE locked_until IS NULL OR locked_until < $2
                  ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED)
     RETURNING id, project_id, received_at, meta, payload, attempts, locked_until";
const CLAIM_SQLITE: &str = "UPDATE ingest_queue SET locked_until = $1, attempts = attempts + 1
     WHERE id IN (SELECT id FROM ingest_queue WHERE locked_until IS NULL OR locked_until < $2
                  ORDER BY id LIMIT $3)
     RETURNING id, project_id, received_at, meta, payload, attempts, locked_until";

/// Ids split by where their rows live: (spool, main database's `ingest_queue` as
/// stored, i.e. positive).
fn split(ids: &[QueueId]) -> (Vec<QueueId>, Vec<QueueId>) {
    let (spool, main): (Vec<QueueId>, Vec<QueueId>) = ids.iter().partition(|id| id.0 > 0);
    (spool, main.into_iter().map(|id| QueueId(-id.0)).collect())
}

/// `UPDATE … SET <set> WHERE id IN (…)` or a `DELETE`, chunked, on the pool chosen
/// by `$which` (`spool` or `write`); the id column is `id` unless named.
macro_rules! by_ids {
    ($which:ident, $store:expr, $ids:expr, |$q:ident| $head:expr) => {
        by_ids!($which, $store, $ids, |$q| $head, "id")
    };
    ($which:ident, $store:expr, $ids:expr, |$q:ident| $head:expr, $column:literal) => {
        for chunk in $ids.chunks(crate::chunks::IN_LIST) {
            $which!($store, |pool| {
                let mut $q = QueryBuilder::new("");
                $head;
                $q.push(concat!(" WHERE ", $column, " IN ("));
                let mut list = $q.separated(", ");
                for id in crate::chunks::padded(chunk) {
                    list.push_bind(*id);
                }
                $q.push(")");
                $q.build().execute(pool).await.map(|r| r.rows_affected())
            })?;
        }
    };
}

impl Store {
    /// Appends payloads to the spool (one statement per thousand) and returns their
    /// ids, in order; when this returns they are durable. With a `lease`, the rows
    /// are inserted already claimed for that long: the caller hands them to a digest
    /// in this process, and other workers take them only if that lease expires.
    pub async fn enqueue(&self, items: &[NewQueued], lease: Option<Duration>) -> Result<Vec<QueueId>> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let locked_until = lease.map(|l| Timestamp::now().plus(l));
        // A macro, not a closure: the builder's database type differs per arm.
        macro_rules! insert {
            ($chunk:expr) => {{
                let mut q = QueryBuilder::new(
                    "INSERT INTO ingest_queue (project_id, received_at, meta, payload, locked_until) ",
                );
                q.push_values($chunk, |mut row, item| {
                    row.push_bind(item.project_id)
                        .push_bind(item.received_at)
                        .push_bind(&item.meta)
                        .push_bind(&item.payload)
                        .push_bind(locked_until);
                });
                q
            }};
        }
        let mut ids: Vec<QueueId> = Vec::with_capacity(items.len());
        match &self.backend {
            Backend::Sqlite { spool, .. } => {
                // One statement commits on its own; several share a transaction.
                let mut tx = if items.len() > ENQUEUE_CHUNK { Some(spool.begin().await?) } else { None };
                for chunk in items.chunks(ENQUEUE_CHUNK) {
                    let mut q = insert!(chunk);
                    let done = match tx.as_mut() {
                        Some(tx) => {
                            q.build().persistent(crate::chunks::keep_prepared(chunk.len())).execute(&mut **tx).await?
                        }
                        None => q.build().persistent(crate::chunks::keep_prepared(chunk.len())).execute(spool).await?,
                    };
                    // The spool has one writer, so the rows of one statement get
                    // consecutive ids ending at the last one inserted.
                    let last = done.last_insert_rowid();
                    ids.extend((last - chunk.len() as i64 + 1..=last).map(QueueId));
                }
                if let Some(tx) = tx {
                    tx.commit().await?;
                }
            }
            Backend::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                for chunk in items.chunks(ENQUEUE_CHUNK) {
                    let mut q = insert!(chunk);
                    q.push(" RETURNING id");
                    // nextval is called per row in order, so sorted the ids line up
                    // with the items even when other sessions insert meanwhile.
                    let mut chunk_ids: Vec<QueueId> = q
                        .build_query_scalar()
                        .persistent(crate::chunks::keep_prepared(chunk.len()))
                        .fetch_all(&mut *tx)
                        .await?;
                    chunk_ids.sort_unstable();
                    ids.extend(chunk_ids);
                }
                tx.commit().await?;
            }
        }
        Ok(ids)
    }

    /// Claims up to `limit` unclaimed (or lease-expired) rows, oldest first, for `lease`.
    pub async fn claim_queued(&self, limit: usize, lease: Duration) -> Result<Vec<Queued>> {
        let now = Timestamp::now();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let sql = match self.kind() {
            DatabaseKind::Postgres => CLAIM_POSTGRES,
            DatabaseKind::Sqlite => CLAIM_SQLITE,
        };
        let mut rows = spool!(self, |pool| sqlx::query_as::<_, Queued>(sql)
            .bind(now.plus(lease))
            .bind(now)
            .bind(limit)
            .fetch_all(pool)
            .await)?;
        let room = limit - rows.len() as i64;
        if self.kind() == DatabaseKind::Sqlite && room > 0 {
            let main = write!(self, |pool| sqlx::query_as::<_, Queued>(CLAIM_SQLITE)
                .bind(now.plus(lease))
                .bind(now)
                .bind(room)
                .fetch_all(pool)
                .await)?;
            rows.extend(main.into_iter().map(|r| Queued { id: QueueId(-r.id.0), ..r }));
        }
        // Oldest first: spool rows, then the in-database queue's.
        rows.sort_by_key(|r| if r.id.0 > 0 { (0, r.id.0) } else { (1, -r.id.0) });
        Ok(rows)
    }

    /// Removes rows (digested elsewhere, or in tests).
    pub async fn delete_queued(&self, ids: &[QueueId]) -> Result<()> {
        let (spool, main) = split(ids);
        by_ids!(spool, self, spool, |q| q.push("DELETE FROM ingest_queue"));
        by_ids!(write, self, main, |q| q.push("DELETE FROM ingest_queue"));
        Ok(())
    }

    /// Returns claimed rows to the queue at once (a worker shutting down, or a batch
    /// that failed before its contents were stored).
    pub async fn release_queued(&self, ids: &[QueueId]) -> Result<()> {
        let (spool, main) = split(ids);
        by_ids!(spool, self, spool, |q| q.push("UPDATE ingest_queue SET locked_until = NULL"));
        by_ids!(write, self, main, |q| q.push("UPDATE ingest_queue SET locked_until = NULL"));
        Ok(())
    }

    /// Puts rows aside for `secs` seconds (a payload that keeps failing must not
    /// block the queue; it is retried later rather than dropped).
    pub async fn park_queued(&self, ids: &[QueueId], secs: i64) -> Result<()> {
        let until = Timestamp::now().plus_secs(secs);
        let (spool, main) = split(ids);
        by_ids!(spool, self, spool, |q| {
            q.push("UPDATE ingest_queue SET locked_until = ");
            q.push_bind(until);
        });
        by_ids!(write, self, main, |q| {
            q.push("UPDATE ingest_queue SET locked_until = ");
            q.push_bind(until);
        });
        Ok(())
    }

    /// Rows waiting or being digested.
    pub async fn queue_depth(&self) -> Result<i64> {
        let sql = "SELECT COUNT(*) FROM ingest_queue";
        let mut n = spool!(self, |pool| sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await)?;
        if self.kind() == DatabaseKind::Sqlite {
            n += read!(self, |pool| sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await)?;
        }
        Ok(n)
    }

    /// A cheap estimate of the queue depth (the id span of waiting rows), for
    /// back-pressure checks on every request.
    pub async fn queue_depth_estimate(&self) -> Result<i64> {
        // Two subqueries: SQLite answers a lone MIN or MAX from the index, but scans
        // the whole table for both in one SELECT.
        let sql = "SELECT COALESCE((SELECT MAX(id) FROM ingest_queue) - (SELECT MIN(id) FROM ingest_queue) + 1, 0)";
        let mut n = spool!(self, |pool| sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await)?;
        if self.kind() == DatabaseKind::Sqlite {
            n += read!(self, |pool| sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await)?;
        }
        Ok(n)
    }

    /// The oldest spooled rows, without claiming them (for diagnostics and tests).
    pub async fn peek_queued(&self, limit: i64) -> Result<Vec<Queued>> {
        let rows = spool!(self, |pool| {
            sqlx::query_as::<_, Queued>(
            "SELECT id, project_id, received_at, meta, payload, attempts, locked_until FROM ingest_queue ORDER BY id LIMIT $1"
        )
        .bind(limit)
        .fetch_all(pool)
        .await
        })?;
        Ok(rows)
    }

    /// SQLite: after a batch's transaction committed, deletes its spool rows, and now
    /// and then notes the spool's floor (its smallest id) for pruning receipts. A
    /// failure here only leaves rows whose receipts make their next claim skip them.
    pub(crate) async fn consume_spooled(&self, ids: &[QueueId]) -> Result<()> {
        let Backend::Sqlite { spool, .. } = &self.backend else { return Ok(()) };
        let (ids, _) = split(ids);
        by_ids!(spool, self, ids, |q| q.push("DELETE FROM ingest_queue"));
        let due = self
            .spool_floors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .back()
            .is_none_or(|(at, _)| at.elapsed() >= FLOOR_EVERY);
        if due {
            let floor: i64 = sqlx::query_scalar(SPOOL_FLOOR).fetch_one(spool).await?;
            let mut floors = self.spool_floors.lock().unwrap_or_else(|e| e.into_inner());
            floors.push_back((std::time::Instant::now(), floor));
            // Keep one observation older than RECEIPTS_KEPT, the one pruning uses.
            while floors.len() > 1 && floors[1].0.elapsed() >= RECEIPTS_KEPT {
                floors.pop_front();
            }
        }
        Ok(())
    }

    /// SQLite: receipts below this id can go: their rows were gone from the spool
    /// [`RECEIPTS_KEPT`] ago.
    pub(crate) fn receipts_floor(&self) -> i64 {
        let floors = self.spool_floors.lock().unwrap_or_else(|e| e.into_inner());
        floors.iter().rev().find(|(at, _)| at.elapsed() >= RECEIPTS_KEPT).map_or(0, |(_, floor)| *floor)
    }

    /// SQLite, at migration: a spool that never held a row is new (a first start, or
    /// its file was removed), so any receipts belong to another spool's ids.
    pub(crate) async fn reset_receipts_of_a_new_spool(&self) -> Result<()> {
        let Backend::Sqlite { spool, write, .. } = &self.backend else { return Ok(()) };
        let used: Option<i64> = sqlx::query_scalar("SELECT seq FROM sqlite_sequence WHERE name = 'ingest_queue'")
            .fetch_optional(spool)
            .await?;
        if used.is_none() {
            sqlx::query("DELETE FROM ingest_digested").execute(write).await?;
        }
        Ok(())
    }
}

/// Rows per INSERT when spooling.
const ENQUEUE_CHUNK: usize = 1000;
/// How often the spool's floor is noted.
const FLOOR_EVERY: Duration = Duration::from_secs(10);
/// The spool's smallest id, or the next one when it is empty.
const SPOOL_FLOOR: &str = "SELECT COALESCE((SELECT MIN(id) FROM ingest_queue),
    (SELECT seq + 1 FROM sqlite_sequence WHERE name = 'ingest_queue'), 0)";

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, bytes: usize) -> Queued {
        Queued {
            id: QueueId(id),
            project_id: ProjectId(1),
            received_at: Timestamp::now(),
            meta: "{}".into(),
            payload: vec![0; bytes],
            attempts: 1,
            locked_until: None,
        }
    }

    #[test]
    fn handoff_is_bounded_and_gives_back_room() {
        let h = Handoff::new();
        assert!(h.reserve(2, 1000));
        assert!(!h.reserve(1, Handoff::MAX_BYTES), "bytes are bounded");
        assert!(!h.reserve(Handoff::MAX_ROWS, 1), "rows are bounded");
        h.push([row(1, 600), row(2, 400)]);
        assert_eq!(h.take(1).iter().map(|r| r.id.0).collect::<Vec<_>>(), [1], "oldest first");
        assert_eq!(*h.held.lock().unwrap(), (1, 400), "taking gives back room");
        assert_eq!(h.take(10).len(), 1);
        assert!(h.take(10).is_empty());
        assert!(h.reserve(Handoff::MAX_ROWS, Handoff::MAX_BYTES), "all room is free again");
        h.unreserve(Handoff::MAX_ROWS, Handoff::MAX_BYTES);
        assert_eq!(*h.held.lock().unwrap(), (0, 0));
    }

    #[test]
    fn ids_split_by_sign() {
        let (spool, main) = split(&[QueueId(3), QueueId(-7), QueueId(5), QueueId(-1)]);
        assert_eq!(spool, [QueueId(3), QueueId(5)]);
        assert_eq!(main, [QueueId(7), QueueId(1)]);
    }
}
