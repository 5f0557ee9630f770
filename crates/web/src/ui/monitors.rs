//! Uptime monitors in the UI (GlitchTip's `/:org/uptime-monitors` pages): the
//! organization's monitors with a strip of their recent checks and their state; one
//! monitor with its uptime over 24 hours to 90 days, a server-drawn SVG chart of its
//! response times, whether alerts will be sent, its incidents and its checks; the
//! form that creates and edits one (validated by `faultline_domain::monitors`, as in
//! the API), and delete.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use faultline_domain::access::{OrgAccess, Scope};
use faultline_domain::DomainError;
use faultline_monitoring::uptime::Reason;
use faultline_store::{Monitor, MonitorCheck, MonitorRollup, MonitorTransition, NewMonitor, Project, Timestamp};
use serde::Deserialize;

use super::issues::when;
use super::settings::{access, refusal, CsrfForm};
use super::{check_csrf, page, Chrome, Viewer};
use crate::api::monitors::heartbeat_url;
use crate::{ApiError, AppState};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/{org}/uptime-monitors", get(list_page))
        .route("/{org}/uptime-monitors/", get(list_page))
        .route("/{org}/uptime-monitors/new/", get(new_page).post(create))
        .route("/{org}/uptime-monitors/{id}", get(detail_page))
        .route("/{org}/uptime-monitors/{id}/", get(detail_page))
        .route("/{org}/uptime-monitors/{id}/edit/", get(edit_page).post(update))
        .route("/{org}/uptime-monitors/{id}/delete/", post(delete))
}

/// Slots of the check strip.
const STRIP: usize = 60;
/// Checks per page of the checks table.
const CHECKS_PAGE: usize = 50;

// ---- shared pieces ----

/// One slot of the check strip.
pub(crate) struct Pill {
    /// `pill-up`, `pill-down` or `pill-none`.
    pub class: &'static str,
    pub title: String,
}

/// A monitor's state as shown.
pub(crate) struct StateView {
    /// `Up`, `Down`, `Pending`, `No data` or `Paused`.
    pub label: &'static str,
    /// `state-up`, … (the row or card colour).
    pub class: &'static str,
    /// `for 3 hours`.
    pub since: Option<String>,
}

