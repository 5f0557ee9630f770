//! An issue's page: its summary, status actions, tags, one event in full (latest by
//! default, or `/events/{event_id}`, `latest`, `oldest`), comments, merged hashes and
//! user reports.

use askama::Template;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use faultline_domain::access::{OrgAccess, Scope};
use faultline_store::{level_name, parse_event_id, status_name, IssueId, IssueRow};
use serde::Deserialize;

use super::event::{view, EventView};
use super::{access_of, ago, query_string, short_id, when};
use crate::ui::{check_csrf, page, Chrome, Viewer};
use crate::{ApiError, AppState};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/{org}/issues/{id}", get(issue_page))
        .route("/{org}/issues/{id}/events/{event_id}", get(event_page))
        .route("/{org}/issues/{id}/status", post(set_status))
        .route("/{org}/issues/{id}/delete", post(delete))
        .route("/{org}/issues/{id}/comments", post(comment))
        .route("/{org}/issues/{id}/comments/{comment}/delete", post(delete_comment))
        .route("/{org}/issues/{id}/unmerge", post(unmerge))
}

pub(crate) struct TagValue {
    pub value: String,
    pub count: i64,
    pub percent: i64,
    pub link: String,
}

pub(crate) struct TagPanel {
    pub key: String,
    pub total: i64,
    pub values: Vec<TagValue>,
}

pub(crate) struct CommentItem {
    pub id: i64,
    /// Written by the viewer, who may delete it.
    pub own: bool,
    pub author: String,
    pub when: String,
    pub text: String,
}

pub(crate) struct ReportItem {
    pub name: String,
    pub email: String,
    pub comments: String,
    pub when: String,
    pub event_id: String,
}

pub(crate) struct HashItem {
    pub hash: String,
    pub last_seen: String,
}

/// The issue type of Content-Security-Policy reports.
const CSP: i16 = 2;

/// An event tag, linking to the list of issues with it.
pub(crate) struct TagChip {
    pub key: String,
    pub value: String,
    pub link: String,
}

pub(crate) struct CrumbFilter {
    pub label: String,
    pub link: String,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "issues/detail.html")]
struct DetailPage {
    chrome: Chrome,
    org: String,
    /// `/{org}/issues/{id}` below the base path.
    issue_url: String,
    id: i64,
    title: String,
    culprit: String,
    short_id: String,
    project: String,
    project_id: i64,
    level: &'static str,
    status: &'static str,
    kind: String,
    value: String,
    count: i64,
    first_seen: String,
    last_seen: String,
    tags: Vec<TagPanel>,
    event_id: Option<String>,
    event_time: String,
    event_count: i64,
    older: Option<String>,
    newer: Option<String>,
    raw_json: String,
    event: Option<EventView>,
    newest_first: bool,
    order_flip: String,
    crumb_filters: Vec<CrumbFilter>,
    event_tags: Vec<TagChip>,
    comments: Vec<CommentItem>,
    hashes: Vec<HashItem>,
    reports: Vec<ReportItem>,
    can_write: bool,
    can_admin: bool,
}

#[derive(Deserialize, Default)]
struct DetailQuery {
    /// `oldest` shows exceptions and frames oldest first.
    order: Option<String>,
    /// A breadcrumb category to keep.
    crumbs: Option<String>,
}

/// The viewer's access and the issue, which must belong to `org` (404 otherwise).
async fn issue_of(state: &AppState, viewer: &Viewer, org: &str, id: &str) -> Result<(OrgAccess, IssueRow), ApiError> {
    let access = access_of(state, viewer, org).await?;
    let id = IssueId(id.trim().parse().map_err(|_| ApiError::not_found())?);
    let slug = state.store.issue_organization_slug(id).await?.ok_or_else(ApiError::not_found)?;
    if slug != access.org.slug {
        return Err(ApiError::not_found());
    }
    let row = state.store.issue_row(id).await?;
    Ok((access, row))
}

