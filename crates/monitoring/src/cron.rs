//! Sentry Crons: check-ins, `monitor_config`, and the state of a cron monitor in
//! one environment.
//!
//! A monitor expects a run at each time of its schedule. A check-in (`in_progress`,
//! `ok` or `error`) arriving before the expected time plus `checkin_margin` counts;
//! otherwise the server records a `missed` run. An `in_progress` run older than
//! `max_runtime` becomes `timeout`. `failure_issue_threshold` failures in a row
//! (error, missed or timeout) make the monitor failing, which opens an issue and
//! alerts; `recovery_threshold` successes in a row end it.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::schedule::{Schedule, ScheduleError};
use crate::TransitionKind;

/// Longest monitor slug (Relay's limit).
pub const MAX_SLUG: usize = 50;
/// Longest environment name.
pub const MAX_ENVIRONMENT: usize = 64;

/// Lowercase letters, digits, `-` and `_`; anything else becomes `-`; at most 50
/// characters. `None` when nothing is left.
pub fn slugify(s: &str) -> Option<String> {
    let mut out = String::new();
    for c in s.trim().chars().flat_map(char::to_lowercase) {
        let c = if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '-' };
        if !(c == '-' && out.ends_with('-')) {
            out.push(c);
        }
    }
    let out: String = out.trim_matches('-').chars().take(MAX_SLUG).collect();
    let out = out.trim_end_matches('-').to_string();
    (!out.is_empty()).then_some(out)
}

/// A check-in's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// A run started.
    InProgress,
    /// A run succeeded.
    Ok,
    /// A run failed.
    Error,
    /// No run came (server-side).
    Missed,
    /// A run exceeded `max_runtime` (server-side).
    Timeout,
    /// Anything else a client sent (a client cannot send `missed`).
    Unknown,
}

impl Status {
    /// From what a client sent.
    pub fn from_client(s: &str) -> Status {
        match s {
            "in_progress" => Status::InProgress,
            "ok" => Status::Ok,
            "error" => Status::Error,
            _ => Status::Unknown,
        }
    }

    /// From the stored name.
    pub fn parse(s: &str) -> Status {
        match s {
            "missed" => Status::Missed,
            "timeout" => Status::Timeout,
            other => Status::from_client(other),
        }
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::InProgress => "in_progress",
            Status::Ok => "ok",
            Status::Error => "error",
            Status::Missed => "missed",
            Status::Timeout => "timeout",
            Status::Unknown => "unknown",
        }
    }

    /// Whether the run counts as a failure.
    pub fn is_failure(self) -> bool {
        matches!(self, Status::Error | Status::Missed | Status::Timeout)
    }
}

/// A monitor's configuration (from `monitor_config`, the API or the UI).
#[derive(Debug, Clone)]
pub struct Config {
    /// When runs are expected.
    pub schedule: Schedule,
    /// Minutes after the expected time before a run counts as missed.
    pub checkin_margin_min: u32,
    /// Minutes an `in_progress` run may take.
    pub max_runtime_min: u32,
    /// Failures in a row before the monitor is failing.
    pub failure_issue_threshold: u32,
    /// Successes in a row before a failing monitor recovers.
    pub recovery_threshold: u32,
}

/// Defaults: Sentry's (margin 1 minute, max runtime 30 minutes, thresholds 1).
pub const DEFAULT_MARGIN_MIN: u32 = 1;
/// Default maximum runtime in minutes.
pub const DEFAULT_MAX_RUNTIME_MIN: u32 = 30;

impl Config {
    /// Parses a `monitor_config` object.
    pub fn from_json(v: &Value) -> Result<Config, String> {
        let schedule = v.get("schedule").ok_or("monitor_config.schedule is required")?;
        let timezone = v.get("timezone").and_then(Value::as_str);
        let kind = schedule.get("type").and_then(Value::as_str).unwrap_or("crontab");
        let schedule = match kind {
            "crontab" => {
                let expr = schedule.get("value").and_then(Value::as_str).ok_or("a crontab schedule needs a value")?;
                Schedule::crontab(expr, timezone)
            }
            "interval" => {
                let value =
                    schedule.get("value").and_then(Value::as_i64).ok_or("an interval schedule needs a value")?;
                let unit = schedule.get("unit").and_then(Value::as_str).ok_or("an interval schedule needs a unit")?;
                Schedule::interval(value, unit)
            }
            other => Err(ScheduleError::Type(other.to_string())),
        }
        .map_err(|e| e.to_string())?;
        let minutes = |key: &str, default: u32, max: u32| -> Result<u32, String> {
            match v.get(key) {
                None | Some(Value::Null) => Ok(default),
                Some(n) => n
                    .as_f64()
                    .filter(|n| n.is_finite() && *n >= 0.0 && *n <= f64::from(max))
                    .map(|n| n as u32)
                    .ok_or_else(|| format!("monitor_config.{key} must be a number from 0 to {max}")),
            }
        };
        Ok(Config {
            schedule,
            checkin_margin_min: minutes("checkin_margin", DEFAULT_MARGIN_MIN, 40_320)?.max(1),
            max_runtime_min: minutes("max_runtime", DEFAULT_MAX_RUNTIME_MIN, 40_320)?.max(1),
            failure_issue_threshold: minutes("failure_issue_threshold", 1, 720)?.max(1),
            recovery_threshold: minutes("recovery_threshold", 1, 720)?.max(1),
        })
    }
}

