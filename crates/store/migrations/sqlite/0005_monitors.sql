-- SQLite. Counterpart: migrations/postgres/0005_monitors.sql.
-- Uptime monitors, their checks and rollups, cron monitors, health transitions,
-- status pages with incidents and maintenance windows, and the scheduler lease.

-- An uptime monitor. kind: 'http', 'tcp', 'tls' or 'heartbeat' (GlitchTip's Ping,
-- GET, POST, TCP Port, SSL and Heartbeat map onto these; monitor_type keeps the
-- GlitchTip name the API shows). url: a URL, or host:port for tcp. headers: TEXT
-- JSON array of [name, value]. accepted_status: ranges like '200-299, 301'.
-- keyword: must be in the body (or absent, with keyword_absent). Times in seconds.
-- heartbeat_key: the push URL's secret (GlitchTip's endpoint_id).
-- State: health ('unknown', 'up', 'pending', 'down'), since when, counters,
-- next_check_at (when the scheduler runs it next; for heartbeats, when it is late).
CREATE TABLE monitors (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    project_id BIGINT REFERENCES projects (id) ON DELETE SET NULL,
    environment TEXT,
    name TEXT NOT NULL,
    monitor_type TEXT NOT NULL,
    kind TEXT NOT NULL,
    url TEXT NOT NULL,
    method TEXT NOT NULL,
    headers TEXT NOT NULL,
    body TEXT,
    accepted_status TEXT NOT NULL,
    keyword TEXT,
    keyword_absent BOOLEAN NOT NULL,
    follow_redirects BOOLEAN NOT NULL,
    verify_tls BOOLEAN NOT NULL,
    interval_s BIGINT NOT NULL,
    timeout_s BIGINT NOT NULL,
    retry_interval_s BIGINT NOT NULL,
    failure_threshold BIGINT NOT NULL,
    recovery_threshold BIGINT NOT NULL,
    tls_warn_days BIGINT NOT NULL,
    heartbeat_key BLOB NOT NULL UNIQUE,
    paused BOOLEAN NOT NULL,
    health TEXT NOT NULL,
    health_since BIGINT,
    consecutive_failures BIGINT NOT NULL,
    consecutive_successes BIGINT NOT NULL,
    last_check_at BIGINT,
    next_check_at BIGINT NOT NULL,
    tls_expires_at BIGINT,
    tls_warned_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX monitors_organization ON monitors (organization_id);
CREATE INDEX monitors_due ON monitors (next_check_at) WHERE paused = FALSE;

-- Raw checks, kept GLITCHTIP_MAX_UPTIME_CHECK_LIFE_DAYS. reason: GlitchTip's
-- MonitorCheckReason number (NULL when up). is_change: the check moved the
-- monitor down or back up. data: the body excerpt of a failed keyword check.
CREATE TABLE monitor_checks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    monitor_id BIGINT NOT NULL REFERENCES monitors (id) ON DELETE CASCADE,
    checked_at BIGINT NOT NULL,
    is_up BOOLEAN NOT NULL,
    is_change BOOLEAN NOT NULL,
    reason BIGINT,
    response_ms BIGINT,
    data TEXT
);
CREATE INDEX monitor_checks_monitor ON monitor_checks (monitor_id, checked_at);
CREATE INDEX monitor_checks_time ON monitor_checks (checked_at);

-- Rollups per minute (60), hour (3600) and day (86400): bucket is the start, in
-- seconds. Minute rows are kept 48 hours, hour rows 90 days, day rows for good.
CREATE TABLE monitor_rollups (
    monitor_id BIGINT NOT NULL REFERENCES monitors (id) ON DELETE CASCADE,
    resolution BIGINT NOT NULL,
    bucket BIGINT NOT NULL,
    up_count BIGINT NOT NULL,
    down_count BIGINT NOT NULL,
    total_ms BIGINT NOT NULL,
    min_ms BIGINT,
    max_ms BIGINT,
    PRIMARY KEY (monitor_id, resolution, bucket)
);

-- A Sentry Crons monitor of a project. schedule_type 'crontab' or 'interval';
-- schedule '0 * * * *' or '5 minute'. ping_key: the Healthchecks-style ping URL.
CREATE TABLE cron_monitors (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    slug TEXT NOT NULL,
    name TEXT NOT NULL,
    schedule_type TEXT NOT NULL,
    schedule TEXT NOT NULL,
    timezone TEXT NOT NULL,
    checkin_margin_min BIGINT NOT NULL,
    max_runtime_min BIGINT NOT NULL,
    failure_issue_threshold BIGINT NOT NULL,
    recovery_threshold BIGINT NOT NULL,
    ping_key BLOB NOT NULL UNIQUE,
    paused BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (project_id, slug)
);

