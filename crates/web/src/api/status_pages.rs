//! Status pages (GlitchTip's `StatusPage`: `name`, `slug`, `isPublic`, `monitors`),
//! extended with a `description`, monitor `groups`, incidents with timestamped updates,
//! and maintenance windows.
//!
//! Reading needs `org:read`; every change needs `org:write` (GlitchTip's uptime
//! permissions). Bodies are camelCase and every field is optional at parse time, so
//! a caller without the scope is refused before its body is judged; rules are checked
//! by `faultline_domain::status_pages`.

use crate::api::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use faultline_domain::access::{OrgAccess, Scope};
use faultline_domain::status_pages as rules;
use faultline_store::{MaintenanceWindow, NewMaintenanceWindow, NewStatusPage, StatusIncident, StatusPage, Timestamp};
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

use super::{org, Auth};
use crate::{ApiError, AppState};

/// A named group of monitors in a page's body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GroupIn {
    #[serde(default)]
    name: String,
    #[serde(default)]
    monitors: Vec<i64>,
}

/// Body of a status page (GlitchTip's fields plus `description` and `groups`).
/// Monitors in `groups` come first, in order; ids of `monitors` not in a group follow
/// without a group.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StatusPageIn {
    name: Option<String>,
    slug: Option<String>,
    is_public: Option<bool>,
    description: Option<String>,
    monitors: Option<Vec<i64>>,
    groups: Option<Vec<GroupIn>>,
}

impl StatusPageIn {
    /// The page the body asks for; missing fields keep `current`'s values.
    fn page(self, current: Option<(&StatusPage, Vec<(i64, String)>)>) -> Result<NewStatusPage, ApiError> {
        let name = self.name.map(|n| n.trim().to_string()).or_else(|| current.as_ref().map(|c| c.0.name.clone()));
        let name = name.unwrap_or_default();
        let slug = match self.slug.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()) {
            Some(slug) => slug,
            None => current.as_ref().map(|c| c.0.slug.clone()).unwrap_or_else(|| rules::slugify(&name)),
        };
        let monitors = if self.monitors.is_none() && self.groups.is_none() {
            current.as_ref().map(|c| c.1.clone()).unwrap_or_default()
        } else {
            let mut out: Vec<(i64, String)> = Vec::new();
            for group in self.groups.unwrap_or_default() {
                for id in group.monitors {
                    out.push((id, group.name.trim().to_string()));
                }
            }
            for id in self.monitors.unwrap_or_default() {
                if !out.iter().any(|(m, _)| *m == id) {
                    out.push((id, String::new()));
                }
            }
            out
        };
        let page = NewStatusPage {
            name,
            slug,
            is_public: self.is_public.or(current.as_ref().map(|c| c.0.is_public)).unwrap_or(false),
            description: self
                .description
                .map(|d| d.trim().to_string())
                .or_else(|| current.as_ref().map(|c| c.0.description.clone()))
                .unwrap_or_default(),
            monitors,
        };
        rules::validate_page(&page)?;
        Ok(page)
    }
}

fn page_url(state: &AppState, org: &str, page: &StatusPage) -> String {
    let http = &state.config.http;
    format!("{}{}/status-pages/{org}/{}/", http.public_url, http.base_path, page.slug)
}

/// A page as the API shows it.
pub(crate) async fn page_json(state: &AppState, access: &OrgAccess, page: &StatusPage) -> Result<Value, ApiError> {
    let monitors = state.store.status_page_monitors(page.id).await?;
    let mut groups: Vec<(String, Vec<i64>)> = Vec::new();
    for m in &monitors {
        match groups.iter_mut().find(|(name, _)| *name == m.group_name) {
            Some((_, ids)) => ids.push(m.id),
            None => groups.push((m.group_name.clone(), vec![m.id])),
        }
    }
    Ok(json!({
        "id": page.id,
        "name": page.name,
        "slug": page.slug,
        "isPublic": page.is_public,
        "description": page.description,
        "monitors": monitors.iter().map(|m| m.id).collect::<Vec<_>>(),
        "groups": groups.iter().map(|(name, ids)| json!({"name": name, "monitors": ids})).collect::<Vec<_>>(),
        "url": page_url(state, &access.org.slug, page),
        "dateCreated": page.created_at,
    }))
}