/// A check-in as a client sent it.
#[derive(Debug, Clone)]
pub struct CheckIn {
    /// The run's id; nil means "the latest in-progress run".
    pub check_in_id: Uuid,
    /// The monitor (slugified).
    pub monitor_slug: String,
    /// Status.
    pub status: Status,
    /// Seconds the run took.
    pub duration: Option<f64>,
    /// Environment (default `production`).
    pub environment: String,
    /// Release.
    pub release: Option<String>,
    /// The monitor's configuration, when sent (upserts the monitor).
    pub config: Option<Result<Config, String>>,
}

impl CheckIn {
    /// Parses a `check_in` item's payload.
    pub fn from_json(v: &Value) -> Result<CheckIn, String> {
        let slug = v.get("monitor_slug").and_then(Value::as_str).and_then(slugify).ok_or("monitor_slug is required")?;
        let check_in_id = match v.get("check_in_id").and_then(Value::as_str) {
            None => Uuid::nil(),
            Some(s) => Uuid::try_parse(s).map_err(|_| "check_in_id is not a UUID")?,
        };
        let environment = v
            .get("environment")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .unwrap_or("production")
            .chars()
            .take(MAX_ENVIRONMENT)
            .collect();
        Ok(CheckIn {
            check_in_id,
            monitor_slug: slug,
            status: Status::from_client(v.get("status").and_then(Value::as_str).unwrap_or("")),
            duration: v.get("duration").and_then(Value::as_f64).filter(|d| d.is_finite() && *d >= 0.0),
            environment,
            release: v.get("release").and_then(Value::as_str).map(String::from),
            config: v.get("monitor_config").filter(|c| c.is_object()).map(Config::from_json),
        })
    }
}

/// A monitor's state in one environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvState {
    /// The last finished run's status (`None`: no run yet).
    pub last_status: Option<Status>,
    /// Failing: an incident is open.
    pub failing: bool,
    /// Failures in a row.
    pub consecutive_failures: u32,
    /// Successes in a row.
    pub consecutive_ok: u32,
    /// The last check-in (any status).
    pub last_checkin_at: Option<DateTime<Utc>>,
    /// When the next run is expected.
    pub next_checkin_at: Option<DateTime<Utc>>,
    /// The run in progress and when it started.
    pub in_progress: Option<(Uuid, DateTime<Utc>)>,
}

impl EnvState {
    /// A monitor environment that has seen nothing.
    pub fn new() -> Self {
        EnvState {
            last_status: None,
            failing: false,
            consecutive_failures: 0,
            consecutive_ok: 0,
            last_checkin_at: None,
            next_checkin_at: None,
            in_progress: None,
        }
    }

    /// When the sweeper must look at this environment next: the running job's
    /// timeout, else the expected run plus the margin.
    pub fn deadline(&self, config: &Config) -> Option<DateTime<Utc>> {
        match self.in_progress {
            Some((_, started)) => Some(started + TimeDelta::minutes(config.max_runtime_min.into())),
            None => self.next_checkin_at.map(|t| t + TimeDelta::minutes(config.checkin_margin_min.into())),
        }
    }
}

impl Default for EnvState {
    fn default() -> Self {
        EnvState::new()
    }
}

/// What happened to a monitor environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// A client check-in.
    CheckIn {
        /// Its id (nil: the latest in-progress run).
        id: Uuid,
        /// Its status.
        status: Status,
    },
    /// The sweeper found the deadline passed.
    Deadline,
}

/// The outcome of a signal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The new state.
    pub state: EnvState,
    /// The status to record for the run (`missed`/`timeout` from the sweeper).
    pub recorded: Status,
    /// The run this closed, if it closed one (its in-progress id).
    pub closed: Option<Uuid>,
    /// The transition, if any.
    pub transition: Option<TransitionKind>,
}