/// A time with seconds, for check tooltips and the checks table.
fn at(t: Timestamp) -> String {
    t.to_datetime().format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// A length of time in words: `5 minutes`, `2 months`.
fn span(secs: i64) -> String {
    let (n, unit) = match secs.max(0) {
        s if s < 60 => return "less than a minute".into(),
        s if s < 3600 => (s / 60, "minute"),
        s if s < 86_400 => (s / 3600, "hour"),
        s if s < 86_400 * 30 => (s / 86_400, "day"),
        s if s < 86_400 * 365 => (s / (86_400 * 30), "month"),
        s => (s / (86_400 * 365), "year"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

fn state_of(m: &Monitor) -> StateView {
    let (label, class) = if m.paused {
        ("Paused", "state-paused")
    } else {
        match m.health.as_str() {
            "up" => ("Up", "state-up"),
            "down" => ("Down", "state-down"),
            "pending" => ("Pending", "state-pending"),
            _ => ("No data", "state-none"),
        }
    };
    let since = match (m.paused, m.health_since) {
        (false, Some(t)) if matches!(m.health.as_str(), "up" | "down" | "pending") => {
            Some(format!("for {}", span((Timestamp::now().micros() - t.micros()) / 1_000_000)))
        }
        _ => None,
    };
    StateView { label, class, since }
}

fn reason_text(c: &MonitorCheck) -> &'static str {
    if c.is_up {
        "OK"
    } else {
        Reason::from_i64(c.reason.unwrap_or(0)).label()
    }
}

/// The strip of a monitor's recent checks (`checks` newest first): unused slots
/// first, then the checks oldest to newest.
fn strip(checks: &[&MonitorCheck]) -> Vec<Pill> {
    let used = checks.len().min(STRIP);
    let mut pills: Vec<Pill> =
        (0..STRIP - used).map(|_| Pill { class: "pill-none", title: "No check".into() }).collect();
    for c in checks.iter().take(STRIP).rev() {
        pills.push(if c.is_up {
            Pill { class: "pill-up", title: format!("Up at {}", at(c.checked_at)) }
        } else {
            Pill { class: "pill-down", title: format!("{} at {}", reason_text(c), at(c.checked_at)) }
        });
    }
    pills
}

/// The monitor's target as shown: `None` for heartbeats.
fn target(m: &Monitor) -> Option<String> {
    (m.kind != "heartbeat").then(|| m.url.clone())
}

/// Whether the target is a link (`host:port` of a TCP monitor is not).
fn linkable(m: &Monitor) -> bool {
    m.url.starts_with("http://") || m.url.starts_with("https://")
}

async fn find(state: &AppState, access: &OrgAccess, id: &str) -> Result<Monitor, ApiError> {
    let id: i64 = id.trim_end_matches('/').parse().map_err(|_| ApiError::not_found())?;
    Ok(state.store.monitor(access.org.id, id).await?)
}

fn list_path(state: &AppState, org: &str) -> String {
    format!("{}/{org}/uptime-monitors/", state.config.http.base_path)
}

fn detail_path(state: &AppState, org: &str, id: i64) -> String {
    format!("{}/{org}/uptime-monitors/{id}/", state.config.http.base_path)
}

/// `?done=…` notices.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct PageQuery {
    done: Option<String>,
    changes: Option<String>,
    before: Option<i64>,
}

impl PageQuery {
    fn notice(&self) -> Option<String> {
        Some(
            match self.done.as_deref()? {
                "created" => "Monitor created. Its first check runs within a minute.",
                "saved" => "Monitor saved.",
                "deleted" => "Monitor deleted.",
                _ => return None,
            }
            .to_string(),
        )
    }
}

// ---- list ----

pub(crate) struct Row {
    pub id: i64,
    pub name: String,
    pub url: Option<String>,
    pub link: bool,
    pub kind: String,
    pub state: StateView,
    pub pills: Vec<Pill>,
}

#[derive(Template)]
#[template(path = "monitors/list.html")]
struct ListPage {
    chrome: Chrome,
    org: String,
    rows: Vec<Row>,
    can_write: bool,
    notice: Option<String>,
}

async fn list_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(org): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Response, ApiError> {
    let access = access(&state, &viewer, &org).await?;
    access.require(Scope::OrgRead)?;
    let since = Timestamp::now().plus_secs(-12 * 3600);
    let checks = state.store.recent_monitor_checks(access.org.id, since, STRIP as i64).await?;
    let rows = state
        .store
        .monitors(access.org.id)
        .await?
        .into_iter()
        .map(|m| {
            let mine: Vec<&MonitorCheck> = checks.iter().filter(|c| c.monitor_id == m.id).collect();
            Row {
                id: m.id,
                url: target(&m),
                link: linkable(&m),
                kind: m.monitor_type.clone(),
                state: state_of(&m),
                pills: strip(&mine),
                name: m.name,
            }
        })
        .collect();
    let chrome = Chrome::for_viewer(&state, &viewer, Some(&access.org.slug)).await?;
    Ok(page(
        StatusCode::OK,
        &ListPage {
            chrome,
            can_write: access.scopes.contains(Scope::OrgWrite),
            org: access.org.slug,
            rows,
            notice: q.notice(),
        },
    ))
}

// ---- detail ----

pub(crate) struct UptimeCell {
    pub label: &'static str,
    pub value: String,
}

pub(crate) struct CheckRow {
    pub up: bool,
    pub change: bool,
    pub reason: &'static str,
    pub response: String,
    pub at: String,
}

pub(crate) struct Incident {
    pub what: String,
    pub reason: String,
    pub started: String,
    pub length: String,
}

/// How alerts reach someone for this monitor.
pub(crate) enum AlertsView {
    NoProject,
    /// The project's name and slug.
    NoRules(String, String),
    /// The project's name and slug, and `is 1 alert` / `are N alerts`.
    Rules(String, String, String),
}

pub(crate) struct AxisLabel {
    pub x: String,
    pub y: String,
    pub text: String,
}

pub(crate) struct ChartPoint {
    pub x: String,
    pub y: String,
    pub title: String,
}

/// The response-time chart, drawn on the server as SVG.
pub(crate) struct Chart {
    pub width: i64,
    pub height: i64,
    pub line: String,
    pub area: String,
    pub points: Vec<ChartPoint>,
    pub y_labels: Vec<AxisLabel>,
    pub x_labels: Vec<AxisLabel>,
    pub grid: Vec<String>,
    pub left: i64,
    pub right: i64,
}

#[derive(Template)]
#[template(path = "monitors/detail.html")]
struct DetailPage {
    chrome: Chrome,
    org: String,
    monitor: Monitor,
    url: Option<String>,
    link: bool,
    state: StateView,
    pills: Vec<Pill>,
    uptime: Vec<UptimeCell>,
    chart: Option<Chart>,
    heartbeat: Option<String>,
    alerts: AlertsView,
    incidents: Vec<Incident>,
    checks: Vec<CheckRow>,
    changes: bool,
    older: Option<i64>,
    paged: bool,
    can_write: bool,
    notice: Option<String>,
}

/// A round number at or above `v` (1, 2 or 5 × 10ⁿ).
fn nice_ceiling(v: f64) -> f64 {
    let v = v.max(1.0);
    let magnitude = 10f64.powf(v.log10().floor());
    for step in [1.0, 2.0, 5.0, 10.0] {
        if step * magnitude >= v {
            return step * magnitude;
        }
    }
    10.0 * magnitude
}

/// The chart of average response times over `[from, to)` (unix seconds) from minute
/// rollups, merged into buckets of `step` seconds; `None` without any response.
fn chart(rollups: &[MonitorRollup], from: i64, to: i64, step: i64) -> Option<Chart> {
    let mut buckets: Vec<(i64, i64, i64)> = Vec::new(); // (bucket, checks, total_ms)
    for r in rollups {
        let n = r.up_count + r.down_count;
        if n <= 0 || r.bucket < from {
            continue;
        }
        let b = r.bucket - r.bucket.rem_euclid(step);
        match buckets.last_mut() {
            Some(last) if last.0 == b => {
                last.1 += n;
                last.2 += r.total_ms;
            }
            _ => buckets.push((b, n, r.total_ms)),
        }
    }
    if buckets.is_empty() {
        return None;
    }
    let (width, height, left, right, top, bottom) = (720i64, 220i64, 64i64, 12i64, 12i64, 28i64);
    let plot_w = (width - left - right) as f64;
    let plot_h = (height - top - bottom) as f64;
    let avgs: Vec<(i64, f64)> = buckets.iter().map(|&(b, n, total)| (b, total as f64 / n as f64)).collect();
    let max = nice_ceiling(avgs.iter().map(|a| a.1).fold(0.0, f64::max));
    let x_of = |t: i64| left as f64 + plot_w * ((t - from) as f64 / (to - from).max(1) as f64).clamp(0.0, 1.0);
    let y_of = |ms: f64| top as f64 + plot_h * (1.0 - (ms / max).clamp(0.0, 1.0));
    let base = top as f64 + plot_h;
    let points: Vec<ChartPoint> = avgs
        .iter()
        .map(|&(b, avg)| ChartPoint {
            x: format!("{:.1}", x_of(b + step / 2)),
            y: format!("{:.1}", y_of(avg)),
            title: format!("{}: {} ms", when(Timestamp::from_micros(b * 1_000_000)), avg.round() as i64),
        })
        .collect();
    let line = points.iter().map(|p| format!("{},{}", p.x, p.y)).collect::<Vec<_>>().join(" ");
    let area = format!(
        "{},{base:.1} {line} {},{base:.1}",
        points.first().map(|p| p.x.as_str()).unwrap_or("0"),
        points.last().map(|p| p.x.as_str()).unwrap_or("0"),
    );
    let mut y_labels = Vec::new();
    let mut grid = Vec::new();
    for i in 0..=4 {
        let ms = max * f64::from(i) / 4.0;
        let y = y_of(ms);
        y_labels.push(AxisLabel {
            x: format!("{}", left - 6),
            y: format!("{:.1}", y + 4.0),
            text: format!("{} ms", ms.round() as i64),
        });
        grid.push(format!("{y:.1}"));
    }
    let x_labels = (0..=4)
        .map(|i| {
            let t = from + (to - from) * i / 4;
            AxisLabel {
                x: format!("{:.1}", x_of(t)),
                y: format!("{}", height - 8),
                text: Timestamp::from_micros(t * 1_000_000).to_datetime().format("%H:%M").to_string(),
            }
        })
        .collect();
    Some(Chart { width, height, line, area, points, y_labels, x_labels, grid, left, right: width - right })
}

/// Incidents from transitions (newest first in, newest first out): each outage with
/// how long it lasted, or lasts.
fn incidents(transitions: &[MonitorTransition]) -> Vec<Incident> {
    let now = Timestamp::now();
    let mut out = Vec::new();
    let mut recovered: Option<&MonitorTransition> = None;
    for t in transitions {
        match t.kind.as_str() {
            "monitor.up" => recovered = Some(t),
            "monitor.down" => {
                let start = t.down_since.unwrap_or(t.created_at);
                let (end, ongoing) = match recovered.take() {
                    Some(up) => (up.created_at, false),
                    None => (now, true),
                };
                let length = span((end.micros() - start.micros()) / 1_000_000);
                out.push(Incident {
                    what: "Down".into(),
                    reason: t.reason.clone(),
                    started: when(start),
                    length: if ongoing { format!("down for {length} (ongoing)") } else { format!("down for {length}") },
                });
            }
            "monitor.tls_expiring" => out.push(Incident {
                what: "Certificate".into(),
                reason: t.reason.clone(),
                started: when(t.created_at),
                length: String::new(),
            }),
            _ => {}
        }
    }
    out
}

async fn alerts_view(state: &AppState, m: &Monitor) -> Result<AlertsView, ApiError> {
    let Some(pid) = m.project_id else { return Ok(AlertsView::NoProject) };
    let project = match state.store.project(pid).await {
        Ok(p) if !p.is_deleted => p,
        _ => return Ok(AlertsView::NoProject),
    };
    let count = state.store.alert_rules(project.id).await?.iter().filter(|r| r.uptime).count();
    Ok(if count == 0 {
        AlertsView::NoRules(project.name, project.slug)
    } else {
        let count = if count == 1 { "is 1 alert".to_string() } else { format!("are {count} alerts") };
        AlertsView::Rules(project.name, project.slug, count)
    })
}

async fn detail_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((org, id)): Path<(String, String)>,
    Query(q): Query<PageQuery>,
) -> Result<Response, ApiError> {
    let access = access(&state, &viewer, &org).await?;
    access.require(Scope::OrgRead)?;
    let m = find(&state, &access, &id).await?;
    let store = &state.store;
    let now = Timestamp::now();

    let recent = store.monitor_checks(m.id, false, None, STRIP as i64).await?;
    let twelve_hours_ago = now.plus_secs(-12 * 3600);
    let strip_checks: Vec<&MonitorCheck> = recent.iter().filter(|c| c.checked_at >= twelve_hours_ago).collect();

    let mut uptime = Vec::new();
    for (label, days) in [("24 hours", 1), ("7 days", 7), ("30 days", 30), ("90 days", 90)] {
        let (up, total) = store.monitor_uptime(m.id, now.plus_secs(-days * 86_400)).await?;
        let value = if total == 0 {
            "—".to_string()
        } else {
            let pct = up as f64 * 100.0 / total as f64;
            if up == total {
                "100%".to_string()
            } else {
                format!("{:.2}%", (pct * 100.0).floor() / 100.0)
            }
        };
        uptime.push(UptimeCell { label, value });
    }

    let heartbeat = (m.kind == "heartbeat").then(|| heartbeat_url(&state, &access.org.slug, &m));
    let chart = if heartbeat.is_some() {
        None
    } else {
        let to = now.micros().div_euclid(1_000_000);
        let from = to - 86_400;
        let rollups = store.monitor_rollups(m.id, 60, from).await?;
        let step = if rollups.len() > 360 { 300 } else { 60 };
        chart(&rollups, from, to, step)
    };

    let changes = q.changes.as_deref().is_some_and(|c| c == "1" || c == "true");
    let before = q.before.map(Timestamp::from_micros);
    let mut rows = store.monitor_checks(m.id, changes, before, CHECKS_PAGE as i64 + 1).await?;
    let older = if rows.len() > CHECKS_PAGE {
        rows.truncate(CHECKS_PAGE);
        rows.last().map(|c| c.checked_at.micros())
    } else {
        None
    };
    let checks = rows
        .iter()
        .map(|c| CheckRow {
            up: c.is_up,
            change: c.is_change,
            reason: reason_text(c),
            response: c.response_ms.map(|ms| format!("{ms} ms")).unwrap_or_else(|| "—".into()),
            at: at(c.checked_at),
        })
        .collect();
    let transitions = store.monitor_transitions(m.id, 50).await?;
    let chrome = Chrome::for_viewer(&state, &viewer, Some(&access.org.slug)).await?;
    Ok(page(
        StatusCode::OK,
        &DetailPage {
            chrome,
            org: access.org.slug.clone(),
            url: target(&m),
            link: linkable(&m),
            state: state_of(&m),
            pills: strip(&strip_checks),
            uptime,
            chart,
            heartbeat,
            alerts: alerts_view(&state, &m).await?,
            incidents: incidents(&transitions),
            checks,
            changes,
            older,
            paged: before.is_some(),
            can_write: access.scopes.contains(Scope::OrgWrite),
            notice: q.notice(),
            monitor: m,
        },
    ))
}

// ---- create, edit, delete ----

/// The form as posted (every field a string, so a refused form shows what was typed).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct MonitorForm {
    #[serde(default)]
    csrfmiddlewaretoken: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    monitor_type: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    method: String,
    #[serde(default)]
    accepted_status: String,
    #[serde(default)]
    keyword: String,
    keyword_absent: Option<String>,
    #[serde(default)]
    headers: String,
    #[serde(default)]
    body: String,
    follow_redirects: Option<String>,
    verify_tls: Option<String>,
    #[serde(default)]
    interval: String,
    #[serde(default)]
    timeout: String,
    #[serde(default)]
    retry_interval: String,
    #[serde(default)]
    failure_threshold: String,
    #[serde(default)]
    recovery_threshold: String,
    #[serde(default)]
    tls_warn_days: String,
    #[serde(default)]
    project: String,
    #[serde(default)]
    environment: String,
    paused: Option<String>,
}