async fn issue_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((org, id)): Path<(String, String)>,
    Query(q): Query<DetailQuery>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, ApiError> {
    render(&state, &viewer, &org, &id, "latest", q, uri.path()).await
}

async fn event_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((org, id, event_id)): Path<(String, String, String)>,
    Query(q): Query<DetailQuery>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, ApiError> {
    render(&state, &viewer, &org, &id, &event_id, q, uri.path()).await
}

/// `key:value` for the search box, quoted when needed.
fn search_term(key: &str, value: &str) -> String {
    if value.is_empty() || value.contains(|c: char| c.is_whitespace() || c == '"' || c == ':') {
        format!("{key}:\"{}\"", value.replace('"', "\\\""))
    } else {
        format!("{key}:{value}")
    }
}

/// The project's unresolved issues with tag `key` = `value` (the environment tag
/// sets the environment filter instead).
fn list_link(base: &str, org: &str, project: i64, key: &str, value: &str) -> String {
    let mut pairs = vec![("project".to_string(), project.to_string())];
    if key == "environment" {
        pairs.push(("environment".into(), value.into()));
        pairs.push(("query".into(), "is:unresolved".into()));
    } else {
        pairs.push(("query".into(), format!("is:unresolved {}", search_term(key, value))));
    }
    format!("{base}/{org}/issues?{}", query_string(&pairs))
}

