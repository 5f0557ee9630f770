//! Cron monitors (Sentry Crons): list, create, update, delete, pause and the
//! check-in history.
//!
//! - `GET /api/0/organizations/{org}/cron-monitors/`: every project's monitors.
//! - `GET|POST /api/0/projects/{org}/{project}/cron-monitors/`
//! - `GET|PUT|DELETE /api/0/projects/{org}/{project}/cron-monitors/{monitor_slug}/`
//! - `POST /api/0/projects/{org}/{project}/cron-monitors/{monitor_slug}/pause/` and
//!   `/unpause/`
//! - `GET /api/0/projects/{org}/{project}/cron-monitors/{monitor_slug}/checkins/`
//!   (newest first, `?environment=`, cursor paging with a `Link` header)
//!
//! The body takes Sentry's shape, `{"name", "slug", "config": {"schedule_type",
//! "schedule", "timezone", "checkin_margin", "max_runtime",
//! "failure_issue_threshold", "recovery_threshold"}}`, where `schedule` is a crontab
//! string or `[value, unit]`; the SDKs' `monitor_config` shape (`"schedule":
//! {"type", "value", "unit"}`) is accepted as well. Monitors also appear on their
//! own when an SDK check-in carries `monitor_config`.

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use chrono::{DateTime, TimeDelta, Utc};
use faultline_domain::access::Scope;
use faultline_monitoring::cron::{slugify, Config};
use faultline_monitoring::schedule::Schedule;
use faultline_store::{CheckInPage, CronCheckIn, CronMonitor, CronMonitorEnv, NewCronMonitor, Project, Timestamp};
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

use super::pagination::{respond, PageQuery};
use super::{org, project, Auth};
use crate::api::Json;
use crate::{ApiError, AppState};

/// Body of a cron monitor. Every field is optional on update; `config` (or
/// `monitor_config`) is required on create.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct CronMonitorIn {
    name: Option<String>,
    slug: Option<String>,
    /// Sentry's `config` object (or the SDK's `monitor_config`).
    #[schema(value_type = Object)]
    config: Option<Value>,
    /// The SDK's name for `config`.
    #[schema(value_type = Object)]
    monitor_config: Option<Value>,
    /// Pause (`true`) or resume (`false`).
    #[serde(alias = "isPaused")]
    is_paused: Option<bool>,
    /// Sentry's `status`: `active` or `disabled` (paused).
    status: Option<String>,
}

/// `config` in Sentry's API shape or the SDK's, as the SDK's `monitor_config`.
fn normalize_config(config: &Value) -> Result<Value, ApiError> {
    let Some(map) = config.as_object() else {
        return Err(ApiError::bad_request("config must be an object"));
    };
    let mut out = map.clone();
    let kind = map.get("schedule_type").and_then(Value::as_str);
    match map.get("schedule") {
        Some(Value::String(expr)) => {
            out.insert("schedule".into(), json!({"type": kind.unwrap_or("crontab"), "value": expr}));
        }
        Some(Value::Array(parts)) => {
            let value = parts.first().cloned().unwrap_or(Value::Null);
            let unit = parts.get(1).cloned().unwrap_or(Value::Null);
            out.insert("schedule".into(), json!({"type": kind.unwrap_or("interval"), "value": value, "unit": unit}));
        }
        Some(Value::Object(_)) => {}
        None => return Err(ApiError::bad_request("config.schedule is required")),
        Some(_) => return Err(ApiError::bad_request("config.schedule must be a crontab string or [value, unit]")),
    }
    Ok(Value::Object(out))
}

/// The configuration a body asks for, validated (400 with the reason otherwise).
fn parse_config(config: &Value) -> Result<Config, ApiError> {
    Config::from_json(&normalize_config(config)?).map_err(ApiError::bad_request)
}

