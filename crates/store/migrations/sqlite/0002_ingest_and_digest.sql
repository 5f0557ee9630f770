-- SQLite. Counterpart: migrations/postgres/0002_ingest_and_digest.sql (same tables; the
-- full-text index differs by nature: an FTS5 table here, a tsvector table there).
-- Ingest limits and what digestion stores besides error events.

-- Events per minute allowed (NULL: unlimited); the monthly quota counts accepted events.
ALTER TABLE projects ADD COLUMN event_rate_limit INTEGER;
ALTER TABLE organizations ADD COLUMN event_rate_limit INTEGER;
ALTER TABLE organizations ADD COLUMN monthly_event_quota BIGINT;

-- Files sent with events (attachments, minidumps); data is zstd-compressed.
CREATE TABLE attachments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    event_id BLOB NOT NULL,
    name TEXT NOT NULL,
    content_type TEXT NOT NULL DEFAULT 'application/octet-stream',
    attachment_type TEXT NOT NULL DEFAULT 'event.attachment',
    size BIGINT NOT NULL,
    data BLOB NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX attachments_event ON attachments (project_id, event_id);

-- User feedback (the embed widget, user_report and feedback items).
CREATE TABLE user_reports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    issue_id BIGINT REFERENCES issues (id) ON DELETE SET NULL,
    event_id BLOB NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '',
    comments TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (project_id, event_id)
);
CREATE INDEX user_reports_issue ON user_reports (issue_id);

-- Performance: transactions grouped by (name, op, method); durations in microseconds.
CREATE TABLE transaction_groups (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    op TEXT NOT NULL DEFAULT '',
    method TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    UNIQUE (project_id, name, op, method)
);

CREATE TABLE transactions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    group_id BIGINT NOT NULL REFERENCES transaction_groups (id) ON DELETE CASCADE,
    event_id BLOB NOT NULL,
    trace_id TEXT,
    start_timestamp BIGINT NOT NULL,
    timestamp BIGINT NOT NULL,
    duration BIGINT NOT NULL,
    status TEXT NOT NULL DEFAULT 'ok',
    release_id BIGINT REFERENCES releases (id) ON DELETE SET NULL,
    environment_id BIGINT REFERENCES environments (id) ON DELETE SET NULL,
    received_at BIGINT NOT NULL,
    payload BLOB NOT NULL,
    UNIQUE (project_id, event_id)
);
CREATE INDEX transactions_group_time ON transactions (group_id, timestamp);
CREATE INDEX transactions_received ON transactions (received_at);
CREATE INDEX transactions_trace ON transactions (trace_id);

-- Release health, aggregated per hour.
CREATE TABLE session_hourly_stats (
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    release TEXT NOT NULL DEFAULT '',
    environment TEXT NOT NULL DEFAULT '',
    bucket BIGINT NOT NULL,
    started BIGINT NOT NULL DEFAULT 0,
    exited BIGINT NOT NULL DEFAULT 0,
    errored BIGINT NOT NULL DEFAULT 0,
    crashed BIGINT NOT NULL DEFAULT 0,
    abnormal BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (project_id, release, environment, bucket)
);

-- What SDKs report they dropped, aggregated per hour.
CREATE TABLE client_report_stats (
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    bucket BIGINT NOT NULL,
    category TEXT NOT NULL,
    reason TEXT NOT NULL,
    quantity BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (project_id, bucket, category, reason)
);

-- Cron check-ins as received; processed_at is set once a monitor consumed them.
CREATE TABLE cron_checkins (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    monitor_slug TEXT NOT NULL,
    check_in_id BLOB NOT NULL,
    status TEXT NOT NULL,
    environment TEXT,
    duration BIGINT,
    payload TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    processed_at BIGINT
);
CREATE INDEX cron_checkins_pending ON cron_checkins (received_at) WHERE processed_at IS NULL;

-- Full-text search over issues: title, culprit, message and stack-frame file names.
-- rowid is the issue id.
CREATE VIRTUAL TABLE issue_search USING fts5 (title, culprit, message, filenames, tokenize = 'unicode61');
CREATE TRIGGER issue_search_delete AFTER DELETE ON issues BEGIN
    DELETE FROM issue_search WHERE rowid = old.id;
END;
