//! Issues (groups of events), their events, hashes and tag values.

use faultline_config::DatabaseKind;
use sqlx::QueryBuilder;
use uuid::Uuid;

use crate::payload::decompress_with;
use crate::{IssueId, PayloadDictionary, ProjectId, Result, Store, StoreError, Timestamp};

/// An issue.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Issue {
    /// Id.
    pub id: IssueId,
    /// Project.
    pub project_id: ProjectId,
    /// Per-project number (`SLUG-N`).
    pub short_id: i64,
    /// Title.
    pub title: String,
    /// Culprit.
    pub culprit: String,
    /// Type number: 0 default, 1 error, 2 csp.
    #[sqlx(rename = "type")]
    pub ty: i16,
    /// Level number: 0 sample … 5 fatal.
    pub level: i16,
    /// Status number: 0 unresolved, 1 resolved, 2 ignored.
    pub status: i16,
    /// Metadata (JSON).
    pub metadata: String,
    /// Events seen.
    pub times_seen: i64,
    /// First event received.
    pub first_seen: Timestamp,
    /// Last event received.
    pub last_seen: Timestamp,
    /// When resolved, while resolved.
    pub resolved_at: Option<Timestamp>,
    /// When a new event last reopened it.
    pub regressed_at: Option<Timestamp>,
    /// Shared publicly.
    pub is_public: bool,
}

/// Issue status numbers.
pub mod status {
    /// Open.
    pub const UNRESOLVED: i16 = 0;
    /// Fixed; a new event reopens it.
    pub const RESOLVED: i16 = 1;
    /// Muted; new events do not reopen it.
    pub const IGNORED: i16 = 2;
}

/// A stored error event.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredEvent {
    /// Project.
    pub project_id: ProjectId,
    /// Issue.
    pub issue_id: IssueId,
    /// Event id.
    pub event_id: Uuid,
    /// The event's own time.
    pub timestamp: Timestamp,
    /// When received.
    pub received_at: Timestamp,
    /// Level number.
    pub level: i16,
    /// zstd-compressed normalized event.
    pub payload: Vec<u8>,
    /// The project dictionary the payload was compressed with, attached by the store
    /// when it reads the event.
    #[sqlx(skip)]
    pub dictionary: Option<PayloadDictionary>,
}

impl StoredEvent {
    /// The normalized event JSON.
    pub fn json(&self) -> Result<serde_json::Value> {
        let bytes = decompress_with(&self.payload, self.dictionary.as_ref())?;
        serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt(format!("event {}: {e}", self.event_id)))
    }
}

const ISSUE_COLUMNS: &str = "id, project_id, short_id, title, culprit, type, level, status, metadata, times_seen, \
     first_seen, last_seen, resolved_at, regressed_at, is_public";
const EVENT_COLUMNS: &str = "project_id, issue_id, event_id, timestamp, received_at, level, payload";

impl Store {
    /// An issue by id (soft-deleted ones are not found).
    pub async fn issue(&self, id: IssueId) -> Result<Issue> {
        let sql = format!("SELECT {ISSUE_COLUMNS} FROM issues WHERE id = $1 AND NOT is_deleted");
        let issue = read!(self, |pool| sqlx::query_as::<_, Issue>(&sql).bind(id).fetch_one(pool).await)?;
        Ok(issue)
    }

    /// A project's issues, most recently seen first (at most `limit`).
    pub async fn project_issues(&self, project: ProjectId, limit: i64) -> Result<Vec<Issue>> {
        let sql = format!(
            "SELECT {ISSUE_COLUMNS} FROM issues WHERE project_id = $1 AND NOT is_deleted ORDER BY last_seen DESC, id DESC LIMIT $2"
        );
        let issues =
            read!(self, |pool| sqlx::query_as::<_, Issue>(&sql).bind(project).bind(limit).fetch_all(pool).await)?;
        Ok(issues)
    }

