-- The SQLite spool file: accepted ingest payloads waiting for digestion, in their own
-- database so that appending (and the fsync that makes a 200 durable) never waits for
-- the main database's writer (see store/src/queue.rs).
--
-- ingest_queue has the columns of ingest_queue on PostgreSQL, where the spool is that
-- table, except the payload, plus committing: set by the digest batch that is storing
-- the row, which excludes every other. The payloads live in a table of their own
-- because SQLite rewrites a whole record on UPDATE: claims and marks then touch a few
-- pages of small rows instead of one page per payload. AUTOINCREMENT: ids are never
-- reused, which the digest's receipts (ingest_digested in the main database) rely on.
CREATE TABLE ingest_queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    meta TEXT NOT NULL DEFAULT '{}',
    attempts INTEGER NOT NULL DEFAULT 0,
    locked_until BIGINT,
    committing BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE ingest_payloads (
    queue_id INTEGER PRIMARY KEY,
    payload BLOB NOT NULL
);
