//! Members, invitations and team membership.

use crate::api::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use faultline_domain::access::Scope;
use faultline_domain::{mail, members};
use faultline_store::{MemberId, MemberRow, Role};
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

use super::views::UserOut;
use super::{org, Auth, MaybeAuth};
use crate::{ApiError, AppState};

async fn member_json(state: &AppState, m: &MemberRow) -> Result<Value, ApiError> {
    let user = match m.user_id {
        Some(id) => Some(UserOut::from(&state.store.user(id).await?)),
        None => None,
    };
    let teams = state.store.member_team_slugs(m.id).await?;
    Ok(json!({
        "id": m.id.to_string(),
        "email": m.email(),
        "name": m.user_name.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| m.email().to_string()),
        "role": m.role().as_str(),
        "orgRole": m.role().as_str(),
        "roleName": role_name(m.role()),
        "dateCreated": m.created_at,
        "pending": m.pending(),
        "expired": false,
        "isOwner": m.role() == Role::Owner,
        "user": user,
        "teams": teams,
    }))
}

pub(crate) fn role_name(role: Role) -> &'static str {
    match role {
        Role::Member => "Member",
        Role::Admin => "Admin",
        Role::Manager => "Manager",
        Role::Owner => "Owner",
    }
}

async fn find_member(
    state: &AppState,
    access: &faultline_domain::access::OrgAccess,
    id: &str,
) -> Result<MemberRow, ApiError> {
    let id = if id == "me" {
        access.member.as_ref().map(|m| m.id).ok_or_else(ApiError::not_found)?
    } else {
        MemberId(id.parse().map_err(|_| ApiError::not_found())?)
    };
    state.store.member(access.org.id, id).await?.ok_or_else(ApiError::not_found)
}

/// The organization's members and pending invitations.
#[utoipa::path(get, path = "/api/0/organizations/{organization_slug}/members/", tag = "members",
    params(("organization_slug" = String, Path)), responses((status = 200, body = Vec<Object>), (status = 404)))]
pub(crate) async fn list_members(
    State(state): State<AppState>,
    auth: Auth,
    Path(slug): Path<String>,
) -> Result<Json<Vec<Value>>, ApiError> {
    let access = org(&state, &auth, &slug).await?;
    access.require(Scope::MemberRead)?;
    let mut out = Vec::new();
    for m in state.store.members(access.org.id).await? {
        out.push(member_json(&state, &m).await?);
    }
    Ok(Json(out))
}

/// Body of an invitation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct InviteIn {
    email: String,
    /// `member`, `admin`, `manager` or `owner`.
    org_role: Option<String>,
    role: Option<String>,
    /// `[{"teamSlug": "…"}]`
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    team_roles: Vec<Value>,
    #[serde(default)]
    teams: Vec<String>,
}

pub(crate) async fn send_invitation(
    state: &AppState,
    inviter: &str,
    org_name: &str,
    email: &str,
    member: MemberId,
    token: &str,
) -> Result<(), ApiError> {
    let link = format!("{}{}/accept/{}/{token}", state.config.http.public_url, state.config.http.base_path, member);
    mail::send_later(&state.store, &mail::invitation(email, inviter, org_name, &link)).await?;
    Ok(())
}

/// Invites someone by email (managers and owners); the invitation email carries the
/// accept link.
#[utoipa::path(post, path = "/api/0/organizations/{organization_slug}/members/", tag = "members",
    params(("organization_slug" = String, Path)), request_body = InviteIn,
    responses((status = 201, body = Object), (status = 403), (status = 409)))]
