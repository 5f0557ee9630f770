//! Teams, their members and projects; environments; personal notification settings.

use crate::api::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use faultline_domain::access::{OrgAccess, Scope};
use faultline_domain::projects::slugify;
use faultline_store::{ProjectId, Team};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use utoipa::ToSchema;

use super::views::ProjectOut;
use super::{org, project, Auth};
use crate::{ApiError, AppState};

async fn team_json(state: &AppState, access: &OrgAccess, team: &Team) -> Result<Value, ApiError> {
    let members = state.store.team_members(team.id).await?;
    let is_member = access.member.as_ref().is_some_and(|me| members.iter().any(|m| m.id == me.id));
    Ok(json!({
        "id": team.id.to_string(),
        "slug": team.slug,
        "name": team.slug,
        "dateCreated": team.created_at,
        "isMember": is_member,
        "memberCount": members.len(),
        "hasAccess": true,
        "isPending": false,
        "avatar": {"avatarType": "letter_avatar", "avatarUuid": null},
    }))
}

async fn find_team(state: &AppState, access: &OrgAccess, slug: &str) -> Result<Team, ApiError> {
    state.store.team(access.org.id, slug).await?.ok_or_else(ApiError::not_found)
}

pub(crate) fn team_slug(raw: &str) -> Result<String, ApiError> {
    let slug = slugify(raw);
    if slug.is_empty() {
        return Err(ApiError::bad_request("a team slug needs letters, digits, underscores or hyphens"));
    }
    Ok(slug)
}

/// The organization's teams.
#[utoipa::path(get, path = "/api/0/organizations/{organization_slug}/teams/", tag = "teams",
    params(("organization_slug" = String, Path)), responses((status = 200, body = Vec<Object>), (status = 404)))]
pub(crate) async fn list_teams(
    State(state): State<AppState>,
    auth: Auth,
    Path(slug): Path<String>,
) -> Result<Json<Vec<Value>>, ApiError> {
    let access = org(&state, &auth, &slug).await?;
    access.require(Scope::TeamRead)?;
    let mut out = Vec::new();
    for team in state.store.teams(access.org.id).await? {
        let mut t = team_json(&state, &access, &team).await?;
        let projects = state.store.team_projects(team.id).await?;
        t["projects"] = json!(projects.iter().map(|p| ProjectOut::from(p, None)).collect::<Vec<_>>());
        out.push(t);
    }
    Ok(Json(out))
}

/// Body of a team creation or rename.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct TeamIn {
    slug: Option<String>,
    name: Option<String>,
}

/// Creates a team (admins and up); its creator joins it.
#[utoipa::path(post, path = "/api/0/organizations/{organization_slug}/teams/", tag = "teams",
    params(("organization_slug" = String, Path)), request_body = TeamIn,
    responses((status = 201, body = Object), (status = 403), (status = 409)))]
pub(crate) async fn create_team(
    State(state): State<AppState>,
    auth: Auth,
    Path(slug): Path<String>,
    Json(body): Json<TeamIn>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let access = org(&state, &auth, &slug).await?;
    access.require(Scope::TeamWrite)?;
    let team_slug = team_slug(body.slug.or(body.name).as_deref().unwrap_or_default())?;
    let team = state.store.create_team(access.org.id, &team_slug).await.map_err(|e| match e {
        e if e.is_conflict() => ApiError::new(StatusCode::CONFLICT, "A team with this slug already exists."),
        e => e.into(),
    })?;
    if let Some(me) = &access.member {
        state.store.add_team_member(team.id, me.id).await?;
    }
    Ok((StatusCode::CREATED, Json(team_json(&state, &access, &team).await?)))
}

/// A team.
#[utoipa::path(get, path = "/api/0/teams/{organization_slug}/{team_slug}/", tag = "teams",
    params(("organization_slug" = String, Path), ("team_slug" = String, Path)), responses((status = 200, body = Object), (status = 404)))]
pub(crate) async fn get_team(
    State(state): State<AppState>,
    auth: Auth,
    Path((slug, team)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let access = org(&state, &auth, &slug).await?;
    access.require(Scope::TeamRead)?;
    let team = find_team(&state, &access, &team).await?;
    Ok(Json(team_json(&state, &access, &team).await?))
}

/// Renames a team (admins and up).
#[utoipa::path(put, path = "/api/0/teams/{organization_slug}/{team_slug}/", tag = "teams",
    params(("organization_slug" = String, Path), ("team_slug" = String, Path)), request_body = TeamIn,
    responses((status = 200, body = Object), (status = 403), (status = 404), (status = 409)))]
