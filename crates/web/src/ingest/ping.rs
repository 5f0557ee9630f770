//! Healthchecks-style ping URLs for cron monitors, on the same engine as Sentry
//! check-ins.
//!
//! `GET|POST|HEAD /ping/<ping_key>` signals success, and
//! `/ping/<ping_key>/start`, `/fail`, `/log` and `/<exit code 0-255>` the other
//! signals (exit code 0 is success, anything else a failure). A monitor can also be
//! named by the project's public (DSN) key and its slug:
//! `/ping/<public key>/<slug>[/<signal>]`; with `?create=1` an unknown slug creates
//! the monitor (expected daily, an hour of margin, as Healthchecks' new checks). `?rid=<uuid>` ties a
//! start to its finish (durations, overlapping runs); without it, a finish closes the
//! latest run in progress. `?env=<environment>` (default `production`) picks the
//! environment. The request body is kept, up to [`PING_BODY_LIMIT`] bytes, with the
//! run (announced in the `Ping-Body-Limit` header). Answers `200 OK` in plain text,
//! with `Access-Control-Allow-Origin: *`, or 404 for an unknown key.
//!
//! Each ping becomes a received check-in (`in_progress`, `ok`, `error`; `/log` is
//! recorded only) that the cron engine applies within a second.

use std::net::SocketAddr;

use axum::body::Body as HttpBody;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use faultline_monitoring::cron::{slugify, Config, MAX_ENVIRONMENT};
use faultline_store::{CronMonitor, StoreError};
use serde_json::{json, Value};
use uuid::Uuid;

use super::IngestError;
use crate::AppState;

/// Bytes of a ping's body kept with the run.
pub const PING_BODY_LIMIT: usize = 10_000;
/// Largest body read at all.
const MAX_BODY: usize = 1024 * 1024;

/// What a ping signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signal {
    Success,
    Start,
    Fail,
    Log,
    Exit(u8),
}

impl Signal {
    fn parse(s: &str) -> Option<Signal> {
        Some(match s {
            "" => Signal::Success,
            "start" => Signal::Start,
            "fail" => Signal::Fail,
            "log" => Signal::Log,
            code => Signal::Exit(code.parse::<u8>().ok().filter(|_| code.bytes().all(|b| b.is_ascii_digit()))?),
        })
    }

    fn kind(self) -> &'static str {
        match self {
            Signal::Success => "success",
            Signal::Start => "start",
            Signal::Fail => "fail",
            Signal::Log => "log",
            Signal::Exit(_) => "exit_code",
        }
    }

    /// The check-in status it maps onto.
    fn status(self) -> &'static str {
        match self {
            Signal::Success | Signal::Exit(0) => "ok",
            Signal::Start => "in_progress",
            Signal::Fail | Signal::Exit(_) => "error",
            Signal::Log => "log",
        }
    }
}

/// `/ping/<ping_key>`: success.
pub(crate) async fn ping(
    State(state): State<AppState>,
    Path(key): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: HttpBody,
) -> Response {
    handle(&state, &[key], peer, &method, query.as_deref(), &headers, body).await
}

/// `/ping/<ping_key>/<signal>` (start, fail, log or an exit code), or
/// `/ping/<project key>/<slug>`: success.
pub(crate) async fn ping_two(
    State(state): State<AppState>,
    Path((a, b)): Path<(String, String)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: HttpBody,
) -> Response {
    handle(&state, &[a, b], peer, &method, query.as_deref(), &headers, body).await
}

/// `/ping/<project key>/<slug>/<signal>`.
pub(crate) async fn ping_three(
    State(state): State<AppState>,
    Path((a, b, c)): Path<(String, String, String)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: HttpBody,
) -> Response {
    handle(&state, &[a, b, c], peer, &method, query.as_deref(), &headers, body).await
}

#[allow(clippy::too_many_arguments)]
async fn handle(
    state: &AppState,
    segments: &[String],
    peer: SocketAddr,
    method: &Method,
    query: Option<&str>,
    headers: &HeaderMap,
    body: HttpBody,
) -> Response {
    let result = record(state, segments, peer, method, query, headers, body).await;
    state.ingest.counters.count(result.is_ok());
    let mut response = match result {
        Ok(()) => (StatusCode::OK, "OK").into_response(),
        Err(e) => (e.status(), e.detail().to_string()).into_response(),
    };
    let h = response.headers_mut();
    h.insert("ping-body-limit", HeaderValue::from(PING_BODY_LIMIT));
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}

