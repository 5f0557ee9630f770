-- Initial schema, SQLite. Counterpart: migrations/postgres/0001_initial.sql (same
-- tables, columns and nullability; schema parity is tested).
-- Conventions: times are unix microseconds in BIGINT columns on both backends, so time
-- arithmetic and bucketing are portable; JSON documents are TEXT; event payloads are
-- zstd-compressed BLOB.

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    password_hash TEXT,
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    is_staff BOOLEAN NOT NULL DEFAULT FALSE,
    is_superuser BOOLEAN NOT NULL DEFAULT FALSE,
    email_verified BOOLEAN NOT NULL DEFAULT FALSE,
    subscribe_by_default BOOLEAN NOT NULL DEFAULT TRUE,
    options TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL,
    last_login_at BIGINT
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE organizations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    is_accepting_events BOOLEAN NOT NULL DEFAULT TRUE,
    event_throttle_rate INTEGER NOT NULL DEFAULT 0,
    open_membership BOOLEAN NOT NULL DEFAULT TRUE,
    scrub_ip_addresses BOOLEAN NOT NULL DEFAULT TRUE,
    created_at BIGINT NOT NULL
);

-- A member is a user in an organization, or an invitation (user_id NULL, email set).
-- role: 0 member, 1 admin, 2 manager, 3 owner.
CREATE TABLE organization_members (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id BIGINT REFERENCES users (id) ON DELETE CASCADE,
    email TEXT,
    role SMALLINT NOT NULL DEFAULT 0,
    invite_token_hash TEXT,
    invited_by_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (organization_id, user_id),
    UNIQUE (organization_id, email)
);
CREATE INDEX organization_members_user ON organization_members (user_id);

CREATE TABLE teams (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    slug TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (organization_id, slug)
);

CREATE TABLE team_members (
    team_id BIGINT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    member_id BIGINT NOT NULL REFERENCES organization_members (id) ON DELETE CASCADE,
    PRIMARY KEY (team_id, member_id)
);

-- grouping: 'default' (stack-trace based) or 'glitchtip' (GlitchTip's exact hash).
CREATE TABLE projects (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    slug TEXT NOT NULL,
    platform TEXT,
    first_event_at BIGINT,
    scrub_ip_addresses BOOLEAN NOT NULL DEFAULT TRUE,
    scrub_data BOOLEAN NOT NULL DEFAULT TRUE,
    event_throttle_rate INTEGER NOT NULL DEFAULT 0,
    grouping TEXT NOT NULL DEFAULT 'default',
    next_short_id BIGINT NOT NULL DEFAULT 0,
    is_deleted BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    UNIQUE (organization_id, slug)
);

CREATE TABLE team_projects (
    team_id BIGINT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    PRIMARY KEY (team_id, project_id)
);

-- public_key: 32 lowercase hex characters, as in the DSN.
CREATE TABLE project_keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    public_key TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL DEFAULT '',
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    rate_limit_count INTEGER,
    rate_limit_window INTEGER,
    created_at BIGINT NOT NULL
);
CREATE INDEX project_keys_project ON project_keys (project_id);

-- Only a SHA-256 of the token is kept; scopes is GlitchTip's bit field.
CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    label TEXT NOT NULL DEFAULT '',
    token_hash TEXT NOT NULL UNIQUE,
    scopes BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE releases (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    version TEXT NOT NULL,
    ref TEXT,
    url TEXT,
    released_at BIGINT,
    data TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL,
    UNIQUE (organization_id, version)
);

CREATE TABLE release_projects (
    release_id BIGINT NOT NULL REFERENCES releases (id) ON DELETE CASCADE,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    PRIMARY KEY (release_id, project_id)
);

CREATE TABLE environments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (organization_id, name)
);

CREATE TABLE environment_projects (
    environment_id BIGINT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    is_hidden BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (environment_id, project_id)
);

-- type: 0 default, 1 error, 2 csp. level: 0 sample … 5 fatal (GlitchTip's LogLevel).
-- status: 0 unresolved, 1 resolved, 2 ignored.
CREATE TABLE issues (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    short_id BIGINT NOT NULL,
    title TEXT NOT NULL,
    culprit TEXT NOT NULL DEFAULT '',
    type SMALLINT NOT NULL DEFAULT 0,
    level SMALLINT NOT NULL DEFAULT 4,
    status SMALLINT NOT NULL DEFAULT 0,
    metadata TEXT NOT NULL DEFAULT '{}',
    times_seen BIGINT NOT NULL DEFAULT 0,
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    resolved_at BIGINT,
    regressed_at BIGINT,
    is_public BOOLEAN NOT NULL DEFAULT FALSE,
    is_deleted BOOLEAN NOT NULL DEFAULT FALSE,
    UNIQUE (project_id, short_id)
);
CREATE INDEX issues_project_last_seen ON issues (project_id, last_seen);

-- Every grouping hash an issue was ever matched by.
CREATE TABLE issue_hashes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    issue_id BIGINT NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (project_id, hash)
);
CREATE INDEX issue_hashes_issue ON issue_hashes (issue_id);

-- One row per stored error event; payload is the normalized event JSON, zstd-compressed.
-- (Plain rowid: event rows are addressed by event_id, so id reuse is harmless and
-- AUTOINCREMENT's bookkeeping is saved on the hottest insert.)
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    issue_id BIGINT NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    event_id BLOB NOT NULL,
    timestamp BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    level SMALLINT NOT NULL DEFAULT 4,
    release_id BIGINT REFERENCES releases (id) ON DELETE SET NULL,
    environment_id BIGINT REFERENCES environments (id) ON DELETE SET NULL,
    payload BLOB NOT NULL,
    UNIQUE (project_id, event_id)
);
CREATE INDEX events_issue_received ON events (issue_id, received_at);
CREATE INDEX events_received ON events (received_at);

-- Tag values per issue, aggregated.
CREATE TABLE issue_tags (
    issue_id BIGINT NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    times_seen BIGINT NOT NULL DEFAULT 0,
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    PRIMARY KEY (issue_id, key, value)
);

-- Hourly counters; bucket is the hour's start in unix microseconds.
CREATE TABLE issue_hourly_stats (
    issue_id BIGINT NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    bucket BIGINT NOT NULL,
    times_seen BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (issue_id, bucket)
);

-- category: 0 error, 1 transaction (more with later capabilities).
CREATE TABLE project_hourly_stats (
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    category SMALLINT NOT NULL,
    bucket BIGINT NOT NULL,
    times_seen BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (project_id, category, bucket)
);

-- Accepted ingest payloads waiting for digestion. A row exists from the moment the
-- client was answered 200 until its contents are stored. meta is JSON (client IP, …).
CREATE TABLE ingest_queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    meta TEXT NOT NULL DEFAULT '{}',
    payload BLOB NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    locked_until BIGINT
);

-- Background jobs. unique_key deduplicates (periodic jobs from several schedulers);
-- done_at is set when a job succeeded or gave up (last_error says which).
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL DEFAULT '{}',
    unique_key TEXT UNIQUE,
    run_at BIGINT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL DEFAULT 5,
    locked_until BIGINT,
    last_error TEXT,
    done_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX jobs_pending ON jobs (run_at) WHERE done_at IS NULL;