pub(crate) async fn update_team(
    State(state): State<AppState>,
    auth: Auth,
    Path((slug, team)): Path<(String, String)>,
    Json(body): Json<TeamIn>,
) -> Result<Json<Value>, ApiError> {
    let access = org(&state, &auth, &slug).await?;
    access.require(Scope::TeamWrite)?;
    let team = find_team(&state, &access, &team).await?;
    let new_slug = team_slug(body.slug.or(body.name).as_deref().unwrap_or(&team.slug))?;
    let team = state.store.rename_team(team.id, &new_slug).await.map_err(|e| match e {
        e if e.is_conflict() => ApiError::new(StatusCode::CONFLICT, "A team with this slug already exists."),
        e => e.into(),
    })?;
    Ok(Json(team_json(&state, &access, &team).await?))
}

/// Deletes a team (admins and up); its projects and members stay.
#[utoipa::path(delete, path = "/api/0/teams/{organization_slug}/{team_slug}/", tag = "teams",
    params(("organization_slug" = String, Path), ("team_slug" = String, Path)), responses((status = 204), (status = 403), (status = 404)))]
pub(crate) async fn delete_team(
    State(state): State<AppState>,
    auth: Auth,
    Path((slug, team)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let access = org(&state, &auth, &slug).await?;
    access.require(Scope::TeamAdmin)?;
    let team = find_team(&state, &access, &team).await?;
    state.store.delete_team(team.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A team's members.
#[utoipa::path(get, path = "/api/0/teams/{organization_slug}/{team_slug}/members/", tag = "teams",
    params(("organization_slug" = String, Path), ("team_slug" = String, Path)), responses((status = 200, body = Vec<Object>), (status = 404)))]
pub(crate) async fn team_members(
    State(state): State<AppState>,
    auth: Auth,
    Path((slug, team)): Path<(String, String)>,
) -> Result<Json<Vec<Value>>, ApiError> {
    let access = org(&state, &auth, &slug).await?;
    access.require(Scope::TeamRead)?;
    let team = find_team(&state, &access, &team).await?;
    let members = state.store.team_members(team.id).await?;
    Ok(Json(
        members
            .iter()
            .map(|m| json!({"id": m.id.to_string(), "email": m.email(), "role": m.role().as_str(), "pending": m.pending()}))
            .collect(),
    ))
}

/// A team's projects.
#[utoipa::path(get, path = "/api/0/teams/{organization_slug}/{team_slug}/projects/", tag = "teams",
    params(("organization_slug" = String, Path), ("team_slug" = String, Path)), responses((status = 200, body = Vec<ProjectOut>), (status = 404)))]
pub(crate) async fn team_projects(
    State(state): State<AppState>,
    auth: Auth,
    Path((slug, team)): Path<(String, String)>,
) -> Result<Json<Vec<ProjectOut>>, ApiError> {
    let access = org(&state, &auth, &slug).await?;
    access.require(Scope::ProjectRead)?;
    let team = find_team(&state, &access, &team).await?;
    let projects = state.store.team_projects(team.id).await?;
    Ok(Json(projects.iter().map(|p| ProjectOut::from(p, Some(&access.org))).collect()))
}

/// Body of a project creation in a team.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct TeamProjectIn {
    name: String,
    platform: Option<String>,
}

/// Creates a project owned by a team (admins and up), as GlitchTip's UI does.
#[utoipa::path(post, path = "/api/0/teams/{organization_slug}/{team_slug}/projects/", tag = "teams",
    params(("organization_slug" = String, Path), ("team_slug" = String, Path)), request_body = TeamProjectIn,
    responses((status = 201, body = ProjectOut), (status = 403), (status = 404), (status = 409)))]
pub(crate) async fn create_team_project(
    State(state): State<AppState>,
    auth: Auth,
    Path((slug, team)): Path<(String, String)>,
    Json(body): Json<TeamProjectIn>,
) -> Result<(StatusCode, Json<ProjectOut>), ApiError> {
    let access = org(&state, &auth, &slug).await?;
    let team = find_team(&state, &access, &team).await?;
    let (project, _) =
        faultline_domain::projects::create(&state.store, &access, &body.name, body.platform.as_deref(), Some(team.id))
            .await?;
    Ok((StatusCode::CREATED, Json(ProjectOut::from(&project, Some(&access.org)))))
}