#[allow(clippy::too_many_arguments)]
async fn record(
    state: &AppState,
    segments: &[String],
    peer: SocketAddr,
    method: &Method,
    query: Option<&str>,
    headers: &HeaderMap,
    body: HttpBody,
) -> Result<(), IngestError> {
    if state.config.ingest.maintenance_freeze {
        return Err(IngestError::Unavailable {
            retry_after: 300,
            detail: "Pings are not currently being accepted due to maintenance.".into(),
        });
    }
    let not_found = || IngestError::NotFound("not found".into());
    let mut rid = None;
    let mut create = false;
    let mut environment = String::from("production");
    for (name, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match name.as_ref() {
            "rid" => {
                rid = Some(Uuid::try_parse(&value).map_err(|_| IngestError::BadRequest("rid must be a UUID".into()))?);
            }
            "create" => create = value == "1",
            "env" | "environment" => {
                let env: String = value.trim().chars().take(MAX_ENVIRONMENT).collect();
                if !env.is_empty() {
                    environment = env;
                }
            }
            _ => {}
        }
    }
    let bytes = axum::body::to_bytes(body, MAX_BODY)
        .await
        .map_err(|_| IngestError::TooLarge(format!("the body is larger than {MAX_BODY} bytes")))?;
    let (monitor, signal) = resolve(state, segments, create).await?.ok_or_else(not_found)?;
    // A start without a rid opens a run of its own; a finish without one closes the
    // latest run in progress (the nil id).
    let check_in_id = match (rid, signal) {
        (Some(rid), _) => rid,
        (None, Signal::Start) => Uuid::new_v4(),
        (None, _) => Uuid::nil(),
    };
    let mut ping = json!({
        "kind": signal.kind(),
        "method": method.as_str(),
        "remote_addr": state.ingest.proxies.client_ip(peer, headers).to_string(),
    });
    if let Signal::Exit(code) = signal {
        ping["exit_code"] = Value::from(code);
    }
    if let Some(rid) = rid {
        ping["rid"] = Value::from(rid.to_string());
    }
    if let Some(ua) = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()) {
        ping["user_agent"] = Value::from(ua.chars().take(200).collect::<String>());
    }
    if !bytes.is_empty() {
        let kept = &bytes[..bytes.len().min(PING_BODY_LIMIT)];
        ping["body"] = Value::from(String::from_utf8_lossy(kept).into_owned());
        ping["body_size"] = Value::from(bytes.len());
    }
    let slug = slugify(&monitor.slug).unwrap_or_else(|| monitor.slug.clone());
    let payload = json!({
        "check_in_id": check_in_id.simple().to_string(),
        "monitor_slug": slug,
        "status": signal.status(),
        "environment": environment,
        "ping": ping,
    });
    state
        .store
        .insert_ping_check_in(&monitor, check_in_id, signal.status(), &environment, &payload.to_string())
        .await
        .map_err(|e| IngestError::storage(&e))?;
    Ok(())
}

/// The monitor and signal a ping's path names: `<ping key>[/<signal>]`, else
/// `<project key>/<slug>[/<signal>]` (creating the monitor with `create`).
async fn resolve(
    state: &AppState,
    segments: &[String],
    create: bool,
) -> Result<Option<(CronMonitor, Signal)>, IngestError> {
    let store = &state.store;
    if segments.len() <= 2 {
        let signal = Signal::parse(segments.get(1).map_or("", String::as_str));
        if let (Ok(key), Some(signal)) = (Uuid::try_parse(&segments[0]), signal) {
            if let Some(m) = store.cron_monitor_by_ping_key(key).await.map_err(|e| IngestError::storage(&e))? {
                return Ok(Some((m, signal)));
            }
        }
    }
    let (Some(slug), Some(signal)) =
        (segments.get(1).and_then(|s| slugify(s)), Signal::parse(segments.get(2).map_or("", String::as_str)))
    else {
        return Ok(None);
    };
    let auth = state.ingest.keys.get(store, &segments[0]).await.map_err(|e| IngestError::storage(&e))?;
    let Some(auth) = auth.filter(|a| a.key_active && !a.project_deleted) else { return Ok(None) };
    if let Some(m) = store.cron_monitor_by_slug(auth.project_id, &slug).await.map_err(|e| IngestError::storage(&e))? {
        return Ok(Some((m, signal)));
    }
    if !create {
        return Ok(None);
    }
    // Healthchecks' defaults for a new check: expected daily, an hour of grace.
    let config = Config::from_json(&json!({"schedule": {"type": "interval", "value": 1, "unit": "day"},
        "checkin_margin": 60}))
    .map_err(IngestError::BadRequest)?;
    let new = crate::api::crons::new_monitor(&slug, &slug, &config);
    let m = match store.create_cron_monitor(auth.project_id, &new).await {
        Ok(m) => Some(m),
        Err(StoreError::Conflict(_)) => {
            store.cron_monitor_by_slug(auth.project_id, &slug).await.map_err(|e| IngestError::storage(&e))?
        }
        Err(e) => return Err(IngestError::storage(&e)),
    };
    Ok(m.map(|m| (m, signal)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_map_onto_check_in_statuses() {
        assert_eq!(Signal::parse("").map(Signal::status), Some("ok"));
        assert_eq!(Signal::parse("start").map(Signal::status), Some("in_progress"));
        assert_eq!(Signal::parse("fail").map(Signal::status), Some("error"));
        assert_eq!(Signal::parse("log").map(Signal::status), Some("log"));
        assert_eq!(Signal::parse("0").map(Signal::status), Some("ok"));
        assert_eq!(Signal::parse("1").map(Signal::status), Some("error"));
        assert_eq!(Signal::parse("255").map(Signal::status), Some("error"));
        assert_eq!(Signal::parse("256"), None);
        assert_eq!(Signal::parse("+1"), None);
        assert_eq!(Signal::parse("nope"), None);
    }
}
