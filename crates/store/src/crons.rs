//! Sentry Crons: cron monitors, their state per environment, the check-in history
//! and the health transitions they emit.
//!
//! The digest writes raw check-ins to `cron_checkins` with `processed_at` NULL; the
//! cron engine (in the worker) reads them with [`Store::pending_check_ins`], decides
//! with `faultline_monitoring::cron::apply`, and writes the outcome with
//! [`Store::commit_cron_step`]: one transaction that consumes the raw check-in, moves
//! the environment's state with a conditional `UPDATE` on its old state (so two
//! workers never both apply a signal to the same state), writes the run history,
//! the transition and the synthetic issue event. A step whose old state no longer
//! holds changes nothing and is retried with fresh state.

use sqlx::QueryBuilder;
use uuid::Uuid;

use crate::{issue_status, NewQueued, OrganizationId, ProjectId, Result, Store, StoreError, Timestamp};

/// A cron monitor of a project.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CronMonitor {
    /// Id.
    pub id: i64,
    /// Project.
    pub project_id: ProjectId,
    /// Slug (unique in the project).
    pub slug: String,
    /// Display name.
    pub name: String,
    /// `crontab` or `interval`.
    pub schedule_type: String,
    /// `0 * * * *` or `5 minute`.
    pub schedule: String,
    /// IANA time zone.
    pub timezone: String,
    /// Minutes after the expected time before a run is missed.
    pub checkin_margin_min: i64,
    /// Minutes a run may stay in progress.
    pub max_runtime_min: i64,
    /// Failures in a row before the monitor is failing.
    pub failure_issue_threshold: i64,
    /// Successes in a row before it recovers.
    pub recovery_threshold: i64,
    /// The secret of its ping URL.
    pub ping_key: Uuid,
    /// Paused: check-ins are recorded, nothing is missed or alerted.
    pub paused: bool,
    /// Created.
    pub created_at: Timestamp,
}

/// The fields of a monitor to create or update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCronMonitor {
    /// Slug.
    pub slug: String,
    /// Name.
    pub name: String,
    /// `crontab` or `interval`.
    pub schedule_type: String,
    /// The schedule's stored value.
    pub schedule: String,
    /// Time zone.
    pub timezone: String,
    /// Margin, minutes.
    pub checkin_margin_min: i64,
    /// Maximum runtime, minutes.
    pub max_runtime_min: i64,
    /// Failure threshold.
    pub failure_issue_threshold: i64,
    /// Recovery threshold.
    pub recovery_threshold: i64,
}

/// A monitor's state in one environment.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CronMonitorEnv {
    /// Id.
    pub id: i64,
    /// Monitor.
    pub monitor_id: i64,
    /// Environment.
    pub environment: String,
    /// The moving parts.
    #[sqlx(flatten)]
    pub state: CronEnvState,
    /// When the sweeper must look.
    pub deadline_at: Option<Timestamp>,
}

/// The state columns of a monitor environment (compared and replaced as a whole).
#[derive(Debug, Clone, PartialEq, Eq, Default, sqlx::FromRow)]
pub struct CronEnvState {
    /// The last finished run's status.
    pub last_status: Option<String>,
    /// Failing (an incident is open).
    pub failing: bool,
    /// Failures in a row.
    pub consecutive_failures: i64,
    /// Successes in a row.
    pub consecutive_ok: i64,
    /// The last check-in.
    pub last_checkin_at: Option<Timestamp>,
    /// When the next run is expected.
    pub next_checkin_at: Option<Timestamp>,
    /// The run in progress.
    pub in_progress_id: Option<Uuid>,
    /// When it started.
    pub in_progress_at: Option<Timestamp>,
}

/// A received check-in not yet processed.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PendingCheckIn {
    /// Row id.
    pub id: i64,
    /// Project.
    pub project_id: ProjectId,
    /// The slug as sent.
    pub monitor_slug: String,
    /// Check-in id as sent.
    pub check_in_id: Uuid,
    /// The check-in JSON.
    pub payload: String,
    /// When accepted.
    pub received_at: Timestamp,
}

