//! Organization settings: rename and delete, members and invitations, teams; and, in
//! [`project`], a project's settings with its DSN, setup snippets and client keys.
//!
//! Every page resolves the organization through [`faultline_domain::access::org_access`]
//! like the REST API (another organization's page is a 404) and every form post checks
//! the session's CSRF token, re-renders with the error inline when the input is refused,
//! and redirects with a short notice on success.

mod alerts;
pub(crate) mod project;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use faultline_domain::access::{org_access, OrgAccess, Principal, Scope};
use faultline_domain::{members, organizations, DomainError};
use faultline_store::{MemberId, MemberRow, Role};
use serde::Deserialize;

use super::{check_csrf, page, Chrome, Viewer};
use crate::api::members::{role_name, send_invitation};
use crate::api::teams::team_slug;
use crate::{ApiError, AppState};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/{org}/settings", get(org_page).post(rename_org))
        .route("/{org}/settings/delete", post(delete_org))
        .route("/{org}/settings/members", get(members_page).post(invite))
        .route("/{org}/settings/members/{id}/role", post(change_role))
        .route("/{org}/settings/members/{id}/remove", post(remove_member))
        .route("/{org}/settings/members/{id}/owner", post(make_owner))
        .route("/{org}/settings/members/{id}/resend", post(resend))
        .route("/{org}/settings/teams", get(teams_page).post(create_team))
        .route("/{org}/settings/teams/{team}", get(team_page))
        .route("/{org}/settings/teams/{team}/delete", post(delete_team))
        .route("/{org}/settings/teams/{team}/rename", post(rename_team))
        .route("/{org}/settings/teams/{team}/join", post(join_team))
        .route("/{org}/settings/teams/{team}/leave", post(leave_team))
        .route("/{org}/settings/teams/{team}/members", post(add_team_member))
        .route("/{org}/settings/teams/{team}/members/{id}/remove", post(remove_team_member))
        .route("/{org}/settings/teams/{team}/projects", post(add_team_project))
        .route("/{org}/settings/teams/{team}/projects/{project}/remove", post(remove_team_project))
        .merge(project::routes())
        .merge(alerts::routes())
}

// ---- shared by the settings, onboarding and profile pages ----

/// The viewer as the principal the domain functions take (a session: roles decide).
pub(crate) fn principal(viewer: &Viewer) -> Principal {
    Principal { user: viewer.user.clone(), token_scopes: None }
}

/// The viewer's access to an organization; not a member → 404.
pub(crate) async fn access(state: &AppState, viewer: &Viewer, slug: &str) -> Result<OrgAccess, ApiError> {
    Ok(org_access(&state.store, &principal(viewer), slug).await?)
}

/// A refusal to show next to the form; anything else is an error response.
pub(crate) fn refusal(e: DomainError) -> Result<String, ApiError> {
    match e {
        DomainError::Invalid(msg) | DomainError::Conflict(msg) | DomainError::Forbidden(msg) => Ok(msg),
        e => Err(e.into()),
    }
}

/// `?done=<code>` after a successful form post.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Done {
    pub done: Option<String>,
}

impl Done {
    /// The notice for the code (unknown codes show nothing).
    pub fn notice(&self) -> Option<String> {
        let text = match self.done.as_deref()? {
            "org-created" => "Organization created. Now create its first project.",
            "org-saved" => "Organization saved.",
            "project-created" => "Project created. Set up your SDK with the DSN below.",
            "project-saved" => "Project saved.",
            "key-created" => "Key created.",
            "key-saved" => "Key saved.",
            "key-rotated" => "New key created; the old key is disabled.",
            "key-deleted" => "Key deleted.",
            "env-saved" => "Environment saved.",
            "invited" => "Invitation sent.",
            "resent" => "Invitation sent again.",
            "role-changed" => "Role changed.",
            "removed" => "Member removed.",
            "owner" => "Ownership transferred.",
            "team-created" => "Team created.",
            "team-deleted" => "Team deleted.",
            "team-saved" => "Team saved.",
            "profile-saved" => "Profile saved.",
            "password-changed" => "Password changed.",
            "confirmation-sent" => "A confirmation email is on its way.",
            "notifications-saved" => "Notification settings saved.",
            "token-deleted" => "Token deleted.",
            _ => return None,
        };
        Some(text.to_string())
    }
}

