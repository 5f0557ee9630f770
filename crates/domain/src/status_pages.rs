//! Status pages: what a valid page, incident, update and maintenance window are, and
//! the pure rules a page is drawn with — the overall status, each component's state,
//! the 90-day bars and their colour classes, and whether maintenance covers a monitor.
//! The API and the UI check their input here; the public page, its feeds and badges
//! compute their figures here.

use faultline_store::{MaintenanceWindow, NewStatusPage, OrganizationId, PageMonitor, RollupCounts, Timestamp};

use crate::DomainError;

/// Incident statuses, in the order an incident usually moves through them.
pub const INCIDENT_STATUSES: [&str; 4] = ["investigating", "identified", "monitoring", "resolved"];

/// Incident impacts, mildest first.
pub const IMPACTS: [&str; 3] = ["minor", "major", "critical"];

/// Days of history a page shows.
pub const HISTORY_DAYS: usize = 90;

const DAY: i64 = 86_400;

fn invalid(message: impl Into<String>) -> DomainError {
    DomainError::Invalid(message.into())
}

fn check_text(value: &str, field: &str, max: usize, required: bool) -> Result<(), DomainError> {
    if required && value.trim().is_empty() {
        return Err(invalid(format!("{field} is required.")));
    }
    if value.chars().count() > max {
        return Err(invalid(format!("{field} must be at most {max} characters.")));
    }
    Ok(())
}

/// Whether `slug` is a valid page slug: 1 to 50 lower-case letters, digits, `-` or
/// `_`, starting with a letter or digit.
pub fn valid_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= 50
        && slug.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        && slug.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
}

/// A slug made from a name (`"API & Web"` → `api-web`); empty when nothing is left.
pub fn slugify(name: &str) -> String {
    let mut out = String::new();
    for c in name.trim().to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-');
    out.chars().take(50).collect::<String>().trim_end_matches('-').to_string()
}

/// Checks a page: a name, a valid slug, a short description, each monitor once, short
/// group names.
pub fn validate_page(page: &NewStatusPage) -> Result<(), DomainError> {
    check_text(&page.name, "name", 200, true)?;
    if !valid_slug(&page.slug) {
        return Err(invalid(
            "slug must be 1 to 50 lower-case letters, digits, '-' or '_', starting with a letter or digit.",
        ));
    }
    check_text(&page.description, "description", 1000, false)?;
    for (i, (id, group)) in page.monitors.iter().enumerate() {
        if page.monitors[..i].iter().any(|(other, _)| other == id) {
            return Err(invalid(format!("monitor {id} is listed twice.")));
        }
        check_text(group, "A group name", 100, false)?;
    }
    Ok(())
}

/// Checks a status.
pub fn validate_status(status: &str) -> Result<(), DomainError> {
    if INCIDENT_STATUSES.contains(&status) {
        Ok(())
    } else {
        Err(invalid("status must be investigating, identified, monitoring or resolved."))
    }
}

/// Checks an impact.
pub fn validate_impact(impact: &str) -> Result<(), DomainError> {
    if IMPACTS.contains(&impact) {
        Ok(())
    } else {
        Err(invalid("impact must be minor, major or critical."))
    }
}

/// Checks a new incident: a title, a status, an impact, and its first message.
pub fn validate_incident(title: &str, status: &str, impact: &str, message: &str) -> Result<(), DomainError> {
    check_text(title, "title", 200, true)?;
    validate_status(status)?;
    validate_impact(impact)?;
    check_text(message, "message", 10_000, false)
}

/// Checks an update of an incident: a status and a message saying what changed.
pub fn validate_update(status: &str, message: &str) -> Result<(), DomainError> {
    validate_status(status)?;
    check_text(message, "message", 10_000, true)
}

/// Checks a maintenance window: a title, and an end after the start.
pub fn validate_window(title: &str, starts_at: Timestamp, ends_at: Timestamp) -> Result<(), DomainError> {
    check_text(title, "title", 200, true)?;
    if ends_at <= starts_at {
        return Err(invalid("endsAt must be after startsAt."));
    }
    Ok(())
}

/// Whether a window concerns a page (its own, or organization-wide).
pub fn window_applies_to_page(window: &MaintenanceWindow, page: i64) -> bool {
    window.status_page_id.is_none_or(|p| p == page)
}

/// Whether a window is in progress at `now`.
pub fn window_active(window: &MaintenanceWindow, now: Timestamp) -> bool {
    window.starts_at <= now && now < window.ends_at
}

