//! GlitchTip's project alerts (`ProjectAlert`): rules with their recipients.
//!
//! The body keeps GlitchTip's shape (`name`, `timespanMinutes`, `quantity`, `uptime`,
//! `alertRecipients[{recipientType, url, tagsToAdd}]`) and adds optional fields for the
//! new conditions: `onNewIssue`, `onRegression`, `minLevel`, `environment`,
//! `intervalMinutes`, `usersAffected` (N distinct users within `timespanMinutes`),
//! `tagKey`/`tagValue` (only issues with that tag value), `onFrequency` (default
//! true: whether GlitchTip's N-events-in-T condition applies), and a per-recipient `secret` that signs webhooks (never echoed;
//! `hasSecret` tells whether one is set).

use crate::api::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use faultline_domain::access::Scope;
use faultline_store::{AlertRecipient, AlertRule, NewAlertRecipient, NewAlertRule};
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

use super::{org, project, Auth};
use crate::{ApiError, AppState};

/// A recipient in a rule's body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RecipientIn {
    recipient_type: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    tags_to_add: Vec<String>,
    secret: Option<String>,
}

/// Body of a rule (GlitchTip's `ProjectAlert`, extended).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AlertIn {
    #[serde(default)]
    name: String,
    timespan_minutes: Option<i64>,
    quantity: Option<i64>,
    #[serde(default)]
    uptime: bool,
    #[serde(default)]
    on_new_issue: bool,
    #[serde(default = "yes")]
    on_regression: bool,
    min_level: Option<String>,
    environment: Option<String>,
    interval_minutes: Option<i64>,
    users_affected: Option<i64>,
    tag_key: Option<String>,
    tag_value: Option<String>,
    #[serde(default = "yes")]
    on_frequency: bool,
    #[serde(default)]
    alert_recipients: Vec<RecipientIn>,
}

fn yes() -> bool {
    true
}

impl AlertIn {
    /// The rule and recipients the body asks for (defaults filled in), checked by
    /// [`faultline_domain::alerts::validate`].
    fn validate(self) -> Result<(NewAlertRule, Vec<NewAlertRecipient>), ApiError> {
        let rule = NewAlertRule {
            name: self.name,
            timespan_minutes: self.timespan_minutes.unwrap_or(1),
            quantity: self.quantity.unwrap_or(1),
            uptime: self.uptime,
            on_new_issue: self.on_new_issue,
            on_regression: self.on_regression,
            min_level: self.min_level.filter(|l| !l.is_empty()),
            environment: self.environment.filter(|e| !e.is_empty()),
            interval_minutes: self.interval_minutes.unwrap_or(60),
            users_quantity: self.users_affected,
            tag_key: self.tag_key.filter(|k| !k.is_empty()),
            tag_value: self.tag_value.filter(|v| !v.is_empty()),
            on_frequency: self.on_frequency,
        };
        let recipients: Vec<NewAlertRecipient> = self
            .alert_recipients
            .into_iter()
            .map(|r| NewAlertRecipient {
                recipient_type: r.recipient_type,
                url: r.url,
                secret: r.secret.filter(|s| !s.is_empty()),
                tags_to_add: serde_json::to_string(&r.tags_to_add).unwrap_or_else(|_| "[]".into()),
            })
            .collect();
        faultline_domain::alerts::validate(&rule, &recipients)?;
        Ok((rule, recipients))
    }
}

fn recipient_json(r: &AlertRecipient) -> Value {
    let tags: Vec<String> = serde_json::from_str(&r.tags_to_add).unwrap_or_default();
    json!({
        "id": r.id,
        "recipientType": r.recipient_type,
        "url": r.url,
        "tagsToAdd": tags,
        "hasSecret": r.secret.is_some(),
    })
}

async fn alert_json(state: &AppState, rule: &AlertRule) -> Result<Value, ApiError> {
    let recipients = state.store.alert_recipients(rule.id).await?;
    Ok(json!({
        "id": rule.id,
        "name": rule.name,
        "timespanMinutes": rule.timespan_minutes,
        "quantity": rule.quantity,
        "uptime": rule.uptime,
        "onNewIssue": rule.on_new_issue,
        "onRegression": rule.on_regression,
        "minLevel": rule.min_level,
        "environment": rule.environment,
        "intervalMinutes": rule.interval_minutes,
        "usersAffected": rule.users_quantity,
        "tagKey": rule.tag_key,
        "tagValue": rule.tag_value,
        "onFrequency": rule.on_frequency,
        "alertRecipients": recipients.iter().map(recipient_json).collect::<Vec<_>>(),
    }))
}

fn alert_id(id: &str) -> Result<i64, ApiError> {
    id.parse().map_err(|_| ApiError::not_found())
}

/// A project's alert rules.
#[utoipa::path(get, path = "/api/0/projects/{organization_slug}/{project_slug}/alerts/", tag = "alerts",
    params(("organization_slug" = String, Path), ("project_slug" = String, Path)),
    responses((status = 200, body = Vec<Object>), (status = 404)))]
pub(crate) async fn list_alerts(
    State(state): State<AppState>,
    auth: Auth,
    Path((slug, project_slug)): Path<(String, String)>,
) -> Result<Json<Vec<Value>>, ApiError> {
    let access = org(&state, &auth, &slug).await?;
    access.require(Scope::ProjectRead)?;
    let p = project(&state, &access, &project_slug).await?;
    let mut out = Vec::new();
    for rule in state.store.alert_rules(p.id).await? {
        out.push(alert_json(&state, &rule).await?);
    }
    Ok(Json(out))
}