/// A monitor's configuration from its stored fields.
pub(crate) fn stored_config(m: &CronMonitor) -> Option<Config> {
    let schedule = Schedule::from_stored(&m.schedule_type, &m.schedule, Some(&m.timezone)).ok()?;
    let minutes = |v: i64| u32::try_from(v).unwrap_or(1).max(1);
    Some(Config {
        schedule,
        checkin_margin_min: minutes(m.checkin_margin_min),
        max_runtime_min: minutes(m.max_runtime_min),
        failure_issue_threshold: minutes(m.failure_issue_threshold),
        recovery_threshold: minutes(m.recovery_threshold),
    })
}

/// The stored fields of a configuration.
pub(crate) fn new_monitor(slug: &str, name: &str, config: &Config) -> NewCronMonitor {
    let (schedule_type, schedule) = config.schedule.to_stored();
    NewCronMonitor {
        slug: slug.to_string(),
        name: name.to_string(),
        schedule_type: schedule_type.to_string(),
        schedule,
        timezone: config.schedule.timezone().name().to_string(),
        checkin_margin_min: config.checkin_margin_min.into(),
        max_runtime_min: config.max_runtime_min.into(),
        failure_issue_threshold: config.failure_issue_threshold.into(),
        recovery_threshold: config.recovery_threshold.into(),
    }
}

/// The schedule in words ("every hour at :00", "every 2 hours", …), falling back to
/// the expression.
pub(crate) fn schedule_words(m: &CronMonitor) -> String {
    if m.schedule_type == "interval" {
        let (n, unit) = m.schedule.split_once(' ').unwrap_or(("1", m.schedule.as_str()));
        return if n == "1" { format!("every {unit}") } else { format!("every {n} {unit}s") };
    }
    let tz = if m.timezone == "UTC" { String::new() } else { format!(" ({})", m.timezone) };
    let words = crontab_words(&m.schedule).unwrap_or_else(|| format!("cron {}", m.schedule));
    format!("{words}{tz}")
}

fn crontab_words(expr: &str) -> Option<String> {
    let alias = match expr {
        "@yearly" | "@annually" => Some("once a year"),
        "@monthly" => Some("once a month"),
        "@weekly" => Some("once a week"),
        "@daily" | "@midnight" => Some("every day at 00:00"),
        "@hourly" => Some("every hour"),
        _ => None,
    };
    if let Some(a) = alias {
        return Some(a.to_string());
    }
    let f: Vec<&str> = expr.split_whitespace().collect();
    let [minute, hour, dom, month, dow] = f.as_slice() else { return None };
    let num = |s: &str| s.parse::<u32>().ok();
    let every = |s: &str| s.strip_prefix("*/").and_then(num);
    const DAYS: [&str; 7] = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
    let rest_any = *dom == "*" && *month == "*";
    match (num(minute), num(hour)) {
        _ if *minute == "*" && *hour == "*" && rest_any && *dow == "*" => Some("every minute".into()),
        _ if every(minute).is_some() && *hour == "*" && rest_any && *dow == "*" => {
            Some(format!("every {} minutes", every(minute)?))
        }
        (Some(m), None) if *hour == "*" && rest_any && *dow == "*" => Some(format!("every hour at :{m:02}")),
        (Some(m), None) if every(hour).is_some() && rest_any && *dow == "*" => {
            Some(format!("every {} hours at :{m:02}", every(hour)?))
        }
        (Some(m), Some(h)) if rest_any && *dow == "*" => Some(format!("every day at {h:02}:{m:02}")),
        (Some(m), Some(h)) if rest_any => {
            let day = num(dow).and_then(|d| DAYS.get(d as usize % 7).copied());
            match day {
                Some(day) => Some(format!("every {day} at {h:02}:{m:02}")),
                None if *dow == "1-5" => Some(format!("weekdays at {h:02}:{m:02}")),
                None => None,
            }
        }
        (Some(m), Some(h)) if *month == "*" && *dow == "*" => {
            num(dom).map(|d| format!("on day {d} of every month at {h:02}:{m:02}"))
        }
        _ => None,
    }
}

