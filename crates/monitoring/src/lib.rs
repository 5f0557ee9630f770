//! Uptime and cron monitoring without I/O.
//!
//! - [`schedule`]: when a cron monitor's next run is expected (crontab in a time zone,
//!   DST-safe, or a fixed interval).
//! - [`uptime`]: accepted status codes and the up/pending/down state machine with
//!   failure and recovery thresholds.
//! - [`cron`]: Sentry check-ins (`check_in` items, `monitor_config`) and the per
//!   environment state machine of a cron monitor, including the server-side missed
//!   and timed-out runs.
//!
//! The worker runs probes and sweeps; this crate decides what they mean.

pub mod cron;
pub mod schedule;
pub mod uptime;

/// A change of a monitor's health that alerts care about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransitionKind {
    /// An uptime monitor went down.
    MonitorDown,
    /// An uptime monitor recovered.
    MonitorUp,
    /// A TLS certificate expires within the warning window.
    TlsExpiring,
    /// A cron monitor missed its run.
    CronMissed,
    /// A cron monitor's runs failed (error or timeout) up to its threshold.
    CronFailed,
    /// A cron monitor recovered.
    CronRecovered,
}

impl TransitionKind {
    /// The name stored and sent (`monitor.down`, `cron.missed`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            TransitionKind::MonitorDown => "monitor.down",
            TransitionKind::MonitorUp => "monitor.up",
            TransitionKind::TlsExpiring => "monitor.tls_expiring",
            TransitionKind::CronMissed => "cron.missed",
            TransitionKind::CronFailed => "cron.failed",
            TransitionKind::CronRecovered => "cron.recovered",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [
            TransitionKind::MonitorDown,
            TransitionKind::MonitorUp,
            TransitionKind::TlsExpiring,
            TransitionKind::CronMissed,
            TransitionKind::CronFailed,
            TransitionKind::CronRecovered,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }

    /// Whether this is bad news (down, missed, failed, expiring).
    pub fn is_problem(self) -> bool {
        !matches!(self, TransitionKind::MonitorUp | TransitionKind::CronRecovered)
    }
}