/// The pure form of `Store::monitor_in_maintenance`: whether one of `windows` is in
/// progress at `now` for a monitor of `organization` shown on the pages `monitor_pages`.
pub fn is_in_maintenance(
    windows: &[MaintenanceWindow],
    organization: OrganizationId,
    monitor_pages: &[i64],
    now: Timestamp,
) -> bool {
    windows.iter().any(|w| {
        w.organization_id == organization
            && window_active(w, now)
            && w.status_page_id.is_none_or(|p| monitor_pages.contains(&p))
    })
}

/// A page's overall status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Overall {
    /// Everything is up.
    Operational,
    /// Something is pending or a minor incident is open.
    Degraded,
    /// Some monitors are down or a major incident is open.
    PartialOutage,
    /// Every monitor is down or a critical incident is open.
    MajorOutage,
    /// A maintenance window is in progress.
    Maintenance,
}

impl Overall {
    /// The wire name (`operational`, `degraded`, `partial_outage`, `major_outage`,
    /// `maintenance`).
    pub fn as_str(self) -> &'static str {
        match self {
            Overall::Operational => "operational",
            Overall::Degraded => "degraded",
            Overall::PartialOutage => "partial_outage",
            Overall::MajorOutage => "major_outage",
            Overall::Maintenance => "maintenance",
        }
    }

    /// The sentence a page shows.
    pub fn label(self) -> &'static str {
        match self {
            Overall::Operational => "All systems operational",
            Overall::Degraded => "Degraded performance",
            Overall::PartialOutage => "Partial outage",
            Overall::MajorOutage => "Major outage",
            Overall::Maintenance => "Under maintenance",
        }
    }

    /// A badge colour.
    pub fn colour(self) -> &'static str {
        match self {
            Overall::Operational => "#2da44e",
            Overall::Degraded => "#bf8700",
            Overall::PartialOutage => "#e16f24",
            Overall::MajorOutage => "#cf222e",
            Overall::Maintenance => "#0969da",
        }
    }
}

/// The overall status of a page: maintenance when a window is in progress; else the
/// worst of what the monitors say (all down: major outage; some down: partial outage;
/// pending: degraded) and what the open incidents say (critical, major, minor).
/// Paused and never-checked monitors count for nothing.
pub fn overall_status(monitors: &[PageMonitor], open_impacts: &[&str], in_maintenance: bool) -> Overall {
    if in_maintenance {
        return Overall::Maintenance;
    }
    let counted: Vec<&PageMonitor> = monitors.iter().filter(|m| !m.paused && m.health != "unknown").collect();
    let down = counted.iter().filter(|m| m.health == "down").count();
    let pending = counted.iter().filter(|m| m.health == "pending").count();
    let from_monitors = if down > 0 && down == counted.len() {
        Overall::MajorOutage
    } else if down > 0 {
        Overall::PartialOutage
    } else if pending > 0 {
        Overall::Degraded
    } else {
        Overall::Operational
    };
    let from_incidents = open_impacts
        .iter()
        .map(|impact| match *impact {
            "critical" => Overall::MajorOutage,
            "major" => Overall::PartialOutage,
            _ => Overall::Degraded,
        })
        .max()
        .unwrap_or(Overall::Operational);
    from_monitors.max(from_incidents)
}

/// A component's state on a page: `operational`, `degraded`, `major_outage`,
/// `maintenance`, `paused` or `unknown`.
pub fn component_status(monitor: &PageMonitor, in_maintenance: bool) -> &'static str {
    if in_maintenance {
        return "maintenance";
    }
    if monitor.paused {
        return "paused";
    }
    match monitor.health.as_str() {
        "up" => "operational",
        "pending" => "degraded",
        "down" => "major_outage",
        _ => "unknown",
    }
}

/// Words for a component state.
pub fn component_label(status: &str) -> &'static str {
    match status {
        "operational" => "Operational",
        "degraded" => "Degraded",
        "major_outage" => "Outage",
        "maintenance" => "Maintenance",
        "paused" => "Paused",
        _ => "No data",
    }
}

/// Uptime in percent, `None` without checks.
pub fn uptime_percent(up: i64, down: i64) -> Option<f64> {
    let total = up + down;
    (total > 0).then(|| up as f64 * 100.0 / total as f64)
}

