//! Comments on issues (only their author edits or deletes them) and user reports.

use crate::api::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use faultline_domain::access::Scope;
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::views::{comment_json, user_report_json};
use super::{issue_access, org_issue_access, Params};
use crate::api::pagination::respond;
use crate::api::{org, project, Auth};
use crate::{ApiError, AppState};

/// Body of a comment: `{"data": {"text": "…"}}` (Sentry and GlitchTip) or `{"text": "…"}`.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct CommentIn {
    #[schema(value_type = Option<Object>)]
    data: Option<CommentData>,
    text: Option<String>,
}

#[derive(Debug, Deserialize)]
struct CommentData {
    text: Option<String>,
}

impl CommentIn {
    fn text(self) -> Result<String, ApiError> {
        let text = self.data.and_then(|d| d.text).or(self.text).unwrap_or_default();
        let text = text.trim();
        if text.is_empty() {
            return Err(ApiError::bad_request("The comment has no text."));
        }
        if text.chars().count() > 10_000 {
            return Err(ApiError::bad_request("The comment is longer than 10,000 characters."));
        }
        Ok(text.to_string())
    }
}

fn comment_id(text: &str) -> Result<i64, ApiError> {
    text.trim().parse().map_err(|_| ApiError::not_found())
}

/// An issue's comments, newest first.
#[utoipa::path(get, path = "/api/0/issues/{issue_id}/comments/", tag = "comments",
    params(("issue_id" = String, Path), ("cursor" = Option<String>, Query), ("limit" = Option<i64>, Query)),
    responses((status = 200, body = Vec<Object>), (status = 404)))]
pub(crate) async fn list_comments(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, ApiError> {
    let (access, row) = issue_access(&state, &auth, &id).await?;
    access.require(Scope::EventRead)?;
    let page = Params::from_uri(&uri).page(50, 100);
    let comments = state.store.issue_comments(row.issue.id, page.offset, page.fetch_limit()).await?;
    let items: Vec<Value> = comments.iter().map(comment_json).collect();
    Ok(respond(&state.config.http.public_url, &uri, page, items, None))
}

/// Adds a comment.
#[utoipa::path(post, path = "/api/0/issues/{issue_id}/comments/", tag = "comments",
    params(("issue_id" = String, Path)), request_body = CommentIn,
    responses((status = 201, body = Object), (status = 400), (status = 403), (status = 404)))]
pub(crate) async fn create_comment(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Json(body): Json<CommentIn>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let (access, row) = issue_access(&state, &auth, &id).await?;
    access.require(Scope::EventWrite)?;
    let comment = state.store.add_comment(row.issue.id, auth.principal.user.id, &body.text()?).await?;
    Ok((StatusCode::CREATED, Json(comment_json(&comment))))
}

/// The caller's own comment, or why not.
async fn own_comment(
    state: &AppState,
    auth: &Auth,
    issue: &str,
    comment: &str,
) -> Result<(faultline_store::IssueId, i64), ApiError> {
    let (access, row) = issue_access(state, auth, issue).await?;
    access.require(Scope::EventWrite)?;
    let comment = state.store.comment(row.issue.id, comment_id(comment)?).await?;
    if comment.user_id != Some(auth.principal.user.id) {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "Only the author can change or delete a comment."));
    }
    Ok((row.issue.id, comment.id))
}

/// Changes the text of one's own comment.
#[utoipa::path(put, path = "/api/0/issues/{issue_id}/comments/{comment_id}/", tag = "comments",
    params(("issue_id" = String, Path), ("comment_id" = String, Path)), request_body = CommentIn,
    responses((status = 200, body = Object), (status = 400), (status = 403), (status = 404)))]
pub(crate) async fn update_comment(
    State(state): State<AppState>,
    auth: Auth,
    Path((id, comment)): Path<(String, String)>,
    Json(body): Json<CommentIn>,
) -> Result<Json<Value>, ApiError> {
    let (issue, comment) = own_comment(&state, &auth, &id, &comment).await?;
    let updated = state.store.update_comment(issue, comment, &body.text()?).await?;
    Ok(Json(comment_json(&updated)))
}

/// Deletes one's own comment.
#[utoipa::path(delete, path = "/api/0/issues/{issue_id}/comments/{comment_id}/", tag = "comments",
    params(("issue_id" = String, Path), ("comment_id" = String, Path)),
    responses((status = 204), (status = 403), (status = 404)))]
pub(crate) async fn delete_comment(
    State(state): State<AppState>,
    auth: Auth,
    Path((id, comment)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let (issue, comment) = own_comment(&state, &auth, &id, &comment).await?;
    state.store.delete_comment(issue, comment).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// User feedback about an issue's events, newest first.
#[utoipa::path(get, path = "/api/0/issues/{issue_id}/user-reports/", tag = "user-reports",
    params(("issue_id" = String, Path), ("cursor" = Option<String>, Query), ("limit" = Option<i64>, Query)),
    responses((status = 200, body = Vec<Object>), (status = 404)))]
pub(crate) async fn list_issue_user_reports(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, ApiError> {
    let (access, row) = issue_access(&state, &auth, &id).await?;
    access.require(Scope::EventRead)?;
    let page = Params::from_uri(&uri).page(50, 100);
    let (reports, total) = state.store.issue_user_report_page(row.issue.id, page.offset, page.fetch_limit()).await?;
    let items: Vec<Value> = reports.iter().map(user_report_json).collect();
    Ok(respond(&state.config.http.public_url, &uri, page, items, Some(total)))
}

/// User feedback about an organization's issue.
#[utoipa::path(get, path = "/api/0/organizations/{organization_slug}/issues/{issue_id}/user-reports/", tag = "user-reports",
    params(("organization_slug" = String, Path), ("issue_id" = String, Path), ("cursor" = Option<String>, Query),
        ("limit" = Option<i64>, Query)),
    responses((status = 200, body = Vec<Object>), (status = 404)))]
pub(crate) async fn list_organization_issue_user_reports(
    State(state): State<AppState>,
    auth: Auth,
    Path((org_slug, id)): Path<(String, String)>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, ApiError> {
    let (access, row) = org_issue_access(&state, &auth, &org_slug, &id).await?;
    access.require(Scope::EventRead)?;
    let page = Params::from_uri(&uri).page(50, 100);
    let (reports, total) = state.store.issue_user_report_page(row.issue.id, page.offset, page.fetch_limit()).await?;
    let items: Vec<Value> = reports.iter().map(user_report_json).collect();
    Ok(respond(&state.config.http.public_url, &uri, page, items, Some(total)))
}

/// User feedback received by a project, newest first.
#[utoipa::path(get, path = "/api/0/projects/{organization_slug}/{project_slug}/user-reports/", tag = "user-reports",
    params(("organization_slug" = String, Path), ("project_slug" = String, Path), ("cursor" = Option<String>, Query),
        ("limit" = Option<i64>, Query)),
    responses((status = 200, body = Vec<Object>), (status = 404)))]
pub(crate) async fn list_project_user_reports(
    State(state): State<AppState>,
    auth: Auth,
    Path((org_slug, project_slug)): Path<(String, String)>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, ApiError> {
    let access = org(&state, &auth, &org_slug).await?;
    access.require(Scope::EventRead)?;
    let p = project(&state, &access, &project_slug).await?;
    let page = Params::from_uri(&uri).page(50, 100);
    let (reports, total) = state.store.project_user_report_page(p.id, page.offset, page.fetch_limit()).await?;
    let items: Vec<Value> = reports.iter().map(user_report_json).collect();
    Ok(respond(&state.config.http.public_url, &uri, page, items, Some(total)))
}