/// One run in a monitor's history.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CronCheckIn {
    /// Row id.
    pub id: i64,
    /// Monitor.
    pub monitor_id: i64,
    /// The run's check-in id.
    pub check_in_id: Uuid,
    /// `in_progress`, `ok`, `error`, `missed`, `timeout`, `log`, `unknown`.
    pub status: String,
    /// Environment.
    pub environment: Option<String>,
    /// Microseconds the run took.
    pub duration: Option<i64>,
    /// The check-in JSON (for pings: the signal, exit code and captured body).
    pub payload: String,
    /// When it started (or, for a missed run, when it was expected).
    pub received_at: Timestamp,
    /// When it finished.
    pub finished_at: Option<Timestamp>,
}

/// A health transition of a cron monitor.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CronTransition {
    /// Id.
    pub id: i64,
    /// Monitor.
    pub cron_monitor_id: Option<i64>,
    /// Environment.
    pub environment: Option<String>,
    /// `cron.missed`, `cron.failed`, `cron.recovered`.
    pub kind: String,
    /// Why, in words.
    pub reason: String,
    /// When the outage began.
    pub down_since: Option<Timestamp>,
    /// When.
    pub created_at: Timestamp,
}

/// What a step does to the run history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HistoryWrite {
    /// Nothing (a repeated start).
    None,
    /// The consumed check-in becomes a run of the monitor with this status.
    Attach {
        /// Status to record.
        status: String,
        /// Duration (microseconds).
        duration: Option<i64>,
        /// Finished (`None` while in progress).
        finished_at: Option<Timestamp>,
    },
    /// The consumed check-in finishes an earlier run (row `run`): the run takes its
    /// status, duration and finish time, and the consumed row is removed.
    Merge {
        /// The run's row.
        run: i64,
        /// Status.
        status: String,
        /// Duration (microseconds).
        duration: Option<i64>,
        /// Finished.
        finished_at: Timestamp,
    },
    /// A server-side row (`missed`, or a `timeout` whose run row is gone).
    Insert {
        /// Check-in id.
        check_in_id: Uuid,
        /// Status.
        status: String,
        /// Started or expected.
        received_at: Timestamp,
        /// Finished.
        finished_at: Option<Timestamp>,
        /// Duration (microseconds).
        duration: Option<i64>,
    },
}

/// A transition to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCronTransition {
    /// `cron.missed`, `cron.failed`, `cron.recovered`.
    pub kind: String,
    /// Why.
    pub reason: String,
    /// When the outage began.
    pub down_since: Option<Timestamp>,
}

/// The outcome of one signal for one monitor environment, written atomically.
#[derive(Debug, Clone)]
pub struct CronStep {
    /// The monitor.
    pub monitor_id: i64,
    /// The environment row.
    pub env_id: i64,
    /// The environment's name.
    pub environment: String,
    /// The state the decision was made on (the update only applies if it still holds).
    pub old: CronEnvState,
    /// The new state.
    pub new: CronEnvState,
    /// When the sweeper must look next.
    pub deadline_at: Option<Timestamp>,
    /// The raw check-in consumed (`None` for the sweeper).
    pub consumed: Option<i64>,
    /// The run history.
    pub history: HistoryWrite,
    /// A transition, if any.
    pub transition: Option<NewCronTransition>,
    /// Synthetic events to queue for digestion (issues of failing monitors).
    pub events: Vec<NewQueued>,
    /// Resolve the issue of this event (a recovery).
    pub resolve_event: Option<Uuid>,
}

/// How a monitor's check-ins are filtered when listed.
#[derive(Debug, Clone, Default)]
pub struct CheckInPage {
    /// Only this environment.
    pub environment: Option<String>,
    /// Rows to skip (newest first).
    pub offset: i64,
    /// How many.
    pub limit: i64,
}

const MONITOR_COLUMNS: &str = "id, project_id, slug, name, schedule_type, schedule, timezone, checkin_margin_min, \
     max_runtime_min, failure_issue_threshold, recovery_threshold, ping_key, paused, created_at";
const ENV_COLUMNS: &str = "id, monitor_id, environment, last_status, failing, consecutive_failures, consecutive_ok, \
     last_checkin_at, next_checkin_at, in_progress_id, in_progress_at, deadline_at";
