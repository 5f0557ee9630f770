//! Alert rules, their recipients, the notification outbox and the delivery log.
//!
//! A rule fires for an issue at most once per action interval: `fire_alert` moves the
//! rule's clock for the issue and enqueues one outbox row per recipient in one
//! transaction, and every outbox row has a unique deduplication key, so several
//! workers evaluating the same batch send each notification once. Outbox rows are
//! claimed with a lease (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite: the single
//! writer), delivered, and retried with backoff until they succeed or run out of
//! attempts; every attempt is logged in `alert_deliveries`.

use std::time::Duration;

use faultline_config::DatabaseKind;

use crate::{IssueId, ProjectId, Result, Store, StoreError, Timestamp};

/// An alert rule of a project.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AlertRule {
    /// Id.
    pub id: i64,
    /// Project.
    pub project_id: ProjectId,
    /// Name.
    pub name: String,
    /// Window of the frequency condition, in minutes.
    pub timespan_minutes: i64,
    /// Events within the window that fire the rule (GlitchTip's `quantity`).
    pub quantity: i64,
    /// Also notify on uptime monitor transitions.
    pub uptime: bool,
    /// Fire when an issue is first seen.
    pub on_new_issue: bool,
    /// Fire when a resolved issue regresses.
    pub on_regression: bool,
    /// The lowest level that counts (`None`: any).
    pub min_level: Option<String>,
    /// Only events of this environment (`None`: any).
    pub environment: Option<String>,
    /// Minimum minutes between two notifications of one issue.
    pub interval_minutes: i64,
    /// Created.
    pub created_at: Timestamp,
    /// Distinct users within the window that fire the rule (`None`: no such condition).
    pub users_quantity: Option<i64>,
    /// Only issues with this tag value within the window (with `tag_value`).
    pub tag_key: Option<String>,
    /// The tag value.
    pub tag_value: Option<String>,
    /// Whether the frequency condition applies.
    pub on_frequency: bool,
}

/// The fields of a rule to create or replace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAlertRule {
    /// Name.
    pub name: String,
    /// Window of the frequency condition, in minutes.
    pub timespan_minutes: i64,
    /// Events within the window that fire the rule.
    pub quantity: i64,
    /// Uptime transitions.
    pub uptime: bool,
    /// New issues.
    pub on_new_issue: bool,
    /// Regressions.
    pub on_regression: bool,
    /// Lowest level.
    pub min_level: Option<String>,
    /// Environment.
    pub environment: Option<String>,
    /// Action interval, minutes.
    pub interval_minutes: i64,
    /// Users affected within the window.
    pub users_quantity: Option<i64>,
    /// Tag filter key.
    pub tag_key: Option<String>,
    /// Tag filter value.
    pub tag_value: Option<String>,
    /// The frequency condition applies.
    pub on_frequency: bool,
}

/// A recipient of a rule.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AlertRecipient {
    /// Id.
    pub id: i64,
    /// Rule.
    pub rule_id: i64,
    /// `email` or `webhook`.
    pub recipient_type: String,
    /// Webhook URL (empty for email).
    pub url: String,
    /// Standard Webhooks secret (`whsec_<base64>`).
    pub secret: Option<String>,
    /// Tag keys added as fields (JSON array).
    pub tags_to_add: String,
}

/// A recipient to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAlertRecipient {
    /// `email` or `webhook`.
    pub recipient_type: String,
    /// Webhook URL.
    pub url: String,
    /// Signing secret.
    pub secret: Option<String>,
    /// Tag keys (JSON array).
    pub tags_to_add: String,
}

/// A notification to put in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAlertNotification {
    /// Recipient.
    pub recipient_id: i64,
    /// Why: `new_issue`, `regression`, `frequency`, `uptime`.
    pub reason: String,
    /// What to send (JSON).
    pub payload: serde_json::Value,
}

