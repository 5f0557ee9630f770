//! Durable background jobs.
//!
//! A job is claimed with a lease (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so several
//! workers and instances never take the same one; SQLite: the single writer
//! serializes claims). A job with a `unique_key` is enqueued at most once per key,
//! which is how periodic jobs stay single across several schedulers; finished jobs
//! with a key are kept (with `done_at`) until purged, so the key stays taken.

use std::time::Duration;

use faultline_config::DatabaseKind;

use crate::{JobId, Result, Store, Timestamp};

/// A job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// What to run (a name the worker knows).
    pub kind: String,
    /// Its arguments (JSON).
    pub payload: serde_json::Value,
    /// Not before.
    pub run_at: Timestamp,
    /// Deduplication key.
    pub unique_key: Option<String>,
    /// Attempts before giving up.
    pub max_attempts: i32,
}

impl NewJob {
    /// A job to run now, five attempts, no deduplication.
    pub fn now(kind: impl Into<String>, payload: serde_json::Value) -> NewJob {
        NewJob { kind: kind.into(), payload, run_at: Timestamp::now(), unique_key: None, max_attempts: 5 }
    }
}

/// A claimed job.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Job {
    /// Id.
    pub id: JobId,
    /// What to run.
    pub kind: String,
    /// Arguments (JSON text).
    pub payload: String,
    /// Attempts so far, this one included.
    pub attempts: i32,
    /// Attempts allowed.
    pub max_attempts: i32,
}

impl Store {
    /// Enqueues a job. Returns `None` when a job with the same unique key exists.
    pub async fn enqueue_job(&self, job: &NewJob) -> Result<Option<JobId>> {
        let id = write!(self, |pool| sqlx::query_scalar::<_, JobId>(
            "INSERT INTO jobs (kind, payload, unique_key, run_at, max_attempts, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (unique_key) DO NOTHING RETURNING id"
        )
        .bind(&job.kind)
        .bind(job.payload.to_string())
        .bind(&job.unique_key)
        .bind(job.run_at)
        .bind(job.max_attempts.max(1))
        .bind(Timestamp::now())
        .fetch_optional(pool)
        .await)?;
        Ok(id)
    }

    /// Claims the oldest due job for `lease`.
    pub async fn claim_job(&self, lease: Duration) -> Result<Option<Job>> {
        let now = Timestamp::now();
        let sql = match self.kind() {
            DatabaseKind::Postgres => {
                "UPDATE jobs SET locked_until = $1, attempts = attempts + 1
                 WHERE id = (SELECT id FROM jobs WHERE done_at IS NULL AND run_at <= $2
                             AND (locked_until IS NULL OR locked_until < $2)
                             ORDER BY run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
                 RETURNING id, kind, payload, attempts, max_attempts"
            }
            DatabaseKind::Sqlite => {
                "UPDATE jobs SET locked_until = $1, attempts = attempts + 1
                 WHERE id = (SELECT id FROM jobs WHERE done_at IS NULL AND run_at <= $2
                             AND (locked_until IS NULL OR locked_until < $2)
                             ORDER BY run_at, id LIMIT 1)
                 RETURNING id, kind, payload, attempts, max_attempts"
            }
        };
        let job = write!(self, |pool| sqlx::query_as::<_, Job>(sql)
            .bind(now.plus(lease))
            .bind(now)
            .fetch_optional(pool)
            .await)?;
        Ok(job)
    }

    /// Marks a job done: deleted, or kept as finished when it has a unique key.
    pub async fn complete_job(&self, id: JobId) -> Result<()> {
        write!(self, |pool| sqlx::query("DELETE FROM jobs WHERE id = $1 AND unique_key IS NULL")
            .bind(id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        write!(self, |pool| sqlx::query(
            "UPDATE jobs SET done_at = $1, locked_until = NULL, last_error = NULL WHERE id = $2"
        )
        .bind(Timestamp::now())
        .bind(id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Records a failure: retried at `retry_at`, or given up (kept with the error) when
    /// `None`.
    pub async fn fail_job(&self, id: JobId, error: &str, retry_at: Option<Timestamp>) -> Result<()> {
        let error: String = error.chars().take(2000).collect();
        match retry_at {
            Some(at) => write!(self, |pool| sqlx::query(
                "UPDATE jobs SET run_at = $1, locked_until = NULL, last_error = $2 WHERE id = $3"
            )
            .bind(at)
            .bind(&error)
            .bind(id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?,
            None => write!(self, |pool| sqlx::query(
                "UPDATE jobs SET done_at = $1, locked_until = NULL, last_error = $2 WHERE id = $3"
            )
            .bind(Timestamp::now())
            .bind(&error)
            .bind(id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?,
        };
        Ok(())
    }

    /// Jobs not yet finished.
    pub async fn pending_job_count(&self) -> Result<i64> {
        let n = read!(self, |pool| sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM jobs WHERE done_at IS NULL")
            .fetch_one(pool)
            .await)?;
        Ok(n)
    }

    /// Jobs that gave up, newest first: `(kind, last error)`.
    pub async fn failed_jobs(&self, limit: i64) -> Result<Vec<(String, String)>> {
        let rows = read!(self, |pool| sqlx::query_as::<_, (String, String)>(
            "SELECT kind, last_error FROM jobs WHERE done_at IS NOT NULL AND last_error IS NOT NULL
             ORDER BY done_at DESC LIMIT $1"
        )
        .bind(limit)
        .fetch_all(pool)
        .await)?;
        Ok(rows)
    }

    /// Forgets finished jobs older than `before`.
    pub async fn purge_finished_jobs(&self, before: Timestamp) -> Result<u64> {
        let done = write!(self, |pool| sqlx::query("DELETE FROM jobs WHERE done_at IS NOT NULL AND done_at < $1")
            .bind(before)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(done)
    }
}