fn conflict(e: faultline_store::StoreError) -> ApiError {
    match e {
        faultline_store::StoreError::Conflict(_) => {
            ApiError::new(StatusCode::CONFLICT, "A status page with this slug already exists.")
        }
        faultline_store::StoreError::NotFound => {
            ApiError::bad_request("monitors must be monitors of this organization.")
        }
        other => other.into(),
    }
}

/// The organization's status pages.
#[utoipa::path(get, path = "/api/0/organizations/{organization_slug}/status-pages/", tag = "status-pages",
    params(("organization_slug" = String, Path)), responses((status = 200, body = Vec<Object>), (status = 404)))]
pub(crate) async fn list_status_pages(
    State(state): State<AppState>,
    auth: Auth,
    Path(slug): Path<String>,
) -> Result<Json<Vec<Value>>, ApiError> {
    let access = org(&state, &auth, &slug).await?;
    access.require(Scope::OrgRead)?;
    let mut out = Vec::new();
    for page in state.store.status_pages(access.org.id).await? {
        out.push(page_json(&state, &access, &page).await?);
    }
    Ok(Json(out))
}

/// Creates a status page.
#[utoipa::path(post, path = "/api/0/organizations/{organization_slug}/status-pages/", tag = "status-pages",
    params(("organization_slug" = String, Path)), request_body = StatusPageIn,
    responses((status = 201, body = Object), (status = 400), (status = 403), (status = 404), (status = 409)))]
pub(crate) async fn create_status_page(
    State(state): State<AppState>,
    auth: Auth,
    Path(slug): Path<String>,
    Json(body): Json<StatusPageIn>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let access = org(&state, &auth, &slug).await?;
    access.require(Scope::OrgWrite)?;
    let page = body.page(None)?;
    let page = state.store.create_status_page(access.org.id, &page).await.map_err(conflict)?;
    Ok((StatusCode::CREATED, Json(page_json(&state, &access, &page).await?)))
}

async fn find_page(state: &AppState, access: &OrgAccess, slug: &str) -> Result<StatusPage, ApiError> {
    Ok(state.store.status_page(access.org.id, slug).await?)
}

/// One status page.
#[utoipa::path(get, path = "/api/0/organizations/{organization_slug}/status-pages/{status_page_slug}/",
    tag = "status-pages", params(("organization_slug" = String, Path), ("status_page_slug" = String, Path)),
    responses((status = 200, body = Object), (status = 404)))]
pub(crate) async fn get_status_page(
    State(state): State<AppState>,
    auth: Auth,
    Path((slug, page_slug)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let access = org(&state, &auth, &slug).await?;
    access.require(Scope::OrgRead)?;
    let page = find_page(&state, &access, &page_slug).await?;
    Ok(Json(page_json(&state, &access, &page).await?))
}

/// Replaces a status page's fields and monitors (absent fields are kept).
#[utoipa::path(put, path = "/api/0/organizations/{organization_slug}/status-pages/{status_page_slug}/",
    tag = "status-pages", params(("organization_slug" = String, Path), ("status_page_slug" = String, Path)),
    request_body = StatusPageIn,
    responses((status = 200, body = Object), (status = 400), (status = 403), (status = 404), (status = 409)))]
pub(crate) async fn update_status_page(
    State(state): State<AppState>,
    auth: Auth,
    Path((slug, page_slug)): Path<(String, String)>,
    Json(body): Json<StatusPageIn>,
) -> Result<Json<Value>, ApiError> {
    let access = org(&state, &auth, &slug).await?;
    access.require(Scope::OrgWrite)?;
    let current = find_page(&state, &access, &page_slug).await?;
    let monitors =
        state.store.status_page_monitors(current.id).await?.into_iter().map(|m| (m.id, m.group_name)).collect();
    let page = body.page(Some((&current, monitors)))?;
    let page = state.store.update_status_page(access.org.id, &page_slug, &page).await.map_err(conflict)?;
    Ok(Json(page_json(&state, &access, &page).await?))
}

/// Deletes a status page with its incidents and its own maintenance windows.
#[utoipa::path(delete, path = "/api/0/organizations/{organization_slug}/status-pages/{status_page_slug}/",
    tag = "status-pages", params(("organization_slug" = String, Path), ("status_page_slug" = String, Path)),
    responses((status = 204), (status = 403), (status = 404)))]
