//! Organization settings for status pages: the list of pages with a form to add one,
//! the maintenance windows with a form to schedule one, and a page's own settings —
//! name, slug, visibility, which monitors it shows in which groups — with its
//! incidents (open one, post updates, delete) and a delete button.
//!
//! Input is checked by `faultline_domain::status_pages`, as in the API. Reading needs
//! `org:read`, changing `org:write`; forms are only shown to those who may use them.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use faultline_domain::access::{OrgAccess, Scope};
use faultline_domain::status_pages::{self as rules, IMPACTS, INCIDENT_STATUSES};
use faultline_domain::DomainError;
use faultline_store::{NewMaintenanceWindow, NewStatusPage, StatusPage, StoreError, Timestamp};
use serde::Deserialize;

use super::settings::{access, refusal, CsrfForm};
use super::{check_csrf, page, Chrome, Viewer};
use crate::{ApiError, AppState};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/{org}/settings/status-pages", get(list_page).post(create_page))
        .route("/{org}/settings/status-pages/{page}", get(edit_page).post(save_page))
        .route("/{org}/settings/status-pages/{page}/delete", post(delete_page))
        .route("/{org}/settings/status-pages/{page}/incidents", post(create_incident))
        .route("/{org}/settings/status-pages/{page}/incidents/{id}", post(update_incident))
        .route("/{org}/settings/status-pages/{page}/incidents/{id}/delete", post(delete_incident))
        .route("/{org}/settings/maintenance", post(create_window))
        .route("/{org}/settings/maintenance/{id}/delete", post(delete_window))
}

/// `?done=<code>` after a successful form post.
#[derive(Debug, Default, Deserialize)]
struct Done {
    done: Option<String>,
}

impl Done {
    fn notice(&self) -> Option<String> {
        let text = match self.done.as_deref()? {
            "page-created" => "Status page created. Choose the monitors it shows below.",
            "page-saved" => "Status page saved.",
            "page-deleted" => "Status page deleted.",
            "incident-created" => "Incident posted.",
            "incident-updated" => "Update posted.",
            "incident-deleted" => "Incident deleted.",
            "window-created" => "Maintenance scheduled.",
            "window-deleted" => "Maintenance window deleted.",
            _ => return None,
        };
        Some(text.to_string())
    }
}

fn done(state: &AppState, path: &str, code: &str) -> Response {
    Redirect::to(&format!("{}{path}?done={code}", state.config.http.base_path)).into_response()
}

fn when(t: Timestamp) -> String {
    t.to_datetime().format("%Y-%m-%d %H:%M UTC").to_string()
}

/// A time from a form: RFC 3339, or a `datetime-local` value (`2024-05-01T12:00`) read
/// as UTC.
fn form_time(text: &str, field: &str) -> Result<Timestamp, DomainError> {
    let text = text.trim();
    let parsed = Timestamp::parse_rfc3339(text)
        .or_else(|| Timestamp::parse_rfc3339(&format!("{text}:00Z")))
        .or_else(|| Timestamp::parse_rfc3339(&format!("{text}Z")))
        .or_else(|| Timestamp::parse_rfc3339(&format!("{}:00Z", text.replacen(' ', "T", 1))));
    parsed.ok_or_else(|| DomainError::Invalid(format!("{field} must be a date and time (UTC).")))
}

// ---- the list ----

struct PageRow {
    name: String,
    slug: String,
    is_public: bool,
    monitors: usize,
}

struct WindowRow {
    id: i64,
    title: String,
    scope: String,
    starts: String,
    ends: String,
    state: &'static str,
}

struct PageChoice {
    id: i64,
    name: String,
}

#[derive(Template)]
#[template(path = "status/settings_list.html")]
struct ListPage {
    chrome: Chrome,
    slug: String,
    pages: Vec<PageRow>,
    windows: Vec<WindowRow>,
    choices: Vec<PageChoice>,
    can_write: bool,
    notice: Option<String>,
    error: Option<String>,
    form: NewPageForm,
}