/// The ping URL of a monitor.
pub(crate) fn ping_url(state: &AppState, m: &CronMonitor) -> String {
    format!("{}{}/ping/{}", state.config.http.public_url, state.config.http.base_path, m.ping_key)
}

/// What the UI and API show of an environment: `in_progress`, the last run's status,
/// or `new`; `paused` overrides.
pub(crate) fn env_status(m: &CronMonitor, env: &CronMonitorEnv) -> &'static str {
    if m.paused {
        return "paused";
    }
    if env.state.in_progress_id.is_some() {
        return "in_progress";
    }
    match env.state.last_status.as_deref() {
        Some("ok") => "ok",
        Some("error") => "error",
        Some("missed") => "missed",
        Some("timeout") => "timeout",
        _ => "new",
    }
}

fn time(t: Option<Timestamp>) -> Value {
    t.map_or(Value::Null, |t| Value::from(t.to_rfc3339()))
}

fn env_json(m: &CronMonitor, env: &CronMonitorEnv) -> Value {
    let latest =
        env.state.next_checkin_at.map(|t| Timestamp::from_micros(t.micros() + m.checkin_margin_min * 60_000_000));
    json!({
        "name": env.environment,
        "status": env_status(m, env),
        "isFailing": env.state.failing,
        "lastStatus": env.state.last_status,
        "lastCheckIn": time(env.state.last_checkin_at),
        "nextCheckIn": time(env.state.next_checkin_at),
        "nextCheckInLatest": time(latest),
        "inProgressSince": time(env.state.in_progress_at),
        "consecutiveFailures": env.state.consecutive_failures,
        "consecutiveOk": env.state.consecutive_ok,
    })
}

/// A monitor as the API shows it.
pub(crate) async fn monitor_json(state: &AppState, project_slug: &str, m: &CronMonitor) -> Result<Value, ApiError> {
    let envs = state.store.cron_monitor_envs(m.id).await?;
    let schedule = if m.schedule_type == "interval" {
        let (n, unit) = m.schedule.split_once(' ').unwrap_or(("1", "minute"));
        json!([n.parse::<i64>().unwrap_or(1), unit])
    } else {
        Value::from(m.schedule.clone())
    };
    Ok(json!({
        "id": m.id.to_string(),
        "slug": m.slug,
        "name": m.name,
        "project": {"id": m.project_id.to_string(), "slug": project_slug},
        "status": if m.paused { "disabled" } else { "active" },
        "isPaused": m.paused,
        "config": {
            "schedule_type": m.schedule_type,
            "schedule": schedule,
            "timezone": m.timezone,
            "checkin_margin": m.checkin_margin_min,
            "max_runtime": m.max_runtime_min,
            "failure_issue_threshold": m.failure_issue_threshold,
            "recovery_threshold": m.recovery_threshold,
        },
        "scheduleDescription": schedule_words(m),
        "pingUrl": ping_url(state, m),
        "environments": envs.iter().map(|e| env_json(m, e)).collect::<Vec<_>>(),
        "dateCreated": m.created_at.to_rfc3339(),
    }))
}

fn check_in_json(c: &CronCheckIn) -> Value {
    let payload: Value = serde_json::from_str(&c.payload).unwrap_or(Value::Null);
    let mut out = json!({
        "id": c.check_in_id.simple().to_string(),
        "status": c.status,
        "environment": c.environment,
        "duration": c.duration.map(|d| d / 1000),
        "dateCreated": c.received_at.to_rfc3339(),
        "dateFinished": time(c.finished_at),
    });
    if let Some(ping) = payload.get("ping") {
        out["ping"] = ping.clone();
    }
    out
}

async fn monitor_of(state: &AppState, p: &Project, slug: &str) -> Result<CronMonitor, ApiError> {
    state.store.cron_monitor_by_slug(p.id, slug).await?.ok_or_else(ApiError::not_found)
}