pub(crate) async fn delete_status_page(
    State(state): State<AppState>,
    auth: Auth,
    Path((slug, page_slug)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let access = org(&state, &auth, &slug).await?;
    access.require(Scope::OrgWrite)?;
    state.store.delete_status_page(access.org.id, &page_slug).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- incidents ----

/// Body of a new incident.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct IncidentIn {
    title: Option<String>,
    /// `investigating` (default), `identified`, `monitoring` or `resolved`.
    status: Option<String>,
    /// `minor` (default), `major` or `critical`.
    impact: Option<String>,
    /// The first update's text.
    message: Option<String>,
}

/// Body of an update: the incident's new status and what happened; optionally a new
/// title or impact.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct IncidentUpdateIn {
    status: Option<String>,
    message: Option<String>,
    title: Option<String>,
    impact: Option<String>,
}

/// An incident with its updates (newest first).
pub(crate) async fn incident_json(state: &AppState, incident: &StatusIncident) -> Result<Value, ApiError> {
    let updates = state.store.status_incident_updates(incident.id).await?;
    Ok(json!({
        "id": incident.id,
        "title": incident.title,
        "status": incident.status,
        "impact": incident.impact,
        "dateCreated": incident.created_at,
        "dateResolved": incident.resolved_at,
        "updates": updates.iter().map(|u| json!({
            "id": u.id,
            "status": u.status,
            "message": u.message,
            "dateCreated": u.created_at,
        })).collect::<Vec<_>>(),
    }))
}

fn incident_id(id: &str) -> Result<i64, ApiError> {
    id.parse().map_err(|_| ApiError::not_found())
}

/// A page's incidents, newest first (up to 100).
#[utoipa::path(get, path = "/api/0/organizations/{organization_slug}/status-pages/{status_page_slug}/incidents/",
    tag = "status-pages", params(("organization_slug" = String, Path), ("status_page_slug" = String, Path)),
    responses((status = 200, body = Vec<Object>), (status = 404)))]
pub(crate) async fn list_incidents(
    State(state): State<AppState>,
    auth: Auth,
    Path((slug, page_slug)): Path<(String, String)>,
) -> Result<Json<Vec<Value>>, ApiError> {
    let access = org(&state, &auth, &slug).await?;
    access.require(Scope::OrgRead)?;
    let page = find_page(&state, &access, &page_slug).await?;
    let mut out = Vec::new();
    for incident in state.store.status_incidents(page.id, 100).await? {
        out.push(incident_json(&state, &incident).await?);
    }
    Ok(Json(out))
}

/// Opens an incident; its message is the first update.
#[utoipa::path(post, path = "/api/0/organizations/{organization_slug}/status-pages/{status_page_slug}/incidents/",
    tag = "status-pages", params(("organization_slug" = String, Path), ("status_page_slug" = String, Path)),
    request_body = IncidentIn,
    responses((status = 201, body = Object), (status = 400), (status = 403), (status = 404)))]
pub(crate) async fn create_incident(
    State(state): State<AppState>,
    auth: Auth,
    Path((slug, page_slug)): Path<(String, String)>,
    Json(body): Json<IncidentIn>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let access = org(&state, &auth, &slug).await?;
    access.require(Scope::OrgWrite)?;
    let page = find_page(&state, &access, &page_slug).await?;
    let title = body.title.unwrap_or_default().trim().to_string();
    let status = body.status.unwrap_or_else(|| "investigating".into());
    let impact = body.impact.unwrap_or_else(|| "minor".into());
    let message = body.message.unwrap_or_default().trim().to_string();
    rules::validate_incident(&title, &status, &impact, &message)?;
    let incident = state.store.create_status_incident(page.id, &title, &status, &impact, &message).await?;
    Ok((StatusCode::CREATED, Json(incident_json(&state, &incident).await?)))
}

/// One incident with its updates.
#[utoipa::path(get,
    path = "/api/0/organizations/{organization_slug}/status-pages/{status_page_slug}/incidents/{incident_id}/",
    tag = "status-pages",
    params(("organization_slug" = String, Path), ("status_page_slug" = String, Path), ("incident_id" = String, Path)),
    responses((status = 200, body = Object), (status = 404)))]
pub(crate) async fn get_incident(
    State(state): State<AppState>,
    auth: Auth,
    Path((slug, page_slug, id)): Path<(String, String, String)>,
) -> Result<Json<Value>, ApiError> {
    let access = org(&state, &auth, &slug).await?;
    access.require(Scope::OrgRead)?;
    let page = find_page(&state, &access, &page_slug).await?;
    let incident = state.store.status_incident(page.id, incident_id(&id)?).await?;
    Ok(Json(incident_json(&state, &incident).await?))
}