async fn render(
    state: &AppState,
    viewer: &Viewer,
    org: &str,
    id: &str,
    which: &str,
    q: DetailQuery,
    path: &str,
) -> Result<Response, ApiError> {
    let (access, row) = issue_of(state, viewer, org, id).await?;
    access.require(Scope::EventRead)?;
    let store = &state.store;
    let issue = &row.issue;
    let base = &state.config.http.base_path;
    let org = access.org.slug.clone();
    let issue_url = format!("{base}/{org}/issues/{}", issue.id);
    let project = store.project(issue.project_id).await?;
    let metadata: serde_json::Value = serde_json::from_str(&issue.metadata).unwrap_or_default();
    let meta = |key: &str| metadata.get(key).and_then(|v| v.as_str()).unwrap_or_default().to_string();

    let tags = store
        .issue_tag_summary(issue.id, None, 5)
        .await?
        .into_iter()
        .map(|t| TagPanel {
            values: t
                .top_values
                .iter()
                .map(|v| TagValue {
                    value: v.value.clone(),
                    count: v.times_seen,
                    percent: if t.total_values > 0 { v.times_seen * 100 / t.total_values } else { 0 },
                    link: list_link(base, &org, project.id.0, &t.key, &v.value),
                })
                .collect(),
            key: t.key,
            total: t.total_values,
        })
        .collect();

    let event = match which {
        "latest" => store.issue_edge_event(issue.id, true).await?,
        "oldest" => store.issue_edge_event(issue.id, false).await?,
        other => {
            let event_id = parse_event_id(other).ok_or_else(ApiError::not_found)?;
            Some(store.issue_event(issue.id, issue.project_id, event_id).await?.ok_or_else(ApiError::not_found)?)
        }
    };
    let newest_first = q.order.as_deref() != Some("oldest");
    let mut keep: Vec<(String, String)> = Vec::new();
    if !newest_first {
        keep.push(("order".into(), "oldest".into()));
    }
    let mut out = DetailPage {
        chrome: Chrome::for_viewer(state, viewer, Some(&org)).await?,
        issue_url: issue_url.clone(),
        id: issue.id.0,
        title: issue.title.clone(),
        culprit: if issue.ty == CSP { meta("uri") } else { issue.culprit.clone() },
        short_id: short_id(&project.slug, issue.short_id),
        project: project.name.clone(),
        project_id: project.id.0,
        level: level_name(issue.level),
        status: status_name(issue.status),
        kind: if issue.ty == CSP { meta("directive") } else { meta("type") },
        value: if issue.ty == CSP { meta("message") } else { meta("value") },
        count: issue.times_seen,
        first_seen: format!("{} ({})", when(issue.first_seen), ago(issue.first_seen)),
        last_seen: format!("{} ({})", when(issue.last_seen), ago(issue.last_seen)),
        tags,
        event_id: None,
        event_time: String::new(),
        event_count: store.issue_event_count(issue.id).await?,
        older: None,
        newer: None,
        raw_json: String::new(),
        event: None,
        newest_first,
        order_flip: String::new(),
        crumb_filters: Vec::new(),
        event_tags: Vec::new(),
        comments: store
            .issue_comments(issue.id, 0, 200)
            .await?
            .into_iter()
            .map(|c| CommentItem {
                id: c.id,
                own: c.user_id == Some(viewer.user.id),
                author: c.user_name.filter(|n| !n.is_empty()).or(c.user_email).unwrap_or_else(|| "Someone".into()),
                when: when(c.created_at),
                text: c.text,
            })
            .collect(),
        hashes: store
            .issue_hash_rows(issue.id)
            .await?
            .into_iter()
            .map(|(hash, seen)| HashItem { hash, last_seen: when(seen) })
            .collect(),
        reports: store
            .issue_user_report_page(issue.id, 0, 50)
            .await?
            .0
            .into_iter()
            .map(|r| ReportItem {
                name: r.name,
                email: r.email,
                comments: r.comments,
                when: when(r.created_at),
                event_id: r.event_id.simple().to_string(),
            })
            .collect(),
        can_write: access.scopes.contains(Scope::EventWrite),
        can_admin: access.scopes.contains(Scope::EventAdmin),
        org,
    };
    if let Some(event) = event {
        let event_id = event.event.event_id.simple().to_string();
        let (previous, next) = store.event_neighbours(&event).await?;
        let link = |e: uuid::Uuid| format!("{issue_url}/events/{}", e.simple());
        out.older = previous.map(link);
        out.newer = next.map(link);
        out.event_time = when(event.event.timestamp);
        out.raw_json = format!("{base}/api/0/organizations/{}/issues/{}/events/{event_id}/json/", out.org, issue.id);
        let stored = event.event.json()?;
        let crumb = q.crumbs.as_deref().filter(|c| !c.is_empty());
        let shown = view(&stored, newest_first, crumb);
        let here = |extra: Vec<(String, String)>| {
            let mut pairs = keep.clone();
            pairs.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
            pairs.extend(extra.into_iter().filter(|(_, v)| !v.is_empty()));
            if pairs.is_empty() {
                path.to_string()
            } else {
                format!("{path}?{}", query_string(&pairs))
            }
        };
        let crumb_pair = |c: &str| ("crumbs".to_string(), c.to_string());
        out.order_flip = {
            let order = if newest_first { "oldest" } else { "" };
            let mut extra = vec![("order".to_string(), order.to_string())];
            extra.extend(crumb.map(crumb_pair));
            here(extra)
        };
        let mut filters = vec![CrumbFilter { label: "All".into(), link: here(vec![]), current: crumb.is_none() }];
        for c in &shown.crumb_categories {
            filters.push(CrumbFilter {
                label: c.clone(),
                link: here(vec![crumb_pair(c)]),
                current: crumb == Some(c.as_str()),
            });
        }
        out.crumb_filters = filters;
        out.event_tags = shown
            .tags
            .iter()
            .map(|(key, value)| TagChip {
                link: list_link(base, &out.org, project.id.0, key, value),
                key: key.clone(),
                value: value.clone(),
            })
            .collect();
        out.event_id = Some(event_id);
        out.event = Some(shown);
    }
    Ok(page(StatusCode::OK, &out))
}

#[derive(Deserialize)]
struct StatusForm {
    #[serde(default)]
    csrfmiddlewaretoken: String,
    #[serde(default)]
    status: String,
}

