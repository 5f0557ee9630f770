//! Projects and their client keys.

use crate::api::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use faultline_domain::access::Scope;
use serde::Deserialize;
use utoipa::ToSchema;

use super::organizations::require_token_scope;
use super::views::{KeyOut, ProjectOut};
use super::{org, project, Auth};
use crate::{ApiError, AppState};

/// Every project the caller can see, with its organization (GitLab's project picker).
#[utoipa::path(get, path = "/api/0/projects/", tag = "projects", responses((status = 200, body = Vec<ProjectOut>)))]
pub(crate) async fn list_all_projects(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<Json<Vec<ProjectOut>>, ApiError> {
    require_token_scope(&auth, Scope::ProjectRead)?;
    let mut out = Vec::new();
    for org in state.store.organizations_of(Some(auth.principal.user.id)).await? {
        for p in state.store.organization_projects(org.id).await? {
            out.push(ProjectOut::from(&p, Some(&org)));
        }
    }
    Ok(Json(out))
}

/// An organization's projects.
#[utoipa::path(get, path = "/api/0/organizations/{organization_slug}/projects/", tag = "projects",
    params(("organization_slug" = String, Path)), responses((status = 200, body = Vec<ProjectOut>), (status = 404)))]
pub(crate) async fn list_organization_projects(
    State(state): State<AppState>,
    auth: Auth,
    Path(slug): Path<String>,
) -> Result<Json<Vec<ProjectOut>>, ApiError> {
    let access = org(&state, &auth, &slug).await?;
    access.require(Scope::ProjectRead)?;
    let projects = state.store.organization_projects(access.org.id).await?;
    Ok(Json(projects.iter().map(|p| ProjectOut::from(p, Some(&access.org))).collect()))
}

/// Body of a project creation.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct NewProjectIn {
    name: String,
    platform: Option<String>,
}

/// Creates a project (admins and up) with a default key.
#[utoipa::path(post, path = "/api/0/organizations/{organization_slug}/projects/", tag = "projects",
    params(("organization_slug" = String, Path)), request_body = NewProjectIn,
    responses((status = 201, body = ProjectOut), (status = 403), (status = 404), (status = 409)))]
pub(crate) async fn create_project(
    State(state): State<AppState>,
    auth: Auth,
    Path(slug): Path<String>,
    Json(body): Json<NewProjectIn>,
) -> Result<(StatusCode, Json<ProjectOut>), ApiError> {
    let access = org(&state, &auth, &slug).await?;
    let (project, _) =
        faultline_domain::projects::create(&state.store, &access, &body.name, body.platform.as_deref(), None).await?;
    Ok((StatusCode::CREATED, Json(ProjectOut::from(&project, Some(&access.org)))))
}

/// A project.
#[utoipa::path(get, path = "/api/0/projects/{organization_slug}/{project_slug}/", tag = "projects",
    params(("organization_slug" = String, Path), ("project_slug" = String, Path)),
    responses((status = 200, body = ProjectOut), (status = 404)))]
pub(crate) async fn get_project(
    State(state): State<AppState>,
    auth: Auth,
    Path((org_slug, project_slug)): Path<(String, String)>,
) -> Result<Json<ProjectOut>, ApiError> {
    let access = org(&state, &auth, &org_slug).await?;
    access.require(Scope::ProjectRead)?;
    let p = project(&state, &access, &project_slug).await?;
    Ok(Json(ProjectOut::from(&p, Some(&access.org))))
}

/// Body of a project update; absent fields keep their value.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ProjectUpdate {
    name: Option<String>,
    slug: Option<String>,
    platform: Option<String>,
    event_throttle_rate: Option<i32>,
    #[serde(rename = "scrubIPAddresses")]
    scrub_ip_addresses: Option<bool>,
    scrub_data: Option<bool>,
    /// `default` or `glitchtip`.
    grouping: Option<String>,
}

/// Changes a project (admins and up).
#[utoipa::path(put, path = "/api/0/projects/{organization_slug}/{project_slug}/", tag = "projects",
    params(("organization_slug" = String, Path), ("project_slug" = String, Path)), request_body = ProjectUpdate,
    responses((status = 200, body = ProjectOut), (status = 400), (status = 403), (status = 404)))]
