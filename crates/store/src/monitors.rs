//! Uptime monitors: their configuration and state, raw checks, rollups, health
//! transitions, and the lease that makes one scheduler run among many instances.
//!
//! The scheduler claims due monitors (`claim_due_monitors` moves each one's
//! `next_check_at` forward in the same transaction, so it is not claimed twice) and
//! writes a second's results in one transaction (`record_monitor_checks`): the raw
//! check, the minute/hour/day rollups, the new state and any transition.

use std::time::Duration;

use faultline_config::DatabaseKind;
use uuid::Uuid;

use crate::{OrganizationId, ProjectId, Result, Store, StoreError, Timestamp};

/// An uptime monitor with its state.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Monitor {
    /// Id.
    pub id: i64,
    /// Organization.
    pub organization_id: OrganizationId,
    /// Project whose alert rules apply.
    pub project_id: Option<ProjectId>,
    /// Environment.
    pub environment: Option<String>,
    /// Name.
    pub name: String,
    /// GlitchTip's type name (`Ping`, `GET`, `POST`, `TCP Port`, `SSL`, `Heartbeat`, or `HTTP`).
    pub monitor_type: String,
    /// `http`, `tcp`, `tls` or `heartbeat`.
    pub kind: String,
    /// URL, or `host:port`.
    pub url: String,
    /// HTTP method.
    pub method: String,
    /// Request headers: JSON array of `[name, value]`.
    pub headers: String,
    /// Request body.
    pub body: Option<String>,
    /// Accepted status codes (`200-299, 301`).
    pub accepted_status: String,
    /// Keyword that must be in the body.
    pub keyword: Option<String>,
    /// The keyword must be absent instead.
    pub keyword_absent: bool,
    /// Follow redirects.
    pub follow_redirects: bool,
    /// Verify TLS certificates.
    pub verify_tls: bool,
    /// Seconds between checks (for heartbeats: the expected period).
    pub interval_s: i64,
    /// Seconds before a check times out.
    pub timeout_s: i64,
    /// Seconds between checks while pending.
    pub retry_interval_s: i64,
    /// Failures in a row before down.
    pub failure_threshold: i64,
    /// Successes in a row before up again.
    pub recovery_threshold: i64,
    /// Warn this many days before a certificate expires.
    pub tls_warn_days: i64,
    /// The heartbeat URL's key (GlitchTip's `endpoint_id`).
    pub heartbeat_key: Uuid,
    /// Paused.
    pub paused: bool,
    /// `unknown`, `up`, `pending` or `down`.
    pub health: String,
    /// When the health last changed between up and down.
    pub health_since: Option<Timestamp>,
    /// Failures in a row.
    pub consecutive_failures: i64,
    /// Successes in a row.
    pub consecutive_successes: i64,
    /// Last check.
    pub last_check_at: Option<Timestamp>,
    /// Next check (heartbeats: when the beat is late).
    pub next_check_at: Timestamp,
    /// The certificate's expiry (tls monitors and https checks).
    pub tls_expires_at: Option<Timestamp>,
    /// When the expiry warning was sent.
    pub tls_warned_at: Option<Timestamp>,
    /// Created.
    pub created_at: Timestamp,
}

/// The configurable fields of a monitor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMonitor {
    /// Project.
    pub project_id: Option<ProjectId>,
    /// Environment.
    pub environment: Option<String>,
    /// Name.
    pub name: String,
    /// GlitchTip's type name.
    pub monitor_type: String,
    /// `http`, `tcp`, `tls`, `heartbeat`.
    pub kind: String,
    /// URL or `host:port`.
    pub url: String,
    /// Method.
    pub method: String,
    /// Headers (JSON array of pairs).
    pub headers: String,
    /// Body.
    pub body: Option<String>,
    /// Accepted status codes.
    pub accepted_status: String,
    /// Keyword.
    pub keyword: Option<String>,
    /// Keyword must be absent.
    pub keyword_absent: bool,
    /// Follow redirects.
    pub follow_redirects: bool,
    /// Verify TLS.
    pub verify_tls: bool,
    /// Interval, seconds.
    pub interval_s: i64,
    /// Timeout, seconds.
    pub timeout_s: i64,
    /// Retry interval while pending, seconds.
    pub retry_interval_s: i64,
    /// Failure threshold.
    pub failure_threshold: i64,
    /// Recovery threshold.
    pub recovery_threshold: i64,
    /// Certificate warning, days.
    pub tls_warn_days: i64,
    /// Paused.
    pub paused: bool,
}

