//! The issue stream and bulk changes: `GET`, `PUT` and `DELETE` on
//! `/organizations/{org}/issues/` and `/projects/{org}/{project}/issues/`.

use std::collections::{BTreeSet, HashMap};

use crate::api::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderValue, StatusCode, Uri};
use axum::response::Response;
use faultline_domain::access::{OrgAccess, Scope};
use faultline_store::{IssueId, IssueSort, Project, UserId};
use serde::{Deserialize, Deserializer};
use serde_json::{json, Map, Value};
use utoipa::ToSchema;

use super::views::{assignee, issue_json, ListFacts};
use super::{issue_filter, Params};
use crate::api::pagination::respond;
use crate::api::{org, project, Auth};
use crate::{ApiError, AppState};

/// Absent stays `None`; `null` becomes `Some(None)`.
fn nullable<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<Value>>, D::Error> {
    Option::<Value>::deserialize(d).map(Some)
}

/// Body of an issue change (one issue or in bulk).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct IssueUpdate {
    /// `resolved`, `unresolved`, `ignored` (also `resolvedInNextRelease`, `muted`).
    pub(crate) status: Option<String>,
    /// Accepted and echoed (`{}`, `inRelease`, `inNextRelease`, `ignoreDuration`, …).
    #[schema(value_type = Option<Object>)]
    pub(crate) status_details: Option<Value>,
    /// `1` or `true` to merge the selected issues into the one with the highest id.
    #[schema(value_type = Option<Object>)]
    pub(crate) merge: Option<Value>,
    /// A user id (`"1"`, `"user:1"`) or email; `null` unassigns.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub(crate) assigned_to: Option<Option<Value>>,
    /// Share publicly.
    pub(crate) is_public: Option<bool>,
    /// Accepted, not stored.
    pub(crate) has_seen: Option<bool>,
    /// Accepted, not stored.
    pub(crate) is_bookmarked: Option<bool>,
    /// Accepted, not stored.
    pub(crate) is_subscribed: Option<bool>,
}

impl IssueUpdate {
    /// The status number asked for, if any.
    pub(crate) fn status(&self) -> Result<Option<i16>, ApiError> {
        let Some(status) = self.status.as_deref() else { return Ok(None) };
        let name = match status {
            "resolvedInNextRelease" | "resolved_in_next_release" => "resolved",
            s => s,
        };
        faultline_store::status_number(name)
            .map(Some)
            .ok_or_else(|| ApiError::bad_request(format!("\"{status}\" is not a valid status")))
    }

    fn merge(&self) -> bool {
        match &self.merge {
            Some(Value::Bool(b)) => *b,
            Some(Value::Number(n)) => n.as_i64().unwrap_or(0) != 0,
            Some(Value::String(s)) => matches!(s.as_str(), "1" | "true"),
            _ => false,
        }
    }
}

/// The user an `assignedTo` value names, who must be a member of the organization.
pub(crate) async fn resolve_assignee(
    state: &AppState,
    access: &OrgAccess,
    value: &Option<Value>,
) -> Result<Option<faultline_store::User>, ApiError> {
    let text = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) if s.trim().is_empty() => return Ok(None),
        Some(Value::String(s)) => s.trim().to_string(),
        Some(_) => return Err(ApiError::bad_request("assignedTo must be a user id or email")),
    };
    if text.starts_with("team:") {
        return Err(ApiError::bad_request("Assigning issues to teams is not supported."));
    }
    let text = text.strip_prefix("user:").unwrap_or(&text);
    let user = match text.parse::<i64>() {
        Ok(id) => state.store.user(UserId(id)).await.ok(),
        Err(_) => state.store.user_by_email(text).await?,
    };
    let unknown = || ApiError::bad_request(format!("Unknown user {text:?}: not a member of this organization."));
    let user = user.ok_or_else(unknown)?;
    if state.store.membership(access.org.id, user.id).await?.is_none() {
        return Err(unknown());
    }
    Ok(Some(user))
}

/// Applies the assignment and sharing parts of an update to `ids`, recording them in
/// `out`.
pub(crate) async fn apply_assignment_and_sharing(
    state: &AppState,
    access: &OrgAccess,
    body: &IssueUpdate,
    ids: &[IssueId],
    out: &mut Map<String, Value>,
) -> Result<(), ApiError> {
    if let Some(value) = &body.assigned_to {
        let user = resolve_assignee(state, access, value).await?;
        for id in ids {
            state.store.assign_issue(*id, user.as_ref().map(|u| u.id)).await?;
        }
        out.insert("assignedTo".into(), user.as_ref().map_or(Value::Null, assignee));
    }
    if let Some(public) = body.is_public {
        for id in ids {
            state.store.set_issue_public(*id, public).await?;
        }
        out.insert("isPublic".into(), json!(public));
    }
    for (key, value) in
        [("hasSeen", body.has_seen), ("isBookmarked", body.is_bookmarked), ("isSubscribed", body.is_subscribed)]
    {
        if let Some(v) = value {
            out.insert(key.into(), json!(v));
        }
    }
    Ok(())
}

