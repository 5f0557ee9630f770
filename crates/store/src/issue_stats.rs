//! Reading the hourly counters: per issue (sparklines, issue stats, events-stats) and
//! per project (stats_v2).

use std::collections::HashMap;

use sqlx::QueryBuilder;

use crate::search::{push_issue_where, IssueFilter};
use crate::{IssueId, OrganizationId, ProjectId, Result, Store, Timestamp};

impl Store {
    /// Hourly counts of several issues since `since`: `issue → [(hour, count)]`,
    /// hours ascending (hours without events are absent).
    pub async fn issues_hourly_counts(
        &self,
        issues: &[IssueId],
        since: Timestamp,
    ) -> Result<HashMap<IssueId, Vec<(Timestamp, i64)>>> {
        let mut out: HashMap<IssueId, Vec<(Timestamp, i64)>> = HashMap::new();
        for chunk in issues.chunks(500) {
            let rows = read!(self, |pool| {
                let mut q =
                    QueryBuilder::new("SELECT issue_id, bucket, times_seen FROM issue_hourly_stats WHERE bucket >= ");
                q.push_bind(since);
                q.push(" AND issue_id IN (");
                let mut list = q.separated(", ");
                for id in chunk {
                    list.push_bind(*id);
                }
                q.push(") ORDER BY issue_id, bucket");
                q.build_query_as::<(IssueId, Timestamp, i64)>().fetch_all(pool).await
            })?;
            for (issue, bucket, n) in rows {
                out.entry(issue).or_default().push((bucket, n));
            }
        }
        Ok(out)
    }

    /// Hourly event counts summed over the issues matching `filter`, for hours in
    /// `[from, to)`, ascending.
    pub async fn filtered_hourly_counts(
        &self,
        filter: &IssueFilter,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<(Timestamp, i64)>> {
        let Some(scoped) = self.scope(filter).await? else { return Ok(Vec::new()) };
        let kind = self.kind();
        let rows = read!(self, |pool| {
            let mut q = QueryBuilder::new(
                "SELECT s.bucket, CAST(SUM(s.times_seen) AS BIGINT) FROM issue_hourly_stats s WHERE s.bucket >= ",
            );
            q.push_bind(from.micros());
            q.push(" AND s.bucket < ");
            q.push_bind(to.micros());
            q.push(" AND s.issue_id IN (SELECT issues.id FROM issues");
            push_issue_where(&mut q, &scoped, kind);
            q.push(") GROUP BY s.bucket ORDER BY s.bucket");
            q.build_query_as::<(Timestamp, i64)>().fetch_all(pool).await
        })?;
        Ok(rows)
    }

    /// Hourly counts of an organization's projects (only `projects` when not empty)
    /// for a category (0 errors, 1 transactions), hours in `[from, to)`:
    /// `(project, hour, count)`, ascending.
    pub async fn project_hourly_counts(
        &self,
        org: OrganizationId,
        projects: &[ProjectId],
        category: i16,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<(ProjectId, Timestamp, i64)>> {
        let rows = read!(self, |pool| {
            let mut q = QueryBuilder::new(
                "SELECT project_id, bucket, times_seen FROM project_hourly_stats WHERE project_id IN
                 (SELECT id FROM projects WHERE organization_id = ",
            );
            q.push_bind(org);
            q.push(" AND NOT is_deleted)");
            if !projects.is_empty() {
                q.push(" AND project_id IN (");
                let mut list = q.separated(", ");
                for p in projects {
                    list.push_bind(*p);
                }
                q.push(")");
            }
            q.push(" AND category = ");
            q.push_bind(category);
            q.push(" AND bucket >= ");
            q.push_bind(from);
            q.push(" AND bucket < ");
            q.push_bind(to);
            q.push(" ORDER BY bucket, project_id");
            q.build_query_as::<(ProjectId, Timestamp, i64)>().fetch_all(pool).await
        })?;
        Ok(rows)
    }
}
