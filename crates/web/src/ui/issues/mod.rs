//! Issue pages: the issue list of an organization (search, filters, sort, paging, bulk
//! triage) and an issue's detail with one of its events (see [`detail`]).
//!
//! The whole state of a page is in its URL (GET parameters), so every view can be
//! linked and reloaded. Pages use the same filter, search and triage functions as
//! the REST API in `crate::api::issues`, with the same scopes.

mod detail;
mod event;

use std::collections::{BTreeSet, HashMap};

use crate::api::issues::{filter_of, recent_hours, Params};
use askama::Template;
use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use faultline_domain::access::{org_access, OrgAccess, Principal, Scope};
use faultline_store::{level_name, IssueId, IssueSort, Project, Timestamp};

use super::{check_csrf, local_next, page, Chrome, Viewer};
use crate::api::pagination::PageQuery;
use crate::{ApiError, AppState};

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/{org}/issues", get(list_page)).route("/{org}/issues/bulk", post(bulk)).merge(detail::routes())
}

/// The viewer's access to `slug`, decided as for the API (404 when not a member).
pub(super) async fn access_of(state: &AppState, viewer: &Viewer, slug: &str) -> Result<OrgAccess, ApiError> {
    let principal = Principal { user: viewer.user.clone(), token_scopes: None };
    Ok(org_access(&state.store, &principal, slug).await?)
}

/// `PROJECTSLUG-N`, the per-project number in GlitchTip's base 32.
pub(super) fn short_id(project_slug: &str, mut n: i64) -> String {
    const DIGITS: &[u8; 32] = b"0123456789ABCDEFGHIJKLMNOPQRSTUV";
    let mut digits = Vec::new();
    while n > 0 {
        digits.push(DIGITS[(n % 32) as usize]);
        n /= 32;
    }
    if digits.is_empty() {
        digits.push(b'0');
    }
    digits.reverse();
    format!("{}-{}", project_slug.to_uppercase(), String::from_utf8(digits).unwrap_or_default())
}

/// A time for people: `2024-05-01 12:00 UTC`.
pub(super) fn when(t: Timestamp) -> String {
    t.to_datetime().format("%Y-%m-%d %H:%M UTC").to_string()
}

/// How long ago, roughly.
pub(super) fn ago(t: Timestamp) -> String {
    let secs = (Timestamp::now().micros() - t.micros()) / 1_000_000;
    match secs {
        s if s < 60 => "just now".into(),
        s if s < 3600 => format!("{}m ago", s / 60),
        s if s < 86_400 => format!("{}h ago", s / 3600),
        s if s < 86_400 * 60 => format!("{}d ago", s / 86_400),
        s => format!("{}mo ago", s / (86_400 * 30)),
    }
}

/// A query string from pairs.
pub(super) fn query_string(pairs: &[(String, String)]) -> String {
    form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

/// One bar of a sparkline.
pub(crate) struct Bar {
    pub x: i64,
    pub y: i64,
    pub width: i64,
    pub height: i64,
}

/// Bars of a series spread over the 96×24 SVG, at most 22 high.
pub(super) fn sparkline(counts: &[i64]) -> Vec<Bar> {
    let max = counts.iter().copied().max().unwrap_or(0).max(1);
    let step = 96 / (counts.len() as i64).max(1);
    counts
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let height = if *n > 0 { ((n * 22 + max - 1) / max).max(2) } else { 1 };
            Bar { x: i as i64 * step, y: 23 - height, width: (step - 1).max(1), height }
        })
        .collect()
}

/// The trend column: 24 hourly bars, or 14 daily ones (`trend=14d`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Trend {
    Day,
    TwoWeeks,
}

impl Trend {
    fn parse(value: Option<&str>) -> Trend {
        if value == Some("14d") {
            Trend::TwoWeeks
        } else {
            Trend::Day
        }
    }

    fn label(self) -> &'static str {
        match self {
            Trend::Day => "Last 24 hours",
            Trend::TwoWeeks => "Last 14 days",
        }
    }

    /// Start of each bucket (unix seconds) and the bucket length.
    fn buckets(self) -> (Vec<i64>, i64) {
        let hours = recent_hours(24);
        match self {
            Trend::Day => (hours, 3600),
            Trend::TwoWeeks => {
                let now = hours[hours.len() - 1] + 3600;
                ((0..14).rev().map(|d| now - (d + 1) * 86_400).collect(), 86_400)
            }
        }
    }
}

pub(crate) struct ProjectOption {
    pub id: i64,
    pub name: String,
    pub selected: bool,
}

pub(crate) struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

