-- SQLite. Counterpart: migrations/postgres/0004_alerts.sql.
-- Alert rules per project, their recipients, the durable notification outbox
-- and the delivery log.

-- A rule fires for an issue when one of its conditions holds: a new issue
-- (on_new_issue), a regression (on_regression), or at least `quantity` events
-- within `timespan_minutes` (GlitchTip's frequency rule). min_level: the lowest
-- event level that counts (NULL: any); environment: only events of that
-- environment (NULL: any). interval_minutes throttles repeats per issue.
CREATE TABLE alert_rules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    timespan_minutes BIGINT NOT NULL,
    quantity BIGINT NOT NULL,
    uptime BOOLEAN NOT NULL,
    on_new_issue BOOLEAN NOT NULL,
    on_regression BOOLEAN NOT NULL,
    min_level TEXT,
    environment TEXT,
    interval_minutes BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX alert_rules_project ON alert_rules (project_id);

-- recipient_type: 'email' or 'webhook'. tags_to_add: TEXT JSON array of tag keys.
-- secret: 'whsec_<base64>' signs webhooks (Standard Webhooks) when set.
CREATE TABLE alert_recipients (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    rule_id BIGINT NOT NULL REFERENCES alert_rules (id) ON DELETE CASCADE,
    recipient_type TEXT NOT NULL,
    url TEXT NOT NULL,
    secret TEXT,
    tags_to_add TEXT NOT NULL
);
CREATE INDEX alert_recipients_rule ON alert_recipients (rule_id);

-- When a rule last fired for an issue (the action interval's clock).
CREATE TABLE alert_issue_fires (
    rule_id BIGINT NOT NULL REFERENCES alert_rules (id) ON DELETE CASCADE,
    issue_id BIGINT NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    fired_at BIGINT NOT NULL,
    PRIMARY KEY (rule_id, issue_id)
);

-- The outbox: one row per notification and recipient. dedup_key makes
-- enqueueing idempotent across workers. status: 'pending', 'sent', 'failed'.
-- payload: TEXT JSON of what to send.
CREATE TABLE alert_notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    dedup_key TEXT NOT NULL UNIQUE,
    rule_id BIGINT NOT NULL REFERENCES alert_rules (id) ON DELETE CASCADE,
    recipient_id BIGINT NOT NULL REFERENCES alert_recipients (id) ON DELETE CASCADE,
    issue_id BIGINT REFERENCES issues (id) ON DELETE CASCADE,
    reason TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    locked_until BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    sent_at BIGINT
);
CREATE INDEX alert_notifications_due ON alert_notifications (status, next_attempt_at);

-- One row per delivery attempt. status: 'ok' or 'error'.
CREATE TABLE alert_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    notification_id BIGINT NOT NULL REFERENCES alert_notifications (id) ON DELETE CASCADE,
    recipient_id BIGINT NOT NULL REFERENCES alert_recipients (id) ON DELETE CASCADE,
    attempt BIGINT NOT NULL,
    status TEXT NOT NULL,
    response_code BIGINT,
    error TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX alert_deliveries_recipient ON alert_deliveries (recipient_id, created_at);
