//! Issues and events: the Sentry-compatible core that GlitchTip's UI, GitLab's error
//! tracking, Grafana's Sentry data source and sentry-cli read and change.
//!
//! Every route resolves the organization through [`super::org`] (routes that name
//! only an issue first look up the issue's organization, then do the same), so an
//! object of an organization the caller is not in answers 404 everywhere.

pub(crate) mod comments;
pub(crate) mod detail;
pub(crate) mod events;
pub(crate) mod list;
pub(crate) mod stats;
mod views;

use axum::http::Uri;
use chrono::{NaiveDate, NaiveDateTime, Utc};
use faultline_domain::access::OrgAccess;
use faultline_store::{
    IssueFilter, IssueId, IssueRow, OrganizationId, Project, ProjectId, SearchQuery, Timestamp, UserId,
};

use super::pagination::{Page, PageQuery};
use super::{org, Auth};
use crate::{ApiError, AppState};

/// The query string (or a form) as pairs, repeated keys kept (`?project=1&project=2`),
/// which axum's `Query` cannot express. The API and the UI's issue list share it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Params(pub(crate) Vec<(String, String)>);

impl Params {
    pub(crate) fn parse(text: &[u8]) -> Params {
        Params(form_urlencoded::parse(text).map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
    }

    pub(crate) fn from_uri(uri: &Uri) -> Params {
        Params::parse(uri.query().unwrap_or_default().as_bytes())
    }

    /// The first value of `key`, if any.
    pub(crate) fn first(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// The first non-empty value of `key`.
    pub(crate) fn non_empty(&self, key: &str) -> Option<&str> {
        self.first(key).map(str::trim).filter(|v| !v.is_empty())
    }

    /// Every value of `key` (also comma-separated ones), empty ones left out.
    pub(crate) fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .collect()
    }

    /// The page asked for (`cursor`, `limit`/`per_page`).
    pub(crate) fn page(&self, default: i64, max: i64) -> Page {
        PageQuery {
            cursor: self.first("cursor").map(str::to_string),
            limit: self.first("limit").and_then(|v| v.trim().parse().ok()),
            per_page: self.first("per_page").and_then(|v| v.trim().parse().ok()),
        }
        .page(default, max)
    }
}

/// A duration like `24h`, `14d`, `90d`, `30m`, `60s` or `2w`, in seconds.
pub(crate) fn parse_period(text: &str) -> Option<i64> {
    let text = text.trim();
    let unit = text.chars().last()?;
    let n: i64 = text[..text.len() - unit.len_utf8()].trim().parse().ok()?;
    let secs = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        _ => return None,
    };
    (n > 0).then(|| n.saturating_mul(secs))
}

/// A time: RFC 3339, ISO 8601 without a zone (UTC), a date, a unix timestamp, `now`
/// or `now-<n>m|h|d`.
pub(crate) fn parse_time(text: &str) -> Option<Timestamp> {
    let text = text.trim();
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if compact == "now" {
        return Some(Timestamp::now());
    }
    if let Some(rest) = compact.strip_prefix("now-") {
        return parse_period(rest).map(|secs| Timestamp::now().plus_secs(-secs));
    }
    if let Some(t) = Timestamp::parse_rfc3339(text) {
        return Some(t);
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(text, format) {
            return Some(Timestamp::from_datetime(naive.and_utc()));
        }
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return date.and_hms_opt(0, 0, 0).map(|d| Timestamp::from_datetime(d.and_utc()));
    }
    if let Ok(secs) = text.parse::<f64>() {
        return Timestamp::from_secs_f64(secs);
    }
    None
}

/// `start`/`end`, or `statsPeriod` (ending now); either end may be open.
pub(crate) fn time_range(params: &Params) -> Result<(Option<Timestamp>, Option<Timestamp>), ApiError> {
    parse_range(params).map_err(ApiError::bad_request)
}

/// [`time_range`], with what is wrong as text.
fn parse_range(params: &Params) -> Result<(Option<Timestamp>, Option<Timestamp>), String> {
    let parse = |key: &str| -> Result<Option<Timestamp>, String> {
        params
            .non_empty(key)
            .map(|v| parse_time(v).ok_or_else(|| format!("{key}: not a valid time: {v:?}")))
            .transpose()
    };
    let (start, end) = (parse("start")?, parse("end")?);
    if start.is_some() || end.is_some() {
        return Ok((start, end));
    }
    match params.non_empty("statsPeriod").or_else(|| params.non_empty("period")) {
        Some(period) => {
            let secs = parse_period(period).ok_or_else(|| format!("statsPeriod: not a valid period: {period:?}"))?;
            Ok((Some(Timestamp::now().plus_secs(-secs)), None))
        }
        None => Ok((None, None)),
    }
}

/// The issue filter of a list, bulk or statistics request: `query`, `project`,
/// `environment`, `id`, `start`/`end`/`statsPeriod`. On a project's route the
/// project is fixed.
pub(crate) fn issue_filter(
    params: &Params,
    access: &OrgAccess,
    auth: &Auth,
    project: Option<&Project>,
) -> Result<IssueFilter, ApiError> {
    filter_of(params, access.org.id, auth.principal.user.id, project.map(|p| p.id)).map_err(ApiError::bad_request)
}

