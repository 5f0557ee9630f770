//! Time series and tag keys for Grafana's Sentry data source: `stats_v2` (accepted
//! events and transactions per project, from the hourly project counters),
//! `events-stats` (events of the issues matching a search, from the hourly issue
//! counters) and the organization's tag keys.

use std::collections::BTreeMap;

use crate::api::Json;
use axum::extract::{OriginalUri, Path, State};
use chrono::SecondsFormat;
use faultline_domain::access::Scope;
use faultline_store::{IssueFilter, ProjectId, SearchFilter, SearchQuery, Timestamp};
use serde_json::{json, Map, Value};

use super::views::tag_name;
use super::{parse_period, time_range, Params};
use crate::api::{org, Auth};
use crate::{ApiError, AppState};

const MICROS: i64 = 1_000_000;

/// Evenly spaced buckets: `start` aligned down to the interval, `end` up.
struct Buckets {
    start: i64,
    interval: i64,
    count: usize,
}

impl Buckets {
    /// Bucket layout for `[start, end)` with `interval` seconds, at most `max` buckets.
    fn new(start: Timestamp, end: Timestamp, interval: i64, max: usize) -> Result<Buckets, ApiError> {
        if end <= start {
            return Err(ApiError::bad_request("end must be after start"));
        }
        let step = interval * MICROS;
        let first = start.micros().div_euclid(step) * step;
        let last = end.micros().div_euclid(step) * step + if end.micros().rem_euclid(step) == 0 { 0 } else { step };
        let count = usize::try_from((last - first) / step).unwrap_or(usize::MAX).max(1);
        if count > max {
            return Err(ApiError::bad_request(format!(
                "Too many intervals: {count} (at most {max}); choose a larger interval or a shorter range."
            )));
        }
        Ok(Buckets { start: first, interval: step, count })
    }

    fn end(&self) -> i64 {
        self.start + self.interval * self.count as i64
    }

    /// The bucket holding `t`, if inside.
    fn index(&self, t: Timestamp) -> Option<usize> {
        let offset = t.micros() - self.start;
        (offset >= 0).then(|| (offset / self.interval) as usize).filter(|i| *i < self.count)
    }

    /// Where to start reading hourly counters: the hour holding the first bucket.
    fn read_from(&self) -> Timestamp {
        Timestamp::from_micros(self.start).hour_bucket()
    }

    fn starts(&self) -> impl Iterator<Item = i64> + '_ {
        (0..self.count).map(move |i| self.start + i as i64 * self.interval)
    }
}

fn iso(micros: i64) -> String {
    Timestamp::from_micros(micros).to_datetime().to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The window of a stats request: `start`/`end`, else `statsPeriod` (default
/// `default_period`) up to now.
fn window(params: &Params, default_period: i64) -> Result<(Timestamp, Timestamp), ApiError> {
    let (start, end) = time_range(params)?;
    let end = end.unwrap_or_else(Timestamp::now);
    let start = start.unwrap_or_else(|| end.plus_secs(-default_period));
    Ok((start, end))
}

fn interval(params: &Params, default: i64) -> Result<i64, ApiError> {
    match params.non_empty("interval") {
        None => Ok(default),
        Some(text) => parse_period(text)
            .filter(|secs| *secs >= 1)
            .ok_or_else(|| ApiError::bad_request(format!("interval: not a valid interval: {text:?}"))),
    }
}

fn project_ids(params: &Params) -> Result<Vec<ProjectId>, ApiError> {
    let mut out = Vec::new();
    for p in params.all("project") {
        let id: i64 = p.parse().map_err(|_| ApiError::bad_request(format!("project: not an id: {p:?}")))?;
        if id >= 0 {
            out.push(ProjectId(id));
        }
    }
    Ok(out)
}

/// Accepted errors or transactions over time (`category=error|transaction`,
/// `field=sum(quantity)|sum(times_seen)`, `interval=1h|1d|1m|…`, `start`/`end` or
/// `statsPeriod`, `project`, `groupBy=project|category|outcome`), at most 1000
/// intervals.
#[utoipa::path(get, path = "/api/0/organizations/{organization_slug}/stats_v2/", tag = "stats",
    params(("organization_slug" = String, Path), ("category" = Option<String>, Query), ("field" = Option<String>, Query),
        ("interval" = Option<String>, Query), ("start" = Option<String>, Query), ("end" = Option<String>, Query),
        ("statsPeriod" = Option<String>, Query), ("project" = Option<Vec<i64>>, Query), ("groupBy" = Option<Vec<String>>, Query),
        ("outcome" = Option<Vec<String>>, Query)),
    responses((status = 200, body = Object), (status = 400), (status = 404)))]
