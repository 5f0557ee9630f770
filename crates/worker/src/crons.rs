//! The cron engine: Sentry check-ins and ping-URL signals become monitor state,
//! run history, transitions and issues.
//!
//! One loop per process, started with the workers when uptime monitoring is on:
//!
//! 1. **Check-ins.** The digest writes raw check-ins to `cron_checkins`
//!    (`processed_at` NULL) and wakes this loop; it also polls every second. Each
//!    check-in is parsed ([`CheckIn::from_json`]); its `monitor_config` creates the
//!    monitor on first sight or updates it (a check-in for an unknown slug without a
//!    configuration creates nothing and is only marked processed, as in Sentry); the
//!    state machine ([`apply`]) runs for its environment; a finishing check-in is
//!    merged into its run's row (same `check_in_id`, or the nil id = the latest run
//!    in progress).
//! 2. **Sweeper.** Every second, environments whose `deadline_at` has passed get
//!    [`Signal::Deadline`]: a run in progress beyond `max_runtime` becomes `timeout`,
//!    an expected run that did not come becomes `missed`.
//! 3. **Outcomes.** Every step is written by [`Store::commit_cron_step`] in one
//!    transaction that only applies if the environment's state is still the one the
//!    decision was made on, so any number of workers may run this loop. A monitor
//!    that becomes failing (`cron.missed`, `cron.failed`) records a transition and
//!    queues a synthetic error event (fingerprint `cron/<slug>/<environment>`) into
//!    the project's ingest queue, so grouping, alert rules and the UI treat it like
//!    any other; further failures while failing add events to that issue; on
//!    `cron.recovered` the issue is resolved. Paused monitors record check-ins but
//!    are never swept and never alert.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use faultline_monitoring::cron::{apply, Applied, CheckIn, Config, EnvState, Signal, Status};
use faultline_monitoring::schedule::Schedule;
use faultline_monitoring::TransitionKind;
use faultline_protocol::envelope::item_header;
use faultline_protocol::EnvelopeWriter;
use faultline_store::{
    CronEnvState, CronMonitor, CronMonitorEnv, CronStep, HistoryWrite, NewCronMonitor, NewCronTransition, NewQueued,
    PendingCheckIn, QueueMeta, Store, StoreError, Timestamp,
};
use serde_json::{json, Value};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::WorkerContext;

/// Rung after a digest batch stored check-ins.
static WAKE: Notify = Notify::const_new();
/// How often the loop looks without being woken (and sweeps).
const POLL: Duration = Duration::from_secs(1);
/// Check-ins per read.
const BATCH: i64 = 200;
/// Environments swept per pass.
const SWEEP_BATCH: i64 = 500;
/// How often the run history is pruned (the first time an hour after start).
const PRUNE_EVERY: Duration = Duration::from_secs(3600);
/// Attempts of a step whose state moved under it.
const ATTEMPTS: usize = 5;

/// Wakes the engine (after the digest stored check-ins).
pub(crate) fn wake() {
    WAKE.notify_one();
}

pub(crate) async fn run(ctx: Arc<WorkerContext>, shutdown: CancellationToken) {
    tracing::debug!("cron engine started");
    let mut pruned = Instant::now();
    while !shutdown.is_cancelled() {
        if pruned.elapsed() >= PRUNE_EVERY {
            pruned = Instant::now();
            let days = i64::from(ctx.config.retention.uptime_check_days);
            if let Err(e) = prune(&ctx.store, Timestamp::now().plus_secs(-days * 86_400)).await {
                tracing::warn!(error = %e, "cannot prune the cron run history");
            }
        }
        loop {
            match process_pending(&ctx.store).await {
                Ok(n) if n >= BATCH as usize => continue,
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot process cron check-ins; retrying");
                    break;
                }
            }
        }
        if let Err(e) = sweep(&ctx.store, Utc::now()).await {
            tracing::warn!(error = %e, "cannot sweep cron monitors; retrying");
        }
        tokio::select! {
            _ = shutdown.cancelled() => {}
            _ = WAKE.notified() => {}
            _ = tokio::time::sleep(POLL) => {}
        }
    }
    tracing::debug!("cron engine stopped");
}

