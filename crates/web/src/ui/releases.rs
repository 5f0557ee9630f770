//! Releases: the organization's releases with their issue and event counts, and one
//! release with the issues seen in it. Counts come from the per-issue `release` tags
//! the digest keeps, so a page costs a few indexed queries.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use faultline_domain::access::Scope;
use faultline_store::{level_name, ReleaseSummary};

use super::issues::{access_of, ago, short_id, when};
use super::{page, Chrome, Viewer};
use crate::{ApiError, AppState};

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/{org}/releases", get(list_page)).route("/{org}/releases/{version}", get(detail_page))
}

pub(crate) struct ReleaseItem {
    pub version: String,
    /// The version, percent-encoded for a path segment.
    pub path: String,
    pub created: String,
    pub released: Option<String>,
    pub projects: String,
    pub issues: i64,
    pub events: i64,
    pub last_event: Option<String>,
}

impl ReleaseItem {
    fn from(r: ReleaseSummary) -> ReleaseItem {
        ReleaseItem {
            path: form_urlencoded::byte_serialize(r.version.as_bytes()).collect::<String>().replace('+', "%20"),
            version: r.version,
            created: when(r.created_at),
            released: r.released_at.map(when),
            projects: r.projects,
            issues: r.issues,
            events: r.events,
            last_event: r.last_event.map(ago),
        }
    }
}

pub(crate) struct ReleaseIssueItem {
    pub id: i64,
    pub title: String,
    pub culprit: String,
    pub short_id: String,
    pub level: &'static str,
    pub status: &'static str,
    pub events: i64,
    pub first_seen: String,
    pub last_seen: String,
}

#[derive(Template)]
#[template(path = "releases/list.html")]
struct ListPage {
    chrome: Chrome,
    org: String,
    releases: Vec<ReleaseItem>,
}

#[derive(Template)]
#[template(path = "releases/detail.html")]
struct DetailPage {
    chrome: Chrome,
    org: String,
    release: ReleaseItem,
    /// The issue list filtered to this release.
    issues_link: String,
    issues: Vec<ReleaseIssueItem>,
}

const LIMIT: i64 = 200;

async fn list_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(org_slug): Path<String>,
) -> Result<Response, ApiError> {
    let access = access_of(&state, &viewer, &org_slug).await?;
    access.require(Scope::ProjectRead)?;
    let chrome = Chrome::for_viewer(&state, &viewer, Some(&access.org.slug)).await?;
    let releases = state.store.organization_releases(access.org.id, LIMIT).await?;
    Ok(page(
        StatusCode::OK,
        &ListPage { chrome, org: access.org.slug, releases: releases.into_iter().map(ReleaseItem::from).collect() },
    ))
}

async fn detail_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((org_slug, version)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let access = access_of(&state, &viewer, &org_slug).await?;
    access.require(Scope::ProjectRead)?;
    let store = &state.store;
    let release = store.organization_release(access.org.id, &version).await?.ok_or_else(ApiError::not_found)?;
    let chrome = Chrome::for_viewer(&state, &viewer, Some(&access.org.slug)).await?;
    let projects = store.organization_projects(access.org.id).await?;
    let issues = store
        .release_issues(access.org.id, &version, LIMIT)
        .await?
        .into_iter()
        .map(|r| ReleaseIssueItem {
            id: r.issue.id.0,
            short_id: short_id(
                projects.iter().find(|p| p.id == r.issue.project_id).map_or("", |p| p.slug.as_str()),
                r.issue.short_id,
            ),
            level: level_name(r.issue.level),
            status: faultline_store::status_name(r.issue.status),
            title: r.issue.title,
            culprit: r.issue.culprit,
            events: r.events,
            first_seen: when(r.first_seen),
            last_seen: ago(r.last_seen),
        })
        .collect();
    let query = format!("release:\"{}\"", release.version.replace('"', ""));
    let issues_link = format!(
        "{}/{}/issues?{}",
        state.config.http.base_path,
        access.org.slug,
        form_urlencoded::Serializer::new(String::new()).append_pair("query", &query).finish()
    );
    Ok(page(
        StatusCode::OK,
        &DetailPage { chrome, org: access.org.slug, release: ReleaseItem::from(release), issues_link, issues },
    ))
}
