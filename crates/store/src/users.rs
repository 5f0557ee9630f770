//! Users.

use crate::{Result, Store, Timestamp, UserId};

/// A user account.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct User {
    /// Id.
    pub id: UserId,
    /// Login email, unique regardless of case.
    pub email: String,
    /// Display name.
    pub name: String,
    /// PHC-format password hash (argon2, or an imported Django hash); `None` for
    /// accounts without a password.
    pub password_hash: Option<String>,
    /// Inactive users cannot log in or use tokens.
    pub is_active: bool,
    /// May use the admin pages.
    pub is_staff: bool,
    /// Has every permission.
    pub is_superuser: bool,
    /// Whether the email address was confirmed.
    pub email_verified: bool,
    /// Alert emails for projects without an explicit per-project setting.
    pub subscribe_by_default: bool,
    /// UI preferences (JSON).
    pub options: String,
    /// Created.
    pub created_at: Timestamp,
    /// Last successful login.
    pub last_login_at: Option<Timestamp>,
}

/// What is needed to create a user.
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    /// Login email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Already-hashed password.
    pub password_hash: Option<String>,
    /// Superuser and staff.
    pub is_superuser: bool,
    /// Email already confirmed.
    pub email_verified: bool,
}

const USER_COLUMNS: &str = "id, email, name, password_hash, is_active, is_staff, is_superuser, email_verified, \
     subscribe_by_default, options, created_at, last_login_at";

impl Store {
    /// Creates a user; [`crate::StoreError::Conflict`] when the email (in any case) is
    /// taken.
    pub async fn create_user(&self, new: &NewUser) -> Result<User> {
        let sql = format!(
            "INSERT INTO users (email, name, password_hash, is_staff, is_superuser, email_verified, created_at)
             VALUES ($1, $2, $3, $4, $4, $5, $6) RETURNING {USER_COLUMNS}"
        );
        let user = write!(self, |pool| sqlx::query_as::<_, User>(&sql)
            .bind(new.email.trim())
            .bind(&new.name)
            .bind(&new.password_hash)
            .bind(new.is_superuser)
            .bind(new.email_verified)
            .bind(Timestamp::now())
            .fetch_one(pool)
            .await)?;
        Ok(user)
    }

    /// The user with this email, compared without regard to case.
    pub async fn user_by_email(&self, email: &str) -> Result<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE lower(email) = lower($1)");
        let user = read!(self, |pool| sqlx::query_as::<_, User>(&sql).bind(email.trim()).fetch_optional(pool).await)?;
        Ok(user)
    }

    /// The user with this id.
    pub async fn user(&self, id: UserId) -> Result<User> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let user = read!(self, |pool| sqlx::query_as::<_, User>(&sql).bind(id).fetch_one(pool).await)?;
        Ok(user)
    }

    /// How many users exist (the first may always register).
    pub async fn user_count(&self) -> Result<i64> {
        let n = read!(self, |pool| sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM users").fetch_one(pool).await)?;
        Ok(n)
    }
}

impl Store {
    /// Records a successful login.
    pub async fn touch_last_login(&self, id: UserId) -> Result<()> {
        write!(self, |pool| sqlx::query("UPDATE users SET last_login_at = $1 WHERE id = $2")
            .bind(Timestamp::now())
            .bind(id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Replaces a user's password hash.
    pub async fn set_password_hash(&self, id: UserId, hash: &str) -> Result<()> {
        write!(self, |pool| sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(hash)
            .bind(id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Marks a user's email as confirmed.
    pub async fn set_email_verified(&self, id: UserId) -> Result<()> {
        write!(self, |pool| sqlx::query("UPDATE users SET email_verified = TRUE WHERE id = $1")
            .bind(id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Updates a user's name and preferences.
    pub async fn update_user_profile(
        &self,
        id: UserId,
        name: &str,
        subscribe_by_default: bool,
        options: &str,
    ) -> Result<User> {
        let sql = format!(
            "UPDATE users SET name = $1, subscribe_by_default = $2, options = $3 WHERE id = $4 RETURNING {USER_COLUMNS}"
        );
        let user = write!(self, |pool| sqlx::query_as::<_, User>(&sql)
            .bind(name)
            .bind(subscribe_by_default)
            .bind(options)
            .bind(id)
            .fetch_one(pool)
            .await)?;
        Ok(user)
    }
}
