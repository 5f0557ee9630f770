//! Sessions (release health), aggregated per hour.

use crate::{ProjectId, Result, SessionCounts, Store};

impl Store {
    /// A project's session counts over all time.
    pub async fn project_session_totals(&self, project: ProjectId) -> Result<SessionCounts> {
        let (started, exited, errored, crashed, abnormal) =
            read!(self, |pool| sqlx::query_as::<_, (i64, i64, i64, i64, i64)>(
                "SELECT CAST(COALESCE(SUM(started), 0) AS BIGINT), CAST(COALESCE(SUM(exited), 0) AS BIGINT),
                    CAST(COALESCE(SUM(errored), 0) AS BIGINT), CAST(COALESCE(SUM(crashed), 0) AS BIGINT),
                    CAST(COALESCE(SUM(abnormal), 0) AS BIGINT)
             FROM session_hourly_stats WHERE project_id = $1"
            )
            .bind(project)
            .fetch_one(pool)
            .await)?;
        Ok(SessionCounts { started, exited, errored, crashed, abnormal })
    }
}