-- A cron monitor's state per environment. deadline_at: when the sweeper must look
-- (the running job's timeout, or the expected run plus the margin).
CREATE TABLE cron_monitor_envs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    monitor_id BIGINT NOT NULL REFERENCES cron_monitors (id) ON DELETE CASCADE,
    environment TEXT NOT NULL,
    last_status TEXT,
    failing BOOLEAN NOT NULL,
    consecutive_failures BIGINT NOT NULL,
    consecutive_ok BIGINT NOT NULL,
    last_checkin_at BIGINT,
    next_checkin_at BIGINT,
    in_progress_id BLOB,
    in_progress_at BIGINT,
    deadline_at BIGINT,
    UNIQUE (monitor_id, environment)
);
CREATE INDEX cron_monitor_envs_deadline ON cron_monitor_envs (deadline_at);

-- Received check-ins become the monitor's run history: monitor_id is set when
-- processed; a finishing check-in updates its run's row (status, duration,
-- finished_at). The sweeper adds 'missed' and 'timeout' rows.
ALTER TABLE cron_checkins ADD COLUMN monitor_id BIGINT REFERENCES cron_monitors (id) ON DELETE CASCADE;
ALTER TABLE cron_checkins ADD COLUMN finished_at BIGINT;
CREATE INDEX cron_checkins_monitor ON cron_checkins (monitor_id, received_at);

-- Health transitions of monitors and cron monitors, as alerts consume them.
-- kind: 'monitor.down', 'monitor.up', 'monitor.tls_expiring', 'cron.missed',
-- 'cron.failed', 'cron.recovered'. down_since: when the outage began (for "down
-- for"). alerted_at: set once alert rules were evaluated for it.
CREATE TABLE monitor_transitions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    project_id BIGINT REFERENCES projects (id) ON DELETE SET NULL,
    monitor_id BIGINT REFERENCES monitors (id) ON DELETE CASCADE,
    cron_monitor_id BIGINT REFERENCES cron_monitors (id) ON DELETE CASCADE,
    environment TEXT,
    kind TEXT NOT NULL,
    reason TEXT NOT NULL,
    down_since BIGINT,
    created_at BIGINT NOT NULL,
    alerted_at BIGINT
);
CREATE INDEX monitor_transitions_pending ON monitor_transitions (created_at) WHERE alerted_at IS NULL;
CREATE INDEX monitor_transitions_monitor ON monitor_transitions (monitor_id, created_at);

-- Status pages (GlitchTip's StatusPage, plus a description).
CREATE TABLE status_pages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    slug TEXT NOT NULL,
    is_public BOOLEAN NOT NULL,
    description TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (organization_id, slug)
);

-- The monitors a page shows, in groups, in order.
CREATE TABLE status_page_monitors (
    status_page_id BIGINT NOT NULL REFERENCES status_pages (id) ON DELETE CASCADE,
    monitor_id BIGINT NOT NULL REFERENCES monitors (id) ON DELETE CASCADE,
    group_name TEXT NOT NULL,
    position BIGINT NOT NULL,
    PRIMARY KEY (status_page_id, monitor_id)
);

-- Incidents on a page. status: 'investigating', 'identified', 'monitoring',
-- 'resolved'. impact: 'minor', 'major', 'critical'.
CREATE TABLE status_incidents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    status_page_id BIGINT NOT NULL REFERENCES status_pages (id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    status TEXT NOT NULL,
    impact TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    resolved_at BIGINT
);
CREATE INDEX status_incidents_page ON status_incidents (status_page_id, created_at);

CREATE TABLE status_incident_updates (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id BIGINT NOT NULL REFERENCES status_incidents (id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    message TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX status_incident_updates_incident ON status_incident_updates (incident_id, created_at);

-- Scheduled maintenance of an organization: during it, the page shows
-- maintenance and its monitors (all of the organization's when status_page_id
-- is NULL, else the page's) send no alerts.
CREATE TABLE maintenance_windows (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    status_page_id BIGINT REFERENCES status_pages (id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    starts_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX maintenance_windows_organization ON maintenance_windows (organization_id, ends_at);

-- Leases for work only one instance may do (the monitor scheduler on SQLite;
-- PostgreSQL uses an advisory lock).
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
