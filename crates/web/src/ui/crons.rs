//! Cron monitors in the UI: the organization's monitors with the status of each
//! environment, the last check-in, the next expected run and the schedule in words;
//! and one monitor with a timeline of its last runs (an SVG strip), its history,
//! transitions, ping URL and SDK snippets, and pause/resume.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use faultline_domain::access::Scope;
use faultline_store::{CheckInPage, CronCheckIn, CronMonitor, CronMonitorEnv, Timestamp};
use serde_json::Value;

use super::issues::{access_of, ago, when};
use super::settings::CsrfForm;
use super::{check_csrf, page, Chrome, Viewer};
use crate::api::crons::{env_status, ping_url, schedule_words, set_paused};
use crate::{ApiError, AppState};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/{org}/crons", get(list_page))
        .route("/{org}/crons/{project}/{slug}", get(detail_page))
        .route("/{org}/crons/{project}/{slug}/pause", post(toggle_pause))
}

/// One environment of a monitor, as shown.
pub(crate) struct EnvItem {
    pub name: String,
    pub status: &'static str,
    /// `badge-resolved` (good), `badge-unresolved` (bad) or empty.
    pub badge: &'static str,
    pub failing: bool,
    pub last_checkin: Option<String>,
    pub next_expected: Option<String>,
}

pub(crate) struct MonitorItem {
    pub name: String,
    pub slug: String,
    pub project: String,
    pub schedule: String,
    pub paused: bool,
    pub envs: Vec<EnvItem>,
}

pub(crate) struct RunItem {
    pub status: String,
    pub badge: &'static str,
    pub environment: String,
    pub started: String,
    pub duration: Option<String>,
    pub finished: Option<String>,
    pub note: Option<String>,
}

/// A bar of the timeline.
pub(crate) struct Bar {
    pub x: usize,
    pub fill: &'static str,
    pub title: String,
}

pub(crate) struct TransitionItem {
    pub kind: String,
    pub environment: String,
    pub reason: String,
    pub at: String,
}

#[derive(Template)]
#[template(path = "crons/list.html")]
struct ListPage {
    chrome: Chrome,
    org: String,
    monitors: Vec<MonitorItem>,
}

#[derive(Template)]
#[template(path = "crons/detail.html")]
struct DetailPage {
    chrome: Chrome,
    org: String,
    monitor: MonitorItem,
    project_id: i64,
    config: Vec<(&'static str, String)>,
    bars: Vec<Bar>,
    timeline_width: usize,
    runs: Vec<RunItem>,
    transitions: Vec<TransitionItem>,
    ping_url: String,
    public_key: Option<String>,
    http_base: String,
    python_snippet: String,
    can_write: bool,
}

/// How long, in words (microseconds in).
fn duration(micros: i64) -> String {
    let secs = micros as f64 / 1e6;
    match secs {
        s if s < 1.0 => format!("{} ms", (s * 1000.0).round() as i64),
        s if s < 60.0 => format!("{s:.1} s"),
        s if s < 3600.0 => format!("{} min {} s", (s / 60.0) as i64, (s % 60.0) as i64),
        s => format!("{} h {} min", (s / 3600.0) as i64, ((s % 3600.0) / 60.0) as i64),
    }
}

/// In how long, roughly (for times ahead; past times read "overdue").
fn until(t: Timestamp) -> String {
    let secs = (t.micros() - Timestamp::now().micros()) / 1_000_000;
    match secs {
        s if s < 0 => format!("overdue since {}", when(t)),
        s if s < 60 => "in under a minute".into(),
        s if s < 3600 => format!("in {}m", s / 60),
        s if s < 86_400 => format!("in {}h", s / 3600),
        s => format!("in {}d", s / 86_400),
    }
}

fn badge(status: &str) -> &'static str {
    match status {
        "ok" => "badge-resolved",
        "error" | "missed" | "timeout" => "badge-unresolved",
        _ => "",
    }
}

fn fill(status: &str) -> &'static str {
    match status {
        "ok" => "#2f9e44",
        "error" => "#e03131",
        "missed" => "#f08c00",
        "timeout" => "#c2255c",
        "in_progress" => "#1c7ed6",
        _ => "#868e96",
    }
}

fn env_item(m: &CronMonitor, env: &CronMonitorEnv) -> EnvItem {
    let status = env_status(m, env);
    EnvItem {
        name: env.environment.clone(),
        status,
        badge: badge(status),
        failing: env.state.failing,
        last_checkin: env.state.last_checkin_at.map(ago),
        next_expected: if m.paused { None } else { env.state.next_checkin_at.map(until) },
    }
}

async fn monitor_item(state: &AppState, project: &str, m: &CronMonitor) -> Result<MonitorItem, ApiError> {
    let envs = state.store.cron_monitor_envs(m.id).await?;
    Ok(MonitorItem {
        name: m.name.clone(),
        slug: m.slug.clone(),
        project: project.to_string(),
        schedule: schedule_words(m),
        paused: m.paused,
        envs: envs.iter().map(|e| env_item(m, e)).collect(),
    })
}

async fn list_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(org_slug): Path<String>,
) -> Result<Response, ApiError> {
    let access = access_of(&state, &viewer, &org_slug).await?;
    access.require(Scope::ProjectRead)?;
    let chrome = Chrome::for_viewer(&state, &viewer, Some(&access.org.slug)).await?;
    let mut monitors = Vec::new();
    for (project, m) in state.store.organization_cron_monitors(access.org.id).await? {
        monitors.push(monitor_item(&state, &project, &m).await?);
    }
    Ok(page(StatusCode::OK, &ListPage { chrome, org: access.org.slug, monitors }))
}

