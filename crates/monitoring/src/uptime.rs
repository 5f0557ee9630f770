//! Uptime checks: which status codes count as up, why a check failed, and the
//! monitor state machine.
//!
//! Unlike GlitchTip, one failed check is not an outage: a monitor goes `pending`
//! first and `down` only after `failure_threshold` consecutive failures (checked at
//! the faster retry interval meanwhile), and comes back `up` after
//! `recovery_threshold` consecutive successes. Only `→ down` and `down → up` are
//! transitions; `up → pending → up` is a blip nobody is told about.

use crate::TransitionKind;

/// Accepted HTTP status codes: ranges such as `200-299, 301`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRanges(Vec<(u16, u16)>);

impl StatusRanges {
    /// Parses `200-299, 301, 404`. Every code must be 100–599.
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut ranges = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (lo, hi) = part.split_once('-').map_or((part, part), |(a, b)| (a.trim(), b.trim()));
            let code = |v: &str| v.parse::<u16>().ok().filter(|c| (100..=599).contains(c));
            match (code(lo), code(hi)) {
                (Some(lo), Some(hi)) if lo <= hi => ranges.push((lo, hi)),
                _ => return Err(format!("{part:?} is not a status code or range (100-599)")),
            }
        }
        if ranges.is_empty() {
            return Err("at least one accepted status code is needed".into());
        }
        Ok(StatusRanges(ranges))
    }

    /// Whether `code` is accepted.
    pub fn accepts(&self, code: u16) -> bool {
        self.0.iter().any(|&(lo, hi)| (lo..=hi).contains(&code))
    }
}

impl std::fmt::Display for StatusRanges {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> =
            self.0.iter().map(|&(lo, hi)| if lo == hi { lo.to_string() } else { format!("{lo}-{hi}") }).collect();
        f.write_str(&parts.join(", "))
    }
}

/// Why a check failed. The numbers are GlitchTip's `MonitorCheckReason`, so its API
/// clients read them unchanged; ours continue the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Unknown.
    Unknown = 0,
    /// No answer within the timeout.
    Timeout = 1,
    /// A status code that is not accepted.
    Status = 2,
    /// The keyword is missing (or present, when it must be absent).
    Body = 3,
    /// TLS handshake or certificate error.
    Ssl = 4,
    /// Connection refused, DNS failure, reset.
    Network = 5,
    /// A heartbeat did not arrive in time.
    Missed = 6,
    /// The TLS certificate has expired.
    CertificateExpired = 7,
}

impl Reason {
    /// From the stored number.
    pub fn from_i64(n: i64) -> Self {
        match n {
            1 => Reason::Timeout,
            2 => Reason::Status,
            3 => Reason::Body,
            4 => Reason::Ssl,
            5 => Reason::Network,
            6 => Reason::Missed,
            7 => Reason::CertificateExpired,
            _ => Reason::Unknown,
        }
    }

    /// What the UI says.
    pub fn label(self) -> &'static str {
        match self {
            Reason::Unknown => "Unknown",
            Reason::Timeout => "Timeout",
            Reason::Status => "Wrong status code",
            Reason::Body => "Expected response not found",
            Reason::Ssl => "SSL error",
            Reason::Network => "Network error",
            Reason::Missed => "Request not received",
            Reason::CertificateExpired => "Certificate expired",
        }
    }
}

/// A monitor's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// Never checked.
    Unknown,
    /// Up.
    Up,
    /// Failing, not yet down (below the failure threshold).
    Pending,
    /// Down.
    Down,
}

impl Health {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Unknown => "unknown",
            Health::Up => "up",
            Health::Pending => "pending",
            Health::Down => "down",
        }
    }

    /// Parses a stored name (anything else is unknown).
    pub fn parse(s: &str) -> Self {
        match s {
            "up" => Health::Up,
            "pending" => Health::Pending,
            "down" => Health::Down,
            _ => Health::Unknown,
        }
    }
}

