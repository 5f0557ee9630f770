//! The viewer's profile: name, email (verified or not), password, theme, per-project
//! alert settings and API tokens (a new token's secret is shown once).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use faultline_domain::access::{Scope, Scopes};
use faultline_domain::accounts;
use faultline_store::{ApiTokenId, ProjectId};
use serde::Deserialize;
use serde_json::Value;

use super::settings::{done, refusal, CsrfForm, Done};
use super::{check_csrf, page, Chrome, Viewer};
use crate::{ApiError, AppState};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/profile", get(profile_page).post(update_profile))
        .route("/profile/password", post(change_password))
        .route("/profile/resend-confirmation", post(resend_confirmation))
        .route("/profile/notifications", post(set_notifications))
        .route("/profile/tokens", post(create_token))
        .route("/profile/tokens/{id}/delete", post(delete_token))
}

struct ThemeOption {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

struct AlertRow {
    id: i64,
    org: String,
    name: String,
    /// `default`, `on` or `off`.
    setting: &'static str,
}

struct TokenRow {
    id: String,
    label: String,
    scopes: String,
    created: String,
    last_used: String,
}

struct ScopeChoice {
    name: &'static str,
    checked: bool,
}

#[derive(Template)]
#[template(path = "profile/profile.html")]
struct ProfilePage {
    chrome: Chrome,
    name: String,
    email: String,
    verified: bool,
    themes: Vec<ThemeOption>,
    alerts: Vec<AlertRow>,
    tokens: Vec<TokenRow>,
    scopes: Vec<ScopeChoice>,
    token_label: String,
    new_token: Option<String>,
    notice: Option<String>,
    error: Option<String>,
}

fn options(viewer: &Viewer) -> serde_json::Map<String, Value> {
    serde_json::from_str(&viewer.user.options).unwrap_or_default()
}

#[derive(Default)]
struct Extras {
    token_label: String,
    checked: Vec<String>,
    new_token: Option<String>,
}

async fn render(
    state: &AppState,
    viewer: &Viewer,
    extras: Extras,
    notice: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let theme = options(viewer).get("preferredTheme").and_then(Value::as_str).unwrap_or("system").to_string();
    let themes = [("system", "System"), ("light", "Light"), ("dark", "Dark")]
        .into_iter()
        .map(|(value, label)| ThemeOption { value, label, selected: value == theme })
        .collect();
    let settings = state.store.user_project_alerts(viewer.user.id).await?;
    let mut alerts = Vec::new();
    for org in state.store.organizations_of(Some(viewer.user.id)).await? {
        for p in state.store.organization_projects(org.id).await? {
            let setting = match settings.iter().find(|(id, _)| *id == p.id).map(|(_, s)| *s) {
                Some(1) => "on",
                Some(0) => "off",
                _ => "default",
            };
            alerts.push(AlertRow { id: p.id.0, org: org.name.clone(), name: p.name, setting });
        }
    }
    let tokens = state
        .store
        .api_tokens_of(viewer.user.id)
        .await?
        .iter()
        .map(|t| TokenRow {
            id: t.id.to_string(),
            label: t.label.clone(),
            scopes: Scopes::from_token_bits(t.scopes).names().join(", "),
            created: t.created_at.to_datetime().format("%Y-%m-%d").to_string(),
            last_used: t.last_used_at.map(|t| t.to_datetime().format("%Y-%m-%d %H:%M").to_string()).unwrap_or_default(),
        })
        .collect();
    let scopes = Scope::ALL
        .iter()
        .filter(|s| **s != Scope::OrgIntegrations)
        .map(|s| ScopeChoice { name: s.as_str(), checked: extras.checked.iter().any(|c| c == s.as_str()) })
        .collect();
    let chrome = Chrome::for_viewer(state, viewer, None).await?;
    Ok(page(
        status,
        &ProfilePage {
            chrome,
            name: viewer.user.name.clone(),
            email: viewer.user.email.clone(),
            verified: viewer.user.email_verified,
            themes,
            alerts,
            tokens,
            scopes,
            token_label: extras.token_label,
            new_token: extras.new_token,
            notice,
            error,
        },
    ))
}

async fn profile_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<Done>,
) -> Result<Response, ApiError> {
    render(&state, &viewer, Extras::default(), q.notice(), None, StatusCode::OK).await
}

#[derive(Debug, Deserialize)]
struct ProfileForm {
    #[serde(default)]
    csrfmiddlewaretoken: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    theme: String,
}

