//! Deleting old data in bounded batches.

use crate::{Result, Store, Timestamp};

impl Store {
    /// Deletes up to `limit` issues last seen before `before` (their events, tags and
    /// statistics go with them). Returns how many.
    pub async fn delete_issues_last_seen_before(&self, before: Timestamp, limit: i64) -> Result<u64> {
        let done = write!(self, |pool| sqlx::query(
            "DELETE FROM issues WHERE id IN (SELECT id FROM issues WHERE last_seen < $1 LIMIT $2)"
        )
        .bind(before)
        .bind(limit)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(done)
    }

    /// Deletes up to `limit` events received before `before`. Returns how many.
    pub async fn delete_events_received_before(&self, before: Timestamp, limit: i64) -> Result<u64> {
        let done = write!(self, |pool| sqlx::query(
            "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE received_at < $1 LIMIT $2)"
        )
        .bind(before)
        .bind(limit)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(done)
    }

    /// Deletes hourly statistics older than `before`. Returns how many rows.
    pub async fn delete_hourly_stats_before(&self, before: Timestamp) -> Result<u64> {
        let issues = write!(self, |pool| sqlx::query("DELETE FROM issue_hourly_stats WHERE bucket < $1")
            .bind(before)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        let projects = write!(self, |pool| sqlx::query("DELETE FROM project_hourly_stats WHERE bucket < $1")
            .bind(before)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(issues + projects)
    }
}
