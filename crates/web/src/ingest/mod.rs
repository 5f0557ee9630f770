//! Ingest: the endpoints Sentry SDKs send to.
//!
//! # Path of an event
//!
//! 1. **Route.** `/api/<project>/envelope/` (and `store`, `security`, `csp-report`,
//!    `minidump`, `events/<id>/attachments`, `cron`, `/api/store/`, the embed widget).
//! 2. **Gate.** A maintenance freeze answers 503 at once.
//! 3. **Read** ([`body`]). The body is read within `FAULTLINE_MAX_BODY_SIZE`, then
//!    decoded per `Content-Encoding` within `GLITCHTIP_MAX_UNZIPPED_PAYLOAD_SIZE`; the
//!    bytes held count against a server-wide memory budget (503 when spent), so load
//!    can never grow memory without bound.
//! 4. **Parse just enough.** Envelopes are parsed ([`faultline_protocol::Envelope`]);
//!    event-like items are scanned for well-formed JSON, size and id — nothing more.
//! 5. **Authenticate** ([`auth`]). The key comes from `X-Sentry-Auth`,
//!    `Authorization`, the query string or the envelope's `dsn`; conflicting keys are
//!    refused. It is checked against an in-memory cache of keys, never the database
//!    per request.
//! 6. **Limit** ([`limits`]). Per-key, per-project and per-organization rate limits,
//!    the monthly quota, GlitchTip's throttle, duplicate event ids and queue depth.
//! 7. **Spool** ([`spool`]). The payload, as an envelope, joins the current group
//!    commit: many requests are appended to the durable queue in one transaction.
//! 8. **Answer.** Only after that commit: `200 {"id": …}`. A `200` is a promise that
//!    the event is durable.
//!
//! No other I/O happens here. Digestion (normalizing, grouping, storing) runs in the
//! workers, from the queue.

mod auth;
mod body;
mod client_ip;
mod embed;
mod endpoints;
mod error;
mod limits;
mod ping;
mod spool;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::routing::{get, post};
use axum::Router;
use faultline_config::Config;
use faultline_store::{Handoff, Store};
use http::{HeaderName, Method};
use tokio_util::task::TaskTracker;
use tower_http::cors::{Any, CorsLayer};

pub use auth::KeyCache;
pub use error::IngestError;
pub use spool::Spooler;

use crate::AppState;

/// Ingest's shared parts, held in [`AppState`].
pub struct Ingest {
    /// Cached key lookups.
    pub keys: KeyCache,
    pub(crate) limits: limits::Limits,
    pub(crate) spool: Spooler,
    pub(crate) budget: body::MemoryBudget,
    pub(crate) proxies: client_ip::TrustedProxies,
    /// Counters since start.
    pub counters: Counters,
}

/// Ingest counters since the process started.
#[derive(Default)]
pub struct Counters {
    /// Requests answered 2xx.
    pub accepted: AtomicU64,
    /// Requests refused (4xx/5xx).
    pub rejected: AtomicU64,
}

impl Counters {
    pub(crate) fn count(&self, ok: bool) {
        let counter = if ok { &self.accepted } else { &self.rejected };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

impl Ingest {
    /// Sets up ingest and starts its spooler on `tasks`. With a `handoff` (a digest
    /// runs in this process), committed payloads are handed to it in memory.
    pub fn start(config: &Config, store: &Store, tasks: &TaskTracker, handoff: Option<Arc<Handoff>>) -> Ingest {
        Ingest {
            keys: KeyCache::new(Duration::from_secs(60), Duration::from_secs(10)),
            limits: limits::Limits::new(config.ingest.max_queue_depth),
            spool: Spooler::start(store.clone(), tasks, handoff),
            budget: body::MemoryBudget::new(config.ingest.memory_budget),
            proxies: client_ip::TrustedProxies::new(&config.ingest.trusted_proxies),
            counters: Counters::default(),
        }
    }
}

/// The ingest routes, with CORS for browser SDKs.
pub(crate) fn routes() -> Router<AppState> {
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers([
            HeaderName::from_static("x-sentry-auth"),
            HeaderName::from_static("x-requested-with"),
            HeaderName::from_static("x-forwarded-for"),
            http::header::ORIGIN,
            http::header::REFERER,
            http::header::ACCEPT,
            http::header::CONTENT_TYPE,
            http::header::AUTHORIZATION,
            http::header::CONTENT_ENCODING,
            http::header::TRANSFER_ENCODING,
            HeaderName::from_static("authentication"),
            HeaderName::from_static("baggage"),
            HeaderName::from_static("sentry-trace"),
        ])
        .expose_headers([
            HeaderName::from_static("x-sentry-error"),
            HeaderName::from_static("x-sentry-rate-limits"),
            http::header::RETRY_AFTER,
        ])
        .max_age(Duration::from_secs(3600));
    Router::new()
        .route("/api/{project_id}/envelope/", post(endpoints::envelope))
        .route("/api/{project_id}/store/", post(endpoints::store).get(endpoints::store_get))
        .route("/api/store/", post(endpoints::store_without_project))
        .route("/api/{project_id}/security/", post(endpoints::security))
        .route("/api/{project_id}/csp-report/", post(endpoints::security))
        .route("/api/{project_id}/minidump/", post(endpoints::minidump))
        .route("/api/{project_id}/minidump", post(endpoints::minidump))
        .route("/api/{project_id}/events/{event_id}/attachments/", post(endpoints::attachments))
        .route("/api/{project_id}/cron/{monitor_slug}/{key}/", get(endpoints::cron).post(endpoints::cron))
        .route("/api/{project_id}/cron/{monitor_slug}/", get(endpoints::cron_keyless).post(endpoints::cron_keyless))
        .route("/ping/{key}", get(ping::ping).post(ping::ping))
        .route("/ping/{key}/{part}", get(ping::ping_two).post(ping::ping_two))
        .route("/ping/{key}/{part}/{signal}", get(ping::ping_three).post(ping::ping_three))
        .route("/api/embed/error-page/", get(embed::script).post(embed::submit))
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(cors)
}
