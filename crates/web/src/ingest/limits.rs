//! Rate limits, quotas, duplicate event ids and back-pressure.
//!
//! Counters live in this process's memory (fixed windows): with several instances
//! behind a load balancer each enforces its share. The monthly quota is seeded from
//! stored statistics and refreshed every minute.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{Datelike, TimeZone, Utc};
use faultline_store::{KeyAuth, OrganizationId, ProjectId, ProjectKeyId, Store, Timestamp};
use uuid::Uuid;

use super::IngestError;

/// Categories that event limits apply to, as sent in `X-Sentry-Rate-Limits`.
const EVENT_CATEGORIES: &str = "default;error;security;transaction";
/// How long an event id is remembered for duplicate detection.
const DEDUPE_WINDOW: Duration = Duration::from_secs(300);
/// Ids remembered per generation at most.
const DEDUPE_MAX: usize = 200_000;
/// How often the queue depth and monthly counts are re-read.
const REFRESH: Duration = Duration::from_secs(1);
const MONTHLY_REFRESH: Duration = Duration::from_secs(60);

#[derive(Clone, Copy)]
struct Window {
    start: Instant,
    count: u64,
}

struct Month {
    /// Month number (year * 12 + month) the count belongs to.
    month: i32,
    /// Stored count when last read.
    base: i64,
    /// Accepted by this process since.
    since: i64,
    read_at: Instant,
}

pub(crate) struct Limits {
    keys: Mutex<HashMap<ProjectKeyId, Window>>,
    projects: Mutex<HashMap<ProjectId, Window>>,
    orgs: Mutex<HashMap<OrganizationId, Window>>,
    months: Mutex<HashMap<OrganizationId, Month>>,
    dedupe: Mutex<Dedupe>,
    max_queue_depth: u64,
    depth: Mutex<(Option<Instant>, i64)>,
}

struct Dedupe {
    current: HashSet<(ProjectId, Uuid)>,
    previous: HashSet<(ProjectId, Uuid)>,
    rotated: Instant,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn limited(retry_after: u64, scope: &str, reason: &str, detail: String) -> IngestError {
    let retry_after = retry_after.max(1);
    IngestError::RateLimited {
        retry_after,
        limits: format!("{retry_after}:{EVENT_CATEGORIES}:{scope}:{reason}"),
        detail,
    }
}

/// Counts `n` against a fixed window; `Err(seconds until it resets)` when over.
fn take<K: std::hash::Hash + Eq>(
    map: &Mutex<HashMap<K, Window>>,
    id: K,
    limit: u64,
    window: Duration,
    n: u64,
    now: Instant,
) -> Result<(), u64> {
    let mut map = lock(map);
    let w = map.entry(id).or_insert(Window { start: now, count: 0 });
    if now.duration_since(w.start) >= window {
        *w = Window { start: now, count: 0 };
    }
    if w.count + n > limit {
        let left = window.saturating_sub(now.duration_since(w.start));
        return Err(left.as_secs() + u64::from(left.subsec_nanos() > 0));
    }
    w.count += n;
    Ok(())
}

fn month_number(t: chrono::DateTime<Utc>) -> i32 {
    t.year() * 12 + t.month0() as i32
}

fn month_start(t: chrono::DateTime<Utc>) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(t.year(), t.month(), 1, 0, 0, 0).single().unwrap_or(t)
}

fn next_month_start(t: chrono::DateTime<Utc>) -> chrono::DateTime<Utc> {
    let (y, m) = if t.month() == 12 { (t.year() + 1, 1) } else { (t.year(), t.month() + 1) };
    Utc.with_ymd_and_hms(y, m, 1, 0, 0, 0).single().unwrap_or(t)
}

impl Limits {
    pub(crate) fn new(max_queue_depth: u64) -> Limits {
        Limits {
            keys: Mutex::default(),
            projects: Mutex::default(),
            orgs: Mutex::default(),
            months: Mutex::default(),
            dedupe: Mutex::new(Dedupe { current: HashSet::new(), previous: HashSet::new(), rotated: Instant::now() }),
            max_queue_depth,
            depth: Mutex::new((None, 0)),
        }
    }

    /// Checks every limit for `events` event-like items from `auth`'s key, counting
    /// them when they pass.
    pub(crate) async fn check(&self, store: &Store, auth: &KeyAuth, events: u64) -> Result<(), IngestError> {
        self.check_queue(store).await?;
        if events == 0 {
            return Ok(());
        }
        if !auth.org_accepting_events {
            return Err(limited(600, "organization", "disabled", "the organization is not accepting events".into()));
        }
        for (rate, scope) in [(auth.org_throttle_rate, "organization"), (auth.project_throttle_rate, "project")] {
            if rate >= 100 {
                return Err(limited(
                    600,
                    scope,
                    "throttled",
                    format!("the {scope} is not accepting events (throttled)"),
                ));
            }
            // GlitchTip's probabilistic throttle: refuse `rate` percent of requests.
            if rate > 0 && rand::random::<u32>() % 100 < rate as u32 {
                let retry = (0.02 * f64::from(rate).powf(2.3)).ceil() as u64;
                return Err(limited(retry, scope, "throttled", format!("the {scope} is throttled to {}%", 100 - rate)));
            }
        }
        let now = Instant::now();
        if let (Some(count), Some(window)) = (auth.rate_limit_count, auth.rate_limit_window) {
            if count >= 0 && window > 0 {
                take(&self.keys, auth.key_id, count as u64, Duration::from_secs(window as u64), events, now).map_err(
                    |retry| {
                        limited(retry, "key", "key_quota", format!("this key may send {count} events per {window} s"))
                    },
                )?;
            }
        }
        if let Some(per_minute) = auth.project_rate_limit.filter(|n| *n >= 0) {
            take(&self.projects, auth.project_id, per_minute as u64, Duration::from_secs(60), events, now).map_err(
                |retry| {
                    limited(
                        retry,
                        "project",
                        "project_quota",
                        format!("the project may receive {per_minute} events per minute"),
                    )
                },
            )?;
        }
        if let Some(per_minute) = auth.org_rate_limit.filter(|n| *n >= 0) {
            take(&self.orgs, auth.organization_id, per_minute as u64, Duration::from_secs(60), events, now).map_err(
                |retry| {
                    limited(
                        retry,
                        "organization",
                        "org_quota",
                        format!("the organization may receive {per_minute} events per minute"),
                    )
                },
            )?;
        }
        if let Some(quota) = auth.org_monthly_quota {
            self.check_month(store, auth.organization_id, quota, events).await?;
        }
        Ok(())
    }