/// Deletes the run history received before `before` (the retention of uptime
/// checks, `GLITCHTIP_MAX_UPTIME_CHECK_LIFE_DAYS`); returns how many rows went.
pub async fn prune(store: &Store, before: Timestamp) -> Result<u64, StoreError> {
    let mut total = 0;
    loop {
        let n = store.delete_cron_check_ins_before(before, 5_000).await?;
        total += n;
        if n < 5_000 {
            return Ok(total);
        }
    }
}

/// Processes up to one batch of received check-ins; returns how many were read.
pub async fn process_pending(store: &Store) -> Result<usize, StoreError> {
    let rows = store.pending_check_ins(BATCH).await?;
    for row in &rows {
        if let Err(e) = process_check_in(store, row).await {
            // One check-in that cannot be applied must not hold up the others: it is
            // set aside (when the database answers at all) and logged.
            tracing::warn!(id = row.id, error = %e, "cron check-in not applied; skipped");
            store.skip_check_in(row.id).await?;
        }
    }
    Ok(rows.len())
}

/// Applies the deadline to every environment due at `now` (tests pass a later
/// `now` instead of waiting); returns how many were due.
pub async fn sweep(store: &Store, now: DateTime<Utc>) -> Result<usize, StoreError> {
    let due = store.due_cron_envs(Timestamp::from_datetime(now), SWEEP_BATCH).await?;
    for (monitor, env) in &due {
        let Ok(config) = monitor_config(monitor) else {
            tracing::warn!(monitor = monitor.id, "cron monitor with an unreadable schedule; not swept");
            continue;
        };
        if let Err(e) = sweep_env(store, monitor, &config, env.clone(), now).await {
            tracing::warn!(monitor = monitor.id, environment = %env.environment, error = %e, "cannot sweep");
        }
    }
    Ok(due.len())
}

async fn sweep_env(
    store: &Store,
    monitor: &CronMonitor,
    config: &Config,
    mut env: CronMonitorEnv,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    for _ in 0..ATTEMPTS {
        if step(store, monitor, config, &env, None, Signal::Deadline, now).await? {
            break;
        }
        env = store.cron_monitor_env(monitor.id, &env.environment).await?;
        if env.deadline_at.is_none_or(|d| d > Timestamp::from_datetime(now)) {
            break;
        }
    }
    Ok(())
}

/// A monitor's configuration from its stored fields.
pub fn monitor_config(m: &CronMonitor) -> Result<Config, String> {
    let schedule =
        Schedule::from_stored(&m.schedule_type, &m.schedule, Some(&m.timezone)).map_err(|e| e.to_string())?;
    let minutes = |v: i64| u32::try_from(v).unwrap_or(1).max(1);
    Ok(Config {
        schedule,
        checkin_margin_min: minutes(m.checkin_margin_min),
        max_runtime_min: minutes(m.max_runtime_min),
        failure_issue_threshold: minutes(m.failure_issue_threshold),
        recovery_threshold: minutes(m.recovery_threshold),
    })
}

/// The stored fields of a configuration (for a monitor named and slugged `slug`).
pub fn new_monitor(slug: &str, name: &str, config: &Config) -> NewCronMonitor {
    let (schedule_type, schedule) = config.schedule.to_stored();
    NewCronMonitor {
        slug: slug.to_string(),
        name: name.to_string(),
        schedule_type: schedule_type.to_string(),
        schedule,
        timezone: config.schedule.timezone().name().to_string(),
        checkin_margin_min: config.checkin_margin_min.into(),
        max_runtime_min: config.max_runtime_min.into(),
        failure_issue_threshold: config.failure_issue_threshold.into(),
        recovery_threshold: config.recovery_threshold.into(),
    }
}

