//! Health checks for load balancers and operators.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::AppState;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/_health/", get(liveness)).route("/api/0/internal/health", get(health))
}

/// `GET /_health/`: the process serves HTTP.
async fn liveness() -> &'static str {
    "ok"
}

/// `GET /api/0/internal/health`: database reachability and queue depth; 503 when the
/// database does not answer.
async fn health(State(state): State<AppState>) -> impl IntoResponse {
    let mut problems = Vec::new();
    let database = match state.store.ping().await {
        Ok(()) => true,
        Err(e) => {
            problems.push(json!({ "id": "database", "message": format!("The database is unreachable: {e}"), "severity": "critical" }));
            false
        }
    };
    let (depth, jobs) = if database {
        (state.store.queue_depth().await.ok(), state.store.pending_job_count().await.ok())
    } else {
        (None, None)
    };
    let status = if database { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (
        status,
        Json(json!({
            "healthy": { "database": database },
            "problems": problems,
            "queue": { "depth": depth, "pendingJobs": jobs },
            "ingest": {
                "accepted": state.ingest.counters.accepted.load(std::sync::atomic::Ordering::Relaxed),
                "rejected": state.ingest.counters.rejected.load(std::sync::atomic::Ordering::Relaxed),
            },
        })),
    )
}
