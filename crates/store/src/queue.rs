//! The durable ingest queue: accepted payloads wait here until digested.
//!
//! Ingest appends many requests' payloads in one transaction (group commit) and only
//! then answers them; digest workers claim batches with a lease, store their contents
//! and delete them. A worker that dies leaves its lease to expire, and the rows are
//! claimed again: digestion is idempotent on event id, so nothing is lost or doubled.

use std::time::Duration;

use faultline_config::DatabaseKind;
use sqlx::QueryBuilder;

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

impl Store {
    /// Appends payloads in one transaction (multi-row inserts); when this returns
    /// they are durable.
    pub async fn enqueue(&self, items: &[NewQueued]) -> Result<()> {
        if items.is_empty() {
            return Ok(());
        }
        transaction!(self, |tx| {
            for chunk in items.chunks(200) {
                let mut q = QueryBuilder::new("INSERT INTO ingest_queue (project_id, received_at, meta, payload) ");
                q.push_values(chunk, |mut row, item| {
                    row.push_bind(item.project_id)
                        .push_bind(item.received_at)
                        .push_bind(&item.meta)
                        .push_bind(&item.payload);
                });
                q.build().execute(&mut *tx).await?;
            }
        });
        Ok(())
    }

    /// Claims up to `limit` unclaimed (or lease-expired) rows, oldest first, for `lease`.
    pub async fn claim_queued(&self, limit: usize, lease: Duration) -> Result<Vec<Queued>> {
        let now = Timestamp::now();
        let sql = match self.kind() {
            DatabaseKind::Postgres => {
                "UPDATE ingest_queue SET locked_until = $1, attempts = attempts + 1
                 WHERE id IN (SELECT id FROM ingest_queue WHERE locked_until IS NULL OR locked_until < $2
                              ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED)
                 RETURNING id, project_id, received_at, meta, payload, attempts"
            }
            DatabaseKind::Sqlite => {
                "UPDATE ingest_queue SET locked_until = $1, attempts = attempts + 1
                 WHERE id IN (SELECT id FROM ingest_queue WHERE locked_until IS NULL OR locked_until < $2
                              ORDER BY id LIMIT $3)
                 RETURNING id, project_id, received_at, meta, payload, attempts"
            }
        };
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut rows = write!(self, |pool| sqlx::query_as::<_, Queued>(sql)
            .bind(now.plus(lease))
            .bind(now)
            .bind(limit)
            .fetch_all(pool)
            .await)?;
        rows.sort_by_key(|r| r.id);
        Ok(rows)
    }

    /// Removes digested rows.
    pub async fn delete_queued(&self, ids: &[QueueId]) -> Result<()> {
        for chunk in ids.chunks(500) {
            write!(self, |pool| {
                let mut q = QueryBuilder::new("DELETE FROM ingest_queue WHERE id IN (");
                let mut list = q.separated(", ");
                for id in chunk {
                    list.push_bind(*id);
                }
                q.push(")");
                q.build().execute(pool).await.map(|r| r.rows_affected())
            })?;
        }
        Ok(())
    }

    /// Returns claimed rows to the queue at once (a worker shutting down).
    pub async fn release_queued(&self, ids: &[QueueId]) -> Result<()> {
        for chunk in ids.chunks(500) {
            write!(self, |pool| {
                let mut q = QueryBuilder::new("UPDATE ingest_queue SET locked_until = NULL WHERE id IN (");
                let mut list = q.separated(", ");
                for id in chunk {
                    list.push_bind(*id);
                }
                q.push(")");
                q.build().execute(pool).await.map(|r| r.rows_affected())
            })?;
        }
        Ok(())
    }

    /// Rows waiting or being digested.
    pub async fn queue_depth(&self) -> Result<i64> {
        let n = read!(self, |pool| sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM ingest_queue")
            .fetch_one(pool)
            .await)?;
        Ok(n)
    }
}

impl Store {
    /// A cheap estimate of the queue depth (the id span of waiting rows), for
    /// back-pressure checks on every request.
    pub async fn queue_depth_estimate(&self) -> Result<i64> {
        let n = read!(self, |pool| sqlx::query_scalar::<_, i64>(
            "SELECT COALESCE(MAX(id) - MIN(id) + 1, 0) FROM ingest_queue"
        )
        .fetch_one(pool)
        .await)?;
        Ok(n)
    }
}

impl Store {
    /// Puts rows aside for `secs` seconds (a payload that keeps failing must not
    /// block the queue; it is retried later rather than dropped).
    pub async fn park_queued(&self, ids: &[QueueId], secs: i64) -> Result<()> {
        for chunk in ids.chunks(500) {
            write!(self, |pool| {
                let mut q = QueryBuilder::new("UPDATE ingest_queue SET locked_until = ");
                q.push_bind(Timestamp::now().plus_secs(secs));
                q.push(" WHERE id IN (");
                let mut list = q.separated(", ");
                for id in chunk {
                    list.push_bind(*id);
                }
                q.push(")");
                q.build().execute(pool).await.map(|r| r.rows_affected())
            })?;
        }
        Ok(())
    }
}

impl Store {
    /// The oldest queued rows, without claiming them (for diagnostics and tests).
    pub async fn peek_queued(&self, limit: i64) -> Result<Vec<Queued>> {
        let rows = read!(self, |pool| sqlx::query_as::<_, Queued>(
            "SELECT id, project_id, received_at, meta, payload, attempts FROM ingest_queue ORDER BY id LIMIT $1"
        )
        .bind(limit)
        .fetch_all(pool)
        .await)?;
        Ok(rows)
    }
}