async fn render_list(
    state: &AppState,
    viewer: &Viewer,
    access: &OrgAccess,
    form: NewPageForm,
    notice: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, ApiError> {
    access.require(Scope::OrgRead)?;
    let chrome = Chrome::for_viewer(state, viewer, Some(&access.org.slug)).await?;
    let pages = state.store.status_pages(access.org.id).await?;
    let mut rows = Vec::new();
    for p in &pages {
        let monitors = state.store.status_page_monitors(p.id).await?.len();
        rows.push(PageRow { name: p.name.clone(), slug: p.slug.clone(), is_public: p.is_public, monitors });
    }
    let now = Timestamp::now();
    let windows = state
        .store
        .maintenance_windows(access.org.id)
        .await?
        .into_iter()
        .map(|w| WindowRow {
            id: w.id,
            title: w.title.clone(),
            scope: match w.status_page_id.and_then(|id| pages.iter().find(|p| p.id == id)) {
                Some(p) => p.name.clone(),
                None => "Every monitor of the organization".to_string(),
            },
            starts: when(w.starts_at),
            ends: when(w.ends_at),
            state: if rules::window_active(&w, now) {
                "in progress"
            } else if w.starts_at > now {
                "scheduled"
            } else {
                "over"
            },
        })
        .collect();
    let choices = pages.iter().map(|p| PageChoice { id: p.id, name: p.name.clone() }).collect();
    Ok(page(
        status,
        &ListPage {
            chrome,
            slug: access.org.slug.clone(),
            pages: rows,
            windows,
            choices,
            can_write: access.scopes.contains(Scope::OrgWrite),
            notice,
            error,
            form,
        },
    ))
}

async fn list_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(org): Path<String>,
    Query(q): Query<Done>,
) -> Result<Response, ApiError> {
    let access = access(&state, &viewer, &org).await?;
    render_list(&state, &viewer, &access, NewPageForm::default(), q.notice(), None, StatusCode::OK).await
}

#[derive(Debug, Default, Deserialize)]
struct NewPageForm {
    #[serde(default)]
    csrfmiddlewaretoken: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    is_public: Option<String>,
}

async fn create_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(org): Path<String>,
    Form(form): Form<NewPageForm>,
) -> Result<Response, ApiError> {
    check_csrf(&viewer, &form.csrfmiddlewaretoken)?;
    let access = access(&state, &viewer, &org).await?;
    let name = form.name.trim().to_string();
    let slug = match form.slug.trim() {
        "" => rules::slugify(&name),
        s => s.to_string(),
    };
    let new = NewStatusPage {
        name,
        slug,
        is_public: form.is_public.is_some(),
        description: form.description.trim().to_string(),
        monitors: Vec::new(),
    };
    let result = match access.require(Scope::OrgWrite).and_then(|()| rules::validate_page(&new)) {
        Ok(()) => state.store.create_status_page(access.org.id, &new).await.map_err(page_error),
        Err(e) => Err(e),
    };
    match result {
        Ok(p) => Ok(done(&state, &format!("/{org}/settings/status-pages/{}", p.slug), "page-created")),
        Err(e) => {
            let error = Some(refusal(e)?);
            render_list(&state, &viewer, &access, form, None, error, StatusCode::BAD_REQUEST).await
        }
    }
}

fn page_error(e: StoreError) -> DomainError {
    match e {
        StoreError::Conflict(_) => DomainError::Conflict("A status page with this slug already exists.".into()),
        StoreError::NotFound => DomainError::Invalid("Choose monitors of this organization.".into()),
        other => other.into(),
    }
}

// ---- maintenance windows ----

#[derive(Debug, Default, Deserialize)]
struct WindowForm {
    #[serde(default)]
    csrfmiddlewaretoken: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    status_page: String,
    #[serde(default)]
    starts_at: String,
    #[serde(default)]
    ends_at: String,
}