/// Moves every environment's expected run after a configuration change (the new
/// schedule counts from now) or a resume.
async fn reschedule(state: &AppState, m: &CronMonitor) -> Result<(), ApiError> {
    let Some(config) = stored_config(m) else { return Ok(()) };
    let now: DateTime<Utc> = Utc::now();
    state
        .store
        .reschedule_cron_envs(m.id, |env| match env.state.in_progress_at {
            Some(started) => (
                env.state.next_checkin_at,
                Some(Timestamp::from_micros(started.micros() + i64::from(config.max_runtime_min) * 60_000_000)),
            ),
            None if env.state.last_checkin_at.is_none() => (None, None),
            None => {
                let next = config.schedule.next_after(now);
                let deadline = next.map(|n| n + TimeDelta::minutes(config.checkin_margin_min.into()));
                (next.map(Timestamp::from_datetime), deadline.map(Timestamp::from_datetime))
            }
        })
        .await?;
    Ok(())
}

/// The cron monitors of an organization's projects, with their environments.
#[utoipa::path(get, path = "/api/0/organizations/{organization_slug}/cron-monitors/", tag = "crons",
    params(("organization_slug" = String, Path)),
    responses((status = 200, body = Vec<Object>), (status = 404)))]
pub(crate) async fn list_organization_cron_monitors(
    State(state): State<AppState>,
    auth: Auth,
    Path(slug): Path<String>,
) -> Result<Json<Vec<Value>>, ApiError> {
    let access = org(&state, &auth, &slug).await?;
    access.require(Scope::ProjectRead)?;
    let mut out = Vec::new();
    for (project_slug, m) in state.store.organization_cron_monitors(access.org.id).await? {
        out.push(monitor_json(&state, &project_slug, &m).await?);
    }
    Ok(Json(out))
}

/// A project's cron monitors.
#[utoipa::path(get, path = "/api/0/projects/{organization_slug}/{project_slug}/cron-monitors/", tag = "crons",
    params(("organization_slug" = String, Path), ("project_slug" = String, Path)),
    responses((status = 200, body = Vec<Object>), (status = 404)))]
pub(crate) async fn list_cron_monitors(
    State(state): State<AppState>,
    auth: Auth,
    Path((slug, project_slug)): Path<(String, String)>,
) -> Result<Json<Vec<Value>>, ApiError> {
    let access = org(&state, &auth, &slug).await?;
    access.require(Scope::ProjectRead)?;
    let p = project(&state, &access, &project_slug).await?;
    let mut out = Vec::new();
    for m in state.store.cron_monitors(p.id).await? {
        out.push(monitor_json(&state, &p.slug, &m).await?);
    }
    Ok(Json(out))
}

/// Creates a cron monitor.
#[utoipa::path(post, path = "/api/0/projects/{organization_slug}/{project_slug}/cron-monitors/", tag = "crons",
    params(("organization_slug" = String, Path), ("project_slug" = String, Path)), request_body = CronMonitorIn,
    responses((status = 201, body = Object), (status = 400), (status = 403), (status = 404), (status = 409)))]
