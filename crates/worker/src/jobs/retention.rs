//! Deletes data older than the configured retention (`GLITCHTIP_MAX_EVENT_LIFE_DAYS`
//! and friends), in bounded batches so it never holds the writer for long.

use faultline_store::Timestamp;

use crate::WorkerContext;

/// Job name.
pub const KIND: &str = "retention";

const BATCH: i64 = 5_000;
const DAY_SECS: i64 = 86_400;

/// Runs one retention pass.
pub async fn run(ctx: &WorkerContext) -> anyhow::Result<()> {
    let now = Timestamp::now();
    let event_cutoff = now.plus_secs(-(ctx.config.retention.event_days as i64) * DAY_SECS);
    let store = &ctx.store;

    let mut issues = 0;
    loop {
        let n = store.delete_issues_last_seen_before(event_cutoff, BATCH).await?;
        issues += n;
        if n < BATCH as u64 {
            break;
        }
    }
    let mut events = 0;
    loop {
        let n = store.delete_events_received_before(event_cutoff, BATCH).await?;
        events += n;
        if n < BATCH as u64 {
            break;
        }
    }
    let stats = store.delete_hourly_stats_before(event_cutoff).await?;
    let jobs = store.purge_finished_jobs(now.plus_secs(-7 * DAY_SECS)).await?;
    let alerts = store.purge_alert_history(event_cutoff).await?;
    let uptime_cutoff = now.plus_secs(-(ctx.config.retention.uptime_check_days as i64) * DAY_SECS);
    let checks = store.delete_monitor_checks_before(uptime_cutoff).await?;
    tracing::info!(issues, events, stats, jobs, alerts, checks, "retention pass finished");
    Ok(())
}
