//! User feedback about events.

use uuid::Uuid;

use crate::{IssueId, ProjectId, Result, Store, Timestamp};

/// A user report.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserReport {
    /// Id.
    pub id: i64,
    /// Project.
    pub project_id: ProjectId,
    /// The issue of the event, once the event is stored.
    pub issue_id: Option<IssueId>,
    /// The event it is about.
    pub event_id: Uuid,
    /// Reporter's name.
    pub name: String,
    /// Reporter's email.
    pub email: String,
    /// What they said.
    pub comments: String,
    /// When received.
    pub created_at: Timestamp,
}

impl Store {
    /// The reports about an issue's events, newest first.
    pub async fn issue_user_reports(&self, issue: IssueId) -> Result<Vec<UserReport>> {
        let rows = read!(self, |pool| sqlx::query_as::<_, UserReport>(
            "SELECT id, project_id, issue_id, event_id, name, email, comments, created_at
             FROM user_reports WHERE issue_id = $1 ORDER BY created_at DESC, id DESC"
        )
        .bind(issue)
        .fetch_all(pool)
        .await)?;
        Ok(rows)
    }
}