pub(crate) async fn stats_v2(
    State(state): State<AppState>,
    auth: Auth,
    Path(org_slug): Path<String>,
    OriginalUri(uri): OriginalUri,
) -> Result<Json<Value>, ApiError> {
    let access = org(&state, &auth, &org_slug).await?;
    access.require(Scope::OrgRead)?;
    let params = Params::from_uri(&uri);
    let field = params.non_empty("field").unwrap_or("sum(quantity)");
    if !matches!(field, "sum(quantity)" | "sum(times_seen)") {
        return Err(ApiError::bad_request(format!("field must be sum(quantity) or sum(times_seen), not {field:?}")));
    }
    let mut categories: Vec<(&str, i16)> = Vec::new();
    for c in params.all("category") {
        let n = match c {
            "error" | "default" => 0,
            "transaction" => 1,
            other => {
                return Err(ApiError::bad_request(format!("category must be error or transaction, not {other:?}")))
            }
        };
        if !categories.iter().any(|(_, x)| *x == n) {
            categories.push((c, n));
        }
    }
    if categories.is_empty() {
        categories.push(("error", 0));
    }
    let group_by = params.all("groupBy");
    if let Some(bad) = group_by.iter().find(|g| !matches!(**g, "project" | "category" | "outcome" | "reason")) {
        return Err(ApiError::bad_request(format!("groupBy {bad:?} is not supported")));
    }
    let outcomes = params.all("outcome");
    let accepted_only = outcomes.is_empty() || outcomes.contains(&"accepted");
    let (start, end) = window(&params, 86_400)?;
    let buckets = Buckets::new(start, end, interval(&params, 3600)?, 1000)?;
    let projects = project_ids(&params)?;

    // (project when grouped by it, category when grouped by it) → series.
    let by_project = group_by.contains(&"project");
    let by_category = group_by.contains(&"category");
    let mut groups: BTreeMap<(Option<ProjectId>, Option<&str>), Vec<i64>> = BTreeMap::new();
    if !by_project && !by_category {
        groups.insert((None, None), vec![0; buckets.count]);
    }
    if accepted_only {
        for (name, category) in &categories {
            if by_category && !by_project {
                groups.entry((None, Some(*name))).or_insert_with(|| vec![0; buckets.count]);
            }
            let rows = state
                .store
                .project_hourly_counts(
                    access.org.id,
                    &projects,
                    *category,
                    buckets.read_from(),
                    Timestamp::from_micros(buckets.end()),
                )
                .await?;
            for (project, hour, n) in rows {
                let Some(i) = buckets.index(hour.max(Timestamp::from_micros(buckets.start))) else { continue };
                let key = (by_project.then_some(project), by_category.then_some(*name));
                groups.entry(key).or_insert_with(|| vec![0; buckets.count])[i] += n;
            }
        }
    }
    let groups: Vec<Value> = groups
        .into_iter()
        .map(|((project, category), series)| {
            let mut by = Map::new();
            if let Some(p) = project {
                by.insert("project".into(), json!(p.0));
            }
            if let Some(c) = category {
                by.insert("category".into(), json!(c));
            }
            if group_by.contains(&"outcome") {
                by.insert("outcome".into(), json!("accepted"));
            }
            let total: i64 = series.iter().sum();
            json!({"by": by, "totals": {field: total}, "series": {field: series}})
        })
        .collect();
    Ok(Json(json!({
        "start": iso(buckets.start),
        "end": iso(buckets.end()),
        "intervals": buckets.starts().map(iso).collect::<Vec<_>>(),
        "groups": groups,
    })))
}

/// Events over time for the issues matching `query` (the issue search: `level:`,
/// `is:`, `environment:`, tags, free text), `project`, `environment`:
/// `{"data": [[ts, [{"count": n}]], …], "start": ts, "end": ts}` for `yAxis=count()`.
#[utoipa::path(get, path = "/api/0/organizations/{organization_slug}/events-stats/", tag = "stats",
    params(("organization_slug" = String, Path), ("yAxis" = Option<Vec<String>>, Query), ("interval" = Option<String>, Query),
        ("start" = Option<String>, Query), ("end" = Option<String>, Query), ("statsPeriod" = Option<String>, Query),
        ("query" = Option<String>, Query), ("project" = Option<Vec<i64>>, Query), ("environment" = Option<Vec<String>>, Query)),
    responses((status = 200, body = Object), (status = 400), (status = 404)))]
