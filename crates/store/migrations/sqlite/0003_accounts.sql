-- SQLite. Counterpart: migrations/postgres/0003_accounts.sql.
-- Accounts and collaboration: web sessions, email tokens, issue comments and
-- assignment, per-user project alert preferences.

-- Server-side web sessions; id is the SHA-256 (hex) of the cookie's token.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    ip TEXT,
    user_agent TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);

-- One-time links sent by email: password reset, email confirmation.
-- kind: 'reset' or 'verify'.
CREATE TABLE email_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    email TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX email_tokens_user ON email_tokens (user_id);

CREATE TABLE comments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    issue_id BIGINT NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    user_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    text TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX comments_issue ON comments (issue_id);

ALTER TABLE issues ADD COLUMN assigned_to_id BIGINT REFERENCES users (id) ON DELETE SET NULL;

-- status: 0 off, 1 on (absent: follow the user's subscribe_by_default).
CREATE TABLE user_project_alerts (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    status SMALLINT NOT NULL,
    PRIMARY KEY (user_id, project_id)
);

CREATE INDEX issues_project_first_seen ON issues (project_id, first_seen);
CREATE INDEX issues_project_times_seen ON issues (project_id, times_seen);
CREATE INDEX issue_tags_key_value ON issue_tags (key, value);
