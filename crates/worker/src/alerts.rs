//! Alert evaluation, driven by digestion: after each batch, the rules of the projects
//! whose issues were created, regressed or received events are checked, and the ones
//! that hold fire into the durable outbox ([`Store::fire_alert`] throttles per issue
//! and rule, atomically, so several workers fire each notification once). Delivery is
//! the `alerts.deliver` job ([`crate::jobs::alerts`]).

pub(crate) mod channels;

use std::collections::HashMap;
use std::time::Duration;

use faultline_domain::alerts::{AlertContent, AlertField};
use faultline_store::{
    AlertRecipient, AlertRule, BatchOutcome, Issue, IssueId, NewAlertNotification, Project, ProjectId, Store, Timestamp,
};
use serde_json::{json, Value};

use crate::jobs;
use crate::WorkerContext;

/// Levels by GlitchTip's numbers (1 debug … 5 fatal).
fn level_name(level: i16) -> &'static str {
    match level {
        1 => "debug",
        2 => "info",
        3 => "warning",
        5 => "fatal",
        _ => "error",
    }
}

fn level_rank(name: &str) -> i16 {
    match name {
        "debug" => 1,
        "info" => 2,
        "warning" => 3,
        "fatal" => 5,
        _ => 4,
    }
}

/// Evaluates the rules touched by a written batch; enqueues delivery when one fired.
pub(crate) async fn evaluate(ctx: &WorkerContext, outcome: &BatchOutcome) {
    if outcome.new_issues.is_empty() && outcome.regressed_issues.is_empty() && outcome.touched_issues.is_empty() {
        return;
    }
    match evaluate_batch(ctx, outcome).await {
        Ok(0) => {}
        Ok(fired) => {
            tracing::debug!(fired, "alerts fired");
            jobs::alerts::enqueue_delivery(&ctx.store, Timestamp::now()).await;
        }
        Err(e) => tracing::warn!(error = %e, "alert evaluation failed"),
    }
}

async fn evaluate_batch(ctx: &WorkerContext, outcome: &BatchOutcome) -> Result<usize, faultline_store::StoreError> {
    let store = &ctx.store;
    if !store.any_alert_rules().await? {
        return Ok(0);
    }
    let mut issues: Vec<IssueId> = outcome.touched_issues.iter().map(|(i, _)| *i).collect();
    issues.extend(&outcome.new_issues);
    issues.extend(&outcome.regressed_issues);
    issues.sort();
    issues.dedup();
    let mut rules: HashMap<ProjectId, Vec<AlertRule>> = HashMap::new();
    let mut fired = 0;
    for id in issues {
        let issue = match store.issue(id).await {
            Ok(issue) => issue,
            Err(faultline_store::StoreError::NotFound) => continue,
            Err(e) => return Err(e),
        };
        if let std::collections::hash_map::Entry::Vacant(slot) = rules.entry(issue.project_id) {
            slot.insert(store.alert_rules(issue.project_id).await?);
        }
        let project_rules = &rules[&issue.project_id];
        if project_rules.is_empty() {
            continue;
        }
        for rule in project_rules {
            let Some(reason) = holds(store, rule, &issue, outcome).await? else { continue };
            let project = store.project(issue.project_id).await?;
            let recipients = store.alert_recipients(rule.id).await?;
            let payload = issue_payload(ctx, store, &project, &issue).await?;
            let notes: Vec<NewAlertNotification> = recipients
                .iter()
                .map(|r| NewAlertNotification {
                    recipient_id: r.id,
                    reason: reason.to_string(),
                    payload: recipient_payload(r, &payload, reason),
                })
                .collect();
            if notes.is_empty() {
                continue;
            }
            // A regression re-alerts at once (as in GlitchTip); only one batch reports it.
            let interval = match reason {
                "regression" => Duration::ZERO,
                _ => Duration::from_secs(rule.interval_minutes.max(0) as u64 * 60),
            };
            if store.fire_alert(rule.id, issue.id, interval, &notes).await? {
                fired += 1;
            }
        }
    }
    Ok(fired)
}

/// Why `rule` fires for `issue` now, if it does.
async fn holds(
    store: &Store,
    rule: &AlertRule,
    issue: &Issue,
    outcome: &BatchOutcome,
) -> Result<Option<&'static str>, faultline_store::StoreError> {
    if rule.min_level.as_deref().is_some_and(|min| issue.level < level_rank(min)) {
        return Ok(None);
    }
    let since = Timestamp::from_micros(Timestamp::now().micros() - rule.timespan_minutes.max(1) * 60_000_000);
    let env = rule.environment.as_deref();
    let count = store.issue_event_count_since(issue.id, since, env).await?;
    if count == 0 {
        return Ok(None);
    }
    if let (Some(key), Some(value)) = (&rule.tag_key, &rule.tag_value) {
        if !store.issue_has_tag_since(issue.id, key, value, since).await? {
            return Ok(None);
        }
    }
    if rule.on_new_issue && outcome.new_issues.contains(&issue.id) {
        return Ok(Some("new_issue"));
    }
    if rule.on_regression && outcome.regressed_issues.contains(&issue.id) {
        return Ok(Some("regression"));
    }
    if rule.on_frequency && count >= rule.quantity.max(1) {
        return Ok(Some("frequency"));
    }
    if let Some(users) = rule.users_quantity {
        if store.issue_users_since(issue.id, since).await? >= users.max(1) {
            return Ok(Some("users"));
        }
    }
    Ok(None)
}