pub(crate) async fn events_stats(
    State(state): State<AppState>,
    auth: Auth,
    Path(org_slug): Path<String>,
    OriginalUri(uri): OriginalUri,
) -> Result<Json<Value>, ApiError> {
    let access = org(&state, &auth, &org_slug).await?;
    access.require(Scope::EventRead)?;
    let params = Params::from_uri(&uri);
    let mut y_axes: Vec<&str> = params.0.iter().filter(|(k, _)| k == "yAxis").map(|(_, v)| v.trim()).collect();
    y_axes.retain(|y| !y.is_empty());
    if y_axes.is_empty() {
        y_axes.push("count()");
    }
    if let Some(bad) = y_axes.iter().find(|y| !matches!(**y, "count()" | "count(id)" | "event_count")) {
        return Err(ApiError::bad_request(format!("yAxis {bad:?} is not supported; use count()")));
    }
    let (start, end) = window(&params, 86_400)?;
    let buckets = Buckets::new(start, end, interval(&params, 3600)?, 10_000)?;

    let mut query = SearchQuery::parse(params.first("query").unwrap_or_default())
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    // Discover's `event.type`: errors are what issues hold; transactions come from the
    // project counters.
    let mut transactions = false;
    query.terms.retain(|t| match &t.filter {
        SearchFilter::Tag(k, v) if k == "event.type" => {
            if v == "transaction" && !t.negated {
                transactions = true;
            }
            false
        }
        _ => true,
    });
    let mut filter = IssueFilter::organization(access.org.id);
    filter.viewer = Some(auth.principal.user.id);
    filter.projects = project_ids(&params)?;
    filter.environments = params.all("environment").into_iter().map(str::to_string).collect();
    filter.query = query;
    let rows: Vec<(Timestamp, i64)> = if transactions {
        state
            .store
            .project_hourly_counts(
                access.org.id,
                &filter.projects,
                1,
                buckets.read_from(),
                Timestamp::from_micros(buckets.end()),
            )
            .await?
            .into_iter()
            .map(|(_, t, n)| (t, n))
            .collect()
    } else {
        state.store.filtered_hourly_counts(&filter, buckets.read_from(), Timestamp::from_micros(buckets.end())).await?
    };
    let mut counts = vec![0i64; buckets.count];
    for (hour, n) in rows {
        if let Some(i) = buckets.index(hour.max(Timestamp::from_micros(buckets.start))) {
            counts[i] += n;
        }
    }
    let series = |_: &str| {
        json!({
            "data": buckets.starts().zip(&counts).map(|(t, n)| json!([t / MICROS, [{"count": n}]])).collect::<Vec<_>>(),
            "start": buckets.start / MICROS,
            "end": buckets.end() / MICROS,
            "isMetricsData": false,
        })
    };
    if y_axes.len() == 1 {
        return Ok(Json(series(y_axes[0])));
    }
    let mut out = Map::new();
    for (order, y) in y_axes.iter().enumerate() {
        let mut s = series(y);
        s["order"] = json!(order);
        out.insert((*y).to_string(), s);
    }
    Ok(Json(Value::Object(out)))
}

/// The tag keys of an organization's issues (Grafana's query editor), optionally
/// only of issues seen since `start`/`statsPeriod`.
#[utoipa::path(get, path = "/api/0/organizations/{organization_slug}/tags/", tag = "stats",
    params(("organization_slug" = String, Path), ("statsPeriod" = Option<String>, Query), ("start" = Option<String>, Query)),
    responses((status = 200, body = Vec<Object>), (status = 404)))]
pub(crate) async fn organization_tags(
    State(state): State<AppState>,
    auth: Auth,
    Path(org_slug): Path<String>,
    OriginalUri(uri): OriginalUri,
) -> Result<Json<Vec<Value>>, ApiError> {
    let access = org(&state, &auth, &org_slug).await?;
    access.require(Scope::EventRead)?;
    let (since, _) = time_range(&Params::from_uri(&uri))?;
    let keys = state.store.organization_tag_keys(access.org.id, since).await?;
    Ok(Json(
        keys.iter()
            .map(|k| {
                json!({"key": k.key, "name": tag_name(&k.key), "totalValues": k.total_values, "uniqueValues": k.unique_values})
            })
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_align_and_cap() {
        let t = |s: &str| Timestamp::parse_rfc3339(s).unwrap();
        let b = Buckets::new(t("2024-05-01T10:30:00Z"), t("2024-05-01T13:00:00Z"), 3600, 1000).unwrap();
        assert_eq!(b.count, 3);
        assert_eq!(iso(b.start), "2024-05-01T10:00:00Z");
        assert_eq!(iso(b.end()), "2024-05-01T13:00:00Z");
        assert_eq!(b.index(t("2024-05-01T12:59:59Z")), Some(2));
        assert_eq!(b.index(t("2024-05-01T13:00:00Z")), None);
        let b = Buckets::new(t("2024-05-01T10:30:00Z"), t("2024-05-01T13:10:00Z"), 3600, 1000).unwrap();
        assert_eq!(b.count, 4);
        assert!(Buckets::new(t("2024-01-01T00:00:00Z"), t("2024-03-01T00:00:00Z"), 3600, 1000).is_err());
        assert!(Buckets::new(t("2024-01-01T00:00:00Z"), t("2024-01-01T00:00:00Z"), 3600, 1000).is_err());
        let days = Buckets::new(t("2024-05-01T10:30:00Z"), t("2024-05-03T10:00:00Z"), 86_400, 1000).unwrap();
        assert_eq!(
            days.starts().map(iso).collect::<Vec<_>>(),
            ["2024-05-01T00:00:00Z", "2024-05-02T00:00:00Z", "2024-05-03T00:00:00Z"]
        );
    }
}
