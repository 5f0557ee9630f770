-- The SQLite spool file: accepted ingest payloads waiting for digestion, in their own
-- database so that appending (and the fsync that makes a 200 durable) never waits for
-- the main database's writer (see store/src/queue.rs). The same table as
-- ingest_queue on PostgreSQL, where the spool is that table. AUTOINCREMENT: ids are
-- never reused, which the digest's receipts (ingest_digested in the main database)
-- rely on.
CREATE TABLE ingest_queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    meta TEXT NOT NULL DEFAULT '{}',
    payload BLOB NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    locked_until BIGINT
);
