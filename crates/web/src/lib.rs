//! Faultline's HTTP surface: one axum router serving ingest (`/api/<id>/…`), the
//! REST API (`/api/0/…`), the web UI and health checks, mounted below `BASE_PATH`.
//!
//! Handlers get an [`AppState`] (configuration and store, no globals) and report
//! failures as [`ApiError`], the one error type at this edge.

pub mod api;
mod error;
mod health;
pub mod ingest;
mod ui;

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use faultline_config::Config;
use faultline_store::Store;
use http::{HeaderName, Request};
use tokio_util::sync::CancellationToken;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnFailure, DefaultOnResponse, TraceLayer};
use tracing::Level;

pub use error::ApiError;
pub use ingest::Ingest;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    /// The configuration, loaded once at start.
    pub config: Arc<Config>,
    /// The store.
    pub store: Store,
    /// Ingest's caches, limits and spooler.
    pub ingest: Arc<Ingest>,
    /// Failed-login counters.
    pub login_limiter: Arc<api::accounts::LoginLimiter>,
}

impl AppState {
    /// Bundles configuration, store and ingest.
    pub fn new(config: Arc<Config>, store: Store, ingest: Arc<Ingest>) -> AppState {
        AppState { config, store, ingest, login_limiter: Arc::default() }
    }
}

/// The complete router, mounted below `BASE_PATH`, with request ids and request logs.
pub fn router(state: AppState) -> Router {
    let base_path = state.config.http.base_path.clone();
    let routes = Router::new()
        .merge(health::routes())
        .merge(ingest::routes())
        .merge(api::routes())
        .merge(ui::routes(state.clone()))
        .with_state(state);
    let app = if base_path.is_empty() { routes } else { Router::new().nest(&base_path, routes) };
    app.layer(
        tower::ServiceBuilder::new()
            .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(|req: &Request<_>| {
                        let id = req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
                        tracing::info_span!("request", id, method = %req.method(), path = req.uri().path())
                    })
                    .on_request(())
                    .on_response(DefaultOnResponse::new().level(Level::INFO))
                    .on_failure(DefaultOnFailure::new().level(Level::WARN)),
            )
            .layer(PropagateRequestIdLayer::new(REQUEST_ID)),
    )
}

/// Serves `router(state)` on `listener` until `shutdown` is cancelled, then stops
/// accepting, lets in-flight requests finish (at most `grace`) and returns.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: CancellationToken,
    grace: Duration,
) -> std::io::Result<()> {
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let stopping = shutdown.clone();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move { stopping.cancelled().await });
    let server = std::pin::pin!(server.into_future());
    tokio::select! {
        result = server => result,
        // Clients holding connections open must not keep the process alive forever.
        _ = async { shutdown.cancelled().await; tokio::time::sleep(grace).await } => {
            tracing::warn!(grace_secs = grace.as_secs(), "in-flight requests did not finish in time; closing them");
            Ok(())
        }
    }
}