pub(crate) async fn create_cron_monitor(
    State(state): State<AppState>,
    auth: Auth,
    Path((slug, project_slug)): Path<(String, String)>,
    Json(body): Json<CronMonitorIn>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let access = org(&state, &auth, &slug).await?;
    access.require(Scope::ProjectWrite)?;
    let p = project(&state, &access, &project_slug).await?;
    let name = body.name.as_deref().map(str::trim).unwrap_or_default();
    let monitor_slug = body
        .slug
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .or((!name.is_empty()).then_some(name))
        .ok_or_else(|| ApiError::bad_request("a name or a slug is required"))?;
    let monitor_slug =
        slugify(monitor_slug).ok_or_else(|| ApiError::bad_request("the slug needs a letter or digit"))?;
    let name = if name.is_empty() { monitor_slug.as_str() } else { name };
    if name.chars().count() > 128 {
        return Err(ApiError::bad_request("the name is longer than 128 characters"));
    }
    let config = body
        .config
        .as_ref()
        .or(body.monitor_config.as_ref())
        .ok_or_else(|| ApiError::bad_request("config (with a schedule) is required"))?;
    let config = parse_config(config)?;
    let m = state.store.create_cron_monitor(p.id, &new_monitor(&monitor_slug, name, &config)).await.map_err(
        |e| match e {
            faultline_store::StoreError::Conflict(_) => {
                ApiError::new(StatusCode::CONFLICT, format!("a cron monitor with the slug {monitor_slug:?} exists"))
            }
            other => other.into(),
        },
    )?;
    let paused = body.is_paused.unwrap_or(false) || body.status.as_deref() == Some("disabled");
    let m = if paused {
        state.store.set_cron_monitor_paused(m.id, true).await?;
        state.store.cron_monitor(m.id).await?
    } else {
        m
    };
    Ok((StatusCode::CREATED, Json(monitor_json(&state, &p.slug, &m).await?)))
}

/// A cron monitor with its environments.
#[utoipa::path(get, path = "/api/0/projects/{organization_slug}/{project_slug}/cron-monitors/{monitor_slug}/",
    tag = "crons",
    params(("organization_slug" = String, Path), ("project_slug" = String, Path), ("monitor_slug" = String, Path)),
    responses((status = 200, body = Object), (status = 404)))]
pub(crate) async fn get_cron_monitor(
    State(state): State<AppState>,
    auth: Auth,
    Path((slug, project_slug, monitor_slug)): Path<(String, String, String)>,
) -> Result<Json<Value>, ApiError> {
    let access = org(&state, &auth, &slug).await?;
    access.require(Scope::ProjectRead)?;
    let p = project(&state, &access, &project_slug).await?;
    let m = monitor_of(&state, &p, &monitor_slug).await?;
    Ok(Json(monitor_json(&state, &p.slug, &m).await?))
}

/// Updates a cron monitor: name, slug, configuration, paused.
#[utoipa::path(put, path = "/api/0/projects/{organization_slug}/{project_slug}/cron-monitors/{monitor_slug}/",
    tag = "crons",
    params(("organization_slug" = String, Path), ("project_slug" = String, Path), ("monitor_slug" = String, Path)),
    request_body = CronMonitorIn,
    responses((status = 200, body = Object), (status = 400), (status = 403), (status = 404), (status = 409)))]
pub(crate) async fn update_cron_monitor(
    State(state): State<AppState>,
    auth: Auth,
    Path((slug, project_slug, monitor_slug)): Path<(String, String, String)>,
    Json(body): Json<CronMonitorIn>,
) -> Result<Json<Value>, ApiError> {
    let access = org(&state, &auth, &slug).await?;
    access.require(Scope::ProjectWrite)?;
    let p = project(&state, &access, &project_slug).await?;
    let m = monitor_of(&state, &p, &monitor_slug).await?;
    let config = match body.config.as_ref().or(body.monitor_config.as_ref()) {
        Some(c) => parse_config(c)?,
        None => stored_config(&m).ok_or_else(|| ApiError::bad_request("the stored schedule is invalid"))?,
    };
    let new_slug = match body.slug.as_deref() {
        Some(s) => slugify(s).ok_or_else(|| ApiError::bad_request("the slug needs a letter or digit"))?,
        None => m.slug.clone(),
    };
    let name = body.name.as_deref().map(str::trim).filter(|n| !n.is_empty()).unwrap_or(&m.name);
    if name.chars().count() > 128 {
        return Err(ApiError::bad_request("the name is longer than 128 characters"));
    }
    let wanted = new_monitor(&new_slug, name, &config);
    let mut updated = state.store.update_cron_monitor(m.id, &wanted).await.map_err(|e| match e {
        faultline_store::StoreError::Conflict(_) => {
            ApiError::new(StatusCode::CONFLICT, format!("a cron monitor with the slug {new_slug:?} exists"))
        }
        other => other.into(),
    })?;
    if updated.schedule != m.schedule
        || updated.schedule_type != m.schedule_type
        || updated.timezone != m.timezone
        || updated.checkin_margin_min != m.checkin_margin_min
        || updated.max_runtime_min != m.max_runtime_min
    {
        reschedule(&state, &updated).await?;
    }
    let paused = body.is_paused.or(body.status.as_deref().map(|s| s == "disabled"));
    if let Some(paused) = paused.filter(|p| *p != m.paused) {
        updated = set_paused(&state, &updated, paused).await?;
    }
    Ok(Json(monitor_json(&state, &p.slug, &updated).await?))
}

