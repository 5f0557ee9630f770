//! A project's settings page: its DSN and security endpoint with setup snippets for
//! each SDK, whether the first event arrived (polled by `app.js`), the general
//! settings, client keys and environments, and deletion.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use faultline_domain::access::{OrgAccess, Scope};
use faultline_domain::projects::{self as domain, ProjectChanges};
use faultline_domain::DomainError;
use faultline_store::{Project, ProjectKey};
use serde::Deserialize;

use super::{access, date, done, refusal, CsrfForm, Done};
use crate::ui::{check_csrf, page, Chrome, Viewer};
use crate::{ApiError, AppState};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/{org}/settings/projects/{slug}", get(project_page).post(update_project))
        .route("/{org}/settings/projects/{slug}/delete", post(delete_project))
        .route("/{org}/settings/projects/{slug}/keys", post(create_key))
        .route("/{org}/settings/projects/{slug}/keys/{key}", post(update_key))
        .route("/{org}/settings/projects/{slug}/keys/{key}/rotate", post(rotate_key))
        .route("/{org}/settings/projects/{slug}/keys/{key}/delete", post(delete_key))
        .route("/{org}/settings/projects/{slug}/environments", post(set_environment))
}

/// The platforms offered when creating a project: value, label.
pub(crate) const PLATFORMS: [(&str, &str); 10] = [
    ("python", "Python"),
    ("javascript", "JavaScript (browser)"),
    ("node", "Node.js"),
    ("go", "Go"),
    ("java", "Java"),
    ("csharp", ".NET"),
    ("php", "PHP"),
    ("ruby", "Ruby"),
    ("rust", "Rust"),
    ("other", "Other"),
];

/// One SDK's setup instructions, with the DSN filled in.
pub(crate) struct Snippet {
    pub platform: &'static str,
    pub label: &'static str,
    pub install: String,
    pub code: String,
    pub open: bool,
}

/// Setup snippets for every supported SDK; the project's own platform first and open.
pub(crate) fn snippets(dsn: &str, platform: Option<&str>) -> Vec<Snippet> {
    let all = [
        (
            "python",
            "Python",
            "pip install --upgrade sentry-sdk".to_string(),
            format!("import sentry_sdk\n\nsentry_sdk.init(\n    dsn=\"{dsn}\",\n)"),
        ),
        (
            "javascript",
            "JavaScript (browser)",
            "npm install --save @sentry/browser".to_string(),
            format!("import * as Sentry from \"@sentry/browser\";\n\nSentry.init({{\n  dsn: \"{dsn}\",\n}});"),
        ),
        (
            "node",
            "Node.js",
            "npm install --save @sentry/node".to_string(),
            format!("const Sentry = require(\"@sentry/node\");\n\nSentry.init({{\n  dsn: \"{dsn}\",\n}});"),
        ),
        (
            "go",
            "Go",
            "go get github.com/getsentry/sentry-go".to_string(),
            format!(
                "err := sentry.Init(sentry.ClientOptions{{\n    Dsn: \"{dsn}\",\n}})\nif err != nil {{\n    log.Fatalf(\"sentry.Init: %s\", err)\n}}\ndefer sentry.Flush(2 * time.Second)"
            ),
        ),
        (
            "java",
            "Java",
            "implementation 'io.sentry:sentry:7.+'".to_string(),
            format!("import io.sentry.Sentry;\n\nSentry.init(options -> {{\n    options.setDsn(\"{dsn}\");\n}});"),
        ),
        (
            "csharp",
            ".NET",
            "dotnet add package Sentry".to_string(),
            format!("using Sentry;\n\nusing (SentrySdk.Init(o =>\n{{\n    o.Dsn = \"{dsn}\";\n}}))\n{{\n    // your app\n}}"),
        ),
        (
            "php",
            "PHP",
            "composer require sentry/sentry".to_string(),
            format!("\\Sentry\\init(['dsn' => '{dsn}']);"),
        ),
        (
            "ruby",
            "Ruby",
            "gem install sentry-ruby".to_string(),
            format!("require \"sentry-ruby\"\n\nSentry.init do |config|\n  config.dsn = \"{dsn}\"\nend"),
        ),
        (
            "rust",
            "Rust",
            "cargo add sentry".to_string(),
            format!(
                "let _guard = sentry::init((\n    \"{dsn}\",\n    sentry::ClientOptions {{\n        release: sentry::release_name!(),\n        ..Default::default()\n    }},\n));"
            ),
        ),
    ];
    let mut out: Vec<Snippet> = all
        .into_iter()
        .map(|(p, label, install, code)| Snippet { platform: p, label, install, code, open: Some(p) == platform })
        .collect();
    out.sort_by_key(|s| !s.open);
    if !out.iter().any(|s| s.open) {
        if let Some(first) = out.first_mut() {
            first.open = true;
        }
    }
    out
}