/// Redirects to `path` (below the base path) with a notice code.
pub(crate) fn done(state: &AppState, path: &str, code: &str) -> Response {
    Redirect::to(&format!("{}{path}?done={code}", state.config.http.base_path)).into_response()
}

/// Just the CSRF token.
#[derive(Debug, Deserialize)]
pub(crate) struct CsrfForm {
    #[serde(default)]
    pub csrfmiddlewaretoken: String,
}

fn date(t: faultline_store::Timestamp) -> String {
    t.to_datetime().format("%Y-%m-%d").to_string()
}

// ---- organization ----

#[derive(Template)]
#[template(path = "settings/organization.html")]
struct OrgPage {
    chrome: Chrome,
    slug: String,
    name: String,
    can_write: bool,
    can_delete: bool,
    notice: Option<String>,
    error: Option<String>,
}

async fn render_org(
    state: &AppState,
    viewer: &Viewer,
    access: &OrgAccess,
    notice: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let chrome = Chrome::for_viewer(state, viewer, Some(&access.org.slug)).await?;
    Ok(page(
        status,
        &OrgPage {
            chrome,
            slug: access.org.slug.clone(),
            name: access.org.name.clone(),
            can_write: access.scopes.contains(Scope::OrgWrite),
            can_delete: access.scopes.contains(Scope::OrgAdmin),
            notice,
            error,
        },
    ))
}

async fn org_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(slug): Path<String>,
    Query(q): Query<Done>,
) -> Result<Response, ApiError> {
    let access = access(&state, &viewer, &slug).await?;
    render_org(&state, &viewer, &access, q.notice(), None, StatusCode::OK).await
}

#[derive(Debug, Deserialize)]
struct NameForm {
    #[serde(default)]
    csrfmiddlewaretoken: String,
    #[serde(default)]
    name: String,
}

async fn rename_org(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(slug): Path<String>,
    Form(form): Form<NameForm>,
) -> Result<Response, ApiError> {
    check_csrf(&viewer, &form.csrfmiddlewaretoken)?;
    let access = access(&state, &viewer, &slug).await?;
    match organizations::update(&state.store, &access, Some(&form.name), None, None).await {
        Ok(_) => {
            state.ingest.keys.invalidate();
            Ok(done(&state, &format!("/{slug}/settings"), "org-saved"))
        }
        Err(e) => render_org(&state, &viewer, &access, None, Some(refusal(e)?), StatusCode::BAD_REQUEST).await,
    }
}

