//! A project's alert rules: each rule read as a sentence, a sentence-shaped form to add
//! one, "send test notification", and the recent deliveries of each rule. Rules are
//! checked by `faultline_domain::alerts`, as in the API.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use faultline_domain::access::{OrgAccess, Scope};
use faultline_domain::DomainError;
use faultline_store::{NewAlertRecipient, NewAlertRule, Project};
use serde::Deserialize;

use super::{access, done, refusal, CsrfForm, Done};
use crate::ui::{check_csrf, page, Chrome, Viewer};
use crate::{ApiError, AppState};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/{org}/settings/projects/{slug}/alerts", get(alerts_page).post(create_rule))
        .route("/{org}/settings/projects/{slug}/alerts/{id}/delete", post(delete_rule))
        .route("/{org}/settings/projects/{slug}/alerts/{id}/test", post(test_rule))
}

pub(crate) struct DeliveryView {
    pub when: String,
    pub status: String,
    pub detail: String,
}

pub(crate) struct RuleView {
    pub id: i64,
    pub name: String,
    pub sentence: String,
    pub recipients: Vec<String>,
    pub deliveries: Vec<DeliveryView>,
}

#[derive(Template)]
#[template(path = "settings/alerts.html")]
struct AlertsPage {
    chrome: Chrome,
    slug: String,
    project: Project,
    rules: Vec<RuleView>,
    can_write: bool,
    notice: Option<String>,
    error: Option<String>,
}

/// The form: "When <trigger> [with level at least <level>] [in <environment>], notify
/// <recipient> at most every <interval> minutes."
#[derive(Debug, Deserialize)]
pub(crate) struct RuleForm {
    #[serde(default)]
    csrfmiddlewaretoken: String,
    #[serde(default)]
    name: String,
    /// `new`, `regression`, `frequency`, `users` or `uptime`.
    #[serde(default)]
    trigger: String,
    #[serde(default)]
    quantity: String,
    #[serde(default)]
    timespan: String,
    #[serde(default)]
    users: String,
    #[serde(default)]
    users_timespan: String,
    #[serde(default)]
    tag_key: String,
    #[serde(default)]
    tag_value: String,
    #[serde(default)]
    min_level: String,
    #[serde(default)]
    environment: String,
    #[serde(default)]
    recipient_type: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    interval: String,
}

fn number(text: &str, default: i64, field: &str) -> Result<i64, DomainError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(default);
    }
    text.parse().map_err(|_| DomainError::Invalid(format!("{field} must be a whole number.")))
}

impl RuleForm {
    fn rule(&self) -> Result<(NewAlertRule, Vec<NewAlertRecipient>), DomainError> {
        let trigger = self.trigger.as_str();
        let (frequency, users) = (trigger == "frequency", trigger == "users");
        let tag_key = Some(self.tag_key.trim().to_string()).filter(|k| !k.is_empty());
        let rule = NewAlertRule {
            name: self.name.trim().to_string(),
            timespan_minutes: match trigger {
                "frequency" => number(&self.timespan, 1, "The period")?,
                "users" => number(&self.users_timespan, 60, "The period")?,
                // The tag filter looks at this window too.
                _ => 60,
            },
            quantity: if frequency { number(&self.quantity, 1, "The number of events")? } else { 1 },
            uptime: trigger == "uptime",
            on_new_issue: trigger == "new",
            on_regression: matches!(trigger, "new" | "regression"),
            min_level: Some(self.min_level.trim().to_string()).filter(|l| !l.is_empty()),
            environment: Some(self.environment.trim().to_string()).filter(|e| !e.is_empty()),
            interval_minutes: number(&self.interval, 60, "The interval")?,
            users_quantity: if users { Some(number(&self.users, 1, "The number of users")?) } else { None },
            tag_value: tag_key.as_ref().map(|_| self.tag_value.trim().to_string()),
            tag_key,
            on_frequency: frequency,
        };
        if !matches!(trigger, "new" | "regression" | "frequency" | "users" | "uptime") {
            return Err(DomainError::Invalid("Choose when the rule fires.".into()));
        }
        let recipient = NewAlertRecipient {
            recipient_type: self.recipient_type.clone(),
            url: self.url.trim().to_string(),
            secret: None,
            tags_to_add: "[]".into(),
        };
        let recipients = vec![recipient];
        faultline_domain::alerts::validate(&rule, &recipients)?;
        Ok((rule, recipients))
    }
}

/// The host of a URL, without credentials, path or query.
fn url_host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    authority.rsplit_once('@').map_or(authority, |(_, host)| host)
}

/// A rule in words.
fn sentence(rule: &faultline_store::AlertRule) -> String {
    let mut parts = Vec::new();
    if rule.on_new_issue {
        parts.push("a new issue appears".to_string());
    }
    if rule.on_frequency {
        parts.push(format!("an issue gets {} or more events in {} minutes", rule.quantity, rule.timespan_minutes));
    }
    if let Some(users) = rule.users_quantity {
        parts.push(format!("an issue affects {users} or more users in {} minutes", rule.timespan_minutes));
    }
    if rule.on_regression {
        parts.push("a resolved issue comes back".to_string());
    }
    if rule.uptime {
        parts.push("an uptime monitor or cron job of this project goes down or recovers".to_string());
    }
    if parts.is_empty() {
        parts.push("never".to_string());
    }
    let mut s = format!("When {}", parts.join(" or "));
    if let (Some(key), Some(value)) = (&rule.tag_key, &rule.tag_value) {
        s.push_str(&format!(", with tag {key} = {value}"));
    }
    if let Some(level) = &rule.min_level {
        s.push_str(&format!(", with level {level} or higher"));
    }
    if let Some(env) = &rule.environment {
        s.push_str(&format!(", in {env}"));
    }
    s.push_str(&format!(", notify at most every {} minutes per issue.", rule.interval_minutes));
    s
}