/// What the form's fields hold.
pub(crate) struct Values {
    pub name: String,
    pub monitor_type: String,
    pub url: String,
    pub method: String,
    pub accepted_status: String,
    pub keyword: String,
    pub keyword_absent: bool,
    pub headers: String,
    pub body: String,
    pub follow_redirects: bool,
    pub verify_tls: bool,
    pub interval: String,
    pub timeout: String,
    pub retry_interval: String,
    pub failure_threshold: String,
    pub recovery_threshold: String,
    pub tls_warn_days: String,
    pub project: String,
    pub environment: String,
    pub paused: bool,
}

impl Values {
    fn new_monitor() -> Values {
        Values {
            name: String::new(),
            monitor_type: "GET".into(),
            url: String::new(),
            method: "GET".into(),
            accepted_status: "200-299".into(),
            keyword: String::new(),
            keyword_absent: false,
            headers: String::new(),
            body: String::new(),
            follow_redirects: true,
            verify_tls: true,
            interval: "60".into(),
            timeout: "20".into(),
            retry_interval: "20".into(),
            failure_threshold: "2".into(),
            recovery_threshold: "1".into(),
            tls_warn_days: "14".into(),
            project: String::new(),
            environment: String::new(),
            paused: false,
        }
    }

    fn of(m: &Monitor) -> Values {
        let pairs: Vec<(String, String)> = serde_json::from_str(&m.headers).unwrap_or_default();
        Values {
            name: m.name.clone(),
            monitor_type: m.monitor_type.clone(),
            url: m.url.clone(),
            method: m.method.clone(),
            accepted_status: m.accepted_status.clone(),
            keyword: m.keyword.clone().unwrap_or_default(),
            keyword_absent: m.keyword_absent,
            headers: pairs.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join("\n"),
            body: m.body.clone().unwrap_or_default(),
            follow_redirects: m.follow_redirects,
            verify_tls: m.verify_tls,
            interval: m.interval_s.to_string(),
            timeout: m.timeout_s.to_string(),
            retry_interval: m.retry_interval_s.to_string(),
            failure_threshold: m.failure_threshold.to_string(),
            recovery_threshold: m.recovery_threshold.to_string(),
            tls_warn_days: m.tls_warn_days.to_string(),
            project: m.project_id.map(|p| p.0.to_string()).unwrap_or_default(),
            environment: m.environment.clone().unwrap_or_default(),
            paused: m.paused,
        }
    }

