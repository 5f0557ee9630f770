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
//!   appending never waits for the main database's single writer. A digest batch
//!   first marks its rows `committing` in the spool, which only succeeds for rows no
//!   other batch is committing ([`Store::mark_committing`]): from then on the rows are
//!   its alone. It records a receipt per row (`ingest_digested`) in the main
//!   transaction that stores the contents, and deletes the rows from the spool after
//!   that commits. A batch that died in between leaves marked rows; once their mark
//!   expires they are claimed again, and their receipts show they were stored, so
//!   they are only deleted. Receipts of rows gone from the spool (ids below its
//!   smallest) are pruned in later transactions.
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
}

/// How long a SQLite spool row marked by a committing digest batch stays its own. A
/// batch that takes longer than this to store its contents could be stored twice.
const COMMIT_LEASE: Duration = Duration::from_secs(600);

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
    const MAX_BYTES: usize = 32 << 20;

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
     RETURNING id, project_id, received_at, meta, payload, attempts";
/// SQLite's spool keeps payloads apart (fetched after the claim).
const CLAIM_SPOOL: &str = "UPDATE ingest_queue SET locked_until = $1, attempts = attempts + 1
     WHERE id IN (SELECT id FROM ingest_queue WHERE locked_until IS NULL OR locked_until < $2
                  ORDER BY id LIMIT $3)
     RETURNING id, project_id, received_at, meta, attempts";
/// SQLite's in-database queue (internal producers).
const CLAIM_SQLITE_MAIN: &str = "UPDATE ingest_queue SET locked_until = $1, attempts = attempts + 1
     WHERE id IN (SELECT id FROM ingest_queue WHERE locked_until IS NULL OR locked_until < $2
                  ORDER BY id LIMIT $3)
     RETURNING id, project_id, received_at, meta, payload, attempts";

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
        for chunk in $ids.chunks(500) {
            $which!($store, |pool| {
                let mut $q = QueryBuilder::new("");
                $head;
                $q.push(concat!(" WHERE ", $column, " IN ("));
                let mut list = $q.separated(", ");
                for id in chunk {
                    list.push_bind(*id);
                }
                $q.push(")");
                $q.build().execute(pool).await.map(|r| r.rows_affected())
            })?;
        }
    };
}

