-- Ingest now spools to its own file (faultline-spool.db, see migrations/sqlite-spool),
-- so a digest batch can no longer delete its spool rows in the transaction that stores
-- their contents. Instead that transaction records a receipt per spool row here; a row
-- whose receipt exists was stored, and is only deleted from the spool when claimed
-- again after a crash. Receipts of rows gone from the spool are pruned.
-- ingest_queue stays in this database for internal producers whose rows must be
-- queued in the same transaction as their cause (cron failure events).
CREATE TABLE ingest_digested (
    queue_id INTEGER PRIMARY KEY
);