    fn of_form(f: &MonitorForm) -> Values {
        Values {
            name: f.name.clone(),
            monitor_type: f.monitor_type.clone(),
            url: f.url.clone(),
            method: f.method.clone(),
            accepted_status: f.accepted_status.clone(),
            keyword: f.keyword.clone(),
            keyword_absent: f.keyword_absent.is_some(),
            headers: f.headers.clone(),
            body: f.body.clone(),
            follow_redirects: f.follow_redirects.is_some(),
            verify_tls: f.verify_tls.is_some(),
            interval: f.interval.clone(),
            timeout: f.timeout.clone(),
            retry_interval: f.retry_interval.clone(),
            failure_threshold: f.failure_threshold.clone(),
            recovery_threshold: f.recovery_threshold.clone(),
            tls_warn_days: f.tls_warn_days.clone(),
            project: f.project.clone(),
            environment: f.environment.clone(),
            paused: f.paused.is_some(),
        }
    }
}

fn number(text: &str, default: i64, field: &str) -> Result<i64, DomainError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(default);
    }
    text.parse().map_err(|_| DomainError::Invalid(format!("{field} must be a whole number.")))
}

/// `Name: value` lines as the stored JSON pairs.
fn header_pairs(text: &str) -> Result<String, DomainError> {
    let mut pairs = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let Some((name, value)) = line.split_once(':') else {
            return Err(DomainError::Invalid(format!("Headers: \"{line}\" is not of the form Name: value.")));
        };
        let name = name.trim();
        if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(DomainError::Invalid(format!("Headers: \"{name}\" is not a header name.")));
        }
        pairs.push((name.to_string(), value.trim().to_string()));
    }
    Ok(serde_json::to_string(&pairs).unwrap_or_else(|_| "[]".into()))
}

