//! Web sessions and one-time email tokens. Only SHA-256 hashes of the secrets are
//! stored; the caller hashes with [`hash_secret`].

use sha2::{Digest, Sha256};

use crate::{Result, Store, Timestamp, User, UserId};

/// Hex SHA-256 of a secret (session cookie, API token, email link token).
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A live web session.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Session {
    /// Hash of the cookie token.
    pub id: String,
    /// The user.
    pub user_id: UserId,
    /// The token forms and JavaScript must echo on writes.
    pub csrf_token: String,
    /// Created.
    pub created_at: Timestamp,
    /// Ends.
    pub expires_at: Timestamp,
}

/// A one-time email link token.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EmailToken {
    /// The user.
    pub user_id: UserId,
    /// `reset` or `verify`.
    pub kind: String,
    /// The address it was sent to.
    pub email: String,
    /// Ends.
    pub expires_at: Timestamp,
    /// When used (tokens work once).
    pub used_at: Option<Timestamp>,
}

impl Store {
    /// Stores a new session.
    pub async fn create_session(
        &self,
        token_hash: &str,
        user: UserId,
        csrf_token: &str,
        expires_at: Timestamp,
        ip: Option<&str>,
        user_agent: Option<&str>,
    ) -> Result<()> {
        let now = Timestamp::now();
        write!(self, |pool| sqlx::query(
            "INSERT INTO sessions (id, user_id, csrf_token, created_at, expires_at, last_seen_at, ip, user_agent)
             VALUES ($1, $2, $3, $4, $5, $4, $6, $7)"
        )
        .bind(token_hash)
        .bind(user)
        .bind(csrf_token)
        .bind(now)
        .bind(expires_at)
        .bind(ip)
        .bind(user_agent.map(|ua| ua.chars().take(300).collect::<String>()))
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// The unexpired session with this token hash, and its active user.
    pub async fn session(&self, token_hash: &str) -> Result<Option<(Session, User)>> {
        let session = read!(self, |pool| {
            sqlx::query_as::<_, Session>(
            "SELECT id, user_id, csrf_token, created_at, expires_at FROM sessions WHERE id = $1 AND expires_at > $2"
        )
        .bind(token_hash)
        .bind(Timestamp::now())
        .fetch_optional(pool)
        .await
        })?;
        let Some(session) = session else { return Ok(None) };
        let user = self.user(session.user_id).await?;
        Ok(user.is_active.then_some((session, user)))
    }

    /// Ends a session.
    pub async fn delete_session(&self, token_hash: &str) -> Result<()> {
        write!(self, |pool| sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(token_hash)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Ends every session of a user (after a password change), except `keep`.
    pub async fn delete_user_sessions(&self, user: UserId, keep: Option<&str>) -> Result<()> {
        write!(self, |pool| sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id <> $2")
            .bind(user)
            .bind(keep.unwrap_or(""))
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Removes expired sessions and email tokens.
    pub async fn purge_expired_sessions(&self) -> Result<u64> {
        let now = Timestamp::now();
        let a = write!(self, |pool| sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
            .bind(now)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        let b = write!(self, |pool| sqlx::query("DELETE FROM email_tokens WHERE expires_at < $1")
            .bind(now)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(a + b)
    }

    /// Stores a one-time email token.
    pub async fn create_email_token(
        &self,
        token_hash: &str,
        user: UserId,
        kind: &str,
        email: &str,
        expires_at: Timestamp,
    ) -> Result<()> {
        write!(self, |pool| {
            sqlx::query(
            "INSERT INTO email_tokens (token_hash, user_id, kind, email, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)"
        )
        .bind(token_hash)
        .bind(user)
        .bind(kind)
        .bind(email)
        .bind(Timestamp::now())
        .bind(expires_at)
        .execute(pool)
        .await
        .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Uses a one-time token of `kind`: returns it (and marks it used) when it exists,
    /// is unused and unexpired.
    pub async fn use_email_token(&self, token_hash: &str, kind: &str) -> Result<Option<EmailToken>> {
        let now = Timestamp::now();
        let token = write!(self, |pool| {
            sqlx::query_as::<_, EmailToken>(
            "UPDATE email_tokens SET used_at = $1 WHERE token_hash = $2 AND kind = $3 AND used_at IS NULL AND expires_at > $1
             RETURNING user_id, kind, email, expires_at, used_at"
        )
        .bind(now)
        .bind(token_hash)
        .bind(kind)
        .fetch_optional(pool)
        .await
        })?;
        Ok(token)
    }
}