async fn process_check_in(store: &Store, row: &PendingCheckIn) -> Result<(), StoreError> {
    let payload: Value = serde_json::from_str(&row.payload).unwrap_or(Value::Null);
    let check_in = match CheckIn::from_json(&payload) {
        Ok(c) => c,
        Err(e) => {
            tracing::debug!(id = row.id, error = %e, "unreadable check-in skipped");
            store.skip_check_in(row.id).await?;
            return Ok(());
        }
    };
    let monitor = match store.cron_monitor_by_slug(row.project_id, &check_in.monitor_slug).await? {
        Some(m) => match &check_in.config {
            Some(Ok(config)) => {
                let wanted = new_monitor(&m.slug, &m.name, config);
                if wanted != current(&m) {
                    store.update_cron_monitor(m.id, &wanted).await?
                } else {
                    m
                }
            }
            _ => m,
        },
        None => match &check_in.config {
            Some(Ok(config)) => {
                let new = new_monitor(&check_in.monitor_slug, &check_in.monitor_slug, config);
                match store.create_cron_monitor(row.project_id, &new).await {
                    Ok(m) => m,
                    Err(StoreError::Conflict(_)) => store
                        .cron_monitor_by_slug(row.project_id, &check_in.monitor_slug)
                        .await?
                        .ok_or(StoreError::NotFound)?,
                    Err(e) => return Err(e),
                }
            }
            // Sentry: no monitor, no configuration: the check-in is dropped.
            _ => {
                store.skip_check_in(row.id).await?;
                return Ok(());
            }
        },
    };
    let Ok(config) = monitor_config(&monitor) else {
        store.skip_check_in(row.id).await?;
        return Ok(());
    };
    if matches!(check_in.status, Status::Ok | Status::Error)
        && !check_in.check_in_id.is_nil()
        && store.cron_run_finished(monitor.id, &check_in.environment, check_in.check_in_id).await?
    {
        // A retried or late finish (after a timeout) of a finished run: Sentry keeps
        // the first outcome.
        store.skip_check_in(row.id).await?;
        return Ok(());
    }
    let signal = Signal::CheckIn { id: check_in.check_in_id, status: check_in.status };
    let at = row.received_at.to_datetime();
    let pending = Pending { row, check_in: &check_in, payload: &payload };
    for _ in 0..ATTEMPTS {
        let env = store.cron_monitor_env(monitor.id, &check_in.environment).await?;
        if step(store, &monitor, &config, &env, Some(&pending), signal, at).await? {
            return Ok(());
        }
    }
    tracing::warn!(id = row.id, "cron check-in not applied: its monitor's state kept moving (or it was processed)");
    Ok(())
}

fn current(m: &CronMonitor) -> NewCronMonitor {
    NewCronMonitor {
        slug: m.slug.clone(),
        name: m.name.clone(),
        schedule_type: m.schedule_type.clone(),
        schedule: m.schedule.clone(),
        timezone: m.timezone.clone(),
        checkin_margin_min: m.checkin_margin_min,
        max_runtime_min: m.max_runtime_min,
        failure_issue_threshold: m.failure_issue_threshold,
        recovery_threshold: m.recovery_threshold,
    }
}

struct Pending<'a> {
    row: &'a PendingCheckIn,
    check_in: &'a CheckIn,
    payload: &'a Value,
}

/// Decides one signal for one environment and commits it. False when the state
/// moved under it (retry with fresh state).
async fn step(
    store: &Store,
    monitor: &CronMonitor,
    config: &Config,
    env: &CronMonitorEnv,
    pending: Option<&Pending<'_>>,
    signal: Signal,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let old = to_state(&env.state);
    let mut applied = apply(&old, signal, at, config);
    if monitor.paused {
        // Recorded, never alerted: the failure bookkeeping stays as it was.
        applied.state.failing = old.failing;
        applied.state.consecutive_failures = old.consecutive_failures;
        applied.state.consecutive_ok = old.consecutive_ok;
        applied.transition = None;
    }
    let history = history(store, monitor, env, &old, &applied, pending, at).await?;
    let micros = |t: DateTime<Utc>| Timestamp::from_datetime(t);
    let mut events = Vec::new();
    let mut resolve_event = None;
    let transition = match applied.transition {
        Some(kind @ (TransitionKind::CronMissed | TransitionKind::CronFailed)) => {
            let reason = failure_reason(applied.recorded, config, &applied.state);
            events.push(failure_event(monitor, env, &reason, &applied, outage_event_id(env.id, micros(at)), at));
            Some(NewCronTransition { kind: kind.as_str().into(), reason, down_since: Some(micros(at)) })
        }
        Some(kind @ TransitionKind::CronRecovered) => {
            let outage = store.cron_outage(monitor.id, &env.environment).await?;
            let down_since = outage.and_then(|o| o.down_since);
            resolve_event = down_since.map(|d| outage_event_id(env.id, d));
            let reason = format!("{} successful check-in(s) in a row", applied.state.consecutive_ok);
            Some(NewCronTransition { kind: kind.as_str().into(), reason, down_since })
        }
        _ => {
            if !monitor.paused && old.failing && applied.state.failing && applied.recorded.is_failure() {
                // Still failing: the failure joins the open issue.
                let reason = failure_reason(applied.recorded, config, &applied.state);
                events.push(failure_event(monitor, env, &reason, &applied, Uuid::new_v4(), at));
            }
            None
        }
    };
    let new = from_state(&applied.state);
    let step = CronStep {
        monitor_id: monitor.id,
        env_id: env.id,
        environment: env.environment.clone(),
        old: env.state.clone(),
        deadline_at: applied.state.deadline(config).map(micros),
        new,
        consumed: pending.map(|p| p.row.id),
        history,
        transition,
        events,
        resolve_event,
    };
    store.commit_cron_step(&step).await
}