/// One check's result and the state it leaves the monitor in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    /// Monitor.
    pub monitor_id: i64,
    /// When it ran.
    pub checked_at: Timestamp,
    /// Up.
    pub is_up: bool,
    /// GlitchTip's reason number when down.
    pub reason: Option<i64>,
    /// Response time.
    pub response_ms: Option<i64>,
    /// Body excerpt of a failed keyword check.
    pub data: Option<String>,
    /// The state after this check.
    pub health: String,
    /// Failures in a row after this check.
    pub consecutive_failures: i64,
    /// Successes in a row after this check.
    pub consecutive_successes: i64,
    /// When the next check is due, if this result changes it (retry interval).
    pub next_check_at: Option<Timestamp>,
    /// A certificate expiry seen by this check.
    pub tls_expires_at: Option<Timestamp>,
    /// The transition this check caused (`monitor.down`, `monitor.up`,
    /// `monitor.tls_expiring`).
    pub transition: Option<String>,
}

/// A stored check.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MonitorCheck {
    /// Id.
    pub id: i64,
    /// Monitor.
    pub monitor_id: i64,
    /// When.
    pub checked_at: Timestamp,
    /// Up.
    pub is_up: bool,
    /// Moved the monitor down or up.
    pub is_change: bool,
    /// Reason number.
    pub reason: Option<i64>,
    /// Response time.
    pub response_ms: Option<i64>,
    /// Body excerpt.
    pub data: Option<String>,
}

/// A rollup bucket.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MonitorRollup {
    /// Bucket start, unix seconds.
    pub bucket: i64,
    /// Up checks.
    pub up_count: i64,
    /// Down checks.
    pub down_count: i64,
    /// Sum of response times.
    pub total_ms: i64,
    /// Fastest.
    pub min_ms: Option<i64>,
    /// Slowest.
    pub max_ms: Option<i64>,
}

/// A health transition of a monitor or a cron monitor.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MonitorTransition {
    /// Id.
    pub id: i64,
    /// Organization.
    pub organization_id: OrganizationId,
    /// Project.
    pub project_id: Option<ProjectId>,
    /// Uptime monitor.
    pub monitor_id: Option<i64>,
    /// Cron monitor.
    pub cron_monitor_id: Option<i64>,
    /// Environment.
    pub environment: Option<String>,
    /// `monitor.down`, `cron.missed`, …
    pub kind: String,
    /// Why, in words.
    pub reason: String,
    /// When the outage began.
    pub down_since: Option<Timestamp>,
    /// When.
    pub created_at: Timestamp,
}

/// Rollup resolutions in seconds and how long their rows are kept (`None`: always).
pub const ROLLUPS: [(i64, Option<Duration>); 3] =
    [(60, Some(Duration::from_secs(48 * 3600))), (3600, Some(Duration::from_secs(90 * 86400))), (86400, None)];

const COLUMNS: &str = "id, organization_id, project_id, environment, name, monitor_type, kind, url, method, headers, \
     body, accepted_status, keyword, keyword_absent, follow_redirects, verify_tls, interval_s, timeout_s, \
     retry_interval_s, failure_threshold, recovery_threshold, tls_warn_days, heartbeat_key, paused, health, \
     health_since, consecutive_failures, consecutive_successes, last_check_at, next_check_at, tls_expires_at, \
     tls_warned_at, created_at";