/// Applies a signal at `now`.
pub fn apply(state: &EnvState, signal: Signal, now: DateTime<Utc>, config: &Config) -> Applied {
    let mut s = state.clone();
    let mut closed = None;
    let recorded = match signal {
        Signal::CheckIn { id, status } => {
            s.last_checkin_at = Some(now);
            let closes = s.in_progress.filter(|(running, _)| id.is_nil() || *running == id);
            match status {
                Status::InProgress => {
                    // A retried start of the same run keeps its start time.
                    if closes.is_none() {
                        s.in_progress = Some((id, now));
                        s.next_checkin_at = config.schedule.next_after(now);
                    }
                    return Applied { state: s, recorded: status, closed: None, transition: None };
                }
                Status::Ok | Status::Error => {
                    if let Some((running, _)) = closes {
                        s.in_progress = None;
                        closed = Some(running);
                    } else {
                        // A run reported only when done: it is this period's run.
                        s.next_checkin_at = config.schedule.next_after(now);
                    }
                    status
                }
                // Unknown statuses are recorded but change nothing.
                Status::Missed | Status::Timeout | Status::Unknown => {
                    return Applied { state: s, recorded: Status::Unknown, closed: None, transition: None };
                }
            }
        }
        Signal::Deadline => match s.in_progress {
            Some((running, started)) if now >= started + TimeDelta::minutes(config.max_runtime_min.into()) => {
                s.in_progress = None;
                closed = Some(running);
                Status::Timeout
            }
            Some(_) => return Applied { state: s, recorded: Status::Unknown, closed: None, transition: None },
            None => match s.deadline(config) {
                Some(deadline) if now >= deadline => {
                    // Expect the next run after now; a long outage is one missed run
                    // per sweep, not a backlog of them.
                    s.next_checkin_at = config.schedule.next_after(now);
                    Status::Missed
                }
                _ => return Applied { state: s, recorded: Status::Unknown, closed: None, transition: None },
            },
        },
    };
    s.last_status = Some(recorded);
    let transition = if recorded.is_failure() {
        s.consecutive_failures = s.consecutive_failures.saturating_add(1);
        s.consecutive_ok = 0;
        if !s.failing && s.consecutive_failures >= config.failure_issue_threshold.max(1) {
            s.failing = true;
            Some(if recorded == Status::Missed { TransitionKind::CronMissed } else { TransitionKind::CronFailed })
        } else {
            None
        }
    } else {
        s.consecutive_ok = s.consecutive_ok.saturating_add(1);
        s.consecutive_failures = 0;
        if s.failing && s.consecutive_ok >= config.recovery_threshold.max(1) {
            s.failing = false;
            Some(TransitionKind::CronRecovered)
        } else {
            None
        }
    };
    Applied { state: s, recorded, closed, transition }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn hourly(failures: u32, recoveries: u32) -> Config {
        Config {
            schedule: Schedule::crontab("0 * * * *", None).unwrap(),
            checkin_margin_min: 5,
            max_runtime_min: 10,
            failure_issue_threshold: failures,
            recovery_threshold: recoveries,
        }
    }

    fn check_in(id: u128, status: Status) -> Signal {
        Signal::CheckIn { id: Uuid::from_u128(id), status }
    }

    #[test]
    fn slugs_follow_relay() {
        assert_eq!(slugify("My Nightly Job!").as_deref(), Some("my-nightly-job"));
        assert_eq!(slugify("  --a__b--  ").as_deref(), Some("a__b"));
        assert_eq!(slugify("x".repeat(80).as_str()).map(|s| s.len()), Some(50));
        assert_eq!(slugify("!!!"), None);
    }

    #[test]
    fn parses_an_sdk_check_in_with_config() {
        let v = json!({
            "check_in_id": "83a7c03ed0a04e1b97e2e3b18d38f244", "monitor_slug": "Nightly Backup",
            "status": "in_progress", "environment": "prod", "duration": 1.5,
            "monitor_config": {"schedule": {"type": "interval", "value": 2, "unit": "hour"},
                "checkin_margin": 3, "max_runtime": 20, "timezone": "Europe/Vienna",
                "failure_issue_threshold": 2, "recovery_threshold": 3}
        });
        let c = CheckIn::from_json(&v).unwrap();
        assert_eq!(c.monitor_slug, "nightly-backup");
        assert_eq!(c.status, Status::InProgress);
        assert_eq!(c.environment, "prod");
        let config = c.config.unwrap().unwrap();
        assert_eq!(config.schedule.to_stored(), ("interval", "2 hour".to_string()));
        assert_eq!(
            (
                config.checkin_margin_min,
                config.max_runtime_min,
                config.failure_issue_threshold,
                config.recovery_threshold
            ),
            (3, 20, 2, 3)
        );
    }

    #[test]
    fn a_client_cannot_send_missed_and_bad_configs_are_reported() {
        let c = CheckIn::from_json(&json!({"monitor_slug": "a", "status": "missed"})).unwrap();
        assert_eq!(c.status, Status::Unknown);
        assert!(c.check_in_id.is_nil());
        assert_eq!(c.environment, "production");
        let bad = json!({"monitor_slug": "a", "status": "ok", "monitor_config": {"schedule": {"type": "crontab", "value": "nope"}}});
        assert!(CheckIn::from_json(&bad).unwrap().config.unwrap().is_err());
        assert!(CheckIn::from_json(&json!({"status": "ok"})).is_err());
    }

    #[test]
    fn a_run_that_never_comes_is_missed_after_the_margin() {
        let config = hourly(1, 1);
        let s = apply(&EnvState::new(), check_in(1, Status::Ok), utc("2026-05-01T10:00:10Z"), &config).state;
        assert_eq!(s.next_checkin_at, Some(utc("2026-05-01T11:00:00Z")));
        assert_eq!(s.deadline(&config), Some(utc("2026-05-01T11:05:00Z")));
        // Before the deadline nothing happens.
        let early = apply(&s, Signal::Deadline, utc("2026-05-01T11:04:59Z"), &config);
        assert_eq!((early.recorded, early.transition), (Status::Unknown, None));
        let late = apply(&s, Signal::Deadline, utc("2026-05-01T11:05:00Z"), &config);
        assert_eq!(late.recorded, Status::Missed);
        assert_eq!(late.transition, Some(TransitionKind::CronMissed));
        assert!(late.state.failing);
        assert_eq!(late.state.next_checkin_at, Some(utc("2026-05-01T12:00:00Z")));
        // The next missed run is not a new transition; a success recovers.
        let again = apply(&late.state, Signal::Deadline, utc("2026-05-01T12:05:00Z"), &config);
        assert_eq!((again.recorded, again.transition), (Status::Missed, None));
        let ok = apply(&again.state, check_in(2, Status::Ok), utc("2026-05-01T13:00:01Z"), &config);
        assert_eq!(ok.transition, Some(TransitionKind::CronRecovered));
        assert!(!ok.state.failing);
    }

    #[test]
    fn a_run_in_progress_too_long_times_out() {
        let config = hourly(1, 1);
        let started = apply(&EnvState::new(), check_in(7, Status::InProgress), utc("2026-05-01T10:00:00Z"), &config);
        assert_eq!(started.state.deadline(&config), Some(utc("2026-05-01T10:10:00Z")));
        let t = apply(&started.state, Signal::Deadline, utc("2026-05-01T10:10:00Z"), &config);
        assert_eq!(t.recorded, Status::Timeout);
        assert_eq!(t.closed, Some(Uuid::from_u128(7)));
        assert_eq!(t.transition, Some(TransitionKind::CronFailed));
    }

    #[test]
    fn start_then_finish_closes_the_run_and_the_nil_id_finds_it() {
        let config = hourly(1, 1);
        let s = apply(&EnvState::new(), check_in(7, Status::InProgress), utc("2026-05-01T10:00:00Z"), &config).state;
        let done =
            apply(&s, Signal::CheckIn { id: Uuid::nil(), status: Status::Ok }, utc("2026-05-01T10:03:00Z"), &config);
        assert_eq!(done.closed, Some(Uuid::from_u128(7)));
        assert_eq!(done.state.in_progress, None);
        // The schedule moved at the start, not again at the finish.
        assert_eq!(done.state.next_checkin_at, Some(utc("2026-05-01T11:00:00Z")));
    }

    #[test]
    fn thresholds_count_failures_and_successes_in_a_row() {
        let config = hourly(2, 2);
        let mut s = EnvState::new();
        let mut transitions = Vec::new();
        for (i, status) in
            [Status::Error, Status::Ok, Status::Error, Status::Error, Status::Ok, Status::Ok].into_iter().enumerate()
        {
            let a = apply(&s, check_in(i as u128 + 1, status), utc("2026-05-01T10:00:00Z"), &config);
            transitions.push(a.transition);
            s = a.state;
        }
        assert_eq!(
            transitions,
            vec![None, None, None, Some(TransitionKind::CronFailed), None, Some(TransitionKind::CronRecovered)]
        );
    }

    #[test]
    fn a_job_still_running_is_not_missed() {
        let config = hourly(1, 1);
        let mut config_long = config.clone();
        config_long.max_runtime_min = 180;
        let s =
            apply(&EnvState::new(), check_in(1, Status::InProgress), utc("2026-05-01T10:00:00Z"), &config_long).state;
        let a = apply(&s, Signal::Deadline, utc("2026-05-01T11:30:00Z"), &config_long);
        assert_eq!((a.recorded, a.transition), (Status::Unknown, None));
    }
}
