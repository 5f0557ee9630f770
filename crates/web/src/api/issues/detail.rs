//! One issue: detail, change, deletion, tag distributions; statistics of several.

use std::collections::HashMap;

use crate::api::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use faultline_domain::access::{OrgAccess, Scope};
use faultline_store::{IssueId, IssueRow, Timestamp};
use serde_json::{json, Map, Value};

use super::list::{apply_assignment_and_sharing, IssueUpdate};
use super::views::{issue_detail_json, series_24h, tag_json, tag_value_json};
use super::{issue_access, org_issue_access, recent_hours, Params};
use crate::api::pagination::respond;
use crate::api::{org, Auth};
use crate::{ApiError, AppState};

async fn detail(state: &AppState, access: &OrgAccess, row: &IssueRow) -> Result<Json<Value>, ApiError> {
    access.require(Scope::EventRead)?;
    Ok(Json(issue_detail_json(state, &access.org, row).await?))
}

async fn update(
    state: &AppState,
    access: &OrgAccess,
    row: IssueRow,
    body: IssueUpdate,
) -> Result<Json<Value>, ApiError> {
    access.require(Scope::EventWrite)?;
    let id = row.issue.id;
    if let Some(status) = body.status()? {
        state.store.set_issues_status(&[id], status).await?;
    }
    let mut changed = Map::new();
    apply_assignment_and_sharing(state, access, &body, &[id], &mut changed).await?;
    let row = state.store.issue_row(id).await?;
    let mut out = issue_detail_json(state, &access.org, &row).await?;
    if let Some(details) = body.status_details.filter(Value::is_object) {
        out["statusDetails"] = details;
    }
    Ok(Json(out))
}

async fn delete(state: &AppState, access: &OrgAccess, row: &IssueRow) -> Result<StatusCode, ApiError> {
    access.require(Scope::EventAdmin)?;
    state.store.delete_issues(&[row.issue.id]).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An issue with its releases, tags and user report count (GitLab's issue page).
#[utoipa::path(get, path = "/api/0/issues/{issue_id}/", tag = "issues", params(("issue_id" = String, Path)),
    responses((status = 200, body = Object), (status = 404)))]
pub(crate) async fn get_issue(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (access, row) = issue_access(&state, &auth, &id).await?;
    detail(&state, &access, &row).await
}

/// Changes an issue: `status`, `assignedTo`, `isPublic` (GitLab resolves and ignores
/// through this).
#[utoipa::path(put, path = "/api/0/issues/{issue_id}/", tag = "issues", params(("issue_id" = String, Path)),
    request_body = IssueUpdate, responses((status = 200, body = Object), (status = 400), (status = 403), (status = 404)))]
pub(crate) async fn update_issue(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Json(body): Json<IssueUpdate>,
) -> Result<Json<Value>, ApiError> {
    let (access, row) = issue_access(&state, &auth, &id).await?;
    update(&state, &access, row, body).await
}

/// Deletes an issue with its events (`event:admin`).
#[utoipa::path(delete, path = "/api/0/issues/{issue_id}/", tag = "issues", params(("issue_id" = String, Path)),
    responses((status = 204), (status = 403), (status = 404)))]
pub(crate) async fn delete_issue(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let (access, row) = issue_access(&state, &auth, &id).await?;
    delete(&state, &access, &row).await
}

/// An issue of an organization.
#[utoipa::path(get, path = "/api/0/organizations/{organization_slug}/issues/{issue_id}/", tag = "issues",
    params(("organization_slug" = String, Path), ("issue_id" = String, Path)),
    responses((status = 200, body = Object), (status = 404)))]
pub(crate) async fn get_organization_issue(
    State(state): State<AppState>,
    auth: Auth,
    Path((org_slug, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let (access, row) = org_issue_access(&state, &auth, &org_slug, &id).await?;
    detail(&state, &access, &row).await
}

/// Changes an issue of an organization.
#[utoipa::path(put, path = "/api/0/organizations/{organization_slug}/issues/{issue_id}/", tag = "issues",
    params(("organization_slug" = String, Path), ("issue_id" = String, Path)), request_body = IssueUpdate,
    responses((status = 200, body = Object), (status = 400), (status = 403), (status = 404)))]
pub(crate) async fn update_organization_issue(
    State(state): State<AppState>,
    auth: Auth,
    Path((org_slug, id)): Path<(String, String)>,
    Json(body): Json<IssueUpdate>,
) -> Result<Json<Value>, ApiError> {
    let (access, row) = org_issue_access(&state, &auth, &org_slug, &id).await?;
    update(&state, &access, row, body).await
}

/// Deletes an issue of an organization.
#[utoipa::path(delete, path = "/api/0/organizations/{organization_slug}/issues/{issue_id}/", tag = "issues",
    params(("organization_slug" = String, Path), ("issue_id" = String, Path)),
    responses((status = 204), (status = 403), (status = 404)))]
pub(crate) async fn delete_organization_issue(
    State(state): State<AppState>,
    auth: Auth,
    Path((org_slug, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let (access, row) = org_issue_access(&state, &auth, &org_slug, &id).await?;
    delete(&state, &access, &row).await
}

/// Tag distributions of an issue (`?key=` for one key), top values first.
#[utoipa::path(get, path = "/api/0/issues/{issue_id}/tags/", tag = "issues",
    params(("issue_id" = String, Path), ("key" = Option<String>, Query)),
    responses((status = 200, body = Vec<Object>), (status = 404)))]
