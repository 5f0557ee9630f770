//! API tokens (`Authorization: Bearer …`). Only a hash of each token is stored.

use crate::{ApiTokenId, Result, Store, Timestamp, User, UserId};

/// An API token (without its secret).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApiToken {
    /// Id.
    pub id: ApiTokenId,
    /// Owner.
    pub user_id: UserId,
    /// Label.
    pub label: String,
    /// GlitchTip's scope bit field.
    pub scopes: i64,
    /// Created.
    pub created_at: Timestamp,
    /// Last used (updated at most once a minute).
    pub last_used_at: Option<Timestamp>,
}

const TOKEN_COLUMNS: &str = "id, user_id, label, scopes, created_at, last_used_at";

impl Store {
    /// Stores a token by its hash.
    pub async fn create_api_token(&self, user: UserId, label: &str, scopes: i64, token_hash: &str) -> Result<ApiToken> {
        let sql = format!(
            "INSERT INTO api_tokens (user_id, label, token_hash, scopes, created_at) VALUES ($1, $2, $3, $4, $5)
             RETURNING {TOKEN_COLUMNS}"
        );
        let token = write!(self, |pool| sqlx::query_as::<_, ApiToken>(&sql)
            .bind(user)
            .bind(label)
            .bind(token_hash)
            .bind(scopes)
            .bind(Timestamp::now())
            .fetch_one(pool)
            .await)?;
        Ok(token)
    }

    /// The token with this hash and its active user.
    pub async fn api_token_by_hash(&self, token_hash: &str) -> Result<Option<(ApiToken, User)>> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = $1");
        let token =
            read!(self, |pool| sqlx::query_as::<_, ApiToken>(&sql).bind(token_hash).fetch_optional(pool).await)?;
        let Some(token) = token else { return Ok(None) };
        let user = self.user(token.user_id).await?;
        if token.last_used_at.is_none_or(|t| t.plus_secs(60) < Timestamp::now()) {
            write!(self, |pool| sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                .bind(Timestamp::now())
                .bind(token.id)
                .execute(pool)
                .await
                .map(|r| r.rows_affected()))?;
        }
        Ok(user.is_active.then_some((token, user)))
    }

    /// A user's tokens, newest first.
    pub async fn api_tokens_of(&self, user: UserId) -> Result<Vec<ApiToken>> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE user_id = $1 ORDER BY id DESC");
        let tokens = read!(self, |pool| sqlx::query_as::<_, ApiToken>(&sql).bind(user).fetch_all(pool).await)?;
        Ok(tokens)
    }

    /// Deletes one of a user's tokens; `NotFound` when it is not theirs.
    pub async fn delete_api_token(&self, user: UserId, id: ApiTokenId) -> Result<()> {
        let done = write!(self, |pool| sqlx::query("DELETE FROM api_tokens WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        if done == 0 {
            return Err(crate::StoreError::NotFound);
        }
        Ok(())
    }
}
