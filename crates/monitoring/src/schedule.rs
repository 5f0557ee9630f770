//! When a cron monitor's next run is expected.
//!
//! Crontab schedules are evaluated in the monitor's time zone and converted to UTC
//! (Healthchecks' DST-safe approach: a daily 02:30 job runs once on the day clocks
//! skip 02:30, and once on the day they repeat it). Interval schedules count from
//! the last check-in.

use chrono::{DateTime, Months, TimeDelta, Utc};
use chrono_tz::Tz;
use croner::parser::{CronParser, Seconds};
use croner::Cron;

/// Why a schedule is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// The crontab expression does not parse.
    #[error("invalid crontab expression {0:?}")]
    Crontab(String),
    /// Not a time zone of the tz database.
    #[error("unknown time zone {0:?}")]
    TimeZone(String),
    /// The interval unit or value is out of range.
    #[error("invalid interval: {0}")]
    Interval(String),
    /// Neither `crontab` nor `interval`.
    #[error("unknown schedule type {0:?}")]
    Type(String),
}

/// The unit of an interval schedule (Sentry's units).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntervalUnit {
    /// Minutes.
    Minute,
    /// Hours.
    Hour,
    /// Days.
    Day,
    /// Weeks.
    Week,
    /// Calendar months.
    Month,
    /// Calendar years.
    Year,
}

impl IntervalUnit {
    /// Parses Sentry's unit names (singular or plural).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim_end_matches('s') {
            "minute" => IntervalUnit::Minute,
            "hour" => IntervalUnit::Hour,
            "day" => IntervalUnit::Day,
            "week" => IntervalUnit::Week,
            "month" => IntervalUnit::Month,
            "year" => IntervalUnit::Year,
            _ => return None,
        })
    }

    /// The singular name.
    pub fn as_str(self) -> &'static str {
        match self {
            IntervalUnit::Minute => "minute",
            IntervalUnit::Hour => "hour",
            IntervalUnit::Day => "day",
            IntervalUnit::Week => "week",
            IntervalUnit::Month => "month",
            IntervalUnit::Year => "year",
        }
    }
}

/// A parsed schedule.
#[derive(Debug, Clone)]
pub enum Schedule {
    /// A five-field crontab (or `@hourly`-style alias) in a time zone.
    Crontab {
        /// The expression as given.
        expr: String,
        /// Parsed.
        cron: Box<Cron>,
        /// Where it is evaluated.
        tz: Tz,
    },
    /// Every `value` units after the last check-in.
    Interval {
        /// How many units.
        value: u32,
        /// Unit.
        unit: IntervalUnit,
    },
}

impl Schedule {
    /// A crontab schedule in `timezone` (`None`: UTC).
    pub fn crontab(expr: &str, timezone: Option<&str>) -> Result<Self, ScheduleError> {
        let tz = parse_tz(timezone)?;
        let expr = expr.trim();
        let cron = CronParser::builder()
            .seconds(Seconds::Disallowed)
            .build()
            .parse(expr)
            .map_err(|_| ScheduleError::Crontab(expr.to_string()))?;
        Ok(Schedule::Crontab { expr: expr.to_string(), cron: Box::new(cron), tz })
    }

    /// An interval schedule.
    pub fn interval(value: i64, unit: &str) -> Result<Self, ScheduleError> {
        let unit =
            IntervalUnit::parse(unit).ok_or_else(|| ScheduleError::Interval(format!("unknown unit {unit:?}")))?;
        let value = u32::try_from(value)
            .ok()
            .filter(|v| (1..=100_000).contains(v))
            .ok_or_else(|| ScheduleError::Interval(format!("value {value} is out of range")))?;
        Ok(Schedule::Interval { value, unit })
    }

    /// From the stored form: type (`crontab`/`interval`), value (`"0 * * * *"` or
    /// `"5 minute"`) and time zone.
    pub fn from_stored(kind: &str, value: &str, timezone: Option<&str>) -> Result<Self, ScheduleError> {
        match kind {
            "crontab" => Schedule::crontab(value, timezone),
            "interval" => {
                let (n, unit) = value.split_once(' ').ok_or_else(|| ScheduleError::Interval(value.to_string()))?;
                let n = n.parse::<i64>().map_err(|_| ScheduleError::Interval(value.to_string()))?;
                Schedule::interval(n, unit)
            }
            other => Err(ScheduleError::Type(other.to_string())),
        }
    }

    /// The stored form: `(type, value)`.
    pub fn to_stored(&self) -> (&'static str, String) {
        match self {
            Schedule::Crontab { expr, .. } => ("crontab", expr.clone()),
            Schedule::Interval { value, unit } => ("interval", format!("{value} {}", unit.as_str())),
        }
    }