/// The run history's part of a step.
async fn history(
    store: &Store,
    monitor: &CronMonitor,
    env: &CronMonitorEnv,
    old: &EnvState,
    applied: &Applied,
    pending: Option<&Pending<'_>>,
    at: DateTime<Utc>,
) -> Result<HistoryWrite, StoreError> {
    let ts = Timestamp::from_datetime;
    let elapsed = |since: DateTime<Utc>| (at - since).num_microseconds();
    let Some(p) = pending else {
        // The sweeper.
        return Ok(match (applied.recorded, applied.closed) {
            (Status::Timeout, Some(run)) => {
                let started = old.in_progress.map_or(at, |(_, s)| s);
                match store.cron_run_row(monitor.id, &env.environment, run).await? {
                    Some(row) => HistoryWrite::Merge {
                        run: row,
                        status: "timeout".into(),
                        duration: elapsed(started),
                        finished_at: ts(at),
                    },
                    None => HistoryWrite::Insert {
                        check_in_id: run,
                        status: "timeout".into(),
                        received_at: ts(started),
                        finished_at: Some(ts(at)),
                        duration: elapsed(started),
                    },
                }
            }
            (Status::Missed, _) => HistoryWrite::Insert {
                check_in_id: Uuid::new_v4(),
                status: "missed".into(),
                received_at: old.next_checkin_at.map_or(ts(at), ts),
                finished_at: None,
                duration: None,
            },
            _ => HistoryWrite::None,
        });
    };
    let client_duration = p.check_in.duration.map(|s| (s * 1e6).round() as i64);
    Ok(match p.check_in.status {
        Status::InProgress => {
            if old.in_progress.is_some() && applied.state.in_progress == old.in_progress {
                // A repeated start of the running job.
                HistoryWrite::None
            } else {
                HistoryWrite::Attach { status: "in_progress".into(), duration: None, finished_at: None }
            }
        }
        Status::Ok | Status::Error => {
            let status = p.check_in.status.as_str().to_string();
            match applied.closed {
                Some(run) => {
                    let started = old.in_progress.map_or(at, |(_, s)| s);
                    let duration = client_duration.or_else(|| elapsed(started));
                    match store.cron_run_row(monitor.id, &env.environment, run).await? {
                        Some(row) => HistoryWrite::Merge { run: row, status, duration, finished_at: ts(at) },
                        None => HistoryWrite::Attach { status, duration, finished_at: Some(ts(at)) },
                    }
                }
                None => HistoryWrite::Attach { status, duration: client_duration, finished_at: Some(ts(at)) },
            }
        }
        _ => {
            // Pings' `/log` (and unknown statuses): recorded, nothing else.
            let status = p
                .payload
                .pointer("/ping/kind")
                .and_then(Value::as_str)
                .filter(|k| *k == "log")
                .unwrap_or("unknown")
                .to_string();
            HistoryWrite::Attach { status, duration: None, finished_at: Some(ts(at)) }
        }
    })
}