async fn update_profile(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<ProfileForm>,
) -> Result<Response, ApiError> {
    check_csrf(&viewer, &form.csrfmiddlewaretoken)?;
    if !matches!(form.theme.as_str(), "system" | "light" | "dark") {
        let error = Some("Choose a theme: system, light or dark.".to_string());
        return render(&state, &viewer, Extras::default(), None, error, StatusCode::BAD_REQUEST).await;
    }
    let mut options = options(&viewer);
    options.insert("preferredTheme".into(), Value::String(form.theme));
    let name: String = form.name.trim().chars().take(150).collect();
    state
        .store
        .update_user_profile(
            viewer.user.id,
            &name,
            viewer.user.subscribe_by_default,
            &Value::Object(options).to_string(),
        )
        .await?;
    Ok(done(&state, "/profile", "profile-saved"))
}

async fn resend_confirmation(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ApiError> {
    check_csrf(&viewer, &form.csrfmiddlewaretoken)?;
    if !viewer.user.email_verified {
        crate::api::accounts::send_confirmation(&state, &viewer.user).await?;
    }
    Ok(done(&state, "/profile", "confirmation-sent"))
}

#[derive(Debug, Deserialize)]
struct PasswordForm {
    #[serde(default)]
    csrfmiddlewaretoken: String,
    #[serde(default)]
    current: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password2: String,
}

async fn change_password(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<PasswordForm>,
) -> Result<Response, ApiError> {
    check_csrf(&viewer, &form.csrfmiddlewaretoken)?;
    let error = if form.password != form.password2 {
        "The two new passwords do not match.".to_string()
    } else {
        let keep = viewer.session.id.clone();
        match accounts::change_password(&state.store, &viewer.user, &form.current, &form.password, Some(&keep)).await {
            Ok(()) => return Ok(done(&state, "/profile", "password-changed")),
            Err(e) => refusal(e)?,
        }
    };
    render(&state, &viewer, Extras::default(), None, Some(error), StatusCode::BAD_REQUEST).await
}

async fn set_notifications(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let token = form.iter().find(|(k, _)| k == "csrfmiddlewaretoken").map(|(_, v)| v.as_str()).unwrap_or_default();
    check_csrf(&viewer, token)?;
    let mut visible: Vec<ProjectId> = Vec::new();
    for org in state.store.organizations_of(Some(viewer.user.id)).await? {
        visible.extend(state.store.organization_projects(org.id).await?.into_iter().map(|p| p.id));
    }
    for (field, value) in &form {
        let Some(id) = field.strip_prefix("project-") else { continue };
        let id: ProjectId = id.parse().map_err(|_| ApiError::bad_request("bad project id"))?;
        if !visible.contains(&id) {
            return Err(ApiError::not_found());
        }
        let status = match value.as_str() {
            "on" => Some(1),
            "off" => Some(0),
            _ => None,
        };
        state.store.set_user_project_alert(viewer.user.id, id, status).await?;
    }
    Ok(done(&state, "/profile", "notifications-saved"))
}

async fn create_token(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
    check_csrf(&viewer, &field("csrfmiddlewaretoken"))?;
    let checked: Vec<String> = form.iter().filter(|(k, _)| k == "scopes").map(|(_, v)| v.clone()).collect();
    let label = field("label");
    let result = match Scopes::parse_list(&checked.join(",")) {
        Ok(scopes) => faultline_domain::tokens::create(&state.store, &viewer.user, &label, scopes).await,
        Err(e) => Err(e),
    };
    match result {
        Ok((_, secret)) => {
            let notice = Some("Token created. Copy it now: it will not be shown again.".to_string());
            let extras = Extras { new_token: Some(secret), ..Extras::default() };
            render(&state, &viewer, extras, notice, None, StatusCode::CREATED).await
        }
        Err(e) => {
            let msg = refusal(e)?;
            let extras = Extras { token_label: label, checked, new_token: None };
            render(&state, &viewer, extras, None, Some(msg), StatusCode::BAD_REQUEST).await
        }
    }
}

async fn delete_token(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ApiError> {
    check_csrf(&viewer, &form.csrfmiddlewaretoken)?;
    let id: ApiTokenId = id.parse().map_err(|_| ApiError::not_found())?;
    state.store.delete_api_token(viewer.user.id, id).await?;
    Ok(done(&state, "/profile", "token-deleted"))
}