impl MonitorForm {
    fn monitor(&self, projects: &[Project]) -> Result<NewMonitor, DomainError> {
        let project_id = match self.project.trim() {
            "" => None,
            id => Some(
                projects
                    .iter()
                    .find(|p| p.id.0.to_string() == id)
                    .map(|p| p.id)
                    .ok_or_else(|| DomainError::Invalid("Unknown project.".into()))?,
            ),
        };
        let m = NewMonitor {
            project_id,
            environment: Some(self.environment.clone()),
            name: self.name.clone(),
            monitor_type: self.monitor_type.clone(),
            kind: String::new(),
            url: self.url.clone(),
            method: if self.method.trim().is_empty() { "GET".into() } else { self.method.trim().to_string() },
            headers: header_pairs(&self.headers)?,
            body: Some(self.body.clone()),
            accepted_status: if self.accepted_status.trim().is_empty() {
                "200-299".into()
            } else {
                self.accepted_status.clone()
            },
            keyword: Some(self.keyword.clone()),
            keyword_absent: self.keyword_absent.is_some(),
            follow_redirects: self.follow_redirects.is_some(),
            verify_tls: self.verify_tls.is_some(),
            interval_s: number(&self.interval, 60, "Interval")?,
            timeout_s: number(&self.timeout, 20, "Timeout")?,
            retry_interval_s: number(&self.retry_interval, 20, "Retry interval")?,
            failure_threshold: number(&self.failure_threshold, 2, "Failure threshold")?,
            recovery_threshold: number(&self.recovery_threshold, 1, "Recovery threshold")?,
            tls_warn_days: number(&self.tls_warn_days, 14, "Certificate warning")?,
            paused: self.paused.is_some(),
        };
        faultline_domain::monitors::normalize(m)
    }
}