    async fn check_month(
        &self,
        store: &Store,
        org: OrganizationId,
        quota: i64,
        events: u64,
    ) -> Result<(), IngestError> {
        let now = Utc::now();
        let month = month_number(now);
        let stale =
            lock(&self.months).get(&org).is_none_or(|m| m.month != month || m.read_at.elapsed() >= MONTHLY_REFRESH);
        if stale {
            let base = store
                .organization_event_count_since(org, Timestamp::from_datetime(month_start(now)))
                .await
                .map_err(|e| IngestError::storage(&e))?;
            lock(&self.months).insert(org, Month { month, base, since: 0, read_at: Instant::now() });
        }
        let mut months = lock(&self.months);
        let Some(m) = months.get_mut(&org) else { return Ok(()) };
        if m.base + m.since + events as i64 > quota {
            let retry = (next_month_start(now) - now).num_seconds().max(1) as u64;
            return Err(limited(
                retry,
                "organization",
                "monthly_quota",
                format!("the monthly quota of {quota} events is used up"),
            ));
        }
        m.since += events as i64;
        Ok(())
    }

    async fn check_queue(&self, store: &Store) -> Result<(), IngestError> {
        let fresh = lock(&self.depth).0.is_some_and(|at| at.elapsed() < REFRESH);
        if !fresh {
            let depth = store.queue_depth_estimate().await.map_err(|e| IngestError::storage(&e))?;
            *lock(&self.depth) = (Some(Instant::now()), depth);
        }
        let depth = lock(&self.depth).1;
        if depth >= 0 && depth as u64 >= self.max_queue_depth {
            return Err(IngestError::Unavailable {
                retry_after: 60,
                detail: format!("the server is behind: {depth} payloads wait for processing; retry later"),
            });
        }
        Ok(())
    }

    /// Counts a payload this process just queued into the cached depth, so the estimate
    /// tracks its own acceptances between refreshes.
    pub(crate) fn note_enqueued(&self) {
        lock(&self.depth).1 += 1;
    }

    /// Whether this event id was accepted recently.
    pub(crate) fn is_duplicate(&self, project: ProjectId, event_id: Uuid) -> bool {
        let mut d = lock(&self.dedupe);
        if d.rotated.elapsed() >= DEDUPE_WINDOW || d.current.len() >= DEDUPE_MAX {
            d.previous = std::mem::take(&mut d.current);
            d.rotated = Instant::now();
        }
        d.current.contains(&(project, event_id)) || d.previous.contains(&(project, event_id))
    }

    /// Remembers an accepted event id (after it was made durable).
    pub(crate) fn remember(&self, project: ProjectId, event_id: Uuid) {
        lock(&self.dedupe).current.insert((project, event_id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_windows() {
        let map = Mutex::new(HashMap::new());
        let t0 = Instant::now();
        assert!(take(&map, 1, 3, Duration::from_secs(60), 2, t0).is_ok());
        assert!(take(&map, 1, 3, Duration::from_secs(60), 1, t0).is_ok());
        let retry = take(&map, 1, 3, Duration::from_secs(60), 1, t0 + Duration::from_secs(10)).unwrap_err();
        assert_eq!(retry, 50);
        assert!(take(&map, 2, 3, Duration::from_secs(60), 1, t0).is_ok(), "per id");
        assert!(take(&map, 1, 3, Duration::from_secs(60), 3, t0 + Duration::from_secs(60)).is_ok(), "a new window");
    }

    #[test]
    fn months() {
        let t = Utc.with_ymd_and_hms(2024, 12, 15, 10, 0, 0).unwrap();
        assert_eq!(month_start(t).to_rfc3339(), "2024-12-01T00:00:00+00:00");
        assert_eq!(next_month_start(t).to_rfc3339(), "2025-01-01T00:00:00+00:00");
    }

    #[test]
    fn duplicates_are_remembered_per_project() {
        let limits = Limits::new(10);
        let id = Uuid::new_v4();
        assert!(!limits.is_duplicate(ProjectId(1), id));
        limits.remember(ProjectId(1), id);
        assert!(limits.is_duplicate(ProjectId(1), id));
        assert!(!limits.is_duplicate(ProjectId(2), id));
    }
}