/// The colour class of a bar: `bar-none` (no data), `bar-ok` (≥ 99.9 %), `bar-minor`
/// (≥ 99 %), `bar-major` (≥ 95 %), `bar-down`.
pub fn bar_class(percent: Option<f64>) -> &'static str {
    match percent {
        None => "bar-none",
        Some(p) if p >= 99.9 => "bar-ok",
        Some(p) if p >= 99.0 => "bar-minor",
        Some(p) if p >= 95.0 => "bar-major",
        Some(_) => "bar-down",
    }
}

/// A percentage as a page prints it (`99.95%`, `100%`, `—` without data).
pub fn format_percent(percent: Option<f64>) -> String {
    match percent {
        None => "—".to_string(),
        Some(p) if p >= 100.0 => "100%".to_string(),
        Some(p) => {
            // Never round a partial outage up to 100%.
            let floored = (p * 100.0).floor() / 100.0;
            format!("{floored:.2}%")
        }
    }
}

/// One day of a monitor's history.
#[derive(Debug, Clone, PartialEq)]
pub struct DayBar {
    /// The day, `YYYY-MM-DD` (UTC).
    pub date: String,
    /// Successful checks.
    pub up: i64,
    /// Failed checks.
    pub down: i64,
    /// Uptime, when checked.
    pub percent: Option<f64>,
    /// Colour class (see [`bar_class`]).
    pub class: &'static str,
}

/// The start (unix seconds) of the first of the `days` days ending with the day of `now`.
pub fn history_start(now: Timestamp, days: usize) -> i64 {
    let today = (now.micros() / 1_000_000).div_euclid(DAY) * DAY;
    today - (days as i64 - 1) * DAY
}

/// The bars of one monitor over `days` days ending today (oldest first): day rollups
/// for past days, and the hour rollups of today (the day row of today may lag).
pub fn day_bars(monitor: i64, rollups: &[RollupCounts], now: Timestamp, days: usize) -> Vec<DayBar> {
    let start = history_start(now, days);
    let today = start + (days as i64 - 1) * DAY;
    let mut counts = vec![(0i64, 0i64); days];
    for r in rollups.iter().filter(|r| r.monitor_id == monitor && r.bucket >= start) {
        let day = r.bucket.div_euclid(DAY) * DAY;
        let index = ((day - start) / DAY) as usize;
        if index >= days {
            continue;
        }
        let use_it = if day == today { r.resolution == 3600 } else { r.resolution == DAY };
        if use_it {
            counts[index].0 += r.up_count;
            counts[index].1 += r.down_count;
        }
    }
    counts
        .into_iter()
        .enumerate()
        .map(|(i, (up, down))| {
            let at = Timestamp::from_micros((start + i as i64 * DAY) * 1_000_000);
            let percent = uptime_percent(up, down);
            DayBar {
                date: at.to_datetime().format("%Y-%m-%d").to_string(),
                up,
                down,
                percent,
                class: bar_class(percent),
            }
        })
        .collect()
}

