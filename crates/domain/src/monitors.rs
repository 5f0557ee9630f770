//! Uptime monitors: what a valid monitor is (GlitchTip's types mapped onto ours),
//! and what a check result does to a monitor's state. The API, the UI, the
//! heartbeat endpoint and the scheduler all go through here.

use faultline_monitoring::uptime::{self, Health, MonitorState, Reason, StatusRanges, Thresholds};
use faultline_monitoring::TransitionKind;
use faultline_store::{CheckResult, Monitor, NewMonitor, Store, Timestamp};
use uuid::Uuid;

use crate::DomainError;

/// GlitchTip's monitor types, as its API and UI name them.
pub const GLITCHTIP_TYPES: [&str; 6] = ["Ping", "GET", "POST", "TCP Port", "SSL", "Heartbeat"];
/// Methods an HTTP monitor may use.
pub const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
/// Longest name.
const MAX_NAME: usize = 200;
/// Longest URL.
const MAX_URL: usize = 2000;

/// Maps a GlitchTip type onto `(kind, method)`. `HTTP` is ours: any method.
pub fn kind_of(monitor_type: &str) -> Option<(&'static str, Option<&'static str>)> {
    Some(match monitor_type {
        "Ping" => ("http", Some("HEAD")),
        "GET" => ("http", Some("GET")),
        "POST" => ("http", Some("POST")),
        "HTTP" => ("http", None),
        "TCP Port" => ("tcp", None),
        "SSL" => ("tls", Some("HEAD")),
        "Heartbeat" => ("heartbeat", None),
        _ => return None,
    })
}

/// Fills the derived fields (kind, method for GlitchTip types, defaults) and checks
/// the rest.
pub fn normalize(mut m: NewMonitor) -> Result<NewMonitor, DomainError> {
    let invalid = |s: &str| DomainError::Invalid(s.to_string());
    let (kind, method) = kind_of(&m.monitor_type)
        .ok_or_else(|| invalid("monitorType must be one of Ping, GET, POST, HTTP, TCP Port, SSL, Heartbeat."))?;
    m.kind = kind.to_string();
    if let Some(method) = method {
        m.method = method.to_string();
    }
    m.method = m.method.to_ascii_uppercase();
    m.name = m.name.trim().to_string();
    if m.name.is_empty() || m.name.chars().count() > MAX_NAME {
        return Err(invalid("name is required (at most 200 characters)."));
    }
    m.url = m.url.trim().to_string();
    match kind {
        "heartbeat" => m.url.clear(),
        "tcp" => {
            let target = m.url.trim_start_matches("tcp://").trim_end_matches('/');
            let valid = target
                .rsplit_once(':')
                .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0));
            if !valid {
                return Err(invalid("A TCP Port monitor needs url host:port."));
            }
            m.url = target.to_string();
        }
        _ => {
            let rest = m.url.strip_prefix("https://").or_else(|| m.url.strip_prefix("http://"));
            if rest.is_none_or(|r| r.is_empty() || r.chars().any(char::is_whitespace)) || m.url.len() > MAX_URL {
                return Err(invalid("url must be an http:// or https:// URL (at most 2000 characters)."));
            }
            if kind == "tls" && !m.url.starts_with("https://") {
                return Err(invalid("An SSL monitor needs an https:// url."));
            }
        }
    }
    if !METHODS.contains(&m.method.as_str()) {
        return Err(invalid("method must be one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS."));
    }
    m.accepted_status = StatusRanges::parse(&m.accepted_status)
        .map_err(|e| DomainError::Invalid(format!("expectedStatus: {e}.")))?
        .to_string();
    if serde_json::from_str::<Vec<(String, String)>>(&m.headers).is_err() {
        return Err(invalid("headers must be a list of [name, value] pairs."));
    }
    m.keyword = m.keyword.filter(|k| !k.is_empty());
    m.body = m.body.filter(|b| !b.is_empty());
    m.environment = m.environment.map(|e| e.trim().to_string()).filter(|e| !e.is_empty());
    let range = |v: i64, lo: i64, hi: i64, field: &str| {
        if (lo..=hi).contains(&v) {
            Ok(v)
        } else {
            Err(DomainError::Invalid(format!("{field} must be between {lo} and {hi}.")))
        }
    };
    m.interval_s = range(m.interval_s, 1, 86_400, "interval")?;
    m.timeout_s = range(m.timeout_s, 1, if kind == "heartbeat" { 86_400 } else { 60 }, "timeout")?;
    m.retry_interval_s = range(m.retry_interval_s, 1, 86_400, "retryInterval")?;
    m.failure_threshold = range(m.failure_threshold, 1, 100, "failureThreshold")?;
    m.recovery_threshold = range(m.recovery_threshold, 1, 100, "recoveryThreshold")?;
    m.tls_warn_days = range(m.tls_warn_days, 0, 365, "tlsWarnDays")?;
    Ok(m)
}

/// What one check found (from a probe or a heartbeat).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Up.
    pub up: bool,
    /// Why not.
    pub reason: Option<Reason>,
    /// Response time.
    pub response_ms: Option<i64>,
    /// Body excerpt or error text.
    pub data: Option<String>,
    /// Certificate expiry seen.
    pub tls_expires_at: Option<Timestamp>,
}

