//! Faultline's use cases: the rules that sit between the edges (HTTP, CLI, workers)
//! and the store. Edges call these functions; they never hash a password or decide a
//! permission themselves.

pub mod access;
pub mod accounts;
pub mod alerts;
pub mod mail;
pub mod members;
pub mod monitors;
pub mod organizations;
pub mod password;
pub mod projects;
pub mod status_pages;
pub mod tokens;

use faultline_store::StoreError;

/// Why a use case refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// The input breaks a rule; the text says which and how to fix it.
    #[error("{0}")]
    Invalid(String),
    /// The thing to create exists already.
    #[error("{0}")]
    Conflict(String),
    /// The caller may see the object but not do this to it.
    #[error("{0}")]
    Forbidden(String),
    /// The thing asked for does not exist (or is not visible to the caller).
    #[error("not found")]
    NotFound,
    /// Storage failed.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for DomainError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => DomainError::NotFound,
            other => DomainError::Store(other),
        }
    }
}