/// The teams with access to a project.
#[utoipa::path(get, path = "/api/0/projects/{organization_slug}/{project_slug}/teams/", tag = "teams",
    params(("organization_slug" = String, Path), ("project_slug" = String, Path)), responses((status = 200, body = Vec<Object>), (status = 404)))]
pub(crate) async fn project_teams(
    State(state): State<AppState>,
    auth: Auth,
    Path((slug, project_slug)): Path<(String, String)>,
) -> Result<Json<Vec<Value>>, ApiError> {
    let access = org(&state, &auth, &slug).await?;
    access.require(Scope::ProjectRead)?;
    let p = project(&state, &access, &project_slug).await?;
    let mut out = Vec::new();
    for team in state.store.project_teams(p.id).await? {
        out.push(team_json(&state, &access, &team).await?);
    }
    Ok(Json(out))
}

/// Gives a team access to a project (admins and up).
#[utoipa::path(post, path = "/api/0/projects/{organization_slug}/{project_slug}/teams/{team_slug}/", tag = "teams",
    params(("organization_slug" = String, Path), ("project_slug" = String, Path), ("team_slug" = String, Path)),
    responses((status = 201, body = ProjectOut), (status = 403), (status = 404)))]
pub(crate) async fn add_project_team(
    State(state): State<AppState>,
    auth: Auth,
    Path((slug, project_slug, team)): Path<(String, String, String)>,
) -> Result<(StatusCode, Json<ProjectOut>), ApiError> {
    let access = org(&state, &auth, &slug).await?;
    access.require(Scope::ProjectWrite)?;
    let p = project(&state, &access, &project_slug).await?;
    let team = find_team(&state, &access, &team).await?;
    state.store.add_team_project(team.id, p.id).await?;
    Ok((StatusCode::CREATED, Json(ProjectOut::from(&p, Some(&access.org)))))
}

/// Takes a team's access to a project away (admins and up).
#[utoipa::path(delete, path = "/api/0/projects/{organization_slug}/{project_slug}/teams/{team_slug}/", tag = "teams",
    params(("organization_slug" = String, Path), ("project_slug" = String, Path), ("team_slug" = String, Path)),
    responses((status = 200, body = ProjectOut), (status = 403), (status = 404)))]
pub(crate) async fn remove_project_team(
    State(state): State<AppState>,
    auth: Auth,
    Path((slug, project_slug, team)): Path<(String, String, String)>,
) -> Result<Json<ProjectOut>, ApiError> {
    let access = org(&state, &auth, &slug).await?;
    access.require(Scope::ProjectWrite)?;
    let p = project(&state, &access, &project_slug).await?;
    let team = find_team(&state, &access, &team).await?;
    state.store.remove_team_project(team.id, p.id).await?;
    Ok(Json(ProjectOut::from(&p, Some(&access.org))))
}

/// The organization's environments.
#[utoipa::path(get, path = "/api/0/organizations/{organization_slug}/environments/", tag = "environments",
    params(("organization_slug" = String, Path)), responses((status = 200, body = Vec<Object>), (status = 404)))]
pub(crate) async fn organization_environments(
    State(state): State<AppState>,
    auth: Auth,
    Path(slug): Path<String>,
) -> Result<Json<Vec<Value>>, ApiError> {
    let access = org(&state, &auth, &slug).await?;
    access.require(Scope::ProjectRead)?;
    let envs = state.store.organization_environments(access.org.id).await?;
    Ok(Json(envs.iter().map(|(id, name)| json!({"id": id.to_string(), "name": name})).collect()))
}

/// `?visibility=all|visible|hidden` (default visible).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub(crate) struct VisibilityQuery {
    visibility: Option<String>,
}

/// A project's environments.
#[utoipa::path(get, path = "/api/0/projects/{organization_slug}/{project_slug}/environments/", tag = "environments",
    params(("organization_slug" = String, Path), ("project_slug" = String, Path), VisibilityQuery),
    responses((status = 200, body = Vec<Object>), (status = 404)))]
