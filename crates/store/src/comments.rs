//! Comments on issues.

use std::collections::HashMap;

use sqlx::QueryBuilder;

use crate::{IssueId, Result, Store, StoreError, Timestamp, UserId};

/// A comment, with its author's email and name when the author still exists.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Comment {
    /// Id.
    pub id: i64,
    /// Issue.
    pub issue_id: IssueId,
    /// Author (gone when the account was deleted).
    pub user_id: Option<UserId>,
    /// The author's email.
    pub user_email: Option<String>,
    /// The author's name.
    pub user_name: Option<String>,
    /// Text.
    pub text: String,
    /// Written.
    pub created_at: Timestamp,
    /// Last edited.
    pub updated_at: Timestamp,
}

const COMMENT_SELECT: &str = "SELECT c.id, c.issue_id, c.user_id, u.email AS user_email, u.name AS user_name, \
     c.text, c.created_at, c.updated_at FROM comments c LEFT JOIN users u ON u.id = c.user_id";

impl Store {
    /// An issue's comments, newest first.
    pub async fn issue_comments(&self, issue: IssueId, offset: i64, limit: i64) -> Result<Vec<Comment>> {
        let sql =
            format!("{COMMENT_SELECT} WHERE c.issue_id = $1 ORDER BY c.created_at DESC, c.id DESC LIMIT $2 OFFSET $3");
        let rows = read!(self, |pool| sqlx::query_as::<_, Comment>(&sql)
            .bind(issue)
            .bind(limit)
            .bind(offset)
            .fetch_all(pool)
            .await)?;
        Ok(rows)
    }

    /// One comment of an issue.
    pub async fn comment(&self, issue: IssueId, id: i64) -> Result<Comment> {
        let sql = format!("{COMMENT_SELECT} WHERE c.issue_id = $1 AND c.id = $2");
        let row = read!(self, |pool| sqlx::query_as::<_, Comment>(&sql).bind(issue).bind(id).fetch_one(pool).await)?;
        Ok(row)
    }

    /// Adds a comment.
    pub async fn add_comment(&self, issue: IssueId, user: UserId, text: &str) -> Result<Comment> {
        let now = Timestamp::now();
        let id: i64 = write!(self, |pool| {
            sqlx::query_scalar(
            "INSERT INTO comments (issue_id, user_id, text, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) RETURNING id"
        )
        .bind(issue)
        .bind(user)
        .bind(text)
        .bind(now)
        .fetch_one(pool)
        .await
        })?;
        self.comment(issue, id).await
    }

    /// Changes a comment's text.
    pub async fn update_comment(&self, issue: IssueId, id: i64, text: &str) -> Result<Comment> {
        let done = write!(self, |pool| sqlx::query(
            "UPDATE comments SET text = $1, updated_at = $2 WHERE issue_id = $3 AND id = $4"
        )
        .bind(text)
        .bind(Timestamp::now())
        .bind(issue)
        .bind(id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        self.comment(issue, id).await
    }

    /// Deletes a comment.
    pub async fn delete_comment(&self, issue: IssueId, id: i64) -> Result<()> {
        let done = write!(self, |pool| sqlx::query("DELETE FROM comments WHERE issue_id = $1 AND id = $2")
            .bind(issue)
            .bind(id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Moves the comments of `from` to `to` (before a merge deletes `from`).
    pub async fn move_comments(&self, from: &[IssueId], to: IssueId) -> Result<u64> {
        let mut done = 0;
        for chunk in from.chunks(500) {
            done += write!(self, |pool| {
                let mut q = QueryBuilder::new("UPDATE comments SET issue_id = ");
                q.push_bind(to);
                q.push(" WHERE issue_id IN (");
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

    /// How many comments each issue has (issues without comments are absent).
    pub async fn comment_counts(&self, issues: &[IssueId]) -> Result<HashMap<IssueId, i64>> {
        let mut out = HashMap::new();
        for chunk in issues.chunks(500) {
            let rows = read!(self, |pool| {
                let mut q = QueryBuilder::new("SELECT issue_id, COUNT(*) FROM comments WHERE issue_id IN (");
                let mut list = q.separated(", ");
                for id in chunk {
                    list.push_bind(*id);
                }
                q.push(") GROUP BY issue_id");
                q.build_query_as::<(IssueId, i64)>().fetch_all(pool).await
            })?;
            out.extend(rows);
        }
        Ok(out)
    }
}