/// Posts an update: a new status with a message (a new update row); `title` and
/// `impact` may change too.
#[utoipa::path(put,
    path = "/api/0/organizations/{organization_slug}/status-pages/{status_page_slug}/incidents/{incident_id}/",
    tag = "status-pages",
    params(("organization_slug" = String, Path), ("status_page_slug" = String, Path), ("incident_id" = String, Path)),
    request_body = IncidentUpdateIn,
    responses((status = 200, body = Object), (status = 400), (status = 403), (status = 404)))]
pub(crate) async fn update_incident(
    State(state): State<AppState>,
    auth: Auth,
    Path((slug, page_slug, id)): Path<(String, String, String)>,
    Json(body): Json<IncidentUpdateIn>,
) -> Result<Json<Value>, ApiError> {
    let access = org(&state, &auth, &slug).await?;
    access.require(Scope::OrgWrite)?;
    let page = find_page(&state, &access, &page_slug).await?;
    let current = state.store.status_incident(page.id, incident_id(&id)?).await?;
    let status = body.status.unwrap_or_else(|| current.status.clone());
    let message = body.message.unwrap_or_default().trim().to_string();
    rules::validate_update(&status, &message)?;
    let title = body.title.map(|t| t.trim().to_string());
    if let Some(title) = &title {
        rules::validate_incident(title, &status, &current.impact, "")?;
    }
    if let Some(impact) = &body.impact {
        rules::validate_impact(impact)?;
    }
    let incident = state
        .store
        .update_status_incident(page.id, current.id, &status, &message, title.as_deref(), body.impact.as_deref())
        .await?;
    Ok(Json(incident_json(&state, &incident).await?))
}

/// Deletes an incident and its updates.
#[utoipa::path(delete,
    path = "/api/0/organizations/{organization_slug}/status-pages/{status_page_slug}/incidents/{incident_id}/",
    tag = "status-pages",
    params(("organization_slug" = String, Path), ("status_page_slug" = String, Path), ("incident_id" = String, Path)),
    responses((status = 204), (status = 403), (status = 404)))]
pub(crate) async fn delete_incident(
    State(state): State<AppState>,
    auth: Auth,
    Path((slug, page_slug, id)): Path<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    let access = org(&state, &auth, &slug).await?;
    access.require(Scope::OrgWrite)?;
    let page = find_page(&state, &access, &page_slug).await?;
    state.store.delete_status_incident(page.id, incident_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- maintenance windows ----

/// Body of a maintenance window. `statusPage`: the slug of the page whose monitors it
/// covers; absent or null: every monitor of the organization.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WindowIn {
    title: Option<String>,
    /// RFC 3339.
    starts_at: Option<String>,
    /// RFC 3339, after `startsAt`.
    ends_at: Option<String>,
    status_page: Option<String>,
}

/// A window as the API shows it.
pub(crate) fn window_json(window: &MaintenanceWindow, pages: &[StatusPage], now: Timestamp) -> Value {
    let page = window.status_page_id.and_then(|id| pages.iter().find(|p| p.id == id)).map(|p| p.slug.clone());
    json!({
        "id": window.id,
        "title": window.title,
        "startsAt": window.starts_at,
        "endsAt": window.ends_at,
        "statusPage": page,
        "active": rules::window_active(window, now),
        "dateCreated": window.created_at,
    })
}

fn parse_time(text: Option<&str>, field: &str) -> Result<Timestamp, ApiError> {
    text.and_then(|t| Timestamp::parse_rfc3339(t.trim()))
        .ok_or_else(|| ApiError::bad_request(format!("{field} must be an RFC 3339 time.")))
}

impl WindowIn {
    fn window(self, pages: &[StatusPage]) -> Result<NewMaintenanceWindow, ApiError> {
        let title = self.title.unwrap_or_default().trim().to_string();
        let starts_at = parse_time(self.starts_at.as_deref(), "startsAt")?;
        let ends_at = parse_time(self.ends_at.as_deref(), "endsAt")?;
        rules::validate_window(&title, starts_at, ends_at)?;
        let status_page_id = match self.status_page.filter(|s| !s.is_empty()) {
            None => None,
            Some(slug) => Some(
                pages
                    .iter()
                    .find(|p| p.slug == slug)
                    .map(|p| p.id)
                    .ok_or_else(|| ApiError::bad_request("statusPage must be the slug of a status page."))?,
            ),
        };
        Ok(NewMaintenanceWindow { status_page_id, title, starts_at, ends_at })
    }
}

fn window_id(id: &str) -> Result<i64, ApiError> {
    id.parse().map_err(|_| ApiError::not_found())
}

/// The organization's maintenance windows, latest start first.
#[utoipa::path(get, path = "/api/0/organizations/{organization_slug}/maintenance-windows/", tag = "status-pages",
    params(("organization_slug" = String, Path)), responses((status = 200, body = Vec<Object>), (status = 404)))]