    /// An issue's events, newest first (at most `limit`).
    pub async fn issue_events(&self, issue: IssueId, limit: i64) -> Result<Vec<StoredEvent>> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE issue_id = $1 ORDER BY received_at DESC, id DESC LIMIT $2"
        );
        let mut events =
            read!(self, |pool| sqlx::query_as::<_, StoredEvent>(&sql).bind(issue).bind(limit).fetch_all(pool).await)?;
        self.attach_dictionaries(&mut events).await?;
        Ok(events)
    }

    /// An event by project and id.
    pub async fn event(&self, project: ProjectId, event_id: Uuid) -> Result<Option<StoredEvent>> {
        let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE project_id = $1 AND event_id = $2");
        let mut event = read!(self, |pool| sqlx::query_as::<_, StoredEvent>(&sql)
            .bind(project)
            .bind(event_id)
            .fetch_optional(pool)
            .await)?;
        self.attach_dictionaries(event.as_mut_slice()).await?;
        Ok(event)
    }

    /// Events stored in a project.
    pub async fn project_event_count(&self, project: ProjectId) -> Result<i64> {
        let n = read!(self, |pool| sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM events WHERE project_id = $1")
            .bind(project)
            .fetch_one(pool)
            .await)?;
        Ok(n)
    }

    /// The grouping hashes of an issue, oldest first.
    pub async fn issue_hashes(&self, issue: IssueId) -> Result<Vec<String>> {
        let hashes = read!(self, |pool| sqlx::query_scalar::<_, String>(
            "SELECT hash FROM issue_hashes WHERE issue_id = $1 ORDER BY id"
        )
        .bind(issue)
        .fetch_all(pool)
        .await)?;
        Ok(hashes)
    }

    /// An issue's tag values with counts, by key then most frequent.
    pub async fn issue_tag_values(&self, issue: IssueId) -> Result<Vec<(String, String, i64)>> {
        let rows = read!(self, |pool| {
            sqlx::query_as::<_, (String, String, i64)>(
            "SELECT key, value, times_seen FROM issue_tags WHERE issue_id = $1 ORDER BY key, times_seen DESC, value"
        )
        .bind(issue)
        .fetch_all(pool)
        .await
        })?;
        Ok(rows)
    }

    /// Hourly event counts of an issue since `since`: `(hour start, count)`.
    pub async fn issue_hourly_counts(&self, issue: IssueId, since: Timestamp) -> Result<Vec<(Timestamp, i64)>> {
        let rows = read!(self, |pool| {
            sqlx::query_as::<_, (Timestamp, i64)>(
            "SELECT bucket, times_seen FROM issue_hourly_stats WHERE issue_id = $1 AND bucket >= $2 ORDER BY bucket"
        )
        .bind(issue)
        .bind(since)
        .fetch_all(pool)
        .await
        })?;
        Ok(rows)
    }

    /// Sets an issue's status, recording when it was resolved.
    pub async fn set_issue_status(&self, issue: IssueId, new_status: i16) -> Result<()> {
        let resolved_at = (new_status == status::RESOLVED).then(Timestamp::now);
        let done = write!(self, |pool| sqlx::query("UPDATE issues SET status = $1, resolved_at = $2 WHERE id = $3")
            .bind(new_status)
            .bind(resolved_at)
            .bind(issue)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Merges `others` into `target` (same project): their hashes, events, tag counts,
    /// statistics and user reports move to `target`, its counters add up, and the
    /// others are deleted. Future events of any merged hash join `target`.
    pub async fn merge_issues(&self, target: IssueId, others: &[IssueId]) -> Result<()> {
        let others: Vec<IssueId> = others.iter().copied().filter(|o| *o != target).collect();
        if others.is_empty() {
            return Ok(());
        }
        let (greatest, least) = match self.kind() {
            DatabaseKind::Postgres => ("GREATEST", "LEAST"),
            DatabaseKind::Sqlite => ("MAX", "MIN"),
        };
        transaction!(self, |tx| {
            let project: ProjectId = sqlx::query_scalar("SELECT project_id FROM issues WHERE id = $1")
                .bind(target)
                .fetch_one(&mut *tx)
                .await?;
            let in_list = |q: &mut QueryBuilder<'_, _>| {
                q.push(" (");
                let mut list = q.separated(", ");
                for id in &others {
                    list.push_bind(*id);
                }
                q.push(")");
            };
            let mut q = QueryBuilder::new("SELECT COUNT(*) FROM issues WHERE project_id = ");
            q.push_bind(project);
            q.push(" AND id IN");
            in_list(&mut q);
            let same_project: i64 = q.build_query_scalar().fetch_one(&mut *tx).await?;
            if same_project as usize != others.len() {
                return Err(StoreError::NotFound);
            }
            let mut q = QueryBuilder::new("UPDATE issues SET times_seen = times_seen + (SELECT COALESCE(SUM(times_seen), 0) FROM issues WHERE id IN");
            in_list(&mut q);
            q.push(format!("), first_seen = {least}(first_seen, (SELECT MIN(first_seen) FROM issues WHERE id IN"));
            in_list(&mut q);
            q.push(format!(")), last_seen = {greatest}(last_seen, (SELECT MAX(last_seen) FROM issues WHERE id IN"));
            in_list(&mut q);
            q.push(")) WHERE id = ");
            q.push_bind(target);
            q.build().execute(&mut *tx).await?;
            for table in ["issue_hashes", "events", "user_reports"] {
                let mut q = QueryBuilder::new(format!("UPDATE {table} SET issue_id = "));
                q.push_bind(target);
                q.push(" WHERE issue_id IN");
                in_list(&mut q);
                q.build().execute(&mut *tx).await?;
            }
            let mut q = QueryBuilder::new(
                "INSERT INTO issue_tags (issue_id, key, value, times_seen, first_seen, last_seen) SELECT ",
            );
            q.push_bind(target);
            q.push(" , key, value, SUM(times_seen), MIN(first_seen), MAX(last_seen) FROM issue_tags WHERE issue_id IN");
            in_list(&mut q);
            q.push(format!(
                " GROUP BY key, value ON CONFLICT (issue_id, key, value) DO UPDATE SET
                    times_seen = issue_tags.times_seen + excluded.times_seen,
                    first_seen = {least}(issue_tags.first_seen, excluded.first_seen),
                    last_seen = {greatest}(issue_tags.last_seen, excluded.last_seen)"
            ));
            q.build().execute(&mut *tx).await?;
            let mut q = QueryBuilder::new("INSERT INTO issue_hourly_stats (issue_id, bucket, times_seen) SELECT ");
            q.push_bind(target);
            q.push(", bucket, SUM(times_seen) FROM issue_hourly_stats WHERE issue_id IN");
            in_list(&mut q);
            q.push(
                " GROUP BY bucket ON CONFLICT (issue_id, bucket) DO UPDATE SET
                    times_seen = issue_hourly_stats.times_seen + excluded.times_seen",
            );
            q.build().execute(&mut *tx).await?;
            let mut q = QueryBuilder::new("DELETE FROM issues WHERE id IN");
            in_list(&mut q);
            q.build().execute(&mut *tx).await?;
        });
        Ok(())
    }

    /// Detaches hashes from an issue so future events with them start a new issue
    /// (GlitchTip's unmerge). Returns how many were removed.
    pub async fn unmerge_hashes(&self, issue: IssueId, hashes: &[String]) -> Result<u64> {
        if hashes.is_empty() {
            return Ok(0);
        }
        let done = write!(self, |pool| {
            let mut q = QueryBuilder::new("DELETE FROM issue_hashes WHERE issue_id = ");
            q.push_bind(issue);
            q.push(" AND hash IN (");
            let mut list = q.separated(", ");
            for h in hashes {
                list.push_bind(h);
            }
            q.push(")");
            q.build().execute(pool).await.map(|r| r.rows_affected())
        })?;
        Ok(done)
    }
}