/// A claimed outbox row with its recipient.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AlertNotification {
    /// Id (also the `webhook-id` of every attempt).
    pub id: i64,
    /// The rule's project.
    pub project_id: ProjectId,
    /// Rule.
    pub rule_id: i64,
    /// Issue.
    pub issue_id: Option<IssueId>,
    /// Why.
    pub reason: String,
    /// JSON payload.
    pub payload: String,
    /// Attempts so far, this one included.
    pub attempts: i64,
    /// Recipient.
    pub recipient_id: i64,
    /// Recipient type.
    pub recipient_type: String,
    /// Webhook URL.
    pub url: String,
    /// Signing secret.
    pub secret: Option<String>,
}

/// One logged delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AlertDelivery {
    /// Id.
    pub id: i64,
    /// Notification.
    pub notification_id: i64,
    /// Recipient.
    pub recipient_id: i64,
    /// Attempt number (1-based).
    pub attempt: i64,
    /// `ok` or `error`.
    pub status: String,
    /// HTTP status, when there was a response.
    pub response_code: Option<i64>,
    /// Error text.
    pub error: Option<String>,
    /// When.
    pub created_at: Timestamp,
}

/// The job kind that delivers due notifications.
pub const ALERT_DELIVERY_JOB: &str = "alerts.deliver";

const RULE_COLUMNS: &str = "id, project_id, name, timespan_minutes, quantity, uptime, on_new_issue, on_regression, \
     min_level, environment, interval_minutes, created_at, users_quantity, tag_key, tag_value, on_frequency";

impl Store {
    /// A project's alert rules, oldest first.
    pub async fn alert_rules(&self, project: ProjectId) -> Result<Vec<AlertRule>> {
        let sql = format!("SELECT {RULE_COLUMNS} FROM alert_rules WHERE project_id = $1 ORDER BY id");
        let rows = read!(self, |pool| sqlx::query_as::<_, AlertRule>(&sql).bind(project).fetch_all(pool).await)?;
        Ok(rows)
    }

    /// One rule of a project.
    pub async fn alert_rule(&self, project: ProjectId, id: i64) -> Result<AlertRule> {
        let sql = format!("SELECT {RULE_COLUMNS} FROM alert_rules WHERE project_id = $1 AND id = $2");
        let row =
            read!(self, |pool| sqlx::query_as::<_, AlertRule>(&sql).bind(project).bind(id).fetch_optional(pool).await)?;
        row.ok_or(StoreError::NotFound)
    }

    /// The recipients of a rule.
    pub async fn alert_recipients(&self, rule: i64) -> Result<Vec<AlertRecipient>> {
        let rows = read!(self, |pool| sqlx::query_as::<_, AlertRecipient>(
            "SELECT id, rule_id, recipient_type, url, secret, tags_to_add FROM alert_recipients
             WHERE rule_id = $1 ORDER BY id"
        )
        .bind(rule)
        .fetch_all(pool)
        .await)?;
        Ok(rows)
    }

    /// Creates a rule with its recipients.
    pub async fn create_alert_rule(
        &self,
        project: ProjectId,
        rule: &NewAlertRule,
        recipients: &[NewAlertRecipient],
    ) -> Result<AlertRule> {
        let now = Timestamp::now();
        let id: i64 = transaction!(self, |tx| {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO alert_rules (project_id, name, timespan_minutes, quantity, uptime, on_new_issue,
                     on_regression, min_level, environment, interval_minutes, created_at, users_quantity, tag_key,
                     tag_value, on_frequency)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id",
            )
            .bind(project)
            .bind(&rule.name)
            .bind(rule.timespan_minutes)
            .bind(rule.quantity)
            .bind(rule.uptime)
            .bind(rule.on_new_issue)
            .bind(rule.on_regression)
            .bind(&rule.min_level)
            .bind(&rule.environment)
            .bind(rule.interval_minutes)
            .bind(now)
            .bind(rule.users_quantity)
            .bind(&rule.tag_key)
            .bind(&rule.tag_value)
            .bind(rule.on_frequency)
            .fetch_one(&mut *tx)
            .await?;
            for r in recipients {
                sqlx::query(
                    "INSERT INTO alert_recipients (rule_id, recipient_type, url, secret, tags_to_add)
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(id)
                .bind(&r.recipient_type)
                .bind(&r.url)
                .bind(&r.secret)
                .bind(&r.tags_to_add)
                .execute(&mut *tx)
                .await?;
            }
            id
        });
        self.alert_rule(project, id).await
    }

