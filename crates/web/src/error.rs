//! The one error type at the HTTP edge.
//!
//! REST API errors are JSON `{"detail": "…"}` with a fitting status, the shape Sentry
//! clients (sentry-cli, GitLab, Grafana) and GlitchTip's UI read. Internal errors are
//! logged with their cause and shown to the client only as a generic message.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use faultline_domain::DomainError;
use faultline_store::StoreError;

/// An error answered to an HTTP client.
#[derive(Debug, thiserror::Error)]
#[error("{status}: {detail}")]
pub struct ApiError {
    /// Status code.
    pub status: StatusCode,
    /// Message for the client.
    pub detail: String,
}

impl ApiError {
    /// Any status with a message.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> ApiError {
        ApiError { status, detail: detail.into() }
    }

    /// 400.
    pub fn bad_request(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, detail)
    }

    /// 404, also used for other tenants' objects so their existence does not leak.
    pub fn not_found() -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "Not found.")
    }

    /// 500 after logging the cause.
    pub fn internal(cause: &dyn std::fmt::Display) -> ApiError {
        tracing::error!(error = %cause, "internal error");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error.")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(serde_json::json!({ "detail": self.detail }))).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::not_found(),
            StoreError::Conflict(_) => ApiError::new(StatusCode::CONFLICT, "Already exists."),
            other => ApiError::internal(&other),
        }
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Invalid(msg) => ApiError::bad_request(msg),
            DomainError::Conflict(msg) => ApiError::new(StatusCode::CONFLICT, msg),
            DomainError::Forbidden(msg) => ApiError::new(StatusCode::FORBIDDEN, msg),
            DomainError::NotFound => ApiError::not_found(),
            DomainError::Store(e) => e.into(),
        }
    }
}