pub(crate) struct IssueItem {
    pub id: i64,
    pub title: String,
    pub culprit: String,
    pub short_id: String,
    pub project: String,
    pub level: &'static str,
    pub status: &'static str,
    pub count: i64,
    pub users: i64,
    pub first_seen: String,
    pub first_seen_ago: String,
    pub last_seen: String,
    pub last_seen_ago: String,
    pub bars: Vec<Bar>,
    /// Events in the trend column's period.
    pub trend_total: i64,
    pub csp: bool,
}

#[derive(Template)]
#[template(path = "issues/list.html")]
struct ListPage {
    chrome: Chrome,
    org: String,
    has_projects: bool,
    projects: Vec<ProjectOption>,
    environments: Vec<Choice>,
    periods: Vec<Choice>,
    sorts: Vec<Choice>,
    trends: Vec<Choice>,
    trend_label: &'static str,
    query: String,
    start: String,
    end: String,
    error: Option<String>,
    /// After a bulk change: what happened, and whether it was refused.
    notice: Option<Notice>,
    issues: Vec<IssueItem>,
    hits: i64,
    first_row: i64,
    last_row: i64,
    prev: Option<String>,
    next: Option<String>,
    /// The filter as hidden fields of the bulk form.
    filter_fields: Vec<(String, String)>,
    /// This page's own URL, to come back to after a bulk change.
    here: String,
    can_write: bool,
    can_admin: bool,
}

/// The filter parameters a list URL carries (cursor and sort aside).
const FILTER_KEYS: [&str; 6] = ["query", "project", "environment", "statsPeriod", "start", "end"];