/// A choice of the type select, with its help text.
pub(crate) struct TypeChoice {
    pub value: &'static str,
    pub label: &'static str,
    pub help: &'static str,
}

const TYPES: [TypeChoice; 7] = [
    TypeChoice { value: "Ping", label: "Ping", help: "An HTTP HEAD request; up when the status is accepted." },
    TypeChoice { value: "GET", label: "GET", help: "A GET request; can look for a keyword in the response." },
    TypeChoice { value: "POST", label: "POST", help: "A POST request with the body below." },
    TypeChoice {
        value: "HTTP",
        label: "HTTP (any method)",
        help: "A request with the method, headers and body you choose.",
    },
    TypeChoice { value: "TCP Port", label: "TCP Port", help: "Up when a TCP connection to host:port opens." },
    TypeChoice {
        value: "SSL",
        label: "SSL certificate",
        help: "Checks the certificate of an https:// URL and warns before it expires.",
    },
    TypeChoice {
        value: "Heartbeat",
        label: "Heartbeat",
        help: "Your job calls a URL we give you; down when no call arrives in time.",
    },
];

#[derive(Template)]
#[template(path = "monitors/form.html")]
struct FormPage {
    chrome: Chrome,
    org: String,
    /// `None` when creating.
    id: Option<i64>,
    v: Values,
    types: &'static [TypeChoice],
    /// Methods, each with whether it is selected.
    methods: Vec<(&'static str, bool)>,
    /// Projects: id, name, selected.
    projects: Vec<(i64, String, bool)>,
    error: Option<String>,
}

async fn render_form(
    state: &AppState,
    viewer: &Viewer,
    access: &OrgAccess,
    id: Option<i64>,
    v: Values,
    error: Option<String>,
) -> Result<Response, ApiError> {
    let projects = state.store.organization_projects(access.org.id).await?;
    let projects = projects.into_iter().map(|p| (p.id.0, p.name, v.project == p.id.0.to_string())).collect();
    let methods = faultline_domain::monitors::METHODS.iter().map(|&m| (m, v.method == m)).collect();
    let chrome = Chrome::for_viewer(state, viewer, Some(&access.org.slug)).await?;
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    Ok(page(status, &FormPage { chrome, org: access.org.slug.clone(), id, v, types: &TYPES, methods, projects, error }))
}

async fn new_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(org): Path<String>,
) -> Result<Response, ApiError> {
    let access = access(&state, &viewer, &org).await?;
    access.require(Scope::OrgWrite)?;
    render_form(&state, &viewer, &access, None, Values::new_monitor(), None).await
}