async fn list(
    state: &AppState,
    auth: &Auth,
    access: OrgAccess,
    project: Option<Project>,
    uri: &Uri,
) -> Result<Response, ApiError> {
    access.require(Scope::EventRead)?;
    let params = Params::from_uri(uri);
    let filter = issue_filter(&params, &access, auth, project.as_ref())?;
    let sort = match params.non_empty("sort") {
        Some(s) => IssueSort::parse(s).ok_or_else(|| ApiError::bad_request(format!("unknown sort {s:?}")))?,
        None => IssueSort::default(),
    };
    let page = params.page(50, 100);
    let store = &state.store;
    let rows = store.search_issues(&filter, sort, page.offset, page.fetch_limit()).await?;
    let hits = store.count_issues(&filter).await?;
    let projects: HashMap<_, _> =
        store.organization_projects(access.org.id).await?.into_iter().map(|p| (p.id, p)).collect();
    let facts = ListFacts::load(state, &rows).await?;
    let matching = filter.query.event_id.filter(|_| !rows.is_empty());
    let items: Vec<Value> =
        rows.iter().map(|r| issue_json(state, &access.org, r, &projects, &facts, matching)).collect();
    let mut response = respond(&state.config.http.public_url, uri, page, items, Some(hits));
    if matching.is_some() {
        response.headers_mut().insert("x-sentry-direct-hit", HeaderValue::from_static("1"));
    }
    Ok(response)
}

async fn bulk_update(
    state: &AppState,
    auth: &Auth,
    access: OrgAccess,
    project: Option<Project>,
    uri: &Uri,
    body: IssueUpdate,
) -> Result<Json<Value>, ApiError> {
    access.require(Scope::EventWrite)?;
    let params = Params::from_uri(uri);
    let filter = issue_filter(&params, &access, auth, project.as_ref())?;
    let status = body.status()?;
    let matched = state.store.matching_issues(&filter).await?;
    let mut ids: Vec<IssueId> = matched.iter().map(|m| m.0).collect();
    let mut out = Map::new();
    if body.merge() {
        if matched.len() < 2 {
            return Err(ApiError::bad_request("Select at least two issues to merge."));
        }
        let projects: BTreeSet<_> = matched.iter().map(|m| m.1).collect();
        if projects.len() > 1 {
            return Err(ApiError::bad_request("Merging issues of different projects is not supported."));
        }
        // The highest id survives, as in GlitchTip.
        let parent = ids[0];
        let children: Vec<IssueId> = ids[1..].to_vec();
        // Comments would go with the merged issues: keep them on the survivor.
        state.store.move_comments(&children, parent).await?;
        state.store.merge_issues(parent, &children).await?;
        out.insert(
            "merge".into(),
            json!({"parent": parent.to_string(), "children": children.iter().map(ToString::to_string).collect::<Vec<_>>()}),
        );
        ids = vec![parent];
    }
    if let Some(status) = status {
        state.store.set_issues_status(&ids, status).await?;
        out.insert("status".into(), json!(faultline_store::status_name(status)));
        out.insert(
            "statusDetails".into(),
            body.status_details.clone().filter(Value::is_object).unwrap_or_else(|| json!({})),
        );
    }
    apply_assignment_and_sharing(state, &access, &body, &ids, &mut out).await?;
    Ok(Json(Value::Object(out)))
}

async fn bulk_delete(
    state: &AppState,
    auth: &Auth,
    access: OrgAccess,
    project: Option<Project>,
    uri: &Uri,
) -> Result<StatusCode, ApiError> {
    access.require(Scope::EventAdmin)?;
    let params = Params::from_uri(uri);
    let filter = issue_filter(&params, &access, auth, project.as_ref())?;
    let ids: Vec<IssueId> = state.store.matching_issues(&filter).await?.into_iter().map(|m| m.0).collect();
    state.store.delete_issues(&ids).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An organization's issues: search (`query`), `sort`, `project`, `environment`,
/// `start`/`end`/`statsPeriod`, cursor pagination. A query that is an event id jumps
/// to its issue (`X-Sentry-Direct-Hit: 1`).
#[utoipa::path(get, path = "/api/0/organizations/{organization_slug}/issues/", tag = "issues",
    params(("organization_slug" = String, Path),
        ("query" = Option<String>, Query, description = "Search: is:, level:, has:, key:value, release:, environment:, !negation, free text, or an event id"),
        ("sort" = Option<String>, Query, description = "date (default), new, freq, priority, user; or GlitchTip's [-]last_seen, first_seen, count, priority"),
        ("project" = Option<Vec<i64>>, Query), ("environment" = Option<Vec<String>>, Query),
        ("start" = Option<String>, Query), ("end" = Option<String>, Query), ("statsPeriod" = Option<String>, Query),
        ("cursor" = Option<String>, Query), ("limit" = Option<i64>, Query)),
    responses((status = 200, description = "Issues; Link and X-Hits headers", body = Vec<Object>), (status = 400), (status = 404)))]