/// What the state machine remembers between checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonitorState {
    /// Health.
    pub health: Health,
    /// Failures in a row.
    pub consecutive_failures: u32,
    /// Successes in a row.
    pub consecutive_successes: u32,
}

impl MonitorState {
    /// A monitor never checked.
    pub const NEW: MonitorState =
        MonitorState { health: Health::Unknown, consecutive_failures: 0, consecutive_successes: 0 };
}

/// Thresholds (each at least 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// Consecutive failures before down.
    pub failure: u32,
    /// Consecutive successes before a down monitor is up again.
    pub recovery: u32,
}

/// Applies one check result: the new state and the transition it causes, if any.
pub fn apply(state: MonitorState, up: bool, thresholds: Thresholds) -> (MonitorState, Option<TransitionKind>) {
    let failure = thresholds.failure.max(1);
    let recovery = thresholds.recovery.max(1);
    if up {
        let successes = state.consecutive_successes.saturating_add(1);
        let (health, transition) = match state.health {
            Health::Down if successes >= recovery => (Health::Up, Some(TransitionKind::MonitorUp)),
            Health::Down => (Health::Down, None),
            _ => (Health::Up, None),
        };
        (MonitorState { health, consecutive_failures: 0, consecutive_successes: successes }, transition)
    } else {
        let failures = state.consecutive_failures.saturating_add(1);
        let (health, transition) = match state.health {
            Health::Down => (Health::Down, None),
            _ if failures >= failure => (Health::Down, Some(TransitionKind::MonitorDown)),
            _ => (Health::Pending, None),
        };
        (MonitorState { health, consecutive_failures: failures, consecutive_successes: 0 }, transition)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO_ONE: Thresholds = Thresholds { failure: 2, recovery: 1 };

    fn run(results: &[bool], t: Thresholds) -> Vec<(Health, Option<TransitionKind>)> {
        let mut state = MonitorState::NEW;
        results
            .iter()
            .map(|&up| {
                let (next, transition) = apply(state, up, t);
                state = next;
                (state.health, transition)
            })
            .collect()
    }

    #[test]
    fn one_blip_is_not_an_outage() {
        let out = run(&[true, false, true], TWO_ONE);
        assert_eq!(out, vec![(Health::Up, None), (Health::Pending, None), (Health::Up, None)]);
    }

    #[test]
    fn two_failures_are_down_once_and_one_success_recovers() {
        let out = run(&[true, false, false, false, true], TWO_ONE);
        assert_eq!(
            out,
            vec![
                (Health::Up, None),
                (Health::Pending, None),
                (Health::Down, Some(TransitionKind::MonitorDown)),
                (Health::Down, None),
                (Health::Up, Some(TransitionKind::MonitorUp)),
            ]
        );
    }

    #[test]
    fn recovery_threshold_needs_successes_in_a_row() {
        let t = Thresholds { failure: 1, recovery: 3 };
        let out: Vec<_> = run(&[false, true, true, false, true, true, true], t).into_iter().map(|(_, t)| t).collect();
        assert_eq!(
            out,
            vec![Some(TransitionKind::MonitorDown), None, None, None, None, None, Some(TransitionKind::MonitorUp)]
        );
    }

    #[test]
    fn a_new_monitor_failing_goes_down_after_the_threshold() {
        let out = run(&[false, false], TWO_ONE);
        assert_eq!(out[1], (Health::Down, Some(TransitionKind::MonitorDown)));
    }

    #[test]
    fn status_ranges() {
        let r = StatusRanges::parse("200-299, 301,404").unwrap();
        assert!(r.accepts(200) && r.accepts(299) && r.accepts(301) && r.accepts(404));
        assert!(!r.accepts(300) && !r.accepts(500));
        assert_eq!(r.to_string(), "200-299, 301, 404");
        for bad in ["", "abc", "299-200", "99", "600", "200-"] {
            assert!(StatusRanges::parse(bad).is_err(), "{bad:?}");
        }
    }
}