/// Creates an alert rule.
#[utoipa::path(post, path = "/api/0/projects/{organization_slug}/{project_slug}/alerts/", tag = "alerts",
    params(("organization_slug" = String, Path), ("project_slug" = String, Path)), request_body = AlertIn,
    responses((status = 201, body = Object), (status = 400), (status = 403), (status = 404)))]
pub(crate) async fn create_alert(
    State(state): State<AppState>,
    auth: Auth,
    Path((slug, project_slug)): Path<(String, String)>,
    Json(body): Json<AlertIn>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let access = org(&state, &auth, &slug).await?;
    access.require(Scope::ProjectWrite)?;
    let p = project(&state, &access, &project_slug).await?;
    let (rule, recipients) = body.validate()?;
    let rule = state.store.create_alert_rule(p.id, &rule, &recipients).await?;
    Ok((StatusCode::CREATED, Json(alert_json(&state, &rule).await?)))
}

/// Replaces an alert rule and its recipients.
#[utoipa::path(put, path = "/api/0/projects/{organization_slug}/{project_slug}/alerts/{alert_id}/", tag = "alerts",
    params(("organization_slug" = String, Path), ("project_slug" = String, Path), ("alert_id" = String, Path)),
    request_body = AlertIn, responses((status = 200, body = Object), (status = 400), (status = 403), (status = 404)))]
pub(crate) async fn update_alert(
    State(state): State<AppState>,
    auth: Auth,
    Path((slug, project_slug, id)): Path<(String, String, String)>,
    Json(body): Json<AlertIn>,
) -> Result<Json<Value>, ApiError> {
    let access = org(&state, &auth, &slug).await?;
    access.require(Scope::ProjectWrite)?;
    let p = project(&state, &access, &project_slug).await?;
    let id = alert_id(&id)?;
    let (rule, recipients) = body.validate()?;
    let rule = state.store.update_alert_rule(p.id, id, &rule, &recipients).await?;
    Ok(Json(alert_json(&state, &rule).await?))
}

/// Deletes an alert rule.
#[utoipa::path(delete, path = "/api/0/projects/{organization_slug}/{project_slug}/alerts/{alert_id}/", tag = "alerts",
    params(("organization_slug" = String, Path), ("project_slug" = String, Path), ("alert_id" = String, Path)),
    responses((status = 204), (status = 403), (status = 404)))]
pub(crate) async fn delete_alert(
    State(state): State<AppState>,
    auth: Auth,
    Path((slug, project_slug, id)): Path<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    let access = org(&state, &auth, &slug).await?;
    access.require(Scope::ProjectWrite)?;
    let p = project(&state, &access, &project_slug).await?;
    state.store.delete_alert_rule(p.id, alert_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The delivery log of a rule's recipients, newest first (up to 100 attempts each).
#[utoipa::path(get, path = "/api/0/projects/{organization_slug}/{project_slug}/alerts/{alert_id}/deliveries/",
    tag = "alerts",
    params(("organization_slug" = String, Path), ("project_slug" = String, Path), ("alert_id" = String, Path)),
    responses((status = 200, body = Vec<Object>), (status = 404)))]
pub(crate) async fn list_deliveries(
    State(state): State<AppState>,
    auth: Auth,
    Path((slug, project_slug, id)): Path<(String, String, String)>,
) -> Result<Json<Vec<Value>>, ApiError> {
    let access = org(&state, &auth, &slug).await?;
    access.require(Scope::ProjectRead)?;
    let p = project(&state, &access, &project_slug).await?;
    let rule = state.store.alert_rule(p.id, alert_id(&id)?).await?;
    let mut log = Vec::new();
    for r in state.store.alert_recipients(rule.id).await? {
        log.extend(state.store.alert_deliveries(r.id, 100).await?);
    }
    log.sort_by_key(|d| std::cmp::Reverse((d.created_at, d.id)));
    Ok(Json(
        log.iter()
            .map(|d| {
                json!({
                    "id": d.id,
                    "notificationId": d.notification_id,
                    "recipientId": d.recipient_id,
                    "attempt": d.attempt,
                    "status": d.status,
                    "responseCode": d.response_code,
                    "error": d.error,
                    "dateCreated": d.created_at,
                })
            })
            .collect(),
    ))
}

/// Sends a test notification to every recipient of a rule (delivered, signed, retried
/// and logged like a real one).
#[utoipa::path(post, path = "/api/0/projects/{organization_slug}/{project_slug}/alerts/{alert_id}/test/",
    tag = "alerts",
    params(("organization_slug" = String, Path), ("project_slug" = String, Path), ("alert_id" = String, Path)),
    responses((status = 202, body = Object), (status = 403), (status = 404)))]
pub(crate) async fn test_alert(
    State(state): State<AppState>,
    auth: Auth,
    Path((slug, project_slug, id)): Path<(String, String, String)>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let access = org(&state, &auth, &slug).await?;
    access.require(Scope::ProjectWrite)?;
    let p = project(&state, &access, &project_slug).await?;
    let rule = state.store.alert_rule(p.id, alert_id(&id)?).await?;
    let http = &state.config.http;
    let link = format!("{}{}/{}/issues", http.public_url, http.base_path, access.org.slug);
    let queued = faultline_domain::alerts::send_test(&state.store, &p, &rule, &link).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"queued": queued}))))
}
