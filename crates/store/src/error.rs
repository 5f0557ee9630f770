//! Store errors.
//!
//! Policy: store methods return [`StoreError`] with semantic variants callers can act
//! on (`NotFound`, `Conflict`); everything else is a `Database` error the edge turns
//! into a 500 (or, for ingest, a 503).

/// What can go wrong talking to the database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row asked for does not exist.
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was violated; the text names the rule.
    #[error("already exists ({0})")]
    Conflict(String),
    /// The database could not be opened.
    #[error("{0}")]
    Connect(String),
    /// Stored data could not be decoded.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// Data handed to the store cannot be stored (a dictionary zstd cannot read).
    #[error("invalid: {0}")]
    Invalid(String),
    /// Applying migrations failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Any other database error.
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(db.message().to_string()),
            other => StoreError::Database(other),
        }
    }
}

impl StoreError {
    /// Whether this is a uniqueness conflict.
    pub fn is_conflict(&self) -> bool {
        matches!(self, StoreError::Conflict(_))
    }
}