/// The facts of an issue alert, from which each recipient's body is made.
async fn issue_payload(
    ctx: &WorkerContext,
    store: &Store,
    project: &Project,
    issue: &Issue,
) -> Result<Value, faultline_store::StoreError> {
    let org = store.organization_by_id(project.organization_id).await?;
    let http = &ctx.config.http;
    let link = format!("{}{}/{}/issues/{}", http.public_url, http.base_path, org.slug, issue.id);
    let tags = store.issue_tag_values(issue.id).await?;
    let top = |key: &str| -> Option<String> {
        tags.iter().filter(|(k, _, _)| k == key).max_by_key(|(_, _, n)| *n).map(|(_, v, _)| v.clone())
    };
    let mut tag_map = serde_json::Map::new();
    for (k, v, n) in &tags {
        let better = tag_map.get(k).and_then(|e: &Value| e["n"].as_i64()).is_none_or(|m| *n > m);
        if better {
            tag_map.insert(k.clone(), json!({"value": v, "n": n}));
        }
    }
    Ok(json!({
        "issueId": issue.id.to_string(),
        "shortId": format!("{}-{}", project.slug.to_uppercase(), issue.short_id),
        "title": issue.title,
        "culprit": issue.culprit,
        "level": level_name(issue.level),
        "levelNumber": issue.level,
        "project": project.name,
        "projectSlug": project.slug,
        "organization": org.slug,
        "link": link,
        "count": issue.times_seen,
        "firstSeen": issue.first_seen,
        "lastSeen": issue.last_seen,
        "environment": top("environment"),
        "release": top("release"),
        "serverName": top("server_name"),
        "tags": tag_map,
    }))
}

/// What one recipient is told about an issue: the alert's neutral content (its
/// `tagsToAdd` become fields), stored in the outbox and rendered for the recipient's
/// channel at delivery ([`channels::render`], [`channels::email`]).
pub(crate) fn recipient_payload(recipient: &AlertRecipient, facts: &Value, reason: &str) -> Value {
    let extra: Vec<String> = serde_json::from_str(&recipient.tags_to_add).unwrap_or_default();
    serde_json::to_value(issue_content(facts, &extra, Some(reason))).unwrap_or_default()
}

/// The content of an issue alert from its facts (also how notifications queued before
/// content existed are read).
pub(crate) fn issue_content(facts: &Value, tags_to_add: &[String], reason: Option<&str>) -> AlertContent {
    let s = |k: &str| facts[k].as_str().unwrap_or_default().to_string();
    // GlitchTip's webhook fields, in its order.
    let mut fields = vec![AlertField::new("Project", s("project"))];
    for (title, key) in [("Environment", "environment"), ("Server Name", "serverName"), ("Release", "release")] {
        if let Some(v) = facts[key].as_str() {
            fields.push(AlertField::new(title, v));
        }
    }
    for tag in tags_to_add {
        if let Some(v) = facts["tags"][tag]["value"].as_str() {
            fields.push(AlertField::new(tag.clone(), v));
        }
    }
    let level = facts["level"].as_str().unwrap_or("error").to_string();
    let mut details = vec![AlertField::new("Level", level.clone())];
    if let Some(count) = facts["count"].as_i64() {
        details.push(AlertField::new("Events", count.to_string()));
    }
    for (title, key) in [("First seen", "firstSeen"), ("Last seen", "lastSeen")] {
        if let Some(v) = facts[key].as_str() {
            details.push(AlertField::new(title, v));
        }
    }
    if let Some(reason) = reason {
        let why = match reason {
            "new_issue" => "a new issue",
            "regression" => "a resolved issue came back",
            "frequency" => "the issue's events reached the rule's quantity",
            "users" => "the issue affected the rule's number of users",
            other => other,
        };
        details.push(AlertField::new("Trigger", why));
    }
    AlertContent {
        title: s("title"),
        text: s("culprit"),
        fields,
        details,
        link: s("link"),
        link_label: "View Issue".into(),
        reference: s("shortId"),
        project: s("project"),
        level,
        dedup_key: match facts["issueId"].as_str() {
            Some(id) => format!("faultline-issue-{id}"),
            None => "faultline-test".into(),
        },
        resolved: false,
    }
}