/// Deletes a cron monitor with its history.
#[utoipa::path(delete, path = "/api/0/projects/{organization_slug}/{project_slug}/cron-monitors/{monitor_slug}/",
    tag = "crons",
    params(("organization_slug" = String, Path), ("project_slug" = String, Path), ("monitor_slug" = String, Path)),
    responses((status = 204), (status = 403), (status = 404)))]
pub(crate) async fn delete_cron_monitor(
    State(state): State<AppState>,
    auth: Auth,
    Path((slug, project_slug, monitor_slug)): Path<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    let access = org(&state, &auth, &slug).await?;
    access.require(Scope::ProjectWrite)?;
    let p = project(&state, &access, &project_slug).await?;
    let m = monitor_of(&state, &p, &monitor_slug).await?;
    state.store.delete_cron_monitor(m.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Pauses or resumes a monitor; resuming expects the next run from now, so the pause
/// itself is never a missed run.
pub(crate) async fn set_paused(state: &AppState, m: &CronMonitor, paused: bool) -> Result<CronMonitor, ApiError> {
    state.store.set_cron_monitor_paused(m.id, paused).await?;
    let m = state.store.cron_monitor(m.id).await?;
    if !paused {
        reschedule(state, &m).await?;
    }
    Ok(m)
}

/// Pauses a cron monitor: check-ins are still recorded, nothing is missed or alerted.
#[utoipa::path(post,
    path = "/api/0/projects/{organization_slug}/{project_slug}/cron-monitors/{monitor_slug}/pause/",
    tag = "crons",
    params(("organization_slug" = String, Path), ("project_slug" = String, Path), ("monitor_slug" = String, Path)),
    responses((status = 200, body = Object), (status = 403), (status = 404)))]
pub(crate) async fn pause_cron_monitor(
    State(state): State<AppState>,
    auth: Auth,
    Path((slug, project_slug, monitor_slug)): Path<(String, String, String)>,
) -> Result<Json<Value>, ApiError> {
    pause_or_resume(state, auth, slug, project_slug, monitor_slug, true).await
}

/// Resumes a paused cron monitor.
#[utoipa::path(post,
    path = "/api/0/projects/{organization_slug}/{project_slug}/cron-monitors/{monitor_slug}/unpause/",
    tag = "crons",
    params(("organization_slug" = String, Path), ("project_slug" = String, Path), ("monitor_slug" = String, Path)),
    responses((status = 200, body = Object), (status = 403), (status = 404)))]
pub(crate) async fn unpause_cron_monitor(
    State(state): State<AppState>,
    auth: Auth,
    Path((slug, project_slug, monitor_slug)): Path<(String, String, String)>,
) -> Result<Json<Value>, ApiError> {
    pause_or_resume(state, auth, slug, project_slug, monitor_slug, false).await
}

async fn pause_or_resume(
    state: AppState,
    auth: Auth,
    slug: String,
    project_slug: String,
    monitor_slug: String,
    paused: bool,
) -> Result<Json<Value>, ApiError> {
    let access = org(&state, &auth, &slug).await?;
    access.require(Scope::ProjectWrite)?;
    let p = project(&state, &access, &project_slug).await?;
    let m = monitor_of(&state, &p, &monitor_slug).await?;
    let m = if m.paused == paused { m } else { set_paused(&state, &m, paused).await? };
    Ok(Json(monitor_json(&state, &p.slug, &m).await?))
}

