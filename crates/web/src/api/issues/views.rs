//! The JSON shapes of issues, events, comments and user reports, as Sentry and
//! GlitchTip return them (camelCase, ids as strings, counts of events as strings).

use std::collections::HashMap;

use faultline_processing::{represent_event, EventLinks};
use faultline_store::{
    level_name, status_name, Comment, EventRow, IssueRelease, IssueRow, Organization, Project, ProjectId, TagSummary,
    Timestamp, UserId, UserReport,
};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::recent_hours;
use crate::{ApiError, AppState};

/// GlitchTip's short-id suffix: the per-project number in base 32 (`0-9A-V`).
pub(crate) fn base32(mut n: i64) -> String {
    const DIGITS: &[u8; 32] = b"0123456789ABCDEFGHIJKLMNOPQRSTUV";
    if n <= 0 {
        return "0".into();
    }
    let mut out = Vec::new();
    while n > 0 {
        out.push(DIGITS[(n % 32) as usize]);
        n /= 32;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// `PROJECTSLUG-N`.
pub(crate) fn short_id(project_slug: &str, n: i64) -> String {
    format!("{}-{}", project_slug.to_uppercase(), base32(n))
}

/// The issue type name.
pub(crate) fn type_name(ty: i16) -> &'static str {
    match ty {
        1 => "error",
        2 => "csp",
        _ => "default",
    }
}

fn project_ref(project: Option<&Project>, id: ProjectId) -> Value {
    match project {
        Some(p) => json!({"id": p.id.to_string(), "name": p.name, "slug": p.slug, "platform": p.platform}),
        None => json!({"id": id.to_string(), "name": null, "slug": null, "platform": null}),
    }
}

/// What the list shape needs besides the issue row, fetched for a whole page at once.
#[derive(Default)]
pub(crate) struct ListFacts {
    users: HashMap<faultline_store::IssueId, i64>,
    comments: HashMap<faultline_store::IssueId, i64>,
    tags: HashMap<(faultline_store::IssueId, String), String>,
    hourly: HashMap<faultline_store::IssueId, Vec<(Timestamp, i64)>>,
    assignees: HashMap<UserId, Value>,
}

impl ListFacts {
    /// Loads users affected, comment counts, `handled`/`logger`, the last 24 hours
    /// and assignees of `rows`.
    pub(crate) async fn load(state: &AppState, rows: &[IssueRow]) -> Result<ListFacts, ApiError> {
        let ids: Vec<_> = rows.iter().map(|r| r.issue.id).collect();
        if ids.is_empty() {
            return Ok(ListFacts::default());
        }
        let store = &state.store;
        let since = Timestamp::from_micros(recent_hours(24)[0] * 1_000_000);
        let mut assignees = HashMap::new();
        for user in rows.iter().filter_map(|r| r.assigned_to_id) {
            if let std::collections::hash_map::Entry::Vacant(slot) = assignees.entry(user) {
                if let Ok(u) = store.user(user).await {
                    slot.insert(assignee(&u));
                }
            }
        }
        Ok(ListFacts {
            users: store.issue_user_counts(&ids).await?,
            comments: store.comment_counts(&ids).await?,
            tags: store.issue_top_tag_values(&ids, &["handled", "logger"]).await?,
            hourly: store.issues_hourly_counts(&ids, since).await?,
            assignees,
        })
    }
}

/// Sentry's `assignedTo`.
pub(crate) fn assignee(user: &faultline_store::User) -> Value {
    json!({
        "type": "user",
        "id": user.id.to_string(),
        "name": if user.name.is_empty() { &user.email } else { &user.name },
        "email": user.email,
        "username": user.email,
    })
}

/// `[[unix seconds, count], …]` for the last 24 hours, zeros included.
pub(crate) fn series_24h(hourly: &[(Timestamp, i64)]) -> Value {
    let counts: HashMap<i64, i64> = hourly.iter().map(|(t, n)| (t.micros() / 1_000_000, *n)).collect();
    Value::Array(recent_hours(24).into_iter().map(|h| json!([h, counts.get(&h).copied().unwrap_or(0)])).collect())
}

/// An issue as listed.
pub(crate) fn issue_json(
    state: &AppState,
    org: &Organization,
    row: &IssueRow,
    projects: &HashMap<ProjectId, Project>,
    facts: &ListFacts,
    matching_event: Option<Uuid>,
) -> Value {
    let issue = &row.issue;
    let project = projects.get(&issue.project_id);
    let http = &state.config.http;
    let metadata: Value =
        serde_json::from_str(&issue.metadata).ok().filter(Value::is_object).unwrap_or_else(|| json!({}));
    let tag = |key: &str| facts.tags.get(&(issue.id, key.to_string()));
    let unhandled = tag("handled").is_some_and(|v| v == "no")
        || metadata.get("unhandled").and_then(Value::as_bool).unwrap_or(false);
    let substatus = match issue.status {
        faultline_store::issue_status::UNRESOLVED if issue.regressed_at.is_some() => Value::from("regressed"),
        faultline_store::issue_status::UNRESOLVED if issue.first_seen > Timestamp::now().plus_secs(-7 * 86_400) => {
            Value::from("new")
        }
        faultline_store::issue_status::UNRESOLVED => Value::from("ongoing"),
        faultline_store::issue_status::IGNORED => Value::from("archived_until_escalating"),
        _ => Value::Null,
    };
    let short = short_id(project.map_or("", |p| p.slug.as_str()), issue.short_id);
    let mut out = json!({
        "id": issue.id.to_string(),
        "shareId": null,
        "shortId": short,
        "title": issue.title,
        "culprit": issue.culprit,
        "permalink": format!("{}{}/{}/issues/{}", http.public_url, http.base_path, org.slug, issue.id),
        "logger": tag("logger").filter(|l| !l.is_empty()),
        "level": level_name(issue.level),
        "status": status_name(issue.status),
        "statusDetails": {},
        "substatus": substatus,
        "isPublic": issue.is_public,
        "platform": project.and_then(|p| p.platform.clone()).unwrap_or_else(|| "other".into()),
        "project": project_ref(project, issue.project_id),
        "type": type_name(issue.ty),
        "issueType": "error",
        "issueCategory": "error",
        "metadata": metadata,
        "numComments": facts.comments.get(&issue.id).copied().unwrap_or(0),
        "assignedTo": row.assigned_to_id.and_then(|u| facts.assignees.get(&u).cloned()),
        "isBookmarked": false,
        "isSubscribed": false,
        "subscriptionDetails": null,
        "hasSeen": false,
        "annotations": [],
        "isUnhandled": unhandled,
        "count": issue.times_seen.to_string(),
        "userCount": facts.users.get(&issue.id).copied().unwrap_or(0),
        "firstSeen": issue.first_seen,
        "lastSeen": issue.last_seen,
        "stats": {"24h": series_24h(facts.hourly.get(&issue.id).map_or(&[][..], Vec::as_slice))},
        "matchingEventId": matching_event.map(|e| e.simple().to_string()),
    });
    if let Some(resolved) = issue.resolved_at {
        out["resolvedAt"] = json!(resolved);
    }
    out
}

fn release_json(r: &IssueRelease) -> Value {
    json!({
        "version": r.version,
        "shortVersion": r.version,
        "dateCreated": r.created_at,
        "dateReleased": r.released_at,
        "firstEvent": r.first_seen,
        "lastEvent": r.last_seen,
        "lastCommit": null,
        "lastDeploy": null,
        "ref": null,
        "url": null,
    })
}

/// A tag distribution (`/issues/{id}/tags/`).
pub(crate) fn tag_json(summary: &TagSummary) -> Value {
    json!({
        "key": summary.key,
        "name": tag_name(&summary.key),
        "totalValues": summary.total_values,
        "uniqueValues": summary.unique_values,
        "topValues": summary.top_values.iter().map(tag_value_json).collect::<Vec<_>>(),
    })
}

/// One value of a tag.
pub(crate) fn tag_value_json(v: &faultline_store::TagValueCount) -> Value {
    json!({
        "key": v.key,
        "name": v.value,
        "value": v.value,
        "count": v.times_seen,
        "firstSeen": v.first_seen,
        "lastSeen": v.last_seen,
    })
}

/// A human name for a tag key (Sentry capitalizes the well-known ones).
pub(crate) fn tag_name(key: &str) -> String {
    match key {
        "level" => "Level".into(),
        "environment" => "Environment".into(),
        "release" => "Release".into(),
        "user" => "User".into(),
        "browser" => "Browser".into(),
        "browser.name" => "Browser.Name".into(),
        "os" => "OS".into(),
        "os.name" => "OS.Name".into(),
        "device" => "Device".into(),
        "url" => "URL".into(),
        "server_name" => "Server".into(),
        "transaction" => "Transaction".into(),
        "logger" => "Logger".into(),
        "handled" => "Handled".into(),
        "mechanism" => "Mechanism".into(),
        _ => key.to_string(),
    }
}

/// An issue's detail: the list shape plus releases, tags, user reports and the
/// fields GitLab reads.
pub(crate) async fn issue_detail_json(state: &AppState, org: &Organization, row: &IssueRow) -> Result<Value, ApiError> {
    let store = &state.store;
    let project = store.project(row.issue.project_id).await?;
    let projects = HashMap::from([(project.id, project)]);
    let facts = ListFacts::load(state, std::slice::from_ref(row)).await?;
    let mut out = issue_json(state, org, row, &projects, &facts, None);
    let (first, last) = store.issue_first_last_release(row.issue.id).await?;
    let (_, reports) = store.issue_user_report_page(row.issue.id, 0, 0).await?;
    let tags = store.issue_tag_summary(row.issue.id, None, 0).await?;
    let obj = out.as_object_mut().map(std::mem::take).unwrap_or_default();
    let mut obj: Map<String, Value> = obj;
    obj.insert("firstRelease".into(), first.as_ref().map_or(Value::Null, release_json));
    obj.insert("lastRelease".into(), last.as_ref().map_or(Value::Null, release_json));
    obj.insert("userReportCount".into(), json!(reports));
    obj.insert(
        "tags".into(),
        Value::Array(
            tags.iter()
                .map(|t| json!({"key": t.key, "name": tag_name(&t.key), "totalValues": t.total_values, "uniqueValues": t.unique_values}))
                .collect(),
        ),
    );
    for key in ["pluginIssues", "pluginActions", "pluginContexts", "participants", "seenBy", "activity"] {
        obj.insert(key.into(), json!([]));
    }
    obj.insert("firstSeenUser".into(), Value::Null);
    Ok(Value::Object(obj))
}

/// A user report.
pub(crate) fn user_report_json(r: &UserReport) -> Value {
    let event_id = r.event_id.simple().to_string();
    json!({
        "id": r.id.to_string(),
        "eventID": event_id,
        "eventId": event_id,
        "event": {"id": event_id, "eventID": event_id, "eventId": event_id},
        "issue": r.issue_id.map(|i| i.to_string()),
        "name": r.name,
        "email": r.email,
        "comments": r.comments,
        "dateCreated": r.created_at,
        "user": null,
    })
}

/// A comment (Sentry's activity note shape).
pub(crate) fn comment_json(c: &Comment) -> Value {
    let user = c.user_id.map(|id| {
        let email = c.user_email.clone().unwrap_or_default();
        let name = c.user_name.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| email.clone());
        json!({"id": id.to_string(), "email": email, "name": name, "username": email})
    });
    json!({
        "id": c.id.to_string(),
        "issue": c.issue_id.to_string(),
        "data": {"text": c.text},
        "type": "note",
        "dateCreated": c.created_at,
        "dateUpdated": c.updated_at,
        "user": user,
    })
}