pub(crate) async fn list_windows(
    State(state): State<AppState>,
    auth: Auth,
    Path(slug): Path<String>,
) -> Result<Json<Vec<Value>>, ApiError> {
    let access = org(&state, &auth, &slug).await?;
    access.require(Scope::OrgRead)?;
    let pages = state.store.status_pages(access.org.id).await?;
    let now = Timestamp::now();
    let windows = state.store.maintenance_windows(access.org.id).await?;
    Ok(Json(windows.iter().map(|w| window_json(w, &pages, now)).collect()))
}

/// Schedules a maintenance window.
#[utoipa::path(post, path = "/api/0/organizations/{organization_slug}/maintenance-windows/", tag = "status-pages",
    params(("organization_slug" = String, Path)), request_body = WindowIn,
    responses((status = 201, body = Object), (status = 400), (status = 403), (status = 404)))]
pub(crate) async fn create_window(
    State(state): State<AppState>,
    auth: Auth,
    Path(slug): Path<String>,
    Json(body): Json<WindowIn>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let access = org(&state, &auth, &slug).await?;
    access.require(Scope::OrgWrite)?;
    let pages = state.store.status_pages(access.org.id).await?;
    let window = body.window(&pages)?;
    let window = state.store.create_maintenance_window(access.org.id, &window).await?;
    Ok((StatusCode::CREATED, Json(window_json(&window, &pages, Timestamp::now()))))
}

/// One maintenance window.
#[utoipa::path(get, path = "/api/0/organizations/{organization_slug}/maintenance-windows/{window_id}/",
    tag = "status-pages", params(("organization_slug" = String, Path), ("window_id" = String, Path)),
    responses((status = 200, body = Object), (status = 404)))]
pub(crate) async fn get_window(
    State(state): State<AppState>,
    auth: Auth,
    Path((slug, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let access = org(&state, &auth, &slug).await?;
    access.require(Scope::OrgRead)?;
    let pages = state.store.status_pages(access.org.id).await?;
    let window = state.store.maintenance_window(access.org.id, window_id(&id)?).await?;
    Ok(Json(window_json(&window, &pages, Timestamp::now())))
}

/// Replaces a maintenance window.
#[utoipa::path(put, path = "/api/0/organizations/{organization_slug}/maintenance-windows/{window_id}/",
    tag = "status-pages", params(("organization_slug" = String, Path), ("window_id" = String, Path)),
    request_body = WindowIn, responses((status = 200, body = Object), (status = 400), (status = 403), (status = 404)))]
pub(crate) async fn update_window(
    State(state): State<AppState>,
    auth: Auth,
    Path((slug, id)): Path<(String, String)>,
    Json(body): Json<WindowIn>,
) -> Result<Json<Value>, ApiError> {
    let access = org(&state, &auth, &slug).await?;
    access.require(Scope::OrgWrite)?;
    let id = window_id(&id)?;
    state.store.maintenance_window(access.org.id, id).await?;
    let pages = state.store.status_pages(access.org.id).await?;
    let window = body.window(&pages)?;
    let window = state.store.update_maintenance_window(access.org.id, id, &window).await?;
    Ok(Json(window_json(&window, &pages, Timestamp::now())))
}

/// Deletes a maintenance window.
#[utoipa::path(delete, path = "/api/0/organizations/{organization_slug}/maintenance-windows/{window_id}/",
    tag = "status-pages", params(("organization_slug" = String, Path), ("window_id" = String, Path)),
    responses((status = 204), (status = 403), (status = 404)))]
pub(crate) async fn delete_window(
    State(state): State<AppState>,
    auth: Auth,
    Path((slug, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let access = org(&state, &auth, &slug).await?;
    access.require(Scope::OrgWrite)?;
    state.store.delete_maintenance_window(access.org.id, window_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
