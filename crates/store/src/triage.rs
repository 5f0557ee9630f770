//! Triage of issues: status changes and deletion in bulk, assignment, sharing.

use sqlx::QueryBuilder;

use crate::{issue_status, IssueId, Result, Store, StoreError, Timestamp, UserId};

impl Store {
    /// Sets the status of many issues; `resolved_at` follows (set when resolved,
    /// cleared otherwise). Returns how many changed.
    pub async fn set_issues_status(&self, ids: &[IssueId], status: i16) -> Result<u64> {
        let resolved_at = (status == issue_status::RESOLVED).then(Timestamp::now);
        let mut done = 0;
        for chunk in ids.chunks(500) {
            done += write!(self, |pool| {
                let mut q = QueryBuilder::new("UPDATE issues SET status = ");
                q.push_bind(status);
                q.push(", resolved_at = ");
                q.push_bind(resolved_at);
                q.push(" WHERE NOT is_deleted AND id IN (");
                let mut list = q.separated(", ");
                for id in chunk {
                    list.push_bind(*id);
                }
                q.push(")");
                q.build().execute(pool).await.map(|r| r.rows_affected())
            })?;
        }
        Ok(done)
    }

    /// Deletes issues with everything that hangs off them (events, hashes, tags,
    /// statistics, comments; user reports are detached). They are hidden at once,
    /// then removed in small transactions so the single SQLite writer is never held
    /// for long. Future events with their hashes start new issues. Returns how many.
    pub async fn delete_issues(&self, ids: &[IssueId]) -> Result<u64> {
        for chunk in ids.chunks(500) {
            write!(self, |pool| {
                let mut q = QueryBuilder::new("UPDATE issues SET is_deleted = TRUE WHERE id IN (");
                let mut list = q.separated(", ");
                for id in chunk {
                    list.push_bind(*id);
                }
                q.push(")");
                q.build().execute(pool).await.map(|r| r.rows_affected())
            })?;
        }
        let mut done = 0;
        for id in ids {
            // Events first, in batches, so one huge issue does not become one huge
            // transaction.
            loop {
                let n = write!(self, |pool| sqlx::query(
                    "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE issue_id = $1 LIMIT 2000)"
                )
                .bind(*id)
                .execute(pool)
                .await
                .map(|r| r.rows_affected()))?;
                if n == 0 {
                    break;
                }
            }
            done += write!(self, |pool| sqlx::query("DELETE FROM issues WHERE id = $1")
                .bind(*id)
                .execute(pool)
                .await
                .map(|r| r.rows_affected()))?;
        }
        Ok(done)
    }

    /// Assigns an issue to a user, or unassigns it.
    pub async fn assign_issue(&self, issue: IssueId, user: Option<UserId>) -> Result<()> {
        let done =
            write!(self, |pool| sqlx::query("UPDATE issues SET assigned_to_id = $1 WHERE id = $2 AND NOT is_deleted")
                .bind(user)
                .bind(issue)
                .execute(pool)
                .await
                .map(|r| r.rows_affected()))?;
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Shares an issue publicly, or stops sharing it.
    pub async fn set_issue_public(&self, issue: IssueId, public: bool) -> Result<()> {
        let done =
            write!(self, |pool| sqlx::query("UPDATE issues SET is_public = $1 WHERE id = $2 AND NOT is_deleted")
                .bind(public)
                .bind(issue)
                .execute(pool)
                .await
                .map(|r| r.rows_affected()))?;
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}