pub(crate) async fn update_project(
    State(state): State<AppState>,
    auth: Auth,
    Path((org_slug, project_slug)): Path<(String, String)>,
    Json(body): Json<ProjectUpdate>,
) -> Result<Json<ProjectOut>, ApiError> {
    let access = org(&state, &auth, &org_slug).await?;
    let p = project(&state, &access, &project_slug).await?;
    let changes = faultline_domain::projects::ProjectChanges {
        name: body.name,
        slug: body.slug,
        platform: body.platform,
        event_throttle_rate: body.event_throttle_rate,
        scrub_ip_addresses: body.scrub_ip_addresses,
        scrub_data: body.scrub_data,
        grouping: body.grouping,
    };
    let updated = faultline_domain::projects::update(&state.store, &access, p, changes).await?;
    state.ingest.keys.invalidate();
    Ok(Json(ProjectOut::from(&updated, Some(&access.org))))
}

/// Deletes a project (admins and up). It disappears at once; its events are purged in
/// the background.
#[utoipa::path(delete, path = "/api/0/projects/{organization_slug}/{project_slug}/", tag = "projects",
    params(("organization_slug" = String, Path), ("project_slug" = String, Path)),
    responses((status = 204), (status = 403), (status = 404)))]
pub(crate) async fn delete_project(
    State(state): State<AppState>,
    auth: Auth,
    Path((org_slug, project_slug)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let access = org(&state, &auth, &org_slug).await?;
    access.require(Scope::ProjectAdmin)?;
    let p = project(&state, &access, &project_slug).await?;
    faultline_domain::projects::delete(&state.store, &access, &p).await?;
    state.ingest.keys.invalidate();
    Ok(StatusCode::NO_CONTENT)
}

/// A project's client keys.
#[utoipa::path(get, path = "/api/0/projects/{organization_slug}/{project_slug}/keys/", tag = "keys",
    params(("organization_slug" = String, Path), ("project_slug" = String, Path)),
    responses((status = 200, body = Vec<KeyOut>), (status = 404)))]
pub(crate) async fn list_keys(
    State(state): State<AppState>,
    auth: Auth,
    Path((org_slug, project_slug)): Path<(String, String)>,
) -> Result<Json<Vec<KeyOut>>, ApiError> {
    let access = org(&state, &auth, &org_slug).await?;
    access.require(Scope::ProjectRead)?;
    let p = project(&state, &access, &project_slug).await?;
    let keys = state.store.project_keys(p.id).await?;
    let http = &state.config.http;
    Ok(Json(keys.iter().map(|k| KeyOut::from(k, &http.public_url, &http.base_path)).collect()))
}

/// Body of a key creation or update.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct KeyIn {
    name: Option<String>,
    label: Option<String>,
    is_active: Option<bool>,
    /// `{"count": n, "window": seconds}`, or null for no limit.
    #[schema(value_type = Object, nullable)]
    rate_limit: Option<Option<RateLimitIn>>,
}

/// A key's rate limit.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct RateLimitIn {
    count: Option<i32>,
    window: Option<i32>,
}

fn rate_limit(input: Option<Option<RateLimitIn>>, current: Option<(i32, i32)>) -> Result<Option<(i32, i32)>, ApiError> {
    match input {
        None => Ok(current),
        Some(None) => Ok(None),
        Some(Some(RateLimitIn { count: None, .. } | RateLimitIn { window: None, .. })) => Ok(None),
        Some(Some(RateLimitIn { count: Some(count), window: Some(window) })) => {
            Ok(Some(faultline_domain::projects::check_rate_limit(count, window)?))
        }
    }
}

/// Creates a key (admins and up).
#[utoipa::path(post, path = "/api/0/projects/{organization_slug}/{project_slug}/keys/", tag = "keys",
    params(("organization_slug" = String, Path), ("project_slug" = String, Path)), request_body = KeyIn,
    responses((status = 201, body = KeyOut), (status = 403), (status = 404)))]
