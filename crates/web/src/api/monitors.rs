//! GlitchTip's uptime monitor API (`/api/0/organizations/{org}/monitors/`), with
//! the fields of our richer monitors as optional extras, and the heartbeat URL.
//!
//! GlitchTip's body (`name`, `monitorType`, `url`, `expectedStatus`, `expectedBody`,
//! `interval`, `timeout`, `project`, `environment`) keeps working; `method`,
//! `acceptedStatus`, `keyword`, `keywordAbsent`, `headers`, `body`,
//! `followRedirects`, `verifyTls`, `retryInterval`, `failureThreshold`,
//! `recoveryThreshold`, `tlsWarnDays` and `paused` are ours.

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use faultline_domain::access::Scope;
use faultline_monitoring::uptime::Reason;
use faultline_store::{Monitor, MonitorCheck, NewMonitor, OrganizationId, ProjectId, Timestamp};
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

use super::pagination::{respond, PageQuery};
use super::{org, Auth};
use crate::api::Json;
use crate::{ApiError, AppState};

/// Body of a monitor (GlitchTip's `MonitorIn`, extended).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MonitorIn {
    // Defaults, so that a missing field is a validation error after the caller's
    // rights are checked, not a parse error before.
    #[serde(default)]
    name: String,
    #[serde(default)]
    monitor_type: String,
    #[serde(default)]
    url: String,
    expected_status: Option<i64>,
    expected_body: Option<String>,
    interval: Option<i64>,
    timeout: Option<i64>,
    project: Option<i64>,
    /// An environment name (GlitchTip sends an id; a number is ignored).
    environment: Option<Value>,
    method: Option<String>,
    accepted_status: Option<String>,
    keyword: Option<String>,
    #[serde(default)]
    keyword_absent: bool,
    /// `[[name, value], …]` or `{name: value}`.
    headers: Option<Value>,
    body: Option<String>,
    follow_redirects: Option<bool>,
    verify_tls: Option<bool>,
    retry_interval: Option<i64>,
    failure_threshold: Option<i64>,
    recovery_threshold: Option<i64>,
    tls_warn_days: Option<i64>,
    #[serde(default)]
    paused: bool,
}

impl MonitorIn {
    async fn validate(self, state: &AppState, organization: OrganizationId) -> Result<NewMonitor, ApiError> {
        let project_id = match self.project {
            Some(id) => {
                let p =
                    state.store.project(ProjectId(id)).await.map_err(|_| ApiError::bad_request("Unknown project."))?;
                if p.organization_id != organization || p.is_deleted {
                    return Err(ApiError::bad_request("Unknown project."));
                }
                Some(p.id)
            }
            None => None,
        };
        let headers: Vec<(String, String)> = match self.headers {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Object(map)) => {
                map.into_iter().map(|(k, v)| (k, v.as_str().map_or_else(|| v.to_string(), String::from))).collect()
            }
            Some(v) => serde_json::from_value(v)
                .map_err(|_| ApiError::bad_request("headers must be [[name, value], …] or {name: value}."))?,
        };
        let accepted_status = match (self.accepted_status, self.expected_status) {
            (Some(ranges), _) => ranges,
            (None, Some(code)) => code.to_string(),
            (None, None) => "200-299".into(),
        };
        let m = NewMonitor {
            project_id,
            environment: self.environment.and_then(|e| e.as_str().map(String::from)),
            name: self.name,
            monitor_type: self.monitor_type,
            kind: String::new(),
            url: self.url,
            method: self.method.unwrap_or_else(|| "GET".into()),
            headers: serde_json::to_string(&headers).unwrap_or_else(|_| "[]".into()),
            body: self.body,
            accepted_status,
            keyword: self.keyword.or(self.expected_body),
            keyword_absent: self.keyword_absent,
            follow_redirects: self.follow_redirects.unwrap_or(true),
            verify_tls: self.verify_tls.unwrap_or(true),
            interval_s: self.interval.unwrap_or(60),
            timeout_s: self.timeout.unwrap_or(20),
            retry_interval_s: self.retry_interval.unwrap_or(20),
            failure_threshold: self.failure_threshold.unwrap_or(2),
            recovery_threshold: self.recovery_threshold.unwrap_or(1),
            tls_warn_days: self.tls_warn_days.unwrap_or(14),
            paused: self.paused,
        };
        Ok(faultline_domain::monitors::normalize(m)?)
    }
}

/// The heartbeat URL of a monitor.
pub(crate) fn heartbeat_url(state: &AppState, org_slug: &str, m: &Monitor) -> String {
    let http = &state.config.http;
    format!(
        "{}{}/api/0/organizations/{org_slug}/heartbeat_check/{}/",
        http.public_url,
        http.base_path,
        m.heartbeat_key.simple()
    )
}