pub(crate) async fn list_issue_tags(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    OriginalUri(uri): OriginalUri,
) -> Result<Json<Vec<Value>>, ApiError> {
    let (access, row) = issue_access(&state, &auth, &id).await?;
    access.require(Scope::EventRead)?;
    let params = Params::from_uri(&uri);
    let keys = params.all("key");
    let mut out = Vec::new();
    if keys.is_empty() {
        out = state.store.issue_tag_summary(row.issue.id, None, 10).await?.iter().map(tag_json).collect();
    } else {
        for key in keys {
            out.extend(state.store.issue_tag_summary(row.issue.id, Some(key), 10).await?.iter().map(tag_json));
        }
    }
    Ok(Json(out))
}

/// One tag's distribution on an issue.
#[utoipa::path(get, path = "/api/0/issues/{issue_id}/tags/{key}/", tag = "issues",
    params(("issue_id" = String, Path), ("key" = String, Path)),
    responses((status = 200, body = Object), (status = 404)))]
pub(crate) async fn get_issue_tag(
    State(state): State<AppState>,
    auth: Auth,
    Path((id, key)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let (access, row) = issue_access(&state, &auth, &id).await?;
    access.require(Scope::EventRead)?;
    let summary = state.store.issue_tag_summary(row.issue.id, Some(&key), 10).await?;
    summary.first().map(|s| Json(tag_json(s))).ok_or_else(ApiError::not_found)
}

/// Every value of one tag on an issue, most frequent first, paginated.
#[utoipa::path(get, path = "/api/0/issues/{issue_id}/tags/{key}/values/", tag = "issues",
    params(("issue_id" = String, Path), ("key" = String, Path), ("cursor" = Option<String>, Query), ("limit" = Option<i64>, Query)),
    responses((status = 200, body = Vec<Object>), (status = 404)))]
pub(crate) async fn list_issue_tag_values(
    State(state): State<AppState>,
    auth: Auth,
    Path((id, key)): Path<(String, String)>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, ApiError> {
    let (access, row) = issue_access(&state, &auth, &id).await?;
    access.require(Scope::EventRead)?;
    let page = Params::from_uri(&uri).page(100, 1000);
    let (values, total) = state.store.issue_tag_value_page(row.issue.id, &key, page.offset, page.fetch_limit()).await?;
    let items: Vec<Value> = values.iter().map(tag_value_json).collect();
    Ok(respond(&state.config.http.public_url, &uri, page, items, Some(total)))
}

/// Counts, first/last seen and a series for up to 200 issues (`groups`):
/// `statsPeriod=24h` hourly (default) or `14d` daily.
#[utoipa::path(get, path = "/api/0/organizations/{organization_slug}/issues-stats/", tag = "issues",
    params(("organization_slug" = String, Path), ("groups" = Vec<i64>, Query), ("statsPeriod" = Option<String>, Query)),
    responses((status = 200, body = Vec<Object>), (status = 400), (status = 404)))]
pub(crate) async fn issues_stats(
    State(state): State<AppState>,
    auth: Auth,
    Path(org_slug): Path<String>,
    OriginalUri(uri): OriginalUri,
) -> Result<Json<Vec<Value>>, ApiError> {
    let access = org(&state, &auth, &org_slug).await?;
    access.require(Scope::EventRead)?;
    let params = Params::from_uri(&uri);
    let period = params.non_empty("statsPeriod").or_else(|| params.non_empty("groupStatsPeriod")).unwrap_or("24h");
    let daily = match period {
        "24h" => false,
        "14d" => true,
        other => return Err(ApiError::bad_request(format!("statsPeriod must be 24h or 14d, not {other:?}"))),
    };
    let mut filter = faultline_store::IssueFilter::organization(access.org.id);
    for g in params.all("groups").into_iter().chain(params.all("group")).take(200) {
        filter.ids.push(IssueId(g.parse().map_err(|_| ApiError::bad_request(format!("groups: not an id: {g:?}")))?));
    }
    if filter.ids.is_empty() {
        return Ok(Json(Vec::new()));
    }
    let ids: Vec<IssueId> = state.store.matching_issues(&filter).await?.into_iter().map(|m| m.0).collect();
    let rows = state.store.issue_rows(&ids).await?;
    let hours = recent_hours(if daily { 14 * 24 } else { 24 });
    let since = Timestamp::from_micros(hours[0] * 1_000_000);
    let hourly = state.store.issues_hourly_counts(&ids, since).await?;
    let users = state.store.issue_user_counts(&ids).await?;
    let handled = state.store.issue_top_tag_values(&ids, &["handled"]).await?;
    let out = rows
        .iter()
        .map(|row| {
            let issue = &row.issue;
            let series = hourly.get(&issue.id).map_or(&[][..], Vec::as_slice);
            let stats = if daily { json!({"14d": daily_series(series)}) } else { json!({"24h": series_24h(series)}) };
            json!({
                "id": issue.id.to_string(),
                "count": issue.times_seen.to_string(),
                "userCount": users.get(&issue.id).copied().unwrap_or(0),
                "firstSeen": issue.first_seen,
                "lastSeen": issue.last_seen,
                "isUnhandled": handled.get(&(issue.id, "handled".to_string())).is_some_and(|v| v == "no"),
                "stats": stats,
            })
        })
        .collect();
    Ok(Json(out))
}

/// `[[unix seconds of the UTC day, count], …]` for the last 14 days, zeros included.
fn daily_series(hourly: &[(Timestamp, i64)]) -> Value {
    const DAY: i64 = 86_400;
    let mut days: HashMap<i64, i64> = HashMap::new();
    for (t, n) in hourly {
        *days.entry((t.micros() / 1_000_000).div_euclid(DAY) * DAY).or_default() += n;
    }
    let today = (Timestamp::now().micros() / 1_000_000).div_euclid(DAY) * DAY;
    Value::Array(
        (0..14).rev().map(|i| today - i * DAY).map(|d| json!([d, days.get(&d).copied().unwrap_or(0)])).collect(),
    )
}