async fn list_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(org_slug): Path<String>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, ApiError> {
    let access = access_of(&state, &viewer, &org_slug).await?;
    access.require(Scope::EventRead)?;
    let chrome = Chrome::for_viewer(&state, &viewer, Some(&access.org.slug)).await?;
    let store = &state.store;
    let mut params = Params::parse(uri.query().unwrap_or_default().as_bytes());
    let notice = params.first("notice").and_then(notice_text);
    params.0.retain(|(k, _)| k != "notice");
    if params.first("query").is_none() {
        params.0.push(("query".into(), "is:unresolved".into()));
    }
    let pairs = params.0.clone();
    let query = params.first("query").unwrap_or_default().to_string();

    let org_projects = store.organization_projects(access.org.id).await?;
    let selected: BTreeSet<&str> = params.all("project").into_iter().collect();
    let projects: Vec<ProjectOption> = org_projects
        .iter()
        .map(|p| ProjectOption {
            id: p.id.0,
            name: p.name.clone(),
            selected: selected.contains(p.id.0.to_string().as_str()),
        })
        .collect();
    let env_selected: BTreeSet<&str> = params.all("environment").into_iter().collect();
    let mut env_names: BTreeSet<String> =
        store.organization_environments(access.org.id).await?.into_iter().map(|(_, name)| name).collect();
    env_names.extend(env_selected.iter().map(|e| e.to_string()));
    let mut environments =
        vec![Choice { value: String::new(), label: "All environments".into(), selected: env_selected.is_empty() }];
    environments.extend(env_names.into_iter().map(|name| Choice {
        selected: env_selected.contains(name.as_str()),
        label: name.clone(),
        value: name,
    }));
    let period = params.first("statsPeriod").unwrap_or_default().to_string();
    let periods = [
        ("", "All time"),
        ("1h", "Last hour"),
        ("24h", "Last 24 hours"),
        ("7d", "Last 7 days"),
        ("14d", "Last 14 days"),
        ("30d", "Last 30 days"),
        ("90d", "Last 90 days"),
    ]
    .iter()
    .map(|(v, l)| Choice { value: (*v).into(), label: (*l).into(), selected: period == *v })
    .collect();
    let trend = Trend::parse(params.non_empty("trend"));
    let trends = [Trend::Day, Trend::TwoWeeks]
        .iter()
        .map(|t| Choice {
            value: if *t == Trend::Day { "24h" } else { "14d" }.into(),
            label: t.label().into(),
            selected: *t == trend,
        })
        .collect();
    let sort_name = params.non_empty("sort").unwrap_or("date").to_string();
    let sorts = [
        ("date", "Last seen"),
        ("new", "First seen"),
        ("freq", "Most frequent"),
        ("count", "Least frequent"),
        ("priority", "Highest priority"),
        ("+priority", "Lowest priority"),
    ]
    .iter()
    .map(|(v, l)| Choice { value: (*v).into(), label: (*l).into(), selected: sort_name == *v })
    .collect();

    // Nested below the base path, the original URI's path carries it.
    let here = format!("{}?{}", uri.path(), query_string(&pairs));
    let filter_fields: Vec<(String, String)> =
        pairs.iter().filter(|(k, v)| FILTER_KEYS.contains(&k.as_str()) && !v.is_empty()).cloned().collect();
    let mut out = ListPage {
        chrome,
        org: access.org.slug.clone(),
        has_projects: !org_projects.is_empty(),
        projects,
        environments,
        periods,
        sorts,
        trends,
        trend_label: trend.label(),
        query,
        start: params.first("start").unwrap_or_default().to_string(),
        end: params.first("end").unwrap_or_default().to_string(),
        error: None,
        notice,
        issues: Vec::new(),
        hits: 0,
        first_row: 0,
        last_row: 0,
        prev: None,
        next: None,
        filter_fields,
        here,
        can_write: access.scopes.contains(Scope::EventWrite),
        can_admin: access.scopes.contains(Scope::EventAdmin),
    };
    let filter = match filter_of(&params, access.org.id, viewer.user.id, None) {
        Ok(f) => f,
        Err(e) => {
            out.error = Some(e);
            return Ok(page(StatusCode::OK, &out));
        }
    };
    let sort = IssueSort::parse(&sort_name).unwrap_or_default();
    let paging =
        PageQuery { cursor: params.first("cursor").map(String::from), limit: None, per_page: None }.page(25, 100);
    let mut rows = store.search_issues(&filter, sort, paging.offset, paging.fetch_limit()).await?;
    let has_next = rows.len() as i64 > paging.limit;
    rows.truncate(paging.limit as usize);
    out.hits = store.count_issues(&filter).await?;
    let link = |offset: i64| {
        let mut p: Vec<(String, String)> = pairs.iter().filter(|(k, _)| k != "cursor").cloned().collect();
        p.push(("cursor".into(), format!("0:{offset}:0")));
        format!("{}/{}/issues?{}", state.config.http.base_path, access.org.slug, query_string(&p))
    };
    if paging.offset > 0 {
        out.prev = Some(link((paging.offset - paging.limit).max(0)));
    }
    if has_next {
        out.next = Some(link(paging.offset + paging.limit));
    }
    out.first_row = if rows.is_empty() { 0 } else { paging.offset + 1 };
    out.last_row = paging.offset + rows.len() as i64;

    let ids: Vec<IssueId> = rows.iter().map(|r| r.issue.id).collect();
    let (buckets, bucket_secs) = trend.buckets();
    let since = Timestamp::from_micros(buckets[0] * 1_000_000);
    let users = if ids.is_empty() { HashMap::new() } else { store.issue_user_counts(&ids).await? };
    let hourly = if ids.is_empty() { HashMap::new() } else { store.issues_hourly_counts(&ids, since).await? };
    let by_id: HashMap<_, &Project> = org_projects.iter().map(|p| (p.id, p)).collect();
    for row in &rows {
        let issue = &row.issue;
        let mut series = vec![0i64; buckets.len()];
        for (t, n) in hourly.get(&issue.id).map(Vec::as_slice).unwrap_or_default() {
            let i = (t.micros() / 1_000_000 - buckets[0]) / bucket_secs;
            if let Some(slot) = usize::try_from(i).ok().and_then(|i| series.get_mut(i)) {
                *slot += n;
            }
        }
        let project = by_id.get(&issue.project_id);
        out.issues.push(IssueItem {
            id: issue.id.0,
            title: issue.title.clone(),
            culprit: issue.culprit.clone(),
            short_id: short_id(project.map_or("", |p| p.slug.as_str()), issue.short_id),
            project: project.map_or_else(String::new, |p| p.name.clone()),
            level: level_name(issue.level),
            status: faultline_store::status_name(issue.status),
            count: issue.times_seen,
            users: users.get(&issue.id).copied().unwrap_or(0),
            first_seen: when(issue.first_seen),
            first_seen_ago: ago(issue.first_seen),
            last_seen: when(issue.last_seen),
            last_seen_ago: ago(issue.last_seen),
            trend_total: series.iter().sum(),
            csp: issue.ty == 2,
            bars: sparkline(&series),
        });
    }
    Ok(page(StatusCode::OK, &out))
}