async fn find(state: &AppState, viewer: &Viewer, org: &str, slug: &str) -> Result<(OrgAccess, Project), ApiError> {
    let access = access(state, viewer, org).await?;
    access.require(Scope::ProjectRead)?;
    let project = crate::api::project(state, &access, slug).await?;
    Ok((access, project))
}

async fn render(
    state: &AppState,
    viewer: &Viewer,
    access: &OrgAccess,
    project: Project,
    notice: Option<String>,
    error: Option<String>,
) -> Result<Response, ApiError> {
    let store = &state.store;
    let mut rules = Vec::new();
    for rule in store.alert_rules(project.id).await? {
        let recipients = store.alert_recipients(rule.id).await?;
        let mut deliveries = Vec::new();
        for r in &recipients {
            deliveries.extend(store.alert_deliveries(r.id, 10).await?);
        }
        deliveries.sort_by_key(|d| std::cmp::Reverse((d.created_at, d.id)));
        deliveries.truncate(10);
        rules.push(RuleView {
            id: rule.id,
            sentence: sentence(&rule),
            name: rule.name,
            recipients: recipients
                .iter()
                .map(|r| {
                    if r.url.is_empty() {
                        r.recipient_type.clone()
                    } else {
                        // Only the host: URLs of chat and paging services carry their tokens.
                        format!("{} ({})", r.recipient_type, url_host(&r.url))
                    }
                })
                .collect(),
            deliveries: deliveries
                .into_iter()
                .map(|d| DeliveryView {
                    when: d.created_at.to_datetime().format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                    detail: match (d.response_code, d.error) {
                        (Some(code), Some(e)) => format!("HTTP {code}: {e}"),
                        (Some(code), None) => format!("HTTP {code}"),
                        (None, Some(e)) => e,
                        (None, None) => String::new(),
                    },
                    status: d.status,
                })
                .collect(),
        });
    }
    let chrome = Chrome::for_viewer(state, viewer, Some(&access.org.slug)).await?;
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    Ok(page(
        status,
        &AlertsPage {
            chrome,
            slug: access.org.slug.clone(),
            project,
            rules,
            can_write: access.scopes.contains(Scope::ProjectWrite),
            notice,
            error,
        },
    ))
}

async fn alerts_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((org, slug)): Path<(String, String)>,
    Query(q): Query<Done>,
) -> Result<Response, ApiError> {
    let (access, project) = find(&state, &viewer, &org, &slug).await?;
    let notice = match q.done.as_deref() {
        Some("alert-created") => Some("Alert rule created.".to_string()),
        Some("alert-deleted") => Some("Alert rule deleted.".to_string()),
        Some("alert-tested") => Some("Test notifications are on their way; see the deliveries below.".to_string()),
        _ => None,
    };
    render(&state, &viewer, &access, project, notice, None).await
}

async fn create_rule(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((org, slug)): Path<(String, String)>,
    Form(form): Form<RuleForm>,
) -> Result<Response, ApiError> {
    check_csrf(&viewer, &form.csrfmiddlewaretoken)?;
    let (access, project) = find(&state, &viewer, &org, &slug).await?;
    let result = async {
        access.require(Scope::ProjectWrite)?;
        let (rule, recipients) = form.rule()?;
        state.store.create_alert_rule(project.id, &rule, &recipients).await?;
        Ok::<(), DomainError>(())
    }
    .await;
    match result {
        Ok(()) => Ok(done(&state, &format!("/{org}/settings/projects/{slug}/alerts"), "alert-created")),
        Err(e) => render(&state, &viewer, &access, project, None, Some(refusal(e)?)).await,
    }
}

async fn rule_action(
    state: &AppState,
    viewer: &Viewer,
    (org, slug, id): &(String, String, String),
    csrf: &str,
) -> Result<(Project, faultline_store::AlertRule, OrgAccess), ApiError> {
    check_csrf(viewer, csrf)?;
    let (access, project) = find(state, viewer, org, slug).await?;
    access.require(Scope::ProjectWrite)?;
    let id: i64 = id.parse().map_err(|_| ApiError::not_found())?;
    let rule = state.store.alert_rule(project.id, id).await?;
    Ok((project, rule, access))
}

async fn delete_rule(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(path): Path<(String, String, String)>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ApiError> {
    let (project, rule, _) = rule_action(&state, &viewer, &path, &form.csrfmiddlewaretoken).await?;
    state.store.delete_alert_rule(project.id, rule.id).await?;
    Ok(done(&state, &format!("/{}/settings/projects/{}/alerts", path.0, path.1), "alert-deleted"))
}

async fn test_rule(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(path): Path<(String, String, String)>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ApiError> {
    let (project, rule, access) = rule_action(&state, &viewer, &path, &form.csrfmiddlewaretoken).await?;
    let http = &state.config.http;
    let link = format!("{}{}/{}/issues", http.public_url, http.base_path, access.org.slug);
    faultline_domain::alerts::send_test(&state.store, &project, &rule, &link).await?;
    Ok(done(&state, &format!("/{}/settings/projects/{}/alerts", path.0, path.1), "alert-tested"))
}