struct KeyView {
    id: String,
    label: String,
    active: bool,
    dsn: String,
    rate_count: String,
    rate_window: String,
    created: String,
}

struct EnvView {
    name: String,
    hidden: bool,
}

struct PlatformOption {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

#[derive(Template)]
#[template(path = "settings/project.html")]
struct ProjectPage {
    chrome: Chrome,
    slug: String,
    project: Project,
    dsn: Option<String>,
    security: Option<String>,
    snippets: Vec<Snippet>,
    first_event: bool,
    platforms: Vec<PlatformOption>,
    keys: Vec<KeyView>,
    environments: Vec<EnvView>,
    can_write: bool,
    can_admin: bool,
    notice: Option<String>,
    error: Option<String>,
}

fn dsn_of(state: &AppState, key: &ProjectKey) -> String {
    domain::dsn(&state.config.http.public_url, &state.config.http.base_path, key)
}

async fn render(
    state: &AppState,
    viewer: &Viewer,
    access: &OrgAccess,
    project: Project,
    notice: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, ApiError> {
    access.require(Scope::ProjectRead)?;
    let keys = state.store.project_keys(project.id).await?;
    let main = keys.iter().find(|k| k.is_active).or(keys.first());
    let dsn = main.map(|k| dsn_of(state, k));
    let http = &state.config.http;
    let security = main.map(|k| {
        format!("{}{}/api/{}/security/?glitchtip_key={}", http.public_url, http.base_path, project.id, k.public_key)
    });
    let snippets = dsn.as_deref().map(|d| snippets(d, project.platform.as_deref())).unwrap_or_default();
    let platforms = PLATFORMS
        .iter()
        .map(|(value, label)| PlatformOption {
            value,
            label,
            selected: project.platform.as_deref().unwrap_or("other") == *value,
        })
        .collect();
    let keys = keys
        .iter()
        .map(|k| KeyView {
            id: k.public_key.clone(),
            label: k.label.clone(),
            active: k.is_active,
            dsn: dsn_of(state, k),
            rate_count: k.rate_limit_count.map(|c| c.to_string()).unwrap_or_default(),
            rate_window: k.rate_limit_window.map(|c| c.to_string()).unwrap_or_default(),
            created: date(k.created_at),
        })
        .collect();
    let environments = state
        .store
        .project_environments(project.id)
        .await?
        .into_iter()
        .map(|e| EnvView { name: e.name, hidden: e.is_hidden })
        .collect();
    let chrome = Chrome::for_viewer(state, viewer, Some(&access.org.slug)).await?;
    Ok(page(
        status,
        &ProjectPage {
            chrome,
            slug: access.org.slug.clone(),
            first_event: project.first_event_at.is_some(),
            project,
            dsn,
            security,
            snippets,
            platforms,
            keys,
            environments,
            can_write: access.scopes.contains(Scope::ProjectWrite),
            can_admin: access.scopes.contains(Scope::ProjectAdmin),
            notice,
            error,
        },
    ))
}

async fn find(state: &AppState, viewer: &Viewer, org: &str, slug: &str) -> Result<(OrgAccess, Project), ApiError> {
    let access = access(state, viewer, org).await?;
    let project = crate::api::project(state, &access, slug).await?;
    Ok((access, project))
}

async fn project_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((org, slug)): Path<(String, String)>,
    Query(q): Query<Done>,
) -> Result<Response, ApiError> {
    let (access, project) = find(&state, &viewer, &org, &slug).await?;
    render(&state, &viewer, &access, project, q.notice(), None, StatusCode::OK).await
}

/// Redirects back to the project page with a notice, or re-renders it with the refusal.
async fn outcome(
    state: &AppState,
    viewer: &Viewer,
    org: &str,
    slug: &str,
    result: Result<(), DomainError>,
    code: &str,
) -> Result<Response, ApiError> {
    match result {
        Ok(()) => {
            state.ingest.keys.invalidate();
            Ok(done(state, &format!("/{org}/settings/projects/{slug}"), code))
        }
        Err(e) => {
            let msg = refusal(e)?;
            let (access, project) = find(state, viewer, org, slug).await?;
            render(state, viewer, &access, project, None, Some(msg), StatusCode::BAD_REQUEST).await
        }
    }
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
    grouping: String,
    scrub_data: Option<String>,
    scrub_ip_addresses: Option<String>,
}

async fn update_project(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((org, slug)): Path<(String, String)>,
    Form(form): Form<ProjectForm>,
) -> Result<Response, ApiError> {
    check_csrf(&viewer, &form.csrfmiddlewaretoken)?;
    let (access, project) = find(&state, &viewer, &org, &slug).await?;
    let platform = if form.platform == "other" { String::new() } else { form.platform };
    let changes = ProjectChanges {
        name: Some(form.name),
        platform: Some(platform),
        grouping: Some(form.grouping).filter(|g| !g.is_empty()),
        scrub_data: Some(form.scrub_data.is_some()),
        scrub_ip_addresses: Some(form.scrub_ip_addresses.is_some()),
        ..ProjectChanges::default()
    };
    let result = domain::update(&state.store, &access, project, changes).await.map(|_| ());
    outcome(&state, &viewer, &org, &slug, result, "project-saved").await
}

async fn delete_project(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((org, slug)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ApiError> {
    check_csrf(&viewer, &form.csrfmiddlewaretoken)?;
    let (access, project) = find(&state, &viewer, &org, &slug).await?;
    match domain::delete(&state.store, &access, &project).await {
        Ok(()) => {
            state.ingest.keys.invalidate();
            Ok(Redirect::to(&format!("{}/{org}/projects", state.config.http.base_path)).into_response())
        }
        Err(e) => outcome(&state, &viewer, &org, &slug, Err(e), "").await,
    }
}

#[derive(Debug, Deserialize)]
struct KeyForm {
    #[serde(default)]
    csrfmiddlewaretoken: String,
    #[serde(default)]
    label: String,
    is_active: Option<String>,
    #[serde(default)]
    rate_count: String,
    #[serde(default)]
    rate_window: String,
}

fn parse_limit(count: &str, window: &str) -> Result<Option<(i32, i32)>, DomainError> {
    let (count, window) = (count.trim(), window.trim());
    if count.is_empty() && window.is_empty() {
        return Ok(None);
    }
    let bad = || DomainError::Invalid("The rate limit needs whole numbers: events per seconds.".into());
    let count: i32 = count.parse().map_err(|_| bad())?;
    let window: i32 = window.parse().map_err(|_| bad())?;
    Ok(Some(domain::check_rate_limit(count, window)?))
}

async fn create_key(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((org, slug)): Path<(String, String)>,
    Form(form): Form<KeyForm>,
) -> Result<Response, ApiError> {
    check_csrf(&viewer, &form.csrfmiddlewaretoken)?;
    let (access, project) = find(&state, &viewer, &org, &slug).await?;
    let result = async {
        access.require(Scope::ProjectWrite)?;
        let limit = parse_limit(&form.rate_count, &form.rate_window)?;
        let label = if form.label.trim().is_empty() { "Default" } else { form.label.trim() };
        let key = state.store.create_project_key(project.id, label).await?;
        if limit.is_some() {
            state.store.update_project_key(key.id, &key.label, true, limit).await?;
        }
        Ok::<(), DomainError>(())
    }
    .await;
    outcome(&state, &viewer, &org, &slug, result, "key-created").await
}

async fn find_key(state: &AppState, project: &Project, key: &str) -> Result<ProjectKey, ApiError> {
    let public = faultline_protocol::normalize_key(key).ok_or_else(ApiError::not_found)?;
    state.store.project_key(project.id, &public).await?.ok_or_else(ApiError::not_found)
}

async fn update_key(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((org, slug, key)): Path<(String, String, String)>,
    Form(form): Form<KeyForm>,
) -> Result<Response, ApiError> {
    check_csrf(&viewer, &form.csrfmiddlewaretoken)?;
    let (access, project) = find(&state, &viewer, &org, &slug).await?;
    let key = find_key(&state, &project, &key).await?;
    let result = async {
        access.require(Scope::ProjectWrite)?;
        let limit = parse_limit(&form.rate_count, &form.rate_window)?;
        let label = if form.label.trim().is_empty() { key.label.as_str() } else { form.label.trim() };
        state.store.update_project_key(key.id, label, form.is_active.is_some(), limit).await?;
        Ok::<(), DomainError>(())
    }
    .await;
    outcome(&state, &viewer, &org, &slug, result, "key-saved").await
}

async fn rotate_key(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((org, slug, key)): Path<(String, String, String)>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ApiError> {
    check_csrf(&viewer, &form.csrfmiddlewaretoken)?;
    let (access, project) = find(&state, &viewer, &org, &slug).await?;
    let old = find_key(&state, &project, &key).await?;
    let result = async {
        access.require(Scope::ProjectWrite)?;
        let limit = old.rate_limit_count.zip(old.rate_limit_window);
        let new = state.store.create_project_key(project.id, &old.label).await?;
        if limit.is_some() {
            state.store.update_project_key(new.id, &new.label, true, limit).await?;
        }
        state.store.update_project_key(old.id, &old.label, false, limit).await?;
        Ok::<(), DomainError>(())
    }
    .await;
    outcome(&state, &viewer, &org, &slug, result, "key-rotated").await
}

async fn delete_key(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((org, slug, key)): Path<(String, String, String)>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ApiError> {
    check_csrf(&viewer, &form.csrfmiddlewaretoken)?;
    let (access, project) = find(&state, &viewer, &org, &slug).await?;
    let key = find_key(&state, &project, &key).await?;
    let result = async {
        access.require(Scope::ProjectAdmin)?;
        state.store.delete_project_key(key.id).await?;
        Ok::<(), DomainError>(())
    }
    .await;
    outcome(&state, &viewer, &org, &slug, result, "key-deleted").await
}

#[derive(Debug, Deserialize)]
struct EnvForm {
    #[serde(default)]
    csrfmiddlewaretoken: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    hidden: String,
}

async fn set_environment(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((org, slug)): Path<(String, String)>,
    Form(form): Form<EnvForm>,
) -> Result<Response, ApiError> {
    check_csrf(&viewer, &form.csrfmiddlewaretoken)?;
    let (access, project) = find(&state, &viewer, &org, &slug).await?;
    let result = async {
        access.require(Scope::ProjectWrite)?;
        state.store.set_environment_hidden(project.id, &form.name, form.hidden == "true").await?;
        Ok::<(), DomainError>(())
    }
    .await;
    outcome(&state, &viewer, &org, &slug, result, "env-saved").await
}