pub(crate) async fn create_key(
    State(state): State<AppState>,
    auth: Auth,
    Path((org_slug, project_slug)): Path<(String, String)>,
    Json(body): Json<KeyIn>,
) -> Result<(StatusCode, Json<KeyOut>), ApiError> {
    let access = org(&state, &auth, &org_slug).await?;
    access.require(Scope::ProjectWrite)?;
    let p = project(&state, &access, &project_slug).await?;
    let label = body.name.or(body.label).unwrap_or_else(|| "Default".into());
    let mut key = state.store.create_project_key(p.id, label.trim()).await?;
    let limit = rate_limit(body.rate_limit, None)?;
    if limit.is_some() || body.is_active == Some(false) {
        key = state.store.update_project_key(key.id, &key.label, body.is_active.unwrap_or(true), limit).await?;
    }
    let http = &state.config.http;
    Ok((StatusCode::CREATED, Json(KeyOut::from(&key, &http.public_url, &http.base_path))))
}

async fn key_of(
    state: &AppState,
    auth: &Auth,
    org_slug: &str,
    project_slug: &str,
    key: &str,
    scope: Scope,
) -> Result<faultline_store::ProjectKey, ApiError> {
    let access = org(state, auth, org_slug).await?;
    access.require(scope)?;
    let p = project(state, &access, project_slug).await?;
    let public = faultline_protocol::normalize_key(key).ok_or_else(ApiError::not_found)?;
    state.store.project_key(p.id, &public).await?.ok_or_else(ApiError::not_found)
}

/// A key.
#[utoipa::path(get, path = "/api/0/projects/{organization_slug}/{project_slug}/keys/{key_id}/", tag = "keys",
    params(("organization_slug" = String, Path), ("project_slug" = String, Path), ("key_id" = String, Path)),
    responses((status = 200, body = KeyOut), (status = 404)))]
pub(crate) async fn get_key(
    State(state): State<AppState>,
    auth: Auth,
    Path((org_slug, project_slug, key_id)): Path<(String, String, String)>,
) -> Result<Json<KeyOut>, ApiError> {
    let key = key_of(&state, &auth, &org_slug, &project_slug, &key_id, Scope::ProjectRead).await?;
    let http = &state.config.http;
    Ok(Json(KeyOut::from(&key, &http.public_url, &http.base_path)))
}

/// Renames, disables or rate-limits a key (admins and up).
#[utoipa::path(put, path = "/api/0/projects/{organization_slug}/{project_slug}/keys/{key_id}/", tag = "keys",
    params(("organization_slug" = String, Path), ("project_slug" = String, Path), ("key_id" = String, Path)),
    request_body = KeyIn, responses((status = 200, body = KeyOut), (status = 403), (status = 404)))]
pub(crate) async fn update_key(
    State(state): State<AppState>,
    auth: Auth,
    Path((org_slug, project_slug, key_id)): Path<(String, String, String)>,
    Json(body): Json<KeyIn>,
) -> Result<Json<KeyOut>, ApiError> {
    let key = key_of(&state, &auth, &org_slug, &project_slug, &key_id, Scope::ProjectWrite).await?;
    let current = key.rate_limit_count.zip(key.rate_limit_window);
    let label = body.name.or(body.label).unwrap_or_else(|| key.label.clone());
    let updated = state
        .store
        .update_project_key(
            key.id,
            label.trim(),
            body.is_active.unwrap_or(key.is_active),
            rate_limit(body.rate_limit, current)?,
        )
        .await?;
    state.ingest.keys.invalidate();
    let http = &state.config.http;
    Ok(Json(KeyOut::from(&updated, &http.public_url, &http.base_path)))
}

/// Deletes a key (admins and up); SDKs using it are refused from then on.
#[utoipa::path(delete, path = "/api/0/projects/{organization_slug}/{project_slug}/keys/{key_id}/", tag = "keys",
    params(("organization_slug" = String, Path), ("project_slug" = String, Path), ("key_id" = String, Path)),
    responses((status = 204), (status = 403), (status = 404)))]
pub(crate) async fn delete_key(
    State(state): State<AppState>,
    auth: Auth,
    Path((org_slug, project_slug, key_id)): Path<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    let key = key_of(&state, &auth, &org_slug, &project_slug, &key_id, Scope::ProjectAdmin).await?;
    state.store.delete_project_key(key.id).await?;
    state.ingest.keys.invalidate();
    Ok(StatusCode::NO_CONTENT)
}