const CHECKIN_COLUMNS: &str =
    "id, monitor_id, check_in_id, status, environment, duration, payload, received_at, finished_at";

impl Store {
    /// A project's cron monitors, by slug.
    pub async fn cron_monitors(&self, project: ProjectId) -> Result<Vec<CronMonitor>> {
        let sql = format!("SELECT {MONITOR_COLUMNS} FROM cron_monitors WHERE project_id = $1 ORDER BY slug");
        Ok(read!(self, |pool| sqlx::query_as::<_, CronMonitor>(&sql).bind(project).fetch_all(pool).await)?)
    }

    /// The cron monitors of an organization's projects (with the project's slug),
    /// by project and slug.
    pub async fn organization_cron_monitors(&self, org: OrganizationId) -> Result<Vec<(String, CronMonitor)>> {
        let sql = format!(
            "SELECT p.slug AS project_slug, {} FROM cron_monitors m JOIN projects p ON p.id = m.project_id
             WHERE p.organization_id = $1 ORDER BY p.slug, m.slug",
            MONITOR_COLUMNS.split(", ").map(|c| format!("m.{c}")).collect::<Vec<_>>().join(", ")
        );
        #[derive(sqlx::FromRow)]
        struct Row {
            project_slug: String,
            #[sqlx(flatten)]
            monitor: CronMonitor,
        }
        let rows = read!(self, |pool| sqlx::query_as::<_, Row>(&sql).bind(org).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(|r| (r.project_slug, r.monitor)).collect())
    }

    /// A project's monitor by slug.
    pub async fn cron_monitor_by_slug(&self, project: ProjectId, slug: &str) -> Result<Option<CronMonitor>> {
        let sql = format!("SELECT {MONITOR_COLUMNS} FROM cron_monitors WHERE project_id = $1 AND slug = $2");
        Ok(read!(self, |pool| sqlx::query_as::<_, CronMonitor>(&sql)
            .bind(project)
            .bind(slug)
            .fetch_optional(pool)
            .await)?)
    }

    /// A monitor by id.
    pub async fn cron_monitor(&self, id: i64) -> Result<CronMonitor> {
        let sql = format!("SELECT {MONITOR_COLUMNS} FROM cron_monitors WHERE id = $1");
        read!(self, |pool| sqlx::query_as::<_, CronMonitor>(&sql).bind(id).fetch_optional(pool).await)?
            .ok_or(StoreError::NotFound)
    }

    /// The monitor a ping URL names.
    pub async fn cron_monitor_by_ping_key(&self, key: Uuid) -> Result<Option<CronMonitor>> {
        let sql = format!("SELECT {MONITOR_COLUMNS} FROM cron_monitors WHERE ping_key = $1");
        Ok(read!(self, |pool| sqlx::query_as::<_, CronMonitor>(&sql).bind(key).fetch_optional(pool).await)?)
    }

