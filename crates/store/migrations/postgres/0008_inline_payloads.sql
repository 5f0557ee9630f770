-- Payloads are compressed already (zstd, or gzip as clients sent them), and a typical
-- one (2–3 KB) makes its row longer than PostgreSQL's default TOAST threshold (about
-- 2 KB): each insert then tried pglz on incompressible bytes and moved the value to
-- the TOAST table. Rows up to 8 KB now stay inline and uncompressed; longer payloads
-- go out of line, still without the futile compression attempt.
ALTER TABLE events SET (toast_tuple_target = 8160);
ALTER TABLE events ALTER COLUMN payload SET STORAGE EXTERNAL;
ALTER TABLE transactions SET (toast_tuple_target = 8160);
ALTER TABLE transactions ALTER COLUMN payload SET STORAGE EXTERNAL;
ALTER TABLE ingest_queue SET (toast_tuple_target = 8160);
ALTER TABLE ingest_queue ALTER COLUMN payload SET STORAGE EXTERNAL;
