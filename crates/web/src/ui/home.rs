//! The home page: the viewer's projects, grouped by organization.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use super::{page, Chrome, Viewer};
use crate::{ApiError, AppState};

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/", get(home))
}

pub(crate) struct ProjectCard {
    pub id: i64,
    pub name: String,
    pub slug: String,
    pub platform: String,
    pub created: String,
}

pub(crate) struct OrgGroup {
    pub slug: String,
    pub name: String,
    pub projects: Vec<ProjectCard>,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    chrome: Chrome,
    groups: Vec<OrgGroup>,
}

#[derive(Deserialize)]
struct HomeQuery {
    /// The organization switcher submits here.
    org: Option<String>,
}

async fn home(State(state): State<AppState>, viewer: Viewer, Query(q): Query<HomeQuery>) -> Result<Response, ApiError> {
    if let Some(org) = q.org.filter(|o| !o.is_empty()) {
        return Ok(Redirect::to(&format!("{}/{org}/issues", state.config.http.base_path)).into_response());
    }
    let chrome = Chrome::for_viewer(&state, &viewer, None).await?;
    let mut groups = Vec::new();
    for org in &chrome.orgs {
        let projects = state.store.organization_projects(org.id).await?;
        groups.push(OrgGroup {
            slug: org.slug.clone(),
            name: org.name.clone(),
            projects: projects
                .into_iter()
                .map(|p| ProjectCard {
                    id: p.id.0,
                    name: p.name,
                    slug: p.slug,
                    platform: p.platform.unwrap_or_else(|| "other".into()),
                    created: p.created_at.to_datetime().format("%Y-%m-%d").to_string(),
                })
                .collect(),
        });
    }
    Ok(page(StatusCode::OK, &HomePage { chrome, groups }))
}