/// The bulk form: `action` (resolve, unresolve, ignore, merge, delete) on the checked
/// `id`s, or with `all=1` on every issue the carried filter matches.
async fn bulk(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(org_slug): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let form: Vec<(String, String)> =
        form_urlencoded::parse(&body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    let field = |key: &str| form.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    check_csrf(&viewer, field("csrfmiddlewaretoken").unwrap_or_default())?;
    let access = access_of(&state, &viewer, &org_slug).await?;
    let action = field("action").unwrap_or_default();
    let all = field("all").is_some_and(|v| v == "1");
    // Checked rows are the selection by themselves; "all matching" is the filter.
    let selection: Vec<(String, String)> = if all {
        form.iter().filter(|(k, _)| FILTER_KEYS.contains(&k.as_str())).cloned().collect()
    } else {
        form.iter().filter(|(k, _)| k == "id").cloned().collect()
    };
    let back = local_next(&state, field("back"));
    let outcome = if !all && selection.is_empty() {
        "none"
    } else {
        let filter =
            filter_of(&Params(selection), access.org.id, viewer.user.id, None).map_err(ApiError::bad_request)?;
        apply(&state, &access, action, all, &filter).await?
    };
    Ok(Redirect::to(&with_notice(&back, outcome)).into_response())
}

/// Applies a bulk `action` to the issues `filter` matches; the notice code.
async fn apply(
    state: &AppState,
    access: &OrgAccess,
    action: &str,
    all: bool,
    filter: &faultline_store::IssueFilter,
) -> Result<&'static str, ApiError> {
    let store = &state.store;
    let scope = match action {
        "delete" => Scope::EventAdmin,
        _ => Scope::EventWrite,
    };
    access.require(scope)?;
    let matched = store.matching_issues(filter).await?;
    let ids: Vec<IssueId> = matched.iter().map(|m| m.0).collect();
    let status = |name: &str| faultline_store::status_number(name).ok_or_else(ApiError::not_found);
    Ok(match action {
        "resolve" => {
            store.set_issues_status(&ids, status("resolved")?).await?;
            "resolved"
        }
        "unresolve" => {
            store.set_issues_status(&ids, status("unresolved")?).await?;
            "unresolved"
        }
        "ignore" => {
            store.set_issues_status(&ids, status("ignored")?).await?;
            "ignored"
        }
        "merge" if all => "merge-all",
        "merge" if matched.len() < 2 => "merge-few",
        "merge" if matched.iter().map(|m| m.1).collect::<BTreeSet<_>>().len() > 1 => "merge-projects",
        "merge" => {
            // The highest id survives, as in GlitchTip (and the API).
            let parent = ids.iter().copied().max().ok_or_else(ApiError::not_found)?;
            let children: Vec<IssueId> = ids.iter().copied().filter(|i| *i != parent).collect();
            store.move_comments(&children, parent).await?;
            store.merge_issues(parent, &children).await?;
            "merged"
        }
        "delete" => {
            store.delete_issues(&ids).await?;
            "deleted"
        }
        _ => return Err(ApiError::bad_request("Choose an action.")),
    })
}

/// `url` with `notice=code` (replacing any notice it had).
fn with_notice(url: &str, code: &str) -> String {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let mut pairs: Vec<(String, String)> = Params::parse(query.as_bytes()).0;
    pairs.retain(|(k, _)| k != "notice");
    pairs.push(("notice".into(), code.into()));
    format!("{path}?{}", query_string(&pairs))
}

/// A message after a bulk change.
pub(crate) struct Notice {
    pub text: &'static str,
    pub refused: bool,
}

/// What a notice code says.
fn notice_text(code: &str) -> Option<Notice> {
    let (text, refused) = match code {
        "resolved" => ("The issues are marked resolved.", false),
        "unresolved" => ("The issues are marked unresolved.", false),
        "ignored" => ("The issues are marked ignored.", false),
        "merged" => ("The issues are merged into one.", false),
        "deleted" => ("The issues are deleted.", false),
        "none" => ("Select issues first.", true),
        "merge-all" => ("Merge works on checked issues, not on all matching issues.", true),
        "merge-few" => ("Select at least two issues to merge.", true),
        "merge-projects" => ("Only issues of the same project can be merged.", true),
        _ => return None,
    };
    Some(Notice { text, refused })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparklines_fill_the_box() {
        let day = sparkline(&[0; 24]);
        assert_eq!((day.len(), day[23].x, day[0].width), (24, 92, 3));
        let mut counts = [0i64; 14];
        counts[13] = 10;
        counts[0] = 1;
        let weeks = sparkline(&counts);
        assert_eq!((weeks[13].x, weeks[13].width, weeks[13].height, weeks[13].y), (78, 5, 22, 1));
        assert_eq!(weeks[0].height, 3, "a small count is still visible");
        assert_eq!(weeks[5].height, 1, "an empty bucket is a baseline");
    }

    #[test]
    fn trend_buckets_end_with_the_current_hour() {
        let (hours, secs) = Trend::Day.buckets();
        assert_eq!((hours.len(), secs), (24, 3600));
        let (days, secs) = Trend::TwoWeeks.buckets();
        assert_eq!((days.len(), secs), (14, 86_400));
        assert_eq!(days[13] + 86_400, hours[23] + 3600);
        assert_eq!(Trend::parse(Some("14d")).label(), "Last 14 days");
        assert_eq!(Trend::parse(Some("nonsense")).label(), "Last 24 hours");
    }
}