fn run_item(c: &CronCheckIn) -> RunItem {
    let payload: Value = serde_json::from_str(&c.payload).unwrap_or(Value::Null);
    let note = payload.get("ping").map(|p| {
        let mut parts = vec![format!("ping {}", p.get("kind").and_then(Value::as_str).unwrap_or("?"))];
        if let Some(code) = p.get("exit_code").and_then(Value::as_i64) {
            parts.push(format!("exit code {code}"));
        }
        if let Some(body) = p.get("body").and_then(Value::as_str) {
            let short: String = body.chars().take(120).collect();
            parts.push(if short.len() < body.len() { format!("{short}…") } else { short });
        }
        parts.join(" · ")
    });
    RunItem {
        badge: badge(&c.status),
        status: c.status.clone(),
        environment: c.environment.clone().unwrap_or_default(),
        started: when(c.received_at),
        duration: c.duration.map(duration),
        finished: c.finished_at.map(when),
        note,
    }
}

const TIMELINE: usize = 60;
const BAR: usize = 12;

async fn detail_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((org_slug, project_slug, slug)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let access = access_of(&state, &viewer, &org_slug).await?;
    access.require(Scope::ProjectRead)?;
    let store = &state.store;
    let project = store.project_by_slug(access.org.id, &project_slug).await?.ok_or_else(ApiError::not_found)?;
    let m = store.cron_monitor_by_slug(project.id, &slug).await?.ok_or_else(ApiError::not_found)?;
    let chrome = Chrome::for_viewer(&state, &viewer, Some(&access.org.slug)).await?;
    let history = store.cron_check_ins(m.id, &CheckInPage { limit: 100, ..CheckInPage::default() }).await?;
    let mut recent: Vec<&CronCheckIn> = history.iter().take(TIMELINE).collect();
    recent.reverse();
    let bars = recent
        .iter()
        .enumerate()
        .map(|(i, c)| Bar {
            x: i * BAR,
            fill: fill(&c.status),
            title: format!(
                "{} · {}{}{}",
                c.status,
                when(c.received_at),
                c.environment.as_deref().map(|e| format!(" · {e}")).unwrap_or_default(),
                c.duration.map(|d| format!(" · {}", duration(d))).unwrap_or_default()
            ),
        })
        .collect::<Vec<_>>();
    let transitions = store
        .cron_transitions(m.id, 20)
        .await?
        .into_iter()
        .map(|t| TransitionItem {
            kind: t.kind,
            environment: t.environment.unwrap_or_default(),
            reason: t.reason,
            at: when(t.created_at),
        })
        .collect();
    let public_key = store.project_keys(project.id).await?.into_iter().find(|k| k.is_active).map(|k| k.public_key);
    let config = vec![
        ("Schedule", format!("{} ({} {})", schedule_words(&m), m.schedule_type, m.schedule)),
        ("Time zone", m.timezone.clone()),
        ("Check-in margin", format!("{} min", m.checkin_margin_min)),
        ("Maximum runtime", format!("{} min", m.max_runtime_min)),
        ("Failures before an issue", m.failure_issue_threshold.to_string()),
        ("Successes before recovery", m.recovery_threshold.to_string()),
    ];
    let schedule = if m.schedule_type == "interval" {
        let (n, unit) = m.schedule.split_once(' ').unwrap_or(("1", "hour"));
        format!("{{\"type\": \"interval\", \"value\": {n}, \"unit\": \"{unit}\"}}")
    } else {
        format!("{{\"type\": \"crontab\", \"value\": \"{}\"}}", m.schedule)
    };
    let python_snippet = format!(
        "from sentry_sdk.crons import monitor\n\n\
         @monitor(monitor_slug=\"{slug}\", monitor_config={{\n    \"schedule\": {schedule},\n    \
         \"timezone\": \"{tz}\",\n    \"checkin_margin\": {margin},\n    \"max_runtime\": {runtime},\n}})\n\
         def job():\n    ...",
        slug = m.slug,
        tz = m.timezone,
        margin = m.checkin_margin_min,
        runtime = m.max_runtime_min,
    );
    let can_write = access.require(Scope::ProjectWrite).is_ok();
    let http_base = format!("{}{}", state.config.http.public_url, state.config.http.base_path);
    let monitor = monitor_item(&state, &project.slug, &m).await?;
    Ok(page(
        StatusCode::OK,
        &DetailPage {
            chrome,
            org: access.org.slug,
            monitor,
            project_id: project.id.0,
            config,
            timeline_width: (bars.len() * BAR).max(BAR),
            bars,
            runs: history.iter().map(run_item).collect(),
            transitions,
            ping_url: ping_url(&state, &m),
            public_key,
            http_base,
            python_snippet,
            can_write,
        },
    ))
}

async fn toggle_pause(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((org_slug, project_slug, slug)): Path<(String, String, String)>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ApiError> {
    check_csrf(&viewer, &form.csrfmiddlewaretoken)?;
    let access = access_of(&state, &viewer, &org_slug).await?;
    access.require(Scope::ProjectWrite)?;
    let project = state.store.project_by_slug(access.org.id, &project_slug).await?.ok_or_else(ApiError::not_found)?;
    let m = state.store.cron_monitor_by_slug(project.id, &slug).await?.ok_or_else(ApiError::not_found)?;
    set_paused(&state, &m, !m.paused).await?;
    let to = format!("{}/{}/crons/{}/{}", state.config.http.base_path, access.org.slug, project.slug, m.slug);
    Ok(Redirect::to(&to).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(250_000), "250 ms");
        assert_eq!(duration(1_500_000), "1.5 s");
        assert_eq!(duration(125_000_000), "2 min 5 s");
        assert_eq!(duration(3_720_000_000), "1 h 2 min");
    }
}
