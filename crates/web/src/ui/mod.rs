//! The web UI: server-rendered HTML from askama templates compiled into the binary
//! (`crates/web/templates/`), one stylesheet and one small script embedded and served
//! with content-hashed URLs, and a Content-Security-Policy without `unsafe-inline`.
//!
//! Pages authenticate with the session cookie only ([`Viewer`]); a page that needs a
//! login redirects to `/login?next=…`. Logged-in forms carry the session's CSRF token
//! (`csrfmiddlewaretoken`), anonymous forms are checked by `Origin`. Pages use the same
//! domain functions and store queries as the REST API.

mod assets;
mod auth;
mod crons;
mod home;
mod issues;
mod monitors;
mod onboarding;
mod profile;
mod releases;
mod settings;
mod status_pages;
mod status_public;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Router;
use faultline_store::{hash_secret, Organization, Session, User};

pub use assets::Assets;

use crate::api::auth::{cookie, SESSION_COOKIE};
use crate::{ApiError, AppState};

/// The policy every page is served with: no inline script or style, no framing.
const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
    connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

pub(crate) fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .merge(assets::routes())
        .merge(auth::routes())
        .merge(home::routes())
        .merge(onboarding::routes())
        .merge(settings::routes())
        .merge(profile::routes())
        .merge(issues::routes())
        .merge(releases::routes())
        .merge(status_pages::routes())
        .merge(status_public::routes())
        .merge(crons::routes())
        .merge(monitors::routes())
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state, html_errors))
}

#[derive(askama::Template)]
#[template(path = "error.html")]
struct ErrorPage {
    chrome: Chrome,
    status: u16,
    reason: String,
    detail: String,
}

/// Unknown paths outside the API answer with a page (the API's own 404s stay JSON).
async fn not_found(uri: axum::http::Uri) -> Response {
    if uri.path().contains("/api/") {
        return ApiError::not_found().into_response();
    }
    ApiError::new(StatusCode::NOT_FOUND, "There is no page at this address.").into_response()
}

/// Pages share the API's error type, which answers `{"detail": …}`; for a browser the
/// same status and message are rendered as a page instead. Unknown `/api/` paths reach
/// the fallback too and keep their JSON.
async fn html_errors(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let api = request.uri().path().contains("/api/");
    let response = next.run(request).await;
    if api {
        return response;
    }
    let status = response.status();
    let json = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !json || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let body = axum::body::to_bytes(response.into_body(), 64 * 1024).await.unwrap_or_default();
    let detail = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("detail").and_then(|d| d.as_str()).map(String::from))
        .unwrap_or_default();
    let reason = status.canonical_reason().unwrap_or("Error").to_string();
    page(status, &ErrorPage { chrome: Chrome::anonymous(&state), status: status.as_u16(), reason, detail })
}

/// What every page's frame shows.
pub(crate) struct Chrome {
    pub base: String,
    pub assets: Assets,
    pub user: Option<User>,
    pub orgs: Vec<Organization>,
    pub org: Option<String>,
    pub csrf: String,
    pub theme: Option<String>,
}

impl Chrome {
    /// The frame for an anonymous page.
    pub fn anonymous(state: &AppState) -> Chrome {
        Chrome {
            base: state.config.http.base_path.clone(),
            assets: Assets::urls(&state.config.http.base_path),
            user: None,
            orgs: Vec::new(),
            org: None,
            csrf: String::new(),
            theme: None,
        }
    }

    /// The frame for a logged-in viewer, `org` being the organization in view.
    pub async fn for_viewer(state: &AppState, viewer: &Viewer, org: Option<&str>) -> Result<Chrome, ApiError> {
        let orgs = state.store.organizations_of(Some(viewer.user.id)).await?;
        let org = org.map(String::from).or_else(|| orgs.first().map(|o| o.slug.clone()));
        let options: serde_json::Value = serde_json::from_str(&viewer.user.options).unwrap_or_default();
        let theme = options.get("preferredTheme").and_then(|t| t.as_str()).filter(|t| matches!(*t, "light" | "dark"));
        Ok(Chrome {
            base: state.config.http.base_path.clone(),
            assets: Assets::urls(&state.config.http.base_path),
            user: Some(viewer.user.clone()),
            orgs,
            org,
            csrf: viewer.session.csrf_token.clone(),
            theme: theme.map(String::from),
        })
    }
}

/// Renders a template as a page with the UI's security headers.
pub(crate) fn page<T: askama::Template>(status: StatusCode, template: &T) -> Response {
    match template.render() {
        Ok(html) => {
            let mut response = (status, Html(html)).into_response();
            secure(&mut response);
            response
        }
        Err(e) => ApiError::internal(&e).into_response(),
    }
}

fn secure(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert("content-security-policy", HeaderValue::from_static(CSP));
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    headers.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
}

/// A logged-in user of the web UI (session cookie only).
#[derive(Debug, Clone)]
pub(crate) struct Viewer {
    pub user: User,
    pub session: Session,
}

/// The viewer, if logged in.
pub(crate) struct MaybeViewer(pub Option<Viewer>);

async fn viewer(state: &AppState, parts: &Parts) -> Result<Option<Viewer>, ApiError> {
    let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else { return Ok(None) };
    Ok(state.store.session(&hash_secret(token)).await?.map(|(session, user)| Viewer { user, session }))
}

impl FromRequestParts<AppState> for MaybeViewer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(MaybeViewer(viewer(state, parts).await?))
    }
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match viewer(state, parts).await {
            Ok(Some(v)) => Ok(v),
            Ok(None) => {
                let here = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
                let next: String = form_urlencoded::byte_serialize(here.as_bytes()).collect();
                Err(Redirect::to(&format!("{}/login?next={next}", state.config.http.base_path)).into_response())
            }
            Err(e) => Err(e.into_response()),
        }
    }
}

/// Refuses a logged-in form post whose CSRF token is not the session's.
pub(crate) fn check_csrf(viewer: &Viewer, token: &str) -> Result<(), ApiError> {
    if !token.is_empty() && token == viewer.session.csrf_token {
        Ok(())
    } else {
        Err(ApiError::new(StatusCode::FORBIDDEN, "CSRF Failed: CSRF token missing or incorrect."))
    }
}

/// A safe place to go after a form: a local path below the base path, else `/`.
pub(crate) fn local_next(state: &AppState, next: Option<&str>) -> String {
    let base = &state.config.http.base_path;
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') && n.starts_with(base.as_str()) => {
            n.to_string()
        }
        _ => format!("{base}/"),
    }
}