/// Query of the check-in history.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct CheckInQuery {
    /// Only this environment.
    environment: Option<String>,
}

/// A monitor's check-ins (runs), newest first, paged with a cursor.
#[utoipa::path(get,
    path = "/api/0/projects/{organization_slug}/{project_slug}/cron-monitors/{monitor_slug}/checkins/",
    tag = "crons",
    params(("organization_slug" = String, Path), ("project_slug" = String, Path), ("monitor_slug" = String, Path),
        CheckInQuery, PageQuery),
    responses((status = 200, body = Vec<Object>), (status = 404)))]
pub(crate) async fn list_cron_check_ins(
    State(state): State<AppState>,
    auth: Auth,
    Path((slug, project_slug, monitor_slug)): Path<(String, String, String)>,
    Query(filter): Query<CheckInQuery>,
    Query(page): Query<PageQuery>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let access = org(&state, &auth, &slug).await?;
    access.require(Scope::ProjectRead)?;
    let p = project(&state, &access, &project_slug).await?;
    let m = monitor_of(&state, &p, &monitor_slug).await?;
    let page = page.page(50, 100);
    let rows = state
        .store
        .cron_check_ins(
            m.id,
            &CheckInPage {
                environment: filter.environment.filter(|e| !e.is_empty()),
                offset: page.offset,
                limit: page.fetch_limit(),
            },
        )
        .await?;
    let items: Vec<Value> = rows.iter().map(check_in_json).collect();
    Ok(respond(&state.config.http.public_url, &uri, page, items, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crontabs_in_words() {
        let words = |e: &str| crontab_words(e);
        assert_eq!(words("* * * * *").as_deref(), Some("every minute"));
        assert_eq!(words("*/5 * * * *").as_deref(), Some("every 5 minutes"));
        assert_eq!(words("7 * * * *").as_deref(), Some("every hour at :07"));
        assert_eq!(words("0 */6 * * *").as_deref(), Some("every 6 hours at :00"));
        assert_eq!(words("30 2 * * *").as_deref(), Some("every day at 02:30"));
        assert_eq!(words("0 9 * * 1").as_deref(), Some("every Monday at 09:00"));
        assert_eq!(words("0 9 * * 1-5").as_deref(), Some("weekdays at 09:00"));
        assert_eq!(words("0 4 1 * *").as_deref(), Some("on day 1 of every month at 04:00"));
        assert_eq!(words("@hourly").as_deref(), Some("every hour"));
        assert_eq!(words("0 3 1 1 *"), None);
    }

    #[test]
    fn sentry_and_sdk_config_shapes() {
        let c =
            parse_config(&json!({"schedule_type": "crontab", "schedule": "0 * * * *", "checkin_margin": 5})).unwrap();
        assert_eq!(c.schedule.to_stored(), ("crontab", "0 * * * *".to_string()));
        assert_eq!(c.checkin_margin_min, 5);
        let c = parse_config(&json!({"schedule_type": "interval", "schedule": [10, "minute"]})).unwrap();
        assert_eq!(c.schedule.to_stored(), ("interval", "10 minute".to_string()));
        let c = parse_config(&json!({"schedule": {"type": "interval", "value": 2, "unit": "hour"}})).unwrap();
        assert_eq!(c.schedule.to_stored(), ("interval", "2 hour".to_string()));
        let e = parse_config(&json!({"schedule": "every day"})).unwrap_err();
        assert!(e.detail.contains("crontab"), "{}", e.detail);
        assert!(parse_config(&json!({"schedule": "0 * * * *", "timezone": "Mars/Olympus"})).is_err());
        assert!(parse_config(&json!({})).is_err());
    }
}