pub(crate) async fn project_environments(
    State(state): State<AppState>,
    auth: Auth,
    Path((slug, project_slug)): Path<(String, String)>,
    Query(q): Query<VisibilityQuery>,
) -> Result<Json<Vec<Value>>, ApiError> {
    let access = org(&state, &auth, &slug).await?;
    access.require(Scope::ProjectRead)?;
    let p = project(&state, &access, &project_slug).await?;
    let visibility = q.visibility.as_deref().unwrap_or("visible");
    let envs = state.store.project_environments(p.id).await?;
    Ok(Json(
        envs.iter()
            .filter(|e| match visibility {
                "all" => true,
                "hidden" => e.is_hidden,
                _ => !e.is_hidden,
            })
            .map(|e| json!({"id": e.id.to_string(), "name": e.name, "isHidden": e.is_hidden}))
            .collect(),
    ))
}

/// Body of an environment update.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EnvironmentIn {
    is_hidden: bool,
}

/// Hides or shows an environment in a project (admins and up).
#[utoipa::path(put, path = "/api/0/projects/{organization_slug}/{project_slug}/environments/{name}/", tag = "environments",
    params(("organization_slug" = String, Path), ("project_slug" = String, Path), ("name" = String, Path)),
    request_body = EnvironmentIn, responses((status = 200, body = Object), (status = 403), (status = 404)))]
pub(crate) async fn update_environment(
    State(state): State<AppState>,
    auth: Auth,
    Path((slug, project_slug, name)): Path<(String, String, String)>,
    Json(body): Json<EnvironmentIn>,
) -> Result<Json<Value>, ApiError> {
    let access = org(&state, &auth, &slug).await?;
    access.require(Scope::ProjectWrite)?;
    let p = project(&state, &access, &project_slug).await?;
    state.store.set_environment_hidden(p.id, &name, body.is_hidden).await?;
    Ok(Json(json!({"name": name, "isHidden": body.is_hidden})))
}

/// The caller's per-project alert settings: `{"<project id>": 0|1}` (absent = default).
#[utoipa::path(get, path = "/api/0/users/{user_id}/notifications/alerts/", tag = "users",
    params(("user_id" = String, Path)), responses((status = 200, body = Object)))]
pub(crate) async fn get_project_alerts(
    State(state): State<AppState>,
    auth: Auth,
    Path(user): Path<String>,
) -> Result<Json<Value>, ApiError> {
    own_user(&auth, &user)?;
    let rows = state.store.user_project_alerts(auth.principal.user.id).await?;
    Ok(Json(Value::Object(rows.into_iter().map(|(p, s)| (p.to_string(), json!(s))).collect::<Map<_, _>>())))
}

/// Sets per-project alert settings: `{"<project id>": 1 (on) | 0 (off) | -1 (default)}`.
#[utoipa::path(put, path = "/api/0/users/{user_id}/notifications/alerts/", tag = "users",
    params(("user_id" = String, Path)), request_body = Object, responses((status = 200, body = Object), (status = 400)))]
pub(crate) async fn set_project_alerts(
    State(state): State<AppState>,
    auth: Auth,
    Path(user): Path<String>,
    Json(body): Json<Map<String, Value>>,
) -> Result<Json<Value>, ApiError> {
    own_user(&auth, &user)?;
    let me = &auth.principal.user;
    let visible: Vec<ProjectId> = {
        let mut ids = Vec::new();
        for org in state.store.organizations_of(Some(me.id)).await? {
            ids.extend(state.store.organization_projects(org.id).await?.into_iter().map(|p| p.id));
        }
        ids
    };
    for (project, status) in body {
        let id: ProjectId =
            project.parse().map_err(|_| ApiError::bad_request(format!("{project:?} is not a project id")))?;
        if !visible.contains(&id) {
            return Err(ApiError::not_found());
        }
        let status = match status.as_i64() {
            Some(-1) => None,
            Some(s @ (0 | 1)) => Some(s as i16),
            _ => return Err(ApiError::bad_request("use 1 (on), 0 (off) or -1 (default)")),
        };
        state.store.set_user_project_alert(me.id, id, status).await?;
    }
    get_project_alerts(State(state), auth, Path(user)).await
}

fn own_user(auth: &Auth, user: &str) -> Result<(), ApiError> {
    if user == "me" || user == auth.principal.user.id.to_string() {
        Ok(())
    } else {
        Err(ApiError::not_found())
    }
}