async fn set_status(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((org, id)): Path<(String, String)>,
    Form(form): Form<StatusForm>,
) -> Result<Response, ApiError> {
    check_csrf(&viewer, &form.csrfmiddlewaretoken)?;
    let (access, row) = issue_of(&state, &viewer, &org, &id).await?;
    access.require(Scope::EventWrite)?;
    let status = faultline_store::status_number(&form.status)
        .ok_or_else(|| ApiError::bad_request(format!("\"{}\" is not a valid status", form.status)))?;
    state.store.set_issues_status(&[row.issue.id], status).await?;
    Ok(Redirect::to(&format!("{}/{}/issues/{}", state.config.http.base_path, access.org.slug, row.issue.id))
        .into_response())
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrfmiddlewaretoken: String,
}

async fn delete(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((org, id)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ApiError> {
    check_csrf(&viewer, &form.csrfmiddlewaretoken)?;
    let (access, row) = issue_of(&state, &viewer, &org, &id).await?;
    access.require(Scope::EventAdmin)?;
    state.store.delete_issues(&[row.issue.id]).await?;
    Ok(Redirect::to(&format!("{}/{}/issues", state.config.http.base_path, access.org.slug)).into_response())
}

#[derive(Deserialize)]
struct CommentForm {
    #[serde(default)]
    csrfmiddlewaretoken: String,
    #[serde(default)]
    text: String,
}

async fn comment(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((org, id)): Path<(String, String)>,
    Form(form): Form<CommentForm>,
) -> Result<Response, ApiError> {
    check_csrf(&viewer, &form.csrfmiddlewaretoken)?;
    let (access, row) = issue_of(&state, &viewer, &org, &id).await?;
    access.require(Scope::EventWrite)?;
    let text = form.text.trim();
    if text.is_empty() {
        return Err(ApiError::bad_request("The comment has no text."));
    }
    if text.chars().count() > 10_000 {
        return Err(ApiError::bad_request("The comment is longer than 10,000 characters."));
    }
    state.store.add_comment(row.issue.id, viewer.user.id, text).await?;
    Ok(Redirect::to(&format!("{}/{}/issues/{}#comments", state.config.http.base_path, access.org.slug, row.issue.id))
        .into_response())
}

async fn delete_comment(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((org, id, comment)): Path<(String, String, String)>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ApiError> {
    check_csrf(&viewer, &form.csrfmiddlewaretoken)?;
    let (access, row) = issue_of(&state, &viewer, &org, &id).await?;
    access.require(Scope::EventWrite)?;
    let comment_id: i64 = comment.trim().parse().map_err(|_| ApiError::not_found())?;
    let comment = state.store.comment(row.issue.id, comment_id).await?;
    if comment.user_id != Some(viewer.user.id) {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "Only the author can delete a comment."));
    }
    state.store.delete_comment(row.issue.id, comment.id).await?;
    Ok(Redirect::to(&format!("{}/{}/issues/{}#comments", state.config.http.base_path, access.org.slug, row.issue.id))
        .into_response())
}

async fn unmerge(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((org, id)): Path<(String, String)>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let field = |key: &str| form.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    check_csrf(&viewer, field("csrfmiddlewaretoken").unwrap_or_default())?;
    let (access, row) = issue_of(&state, &viewer, &org, &id).await?;
    access.require(Scope::EventAdmin)?;
    let hashes: Vec<String> = form
        .iter()
        .filter(|(k, v)| k == "hash" && !v.is_empty())
        .map(|(_, h)| h.replace('-', "").to_ascii_lowercase())
        .collect();
    if hashes.is_empty() {
        return Err(ApiError::bad_request("Choose the hashes to unmerge."));
    }
    state.store.unmerge_hashes(row.issue.id, &hashes).await?;
    Ok(Redirect::to(&format!("{}/{}/issues/{}", state.config.http.base_path, access.org.slug, row.issue.id))
        .into_response())
}
