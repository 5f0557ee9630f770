//! Events: an issue's events (pages, latest, oldest, one with its neighbours), a
//! project's events, the stored JSON of one, and an issue's grouping hashes (list and
//! unmerge).

use crate::api::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use faultline_domain::access::{OrgAccess, Scope};
use faultline_store::{parse_event_id, EventRow, IssueRow};
use serde_json::{json, Value};

use super::views::event_json;
use super::{issue_access, org_issue_access, Params};
use crate::api::pagination::respond;
use crate::api::{org, project, Auth};
use crate::{ApiError, AppState};

async fn event_page(state: &AppState, access: &OrgAccess, row: &IssueRow, uri: &Uri) -> Result<Response, ApiError> {
    access.require(Scope::EventRead)?;
    let page = Params::from_uri(uri).page(50, 100);
    let events = state.store.issue_event_page(row.issue.id, page.offset, page.fetch_limit()).await?;
    let total = state.store.issue_event_count(row.issue.id).await?;
    let mut items = Vec::with_capacity(events.len());
    for e in &events {
        items.push(event_json(state, e, false).await?);
    }
    Ok(respond(&state.config.http.public_url, uri, page, items, Some(total)))
}

/// `latest`, `oldest` (`recommended` means latest) or an event id.
async fn one_event(state: &AppState, access: &OrgAccess, row: &IssueRow, which: &str) -> Result<Json<Value>, ApiError> {
    access.require(Scope::EventRead)?;
    let event = match which {
        "latest" | "recommended" => state.store.issue_edge_event(row.issue.id, true).await?,
        "oldest" => state.store.issue_edge_event(row.issue.id, false).await?,
        id => {
            let id = parse_event_id(id).ok_or_else(ApiError::not_found)?;
            state.store.issue_event(row.issue.id, row.issue.project_id, id).await?
        }
    };
    let event = event.ok_or_else(ApiError::not_found)?;
    Ok(Json(event_json(state, &event, true).await?))
}

/// An issue's events, newest first.
#[utoipa::path(get, path = "/api/0/issues/{issue_id}/events/", tag = "events",
    params(("issue_id" = String, Path), ("cursor" = Option<String>, Query), ("limit" = Option<i64>, Query)),
    responses((status = 200, body = Vec<Object>), (status = 404)))]
pub(crate) async fn list_issue_events(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, ApiError> {
    let (access, row) = issue_access(&state, &auth, &id).await?;
    event_page(&state, &access, &row, &uri).await
}

/// An issue's newest event, with `entries` and neighbours (GitLab's stack trace).
#[utoipa::path(get, path = "/api/0/issues/{issue_id}/events/latest/", tag = "events",
    params(("issue_id" = String, Path)), responses((status = 200, body = Object), (status = 404)))]
pub(crate) async fn latest_issue_event(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (access, row) = issue_access(&state, &auth, &id).await?;
    one_event(&state, &access, &row, "latest").await
}

/// An issue's first event.
#[utoipa::path(get, path = "/api/0/issues/{issue_id}/events/oldest/", tag = "events",
    params(("issue_id" = String, Path)), responses((status = 200, body = Object), (status = 404)))]
pub(crate) async fn oldest_issue_event(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (access, row) = issue_access(&state, &auth, &id).await?;
    one_event(&state, &access, &row, "oldest").await
}

/// One event of an issue, with `previousEventID`, `nextEventID` and `userReport`.
#[utoipa::path(get, path = "/api/0/issues/{issue_id}/events/{event_id}/", tag = "events",
    params(("issue_id" = String, Path), ("event_id" = String, Path)),
    responses((status = 200, body = Object), (status = 404)))]
pub(crate) async fn get_issue_event(
    State(state): State<AppState>,
    auth: Auth,
    Path((id, event_id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let (access, row) = issue_access(&state, &auth, &id).await?;
    one_event(&state, &access, &row, &event_id).await
}

/// An organization's issue's events, newest first.
#[utoipa::path(get, path = "/api/0/organizations/{organization_slug}/issues/{issue_id}/events/", tag = "events",
    params(("organization_slug" = String, Path), ("issue_id" = String, Path), ("cursor" = Option<String>, Query),
        ("limit" = Option<i64>, Query)),
    responses((status = 200, body = Vec<Object>), (status = 404)))]
pub(crate) async fn list_organization_issue_events(
    State(state): State<AppState>,
    auth: Auth,
    Path((org_slug, id)): Path<(String, String)>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, ApiError> {
    let (access, row) = org_issue_access(&state, &auth, &org_slug, &id).await?;
    event_page(&state, &access, &row, &uri).await
}

/// One event of an organization's issue (`latest`, `oldest`, `recommended` or an id).
#[utoipa::path(get, path = "/api/0/organizations/{organization_slug}/issues/{issue_id}/events/{event_id}/", tag = "events",
    params(("organization_slug" = String, Path), ("issue_id" = String, Path), ("event_id" = String, Path)),
    responses((status = 200, body = Object), (status = 404)))]
pub(crate) async fn get_organization_issue_event(
    State(state): State<AppState>,
    auth: Auth,
    Path((org_slug, id, event_id)): Path<(String, String, String)>,
) -> Result<Json<Value>, ApiError> {
    let (access, row) = org_issue_access(&state, &auth, &org_slug, &id).await?;
    one_event(&state, &access, &row, &event_id).await
}

/// The stored, normalized event as it is.
#[utoipa::path(get, path = "/api/0/organizations/{organization_slug}/issues/{issue_id}/events/{event_id}/json/",
    tag = "events",
    params(("organization_slug" = String, Path), ("issue_id" = String, Path), ("event_id" = String, Path)),
    responses((status = 200, body = Object), (status = 404)))]
