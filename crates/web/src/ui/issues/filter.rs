//! The list's URL state as an [`IssueFilter`]: the same parameters and meaning as the
//! REST API's issue stream (`query`, `project`, `environment`, `statsPeriod` or
//! `start`/`end`, `id`), parsed with the store's [`SearchQuery`].

use chrono::{NaiveDate, NaiveDateTime, Utc};
use faultline_store::{IssueFilter, IssueId, OrganizationId, ProjectId, SearchQuery, Timestamp, UserId};

/// Query or form pairs, repeated keys kept.
#[derive(Debug, Clone, Default)]
pub(crate) struct Pairs(pub Vec<(String, String)>);

impl Pairs {
    pub(crate) fn parse(text: &[u8]) -> Pairs {
        Pairs(form_urlencoded::parse(text).map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
    }

    /// The first value of `key`.
    pub(crate) fn first(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// The first non-empty value of `key`, trimmed.
    pub(crate) fn non_empty(&self, key: &str) -> Option<&str> {
        self.first(key).map(str::trim).filter(|v| !v.is_empty())
    }

    /// Every non-empty value of `key` (comma-separated ones split).
    pub(crate) fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .collect()
    }
}

/// `24h`, `14d`, `90d`, `30m`, `2w` in seconds.
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

/// RFC 3339, ISO 8601 without a zone (UTC), a date, `now` or `now-<period>`.
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
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| Timestamp::from_datetime(d.and_utc()))
}

/// The filter of `params` in `org`, or what is wrong with them.
pub(crate) fn issue_filter(params: &Pairs, org: OrganizationId, viewer: UserId) -> Result<IssueFilter, String> {
    let mut filter = IssueFilter::organization(org);
    filter.viewer = Some(viewer);
    if let Some(query) = params.first("query") {
        filter.query = SearchQuery::parse(query).map_err(|e| e.to_string())?;
    }
    for p in params.all("project") {
        let id: i64 = p.parse().map_err(|_| format!("project: not an id: {p:?}"))?;
        if id >= 0 {
            filter.projects.push(ProjectId(id));
        }
    }
    for id in params.all("id") {
        let id: i64 = id.parse().map_err(|_| format!("not an issue id: {id:?}"))?;
        filter.ids.push(IssueId(id));
    }
    filter.environments = params.all("environment").into_iter().map(str::to_string).collect();
    let time = |key: &str| -> Result<Option<Timestamp>, String> {
        params
            .non_empty(key)
            .map(|v| parse_time(v).ok_or_else(|| format!("{key}: not a valid time: {v:?}")))
            .transpose()
    };
    let (start, end) = (time("start")?, time("end")?);
    if start.is_some() || end.is_some() {
        (filter.first_seen_from, filter.first_seen_to) = (start, end);
    } else if let Some(period) = params.non_empty("statsPeriod") {
        let secs = parse_period(period).ok_or_else(|| format!("not a valid period: {period:?}"))?;
        filter.first_seen_from = Some(Timestamp::now().plus_secs(-secs));
    }
    Ok(filter)
}

/// Hour buckets (unix seconds) of the last 24 hours, the current one last.
pub(crate) fn last_24_hours() -> Vec<i64> {
    let now = Timestamp::from_datetime(Utc::now()).hour_bucket().micros() / 1_000_000;
    (0..24).rev().map(|i| now - i * 3600).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_from_pairs() {
        let p = Pairs::parse(b"project=1&project=2,3&environment=&query=is%3Aresolved&statsPeriod=24h");
        let f = issue_filter(&p, OrganizationId(7), UserId(1)).unwrap();
        assert_eq!(f.projects, [ProjectId(1), ProjectId(2), ProjectId(3)]);
        assert!(f.environments.is_empty());
        assert!(f.query.has_status());
        assert!(f.first_seen_from.is_some());
        assert!(issue_filter(&Pairs::parse(b"start=yesterday"), OrganizationId(7), UserId(1)).is_err());
        assert_eq!(parse_time("2024-05-01").unwrap().to_rfc3339(), "2024-05-01T00:00:00.000000Z");
        assert_eq!(last_24_hours().len(), 24);
    }
}