/// The uptime over a set of bars.
pub fn bars_uptime(bars: &[DayBar]) -> Option<f64> {
    let (up, down) = bars.iter().fold((0, 0), |(u, d), b| (u + b.up, d + b.down));
    uptime_percent(up, down)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn monitor(health: &str, paused: bool) -> PageMonitor {
        PageMonitor {
            id: 1,
            name: "api".into(),
            url: "https://example.com".into(),
            health: health.into(),
            health_since: None,
            paused,
            group_name: String::new(),
            position: 0,
        }
    }

    fn window(page: Option<i64>, start: i64, end: i64) -> MaintenanceWindow {
        MaintenanceWindow {
            id: 1,
            organization_id: OrganizationId(7),
            status_page_id: page,
            title: "upgrade".into(),
            starts_at: Timestamp::from_micros(start),
            ends_at: Timestamp::from_micros(end),
            created_at: Timestamp::from_micros(0),
        }
    }

    #[test]
    fn slugs() {
        assert!(valid_slug("status") && valid_slug("api-2") && valid_slug("a_b"));
        assert!(!valid_slug("") && !valid_slug("-x") && !valid_slug("Caps") && !valid_slug("a b"));
        assert!(!valid_slug(&"a".repeat(51)));
        assert_eq!(slugify("API & Web!"), "api-web");
        assert_eq!(slugify("  !! "), "");
    }

    #[test]
    fn pages_incidents_and_windows_are_checked() {
        let mut page = NewStatusPage { name: "Acme".into(), slug: "acme".into(), ..Default::default() };
        assert!(validate_page(&page).is_ok());
        page.monitors = vec![(1, "API".into()), (1, "Web".into())];
        assert!(validate_page(&page).is_err());
        page.monitors.clear();
        page.name = " ".into();
        assert!(validate_page(&page).is_err());
        assert!(validate_incident("Down", "investigating", "major", "").is_ok());
        assert!(validate_incident("Down", "fixed", "major", "").is_err());
        assert!(validate_incident("Down", "resolved", "huge", "").is_err());
        assert!(validate_incident("", "resolved", "minor", "").is_err());
        assert!(validate_update("monitoring", "").is_err());
        let t = Timestamp::from_micros(1_000);
        assert!(validate_window("x", t, t).is_err());
        assert!(validate_window("x", t, t.plus_secs(1)).is_ok());
    }

    #[test]
    fn overall_status_takes_the_worst() {
        let up = monitor("up", false);
        let down = monitor("down", false);
        let pending = monitor("pending", false);
        assert_eq!(overall_status(&[up.clone(), up.clone()], &[], false), Overall::Operational);
        assert_eq!(overall_status(&[up.clone(), pending.clone()], &[], false), Overall::Degraded);
        assert_eq!(overall_status(&[up.clone(), down.clone()], &[], false), Overall::PartialOutage);
        assert_eq!(overall_status(&[down.clone(), monitor("down", true)], &[], false), Overall::MajorOutage);
        assert_eq!(overall_status(std::slice::from_ref(&up), &["critical"], false), Overall::MajorOutage);
        assert_eq!(overall_status(std::slice::from_ref(&up), &["minor"], false), Overall::Degraded);
        assert_eq!(overall_status(&[down], &["minor"], true), Overall::Maintenance);
        assert_eq!(overall_status(&[], &[], false), Overall::Operational);
    }

    #[test]
    fn maintenance_covers_the_right_monitors() {
        let now = Timestamp::from_micros(5_000);
        let org = OrganizationId(7);
        assert!(is_in_maintenance(&[window(None, 0, 10_000)], org, &[], now));
        assert!(!is_in_maintenance(&[window(None, 0, 10_000)], OrganizationId(8), &[], now));
        assert!(!is_in_maintenance(&[window(None, 0, 5_000)], org, &[], now), "the end is exclusive");
        assert!(is_in_maintenance(&[window(None, 5_000, 6_000)], org, &[], now), "the start is inclusive");
        assert!(is_in_maintenance(&[window(Some(3), 0, 10_000)], org, &[2, 3], now));
        assert!(!is_in_maintenance(&[window(Some(3), 0, 10_000)], org, &[2], now));
        assert!(window_applies_to_page(&window(None, 0, 1), 9) && !window_applies_to_page(&window(Some(3), 0, 1), 9));
    }

    #[test]
    fn bars_use_day_rollups_and_hours_for_today() {
        let now = Timestamp::from_micros((100 * DAY + 3_600 * 5) * 1_000_000);
        let start = history_start(now, 3);
        assert_eq!(start, 98 * DAY);
        let r = |resolution, bucket, up, down| RollupCounts {
            monitor_id: 1,
            resolution,
            bucket,
            up_count: up,
            down_count: down,
        };
        let rollups = [
            r(DAY, 97 * DAY, 10, 0),   // before the window
            r(DAY, 98 * DAY, 999, 1),  // 99.9
            r(3600, 99 * DAY, 50, 50), // hours of a past day are ignored
            r(DAY, 100 * DAY, 1, 99),  // today's day row is ignored
            r(3600, 100 * DAY, 90, 10),
            r(3600, 100 * DAY + 3600, 10, 0),
        ];
        let bars = day_bars(1, &rollups, now, 3);
        assert_eq!(bars.len(), 3);
        assert_eq!((bars[0].up, bars[0].down, bars[0].class), (999, 1, "bar-ok"));
        assert_eq!((bars[1].percent, bars[1].class), (None, "bar-none"));
        assert_eq!((bars[2].up, bars[2].down, bars[2].class), (100, 10, "bar-down"));
        assert_eq!(bars[0].date, "1970-04-09");
        assert_eq!(format_percent(bars_uptime(&bars)), "99.00%");
        assert_eq!(format_percent(Some(99.999)), "99.99%");
        assert_eq!(format_percent(Some(100.0)), "100%");
        assert_eq!(bar_class(Some(99.5)), "bar-minor");
        assert_eq!(bar_class(Some(96.0)), "bar-major");
    }
}