/// Sentry's event JSON for a stored event; with `neighbours`, `previousEventID` and
/// `nextEventID` are filled and `userReport` looked up.
pub(crate) async fn event_json(state: &AppState, row: &EventRow, neighbours: bool) -> Result<Value, ApiError> {
    let stored = row.event.json()?;
    let mut links = EventLinks {
        project_id: row.event.project_id.0,
        issue_id: row.event.issue_id.0,
        received: Some(row.event.received_at.to_datetime()),
        previous_event_id: None,
        next_event_id: None,
    };
    if neighbours {
        let (previous, next) = state.store.event_neighbours(row).await?;
        links.previous_event_id = previous.map(|e| e.simple().to_string());
        links.next_event_id = next.map(|e| e.simple().to_string());
    }
    let mut out = represent_event(&stored, &links);
    if let Some(obj) = out.as_object_mut() {
        if neighbours {
            let report = state.store.event_user_report(row.event.project_id, row.event.event_id).await?;
            obj.insert("userReport".into(), report.as_ref().map_or(Value::Null, user_report_json));
        } else {
            for key in ["previousEventID", "nextEventID", "userReport"] {
                obj.remove(key);
            }
        }
        // Ids are the event id in hex even when the payload lacked one.
        let id = row.event.event_id.simple().to_string();
        obj.insert("id".into(), Value::String(id.clone()));
        obj.insert("eventID".into(), Value::String(id));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_ids_are_base32() {
        assert_eq!(short_id("web", 1), "WEB-1");
        assert_eq!(short_id("web", 10), "WEB-A");
        assert_eq!(short_id("web", 32), "WEB-10");
        assert_eq!(short_id("my-app", 1055), "MY-APP-10V");
    }
}
