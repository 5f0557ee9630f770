//! Planner statistics and space reuse after bulk changes.

use faultline_config::DatabaseKind;

use crate::{Result, Store};

/// The tables whose rows digestion and triage rewrite most.
const BUSY_TABLES: [&str; 6] =
    ["issues", "issue_tags", "issue_hourly_stats", "issue_hashes", "events", "project_hourly_stats"];

impl Store {
    /// Refreshes the query planner's statistics (and, on PostgreSQL, reclaims the row
    /// versions left by counter updates) for the busiest tables: what autovacuum does
    /// eventually, done now, e.g. after an import or a bulk load.
    pub async fn analyze_busy_tables(&self) -> Result<()> {
        match self.kind() {
            DatabaseKind::Sqlite => {
                write!(self, |pool| sqlx::raw_sql("ANALYZE").execute(pool).await.map(|_| ()))?;
            }
            DatabaseKind::Postgres => {
                let sql = format!("VACUUM (ANALYZE) {}", BUSY_TABLES.join(", "));
                write!(self, |pool| sqlx::raw_sql(&sql).execute(pool).await.map(|_| ()))?;
            }
        }
        Ok(())
    }
}