async fn create_window(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(org): Path<String>,
    Form(form): Form<WindowForm>,
) -> Result<Response, ApiError> {
    check_csrf(&viewer, &form.csrfmiddlewaretoken)?;
    let access = access(&state, &viewer, &org).await?;
    let result = async {
        access.require(Scope::OrgWrite)?;
        let title = form.title.trim().to_string();
        let starts_at = form_time(&form.starts_at, "The start")?;
        let ends_at = form_time(&form.ends_at, "The end")?;
        rules::validate_window(&title, starts_at, ends_at)?;
        let status_page_id = match form.status_page.trim() {
            "" => None,
            id => Some(id.parse::<i64>().map_err(|_| DomainError::Invalid("Choose a status page.".into()))?),
        };
        let window = NewMaintenanceWindow { status_page_id, title, starts_at, ends_at };
        state.store.create_maintenance_window(access.org.id, &window).await.map_err(|e| match e {
            StoreError::NotFound => DomainError::Invalid("Choose a status page.".into()),
            other => other.into(),
        })
    }
    .await;
    match result {
        Ok(_) => Ok(done(&state, &format!("/{org}/settings/status-pages"), "window-created")),
        Err(e) => {
            let error = Some(refusal(e)?);
            render_list(&state, &viewer, &access, NewPageForm::default(), None, error, StatusCode::BAD_REQUEST).await
        }
    }
}

async fn delete_window(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((org, id)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ApiError> {
    check_csrf(&viewer, &form.csrfmiddlewaretoken)?;
    let access = access(&state, &viewer, &org).await?;
    access.require(Scope::OrgWrite)?;
    let id: i64 = id.parse().map_err(|_| ApiError::not_found())?;
    state.store.delete_maintenance_window(access.org.id, id).await?;
    Ok(done(&state, &format!("/{org}/settings/status-pages"), "window-deleted"))
}

// ---- one page ----

struct MonitorRow {
    id: i64,
    name: String,
    health: String,
    chosen: bool,
    group: String,
}

struct UpdateRow {
    status: String,
    message: String,
    when: String,
}

struct IncidentRow {
    id: i64,
    title: String,
    status: String,
    impact: String,
    started: String,
    resolved: bool,
    updates: Vec<UpdateRow>,
    /// The statuses an update may set, the current one selected.
    choices: Vec<(&'static str, bool)>,
}

#[derive(Template)]
#[template(path = "status/settings_page.html")]
struct EditPage {
    chrome: Chrome,
    slug: String,
    page: StatusPage,
    public_url: String,
    monitors: Vec<MonitorRow>,
    incidents: Vec<IncidentRow>,
    statuses: &'static [&'static str],
    impacts: &'static [&'static str],
    can_write: bool,
    notice: Option<String>,
    error: Option<String>,
}

async fn find_page(state: &AppState, access: &OrgAccess, slug: &str) -> Result<StatusPage, ApiError> {
    access.require(Scope::OrgRead)?;
    Ok(state.store.status_page(access.org.id, slug).await?)
}

async fn render_edit(
    state: &AppState,
    viewer: &Viewer,
    access: &OrgAccess,
    status_page: StatusPage,
    notice: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let chrome = Chrome::for_viewer(state, viewer, Some(&access.org.slug)).await?;
    let chosen = state.store.status_page_monitors(status_page.id).await?;
    let mut monitors: Vec<MonitorRow> = chosen
        .iter()
        .map(|m| MonitorRow {
            id: m.id,
            name: m.name.clone(),
            health: m.health.clone(),
            chosen: true,
            group: m.group_name.clone(),
        })
        .collect();
    for m in state.store.status_monitor_choices(access.org.id).await? {
        if !monitors.iter().any(|r| r.id == m.id) {
            monitors.push(MonitorRow { id: m.id, name: m.name, health: m.health, chosen: false, group: String::new() });
        }
    }
    let mut incidents = Vec::new();
    for i in state.store.status_incidents(status_page.id, 50).await? {
        let updates = state
            .store
            .status_incident_updates(i.id)
            .await?
            .into_iter()
            .map(|u| UpdateRow { status: u.status, message: u.message, when: when(u.created_at) })
            .collect();
        incidents.push(IncidentRow {
            id: i.id,
            title: i.title,
            choices: INCIDENT_STATUSES.iter().map(|s| (*s, *s == i.status)).collect(),
            status: i.status,
            impact: i.impact,
            started: when(i.created_at),
            resolved: i.resolved_at.is_some(),
            updates,
        });
    }
    let http = &state.config.http;
    let public_url = format!("{}/status-pages/{}/{}/", http.base_path, access.org.slug, status_page.slug);
    Ok(page(
        status,
        &EditPage {
            chrome,
            slug: access.org.slug.clone(),
            page: status_page,
            public_url,
            monitors,
            incidents,
            statuses: &INCIDENT_STATUSES,
            impacts: &IMPACTS,
            can_write: access.scopes.contains(Scope::OrgWrite),
            notice,
            error,
        },
    ))
}

async fn edit_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((org, slug)): Path<(String, String)>,
    Query(q): Query<Done>,
) -> Result<Response, ApiError> {
    let access = access(&state, &viewer, &org).await?;
    let status_page = find_page(&state, &access, &slug).await?;
    render_edit(&state, &viewer, &access, status_page, q.notice(), None, StatusCode::OK).await
}