/// Applies an outcome at `at` to the monitor's state: the row to record.
pub fn settle(m: &Monitor, o: Outcome, at: Timestamp) -> CheckResult {
    let state = MonitorState {
        health: Health::parse(&m.health),
        consecutive_failures: m.consecutive_failures.clamp(0, u32::MAX.into()) as u32,
        consecutive_successes: m.consecutive_successes.clamp(0, u32::MAX.into()) as u32,
    };
    let thresholds = Thresholds {
        failure: m.failure_threshold.clamp(1, 100) as u32,
        recovery: m.recovery_threshold.clamp(1, 100) as u32,
    };
    let (next, mut transition) = uptime::apply(state, o.up, thresholds);
    let next_check_at = if m.kind == "heartbeat" {
        // Late when no beat arrives within the period plus the grace (timeout).
        Some(at.plus_secs(if o.up { m.interval_s + m.timeout_s } else { m.interval_s }))
    } else if next.health == Health::Pending && m.retry_interval_s < m.interval_s {
        Some(at.plus_secs(m.retry_interval_s))
    } else {
        None
    };
    if transition.is_none() && o.up {
        if let Some(expires) = o.tls_expires_at {
            let window_start = expires.plus_secs(-m.tls_warn_days * 86_400);
            let warned_for_this = m.tls_warned_at.is_some_and(|w| w >= window_start);
            if m.tls_warn_days > 0 && at >= window_start && !warned_for_this {
                transition = Some(TransitionKind::TlsExpiring);
            }
        }
    }
    CheckResult {
        monitor_id: m.id,
        checked_at: at,
        is_up: o.up,
        reason: o.reason.map(|r| r as i64),
        response_ms: o.response_ms,
        data: o.data,
        health: next.health.as_str().to_string(),
        consecutive_failures: next.consecutive_failures.into(),
        consecutive_successes: next.consecutive_successes.into(),
        next_check_at,
        tls_expires_at: o.tls_expires_at,
        transition: transition.map(|t| t.as_str().to_string()),
    }
}

/// Records a beat for the heartbeat monitor with this key. Paused monitors and
/// other kinds ignore it (NotFound, as GlitchTip answers).
pub async fn heartbeat(store: &Store, key: Uuid) -> Result<Monitor, DomainError> {
    let m = store.monitor_by_heartbeat_key(key).await?;
    if m.kind != "heartbeat" {
        return Err(DomainError::NotFound);
    }
    if !m.paused {
        let outcome = Outcome { up: true, reason: None, response_ms: None, data: None, tls_expires_at: None };
        store.record_monitor_checks(&[settle(&m, outcome, Timestamp::now())]).await?;
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(monitor_type: &str, url: &str) -> NewMonitor {
        NewMonitor {
            project_id: None,
            environment: Some("  ".into()),
            name: " API ".into(),
            monitor_type: monitor_type.into(),
            kind: String::new(),
            url: url.into(),
            method: "get".into(),
            headers: "[]".into(),
            body: Some(String::new()),
            accepted_status: "200-299,301".into(),
            keyword: Some(String::new()),
            keyword_absent: false,
            follow_redirects: true,
            verify_tls: true,
            interval_s: 60,
            timeout_s: 20,
            retry_interval_s: 20,
            failure_threshold: 2,
            recovery_threshold: 1,
            tls_warn_days: 14,
            paused: false,
        }
    }

    #[test]
    fn glitchtip_types_map_onto_kinds() {
        let ping = normalize(new("Ping", "https://example.com")).unwrap();
        assert_eq!((ping.kind.as_str(), ping.method.as_str()), ("http", "HEAD"));
        assert_eq!(ping.name, "API");
        assert_eq!(ping.accepted_status, "200-299, 301");
        assert_eq!((ping.environment, ping.body, ping.keyword), (None, None, None));
        let tcp = normalize(new("TCP Port", "tcp://db.internal:5432")).unwrap();
        assert_eq!((tcp.kind.as_str(), tcp.url.as_str()), ("tcp", "db.internal:5432"));
        let hb = normalize(new("Heartbeat", "ignored")).unwrap();
        assert_eq!((hb.kind.as_str(), hb.url.as_str()), ("heartbeat", ""));
        let any = normalize(new("HTTP", "http://x").clone()).unwrap();
        assert_eq!(any.method, "GET");
    }

    #[test]
    fn bad_monitors_are_explained() {
        for (m, says) in [
            (new("Smoke", "https://x"), "monitorType"),
            (new("GET", "ftp://x"), "url must be"),
            (new("SSL", "http://x"), "https://"),
            (new("TCP Port", "db"), "host:port"),
            (NewMonitor { accepted_status: "abc".into(), ..new("GET", "https://x") }, "expectedStatus"),
            (NewMonitor { timeout_s: 61, ..new("GET", "https://x") }, "timeout"),
            (NewMonitor { interval_s: 0, ..new("GET", "https://x") }, "interval"),
            (NewMonitor { headers: "{}".into(), ..new("GET", "https://x") }, "headers"),
            (NewMonitor { name: " ".into(), ..new("GET", "https://x") }, "name"),
        ] {
            let e = normalize(m).unwrap_err().to_string();
            assert!(e.contains(says), "{e:?} should mention {says:?}");
        }
    }
}