    /// Replaces a rule's fields and recipients. Recipients whose type and URL are
    /// kept keep their id (and delivery log); the others are replaced.
    pub async fn update_alert_rule(
        &self,
        project: ProjectId,
        id: i64,
        rule: &NewAlertRule,
        recipients: &[NewAlertRecipient],
    ) -> Result<AlertRule> {
        let existing = self.alert_recipients(id).await?;
        transaction!(self, |tx| {
            let done = sqlx::query(
                "UPDATE alert_rules SET name = $1, timespan_minutes = $2, quantity = $3, uptime = $4,
                     on_new_issue = $5, on_regression = $6, min_level = $7, environment = $8, interval_minutes = $9,
                     users_quantity = $12, tag_key = $13, tag_value = $14, on_frequency = $15
                 WHERE project_id = $10 AND id = $11",
            )
            .bind(&rule.name)
            .bind(rule.timespan_minutes)
            .bind(rule.quantity)
            .bind(rule.uptime)
            .bind(rule.on_new_issue)
            .bind(rule.on_regression)
            .bind(&rule.min_level)
            .bind(&rule.environment)
            .bind(rule.interval_minutes)
            .bind(project)
            .bind(id)
            .bind(rule.users_quantity)
            .bind(&rule.tag_key)
            .bind(&rule.tag_value)
            .bind(rule.on_frequency)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if done == 0 {
                return Err(StoreError::NotFound);
            }
            let mut kept = Vec::new();
            for r in recipients {
                let same = existing
                    .iter()
                    .find(|e| e.recipient_type == r.recipient_type && e.url == r.url && !kept.contains(&e.id));
                match same {
                    Some(e) => {
                        kept.push(e.id);
                        sqlx::query("UPDATE alert_recipients SET secret = $1, tags_to_add = $2 WHERE id = $3")
                            .bind(&r.secret)
                            .bind(&r.tags_to_add)
                            .bind(e.id)
                            .execute(&mut *tx)
                            .await?;
                    }
                    None => {
                        sqlx::query(
                            "INSERT INTO alert_recipients (rule_id, recipient_type, url, secret, tags_to_add)
                             VALUES ($1, $2, $3, $4, $5)",
                        )
                        .bind(id)
                        .bind(&r.recipient_type)
                        .bind(&r.url)
                        .bind(&r.secret)
                        .bind(&r.tags_to_add)
                        .execute(&mut *tx)
                        .await?;
                    }
                }
            }
            for e in existing.iter().filter(|e| !kept.contains(&e.id)) {
                sqlx::query("DELETE FROM alert_recipients WHERE id = $1").bind(e.id).execute(&mut *tx).await?;
            }
        });
        self.alert_rule(project, id).await
    }