/// The page form: `name`, `slug`, `description`, `is_public`, and for each monitor a
/// `monitor` checkbox (its id) and a `group_<id>` text.
fn page_from_form(fields: &[(String, String)]) -> NewStatusPage {
    let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim().to_string());
    let mut monitors: Vec<(i64, String)> = Vec::new();
    for (k, v) in fields {
        if k == "monitor" {
            if let Ok(id) = v.trim().parse::<i64>() {
                if !monitors.iter().any(|(m, _)| *m == id) {
                    monitors.push((id, field(&format!("group_{id}")).unwrap_or_default()));
                }
            }
        }
    }
    // Members of a group stay together, groups in the order they first appear.
    let mut order: Vec<String> = Vec::new();
    for (_, g) in &monitors {
        if !order.contains(g) {
            order.push(g.clone());
        }
    }
    monitors.sort_by_key(|(_, g)| order.iter().position(|o| o == g));
    NewStatusPage {
        name: field("name").unwrap_or_default(),
        slug: field("slug").unwrap_or_default(),
        is_public: field("is_public").is_some(),
        description: field("description").unwrap_or_default(),
        monitors,
    }
}

async fn save_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((org, slug)): Path<(String, String)>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let csrf = fields.iter().find(|(k, _)| k == "csrfmiddlewaretoken").map(|(_, v)| v.as_str()).unwrap_or("");
    check_csrf(&viewer, csrf)?;
    let access = access(&state, &viewer, &org).await?;
    let current = find_page(&state, &access, &slug).await?;
    let new = page_from_form(&fields);
    let result = match access.require(Scope::OrgWrite).and_then(|()| rules::validate_page(&new)) {
        Ok(()) => state.store.update_status_page(access.org.id, &slug, &new).await.map_err(page_error),
        Err(e) => Err(e),
    };
    match result {
        Ok(p) => Ok(done(&state, &format!("/{org}/settings/status-pages/{}", p.slug), "page-saved")),
        Err(e) => {
            let error = Some(refusal(e)?);
            render_edit(&state, &viewer, &access, current, None, error, StatusCode::BAD_REQUEST).await
        }
    }
}