    /// Creates a monitor; [`StoreError::Conflict`] when the slug is taken.
    pub async fn create_cron_monitor(&self, project: ProjectId, m: &NewCronMonitor) -> Result<CronMonitor> {
        let sql = format!(
            "INSERT INTO cron_monitors (project_id, slug, name, schedule_type, schedule, timezone, checkin_margin_min,
                 max_runtime_min, failure_issue_threshold, recovery_threshold, ping_key, paused, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, FALSE, $12)
             ON CONFLICT (project_id, slug) DO NOTHING
             RETURNING {MONITOR_COLUMNS}"
        );
        let row = write!(self, |pool| sqlx::query_as::<_, CronMonitor>(&sql)
            .bind(project)
            .bind(&m.slug)
            .bind(&m.name)
            .bind(&m.schedule_type)
            .bind(&m.schedule)
            .bind(&m.timezone)
            .bind(m.checkin_margin_min)
            .bind(m.max_runtime_min)
            .bind(m.failure_issue_threshold)
            .bind(m.recovery_threshold)
            .bind(Uuid::new_v4())
            .bind(Timestamp::now())
            .fetch_optional(pool)
            .await)?;
        row.ok_or_else(|| StoreError::Conflict(format!("a cron monitor with the slug {:?} exists", m.slug)))
    }

    /// Replaces a monitor's fields (slug included) and returns it.
    pub async fn update_cron_monitor(&self, id: i64, m: &NewCronMonitor) -> Result<CronMonitor> {
        let sql = format!(
            "UPDATE cron_monitors SET slug = $2, name = $3, schedule_type = $4, schedule = $5, timezone = $6,
                 checkin_margin_min = $7, max_runtime_min = $8, failure_issue_threshold = $9, recovery_threshold = $10
             WHERE id = $1 RETURNING {MONITOR_COLUMNS}"
        );
        let row = write!(self, |pool| sqlx::query_as::<_, CronMonitor>(&sql)
            .bind(id)
            .bind(&m.slug)
            .bind(&m.name)
            .bind(&m.schedule_type)
            .bind(&m.schedule)
            .bind(&m.timezone)
            .bind(m.checkin_margin_min)
            .bind(m.max_runtime_min)
            .bind(m.failure_issue_threshold)
            .bind(m.recovery_threshold)
            .fetch_optional(pool)
            .await);
        match row {
            Ok(Some(m)) => Ok(m),
            Ok(None) => Err(StoreError::NotFound),
            Err(e) if is_unique_violation(&e) => {
                Err(StoreError::Conflict(format!("a cron monitor with the slug {:?} exists", m.slug)))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Pauses or resumes a monitor (a paused monitor is never swept; see
    /// [`Store::reschedule_cron_envs`] to move its expected runs on resume).
    pub async fn set_cron_monitor_paused(&self, id: i64, paused: bool) -> Result<()> {
        let n = write!(self, |pool| sqlx::query("UPDATE cron_monitors SET paused = $2 WHERE id = $1")
            .bind(id)
            .bind(paused)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Sets each environment's deadline (after a configuration change). `f` maps an
    /// environment's state to its next expected run and deadline.
    pub async fn reschedule_cron_envs(
        &self,
        id: i64,
        f: impl Fn(&CronMonitorEnv) -> (Option<Timestamp>, Option<Timestamp>),
    ) -> Result<()> {
        for env in self.cron_monitor_envs(id).await? {
            let (next, deadline) = f(&env);
            write!(self, |pool| sqlx::query(
                "UPDATE cron_monitor_envs SET next_checkin_at = $2, deadline_at = $3 WHERE id = $1"
            )
            .bind(env.id)
            .bind(next)
            .bind(deadline)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        }
        Ok(())
    }

    /// Deletes a monitor with its environments, history and transitions.
    pub async fn delete_cron_monitor(&self, id: i64) -> Result<()> {
        let n = write!(self, |pool| sqlx::query("DELETE FROM cron_monitors WHERE id = $1")
            .bind(id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// A monitor's environments, by name.
    pub async fn cron_monitor_envs(&self, monitor: i64) -> Result<Vec<CronMonitorEnv>> {
        let sql = format!("SELECT {ENV_COLUMNS} FROM cron_monitor_envs WHERE monitor_id = $1 ORDER BY environment");
        Ok(read!(self, |pool| sqlx::query_as::<_, CronMonitorEnv>(&sql).bind(monitor).fetch_all(pool).await)?)
    }

    /// A monitor's environment, created (empty) on first use.
    pub async fn cron_monitor_env(&self, monitor: i64, environment: &str) -> Result<CronMonitorEnv> {
        write!(self, |pool| sqlx::query(
            "INSERT INTO cron_monitor_envs (monitor_id, environment, failing, consecutive_failures, consecutive_ok)
             VALUES ($1, $2, FALSE, 0, 0) ON CONFLICT (monitor_id, environment) DO NOTHING"
        )
        .bind(monitor)
        .bind(environment)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        let sql = format!("SELECT {ENV_COLUMNS} FROM cron_monitor_envs WHERE monitor_id = $1 AND environment = $2");
        // Read through the writer: the row may be this instant's.
        write!(self, |pool| sqlx::query_as::<_, CronMonitorEnv>(&sql)
            .bind(monitor)
            .bind(environment)
            .fetch_optional(pool)
            .await)?
        .ok_or(StoreError::NotFound)
    }

    /// Environments whose deadline is at or before `now`, of monitors not paused,
    /// soonest first, with their monitors.
    pub async fn due_cron_envs(&self, now: Timestamp, limit: i64) -> Result<Vec<(CronMonitor, CronMonitorEnv)>> {
        let sql = format!(
            "SELECT {ENV_COLUMNS} FROM cron_monitor_envs
             WHERE deadline_at <= $1 AND monitor_id IN (SELECT id FROM cron_monitors WHERE paused = FALSE)
             ORDER BY deadline_at LIMIT $2"
        );
        let envs =
            write!(self, |pool| sqlx::query_as::<_, CronMonitorEnv>(&sql).bind(now).bind(limit).fetch_all(pool).await)?;
        let mut out = Vec::with_capacity(envs.len());
        for env in envs {
            let monitor = self.cron_monitor(env.monitor_id).await?;
            out.push((monitor, env));
        }
        Ok(out)
    }

    /// Received check-ins not processed yet, oldest first.
    pub async fn pending_check_ins(&self, limit: i64) -> Result<Vec<PendingCheckIn>> {
        Ok(write!(self, |pool| sqlx::query_as::<_, PendingCheckIn>(
            "SELECT id, project_id, monitor_slug, check_in_id, payload, received_at FROM cron_checkins
             WHERE processed_at IS NULL ORDER BY id LIMIT $1"
        )
        .bind(limit)
        .fetch_all(pool)
        .await)?)
    }

    /// Records a ping-URL signal as a received check-in of `monitor` (processed by
    /// the engine like any other).
    pub async fn insert_ping_check_in(
        &self,
        monitor: &CronMonitor,
        check_in_id: Uuid,
        status: &str,
        environment: &str,
        payload: &str,
    ) -> Result<()> {
        write!(self, |pool| {
            sqlx::query(
            "INSERT INTO cron_checkins (project_id, monitor_slug, check_in_id, status, environment, payload, received_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)"
        )
        .bind(monitor.project_id)
        .bind(&monitor.slug)
        .bind(check_in_id)
        .bind(status)
        .bind(environment)
        .bind(payload)
        .bind(Timestamp::now())
        .execute(pool)
        .await
        .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Marks a check-in processed without attaching it to a monitor (an unknown slug
    /// without a configuration, or an unreadable check-in). False when another
    /// worker processed it first.
    pub async fn skip_check_in(&self, id: i64) -> Result<bool> {
        let n = write!(self, |pool| sqlx::query(
            "UPDATE cron_checkins SET processed_at = $2 WHERE id = $1 AND processed_at IS NULL"
        )
        .bind(id)
        .bind(Timestamp::now())
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// The row of a monitor environment's run `check_in_id` that is still in progress
    /// (the latest one).
    pub async fn cron_run_row(&self, monitor: i64, environment: &str, check_in_id: Uuid) -> Result<Option<i64>> {
        Ok(write!(self, |pool| sqlx::query_scalar::<_, i64>(
            "SELECT id FROM cron_checkins WHERE monitor_id = $1 AND environment = $2 AND check_in_id = $3
                 AND status = 'in_progress' ORDER BY id DESC LIMIT 1"
        )
        .bind(monitor)
        .bind(environment)
        .bind(check_in_id)
        .fetch_optional(pool)
        .await)?)
    }

    /// Whether a monitor environment already has a finished run `check_in_id` (a
    /// repeated or late finish, which changes nothing).
    pub async fn cron_run_finished(&self, monitor: i64, environment: &str, check_in_id: Uuid) -> Result<bool> {
        let found = write!(self, |pool| sqlx::query_scalar::<_, i64>(
            "SELECT id FROM cron_checkins WHERE monitor_id = $1 AND environment = $2 AND check_in_id = $3
                 AND status <> 'in_progress' LIMIT 1"
        )
        .bind(monitor)
        .bind(environment)
        .bind(check_in_id)
        .fetch_optional(pool)
        .await)?;
        Ok(found.is_some())
    }

    /// Applies a step atomically. False (and nothing written) when the raw check-in
    /// was already consumed or the environment's state moved since it was read.
    pub async fn commit_cron_step(&self, step: &CronStep) -> Result<bool> {
        let now = Timestamp::now();
        let old = &step.old;
        let new = &step.new;
        transaction!(self, |tx| {
            if let Some(consumed) = step.consumed {
                let n =
                    sqlx::query("UPDATE cron_checkins SET processed_at = $2 WHERE id = $1 AND processed_at IS NULL")
                        .bind(consumed)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                if n == 0 {
                    return Ok(false);
                }
            }
            let n = sqlx::query(
                "UPDATE cron_monitor_envs SET last_status = $2, failing = $3, consecutive_failures = $4,
                     consecutive_ok = $5, last_checkin_at = $6, next_checkin_at = $7, in_progress_id = $8,
                     in_progress_at = $9, deadline_at = $10
                 WHERE id = $1 AND last_status IS NOT DISTINCT FROM $11 AND failing = $12
                     AND consecutive_failures = $13 AND consecutive_ok = $14
                     AND last_checkin_at IS NOT DISTINCT FROM $15 AND next_checkin_at IS NOT DISTINCT FROM $16
                     AND in_progress_id IS NOT DISTINCT FROM $17 AND in_progress_at IS NOT DISTINCT FROM $18",
            )
            .bind(step.env_id)
            .bind(&new.last_status)
            .bind(new.failing)
            .bind(new.consecutive_failures)
            .bind(new.consecutive_ok)
            .bind(new.last_checkin_at)
            .bind(new.next_checkin_at)
            .bind(new.in_progress_id)
            .bind(new.in_progress_at)
            .bind(step.deadline_at)
            .bind(&old.last_status)
            .bind(old.failing)
            .bind(old.consecutive_failures)
            .bind(old.consecutive_ok)
            .bind(old.last_checkin_at)
            .bind(old.next_checkin_at)
            .bind(old.in_progress_id)
            .bind(old.in_progress_at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Ok(false);
            }
            match &step.history {
                HistoryWrite::None => {
                    if let Some(consumed) = step.consumed {
                        sqlx::query("DELETE FROM cron_checkins WHERE id = $1").bind(consumed).execute(&mut *tx).await?;
                    }
                }
                HistoryWrite::Attach { status, duration, finished_at } => {
                    if let Some(consumed) = step.consumed {
                        sqlx::query(
                            "UPDATE cron_checkins SET monitor_id = $2, environment = $3, status = $4,
                                 duration = COALESCE($5, duration), finished_at = $6
                             WHERE id = $1",
                        )
                        .bind(consumed)
                        .bind(step.monitor_id)
                        .bind(&step.environment)
                        .bind(status)
                        .bind(duration)
                        .bind(finished_at)
                        .execute(&mut *tx)
                        .await?;
                    }
                }
                HistoryWrite::Merge { run, status, duration, finished_at } => {
                    sqlx::query("UPDATE cron_checkins SET status = $2, duration = $3, finished_at = $4 WHERE id = $1")
                        .bind(run)
                        .bind(status)
                        .bind(duration)
                        .bind(finished_at)
                        .execute(&mut *tx)
                        .await?;
                    if let Some(consumed) = step.consumed {
                        sqlx::query("DELETE FROM cron_checkins WHERE id = $1").bind(consumed).execute(&mut *tx).await?;
                    }
                }
                HistoryWrite::Insert { check_in_id, status, received_at, finished_at, duration } => {
                    sqlx::query(
                        "INSERT INTO cron_checkins (project_id, monitor_slug, check_in_id, status, environment,
                             duration, payload, received_at, processed_at, monitor_id, finished_at)
                         SELECT project_id, slug, $2, $3, $4, $5, '{}', $6, $7, id, $8 FROM cron_monitors WHERE id = $1",
                    )
                    .bind(step.monitor_id)
                    .bind(check_in_id)
                    .bind(status)
                    .bind(&step.environment)
                    .bind(duration)
                    .bind(received_at)
                    .bind(now)
                    .bind(finished_at)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            if let Some(t) = &step.transition {
                sqlx::query(
                    "INSERT INTO monitor_transitions (organization_id, project_id, cron_monitor_id, environment, kind,
                         reason, down_since, created_at)
                     SELECT p.organization_id, p.id, m.id, $2, $3, $4, $5, $6
                     FROM cron_monitors m JOIN projects p ON p.id = m.project_id WHERE m.id = $1",
                )
                .bind(step.monitor_id)
                .bind(&step.environment)
                .bind(&t.kind)
                .bind(&t.reason)
                .bind(t.down_since)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            if !step.events.is_empty() {
                let mut q = QueryBuilder::new("INSERT INTO ingest_queue (project_id, received_at, meta, payload) ");
                q.push_values(&step.events, |mut row, item| {
                    row.push_bind(item.project_id)
                        .push_bind(item.received_at)
                        .push_bind(&item.meta)
                        .push_bind(&item.payload);
                });
                q.build().execute(&mut *tx).await?;
            }
            if let Some(event) = step.resolve_event {
                sqlx::query(
                    "UPDATE issues SET status = $1, resolved_at = $2
                     WHERE status = $3 AND id IN (SELECT e.issue_id FROM events e JOIN cron_monitors m
                         ON m.project_id = e.project_id WHERE m.id = $4 AND e.event_id = $5)",
                )
                .bind(issue_status::RESOLVED)
                .bind(now)
                .bind(issue_status::UNRESOLVED)
                .bind(step.monitor_id)
                .bind(event)
                .execute(&mut *tx)
                .await?;
            }
            Ok(true)
        })
    }

    /// Deletes up to `limit` processed check-ins received before `before` (run
    /// history past its retention); returns how many.
    pub async fn delete_cron_check_ins_before(&self, before: Timestamp, limit: i64) -> Result<u64> {
        Ok(write!(self, |pool| sqlx::query(
            "DELETE FROM cron_checkins WHERE id IN (SELECT id FROM cron_checkins
                 WHERE received_at < $1 AND processed_at IS NOT NULL
                     AND (monitor_id IS NULL OR status <> 'in_progress') LIMIT $2)"
        )
        .bind(before)
        .bind(limit)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?)
    }

    /// A monitor's runs, newest first.
    pub async fn cron_check_ins(&self, monitor: i64, page: &CheckInPage) -> Result<Vec<CronCheckIn>> {
        let sql = format!(
            "SELECT {CHECKIN_COLUMNS} FROM cron_checkins WHERE monitor_id = $1
                 AND ($2 IS NULL OR environment = $2)
             ORDER BY id DESC LIMIT $3 OFFSET $4"
        );
        Ok(read!(self, |pool| sqlx::query_as::<_, CronCheckIn>(&sql)
            .bind(monitor)
            .bind(&page.environment)
            .bind(page.limit)
            .bind(page.offset)
            .fetch_all(pool)
            .await)?)
    }

    /// A monitor's transitions, newest first.
    pub async fn cron_transitions(&self, monitor: i64, limit: i64) -> Result<Vec<CronTransition>> {
        Ok(read!(self, |pool| sqlx::query_as::<_, CronTransition>(
            "SELECT id, cron_monitor_id, environment, kind, reason, down_since, created_at FROM monitor_transitions
             WHERE cron_monitor_id = $1 ORDER BY id DESC LIMIT $2"
        )
        .bind(monitor)
        .bind(limit)
        .fetch_all(pool)
        .await)?)
    }

    /// The transition that opened a monitor environment's current outage (the
    /// latest `cron.missed` or `cron.failed`).
    pub async fn cron_outage(&self, monitor: i64, environment: &str) -> Result<Option<CronTransition>> {
        Ok(write!(self, |pool| sqlx::query_as::<_, CronTransition>(
            "SELECT id, cron_monitor_id, environment, kind, reason, down_since, created_at FROM monitor_transitions
             WHERE cron_monitor_id = $1 AND environment = $2 AND kind IN ('cron.missed', 'cron.failed')
             ORDER BY id DESC LIMIT 1"
        )
        .bind(monitor)
        .bind(environment)
        .fetch_optional(pool)
        .await)?)
    }
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}