    /// Deletes a rule (its recipients, outbox and log go with it).
    pub async fn delete_alert_rule(&self, project: ProjectId, id: i64) -> Result<()> {
        let done = write!(self, |pool| sqlx::query("DELETE FROM alert_rules WHERE project_id = $1 AND id = $2")
            .bind(project)
            .bind(id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Fires `rule` for `issue` unless it fired within the last `interval`: moves the
    /// rule's clock for the issue and enqueues the notifications, atomically. Returns
    /// whether it fired. Concurrent callers fire at most once per interval.
    pub async fn fire_alert(
        &self,
        rule: i64,
        issue: IssueId,
        interval: Duration,
        notifications: &[NewAlertNotification],
    ) -> Result<bool> {
        let now = Timestamp::now();
        let cutoff = Timestamp::from_micros(now.micros() - interval.as_micros() as i64);
        let fired = transaction!(self, |tx| {
            let fired = sqlx::query(
                "INSERT INTO alert_issue_fires (rule_id, issue_id, fired_at) VALUES ($1, $2, $3)
                 ON CONFLICT (rule_id, issue_id) DO UPDATE SET fired_at = excluded.fired_at
                 WHERE alert_issue_fires.fired_at <= $4",
            )
            .bind(rule)
            .bind(issue)
            .bind(now)
            .bind(cutoff)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                > 0;
            if fired {
                for n in notifications {
                    let key = format!("{rule}:{issue}:{}:{}", now.micros(), n.recipient_id);
                    sqlx::query(
                        "INSERT INTO alert_notifications (dedup_key, rule_id, recipient_id, issue_id, reason, payload,
                             status, attempts, next_attempt_at, created_at)
                         VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7, $7) ON CONFLICT (dedup_key) DO NOTHING",
                    )
                    .bind(key)
                    .bind(rule)
                    .bind(n.recipient_id)
                    .bind(issue)
                    .bind(&n.reason)
                    .bind(n.payload.to_string())
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            fired
        });
        Ok(fired)
    }

    /// Queues a test notification (no issue) for one recipient of a rule.
    pub async fn enqueue_alert_test(&self, rule: i64, recipient: i64, payload: &serde_json::Value) -> Result<()> {
        let now = Timestamp::now();
        write!(self, |pool| sqlx::query(
            "INSERT INTO alert_notifications (dedup_key, rule_id, recipient_id, issue_id, reason, payload,
                 status, attempts, next_attempt_at, created_at)
             VALUES ($1, $2, $3, NULL, 'test', $4, 'pending', 0, $5, $5) ON CONFLICT (dedup_key) DO NOTHING"
        )
        .bind(format!("test:{rule}:{recipient}:{}", now.micros()))
        .bind(rule)
        .bind(recipient)
        .bind(payload.to_string())
        .bind(now)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Claims up to `limit` due notifications for `lease`, counting the attempt.
    pub async fn claim_alert_notifications(&self, limit: i64, lease: Duration) -> Result<Vec<AlertNotification>> {
        let now = Timestamp::now();
        let lock = match self.kind() {
            DatabaseKind::Postgres => " FOR UPDATE SKIP LOCKED",
            DatabaseKind::Sqlite => "",
        };
        let sql = format!(
            "UPDATE alert_notifications SET locked_until = $1, attempts = attempts + 1
             WHERE id IN (SELECT id FROM alert_notifications WHERE status = 'pending' AND next_attempt_at <= $2
                          AND (locked_until IS NULL OR locked_until < $2)
                          ORDER BY next_attempt_at, id LIMIT $3{lock})
             RETURNING id"
        );
        let ids: Vec<i64> = write!(self, |pool| sqlx::query_scalar(&sql)
            .bind(now.plus(lease))
            .bind(now)
            .bind(limit)
            .fetch_all(pool)
            .await)?;
        let mut rows = Vec::with_capacity(ids.len());
        for id in ids {
            let row = write!(self, |pool| sqlx::query_as::<_, AlertNotification>(
                "SELECT n.id, a.project_id, n.rule_id, n.issue_id, n.reason, n.payload, n.attempts, n.recipient_id,
                        r.recipient_type, r.url, r.secret
                 FROM alert_notifications n JOIN alert_recipients r ON r.id = n.recipient_id
                 JOIN alert_rules a ON a.id = n.rule_id WHERE n.id = $1"
            )
            .bind(id)
            .fetch_optional(pool)
            .await)?;
            rows.extend(row);
        }
        Ok(rows)
    }

    /// Logs an attempt of a claimed notification and settles it: sent on success,
    /// pending again at `retry_at` on failure, failed when there is no retry.
    pub async fn record_alert_delivery(
        &self,
        n: &AlertNotification,
        response_code: Option<i64>,
        error: Option<&str>,
        retry_at: Option<Timestamp>,
    ) -> Result<()> {
        let now = Timestamp::now();
        let error: Option<String> = error.map(|e| e.chars().take(2000).collect());
        let (status, log_status) = match (&error, retry_at) {
            (None, _) => ("sent", "ok"),
            (Some(_), Some(_)) => ("pending", "error"),
            (Some(_), None) => ("failed", "error"),
        };
        transaction!(self, |tx| {
            sqlx::query(
                "INSERT INTO alert_deliveries (notification_id, recipient_id, attempt, status, response_code, error,
                     created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(n.id)
            .bind(n.recipient_id)
            .bind(n.attempts)
            .bind(log_status)
            .bind(response_code)
            .bind(&error)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE alert_notifications SET status = $1, last_error = $2, next_attempt_at = $3,
                     locked_until = NULL, sent_at = CASE WHEN $1 = 'sent' THEN $4 ELSE sent_at END
                 WHERE id = $5",
            )
            .bind(status)
            .bind(&error)
            .bind(retry_at.unwrap_or(now))
            .bind(now)
            .bind(n.id)
            .execute(&mut *tx)
            .await?;
        });
        Ok(())
    }

    /// A recipient's delivery log, newest first.
    pub async fn alert_deliveries(&self, recipient: i64, limit: i64) -> Result<Vec<AlertDelivery>> {
        let rows = read!(self, |pool| sqlx::query_as::<_, AlertDelivery>(
            "SELECT id, notification_id, recipient_id, attempt, status, response_code, error, created_at
             FROM alert_deliveries WHERE recipient_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2"
        )
        .bind(recipient)
        .bind(limit)
        .fetch_all(pool)
        .await)?;
        Ok(rows)
    }

    /// Events of an issue received since `since`, of one environment when given.
    pub async fn issue_event_count_since(
        &self,
        issue: IssueId,
        since: Timestamp,
        environment: Option<&str>,
    ) -> Result<i64> {
        let n = match environment {
            None => read!(self, |pool| sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM events WHERE issue_id = $1 AND received_at >= $2"
            )
            .bind(issue)
            .bind(since)
            .fetch_one(pool)
            .await)?,
            Some(env) => read!(self, |pool| sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM events e JOIN environments v ON v.id = e.environment_id
                 WHERE e.issue_id = $1 AND e.received_at >= $2 AND v.name = $3"
            )
            .bind(issue)
            .bind(since)
            .bind(env)
            .fetch_one(pool)
            .await)?,
        };
        Ok(n)
    }

    /// Distinct users (the `user` tag) who saw `issue` since `since`.
    pub async fn issue_users_since(&self, issue: IssueId, since: Timestamp) -> Result<i64> {
        let n = read!(self, |pool| sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM issue_tags WHERE issue_id = $1 AND key = 'user' AND last_seen >= $2"
        )
        .bind(issue)
        .bind(since)
        .fetch_one(pool)
        .await)?;
        Ok(n)
    }

    /// Whether `issue` had an event with the tag `key` = `value` since `since`.
    pub async fn issue_has_tag_since(&self, issue: IssueId, key: &str, value: &str, since: Timestamp) -> Result<bool> {
        let n = read!(self, |pool| sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM issue_tags WHERE issue_id = $1 AND key = $2 AND value = $3 AND last_seen >= $4"
        )
        .bind(issue)
        .bind(key)
        .bind(value)
        .bind(since)
        .fetch_one(pool)
        .await)?;
        Ok(n > 0)
    }

    /// Whether any project has an alert rule (digestion skips evaluation otherwise).
    pub async fn any_alert_rules(&self) -> Result<bool> {
        let n = read!(self, |pool| sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM (SELECT 1 FROM alert_rules LIMIT 1) r"
        )
        .fetch_one(pool)
        .await)?;
        Ok(n > 0)
    }

    /// Deletes settled notifications (sent or failed) created before `before`, with
    /// their delivery log, and per-issue fire clocks older than that.
    pub async fn purge_alert_history(&self, before: Timestamp) -> Result<u64> {
        let done = write!(self, |pool| sqlx::query(
            "DELETE FROM alert_notifications WHERE status <> 'pending' AND created_at < $1"
        )
        .bind(before)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        write!(self, |pool| sqlx::query("DELETE FROM alert_issue_fires WHERE fired_at < $1")
            .bind(before)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(done)
    }

    /// Notifications not yet sent or failed for good.
    pub async fn pending_alert_notifications(&self) -> Result<i64> {
        let n = read!(self, |pool| sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM alert_notifications WHERE status = 'pending'"
        )
        .fetch_one(pool)
        .await)?;
        Ok(n)
    }
}