    /// The first expected run strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Schedule::Crontab { cron, tz, .. } => {
                let local = after.with_timezone(tz);
                cron.find_next_occurrence(&local, false).ok().map(|t| t.with_timezone(&Utc))
            }
            Schedule::Interval { value, unit } => {
                let v = *value;
                match unit {
                    IntervalUnit::Minute => after.checked_add_signed(TimeDelta::minutes(v.into())),
                    IntervalUnit::Hour => after.checked_add_signed(TimeDelta::hours(v.into())),
                    IntervalUnit::Day => after.checked_add_signed(TimeDelta::days(v.into())),
                    IntervalUnit::Week => after.checked_add_signed(TimeDelta::weeks(v.into())),
                    IntervalUnit::Month => after.checked_add_months(Months::new(v)),
                    IntervalUnit::Year => after.checked_add_months(Months::new(v.saturating_mul(12))),
                }
            }
        }
    }

    /// The time zone (UTC for intervals).
    pub fn timezone(&self) -> Tz {
        match self {
            Schedule::Crontab { tz, .. } => *tz,
            Schedule::Interval { .. } => Tz::UTC,
        }
    }
}

fn parse_tz(timezone: Option<&str>) -> Result<Tz, ScheduleError> {
    match timezone.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(Tz::UTC),
        Some(name) => name.parse::<Tz>().map_err(|_| ScheduleError::TimeZone(name.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn hourly_crontab_in_utc() {
        let s = Schedule::crontab("0 * * * *", None).unwrap();
        assert_eq!(s.next_after(utc("2026-03-01T10:00:00Z")), Some(utc("2026-03-01T11:00:00Z")));
        assert_eq!(s.next_after(utc("2026-03-01T10:59:59Z")), Some(utc("2026-03-01T11:00:00Z")));
    }

    #[test]
    fn aliases_parse() {
        let s = Schedule::crontab("@daily", None).unwrap();
        assert_eq!(s.next_after(utc("2026-03-01T10:00:00Z")), Some(utc("2026-03-02T00:00:00Z")));
    }

    #[test]
    fn daily_job_in_a_time_zone_follows_local_time_across_dst() {
        // 09:00 in New York: 14:00 UTC in winter (EST), 13:00 UTC in summer (EDT).
        let s = Schedule::crontab("0 9 * * *", Some("America/New_York")).unwrap();
        assert_eq!(s.next_after(utc("2026-03-07T15:00:00Z")), Some(utc("2026-03-08T13:00:00Z")));
        assert_eq!(s.next_after(utc("2026-03-06T15:00:00Z")), Some(utc("2026-03-07T14:00:00Z")));
    }

    #[test]
    fn a_skipped_local_time_still_runs_once_that_day() {
        // 02:30 does not exist in Berlin on 2026-03-29 (clocks jump 02:00 → 03:00).
        let s = Schedule::crontab("30 2 * * *", Some("Europe/Berlin")).unwrap();
        let next = s.next_after(utc("2026-03-28T12:00:00Z")).unwrap();
        assert!(next > utc("2026-03-28T23:00:00Z") && next < utc("2026-03-29T12:00:00Z"), "{next}");
        let after = s.next_after(next).unwrap();
        assert_eq!(after, utc("2026-03-30T00:30:00Z"));
    }

    #[test]
    fn a_repeated_local_time_runs_once() {
        // 02:30 happens twice in Berlin on 2026-10-25 (03:00 → 02:00).
        let s = Schedule::crontab("30 2 * * *", Some("Europe/Berlin")).unwrap();
        let first = s.next_after(utc("2026-10-24T12:00:00Z")).unwrap();
        let second = s.next_after(first).unwrap();
        assert!(second > utc("2026-10-25T12:00:00Z"), "ran twice: {first} then {second}");
    }

    #[test]
    fn intervals_count_from_the_given_time() {
        let s = Schedule::interval(5, "minute").unwrap();
        assert_eq!(s.next_after(utc("2026-03-01T10:00:07Z")), Some(utc("2026-03-01T10:05:07Z")));
        let m = Schedule::interval(1, "months").unwrap();
        assert_eq!(m.next_after(utc("2026-01-31T00:00:00Z")), Some(utc("2026-02-28T00:00:00Z")));
    }

    #[test]
    fn stored_form_round_trips() {
        for (kind, value) in [("crontab", "*/5 * * * *"), ("interval", "3 hour")] {
            let s = Schedule::from_stored(kind, value, Some("Europe/Paris")).unwrap();
            assert_eq!(s.to_stored(), (kind, value.to_string()));
        }
    }

    #[test]
    fn bad_schedules_are_rejected() {
        assert!(matches!(Schedule::crontab("61 * * * *", None), Err(ScheduleError::Crontab(_))));
        assert!(matches!(Schedule::crontab("* * * * *", Some("Mars/Olympus")), Err(ScheduleError::TimeZone(_))));
        assert!(matches!(Schedule::interval(0, "minute"), Err(ScheduleError::Interval(_))));
        assert!(matches!(Schedule::interval(1, "fortnight"), Err(ScheduleError::Interval(_))));
        assert!(matches!(Schedule::from_stored("solar", "x", None), Err(ScheduleError::Type(_))));
    }
}