fn check_json(c: &MonitorCheck) -> Value {
    json!({
        "isUp": c.is_up,
        "isChange": c.is_change,
        "startCheck": c.checked_at,
        "reason": c.reason,
        "reasonText": c.reason.map(|r| Reason::from_i64(r).label()),
        "responseTime": c.response_ms,
    })
}

async fn monitor_json(state: &AppState, org_slug: &str, m: &Monitor, checks: &[MonitorCheck]) -> Value {
    let project_name = match m.project_id {
        Some(p) => state.store.project(p).await.ok().map(|p| p.name),
        None => None,
    };
    let expected_status = m.accepted_status.parse::<i64>().ok();
    json!({
        "id": m.id.to_string(),
        "monitorType": m.monitor_type,
        "endpointId": (m.kind == "heartbeat").then(|| m.heartbeat_key.simple().to_string()),
        "heartbeatEndpoint": (m.kind == "heartbeat").then(|| heartbeat_url(state, org_slug, m)),
        "created": m.created_at,
        "project": m.project_id.map(|p| p.0),
        "projectName": project_name,
        "environment": m.environment,
        "envName": m.environment,
        "organization": m.organization_id.0,
        "name": m.name,
        "url": m.url,
        "expectedStatus": expected_status,
        "expectedBody": m.keyword,
        "interval": m.interval_s,
        "timeout": m.timeout_s,
        "isUp": match m.health.as_str() { "up" | "pending" => Some(true), "down" => Some(false), _ => None },
        "lastChange": m.health_since,
        "checks": checks.iter().map(check_json).collect::<Vec<_>>(),
        "health": m.health,
        "kind": m.kind,
        "method": m.method,
        "acceptedStatus": m.accepted_status,
        "keyword": m.keyword,
        "keywordAbsent": m.keyword_absent,
        "headers": serde_json::from_str::<Value>(&m.headers).unwrap_or_default(),
        "body": m.body,
        "followRedirects": m.follow_redirects,
        "verifyTls": m.verify_tls,
        "retryInterval": m.retry_interval_s,
        "failureThreshold": m.failure_threshold,
        "recoveryThreshold": m.recovery_threshold,
        "tlsWarnDays": m.tls_warn_days,
        "tlsExpiresAt": m.tls_expires_at,
        "paused": m.paused,
        "lastCheck": m.last_check_at,
    })
}

fn monitor_id(id: &str) -> Result<i64, ApiError> {
    id.parse().map_err(|_| ApiError::not_found())
}

/// The last 60 checks within 12 hours of each monitor, newest first.
async fn recent_checks(state: &AppState, organization: OrganizationId) -> Result<Vec<MonitorCheck>, ApiError> {
    let since = Timestamp::now().plus_secs(-12 * 3600);
    Ok(state.store.recent_monitor_checks(organization, since, 60).await?)
}

/// An organization's monitors, each with its recent checks.
#[utoipa::path(get, path = "/api/0/organizations/{organization_slug}/monitors/", tag = "uptime",
    params(("organization_slug" = String, Path)), responses((status = 200, body = Vec<Object>), (status = 404)))]
pub(crate) async fn list_monitors(
    State(state): State<AppState>,
    auth: Auth,
    Path(slug): Path<String>,
) -> Result<Json<Vec<Value>>, ApiError> {
    let access = org(&state, &auth, &slug).await?;
    access.require(Scope::OrgRead)?;
    let checks = recent_checks(&state, access.org.id).await?;
    let mut out = Vec::new();
    for m in state.store.monitors(access.org.id).await? {
        let mine: Vec<MonitorCheck> = checks.iter().filter(|c| c.monitor_id == m.id).cloned().collect();
        out.push(monitor_json(&state, &access.org.slug, &m, &mine).await);
    }
    Ok(Json(out))
}

/// Creates a monitor; its first check runs at once.
#[utoipa::path(post, path = "/api/0/organizations/{organization_slug}/monitors/", tag = "uptime",
    params(("organization_slug" = String, Path)), request_body = MonitorIn,
    responses((status = 201, body = Object), (status = 400), (status = 403), (status = 404)))]
pub(crate) async fn create_monitor(
    State(state): State<AppState>,
    auth: Auth,
    Path(slug): Path<String>,
    Json(body): Json<MonitorIn>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let access = org(&state, &auth, &slug).await?;
    access.require(Scope::OrgWrite)?;
    let new = body.validate(&state, access.org.id).await?;
    // A heartbeat is first due one period (plus grace) from now.
    let first = if new.kind == "heartbeat" {
        Timestamp::now().plus_secs(new.interval_s + new.timeout_s)
    } else {
        Timestamp::now()
    };
    let m = state.store.create_monitor(access.org.id, &new, first).await?;
    Ok((StatusCode::CREATED, Json(monitor_json(&state, &access.org.slug, &m, &[]).await)))
}

/// One monitor with its recent checks.
#[utoipa::path(get, path = "/api/0/organizations/{organization_slug}/monitors/{monitor_id}/", tag = "uptime",
    params(("organization_slug" = String, Path), ("monitor_id" = String, Path)),
    responses((status = 200, body = Object), (status = 404)))]