async fn delete_org(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(slug): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ApiError> {
    check_csrf(&viewer, &form.csrfmiddlewaretoken)?;
    let access = access(&state, &viewer, &slug).await?;
    match organizations::delete(&state.store, &access).await {
        Ok(()) => {
            state.ingest.keys.invalidate();
            Ok(Redirect::to(&format!("{}/", state.config.http.base_path)).into_response())
        }
        Err(e) => render_org(&state, &viewer, &access, None, Some(refusal(e)?), StatusCode::FORBIDDEN).await,
    }
}

// ---- members ----

struct MemberView {
    id: String,
    email: String,
    name: String,
    role: &'static str,
    role_name: &'static str,
    pending: bool,
    is_me: bool,
    teams: String,
    joined: String,
}

struct RoleOption {
    value: &'static str,
    label: &'static str,
    description: &'static str,
}

const ROLES: [RoleOption; 4] = [
    RoleOption { value: "member", label: "Member", description: "Can view and act on events." },
    RoleOption { value: "admin", label: "Admin", description: "Admin on own teams; can create teams and projects." },
    RoleOption { value: "manager", label: "Manager", description: "Admin on all teams, plus member management." },
    RoleOption { value: "owner", label: "Owner", description: "Unrestricted access to the organization." },
];

#[derive(Template)]
#[template(path = "settings/members.html")]
struct MembersPage {
    chrome: Chrome,
    slug: String,
    org_name: String,
    members: Vec<MemberView>,
    roles: &'static [RoleOption],
    teams: Vec<String>,
    can_invite: bool,
    can_remove: bool,
    is_owner: bool,
    email: String,
    notice: Option<String>,
    error: Option<String>,
}

async fn member_views(state: &AppState, access: &OrgAccess) -> Result<Vec<MemberView>, ApiError> {
    let me = access.member.as_ref().map(|m| m.id);
    let mut out = Vec::new();
    for m in state.store.members(access.org.id).await? {
        let teams = state.store.member_team_slugs(m.id).await?.join(", ");
        out.push(MemberView {
            id: m.id.to_string(),
            email: m.email().to_string(),
            name: m.user_name.clone().filter(|n| !n.is_empty()).unwrap_or_default(),
            role: m.role().as_str(),
            role_name: role_name(m.role()),
            pending: m.pending(),
            is_me: Some(m.id) == me,
            teams,
            joined: date(m.created_at),
        });
    }
    Ok(out)
}

async fn render_members(
    state: &AppState,
    viewer: &Viewer,
    access: &OrgAccess,
    email: String,
    notice: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, ApiError> {
    access.require(Scope::MemberRead)?;
    let chrome = Chrome::for_viewer(state, viewer, Some(&access.org.slug)).await?;
    Ok(page(
        status,
        &MembersPage {
            chrome,
            slug: access.org.slug.clone(),
            org_name: access.org.name.clone(),
            members: member_views(state, access).await?,
            roles: &ROLES,
            teams: state.store.teams(access.org.id).await?.into_iter().map(|t| t.slug).collect(),
            can_invite: access.scopes.contains(Scope::MemberWrite),
            can_remove: access.scopes.contains(Scope::MemberAdmin),
            is_owner: access.role() == Role::Owner,
            email,
            notice,
            error,
        },
    ))
}

async fn members_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(slug): Path<String>,
    Query(q): Query<Done>,
) -> Result<Response, ApiError> {
    let access = access(&state, &viewer, &slug).await?;
    render_members(&state, &viewer, &access, String::new(), q.notice(), None, StatusCode::OK).await
}

fn inviter_name(viewer: &Viewer) -> &str {
    if viewer.user.name.is_empty() {
        &viewer.user.email
    } else {
        &viewer.user.name
    }
}

/// Invites one or more addresses (separated by commas or spaces) with a role and,
/// optionally, into teams; the first refusal stops and is shown with what was done.
async fn invite(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(slug): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or_default();
    check_csrf(&viewer, field("csrfmiddlewaretoken"))?;
    let access = access(&state, &viewer, &slug).await?;
    let emails: Vec<&str> = field("email").split([',', ' ', '\n', '\r', '\t', ';']).filter(|e| !e.is_empty()).collect();
    let mut teams = Vec::new();
    for (_, team) in form.iter().filter(|(k, _)| k == "teams") {
        teams.push(state.store.team(access.org.id, team).await?.ok_or_else(ApiError::not_found)?);
    }
    let role = match members::parse_role(if field("role").is_empty() { "member" } else { field("role") }) {
        Ok(role) => role,
        Err(e) => {
            let msg = refusal(e)?;
            return render_members(
                &state,
                &viewer,
                &access,
                field("email").into(),
                None,
                Some(msg),
                StatusCode::BAD_REQUEST,
            )
            .await;
        }
    };
    let mut error = emails.is_empty().then(|| "Enter at least one email address.".to_string());
    let mut invited = Vec::new();
    for email in &emails {
        let registration = state.config.features.user_registration;
        match members::invite(&state.store, &access, &viewer.user, email, role, registration).await {
            Ok(invitation) => {
                for team in &teams {
                    state.store.add_team_member(team.id, invitation.member).await?;
                }
                send_invitation(
                    &state,
                    inviter_name(&viewer),
                    &access.org.name,
                    email,
                    invitation.member,
                    &invitation.token,
                )
                .await?;
                invited.push(*email);
            }
            Err(e) => {
                let msg = refusal(e)?;
                error =
                    Some(if invited.is_empty() { msg } else { format!("Invited {}, then: {msg}", invited.join(", ")) });
                break;
            }
        }
    }
    match error {
        None => Ok(done(&state, &format!("/{slug}/settings/members"), "invited")),
        Some(msg) => {
            let rest = emails.iter().filter(|e| !invited.contains(e)).copied().collect::<Vec<_>>().join(", ");
            render_members(&state, &viewer, &access, rest, None, Some(msg), StatusCode::BAD_REQUEST).await
        }
    }
}

async fn find_member(state: &AppState, access: &OrgAccess, id: &str) -> Result<MemberRow, ApiError> {
    let id = MemberId(id.parse().map_err(|_| ApiError::not_found())?);
    state.store.member(access.org.id, id).await?.ok_or_else(ApiError::not_found)
}

#[derive(Debug, Deserialize)]
struct RoleForm {
    #[serde(default)]
    csrfmiddlewaretoken: String,
    #[serde(default)]
    role: String,
}

/// Runs a member action and redirects, or re-renders the members page with the refusal.
async fn member_outcome(
    state: &AppState,
    viewer: &Viewer,
    access: &OrgAccess,
    result: Result<(), DomainError>,
    code: &str,
) -> Result<Response, ApiError> {
    match result {
        Ok(()) => Ok(done(state, &format!("/{}/settings/members", access.org.slug), code)),
        Err(e) => {
            let msg = refusal(e)?;
            render_members(state, viewer, access, String::new(), None, Some(msg), StatusCode::BAD_REQUEST).await
        }
    }
}

async fn change_role(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((slug, id)): Path<(String, String)>,
    Form(form): Form<RoleForm>,
) -> Result<Response, ApiError> {
    check_csrf(&viewer, &form.csrfmiddlewaretoken)?;
    let access = access(&state, &viewer, &slug).await?;
    let member = find_member(&state, &access, &id).await?;
    let result = match members::parse_role(&form.role) {
        Ok(role) => members::change_role(&state.store, &access, &member, role).await,
        Err(e) => Err(e),
    };
    member_outcome(&state, &viewer, &access, result, "role-changed").await
}

async fn remove_member(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((slug, id)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ApiError> {
    check_csrf(&viewer, &form.csrfmiddlewaretoken)?;
    let access = access(&state, &viewer, &slug).await?;
    let member = find_member(&state, &access, &id).await?;
    let leaving = member.user_id == Some(viewer.user.id);
    let result = members::remove(&state.store, &access, &viewer.user, &member).await;
    if leaving && result.is_ok() {
        return Ok(Redirect::to(&format!("{}/", state.config.http.base_path)).into_response());
    }
    member_outcome(&state, &viewer, &access, result, "removed").await
}

async fn make_owner(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((slug, id)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ApiError> {
    check_csrf(&viewer, &form.csrfmiddlewaretoken)?;
    let access = access(&state, &viewer, &slug).await?;
    let member = find_member(&state, &access, &id).await?;
    let result = members::transfer_ownership(&state.store, &access, &member).await;
    member_outcome(&state, &viewer, &access, result, "owner").await
}

async fn resend(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((slug, id)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ApiError> {
    check_csrf(&viewer, &form.csrfmiddlewaretoken)?;
    let access = access(&state, &viewer, &slug).await?;
    let member = find_member(&state, &access, &id).await?;
    let result = match members::reinvite(&state.store, &access, &member).await {
        Ok(token) => {
            send_invitation(&state, inviter_name(&viewer), &access.org.name, member.email(), member.id, &token).await?;
            Ok(())
        }
        Err(e) => Err(e),
    };
    member_outcome(&state, &viewer, &access, result, "resent").await
}

// ---- teams ----

struct TeamView {
    slug: String,
    members: usize,
    projects: usize,
    is_member: bool,
}

#[derive(Template)]
#[template(path = "settings/teams.html")]
struct TeamsPage {
    chrome: Chrome,
    slug: String,
    teams: Vec<TeamView>,
    can_write: bool,
    can_delete: bool,
    can_join: bool,
    is_member: bool,
    name: String,
    notice: Option<String>,
    error: Option<String>,
}

async fn render_teams(
    state: &AppState,
    viewer: &Viewer,
    access: &OrgAccess,
    name: String,
    notice: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, ApiError> {
    access.require(Scope::TeamRead)?;
    let mut teams = Vec::new();
    let me = access.member.as_ref().map(|m| m.id);
    for t in state.store.teams(access.org.id).await? {
        let members = state.store.team_members(t.id).await?;
        teams.push(TeamView {
            is_member: members.iter().any(|m| Some(m.id) == me),
            members: members.len(),
            projects: state.store.team_projects(t.id).await?.len(),
            slug: t.slug,
        });
    }
    let chrome = Chrome::for_viewer(state, viewer, Some(&access.org.slug)).await?;
    Ok(page(
        status,
        &TeamsPage {
            chrome,
            slug: access.org.slug.clone(),
            teams,
            can_write: access.scopes.contains(Scope::TeamWrite),
            can_delete: access.scopes.contains(Scope::TeamAdmin),
            can_join: access.org.open_membership || access.scopes.contains(Scope::TeamWrite),
            is_member: access.member.is_some(),
            name,
            notice,
            error,
        },
    ))
}

async fn teams_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(slug): Path<String>,
    Query(q): Query<Done>,
) -> Result<Response, ApiError> {
    let access = access(&state, &viewer, &slug).await?;
    render_teams(&state, &viewer, &access, String::new(), q.notice(), None, StatusCode::OK).await
}

async fn create_team(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(slug): Path<String>,
    Form(form): Form<NameForm>,
) -> Result<Response, ApiError> {
    check_csrf(&viewer, &form.csrfmiddlewaretoken)?;
    let access = access(&state, &viewer, &slug).await?;
    let error = if let Err(e) = access.require(Scope::TeamWrite) {
        refusal(e)?
    } else {
        match team_slug(&form.name) {
            Err(e) => e.detail,
            Ok(team_slug) => match state.store.create_team(access.org.id, &team_slug).await {
                Ok(team) => {
                    if let Some(me) = &access.member {
                        state.store.add_team_member(team.id, me.id).await?;
                    }
                    return Ok(done(&state, &format!("/{slug}/settings/teams/{}", team.slug), "team-created"));
                }
                Err(e) if e.is_conflict() => "A team with this slug already exists.".to_string(),
                Err(e) => return Err(e.into()),
            },
        }
    };
    render_teams(&state, &viewer, &access, form.name, None, Some(error), StatusCode::BAD_REQUEST).await
}

struct TeamMemberView {
    id: String,
    email: String,
    pending: bool,
}

struct TeamProjectView {
    slug: String,
    name: String,
}

#[derive(Template)]
#[template(path = "settings/team.html")]
struct TeamPage {
    chrome: Chrome,
    slug: String,
    team: String,
    members: Vec<TeamMemberView>,
    other_members: Vec<TeamMemberView>,
    projects: Vec<TeamProjectView>,
    other_projects: Vec<TeamProjectView>,
    can_write: bool,
    can_manage_projects: bool,
    can_delete: bool,
    notice: Option<String>,
    error: Option<String>,
}

async fn render_team(
    state: &AppState,
    viewer: &Viewer,
    access: &OrgAccess,
    team: &faultline_store::Team,
    notice: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, ApiError> {
    access.require(Scope::TeamRead)?;
    let in_team = state.store.team_members(team.id).await?;
    let all = state.store.members(access.org.id).await?;
    let view =
        |m: &MemberRow| TeamMemberView { id: m.id.to_string(), email: m.email().to_string(), pending: m.pending() };
    let team_projects = state.store.team_projects(team.id).await?;
    let all_projects = state.store.organization_projects(access.org.id).await?;
    let pview = |p: &faultline_store::Project| TeamProjectView { slug: p.slug.clone(), name: p.name.clone() };
    let chrome = Chrome::for_viewer(state, viewer, Some(&access.org.slug)).await?;
    Ok(page(
        status,
        &TeamPage {
            chrome,
            slug: access.org.slug.clone(),
            team: team.slug.clone(),
            members: in_team.iter().map(view).collect(),
            other_members: all.iter().filter(|m| !in_team.iter().any(|t| t.id == m.id)).map(view).collect(),
            projects: team_projects.iter().map(pview).collect(),
            other_projects: all_projects
                .iter()
                .filter(|p| !team_projects.iter().any(|t| t.id == p.id))
                .map(pview)
                .collect(),
            can_write: access.scopes.contains(Scope::TeamWrite),
            can_manage_projects: access.scopes.contains(Scope::ProjectWrite),
            can_delete: access.scopes.contains(Scope::TeamAdmin),
            notice,
            error,
        },
    ))
}

async fn find_team(state: &AppState, access: &OrgAccess, slug: &str) -> Result<faultline_store::Team, ApiError> {
    state.store.team(access.org.id, slug).await?.ok_or_else(ApiError::not_found)
}

async fn team_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((slug, team)): Path<(String, String)>,
    Query(q): Query<Done>,
) -> Result<Response, ApiError> {
    let access = access(&state, &viewer, &slug).await?;
    let team = find_team(&state, &access, &team).await?;
    render_team(&state, &viewer, &access, &team, q.notice(), None, StatusCode::OK).await
}

/// Checks `scope`, runs `action`, then redirects to the team page or shows the refusal.
async fn team_action<F, Fut>(
    state: &AppState,
    viewer: &Viewer,
    slug: &str,
    team: &str,
    scope: Scope,
    action: F,
) -> Result<Response, ApiError>
where
    F: FnOnce(OrgAccess, faultline_store::Team) -> Fut,
    Fut: std::future::Future<Output = Result<(), ApiError>>,
{
    let access = access(state, viewer, slug).await?;
    let team = find_team(state, &access, team).await?;
    if let Err(e) = access.require(scope) {
        let msg = refusal(e)?;
        return render_team(state, viewer, &access, &team, None, Some(msg), StatusCode::FORBIDDEN).await;
    }
    let path = format!("/{slug}/settings/teams/{}", team.slug);
    action(access, team).await?;
    Ok(done(state, &path, "team-saved"))
}

async fn delete_team(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((slug, team)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ApiError> {
    check_csrf(&viewer, &form.csrfmiddlewaretoken)?;
    let access = access(&state, &viewer, &slug).await?;
    let team = find_team(&state, &access, &team).await?;
    if let Err(e) = access.require(Scope::TeamAdmin) {
        let msg = refusal(e)?;
        return render_team(&state, &viewer, &access, &team, None, Some(msg), StatusCode::FORBIDDEN).await;
    }
    state.store.delete_team(team.id).await?;
    Ok(done(&state, &format!("/{slug}/settings/teams"), "team-deleted"))
}

#[derive(Debug, Deserialize)]
struct MemberPick {
    #[serde(default)]
    csrfmiddlewaretoken: String,
    #[serde(default)]
    member: String,
}

async fn add_team_member(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((slug, team)): Path<(String, String)>,
    Form(form): Form<MemberPick>,
) -> Result<Response, ApiError> {
    check_csrf(&viewer, &form.csrfmiddlewaretoken)?;
    let st = state.clone();
    team_action(&state, &viewer, &slug, &team, Scope::TeamWrite, |access, team| async move {
        let member = find_member(&st, &access, &form.member).await?;
        Ok(st.store.add_team_member(team.id, member.id).await?)
    })
    .await
}

async fn remove_team_member(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((slug, team, id)): Path<(String, String, String)>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ApiError> {
    check_csrf(&viewer, &form.csrfmiddlewaretoken)?;
    let st = state.clone();
    team_action(&state, &viewer, &slug, &team, Scope::TeamWrite, |access, team| async move {
        let member = find_member(&st, &access, &id).await?;
        Ok(st.store.remove_team_member(team.id, member.id).await?)
    })
    .await
}

#[derive(Debug, Deserialize)]
struct ProjectPick {
    #[serde(default)]
    csrfmiddlewaretoken: String,
    #[serde(default)]
    project: String,
}

async fn add_team_project(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((slug, team)): Path<(String, String)>,
    Form(form): Form<ProjectPick>,
) -> Result<Response, ApiError> {
    check_csrf(&viewer, &form.csrfmiddlewaretoken)?;
    let st = state.clone();
    team_action(&state, &viewer, &slug, &team, Scope::ProjectWrite, |access, team| async move {
        let p = crate::api::project(&st, &access, &form.project).await?;
        Ok(st.store.add_team_project(team.id, p.id).await?)
    })
    .await
}

async fn remove_team_project(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((slug, team, project)): Path<(String, String, String)>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ApiError> {
    check_csrf(&viewer, &form.csrfmiddlewaretoken)?;
    let st = state.clone();
    team_action(&state, &viewer, &slug, &team, Scope::ProjectWrite, |access, team| async move {
        let p = crate::api::project(&st, &access, &project).await?;
        Ok(st.store.remove_team_project(team.id, p.id).await?)
    })
    .await
}

async fn rename_team(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((slug, team)): Path<(String, String)>,
    Form(form): Form<NameForm>,
) -> Result<Response, ApiError> {
    check_csrf(&viewer, &form.csrfmiddlewaretoken)?;
    let access = access(&state, &viewer, &slug).await?;
    let team = find_team(&state, &access, &team).await?;
    let error = if let Err(e) = access.require(Scope::TeamWrite) {
        refusal(e)?
    } else {
        match team_slug(&form.name) {
            Err(e) => e.detail,
            Ok(new_slug) => match state.store.rename_team(team.id, &new_slug).await {
                Ok(renamed) => {
                    return Ok(done(&state, &format!("/{slug}/settings/teams/{}", renamed.slug), "team-saved"));
                }
                Err(e) if e.is_conflict() => "A team with this slug already exists.".to_string(),
                Err(e) => return Err(e.into()),
            },
        }
    };
    render_team(&state, &viewer, &access, &team, None, Some(error), StatusCode::BAD_REQUEST).await
}

/// Joins (`join`) or leaves a team as oneself: joining needs open membership or
/// `team:write`, as in the API; leaving is always allowed.
async fn self_membership(
    state: &AppState,
    viewer: &Viewer,
    slug: &str,
    team: &str,
    join: bool,
) -> Result<Response, ApiError> {
    let access = access(state, viewer, slug).await?;
    access.require(Scope::TeamRead)?;
    let team = find_team(state, &access, team).await?;
    let Some(me) = access.member.as_ref().map(|m| m.id) else {
        let msg = "Only members of the organization can join its teams.".to_string();
        return render_teams(state, viewer, &access, String::new(), None, Some(msg), StatusCode::BAD_REQUEST).await;
    };
    if join {
        if !access.org.open_membership {
            if let Err(e) = access.require(Scope::TeamWrite) {
                let msg = refusal(e)?;
                return render_teams(state, viewer, &access, String::new(), None, Some(msg), StatusCode::FORBIDDEN)
                    .await;
            }
        }
        state.store.add_team_member(team.id, me).await?;
    } else {
        state.store.remove_team_member(team.id, me).await?;
    }
    Ok(done(state, &format!("/{slug}/settings/teams"), "team-saved"))
}

async fn join_team(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((slug, team)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ApiError> {
    check_csrf(&viewer, &form.csrfmiddlewaretoken)?;
    self_membership(&state, &viewer, &slug, &team, true).await
}

async fn leave_team(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((slug, team)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ApiError> {
    check_csrf(&viewer, &form.csrfmiddlewaretoken)?;
    self_membership(&state, &viewer, &slug, &team, false).await
}