pub(crate) async fn get_event_json(
    State(state): State<AppState>,
    auth: Auth,
    Path((org_slug, id, event_id)): Path<(String, String, String)>,
) -> Result<Json<Value>, ApiError> {
    let (access, row) = org_issue_access(&state, &auth, &org_slug, &id).await?;
    access.require(Scope::EventRead)?;
    let event_id = parse_event_id(&event_id).ok_or_else(ApiError::not_found)?;
    let event = state.store.issue_event(row.issue.id, row.issue.project_id, event_id).await?;
    let event = event.ok_or_else(ApiError::not_found)?;
    Ok(Json(event.event.json()?))
}

/// A project's events, newest first.
#[utoipa::path(get, path = "/api/0/projects/{organization_slug}/{project_slug}/events/", tag = "events",
    params(("organization_slug" = String, Path), ("project_slug" = String, Path), ("cursor" = Option<String>, Query),
        ("limit" = Option<i64>, Query)),
    responses((status = 200, body = Vec<Object>), (status = 404)))]
pub(crate) async fn list_project_events(
    State(state): State<AppState>,
    auth: Auth,
    Path((org_slug, project_slug)): Path<(String, String)>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, ApiError> {
    let access = org(&state, &auth, &org_slug).await?;
    access.require(Scope::EventRead)?;
    let p = project(&state, &access, &project_slug).await?;
    let page = Params::from_uri(&uri).page(50, 100);
    let events = state.store.project_event_page(p.id, page.offset, page.fetch_limit()).await?;
    let mut items = Vec::with_capacity(events.len());
    for e in &events {
        items.push(event_json(&state, e, false).await?);
    }
    Ok(respond(&state.config.http.public_url, &uri, page, items, None))
}

/// One event of a project, with its neighbours in its issue.
#[utoipa::path(get, path = "/api/0/projects/{organization_slug}/{project_slug}/events/{event_id}/", tag = "events",
    params(("organization_slug" = String, Path), ("project_slug" = String, Path), ("event_id" = String, Path)),
    responses((status = 200, body = Object), (status = 404)))]
pub(crate) async fn get_project_event(
    State(state): State<AppState>,
    auth: Auth,
    Path((org_slug, project_slug, event_id)): Path<(String, String, String)>,
) -> Result<Json<Value>, ApiError> {
    let access = org(&state, &auth, &org_slug).await?;
    access.require(Scope::EventRead)?;
    let p = project(&state, &access, &project_slug).await?;
    let event_id = parse_event_id(&event_id).ok_or_else(ApiError::not_found)?;
    let event = state.store.project_event(p.id, event_id).await?.ok_or_else(ApiError::not_found)?;
    Ok(Json(event_json(&state, &event, true).await?))
}

/// The grouping hashes of an issue, each with its newest event.
#[utoipa::path(get, path = "/api/0/organizations/{organization_slug}/issues/{issue_id}/hashes/", tag = "issues",
    params(("organization_slug" = String, Path), ("issue_id" = String, Path), ("cursor" = Option<String>, Query),
        ("limit" = Option<i64>, Query)),
    responses((status = 200, body = Vec<Object>), (status = 404)))]
pub(crate) async fn list_issue_hashes(
    State(state): State<AppState>,
    auth: Auth,
    Path((org_slug, id)): Path<(String, String)>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, ApiError> {
    let (access, row) = org_issue_access(&state, &auth, &org_slug, &id).await?;
    access.require(Scope::EventRead)?;
    let page = Params::from_uri(&uri).page(50, 100);
    let mut hashes: Vec<String> = state.store.issue_hash_rows(row.issue.id).await?.into_iter().map(|h| h.0).collect();
    hashes.sort();
    let total = hashes.len() as i64;
    let selected: Vec<String> = hashes
        .into_iter()
        .skip(usize::try_from(page.offset).unwrap_or(0))
        .take(usize::try_from(page.fetch_limit()).unwrap_or(0))
        .collect();
    let latest = state.store.latest_events_by_hash(row.issue.id, &selected, 500).await?;
    let mut items = Vec::with_capacity(selected.len());
    for hash in &selected {
        let event: Option<&EventRow> = latest.get(hash);
        let event = match event {
            Some(e) => event_json(&state, e, false).await?,
            None => Value::Null,
        };
        items.push(json!({"id": hash, "latestEvent": event}));
    }
    Ok(respond(&state.config.http.public_url, &uri, page, items, Some(total)))
}

/// Unmerges hashes (`?id=<hash>`, repeatable): future events with them start a new
/// issue (`event:admin`).
#[utoipa::path(delete, path = "/api/0/organizations/{organization_slug}/issues/{issue_id}/hashes/", tag = "issues",
    params(("organization_slug" = String, Path), ("issue_id" = String, Path), ("id" = Vec<String>, Query)),
    responses((status = 202), (status = 400), (status = 403), (status = 404)))]
pub(crate) async fn delete_issue_hashes(
    State(state): State<AppState>,
    auth: Auth,
    Path((org_slug, id)): Path<(String, String)>,
    OriginalUri(uri): OriginalUri,
) -> Result<StatusCode, ApiError> {
    let (access, row) = org_issue_access(&state, &auth, &org_slug, &id).await?;
    access.require(Scope::EventAdmin)?;
    let params = Params::from_uri(&uri);
    let hashes: Vec<String> = params.all("id").into_iter().map(|h| h.replace('-', "").to_ascii_lowercase()).collect();
    if hashes.is_empty() {
        return Err(ApiError::bad_request("Name the hashes to unmerge with ?id=<hash>."));
    }
    state.store.unmerge_hashes(row.issue.id, &hashes).await?;
    Ok(StatusCode::ACCEPTED)
}
