//! Transactions and their groups.

use crate::{ProjectId, Result, Store};

impl Store {
    /// Transactions stored for a project.
    pub async fn project_transaction_count(&self, project: ProjectId) -> Result<i64> {
        let n = read!(self, |pool| sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM transactions WHERE project_id = $1"
        )
        .bind(project)
        .fetch_one(pool)
        .await)?;
        Ok(n)
    }
}

/// A raw cron check-in as received (processed by the crons capability).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CheckInRow {
    /// Monitor slug.
    pub monitor_slug: String,
    /// Check-in id.
    pub check_in_id: uuid::Uuid,
    /// Status.
    pub status: String,
    /// Duration in microseconds.
    pub duration: Option<i64>,
}

impl Store {
    /// A project's received check-ins, oldest first.
    pub async fn project_check_ins(&self, project: ProjectId) -> Result<Vec<CheckInRow>> {
        let rows = read!(self, |pool| {
            sqlx::query_as::<_, CheckInRow>(
            "SELECT monitor_slug, check_in_id, status, duration FROM cron_checkins WHERE project_id = $1 ORDER BY id"
        )
        .bind(project)
        .fetch_all(pool)
        .await
        })?;
        Ok(rows)
    }
}