pub(crate) async fn invite_member(
    State(state): State<AppState>,
    auth: Auth,
    Path(slug): Path<String>,
    Json(body): Json<InviteIn>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let access = org(&state, &auth, &slug).await?;
    let role = members::parse_role(body.org_role.or(body.role).as_deref().unwrap_or("member"))?;
    let inviter = &auth.principal.user;
    let invitation =
        members::invite(&state.store, &access, inviter, &body.email, role, state.config.features.user_registration)
            .await?;
    let team_slugs = body
        .team_roles
        .iter()
        .filter_map(|t| t.get("teamSlug").and_then(Value::as_str).map(String::from))
        .chain(body.teams);
    for team_slug in team_slugs {
        if let Some(team) = state.store.team(access.org.id, &team_slug).await? {
            state.store.add_team_member(team.id, invitation.member).await?;
        }
    }
    let inviter_name = if inviter.name.is_empty() { &inviter.email } else { &inviter.name };
    send_invitation(&state, inviter_name, &access.org.name, body.email.trim(), invitation.member, &invitation.token)
        .await?;
    let member = state.store.member(access.org.id, invitation.member).await?.ok_or_else(ApiError::not_found)?;
    Ok((StatusCode::CREATED, Json(member_json(&state, &member).await?)))
}

/// A member.
#[utoipa::path(get, path = "/api/0/organizations/{organization_slug}/members/{member_id}/", tag = "members",
    params(("organization_slug" = String, Path), ("member_id" = String, Path)), responses((status = 200, body = Object), (status = 404)))]
pub(crate) async fn get_member(
    State(state): State<AppState>,
    auth: Auth,
    Path((slug, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let access = org(&state, &auth, &slug).await?;
    access.require(Scope::MemberRead)?;
    let member = find_member(&state, &access, &id).await?;
    Ok(Json(member_json(&state, &member).await?))
}

/// Body of a member update.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MemberUpdate {
    org_role: Option<String>,
    role: Option<String>,
    /// Resend a pending invitation.
    #[serde(default)]
    reinvite: bool,
}

/// Changes a member's role, or resends a pending invitation (managers and owners).
#[utoipa::path(put, path = "/api/0/organizations/{organization_slug}/members/{member_id}/", tag = "members",
    params(("organization_slug" = String, Path), ("member_id" = String, Path)), request_body = MemberUpdate,
    responses((status = 200, body = Object), (status = 400), (status = 403), (status = 404)))]
pub(crate) async fn update_member(
    State(state): State<AppState>,
    auth: Auth,
    Path((slug, id)): Path<(String, String)>,
    Json(body): Json<MemberUpdate>,
) -> Result<Json<Value>, ApiError> {
    let access = org(&state, &auth, &slug).await?;
    access.require(Scope::MemberRead)?;
    let member = find_member(&state, &access, &id).await?;
    if body.reinvite {
        let token = members::reinvite(&state.store, &access, &member).await?;
        let inviter = &auth.principal.user;
        let name = if inviter.name.is_empty() { &inviter.email } else { &inviter.name };
        send_invitation(&state, name, &access.org.name, member.email(), member.id, &token).await?;
    }
    if let Some(role) = body.org_role.or(body.role) {
        members::change_role(&state.store, &access, &member, members::parse_role(&role)?).await?;
    }
    let member = state.store.member(access.org.id, member.id).await?.ok_or_else(ApiError::not_found)?;
    Ok(Json(member_json(&state, &member).await?))
}

/// Removes a member or withdraws an invitation; anyone may remove themselves.
#[utoipa::path(delete, path = "/api/0/organizations/{organization_slug}/members/{member_id}/", tag = "members",
    params(("organization_slug" = String, Path), ("member_id" = String, Path)),
    responses((status = 204), (status = 400), (status = 403), (status = 404)))]