pub(crate) async fn list_organization_issues(
    State(state): State<AppState>,
    auth: Auth,
    Path(org_slug): Path<String>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, ApiError> {
    let access = org(&state, &auth, &org_slug).await?;
    list(&state, &auth, access, None, &uri).await
}

/// A project's issues (GitLab's error tracking reads this), with the same parameters.
#[utoipa::path(get, path = "/api/0/projects/{organization_slug}/{project_slug}/issues/", tag = "issues",
    params(("organization_slug" = String, Path), ("project_slug" = String, Path),
        ("query" = Option<String>, Query), ("sort" = Option<String>, Query), ("environment" = Option<Vec<String>>, Query),
        ("start" = Option<String>, Query), ("end" = Option<String>, Query), ("statsPeriod" = Option<String>, Query),
        ("cursor" = Option<String>, Query), ("limit" = Option<i64>, Query)),
    responses((status = 200, body = Vec<Object>), (status = 400), (status = 404)))]
pub(crate) async fn list_project_issues(
    State(state): State<AppState>,
    auth: Auth,
    Path((org_slug, project_slug)): Path<(String, String)>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, ApiError> {
    let access = org(&state, &auth, &org_slug).await?;
    let p = project(&state, &access, &project_slug).await?;
    list(&state, &auth, access, Some(p), &uri).await
}

/// Changes the issues selected by `id` (repeatable) or the list filters: `status`,
/// `merge` (the highest id survives), `assignedTo`, `isPublic`.
#[utoipa::path(put, path = "/api/0/organizations/{organization_slug}/issues/", tag = "issues",
    params(("organization_slug" = String, Path), ("id" = Option<Vec<i64>>, Query), ("query" = Option<String>, Query)),
    request_body = IssueUpdate, responses((status = 200, body = Object), (status = 400), (status = 403), (status = 404)))]
pub(crate) async fn update_organization_issues(
    State(state): State<AppState>,
    auth: Auth,
    Path(org_slug): Path<String>,
    OriginalUri(uri): OriginalUri,
    Json(body): Json<IssueUpdate>,
) -> Result<Json<Value>, ApiError> {
    let access = org(&state, &auth, &org_slug).await?;
    bulk_update(&state, &auth, access, None, &uri, body).await
}

/// The same for one project's issues (sentry-cli's `issues resolve|mute|unresolve`).
#[utoipa::path(put, path = "/api/0/projects/{organization_slug}/{project_slug}/issues/", tag = "issues",
    params(("organization_slug" = String, Path), ("project_slug" = String, Path), ("id" = Option<Vec<i64>>, Query),
        ("query" = Option<String>, Query), ("status" = Option<String>, Query)),
    request_body = IssueUpdate, responses((status = 200, body = Object), (status = 400), (status = 403), (status = 404)))]
pub(crate) async fn update_project_issues(
    State(state): State<AppState>,
    auth: Auth,
    Path((org_slug, project_slug)): Path<(String, String)>,
    OriginalUri(uri): OriginalUri,
    Json(body): Json<IssueUpdate>,
) -> Result<Json<Value>, ApiError> {
    let access = org(&state, &auth, &org_slug).await?;
    let p = project(&state, &access, &project_slug).await?;
    bulk_update(&state, &auth, access, Some(p), &uri, body).await
}

/// Deletes the selected issues with their events (`event:admin`).
#[utoipa::path(delete, path = "/api/0/organizations/{organization_slug}/issues/", tag = "issues",
    params(("organization_slug" = String, Path), ("id" = Option<Vec<i64>>, Query), ("query" = Option<String>, Query)),
    responses((status = 204), (status = 403), (status = 404)))]
pub(crate) async fn delete_organization_issues(
    State(state): State<AppState>,
    auth: Auth,
    Path(org_slug): Path<String>,
    OriginalUri(uri): OriginalUri,
) -> Result<StatusCode, ApiError> {
    let access = org(&state, &auth, &org_slug).await?;
    bulk_delete(&state, &auth, access, None, &uri).await
}

/// Deletes the selected issues of a project.
#[utoipa::path(delete, path = "/api/0/projects/{organization_slug}/{project_slug}/issues/", tag = "issues",
    params(("organization_slug" = String, Path), ("project_slug" = String, Path), ("id" = Option<Vec<i64>>, Query)),
    responses((status = 204), (status = 403), (status = 404)))]
pub(crate) async fn delete_project_issues(
    State(state): State<AppState>,
    auth: Auth,
    Path((org_slug, project_slug)): Path<(String, String)>,
    OriginalUri(uri): OriginalUri,
) -> Result<StatusCode, ApiError> {
    let access = org(&state, &auth, &org_slug).await?;
    let p = project(&state, &access, &project_slug).await?;
    bulk_delete(&state, &auth, access, Some(p), &uri).await
}