impl Store {
    /// Appends payloads to the spool in one transaction (multi-row inserts) and
    /// returns their ids, in order; when this returns they are durable. With a
    /// `lease`, the rows are inserted already claimed for that long: the caller hands
    /// them to a digest in this process, and other workers take them only if that
    /// lease expires.
    pub async fn enqueue(&self, items: &[NewQueued], lease: Option<Duration>) -> Result<Vec<QueueId>> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let locked_until = lease.map(|l| Timestamp::now().plus(l));
        let mut ids: Vec<QueueId> = Vec::with_capacity(items.len());
        match &self.backend {
            Backend::Sqlite { spool, .. } => {
                let mut tx = spool.begin().await?;
                for chunk in items.chunks(200) {
                    let mut q =
                        QueryBuilder::new("INSERT INTO ingest_queue (project_id, received_at, meta, locked_until) ");
                    q.push_values(chunk, |mut row, item| {
                        row.push_bind(item.project_id)
                            .push_bind(item.received_at)
                            .push_bind(&item.meta)
                            .push_bind(locked_until);
                    });
                    // The spool has one writer, so the rows of one statement get
                    // consecutive ids ending at the last one inserted.
                    let last = q.build().execute(&mut *tx).await?.last_insert_rowid();
                    let first = last - chunk.len() as i64 + 1;
                    let mut q = QueryBuilder::new("INSERT INTO ingest_payloads (queue_id, payload) ");
                    q.push_values(chunk.iter().enumerate(), |mut row, (i, item)| {
                        row.push_bind(first + i as i64).push_bind(&item.payload);
                    });
                    q.build().execute(&mut *tx).await?;
                    ids.extend((first..=last).map(QueueId));
                }
                tx.commit().await?;
            }
            Backend::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                for chunk in items.chunks(200) {
                    let mut q = QueryBuilder::new(
                        "INSERT INTO ingest_queue (project_id, received_at, meta, payload, locked_until) ",
                    );
                    q.push_values(chunk, |mut row, item| {
                        row.push_bind(item.project_id)
                            .push_bind(item.received_at)
                            .push_bind(&item.meta)
                            .push_bind(&item.payload)
                            .push_bind(locked_until);
                    });
                    q.push(" RETURNING id");
                    // nextval is called per row in order, so sorted the ids line up
                    // with the items even when other sessions insert meanwhile.
                    let mut chunk_ids: Vec<QueueId> = q.build_query_scalar().fetch_all(&mut *tx).await?;
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
        let mut rows = match &self.backend {
            Backend::Sqlite { spool, write, .. } => {
                let claimed: Vec<(QueueId, ProjectId, Timestamp, String, i32)> =
                    sqlx::query_as(CLAIM_SPOOL).bind(now.plus(lease)).bind(now).bind(limit).fetch_all(spool).await?;
                let mut payloads = std::collections::HashMap::with_capacity(claimed.len());
                for chunk in claimed.chunks(500) {
                    let mut q = QueryBuilder::new("SELECT queue_id, payload FROM ingest_payloads WHERE queue_id IN (");
                    let mut list = q.separated(", ");
                    for row in chunk {
                        list.push_bind(row.0);
                    }
                    q.push(")");
                    let found: Vec<(QueueId, Vec<u8>)> = q.build_query_as().fetch_all(spool).await?;
                    payloads.extend(found);
                }
                let mut rows: Vec<Queued> = claimed
                    .into_iter()
                    .map(|(id, project_id, received_at, meta, attempts)| Queued {
                        payload: payloads.remove(&id).unwrap_or_default(),
                        id,
                        project_id,
                        received_at,
                        meta,
                        attempts,
                    })
                    .collect();
                let room = limit - rows.len() as i64;
                if room > 0 {
                    let main: Vec<Queued> = sqlx::query_as(CLAIM_SQLITE_MAIN)
                        .bind(now.plus(lease))
                        .bind(now)
                        .bind(room)
                        .fetch_all(write)
                        .await?;
                    rows.extend(main.into_iter().map(|r| Queued { id: QueueId(-r.id.0), ..r }));
                }
                rows
            }
            Backend::Postgres(pool) => {
                sqlx::query_as(CLAIM_POSTGRES).bind(now.plus(lease)).bind(now).bind(limit).fetch_all(pool).await?
            }
        };
        // Oldest first: spool rows, then the in-database queue's.
        rows.sort_by_key(|r| if r.id.0 > 0 { (0, r.id.0) } else { (1, -r.id.0) });
        Ok(rows)
    }

    /// Removes rows (digested elsewhere, or in tests).
    pub async fn delete_queued(&self, ids: &[QueueId]) -> Result<()> {
        let (spool, main) = split(ids);
        if self.kind() == DatabaseKind::Sqlite {
            by_ids!(spool, self, spool, |q| q.push("DELETE FROM ingest_queue"));
            by_ids!(spool, self, spool, |q| q.push("DELETE FROM ingest_payloads"), "queue_id");
        } else {
            by_ids!(spool, self, spool, |q| q.push("DELETE FROM ingest_queue"));
        }
        by_ids!(write, self, main, |q| q.push("DELETE FROM ingest_queue"));
        Ok(())
    }

    /// Returns claimed rows to the queue at once (a worker shutting down, or a batch
    /// that failed before its contents were stored).
    pub async fn release_queued(&self, ids: &[QueueId]) -> Result<()> {
        let (spool, main) = split(ids);
        let sql = match self.kind() {
            DatabaseKind::Sqlite => "UPDATE ingest_queue SET locked_until = NULL, committing = FALSE",
            DatabaseKind::Postgres => "UPDATE ingest_queue SET locked_until = NULL",
        };
        by_ids!(spool, self, spool, |q| q.push(sql));
        by_ids!(write, self, main, |q| q.push("UPDATE ingest_queue SET locked_until = NULL"));
        Ok(())
    }

    /// Puts rows aside for `secs` seconds (a payload that keeps failing must not
    /// block the queue; it is retried later rather than dropped).
    pub async fn park_queued(&self, ids: &[QueueId], secs: i64) -> Result<()> {
        let until = Timestamp::now().plus_secs(secs);
        let (spool, main) = split(ids);
        let sql = match self.kind() {
            DatabaseKind::Sqlite => "UPDATE ingest_queue SET committing = FALSE, locked_until = ",
            DatabaseKind::Postgres => "UPDATE ingest_queue SET locked_until = ",
        };
        by_ids!(spool, self, spool, |q| {
            q.push(sql);
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
        let sql = match self.kind() {
            DatabaseKind::Sqlite => {
                "SELECT q.id, q.project_id, q.received_at, q.meta, p.payload, q.attempts
                 FROM ingest_queue q JOIN ingest_payloads p ON p.queue_id = q.id ORDER BY q.id LIMIT $1"
            }
            DatabaseKind::Postgres => {
                "SELECT id, project_id, received_at, meta, payload, attempts FROM ingest_queue ORDER BY id LIMIT $1"
            }
        };
        let rows = spool!(self, |pool| sqlx::query_as::<_, Queued>(sql).bind(limit).fetch_all(pool).await)?;
        Ok(rows)
    }

    /// SQLite: marks the spool rows among `ids` as being committed by the caller, for
    /// [`COMMIT_LEASE`]; returns the ids marked. Rows another batch is committing are
    /// left out (that batch stores them); rows whose mark expired (their batch died)
    /// are marked again, and their receipts tell whether they were stored.
    pub(crate) async fn mark_committing(&self, ids: &[QueueId]) -> Result<Vec<QueueId>> {
        let Backend::Sqlite { spool, .. } = &self.backend else { return Ok(Vec::new()) };
        let now = Timestamp::now();
        let until = now.plus(COMMIT_LEASE);
        let mut marked = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let mut q = QueryBuilder::new("UPDATE ingest_queue SET committing = TRUE, locked_until = ");
            q.push_bind(until);
            q.push(" WHERE (NOT committing OR locked_until IS NULL OR locked_until < ");
            q.push_bind(now);
            q.push(") AND id IN (");
            let mut list = q.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            q.push(")");
            let n = q.build().execute(spool).await?.rows_affected();
            if n == chunk.len() as u64 {
                marked.extend_from_slice(chunk);
                continue;
            }
            // Some were not ours to mark: the ones that carry our mark are.
            let mut q = QueryBuilder::new("SELECT id FROM ingest_queue WHERE committing AND locked_until = ");
            q.push_bind(until);
            q.push(" AND id IN (");
            let mut list = q.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            q.push(")");
            let ours: Vec<QueueId> = q.build_query_scalar().fetch_all(spool).await?;
            marked.extend(ours);
        }
        Ok(marked)
    }

    /// SQLite: after a batch's transaction committed, deletes its spool rows and
    /// notes the new floor below which receipts can go (in the next batch's
    /// transaction). A failure here only leaves rows whose receipts make the next
    /// claim skip them.
    pub(crate) async fn consume_spooled(&self, ids: &[QueueId]) -> Result<()> {
        let Backend::Sqlite { spool, .. } = &self.backend else { return Ok(()) };
        let (ids, _) = split(ids);
        if ids.is_empty() {
            return Ok(());
        }
        let mut tx = spool.begin().await?;
        for (table, column) in [("ingest_queue", "id"), ("ingest_payloads", "queue_id")] {
            for chunk in ids.chunks(500) {
                let mut q = QueryBuilder::new(format!("DELETE FROM {table} WHERE {column} IN ("));
                let mut list = q.separated(", ");
                for id in chunk {
                    list.push_bind(*id);
                }
                q.push(")");
                q.build().execute(&mut *tx).await?;
            }
        }
        let floor: i64 = sqlx::query_scalar(SPOOL_FLOOR).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        self.spool_floor.fetch_max(floor, std::sync::atomic::Ordering::Relaxed);
        Ok(())
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
        let floor: i64 = sqlx::query_scalar(SPOOL_FLOOR).fetch_one(spool).await?;
        self.spool_floor.fetch_max(floor, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }
}

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