async fn delete_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((org, slug)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ApiError> {
    check_csrf(&viewer, &form.csrfmiddlewaretoken)?;
    let access = access(&state, &viewer, &org).await?;
    access.require(Scope::OrgWrite)?;
    state.store.delete_status_page(access.org.id, &slug).await?;
    Ok(done(&state, &format!("/{org}/settings/status-pages"), "page-deleted"))
}

// ---- incidents ----

#[derive(Debug, Default, Deserialize)]
struct IncidentForm {
    #[serde(default)]
    csrfmiddlewaretoken: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    impact: String,
    #[serde(default)]
    message: String,
}

async fn create_incident(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((org, slug)): Path<(String, String)>,
    Form(form): Form<IncidentForm>,
) -> Result<Response, ApiError> {
    check_csrf(&viewer, &form.csrfmiddlewaretoken)?;
    let access = access(&state, &viewer, &org).await?;
    let status_page = find_page(&state, &access, &slug).await?;
    let (title, message) = (form.title.trim(), form.message.trim());
    let checked = access
        .require(Scope::OrgWrite)
        .and_then(|()| rules::validate_incident(title, &form.status, &form.impact, message));
    match checked {
        Ok(()) => {
            state.store.create_status_incident(status_page.id, title, &form.status, &form.impact, message).await?;
            Ok(done(&state, &format!("/{org}/settings/status-pages/{slug}"), "incident-created"))
        }
        Err(e) => {
            let error = Some(refusal(e)?);
            render_edit(&state, &viewer, &access, status_page, None, error, StatusCode::BAD_REQUEST).await
        }
    }
}

async fn update_incident(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((org, slug, id)): Path<(String, String, String)>,
    Form(form): Form<IncidentForm>,
) -> Result<Response, ApiError> {
    check_csrf(&viewer, &form.csrfmiddlewaretoken)?;
    let access = access(&state, &viewer, &org).await?;
    let status_page = find_page(&state, &access, &slug).await?;
    let id: i64 = id.parse().map_err(|_| ApiError::not_found())?;
    let incident = state.store.status_incident(status_page.id, id).await?;
    let message = form.message.trim();
    match access.require(Scope::OrgWrite).and_then(|()| rules::validate_update(&form.status, message)) {
        Ok(()) => {
            state.store.update_status_incident(status_page.id, incident.id, &form.status, message, None, None).await?;
            Ok(done(&state, &format!("/{org}/settings/status-pages/{slug}"), "incident-updated"))
        }
        Err(e) => {
            let error = Some(refusal(e)?);
            render_edit(&state, &viewer, &access, status_page, None, error, StatusCode::BAD_REQUEST).await
        }
    }
}

async fn delete_incident(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((org, slug, id)): Path<(String, String, String)>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ApiError> {
    check_csrf(&viewer, &form.csrfmiddlewaretoken)?;
    let access = access(&state, &viewer, &org).await?;
    access.require(Scope::OrgWrite)?;
    let status_page = find_page(&state, &access, &slug).await?;
    let id: i64 = id.parse().map_err(|_| ApiError::not_found())?;
    state.store.delete_status_incident(status_page.id, id).await?;
    Ok(done(&state, &format!("/{org}/settings/status-pages/{slug}"), "incident-deleted"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_times_and_groups() {
        assert_eq!(form_time("2024-05-01T12:30", "x").unwrap().to_rfc3339(), "2024-05-01T12:30:00.000000Z");
        assert_eq!(form_time("2024-05-01T12:30:15Z", "x").unwrap().to_rfc3339(), "2024-05-01T12:30:15.000000Z");
        assert!(form_time("tomorrow", "x").is_err());
        let f = |k: &str, v: &str| (k.to_string(), v.to_string());
        let page = page_from_form(&[
            f("name", " Acme "),
            f("monitor", "1"),
            f("group_1", "API"),
            f("monitor", "2"),
            f("group_2", "Web"),
            f("monitor", "3"),
            f("group_3", "API"),
            f("group_4", "ignored"),
        ]);
        assert_eq!(page.name, "Acme");
        assert!(!page.is_public);
        assert_eq!(page.monitors, vec![(1, "API".into()), (3, "API".into()), (2, "Web".into())]);
    }
}
