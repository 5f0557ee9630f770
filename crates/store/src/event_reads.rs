//! Reading events for the API: pages, latest/oldest, neighbours within an issue, the
//! latest event of each grouping hash, and user reports.

use std::collections::HashMap;

use uuid::Uuid;

use crate::{IssueId, ProjectId, Result, Store, StoredEvent, Timestamp, UserReport};

/// A stored event with its row id (which orders events received at the same time).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    /// Row id.
    pub id: i64,
    /// The event.
    #[sqlx(flatten)]
    pub event: StoredEvent,
}

const EVENT_ROW_COLUMNS: &str = "id, project_id, issue_id, event_id, timestamp, received_at, level, payload";
const REPORT_COLUMNS: &str = "id, project_id, issue_id, event_id, name, email, comments, created_at";

impl Store {
    /// A page of an issue's events, newest first.
    pub async fn issue_event_page(&self, issue: IssueId, offset: i64, limit: i64) -> Result<Vec<EventRow>> {
        let sql = format!(
            "SELECT {EVENT_ROW_COLUMNS} FROM events WHERE issue_id = $1
             ORDER BY received_at DESC, id DESC LIMIT $2 OFFSET $3"
        );
        let mut rows = read!(self, |pool| sqlx::query_as::<_, EventRow>(&sql)
            .bind(issue)
            .bind(limit)
            .bind(offset)
            .fetch_all(pool)
            .await)?;
        self.attach_dictionaries(&mut rows).await?;
        Ok(rows)
    }

    /// How many events an issue holds.
    pub async fn issue_event_count(&self, issue: IssueId) -> Result<i64> {
        let n = read!(self, |pool| sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM events WHERE issue_id = $1")
            .bind(issue)
            .fetch_one(pool)
            .await)?;
        Ok(n)
    }

    /// An issue's newest (`latest`) or oldest event.
    pub async fn issue_edge_event(&self, issue: IssueId, latest: bool) -> Result<Option<EventRow>> {
        let dir = if latest { "DESC" } else { "ASC" };
        let sql = format!(
            "SELECT {EVENT_ROW_COLUMNS} FROM events WHERE issue_id = $1 ORDER BY received_at {dir}, id {dir} LIMIT 1"
        );
        let mut row = read!(self, |pool| sqlx::query_as::<_, EventRow>(&sql).bind(issue).fetch_optional(pool).await)?;
        self.attach_dictionaries(row.as_mut_slice()).await?;
        Ok(row)
    }

    /// An event of an issue by its event id.
    pub async fn issue_event(&self, issue: IssueId, project: ProjectId, event_id: Uuid) -> Result<Option<EventRow>> {
        let sql =
            format!("SELECT {EVENT_ROW_COLUMNS} FROM events WHERE project_id = $1 AND event_id = $2 AND issue_id = $3");
        let mut row = read!(self, |pool| sqlx::query_as::<_, EventRow>(&sql)
            .bind(project)
            .bind(event_id)
            .bind(issue)
            .fetch_optional(pool)
            .await)?;
        self.attach_dictionaries(row.as_mut_slice()).await?;
        Ok(row)
    }

    /// An event of a project by its event id.
    pub async fn project_event(&self, project: ProjectId, event_id: Uuid) -> Result<Option<EventRow>> {
        let sql = format!("SELECT {EVENT_ROW_COLUMNS} FROM events WHERE project_id = $1 AND event_id = $2");
        let mut row = read!(self, |pool| sqlx::query_as::<_, EventRow>(&sql)
            .bind(project)
            .bind(event_id)
            .fetch_optional(pool)
            .await)?;
        self.attach_dictionaries(row.as_mut_slice()).await?;
        Ok(row)
    }

    /// The events received just before and just after `event` in its issue.
    pub async fn event_neighbours(&self, event: &EventRow) -> Result<(Option<Uuid>, Option<Uuid>)> {
        let issue = event.event.issue_id;
        let received = event.event.received_at;
        let previous = read!(self, |pool| {
            sqlx::query_scalar::<_, Uuid>(
            "SELECT event_id FROM events WHERE issue_id = $1 AND (received_at < $2 OR (received_at = $2 AND id < $3))
             ORDER BY received_at DESC, id DESC LIMIT 1"
        )
        .bind(issue)
        .bind(received)
        .bind(event.id)
        .fetch_optional(pool)
        .await
        })?;
        let next = read!(self, |pool| {
            sqlx::query_scalar::<_, Uuid>(
            "SELECT event_id FROM events WHERE issue_id = $1 AND (received_at > $2 OR (received_at = $2 AND id > $3))
             ORDER BY received_at ASC, id ASC LIMIT 1"
        )
        .bind(issue)
        .bind(received)
        .bind(event.id)
        .fetch_optional(pool)
        .await
        })?;
        Ok((previous, next))
    }