/// [`issue_filter`] for `viewer` in `org`, with what is wrong as text (the UI shows
/// it next to the search box).
pub(crate) fn filter_of(
    params: &Params,
    org: OrganizationId,
    viewer: UserId,
    project: Option<ProjectId>,
) -> Result<IssueFilter, String> {
    let mut filter = IssueFilter::organization(org);
    filter.viewer = Some(viewer);
    if let Some(query) = params.first("query") {
        filter.query = SearchQuery::parse(query).map_err(|e| e.to_string())?;
    }
    if let Some(status) = params.non_empty("status") {
        // sentry-cli's `issues … --status` filter.
        let status = faultline_store::status_number(status).ok_or_else(|| format!("unknown status {status:?}"))?;
        filter.query.terms.push(faultline_store::SearchTerm {
            filter: faultline_store::SearchFilter::Status(status),
            negated: false,
        });
    }
    match project {
        Some(p) => filter.projects = vec![p],
        None => {
            for p in params.all("project") {
                let id: i64 = p.parse().map_err(|_| format!("project: not an id: {p:?}"))?;
                if id >= 0 {
                    filter.projects.push(ProjectId(id));
                }
            }
        }
    }
    for id in params.all("id").into_iter().chain(params.all("group")) {
        let id: i64 = id.parse().map_err(|_| format!("id: not an issue id: {id:?}"))?;
        filter.ids.push(IssueId(id));
    }
    filter.environments = params.all("environment").into_iter().map(str::to_string).collect();
    (filter.first_seen_from, filter.first_seen_to) = parse_range(params)?;
    Ok(filter)
}

/// The organization access and the issue behind `/issues/{id}/…`: 404 when the issue
/// does not exist or belongs to an organization the caller is not in.
pub(crate) async fn issue_access(state: &AppState, auth: &Auth, id: &str) -> Result<(OrgAccess, IssueRow), ApiError> {
    let id = IssueId(id.trim().parse().map_err(|_| ApiError::not_found())?);
    let slug = state.store.issue_organization_slug(id).await?.ok_or_else(ApiError::not_found)?;
    let access = org(state, auth, &slug).await?;
    let row = state.store.issue_row(id).await?;
    Ok((access, row))
}

/// The same for `/organizations/{org}/issues/{id}/…`: the issue must belong to `org`.
pub(crate) async fn org_issue_access(
    state: &AppState,
    auth: &Auth,
    org_slug: &str,
    id: &str,
) -> Result<(OrgAccess, IssueRow), ApiError> {
    let access = org(state, auth, org_slug).await?;
    let id = IssueId(id.trim().parse().map_err(|_| ApiError::not_found())?);
    let slug = state.store.issue_organization_slug(id).await?.ok_or_else(ApiError::not_found)?;
    if slug != access.org.slug {
        return Err(ApiError::not_found());
    }
    let row = state.store.issue_row(id).await?;
    Ok((access, row))
}

/// Hour buckets (unix seconds) covering the last `hours` hours up to the current one.
pub(crate) fn recent_hours(hours: i64) -> Vec<i64> {
    let now = Timestamp::from_datetime(Utc::now()).hour_bucket().micros() / 1_000_000;
    (0..hours).rev().map(|i| now - i * 3600).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_periods() {
        assert_eq!(parse_period("24h"), Some(86_400));
        assert_eq!(parse_period("14d"), Some(14 * 86_400));
        assert_eq!(parse_period("90d"), Some(90 * 86_400));
        assert_eq!(parse_period("2w"), Some(14 * 86_400));
        assert_eq!(parse_period("1x"), None);
        assert_eq!(parse_period("h"), None);
        let t = parse_time("2024-05-01T12:00:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2024-05-01T12:00:00.000000Z");
        assert_eq!(parse_time("2024-05-01T12:00:00.5Z").unwrap().micros(), t.micros() + 500_000);
        assert_eq!(parse_time("2024-05-01T14:00:00+02:00").unwrap(), t);
        assert_eq!(parse_time("2024-05-01").unwrap().to_rfc3339(), "2024-05-01T00:00:00.000000Z");
        let ago = parse_time("now-24h").unwrap();
        let expected = Timestamp::now().plus_secs(-86_400);
        assert!((ago.micros() - expected.micros()).abs() < 5_000_000);
        assert!(parse_time("now - 1d").is_some());
        assert!(parse_time("yesterday").is_none());
        assert_eq!(recent_hours(24).len(), 24);
    }

    #[test]
    fn filters_from_pairs() {
        let p = Params::parse(b"project=1&project=2,3&environment=&query=is%3Aresolved&statsPeriod=24h");
        let f = filter_of(&p, OrganizationId(7), UserId(1), None).unwrap();
        assert_eq!(f.projects, [ProjectId(1), ProjectId(2), ProjectId(3)]);
        assert!(f.environments.is_empty());
        assert!(f.query.has_status());
        assert!(f.first_seen_from.is_some());
        assert!(filter_of(&Params::parse(b"start=yesterday"), OrganizationId(7), UserId(1), None).is_err());
        assert_eq!(parse_time("2024-05-01").unwrap().to_rfc3339(), "2024-05-01T00:00:00.000000Z");
        assert_eq!(parse_time("2024-05-01 12:30").unwrap().to_rfc3339(), "2024-05-01T12:30:00.000000Z");
    }

    #[test]
    fn repeated_params() {
        let uri: Uri = "/x/?project=1&project=2,3&environment=&query=is%3Aunresolved".parse().unwrap();
        let p = Params::from_uri(&uri);
        assert_eq!(p.all("project"), ["1", "2", "3"]);
        assert!(p.all("environment").is_empty());
        assert_eq!(p.first("query"), Some("is:unresolved"));
    }
}