async fn create(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(org): Path<String>,
    Form(form): Form<MonitorForm>,
) -> Result<Response, ApiError> {
    check_csrf(&viewer, &form.csrfmiddlewaretoken)?;
    let access = access(&state, &viewer, &org).await?;
    access.require(Scope::OrgWrite)?;
    let projects = state.store.organization_projects(access.org.id).await?;
    match form.monitor(&projects) {
        Ok(new) => {
            // A heartbeat is first due one period (plus grace) from now, as in the API.
            let now = Timestamp::now();
            let first = if new.kind == "heartbeat" { now.plus_secs(new.interval_s + new.timeout_s) } else { now };
            let m = state.store.create_monitor(access.org.id, &new, first).await?;
            let to = format!("{}?done=created", detail_path(&state, &access.org.slug, m.id));
            Ok(Redirect::to(&to).into_response())
        }
        Err(e) => {
            let error = refusal(e)?;
            render_form(&state, &viewer, &access, None, Values::of_form(&form), Some(error)).await
        }
    }
}

async fn edit_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((org, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let access = access(&state, &viewer, &org).await?;
    access.require(Scope::OrgWrite)?;
    let m = find(&state, &access, &id).await?;
    render_form(&state, &viewer, &access, Some(m.id), Values::of(&m), None).await
}

async fn update(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((org, id)): Path<(String, String)>,
    Form(form): Form<MonitorForm>,
) -> Result<Response, ApiError> {
    check_csrf(&viewer, &form.csrfmiddlewaretoken)?;
    let access = access(&state, &viewer, &org).await?;
    access.require(Scope::OrgWrite)?;
    let m = find(&state, &access, &id).await?;
    let projects = state.store.organization_projects(access.org.id).await?;
    match form.monitor(&projects) {
        Ok(new) => {
            state.store.update_monitor(access.org.id, m.id, &new).await?;
            let to = format!("{}?done=saved", detail_path(&state, &access.org.slug, m.id));
            Ok(Redirect::to(&to).into_response())
        }
        Err(e) => {
            let error = refusal(e)?;
            render_form(&state, &viewer, &access, Some(m.id), Values::of_form(&form), Some(error)).await
        }
    }
}

async fn delete(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((org, id)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ApiError> {
    check_csrf(&viewer, &form.csrfmiddlewaretoken)?;
    let access = access(&state, &viewer, &org).await?;
    access.require(Scope::OrgWrite)?;
    let m = find(&state, &access, &id).await?;
    state.store.delete_monitor(access.org.id, m.id).await?;
    Ok(Redirect::to(&format!("{}?done=deleted", list_path(&state, &access.org.slug))).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_naturally() {
        assert_eq!(span(5), "less than a minute");
        assert_eq!(span(60), "1 minute");
        assert_eq!(span(7300), "2 hours");
        assert_eq!(span(86_400 * 65), "2 months");
    }

    #[test]
    fn headers_are_name_value_lines() {
        assert_eq!(
            header_pairs("X-A: 1\n\nAuthorization: Bearer a:b\n").unwrap(),
            r#"[["X-A","1"],["Authorization","Bearer a:b"]]"#
        );
        assert!(header_pairs("nonsense").is_err());
    }

    #[test]
    fn the_chart_averages_and_scales() {
        let r = |bucket, up, down, total| MonitorRollup {
            bucket,
            up_count: up,
            down_count: down,
            total_ms: total,
            min_ms: None,
            max_ms: None,
        };
        let c = chart(&[r(0, 1, 0, 100), r(60, 1, 1, 300), r(120, 0, 0, 0)], 0, 240, 60).unwrap();
        assert_eq!(c.points.len(), 2);
        assert!(c.points[1].title.ends_with("150 ms"), "{}", c.points[1].title);
        assert_eq!(c.y_labels.last().unwrap().text, "200 ms");
        assert!(chart(&[r(0, 0, 0, 0)], 0, 240, 60).is_none());
        assert_eq!(nice_ceiling(130.0), 200.0);
        assert_eq!(nice_ceiling(0.0), 1.0);
    }
}