    /// A page of a project's events, newest first.
    pub async fn project_event_page(&self, project: ProjectId, offset: i64, limit: i64) -> Result<Vec<EventRow>> {
        let sql = format!(
            "SELECT {EVENT_ROW_COLUMNS} FROM events WHERE project_id = $1
             ORDER BY received_at DESC, id DESC LIMIT $2 OFFSET $3"
        );
        let mut rows = read!(self, |pool| sqlx::query_as::<_, EventRow>(&sql)
            .bind(project)
            .bind(limit)
            .bind(offset)
            .fetch_all(pool)
            .await)?;
        self.attach_dictionaries(&mut rows).await?;
        Ok(rows)
    }

    /// The newest event of an issue carrying each of `hashes`, looking at no more
    /// than `scan` recent events (events record their hashes only in the payload).
    pub async fn latest_events_by_hash(
        &self,
        issue: IssueId,
        hashes: &[String],
        scan: i64,
    ) -> Result<HashMap<String, EventRow>> {
        let mut out: HashMap<String, EventRow> = HashMap::new();
        let mut offset = 0;
        while out.len() < hashes.len() && offset < scan {
            let page = self.issue_event_page(issue, offset, 100.min(scan - offset)).await?;
            if page.is_empty() {
                break;
            }
            offset += page.len() as i64;
            for row in page {
                let Ok(json) = row.event.json() else { continue };
                let Some(event_hashes) = json.get("hashes").and_then(|h| h.as_array()) else { continue };
                for h in event_hashes.iter().filter_map(|h| h.as_str()) {
                    if hashes.iter().any(|x| x == h) && !out.contains_key(h) {
                        out.insert(h.to_string(), row.clone());
                    }
                }
            }
        }
        Ok(out)
    }

    /// The grouping hashes of an issue with when each was first matched, oldest first.
    pub async fn issue_hash_rows(&self, issue: IssueId) -> Result<Vec<(String, Timestamp)>> {
        let rows = read!(self, |pool| sqlx::query_as::<_, (String, Timestamp)>(
            "SELECT hash, created_at FROM issue_hashes WHERE issue_id = $1 ORDER BY id"
        )
        .bind(issue)
        .fetch_all(pool)
        .await)?;
        Ok(rows)
    }

    /// The user report about an event, if any.
    pub async fn event_user_report(&self, project: ProjectId, event_id: Uuid) -> Result<Option<UserReport>> {
        let sql = format!("SELECT {REPORT_COLUMNS} FROM user_reports WHERE project_id = $1 AND event_id = $2");
        let row = read!(self, |pool| sqlx::query_as::<_, UserReport>(&sql)
            .bind(project)
            .bind(event_id)
            .fetch_optional(pool)
            .await)?;
        Ok(row)
    }

    /// A page of the reports about an issue's events, newest first, and how many
    /// there are.
    pub async fn issue_user_report_page(
        &self,
        issue: IssueId,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<UserReport>, i64)> {
        let sql = format!(
            "SELECT {REPORT_COLUMNS} FROM user_reports WHERE issue_id = $1
             ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3"
        );
        let rows = read!(self, |pool| sqlx::query_as::<_, UserReport>(&sql)
            .bind(issue)
            .bind(limit)
            .bind(offset)
            .fetch_all(pool)
            .await)?;
        let total =
            read!(self, |pool| sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM user_reports WHERE issue_id = $1")
                .bind(issue)
                .fetch_one(pool)
                .await)?;
        Ok((rows, total))
    }

    /// A page of a project's user reports, newest first, and how many there are.
    pub async fn project_user_report_page(
        &self,
        project: ProjectId,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<UserReport>, i64)> {
        let sql = format!(
            "SELECT {REPORT_COLUMNS} FROM user_reports WHERE project_id = $1
             ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3"
        );
        let rows = read!(self, |pool| sqlx::query_as::<_, UserReport>(&sql)
            .bind(project)
            .bind(limit)
            .bind(offset)
            .fetch_all(pool)
            .await)?;
        let total = read!(self, |pool| sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM user_reports WHERE project_id = $1"
        )
        .bind(project)
        .fetch_one(pool)
        .await)?;
        Ok((rows, total))
    }
}
