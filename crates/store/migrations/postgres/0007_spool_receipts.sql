-- Nothing to do on PostgreSQL: its spool is ingest_queue in this database, and a
-- digest batch deletes its rows in the transaction that stores their contents. SQLite
-- spools to a file of its own and needs receipts (see the SQLite migration).
SELECT 1;
