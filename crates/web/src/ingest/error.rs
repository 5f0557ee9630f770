//! Ingest answers in the shapes Sentry SDKs understand: a status code, a JSON body
//! `{"detail": "…"}`, `X-Sentry-Error` with the same text, and for rate limits
//! `Retry-After` plus `X-Sentry-Rate-Limits`.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

/// A refused ingest request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IngestError {
    /// 400: the payload is malformed.
    BadRequest(String),
    /// 401: authentication missing, malformed, conflicting or unknown.
    Unauthorized(String),
    /// 403: the key may not send to this project (disabled, other project, deleted).
    Forbidden(String),
    /// 404: no such route parameter (e.g. a project id that is not a number).
    NotFound(String),
    /// 405: wrong method.
    MethodNotAllowed,
    /// 413: a body or item is larger than allowed.
    TooLarge(String),
    /// 415: an unsupported `Content-Encoding`.
    UnsupportedEncoding(String),
    /// 429: a rate limit or quota. `limits` is the `X-Sentry-Rate-Limits` value.
    RateLimited {
        /// Seconds until retrying makes sense.
        retry_after: u64,
        /// `retry_after:categories:scope:reason` entries.
        limits: String,
        /// Human-readable reason.
        detail: String,
    },
    /// 503: maintenance, overload or a storage failure; retry later.
    Unavailable {
        /// Seconds until retrying makes sense.
        retry_after: u64,
        /// Human-readable reason.
        detail: String,
    },
}

impl IngestError {
    /// The status code.
    pub fn status(&self) -> StatusCode {
        match self {
            IngestError::BadRequest(_) => StatusCode::BAD_REQUEST,
            IngestError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            IngestError::Forbidden(_) => StatusCode::FORBIDDEN,
            IngestError::NotFound(_) => StatusCode::NOT_FOUND,
            IngestError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            IngestError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            IngestError::UnsupportedEncoding(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            IngestError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            IngestError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The message.
    pub fn detail(&self) -> &str {
        match self {
            IngestError::BadRequest(d)
            | IngestError::Unauthorized(d)
            | IngestError::Forbidden(d)
            | IngestError::NotFound(d)
            | IngestError::TooLarge(d)
            | IngestError::UnsupportedEncoding(d) => d,
            IngestError::MethodNotAllowed => "Method not allowed",
            IngestError::RateLimited { detail, .. } | IngestError::Unavailable { detail, .. } => detail,
        }
    }

    /// 503 for a storage failure, logged with its cause.
    pub(crate) fn storage(cause: &dyn std::fmt::Display) -> IngestError {
        tracing::error!(error = %cause, "ingest storage failure");
        IngestError::Unavailable { retry_after: 10, detail: "the event queue is unavailable; retry later".into() }
    }
}

impl IntoResponse for IngestError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            tracing::debug!(%status, detail = self.detail(), "ingest refused");
        } else {
            tracing::info!(%status, detail = self.detail(), "ingest refused");
        }
        let mut response = (status, Json(serde_json::json!({ "detail": self.detail() }))).into_response();
        let headers = response.headers_mut();
        // Header values must be visible ASCII; keep the first line, ASCII only.
        let safe: String = self
            .detail()
            .lines()
            .next()
            .unwrap_or_default()
            .chars()
            .filter(|c| c.is_ascii() && !c.is_ascii_control())
            .take(200)
            .collect();
        if let Ok(v) = HeaderValue::from_str(&safe) {
            headers.insert("x-sentry-error", v);
        }
        match &self {
            IngestError::RateLimited { retry_after, limits, .. } => {
                headers.insert(http::header::RETRY_AFTER, HeaderValue::from(*retry_after));
                if let Ok(v) = HeaderValue::from_str(limits) {
                    headers.insert("x-sentry-rate-limits", v);
                }
            }
            IngestError::Unavailable { retry_after, .. } => {
                headers.insert(http::header::RETRY_AFTER, HeaderValue::from(*retry_after));
            }
            _ => {}
        }
        response
    }
}

/// The fallback for a known ingest path with the wrong method.
pub(crate) async fn method_not_allowed() -> IngestError {
    IngestError::MethodNotAllowed
}