fn failure_reason(recorded: Status, config: &Config, state: &EnvState) -> String {
    let what = match recorded {
        Status::Missed => "missed check-in".to_string(),
        Status::Timeout => format!("timed out after {} min", config.max_runtime_min),
        _ => "check-in error".to_string(),
    };
    if state.consecutive_failures > 1 {
        format!("{what}; {} failures in a row", state.consecutive_failures)
    } else {
        what
    }
}

/// The event id of the failure that opened an outage: derived from the environment
/// and when the outage began, so the recovery finds the issue again.
fn outage_event_id(env_id: i64, down_since: Timestamp) -> Uuid {
    Uuid::from_u64_pair(0xfa17_c205_0000_0000 | (env_id as u64 & 0xffff_ffff), down_since.micros() as u64)
}

/// The synthetic Sentry event for a failure, as an envelope for the ingest queue.
fn failure_event(
    monitor: &CronMonitor,
    env: &CronMonitorEnv,
    reason: &str,
    applied: &Applied,
    event_id: Uuid,
    at: DateTime<Utc>,
) -> NewQueued {
    let now = Utc::now();
    let timestamp = at.min(now);
    let kind = if applied.recorded == Status::Missed { "missed check-in" } else { applied.recorded.as_str() };
    let event = json!({
        "event_id": event_id.simple().to_string(),
        "timestamp": timestamp.timestamp_micros() as f64 / 1e6,
        "platform": "other",
        "level": "error",
        "logger": "cron",
        "message": format!("Cron failure: {} ({kind})", monitor.slug),
        "environment": env.environment,
        "fingerprint": ["cron", monitor.slug, env.environment],
        "tags": {
            "monitor.slug": monitor.slug,
            "monitor.id": monitor.id.to_string(),
            "monitor.status": applied.recorded.as_str(),
        },
        "contexts": {"monitor": {
            "id": monitor.id,
            "slug": monitor.slug,
            "name": monitor.name,
            "schedule_type": monitor.schedule_type,
            "schedule": monitor.schedule,
            "timezone": monitor.timezone,
            "checkin_margin": monitor.checkin_margin_min,
            "max_runtime": monitor.max_runtime_min,
        }},
        "extra": {
            "reason": reason,
            "consecutive_failures": applied.state.consecutive_failures,
        },
    });
    let body = serde_json::to_vec(&event).unwrap_or_default();
    let mut writer = EnvelopeWriter::new(&json!({ "event_id": event_id.simple().to_string() }));
    writer.item(item_header("event"), &body);
    NewQueued {
        project_id: monitor.project_id,
        received_at: Timestamp::from_datetime(now),
        meta: serde_json::to_string(&QueueMeta { user_agent: Some("faultline-cron".into()), ..QueueMeta::default() })
            .unwrap_or_default(),
        payload: writer.finish(),
    }
}

fn to_state(s: &CronEnvState) -> EnvState {
    EnvState {
        last_status: s.last_status.as_deref().map(Status::parse),
        failing: s.failing,
        consecutive_failures: u32::try_from(s.consecutive_failures).unwrap_or(u32::MAX),
        consecutive_ok: u32::try_from(s.consecutive_ok).unwrap_or(u32::MAX),
        last_checkin_at: s.last_checkin_at.map(Timestamp::to_datetime),
        next_checkin_at: s.next_checkin_at.map(Timestamp::to_datetime),
        in_progress: s.in_progress_id.zip(s.in_progress_at.map(Timestamp::to_datetime)),
    }
}

fn from_state(s: &EnvState) -> CronEnvState {
    CronEnvState {
        last_status: s.last_status.map(|st| st.as_str().to_string()),
        failing: s.failing,
        consecutive_failures: s.consecutive_failures.into(),
        consecutive_ok: s.consecutive_ok.into(),
        last_checkin_at: s.last_checkin_at.map(Timestamp::from_datetime),
        next_checkin_at: s.next_checkin_at.map(Timestamp::from_datetime),
        in_progress_id: s.in_progress.map(|(id, _)| id),
        in_progress_at: s.in_progress.map(|(_, at)| Timestamp::from_datetime(at)),
    }
}