pub(crate) async fn get_monitor(
    State(state): State<AppState>,
    auth: Auth,
    Path((slug, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let access = org(&state, &auth, &slug).await?;
    access.require(Scope::OrgRead)?;
    let m = state.store.monitor(access.org.id, monitor_id(&id)?).await?;
    let checks = state.store.monitor_checks(m.id, false, None, 60).await?;
    let mut out = monitor_json(&state, &access.org.slug, &m, &checks).await;
    let now = Timestamp::now();
    let mut uptime = serde_json::Map::new();
    for (label, days) in [("24h", 1), ("7d", 7), ("30d", 30), ("90d", 90)] {
        let (up, total) = state.store.monitor_uptime(m.id, now.plus_secs(-days * 86_400)).await?;
        uptime.insert(label.into(), if total == 0 { Value::Null } else { json!(up as f64 * 100.0 / total as f64) });
    }
    out["uptime"] = Value::Object(uptime);
    Ok(Json(out))
}

/// Replaces a monitor's configuration.
#[utoipa::path(put, path = "/api/0/organizations/{organization_slug}/monitors/{monitor_id}/", tag = "uptime",
    params(("organization_slug" = String, Path), ("monitor_id" = String, Path)), request_body = MonitorIn,
    responses((status = 200, body = Object), (status = 400), (status = 403), (status = 404)))]
pub(crate) async fn update_monitor(
    State(state): State<AppState>,
    auth: Auth,
    Path((slug, id)): Path<(String, String)>,
    Json(body): Json<MonitorIn>,
) -> Result<Json<Value>, ApiError> {
    let access = org(&state, &auth, &slug).await?;
    access.require(Scope::OrgWrite)?;
    let id = monitor_id(&id)?;
    state.store.monitor(access.org.id, id).await?;
    let new = body.validate(&state, access.org.id).await?;
    let m = state.store.update_monitor(access.org.id, id, &new).await?;
    Ok(Json(monitor_json(&state, &access.org.slug, &m, &[]).await))
}

/// Deletes a monitor with its history.
#[utoipa::path(delete, path = "/api/0/organizations/{organization_slug}/monitors/{monitor_id}/", tag = "uptime",
    params(("organization_slug" = String, Path), ("monitor_id" = String, Path)),
    responses((status = 204), (status = 403), (status = 404)))]
pub(crate) async fn delete_monitor(
    State(state): State<AppState>,
    auth: Auth,
    Path((slug, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let access = org(&state, &auth, &slug).await?;
    access.require(Scope::OrgWrite)?;
    state.store.delete_monitor(access.org.id, monitor_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Query of the checks list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub(crate) struct ChecksQuery {
    /// Only checks that changed the state (the incidents).
    #[serde(default)]
    is_change: Option<bool>,
}

/// A monitor's checks, newest first, paginated.
#[utoipa::path(get, path = "/api/0/organizations/{organization_slug}/monitors/{monitor_id}/checks/", tag = "uptime",
    params(("organization_slug" = String, Path), ("monitor_id" = String, Path), ChecksQuery, PageQuery),
    responses((status = 200, body = Vec<Object>), (status = 404)))]
pub(crate) async fn list_checks(
    State(state): State<AppState>,
    auth: Auth,
    uri: Uri,
    Path((slug, id)): Path<(String, String)>,
    Query(q): Query<ChecksQuery>,
    Query(page): Query<PageQuery>,
) -> Result<Response, ApiError> {
    let access = org(&state, &auth, &slug).await?;
    access.require(Scope::OrgRead)?;
    let m = state.store.monitor(access.org.id, monitor_id(&id)?).await?;
    let page = page.page(50, 100);
    // Offsets are bounded, so the fetch is too.
    let offset = page.offset.min(10_000);
    let rows =
        state.store.monitor_checks(m.id, q.is_change.unwrap_or(false), None, offset + page.fetch_limit()).await?;
    let items: Vec<Value> = rows.iter().skip(offset as usize).map(check_json).collect();
    Ok(respond(&state.config.http.public_url, &uri, page, items, None))
}

/// `GET|POST /api/0/organizations/{org}/heartbeat_check/{endpoint_id}/`: a beat of a
/// heartbeat monitor. No credentials: the key in the URL is the secret (GlitchTip's
/// route, which took only POST; GET serves cron jobs using `curl` without flags).
pub(crate) async fn heartbeat(
    State(state): State<AppState>,
    Path((slug, key)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let key = uuid::Uuid::try_parse(&key).map_err(|_| ApiError::not_found())?;
    let m = state.store.monitor_by_heartbeat_key(key).await?;
    if state.store.organization_by_id(m.organization_id).await?.slug != slug {
        return Err(ApiError::not_found());
    }
    faultline_domain::monitors::heartbeat(&state.store, key).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({}))).into_response())
}