impl Store {
    /// Creates a monitor; its first check is due at `first_check_at`.
    pub async fn create_monitor(
        &self,
        organization: OrganizationId,
        m: &NewMonitor,
        first_check_at: Timestamp,
    ) -> Result<Monitor> {
        let id: i64 = write!(self, |pool| sqlx::query_scalar(
            "INSERT INTO monitors (organization_id, project_id, environment, name, monitor_type, kind, url, method,
                 headers, body, accepted_status, keyword, keyword_absent, follow_redirects, verify_tls, interval_s,
                 timeout_s, retry_interval_s, failure_threshold, recovery_threshold, tls_warn_days, heartbeat_key,
                 paused, health, consecutive_failures, consecutive_successes, next_check_at, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21,
                 $22, $23, 'unknown', 0, 0, $24, $25)
             RETURNING id"
        )
        .bind(organization)
        .bind(m.project_id)
        .bind(&m.environment)
        .bind(&m.name)
        .bind(&m.monitor_type)
        .bind(&m.kind)
        .bind(&m.url)
        .bind(&m.method)
        .bind(&m.headers)
        .bind(&m.body)
        .bind(&m.accepted_status)
        .bind(&m.keyword)
        .bind(m.keyword_absent)
        .bind(m.follow_redirects)
        .bind(m.verify_tls)
        .bind(m.interval_s)
        .bind(m.timeout_s)
        .bind(m.retry_interval_s)
        .bind(m.failure_threshold)
        .bind(m.recovery_threshold)
        .bind(m.tls_warn_days)
        .bind(Uuid::new_v4())
        .bind(m.paused)
        .bind(first_check_at)
        .bind(Timestamp::now())
        .fetch_one(pool)
        .await)?;
        self.monitor(organization, id).await
    }

    /// Replaces a monitor's configuration; its next check is due at once, and a
    /// changed kind or target starts from unknown health.
    pub async fn update_monitor(&self, organization: OrganizationId, id: i64, m: &NewMonitor) -> Result<Monitor> {
        let old = self.monitor(organization, id).await?;
        let reset = old.kind != m.kind || old.url != m.url;
        let done = write!(self, |pool| {
            sqlx::query(
            "UPDATE monitors SET project_id = $1, environment = $2, name = $3, monitor_type = $4, kind = $5, url = $6,
                 method = $7, headers = $8, body = $9, accepted_status = $10, keyword = $11, keyword_absent = $12,
                 follow_redirects = $13, verify_tls = $14, interval_s = $15, timeout_s = $16, retry_interval_s = $17,
                 failure_threshold = $18, recovery_threshold = $19, tls_warn_days = $20, paused = $21,
                 next_check_at = $22,
                 health = CASE WHEN $23 THEN 'unknown' ELSE health END,
                 health_since = CASE WHEN $23 THEN NULL ELSE health_since END,
                 consecutive_failures = CASE WHEN $23 THEN 0 ELSE consecutive_failures END,
                 consecutive_successes = CASE WHEN $23 THEN 0 ELSE consecutive_successes END
             WHERE organization_id = $24 AND id = $25"
        )
        .bind(m.project_id)
        .bind(&m.environment)
        .bind(&m.name)
        .bind(&m.monitor_type)
        .bind(&m.kind)
        .bind(&m.url)
        .bind(&m.method)
        .bind(&m.headers)
        .bind(&m.body)
        .bind(&m.accepted_status)
        .bind(&m.keyword)
        .bind(m.keyword_absent)
        .bind(m.follow_redirects)
        .bind(m.verify_tls)
        .bind(m.interval_s)
        .bind(m.timeout_s)
        .bind(m.retry_interval_s)
        .bind(m.failure_threshold)
        .bind(m.recovery_threshold)
        .bind(m.tls_warn_days)
        .bind(m.paused)
        .bind(Timestamp::now())
        .bind(reset)
        .bind(organization)
        .bind(id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected())
        })?;
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        self.monitor(organization, id).await
    }

    /// Deletes a monitor with its checks and rollups.
    pub async fn delete_monitor(&self, organization: OrganizationId, id: i64) -> Result<()> {
        let done = write!(self, |pool| sqlx::query("DELETE FROM monitors WHERE organization_id = $1 AND id = $2")
            .bind(organization)
            .bind(id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// One monitor of an organization.
    pub async fn monitor(&self, organization: OrganizationId, id: i64) -> Result<Monitor> {
        let sql = format!("SELECT {COLUMNS} FROM monitors WHERE organization_id = $1 AND id = $2");
        let row = read!(self, |pool| sqlx::query_as::<_, Monitor>(&sql)
            .bind(organization)
            .bind(id)
            .fetch_optional(pool)
            .await)?;
        row.ok_or(StoreError::NotFound)
    }

    /// An organization's monitors by name.
    pub async fn monitors(&self, organization: OrganizationId) -> Result<Vec<Monitor>> {
        let sql = format!("SELECT {COLUMNS} FROM monitors WHERE organization_id = $1 ORDER BY name, id");
        let rows = read!(self, |pool| sqlx::query_as::<_, Monitor>(&sql).bind(organization).fetch_all(pool).await)?;
        Ok(rows)
    }

    /// The monitor a heartbeat URL belongs to.
    pub async fn monitor_by_heartbeat_key(&self, key: Uuid) -> Result<Monitor> {
        let sql = format!("SELECT {COLUMNS} FROM monitors WHERE heartbeat_key = $1");
        let row = read!(self, |pool| sqlx::query_as::<_, Monitor>(&sql).bind(key).fetch_optional(pool).await)?;
        row.ok_or(StoreError::NotFound)
    }

    /// Claims up to `limit` unpaused monitors due at `now`, moving each one's next
    /// check to the following slot of its own phase (so checks do not drift, and a
    /// monitor that fell behind skips the missed slots instead of bursting).
    pub async fn claim_due_monitors(&self, now: Timestamp, limit: i64) -> Result<Vec<Monitor>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM monitors WHERE next_check_at <= $1 AND paused = FALSE
             ORDER BY next_check_at LIMIT $2{}",
            if self.kind() == DatabaseKind::Postgres { " FOR UPDATE SKIP LOCKED" } else { "" }
        );
        let due = transaction!(self, |tx| {
            let due = sqlx::query_as::<_, Monitor>(&sql).bind(now).bind(limit).fetch_all(&mut *tx).await?;
            for m in &due {
                sqlx::query("UPDATE monitors SET next_check_at = $1 WHERE id = $2")
                    .bind(next_slot(m.next_check_at, m.interval_s, now))
                    .bind(m.id)
                    .execute(&mut *tx)
                    .await?;
            }
            due
        });
        Ok(due)
    }

    /// Writes check results in one transaction: raw rows, rollups, state and
    /// transitions.
    pub async fn record_monitor_checks(&self, results: &[CheckResult]) -> Result<()> {
        if results.is_empty() {
            return Ok(());
        }
        transaction!(self, |tx| {
            for r in results {
                // A monitor deleted since it was claimed: nothing to record.
                let old_since: Option<Option<Timestamp>> =
                    sqlx::query_scalar("SELECT health_since FROM monitors WHERE id = $1")
                        .bind(r.monitor_id)
                        .fetch_optional(&mut *tx)
                        .await?;
                let Some(old_since) = old_since else { continue };
                sqlx::query(
                    "INSERT INTO monitor_checks (monitor_id, checked_at, is_up, is_change, reason, response_ms, data)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(r.monitor_id)
                .bind(r.checked_at)
                .bind(r.is_up)
                .bind(matches!(r.transition.as_deref(), Some("monitor.down" | "monitor.up")))
                .bind(r.reason)
                .bind(r.response_ms)
                .bind(&r.data)
                .execute(&mut *tx)
                .await?;
                let secs = r.checked_at.micros().div_euclid(1_000_000);
                for (resolution, _) in ROLLUPS {
                    sqlx::query(
                        "INSERT INTO monitor_rollups (monitor_id, resolution, bucket, up_count, down_count, total_ms,
                             min_ms, max_ms)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
                         ON CONFLICT (monitor_id, resolution, bucket) DO UPDATE SET
                             up_count = monitor_rollups.up_count + excluded.up_count,
                             down_count = monitor_rollups.down_count + excluded.down_count,
                             total_ms = monitor_rollups.total_ms + excluded.total_ms,
                             min_ms = CASE WHEN monitor_rollups.min_ms IS NULL OR excluded.min_ms < monitor_rollups.min_ms
                                 THEN excluded.min_ms ELSE monitor_rollups.min_ms END,
                             max_ms = CASE WHEN monitor_rollups.max_ms IS NULL OR excluded.max_ms > monitor_rollups.max_ms
                                 THEN excluded.max_ms ELSE monitor_rollups.max_ms END",
                    )
                    .bind(r.monitor_id)
                    .bind(resolution)
                    .bind(secs - secs.rem_euclid(resolution))
                    .bind(i64::from(r.is_up))
                    .bind(i64::from(!r.is_up))
                    .bind(r.response_ms.unwrap_or(0))
                    .bind(r.response_ms)
                    .execute(&mut *tx)
                    .await?;
                }
                let moved = matches!(r.transition.as_deref(), Some("monitor.down" | "monitor.up"));
                sqlx::query(
                    "UPDATE monitors SET health = $1, consecutive_failures = $2, consecutive_successes = $3,
                         last_check_at = $4, next_check_at = COALESCE($5, next_check_at),
                         tls_expires_at = COALESCE($6, tls_expires_at),
                         tls_warned_at = CASE WHEN $7 THEN $4 ELSE tls_warned_at END,
                         health_since = CASE WHEN $8 OR health_since IS NULL THEN $4 ELSE health_since END
                     WHERE id = $9",
                )
                .bind(&r.health)
                .bind(r.consecutive_failures)
                .bind(r.consecutive_successes)
                .bind(r.checked_at)
                .bind(r.next_check_at)
                .bind(r.tls_expires_at)
                .bind(r.transition.as_deref() == Some("monitor.tls_expiring"))
                .bind(moved)
                .bind(r.monitor_id)
                .execute(&mut *tx)
                .await?;
                let Some(kind) = &r.transition else { continue };
                let reason = match r.reason {
                    Some(n) => faultline_monitoring_reason(n),
                    None if kind == "monitor.tls_expiring" => "certificate expires soon".to_string(),
                    None => "recovered".to_string(),
                };
                sqlx::query(
                    "INSERT INTO monitor_transitions (organization_id, project_id, monitor_id, environment, kind, reason,
                         down_since, created_at)
                     SELECT organization_id, project_id, id, environment, $1, $2, $3, $4 FROM monitors WHERE id = $5",
                )
                .bind(kind)
                .bind(reason)
                .bind(if kind == "monitor.up" { old_since } else { Some(r.checked_at) })
                .bind(r.checked_at)
                .bind(r.monitor_id)
                .execute(&mut *tx)
                .await?;
            }
        });
        Ok(())
    }

    /// A monitor's checks, newest first (`changes_only`: the incidents).
    pub async fn monitor_checks(
        &self,
        monitor: i64,
        changes_only: bool,
        before: Option<Timestamp>,
        limit: i64,
    ) -> Result<Vec<MonitorCheck>> {
        let rows = read!(self, |pool| sqlx::query_as::<_, MonitorCheck>(
            "SELECT id, monitor_id, checked_at, is_up, is_change, reason, response_ms, data FROM monitor_checks
             WHERE monitor_id = $1 AND ($2 = FALSE OR is_change = TRUE) AND ($3 IS NULL OR checked_at < $3)
             ORDER BY checked_at DESC, id DESC LIMIT $4"
        )
        .bind(monitor)
        .bind(changes_only)
        .bind(before)
        .bind(limit)
        .fetch_all(pool)
        .await)?;
        Ok(rows)
    }

    /// The last `n` checks since `since` of each of an organization's monitors,
    /// newest first (the list's check strip).
    pub async fn recent_monitor_checks(
        &self,
        organization: OrganizationId,
        since: Timestamp,
        n: i64,
    ) -> Result<Vec<MonitorCheck>> {
        let rows = read!(self, |pool| sqlx::query_as::<_, MonitorCheck>(
            "SELECT id, monitor_id, checked_at, is_up, is_change, reason, response_ms, data FROM (
                 SELECT c.*, ROW_NUMBER() OVER (PARTITION BY c.monitor_id ORDER BY c.checked_at DESC, c.id DESC) AS rn
                 FROM monitor_checks c JOIN monitors m ON m.id = c.monitor_id
                 WHERE m.organization_id = $1 AND c.checked_at >= $2
             ) ranked WHERE rn <= $3 ORDER BY monitor_id, checked_at DESC, id DESC"
        )
        .bind(organization)
        .bind(since)
        .bind(n)
        .fetch_all(pool)
        .await)?;
        Ok(rows)
    }

    /// A monitor's rollups at `resolution` seconds from `since` (unix seconds), oldest first.
    pub async fn monitor_rollups(&self, monitor: i64, resolution: i64, since: i64) -> Result<Vec<MonitorRollup>> {
        let rows = read!(self, |pool| sqlx::query_as::<_, MonitorRollup>(
            "SELECT bucket, up_count, down_count, total_ms, min_ms, max_ms FROM monitor_rollups
             WHERE monitor_id = $1 AND resolution = $2 AND bucket >= $3 ORDER BY bucket"
        )
        .bind(monitor)
        .bind(resolution)
        .bind(since)
        .fetch_all(pool)
        .await)?;
        Ok(rows)
    }

    /// Up and total checks of a monitor since `since`, from the rollups (minute
    /// buckets for the last two days, hours up to 90 days, days beyond).
    pub async fn monitor_uptime(&self, monitor: i64, since: Timestamp) -> Result<(i64, i64)> {
        let secs = since.micros().div_euclid(1_000_000);
        let age = Timestamp::now().micros().div_euclid(1_000_000) - secs;
        let resolution = if age <= 48 * 3600 {
            60
        } else if age <= 90 * 86400 {
            3600
        } else {
            86400
        };
        let start = secs - secs.rem_euclid(resolution);
        let row: (Option<i64>, Option<i64>) = read!(self, |pool| sqlx::query_as(
            "SELECT CAST(SUM(up_count) AS BIGINT), CAST(SUM(up_count + down_count) AS BIGINT) FROM monitor_rollups
             WHERE monitor_id = $1 AND resolution = $2 AND bucket >= $3"
        )
        .bind(monitor)
        .bind(resolution)
        .bind(start)
        .fetch_one(pool)
        .await)?;
        Ok((row.0.unwrap_or(0), row.1.unwrap_or(0)))
    }

    /// A monitor's transitions, newest first.
    pub async fn monitor_transitions(&self, monitor: i64, limit: i64) -> Result<Vec<MonitorTransition>> {
        let rows = read!(self, |pool| {
            sqlx::query_as::<_, MonitorTransition>(
            "SELECT id, organization_id, project_id, monitor_id, cron_monitor_id, environment, kind, reason, down_since,
                 created_at
             FROM monitor_transitions WHERE monitor_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2"
        )
        .bind(monitor)
        .bind(limit)
        .fetch_all(pool)
        .await
        })?;
        Ok(rows)
    }

    /// Transitions not yet evaluated by alert rules, oldest first.
    pub async fn unalerted_transitions(&self, limit: i64) -> Result<Vec<MonitorTransition>> {
        let rows = read!(self, |pool| {
            sqlx::query_as::<_, MonitorTransition>(
            "SELECT id, organization_id, project_id, monitor_id, cron_monitor_id, environment, kind, reason, down_since,
                 created_at
             FROM monitor_transitions WHERE alerted_at IS NULL ORDER BY created_at, id LIMIT $1"
        )
        .bind(limit)
        .fetch_all(pool)
        .await
        })?;
        Ok(rows)
    }

    /// Marks a transition evaluated. False when another worker got there first.
    pub async fn mark_transition_alerted(&self, id: i64) -> Result<bool> {
        let done = write!(self, |pool| sqlx::query(
            "UPDATE monitor_transitions SET alerted_at = $1 WHERE id = $2 AND alerted_at IS NULL"
        )
        .bind(Timestamp::now())
        .bind(id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(done == 1)
    }

    /// Deletes raw checks older than `before` and rollups past their keep time.
    pub async fn delete_monitor_checks_before(&self, before: Timestamp) -> Result<u64> {
        let now_secs = Timestamp::now().micros().div_euclid(1_000_000);
        let done = transaction!(self, |tx| {
            let mut n = sqlx::query("DELETE FROM monitor_checks WHERE checked_at < $1")
                .bind(before)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            for (resolution, keep) in ROLLUPS {
                let Some(keep) = keep else { continue };
                n += sqlx::query("DELETE FROM monitor_rollups WHERE resolution = $1 AND bucket < $2")
                    .bind(resolution)
                    .bind(now_secs - keep.as_secs() as i64)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
            }
            n
        });
        Ok(done)
    }

    /// Takes or renews the lease `name` for `holder` for `ttl`; true when `holder`
    /// has it. Used on SQLite, where one database file means one host.
    pub async fn try_lease(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool> {
        let now = Timestamp::now();
        let held: Option<String> = write!(self, |pool| sqlx::query_scalar(
            "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
                 WHERE leases.holder = excluded.holder OR leases.expires_at < $4
             RETURNING holder"
        )
        .bind(name)
        .bind(holder)
        .bind(now.plus(ttl))
        .bind(now)
        .fetch_optional(pool)
        .await)?;
        Ok(held.as_deref() == Some(holder))
    }
}

/// GlitchTip's reason text for a reason number (kept here so the store does not
/// depend on the monitoring crate for one table).
fn faultline_monitoring_reason(n: i64) -> String {
    match n {
        1 => "timeout",
        2 => "wrong status code",
        3 => "expected response not found",
        4 => "SSL error",
        5 => "network error",
        6 => "heartbeat not received",
        7 => "certificate expired",
        _ => "unknown",
    }
    .to_string()
}

/// The first slot of the monitor's phase after `now`: `prev + k × interval`.
fn next_slot(prev: Timestamp, interval_s: i64, now: Timestamp) -> Timestamp {
    let step = interval_s.max(1) * 1_000_000;
    let behind = now.micros() - prev.micros();
    let k = behind.div_euclid(step) + 1;
    Timestamp::from_micros(prev.micros() + k.max(1) * step)
}

/// A PostgreSQL session advisory lock, held as long as its dedicated connection
/// lives (a crashed holder's lock is released by the server when the connection
/// drops).
pub struct AdvisoryLock(sqlx::PgConnection);

impl AdvisoryLock {
    /// Whether the connection, and so the lock, is still there.
    pub async fn alive(&mut self) -> bool {
        sqlx::query("SELECT 1").execute(&mut self.0).await.is_ok()
    }
}

impl Store {
    /// Tries to take the advisory lock `key` on PostgreSQL: `Some` when taken, `None`
    /// when another session holds it, and always on SQLite, which has no advisory
    /// locks (use [`Store::try_lease`] there).
    pub async fn try_advisory_lock(&self, key: i64) -> Result<Option<AdvisoryLock>> {
        let crate::backend::Backend::Postgres(pool) = &self.backend else {
            return Ok(None);
        };
        // Detached: dropping the lock closes the connection instead of returning a
        // locked session to the pool.
        let mut conn = pool.acquire().await?.detach();
        let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)").bind(key).fetch_one(&mut conn).await?;
        Ok(got.then_some(AdvisoryLock(conn)))
    }
}

impl Store {
    /// Puts a transition's notification for one recipient in the outbox, once
    /// (idempotent per transition and recipient).
    pub async fn enqueue_transition_alert(
        &self,
        transition: i64,
        rule: i64,
        recipient: i64,
        reason: &str,
        payload: &serde_json::Value,
    ) -> Result<bool> {
        let now = Timestamp::now();
        let done = write!(self, |pool| sqlx::query(
            "INSERT INTO alert_notifications (dedup_key, rule_id, recipient_id, issue_id, reason, payload,
                 status, attempts, next_attempt_at, created_at)
             VALUES ($1, $2, $3, NULL, $4, $5, 'pending', 0, $6, $6) ON CONFLICT (dedup_key) DO NOTHING"
        )
        .bind(format!("transition:{transition}:{recipient}"))
        .bind(rule)
        .bind(recipient)
        .bind(reason)
        .bind(payload.to_string())
        .bind(now)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(done == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_slot_keeps_the_phase_and_skips_missed_slots() {
        let t = |s: i64| Timestamp::from_micros(s * 1_000_000);
        assert_eq!(next_slot(t(100), 60, t(100)), t(160));
        assert_eq!(next_slot(t(100), 60, t(101)), t(160));
        assert_eq!(next_slot(t(100), 60, t(290)), t(340));
        assert_eq!(next_slot(t(100), 60, t(99)), t(160));
    }
}
