//! Onboarding: create an organization, then a project (name, platform, team), then
//! its settings page shows the DSN and waits for the first event; plus the list of an
//! organization's projects.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Json, Router};
use faultline_domain::access::{OrgAccess, Scope};
use faultline_store::TeamId;
use serde::Deserialize;
use serde_json::{json, Value};

use super::home::ProjectCard;
use super::settings::project::PLATFORMS;
use super::settings::{access, done, principal, refusal, Done};
use super::{check_csrf, page, Chrome, Viewer};
use crate::{ApiError, AppState};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/organizations/new", get(new_org_page).post(create_org))
        .route("/{org}/projects", get(projects_page))
        .route("/{org}/settings/projects/new", get(new_project_page).post(create_project))
        .route("/{org}/settings/projects/{slug}/first-event", get(first_event))
}

#[derive(Template)]
#[template(path = "onboarding/new_organization.html")]
struct NewOrgPage {
    chrome: Chrome,
    name: String,
    allowed: bool,
    error: Option<String>,
}

/// Whether the viewer may create an organization (as `organizations::create` decides).
async fn creation_allowed(state: &AppState, viewer: &Viewer) -> Result<bool, ApiError> {
    Ok(state.config.features.organization_creation
        || viewer.user.is_superuser
        || state.store.organization_count().await? == 0)
}

async fn new_org_page(State(state): State<AppState>, viewer: Viewer) -> Result<Response, ApiError> {
    let allowed = creation_allowed(&state, &viewer).await?;
    let chrome = Chrome::for_viewer(&state, &viewer, None).await?;
    Ok(page(StatusCode::OK, &NewOrgPage { chrome, name: String::new(), allowed, error: None }))
}

#[derive(Debug, Deserialize)]
struct NameForm {
    #[serde(default)]
    csrfmiddlewaretoken: String,
    #[serde(default)]
    name: String,
}

async fn create_org(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<NameForm>,
) -> Result<Response, ApiError> {
    check_csrf(&viewer, &form.csrfmiddlewaretoken)?;
    let created = faultline_domain::organizations::create(
        &state.store,
        &principal(&viewer),
        &form.name,
        state.config.features.organization_creation,
    )
    .await;
    let error = match created {
        Ok(org) => return Ok(done(&state, &format!("/{}/settings/projects/new", org.slug), "org-created")),
        Err(e) => refusal(e)?,
    };
    let allowed = creation_allowed(&state, &viewer).await?;
    let chrome = Chrome::for_viewer(&state, &viewer, None).await?;
    Ok(page(StatusCode::BAD_REQUEST, &NewOrgPage { chrome, name: form.name, allowed, error: Some(error) }))
}

#[derive(Template)]
#[template(path = "onboarding/projects.html")]
struct ProjectsPage {
    chrome: Chrome,
    slug: String,
    org_name: String,
    projects: Vec<ProjectCard>,
    can_create: bool,
}

async fn projects_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(slug): Path<String>,
) -> Result<Response, ApiError> {
    let access = access(&state, &viewer, &slug).await?;
    access.require(Scope::ProjectRead)?;
    let projects = state
        .store
        .organization_projects(access.org.id)
        .await?
        .into_iter()
        .map(|p| ProjectCard {
            id: p.id.0,
            name: p.name,
            slug: p.slug,
            platform: p.platform.unwrap_or_else(|| "other".into()),
            created: p.created_at.to_datetime().format("%Y-%m-%d").to_string(),
        })
        .collect();
    let chrome = Chrome::for_viewer(&state, &viewer, Some(&slug)).await?;
    Ok(page(
        StatusCode::OK,
        &ProjectsPage {
            chrome,
            slug: access.org.slug.clone(),
            org_name: access.org.name.clone(),
            projects,
            can_create: access.scopes.contains(Scope::ProjectWrite),
        },
    ))
}

struct PlatformChoice {
    value: &'static str,
    label: &'static str,
    checked: bool,
}

struct TeamChoice {
    slug: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "onboarding/new_project.html")]
struct NewProjectPage {
    chrome: Chrome,
    slug: String,
    org_name: String,
    name: String,
    platforms: Vec<PlatformChoice>,
    teams: Vec<TeamChoice>,
    can_create: bool,
    notice: Option<String>,
    error: Option<String>,
}

#[allow(clippy::too_many_arguments)]
async fn render_new_project(
    state: &AppState,
    viewer: &Viewer,
    access: &OrgAccess,
    name: String,
    platform: &str,
    team: &str,
    notice: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let teams = state
        .store
        .teams(access.org.id)
        .await?
        .into_iter()
        .map(|t| TeamChoice { selected: t.slug == team, slug: t.slug })
        .collect();
    let platforms =
        PLATFORMS.iter().map(|(value, label)| PlatformChoice { value, label, checked: *value == platform }).collect();
    let chrome = Chrome::for_viewer(state, viewer, Some(&access.org.slug)).await?;
    Ok(page(
        status,
        &NewProjectPage {
            chrome,
            slug: access.org.slug.clone(),
            org_name: access.org.name.clone(),
            name,
            platforms,
            teams,
            can_create: access.scopes.contains(Scope::ProjectWrite),
            notice,
            error,
        },
    ))
}

async fn new_project_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(slug): Path<String>,
    Query(q): Query<Done>,
) -> Result<Response, ApiError> {
    let access = access(&state, &viewer, &slug).await?;
    render_new_project(&state, &viewer, &access, String::new(), "", "", q.notice(), None, StatusCode::OK).await
}

#[derive(Debug, Deserialize)]
struct ProjectForm {
    #[serde(default)]
    csrfmiddlewaretoken: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    platform: String,
    #[serde(default)]
    team: String,
}

async fn create_project(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(slug): Path<String>,
    Form(form): Form<ProjectForm>,
) -> Result<Response, ApiError> {
    check_csrf(&viewer, &form.csrfmiddlewaretoken)?;
    let access = access(&state, &viewer, &slug).await?;
    let team: Option<TeamId> = if form.team.is_empty() {
        None
    } else {
        Some(state.store.team(access.org.id, &form.team).await?.ok_or_else(ApiError::not_found)?.id)
    };
    let platform = Some(form.platform.as_str()).filter(|p| PLATFORMS.iter().any(|(v, _)| v == p) && *p != "other");
    match faultline_domain::projects::create(&state.store, &access, &form.name, platform, team).await {
        Ok((project, _)) => Ok(done(&state, &format!("/{slug}/settings/projects/{}", project.slug), "project-created")),
        Err(e) => {
            let msg = refusal(e)?;
            render_new_project(
                &state,
                &viewer,
                &access,
                form.name,
                &form.platform,
                &form.team,
                None,
                Some(msg),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
    }
}

/// `{"received": bool}`: whether the project has received its first event (polled by
/// the project page every few seconds until it has).
async fn first_event(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((org, slug)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let access = access(&state, &viewer, &org).await?;
    access.require(Scope::ProjectRead)?;
    let project = crate::api::project(&state, &access, &slug).await?;
    Ok(Json(json!({ "received": project.first_event_at.is_some() })))
}