pub(crate) async fn delete_member(
    State(state): State<AppState>,
    auth: Auth,
    Path((slug, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let access = org(&state, &auth, &slug).await?;
    let member = find_member(&state, &access, &id).await?;
    members::remove(&state.store, &access, &auth.principal.user, &member).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Makes a member an owner (owners only).
#[utoipa::path(post, path = "/api/0/organizations/{organization_slug}/members/{member_id}/set_owner/", tag = "members",
    params(("organization_slug" = String, Path), ("member_id" = String, Path)),
    responses((status = 200, body = Object), (status = 403), (status = 404)))]
pub(crate) async fn set_owner(
    State(state): State<AppState>,
    auth: Auth,
    Path((slug, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let access = org(&state, &auth, &slug).await?;
    let member = find_member(&state, &access, &id).await?;
    members::transfer_ownership(&state.store, &access, &member).await?;
    let member = state.store.member(access.org.id, member.id).await?.ok_or_else(ApiError::not_found)?;
    Ok(Json(member_json(&state, &member).await?))
}

/// Puts a member in a team: yourself when membership is open, anyone with `team:write`.
#[utoipa::path(post, path = "/api/0/organizations/{organization_slug}/members/{member_id}/teams/{team_slug}/", tag = "members",
    params(("organization_slug" = String, Path), ("member_id" = String, Path), ("team_slug" = String, Path)),
    responses((status = 201, body = Object), (status = 403), (status = 404)))]
pub(crate) async fn join_team(
    State(state): State<AppState>,
    auth: Auth,
    Path((slug, id, team)): Path<(String, String, String)>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let access = org(&state, &auth, &slug).await?;
    access.require(Scope::TeamRead)?;
    let member = find_member(&state, &access, &id).await?;
    let myself = member.user_id == Some(auth.principal.user.id);
    if !(myself && access.org.open_membership) {
        access.require(Scope::TeamWrite)?;
    }
    let team = state.store.team(access.org.id, &team).await?.ok_or_else(ApiError::not_found)?;
    state.store.add_team_member(team.id, member.id).await?;
    Ok((StatusCode::CREATED, Json(json!({"slug": team.slug, "isMember": true}))))
}

/// Takes a member out of a team: yourself always, others with `team:write`.
#[utoipa::path(delete, path = "/api/0/organizations/{organization_slug}/members/{member_id}/teams/{team_slug}/", tag = "members",
    params(("organization_slug" = String, Path), ("member_id" = String, Path), ("team_slug" = String, Path)),
    responses((status = 200, body = Object), (status = 403), (status = 404)))]
pub(crate) async fn leave_team(
    State(state): State<AppState>,
    auth: Auth,
    Path((slug, id, team)): Path<(String, String, String)>,
) -> Result<Json<Value>, ApiError> {
    let access = org(&state, &auth, &slug).await?;
    access.require(Scope::TeamRead)?;
    let member = find_member(&state, &access, &id).await?;
    if member.user_id != Some(auth.principal.user.id) {
        access.require(Scope::TeamWrite)?;
    }
    let team = state.store.team(access.org.id, &team).await?.ok_or_else(ApiError::not_found)?;
    state.store.remove_team_member(team.id, member.id).await?;
    Ok(Json(json!({"slug": team.slug, "isMember": false})))
}

/// An invitation, as seen from its link (no login needed to look at it).
#[utoipa::path(get, path = "/api/0/accept/{member_id}/{token}/", tag = "members",
    params(("member_id" = String, Path), ("token" = String, Path)), responses((status = 200, body = Object), (status = 404)))]
pub(crate) async fn get_invitation(
    State(state): State<AppState>,
    MaybeAuth(auth): MaybeAuth,
    Path((id, token)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let id = MemberId(id.parse().map_err(|_| ApiError::not_found())?);
    let invitation =
        state.store.invitation(id, &faultline_store::hash_secret(&token)).await?.ok_or_else(ApiError::not_found)?;
    let org = state.store.organization_by_id(invitation.organization_id).await?;
    Ok(Json(json!({
        "acceptInvite": false,
        "orgUser": {"id": invitation.id.to_string(), "email": invitation.email(), "role": invitation.role().as_str(),
                    "organization": {"slug": org.slug, "name": org.name}},
        "loggedIn": auth.is_some(),
    })))
}

/// Accepts an invitation as the logged-in user.
#[utoipa::path(post, path = "/api/0/accept/{member_id}/{token}/", tag = "members",
    params(("member_id" = String, Path), ("token" = String, Path)),
    responses((status = 200, body = Object), (status = 404), (status = 409)))]
pub(crate) async fn accept_invitation(
    State(state): State<AppState>,
    auth: Auth,
    Path((id, token)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let id = MemberId(id.parse().map_err(|_| ApiError::not_found())?);
    let invitation =
        state.store.invitation(id, &faultline_store::hash_secret(&token)).await?.ok_or_else(ApiError::not_found)?;
    members::accept(&state.store, id, &token, &auth.principal.user).await?;
    let org = state.store.organization_by_id(invitation.organization_id).await?;
    Ok(Json(json!({"acceptInvite": true, "organization": {"slug": org.slug, "name": org.name}})))
}
